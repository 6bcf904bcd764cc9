/*
 * series.c
 *		The state of the training aggregates: collecting (ts, value) pairs
 *		in any order, and turning them into a regular series for the core.
 *
 * Every training aggregate (ar_fit, lstm_train) shares this state.  The
 * transition function only appends; sorting, validation, frequency
 * inference, gap filling and the transform happen once, in the final
 * function, so input order never matters.  Combine, serialize and
 * deserialize let PostgreSQL run the aggregate in parallel workers.
 *
 * lstm_train's covariates (a float8[] per row, the same length on every
 * row) ride along with their points: cov holds ncov values per point, in
 * the points' order, and every step that moves points moves them too.
 */
#include "tsforecast.h"

#include "catalog/pg_type_d.h"
#include "common/int.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(tsf_series_combinefn);
PG_FUNCTION_INFO_V1(tsf_series_serialfn);
PG_FUNCTION_INFO_V1(tsf_series_deserialfn);

#define INITIAL_CAP		64

static TsfSeriesState *
new_state(MemoryContext cxt, int ts_type)
{
	TsfSeriesState *st = MemoryContextAllocZero(cxt, sizeof(TsfSeriesState));

	st->ts_type = ts_type;
	st->ncov = -1;
	return st;
}

/* make room for extra more points; the array lives in the state's context */
static void
reserve(TsfSeriesState *st, int64 extra)
{
	int64		need = st->n + extra;

	if (need > TSF_MAX_POINTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("time series has too many points"),
				 errdetail("A series may have at most %d points.", TSF_MAX_POINTS)));
	if (need <= st->cap)
		return;
	{
		int64		cap = Max(INITIAL_CAP, st->cap);

		while (cap < need)
			cap *= 2;
		if (st->pts == NULL)
			st->pts = MemoryContextAllocHuge(GetMemoryChunkContext(st),
											 sizeof(TsfPoint) * cap);
		else
			st->pts = repalloc_huge(st->pts, sizeof(TsfPoint) * cap);
		if (st->ncov > 0)
		{
			Size		bytes = sizeof(double) * st->ncov * (Size) cap;

			if (st->cov == NULL)
				st->cov = MemoryContextAllocHuge(GetMemoryChunkContext(st), bytes);
			else
				st->cov = repalloc_huge(st->cov, bytes);
		}
		st->cap = cap;
	}
}

static int
arg_ts_type(FunctionCallInfo fcinfo)
{
	Oid			t = get_fn_expr_argtype(fcinfo->flinfo, 1);

	switch (t)
	{
		case TIMESTAMPTZOID:
			return TSF_TS_TIMESTAMPTZ;
		case DATEOID:
			return TSF_TS_DATE;
		case INT8OID:
			return TSF_TS_INT8;
		default:
			elog(ERROR, "unexpected timestamp type %u", t);
	}
	return 0;					/* keep compiler quiet */
}

/*
 * Check a covariates array: one-dimensional (or empty) float8, no NULLs, no
 * NaN or infinity, at most TSF_MAX_COVARIATES elements.  Returns a pointer
 * to its elements (inside the array) and their count in *n.
 */
double *
tsf_read_covariates(ArrayType *a, int *n)
{
	double	   *v;
	int			len;

	if (ARR_NDIM(a) == 0)
	{
		*n = 0;
		return NULL;
	}
	if (ARR_NDIM(a) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("covariates must be a one-dimensional array"),
				 errdetail("The array has %d dimensions.", ARR_NDIM(a))));
	if (ARR_ELEMTYPE(a) != FLOAT8OID)
		elog(ERROR, "covariates array is not float8[]");
	len = ARR_DIMS(a)[0];
	if (len > TSF_MAX_COVARIATES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many covariates: %d", len),
				 errdetail("At most %d covariates are allowed.", TSF_MAX_COVARIATES)));
	v = tsf_covariate_values(a, len, "covariates");
	*n = len;
	return v;
}

/*
 * The n float8 elements of a covariates array (what names it in messages),
 * once none is NULL, NaN or infinite.
 */
double *
tsf_covariate_values(ArrayType *a, int n, const char *what)
{
	double	   *v = (double *) ARR_DATA_PTR(a);

	if (array_contains_nulls(a))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("null element in %s", what)));
	for (int i = 0; i < n; i++)
		if (!isfinite(v[i]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("%s not allowed in %s", isnan(v[i]) ? "NaN" : "infinite value", what)));
	return v;
}

/* two pieces of a series disagree on the number of covariates */
static void
covariate_mismatch(int a, int b)
{
	ereport(ERROR,
			(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
			 errmsg("covariates arrays differ in length"),
			 errdetail("Every row must carry the same number of covariates; found %d and %d.",
					   a, b)));
}

/* a new, empty series state in cxt for timestamps of type ts_type */
TsfSeriesState *
tsf_series_new(MemoryContext cxt, int ts_type)
{
	return new_state(cxt, ts_type);
}

/* the int64 of a timestamptz, date or bigint datum, checked finite */
int64
tsf_ts_from_datum(int ts_type, Datum d)
{
	int64		ts;

	switch (ts_type)
	{
		case TSF_TS_DATE:
			ts = DatumGetDateADT(d);
			if (DATE_NOT_FINITE(ts))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("infinite timestamp not allowed in time series")));
			return ts;
		case TSF_TS_TIMESTAMPTZ:
			ts = DatumGetTimestampTz(d);
			if (TIMESTAMP_NOT_FINITE(ts))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("infinite timestamp not allowed in time series")));
			return ts;
		default:
			return DatumGetInt64(d);
	}
}

/*
 * Append one point to st: the value (a float8 datum, or NULL: a missing
 * point under a fill mode, else an error) and, when has_cov, its ncov
 * covariates already checked by tsf_read_covariates (the first row fixes
 * the count, every later row must match).  The checks every training input
 * gets, from the aggregates and from jobs.
 */
void
tsf_series_add(TsfSeriesState *st, int64 ts, Datum value, bool isnull,
			   bool has_cov, const double *cov, int ncov)
{
	double		v;

	if (has_cov)
	{
		if (st->ncov < 0)
		{
			if (st->n > 0)		/* cannot happen: all rows or none have them */
				elog(ERROR, "covariates appeared mid-series");
			st->ncov = ncov;
		}
		else if (ncov != st->ncov)
			covariate_mismatch(st->ncov, ncov);
	}
	if (isnull)
	{
		if (st->fill != TSF_FILL_NONE)
			return;				/* a missing point, filled later */
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("null value in time series"),
				 errhint("Filter the NULLs out, or set the \"fill\" option to treat them as missing points.")));
	}
	v = DatumGetFloat8(value);
	if (isnan(v))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN not allowed in time series")));
	if (isinf(v))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("infinite value not allowed in time series")));

	if (st->n >= st->cap)
		reserve(st, 1);
	st->pts[st->n].ts = ts;
	st->pts[st->n].value = v;
	if (ncov > 0)
		memcpy(st->cov + st->n * ncov, cov, sizeof(double) * ncov);
	st->n++;
}

/*
 * The transition function behind every training aggregate:
 * (state, ts, value [, covariates float8[]] [, options jsonb]), the optional
 * arguments told apart by type.  validate checks the options once, on the
 * first row that has them, and returns the fill mode, which decides whether
 * a NULL value is an error or a missing point.
 */
Datum
tsf_series_accum(FunctionCallInfo fcinfo, int (*validate) (Jsonb *opts))
{
	MemoryContext aggcxt;
	TsfSeriesState *st;
	int		   *argpos = (int *) fcinfo->flinfo->fn_extra;	/* options, covariates */
	int			optarg;
	int			covarg;
	double	   *cov = NULL;
	int			ncov = 0;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "training aggregate called in non-aggregate context");
	if (argpos == NULL)
	{
		/* where the optional arguments are, looked up once per query */
		argpos = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, 2 * sizeof(int));
		argpos[0] = argpos[1] = -1;
		for (int a = 3; a < PG_NARGS(); a++)
		{
			Oid			t = get_fn_expr_argtype(fcinfo->flinfo, a);

			if (t == JSONBOID)
				argpos[0] = a;
			else if (t == FLOAT8ARRAYOID)
				argpos[1] = a;
			else
				elog(ERROR, "unexpected argument type %u", t);
		}
		fcinfo->flinfo->fn_extra = argpos;
	}
	optarg = argpos[0];
	covarg = argpos[1];

	if (PG_ARGISNULL(0))
	{
		st = new_state(aggcxt, arg_ts_type(fcinfo));
		if (optarg >= 0 && !PG_ARGISNULL(optarg))
		{
			Jsonb	   *opts = PG_GETARG_JSONB_P(optarg);

			st->options = MemoryContextAlloc(aggcxt, VARSIZE(opts));
			memcpy(st->options, opts, VARSIZE(opts));
		}
		st->fill = validate(st->options);
	}
	else
		st = (TsfSeriesState *) PG_GETARG_POINTER(0);

	if (covarg >= 0)
	{
		if (PG_ARGISNULL(covarg))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("null covariates in time series"),
					 errhint("Pass an array of the covariates' values on every row.")));
		cov = tsf_read_covariates(PG_GETARG_ARRAYTYPE_P(covarg), &ncov);
	}

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("null timestamp in time series")));
	tsf_series_add(st, tsf_ts_from_datum(st->ts_type, PG_GETARG_DATUM(1)),
				   PG_GETARG_DATUM(2), PG_ARGISNULL(2), covarg >= 0, cov, ncov);
	PG_RETURN_POINTER(st);
}

static bool
points_sorted(const TsfPoint *pts, int64 n)
{
	for (int64 i = 1; i < n; i++)
		if (pts[i - 1].ts > pts[i].ts)
			return false;
	return true;
}

/*
 * Add b's points (and covariates) to a.  A parallel scan hands each worker
 * runs of the table, so the partial states of one series are each in order
 * but interleave: two sorted runs are merged here in O(n), and the final
 * function then finds the series sorted instead of sorting it.
 */
static void
append_points(TsfSeriesState *a, TsfSeriesState *b)
{
	int			ncov = Max(a->ncov, 0);
	int64		na = a->n;

	if (na > 0 && a->pts[na - 1].ts > b->pts[0].ts &&
		points_sorted(a->pts, na) && points_sorted(b->pts, b->n))
	{
		MemoryContext cxt = GetMemoryChunkContext(a);
		int64		n = na + b->n;
		int64		cap = Max(a->cap, n);
		TsfPoint   *pts = MemoryContextAllocHuge(cxt, sizeof(TsfPoint) * cap);
		double	   *cov = ncov > 0 ?
			MemoryContextAllocHuge(cxt, sizeof(double) * ncov * cap) : NULL;
		int64		i = 0,
					j = 0;

		for (int64 k = 0; k < n; k++)
		{
			/* ties keep a's point first, as an append would */
			bool		from_a = j >= b->n || (i < na && a->pts[i].ts <= b->pts[j].ts);
			const TsfPoint *src = from_a ? &a->pts[i] : &b->pts[j];

			pts[k] = *src;
			if (ncov > 0)
				memcpy(cov + k * ncov, from_a ? a->cov + i * ncov : b->cov + j * ncov,
					   sizeof(double) * ncov);
			if (from_a)
				i++;
			else
				j++;
		}
		pfree(a->pts);
		if (a->cov)
			pfree(a->cov);
		a->pts = pts;
		a->cov = cov;
		a->cap = cap;
		a->n = n;
		return;
	}
	reserve(a, b->n);
	memcpy(a->pts + na, b->pts, sizeof(TsfPoint) * b->n);
	if (ncov > 0)
		memcpy(a->cov + na * ncov, b->cov, sizeof(double) * ncov * b->n);
	a->n += b->n;
}

Datum
tsf_series_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	TsfSeriesState *a = PG_ARGISNULL(0) ? NULL : (TsfSeriesState *) PG_GETARG_POINTER(0);
	TsfSeriesState *b = PG_ARGISNULL(1) ? NULL : (TsfSeriesState *) PG_GETARG_POINTER(1);

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "aggregate function called in non-aggregate context");
	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
	{
		a = new_state(aggcxt, b->ts_type);
		a->fill = b->fill;
	}
	if (a->options == NULL && b->options != NULL)
	{
		a->options = MemoryContextAlloc(aggcxt, VARSIZE(b->options));
		memcpy(a->options, b->options, VARSIZE(b->options));
		a->fill = b->fill;
	}
	if (b->ncov >= 0)
	{
		if (a->ncov < 0)
		{
			if (a->n > 0)
				elog(ERROR, "combining series states with and without covariates");
			a->ncov = b->ncov;
		}
		else if (a->ncov != b->ncov)
			covariate_mismatch(a->ncov, b->ncov);
	}
	else if (b->n > 0 && a->ncov >= 0)
		elog(ERROR, "combining series states with and without covariates");
	if (b->n > 0)
		append_points(a, b);
	PG_RETURN_POINTER(a);
}

/*
 * Serialized state, for the trip from a parallel worker to the leader of
 * the same server, so in native byte order and copied in bulk:
 *
 *	SerialHeader, n TsfPoint, n * ncov float8 covariates, optlen bytes of
 *	options (a jsonb varlena)
 */
typedef struct SerialHeader
{
	int32		ts_type;
	int32		fill;
	int32		ncov;			/* -1 when no row had covariates */
	int32		optlen;
	int64		n;
} SerialHeader;

Datum
tsf_series_serialfn(PG_FUNCTION_ARGS)
{
	TsfSeriesState *st = (TsfSeriesState *) PG_GETARG_POINTER(0);
	SerialHeader h;
	Size		ptbytes,
				covbytes,
				total;
	bytea	   *out;
	char	   *p;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "aggregate function called in non-aggregate context");
	h.ts_type = st->ts_type;
	h.fill = st->fill;
	h.ncov = st->ncov;
	h.optlen = st->options ? VARSIZE(st->options) : 0;
	h.n = st->n;
	ptbytes = sizeof(TsfPoint) * (Size) st->n;
	covbytes = sizeof(double) * (Size) st->n * Max(st->ncov, 0);
	total = VARHDRSZ + sizeof(h) + ptbytes + covbytes + h.optlen;
	if (total > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("time series is too large to pass between parallel workers"),
				 errhint("Set max_parallel_workers_per_gather to 0 for this query.")));
	out = palloc(total);
	SET_VARSIZE(out, total);
	p = VARDATA(out);
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	if (ptbytes > 0)
		memcpy(p, st->pts, ptbytes);
	p += ptbytes;
	if (covbytes > 0)
		memcpy(p, st->cov, covbytes);
	p += covbytes;
	if (h.optlen > 0)
		memcpy(p, st->options, h.optlen);
	PG_RETURN_BYTEA_P(out);
}

Datum
tsf_series_deserialfn(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	const char *p = VARDATA_ANY(b);
	Size		len = VARSIZE_ANY_EXHDR(b);
	MemoryContext aggcxt;
	TsfSeriesState *st;
	SerialHeader h;
	Size		ptbytes,
				covbytes;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "aggregate function called in non-aggregate context");

	/* check that the lengths add up before trusting any of them */
	if (len < sizeof(h))
		elog(ERROR, "invalid serialized series state");
	memcpy(&h, p, sizeof(h));
	p += sizeof(h);
	if (h.ts_type < TSF_TS_TIMESTAMPTZ || h.ts_type > TSF_TS_INT8 ||
		h.ncov < -1 || h.ncov > TSF_MAX_COVARIATES || h.optlen < 0 ||
		h.n < 0 || h.n > TSF_MAX_POINTS)
		elog(ERROR, "invalid serialized series state");
	ptbytes = sizeof(TsfPoint) * (Size) h.n;
	covbytes = sizeof(double) * (Size) h.n * Max(h.ncov, 0);
	if (len != sizeof(h) + ptbytes + covbytes + h.optlen)
		elog(ERROR, "invalid serialized series state");

	st = new_state(aggcxt, h.ts_type);
	st->fill = h.fill;
	st->ncov = h.ncov;
	reserve(st, h.n);
	if (ptbytes > 0)
		memcpy(st->pts, p, ptbytes);
	p += ptbytes;
	if (covbytes > 0)
		memcpy(st->cov, p, covbytes);
	p += covbytes;
	st->n = h.n;
	if (h.optlen > 0)
	{
		st->options = MemoryContextAlloc(aggcxt, h.optlen);
		memcpy(st->options, p, h.optlen);
	}
	PG_RETURN_POINTER(st);
}

static int
cmp_point(const void *a, const void *b)
{
	int64		x = ((const TsfPoint *) a)->ts;
	int64		y = ((const TsfPoint *) b)->ts;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* order indexes into a point array by their points' ts, then by index */
static int
cmp_perm(const void *a, const void *b, void *arg)
{
	const TsfPoint *pts = (const TsfPoint *) arg;
	int64		i = *(const int64 *) a;
	int64		j = *(const int64 *) b;
	int64		x = pts[i].ts;
	int64		y = pts[j].ts;

	if (x != y)
		return x < y ? -1 : 1;
	return i < j ? -1 : i > j ? 1 : 0;
}

/*
 * Sort, validate and regularize the collected points into out (arrays in the
 * current memory context): one value per grid step from the first to the
 * last timestamp, transformed, gaps filled as asked.
 */
void
tsf_series_prepare(TsfSeriesState *st, int transform, int fill, TsfSeries *out)
{
	TsfPoint   *pts = st->pts;
	int64		n = st->n;
	int			ncov = Max(st->ncov, 0);
	int64		total;
	int64	   *ts;
	int64	   *idx;
	bool		sorted = true;

	if (n < 3)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time series is too short"),
				 errdetail("The series has " INT64_FORMAT " point%s, but at least 3 are required.",
						   n, n == 1 ? "" : "s")));

	/* data usually arrives in order: sort only when it did not */
	for (int64 i = 1; i < n && sorted; i++)
		sorted = pts[i - 1].ts <= pts[i].ts;
	if (!sorted && ncov == 0)
		qsort(pts, n, sizeof(TsfPoint), cmp_point);
	else if (!sorted)
	{
		/* sort a permutation, then move points and covariates by it */
		int64	   *perm = palloc_extended(sizeof(int64) * n, MCXT_ALLOC_HUGE);
		TsfPoint   *p2 = palloc_extended(sizeof(TsfPoint) * n, MCXT_ALLOC_HUGE);
		double	   *c2 = palloc_extended(sizeof(double) * ncov * n, MCXT_ALLOC_HUGE);

		for (int64 i = 0; i < n; i++)
			perm[i] = i;
		qsort_arg(perm, n, sizeof(int64), cmp_perm, pts);
		for (int64 i = 0; i < n; i++)
		{
			p2[i] = pts[perm[i]];
			memcpy(c2 + i * ncov, st->cov + perm[i] * ncov, sizeof(double) * ncov);
		}
		memcpy(pts, p2, sizeof(TsfPoint) * n);
		memcpy(st->cov, c2, sizeof(double) * ncov * n);
		pfree(perm);
		pfree(p2);
		pfree(c2);
	}
	CHECK_FOR_INTERRUPTS();

	ts = palloc_extended(sizeof(int64) * n, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < n; i++)
	{
		if (i > 0 && pts[i].ts == pts[i - 1].ts)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("duplicate timestamp in time series"),
					 errdetail("Timestamp %s occurs more than once.",
							   tsf_ts_to_cstring(st->ts_type, pts[i].ts))));
		if (transform == TSF_TRANSFORM_LOG && pts[i].value <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_ARGUMENT_FOR_LOG),
					 errmsg("cannot apply the log transform to a value that is not positive"),
					 errdetail("The value at %s is %g.",
							   tsf_ts_to_cstring(st->ts_type, pts[i].ts), pts[i].value)));
		ts[i] = pts[i].ts;
	}

	out->ts_type = st->ts_type;
	tsf_freq_infer(st->ts_type, ts, n, &out->freq);
	out->first_ts = ts[0];
	out->last_ts = ts[n - 1];

	/* grid position of every point: i itself when a fixed step has no gaps */
	idx = palloc_extended(sizeof(int64) * n, MCXT_ALLOC_HUGE);
	if (out->freq.unit == TSF_FREQ_FIXED &&
		(ts[n - 1] - ts[0]) / out->freq.step == n - 1)
	{
		for (int64 i = 0; i < n; i++)
			idx[i] = i;
	}
	else
	{
		for (int64 i = 0; i < n; i++)
		{
			if (!tsf_freq_index(st->ts_type, &out->freq, ts[0], ts[i], &idx[i]))
				elog(ERROR, "timestamp off the inferred grid");
			if ((i & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
		}
	}
	total = idx[n - 1] + 1;
	if (total > TSF_MAX_POINTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("time series spans too many steps"),
				 errdetail("From %s to %s is " INT64_FORMAT " steps (%s); at most %d are allowed.",
						   tsf_ts_to_cstring(st->ts_type, ts[0]),
						   tsf_ts_to_cstring(st->ts_type, ts[n - 1]),
						   total, tsf_freq_name(st->ts_type, &out->freq),
						   TSF_MAX_POINTS)));
	if (total > n && fill == TSF_FILL_NONE)
	{
		int64		i = 1;

		while (idx[i] == idx[i - 1] + 1)
			i++;
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("time series has gaps"),
				 errdetail("The series' frequency is %s; " INT64_FORMAT " %s missing, the first after %s.",
						   tsf_freq_name(st->ts_type, &out->freq), total - n,
						   total - n == 1 ? "step is" : "steps are",
						   tsf_ts_to_cstring(st->ts_type, ts[i - 1])),
				 errhint("Set the \"fill\" option to \"linear\" or \"previous\" to fill them.")));
	}

	out->n = total;
	out->n_filled = total - n;
	out->y = palloc_extended(sizeof(double) * total, MCXT_ALLOC_HUGE);
	out->ncov = ncov;
	out->cov = ncov > 0 ?
		palloc_extended(sizeof(double) * ncov * total, MCXT_ALLOC_HUGE) : NULL;
	for (int64 i = 0; i < n; i++)
	{
		double		v = tsf_apply_transform(transform, pts[i].value);

		out->y[idx[i]] = v;
		for (int j = 0; j < ncov; j++)
			out->cov[idx[i] * ncov + j] = st->cov[i * ncov + j];
		/* fill the steps between the previous point and this one */
		if (i > 0 && idx[i] > idx[i - 1] + 1)
		{
			int64		span = idx[i] - idx[i - 1];

			for (int64 k = idx[i - 1] + 1; k < idx[i]; k++)
			{
				double		w = (double) (k - idx[i - 1]) / (double) span;
				double		a = out->y[idx[i - 1]];

				out->y[k] = fill == TSF_FILL_LINEAR ? a + (v - a) * w : a;
				for (int j = 0; j < ncov; j++)
				{
					double		ca = out->cov[idx[i - 1] * ncov + j];
					double		cb = out->cov[idx[i] * ncov + j];

					out->cov[k * ncov + j] = fill == TSF_FILL_LINEAR ?
						ca + (cb - ca) * w : ca;
				}
			}
		}
	}
	pfree(idx);
	pfree(ts);
}

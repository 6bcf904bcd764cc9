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
#include "postgres.h"

#include "catalog/pg_type_d.h"
#include "common/int.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "guard.h"
#include "jsonbuild.h"
#include "options.h"
#include "series.h"

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

/* bytes one collected point takes: its (ts, value) and its covariates */
double
tsf_series_point_bytes(const TsfSeriesState *st)
{
	return (double) sizeof(TsfPoint) + sizeof(double) * (double) Max(st->ncov, 0);
}

/*
 * Make room for extra more points; the arrays live in the state's context.
 * The capacity doubles, but never past what tsforecast.max_memory allows,
 * which is checked before anything is allocated.
 */
static void
reserve(TsfSeriesState *st, int64 extra)
{
	int64		need = st->n + extra;
	double		per = tsf_series_point_bytes(st);
	int64		cap;
	int64		room;

	if (need > TSF_MAX_POINTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("time series has too many points"),
				 errdetail("A series may have at most %d points.", TSF_MAX_POINTS)));
	if (need <= st->cap)
		return;
	tsf_check_memory(per * need, TSF_MEM_SERIES,
					 psprintf("The series has " INT64_FORMAT " points of %.0f bytes each.",
							  need, per));
	room = (int64) Min((double) TSF_MAX_POINTS, tsf_max_memory_bytes() / per);
	cap = Max(INITIAL_CAP, st->cap);
	while (cap < need)
		cap *= 2;
	cap = Max(need, Min(cap, room));

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

	st->rows++;
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

/* options as text for a message: NULL, or the jsonb cut to 200 characters */
static char *
options_text(const Jsonb *opts)
{
	char	   *t;

	if (opts == NULL)
		return "NULL";
	t = JsonbToCString(NULL, (JsonbContainer *) &opts->root, VARSIZE(opts));
	if (strlen(t) > 200)
		strcpy(t + 197, "...");
	return t;
}

/* whether two options values (either NULL) are the same bytes */
static bool
options_equal(const Jsonb *a, const void *b_data, Size b_len, bool b_null)
{
	if (a == NULL || b_null)
		return a == NULL && b_null;
	return VARSIZE(a) - VARHDRSZ == b_len && memcmp(VARDATA(a), b_data, b_len) == 0;
}

/*
 * The options of one series must be the same on every row: a fit that
 * took them from one row and ignored the others would depend on the scan
 * order.  Compared byte for byte, as jsonb stores them (so key order and
 * spacing do not matter).
 */
static void
check_same_options(TsfSeriesState *st, FunctionCallInfo fcinfo, int optarg)
{
	bool		isnull = PG_ARGISNULL(optarg);
	struct varlena *v = isnull ? NULL :
		pg_detoast_datum_packed((struct varlena *) DatumGetPointer(PG_GETARG_DATUM(optarg)));

	if (options_equal(st->options, isnull ? NULL : VARDATA_ANY(v),
					  isnull ? 0 : VARSIZE_ANY_EXHDR(v), isnull))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("options differ between rows of one time series"),
			 errdetail("The first row has options %s; row " INT64_FORMAT " has %s.",
					   options_text(st->options), st->rows + 1,
					   isnull ? "NULL" : options_text(DatumGetJsonbP(PG_GETARG_DATUM(optarg)))),
			 errhint("Pass the same options on every row, e.g. as a constant.")));
}

/*
 * The transition function behind every training aggregate:
 * (state, ts, value [, covariates float8[]] [, options jsonb]), the optional
 * arguments told apart by type.  The first row's options are validated
 * (validate returns the fill mode, which decides whether a NULL value is an
 * error or a missing point), and every later row must pass the same.
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
			else if (t == INT4OID)
				continue;		/* _job_fit's kind, its caller's (job_citus.c) */
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

			st->options = tsf_jsonb_copy(aggcxt, opts);
		}
		st->fill = validate(st->options);
	}
	else
	{
		st = (TsfSeriesState *) PG_GETARG_POINTER(0);
		if (optarg >= 0)
			check_same_options(st, fcinfo, optarg);
	}

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
 * Add b's points (and covariates) to a; the rows, options and covariate
 * counts are the caller's to merge (tsf_series_combinefn; metrics.c's
 * naive_mae).  A parallel scan hands each worker runs of the table, so the
 * partial states of one series are each in order but interleave: two
 * sorted runs are merged here in O(n), and the final function then finds
 * the series sorted instead of sorting it.
 */
void
tsf_series_append(TsfSeriesState *a, TsfSeriesState *b)
{
	int			ncov = Max(a->ncov, 0);
	int64		na = a->n;

	if (na > 0 && a->pts[na - 1].ts > b->pts[0].ts &&
		points_sorted(a->pts, na) && points_sorted(b->pts, b->n))
	{
		MemoryContext cxt = GetMemoryChunkContext(a);
		int64		n = na + b->n;
		int64		cap = Max(a->cap, n);
		TsfPoint   *pts;
		double	   *cov;
		int64		i = 0,
					j = 0;

		if (n > TSF_MAX_POINTS)
			reserve(a, b->n);	/* the error of too many points */
		tsf_check_memory(tsf_series_point_bytes(a) * ((double) a->cap + cap), TSF_MEM_SERIES,
						 psprintf("Merging two parts of the series of " INT64_FORMAT " points in all holds both.",
								  n));
		pts = MemoryContextAllocHuge(cxt, sizeof(TsfPoint) * cap);
		cov = ncov > 0 ? MemoryContextAllocHuge(cxt, sizeof(double) * ncov * cap) : NULL;
		for (int64 k = 0; k < n; k++)
		{
			/* ties keep a's point first, as an append would */
			bool		from_a = j >= b->n || (i < na && a->pts[i].ts <= b->pts[j].ts);
			const TsfPoint *src = from_a ? &a->pts[i] : &b->pts[j];

			if ((k & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
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
	if (a->rows == 0)
	{
		/* a has seen nothing yet: it takes b's options */
		if (b->options != NULL)
		{
			a->options = tsf_jsonb_copy(aggcxt, b->options);
		}
		a->fill = b->fill;
	}
	else if (b->rows > 0 &&
			 !options_equal(a->options, b->options ? VARDATA(b->options) : NULL,
							b->options ? VARSIZE(b->options) - VARHDRSZ : 0,
							b->options == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options differ between rows of one time series"),
				 errdetail("Two parts of the series, scanned in parallel, have options %s and %s.",
						   options_text(a->options), options_text(b->options)),
				 errhint("Pass the same options on every row, e.g. as a constant.")));
	a->rows += b->rows;
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
		tsf_series_append(a, b);
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
	int32		optlen;			/* 0: the rows' options were NULL */
	int64		n;
	int64		rows;
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
	h.rows = st->rows;
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
		h.n < 0 || h.n > TSF_MAX_POINTS || h.rows < h.n)
		elog(ERROR, "invalid serialized series state");
	ptbytes = sizeof(TsfPoint) * (Size) h.n;
	covbytes = sizeof(double) * (Size) h.n * Max(h.ncov, 0);
	if (len != sizeof(h) + ptbytes + covbytes + h.optlen)
		elog(ERROR, "invalid serialized series state");

	st = new_state(aggcxt, h.ts_type);
	st->fill = h.fill;
	st->ncov = h.ncov;
	st->rows = h.rows;
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
		if (h.optlen < VARHDRSZ || VARSIZE(p) != (Size) h.optlen)
			elog(ERROR, "invalid serialized series state");
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

/* points sorted by qsort at a time, between checks for interrupts */
#define SORT_RUN		4096

/*
 * Sort a (n) by ts, stably within runs' merges, checking for interrupts:
 * qsort sorts runs of SORT_RUN points, then bottom-up merges through tmp
 * (n) double their length.  A plain qsort of tens of millions of points
 * would hold a cancel off for seconds; this takes the same O(n log n).
 * Ties cannot survive (duplicate timestamps are an error), so the order
 * within a tie does not matter.
 */
static void
sort_points(TsfPoint *a, int64 n, TsfPoint *tmp)
{
	TsfPoint   *src = a,
			   *dst = tmp;

	for (int64 i = 0; i < n; i += SORT_RUN)
	{
		qsort(a + i, Min(SORT_RUN, n - i), sizeof(TsfPoint), cmp_point);
		CHECK_FOR_INTERRUPTS();
	}
	for (int64 w = SORT_RUN; w < n; w *= 2)
	{
		TsfPoint   *t;

		for (int64 lo = 0; lo < n; lo += 2 * w)
		{
			int64		mid = Min(lo + w, n),
						hi = Min(lo + 2 * w, n),
						i = lo,
						j = mid,
						k = lo;

			while (i < mid && j < hi)
			{
				dst[k++] = src[j].ts < src[i].ts ? src[j++] : src[i++];
				if ((k & 0xFFFF) == 0)
					CHECK_FOR_INTERRUPTS();
			}
			memcpy(dst + k, src + i, sizeof(TsfPoint) * (mid - i));
			k += mid - i;
			memcpy(dst + k, src + j, sizeof(TsfPoint) * (hi - j));
		}
		t = src;
		src = dst;
		dst = t;
	}
	if (src != a)
		memcpy(a, src, sizeof(TsfPoint) * n);
}

/*
 * Sort the collected points (and their covariates) by ts, in place.  With
 * covariates a permutation is sorted, as (ts, index) records, and both
 * arrays are moved by it.  Checks the memory of the temporary arrays
 * first; held is what the state already takes.
 */
static void
sort_series(TsfSeriesState *st, double held)
{
	int64		n = st->n;
	int			ncov = Max(st->ncov, 0);
	TsfPoint   *tmp;

	if (ncov == 0)
	{
		tsf_check_memory(held + sizeof(TsfPoint) * (double) n, TSF_MEM_SERIES,
						 psprintf("Sorting the " INT64_FORMAT " points of the series needs a copy of them.", n));
		tmp = palloc_extended(sizeof(TsfPoint) * n, MCXT_ALLOC_HUGE);
		sort_points(st->pts, n, tmp);
		pfree(tmp);
	}
	else
	{
		TsfPoint   *rec;
		TsfPoint   *p2;
		double	   *c2;

		tsf_check_memory(held + (3 * sizeof(TsfPoint) + sizeof(double) * ncov) * (double) n,
						 TSF_MEM_SERIES,
						 psprintf("Sorting the " INT64_FORMAT " points of the series and their covariates needs copies of them.", n));
		rec = palloc_extended(sizeof(TsfPoint) * n, MCXT_ALLOC_HUGE);
		tmp = palloc_extended(sizeof(TsfPoint) * n, MCXT_ALLOC_HUGE);
		for (int64 i = 0; i < n; i++)
		{
			rec[i].ts = st->pts[i].ts;
			rec[i].value = (double) i;	/* exact: n < 2^53 */
		}
		sort_points(rec, n, tmp);
		pfree(tmp);
		p2 = palloc_extended(sizeof(TsfPoint) * n, MCXT_ALLOC_HUGE);
		c2 = palloc_extended(sizeof(double) * ncov * n, MCXT_ALLOC_HUGE);
		for (int64 i = 0; i < n; i++)
		{
			int64		from = (int64) rec[i].value;

			p2[i] = st->pts[from];
			memcpy(c2 + i * ncov, st->cov + from * ncov, sizeof(double) * ncov);
			if ((i & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
		}
		memcpy(st->pts, p2, sizeof(TsfPoint) * n);
		memcpy(st->cov, c2, sizeof(double) * ncov * n);
		pfree(rec);
		pfree(p2);
		pfree(c2);
	}
}

/*
 * Sort st's points (and covariates) by ts where they are not in order yet,
 * and refuse duplicate timestamps: for the callers that take the points
 * as they are, on a model's grid (model_update(), backtest()) or in their
 * order only (naive_mae(), metrics.c)
 */
void
tsf_series_sort(TsfSeriesState *st)
{
	bool		sorted = true;

	for (int64 i = 1; i < st->n && sorted; i++)
		sorted = st->pts[i - 1].ts <= st->pts[i].ts;
	if (!sorted)
		sort_series(st, tsf_series_point_bytes(st) * (double) st->cap);
	for (int64 i = 1; i < st->n; i++)
		if (st->pts[i].ts == st->pts[i - 1].ts)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("duplicate timestamp in time series"),
					 errdetail("Timestamp %s occurs more than once.",
							   tsf_ts_to_cstring(st->ts_type, st->pts[i].ts))));
}

/* the error of a series whose span the 64-bit grid arithmetic cannot hold */
static void
span_overflow(int ts_type, int64 first, int64 last)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("time series spans too many steps"),
			 errdetail("The time from %s to %s does not fit in 64 bits of the timestamp's unit.",
					   tsf_ts_to_cstring(ts_type, first), tsf_ts_to_cstring(ts_type, last))));
}

/*
 * Sort, validate and regularize the collected points into out (arrays in the
 * current memory context): one value per grid step from the first to the
 * last timestamp, transformed, gaps filled as asked.  Every array's size is
 * checked against tsforecast.max_memory before it is allocated; out->bytes
 * says what the series then holds, for the caller's own check.
 */
void
tsf_series_prepare(TsfSeriesState *st, int transform, int fill, TsfSeries *out)
{
	TsfPoint   *pts;
	int64		n = st->n;
	int			ncov = Max(st->ncov, 0);
	double		held = tsf_series_point_bytes(st) * (double) st->cap;
	int64		total;
	int64		span;
	int64	   *ts;
	int64	   *idx = NULL;
	bool		sorted = true;

	if (n < 3)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time series is too short"),
				 errdetail("The series has " INT64_FORMAT " point%s, but at least 3 are required.",
						   n, n == 1 ? "" : "s")));

	/* data usually arrives in order: sort only when it did not */
	for (int64 i = 1; i < n && sorted; i++)
		sorted = st->pts[i - 1].ts <= st->pts[i].ts;
	if (!sorted)
		sort_series(st, held);
	pts = st->pts;
	CHECK_FOR_INTERRUPTS();

	tsf_check_memory(held + 2 * sizeof(int64) * (double) n, TSF_MEM_SERIES,
					 psprintf("The series has " INT64_FORMAT " points.", n));
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
	if (pg_sub_s64_overflow(ts[n - 1], ts[0], &span))
		span_overflow(st->ts_type, ts[0], ts[n - 1]);
	tsf_freq_infer(st->ts_type, ts, n, &out->freq);
	out->first_ts = ts[0];
	out->last_ts = ts[n - 1];

	/*
	 * The grid's length: from the span for a fixed step; from every point's
	 * grid position for calendar steps, and for a fixed step with gaps (to
	 * fill them)
	 */
	if (out->freq.unit == TSF_FREQ_FIXED)
		total = span / out->freq.step + 1;
	else
		total = -1;
	if (total != n)
	{
		idx = palloc_extended(sizeof(int64) * n, MCXT_ALLOC_HUGE);
		for (int64 i = 0; i < n; i++)
		{
			if (!tsf_freq_index(st->ts_type, &out->freq, ts[0], ts[i], &idx[i]))
				span_overflow(st->ts_type, ts[0], ts[i]);
			if ((i & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
		}
		total = idx[n - 1] + 1;
	}
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

	/* the grid's arrays: checked before they are taken */
	out->bytes = held + sizeof(double) * (1.0 + ncov) * (double) total;
	tsf_check_memory(out->bytes + 2 * sizeof(int64) * (double) n, TSF_MEM_GRID,
					 psprintf("From %s to %s is " INT64_FORMAT " steps (%s), gaps filled in, of %d value%s each.",
							  tsf_ts_to_cstring(st->ts_type, ts[0]),
							  tsf_ts_to_cstring(st->ts_type, ts[n - 1]),
							  total, tsf_freq_name(st->ts_type, &out->freq),
							  1 + ncov, ncov == 0 ? "" : "s"));
	out->n = total;
	out->n_filled = total - n;
	out->y = palloc_extended(sizeof(double) * total, MCXT_ALLOC_HUGE);
	out->ncov = ncov;
	out->cov = ncov > 0 ?
		palloc_extended(sizeof(double) * ncov * total, MCXT_ALLOC_HUGE) : NULL;
	for (int64 i = 0; i < n; i++)
	{
		double		v = tsf_apply_transform(transform, pts[i].value);
		int64		at = idx ? idx[i] : i;

		out->y[at] = v;
		for (int j = 0; j < ncov; j++)
			out->cov[at * ncov + j] = st->cov[i * ncov + j];
		/* fill the steps between the previous point and this one */
		if (idx && i > 0 && at > idx[i - 1] + 1)
		{
			int64		prev = idx[i - 1];
			int64		gap = at - prev;

			for (int64 k = prev + 1; k < at; k++)
			{
				double		w = (double) (k - prev) / (double) gap;
				double		a = out->y[prev];

				out->y[k] = fill == TSF_FILL_LINEAR ? a + (v - a) * w : a;
				for (int j = 0; j < ncov; j++)
				{
					double		ca = out->cov[prev * ncov + j];
					double		cb = out->cov[at * ncov + j];

					out->cov[k * ncov + j] = fill == TSF_FILL_LINEAR ?
						ca + (cb - ca) * w : ca;
				}
				if ((k & 0xFFFF) == 0)
					CHECK_FOR_INTERRUPTS();
			}
		}
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	if (idx)
		pfree(idx);
	pfree(ts);
}

/*
 * Keep only the last window grid steps of a collected series: the points
 * after step (last - window) of the series' grid, as backtest()'s
 * "window" setting keeps them, and a kind's "window" option.  The points
 * are sorted first; st then points into its own arrays further on (nothing
 * is copied or freed, so a shallow copy of a state may be windowed without
 * touching the original).  A window that covers the series keeps it all.
 */
void
tsf_series_window(TsfSeriesState *st, int64 window)
{
	int64		n;
	int64	   *ts;
	TsfFreq		freq;
	int64		klast;
	int64		lo;
	int			ncov = Max(st->ncov, 0);

	if (window <= 0)
		return;
	tsf_series_sort(st);
	n = st->n;
	if (n < 3)
		return;
	tsf_check_memory(tsf_series_point_bytes(st) * (double) st->cap +
					 sizeof(int64) * (double) n, TSF_MEM_SERIES,
					 psprintf("The series has " INT64_FORMAT " points.", n));
	ts = palloc_extended(sizeof(int64) * n, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < n; i++)
		ts[i] = st->pts[i].ts;
	tsf_freq_infer(st->ts_type, ts, n, &freq);
	if (!tsf_freq_index(st->ts_type, &freq, ts[0], ts[n - 1], &klast))
		span_overflow(st->ts_type, ts[0], ts[n - 1]);
	/* the first point after step klast - window: a binary search */
	{
		int64		a = 0,
					b = n - 1;

		while (a < b)
		{
			int64		mid = a + (b - a) / 2;
			int64		k;

			if (!tsf_freq_index(st->ts_type, &freq, ts[0], ts[mid], &k))
				span_overflow(st->ts_type, ts[0], ts[mid]);
			if (k <= klast - window)
				a = mid + 1;
			else
				b = mid;
		}
		lo = a;
	}
	pfree(ts);
	st->pts += lo;
	if (ncov > 0 && st->cov)
		st->cov += lo * ncov;
	st->n -= lo;
	st->rows = st->n;
}

/*
 * series.c
 *		The state of the training aggregates: collecting (ts, value) pairs
 *		in any order, and turning them into a regular series for the core.
 *
 * Every training aggregate (ar_fit, later lstm_train) shares this state.
 * The transition function only appends; sorting, validation, frequency
 * inference, gap filling and the transform happen once, in the final
 * function, so input order never matters.  Combine, serialize and
 * deserialize let PostgreSQL run the aggregate in parallel workers.
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
 * The transition function behind every training aggregate:
 * (state, ts, value [, covariates...] [, options jsonb]).  validate checks
 * the options once, on the first row that has them, and returns the fill
 * mode, which decides whether a NULL value is an error or a missing point.
 */
Datum
tsf_series_accum(FunctionCallInfo fcinfo, int (*validate) (Jsonb *opts))
{
	MemoryContext aggcxt;
	TsfSeriesState *st;
	int			optarg = PG_NARGS() - 1;
	double		v;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "training aggregate called in non-aggregate context");

	if (PG_ARGISNULL(0))
	{
		Jsonb	   *opts = NULL;

		st = new_state(aggcxt, arg_ts_type(fcinfo));
		if (PG_NARGS() > 3 && !PG_ARGISNULL(optarg))
		{
			opts = PG_GETARG_JSONB_P(optarg);
			st->options = MemoryContextAlloc(aggcxt, VARSIZE(opts));
			memcpy(st->options, opts, VARSIZE(opts));
		}
		st->fill = validate(st->options);
	}
	else
		st = (TsfSeriesState *) PG_GETARG_POINTER(0);

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("null timestamp in time series")));
	if (PG_ARGISNULL(2))
	{
		if (st->fill != TSF_FILL_NONE)
			PG_RETURN_POINTER(st);	/* a missing point, filled later */
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("null value in time series"),
				 errhint("Filter the NULLs out, or set the \"fill\" option to treat them as missing points.")));
	}
	v = PG_GETARG_FLOAT8(2);
	if (isnan(v))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN not allowed in time series")));
	if (isinf(v))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("infinite value not allowed in time series")));

	reserve(st, 1);
	switch (st->ts_type)
	{
		case TSF_TS_DATE:
			st->pts[st->n].ts = PG_GETARG_DATEADT(1);
			if (DATE_NOT_FINITE(st->pts[st->n].ts))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("infinite timestamp not allowed in time series")));
			break;
		case TSF_TS_TIMESTAMPTZ:
			st->pts[st->n].ts = PG_GETARG_TIMESTAMPTZ(1);
			if (TIMESTAMP_NOT_FINITE(st->pts[st->n].ts))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("infinite timestamp not allowed in time series")));
			break;
		default:
			st->pts[st->n].ts = PG_GETARG_INT64(1);
	}
	st->pts[st->n].value = v;
	st->n++;
	PG_RETURN_POINTER(st);
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
	if (b->n > 0)
	{
		reserve(a, b->n);
		memcpy(a->pts + a->n, b->pts, sizeof(TsfPoint) * b->n);
		a->n += b->n;
	}
	PG_RETURN_POINTER(a);
}

/*
 * Serialized state: ts_type (int32), fill (int32), n (int64), n points
 * (int64 ts, float8 value), options length (int32, 0 if none), options.
 */
Datum
tsf_series_serialfn(PG_FUNCTION_ARGS)
{
	TsfSeriesState *st = (TsfSeriesState *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	int			optlen = st->options ? VARSIZE(st->options) : 0;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "aggregate function called in non-aggregate context");
	if ((Size) st->n * 16 + optlen > MaxAllocSize - 64)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("time series is too large to pass between parallel workers"),
				 errhint("Set max_parallel_workers_per_gather to 0 for this query.")));
	pq_begintypsend(&buf);
	pq_sendint32(&buf, st->ts_type);
	pq_sendint32(&buf, st->fill);
	pq_sendint64(&buf, st->n);
	for (int64 i = 0; i < st->n; i++)
	{
		pq_sendint64(&buf, st->pts[i].ts);
		pq_sendfloat8(&buf, st->pts[i].value);
	}
	pq_sendint32(&buf, optlen);
	if (optlen > 0)
		pq_sendbytes(&buf, (char *) st->options, optlen);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

Datum
tsf_series_deserialfn(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	MemoryContext aggcxt;
	StringInfoData buf;
	TsfSeriesState *st;
	int			ts_type;
	int64		n;
	int			optlen;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "aggregate function called in non-aggregate context");

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
	ts_type = pq_getmsgint(&buf, 4);
	if (ts_type < TSF_TS_TIMESTAMPTZ || ts_type > TSF_TS_INT8)
		elog(ERROR, "invalid serialized series state");
	st = new_state(aggcxt, ts_type);
	st->fill = pq_getmsgint(&buf, 4);
	n = pq_getmsgint64(&buf);
	if (n < 0 || n > (buf.len - buf.cursor) / 16)
		elog(ERROR, "invalid serialized series state");
	reserve(st, n);
	for (int64 i = 0; i < n; i++)
	{
		st->pts[i].ts = pq_getmsgint64(&buf);
		st->pts[i].value = pq_getmsgfloat8(&buf);
	}
	st->n = n;
	optlen = pq_getmsgint(&buf, 4);
	if (optlen < 0 || optlen != buf.len - buf.cursor)
		elog(ERROR, "invalid serialized series state");
	if (optlen > 0)
	{
		st->options = MemoryContextAlloc(aggcxt, optlen);
		memcpy(st->options, pq_getmsgbytes(&buf, optlen), optlen);
	}
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(st);
}

static int
cmp_point(const void *a, const void *b)
{
	int64		x = ((const TsfPoint *) a)->ts;
	int64		y = ((const TsfPoint *) b)->ts;

	return x < y ? -1 : x > y ? 1 : 0;
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
	if (!sorted)
		qsort(pts, n, sizeof(TsfPoint), cmp_point);
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

	/* grid position of every point */
	idx = palloc_extended(sizeof(int64) * n, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < n; i++)
	{
		if (!tsf_freq_index(st->ts_type, &out->freq, ts[0], ts[i], &idx[i]))
			elog(ERROR, "timestamp off the inferred grid");
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
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
	for (int64 i = 0; i < n; i++)
	{
		double		v = tsf_apply_transform(transform, pts[i].value);

		out->y[idx[i]] = v;
		/* fill the steps between the previous point and this one */
		if (i > 0 && idx[i] > idx[i - 1] + 1)
		{
			double		a = out->y[idx[i - 1]];
			int64		span = idx[i] - idx[i - 1];

			for (int64 k = idx[i - 1] + 1; k < idx[i]; k++)
				out->y[k] = fill == TSF_FILL_LINEAR
					? a + (v - a) * (double) (k - idx[i - 1]) / (double) span
					: a;
		}
	}
	pfree(idx);
	pfree(ts);
}

/*
 * backtest.c
 *		backtest(ts, value, spec, settings): a rolling-origin evaluation of
 *		any model spec, as an aggregate, so that it runs per series under
 *		GROUP BY (and on the workers of a distributed table) like the
 *		training aggregates.  It returns one backtest_row per (origin, step):
 *
 *		SELECT b.* FROM (SELECT backtest(ts, flow, '{"kind": "ar"}',
 *		                                 '{"horizon": 2, "every": 4}') AS r
 *		                   FROM obs) s, unnest(s.r) b;
 *
 * At each origin the spec is fitted on the rows up to it (ts <= origin),
 * or on the last "window" grid steps of them, through the kind's own fit
 * routine (the same as ar_fit's, lstm_train's or a job's), and forecast
 * "horizon" steps after its last row, with the interval at "level".  With
 * "refit_every": m the spec is fitted at every m-th origin only; at the
 * origins in between the last fitted model's state is moved on over the
 * new rows (model_update(), update.c) and forecast from there.
 *
 * Origins: "origins", a list of timestamps (increasing); or the grid steps
 * of the series from "start" (a timestamp), or from its "initial"-th step
 * (default: the middle of the series), every "every" steps (default 1), up
 * to the last step that still has a step after it.  The rows' actual is the
 * value at the target timestamp, NULL where the data has none; scale is the
 * mean absolute error of the (seasonal, "mase_season" steps) naive forecast
 * over the rows the fit used, for mase().
 *
 * With "bucket" (an interval) each origin forecasts the next "horizon"
 * calendar buckets after its fit's last row instead (forecast_buckets(),
 * forecast.c, from the kind's sample paths): a row's ts is the bucket's
 * start, its actual the mean (or sum) of the series' values in the bucket,
 * NULL unless every step of it has one, and its scale the naive forecast's
 * MAE over the complete buckets of the fit's rows.
 *
 * The series is collected, sorted and put on its grid once; each origin
 * then fits on a slice of it.  An AR fit costs O(n p^2) in the rows it
 * uses, so a backtest's cost grows linearly in its origins; an LSTM's is
 * that of a full training per refit (README, "Backtests").
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "device.h"
#include "forecast.h"
#include "guard.h"
#include "jobs.h"
#include "jsonbuild.h"
#include "kind.h"
#include "metrics.h"
#include "model.h"
#include "options.h"
#include "series.h"
#include "backtest.h"
#include "update.h"

PG_FUNCTION_INFO_V1(tsf_backtest_transfn);
PG_FUNCTION_INFO_V1(tsf_backtest_finalfn);

/* most origins one backtest takes */
#define BT_MAX_ORIGINS	1000000

/* columns of tsforecast.backtest_row */
#define BT_NCOLS		8

typedef struct BtSettings
{
	int32		horizon;
	double		level;
	int32		every;
	int32		initial;
	int32		window;
	int32		refit_every;
	int32		mase_season;
	bool		progress;
	bool		lenient;		/* inner backtests: a forecast that is not
								 * finite is handed on, not an error */
	bool		has_start;
	int64		start;
	int			n_origins;		/* explicit origins, or 0 */
	int64	   *origins;
	bool		has_bucket;		/* forecasts of buckets (forecast_buckets()) */
	TsfBucketSpec bucket;
} BtSettings;

enum
{
	BT_HORIZON, BT_LEVEL, BT_EVERY, BT_INITIAL, BT_WINDOW, BT_REFIT_EVERY,
	BT_MASE_SEASON, BT_PROGRESS, N_BT_OPTS
};

static const TsfOptDef bt_opts[N_BT_OPTS] = {
	{"horizon", TSF_OPT_INT, offsetof(BtSettings, horizon), 1, TSF_MAX_HORIZON, NULL},
	{"level", TSF_OPT_FLOAT, offsetof(BtSettings, level), 0, 1, NULL},
	{"every", TSF_OPT_INT, offsetof(BtSettings, every), 1, TSF_MAX_POINTS, NULL},
	{"initial", TSF_OPT_INT, offsetof(BtSettings, initial), 1, TSF_MAX_POINTS, NULL},
	{"window", TSF_OPT_INT, offsetof(BtSettings, window), 3, TSF_MAX_POINTS, NULL},
	{"refit_every", TSF_OPT_INT, offsetof(BtSettings, refit_every), 1, TSF_MAX_POINTS, NULL},
	{"mase_season", TSF_OPT_INT, offsetof(BtSettings, mase_season), 1, TSF_MAX_POINTS, NULL},
	{"progress", TSF_OPT_BOOL, offsetof(BtSettings, progress), 0, 0, NULL},
};

static int64
parse_ts(int ts_type, const char *s, const char *what)
{
	Datum		d;

	if (ts_type == TSF_TS_DATE)
		d = DirectFunctionCall1(date_in, CStringGetDatum(s));
	else
		d = DirectFunctionCall3(timestamptz_in, CStringGetDatum(s),
								ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	return tsf_ts_from_datum(ts_type, d);
}

static void
bad_setting(const char *key, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for \"%s\" in backtest settings", key),
			 errdetail("%s", detail)));
}

/* the settings jsonb, checked; timestamps in the series' type */
static void
parse_settings(Jsonb *settings, int ts_type, BtSettings *o)
{
	bool		seen[N_BT_OPTS];
	JsonbValue	v;
	Jsonb	   *rest;

	memset(o, 0, sizeof(*o));
	o->level = 0.95;
	o->every = 1;
	o->refit_every = 1;
	o->mase_season = 1;
	if (!JB_ROOT_IS_OBJECT(settings) || JB_ROOT_IS_SCALAR(settings))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("backtest settings must be a jsonb object"),
				 errhint("For example: '{\"horizon\": 2, \"every\": 4}'.")));

	if (getKeyJsonValueFromContainer(&settings->root, "start", 5, &v) != NULL)
	{
		if (v.type != jbvString)
			bad_setting("start", "It must be a timestamp, as a string.");
		o->has_start = true;
		o->start = parse_ts(ts_type, pnstrdup(v.val.string.val, v.val.string.len), "start");
	}
	if (getKeyJsonValueFromContainer(&settings->root, "origins", 7, &v) != NULL)
	{
		JsonbIterator *it;
		JsonbValue	e;
		JsonbIteratorToken tok;
		int			n = 0;

		if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data) ||
			JsonContainerSize(v.val.binary.data) == 0)
			bad_setting("origins", "It must be a non-empty array of timestamps.");
		n = JsonContainerSize(v.val.binary.data);
		if (n > BT_MAX_ORIGINS)
			bad_setting("origins", psprintf("It has %d timestamps; a backtest takes at most %d origins.",
											n, BT_MAX_ORIGINS));
		o->origins = palloc(sizeof(int64) * n);
		it = JsonbIteratorInit(v.val.binary.data);
		while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
		{
			if (tok != WJB_ELEM)
				continue;
			if (e.type != jbvString)
				bad_setting("origins", "Every origin must be a timestamp, as a string.");
			o->origins[o->n_origins] = parse_ts(ts_type, pnstrdup(e.val.string.val, e.val.string.len),
												"origins");
			if (o->n_origins > 0 && o->origins[o->n_origins] <= o->origins[o->n_origins - 1])
				bad_setting("origins", "The origins must be increasing, without duplicates.");
			o->n_origins++;
		}
	}
	rest = DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(settings),
											  CStringGetTextDatum("start")));
	rest = DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(rest),
											  CStringGetTextDatum("origins")));
	o->has_bucket = tsf_bucket_settings(rest, &rest, &o->bucket, 0, false);
	tsf_parse_options(rest, bt_opts, N_BT_OPTS, o, seen);
	if (!seen[BT_HORIZON])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("backtest settings have no \"horizon\""),
				 errhint("Set \"horizon\" to the number of steps to forecast from each origin.")));
	tsf_check_level(o->level);
	if (o->n_origins > 0 && (o->has_start || seen[BT_INITIAL] || seen[BT_EVERY]))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("backtest settings \"origins\" and \"start\", \"initial\" or \"every\" cannot be used together"),
				 errhint("Give the origins, or where they start and how far apart they are.")));
	if (o->has_start && seen[BT_INITIAL])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("backtest settings \"start\" and \"initial\" cannot be used together")));
}

/* ---- the aggregate ---- */

/*
 * The aggregate's state is the training aggregates' (series.c), so that it
 * combines, serializes and deserializes as theirs do (parallel query, Citus
 * partial aggregates): its options are {"spec": ..., "settings": ...}, the
 * arguments of its rows, which must be the same on every row of a group.
 * Checking and building that object once per distinct pair of arguments
 * (not once per row), the last pair is kept in fn_extra.
 */
typedef struct BtArgs
{
	Jsonb	   *spec;			/* copies, in fn_mcxt */
	Jsonb	   *settings;
	Jsonb	   *options;		/* {"spec": spec, "settings": settings} */
	int			ts_type;
	int			fill;
} BtArgs;

/* the checked arguments spec and settings, from the cache if they are its */
static BtArgs *
backtest_args(FunctionCallInfo fcinfo, Jsonb *spec, Jsonb *settings)
{
	BtArgs	   *a = (BtArgs *) fcinfo->flinfo->fn_extra;
	MemoryContext cxt = fcinfo->flinfo->fn_mcxt;
	Jsonb	   *opts;
	int			device;
	const TsfKind *kind;
	BtSettings	o;

	if (a != NULL && tsf_jsonb_same(spec, a->spec) && tsf_jsonb_same(settings, a->settings))
		return a;
	if (a == NULL)
	{
		Oid			t = get_fn_expr_argtype(fcinfo->flinfo, 1);

		a = MemoryContextAllocZero(cxt, sizeof(BtArgs));
		a->ts_type = t == DATEOID ? TSF_TS_DATE : TSF_TS_TIMESTAMPTZ;
		fcinfo->flinfo->fn_extra = a;
	}
	else
	{
		pfree(a->spec);
		pfree(a->settings);
		pfree(a->options);
		a->spec = a->settings = a->options = NULL;
	}
	/* refuse bad arguments before the rows are collected */
	tsf_spec_refuse_backtest_key(spec);
	kind = tsf_job_parse_spec(spec, &opts, &device);
	parse_settings(settings, a->ts_type, &o);
	a->fill = kind->check_options(opts);
	a->options = tsf_jsonb_copy(cxt, tsf_jsonb_with_key(tsf_jsonb_with_key(tsf_jsonb_empty_object(),
																		"spec", spec),
													"settings", settings));
	a->spec = tsf_jsonb_copy(cxt, spec);
	a->settings = tsf_jsonb_copy(cxt, settings);
	return a;
}

Datum
tsf_backtest_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	TsfSeriesState *st;
	BtArgs	   *a;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "backtest called in non-aggregate context");
	if (PG_ARGISNULL(3) || PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("backtest spec and settings must not be null")));
	a = backtest_args(fcinfo, PG_GETARG_JSONB_P(3), PG_GETARG_JSONB_P(4));
	if (PG_ARGISNULL(0))
	{
		st = tsf_series_new(aggcxt, a->ts_type);
		st->fill = a->fill;
		st->options = tsf_jsonb_copy(aggcxt, a->options);
	}
	else
	{
		st = (TsfSeriesState *) PG_GETARG_POINTER(0);
		if (st->options == NULL || !tsf_jsonb_same(st->options, a->options))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("backtest() needs the same spec and settings on every row of a group"),
					 errhint("Add GROUP BY the series key, or pass constants.")));
	}
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("null timestamp in time series")));
	tsf_series_add(st, tsf_ts_from_datum(st->ts_type, PG_GETARG_DATUM(1)),
				   PG_GETARG_DATUM(2), PG_ARGISNULL(2), false, NULL, 0);
	PG_RETURN_POINTER(st);
}

/* which origin an error is about */
typedef struct BtContext
{
	int			ts_type;
	int64		origin;
	int			i;
	int			n;
} BtContext;

static void
bt_error_context(void *arg)
{
	BtContext  *c = (BtContext *) arg;

	if (c->n > 0)
		errcontext("backtest origin %d of %d (%s)", c->i + 1, c->n,
				   tsf_ts_to_cstring(c->ts_type, c->origin));
}

/* the index of the first point with ts > t (points sorted) */
static int64
points_upto(const TsfPoint *pts, int64 n, int64 t)
{
	int64		lo = 0,
				hi = n;

	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (pts[mid].ts <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* the index of the first point whose frame time is >= t (points sorted) */
static int64
points_from_frame(const TsfPoint *pts, int64 n, int ts_type, const TsfFreq *f,
				  Timestamp t)
{
	int64		lo = 0,
				hi = n;

	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (tsf_bucket_frame(ts_type, f, pts[mid].ts) < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * A bucket backtest's actuals and scale at one origin: act[h] the mean (or
 * sum) of the series' values in bucket h of bf, NaN unless the data has
 * every one of its bf->steps steps with a value; *scale the naive forecast's
 * MAE (season mase_season buckets) over the complete buckets of the fit's
 * rows lo..hi - 1, in order (incomplete buckets left out)
 */
static void
bucket_actuals(const TsfSeriesState *st, const TsfFreq *f, const TsfBucketSpec *b,
			   const TsfBucketForecast *bf, int64 lo, int64 hi, int mase_season,
			   double *act, double *scale)
{
	int64		width = 0;
	int64		spb = tsf_bucket_steps(b, st->ts_type, f, &width);
	Timestamp	origin = tsf_bucket_origin(b, st->ts_type, f);
	double	   *means;
	int64		nm = 0;
	int64		count = 0;
	double		sum = 0.0;
	Timestamp	cur = 0;

	for (int h = 0; h < bf->horizon; h++)
	{
		int64		i = points_from_frame(st->pts, st->n, st->ts_type, f, bf->frame_start[h]);

		count = 0;
		sum = 0.0;
		for (; i < st->n &&
			 tsf_bucket_frame(st->ts_type, f, st->pts[i].ts) < bf->frame_start[h] + width; i++)
			if (!isnan(st->pts[i].value))
			{
				count++;
				sum += st->pts[i].value;
			}
		act[h] = count == spb ?
			(b->aggregate == TSF_BUCKET_MEAN ? sum / (double) spb : sum) : NAN;
	}

	/* the fit's rows as buckets: at most one per row */
	means = palloc_extended(sizeof(double) * Max(hi - lo, 1), MCXT_ALLOC_HUGE);
	count = 0;
	sum = 0.0;
	for (int64 i = lo; i <= hi; i++)
	{
		Timestamp	bk = i < hi ?
			tsf_bucket_floor(b, origin, tsf_bucket_frame(st->ts_type, f, st->pts[i].ts)) : 0;

		if (i == hi || (count > 0 && bk != cur))
		{
			if (count == spb)
				means[nm++] = b->aggregate == TSF_BUCKET_MEAN ? sum / (double) spb : sum;
			count = 0;
			sum = 0.0;
		}
		if (i == hi)
			break;
		cur = bk;
		if (!isnan(st->pts[i].value))
		{
			count++;
			sum += st->pts[i].value;
		}
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	*scale = tsf_naive_mae(means, (long) nm, mase_season);
	pfree(means);
}

/*
 * The backtest of one collected series st (sorted in place) for spec and
 * settings: an array of rowtype (backtest_row).  hooks (may be NULL): its
 * epoch routine hears of each origin done (as epoch i of n, losses NaN)
 * and may stop the backtest, as it stops a job's training.
 */
/* the SQL backtest's rows, built as the core emits them */
typedef struct BtRows
{
	TupleDesc	tupdesc;
	Datum	   *rows;
	int64		r;
	int			ts_type;
	bool		bucket;			/* t is a bucket's start, a timestamptz */
} BtRows;

static void
emit_row(void *arg, int j, int64 origin, int h, int64 t, double v, double l, double u,
		 bool has_actual, double actual, double scale)
{
	BtRows	   *b = (BtRows *) arg;
	Datum		values[BT_NCOLS];
	bool		nulls[BT_NCOLS] = {0};

	values[0] = tsf_ts_to_timestamptz(b->ts_type, origin, &nulls[0]);
	values[1] = Int32GetDatum(h + 1);
	if (b->bucket)
		values[2] = TimestampTzGetDatum((TimestampTz) t);
	else
		values[2] = tsf_ts_to_timestamptz(b->ts_type, t, &nulls[2]);
	values[3] = Float8GetDatum(v);
	values[4] = Float8GetDatum(l);
	values[5] = Float8GetDatum(u);
	if (has_actual)
		values[6] = Float8GetDatum(actual);
	else
		nulls[6] = true;
	if (isnan(scale))
		nulls[7] = true;
	else
		values[7] = Float8GetDatum(scale);
	b->rows[b->r++] = HeapTupleGetDatum(heap_form_tuple(b->tupdesc, values, nulls));
}

/*
 * The series' grid: each point's step (st sorted, at least 3 points), the
 * points' timestamps, the inferred frequency; checked memory
 */
static void
series_grid(TsfSeriesState *st, TsfFreq *freq, int64 **ts_out, int64 **gk_out, bool bucket)
{
	int64		n = st->n;
	int64	   *ts;
	int64	   *gk;

	/*
	 * the series' grid, once, and the copy of its points each fit takes
	 * (and, for buckets, the bucket means of the fit's rows, at most one a
	 * row)
	 */
	tsf_check_memory(tsf_series_point_bytes(st) * (double) st->cap +
					 (2.0 * sizeof(int64) + sizeof(TsfPoint) +
					  (bucket ? sizeof(double) : 0)) * (double) n, TSF_MEM_GRID,
					 psprintf("A backtest of a series of " INT64_FORMAT " points.", n));
	ts = palloc_extended(sizeof(int64) * n, MCXT_ALLOC_HUGE);
	gk = palloc_extended(sizeof(int64) * n, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < n; i++)
		ts[i] = st->pts[i].ts;
	tsf_freq_infer(st->ts_type, ts, n, freq);
	for (int64 i = 0; i < n; i++)
	{
		if (!tsf_freq_index(st->ts_type, freq, ts[0], ts[i], &gk[i]))
			elog(ERROR, "point off the inferred grid");
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	*ts_out = ts;
	*gk_out = gk;
}

/*
 * The rolling-origin loop: at each of the n_orig origins (orig_ts, with
 * orig_hi the points up to each), the spec (kind, opts) fitted on the rows
 * up to it (the last o->window steps of them) or moved on there, and its
 * forecast of o->horizon steps handed to emit, with the actual value where
 * the data has one and the naive scale of the fit's rows.  The forecasts
 * are the model's own kind's (a spec "auto" fits a model of another kind).
 */
static void
backtest_loop(TsfSeriesState *st, const TsfKind *kind, Jsonb *opts, int device,
			  const BtSettings *o, const TsfFreq *freq, int n_orig, const int64 *orig_ts,
			  const int64 *orig_hi, const int64 *gk, TsfBtEmit emit, void *arg,
			  const TsfTrainHooks *hooks)
{
	int64		n = st->n;
	MemoryContext origin_cxt,
				model_cxt,
				old;
	TsfModel   *model = NULL;
	BtContext	ectx = {0};
	ErrorContextCallback errcb;

	origin_cxt = AllocSetContextCreate(CurrentMemoryContext, "backtest origin",
									   ALLOCSET_DEFAULT_SIZES);
	model_cxt = AllocSetContextCreate(CurrentMemoryContext, "backtest model",
									  ALLOCSET_DEFAULT_SIZES);
	ectx.ts_type = st->ts_type;
	ectx.n = n_orig;
	errcb.callback = bt_error_context;
	errcb.arg = &ectx;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	for (int j = 0; j < n_orig; j++)
	{
		int64		hi = orig_hi[j];
		int64		lo = 0;
		bool		refit = model == NULL || j % o->refit_every == 0;
		double	   *mean,
				   *lo_v,
				   *hi_v;
		double		scale = NAN;
		double	   *bact = NULL;	/* (horizon) the buckets' actuals, NaN: none */
		int64		next;
		instr_time	t0;
		TsfBucketForecast bf;

		CHECK_FOR_INTERRUPTS();
		INSTR_TIME_SET_CURRENT(t0);
		ectx.i = j;
		ectx.origin = orig_ts[j];
		old = MemoryContextSwitchTo(origin_cxt);

		if (hi == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("backtest origin is before the series' first timestamp")));
		if (o->window > 0)
		{
			int64		from = gk[hi - 1] - o->window;	/* steps after it are in */

			while (lo < hi && gk[lo] <= from)
				lo++;
		}

		if (refit)
		{
			TsfSeriesState sub;
			bytea	   *b;

			memset(&sub, 0, sizeof(sub));
			sub.ts_type = st->ts_type;
			sub.fill = st->fill;
			sub.ncov = -1;
			sub.rows = sub.n = sub.cap = hi - lo;
			sub.pts = palloc_extended(sizeof(TsfPoint) * Max(hi - lo, 1), MCXT_ALLOC_HUGE);
			memcpy(sub.pts, st->pts + lo, sizeof(TsfPoint) * (hi - lo));
			sub.options = opts;
			b = kind->fit(&sub, device, NULL);
			MemoryContextReset(model_cxt);
			MemoryContextSwitchTo(model_cxt);
			model = palloc(sizeof(TsfModel));
			tsf_model_deserialize(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), model,
								  ERRCODE_INTERNAL_ERROR);
			MemoryContextSwitchTo(origin_cxt);
		}
		else
		{
			/*
			 * The state moves in place (its arrays are the model context's)
			 * over the rows after the previous origin's: the model's state
			 * is that origin's last row, refitted or moved there, so only
			 * these are new (not every row from the start again)
			 */
			int64		from = orig_hi[j - 1];

			tsf_model_advance(model, st->pts + from, NULL, 0, hi - from);
		}

		if (o->has_bucket)
		{
			/* the buckets' forecasts (back-transformed), actuals and scale */
			tsf_forecast_buckets(model, &o->bucket, o->horizon, o->level, NULL, &bf);
			mean = bf.value;
			lo_v = bf.lo;
			hi_v = bf.hi;
			bact = palloc(sizeof(double) * o->horizon);
			bucket_actuals(st, freq, &o->bucket, &bf, lo, hi, o->mase_season, bact, &scale);
		}
		else
		{
			char	   *detail = NULL;
			double		bytes = model->kind->forecast_bytes(model, o->horizon, &detail);
			/* the fit's values in order, for metrics.c's arithmetic */
			double	   *y;

			tsf_check_memory(sizeof(double) * 3.0 * o->horizon + bytes, TSF_MEM_FORECAST,
							 detail ? detail : psprintf("A horizon of %d steps.", o->horizon));
			mean = palloc(sizeof(double) * o->horizon);
			lo_v = palloc(sizeof(double) * o->horizon);
			hi_v = palloc(sizeof(double) * o->horizon);
			model->kind->forecast(model, o->horizon, o->level, NULL, mean, lo_v, hi_v);
			y = palloc_extended(sizeof(double) * Max(hi - lo, 1), MCXT_ALLOC_HUGE);
			for (int64 i = lo; i < hi; i++)
				y[i - lo] = st->pts[i].value;
			scale = tsf_naive_mae(y, (long) (hi - lo), o->mase_season);
		}
		next = tsf_model_next_step(model);

		MemoryContextSwitchTo(old);
		for (int h = 0; h < o->horizon; h++)
		{
			int64		t;
			double		v,
						l,
						u,
						actual = NAN;
			bool		has_actual;

			if (o->has_bucket)
			{
				/* already back-transformed; the bucket's start */
				t = (int64) bf.start[h];
				v = mean[h];
				l = lo_v[h];
				u = hi_v[h];
				has_actual = !isnan(bact[h]);
				actual = bact[h];
			}
			else
			{
				int64		at;

				t = tsf_freq_advance(model->ts_type, &model->freq, model->first_ts, next + h);
				at = points_upto(st->pts, n, t) - 1;
				v = tsf_back_transform(model->transform, mean[h]);
				l = tsf_back_transform(model->transform, lo_v[h]);
				u = tsf_back_transform(model->transform, hi_v[h]);
				has_actual = at >= 0 && st->pts[at].ts == t;
				if (has_actual)
					actual = st->pts[at].value;
			}
			if (!o->lenient)
			{
				tsf_check_forecast_value(v, h + 1);
				tsf_check_forecast_value(l, h + 1);
				tsf_check_forecast_value(u, h + 1);
			}
			emit(arg, j, orig_ts[j], h, t, v, l, u, has_actual, actual, scale);
		}
		if (o->progress)
			ereport(NOTICE,
					(errmsg("backtest origin %d of %d (%s): %s on " INT64_FORMAT " rows",
							j + 1, n_orig, tsf_ts_to_cstring(st->ts_type, orig_ts[j]),
							refit ? "fitted" : "updated", hi - lo),
					 errdetail("%.3f s.", tsf_seconds_since(t0))));
		MemoryContextReset(origin_cxt);
		if (hooks && hooks->epoch &&
			hooks->epoch(hooks->arg, j + 1, n_orig, NAN, NAN) && hooks->stopped)
			hooks->stopped(hooks->arg);
	}
	error_context_stack = errcb.previous;
	MemoryContextDelete(origin_cxt);
	MemoryContextDelete(model_cxt);
}

/*
 * The backtest of one collected series st (sorted in place) for spec and
 * settings: an array of rowtype (backtest_row).  hooks (may be NULL): its
 * epoch routine hears of each origin done (as epoch i of n, losses NaN)
 * and may stop the backtest, as it stops a job's training.
 */
ArrayType *
tsf_backtest_series(TsfSeriesState *st, Jsonb *spec, Jsonb *settings, Oid rowtype,
					const TsfTrainHooks *hooks)
{
	const TsfKind *kind;
	Jsonb	   *opts;
	int			device;
	BtSettings	o;
	int64		n;
	int64	   *ts;
	int64	   *gk;				/* each point's grid step */
	TsfFreq		freq;
	int			n_orig;
	int64	   *orig_ts;		/* each origin's timestamp */
	int64	   *orig_hi;		/* points up to it */
	TupleDesc	tupdesc;
	int64		nrows;
	BtRows		out;
	int16		typlen;
	bool		typbyval;
	char		typalign;

	if (st->ts_type == TSF_TS_INT8)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("backtest() takes timestamptz or date timestamps"),
				 errhint("Cast an integer index to a date, or to a timestamptz.")));
	if (st->ncov > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("backtest() does not take covariates"),
				 errdetail("Its forecasts would need the covariates' future values at every origin.")));
	kind = tsf_job_parse_spec(spec, &opts, &device);
	if (device < 0)
		device = tsf_device;
	parse_settings(settings, st->ts_type, &o);

	tsf_series_sort(st);
	n = st->n;
	if (n < 3)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time series is too short"),
				 errdetail("The series has " INT64_FORMAT " point%s, but at least 3 are required.",
						   n, n == 1 ? "" : "s")));
	series_grid(st, &freq, &ts, &gk, o.has_bucket);
	/* the origins, and the points up to each */
	if (o.n_origins > 0)
	{
		n_orig = o.n_origins;
		orig_ts = o.origins;
		orig_hi = palloc(sizeof(int64) * n_orig);
		for (int j = 0; j < n_orig; j++)
			orig_hi[j] = points_upto(st->pts, n, orig_ts[j]);
	}
	else
	{
		int64		g0,
					glast = gk[n - 1] - 1;
		int64		count;

		if (o.has_start)
		{
			int64		i0 = points_upto(st->pts, n, o.start - 1);

			/* the first point at or after start */
			if (i0 >= n)
				bad_setting("start", "It is after the series' last timestamp.");
			g0 = gk[i0];
		}
		else
			g0 = o.initial > 0 ? o.initial - 1 : gk[n - 1] / 2;
		count = g0 > glast ? 0 : (glast - g0) / o.every + 1;
		if (count == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("backtest has no origins"),
					 errdetail("The series spans " INT64_FORMAT " steps; the first origin would be step " INT64_FORMAT ".",
							   gk[n - 1] + 1, g0 + 1),
					 errhint("Set \"initial\" or \"start\" earlier in the series.")));
		if (count > BT_MAX_ORIGINS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("backtest has too many origins"),
					 errdetail("It would have " INT64_FORMAT " origins; a backtest takes at most %d.",
							   count, BT_MAX_ORIGINS),
					 errhint("Set \"every\" larger, or \"initial\" or \"start\" later.")));
		n_orig = (int) count;
		orig_ts = palloc(sizeof(int64) * n_orig);
		orig_hi = palloc(sizeof(int64) * n_orig);
		for (int j = 0; j < n_orig; j++)
		{
			orig_ts[j] = tsf_freq_advance(st->ts_type, &freq, ts[0], g0 + (int64) j * o.every);
			orig_hi[j] = points_upto(st->pts, n, orig_ts[j]);
		}
	}

	/* the result's rows: checked before they are taken */
	nrows = (int64) n_orig * o.horizon;
	tsf_check_memory((sizeof(Datum) + 128.0) * (double) nrows, TSF_MEM_FORECAST,
					 psprintf("A backtest of %d origins of %d steps.", n_orig, o.horizon));
	if (nrows > MaxAllocSize / sizeof(Datum))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("backtest has too many rows"),
				 errdetail("It would return " INT64_FORMAT " rows.", nrows)));
	tupdesc = lookup_rowtype_tupdesc_copy(rowtype, -1);
	if (tupdesc->natts != BT_NCOLS)
		elog(ERROR, "backtest_row has %d columns, not %d", tupdesc->natts, BT_NCOLS);
	tupdesc = BlessTupleDesc(tupdesc);
	out.tupdesc = tupdesc;
	out.rows = palloc_extended(sizeof(Datum) * Max(nrows, 1), MCXT_ALLOC_HUGE);
	out.r = 0;
	out.ts_type = st->ts_type;
	out.bucket = o.has_bucket;


	backtest_loop(st, kind, opts, device, &o, &freq, n_orig, orig_ts, orig_hi, gk, emit_row,
				  &out, hooks);

	get_typlenbyvalalign(rowtype, &typlen, &typbyval, &typalign);
	return construct_array(out.rows, (int) nrows, rowtype, typlen, typbyval, typalign);
}

/*
 * A backtest inside a fit (a combination's weights, an automatic spec's
 * choice): spec's forecasts of horizon steps from each of the n_orig
 * origins orig_ts of st (sorted, no covariates), fitted on the last window
 * steps (0: all) before each and refitted every refit_every origins, handed
 * to emit as the SQL backtest's rows are made: the same loop, so that
 * backtest() with these settings gives the same numbers; except that a
 * forecast that is not finite (an explosive candidate) is handed on for
 * the caller to judge, where backtest() stops with an error.  bucket (or
 * NULL): forecasts of horizon buckets instead, as backtest()'s with
 * "bucket" (their actuals the buckets' means or sums, NaN where a bucket
 * is incomplete); a bucket whose paths overflow is NaN.
 */
void
tsf_backtest_inner(TsfSeriesState *st, Jsonb *spec, int horizon, int window,
				   int refit_every, int n_orig, const int64 *orig_ts,
				   const TsfBucketSpec *bucket, TsfBtEmit emit, void *arg)
{
	const TsfKind *kind;
	Jsonb	   *opts;
	int			device;
	BtSettings	o;
	int64	   *ts;
	int64	   *gk;
	TsfFreq		freq;
	int64	   *orig_hi;

	kind = tsf_job_parse_spec(spec, &opts, &device);
	device = TSF_DEVICE_CPU;
	memset(&o, 0, sizeof(o));
	o.horizon = horizon;
	o.level = 0.95;
	o.window = window;
	o.refit_every = refit_every;
	o.mase_season = 1;
	o.lenient = true;
	if (bucket != NULL)
	{
		o.has_bucket = true;
		o.bucket = *bucket;
		o.bucket.lenient = true;
	}
	tsf_series_sort(st);
	if (st->n < 3)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time series is too short"),
				 errdetail("The series has " INT64_FORMAT " point%s, but at least 3 are required.",
						   st->n, st->n == 1 ? "" : "s")));
	series_grid(st, &freq, &ts, &gk, bucket != NULL);
	orig_hi = palloc(sizeof(int64) * n_orig);
	for (int j = 0; j < n_orig; j++)
		orig_hi[j] = points_upto(st->pts, st->n, orig_ts[j]);
	backtest_loop(st, kind, opts, device, &o, &freq, n_orig, orig_ts, orig_hi, gk, emit, arg,
				  NULL);
	pfree(orig_hi);
	pfree(ts);
	pfree(gk);
}

Datum
tsf_backtest_finalfn(PG_FUNCTION_ARGS)
{
	TsfSeriesState *st;
	Jsonb	   *spec,
			   *settings;
	Oid			rowtype;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "backtest called in non-aggregate context");
	st = (TsfSeriesState *) PG_GETARG_POINTER(0);
	if (st->options == NULL || (spec = tsf_jsonb_key(st->options, "spec")) == NULL ||
		(settings = tsf_jsonb_key(st->options, "settings")) == NULL)
		elog(ERROR, "backtest state without its arguments");
	rowtype = get_element_type(get_fn_expr_rettype(fcinfo->flinfo));
	if (!OidIsValid(rowtype))
		elog(ERROR, "backtest must return an array of backtest_row");
	PG_RETURN_ARRAYTYPE_P(tsf_backtest_series(st, spec, settings, rowtype, NULL));
}

/* settings checked as a backtest would, timestamps read as timestamptz */
void
tsf_backtest_check_settings(Jsonb *settings)
{
	BtSettings	o;

	parse_settings(settings, TSF_TS_TIMESTAMPTZ, &o);
}

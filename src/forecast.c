/*
 * forecast.c
 *		forecast(model, horizon [, level]) and forecast(model, horizon,
 *		level, future_covariates): the next periods after the training data,
 *		with prediction intervals.
 *
 * What every kind shares is here: the arguments' checks, the future
 * covariates' shape, the memory check, the timestamps of the steps, the
 * back-transform and the check of every value returned.  The forecast
 * itself is the kind's (kind.h): for AR the recursion of the fitted
 * equation with normal intervals (model_ar.c), for an LSTM the network run
 * recursively with Monte Carlo intervals (model_lstm.c).  Under the log
 * transform the three values are exponentiated: the point forecast is then
 * the median, not the mean, of the forecast distribution.
 *
 * forecast_buckets(model, bucket, horizon [, level [, options]]): the
 * next horizon calendar buckets (e.g. Sunday-Saturday weeks of a daily
 * model), each the mean (or the sum) of the model steps it covers, from
 * sample paths (the kind's simulate routine): every path's steps are
 * back-transformed and aggregated per bucket; the point forecast is the
 * median of the paths' aggregates, the interval their quantiles (1 -/+
 * level) / 2, linear interpolation between order statistics (numpy's
 * default).  Under the log transform the mean of a bucket's log-normal days
 * is not the exponential of the mean of their logs: the paths give its
 * distribution, which no step's forecast does.  The median is the point
 * for the same reason forecast()'s log point is exp of the mean log (a
 * median); the paths' mean is returned beside it.
 *
 * Buckets are date_bin's: [origin + i width, origin + (i + 1) width), width
 * an interval without months (default origin 2000-01-02, a Sunday, so '7
 * days' buckets run Sunday to Saturday), in the model's frame: a date
 * series' dates and a timestamptz series on calendar days are binned on
 * their local (wall-clock) timestamps, the origin read as a timestamp; a
 * timestamptz series of fixed steps on its absolute times, the origin read
 * as a timestamptz (in the session time zone), as date_bin(interval,
 * timestamptz, timestamptz) does.  Monthly series (and integer indexes)
 * have no such buckets.  The width must be a whole number of model steps,
 * so every bucket covers the same count.  The first bucket is the first
 * that starts after the model's last row (after model_update()'s, once it
 * moved the state): a bucket that row is in is partly observed, and the
 * model does not keep its observed steps, so it is skipped; the steps
 * before the first bucket (its "lead") are simulated and not reported.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type_d.h"
#include "common/int.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/tuplestore.h"

#include "forecast.h"
#include "guard.h"
#include "jsonbuild.h"
#include "kind.h"
#include "model.h"
#include "options.h"
#include "series.h"

PG_FUNCTION_INFO_V1(tsf_forecast);
PG_FUNCTION_INFO_V1(tsf_forecast_buckets_sql);

void
tsf_check_level(double level)
{
	if (!(level > 0.0 && level < 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for level: %g", level),
				 errdetail("Level must be between 0 and 1, exclusive, e.g. 0.95 for a 95%% interval.")));
}

void
tsf_check_horizon(int32 horizon)
{
	if (horizon < 1 || horizon > TSF_MAX_HORIZON)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for horizon: %d", horizon),
				 errdetail("Horizon must be between 1 and %d.", TSF_MAX_HORIZON)));
}

/*
 * A forecast value (transformed scale, or back-transformed) that is not
 * finite is an error, as float8 arithmetic's overflow is: an explosive
 * model, or a hostile but readable one, never prints NaN or Infinity
 */
void
tsf_check_forecast_value(double v, int step)
{
	if (!isfinite(v))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("forecast is out of range at step %d", step),
				 errdetail("The model's recursion overflowed float8 there, or its interval did."),
				 errhint("Forecast a shorter horizon.")));
}

/*
 * Check future_covariates against the model's n_cov covariates per step and
 * return them as a (horizon, n_cov) row-major array.  A 2-D array must be
 * exactly [horizon][n_cov]; a model with one covariate also takes a 1-D
 * array of horizon values.
 */
static const double *
future_covariates(int n_cov, ArrayType *a, int horizon)
{
	int			ndim = ARR_NDIM(a);
	int			rows = ndim >= 1 ? ARR_DIMS(a)[0] : 0;
	int			cols = ndim == 2 ? ARR_DIMS(a)[1] : 1;

	if (n_cov == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model was trained without covariates"),
				 errhint("Call forecast(model, horizon, level) without future_covariates.")));
	if (ARR_ELEMTYPE(a) != FLOAT8OID)
		elog(ERROR, "future_covariates is not float8[]");
	if (!(ndim == 2 || (ndim == 1 && n_cov == 1)) || rows != horizon || cols != n_cov)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg_plural("future_covariates must have one row of %d covariate per forecast step",
							   "future_covariates must have one row of %d covariates per forecast step",
							   n_cov, n_cov),
				 errdetail("The horizon is %d; the array has %d dimension%s, [%d][%d].",
						   horizon, ndim, ndim == 1 ? "" : "s", rows, ndim == 2 ? cols : 0),
				 errhint("Pass a %d x %d float8[][]: one row per step, one column per covariate.", horizon, n_cov)));
	return tsf_covariate_values(a, rows * cols, "future_covariates");
}

Datum
tsf_forecast(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TsfModel   *m = tsf_model_from_datum(PG_GETARG_DATUM(0));
	int32		horizon = PG_GETARG_INT32(1);
	double		level = PG_NARGS() > 2 ? PG_GETARG_FLOAT8(2) : 0.95;
	int			n_cov = m->kind->n_covariates(m);
	const double *fcov = NULL;
	double	   *mean,
			   *lo,
			   *hi;

	tsf_check_horizon(horizon);
	tsf_check_level(level);
	if (PG_NARGS() > 3)
		fcov = future_covariates(n_cov, PG_GETARG_ARRAYTYPE_P(3), horizon);
	else if (n_cov > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg_plural("model was trained with %d covariate: forecasting it needs their future values",
							   "model was trained with %d covariates: forecasting it needs their future values",
							   n_cov, n_cov),
				 errhint_plural("Use forecast(model, horizon, level, future_covariates), with a row of %d covariate per step.",
								"Use forecast(model, horizon, level, future_covariates), with a row of %d covariates per step.",
								n_cov, n_cov)));

	/* the arrays below, and the kind's own (an LSTM's sample paths) */
	{
		char	   *detail = NULL;
		double		bytes = m->kind->forecast_bytes(m, horizon, &detail);

		tsf_check_memory(sizeof(double) * 5.0 * horizon + bytes, TSF_MEM_FORECAST,
						 detail ? detail : psprintf("A horizon of %d steps.", horizon));
	}
	InitMaterializedSRF(fcinfo, 0);

	mean = palloc(sizeof(double) * horizon);
	lo = palloc(sizeof(double) * horizon);
	hi = palloc(sizeof(double) * horizon);
	m->kind->forecast(m, horizon, level, fcov, mean, lo, hi);

	/*
	 * Step h + 1 after the last training point is grid step n + h, counted
	 * from the first (n + n_after + h once model_update() moved the state): calendar months keep the origin's day (monthly from the
	 * 30th, trained up to 02-29, go on at 03-30, not 03-29), as predict()
	 * places rows.
	 */
	for (int h = 0; h < horizon; h++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};
		int64		ts = tsf_freq_advance(m->ts_type, &m->freq, m->first_ts,
										 tsf_model_next_step(m) + h);
		double		v = tsf_back_transform(m->transform, mean[h]);
		double		l = tsf_back_transform(m->transform, lo[h]);
		double		u = tsf_back_transform(m->transform, hi[h]);

		tsf_check_forecast_value(v, h + 1);
		tsf_check_forecast_value(l, h + 1);
		tsf_check_forecast_value(u, h + 1);
		values[0] = Int32GetDatum(h + 1);
		values[1] = tsf_ts_to_timestamptz(m->ts_type, ts, &nulls[1]);
		values[2] = Float8GetDatum(v);
		values[3] = Float8GetDatum(l);
		values[4] = Float8GetDatum(u);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* ---- bucket forecasts ---- */

const char *const tsf_bucket_agg_names[] = {"mean", "sum", NULL};

void
tsf_bucket_spec_init(TsfBucketSpec *b, const Interval *width)
{
	memset(b, 0, sizeof(*b));
	b->width = *width;
	b->origin = NULL;
	b->aggregate = TSF_BUCKET_MEAN;
	b->paths = TSF_DEFAULT_PATHS;
	b->seed = TSF_DEFAULT_SEED;
}

typedef struct BucketOpts
{
	int32		paths;
	int32		seed;
	int32		aggregate;
} BucketOpts;

Interval *
tsf_bucket_width_in(const char *text, const char *what)
{
	return DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(text),
												 ObjectIdGetDatum(InvalidOid),
												 Int32GetDatum(-1)));
}

void
tsf_bucket_parse(Jsonb *opts, const char *prefix, TsfBucketSpec *b, Jsonb **rest)
{
	char	   *k_origin = psprintf("%sorigin", prefix);
	JsonbValue	v;
	BucketOpts	o;
	bool		seen[3];
	TsfOptDef	defs[3] = {
		{"paths", TSF_OPT_INT, offsetof(BucketOpts, paths), 1, TSF_MAX_PATHS, NULL},
		{"seed", TSF_OPT_INT, offsetof(BucketOpts, seed), 0, PG_INT32_MAX, NULL},
		{"aggregate", TSF_OPT_ENUM, offsetof(BucketOpts, aggregate), 0, 0, tsf_bucket_agg_names},
	};
	Jsonb	   *keys = tsf_jsonb_empty_object();
	Jsonb	   *others = opts;

	if (!JB_ROOT_IS_OBJECT(opts) || JB_ROOT_IS_SCALAR(opts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bucket forecast options must be a jsonb object"),
				 errhint("For example: '{\"paths\": 1000, \"seed\": 1}'.")));
	if (getKeyJsonValueFromContainer(&opts->root, k_origin, strlen(k_origin), &v) != NULL)
	{
		if (v.type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid value for option \"%s\"", k_origin),
					 errdetail("It must be a timestamp, as a string: where the buckets are aligned, as date_bin's origin.")));
		b->origin = pnstrdup(v.val.string.val, v.val.string.len);
		others = DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(others),
													CStringGetTextDatum(k_origin)));
	}
	o.paths = b->paths;
	o.seed = (int32) b->seed;
	o.aggregate = b->aggregate;
	if (rest == NULL)
		/* every other key is unknown: the parser says so, with the valid ones */
		keys = others;
	else
	{
		/* the three keys into their own object, the others left to the caller */
		for (int i = 0; i < 3; i++)
		{
			Jsonb	   *val = tsf_jsonb_key(opts, defs[i].name);

			if (val == NULL)
				continue;
			keys = tsf_jsonb_with_key(keys, defs[i].name, val);
			others = DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(others),
														CStringGetTextDatum(defs[i].name)));
		}
		*rest = others;
	}
	tsf_parse_options(keys, defs, 3, &o, seen);
	b->paths = o.paths;
	b->seed = o.seed;
	b->aggregate = o.aggregate;
}

/*
 * The "bucket" key of a backtest's settings (inner: an automatic spec's
 * options) and the bucket keys that go with it ("bucket_origin", "paths",
 * "seed", "aggregate"): true and b filled (paths from default_paths unless
 * given) where "bucket" is there; the keys left in *rest.  Without
 * "bucket", those keys are an error.
 */
bool
tsf_bucket_settings(Jsonb *in, Jsonb **rest, TsfBucketSpec *b, int default_paths, bool inner)
{
	static const char *const bucket_keys[] = {"bucket_origin", "paths", "seed", "aggregate"};
	JsonbValue	v;

	if (getKeyJsonValueFromContainer(&in->root, "bucket", 6, &v) == NULL)
	{
		for (int i = 0; i < lengthof(bucket_keys); i++)
			if (getKeyJsonValueFromContainer(&in->root, bucket_keys[i],
											 strlen(bucket_keys[i]), &v) != NULL)
			{
				if (inner)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("option \"%s\" needs \"bucket\"", bucket_keys[i]),
							 errhint("It is a setting of the inner bucket forecasts: set \"bucket\" to their width, e.g. \"7 days\".")));
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("backtest setting \"%s\" needs \"bucket\"", bucket_keys[i]),
						 errhint("It is a setting of bucket forecasts: set \"bucket\" to their width, e.g. \"7 days\".")));
			}
		*rest = in;
		return false;
	}
	if (v.type != jbvString)
	{
		if (inner)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid value for option \"bucket\""),
					 errdetail("It must be an interval, as a string, e.g. \"7 days\".")));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for \"%s\" in backtest settings", "bucket"),
				 errdetail("%s", "It must be an interval, as a string, e.g. \"7 days\".")));
	}
	tsf_bucket_spec_init(b, tsf_bucket_width_in(pnstrdup(v.val.string.val, v.val.string.len),
												"bucket"));
	b->width_text = pnstrdup(v.val.string.val, v.val.string.len);
	if (default_paths > 0)
		b->paths = default_paths;
	in = DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(in),
											CStringGetTextDatum("bucket")));
	tsf_bucket_parse(in, "bucket_", b, rest);
	return true;
}

/* the frames (the file's header comment) */
static bool
frame_is_local(int ts_type, const TsfFreq *f)
{
	if (ts_type == TSF_TS_INT8 || f->unit == TSF_FREQ_MONTHS || f->unit == TSF_FREQ_MONTH_END)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 ts_type == TSF_TS_INT8 ?
				 errmsg("bucket forecasts of an integer-indexed series are not supported") :
				 errmsg("bucket forecasts of a %s series are not supported",
						tsf_freq_name(ts_type, f)),
				 errdetail("Buckets are date_bin's, of a fixed width: they take date or timestamptz series of fixed steps or calendar days."),
				 errhint("Forecast the model's own steps with forecast().")));
	return ts_type == TSF_TS_DATE || f->unit == TSF_FREQ_DAYS;
}

Timestamp
tsf_bucket_frame(int ts_type, const TsfFreq *f, int64 ts)
{
	if (ts_type == TSF_TS_DATE)
		return (Timestamp) ts * USECS_PER_DAY;
	if (f->unit == TSF_FREQ_DAYS)
		return DatumGetTimestamp(DirectFunctionCall1(timestamptz_timestamp,
													 TimestampTzGetDatum(ts)));
	return (Timestamp) ts;
}

static TimestampTz
frame_to_timestamptz(bool local, Timestamp t)
{
	if (local)
		return DatumGetTimestampTz(DirectFunctionCall1(timestamp_timestamptz,
													   TimestampGetDatum(t)));
	return (TimestampTz) t;
}

Timestamp
tsf_bucket_origin(const TsfBucketSpec *b, int ts_type, const TsfFreq *f)
{
	const char *s = b->origin ? b->origin : TSF_DEFAULT_BUCKET_ORIGIN;

	if (frame_is_local(ts_type, f))
		return DatumGetTimestamp(DirectFunctionCall3(timestamp_in, CStringGetDatum(s),
													 ObjectIdGetDatum(InvalidOid),
													 Int32GetDatum(-1)));
	return DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum(s),
												   ObjectIdGetDatum(InvalidOid),
												   Int32GetDatum(-1)));
}

/* date_bin(width, t, origin): PostgreSQL's, its errors (months) included */
Timestamp
tsf_bucket_floor(const TsfBucketSpec *b, Timestamp origin, Timestamp t)
{
	return DatumGetTimestamp(DirectFunctionCall3(timestamp_bin,
												 IntervalPGetDatum(&b->width),
												 TimestampGetDatum(t),
												 TimestampGetDatum(origin)));
}

int64
tsf_bucket_steps(const TsfBucketSpec *b, int ts_type, const TsfFreq *f, int64 *width_usec)
{
	const Interval *w = &b->width;
	int64		step;
	int128		width;

	(void) frame_is_local(ts_type, f);
	if (w->month != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("buckets of months or years are not supported"),
				 errdetail("Buckets are date_bin's: their width is a fixed number of days or a time."),
				 errhint("Use a width in days, e.g. '7 days'.")));
	width = (int128) w->day * USECS_PER_DAY + w->time;
	step = ts_type == TSF_TS_DATE || f->unit == TSF_FREQ_DAYS ?
		f->step * USECS_PER_DAY : f->step;
	if (width <= 0 || width > (int128) PG_INT64_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid bucket width: %s",
						DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(w)))),
				 errdetail("A bucket's width must be positive.")));
	if (width % step != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bucket width %s is not a whole number of the model's steps",
						DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(w)))),
				 errdetail("The model's series is %s.", tsf_freq_name(ts_type, f)),
				 errhint("Use a width that is a multiple of the model's step, so that every bucket covers the same steps.")));
	*width_usec = (int64) width;
	return (int64) (width / step);
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* the q-quantile of n sorted values, linear between order statistics */
static double
quantile_sorted(const double *v, int n, double q)
{
	double		pos = q * (n - 1);
	int			i = (int) floor(pos);
	double		f = pos - i;

	if (i >= n - 1)
		return v[n - 1];
	return v[i] + f * (v[i + 1] - v[i]);
}

void
tsf_forecast_buckets(const TsfModel *m, const TsfBucketSpec *b, int horizon,
					 double level, const double *fcov, TsfBucketForecast *out)
{
	bool		local = frame_is_local(m->ts_type, &m->freq);
	int64		width;
	int64		spb = tsf_bucket_steps(b, m->ts_type, &m->freq, &width);
	int64		step = width / spb;
	int64		next = tsf_model_next_step(m);
	Timestamp	origin = tsf_bucket_origin(b, m->ts_type, &m->freq);
	Timestamp	t_next = tsf_bucket_frame(m->ts_type, &m->freq,
										  tsf_freq_advance(m->ts_type, &m->freq,
														   m->first_ts, next));
	Timestamp	first = tsf_bucket_floor(b, origin, t_next);
	int64		lead = 0;
	double		steps;
	int			np = b->paths;
	int			nsteps;
	double	   *paths;

	if (b->paths < 1 || b->paths > TSF_MAX_PATHS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"paths\": %d", b->paths),
				 errdetail("Value must be between 1 and %d.", TSF_MAX_PATHS)));
	tsf_check_level(level);
	if (horizon < 1 || horizon > TSF_MAX_HORIZON)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for horizon: %d", horizon),
				 errdetail("Horizon must be between 1 and %d buckets.", TSF_MAX_HORIZON)));
	if (m->kind->simulate == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("bucket forecasts of %s models are not supported", m->kind->name),
				 errdetail("The kind has no sample paths.")));

	/*
	 * the model's last row in the first bucket: partly observed, skipped;
	 * the buckets' ends must be timestamps (first + horizon * width, with
	 * the skipped one)
	 */
	{
		int64		span;

		if (pg_mul_s64_overflow((int64) horizon + 1, width, &span) ||
			pg_add_s64_overflow(first, span, &span) || !IS_VALID_TIMESTAMP(span))
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("bucket forecast is beyond the range of timestamps"),
					 errdetail_plural("%d bucket of %s from %s.", "%d buckets of %s from %s.",
									  horizon, horizon,
							   DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(&b->width))),
							   DatumGetCString(DirectFunctionCall1(timestamp_out, TimestampGetDatum(first)))),
					 errhint("Forecast fewer buckets.")));
	}
	if (t_next - step >= first)
		first += width;
	if (first > t_next)
		lead = (first - t_next + step - 1) / step;

	/* the model steps simulated, the paths and their aggregates */
	steps = (double) lead + (double) horizon * spb;
	if (steps > TSF_MAX_HORIZON)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("bucket forecast covers too many model steps"),
				 errdetail_plural("%d bucket of " INT64_FORMAT " steps (and " INT64_FORMAT " before it) is %.0f steps; a forecast takes at most %d.",
								  "%d buckets of " INT64_FORMAT " steps (and " INT64_FORMAT " before the first) are %.0f steps; a forecast takes at most %d.",
								  horizon, horizon, spb, lead, steps, TSF_MAX_HORIZON),
				 errhint("Forecast fewer buckets.")));
	if (steps * np > TSF_MAX_PATH_VALUES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("bucket forecast has too many simulated values"),
				 errdetail("%d paths of %.0f model steps are %.0f values; a bucket forecast takes at most %.0f.",
						   np, steps, steps * np, TSF_MAX_PATH_VALUES),
				 errhint("Use fewer \"paths\" or forecast fewer buckets.")));
	nsteps = (int) steps;
	{
		char	   *detail = NULL;
		double		bytes = m->kind->forecast_bytes(m, nsteps, &detail);

		tsf_check_memory(sizeof(double) * ((double) np * nsteps + (double) np * horizon +
										   9.0 * horizon) + bytes,
						 TSF_MEM_FORECAST,
						 psprintf("%d sample paths of %d model steps (%d buckets).",
								  np, nsteps, horizon));
	}

	out->horizon = horizon;
	out->steps = (int) spb;
	out->lead = (int) lead;
	out->npaths = np;
	out->start = palloc(sizeof(TimestampTz) * horizon);
	out->end = palloc(sizeof(TimestampTz) * horizon);
	out->frame_start = palloc(sizeof(Timestamp) * horizon);
	out->value = palloc(sizeof(double) * horizon);
	out->mean = palloc(sizeof(double) * horizon);
	out->lo = palloc(sizeof(double) * horizon);
	out->hi = palloc(sizeof(double) * horizon);
	out->paths = palloc_extended(sizeof(double) * np * (Size) horizon, MCXT_ALLOC_HUGE);
	paths = palloc_extended(sizeof(double) * np * (Size) nsteps, MCXT_ALLOC_HUGE);

	m->kind->simulate(m, nsteps, np, (uint64) b->seed, fcov, paths);

	/* each path's buckets: its steps back-transformed, then aggregated */
	for (int i = 0; i < np; i++)
	{
		const double *y = paths + (Size) i * nsteps + lead;

		for (int h = 0; h < horizon; h++)
		{
			double		sum = 0.0;

			for (int64 k = 0; k < spb; k++)
			{
				double		v = tsf_back_transform(m->transform, y[h * spb + k]);

				if (!b->lenient)
					tsf_check_forecast_value(v, (int) (lead + h * spb + k + 1));
				sum += v;
			}
			if (b->aggregate == TSF_BUCKET_MEAN)
				sum /= (double) spb;
			if (!b->lenient)
				tsf_check_forecast_value(sum, (int) (lead + (h + 1) * spb));
			else if (!isfinite(sum))
				sum = NAN;
			out->paths[(Size) h * np + i] = sum;
		}
		if ((i & 0xFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(paths);

	for (int h = 0; h < horizon; h++)
	{
		double	   *v = out->paths + (Size) h * np;
		double		s = 0.0;

		bool		finite = true;

		CHECK_FOR_INTERRUPTS();
		for (int i = 0; i < np && b->lenient; i++)
			finite = finite && !isnan(v[i]);
		if (!finite)
		{
			/* lenient: a bucket of a path that overflowed is NaN */
			out->mean[h] = out->value[h] = out->lo[h] = out->hi[h] = NAN;
		}
		else
		{
			qsort(v, np, sizeof(double), cmp_double);
			for (int i = 0; i < np; i++)
				s += v[i];
			out->mean[h] = s / np;
			out->value[h] = quantile_sorted(v, np, 0.5);
			out->lo[h] = quantile_sorted(v, np, (1.0 - level) / 2.0);
			out->hi[h] = quantile_sorted(v, np, (1.0 + level) / 2.0);
			if (!b->lenient)
				tsf_check_forecast_value(out->mean[h], (int) (lead + (h + 1) * spb));
			else if (!isfinite(out->mean[h]))
				out->mean[h] = out->value[h] = out->lo[h] = out->hi[h] = NAN;
		}
		out->frame_start[h] = first + (Timestamp) h * width;
		out->start[h] = frame_to_timestamptz(local, out->frame_start[h]);
		out->end[h] = frame_to_timestamptz(local, out->frame_start[h] + width);
	}
}

/*
 * forecast_buckets(model, bucket, horizon, level, options): a row per
 * bucket (bucket, bucket_start, bucket_end, steps, value, mean, lo, hi)
 */
Datum
tsf_forecast_buckets_sql(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TsfModel   *m = tsf_model_from_datum(PG_GETARG_DATUM(0));
	Interval   *width = PG_GETARG_INTERVAL_P(1);
	int32		horizon = PG_GETARG_INT32(2);
	double		level = PG_GETARG_FLOAT8(3);
	Jsonb	   *opts = PG_GETARG_JSONB_P(4);
	TsfBucketSpec b;
	TsfBucketForecast f;
	int			n_cov = m->kind->n_covariates(m);

	tsf_bucket_spec_init(&b, width);
	tsf_bucket_parse(opts, "", &b, NULL);
	if (n_cov > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("bucket forecasts of a model with covariates are not supported"),
				 errdetail_plural("The model was trained with %d covariate, whose future values forecast_buckets() does not take.",
								  "The model was trained with %d covariates, whose future values forecast_buckets() does not take.",
								  n_cov, n_cov),
				 errhint("Harmonics of the season are the model's own: fit it with \"harmonics\" instead.")));
	tsf_forecast_buckets(m, &b, horizon, level, NULL, &f);

	InitMaterializedSRF(fcinfo, 0);
	for (int h = 0; h < horizon; h++)
	{
		Datum		values[8];
		bool		nulls[8] = {0};

		values[0] = Int32GetDatum(h + 1);
		values[1] = TimestampTzGetDatum(f.start[h]);
		values[2] = TimestampTzGetDatum(f.end[h]);
		values[3] = Int32GetDatum(f.steps);
		values[4] = Float8GetDatum(f.value[h]);
		values[5] = Float8GetDatum(f.mean[h]);
		values[6] = Float8GetDatum(f.lo[h]);
		values[7] = Float8GetDatum(f.hi[h]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * model_combine.c
 *		The kind "combine": a model that combines the forecasts of its
 *		members, each a whole model of its own kind fitted on the same
 *		series, by their mean, their median, or weights from a backtest of
 *		each member on the training data.
 *
 *		spec: {"kind": "combine",
 *		       "members": [{"kind": "ar", ...}, {"kind": "ar", "window": 260}],
 *		       "how": "mean" | "median" | "weights",
 *		       "weights_from": {"horizon": 1, "origins": 20, "every": 1,
 *		                        "refit_every": 1, "window": 0},
 *		       "fill": "none" | "linear" | "previous"}
 *
 * Members: 1 to TSF_COMBINE_MAX_MEMBERS (8) specs of the kinds "ar" and
 * "lstm" (not combinations: the kind "auto" may hold one combination, so
 * the reader takes TSF_MAX_NESTING levels and no more), each fitted on the
 * whole training series or on its own "window".  A member takes the
 * combination's "fill" (it may repeat it, not change it); its "device" is
 * ignored: members train on the CPU, a combination has no GPU path.
 * Covariates are refused: a combination of models with exogenous terms
 * would need each member's future values told apart.
 *
 * Forecast: each member forecasts the same steps after the same last
 * training row, back-transformed to the data's scale (members may differ
 * in transform); the combination's point forecast is their mean, median
 * or weighted mean, and its interval the same combination of the members'
 * bounds.  That interval is a heuristic, not a calibrated one: the mean of
 * the bounds of members whose errors are correlated is about as wide as
 * theirs, while the error of their mean is smaller, so it tends to cover
 * more than its level; backtest() and coverage() measure it.  predict():
 * the same combination of the members' one-step predictions (NULL where
 * any member's is).  model_update(): every member's state moves on over
 * the same rows.  Sample paths (forecast_buckets(), bucket backtests):
 * every member's paths drawn with the same seed (common random numbers),
 * back-transformed, combined path by path and step by step with the
 * combination's rule (tsf_combine_simulate); the kind "auto" shares them.
 *
 * "weights": w_i proportional to 1 / MSE_i, MSE_i the mean squared error of
 * member i in a rolling-origin backtest on the training rows only (the
 * inner backtest, "weights_from": the last origin "horizon" steps before
 * the last training row, "origins" of them "every" steps apart, the member
 * refitted every "refit_every" origins on the rows up to each, or on the
 * last "window" steps), pooled over the horizon's steps: the inverse-MSE
 * weights of Bates and Granger (1969, "The combination of forecasts",
 * Operational Research Quarterly 20(4)), without the covariances, as
 * Stock and Watson (2004, "Combination forecasts of output growth in a
 * seven-country data set", J. Forecasting 23) recommend.  A member with an
 * MSE of 0 takes all the weight (shared equally among such members).  The
 * cost is members x inner origins / refit_every fits, on top of the
 * members' fits.
 *
 * Members on buckets: a member spec with "bucket" (and "bucket_origin",
 * "aggregate", as forecast_buckets() takes them) is fitted on the means
 * (or sums) of the complete buckets of the combination's series, at each
 * bucket's first timestamp: a weekly model in a daily combination,
 * {"kind": "ar", "transform": "log", "bucket": "7 days"}; its own "window"
 * counts buckets.  It forecasts the combination's steps as its buckets'
 * values spread over their steps (each step its bucket's mean; its sum /
 * steps for sums), so that the mean of a bucket of the combination's steps
 * is the member's forecast of that bucket: the combination's
 * forecast_buckets() over the same buckets combines, path by path, the
 * daily members' bucket means with the weekly member's values (for the
 * mean and the weights exactly; the median is taken step by step).  Its
 * paths and forecasts are its own recursion's, at its own grid.  The
 * bucket the combination's last step is in, if not complete, is forecast
 * whole.  model_update(): the new rows (every step after the last, no
 * gaps) complete its bucket in progress, whose sum so far is stored; each
 * completed bucket moves the member on.  predict(): each step its bucket's
 * one-step prediction from the buckets before it, spread as its forecasts
 * are (bucket_member_predict).  Inner backtests of such a member
 * (the weights; an automatic spec's candidates) run it as a combination of
 * it alone.
 *
 * Stored payload (after model.c's header; the header's transform is
 * "none", its fill the combination's, its grid the training series'):
 *
 *	size	field
 *	1		how: 0 mean, 1 median, 2 weights
 *	1		n, members (1 .. 8)
 *	20		only with weights: the inner backtest's horizon, origins,
 *			every, refit_every, window (u32 each)
 *	per member:
 *	1		grid: 0 the combination's, 1 its buckets (0.6.0)
 *	8		offset: the combination's grid step of the member's first
 *			training step (>= 0; the member's training ends where the
 *			combination's does); on buckets, of its first bucket's first
 *			step (its buckets end less than a bucket before the
 *			combination's last step, model_update's included)
 *	8		weight (float8; the weights sum to 1)
 *	8		score: with weights the member's inner MSE, else 0 (float8)
 *	17		only on buckets: the steps a bucket (i64, >= 2), the aggregate
 *			(u8: 0 mean, 1 sum), the pending sum of the steps after its
 *			last bucket (float8; 0 when there are none)
 *	4		len, the member's stored bytes
 *	len		the member: a whole stored model (model.c's format), read
 *			and validated as one, one level deeper
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "common/int.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

#include "backtest.h"
#include "combine.h"
#include "device.h"
#include "forecast.h"
#include "guard.h"
#include "jobs.h"
#include "jsonbuild.h"
#include "kind.h"
#include "model.h"
#include "options.h"
#include "predict.h"
#include "series.h"

const char *const tsf_combine_how_names[] = {"mean", "median", "weights", NULL};

/* the payload's fixed part, the inner settings and a member's record */
#define COMBINE_FIXED_SIZE		2
#define COMBINE_INNER_SIZE		20
#define COMBINE_MEMBER_SIZE		29
#define COMBINE_BUCKET_SIZE		17	/* a member on buckets: spb, aggregate, pending */

static inline TsfCombine *
combine_of(const TsfModel *m)
{
	return (TsfCombine *) m->payload;
}

/* ---- the inner backtest ---- */

enum
{
	IB_HORIZON, IB_ORIGINS, IB_EVERY, IB_REFIT_EVERY, IB_WINDOW, N_IB_OPTS
};

static const TsfOptDef ib_opts[N_IB_OPTS] = {
	{"horizon", TSF_OPT_INT, offsetof(TsfInnerBacktest, horizon), 1, 1000, NULL},
	{"origins", TSF_OPT_INT, offsetof(TsfInnerBacktest, origins), 1, 10000, NULL},
	{"every", TSF_OPT_INT, offsetof(TsfInnerBacktest, every), 1, 100000, NULL},
	{"refit_every", TSF_OPT_INT, offsetof(TsfInnerBacktest, refit_every), 1, 100000, NULL},
	{"window", TSF_OPT_INT, offsetof(TsfInnerBacktest, window), 0, TSF_MAX_POINTS, NULL},
};

/*
 * Inner backtest settings: a jsonb object (what names it in errors) or
 * NULL; defaults 1 step, 20 origins every step, refitted at each, on all
 * rows.  The bounds keep its cost bounded (origins x candidates fits).
 */
void
tsf_inner_parse(Jsonb *j, const char *what, TsfInnerBacktest *ib)
{
	ib->horizon = 1;
	ib->origins = 20;
	ib->every = 1;
	ib->refit_every = 1;
	ib->window = 0;
	ib->seasons = 0;
	ib->around = 0;
	ib->bucket_steps = 0;
	ib->lag = 0;
	if (j == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(j) || JB_ROOT_IS_SCALAR(j))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a jsonb object", what),
				 errhint("For example: {\"horizon\": 2, \"origins\": 52}.")));
	tsf_parse_options(j, ib_opts, N_IB_OPTS, ib, NULL);
	if (ib->window > 0 && ib->window < 3)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"window\": %d", ib->window),
				 errdetail("A window must hold at least 3 steps.")));
}

void
tsf_inner_origins(TsfSeriesState *st, TsfInnerBacktest *ib, int64 **out)
{
	int64		n = st->n;
	int64	   *ts;
	TsfFreq		freq;
	int64		klast;
	int64		last;
	int64	   *g;				/* the origins' grid steps */
	int			ng = 0;
	int64	   *o;
	int64		unit;

	tsf_check_memory(sizeof(int64) * ((double) n + ib->origins +
									  (double) ib->seasons * (2 * ib->around + 1)),
					 TSF_MEM_GRID, psprintf("The series has " INT64_FORMAT " points.", n));
	ts = palloc_extended(sizeof(int64) * n, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < n; i++)
		ts[i] = st->pts[i].ts;
	tsf_freq_infer(st->ts_type, ts, n, &freq);
	if (!tsf_freq_index(st->ts_type, &freq, ts[0], ts[n - 1], &klast))
		elog(ERROR, "point off the inferred grid");
	/* in buckets: the last origin ends a bucket, horizon buckets before the last complete one's end */
	unit = ib->bucket_steps > 0 ? ib->bucket_steps : 1;
	last = klast - ib->lag - (int64) ib->horizon * unit;
	if (ib->seasons > 0)
	{
		double		P = tsf_season_period(st->ts_type, &freq);

		if (P < 2)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"seasons\" needs the series' season"),
					 errdetail("The series' frequency (%s) has no season.",
							   tsf_freq_name(st->ts_type, &freq)),
					 errhint("Use \"origins\" instead.")));
		/*
		 * the seasons the series holds, at most those asked for (so that
		 * the spec works on a shorter window too): the oldest one's first
		 * origin keeps at least half the series, as the default origins
		 * do (a fit on a few rows can be explosive)
		 */
		while (ib->seasons > 1 &&
			   last - (int64) rint((ib->seasons - 1) * P) - (int64) ib->around * ib->every < klast / 2)
			ib->seasons--;
		if (last < 2)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("time series is too short for its inner backtest"),
					 errdetail("The series spans " INT64_FORMAT " steps.", klast + 1)));
		/* from the oldest season to the newest: increasing steps */
		g = palloc(sizeof(int64) * ib->seasons * (2 * ib->around + 1));
		for (int k = ib->seasons - 1; k >= 0; k--)
		{
			/* a whole number of buckets before the last (of steps without them) */
			int64		centre = last - unit * (int64) rint(k * P / unit);

			for (int j = -ib->around; j <= ib->around; j++)
			{
				int64		step = centre + (int64) j * ib->every;

				if (step < 2 || step > last || (ng > 0 && step <= g[ng - 1]))
					continue;
				g[ng++] = step;
			}
		}
		ib->origins = ng;
	}
	else
	{
		int64		first = last - (int64) (ib->origins - 1) * ib->every;

		/* the first origin's fit needs a few rows: 3 at the very least */
		if (first < 2)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("time series is too short for its inner backtest"),
					 errdetail("The series spans " INT64_FORMAT " steps; %d origins %d step%s apart, %d step%s before its end, would start at step " INT64_FORMAT ".",
							   klast + 1, ib->origins, ib->every, ib->every == 1 ? "" : "s",
							   ib->horizon, ib->horizon == 1 ? "" : "s", first + 1),
					 errhint("Use fewer \"origins\", or origins closer together.")));
		g = palloc(sizeof(int64) * ib->origins);
		for (int j = 0; j < ib->origins; j++)
			g[j] = first + (int64) j * ib->every;
		ng = ib->origins;
	}
	o = palloc(sizeof(int64) * ng);
	for (int j = 0; j < ng; j++)
		o[j] = tsf_freq_advance(st->ts_type, &freq, ts[0], g[j]);
	pfree(g);
	pfree(ts);
	*out = o;
}

/* ---- specs ---- */

/* a jsonb string */
Jsonb *
tsf_jsonb_string(const char *s)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = strlen(s);
	return JsonbValueToJsonb(&v);
}

/*
 * A member's (or a candidate's) spec, checked: a kind's, not a
 * combination's unless allow_combine (then its own members are not), with
 * the combination's fill, on the combination's grid or, with "bucket", on
 * the series' buckets (*on_buckets, their spec in *bucket).  Returns its
 * kind and, in *opts, its options as its fit takes them (with that fill,
 * without the bucket keys).
 */
const TsfKind *
tsf_member_spec_grid(Jsonb *spec, const char *what, int i, int fill, Jsonb **opts,
					 bool *on_buckets, TsfBucketSpec *bucket)
{
	const TsfKind *kind;
	int			device;
	int			mfill;
	bool		allow_combine = strcmp(what, "candidate") == 0;
	bool		has_bucket;
	TsfBucketSpec b;

	if (!JB_ROOT_IS_OBJECT(spec) || JB_ROOT_IS_SCALAR(spec))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s %d must be a spec, a jsonb object", what, i + 1),
				 errhint("For example: {\"kind\": \"ar\", \"harmonics\": 3}.")));
	/* on buckets: "bucket", "bucket_origin" and "aggregate", not the paths' keys */
	has_bucket = tsf_jsonb_key(spec, "bucket") != NULL;
	for (int k = 0; k < 2 && has_bucket; k++)
	{
		static const char *const path_keys[] = {"paths", "seed"};

		if (tsf_jsonb_key(spec, path_keys[k]) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s %d on buckets cannot have \"%s\"", what, i + 1, path_keys[k]),
					 errdetail("A member on buckets is fitted on the buckets' values; sample paths are the bucket forecast's settings."),
					 errhint("Give \"%s\" to forecast_buckets() or to the backtest.", path_keys[k])));
	}
	/* without "bucket" the spec is its kind's alone (an LSTM's "seed" too) */
	*on_buckets = has_bucket && tsf_bucket_settings(spec, &spec, &b, 0, true);
	if (bucket)
		*bucket = b;
	kind = tsf_job_parse_spec(spec, opts, &device);
	if (*on_buckets && kind == &tsf_kind_combine)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s %d: a combination cannot be on buckets", what, i + 1),
				 errhint("Set \"bucket\" on its members instead.")));
	if (kind == &tsf_kind_auto || (kind == &tsf_kind_combine && !allow_combine))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s %d cannot be of kind \"%s\"", what, i + 1, kind->name),
				 errdetail(allow_combine ?
						   "An automatic spec's candidates are models or combinations of them." :
						   "A combination's members are models, not combinations."),
				 errhint("List its members' specs instead.")));
	mfill = kind->check_options(*opts);
	if (tsf_jsonb_key(*opts, "fill") == NULL)
	{
		if (fill != TSF_FILL_NONE)
			*opts = tsf_jsonb_with_key(*opts, "fill", tsf_jsonb_string(tsf_fill_names[fill]));
	}
	else if (mfill != fill)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s %d has \"fill\": \"%s\", but the combination has \"%s\"",
						what, i + 1, tsf_fill_names[mfill], tsf_fill_names[fill]),
				 errhint("Set \"fill\" on the combination: its members take it.")));
	return kind;
}

const TsfKind *
tsf_member_spec(Jsonb *spec, const char *what, int i, int fill, Jsonb **opts)
{
	bool		on_buckets;

	return tsf_member_spec_grid(spec, what, i, fill, opts, &on_buckets, NULL);
}

/*
 * The spec an inner backtest of a member (or candidate) takes: its options
 * with its kind or, on buckets, a combination of it alone (the bucket keys
 * are a member's, not its kind's)
 */
Jsonb *
tsf_member_backtest_spec(Jsonb *spec, const char *what, int i, int fill)
{
	Jsonb	   *opts;
	bool		on_buckets;
	const TsfKind *mk = tsf_member_spec_grid(spec, what, i, fill, &opts, &on_buckets, NULL);
	Jsonb	   *wrap;

	if (!on_buckets)
		return tsf_jsonb_with_key(opts, "kind", tsf_jsonb_string(mk->name));
	/* {"kind": "combine", "fill": ..., "members": [spec]} */
	wrap = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(
		psprintf("{\"kind\": \"combine\", \"fill\": \"%s\", \"members\": [%s]}",
				 tsf_fill_names[fill], JsonbToCString(NULL, &spec->root, VARSIZE(spec))))));
	return wrap;
}

typedef struct CombineOptions
{
	int32		how;
	int32		fill;
	int			n;
	Jsonb	   *members[TSF_COMBINE_MAX_MEMBERS];
	TsfInnerBacktest inner;
	bool		has_inner;
} CombineOptions;

enum
{
	CO_MEMBERS, CO_HOW, CO_WEIGHTS_FROM, CO_FILL, N_CO_OPTS
};

/*
 * "members" and "weights_from" are read apart (they are a list and an
 * object) and taken out before the rest is parsed: their rows here name
 * them in the hint of an unknown key
 */
static const TsfOptDef co_opts[N_CO_OPTS] = {
	{"members", TSF_OPT_BOOL, 0, 0, 0, NULL},
	{"how", TSF_OPT_ENUM, offsetof(CombineOptions, how), 0, 0, tsf_combine_how_names},
	{"weights_from", TSF_OPT_BOOL, 0, 0, 0, NULL},
	{"fill", TSF_OPT_ENUM, offsetof(CombineOptions, fill), 0, 0, tsf_fill_names},
};

static Jsonb *
without_key(Jsonb *j, const char *key)
{
	return DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(j),
											  CStringGetTextDatum(key)));
}

/* the combination's options, and its members' specs checked */
static void
combine_parse(Jsonb *opts, CombineOptions *o)
{
	Jsonb	   *members;
	Jsonb	   *wf;
	Jsonb	   *rest;
	bool		seen[N_CO_OPTS];

	memset(o, 0, sizeof(*o));
	o->how = TSF_COMBINE_MEAN;
	o->fill = TSF_FILL_NONE;
	if (opts == NULL || (members = tsf_jsonb_key(opts, "members")) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a combination needs \"members\""),
				 errhint("Set \"members\" to an array of specs, e.g. [{\"kind\": \"ar\"}, {\"kind\": \"ar\", \"harmonics\": 3}].")));
	wf = tsf_jsonb_key(opts, "weights_from");
	rest = without_key(without_key(opts, "members"), "weights_from");
	tsf_parse_options(rest, co_opts, N_CO_OPTS, o, seen);
	if (wf != NULL && o->how != TSF_COMBINE_WEIGHTS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"weights_from\" needs \"how\": \"weights\"")));
	tsf_inner_parse(wf, "weights_from", &o->inner);
	o->has_inner = o->how == TSF_COMBINE_WEIGHTS;

	if (!JB_ROOT_IS_ARRAY(members) || JB_ROOT_IS_SCALAR(members) ||
		JB_ROOT_COUNT(members) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"members\" must be a non-empty array of specs")));
	if (JB_ROOT_COUNT(members) > TSF_COMBINE_MAX_MEMBERS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a combination has at most %d members", TSF_COMBINE_MAX_MEMBERS),
				 errdetail("The spec lists %u.", JB_ROOT_COUNT(members))));
	o->n = JB_ROOT_COUNT(members);
	for (int i = 0; i < o->n; i++)
	{
		JsonbValue *v = getIthJsonbValueFromContainer(&members->root, i);
		Jsonb	   *mopts;

		o->members[i] = JsonbValueToJsonb(v);
		(void) tsf_member_spec(o->members[i], "member", i, o->fill, &mopts);
	}
}

static int
combine_check_options(Jsonb *opts)
{
	CombineOptions o;

	combine_parse(opts, &o);
	return o.fill;
}

/* ---- fitting ---- */

/* the member an error is about */
typedef struct MemberContext
{
	const char *what;
	int			i;
	int			n;
} MemberContext;

static void
member_error_context(void *arg)
{
	MemberContext *c = (MemberContext *) arg;

	if (c->i >= 0)
		errcontext("%s %d of %d", c->what, c->i + 1, c->n);
}

/* squared errors of each member's inner backtest (TsfBtEmit) */
typedef struct InnerScore
{
	double		sse;
	int64		count;
} InnerScore;

static void
inner_emit(void *arg, int j, int64 origin, int h, int64 t, double v, double lo,
		   double hi, bool has_actual, double actual, double scale)
{
	InnerScore *s = (InnerScore *) arg;

	if (!isfinite(v))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("forecast is out of range at step %d", h + 1),
				 errdetail("The member's recursion overflowed float8 in the inner backtest.")));
	if (has_actual)
	{
		s->sse += (v - actual) * (v - actual);
		s->count++;
	}
}

/*
 * A member on buckets (a spec with "bucket"): fitted on the means (or
 * sums) of the complete buckets of the combination's series s (the data's
 * values, gaps filled as the combination fills them), each at its first
 * step's timestamp; its own "window" counts buckets.  Sets *off (the
 * combination's step of its first bucket's first step), *spb and *pending
 * (the sum of the values after the last complete bucket).
 */
static void
fit_bucket_member(const TsfSeries *s, int fill, const TsfBucketSpec *b, const TsfKind *mk,
				  Jsonb *opts, int i, TsfModel *mm, int64 *off, int64 *spb_out,
				  double *pending)
{
	int64		width;
	int64		spb = tsf_bucket_steps(b, s->ts_type, &s->freq, &width);
	int64		step = width / spb;
	Timestamp	origin = tsf_bucket_origin(b, s->ts_type, &s->freq);
	Timestamp	t0 = tsf_bucket_frame(s->ts_type, &s->freq, s->first_ts);
	Timestamp	f0 = tsf_bucket_floor(b, origin, t0);
	int64		phase,
				nb,
				rem,
				lastb;
	TsfSeriesState *bs;
	bytea	   *fitted;
	double		sum = 0;

	if (spb < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("member %d's bucket must span at least 2 steps of the series", i + 1),
				 errdetail("A bucket of one step is the series itself."),
				 errhint("Leave \"bucket\" out of the member's spec.")));
	if ((t0 - f0) % step != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the series' steps are not aligned with member %d's buckets", i + 1),
				 errhint("Set \"bucket_origin\" to one of the series' timestamps.")));
	/* the first complete bucket, how many there are, what is left after them */
	phase = (t0 == f0) ? 0 : spb - (t0 - f0) / step;
	nb = s->n > phase ? (s->n - phase) / spb : 0;
	if (nb < 3)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time series is too short for member %d's buckets", i + 1),
				 errdetail("The series holds " INT64_FORMAT " complete bucket%s of " INT64_FORMAT " steps; at least 3 are required.",
						   nb, nb == 1 ? "" : "s", spb)));
	rem = s->n - phase - nb * spb;
	tsf_check_memory(sizeof(TsfPoint) * 2.0 * nb, TSF_MEM_GRID,
					 psprintf("Member %d's " INT64_FORMAT " buckets.", i + 1, nb));
	bs = tsf_series_new(CurrentMemoryContext, s->ts_type);
	bs->fill = fill;
	bs->options = opts;
	for (int64 j = 0; j < nb; j++)
	{
		double		v = 0;

		for (int64 q = 0; q < spb; q++)
			v += s->y[phase + j * spb + q];
		if (b->aggregate == TSF_BUCKET_MEAN)
			v /= (double) spb;
		tsf_series_add(bs, tsf_freq_advance(s->ts_type, &s->freq, s->first_ts, phase + j * spb),
					   Float8GetDatum(v), false, false, NULL, 0);
		if ((j & 0xFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	fitted = mk->fit(bs, TSF_DEVICE_CPU, NULL);
	tsf_model_deserialize(VARDATA_ANY(fitted), VARSIZE_ANY_EXHDR(fitted), mm, ERRCODE_INTERNAL_ERROR);
	lastb = tsf_freq_advance(s->ts_type, &s->freq, s->first_ts, phase + (nb - 1) * spb);
	if (mm->ts_type != s->ts_type || mm->freq.unit != s->freq.unit ||
		mm->freq.step != s->freq.step * spb || mm->last_ts != lastb || mm->n > nb)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("member %d was fitted on another grid than its buckets'", i + 1),
				 errdetail("Its buckets are " INT64_FORMAT " steps of %s, the last from %s; the member is %s to %s.",
						   spb, tsf_freq_name(s->ts_type, &s->freq),
						   tsf_ts_to_cstring(s->ts_type, lastb),
						   tsf_freq_name(mm->ts_type, &mm->freq),
						   tsf_ts_to_cstring(mm->ts_type, mm->last_ts))));
	for (int64 q = s->n - rem; q < s->n; q++)
		sum += s->y[q];
	*off = phase + (nb - mm->n) * spb;
	*spb_out = spb;
	*pending = sum;
}

bytea *
tsf_combine_build(TsfSeriesState *st, const TsfKind *kind, Jsonb **specs, int n, int how,
				  const double *weight, const double *score,
				  const TsfInnerBacktest *inner, int fill, void *extra, instr_time t0)
{
	TsfCombine *C = palloc0(sizeof(TsfCombine));
	TsfSeries	s;
	TsfModel	m;
	MemberContext mc = {"member", -1, n};
	ErrorContextCallback errcb;

	/* the combination's grid: the whole training series' (its values for buckets) */
	tsf_series_sort(st);
	tsf_series_prepare(st, TSF_TRANSFORM_NONE, fill, &s);

	C->how = how;
	C->n = n;
	C->members = palloc0(sizeof(TsfModel) * n);
	C->offset = palloc0(sizeof(int64) * n);
	C->grid = palloc0(sizeof(int32) * n);
	C->spb = palloc0(sizeof(int64) * n);
	C->agg = palloc0(sizeof(int32) * n);
	C->pending = palloc0(sizeof(double) * n);
	C->weight = palloc0(sizeof(double) * n);
	C->score = palloc0(sizeof(double) * n);
	if (inner)
		C->inner = *inner;
	C->extra = extra;
	errcb.callback = member_error_context;
	errcb.arg = &mc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	for (int i = 0; i < n; i++)
	{
		TsfSeriesState sub = *st;	/* its own window of the same points */
		Jsonb	   *opts;
		const TsfKind *mk;
		bytea	   *b;
		TsfModel   *mm = &C->members[i];
		bool		on_buckets;
		TsfBucketSpec bspec;

		mc.i = i;
		CHECK_FOR_INTERRUPTS();
		mk = tsf_member_spec_grid(specs[i], kind == &tsf_kind_auto ? "candidate" : "member",
								  i, fill, &opts, &on_buckets, &bspec);
		C->weight[i] = weight ? weight[i] : 1.0 / n;
		C->score[i] = score ? score[i] : 0;
		C->spb[i] = 1;
		if (on_buckets)
		{
			C->grid[i] = TSF_MEMBER_BUCKETS;
			C->agg[i] = bspec.aggregate;
			fit_bucket_member(&s, fill, &bspec, mk, opts, i, mm, &C->offset[i], &C->spb[i],
							  &C->pending[i]);
			continue;
		}
		sub.options = opts;
		b = mk->fit(&sub, TSF_DEVICE_CPU, NULL);
		tsf_model_deserialize(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), mm, ERRCODE_INTERNAL_ERROR);
		if (mm->ts_type != s.ts_type || mm->freq.unit != s.freq.unit ||
			mm->freq.step != s.freq.step || mm->last_ts != s.last_ts ||
			!tsf_freq_index(s.ts_type, &s.freq, s.first_ts, mm->first_ts, &C->offset[i]) ||
			C->offset[i] < 0 || C->offset[i] + mm->n != s.n)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("member %d was fitted on another grid than the combination's", i + 1),
					 errdetail("The combination is %s from %s to %s; the member %s from %s to %s.",
							   tsf_freq_name(s.ts_type, &s.freq),
							   tsf_ts_to_cstring(s.ts_type, s.first_ts),
							   tsf_ts_to_cstring(s.ts_type, s.last_ts),
							   tsf_freq_name(mm->ts_type, &mm->freq),
							   tsf_ts_to_cstring(mm->ts_type, mm->first_ts),
							   tsf_ts_to_cstring(mm->ts_type, mm->last_ts))));
	}
	error_context_stack = errcb.previous;
	pfree(s.y);

	tsf_model_init(&m, kind, &s, TSF_TRANSFORM_NONE, fill, C);
	m.fitted_at = GetCurrentTransactionStartTimestamp();
	m.fit_seconds = tsf_seconds_since(t0);
	return tsf_model_serialize(&m);
}

/*
 * The inverse-MSE weights of the members (the file's header comment):
 * each member's inner backtest on st's rows
 */
static void
combine_weights(TsfSeriesState *st, CombineOptions *o, double *w, double *mse)
{
	int64	   *orig;
	MemberContext mc = {"member", -1, o->n};
	ErrorContextCallback errcb;
	double		sum = 0;
	int			zeros = 0;

	tsf_series_sort(st);
	tsf_inner_origins(st, &o->inner, &orig);
	errcb.callback = member_error_context;
	errcb.arg = &mc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	for (int i = 0; i < o->n; i++)
	{
		InnerScore sc = {0, 0};

		mc.i = i;
		tsf_backtest_inner(st, tsf_member_backtest_spec(o->members[i], "member", i, o->fill),
						   o->inner.horizon, o->inner.window, o->inner.refit_every,
						   o->inner.origins, orig, NULL, inner_emit, &sc);
		if (sc.count == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("the inner backtest of member %d scored no forecasts", i + 1),
					 errdetail("No forecast step of its origins has a value in the series.")));
		mse[i] = sc.sse / sc.count;
		if (mse[i] == 0)
			zeros++;
	}
	error_context_stack = errcb.previous;
	for (int i = 0; i < o->n; i++)
	{
		w[i] = zeros > 0 ? (mse[i] == 0 ? 1.0 : 0.0) : 1.0 / mse[i];
		sum += w[i];
	}
	for (int i = 0; i < o->n; i++)
		w[i] /= sum;
	pfree(orig);
}

static bytea *
combine_fit(TsfSeriesState *st, int device, const TsfTrainHooks *hooks)
{
	CombineOptions o;
	instr_time	t0;
	double		w[TSF_COMBINE_MAX_MEMBERS];
	double		mse[TSF_COMBINE_MAX_MEMBERS];

	INSTR_TIME_SET_CURRENT(t0);
	combine_parse(st->options, &o);
	if (st->ncov > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("a combination does not take covariates"),
				 errdetail("Its members would need the covariates' future values told apart.")));
	if (o.how == TSF_COMBINE_WEIGHTS)
		combine_weights(st, &o, w, mse);
	return tsf_combine_build(st, &tsf_kind_combine, o.members, o.n, o.how,
							 o.how == TSF_COMBINE_WEIGHTS ? w : NULL,
							 o.how == TSF_COMBINE_WEIGHTS ? mse : NULL,
							 o.has_inner ? &o.inner : NULL, o.fill, NULL, t0);
}

/* ---- the stored payload ---- */

static double
member_bytes(const TsfModel *mm)
{
	return (mm->n_after > 0 ? TSF_MODEL_HEADER_SIZE_V3 : TSF_MODEL_HEADER_SIZE) +
		mm->kind->stored_bytes(mm);
}

double
tsf_combine_payload_bytes(const TsfCombine *C)
{
	double		b = COMBINE_FIXED_SIZE +
		(C->how == TSF_COMBINE_WEIGHTS ? COMBINE_INNER_SIZE : 0);

	for (int i = 0; i < C->n; i++)
		b += COMBINE_MEMBER_SIZE + member_bytes(&C->members[i]) +
			(C->grid[i] == TSF_MEMBER_BUCKETS ? COMBINE_BUCKET_SIZE : 0);
	return b;
}

void
tsf_combine_payload_write(StringInfo b, const TsfCombine *C)
{
	tsf_write_u8(b, (uint8) C->how);
	tsf_write_u8(b, (uint8) C->n);
	if (C->how == TSF_COMBINE_WEIGHTS)
	{
		tsf_write_u32(b, (uint32) C->inner.horizon);
		tsf_write_u32(b, (uint32) C->inner.origins);
		tsf_write_u32(b, (uint32) C->inner.every);
		tsf_write_u32(b, (uint32) C->inner.refit_every);
		tsf_write_u32(b, (uint32) C->inner.window);
	}
	for (int i = 0; i < C->n; i++)
	{
		/* the member as it would be stored alone: its own checks ran */
		bytea	   *mb = tsf_model_serialize(&C->members[i]);

		tsf_write_u8(b, (uint8) C->grid[i]);
		tsf_write_i64(b, C->offset[i]);
		tsf_write_f64(b, C->weight[i]);
		tsf_write_f64(b, C->score[i]);
		if (C->grid[i] == TSF_MEMBER_BUCKETS)
		{
			tsf_write_i64(b, C->spb[i]);
			tsf_write_u8(b, (uint8) C->agg[i]);
			tsf_write_f64(b, C->pending[i]);
		}
		tsf_write_u32(b, (uint32) VARSIZE(mb) - VARHDRSZ);
		appendBinaryStringInfo(b, VARDATA(mb), VARSIZE(mb) - VARHDRSZ);
		pfree(mb);
	}
}

/*
 * Whether member mm's first timestamp is m's step off: exactly for a fixed
 * step (in integer arithmetic); for a calendar step (days, months: the
 * date arithmetic of the server, which the reader does not call) within
 * m's range, at m's first timestamp exactly when off is 0
 */
static bool
member_first_ok(const TsfModel *m, const TsfModel *mm, int64 off)
{
	if (m->freq.unit == TSF_FREQ_FIXED)
	{
		int64		delta,
					first;

		return !pg_mul_s64_overflow(off, m->freq.step, &delta) &&
			!pg_add_s64_overflow(m->first_ts, delta, &first) && first == mm->first_ts;
	}
	return mm->first_ts >= m->first_ts && mm->first_ts <= mm->last_ts &&
		(off == 0) == (mm->first_ts == m->first_ts);
}

/*
 * Whether member mm, its first step off steps after m's, lies on m's grid:
 * the same timestamps and frequency, training up to the same last step,
 * its state moved as far (model_update moves them together), its first
 * timestamp m's step off (member_first_ok)
 */
static bool
member_grid_ok(const TsfModel *m, const TsfModel *mm, int64 off)
{
	if (mm->ts_type != m->ts_type || mm->freq.unit != m->freq.unit ||
		mm->freq.step != m->freq.step || mm->n + off != m->n ||
		mm->last_ts != m->last_ts || mm->n_after != m->n_after)
		return false;
	return member_first_ok(m, mm, off);
}

/*
 * Whether member mm, on buckets of spb steps of m's grid, its first
 * bucket starting off steps after m's first step, lies on them: the same
 * timestamps, a step spb times m's, its buckets (those its state was moved
 * over too) ending within m's steps, less than a bucket before m's, its
 * first timestamp m's step off (member_first_ok).  *rem: m's steps after
 * its last bucket.
 */
static bool
bucket_grid_ok(const TsfModel *m, const TsfModel *mm, int64 off, int64 spb, int64 *rem)
{
	int64		mstep,
				end,
				cn = m->n + m->n_after;

	if (mm->ts_type != m->ts_type || mm->freq.unit != m->freq.unit ||
		pg_mul_s64_overflow(m->freq.step, spb, &mstep) || mm->freq.step != mstep ||
		mm->last_ts > m->last_ts || mm->n_after < 0 ||
		pg_mul_s64_overflow(mm->n + mm->n_after, spb, &end) ||
		pg_add_s64_overflow(end, off, &end) || end > cn || cn - end >= spb)
		return false;
	*rem = cn - end;
	return member_first_ok(m, mm, off);
}

/*
 * Every field checked, every member read as a whole model (model.c) one
 * level deeper and checked against the combination's grid: the same
 * timestamps and frequency, training up to the same last step, the state
 * moved as far (model_update moves them together)
 */
void
tsf_combine_payload_read(TsfReader *r, const TsfModel *m, TsfCombine *C)
{
	double		sum = 0;

	memset(C, 0, sizeof(*C));
	C->how = tsf_read_u8(r);
	C->n = tsf_read_u8(r);
	if (C->how > TSF_COMBINE_WEIGHTS)
		tsf_read_corrupt(r, "Unknown way of combining members.");
	if (C->n < 1 || C->n > TSF_COMBINE_MAX_MEMBERS)
		tsf_read_corrupt(r, "Invalid number of members.");
	if (m->transform != TSF_TRANSFORM_NONE)
		tsf_read_corrupt(r, "A combination has no transform of its own.");
	if (C->how == TSF_COMBINE_WEIGHTS)
	{
		C->inner.horizon = tsf_read_bounded(r, 1, 1000, "horizon");
		C->inner.origins = tsf_read_bounded(r, 1, 10000, "origins");
		C->inner.every = tsf_read_bounded(r, 1, 100000, "every");
		C->inner.refit_every = tsf_read_bounded(r, 1, 100000, "refit_every");
		C->inner.window = tsf_read_bounded(r, 0, TSF_MAX_POINTS, "window");
	}
	/* n is at most 8: these are small whatever the value */
	C->members = palloc0(sizeof(TsfModel) * C->n);
	C->offset = palloc0(sizeof(int64) * C->n);
	C->weight = palloc0(sizeof(double) * C->n);
	C->score = palloc0(sizeof(double) * C->n);
	C->grid = palloc0(sizeof(int32) * C->n);
	C->spb = palloc0(sizeof(int64) * C->n);
	C->agg = palloc0(sizeof(int32) * C->n);
	C->pending = palloc0(sizeof(double) * C->n);
	for (int i = 0; i < C->n; i++)
	{
		TsfModel   *mm = &C->members[i];
		uint32		len;
		int64		off;
		int64		rem = 0;

		C->grid[i] = tsf_read_u8(r);
		if (C->grid[i] > TSF_MEMBER_BUCKETS)
			tsf_read_corrupt(r, "Unknown grid of a member.");
		off = tsf_read_i64(r);
		C->weight[i] = tsf_read_finite(r, "weight");
		C->score[i] = tsf_read_finite(r, "score");
		C->spb[i] = 1;
		if (C->grid[i] == TSF_MEMBER_BUCKETS)
		{
			C->spb[i] = tsf_read_i64(r);
			C->agg[i] = tsf_read_u8(r);
			C->pending[i] = tsf_read_finite(r, "pending");
			if (C->spb[i] < 2 || C->spb[i] > TSF_MAX_POINTS || C->agg[i] > TSF_BUCKET_SUM)
				tsf_read_corrupt(r, "Invalid buckets of a member.");
		}
		len = tsf_read_u32(r);
		if (C->weight[i] < 0 || C->weight[i] > 1 || C->score[i] < 0)
			tsf_read_corrupt(r, "Invalid member weight or score.");
		if (off < 0 || off >= m->n)
			tsf_read_corrupt(r, "Invalid member offset.");
		tsf_read_nested(r, len, mm);
		/* members are written from 0.6.0 on: never in version 1 */
		if (mm->format_version < 2)
			tsf_read_corrupt(r, "A member's format version is older than its combination's.");
		if (C->grid[i] == TSF_MEMBER_SAME_GRID ? !member_grid_ok(m, mm, off) :
			!bucket_grid_ok(m, mm, off, C->spb[i], &rem))
			tsf_read_corrupt(r, "A member's grid does not match the combination's.");
		if (rem == 0 && C->pending[i] != 0)
			tsf_read_corrupt(r, "A member on buckets has a pending sum but no pending steps.");
		if (mm->kind->n_covariates(mm) != 0)
			tsf_read_corrupt(r, "A member of a combination has covariates.");
		C->offset[i] = off;
		sum += C->weight[i];
	}
	if (fabs(sum - 1.0) > 1e-9)
		tsf_read_corrupt(r, "The members' weights do not sum to 1.");
}

void
tsf_combine_payload_free(TsfCombine *C)
{
	for (int i = 0; i < C->n; i++)
		tsf_model_free(&C->members[i]);
	pfree(C->members);
	pfree(C->offset);
	pfree(C->weight);
	pfree(C->score);
	pfree(C->grid);
	pfree(C->spb);
	pfree(C->agg);
	pfree(C->pending);
}

static double
combine_stored_bytes(const TsfModel *m)
{
	return tsf_combine_payload_bytes(combine_of(m));
}

static void
combine_write(StringInfo b, const TsfModel *m)
{
	tsf_combine_payload_write(b, combine_of(m));
}

static void
combine_read(TsfReader *r, TsfModel *m)
{
	TsfCombine *C = palloc0(sizeof(TsfCombine));

	tsf_combine_payload_read(r, m, C);
	m->payload = C;
}

static void
combine_free(TsfModel *m)
{
	tsf_combine_payload_free(combine_of(m));
	pfree(m->payload);
}

/* ---- views ---- */

double
tsf_combine_json_numbers(const TsfModel *m)
{
	const TsfCombine *C = combine_of(m);
	double		n = 0;

	for (int i = 0; i < C->n; i++)
		n += 8 + C->members[i].kind->json_numbers(&C->members[i]) + 32;
	return n;
}

void
tsf_combine_payload_json(TsfJson *js, const TsfCombine *C, bool full)
{
	tsf_json_kv_str(js, "how", tsf_combine_how_names[C->how]);
	if (C->how == TSF_COMBINE_WEIGHTS)
	{
		tsf_json_key(js, "weights_from");
		tsf_json_begin_object(js);
		tsf_json_kv_int(js, "horizon", C->inner.horizon);
		tsf_json_kv_int(js, "origins", C->inner.origins);
		tsf_json_kv_int(js, "every", C->inner.every);
		tsf_json_kv_int(js, "refit_every", C->inner.refit_every);
		tsf_json_kv_int(js, "window", C->inner.window);
		tsf_json_end_object(js);
	}
	tsf_json_kv_doubles(js, "weights", C->weight, C->n);
	tsf_json_key(js, "members");
	tsf_json_begin_array(js);
	for (int i = 0; i < C->n; i++)
	{
		tsf_json_begin_object(js);
		tsf_json_kv_num(js, "weight", C->weight[i]);
		if (C->how == TSF_COMBINE_WEIGHTS)
			tsf_json_kv_num(js, "inner_mse", C->score[i]);
		tsf_json_kv_int(js, "offset", C->offset[i]);
		if (C->grid[i] == TSF_MEMBER_BUCKETS)
		{
			/* the keys of a member on buckets only: others show as before */
			tsf_json_kv_str(js, "grid", "buckets");
			tsf_json_kv_int(js, "bucket_steps", C->spb[i]);
			tsf_json_kv_str(js, "aggregate", tsf_bucket_agg_names[C->agg[i]]);
			tsf_json_kv_num(js, "pending_sum", C->pending[i]);
		}
		tsf_json_key(js, "model");
		tsf_model_view(js, &C->members[i], full);
		tsf_json_end_object(js);
	}
	tsf_json_end_array(js);
}

static void
combine_to_jsonb(TsfJson *js, const TsfModel *m, bool full)
{
	tsf_combine_payload_json(js, combine_of(m), full);
}

/* ---- inference ---- */

int
tsf_combine_n_covariates(const TsfModel *m)
{
	return 0;
}

double
tsf_combine_forecast_bytes(const TsfModel *m, int horizon, char **detail)
{
	const TsfCombine *C = combine_of(m);
	double		b = sizeof(double) * 3.0 * (C->n + 1) * horizon;

	for (int i = 0; i < C->n; i++)
		b += C->members[i].kind->forecast_bytes(&C->members[i], horizon, detail);
	return b;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* the combination of the n values v (C's weights), scratch (n) for the median */
static double
combine_values(const TsfCombine *C, const double *v, double *scratch)
{
	double		s = 0;

	switch (C->how)
	{
		case TSF_COMBINE_MEAN:
			for (int i = 0; i < C->n; i++)
				s += v[i];
			return s / C->n;
		case TSF_COMBINE_MEDIAN:
			memcpy(scratch, v, sizeof(double) * C->n);
			qsort(scratch, C->n, sizeof(double), cmp_double);
			return C->n % 2 == 1 ? scratch[C->n / 2] :
				(scratch[C->n / 2 - 1] + scratch[C->n / 2]) / 2.0;
		default:
			for (int i = 0; i < C->n; i++)
				s += C->weight[i] * v[i];
			return s;
	}
}

/* ---- members on buckets ---- */

bool
tsf_combine_has_buckets(const TsfCombine *C)
{
	for (int i = 0; i < C->n; i++)
		if (C->grid[i] == TSF_MEMBER_BUCKETS)
			return true;
	return false;
}

/*
 * The step of bucket member i (0: the bucket the combination's next step
 * is in, the one after its last complete bucket) that the combination's
 * step k lies in; mnext the member's next step
 */
static inline int64
bucket_step_of(const TsfCombine *C, int i, int64 mnext, int64 k)
{
	return (k - C->offset[i]) / C->spb[i] - mnext;
}

/* what of a bucket member i's value each step of its bucket takes: all of a mean, a share of a sum */
static inline double
bucket_share(const TsfCombine *C, int i)
{
	return C->agg[i] == TSF_BUCKET_SUM ? 1.0 / C->spb[i] : 1.0;
}

/* how many of its steps bucket member i forecasts for the combination's next horizon */
static int
bucket_member_horizon(const TsfModel *m, const TsfCombine *C, int i, int horizon)
{
	return (int) bucket_step_of(C, i, tsf_model_next_step(&C->members[i]),
								tsf_model_next_step(m) + horizon - 1) + 1;
}

/*
 * A member on buckets forecasts the combination's steps as its buckets'
 * values spread over their steps: each step is its bucket's mean (the
 * bucket's sum / steps, for sums), so that a bucket of the combination's
 * steps adds up to the member's forecast of it.  The bucket the
 * combination's last step is in is forecast whole (its steps seen so far
 * are not taken out of it).  Its values back-transformed, checked.
 */
static void
bucket_member_forecast(const TsfModel *m, const TsfCombine *C, int i, int horizon,
					   double level, double *a, double *l, double *u)
{
	const TsfModel *mm = &C->members[i];
	int			mh = bucket_member_horizon(m, C, i, horizon);
	int64		next = tsf_model_next_step(m);
	int64		mnext = tsf_model_next_step(mm);
	double		share = bucket_share(C, i);
	double	   *b = palloc(sizeof(double) * 3 * (Size) mh);

	mm->kind->forecast(mm, mh, level, NULL, b, b + mh, b + 2 * mh);
	for (int q = 0; q < 3 * mh; q++)
	{
		b[q] = tsf_back_transform(mm->transform, b[q]);
		tsf_check_forecast_value(b[q], q % mh + 1);
	}
	for (int h = 0; h < horizon; h++)
	{
		int64		q = bucket_step_of(C, i, mnext, next + h);

		a[h] = b[q] * share;
		l[h] = b[mh + q] * share;
		u[h] = b[2 * mh + q] * share;
		if ((h & 0xFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(b);
}

/* the same for npaths sample paths (npaths, horizon) on the data's scale */
static void
bucket_member_paths(const TsfModel *m, const TsfCombine *C, int i, int horizon, int npaths,
					uint64 seed, double *p)
{
	const TsfModel *mm = &C->members[i];
	int			mh = bucket_member_horizon(m, C, i, horizon);
	int64		next = tsf_model_next_step(m);
	int64		mnext = tsf_model_next_step(mm);
	double		share = bucket_share(C, i);
	double	   *b = palloc_extended(sizeof(double) * (Size) npaths * mh, MCXT_ALLOC_HUGE);
	int64	   *q = palloc(sizeof(int64) * horizon);

	mm->kind->simulate(mm, mh, npaths, seed, NULL, b);
	for (int h = 0; h < horizon; h++)
		q[h] = bucket_step_of(C, i, mnext, next + h);
	for (int j = 0; j < npaths; j++)
	{
		double	   *bj = b + (Size) j * mh;

		for (int s = 0; s < mh; s++)
		{
			bj[s] = tsf_back_transform(mm->transform, bj[s]);
			tsf_check_forecast_value(bj[s], s + 1);
		}
		for (int h = 0; h < horizon; h++)
			p[(Size) j * horizon + h] = bj[q[h]] * share;
		if ((j & 0xFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(q);
	pfree(b);
}

/*
 * predict() of a member on buckets: each row's bucket's one-step
 * prediction from the buckets before it (the member's own predict() over
 * the rows' buckets, a bucket's value its rows' mean or sum, missing
 * unless all its steps are there with values), spread over the bucket's
 * steps as its forecasts are; NULL before the member's first bucket and
 * where its prediction is.  The rows are in ts order (predict.c, and a
 * job's sorted points).  mk, my: scratch of rows values.
 */
static void
bucket_member_predict(const TsfCombine *C, int i, int64 rows, const int64 *k,
					  const double *y, const bool *ynull, int64 *mk, double *my,
					  double *pred, bool *isnull)
{
	const TsfModel *mm = &C->members[i];
	int64		spb = C->spb[i];
	int64		off = C->offset[i];
	double		share = bucket_share(C, i);
	int64		nb = 0;
	int64	   *count;
	bool	   *bnull;
	double	   *bpred;
	bool	   *bpnull;
	int64		b;

	tsf_check_memory((sizeof(int64) + 2 * sizeof(bool) + sizeof(double)) * (double) Max(rows, 1),
					 TSF_MEM_PREDICT,
					 psprintf("The window partition has " INT64_FORMAT " rows, for a member on buckets.",
							  rows));
	count = palloc_extended(sizeof(int64) * Max(rows, 1), MCXT_ALLOC_HUGE);
	bnull = palloc_extended(sizeof(bool) * Max(rows, 1), MCXT_ALLOC_HUGE);
	bpred = palloc_extended(sizeof(double) * Max(rows, 1), MCXT_ALLOC_HUGE);
	bpnull = palloc_extended(sizeof(bool) * Max(rows, 1), MCXT_ALLOC_HUGE);
	/* the rows' buckets, in order: mk their member steps, my their sums */
	for (int64 r = 0; r < rows; r++)
	{
		int64		j;

		if (k[r] < off)
			continue;
		j = (k[r] - off) / spb;
		if (nb == 0 || mk[nb - 1] != j)
		{
			mk[nb] = j;
			my[nb] = 0;
			count[nb] = 0;
			bnull[nb] = false;
			nb++;
		}
		count[nb - 1]++;
		if (ynull && ynull[r])
			bnull[nb - 1] = true;
		else
			my[nb - 1] += y[r];
		if ((r & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	for (b = 0; b < nb; b++)
	{
		double		v = C->agg[i] == TSF_BUCKET_MEAN ? my[b] / (double) spb : my[b];

		bnull[b] = bnull[b] || count[b] != spb ||
			(mm->transform == TSF_TRANSFORM_LOG && !(v > 0));
		my[b] = bnull[b] ? 0 : tsf_apply_transform(mm->transform, v);
	}
	if (nb > 0)
		mm->kind->predict(mm, nb, mk, my, bnull, NULL, bpred, bpnull);
	b = 0;
	for (int64 r = 0; r < rows; r++)
	{
		isnull[r] = true;
		if (k[r] < off)
			continue;
		while (mk[b] != (k[r] - off) / spb)
			b++;
		isnull[r] = bpnull[b];
		if (!isnull[r])
			pred[r] = bpred[b] * share;
	}
	pfree(count);
	pfree(bnull);
	pfree(bpred);
	pfree(bpnull);
}

/*
 * model_update() of a member on buckets: the new rows (which must be
 * every step after the combination's last, update.c having checked that
 * they come after it) added to the bucket in progress; each bucket they
 * complete goes to the member's own update as its next step, the rest is
 * the pending sum.  mk, my: scratch of rows values.
 */
static void
bucket_member_update(TsfModel *m, TsfCombine *C, int i, int64 rows, const int64 *k,
					 const double *y, int64 *mk, double *my)
{
	TsfModel   *mm = &C->members[i];
	int64		spb = C->spb[i];
	int64		next = tsf_model_next_step(m);
	int64		mnext = tsf_model_next_step(mm);
	int64		done = next - (C->offset[i] + mnext * spb);
	double		sum = C->pending[i];
	int64		nb = 0;

	if (k[0] != next || k[rows - 1] - k[0] != rows - 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("member %d of the combination is on buckets: it needs every step after the model's last one", i + 1),
				 errdetail("The new rows are " INT64_FORMAT " over " INT64_FORMAT " steps, from step " INT64_FORMAT " after the model's last.",
						   rows, k[rows - 1] - k[0] + 1, k[0] - next + 1),
				 errhint("Pass the rows from the step after the model's last one, without gaps (a \"fill\" fills them).")));
	for (int64 r = 0; r < rows; r++)
	{
		sum += y[r];
		if (++done < spb)
			continue;
		if (C->agg[i] == TSF_BUCKET_MEAN)
			sum /= (double) spb;
		if (mm->transform == TSF_TRANSFORM_LOG && !(sum > 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_ARGUMENT_FOR_LOG),
					 errmsg("cannot apply the log transform to a value that is not positive"),
					 errdetail("Member %d of the combination has the log transform; the bucket ending at row " INT64_FORMAT " is %g.",
							   i + 1, r + 1, sum)));
		mk[nb] = mnext + nb;
		my[nb] = tsf_apply_transform(mm->transform, sum);
		nb++;
		sum = 0;
		done = 0;
		if ((r & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	if (nb > 0)
	{
		mm->kind->update(mm, nb, mk, my, NULL);
		mm->n_after = (mnext + nb - 1) - (mm->n - 1);
	}
	C->pending[i] = sum;
}

/*
 * The members' forecasts, back-transformed, combined: the point forecasts
 * and the bounds each (the file's header comment says what the interval
 * is).  The combination's transform is none: forecast.c leaves these be.
 */
void
tsf_combine_forecast(const TsfModel *m, int horizon, double level, const double *fcov,
					 double *mean, double *lo, double *hi)
{
	const TsfCombine *C = combine_of(m);
	int			n = C->n;
	double	   *fm = palloc(sizeof(double) * n * (Size) horizon);	/* (n, horizon) */
	double	   *fl = palloc(sizeof(double) * n * (Size) horizon);
	double	   *fh = palloc(sizeof(double) * n * (Size) horizon);
	double		v[TSF_COMBINE_MAX_MEMBERS],
				scratch[TSF_COMBINE_MAX_MEMBERS];

	for (int i = 0; i < n; i++)
	{
		const TsfModel *mm = &C->members[i];
		double	   *a = fm + (Size) i * horizon,
				   *l = fl + (Size) i * horizon,
				   *u = fh + (Size) i * horizon;

		if (C->grid[i] == TSF_MEMBER_BUCKETS)
		{
			bucket_member_forecast(m, C, i, horizon, level, a, l, u);
			continue;
		}

		CHECK_FOR_INTERRUPTS();
		mm->kind->forecast(mm, horizon, level, NULL, a, l, u);
		for (int h = 0; h < horizon; h++)
		{
			a[h] = tsf_back_transform(mm->transform, a[h]);
			l[h] = tsf_back_transform(mm->transform, l[h]);
			u[h] = tsf_back_transform(mm->transform, u[h]);
			tsf_check_forecast_value(a[h], h + 1);
			tsf_check_forecast_value(l[h], h + 1);
			tsf_check_forecast_value(u[h], h + 1);
		}
	}
	for (int h = 0; h < horizon; h++)
	{
		for (int i = 0; i < n; i++)
			v[i] = fm[(Size) i * horizon + h];
		mean[h] = combine_values(C, v, scratch);
		for (int i = 0; i < n; i++)
			v[i] = fl[(Size) i * horizon + h];
		lo[h] = combine_values(C, v, scratch);
		for (int i = 0; i < n; i++)
			v[i] = fh[(Size) i * horizon + h];
		hi[h] = combine_values(C, v, scratch);
		if ((h & 0xFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(fm);
	pfree(fl);
	pfree(fh);
}

/*
 * Sample paths of a combination: every member's npaths paths drawn with
 * the combination's seed (each member from its own generator seeded with
 * it: common random numbers, so one member's paths are the combination's
 * and identical members give identical paths), back-transformed to the
 * data's scale (members may differ in transform; the combination's own
 * transform is none, so forecast.c leaves these be), and combined path by
 * path and step by step with the combination's rule: the mean, the
 * weighted mean, or the median of the members' values.
 */
void
tsf_combine_simulate(const TsfModel *m, int horizon, int npaths, uint64 seed,
					 const double *fcov, double *paths)
{
	const TsfCombine *C = combine_of(m);
	int			n = C->n;
	Size		nz = (Size) npaths * horizon;
	bool		median = C->how == TSF_COMBINE_MEDIAN;
	int			nbuf = median ? n : 1;
	double	   *buf;
	double		v[TSF_COMBINE_MAX_MEMBERS],
				scratch[TSF_COMBINE_MAX_MEMBERS];

	for (int i = 0; i < n; i++)
		if (C->members[i].kind->simulate == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("bucket forecasts of %s models are not supported",
							C->members[i].kind->name),
					 errdetail("Member %d of the combination has no sample paths.", i + 1)));
	tsf_check_memory(sizeof(double) * (double) nz * (nbuf + (tsf_combine_has_buckets(C) ? 1 : 0)),
					 TSF_MEM_FORECAST,
					 psprintf("%d sample paths of %d steps for each of %d members.",
							  npaths, horizon, n));
	buf = palloc_extended(sizeof(double) * nz * nbuf, MCXT_ALLOC_HUGE);
	if (!median)
		for (Size q = 0; q < nz; q++)
			paths[q] = 0.0;
	for (int i = 0; i < n; i++)
	{
		const TsfModel *mm = &C->members[i];
		double	   *p = median ? buf + nz * i : buf;
		double		w = C->how == TSF_COMBINE_WEIGHTS ? C->weight[i] : 1.0 / n;

		CHECK_FOR_INTERRUPTS();
		if (C->grid[i] == TSF_MEMBER_BUCKETS)
			bucket_member_paths(m, C, i, horizon, npaths, seed, p);
		else
			mm->kind->simulate(mm, horizon, npaths, seed, NULL, p);
		for (Size q = 0; q < nz; q++)
		{
			if (C->grid[i] != TSF_MEMBER_BUCKETS)
			{
				p[q] = tsf_back_transform(mm->transform, p[q]);
				tsf_check_forecast_value(p[q], (int) (q % horizon) + 1);
			}
			if (!median)
				paths[q] += n == 1 ? p[q] : w * p[q];
			if ((q & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
		}
	}
	if (median)
		for (Size q = 0; q < nz; q++)
		{
			for (int i = 0; i < n; i++)
				v[i] = buf[nz * i + q];
			paths[q] = combine_values(C, v, scratch);
			if ((q & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
		}
	pfree(buf);
}

/* a member's rows: its grid steps, its transform of the values */
static void
member_rows(const TsfModel *m, const TsfModel *mm, int64 off, int64 rows, const int64 *k,
			const double *y, const bool *ynull, int64 *mk, double *my)
{
	for (int64 i = 0; i < rows; i++)
	{
		mk[i] = k[i] - off;
		if (ynull && ynull[i])
		{
			my[i] = 0;
			continue;
		}
		if (mm->transform == TSF_TRANSFORM_LOG && !(y[i] > 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_ARGUMENT_FOR_LOG),
					 errmsg("cannot apply the log transform to a value that is not positive"),
					 errdetail("A member of the combination has the log transform; the value at row " INT64_FORMAT " is %g.",
							   i + 1, y[i])));
		my[i] = tsf_apply_transform(mm->transform, y[i]);
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
}

void
tsf_combine_predict(const TsfModel *m, int64 rows, const int64 *k, const double *y,
					const bool *ynull, const double *cov, double *pred, bool *isnull)
{
	const TsfCombine *C = combine_of(m);
	int			n = C->n;
	int64	   *mk;
	double	   *my;
	double	   *mp;				/* (n, rows) */
	bool	   *mn;				/* (n, rows) */
	double		v[TSF_COMBINE_MAX_MEMBERS],
				scratch[TSF_COMBINE_MAX_MEMBERS];

	tsf_check_memory((sizeof(int64) + sizeof(double) +
					  n * (sizeof(double) + sizeof(bool))) * (double) Max(rows, 1),
					 TSF_MEM_PREDICT,
					 psprintf("The window partition has " INT64_FORMAT " rows, for %d members.",
							  rows, n));
	mk = palloc_extended(sizeof(int64) * Max(rows, 1), MCXT_ALLOC_HUGE);
	my = palloc_extended(sizeof(double) * Max(rows, 1), MCXT_ALLOC_HUGE);
	mp = palloc_extended(sizeof(double) * n * (Size) Max(rows, 1), MCXT_ALLOC_HUGE);
	mn = palloc_extended(sizeof(bool) * n * (Size) Max(rows, 1), MCXT_ALLOC_HUGE);
	for (int i = 0; i < n; i++)
	{
		const TsfModel *mm = &C->members[i];

		if (C->grid[i] == TSF_MEMBER_BUCKETS)
		{
			bucket_member_predict(C, i, rows, k, y, ynull, mk, my, mp + (Size) i * rows,
								  mn + (Size) i * rows);
			continue;
		}
		member_rows(m, mm, C->offset[i], rows, k, y, ynull, mk, my);
		mm->kind->predict(mm, rows, mk, my, ynull, NULL, mp + (Size) i * rows,
						  mn + (Size) i * rows);
	}
	for (int64 r = 0; r < rows; r++)
	{
		bool		null = false;

		for (int i = 0; i < n && !null; i++)
		{
			null = mn[(Size) i * rows + r];
			v[i] = mp[(Size) i * rows + r];
		}
		isnull[r] = null;
		if (!null)
			pred[r] = tsf_check_prediction(combine_values(C, v, scratch), r);
		if ((r & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(mk);
	pfree(my);
	pfree(mp);
	pfree(mn);
}

/*
 * Every member's state moves over the same rows (on its own grid steps,
 * with its own transform), and as far as the combination's (update.c sets
 * the combination's n_after after this: the members' are set here)
 */
void
tsf_combine_update(TsfModel *m, int64 rows, const int64 *k, const double *y,
				   const double *cov)
{
	TsfCombine *C = combine_of(m);
	int64	   *mk;
	double	   *my;

	tsf_check_memory((sizeof(int64) + sizeof(double)) * (double) Max(rows, 1), TSF_MEM_GRID,
					 psprintf("The new rows span " INT64_FORMAT " steps.", rows));
	mk = palloc_extended(sizeof(int64) * Max(rows, 1), MCXT_ALLOC_HUGE);
	my = palloc_extended(sizeof(double) * Max(rows, 1), MCXT_ALLOC_HUGE);
	for (int i = 0; i < C->n; i++)
	{
		TsfModel   *mm = &C->members[i];

		if (C->grid[i] == TSF_MEMBER_BUCKETS)
		{
			bucket_member_update(m, C, i, rows, k, y, mk, my);
			continue;
		}
		member_rows(m, mm, C->offset[i], rows, k, y, NULL, mk, my);
		mm->kind->update(mm, rows, mk, my, NULL);
		mm->n_after = (k[rows - 1] - C->offset[i]) - (mm->n - 1);
	}
	pfree(mk);
	pfree(my);
}

/* ---- a job's scoring and provenance ---- */

int64
tsf_combine_scored_from(const TsfModel *m)
{
	return 0;
}

void
tsf_combine_job_metrics(TsfJson *js, const TsfModel *m)
{
}

bool
tsf_combine_seed(const TsfModel *m, int32 *seed)
{
	return false;
}

const TsfKind tsf_kind_combine = {
	.id = 3,
	.name = "combine",
	.gpu = false,
	.check_options = combine_check_options,
	.fit = combine_fit,
	.fit_batch = NULL,
	.stored_bytes = combine_stored_bytes,
	.write = combine_write,
	.read = combine_read,
	.free = combine_free,
	.json_numbers = tsf_combine_json_numbers,
	.to_jsonb = combine_to_jsonb,
	.n_covariates = tsf_combine_n_covariates,
	.forecast_bytes = tsf_combine_forecast_bytes,
	.forecast = tsf_combine_forecast,
	.simulate = tsf_combine_simulate,
	.predict = tsf_combine_predict,
	.update = tsf_combine_update,
	.scored_from = tsf_combine_scored_from,
	.job_metrics = tsf_combine_job_metrics,
	.seed = tsf_combine_seed,
};

/*
 * model_auto.c
 *		The automatic spec, {"kind": "auto"}: at fit time, a backtest of
 *		each of a set of candidate specs on the training rows only (the
 *		inner backtest), and the model of the best of them, or of the mean
 *		of the best few, fitted on the training rows.
 *
 *		spec: {"kind": "auto",
 *		       "horizon": 1,          lead times scored (1 .. h), pooled
 *		       "origins": N,          inner origins, the last "horizon"
 *		       "every": 1,            steps before the last training row,
 *		       "refit_every": r,      N of them "every" steps apart, the
 *		                              candidate refitted every r-th
 *		       "combine_top": 3,      also score the mean of the best 2 .. 3
 *		       "lstm": false,         add the default LSTM to the default set
 *		       "candidates": [spec, ...],  instead of the default set
 *		       "seasons": Y,          instead of "origins": the origins
 *		       "around": 4,           within 4 steps of the same point of
 *		                              the season in each of the last Y
 *		       "bucket": "7 days",    score bucket forecasts instead
 *		       "bucket_origin", "paths": 500, "seed": 1, "aggregate":
 *		                              those of the inner bucket forecasts
 *		       "fill": "none"}
 *
 * Defaults, from the series' season (P steps: its frequency's, e.g. 52.18
 * for weekly data; none for an integer index or a fixed step without one):
 * N = 2P origins (20 without a season), capped to what the series holds;
 * r = P/4 rounded (13 for weekly data; 1 without a season), the candidate
 * moved on over the rows between refits (model_update()) at the others.
 *
 * The default candidates are AR models, orders by AIC as ar_fit chooses
 * them: K = 0, 2, 3, 4 harmonics of the season (those the season admits:
 * 2K < P; only 0 without a season) x the transform none and log (log only
 * where every value is positive) x the training window all, the last 5P
 * and the last 10P steps ("window", only where shorter than the series):
 * up to 24.  "lstm": true adds {"kind": "lstm"} (one network trained per
 * refit: that is the cost).  Each candidate is scored by its pooled MAE
 * over every (origin, step) whose target has a value, on the data's scale
 * (one whose inner forecasts overflow, an explosive fit, is not scored);
 * then the means of the best 2 .. combine_top (their inner forecasts are
 * those means: no more fits).  The lowest MAE wins (ties: the first
 * listed, singles before means).
 *
 * Cost: candidates x ceil(N / r) fits, and candidates x N forecasts, on
 * top of the chosen model's fit (README, "The automatic spec").
 *
 * With "bucket" (a daily series forecasting weekly means, say) each
 * candidate forecasts the next "horizon" buckets from each inner origin
 * (forecast_buckets(): the median of "paths" sample paths' bucket means,
 * 500 by default, seed 1), scored against the buckets' means (complete
 * buckets only), as backtest() with "bucket" does.  Horizon, "every" and
 * "around" count buckets; every origin ends a bucket: the last one
 * "horizon" buckets before the end of the series' last complete bucket,
 * the seasons' centres whole buckets before it.  The defaults take the
 * season in buckets (Pb = P / steps a bucket: 52.18 weeks of days):
 * N = 2 Pb origins (104), r = Pb / 4 (13).  The default candidates are AR
 * models on the log (where every value is positive, else no transform) of
 * orders by AIC, 1 and 2 buckets' worth of steps (7, 14 for days in
 * weeks), x 2, 3, 4 harmonics (those the season admits) x windows of 3, 5
 * and 10 seasons (all the series where it is shorter; duplicates dropped;
 * a fixed order only where its window, or half the series, holds twice the
 * 2p + 2K + 2 rows its fit needs), each with the constant variance and
 * with "variance": "level" (the innovations' variance a function of the
 * previous value and the season: it shapes the paths, so the buckets'
 * medians): at most 54, 3 x 3 x 3 x 2 on ten years of days or more; and
 * models of the buckets themselves, members on buckets (model_combine.c:
 * a weekly log AR of the weeks' means, orders by AIC, 3 harmonics of the
 * season in buckets where it admits them, on all the buckets and on the
 * last 5 and 10 seasons of them): 3 more; "lstm": true adds the LSTM.  The means of the best few are scored on the means of their
 * bucket forecasts (no more fits), where the stored combination's bucket
 * forecast is the median of its mean paths: close, not the same.  Cost on
 * 31 years of Verde days (11,556) with the default 104 origins: 27 x 8
 * fits and 27 x 104 bucket forecasts of 500 paths, 1.6 s on this machine.
 *
 * The stored model has the kind "auto": the combination (model_combine.c)
 * of the chosen candidate (one member) or of the best few (their mean),
 * every member fitted on all the training rows, with the record of the
 * choice before it.  model_info shows it under "auto": the inner
 * backtest's settings and origins, each candidate's spec (as text) and
 * MAE, the chosen one; forecasts, predictions and updates are the
 * combination's.
 *
 * Stored payload (after model.c's header):
 *
 *	size	field
 *	28		the inner backtest: horizon, origins, every (steps),
 *			refit_every, seasons (0: none), around (0 without seasons),
 *			bucket steps (0: steps scored, else a divisor of every)
 *			(u32)
 *	16		its first and last origin (the ts type's unit, within the
 *			training range)
 *	4		n, candidates scored (1 .. TSF_AUTO_MAX_SCORED)
 *	4		chosen, the winner's index (< n)
 *	per candidate:
 *	4		len (1 .. TSF_AUTO_MAX_SPEC)
 *	len		its spec, JSON text, printable ASCII (every valid spec is:
 *			its keys and names are)
 *	8		MAE (float8, finite, >= 0; 0 when not scored)
 *	4		the forecasts it was scored on (0: not scored, its forecasts
 *			were not finite: an explosive fit; never the chosen one)
 *	...		the combination's payload (model_combine.c)
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"

#include "backtest.h"
#include "combine.h"
#include "forecast.h"
#include "guard.h"
#include "jobs.h"
#include "jsonbuild.h"
#include "kind.h"
#include "model.h"
#include "options.h"
#include "series.h"

/* most candidates an automatic spec takes, and scores with the means */
#define TSF_AUTO_MAX_CANDIDATES		64
#define TSF_AUTO_MAX_TOP			5
#define TSF_AUTO_MAX_SCORED			(TSF_AUTO_MAX_CANDIDATES + TSF_AUTO_MAX_TOP)
/* longest spec text it records */
#define TSF_AUTO_MAX_SPEC			4096

#define AUTO_FIXED_SIZE		52

typedef struct AutoRecord
{
	TsfInnerBacktest inner;
	int64		first_origin;
	int64		last_origin;
	int			n;
	char	  **spec;			/* (n) JSON text */
	double	   *mae;			/* (n) */
	int32	   *count;			/* (n) */
	int			chosen;
} AutoRecord;

static inline TsfCombine *
combine_of(const TsfModel *m)
{
	return (TsfCombine *) m->payload;
}

/* ---- options ---- */

typedef struct AutoOptions
{
	int32		horizon;
	int32		origins;
	int32		every;
	int32		refit_every;
	int32		combine_top;
	bool		lstm;
	int32		fill;
	int32		seasons;
	int32		around;
	bool		has_bucket;		/* "bucket": candidates scored on buckets */
	TsfBucketSpec bucket;
	bool		seen[11];
	int			n_candidates;	/* given, or 0: the default set */
	Jsonb	   *candidates[TSF_AUTO_MAX_CANDIDATES];
} AutoOptions;

enum
{
	AO_HORIZON, AO_ORIGINS, AO_EVERY, AO_REFIT_EVERY, AO_COMBINE_TOP, AO_LSTM, AO_FILL,
	AO_CANDIDATES, AO_SEASONS, AO_AROUND, AO_BUCKET, N_AO_OPTS
};

/*
 * "candidates", a list, and "bucket" (with "bucket_origin", "paths",
 * "seed", "aggregate") are read apart: their rows name them in the hint of
 * an unknown key
 */
static const TsfOptDef ao_opts[N_AO_OPTS] = {
	{"horizon", TSF_OPT_INT, offsetof(AutoOptions, horizon), 1, 1000, NULL},
	{"origins", TSF_OPT_INT, offsetof(AutoOptions, origins), 1, 10000, NULL},
	{"every", TSF_OPT_INT, offsetof(AutoOptions, every), 1, 100000, NULL},
	{"refit_every", TSF_OPT_INT, offsetof(AutoOptions, refit_every), 1, 100000, NULL},
	{"combine_top", TSF_OPT_INT, offsetof(AutoOptions, combine_top), 0, TSF_AUTO_MAX_TOP, NULL},
	{"lstm", TSF_OPT_BOOL, offsetof(AutoOptions, lstm), 0, 0, NULL},
	{"fill", TSF_OPT_ENUM, offsetof(AutoOptions, fill), 0, 0, tsf_fill_names},
	{"candidates", TSF_OPT_BOOL, 0, 0, 0, NULL},
	{"seasons", TSF_OPT_INT, offsetof(AutoOptions, seasons), 1, 100, NULL},
	{"around", TSF_OPT_INT, offsetof(AutoOptions, around), 0, 1000, NULL},
	{"bucket", TSF_OPT_BOOL, 0, 0, 0, NULL},
};

/* the inner bucket forecasts' paths unless "paths" says otherwise */
#define TSF_AUTO_DEFAULT_PATHS	500

static void
auto_parse(Jsonb *opts, AutoOptions *o)
{
	Jsonb	   *cands = NULL;
	Jsonb	   *rest = opts;

	memset(o, 0, sizeof(*o));
	o->horizon = 1;
	o->every = 1;
	o->combine_top = 3;
	o->fill = TSF_FILL_NONE;
	if (opts != NULL)
	{
		cands = tsf_jsonb_key(opts, "candidates");
		rest = DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(opts),
												  CStringGetTextDatum("candidates")));
	}
	if (opts != NULL)
		o->has_bucket = tsf_bucket_settings(rest, &rest, &o->bucket,
											 TSF_AUTO_DEFAULT_PATHS, true);
	tsf_parse_options(rest, ao_opts, N_AO_OPTS, o, o->seen);
	if (o->seen[AO_SEASONS] && o->seen[AO_ORIGINS])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"seasons\" and \"origins\" cannot be used together"),
				 errhint("Give the number of origins, or the seasons they are taken from.")));
	if (o->seen[AO_AROUND] && !o->seen[AO_SEASONS])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"around\" needs \"seasons\"")));
	if (!o->seen[AO_AROUND])
		o->around = 4;
	if (cands == NULL)
		return;
	if (!JB_ROOT_IS_ARRAY(cands) || JB_ROOT_IS_SCALAR(cands) || JB_ROOT_COUNT(cands) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"candidates\" must be a non-empty array of specs")));
	if (JB_ROOT_COUNT(cands) > TSF_AUTO_MAX_CANDIDATES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("an automatic spec takes at most %d candidates", TSF_AUTO_MAX_CANDIDATES),
				 errdetail("The spec lists %u.", JB_ROOT_COUNT(cands))));
	if (o->seen[AO_LSTM])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"lstm\" and \"candidates\" cannot be used together"),
				 errhint("List {\"kind\": \"lstm\"} among the candidates instead.")));
	o->n_candidates = JB_ROOT_COUNT(cands);
	for (int i = 0; i < o->n_candidates; i++)
	{
		Jsonb	   *copts;

		o->candidates[i] = JsonbValueToJsonb(getIthJsonbValueFromContainer(&cands->root, i));
		(void) tsf_member_spec(o->candidates[i], "candidate", i, o->fill, &copts);
	}
}

static int
auto_check_options(Jsonb *opts)
{
	AutoOptions o;

	auto_parse(opts, &o);
	return o.fill;
}

/* ---- the candidates ---- */

static Jsonb *
parse_spec(const char *text)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
}

/*
 * An AR candidate's spec, its keys in the order every default candidate
 * has them (the recorded specs' text), left open for more: the log
 * transform, a fixed order (0: by AIC), K harmonics (0: none), a window
 * (0: all)
 */
static void
ar_candidate_open(StringInfo b, bool log, int64 order, int harmonics, int64 window)
{
	initStringInfo(b);
	appendStringInfoString(b, "{\"kind\": \"ar\"");
	if (log)
		appendStringInfoString(b, ", \"transform\": \"log\"");
	if (order > 0)
		appendStringInfo(b, ", \"order\": " INT64_FORMAT, order);
	if (harmonics > 0)
		appendStringInfo(b, ", \"harmonics\": %d", harmonics);
	if (window > 0)
		appendStringInfo(b, ", \"window\": " INT64_FORMAT, window);
}

/*
 * The default set (the file's header comment) for a series of n grid
 * steps with season P (0: none), positive or not
 */
static int
default_candidates(double P, int64 steps, bool positive, bool lstm, Jsonb **out)
{
	static const int ks[] = {0, 2, 3, 4};
	int			n = 0;
	int64		windows[3] = {0, 0, 0};
	int			nw = 1;

	if (P >= 2)
	{
		int64		w5 = (int64) rint(5 * P),
					w10 = (int64) rint(10 * P);

		if (w5 < steps)
			windows[nw++] = w5;
		if (w10 < steps)
			windows[nw++] = w10;
	}
	for (int t = 0; t < (positive ? 2 : 1); t++)
		for (int ki = 0; ki < lengthof(ks); ki++)
		{
			if (ks[ki] > 0 && !(P >= 2 && 2.0 * ks[ki] < P))
				continue;
			for (int w = 0; w < nw; w++)
			{
				StringInfoData b;

				ar_candidate_open(&b, t == 1, 0, ks[ki], windows[w]);
				appendStringInfoChar(&b, '}');
				out[n++] = parse_spec(b.data);
			}
		}
	if (lstm)
		out[n++] = parse_spec("{\"kind\": \"lstm\"}");
	Assert(n <= TSF_AUTO_MAX_CANDIDATES);
	return n;
}

/*
 * The default set with "bucket" (the file's header comment), for a series
 * of steps grid steps with season P steps (0: none), spb steps a bucket
 */
static int
default_bucket_candidates(double P, int64 spb, int64 steps, bool positive, bool lstm,
						  const TsfBucketSpec *bucket, Jsonb **out)
{
	static const int ks[] = {2, 3, 4};
	static const int seasons[] = {3, 5, 10};
	int64		orders[3] = {0, spb, 2 * spb};
	int64		windows[3];
	int			nw = 0;
	int			nk = 0;
	int			n = 0;

	/* the windows shorter than the series; all of it where one is not */
	for (int i = 0; i < lengthof(seasons); i++)
	{
		int64		w = P >= 2 ? (int64) rint(seasons[i] * P) : 0;
		bool		dup = false;

		if (w >= steps)
			w = 0;
		for (int j = 0; j < nw; j++)
			dup = dup || windows[j] == w;
		if (!dup)
			windows[nw++] = w;
	}
	for (int ki = 0; ki < lengthof(ks); ki++)
		if (P >= 2 && 2.0 * ks[ki] < P)
			nk++;
	for (int oi = 0; oi < lengthof(orders); oi++)
	{
		if (oi == 2 && orders[2] == orders[1])
			continue;
		for (int ki = 0; ki < Max(nk, 1); ki++)
			for (int w = 0; w < nw; w++)
			{
				StringInfoData b;
				/* the rows its first inner fit has, at the least */
				int64		rows = windows[w] > 0 ? windows[w] : steps / 2;

				/*
				 * a fixed order needs 2p + 2K + 2 rows (ar_fit's rule):
				 * twice that, or it is left out (orders by AIC fit any)
				 */
				if (orders[oi] > 0 &&
					rows < 2 * (2 * orders[oi] + 2 * (nk > 0 ? ks[ki] : 0) + 2))
					continue;
				ar_candidate_open(&b, positive, orders[oi], nk > 0 ? ks[ki] : 0, windows[w]);
				/* each with the constant and with the level variance */
				out[n++] = parse_spec(psprintf("%s}", b.data));
				out[n++] = parse_spec(psprintf("%s, \"variance\": \"level\"}", b.data));
			}
	}

	/*
	 * models of the buckets themselves (a weekly model of the weeks' means):
	 * orders by AIC, 3 harmonics of the season in buckets (where it admits
	 * them), on all the buckets and on the last 5 and 10 seasons of them
	 */
	{
		double		Pb = P / spb;
		int64		nb = steps / spb;
		int64		bw[3] = {0, (int64) rint(5 * Pb), (int64) rint(10 * Pb)};

		for (int w = 0; w < 3; w++)
		{
			StringInfoData b;

			if (w > 0 && (Pb < 2 || bw[w] >= nb))
				continue;
			ar_candidate_open(&b, positive, 0, Pb >= 2 && 2.0 * 3 < Pb ? 3 : 0, bw[w]);
			/* the width as the spec gave it: not the session's IntervalStyle */
			appendStringInfoString(&b, ", \"bucket\": ");
			escape_json(&b, bucket->width_text ? bucket->width_text :
						DatumGetCString(DirectFunctionCall1(interval_out,
															IntervalPGetDatum(&bucket->width))));
			if (bucket->origin)
			{
				appendStringInfoString(&b, ", \"bucket_origin\": ");
				escape_json(&b, bucket->origin);
			}
			if (bucket->aggregate != TSF_BUCKET_MEAN)
				appendStringInfo(&b, ", \"aggregate\": \"%s\"", tsf_bucket_agg_names[bucket->aggregate]);
			appendStringInfoChar(&b, '}');
			out[n++] = parse_spec(b.data);
		}
	}
	if (lstm)
		out[n++] = parse_spec("{\"kind\": \"lstm\"}");
	Assert(n <= TSF_AUTO_MAX_CANDIDATES);
	return n;
}

/* one candidate's inner forecasts, (origins, horizon), as the loop emits them */
typedef struct AutoScores
{
	int			horizon;
	double	   *f;				/* (origins, horizon) forecasts */
	double	   *actual;			/* (origins, horizon); NaN: none */
} AutoScores;

static void
auto_emit(void *arg, int j, int64 origin, int h, int64 t, double v, double lo, double hi,
		  bool has_actual, double actual, double scale)
{
	AutoScores *s = (AutoScores *) arg;

	s->f[(Size) j * s->horizon + h] = v;
	s->actual[(Size) j * s->horizon + h] = has_actual ? actual : NAN;
}

/*
 * The pooled MAE of forecasts f against actual (cells; NaN: none); a
 * candidate with a forecast that is not finite (an explosive fit) is not
 * scored: *count 0, NaN
 */
static double
pooled_mae(const double *f, const double *actual, Size cells, int32 *count)
{
	double		s = 0;
	int64		c = 0;

	for (Size i = 0; i < cells; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (!isfinite(f[i]))
		{
			*count = 0;
			return NAN;
		}
		if (!isnan(actual[i]))
		{
			s += fabs(f[i] - actual[i]);
			c++;
		}
	}
	*count = (int32) c;
	return c > 0 ? s / c : NAN;
}

/* whether candidate a ranks before b: scored before unscored, then by MAE */
static inline bool
ranks_before(const AutoRecord *rec, int a, int b)
{
	if (rec->count[a] == 0 || rec->count[b] == 0)
		return rec->count[a] > 0 && rec->count[b] == 0;
	return rec->mae[a] < rec->mae[b];
}

static char *
spec_text(Jsonb *spec)
{
	char	   *t = JsonbToCString(NULL, &spec->root, VARSIZE(spec));

	if (strlen(t) > TSF_AUTO_MAX_SPEC)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a candidate's spec is too long to record"),
				 errdetail("It has %zu characters; at most %d are recorded.",
						   strlen(t), TSF_AUTO_MAX_SPEC)));
	for (const char *c = t; *c; c++)
		if (*c < 0x20 || *c > 0x7E)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a candidate's spec must be ASCII text")));
	return t;
}

/* the candidate of the error context */
typedef struct CandContext
{
	int			i;
	int			n;
	const char *spec;
} CandContext;

static void
cand_error_context(void *arg)
{
	CandContext *c = (CandContext *) arg;

	if (c->i >= 0)
		errcontext("automatic spec's candidate %d of %d, %s", c->i + 1, c->n, c->spec);
}

static bytea *
auto_fit(TsfSeriesState *st, int device, const TsfTrainHooks *hooks)
{
	AutoOptions o;
	instr_time	t0;
	Jsonb	   *cands[TSF_AUTO_MAX_CANDIDATES];
	int			nc;
	double		P;
	int64		steps;
	bool		positive = true;
	TsfFreq		freq;
	int64	   *ts;
	TsfInnerBacktest ib;
	int64	   *orig;
	int64		unit;			/* steps a bucket, 1 without buckets */
	double		Pu;				/* the season in those units */
	Size		cells;
	double	   *F;				/* (nc, cells) */
	double	   *actual;			/* (cells) */
	AutoRecord *rec;
	int			order[TSF_AUTO_MAX_CANDIDATES];
	int			ntop;
	int			chosen;
	Jsonb	   *members[TSF_COMBINE_MAX_MEMBERS];
	int			nmembers;
	CandContext cc = {-1, 0, NULL};
	ErrorContextCallback errcb;

	INSTR_TIME_SET_CURRENT(t0);
	auto_parse(st->options, &o);
	if (st->ncov > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("an automatic spec does not take covariates")));
	tsf_series_sort(st);
	if (st->n < 3)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time series is too short"),
				 errdetail("The series has " INT64_FORMAT " point%s, but at least 3 are required.",
						   st->n, st->n == 1 ? "" : "s")));

	/* the series' grid and season */
	tsf_check_memory(sizeof(int64) * (double) st->n, TSF_MEM_GRID,
					 psprintf("The series has " INT64_FORMAT " points.", st->n));
	ts = palloc_extended(sizeof(int64) * st->n, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < st->n; i++)
	{
		ts[i] = st->pts[i].ts;
		positive = positive && st->pts[i].value > 0;
	}
	tsf_freq_infer(st->ts_type, ts, st->n, &freq);
	if (!tsf_freq_index(st->ts_type, &freq, ts[0], ts[st->n - 1], &steps))
		elog(ERROR, "point off the inferred grid");
	steps++;
	pfree(ts);
	P = tsf_season_period(st->ts_type, &freq);

	/*
	 * with buckets: their steps, and how far the series' last step is past
	 * the end of its last complete bucket (the step after it starts one)
	 */
	ib.bucket_steps = 0;
	ib.lag = 0;
	if (o.has_bucket)
	{
		int64		width;
		int64		spb = tsf_bucket_steps(&o.bucket, st->ts_type, &freq, &width);
		Timestamp	borigin = tsf_bucket_origin(&o.bucket, st->ts_type, &freq);
		Timestamp	next = tsf_bucket_frame(st->ts_type, &freq,
											tsf_freq_advance(st->ts_type, &freq, st->pts[0].ts, steps));

		if (spb > TSF_MAX_HORIZON || (double) spb * o.every > 100000)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("option \"bucket\" is too wide for an automatic spec"),
					 errdetail("A bucket of " INT64_FORMAT " steps, origins every %d of them.",
							   spb, o.every)));
		ib.bucket_steps = (int32) spb;
		ib.lag = (next - tsf_bucket_floor(&o.bucket, borigin, next)) / (width / spb);
	}
	unit = ib.bucket_steps > 0 ? ib.bucket_steps : 1;
	Pu = P / unit;

	/*
	 * the inner backtest: defaults from the season (in buckets with them),
	 * capped to the series
	 */
	ib.horizon = o.horizon;
	ib.every = o.every * unit;
	ib.window = 0;
	ib.seasons = o.seasons;
	ib.around = o.seasons > 0 ? o.around : 0;
	ib.refit_every = o.seen[AO_REFIT_EVERY] ? o.refit_every :
		(Pu >= 8 ? (int) rint(Pu / 4) : 1);
	if (o.seen[AO_ORIGINS] || o.seasons > 0)
		ib.origins = o.origins;
	else
	{
		/* the first origin's fit keeps at least half the series */
		int64		room = (steps / 2 - ib.lag - (int64) o.horizon * unit) / ib.every + 1;

		ib.origins = Pu >= 2 ? (int) rint(2 * Pu) : 20;
		if (room < ib.origins)
			ib.origins = (int) Max(room, 1);
	}
	tsf_inner_origins(st, &ib, &orig);

	if (o.n_candidates > 0)
		nc = o.n_candidates;
	else if (o.has_bucket)
		nc = default_bucket_candidates(P, unit, steps, positive, o.lstm, &o.bucket, cands);
	else
		nc = default_candidates(P, steps, positive, o.lstm, cands);
	if (o.n_candidates > 0)
		memcpy(cands, o.candidates, sizeof(Jsonb *) * nc);

	/* every candidate's inner forecasts: checked before they are taken */
	cells = (Size) ib.origins * ib.horizon;
	tsf_check_memory(sizeof(double) * (nc + 1.0) * cells, TSF_MEM_FORECAST,
					 psprintf("An automatic spec's %d candidates, scored at %d origins of %d steps.",
							  nc, ib.origins, ib.horizon));
	F = palloc_extended(sizeof(double) * nc * cells, MCXT_ALLOC_HUGE);
	actual = palloc_extended(sizeof(double) * cells, MCXT_ALLOC_HUGE);

	rec = palloc0(sizeof(AutoRecord));
	rec->inner = ib;
	rec->first_origin = orig[0];
	rec->last_origin = orig[ib.origins - 1];
	rec->spec = palloc0(sizeof(char *) * TSF_AUTO_MAX_SCORED);
	rec->mae = palloc0(sizeof(double) * TSF_AUTO_MAX_SCORED);
	rec->count = palloc0(sizeof(int32) * TSF_AUTO_MAX_SCORED);

	cc.n = nc;
	errcb.callback = cand_error_context;
	errcb.arg = &cc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	for (int c = 0; c < nc; c++)
	{
		AutoScores sc = {ib.horizon, F + (Size) c * cells, actual};

		rec->spec[c] = spec_text(cands[c]);
		cc.i = c;
		cc.spec = rec->spec[c];
		/* the spec as its fit takes it: with the automatic spec's fill */
		tsf_backtest_inner(st, tsf_member_backtest_spec(cands[c], "candidate", c, o.fill),
						   ib.horizon, 0, ib.refit_every, ib.origins, orig,
						   o.has_bucket ? &o.bucket : NULL, auto_emit, &sc);
		rec->mae[c] = pooled_mae(sc.f, actual, cells, &rec->count[c]);
		if (rec->count[c] == 0)
			rec->mae[c] = 0;	/* not scored: stored as 0, shown as null */
		order[c] = c;
	}
	error_context_stack = errcb.previous;
	rec->n = nc;
	{
		int			scored = 0;

		for (int c = 0; c < nc; c++)
			scored += rec->count[c] > 0;
		if (scored == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("the inner backtest scored no candidate"),
					 errdetail("Every candidate's forecasts overflowed, or no forecast step of the origins has a value in the series.")));
	}

	/* the candidates by MAE (insertion sort: stable, ties keep the list's order) */
	for (int i = 1; i < nc; i++)
	{
		int			x = order[i],
					j = i;

		while (j > 0 && ranks_before(rec, x, order[j - 1]))
		{
			order[j] = order[j - 1];
			j--;
		}
		order[j] = x;
	}
	chosen = order[0];

	/* the means of the best 2 .. combine_top, scored from the same forecasts */
	ntop = Min(o.combine_top, nc);
	while (ntop > 1 && rec->count[order[ntop - 1]] == 0)
		ntop--;
	for (int k = 2; k <= ntop; k++)
	{
		double	   *fm = palloc(sizeof(double) * cells);
		StringInfoData b;
		int			idx = rec->n;

		for (Size q = 0; q < cells; q++)
		{
			double		s = 0;

			if ((q & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();

			for (int i = 0; i < k; i++)
				s += F[(Size) order[i] * cells + q];
			fm[q] = s / k;
		}
		initStringInfo(&b);
		appendStringInfoString(&b, "{\"how\": \"mean\", \"kind\": \"combine\", \"members\": [");
		for (int i = 0; i < k; i++)
			appendStringInfo(&b, "%s%s", i ? ", " : "", rec->spec[order[i]]);
		appendStringInfoString(&b, "]}");
		if (b.len > TSF_AUTO_MAX_SPEC)
			break;
		rec->spec[idx] = b.data;
		rec->mae[idx] = pooled_mae(fm, actual, cells, &rec->count[idx]);
		if (rec->count[idx] == 0)
			rec->mae[idx] = 0;
		else if (rec->mae[idx] < rec->mae[chosen])
			chosen = idx;
		rec->n++;
		pfree(fm);
	}
	rec->chosen = chosen;
	if (chosen < nc)
	{
		members[0] = cands[chosen];
		nmembers = 1;
	}
	else
	{
		nmembers = chosen - nc + 2;
		for (int i = 0; i < nmembers; i++)
			members[i] = cands[order[i]];
	}
	pfree(F);
	pfree(actual);
	pfree(orig);
	return tsf_combine_build(st, &tsf_kind_auto, members, nmembers, TSF_COMBINE_MEAN,
							 NULL, NULL, NULL, o.fill, rec, t0);
}

/* ---- the stored payload ---- */

static double
auto_stored_bytes(const TsfModel *m)
{
	const TsfCombine *C = combine_of(m);
	const AutoRecord *rec = (const AutoRecord *) C->extra;
	double		b = AUTO_FIXED_SIZE;

	for (int i = 0; i < rec->n; i++)
		b += 16 + strlen(rec->spec[i]);
	return b + tsf_combine_payload_bytes(C);
}

static void
auto_write(StringInfo b, const TsfModel *m)
{
	const TsfCombine *C = combine_of(m);
	const AutoRecord *rec = (const AutoRecord *) C->extra;

	tsf_write_u32(b, (uint32) rec->inner.horizon);
	tsf_write_u32(b, (uint32) rec->inner.origins);
	tsf_write_u32(b, (uint32) rec->inner.every);
	tsf_write_u32(b, (uint32) rec->inner.refit_every);
	tsf_write_u32(b, (uint32) rec->inner.seasons);
	tsf_write_u32(b, (uint32) rec->inner.around);
	tsf_write_u32(b, (uint32) rec->inner.bucket_steps);
	tsf_write_i64(b, rec->first_origin);
	tsf_write_i64(b, rec->last_origin);
	tsf_write_u32(b, (uint32) rec->n);
	tsf_write_u32(b, (uint32) rec->chosen);
	for (int i = 0; i < rec->n; i++)
	{
		uint32		len = strlen(rec->spec[i]);

		tsf_write_u32(b, len);
		appendBinaryStringInfo(b, rec->spec[i], len);
		tsf_write_f64(b, rec->mae[i]);
		tsf_write_u32(b, (uint32) rec->count[i]);
	}
	tsf_combine_payload_write(b, C);
}

static void
auto_read(TsfReader *r, TsfModel *m)
{
	TsfCombine *C = palloc0(sizeof(TsfCombine));
	AutoRecord *rec = palloc0(sizeof(AutoRecord));
	int64		cells;

	rec->inner.horizon = tsf_read_bounded(r, 1, 1000, "horizon");
	rec->inner.origins = tsf_read_bounded(r, 1, 10000, "origins");
	rec->inner.every = tsf_read_bounded(r, 1, 100000, "every");
	rec->inner.refit_every = tsf_read_bounded(r, 1, 100000, "refit_every");
	rec->inner.seasons = tsf_read_bounded(r, 0, 100, "seasons");
	rec->inner.around = tsf_read_bounded(r, 0, 1000, "around");
	if (rec->inner.seasons == 0 && rec->inner.around != 0)
		tsf_read_corrupt(r, "Invalid inner backtest origins.");
	rec->inner.bucket_steps = tsf_read_bounded(r, 0, TSF_MAX_HORIZON, "bucket steps");
	if (rec->inner.bucket_steps > 0 && rec->inner.every % rec->inner.bucket_steps != 0)
		tsf_read_corrupt(r, "Invalid inner backtest origins.");
	rec->first_origin = tsf_read_i64(r);
	rec->last_origin = tsf_read_i64(r);
	if (!(rec->first_origin >= m->first_ts && rec->first_origin <= rec->last_origin &&
		  rec->last_origin <= m->last_ts))
		tsf_read_corrupt(r, "Invalid inner backtest origins.");
	rec->n = tsf_read_bounded(r, 1, TSF_AUTO_MAX_SCORED, "candidates");
	rec->chosen = tsf_read_bounded(r, 0, rec->n - 1, "chosen");
	cells = (int64) rec->inner.origins * rec->inner.horizon;
	rec->spec = palloc0(sizeof(char *) * rec->n);
	rec->mae = palloc0(sizeof(double) * rec->n);
	rec->count = palloc0(sizeof(int32) * rec->n);
	for (int i = 0; i < rec->n; i++)
	{
		uint32		len = tsf_read_u32(r);
		char	   *t;

		if (len < 2 || len > TSF_AUTO_MAX_SPEC || len > r->left)
			tsf_read_corrupt(r, "Invalid candidate spec.");
		t = palloc(len + 1);
		memcpy(t, r->p, len);
		r->p += len;
		r->left -= len;
		t[len] = '\0';
		for (uint32 q = 0; q < len; q++)
			if (t[q] < 0x20 || t[q] > 0x7E)
				tsf_read_corrupt(r, "Invalid candidate spec.");
		if (t[0] != '{' || t[len - 1] != '}')
			tsf_read_corrupt(r, "Invalid candidate spec.");
		rec->spec[i] = t;
		rec->mae[i] = tsf_read_finite(r, "mae");
		rec->count[i] = tsf_read_u32(r);
		if (rec->mae[i] < 0 || rec->count[i] < 0 || rec->count[i] > cells ||
			(rec->count[i] == 0 && rec->mae[i] != 0))
			tsf_read_corrupt(r, "Invalid candidate score.");
	}
	if (rec->count[rec->chosen] == 0)
		tsf_read_corrupt(r, "The chosen candidate was not scored.");
	tsf_combine_payload_read(r, m, C);
	if (C->how != TSF_COMBINE_MEAN)
		tsf_read_corrupt(r, "An automatic spec's model is a mean.");
	C->extra = rec;
	m->payload = C;
}

static void
auto_free(TsfModel *m)
{
	TsfCombine *C = combine_of(m);
	AutoRecord *rec = (AutoRecord *) C->extra;

	for (int i = 0; i < rec->n; i++)
		if (rec->spec[i])
			pfree(rec->spec[i]);
	pfree(rec->spec);
	pfree(rec->mae);
	pfree(rec->count);
	pfree(rec);
	tsf_combine_payload_free(C);
	pfree(C);
}

/* ---- views ---- */

static double
auto_json_numbers(const TsfModel *m)
{
	const AutoRecord *rec = (const AutoRecord *) combine_of(m)->extra;
	double		n = 16 + 3.0 * rec->n;

	/* the spec texts: a number's bytes per 64 of their characters */
	for (int i = 0; i < rec->n; i++)
		n += strlen(rec->spec[i]) / 64.0;
	return n + tsf_combine_json_numbers(m);
}

static void
auto_to_jsonb(TsfJson *js, const TsfModel *m, bool full)
{
	const TsfCombine *C = combine_of(m);
	const AutoRecord *rec = (const AutoRecord *) C->extra;

	tsf_json_key(js, "auto");
	tsf_json_begin_object(js);
	if (rec->inner.bucket_steps > 0)
		tsf_json_kv_int(js, "bucket_steps", rec->inner.bucket_steps);
	tsf_json_kv_int(js, "horizon", rec->inner.horizon);
	tsf_json_kv_int(js, "origins", rec->inner.origins);
	tsf_json_kv_int(js, "every", rec->inner.bucket_steps > 0 ?
					rec->inner.every / rec->inner.bucket_steps : rec->inner.every);
	tsf_json_kv_int(js, "refit_every", rec->inner.refit_every);
	if (rec->inner.seasons > 0)
	{
		tsf_json_kv_int(js, "seasons", rec->inner.seasons);
		tsf_json_kv_int(js, "around", rec->inner.around);
	}
	tsf_json_key(js, "first_origin");
	tsf_json_ts(js, m->ts_type, rec->first_origin);
	tsf_json_key(js, "last_origin");
	tsf_json_ts(js, m->ts_type, rec->last_origin);
	tsf_json_key(js, "candidates");
	tsf_json_begin_array(js);
	for (int i = 0; i < rec->n; i++)
	{
		tsf_json_begin_object(js);
		tsf_json_kv_str(js, "spec", rec->spec[i]);
		if (rec->count[i] > 0)
			tsf_json_kv_num(js, "mae", rec->mae[i]);
		else
		{
			/* its forecasts overflowed: an explosive fit, not scored */
			tsf_json_key(js, "mae");
			tsf_json_null(js);
		}
		tsf_json_kv_int(js, "scored", rec->count[i]);
		tsf_json_end_object(js);
	}
	tsf_json_end_array(js);
	tsf_json_kv_int(js, "chosen", rec->chosen + 1);
	tsf_json_kv_str(js, "chosen_spec", rec->spec[rec->chosen]);
	tsf_json_end_object(js);
	tsf_combine_payload_json(js, C, full);
}

const TsfKind tsf_kind_auto = {
	.id = 4,
	.name = "auto",
	.gpu = false,
	.check_options = auto_check_options,
	.fit = auto_fit,
	.fit_batch = NULL,
	.stored_bytes = auto_stored_bytes,
	.write = auto_write,
	.read = auto_read,
	.free = auto_free,
	.json_numbers = auto_json_numbers,
	.to_jsonb = auto_to_jsonb,
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

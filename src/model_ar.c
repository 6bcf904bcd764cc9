/*
 * model_ar.c
 *		The AR kind: ar_fit(ts, value [, covariates] [, options]), the
 *		aggregate, and the kind's routines (kind.h): its stored payload, its
 *		jsonb view, its forecasts with analytic intervals and its one-step
 *		predictions.
 *
 * The model is
 *
 *		y[t] = c + phi[1] y[t-1] + ... + phi[p] y[t-p]
 *		         + beta[1] x[t][1] + ... + beta[m] x[t][m] + e[t],  e ~ N(0, sigma2)
 *
 * on the transformed series, estimated by the AR core (src/ar, no
 * PostgreSQL headers).  The exogenous terms x[t] (m = 0 by default) are, in
 * this order, the Fourier terms of the season, sin(2 pi j s_t) and
 * cos(2 pi j s_t) for j = 1..K ("harmonics": K), s_t the season's phase at
 * step t (tsf_ar_fourier: the period in steps is the frequency's, as the
 * LSTM's season inputs have it, or "season_length"; the phase is counted
 * from 2000-01-01 (freq.c), so the coefficients of two models of one series
 * mean the same whatever their training windows), then the user's
 * covariates of step t (ar_fit's float8[] argument, contemporaneous as in
 * statsmodels' AutoReg(exog=...)).  Only least squares takes them.  The
 * aggregate's transition, combine and (de)serialize steps are the shared
 * series state's (series.c); its final step prepares the series, picks the
 * order (fixed, or by AIC up to a bound, the same x in every candidate),
 * calls the core and packs the result into a tsmodel.  "window": W fits
 * on the last W grid steps of the series only (the points after step
 * last - W, as backtest()'s "window" setting keeps them, series.c), so a
 * spec can say "this model on the last five years" wherever a spec goes.
 *
 * Stored payload (after model.c's header, at offset 69 of format version
 * 2):
 *
 *	offset	size	field
 *	69		1		method: 0 ols, 1 yule_walker; 0x80 set: the exogenous
 *					section below is there (0.6.0)
 *	70		1		intercept
 *	71		4		max order searched (0 when fixed)
 *	75		4		order p
 *	79		8		nobs
 *	87		32		c, mean, sigma2, aic (float8)
 *	119		24		only with 0x80: harmonics K (4), user covariates
 *					n_cov (4), season length in steps (float8; 0 when K is
 *					0), the season's phase at the first training step
 *					(float8, [0, 1))
 *	...		8 p		phi (float8)
 *	...		8 m		only with 0x80: beta, m = 2K + n_cov >= 1 (float8:
 *					sin 1, cos 1, ..., sin K, cos K, the covariates)
 *	...		8 p		the last p transformed values (float8, oldest first)
 *	...		8 (4 + 2K)	only with 0x40 (0.6.0, "variance": "level"): the
 *					lagged value's clamp lo, hi, then the log-variance's
 *					coefficients g (2K + 2: the constant, sin 1, cos 1, ...,
 *					sin K, cos K, the previous value) (float8)
 *
 * A model without exogenous terms is written without the flag and the
 * section, so its bytes are those of 0.5.0 and earlier, which read it;
 * those readers refuse a model with them as an unknown method, rather than
 * forecast it without its x.  The same holds for the variance section.
 *
 * "variance": "level" (default "constant") adds a model of the innovations'
 * variance, fitted on the least-squares residuals (ar/ar.h,
 * TsfArVariance): log s2[t] = g0 + the season's harmonics (the model's K)
 * + g_y y[t-1], y on the transformed scale, clamped to the range the fit
 * saw.  The mean equation, its coefficients and sigma2 (the residuals'
 * mean square, as statsmodels reports it) are unchanged; the sample paths
 * draw each step's innovation with its own variance, and forecast()'s
 * interval is se[h]^2 = sum_j psi[j]^2 s2[h - j], the s2 at the point
 * forecast's previous value (exact at the first step, a plug-in
 * approximation after it).  It needs an order of at least 1: a fixed
 * "order": 0 is refused, and the order chosen by AIC is at least 1.
 *
 * Forecasts follow the fitted recursion, the Fourier terms computed for
 * the future steps (after model_update() too: from tsf_model_next_step) and
 * the covariates' future values given (forecast(..., future_covariates));
 * the interval is mean +/- z se, se[h] = sqrt(sigma2 * sum_{j<h} psi[j]^2)
 * with psi the MA(inf) weights and z the normal quantile of (1 + level) / 2
 * (statsmodels' AutoReg and R's predict.ar), x treated as known.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "common/pg_prng.h"
#include "miscadmin.h"

#include "ar/ar.h"
#include "forecast.h"
#include "jsonbuild.h"
#include "kind.h"
#include "guard.h"
#include "model.h"
#include "options.h"
#include "predict.h"
#include "series.h"

PG_FUNCTION_INFO_V1(tsf_ar_fit_transfn);
PG_FUNCTION_INFO_V1(tsf_ar_fit_finalfn);

/* the payload's fixed fields, before its arrays, and the exogenous section's */
#define AR_FIXED_SIZE	50
#define AR_EXOG_SIZE	24

/* the method byte's flags: the exogenous section, the variance section */
#define AR_FLAG_EXOG	0x80
#define AR_FLAG_VARIANCE 0x40

/* most harmonics of the season a model takes */
#define TSF_AR_MAX_HARMONICS	100

/* a model's AR fields: TsfModel.payload */
typedef struct TsfAr
{
	int32		method;			/* TsfArMethod */
	int32		max_order;		/* bound searched by AIC; 0 if the order was fixed */
	TsfArModel	ar;				/* ar.phi: (p); ar.beta: (ar.m) */
	double	   *hist;			/* (p) last transformed values, oldest first */
	int32		harmonics;		/* K: the first 2K of the ar.m terms */
	int32		n_cov;			/* the user's covariates, the last n_cov */
	double		season_period;	/* in steps; 0 when K = 0 */
	double		season_s0;		/* the season's phase at step 0, [0, 1) */
	bool		has_var;		/* "variance": "level": var holds the model */
	TsfArVariance var;			/* var.g: (var.ks + 2); var.ks = 2K */
} TsfAr;

static inline TsfAr *
ar_of(const TsfModel *m)
{
	return (TsfAr *) m->payload;
}

/* ---- options ---- */

typedef struct ArOptions
{
	int32		order;
	int32		max_order;
	int32		method;
	bool		intercept;
	int32		transform;
	int32		fill;
	int32		harmonics;
	double		season_length;
	int32		window;
	int32		variance;
} ArOptions;

static const char *const ar_method_names[] = {"ols", "yule_walker", NULL};

/* the innovations' variance: constant, or a function of the level and season */
enum
{
	AR_VARIANCE_CONSTANT, AR_VARIANCE_LEVEL
};
static const char *const ar_variance_names[] = {"constant", "level", NULL};

enum
{
	OPT_ORDER, OPT_MAX_ORDER, OPT_METHOD, OPT_INTERCEPT, OPT_TRANSFORM, OPT_FILL,
	OPT_HARMONICS, OPT_SEASON_LENGTH, OPT_WINDOW, OPT_VARIANCE,
	N_AR_OPTS
};

static const TsfOptDef ar_opts[N_AR_OPTS] = {
	{"order", TSF_OPT_INT, offsetof(ArOptions, order), 0, TSF_AR_MAX_ORDER, NULL},
	{"max_order", TSF_OPT_INT, offsetof(ArOptions, max_order), 0, TSF_AR_MAX_ORDER, NULL},
	{"method", TSF_OPT_ENUM, offsetof(ArOptions, method), 0, 0, ar_method_names},
	{"intercept", TSF_OPT_BOOL, offsetof(ArOptions, intercept), 0, 0, NULL},
	{"transform", TSF_OPT_ENUM, offsetof(ArOptions, transform), 0, 0, tsf_transform_names},
	{"fill", TSF_OPT_ENUM, offsetof(ArOptions, fill), 0, 0, tsf_fill_names},
	{"harmonics", TSF_OPT_INT, offsetof(ArOptions, harmonics), 0, TSF_AR_MAX_HARMONICS, NULL},
	{"season_length", TSF_OPT_FLOAT, offsetof(ArOptions, season_length), 0, 1e9, NULL},
	{"window", TSF_OPT_INT, offsetof(ArOptions, window), 3, TSF_MAX_POINTS, NULL},
	{"variance", TSF_OPT_ENUM, offsetof(ArOptions, variance), 0, 0, ar_variance_names},
};

/* exogenous terms are least squares' only */
static void
yule_walker_exog(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("the \"yule_walker\" method does not take harmonics or covariates"),
			 errhint("Use \"method\": \"ols\" (the default) for a model with exogenous terms.")));
}

/* defaults, then the user's options; seen[] says which were given */
static void
ar_parse_options(Jsonb *opts, ArOptions *o, bool *seen)
{
	o->order = -1;
	o->max_order = -1;
	o->method = TSF_AR_OLS;
	o->intercept = true;
	o->transform = TSF_TRANSFORM_NONE;
	o->fill = TSF_FILL_NONE;
	o->harmonics = 0;
	o->season_length = 0;		/* inferred from the frequency */
	o->window = 0;				/* every step */
	o->variance = AR_VARIANCE_CONSTANT;
	tsf_parse_options(opts, ar_opts, N_AR_OPTS, o, seen);
	if (seen[OPT_ORDER] && seen[OPT_MAX_ORDER])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"order\" and \"max_order\" cannot be used together"),
				 errhint("Give \"order\" to fix the order, or \"max_order\" to choose it by AIC.")));
	if (seen[OPT_SEASON_LENGTH] && o->season_length < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"season_length\": %g", o->season_length),
				 errdetail("A season must last at least 2 steps.")));
	if (o->harmonics > 0 && o->method == TSF_AR_YULE_WALKER)
		yule_walker_exog();
	if (o->variance == AR_VARIANCE_LEVEL && o->method == TSF_AR_YULE_WALKER)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the \"yule_walker\" method does not take \"variance\": \"level\""),
				 errhint("Use \"method\": \"ols\" (the default): the variance is fitted on its residuals.")));
	if (o->variance == AR_VARIANCE_LEVEL && seen[OPT_ORDER] && o->order == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"variance\": \"level\" needs an order of at least 1"),
				 errdetail("The variance follows the previous value, which an AR(0) model does not keep.")));
}

/* check an options jsonb of ar_fit; returns its fill mode */
static int
ar_check_options(Jsonb *opts)
{
	ArOptions	o;
	bool		seen[N_AR_OPTS];

	ar_parse_options(opts, &o, seen);
	return o.fill;
}

/* ---- fitting ---- */

Datum
tsf_ar_fit_transfn(PG_FUNCTION_ARGS)
{
	return tsf_series_accum(fcinfo, ar_check_options);
}

static void
too_short(int64 n, int p, int intercept, int m, bool selecting)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 selecting ?
			 errmsg("time series is too short to select an AR order up to %d", p) :
			 errmsg("time series is too short to fit an AR(%d) model", p),
			 errdetail_plural("The series has " INT64_FORMAT " point, but at least %d are required.",
							  "The series has " INT64_FORMAT " points, but at least %d are required.",
							  n, n, tsf_ar_min_points_exog(p, intercept, m)),
			 m > 0 ? errhint_plural("The model has %d exogenous term besides the lags (harmonics count two each).",
									"The model has %d exogenous terms besides the lags (harmonics count two each).",
									m, m) : 0));
}

/*
 * The core's poll (ar/ar.h, TsfArPoll): a pending cancel or termination
 * stops the fit; the error is raised after the core returns (guard.c)
 */
static const TsfArPoll ar_poll = {tsf_poll_cancel, NULL};

static void
check_status(TsfArStatus s, int p, int m)
{
	switch (s)
	{
		case TSF_AR_OK:
			return;
		case TSF_AR_CANCELLED:
			tsf_raise_cancel();
			break;
		case TSF_AR_RANK_DEFICIENT:
			if (m > 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("cannot fit an AR(%d) model: its regressors are collinear", p),
						 errdetail("The harmonics and covariates are collinear with each other, with the intercept or with the lagged values."),
						 errhint("Leave out a covariate that repeats another or is constant, or use fewer harmonics.")));
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("cannot fit an AR(%d) model: the lagged values are collinear", p),
					 errdetail("The series is constant or too regular for this order."),
					 errhint("Use a lower order, or let the order be chosen by AIC.")));
			break;
		case TSF_AR_NOT_FINITE:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("AR(%d) estimates overflowed", p),
					 errhint("Rescale the series, or use the \"log\" transform.")));
			break;
		default:
			elog(ERROR, "AR core failed with status %d", (int) s);
	}
}

Datum
tsf_ar_fit_finalfn(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "ar_fit called in non-aggregate context");
	PG_RETURN_BYTEA_P(tsf_kind_ar.fit((TsfSeriesState *) PG_GETARG_POINTER(0),
									  0, NULL));
}

/*
 * The regressors of grid steps k0 .. k0 + rows - 1 into x (rows, 2K +
 * n_cov) row-major: the season's Fourier terms of each step, then its
 * covariates from cov (rows, n_cov) row-major (NULL when n_cov is 0)
 */
static void
ar_exog_rows(const TsfAr *A, int64 k0, int64 rows, const double *cov, double *x)
{
	int			m = A->ar.m;

	for (int64 i = 0; i < rows; i++)
	{
		double	   *row = x + i * m;

		if (A->harmonics > 0)
			tsf_ar_fourier(A->season_period, A->season_s0, k0 + i, A->harmonics, row);
		if (A->n_cov > 0)
			memcpy(row + 2 * A->harmonics, cov + i * A->n_cov, sizeof(double) * A->n_cov);
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
}

/*
 * The season of K harmonics on series s: its period (the "season_length"
 * option, or the frequency's) and its phase at the first step, into A;
 * errors for a season that cannot carry K harmonics
 */
static void
ar_season(TsfAr *A, const ArOptions *o, const bool *seen, const TsfSeries *s)
{
	double		period;

	A->harmonics = o->harmonics;
	A->season_period = 0;
	A->season_s0 = 0;
	if (o->harmonics == 0)
		return;
	period = seen[OPT_SEASON_LENGTH] ? o->season_length :
		tsf_season_period(s->ts_type, &s->freq);
	if (period == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"harmonics\" needs the season's length"),
				 errdetail("The series' frequency (%s) has no default season.",
						   tsf_freq_name(s->ts_type, &s->freq)),
				 errhint("Set \"season_length\" to the season's length in steps.")));
	if (2.0 * o->harmonics >= period)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"harmonics\": %d", o->harmonics),
				 errdetail("A season of %g steps has at most %d harmonics.",
						   period, (int) ceil(period / 2.0) - 1)));
	A->season_period = period;
	A->season_s0 = tsf_season_phase(s->ts_type, &s->freq, s->first_ts, period);
}

/*
 * "variance": "level": the log-variance's regression on the residuals of
 * the fitted model (tsf_ar_variance_fit), its season terms the model's
 * harmonics (the first 2K of x)
 */
static void
ar_fit_variance(TsfAr *A, const TsfSeries *s, const double *x, int p, int mx)
{
	int			ks = 2 * A->harmonics;
	double	   *work;
	TsfArStatus status;

	if (p == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"variance\": \"level\" needs an order of at least 1"),
				 errdetail("The order chosen by AIC is 0: the variance follows the previous value, which an AR(0) model does not keep."),
				 errhint("Set \"order\".")));
	if (s->n - p < ks + 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time series is too short for the level variance of an AR(%d) model", p),
				 errdetail("Its regression has %d terms and the series " INT64_FORMAT " residuals.",
						   ks + 2, s->n - p)));
	/* (ks + 2)^2 doubles: ks is at most 2 TSF_AR_MAX_HARMONICS */
	work = palloc(sizeof(double) * tsf_ar_variance_work_size(ks));
	A->has_var = true;
	A->var.ks = ks;
	A->var.g = palloc(sizeof(double) * (ks + 2));
	status = tsf_ar_variance_fit(&A->ar, s->y, (int) s->n, mx > 0 ? x : NULL, &A->var,
								 &ar_poll, work);
	if (status == TSF_AR_RANK_DEFICIENT)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("cannot fit the level variance of an AR(%d) model", p),
				 errdetail("The residuals are all zero, or the lagged values are constant."),
				 errhint("Use \"variance\": \"constant\".")));
	if (status == TSF_AR_NOT_FINITE)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the level variance of an AR(%d) model overflowed", p),
				 errdetail("Over the range of the lagged values its log reaches more than %g.",
						   TSF_AR_MAX_LOG_VARIANCE),
				 errhint("Use \"variance\": \"constant\", or the \"log\" transform.")));
	check_status(status, p, mx);
	pfree(work);
}

/*
 * Fit the AR model of a collected series (its options in st->options; its
 * covariates, if any, in st->cov) and return it serialized: ar_fit's final
 * step, and a job's for "kind": "ar" (AR trains on the CPU whatever the
 * device; no epochs to report).  Sorts st's points in place.
 */
static bytea *
ar_fit(TsfSeriesState *st, int device, const TsfTrainHooks *hooks)
{
	ArOptions	o;
	bool		seen[N_AR_OPTS];
	TsfSeries	s;
	TsfModel	m;
	TsfAr		A;
	int			p,
				maxp;
	int			n;
	int			mx;
	double	   *x = NULL;
	double	   *work;
	instr_time	t0;
	TsfArStatus status;

	INSTR_TIME_SET_CURRENT(t0);
	ar_parse_options(st->options, &o, seen);
	if (st->ncov > 0 && o.method == TSF_AR_YULE_WALKER)
		yule_walker_exog();
	/* "window": the last W steps of the grid only (series.c) */
	tsf_series_window(st, o.window);
	tsf_series_prepare(st, o.transform, o.fill, &s);
	n = (int) s.n;

	memset(&A, 0, sizeof(A));
	ar_season(&A, &o, seen, &s);
	A.n_cov = s.ncov;
	mx = 2 * A.harmonics + A.n_cov;

	if (o.order >= 0)
	{
		p = o.order;
		maxp = 0;
		if (n < tsf_ar_min_points_exog(p, o.intercept, mx))
			too_short(n, p, o.intercept, mx, false);
	}
	else
	{
		maxp = o.max_order >= 0 ? o.max_order :
			tsf_ar_default_max_order_exog(n, o.intercept, mx);
		if (n < tsf_ar_min_points_exog(maxp, o.intercept, mx))
			too_short(n, maxp, o.intercept, mx, true);
		p = maxp;
	}

	/*
	 * the core's workspace and the model's arrays, with the series it holds
	 * and, with exogenous terms, their rows
	 */
	tsf_check_memory(s.bytes + sizeof(double) * ((double) tsf_ar_work_size_exog(n, p, mx) +
												 4.0 * (p + 1) + (double) mx * (n + 1) +
												 (o.variance == AR_VARIANCE_LEVEL ?
												  (double) tsf_ar_variance_work_size(2 * A.harmonics) : 0)),
					 TSF_MEM_AR_FIT,
					 mx > 0 ?
					 psprintf("An AR(%d) fit with %d exogenous terms on %d points.", p, mx, n) :
					 psprintf("An AR(%d) fit on %d points.", p, n));
	work = palloc_extended(sizeof(double) * tsf_ar_work_size_exog(n, p, mx),
						   MCXT_ALLOC_HUGE);
	A.ar.m = mx;
	A.ar.beta = palloc(sizeof(double) * (mx + 1));
	if (mx > 0)
	{
		x = palloc_extended(sizeof(double) * mx * (Size) n, MCXT_ALLOC_HUGE);
		ar_exog_rows(&A, 0, n, s.cov, x);
	}
	if (o.order < 0)
	{
		status = mx > 0 ?
			tsf_ar_select_exog(s.y, n, maxp, o.intercept, x, mx, &ar_poll, work, &p) :
			tsf_ar_select(s.y, n, maxp, o.intercept, o.method, &ar_poll, work, &p);
		check_status(status, maxp, mx);
		/* the level variance follows the previous value: at least AR(1) */
		if (p == 0 && o.variance == AR_VARIANCE_LEVEL && maxp >= 1)
			p = 1;
	}

	A.ar.phi = palloc(sizeof(double) * (p + 1));
	status = mx > 0 ?
		tsf_ar_fit_exog(s.y, n, p, o.intercept, x, mx, &ar_poll, work, &A.ar) :
		tsf_ar_fit(s.y, n, p, o.intercept, o.method, &ar_poll, work, &A.ar);
	check_status(status, p, mx);
	CHECK_FOR_INTERRUPTS();
	A.method = o.method;
	A.max_order = maxp;
	A.hist = s.y + (n - p);
	if (o.variance == AR_VARIANCE_LEVEL)
		ar_fit_variance(&A, &s, x, p, mx);

	tsf_model_init(&m, &tsf_kind_ar, &s, o.transform, o.fill, &A);
	m.fitted_at = GetCurrentTransactionStartTimestamp();
	m.fit_seconds = tsf_seconds_since(t0);

	pfree(work);
	if (x)
		pfree(x);
	return tsf_model_serialize(&m);
}

/* ---- the stored payload ---- */

static double
ar_stored_bytes(const TsfModel *m)
{
	const TsfAr *A = ar_of(m);

	return AR_FIXED_SIZE + 16.0 * A->ar.p +
		(A->ar.m > 0 ? AR_EXOG_SIZE + 8.0 * A->ar.m : 0) +
		(A->has_var ? 8.0 * (A->var.ks + 4) : 0);
}

/* the layout of the file's header comment; no exogenous terms: 0.5.0's */
static void
ar_write(StringInfo b, const TsfModel *m)
{
	const TsfAr *A = ar_of(m);
	bool		exog = A->ar.m > 0;

	tsf_write_u8(b, (uint8) (A->method | (exog ? AR_FLAG_EXOG : 0) |
							 (A->has_var ? AR_FLAG_VARIANCE : 0)));
	tsf_write_u8(b, (uint8) A->ar.intercept);
	tsf_write_u32(b, (uint32) A->max_order);
	tsf_write_u32(b, (uint32) A->ar.p);
	tsf_write_i64(b, A->ar.nobs);
	tsf_write_f64(b, A->ar.c);
	tsf_write_f64(b, A->ar.mean);
	tsf_write_f64(b, A->ar.sigma2);
	tsf_write_f64(b, A->ar.aic);
	if (exog)
	{
		tsf_write_u32(b, (uint32) A->harmonics);
		tsf_write_u32(b, (uint32) A->n_cov);
		tsf_write_f64(b, A->season_period);
		tsf_write_f64(b, A->season_s0);
	}
	for (int i = 0; i < A->ar.p; i++)
		tsf_write_f64(b, A->ar.phi[i]);
	for (int j = 0; j < A->ar.m; j++)
		tsf_write_f64(b, A->ar.beta[j]);
	for (int i = 0; i < A->ar.p; i++)
		tsf_write_f64(b, A->hist[i]);
	if (A->has_var)
	{
		tsf_write_f64(b, A->var.lo);
		tsf_write_f64(b, A->var.hi);
		for (int j = 0; j < A->var.ks + 2; j++)
			tsf_write_f64(b, A->var.g[j]);
	}
}

/* every field checked; the arrays sized by the exact length first */
static void
ar_read(TsfReader *r, TsfModel *m)
{
	TsfAr	   *A = palloc0(sizeof(TsfAr));
	uint32		p;
	int64		nobs;
	uint8		method;
	bool		exog;

	method = tsf_read_u8(r);
	exog = (method & AR_FLAG_EXOG) != 0;
	A->has_var = (method & AR_FLAG_VARIANCE) != 0;
	A->method = method & ~(AR_FLAG_EXOG | AR_FLAG_VARIANCE);
	A->ar.intercept = tsf_read_u8(r);
	A->max_order = tsf_read_u32(r);
	p = tsf_read_u32(r);
	nobs = tsf_read_i64(r);
	if (A->method > TSF_AR_YULE_WALKER || A->ar.intercept > 1 ||
		((exog || A->has_var) && A->method != TSF_AR_OLS))
		tsf_read_corrupt(r, "Unknown AR method.");
	if (p > TSF_AR_MAX_ORDER || (int64) p >= m->n || A->max_order > TSF_AR_MAX_ORDER)
		tsf_read_corrupt(r, "Invalid AR order.");
	if (nobs < 1 || nobs > m->n)
		tsf_read_corrupt(r, "Invalid number of observations.");
	A->ar.p = (int) p;
	A->ar.nobs = (int) nobs;
	A->ar.c = tsf_read_finite(r, "c");
	A->ar.mean = tsf_read_finite(r, "mean");
	A->ar.sigma2 = tsf_read_finite(r, "sigma2");
	A->ar.aic = tsf_read_f64(r);
	if (A->ar.sigma2 < 0 || isnan(A->ar.aic))
		tsf_read_corrupt(r, "Invalid AR variance.");
	if (exog)
	{
		A->harmonics = tsf_read_bounded(r, 0, TSF_AR_MAX_HARMONICS, "harmonics");
		A->n_cov = tsf_read_bounded(r, 0, TSF_MAX_COVARIATES, "n_cov");
		A->season_period = tsf_read_finite(r, "season_length");
		A->season_s0 = tsf_read_finite(r, "season_phase");
		A->ar.m = 2 * A->harmonics + A->n_cov;
		if (A->ar.m == 0)
			tsf_read_corrupt(r, "The AR model's exogenous section is empty.");
		if (A->harmonics > 0 ?
			!(A->season_period >= 2 && A->season_period <= 1e9 &&
			  2.0 * A->harmonics < A->season_period &&
			  A->season_s0 >= 0 && A->season_s0 < 1) :
			A->season_period != 0 || A->season_s0 != 0)
			tsf_read_corrupt(r, "Invalid AR season.");
	}
	if (A->has_var && p == 0)
		tsf_read_corrupt(r, "A level variance needs an order of at least 1.");
	A->var.ks = A->has_var ? 2 * A->harmonics : 0;
	/* bound the allocations by what is really there */
	if (r->left != (Size) p * 16 + (Size) A->ar.m * 8 +
		(A->has_var ? (Size) (A->var.ks + 4) * 8 : 0))
		tsf_read_corrupt(r, "The AR payload has the wrong length.");
	A->ar.phi = palloc(sizeof(double) * (p + 1));
	A->ar.beta = palloc(sizeof(double) * (A->ar.m + 1));
	A->hist = palloc(sizeof(double) * (p + 1));
	for (uint32 i = 0; i < p; i++)
		A->ar.phi[i] = tsf_read_finite(r, "phi");
	for (int j = 0; j < A->ar.m; j++)
		A->ar.beta[j] = tsf_read_finite(r, "beta");
	for (uint32 i = 0; i < p; i++)
		A->hist[i] = tsf_read_finite(r, "history");
	if (A->has_var)
	{
		A->var.lo = tsf_read_finite(r, "variance bound");
		A->var.hi = tsf_read_finite(r, "variance bound");
		A->var.g = palloc(sizeof(double) * (A->var.ks + 2));
		for (int j = 0; j < A->var.ks + 2; j++)
			A->var.g[j] = tsf_read_finite(r, "variance coefficient");
		if (!tsf_ar_variance_ok(&A->var))
			tsf_read_corrupt(r, "Invalid AR level variance.");
	}
	m->payload = A;
}

static void
ar_free(TsfModel *m)
{
	TsfAr	   *A = ar_of(m);

	pfree(A->ar.phi);
	pfree(A->ar.beta);
	pfree(A->hist);
	if (A->has_var)
		pfree(A->var.g);
	pfree(A);
}

/* ---- views ---- */

static double
ar_json_numbers(const TsfModel *m)
{
	return 2.0 * ar_of(m)->ar.p + 2.0 * ar_of(m)->ar.m + ar_of(m)->var.ks + 4;
}

static void
ar_to_jsonb(TsfJson *js, const TsfModel *m, bool full)
{
	static const char *const methods[] = {"ols", "yule_walker"};
	const TsfAr *A = ar_of(m);

	tsf_json_kv_str(js, "method", methods[A->method]);
	tsf_json_kv_int(js, "order", A->ar.p);
	tsf_json_kv_str(js, "order_selection", A->max_order > 0 ? "aic" : "fixed");
	if (A->max_order > 0)
		tsf_json_kv_int(js, "max_order", A->max_order);
	tsf_json_kv_bool(js, "intercept", A->ar.intercept);
	tsf_json_kv_num(js, "constant", A->ar.c);
	if (A->method == TSF_AR_YULE_WALKER)
		tsf_json_kv_num(js, "mean", A->ar.mean);
	tsf_json_kv_doubles(js, "coefficients", A->ar.phi, A->ar.p);
	if (A->ar.m > 0)
	{
		/* the keys of a model with exogenous terms only: others show as before */
		tsf_json_kv_int(js, "harmonics", A->harmonics);
		if (A->harmonics > 0)
			tsf_json_kv_num(js, "season_length", A->season_period);
		tsf_json_kv_int(js, "n_covariates", A->n_cov);
		tsf_json_key(js, "exog");
		tsf_json_begin_array(js);
		for (int j = 1; j <= A->harmonics; j++)
		{
			tsf_json_str(js, psprintf("sin_%d", j));
			tsf_json_str(js, psprintf("cos_%d", j));
		}
		for (int j = 1; j <= A->n_cov; j++)
			tsf_json_str(js, psprintf("covariate_%d", j));
		tsf_json_end_array(js);
		tsf_json_kv_doubles(js, "exog_coefficients", A->ar.beta, A->ar.m);
	}
	tsf_json_kv_num(js, "sigma2", A->ar.sigma2);
	if (A->has_var)
	{
		/* the key of a model with it only: others show as before */
		tsf_json_kv_str(js, "variance", "level");
		tsf_json_kv_doubles(js, "variance_coefficients", A->var.g, A->var.ks + 2);
		tsf_json_key(js, "variance_lag_range");
		tsf_json_begin_array(js);
		tsf_json_num(js, A->var.lo);
		tsf_json_num(js, A->var.hi);
		tsf_json_end_array(js);
	}
	tsf_json_kv_num(js, "aic", A->ar.aic);
	tsf_json_kv_int(js, "nobs", A->ar.nobs);
	if (full)
	{
		tsf_json_kv_doubles(js, "history", A->hist, A->ar.p);
		if (A->harmonics > 0)
			tsf_json_kv_num(js, "season_phase", A->season_s0);
	}
}

/* ---- inference ---- */

/* the user's covariates: the harmonics are the model's own */
static int
ar_n_covariates(const TsfModel *m)
{
	return ar_of(m)->n_cov;
}

static double
ar_forecast_bytes(const TsfModel *m, int horizon, char **detail)
{
	const TsfAr *A = ar_of(m);

	return sizeof(double) * ((double) A->ar.p + (3.0 + A->ar.m) * horizon);
}

static void
ar_forecast(const TsfModel *m, int horizon, double level, const double *fcov,
			double *mean, double *lo, double *hi)
{
	const TsfAr *A = ar_of(m);
	double	   *se = palloc(sizeof(double) * horizon);
	double	   *work = palloc(sizeof(double) * (A->ar.p + 3 * (Size) horizon));
	double	   *xf = NULL;

	/*
	 * the normal quantile of (1 + level) / 2 from the lower tail: 0.5 +
	 * level / 2 rounds to 1 for a level within 1e-16 of 1, whose quantile is
	 * infinite, while (1 - level) / 2 stays exact
	 */
	double		z = -tsf_qnorm((1.0 - level) / 2.0);

	/* the future steps' regressors: (horizon, m) */
	if (A->ar.m > 0)
	{
		xf = palloc(sizeof(double) * A->ar.m * (Size) horizon);
		ar_exog_rows(A, tsf_model_next_step(m), horizon, fcov, xf);
	}
	check_status(tsf_ar_forecast_var(&A->ar, A->has_var ? &A->var : NULL, A->hist, horizon,
									 xf, mean, se, work, &ar_poll), A->ar.p, A->ar.m);
	for (int h = 0; h < horizon; h++)
	{
		lo[h] = mean[h] - z * se[h];
		hi[h] = mean[h] + z * se[h];
		if ((h & 0xFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(se);
	pfree(work);
	if (xf)
		pfree(xf);
}

/*
 * Sample paths: the fitted recursion with Gaussian innovations of variance
 * sigma2 (tsf_ar_simulate), the regressors those of the forecast.  The
 * draws are pg_prng's (seeded with seed), made normal by Box-Muller,
 * written into paths and turned into the paths in place; interrupts are
 * checked between paths through the core's poll.
 */
static void
ar_simulate(const TsfModel *m, int horizon, int npaths, uint64 seed,
			const double *fcov, double *paths)
{
	const TsfAr *A = ar_of(m);
	double	   *work = palloc(sizeof(double) * (A->ar.p + horizon + 1));
	double	   *xf = NULL;
	Size		nz = (Size) npaths * horizon;
	pg_prng_state rng;

	pg_prng_seed(&rng, seed);
	for (Size i = 0; i < nz; i += 2)
	{
		/* Box-Muller: 1 - u in (0, 1], so the log is finite */
		double		r = sqrt(-2.0 * log(1.0 - pg_prng_double(&rng)));
		double		a = 2.0 * M_PI * pg_prng_double(&rng);

		paths[i] = r * cos(a);
		if (i + 1 < nz)
			paths[i + 1] = r * sin(a);
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	if (A->ar.m > 0)
	{
		xf = palloc(sizeof(double) * A->ar.m * (Size) horizon);
		ar_exog_rows(A, tsf_model_next_step(m), horizon, fcov, xf);
	}
	check_status(tsf_ar_simulate_var(&A->ar, A->has_var ? &A->var : NULL, A->hist, horizon,
									 xf, npaths, paths, paths, work, &ar_poll),
				 A->ar.p, A->ar.m);
	pfree(work);
	if (xf)
		pfree(xf);
}

/*
 * A row's prediction uses the p rows before it, which must be exactly the
 * steps k - p .. k - 1 of the grid, all with values; else it is NULL.  Its
 * exogenous terms are its own step's: the season's, and its covariates.
 */
static void
ar_predict(const TsfModel *m, int64 rows, const int64 *k, const double *y,
		   const bool *ynull, const double *cov, double *pred, bool *isnull)
{
	const TsfAr *A = ar_of(m);
	int			p = A->ar.p;
	double	   *x = palloc(sizeof(double) * (A->ar.m + 1));

	for (int64 i = 0; i < rows; i++)
	{
		bool		ok = i >= p && (p == 0 || k[i] - k[i - p] == p);

		for (int j = 1; ok && j <= p; j++)
			ok = !ynull[i - j];
		isnull[i] = !ok;
		if (ok && A->ar.m > 0)
		{
			ar_exog_rows(A, k[i], 1, cov ? cov + i * A->n_cov : NULL, x);
			pred[i] = tsf_check_prediction(tsf_back_transform(m->transform,
															  tsf_ar_predict1_exog(&A->ar, y + i - p, x)), i);
		}
		else if (ok)
			pred[i] = tsf_check_prediction(tsf_back_transform(m->transform,
															  tsf_ar_predict1(&A->ar, y + i - p)), i);
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(x);
}

/*
 * The AR state is its last p values: the new rows' last p, or, when fewer
 * rows continue right after the state, the stored values shifted by them.
 * The exogenous terms are no state: the covariates of the new rows (which
 * update.c has checked to be the model's count) are not needed, and the
 * harmonics follow the step.
 */
static void
ar_update(TsfModel *m, int64 rows, const int64 *k, const double *y, const double *cov)
{
	TsfAr	   *A = ar_of(m);
	int			p = A->ar.p;

	if (rows >= p)
	{
		memcpy(A->hist, y + (rows - p), sizeof(double) * p);
		return;
	}
	if (k[0] != tsf_model_next_step(m))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg_plural("an AR(%d) model needs the %d step before its forecast",
							   "an AR(%d) model needs the %d steps before its forecast",
							   p, p, p),
				 errdetail_plural("The new rows hold " INT64_FORMAT " step, after a gap since the model's last step %s.",
								  "The new rows hold " INT64_FORMAT " steps, after a gap since the model's last step %s.",
								  rows, rows,
								  tsf_ts_to_cstring(m->ts_type,
													tsf_freq_advance(m->ts_type, &m->freq, m->first_ts,
																	 tsf_model_next_step(m) - 1))),
				 errhint("Pass the rows from the step after the model's last one, or at least %d.", p)));
	memmove(A->hist, A->hist + rows, sizeof(double) * (p - rows));
	memcpy(A->hist + (p - rows), y, sizeof(double) * rows);
}

/* ---- a job's scoring and provenance ---- */

static int64
ar_scored_from(const TsfModel *m)
{
	return 0;
}

static void
ar_job_metrics(TsfJson *js, const TsfModel *m)
{
}

static bool
ar_seed(const TsfModel *m, int32 *seed)
{
	return false;
}

const TsfKind tsf_kind_ar = {
	.id = 1,
	.name = "ar",
	.gpu = false,
	.check_options = ar_check_options,
	.fit = ar_fit,
	.fit_batch = NULL,
	.stored_bytes = ar_stored_bytes,
	.write = ar_write,
	.read = ar_read,
	.free = ar_free,
	.json_numbers = ar_json_numbers,
	.to_jsonb = ar_to_jsonb,
	.n_covariates = ar_n_covariates,
	.forecast_bytes = ar_forecast_bytes,
	.forecast = ar_forecast,
	.simulate = ar_simulate,
	.predict = ar_predict,
	.update = ar_update,
	.scored_from = ar_scored_from,
	.job_metrics = ar_job_metrics,
	.seed = ar_seed,
};

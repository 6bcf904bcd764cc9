/*
 * forecast.c
 *		forecast(model, horizon [, level]) and forecast(model, horizon,
 *		level, future_covariates): the next periods after the training data,
 *		with prediction intervals.
 *
 * For an AR model the point forecast is the recursion of the fitted
 * equation and the interval mean +/- z se, se[h] = sqrt(sigma2 *
 * sum_{j<h} psi[j]^2) with psi the MA(inf) weights and z the normal quantile
 * of (1 + level) / 2 (statsmodels' AutoReg and R's predict.ar).  Under the
 * log transform the three values are exponentiated: the point forecast is
 * then the median, not the mean, of the forecast distribution.
 *
 * For an LSTM model the point forecast is the network run recursively from
 * its state after the training data, without dropout: the prediction of
 * each step is the next step's lagged input, the season inputs come from the
 * future steps' timestamps, the covariates from future_covariates.  The
 * interval is Monte Carlo: TSF_MC_SAMPLES sample paths, each with dropout
 * on (Monte Carlo dropout, the model's uncertainty) and a Gaussian
 * innovation of the training residuals' standard deviation added to every
 * step (the noise), each sample fed back as the next lag, so the spread
 * compounds with the horizon as it does for AR.  lo and hi are the sample
 * quantiles (1 -/+ level) / 2 of each step (type 7, linear interpolation),
 * back-scaled and back-transformed (quantiles commute with both).  The
 * sampler is seeded from the model's seed: the same model gives the same
 * intervals.
 */
#include "tsforecast.h"

#include "catalog/pg_type_d.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(tsf_forecast);

/* Monte Carlo sample paths behind an LSTM forecast's interval */
#define TSF_MC_SAMPLES		200
/* the forecast sampler's seed is the model's seed ^ this */
#define MC_SEED_XOR			UINT64CONST(0x2545F4914F6CDD1D)

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

/* a standard normal draw (Box-Muller, one of the pair) */
static double
gauss(tsf_rng *rng)
{
	double		u1 = 1.0 - tsf_rng_uniform(rng);	/* (0, 1] */
	double		u2 = tsf_rng_uniform(rng);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	/* NaN (from a hostile but valid model) sorts last, consistently */
	if (isnan(x) || isnan(y))
		return isnan(x) - isnan(y);
	return x < y ? -1 : x > y ? 1 : 0;
}

/* the q-quantile of sorted v (n), type 7 */
static double
quantile(const double *v, int n, double q)
{
	double		h = (n - 1) * q;
	int			lo = (int) floor(h);

	if (lo >= n - 1)
		return v[n - 1];
	return v[lo] + (h - lo) * (v[lo + 1] - v[lo]);
}

/*
 * Check future_covariates against the model and return them as a
 * (horizon, n_cov) row-major array.  A 2-D array must be exactly
 * [horizon][n_cov]; a model with one covariate also takes a 1-D array of
 * horizon values.
 */
static const double *
future_covariates(const TsfModel *m, ArrayType *a, int horizon)
{
	int			ndim = ARR_NDIM(a);
	int			rows = ndim >= 1 ? ARR_DIMS(a)[0] : 0;
	int			cols = ndim == 2 ? ARR_DIMS(a)[1] : 1;

	if (m->kind != TSF_KIND_LSTM || m->n_cov == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model was trained without covariates"),
				 errhint("Call forecast(model, horizon, level) without future_covariates.")));
	if (ARR_ELEMTYPE(a) != FLOAT8OID)
		elog(ERROR, "future_covariates is not float8[]");
	if (!(ndim == 2 || (ndim == 1 && m->n_cov == 1)) || rows != horizon || cols != m->n_cov)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("future_covariates must have one row of %d covariate%s per forecast step",
						m->n_cov, m->n_cov == 1 ? "" : "s"),
				 errdetail("The horizon is %d; the array has %d dimension%s, [%d][%d].",
						   horizon, ndim, ndim == 1 ? "" : "s", rows, ndim == 2 ? cols : 0),
				 errhint("Pass a %d x %d float8[][]: one row per step, one column per covariate.", horizon, m->n_cov)));
	{
		const double *v = tsf_covariate_values(a, rows * cols, "future_covariates");

		/* scaled as in training, each must fit the core's scalar type */
		for (int h = 0; h < rows; h++)
			for (int c = 0; c < cols; c++)
			{
				double		range = m->cov_max[c] - m->cov_min[c];
				double		x = v[(size_t) h * cols + c] - m->cov_min[c];

				if (range > 0)
					x /= range;
				if (!(fabs(x) <= TSF_REAL_MAX))
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("future covariate %d at step %d is out of range for the model", c + 1, h + 1),
							 errdetail("Its value %g, scaled by the covariate's training range [%g, %g], overflows the network's precision.",
									   v[(size_t) h * cols + c], m->cov_min[c], m->cov_max[c])));
			}
		return v;
	}
}

/*
 * A forecast value (transformed scale, or back-transformed) that is not
 * finite is an error, as float8 arithmetic's overflow is: an explosive
 * model, or a hostile but readable one, never prints NaN or Infinity
 */
static void
check_forecast_value(double v, int step)
{
	if (!isfinite(v))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("forecast is out of range at step %d", step),
				 errdetail("The model's recursion overflowed float8 there, or its interval did."),
				 errhint("Forecast a shorter horizon.")));
}

/*
 * The scaled lag a forecast step feeds to the network: it must fit the
 * core's scalar type, else the network would compute with an infinity
 */
static double
lag_input(double lag, int step)
{
	if (!(fabs(lag) <= TSF_REAL_MAX))
		check_forecast_value(NAN, step);
	return lag;
}

/*
 * An LSTM model's forecast into mean, lo, hi (horizon; transformed scale):
 * the deterministic recursion, then the Monte Carlo paths.  Interrupts are
 * checked at every step: a step of a wide network takes milliseconds, and
 * the paths take TSF_MC_SAMPLES + 1 times the horizon's steps.
 */
static void
forecast_lstm(TsfModel *m, int horizon, double level, const double *fcov,
			  double *mean, double *lo, double *hi)
{
	tsf_nn		nn;
	size_t		S = tsf_nn_state_count(&m->nn);
	tsf_real   *state = palloc(sizeof(tsf_real) * S);
	tsf_real   *x = palloc(sizeof(tsf_real) * m->nn.n_in);
	double	   *paths = palloc_extended(sizeof(double) * TSF_MC_SAMPLES * (size_t) horizon,
										MCXT_ALLOC_HUGE);	/* (horizon, samples) */
	tsf_rng		rng;
	double		lag;

	tsf_lstm_bind(&nn, m);

	/* the point forecast: no dropout, no noise */
	memcpy(state, m->state, sizeof(tsf_real) * S);
	lag = m->last_y;
	for (int h = 0; h < horizon; h++)
	{
		tsf_real	out;

		CHECK_FOR_INTERRUPTS();
		tsf_lstm_input(m, m->n + h, lag_input(lag, h + 1),
					   fcov ? fcov + (size_t) h * m->n_cov : NULL, x);
		tsf_nn_step(&nn, state, x, NULL, &out);
		lag = tsf_lstm_output(m, out, lag);
		mean[h] = tsf_lstm_unscale(m, lag);
		check_forecast_value(mean[h], h + 1);
	}

	/* sample paths: dropout masks and innovations from one seeded stream */
	tsf_rng_seed(&rng, (uint64) m->seed ^ MC_SEED_XOR);
	for (int s = 0; s < TSF_MC_SAMPLES; s++)
	{
		memcpy(state, m->state, sizeof(tsf_real) * S);
		lag = m->last_y;
		for (int h = 0; h < horizon; h++)
		{
			tsf_real	out;
			double		v;

			CHECK_FOR_INTERRUPTS();
			tsf_lstm_input(m, m->n + h, lag_input(lag, h + 1),
						   fcov ? fcov + (size_t) h * m->n_cov : NULL, x);
			tsf_nn_step(&nn, state, x, &rng, &out);
			v = tsf_lstm_output(m, out, lag) + m->resid_sigma * gauss(&rng);
			paths[(size_t) h * TSF_MC_SAMPLES + s] = v;
			lag = v;
		}
	}
	for (int h = 0; h < horizon; h++)
	{
		double	   *v = paths + (size_t) h * TSF_MC_SAMPLES;

		qsort(v, TSF_MC_SAMPLES, sizeof(double), cmp_double);
		lo[h] = tsf_lstm_unscale(m, quantile(v, TSF_MC_SAMPLES, (1.0 - level) / 2.0));
		hi[h] = tsf_lstm_unscale(m, quantile(v, TSF_MC_SAMPLES, (1.0 + level) / 2.0));
		check_forecast_value(lo[h], h + 1);
		check_forecast_value(hi[h], h + 1);
	}
	pfree(paths);
}

Datum
tsf_forecast(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TsfModel   *m = tsf_model_from_datum(PG_GETARG_DATUM(0));
	int32		horizon = PG_GETARG_INT32(1);
	double		level = PG_NARGS() > 2 ? PG_GETARG_FLOAT8(2) : 0.95;
	const double *fcov = NULL;
	double	   *mean,
			   *lo,
			   *hi;

	tsf_check_horizon(horizon);
	tsf_check_level(level);
	if (PG_NARGS() > 3)
		fcov = future_covariates(m, PG_GETARG_ARRAYTYPE_P(3), horizon);
	else if (m->kind == TSF_KIND_LSTM && m->n_cov > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model was trained with %d covariate%s: forecasting it needs their future values",
						m->n_cov, m->n_cov == 1 ? "" : "s"),
				 errhint("Use forecast(model, horizon, level, future_covariates), with a row of %d covariate%s per step.",
						 m->n_cov, m->n_cov == 1 ? "" : "s")));

	/* the arrays below, and the sample paths of an LSTM's interval */
	tsf_check_memory(sizeof(double) * (double) horizon *
					 (5.0 + (m->kind == TSF_KIND_LSTM ? TSF_MC_SAMPLES : 0)) +
					 (m->kind == TSF_KIND_AR ? sizeof(double) * (double) m->ar.p :
					  (double) tsf_nn_workspace_bytes(&m->nn, 1)),
					 TSF_MEM_FORECAST,
					 m->kind == TSF_KIND_LSTM ?
					 psprintf("A horizon of %d steps takes %d sample paths.", horizon, TSF_MC_SAMPLES) :
					 psprintf("A horizon of %d steps.", horizon));
	InitMaterializedSRF(fcinfo, 0);

	mean = palloc(sizeof(double) * horizon);
	lo = palloc(sizeof(double) * horizon);
	hi = palloc(sizeof(double) * horizon);
	if (m->kind == TSF_KIND_AR)
	{
		double	   *se = palloc(sizeof(double) * horizon);
		double	   *work = palloc(sizeof(double) * (m->ar.p + 2 * horizon));
		/*
		 * the normal quantile of (1 + level) / 2 from the lower tail: 0.5 +
		 * level / 2 rounds to 1 for a level within 1e-16 of 1, whose
		 * quantile is infinite, while (1 - level) / 2 stays exact
		 */
		double		z = -tsf_qnorm((1.0 - level) / 2.0);

		tsf_ar_forecast(&m->ar, m->ar_hist, horizon, mean, se, work);
		for (int h = 0; h < horizon; h++)
		{
			lo[h] = mean[h] - z * se[h];
			hi[h] = mean[h] + z * se[h];
			if ((h & 0xFFF) == 0)
				CHECK_FOR_INTERRUPTS();
		}
	}
	else
		forecast_lstm(m, horizon, level, fcov, mean, lo, hi);

	/*
	 * Step h + 1 after the last training point is grid step n + h, counted
	 * from the first: calendar months keep the origin's day (monthly from the
	 * 30th, trained up to 02-29, go on at 03-30, not 03-29), as predict()
	 * places rows.
	 */
	for (int h = 0; h < horizon; h++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};
		/* counted from the grid's origin, as training and predict() do */
		int64		ts = tsf_freq_advance(m->ts_type, &m->freq, m->first_ts, m->n + h);
		double		v = tsf_back_transform(m->transform, mean[h]);
		double		l = tsf_back_transform(m->transform, lo[h]);
		double		u = tsf_back_transform(m->transform, hi[h]);

		check_forecast_value(v, h + 1);
		check_forecast_value(l, h + 1);
		check_forecast_value(u, h + 1);
		values[0] = Int32GetDatum(h + 1);
		values[1] = tsf_ts_to_timestamptz(m->ts_type, ts, &nulls[1]);
		values[2] = Float8GetDatum(v);
		values[3] = Float8GetDatum(l);
		values[4] = Float8GetDatum(u);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

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
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type_d.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/tuplestore.h"

#include "forecast.h"
#include "guard.h"
#include "kind.h"
#include "model.h"
#include "options.h"
#include "series.h"

PG_FUNCTION_INFO_V1(tsf_forecast);

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

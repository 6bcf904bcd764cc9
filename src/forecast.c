/*
 * forecast.c
 *		forecast(model, horizon [, level]): the next periods after the
 *		training data, with prediction intervals.
 *
 * For an AR model the point forecast is the recursion of the fitted
 * equation and the interval mean +/- z se, se[h] = sqrt(sigma2 *
 * sum_{j<h} psi[j]^2) with psi the MA(inf) weights and z the normal quantile
 * of (1 + level) / 2 (statsmodels' AutoReg and R's predict.ar).  Under the
 * log transform the three values are exponentiated: the point forecast is
 * then the median, not the mean, of the forecast distribution.
 */
#include "tsforecast.h"

#include "funcapi.h"
#include "utils/tuplestore.h"

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

Datum
tsf_forecast(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TsfModel   *m = tsf_model_from_datum(PG_GETARG_DATUM(0));
	int32		horizon = PG_GETARG_INT32(1);
	double		level = PG_NARGS() > 2 ? PG_GETARG_FLOAT8(2) : 0.95;
	double	   *mean,
			   *se,
			   *work;
	double		z;

	if (horizon < 1 || horizon > TSF_MAX_HORIZON)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for horizon: %d", horizon),
				 errdetail("Horizon must be between 1 and %d.", TSF_MAX_HORIZON)));
	tsf_check_level(level);
	z = tsf_qnorm(0.5 + level / 2.0);

	InitMaterializedSRF(fcinfo, 0);

	mean = palloc(sizeof(double) * horizon);
	se = palloc(sizeof(double) * horizon);
	work = palloc(sizeof(double) * (m->ar.p + 2 * horizon));
	tsf_ar_forecast(&m->ar, m->ar_hist, horizon, mean, se, work);

	for (int h = 0; h < horizon; h++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};
		int64		ts = tsf_freq_advance(m->ts_type, &m->freq, m->last_ts, h + 1);

		values[0] = Int32GetDatum(h + 1);
		values[1] = tsf_ts_to_timestamptz(m->ts_type, ts, &nulls[1]);
		values[2] = Float8GetDatum(tsf_back_transform(m->transform, mean[h]));
		values[3] = Float8GetDatum(tsf_back_transform(m->transform, mean[h] - z * se[h]));
		values[4] = Float8GetDatum(tsf_back_transform(m->transform, mean[h] + z * se[h]));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

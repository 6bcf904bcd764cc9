/*
 * metrics.c
 *		Accuracy metrics as aggregates over (actual, predicted).
 *
 * All metrics share one float8[] state, updated in place (as PostgreSQL's
 * own float8_accum does), so they combine across parallel workers without
 * serialization code:
 *
 *	[0] n			pairs seen (rows with a NULL are skipped: STRICT)
 *	[1] mean_a		running mean of actual (Welford)
 *	[2] m2_a		sum (a - mean_a)^2
 *	[3] mean_p		running mean of predicted
 *	[4] m2_p		sum (p - mean_p)^2
 *	[5] c_ap		sum (a - mean_a)(p - mean_p)
 *	[6] sse			sum (a - p)^2
 *	[7] sae			sum |a - p|
 *	[8] sape		sum |a - p| / |a| over a != 0
 *	[9] n_ape		pairs with a != 0
 *	[10] ssmape		sum 2 |a - p| / (|a| + |p|) over |a| + |p| > 0
 *
 * Two states merge by Chan et al.'s pairwise formulas.  The metrics:
 *	r2, nse		1 - SSE / SST  (sklearn's r2_score; Nash-Sutcliffe efficiency)
 *	rmse, mae	root mean squared error, mean absolute error
 *	mape, smape	percent; mape skips actual = 0
 *	kge			Kling-Gupta efficiency (Gupta et al. 2009):
 *				1 - sqrt((r - 1)^2 + (sd_p/sd_a - 1)^2 + (mean_p/mean_a - 1)^2)
 */
#include "tsforecast.h"

#include "catalog/pg_type_d.h"
#include "utils/array.h"
#include "utils/float.h"

#define NSTATE 11

PG_FUNCTION_INFO_V1(tsf_metrics_accum);
PG_FUNCTION_INFO_V1(tsf_metrics_combine);
PG_FUNCTION_INFO_V1(tsf_r2_final);
PG_FUNCTION_INFO_V1(tsf_rmse_final);
PG_FUNCTION_INFO_V1(tsf_mae_final);
PG_FUNCTION_INFO_V1(tsf_mape_final);
PG_FUNCTION_INFO_V1(tsf_smape_final);
PG_FUNCTION_INFO_V1(tsf_kge_final);

/*
 * The state's values, checked: the support functions can be called by
 * anyone with any float8[], so a malformed state is the caller's error
 */
static double *
state_values(ArrayType *a)
{
	double	   *s;

	if (ARR_NDIM(a) != 1 || ARR_DIMS(a)[0] != NSTATE || ARR_HASNULL(a) ||
		ARR_ELEMTYPE(a) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid state of an accuracy metric aggregate"),
				 errdetail("The state must be an array of %d float8 values without NULLs.", NSTATE)));
	s = (double *) ARR_DATA_PTR(a);
	for (int i = 0; i < NSTATE; i++)
		if (!isfinite(s[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid state of an accuracy metric aggregate"),
					 errdetail("Element %d is not finite.", i + 1)));
	if (s[0] < 0 || s[0] != floor(s[0]) || s[9] < 0 || s[9] > s[0])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid state of an accuracy metric aggregate"),
				 errdetail("Its counts must be whole numbers, at least 0.")));
	return s;
}

/*
 * A state whose sums overflowed float8 is an error, as float8_accum's is
 * (values around 1e155 and beyond square to infinity)
 */
static void
check_state(const double *s)
{
	for (int i = 0; i < NSTATE; i++)
		if (!isfinite(s[i]))
			float_overflow_error();
}

Datum
tsf_metrics_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *a;
	double	   *s;
	double		act = PG_GETARG_FLOAT8(1);
	double		pre = PG_GETARG_FLOAT8(2);
	double		da,
				dp,
				e;

	/* in an aggregate the state is ours to update in place (float8_accum) */
	if (AggCheckCallContext(fcinfo, NULL))
		a = PG_GETARG_ARRAYTYPE_P(0);
	else
		a = PG_GETARG_ARRAYTYPE_P_COPY(0);
	s = state_values(a);
	if (!isfinite(act) || !isfinite(pre))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN or infinity not allowed in accuracy metrics")));

	e = act - pre;
	s[0] += 1.0;
	da = act - s[1];
	s[1] += da / s[0];
	dp = pre - s[3];
	s[3] += dp / s[0];
	s[2] += da * (act - s[1]);
	s[4] += dp * (pre - s[3]);
	s[5] += da * (pre - s[3]);
	s[6] += e * e;
	s[7] += fabs(e);
	if (act != 0.0)
	{
		s[8] += fabs(e / act);
		s[9] += 1.0;
	}
	if (fabs(act) + fabs(pre) > 0.0)
		s[10] += 2.0 * fabs(e) / (fabs(act) + fabs(pre));
	check_state(s);
	PG_RETURN_ARRAYTYPE_P(a);
}

Datum
tsf_metrics_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *a1 = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *a2 = PG_GETARG_ARRAYTYPE_P(1);
	ArrayType  *r;
	double	   *x = state_values(a1);
	double	   *y = state_values(a2);
	double	   *s;
	double		n1 = x[0],
				n2 = y[0],
				n = n1 + n2;

	if (AggCheckCallContext(fcinfo, NULL))
		r = a1;
	else
		r = PG_GETARG_ARRAYTYPE_P_COPY(0);
	s = state_values(r);
	if (n2 == 0.0)
		PG_RETURN_ARRAYTYPE_P(r);
	if (n1 == 0.0)
	{
		memcpy(s, y, sizeof(double) * NSTATE);
		PG_RETURN_ARRAYTYPE_P(r);
	}
	{
		double		da = y[1] - x[1];
		double		dp = y[3] - x[3];
		double		w = n1 * n2 / n;

		s[0] = n;
		s[1] = x[1] + da * n2 / n;
		s[2] = x[2] + y[2] + da * da * w;
		s[3] = x[3] + dp * n2 / n;
		s[4] = x[4] + y[4] + dp * dp * w;
		s[5] = x[5] + y[5] + da * dp * w;
		for (int i = 6; i < NSTATE; i++)
			s[i] = x[i] + y[i];
	}
	check_state(s);
	PG_RETURN_ARRAYTYPE_P(r);
}

#define FINAL_STATE(s) \
	double *s = state_values(PG_GETARG_ARRAYTYPE_P(0)); \
	if (s[0] == 0.0) \
		PG_RETURN_NULL()

/* 1 - SSE/SST; NULL when the actual values do not vary */
Datum
tsf_r2_final(PG_FUNCTION_ARGS)
{
	FINAL_STATE(s);
	if (s[2] <= 0.0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(1.0 - s[6] / s[2]);
}

Datum
tsf_rmse_final(PG_FUNCTION_ARGS)
{
	FINAL_STATE(s);
	PG_RETURN_FLOAT8(sqrt(s[6] / s[0]));
}

Datum
tsf_mae_final(PG_FUNCTION_ARGS)
{
	FINAL_STATE(s);
	PG_RETURN_FLOAT8(s[7] / s[0]);
}

Datum
tsf_mape_final(PG_FUNCTION_ARGS)
{
	FINAL_STATE(s);
	if (s[9] == 0.0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(100.0 * s[8] / s[9]);
}

Datum
tsf_smape_final(PG_FUNCTION_ARGS)
{
	FINAL_STATE(s);
	PG_RETURN_FLOAT8(100.0 * s[10] / s[0]);
}

Datum
tsf_kge_final(PG_FUNCTION_ARGS)
{
	double		r,
				alpha,
				beta;

	FINAL_STATE(s);
	if (s[2] <= 0.0 || s[4] <= 0.0 || s[1] == 0.0)
		PG_RETURN_NULL();
	r = s[5] / sqrt(s[2] * s[4]);
	alpha = sqrt(s[4] / s[2]);
	beta = s[3] / s[1];
	PG_RETURN_FLOAT8(1.0 - sqrt((r - 1) * (r - 1) + (alpha - 1) * (alpha - 1) +
								(beta - 1) * (beta - 1)));
}

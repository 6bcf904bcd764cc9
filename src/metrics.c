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
 * Two states merge by Chan et al.'s pairwise formulas.  The same sums, in
 * C (metrics.h), score a job's models, so that a job's stored metrics are
 * what these aggregates give over the same pairs.  The metrics:
 *	r2, nse		1 - SSE / SST  (sklearn's r2_score; Nash-Sutcliffe efficiency)
 *	rmse, mae	root mean squared error, mean absolute error
 *	mape, smape	percent; mape skips actual = 0
 *	kge			Kling-Gupta efficiency (Gupta et al. 2009):
 *				1 - sqrt((r - 1)^2 + (sd_p/sd_a - 1)^2 + (mean_p/mean_a - 1)^2)
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type_d.h"
#include "utils/array.h"
#include "utils/float.h"

#include "metrics.h"

#define NSTATE TSF_METRICS_NSTATE

PG_FUNCTION_INFO_V1(tsf_metrics_accum);
PG_FUNCTION_INFO_V1(tsf_metrics_combine);
PG_FUNCTION_INFO_V1(tsf_r2_final);
PG_FUNCTION_INFO_V1(tsf_rmse_final);
PG_FUNCTION_INFO_V1(tsf_mae_final);
PG_FUNCTION_INFO_V1(tsf_mape_final);
PG_FUNCTION_INFO_V1(tsf_smape_final);
PG_FUNCTION_INFO_V1(tsf_kge_final);

/* ---- the sums ---- */

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

/* add the pair (act, pre), both finite */
static void
state_add(double *s, double act, double pre)
{
	double		e = act - pre;
	double		da,
				dp;

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
}

/* s = the merge of x and y (s may be x) */
static void
state_merge(double *s, const double *x, const double *y)
{
	double		n1 = x[0],
				n2 = y[0],
				n = n1 + n2;
	double		da = y[1] - x[1];
	double		dp = y[3] - x[3];
	double		w;

	if (n2 == 0.0)
	{
		if (s != x)
			memcpy(s, x, sizeof(double) * NSTATE);
		return;
	}
	if (n1 == 0.0)
	{
		memcpy(s, y, sizeof(double) * NSTATE);
		return;
	}
	w = n1 * n2 / n;
	s[0] = n;
	s[1] = x[1] + da * n2 / n;
	s[2] = x[2] + y[2] + da * da * w;
	s[3] = x[3] + dp * n2 / n;
	s[4] = x[4] + y[4] + dp * dp * w;
	s[5] = x[5] + y[5] + da * dp * w;
	for (int i = 6; i < NSTATE; i++)
		s[i] = x[i] + y[i];
	check_state(s);
}

/* the metrics of a state; NaN where undefined */
static double
state_r2(const double *s)
{
	return s[0] > 0 && s[2] > 0 ? 1.0 - s[6] / s[2] : NAN;
}

static double
state_rmse(const double *s)
{
	return s[0] > 0 ? sqrt(s[6] / s[0]) : NAN;
}

static double
state_mae(const double *s)
{
	return s[0] > 0 ? s[7] / s[0] : NAN;
}

static double
state_mape(const double *s)
{
	return s[9] > 0 ? 100.0 * s[8] / s[9] : NAN;
}

static double
state_smape(const double *s)
{
	return s[0] > 0 ? 100.0 * s[10] / s[0] : NAN;
}

static double
state_kge(const double *s)
{
	double		r,
				alpha,
				beta;

	if (s[0] == 0 || s[2] <= 0.0 || s[4] <= 0.0 || s[1] == 0.0)
		return NAN;
	r = s[5] / sqrt(s[2] * s[4]);
	alpha = sqrt(s[4] / s[2]);
	beta = s[3] / s[1];
	return 1.0 - sqrt((r - 1) * (r - 1) + (alpha - 1) * (alpha - 1) +
					  (beta - 1) * (beta - 1));
}

/* ---- the C API (metrics.h) ---- */

void
tsf_metrics_init(TsfMetrics *m)
{
	memset(m->s, 0, sizeof(m->s));
}

void
tsf_metrics_add(TsfMetrics *m, double actual, double predicted)
{
	if (!isfinite(actual) || !isfinite(predicted))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN or infinity not allowed in accuracy metrics")));
	state_add(m->s, actual, predicted);
}

int64
tsf_metrics_count(const TsfMetrics *m)
{
	return (int64) m->s[0];
}

double
tsf_metrics_r2(const TsfMetrics *m)
{
	return state_r2(m->s);
}

double
tsf_metrics_rmse(const TsfMetrics *m)
{
	return state_rmse(m->s);
}

double
tsf_metrics_mae(const TsfMetrics *m)
{
	return state_mae(m->s);
}

/* ---- the aggregates ---- */

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

Datum
tsf_metrics_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *a;
	double		act = PG_GETARG_FLOAT8(1);
	double		pre = PG_GETARG_FLOAT8(2);
	TsfMetrics	m;

	/* in an aggregate the state is ours to update in place (float8_accum) */
	if (AggCheckCallContext(fcinfo, NULL))
		a = PG_GETARG_ARRAYTYPE_P(0);
	else
		a = PG_GETARG_ARRAYTYPE_P_COPY(0);
	memcpy(m.s, state_values(a), sizeof(m.s));
	tsf_metrics_add(&m, act, pre);
	memcpy(ARR_DATA_PTR(a), m.s, sizeof(m.s));
	PG_RETURN_ARRAYTYPE_P(a);
}

Datum
tsf_metrics_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *a1 = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *a2 = PG_GETARG_ARRAYTYPE_P(1);
	ArrayType  *r;
	double		x[NSTATE];

	memcpy(x, state_values(a1), sizeof(x));
	if (AggCheckCallContext(fcinfo, NULL))
		r = a1;
	else
		r = PG_GETARG_ARRAYTYPE_P_COPY(0);
	state_merge((double *) ARR_DATA_PTR(r), x, state_values(a2));
	PG_RETURN_ARRAYTYPE_P(r);
}

/* a final function: metric of the state, NULL where it is undefined */
static Datum
final_metric(FunctionCallInfo fcinfo, double (*metric) (const double *s))
{
	double		v = metric(state_values(PG_GETARG_ARRAYTYPE_P(0)));

	if (isnan(v))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(v);
}

/* 1 - SSE/SST; NULL when the actual values do not vary */
Datum
tsf_r2_final(PG_FUNCTION_ARGS)
{
	return final_metric(fcinfo, state_r2);
}

Datum
tsf_rmse_final(PG_FUNCTION_ARGS)
{
	return final_metric(fcinfo, state_rmse);
}

Datum
tsf_mae_final(PG_FUNCTION_ARGS)
{
	return final_metric(fcinfo, state_mae);
}

/* NULL when every actual value is 0 */
Datum
tsf_mape_final(PG_FUNCTION_ARGS)
{
	return final_metric(fcinfo, state_mape);
}

Datum
tsf_smape_final(PG_FUNCTION_ARGS)
{
	return final_metric(fcinfo, state_smape);
}

/* NULL when either side does not vary, or the actual mean is 0 */
Datum
tsf_kge_final(PG_FUNCTION_ARGS)
{
	return final_metric(fcinfo, state_kge);
}

/*
 * metrics.c
 *		Accuracy metrics as aggregates: over (actual, predicted), over
 *		prediction intervals, and MASE with its scale.
 *
 * The metrics over (actual, predicted) share one float8[] state, updated
 * in place (as PostgreSQL's own float8_accum does), so they combine across
 * parallel workers without serialization code:
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
 *
 * Beside them, metrics with arguments of their own, each with a small
 * float8[] state of sums (so they too combine without serialization):
 *	mase(actual, predicted, scale)		mean of |a - p| / scale
 *	coverage(actual, lo, hi)			fraction of rows with lo <= a <= hi
 *	winkler(actual, lo, hi, level)		mean interval score (Winkler 1972)
 * and naive_mae(ts, value [, season]), MASE's scale: the in-sample mean
 * absolute error of the (seasonal) naive forecast, over the rows in ts
 * order.  It collects the points in the training aggregates' state
 * (series.h), memory checked, and sorts them once in its final function.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type_d.h"
#include "utils/array.h"
#include "utils/float.h"
#include "utils/memutils.h"

#include "forecast.h"
#include "guard.h"
#include "metrics.h"
#include "series.h"

#define NSTATE TSF_METRICS_NSTATE

PG_FUNCTION_INFO_V1(tsf_metrics_accum);
PG_FUNCTION_INFO_V1(tsf_metrics_combine);
PG_FUNCTION_INFO_V1(tsf_r2_final);
PG_FUNCTION_INFO_V1(tsf_rmse_final);
PG_FUNCTION_INFO_V1(tsf_mae_final);
PG_FUNCTION_INFO_V1(tsf_mape_final);
PG_FUNCTION_INFO_V1(tsf_smape_final);
PG_FUNCTION_INFO_V1(tsf_kge_final);
PG_FUNCTION_INFO_V1(tsf_mase_transfn);
PG_FUNCTION_INFO_V1(tsf_mase_combinefn);
PG_FUNCTION_INFO_V1(tsf_mase_finalfn);
PG_FUNCTION_INFO_V1(tsf_coverage_transfn);
PG_FUNCTION_INFO_V1(tsf_coverage_combinefn);
PG_FUNCTION_INFO_V1(tsf_coverage_finalfn);
PG_FUNCTION_INFO_V1(tsf_winkler_transfn);
PG_FUNCTION_INFO_V1(tsf_winkler_combinefn);
PG_FUNCTION_INFO_V1(tsf_winkler_finalfn);
PG_FUNCTION_INFO_V1(tsf_naive_mae_transfn);
PG_FUNCTION_INFO_V1(tsf_naive_mae_combinefn);
PG_FUNCTION_INFO_V1(tsf_naive_mae_serialfn);
PG_FUNCTION_INFO_V1(tsf_naive_mae_deserialfn);
PG_FUNCTION_INFO_V1(tsf_naive_mae_finalfn);

/* ---- the sums ---- */

/*
 * A state whose sums overflowed float8 is an error, as float8_accum's is
 * (values around 1e155 and beyond square to infinity)
 */
static void
check_sums(const double *s, int nstate)
{
	for (int i = 0; i < nstate; i++)
		if (!isfinite(s[i]))
			float_overflow_error();
}

static void
check_state(const double *s)
{
	check_sums(s, NSTATE);
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

/* a malformed state: the caller's error */
static void
invalid_state(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid state of an accuracy metric aggregate"),
			 errdetail_internal("%s", detail)));
}

/* a count of a state: a whole number, at least 0 */
static bool
is_count(double c)
{
	return c >= 0 && c == floor(c);
}

/*
 * The values of a state of nstate float8, checked: the support functions
 * can be called by anyone with any float8[], so a malformed state is the
 * caller's error.  All finite, the first (the pairs or rows seen) a
 * count; each kind checks the rest.
 */
static double *
array_state(ArrayType *a, int nstate)
{
	double	   *s;

	if (ARR_NDIM(a) != 1 || ARR_DIMS(a)[0] != nstate || ARR_HASNULL(a) ||
		ARR_ELEMTYPE(a) != FLOAT8OID)
		invalid_state(psprintf("The state must be an array of %d float8 values without NULLs.", nstate));
	s = (double *) ARR_DATA_PTR(a);
	for (int i = 0; i < nstate; i++)
		if (!isfinite(s[i]))
			invalid_state(psprintf("Element %d is not finite.", i + 1));
	if (!is_count(s[0]))
		invalid_state("Its counts must be whole numbers, at least 0.");
	return s;
}

static double *
state_values(ArrayType *a)
{
	double	   *s = array_state(a, NSTATE);

	if (!is_count(s[9]) || s[9] > s[0])
		invalid_state("Its counts must be whole numbers, at least 0.");
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

/* ---- mase, coverage, winkler: states of their own ---- */

/*
 *	mase		[0] n, [1] sum |a - p| / scale
 *	coverage	[0] n, [1] rows with lo <= a <= hi
 *	winkler		[0] n, [1] sum of the interval scores, [2] the level (set by
 *				the first row; 0 until then)
 */
#define MASE_NSTATE		2
#define COVERAGE_NSTATE	2
#define WINKLER_NSTATE	3

/*
 * The state argument of a transition or combine function, to be updated:
 * in an aggregate it is ours to update in place (float8_accum); called
 * directly, a copy
 */
static ArrayType *
state_to_update(FunctionCallInfo fcinfo)
{
	if (AggCheckCallContext(fcinfo, NULL))
		return PG_GETARG_ARRAYTYPE_P(0);
	return PG_GETARG_ARRAYTYPE_P_COPY(0);
}

/* an actual value or a bound: NaN and infinity are refused, as by the others */
static void
check_value(double v)
{
	if (!isfinite(v))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN or infinity not allowed in accuracy metrics")));
}

/* a prediction interval: finite bounds, lo <= hi */
static void
check_interval(double lo, double hi)
{
	check_value(lo);
	check_value(hi);
	if (lo > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid prediction interval: lo is above hi"),
				 errdetail("The interval's bounds are lo = %s and hi = %s.",
						   float8out_internal(lo), float8out_internal(hi))));
}

static double *
mase_values(ArrayType *a)
{
	double	   *s = array_state(a, MASE_NSTATE);

	if (s[1] < 0)
		invalid_state("Its sum must not be negative.");
	return s;
}

static double *
coverage_values(ArrayType *a)
{
	double	   *s = array_state(a, COVERAGE_NSTATE);

	if (!is_count(s[1]) || s[1] > s[0])
		invalid_state("Its counts must be whole numbers, at least 0.");
	return s;
}

static double *
winkler_values(ArrayType *a)
{
	double	   *s = array_state(a, WINKLER_NSTATE);

	if (s[1] < 0)
		invalid_state("Its sum must not be negative.");
	if (s[0] > 0 && !(s[2] > 0 && s[2] < 1))
		invalid_state("Its level must be between 0 and 1, exclusive.");
	return s;
}

/* the rows' levels differ: a mean of scores at two levels means nothing */
static void
levels_differ(double first, double other, bool parallel)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("level differs between rows"),
			 parallel ?
			 errdetail("Two parts of the rows, scanned in parallel, have levels %s and %s.",
					   float8out_internal(first), float8out_internal(other)) :
			 errdetail("The first row has level %s; another has %s.",
					   float8out_internal(first), float8out_internal(other)),
			 errhint("Pass the same level on every row, e.g. as a constant.")));
}

/*
 * (state, actual, predicted, scale): |a - p| / scale.  The scale (the
 * training rows' naive_mae) must be positive and finite, or the row means
 * nothing.
 */
Datum
tsf_mase_transfn(PG_FUNCTION_ARGS)
{
	ArrayType  *a = state_to_update(fcinfo);
	double		act = PG_GETARG_FLOAT8(1);
	double		pre = PG_GETARG_FLOAT8(2);
	double		scale = PG_GETARG_FLOAT8(3);
	double	   *s = mase_values(a);

	check_value(act);
	check_value(pre);
	if (!(scale > 0 && isfinite(scale)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for scale: %s", float8out_internal(scale)),
				 errdetail("Scale must be positive and finite: the mean absolute error of a naive forecast over the training rows, as naive_mae() gives it.")));
	s[0] += 1;
	s[1] += fabs(act - pre) / scale;
	check_sums(s, MASE_NSTATE);
	PG_RETURN_ARRAYTYPE_P(a);
}

/* (state, actual, lo, hi): whether lo <= actual <= hi */
Datum
tsf_coverage_transfn(PG_FUNCTION_ARGS)
{
	ArrayType  *a = state_to_update(fcinfo);
	double		act = PG_GETARG_FLOAT8(1);
	double		lo = PG_GETARG_FLOAT8(2);
	double		hi = PG_GETARG_FLOAT8(3);
	double	   *s = coverage_values(a);

	check_value(act);
	check_interval(lo, hi);
	s[0] += 1;
	if (lo <= act && act <= hi)
		s[1] += 1;
	PG_RETURN_ARRAYTYPE_P(a);
}

/*
 * (state, actual, lo, hi, level): the interval (Winkler) score of a
 * central interval at level 1 - alpha,
 *	(hi - lo) + (2/alpha)(lo - a) if a < lo, + (2/alpha)(a - hi) if a > hi
 * (Winkler 1972; Gneiting and Raftery 2007).  Every row must give the same
 * level.
 */
Datum
tsf_winkler_transfn(PG_FUNCTION_ARGS)
{
	ArrayType  *a = state_to_update(fcinfo);
	double		act = PG_GETARG_FLOAT8(1);
	double		lo = PG_GETARG_FLOAT8(2);
	double		hi = PG_GETARG_FLOAT8(3);
	double		level = PG_GETARG_FLOAT8(4);
	double	   *s = winkler_values(a);
	double		alpha;
	double		score;

	check_value(act);
	check_interval(lo, hi);
	tsf_check_level(level);
	if (s[0] == 0)
		s[2] = level;
	else if (level != s[2])
		levels_differ(s[2], level, false);
	alpha = 1.0 - level;
	score = hi - lo;
	if (act < lo)
		score += 2.0 / alpha * (lo - act);
	else if (act > hi)
		score += 2.0 / alpha * (act - hi);
	s[0] += 1;
	s[1] += score;
	check_sums(s, WINKLER_NSTATE);
	PG_RETURN_ARRAYTYPE_P(a);
}

/* mase and coverage: both elements are sums */
static Datum
combine_sums(FunctionCallInfo fcinfo, double *(*values) (ArrayType *a))
{
	double	   *y = values(PG_GETARG_ARRAYTYPE_P(1));
	ArrayType  *r = state_to_update(fcinfo);
	double	   *x = values(r);

	x[0] += y[0];
	x[1] += y[1];
	check_sums(x, 2);
	PG_RETURN_ARRAYTYPE_P(r);
}

Datum
tsf_mase_combinefn(PG_FUNCTION_ARGS)
{
	return combine_sums(fcinfo, mase_values);
}

Datum
tsf_coverage_combinefn(PG_FUNCTION_ARGS)
{
	return combine_sums(fcinfo, coverage_values);
}

/* the sums, and the level of whichever part has rows (the same in both) */
Datum
tsf_winkler_combinefn(PG_FUNCTION_ARGS)
{
	double	   *y = winkler_values(PG_GETARG_ARRAYTYPE_P(1));
	ArrayType  *r = state_to_update(fcinfo);
	double	   *x = winkler_values(r);

	if (y[0] == 0)
		PG_RETURN_ARRAYTYPE_P(r);
	if (x[0] == 0)
		x[2] = y[2];
	else if (x[2] != y[2])
		levels_differ(x[2], y[2], true);
	x[0] += y[0];
	x[1] += y[1];
	check_sums(x, WINKLER_NSTATE);
	PG_RETURN_ARRAYTYPE_P(r);
}

/* the mean of the state's sum [1] over its rows [0]; NULL without rows */
static Datum
final_mean(FunctionCallInfo fcinfo, double *(*values) (ArrayType *a))
{
	double	   *s = values(PG_GETARG_ARRAYTYPE_P(0));

	if (s[0] == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(s[1] / s[0]);
}

Datum
tsf_mase_finalfn(PG_FUNCTION_ARGS)
{
	return final_mean(fcinfo, mase_values);
}

Datum
tsf_coverage_finalfn(PG_FUNCTION_ARGS)
{
	return final_mean(fcinfo, coverage_values);
}

Datum
tsf_winkler_finalfn(PG_FUNCTION_ARGS)
{
	return final_mean(fcinfo, winkler_values);
}

/* ---- naive_mae: the scale of MASE ---- */

double
tsf_naive_mae(const double *y, long n, int season)
{
	double		sum = 0.0;

	if (season < 1 || n <= season)
		return NAN;
	/* (n - season) errors of the naive forecast y[i] = y[i - season] */
	for (long i = season; i < n; i++)
		sum += fabs(y[i] - y[i - season]);
	return sum / (double) (n - season);
}

/*
 * naive_mae's state: the points, in the training aggregates' state (any
 * order, memory checked as they come), and the season, fixed by the first
 * row that is not skipped
 */
typedef struct NaiveState
{
	int32		season;			/* m; 0 until a row sets it */
	TsfSeriesState *series;
} NaiveState;

static NaiveState *
naive_new(MemoryContext cxt, int ts_type)
{
	NaiveState *st = MemoryContextAllocZero(cxt, sizeof(NaiveState));

	st->series = tsf_series_new(cxt, ts_type);
	return st;
}

static int
naive_ts_type(FunctionCallInfo fcinfo)
{
	Oid			t = get_fn_expr_argtype(fcinfo->flinfo, 1);

	switch (t)
	{
		case TIMESTAMPTZOID:
			return TSF_TS_TIMESTAMPTZ;
		case DATEOID:
			return TSF_TS_DATE;
		case INT8OID:
			return TSF_TS_INT8;
		default:
			elog(ERROR, "unexpected timestamp type %u", t);
	}
	return 0;					/* keep compiler quiet */
}

/* the rows' seasons differ: the naive forecast would depend on the order */
static void
seasons_differ(int32 first, int32 other, bool parallel)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("season differs between rows"),
			 parallel ?
			 errdetail("Two parts of the rows, scanned in parallel, have seasons %d and %d.",
					   first, other) :
			 errdetail("The first row has season %d; another has %d.", first, other),
			 errhint("Pass the same season on every row, e.g. as a constant.")));
}

/*
 * (state, ts, value [, season]): collect one point.  Not STRICT (the state
 * is internal): a row with a NULL argument is skipped here, as the other
 * metrics' STRICT transition functions skip it.
 */
Datum
tsf_naive_mae_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	NaiveState *st;
	int32		season = 1;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "naive_mae called in non-aggregate context");
	st = PG_ARGISNULL(0) ? naive_new(aggcxt, naive_ts_type(fcinfo)) :
		(NaiveState *) PG_GETARG_POINTER(0);
	for (int i = 1; i < PG_NARGS(); i++)
		if (PG_ARGISNULL(i))
			PG_RETURN_POINTER(st);
	if (PG_NARGS() > 3)
		season = PG_GETARG_INT32(3);
	if (season < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for season: %d", season),
				 errdetail("Season must be at least 1: 1 for the one-step naive forecast, the period (52 for weekly data over years) for the seasonal one.")));
	if (st->season == 0)
		st->season = season;
	else if (season != st->season)
		seasons_differ(st->season, season, false);
	tsf_series_add(st->series, tsf_ts_from_datum(st->series->ts_type, PG_GETARG_DATUM(1)),
				   PG_GETARG_DATUM(2), false, false, NULL, 0);
	PG_RETURN_POINTER(st);
}

/* merge b into a: the points as the training aggregates merge them */
Datum
tsf_naive_mae_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	NaiveState *a = PG_ARGISNULL(0) ? NULL : (NaiveState *) PG_GETARG_POINTER(0);
	NaiveState *b = PG_ARGISNULL(1) ? NULL : (NaiveState *) PG_GETARG_POINTER(1);

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "aggregate function called in non-aggregate context");
	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
		a = naive_new(aggcxt, b->series->ts_type);
	if (a->series->ts_type != b->series->ts_type)
		elog(ERROR, "combining naive_mae states of different timestamp types");
	if (a->season == 0)
		a->season = b->season;
	else if (b->season != 0 && b->season != a->season)
		seasons_differ(a->season, b->season, true);
	a->series->rows += b->series->rows;
	if (b->series->n > 0)
		tsf_series_append(a->series, b->series);
	PG_RETURN_POINTER(a);
}

/*
 * Serialized, for the trip from a parallel worker to the leader of the same
 * server (native byte order, as the training aggregates' state):
 *	NaiveHeader, n TsfPoint
 */
typedef struct NaiveHeader
{
	int32		ts_type;
	int32		season;
	int64		rows;
	int64		n;
} NaiveHeader;

Datum
tsf_naive_mae_serialfn(PG_FUNCTION_ARGS)
{
	NaiveState *st = (NaiveState *) PG_GETARG_POINTER(0);
	NaiveHeader h;
	Size		ptbytes,
				total;
	bytea	   *out;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "aggregate function called in non-aggregate context");
	h.ts_type = st->series->ts_type;
	h.season = st->season;
	h.rows = st->series->rows;
	h.n = st->series->n;
	ptbytes = sizeof(TsfPoint) * (Size) h.n;
	total = VARHDRSZ + sizeof(h) + ptbytes;
	if (total > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("time series is too large to pass between parallel workers"),
				 errhint("Set max_parallel_workers_per_gather to 0 for this query.")));
	out = palloc(total);
	SET_VARSIZE(out, total);
	memcpy(VARDATA(out), &h, sizeof(h));
	if (ptbytes > 0)
		memcpy(VARDATA(out) + sizeof(h), st->series->pts, ptbytes);
	PG_RETURN_BYTEA_P(out);
}

/* the points go back through tsf_series_add: memory checked, as collected */
Datum
tsf_naive_mae_deserialfn(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	const char *p = VARDATA_ANY(b);
	Size		len = VARSIZE_ANY_EXHDR(b);
	MemoryContext aggcxt;
	NaiveState *st;
	NaiveHeader h;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "aggregate function called in non-aggregate context");
	if (len < sizeof(h))
		elog(ERROR, "invalid serialized naive_mae state");
	memcpy(&h, p, sizeof(h));
	p += sizeof(h);
	if (h.ts_type < TSF_TS_TIMESTAMPTZ || h.ts_type > TSF_TS_INT8 || h.season < 0 ||
		h.n < 0 || h.n > TSF_MAX_POINTS || h.rows < h.n ||
		len != sizeof(h) + sizeof(TsfPoint) * (Size) h.n)
		elog(ERROR, "invalid serialized naive_mae state");
	st = naive_new(aggcxt, h.ts_type);
	st->season = h.season;
	for (int64 i = 0; i < h.n; i++)
	{
		TsfPoint	pt;

		memcpy(&pt, p + sizeof(TsfPoint) * i, sizeof(pt));
		tsf_series_add(st->series, pt.ts, Float8GetDatum(pt.value), false, false, NULL, 0);
	}
	st->series->rows = h.rows;
	PG_RETURN_POINTER(st);
}

/*
 * The points sorted by ts (a timestamp twice is the training aggregates'
 * error), their values copied out in order, and tsf_naive_mae over them;
 * NULL without a row, or with fewer than season + 1 points
 */
Datum
tsf_naive_mae_finalfn(PG_FUNCTION_ARGS)
{
	NaiveState *st;
	TsfSeriesState *ser;
	double	   *y;
	double		v;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (NaiveState *) PG_GETARG_POINTER(0);
	ser = st->series;
	tsf_series_sort(ser);
	if (st->season == 0 || ser->n <= st->season)
		PG_RETURN_NULL();
	tsf_check_memory(tsf_series_point_bytes(ser) * (double) ser->cap + sizeof(double) * (double) ser->n,
					 TSF_MEM_SERIES,
					 psprintf("The series has " INT64_FORMAT " points, and their values are copied out in order.",
							  ser->n));
	y = palloc_extended(sizeof(double) * ser->n, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < ser->n; i++)
		y[i] = ser->pts[i].value;
	v = tsf_naive_mae(y, (long) ser->n, st->season);
	pfree(y);
	if (!isfinite(v))
		float_overflow_error();
	PG_RETURN_FLOAT8(v);
}

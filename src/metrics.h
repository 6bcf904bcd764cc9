/*
 * metrics.h
 *		The accuracy metrics' state (metrics.c), which the SQL aggregates
 *		keep in a float8[] and a job's scoring in C: the same sums, merged
 *		the same way, so a job's stored metrics are the aggregates' over the
 *		same pairs.  And the scale of MASE, the naive forecast's in-sample
 *		error, over plain arrays (naive_mae's arithmetic).
 */
#ifndef TSF_METRICS_H
#define TSF_METRICS_H

#define TSF_METRICS_NSTATE	11

typedef struct TsfMetrics
{
	double		s[TSF_METRICS_NSTATE];	/* see metrics.c */
} TsfMetrics;

extern void tsf_metrics_init(TsfMetrics *m);
extern void tsf_metrics_add(TsfMetrics *m, double actual, double predicted);
extern int64 tsf_metrics_count(const TsfMetrics *m);
/* NaN where undefined (no pairs; r2 of actual values that do not vary) */
extern double tsf_metrics_r2(const TsfMetrics *m);
extern double tsf_metrics_rmse(const TsfMetrics *m);
extern double tsf_metrics_mae(const TsfMetrics *m);

/*
 * The in-sample mean absolute error of the naive forecast of y (n finite
 * values, in time order): mean over i = season..n-1 of |y[i] - y[i-season]|
 * (season 1: the one-step naive forecast; m > 1: the seasonal naive one),
 * MASE's scale.  NaN when n < season + 1 or season < 1; infinity when the
 * sum overflows.  No PostgreSQL types, no allocation, no errors: what
 * naive_mae() computes in its final function, for C callers too.
 */
extern double tsf_naive_mae(const double *y, long n, int season);

#endif							/* TSF_METRICS_H */

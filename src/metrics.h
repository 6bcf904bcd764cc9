/*
 * metrics.h
 *		The accuracy metrics' state (metrics.c), which the SQL aggregates
 *		keep in a float8[] and a job's scoring in C: the same sums, merged
 *		the same way, so a job's stored metrics are the aggregates' over the
 *		same pairs.
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

#endif							/* TSF_METRICS_H */

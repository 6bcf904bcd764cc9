/*
 * series.h
 *		The series a training aggregate (or a job) collects, and the same
 *		series made regular for a kind's fit (series.c).
 */
#ifndef TSF_SERIES_H
#define TSF_SERIES_H

#include "fmgr.h"
#include "utils/array.h"
#include "utils/jsonb.h"

#include "freq.h"

typedef struct TsfPoint
{
	int64		ts;
	double		value;
} TsfPoint;

/* most covariates a point may carry */
#define TSF_MAX_COVARIATES	256

/*
 * The state every training aggregate shares.  Covariates (lstm_train's
 * float8[] argument) are kept beside the points, ncov per point, in the
 * order the points arrived; ncov is -1 until the first row with covariates
 * fixes it, and every later row must carry as many.
 */
typedef struct TsfSeriesState
{
	int32		ts_type;		/* TsfTsType, fixed by the first row */
	int32		fill;			/* TsfFill, from the options */
	int32		ncov;			/* covariates per point; -1: none seen yet */
	int64		rows;			/* rows seen (NULL values under a fill too) */
	int64		n;				/* points collected */
	int64		cap;
	TsfPoint   *pts;			/* (cap) */
	double	   *cov;			/* (cap, ncov) or NULL */
	Jsonb	   *options;		/* the options of every row, or NULL */
} TsfSeriesState;

/* a series ready for a fit: sorted, on a regular grid, gaps filled */
typedef struct TsfSeries
{
	int32		ts_type;
	TsfFreq		freq;
	int64		first_ts;
	int64		last_ts;
	int64		n;				/* grid points, first..last */
	int64		n_filled;		/* of which filled in */
	double	   *y;				/* (n) transformed values */
	int32		ncov;			/* covariates per point (0 if none) */
	double	   *cov;			/* (n, ncov) filled like y, or NULL */
	double		bytes;			/* memory held: the collected points and
								 * these arrays (tsforecast.max_memory) */
} TsfSeries;

extern Datum tsf_series_accum(FunctionCallInfo fcinfo,
							  int (*validate) (Jsonb *opts));
extern TsfSeriesState *tsf_series_new(MemoryContext cxt, int ts_type);
extern void tsf_series_add(TsfSeriesState *st, int64 ts, Datum value, bool isnull,
						   bool has_cov, const double *cov, int ncov);
extern double tsf_series_point_bytes(const TsfSeriesState *st);
extern void tsf_series_append(TsfSeriesState *a, TsfSeriesState *b);
extern void tsf_series_sort(TsfSeriesState *st);
extern void tsf_series_window(TsfSeriesState *st, int64 window);
extern void tsf_series_prepare(TsfSeriesState *st, int transform, int fill,
							   TsfSeries *out);
extern double *tsf_read_covariates(ArrayType *a, int *n);
extern double *tsf_covariate_values(ArrayType *a, int n, const char *what);

#endif							/* TSF_SERIES_H */

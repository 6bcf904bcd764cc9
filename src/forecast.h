/*
 * forecast.h
 *		What forecast() (forecast.c) shares with the kinds that compute it:
 *		the checks of its arguments, and of the values it returns; and the
 *		forecasts of calendar buckets from sample paths (forecast_buckets(),
 *		bucket backtests), callable from C.
 */
#ifndef TSF_FORECAST_H
#define TSF_FORECAST_H

#include "datatype/timestamp.h"
#include "utils/jsonb.h"

#include "model.h"

extern void tsf_check_horizon(int32 horizon);
extern void tsf_check_level(double level);
extern void tsf_check_forecast_value(double v, int step);

/* most sample paths of a bucket forecast, and its default */
#define TSF_MAX_PATHS		100000
#define TSF_DEFAULT_PATHS	1000
#define TSF_DEFAULT_SEED	1
/* most simulated values (paths times model steps) of a bucket forecast */
#define TSF_MAX_PATH_VALUES	100000000.0
/* the default origin of the buckets: a Sunday, as date_bin takes it */
#define TSF_DEFAULT_BUCKET_ORIGIN	"2000-01-02"

typedef enum TsfBucketAgg
{
	TSF_BUCKET_MEAN = 0,
	TSF_BUCKET_SUM = 1
} TsfBucketAgg;

extern const char *const tsf_bucket_agg_names[];

/*
 * What a bucket forecast aggregates: buckets of width (no months: date_bin's
 * rule), aligned on origin (a timestamp as text, read in the model's frame,
 * see forecast.c; NULL: TSF_DEFAULT_BUCKET_ORIGIN), each the mean or the
 * sum of its model steps' back-transformed values, from paths sample paths
 * drawn with seed
 */
typedef struct TsfBucketSpec
{
	Interval	width;
	const char *width_text;		/* as given (tsf_bucket_settings), or NULL */
	const char *origin;
	int32		aggregate;		/* TsfBucketAgg */
	int32		paths;
	int64		seed;
	bool		lenient;		/* inner backtests: a bucket whose paths are
								 * not all finite (an explosive fit) is NaN,
								 * not an error */
} TsfBucketSpec;

/* the defaults above */
extern void tsf_bucket_spec_init(TsfBucketSpec *b, const Interval *width);

/*
 * Read the keys "origin", "paths", "seed" and "aggregate" of an options
 * object into b (prefix: how the keys are named in messages, e.g. "bucket_"
 * for a backtest's settings: then "bucket_origin"); other keys are left to
 * the caller, who passes them in rest (may be NULL: then they are errors)
 */
extern void tsf_bucket_parse(Jsonb *opts, const char *prefix, TsfBucketSpec *b,
							 Jsonb **rest);
extern Interval *tsf_bucket_width_in(const char *text, const char *what);
extern bool tsf_bucket_settings(Jsonb *in, Jsonb **rest, TsfBucketSpec *b,
								int default_paths, bool inner);

/*
 * A bucket forecast: the buckets after the model's state, the first being
 * the first that starts after its last row (a bucket that row is in is
 * partly observed and is skipped), each of steps model steps.  For bucket
 * b: its start and end (exclusive) as timestamptz, the median of the
 * paths' aggregates (value), their mean, and their quantiles (1 -/+ level)
 * / 2 (lo, hi; linear interpolation, numpy's default), and in
 * paths[b * npaths ...] every path's aggregate, sorted.
 */
typedef struct TsfBucketForecast
{
	int			horizon;		/* buckets */
	int			steps;			/* model steps per bucket */
	int			lead;			/* model steps before the first bucket */
	int			npaths;
	TimestampTz *start;			/* (horizon) */
	TimestampTz *end;			/* (horizon) */
	Timestamp  *frame_start;	/* (horizon) the starts in the model's frame */
	double	   *value;			/* (horizon) */
	double	   *mean;			/* (horizon) */
	double	   *lo;				/* (horizon) */
	double	   *hi;				/* (horizon) */
	double	   *paths;			/* (horizon, npaths) */
} TsfBucketForecast;

/*
 * Forecast horizon buckets of model m (checks every size against
 * tsforecast.max_memory before taking it; errors as forecast_buckets()'s),
 * fcov the future covariates of its lead + horizon * steps steps (NULL for
 * a model without any), into out, allocated in the current memory context
 */
extern void tsf_forecast_buckets(const TsfModel *m, const TsfBucketSpec *b,
								 int horizon, double level, const double *fcov,
								 TsfBucketForecast *out);

/* a timestamp of a model's series in the model's frame (forecast.c) */
extern Timestamp tsf_bucket_frame(int ts_type, const TsfFreq *f, int64 ts);

/* the start of the bucket of frame time t (date_bin) */
extern Timestamp tsf_bucket_floor(const TsfBucketSpec *b, Timestamp origin,
								  Timestamp t);

/* the origin of b in the frame of a series of ts_type and frequency f */
extern Timestamp tsf_bucket_origin(const TsfBucketSpec *b, int ts_type,
								   const TsfFreq *f);

/* the width of b in microseconds, which must be whole steps of f */
extern int64 tsf_bucket_steps(const TsfBucketSpec *b, int ts_type, const TsfFreq *f,
							  int64 *width_usec);

#endif							/* TSF_FORECAST_H */

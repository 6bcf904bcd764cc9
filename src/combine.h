/*
 * combine.h
 *		A combination of models (model_combine.c): its members, each a whole
 *		stored model of its own kind, and how their forecasts are combined.
 *		The kind "combine" is it; the kind "auto" (model_auto.c) stores the
 *		model it chose as a combination too (of one member, or of its best
 *		few), with the record of its choice beside it.
 */
#ifndef TSF_COMBINE_H
#define TSF_COMBINE_H

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "kind.h"
#include "model.h"
#include "series.h"

/* most members of a combination */
#define TSF_COMBINE_MAX_MEMBERS		8

typedef enum TsfCombineHow
{
	TSF_COMBINE_MEAN = 0,		/* the members' mean */
	TSF_COMBINE_MEDIAN = 1,		/* their median */
	TSF_COMBINE_WEIGHTS = 2		/* weights from a backtest of each member */
} TsfCombineHow;

extern const char *const tsf_combine_how_names[];

/* the inner backtest that scores members or candidates on the training data */
typedef struct TsfInnerBacktest
{
	int32		horizon;		/* steps scored from each origin */
	int32		origins;		/* how many origins */
	int32		every;			/* steps between them */
	int32		refit_every;	/* refit at every k-th origin, else update */
	int32		window;			/* fit on the last W steps (0: all) */
	int32		seasons;		/* > 0: origins at the same point of the
								 * season in each of the last seasons */
	int32		around;			/* ... and this many steps either side */
	int32		bucket_steps;	/* > 0: forecasts of buckets of this many
								 * steps (horizon in buckets; "every" a
								 * multiple of it), the origins their ends */
	int64		lag;			/* with buckets: steps from the last complete
								 * bucket's end to the series' last step */
} TsfInnerBacktest;

/* how a member's grid relates to the combination's (stored per member) */
#define TSF_MEMBER_SAME_GRID	0
#define TSF_MEMBER_BUCKETS		1	/* fitted on the series' buckets (a spec
									 * with "bucket"): a weekly member of a
									 * daily combination */

/* a combination: TsfModel.payload of kinds "combine" and "auto" */
typedef struct TsfCombine
{
	int32		how;			/* TsfCombineHow */
	int32		n;				/* members, 1 .. TSF_COMBINE_MAX_MEMBERS */
	TsfModel   *members;		/* (n) */
	int64	   *offset;			/* (n) the combination's step of each
								 * member's first step (of its first
								 * bucket's first step) */
	int32	   *grid;			/* (n) TSF_MEMBER_SAME_GRID or _BUCKETS */
	int64	   *spb;			/* (n) steps a bucket (1 on the same grid) */
	int32	   *agg;			/* (n) TsfBucketAgg of a bucket member */
	double	   *pending;		/* (n) a bucket member: the sum of the data's
								 * values of the steps after its last
								 * complete bucket (0 if none) */
	double	   *weight;			/* (n) sum 1 */
	double	   *score;			/* (n) the inner backtest's MSE (weights) */
	TsfInnerBacktest inner;		/* how the weights were found (weights) */
	void	   *extra;			/* the kind "auto"'s record, or NULL */
} TsfCombine;

/*
 * Fit the members (specs, n, each {"kind": ..., options}) on the collected
 * series st (every one on all of it, or on its own "window") and pack them,
 * with the weights (NULL: equal) and scores (NULL: none), as a model of
 * kind (combine or auto, whose record is extra): serialized
 */
extern bytea *tsf_combine_build(TsfSeriesState *st, const TsfKind *kind, Jsonb **specs,
								int n, int how, const double *weight, const double *score,
								const TsfInnerBacktest *inner, int fill, void *extra,
								instr_time t0);

/*
 * The inner origins of a backtest on st's own rows (sorted, at least 3):
 * the last origin is the step horizon steps before the last point, the
 * others every "every" steps before it ("origins" of them); or, with
 * "seasons", those within "around" steps of the same point of the season
 * in each of the last "seasons" seasons, as many as the series holds
 * (ib->seasons and ib->origins are set to what was used).  With
 * ib->bucket_steps, the horizon is in buckets and every origin ends a
 * bucket: the last one horizon buckets before the end of the last complete
 * bucket (ib->lag steps before the last step), the seasons' centres whole
 * buckets before it.  Their timestamps into *ts.
 */
extern void tsf_inner_origins(TsfSeriesState *st, TsfInnerBacktest *ib, int64 **ts);

/* parse inner backtest settings (a jsonb object, or NULL: defaults) */
extern void tsf_inner_parse(Jsonb *j, const char *what, TsfInnerBacktest *ib);

/*
 * a spec as a member must be: a kind's, not a combination's, with the
 * combination's fill; with "bucket" (and "bucket_origin", "aggregate") a
 * member fitted on the series' buckets: *bucket set (when not NULL) and
 * true in *on_buckets
 */
extern const TsfKind *tsf_member_spec(Jsonb *spec, const char *what, int i, int fill,
									  Jsonb **with_fill);
struct TsfBucketSpec;
extern const TsfKind *tsf_member_spec_grid(Jsonb *spec, const char *what, int i, int fill,
										   Jsonb **with_fill, bool *on_buckets,
										   struct TsfBucketSpec *bucket);

/* the spec an inner backtest of a member takes (on buckets: a combination of it) */
extern Jsonb *tsf_member_backtest_spec(Jsonb *spec, const char *what, int i, int fill);

/* whether a combination has a member on buckets */
extern bool tsf_combine_has_buckets(const TsfCombine *C);

/* a jsonb string value */
extern Jsonb *tsf_jsonb_string(const char *s);

/* the combination's routines, which the kind "auto" shares */
extern double tsf_combine_payload_bytes(const TsfCombine *C);
extern void tsf_combine_payload_write(StringInfo b, const TsfCombine *C);
extern void tsf_combine_payload_read(TsfReader *r, const TsfModel *m, TsfCombine *C);
extern void tsf_combine_payload_free(TsfCombine *C);
extern void tsf_combine_payload_json(TsfJson *js, const TsfCombine *C, bool full);
extern double tsf_combine_json_numbers(const TsfModel *m);
extern int	tsf_combine_n_covariates(const TsfModel *m);
extern double tsf_combine_forecast_bytes(const TsfModel *m, int horizon, char **detail);
extern void tsf_combine_forecast(const TsfModel *m, int horizon, double level,
								 const double *fcov, double *mean, double *lo, double *hi);
extern void tsf_combine_simulate(const TsfModel *m, int horizon, int npaths, uint64 seed,
								 const double *fcov, double *paths);
extern void tsf_combine_predict(const TsfModel *m, int64 rows, const int64 *k,
								const double *y, const bool *ynull, const double *cov,
								double *pred, bool *isnull);
extern void tsf_combine_update(TsfModel *m, int64 rows, const int64 *k, const double *y,
							   const double *cov);
extern int64 tsf_combine_scored_from(const TsfModel *m);
extern void tsf_combine_job_metrics(TsfJson *js, const TsfModel *m);
extern bool tsf_combine_seed(const TsfModel *m, int32 *seed);

#endif							/* TSF_COMBINE_H */

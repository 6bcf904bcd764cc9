/*
 * backtest.h
 *		Rolling-origin backtests (backtest.c): the backtest() aggregate's
 *		work on one series, which a backtest job (backtest_async()) runs for
 *		each series of its source too.
 */
#ifndef TSF_BACKTEST_H
#define TSF_BACKTEST_H

#include "utils/array.h"
#include "utils/jsonb.h"

#include "forecast.h"
#include "kind.h"
#include "series.h"

/*
 * The backtest of st (sorted in place) for spec ({"kind": ..., options})
 * and settings, as an array of rowtype (tsforecast.backtest_row); hooks
 * (or NULL) hear of each origin done through their epoch routine
 */
extern ArrayType *tsf_backtest_series(TsfSeriesState *st, Jsonb *spec, Jsonb *settings,
									  Oid rowtype, const TsfTrainHooks *hooks);

/* one forecast of a backtest: step h (from 0) from origin j, to t */
typedef void (*TsfBtEmit) (void *arg, int j, int64 origin, int h, int64 t, double v,
						   double lo, double hi, bool has_actual, double actual,
						   double scale);

extern void tsf_backtest_inner(TsfSeriesState *st, Jsonb *spec, int horizon, int window,
							   int refit_every, int n_orig, const int64 *orig_ts,
							   const TsfBucketSpec *bucket, TsfBtEmit emit, void *arg);

/* check settings as a backtest would (before a job is queued) */
extern void tsf_backtest_check_settings(Jsonb *settings);

#endif							/* TSF_BACKTEST_H */

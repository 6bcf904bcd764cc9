/*
 * update.h
 *		A stored model forecasting from fresh data without refitting
 *		(update.c): its state (an AR model's last values, an LSTM's network
 *		state) moved on over new rows on its grid, its fitted parameters
 *		unchanged.  model_update() is the SQL aggregate; backtest() updates
 *		between its refits the same way.
 */
#ifndef TSF_UPDATE_H
#define TSF_UPDATE_H

#include "model.h"
#include "series.h"

/*
 * Move m's state over the points pts (n, sorted by ts, no duplicates; raw
 * values; covariates cov (n, ncov) or NULL): those at or before the state
 * are skipped, the rest must lie on m's grid; gaps between them are filled
 * as m's fill option says (else an error), and the kind's update routine
 * takes them.  Nothing after the state: m is unchanged.  Returns the rows
 * taken, filled ones included.
 */
extern int64 tsf_model_advance(TsfModel *m, const TsfPoint *pts, const double *cov,
							   int ncov, int64 n);

#endif							/* TSF_UPDATE_H */

/*
 * lstm_model.c
 *		What an LSTM model's inputs are, shared by training (lstm_train.c),
 *		and forecasting and one-step-ahead prediction (model_lstm.c).
 *
 * The network sees one input row per grid step k (k = 0 at the first
 * training timestamp; the training sequence runs over k = 1 .. n-1, since
 * the first point has no lag):
 *
 *	x_k = [ lag, sin 2πs_k, cos 2πs_k, cov_k[0], ..., cov_k[n_cov-1] ]
 *
 *	lag		the scaled, transformed value at step k-1: (y - y_min) / (y_max - y_min)
 *	s_k		the season's phase at step k, frac(s_0 + k / period), in [0, 1);
 *			the two season inputs are left out when period = 0
 *	cov_k	the user's covariates at step k (same time as the target),
 *			each min-max scaled like the value
 *
 * and its output at step k is the scaled, transformed value at step k.  The
 * scaling (min and max of the training part, validation excluded) and the
 * season (period in steps, phase at the first training timestamp) are stored
 * in the model, so predict() and forecast() build exactly the same rows.
 *
 * The season's period is inferred from the frequency (tsf_season_period,
 * freq.c, which the AR kind's harmonics share): a year (365.25 days)
 * for data from daily to monthly (52.18 steps for weekly data, 12 for
 * monthly, month ends included: a month's phase is its number, whatever the
 * day), a day for sub-daily data (24 steps for hourly); none for an
 * integer index, or when a season would be shorter than two steps (yearly
 * data).  The "season_length" option overrides it.  Its phase is measured
 * from 2000-01-01 (index 0 for bigint series), so two models of the same
 * series agree on it whatever their training window.
 */
#include "postgres.h"

#include <math.h>

#include "lstm.h"

/* inputs per step: the lag, two season inputs if any, the covariates */
int
tsf_lstm_n_in(double season_period, int n_cov)
{
	return 1 + (season_period > 0 ? 2 : 0) + n_cov;
}

/* (y - min) / (max - min); a constant training series is only shifted */
static double
scale(double v, double lo, double hi)
{
	double		range = hi - lo;

	return range > 0 ? (v - lo) / range : v - lo;
}

double
tsf_lstm_scale(const TsfLstm *L, double y)
{
	return scale(y, L->y_min, L->y_max);
}

double
tsf_lstm_unscale(const TsfLstm *L, double s)
{
	double		range = L->y_max - L->y_min;

	return (range > 0 ? s * range : s) + L->y_min;
}

/*
 * The input row x (n_in) of grid step k: lag is the scaled value of step
 * k-1, cov the raw covariates of step k (NULL when the model has none).
 */
void
tsf_lstm_input(const TsfLstm *L, int64 k, double lag, const double *cov,
			   tsf_real *x)
{
	int			j = 0;

	x[j++] = (tsf_real) lag;
	if (L->season_period > 0)
	{
		double		s = L->season_s0 + fmod((double) k, L->season_period) / L->season_period;
		double		a;

		s -= floor(s);
		a = 2.0 * M_PI * s;
		x[j++] = (tsf_real) (0.5 + 0.5 * sin(a));
		x[j++] = (tsf_real) (0.5 + 0.5 * cos(a));
	}
	for (int c = 0; c < L->n_cov; c++)
		x[j++] = (tsf_real) scale(cov[c], L->cov_min[c], L->cov_max[c]);
}

/*
 * The model's prediction (scaled) from the network's output for a step
 * whose lag input was lag: the output itself, or with the residual
 * connection lag + output (the network then models the change).
 */
double
tsf_lstm_output(const TsfLstm *L, tsf_real out, double lag)
{
	return L->residual ? lag + (double) out : (double) out;
}

/*
 * Bind the model's network for inference one step at a time
 * (tsf_nn_step): parameters from the model, no gradients, a workspace for
 * one step, allocated in the current memory context.
 */
void
tsf_lstm_bind(tsf_nn *nn, const TsfLstm *L)
{
	size_t		wbytes = tsf_nn_workspace_bytes(&L->nn, 1);
	void	   *work = palloc_extended(wbytes, MCXT_ALLOC_HUGE);
	tsf_nn_error err = tsf_nn_bind(nn, &L->nn, L->params, NULL, NULL, NULL,
								   work, wbytes, 1);

	if (err != TSF_NN_OK)
		elog(ERROR, "could not bind the LSTM network: %s", tsf_nn_strerror(err));
}

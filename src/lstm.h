/*
 * lstm.h
 *		The LSTM kind's own declarations, shared by its files: model_lstm.c
 *		(its routines: the stored payload, the jsonb view, forecast and
 *		predict), lstm_train.c (training, and the lstm_train aggregate) and
 *		lstm_model.c (the network's inputs and scaling).  Nothing outside the
 *		kind includes it: the shared code reaches it through tsf_kind_lstm.
 */
#ifndef TSF_LSTM_H
#define TSF_LSTM_H

#include "nn/nn.h"

#include "kind.h"
#include "model.h"

/* most epochs a training may ask for */
#define TSF_LSTM_MAX_EPOCHS	10000000

/* the defaults of lstm_train, chosen on the Verde River's training weeks */
#define TSF_LSTM_DEFAULT_EPOCHS	200
#define TSF_LSTM_DEFAULT_EMA	0.98

/* Monte Carlo sample paths behind an LSTM forecast's interval */
#define TSF_MC_SAMPLES		200

/* a model's LSTM fields: TsfModel.payload (see lstm_model.c for the inputs) */
typedef struct TsfLstm
{
	tsf_nn_config nn;			/* the network's shape */
	int32		n_cov;			/* user covariates per step */
	int32		residual;		/* 1: output = lag + network, 0: network */
	double		lr;				/* Adam learning rate */
	double		ema;			/* decay of the weights' moving average; 0 = off */
	int32		epochs;			/* epochs asked for */
	int32		epochs_run;		/* epochs trained (fewer on an early stop) */
	int32		best_epoch;		/* epoch of the lowest validation loss; 0 if none */
	int32		patience;		/* early-stopping patience; 0 = off */
	int64		seed;
	double		validation;		/* fraction of the steps held out */
	int64		n_train;		/* grid points before the validation part */
	double		season_period;	/* season length in steps; 0 = no season inputs */
	double		season_s0;		/* season phase at first_ts, in [0, 1) */
	double		y_min;			/* min-max scaling of the transformed value */
	double		y_max;
	double		train_loss;		/* MSE (scaled) of the last epoch, with dropout */
	double		val_loss;		/* validation MSE of the kept weights; NaN if none */
	double		resid_sigma;	/* RMS of one-step residuals (scaled), training part */
	double		last_y;			/* scaled value at last_ts: the next step's lag */
	double	   *cov_min;		/* (n_cov) covariate scaling */
	double	   *cov_max;		/* (n_cov) */
	tsf_real   *params;			/* (tsf_nn_param_count) the parameter block */
	tsf_real   *state;			/* (tsf_nn_state_count) after the training data */
} TsfLstm;

static inline TsfLstm *
tsf_lstm(const TsfModel *m)
{
	return (TsfLstm *) m->payload;
}

/* lstm_model.c: the network's inputs and scaling (seasons: freq.h) */
extern int	tsf_lstm_n_in(double season_period, int n_cov);
extern double tsf_lstm_scale(const TsfLstm *L, double y);
extern double tsf_lstm_unscale(const TsfLstm *L, double s);
extern void tsf_lstm_input(const TsfLstm *L, int64 k, double lag,
						   const double *cov, tsf_real *x);
extern double tsf_lstm_output(const TsfLstm *L, tsf_real out, double lag);
extern void tsf_lstm_bind(tsf_nn *nn, const TsfLstm *L);

/* model_lstm.c: the stored size of a network's model */
extern double tsf_lstm_stored_bytes(const tsf_nn_config *cfg, int n_cov);

/* lstm_train.c: the kind's training routines */
extern int	tsf_lstm_check_options(Jsonb *opts);
extern bytea *tsf_lstm_fit(TsfSeriesState *st, int device, const TsfTrainHooks *hooks);
extern void tsf_lstm_fit_batch(TsfSeriesState **series, int n, int device,
							   const struct tsfc_api *api, const TsfTrainHooks *hooks);

#endif							/* TSF_LSTM_H */

/*
 * lstm_train.c
 *		lstm_train(ts, value [, covariates] [, options]): the LSTM training
 *		aggregate.
 *
 * The transition, combine and (de)serialize steps are the shared series
 * state's (series.c).  The final function prepares the series, builds the
 * network's input rows (lstm_model.c: lagged value, season, covariates, all
 * min-max scaled on the training part), trains the network of src/nn full
 * batch (the whole series is one sequence) with Adam on the MSE, and packs
 * the result into a tsmodel:
 *
 *	x (T, n_in) -> [causal conv] -> LSTM -> dropout -> linear -> out (T)
 *	pred_k = lag_k + out_k (residual, the default) or out_k
 *	T = n - 1 steps: the target of step k is the value at k, its lag k-1
 *
 * Two choices beyond the seed notebook's network, both made on the
 * validation tail of the Verde River's training weeks (see sql/lstm.sql)
 * and both options:
 *	residual	the network models the change from the lag, so persistence
 *				is its starting point rather than something to learn (the
 *				loss is the same MSE of the value)
 *	ema			the model keeps an exponential moving average of the weights
 *				over the epochs (decay 0.98, about the last 50), which
 *				smooths the epoch-to-epoch jitter of full-batch Adam under
 *				dropout; validation losses are those of the averaged weights
 * With them the default of 200 epochs sits on a broad plateau of the
 * validation loss; the seed's 4000 epochs overfit a 550-week series badly.
 *
 * Training is a pure function of the data and the options: parameters are
 * initialized from "seed" and the dropout masks drawn from a stream derived
 * from it, so the same query gives the same model bytes (but the fit time).
 * With "validation" the trailing fraction of the steps is held out: it is
 * not trained on, the scaling ignores it, and its loss is reported each
 * epoch; "patience" stops when it has not improved for that many epochs and
 * keeps the best weights.
 *
 * Memory, all in a "lstm_train" context deleted at the end (an error or a
 * cancel frees it with the transaction); P parameters, H hidden, L layers,
 * C conv channels, I_0 = C (or n_in without the conv), T steps, in
 * elements of the core's scalar (float32 by default, 4 bytes; 8 in a
 * float64 build, src/nn/README.md):
 *	parameters, gradients, Adam m and v	4 P, +1 P for ema, +1 P for
 *											patience (the best weights)
 *	activations and their gradients		T (7 H L + 9 H + 2 C + 2) + about
 *											4 H max(I_0, H) + 7 H + C
 *	inputs and targets					T (n_in + 1)
 *	the prepared series					n (1 + n_cov) doubles
 * The default network (H 40, L 1, C 4, K 3, 3 inputs) has P = 7,441, i.e.
 * 0.15 MB of parameter blocks and 2.6 KB of workspace per step: 1.6 MB for
 * 550 weekly points, 4.5 MB for 1650 (twice that in float64).
 *
 * The loop checks for interrupts once per epoch, so statement_timeout and
 * pg_cancel_backend stop a training within one epoch's time.
 */
#include "tsforecast.h"

#include <time.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(tsf_lstm_train_transfn);
PG_FUNCTION_INFO_V1(tsf_lstm_train_finalfn);

/* called after every epoch when set (a job's progress and cancel check) */
tsf_epoch_hook_type tsf_epoch_hook = NULL;

/* the dropout stream is seeded with seed ^ this, so it differs from the init's */
#define DROPOUT_SEED_XOR	UINT64CONST(0x5DEECE66DA3B9F01)

#define MAX_EPOCHS			TSF_LSTM_MAX_EPOCHS

typedef struct LstmOptions
{
	int32		hidden;
	int32		layers;
	double		dropout;
	double		lr;
	int32		epochs;
	int32		conv_kernel;
	int32		conv_channels;
	int32		seed;
	int32		transform;
	double		validation;
	int32		patience;
	int32		progress;
	int32		fill;
	double		season_length;
	double		ema;
	bool		residual;
} LstmOptions;

enum
{
	OPT_HIDDEN, OPT_LAYERS, OPT_DROPOUT, OPT_LR, OPT_EPOCHS, OPT_CONV_KERNEL,
	OPT_CONV_CHANNELS, OPT_SEED, OPT_TRANSFORM, OPT_VALIDATION, OPT_PATIENCE,
	OPT_PROGRESS, OPT_FILL, OPT_SEASON_LENGTH, OPT_EMA, OPT_RESIDUAL,
	N_LSTM_OPTS
};

static const TsfOptDef lstm_opts[N_LSTM_OPTS] = {
	{"hidden", TSF_OPT_INT, offsetof(LstmOptions, hidden), 1, TSF_NN_MAX_WIDTH, NULL},
	{"layers", TSF_OPT_INT, offsetof(LstmOptions, layers), 1, TSF_NN_MAX_LAYERS, NULL},
	{"dropout", TSF_OPT_FLOAT, offsetof(LstmOptions, dropout), 0, 0.95, NULL},
	{"lr", TSF_OPT_FLOAT, offsetof(LstmOptions, lr), 1e-9, 10, NULL},
	{"epochs", TSF_OPT_INT, offsetof(LstmOptions, epochs), 1, TSF_LSTM_MAX_EPOCHS, NULL},
	{"conv_kernel", TSF_OPT_INT, offsetof(LstmOptions, conv_kernel), 0, TSF_NN_MAX_KERNEL, NULL},
	{"conv_channels", TSF_OPT_INT, offsetof(LstmOptions, conv_channels), 1, TSF_NN_MAX_WIDTH, NULL},
	{"seed", TSF_OPT_INT, offsetof(LstmOptions, seed), 0, PG_INT32_MAX, NULL},
	{"transform", TSF_OPT_ENUM, offsetof(LstmOptions, transform), 0, 0, tsf_transform_names},
	{"validation", TSF_OPT_FLOAT, offsetof(LstmOptions, validation), 0, 0.9, NULL},
	{"patience", TSF_OPT_INT, offsetof(LstmOptions, patience), 0, TSF_LSTM_MAX_EPOCHS, NULL},
	{"progress", TSF_OPT_INT, offsetof(LstmOptions, progress), 0, TSF_LSTM_MAX_EPOCHS, NULL},
	{"fill", TSF_OPT_ENUM, offsetof(LstmOptions, fill), 0, 0, tsf_fill_names},
	{"season_length", TSF_OPT_FLOAT, offsetof(LstmOptions, season_length), 0, 1e9, NULL},
	{"ema", TSF_OPT_FLOAT, offsetof(LstmOptions, ema), 0, 0.9999, NULL},
	{"residual", TSF_OPT_BOOL, offsetof(LstmOptions, residual), 0, 0, NULL},
};

/* defaults, then the user's options; seen[] says which were given */
static void
lstm_parse_options(Jsonb *opts, LstmOptions *o, bool *seen)
{
	o->hidden = 40;
	o->layers = 1;
	o->dropout = 0.5;
	o->lr = 0.01;
	o->epochs = TSF_LSTM_DEFAULT_EPOCHS;
	o->conv_kernel = 3;
	o->conv_channels = 4;
	o->seed = 42;
	o->transform = TSF_TRANSFORM_NONE;	/* log if all values are positive */
	o->validation = 0;
	o->patience = 0;
	o->progress = 0;
	o->fill = TSF_FILL_NONE;
	o->season_length = 0;		/* inferred from the frequency */
	o->ema = TSF_LSTM_DEFAULT_EMA;
	o->residual = true;
	tsf_parse_options(opts, lstm_opts, N_LSTM_OPTS, o, seen);

	if (o->patience > 0 && o->validation == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"patience\" needs a validation part"),
				 errhint("Set \"validation\" to the fraction of the series to hold out, e.g. 0.2.")));
	if (o->season_length > 0 && o->season_length < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"season_length\": %g", o->season_length),
				 errdetail("A season must last at least 2 steps; 0 turns the season inputs off.")));
}

/* check an options jsonb of lstm_train; returns its fill mode */
int
tsf_lstm_check_options(Jsonb *opts)
{
	LstmOptions o;
	bool		seen[N_LSTM_OPTS];

	lstm_parse_options(opts, &o, seen);
	return o.fill;
}

Datum
tsf_lstm_train_transfn(PG_FUNCTION_ARGS)
{
	return tsf_series_accum(fcinfo, tsf_lstm_check_options);
}

static void
nn_failed(tsf_nn_error err)
{
	elog(ERROR, "LSTM core failed: %s", tsf_nn_strerror(err));
}

static void
diverged(int epoch, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_FLOATING_POINT_EXCEPTION),
			 errmsg("training diverged at epoch %d", epoch),
			 errdetail("%s", detail),
			 errhint("Try a lower learning rate.")));
}

/* the training part of T steps for a held-out fraction, checked */
static int
training_steps(int T, double validation)
{
	int			T_train = T - (int) floor(validation * T + 0.5);

	if (T_train < 2 || (validation > 0 && T_train == T))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time series is too short for a validation part of %g", validation),
				 errdetail("The series has %d steps after the first point: %d to train on and %d to validate.",
						   T, T_train, T - T_train),
				 errhint("At least 2 training steps and 1 validation step are needed.")));
	return T_train;
}

/*
 * Fit the network of m (config, season and options already set) to the
 * prepared series s: min-max scaling on the first T_train steps (grid
 * points 0 .. T_train), input rows and targets of all T = n - 1 steps, then
 * m->epochs epochs of full-batch Adam on the first T_train steps; the rest
 * validate.  With patience > 0, stop when the validation loss has not
 * improved for that many epochs and keep the best weights.  Fills m's
 * scaling, parameters, losses, epoch counts and its state after the last
 * step.
 */
static void
fit(TsfModel *m, const TsfSeries *s, int T_train, int progress,
	const struct timespec *t0)
{
	tsf_real   *ema = NULL;
	int			T = (int) (s->n - 1);
	int			n_in = m->nn.n_in;
	int			ncov = m->n_cov;
	tsf_real   *x,
			   *y;
	tsf_nn		nn;
	tsf_nn_error err;
	size_t		P = tsf_nn_param_count(&m->nn);
	size_t		wbytes = tsf_nn_workspace_bytes(&m->nn, T);
	tsf_real   *grads,
			   *adam_m,
			   *adam_v,
			   *best = NULL;
	tsf_nn_train_opts topts;
	tsf_rng		rng;
	double		best_val = get_float8_infinity();
	double		tl = 0,
				vl = NAN;
	bool		has_val = T_train < T;
	int			epoch;
	double		sse = 0;

	/* min-max scaling on the training part: points 0 .. T_train */
	m->n_train = T_train + 1;
	m->y_min = m->y_max = s->y[0];
	for (int k = 1; k <= T_train; k++)
	{
		m->y_min = Min(m->y_min, s->y[k]);
		m->y_max = Max(m->y_max, s->y[k]);
	}
	if (!isfinite(m->y_max - m->y_min))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the range of the time series' values overflows"),
				 errhint("Rescale the series, or use the \"log\" transform.")));
	/* covariates: the inputs of the training steps, grid points 1 .. T_train */
	m->cov_min = palloc(sizeof(double) * (ncov + 1));
	m->cov_max = palloc(sizeof(double) * (ncov + 1));
	for (int c = 0; c < ncov; c++)
	{
		m->cov_min[c] = m->cov_max[c] = s->cov[ncov + c];
		for (int k = 2; k <= T_train; k++)
		{
			m->cov_min[c] = Min(m->cov_min[c], s->cov[(size_t) k * ncov + c]);
			m->cov_max[c] = Max(m->cov_max[c], s->cov[(size_t) k * ncov + c]);
		}
		if (!isfinite(m->cov_max[c] - m->cov_min[c]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("the range of covariate %d overflows", c + 1)));
	}

	/* x (T, n_in), y (T): step t of the sequence is grid step t + 1 */
	x = palloc_extended(sizeof(tsf_real) * n_in * (size_t) T, MCXT_ALLOC_HUGE);
	y = palloc_extended(sizeof(tsf_real) * (size_t) T, MCXT_ALLOC_HUGE);
	for (int t = 0; t < T; t++)
	{
		tsf_lstm_input(m, t + 1, tsf_lstm_scale(m, s->y[t]),
					   ncov > 0 ? s->cov + (size_t) (t + 1) * ncov : NULL,
					   x + (size_t) t * n_in);
		y[t] = (tsf_real) (tsf_lstm_scale(m, s->y[t + 1]) -
						   (m->residual ? tsf_lstm_scale(m, s->y[t]) : 0.0));
	}
	m->last_y = tsf_lstm_scale(m, s->y[T]);

	/* parameter blocks and the workspace, bound to the network */
	m->params = palloc_extended(sizeof(tsf_real) * P, MCXT_ALLOC_HUGE);
	grads = palloc_extended(sizeof(tsf_real) * P, MCXT_ALLOC_HUGE);
	adam_m = palloc_extended(sizeof(tsf_real) * P, MCXT_ALLOC_HUGE);
	adam_v = palloc_extended(sizeof(tsf_real) * P, MCXT_ALLOC_HUGE);
	if (m->patience > 0)
		best = palloc_extended(sizeof(tsf_real) * P, MCXT_ALLOC_HUGE);
	/*
	 * The workspace starts on a cache line: the core carves it into buffers
	 * of whole 64-byte lines, and its AVX-512 kernels load a line at a time
	 * (a workspace 16 bytes off a line, as palloc gives, made an epoch 17%
	 * to 22% slower at H = 128 and 256)
	 */
	err = tsf_nn_bind(&nn, &m->nn, m->params, grads, adam_m, adam_v,
					  (void *) TYPEALIGN(64, palloc_extended(wbytes + 63, MCXT_ALLOC_HUGE)),
					  wbytes, T);
	if (err != TSF_NN_OK)
		nn_failed(err);
	tsf_nn_init_params(&m->nn, m->params, (uint64) m->seed);
	tsf_nn_reset_optimizer(&nn);
	tsf_rng_seed(&rng, (uint64) m->seed ^ DROPOUT_SEED_XOR);

	topts.adam.lr = m->lr;
	topts.adam.beta1 = 0.9;
	topts.adam.beta2 = 0.999;
	topts.adam.eps = 1e-8;
	topts.loss_start = 0;
	topts.val_start = has_val ? T_train : 0;

	m->best_epoch = 0;
	if (m->ema > 0)
	{
		ema = palloc_extended(sizeof(tsf_real) * P, MCXT_ALLOC_HUGE);
		memcpy(ema, m->params, sizeof(tsf_real) * P);
	}
	for (epoch = 1; epoch <= m->epochs; epoch++)
	{
		CHECK_FOR_INTERRUPTS();
		if (ema == NULL)
			err = tsf_nn_train_epoch(&nn, x, y, T, &topts,
									 m->nn.dropout > 0 ? &rng : NULL, &tl, &vl);
		else
		{
			/*
			 * the epoch of tsf_nn_train_epoch by hand, then the moving
			 * average ema = d ema + (1 - d) params, whose validation loss
			 * is the one reported
			 */
			err = tsf_nn_forward(&nn, x, T_train, m->nn.dropout > 0 ? &rng : NULL);
			if (err == TSF_NN_OK)
			{
				tl = tsf_mse_forward(nn.acts.pred, y, 0, T_train);
				err = tsf_nn_backward(&nn, y, 0, T_train);
			}
			if (err == TSF_NN_OK)
				err = tsf_nn_adam_step(&nn, &topts.adam);
			for (size_t i = 0; i < P; i++)
				ema[i] = m->ema * ema[i] + (1 - m->ema) * m->params[i];
			if (err == TSF_NN_OK && has_val)
			{
				nn.params = ema;
				err = tsf_nn_forward(&nn, x, T, NULL);
				vl = tsf_mse_forward(nn.acts.pred, y, T_train, T);
				nn.params = m->params;
			}
		}
		if (err != TSF_NN_OK)
			nn_failed(err);
		if (!isfinite(tl))
			diverged(epoch, isnan(tl) ? "The loss became NaN." : "The loss became infinite.");
		if (has_val && !isfinite(vl))
			diverged(epoch, "The validation loss is not finite.");
		if (has_val && vl < best_val)
		{
			best_val = vl;
			m->best_epoch = epoch;
			if (best)
				memcpy(best, ema ? ema : m->params, sizeof(tsf_real) * P);
		}
		if (tsf_epoch_hook)
			tsf_epoch_hook(epoch, m->epochs, tl, has_val ? vl : NAN);
		if (progress > 0 && (epoch % progress == 0 || epoch == m->epochs))
		{
			if (has_val)
				ereport(NOTICE,
						(errmsg("lstm_train epoch %d of %d: loss %.4g, validation loss %.4g",
								epoch, m->epochs, tl, vl),
						 errdetail("Elapsed %.3f s.", tsf_seconds_since(t0))));
			else
				ereport(NOTICE,
						(errmsg("lstm_train epoch %d of %d: loss %.4g", epoch, m->epochs, tl),
						 errdetail("Elapsed %.3f s.", tsf_seconds_since(t0))));
		}
		if (m->patience > 0 && epoch - m->best_epoch >= m->patience)
		{
			if (progress > 0)
				ereport(NOTICE,
						(errmsg("lstm_train stopped at epoch %d: best validation loss %.4g at epoch %d",
								epoch, best_val, m->best_epoch)));
			epoch++;
			break;
		}
	}
	m->epochs_run = epoch - 1;
	m->train_loss = tl;
	if (best)
		memcpy(m->params, best, sizeof(tsf_real) * P);
	else if (ema)
		memcpy(m->params, ema, sizeof(tsf_real) * P);

	/* the kept weights, without dropout: residuals and validation loss */
	err = tsf_nn_predict(&nn, x, T, NULL);
	if (err != TSF_NN_OK)
		nn_failed(err);
	for (int t = 0; t < T_train; t++)
		sse += ((double) nn.acts.pred[t] - y[t]) * ((double) nn.acts.pred[t] - y[t]);
	m->resid_sigma = sqrt(sse / T_train);
	m->val_loss = has_val ? tsf_mse_forward(nn.acts.pred, y, T_train, T) : NAN;
	if (!isfinite(m->resid_sigma) || (has_val && !isfinite(m->val_loss)))
		diverged(m->epochs_run, "The predictions of the trained network are not finite.");

	/* the state after the whole series, where forecasts start */
	m->state = palloc_extended(sizeof(tsf_real) * tsf_nn_state_count(&m->nn),
							   MCXT_ALLOC_HUGE);
	tsf_nn_state_reset(&m->nn, m->state);
	for (int t = 0; t < T; t++)
	{
		tsf_real	out;

		tsf_nn_step(&nn, m->state, x + (size_t) t * n_in, NULL, &out);
	}
}

Datum
tsf_lstm_train_finalfn(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "lstm_train called in non-aggregate context");
	PG_RETURN_BYTEA_P(tsf_lstm_train_state((TsfSeriesState *) PG_GETARG_POINTER(0)));
}

/*
 * Train the network on a collected series (its options in st->options) and
 * return the model serialized: lstm_train's final step, and a job's for
 * "kind": "lstm".  Sorts st's points in place.
 */
bytea *
tsf_lstm_train_state(TsfSeriesState *st)
{
	LstmOptions o;
	bool		seen[N_LSTM_OPTS];
	TsfSeries	s;
	TsfModel	m;
	int			T;
	struct timespec t0;
	MemoryContext trainctx,
				oldctx;
	bytea	   *result;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	lstm_parse_options(st->options, &o, seen);
	if (!seen[OPT_TRANSFORM])
	{
		bool		positive = st->n > 0;

		for (int64 i = 0; i < st->n && positive; i++)
			positive = st->pts[i].value > 0;
		o.transform = positive ? TSF_TRANSFORM_LOG : TSF_TRANSFORM_NONE;
	}
	trainctx = AllocSetContextCreate(CurrentMemoryContext, "lstm_train",
									 ALLOCSET_DEFAULT_SIZES);
	oldctx = MemoryContextSwitchTo(trainctx);

	tsf_series_prepare(st, o.transform, o.fill, &s);
	if (s.n - 1 > PG_INT32_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("time series is too long to train an LSTM on"),
				 errdetail("The series has " INT64_FORMAT " steps.", s.n)));
	T = (int) (s.n - 1);

	memset(&m, 0, sizeof(m));
	m.kind = TSF_KIND_LSTM;
	m.ts_type = s.ts_type;
	m.freq = s.freq;
	m.first_ts = s.first_ts;
	m.last_ts = s.last_ts;
	m.n = s.n;
	m.n_filled = s.n_filled;
	m.transform = o.transform;
	m.fill = o.fill;
	m.n_cov = s.ncov;
	m.residual = o.residual;
	m.lr = o.lr;
	m.ema = o.ema;
	m.epochs = o.epochs;
	m.patience = o.patience;
	m.seed = o.seed;
	m.validation = o.validation;
	m.season_period = seen[OPT_SEASON_LENGTH] ? o.season_length :
		tsf_season_period(s.ts_type, &s.freq);
	m.season_s0 = tsf_season_phase(s.ts_type, &s.freq, s.first_ts, m.season_period);
	m.nn.n_in = tsf_lstm_n_in(m.season_period, m.n_cov);
	m.nn.conv_kernel = o.conv_kernel;
	m.nn.conv_channels = o.conv_kernel > 0 ? o.conv_channels : 0;
	m.nn.hidden = o.hidden;
	m.nn.layers = o.layers;
	m.nn.dropout = o.dropout;
	if (tsf_nn_config_check(&m.nn) != TSF_NN_OK)
		elog(ERROR, "invalid network configuration: %s",
			 tsf_nn_strerror(tsf_nn_config_check(&m.nn)));

	fit(&m, &s, training_steps(T, o.validation), o.progress, &t0);

	m.fitted_at = GetCurrentTransactionStartTimestamp();
	m.fit_seconds = tsf_seconds_since(&t0);
	MemoryContextSwitchTo(oldctx);
	result = tsf_model_serialize(&m);
	MemoryContextDelete(trainctx);
	return result;
}

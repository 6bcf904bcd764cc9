/*
 * lstm_train.c
 *		Training the LSTM kind: lstm_train(ts, value [, covariates]
 *		[, options]), the aggregate, and the kind's fit routines (kind.h),
 *		one series on the CPU or many in batches on the GPU.
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
 * The network core polls for a cancel (tsf_poll_cancel) at every step of
 * its recurrences and between slices of its large products, at most about
 * 8 million multiply-adds apart, so statement_timeout and
 * pg_cancel_backend stop a training within milliseconds whatever the
 * network's size; the core returns, and the cancel is raised here.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/float.h"
#include "utils/memutils.h"

#include "device.h"
#include "kind.h"
#include "guard.h"
#include "lstm.h"
#include "options.h"
#include "series.h"

PG_FUNCTION_INFO_V1(tsf_lstm_train_transfn);
PG_FUNCTION_INFO_V1(tsf_lstm_train_finalfn);

/*
 * A job's GPU batches: at most this many series, and at most this many bytes
 * of the float arrays handed to the module (inputs, targets, parameters);
 * the module's own GPU memory is about as large again plus its activations.
 * The prepared series of a batch take about as much host memory as its
 * arrays, within tsforecast.max_memory.
 */
#define BATCH_MAX_SERIES	10000
#define BATCH_MAX_BYTES		Min(1024.0 * 1024 * 1024, tsf_max_memory_bytes() / 4)

/*
 * A job's CPU training of LSTM series in lanes (src/nn/lanes.c): series of
 * one network, length and options train TSF_NN_LANES at a time, where the
 * lanes are faster than one at a time (lanes_pay_off); the prepared series
 * waiting for their sixteen take at most LANES_MAX_WAITING places (then
 * the fewest waiting train one at a time), and a group's training at most
 * a quarter of tsforecast.max_memory (else one at a time).
 */
#define LANES_MAX_HIDDEN	64
#define LANES_MAX_WAITING	(4 * TSF_NN_LANES)

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

/* the core returned err: a cancel it stopped for, or a can't-happen */
static void
nn_failed(tsf_nn_error err)
{
	if (err == TSF_NN_CANCELLED)
		tsf_raise_cancel();
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

/*
 * The memory training a network on T steps takes beyond its prepared
 * series, in bytes: inputs and targets; the parameter blocks (parameters,
 * gradients, Adam's two moments, and the moving average and the best
 * weights when used); the workspace of T steps; the model as it is
 * serialized (a buffer that doubles, so up to twice its size, then read
 * back once to validate it).  Double arithmetic: no size can overflow.
 */
static double
lstm_memory(const TsfLstm *L, int T)
{
	double		P = (double) tsf_nn_param_count(&L->nn);
	double		S = (double) tsf_nn_state_count(&L->nn);
	double		blocks = 4 + (L->ema > 0 ? 1 : 0) + (L->patience > 0 ? 1 : 0);

	return sizeof(tsf_real) * ((double) T * (L->nn.n_in + 1) + blocks * P + S) +
		(double) tsf_nn_workspace_bytes(&L->nn, T) + 64 +
		3 * tsf_lstm_stored_bytes(&L->nn, L->n_cov) + sizeof(tsf_real) * (P + S);
}

/*
 * Check, before anything is allocated, that the model of m's network can
 * be stored (a value of at most 1 GB) and that its training fits
 * tsforecast.max_memory with the series (series_bytes) it trains on.
 */
static void
check_lstm_size(const TsfLstm *L, int T, double series_bytes)
{
	double		stored = tsf_lstm_stored_bytes(&L->nn, L->n_cov);
	size_t		P = tsf_nn_param_count(&L->nn);

	if (stored > (double) (MaxAllocSize - VARHDRSZ))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("LSTM model would be too large to store"),
				 errdetail_plural("The network (hidden %d, %d layer) has %zu parameters: %s stored, and a value may take at most 1 GB.",
								  "The network (hidden %d, %d layers) has %zu parameters: %s stored, and a value may take at most 1 GB.",
								  L->nn.layers, L->nn.hidden, L->nn.layers, P,
								  tsf_size_pretty(stored)),
				 errhint("Use a smaller \"hidden\" or fewer \"layers\".")));
	tsf_check_memory(series_bytes + lstm_memory(L, T), TSF_MEM_LSTM_TRAIN,
					 L->nn.layers == 1 ?
					 psprintf("The network (hidden %d, %d layer) has %zu parameters, and the series %d steps.",
							  L->nn.hidden, L->nn.layers, P, T) :
					 psprintf("The network (hidden %d, %d layers) has %zu parameters, and the series %d steps.",
							  L->nn.hidden, L->nn.layers, P, T));
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
 * One series on its way through training, in three phases:
 *	prepare		options, the series on its grid, the model's fields, the
 *				scaling, input rows and targets, the initial parameters and
 *				the dropout stream (lstm_prepare)
 *	train		on the CPU (train_cpu), or with other series of the same
 *				configuration in one batch through the CUDA module
 *				(train_batch)
 *	finish		the kept weights' residuals and validation loss, the state
 *				after the series, the model serialized (lstm_finish)
 * Everything lives in cxt, which finish deletes.
 */
typedef struct TsfLstmFit
{
	MemoryContext cxt;
	TsfModel	m;				/* m.payload is &L */
	TsfLstm		L;
	TsfSeries	s;
	LstmOptions o;
	int			T;				/* steps: grid points - 1 */
	int			T_train;		/* of which trained on */
	instr_time	t0;				/* when prepare began */
	double		prep_seconds;	/* prepare's time */
	double		batch_seconds;	/* this series' share of a batch's training;
								 * 0 when trained alone */
	tsf_real   *x;				/* (T, n_in) inputs */
	tsf_real   *y;				/* (T) targets */
	tsf_rng		rng;			/* the dropout stream, as seeded */
	tsf_nn		nn;				/* bound to L.params once a workspace exists */
	bool		bound;
} TsfLstmFit;

/* a workspace of T steps for f's network, starting on a cache line */
static void
bind_network(TsfLstmFit *f, tsf_real *grads, tsf_real *adam_m, tsf_real *adam_v)
{
	size_t		wbytes = tsf_nn_workspace_bytes(&f->L.nn, f->T);
	tsf_nn_error err;

	/*
	 * The workspace starts on a cache line: the core carves it into buffers
	 * of whole 64-byte lines, and its AVX-512 kernels load a line at a time
	 * (a workspace 16 bytes off a line, as palloc gives, makes every such
	 * load straddle two lines: bench/RESULTS.md, "Measurements behind the
	 * code's choices")
	 */
	err = tsf_nn_bind(&f->nn, &f->L.nn, f->L.params, grads, adam_m, adam_v,
					  (void *) TYPEALIGN(64, palloc_extended(wbytes + 63, MCXT_ALLOC_HUGE)),
					  wbytes, f->T);
	if (err != TSF_NN_OK)
		nn_failed(err);
	/* the core polls for a cancel every few milliseconds of its work */
	f->nn.poll.fn = tsf_poll_cancel;
	f->bound = true;
}

/*
 * Prepare a collected series (its options in st->options) for training:
 * min-max scaling on the first T_train steps (grid points 0 .. T_train),
 * input rows and targets of all T = n - 1 steps, the parameters
 * initialized from the seed and the dropout stream seeded.  Sorts st's
 * points in place.  The result lives in a new child of the current memory
 * context.
 */
static TsfLstmFit *
lstm_prepare(TsfSeriesState *st)
{
	TsfLstmFit *f;
	LstmOptions o;
	bool		seen[N_LSTM_OPTS];
	TsfSeries  *s;
	TsfLstm    *L;
	int			T,
				T_train,
				n_in,
				ncov;
	MemoryContext cxt,
				oldctx;
	instr_time	t0;

	INSTR_TIME_SET_CURRENT(t0);
	lstm_parse_options(st->options, &o, seen);
	if (!seen[OPT_TRANSFORM])
	{
		bool		positive = st->n > 0;

		for (int64 i = 0; i < st->n && positive; i++)
			positive = st->pts[i].value > 0;
		o.transform = positive ? TSF_TRANSFORM_LOG : TSF_TRANSFORM_NONE;
	}
	cxt = AllocSetContextCreate(CurrentMemoryContext, "lstm_train",
								ALLOCSET_DEFAULT_SIZES);
	oldctx = MemoryContextSwitchTo(cxt);
	f = palloc0(sizeof(TsfLstmFit));
	f->cxt = cxt;
	f->t0 = t0;
	f->o = o;
	s = &f->s;
	L = &f->L;

	tsf_series_prepare(st, o.transform, o.fill, s);
	if (s->n - 1 > PG_INT32_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("time series is too long to train an LSTM on"),
				 errdetail("The series has " INT64_FORMAT " steps.", s->n)));
	T = (int) (s->n - 1);

	tsf_model_init(&f->m, &tsf_kind_lstm, s, o.transform, o.fill, L);
	L->n_cov = s->ncov;
	L->residual = o.residual;
	L->lr = o.lr;
	L->ema = o.ema;
	L->epochs = o.epochs;
	L->patience = o.patience;
	L->seed = o.seed;
	L->validation = o.validation;
	L->season_period = seen[OPT_SEASON_LENGTH] ? o.season_length :
		tsf_season_period(s->ts_type, &s->freq);
	L->season_s0 = tsf_season_phase(s->ts_type, &s->freq, s->first_ts, L->season_period);
	L->nn.n_in = tsf_lstm_n_in(L->season_period, L->n_cov);
	L->nn.conv_kernel = o.conv_kernel;
	L->nn.conv_channels = o.conv_kernel > 0 ? o.conv_channels : 0;
	L->nn.hidden = o.hidden;
	L->nn.layers = o.layers;
	L->nn.dropout = o.dropout;
	if (tsf_nn_config_check(&L->nn) != TSF_NN_OK)
		elog(ERROR, "invalid network configuration: %s",
			 tsf_nn_strerror(tsf_nn_config_check(&L->nn)));

	T_train = training_steps(T, o.validation);
	f->T = T;
	f->T_train = T_train;
	n_in = L->nn.n_in;
	ncov = L->n_cov;

	/* sizes before any of the network's memory is taken */
	check_lstm_size(L, T, s->bytes);

	/* min-max scaling on the training part: points 0 .. T_train */
	L->n_train = T_train + 1;
	L->y_min = L->y_max = s->y[0];
	for (int k = 1; k <= T_train; k++)
	{
		L->y_min = Min(L->y_min, s->y[k]);
		L->y_max = Max(L->y_max, s->y[k]);
	}
	if (!isfinite(L->y_max - L->y_min))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the range of the time series' values overflows"),
				 errhint("Rescale the series, or use the \"log\" transform.")));
	/* covariates: the inputs of the training steps, grid points 1 .. T_train */
	L->cov_min = palloc(sizeof(double) * (ncov + 1));
	L->cov_max = palloc(sizeof(double) * (ncov + 1));
	for (int c = 0; c < ncov; c++)
	{
		L->cov_min[c] = L->cov_max[c] = s->cov[ncov + c];
		for (int k = 2; k <= T_train; k++)
		{
			L->cov_min[c] = Min(L->cov_min[c], s->cov[(size_t) k * ncov + c]);
			L->cov_max[c] = Max(L->cov_max[c], s->cov[(size_t) k * ncov + c]);
		}
		if (!isfinite(L->cov_max[c] - L->cov_min[c]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("the range of covariate %d overflows", c + 1)));
	}

	/* x (T, n_in), y (T): step t of the sequence is grid step t + 1 */
	f->x = palloc_extended(sizeof(tsf_real) * n_in * (size_t) T, MCXT_ALLOC_HUGE);
	f->y = palloc_extended(sizeof(tsf_real) * (size_t) T, MCXT_ALLOC_HUGE);
	for (int t = 0; t < T; t++)
	{
		tsf_lstm_input(L, t + 1, tsf_lstm_scale(L, s->y[t]),
					   ncov > 0 ? s->cov + (size_t) (t + 1) * ncov : NULL,
					   f->x + (size_t) t * n_in);
		f->y[t] = (tsf_real) (tsf_lstm_scale(L, s->y[t + 1]) -
							  (L->residual ? tsf_lstm_scale(L, s->y[t]) : 0.0));
	}
	L->last_y = tsf_lstm_scale(L, s->y[T]);

	/* the initial parameters and the dropout stream, from the seed */
	L->params = palloc_extended(sizeof(tsf_real) * tsf_nn_param_count(&L->nn),
								MCXT_ALLOC_HUGE);
	tsf_nn_init_params(&L->nn, L->params, (uint64) L->seed);
	tsf_rng_seed(&f->rng, (uint64) L->seed ^ DROPOUT_SEED_XOR);

	MemoryContextSwitchTo(oldctx);
	f->prep_seconds = tsf_seconds_since(t0);
	return f;
}

/*
 * The caller's epoch hook asked the training to stop: its stopped hook
 * raises the error (a job's cancel); a cancel it is, if it does not.
 */
static void
training_stopped(const TsfTrainHooks *hooks)
{
	if (hooks->stopped)
		hooks->stopped(hooks->arg);
	CHECK_FOR_INTERRUPTS();
	ereport(ERROR,
			(errcode(ERRCODE_QUERY_CANCELED),
			 errmsg("canceling the training as its caller asked")));
}

/*
 * Train a prepared series on the CPU: L->epochs epochs of full-batch Adam
 * on the first T_train steps; the rest validate.  With patience > 0, stop
 * when the validation loss has not improved for that many epochs and keep
 * the best weights.  Fills m's parameters, training loss and epoch counts.
 */
static void
train_cpu(TsfLstmFit *f, const TsfTrainHooks *hooks)
{
	TsfLstm    *L = &f->L;
	int			T = f->T;
	int			T_train = f->T_train;
	int			progress = f->o.progress;
	const tsf_real *x = f->x,
			   *y = f->y;
	tsf_real   *ema = NULL;
	tsf_nn		nn;
	tsf_nn_error err;
	size_t		P = tsf_nn_param_count(&L->nn);
	tsf_real   *best = NULL;
	tsf_nn_train_opts topts;
	tsf_rng		rng = f->rng;
	double		best_val = get_float8_infinity();
	double		tl = 0,
				vl = NAN;
	bool		has_val = T_train < T;
	int			epoch;
	MemoryContext oldctx = MemoryContextSwitchTo(f->cxt);

	/* gradients, Adam moments and the workspace, bound to the network */
	bind_network(f, palloc_extended(sizeof(tsf_real) * P, MCXT_ALLOC_HUGE),
				 palloc_extended(sizeof(tsf_real) * P, MCXT_ALLOC_HUGE),
				 palloc_extended(sizeof(tsf_real) * P, MCXT_ALLOC_HUGE));
	nn = f->nn;
	if (L->patience > 0)
		best = palloc_extended(sizeof(tsf_real) * P, MCXT_ALLOC_HUGE);
	tsf_nn_reset_optimizer(&nn);

	topts.adam.lr = L->lr;
	topts.adam.beta1 = 0.9;
	topts.adam.beta2 = 0.999;
	topts.adam.eps = 1e-8;
	topts.loss_start = 0;
	topts.val_start = has_val ? T_train : 0;

	L->best_epoch = 0;
	if (L->ema > 0)
	{
		ema = palloc_extended(sizeof(tsf_real) * P, MCXT_ALLOC_HUGE);
		memcpy(ema, L->params, sizeof(tsf_real) * P);
	}
	for (epoch = 1; epoch <= L->epochs; epoch++)
	{
		CHECK_FOR_INTERRUPTS();
		if (ema == NULL)
			err = tsf_nn_train_epoch(&nn, x, y, T, &topts,
									 L->nn.dropout > 0 ? &rng : NULL, &tl, &vl);
		else
		{
			/*
			 * the epoch of tsf_nn_train_epoch by hand, then the moving
			 * average ema = d ema + (1 - d) params, whose validation loss
			 * is the one reported
			 */
			err = tsf_nn_forward(&nn, x, T_train, L->nn.dropout > 0 ? &rng : NULL);
			if (err == TSF_NN_OK)
			{
				tl = tsf_mse_forward(nn.acts.pred, y, 0, T_train);
				err = tsf_nn_backward(&nn, y, 0, T_train);
			}
			if (err == TSF_NN_OK)
				err = tsf_nn_adam_step(&nn, &topts.adam);
			for (size_t i = 0; i < P; i++)
				ema[i] = L->ema * ema[i] + (1 - L->ema) * L->params[i];
			if (err == TSF_NN_OK && has_val)
			{
				nn.params = ema;
				err = tsf_nn_forward(&nn, x, T, NULL);
				vl = tsf_mse_forward(nn.acts.pred, y, T_train, T);
				nn.params = L->params;
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
			L->best_epoch = epoch;
			if (best)
				memcpy(best, ema ? ema : L->params, sizeof(tsf_real) * P);
		}
		if (hooks && hooks->epoch &&
			hooks->epoch(hooks->arg, epoch, L->epochs, tl, has_val ? vl : NAN))
			training_stopped(hooks);
		if (progress > 0 && (epoch % progress == 0 || epoch == L->epochs))
		{
			if (has_val)
				ereport(NOTICE,
						(errmsg("lstm_train epoch %d of %d: loss %.4g, validation loss %.4g",
								epoch, L->epochs, tl, vl),
						 errdetail("Elapsed %.3f s.", tsf_seconds_since(f->t0))));
			else
				ereport(NOTICE,
						(errmsg("lstm_train epoch %d of %d: loss %.4g", epoch, L->epochs, tl),
						 errdetail("Elapsed %.3f s.", tsf_seconds_since(f->t0))));
		}
		if (L->patience > 0 && epoch - L->best_epoch >= L->patience)
		{
			if (progress > 0)
				ereport(NOTICE,
						(errmsg("lstm_train stopped at epoch %d: best validation loss %.4g at epoch %d",
								epoch, best_val, L->best_epoch)));
			epoch++;
			break;
		}
	}
	L->epochs_run = epoch - 1;
	L->train_loss = tl;
	if (best)
		memcpy(L->params, best, sizeof(tsf_real) * P);
	else if (ema)
		memcpy(L->params, ema, sizeof(tsf_real) * P);
	MemoryContextSwitchTo(oldctx);
}

/*
 * Finish a trained series: the kept weights' one-step residuals and
 * validation loss (without dropout), the state after the whole series,
 * where forecasts start; then the model serialized in the caller's
 * context, and f freed.
 */
static bytea *
lstm_finish(TsfLstmFit *f)
{
	TsfModel   *m = &f->m;
	TsfLstm    *L = &f->L;
	int			T = f->T;
	int			T_train = f->T_train;
	bool		has_val = T_train < T;
	double		sse = 0;
	tsf_nn_error err;
	MemoryContext oldctx = MemoryContextSwitchTo(f->cxt);
	bytea	   *result;
	instr_time	tf;

	INSTR_TIME_SET_CURRENT(tf);
	if (!f->bound)
		bind_network(f, NULL, NULL, NULL);
	err = tsf_nn_predict(&f->nn, f->x, T, NULL);
	if (err != TSF_NN_OK)
		nn_failed(err);
	for (int t = 0; t < T_train; t++)
		sse += ((double) f->nn.acts.pred[t] - f->y[t]) * ((double) f->nn.acts.pred[t] - f->y[t]);
	L->resid_sigma = sqrt(sse / T_train);
	L->val_loss = has_val ? tsf_mse_forward(f->nn.acts.pred, f->y, T_train, T) : NAN;
	if (!isfinite(L->resid_sigma) || (has_val && !isfinite(L->val_loss)))
		diverged(L->epochs_run, "The predictions of the trained network are not finite.");

	/* the state after the series, where forecasts start: the last step's */
	L->state = palloc_extended(sizeof(tsf_real) * tsf_nn_state_count(&L->nn),
							   MCXT_ALLOC_HUGE);
	tsf_nn_state_from_forward(&f->nn, L->state);

	m->fitted_at = GetCurrentTransactionStartTimestamp();
	m->fit_seconds = tsf_seconds_since(f->t0);
	/* trained in a batch: its own preparation and finish, its share of the batch */
	if (f->batch_seconds > 0)
		m->fit_seconds = f->prep_seconds + f->batch_seconds + tsf_seconds_since(tf);
	MemoryContextSwitchTo(oldctx);
	result = tsf_model_serialize(m);
	MemoryContextDelete(f->cxt);
	return result;
}

/* whether two prepared series can train in one batch of the CUDA module */
static bool
same_batch(const TsfLstmFit *a, const TsfLstmFit *b)
{
	return tsf_nn_config_equal(&a->L.nn, &b->L.nn) &&
		a->L.lr == b->L.lr && a->L.epochs == b->L.epochs &&
		a->L.ema == b->L.ema && a->L.patience == b->L.patience;
}

/* whether the CUDA kernels take the network of f (else the CPU trains it) */
static bool
cuda_supports(const TsfLstmFit *f)
{
	return f->L.nn.hidden <= TSFC_MAX_HIDDEN;
}

/* the bytes f takes in a batch's arrays (x, y, parameters, states) */
static Size
batch_bytes(const TsfLstmFit *f)
{
	return sizeof(float) * ((Size) f->T * (f->L.nn.n_in + 1) +
							tsf_nn_param_count(&f->L.nn)) + 128;
}

/*
 * The module's on_epoch: it must not throw, so it only reads flags.  A
 * pending cancel or termination, or the caller's own stop, ends the
 * training; train_batch then raises the error.
 */
static int
batch_on_epoch(void *arg, int epoch, int epochs, double mean_loss, double mean_val_loss)
{
	const TsfTrainHooks *hooks = (const TsfTrainHooks *) arg;

	if (QueryCancelPending || ProcDiePending)
		return 1;
	if (hooks && hooks->epoch &&
		hooks->epoch(hooks->arg, epoch, epochs, mean_loss, mean_val_loss))
		return 1;
	return 0;
}

/*
 * Train n prepared series of one configuration (same_batch) in one batch
 * through the CUDA module api: their inputs, targets, initial parameters
 * and dropout streams go over as float arrays (B, T_max, ...), all series
 * step together, and the kept parameters, losses and epoch counts come
 * back into each series' model, to be finished on the CPU (lstm_finish)
 * exactly as a CPU-trained one.  idx[b] is series b's index for
 * hooks->series (NULL: b).
 *
 * A cancel (statement_timeout, pg_cancel_backend, hooks->epoch) stops the
 * module after the epoch; it frees its GPU memory and returns, and the
 * cancel is raised here.  A diverged series is an ERROR naming it (through
 * hooks->series, the caller's error context).  A configuration the kernels
 * do not take returns false when fallback is set (train on the CPU), else
 * is an ERROR, as is any failure of the module.  The batch's arrays live
 * in a context deleted here (an error frees them with the transaction).
 */
static bool
train_batch(TsfLstmFit **fits, const int *idx, int n, const tsfc_api *api,
			bool fallback, const TsfTrainHooks *hooks)
{
	MemoryContext bcxt,
				oldctx;
	const TsfLstmFit *f0 = fits[0];
	const tsf_nn_config *cfg = &f0->L.nn;
	size_t		P = tsf_nn_param_count(cfg);
	int			n_in = cfg->n_in;
	int			T_max = 0;
	int		   *T,
			   *T_train;
	float	   *x,
			   *y,
			   *params;
	uint64_t   *rng;
	tsfc_train	t;
	char		err[TSFC_ERRLEN];
	int			rc;
	instr_time	t0;
	double		seconds;

	Assert(n > 0);
	for (int b = 0; b < n; b++)
	{
		if (!same_batch(f0, fits[b]))
			elog(ERROR, "series of different configurations in one batch");
		T_max = Max(T_max, fits[b]->T);
	}

	bcxt = AllocSetContextCreate(CurrentMemoryContext, "lstm_train batch",
								 ALLOCSET_DEFAULT_SIZES);
	oldctx = MemoryContextSwitchTo(bcxt);
	x = palloc_extended(sizeof(float) * (Size) n * T_max * n_in, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	y = palloc_extended(sizeof(float) * (Size) n * T_max, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	params = palloc_extended(sizeof(float) * (Size) n * P, MCXT_ALLOC_HUGE);
	rng = palloc_extended(sizeof(uint64_t) * 4 * (Size) n, MCXT_ALLOC_HUGE);
	T = palloc(sizeof(int) * n);
	T_train = palloc(sizeof(int) * n);

	memset(&t, 0, sizeof(t));
	t.train_loss = palloc_extended(sizeof(double) * n, MCXT_ALLOC_HUGE);
	t.val_loss = palloc_extended(sizeof(double) * n, MCXT_ALLOC_HUGE);
	t.best_epoch = palloc_extended(sizeof(int) * n, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	t.epochs_run = palloc_extended(sizeof(int) * n, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (int b = 0; b < n; b++)
	{
		const TsfLstmFit *f = fits[b];
		float	   *xb = x + (Size) b * T_max * n_in;
		float	   *yb = y + (Size) b * T_max;
		float	   *pb = params + (Size) b * P;

		T[b] = f->T;
		T_train[b] = f->T_train;
		for (Size i = 0; i < (Size) f->T * n_in; i++)
			xb[i] = (float) f->x[i];
		for (int i = 0; i < f->T; i++)
			yb[i] = (float) f->y[i];
		for (Size i = 0; i < P; i++)
			pb[i] = (float) f->L.params[i];
		memcpy(rng + 4 * (Size) b, f->rng.s, sizeof(uint64_t) * 4);
	}

	t.n_in = n_in;
	t.conv_kernel = cfg->conv_kernel;
	t.conv_channels = cfg->conv_channels;
	t.hidden = cfg->hidden;
	t.layers = cfg->layers;
	t.dropout = cfg->dropout;
	t.lr = f0->L.lr;
	t.beta1 = 0.9;
	t.beta2 = 0.999;
	t.eps = 1e-8;
	t.epochs = f0->L.epochs;
	t.ema = f0->L.ema;
	t.patience = f0->L.patience;
	t.B = n;
	t.T_max = T_max;
	t.T = T;
	t.T_train = T_train;
	t.x = x;
	t.y = y;
	t.params = params;
	t.rng = rng;
	t.loss_curve = NULL;
	t.on_epoch = batch_on_epoch;
	t.arg = (void *) hooks;
	t.bad_series = -1;
	t.bad_epoch = 0;

	err[0] = '\0';
	INSTR_TIME_SET_CURRENT(t0);
	rc = api->train(&t, err, sizeof(err));
	seconds = tsf_seconds_since(t0);
	err[sizeof(err) - 1] = '\0';

	switch (rc)
	{
		case TSFC_OK:
			break;
		case TSFC_CANCELLED:
			if (hooks && hooks->stopped)
				hooks->stopped(hooks->arg);
			CHECK_FOR_INTERRUPTS();
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("canceling the training of %d series on the GPU", n)));
			break;
		case TSFC_DIVERGED:
			/* the module counts series from 1 */
			if (hooks && hooks->series && t.bad_series >= 1 && t.bad_series <= n)
				hooks->series(hooks->arg, idx ? idx[t.bad_series - 1] : t.bad_series - 1);
			diverged(t.bad_epoch, tsf_cuda_sentence(err, "A loss became NaN or infinite."));
			break;
		case TSFC_UNSUPPORTED:
			if (fallback)
			{
				MemoryContextSwitchTo(oldctx);
				MemoryContextDelete(bcxt);
				return false;
			}
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("the CUDA backend cannot train this network"),
					 errdetail("%s", tsf_cuda_sentence(err, "The configuration is not supported.")),
					 errhint("Set tsforecast.device to \"auto\" or \"cpu\" to train it on the CPU.")));
			break;
		case TSFC_NO_DEVICE:
			tsf_cuda_unusable(tsf_cuda_sentence(err, "The CUDA module found no usable GPU."));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("the CUDA backend failed to train %d series", n),
					 errdetail("%s", tsf_cuda_sentence(err, "The module gave no reason."))));
			break;
	}

	for (int b = 0; b < n; b++)
	{
		TsfLstmFit *f = fits[b];
		const float *pb = params + (Size) b * P;

		for (Size i = 0; i < P; i++)
			f->L.params[i] = (tsf_real) pb[i];
		f->L.epochs_run = t.epochs_run[b];
		f->L.best_epoch = t.best_epoch[b];
		f->L.train_loss = t.train_loss[b];
		f->m.device = TSF_TRAINED_CUDA;
		f->batch_seconds = seconds / n;
	}
	MemoryContextSwitchTo(oldctx);
	MemoryContextDelete(bcxt);
	return true;
}

Datum
tsf_lstm_train_finalfn(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "lstm_train called in non-aggregate context");
	PG_RETURN_BYTEA_P(tsf_lstm_fit((TsfSeriesState *) PG_GETARG_POINTER(0),
								   tsf_device, NULL));
}

/*
 * Train the network on a collected series (its options in st->options) and
 * return the model serialized: lstm_train's final step, and a job's for
 * each series on the CPU.  Sorts st's points in place.
 *
 * device (a TsfDevice): "cuda" trains through the CUDA module, a batch of
 * one; "auto" trains one series on the CPU (TSF_CUDA_AUTO_MIN_SERIES).
 */
bytea *
tsf_lstm_fit(TsfSeriesState *st, int device, const TsfTrainHooks *hooks)
{
	TsfLstmFit *f = lstm_prepare(st);
	const tsfc_api *api = tsf_cuda_resolve(device, 1, TSF_CUDA_AUTO_MIN_SERIES, NULL);

	if (api == NULL ||
		(device == TSF_DEVICE_AUTO && !cuda_supports(f)) ||
		!train_batch(&f, NULL, 1, api, device == TSF_DEVICE_AUTO, hooks))
		train_cpu(f, hooks);
	return lstm_finish(f);
}

/* prepared series of one network configuration, waiting for the GPU */
typedef struct LstmBatch
{
	TsfLstmFit **fits;			/* (n) */
	int		   *idx;			/* (n) their indexes in the job's series */
	int			n;
	Size		bytes;			/* of the module's arrays */
} LstmBatch;

/* finish series i in cxt, hand its model to hooks->done, reset cxt */
static void
finish_series(TsfLstmFit *f, int i, MemoryContext cxt, const TsfTrainHooks *hooks)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	bytea	   *model;

	if (hooks && hooks->series)
		hooks->series(hooks->arg, i);
	model = lstm_finish(f);
	if (hooks && hooks->done)
		hooks->done(hooks->arg, i, model);
	MemoryContextSwitchTo(old);
	MemoryContextReset(cxt);
}

/* train batch g on the GPU (or, for a configuration it refuses, the CPU) */
static void
run_batch(LstmBatch *g, const tsfc_api *api, bool fallback, MemoryContext cxt,
		  const TsfTrainHooks *hooks)
{
	bool		on_gpu;

	if (g->n == 0)
		return;
	CHECK_FOR_INTERRUPTS();
	if (hooks && hooks->series)
		hooks->series(hooks->arg, g->idx[0]);
	on_gpu = train_batch(g->fits, g->idx, g->n, api, fallback, hooks);
	for (int b = 0; b < g->n; b++)
	{
		if (!on_gpu)
		{
			if (hooks && hooks->series)
				hooks->series(hooks->arg, g->idx[b]);
			train_cpu(g->fits[b], hooks);
		}
		finish_series(g->fits[b], g->idx[b], cxt, hooks);
	}
	g->n = 0;
	g->bytes = 0;
}

/*
 * The group among groups (n of them) that f joins: one holding series it
 * may train with (same), else an empty one; NULL when there is none.
 */
static LstmBatch *
find_group(LstmBatch *groups, int n, const TsfLstmFit *f,
		   bool (*same) (const TsfLstmFit *, const TsfLstmFit *))
{
	for (int k = 0; k < n; k++)
		if (groups[k].n > 0 && same(groups[k].fits[0], f))
			return &groups[k];
	for (int k = 0; k < n; k++)
		if (groups[k].n == 0)
			return &groups[k];
	return NULL;
}

/* a new empty group for up to cap series, appended to *groups */
static LstmBatch *
new_group(LstmBatch **groups, int *n, int cap)
{
	LstmBatch  *g;

	*groups = *groups ? repalloc(*groups, sizeof(LstmBatch) * (*n + 1)) :
		palloc(sizeof(LstmBatch));
	g = &(*groups)[(*n)++];
	g->fits = palloc(sizeof(TsfLstmFit *) * cap);
	g->idx = palloc(sizeof(int) * cap);
	g->n = 0;
	g->bytes = 0;
	return g;
}

/* train the series waiting in group g one at a time, and finish them */
static void
run_alone(LstmBatch *g, MemoryContext cxt, const TsfTrainHooks *hooks)
{
	for (int b = 0; b < g->n; b++)
	{
		if (hooks && hooks->series)
			hooks->series(hooks->arg, g->idx[b]);
		CHECK_FOR_INTERRUPTS();
		train_cpu(g->fits[b], hooks);
		finish_series(g->fits[b], g->idx[b], cxt, hooks);
	}
	g->n = 0;
	g->bytes = 0;
}

/* whether two prepared series can train in one pass of lanes on the CPU */
static bool
same_lanes(const TsfLstmFit *a, const TsfLstmFit *b)
{
	return same_batch(a, b) && a->T == b->T && a->T_train == b->T_train;
}

/* the bytes of a group's training in lanes (tsf_nn_lanes_workspace_bytes and
 * the moving average and best weights of each lane) */
static double
lanes_bytes(const TsfLstmFit *f)
{
	double		P = (double) tsf_nn_param_count(&f->L.nn);

	return (double) tsf_nn_lanes_workspace_bytes(&f->L.nn, f->T) + 64 +
		sizeof(tsf_real) * P * TSF_NN_LANES *
		((f->L.ema > 0 ? 1 : 0) + (f->L.patience > 0 ? 1 : 0));
}

/*
 * Whether sixteen networks of H units train faster in the lanes than one
 * at a time (bench/lstm_lanes.sh, AVX-512, float32, series per second):
 * below 32 units (H 8: 4.0x, 16: 1.5x, 24: 1.65x, 28: 1.5x), and up to
 * LANES_MAX_HIDDEN where one network alone leaves part of its last vector
 * of 16 idle (40: 1.22x, 56: 1.13x); at 32, 48 and 64, whole vectors, one
 * at a time is as fast or faster (1.0x, 0.90x, 0.91x), and from 128 the
 * lanes' sixteen weight matrices no longer fit the L2 cache (0.27x).
 */
static bool
lanes_pay_off(int H)
{
	return H < 32 || (H <= LANES_MAX_HIDDEN && H % 16 != 0);
}

/* whether f's network trains in lanes at all */
static bool
lanes_support(const TsfLstmFit *f)
{
	return lanes_pay_off(f->L.nn.hidden) &&
		tsf_nn_param_count(&f->L.nn) <= TSF_NN_LANES_MAX_PARAMS &&
		lanes_bytes(f) <= tsf_max_memory_bytes() / 4;
}

/*
 * Train TSF_NN_LANES prepared series of one network, length and options
 * (same_lanes) in one pass on the CPU: train_cpu's loop for each of them,
 * every epoch one tsf_nn_lanes_train_epoch of all (each lane its series'
 * network, bit for bit as train_cpu trains it alone: src/nn/lanes.c),
 * with the moving average, the best weights and early stopping kept per
 * lane.  A lane that stopped early trains on with the others, its kept
 * weights and counts those of its stop.  hooks->epoch hears the mean
 * losses of the lanes still training, as of a GPU batch; a diverged
 * series is an ERROR naming it.  Fills each series' parameters, losses
 * and epoch counts, as train_cpu does; each model is then finished alone.
 */
static void
train_lanes(TsfLstmFit **fits, const int *idx, const TsfTrainHooks *hooks)
{
	enum
	{
		S = TSF_NN_LANES
	};
	const TsfLstmFit *f0 = fits[0];
	const TsfLstm *L0 = &f0->L;
	const tsf_nn_config *cfg = &L0->nn;
	int			T = f0->T;
	int			T_train = f0->T_train;
	bool		has_val = T_train < T;
	size_t		P = tsf_nn_param_count(cfg);
	size_t		wbytes = tsf_nn_lanes_workspace_bytes(cfg, T);
	MemoryContext bcxt,
				oldctx;
	tsf_nn_lanes ln;
	tsf_nn_train_opts topts;
	const tsf_real *xs[S],
			   *ys[S],
			   *init[S];
	tsf_rng		rng[S];
	tsf_rng    *rp[S];
	tsf_real   *ema = NULL;
	tsf_real   *best[S];
	double		tl[S],
				vl[S],
				best_val[S],
				last_tl[S];
	int			best_epoch[S],
				epochs_run[S];
	bool		active[S];
	int			n_active = S;
	instr_time	t0;
	double		seconds;
	tsf_nn_error err;

	elog(DEBUG1, "tsforecast: %d LSTM series trained in one pass (lanes), the first the job's series %d",
		 S, idx[0] + 1);
	INSTR_TIME_SET_CURRENT(t0);
	bcxt = AllocSetContextCreate(CurrentMemoryContext, "lstm_train lanes",
								 ALLOCSET_DEFAULT_SIZES);
	oldctx = MemoryContextSwitchTo(bcxt);
	err = tsf_nn_lanes_bind(&ln, cfg,
							(void *) TYPEALIGN(64, palloc_extended(wbytes + 63, MCXT_ALLOC_HUGE)),
							wbytes, T);
	if (err != TSF_NN_OK)
		nn_failed(err);
	/* the core polls for a cancel every few milliseconds of its work */
	ln.poll.fn = tsf_poll_cancel;
	for (int s = 0; s < S; s++)
	{
		xs[s] = fits[s]->x;
		ys[s] = fits[s]->y;
		init[s] = fits[s]->L.params;
		rng[s] = fits[s]->rng;
		rp[s] = &rng[s];
		best[s] = NULL;
		if (L0->patience > 0)
			best[s] = palloc_extended(sizeof(tsf_real) * P, MCXT_ALLOC_HUGE);
		best_val[s] = get_float8_infinity();
		best_epoch[s] = 0;
		epochs_run[s] = L0->epochs;
		last_tl[s] = 0;
		active[s] = true;
	}
	tsf_nn_lanes_start(&ln, init);
	err = tsf_nn_lanes_set_data(&ln, xs, ys, T);
	if (err != TSF_NN_OK)
		nn_failed(err);
	if (L0->ema > 0)
	{
		ema = palloc_extended(sizeof(tsf_real) * P * S, MCXT_ALLOC_HUGE);
		memcpy(ema, ln.params, sizeof(tsf_real) * P * S);
	}
	topts.adam.lr = L0->lr;
	topts.adam.beta1 = 0.9;
	topts.adam.beta2 = 0.999;
	topts.adam.eps = 1e-8;
	topts.loss_start = 0;
	topts.val_start = has_val ? T_train : 0;

	for (int epoch = 1; epoch <= L0->epochs && n_active > 0; epoch++)
	{
		double		sum_tl = 0,
					sum_vl = 0;

		CHECK_FOR_INTERRUPTS();
		/* with a moving average, its validation loss is the one that counts */
		err = tsf_nn_lanes_train_epoch(&ln, &topts, cfg->dropout > 0 ? rp : NULL,
									   tl, ema ? NULL : vl);
		if (err == TSF_NN_OK && ema)
		{
			for (size_t i = 0; i < P * S; i++)
				ema[i] = L0->ema * ema[i] + (1 - L0->ema) * ln.params[i];
			if (has_val)
				err = tsf_nn_lanes_loss(&ln, ema, T_train, T, vl);
		}
		if (err != TSF_NN_OK)
			nn_failed(err);
		for (int s = 0; s < S; s++)
		{
			if (!active[s])
				continue;
			if (!isfinite(tl[s]) || (has_val && !isfinite(vl[s])))
			{
				if (hooks && hooks->series)
					hooks->series(hooks->arg, idx[s]);
				diverged(epoch, !isfinite(tl[s]) ?
						 (isnan(tl[s]) ? "The loss became NaN." : "The loss became infinite.") :
						 "The validation loss is not finite.");
			}
			if (has_val && vl[s] < best_val[s])
			{
				best_val[s] = vl[s];
				best_epoch[s] = epoch;
				if (best[s])
					tsf_nn_lanes_lane(&ln, ema ? ema : ln.params, s, best[s]);
			}
			last_tl[s] = tl[s];
			sum_tl += tl[s];
			sum_vl += has_val ? vl[s] : 0;
		}
		if (hooks && hooks->epoch &&
			hooks->epoch(hooks->arg, epoch, L0->epochs, sum_tl / n_active,
						 has_val ? sum_vl / n_active : NAN))
			training_stopped(hooks);
		for (int s = 0; s < S; s++)
			if (active[s] && L0->patience > 0 && epoch - best_epoch[s] >= L0->patience)
			{
				active[s] = false;
				epochs_run[s] = epoch;
				n_active--;
			}
	}
	seconds = tsf_seconds_since(t0);
	for (int s = 0; s < S; s++)
	{
		TsfLstmFit *f = fits[s];

		if (best[s])
			memcpy(f->L.params, best[s], sizeof(tsf_real) * P);
		else
			tsf_nn_lanes_lane(&ln, ema ? ema : ln.params, s, f->L.params);
		f->L.epochs_run = epochs_run[s];
		f->L.best_epoch = best_epoch[s];
		f->L.train_loss = last_tl[s];
		f->batch_seconds = seconds / S;
	}
	MemoryContextSwitchTo(oldctx);
	MemoryContextDelete(bcxt);
}

/*
 * A job's series on the CPU: prepare each, group the series that can
 * train in lanes (same_lanes, lanes_support) and train each group in one
 * pass as soon as it has TSF_NN_LANES; every other series, and the groups
 * left short at the end, train one at a time.  Every model is finished
 * alone, in a context reset after hooks->done.  The same models as
 * tsf_kind_train's fit() of each, bit for bit but the fit time.
 */
static void
fit_cpu(TsfSeriesState **series, int n, const TsfTrainHooks *hooks)
{
	LstmBatch  *groups = NULL;
	int			ngroups = 0;
	int			waiting = 0;
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "lstm_train series",
											  ALLOCSET_DEFAULT_SIZES);

	for (int i = 0; i < n; i++)
	{
		TsfLstmFit *f;
		LstmBatch  *g = NULL;

		if (hooks && hooks->series)
			hooks->series(hooks->arg, i);
		CHECK_FOR_INTERRUPTS();
		f = lstm_prepare(series[i]);
		if (n < TSF_NN_LANES || !lanes_support(f))
		{
			train_cpu(f, hooks);
			finish_series(f, i, cxt, hooks);
			continue;
		}
		g = find_group(groups, ngroups, f, same_lanes);
		if (g == NULL && waiting >= LANES_MAX_WAITING)
		{
			/* too many waiting: the group with the fewest trains alone */
			LstmBatch  *few = NULL;

			for (int k = 0; k < ngroups; k++)
				if (groups[k].n > 0 && (few == NULL || groups[k].n < few->n))
					few = &groups[k];
			waiting -= few->n;
			run_alone(few, cxt, hooks);
			g = few;
		}
		if (g == NULL)
			g = new_group(&groups, &ngroups, TSF_NN_LANES);
		g->fits[g->n] = f;
		g->idx[g->n] = i;
		g->n++;
		waiting++;
		if (g->n == TSF_NN_LANES)
		{
			CHECK_FOR_INTERRUPTS();
			if (hooks && hooks->series)
				hooks->series(hooks->arg, g->idx[0]);
			train_lanes(g->fits, g->idx, hooks);
			for (int b = 0; b < g->n; b++)
				finish_series(g->fits[b], g->idx[b], cxt, hooks);
			waiting -= g->n;
			g->n = 0;
		}
	}
	for (int k = 0; k < ngroups; k++)
		run_alone(&groups[k], cxt, hooks);
	MemoryContextDelete(cxt);
}

/*
 * The kind's fit_batch: n series of a job, on the GPU (api) or, with api
 * NULL, on the CPU in lanes where they can (fit_cpu).  On the GPU: prepare
 * every series, group them by network configuration (a batch trains one),
 * train each group as one batch when it is full and at the end, and finish
 * every model as the CPU path does.  Under device "auto" a network the
 * kernels do not take trains on the CPU.  The prepared series of the groups
 * waiting live in the current memory context; each model's finish in a
 * context reset after hooks->done.
 */
void
tsf_lstm_fit_batch(TsfSeriesState **series, int n, int device,
				   const tsfc_api *api, const TsfTrainHooks *hooks)
{
	LstmBatch  *groups = NULL;
	int			ngroups = 0;
	bool		fallback = device == TSF_DEVICE_AUTO;
	MemoryContext cxt;

	if (api == NULL)
	{
		fit_cpu(series, n, hooks);
		return;
	}
	cxt = AllocSetContextCreate(CurrentMemoryContext, "lstm_train series",
								ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < n; i++)
	{
		TsfLstmFit *f;
		LstmBatch  *g = NULL;

		if (hooks && hooks->series)
			hooks->series(hooks->arg, i);
		CHECK_FOR_INTERRUPTS();
		f = lstm_prepare(series[i]);
		if (fallback && !cuda_supports(f))
		{
			train_cpu(f, hooks);
			finish_series(f, i, cxt, hooks);
			continue;
		}
		g = find_group(groups, ngroups, f, same_batch);
		if (g == NULL)
			g = new_group(&groups, &ngroups, Min(n, BATCH_MAX_SERIES));
		g->fits[g->n] = f;
		g->idx[g->n] = i;
		g->n++;
		g->bytes += batch_bytes(f);
		if (g->n >= BATCH_MAX_SERIES || g->bytes >= BATCH_MAX_BYTES)
			run_batch(g, api, fallback, cxt, hooks);
	}
	for (int k = 0; k < ngroups; k++)
		run_batch(&groups[k], api, fallback, cxt, hooks);
	MemoryContextDelete(cxt);
}

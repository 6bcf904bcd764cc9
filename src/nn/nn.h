/*
 * nn.h
 *		The numerical core of tsforecast's neural network: causal Conv1d ->
 *		LSTM (L layers) -> dropout -> Linear at every step, MSE loss, Adam.
 *
 * Pure C11, no PostgreSQL headers, no allocation and no global state: the
 * caller owns every buffer.  All parameters live in one contiguous block (the
 * same order as PyTorch's model.named_parameters()), gradients and the two
 * Adam moments are blocks of the same size, and the activations of one
 * forward pass are cached in a caller-provided workspace whose size
 * tsf_nn_workspace_bytes() reports.
 *
 * Two levels of API:
 *	- layers: one tsf_<layer>_forward / tsf_<layer>_backward pair per layer
 *	  over raw arrays, shapes given in the comments as (T, C) etc.  Backward
 *	  functions ACCUMULATE (+=) into parameter and input gradients, like
 *	  llm.c, so the caller zeroes them first;
 *	- network: tsf_nn_bind() ties a config to caller buffers, then
 *	  tsf_nn_forward / tsf_nn_backward / tsf_nn_adam_step /
 *	  tsf_nn_train_epoch / tsf_nn_predict.
 *
 * Every symbol carries the tsf_ prefix: PostgreSQL loads extension libraries
 * with RTLD_GLOBAL, so short names such as linear_forward could collide.
 *
 * Sequences are time-major: x is (T, n_in), row t holding step t.  A leading
 * batch dimension B of independent series can later be added by looping the
 * layer functions over B slices; nothing here assumes B == 1 beyond that.
 */
#ifndef TSF_NN_H
#define TSF_NN_H

#include <stddef.h>
#include <stdint.h>

/*
 * The scalar type: float with -DTSF_NN_FLOAT, which the Makefile passes to
 * every file (core and caller) unless NN_PRECISION=float64; double
 * otherwise (see src/nn/README.md, "Precision").
 */
#ifdef TSF_NN_FLOAT
typedef float tsf_real;
#else
typedef double tsf_real;
#endif

#define TSF_NN_MAX_LAYERS	8
#define TSF_NN_MAX_WIDTH	4096	/* bound on n_in, channels, hidden */
#define TSF_NN_MAX_KERNEL	64

/* error codes returned by tsf_nn_config_check() and tsf_nn_bind() */
typedef enum tsf_nn_error
{
	TSF_NN_OK = 0,
	TSF_NN_BAD_N_IN,			/* n_in outside 1..TSF_NN_MAX_WIDTH */
	TSF_NN_BAD_KERNEL,			/* conv_kernel outside 0..TSF_NN_MAX_KERNEL */
	TSF_NN_BAD_CHANNELS,		/* conv_channels outside 1..MAX (conv on) */
	TSF_NN_BAD_HIDDEN,			/* hidden outside 1..TSF_NN_MAX_WIDTH */
	TSF_NN_BAD_LAYERS,			/* layers outside 1..TSF_NN_MAX_LAYERS */
	TSF_NN_BAD_DROPOUT,			/* dropout outside [0, 1) or NaN */
	TSF_NN_BAD_LENGTH,			/* T outside 1..T_max, or bad loss range */
	TSF_NN_SMALL_WORKSPACE,		/* workspace smaller than reported */
	TSF_NN_NO_OPTIMIZER,		/* Adam step without grads/moments */
	TSF_NN_CANCELLED,			/* a poll said stop (see tsf_nn_poll) */
	TSF_NN_LANES_MISMATCH,		/* networks of tsf_nn_lanes_load differ */
	TSF_NN_LANES_TOO_LARGE		/* over TSF_NN_LANES_MAX_PARAMS */
} tsf_nn_error;

/*
 * Cancellation.  The caller's poll function is called every step of the
 * LSTM recurrences and between chunks of the products over all steps (at
 * most TSF_NN_POLL_MACS multiply-adds each) and of the passes over whole
 * buffers (at most TSF_NN_POLL_ELEMS elements each); when it returns
 * nonzero, the function polling returns TSF_NN_CANCELLED at once.  It must
 * not longjmp: the SQL glue's poll only reads PostgreSQL's interrupt flag,
 * and the glue runs CHECK_FOR_INTERRUPTS() after TSF_NN_CANCELLED.
 *
 * Every call that returned TSF_NN_CANCELLED may be made again with the same
 * arguments, and that repeat gives the bits the uninterrupted call would
 * have given: forward, backward and predict start over (a cancelled
 * forward leaves its dropout rng as it found it), tsf_nn_adam_step and
 * tsf_nn_train_epoch resume where they stopped (nn->adam_next, nn->resume).
 * In between, the network's buffers hold a partial pass: the caller must
 * not read the activations, gradients or, after a cancelled Adam step, the
 * parameters; a cancelled epoch changes the parameters only if it stopped
 * in its Adam step or its validation pass, after the complete backward.
 *
 * poll->macs counts the multiply-adds of the products, convolution and
 * linear layer done under this poll (the recurrences' and chunks' work; not
 * the elementwise passes), for progress reports and the unit tests.
 */
typedef int (*tsf_nn_poll_fn) (void *arg);	/* nonzero: stop */

typedef struct tsf_nn_poll
{
	tsf_nn_poll_fn fn;			/* NULL: never stop */
	void	   *arg;			/* passed to fn */
	uint64_t	macs;			/* multiply-adds done so far, added to by
								 * the core */
} tsf_nn_poll;

/* the most work between two polls: multiply-adds of a product's chunk */
#define TSF_NN_POLL_MACS	((uint64_t) 1 << 23)
/* elements of an elementwise pass (Adam, dropout, fills, copies) */
#define TSF_NN_POLL_ELEMS	((size_t) 1 << 18)

/* The network's hyperparameters that fix the parameter block. */
typedef struct tsf_nn_config
{
	int			n_in;			/* inputs per step */
	int			conv_kernel;	/* K; 0 = no convolution, LSTM sees x */
	int			conv_channels;	/* C, output channels of the conv */
	int			hidden;			/* H, LSTM hidden size */
	int			layers;			/* L, stacked LSTM layers */
	double		dropout;		/* p, on the last LSTM's outputs */
} tsf_nn_config;

/*
 * Offsets (in tsf_real elements) of each tensor inside the parameter block,
 * in PyTorch's named_parameters() order and with PyTorch's shapes:
 *	conv.weight (C, n_in, K), conv.bias (C),
 *	lstm.weight_ih_l{l} (4H, I_l), lstm.weight_hh_l{l} (4H, H),
 *	lstm.bias_ih_l{l} (4H), lstm.bias_hh_l{l} (4H)	for l = 0..L-1,
 *	linear.weight (1, H), linear.bias (1).
 * I_0 = C with the conv, n_in without; I_l = H above.  Gate rows in the LSTM
 * tensors are in PyTorch's order i, f, g, o.  conv_w/conv_b are 0 and
 * unused when conv_kernel == 0.
 */
typedef struct tsf_nn_offsets
{
	size_t		conv_w;
	size_t		conv_b;
	size_t		w_ih[TSF_NN_MAX_LAYERS];
	size_t		w_hh[TSF_NN_MAX_LAYERS];
	size_t		b_ih[TSF_NN_MAX_LAYERS];
	size_t		b_hh[TSF_NN_MAX_LAYERS];
	size_t		lin_w;
	size_t		lin_b;
	size_t		total;			/* parameter count */
} tsf_nn_offsets;

/* Explicit-state random number generator: xoshiro256**, seeded by splitmix64 */
typedef struct tsf_rng
{
	uint64_t	s[4];
} tsf_rng;

/* Adam hyperparameters (torch.optim.Adam defaults but lr) */
typedef struct tsf_adam
{
	double		lr;				/* 0.01 in the seed notebook */
	double		beta1;			/* 0.9 */
	double		beta2;			/* 0.999 */
	double		eps;			/* 1e-8 */
} tsf_adam;

/*
 * Pointers into the workspace: the activations a forward pass caches for the
 * backward pass, and the backward pass's own buffers.  Filled by tsf_nn_bind.
 */
typedef struct tsf_nn_acts
{
	tsf_real   *conv_out;		/* (T, C)  conv output = LSTM layer 0 input */
	tsf_real   *gates[TSF_NN_MAX_LAYERS];	/* (T, 4H) activated i, f, g, o */
	tsf_real   *c[TSF_NN_MAX_LAYERS];	/* (T, H)  cell state */
	tsf_real   *tc[TSF_NN_MAX_LAYERS];	/* (T, H)  tanh(cell state) */
	tsf_real   *h[TSF_NN_MAX_LAYERS];	/* (T, H)  hidden state = output */
	tsf_real   *mask;			/* (T, H)  dropout scale, 0 or 1/(1-p) */
	tsf_real   *drop_out;		/* (T, H)  dropout output */
	tsf_real   *pred;			/* (T)     network output */
	tsf_real   *wT;				/* (tsf_lstm_scratch_count(max(I_0, H), H))
								 * rearranged weights */
	/* backward */
	tsf_real   *dpred;			/* (T) */
	tsf_real   *ddrop;			/* (T, H)  grad of the dropout output */
	tsf_real   *dh[2];			/* (T, H)  grad of a layer's h, ping-pong */
	tsf_real   *dgates;			/* (T, 4H) grad of gate pre-activations */
	tsf_real   *dconv;			/* (T, C)  grad of the conv output */
	tsf_real   *scratch;		/* (2H)    dh_next, dc_next of the recurrence */
	tsf_real   *step_buf;		/* (4H + C + H) scratch of tsf_nn_step */
} tsf_nn_acts;

/*
 * A network bound to caller-owned buffers.  Nothing in it is allocated by
 * the core; tsf_nn_bind only computes offsets and pointers.
 */
typedef struct tsf_nn
{
	tsf_nn_config cfg;
	tsf_nn_offsets off;
	tsf_real   *params;			/* (P) */
	tsf_real   *grads;			/* (P) or NULL for inference only */
	tsf_real   *m;				/* (P) Adam first moment, or NULL */
	tsf_real   *v;				/* (P) Adam second moment, or NULL */
	long		step;			/* Adam steps taken so far */
	int			T_max;			/* the workspace holds sequences this long */
	int			T;				/* length of the last forward pass */
	const tsf_real *x;			/* (T, n_in) input of the last forward pass,
								 * read again by the backward pass */
	int			dropout_on;		/* whether the last forward used dropout */
	tsf_nn_acts acts;

	/*
	 * The cancel check, {NULL, NULL, 0} after tsf_nn_bind (never stop, and
	 * the products run unchunked); the caller sets poll.fn and poll.arg
	 * after binding.
	 */
	tsf_nn_poll poll;
	/* where a cancelled call resumes (see tsf_nn_poll); 0 when none */
	size_t		adam_next;		/* > 0: Adam step nn->step done up to here */
	int			resume;			/* TSF_NN_RESUME_* of tsf_nn_train_epoch */
	double		resume_loss;	/* that epoch's training loss */
} tsf_nn;

/* nn->resume: the phase a cancelled tsf_nn_train_epoch stopped in */
#define TSF_NN_RESUME_NONE			0	/* forward or backward: start over */
#define TSF_NN_RESUME_ADAM			1	/* its Adam step, half done */
#define TSF_NN_RESUME_VALIDATION	2	/* its validation pass, after the step */

/* Options of one training epoch (full batch: the series is one sequence) */
typedef struct tsf_nn_train_opts
{
	tsf_adam	adam;
	int			loss_start;		/* train loss over [loss_start, val_start) */
	int			val_start;		/* validation loss over [val_start, T); 0 or
								 * >= T: no validation, train over [.., T) */
} tsf_nn_train_opts;

/* ---- random numbers (rng.c) ---- */
extern void tsf_rng_seed(tsf_rng *rng, uint64_t seed);
extern uint64_t tsf_rng_next(tsf_rng *rng);
extern double tsf_rng_uniform(tsf_rng *rng);

/* ---- layers: conv1d.c, lstm.c, dropout.c, linear.c, mse.c, adam.c ---- */
/*
 * The layers that can run long take a poll (NULL: no polling, no chunking,
 * no counting) and return TSF_NN_OK or TSF_NN_CANCELLED; the elementwise
 * ones (dropout, MSE, Adam) work on n elements, which the caller slices.
 */
extern tsf_nn_error tsf_conv1d_forward(tsf_real *out, const tsf_real *inp,
									   const tsf_real *w, const tsf_real *b,
									   int T, int Cin, int Cout, int K,
									   tsf_nn_poll *poll);
extern tsf_nn_error tsf_conv1d_backward(tsf_real *dinp, tsf_real *dw,
										tsf_real *db, const tsf_real *dout,
										const tsf_real *inp,
										const tsf_real *w,
										int T, int Cin, int Cout, int K,
										tsf_nn_poll *poll);

extern tsf_nn_error tsf_lstm_forward(tsf_real *h, tsf_real *c, tsf_real *tc,
									 tsf_real *gates, tsf_real *wT,
									 const tsf_real *inp,
									 const tsf_real *w_ih,
									 const tsf_real *w_hh,
									 const tsf_real *b_ih,
									 const tsf_real *b_hh,
									 int T, int I, int H, tsf_nn_poll *poll);
extern tsf_nn_error tsf_lstm_backward(tsf_real *dinp, tsf_real *dw_ih,
									  tsf_real *dw_hh, tsf_real *db_ih,
									  tsf_real *db_hh, tsf_real *dgates,
									  tsf_real *scratch, tsf_real *wT,
									  const tsf_real *dh,
									  const tsf_real *inp,
									  const tsf_real *w_ih,
									  const tsf_real *w_hh,
									  const tsf_real *h, const tsf_real *c,
									  const tsf_real *tc,
									  const tsf_real *gates,
									  int T, int I, int H, tsf_nn_poll *poll);

extern size_t tsf_lstm_scratch_count(int I, int H);

extern void tsf_dropout_mask(tsf_real *mask, size_t n, double p,
							 tsf_rng *rng);
extern void tsf_dropout_forward(tsf_real *out, const tsf_real *inp,
								const tsf_real *mask, size_t n);
extern void tsf_dropout_backward(tsf_real *dinp, const tsf_real *dout,
								 const tsf_real *mask, size_t n);

extern tsf_nn_error tsf_linear_forward(tsf_real *out, const tsf_real *inp,
									   const tsf_real *w, const tsf_real *b,
									   int T, int Cin, int Cout,
									   tsf_nn_poll *poll);
extern tsf_nn_error tsf_linear_backward(tsf_real *dinp, tsf_real *dw,
										tsf_real *db, const tsf_real *dout,
										const tsf_real *inp,
										const tsf_real *w,
										int T, int Cin, int Cout,
										tsf_nn_poll *poll);

extern double tsf_mse_forward(const tsf_real *pred, const tsf_real *target,
							  int t0, int t1);
extern void tsf_mse_backward(tsf_real *dpred, const tsf_real *pred,
							 const tsf_real *target, int T, int t0, int t1);

extern void tsf_adam_step(tsf_real *params, const tsf_real *grads,
						  tsf_real *m, tsf_real *v, size_t n, long t,
						  const tsf_adam *opt);

/* ---- the network (network.c) ---- */
extern tsf_nn_error tsf_nn_config_check(const tsf_nn_config *cfg);
extern int	tsf_nn_config_equal(const tsf_nn_config *a, const tsf_nn_config *b);
extern const char *tsf_nn_strerror(tsf_nn_error err);
extern size_t tsf_nn_param_count(const tsf_nn_config *cfg);
extern void tsf_nn_param_offsets(const tsf_nn_config *cfg,
								 tsf_nn_offsets *off);
extern size_t tsf_nn_workspace_bytes(const tsf_nn_config *cfg, int T_max);

extern tsf_nn_error tsf_nn_bind(tsf_nn *nn, const tsf_nn_config *cfg,
								tsf_real *params, tsf_real *grads,
								tsf_real *m, tsf_real *v,
								void *work, size_t work_bytes, int T_max);
extern void tsf_nn_init_params(const tsf_nn_config *cfg, tsf_real *params,
							   uint64_t seed);
extern void tsf_nn_reset_optimizer(tsf_nn *nn);

extern tsf_nn_error tsf_nn_forward(tsf_nn *nn, const tsf_real *x, int T,
								   tsf_rng *dropout_rng);
extern tsf_nn_error tsf_nn_backward(tsf_nn *nn, const tsf_real *y,
									int t0, int t1);
extern tsf_nn_error tsf_nn_adam_step(tsf_nn *nn, const tsf_adam *opt);
extern tsf_nn_error tsf_nn_train_epoch(tsf_nn *nn, const tsf_real *x,
									   const tsf_real *y, int T,
									   const tsf_nn_train_opts *opts,
									   tsf_rng *rng, double *train_loss,
									   double *val_loss);
extern tsf_nn_error tsf_nn_predict(tsf_nn *nn, const tsf_real *x, int T,
								   tsf_real *pred);
extern tsf_nn_error tsf_nn_predict_mc(tsf_nn *nn, const tsf_real *x, int T,
									  tsf_rng *rng, tsf_real *pred);

/*
 * ---- several networks in one pass (lanes.c) ----
 *
 * TSF_NN_LANES networks of one configuration, each with its own
 * parameters, Adam moments, data and dropout generator, trained on
 * sequences of one length with the same options: every array holds the
 * networks' values side by side ((n, TSF_NN_LANES): element i of network s
 * at [i * TSF_NN_LANES + s]) and every operation serves all of them at once
 * (one AVX-512 vector of floats).  Network s comes out bit for bit as
 * tsf_nn_train_epoch would train it alone.  Faster than one at a time
 * where the one-at-a-time core leaves vector lanes idle (small H: the
 * products' weights of the networks together then fit the caches);
 * slower from H = 128 on (bench/RESULTS.md).  Use: bind to a workspace,
 * load the networks, set the data, run epochs, store the networks back.
 */
#define TSF_NN_LANES		16
/* the most parameters of one network (so that its unpolled Adam step over
 * the lanes stays near a millisecond per 100,000) */
#define TSF_NN_LANES_MAX_PARAMS	((size_t) 1 << 20)

typedef struct tsf_nn_lanes
{
	tsf_nn_config cfg;
	tsf_nn_offsets off;			/* of one network, in elements */
	tsf_real   *params;			/* (P, LANES) */
	tsf_real   *grads;			/* (P, LANES) */
	tsf_real   *m;				/* (P, LANES) */
	tsf_real   *v;				/* (P, LANES) */
	tsf_real   *x;				/* (T_max, n_in, LANES) */
	tsf_real   *y;				/* (T_max, LANES) */
	long		step;			/* Adam steps taken, the same for all */
	int			T_max;
	int			T;				/* length set by tsf_nn_lanes_set_data */
	int			dropout_on;		/* whether the last forward used dropout */
	tsf_nn_acts acts;			/* tsf_nn's buffers, each (n, LANES) */
	tsf_nn_poll poll;			/* as tsf_nn's; polled once per step */
	int			resume;			/* TSF_NN_RESUME_NONE or _VALIDATION */
	double		resume_loss[TSF_NN_LANES];
} tsf_nn_lanes;

extern size_t tsf_nn_lanes_workspace_bytes(const tsf_nn_config *cfg, int T_max);
extern tsf_nn_error tsf_nn_lanes_bind(tsf_nn_lanes *ln, const tsf_nn_config *cfg,
									  void *work, size_t work_bytes, int T_max);
extern tsf_nn_error tsf_nn_lanes_load(tsf_nn_lanes *ln, tsf_nn *const *nets);
extern void tsf_nn_lanes_store(const tsf_nn_lanes *ln, tsf_nn *const *nets);
extern void tsf_nn_lanes_start(tsf_nn_lanes *ln, const tsf_real *const *params);
extern void tsf_nn_lanes_lane(const tsf_nn_lanes *ln, const tsf_real *lanes,
							  int s, tsf_real *dst);
extern tsf_nn_error tsf_nn_lanes_loss(tsf_nn_lanes *ln, const tsf_real *params,
									  int t0, int t1, double *loss);
extern tsf_nn_error tsf_nn_lanes_set_data(tsf_nn_lanes *ln,
										  const tsf_real *const *x,
										  const tsf_real *const *y, int T);
extern tsf_nn_error tsf_nn_lanes_train_epoch(tsf_nn_lanes *ln,
											 const tsf_nn_train_opts *opts,
											 tsf_rng *const *rng,
											 double *train_loss,
											 double *val_loss);

/* ---- one step at a time, for forecasting (step.c) ---- */
extern size_t tsf_nn_state_count(const tsf_nn_config *cfg);
extern void tsf_nn_state_reset(const tsf_nn_config *cfg, tsf_real *state);
extern void tsf_nn_step(tsf_nn *nn, tsf_real *state, const tsf_real *x_t,
						tsf_rng *dropout_rng, tsf_real *y_t);
extern void tsf_nn_state_from_forward(const tsf_nn *nn, tsf_real *state);

#endif							/* TSF_NN_H */

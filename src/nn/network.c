/*
 * network.c
 *		The whole network: parameter layout, workspace layout, init, and
 *		the forward, backward, Adam and per-epoch training entry points.
 *
 *	x (T, n_in) -> [causal Conv1d K, C] -> LSTM x L (H) -> dropout p
 *	  -> Linear (H -> 1) at every step -> pred (T) -> MSE over [t0, t1)
 *
 * Nothing here allocates: tsf_nn_bind() carves the caller's workspace into
 * the activation and gradient buffers of tsf_nn_acts, sized for sequences of
 * up to T_max steps.  The SQL glue calls tsf_nn_train_epoch() once per epoch
 * and checks for interrupts between calls; with nn->poll set, every entry
 * point here also polls within the epoch (every step of the recurrences,
 * between chunks of the products and of the passes over whole buffers) and
 * returns TSF_NN_CANCELLED when the poll says stop, in a state from which
 * the same call, made again, finishes with the uninterrupted bits (nn.h,
 * tsf_nn_poll).
 */
#include "nn_kernels.h"

/* the width of LSTM layer 0's input: the conv's channels, or n_in */
static int
lstm_input_width(const tsf_nn_config *cfg)
{
	return cfg->conv_kernel > 0 ? cfg->conv_channels : cfg->n_in;
}

/* Validate a configuration; TSF_NN_OK or the first problem found */
tsf_nn_error
tsf_nn_config_check(const tsf_nn_config *cfg)
{
	if (cfg->n_in < 1 || cfg->n_in > TSF_NN_MAX_WIDTH)
		return TSF_NN_BAD_N_IN;
	if (cfg->conv_kernel < 0 || cfg->conv_kernel > TSF_NN_MAX_KERNEL)
		return TSF_NN_BAD_KERNEL;
	if (cfg->conv_kernel > 0 &&
		(cfg->conv_channels < 1 || cfg->conv_channels > TSF_NN_MAX_WIDTH))
		return TSF_NN_BAD_CHANNELS;
	if (cfg->hidden < 1 || cfg->hidden > TSF_NN_MAX_WIDTH)
		return TSF_NN_BAD_HIDDEN;
	if (cfg->layers < 1 || cfg->layers > TSF_NN_MAX_LAYERS)
		return TSF_NN_BAD_LAYERS;
	if (!(cfg->dropout >= 0.0 && cfg->dropout < 1.0))	/* NaN fails too */
		return TSF_NN_BAD_DROPOUT;
	return TSF_NN_OK;
}

/* Whether two configurations are the same network (every field equal) */
int
tsf_nn_config_equal(const tsf_nn_config *a, const tsf_nn_config *b)
{
	return a->n_in == b->n_in && a->conv_kernel == b->conv_kernel &&
		a->conv_channels == b->conv_channels && a->hidden == b->hidden &&
		a->layers == b->layers && a->dropout == b->dropout;
}

/* A message for an error code, for the glue's ereport detail */
const char *
tsf_nn_strerror(tsf_nn_error err)
{
	switch (err)
	{
		case TSF_NN_OK:
			return "no error";
		case TSF_NN_BAD_N_IN:
			return "number of inputs out of range";
		case TSF_NN_BAD_KERNEL:
			return "convolution kernel size out of range";
		case TSF_NN_BAD_CHANNELS:
			return "convolution channels out of range";
		case TSF_NN_BAD_HIDDEN:
			return "hidden size out of range";
		case TSF_NN_BAD_LAYERS:
			return "number of layers out of range";
		case TSF_NN_BAD_DROPOUT:
			return "dropout must be in [0, 1)";
		case TSF_NN_BAD_LENGTH:
			return "sequence length or loss range out of range";
		case TSF_NN_SMALL_WORKSPACE:
			return "workspace too small";
		case TSF_NN_NO_OPTIMIZER:
			return "no gradient or optimizer buffers bound";
		case TSF_NN_CANCELLED:
			return "cancelled";
		case TSF_NN_LANES_MISMATCH:
			return "the networks trained together differ in configuration or state";
		case TSF_NN_LANES_TOO_LARGE:
			return "network too large to train several in one pass";
	}
	return "unknown error";
}

/*
 * Offsets of every tensor in the parameter block, PyTorch's order and
 * shapes (see tsf_nn_offsets in nn.h).  cfg must pass tsf_nn_config_check.
 */
void
tsf_nn_param_offsets(const tsf_nn_config *cfg, tsf_nn_offsets *off)
{
	size_t		o = 0;
	size_t		H = (size_t) cfg->hidden;
	size_t		G = 4 * H;

	off->conv_w = off->conv_b = 0;
	if (cfg->conv_kernel > 0)
	{
		off->conv_w = o;
		o += (size_t) cfg->conv_channels * cfg->n_in * cfg->conv_kernel;
		off->conv_b = o;
		o += (size_t) cfg->conv_channels;
	}
	for (int l = 0; l < TSF_NN_MAX_LAYERS; l++)
	{
		size_t		I = l == 0 ? (size_t) lstm_input_width(cfg) : H;

		if (l >= cfg->layers)
		{
			off->w_ih[l] = off->w_hh[l] = off->b_ih[l] = off->b_hh[l] = 0;
			continue;
		}
		off->w_ih[l] = o;
		o += G * I;
		off->w_hh[l] = o;
		o += G * H;
		off->b_ih[l] = o;
		o += G;
		off->b_hh[l] = o;
		o += G;
	}
	off->lin_w = o;
	o += H;
	off->lin_b = o;
	o += 1;
	off->total = o;
}

/* Number of parameters (tsf_real elements of params, grads, m and v) */
size_t
tsf_nn_param_count(const tsf_nn_config *cfg)
{
	tsf_nn_offsets off;

	tsf_nn_param_offsets(cfg, &off);
	return off.total;
}

/*
 * Lay the workspace out for sequences of up to T steps: returns its size in
 * tsf_real elements and, when base is not NULL, points acts into it.  Each
 * buffer starts on a multiple of 64 bytes (TSF_NN_LINE elements), so that
 * in a workspace that starts on a cache line (tsf_nn_bind) no vector load
 * of the AVX-512 kernels straddles two lines.  Until 0.5 it was 8 elements,
 * half a line in float32: the weight panels sat 32 bytes off a line and
 * every step of the recurrence ran at two thirds of the speed
 * (bench/RESULTS.md, "Measurements behind the code's choices").
 */
static size_t
workspace_layout(const tsf_nn_config *cfg, size_t T, tsf_real *base,
				 tsf_nn_acts *acts)
{
	size_t		H = (size_t) cfg->hidden;
	size_t		G = 4 * H;
	size_t		I0 = (size_t) lstm_input_width(cfg);
	size_t		C = cfg->conv_kernel > 0 ? (size_t) cfg->conv_channels : 0;
	size_t		o = 0;

#define CARVE(ptr, n) \
	do { \
		if (base) \
			(ptr) = base + o; \
		o += ((n) + TSF_NN_LINE - 1) & ~(size_t) (TSF_NN_LINE - 1); \
	} while (0)

	if (base)
		*acts = (tsf_nn_acts) {0};
	if (C > 0)
		CARVE(acts->conv_out, T * C);
	for (int l = 0; l < cfg->layers; l++)
	{
		CARVE(acts->gates[l], T * G);
		CARVE(acts->c[l], T * H);
		CARVE(acts->tc[l], T * H);
		CARVE(acts->h[l], T * H);
	}
	CARVE(acts->mask, T * H);
	CARVE(acts->drop_out, T * H);
	CARVE(acts->pred, T);
	CARVE(acts->wT, tsf_lstm_scratch_count((int) (I0 > H ? I0 : H), (int) H));
	CARVE(acts->dpred, T);
	CARVE(acts->ddrop, T * H);
	CARVE(acts->dh[0], T * H);
	CARVE(acts->dh[1], T * H);
	CARVE(acts->dgates, T * G);
	if (C > 0)
		CARVE(acts->dconv, T * C);
	CARVE(acts->scratch, 2 * H);
	CARVE(acts->step_buf, G + C + H);
#undef CARVE
	return o;
}

/* Bytes of workspace needed for sequences of up to T_max steps */
size_t
tsf_nn_workspace_bytes(const tsf_nn_config *cfg, int T_max)
{
	if (T_max < 1)
		return 0;
	return workspace_layout(cfg, (size_t) T_max, NULL, NULL) * sizeof(tsf_real);
}

/*
 * Bind a network to caller buffers: params (P) must hold parameters (see
 * tsf_nn_init_params); grads, m, v (P) may be NULL for inference only; work
 * must hold tsf_nn_workspace_bytes(cfg, T_max) bytes, aligned for tsf_real
 * (on a 64-byte line for speed: see workspace_layout).
 * The Adam step count starts at 0; m and v are used as they are (zero them
 * with tsf_nn_reset_optimizer before training from scratch).
 */
tsf_nn_error
tsf_nn_bind(tsf_nn *nn, const tsf_nn_config *cfg,
			tsf_real *params, tsf_real *grads, tsf_real *m, tsf_real *v,
			void *work, size_t work_bytes, int T_max)
{
	tsf_nn_error err = tsf_nn_config_check(cfg);

	if (err != TSF_NN_OK)
		return err;
	if (T_max < 1)
		return TSF_NN_BAD_LENGTH;
	if (work == NULL || work_bytes < tsf_nn_workspace_bytes(cfg, T_max))
		return TSF_NN_SMALL_WORKSPACE;

	nn->cfg = *cfg;
	tsf_nn_param_offsets(cfg, &nn->off);
	nn->params = params;
	nn->grads = grads;
	nn->m = m;
	nn->v = v;
	nn->step = 0;
	nn->T_max = T_max;
	nn->T = 0;
	nn->x = NULL;
	nn->dropout_on = 0;
	workspace_layout(cfg, (size_t) T_max, (tsf_real *) work, &nn->acts);
	nn->poll = (tsf_nn_poll) {0};
	nn->adam_next = 0;
	nn->resume = TSF_NN_RESUME_NONE;
	nn->resume_loss = 0;
	return TSF_NN_OK;
}

/* params (n) ~ uniform(-bound, bound), drawn in order from rng */
static void
fill_uniform(tsf_real *p, size_t n, double bound, tsf_rng *rng)
{
	for (size_t j = 0; j < n; j++)
		p[j] = (tsf_real) ((2.0 * tsf_rng_uniform(rng) - 1.0) * bound);
}

/*
 * PyTorch-style initialization from a seed, deterministic bit for bit:
 * conv and linear weights and biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))
 * (the bound of PyTorch's kaiming_uniform_(a = sqrt(5)) default), every
 * LSTM tensor ~ U(-1/sqrt(H), 1/sqrt(H)).  Tensors are drawn in block order.
 */
void
tsf_nn_init_params(const tsf_nn_config *cfg, tsf_real *params, uint64_t seed)
{
	tsf_nn_offsets off;
	tsf_rng		rng;
	size_t		H = (size_t) cfg->hidden;
	double		bound;

	tsf_nn_param_offsets(cfg, &off);
	tsf_rng_seed(&rng, seed);
	if (cfg->conv_kernel > 0)
	{
		bound = 1.0 / sqrt((double) cfg->n_in * cfg->conv_kernel);
		fill_uniform(params + off.conv_w, off.conv_b - off.conv_w, bound, &rng);
		fill_uniform(params + off.conv_b, (size_t) cfg->conv_channels, bound, &rng);
	}
	/* the LSTM tensors of all layers are contiguous: w_ih[0] .. b_hh[L-1] */
	bound = 1.0 / sqrt((double) H);
	fill_uniform(params + off.w_ih[0], off.lin_w - off.w_ih[0], bound, &rng);
	fill_uniform(params + off.lin_w, H + 1, bound, &rng);
}

/*
 * Zero the Adam moments and step count (start of training); a cancelled
 * Adam step or epoch is forgotten.
 */
void
tsf_nn_reset_optimizer(tsf_nn *nn)
{
	if (nn->m)
		tsf_zero(nn->m, nn->off.total);
	if (nn->v)
		tsf_zero(nn->v, nn->off.total);
	nn->step = 0;
	nn->adam_next = 0;
	nn->resume = TSF_NN_RESUME_NONE;
}

/*
 * The poll the layers get: NULL without a poll function, so that an
 * unpolled network runs its products unchunked, as before polls existed
 */
static tsf_nn_poll *
nn_poll(tsf_nn *nn)
{
	return nn->poll.fn != NULL ? &nn->poll : NULL;
}

/* elements of one slice of an elementwise pass: all of n without a poll */
static size_t
slice_len(const tsf_nn_poll *poll, size_t j, size_t n)
{
	size_t		len = poll ? TSF_NN_POLL_ELEMS : n;

	return n - j < len ? n - j : len;
}

/* x (n) = 0, polling between slices */
static tsf_nn_error
zero_polled(tsf_real *x, size_t n, tsf_nn_poll *poll)
{
	for (size_t j = 0; j < n;)
	{
		size_t		len = slice_len(poll, j, n);

		tsf_zero(x + j, len);
		j += len;
		if (tsf_poll(poll, 0) != TSF_NN_OK)
			return TSF_NN_CANCELLED;
	}
	return TSF_NN_OK;
}

/*
 * The forward pass of tsf_nn_forward, polling; a cancel leaves the
 * activations partial and dropout_rng advanced (the caller restores it).
 */
static tsf_nn_error
forward_pass(tsf_nn *nn, const tsf_real *x, int T, tsf_rng *dropout_rng)
{
	const tsf_nn_config *cfg = &nn->cfg;
	tsf_nn_acts *a = &nn->acts;
	const tsf_real *p = nn->params;
	tsf_nn_poll *poll = nn_poll(nn);
	const tsf_real *inp = x;	/* (T, I) input of the next layer */
	int			I = cfg->n_in;
	int			H = cfg->hidden;
	size_t		TH = (size_t) T * H;
	tsf_nn_error err;

	if (cfg->conv_kernel > 0)
	{
		if ((err = tsf_conv1d_forward(a->conv_out, x, p + nn->off.conv_w,
									  p + nn->off.conv_b, T, cfg->n_in,
									  cfg->conv_channels, cfg->conv_kernel,
									  poll)) != TSF_NN_OK)
			return err;
		inp = a->conv_out;
		I = cfg->conv_channels;
	}
	for (int l = 0; l < cfg->layers; l++)
	{
		if ((err = tsf_lstm_forward(a->h[l], a->c[l], a->tc[l], a->gates[l],
									a->wT, inp,
									p + nn->off.w_ih[l], p + nn->off.w_hh[l],
									p + nn->off.b_ih[l], p + nn->off.b_hh[l],
									T, I, H, poll)) != TSF_NN_OK)
			return err;
		inp = a->h[l];
		I = H;
	}
	nn->dropout_on = dropout_rng != NULL && cfg->dropout > 0.0;
	if (nn->dropout_on)
	{
		/* in slices: the same draws in the same order as in one call */
		for (size_t j = 0; j < TH;)
		{
			size_t		len = slice_len(poll, j, TH);

			tsf_dropout_mask(a->mask + j, len, cfg->dropout, dropout_rng);
			tsf_dropout_forward(a->drop_out + j, inp + j, a->mask + j, len);
			j += len;
			if ((err = tsf_poll(poll, 0)) != TSF_NN_OK)
				return err;
		}
		inp = a->drop_out;
	}
	return tsf_linear_forward(a->pred, inp, p + nn->off.lin_w,
							  p + nn->off.lin_b, T, H, 1, poll);
}

/*
 * Forward pass over x (T, n_in), T <= T_max, caching activations for
 * tsf_nn_backward; the output is nn->acts.pred (T).  With dropout_rng not
 * NULL and cfg.dropout > 0 a fresh dropout mask is drawn from it (training,
 * or Monte-Carlo dropout); with NULL, dropout is off (inference).  x must
 * stay valid until the backward pass.  Cancelled (TSF_NN_CANCELLED): the
 * activations are partial, nn->T is 0 (a backward now fails) and
 * dropout_rng is as it was, so the same call made again draws the same mask.
 */
tsf_nn_error
tsf_nn_forward(tsf_nn *nn, const tsf_real *x, int T, tsf_rng *dropout_rng)
{
	tsf_rng		saved;
	tsf_nn_error err;

	if (T < 1 || T > nn->T_max)
		return TSF_NN_BAD_LENGTH;
	if (dropout_rng)
		saved = *dropout_rng;
	nn->T = 0;
	nn->x = NULL;
	if ((err = forward_pass(nn, x, T, dropout_rng)) != TSF_NN_OK)
	{
		if (dropout_rng)
			*dropout_rng = saved;
		return err;
	}
	nn->T = T;
	nn->x = x;
	return TSF_NN_OK;
}

/*
 * Backward pass of the last forward: sets nn->grads to the gradient of the
 * MSE of pred against y (T) over [t0, t1), 0 <= t0 < t1 <= T.  Steps at or
 * after t1 cannot affect the loss (everything is causal), so the backward
 * recurrence starts at t1 - 1.  Cancelled: the gradients are partial; the
 * forward's caches are untouched, so the same call can be made again.
 */
tsf_nn_error
tsf_nn_backward(tsf_nn *nn, const tsf_real *y, int t0, int t1)
{
	const tsf_nn_config *cfg = &nn->cfg;
	tsf_nn_acts *a = &nn->acts;
	const tsf_nn_offsets *off = &nn->off;
	const tsf_real *p = nn->params;
	tsf_real   *g = nn->grads;
	tsf_nn_poll *poll = nn_poll(nn);
	int			H = cfg->hidden;
	int			T;
	size_t		TH;
	tsf_real   *dtop;			/* (T, H) grad of the last LSTM's h */
	const tsf_real *top = a->h[cfg->layers - 1];	/* (T, H) */
	tsf_nn_error err;

	if (g == NULL)
		return TSF_NN_NO_OPTIMIZER;
	if (nn->T < 1 || t0 < 0 || t1 > nn->T || t0 >= t1)
		return TSF_NN_BAD_LENGTH;
	T = t1;
	TH = (size_t) T * H;

	if ((err = zero_polled(g, off->total, poll)) != TSF_NN_OK)
		return err;
	tsf_mse_backward(a->dpred, a->pred, y, T, t0, t1);

	/* linear: its input is the dropout output, or the LSTM's h */
	if ((err = zero_polled(a->ddrop, TH, poll)) != TSF_NN_OK ||
		(err = tsf_linear_backward(a->ddrop, g + off->lin_w, g + off->lin_b,
								   a->dpred,
								   nn->dropout_on ? a->drop_out : top,
								   p + off->lin_w, T, H, 1, poll)) != TSF_NN_OK)
		return err;
	if (nn->dropout_on)
	{
		dtop = a->dh[0];
		if ((err = zero_polled(dtop, TH, poll)) != TSF_NN_OK)
			return err;
		for (size_t j = 0; j < TH;)
		{
			size_t		len = slice_len(poll, j, TH);

			tsf_dropout_backward(dtop + j, a->ddrop + j, a->mask + j, len);
			j += len;
			if ((err = tsf_poll(poll, 0)) != TSF_NN_OK)
				return err;
		}
	}
	else
		dtop = a->ddrop;

	/* LSTM layers, top down; dinp of layer l is dh of layer l - 1 */
	for (int l = cfg->layers - 1; l >= 0; l--)
	{
		const tsf_real *inp;
		tsf_real   *dinp;
		int			I;

		if (l > 0)
		{
			inp = a->h[l - 1];
			I = H;
			dinp = dtop == a->dh[0] ? a->dh[1] : a->dh[0];
			if ((err = zero_polled(dinp, TH, poll)) != TSF_NN_OK)
				return err;
		}
		else if (cfg->conv_kernel > 0)
		{
			inp = a->conv_out;
			I = cfg->conv_channels;
			dinp = a->dconv;
			if ((err = zero_polled(dinp, (size_t) T * I, poll)) != TSF_NN_OK)
				return err;
		}
		else
		{
			inp = nn->x;
			I = cfg->n_in;
			dinp = NULL;		/* no gradient wanted for the data */
		}
		if ((err = tsf_lstm_backward(dinp, g + off->w_ih[l], g + off->w_hh[l],
									 g + off->b_ih[l], g + off->b_hh[l],
									 a->dgates, a->scratch, a->wT, dtop, inp,
									 p + off->w_ih[l], p + off->w_hh[l],
									 a->h[l], a->c[l], a->tc[l], a->gates[l],
									 T, I, H, poll)) != TSF_NN_OK)
			return err;
		dtop = dinp;
	}

	if (cfg->conv_kernel > 0)
		return tsf_conv1d_backward(NULL, g + off->conv_w, g + off->conv_b,
								   a->dconv, nn->x, p + off->conv_w, T,
								   cfg->n_in, cfg->conv_channels,
								   cfg->conv_kernel, poll);
	return TSF_NN_OK;
}

/*
 * One Adam step of the whole parameter block from nn->grads.  With a poll,
 * in slices of TSF_NN_POLL_ELEMS parameters (3.3 ns each here: 3.5 s for
 * the billion of H = 4096, L = 8), polling between them.  Cancelled: the
 * parameters and moments are updated up to nn->adam_next, and the next call
 * finishes that same step (same t) instead of taking a new one.
 */
tsf_nn_error
tsf_nn_adam_step(tsf_nn *nn, const tsf_adam *opt)
{
	tsf_nn_poll *poll = nn_poll(nn);
	size_t		P = nn->off.total;

	if (nn->grads == NULL || nn->m == NULL || nn->v == NULL)
		return TSF_NN_NO_OPTIMIZER;
	if (nn->adam_next == 0)
		nn->step++;
	for (size_t j = nn->adam_next; j < P;)
	{
		size_t		len = slice_len(poll, j, P);

		tsf_adam_step(nn->params + j, nn->grads + j, nn->m + j, nn->v + j,
					  len, nn->step, opt);
		j += len;
		if (j < P)
		{
			nn->adam_next = j;
			if (tsf_poll(poll, 0) != TSF_NN_OK)
				return TSF_NN_CANCELLED;
		}
	}
	nn->adam_next = 0;
	return TSF_NN_OK;
}

/*
 * One full-batch training epoch on x (T, n_in), y (T): forward with dropout
 * from rng (no dropout if rng is NULL) over the training part [0, val_start),
 * loss over [loss_start, val_start), backward, one Adam step.  With a
 * validation part (0 < val_start < T), a second forward without dropout over
 * all T steps with the updated parameters gives the validation loss over
 * [val_start, T), as a PyTorch loop with model.eval() after the step would;
 * otherwise *val_loss is NaN.  Either loss pointer may be NULL.
 *
 * Cancelled (TSF_NN_CANCELLED), nn->resume says where: in the forward or
 * backward (TSF_NN_RESUME_NONE), nothing changed, rng included; in the
 * Adam step or the validation pass, the epoch's update is (partly) applied.
 * Either way, calling it again with the same arguments finishes that epoch
 * (it resumes at nn->resume) with the bits and rng state of an
 * uninterrupted one, and sets the losses.
 */
tsf_nn_error
tsf_nn_train_epoch(tsf_nn *nn, const tsf_real *x, const tsf_real *y, int T,
				   const tsf_nn_train_opts *opts, tsf_rng *rng,
				   double *train_loss, double *val_loss)
{
	int			vs = opts->val_start;
	int			t0 = opts->loss_start;
	tsf_nn_error err;

	if (T < 1 || T > nn->T_max)
		return TSF_NN_BAD_LENGTH;
	if (vs <= 0 || vs >= T)
		vs = T;
	if (t0 < 0 || t0 >= vs)
		return TSF_NN_BAD_LENGTH;
	if (nn->grads == NULL || nn->m == NULL || nn->v == NULL)
		return TSF_NN_NO_OPTIMIZER;

	if (nn->resume == TSF_NN_RESUME_NONE)
	{
		tsf_rng		saved;

		if (rng)
			saved = *rng;
		err = tsf_nn_forward(nn, x, vs, rng);
		if (err == TSF_NN_OK)
		{
			nn->resume_loss = tsf_mse_forward(nn->acts.pred, y, t0, vs);
			err = tsf_nn_backward(nn, y, t0, vs);
		}
		if (err != TSF_NN_OK)
		{
			if (rng)
				*rng = saved;	/* the next try draws the same mask */
			return err;
		}
		nn->resume = TSF_NN_RESUME_ADAM;
	}
	if (nn->resume == TSF_NN_RESUME_ADAM)
	{
		if ((err = tsf_nn_adam_step(nn, &opts->adam)) != TSF_NN_OK)
			return err;
		nn->resume = TSF_NN_RESUME_VALIDATION;
	}

	if (vs < T && val_loss)
	{
		if ((err = tsf_nn_forward(nn, x, T, NULL)) != TSF_NN_OK)
			return err;
		*val_loss = tsf_mse_forward(nn->acts.pred, y, vs, T);
	}
	else if (val_loss)
		*val_loss = NAN;
	if (train_loss)
		*train_loss = nn->resume_loss;
	nn->resume = TSF_NN_RESUME_NONE;
	return TSF_NN_OK;
}

/*
 * Inference: forward without dropout over x (T, n_in); the output is copied
 * to pred (T) unless pred is NULL (it is also in nn->acts.pred).
 * Cancelled: pred is untouched; call again.
 */
tsf_nn_error
tsf_nn_predict(tsf_nn *nn, const tsf_real *x, int T, tsf_real *pred)
{
	tsf_nn_error err = tsf_nn_forward(nn, x, T, NULL);

	if (err == TSF_NN_OK && pred)
		for (int t = 0; t < T; t++)
			pred[t] = nn->acts.pred[t];
	return err;
}

/*
 * Monte-Carlo dropout: like tsf_nn_predict but with dropout on, the mask
 * drawn from rng; repeated calls sample the predictive distribution.
 * Cancelled: pred and rng are untouched; call again for the same sample.
 */
tsf_nn_error
tsf_nn_predict_mc(tsf_nn *nn, const tsf_real *x, int T, tsf_rng *rng,
				  tsf_real *pred)
{
	tsf_nn_error err = tsf_nn_forward(nn, x, T, rng);

	if (err == TSF_NN_OK && pred)
		for (int t = 0; t < T; t++)
			pred[t] = nn->acts.pred[t];
	return err;
}

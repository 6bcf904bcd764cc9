/*
 * step.c
 *		The network one time step at a time, carrying its state explicitly:
 *		the input for autoregressive forecasting, where each prediction
 *		becomes the next step's lagged input.
 *
 * The state (tsf_nn_state_count elements, caller-owned) is
 *	window (K, n_in)	the last K inputs, oldest first (conv only)
 *	h_l, c_l (H) each	for every LSTM layer l
 * and starts at zero (tsf_nn_state_reset), like the sequence forward.  Run
 * the history through tsf_nn_step once without dropout, copy the state, then
 * step each Monte-Carlo sample on from the copy: dropout only acts on the
 * last LSTM's outputs, so the history's state is the same for every sample.
 *
 * Equations are those of conv1d.c, lstm.c, dropout.c and linear.c.  Each
 * step draws its H dropout values from the rng in the same order as
 * tsf_nn_forward does for that step, so stepping a sequence reproduces the
 * sequence forward (to rounding: the sums here run in another order).
 */
#include "nn_kernels.h"

#include <string.h>

/* Number of tsf_real elements of the state */
size_t
tsf_nn_state_count(const tsf_nn_config *cfg)
{
	size_t		n = 2 * (size_t) cfg->layers * cfg->hidden;

	if (cfg->conv_kernel > 0)
		n += (size_t) cfg->conv_kernel * cfg->n_in;
	return n;
}

/* Zero state: nothing seen yet */
void
tsf_nn_state_reset(const tsf_nn_config *cfg, tsf_real *state)
{
	tsf_zero(state, tsf_nn_state_count(cfg));
}

/*
 * Advance state by one step with input x_t (n_in) and write the network's
 * output for that step to *y_t.  Dropout is applied when dropout_rng is not
 * NULL and cfg.dropout > 0.  Uses nn->acts.step_buf as scratch only.
 */
void
tsf_nn_step(tsf_nn *nn, tsf_real *state, const tsf_real *x_t,
			tsf_rng *dropout_rng, tsf_real *y_t)
{
	const tsf_nn_config *cfg = &nn->cfg;
	const tsf_nn_offsets *off = &nn->off;
	const tsf_real *p = nn->params;
	int			H = cfg->hidden;
	int			K = cfg->conv_kernel;
	int			n_in = cfg->n_in;
	int			C = K > 0 ? cfg->conv_channels : 0;
	tsf_real   *a = nn->acts.step_buf;	/* (4H) gates */
	tsf_real   *z = a + 4 * H;	/* (C)  conv output */
	tsf_real   *hd = z + C;		/* (H)  dropout output */
	tsf_real   *hc = state + (K > 0 ? (size_t) K * n_in : 0);	/* (L, 2H) */
	const tsf_real *inp = x_t;	/* (I) this layer's input */
	int			I = n_in;
	tsf_real	out;

	if (K > 0)
	{
		tsf_real   *win = state;	/* (K, n_in), oldest row first */
		const tsf_real *w = p + off->conv_w;	/* (C, n_in, K) */

		/* shift the window and append x_t */
		memmove(win, win + n_in, sizeof(tsf_real) * (size_t) (K - 1) * n_in);
		memcpy(win + (size_t) (K - 1) * n_in, x_t, sizeof(tsf_real) * n_in);
		/* z[c] = b[c] + sum_{k,i} w[c, i, k] win[k, i] */
		for (int c = 0; c < C; c++)
		{
			tsf_real	acc = p[off->conv_b + c];

			for (int k = 0; k < K; k++)
				for (int i = 0; i < n_in; i++)
					acc += w[((size_t) c * n_in + i) * K + k] * win[(size_t) k * n_in + i];
			z[c] = acc;
		}
		inp = z;
		I = C;
	}

	for (int l = 0; l < cfg->layers; l++)
	{
		tsf_real   *h = hc + (size_t) l * 2 * H;	/* (H) h_{t-1} -> h_t */
		tsf_real   *c = h + H;	/* (H) c_{t-1} -> c_t */
		const tsf_real *w_ih = p + off->w_ih[l];	/* (4H, I) */
		const tsf_real *w_hh = p + off->w_hh[l];	/* (4H, H) */

		/* a = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh */
		for (int r = 0; r < 4 * H; r++)
		{
			tsf_real	acc = p[off->b_ih[l] + r] + p[off->b_hh[l] + r];
			const tsf_real *wi = w_ih + (size_t) r * I;
			const tsf_real *wh = w_hh + (size_t) r * H;

			for (int i = 0; i < I; i++)
				acc += wi[i] * inp[i];
			for (int j = 0; j < H; j++)
				acc += wh[j] * h[j];
			a[r] = acc;
		}
		/*
		 * c_t = f c_{t-1} + i g;  h_t = o tanh(c_t): the same vectorized
		 * cell as the sequence forward, so stepping gives its values (hd is
		 * free until the dropout below: it takes tanh(c_t))
		 */
		tsf_lstm_cell(a, c, c, hd, h, H);
		inp = h;
		I = H;
	}

	if (dropout_rng != NULL && cfg->dropout > 0.0)
	{
		tsf_dropout_mask(hd, (size_t) H, cfg->dropout, dropout_rng);
		tsf_dropout_forward(hd, inp, hd, (size_t) H);
		inp = hd;
	}
	/* y_t = b + w . h_t */
	out = p[off->lin_b];
	for (int j = 0; j < H; j++)
		out += p[off->lin_w + j] * inp[j];
	*y_t = out;
}

/*
 * The state after the last forward pass (of nn->T steps, without dropout
 * for a state to forecast from): the window of its last K inputs and each
 * layer's h, c at step T - 1, read from the forward's caches.  Stepping
 * through the same inputs gives the same state to rounding; this costs a
 * copy instead of a second pass over the series.  With no complete forward
 * (nn->T is 0 after a cancelled one), the initial state.
 */
void
tsf_nn_state_from_forward(const tsf_nn *nn, tsf_real *state)
{
	const tsf_nn_config *cfg = &nn->cfg;
	int			H = cfg->hidden;
	int			K = cfg->conv_kernel;
	int			n_in = cfg->n_in;
	int			T = nn->T;
	tsf_real   *hc = state + (K > 0 ? (size_t) K * n_in : 0);

	if (T < 1)
	{
		tsf_nn_state_reset(cfg, state);
		return;
	}
	if (K > 0)
	{
		/* window row k holds input step T - K + k, zero before step 0 */
		for (int k = 0; k < K; k++)
		{
			int			t = T - K + k;

			if (t < 0)
				tsf_zero(state + (size_t) k * n_in, n_in);
			else
				memcpy(state + (size_t) k * n_in, nn->x + (size_t) t * n_in,
					   sizeof(tsf_real) * n_in);
		}
	}
	for (int l = 0; l < cfg->layers; l++)
	{
		memcpy(hc + (size_t) l * 2 * H, nn->acts.h[l] + (size_t) (T - 1) * H,
			   sizeof(tsf_real) * H);
		memcpy(hc + (size_t) l * 2 * H + H, nn->acts.c[l] + (size_t) (T - 1) * H,
			   sizeof(tsf_real) * H);
	}
}

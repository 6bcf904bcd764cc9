/*
 * lstm.c
 *		One LSTM layer over a whole sequence, forward and backward, with
 *		torch.nn.LSTM's parameters, gate order and zero initial state.
 *
 * For each step t, with x_t the input (I) and h_{t-1}, c_{t-1} (H) the state
 * (zero at t = 0), the gate pre-activations (4H), rows in order i, f, g, o:
 *
 *	a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
 *	i = sigmoid(a_i)  f = sigmoid(a_f)  g = tanh(a_g)  o = sigmoid(a_o)
 *	c_t = f * c_{t-1} + i * g
 *	h_t = o * tanh(c_t)
 *
 * The input projection W_ih x_t does not depend on the recurrence, so it is
 * one matrix product over all T steps before the loop; inside the loop only
 * W_hh h_{t-1} remains.  Both products run on transposed copies of the
 * weights (wT scratch) so that they are sums of contiguous rows (axpy) that
 * the compiler vectorizes; the backward pass uses the weights as stored.
 * Weight gradients are likewise one product over all steps after the
 * backward recurrence.
 */
#include "nn_kernels.h"

/*
 * Forward.
 *	inp   (T, I)    input sequence
 *	w_ih  (4H, I), w_hh (4H, H), b_ih (4H), b_hh (4H)
 *	h     (T, H)    out: hidden states, the layer's output
 *	c     (T, H)    out: cell states
 *	tc    (T, H)    out: tanh(c), kept for the backward pass
 *	gates (T, 4H)   out: activated gates i, f, g, o
 *	wT    (max(I, H), 4H) scratch
 */
void
tsf_lstm_forward(tsf_real *h, tsf_real *c, tsf_real *tc,
				 tsf_real *gates, tsf_real *wT,
				 const tsf_real *inp,
				 const tsf_real *w_ih, const tsf_real *w_hh,
				 const tsf_real *b_ih, const tsf_real *b_hh,
				 int T, int I, int H)
{
	const int	G = 4 * H;

	/* a_t = b_ih + b_hh + W_ih x_t for all t: (T, 4H) += (T, I) (I, 4H) */
	for (int t = 0; t < T; t++)
	{
		tsf_real   *a = gates + (size_t) t * G;

		for (int r = 0; r < G; r++)
			a[r] = b_ih[r] + b_hh[r];
	}
	tsf_transpose(wT, w_ih, G, I);	/* (I, 4H) */
	tsf_mm_nn(gates, inp, wT, T, G, I);

	tsf_transpose(wT, w_hh, G, H);	/* (H, 4H) */
	for (int t = 0; t < T; t++)
	{
		tsf_real   *a = gates + (size_t) t * G;	/* (4H) */
		tsf_real   *ht = h + (size_t) t * H;	/* (H) */
		tsf_real   *ct = c + (size_t) t * H;	/* (H) */
		tsf_real   *tct = tc + (size_t) t * H;	/* (H) */
		const tsf_real *cprev = t > 0 ? c + (size_t) (t - 1) * H : NULL;

		/* a_t += W_hh h_{t-1}: (1, 4H) += (1, H) (H, 4H) */
		if (t > 0)
			tsf_mm_nn(a, h + (size_t) (t - 1) * H, wT, 1, G, H);

		for (int k = 0; k < H; k++)
		{
			tsf_real	ig = tsf_sigmoid(a[k]);
			tsf_real	fg = tsf_sigmoid(a[H + k]);
			tsf_real	gg = TSF_TANH(a[2 * H + k]);
			tsf_real	og = tsf_sigmoid(a[3 * H + k]);
			tsf_real	cc;

			/* c_t = f c_{t-1} + i g;  h_t = o tanh(c_t) */
			cc = ig * gg;
			if (cprev)
				cc += fg * cprev[k];
			ct[k] = cc;
			tct[k] = TSF_TANH(cc);
			ht[k] = og * tct[k];

			a[k] = ig;
			a[H + k] = fg;
			a[2 * H + k] = gg;
			a[3 * H + k] = og;
		}
	}
}

/*
 * Backward.  Given dh (T, H) = dL/dh_t from above (the layer's output
 * gradient only; the recurrent part is added here), accumulate into
 * dw_ih (4H, I), dw_hh (4H, H), db_ih (4H), db_hh (4H) and, unless NULL,
 * dinp (T, I).  dgates (T, 4H) receives dL/da_t; scratch holds (2H).
 * The other arguments are the forward's inputs and caches.
 *
 * Going back from t = T-1 with dh_next = dc_next = 0:
 *	dh   = dh_t + dh_next
 *	do   = dh tanh(c_t)
 *	dc   = dc_next + dh o (1 - tanh^2(c_t))
 *	di   = dc g,  dg = dc i,  df = dc c_{t-1},  dc_next = dc f
 *	da_i = di i (1 - i),  da_f = df f (1 - f),
 *	da_g = dg (1 - g^2),  da_o = do o (1 - o)
 *	dh_next = W_hh^T da_t
 * then, over all steps at once:
 *	dW_ih += sum_t da_t x_t^T,  dW_hh += sum_{t>0} da_t h_{t-1}^T,
 *	db_ih += sum_t da_t,  db_hh += sum_t da_t,  dx_t += W_ih^T da_t.
 */
void
tsf_lstm_backward(tsf_real *dinp, tsf_real *dw_ih, tsf_real *dw_hh,
				  tsf_real *db_ih, tsf_real *db_hh, tsf_real *dgates,
				  tsf_real *scratch, const tsf_real *dh,
				  const tsf_real *inp,
				  const tsf_real *w_ih, const tsf_real *w_hh,
				  const tsf_real *h, const tsf_real *c,
				  const tsf_real *tc, const tsf_real *gates,
				  int T, int I, int H)
{
	const int	G = 4 * H;
	tsf_real   *dh_next = scratch;	/* (H) */
	tsf_real   *dc_next = scratch + H;	/* (H) */

	tsf_zero(dh_next, H);
	tsf_zero(dc_next, H);

	for (int t = T - 1; t >= 0; t--)
	{
		const tsf_real *a = gates + (size_t) t * G;	/* (4H) activated */
		const tsf_real *tct = tc + (size_t) t * H;
		const tsf_real *dht = dh + (size_t) t * H;
		const tsf_real *cprev = t > 0 ? c + (size_t) (t - 1) * H : NULL;
		tsf_real   *da = dgates + (size_t) t * G;	/* (4H) */

		for (int k = 0; k < H; k++)
		{
			tsf_real	ig = a[k],
						fg = a[H + k],
						gg = a[2 * H + k],
						og = a[3 * H + k];
			tsf_real	dhk = dht[k] + dh_next[k];
			tsf_real	dog = dhk * tct[k];
			tsf_real	dc = dc_next[k] + dhk * og * (1 - tct[k] * tct[k]);
			tsf_real	dig = dc * gg;
			tsf_real	dgg = dc * ig;
			tsf_real	dfg = cprev ? dc * cprev[k] : 0;

			dc_next[k] = dc * fg;
			da[k] = dig * ig * (1 - ig);
			da[H + k] = dfg * fg * (1 - fg);
			da[2 * H + k] = dgg * (1 - gg * gg);
			da[3 * H + k] = dog * og * (1 - og);
		}

		/* dh_next = W_hh^T da_t: (1, H) = (1, 4H) (4H, H) */
		tsf_zero(dh_next, H);
		if (t > 0)
			tsf_mm_nn(dh_next, da, w_hh, 1, H, G);
	}

	/* dW_ih (4H, I) += da^T (4H, T) x (T, I) */
	tsf_mm_tn(dw_ih, dgates, inp, G, I, T);
	/* dW_hh (4H, H) += da[1:]^T (4H, T-1) h[:-1] (T-1, H) */
	if (T > 1)
		tsf_mm_tn(dw_hh, dgates + G, h, G, H, T - 1);
	/* db_ih, db_hh (4H) += sum_t da_t */
	for (int t = 0; t < T; t++)
	{
		const tsf_real *da = dgates + (size_t) t * G;

		for (int r = 0; r < G; r++)
		{
			db_ih[r] += da[r];
			db_hh[r] += da[r];
		}
	}
	/* dx (T, I) += da (T, 4H) W_ih (4H, I) */
	if (dinp)
		tsf_mm_nn(dinp, dgates, w_ih, T, I, G);
}

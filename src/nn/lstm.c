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
 * W_hh h_{t-1} remains.  Both products run on rearranged copies of the
 * weights (wT scratch): W_ih^T for the projection, and W_hh^T packed in
 * column panels for the recurrence, so that each step streams the weights
 * in address order (tsf_mv_panel); the backward recurrence packs W_hh the
 * same way.  Weight gradients are one product over all steps after the
 * backward recurrence.
 */
#include "nn_kernels.h"

/*
 * Elements of the wT scratch of tsf_lstm_forward / tsf_lstm_backward for a
 * layer of input width I and hidden size H: W_ih^T (I, 4H), or W_hh^T
 * (H, 4H) or W_hh (4H, H) in panels, whichever is largest.
 */
size_t
tsf_lstm_scratch_count(int I, int H)
{
	size_t		n = (size_t) I * 4 * H;

	if (tsf_panel_count(H, 4 * H) > n)
		n = tsf_panel_count(H, 4 * H);
	if (tsf_panel_count(4 * H, H) > n)
		n = tsf_panel_count(4 * H, H);
	return n;
}

/*
 * Forward.
 *	inp   (T, I)    input sequence
 *	w_ih  (4H, I), w_hh (4H, H), b_ih (4H), b_hh (4H)
 *	h     (T, H)    out: hidden states, the layer's output
 *	c     (T, H)    out: cell states
 *	tc    (T, H)    out: tanh(c), kept for the backward pass
 *	gates (T, 4H)   out: activated gates i, f, g, o
 *	wT    (tsf_lstm_scratch_count(I, H)) scratch
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

	tsf_pack_panels(wT, w_hh, H, G, 1);	/* W_hh^T (H, 4H) in panels */
	for (int t = 0; t < T; t++)
	{
		tsf_real   *a = gates + (size_t) t * G;	/* (4H) */
		tsf_real   *ht = h + (size_t) t * H;	/* (H) */
		tsf_real   *ct = c + (size_t) t * H;	/* (H) */
		tsf_real   *tct = tc + (size_t) t * H;	/* (H) */
		const tsf_real *cprev = t > 0 ? c + (size_t) (t - 1) * H : NULL;

		/* a_t += W_hh h_{t-1}: (1, 4H) += (1, H) (H, 4H) */
		if (t > 0)
			tsf_mv_panel(a, h + (size_t) (t - 1) * H, wT, G, H);

		/*
		 * i, f, g, o from a_t in place; c_t = f c_{t-1} + i g;
		 * h_t = o tanh(c_t) (tsf_lstm_cell, vectorized over the units)
		 */
		tsf_lstm_cell(a, cprev, ct, tct, ht, H);
	}
}

/*
 * Backward.  Given dh (T, H) = dL/dh_t from above (the layer's output
 * gradient only; the recurrent part is added here), accumulate into
 * dw_ih (4H, I), dw_hh (4H, H), db_ih (4H), db_hh (4H) and, unless NULL,
 * dinp (T, I).  dgates (T, 4H) receives dL/da_t; scratch holds (2H), wT
 * (tsf_lstm_scratch_count(I, H)) the packed W_hh.  The other arguments are
 * the forward's inputs and caches.
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
				  tsf_real *scratch, tsf_real *wT, const tsf_real *dh,
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
	tsf_pack_panels(wT, w_hh, G, H, 0);	/* W_hh (4H, H) in panels */

	for (int t = T - 1; t >= 0; t--)
	{
		const tsf_real *a = gates + (size_t) t * G;	/* (4H) activated */
		const tsf_real *tct = tc + (size_t) t * H;
		const tsf_real *dht = dh + (size_t) t * H;
		const tsf_real *cprev = t > 0 ? c + (size_t) (t - 1) * H : NULL;
		tsf_real   *da = dgates + (size_t) t * G;	/* (4H) */

		/* da_t and dc_next from dh_t + dh_next (tsf_lstm_cell_back) */
		tsf_lstm_cell_back(da, dc_next, a, tct, dht, dh_next, cprev, H);

		/* dh_next = W_hh^T da_t: (1, H) = (1, 4H) (4H, H) */
		tsf_zero(dh_next, H);
		if (t > 0)
			tsf_mv_panel(dh_next, da, wT, H, G);
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

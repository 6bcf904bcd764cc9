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
 *
 * Cancellation: with a poll, both directions poll once per step of the
 * recurrence, and the products over all T steps, the packing of the
 * weights and the bias passes run in chunks with a poll after each
 * (kernels.c, tsf_mm_nn_polled), so that no stretch between two polls is
 * over TSF_NN_POLL_MACS multiply-adds (or TSF_NN_POLL_ELEMS elements) even
 * at H = 4096, where one step of the recurrence is 67 million.
 */
#include "nn_kernels.h"

#include <string.h>

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
 * TSF_NN_CANCELLED when poll said stop (the outputs are then partial).
 */
tsf_nn_error
tsf_lstm_forward(tsf_real *h, tsf_real *c, tsf_real *tc,
				 tsf_real *gates, tsf_real *wT,
				 const tsf_real *inp,
				 const tsf_real *w_ih, const tsf_real *w_hh,
				 const tsf_real *b_ih, const tsf_real *b_hh,
				 int T, int I, int H, tsf_nn_poll *poll)
{
	const int	G = 4 * H;
	size_t		pending = 0;	/* elements since the last poll */
	tsf_nn_error err;

	/*
	 * a_t = b_ih + b_hh + W_ih x_t for all t: (T, 4H) += (T, I) (I, 4H);
	 * the sum of the biases once, copied to every step
	 */
	for (int r = 0; r < G; r++)
		gates[r] = b_ih[r] + b_hh[r];
	for (int t = 1; t < T; t++)
	{
		memcpy(gates + (size_t) t * G, gates, sizeof(tsf_real) * G);
		pending += (size_t) G;
		if (pending >= TSF_NN_POLL_ELEMS)
		{
			if ((err = tsf_poll(poll, 0)) != TSF_NN_OK)
				return err;
			pending = 0;
		}
	}
	if ((err = tsf_transpose(wT, w_ih, G, I, poll)) != TSF_NN_OK)	/* (I, 4H) */
		return err;
	if ((err = tsf_mm_nn_polled(gates, inp, wT, T, G, I,
								TSF_NN_POLL_MACS, poll)) != TSF_NN_OK)
		return err;

	/* W_hh^T (H, 4H) in panels */
	if ((err = tsf_pack_panels(wT, w_hh, H, G, 1, poll)) != TSF_NN_OK)
		return err;
	for (int t = 0; t < T; t++)
	{
		tsf_real   *a = gates + (size_t) t * G;	/* (4H) */
		tsf_real   *ht = h + (size_t) t * H;	/* (H) */
		tsf_real   *ct = c + (size_t) t * H;	/* (H) */
		tsf_real   *tct = tc + (size_t) t * H;	/* (H) */
		const tsf_real *cprev = t > 0 ? c + (size_t) (t - 1) * H : NULL;

		/* a_t += W_hh h_{t-1}: (1, 4H) += (1, H) (H, 4H) */
		if (t > 0 &&
			(err = tsf_mv_panel_polled(a, h + (size_t) (t - 1) * H, wT, G, H,
									   TSF_NN_POLL_MACS, poll)) != TSF_NN_OK)
			return err;

		/*
		 * i, f, g, o from a_t in place; c_t = f c_{t-1} + i g;
		 * h_t = o tanh(c_t) (tsf_lstm_cell, vectorized over the units)
		 */
		tsf_lstm_cell(a, cprev, ct, tct, ht, H);

		/* one poll per step: 3.4 ms of work at H = 1024 */
		if ((err = tsf_poll(poll, 0)) != TSF_NN_OK)
			return err;
	}
	return TSF_NN_OK;
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
 * TSF_NN_CANCELLED when poll said stop (the gradients are then partial).
 */
tsf_nn_error
tsf_lstm_backward(tsf_real *dinp, tsf_real *dw_ih, tsf_real *dw_hh,
				  tsf_real *db_ih, tsf_real *db_hh, tsf_real *dgates,
				  tsf_real *scratch, tsf_real *wT, const tsf_real *dh,
				  const tsf_real *inp,
				  const tsf_real *w_ih, const tsf_real *w_hh,
				  const tsf_real *h, const tsf_real *c,
				  const tsf_real *tc, const tsf_real *gates,
				  int T, int I, int H, tsf_nn_poll *poll)
{
	const int	G = 4 * H;
	tsf_real   *dh_next = scratch;	/* (H) */
	tsf_real   *dc_next = scratch + H;	/* (H) */
	size_t		pending = 0;	/* elements since the last poll */
	tsf_nn_error err;

	tsf_zero(dh_next, H);
	tsf_zero(dc_next, H);
	/* W_hh (4H, H) in panels */
	if ((err = tsf_pack_panels(wT, w_hh, G, H, 0, poll)) != TSF_NN_OK)
		return err;

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
		if (t > 0 &&
			(err = tsf_mv_panel_polled(dh_next, da, wT, H, G,
									   TSF_NN_POLL_MACS, poll)) != TSF_NN_OK)
			return err;

		/* one poll per step */
		if ((err = tsf_poll(poll, 0)) != TSF_NN_OK)
			return err;
	}

	/* dW_ih (4H, I) += da^T (4H, T) x (T, I) */
	if ((err = tsf_mm_tn_polled(dw_ih, dgates, inp, G, I, T,
								TSF_NN_POLL_MACS, poll)) != TSF_NN_OK)
		return err;
	/* dW_hh (4H, H) += da[1:]^T (4H, T-1) h[:-1] (T-1, H) */
	if (T > 1 &&
		(err = tsf_mm_tn_polled(dw_hh, dgates + G, h, G, H, T - 1,
								TSF_NN_POLL_MACS, poll)) != TSF_NN_OK)
		return err;
	/* db_ih, db_hh (4H) += sum_t da_t */
	for (int t = 0; t < T; t++)
	{
		const tsf_real *da = dgates + (size_t) t * G;

		tsf_add(db_ih, da, G);
		tsf_add(db_hh, da, G);
		pending += (size_t) G;
		if (pending >= TSF_NN_POLL_ELEMS)
		{
			if ((err = tsf_poll(poll, 0)) != TSF_NN_OK)
				return err;
			pending = 0;
		}
	}
	/* dx (T, I) += da (T, 4H) W_ih (4H, I) */
	if (dinp)
		return tsf_mm_nn_polled(dinp, dgates, w_ih, T, I, G,
								TSF_NN_POLL_MACS, poll);
	return TSF_NN_OK;
}

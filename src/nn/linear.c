/*
 * linear.c
 *		The output layer: torch.nn.Linear(Cin, Cout) applied at every step,
 *
 *	out[t, o] = b[o] + sum_j w[o, j] inp[t, j]
 *
 * with w in PyTorch's (Cout, Cin) layout.  The network uses Cout = 1.
 */
#include "nn_kernels.h"

/* out[t, o] for steps t0 <= t < t1 and outputs o0 <= o < o1 */
static inline void
linear_forward_block(tsf_real *out, const tsf_real *inp, const tsf_real *w,
					 const tsf_real *b, int Cin, int Cout,
					 int t0, int t1, int o0, int o1)
{
	for (int t = t0; t < t1; t++)
	{
		const tsf_real *x = inp + (size_t) t * Cin;	/* (Cin) */

		for (int o = o0; o < o1; o++)
		{
			const tsf_real *wo = w + (size_t) o * Cin;
			tsf_real	acc = b[o];

			for (int j = 0; j < Cin; j++)
				acc += wo[j] * x[j];
			out[(size_t) t * Cout + o] = acc;
		}
	}
}

/*
 * Forward: out (T, Cout) from inp (T, Cin), w (Cout, Cin), b (Cout).
 * In chunks of whole steps of at most TSF_NN_POLL_MACS multiply-adds (or,
 * for a step over it, of outputs), polling after each; TSF_NN_CANCELLED if
 * a poll said stop.
 */
tsf_nn_error
tsf_linear_forward(tsf_real *out, const tsf_real *inp,
				   const tsf_real *w, const tsf_real *b,
				   int T, int Cin, int Cout, tsf_nn_poll *poll)
{
	uint64_t	step = (uint64_t) Cout * Cin;	/* multiply-adds per step */

	if (poll == NULL)
	{
		linear_forward_block(out, inp, w, b, Cin, Cout, 0, T, 0, Cout);
		return TSF_NN_OK;
	}
	if (step <= TSF_NN_POLL_MACS)
	{
		int			rows = step > 0 ? (int) (TSF_NN_POLL_MACS / step) : T;

		for (int t0 = 0; t0 < T; t0 += rows)
		{
			int			t1 = T - t0 < rows ? T : t0 + rows;

			linear_forward_block(out, inp, w, b, Cin, Cout, t0, t1, 0, Cout);
			if (tsf_poll(poll, step * (uint64_t) (t1 - t0)) != TSF_NN_OK)
				return TSF_NN_CANCELLED;
		}
		return TSF_NN_OK;
	}
	{
		int			outs = (uint64_t) Cin <= TSF_NN_POLL_MACS ?
		(int) (TSF_NN_POLL_MACS / (uint64_t) Cin) : 1;

		for (int t = 0; t < T; t++)
			for (int o0 = 0; o0 < Cout; o0 += outs)
			{
				int			o1 = Cout - o0 < outs ? Cout : o0 + outs;

				linear_forward_block(out, inp, w, b, Cin, Cout, t, t + 1, o0, o1);
				if (tsf_poll(poll, (uint64_t) Cin * (o1 - o0)) != TSF_NN_OK)
					return TSF_NN_CANCELLED;
			}
	}
	return TSF_NN_OK;
}

/*
 * Backward: accumulate into dw (Cout, Cin), db (Cout) and, unless NULL,
 * dinp (T, Cin), given dout (T, Cout):
 *
 *	dw += dout^T inp,  db += sum_t dout[t],  dinp += dout w
 *
 * The products in chunks with a poll after each (tsf_mm_tn_polled).
 */
tsf_nn_error
tsf_linear_backward(tsf_real *dinp, tsf_real *dw, tsf_real *db,
					const tsf_real *dout, const tsf_real *inp,
					const tsf_real *w, int T, int Cin, int Cout,
					tsf_nn_poll *poll)
{
	tsf_nn_error err;

	if ((err = tsf_mm_tn_polled(dw, dout, inp, Cout, Cin, T,
								TSF_NN_POLL_MACS, poll)) != TSF_NN_OK)
		return err;
	for (int t = 0; t < T; t++)
		for (int o = 0; o < Cout; o++)
			db[o] += dout[(size_t) t * Cout + o];
	if (dinp)
		return tsf_mm_nn_polled(dinp, dout, w, T, Cin, Cout,
								TSF_NN_POLL_MACS, poll);
	return TSF_NN_OK;
}

/*
 * linear.c
 *		The output layer: torch.nn.Linear(Cin, Cout) applied at every step,
 *
 *	out[t, o] = b[o] + sum_j w[o, j] inp[t, j]
 *
 * with w in PyTorch's (Cout, Cin) layout.  The network uses Cout = 1.
 */
#include "nn_kernels.h"

/* Forward: out (T, Cout) from inp (T, Cin), w (Cout, Cin), b (Cout) */
void
tsf_linear_forward(tsf_real *out, const tsf_real *inp,
				   const tsf_real *w, const tsf_real *b,
				   int T, int Cin, int Cout)
{
	for (int t = 0; t < T; t++)
	{
		const tsf_real *x = inp + (size_t) t * Cin;	/* (Cin) */

		for (int o = 0; o < Cout; o++)
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
 * Backward: accumulate into dw (Cout, Cin), db (Cout) and, unless NULL,
 * dinp (T, Cin), given dout (T, Cout):
 *
 *	dw += dout^T inp,  db += sum_t dout[t],  dinp += dout w
 */
void
tsf_linear_backward(tsf_real *dinp, tsf_real *dw, tsf_real *db,
					const tsf_real *dout, const tsf_real *inp,
					const tsf_real *w, int T, int Cin, int Cout)
{
	tsf_mm_tn(dw, dout, inp, Cout, Cin, T);
	for (int t = 0; t < T; t++)
		for (int o = 0; o < Cout; o++)
			db[o] += dout[(size_t) t * Cout + o];
	if (dinp)
		tsf_mm_nn(dinp, dout, w, T, Cin, Cout);
}

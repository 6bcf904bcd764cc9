/*
 * conv1d.c
 *		Causal 1-D convolution over time: PyTorch's
 *		nn.Conv1d(Cin, Cout, K, padding=K-1) followed by keeping the first T
 *		outputs, with no activation after it.
 *
 * Output step t sees input steps t-K+1 .. t; steps before 0 are zeros:
 *
 *	out[t, c] = b[c] + sum_{k=0}^{K-1} sum_i w[c, i, k] inp[t-K+1+k, i]
 *
 * w keeps PyTorch's (Cout, Cin, K) layout so parameters load unchanged.
 * The layer is tiny next to the LSTM (T Cout Cin K multiply-adds), so the
 * loops are written plainly.
 */
#include "nn.h"

/*
 * Forward: out (T, Cout) from inp (T, Cin), w (Cout, Cin, K), b (Cout).
 */
void
tsf_conv1d_forward(tsf_real *out, const tsf_real *inp,
				   const tsf_real *w, const tsf_real *b,
				   int T, int Cin, int Cout, int K)
{
	for (int t = 0; t < T; t++)
	{
		tsf_real   *o = out + (size_t) t * Cout;	/* (Cout) */

		for (int c = 0; c < Cout; c++)
		{
			const tsf_real *wc = w + (size_t) c * Cin * K;	/* (Cin, K) */
			tsf_real	acc = b[c];

			for (int k = 0; k < K; k++)
			{
				int			tau = t - K + 1 + k;
				const tsf_real *x;

				if (tau < 0)
					continue;	/* the causal zero padding */
				x = inp + (size_t) tau * Cin;
				for (int i = 0; i < Cin; i++)
					acc += wc[(size_t) i * K + k] * x[i];
			}
			o[c] = acc;
		}
	}
}

/*
 * Backward: accumulate into dw (Cout, Cin, K), db (Cout) and, unless NULL,
 * dinp (T, Cin), given dout (T, Cout):
 *
 *	dw[c, i, k] += sum_t dout[t, c] inp[t-K+1+k, i]
 *	db[c]       += sum_t dout[t, c]
 *	dinp[t-K+1+k, i] += sum_c dout[t, c] w[c, i, k]
 */
void
tsf_conv1d_backward(tsf_real *dinp, tsf_real *dw, tsf_real *db,
					const tsf_real *dout, const tsf_real *inp,
					const tsf_real *w, int T, int Cin, int Cout, int K)
{
	for (int t = 0; t < T; t++)
	{
		const tsf_real *d = dout + (size_t) t * Cout;	/* (Cout) */

		for (int c = 0; c < Cout; c++)
		{
			const tsf_real *wc = w + (size_t) c * Cin * K;
			tsf_real   *dwc = dw + (size_t) c * Cin * K;
			tsf_real	g = d[c];

			db[c] += g;
			for (int k = 0; k < K; k++)
			{
				int			tau = t - K + 1 + k;

				if (tau < 0)
					continue;
				for (int i = 0; i < Cin; i++)
				{
					dwc[(size_t) i * K + k] += g * inp[(size_t) tau * Cin + i];
					if (dinp)
						dinp[(size_t) tau * Cin + i] += g * wc[(size_t) i * K + k];
				}
			}
		}
	}
}

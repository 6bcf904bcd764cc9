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
 * The layer is tiny next to the LSTM in the seed's network (T Cout Cin K
 * multiply-adds), so the loops are written plainly; they poll between
 * output channels, since at the widest it is not tiny at all.
 */
#include "nn_kernels.h"

/*
 * Work of one output step and channel: Cin multiply-adds per tap that
 * falls at or after step 0.
 */
static inline uint64_t
conv_unit(int t, int Cin, int K)
{
	return (uint64_t) Cin * (uint64_t) (t + 1 < K ? t + 1 : K);
}

/*
 * The next chunk of the work from step *t, channels *c (both updated past
 * it): whole steps while they fit in TSF_NN_POLL_MACS with the work since
 * the last poll (*pending, updated), or, for one step over the budget by
 * itself, as many of its channels as fit (the largest widths only).  The
 * chunk is steps [t0, t1) by channels [c0, c1); returns 0 when nothing fits
 * until the caller polls and zeroes *pending.  mult is 2 for a backward
 * with dinp (two multiply-adds per tap).
 */
static int
conv_next_chunk(int T, int Cin, int Cout, int K, uint64_t mult,
				int *t, int *c, uint64_t *pending,
				int *t0, int *t1, int *c0, int *c1)
{
	uint64_t	unit = conv_unit(*t, Cin, K) * mult;

	*t0 = *t;
	*c0 = *c;
	if (*c > 0 || unit * Cout > TSF_NN_POLL_MACS)
	{
		/* one step, in chunks of channels */
		uint64_t	n = (TSF_NN_POLL_MACS - *pending) / unit;

		if (n < 1 && *pending > 0)
			return 0;
		if (n < 1)
			n = 1;
		*c1 = n >= (uint64_t) (Cout - *c) ? Cout : *c + (int) n;
		*t1 = *t + 1;
		*pending += unit * (uint64_t) (*c1 - *c0);
		*c = *c1 == Cout ? 0 : *c1;
		*t = *c == 0 ? *t + 1 : *t;
		return 1;
	}
	*c1 = Cout;
	while (*t < T && *pending + conv_unit(*t, Cin, K) * mult * Cout <= TSF_NN_POLL_MACS &&
		   conv_unit(*t, Cin, K) * mult * Cout <= TSF_NN_POLL_MACS)
		*pending += conv_unit((*t)++, Cin, K) * mult * Cout;
	*t1 = *t;
	return *t1 > *t0;
}

/*
 * Forward: out (T, Cout) from inp (T, Cin), w (Cout, Cin, K), b (Cout).
 * At the largest widths one output step is a billion multiply-adds
 * (4096 x 4096 x 64), so the work goes in chunks of steps or, for a step
 * over the budget, of output channels (conv_next_chunk), with a poll
 * between chunks that would take the work since the last one over
 * TSF_NN_POLL_MACS, and one at the end; TSF_NN_CANCELLED if one said stop.
 */
tsf_nn_error
tsf_conv1d_forward(tsf_real *out, const tsf_real *inp,
				   const tsf_real *w, const tsf_real *b,
				   int T, int Cin, int Cout, int K, tsf_nn_poll *poll)
{
	uint64_t	pending = 0;	/* multiply-adds since the last poll */
	int			tn = 0,
				cn = 0,
				t0,
				t1,
				c0,
				c1;

	while (tn < T)
	{
		if (!conv_next_chunk(T, Cin, Cout, K, 1, &tn, &cn, &pending,
							 &t0, &t1, &c0, &c1))
		{
			if (tsf_poll(poll, pending) != TSF_NN_OK)
				return TSF_NN_CANCELLED;
			pending = 0;
			continue;
		}
		for (int t = t0; t < t1; t++)
		{
			tsf_real   *o = out + (size_t) t * Cout;	/* (Cout) */

			for (int c = c0; c < c1; c++)
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
	return tsf_poll(poll, pending);
}

/*
 * Backward: accumulate into dw (Cout, Cin, K), db (Cout) and, unless NULL,
 * dinp (T, Cin), given dout (T, Cout):
 *
 *	dw[c, i, k] += sum_t dout[t, c] inp[t-K+1+k, i]
 *	db[c]       += sum_t dout[t, c]
 *	dinp[t-K+1+k, i] += sum_c dout[t, c] w[c, i, k]
 *
 * Chunked and polled as the forward (twice the work per tap with dinp).
 */
tsf_nn_error
tsf_conv1d_backward(tsf_real *dinp, tsf_real *dw, tsf_real *db,
					const tsf_real *dout, const tsf_real *inp,
					const tsf_real *w, int T, int Cin, int Cout, int K,
					tsf_nn_poll *poll)
{
	uint64_t	pending = 0;	/* multiply-adds since the last poll */
	int			tn = 0,
				cn = 0,
				t0,
				t1,
				c0,
				c1;

	while (tn < T)
	{
		if (!conv_next_chunk(T, Cin, Cout, K, dinp ? 2 : 1, &tn, &cn, &pending,
							 &t0, &t1, &c0, &c1))
		{
			if (tsf_poll(poll, pending) != TSF_NN_OK)
				return TSF_NN_CANCELLED;
			pending = 0;
			continue;
		}
		for (int t = t0; t < t1; t++)
		{
			const tsf_real *d = dout + (size_t) t * Cout;	/* (Cout) */

			for (int c = c0; c < c1; c++)
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
	return tsf_poll(poll, pending);
}

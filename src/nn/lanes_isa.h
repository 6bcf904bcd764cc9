/*
 * lanes_isa.h
 *		The training epoch of lanes.c for one instruction set, included
 *		once per set with these macros defined:
 *
 *	ISA(name)	the function name with the set's suffix
 *	ISA_TARGET	a GCC target attribute, or nothing for the baseline
 *
 * Every array is (n, TSF_NN_LANES): element i of network s at
 * [i * TSF_NN_LANES + s], and every value below is a vector of the
 * TSF_NN_LANES networks' values (one AVX-512 register of floats).  Each
 * lane performs the operations of the one-at-a-time core in its order:
 * the products group their additions in fours as kernels_isa.h does
 * (c + (((a0 b0 + a1 b1) + a2 b2) + a3 b3), then the rest one at a time),
 * the layers add in the order of conv1d.c, linear.c, mse.c and adam.c,
 * the cell is kernels.c's own, run over H * TSF_NN_LANES units (it is
 * elementwise), and the dropout mask of lane s is drawn from network s's
 * generator in the order tsf_dropout_mask draws it.  With FMA contraction
 * off, lane s is then network s trained alone, bit for bit (test_nn.c).
 */

typedef tsf_real ISA(lv) __attribute__((vector_size(TSF_NN_LANES * sizeof(tsf_real)),
										aligned(sizeof(tsf_real)), may_alias));
typedef uint64_t ISA(lu) __attribute__((vector_size(TSF_NN_LANES * sizeof(uint64_t)),
										aligned(sizeof(uint64_t)), may_alias));
typedef int64_t ISA(ls) __attribute__((vector_size(TSF_NN_LANES * sizeof(int64_t))));
typedef LANE_INT ISA(li) __attribute__((vector_size(TSF_NN_LANES * sizeof(tsf_real))));

#define LV			ISA(lv)
#define LD(p)		(*(const LV *) (p))
#define ST(p, x)	(*(LV *) (p) = (x))
#define NL			TSF_NN_LANES
/* the lanes of element (r, k) of a (rows, cols) array */
#define AT(a, r, k, cols)	((a) + (((size_t) (r) * (size_t) (cols) + (size_t) (k)) * NL))

/* C (M, N) += A (M, K) B (K, N) per lane, the order of tsf_mm_nn */
ISA_TARGET static void
ISA(l_mm_nn) (tsf_real *restrict C, const tsf_real *restrict A,
			  const tsf_real *restrict B, int M, int N, int K)
{
	const int	K4 = K & ~3;

	for (int m = 0; m < M; m++)
	{
		int			j = 0;

		/* four columns at a time share the loads of row m of A */
		for (; j + 4 <= N; j += 4)
		{
			LV			c0 = LD(AT(C, m, j, N)),
						c1 = LD(AT(C, m, j + 1, N)),
						c2 = LD(AT(C, m, j + 2, N)),
						c3 = LD(AT(C, m, j + 3, N));
			int			k = 0;

			for (; k < K4; k += 4)
			{
				LV			a0 = LD(AT(A, m, k, K)),
							a1 = LD(AT(A, m, k + 1, K)),
							a2 = LD(AT(A, m, k + 2, K)),
							a3 = LD(AT(A, m, k + 3, K));

				c0 += a0 * LD(AT(B, k, j, N)) + a1 * LD(AT(B, k + 1, j, N)) +
					a2 * LD(AT(B, k + 2, j, N)) + a3 * LD(AT(B, k + 3, j, N));
				c1 += a0 * LD(AT(B, k, j + 1, N)) + a1 * LD(AT(B, k + 1, j + 1, N)) +
					a2 * LD(AT(B, k + 2, j + 1, N)) + a3 * LD(AT(B, k + 3, j + 1, N));
				c2 += a0 * LD(AT(B, k, j + 2, N)) + a1 * LD(AT(B, k + 1, j + 2, N)) +
					a2 * LD(AT(B, k + 2, j + 2, N)) + a3 * LD(AT(B, k + 3, j + 2, N));
				c3 += a0 * LD(AT(B, k, j + 3, N)) + a1 * LD(AT(B, k + 1, j + 3, N)) +
					a2 * LD(AT(B, k + 2, j + 3, N)) + a3 * LD(AT(B, k + 3, j + 3, N));
			}
			for (; k < K; k++)
			{
				LV			a0 = LD(AT(A, m, k, K));

				c0 += a0 * LD(AT(B, k, j, N));
				c1 += a0 * LD(AT(B, k, j + 1, N));
				c2 += a0 * LD(AT(B, k, j + 2, N));
				c3 += a0 * LD(AT(B, k, j + 3, N));
			}
			ST(AT(C, m, j, N), c0);
			ST(AT(C, m, j + 1, N), c1);
			ST(AT(C, m, j + 2, N), c2);
			ST(AT(C, m, j + 3, N), c3);
		}
		for (; j < N; j++)
		{
			LV			c = LD(AT(C, m, j, N));
			int			k = 0;

			for (; k < K4; k += 4)
				c += LD(AT(A, m, k, K)) * LD(AT(B, k, j, N)) +
					LD(AT(A, m, k + 1, K)) * LD(AT(B, k + 1, j, N)) +
					LD(AT(A, m, k + 2, K)) * LD(AT(B, k + 2, j, N)) +
					LD(AT(A, m, k + 3, K)) * LD(AT(B, k + 3, j, N));
			for (; k < K; k++)
				c += LD(AT(A, m, k, K)) * LD(AT(B, k, j, N));
			ST(AT(C, m, j, N), c);
		}
	}
}

/*
 * P = the (N, K) matrix W packed for l_mv: each group of LANES_RB rows
 * interleaved (element (r, k) of group g at ((g K + k) LANES_RB + r -
 * g LANES_RB)), so that a step of the recurrence reads its weights as one
 * stream; the last N mod LANES_RB rows as they are, after the groups.
 * src is (N, K), or with trans (K, N) transposed on the way.
 */
ISA_TARGET static void
ISA(l_pack) (tsf_real *restrict P, const tsf_real *restrict src, int N, int K,
			 int trans)
{
	const int	NG = N / LANES_RB * LANES_RB;

	for (int r = 0; r < N; r++)
		for (int k = 0; k < K; k++)
		{
			const tsf_real *from = trans ? AT(src, k, r, N) : AT(src, r, k, K);
			size_t		to;

			if (r < NG)
				to = ((size_t) (r / LANES_RB) * K + k) * LANES_RB + r % LANES_RB;
			else
				to = (size_t) NG * K + (size_t) (r - NG) * K + k;
			ST(P + to * NL, LD(from));
		}
}

/*
 * y (N) += W (N, K) x (K) per lane, W packed by l_pack: the recurrences'
 * products (a_t += W_hh h_{t-1}; dh = W_hh^T da_t).  LANES_RB rows at a
 * time share the loads of x; per element the order of tsf_mv_panel.
 */
ISA_TARGET static void
ISA(l_mv) (tsf_real *restrict y, const tsf_real *restrict P,
		   const tsf_real *restrict x, int N, int K)
{
	const int	K4 = K & ~3;
	const int	NG = N / LANES_RB * LANES_RB;

	for (int r = 0; r < NG; r += LANES_RB)
	{
		LV			acc[LANES_RB];
		const tsf_real *w = P + (size_t) r * K * NL;
		int			k = 0;

#pragma GCC unroll 8
		for (int q = 0; q < LANES_RB; q++)
			acc[q] = LD(y + (size_t) (r + q) * NL);
		for (; k < K4; k += 4)
		{
			const size_t o = (size_t) k * NL;
			const tsf_real *w0 = w + (size_t) k * LANES_RB * NL;
			LV			x0 = LD(x + o),
						x1 = LD(x + o + NL),
						x2 = LD(x + o + 2 * NL),
						x3 = LD(x + o + 3 * NL);

#pragma GCC unroll 8
			for (int q = 0; q < LANES_RB; q++)
				acc[q] += x0 * LD(w0 + q * NL) + x1 * LD(w0 + (LANES_RB + q) * NL) +
					x2 * LD(w0 + (2 * LANES_RB + q) * NL) + x3 * LD(w0 + (3 * LANES_RB + q) * NL);
		}
		for (; k < K; k++)
		{
			const tsf_real *w0 = w + (size_t) k * LANES_RB * NL;
			LV			xk = LD(x + (size_t) k * NL);

#pragma GCC unroll 8
			for (int q = 0; q < LANES_RB; q++)
				acc[q] += xk * LD(w0 + q * NL);
		}
#pragma GCC unroll 8
		for (int q = 0; q < LANES_RB; q++)
			ST(y + (size_t) (r + q) * NL, acc[q]);
	}
	for (int r = NG; r < N; r++)
	{
		LV			a = LD(y + (size_t) r * NL);
		const tsf_real *w = P + ((size_t) NG * K + (size_t) (r - NG) * K) * NL;
		int			k = 0;

		for (; k < K4; k += 4)
		{
			const size_t o = (size_t) k * NL;

			a += LD(x + o) * LD(w + o) + LD(x + o + NL) * LD(w + o + NL) +
				LD(x + o + 2 * NL) * LD(w + o + 2 * NL) +
				LD(x + o + 3 * NL) * LD(w + o + 3 * NL);
		}
		for (; k < K; k++)
			a += LD(x + (size_t) k * NL) * LD(w + (size_t) k * NL);
		ST(y + (size_t) r * NL, a);
	}
}

/*
 * C (M, N) += A^T B per lane, A (K, M), B (K, N), summed over k (time) in
 * the order of tsf_mm_tn; k in blocks of 64 (groups of four stay aligned)
 * so that the blocks of A and B stay in cache; LANES_TN_MB x LANES_TN_NB
 * elements of C in registers (small enough that the group's operands fit
 * beside them: larger blocks spill).
 */
ISA_TARGET static void
ISA(l_mm_tn) (tsf_real *restrict C, const tsf_real *restrict A,
			  const tsf_real *restrict B, int M, int N, int K)
{
	enum
	{
		MB = LANES_TN_MB, NB = LANES_TN_NB
	};

	for (int k0 = 0; k0 < K; k0 += 64)
	{
		int			k1 = k0 + 64 < K ? k0 + 64 : K;

		for (int m0 = 0; m0 < M; m0 += MB)
			for (int n0 = 0; n0 < N; n0 += NB)
			{
				int			k = k0;

				if (m0 + MB <= M && n0 + NB <= N)
				{
					LV			acc[MB][NB];

#pragma GCC unroll 8
					for (int q = 0; q < MB; q++)
#pragma GCC unroll 8
						for (int u = 0; u < NB; u++)
							acc[q][u] = LD(AT(C, m0 + q, n0 + u, N));
					for (; k + 4 <= k1; k += 4)
					{
						const tsf_real *b0 = AT(B, k, n0, N),
								   *b1 = AT(B, k + 1, n0, N),
								   *b2 = AT(B, k + 2, n0, N),
								   *b3 = AT(B, k + 3, n0, N);

						/*
						 * a row of the block at a time, B read from L1
						 * each time: holding all of the group's operands
						 * beside the accumulators would spill
						 */
#pragma GCC unroll 8
						for (int q = 0; q < MB; q++)
						{
							LV			a0 = LD(AT(A, k, m0 + q, M)),
										a1 = LD(AT(A, k + 1, m0 + q, M)),
										a2 = LD(AT(A, k + 2, m0 + q, M)),
										a3 = LD(AT(A, k + 3, m0 + q, M));

#pragma GCC unroll 8
							for (int u = 0; u < NB; u++)
								acc[q][u] += a0 * LD(b0 + u * NL) + a1 * LD(b1 + u * NL) +
									a2 * LD(b2 + u * NL) + a3 * LD(b3 + u * NL);
						}
					}
					for (; k < k1; k++)
#pragma GCC unroll 8
						for (int q = 0; q < MB; q++)
#pragma GCC unroll 8
							for (int u = 0; u < NB; u++)
								acc[q][u] += LD(AT(A, k, m0 + q, M)) * LD(AT(B, k, n0 + u, N));
#pragma GCC unroll 8
					for (int q = 0; q < MB; q++)
#pragma GCC unroll 8
						for (int u = 0; u < NB; u++)
							ST(AT(C, m0 + q, n0 + u, N), acc[q][u]);
					continue;
				}
				/* an edge block, element by element, in the same order */
				for (int q = m0; q < M && q < m0 + MB; q++)
					for (int u = n0; u < N && u < n0 + NB; u++)
					{
						LV			acc = LD(AT(C, q, u, N));

						for (k = k0; k + 4 <= k1; k += 4)
							acc += LD(AT(A, k, q, M)) * LD(AT(B, k, u, N)) +
								LD(AT(A, k + 1, q, M)) * LD(AT(B, k + 1, u, N)) +
								LD(AT(A, k + 2, q, M)) * LD(AT(B, k + 2, u, N)) +
								LD(AT(A, k + 3, q, M)) * LD(AT(B, k + 3, u, N));
						for (; k < k1; k++)
							acc += LD(AT(A, k, q, M)) * LD(AT(B, k, u, N));
						ST(AT(C, q, u, N), acc);
					}
			}
	}
}

/* dst (cols, rows) = src (rows, cols) transposed, per lane */
ISA_TARGET static void
ISA(l_transpose) (tsf_real *restrict dst, const tsf_real *restrict src,
				  int rows, int cols)
{
	for (int r = 0; r < rows; r++)
		for (int k = 0; k < cols; k++)
			ST(AT(dst, k, r, rows), LD(AT(src, r, k, cols)));
}

/* x (n) = 0 */
ISA_TARGET static void
ISA(l_zero) (tsf_real *x, size_t n)
{
	LV			z = {0};

	for (size_t i = 0; i < n; i++)
		ST(x + i * NL, z);
}

/* the causal conv of conv1d.c: out (T, Cout) from inp (T, Cin) */
ISA_TARGET static void
ISA(l_conv_forward) (tsf_real *restrict out, const tsf_real *restrict inp,
					 const tsf_real *restrict w, const tsf_real *restrict b,
					 int T, int Cin, int Cout, int K)
{
	for (int t = 0; t < T; t++)
		for (int c = 0; c < Cout; c++)
		{
			const tsf_real *wc = w + (size_t) c * Cin * K * NL;	/* (Cin, K) */
			LV			acc = LD(b + (size_t) c * NL);

			for (int k = 0; k < K; k++)
			{
				int			tau = t - K + 1 + k;

				if (tau < 0)
					continue;	/* the causal zero padding */
				for (int i = 0; i < Cin; i++)
					acc += LD(AT(wc, i, k, K)) * LD(AT(inp, tau, i, Cin));
			}
			ST(AT(out, t, c, Cout), acc);
		}
}

/* its weight and bias gradients (the network wants none for its input) */
ISA_TARGET static void
ISA(l_conv_backward) (tsf_real *restrict dw, tsf_real *restrict db,
					  const tsf_real *restrict dout, const tsf_real *restrict inp,
					  int T, int Cin, int Cout, int K)
{
	for (int t = 0; t < T; t++)
		for (int c = 0; c < Cout; c++)
		{
			tsf_real   *dwc = dw + (size_t) c * Cin * K * NL;
			LV			g = LD(AT(dout, t, c, Cout));

			ST(db + (size_t) c * NL, LD(db + (size_t) c * NL) + g);
			for (int k = 0; k < K; k++)
			{
				int			tau = t - K + 1 + k;

				if (tau < 0)
					continue;
				for (int i = 0; i < Cin; i++)
					ST(AT(dwc, i, k, K), LD(AT(dwc, i, k, K)) + g * LD(AT(inp, tau, i, Cin)));
			}
		}
}

/*
 * One LSTM layer forward over T steps (lstm.c): gates, c, tc, h (lanes of
 * (T, 4H) and (T, H)); wT scratch (max(I, H), 4H): W_ih^T, then W_hh
 * packed.  Polls once per step.
 */
ISA_TARGET static tsf_nn_error
ISA(l_lstm_forward) (tsf_real *h, tsf_real *c, tsf_real *tc, tsf_real *gates,
					 tsf_real *wT, const tsf_real *inp,
					 const tsf_real *w_ih, const tsf_real *w_hh,
					 const tsf_real *b_ih, const tsf_real *b_hh,
					 int T, int I, int H, tsf_nn_poll *poll)
{
	const int	G = 4 * H;

	for (int t = 0; t < T; t++)
		for (int r = 0; r < G; r++)
			ST(AT(gates, t, r, G), LD(b_ih + (size_t) r * NL) + LD(b_hh + (size_t) r * NL));
	ISA(l_transpose) (wT, w_ih, G, I);
	ISA(l_mm_nn) (gates, inp, wT, T, G, I);
	ISA(l_pack) (wT, w_hh, G, H, 0);
	for (int t = 0; t < T; t++)
	{
		tsf_real   *a = AT(gates, t, 0, G);

		if (t > 0)
			ISA(l_mv) (a, wT, AT(h, t - 1, 0, H), G, H);
		tsf_lstm_cell(a, t > 0 ? AT(c, t - 1, 0, H) : NULL, AT(c, t, 0, H),
					  AT(tc, t, 0, H), AT(h, t, 0, H), H * NL);
		if (tsf_poll(poll, (uint64_t) G * H * NL) != TSF_NN_OK)
			return TSF_NN_CANCELLED;
	}
	return TSF_NN_OK;
}

/*
 * Its backward (lstm.c): the gradients accumulate into dw_ih, dw_hh, db_ih,
 * db_hh and, unless NULL, dinp; wT scratch (H, 4H) holds W_hh^T packed; scratch
 * (2H).  Polls once per step of the recurrence.
 */
ISA_TARGET static tsf_nn_error
ISA(l_lstm_backward) (tsf_real *dinp, tsf_real *dw_ih, tsf_real *dw_hh,
					  tsf_real *db_ih, tsf_real *db_hh, tsf_real *dgates,
					  tsf_real *scratch, tsf_real *wT, const tsf_real *dh,
					  const tsf_real *inp, const tsf_real *w_ih,
					  const tsf_real *w_hh, const tsf_real *h,
					  const tsf_real *c, const tsf_real *tc,
					  const tsf_real *gates, int T, int I, int H,
					  tsf_nn_poll *poll)
{
	const int	G = 4 * H;
	tsf_real   *dh_next = scratch;
	tsf_real   *dc_next = scratch + (size_t) H * NL;

	ISA(l_zero) (scratch, (size_t) 2 * H);
	ISA(l_pack) (wT, w_hh, H, G, 1);	/* W_hh^T (H, 4H) */
	for (int t = T - 1; t >= 0; t--)
	{
		tsf_real   *da = AT(dgates, t, 0, G);

		tsf_lstm_cell_back(da, dc_next, AT(gates, t, 0, G), AT(tc, t, 0, H),
						   AT(dh, t, 0, H), dh_next,
						   t > 0 ? AT(c, t - 1, 0, H) : NULL, H * NL);
		ISA(l_zero) (dh_next, H);
		if (t > 0)
			ISA(l_mv) (dh_next, wT, da, H, G);
		if (tsf_poll(poll, (uint64_t) G * H * NL) != TSF_NN_OK)
			return TSF_NN_CANCELLED;
	}
	ISA(l_mm_tn) (dw_ih, dgates, inp, G, I, T);
	if (T > 1)
		ISA(l_mm_tn) (dw_hh, AT(dgates, 1, 0, G), h, G, H, T - 1);
	for (int t = 0; t < T; t++)
		for (int r = 0; r < G; r++)
		{
			LV			d = LD(AT(dgates, t, r, G));

			ST(db_ih + (size_t) r * NL, LD(db_ih + (size_t) r * NL) + d);
			ST(db_hh + (size_t) r * NL, LD(db_hh + (size_t) r * NL) + d);
		}
	if (dinp)
		ISA(l_mm_nn) (dinp, dgates, w_ih, T, I, G);
	return TSF_NN_OK;
}

/*
 * The dropout mask (n) of tsf_dropout_mask, lane s drawn from rng[s]:
 * xoshiro256** on TSF_NN_LANES states at once (x 5 and x 9 as shifts and
 * adds, the same integers), then the integer test of dropout.c.
 */
ISA_TARGET static void
ISA(l_dropout_mask) (tsf_real *restrict mask, size_t n, double p,
					 tsf_rng *const *rng)
{
	ISA(lu)		s0,
				s1,
				s2,
				s3;
	uint64_t	thr;
	tsf_real	scale;
	LANE_INT	scale_bits;

	if (p <= 0.0)
	{
		LV			one = {0};

		one += 1;
		for (size_t j = 0; j < n; j++)
			ST(mask + j * NL, one);
		return;
	}
	scale = p < 1.0 ? (tsf_real) (1.0 / (1.0 - p)) : 0;
	memcpy(&scale_bits, &scale, sizeof(scale));
	thr = p < 1.0 ? (uint64_t) ceil(ldexp(p, 53)) : UINT64_C(1) << 53;
	for (int s = 0; s < NL; s++)
	{
		s0[s] = rng[s]->s[0];
		s1[s] = rng[s]->s[1];
		s2[s] = rng[s]->s[2];
		s3[s] = rng[s]->s[3];
	}
	for (size_t j = 0; j < n; j++)
	{
		ISA(lu)		x5 = (s1 << 2) + s1;
		ISA(lu)		r = ((x5 << 7) | (x5 >> 57));
		ISA(lu)		t = s1 << 17;
		ISA(ls)		keep;
		ISA(li)		bits;

		r = (r << 3) + r;
		s2 ^= s0;
		s3 ^= s1;
		s1 ^= s2;
		s0 ^= s3;
		s2 ^= t;
		s3 = (s3 << 45) | (s3 >> 19);
		keep = (r >> 11) >= thr;	/* -1 where kept, 0 where dropped */
		bits = __builtin_convertvector(keep, ISA(li)) & scale_bits;
		ST(mask + j * NL, (LV) bits);
	}
	for (int s = 0; s < NL; s++)
	{
		rng[s]->s[0] = s0[s];
		rng[s]->s[1] = s1[s];
		rng[s]->s[2] = s2[s];
		rng[s]->s[3] = s3[s];
	}
}

/* out (T, Cout) = b + W inp per step (linear.c) */
ISA_TARGET static void
ISA(l_linear_forward) (tsf_real *restrict out, const tsf_real *restrict inp,
					   const tsf_real *restrict w, const tsf_real *restrict b,
					   int T, int Cin, int Cout)
{
	int			t = 0;

	/* four steps at a time: four independent chains of additions */
	for (; t + 4 <= T; t += 4)
		for (int o = 0; o < Cout; o++)
		{
			LV			bo = LD(b + (size_t) o * NL);
			LV			a0 = bo,
						a1 = bo,
						a2 = bo,
						a3 = bo;

			for (int j = 0; j < Cin; j++)
			{
				LV			wj = LD(AT(w, o, j, Cin));

				a0 += wj * LD(AT(inp, t, j, Cin));
				a1 += wj * LD(AT(inp, t + 1, j, Cin));
				a2 += wj * LD(AT(inp, t + 2, j, Cin));
				a3 += wj * LD(AT(inp, t + 3, j, Cin));
			}
			ST(AT(out, t, o, Cout), a0);
			ST(AT(out, t + 1, o, Cout), a1);
			ST(AT(out, t + 2, o, Cout), a2);
			ST(AT(out, t + 3, o, Cout), a3);
		}
	for (; t < T; t++)
		for (int o = 0; o < Cout; o++)
		{
			LV			acc = LD(b + (size_t) o * NL);

			for (int j = 0; j < Cin; j++)
				acc += LD(AT(w, o, j, Cin)) * LD(AT(inp, t, j, Cin));
			ST(AT(out, t, o, Cout), acc);
		}
}

/* the forward pass (network.c forward_pass) over the first T steps */
ISA_TARGET static tsf_nn_error
ISA(l_forward) (tsf_nn_lanes *ln, int T, tsf_rng *const *rng)
{
	const tsf_nn_config *cfg = &ln->cfg;
	const tsf_nn_offsets *off = &ln->off;
	tsf_nn_acts *a = &ln->acts;
	const tsf_real *p = ln->params;
	tsf_nn_poll *poll = ln->poll.fn != NULL ? &ln->poll : NULL;
	const tsf_real *inp = ln->x;
	int			I = cfg->n_in;
	int			H = cfg->hidden;
	size_t		TH = (size_t) T * H;

#define PP(o)	(p + (size_t) (o) * NL)
	if (cfg->conv_kernel > 0)
	{
		ISA(l_conv_forward) (a->conv_out, ln->x, PP(off->conv_w), PP(off->conv_b),
							 T, cfg->n_in, cfg->conv_channels, cfg->conv_kernel);
		inp = a->conv_out;
		I = cfg->conv_channels;
	}
	for (int l = 0; l < cfg->layers; l++)
	{
		if (ISA(l_lstm_forward) (a->h[l], a->c[l], a->tc[l], a->gates[l], a->wT,
								 inp, PP(off->w_ih[l]), PP(off->w_hh[l]),
								 PP(off->b_ih[l]), PP(off->b_hh[l]),
								 T, I, H, poll) != TSF_NN_OK)
			return TSF_NN_CANCELLED;
		inp = a->h[l];
		I = H;
	}
	ln->dropout_on = rng != NULL && cfg->dropout > 0.0;
	if (ln->dropout_on)
	{
		ISA(l_dropout_mask) (a->mask, TH, cfg->dropout, rng);
		for (size_t j = 0; j < TH; j++)
			ST(a->drop_out + j * NL, LD(inp + j * NL) * LD(a->mask + j * NL));
		inp = a->drop_out;
	}
	ISA(l_linear_forward) (a->pred, inp, PP(off->lin_w), PP(off->lin_b), T, H, 1);
	return TSF_NN_OK;
}

/* the backward pass (network.c tsf_nn_backward), loss over [t0, t1) */
ISA_TARGET static tsf_nn_error
ISA(l_backward) (tsf_nn_lanes *ln, int t0, int t1)
{
	const tsf_nn_config *cfg = &ln->cfg;
	const tsf_nn_offsets *off = &ln->off;
	tsf_nn_acts *a = &ln->acts;
	const tsf_real *p = ln->params;
	tsf_real   *g = ln->grads;
	tsf_nn_poll *poll = ln->poll.fn != NULL ? &ln->poll : NULL;
	int			H = cfg->hidden;
	int			T = t1;
	size_t		TH = (size_t) T * H;
	tsf_real	scale = (tsf_real) (2.0 / (t1 - t0));
	tsf_real   *dtop;
	const tsf_real *top = a->h[cfg->layers - 1];

#define GG(o)	(g + (size_t) (o) * NL)
	ISA(l_zero) (g, off->total);
	/* tsf_mse_backward */
	for (int t = 0; t < T; t++)
	{
		LV			d = {0};

		if (t >= t0)
			d = scale * (LD(a->pred + (size_t) t * NL) - LD(ln->y + (size_t) t * NL));
		ST(a->dpred + (size_t) t * NL, d);
	}
	/* tsf_linear_backward, Cout = 1 */
	ISA(l_zero) (a->ddrop, TH);
	ISA(l_mm_tn) (GG(off->lin_w), a->dpred, ln->dropout_on ? a->drop_out : top,
				  1, H, T);
	for (int t = 0; t < T; t++)
		ST(GG(off->lin_b), LD(GG(off->lin_b)) + LD(a->dpred + (size_t) t * NL));
	ISA(l_mm_nn) (a->ddrop, a->dpred, PP(off->lin_w), T, H, 1);
	if (ln->dropout_on)
	{
		dtop = a->dh[0];
		ISA(l_zero) (dtop, TH);
		for (size_t j = 0; j < TH; j++)
			ST(dtop + j * NL, LD(dtop + j * NL) + LD(a->ddrop + j * NL) * LD(a->mask + j * NL));
	}
	else
		dtop = a->ddrop;
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
			ISA(l_zero) (dinp, TH);
		}
		else if (cfg->conv_kernel > 0)
		{
			inp = a->conv_out;
			I = cfg->conv_channels;
			dinp = a->dconv;
			ISA(l_zero) (dinp, (size_t) T * I);
		}
		else
		{
			inp = ln->x;
			I = cfg->n_in;
			dinp = NULL;
		}
		if (ISA(l_lstm_backward) (dinp, GG(off->w_ih[l]), GG(off->w_hh[l]),
								  GG(off->b_ih[l]), GG(off->b_hh[l]),
								  a->dgates, a->scratch, a->wT, dtop, inp,
								  PP(off->w_ih[l]), PP(off->w_hh[l]),
								  a->h[l], a->c[l], a->tc[l], a->gates[l],
								  T, I, H, poll) != TSF_NN_OK)
			return TSF_NN_CANCELLED;
		dtop = dinp;
	}
	if (cfg->conv_kernel > 0)
		ISA(l_conv_backward) (GG(off->conv_w), GG(off->conv_b), a->dconv, ln->x,
							  T, cfg->n_in, cfg->conv_channels, cfg->conv_kernel);
#undef GG
#undef PP
	return TSF_NN_OK;
}

/* per lane: the MSE of pred against y over [t0, t1), in double (mse.c) */
static void
ISA(l_mse) (const tsf_nn_lanes *ln, int t0, int t1, double *loss)
{
	for (int s = 0; s < NL; s++)
	{
		double		sum = 0.0;

		for (int t = t0; t < t1; t++)
		{
			double		e = (double) ln->acts.pred[(size_t) t * NL + s] -
				(double) ln->y[(size_t) t * NL + s];

			sum += e * e;
		}
		loss[s] = t1 > t0 ? sum / (t1 - t0) : 0.0;
	}
}

/* tsf_nn_lanes_train_epoch for this instruction set (see lanes.c) */
ISA_TARGET static tsf_nn_error
ISA(lanes_epoch) (tsf_nn_lanes *ln, const tsf_nn_train_opts *opts,
				  tsf_rng *const *rng, double *train_loss, double *val_loss)
{
	int			T = ln->T;
	int			vs = opts->val_start <= 0 || opts->val_start >= T ? T : opts->val_start;
	int			t0 = opts->loss_start;

	if (ln->resume == TSF_NN_RESUME_NONE)
	{
		tsf_rng		saved[TSF_NN_LANES];
		tsf_nn_error err;

		if (rng)
			for (int s = 0; s < NL; s++)
				saved[s] = *rng[s];
		err = ISA(l_forward) (ln, vs, rng);
		if (err == TSF_NN_OK)
		{
			ISA(l_mse) (ln, t0, vs, ln->resume_loss);
			err = ISA(l_backward) (ln, t0, vs);
		}
		if (err != TSF_NN_OK)
		{
			if (rng)
				for (int s = 0; s < NL; s++)
					*rng[s] = saved[s];
			return TSF_NN_CANCELLED;
		}
		ln->step++;
		/*
		 * Adam over the lanes of every parameter: the lanes share the step
		 * count, so it is one network's update over 16 P elements
		 */
		tsf_adam_step(ln->params, ln->grads, ln->m, ln->v, ln->off.total * NL,
					  ln->step, &opts->adam);
		ln->resume = TSF_NN_RESUME_VALIDATION;
	}
	if (vs < T && val_loss)
	{
		if (ISA(l_forward) (ln, T, NULL) != TSF_NN_OK)
			return TSF_NN_CANCELLED;
		ISA(l_mse) (ln, vs, T, val_loss);
	}
	else if (val_loss)
		for (int s = 0; s < NL; s++)
			val_loss[s] = NAN;
	if (train_loss)
		memcpy(train_loss, ln->resume_loss, sizeof(double) * NL);
	ln->resume = TSF_NN_RESUME_NONE;
	return TSF_NN_OK;
}

/* tsf_nn_lanes_loss for this instruction set (see lanes.c) */
ISA_TARGET static tsf_nn_error
ISA(lanes_loss) (tsf_nn_lanes *ln, const tsf_real *params, int t0, int t1,
				 double *loss)
{
	tsf_real   *own = ln->params;
	tsf_nn_error err;

	ln->params = (tsf_real *) params;	/* read only by the forward */
	err = ISA(l_forward) (ln, ln->T, NULL);
	ln->params = own;
	if (err != TSF_NN_OK)
		return err;
	ISA(l_mse) (ln, t0, t1, loss);
	return TSF_NN_OK;
}

#undef LV
#undef LD
#undef ST
#undef NL
#undef AT

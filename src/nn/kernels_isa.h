/*
 * kernels_isa.h
 *		The kernels of kernels.c for one instruction set, included once
 *		per set with these macros defined:
 *
 *	ISA(name)	the function name with the set's suffix, e.g. name##_avx512
 *	ISA_TARGET	a GCC target attribute, or nothing for the baseline
 *	VLANES		tsf_real lanes of one native vector (2 doubles for SSE2,
 *				4 for AVX2, 8 for AVX-512; twice that for float)
 *	MB, NBV		the register block of tsf_mm_tn: MB rows of C by NBV
 *				vectors of columns (MB * NBV accumulators)
 *	VPP			vectors of a weight panel summed at once by mv_panel
 *
 * Every element of C receives exactly the additions of the reference
 * formula, in the same order, whatever the set and the blocking:
 *
 *	c += ((a[k] b[k] + a[k+1] b[k+1]) + a[k+2] b[k+2]) + a[k+3] b[k+3]
 *
 * for k = 0, 4, 8, ... while four remain, then c += a[k] b[k] for the rest.
 * Blocking only changes which elements are computed together and where the
 * partial sums live (registers instead of memory); vector lanes never add
 * to each other.  With FMA contraction off (-ffp-contract=off, set in the
 * Makefile), each lane performs the same IEEE operations as the scalar
 * code, so all sets give the same bits and the build's results do not
 * depend on the CPU it runs on.
 */

/* one native vector, loadable from any tsf_real address */
typedef tsf_real ISA(vec) __attribute__((vector_size(VLANES * sizeof(tsf_real)),
										 aligned(sizeof(tsf_real)), may_alias));

#define V			ISA(vec)
#define VLOAD(p)	(*(const V *) (p))
#define VSTORE(p, x)	(*(V *) (p) = (x))

/*
 * C (M, N) += A (M, K) . B (K, N), row-major, with row strides lda, ldb,
 * ldc (K, N and N for whole matrices; tsf_mm_nn_polled takes column
 * chunks of a wide product).
 *
 * For each row of C, blocks of 4 native vectors of columns stay in
 * registers while k runs over all of K; then single vectors; then scalars.
 * Used for the input projection (T rows at once); the recurrence's
 * one-row products use mv_panel below.
 */
ISA_TARGET static void
ISA(mm_nn) (tsf_real *restrict C, const tsf_real *restrict A,
			const tsf_real *restrict B, int M, int N, int K,
			int lda, int ldb, int ldc)
{
	const int	K4 = K & ~3;

	for (int m = 0; m < M; m++)
	{
		tsf_real   *c = C + (size_t) m * ldc;
		const tsf_real *a = A + (size_t) m * lda;
		int			j = 0;

		for (; j + 4 * VLANES <= N; j += 4 * VLANES)
		{
			V			c0 = VLOAD(c + j),
						c1 = VLOAD(c + j + VLANES),
						c2 = VLOAD(c + j + 2 * VLANES),
						c3 = VLOAD(c + j + 3 * VLANES);
			int			k = 0;

			for (; k < K4; k += 4)
			{
				const tsf_real *b0 = B + (size_t) k * ldb + j;
				const tsf_real *b1 = b0 + ldb;
				const tsf_real *b2 = b1 + ldb;
				const tsf_real *b3 = b2 + ldb;
				tsf_real	a0 = a[k],
							a1 = a[k + 1],
							a2 = a[k + 2],
							a3 = a[k + 3];

				c0 += a0 * VLOAD(b0) + a1 * VLOAD(b1) + a2 * VLOAD(b2) + a3 * VLOAD(b3);
				c1 += a0 * VLOAD(b0 + VLANES) + a1 * VLOAD(b1 + VLANES) +
					a2 * VLOAD(b2 + VLANES) + a3 * VLOAD(b3 + VLANES);
				c2 += a0 * VLOAD(b0 + 2 * VLANES) + a1 * VLOAD(b1 + 2 * VLANES) +
					a2 * VLOAD(b2 + 2 * VLANES) + a3 * VLOAD(b3 + 2 * VLANES);
				c3 += a0 * VLOAD(b0 + 3 * VLANES) + a1 * VLOAD(b1 + 3 * VLANES) +
					a2 * VLOAD(b2 + 3 * VLANES) + a3 * VLOAD(b3 + 3 * VLANES);
			}
			for (; k < K; k++)
			{
				const tsf_real *b0 = B + (size_t) k * ldb + j;
				tsf_real	a0 = a[k];

				c0 += a0 * VLOAD(b0);
				c1 += a0 * VLOAD(b0 + VLANES);
				c2 += a0 * VLOAD(b0 + 2 * VLANES);
				c3 += a0 * VLOAD(b0 + 3 * VLANES);
			}
			VSTORE(c + j, c0);
			VSTORE(c + j + VLANES, c1);
			VSTORE(c + j + 2 * VLANES, c2);
			VSTORE(c + j + 3 * VLANES, c3);
		}
		for (; j + VLANES <= N; j += VLANES)
		{
			V			c0 = VLOAD(c + j);
			int			k = 0;

			for (; k < K4; k += 4)
			{
				const tsf_real *b0 = B + (size_t) k * ldb + j;

				c0 += a[k] * VLOAD(b0) + a[k + 1] * VLOAD(b0 + ldb) +
					a[k + 2] * VLOAD(b0 + 2 * (size_t) ldb) + a[k + 3] * VLOAD(b0 + 3 * (size_t) ldb);
			}
			for (; k < K; k++)
				c0 += a[k] * VLOAD(B + (size_t) k * ldb + j);
			VSTORE(c + j, c0);
		}
		for (; j < N; j++)
		{
			tsf_real	c0 = c[j];
			int			k = 0;

			for (; k < K4; k += 4)
			{
				const tsf_real *b0 = B + (size_t) k * ldb + j;

				c0 += a[k] * b0[0] + a[k + 1] * b0[ldb] +
					a[k + 2] * b0[2 * (size_t) ldb] + a[k + 3] * b0[3 * (size_t) ldb];
			}
			for (; k < K; k++)
				c0 += a[k] * B[(size_t) k * ldb + j];
			c[j] = c0;
		}
	}
}

/*
 * One vector of row m of C at columns j .. j + VLANES - 1, over k in
 * [k0, k1): the edges of tsf_mm_tn's register blocks.
 */
ISA_TARGET static inline void
ISA(tn_vec) (tsf_real *restrict C, const tsf_real *restrict A,
			 const tsf_real *restrict B, int lda, int ldb, int ldc,
			 int m, int j, int k0, int k1)
{
	tsf_real   *c = C + (size_t) m * ldc + j;
	V			c0 = VLOAD(c);
	int			k = k0;

	for (; k + 4 <= k1; k += 4)
	{
		const tsf_real *b0 = B + (size_t) k * ldb + j;
		const tsf_real *a0 = A + (size_t) k * lda + m;

		c0 += a0[0] * VLOAD(b0) + a0[lda] * VLOAD(b0 + ldb) +
			a0[2 * (size_t) lda] * VLOAD(b0 + 2 * (size_t) ldb) +
			a0[3 * (size_t) lda] * VLOAD(b0 + 3 * (size_t) ldb);
	}
	for (; k < k1; k++)
		c0 += A[(size_t) k * lda + m] * VLOAD(B + (size_t) k * ldb + j);
	VSTORE(c, c0);
}

/*
 * C (M, N) += A^T . B with A (K, M), B (K, N): the weight gradients
 * dW += dY^T X summed over time (k).  lda, ldb, ldc are the row strides of
 * A, B and C (M, N and N for whole matrices).  k runs in blocks of 64 so that the
 * block of B stays in cache while every block of rows of C visits it;
 * within a block, MB rows by NBV vectors of C stay in registers and each
 * vector of B loaded serves MB rows.  Blocks of 64 keep groups of four
 * aligned, so each element sees the reference order.
 */
ISA_TARGET static void
ISA(mm_tn) (tsf_real *restrict C, const tsf_real *restrict A,
			const tsf_real *restrict B, int M, int N, int K,
			int lda, int ldb, int ldc)
{
	const int	KB = TSF_TN_KB;

	for (int k0 = 0; k0 < K; k0 += KB)
	{
		int			k1 = k0 + KB < K ? k0 + KB : K;
		int			k4 = k0 + ((k1 - k0) & ~3);
		int			j = 0;

		for (; j + NBV * VLANES <= N; j += NBV * VLANES)
		{
			int			m = 0;

			for (; m + MB <= M; m += MB)
			{
				V			acc[MB][NBV];
				int			k = k0;

#pragma GCC unroll 16
				for (int r = 0; r < MB; r++)
#pragma GCC unroll 16
					for (int v = 0; v < NBV; v++)
						acc[r][v] = VLOAD(C + (size_t) (m + r) * ldc + j + v * VLANES);
				for (; k < k4; k += 4)
				{
					const tsf_real *b0 = B + (size_t) k * ldb + j;
					const tsf_real *a0 = A + (size_t) k * lda + m;
					V			bv[4][NBV];

#pragma GCC unroll 16
					for (int q = 0; q < 4; q++)
#pragma GCC unroll 16
						for (int v = 0; v < NBV; v++)
							bv[q][v] = VLOAD(b0 + (size_t) q * ldb + v * VLANES);
#pragma GCC unroll 16
					for (int r = 0; r < MB; r++)
					{
						tsf_real	x0 = a0[r],
									x1 = a0[lda + r],
									x2 = a0[2 * (size_t) lda + r],
									x3 = a0[3 * (size_t) lda + r];

#pragma GCC unroll 16
						for (int v = 0; v < NBV; v++)
							acc[r][v] += x0 * bv[0][v] + x1 * bv[1][v] + x2 * bv[2][v] + x3 * bv[3][v];
					}
				}
				for (; k < k1; k++)
#pragma GCC unroll 16
					for (int r = 0; r < MB; r++)
#pragma GCC unroll 16
						for (int v = 0; v < NBV; v++)
							acc[r][v] += A[(size_t) k * lda + m + r] *
								VLOAD(B + (size_t) k * ldb + j + v * VLANES);
#pragma GCC unroll 16
				for (int r = 0; r < MB; r++)
#pragma GCC unroll 16
					for (int v = 0; v < NBV; v++)
						VSTORE(C + (size_t) (m + r) * ldc + j + v * VLANES, acc[r][v]);
			}
			/* rows left over: one at a time */
			for (; m < M; m++)
				for (int v = 0; v < NBV; v++)
					ISA(tn_vec) (C, A, B, lda, ldb, ldc, m, j + v * VLANES, k0, k1);
		}
		/* columns left over: single vectors, then scalars */
		for (; j + VLANES <= N; j += VLANES)
			for (int m = 0; m < M; m++)
				ISA(tn_vec) (C, A, B, lda, ldb, ldc, m, j, k0, k1);
		/*
		 * the last N - j < VLANES columns: through a zero-padded copy of
		 * B's block and of each row of C, as one vector
		 */
		if (j < N)
		{
			int			w = N - j;
			tsf_real	bpad[TSF_TN_KB * VLANES];	/* (k1 - k0, VLANES) */
			tsf_real	cpad[VLANES];

			memset(bpad, 0, sizeof(tsf_real) * (size_t) (k1 - k0) * VLANES);
			for (int k = k0; k < k1; k++)
				memcpy(bpad + (size_t) (k - k0) * VLANES, B + (size_t) k * ldb + j,
					   sizeof(tsf_real) * w);
			for (int m = 0; m < M; m++)
			{
				memset(cpad, 0, sizeof(cpad));
				memcpy(cpad, C + (size_t) m * ldc + j, sizeof(tsf_real) * w);
				ISA(tn_vec) (cpad, A + (size_t) k0 * lda, bpad, lda, VLANES, 0,
							 m, 0, 0, k1 - k0);
				memcpy(C + (size_t) m * ldc + j, cpad, sizeof(tsf_real) * w);
			}
		}
	}
}

/*
 * y (N) += x (K) . P, with P the (K, N) matrix packed in column panels by
 * tsf_pack_panels (the last one narrower): the matrix-vector product of the LSTM's recurrences
 * (forward a_t += W_hh h_{t-1}, backward dh = W_hh^T da_t).  Each panel is
 * K rows of TSF_NN_PANEL contiguous elements, so the weights stream through
 * the caches in address order (a row-major matrix walked by columns jumps
 * a whole row per step, which defeats the prefetchers once the weights
 * leave L1).  The panel's partial sums stay in registers, VPP vectors at a
 * time.  Same order of additions per element as tsf_mm_nn, and faster
 * than it on the row-major weights from H = 128 on (bench/RESULTS.md,
 * "Measurements behind the code's choices").
 */
ISA_TARGET static void
ISA(mv_panel) (tsf_real *restrict y, const tsf_real *restrict x,
			   const tsf_real *restrict P, int N, int K)
{
	const int	K4 = K & ~3;

	for (int j0 = 0; j0 < N; j0 += TSF_NN_PANEL)
	{
		int			pw = tsf_panel_width(N, j0);
		const tsf_real *p = P + (size_t) j0 * K;	/* (K, pw) */
		tsf_real	edge[TSF_NN_PANEL];
		tsf_real   *yy = y + j0;
		int			v0 = 0;

		if (j0 + pw > N)
		{
			/* the last panel is zero-padded: sum into a full-width copy */
			memcpy(edge, y + j0, sizeof(tsf_real) * (N - j0));
			memset(edge + (N - j0), 0, sizeof(tsf_real) * (pw - (N - j0)));
			yy = edge;
		}
		/* VPP vectors at a time, then single vectors */
		for (; v0 + VPP * VLANES <= pw; v0 += VPP * VLANES)
		{
			V			acc[VPP];
			int			k = 0;

#pragma GCC unroll 16
			for (int v = 0; v < VPP; v++)
				acc[v] = VLOAD(yy + v0 + v * VLANES);
			for (; k < K4; k += 4)
			{
				const tsf_real *p0 = p + (size_t) k * pw + v0;
				tsf_real	x0 = x[k],
							x1 = x[k + 1],
							x2 = x[k + 2],
							x3 = x[k + 3];

#pragma GCC unroll 16
				for (int v = 0; v < VPP; v++)
					acc[v] += x0 * VLOAD(p0 + v * VLANES) + x1 * VLOAD(p0 + pw + v * VLANES) +
						x2 * VLOAD(p0 + 2 * pw + v * VLANES) + x3 * VLOAD(p0 + 3 * pw + v * VLANES);
			}
			for (; k < K; k++)
			{
				const tsf_real *p0 = p + (size_t) k * pw + v0;

#pragma GCC unroll 16
				for (int v = 0; v < VPP; v++)
					acc[v] += x[k] * VLOAD(p0 + v * VLANES);
			}
#pragma GCC unroll 16
			for (int v = 0; v < VPP; v++)
				VSTORE(yy + v0 + v * VLANES, acc[v]);
		}
		for (; v0 < pw; v0 += VLANES)
		{
			V			acc = VLOAD(yy + v0);
			int			k = 0;

			for (; k < K4; k += 4)
			{
				const tsf_real *p0 = p + (size_t) k * pw + v0;

				acc += x[k] * VLOAD(p0) + x[k + 1] * VLOAD(p0 + pw) +
					x[k + 2] * VLOAD(p0 + 2 * pw) + x[k + 3] * VLOAD(p0 + 3 * pw);
			}
			for (; k < K; k++)
				acc += x[k] * VLOAD(p + (size_t) k * pw + v0);
			VSTORE(yy + v0, acc);
		}
		if (yy == edge)
			memcpy(y + j0, edge, sizeof(tsf_real) * (N - j0));
	}
}

/*
 * The LSTM cell's nonlinearities, vectorized over the hidden units.  exp is
 * computed here rather than by libm, in plain arithmetic that every vector
 * width (and the scalar tail, through a padded vector) performs alike:
 *
 *	exp(x) = 2^k p(r),  k = round(x / ln 2),  r = x - k ln 2  (|r| <= ln 2 / 2)
 *
 * with k rounded by the 1.5 2^52 shift, r by a two-part ln 2 (Cody-Waite),
 * p the Taylor polynomial of degree 13 (float: 7), truncation error below
 * 2e-16 (float: 1e-7) relative, and 2^k built in the exponent bits.  x is
 * first clamped to [-708, 709] (float: [-87, 88]) so 2^k stays a normal
 * number; NaN passes through.  Then
 *
 *	sigmoid(x) = 1 / (1 + exp(-x))
 *	tanh(x) = sign(x) (1 - 2 / (exp(2 |x|) + 1))
 *
 * accurate to a few units in the last place relative for sigmoid and for
 * tanh away from 0, and to a few units of 1e-16 absolute for tanh near 0
 * (where 1 - 2 / (e + 1) cancels): what the PyTorch parity tests allow
 * (1e-12 relative to max(1, |value|)).  Written by hand for speed: libm's
 * exp and tanh, one call per gate and unit, do not vectorize, and were a
 * large part of an epoch at small H (bench/RESULTS.md, "Measurements
 * behind the code's choices").
 */
#ifdef TSF_NN_FLOAT
typedef int32_t ISA(ivec) __attribute__((vector_size(VLANES * sizeof(tsf_real))));
#define EXP_LO		-87.0f
#define EXP_HI		88.0f
#define EXP_SHIFT	0x1.8p23f
#define EXP_BIAS	127
#define EXP_MANT	23
#else
typedef int64_t ISA(ivec) __attribute__((vector_size(VLANES * sizeof(tsf_real))));
#define EXP_LO		-708.0
#define EXP_HI		709.0
#define EXP_SHIFT	0x1.8p52
#define EXP_BIAS	1023
#define EXP_MANT	52
#endif
#define VI			ISA(ivec)
#define VSPLAT(s)	((ISA(vec)) {0} + (tsf_real) (s))	/* every lane s */

/* lanes of x where mask is set take y */
ISA_TARGET static inline ISA(vec)
ISA(vselect) (VI mask, ISA(vec) y, ISA(vec) x)
{
	return (ISA(vec)) (((VI) x & ~mask) | ((VI) y & mask));
}

ISA_TARGET static inline ISA(vec)
ISA(vexp) (ISA(vec) x)
{
	const tsf_real log2e = (tsf_real) 1.4426950408889634;
#ifdef TSF_NN_FLOAT
	const tsf_real ln2hi = 0.693145751953125f,	/* 12 significant bits */
				ln2lo = 1.428606765330187e-06f;
#else
	const tsf_real ln2hi = 0.6931471803691238,	/* 33 significant bits */
				ln2lo = 1.9082149292705877e-10;
#endif
	ISA(vec)	t,
				k,
				r,
				p;
	VI			e;

	x = ISA(vselect) (x < EXP_LO, VSPLAT(EXP_LO), x);
	x = ISA(vselect) (x > EXP_HI, VSPLAT(EXP_HI), x);
	t = x * log2e + EXP_SHIFT;	/* round(x / ln 2) in the low bits */
	k = t - EXP_SHIFT;
	r = x - k * ln2hi;			/* exact: k has at most 11 bits */
	r = r - k * ln2lo;
#ifdef TSF_NN_FLOAT
	p = r * (tsf_real) (1.0 / 5040) + (tsf_real) (1.0 / 720);
	p = p * r + (tsf_real) (1.0 / 120);
	p = p * r + (tsf_real) (1.0 / 24);
	p = p * r + (tsf_real) (1.0 / 6);
	p = p * r + (tsf_real) 0.5;
	p = p * r + 1;
	p = p * r + 1;
#else
	p = r * (1.0 / 6227020800.0) + 1.0 / 479001600.0;
	p = p * r + 1.0 / 39916800.0;
	p = p * r + 1.0 / 3628800.0;
	p = p * r + 1.0 / 362880.0;
	p = p * r + 1.0 / 40320.0;
	p = p * r + 1.0 / 5040.0;
	p = p * r + 1.0 / 720.0;
	p = p * r + 1.0 / 120.0;
	p = p * r + 1.0 / 24.0;
	p = p * r + 1.0 / 6.0;
	p = p * r + 0.5;
	p = p * r + 1.0;
	p = p * r + 1.0;
#endif
	/* 2^k: the integer k sits in the low bits of t's significand */
	e = ((VI) t - (VI) VSPLAT(EXP_SHIFT) + EXP_BIAS) << EXP_MANT;
	return p * (ISA(vec)) e;
}

ISA_TARGET static inline ISA(vec)
ISA(vsigmoid) (ISA(vec) x)
{
	return 1 / (1 + ISA(vexp) (-x));
}

ISA_TARGET static inline ISA(vec)
ISA(vtanh) (ISA(vec) x)
{
	ISA(vec)	ax = ISA(vselect) (x < 0, -x, x);
	ISA(vec)	y = 1 - 2 / (ISA(vexp) (ax + ax) + 1);

	return ISA(vselect) (x < 0, -y, y);
}

/*
 * One step of the LSTM cell for H units, given the gate pre-activations
 * a (4H, rows i, f, g, o), replaced by the activated gates:
 *
 *	i = sigmoid(a_i)  f = sigmoid(a_f)  g = tanh(a_g)  o = sigmoid(a_o)
 *	c = f cprev + i g  (c = i g when cprev is NULL)
 *	tc = tanh(c)       h = o tc
 *
 * c may be cprev (updated in place).  The last H mod VLANES units go through
 * a zero-padded vector, so every unit gets the same operations.
 */
ISA_TARGET static void
ISA(lstm_cell) (tsf_real *restrict a, const tsf_real *cprev, tsf_real *c,
				tsf_real *restrict tc, tsf_real *restrict h, int H)
{
	for (int k = 0; k < H; k += VLANES)
	{
		int			w = H - k < VLANES ? H - k : VLANES;
		tsf_real	buf[6][VLANES];	/* i, f, g, o, cprev, out: a partial vector */
		ISA(vec)	ig,
					fg,
					gg,
					og,
					cc,
					tt;

		if (w == VLANES)
		{
			ig = VLOAD(a + k);
			fg = VLOAD(a + H + k);
			gg = VLOAD(a + 2 * H + k);
			og = VLOAD(a + 3 * H + k);
			cc = VSPLAT(0);
			if (cprev)
				cc = VLOAD(cprev + k);
		}
		else
		{
			memset(buf, 0, sizeof(buf));
			for (int q = 0; q < w; q++)
			{
				buf[0][q] = a[k + q];
				buf[1][q] = a[H + k + q];
				buf[2][q] = a[2 * H + k + q];
				buf[3][q] = a[3 * H + k + q];
				buf[4][q] = cprev ? cprev[k + q] : 0;
			}
			ig = VLOAD(buf[0]);
			fg = VLOAD(buf[1]);
			gg = VLOAD(buf[2]);
			og = VLOAD(buf[3]);
			cc = VLOAD(buf[4]);
		}
		ig = ISA(vsigmoid) (ig);
		fg = ISA(vsigmoid) (fg);
		gg = ISA(vtanh) (gg);
		og = ISA(vsigmoid) (og);
		/* c = f cprev + i g: at t = 0 (no cprev) the sum is i g + 0 */
		if (cprev)
			cc = fg * cc + ig * gg;
		else
			cc = ig * gg;
		tt = ISA(vtanh) (cc);
		if (w == VLANES)
		{
			VSTORE(a + k, ig);
			VSTORE(a + H + k, fg);
			VSTORE(a + 2 * H + k, gg);
			VSTORE(a + 3 * H + k, og);
			VSTORE(c + k, cc);
			if (tc)
				VSTORE(tc + k, tt);
			VSTORE(h + k, og * tt);
		}
		else
		{
			VSTORE(buf[0], ig);
			VSTORE(buf[1], fg);
			VSTORE(buf[2], gg);
			VSTORE(buf[3], og);
			VSTORE(buf[4], cc);
			VSTORE(buf[5], tt);
			for (int q = 0; q < w; q++)
			{
				a[k + q] = buf[0][q];
				a[H + k + q] = buf[1][q];
				a[2 * H + k + q] = buf[2][q];
				a[3 * H + k + q] = buf[3][q];
				c[k + q] = buf[4][q];
				if (tc)
					tc[k + q] = buf[5][q];
				h[k + q] = buf[3][q] * buf[5][q];
			}
		}
	}
}

/*
 * The LSTM cell's backward for one step, vectorized over the units: from
 * the activated gates a (4H), tc = tanh(c_t), cprev = c_{t-1} (NULL at
 * t = 0), dh = dL/dh_t from above plus dh_next, and dc_next (H, updated in
 * place to dL/dc_{t-1}), set da (4H) = dL/d(pre-activations):
 *
 *	do = dh tc     dc = dc_next + dh o (1 - tc^2)
 *	di = dc g      dg = dc i      df = dc cprev      dc_next = dc f
 *	da = (di i (1 - i), df f (1 - f), dg (1 - g^2), do o (1 - o))
 *
 * with the scalar formula's operations in its order, so the bits are those
 * of the plain loop whatever the vector width.
 */
ISA_TARGET static void
ISA(lstm_cell_back) (tsf_real *restrict da, tsf_real *restrict dc_next,
					 const tsf_real *restrict a, const tsf_real *restrict tc,
					 const tsf_real *restrict dht, const tsf_real *restrict dh_next,
					 const tsf_real *restrict cprev, int H)
{
	for (int k = 0; k < H; k += VLANES)
	{
		int			w = H - k < VLANES ? H - k : VLANES;
		tsf_real	buf[9][VLANES];	/* a partial vector's inputs and outputs */
		ISA(vec)	ig,
					fg,
					gg,
					og,
					tt,
					dhk,
					dcn,
					cp,
					dog,
					dc,
					dfg;

		if (w == VLANES)
		{
			ig = VLOAD(a + k);
			fg = VLOAD(a + H + k);
			gg = VLOAD(a + 2 * H + k);
			og = VLOAD(a + 3 * H + k);
			tt = VLOAD(tc + k);
			dhk = VLOAD(dht + k) + VLOAD(dh_next + k);
			dcn = VLOAD(dc_next + k);
			cp = VSPLAT(0);
			if (cprev)
				cp = VLOAD(cprev + k);
		}
		else
		{
			memset(buf, 0, sizeof(buf));
			for (int q = 0; q < w; q++)
			{
				buf[0][q] = a[k + q];
				buf[1][q] = a[H + k + q];
				buf[2][q] = a[2 * H + k + q];
				buf[3][q] = a[3 * H + k + q];
				buf[4][q] = tc[k + q];
				buf[5][q] = dht[k + q];
				buf[6][q] = dh_next[k + q];
				buf[7][q] = dc_next[k + q];
				buf[8][q] = cprev ? cprev[k + q] : 0;
			}
			ig = VLOAD(buf[0]);
			fg = VLOAD(buf[1]);
			gg = VLOAD(buf[2]);
			og = VLOAD(buf[3]);
			tt = VLOAD(buf[4]);
			dhk = VLOAD(buf[5]) + VLOAD(buf[6]);
			dcn = VLOAD(buf[7]);
			cp = VLOAD(buf[8]);
		}
		dog = dhk * tt;
		dc = dcn + dhk * og * (1 - tt * tt);
		dfg = VSPLAT(0);
		if (cprev)
			dfg = dc * cp;
		if (w == VLANES)
		{
			VSTORE(dc_next + k, dc * fg);
			VSTORE(da + k, dc * gg * ig * (1 - ig));
			VSTORE(da + H + k, dfg * fg * (1 - fg));
			VSTORE(da + 2 * H + k, dc * ig * (1 - gg * gg));
			VSTORE(da + 3 * H + k, dog * og * (1 - og));
		}
		else
		{
			VSTORE(buf[0], dc * fg);
			VSTORE(buf[1], dc * gg * ig * (1 - ig));
			VSTORE(buf[2], dfg * fg * (1 - fg));
			VSTORE(buf[3], dc * ig * (1 - gg * gg));
			VSTORE(buf[4], dog * og * (1 - og));
			for (int q = 0; q < w; q++)
			{
				dc_next[k + q] = buf[0][q];
				da[k + q] = buf[1][q];
				da[H + k + q] = buf[2][q];
				da[2 * H + k + q] = buf[3][q];
				da[3 * H + k + q] = buf[4][q];
			}
		}
	}
}

/*
 * Adam (adam.c, tsf_adam_step) over n parameters, a vector at a time: each
 * element gets the scalar formula's operations in its order, sqrt
 * included, so every set gives the scalar loop's bits.  Unvectorized, it
 * took a twentieth of an epoch at H = 128 (bench/RESULTS.md, "Measurements
 * behind the code's choices").
 */
ISA_TARGET TSF_NN_VECTORIZE static void
ISA(adam) (tsf_real *restrict p, const tsf_real *restrict g,
		   tsf_real *restrict m, tsf_real *restrict v, size_t n,
		   const tsf_adam_k *k)
{
	const tsf_real b1 = k->b1,
				b2 = k->b2,
				a1 = k->a1,
				a2 = k->a2,
				step = k->step_size,
				bc2 = k->bc2_sqrt,
				eps = k->eps;

	/* vectorized by the compiler (TSF_NN_VECTORIZE), sqrt included */
	for (size_t j = 0; j < n; j++)
	{
		tsf_real	gj = g[j];
		tsf_real	mj = m[j] * b1 + a1 * gj;
		tsf_real	vj = v[j] * b2 + a2 * gj * gj;

		m[j] = mj;
		v[j] = vj;
		p[j] -= step * mj / (TSF_SQRT(vj) / bc2 + eps);
	}
}

/* y (n) += x (n), a vector at a time (the bias gradients' sums over time) */
ISA_TARGET static void
ISA(add) (tsf_real *restrict y, const tsf_real *restrict x, size_t n)
{
	size_t		j = 0;

	for (; j + VLANES <= n; j += VLANES)
		VSTORE(y + j, VLOAD(y + j) + VLOAD(x + j));
	for (; j < n; j++)
		y[j] += x[j];
}

#undef VI
#undef VSPLAT
#undef EXP_LO
#undef EXP_HI
#undef EXP_SHIFT
#undef EXP_BIAS
#undef EXP_MANT

#undef V
#undef VLOAD
#undef VSTORE

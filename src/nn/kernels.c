/*
 * kernels.c
 *		The network core's compute kernels: C += A B and C += A^T B over
 *		row-major arrays, the recurrence's matrix-vector product on packed
 *		weight panels, the LSTM cell forward and backward, a transpose and
 *		a fill.
 *
 * The products are sums of scaled rows (y += a x) taken four rows at a
 * time, with a fixed order of additions for every element (see
 * kernels_isa.h): no dot product is reassociated, so results do not depend
 * on the SIMD width, and training stays deterministic.
 *
 * They are compiled three times, for the x86-64 baseline (SSE2), AVX2 and
 * AVX-512, and the widest set the CPU has is chosen once, when the library
 * is loaded: a GNU indirect function, whose resolver the dynamic linker
 * runs once, the load-time choice pgvector makes with function pointers
 * without a pointer to keep.  All three give the same bits:
 * FMA contraction is off for the core (Makefile), so a wider set only does
 * the same operations on more lanes at once.  Elsewhere (other compilers
 * or systems) the baseline version alone is built.
 *
 * Written by hand because they measurably serve speed: bench/nn_epoch.c
 * times an epoch with them against the plain loops (bench/RESULTS.md, "The
 * core before and after"; src/nn/README.md, "Speed").
 */
#include "nn_kernels.h"

#include <string.h>

/* the baseline: 16-byte vectors (SSE2 on x86-64), small register blocks */
#define ISA(name)	CAT(name, base)
#define ISA_TARGET
#define VLANES		(16 / (int) sizeof(tsf_real))
#define MB			4
#define NBV			1
#define VPP			8
#include "kernels_isa.h"
#undef ISA
#undef ISA_TARGET
#undef VLANES
#undef MB
#undef NBV
#undef VPP

#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && \
	!defined(TSF_NN_NO_DISPATCH)
#define TSF_NN_DISPATCH 1

/* AVX2: 32-byte vectors, 16 registers */
#define ISA(name)	CAT(name, avx2)
#define ISA_TARGET	__attribute__((target("avx2")))
#define VLANES		(32 / (int) sizeof(tsf_real))
#define MB			4
#define NBV			1
#define VPP			8
#include "kernels_isa.h"
#undef ISA
#undef ISA_TARGET
#undef VLANES
#undef MB
#undef NBV
#undef VPP

/* AVX-512: 64-byte vectors, 32 registers, so larger blocks */
#define ISA(name)	CAT(name, avx512)
#define ISA_TARGET	__attribute__((target("avx512f")))
#define VLANES		(64 / (int) sizeof(tsf_real))
#define MB			4
#define NBV			2
#define VPP			4
#include "kernels_isa.h"
#undef ISA
#undef ISA_TARGET
#undef VLANES
#undef MB
#undef NBV
#undef VPP

typedef void (*mm_fn) (tsf_real *restrict C, const tsf_real *restrict A,
					   const tsf_real *restrict B, int M, int N, int K,
					   int lda, int ldb, int ldc);
typedef void (*tn_fn) (tsf_real *restrict C, const tsf_real *restrict A,
					   const tsf_real *restrict B, int M, int N, int K,
					   int lda, int ldb, int ldc);
typedef void (*mv_fn) (tsf_real *restrict y, const tsf_real *restrict x,
					   const tsf_real *restrict P, int N, int K);
typedef void (*cell_back_fn) (tsf_real *restrict da, tsf_real *restrict dc_next,
							  const tsf_real *restrict a, const tsf_real *restrict tc,
							  const tsf_real *restrict dht, const tsf_real *restrict dh_next,
							  const tsf_real *restrict cprev, int H);
typedef void (*cell_fn) (tsf_real *restrict a, const tsf_real *cprev, tsf_real *c,
						 tsf_real *restrict tc, tsf_real *restrict h, int H);
typedef void (*adam_fn) (tsf_real *restrict p, const tsf_real *restrict g,
						 tsf_real *restrict m, tsf_real *restrict v, size_t n,
						 const tsf_adam_k *k);
typedef void (*add_fn) (tsf_real *restrict y, const tsf_real *restrict x, size_t n);

/* the resolvers (TSF_NN_RESOLVER, nn_kernels.h) */
TSF_NN_RESOLVER(mm_nn, mm_fn)
TSF_NN_RESOLVER(mm_tn, tn_fn)
TSF_NN_RESOLVER(mv_panel, mv_fn)
TSF_NN_RESOLVER(lstm_cell, cell_fn)
TSF_NN_RESOLVER(lstm_cell_back, cell_back_fn)
TSF_NN_RESOLVER(adam, adam_fn)
TSF_NN_RESOLVER(add, add_fn)
#endif

#ifdef TSF_NN_DISPATCH
static void mm_tn(tsf_real *restrict C, const tsf_real *restrict A,
				  const tsf_real *restrict B, int M, int N, int K,
				  int lda, int ldb, int ldc)
			__attribute__((ifunc("resolve_mm_tn")));
#else
#define mm_tn mm_tn_base
#endif

#ifdef TSF_NN_DISPATCH
static void mm_nn(tsf_real *restrict C, const tsf_real *restrict A,
				  const tsf_real *restrict B, int M, int N, int K,
				  int lda, int ldb, int ldc)
			__attribute__((ifunc("resolve_mm_nn")));
#else
#define mm_nn mm_nn_base
#endif

/* the chunks of A transposed by tsf_mm_nn for a narrow C */
#define TSF_NN_MC	64			/* rows of C */
#define TSF_NN_KC	64			/* columns of A, a multiple of 4 */

/*
 * dst (kc, mc) = the block of mc rows by kc columns at src (row stride
 * lds), transposed, into rows of stride ldd: tsf_mm_nn's chunks of A and
 * tsf_transpose's tiles.  In float32, 4 x 4 blocks go through vector
 * shuffles (four loads, eight shuffles, four stores for 16 elements): the
 * input gradient's product, whose element-by-element transposes took 3.7%
 * of an epoch at H = 128, now takes 0.7% (perf); the edges, and float64,
 * element by element.
 */
static void
transpose_block(tsf_real *restrict dst, size_t ldd, const tsf_real *restrict src,
				size_t lds, int mc, int kc)
{
	int			m4 = 0,
				k4 = 0;

#ifdef TSF_NN_FLOAT
	/* __builtin_shufflevector: GCC 12 and clang alike */
	typedef float v4 __attribute__((vector_size(16), aligned(4), may_alias));

	m4 = mc & ~3;
	k4 = kc & ~3;
	for (int m = 0; m < m4; m += 4)
		for (int k = 0; k < k4; k += 4)
		{
			const tsf_real *s0 = src + (size_t) m * lds + k;
			v4			r0 = *(const v4 *) s0,
						r1 = *(const v4 *) (s0 + lds),
						r2 = *(const v4 *) (s0 + 2 * lds),
						r3 = *(const v4 *) (s0 + 3 * lds);
			v4			t0 = __builtin_shufflevector(r0, r1, 0, 4, 1, 5),
						t1 = __builtin_shufflevector(r0, r1, 2, 6, 3, 7),
						t2 = __builtin_shufflevector(r2, r3, 0, 4, 1, 5),
						t3 = __builtin_shufflevector(r2, r3, 2, 6, 3, 7);
			tsf_real   *d = dst + (size_t) k * ldd + m;

			*(v4 *) d = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
			*(v4 *) (d + ldd) = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
			*(v4 *) (d + 2 * ldd) = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
			*(v4 *) (d + 3 * ldd) = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
		}
#endif
	/* the columns past k4 of the first m4 rows, then the rows past m4 */
	for (int m = 0; m < m4; m++)
		for (int k = k4; k < kc; k++)
			dst[(size_t) k * ldd + m] = src[(size_t) m * lds + k];
	for (int m = m4; m < mc; m++)
		for (int k = 0; k < kc; k++)
			dst[(size_t) k * ldd + m] = src[(size_t) m * lds + k];
}

/*
 * C (M, N) += A (M, K) . B (K, N)
 *
 * C[m, :] += sum_k A[m, k] B[k, :], k in groups of four.  A narrow C (N
 * below 8, M large: the LSTM's input gradient dx += da W_ih with 4 inputs)
 * would leave the vectors idle, so it is computed as C^T += B^T A^T through
 * transposed chunks of A and C (64 rows by 64 columns of A at a time, on
 * the stack), with the vectors along M; k still runs in order in groups of
 * four, the chunks being multiples of four, so every element gets the same
 * operations (a b = b a exactly).
 */
void
tsf_mm_nn(tsf_real *restrict C, const tsf_real *restrict A,
		  const tsf_real *restrict B, int M, int N, int K)
{
	tsf_real	at[TSF_NN_KC * TSF_NN_MC];	/* (kc, mc) chunk of A^T */
	tsf_real	ct[8 * TSF_NN_MC];	/* (N, mc) chunk of C^T */

	if (N >= 8 || M < 4 * N)
	{
		mm_nn(C, A, B, M, N, K, K, N, N);
		return;
	}
	for (int m0 = 0; m0 < M; m0 += TSF_NN_MC)
	{
		int			mc = M - m0 < TSF_NN_MC ? M - m0 : TSF_NN_MC;

		for (int m = 0; m < mc; m++)
			for (int j = 0; j < N; j++)
				ct[(size_t) j * mc + m] = C[(size_t) (m0 + m) * N + j];
		for (int k0 = 0; k0 < K; k0 += TSF_NN_KC)
		{
			int			kc = K - k0 < TSF_NN_KC ? K - k0 : TSF_NN_KC;

			transpose_block(at, (size_t) mc, A + (size_t) m0 * K + k0, (size_t) K, mc, kc);
			/* ct (N, mc) += B[k0 .. k0 + kc)^T (N, kc) . at (kc, mc) */
			mm_tn(ct, B + (size_t) k0 * N, at, N, mc, kc, N, mc, mc);
		}
		for (int m = 0; m < mc; m++)
			for (int j = 0; j < N; j++)
				C[(size_t) (m0 + m) * N + j] = ct[(size_t) j * mc + m];
	}
}

/* elements of tsf_mm_tn's stack buffer for a narrow C (32 KB in double) */
#define TSF_TN_BUF	4096

/*
 * C (M, N) += A^T . B with A (K, M) of row stride lda (M for a whole
 * matrix), B (K, N): tsf_mm_tn, and its row chunks in tsf_mm_tn_polled.
 */
static void
mm_tn_lda(tsf_real *restrict C, const tsf_real *restrict A,
		  const tsf_real *restrict B, int M, int N, int K, int lda)
{
	tsf_real	buf[TSF_TN_BUF];	/* (N, mc) chunk of C^T */

	if (N >= 8 || M < 4 * N)
	{
		mm_tn(C, A, B, M, N, K, lda, N, N);
		return;
	}
	for (int m0 = 0; m0 < M; m0 += TSF_TN_BUF / N)
	{
		int			mc = M - m0 < TSF_TN_BUF / N ? M - m0 : TSF_TN_BUF / N;

		for (int m = 0; m < mc; m++)
			for (int j = 0; j < N; j++)
				buf[(size_t) j * mc + m] = C[(size_t) (m0 + m) * N + j];
		/* buf (N, mc) += B^T (N, K) . A[:, m0 .. m0 + mc) (K, mc) */
		mm_tn(buf, B, A + m0, N, mc, K, N, lda, mc);
		for (int m = 0; m < mc; m++)
			for (int j = 0; j < N; j++)
				C[(size_t) (m0 + m) * N + j] = buf[(size_t) j * mc + m];
	}
}

/*
 * C (M, N) += A^T . B with A (K, M), B (K, N)
 *
 * C[m, :] += sum_k A[k, m] B[k, :]: the weight gradient dW += dY^T X
 * summed over time.  A narrow C (N below a vector, M large: the LSTM's
 * dW_ih with 4 inputs) is computed as C^T += B^T A, in chunks of rows
 * through a transposed copy, so that the vectors run along M; the products
 * are the same (a b = b a exactly) and so are the sums.
 */
void
tsf_mm_tn(tsf_real *restrict C, const tsf_real *restrict A,
		  const tsf_real *restrict B, int M, int N, int K)
{
	mm_tn_lda(C, A, B, M, N, K, M);
}

/*
 * The products over all T steps in chunks of at most budget multiply-adds
 * (TSF_NN_POLL_MACS in the layers), polling after each, so that a cancel
 * stops a wide network's epoch within milliseconds, not minutes.  Chunks
 * are cut only where the bits cannot change:
 *
 *	- C += A B (tsf_mm_nn_polled): rows of C are independent; a row wider
 *	  than the budget (N K > budget, e.g. the input projection of a layer
 *	  with 4H = 16384 gates and 4096 inputs) goes in chunks of columns,
 *	  also independent, through the strided kernel;
 *	- C += A^T B (tsf_mm_tn_polled): the reduction over k may be cut only
 *	  at multiples of TSF_TN_KB: the kernel adds block after block of 64
 *	  steps into C, loading C before and storing it after each block, so
 *	  a chunk boundary there only replaces keeping C in memory between two
 *	  blocks by keeping it in memory between two calls (kernels_isa.h);
 *	  if one block of 64 steps is over the budget (M N > budget / 64, e.g.
 *	  dW_hh at H = 256), the rows of C, independent, are cut as well;
 *	- y += x P (tsf_mv_panel_polled, one recurrence step): panels are
 *	  independent; one step is cut in groups of whole panels only when it
 *	  is over the budget (4 H^2 > budget, i.e. H > 1448).
 *
 * Every element thus receives the same operations in the same order as in
 * one plain call: no kernel reassociates a sum across those boundaries.
 * A chunk is at most the budget, except that none is smaller than one
 * column of one row (mm_nn: K multiply-adds), 64 steps of one row (mm_tn:
 * 64 N) or one panel (mv: TSF_NN_PANEL K); for every width up to
 * TSF_NN_MAX_WIDTH (K <= 16384, N <= 4096) these are below
 * TSF_NN_POLL_MACS, so the layers' chunks never exceed it.  With a NULL
 * poll, one plain call (and nothing counted).
 */
tsf_nn_error
tsf_mm_nn_polled(tsf_real *restrict C, const tsf_real *restrict A,
				 const tsf_real *restrict B, int M, int N, int K,
				 uint64_t budget, tsf_nn_poll *poll)
{
	uint64_t	row = (uint64_t) N * K; /* multiply-adds per row of C */
	tsf_nn_error err;

	if (poll == NULL || row * M <= budget)
	{
		tsf_mm_nn(C, A, B, M, N, K);
		return tsf_poll(poll, row * M);
	}
	if (row <= budget)
	{
		/* chunks of whole rows, a multiple of 64 (tsf_mm_nn's narrow path) */
		int			mr = (int) (budget / row);

		if (mr >= TSF_NN_MC)
			mr -= mr % TSF_NN_MC;
		for (int m0 = 0; m0 < M; m0 += mr)
		{
			int			mc = M - m0 < mr ? M - m0 : mr;

			tsf_mm_nn(C + (size_t) m0 * N, A + (size_t) m0 * K, B, mc, N, K);
			if ((err = tsf_poll(poll, row * mc)) != TSF_NN_OK)
				return err;
		}
		return TSF_NN_OK;
	}
	/* a row over the budget: chunks of columns, a multiple of 64 */
	{
		int			nc = (int) (budget / K);

		if (nc >= 64)
			nc -= nc % 64;
		if (nc < 1)
			nc = 1;
		for (int m = 0; m < M; m++)
			for (int j0 = 0; j0 < N; j0 += nc)
			{
				int			w = N - j0 < nc ? N - j0 : nc;

				mm_nn(C + (size_t) m * N + j0, A + (size_t) m * K, B + j0,
					  1, w, K, K, N, N);
				if ((err = tsf_poll(poll, (uint64_t) w * K)) != TSF_NN_OK)
					return err;
			}
	}
	return TSF_NN_OK;
}

/* C (M, N) += A^T B, A (K, M), B (K, N), in chunks (see tsf_mm_nn_polled) */
tsf_nn_error
tsf_mm_tn_polled(tsf_real *restrict C, const tsf_real *restrict A,
				 const tsf_real *restrict B, int M, int N, int K,
				 uint64_t budget, tsf_nn_poll *poll)
{
	uint64_t	step = (uint64_t) M * N;	/* multiply-adds per k */
	int			kc,
				mr;
	tsf_nn_error err;

	if (poll == NULL || step * K <= budget)
	{
		tsf_mm_tn(C, A, B, M, N, K);
		return tsf_poll(poll, step * K);
	}
	if (step * TSF_TN_KB <= budget)
	{
		/* whole rows, k in chunks of a multiple of TSF_TN_KB */
		kc = (int) (budget / step / TSF_TN_KB) * TSF_TN_KB;
		mr = M;
	}
	else
	{
		/* one block of k at a time, rows in chunks (a multiple of 4) */
		kc = TSF_TN_KB;
		mr = (int) (budget / ((uint64_t) N * TSF_TN_KB));
		if (mr >= 4)
			mr &= ~3;
		if (mr < 1)
			mr = 1;
	}
	for (int k0 = 0; k0 < K; k0 += kc)
	{
		int			kk = K - k0 < kc ? K - k0 : kc;

		for (int m0 = 0; m0 < M; m0 += mr)
		{
			int			mc = M - m0 < mr ? M - m0 : mr;

			mm_tn_lda(C + (size_t) m0 * N, A + (size_t) k0 * M + m0,
					  B + (size_t) k0 * N, mc, N, kk, M);
			if ((err = tsf_poll(poll, (uint64_t) mc * N * kk)) != TSF_NN_OK)
				return err;
		}
	}
	return TSF_NN_OK;
}

/*
 * y (N) += x (K) . P, P packed by tsf_pack_panels, in groups of whole
 * panels of at most budget multiply-adds, polling between groups (not
 * after the last: the recurrence polls once per step after its cell); all
 * of it counted.  tsf_mv_panel_polled (nn_kernels.h) comes here only for a
 * product over the budget.
 */
tsf_nn_error
tsf_mv_panel_groups(tsf_real *restrict y, const tsf_real *restrict x,
					const tsf_real *restrict P, int N, int K,
					uint64_t budget, tsf_nn_poll *poll)
{
	uint64_t	col = (uint64_t) K; /* multiply-adds per column */
	int			nc;
	tsf_nn_error err;

	nc = (int) (budget / col) / TSF_NN_PANEL * TSF_NN_PANEL;
	if (nc < TSF_NN_PANEL)
		nc = TSF_NN_PANEL;

	/*
	 * The group of columns j0 .. j0 + w - 1 (j0 a multiple of TSF_NN_PANEL)
	 * is a packed matrix of its own at P + j0 K: its panels are those of
	 * the whole, with the same widths (tsf_panel_width depends on N - j0)
	 */
	for (int j0 = 0; j0 < N; j0 += nc)
	{
		int			w = N - j0 < nc ? N - j0 : nc;

		tsf_mv_panel(y + j0, x, P + (size_t) j0 * K, w, K);
		if (j0 + w == N)
			tsf_poll_count(poll, col * w);
		else if ((err = tsf_poll(poll, col * w)) != TSF_NN_OK)
			return err;
	}
	return TSF_NN_OK;
}

/*
 * y (N) += x (K) . P, P a (K, N) matrix packed by tsf_pack_panels.
 */
#ifdef TSF_NN_DISPATCH
void		tsf_mv_panel(tsf_real *restrict y, const tsf_real *restrict x,
						 const tsf_real *restrict P, int N, int K)
			__attribute__((ifunc("resolve_mv_panel")));
#else
void
tsf_mv_panel(tsf_real *restrict y, const tsf_real *restrict x,
			 const tsf_real *restrict P, int N, int K)
{
	mv_panel_base(y, x, P, N, K);
}
#endif

/*
 * The LSTM cell's gates and state for one step (kernels_isa.h): a (4H)
 * pre-activations in, activated gates out; c (H) = f cprev + i g, tc (H) =
 * tanh(c) unless NULL, h (H) = o tc.  c may be cprev.
 */
#ifdef TSF_NN_DISPATCH
void		tsf_lstm_cell(tsf_real *restrict a, const tsf_real *cprev, tsf_real *c,
						  tsf_real *restrict tc, tsf_real *restrict h, int H)
			__attribute__((ifunc("resolve_lstm_cell")));
#else
void
tsf_lstm_cell(tsf_real *restrict a, const tsf_real *cprev, tsf_real *c,
			  tsf_real *restrict tc, tsf_real *restrict h, int H)
{
	lstm_cell_base(a, cprev, c, tc, h, H);
}
#endif

/*
 * The cell's backward for one step (kernels_isa.h): da (4H) from the gates
 * a, tc, dht + dh_next and cprev (NULL at t = 0); dc_next (H) in place.
 */
#ifdef TSF_NN_DISPATCH
void		tsf_lstm_cell_back(tsf_real *restrict da, tsf_real *restrict dc_next,
							   const tsf_real *restrict a, const tsf_real *restrict tc,
							   const tsf_real *restrict dht, const tsf_real *restrict dh_next,
							   const tsf_real *restrict cprev, int H)
			__attribute__((ifunc("resolve_lstm_cell_back")));
#else
void
tsf_lstm_cell_back(tsf_real *restrict da, tsf_real *restrict dc_next,
				   const tsf_real *restrict a, const tsf_real *restrict tc,
				   const tsf_real *restrict dht, const tsf_real *restrict dh_next,
				   const tsf_real *restrict cprev, int H)
{
	lstm_cell_back_base(da, dc_next, a, tc, dht, dh_next, cprev, H);
}
#endif

/* Adam over n elements (kernels_isa.h; tsf_adam_step in adam.c) */
#ifdef TSF_NN_DISPATCH
void		tsf_adam_kernel(tsf_real *restrict p, const tsf_real *restrict g,
							tsf_real *restrict m, tsf_real *restrict v, size_t n,
							const tsf_adam_k *k)
			__attribute__((ifunc("resolve_adam")));
#else
void
tsf_adam_kernel(tsf_real *restrict p, const tsf_real *restrict g,
				tsf_real *restrict m, tsf_real *restrict v, size_t n,
				const tsf_adam_k *k)
{
	adam_base(p, g, m, v, n, k);
}
#endif

/* y (n) += x (n) */
#ifdef TSF_NN_DISPATCH
void		tsf_add(tsf_real *restrict y, const tsf_real *restrict x, size_t n)
			__attribute__((ifunc("resolve_add")));
#else
void
tsf_add(tsf_real *restrict y, const tsf_real *restrict x, size_t n)
{
	add_base(y, x, n);
}
#endif

/*
 * Elements of a (K, N) matrix packed in panels: N rounded up to
 * TSF_NN_PANEL_STEP (every panel but the last is TSF_NN_PANEL wide).
 */
size_t
tsf_panel_count(int K, int N)
{
	size_t		S = TSF_NN_PANEL_STEP;

	return (size_t) K * (((size_t) N + S - 1) / S * S);
}

/*
 * Pack the (K, N) matrix B into P (tsf_panel_count(K, N)): the panel of
 * columns j0 .. j0 + pw - 1 (j0 a multiple of TSF_NN_PANEL, pw =
 * tsf_panel_width(N, j0)) starts at P + j0 K and holds K rows of pw
 * contiguous elements, zero past column N.  With trans, src is B^T, an
 * (N, K) row-major array, e.g. a PyTorch weight (4H, H) packed as W^T.
 * Polls after every TSF_NN_POLL_ELEMS elements or so (0.1 s for the
 * 67 million of W_hh at H = 4096); NULL: never.
 */
tsf_nn_error
tsf_pack_panels(tsf_real *restrict P, const tsf_real *restrict src,
				int K, int N, int trans, tsf_nn_poll *poll)
{
	size_t		pending = 0;	/* elements since the last poll */

	for (int j0 = 0; j0 < N; j0 += TSF_NN_PANEL)
	{
		int			pw = tsf_panel_width(N, j0);
		tsf_real   *p = P + (size_t) j0 * K;	/* (K, pw) */
		int			w = N - j0 < pw ? N - j0 : pw;

		if (trans)
		{
			/*
			 * column jj of the panel is row j0 + jj of src: read along
			 * src's rows (the panel, K x 256 bytes, stays in L1 while its
			 * columns are written), not along its columns: 2.0% of an
			 * epoch at H = 128 before, 1.2% after (perf)
			 */
			for (int jj = 0; jj < w; jj++)
			{
				const tsf_real *srow = src + (size_t) (j0 + jj) * K;

				for (int k = 0; k < K; k++)
					p[(size_t) k * pw + jj] = srow[k];
			}
		}
		else
			for (int k = 0; k < K; k++)
				memcpy(p + (size_t) k * pw, src + (size_t) k * N + j0, sizeof(tsf_real) * w);
		/* the last panel's padding columns */
		for (int k = 0; w < pw && k < K; k++)
			memset(p + (size_t) k * pw + w, 0, sizeof(tsf_real) * (pw - w));
		pending += (size_t) K * pw;
		if (pending >= TSF_NN_POLL_ELEMS)
		{
			if (tsf_poll(poll, 0) != TSF_NN_OK)
				return TSF_NN_CANCELLED;
			pending = 0;
		}
	}
	return TSF_NN_OK;
}

/* rows and columns of a tile of tsf_transpose */
#define TSF_TR_TILE	32

/*
 * dst (cols, rows) = src (rows, cols)^T, in tiles of 32 x 32 so that both
 * sides stay within a few cache lines and pages at a time: W_ih^T of a
 * layer with 16384 gates and 4096 inputs took 1.2 s element by element
 * (every store a new line and page, and 90 ms bursts of page faults the
 * first time), 0.16 s so.  Polls after each strip of 32 rows once
 * TSF_NN_POLL_ELEMS elements or more were copied since the last poll;
 * NULL: never.
 */
tsf_nn_error
tsf_transpose(tsf_real *restrict dst, const tsf_real *restrict src,
			  int rows, int cols, tsf_nn_poll *poll)
{
	size_t		pending = 0;	/* elements since the last poll */

	for (int r0 = 0; r0 < rows; r0 += TSF_TR_TILE)
	{
		int			r1 = rows - r0 < TSF_TR_TILE ? rows : r0 + TSF_TR_TILE;

		for (int c0 = 0; c0 < cols; c0 += TSF_TR_TILE)
		{
			int			c1 = cols - c0 < TSF_TR_TILE ? cols : c0 + TSF_TR_TILE;

			transpose_block(dst + (size_t) c0 * rows + r0, (size_t) rows,
							src + (size_t) r0 * cols + c0, (size_t) cols, r1 - r0, c1 - c0);
		}
		pending += (size_t) (r1 - r0) * cols;
		if (pending >= TSF_NN_POLL_ELEMS)
		{
			if (tsf_poll(poll, 0) != TSF_NN_OK)
				return TSF_NN_CANCELLED;
			pending = 0;
		}
	}
	return TSF_NN_OK;
}

/* x (n) = 0 */
void
tsf_zero(tsf_real *x, size_t n)
{
	memset(x, 0, n * sizeof(tsf_real));
}

/*
 * nn_kernels.h
 *		Internal dense kernels shared by the layers of the network core.
 *
 * The products are sums of scaled rows ("y += a x") four rows at a time,
 * with a fixed order of additions per element; none of them reassociates a
 * dot product, so their results do not depend on the vector width
 * (kernels.c, kernels_isa.h).  Not part of the public API.
 */
#ifndef TSF_NN_KERNELS_H
#define TSF_NN_KERNELS_H

#include "nn.h"

#include <math.h>

/*
 * Width in elements of a weight panel (tsf_pack_panels): 256 bytes, four
 * AVX-512 vectors; the last panel of a matrix is only as wide as its
 * columns need, rounded up to 64 bytes (TSF_NN_PANEL_STEP elements).
 */
#define TSF_NN_PANEL		((int) (256 / sizeof(tsf_real)))
#define TSF_NN_PANEL_STEP	((int) (64 / sizeof(tsf_real)))

/* tsf_real elements of one 64-byte cache line */
#define TSF_NN_LINE		((int) (64 / sizeof(tsf_real)))

/* time steps per block of tsf_mm_tn (a multiple of 4) */
#define TSF_TN_KB			64

/* width of the panel of an N-column matrix that starts at column j0 */
static inline int
tsf_panel_width(int N, int j0)
{
	int			w = (N - j0 + TSF_NN_PANEL_STEP - 1) / TSF_NN_PANEL_STEP * TSF_NN_PANEL_STEP;

	return w < TSF_NN_PANEL ? w : TSF_NN_PANEL;
}

/* libm functions of the scalar type (the gates use their own exp) */
#ifdef TSF_NN_FLOAT
#define TSF_SQRT(x)	sqrtf(x)
#else
#define TSF_SQRT(x)	sqrt(x)
#endif

/*
 * xoshiro256** and its uniform double, inlined for the loops that draw one
 * number per element (dropout masks); the same stream as tsf_rng_next and
 * tsf_rng_uniform of rng.c.
 */
static inline uint64_t
tsf_rng_next_inline(tsf_rng *rng)
{
	uint64_t   *s = rng->s;
	uint64_t	result = ((s[1] * 5) << 7 | (s[1] * 5) >> 57) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = (s[3] << 45) | (s[3] >> 19);
	return result;
}

static inline double
tsf_rng_uniform_inline(tsf_rng *rng)
{
	return (double) (tsf_rng_next_inline(rng) >> 11) * 0x1.0p-53;
}

/*
 * Count macs multiply-adds done under poll, then ask its function whether
 * to stop: TSF_NN_CANCELLED if so.  A NULL poll never stops; a NULL
 * function only counts.
 */
static inline tsf_nn_error
tsf_poll(tsf_nn_poll *poll, uint64_t macs)
{
	if (poll == NULL)
		return TSF_NN_OK;
	poll->macs += macs;
	if (poll->fn != NULL && poll->fn(poll->arg) != 0)
		return TSF_NN_CANCELLED;
	return TSF_NN_OK;
}

/* count macs multiply-adds under poll without asking it */
static inline void
tsf_poll_count(tsf_nn_poll *poll, uint64_t macs)
{
	if (poll != NULL)
		poll->macs += macs;
}

/*
 * Kernels compiled once per instruction set (kernels.c, lanes.c): name_base,
 * name_avx2, name_avx512, from one source included with ISA(name) defined
 * as CAT(name, set).  TSF_NN_RESOLVER(name, type) defines resolve_name, the
 * resolver of a GNU indirect function: run once by the dynamic linker
 * before any call, it picks the widest set this CPU has.  Resolvers run
 * before a sanitizer's run time is set up, so they are not instrumented.
 */
/*
 * A loop the compiler vectorizes even at -O2, where GCC's cheap cost model
 * leaves loops of unknown length scalar (GCC; other compilers ignore it).
 * For sqrt in such a loop, the core is built with -fno-math-errno (the
 * Makefile; the attribute's "no-math-errno" has no effect in GCC 12).  No
 * result changes: the vector sqrt, division and arithmetic round like the
 * scalar ones, and without -ffast-math GCC reorders no sum.
 */
#if defined(__GNUC__) && !defined(__clang__)
#define TSF_NN_VECTORIZE	__attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic")))
#else
#define TSF_NN_VECTORIZE
#endif

#define CAT2(a, b)	a##_##b
#define CAT(a, b)	CAT2(a, b)

#ifndef TSF_NN_ISA_MAX
#define TSF_NN_ISA_MAX	2		/* 0 baseline, 1 AVX2, 2 AVX-512: a cap for tests */
#endif
#define TSF_NN_RESOLVER(name, type) \
__attribute__((used, no_sanitize("address", "undefined"))) static type \
resolve_##name(void) \
{ \
	__builtin_cpu_init(); \
	if (TSF_NN_ISA_MAX >= 2 && __builtin_cpu_supports("avx512f")) \
		return name##_avx512; \
	if (TSF_NN_ISA_MAX >= 1 && __builtin_cpu_supports("avx2")) \
		return name##_avx2; \
	return name##_base; \
}

extern void tsf_mm_nn(tsf_real *restrict C, const tsf_real *restrict A,
					  const tsf_real *restrict B, int M, int N, int K);
extern void tsf_mm_tn(tsf_real *restrict C, const tsf_real *restrict A,
					  const tsf_real *restrict B, int M, int N, int K);
extern void tsf_mv_panel(tsf_real *restrict y, const tsf_real *restrict x,
						 const tsf_real *restrict P, int N, int K);

/*
 * The same products in chunks of at most budget multiply-adds (see
 * kernels.c for the exceptions at tiny budgets), polling after each chunk
 * (tsf_mv_panel_polled: between chunks, the recurrence polls after its
 * step); bit-identical to the plain ones.  A NULL poll: one plain call.
 */
extern tsf_nn_error tsf_mm_nn_polled(tsf_real *restrict C, const tsf_real *restrict A,
									 const tsf_real *restrict B, int M, int N, int K,
									 uint64_t budget, tsf_nn_poll *poll);
extern tsf_nn_error tsf_mm_tn_polled(tsf_real *restrict C, const tsf_real *restrict A,
									 const tsf_real *restrict B, int M, int N, int K,
									 uint64_t budget, tsf_nn_poll *poll);
extern tsf_nn_error tsf_mv_panel_groups(tsf_real *restrict y, const tsf_real *restrict x,
										const tsf_real *restrict P, int N, int K,
										uint64_t budget, tsf_nn_poll *poll);

/* one step's product, in groups of panels only when over the budget */
static inline tsf_nn_error
tsf_mv_panel_polled(tsf_real *restrict y, const tsf_real *restrict x,
					const tsf_real *restrict P, int N, int K,
					uint64_t budget, tsf_nn_poll *poll)
{
	if (poll == NULL || (uint64_t) N * K <= budget)
	{
		tsf_mv_panel(y, x, P, N, K);
		tsf_poll_count(poll, (uint64_t) N * K);
		return TSF_NN_OK;
	}
	return tsf_mv_panel_groups(y, x, P, N, K, budget, poll);
}
extern tsf_nn_error tsf_pack_panels(tsf_real *restrict P, const tsf_real *restrict src,
									int K, int N, int trans, tsf_nn_poll *poll);
extern size_t tsf_panel_count(int K, int N);
extern void tsf_lstm_cell_back(tsf_real *restrict da, tsf_real *restrict dc_next,
							   const tsf_real *restrict a, const tsf_real *restrict tc,
							   const tsf_real *restrict dht, const tsf_real *restrict dh_next,
							   const tsf_real *restrict cprev, int H);
extern void tsf_lstm_cell(tsf_real *restrict a, const tsf_real *cprev, tsf_real *c,
						  tsf_real *restrict tc, tsf_real *restrict h, int H);
extern tsf_nn_error tsf_transpose(tsf_real *restrict dst, const tsf_real *restrict src,
								  int rows, int cols, tsf_nn_poll *poll);
extern void tsf_zero(tsf_real *x, size_t n);

/* Adam's scalars at one step, as tsf_adam_step uses them (adam.c) */
typedef struct tsf_adam_k
{
	tsf_real	step_size;		/* lr / (1 - beta1^t) */
	tsf_real	bc2_sqrt;		/* sqrt(1 - beta2^t) */
	tsf_real	b1,
				b2;				/* beta1, beta2 */
	tsf_real	a1,
				a2;				/* 1 - beta1, 1 - beta2 */
	tsf_real	eps;
} tsf_adam_k;
extern void tsf_adam_scalars(const tsf_adam *opt, long t, tsf_adam_k *k);

/* Adam over n elements with the scalars k (kernels.c; adam.c calls it) */
extern void tsf_adam_kernel(tsf_real *restrict p, const tsf_real *restrict g,
							tsf_real *restrict m, tsf_real *restrict v, size_t n,
							const tsf_adam_k *k);

/* y (n) += x (n) */
extern void tsf_add(tsf_real *restrict y, const tsf_real *restrict x, size_t n);

#endif							/* TSF_NN_KERNELS_H */

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

extern void tsf_mm_nn(tsf_real *restrict C, const tsf_real *restrict A,
					  const tsf_real *restrict B, int M, int N, int K);
extern void tsf_mm_tn(tsf_real *restrict C, const tsf_real *restrict A,
					  const tsf_real *restrict B, int M, int N, int K);
extern void tsf_mv_panel(tsf_real *restrict y, const tsf_real *restrict x,
						 const tsf_real *restrict P, int N, int K);
extern void tsf_pack_panels(tsf_real *restrict P, const tsf_real *restrict src,
							int K, int N, int trans);
extern size_t tsf_panel_count(int K, int N);
extern void tsf_lstm_cell_back(tsf_real *restrict da, tsf_real *restrict dc_next,
							   const tsf_real *restrict a, const tsf_real *restrict tc,
							   const tsf_real *restrict dht, const tsf_real *restrict dh_next,
							   const tsf_real *restrict cprev, int H);
extern void tsf_lstm_cell(tsf_real *restrict a, const tsf_real *cprev, tsf_real *c,
						  tsf_real *restrict tc, tsf_real *restrict h, int H);
extern void tsf_transpose(tsf_real *restrict dst, const tsf_real *restrict src,
						  int rows, int cols);
extern void tsf_zero(tsf_real *x, size_t n);

#endif							/* TSF_NN_KERNELS_H */

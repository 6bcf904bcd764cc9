/*
 * nn_kernels.h
 *		Internal dense kernels shared by the layers of the network core.
 *
 * All kernels are written as rows of "y += a * x" (axpy) over contiguous
 * rows, unrolled by four so that GCC's SLP vectorizer turns them into SIMD
 * code even at -O2; none of them reassociates a dot product, so their
 * results do not depend on the vector width.  Not part of the public API.
 */
#ifndef TSF_NN_KERNELS_H
#define TSF_NN_KERNELS_H

#include "nn.h"

#include <math.h>

/* libm functions of the scalar type */
#ifdef TSF_NN_FLOAT
#define TSF_EXP(x)	expf(x)
#define TSF_TANH(x)	tanhf(x)
#define TSF_SQRT(x)	sqrtf(x)
#else
#define TSF_EXP(x)	exp(x)
#define TSF_TANH(x)	tanh(x)
#define TSF_SQRT(x)	sqrt(x)
#endif

/* logistic sigmoid, 1 / (1 + e^-x) */
static inline tsf_real
tsf_sigmoid(tsf_real x)
{
	return (tsf_real) 1 / ((tsf_real) 1 + TSF_EXP(-x));
}

extern void tsf_mm_nn(tsf_real *restrict C, const tsf_real *restrict A,
					  const tsf_real *restrict B, int M, int N, int K);
extern void tsf_mm_tn(tsf_real *restrict C, const tsf_real *restrict A,
					  const tsf_real *restrict B, int M, int N, int K);
extern void tsf_transpose(tsf_real *restrict dst, const tsf_real *restrict src,
						  int rows, int cols);
extern void tsf_zero(tsf_real *x, size_t n);

#endif							/* TSF_NN_KERNELS_H */

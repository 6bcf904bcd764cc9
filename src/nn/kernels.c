/*
 * kernels.c
 *		Dense matrix kernels of the network core: C += A B and C += A^T B
 *		over row-major arrays, a transpose and a fill.
 *
 * The products are computed as sums of scaled rows (axpy) with the inner
 * loop unrolled by four, so the compiler vectorizes them at -O2 without any
 * reassociation: results are bit-identical whatever the SIMD width, and the
 * order of the additions is fixed, which keeps training deterministic.
 */
#include "nn_kernels.h"

#include <string.h>

/*
 * y (n) += a0 x0 + a1 x1 + a2 x2 + a3 x3: four rows at once, so y is loaded
 * and stored once per four rows.
 */
static inline void
axpy4(tsf_real *restrict y,
	  const tsf_real *restrict x0, const tsf_real *restrict x1,
	  const tsf_real *restrict x2, const tsf_real *restrict x3,
	  tsf_real a0, tsf_real a1, tsf_real a2, tsf_real a3, int n)
{
	int			j = 0;

	for (; j + 4 <= n; j += 4)
	{
		y[j] += a0 * x0[j] + a1 * x1[j] + a2 * x2[j] + a3 * x3[j];
		y[j + 1] += a0 * x0[j + 1] + a1 * x1[j + 1] + a2 * x2[j + 1] + a3 * x3[j + 1];
		y[j + 2] += a0 * x0[j + 2] + a1 * x1[j + 2] + a2 * x2[j + 2] + a3 * x3[j + 2];
		y[j + 3] += a0 * x0[j + 3] + a1 * x1[j + 3] + a2 * x2[j + 3] + a3 * x3[j + 3];
	}
	for (; j < n; j++)
		y[j] += a0 * x0[j] + a1 * x1[j] + a2 * x2[j] + a3 * x3[j];
}

/* y (n) += a x */
static inline void
axpy1(tsf_real *restrict y, const tsf_real *restrict x, tsf_real a, int n)
{
	int			j = 0;

	for (; j + 4 <= n; j += 4)
	{
		y[j] += a * x[j];
		y[j + 1] += a * x[j + 1];
		y[j + 2] += a * x[j + 2];
		y[j + 3] += a * x[j + 3];
	}
	for (; j < n; j++)
		y[j] += a * x[j];
}

/*
 * C (M, N) += A (M, K) . B (K, N)
 *
 * C[m, :] += sum_k A[m, k] B[k, :], k in blocks of four.
 */
void
tsf_mm_nn(tsf_real *restrict C, const tsf_real *restrict A,
		  const tsf_real *restrict B, int M, int N, int K)
{
	for (int m = 0; m < M; m++)
	{
		tsf_real   *c = C + (size_t) m * N;
		const tsf_real *a = A + (size_t) m * K;
		int			k = 0;

		for (; k + 4 <= K; k += 4)
			axpy4(c, B + (size_t) k * N, B + (size_t) (k + 1) * N,
				  B + (size_t) (k + 2) * N, B + (size_t) (k + 3) * N,
				  a[k], a[k + 1], a[k + 2], a[k + 3], N);
		for (; k < K; k++)
			axpy1(c, B + (size_t) k * N, a[k], N);
	}
}

/*
 * C (M, N) += A^T . B with A (K, M), B (K, N)
 *
 * C[m, :] += sum_k A[k, m] B[k, :].  This is the weight gradient
 * dW += dY^T X summed over time; k (time) is processed in blocks of 64 rows
 * so that the block of B stays in cache while every row of C visits it.
 */
void
tsf_mm_tn(tsf_real *restrict C, const tsf_real *restrict A,
		  const tsf_real *restrict B, int M, int N, int K)
{
	const int	KB = 64;

	for (int k0 = 0; k0 < K; k0 += KB)
	{
		int			k1 = k0 + KB < K ? k0 + KB : K;

		for (int m = 0; m < M; m++)
		{
			tsf_real   *c = C + (size_t) m * N;
			int			k = k0;

			for (; k + 4 <= k1; k += 4)
				axpy4(c, B + (size_t) k * N, B + (size_t) (k + 1) * N,
					  B + (size_t) (k + 2) * N, B + (size_t) (k + 3) * N,
					  A[(size_t) k * M + m], A[(size_t) (k + 1) * M + m],
					  A[(size_t) (k + 2) * M + m], A[(size_t) (k + 3) * M + m],
					  N);
			for (; k < k1; k++)
				axpy1(c, B + (size_t) k * N, A[(size_t) k * M + m], N);
		}
	}
}

/* dst (cols, rows) = src (rows, cols)^T */
void
tsf_transpose(tsf_real *restrict dst, const tsf_real *restrict src,
			  int rows, int cols)
{
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++)
			dst[(size_t) c * rows + r] = src[(size_t) r * cols + c];
}

/* x (n) = 0 */
void
tsf_zero(tsf_real *x, size_t n)
{
	memset(x, 0, n * sizeof(tsf_real));
}

/*
 * flops.c
 *		Peak floating-point throughput of one core: the yardstick for
 *		bench/lstm_speed.sh's "fraction of peak".
 *
 *	gcc -O2 -o flops bench/flops.c && ./flops
 *
 * For each vector width the CPU supports (SSE2 128-bit, AVX2 256-bit,
 * AVX-512 512-bit) and each precision, 12 independent accumulators are
 * updated in a loop, which hides the 4-cycle latency of the FP units, so the
 * loop runs at their throughput (the accumulators start at different values,
 * so the compiler cannot merge them).  Two kinds of update:
 *
 *	fma		acc = acc * m + a as one fused multiply-add (2 flops per lane)
 *	mul+add	acc = acc * m and acc = acc + a on separate accumulators
 *			(1 flop per lane each): what code compiled without FMA
 *			contraction can reach at best, as tsforecast's network core is
 *			(-ffp-contract=off, so that every vector width gives the same bits)
 *
 * Each line prints GFLOP/s, the best of 5 runs of about 0.1 s each.  Kernels
 * carry GCC target attributes, so one binary built with plain -O2 probes
 * every width, and the widths this CPU lacks are skipped.
 */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#define ITERS	4000000L		/* loop trips per run */
#define RUNS	5

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

/*
 * One kernel per (width, precision, kind): V the vector type, SET1 a
 * broadcast, OP the update of accumulator x.  12 accumulators (with m and a,
 * 14 of the 16 registers AVX2 has); the result is
 * summed and returned so that the loop is not optimized away.
 */
#define KERNEL(name, isa, V, SET1, ADD, OP, lanes_t, lanes) \
__attribute__((target(isa), noinline)) static double \
name(long iters) \
{ \
	V m = SET1((lanes_t) 0.9999999), a = SET1((lanes_t) 1e-7); \
	V x0 = SET1(1.00), x1 = SET1(1.01), x2 = SET1(1.02), x3 = SET1(1.03), \
	  x4 = SET1(1.04), x5 = SET1(1.05), x6 = SET1(1.06), x7 = SET1(1.07), \
	  x8 = SET1(1.08), x9 = SET1(1.09), x10 = SET1(1.10), x11 = SET1(1.11); \
	lanes_t out[lanes]; \
	double s = 0; \
	for (long i = 0; i < iters; i++) \
	{ \
		__asm__ volatile("" ::: "memory"); \
		OP(x0, 0); OP(x1, 1); OP(x2, 0); OP(x3, 1); \
		OP(x4, 0); OP(x5, 1); OP(x6, 0); OP(x7, 1); \
		OP(x8, 0); OP(x9, 1); OP(x10, 0); OP(x11, 1); \
	} \
	x0 = ADD(ADD(ADD(x0, x1), ADD(x2, x3)), ADD(ADD(x4, x5), ADD(x6, x7))); \
	x8 = ADD(ADD(x8, x9), ADD(x10, x11)); \
	x0 = ADD(x0, x8); \
	__builtin_memcpy(out, &x0, sizeof(out)); \
	for (int j = 0; j < lanes; j++) \
		s += out[j]; \
	return s; \
}

/* fma: acc = acc * m + a;  mul+add: even accumulators multiply, odd ones add */
#define SSE_PD_MA(x, odd)	x = (odd) ? _mm_add_pd(x, a) : _mm_mul_pd(x, m)
#define SSE_PS_MA(x, odd)	x = (odd) ? _mm_add_ps(x, a) : _mm_mul_ps(x, m)
#define AVX_PD_FMA(x, odd)	x = _mm256_fmadd_pd(x, m, a)
#define AVX_PD_MA(x, odd)	x = (odd) ? _mm256_add_pd(x, a) : _mm256_mul_pd(x, m)
#define AVX_PS_FMA(x, odd)	x = _mm256_fmadd_ps(x, m, a)
#define AVX_PS_MA(x, odd)	x = (odd) ? _mm256_add_ps(x, a) : _mm256_mul_ps(x, m)
#define Z_PD_FMA(x, odd)	x = _mm512_fmadd_pd(x, m, a)
#define Z_PD_MA(x, odd)		x = (odd) ? _mm512_add_pd(x, a) : _mm512_mul_pd(x, m)
#define Z_PS_FMA(x, odd)	x = _mm512_fmadd_ps(x, m, a)
#define Z_PS_MA(x, odd)		x = (odd) ? _mm512_add_ps(x, a) : _mm512_mul_ps(x, m)

KERNEL(sse_pd_ma, "sse2", __m128d, _mm_set1_pd, _mm_add_pd, SSE_PD_MA, double, 2)
KERNEL(sse_ps_ma, "sse2", __m128, _mm_set1_ps, _mm_add_ps, SSE_PS_MA, float, 4)
KERNEL(avx_pd_ma, "avx2", __m256d, _mm256_set1_pd, _mm256_add_pd, AVX_PD_MA, double, 4)
KERNEL(avx_ps_ma, "avx2", __m256, _mm256_set1_ps, _mm256_add_ps, AVX_PS_MA, float, 8)
KERNEL(avx_pd_fma, "avx2,fma", __m256d, _mm256_set1_pd, _mm256_add_pd, AVX_PD_FMA, double, 4)
KERNEL(avx_ps_fma, "avx2,fma", __m256, _mm256_set1_ps, _mm256_add_ps, AVX_PS_FMA, float, 8)
KERNEL(z_pd_ma, "avx512f", __m512d, _mm512_set1_pd, _mm512_add_pd, Z_PD_MA, double, 8)
KERNEL(z_ps_ma, "avx512f", __m512, _mm512_set1_ps, _mm512_add_ps, Z_PS_MA, float, 16)
KERNEL(z_pd_fma, "avx512f", __m512d, _mm512_set1_pd, _mm512_add_pd, Z_PD_FMA, double, 8)
KERNEL(z_ps_fma, "avx512f", __m512, _mm512_set1_ps, _mm512_add_ps, Z_PS_FMA, float, 16)

/* best GFLOP/s of RUNS runs; flops per trip = 12 updates x lanes x (1 or 2) */
static void
measure(const char *label, double (*fn) (long), int lanes, int flops_per_lane)
{
	double		best = 0,
				sink = 0;

	fn(ITERS / 10);				/* warm up, and let the clock settle */
	for (int r = 0; r < RUNS; r++)
	{
		double		t0 = now(),
					dt;

		sink += fn(ITERS);
		dt = now() - t0;
		if (12.0 * lanes * flops_per_lane * ITERS / dt / 1e9 > best)
			best = 12.0 * lanes * flops_per_lane * ITERS / dt / 1e9;
	}
	printf("%-32s %7.1f GFLOP/s%s\n", label, best, sink == 12345.0 ? " " : "");
}

int
main(void)
{
	__builtin_cpu_init();
	printf("peak floating-point throughput of one core (12 independent accumulators)\n");
	measure("float64 SSE2    mul+add", sse_pd_ma, 2, 1);
	measure("float32 SSE2    mul+add", sse_ps_ma, 4, 1);
	if (__builtin_cpu_supports("avx2"))
	{
		measure("float64 AVX2    mul+add", avx_pd_ma, 4, 1);
		measure("float32 AVX2    mul+add", avx_ps_ma, 8, 1);
	}
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
	{
		measure("float64 AVX2    fma", avx_pd_fma, 4, 2);
		measure("float32 AVX2    fma", avx_ps_fma, 8, 2);
	}
	if (__builtin_cpu_supports("avx512f"))
	{
		measure("float64 AVX-512 mul+add", z_pd_ma, 8, 1);
		measure("float32 AVX-512 mul+add", z_ps_ma, 16, 1);
		measure("float64 AVX-512 fma", z_pd_fma, 8, 2);
		measure("float32 AVX-512 fma", z_ps_fma, 16, 2);
	}
	return 0;
}

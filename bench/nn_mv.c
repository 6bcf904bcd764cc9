/*
 * nn_mv.c
 *		The floor under an LSTM epoch of one network at hidden H: the
 *		recurrence's two matrix-vector products per step (forward a_t +=
 *		W_hh h_{t-1}, backward dh = W_hh^T da_t), timed alone on the packed
 *		weights (tsf_mv_panel), with nothing else in the caches; and the
 *		epoch's weight gradient dW_hh += da^T h (tsf_mm_tn over the T - 1
 *		steps), timed alone too.  No server.
 *
 *	gcc -std=gnu11 -O2 -fno-wrapv -ffp-contract=off -fno-math-errno -DTSF_NN_FLOAT \
 *		-Isrc -o nn_mv bench/nn_mv.c src/nn/[a-z]*.c -lm
 *	./nn_mv H [T [REPS]]
 *
 * Each direction runs T times in a row (T = 500 default), each step's
 * input made from the last output so that no two steps overlap, best of
 * REPS (5) in the thread's CPU time.  Prints one JSON line: us per step of
 * each direction, the weights' bytes per step over that time (GB/s), and
 * ms per epoch of T steps for the two products alone: what no layout of
 * distinct networks can go under, since each network's weights must be
 * read twice per step (bench/lstm_lanes.sh prints it beside PyTorch's
 * epoch).  Then the weight gradient's multiply-adds per epoch (4H H (T -
 * 1), which no layout avoids either) and this core's ms for them: the
 * script divides the count by the core's FMA peak (bench/flops.c) for the
 * least any code could spend on them.
 */
#include "nn/nn.h"
#include "bench_util.h"
#include "nn/nn_kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* best seconds per step of y (N) += x (K) P over T chained steps */
static double
time_mv(tsf_real *y, tsf_real *x, const tsf_real *P, int N, int K, int T, int reps)
{
	double		best = 1e30;

	for (int r = 0; r < reps; r++)
	{
		double		t0 = cpu_now();

		for (int t = 0; t < T; t++)
		{
			tsf_mv_panel(y, x, P, N, K);
			x[t % K] = y[N - 1] * (tsf_real) 1e-3;	/* the next step waits for this one */
		}
		t0 = cpu_now() - t0;
		if (t0 < best)
			best = t0;
	}
	return best / T;
}

/* best seconds of dW (G, H) += A^T B, A (T - 1, G), B (T - 1, H) */
static double
time_tn(tsf_real *dw, const tsf_real *A, const tsf_real *B, int G, int H, int T, int reps)
{
	double		best = 1e30;

	for (int r = 0; r < reps; r++)
	{
		double		t0 = cpu_now();

		tsf_mm_tn(dw, A, B, G, H, T - 1);
		t0 = cpu_now() - t0;
		if (t0 < best)
			best = t0;
	}
	return best;
}

int
main(int argc, char **argv)
{
	int			H = argc > 1 ? atoi(argv[1]) : 128;
	int			T = argc > 2 ? atoi(argv[2]) : 500;
	int			reps = argc > 3 ? atoi(argv[3]) : 5;
	int			G = 4 * H;
	size_t		n = (size_t) G * H;
	tsf_real   *w,
			   *pf,
			   *pb,
			   *x,
			   *y,
			   *da,
			   *hs;
	tsf_rng		rng;
	double		fwd,
				bwd,
				tn,
				bytes = (double) n * sizeof(tsf_real);

	if (H < 1 || H > 4096 || T < 2 || T > 100000 || reps < 1)
	{
		fprintf(stderr, "usage: nn_mv H [T [REPS]]\n");
		return 2;
	}
	w = must(malloc(sizeof(tsf_real) * n));
	pf = must(aligned_alloc(64, (sizeof(tsf_real) * tsf_panel_count(H, G) + 63) / 64 * 64));
	pb = must(aligned_alloc(64, (sizeof(tsf_real) * tsf_panel_count(G, H) + 63) / 64 * 64));
	x = must(aligned_alloc(64, (sizeof(tsf_real) * G + 63) / 64 * 64));
	y = must(aligned_alloc(64, (sizeof(tsf_real) * G + 63) / 64 * 64));
	da = must(malloc(sizeof(tsf_real) * (size_t) T * G));
	hs = must(malloc(sizeof(tsf_real) * (size_t) T * H));
	tsf_rng_seed(&rng, 1);
	for (size_t j = 0; j < n; j++)
		w[j] = (tsf_real) (tsf_rng_uniform(&rng) - 0.5) * (tsf_real) 0.1;
	for (int k = 0; k < G; k++)
		x[k] = y[k] = (tsf_real) 0.01;
	for (size_t j = 0; j < (size_t) T * G; j++)
		da[j] = (tsf_real) (tsf_rng_uniform(&rng) - 0.5) * (tsf_real) 1e-3;
	for (size_t j = 0; j < (size_t) T * H; j++)
		hs[j] = (tsf_real) (tsf_rng_uniform(&rng) - 0.5);

	/* forward: W_hh (4H, H) as W_hh^T (H, 4H) in panels; backward: W_hh */
	tsf_pack_panels(pf, w, H, G, 1, NULL);
	tsf_pack_panels(pb, w, G, H, 0, NULL);
	fwd = time_mv(y, x, pf, G, H, T, reps);
	bwd = time_mv(y, x, pb, H, G, T, reps);
	/* w is done with: the gradient's accumulator */
	tn = time_tn(w, da, hs, G, H, T, reps);
	printf("{\"H\": %d, \"T\": %d, \"dtype\": \"%s\", \"us_per_step_forward\": %.3f, "
		   "\"us_per_step_backward\": %.3f, \"gb_per_s\": %.1f, \"ms_per_epoch_floor\": %.4f, "
		   "\"grad_macs_per_epoch\": %.0f, \"ms_grad_this_core\": %.4f}\n",
		   H, T, sizeof(tsf_real) == 4 ? "float32" : "float64", fwd * 1e6, bwd * 1e6,
		   2 * bytes / (fwd + bwd) / 1e9, (fwd + bwd) * T * 1e3,
		   (double) n * (T - 1), tn * 1e3);
	free(w), free(pf), free(pb), free(x), free(y), free(da), free(hs);
	return 0;
}

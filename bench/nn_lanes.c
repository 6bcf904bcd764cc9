/*
 * nn_lanes.c
 *		Issue 13, point 2: 16 series' networks trained in one pass with
 *		the series in the vector lanes (src/nn/lanes.c) against the core
 *		one series after another (tsf_nn_train_epoch).  No server.
 *
 *	gcc -std=gnu11 -O2 -fno-wrapv -ffp-contract=off -fno-math-errno -DTSF_NN_FLOAT \
 *		-Isrc -o nn_lanes bench/nn_lanes.c src/nn/[a-z]*.c -lm
 *	./nn_lanes H [T [EPOCHS [REPS [LANES_ONLY [VAL]]]]]
 *
 * lstm_train's default network (3 inputs -> causal conv K 3, C 4 -> LSTM H
 * -> dropout 0.5 -> linear), Adam lr 0.01, MSE, the last VAL of each
 * series for validation (default 0.2; 0: none, lstm_train's default, and
 * what bench/lstm_batch_torch.py times), 16 series of T steps (synthetic,
 * each its own, each network its own seed).  Both ways train the 16 networks from the
 * same start for EPOCHS epochs; the best of REPS such runs, in the
 * thread's CPU time (the machine may be shared).  The program then checks
 * that every parameter, Adam moment and loss of the lanes is the
 * one-at-a-time value bit for bit, and exits 1 if not.
 *
 * Prints one JSON line: ms per series-epoch both ways and the ratio of
 * series per second, lanes over one at a time (issue 13's target at
 * H = 40: at least 1.5).  LANES_ONLY = 1 skips the one-at-a-time runs and
 * the check (for a profiler).
 */
#include "nn/nn.h"
#include "bench_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S TSF_NN_LANES

typedef struct net
{
	tsf_nn		nn;
	tsf_real   *params, *grads, *m, *v;
	tsf_rng		rng;
	double		tl, vl;
} net;

static void
start(net *n, const tsf_nn_config *cfg, int s)
{
	tsf_nn_init_params(cfg, n->params, 1000 + s);
	tsf_nn_reset_optimizer(&n->nn);
	tsf_rng_seed(&n->rng, 7 + s);
}

int
main(int argc, char **argv)
{
	int			H = argc > 1 ? atoi(argv[1]) : 40;
	int			T = argc > 2 ? atoi(argv[2]) : 500;
	int			E = argc > 3 ? atoi(argv[3]) : 10;
	int			reps = argc > 4 ? atoi(argv[4]) : 3;
	int			lanes_only = argc > 5 ? atoi(argv[5]) : 0;
	double		val = argc > 6 ? atof(argv[6]) : 0.2;
	tsf_nn_config cfg = {.n_in = 3,.conv_kernel = 3,.conv_channels = 4,
	.hidden = H,.layers = 1,.dropout = 0.5};
	tsf_nn_train_opts opts = {.adam = {0.01, 0.9, 0.999, 1e-8},
	.loss_start = 0,.val_start = val > 0 ? T - (int) (val * T + 0.5) : 0};
	size_t		P = tsf_nn_param_count(&cfg);
	size_t		wbytes = tsf_nn_workspace_bytes(&cfg, T);
	size_t		lbytes = tsf_nn_lanes_workspace_bytes(&cfg, T);
	net			one[S],
				lane[S];
	tsf_nn	   *lnets[S];
	tsf_rng    *lrng[S];
	tsf_real   *x[S],
			   *y[S];
	tsf_nn_lanes ln;
	void	   *lwork = must(aligned_alloc(64, (lbytes + 63) / 64 * 64));
	double		best_one = 1e30,
				best_lanes = 1e30;
	double		ltl[S],
				lvl[S];
	int			ok = 1;

	for (int s = 0; s < S; s++)
	{
		x[s] = must(malloc(sizeof(tsf_real) * (size_t) T * 3));
		y[s] = must(malloc(sizeof(tsf_real) * (size_t) T));
		for (int t = 0; t < T; t++)
		{
			double		u = sin(0.12 * t * (1 + 0.05 * s)) + 0.3 * cos(0.031 * t + s);

			x[s][t * 3] = (tsf_real) u;
			x[s][t * 3 + 1] = (tsf_real) sin(2 * M_PI * t / 52.0);
			x[s][t * 3 + 2] = (tsf_real) cos(2 * M_PI * t / 52.0);
			y[s][t] = (tsf_real) (0.8 * u + 0.1 * sin(0.5 * t + s));
		}
		for (int k = 0; k < 2; k++)
		{
			net		   *n = k == 0 ? &one[s] : &lane[s];

			n->params = must(malloc(sizeof(tsf_real) * P));
			n->grads = must(malloc(sizeof(tsf_real) * P));
			n->m = must(malloc(sizeof(tsf_real) * P));
			n->v = must(malloc(sizeof(tsf_real) * P));
			if (tsf_nn_bind(&n->nn, &cfg, n->params, n->grads, n->m, n->v,
							must(aligned_alloc(64, (wbytes + 63) / 64 * 64)),
							wbytes, T) != TSF_NN_OK)
				return 2;
		}
		lnets[s] = &lane[s].nn;
		lrng[s] = &lane[s].rng;
	}
	if (tsf_nn_lanes_bind(&ln, &cfg, lwork, lbytes, T) != TSF_NN_OK)
		return 2;

	for (int rep = 0; rep < reps; rep++)
	{
		double		t0;

		if (!lanes_only)
		{
			for (int s = 0; s < S; s++)
				start(&one[s], &cfg, s);
			t0 = cpu_now();
			for (int s = 0; s < S; s++)
				for (int e = 0; e < E; e++)
					if (tsf_nn_train_epoch(&one[s].nn, x[s], y[s], T, &opts,
										   &one[s].rng, &one[s].tl, &one[s].vl) != TSF_NN_OK)
						return 2;
			t0 = cpu_now() - t0;
			if (t0 < best_one)
				best_one = t0;
		}
		for (int s = 0; s < S; s++)
			start(&lane[s], &cfg, s);
		t0 = cpu_now();
		if (tsf_nn_lanes_load(&ln, lnets) != TSF_NN_OK ||
			tsf_nn_lanes_set_data(&ln, (const tsf_real *const *) x,
								  (const tsf_real *const *) y, T) != TSF_NN_OK)
			return 2;
		for (int e = 0; e < E; e++)
			if (tsf_nn_lanes_train_epoch(&ln, &opts, lrng, ltl, lvl) != TSF_NN_OK)
				return 2;
		tsf_nn_lanes_store(&ln, lnets);
		t0 = cpu_now() - t0;
		if (t0 < best_lanes)
			best_lanes = t0;
	}

	for (int s = 0; s < S && ok && !lanes_only; s++)
	{
		if (memcmp(one[s].params, lane[s].params, sizeof(tsf_real) * P) != 0 ||
			memcmp(one[s].m, lane[s].m, sizeof(tsf_real) * P) != 0 ||
			memcmp(one[s].v, lane[s].v, sizeof(tsf_real) * P) != 0 ||
			memcmp(&one[s].rng, &lane[s].rng, sizeof(tsf_rng)) != 0 ||
			one[s].tl != ltl[s] ||
			(one[s].vl != lvl[s] && !(isnan(one[s].vl) && isnan(lvl[s]))) ||
			one[s].nn.step != lane[s].nn.step)
		{
			fprintf(stderr, "series %d: the lanes' network differs from the one trained alone\n", s);
			ok = 0;
		}
	}
	printf("{\"H\": %d, \"T\": %d, \"validation\": %g, \"series\": %d, \"epochs\": %d, \"ms_per_series_epoch_one_at_a_time\": %.4f, "
		   "\"ms_per_series_epoch_lanes\": %.4f, \"lanes_over_one_at_a_time\": %.3f, \"same_bits\": %s}\n",
		   H, T, val, S, E, best_one * 1e3 / (S * E), best_lanes * 1e3 / (S * E),
		   best_one / best_lanes, ok ? "true" : "false");
	return ok ? 0 : 1;
}

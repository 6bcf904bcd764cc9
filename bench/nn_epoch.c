/*
 * nn_epoch.c
 *		Time one training epoch of the network core (src/nn) alone, no
 *		server: the seed's network on a series of T steps, full batch.
 *
 *	gcc -std=gnu11 -O2 -fno-wrapv -ffp-contract=off -fno-math-errno [-DTSF_NN_FLOAT] \
 *		-Isrc -o nn_epoch bench/nn_epoch.c src/nn/[a-z]*.c -lm
 *	./nn_epoch H [EPOCHS [T [POLL]]]
 *
 * Network: 3 inputs -> causal conv (K 3, C 4) -> LSTM (H) -> dropout 0.5 ->
 * linear, Adam (lr 0.01), MSE over all T steps (default 1649, the weekly
 * Verde River series), on a smooth synthetic series (the time per epoch
 * does not depend on the values).  Prints one JSON line: the mean and the
 * best seconds per epoch over EPOCHS epochs after one warm-up epoch, the
 * core's precision, and a hash of the final parameters, which must not
 * change when only the speed of the core does (bench/lstm_speed.sh and the
 * kernels' "same bits on every instruction set" rule, src/nn/kernels.c).
 * With POLL = 1 the network polls for a cancel as the extension's does
 * (nn.h, tsf_nn_poll): a function that reads a volatile flag, never set,
 * so the difference with POLL = 0 is the cost of polling and chunking, and
 * the hash must not change.
 */
#include "nn/nn.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* set by nothing: stands for PostgreSQL's InterruptPending */
static volatile sig_atomic_t interrupt_pending = 0;

/* the poll of the glue: an interrupt is pending */
static int
poll_interrupts(void *arg)
{
	(void) arg;
	return interrupt_pending != 0;
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

int
main(int argc, char **argv)
{
	int			H = argc > 1 ? atoi(argv[1]) : 40;
	int			E = argc > 2 ? atoi(argv[2]) : 20;
	int			T = argc > 3 ? atoi(argv[3]) : 1649;
	int			poll = argc > 4 ? atoi(argv[4]) : 0;
	tsf_nn_config cfg = {.n_in = 3,.conv_kernel = 3,.conv_channels = 4,
	.hidden = H,.layers = 1,.dropout = 0.5};
	size_t		P,
				wb;
	tsf_real   *p,
			   *g,
			   *m,
			   *v,
			   *x,
			   *y;
	void	   *work;
	tsf_nn		nn;
	tsf_rng		rng;
	tsf_nn_train_opts o = {.adam = {0.01, 0.9, 0.999, 1e-8},.loss_start = 0,.val_start = 0};
	double		tl,
				vl,
				best = 1e30,
				t0,
				total;
	unsigned long long hash = 1469598103934665603ULL;

	if (H < 1 || E < 1 || T < 2 || tsf_nn_config_check(&cfg) != TSF_NN_OK)
	{
		fprintf(stderr, "usage: nn_epoch H [EPOCHS [T [POLL]]]\n");
		return 2;
	}
	P = tsf_nn_param_count(&cfg);
	wb = tsf_nn_workspace_bytes(&cfg, T);
	p = calloc(P, sizeof(tsf_real));
	g = calloc(P, sizeof(tsf_real));
	m = calloc(P, sizeof(tsf_real));
	v = calloc(P, sizeof(tsf_real));
	x = malloc(sizeof(tsf_real) * 3 * T);
	y = malloc(sizeof(tsf_real) * T);
	work = aligned_alloc(64, (wb + 63) / 64 * 64);
	if (!p || !g || !m || !v || !x || !y || !work)
	{
		fprintf(stderr, "out of memory\n");
		return 2;
	}
	for (int t = 0; t < T; t++)
	{
		x[3 * t] = (tsf_real) (0.5 + 0.4 * sin(t * 0.1));
		x[3 * t + 1] = (tsf_real) (0.5 + 0.5 * sin(t * 0.12));
		x[3 * t + 2] = (tsf_real) (0.5 + 0.5 * cos(t * 0.12));
		y[t] = (tsf_real) (0.1 * sin(t * 0.1 + 0.1));
	}
	tsf_nn_bind(&nn, &cfg, p, g, m, v, work, wb, T);
	if (poll)
		nn.poll.fn = poll_interrupts;
	tsf_nn_init_params(&cfg, p, 42);
	tsf_nn_reset_optimizer(&nn);
	tsf_rng_seed(&rng, 1);

	tsf_nn_train_epoch(&nn, x, y, T, &o, &rng, &tl, &vl);	/* warm-up */
	t0 = now();
	for (int e = 0; e < E; e++)
	{
		double		a = now();

		tsf_nn_train_epoch(&nn, x, y, T, &o, &rng, &tl, &vl);
		if (now() - a < best)
			best = now() - a;
	}
	total = now() - t0;
	for (size_t i = 0; i < P * sizeof(tsf_real); i++)
	{
		hash ^= ((unsigned char *) p)[i];
		hash *= 1099511628211ULL;
	}
	printf("{\"impl\": \"core\", \"dtype\": \"%s\", \"H\": %d, \"T\": %d, \"epochs\": %d, "
		   "\"poll\": %d, \"macs\": %llu, "
		   "\"s_per_epoch\": %.6g, \"best_s_per_epoch\": %.6g, \"loss\": %.10g, "
		   "\"params_hash\": \"%016llx\"}\n",
		   sizeof(tsf_real) == 4 ? "float32" : "float64", H, T, E, poll,
		   (unsigned long long) nn.poll.macs, total / E, best, tl, hash);
	free(p), free(g), free(m), free(v), free(x), free(y), free(work);
	return 0;
}

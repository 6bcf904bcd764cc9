/*
 * cuda_bench.c
 *		Seconds per training epoch of B series' networks at once: the CUDA
 *		module (src/cuda/tsf_cuda.h, dlopen()ed by path, as the extension
 *		does) against the C core (src/nn) on the host's CPU, one core and
 *		all cores.  No server.  A benchmark, not a test.
 *
 *	cc -std=gnu11 -O2 -fno-wrapv -ffp-contract=off -fno-math-errno -DTSF_NN_FLOAT -Isrc \
 *		-o cuda_bench bench/cuda_bench.c src/nn/[a-z]*.c -ldl -lpthread -lm
 *	./cuda_bench [options] MODULE B T H
 *	  MODULE   path of tsforecast_cuda.so (or tsforecast_cuda_emu.so); "-"
 *	           for none (the CPU measurements only)
 *	  -e N     timed epochs of the module (default 20)
 *	  -w N     warm-up epochs of the module, a call of its own (default 2)
 *	  -s N     series timed on one core, scaled up to B (default 50)
 *	  -c N     timed epochs per series on one core (default 3)
 *	  -k N     timed epochs per series on all cores (default: -c)
 *	  -j N     threads for "all cores" (default: online CPUs; 0 = skip)
 *	  -a N     series timed on all cores, scaled up to B (default B)
 *	  -d FILE  the weekly Verde River CSV (default
 *	           test/fixtures/verde_weekly.csv = ../shared/data/verde_weekly.csv)
 *
 * The network is the seed's, as lstm_train's defaults set it but for the
 * weight averaging: 3 inputs -> causal conv (K 3, C 4) -> LSTM (H, 1 layer)
 * -> dropout 0.5 -> linear; Adam lr 0.01 (0.9, 0.999, 1e-8), MSE over all
 * T steps; ema 0 (off), no validation part, no patience; float32.
 *
 * The data: series b is T + 1 consecutive weeks of the weekly Verde River
 * flow, from week (37 b) mod (1650 - T - 1), times 0.5 + (b mod 10) / 10
 * (the windows of bench/jobs_bench.sh); log flow, min-max scaled over the
 * window; inputs at step k = 1..T are [scaled log flow of week k-1,
 * 0.5 + 0.5 sin 2πs, 0.5 + 0.5 cos 2πs] with s the phase of week k in a
 * year of 365.25 days counted from 2000-01-01 (src/lstm_model.c's rows),
 * the target the scaled log flow of week k (lstm_train's "residual" output
 * is left out: it changes no timing).  Each series has its own initial
 * parameters (tsf_nn_init_params, seed 1000 + b) and dropout stream
 * (tsf_rng_seed(1000 + b ^ 0x5EED)).
 *
 * Measurements, each one JSON line on stdout:
 *	module		a warm-up call of -w epochs (creating the CUDA context and
 *				whatever the module sets up: its time is printed apart),
 *				then api->train calls of 2E and E epochs (E = -e) from the
 *				initial parameters: ms_per_epoch is their difference over
 *				E, the steady cost of an epoch without the call's fixed
 *				costs (ms_per_epoch_whole_call includes them)
 *	cpu_1core	tsf_nn_train_epoch over the first -s series, -c epochs each
 *				after one untimed epoch, one thread; time per series-epoch
 *				times B (extrapolated, and labelled so)
 *	cpu_all		the same on -j threads over the first -a series (default
 *				all B), each thread its own network; wall time, scaled to B
 *				when -a < B
 *	check		the module's last-epoch training loss against the CPU's
 *				for the series timed on one core when -e equals -c (run
 *				with equal epochs to compare; float32 rounding only)
 *	summary		ms per epoch of each and the ratios
 */
#include "nn/nn.h"
#include "cuda/tsf_cuda.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_WEEKS 4000
#define DROPOUT_XOR 0x5EEDULL

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *
xmalloc(size_t n)
{
	void	   *p = aligned_alloc(64, (n + 63) / 64 * 64);

	if (!p)
	{
		fprintf(stderr, "cuda_bench: out of memory (%zu bytes)\n", n);
		exit(2);
	}
	return p;
}

/* days from 1970-01-01 of a proleptic Gregorian date */
static long
days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	long		era = (y >= 0 ? y : y - 399) / 400;
	long		yoe = y - era * 400;
	long		doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long		doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

/* the weekly CSV: week_start,flow_cfs with a header */
static int
load_weeks(const char *path, long *day, double *flow)
{
	FILE	   *f = fopen(path, "r");
	char		line[256];
	int			n = 0;

	if (!f)
	{
		fprintf(stderr, "cuda_bench: cannot open %s: %s\n", path, strerror(errno));
		exit(2);
	}
	while (fgets(line, sizeof line, f) && n < MAX_WEEKS)
	{
		int			y,
					m,
					d;
		double		v;

		if (sscanf(line, "%d-%d-%d,%lf", &y, &m, &d, &v) != 4)
			continue;			/* the header */
		if (!(v > 0))
		{
			fprintf(stderr, "cuda_bench: %s: flow must be positive (line %d)\n", path, n + 2);
			exit(2);
		}
		day[n] = days_from_civil(y, m, d);
		flow[n] = v;
		n++;
	}
	fclose(f);
	return n;
}

/* series b: (T, 3) inputs and (T) targets, float32 */
static void
make_series(int b, int T, int n_weeks, const long *day, const double *flow,
			tsf_real *x, tsf_real *y)
{
	int			start = (int) ((37L * b) % (n_weeks - T - 1));
	double		mult = 0.5 + (b % 10) / 10.0;
	double		lo = INFINITY,
				hi = -INFINITY,
				range;
	double		period = 365.25 / 7.0;
	long		epoch = days_from_civil(2000, 1, 1);

	for (int k = 0; k <= T; k++)
	{
		double		v = log(flow[start + k] * mult);

		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	range = hi > lo ? hi - lo : 1.0;
	for (int k = 1; k <= T; k++)
	{
		double		s = (day[start + k] - epoch) / 7.0 / period;
		double		a;

		s -= floor(s);
		a = 2.0 * M_PI * s;
		x[3 * (k - 1)] = (tsf_real) ((log(flow[start + k - 1] * mult) - lo) / range);
		x[3 * (k - 1) + 1] = (tsf_real) (0.5 + 0.5 * sin(a));
		x[3 * (k - 1) + 2] = (tsf_real) (0.5 + 0.5 * cos(a));
		y[k - 1] = (tsf_real) ((log(flow[start + k] * mult) - lo) / range);
	}
}

static tsf_nn_config cfg;
static size_t P;
static int	B,
			T;
static const tsf_real *X,
		   *Y;
static const tsf_nn_train_opts OPTS = {.adam = {0.01, 0.9, 0.999, 1e-8},.loss_start = 0,.val_start = 0};

/* a network of one thread, trained on series after series */
typedef struct cpu_job
{
	int			first,
				stride,
				last;			/* series first, first + stride, ... < last */
	int			epochs;
	int			warm;			/* an untimed epoch per series first */
	double		seconds;		/* timed epochs only */
	double	   *loss;			/* (B) last training loss, or NULL */
	int			failed;
} cpu_job;

static void *
cpu_train(void *arg)
{
	cpu_job    *j = arg;
	size_t		wb = tsf_nn_workspace_bytes(&cfg, T);
	tsf_real   *p = xmalloc(4 * P * sizeof(tsf_real));
	void	   *work = xmalloc(wb);
	tsf_nn		nn;
	tsf_rng		rng;
	double		tl,
				vl;

	if (tsf_nn_bind(&nn, &cfg, p, p + P, p + 2 * P, p + 3 * P, work, wb, T) != TSF_NN_OK)
	{
		j->failed = 1;
		return NULL;
	}
	j->seconds = 0;
	for (int b = j->first; b < j->last; b += j->stride)
	{
		double		t0;

		tsf_nn_init_params(&cfg, p, 1000 + (uint64_t) b);
		tsf_nn_reset_optimizer(&nn);
		tsf_rng_seed(&rng, (1000 + (uint64_t) b) ^ DROPOUT_XOR);
		if (j->warm)
			tsf_nn_train_epoch(&nn, X + (size_t) b * T * 3, Y + (size_t) b * T, T, &OPTS, &rng, &tl, &vl);
		t0 = now();
		for (int e = 0; e < j->epochs; e++)
			if (tsf_nn_train_epoch(&nn, X + (size_t) b * T * 3, Y + (size_t) b * T, T, &OPTS, &rng, &tl, &vl) != TSF_NN_OK)
				j->failed = 1;
		j->seconds += now() - t0;
		if (j->loss)
			j->loss[b] = tl;
	}
	free(p);
	free(work);
	return NULL;
}

/* a number for JSON: null when not measured */
static const char *
jnum(char *buf, double v, int prec)
{
	if (isfinite(v) && prec < 0)
		snprintf(buf, 32, "%.*g", -prec, v);	/* significant digits */
	else if (isfinite(v))
		snprintf(buf, 32, "%.*f", prec, v);
	else
		strcpy(buf, "null");
	return buf;
}

static void
usage(void)
{
	fprintf(stderr, "usage: cuda_bench [-e epochs] [-w warmup] [-s cpu_series] [-c cpu_epochs] "
			"[-k all_core_epochs] [-j threads] [-a all_core_series] [-d weekly.csv] MODULE|- B T H\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	int			E = 20,
				W = 2,
				S = 50,
				CE = 3,
				J = (int) sysconf(_SC_NPROCESSORS_ONLN),
				A = -1,
				K = -1,
				H,
				opt,
				n_weeks;
	const char *data = "test/fixtures/verde_weekly.csv";
	const char *module;
	static long day[MAX_WEEKS];
	static double flow[MAX_WEEKS];
	tsf_real   *x,
			   *y,
			   *params0;
	double		mod_ms = NAN,
				cpu1_ms = NAN,
				cpuall_ms = NAN;
	double	   *cpu_loss;
	char		devname[256] = "";
	int			threads_used = 0;

	while ((opt = getopt(argc, argv, "e:w:s:c:k:j:a:d:")) != -1)
	{
		switch (opt)
		{
			case 'e': E = atoi(optarg); break;
			case 'w': W = atoi(optarg); break;
			case 's': S = atoi(optarg); break;
			case 'c': CE = atoi(optarg); break;
			case 'k': K = atoi(optarg); break;
			case 'j': J = atoi(optarg); break;
			case 'a': A = atoi(optarg); break;
			case 'd': data = optarg; break;
			default: usage();
		}
	}
	if (argc - optind != 4)
		usage();
	module = argv[optind];
	B = atoi(argv[optind + 1]);
	T = atoi(argv[optind + 2]);
	H = atoi(argv[optind + 3]);
	cfg = (tsf_nn_config) {.n_in = 3,.conv_kernel = 3,.conv_channels = 4,.hidden = H,.layers = 1,.dropout = 0.5};
	if (B < 1 || T < 2 || E < 1 || W < 0 || S < 0 || CE < 1 || J < 0 || tsf_nn_config_check(&cfg) != TSF_NN_OK)
		usage();
	if (K < 1)
		K = CE;
	if (S > B)
		S = B;
	if (A < 0 || A > B)
		A = B;
	n_weeks = load_weeks(data, day, flow);
	if (T + 2 > n_weeks)
	{
		fprintf(stderr, "cuda_bench: T = %d needs at most %d (the file has %d weeks)\n", T, n_weeks - 2, n_weeks);
		return 2;
	}
	if (sizeof(tsf_real) != sizeof(float))
	{
		fprintf(stderr, "cuda_bench: build the core in float32 (-DTSF_NN_FLOAT)\n");
		return 2;
	}
	P = tsf_nn_param_count(&cfg);
	x = xmalloc((size_t) B * T * 3 * sizeof(tsf_real));
	y = xmalloc((size_t) B * T * sizeof(tsf_real));
	params0 = xmalloc((size_t) B * P * sizeof(tsf_real));
	cpu_loss = xmalloc(2 * (size_t) B * sizeof(double));	/* CPU's, module's */
	for (int b = 0; b < B; b++)
	{
		make_series(b, T, n_weeks, day, flow, x + (size_t) b * T * 3, y + (size_t) b * T);
		tsf_nn_init_params(&cfg, params0 + (size_t) b * P, 1000 + (uint64_t) b);
		cpu_loss[b] = cpu_loss[B + b] = NAN;
	}
	X = x;
	Y = y;
	fprintf(stderr, "cuda_bench: B %d, T %d, H %d, %zu parameters per series, %d weeks of data from %s\n",
			B, T, H, P, n_weeks, data);

	/* ---- the module ---- */
	if (strcmp(module, "-") != 0)
	{
		void	   *dl = dlopen(module, RTLD_NOW | RTLD_LOCAL);
		const tsfc_api *(*get) (void);
		const tsfc_api *api;
		char		err[1024] = "";
		int			*Tv = xmalloc(B * sizeof(int)),
				   *bestv = xmalloc(B * sizeof(int)),
				   *runv = xmalloc(B * sizeof(int));
		double	   *tl = xmalloc(B * sizeof(double)),
				   *vl = xmalloc(B * sizeof(double));
		uint64_t   *rng = xmalloc((size_t) B * 4 * sizeof(uint64_t));
		float	   *params = xmalloc((size_t) B * P * sizeof(float));
		tsfc_train	t;
		int			rc;
		double		t0,
					warm_s = 0,
					run_s,
					run2_s;

		if (!dl)
		{
			printf("{\"impl\": \"module\", \"error\": \"dlopen: %s\"}\n", dlerror());
			return 3;
		}
		get = (const tsfc_api *(*) (void)) dlsym(dl, "tsfc_get_api");
		if (!get || !(api = get()) || api->abi != TSFC_ABI)
		{
			printf("{\"impl\": \"module\", \"error\": \"no tsfc_get_api or ABI %d != %d\"}\n",
				   get && api ? api->abi : -1, TSFC_ABI);
			return 3;
		}
		if (api->device_name(devname, sizeof devname, err, sizeof err) != TSFC_OK)
		{
			printf("{\"impl\": \"module\", \"error\": \"device_name: %s\"}\n", err);
			return 3;
		}
		for (int b = 0; b < B; b++)
		{
			tsf_rng		r;

			Tv[b] = T;
			tsf_rng_seed(&r, (1000 + (uint64_t) b) ^ DROPOUT_XOR);
			memcpy(rng + 4 * (size_t) b, r.s, sizeof r.s);
		}
		memset(&t, 0, sizeof t);
		t.n_in = 3;
		t.conv_kernel = 3;
		t.conv_channels = 4;
		t.hidden = H;
		t.layers = 1;
		t.dropout = 0.5;
		t.lr = 0.01;
		t.beta1 = 0.9;
		t.beta2 = 0.999;
		t.eps = 1e-8;
		t.ema = 0;
		t.patience = 0;
		t.B = B;
		t.T_max = T;
		t.T = Tv;
		t.T_train = Tv;
		t.x = x;
		t.y = y;
		t.params = params;
		t.rng = rng;
		t.train_loss = tl;
		t.val_loss = vl;
		t.best_epoch = bestv;
		t.epochs_run = runv;
		t.loss_curve = NULL;
		t.on_epoch = NULL;

		if (W > 0)
		{
			memcpy(params, params0, (size_t) B * P * sizeof(float));
			t.epochs = W;
			t0 = now();
			rc = api->train(&t, err, sizeof err);
			warm_s = now() - t0;
			if (rc != TSFC_OK)
			{
				printf("{\"impl\": \"module\", \"error\": \"warm-up train: rc %d: %s\"}\n", rc, err);
				return 3;
			}
		}
		/*
		 * 2E epochs, then E: the difference is E epochs without the call's
		 * fixed costs (allocations, copies in and out), the steady cost of
		 * an epoch that PyTorch's per-epoch medians measure too; the E-epoch
		 * call's losses are the ones checked against the CPU
		 */
		memcpy(params, params0, (size_t) B * P * sizeof(float));
		t.epochs = 2 * E;
		t0 = now();
		rc = api->train(&t, err, sizeof err);
		run2_s = now() - t0;
		if (rc != TSFC_OK)
		{
			printf("{\"impl\": \"module\", \"error\": \"train: rc %d: %s\"}\n", rc, err);
			return 3;
		}
		memcpy(params, params0, (size_t) B * P * sizeof(float));
		t.epochs = E;
		t0 = now();
		rc = api->train(&t, err, sizeof err);
		run_s = now() - t0;
		if (rc != TSFC_OK)
		{
			printf("{\"impl\": \"module\", \"error\": \"train: rc %d: %s\"}\n", rc, err);
			return 3;
		}
		mod_ms = (run2_s - run_s) / E * 1e3;
		{
			double		mean = 0;

			for (int b = 0; b < B; b++)
				mean += tl[b] / B;
			printf("{\"impl\": \"module\", \"module\": \"%s\", \"device\": \"%s\", \"B\": %d, \"T\": %d, \"H\": %d, "
				   "\"epochs\": %d, \"warmup_epochs\": %d, \"warmup_s\": %.4f, \"total_s\": %.4f, "
				   "\"total_2x_s\": %.4f, \"ms_per_epoch_whole_call\": %.4f, "
				   "\"ms_per_epoch\": %.4f, \"us_per_series_epoch\": %.4f, \"mean_train_loss\": %.6g}\n",
				   module, devname, B, T, H, E, W, warm_s, run_s, run2_s, run_s / E * 1e3,
				   mod_ms, mod_ms * 1e3 / B, mean);
			fflush(stdout);
		}
		/* keep the module's losses for the check */
		memcpy(cpu_loss + B, tl, B * sizeof(double));
		dlclose(dl);
	}

	/* ---- the C core, one core, the first S series ---- */
	if (S > 0)
	{
		cpu_job		j = {.first = 0,.stride = 1,.last = S,.epochs = CE,.warm = 1,.loss = cpu_loss};

		cpu_train(&j);
		if (j.failed)
			printf("{\"impl\": \"cpu_1core\", \"error\": \"tsf_nn_train_epoch failed\"}\n");
		cpu1_ms = j.seconds / ((double) S * CE) * B * 1e3;
		printf("{\"impl\": \"cpu_1core\", \"extrapolated\": true, \"series_timed\": %d, \"B\": %d, \"T\": %d, \"H\": %d, "
			   "\"epochs\": %d, \"ms_per_series_epoch\": %.5f, \"ms_per_epoch\": %.3f}\n",
			   S, B, T, H, CE, j.seconds / ((double) S * CE) * 1e3, cpu1_ms);
		fflush(stdout);

		/* same init, same dropout stream, same epochs: the same losses */
		if (!isnan(mod_ms) && E == CE)
		{
			/* the CPU ran a warm-up epoch first: rerun without it for the check */
			cpu_job		c = {.first = 0,.stride = 1,.last = S < 20 ? S : 20,.epochs = CE,.warm = 0,.loss = cpu_loss};
			double		worst = 0;
			int			at = 0;

			cpu_train(&c);
			for (int b = 0; b < c.last; b++)
			{
				double		d = fabs(cpu_loss[B + b] - cpu_loss[b]) / fmax(fabs(cpu_loss[b]), 1e-12);

				if (!(d <= worst))
					worst = d, at = b;
			}
			printf("{\"impl\": \"check\", \"B\": %d, \"T\": %d, \"H\": %d, \"series\": %d, \"epochs\": %d, \"max_rel_diff_train_loss\": %.3g, "
				   "\"at_series\": %d, \"cpu_loss\": %.8g, \"module_loss\": %.8g}\n",
				   B, T, H, c.last, E, worst, at, at >= 0 ? cpu_loss[at] : NAN, at >= 0 ? cpu_loss[B + at] : NAN);
			fflush(stdout);
		}
	}

	/* ---- the C core, J threads, the first A series ---- */
	if (J > 0 && A > 0)
	{
		int			nt = J < A ? J : A;
		pthread_t  *th = xmalloc(nt * sizeof(pthread_t));
		cpu_job    *jobs = xmalloc(nt * sizeof(cpu_job));
		double		t0,
					wall;
		int			failed = 0;

		t0 = now();
		for (int i = 0; i < nt; i++)
		{
			jobs[i] = (cpu_job) {.first = i,.stride = nt,.last = A,.epochs = K,.warm = 0,.loss = NULL};
			if (pthread_create(&th[i], NULL, cpu_train, &jobs[i]) != 0)
			{
				fprintf(stderr, "cuda_bench: pthread_create failed\n");
				return 2;
			}
		}
		for (int i = 0; i < nt; i++)
		{
			pthread_join(th[i], NULL);
			failed |= jobs[i].failed;
		}
		wall = now() - t0;
		threads_used = nt;
		cpuall_ms = wall / K * ((double) B / A) * 1e3;
		printf("{\"impl\": \"cpu_all\", \"threads\": %d, \"series_timed\": %d, \"extrapolated\": %s, \"B\": %d, "
			   "\"T\": %d, \"H\": %d, \"epochs\": %d, \"wall_s\": %.3f, \"ms_per_epoch\": %.3f%s}\n",
			   nt, A, A < B ? "true" : "false", B, T, H, K, wall, cpuall_ms,
			   failed ? ", \"error\": \"tsf_nn_train_epoch failed\"" : "");
		fflush(stdout);
	}

	{
		char		b1[32],
					b2[32],
					b3[32],
					b4[32],
					b5[32];

		printf("{\"impl\": \"summary\", \"device\": \"%s\", \"B\": %d, \"T\": %d, \"H\": %d, "
			   "\"module_ms_per_epoch\": %s, \"cpu_1core_ms_per_epoch_extrapolated\": %s, "
			   "\"cpu_all_ms_per_epoch\": %s, \"cpu_threads\": %d, "
			   "\"speedup_vs_1core\": %s, \"speedup_vs_all_cores\": %s}\n",
			   devname, B, T, H, jnum(b1, mod_ms, 4), jnum(b2, cpu1_ms, 3), jnum(b3, cpuall_ms, 3),
			   threads_used, jnum(b4, cpu1_ms / mod_ms, -4), jnum(b5, cpuall_ms / mod_ms, -4));
	}
	return 0;
}

/*
 * test_nn.c
 *		Unit tests of the network core (src/nn): finite-difference gradient
 *		checks of every layer and of the whole network, parity with PyTorch
 *		from committed fixtures, determinism, and a training smoke test.
 *
 * Build and run from the repository root:
 *
 *	gcc -std=gnu11 -O2 -Wall -Wextra -Werror -Isrc -o /tmp/test_nn
 *		test/unit/test_nn.c src/nn/[a-z]*.c -lm && /tmp/test_nn
 *
 * The fixtures are read from test/fixtures/nn/ (or the directory given as
 * the first argument); test/fixtures/nn/make_nn_fixtures.py writes them.
 * Tolerances depend on the core's scalar type (double by default, float with
 * -DTSF_NN_FLOAT) and are printed with each result.
 */
#include "nn/nn.h"
#include "nn/nn_kernels.h"
#include "unit.h"
#include "nn_fixture.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#ifdef TSF_NN_FLOAT
#define GC_EPS		1e-2		/* finite-difference step */
#define GC_TOL		2e-3		/* gradient check, relative */
#define PAR_TOL		1e-5		/* parity: forward, loss, gradients */
#define ADAM_TOL	1e-5		/* parity: parameters after 5 Adam steps */
#define CELL_TOL	1e-6		/* the cell's exp, sigmoid, tanh vs libm */
#define PRECISION	"float32"
#else
#define GC_EPS		1e-6
#define GC_TOL		1e-6
#define PAR_TOL		1e-12
#define ADAM_TOL	1e-12
#define CELL_TOL	1e-15
#define PRECISION	"float64"
#endif

static const char *fixture_dir = "test/fixtures/nn";

/* ---- helpers ---- */

/* a (n) ~ U(-scale, scale) from rng */
static void
fill_random(tsf_real *a, size_t n, double scale, tsf_rng *rng)
{
	for (size_t j = 0; j < n; j++)
		a[j] = (tsf_real) ((2.0 * tsf_rng_uniform(rng) - 1.0) * scale);
}

/* calloc that fails the test run loudly */
static tsf_real *
alloc_real(size_t n)
{
	tsf_real   *p = calloc(n ? n : 1, sizeof(tsf_real));

	if (!p)
	{
		printf("out of memory\n");
		exit(2);
	}
	return p;
}

/* sum_j r[j] out[j] in double: the scalar the layer checks differentiate */
static double
weighted_sum(const tsf_real *out, const tsf_real *r, size_t n)
{
	double		s = 0.0;

	for (size_t j = 0; j < n; j++)
		s += (double) out[j] * (double) r[j];
	return s;
}

typedef double (*loss_fn) (void *ctx);

/*
 * Compare the analytic gradient (n) of f with respect to x (n) against
 * central differences (f(x + e) - f(x - e)) / 2e, one CHECK per tensor on
 * the largest error relative to max(1, |numeric|).
 */
static void
gradcheck(const char *what, tsf_real *x, const tsf_real *analytic, size_t n,
		  loss_fn f, void *ctx)
{
	double		maxerr = 0.0;

	for (size_t j = 0; j < n; j++)
	{
		tsf_real	save = x[j];
		tsf_real	xp = (tsf_real) (save + GC_EPS);
		tsf_real	xm = (tsf_real) (save - GC_EPS);
		double		lp, lm, num, err;

		x[j] = xp;
		lp = f(ctx);
		x[j] = xm;
		lm = f(ctx);
		x[j] = save;
		num = (lp - lm) / ((double) xp - (double) xm);
		err = fabs(num - (double) analytic[j]) / (fabs(num) > 1.0 ? fabs(num) : 1.0);
		if (err > maxerr)
			maxerr = err;
	}
	printf("  gradcheck %-28s %4zu values, max rel err %.2e (tol %.0e)\n",
		   what, n, maxerr, GC_TOL);
	CHECK(maxerr <= GC_TOL, "gradcheck %s: max rel err %g > %g", what,
		  maxerr, GC_TOL);
}

/* ---- per-layer gradient checks ---- */

typedef struct conv_ctx
{
	int			T, Cin, Cout, K;
	tsf_real   *inp, *w, *b, *out, *r;
} conv_ctx;

static double
conv_loss(void *p)
{
	conv_ctx   *c = p;

	tsf_conv1d_forward(c->out, c->inp, c->w, c->b, c->T, c->Cin, c->Cout, c->K, NULL);
	return weighted_sum(c->out, c->r, (size_t) c->T * c->Cout);
}

static void
test_gradcheck_conv(void)
{
	conv_ctx	c = {.T = 7,.Cin = 3,.Cout = 4,.K = 3};
	size_t		nin = (size_t) c.T * c.Cin,
				nw = (size_t) c.Cout * c.Cin * c.K,
				nout = (size_t) c.T * c.Cout;
	tsf_real   *dinp = alloc_real(nin),
			   *dw = alloc_real(nw),
			   *db = alloc_real(c.Cout);
	tsf_rng		rng;

	tsf_rng_seed(&rng, 1);
	c.inp = alloc_real(nin);
	c.w = alloc_real(nw);
	c.b = alloc_real(c.Cout);
	c.out = alloc_real(nout);
	c.r = alloc_real(nout);
	fill_random(c.inp, nin, 1.0, &rng);
	fill_random(c.w, nw, 0.5, &rng);
	fill_random(c.b, c.Cout, 0.5, &rng);
	fill_random(c.r, nout, 1.0, &rng);

	tsf_conv1d_backward(dinp, dw, db, c.r, c.inp, c.w, c.T, c.Cin, c.Cout, c.K, NULL);
	gradcheck("conv1d d(input)", c.inp, dinp, nin, conv_loss, &c);
	gradcheck("conv1d d(weight)", c.w, dw, nw, conv_loss, &c);
	gradcheck("conv1d d(bias)", c.b, db, c.Cout, conv_loss, &c);

	/* causality: output at t must not depend on inputs after t */
	conv_loss(&c);
	{
		tsf_real	before = c.out[(size_t) 3 * c.Cout];

		c.inp[(size_t) 4 * c.Cin] += 1;
		conv_loss(&c);
		CHECK(c.out[(size_t) 3 * c.Cout] == before, "conv1d is causal");
	}
	free(dinp), free(dw), free(db), free(c.inp), free(c.w), free(c.b);
	free(c.out), free(c.r);
}

/* two stacked LSTM layers: x (T, I) -> h1 (T, H) -> h2 (T, H) */
typedef struct lstm_ctx
{
	int			T, I, H;
	tsf_real   *x, *r;
	tsf_real   *w_ih[2], *w_hh[2], *b_ih[2], *b_hh[2];
	tsf_real   *h[2], *c[2], *tc[2], *gates[2], *wT;
} lstm_ctx;

static double
lstm_loss(void *p)
{
	lstm_ctx   *s = p;

	tsf_lstm_forward(s->h[0], s->c[0], s->tc[0], s->gates[0], s->wT, s->x,
					 s->w_ih[0], s->w_hh[0], s->b_ih[0], s->b_hh[0],
					 s->T, s->I, s->H, NULL);
	tsf_lstm_forward(s->h[1], s->c[1], s->tc[1], s->gates[1], s->wT, s->h[0],
					 s->w_ih[1], s->w_hh[1], s->b_ih[1], s->b_hh[1],
					 s->T, s->H, s->H, NULL);
	return weighted_sum(s->h[1], s->r, (size_t) s->T * s->H);
}

static void
test_gradcheck_lstm(void)
{
	lstm_ctx	s = {.T = 6,.I = 3,.H = 4};
	size_t		G = 4 * (size_t) s.H,
				TH = (size_t) s.T * s.H;
	tsf_real   *dw_ih[2], *dw_hh[2], *db_ih[2], *db_hh[2];
	tsf_real   *dx = alloc_real((size_t) s.T * s.I),
			   *dh1 = alloc_real(TH),
			   *dgates = alloc_real((size_t) s.T * G),
			   *scratch = alloc_real(2 * (size_t) s.H);
	tsf_rng		rng;
	char		name[64];

	tsf_rng_seed(&rng, 2);
	s.x = alloc_real((size_t) s.T * s.I);
	s.r = alloc_real(TH);
	s.wT = alloc_real(tsf_lstm_scratch_count(s.H > s.I ? s.H : s.I, s.H));
	fill_random(s.x, (size_t) s.T * s.I, 1.0, &rng);
	fill_random(s.r, TH, 1.0, &rng);
	for (int l = 0; l < 2; l++)
	{
		size_t		I = l == 0 ? (size_t) s.I : (size_t) s.H;

		s.w_ih[l] = alloc_real(G * I);
		s.w_hh[l] = alloc_real(G * s.H);
		s.b_ih[l] = alloc_real(G);
		s.b_hh[l] = alloc_real(G);
		dw_ih[l] = alloc_real(G * I);
		dw_hh[l] = alloc_real(G * s.H);
		db_ih[l] = alloc_real(G);
		db_hh[l] = alloc_real(G);
		fill_random(s.w_ih[l], G * I, 0.7, &rng);
		fill_random(s.w_hh[l], G * s.H, 0.7, &rng);
		fill_random(s.b_ih[l], G, 0.5, &rng);
		fill_random(s.b_hh[l], G, 0.5, &rng);
		s.h[l] = alloc_real(TH);
		s.c[l] = alloc_real(TH);
		s.tc[l] = alloc_real(TH);
		s.gates[l] = alloc_real((size_t) s.T * G);
	}

	lstm_loss(&s);
	tsf_lstm_backward(dh1, dw_ih[1], dw_hh[1], db_ih[1], db_hh[1], dgates,
					  scratch, s.wT, s.r, s.h[0], s.w_ih[1], s.w_hh[1],
					  s.h[1], s.c[1], s.tc[1], s.gates[1], s.T, s.H, s.H, NULL);
	tsf_lstm_backward(dx, dw_ih[0], dw_hh[0], db_ih[0], db_hh[0], dgates,
					  scratch, s.wT, dh1, s.x, s.w_ih[0], s.w_hh[0],
					  s.h[0], s.c[0], s.tc[0], s.gates[0], s.T, s.I, s.H, NULL);

	gradcheck("lstm(L=2) d(input)", s.x, dx, (size_t) s.T * s.I, lstm_loss, &s);
	for (int l = 0; l < 2; l++)
	{
		size_t		I = l == 0 ? (size_t) s.I : (size_t) s.H;

		snprintf(name, sizeof(name), "lstm d(weight_ih_l%d)", l);
		gradcheck(name, s.w_ih[l], dw_ih[l], G * I, lstm_loss, &s);
		snprintf(name, sizeof(name), "lstm d(weight_hh_l%d)", l);
		gradcheck(name, s.w_hh[l], dw_hh[l], G * s.H, lstm_loss, &s);
		snprintf(name, sizeof(name), "lstm d(bias_ih_l%d)", l);
		gradcheck(name, s.b_ih[l], db_ih[l], G, lstm_loss, &s);
		snprintf(name, sizeof(name), "lstm d(bias_hh_l%d)", l);
		gradcheck(name, s.b_hh[l], db_hh[l], G, lstm_loss, &s);
	}

	for (int l = 0; l < 2; l++)
	{
		free(s.w_ih[l]), free(s.w_hh[l]), free(s.b_ih[l]), free(s.b_hh[l]);
		free(dw_ih[l]), free(dw_hh[l]), free(db_ih[l]), free(db_hh[l]);
		free(s.h[l]), free(s.c[l]), free(s.tc[l]), free(s.gates[l]);
	}
	free(dx), free(dh1), free(dgates), free(scratch), free(s.x), free(s.r);
	free(s.wT);
}

typedef struct drop_ctx
{
	size_t		n;
	tsf_real   *inp, *mask, *out, *r;
} drop_ctx;

static double
drop_loss(void *p)
{
	drop_ctx   *d = p;

	tsf_dropout_forward(d->out, d->inp, d->mask, d->n);
	return weighted_sum(d->out, d->r, d->n);
}

static void
test_gradcheck_dropout(void)
{
	drop_ctx	d = {.n = 40};
	tsf_real   *dinp = alloc_real(d.n);
	tsf_rng		rng;
	size_t		zeros = 0;
	int			scale_ok = 1;

	tsf_rng_seed(&rng, 3);
	d.inp = alloc_real(d.n);
	d.mask = alloc_real(d.n);
	d.out = alloc_real(d.n);
	d.r = alloc_real(d.n);
	fill_random(d.inp, d.n, 1.0, &rng);
	fill_random(d.r, d.n, 1.0, &rng);
	tsf_dropout_mask(d.mask, d.n, 0.4, &rng);	/* fixed from here on */
	for (size_t j = 0; j < d.n; j++)
	{
		zeros += d.mask[j] == 0;
		if (d.mask[j] != 0 && fabs((double) d.mask[j] - 1.0 / 0.6) > 1e-6)
			scale_ok = 0;
	}
	CHECK(zeros > 0 && zeros < d.n, "dropout mask drops some, keeps some");
	CHECK(scale_ok, "dropout keeps with scale 1/(1-p)");

	tsf_dropout_backward(dinp, d.r, d.mask, d.n);
	gradcheck("dropout(fixed mask) d(input)", d.inp, dinp, d.n, drop_loss, &d);
	free(dinp), free(d.inp), free(d.mask), free(d.out), free(d.r);
}

typedef struct linear_ctx
{
	int			T, Cin, Cout;
	tsf_real   *inp, *w, *b, *out, *r;
} linear_ctx;

static double
linear_loss(void *p)
{
	linear_ctx *c = p;

	tsf_linear_forward(c->out, c->inp, c->w, c->b, c->T, c->Cin, c->Cout, NULL);
	return weighted_sum(c->out, c->r, (size_t) c->T * c->Cout);
}

static void
test_gradcheck_linear(void)
{
	linear_ctx	c = {.T = 5,.Cin = 6,.Cout = 2};
	size_t		nin = (size_t) c.T * c.Cin,
				nw = (size_t) c.Cout * c.Cin,
				nout = (size_t) c.T * c.Cout;
	tsf_real   *dinp = alloc_real(nin),
			   *dw = alloc_real(nw),
			   *db = alloc_real(c.Cout);
	tsf_rng		rng;

	tsf_rng_seed(&rng, 4);
	c.inp = alloc_real(nin);
	c.w = alloc_real(nw);
	c.b = alloc_real(c.Cout);
	c.out = alloc_real(nout);
	c.r = alloc_real(nout);
	fill_random(c.inp, nin, 1.0, &rng);
	fill_random(c.w, nw, 0.5, &rng);
	fill_random(c.b, c.Cout, 0.5, &rng);
	fill_random(c.r, nout, 1.0, &rng);

	tsf_linear_backward(dinp, dw, db, c.r, c.inp, c.w, c.T, c.Cin, c.Cout, NULL);
	gradcheck("linear d(input)", c.inp, dinp, nin, linear_loss, &c);
	gradcheck("linear d(weight)", c.w, dw, nw, linear_loss, &c);
	gradcheck("linear d(bias)", c.b, db, c.Cout, linear_loss, &c);
	free(dinp), free(dw), free(db), free(c.inp), free(c.w), free(c.b);
	free(c.out), free(c.r);
}

typedef struct mse_ctx
{
	int			T, t0, t1;
	tsf_real   *pred, *y;
} mse_ctx;

static double
mse_loss(void *p)
{
	mse_ctx    *c = p;

	return tsf_mse_forward(c->pred, c->y, c->t0, c->t1);
}

static void
test_gradcheck_mse(void)
{
	mse_ctx		c = {.T = 9,.t0 = 2,.t1 = 7};
	tsf_real   *dpred = alloc_real(c.T);
	tsf_rng		rng;
	double		want = 0.0;

	tsf_rng_seed(&rng, 5);
	c.pred = alloc_real(c.T);
	c.y = alloc_real(c.T);
	fill_random(c.pred, c.T, 1.0, &rng);
	fill_random(c.y, c.T, 1.0, &rng);
	for (int t = c.t0; t < c.t1; t++)
		want += ((double) c.pred[t] - c.y[t]) * ((double) c.pred[t] - c.y[t]);
	want /= c.t1 - c.t0;
	CHECK_CLOSE(mse_loss(&c), want, 1e-12, "mse over [2, 7)");

	tsf_mse_backward(dpred, c.pred, c.y, c.T, c.t0, c.t1);
	CHECK(dpred[0] == 0 && dpred[1] == 0 && dpred[7] == 0 && dpred[8] == 0,
		  "mse gradient is zero outside [t0, t1)");
	gradcheck("mse[2,7) d(pred)", c.pred, dpred, c.T, mse_loss, &c);
	free(dpred), free(c.pred), free(c.y);
}

/* ---- the whole network ---- */

/* a network with its own buffers, for the tests */
typedef struct test_net
{
	tsf_nn		nn;
	tsf_real   *params, *grads, *m, *v;
	void	   *work;
} test_net;

static void
test_net_make(test_net *t, const tsf_nn_config *cfg, int T_max)
{
	size_t		P = tsf_nn_param_count(cfg);
	size_t		wb = tsf_nn_workspace_bytes(cfg, T_max);
	tsf_nn_error err;

	t->params = alloc_real(P);
	t->grads = alloc_real(P);
	t->m = alloc_real(P);
	t->v = alloc_real(P);
	t->work = malloc(wb);
	if (!t->work)
		exit(2);
	err = tsf_nn_bind(&t->nn, cfg, t->params, t->grads, t->m, t->v,
					  t->work, wb, T_max);
	CHECK(err == TSF_NN_OK, "tsf_nn_bind: %s", tsf_nn_strerror(err));
	tsf_nn_reset_optimizer(&t->nn);
}

static void
test_net_free(test_net *t)
{
	free(t->params), free(t->grads), free(t->m), free(t->v), free(t->work);
}

typedef struct net_ctx
{
	test_net   *net;
	const tsf_real *x, *y;
	int			T, t0, t1;
	tsf_rng		rng0;			/* replayed before each forward: fixed mask */
} net_ctx;

static double
net_loss(void *p)
{
	net_ctx    *c = p;
	tsf_rng		rng = c->rng0;

	tsf_nn_forward(&c->net->nn, c->x, c->T, &rng);
	return tsf_mse_forward(c->net->nn.acts.pred, c->y, c->t0, c->t1);
}

static void
test_gradcheck_network(void)
{
	tsf_nn_config cfg = {.n_in = 3,.conv_kernel = 2,.conv_channels = 3,
	.hidden = 4,.layers = 2,.dropout = 0.3};
	test_net	net;
	net_ctx		c = {.net = &net,.T = 9,.t0 = 1,.t1 = 8};
	tsf_real   *x = alloc_real((size_t) c.T * cfg.n_in),
			   *y = alloc_real(c.T);
	size_t		P = tsf_nn_param_count(&cfg);
	tsf_real   *g;
	tsf_rng		rng;

	test_net_make(&net, &cfg, 12);
	tsf_nn_init_params(&cfg, net.params, 7);
	tsf_rng_seed(&rng, 6);
	fill_random(x, (size_t) c.T * cfg.n_in, 1.0, &rng);
	fill_random(y, c.T, 1.0, &rng);
	c.x = x;
	c.y = y;
	tsf_rng_seed(&c.rng0, 77);

	net_loss(&c);
	CHECK(net.nn.dropout_on, "network forward with an rng applies dropout");
	tsf_nn_backward(&net.nn, y, c.t0, c.t1);
	g = alloc_real(P);
	memcpy(g, net.grads, P * sizeof(tsf_real));
	gradcheck("network end to end (all P)", net.params, g, P, net_loss, &c);
	free(g), free(x), free(y);
	test_net_free(&net);
}

/* ---- PyTorch parity from the fixtures ---- */

/* largest |got - want| / max(1, |want|) over n values */
static double
max_rel_err(const tsf_real *got, const double *want, size_t n)
{
	double		m = 0.0;

	for (size_t j = 0; j < n; j++)
	{
		double		s = fabs(want[j]) > 1.0 ? fabs(want[j]) : 1.0;
		double		e = fabs((double) got[j] - want[j]) / s;

		if (e > m || e != e)
			m = e;
	}
	return m;
}

static void
parity_check(const char *fx_name, const char *what, double err, double tol)
{
	printf("  parity %-10s %-22s max rel err %.2e (tol %.0e)\n",
		   fx_name, what, err, tol);
	CHECK(err <= tol, "parity %s %s: %g > %g", fx_name, what, err, tol);
}

static void
test_parity(const char *name)
{
	fixture		fx;
	tsf_nn_config cfg;
	test_net	net;
	tsf_real   *x, *y;
	size_t		P;
	double		loss;
	double		lerr = 0.0;
	tsf_nn_train_opts opts;

	if (!fixture_load(&fx, fixture_dir, name))
	{
		CHECK(0, "cannot read fixture %s/%s.txt", fixture_dir, name);
		return;
	}
	cfg = (tsf_nn_config) {
		.n_in = fx.n_in,.conv_kernel = fx.kernel,.conv_channels = fx.channels,
			.hidden = fx.hidden,.layers = fx.layers,.dropout = 0.0
	};
	P = tsf_nn_param_count(&cfg);
	CHECK(P == fx.n_params, "parity %s: parameter count %zu, PyTorch %zu",
		  name, P, fx.n_params);
	if (P != fx.n_params)
	{
		fixture_free(&fx);
		return;
	}
	test_net_make(&net, &cfg, fx.T);
	x = alloc_real((size_t) fx.T * fx.n_in);
	y = alloc_real(fx.T);
	for (size_t j = 0; j < (size_t) fx.T * fx.n_in; j++)
		x[j] = (tsf_real) fx.x[j];
	for (int t = 0; t < fx.T; t++)
		y[t] = (tsf_real) fx.y[t];
	for (size_t j = 0; j < P; j++)
		net.params[j] = (tsf_real) fx.params[j];

	/* forward, loss, gradients */
	tsf_nn_forward(&net.nn, x, fx.T, NULL);
	parity_check(name, "forward output", max_rel_err(net.nn.acts.pred, fx.pred, fx.T), PAR_TOL);
	loss = tsf_mse_forward(net.nn.acts.pred, y, fx.t0, fx.t1);
	parity_check(name, "loss", fabs(loss - fx.loss[0]) / fmax(1.0, fabs(fx.loss[0])), PAR_TOL);
	tsf_nn_backward(&net.nn, y, fx.t0, fx.t1);
	parity_check(name, "gradients (all P)", max_rel_err(net.grads, fx.grads, P), PAR_TOL);

	/* Adam, through the per-epoch entry point the SQL glue uses */
	opts = (tsf_nn_train_opts) {
		.adam = {.lr = fx.lr,.beta1 = 0.9,.beta2 = 0.999,.eps = 1e-8},
		.loss_start = fx.t0,.val_start = fx.t1 < fx.T ? fx.t1 : 0
	};
	for (int s = 0; s < fx.steps; s++)
	{
		double		tl,
					vl;
		tsf_nn_error err = tsf_nn_train_epoch(&net.nn, x, y, fx.T, &opts,
											  NULL, &tl, &vl);

		CHECK(err == TSF_NN_OK, "train_epoch: %s", tsf_nn_strerror(err));
		lerr = fmax(lerr, fabs(tl - fx.adam_losses[s]) / fmax(1.0, fabs(fx.adam_losses[s])));
		CHECK((fx.t1 < fx.T) == !isnan(vl), "validation loss iff val_start < T");
	}
	parity_check(name, "losses of 5 Adam steps", lerr, PAR_TOL);
	parity_check(name, "params after 5 Adam", max_rel_err(net.params, fx.params_after, P), ADAM_TOL);

	free(x), free(y);
	test_net_free(&net);
	fixture_free(&fx);
}

/*
 * tsf_lstm_cell's own exp (kernels_isa.h) against libm: sigmoid and tanh of
 * the gates and tanh of the cell, over [-40, 40] and beyond the clamps, to
 * CELL_TOL relative to max(1, |value|); NaN must pass through (it is how a
 * diverged training is caught).
 */
static void
test_cell(void)
{
	const int	H = 1001;
	tsf_real   *a = alloc_real(4 * H),
			   *a0 = alloc_real(4 * H),
			   *cprev = alloc_real(H),
			   *c = alloc_real(H),
			   *tc = alloc_real(H),
			   *h = alloc_real(H);
	double		maxerr = 0.0;

	for (int k = 0; k < H; k++)
	{
		double		u = -40.0 + 80.0 * k / (H - 1);	/* includes 0 */

		a0[k] = (tsf_real) u;
		a0[H + k] = (tsf_real) (u / 3);
		a0[2 * H + k] = (tsf_real) (u / 7);
		a0[3 * H + k] = (tsf_real) (-u);
		cprev[k] = (tsf_real) (u / 11);
	}
	a0[0] = (tsf_real) -1e6;	/* beyond the clamps */
	a0[3 * H] = (tsf_real) 1e6;
	a0[2 * H + 1] = (tsf_real) 1e-9;	/* tanh near 0 */
	memcpy(a, a0, sizeof(tsf_real) * 4 * H);
	tsf_lstm_cell(a, cprev, c, tc, h, H);
	for (int k = 0; k < H; k++)
	{
		double		ig = 1 / (1 + exp(-(double) a0[k])),
					fg = 1 / (1 + exp(-(double) a0[H + k])),
					gg = tanh((double) a0[2 * H + k]),
					og = 1 / (1 + exp(-(double) a0[3 * H + k])),
					cc = fg * cprev[k] + ig * gg,
					want[] = {ig, fg, gg, og, cc, tanh(cc), og * tanh(cc)},
					got[] = {a[k], a[H + k], a[2 * H + k], a[3 * H + k], c[k], tc[k], h[k]};

		for (int q = 0; q < 7; q++)
		{
			double		e = fabs(got[q] - want[q]) / (fabs(want[q]) > 1 ? fabs(want[q]) : 1);

			if (e > maxerr || e != e)
				maxerr = e;
		}
	}
	printf("  lstm cell (own exp) vs libm: %d units, max rel err %.2e (tol %.0e)\n",
		   H, maxerr, CELL_TOL);
	CHECK(maxerr <= CELL_TOL, "lstm cell vs libm: %g > %g", maxerr, CELL_TOL);

	memcpy(a, a0, sizeof(tsf_real) * 4 * H);
	a[5] = (tsf_real) NAN;
	tsf_lstm_cell(a, cprev, c, tc, h, H);
	CHECK(isnan(h[5]) && !isnan(h[4]) && !isnan(h[6]), "lstm cell passes NaN through");
	free(a), free(a0), free(cprev), free(c), free(tc), free(h);
}

/* ---- dense kernels: every instruction set gives the reference's bits ---- */

/*
 * The reference formula of kernels_isa.h for one element: acc plus
 * sum_k x[k] y[k] over K terms (strides sx, sy), in groups of four
 * ((x0 y0 + x1 y1) + x2 y2) + x3 y3, then single terms.
 */
static tsf_real
ref_sum(tsf_real acc, const tsf_real *x, size_t sx, const tsf_real *y,
		size_t sy, int K)
{
	int			k = 0;

	for (; k + 4 <= K; k += 4)
		acc += x[k * sx] * y[k * sy] + x[(k + 1) * sx] * y[(k + 1) * sy] +
			x[(k + 2) * sx] * y[(k + 2) * sy] + x[(k + 3) * sx] * y[(k + 3) * sy];
	for (; k < K; k++)
		acc += x[k * sx] * y[k * sy];
	return acc;
}

/*
 * tsf_mm_nn, tsf_mm_tn and tsf_mv_panel (the versions this CPU runs: SSE2,
 * AVX2 or AVX-512) against the reference formula, bit for bit, on shapes
 * that exercise every edge: partial vectors and register blocks, K not a
 * multiple of 4 or of tsf_mm_tn's time blocks of 64, a narrow C (the
 * transposed path), a partial weight panel.
 */
static void
test_kernels(void)
{
	static const int shapes[][3] = {	/* M, N, K */
		{1, 160, 40}, {3, 37, 11}, {1, 1024, 256}, {7, 4, 133},
		{512, 4, 197}, {160, 40, 130}, {5, 90, 3}, {1, 41, 1}, {9, 256, 64},
		/* dW_hh at H = 256 (K not a multiple of 64), and odd sizes of every block */
		{1024, 256, 130}, {517, 70, 67}, {262, 45, 200},
	};
	tsf_rng		rng;
	int			bad_nn = 0,
				bad_tn = 0,
				bad_mv = 0;

	tsf_rng_seed(&rng, 5);
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
	{
		int			M = shapes[s][0],
					N = shapes[s][1],
					K = shapes[s][2];
		size_t		nmax = (size_t) (M > K ? M : K) * (N > K ? N : K);
		tsf_real   *A = alloc_real(nmax),
				   *B = alloc_real(nmax),
				   *C = alloc_real((size_t) M * N),
				   *C0 = alloc_real((size_t) M * N),
				   *P = alloc_real(tsf_panel_count(K, N));

		fill_random(A, nmax, 1.0, &rng);
		fill_random(B, nmax, 1.0, &rng);
		fill_random(C0, (size_t) M * N, 1.0, &rng);

		/* C (M, N) += A (M, K) B (K, N) */
		memcpy(C, C0, sizeof(tsf_real) * M * N);
		tsf_mm_nn(C, A, B, M, N, K);
		for (int m = 0; m < M; m++)
			for (int j = 0; j < N; j++)
				bad_nn += C[(size_t) m * N + j] !=
					ref_sum(C0[(size_t) m * N + j], A + (size_t) m * K, 1, B + j, N, K);

		/* C (M, N) += A^T B, A (K, M), B (K, N) */
		memcpy(C, C0, sizeof(tsf_real) * M * N);
		tsf_mm_tn(C, A, B, M, N, K);
		for (int m = 0; m < M; m++)
			for (int j = 0; j < N; j++)
				bad_tn += C[(size_t) m * N + j] !=
					ref_sum(C0[(size_t) m * N + j], A + m, M, B + j, N, K);

		/* y (N) += x (K) B (K, N), B packed in panels, as stored and as B^T */
		for (int trans = 0; trans < 2; trans++)
		{
			memcpy(C, C0, sizeof(tsf_real) * N);
			tsf_pack_panels(P, B, K, N, trans, NULL);
			tsf_mv_panel(C, A, P, N, K);
			for (int j = 0; j < N; j++)
				bad_mv += C[j] != (trans ? ref_sum(C0[j], A, 1, B + (size_t) j * K, 1, K)
								   : ref_sum(C0[j], A, 1, B + j, N, K));
		}
		free(A), free(B), free(C), free(C0), free(P);
	}
	printf("  kernels vs the reference order of additions, %zu shapes: "
		   "mm_nn %d, mm_tn %d, mv_panel %d elements differ (want 0)\n",
		   sizeof(shapes) / sizeof(shapes[0]), bad_nn, bad_tn, bad_mv);
	CHECK(bad_nn == 0, "tsf_mm_nn is bit-identical to the reference");
	CHECK(bad_tn == 0, "tsf_mm_tn is bit-identical to the reference");
	CHECK(bad_mv == 0, "tsf_mv_panel is bit-identical to the reference");
}

/*
 * Every buffer of a workspace that starts on a 64-byte line starts on one
 * too (tsf_nn_bind, tsf_nn_lanes_bind): the kernels' vector loads then
 * never straddle two lines.  Until 0.5 the float32 buffers sat half a line
 * apart, and nothing but a profile showed it.  Shapes with odd T, H and C.
 * tsf_nn_acts holds buffer pointers only, so it is read as an array of them.
 */
static void
test_workspace_lines(void)
{
	static const int shapes[][5] = {	/* H, L, K, C, T */
		{40, 1, 3, 4, 500}, {7, 2, 0, 0, 33}, {13, 1, 2, 3, 1}, {64, 2, 3, 5, 1649},
	};
	int			bad = 0,
				checked = 0;

	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
	{
		tsf_nn_config cfg = {.n_in = 3,.conv_kernel = shapes[s][2],
		.conv_channels = shapes[s][3],.hidden = shapes[s][0],.layers = shapes[s][1],.dropout = 0.5};
		int			T = shapes[s][4];
		size_t		P = tsf_nn_param_count(&cfg);
		size_t		wb = tsf_nn_workspace_bytes(&cfg, T);
		size_t		lb = tsf_nn_lanes_workspace_bytes(&cfg, T);
		void	   *work = NULL,
				   *lwork = NULL;
		tsf_real   *params = alloc_real(P);
		tsf_nn		nn;
		tsf_nn_lanes ln;
		tsf_real  **ptrs;
		size_t		n = sizeof(tsf_nn_acts) / sizeof(tsf_real *);

		if (posix_memalign(&work, 64, wb) != 0 || posix_memalign(&lwork, 64, lb) != 0)
			work = lwork = NULL;
		CHECK(work && lwork && tsf_nn_bind(&nn, &cfg, params, NULL, NULL, NULL, work, wb, T) == TSF_NN_OK &&
			  tsf_nn_lanes_bind(&ln, &cfg, lwork, lb, T) == TSF_NN_OK,
			  "a network and its lanes bind to line-aligned workspaces");
		for (int k = 0; k < 2; k++)
		{
			ptrs = (tsf_real **) (k == 0 ? (void *) &nn.acts : (void *) &ln.acts);
			for (size_t j = 0; j < n; j++)
				if (ptrs[j] != NULL)
				{
					bad += ((uintptr_t) ptrs[j]) % 64 != 0;
					checked++;
				}
		}
		bad += ((uintptr_t) ln.params) % 64 != 0 || ((uintptr_t) ln.grads) % 64 != 0 ||
			((uintptr_t) ln.m) % 64 != 0 || ((uintptr_t) ln.v) % 64 != 0 ||
			((uintptr_t) ln.x) % 64 != 0 || ((uintptr_t) ln.y) % 64 != 0;
		checked += 6;
		free(work), free(lwork), free(params);
	}
	printf("  workspace buffers on a 64-byte line: %d of %d off a line (want 0)\n", bad, checked);
	CHECK(bad == 0, "every workspace buffer starts on a 64-byte line");
}

/*
 * The vectorized Adam and sum (tsf_adam_kernel, tsf_add) against their
 * scalar formulas, bit for bit, over lengths with and without a partial
 * vector at the end, and the scalars of a late step (small bias
 * corrections).
 */
static void
test_elementwise_kernels(void)
{
	static const size_t lens[] = {1, 3, 15, 16, 17, 33, 1003};
	tsf_adam	opt = {0.01, 0.9, 0.999, 1e-8};
	tsf_rng		rng;
	int			bad_adam = 0,
				bad_add = 0;

	tsf_rng_seed(&rng, 11);
	for (size_t s = 0; s < sizeof(lens) / sizeof(lens[0]); s++)
	{
		size_t		n = lens[s];
		tsf_real   *p = alloc_real(n),
				   *g = alloc_real(n),
				   *m = alloc_real(n),
				   *v = alloc_real(n),
				   *p0 = alloc_real(n),
				   *m0 = alloc_real(n),
				   *v0 = alloc_real(n);

		fill_random(p, n, 1.0, &rng);
		fill_random(g, n, 1.0, &rng);
		fill_random(m, n, 0.1, &rng);
		fill_random(v, n, 0.1, &rng);
		for (size_t j = 0; j < n; j++)
		{
			v[j] = v[j] * v[j];	/* a second moment is not negative */
			if (j % 5 == 0)
				g[j] = 0;		/* and may be zero */
		}
		memcpy(p0, p, sizeof(tsf_real) * n);
		memcpy(m0, m, sizeof(tsf_real) * n);
		memcpy(v0, v, sizeof(tsf_real) * n);
		for (long t = 1; t <= 300; t += 299)
		{
			tsf_adam_k	k;

			tsf_adam_step(p, g, m, v, n, t, &opt);
			tsf_adam_scalars(&opt, t, &k);
			for (size_t j = 0; j < n; j++)
			{
				m0[j] = m0[j] * k.b1 + k.a1 * g[j];
				v0[j] = v0[j] * k.b2 + k.a2 * g[j] * g[j];
				p0[j] -= k.step_size * m0[j] / (TSF_SQRT(v0[j]) / k.bc2_sqrt + k.eps);
			}
			for (size_t j = 0; j < n; j++)
				bad_adam += p[j] != p0[j] || m[j] != m0[j] || v[j] != v0[j];
		}
		/* y += x, twice */
		memcpy(p0, p, sizeof(tsf_real) * n);
		tsf_add(p, g, n);
		tsf_add(p, m, n);
		for (size_t j = 0; j < n; j++)
			bad_add += p[j] != (p0[j] + g[j]) + m[j];
		free(p), free(g), free(m), free(v), free(p0), free(m0), free(v0);
	}
	printf("  Adam and sums vs their scalar formulas, %zu lengths: %d and %d elements differ (want 0)\n",
		   sizeof(lens) / sizeof(lens[0]), bad_adam, bad_add);
	CHECK(bad_adam == 0, "tsf_adam_step (vectorized) is bit-identical to the scalar formula");
	CHECK(bad_add == 0, "tsf_add is bit-identical to the scalar sum");
}

/* ---- cancellation: polls, chunks, resuming ---- */

/* a poll's category, read off the network when it is called */
enum
{
	POLL_FORWARD,				/* a training forward (nn->T is 0) */
	POLL_BACKWARD,				/* its backward (nn->T is set) */
	POLL_ADAM,					/* between slices of the Adam step */
	POLL_VALIDATION,			/* the validation forward after the step */
	POLL_OTHER,					/* no network given */
	N_POLL_KINDS
};

/*
 * A poll function's state: it records the calls and the most multiply-adds
 * between two of them, and says stop at the calls listed in stop (each
 * counted from the previous stop, within one kind of call unless kind is
 * N_POLL_KINDS).
 */
typedef struct poll_rec
{
	tsf_nn_poll *poll;			/* whose macs count to read */
	const tsf_nn *nn;			/* to classify the calls, or NULL */
	long		calls;
	long		kind_calls[N_POLL_KINDS];
	uint64_t	last_macs;
	uint64_t	max_gap;		/* most multiply-adds between two calls */
	int			nstop;			/* stops left */
	int			stop_kind[8];	/* the kind of call to count, in order */
	long		stop_after[8];	/* stop at the n-th call of that kind */
	long		since;			/* calls of that kind since the last stop */
	int			stopped_kind;	/* the kind of the last call that stopped */
} poll_rec;

static int
poll_kind(const tsf_nn *nn)
{
	if (nn == NULL)
		return POLL_OTHER;
	if (nn->resume == TSF_NN_RESUME_ADAM || nn->adam_next > 0)
		return POLL_ADAM;
	if (nn->resume == TSF_NN_RESUME_VALIDATION)
		return POLL_VALIDATION;
	return nn->T == 0 ? POLL_FORWARD : POLL_BACKWARD;
}

static int
poll_record(void *arg)
{
	poll_rec   *r = arg;
	uint64_t	gap = r->poll->macs - r->last_macs;
	int			kind = poll_kind(r->nn);

	r->calls++;
	r->kind_calls[kind]++;
	if (gap > r->max_gap)
		r->max_gap = gap;
	r->last_macs = r->poll->macs;
	if (r->nstop > 0 && (r->stop_kind[0] == N_POLL_KINDS || r->stop_kind[0] == kind) &&
		++r->since == r->stop_after[0])
	{
		r->nstop--;
		memmove(r->stop_kind, r->stop_kind + 1, sizeof(int) * r->nstop);
		memmove(r->stop_after, r->stop_after + 1, sizeof(long) * r->nstop);
		r->since = 0;
		r->stopped_kind = kind;
		return 1;
	}
	return 0;
}

/* point poll at a recorder (nn for classifying, or NULL) */
static void
poll_rec_init(poll_rec *r, tsf_nn_poll *poll, const tsf_nn *nn)
{
	memset(r, 0, sizeof(*r));
	r->poll = poll;
	r->nn = nn;
	poll->fn = poll_record;
	poll->arg = r;
	poll->macs = 0;
}

/* multiply-adds of the conv over T steps (taps before step 0 skipped) */
static uint64_t
conv_macs(const tsf_nn_config *cfg, int T)
{
	uint64_t	taps = 0;

	for (int t = 0; t < T; t++)
		taps += (uint64_t) (t + 1 < cfg->conv_kernel ? t + 1 : cfg->conv_kernel);
	return taps * cfg->conv_channels * cfg->n_in;
}

/* multiply-adds of tsf_nn_forward over T steps, from the equations */
static uint64_t
forward_macs(const tsf_nn_config *cfg, int T)
{
	uint64_t	H = cfg->hidden,
				G = 4 * H,
				I = cfg->conv_kernel > 0 ? cfg->conv_channels : cfg->n_in,
				s = cfg->conv_kernel > 0 ? conv_macs(cfg, T) : 0;

	for (int l = 0; l < cfg->layers; l++, I = H)
		s += T * G * I + (T - 1) * G * H;	/* W_ih x_t, then W_hh h_{t-1} */
	return s + T * H;			/* linear */
}

/* multiply-adds of tsf_nn_backward over T steps */
static uint64_t
backward_macs(const tsf_nn_config *cfg, int T)
{
	uint64_t	H = cfg->hidden,
				G = 4 * H,
				s = 2 * (uint64_t) T * H;	/* linear: dw and dinp */

	for (int l = 0; l < cfg->layers; l++)
	{
		uint64_t	I = l > 0 ? H : (uint64_t) (cfg->conv_kernel > 0 ? cfg->conv_channels : cfg->n_in);

		s += (T - 1) * H * G;	/* dh_next = W_hh^T da_t, t > 0 */
		s += T * G * I + (T - 1) * G * H;	/* dW_ih, dW_hh */
		if (l > 0 || cfg->conv_kernel > 0)
			s += T * I * G;		/* dx */
	}
	return s + (cfg->conv_kernel > 0 ? conv_macs(cfg, T) : 0);	/* conv dw */
}

/*
 * The chunked products (kernels.c) against the plain ones, bit for bit,
 * with budgets small enough to take every way of cutting: rows, columns
 * of a row over the budget (mm_nn), k in multiples of 64 and rows within
 * one block of 64 (mm_tn, wide and narrow C), groups of panels (mv, as
 * stored and transposed); each counts exactly M N K multiply-adds, no
 * chunk over its budget.  Packing and transposing with a poll too.
 */
static void
test_poll_kernels(void)
{
	static const int shapes[][4] = {	/* M, N, K, budget */
		{300, 37, 11, 500}, {300, 37, 11, 4100}, {5, 200, 30, 1000},
		{3, 130, 61, 61}, {200, 4, 197, 10000}, {512, 4, 197, 4 * 64 * 100},
		{20, 10, 300, 200 * 64 * 2}, {37, 40, 200, 40 * 64 * 5},
		{9, 256, 64, 256 * 64}, {160, 40, 130, 40 * 64 * 4 + 1},
	};
	tsf_rng		rng;
	int			bad = 0,
				bad_count = 0,
				over = 0;
	long		calls = 0;

	tsf_rng_seed(&rng, 55);
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
	{
		int			M = shapes[s][0],
					N = shapes[s][1],
					K = shapes[s][2];
		uint64_t	budget = (uint64_t) shapes[s][3];
		size_t		nmax = (size_t) (M > K ? M : K) * (N > K ? N : K);
		tsf_real   *A = alloc_real(nmax),
				   *B = alloc_real(nmax),
				   *C = alloc_real((size_t) M * N),
				   *C1 = alloc_real((size_t) M * N),
				   *C0 = alloc_real((size_t) M * N),
				   *P = alloc_real(tsf_panel_count(K, N)),
				   *P1 = alloc_real(tsf_panel_count(K, N));
		tsf_nn_poll poll;
		poll_rec	rec;
		uint64_t	floor_mv = (uint64_t) TSF_NN_PANEL * K,
					floor_tn = (uint64_t) 64 * N;

		fill_random(A, nmax, 1.0, &rng);
		fill_random(B, nmax, 1.0, &rng);
		fill_random(C0, (size_t) M * N, 1.0, &rng);

		poll_rec_init(&rec, &poll, NULL);
		memcpy(C, C0, sizeof(tsf_real) * M * N);
		memcpy(C1, C0, sizeof(tsf_real) * M * N);
		tsf_mm_nn(C, A, B, M, N, K);
		tsf_mm_nn_polled(C1, A, B, M, N, K, budget, &poll);
		bad += memcmp(C, C1, sizeof(tsf_real) * M * N) != 0;
		bad_count += poll.macs != (uint64_t) M * N * K;
		over += rec.max_gap > (budget > (uint64_t) K ? budget : (uint64_t) K);
		calls += rec.calls;

		poll_rec_init(&rec, &poll, NULL);
		memcpy(C, C0, sizeof(tsf_real) * M * N);
		memcpy(C1, C0, sizeof(tsf_real) * M * N);
		tsf_mm_tn(C, A, B, M, N, K);
		tsf_mm_tn_polled(C1, A, B, M, N, K, budget, &poll);
		bad += memcmp(C, C1, sizeof(tsf_real) * M * N) != 0;
		bad_count += poll.macs != (uint64_t) M * N * K;
		over += rec.max_gap > (budget > floor_tn ? budget : floor_tn);
		calls += rec.calls;

		for (int trans = 0; trans < 2; trans++)
		{
			poll_rec_init(&rec, &poll, NULL);
			tsf_pack_panels(P, B, K, N, trans, NULL);
			tsf_pack_panels(P1, B, K, N, trans, &poll);
			bad += memcmp(P, P1, sizeof(tsf_real) * tsf_panel_count(K, N)) != 0;
			memcpy(C, C0, sizeof(tsf_real) * N);
			memcpy(C1, C0, sizeof(tsf_real) * N);
			tsf_mv_panel(C, A, P, N, K);
			tsf_mv_panel_polled(C1, A, P, N, K, budget, &poll);
			tsf_poll(&poll, 0);	/* the recurrence's poll after the step */
			bad += memcmp(C, C1, sizeof(tsf_real) * N) != 0;
			bad_count += poll.macs != (uint64_t) N * K;
			over += rec.max_gap > (budget > floor_mv ? budget : floor_mv);
			calls += rec.calls;
		}
		tsf_transpose(C, A, M, K > N ? N : K, NULL);
		tsf_transpose(C1, A, M, K > N ? N : K, &poll);
		bad += memcmp(C, C1, sizeof(tsf_real) * M * (K > N ? N : K)) != 0;
		free(A), free(B), free(C), free(C1), free(C0), free(P), free(P1);
	}
	printf("  chunked products vs plain, %zu shapes and budgets, %ld polls: "
		   "%d differ, %d miscounted, %d chunks over budget (want 0)\n",
		   sizeof(shapes) / sizeof(shapes[0]), calls, bad, bad_count, over);
	CHECK(bad == 0, "chunked products, packing, transposing: same bits");
	CHECK(bad_count == 0, "chunked products count M N K multiply-adds");
	CHECK(over == 0, "no chunk over its budget");
}

/* a network's optimizer state and dropout stream, to compare */
typedef struct net_snap
{
	size_t		P;
	tsf_real   *params, *m, *v;
	long		step;
	tsf_rng		rng;
} net_snap;

static void
snap_take(net_snap *s, const test_net *t, const tsf_rng *rng)
{
	if (s->params == NULL)
	{
		s->params = alloc_real(s->P);
		s->m = alloc_real(s->P);
		s->v = alloc_real(s->P);
	}
	memcpy(s->params, t->params, sizeof(tsf_real) * s->P);
	memcpy(s->m, t->m, sizeof(tsf_real) * s->P);
	memcpy(s->v, t->v, sizeof(tsf_real) * s->P);
	s->step = t->nn.step;
	s->rng = *rng;
}

/* the state of t and rng are those of s, bit for bit */
static int
snap_same(const net_snap *s, const test_net *t, const tsf_rng *rng)
{
	return memcmp(s->params, t->params, sizeof(tsf_real) * s->P) == 0 &&
		memcmp(s->m, t->m, sizeof(tsf_real) * s->P) == 0 &&
		memcmp(s->v, t->v, sizeof(tsf_real) * s->P) == 0 &&
		s->step == t->nn.step && memcmp(&s->rng, rng, sizeof(*rng)) == 0;
}

static void
snap_free(net_snap *s)
{
	free(s->params), free(s->m), free(s->v);
}

/*
 * Train net for epochs epochs from seed as the glue would, repeating every
 * cancelled epoch after checking what the cancel left: in the forward or
 * backward, nothing changed (parameters, moments, step, rng); in the Adam
 * step or the validation pass, the step is taken or under way.  The last
 * epoch's losses go to *tl, *vl; the number of cancels is returned, and
 * *bad counts the cancels that broke those rules.
 */
static int
train_resuming(test_net *net, const tsf_nn_config *cfg, uint64_t seed,
			   const tsf_real *x, const tsf_real *y, int T, int val_start,
			   int epochs, tsf_rng *rng, double *tl, double *vl,
			   const poll_rec *rec, int *bad)
{
	tsf_nn_train_opts opts = {
		.adam = {.lr = 0.01,.beta1 = 0.9,.beta2 = 0.999,.eps = 1e-8},
		.loss_start = 2,.val_start = val_start
	};
	net_snap	s = {.P = tsf_nn_param_count(cfg)};
	int			cancels = 0;
	tsf_nn_error err;

	tsf_nn_init_params(cfg, net->params, seed);
	tsf_nn_reset_optimizer(&net->nn);
	tsf_rng_seed(rng, seed ^ UINT64_C(0x5DEECE66D));
	for (int e = 0; e < epochs; e++)
	{
		snap_take(&s, net, rng);
		while ((err = tsf_nn_train_epoch(&net->nn, x, y, T, &opts, rng, tl, vl))
			   == TSF_NN_CANCELLED)
		{
			int			kind = rec ? rec->stopped_kind : -1;
			int			ok;

			cancels++;
			switch (net->nn.resume)
			{
				case TSF_NN_RESUME_NONE:
					ok = snap_same(&s, net, rng) && net->nn.adam_next == 0 &&
						(kind == POLL_FORWARD || kind == POLL_BACKWARD || kind == -1);
					break;
				case TSF_NN_RESUME_ADAM:
					ok = net->nn.step == s.step + 1 && net->nn.adam_next > 0 &&
						(kind == POLL_ADAM || kind == -1);
					break;
				case TSF_NN_RESUME_VALIDATION:
					ok = net->nn.step == s.step + 1 && net->nn.adam_next == 0 &&
						(kind == POLL_VALIDATION || kind == -1);
					break;
				default:
					ok = 0;
			}
			*bad += !ok;
		}
		*bad += err != TSF_NN_OK || net->nn.resume != TSF_NN_RESUME_NONE;
	}
	snap_free(&s);
	return cancels;
}

/* a poll that never stops, for the overhead-free comparisons */
static int
poll_never(void *arg)
{
	(void) arg;
	return 0;
}

/*
 * A wide network (H 256, 2 layers, conv, T 300, dropout, validation): a
 * poll that never stops trains to the same bits as none, although its
 * products run in chunks; the work between two polls is counted and stays
 * within TSF_NN_POLL_MACS, all the work of the equations is counted (so
 * none escapes the polls), and the polls per epoch are about the steps of
 * the recurrences.  Then cancels in each phase (forward, backward, Adam,
 * validation), each epoch repeated: the same bits again.
 */
static void
test_poll_wide(void)
{
	tsf_nn_config cfg = {.n_in = 3,.conv_kernel = 3,.conv_channels = 16,
	.hidden = 256,.layers = 2,.dropout = 0.5};
	const int	T = 300,
				VS = 250,
				E = 2;
	size_t		P = tsf_nn_param_count(&cfg);
	test_net	a,
				b;
	tsf_real   *x = alloc_real((size_t) T * cfg.n_in),
			   *y = alloc_real(T);
	tsf_rng		rng,
				ra,
				rb;
	double		tla,
				vla,
				tlb,
				vlb;
	poll_rec	rec;
	int			bad = 0,
				cancels;
	uint64_t	want,
				steps,
				polls;

	tsf_rng_seed(&rng, 60);
	fill_random(x, (size_t) T * cfg.n_in, 1.0, &rng);
	fill_random(y, T, 1.0, &rng);
	test_net_make(&a, &cfg, T);
	test_net_make(&b, &cfg, T);

	train_resuming(&a, &cfg, 61, x, y, T, VS, E, &ra, &tla, &vla, NULL, &bad);
	poll_rec_init(&rec, &b.nn.poll, &b.nn);
	train_resuming(&b, &cfg, 61, x, y, T, VS, E, &rb, &tlb, &vlb, &rec, &bad);
	CHECK(bad == 0, "wide training ran through");
	CHECK(memcmp(a.params, b.params, P * sizeof(tsf_real)) == 0 &&
		  memcmp(a.m, b.m, P * sizeof(tsf_real)) == 0 &&
		  memcmp(a.v, b.v, P * sizeof(tsf_real)) == 0 &&
		  memcmp(&ra, &rb, sizeof(ra)) == 0 && tla == tlb && vla == vlb,
		  "wide: a never-stopping poll gives the bits of none");

	want = E * (forward_macs(&cfg, VS) + backward_macs(&cfg, VS) + forward_macs(&cfg, T));
	steps = (uint64_t) E * cfg.layers * (VS + VS + T);
	polls = (uint64_t) rec.calls;
	printf("  wide (H %d, L %d, conv, T %d): %d epochs, %" PRIu64 " multiply-adds counted "
		   "(equations: %" PRIu64 "), at most %" PRIu64 " between two polls (bound %" PRIu64 "); "
		   "%" PRIu64 " polls per epoch for %" PRIu64 " recurrence steps (%ld in Adam)\n",
		   cfg.hidden, cfg.layers, T, E, b.nn.poll.macs, want, rec.max_gap,
		   (uint64_t) TSF_NN_POLL_MACS, polls / E, steps / E, rec.kind_calls[POLL_ADAM] / E);
	CHECK(b.nn.poll.macs == want, "every multiply-add of the equations is counted");
	CHECK(rec.max_gap <= TSF_NN_POLL_MACS, "at most TSF_NN_POLL_MACS between two polls");
	CHECK(polls >= steps && polls <= steps + steps / 4,
		  "polls per epoch about the steps: %" PRIu64 " for %" PRIu64, polls, steps);
	CHECK(rec.kind_calls[POLL_ADAM] == E * (long) ((P - 1) / TSF_NN_POLL_ELEMS),
		  "Adam polls between slices of its %zu parameters", P);

	/* one cancel in each phase of the first epoch, one in the second */
	poll_rec_init(&rec, &b.nn.poll, &b.nn);
	rec.nstop = 5;
	rec.stop_kind[0] = POLL_FORWARD, rec.stop_after[0] = 400;
	rec.stop_kind[1] = POLL_BACKWARD, rec.stop_after[1] = 300;
	rec.stop_kind[2] = POLL_ADAM, rec.stop_after[2] = 2;
	rec.stop_kind[3] = POLL_VALIDATION, rec.stop_after[3] = 450;
	rec.stop_kind[4] = POLL_BACKWARD, rec.stop_after[4] = 10;
	cancels = train_resuming(&b, &cfg, 61, x, y, T, VS, E, &rb, &tlb, &vlb, &rec, &bad);
	printf("  wide: %d cancels (forward, backward, Adam, validation, backward), "
		   "each epoch repeated: %d broke the rules\n", cancels, bad);
	CHECK(cancels == 5 && rec.nstop == 0, "wide: 5 cancels: %d", cancels);
	CHECK(bad == 0, "cancelled epochs changed nothing before their Adam step");
	CHECK(memcmp(a.params, b.params, P * sizeof(tsf_real)) == 0 &&
		  memcmp(a.m, b.m, P * sizeof(tsf_real)) == 0 &&
		  memcmp(a.v, b.v, P * sizeof(tsf_real)) == 0 &&
		  memcmp(&ra, &rb, sizeof(ra)) == 0 && tla == tlb && vla == vlb &&
		  a.nn.step == b.nn.step,
		  "wide: cancelled and repeated epochs give the uninterrupted bits");
	free(x), free(y);
	test_net_free(&a);
	test_net_free(&b);
}

/*
 * A small network (H 8, 2 layers, conv, dropout, validation): with a poll
 * that never stops, the same bits as without; the polls per epoch are the
 * steps and a few; then a cancel at every poll of the second epoch in turn
 * (each run repeats the cancelled epoch), each giving the uninterrupted
 * bits; and forward, backward, Adam, predict and predict_mc stopped at
 * their first poll return TSF_NN_CANCELLED, leave the rng alone and, made
 * again, give the uninterrupted results.
 */
static void
test_poll_cancel(void)
{
	tsf_nn_config cfg = {.n_in = 3,.conv_kernel = 3,.conv_channels = 4,
	.hidden = 8,.layers = 2,.dropout = 0.5};
	const int	T = 40,
				VS = 30,
				E = 3;
	size_t		P = tsf_nn_param_count(&cfg);
	test_net	a,
				b;
	tsf_real   *x = alloc_real((size_t) T * cfg.n_in),
			   *y = alloc_real(T),
			   *p1 = alloc_real(T),
			   *p2 = alloc_real(T);
	tsf_rng		rng,
				ra,
				rb,
				r1,
				r2;
	double		tla,
				vla,
				tlb,
				vlb;
	poll_rec	rec;
	int			bad = 0,
				wrong = 0;
	long		per_epoch,
				first,
				n;
	uint64_t	steps = (uint64_t) cfg.layers * (VS + VS + T);
	tsf_nn_error err;

	tsf_rng_seed(&rng, 70);
	fill_random(x, (size_t) T * cfg.n_in, 1.0, &rng);
	fill_random(y, T, 1.0, &rng);
	test_net_make(&a, &cfg, T);
	test_net_make(&b, &cfg, T);

	train_resuming(&a, &cfg, 71, x, y, T, VS, E, &ra, &tla, &vla, NULL, &bad);
	b.nn.poll.fn = poll_never;
	train_resuming(&b, &cfg, 71, x, y, T, VS, E, &rb, &tlb, &vlb, NULL, &bad);
	CHECK(memcmp(a.params, b.params, P * sizeof(tsf_real)) == 0 &&
		  memcmp(a.m, b.m, P * sizeof(tsf_real)) == 0 &&
		  memcmp(a.v, b.v, P * sizeof(tsf_real)) == 0 &&
		  memcmp(&ra, &rb, sizeof(ra)) == 0 && tla == tlb && vla == vlb,
		  "%d epochs with dropout and validation: a never-stopping poll gives the bits of none", E);

	/* the polls of one epoch, then a cancel at each poll of epoch 2 in turn */
	poll_rec_init(&rec, &b.nn.poll, &b.nn);
	train_resuming(&b, &cfg, 71, x, y, T, VS, E, &rb, &tlb, &vlb, &rec, &bad);
	per_epoch = rec.calls / E;
	printf("  small (H %d, L %d, T %d): %ld polls per epoch for %" PRIu64 " recurrence steps\n",
		   cfg.hidden, cfg.layers, T, per_epoch, steps);
	CHECK(per_epoch >= (long) steps && per_epoch <= (long) steps + 30,
		  "polls per epoch: the steps and a few: %ld", per_epoch);
	first = per_epoch + 1;
	for (long k = first; k < first + per_epoch; k++)
	{
		int			b0 = bad;

		poll_rec_init(&rec, &b.nn.poll, &b.nn);
		rec.nstop = 1;
		rec.stop_kind[0] = N_POLL_KINDS;
		rec.stop_after[0] = k;
		wrong += train_resuming(&b, &cfg, 71, x, y, T, VS, E, &rb, &tlb, &vlb,
								&rec, &bad) != 1;
		wrong += !(memcmp(a.params, b.params, P * sizeof(tsf_real)) == 0 &&
				   memcmp(a.m, b.m, P * sizeof(tsf_real)) == 0 &&
				   memcmp(a.v, b.v, P * sizeof(tsf_real)) == 0 &&
				   memcmp(&ra, &rb, sizeof(ra)) == 0 && tla == tlb && vla == vlb);
		if (bad != b0)
			printf("    cancel at poll %ld broke the rules\n", k);
	}
	printf("  small: a cancel at each of the %ld polls of epoch 2, the epoch repeated: "
		   "%d runs differ, %d cancels broke the rules\n", per_epoch, wrong, bad);
	CHECK(wrong == 0, "cancel at any poll, then repeat: the uninterrupted bits");
	CHECK(bad == 0, "no update from an epoch cancelled before its Adam step");

	/*
	 * The entry points one by one.  A forward with dropout polls n times,
	 * the last two after drawing the mask (its slice, the linear layer):
	 * stopped there, the rng must still be as it was.
	 */
	poll_rec_init(&rec, &b.nn.poll, NULL);
	tsf_rng_seed(&r1, 72);
	r2 = r1;
	tsf_nn_forward(&b.nn, x, T, &r2);
	n = rec.calls;
	r2 = r1;
	rec.nstop = 1, rec.stop_kind[0] = N_POLL_KINDS, rec.stop_after[0] = n - 1;
	err = tsf_nn_forward(&b.nn, x, T, &r1);
	CHECK(err == TSF_NN_CANCELLED && b.nn.T == 0 && memcmp(&r1, &r2, sizeof(r1)) == 0,
		  "forward cancelled after its mask: TSF_NN_CANCELLED, no sequence, rng untouched");
	CHECK(tsf_nn_backward(&b.nn, y, 0, T) == TSF_NN_BAD_LENGTH,
		  "no backward after a cancelled forward");
	CHECK(tsf_nn_forward(&b.nn, x, T, &r1) == TSF_NN_OK, "forward made again");
	CHECK(tsf_nn_forward(&a.nn, x, T, &r2) == TSF_NN_OK &&
		  memcmp(a.nn.acts.pred, b.nn.acts.pred, sizeof(tsf_real) * T) == 0 &&
		  memcmp(&r1, &r2, sizeof(r1)) == 0, "forward made again: the same mask and output");
	rec.nstop = 1, rec.stop_after[0] = 20;
	CHECK(tsf_nn_backward(&b.nn, y, 3, T) == TSF_NN_CANCELLED, "cancelled backward");
	CHECK(tsf_nn_backward(&b.nn, y, 3, T) == TSF_NN_OK &&
		  tsf_nn_backward(&a.nn, y, 3, T) == TSF_NN_OK &&
		  memcmp(a.grads, b.grads, P * sizeof(tsf_real)) == 0,
		  "backward made again: the uninterrupted gradients");
	rec.nstop = 1, rec.stop_after[0] = 1;
	CHECK(tsf_nn_predict(&b.nn, x, T, p1) == TSF_NN_CANCELLED, "cancelled predict");
	CHECK(tsf_nn_predict(&b.nn, x, T, p1) == TSF_NN_OK &&
		  tsf_nn_predict(&a.nn, x, T, p2) == TSF_NN_OK &&
		  memcmp(p1, p2, sizeof(tsf_real) * T) == 0, "predict made again");
	rec.nstop = 1, rec.stop_after[0] = n;
	tsf_rng_seed(&r1, 73);
	r2 = r1;
	CHECK(tsf_nn_predict_mc(&b.nn, x, T, &r1, p1) == TSF_NN_CANCELLED &&
		  memcmp(&r1, &r2, sizeof(r1)) == 0, "cancelled predict_mc: rng untouched");
	CHECK(tsf_nn_predict_mc(&b.nn, x, T, &r1, p1) == TSF_NN_OK &&
		  tsf_nn_predict_mc(&a.nn, x, T, &r2, p2) == TSF_NN_OK &&
		  memcmp(p1, p2, sizeof(tsf_real) * T) == 0, "predict_mc made again: the same sample");
	rec.nstop = 1, rec.stop_after[0] = 1;
	{
		tsf_nn_train_opts opts = {.adam = {0.01, 0.9, 0.999, 1e-8},.val_start = VS};

		err = tsf_nn_train_epoch(&b.nn, x, y, T, &opts, &r1, &tlb, &vlb);
		CHECK(err == TSF_NN_CANCELLED && b.nn.resume == TSF_NN_RESUME_NONE &&
			  memcmp(a.params, b.params, P * sizeof(tsf_real)) == 0,
			  "cancelled train_epoch: TSF_NN_CANCELLED, parameters untouched");
		CHECK(strcmp(tsf_nn_strerror(TSF_NN_CANCELLED), "cancelled") == 0,
			  "tsf_nn_strerror(TSF_NN_CANCELLED)");
		tsf_nn_reset_optimizer(&b.nn);
	}
	free(x), free(y), free(p1), free(p2);
	test_net_free(&a);
	test_net_free(&b);
}

/*
 * Adam in slices: a block over TSF_NN_POLL_ELEMS parameters polls between
 * slices; a cancelled step takes one step count, and the next call
 * finishes it (not a new one) with the bits of one uninterrupted step.
 */
static void
test_poll_adam(void)
{
	tsf_nn_config cfg = {.n_in = 3,.conv_kernel = 0,.conv_channels = 0,
	.hidden = 256,.layers = 3,.dropout = 0};
	size_t		P = tsf_nn_param_count(&cfg);
	test_net	a,
				b;
	tsf_rng		rng;
	tsf_adam	adam = {0.01, 0.9, 0.999, 1e-8};
	poll_rec	rec;
	int			cancels = 0;
	tsf_nn_error err;

	test_net_make(&a, &cfg, 1);
	test_net_make(&b, &cfg, 1);
	tsf_rng_seed(&rng, 80);
	fill_random(a.params, P, 1.0, &rng);
	memcpy(b.params, a.params, sizeof(tsf_real) * P);
	for (int s = 0; s < 3; s++)
	{
		fill_random(a.grads, P, 1.0, &rng);
		memcpy(b.grads, a.grads, sizeof(tsf_real) * P);
		tsf_nn_adam_step(&a.nn, &adam);
		poll_rec_init(&rec, &b.nn.poll, NULL);
		rec.nstop = 1, rec.stop_kind[0] = N_POLL_KINDS, rec.stop_after[0] = 1 + s;
		while ((err = tsf_nn_adam_step(&b.nn, &adam)) == TSF_NN_CANCELLED)
		{
			cancels++;
			CHECK(b.nn.step == a.nn.step &&
				  b.nn.adam_next == (size_t) (1 + s) * TSF_NN_POLL_ELEMS,
				  "cancelled Adam step %d: counted once, done up to %zu", s + 1,
				  b.nn.adam_next);
		}
		CHECK(err == TSF_NN_OK && b.nn.adam_next == 0 &&
			  rec.calls == (long) ((P - 1) / TSF_NN_POLL_ELEMS),
			  "Adam step finished, one poll between slices: %ld", rec.calls);
	}
	printf("  Adam over %zu parameters in slices of %zu: 3 steps, %d cancelled and finished\n",
		   P, (size_t) TSF_NN_POLL_ELEMS, cancels);
	CHECK(cancels == 3 && a.nn.step == 3 && b.nn.step == 3, "3 Adam steps, 3 cancels");
	CHECK(memcmp(a.params, b.params, P * sizeof(tsf_real)) == 0 &&
		  memcmp(a.m, b.m, P * sizeof(tsf_real)) == 0 &&
		  memcmp(a.v, b.v, P * sizeof(tsf_real)) == 0,
		  "cancelled and finished Adam steps: the uninterrupted bits");
	test_net_free(&a);
	test_net_free(&b);
}

/* ---- determinism, API, smoke ---- */

/* train a small network with dropout for a few epochs from a seed */
static void
train_from_seed(test_net *net, const tsf_nn_config *cfg, uint64_t seed,
				const tsf_real *x, const tsf_real *y, int T, int epochs,
				double *last_loss)
{
	tsf_rng		rng;
	tsf_nn_train_opts opts = {
		.adam = {.lr = 0.01,.beta1 = 0.9,.beta2 = 0.999,.eps = 1e-8},
		.loss_start = 0,.val_start = T - 10
	};

	tsf_nn_init_params(cfg, net->params, seed);
	tsf_nn_reset_optimizer(&net->nn);
	tsf_rng_seed(&rng, seed ^ UINT64_C(0x5DEECE66D));
	for (int e = 0; e < epochs; e++)
		tsf_nn_train_epoch(&net->nn, x, y, T, &opts, &rng, last_loss, NULL);
}

static void
test_determinism(void)
{
	tsf_nn_config cfg = {.n_in = 3,.conv_kernel = 3,.conv_channels = 4,
	.hidden = 8,.layers = 2,.dropout = 0.5};
	int			T = 50;
	test_net	a,
				b;
	tsf_real   *x = alloc_real((size_t) T * cfg.n_in),
			   *y = alloc_real(T);
	size_t		P = tsf_nn_param_count(&cfg);
	double		la,
				lb;
	tsf_rng		rng;
	tsf_real   *p1 = alloc_real(T),
			   *p2 = alloc_real(T);

	tsf_rng_seed(&rng, 8);
	fill_random(x, (size_t) T * cfg.n_in, 1.0, &rng);
	fill_random(y, T, 1.0, &rng);
	test_net_make(&a, &cfg, T);
	test_net_make(&b, &cfg, T);

	train_from_seed(&a, &cfg, 42, x, y, T, 10, &la);
	train_from_seed(&b, &cfg, 42, x, y, T, 10, &lb);
	CHECK(memcmp(a.params, b.params, P * sizeof(tsf_real)) == 0 && la == lb,
		  "same seed gives bit-identical parameters");
	train_from_seed(&b, &cfg, 43, x, y, T, 10, &lb);
	CHECK(memcmp(a.params, b.params, P * sizeof(tsf_real)) != 0,
		  "different seeds give different parameters");

	/* Monte-Carlo dropout: same rng state, same sample; next one differs */
	tsf_rng_seed(&rng, 9);
	{
		tsf_rng		r2 = rng;

		tsf_nn_predict_mc(&a.nn, x, T, &rng, p1);
		tsf_nn_predict_mc(&a.nn, x, T, &r2, p2);
		CHECK(memcmp(p1, p2, T * sizeof(tsf_real)) == 0, "MC dropout replays from an rng state");
		tsf_nn_predict_mc(&a.nn, x, T, &rng, p2);
		CHECK(memcmp(p1, p2, T * sizeof(tsf_real)) != 0, "MC dropout samples differ");
		tsf_nn_predict(&a.nn, x, T, p1);
		tsf_nn_predict(&a.nn, x, T, p2);
		CHECK(memcmp(p1, p2, T * sizeof(tsf_real)) == 0 && !a.nn.dropout_on,
			  "predict is deterministic, dropout off");
	}
	printf("  determinism: 10 epochs, seed 42 twice identical, seed 43 differs\n");
	free(x), free(y), free(p1), free(p2);
	test_net_free(&a);
	test_net_free(&b);
}

/*
 * Stepping the network one step at a time (forecasting) reproduces the
 * sequence forward, with and without dropout.
 */
static void
test_step(void)
{
	tsf_nn_config cfg = {.n_in = 3,.conv_kernel = 3,.conv_channels = 4,
	.hidden = 6,.layers = 2,.dropout = 0.5};
	int			T = 30;
	test_net	net;
	tsf_real   *x = alloc_real((size_t) T * cfg.n_in),
			   *pred = alloc_real(T),
			   *state = alloc_real(tsf_nn_state_count(&cfg));
	tsf_rng		rng;
	double		err_plain = 0.0,
				err_mc = 0.0;

	tsf_rng_seed(&rng, 10);
	fill_random(x, (size_t) T * cfg.n_in, 1.0, &rng);
	test_net_make(&net, &cfg, T);
	tsf_nn_init_params(&cfg, net.params, 11);

	tsf_nn_predict(&net.nn, x, T, pred);
	tsf_nn_state_reset(&cfg, state);
	for (int t = 0; t < T; t++)
	{
		tsf_real	yt;

		tsf_nn_step(&net.nn, state, x + (size_t) t * cfg.n_in, NULL, &yt);
		err_plain = fmax(err_plain, fabs((double) yt - pred[t]));
	}
	/* the state read off the forward's caches is the stepped one */
	{
		size_t		S = tsf_nn_state_count(&cfg);
		tsf_real   *st2 = alloc_real(S);
		double		err_state = 0.0;

		for (size_t j = 0; j < S; j++)
			st2[j] = -99;
		tsf_nn_state_from_forward(&net.nn, st2);
		for (size_t j = 0; j < S; j++)
			err_state = fmax(err_state, fabs((double) st2[j] - state[j]));
		/* the window (K = 3 rows of 3 inputs) is the last inputs exactly */
		CHECK(memcmp(st2, x + (size_t) (T - 3) * cfg.n_in, sizeof(tsf_real) * 9) == 0,
			  "state window = the last K inputs");
		printf("  state from the forward vs stepped: max abs err %.2e (tol %.0e)\n",
			   err_state, PAR_TOL);
		CHECK(err_state <= PAR_TOL, "tsf_nn_state_from_forward: %g", err_state);
		free(st2);
	}

	tsf_rng_seed(&rng, 12);
	tsf_nn_predict_mc(&net.nn, x, T, &rng, pred);
	tsf_rng_seed(&rng, 12);
	tsf_nn_state_reset(&cfg, state);
	for (int t = 0; t < T; t++)
	{
		tsf_real	yt;

		tsf_nn_step(&net.nn, state, x + (size_t) t * cfg.n_in, &rng, &yt);
		err_mc = fmax(err_mc, fabs((double) yt - pred[t]));
	}
	printf("  step vs forward: max abs err %.2e, with dropout %.2e (tol %.0e)\n",
		   err_plain, err_mc, PAR_TOL);
	CHECK(err_plain <= PAR_TOL, "tsf_nn_step matches the forward: %g", err_plain);
	CHECK(err_mc <= PAR_TOL, "tsf_nn_step matches MC dropout forward: %g", err_mc);
	free(x), free(pred), free(state);
	test_net_free(&net);
}

static void
test_api(void)
{
	tsf_nn_config good = {.n_in = 3,.conv_kernel = 3,.conv_channels = 4,
	.hidden = 5,.layers = 1,.dropout = 0.5};
	tsf_nn_config bad;
	tsf_nn		nn;
	tsf_nn_offsets off;
	char		work[64];
	tsf_real	params[1];

	CHECK(tsf_nn_config_check(&good) == TSF_NN_OK, "valid config accepted");
	bad = good, bad.hidden = 0;
	CHECK(tsf_nn_config_check(&bad) == TSF_NN_BAD_HIDDEN, "hidden 0 rejected");
	bad = good, bad.layers = TSF_NN_MAX_LAYERS + 1;
	CHECK(tsf_nn_config_check(&bad) == TSF_NN_BAD_LAYERS, "too many layers rejected");
	bad = good, bad.dropout = 1.0;
	CHECK(tsf_nn_config_check(&bad) == TSF_NN_BAD_DROPOUT, "dropout 1 rejected");
	bad = good, bad.dropout = NAN;
	CHECK(tsf_nn_config_check(&bad) == TSF_NN_BAD_DROPOUT, "dropout NaN rejected");
	bad = good, bad.conv_channels = 0;
	CHECK(tsf_nn_config_check(&bad) == TSF_NN_BAD_CHANNELS, "channels 0 with conv rejected");
	bad.conv_kernel = 0;
	CHECK(tsf_nn_config_check(&bad) == TSF_NN_OK, "channels ignored without conv");
	CHECK(tsf_nn_bind(&nn, &good, params, NULL, NULL, NULL, work, sizeof(work), 10)
		  == TSF_NN_SMALL_WORKSPACE, "small workspace rejected");

	/* the layout of the default model: H = 40, conv 3 x 4, n_in = 3 */
	good.hidden = 40;
	tsf_nn_param_offsets(&good, &off);
	CHECK(off.conv_b == 36 && off.w_ih[0] == 40 && off.w_hh[0] == 40 + 640 &&
		  off.lin_b == off.total - 1 &&
		  off.total == 36 + 4 + 160 * 4 + 160 * 40 + 320 + 40 + 1,
		  "parameter layout follows named_parameters()");
}

/*
 * A few hundred epochs on a short sine wave, the seed's inputs (lagged
 * value, sin/cos of the season), must bring the loss well down.
 */
static void
test_smoke_sine(void)
{
	tsf_nn_config cfg = {.n_in = 3,.conv_kernel = 3,.conv_channels = 4,
	.hidden = 16,.layers = 1,.dropout = 0.1};
	const int	T = 200,
				period = 25,
				epochs = 300;
	test_net	net;
	tsf_real   *x = alloc_real((size_t) T * 3),
			   *y = alloc_real(T);
	tsf_rng		rng;
	tsf_nn_train_opts opts = {
		.adam = {.lr = 0.01,.beta1 = 0.9,.beta2 = 0.999,.eps = 1e-8},
		.loss_start = 0,.val_start = 160
	};
	double		first = 0,
				tl = 0,
				vl = 0,
				vfirst = 0;

	for (int t = 0; t < T; t++)
	{
		double		ph = 2.0 * M_PI * t / period;

		y[t] = (tsf_real) (0.5 + 0.4 * sin(ph) + 0.1 * sin(3.0 * ph));
		x[t * 3 + 0] = t > 0 ? y[t - 1] : 0;
		x[t * 3 + 1] = (tsf_real) sin(ph);
		x[t * 3 + 2] = (tsf_real) cos(ph);
	}
	test_net_make(&net, &cfg, T);
	tsf_nn_init_params(&cfg, net.params, 2024);
	tsf_rng_seed(&rng, 2025);
	for (int e = 0; e < epochs; e++)
	{
		tsf_nn_train_epoch(&net.nn, x, y, T, &opts, &rng, &tl, &vl);
		if (e == 0)
			first = tl, vfirst = vl;
	}
	printf("  smoke sine: %d epochs, train loss %.4g -> %.4g, validation %.4g -> %.4g\n",
		   epochs, first, tl, vfirst, vl);
	CHECK(tl < 0.05 * first, "train loss fell twentyfold: %g -> %g", first, tl);
	CHECK(vl < 0.05 * vfirst, "validation loss fell twentyfold: %g -> %g", vfirst, vl);
	free(x), free(y);
	test_net_free(&net);
}

/* ---- several networks in one pass (lanes.c) ---- */

/* a poll that says stop at the given counts of its calls, once each */
typedef struct lanes_stops
{
	long		calls;
	const long *at;
	int			n;
	int			stopped;
} lanes_stops;

static int
lanes_poll(void *arg)
{
	lanes_stops *st = arg;

	st->calls++;
	for (int i = 0; i < st->n; i++)
		if (st->calls == st->at[i])
		{
			st->stopped++;
			return 1;
		}
	return 0;
}

/*
 * TSF_NN_LANES networks of cfg, each with its own data, seed and dropout
 * generator, trained `epochs` epochs alone (tsf_nn_train_epoch) and in one
 * pass (tsf_nn_lanes_train_epoch, cancelled at the poll counts in stops):
 * every lane's parameters, Adam moments, step, generator and last losses
 * must be those of its network trained alone, bit for bit.
 */
static void
lanes_case(const char *name, tsf_nn_config cfg, int T, int loss_start,
		   int val_start, int epochs, int dropout_rng,
		   const long *stops, int n_stops)
{
	enum
	{
		S = TSF_NN_LANES
	};
	test_net	one[S],
				lane[S];
	tsf_nn	   *nets[S];
	tsf_rng		r1[S],
				r2[S];
	tsf_rng    *rp[S];
	tsf_real   *x[S],
			   *y[S];
	double		tl1[S],
				vl1[S],
				tl2[S],
				vl2[S];
	tsf_nn_train_opts opts = {.adam = {0.01, 0.9, 0.999, 1e-8},
	.loss_start = loss_start,.val_start = val_start};
	size_t		P = tsf_nn_param_count(&cfg);
	size_t		wb = tsf_nn_lanes_workspace_bytes(&cfg, T);
	void	   *work = malloc(wb);
	tsf_nn_lanes ln;
	lanes_stops st = {0, stops, n_stops, 0};
	tsf_nn_error err;
	int			same = 1;

	if (!work)
		exit(2);
	for (int s = 0; s < S; s++)
	{
		tsf_rng		d;

		tsf_rng_seed(&d, 500 + s);
		x[s] = alloc_real((size_t) T * cfg.n_in);
		y[s] = alloc_real(T);
		fill_random(x[s], (size_t) T * cfg.n_in, 1.0, &d);
		fill_random(y[s], T, 1.0, &d);
		test_net_make(&one[s], &cfg, T);
		test_net_make(&lane[s], &cfg, T);
		tsf_nn_init_params(&cfg, one[s].params, 900 + s);
		tsf_nn_init_params(&cfg, lane[s].params, 900 + s);
		tsf_rng_seed(&r1[s], 77 + s);
		r2[s] = r1[s];
		rp[s] = &r2[s];
		nets[s] = &lane[s].nn;
	}
	for (int s = 0; s < S; s++)
		for (int e = 0; e < epochs; e++)
			tsf_nn_train_epoch(&one[s].nn, x[s], y[s], T, &opts,
							   dropout_rng ? &r1[s] : NULL, &tl1[s], &vl1[s]);

	err = tsf_nn_lanes_bind(&ln, &cfg, work, wb, T);
	CHECK(err == TSF_NN_OK, "lanes %s: bind: %s", name, tsf_nn_strerror(err));
	err = tsf_nn_lanes_load(&ln, nets);
	CHECK(err == TSF_NN_OK, "lanes %s: load: %s", name, tsf_nn_strerror(err));
	err = tsf_nn_lanes_set_data(&ln, (const tsf_real *const *) x,
								(const tsf_real *const *) y, T);
	CHECK(err == TSF_NN_OK, "lanes %s: set data: %s", name, tsf_nn_strerror(err));
	ln.poll.fn = lanes_poll;
	ln.poll.arg = &st;
	for (int e = 0; e < epochs; e++)
	{
		int			tries = 0;

		while ((err = tsf_nn_lanes_train_epoch(&ln, &opts, dropout_rng ? rp : NULL,
											   tl2, vl2)) == TSF_NN_CANCELLED &&
			   ++tries < 10)
			;
		CHECK(err == TSF_NN_OK, "lanes %s: epoch %d: %s", name, e, tsf_nn_strerror(err));
	}
	tsf_nn_lanes_store(&ln, nets);
	CHECK(st.stopped == n_stops, "lanes %s: cancelled %d times (of %d)", name,
		  st.stopped, n_stops);
	for (int s = 0; s < S; s++)
	{
		int			ok = memcmp(one[s].params, lane[s].params, P * sizeof(tsf_real)) == 0 &&
			memcmp(one[s].m, lane[s].m, P * sizeof(tsf_real)) == 0 &&
			memcmp(one[s].v, lane[s].v, P * sizeof(tsf_real)) == 0 &&
			memcmp(&r1[s], &r2[s], sizeof(tsf_rng)) == 0 &&
			one[s].nn.step == lane[s].nn.step && tl1[s] == tl2[s] &&
			(isnan(vl1[s]) ? isnan(vl2[s]) : vl1[s] == vl2[s]);

		if (!ok)
			printf("    lane %d differs from its network trained alone\n", s);
		same = same && ok;
	}
	CHECK(same, "lanes %s: %d networks, %d epochs, each lane its network trained alone, bit for bit",
		  name, S, epochs);
	/* the networks trained on alone from where the lanes left them */
	for (int s = 0; s < S; s++)
	{
		tsf_nn_train_epoch(&one[s].nn, x[s], y[s], T, &opts,
						   dropout_rng ? &r1[s] : NULL, &tl1[s], &vl1[s]);
		tsf_nn_train_epoch(&lane[s].nn, x[s], y[s], T, &opts,
						   dropout_rng ? &r2[s] : NULL, &tl2[s], &vl2[s]);
	}
	CHECK(memcmp(one[0].params, lane[0].params, P * sizeof(tsf_real)) == 0 &&
		  memcmp(one[S - 1].params, lane[S - 1].params, P * sizeof(tsf_real)) == 0,
		  "lanes %s: a stored network trains on alone as if never in the lanes", name);
	for (int s = 0; s < S; s++)
	{
		free(x[s]), free(y[s]);
		test_net_free(&one[s]);
		test_net_free(&lane[s]);
	}
	free(work);
}

/*
 * lstm_train's default loop with a moving average of the weights (its
 * train_cpu): each epoch a step on [0, T_train), then ema = d ema + (1 - d)
 * params in double, and the validation loss of the average.  Alone with
 * tsf_nn_forward / backward / adam_step; in lanes with
 * tsf_nn_lanes_train_epoch (no validation pass), the same average over
 * the lanes and tsf_nn_lanes_loss.  Fresh networks enter the lanes by
 * tsf_nn_lanes_start.
 */
static void
test_lanes_ema(void)
{
	enum
	{
		S = TSF_NN_LANES
	};
	tsf_nn_config cfg = {.n_in = 3,.conv_kernel = 3,.conv_channels = 4,
	.hidden = 12,.layers = 1,.dropout = 0.5};
	const int	T = 40,
				T_train = 32,
				E = 6;
	const double d = 0.98;
	tsf_adam	adam = {0.01, 0.9, 0.999, 1e-8};
	tsf_nn_train_opts opts = {.adam = adam,.loss_start = 0,.val_start = T_train};
	size_t		P = tsf_nn_param_count(&cfg);
	test_net	one[S];
	tsf_real   *ema1[S],
			   *init[S],
			   *x[S],
			   *y[S];
	tsf_rng		r1[S],
				r2[S];
	tsf_rng    *rp[S];
	double		tl1[S],
				vl1[S],
				tl2[S],
				vl2[S];
	size_t		wb = tsf_nn_lanes_workspace_bytes(&cfg, T);
	void	   *work = malloc(wb);
	tsf_real   *ema2 = alloc_real(P * S),
			   *lane = alloc_real(P);
	tsf_nn_lanes ln;
	int			same = 1;

	if (!work)
		exit(2);
	for (int s = 0; s < S; s++)
	{
		tsf_rng		dr;

		tsf_rng_seed(&dr, 300 + s);
		x[s] = alloc_real((size_t) T * cfg.n_in);
		y[s] = alloc_real(T);
		fill_random(x[s], (size_t) T * cfg.n_in, 1.0, &dr);
		fill_random(y[s], T, 1.0, &dr);
		test_net_make(&one[s], &cfg, T);
		tsf_nn_init_params(&cfg, one[s].params, 40 + s);
		init[s] = alloc_real(P);
		memcpy(init[s], one[s].params, P * sizeof(tsf_real));
		ema1[s] = alloc_real(P);
		memcpy(ema1[s], one[s].params, P * sizeof(tsf_real));
		tsf_rng_seed(&r1[s], 60 + s);
		r2[s] = r1[s];
		rp[s] = &r2[s];
	}
	/* alone: train_cpu's loop */
	for (int s = 0; s < S; s++)
	{
		tsf_nn	   *nn = &one[s].nn;

		for (int e = 0; e < E; e++)
		{
			tsf_nn_forward(nn, x[s], T_train, &r1[s]);
			tl1[s] = tsf_mse_forward(nn->acts.pred, y[s], 0, T_train);
			tsf_nn_backward(nn, y[s], 0, T_train);
			tsf_nn_adam_step(nn, &adam);
			for (size_t i = 0; i < P; i++)
				ema1[s][i] = d * ema1[s][i] + (1 - d) * one[s].params[i];
			nn->params = ema1[s];
			tsf_nn_forward(nn, x[s], T, NULL);
			vl1[s] = tsf_mse_forward(nn->acts.pred, y[s], T_train, T);
			nn->params = one[s].params;
		}
	}
	/* in lanes */
	CHECK(tsf_nn_lanes_bind(&ln, &cfg, work, wb, T) == TSF_NN_OK, "lanes ema: bind");
	tsf_nn_lanes_start(&ln, (const tsf_real *const *) init);
	tsf_nn_lanes_set_data(&ln, (const tsf_real *const *) x, (const tsf_real *const *) y, T);
	memcpy(ema2, ln.params, P * S * sizeof(tsf_real));
	for (int e = 0; e < E; e++)
	{
		tsf_nn_error err = tsf_nn_lanes_train_epoch(&ln, &opts, rp, tl2, NULL);

		if (err == TSF_NN_OK)
		{
			for (size_t i = 0; i < P * S; i++)
				ema2[i] = d * ema2[i] + (1 - d) * ln.params[i];
			err = tsf_nn_lanes_loss(&ln, ema2, T_train, T, vl2);
		}
		CHECK(err == TSF_NN_OK, "lanes ema: epoch %d: %s", e, tsf_nn_strerror(err));
	}
	for (int s = 0; s < S; s++)
	{
		int			ok;

		tsf_nn_lanes_lane(&ln, ln.params, s, lane);
		ok = memcmp(lane, one[s].params, P * sizeof(tsf_real)) == 0;
		tsf_nn_lanes_lane(&ln, ema2, s, lane);
		ok = ok && memcmp(lane, ema1[s], P * sizeof(tsf_real)) == 0 &&
			tl1[s] == tl2[s] && vl1[s] == vl2[s] &&
			memcmp(&r1[s], &r2[s], sizeof(tsf_rng)) == 0;
		same = same && ok;
	}
	CHECK(same, "lanes ema: %d networks, %d epochs with a moving average, each lane as alone, bit for bit",
		  S, E);
	CHECK(tsf_nn_lanes_loss(&ln, ema2, T_train, T + 1, vl2) == TSF_NN_BAD_LENGTH,
		  "lanes ema: a loss range past the data is refused");
	for (int s = 0; s < S; s++)
	{
		free(x[s]), free(y[s]), free(init[s]), free(ema1[s]);
		test_net_free(&one[s]);
	}
	free(ema2), free(lane), free(work);
}

static void
test_lanes(void)
{
	/* lstm_train's network: conv, one layer, dropout, a validation part,
	 * T past one block of 64 of the weight gradients; H 10 leaves rows
	 * outside the groups of 8; cancelled in the forward, the backward and
	 * the validation pass */
	static const long stops1[] = {5, 100, 350};
	tsf_nn_config c1 = {.n_in = 3,.conv_kernel = 3,.conv_channels = 4,
	.hidden = 10,.layers = 1,.dropout = 0.5};
	/* two layers, no conv, no validation */
	tsf_nn_config c2 = {.n_in = 2,.conv_kernel = 0,.conv_channels = 0,
	.hidden = 8,.layers = 2,.dropout = 0.3};
	/* one input, odd H (a sum's tail of 3), no dropout */
	tsf_nn_config c3 = {.n_in = 1,.conv_kernel = 0,.conv_channels = 0,
	.hidden = 7,.layers = 1,.dropout = 0.0};
	tsf_nn_config big = {.n_in = 3,.conv_kernel = 0,.conv_channels = 0,
	.hidden = 1024,.layers = 1,.dropout = 0.0};
	tsf_nn_lanes ln;
	test_net	a[TSF_NN_LANES];
	tsf_nn	   *nets[TSF_NN_LANES];
	size_t		wb;
	void	   *work;
	tsf_nn_error err;

	lanes_case("conv, 1 layer, dropout, validation", c1, 70, 2, 60, 4, 1, stops1, 3);
	lanes_case("2 layers, no validation", c2, 20, 0, 0, 3, 1, NULL, 0);
	lanes_case("1 input, H 7, no dropout", c3, 9, 1, 7, 5, 0, NULL, 0);

	/* what the lanes refuse */
	err = tsf_nn_lanes_bind(&ln, &big, &ln, sizeof(ln), 10);
	CHECK(err == TSF_NN_LANES_TOO_LARGE, "lanes: a network over TSF_NN_LANES_MAX_PARAMS is refused: %s",
		  tsf_nn_strerror(err));
	wb = tsf_nn_lanes_workspace_bytes(&c3, 9);
	work = malloc(wb);
	if (!work)
		exit(2);
	err = tsf_nn_lanes_bind(&ln, &c3, work, wb - 1, 9);
	CHECK(err == TSF_NN_SMALL_WORKSPACE, "lanes: a workspace too small is refused");
	err = tsf_nn_lanes_bind(&ln, &c3, work, wb, 9);
	CHECK(err == TSF_NN_OK, "lanes: bind");
	for (int s = 0; s < TSF_NN_LANES; s++)
	{
		test_net_make(&a[s], s == 3 ? &c2 : &c3, 9);
		nets[s] = &a[s].nn;
	}
	err = tsf_nn_lanes_load(&ln, nets);
	CHECK(err == TSF_NN_LANES_MISMATCH, "lanes: a network of another configuration is refused");
	test_net_free(&a[3]);
	test_net_make(&a[3], &c3, 9);
	a[5].nn.step = 2;
	err = tsf_nn_lanes_load(&ln, nets);
	CHECK(err == TSF_NN_LANES_MISMATCH, "lanes: networks at different Adam steps are refused");
	a[5].nn.step = 0;
	err = tsf_nn_lanes_load(&ln, nets);
	CHECK(err == TSF_NN_OK, "lanes: the same networks at one step are taken");
	err = tsf_nn_lanes_set_data(&ln, NULL, NULL, 10);
	CHECK(err == TSF_NN_BAD_LENGTH, "lanes: data longer than T_max is refused");
	for (int s = 0; s < TSF_NN_LANES; s++)
		test_net_free(&a[s]);
	free(work);
	printf("  lanes: 3 configurations trained 16 at a time, bit for bit as alone\n");
}

int
main(int argc, char **argv)
{
	if (argc > 1)
		fixture_dir = argv[1];
	printf("test_nn: core in %s; gradient checks: central differences, step %g, "
		   "tol %g; PyTorch parity (float64 fixtures): tol %g, after Adam %g\n",
		   PRECISION, GC_EPS, GC_TOL, PAR_TOL, ADAM_TOL);

	printf("layer gradient checks\n");
	test_gradcheck_conv();
	test_gradcheck_lstm();
	test_gradcheck_dropout();
	test_gradcheck_linear();
	test_gradcheck_mse();
	printf("network gradient check\n");
	test_gradcheck_network();

	printf("PyTorch parity\n");
	test_parity("conv_l1");
	test_parity("conv_l2");
	test_parity("noconv_l1");

	printf("determinism, API, smoke\n");
	test_kernels();
	test_elementwise_kernels();
	test_workspace_lines();
	test_cell();
	test_determinism();
	test_step();
	test_api();
	test_smoke_sine();

	printf("cancellation: polls, chunks, resuming\n");
	test_poll_kernels();
	test_poll_cancel();
	test_poll_adam();
	test_poll_wide();

	printf("several networks in one pass\n");
	test_lanes();
	test_lanes_ema();

	return unit_done();
}

/*
 * test_ar.c
 *		Unit tests of the AR core against statsmodels and R.
 *
 * Reads test/fixtures/ar_reference.csv (made by make_ar_fixtures.py) and the
 * series beside it, refits every case with the core and compares the order,
 * intercept, coefficients, sigma2, AIC and 16 forecasts with their standard
 * errors.  Run from the repository root.
 */
#include "core/ar.h"
#include "unit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RTOL 1e-8
#define MAXN 4096
#define MAXROWS 2048

typedef struct Ref
{
	char		series[32];
	char		method[16];
	char		spec[8];
	int			intercept;
	char		key[8];
	int			idx;
	double		value;
} Ref;

static Ref	refs[MAXROWS];
static int	fast_path_cases;	/* OLS cases the normal-equation path solved */
static int	nrefs;

static void
load_refs(void)
{
	FILE	   *f = fopen("test/fixtures/ar_reference.csv", "r");
	char		line[256];

	if (!f)
	{
		perror("test/fixtures/ar_reference.csv");
		exit(2);
	}
	if (!fgets(line, sizeof(line), f))
		exit(2);
	while (fgets(line, sizeof(line), f) && nrefs < MAXROWS)
	{
		Ref		   *r = &refs[nrefs];

		if (sscanf(line, "%31[^,],%15[^,],%7[^,],%d,%7[^,],%d,%lf",
				   r->series, r->method, r->spec, &r->intercept, r->key,
				   &r->idx, &r->value) == 7)
			nrefs++;
	}
	fclose(f);
}

static int
load_series(const char *name, double *y)
{
	char		path[128],
				line[128];
	FILE	   *f;
	int			n = 0;

	snprintf(path, sizeof(path), "test/fixtures/series/%s.csv", name);
	f = fopen(path, "r");
	if (!f)
	{
		perror(path);
		exit(2);
	}
	if (!fgets(line, sizeof(line), f))
		exit(2);
	while (n < MAXN && fgets(line, sizeof(line), f))
	{
		int			t;

		if (sscanf(line, "%d,%lf", &t, &y[n]) == 2)
			n++;
	}
	fclose(f);
	return n;
}

static double
ref_value(const Ref *c, const char *key, int idx)
{
	for (int i = 0; i < nrefs; i++)
		if (!strcmp(refs[i].series, c->series) && !strcmp(refs[i].method, c->method) &&
			!strcmp(refs[i].spec, c->spec) && refs[i].intercept == c->intercept &&
			!strcmp(refs[i].key, key) && refs[i].idx == idx)
			return refs[i].value;
	printf("not ok: missing reference %s %s\n", c->series, key);
	exit(2);
}

/* fit one case exactly as ar_fit() does and compare with the reference */
static void
check_case(const Ref *c)
{
	static double y[MAXN];
	int			n = load_series(c->series, y);
	TsfArMethod method = strcmp(c->method, "ols") == 0 ? TSF_AR_OLS : TSF_AR_YULE_WALKER;
	int			p;
	double		phi[TSF_AR_MAX_ORDER];
	TsfArModel	m = {.phi = phi};
	double		mean[16],
				se[16];
	double	   *work;
	char		what[128];
	int			maxp = tsf_ar_default_max_order(n, c->intercept);

	work = malloc(sizeof(double) * (tsf_ar_work_size(n, maxp) + 64));
	if (strcmp(c->spec, "auto") == 0)
	{
		CHECK(tsf_ar_select(y, n, maxp, c->intercept, method, NULL, work, &p) == TSF_AR_OK,
			  "select %s %s", c->series, c->method);
	}
	else
		p = atoi(c->spec);
	snprintf(what, sizeof(what), "%s %s %s ic=%d order", c->series, c->method, c->spec, c->intercept);
	CHECK(p == (int) ref_value(c, "p", 0), "%s: got %d, want %g", what, p, ref_value(c, "p", 0));

	CHECK(tsf_ar_fit(y, n, p, c->intercept, method, NULL, work, &m) == TSF_AR_OK, "fit %s", what);
	if (method == TSF_AR_OLS)
		fast_path_cases += m.solver == 0;
	snprintf(what, sizeof(what), "%s %s %s ic=%d", c->series, c->method, c->spec, c->intercept);
	CHECK_CLOSE(m.c, ref_value(c, "c", 0), RTOL, what);
	CHECK_CLOSE(m.sigma2, ref_value(c, "sigma2", 0), RTOL, what);
	CHECK_CLOSE(m.aic, ref_value(c, "aic", 0), RTOL, what);
	for (int i = 0; i < p; i++)
		CHECK_CLOSE(m.phi[i], ref_value(c, "phi", i), RTOL, what);

	if (method == TSF_AR_OLS)
	{
		/* the QR path alone must agree too (tsf_ar_fit may take the fast path) */
		double		qphi[TSF_AR_MAX_ORDER];
		TsfArModel	q = {.phi = qphi};
		char		qwhat[160];

		snprintf(qwhat, sizeof(qwhat), "%s (QR path)", what);
		CHECK(tsf_ar_fit_ols_qr(y, n, p, c->intercept, NULL, work, &q) == TSF_AR_OK, "QR fit %s", what);
		CHECK_CLOSE(q.c, ref_value(c, "c", 0), RTOL, qwhat);
		CHECK_CLOSE(q.sigma2, ref_value(c, "sigma2", 0), RTOL, qwhat);
		for (int i = 0; i < p; i++)
			CHECK_CLOSE(q.phi[i], ref_value(c, "phi", i), RTOL, qwhat);
	}

	tsf_ar_forecast(&m, y + n - p, 16, mean, se, work);
	for (int k = 0; k < 16; k++)
	{
		CHECK_CLOSE(mean[k], ref_value(c, "mean", k), RTOL, what);
		CHECK_CLOSE(se[k], ref_value(c, "se", k), RTOL, what);
	}
	free(work);
}

/*
 * A nearly collinear design (a trend with tiny noise): the fast path must
 * notice and hand over to QR, and agree with it.
 */
static void
test_ill_conditioned(void)
{
	int			n = 300;
	double		y[300];
	double		phi[4],
				qphi[4];
	TsfArModel	m = {.phi = phi},
				q = {.phi = qphi};
	double	   *work = malloc(sizeof(double) * tsf_ar_work_size(n, 4));
	unsigned	s = 12345;

	for (int t = 0; t < n; t++)
	{
		s = s * 1103515245u + 12345u;
		y[t] = 0.5 * t + 1e-7 * ((double) (s >> 8) / (1 << 24) - 0.5);
	}
	CHECK(tsf_ar_fit(y, n, 2, 1, TSF_AR_OLS, NULL, work, &m) == TSF_AR_OK, "ill-conditioned fit");
	CHECK(m.solver == 1, "ill-conditioned fit went to QR (solver %d)", m.solver);
	CHECK(tsf_ar_fit_ols_qr(y, n, 2, 1, NULL, work, &q) == TSF_AR_OK, "ill-conditioned QR fit");
	for (int i = 0; i < 2; i++)
		CHECK(m.phi[i] == q.phi[i], "ill-conditioned: same phi[%d] as QR", i);
	free(work);
}

/* ---- cancellation ---- */

/*
 * A poll function that counts its calls, asks to stop at call stop_at (0:
 * never), and times the gaps between calls and from the stopping call to
 * the return.
 */
typedef struct PollProbe
{
	int			calls;
	int			stop_at;
	double		last;			/* time of the previous call (or start) */
	double		max_gap;		/* longest wait for a call, seconds */
} PollProbe;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
probe_poll(void *arg)
{
	PollProbe  *pp = (PollProbe *) arg;
	double		t = now_s();

	if (t - pp->last > pp->max_gap)
		pp->max_gap = t - pp->last;
	pp->last = t;
	return ++pp->calls == pp->stop_at;
}

/* the entry points, run the same way with any poll */
enum
{
	EP_SELECT_OLS, EP_SELECT_YW, EP_FIT_OLS, EP_FIT_YW, EP_FIT_QR, N_EP
};
static const char *const ep_names[N_EP] = {
	"select OLS", "select Yule-Walker", "fit OLS", "fit Yule-Walker", "fit QR"
};

typedef struct EpResult
{
	TsfArStatus status;
	int			p;				/* the order chosen (select) */
	TsfArModel	m;				/* the model (fit) */
	double		phi[TSF_AR_MAX_ORDER];
} EpResult;

static void
run_entry(int ep, const double *y, int n, int p, const TsfArPoll *poll,
		  double *work, EpResult *r)
{
	memset(r, 0, sizeof(*r));
	r->m.phi = r->phi;
	switch (ep)
	{
		case EP_SELECT_OLS:
			r->status = tsf_ar_select(y, n, p, 1, TSF_AR_OLS, poll, work, &r->p);
			break;
		case EP_SELECT_YW:
			r->status = tsf_ar_select(y, n, p, 1, TSF_AR_YULE_WALKER, poll, work, &r->p);
			break;
		case EP_FIT_OLS:
			r->status = tsf_ar_fit(y, n, p, 1, TSF_AR_OLS, poll, work, &r->m);
			break;
		case EP_FIT_YW:
			r->status = tsf_ar_fit(y, n, p, 1, TSF_AR_YULE_WALKER, poll, work, &r->m);
			break;
		case EP_FIT_QR:
			r->status = tsf_ar_fit_ols_qr(y, n, p, 1, poll, work, &r->m);
			break;
	}
}

/* bit for bit the same outcome */
static bool
same_result(const EpResult *a, const EpResult *b)
{
	return a->status == b->status && a->p == b->p &&
		memcmp(&a->m.c, &b->m.c, sizeof(double)) == 0 &&
		memcmp(&a->m.mean, &b->m.mean, sizeof(double)) == 0 &&
		memcmp(&a->m.sigma2, &b->m.sigma2, sizeof(double)) == 0 &&
		memcmp(&a->m.aic, &b->m.aic, sizeof(double)) == 0 &&
		a->m.p == b->m.p && a->m.nobs == b->m.nobs && a->m.solver == b->m.solver &&
		memcmp(a->phi, b->phi, sizeof(double) * a->m.p) == 0;
}

/* a long AR(2) series with uniform noise (deterministic) */
static void
make_ar2(double *y, int n, unsigned seed)
{
	unsigned	s = seed;

	for (int t = 0; t < n; t++)
	{
		double		e;

		s = s * 1103515245u + 12345u;
		e = (double) (s >> 8) / (1 << 24) - 0.5;
		y[t] = 3.0 + e + (t > 1 ? 0.5 * (y[t - 1] - 3.0) - 0.2 * (y[t - 2] - 3.0) : 0.0);
	}
}

/*
 * Every entry point on an AR(300) problem over 20,000 points (the QR path,
 * O(n p^2), over the first 4,000): the poll is
 * called, often (the longest wait between calls is printed and bounded),
 * a poll that never asks changes no bit of the result, and one that asks at
 * its N-th call gets TSF_AR_CANCELLED with no further call, for N from the
 * first call to the last; one more than the calls made lets the fit finish.
 */
static void
test_poll(void)
{
	int			p = 300;
	double	   *y = malloc(sizeof(double) * 20000);
	double	   *work = malloc(sizeof(double) * tsf_ar_work_size(20000, p));
	static EpResult base,
				r;

	make_ar2(y, 20000, 4242);
	for (int ep = 0; ep < N_EP; ep++)
	{
		PollProbe	pp = {0};
		TsfArPoll	poll = {probe_poll, &pp};
		TsfArPoll	no_fn = {NULL, NULL};
		double		t0,
					wall,
					worst_stop = 0.0;
		int			total,
					tries[4];
		int			n = ep == EP_FIT_QR ? 4000 : 20000;

		run_entry(ep, y, n, p, NULL, work, &base);
		CHECK(base.status == TSF_AR_OK, "%s: AR(%d) on %d points (status %d)",
			  ep_names[ep], p, n, base.status);

		t0 = now_s();
		pp.last = t0;
		run_entry(ep, y, n, p, &poll, work, &r);
		wall = now_s() - t0;
		if (wall - (pp.last - t0) > pp.max_gap)
			pp.max_gap = wall - (pp.last - t0);
		total = pp.calls;
		CHECK(same_result(&base, &r), "%s: a poll that never stops changes nothing",
			  ep_names[ep]);
		run_entry(ep, y, n, p, &no_fn, work, &r);
		CHECK(same_result(&base, &r), "%s: a poll without a function is no poll",
			  ep_names[ep]);
		CHECK(total >= 2, "%s: the poll is called (%d calls)", ep_names[ep], total);
		CHECK(pp.max_gap < 0.2, "%s: longest wait between polls %.1f ms",
			  ep_names[ep], pp.max_gap * 1e3);
		printf("  poll %-18s %4d calls in %7.1f ms, longest wait between calls %5.2f ms\n",
			   ep_names[ep], total, wall * 1e3, pp.max_gap * 1e3);

		tries[0] = 1;
		tries[1] = total > 1 ? 2 : 1;
		tries[2] = (total + 1) / 2;
		tries[3] = total;
		for (int i = 0; i < 4; i++)
		{
			double		left;

			memset(&pp, 0, sizeof(pp));
			pp.stop_at = tries[i];
			pp.last = now_s();
			run_entry(ep, y, n, p, &poll, work, &r);
			left = now_s() - pp.last;
			worst_stop = left > worst_stop ? left : worst_stop;
			CHECK(r.status == TSF_AR_CANCELLED && pp.calls == tries[i],
				  "%s: asked to stop at call %d: status %d after %d calls",
				  ep_names[ep], tries[i], r.status, pp.calls);
		}
		CHECK(worst_stop < 0.01, "%s: returns within %.3f ms of the stop",
			  ep_names[ep], worst_stop * 1e3);

		memset(&pp, 0, sizeof(pp));
		pp.stop_at = total + 1;
		run_entry(ep, y, n, p, &poll, work, &r);
		CHECK(same_result(&base, &r) && pp.calls == total,
			  "%s: a stop after the last call is never asked", ep_names[ep]);
	}
	free(work);
	free(y);
}

/*
 * The QR path at the largest order, where each poll covers the fewest rows:
 * 1,200 equations, the first 1,002 folded 4 at a time while R fills, the
 * rest 151 at a time, 16 columns a poll.  The longest wait between polls
 * stays in the milliseconds, and a stop asked near the end is obeyed.
 */
static void
test_poll_qr_max_order(void)
{
	int			n = 2200,
				p = TSF_AR_MAX_ORDER;
	double	   *y = malloc(sizeof(double) * n);
	double	   *work = malloc(sizeof(double) * tsf_ar_work_size(n, p));
	double		phi[TSF_AR_MAX_ORDER];
	TsfArModel	m = {.phi = phi};
	PollProbe	pp = {0};
	TsfArPoll	poll = {probe_poll, &pp};
	double		t0;
	int			total;

	make_ar2(y, n, 77);
	t0 = pp.last = now_s();
	CHECK(tsf_ar_fit_ols_qr(y, n, p, 1, &poll, work, &m) == TSF_AR_OK,
		  "QR AR(%d) on %d points", p, n);
	total = pp.calls;
	CHECK(pp.max_gap < 0.2, "QR AR(%d): longest wait between polls %.1f ms",
		  p, pp.max_gap * 1e3);
	printf("  poll QR at order %d: %d calls in %.1f ms, longest wait between calls %.2f ms\n",
		   p, total, (now_s() - t0) * 1e3, pp.max_gap * 1e3);

	memset(&pp, 0, sizeof(pp));
	pp.stop_at = total - 3;
	CHECK(tsf_ar_fit_ols_qr(y, n, p, 1, &poll, work, &m) == TSF_AR_CANCELLED &&
		  pp.calls == total - 3, "QR AR(%d): stopped at poll %d of %d (%d calls)",
		  p, total - 3, total, pp.calls);
	free(work);
	free(y);
}

static void
test_qnorm(void)
{
	/* scipy.stats.norm.ppf */
	CHECK_CLOSE(tsf_qnorm(0.975), 1.959963984540054, 1e-15, "qnorm(0.975)");
	CHECK_CLOSE(tsf_qnorm(0.5), 0.0, 1e-15, "qnorm(0.5)");
	CHECK_CLOSE(tsf_qnorm(0.9), 1.2815515655446004, 1e-15, "qnorm(0.9)");
	CHECK_CLOSE(tsf_qnorm(0.025), -1.959963984540054, 1e-15, "qnorm(0.025)");
	CHECK_CLOSE(tsf_qnorm(1e-10), -6.361340902404056, 1e-14, "qnorm(1e-10)");
	CHECK_CLOSE(tsf_qnorm(1 - 1e-3), 3.090232306167813, 1e-14, "qnorm(0.999)");
	CHECK(isinf(tsf_qnorm(1.0)) && isnan(tsf_qnorm(1.5)), "qnorm at the edges");
}

static void
test_min_points(void)
{
	double		y[5] = {1, 2, 3, 4, 5};
	double		phi[4];
	TsfArModel	m = {.phi = phi};
	double		work[4096];

	CHECK(tsf_ar_fit(y, 5, 3, 1, TSF_AR_OLS, NULL, work, &m) == TSF_AR_TOO_SHORT,
		  "AR(3) on 5 points is too short");
	CHECK(tsf_ar_default_max_order(1650, 1) == 32, "R's default bound for n = 1650");
	CHECK(tsf_ar_default_max_order(10, 1) == 4, "default bound clamped for n = 10");
}

/* a constant series is an AR(0) with no noise; a fixed AR(1) on it is singular */
static void
test_constant(void)
{
	double		y[50];
	double		phi[8];
	TsfArModel	m = {.phi = phi};
	double	   *work = malloc(sizeof(double) * tsf_ar_work_size(50, 8));
	int			p = -1;

	for (int i = 0; i < 50; i++)
		y[i] = 4.25;
	CHECK(tsf_ar_select(y, 50, 8, 1, TSF_AR_OLS, NULL, work, &p) == TSF_AR_OK && p == 0,
		  "constant series selects order 0 (got %d)", p);
	CHECK(tsf_ar_fit(y, 50, 0, 1, TSF_AR_OLS, NULL, work, &m) == TSF_AR_OK &&
		  fabs(m.c - 4.25) < 1e-14 && m.sigma2 < 1e-28, "constant series AR(0): c = %.17g, sigma2 = %g", m.c, m.sigma2);
	CHECK(tsf_ar_fit(y, 50, 1, 1, TSF_AR_OLS, NULL, work, &m) == TSF_AR_RANK_DEFICIENT,
		  "constant series AR(1) is rank deficient");
	free(work);
}

int
main(void)
{
	int			cases = 0;

	load_refs();
	CHECK(nrefs > 500, "references loaded (%d)", nrefs);
	for (int i = 0; i < nrefs; i++)
	{
		/* one case per (series, method, spec, intercept): its "p" row */
		if (strcmp(refs[i].key, "p") == 0)
		{
			check_case(&refs[i]);
			cases++;
		}
	}
	printf("# %d reference cases compared at rtol %g; %d OLS fits took the fast path\n",
		   cases, RTOL, fast_path_cases);
	CHECK(fast_path_cases >= 10, "the fast OLS path is exercised (%d cases)", fast_path_cases);
	test_ill_conditioned();
	test_poll();
	test_poll_qr_max_order();
	test_qnorm();
	test_min_points();
	test_constant();
	return unit_done();
}

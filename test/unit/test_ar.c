/*
 * test_ar.c
 *		Unit tests of the AR core against statsmodels and R.
 *
 * Reads test/fixtures/ar_reference.csv (made by make_ar_fixtures.py) and the
 * series beside it, refits every case with the core and compares the order,
 * intercept, coefficients, sigma2, AIC and 16 forecasts with their standard
 * errors.  Run from the repository root.
 */
#include "ar/ar.h"
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

/* ---- scale ---- */

/* select (spec "auto") and fit as ar_fit() does; the status of the fit */
static TsfArStatus
fit_spec(const double *y, int n, const Ref *c, TsfArMethod method, bool qr,
		 double *work, int *p, TsfArModel *m)
{
	int			maxp = tsf_ar_default_max_order(n, c->intercept);

	*p = atoi(c->spec);
	if (strcmp(c->spec, "auto") == 0)
	{
		TsfArStatus s = tsf_ar_select(y, n, maxp, c->intercept, method, NULL, work, p);

		if (s != TSF_AR_OK)
			return s;
	}
	if (qr)
		return tsf_ar_fit_ols_qr(y, n, *p, c->intercept, NULL, work, m);
	return tsf_ar_fit(y, n, *p, c->intercept, method, NULL, work, m);
}

/*
 * A reference case on copies of its series scaled by 2^e (e = +-500, -600:
 * outside the range fitted as is) gives the same order and phi, bit for
 * bit, c and mean times 2^e and sigma2 times 4^e exactly (at 2^-600 that is
 * below the smallest subnormal, so 0, as ldexp says), the AIC shifted by
 * nobs 2e log 2; at 2^600 sigma2 (4^600 times the unscaled) is no double:
 * NOT_FINITE.  Scaled by 1e154 (not exact) it agrees to 1e-8 with the
 * unscaled fit where sigma2 times 1e308 is a double, and is NOT_FINITE
 * where not.  OLS cases are run through the fast path and the QR path both.
 */
static void
check_scaled(const Ref *c, int *compared)
{
	static double y[MAXN],
				ys[MAXN];
	int			n = load_series(c->series, y);
	TsfArMethod method = strcmp(c->method, "ols") == 0 ? TSF_AR_OLS : TSF_AR_YULE_WALKER;
	double	   *work = malloc(sizeof(double) * tsf_ar_work_size(n, tsf_ar_default_max_order(n, c->intercept)));
	static const int exps[] = {500, -500, -600, 600};

	for (int qr = 0; qr <= (method == TSF_AR_OLS); qr++)
	{
		double		phi0[TSF_AR_MAX_ORDER],
					phi[TSF_AR_MAX_ORDER];
		TsfArModel	m0 = {.phi = phi0},
					m = {.phi = phi};
		int			p0,
					p;
		char		what[160];

		snprintf(what, sizeof(what), "%s %s %s ic=%d%s", c->series, c->method, c->spec,
				 c->intercept, qr ? " (QR path)" : "");
		if (fit_spec(y, n, c, method, qr, work, &p0, &m0) != TSF_AR_OK)
		{
			CHECK(false, "%s: unscaled fit", what);
			continue;
		}
		for (int i = 0; i < 4; i++)
		{
			int			e = exps[i];
			TsfArStatus s;

			for (int t = 0; t < n; t++)
				ys[t] = ldexp(y[t], e);
			s = fit_spec(ys, n, c, method, qr, work, &p, &m);
			if (e == 600)
			{
				CHECK(s == TSF_AR_NOT_FINITE, "%s x 2^%d: sigma2 overflows (status %d)", what, e, s);
				continue;
			}
			CHECK(s == TSF_AR_OK && p == p0, "%s x 2^%d: status %d, order %d (want %d)",
				  what, e, s, p, p0);
			if (s != TSF_AR_OK || p != p0)
				continue;
			CHECK(memcmp(phi, phi0, sizeof(double) * p) == 0, "%s x 2^%d: the same phi", what, e);
			CHECK(m.c == ldexp(m0.c, e) && m.mean == ldexp(m0.mean, e),
				  "%s x 2^%d: c %a mean %a (want %a %a)", what, e, m.c, m.mean,
				  ldexp(m0.c, e), ldexp(m0.mean, e));
			CHECK(m.sigma2 == ldexp(m0.sigma2, 2 * e), "%s x 2^%d: sigma2 %a (want %a)",
				  what, e, m.sigma2, ldexp(m0.sigma2, 2 * e));
			CHECK_CLOSE(m.aic, m0.aic + m0.nobs * 2.0 * e * log(2.0), 1e-12, what);
			(*compared)++;
		}

		/* x 1e154: rounded, so close, not equal */
		{
			TsfArStatus s;

			for (int t = 0; t < n; t++)
				ys[t] = y[t] * 1e154;
			s = fit_spec(ys, n, c, method, qr, work, &p, &m);
			if (m0.sigma2 > 1.7)
				CHECK(s == TSF_AR_NOT_FINITE, "%s x 1e154: sigma2 %g e308 overflows (status %d)",
					  what, m0.sigma2, s);
			else
			{
				CHECK(s == TSF_AR_OK && p == p0, "%s x 1e154: status %d, order %d (want %d)",
					  what, s, p, p0);
				if (s != TSF_AR_OK || p != p0)
					continue;
				for (int i = 0; i < p; i++)
					CHECK_CLOSE(phi[i], phi0[i], RTOL, what);
				CHECK_CLOSE(m.c / 1e154, m0.c, RTOL, what);
				CHECK_CLOSE(m.mean / 1e154, m0.mean, RTOL, what);
				CHECK_CLOSE(m.sigma2 / 1e154 / 1e154, m0.sigma2, RTOL, what);
				(*compared)++;
			}
		}
	}
	free(work);
}

/*
 * The series, 1e154 (2 + sin t) (a sinusoid: an exact AR(2) up to
 * rounding, so AR(3) is collinear at any scale): every order fits as it does
 * on 2 + sin t, the order chosen is the same, and sigma2 is a double.  Near
 * 1e300, sigma2 cannot be: NOT_FINITE, not an infinite estimate.
 */
static void
test_scaled_sinusoid(void)
{
	int			n = 1000;
	double	   *y = malloc(sizeof(double) * n),
			   *ys = malloc(sizeof(double) * n),
			   *work = malloc(sizeof(double) * tsf_ar_work_size(n, 30));
	double		phi0[30],
				phi[30];
	TsfArModel	m0 = {.phi = phi0},
				m = {.phi = phi};

	for (int t = 0; t < n; t++)
	{
		y[t] = 2.0 + sin(t + 1.0);
		ys[t] = 1e154 * y[t];
	}
	for (int method = TSF_AR_OLS; method <= TSF_AR_YULE_WALKER; method++)
	{
		int			p0 = -1,
					p = -2;

		for (int order = 1; order <= 3; order++)
		{
			TsfArStatus s0 = tsf_ar_fit(y, n, order, 1, method, NULL, work, &m0);
			TsfArStatus s = tsf_ar_fit(ys, n, order, 1, method, NULL, work, &m);

			CHECK(s == s0 && (method == TSF_AR_YULE_WALKER || s0 == (order < 3 ? TSF_AR_OK : TSF_AR_RANK_DEFICIENT)),
				  "1e154 (2 + sin t), method %d, AR(%d): status %d, unscaled %d",
				  method, order, s, s0);
			if (s == TSF_AR_OK && s0 == TSF_AR_OK)
			{
				CHECK(isfinite(m.sigma2) && isfinite(m.c), "1e154 (2 + sin t) AR(%d): finite", order);
				CHECK_CLOSE(m.sigma2 / 1e154 / 1e154, m0.sigma2, 1e-6, "1e154 (2 + sin t) sigma2");
				for (int i = 0; i < order; i++)
					CHECK_CLOSE(phi[i], phi0[i], 1e-6, "1e154 (2 + sin t) phi");
			}
		}
		CHECK(tsf_ar_select(y, n, 30, 1, method, NULL, work, &p0) == TSF_AR_OK &&
			  tsf_ar_select(ys, n, 30, 1, method, NULL, work, &p) == TSF_AR_OK && p == p0,
			  "1e154 (2 + sin t), method %d: order %d chosen (unscaled %d)", method, p, p0);
	}

	/* 1e300 (2 + sin t + noise): sigma2 about 1e599 */
	make_ar2(ys, n, 99);
	for (int t = 0; t < n; t++)
		ys[t] *= 1e300;
	for (int method = TSF_AR_OLS; method <= TSF_AR_YULE_WALKER; method++)
		CHECK(tsf_ar_fit(ys, n, 2, 1, method, NULL, work, &m) == TSF_AR_NOT_FINITE,
			  "1e300-sized series, method %d: estimates overflow", method);
	CHECK(tsf_ar_fit_ols_qr(ys, n, 2, 1, NULL, work, &m) == TSF_AR_NOT_FINITE,
		  "1e300-sized series, QR: estimates overflow");
	free(work);
	free(ys);
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
	{
		int			scaled = 0;

		for (int i = 0; i < nrefs; i++)
			if (strcmp(refs[i].key, "p") == 0)
				check_scaled(&refs[i], &scaled);
		printf("# %d scaled fits (x 2^500, 2^-500, 2^-600, 1e154) agree with the unscaled\n",
			   scaled);
	}
	test_scaled_sinusoid();
	test_ill_conditioned();
	test_poll();
	test_poll_qr_max_order();
	test_qnorm();
	test_min_points();
	test_constant();
	return unit_done();
}

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

#include <stdlib.h>
#include <string.h>

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
		CHECK(tsf_ar_select(y, n, maxp, c->intercept, method, work, &p) == TSF_AR_OK,
			  "select %s %s", c->series, c->method);
	}
	else
		p = atoi(c->spec);
	snprintf(what, sizeof(what), "%s %s %s ic=%d order", c->series, c->method, c->spec, c->intercept);
	CHECK(p == (int) ref_value(c, "p", 0), "%s: got %d, want %g", what, p, ref_value(c, "p", 0));

	CHECK(tsf_ar_fit(y, n, p, c->intercept, method, work, &m) == TSF_AR_OK, "fit %s", what);
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
		CHECK(tsf_ar_fit_ols_qr(y, n, p, c->intercept, work, &q) == TSF_AR_OK, "QR fit %s", what);
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
	CHECK(tsf_ar_fit(y, n, 2, 1, TSF_AR_OLS, work, &m) == TSF_AR_OK, "ill-conditioned fit");
	CHECK(m.solver == 1, "ill-conditioned fit went to QR (solver %d)", m.solver);
	CHECK(tsf_ar_fit_ols_qr(y, n, 2, 1, work, &q) == TSF_AR_OK, "ill-conditioned QR fit");
	for (int i = 0; i < 2; i++)
		CHECK(m.phi[i] == q.phi[i], "ill-conditioned: same phi[%d] as QR", i);
	free(work);
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

	CHECK(tsf_ar_fit(y, 5, 3, 1, TSF_AR_OLS, work, &m) == TSF_AR_TOO_SHORT,
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
	CHECK(tsf_ar_select(y, 50, 8, 1, TSF_AR_OLS, work, &p) == TSF_AR_OK && p == 0,
		  "constant series selects order 0 (got %d)", p);
	CHECK(tsf_ar_fit(y, 50, 0, 1, TSF_AR_OLS, work, &m) == TSF_AR_OK &&
		  fabs(m.c - 4.25) < 1e-14 && m.sigma2 < 1e-28, "constant series AR(0): c = %.17g, sigma2 = %g", m.c, m.sigma2);
	CHECK(tsf_ar_fit(y, 50, 1, 1, TSF_AR_OLS, work, &m) == TSF_AR_RANK_DEFICIENT,
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
	test_qnorm();
	test_min_points();
	test_constant();
	return unit_done();
}

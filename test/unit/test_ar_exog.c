/*
 * test_ar_exog.c
 *		Unit tests of the AR core's exogenous regressors (the *_exog entry
 *		points) against statsmodels' AutoReg(exog=...).
 *
 * Reads test/fixtures/ar_exog_cases.csv, ar_exog_series.csv and
 * ar_exog_reference.csv (made by make_ar_exog_fixtures.py): for each case
 * it builds the regressors as the fixture script did (the season's
 * Fourier terms through tsf_ar_fourier, then the covariates), selects the
 * order where the case does, fits through the fast path and the QR path,
 * and compares order, intercept, phi, beta, sigma2, AIC, nobs, 16
 * forecasts with their standard errors and the last 100 one-step
 * predictions.  Then what no fixture shows: m = 0 is the plain core bit
 * for bit, scaled regressors, collinear ones, the poll, the arguments'
 * bounds.  Run from the repository root.
 */
#include "ar/ar.h"
#include "unit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define RTOL 1e-8
#define NW 1666					/* weeks in ar_exog_series.csv */
#define H 16
#define MAXREF 2048
#define MAXCASES 16

typedef struct Case
{
	char		name[40];
	char		ts[16];
	char		covs[32];		/* "clim|trend" */
	int			train;
	int			K;
	double		period;
	double		phase;
	int			intercept;
	int			order;
	int			max_order;
} Case;

typedef struct Ref
{
	char		name[40];
	char		key[8];
	int			idx;
	double		value;
} Ref;

static double flow[NW],
			clim[NW],
			trend[NW];
static int	nweeks,
			nobs_flow;
static Case cases[MAXCASES];
static int	ncases;
static Ref	refs[MAXREF];
static int	nrefs;
static double worst;			/* the largest difference from statsmodels */

/* CHECK_CLOSE against a reference, the difference kept for the report */
#define CHECK_REF(got, want, what) \
	do { \
		double	_g = (got), _w = (want); \
		double	_d = fabs(_g - _w) / (fabs(_w) > 1.0 ? fabs(_w) : 1.0); \
		if (_d > worst) \
			worst = _d; \
		CHECK_CLOSE(_g, _w, RTOL, what); \
	} while (0)

static FILE *
open_fixture(const char *path, char *line, int len)
{
	FILE	   *f = fopen(path, "r");

	if (!f)
	{
		perror(path);
		exit(2);
	}
	if (!fgets(line, len, f))
		exit(2);
	return f;
}

static void
load(void)
{
	char		line[512];
	FILE	   *f = open_fixture("test/fixtures/ar_exog_series.csv", line, sizeof(line));

	while (nweeks < NW && fgets(line, sizeof(line), f))
	{
		char	   *p = strchr(line, ',');	/* after week_start */

		p = strchr(p + 1, ',');	/* after t */
		if (p[1] == ',')
		{
			flow[nweeks] = NAN;	/* a future week */
			p++;
		}
		else
		{
			flow[nweeks] = strtod(p + 1, &p);
			nobs_flow++;
		}
		clim[nweeks] = strtod(p + 1, &p);
		trend[nweeks] = strtod(p + 1, NULL);
		nweeks++;
	}
	fclose(f);

	f = open_fixture("test/fixtures/ar_exog_cases.csv", line, sizeof(line));
	while (ncases < MAXCASES && fgets(line, sizeof(line), f))
	{
		Case	   *c = &cases[ncases];
		char	   *q = strrchr(line, '"');	/* after the quoted options */
		char		name[40],
					ts[16];

		if (sscanf(line, "%39[^,],%15[^,],", name, ts) != 2 || q == NULL)
			continue;
		strcpy(c->name, name);
		strcpy(c->ts, ts);
		q++;					/* at ",covariates,..." */
		c->covs[0] = '\0';
		if (q[1] != ',')
			sscanf(q + 1, "%31[^,]", c->covs);
		q = strchr(q + 1, ',');
		if (sscanf(q + 1, "%d,%d,%lf,%lf,%d,%d,%d", &c->train, &c->K, &c->period,
				   &c->phase, &c->intercept, &c->order, &c->max_order) == 7)
			ncases++;
	}
	fclose(f);

	f = open_fixture("test/fixtures/ar_exog_reference.csv", line, sizeof(line));
	while (nrefs < MAXREF && fgets(line, sizeof(line), f))
	{
		Ref		   *r = &refs[nrefs];

		if (sscanf(line, "%39[^,],%7[^,],%d,%lf", r->name, r->key, &r->idx, &r->value) == 4)
			nrefs++;
	}
	fclose(f);
}

static bool
ref_find(const char *name, const char *key, int idx, double *v)
{
	for (int i = 0; i < nrefs; i++)
		if (!strcmp(refs[i].name, name) && !strcmp(refs[i].key, key) && refs[i].idx == idx)
		{
			*v = refs[i].value;
			return true;
		}
	return false;
}

static double
ref(const char *name, const char *key, int idx)
{
	double		v;

	if (!ref_find(name, key, idx, &v))
	{
		printf("not ok: missing reference %s %s %d\n", name, key, idx);
		exit(2);
	}
	return v;
}

/* the case's regressors for weeks 0..rows-1: (rows, m) row-major */
static int
build_x(const Case *c, int rows, double *x)
{
	int			ncov = c->covs[0] == '\0' ? 0 : strchr(c->covs, '|') ? 2 : 1;
	int			m = 2 * c->K + ncov;
	const char *second = strchr(c->covs, '|');

	for (int t = 0; t < rows; t++)
	{
		double	   *row = x + (size_t) t * m;

		tsf_ar_fourier(c->period, c->phase, t, c->K, row);
		for (int j = 0; j < ncov; j++)
		{
			const char *name = j == 0 ? c->covs : second + 1;

			row[2 * c->K + j] = strncmp(name, "clim", 4) == 0 ? clim[t] : trend[t];
		}
	}
	return m;
}

static void
check_case(const Case *c)
{
	static double y[NW],
				x[NW * 16];
	int			n = c->train;
	int			nall = nobs_flow;	/* the update case moves over the rest */
	int			m = build_x(c, nobs_flow + H, x);
	int			p;
	int			maxp = c->max_order >= 0 ? c->max_order :
		tsf_ar_default_max_order_exog(n, c->intercept, m);
	double		phi[TSF_AR_MAX_ORDER],
				beta[TSF_AR_MAX_EXOG],
				qphi[TSF_AR_MAX_ORDER],
				qbeta[TSF_AR_MAX_EXOG];
	TsfArModel	a = {.phi = phi, .beta = beta},
				q = {.phi = qphi, .beta = qbeta};
	double		mean[H],
				se[H];
	double	   *work = malloc(sizeof(double) * tsf_ar_work_size_exog(n, maxp, m));
	char		what[96];

	for (int t = 0; t < nall; t++)
		y[t] = log(flow[t]);
	if (c->order >= 0)
		p = c->order;
	else
		CHECK(tsf_ar_select_exog(y, n, maxp, c->intercept, x, m, NULL, work, &p) == TSF_AR_OK,
			  "%s: select", c->name);
	CHECK(p == (int) ref(c->name, "p", 0), "%s: order %d, statsmodels %g", c->name, p,
		  ref(c->name, "p", 0));

	CHECK(tsf_ar_fit_exog(y, n, p, c->intercept, x, m, NULL, work, &a) == TSF_AR_OK,
		  "%s: fit", c->name);
	CHECK(tsf_ar_fit_ols_qr_exog(y, n, p, c->intercept, x, m, NULL, work, &q) == TSF_AR_OK,
		  "%s: QR fit", c->name);
	for (int path = 0; path < 2; path++)
	{
		const TsfArModel *r = path == 0 ? &a : &q;

		snprintf(what, sizeof(what), "%s%s", c->name, path == 0 ? "" : " (QR path)");
		CHECK(r->m == m && r->p == p && r->nobs == (int) ref(c->name, "nobs", 0),
			  "%s: m %d, p %d, nobs %d", what, r->m, r->p, r->nobs);
		CHECK_REF(r->c, ref(c->name, "c", 0), what);
		CHECK_REF(r->sigma2, ref(c->name, "sigma2", 0), what);
		CHECK_REF(r->aic, ref(c->name, "aic", 0), what);
		for (int i = 0; i < p; i++)
			CHECK_REF(r->phi[i], ref(c->name, "phi", i), what);
		for (int j = 0; j < m; j++)
			CHECK_REF(r->beta[j], ref(c->name, "beta", j), what);
	}
	printf("  %-28s p = %2d, m = %d, %s path\n", c->name, p, m,
		   a.solver == 0 ? "normal-equation" : "QR");

	/* forecasts from the last p weeks of all the data, future x known */
	{
		double	   *fw = malloc(sizeof(double) * (p + 2 * H));

		tsf_ar_forecast_exog(&a, y + nall - p, H, x + (size_t) nall * m, mean, se, fw);
		free(fw);
	}
	snprintf(what, sizeof(what), "%s forecast", c->name);
	for (int k = 0; k < H; k++)
	{
		CHECK_REF(mean[k], ref(c->name, "mean", k), what);
		CHECK_REF(se[k], ref(c->name, "se", k), what);
	}

	/* one-step predictions of the last 100 weeks */
	snprintf(what, sizeof(what), "%s one-step", c->name);
	for (int t = nall - 100; t < nall; t++)
		CHECK_REF(tsf_ar_predict1_exog(&a, y + t - p, x + (size_t) t * m),
					ref(c->name, "fitted", t), what);
	free(work);
}

/* the *_exog entry points with m = 0 are the plain ones, bit for bit */
static void
test_no_exog_same(void)
{
	static double y[NW];
	int			n = nobs_flow;
	size_t		ws = tsf_ar_work_size(n, 32);
	double	   *work = malloc(sizeof(double) * ws);
	double		phi0[32],
				phi1[32];
	TsfArModel	m0 = {.phi = phi0},
				m1 = {.phi = phi1};
	int			p0 = -1,
				p1 = -2;

	CHECK(tsf_ar_work_size_exog(n, 32, 0) == ws && tsf_ar_min_points_exog(5, 1, 0) == tsf_ar_min_points(5, 1) &&
		  tsf_ar_default_max_order_exog(n, 1, 0) == tsf_ar_default_max_order(n, 1),
		  "m = 0: the same sizes and bounds");
	for (int t = 0; t < n; t++)
		y[t] = log(flow[t]);
	CHECK(tsf_ar_select(y, n, 32, 1, TSF_AR_OLS, NULL, work, &p0) == TSF_AR_OK &&
		  tsf_ar_select_exog(y, n, 32, 1, NULL, 0, NULL, work, &p1) == TSF_AR_OK && p0 == p1,
		  "m = 0: the same order chosen (%d, %d)", p0, p1);
	for (int p = 0; p <= 8; p += 4)
		for (int qr = 0; qr <= 1; qr++)
		{
			TsfArStatus s0 = qr ? tsf_ar_fit_ols_qr(y, n, p, 1, NULL, work, &m0) :
				tsf_ar_fit(y, n, p, 1, TSF_AR_OLS, NULL, work, &m0);
			TsfArStatus s1 = qr ? tsf_ar_fit_ols_qr_exog(y, n, p, 1, NULL, 0, NULL, work, &m1) :
				tsf_ar_fit_exog(y, n, p, 1, NULL, 0, NULL, work, &m1);

			CHECK(s0 == TSF_AR_OK && s1 == TSF_AR_OK && m1.m == 0 &&
				  memcmp(&m0.c, &m1.c, sizeof(double)) == 0 &&
				  memcmp(&m0.sigma2, &m1.sigma2, sizeof(double)) == 0 &&
				  memcmp(&m0.aic, &m1.aic, sizeof(double)) == 0 &&
				  m0.solver == m1.solver && memcmp(phi0, phi1, sizeof(double) * p) == 0,
				  "m = 0, AR(%d)%s: the plain fit, bit for bit", p, qr ? " (QR)" : "");
		}
	free(work);
}

/*
 * A regressor scaled by 2^e (e = 500: outside the range fitted as is; -30:
 * inside) gives the same fit with its beta scaled by 2^-e; the series
 * scaled by 2^500, its c, beta and sigma2 scaled as the series is
 */
static void
test_scaled(void)
{
	static double y[NW],
				ys[NW],
				x[NW * 8],
				xs[NW * 8];
	const Case *c = &cases[3];	/* harm3_clim_trend_aic: 8 regressors */
	int			n = nobs_flow,
				p = 5;
	int			m = build_x(c, n, x);
	double		phi0[8],
				beta0[8],
				phi[8],
				beta[8];
	TsfArModel	m0 = {.phi = phi0, .beta = beta0},
				m1 = {.phi = phi, .beta = beta};
	double	   *work = malloc(sizeof(double) * tsf_ar_work_size_exog(n, p, m));
	static const int exps[] = {500, -30, -500};

	for (int t = 0; t < n; t++)
		y[t] = log(flow[t]);
	CHECK(tsf_ar_fit_exog(y, n, p, 1, x, m, NULL, work, &m0) == TSF_AR_OK, "scaled: unscaled fit");
	for (int i = 0; i < 3; i++)
	{
		int			e = exps[i];
		char		what[64];

		memcpy(xs, x, sizeof(double) * n * m);
		for (int t = 0; t < n; t++)
			xs[t * m + 6] = ldexp(x[t * m + 6], e);	/* clim */
		snprintf(what, sizeof(what), "clim x 2^%d", e);
		CHECK(tsf_ar_fit_exog(y, n, p, 1, xs, m, NULL, work, &m1) == TSF_AR_OK, "%s: fit", what);
		CHECK_CLOSE(ldexp(beta[6], e), beta0[6], 1e-12, what);
		CHECK_CLOSE(m1.c, m0.c, 1e-12, what);
		CHECK_CLOSE(m1.sigma2, m0.sigma2, 1e-12, what);
		for (int j = 0; j < p; j++)
			CHECK_CLOSE(phi[j], phi0[j], 1e-12, what);
	}
	for (int t = 0; t < n; t++)
		ys[t] = ldexp(y[t], 500);
	CHECK(tsf_ar_fit_exog(ys, n, p, 1, x, m, NULL, work, &m1) == TSF_AR_OK, "y x 2^500: fit");
	CHECK_CLOSE(ldexp(m1.c, -500), m0.c, 1e-12, "y x 2^500: c");
	CHECK_CLOSE(ldexp(m1.sigma2, -1000), m0.sigma2, 1e-12, "y x 2^500: sigma2");
	for (int j = 0; j < m; j++)
		CHECK_CLOSE(ldexp(beta[j], -500), beta0[j], 1e-12, "y x 2^500: beta");
	for (int j = 0; j < p; j++)
		CHECK_CLOSE(phi[j], phi0[j], 1e-12, "y x 2^500: phi");
	free(work);
}

/* collinear regressors: RANK_DEFICIENT from the selection and the fit */
static void
test_collinear(void)
{
	static double y[NW],
				x[NW * 3];
	int			n = nobs_flow;
	double		phi[8],
				beta[3];
	TsfArModel	a = {.phi = phi, .beta = beta};
	double	   *work = malloc(sizeof(double) * tsf_ar_work_size_exog(n, 8, 3));
	int			p;

	for (int t = 0; t < n; t++)
	{
		y[t] = log(flow[t]);
		tsf_ar_fourier(365.25 / 7, 0.25, t, 1, x + t * 3);
		x[t * 3 + 2] = 3.0 * x[t * 3];	/* 3 sin */
	}
	CHECK(tsf_ar_select_exog(y, n, 8, 1, x, 3, NULL, work, &p) == TSF_AR_RANK_DEFICIENT,
		  "3 sin beside sin: the selection is rank deficient");
	CHECK(tsf_ar_fit_exog(y, n, 2, 1, x, 3, NULL, work, &a) == TSF_AR_RANK_DEFICIENT,
		  "3 sin beside sin: the fit is rank deficient");
	for (int t = 0; t < n; t++)
		x[t * 3 + 2] = 7.5;		/* a constant beside the intercept */
	CHECK(tsf_ar_fit_exog(y, n, 2, 1, x, 3, NULL, work, &a) == TSF_AR_RANK_DEFICIENT,
		  "a constant regressor beside the intercept is rank deficient");
	CHECK(tsf_ar_fit_exog(y, n, 2, 0, x, 3, NULL, work, &a) == TSF_AR_OK,
		  "a constant regressor without intercept is the intercept");
	free(work);
}

static int
count_poll(void *arg)
{
	int		   *calls = arg;

	return ++calls[0] == calls[1];
}

/* the poll runs through the regressors' work too, and stops it */
static void
test_poll(void)
{
	int			n = 20000,
				m = 24,
				p = 40;
	double	   *y = malloc(sizeof(double) * n),
			   *x = malloc(sizeof(double) * n * m),
			   *work = malloc(sizeof(double) * tsf_ar_work_size_exog(n, p, m));
	double		phi[40],
				beta[24],
				phi1[40],
				beta1[24];
	TsfArModel	a = {.phi = phi, .beta = beta},
				b = {.phi = phi1, .beta = beta1};
	unsigned	s = 99;
	int			calls[2] = {0, 0};
	TsfArPoll	poll = {count_poll, calls};
	int			total,
				q = -1;

	for (int t = 0; t < n; t++)
	{
		s = s * 1103515245u + 12345u;
		y[t] = ((double) (s >> 8) / (1 << 24) - 0.5) + (t > 0 ? 0.5 * y[t - 1] : 0.0);
		tsf_ar_fourier(365.25, 0.1, t, m / 2, x + (size_t) t * m);
	}
	CHECK(tsf_ar_fit_exog(y, n, p, 1, x, m, NULL, work, &a) == TSF_AR_OK, "poll: fit");
	CHECK(tsf_ar_fit_exog(y, n, p, 1, x, m, &poll, work, &b) == TSF_AR_OK &&
		  memcmp(phi, phi1, sizeof(phi)) == 0 && memcmp(beta, beta1, sizeof(beta)) == 0 &&
		  memcmp(&a.c, &b.c, sizeof(double)) == 0,
		  "poll: a poll that never stops changes nothing");
	total = calls[0];
	CHECK(total >= 3, "poll: called %d times", total);
	for (int stop = 1; stop <= total; stop += (total + 3) / 4)
	{
		calls[0] = 0;
		calls[1] = stop;
		CHECK(tsf_ar_fit_exog(y, n, p, 1, x, m, &poll, work, &b) == TSF_AR_CANCELLED &&
			  calls[0] == stop, "poll: stopped at call %d of %d", stop, total);
	}
	calls[0] = 0;
	calls[1] = 2;
	CHECK(tsf_ar_select_exog(y, n, p, 1, x, m, &poll, work, &q) == TSF_AR_CANCELLED,
		  "poll: the selection stops too");
	free(work);
	free(x);
	free(y);
}

static void
test_bounds(void)
{
	double		y[64],
				x[64];
	double		phi[2],
				beta[1];
	TsfArModel	a = {.phi = phi, .beta = beta};
	double		work[4096];
	int			p;

	for (int t = 0; t < 64; t++)
	{
		y[t] = sin(t) + 0.01 * t * t;
		x[t] = cos(0.3 * t);
	}
	CHECK(tsf_ar_min_points_exog(2, 1, 6) == 12, "min points of AR(2) with 6 regressors");
	CHECK(tsf_ar_default_max_order_exog(1650, 1, 8) == 32 &&
		  tsf_ar_default_max_order_exog(20, 1, 8) == 5, "default bound with 8 regressors");
	CHECK(tsf_ar_fit_exog(y, 64, 1, 1, x, TSF_AR_MAX_EXOG + 1, NULL, work, &a) == TSF_AR_INVALID &&
		  tsf_ar_select_exog(y, 64, 1, 1, x, -1, NULL, work, &p) == TSF_AR_INVALID &&
		  tsf_ar_fit_exog(y, 64, 1, 1, NULL, 1, NULL, work, &a) == TSF_AR_INVALID,
		  "m out of range, or no x: INVALID");
	CHECK(tsf_ar_fit_exog(y, 6, 2, 1, x, 1, NULL, work, &a) == TSF_AR_TOO_SHORT &&
		  tsf_ar_fit_exog(y, 7, 2, 1, x, 1, NULL, work, &a) == TSF_AR_OK,
		  "AR(2) with a regressor: too short on 6 points, not on 7");
}

static void
test_fourier(void)
{
	double		out[6];
	double		worst = 0.0;

	/* the phase wraps: step k and step k + period give the same terms */
	for (long long k = 0; k < 2000; k += 7)
	{
		double		a[6],
					b[6];

		tsf_ar_fourier(12.0, 0.3, k, 3, a);
		tsf_ar_fourier(12.0, 0.3, k + 12, 3, b);
		for (int j = 0; j < 6; j++)
			if (fabs(a[j] - b[j]) > worst)
				worst = fabs(a[j] - b[j]);
	}
	CHECK(worst < 1e-12, "Fourier terms repeat every period (%g)", worst);
	tsf_ar_fourier(52.0, 0.0, 13, 3, out);
	CHECK_CLOSE(out[0], 1.0, 1e-15, "sin at a quarter season");
	CHECK_CLOSE(out[1], 0.0, 1e-15, "cos at a quarter season");
	CHECK_CLOSE(out[2], 0.0, 1e-15, "sin 2 at a quarter season");
	CHECK_CLOSE(out[3], -1.0, 1e-15, "cos 2 at a quarter season");
	CHECK_CLOSE(out[4], -1.0, 1e-15, "sin 3 at a quarter season");
	tsf_ar_fourier(52.0, 0.0, -13, 1, out);	/* the phase -1/4 is 3/4 */
	CHECK_CLOSE(out[0], -1.0, 1e-15, "sin: negative steps wrap");
	CHECK_CLOSE(out[1], 0.0, 1e-15, "cos: negative steps wrap");
}

int
main(void)
{
	load();
	CHECK(nweeks == NW && nobs_flow == 1650 && ncases >= 7 && nrefs > 900,
		  "fixtures loaded (%d weeks, %d cases, %d references)", nweeks, ncases, nrefs);
	for (int i = 0; i < ncases; i++)
		check_case(&cases[i]);
	printf("# %d statsmodels cases compared at rtol %g: largest relative difference %.2g\n",
		   ncases, RTOL, worst);
	test_no_exog_same();
	test_scaled();
	test_collinear();
	test_poll();
	test_bounds();
	test_fourier();
	return unit_done();
}

/*
 * test_ar_var.c
 *		Unit tests of the AR core's level-dependent variance
 *		(tsf_ar_variance_fit, tsf_ar_simulate_var, tsf_ar_forecast_var).
 *		sql/buckets.sql checks the fit against numpy on statsmodels'
 *		residuals; here, what defines it:
 *
 *	- the fit's regression is least squares: before the rescale, its
 *	  residuals u - z g are orthogonal to every regressor (to 1e-9 of the
 *	  sums), and after it the mean of e^2 / s2 is 1 (to 1e-12);
 *	- it finds a variance that grows with the level when the data's does
 *	  (a series made so), and the clamp is the lagged values' range;
 *	- a variance model with only a constant, g0 = log sigma2, gives
 *	  tsf_ar_simulate's paths and tsf_ar_forecast_exog's standard errors (to
 *	  1e-15 relative), and a NULL one gives them bit for bit;
 *	- innovations of zero give the forecast's mean bit for bit; a unit
 *	  innovation at step 0 moves step k by sqrt(s2[0]) psi[k], s2[0] at the
 *	  last observed value; forecast_var's first standard error is sqrt(s2[0]);
 *	- tsf_ar_variance_ok refuses a NaN, lo > hi and a variance that can
 *	  overflow; an order of 0 or a constant series are refused; a poll stops
 *	  the fit and the paths.
 */
#include "ar/ar.h"
#include "unit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N 3000
#define H 10
#define P 2
#define M 2

static int
stop_now(void *arg)
{
	(void) arg;
	return 1;
}

/* a uniform (0, 1) from a 64-bit LCG (Knuth's MMIX constants) */
static double
unif(unsigned long long *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return ((double) (*s >> 11) + 0.5) / 9007199254740992.0;
}

static double
gauss(unsigned long long *s)
{
	return sqrt(-2.0 * log(unif(s))) * cos(2.0 * M_PI * unif(s));
}

int
main(void)
{
	static double y[N],
				x[N * M],
				work[1 << 20];
	double		phi[P],
				beta[M],
				g[M + 2],
				g1[M + 2];
	TsfArModel	m = {.phi = phi, .m = M, .beta = beta};
	TsfArVariance v = {.ks = M, .g = g};
	unsigned long long seed = 12345;
	TsfArPoll	stop = {stop_now, NULL};

	/*
	 * AR(2) with two season terms whose innovations' log-variance is
	 * -3 + 0.5 sin + 0.6 y[t-1]: the level drives it
	 */
	y[0] = 0.5;
	y[1] = 0.6;
	for (int t = 0; t < N; t++)
	{
		x[t * M] = sin(2 * M_PI * t / 365.25);
		x[t * M + 1] = cos(2 * M_PI * t / 365.25);
		if (t >= 2)
			y[t] = 0.3 + 0.5 * y[t - 1] + 0.1 * y[t - 2] + 0.4 * x[t * M] +
				sqrt(exp(-3.0 + 0.5 * x[t * M] + 0.6 * y[t - 1])) * gauss(&seed);
	}
	CHECK(tsf_ar_fit_exog(y, N, P, 1, x, M, NULL, work, &m) == TSF_AR_OK, "tsf_ar_fit_exog(y, N, P, 1, x, M, NULL, work, &m) == TSF_AR_OK");
	CHECK(tsf_ar_variance_work_size(M) <= sizeof(work) / sizeof(double), "tsf_ar_variance_work_size(M) <= sizeof(work) / sizeof(double)");
	CHECK(tsf_ar_variance_fit(&m, y, N, x, &v, NULL, work) == TSF_AR_OK, "tsf_ar_variance_fit(&m, y, N, x, &v, NULL, work) == TSF_AR_OK");
	printf("g = %g %g %g %g, clamp [%g, %g]\n", g[0], g[1], g[2], g[3], v.lo, v.hi);
	CHECK(fabs(g[3] - 0.6) < 0.15, "fabs(g[3] - 0.8) < 0.15");
	CHECK(fabs(g[1] - 0.5) < 0.15, "fabs(g[1] - 0.5) < 0.15");
	CHECK(tsf_ar_variance_ok(&v), "tsf_ar_variance_ok(&v)");
	{
		double		lo = y[P - 1],
					hi = y[P - 1];

		for (int t = P; t < N - 1; t++)
		{
			lo = fmin(lo, y[t]);
			hi = fmax(hi, y[t]);
		}
		CHECK(v.lo == lo && v.hi == hi, "v.lo == lo && v.hi == hi");
	}

	/* least squares before the rescale, a unit mean ratio after it */
	{
		double		ms = 0,
					ratio = 0,
					dev[M + 2] = {0},
					mag[M + 2] = {0};
		double		shift;

		for (int t = P; t < N; t++)
		{
			double		e = y[t] - tsf_ar_predict1_exog(&m, y + t - P, x + t * M);

			ms += e * e;
		}
		ms /= N - P;
		for (int t = P; t < N; t++)
		{
			double		e = y[t] - tsf_ar_predict1_exog(&m, y + t - P, x + t * M);
			double		s2 = tsf_ar_variance_at(&v, x + t * M, y[t - 1]);

			ratio += e * e / s2;
		}
		CHECK_CLOSE(ratio / (N - P), 1.0, 1e-12, "ratio / (N - P)");
		/* undo the rescale: g0 before it made the mean ratio this */
		shift = log(ratio / (N - P));
		(void) shift;
		memcpy(g1, g, sizeof(g1));
		{
			/* the log-ratio shift of g0 is what the rescale added: recover it */
			double		sc = 0;

			for (int t = P; t < N; t++)
			{
				double		e = y[t] - tsf_ar_predict1_exog(&m, y + t - P, x + t * M);
				double		u = log(fmax(e * e, 1e-8 * ms));
				double		z[M + 2] = {1.0, x[t * M], x[t * M + 1], y[t - 1]};
				double		fit = 0;

				for (int a = 0; a < M + 2; a++)
					fit += g[a] * z[a];
				sc += u - fit;
			}
			/* least squares with a constant: residuals of mean 0 */
			g1[0] += sc / (N - P);
		}
		for (int t = P; t < N; t++)
		{
			double		e = y[t] - tsf_ar_predict1_exog(&m, y + t - P, x + t * M);
			double		u = log(fmax(e * e, 1e-8 * ms));
			double		z[M + 2] = {1.0, x[t * M], x[t * M + 1], y[t - 1]};
			double		r = u;

			for (int a = 0; a < M + 2; a++)
				r -= g1[a] * z[a];
			for (int a = 0; a < M + 2; a++)
			{
				dev[a] += r * z[a];
				mag[a] += fabs(u * z[a]);
			}
		}
		for (int a = 0; a < M + 2; a++)
			CHECK(fabs(dev[a]) <= 1e-9 * mag[a], "fabs(dev[a]) <= 1e-9 * mag[a]");
	}

	/* a constant variance: the plain paths and errors */
	{
		double		gc[M + 2] = {log(m.sigma2), 0, 0, 0};
		TsfArVariance vc = {.ks = M, .lo = -1, .hi = 1, .g = gc};
		double		xf[H * M],
					z[3 * H],
					p1[3 * H],
					p2[3 * H],
					p3[3 * H],
					mean[H],
					se[H],
					mean2[H],
					se2[H];

		for (int k = 0; k < H; k++)
		{
			xf[k * M] = sin(0.3 * k);
			xf[k * M + 1] = cos(0.3 * k);
		}
		for (int i = 0; i < 3 * H; i++)
			z[i] = gauss(&seed);
		CHECK(tsf_ar_simulate(&m, y + N - P, H, xf, 3, z, p1, work, NULL) == TSF_AR_OK, "tsf_ar_simulate(&m, y + N - P, H, xf, 3, z, p1, work, NULL) == TSF_AR_OK");
		CHECK(tsf_ar_simulate_var(&m, &vc, y + N - P, H, xf, 3, z, p2, work, NULL) == TSF_AR_OK, "tsf_ar_simulate_var(&m, &vc, y + N - P, H, xf, 3, z, p2, work, NULL) == TSF_AR_OK");
		CHECK(tsf_ar_simulate_var(&m, NULL, y + N - P, H, xf, 3, z, p3, work, NULL) == TSF_AR_OK, "tsf_ar_simulate_var(&m, NULL, y + N - P, H, xf, 3, z, p3, work, NULL) == TSF_AR_OK");
		for (int i = 0; i < 3 * H; i++)
		{
			CHECK_CLOSE(p2[i], p1[i], 1e-14, "p2[i]");
			CHECK(p3[i] == p1[i], "p3[i] == p1[i]");
		}
		tsf_ar_forecast_exog(&m, y + N - P, H, xf, mean, se, work);
		CHECK(tsf_ar_forecast_var(&m, &vc, y + N - P, H, xf, mean2, se2, work, NULL) == TSF_AR_OK, "tsf_ar_forecast_var(&m, &vc, y + N - P, H, xf, mean2, se2, work, NULL) == TSF_AR_OK");
		for (int k = 0; k < H; k++)
		{
			CHECK(mean2[k] == mean[k], "mean2[k] == mean[k]");
			CHECK_CLOSE(se2[k], se[k], 1e-14, "se2[k]");
		}
		CHECK(tsf_ar_forecast_var(&m, NULL, y + N - P, H, xf, mean2, se2, work, NULL) == TSF_AR_OK, "tsf_ar_forecast_var(&m, NULL, y + N - P, H, xf, mean2, se2, work, NULL) == TSF_AR_OK");
		for (int k = 0; k < H; k++)
			CHECK(mean2[k] == mean[k] && se2[k] == se[k], "mean2[k] == mean[k] && se2[k] == se[k]");

		/* the fitted variance: zeros are the mean; a unit shock at step 0 */
		memset(z, 0, sizeof(z));
		z[H] = 1.0;
		CHECK(tsf_ar_simulate_var(&m, &v, y + N - P, H, xf, 2, z, p2, work, NULL) == TSF_AR_OK, "tsf_ar_simulate_var(&m, &v, y + N - P, H, xf, 2, z, p2, work, NULL) == TSF_AR_OK");
		CHECK(tsf_ar_forecast_var(&m, &v, y + N - P, H, xf, mean2, se2, work, NULL) == TSF_AR_OK, "tsf_ar_forecast_var(&m, &v, y + N - P, H, xf, mean2, se2, work, NULL) == TSF_AR_OK");
		{
			double		s0 = sqrt(tsf_ar_variance_at(&v, xf, y[N - 1]));

			CHECK_CLOSE(se2[0], s0, 1e-15, "se2[0]");
			for (int k = 0; k < H; k++)
			{
				CHECK(p2[k] == mean[k], "p2[k] == mean[k]");
				/* psi[k] = sqrt(se^2 differences / sigma2) of the constant model */
				{
					double		psi = sqrt((se[k] * se[k] - (k ? se[k - 1] * se[k - 1] : 0)) / m.sigma2);

					CHECK_CLOSE(p2[H + k] - mean[k], s0 * psi, 1e-9, "p2[H + k] - mean[k]");
				}
			}
			/* later errors use the point path's levels: wider than step 0's alone */
			CHECK(se2[H - 1] > se2[0], "se2[H - 1] > se2[0]");
		}

		/*
		 * a poll that stops: it is called every TSF_AR_POLL_FLOPS, so the
		 * work must be that large: 20000 paths; an AR(600) over 20000 rows
		 */
		{
			double	   *zz = work,
					   *pp = work + 20000 * H,
					   *ww = work + 40000 * H;
			static double phib[600],
						yb[20000];
			TsfArModel	mb = {.p = 600, .intercept = 1, .c = 0.1, .phi = phib, .m = 0};
			double		gb[2];
			TsfArVariance vb = {.ks = 0, .g = gb};

			for (int i = 0; i < 20000 * H; i++)
				zz[i] = 0.0;
			CHECK(tsf_ar_simulate_var(&m, &v, y + N - P, H, xf, 20000, zz, pp, ww, &stop) == TSF_AR_CANCELLED, "simulate stops");
			for (int t = 0; t < 20000; t++)
				yb[t] = gauss(&seed);
			phib[0] = 0.2;
			CHECK(tsf_ar_variance_fit(&mb, yb, 20000, NULL, &vb, NULL, ww) == TSF_AR_OK, "the AR(600)'s variance fits");
			CHECK(tsf_ar_variance_fit(&mb, yb, 20000, NULL, &vb, &stop, ww) == TSF_AR_CANCELLED, "its fit stops");
		}
	}

	/* what is refused */
	{
		double		gb[M + 2] = {0, 0, 0, 0};
		TsfArVariance vb = {.ks = M, .lo = 0, .hi = 1, .g = gb};
		TsfArModel	m0 = m;
		static double yc[100];

		CHECK(tsf_ar_variance_ok(&vb), "tsf_ar_variance_ok(&vb)");
		gb[1] = NAN;
		CHECK(!tsf_ar_variance_ok(&vb), "!tsf_ar_variance_ok(&vb)");
		gb[1] = 0;
		vb.lo = 2;
		CHECK(!tsf_ar_variance_ok(&vb), "!tsf_ar_variance_ok(&vb)");
		vb.lo = -1e6;
		vb.hi = 1e6;
		gb[3] = 0.001;
		CHECK(!tsf_ar_variance_ok(&vb), "!tsf_ar_variance_ok(&vb)");	/* 0.001 * 1e6 = 1000 > 700 */
		gb[3] = 0;
		gb[0] = 699;
		gb[1] = 2;
		CHECK(!tsf_ar_variance_ok(&vb), "!tsf_ar_variance_ok(&vb)");	/* 699 + |2| */

		m0.p = 0;
		CHECK(tsf_ar_variance_fit(&m0, y, N, x, &v, NULL, work) == TSF_AR_INVALID, "tsf_ar_variance_fit(&m0, y, N, x, &v, NULL, work) == TSF_AR_INVALID");
		CHECK(tsf_ar_simulate_var(&m0, &v, y, H, NULL, 1, work, work + H, work + 2 * H, NULL) == TSF_AR_INVALID, "tsf_ar_simulate_var(&m0, &v, y, H, NULL, 1, work, work + H, work + 2 * H, NULL) == TSF_AR_INVALID");

		/* a constant series: every residual 0 (an exact fit of c) */
		{
			double		phic[1];
			TsfArModel	mc = {.p = 1, .intercept = 1, .c = 1.0, .phi = phic, .m = 0};
			double		gc[2];
			TsfArVariance vc = {.ks = 0, .g = gc};

			phic[0] = 0.0;
			for (int t = 0; t < 100; t++)
				yc[t] = 1.0;
			CHECK(tsf_ar_variance_fit(&mc, yc, 100, NULL, &vc, NULL, work) == TSF_AR_RANK_DEFICIENT, "tsf_ar_variance_fit(&mc, yc, 100, NULL, &vc, NULL, work) == TSF_AR_RANK_DEFICIENT");
		}
	}
	return unit_done();
}

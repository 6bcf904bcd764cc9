/*
 * test_ar_sim.c
 *		Unit tests of the AR core's sample paths (tsf_ar_simulate), against
 *		its own analytic forecast, which test_ar.c and test_ar_exog.c check
 *		against statsmodels:
 *
 *	- innovations of zero give the forecast's mean, bit for bit;
 *	- a unit innovation at step j moves step k >= j by sigma psi[k - j], the
 *	  MA(inf) weights, which the forecast's standard errors give back:
 *	  se[k]^2 - se[k-1]^2 = sigma2 psi[k]^2 (and steps before j not at all);
 *	- the paths are linear in the innovations: a path of z1 + z2 is the
 *	  mean plus the two responses;
 *	- a poll that asks to stop stops it; a negative count is refused.
 *
 * The model is an AR(3) with an intercept and two exogenous terms (made up:
 * the recursion does not care where the coefficients came from).
 */
#include "ar/ar.h"
#include "unit.h"

#include <string.h>

#define H 12

static int	stop_calls;

static int
stop_now(void *arg)
{
	(void) arg;
	stop_calls++;
	return 1;
}

int
main(void)
{
	double		phi[3] = {0.9, -0.3, 0.15};
	double		beta[2] = {0.4, -0.25};
	TsfArModel	m = {.p = 3, .intercept = 1, .c = 0.7, .sigma2 = 0.36,
	.phi = phi, .m = 2, .beta = beta};
	double		hist[3] = {1.0, 2.5, 1.5};
	double		xf[H * 2];
	double		mean[H],
				se[H],
				work[3 + 2 * H];
	double		z[4 * H],
				paths[4 * H];
	double		sigma = 0.6;
	double		psi[H];
	TsfArPoll	stop = {stop_now, NULL};

	for (int k = 0; k < H; k++)
	{
		xf[2 * k] = sin(0.3 * k);
		xf[2 * k + 1] = cos(0.3 * k);
	}
	tsf_ar_forecast_exog(&m, hist, H, xf, mean, se, work);
	for (int k = 0; k < H; k++)
		psi[k] = sqrt(se[k] * se[k] - (k > 0 ? se[k - 1] * se[k - 1] : 0.0)) / sigma;

	/* path 0: zeros; path 1: a unit at step 0; path 2: at step 4; 3: both */
	memset(z, 0, sizeof(z));
	z[1 * H + 0] = 1.0;
	z[2 * H + 4] = 1.0;
	z[3 * H + 0] = 1.0;
	z[3 * H + 4] = 1.0;
	CHECK(tsf_ar_simulate(&m, hist, H, xf, 4, z, paths, work, NULL) == TSF_AR_OK,
		  "simulate returns OK");
	for (int k = 0; k < H; k++)
	{
		char		what[64];

		CHECK(paths[k] == mean[k], "zero innovations: step %d is the mean (%.17g vs %.17g)",
			  k + 1, paths[k], mean[k]);
		snprintf(what, sizeof(what), "unit at step 1: step %d", k + 1);
		/* psi[k] >= 0 from the se's; the response's sign is psi's own */
		CHECK_CLOSE(fabs(paths[H + k] - mean[k]), sigma * psi[k], 1e-12, what);
		snprintf(what, sizeof(what), "unit at step 5: step %d", k + 1);
		CHECK_CLOSE(fabs(paths[2 * H + k] - mean[k]), k < 4 ? 0.0 : sigma * psi[k - 4],
					1e-12, what);
		snprintf(what, sizeof(what), "linearity: step %d", k + 1);
		CHECK_CLOSE(paths[3 * H + k], paths[H + k] + paths[2 * H + k] - mean[k], 1e-12, what);
	}
	/* the first response is sigma exactly: psi[0] = 1 */
	CHECK(paths[H] - mean[0] == sigma * 1.0 || fabs(paths[H] - mean[0] - sigma) < 1e-15,
		  "psi[0] = 1");

	/* the second step's response is phi[1] sigma, with its sign */
	CHECK_CLOSE(paths[H + 1] - mean[1], phi[0] * sigma, 1e-14, "psi[1] = phi[1]");

	/* in place: paths may be z */
	{
		double		zz[4 * H];

		memcpy(zz, z, sizeof(z));
		CHECK(tsf_ar_simulate(&m, hist, H, xf, 4, zz, zz, work, NULL) == TSF_AR_OK &&
			  memcmp(zz, paths, sizeof(zz)) == 0, "in place: the same paths");
	}

	/* without exogenous terms: tsf_ar_forecast's mean */
	{
		TsfArModel	m0 = m;

		m0.m = 0;
		tsf_ar_forecast(&m0, hist, H, mean, se, work);
		CHECK(tsf_ar_simulate(&m0, hist, H, NULL, 1, z, paths, work, NULL) == TSF_AR_OK,
			  "no exog: OK");
		for (int k = 0; k < H; k++)
			CHECK(paths[k] == mean[k], "no exog: step %d is the mean", k + 1);
	}

	/* the poll: a stop at the first call */
	{
		/* enough paths that the count passes TSF_AR_POLL_FLOPS */
		static double bz[100000 * H];	/* in place; 1.4e7 operations */

		stop_calls = 0;
		CHECK(tsf_ar_simulate(&m, hist, H, xf, 100000, bz, bz, work, &stop) == TSF_AR_CANCELLED &&
			  stop_calls == 1, "poll stops the paths (calls %d)", stop_calls);
	}
	CHECK(tsf_ar_simulate(&m, hist, H, xf, -1, z, paths, work, NULL) == TSF_AR_INVALID,
		  "negative path count refused");
	return unit_done();
}

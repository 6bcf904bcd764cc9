/*
 * ar.h
 *		Autoregressive models: estimation, order selection and forecasting.
 *
 * This is the numerical core behind ar_fit() and forecast() for AR models.
 * It knows nothing of PostgreSQL: no palloc, no ereport, no global state.
 * Callers pass every buffer (sizes are given by the *_work_size functions)
 * and get back a status code they turn into an error message.  A long fit
 * can be stopped through a poll function the caller passes (TsfArPoll).
 *
 * The model is
 *
 *		y[t] = c + phi[1] y[t-1] + ... + phi[p] y[t-p] + e[t],  e ~ N(0, sigma2)
 *
 * estimated either by ordinary least squares (as statsmodels' AutoReg) or by
 * the Yule-Walker equations (as R's ar.yw).  The *_exog entry points add m
 * exogenous regressors x[t] (covariates, Fourier terms of a season),
 * contemporaneous with y[t], to the least-squares fit:
 *
 *		y[t] = c + sum_i phi[i] y[t-i] + sum_j beta[j] x[t][j] + e[t]
 *
 * (statsmodels' AutoReg(y, p, trend="c", exog=x)); x is (n, m) row-major,
 * one row of m values per point of the series.  With m = 0 they are the
 * plain entry points, bit for bit.
 *
 * Scale: a series whose largest |y| lies outside [TSF_AR_SCALE_MIN,
 * TSF_AR_SCALE_MAX] (and is not 0) is fitted as y * 2^-k, k chosen so that
 * its largest |value| falls in [1/2, 1).  Scaling by a power of two is exact,
 * so phi is that of the unscaled problem; c and mean come back multiplied by
 * 2^k, sigma2 by 4^k, and the AIC is shifted by nobs * 2k log 2 (the same
 * for every order, so the order chosen is unchanged).  Inside the range,
 * where no sum of squares can overflow or underflow, nothing is scaled.
 * When c, mean or sigma2 does not fit in a double once scaled back, the fit
 * returns TSF_AR_NOT_FINITE.  Each exogenous column is scaled the same way,
 * by its own power of two, and its beta scaled back.
 */
#ifndef TSF_CORE_AR_H
#define TSF_CORE_AR_H

#include <stddef.h>

/* largest AR order accepted anywhere */
#define TSF_AR_MAX_ORDER	1000

/* most exogenous regressors a fit takes */
#define TSF_AR_MAX_EXOG		512

/* largest |y| fitted as it is; outside, the series is scaled (see above) */
#define TSF_AR_SCALE_MIN	0x1p-400
#define TSF_AR_SCALE_MAX	0x1p+400

/*
 * Most floating-point operations (a multiply-add counts two) done between two
 * calls of the poll function: before each unit of work that would take the
 * count since the last call past this, the function is called.  No unit is
 * larger (a row of a Cholesky factorization, a lag of an autocovariance over
 * at most 2^20 points, a block of rows folded into the QR factor, ...).
 */
#define TSF_AR_POLL_FLOPS	1e7

typedef enum TsfArMethod
{
	TSF_AR_OLS = 0,				/* least squares, statsmodels AutoReg */
	TSF_AR_YULE_WALKER = 1		/* Yule-Walker, R ar.yw */
} TsfArMethod;

typedef enum TsfArStatus
{
	TSF_AR_OK = 0,
	TSF_AR_TOO_SHORT,			/* not enough points for the order asked */
	TSF_AR_RANK_DEFICIENT,		/* the lagged design is (numerically) singular */
	TSF_AR_NOT_FINITE,			/* the estimates overflowed */
	TSF_AR_LAPACK,				/* LAPACK reported an argument error */
	TSF_AR_CANCELLED,			/* the poll function asked to stop */
	TSF_AR_INVALID				/* an argument out of its documented range */
} TsfArStatus;

/*
 * How a caller stops a long fit: fn(arg) is called now and then (at most
 * TSF_AR_POLL_FLOPS operations apart) and returns nonzero to stop; the
 * function then returns TSF_AR_CANCELLED at once, its outputs undefined.
 * fn must only look at flags and return (never longjmp out of the core).
 * A NULL TsfArPoll (or fn) never stops; results do not depend on it.
 */
typedef struct TsfArPoll
{
	int			(*fn) (void *arg);
	void	   *arg;
} TsfArPoll;

/*
 * a fitted model; phi has room for p coefficients and, for the *_exog fits
 * with m > 0, beta for m, both supplied by the caller
 */
typedef struct TsfArModel
{
	int			p;				/* order */
	int			intercept;		/* 1 if c was estimated (OLS) or the mean removed (YW) */
	double		c;				/* intercept of the equation above */
	double		mean;			/* YW: the series mean removed before fitting; OLS: 0 */
	double		sigma2;			/* innovation variance used for intervals */
	double		aic;			/* see tsf_ar_fit() for the definition per method */
	int			nobs;			/* equations used in the final fit */
	int			solver;			/* OLS: 0 normal equations + refinement, 1 QR */
	double	   *phi;			/* (p) */
	int			m;				/* exogenous regressors (0: none) */
	double	   *beta;			/* (m) their coefficients */
} TsfArModel;

/* smallest series on which an AR(p) fit (with or without intercept) is allowed */
extern int	tsf_ar_min_points(int p, int intercept);

/* R's default bound for the order, clamped so that the fit stays defined */
extern int	tsf_ar_default_max_order(int n, int intercept);

/* doubles of workspace the functions below need for n points and order <= maxp */
extern size_t tsf_ar_work_size(int n, int maxp);

/* the same three with m exogenous regressors (m = 0: the above) */
extern int	tsf_ar_min_points_exog(int p, int intercept, int m);
extern int	tsf_ar_default_max_order_exog(int n, int intercept, int m);
extern size_t tsf_ar_work_size_exog(int n, int maxp, int m);

/*
 * Choose the order 0..maxp by AIC and return it in *p_out.  OLS compares the
 * orders on the common sample y[maxp..n-1] (statsmodels ar_select_order);
 * Yule-Walker follows R's ar.yw (autocovariances of the whole series).
 */
extern TsfArStatus tsf_ar_select(const double *y, int n, int maxp, int intercept,
								 TsfArMethod method, const TsfArPoll *poll,
								 double *work, int *p_out);

/* fit an AR(p) on y[0..n-1]; m->phi must have room for p values */
extern TsfArStatus tsf_ar_fit(const double *y, int n, int p, int intercept,
							  TsfArMethod method, const TsfArPoll *poll,
							  double *work, TsfArModel *m);

/*
 * Least squares with m exogenous regressors x (n, m) row-major, finite
 * (0 <= m <= TSF_AR_MAX_EXOG; else TSF_AR_INVALID): the order chosen by
 * AIC among 0..maxp with all of x in every candidate, on the common sample
 * (statsmodels' ar_select_order(..., exog=x)), and the fit, whose m->beta
 * must have room for m values.  RANK_DEFICIENT when x's columns are
 * collinear (with each other, the intercept or the lags).  work:
 * tsf_ar_work_size_exog(n, maxp, m) doubles.
 */
extern TsfArStatus tsf_ar_select_exog(const double *y, int n, int maxp, int intercept,
									  const double *x, int m, const TsfArPoll *poll,
									  double *work, int *p_out);
extern TsfArStatus tsf_ar_fit_exog(const double *y, int n, int p, int intercept,
								   const double *x, int m, const TsfArPoll *poll,
								   double *work, TsfArModel *model);

/*
 * Forecast h steps ahead from the last p values of the series, hist[0..p-1]
 * oldest first.  mean[k] is the point forecast for step k+1 and se[k] its
 * standard error sqrt(sigma2 * sum_{j<=k} psi[j]^2), psi being the MA(inf)
 * weights of the model.  work needs p + h doubles.
 */
extern void tsf_ar_forecast(const TsfArModel *m, const double *hist, int h,
							double *mean, double *se, double *work);

/*
 * The same for a model with m->m exogenous regressors, their values at the
 * h future steps in xf (h, m->m) row-major (treated as known: the standard
 * errors are those of the AR part, as statsmodels' AutoReg gives them)
 */
extern void tsf_ar_forecast_exog(const TsfArModel *m, const double *hist, int h,
								 const double *xf, double *mean, double *se,
								 double *work);

/*
 * Sample paths of the model: npaths paths of the h steps after hist (the
 * last p values, oldest first), each through the fitted recursion with the
 * innovations sigma z[i][k], z (npaths, h) row-major standard normal draws
 * the caller makes (the core has no random numbers), xf (h, m->m) the
 * future regressors as in tsf_ar_forecast_exog (NULL when m->m is 0):
 *
 *		y_i[k] = c + sum_j phi[j] y_i[k-j] + beta . xf[k] + sigma z[i][k]
 *
 * (y_i[k-j] from hist for k - j < 0) into paths (npaths, h) row-major;
 * paths may be z itself.  With z = 0 a path is tsf_ar_forecast_exog's mean;
 * with z a unit vector at step j, path - mean is sigma psi[k - j] at steps
 * k >= j (the MA(inf) weights).  work: p + h doubles.  poll is called
 * between paths (at most TSF_AR_POLL_FLOPS apart); TSF_AR_CANCELLED then,
 * else TSF_AR_OK (TSF_AR_INVALID for npaths < 0 or h < 0).
 */
extern TsfArStatus tsf_ar_simulate(const TsfArModel *m, const double *hist, int h,
								   const double *xf, int npaths, const double *z,
								   double *paths, double *work,
								   const TsfArPoll *poll);

/*
 * A level-dependent innovation variance (model_ar.c's "variance": "level"):
 *
 *		log s2[t] = g[0] + sum_{j<ks} g[1+j] x[t][j] + g[ks+1] clamp(y[t-1], lo, hi)
 *
 * x[t][0..ks-1] the first ks exogenous regressors of step t (the season's
 * Fourier terms), y[t-1] the previous value, clamped to the range of the
 * lagged values the fit saw, so that a simulated path far outside it does
 * not feed a variance the data never showed.  Harvey's (1976,
 * "Estimating regression models with multiplicative heteroscedasticity",
 * Econometrica 44(3)) two-step estimator: least squares of log e[t]^2 (e
 * the fitted model's residuals, each floored at 1e-8 times their mean
 * square so that an exact fit of one step does not dominate) on those
 * regressors, then g[0] moved so that the mean of e[t]^2 / s2[t] is 1
 * (which absorbs E log chi2(1) = -1.27).  Flows' errors grow with the flow
 * (McInerney et al. 2017, Water Resources Research 53(3)); on the log scale
 * that is a variance that moves with the level and the season.
 */
typedef struct TsfArVariance
{
	int			ks;				/* season regressors: the first ks of x */
	double		lo,				/* the lagged value's clamp */
				hi;
	double	   *g;				/* (ks + 2) */
} TsfArVariance;

/* the largest log-variance a model may reach (exp of it stays finite) */
#define TSF_AR_MAX_LOG_VARIANCE	700.0

/* doubles of workspace tsf_ar_variance_fit needs */
extern size_t tsf_ar_variance_work_size(int ks);

/*
 * Fit v->g (room for ks + 2 values, v->ks set by the caller, ks <= m->m)
 * on the residuals of model m (p >= 1, else TSF_AR_INVALID) at steps
 * t = p .. n-1 of y, x (n, m->m) row-major (NULL when m->m is 0), and set
 * v->lo, v->hi.  RANK_DEFICIENT when the regressors are collinear (a
 * constant series) or every residual is 0; NOT_FINITE when the variance
 * the model can reach (tsf_ar_variance_ok) is not finite.  Polled.
 */
extern TsfArStatus tsf_ar_variance_fit(const TsfArModel *m, const double *y, int n,
									   const double *x, TsfArVariance *v,
									   const TsfArPoll *poll, double *work);

/* whether every g is finite, lo <= hi, and the largest log-variance the
 * model reaches (x in [-1, 1], the clamp) is at most TSF_AR_MAX_LOG_VARIANCE */
extern int	tsf_ar_variance_ok(const TsfArVariance *v);

/* s2 at a step of season regressors xs (ks values) after value ylag */
extern double tsf_ar_variance_at(const TsfArVariance *v, const double *xs, double ylag);

/*
 * tsf_ar_forecast_exog with the variance v (NULL: that function, bit for
 * bit): se[k]^2 = sum_{j<=k} psi[j]^2 s2[k-j], s2[i] the variance of step
 * i at the point forecast's previous value (step 0's is hist's last, exact;
 * later ones a plug-in approximation: the paths give the exact
 * distribution).  work: p + 3h doubles.  Polled (h^2 / 2 operations):
 * TSF_AR_CANCELLED, else TSF_AR_OK.
 */
extern TsfArStatus tsf_ar_forecast_var(const TsfArModel *m, const TsfArVariance *v,
									   const double *hist, int h, const double *xf,
									   double *mean, double *se, double *work,
									   const TsfArPoll *poll);

/*
 * tsf_ar_simulate with the variance v (NULL: that function, bit for bit):
 * the innovation of path i at step k is sqrt(s2[k]) z[i][k], s2[k] at the
 * path's own previous value (hist's last for k = 0).  v needs p >= 1.
 */
extern TsfArStatus tsf_ar_simulate_var(const TsfArModel *m, const TsfArVariance *v,
									   const double *hist, int h, const double *xf,
									   int npaths, const double *z, double *paths,
									   double *work, const TsfArPoll *poll);

/* OLS through the blocked QR alone (tsf_ar_fit may take a faster path) */
extern TsfArStatus tsf_ar_fit_ols_qr(const double *y, int n, int p, int intercept,
									 const TsfArPoll *poll, double *work,
									 TsfArModel *m);
extern TsfArStatus tsf_ar_fit_ols_qr_exog(const double *y, int n, int p, int intercept,
										  const double *x, int m, const TsfArPoll *poll,
										  double *work, TsfArModel *model);

/* one-step prediction c + sum phi[i] lags[p-i] (lags oldest first) */
extern double tsf_ar_predict1(const TsfArModel *m, const double *lags);

/* the same plus sum beta[j] x[j], x the step's m->m regressors */
extern double tsf_ar_predict1_exog(const TsfArModel *m, const double *lags,
								   const double *x);

/*
 * The Fourier terms of a season of period steps (> 0) at grid step k:
 * out[2(j-1)] = sin(2 pi j s), out[2(j-1)+1] = cos(2 pi j s) for the
 * harmonics j = 1..K, with s the season's phase at step k,
 * frac(s0 + (k mod period) / period), s0 its phase at step 0 (as the LSTM's
 * season inputs, lstm_model.c).  out: 2K values.
 */
extern void tsf_ar_fourier(double period, double s0, long long k, int K,
						   double *out);

/* standard normal quantile (Wichura's AS 241, relative error about 1e-16) */
extern double tsf_qnorm(double p);

#endif							/* TSF_CORE_AR_H */

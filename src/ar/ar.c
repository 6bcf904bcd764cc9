/*
 * ar.c
 *		Autoregressive estimation, AIC order selection and forecasting.
 *
 * Two estimators, each matching a reference implementation:
 *
 *	OLS		y[t] regressed on (1, y[t-1], ..., y[t-p]) for t = p..n-1, solved by
 *			a Householder QR factorization of the design, as statsmodels'
 *			AutoReg does; sigma2 = SSE / nobs; AIC as AutoReg's:
 *			-2 llf + 2 (p + intercept + 1).  The rows are folded a block at
 *			a time into the triangular factor R carried so far (LAPACK's
 *			triangular-pentagonal QR, dtpqrt, without refactoring R), so a
 *			series of a million points needs O(p^2) memory, not O(n p), the
 *			fit is O(n p^2), and it can poll for a cancel every few
 *			milliseconds.
 *
 *	Yule-Walker	R's ar.yw: autocovariances with divisor n of the demeaned
 *			series, Durbin-Levinson recursion, var.pred scaled by
 *			n / (n - (p + 1)), AIC n log(v[p]) + 2 p + 2 demean.
 *
 * Order selection for OLS compares every order on the common sample
 * y[P..n-1] (statsmodels' ar_select_order).  Rather than fitting P+1 models
 * it builds the Gram matrix of (1, lags 1..P, y) once, each entry of lag
 * products updated from its neighbour up the diagonal in O(1) (written by
 * hand: this is what keeps ar_fit() near the cost of avg() over many short
 * series), and reads every nested model's residual sum of squares off one
 * Cholesky factor.
 *
 * Cancellation: every public function takes a TsfArPoll and calls it between
 * units of work, a unit being at most TSF_AR_POLL_FLOPS operations (loops
 * over the series are cut into chunks of CHUNK points for that).  Chunking
 * keeps the order of every sum, so results are those of unchunked loops.
 *
 * Scale: the series is fitted as y * 2^-k when its magnitude is outside
 * [TSF_AR_SCALE_MIN, TSF_AR_SCALE_MAX] (ar.h); the estimators below see the
 * factor f = 2^-k (1 otherwise) and return the model in the scaled units,
 * which finish_model() turns back.
 *
 * Exogenous regressors (the *_exog entry points): the m columns of x are
 * copied once into the workspace, column-major, each scaled by its own
 * power of two as the series is and, with an intercept, centered (which
 * changes no fit, and conditions the Gram matrix as centering the series
 * does); ArExog carries the copy.  Every design then has the columns
 * (1 if intercept, x[.][0..m-1], lags 1..p, y): x comes before the lags,
 * so that the order selection's nested models all hold it, and with m = 0
 * every loop over x is empty and every index is what it was without
 * exogenous terms, so those fits are the same operations, bit for bit.
 */
#include "ar.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#ifndef M_LN2
#define M_LN2 0.69314718055994530942
#endif

/*
 * LAPACK (Debian's liblapack3); declared here to avoid a header dependency.
 * Character arguments carry their lengths last, as gfortran passes them.
 */
extern void dgeqrf_(const int *m, const int *n, double *a, const int *lda,
					double *tau, double *work, const int *lwork, int *info);
extern void dtpqrt_(const int *m, const int *n, const int *l, const int *nb,
					double *a, const int *lda, double *b, const int *ldb,
					double *t, const int *ldt, double *work, int *info);
extern void dtpmqrt_(const char *side, const char *trans, const int *m,
					 const int *n, const int *k, const int *l, const int *nb,
					 const double *v, const int *ldv, const double *t,
					 const int *ldt, double *a, const int *lda, double *b,
					 const int *ldb, double *work, int *info,
					 size_t side_len, size_t trans_len);

/*
 * Points of the series one unit of polled work covers in an O(n) loop: at
 * most 4 operations a point, so a chunk is about 4e6 operations.  A multiple
 * of 4, which dot() relies on.
 */
#define CHUNK			(1 << 20)

/*
 * The QR fit's blocks (ar_fit_ols_qr).  While R fills (the first kc rows),
 * a few rows at a time, dtpqrt's block size QR_NB_START: with reference
 * BLAS 2 to 8 measure alike for 4 rows, and its own overhead (about nb/2
 * kc^2 operations a call, for the block reflector) stays small.  Once R is
 * full, blocks of up to QR_MAX_ROWS rows taken QR_PANEL columns at a time:
 * dtpqrt on the panel, dtpmqrt on the columns to its right, which is
 * dtpqrt's own loop (the same operations, the same bits) with a poll
 * between panels.  At p = 1000 that folds 151 rows per block where a whole
 * dtpqrt call within the poll interval could take 4 (the block sizes are
 * the fastest measured: bench/RESULTS.md, "Measurements behind the code's
 * choices").
 */
#define QR_NB_START		4
#define QR_PANEL		16
#define QR_MAX_ROWS		256

typedef struct ArPoll
{
	const TsfArPoll *poll;		/* the caller's, or NULL */
	double		since;			/* operations counted since the last call */
} ArPoll;

/* the exogenous regressors as the estimators see them (m = 0: none) */
typedef struct ArExog
{
	int			m;
	const double *xc;			/* (m, n) column-major: column j at xc + j n,
								 * x[.][j] 2^-e[j] - mu[j] */
	const double *mu;			/* (m) the shifts (0 without an intercept) */
	int			e[TSF_AR_MAX_EXOG]; /* the columns' scale exponents */
} ArExog;

/* most regressors of any design: intercept, exogenous columns, lags */
#define MAX_REGRESSORS	(1 + TSF_AR_MAX_EXOG + TSF_AR_MAX_ORDER)

static TsfArStatus ar_fit_ols_qr(const double *y, int n, int p, int intercept,
								 double f, const ArExog *ex, ArPoll *pl,
								 double *work, TsfArModel *m);

/*
 * Account for a unit of about `flops` operations about to start, calling the
 * poll function first when the unit would take the count since the last call
 * past TSF_AR_POLL_FLOPS.  True means stop: the caller returns
 * TSF_AR_CANCELLED without further work.
 */
static inline bool
poll_stop(ArPoll *pl, double flops)
{
	if (pl->poll == NULL || pl->poll->fn == NULL)
		return false;
	if (pl->since + flops > TSF_AR_POLL_FLOPS)
	{
		pl->since = 0.0;
		if (pl->poll->fn(pl->poll->arg) != 0)
			return true;
	}
	pl->since += flops;
	return false;
}

/* the end of the chunk of [t0, n) that starts at t0 */
static inline int
chunk_end(int t0, int n)
{
	return n - t0 < CHUNK ? n : t0 + CHUNK;
}

/*
 * Rows folded into R per call while it fills, for kc columns: m rows cost
 * about 2 m kc^2 operations, so m = TSF_AR_POLL_FLOPS / (2 kc^2), at least 1
 * (4 for kc <= 1118, hence for every order allowed), at most QR_MAX_ROWS.
 */
static int
qr_start_rows(int kc)
{
	double		m = TSF_AR_POLL_FLOPS / (2.0 * kc * kc);

	return m >= QR_MAX_ROWS ? QR_MAX_ROWS : m < 1.0 ? 1 : (int) m;
}

/*
 * Rows per block once R is full: one panel of w <= QR_PANEL columns costs
 * about (4 m w + w^2) kc operations (dtpmqrt's update of the columns to its
 * right), so m = (TSF_AR_POLL_FLOPS / kc - w^2) / (4 w): 151 at kc = 1002,
 * QR_MAX_ROWS from kc = 600 down.
 */
static int
qr_block_rows(int kc)
{
	int			w = kc < QR_PANEL ? kc : QR_PANEL;
	double		m = (TSF_AR_POLL_FLOPS / kc - (double) w * w) / (4.0 * w);

	return m >= QR_MAX_ROWS ? QR_MAX_ROWS : m < 1.0 ? 1 : (int) m;
}

/*
 * Doubles of workspace the QR fit needs for up to kc columns: R (kc, kc),
 * the block of rows, and T and work (QR_PANEL, kc) each.  A smaller kc
 * takes more rows per block, so the block is sized for the largest
 * rows * columns over every kc' <= kc.
 */
static size_t
qr_work_size(int kc)
{
	size_t		block = 0;

	for (int c = 1; c <= kc; c++)
	{
		int			rows = qr_start_rows(c) > qr_block_rows(c) ?
			qr_start_rows(c) : qr_block_rows(c);

		if ((size_t) rows * c > block)
			block = (size_t) rows * c;
	}
	return (size_t) kc * kc + block + 2 * (size_t) QR_PANEL * kc;
}

int
tsf_ar_min_points(int p, int intercept)
{
	return tsf_ar_min_points_exog(p, intercept, 0);
}

/* more equations (n - p) than regressors (p + intercept + m) */
int
tsf_ar_min_points_exog(int p, int intercept, int m)
{
	int			n = 2 * p + intercept + m + 1;

	return n < 3 ? 3 : n;
}

int
tsf_ar_default_max_order(int n, int intercept)
{
	return tsf_ar_default_max_order_exog(n, intercept, 0);
}

int
tsf_ar_default_max_order_exog(int n, int intercept, int m)
{
	int			p = (int) floor(10.0 * log10((double) n));
	int			feasible = (n - intercept - m - 1) / 2;

	if (p > n - 1)
		p = n - 1;
	if (p > feasible)
		p = feasible;
	if (p > TSF_AR_MAX_ORDER)
		p = TSF_AR_MAX_ORDER;
	return p < 0 ? 0 : p;
}

size_t
tsf_ar_work_size(int n, int maxp)
{
	return tsf_ar_work_size_exog(n, maxp, 0);
}

size_t
tsf_ar_work_size_exog(int n, int maxp, int m)
{
	size_t		kc = (size_t) maxp + 2 + m; /* intercept, x, lags, y */
	size_t		gram = 2 * (size_t) n + kc * kc + 2 * kc;	/* series, Gram, scratch, residuals */
	size_t		exog = m > 0 ? ((size_t) n + 1) * m : 0;	/* x's copy and shifts */

	/* the QR fallback works past the Gram's area */
	return exog + gram + qr_work_size((int) kc);
}

/*
 * The scale exponent k of the series: 0 when its largest |y| lies in
 * [TSF_AR_SCALE_MIN, TSF_AR_SCALE_MAX] (or is 0, or not finite: the fit then
 * fails as it would unscaled), else the k with max |y| 2^-k in [1/2, 1),
 * clamped to [-1022, 1024] so that 2^-k is a double (the clamp leaves the
 * scaled maximum at least 2^-52, still inside the range).
 */
static bool
scale_exponent(const double *y, int n, ArPoll *pl, int *k)
{
	double		amax = 0.0;
	int			e;

	for (int t0 = 0; t0 < n;)
	{
		int			t1 = chunk_end(t0, n);

		if (poll_stop(pl, t1 - t0))
			return true;
		for (int t = t0; t < t1; t++)
			if (fabs(y[t]) > amax)
				amax = fabs(y[t]);
		t0 = t1;
	}
	*k = 0;
	if (amax == 0.0 || !isfinite(amax) ||
		(amax >= TSF_AR_SCALE_MIN && amax <= TSF_AR_SCALE_MAX))
		return false;
	(void) frexp(amax, &e);
	*k = e < -1022 ? -1022 : e;
	return false;
}

/* ys = y * f, for the estimators that read the series many times */
static bool
scale_copy(const double *y, int n, double f, ArPoll *pl, double *ys)
{
	for (int t0 = 0; t0 < n;)
	{
		int			t1 = chunk_end(t0, n);

		if (poll_stop(pl, t1 - t0))
			return true;
		for (int t = t0; t < t1; t++)
			ys[t] = y[t] * f;
		t0 = t1;
	}
	return false;
}

/*
 * The copy of the exogenous regressors x (n, m) row-major the estimators
 * use (ArExog): column j scaled by 2^-e[j], e[j] chosen as for the series
 * (scale_exponent), and with an intercept shifted by its mean, into xc
 * (m, n) column-major and mu (m).  O(n m), polled per column and chunk.
 * True when the poll asked to stop.
 */
static bool
prepare_exog(const double *x, int n, int m, int intercept, ArPoll *pl,
			 double *xc, double *mu, ArExog *ex)
{
	ex->m = m;
	ex->xc = xc;
	ex->mu = mu;
	for (int j = 0; j < m; j++)
	{
		double	   *col = xc + (size_t) j * n;
		double		amax = 0.0,
					sum = 0.0,
					g;
		int			e = 0;

		for (int t0 = 0; t0 < n;)
		{
			int			t1 = chunk_end(t0, n);

			if (poll_stop(pl, 2.0 * (t1 - t0)))
				return true;
			for (int t = t0; t < t1; t++)
			{
				col[t] = x[(size_t) t * m + j];
				if (fabs(col[t]) > amax)
					amax = fabs(col[t]);
			}
			t0 = t1;
		}
		if (amax != 0.0 && isfinite(amax) &&
			(amax < TSF_AR_SCALE_MIN || amax > TSF_AR_SCALE_MAX))
		{
			(void) frexp(amax, &e);
			e = e < -1022 ? -1022 : e;
		}
		ex->e[j] = e;
		g = ldexp(1.0, -e);
		for (int t0 = 0; t0 < n;)
		{
			int			t1 = chunk_end(t0, n);

			if (poll_stop(pl, 2.0 * (t1 - t0)))
				return true;
			for (int t = t0; t < t1; t++)
			{
				col[t] *= g;
				sum += col[t];
			}
			t0 = t1;
		}
		mu[j] = intercept ? sum / n : 0.0;
		if (intercept)
		{
			for (int t0 = 0; t0 < n;)
			{
				int			t1 = chunk_end(t0, n);

				if (poll_stop(pl, t1 - t0))
					return true;
				for (int t = t0; t < t1; t++)
					col[t] -= mu[j];
				t0 = t1;
			}
		}
	}
	return false;
}

/*
 * The model fitted on y * 2^-k (and x[.][j] * 2^-e[j]) back in the units of
 * y and x (ar.h, "Scale"), then the check that it is representable:
 * NOT_FINITE when any estimate is not.  y f = c f + ... + (beta[j] f /
 * g[j]) (x[j] g[j]): the fitted beta[j] is beta's times 2^(e[j] - k).
 */
static TsfArStatus
finish_model(TsfArStatus s, int k, const ArExog *ex, TsfArModel *m)
{
	if (s != TSF_AR_OK)
		return s;
	if (k != 0)
	{
		m->c = ldexp(m->c, k);
		m->mean = ldexp(m->mean, k);
		m->sigma2 = ldexp(m->sigma2, 2 * k);
		/* log sigma2 grows by 2k log 2 in each of the nobs terms of -2 llf */
		m->aic += m->nobs * (2.0 * k * M_LN2);
	}
	for (int j = 0; j < ex->m; j++)
	{
		if (k - ex->e[j] != 0)
			m->beta[j] = ldexp(m->beta[j], k - ex->e[j]);
		if (!isfinite(m->beta[j]))
			return TSF_AR_NOT_FINITE;
	}
	for (int i = 0; i < m->p; i++)
		if (!isfinite(m->phi[i]))
			return TSF_AR_NOT_FINITE;
	if (!isfinite(m->c) || !isfinite(m->mean) || !isfinite(m->sigma2))
		return TSF_AR_NOT_FINITE;
	return TSF_AR_OK;
}

/* no exogenous regressors */
static const ArExog no_exog = {0};

/*
 * The entry points' common start: the series' scale exponent *k, and with
 * m > 0 the copy of x at the head of *work (ex), *work moved past it.
 * CANCELLED or INVALID, else OK.
 */
static TsfArStatus
begin_fit(const double *y, int n, int intercept, const double *x, int m,
		  ArPoll *pl, double **work, ArExog *ex, int *k)
{
	if (m < 0 || m > TSF_AR_MAX_EXOG || (m > 0 && x == NULL) || n < 0)
		return TSF_AR_INVALID;
	if (scale_exponent(y, n, pl, k))
		return TSF_AR_CANCELLED;
	ex->m = 0;
	if (m > 0)
	{
		double	   *xc = *work;
		double	   *mu = xc + (size_t) m * n;

		if (prepare_exog(x, n, m, intercept, pl, xc, mu, ex))
			return TSF_AR_CANCELLED;
		*work = mu + m;
	}
	return TSF_AR_OK;
}

/* the OLS fit through the QR path only, for tests of both paths */
TsfArStatus
tsf_ar_fit_ols_qr(const double *y, int n, int p, int intercept,
				  const TsfArPoll *poll, double *work, TsfArModel *m)
{
	ArPoll		pl = {poll, 0.0};
	int			k;

	m->m = 0;
	if (scale_exponent(y, n, &pl, &k))
		return TSF_AR_CANCELLED;
	return finish_model(ar_fit_ols_qr(y, n, p, intercept, ldexp(1.0, -k), &no_exog,
									  &pl, work, m), k, &no_exog, m);
}

TsfArStatus
tsf_ar_fit_ols_qr_exog(const double *y, int n, int p, int intercept,
					   const double *x, int m, const TsfArPoll *poll,
					   double *work, TsfArModel *model)
{
	ArPoll		pl = {poll, 0.0};
	ArExog		ex;
	int			k;
	TsfArStatus s = begin_fit(y, n, intercept, x, m, &pl, &work, &ex, &k);

	if (s != TSF_AR_OK)
		return s;
	model->m = m;
	return finish_model(ar_fit_ols_qr(y, n, p, intercept, ldexp(1.0, -k), &ex,
									  &pl, work, model), k, &ex, model);
}

/*
 * Fold the rows X (rows, kc; column-major, leading dimension ldx) into the
 * upper trapezoidal factor R (its first *r0 < kc rows defined; (kc, kc)
 * column-major, leading dimension kc): [R ; X] = Q [R' ; 0].  T and work
 * are (QR_PANEL, kc) each.  About 2 rows kc^2 operations.
 *
 * R's missing rows are not zeros to fold into: dtpqrt would
 * build reflectors for its empty columns out of rounding noise, each one a
 * factor eps smaller than the last, down to subnormal numbers that take a
 * hundred times as long.  So R = [R11 R12] is split where its rows end:
 * dtpqrt folds X's first r0 columns into R11, dtpmqrt applies the same
 * reflectors to [R12 ; X2], and dgeqrf factors what is left of X2 into the
 * next rows of R.
 */
static int
qr_fold(double *R, int *r0, int kc, double *X, int rows, int ldx, double *T,
		double *work)
{
	int			info = 0;
	int			zero = 0;
	int			k = *r0;		/* reflectors of R11 */
	int			nc = kc - k;	/* columns of R12 and X2 */
	int			nb = k < QR_NB_START ? k : QR_NB_START;
	int			lwork = QR_PANEL * kc;
	double	   *X2 = X + (size_t) k * ldx;
	int			m2 = rows < nc ? rows : nc;

	if (k > 0)
	{
		dtpqrt_(&rows, &k, &zero, &nb, R, &kc, X, &ldx, T, &nb, work, &info);
		if (info != 0)
			return info;
		dtpmqrt_("L", "T", &rows, &nc, &k, &zero, &nb, X, &ldx, T, &nb,
				 R + (size_t) k * kc, &kc, X2, &ldx, work, &info, 1, 1);
		if (info != 0)
			return info;
	}
	/* the reflectors' factors are spent: T holds dgeqrf's (m2 <= kc) */
	dgeqrf_(&rows, &nc, X2, &ldx, T, work, &lwork, &info);
	if (info != 0)
		return info;
	for (int j = 0; j < nc; j++)
		for (int i = 0; i < m2 && i <= j; i++)
			R[(size_t) (k + j) * kc + k + i] = X2[(size_t) j * ldx + i];
	*r0 = k + m2;
	return 0;
}

/*
 * Least squares fit by Householder QR, folding rows into R.
 *
 * The augmented matrix [X | y] * f (nobs x kc, kc = k + 1; X's columns 1,
 * ex's x, the lags) is taken a block of rows at a time and folded into the
 * triangular factor R of the rows so
 * far, without forming the stacked matrix: about 2 rows kc^2 operations a
 * block, O(n kc^2) in all.  While R fills, qr_fold takes a few rows at a
 * time; then each block [R ; X] = Q [R' ; 0] is dtpqrt's, QR_PANEL columns
 * at a time (dtpqrt on the panel, dtpmqrt on the columns to its right, as
 * dtpqrt does inside), polled per panel.  At the end R = [R11 r12 ; 0 r22]:
 * beta = R11^-1 r12 and SSE = r22^2.  work: qr_work_size(kc) doubles.
 */
static TsfArStatus
ar_fit_ols_qr(const double *y, int n, int p, int intercept, double f,
			  const ArExog *ex, ArPoll *pl, double *work, TsfArModel *m)
{
	int			mx = ex->m;
	int			k = p + intercept + mx;
	int			kc = k + 1;
	int			start_rows = qr_start_rows(kc);
	int			block_rows = qr_block_rows(kc);
	int			maxrows = start_rows > block_rows ? start_rows : block_rows;
	int			zero = 0;
	double	   *R = work;		/* (kc, kc) column-major, upper triangle */
	double	   *X = R + (size_t) kc * kc;	/* (rows, kc) column-major: the block */
	double	   *T = X + (size_t) maxrows * kc;	/* (QR_PANEL, kc): reflector factors */
	double	   *qwork = T + (size_t) QR_PANEL * kc;	/* (QR_PANEL, kc) */
	int			rrows = 0;		/* rows of R defined so far */
	int			t = p;
	double		beta[MAX_REGRESSORS];
	double		dmax = 0.0;

	m->p = p;
	m->intercept = intercept;
	m->mean = 0.0;
	m->nobs = n - p;
	m->solver = 1;
	m->m = mx;
	if (n < tsf_ar_min_points_exog(p, intercept, mx))
		return TSF_AR_TOO_SHORT;

	memset(R, 0, sizeof(double) * kc * kc);
	while (t < n)
	{
		int			full = rrows == kc;
		int			rows = full ? block_rows : start_rows;

		rows = n - t < rows ? n - t : rows;
		if (!full && poll_stop(pl, 2.0 * rows * kc * kc))
			return TSF_AR_CANCELLED;

		/* the block: row r is [1?, x[t], y[t-1], ..., y[t-p], y[t]] (y times f) */
		for (int r = 0; r < rows; r++, t++)
		{
			int			col = 0;

			if (intercept)
				X[(size_t) col++ * rows + r] = 1.0;
			for (int j = 0; j < mx; j++)
				X[(size_t) col++ * rows + r] = ex->xc[(size_t) j * n + t];
			for (int i = 1; i <= p; i++)
				X[(size_t) col++ * rows + r] = y[t - i] * f;
			X[(size_t) col * rows + r] = y[t] * f;
		}

		if (!full)
		{
			if (qr_fold(R, &rrows, kc, X, rows, rows, T, qwork) != 0)
				return TSF_AR_LAPACK;
			continue;
		}
		for (int i = 0; i < kc; i += QR_PANEL)
		{
			int			w = kc - i < QR_PANEL ? kc - i : QR_PANEL;
			int			right = kc - i - w;
			int			info = 0;
			double	   *V = X + (size_t) i * rows;

			if (poll_stop(pl, (4.0 * rows * w + (double) w * w) * (kc - i)))
				return TSF_AR_CANCELLED;
			dtpqrt_(&rows, &w, &zero, &w, R + (size_t) i * kc + i, &kc, V, &rows,
					T, &w, qwork, &info);
			if (info == 0 && right > 0)
				dtpmqrt_("L", "T", &rows, &right, &w, &zero, &w, V, &rows, T, &w,
						 R + (size_t) (i + w) * kc + i, &kc, V + (size_t) w * rows,
						 &rows, qwork, &info, 1, 1);
			if (info != 0)
				return TSF_AR_LAPACK;
		}
	}

	/* rank check on the diagonal of R11, then back substitution */
	if (poll_stop(pl, (double) k * k))
		return TSF_AR_CANCELLED;
	for (int j = 0; j < k; j++)
		if (fabs(R[(size_t) j * kc + j]) > dmax)
			dmax = fabs(R[(size_t) j * kc + j]);
	for (int j = k - 1; j >= 0; j--)
	{
		double		rjj = R[(size_t) j * kc + j];
		double		s = R[(size_t) k * kc + j];

		if (!(fabs(rjj) > dmax * 1e-13 * (double) n))
			return TSF_AR_RANK_DEFICIENT;
		for (int i = j + 1; i < k; i++)
			s -= R[(size_t) i * kc + j] * beta[i];
		beta[j] = s / rjj;
	}

	{
		double		r22 = R[(size_t) k * kc + k];
		double		sse = r22 * r22;
		double		nobs = (double) (n - p);

		m->c = intercept ? beta[0] : 0.0;
		/* x was shifted by mu: c absorbs sum beta[j] mu[j] */
		for (int j = 0; j < mx; j++)
		{
			m->beta[j] = beta[intercept + j];
			m->c -= m->beta[j] * ex->mu[j];
		}
		for (int i = 0; i < p; i++)
			m->phi[i] = beta[intercept + mx + i];
		m->sigma2 = sse / nobs;
		/* -2 llf + 2 (df_model + 1), llf = -nobs/2 (log(2 pi) + log(sigma2) + 1) */
		m->aic = nobs * (log(2.0 * M_PI) + log(m->sigma2) + 1.0) + 2.0 * (k + 1);
	}
	return TSF_AR_OK;
}

/*
 * Durbin-Levinson on autocovariances r[0..P]: phi (P, P) row-major gets the
 * coefficients of every order (row m-1 holds order m), v[m] the innovation
 * variance of order m: v[m] = v[m-1] (1 - kappa[m]^2).  About 2 P^2
 * operations in all, counted as one unit by the callers.
 */
static void
durbin_levinson(const double *r, int P, double *phi, double *v)
{
	v[0] = r[0];
	for (int mo = 1; mo <= P; mo++)
	{
		double	   *cur = phi + (size_t) (mo - 1) * P;
		const double *prev = phi + (size_t) (mo - 2) * P;
		double		num = r[mo];
		double		kappa;

		for (int j = 1; j < mo; j++)
			num -= prev[j - 1] * r[mo - j];
		kappa = v[mo - 1] > 0.0 ? num / v[mo - 1] : 0.0;
		for (int j = 1; j < mo; j++)
			cur[j - 1] = prev[j - 1] - kappa * prev[mo - j - 1];
		cur[mo - 1] = kappa;
		v[mo] = v[mo - 1] * (1.0 - kappa * kappa);
	}
}

/*
 * Autocovariances with divisor n of y - xm, lags 0..P: r (P + 1).  O(n P):
 * polled per lag and chunk.
 */
static bool
autocov(const double *y, int n, double xm, int P, ArPoll *pl, double *r)
{
	for (int k = 0; k <= P; k++)
	{
		double		s = 0.0;

		for (int t0 = 0; t0 < n - k;)
		{
			int			t1 = chunk_end(t0, n - k);

			if (poll_stop(pl, 4.0 * (t1 - t0)))
				return true;
			for (int t = t0; t < t1; t++)
				s += (y[t] - xm) * (y[t + k] - xm);
			t0 = t1;
		}
		r[k] = s / n;
	}
	return false;
}

/* *mean = sum (y[t] f) / n, polled per chunk */
static bool
series_mean(const double *y, int n, double f, ArPoll *pl, double *mean)
{
	double		s = 0.0;

	for (int t0 = 0; t0 < n;)
	{
		int			t1 = chunk_end(t0, n);

		if (poll_stop(pl, 2.0 * (t1 - t0)))
			return true;
		for (int t = t0; t < t1; t++)
			s += y[t] * f;
		t0 = t1;
	}
	*mean = s / n;
	return false;
}

/* z = y f - shift, polled per chunk */
static bool
center(const double *y, int n, double f, double shift, ArPoll *pl, double *z)
{
	for (int t0 = 0; t0 < n;)
	{
		int			t1 = chunk_end(t0, n);

		if (poll_stop(pl, 2.0 * (t1 - t0)))
			return true;
		for (int t = t0; t < t1; t++)
			z[t] = y[t] * f - shift;
		t0 = t1;
	}
	return false;
}

/*
 * *out = sum a[i] b[i] with four partial sums: the compiler vectorizes it
 * without -ffast-math, and the order of additions is fixed, so results are
 * the same on every run.  Polled per chunk; a chunk being a multiple of 4
 * long, each partial sum sees its terms in the order of one unchunked loop.
 */
static bool
dot(const double *a, const double *b, int n, ArPoll *pl, double *out)
{
	double		s0 = 0.0,
				s1 = 0.0,
				s2 = 0.0,
				s3 = 0.0;

	for (int t0 = 0; t0 < n;)
	{
		int			len = chunk_end(t0, n) - t0;
		const double *restrict x = a + t0;
		const double *restrict w = b + t0;
		int			i = 0;

		if (poll_stop(pl, 2.0 * len))
			return true;
		for (; i + 4 <= len; i += 4)
		{
			s0 += x[i] * w[i];
			s1 += x[i + 1] * w[i + 1];
			s2 += x[i + 2] * w[i + 2];
			s3 += x[i + 3] * w[i + 3];
		}
		for (; i < len; i++)
			s0 += x[i] * w[i];
		t0 += len;
	}
	*out = (s0 + s1) + (s2 + s3);
	return false;
}

/*
 * Yule-Walker fit of order p (R's ar.yw with aic = FALSE, order.max = p) on
 * the series y (already scaled).  work: (p + 1) autocovariances, (p, p)
 * coefficients, (p + 1) variances.
 */
static TsfArStatus
ar_fit_yw(const double *y, int n, int p, int intercept, ArPoll *pl,
		  double *work, TsfArModel *m)
{
	double	   *r = work;		/* (p + 1) */
	double	   *phi = r + p + 1;	/* (p, p) */
	double	   *v = phi + (size_t) p * p;	/* (p + 1) */
	double		xm = 0.0;
	double		sphi = 0.0;

	m->p = p;
	m->intercept = intercept;
	m->nobs = n;
	if (n < tsf_ar_min_points(p, intercept))
		return TSF_AR_TOO_SHORT;

	if (intercept && series_mean(y, n, 1.0, pl, &xm))
		return TSF_AR_CANCELLED;
	if (autocov(y, n, xm, p, pl, r) || poll_stop(pl, 2.0 * p * p))
		return TSF_AR_CANCELLED;
	durbin_levinson(r, p, phi, v);
	for (int i = 0; i < p; i++)
	{
		m->phi[i] = phi[(size_t) (p - 1) * p + i];
		sphi += m->phi[i];
	}
	m->mean = xm;
	m->c = xm * (1.0 - sphi);
	m->aic = n * log(v[p]) + 2.0 * p + 2.0 * intercept;
	m->sigma2 = v[p] * n / (double) (n - (p + 1));
	return TSF_AR_OK;
}

/*
 * The Gram matrix M (kc, kc; lower triangle, row-major) of the regressors
 * (1 when intercept, z[t-1], ..., z[t-P]) and the target z[t] last, summed
 * over t = t0..n-1 (t0 >= P).  With S(i,j) = sum_t z[t-i] z[t-j] and
 * mu(j) = sum_t z[t-j], the first row S(0, .) is summed directly, O(N P),
 * and every other entry of lag products from its neighbour up the diagonal,
 * already in M (or in the first row):
 *		S(i,j) = S(i-1,j-1) + z[t0-i] z[t0-j] - z[n-i] z[n-j]
 * which adds the same terms in the same order as walking the diagonal down
 * from S(0, j-i), in O(P^2) for the whole matrix.  S0 and mu are scratch of
 * P + 1 doubles each.  True when the poll asked to stop.
 *
 * With off > 0, off columns (the exogenous regressors, exog_gram's) sit
 * between the intercept and the lags: M is then (kc + off, kc + off) and
 * regressor a of the above at row and column pos(a) = a, or a + off past
 * the intercept; with off = 0 everything is where it was.
 */
static bool
lagged_gram(const double *z, int n, int t0, int P, int intercept, int off,
			ArPoll *pl, double *M, double *S0, double *mu)
{
	int			k = P + intercept;
	int			kc = k + 1;
	int			ld = kc + off;
	int			N = n - t0;

	/* first row of S directly, O(N P); the lag sums by their recurrence */
	for (int j = 0; j <= P; j++)
		if (dot(z + t0, z + t0 - j, N, pl, &S0[j]))
			return true;
	mu[0] = 0.0;
	for (int c0 = t0; c0 < n;)
	{
		int			c1 = chunk_end(c0, n);

		if (poll_stop(pl, c1 - c0))
			return true;
		for (int t = c0; t < c1; t++)
			mu[0] += z[t];
		c0 = c1;
	}
	for (int j = 1; j <= P; j++)
		mu[j] = mu[j - 1] + z[t0 - j] - z[n - j];

	/*
	 * Fill M.  Regressor a (0-based) is the constant when intercept && a == 0,
	 * else lag a + 1 - intercept; y (lag 0) is index k.  For lags i >= j >= 1
	 * (rows a >= b of the lag block, g = i - j), M[a-1][b-1] holds
	 * S(j-1, i-1) once j >= 2.
	 */
	if (poll_stop(pl, 2.0 * kc * kc))
		return true;
	for (int a = 0; a < kc; a++)
	{
		int			pa = a < intercept ? a : a + off;

		for (int b = 0; b <= a; b++)
		{
			int			pb = b < intercept ? b : b + off;
			double		val;

			if (intercept && a == 0)
				val = N;
			else if (intercept && b == 0)
				val = a == k ? mu[0] : mu[a + 1 - intercept];
			else if (a == k)
				val = S0[b == k ? 0 : b + 1 - intercept];	/* S(0, j) */
			else
			{
				int			i = a + 1 - intercept,
							j = b + 1 - intercept,
							g = i - j;

				/* (a-1, b-1) are lags too, so both at their index + off */
				val = j == 1 ? S0[g] : M[(size_t) (pa - 1) * ld + (pb - 1)];
				val += z[t0 - j] * z[t0 - j - g] - z[n - j] * z[n - j - g];
			}
			M[(size_t) pa * ld + pb] = val;
		}
	}
	return false;
}

/*
 * The rows of the exogenous regressors in the Gram matrix M (ld, ld) whose
 * columns are (1 if intercept, x[.][0..m-1], lags 1..P, y) over the
 * equations t = t0..n-1, lagged_gram having filled the rest (off = m):
 * each x column's products with the constant, the x columns before it, and
 * (in the rows below) every lag and y, as dot products over the equations,
 * O((n - t0) m (m + P)).  True when the poll asked to stop.
 */
static bool
exog_gram(const double *z, int n, int t0, int P, int intercept,
		  const ArExog *ex, ArPoll *pl, double *M, int ld)
{
	int			N = n - t0;
	int			mx = ex->m;

	for (int j = 0; j < mx; j++)
	{
		const double *xj = ex->xc + (size_t) j * n + t0;
		int			row = intercept + j;

		if (intercept)
		{
			double		sum = 0.0;

			for (int c0 = 0; c0 < N;)
			{
				int			c1 = chunk_end(c0, N);

				if (poll_stop(pl, c1 - c0))
					return true;
				for (int t = c0; t < c1; t++)
					sum += xj[t];
				c0 = c1;
			}
			M[(size_t) row * ld] = sum;
		}
		for (int l = 0; l <= j; l++)
			if (dot(xj, ex->xc + (size_t) l * n + t0, N, pl,
					&M[(size_t) row * ld + intercept + l]))
				return true;
		/* lag i at intercept + m + i - 1, y (lag 0) last */
		for (int i = 1; i <= P; i++)
			if (dot(xj, z + t0 - i, N, pl,
					&M[(size_t) (intercept + mx + i - 1) * ld + row]))
				return true;
		if (dot(xj, z + t0, N, pl, &M[(size_t) (intercept + mx + P) * ld + row]))
			return true;
	}
	return false;
}

/*
 * OLS order selection on the common sample t = P..n-1 (N = n - P equations).
 *
 * With z the series (centered when there is an intercept, which changes no
 * fit but conditions the Gram matrix), S(i,j) = sum_t z[t-i] z[t-j] and
 * mu(j) = sum_t z[t-j], the Gram matrix of (1, lag 1..P, lag 0) is built
 * from the first row of S and the recurrences
 *		S(i,j) = S(i-1,j-1) + z[P-i] z[P-j] - z[n-i] z[n-j]
 *		mu(j)  = mu(j-1) + z[P-j] - z[n-j]
 * Its Cholesky factor L, with y last, gives SSE(q regressors) =
 * L[k][k]^2 + sum_{a >= q} L[k][a]^2, summed from the tail.
 *
 * Exogenous regressors come before the lags (exog_gram), so every nested
 * model from q = intercept + m on holds them all, as ar_select_order's
 * candidates do; when the factor breaks down within them they are
 * collinear: RANK_DEFICIENT.
 */
static TsfArStatus
ar_select_ols(const double *y, int n, int P, int intercept, double f,
			  const ArExog *ex, ArPoll *pl, double *work, int *p_out)
{
	int			mx = ex->m;
	int			k = P + intercept + mx; /* regressors */
	int			kc = k + 1;		/* plus y */
	int			N = n - P;
	double	   *z = work;		/* (n) */
	double	   *M = z + n;		/* (kc, kc) row-major, lower triangle used */
	double	   *S0 = M + (size_t) kc * kc;	/* (P + 1): S(0, j) */
	double	   *mu = S0 + P + 1;	/* (P + 1) */
	double		xm = 0.0;
	int			usable = k;		/* regressors before the factor broke down */
	double		best = INFINITY;
	int			bestp = 0;
	double		tail;

	if (n < tsf_ar_min_points_exog(P, intercept, mx))
		return TSF_AR_TOO_SHORT;
	if ((intercept && series_mean(y, n, f, pl, &xm)) ||
		center(y, n, f, xm, pl, z) ||
		lagged_gram(z, n, P, P, intercept, mx, pl, M, S0, mu) ||
		exog_gram(z, n, P, P, intercept, ex, pl, M, kc))
		return TSF_AR_CANCELLED;

	/* in-place Cholesky, row by row; stop at the first non-positive pivot */
	for (int a = 0; a < kc; a++)
	{
		double	   *ra = M + (size_t) a * kc;
		double		diag0 = ra[a];

		if (poll_stop(pl, (double) a * a))
			return TSF_AR_CANCELLED;
		for (int b = 0; b < a && b < usable; b++)
		{
			double	   *rb = M + (size_t) b * kc;
			double		s = ra[b];

			for (int c = 0; c < b; c++)
				s -= ra[c] * rb[c];
			ra[b] = s / rb[b];
		}
		if (a < k)
		{
			double		d = diag0;

			if (a >= usable)
				continue;
			for (int c = 0; c < a; c++)
				d -= ra[c] * ra[c];
			if (!(d > 1e-12 * diag0) || !(d > 0.0))
			{
				usable = a;
				continue;
			}
			ra[a] = sqrt(d);
		}
	}

	if (usable < intercept + mx)
		return TSF_AR_RANK_DEFICIENT;

	/* residual sums of squares from the tail of the y row, then AIC */
	{
		double	   *ry = M + (size_t) k * kc;
		double		d = ry[k];

		for (int c = 0; c < usable; c++)
			d -= ry[c] * ry[c];
		tail = d > 0.0 ? d : 0.0;
		for (int q = usable; q >= intercept + mx; q--)
		{
			int			p = q - intercept - mx;
			double		aic;

			if (q < usable)
				tail += ry[q] * ry[q];
			aic = N * log(tail / N) + 2.0 * q;
			if (aic <= best)
			{
				best = aic;
				bestp = p;
			}
		}
	}
	*p_out = bestp;
	return TSF_AR_OK;
}

/* R's ar.yw order choice: minimum of n log(v[m]) + 2 m over m = 0..P */
static TsfArStatus
ar_select_yw(const double *y, int n, int P, int intercept, ArPoll *pl,
			 double *work, int *p_out)
{
	double	   *r = work;
	double	   *phi = r + P + 1;
	double	   *v = phi + (size_t) P * P;
	double		xm = 0.0;
	double		best = INFINITY;

	if (n < tsf_ar_min_points(P, intercept))
		return TSF_AR_TOO_SHORT;
	if ((intercept && series_mean(y, n, 1.0, pl, &xm)) ||
		autocov(y, n, xm, P, pl, r) || poll_stop(pl, 2.0 * P * P))
		return TSF_AR_CANCELLED;
	durbin_levinson(r, P, phi, v);
	*p_out = 0;
	for (int mo = 0; mo <= P; mo++)
	{
		double		aic = n * log(v[mo]) + 2.0 * mo;

		if (aic < best)
		{
			best = aic;
			*p_out = mo;
		}
	}
	return TSF_AR_OK;
}

/*
 * Cholesky factor, in place, of the leading k x k block of the row-major
 * lower triangle A (leading dimension ld), polled per row.  RANK_DEFICIENT
 * on a non-positive pivot.
 */
static TsfArStatus
cholesky(double *A, int k, int ld, ArPoll *pl)
{
	for (int a = 0; a < k; a++)
	{
		double	   *ra = A + (size_t) a * ld;

		if (poll_stop(pl, (double) a * a))
			return TSF_AR_CANCELLED;
		for (int b = 0; b <= a; b++)
		{
			const double *rb = A + (size_t) b * ld;
			double		s = ra[b];

			for (int c = 0; c < b; c++)
				s -= ra[c] * rb[c];
			if (b < a)
				ra[b] = s / rb[b];
			else if (!(s > 0.0))
				return TSF_AR_RANK_DEFICIENT;
			else
				ra[a] = sqrt(s);
		}
	}
	return TSF_AR_OK;
}

/* solve L L' x = b in place, L from cholesky(); 2 k^2 operations */
static void
cholesky_solve(const double *L, int k, int ld, double *b)
{
	for (int a = 0; a < k; a++)
	{
		const double *ra = L + (size_t) a * ld;
		double		s = b[a];

		for (int c = 0; c < a; c++)
			s -= ra[c] * b[c];
		b[a] = s / ra[a];
	}
	for (int a = k - 1; a >= 0; a--)
	{
		double		s = b[a];

		for (int c = a + 1; c < k; c++)
			s -= L[(size_t) c * ld + a] * b[c];
		b[a] = s / L[(size_t) a * ld + a];
	}
}

/*
 * One pass over the equations t = p..n-1 with coefficients b (intercept
 * first, then ex's x, then the lags): the residuals r (n - p), h = X' r
 * (the negative half-gradient of the residual sum of squares), and
 * *sse = r' r.  O(n (p + m)), as column-wise axpys and dot products that
 * vectorize, polled per column and chunk.
 */
static bool
residual_pass(const double *z, int n, int p, int intercept, const ArExog *ex,
			  const double *b, ArPoll *pl, double *h, double *r, double *sse)
{
	int			N = n - p;
	int			mx = ex->m;
	const double *phi = b + intercept + mx;
	double		b0 = intercept ? b[0] : 0.0;

	for (int t0 = 0; t0 < N;)
	{
		int			t1 = chunk_end(t0, N);

		if (poll_stop(pl, t1 - t0))
			return true;
		for (int t = t0; t < t1; t++)
			r[t] = z[p + t] - b0;
		t0 = t1;
	}
	for (int i = 0; i < p; i++)
	{
		const double *lag = z + p - 1 - i;	/* lag i+1 of equation t */
		double		f = phi[i];

		for (int t0 = 0; t0 < N;)
		{
			int			t1 = chunk_end(t0, N);

			if (poll_stop(pl, 2.0 * (t1 - t0)))
				return true;
			for (int t = t0; t < t1; t++)
				r[t] -= f * lag[t];
			t0 = t1;
		}
	}
	for (int j = 0; j < mx; j++)
	{
		const double *xj = ex->xc + (size_t) j * n + p;	/* x[t][j] of equation t */
		double		f = b[intercept + j];

		for (int t0 = 0; t0 < N;)
		{
			int			t1 = chunk_end(t0, N);

			if (poll_stop(pl, 2.0 * (t1 - t0)))
				return true;
			for (int t = t0; t < t1; t++)
				r[t] -= f * xj[t];
			t0 = t1;
		}
	}
	if (intercept)
	{
		double		sum = 0.0;

		for (int t0 = 0; t0 < N;)
		{
			int			t1 = chunk_end(t0, N);

			if (poll_stop(pl, t1 - t0))
				return true;
			for (int t = t0; t < t1; t++)
				sum += r[t];
			t0 = t1;
		}
		h[0] = sum;
	}
	for (int j = 0; j < mx; j++)
		if (dot(r, ex->xc + (size_t) j * n + p, N, pl, &h[intercept + j]))
			return true;
	for (int i = 0; i < p; i++)
		if (dot(r, z + p - 1 - i, N, pl, &h[intercept + mx + i]))
			return true;
	return dot(r, r, N, pl, sse);
}

/*
 * Least squares by the corrected semi-normal equations: the Cholesky factor
 * of the Gram matrix (built in O(n p) by lagged_gram) solves the normal
 * equations, then iterative refinement with the exact residual X' (y - X b)
 * restores the accuracy of a QR solution while the problem is reasonably
 * conditioned.  That costs O(n p) against the QR's
 * O(n p^2), which is what keeps ar_fit() near avg() on many series.  When
 * the Gram matrix is ill-conditioned or the refinement does not settle
 * within three passes, the QR path (ar_fit_ols_qr) decides instead, so the result
 * always has QR accuracy.  The series is centered first when there is an
 * intercept: the fit is the same, the Gram matrix better conditioned.
 */
static TsfArStatus
ar_fit_ols(const double *y, int n, int p, int intercept, double f,
		   const ArExog *ex, ArPoll *pl, double *work, TsfArModel *m)
{
	int			mx = ex->m;
	int			k = p + intercept + mx;
	int			kc = k + 1;
	double	   *z = work;		/* (n) */
	double	   *M = z + n;		/* (kc, kc) */
	double	   *S0 = M + (size_t) kc * kc;	/* (p + 1) */
	double	   *mu = S0 + p + 1;	/* (p + 1) */
	double	   *r = mu + p + 1; /* (n - p) residuals */
	double	   *qr_work = r + n;
	double		shift = 0.0;
	double		b[MAX_REGRESSORS];
	double		h[MAX_REGRESSORS];
	double		d[MAX_REGRESSORS];
	double		sse = 0.0,
				sphi = 0.0;
	bool		converged = false;
	TsfArStatus s;

	m->m = mx;
	if (n < tsf_ar_min_points_exog(p, intercept, mx))
	{
		m->p = p;
		return TSF_AR_TOO_SHORT;
	}
	if ((intercept && series_mean(y, n, f, pl, &shift)) ||
		center(y, n, f, shift, pl, z) ||
		lagged_gram(z, n, p, p, intercept, mx, pl, M, S0, mu) ||
		exog_gram(z, n, p, p, intercept, ex, pl, M, kc))
		return TSF_AR_CANCELLED;
	for (int a = 0; a < k; a++)
		h[a] = M[(size_t) a * kc + a];
	s = cholesky(M, k, kc, pl);
	if (s == TSF_AR_CANCELLED)
		return s;
	if (s != TSF_AR_OK)
		return ar_fit_ols_qr(y, n, p, intercept, f, ex, pl, qr_work, m);

	/*
	 * The smallest pivot relative to its diagonal entry bounds the condition
	 * number of the equilibrated Gram matrix from below; refinement needs
	 * cond * eps well below 1, so hand clearly ill-conditioned fits to QR.
	 */
	for (int a = 0; a < k; a++)
	{
		double		L = M[(size_t) a * kc + a];

		if (L * L < 1e-8 * h[a])
			return ar_fit_ols_qr(y, n, p, intercept, f, ex, pl, qr_work, m);
	}

	if (poll_stop(pl, 2.0 * k * k))
		return TSF_AR_CANCELLED;
	for (int a = 0; a < k; a++)
		b[a] = M[(size_t) k * kc + a];	/* X' y */
	cholesky_solve(M, k, kc, b);

	/*
	 * Refine: d = G^-1 X' (y - X b), b += d.  A correction below 1e-10 of b
	 * means b was already that close, and the next one would be smaller by
	 * another factor cond(G) eps, so one pass normally suffices.  The sum of
	 * squares follows exactly: SSE(b + d) = SSE(b) - d' X' r.
	 */
	for (int iter = 0; iter < 3 && !converged; iter++)
	{
		double		bmax = 0.0,
					dmax = 0.0,
					dh = 0.0;

		if (residual_pass(z, n, p, intercept, ex, b, pl, h, r, &sse) ||
			poll_stop(pl, 2.0 * k * k))
			return TSF_AR_CANCELLED;
		memcpy(d, h, sizeof(double) * k);
		cholesky_solve(M, k, kc, d);
		for (int a = 0; a < k; a++)
		{
			b[a] += d[a];
			dh += d[a] * h[a];
			bmax = fabs(b[a]) > bmax ? fabs(b[a]) : bmax;
			dmax = fabs(d[a]) > dmax ? fabs(d[a]) : dmax;
		}
		sse -= dh;
		converged = dmax <= 1e-10 * (bmax > 1.0 ? bmax : 1.0);
	}
	if (!converged || !(sse >= 0.0))
		return ar_fit_ols_qr(y, n, p, intercept, f, ex, pl, qr_work, m);

	m->p = p;
	m->intercept = intercept;
	m->mean = 0.0;
	m->nobs = n - p;
	m->solver = 0;
	for (int i = 0; i < p; i++)
	{
		m->phi[i] = b[intercept + mx + i];
		sphi += m->phi[i];
	}
	/*
	 * back from the centered series and x: y - s = b0 + sum phi (y[t-i] - s)
	 * + sum beta (x[t] - mu)
	 */
	m->c = intercept ? b[0] + shift * (1.0 - sphi) : 0.0;
	for (int j = 0; j < mx; j++)
	{
		m->beta[j] = b[intercept + j];
		m->c -= m->beta[j] * ex->mu[j];
	}
	m->sigma2 = sse / m->nobs;
	m->aic = m->nobs * (log(2.0 * M_PI) + log(m->sigma2) + 1.0) + 2.0 * (k + 1);
	return TSF_AR_OK;
}

TsfArStatus
tsf_ar_select(const double *y, int n, int maxp, int intercept,
			  TsfArMethod method, const TsfArPoll *poll, double *work,
			  int *p_out)
{
	ArPoll		pl = {poll, 0.0};
	double		f;
	int			k;

	if (scale_exponent(y, n, &pl, &k))
		return TSF_AR_CANCELLED;
	f = ldexp(1.0, -k);
	if (method == TSF_AR_YULE_WALKER)
	{
		/* a scaled copy first: the autocovariances read the series P times */
		if (k != 0 && n >= tsf_ar_min_points(maxp, intercept))
		{
			if (scale_copy(y, n, f, &pl, work))
				return TSF_AR_CANCELLED;
			y = work;
			work += n;
		}
		return ar_select_yw(y, n, maxp, intercept, &pl, work, p_out);
	}
	return ar_select_ols(y, n, maxp, intercept, f, &no_exog, &pl, work, p_out);
}

TsfArStatus
tsf_ar_select_exog(const double *y, int n, int maxp, int intercept,
				   const double *x, int m, const TsfArPoll *poll, double *work,
				   int *p_out)
{
	ArPoll		pl = {poll, 0.0};
	ArExog		ex;
	int			k;
	TsfArStatus s = begin_fit(y, n, intercept, x, m, &pl, &work, &ex, &k);

	if (s != TSF_AR_OK)
		return s;
	return ar_select_ols(y, n, maxp, intercept, ldexp(1.0, -k), &ex, &pl, work, p_out);
}

TsfArStatus
tsf_ar_fit(const double *y, int n, int p, int intercept, TsfArMethod method,
		   const TsfArPoll *poll, double *work, TsfArModel *m)
{
	ArPoll		pl = {poll, 0.0};
	double		f;
	int			k;
	TsfArStatus s;

	m->m = 0;
	if (scale_exponent(y, n, &pl, &k))
		return TSF_AR_CANCELLED;
	f = ldexp(1.0, -k);
	if (method == TSF_AR_YULE_WALKER)
	{
		if (k != 0 && n >= tsf_ar_min_points(p, intercept))
		{
			if (scale_copy(y, n, f, &pl, work))
				return TSF_AR_CANCELLED;
			y = work;
			work += n;
		}
		s = ar_fit_yw(y, n, p, intercept, &pl, work, m);
	}
	else
		s = ar_fit_ols(y, n, p, intercept, f, &no_exog, &pl, work, m);
	return finish_model(s, k, &no_exog, m);
}

TsfArStatus
tsf_ar_fit_exog(const double *y, int n, int p, int intercept, const double *x,
				int m, const TsfArPoll *poll, double *work, TsfArModel *model)
{
	ArPoll		pl = {poll, 0.0};
	ArExog		ex;
	int			k;
	TsfArStatus s = begin_fit(y, n, intercept, x, m, &pl, &work, &ex, &k);

	if (s != TSF_AR_OK)
		return s;
	s = ar_fit_ols(y, n, p, intercept, ldexp(1.0, -k), &ex, &pl, work, model);
	return finish_model(s, k, &ex, model);
}

double
tsf_ar_predict1(const TsfArModel *m, const double *lags)
{
	double		s = m->c;

	for (int i = 1; i <= m->p; i++)
		s += m->phi[i - 1] * lags[m->p - i];
	return s;
}

double
tsf_ar_predict1_exog(const TsfArModel *m, const double *lags, const double *x)
{
	double		s = tsf_ar_predict1(m, lags);

	for (int j = 0; j < m->m; j++)
		s += m->beta[j] * x[j];
	return s;
}

void
tsf_ar_forecast(const TsfArModel *m, const double *hist, int h,
				double *mean, double *se, double *work)
{
	tsf_ar_forecast_exog(m, hist, h, NULL, mean, se, work);
}

/*
 * x[p+k] = c + sum_i phi[i] x[p+k-i] + sum_j beta[j] xf[k][j]: the exogenous
 * terms are added after the lags, so with m = 0 (xf unused) the sums are
 * those of the AR recursion alone
 */
void
tsf_ar_forecast_exog(const TsfArModel *m, const double *hist, int h,
					 const double *xf, double *mean, double *se, double *work)
{
	int			p = m->p;
	double	   *x = work;		/* (p + h): history then forecasts */
	double	   *psi = work + p + h; /* (h) */
	double		cum = 0.0;

	memcpy(x, hist, sizeof(double) * p);
	for (int k = 0; k < h; k++)
	{
		/* x[p+k] = c + sum_i phi[i] x[p+k-i]; psi[k] = sum_i phi[i] psi[k-i] */
		double		s = m->c;
		double		w = k == 0 ? 1.0 : 0.0;

		for (int i = 1; i <= p; i++)
		{
			s += m->phi[i - 1] * x[p + k - i];
			if (i <= k)
				w += m->phi[i - 1] * psi[k - i];
		}
		for (int j = 0; xf != NULL && j < m->m; j++)
			s += m->beta[j] * xf[(size_t) k * m->m + j];
		x[p + k] = s;
		psi[k] = w;
		mean[k] = s;
		cum += w * w;
		se[k] = sqrt(m->sigma2 * cum);
	}
}

/*
 * y_i[k] = d[k] + sum_j phi[j] y_i[k-j] + sigma z[i][k]: the same sums as
 * the forecast's, so a path of zeros is its mean bit for bit
 */
TsfArStatus
tsf_ar_simulate(const TsfArModel *m, const double *hist, int h,
				const double *xf, int npaths, const double *z,
				double *paths, double *work, const TsfArPoll *poll)
{
	return tsf_ar_simulate_var(m, NULL, hist, h, xf, npaths, z, paths, work, poll);
}

TsfArStatus
tsf_ar_simulate_var(const TsfArModel *m, const TsfArVariance *v, const double *hist,
					int h, const double *xf, int npaths, const double *z,
					double *paths, double *work, const TsfArPoll *poll)
{
	int			p = m->p;
	double		sigma = sqrt(m->sigma2);
	double	   *x = work;		/* (p + h): history then the path */
	ArPoll		pl = {poll, 0.0};

	if (npaths < 0 || h < 0 || (v != NULL && (p < 1 || v->ks > m->m)))
		return TSF_AR_INVALID;
	for (int i = 0; i < npaths; i++)
	{
		const double *zi = z + (size_t) i * h;
		double	   *out = paths + (size_t) i * h;

		if (poll_stop(&pl, 2.0 * (double) h * (p + m->m + 1 + (v ? v->ks + 30 : 0))))
			return TSF_AR_CANCELLED;
		memcpy(x, hist, sizeof(double) * p);
		for (int k = 0; k < h; k++)
		{
			double		s = m->c;

			for (int j = 1; j <= p; j++)
				s += m->phi[j - 1] * x[p + k - j];
			for (int j = 0; xf != NULL && j < m->m; j++)
				s += m->beta[j] * xf[(size_t) k * m->m + j];
			if (v == NULL)
				s += sigma * zi[k];
			else
				s += sqrt(tsf_ar_variance_at(v, xf ? xf + (size_t) k * m->m : NULL,
											 x[p + k - 1])) * zi[k];
			x[p + k] = s;
			out[k] = s;
		}
	}
	return TSF_AR_OK;
}

/* ---- the level-dependent variance ---- */

size_t
tsf_ar_variance_work_size(int ks)
{
	size_t		k = (size_t) ks + 2;

	return k * k + 2 * k;
}

static inline double
clamp(double y, double lo, double hi)
{
	return y < lo ? lo : y > hi ? hi : y;
}

double
tsf_ar_variance_at(const TsfArVariance *v, const double *xs, double ylag)
{
	double		s = v->g[0];

	for (int j = 0; j < v->ks; j++)
		s += v->g[1 + j] * xs[j];
	s += v->g[v->ks + 1] * clamp(ylag, v->lo, v->hi);
	return exp(s);
}

int
tsf_ar_variance_ok(const TsfArVariance *v)
{
	double		top;
	double		gy;

	if (v->ks < 0 || !isfinite(v->lo) || !isfinite(v->hi) || !(v->lo <= v->hi))
		return 0;
	for (int j = 0; j < v->ks + 2; j++)
		if (!isfinite(v->g[j]))
			return 0;
	/* the largest exponent over x in [-1, 1] and the lagged value's clamp */
	top = v->g[0];
	for (int j = 0; j < v->ks; j++)
		top += fabs(v->g[1 + j]);
	gy = v->g[v->ks + 1];
	top += fmax(gy * v->lo, gy * v->hi);
	return isfinite(top) && top <= TSF_AR_MAX_LOG_VARIANCE;
}

/* step t's variance regressors: 1, its first ks exogenous terms, y[t-1] */
static void
variance_row(const TsfArModel *m, const double *y, const double *x, int ks, int t,
			 double *z)
{
	z[0] = 1.0;
	for (int j = 0; j < ks; j++)
		z[1 + j] = x[(size_t) t * m->m + j];
	z[ks + 1] = y[t - 1];
}

/* the residual of step t (t >= p) */
static double
residual(const TsfArModel *m, const double *y, const double *x, int t)
{
	return y[t] - (m->m > 0 ? tsf_ar_predict1_exog(m, y + t - m->p, x + (size_t) t * m->m) :
				   tsf_ar_predict1(m, y + t - m->p));
}

TsfArStatus
tsf_ar_variance_fit(const TsfArModel *m, const double *y, int n, const double *x,
					TsfArVariance *v, const TsfArPoll *poll, double *work)
{
	int			ks = v->ks;
	int			k = ks + 2;
	int			p = m->p;
	double	   *M = work;		/* (k, k): Z'Z, then its factor */
	double	   *b = work + (size_t) k * k;	/* (k): Z'u, then g */
	double	   *z = b + k;		/* (k): a row */
	double		ms = 0.0;
	double		floor2;
	double		sc = 0.0;
	int			nobs = n - p;
	ArPoll		pl = {poll, 0.0};
	TsfArStatus st;

	if (p < 1 || ks < 0 || ks > m->m || nobs < k)
		return TSF_AR_INVALID;
	v->lo = v->hi = y[p - 1];
	for (int t = p; t < n; t++)
	{
		double		e = residual(m, y, x, t);

		if ((t & 0xFFF) == 0 && poll_stop(&pl, 4096.0 * 2.0 * (p + m->m)))
			return TSF_AR_CANCELLED;
		ms += e * e;
		v->lo = fmin(v->lo, y[t - 1]);
		v->hi = fmax(v->hi, y[t - 1]);
	}
	ms /= nobs;
	if (!(ms > 0.0) || !isfinite(ms))
		return ms > 0.0 ? TSF_AR_NOT_FINITE : TSF_AR_RANK_DEFICIENT;
	floor2 = 1e-8 * ms;

	/* the normal equations of log max(e^2, floor) on the rows z */
	memset(M, 0, sizeof(double) * k * k);
	memset(b, 0, sizeof(double) * k);
	for (int t = p; t < n; t++)
	{
		double		e = residual(m, y, x, t);
		double		u = log(fmax(e * e, floor2));

		if ((t & 0xFFF) == 0 && poll_stop(&pl, 4096.0 * (2.0 * (p + m->m) + k * k)))
			return TSF_AR_CANCELLED;
		variance_row(m, y, x, ks, t, z);
		for (int a = 0; a < k; a++)
		{
			for (int c = 0; c <= a; c++)
				M[(size_t) a * k + c] += z[a] * z[c];
			b[a] += z[a] * u;
		}
	}
	st = cholesky(M, k, k, &pl);
	if (st != TSF_AR_OK)
		return st;
	cholesky_solve(M, k, k, b);
	memcpy(v->g, b, sizeof(double) * k);

	/* the scale: the mean of e^2 / s2 is 1 */
	for (int t = p; t < n; t++)
	{
		double		e = residual(m, y, x, t);

		if ((t & 0xFFF) == 0 && poll_stop(&pl, 4096.0 * (2.0 * (p + m->m) + 2 * k + 20)))
			return TSF_AR_CANCELLED;
		sc += e * e / tsf_ar_variance_at(v, x ? x + (size_t) t * m->m : NULL, y[t - 1]);
	}
	sc /= nobs;
	if (!(sc > 0.0) || !isfinite(sc))
		return TSF_AR_NOT_FINITE;
	v->g[0] += log(sc);
	return tsf_ar_variance_ok(v) ? TSF_AR_OK : TSF_AR_NOT_FINITE;
}

TsfArStatus
tsf_ar_forecast_var(const TsfArModel *m, const TsfArVariance *v, const double *hist,
					int h, const double *xf, double *mean, double *se, double *work,
					const TsfArPoll *poll)
{
	ArPoll		pl = {poll, 0.0};
	int			p = m->p;
	double	   *psi = work + p + h; /* (h): the forecast leaves its MA(inf) weights there */
	double	   *s2 = psi + h;	/* (h) */

	tsf_ar_forecast_exog(m, hist, h, xf, mean, se, work);
	if (v == NULL || p < 1)
		return TSF_AR_OK;
	for (int k = 0; k < h; k++)
		s2[k] = tsf_ar_variance_at(v, xf ? xf + (size_t) k * m->m : NULL,
								   k == 0 ? hist[p - 1] : mean[k - 1]);
	/* h^2 / 2 multiply-adds in all: polled per step */
	for (int k = 0; k < h; k++)
	{
		double		s = 0.0;

		if (poll_stop(&pl, 3.0 * (k + 1)))
			return TSF_AR_CANCELLED;
		for (int j = 0; j <= k; j++)
			s += psi[j] * psi[j] * s2[k - j];
		se[k] = sqrt(s);
	}
	return TSF_AR_OK;
}

void
tsf_ar_fourier(double period, double s0, long long k, int K, double *out)
{
	double		s = s0 + fmod((double) k, period) / period;

	s -= floor(s);
	for (int j = 1; j <= K; j++)
	{
		double		a = 2.0 * M_PI * (double) j * s;

		out[2 * (j - 1)] = sin(a);
		out[2 * (j - 1) + 1] = cos(a);
	}
}

/*
 * Wichura, Algorithm AS 241 (PPND16), Applied Statistics 37 (1988): the
 * normal quantile to about 1e-16, as R's qnorm.  No library Debian ships
 * with PostgreSQL has it, and it is twenty lines.
 */
double
tsf_qnorm(double p)
{
	double		q = p - 0.5,
				r,
				val;

	if (!(p > 0.0 && p < 1.0))
		return p == 0.0 ? -INFINITY : p == 1.0 ? INFINITY : NAN;
	if (fabs(q) <= 0.425)
	{
		r = 0.180625 - q * q;
		return q * (((((((r * 2509.0809287301226727 +
						  33430.575583588128105) * r + 67265.770927008700853) * r +
						45921.953931549871457) * r + 13731.693765509461125) * r +
					  1971.5909503065514427) * r + 133.14166789178437745) * r +
					3.387132872796366608)
			/ (((((((r * 5226.495278852545925 +
					 28729.085735721942674) * r + 39307.89580009271061) * r +
				   21213.794301586595867) * r + 5394.1960214247511077) * r +
				 687.1870074920579083) * r + 42.313330701600911252) * r + 1.0);
	}
	r = q < 0 ? p : 1.0 - p;
	r = sqrt(-log(r));
	if (r <= 5.0)
	{
		r -= 1.6;
		val = (((((((r * 7.7454501427834140764e-4 +
					 0.0227238449892691845833) * r + 0.24178072517745061177) * r +
				   1.27045825245236838258) * r + 3.64784832476320460504) * r +
				 5.7694972214606914055) * r + 4.6303378461565452959) * r +
			   1.42343711074968357734)
			/ (((((((r * 1.05075007164441684324e-9 + 5.475938084995344946e-4) * r +
					 0.0151986665636164571966) * r + 0.14810397642748007459) * r +
				   0.68976733498510000455) * r + 1.6763848301838038494) * r +
				 2.05319162663775882187) * r + 1.0);
	}
	else
	{
		r -= 5.0;
		val = (((((((r * 2.01033439929228813265e-7 +
					 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r +
				   0.026532189526576123093) * r + 0.29656057182850489123) * r +
				 1.7848265399172913358) * r + 5.4637849111641143699) * r +
			   6.6579046435011037772)
			/ (((((((r * 2.04426310338993978564e-15 + 1.4215117583164458887e-7) * r +
					 1.8463183175100546818e-5) * r + 7.868691311456132591e-4) * r +
				   0.0148753612908506148525) * r + 0.13692988092273580531) * r +
				 0.59983220655588793769) * r + 1.0);
	}
	return q < 0.0 ? -val : val;
}

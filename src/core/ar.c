/*
 * ar.c
 *		Autoregressive estimation, AIC order selection and forecasting.
 *
 * Two estimators, each matching a reference implementation:
 *
 *	OLS		y[t] regressed on (1, y[t-1], ..., y[t-p]) for t = p..n-1, solved by
 *			a QR factorization (LAPACK dgeqrf) of the design, as statsmodels'
 *			AutoReg does; sigma2 = SSE / nobs; AIC as AutoReg's:
 *			-2 llf + 2 (p + intercept + 1).  The QR is taken block by block
 *			(the R of the rows so far stacked on the next block of rows), so a
 *			series of a million points needs O(p^2) memory, not O(n p).
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
 */
#include "ar.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* LAPACK (Debian's liblapack3); declared here to avoid a header dependency */
extern void dgeqrf_(const int *m, const int *n, double *a, const int *lda,
					double *tau, double *work, const int *lwork, int *info);

#define QR_LWORK_PER_COL	32

static TsfArStatus ar_fit_ols_qr(const double *y, int n, int p, int intercept,
								 double *work, TsfArModel *m);

/* rows of the design added per QR block for kc columns */
static int
qr_block_rows(int kc)
{
	int			b = 4 * kc;

	return b < 256 ? 256 : b;
}

int
tsf_ar_min_points(int p, int intercept)
{
	int			n = 2 * p + intercept + 1;

	return n < 3 ? 3 : n;
}

int
tsf_ar_default_max_order(int n, int intercept)
{
	int			p = (int) floor(10.0 * log10((double) n));
	int			feasible = (n - intercept - 1) / 2;

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
	size_t		kc = (size_t) maxp + 2;		/* intercept, lags, y */
	size_t		qr = (kc + qr_block_rows((int) kc)) * kc + kc + QR_LWORK_PER_COL * kc;
	size_t		gram = 2 * (size_t) n + kc * kc + 2 * kc;	/* series, Gram, scratch, residuals */

	/* the QR fallback works past the Gram's area */
	return gram + qr;
}

/* the OLS fit through the QR path only, for tests of both paths */
TsfArStatus
tsf_ar_fit_ols_qr(const double *y, int n, int p, int intercept, double *work,
				  TsfArModel *m)
{
	return ar_fit_ols_qr(y, n, p, intercept, work, m);
}

/*
 * Least squares fit by blocked Householder QR.
 *
 * The augmented matrix [X | y] (nobs x kc, kc = k + 1) is processed in blocks
 * of B rows: A = [R_prev ; X_block], A = QR, keep R.  At the end
 * R = [R11 r12 ; 0 r22]: beta = R11^-1 r12 and SSE = r22^2.
 */
static TsfArStatus
ar_fit_ols_qr(const double *y, int n, int p, int intercept, double *work,
			  TsfArModel *m)
{
	int			k = p + intercept;
	int			kc = k + 1;
	int			B = qr_block_rows(kc);
	int			lda = kc + B;
	double	   *A = work;		/* (lda, kc) column-major */
	double	   *tau = A + (size_t) lda * kc;	/* (kc) */
	double	   *qwork = tau + kc;	/* (QR_LWORK_PER_COL * kc) */
	int			lwork = QR_LWORK_PER_COL * kc;
	int			rrows = 0;		/* rows of R carried at the top of A */
	int			t = p;
	double		beta[TSF_AR_MAX_ORDER + 1];
	double		dmax = 0.0;

	m->p = p;
	m->intercept = intercept;
	m->mean = 0.0;
	m->nobs = n - p;
	m->solver = 1;
	if (n < tsf_ar_min_points(p, intercept))
		return TSF_AR_TOO_SHORT;

	while (t < n)
	{
		int			rows = n - t < B ? n - t : B;
		int			mrows = rrows + rows;
		int			info = 0;

		/* append the block: row r is [1?, y[t-1], ..., y[t-p], y[t]] */
		for (int r = 0; r < rows; r++, t++)
		{
			int			row = rrows + r;
			int			col = 0;

			if (intercept)
				A[(size_t) col++ * lda + row] = 1.0;
			for (int i = 1; i <= p; i++)
				A[(size_t) col++ * lda + row] = y[t - i];
			A[(size_t) col * lda + row] = y[t];
		}

		dgeqrf_(&mrows, &kc, A, &lda, tau, qwork, &lwork, &info);
		if (info != 0)
			return TSF_AR_LAPACK;

		/* keep the upper trapezoid R (min(mrows, kc) rows); clear the reflectors */
		rrows = mrows < kc ? mrows : kc;
		for (int j = 0; j < kc; j++)
			for (int i = j + 1; i < mrows; i++)
				A[(size_t) j * lda + i] = 0.0;
	}

	/* rank check on the diagonal of R11, then back substitution */
	for (int j = 0; j < k; j++)
		if (fabs(A[(size_t) j * lda + j]) > dmax)
			dmax = fabs(A[(size_t) j * lda + j]);
	for (int j = k - 1; j >= 0; j--)
	{
		double		rjj = A[(size_t) j * lda + j];
		double		s = A[(size_t) k * lda + j];

		if (!(fabs(rjj) > dmax * 1e-13 * (double) n))
			return TSF_AR_RANK_DEFICIENT;
		for (int i = j + 1; i < k; i++)
			s -= A[(size_t) i * lda + j] * beta[i];
		beta[j] = s / rjj;
	}

	{
		double		r22 = A[(size_t) k * lda + k];
		double		sse = r22 * r22;
		double		nobs = (double) (n - p);

		m->c = intercept ? beta[0] : 0.0;
		for (int i = 0; i < p; i++)
			m->phi[i] = beta[intercept + i];
		m->sigma2 = sse / nobs;
		/* -2 llf + 2 (df_model + 1), llf = -nobs/2 (log(2 pi) + log(sigma2) + 1) */
		m->aic = nobs * (log(2.0 * M_PI) + log(m->sigma2) + 1.0) + 2.0 * (k + 1);
	}
	for (int i = 0; i < p; i++)
		if (!isfinite(m->phi[i]))
			return TSF_AR_NOT_FINITE;
	return isfinite(m->c) ? TSF_AR_OK : TSF_AR_NOT_FINITE;
}

/*
 * Durbin-Levinson on autocovariances r[0..P]: phi (P, P) row-major gets the
 * coefficients of every order (row m-1 holds order m), v[m] the innovation
 * variance of order m: v[m] = v[m-1] (1 - kappa[m]^2).
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

/* autocovariances with divisor n of y - xm, lags 0..P: r (P + 1) */
static void
autocov(const double *y, int n, double xm, int P, double *r)
{
	for (int k = 0; k <= P; k++)
	{
		double		s = 0.0;

		for (int t = 0; t + k < n; t++)
			s += (y[t] - xm) * (y[t + k] - xm);
		r[k] = s / n;
	}
}

static double
series_mean(const double *y, int n)
{
	double		s = 0.0;

	for (int t = 0; t < n; t++)
		s += y[t];
	return s / n;
}

/*
 * sum a[i] b[i] with four partial sums: the compiler vectorizes it without
 * -ffast-math, and the order of additions is fixed, so results are the same
 * on every run.
 */
static double
dot(const double *restrict a, const double *restrict b, int n)
{
	double		s0 = 0.0,
				s1 = 0.0,
				s2 = 0.0,
				s3 = 0.0;
	int			i = 0;

	for (; i + 4 <= n; i += 4)
	{
		s0 += a[i] * b[i];
		s1 += a[i + 1] * b[i + 1];
		s2 += a[i + 2] * b[i + 2];
		s3 += a[i + 3] * b[i + 3];
	}
	for (; i < n; i++)
		s0 += a[i] * b[i];
	return (s0 + s1) + (s2 + s3);
}

/*
 * Yule-Walker fit of order p (R's ar.yw with aic = FALSE, order.max = p).
 * work: (p + 1) autocovariances, (p, p) coefficients, (p + 1) variances.
 */
static TsfArStatus
ar_fit_yw(const double *y, int n, int p, int intercept, double *work,
		  TsfArModel *m)
{
	double	   *r = work;		/* (p + 1) */
	double	   *phi = r + p + 1;	/* (p, p) */
	double	   *v = phi + (size_t) p * p;	/* (p + 1) */
	double		xm = intercept ? series_mean(y, n) : 0.0;
	double		sphi = 0.0;

	m->p = p;
	m->intercept = intercept;
	m->nobs = n;
	if (n < tsf_ar_min_points(p, intercept))
		return TSF_AR_TOO_SHORT;

	autocov(y, n, xm, p, r);
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
	for (int i = 0; i < p; i++)
		if (!isfinite(m->phi[i]))
			return TSF_AR_NOT_FINITE;
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
 * P + 1 doubles each.
 */
static void
lagged_gram(const double *z, int n, int t0, int P, int intercept, double *M,
			double *S0, double *mu)
{
	int			k = P + intercept;
	int			kc = k + 1;
	int			N = n - t0;

	/* first row of S directly, O(N P); the lag sums by their recurrence */
	for (int j = 0; j <= P; j++)
		S0[j] = dot(z + t0, z + t0 - j, N);
	mu[0] = 0.0;
	for (int t = t0; t < n; t++)
		mu[0] += z[t];
	for (int j = 1; j <= P; j++)
		mu[j] = mu[j - 1] + z[t0 - j] - z[n - j];

	/*
	 * Fill M.  Regressor a (0-based) is the constant when intercept && a == 0,
	 * else lag a + 1 - intercept; y (lag 0) is index k.  For lags i >= j >= 1
	 * (rows a >= b of the lag block, g = i - j), M[a-1][b-1] holds
	 * S(j-1, i-1) once j >= 2.
	 */
	for (int a = 0; a < kc; a++)
	{
		for (int b = 0; b <= a; b++)
		{
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

				val = j == 1 ? S0[g] : M[(size_t) (a - 1) * kc + (b - 1)];
				val += z[t0 - j] * z[t0 - j - g] - z[n - j] * z[n - j - g];
			}
			M[(size_t) a * kc + b] = val;
		}
	}
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
 */
static TsfArStatus
ar_select_ols(const double *y, int n, int P, int intercept, double *work,
			  int *p_out)
{
	int			k = P + intercept;	/* regressors */
	int			kc = k + 1;		/* plus y */
	int			N = n - P;
	double	   *z = work;		/* (n) */
	double	   *M = z + n;		/* (kc, kc) row-major, lower triangle used */
	double	   *S0 = M + (size_t) kc * kc;	/* (P + 1): S(0, j) */
	double	   *mu = S0 + P + 1;	/* (P + 1) */
	double		xm = intercept ? series_mean(y, n) : 0.0;
	int			usable = k;		/* regressors before the factor broke down */
	double		best = INFINITY;
	int			bestp = 0;
	double		tail;

	if (n < tsf_ar_min_points(P, intercept))
		return TSF_AR_TOO_SHORT;
	for (int t = 0; t < n; t++)
		z[t] = y[t] - xm;

	lagged_gram(z, n, P, P, intercept, M, S0, mu);

	/* in-place Cholesky, row by row; stop at the first non-positive pivot */
	for (int a = 0; a < kc; a++)
	{
		double	   *ra = M + (size_t) a * kc;
		double		diag0 = ra[a];

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

	/* residual sums of squares from the tail of the y row, then AIC */
	{
		double	   *ry = M + (size_t) k * kc;
		double		d = ry[k];

		for (int c = 0; c < usable; c++)
			d -= ry[c] * ry[c];
		tail = d > 0.0 ? d : 0.0;
		for (int q = usable; q >= intercept; q--)
		{
			int			p = q - intercept;
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
ar_select_yw(const double *y, int n, int P, int intercept, double *work,
			 int *p_out)
{
	double	   *r = work;
	double	   *phi = r + P + 1;
	double	   *v = phi + (size_t) P * P;
	double		xm = intercept ? series_mean(y, n) : 0.0;
	double		best = INFINITY;

	if (n < tsf_ar_min_points(P, intercept))
		return TSF_AR_TOO_SHORT;
	autocov(y, n, xm, P, r);
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
 * lower triangle A (leading dimension ld).  False on a non-positive pivot.
 */
static bool
cholesky(double *A, int k, int ld)
{
	for (int a = 0; a < k; a++)
	{
		double	   *ra = A + (size_t) a * ld;

		for (int b = 0; b <= a; b++)
		{
			const double *rb = A + (size_t) b * ld;
			double		s = ra[b];

			for (int c = 0; c < b; c++)
				s -= ra[c] * rb[c];
			if (b < a)
				ra[b] = s / rb[b];
			else if (!(s > 0.0))
				return false;
			else
				ra[a] = sqrt(s);
		}
	}
	return true;
}

/* solve L L' x = b in place, L from cholesky() */
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
 * first): the residuals r (n - p), h = X' r (the negative half-gradient of
 * the residual sum of squares), and returns SSE = r' r.  O(n p), as
 * column-wise axpys and dot products that vectorize.
 */
static double
residual_pass(const double *z, int n, int p, int intercept, const double *b,
			  double *h, double *r)
{
	int			N = n - p;
	const double *phi = b + intercept;
	double		b0 = intercept ? b[0] : 0.0;
	double		sum = 0.0;

	for (int t = 0; t < N; t++)
		r[t] = z[p + t] - b0;
	for (int i = 0; i < p; i++)
	{
		const double *lag = z + p - 1 - i;	/* lag i+1 of equation t */
		double		f = phi[i];

		for (int t = 0; t < N; t++)
			r[t] -= f * lag[t];
	}
	if (intercept)
	{
		for (int t = 0; t < N; t++)
			sum += r[t];
		h[0] = sum;
	}
	for (int i = 0; i < p; i++)
		h[intercept + i] = dot(r, z + p - 1 - i, N);
	return dot(r, r, N);
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
ar_fit_ols(const double *y, int n, int p, int intercept, double *work,
		   TsfArModel *m)
{
	int			k = p + intercept;
	int			kc = k + 1;
	double	   *z = work;		/* (n) */
	double	   *M = z + n;		/* (kc, kc) */
	double	   *S0 = M + (size_t) kc * kc;	/* (p + 1) */
	double	   *mu = S0 + p + 1;	/* (p + 1) */
	double	   *r = mu + p + 1; /* (n - p) residuals */
	double	   *qr_work = r + n;
	double		shift = intercept ? series_mean(y, n) : 0.0;
	double		b[TSF_AR_MAX_ORDER + 1];
	double		h[TSF_AR_MAX_ORDER + 1];
	double		d[TSF_AR_MAX_ORDER + 1];
	double		sse = 0.0,
				sphi = 0.0;
	bool		converged = false;

	if (n < tsf_ar_min_points(p, intercept))
	{
		m->p = p;
		return TSF_AR_TOO_SHORT;
	}
	for (int t = 0; t < n; t++)
		z[t] = y[t] - shift;
	lagged_gram(z, n, p, p, intercept, M, S0, mu);
	for (int a = 0; a < k; a++)
		h[a] = M[(size_t) a * kc + a];
	if (!cholesky(M, k, kc))
		return ar_fit_ols_qr(y, n, p, intercept, qr_work, m);

	/*
	 * The smallest pivot relative to its diagonal entry bounds the condition
	 * number of the equilibrated Gram matrix from below; refinement needs
	 * cond * eps well below 1, so hand clearly ill-conditioned fits to QR.
	 */
	for (int a = 0; a < k; a++)
	{
		double		L = M[(size_t) a * kc + a];

		if (L * L < 1e-8 * h[a])
			return ar_fit_ols_qr(y, n, p, intercept, qr_work, m);
	}

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

		sse = residual_pass(z, n, p, intercept, b, h, r);
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
		return ar_fit_ols_qr(y, n, p, intercept, qr_work, m);

	m->p = p;
	m->intercept = intercept;
	m->mean = 0.0;
	m->nobs = n - p;
	m->solver = 0;
	for (int i = 0; i < p; i++)
	{
		m->phi[i] = b[intercept + i];
		sphi += m->phi[i];
		if (!isfinite(m->phi[i]))
			return TSF_AR_NOT_FINITE;
	}
	/* back from the centered series: y - s = b0 + sum phi (y[t-i] - s) */
	m->c = intercept ? b[0] + shift * (1.0 - sphi) : 0.0;
	m->sigma2 = sse / m->nobs;
	m->aic = m->nobs * (log(2.0 * M_PI) + log(m->sigma2) + 1.0) + 2.0 * (k + 1);
	return isfinite(m->c) ? TSF_AR_OK : TSF_AR_NOT_FINITE;
}

TsfArStatus
tsf_ar_select(const double *y, int n, int maxp, int intercept,
			  TsfArMethod method, double *work, int *p_out)
{
	if (method == TSF_AR_YULE_WALKER)
		return ar_select_yw(y, n, maxp, intercept, work, p_out);
	return ar_select_ols(y, n, maxp, intercept, work, p_out);
}

TsfArStatus
tsf_ar_fit(const double *y, int n, int p, int intercept, TsfArMethod method,
		   double *work, TsfArModel *m)
{
	if (method == TSF_AR_YULE_WALKER)
		return ar_fit_yw(y, n, p, intercept, work, m);
	return ar_fit_ols(y, n, p, intercept, work, m);
}

double
tsf_ar_predict1(const TsfArModel *m, const double *lags)
{
	double		s = m->c;

	for (int i = 1; i <= m->p; i++)
		s += m->phi[i - 1] * lags[m->p - i];
	return s;
}

void
tsf_ar_forecast(const TsfArModel *m, const double *hist, int h,
				double *mean, double *se, double *work)
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
		x[p + k] = s;
		psi[k] = w;
		mean[k] = s;
		cum += w * w;
		se[k] = sqrt(m->sigma2 * cum);
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

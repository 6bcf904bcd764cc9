/*
 * mse.c
 *		Mean squared error over a range of steps [t0, t1):
 *
 *	L = 1/n sum_{t0 <= t < t1} (pred[t] - y[t])^2,   n = t1 - t0
 *	dL/dpred[t] = 2 (pred[t] - y[t]) / n inside the range, 0 outside
 *
 * The range lets the caller skip a warm-up prefix and hold out a trailing
 * validation part of the one training sequence.  The sum is taken in double
 * whatever the scalar type.
 */
#include "nn.h"

/* Forward: the loss of pred (T) against target (T) over [t0, t1) */
double
tsf_mse_forward(const tsf_real *pred, const tsf_real *target, int t0, int t1)
{
	double		sum = 0.0;

	if (t1 <= t0)
		return 0.0;
	for (int t = t0; t < t1; t++)
	{
		double		e = (double) pred[t] - (double) target[t];

		sum += e * e;
	}
	return sum / (t1 - t0);
}

/* Backward: dpred (T) = dL/dpred, SET (not accumulated), zero off-range */
void
tsf_mse_backward(tsf_real *dpred, const tsf_real *pred,
				 const tsf_real *target, int T, int t0, int t1)
{
	tsf_real	scale = t1 > t0 ? (tsf_real) (2.0 / (t1 - t0)) : 0;

	for (int t = 0; t < T; t++)
		dpred[t] = (t >= t0 && t < t1) ? scale * (pred[t] - target[t]) : 0;
}

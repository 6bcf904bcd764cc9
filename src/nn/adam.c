/*
 * adam.c
 *		One Adam update over a parameter block, the formula of
 *		torch.optim.Adam with default settings (no weight decay, no amsgrad):
 *
 *	m = beta1 m + (1 - beta1) g
 *	v = beta2 v + (1 - beta2) g^2
 *	p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *
 * with t the 1-based step count; the bias corrections are computed in double.
 */
#include "nn_kernels.h"

/*
 * Update params (n) in place from grads (n) and the moments m, v (n) at step
 * t (1 for the first call).
 */
void
tsf_adam_step(tsf_real *params, const tsf_real *grads,
			  tsf_real *m, tsf_real *v, size_t n, long t,
			  const tsf_adam *opt)
{
	double		bc1 = 1.0 - pow(opt->beta1, (double) t);
	double		bc2 = 1.0 - pow(opt->beta2, (double) t);
	tsf_real	step_size = (tsf_real) (opt->lr / bc1);
	tsf_real	bc2_sqrt = (tsf_real) sqrt(bc2);
	tsf_real	b1 = (tsf_real) opt->beta1,
				b2 = (tsf_real) opt->beta2;
	tsf_real	a1 = (tsf_real) (1.0 - opt->beta1),
				a2 = (tsf_real) (1.0 - opt->beta2);
	tsf_real	eps = (tsf_real) opt->eps;

	for (size_t j = 0; j < n; j++)
	{
		tsf_real	g = grads[j];

		m[j] = m[j] * b1 + a1 * g;
		v[j] = v[j] * b2 + a2 * g * g;
		params[j] -= step_size * m[j] / (TSF_SQRT(v[j]) / bc2_sqrt + eps);
	}
}

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
 * The scalars of the update at step t, rounded to tsf_real as the update
 * uses them (tsf_adam_kernel; the lanes call tsf_adam_step over all 16)
 */
void
tsf_adam_scalars(const tsf_adam *opt, long t, tsf_adam_k *k)
{
	double		bc1 = 1.0 - pow(opt->beta1, (double) t);
	double		bc2 = 1.0 - pow(opt->beta2, (double) t);

	k->step_size = (tsf_real) (opt->lr / bc1);
	k->bc2_sqrt = (tsf_real) sqrt(bc2);
	k->b1 = (tsf_real) opt->beta1;
	k->b2 = (tsf_real) opt->beta2;
	k->a1 = (tsf_real) (1.0 - opt->beta1);
	k->a2 = (tsf_real) (1.0 - opt->beta2);
	k->eps = (tsf_real) opt->eps;
}

/*
 * Update params (n) in place from grads (n) and the moments m, v (n) at step
 * t (1 for the first call).
 */
void
tsf_adam_step(tsf_real *params, const tsf_real *grads,
			  tsf_real *m, tsf_real *v, size_t n, long t,
			  const tsf_adam *opt)
{
	tsf_adam_k	k;

	/* the update of each element, in this order, is tsf_adam_kernel's */
	tsf_adam_scalars(opt, t, &k);
	tsf_adam_kernel(params, grads, m, v, n, &k);
}

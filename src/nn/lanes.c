/*
 * lanes.c
 *		Several networks of one configuration trained in one pass, the
 *		networks side by side in the vector lanes (nn.h, "several networks
 *		in one pass"; the epoch itself is lanes_isa.h).
 *
 * Why lanes and not a batch dimension in the products: the networks have
 * their own weights, so no product can serve two of them, and what a
 * batch can save is instead the one-at-a-time core's idle lanes and
 * per-step overheads at small H (40 units are 2.5 vectors of 16 floats; a
 * K 3, C 4 convolution and a one-output linear layer vectorize badly
 * alone).  With the networks in the lanes every operation is a whole
 * vector.  The cost is locality: 16 networks' W_hh no longer fit L1, so
 * from H = 128 on the lanes are slower than one at a time, and the caller
 * keeps to small networks (bench/nn_lanes.c, bench/RESULTS.md).
 *
 * Written by hand because it measurably serves speed at the default
 * H = 40 (bench/RESULTS.md).  Compiled three times (baseline, AVX2,
 * AVX-512) and chosen at load, as kernels.c is; all give the same bits.
 */
#include "nn_kernels.h"

#include <string.h>

#ifdef TSF_NN_FLOAT
#define LANE_INT	int32_t
#else
#define LANE_INT	int64_t
#endif

/* rows of W per group of l_mv (lanes_isa.h) */
#ifndef LANES_RB
#define LANES_RB	8
#endif

/* the register block of l_mm_tn */
#ifndef LANES_TN_MB
#define LANES_TN_MB	4
#endif
#ifndef LANES_TN_NB
#define LANES_TN_NB	4
#endif

#define ISA(name)	CAT(name, base)
#define ISA_TARGET
#include "lanes_isa.h"
#undef ISA
#undef ISA_TARGET

#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && \
	!defined(TSF_NN_NO_DISPATCH)
#define TSF_NN_DISPATCH 1

#define ISA(name)	CAT(name, avx2)
#define ISA_TARGET	__attribute__((target("avx2")))
#include "lanes_isa.h"
#undef ISA
#undef ISA_TARGET

#define ISA(name)	CAT(name, avx512)
#define ISA_TARGET	__attribute__((target("avx512f")))
#include "lanes_isa.h"
#undef ISA
#undef ISA_TARGET

typedef tsf_nn_error (*epoch_fn) (tsf_nn_lanes *ln, const tsf_nn_train_opts *opts,
								  tsf_rng *const *rng, double *train_loss,
								  double *val_loss);

typedef tsf_nn_error (*loss_fn) (tsf_nn_lanes *ln, const tsf_real *params,
								 int t0, int t1, double *loss);

TSF_NN_RESOLVER(lanes_epoch, epoch_fn)
TSF_NN_RESOLVER(lanes_loss, loss_fn)

static tsf_nn_error lanes_epoch(tsf_nn_lanes *ln, const tsf_nn_train_opts *opts,
								tsf_rng *const *rng, double *train_loss,
								double *val_loss)
			__attribute__((ifunc("resolve_lanes_epoch")));
static tsf_nn_error lanes_loss(tsf_nn_lanes *ln, const tsf_real *params,
							   int t0, int t1, double *loss)
			__attribute__((ifunc("resolve_lanes_loss")));
#else
#define lanes_epoch lanes_epoch_base
#define lanes_loss lanes_loss_base
#endif

/*
 * The workspace for sequences of up to T steps: its size in tsf_real
 * elements and, when ln is not NULL, the pointers into base.  Each buffer
 * starts on a multiple of 16 elements (64 bytes of floats).
 */
static size_t
lanes_layout(const tsf_nn_config *cfg, size_t T, tsf_real *base,
			 tsf_nn_lanes *ln)
{
	size_t		H = (size_t) cfg->hidden;
	size_t		G = 4 * H;
	size_t		C = cfg->conv_kernel > 0 ? (size_t) cfg->conv_channels : 0;
	size_t		I0 = C > 0 ? C : (size_t) cfg->n_in;
	size_t		P = tsf_nn_param_count(cfg);
	size_t		o = 0;
	tsf_nn_acts *a = ln ? &ln->acts : NULL;

#define CARVE(ptr, n) \
	do { \
		if (ln) \
			(ptr) = base + o; \
		o += ((size_t) (n) * TSF_NN_LANES + 15) & ~(size_t) 15; \
	} while (0)

	if (ln)
		*a = (tsf_nn_acts) {0};
	CARVE(ln->params, P);
	CARVE(ln->grads, P);
	CARVE(ln->m, P);
	CARVE(ln->v, P);
	CARVE(ln->x, T * (size_t) cfg->n_in);
	CARVE(ln->y, T);
	if (C > 0)
	{
		CARVE(a->conv_out, T * C);
		CARVE(a->dconv, T * C);
	}
	for (int l = 0; l < cfg->layers; l++)
	{
		CARVE(a->gates[l], T * G);
		CARVE(a->c[l], T * H);
		CARVE(a->tc[l], T * H);
		CARVE(a->h[l], T * H);
	}
	CARVE(a->mask, T * H);
	CARVE(a->drop_out, T * H);
	CARVE(a->pred, T);
	CARVE(a->wT, (I0 > H ? I0 : H) * G);
	CARVE(a->dpred, T);
	CARVE(a->ddrop, T * H);
	CARVE(a->dh[0], T * H);
	CARVE(a->dh[1], T * H);
	CARVE(a->dgates, T * G);
	CARVE(a->scratch, 2 * H);
#undef CARVE
	return o;
}

/* Bytes of workspace of tsf_nn_lanes_bind for sequences of up to T_max */
size_t
tsf_nn_lanes_workspace_bytes(const tsf_nn_config *cfg, int T_max)
{
	if (T_max < 1 || tsf_nn_config_check(cfg) != TSF_NN_OK)
		return 0;
	return lanes_layout(cfg, (size_t) T_max, NULL, NULL) * sizeof(tsf_real);
}

/*
 * Bind ln to work, tsf_nn_lanes_workspace_bytes(cfg, T_max) bytes aligned
 * for tsf_real (64 bytes is best).  Then tsf_nn_lanes_load.
 */
tsf_nn_error
tsf_nn_lanes_bind(tsf_nn_lanes *ln, const tsf_nn_config *cfg,
				  void *work, size_t work_bytes, int T_max)
{
	tsf_nn_error err = tsf_nn_config_check(cfg);

	if (err != TSF_NN_OK)
		return err;
	if (tsf_nn_param_count(cfg) > TSF_NN_LANES_MAX_PARAMS)
		return TSF_NN_LANES_TOO_LARGE;
	if (T_max < 1)
		return TSF_NN_BAD_LENGTH;
	if (work == NULL || work_bytes < tsf_nn_lanes_workspace_bytes(cfg, T_max))
		return TSF_NN_SMALL_WORKSPACE;
	memset(ln, 0, sizeof(*ln));
	ln->cfg = *cfg;
	tsf_nn_param_offsets(cfg, &ln->off);
	ln->T_max = T_max;
	lanes_layout(cfg, (size_t) T_max, (tsf_real *) work, ln);
	ln->resume = TSF_NN_RESUME_NONE;
	return TSF_NN_OK;
}

/*
 * Take the parameters, Adam moments and step count of TSF_NN_LANES trained
 * or fresh networks (tsf_nn_bind with grads, m and v): network s becomes
 * lane s.  They must have ln's configuration, the same step count and no
 * epoch half done (TSF_NN_LANES_MISMATCH otherwise; ln unchanged).
 */
tsf_nn_error
tsf_nn_lanes_load(tsf_nn_lanes *ln, tsf_nn *const *nets)
{
	size_t		P = ln->off.total;

	for (int s = 0; s < TSF_NN_LANES; s++)
	{
		const tsf_nn *nn = nets[s];

		if (!tsf_nn_config_equal(&nn->cfg, &ln->cfg) || nn->m == NULL ||
			nn->v == NULL || nn->step != nets[0]->step ||
			nn->adam_next != 0 || nn->resume != TSF_NN_RESUME_NONE)
			return TSF_NN_LANES_MISMATCH;
	}
	for (int s = 0; s < TSF_NN_LANES; s++)
	{
		const tsf_nn *nn = nets[s];

		for (size_t j = 0; j < P; j++)
		{
			ln->params[j * TSF_NN_LANES + s] = nn->params[j];
			ln->m[j * TSF_NN_LANES + s] = nn->m[j];
			ln->v[j * TSF_NN_LANES + s] = nn->v[j];
		}
	}
	ln->step = nets[0]->step;
	ln->resume = TSF_NN_RESUME_NONE;
	return TSF_NN_OK;
}

/*
 * Start TSF_NN_LANES fresh networks: lane s gets params[s] (P), zero Adam
 * moments, step 0 (tsf_nn_reset_optimizer for each network alone).
 */
void
tsf_nn_lanes_start(tsf_nn_lanes *ln, const tsf_real *const *params)
{
	size_t		P = ln->off.total;

	for (int s = 0; s < TSF_NN_LANES; s++)
		for (size_t j = 0; j < P; j++)
			ln->params[j * TSF_NN_LANES + s] = params[s][j];
	memset(ln->m, 0, sizeof(tsf_real) * P * TSF_NN_LANES);
	memset(ln->v, 0, sizeof(tsf_real) * P * TSF_NN_LANES);
	ln->step = 0;
	ln->resume = TSF_NN_RESUME_NONE;
}

/* dst (P) = lane s of a (P, LANES) parameter array (ln->params, or a copy) */
void
tsf_nn_lanes_lane(const tsf_nn_lanes *ln, const tsf_real *lanes, int s,
				  tsf_real *dst)
{
	size_t		P = ln->off.total;

	for (size_t j = 0; j < P; j++)
		dst[j] = lanes[j * TSF_NN_LANES + s];
}

/*
 * Each lane's MSE over [t0, t1), 0 <= t0 < t1 <= T, of a forward pass
 * without dropout over the data set with params (P, LANES) in place of
 * the lanes' own (a moving average of them, say): tsf_nn_forward with
 * those parameters and tsf_mse_forward, lane by lane.  Cancelled: loss is
 * untouched; call again.
 */
tsf_nn_error
tsf_nn_lanes_loss(tsf_nn_lanes *ln, const tsf_real *params, int t0, int t1,
				  double *loss)
{
	if (ln->T < 1 || t0 < 0 || t1 > ln->T || t0 >= t1)
		return TSF_NN_BAD_LENGTH;
	return lanes_loss(ln, params, t0, t1, loss);
}

/* Give lane s's parameters, moments and step count back to network s */
void
tsf_nn_lanes_store(const tsf_nn_lanes *ln, tsf_nn *const *nets)
{
	size_t		P = ln->off.total;

	for (int s = 0; s < TSF_NN_LANES; s++)
	{
		tsf_nn	   *nn = nets[s];

		for (size_t j = 0; j < P; j++)
		{
			nn->params[j] = ln->params[j * TSF_NN_LANES + s];
			nn->m[j] = ln->m[j * TSF_NN_LANES + s];
			nn->v[j] = ln->v[j * TSF_NN_LANES + s];
		}
		nn->step = ln->step;
	}
}

/*
 * The networks' data: x[s] (T, n_in) and y[s] (T) for network s, copied
 * into the lanes; 1 <= T <= T_max.
 */
tsf_nn_error
tsf_nn_lanes_set_data(tsf_nn_lanes *ln, const tsf_real *const *x,
					  const tsf_real *const *y, int T)
{
	size_t		nx = (size_t) T * ln->cfg.n_in;

	if (T < 1 || T > ln->T_max)
		return TSF_NN_BAD_LENGTH;
	for (int s = 0; s < TSF_NN_LANES; s++)
	{
		for (size_t i = 0; i < nx; i++)
			ln->x[i * TSF_NN_LANES + s] = x[s][i];
		for (int t = 0; t < T; t++)
			ln->y[(size_t) t * TSF_NN_LANES + s] = y[s][t];
	}
	ln->T = T;
	ln->resume = TSF_NN_RESUME_NONE;
	return TSF_NN_OK;
}

/*
 * One epoch of every lane, tsf_nn_train_epoch's on the data set: rng[s]
 * (all or none: rng NULL means no dropout) is network s's dropout
 * generator; train_loss and val_loss (LANES each, either may be NULL) get
 * each network's losses.  Cancelled (TSF_NN_CANCELLED): in the forward or
 * backward nothing changed (the generators included); in the validation
 * pass the update is applied and ln->resume is TSF_NN_RESUME_VALIDATION.
 * Either way the same call made again finishes the epoch with the bits of
 * an uninterrupted one.
 */
tsf_nn_error
tsf_nn_lanes_train_epoch(tsf_nn_lanes *ln, const tsf_nn_train_opts *opts,
						 tsf_rng *const *rng, double *train_loss,
						 double *val_loss)
{
	int			T = ln->T;
	int			vs = opts->val_start;

	if (T < 1)
		return TSF_NN_BAD_LENGTH;
	if (vs <= 0 || vs >= T)
		vs = T;
	if (opts->loss_start < 0 || opts->loss_start >= vs)
		return TSF_NN_BAD_LENGTH;
	return lanes_epoch(ln, opts, rng, train_loss, val_loss);
}

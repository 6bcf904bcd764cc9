/*
 * tsf_cuda.h
 *		The CUDA backend's interface: what tsforecast.so finds, at run time,
 *		in the separate module tsforecast_cuda.so.
 *
 * The main library never links CUDA: it dlopen()s $pkglibdir/
 * tsforecast_cuda.so (RTLD_LOCAL) the first time a GPU is asked about,
 * looks up tsfc_get_api() and checks abi == TSFC_ABI.  A missing module, a
 * missing driver or no GPU all read as "no CUDA backend" (cuda_device() is
 * NULL, device "auto" trains on the CPU).  The module links the CUDA
 * runtime statically, so it needs only the driver (libcuda.so.1) at run
 * time, and opening it never fails for want of a toolkit.
 *
 * Plain C, no PostgreSQL headers, no CUDA headers: both sides include it.
 * Nothing in the module calls back into PostgreSQL except through
 * on_epoch, which must not throw (it only reads flags); errors come back
 * as return codes with a message, after the module has freed every byte
 * of GPU memory it took.
 *
 * The module trains B independent networks of one configuration (the
 * network of src/nn, float32) in one pass: each series keeps its own
 * parameters, Adam moments and dropout stream, and all step together,
 * epoch by epoch, exactly as lstm_train's loop does for one series
 * (src/lstm_train.c): forward with dropout over the training steps, MSE,
 * backward, Adam; then the moving average of the weights (ema > 0); then,
 * with a validation part, a forward without dropout over all steps with
 * the averaged (or plain) weights for the validation loss, the best
 * weights kept, and patience.  Parameters are initialized by the caller
 * (tsf_nn_init_params), and the dropout masks are drawn from the caller's
 * xoshiro256** states in the CPU core's order, so a series gets the model
 * the CPU would give it, to float32 rounding.
 */
#ifndef TSF_CUDA_H
#define TSF_CUDA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C"
{
#endif

#define TSFC_ABI	1

/* return codes */
#define TSFC_OK				0
#define TSFC_ERROR			1	/* CUDA failure or bad input; message set */
#define TSFC_NO_DEVICE		2	/* no usable GPU; message says why */
#define TSFC_UNSUPPORTED	3	/* configuration the kernels do not cover */
#define TSFC_CANCELLED		4	/* on_epoch asked to stop */
#define TSFC_DIVERGED		5	/* a loss became NaN or infinite */

/* the largest hidden size the kernels take (4H threads per block) */
#define TSFC_MAX_HIDDEN		256

typedef struct tsfc_train
{
	/* the network (tsf_nn_config) */
	int			n_in;
	int			conv_kernel;	/* 0: no convolution */
	int			conv_channels;
	int			hidden;
	int			layers;
	double		dropout;

	/* the optimizer and the loop */
	double		lr,
				beta1,
				beta2,
				eps;
	int			epochs;
	double		ema;			/* weight averaging decay, 0 = off */
	int			patience;		/* 0 = off; stop a series after this many
								 * epochs without a better validation loss */

	/* the batch: B series, series b has T[b] steps of which the first
	 * T_train[b] are trained on (T_train[b] == T[b]: no validation) */
	int			B;
	int			T_max;			/* max of T[] */
	const int  *T;				/* (B) */
	const int  *T_train;		/* (B), 2 <= T_train[b] <= T[b] */
	const float *x;				/* (B, T_max, n_in) inputs, series b at
								 * b T_max n_in; rows past T[b] unused */
	const float *y;				/* (B, T_max) targets */
	float	   *params;			/* (B, P) in: initial parameters (src/nn
								 * layout); out: the kept ones: best (with
								 * patience), else averaged (ema), else last */
	const uint64_t *rng;		/* (B, 4) xoshiro256** states of the dropout
								 * streams (unused when dropout is 0) */

	/* results, per series (B) */
	double	   *train_loss;		/* the last epoch's training loss */
	double	   *val_loss;		/* the last epoch's validation loss, or NaN */
	int		   *best_epoch;		/* epoch of the best validation loss, or 0 */
	int		   *epochs_run;		/* epochs run (fewer with patience) */
	double	   *loss_curve;		/* (epochs, B) training loss of every epoch,
								 * or NULL */

	/*
	 * Called after every epoch with the mean losses over the series still
	 * training; returns nonzero to stop (the module then frees its memory
	 * and returns TSFC_CANCELLED).  May be NULL.  Must not longjmp.
	 */
	int			(*on_epoch) (void *arg, int epoch, int epochs,
							 double mean_loss, double mean_val_loss);
	void	   *arg;

	/* out, on TSFC_DIVERGED: the series and epoch (1-based) */
	int			bad_series;
	int			bad_epoch;
} tsfc_train;

/*
 * One forward and backward pass without dropout, for the parity tests:
 * B series of T_max steps each, loss over [t0, t1) of every series.
 * pred (B, T_max) and grads (B, P) out, loss (B) out.
 */
typedef struct tsfc_grad
{
	int			n_in,
				conv_kernel,
				conv_channels,
				hidden,
				layers;
	int			B;
	int			T;
	int			t0,
				t1;
	const float *x;				/* (B, T, n_in) */
	const float *y;				/* (B, T) */
	const float *params;		/* (B, P) */
	float	   *pred;			/* (B, T) out */
	double	   *loss;			/* (B) out */
	float	   *grads;			/* (B, P) out */
} tsfc_grad;

typedef struct tsfc_api
{
	int			abi;			/* TSFC_ABI */
	/* TSFC_OK and the GPU's name in name, or why not in err */
	int			(*device_name) (char *name, size_t namelen, char *err, size_t errlen);
	int			(*train) (tsfc_train *t, char *err, size_t errlen);
	int			(*grad) (tsfc_grad *g, char *err, size_t errlen);
} tsfc_api;

/* the module's one exported symbol */
extern const tsfc_api *tsfc_get_api(void);

#ifdef __cplusplus
}
#endif

#endif							/* TSF_CUDA_H */

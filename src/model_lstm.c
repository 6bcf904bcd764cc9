/*
 * model_lstm.c
 *		The LSTM kind's routines (kind.h): its stored payload, its jsonb
 *		view, its forecasts with Monte Carlo intervals and its one-step
 *		predictions.  Training is lstm_train.c's, the network's inputs
 *		lstm_model.c's.
 *
 * Stored payload, after model.c's header (offsets of format version 2;
 * the inputs and scaling are described in lstm_model.c, the parameter
 * block's layout in src/nn/README.md):
 *
 *	offset	size	field
 *	69		4		n_in, inputs per step (1 + 2 if seasonal + n_cov)
 *	73		4		conv kernel K (0: no convolution)
 *	77		4		conv channels C (0 when K = 0)
 *	81		4		hidden size H
 *	85		4		LSTM layers L
 *	89		4		n_cov, user covariates per step
 *	93		4		residual: 1 if the prediction is lag + network output
 *	97		8		dropout (float8)
 *	105		8		learning rate (float8)
 *	113		8		decay of the weights' moving average (float8, 0: none)
 *	121		4		epochs asked for
 *	125		4		epochs run (fewer after an early stop)
 *	129		4		best epoch on the validation part (0 without one)
 *	133		4		patience (0: no early stopping)
 *	137		8		seed
 *	145		8		validation fraction (float8)
 *	153		8		n_train, grid points before the validation part
 *	161		8		season period in steps (float8, 0: no season inputs)
 *	169		8		season phase at the first training timestamp, [0, 1)
 *	177		8		scaling: min of the transformed training values
 *	185		8		scaling: max
 *	193		8		training loss of the last epoch (MSE, scaled, with dropout)
 *	201		8		validation loss of the kept weights (NaN without one)
 *	209		8		RMS of the one-step residuals on the training part (scaled)
 *	217		8		the scaled value at the last training timestamp
 *	225		8 n_cov	covariate scaling minima, then
 *			8 n_cov	maxima (float8)
 *			8 P		the parameter block (float8; P = tsf_nn_param_count)
 *			8 S		the network's state after the training data (float8;
 *					S = tsf_nn_state_count: conv window, then h, c per layer)
 *
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "forecast.h"
#include "jsonbuild.h"
#include "kind.h"
#include "guard.h"
#include "lstm.h"
#include "options.h"
#include "predict.h"
#include "series.h"

/* the payload's fixed fields, before its arrays */
#define LSTM_FIXED_SIZE	156

/* the forecast sampler's seed is the model's seed ^ this */
#define MC_SEED_XOR			UINT64CONST(0x2545F4914F6CDD1D)

/* ---- the stored payload ---- */

/*
 * The stored payload's size for network cfg with n_cov covariates, in bytes
 * (a double: checked before anything of that size exists)
 */
double
tsf_lstm_stored_bytes(const tsf_nn_config *cfg, int n_cov)
{
	return LSTM_FIXED_SIZE +
		8.0 * (2.0 * n_cov + (double) tsf_nn_param_count(cfg) +
			   (double) tsf_nn_state_count(cfg));
}

static double
lstm_stored_bytes(const TsfModel *m)
{
	return tsf_lstm_stored_bytes(&tsf_lstm(m)->nn, tsf_lstm(m)->n_cov);
}

static void
lstm_write(StringInfo b, const TsfModel *m)
{
	const TsfLstm *L = tsf_lstm(m);
	size_t		P = tsf_nn_param_count(&L->nn);
	size_t		S = tsf_nn_state_count(&L->nn);
	int			start = b->len;

	tsf_write_u32(b, (uint32) L->nn.n_in);
	tsf_write_u32(b, (uint32) L->nn.conv_kernel);
	tsf_write_u32(b, (uint32) L->nn.conv_channels);
	tsf_write_u32(b, (uint32) L->nn.hidden);
	tsf_write_u32(b, (uint32) L->nn.layers);
	tsf_write_u32(b, (uint32) L->n_cov);
	tsf_write_u32(b, (uint32) L->residual);
	tsf_write_f64(b, L->nn.dropout);
	tsf_write_f64(b, L->lr);
	tsf_write_f64(b, L->ema);
	tsf_write_u32(b, (uint32) L->epochs);
	tsf_write_u32(b, (uint32) L->epochs_run);
	tsf_write_u32(b, (uint32) L->best_epoch);
	tsf_write_u32(b, (uint32) L->patience);
	tsf_write_i64(b, L->seed);
	tsf_write_f64(b, L->validation);
	tsf_write_i64(b, L->n_train);
	tsf_write_f64(b, L->season_period);
	tsf_write_f64(b, L->season_s0);
	tsf_write_f64(b, L->y_min);
	tsf_write_f64(b, L->y_max);
	tsf_write_f64(b, L->train_loss);
	tsf_write_f64(b, L->val_loss);
	tsf_write_f64(b, L->resid_sigma);
	tsf_write_f64(b, L->last_y);
	Assert(b->len - start == LSTM_FIXED_SIZE);
	(void) start;
	for (int i = 0; i < L->n_cov; i++)
		tsf_write_f64(b, L->cov_min[i]);
	for (int i = 0; i < L->n_cov; i++)
		tsf_write_f64(b, L->cov_max[i]);
	for (size_t i = 0; i < P; i++)
		tsf_write_f64(b, (double) L->params[i]);
	for (size_t i = 0; i < S; i++)
		tsf_write_f64(b, (double) L->state[i]);
}

/*
 * A network parameter or state value: finite, and finite in the core's
 * scalar type too (float32 by default), so the network never computes
 * with an infinity the stored float8 did not have
 */
static tsf_real
get_real(TsfReader *r, const char *what)
{
	double		v = tsf_read_finite(r, what);

	/* rounding to FLT_MAX is fine, to infinity is not (hence no FLT_MAX test) */
	if (!isfinite((tsf_real) v))
		tsf_read_corrupt(r, psprintf("Field \"%s\" is out of range for the network's precision.", what));
	return (tsf_real) v;
}

/* every field checked, the arrays sized by the exact length first */
static void
lstm_read(TsfReader *r, TsfModel *m)
{
	TsfLstm    *L = palloc0(sizeof(TsfLstm));
	size_t		P,
				S;
	bool		has_val;

	L->nn.n_in = tsf_read_bounded(r, 1, TSF_NN_MAX_WIDTH, "n_in");
	L->nn.conv_kernel = tsf_read_bounded(r, 0, TSF_NN_MAX_KERNEL, "conv_kernel");
	L->nn.conv_channels = tsf_read_bounded(r, L->nn.conv_kernel > 0 ? 1 : 0,
									  L->nn.conv_kernel > 0 ? TSF_NN_MAX_WIDTH : 0,
									  "conv_channels");
	L->nn.hidden = tsf_read_bounded(r, 1, TSF_NN_MAX_WIDTH, "hidden");
	L->nn.layers = tsf_read_bounded(r, 1, TSF_NN_MAX_LAYERS, "layers");
	L->n_cov = tsf_read_bounded(r, 0, TSF_MAX_COVARIATES, "n_cov");
	L->residual = tsf_read_bounded(r, 0, 1, "residual");
	L->nn.dropout = tsf_read_f64(r);
	if (tsf_nn_config_check(&L->nn) != TSF_NN_OK)
		tsf_read_corrupt(r, "Invalid network configuration.");
	L->lr = tsf_read_finite(r, "lr");
	L->ema = tsf_read_finite(r, "ema");
	L->epochs = tsf_read_bounded(r, 1, TSF_LSTM_MAX_EPOCHS, "epochs");
	L->epochs_run = tsf_read_bounded(r, 1, L->epochs, "epochs_run");
	L->best_epoch = tsf_read_bounded(r, 0, L->epochs_run, "best_epoch");
	L->patience = tsf_read_bounded(r, 0, TSF_LSTM_MAX_EPOCHS, "patience");
	L->seed = tsf_read_i64(r);
	L->validation = tsf_read_finite(r, "validation");
	L->n_train = tsf_read_i64(r);
	L->season_period = tsf_read_finite(r, "season_period");
	L->season_s0 = tsf_read_finite(r, "season_phase");
	L->y_min = tsf_read_finite(r, "y_min");
	L->y_max = tsf_read_finite(r, "y_max");
	L->train_loss = tsf_read_finite(r, "loss");
	L->val_loss = tsf_read_f64(r);
	L->resid_sigma = tsf_read_finite(r, "residual_sd");
	L->last_y = tsf_read_finite(r, "last_value");

	has_val = L->validation > 0;
	if (!(L->lr > 0) || !(L->ema >= 0 && L->ema < 1) ||
		L->seed < 0 || L->seed > PG_INT32_MAX ||
		L->validation < 0 || L->validation > 0.9 ||
		L->train_loss < 0 || L->resid_sigma < 0)
		tsf_read_corrupt(r, "Invalid LSTM training settings.");
	if (m->n < 3 || L->n_train < 3 || L->n_train > m->n ||
		has_val != (L->n_train < m->n) || has_val != (L->best_epoch > 0) ||
		has_val == isnan(L->val_loss) || (has_val && !(L->val_loss >= 0 && isfinite(L->val_loss))) ||
		(L->patience > 0 && !has_val))
		tsf_read_corrupt(r, "Invalid LSTM validation part.");
	if (!(L->season_period == 0 || (L->season_period >= 2 && L->season_period <= 1e9)) ||
		!(L->season_s0 >= 0 && L->season_s0 < 1) ||
		L->nn.n_in != tsf_lstm_n_in(L->season_period, L->n_cov))
		tsf_read_corrupt(r, "Invalid LSTM inputs.");
	if (!(L->y_min <= L->y_max) || !isfinite(L->y_max - L->y_min))
		tsf_read_corrupt(r, "Invalid LSTM scaling.");
	/* the next step's lag input, in the core's precision */
	if (!isfinite((tsf_real) L->last_y))
		tsf_read_corrupt(r, "Field \"last_value\" is out of range for the network's precision.");

	/* sizes are bounded above, so this cannot overflow; compare before allocating */
	P = tsf_nn_param_count(&L->nn);
	S = tsf_nn_state_count(&L->nn);
	if (r->left != 8 * (2 * (size_t) L->n_cov + P + S))
		tsf_read_corrupt(r, "The LSTM payload has the wrong length.");

	L->cov_min = palloc(sizeof(double) * (L->n_cov + 1));
	L->cov_max = palloc(sizeof(double) * (L->n_cov + 1));
	for (int i = 0; i < L->n_cov; i++)
		L->cov_min[i] = tsf_read_finite(r, "covariates_min");
	for (int i = 0; i < L->n_cov; i++)
	{
		L->cov_max[i] = tsf_read_finite(r, "covariates_max");
		if (!(L->cov_min[i] <= L->cov_max[i]) || !isfinite(L->cov_max[i] - L->cov_min[i]))
			tsf_read_corrupt(r, "Invalid covariate scaling.");
	}
	L->params = palloc_extended(sizeof(tsf_real) * P, MCXT_ALLOC_HUGE);
	for (size_t i = 0; i < P; i++)
		L->params[i] = get_real(r, "params");
	L->state = palloc_extended(sizeof(tsf_real) * S, MCXT_ALLOC_HUGE);
	for (size_t i = 0; i < S; i++)
		L->state[i] = get_real(r, "state");
	m->payload = L;
}

static void
lstm_free(TsfModel *m)
{
	TsfLstm    *L = tsf_lstm(m);

	pfree(L->cov_min);
	pfree(L->cov_max);
	pfree(L->params);
	pfree(L->state);
	pfree(L);
}

/* ---- views ---- */

static double
lstm_json_numbers(const TsfModel *m)
{
	const TsfLstm *L = tsf_lstm(m);

	return (double) tsf_nn_param_count(&L->nn) + (double) tsf_nn_state_count(&L->nn) +
		2.0 * L->n_cov;
}

/* key: the core's scalars as numbers, checking for interrupts as they go */
static void
json_reals(TsfJson *js, const char *key, const tsf_real *v, size_t n)
{
	tsf_json_key(js, key);
	tsf_json_begin_array(js);
	for (size_t i = 0; i < n; i++)
	{
		tsf_json_num(js, (double) v[i]);
		if ((i & 0xFFF) == 0xFFF)
			CHECK_FOR_INTERRUPTS();
	}
	tsf_json_end_array(js);
}

/* the kind's keys; with full, also its scaling, state and weights */
static void
lstm_to_jsonb(TsfJson *js, const TsfModel *m, bool full)
{
	const TsfLstm *L = tsf_lstm(m);

	tsf_json_key(js, "hyperparameters");
	tsf_json_begin_object(js);
	tsf_json_kv_int(js, "hidden", L->nn.hidden);
	tsf_json_kv_int(js, "layers", L->nn.layers);
	tsf_json_kv_num(js, "dropout", L->nn.dropout);
	tsf_json_kv_num(js, "lr", L->lr);
	tsf_json_kv_int(js, "epochs", L->epochs);
	tsf_json_kv_int(js, "conv_kernel", L->nn.conv_kernel);
	tsf_json_kv_int(js, "conv_channels", L->nn.conv_channels);
	tsf_json_kv_int(js, "seed", L->seed);
	tsf_json_kv_num(js, "validation", L->validation);
	tsf_json_kv_int(js, "patience", L->patience);
	tsf_json_kv_num(js, "ema", L->ema);
	tsf_json_kv_bool(js, "residual", L->residual);
	tsf_json_key(js, "season_length");
	if (L->season_period > 0)
		tsf_json_num(js, L->season_period);
	else
		tsf_json_null(js);
	tsf_json_end_object(js);

	tsf_json_key(js, "inputs");
	tsf_json_begin_array(js);
	tsf_json_str(js, "lag");
	if (L->season_period > 0)
	{
		tsf_json_str(js, "season_sin");
		tsf_json_str(js, "season_cos");
	}
	for (int i = 0; i < L->n_cov; i++)
		tsf_json_str(js, psprintf("covariate_%d", i + 1));
	tsf_json_end_array(js);
	tsf_json_kv_int(js, "n_covariates", L->n_cov);
	tsf_json_kv_int(js, "n_params", (int64) tsf_nn_param_count(&L->nn));
	tsf_json_kv_int(js, "n_train", L->n_train);
	tsf_json_kv_int(js, "epochs_run", L->epochs_run);
	if (L->validation > 0)
		tsf_json_kv_int(js, "best_epoch", L->best_epoch);
	tsf_json_kv_num(js, "loss", L->train_loss);
	tsf_json_kv_num(js, "val_loss", L->val_loss);
	tsf_json_kv_num(js, "residual_sd", L->resid_sigma);
	tsf_json_kv_str(js, "intervals", "monte_carlo_dropout");
	if (full)
	{
		tsf_json_key(js, "scaling");
		tsf_json_begin_object(js);
		tsf_json_kv_num(js, "min", L->y_min);
		tsf_json_kv_num(js, "max", L->y_max);
		tsf_json_kv_doubles(js, "covariates_min", L->cov_min, L->n_cov);
		tsf_json_kv_doubles(js, "covariates_max", L->cov_max, L->n_cov);
		tsf_json_end_object(js);
		tsf_json_kv_num(js, "season_phase", L->season_s0);
		tsf_json_kv_num(js, "last_value", L->last_y);
		json_reals(js, "state", L->state, tsf_nn_state_count(&L->nn));
		json_reals(js, "params", L->params, tsf_nn_param_count(&L->nn));
	}
}

/* ---- inference ---- */

static int
lstm_n_covariates(const TsfModel *m)
{
	return tsf_lstm(m)->n_cov;
}

/* the sample paths, and a step's workspace */
static double
lstm_forecast_bytes(const TsfModel *m, int horizon, char **detail)
{
	*detail = psprintf("A horizon of %d steps takes %d sample paths.",
					   horizon, TSF_MC_SAMPLES);
	return sizeof(double) * (double) horizon * TSF_MC_SAMPLES +
		(double) tsf_nn_workspace_bytes(&tsf_lstm(m)->nn, 1);
}

/*
 * Future covariates, scaled as in training: each must fit the core's scalar
 * type, else the network would compute with an infinity
 */
static void
check_future_covariates(const TsfLstm *L, int horizon, const double *v)
{
	int			rows = horizon,
				cols = L->n_cov;

	if (v == NULL)
		return;
	for (int h = 0; h < rows; h++)
		for (int c = 0; c < cols; c++)
		{
			double		range = L->cov_max[c] - L->cov_min[c];
			double		x = v[(size_t) h * cols + c] - L->cov_min[c];

			if (range > 0)
				x /= range;
			if (!(fabs(x) <= TSF_REAL_MAX))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("future covariate %d at step %d is out of range for the model", c + 1, h + 1),
						 errdetail("Its value %g, scaled by the covariate's training range [%g, %g], overflows the network's precision.",
								   v[(size_t) h * cols + c], L->cov_min[c], L->cov_max[c])));
		}
}

/* a standard normal draw (Box-Muller, one of the pair) */
static double
gauss(tsf_rng *rng)
{
	double		u1 = 1.0 - tsf_rng_uniform(rng);	/* (0, 1] */
	double		u2 = tsf_rng_uniform(rng);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	/* NaN (from a hostile but valid model) sorts last, consistently */
	if (isnan(x) || isnan(y))
		return isnan(x) - isnan(y);
	return x < y ? -1 : x > y ? 1 : 0;
}

/* the q-quantile of sorted v (n), type 7 */
static double
quantile(const double *v, int n, double q)
{
	double		h = (n - 1) * q;
	int			lo = (int) floor(h);

	if (lo >= n - 1)
		return v[n - 1];
	return v[lo] + (h - lo) * (v[lo + 1] - v[lo]);
}

/*
 * The scaled lag a forecast step feeds to the network: it must fit the
 * core's scalar type, else the network would compute with an infinity
 */
static double
lag_input(double lag, int step)
{
	if (!(fabs(lag) <= TSF_REAL_MAX))
		tsf_check_forecast_value(NAN, step);
	return lag;
}

/*
 * An LSTM model's forecast into mean, lo, hi (horizon; transformed scale):
 * the point forecast is the network run recursively from its state after
 * the training data, without dropout: the prediction of each step is the
 * next step's lagged input, the season inputs come from the future steps'
 * timestamps, the covariates from fcov.  The interval is Monte Carlo:
 * TSF_MC_SAMPLES sample paths, each with dropout on (Monte Carlo dropout,
 * the model's uncertainty) and a Gaussian innovation of the training
 * residuals' standard deviation added to every step (the noise), each
 * sample fed back as the next lag, so the spread compounds with the horizon
 * as it does for AR.  lo and hi are the sample quantiles (1 -/+ level) / 2
 * of each step (type 7, linear interpolation), back-scaled (quantiles
 * commute with it).  The sampler is seeded from the model's seed: the same
 * model gives the same intervals.  Interrupts are
 * checked at every step: a step of a wide network takes milliseconds, and
 * the paths take TSF_MC_SAMPLES + 1 times the horizon's steps.
 */
static void
lstm_forecast(const TsfModel *m, int horizon, double level, const double *fcov,
			  double *mean, double *lo, double *hi)
{
	const TsfLstm *L = tsf_lstm(m);
	tsf_nn		nn;
	size_t		S = tsf_nn_state_count(&L->nn);
	tsf_real   *state = palloc(sizeof(tsf_real) * S);
	tsf_real   *x = palloc(sizeof(tsf_real) * L->nn.n_in);
	double	   *paths = palloc_extended(sizeof(double) * TSF_MC_SAMPLES * (size_t) horizon,
										MCXT_ALLOC_HUGE);	/* (horizon, samples) */
	tsf_rng		rng;
	double		lag;

	check_future_covariates(L, horizon, fcov);
	tsf_lstm_bind(&nn, L);

	/* the point forecast: no dropout, no noise */
	memcpy(state, L->state, sizeof(tsf_real) * S);
	lag = L->last_y;
	for (int h = 0; h < horizon; h++)
	{
		tsf_real	out;

		CHECK_FOR_INTERRUPTS();
		tsf_lstm_input(L, tsf_model_next_step(m) + h, lag_input(lag, h + 1),
					   fcov ? fcov + (size_t) h * L->n_cov : NULL, x);
		tsf_nn_step(&nn, state, x, NULL, &out);
		lag = tsf_lstm_output(L, out, lag);
		mean[h] = tsf_lstm_unscale(L, lag);
		tsf_check_forecast_value(mean[h], h + 1);
	}

	/* sample paths: dropout masks and innovations from one seeded stream */
	tsf_rng_seed(&rng, (uint64) L->seed ^ MC_SEED_XOR);
	for (int s = 0; s < TSF_MC_SAMPLES; s++)
	{
		memcpy(state, L->state, sizeof(tsf_real) * S);
		lag = L->last_y;
		for (int h = 0; h < horizon; h++)
		{
			tsf_real	out;
			double		v;

			CHECK_FOR_INTERRUPTS();
			tsf_lstm_input(L, tsf_model_next_step(m) + h, lag_input(lag, h + 1),
						   fcov ? fcov + (size_t) h * L->n_cov : NULL, x);
			tsf_nn_step(&nn, state, x, &rng, &out);
			v = tsf_lstm_output(L, out, lag) + L->resid_sigma * gauss(&rng);
			paths[(size_t) h * TSF_MC_SAMPLES + s] = v;
			lag = v;
		}
	}
	for (int h = 0; h < horizon; h++)
	{
		double	   *v = paths + (size_t) h * TSF_MC_SAMPLES;

		qsort(v, TSF_MC_SAMPLES, sizeof(double), cmp_double);
		lo[h] = tsf_lstm_unscale(L, quantile(v, TSF_MC_SAMPLES, (1.0 - level) / 2.0));
		hi[h] = tsf_lstm_unscale(L, quantile(v, TSF_MC_SAMPLES, (1.0 + level) / 2.0));
		tsf_check_forecast_value(lo[h], h + 1);
		tsf_check_forecast_value(hi[h], h + 1);
	}
	pfree(paths);
}

/*
 * Sample paths: those of the forecast's Monte Carlo interval (dropout on,
 * a Gaussian innovation of the residuals' standard deviation added to each
 * step and fed back as the next lag), npaths of them from a stream seeded
 * with seed, unscaled to the transformed scale
 */
static void
lstm_simulate(const TsfModel *m, int horizon, int npaths, uint64 seed,
			  const double *fcov, double *paths)
{
	const TsfLstm *L = tsf_lstm(m);
	tsf_nn		nn;
	size_t		S = tsf_nn_state_count(&L->nn);
	tsf_real   *state = palloc(sizeof(tsf_real) * S);
	tsf_real   *x = palloc(sizeof(tsf_real) * L->nn.n_in);
	tsf_rng		rng;

	check_future_covariates(L, horizon, fcov);
	tsf_lstm_bind(&nn, L);
	tsf_rng_seed(&rng, seed ^ MC_SEED_XOR);
	for (int s = 0; s < npaths; s++)
	{
		double		lag = L->last_y;

		memcpy(state, L->state, sizeof(tsf_real) * S);
		for (int h = 0; h < horizon; h++)
		{
			tsf_real	out;

			CHECK_FOR_INTERRUPTS();
			tsf_lstm_input(L, tsf_model_next_step(m) + h, lag_input(lag, h + 1),
						   fcov ? fcov + (size_t) h * L->n_cov : NULL, x);
			tsf_nn_step(&nn, state, x, &rng, &out);
			lag = tsf_lstm_output(L, out, lag) + L->resid_sigma * gauss(&rng);
			paths[(size_t) s * horizon + h] = tsf_lstm_unscale(L, lag);
		}
	}
	pfree(state);
	pfree(x);
}

/*
 * The scaled lag a step feeds to the network (row is the window row it
 * comes from, 0-based): it must fit the core's scalar type
 */
static double
predict_lag(double lag, int64 row)
{
	if (!(fabs(lag) <= TSF_REAL_MAX))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value is out of range for the model at row " INT64_FORMAT " of the window", row + 1),
				 errdetail("Scaled by the model's training range, it overflows the network's precision.")));
	return lag;
}

/*
 * The LSTM's one-step-ahead predictions over rows on its grid: the network
 * runs over them one step at a time from a zero state (as in training),
 * with the actual value of each step as the next step's lag (teacher
 * forcing): the first row gets NULL, every later row the network's output
 * for its step.  Across a gap or a NULL value the network goes on stepping
 * with its own predictions as lags (and the last covariates seen), so its
 * state stays on the time grid; the row whose lag was such a stand-in gets
 * NULL, like AR.
 */
static void
lstm_predict(const TsfModel *m, int64 rows, const int64 *k, const double *y,
			 const bool *ynull, const double *cov, double *pred_out, bool *isnull_out)
{
	const TsfLstm *L = tsf_lstm(m);
	tsf_nn		nn;
	tsf_real   *state = palloc(sizeof(tsf_real) * tsf_nn_state_count(&L->nn));
	tsf_real   *x = palloc(sizeof(tsf_real) * L->nn.n_in);
	bool		started = false;
	bool		lag_actual = false;
	double		lag = 0;
	int64		steps = 0;
	const double *cprev = NULL;

	tsf_lstm_bind(&nn, L);
	tsf_nn_state_reset(&L->nn, state);
	for (int64 i = 0; i < rows; i++)
	{
		tsf_real	out;
		double		pred;
		const double *ci = cov ? cov + i * L->n_cov : NULL;

		isnull_out[i] = true;
		if (!started)
		{
			/* the sequence starts at the first row with a value */
			if (!ynull[i])
			{
				started = true;
				lag = tsf_lstm_scale(L, y[i]);
				lag_actual = true;
				cprev = ci;
			}
			continue;
		}
		CHECK_FOR_INTERRUPTS();
		if (k[i] - k[i - 1] > TSF_MAX_POINTS - steps)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("time series spans too many steps"),
					 errdetail("The window's rows span more than %d steps of the model's time grid.",
							   TSF_MAX_POINTS)));
		/* step through a gap on the network's own predictions */
		for (int64 j = k[i - 1] + 1; j < k[i]; j++)
		{
			CHECK_FOR_INTERRUPTS();
			tsf_lstm_input(L, j, predict_lag(lag, i), cprev, x);
			tsf_nn_step(&nn, state, x, NULL, &out);
			lag = tsf_lstm_output(L, out, lag);
			lag_actual = false;
			steps++;
		}
		tsf_lstm_input(L, k[i], predict_lag(lag, i), ci, x);
		tsf_nn_step(&nn, state, x, NULL, &out);
		pred = tsf_lstm_output(L, out, lag);
		steps++;
		if (lag_actual)
		{
			isnull_out[i] = false;
			pred_out[i] = tsf_check_prediction(tsf_back_transform(m->transform,
																tsf_lstm_unscale(L, pred)), i);
		}
		lag_actual = !ynull[i];
		lag = lag_actual ? tsf_lstm_scale(L, y[i]) : pred;
		cprev = ci;
	}
	pfree(state);
	pfree(x);
}

/*
 * The LSTM's state moves on over new rows as it did over the training
 * data: the network steps through each row from its stored state, without
 * dropout, with the actual value of the step before as its lag (teacher
 * forcing); the last row's scaled value becomes the next forecast's lag.
 * The rows must start at the step after the state: the network cannot skip
 * a gap without values to step through.
 */
static void
lstm_update(TsfModel *m, int64 rows, const int64 *k, const double *y, const double *cov)
{
	TsfLstm    *L = tsf_lstm(m);
	tsf_nn		nn;
	tsf_real   *x = palloc(sizeof(tsf_real) * L->nn.n_in);
	double		lag = L->last_y;

	if (k[0] != tsf_model_next_step(m))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("an LSTM model's new rows must start at the step after its last one"),
				 errdetail("The model's last step is %s; the first new row is %s.",
						   tsf_ts_to_cstring(m->ts_type,
											 tsf_freq_advance(m->ts_type, &m->freq, m->first_ts,
															  tsf_model_next_step(m) - 1)),
						   tsf_ts_to_cstring(m->ts_type,
											 tsf_freq_advance(m->ts_type, &m->freq, m->first_ts, k[0]))),
				 errhint("Pass every row after the model's last step, or set the model's \"fill\" option when training to fill gaps.")));
	tsf_lstm_bind(&nn, L);
	for (int64 i = 0; i < rows; i++)
	{
		tsf_real	out;

		CHECK_FOR_INTERRUPTS();
		tsf_lstm_input(L, k[i], predict_lag(lag, i), cov ? cov + i * L->n_cov : NULL, x);
		tsf_nn_step(&nn, L->state, x, NULL, &out);
		lag = tsf_lstm_scale(L, y[i]);
	}
	L->last_y = predict_lag(lag, rows - 1);
	pfree(x);
}

/* ---- a job's scoring and provenance ---- */

/* a model with a validation part is scored on it */
static int64
lstm_scored_from(const TsfModel *m)
{
	const TsfLstm *L = tsf_lstm(m);

	return L->validation > 0 ? L->n_train : 0;
}

static void
lstm_job_metrics(TsfJson *js, const TsfModel *m)
{
	tsf_json_kv_num(js, "train_loss", tsf_lstm(m)->train_loss);
	tsf_json_kv_num(js, "val_loss", tsf_lstm(m)->val_loss);
}

static bool
lstm_seed(const TsfModel *m, int32 *seed)
{
	*seed = (int32) tsf_lstm(m)->seed;
	return true;
}

const TsfKind tsf_kind_lstm = {
	.id = 2,
	.name = "lstm",
	.gpu = true,
	.check_options = tsf_lstm_check_options,
	.fit = tsf_lstm_fit,
	.fit_batch = tsf_lstm_fit_batch,
	.cpu_batch = true,
	.stored_bytes = lstm_stored_bytes,
	.write = lstm_write,
	.read = lstm_read,
	.free = lstm_free,
	.json_numbers = lstm_json_numbers,
	.to_jsonb = lstm_to_jsonb,
	.n_covariates = lstm_n_covariates,
	.forecast_bytes = lstm_forecast_bytes,
	.forecast = lstm_forecast,
	.simulate = lstm_simulate,
	.predict = lstm_predict,
	.update = lstm_update,
	.scored_from = lstm_scored_from,
	.job_metrics = lstm_job_metrics,
	.seed = lstm_seed,
};

/*
 * model.c
 *		The tsmodel type: stored format, text and binary I/O, jsonb views.
 *
 * A tsmodel is a varlena whose bytes are the model's stored format, the same
 * bytes in every representation: on disk, in COPY BINARY (send/receive) and,
 * base64-encoded, in text.  Every reader goes through
 * tsf_model_deserialize(), which checks each field and the exact length, so
 * a corrupt or hostile value is an error (XX001 on disk, 22P02 from text
 * or the wire), never a crash or an over-read.
 *
 * Stored format, version 2, little-endian, no padding:
 *
 *	offset	size	field
 *	0		4		magic "TSFM" (0x4D465354)
 *	4		2		format version (2; 1 is read too)
 *	6		2		kind: 1 AR, 2 LSTM
 *	8		1		ts type: 1 timestamptz, 2 date, 3 bigint
 *	9		1		frequency unit: 1 fixed, 2 calendar days, 3 months,
 *					4 month ends (after 0.4.0)
 *	10		1		transform: 0 none, 1 log
 *	11		1		fill: 0 none, 1 linear, 2 previous
 *	12		8		frequency step (usec, days or index units; days; months;
 *					months)
 *	20		8		first training timestamp (in the ts type's own unit)
 *	28		8		last training timestamp
 *	36		8		n, training points on the grid (including filled ones)
 *	44		8		of which filled
 *	52		8		fit time, seconds (float8)
 *	60		8		fitted at (timestamptz)
 *	68		1		trained on: 0 the CPU, 1 a GPU (the CUDA backend)
 *	69		...		the kind's payload
 *
 * Month ends (unit 4) did not change the version: only models of such a
 * series carry the new value, and a reader that predates it refuses them as
 * an invalid frequency, while every other model stays readable by it.
 *
 * Version 1 (0.1.0 to 0.3.0) is the same without the byte at 68: the
 * payload starts there, and such a model was trained on the CPU.  Every
 * offset below is version 2's; subtract 1 for version 1.
 *
 * AR payload: method (1: 0 ols, 1 yule_walker), intercept (1), max order
 * searched (4, 0 when fixed), order p (4), nobs (8), c, mean, sigma2, aic
 * (4 x float8), phi[p] (float8), last p transformed values (float8, oldest
 * first).
 *
 * LSTM payload (the inputs and scaling are described in lstm_model.c; the
 * parameter block's layout in src/nn/README.md):
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
 * Every count is bounded and the payload's length must be exactly what the
 * counts imply before anything is allocated, so a hostile value can neither
 * over-read nor ask for a huge allocation.
 */
#include "tsforecast.h"

#include "catalog/pg_type_d.h"
#include "common/base64.h"
#include "common/int.h"
#include "libpq/pqformat.h"
#include "port/pg_bswap.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "common/shortest_dec.h"

#include <ctype.h>

#define HEADER_SIZE		69
/* bytes a number of a model's jsonb view takes while it is built */
#define JSONB_BYTES_PER_NUMBER	128

#define AR_FIXED_SIZE	50		/* the AR payload before its arrays */
#define LSTM_FIXED_SIZE	156		/* the LSTM payload before its arrays */

PG_FUNCTION_INFO_V1(tsf_model_in);
PG_FUNCTION_INFO_V1(tsf_model_out);
PG_FUNCTION_INFO_V1(tsf_model_recv);
PG_FUNCTION_INFO_V1(tsf_model_send);
PG_FUNCTION_INFO_V1(tsf_model_to_jsonb);
PG_FUNCTION_INFO_V1(tsf_model_info);

/* ---- little-endian writer ---- */

static void
put_u8(StringInfo b, uint8 v)
{
	appendBinaryStringInfo(b, (char *) &v, 1);
}

static void
put_u16(StringInfo b, uint16 v)
{
#ifdef WORDS_BIGENDIAN
	v = pg_bswap16(v);
#endif
	appendBinaryStringInfo(b, (char *) &v, 2);
}

static void
put_u32(StringInfo b, uint32 v)
{
#ifdef WORDS_BIGENDIAN
	v = pg_bswap32(v);
#endif
	appendBinaryStringInfo(b, (char *) &v, 4);
}

static void
put_i64(StringInfo b, int64 v)
{
	uint64		u = (uint64) v;

#ifdef WORDS_BIGENDIAN
	u = pg_bswap64(u);
#endif
	appendBinaryStringInfo(b, (char *) &u, 8);
}

static void
put_f64(StringInfo b, double v)
{
	uint64		u;

	memcpy(&u, &v, 8);
	put_i64(b, (int64) u);
}

/* ---- bounds-checked reader ---- */

typedef struct Reader
{
	const uint8 *p;
	Size		left;
	int			sqlstate;		/* what a malformed value raises */
} Reader;

/*
 * The one error of the reader: its SQLSTATE and message depend on where the
 * bytes came from: disk (XX001), text or binary input (22P02, 22P03), or
 * the writer checking what it is about to return (XX000: a fit that
 * produced a value the reader refuses is a bug, since nothing may be
 * stored that cannot be read back).
 */
static void
corrupt(Reader *r, const char *detail)
{
	if (r->sqlstate == ERRCODE_INTERNAL_ERROR)
		ereport(ERROR,
				(errcode(r->sqlstate),
				 errmsg("trained model fails its own validation"),
				 errdetail_internal("%s", detail)));
	ereport(ERROR,
			(errcode(r->sqlstate),
			 r->sqlstate == ERRCODE_DATA_CORRUPTED ?
			 errmsg("invalid tsforecast model") :
			 errmsg("invalid input syntax for type tsmodel"),
			 errdetail_internal("%s", detail)));
}

static const uint8 *
take(Reader *r, Size n)
{
	const uint8 *p = r->p;

	if (r->left < n)
		corrupt(r, "The value is truncated.");
	r->p += n;
	r->left -= n;
	return p;
}

static uint8
get_u8(Reader *r)
{
	return *take(r, 1);
}

static uint16
get_u16(Reader *r)
{
	uint16		v;

	memcpy(&v, take(r, 2), 2);
#ifdef WORDS_BIGENDIAN
	v = pg_bswap16(v);
#endif
	return v;
}

static uint32
get_u32(Reader *r)
{
	uint32		v;

	memcpy(&v, take(r, 4), 4);
#ifdef WORDS_BIGENDIAN
	v = pg_bswap32(v);
#endif
	return v;
}

static int64
get_i64(Reader *r)
{
	uint64		v;

	memcpy(&v, take(r, 8), 8);
#ifdef WORDS_BIGENDIAN
	v = pg_bswap64(v);
#endif
	return (int64) v;
}

static double
get_f64(Reader *r)
{
	int64		i = get_i64(r);
	double		v;

	memcpy(&v, &i, 8);
	return v;
}

static double
get_finite(Reader *r, const char *what)
{
	double		v = get_f64(r);

	if (!isfinite(v))
		corrupt(r, psprintf("Field \"%s\" is not finite.", what));
	return v;
}

/*
 * A network parameter or state value: finite, and finite in the core's
 * scalar type too (float32 by default), so the network never computes
 * with an infinity the stored float8 did not have
 */
static tsf_real
get_real(Reader *r, const char *what)
{
	double		v = get_finite(r, what);

	/* rounding to FLT_MAX is fine, to infinity is not (hence no FLT_MAX test) */
	if (!isfinite((tsf_real) v))
		corrupt(r, psprintf("Field \"%s\" is out of range for the network's precision.", what));
	return (tsf_real) v;
}

/* ---- format ---- */

/*
 * The stored bytes of m.  They are read back before they are returned: a
 * value the reader would refuse is never stored (where a fit could produce
 * one, it checks first and says why; this is the last line).
 */
bytea *
tsf_model_serialize(const TsfModel *m)
{
	StringInfoData b;
	bytea	   *result;
	TsfModel	check;
	double		size = m->kind == TSF_KIND_LSTM ?
		tsf_lstm_stored_bytes(&m->nn, m->n_cov) :
		VARHDRSZ + HEADER_SIZE + AR_FIXED_SIZE + 16.0 * m->ar.p;

	if (size > (double) (MaxAllocSize - 64))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("LSTM model would be too large to store"),
				 errdetail("It would take %s, and a value may take at most 1 GB.",
						   tsf_size_pretty(size)),
				 errhint("Use a smaller \"hidden\" or fewer \"layers\".")));
	initStringInfo(&b);
	enlargeStringInfo(&b, (int) size);
	appendStringInfoSpaces(&b, VARHDRSZ);
	put_u32(&b, TSF_MODEL_MAGIC);
	put_u16(&b, TSF_MODEL_VERSION);
	put_u16(&b, (uint16) m->kind);
	put_u8(&b, (uint8) m->ts_type);
	put_u8(&b, (uint8) m->freq.unit);
	put_u8(&b, (uint8) m->transform);
	put_u8(&b, (uint8) m->fill);
	put_i64(&b, m->freq.step);
	put_i64(&b, m->first_ts);
	put_i64(&b, m->last_ts);
	put_i64(&b, m->n);
	put_i64(&b, m->n_filled);
	put_f64(&b, m->fit_seconds);
	put_i64(&b, m->fitted_at);
	put_u8(&b, (uint8) m->device);
	Assert(b.len == VARHDRSZ + HEADER_SIZE);

	switch (m->kind)
	{
		case TSF_KIND_AR:
			put_u8(&b, (uint8) m->ar_method);
			put_u8(&b, (uint8) m->ar.intercept);
			put_u32(&b, (uint32) m->ar_max_order);
			put_u32(&b, (uint32) m->ar.p);
			put_i64(&b, m->ar.nobs);
			put_f64(&b, m->ar.c);
			put_f64(&b, m->ar.mean);
			put_f64(&b, m->ar.sigma2);
			put_f64(&b, m->ar.aic);
			for (int i = 0; i < m->ar.p; i++)
				put_f64(&b, m->ar.phi[i]);
			for (int i = 0; i < m->ar.p; i++)
				put_f64(&b, m->ar_hist[i]);
			break;
		case TSF_KIND_LSTM:
			{
				size_t		P = tsf_nn_param_count(&m->nn);
				size_t		S = tsf_nn_state_count(&m->nn);
				int			start = b.len;

				put_u32(&b, (uint32) m->nn.n_in);
				put_u32(&b, (uint32) m->nn.conv_kernel);
				put_u32(&b, (uint32) m->nn.conv_channels);
				put_u32(&b, (uint32) m->nn.hidden);
				put_u32(&b, (uint32) m->nn.layers);
				put_u32(&b, (uint32) m->n_cov);
				put_u32(&b, (uint32) m->residual);
				put_f64(&b, m->nn.dropout);
				put_f64(&b, m->lr);
				put_f64(&b, m->ema);
				put_u32(&b, (uint32) m->epochs);
				put_u32(&b, (uint32) m->epochs_run);
				put_u32(&b, (uint32) m->best_epoch);
				put_u32(&b, (uint32) m->patience);
				put_i64(&b, m->seed);
				put_f64(&b, m->validation);
				put_i64(&b, m->n_train);
				put_f64(&b, m->season_period);
				put_f64(&b, m->season_s0);
				put_f64(&b, m->y_min);
				put_f64(&b, m->y_max);
				put_f64(&b, m->train_loss);
				put_f64(&b, m->val_loss);
				put_f64(&b, m->resid_sigma);
				put_f64(&b, m->last_y);
				Assert(b.len - start == LSTM_FIXED_SIZE);
				(void) start;
				for (int i = 0; i < m->n_cov; i++)
					put_f64(&b, m->cov_min[i]);
				for (int i = 0; i < m->n_cov; i++)
					put_f64(&b, m->cov_max[i]);
				for (size_t i = 0; i < P; i++)
					put_f64(&b, (double) m->params[i]);
				for (size_t i = 0; i < S; i++)
					put_f64(&b, (double) m->state[i]);
				break;
			}
		default:
			elog(ERROR, "unexpected model kind %d", m->kind);
	}

	result = (bytea *) b.data;
	SET_VARSIZE(result, b.len);
	Assert(b.len == (int) size);
	tsf_model_deserialize(VARDATA(result), b.len - VARHDRSZ, &check, ERRCODE_INTERNAL_ERROR);
	tsf_model_free(&check);
	return result;
}

/* free the arrays the reader allocated for m */
void
tsf_model_free(TsfModel *m)
{
	if (m->ar.phi)
		pfree(m->ar.phi);
	if (m->ar_hist)
		pfree(m->ar_hist);
	if (m->cov_min)
		pfree(m->cov_min);
	if (m->cov_max)
		pfree(m->cov_max);
	if (m->params)
		pfree(m->params);
	if (m->state)
		pfree(m->state);
}

/*
 * The stored size of an LSTM model of network cfg with n_cov covariates,
 * in bytes (as a double: checked before anything of that size exists)
 */
double
tsf_lstm_stored_bytes(const tsf_nn_config *cfg, int n_cov)
{
	return VARHDRSZ + HEADER_SIZE + LSTM_FIXED_SIZE +
		8.0 * (2.0 * n_cov + (double) tsf_nn_param_count(cfg) +
			   (double) tsf_nn_state_count(cfg));
}

/* a u32 field that must lie in [lo, hi] */
static int
get_bounded(Reader *r, uint32 lo, uint32 hi, const char *what)
{
	uint32		v = get_u32(r);

	if (v < lo || v > hi)
		corrupt(r, psprintf("Field \"%s\" is out of range.", what));
	return (int) v;
}

/* the LSTM payload: every field checked, arrays sized by the exact length */
static void
read_lstm(Reader *r, TsfModel *m)
{
	size_t		P,
				S;
	bool		has_val;

	m->nn.n_in = get_bounded(r, 1, TSF_NN_MAX_WIDTH, "n_in");
	m->nn.conv_kernel = get_bounded(r, 0, TSF_NN_MAX_KERNEL, "conv_kernel");
	m->nn.conv_channels = get_bounded(r, m->nn.conv_kernel > 0 ? 1 : 0,
									  m->nn.conv_kernel > 0 ? TSF_NN_MAX_WIDTH : 0,
									  "conv_channels");
	m->nn.hidden = get_bounded(r, 1, TSF_NN_MAX_WIDTH, "hidden");
	m->nn.layers = get_bounded(r, 1, TSF_NN_MAX_LAYERS, "layers");
	m->n_cov = get_bounded(r, 0, TSF_MAX_COVARIATES, "n_cov");
	m->residual = get_bounded(r, 0, 1, "residual");
	m->nn.dropout = get_f64(r);
	if (tsf_nn_config_check(&m->nn) != TSF_NN_OK)
		corrupt(r, "Invalid network configuration.");
	m->lr = get_finite(r, "lr");
	m->ema = get_finite(r, "ema");
	m->epochs = get_bounded(r, 1, TSF_LSTM_MAX_EPOCHS, "epochs");
	m->epochs_run = get_bounded(r, 1, m->epochs, "epochs_run");
	m->best_epoch = get_bounded(r, 0, m->epochs_run, "best_epoch");
	m->patience = get_bounded(r, 0, TSF_LSTM_MAX_EPOCHS, "patience");
	m->seed = get_i64(r);
	m->validation = get_finite(r, "validation");
	m->n_train = get_i64(r);
	m->season_period = get_finite(r, "season_period");
	m->season_s0 = get_finite(r, "season_phase");
	m->y_min = get_finite(r, "y_min");
	m->y_max = get_finite(r, "y_max");
	m->train_loss = get_finite(r, "loss");
	m->val_loss = get_f64(r);
	m->resid_sigma = get_finite(r, "residual_sd");
	m->last_y = get_finite(r, "last_value");

	has_val = m->validation > 0;
	if (!(m->lr > 0) || !(m->ema >= 0 && m->ema < 1) ||
		m->seed < 0 || m->seed > PG_INT32_MAX ||
		m->validation < 0 || m->validation > 0.9 ||
		m->train_loss < 0 || m->resid_sigma < 0)
		corrupt(r, "Invalid LSTM training settings.");
	if (m->n < 3 || m->n_train < 3 || m->n_train > m->n ||
		has_val != (m->n_train < m->n) || has_val != (m->best_epoch > 0) ||
		has_val == isnan(m->val_loss) || (has_val && !(m->val_loss >= 0 && isfinite(m->val_loss))) ||
		(m->patience > 0 && !has_val))
		corrupt(r, "Invalid LSTM validation part.");
	if (!(m->season_period == 0 || (m->season_period >= 2 && m->season_period <= 1e9)) ||
		!(m->season_s0 >= 0 && m->season_s0 < 1) ||
		m->nn.n_in != tsf_lstm_n_in(m->season_period, m->n_cov))
		corrupt(r, "Invalid LSTM inputs.");
	if (!(m->y_min <= m->y_max) || !isfinite(m->y_max - m->y_min))
		corrupt(r, "Invalid LSTM scaling.");
	/* the next step's lag input, in the core's precision */
	if (!isfinite((tsf_real) m->last_y))
		corrupt(r, "Field \"last_value\" is out of range for the network's precision.");

	/* sizes are bounded above, so this cannot overflow; compare before allocating */
	P = tsf_nn_param_count(&m->nn);
	S = tsf_nn_state_count(&m->nn);
	if (r->left != 8 * (2 * (size_t) m->n_cov + P + S))
		corrupt(r, "The LSTM payload has the wrong length.");

	m->cov_min = palloc(sizeof(double) * (m->n_cov + 1));
	m->cov_max = palloc(sizeof(double) * (m->n_cov + 1));
	for (int i = 0; i < m->n_cov; i++)
		m->cov_min[i] = get_finite(r, "covariates_min");
	for (int i = 0; i < m->n_cov; i++)
	{
		m->cov_max[i] = get_finite(r, "covariates_max");
		if (!(m->cov_min[i] <= m->cov_max[i]) || !isfinite(m->cov_max[i] - m->cov_min[i]))
			corrupt(r, "Invalid covariate scaling.");
	}
	m->params = palloc_extended(sizeof(tsf_real) * P, MCXT_ALLOC_HUGE);
	for (size_t i = 0; i < P; i++)
		m->params[i] = get_real(r, "params");
	m->state = palloc_extended(sizeof(tsf_real) * S, MCXT_ALLOC_HUGE);
	for (size_t i = 0; i < S; i++)
		m->state[i] = get_real(r, "state");
}

/*
 * Parse and validate the stored format.  Arrays in *m are palloc'd in the
 * current memory context.  Raises XX001 on anything out of place.
 */
void
tsf_model_deserialize(const char *data, Size len, TsfModel *m, int sqlstate)
{
	Reader		r = {(const uint8 *) data, len, sqlstate};
	uint32		magic;
	uint16		version;

	memset(m, 0, sizeof(*m));
	if (len < 6)
		corrupt(&r, "The value is truncated.");
	magic = get_u32(&r);
	if (magic != TSF_MODEL_MAGIC)
		corrupt(&r, "The value does not start with the tsmodel magic number.");
	version = get_u16(&r);
	if (version != 1 && version != TSF_MODEL_VERSION)
		corrupt(&r, psprintf("Unrecognized format version %u.", version));
	m->format_version = version;
	m->kind = get_u16(&r);
	m->ts_type = get_u8(&r);
	m->freq.unit = get_u8(&r);
	m->transform = get_u8(&r);
	m->fill = get_u8(&r);
	m->freq.step = get_i64(&r);
	m->first_ts = get_i64(&r);
	m->last_ts = get_i64(&r);
	m->n = get_i64(&r);
	m->n_filled = get_i64(&r);
	m->fit_seconds = get_finite(&r, "fit_seconds");
	m->fitted_at = get_i64(&r);
	m->device = version >= 2 ? get_u8(&r) : TSF_TRAINED_CPU;
	if (m->device != TSF_TRAINED_CPU && m->device != TSF_TRAINED_CUDA)
		corrupt(&r, "Unknown training device.");

	if (m->ts_type < TSF_TS_TIMESTAMPTZ || m->ts_type > TSF_TS_INT8)
		corrupt(&r, "Unknown timestamp type.");
	if (!tsf_freq_valid(m->ts_type, &m->freq))
		corrupt(&r, "Invalid frequency.");
	if (m->transform > TSF_TRANSFORM_LOG || m->fill > TSF_FILL_PREVIOUS)
		corrupt(&r, "Unknown transform or fill.");
	if (m->n < 1 || m->n > TSF_MAX_POINTS || m->n_filled < 0 || m->n_filled >= m->n)
		corrupt(&r, "Invalid number of training points.");
	if (m->first_ts > m->last_ts || m->fit_seconds < 0 ||
		!tsf_ts_valid(m->ts_type, m->first_ts) ||
		!tsf_ts_valid(m->ts_type, m->last_ts) ||
		!tsf_ts_valid(TSF_TS_TIMESTAMPTZ, m->fitted_at))
		corrupt(&r, "Invalid training range.");
	if (m->freq.unit == TSF_FREQ_FIXED)
	{
		int64		span;

		if (pg_sub_s64_overflow(m->last_ts, m->first_ts, &span) ||
			span / m->freq.step != m->n - 1 || span % m->freq.step != 0)
			corrupt(&r, "The training range does not match the number of points.");
	}

	switch (m->kind)
	{
		case TSF_KIND_AR:
			{
				uint32		p;
				int64		nobs;

				m->ar_method = get_u8(&r);
				m->ar.intercept = get_u8(&r);
				m->ar_max_order = get_u32(&r);
				p = get_u32(&r);
				nobs = get_i64(&r);
				if (m->ar_method > TSF_AR_YULE_WALKER || m->ar.intercept > 1)
					corrupt(&r, "Unknown AR method.");
				if (p > TSF_AR_MAX_ORDER || (int64) p >= m->n ||
					m->ar_max_order > TSF_AR_MAX_ORDER)
					corrupt(&r, "Invalid AR order.");
				if (nobs < 1 || nobs > m->n)
					corrupt(&r, "Invalid number of observations.");
				m->ar.p = (int) p;
				m->ar.nobs = (int) nobs;
				m->ar.c = get_finite(&r, "c");
				m->ar.mean = get_finite(&r, "mean");
				m->ar.sigma2 = get_finite(&r, "sigma2");
				m->ar.aic = get_f64(&r);
				if (m->ar.sigma2 < 0 || isnan(m->ar.aic))
					corrupt(&r, "Invalid AR variance.");
				/* bound the allocations by what is really there */
				if (r.left != (Size) p * 16)
					corrupt(&r, "The AR payload has the wrong length.");
				m->ar.phi = palloc(sizeof(double) * (p + 1));
				m->ar_hist = palloc(sizeof(double) * (p + 1));
				for (uint32 i = 0; i < p; i++)
					m->ar.phi[i] = get_finite(&r, "phi");
				for (uint32 i = 0; i < p; i++)
					m->ar_hist[i] = get_finite(&r, "history");
				break;
			}
		case TSF_KIND_LSTM:
			read_lstm(&r, m);
			break;
		default:
			corrupt(&r, psprintf("Unknown model kind %d.", m->kind));
	}
	if (r.left != 0)
		corrupt(&r, "The value has trailing bytes.");
}

TsfModel *
tsf_model_from_datum(Datum d)
{
	bytea	   *b = DatumGetByteaPP(d);
	TsfModel   *m = palloc(sizeof(TsfModel));

	tsf_model_deserialize(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), m, ERRCODE_DATA_CORRUPTED);
	return m;
}

/* a varlena copy of bytes that came from outside, once they pass the reader */
static bytea *
validated_copy(const char *data, Size len, int sqlstate)
{
	bytea	   *result;
	TsfModel	m;

	tsf_model_deserialize(data, len, &m, sqlstate);
	result = palloc(VARHDRSZ + len);
	SET_VARSIZE(result, VARHDRSZ + len);
	memcpy(VARDATA(result), data, len);
	return result;
}

/*
 * text form: base64 of the stored format.  Whitespace is skipped, so the
 * line-wrapped output of encode(..., 'base64') reads back too.
 */
Datum
tsf_model_in(PG_FUNCTION_ARGS)
{
	char	   *raw = PG_GETARG_CSTRING(0);
	char	   *str = palloc(strlen(raw) + 1);
	int			slen = 0;
	int			cap;
	char	   *buf;
	int			len;

	for (const char *c = raw; *c; c++)
		if (!isspace((unsigned char) *c))
			str[slen++] = *c;
	str[slen] = '\0';
	cap = pg_b64_dec_len(slen);
	buf = palloc(cap + 1);
	len = pg_b64_decode(str, slen, buf, cap);
	if (len < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type tsmodel"),
				 errdetail("The text form of a model is base64.")));
	PG_RETURN_BYTEA_P(validated_copy(buf, len, ERRCODE_INVALID_TEXT_REPRESENTATION));
}

Datum
tsf_model_out(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	int			len = VARSIZE_ANY_EXHDR(b);
	int			cap = pg_b64_enc_len(len);
	char	   *out = palloc(cap + 1);
	int			olen = pg_b64_encode(VARDATA_ANY(b), len, out, cap);

	if (olen < 0)
		elog(ERROR, "could not encode tsmodel");
	out[olen] = '\0';
	PG_RETURN_CSTRING(out);
}

Datum
tsf_model_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			len = buf->len - buf->cursor;
	const char *data = pq_getmsgbytes(buf, len);

	PG_RETURN_BYTEA_P(validated_copy(data, len, ERRCODE_INVALID_BINARY_REPRESENTATION));
}

Datum
tsf_model_send(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* ---- jsonb views ---- */

/*
 * The views are built with pushJsonbValue, value by value, as PostgreSQL's
 * own jsonb functions build theirs: no text to re-parse, and a check for
 * interrupts every few thousand values of a large network's parameters.
 */
typedef JsonbParseState *JB;

/* push a scalar: a member's value inside an object, an element in an array */
static void
jb_scalar(JB *st, JsonbValue *v)
{
	pushJsonbValue(st, (*st)->contVal.type == jbvArray ? WJB_ELEM : WJB_VALUE, v);
}

static void
jb_key(JB *st, const char *key)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) key;
	v.val.string.len = strlen(key);
	pushJsonbValue(st, WJB_KEY, &v);
}

/* a float8: its shortest exact decimal, null for NaN or infinity */
static void
jb_num(JB *st, double x)
{
	JsonbValue	v;
	char		buf[DOUBLE_SHORTEST_DECIMAL_LEN];

	if (!isfinite(x))
		v.type = jbvNull;
	else
	{
		double_to_shortest_decimal_buf(x, buf);
		v.type = jbvNumeric;
		v.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
															ObjectIdGetDatum(InvalidOid),
															Int32GetDatum(-1)));
	}
	jb_scalar(st, &v);
}

static void
jb_int(JB *st, int64 x)
{
	JsonbValue	v;

	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(x);
	jb_scalar(st, &v);
}

/* a string, copied: pushJsonbValue keeps the pointer, not the characters */
static void
jb_str(JB *st, const char *s)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = pstrdup(s);
	v.val.string.len = strlen(s);
	jb_scalar(st, &v);
}

static void
jb_bool(JB *st, bool b)
{
	JsonbValue	v;

	v.type = jbvBool;
	v.val.boolean = b;
	jb_scalar(st, &v);
}

static void
jb_null(JB *st)
{
	JsonbValue	v;

	v.type = jbvNull;
	jb_scalar(st, &v);
}

/* a timestamp as its ISO text (json's), or an integer index as a number */
static void
jb_ts(JB *st, int ts_type, int64 ts)
{
	char		buf[MAXDATELEN + 1];

	if (ts_type == TSF_TS_INT8)
	{
		jb_int(st, ts);
		return;
	}
	JsonEncodeDateTime(buf, ts_type == TSF_TS_DATE ? DateADTGetDatum((DateADT) ts) :
					   TimestampTzGetDatum(ts),
					   ts_type == TSF_TS_DATE ? DATEOID : TIMESTAMPTZOID, NULL);
	jb_str(st, buf);
}

static void
jb_kv_num(JB *st, const char *key, double x)
{
	jb_key(st, key);
	jb_num(st, x);
}

static void
jb_kv_int(JB *st, const char *key, int64 x)
{
	jb_key(st, key);
	jb_int(st, x);
}

static void
jb_kv_str(JB *st, const char *key, const char *s)
{
	jb_key(st, key);
	jb_str(st, s);
}

static void
jb_kv_bool(JB *st, const char *key, bool b)
{
	jb_key(st, key);
	jb_bool(st, b);
}

/* key: [v[0], ..., v[n-1]], from doubles or from the core's scalars */
static void
jb_kv_array(JB *st, const char *key, const double *d, const tsf_real *r, size_t n)
{
	jb_key(st, key);
	pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
	for (size_t i = 0; i < n; i++)
	{
		jb_num(st, d ? d[i] : (double) r[i]);
		if ((i & 0xFFF) == 0xFFF)
			CHECK_FOR_INTERRUPTS();
	}
	pushJsonbValue(st, WJB_END_ARRAY, NULL);
}

/* an LSTM model's own keys; with full, also its scaling, state and weights */
static void
lstm_to_json(JB *st, const TsfModel *m, bool full)
{
	jb_key(st, "hyperparameters");
	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	jb_kv_int(st, "hidden", m->nn.hidden);
	jb_kv_int(st, "layers", m->nn.layers);
	jb_kv_num(st, "dropout", m->nn.dropout);
	jb_kv_num(st, "lr", m->lr);
	jb_kv_int(st, "epochs", m->epochs);
	jb_kv_int(st, "conv_kernel", m->nn.conv_kernel);
	jb_kv_int(st, "conv_channels", m->nn.conv_channels);
	jb_kv_int(st, "seed", m->seed);
	jb_kv_num(st, "validation", m->validation);
	jb_kv_int(st, "patience", m->patience);
	jb_kv_num(st, "ema", m->ema);
	jb_kv_bool(st, "residual", m->residual);
	jb_key(st, "season_length");
	if (m->season_period > 0)
		jb_num(st, m->season_period);
	else
		jb_null(st);
	pushJsonbValue(st, WJB_END_OBJECT, NULL);

	jb_key(st, "inputs");
	pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
	jb_str(st, "lag");
	if (m->season_period > 0)
	{
		jb_str(st, "season_sin");
		jb_str(st, "season_cos");
	}
	for (int i = 0; i < m->n_cov; i++)
		jb_str(st, psprintf("covariate_%d", i + 1));
	pushJsonbValue(st, WJB_END_ARRAY, NULL);
	jb_kv_int(st, "n_covariates", m->n_cov);
	jb_kv_int(st, "n_params", (int64) tsf_nn_param_count(&m->nn));
	jb_kv_int(st, "n_train", m->n_train);
	jb_kv_int(st, "epochs_run", m->epochs_run);
	if (m->validation > 0)
		jb_kv_int(st, "best_epoch", m->best_epoch);
	jb_kv_num(st, "loss", m->train_loss);
	jb_kv_num(st, "val_loss", m->val_loss);
	jb_kv_num(st, "residual_sd", m->resid_sigma);
	jb_kv_str(st, "intervals", "monte_carlo_dropout");
	if (full)
	{
		jb_key(st, "scaling");
		pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
		jb_kv_num(st, "min", m->y_min);
		jb_kv_num(st, "max", m->y_max);
		jb_kv_array(st, "covariates_min", m->cov_min, NULL, m->n_cov);
		jb_kv_array(st, "covariates_max", m->cov_max, NULL, m->n_cov);
		pushJsonbValue(st, WJB_END_OBJECT, NULL);
		jb_kv_num(st, "season_phase", m->season_s0);
		jb_kv_num(st, "last_value", m->last_y);
		jb_kv_array(st, "state", NULL, m->state, tsf_nn_state_count(&m->nn));
		jb_kv_array(st, "params", NULL, m->params, tsf_nn_param_count(&m->nn));
	}
}

/*
 * The summary model_info() returns; with full = true (the jsonb cast) also
 * the format version and the stored history, i.e. everything in the value.
 * A network's parameters as jsonb take about a hundred bytes each: checked
 * against tsforecast.max_memory before they are built.
 */
static Jsonb *
model_to_jsonb(const TsfModel *m, bool full)
{
	JB			st = NULL;
	JsonbValue *root;
	static const char *const methods[] = {"ols", "yule_walker"};

	if (full && m->kind == TSF_KIND_LSTM)
	{
		double		values = (double) tsf_nn_param_count(&m->nn) +
			(double) tsf_nn_state_count(&m->nn) + 2.0 * m->n_cov;

		tsf_check_memory(JSONB_BYTES_PER_NUMBER * values, TSF_MEM_JSON,
						 psprintf("The model holds %.0f numbers.", values));
	}
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	jb_kv_str(&st, "kind", m->kind == TSF_KIND_AR ? "ar" : "lstm");
	if (full)
		jb_kv_int(&st, "format_version", m->format_version);
	jb_kv_int(&st, "n", m->n);
	jb_kv_int(&st, "n_filled", m->n_filled);
	jb_kv_str(&st, "ts_type", tsf_ts_type_name(m->ts_type));
	jb_key(&st, "first_ts");
	jb_ts(&st, m->ts_type, m->first_ts);
	jb_key(&st, "last_ts");
	jb_ts(&st, m->ts_type, m->last_ts);
	jb_kv_str(&st, "frequency", tsf_freq_name(m->ts_type, &m->freq));
	jb_kv_str(&st, "transform", tsf_transform_names[m->transform]);
	jb_kv_str(&st, "fill", tsf_fill_names[m->fill]);
	jb_kv_num(&st, "fit_seconds", m->fit_seconds);
	jb_key(&st, "fitted_at");
	jb_ts(&st, TSF_TS_TIMESTAMPTZ, m->fitted_at);
	jb_kv_str(&st, "device", m->device == TSF_TRAINED_CUDA ? "cuda" : "cpu");
	jb_kv_str(&st, "version", TSF_VERSION_STR);

	if (m->kind == TSF_KIND_AR)
	{
		jb_kv_str(&st, "method", methods[m->ar_method]);
		jb_kv_int(&st, "order", m->ar.p);
		jb_kv_str(&st, "order_selection", m->ar_max_order > 0 ? "aic" : "fixed");
		if (m->ar_max_order > 0)
			jb_kv_int(&st, "max_order", m->ar_max_order);
		jb_kv_bool(&st, "intercept", m->ar.intercept);
		jb_kv_num(&st, "constant", m->ar.c);
		if (m->ar_method == TSF_AR_YULE_WALKER)
			jb_kv_num(&st, "mean", m->ar.mean);
		jb_kv_array(&st, "coefficients", m->ar.phi, NULL, m->ar.p);
		jb_kv_num(&st, "sigma2", m->ar.sigma2);
		jb_kv_num(&st, "aic", m->ar.aic);
		jb_kv_int(&st, "nobs", m->ar.nobs);
		if (full)
			jb_kv_array(&st, "history", m->ar_hist, NULL, m->ar.p);
	}
	else
		lstm_to_json(&st, m, full);
	root = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(root);
}

Datum
tsf_model_to_jsonb(PG_FUNCTION_ARGS)
{
	PG_RETURN_JSONB_P(model_to_jsonb(tsf_model_from_datum(PG_GETARG_DATUM(0)), true));
}

Datum
tsf_model_info(PG_FUNCTION_ARGS)
{
	PG_RETURN_JSONB_P(model_to_jsonb(tsf_model_from_datum(PG_GETARG_DATUM(0)), false));
}

double
tsf_apply_transform(int transform, double v)
{
	return transform == TSF_TRANSFORM_LOG ? log(v) : v;
}

double
tsf_back_transform(int transform, double v)
{
	return transform == TSF_TRANSFORM_LOG ? exp(v) : v;
}

/* seconds of the monotonic clock since t0: the models' fit time */
double
tsf_seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) * 1e-9;
}

/*
 * tsforecast.h
 *		Declarations shared by the SQL-facing glue of tsforecast.
 *
 * The glue turns SQL values into plain arrays for the numerical core
 * (src/core, no PostgreSQL headers) and the core's results into tsmodel
 * values.  This header holds the in-memory model, the series a training
 * aggregate collects, time-grid arithmetic and the option parser.
 */
#ifndef TSFORECAST_H
#define TSFORECAST_H

#include "postgres.h"

#include <float.h>
#include <math.h>
#include <time.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "core/ar.h"
#include "cuda/tsf_cuda.h"
#include "nn/nn.h"

/*
 * the release: the Makefile passes tsforecast.control's default_version;
 * a build outside it (test/fuzz/run.sh's) says "unknown"
 */
#ifndef TSF_VERSION_STR
#define TSF_VERSION_STR		"unknown"
#endif

/* ---- time axis ---- */

/* the SQL type of the ts column a model was trained on */
typedef enum TsfTsType
{
	TSF_TS_TIMESTAMPTZ = 1,		/* microseconds since 2000-01-01 UTC */
	TSF_TS_DATE = 2,			/* days since 2000-01-01 */
	TSF_TS_INT8 = 3				/* a plain integer index */
} TsfTsType;

/* how one step of the series is measured */
typedef enum TsfFreqUnit
{
	TSF_FREQ_FIXED = 1,			/* step in the type's own unit (usec, day, 1) */
	TSF_FREQ_DAYS = 2,			/* calendar days in the session time zone */
	TSF_FREQ_MONTHS = 3,		/* calendar months */
	TSF_FREQ_MONTH_END = 4		/* the last day of every step-th month */
} TsfFreqUnit;

typedef struct TsfFreq
{
	int32		unit;			/* TsfFreqUnit */
	int64		step;			/* > 0 */
} TsfFreq;

/*
 * largest number of grid points a series (with gaps filled) may span, and
 * largest forecast horizon: structural bounds of the stored format; the
 * memory an operation may take is bounded by tsforecast.max_memory
 * (limits.c), checked before it is taken
 */
#define TSF_MAX_POINTS		100000000
#define TSF_MAX_HORIZON		100000

/* ---- resource limits (limits.c) ---- */

/* what an operation checked against tsforecast.max_memory is doing */
typedef enum TsfMemUse
{
	TSF_MEM_SERIES,				/* collecting a training aggregate's points */
	TSF_MEM_GRID,				/* the series on its grid, gaps filled */
	TSF_MEM_AR_FIT,
	TSF_MEM_LSTM_TRAIN,
	TSF_MEM_FORECAST,
	TSF_MEM_PREDICT,
	TSF_MEM_JOB,				/* the series a job holds */
	TSF_MEM_JSON				/* a model shown as jsonb */
} TsfMemUse;

extern int	tsf_max_memory_kb;
extern void tsf_limits_init(void);
extern double tsf_max_memory_bytes(void);
extern char *tsf_size_pretty(double bytes);
extern void tsf_check_memory(double need, TsfMemUse use, const char *detail);

/*
 * A cancel (statement_timeout, pg_cancel_backend, pg_terminate_backend)
 * is pending: what the numerical cores' poll callbacks report, so that
 * they return and the glue raises the error (tsf_raise_cancel); a core is
 * never jumped out of.
 */
#define TSF_CANCEL_PENDING() \
	(InterruptPending && (QueryCancelPending || ProcDiePending))
extern void tsf_raise_cancel(void) pg_attribute_noreturn();
extern int	tsf_poll_cancel(void *arg);

/* the largest magnitude of the network core's scalar type */
#ifdef TSF_NN_FLOAT
#define TSF_REAL_MAX	((double) FLT_MAX)
#else
#define TSF_REAL_MAX	DBL_MAX
#endif

extern const char *tsf_ts_type_name(int ts_type);
extern Oid	tsf_ts_type_oid(int ts_type);
extern void tsf_freq_infer(int ts_type, const int64 *ts, int64 n, TsfFreq *f);
extern int64 tsf_freq_advance(int ts_type, const TsfFreq *f, int64 origin, int64 k);
extern bool tsf_freq_index(int ts_type, const TsfFreq *f, int64 origin, int64 ts,
						   int64 *k);
extern char *tsf_freq_name(int ts_type, const TsfFreq *f);
extern char *tsf_ts_to_cstring(int ts_type, int64 ts);
extern Datum tsf_ts_to_timestamptz(int ts_type, int64 ts, bool *isnull);
extern bool tsf_freq_valid(int ts_type, const TsfFreq *f);
extern bool tsf_ts_valid(int ts_type, int64 ts);

/* ---- options ---- */

typedef enum TsfOptType
{
	TSF_OPT_INT,
	TSF_OPT_FLOAT,
	TSF_OPT_BOOL,
	TSF_OPT_ENUM
} TsfOptType;

/*
 * One recognised key of an options jsonb.  The parser writes the value into
 * the struct the caller passes, at offset; ints and floats are range-checked
 * against [min, max]; enums take one of the names in choices (NULL-ended)
 * and store its index.
 */
typedef struct TsfOptDef
{
	const char *name;
	TsfOptType	type;
	size_t		offset;
	double		min;
	double		max;
	const char *const *choices;
} TsfOptDef;

extern void tsf_parse_options(Jsonb *opts, const TsfOptDef *defs, int ndefs,
							  void *out, bool *seen);

/* options every training aggregate shares (the series preparation) */
typedef enum TsfTransform
{
	TSF_TRANSFORM_NONE = 0,
	TSF_TRANSFORM_LOG = 1
} TsfTransform;

typedef enum TsfFill
{
	TSF_FILL_NONE = 0,			/* a gap is an error */
	TSF_FILL_LINEAR = 1,		/* interpolate between neighbours */
	TSF_FILL_PREVIOUS = 2		/* carry the last value forward */
} TsfFill;

extern const char *const tsf_transform_names[];
extern const char *const tsf_fill_names[];

/* ---- the series a training aggregate collects ---- */

typedef struct TsfPoint
{
	int64		ts;
	double		value;
} TsfPoint;

/* most covariates a point may carry */
#define TSF_MAX_COVARIATES	256

/*
 * The state every training aggregate shares.  Covariates (lstm_train's
 * float8[] argument) are kept beside the points, ncov per point, in the
 * order the points arrived; ncov is -1 until the first row with covariates
 * fixes it, and every later row must carry as many.
 */
typedef struct TsfSeriesState
{
	int32		ts_type;		/* TsfTsType, fixed by the first row */
	int32		fill;			/* TsfFill, from the options */
	int32		ncov;			/* covariates per point; -1: none seen yet */
	int64		rows;			/* rows seen (NULL values under a fill too) */
	int64		n;				/* points collected */
	int64		cap;
	TsfPoint   *pts;			/* (cap) */
	double	   *cov;			/* (cap, ncov) or NULL */
	Jsonb	   *options;		/* the options of every row, or NULL */
} TsfSeriesState;

/* a series ready for the core: sorted, on a regular grid, gaps filled */
typedef struct TsfSeries
{
	int32		ts_type;
	TsfFreq		freq;
	int64		first_ts;
	int64		last_ts;
	int64		n;				/* grid points, first..last */
	int64		n_filled;		/* of which filled in */
	double	   *y;				/* (n) transformed values */
	int32		ncov;			/* covariates per point (0 if none) */
	double	   *cov;			/* (n, ncov) filled like y, or NULL */
	double		bytes;			/* memory held: the collected points and
								 * these arrays (tsforecast.max_memory) */
} TsfSeries;

extern Datum tsf_series_accum(FunctionCallInfo fcinfo,
							  int (*validate) (Jsonb *opts));
extern TsfSeriesState *tsf_series_new(MemoryContext cxt, int ts_type);
extern int64 tsf_ts_from_datum(int ts_type, Datum d);
extern void tsf_series_add(TsfSeriesState *st, int64 ts, Datum value, bool isnull,
						   bool has_cov, const double *cov, int ncov);
extern void tsf_series_prepare(TsfSeriesState *st, int transform, int fill,
							   TsfSeries *out);
extern double *tsf_read_covariates(ArrayType *a, int *n);
extern double *tsf_covariate_values(ArrayType *a, int n, const char *what);

/* ---- the model ---- */

typedef enum TsfModelKind
{
	TSF_KIND_AR = 1,
	TSF_KIND_LSTM = 2
} TsfModelKind;

typedef struct TsfModel
{
	int32		kind;			/* TsfModelKind */
	int32		ts_type;
	TsfFreq		freq;
	int64		first_ts;		/* first and last training timestamps */
	int64		last_ts;
	int64		n;				/* training points (grid, incl. filled) */
	int64		n_filled;
	int32		transform;		/* TsfTransform */
	int32		fill;			/* TsfFill */
	double		fit_seconds;
	TimestampTz fitted_at;
	int32		device;			/* trained on: TSF_TRAINED_CPU or _CUDA */
	int32		format_version; /* of the value it was read from */

	/* kind AR */
	int32		ar_method;		/* TsfArMethod */
	int32		ar_max_order;	/* bound searched by AIC; 0 if the order was fixed */
	TsfArModel	ar;				/* ar.phi: (p) */
	double	   *ar_hist;		/* (p) last transformed values, oldest first */

	/* kind LSTM (see lstm_model.c for the inputs and scaling) */
	tsf_nn_config nn;			/* the network's shape */
	int32		n_cov;			/* user covariates per step */
	int32		residual;		/* 1: output = lag + network, 0: network */
	double		lr;				/* Adam learning rate */
	double		ema;			/* decay of the weights' moving average; 0 = off */
	int32		epochs;			/* epochs asked for */
	int32		epochs_run;		/* epochs trained (fewer on an early stop) */
	int32		best_epoch;		/* epoch of the lowest validation loss; 0 if none */
	int32		patience;		/* early-stopping patience; 0 = off */
	int64		seed;
	double		validation;		/* fraction of the steps held out */
	int64		n_train;		/* grid points before the validation part */
	double		season_period;	/* season length in steps; 0 = no season inputs */
	double		season_s0;		/* season phase at first_ts, in [0, 1) */
	double		y_min;			/* min-max scaling of the transformed value */
	double		y_max;
	double		train_loss;		/* MSE (scaled) of the last epoch, with dropout */
	double		val_loss;		/* validation MSE of the kept weights; NaN if none */
	double		resid_sigma;	/* RMS of one-step residuals (scaled), training part */
	double		last_y;			/* scaled value at last_ts: the next step's lag */
	double	   *cov_min;		/* (n_cov) covariate scaling */
	double	   *cov_max;		/* (n_cov) */
	tsf_real   *params;			/* (tsf_nn_param_count) the parameter block */
	tsf_real   *state;			/* (tsf_nn_state_count) after the training data */
} TsfModel;

#define TSF_MODEL_MAGIC		0x4D465354	/* "TSFM" little-endian */
#define TSF_MODEL_VERSION	2	/* written; 1 is read too (see model.c) */

/* where a model was trained (stored from format version 2 on) */
#define TSF_TRAINED_CPU		0
#define TSF_TRAINED_CUDA	1

extern bytea *tsf_model_serialize(const TsfModel *m);
extern void tsf_model_deserialize(const char *data, Size len, TsfModel *m,
								  int sqlstate);
extern TsfModel *tsf_model_from_datum(Datum d);
extern double tsf_lstm_stored_bytes(const tsf_nn_config *cfg, int n_cov);
extern void tsf_model_free(TsfModel *m);

extern void tsf_check_level(double level);
extern double tsf_seconds_since(const struct timespec *t0);
extern void tsf_check_horizon(int32 horizon);
extern double tsf_back_transform(int transform, double v);
extern double tsf_apply_transform(int transform, double v);

/* ---- LSTM models (lstm_model.c) ---- */

/* most epochs a training may ask for */
#define TSF_LSTM_MAX_EPOCHS	10000000

/* the defaults of lstm_train, chosen on the Verde River's training weeks */
#define TSF_LSTM_DEFAULT_EPOCHS	200
#define TSF_LSTM_DEFAULT_EMA	0.98

/* default seasons: a year for daily to monthly data, a day below daily */
#define TSF_DAYS_PER_YEAR	365.25

extern double tsf_season_period(int ts_type, const TsfFreq *f);
extern double tsf_season_phase(int ts_type, const TsfFreq *f, int64 ts,
							   double period);
extern int	tsf_lstm_n_in(double season_period, int n_cov);
extern double tsf_lstm_scale(const TsfModel *m, double y);
extern double tsf_lstm_unscale(const TsfModel *m, double s);
extern void tsf_lstm_input(const TsfModel *m, int64 k, double lag,
						   const double *cov, tsf_real *x);
extern double tsf_lstm_output(const TsfModel *m, tsf_real out, double lag);
extern void tsf_lstm_bind(tsf_nn *nn, TsfModel *m);

/* ---- training a collected series (the aggregates' final steps, jobs) ---- */

extern int	tsf_ar_check_options(Jsonb *opts);
extern int	tsf_lstm_check_options(Jsonb *opts);
extern bytea *tsf_ar_fit_state(TsfSeriesState *st);
extern bytea *tsf_lstm_train_state(TsfSeriesState *st, int device);

/*
 * An LSTM training in phases (lstm_train.c): prepare a series, train it on
 * the CPU or with others of the same configuration in one batch through
 * the CUDA module, finish it into a model.
 */
typedef struct TsfLstmFit TsfLstmFit;

/* a batch's callbacks into its caller (a job), all optional */
typedef struct TsfBatchHooks
{
	/* after every epoch, the mean losses; must not throw; true: stop */
	bool		(*epoch) (void *arg, int epoch, int epochs, double loss,
						  double val_loss);
	/* after a stop: raise the error of the cancel */
	void		(*cancelled) (void *arg);
	/* series b of the batch is the subject of the error that follows */
	void		(*series) (void *arg, int b);
	void	   *arg;
} TsfBatchHooks;

extern TsfLstmFit *tsf_lstm_prepare(TsfSeriesState *st);
extern void tsf_lstm_train_cpu(TsfLstmFit *f);
extern bool tsf_lstm_same_batch(const TsfLstmFit *a, const TsfLstmFit *b);
extern bool tsf_lstm_cuda_supports(const TsfLstmFit *f);
extern Size tsf_lstm_batch_bytes(const TsfLstmFit *f);
extern bool tsf_lstm_train_batch(TsfLstmFit **fits, int n, const tsfc_api *api,
								 bool fallback, const TsfBatchHooks *hooks);
extern bytea *tsf_lstm_finish(TsfLstmFit *f);

/* called by lstm_train after every epoch when set; val_loss NaN if none */
typedef void (*tsf_epoch_hook_type) (int epoch, int epochs, double loss,
									 double val_loss);
extern PGDLLIMPORT tsf_epoch_hook_type tsf_epoch_hook;

extern void tsf_predict_rows(TsfModel *m, int64 rows, const int64 *k,
							 const double *y, const bool *ynull,
							 const double *cov, double *pred, bool *isnull);

/* ---- the compute backend (cuda_loader.c) ---- */

/* tsforecast.device */
typedef enum TsfDevice
{
	TSF_DEVICE_AUTO = 0,		/* the GPU where usable, else the CPU */
	TSF_DEVICE_CPU = 1,
	TSF_DEVICE_CUDA = 2			/* the GPU, or an error */
} TsfDevice;

/*
 * Device "auto" sends a training to the GPU only when it trains at least
 * this many series at once.  lstm_train in a session trains one series,
 * and one series gains nothing there: measured on an H200 (bench/cuda_h200,
 * one_series and pg_lstm_train), an epoch of the seed's network on 500
 * weeks took 0.96 ms on the GPU and 0.97 ms in the C core on that host,
 * 200 epochs 0.19 s either way, and the GPU's first use in a session adds
 * about 0.3 s.  A job's series go to the GPU together (1,000 series: 52
 * times faster per series than the CPU job, end to end).
 */
#define TSF_CUDA_AUTO_MIN_SERIES	2

extern int	tsf_device;
extern char *tsf_cuda_module;
extern const char *const tsf_device_names[];

extern void tsf_cuda_init(void);
extern const tsfc_api *tsf_cuda_probe(const char **name, const char **reason);
extern const tsfc_api *tsf_cuda_resolve(int device, int nseries, int auto_min_series,
										const char **name);
extern int	tsf_device_from_name(const char *s);
extern char *tsf_cuda_sentence(const char *err, const char *otherwise);
extern void tsf_cuda_unusable(const char *reason) pg_attribute_noreturn();

/* the size of the buffers that take the module's messages */
#define TSFC_ERRLEN	1024

/* ---- training jobs (jobs.c: SQL functions, shared memory; worker.c) ---- */

/* the job states, as stored and shown */
#define TSF_JOB_QUEUED		"queued"
#define TSF_JOB_RUNNING		"running"
#define TSF_JOB_SUCCEEDED	"succeeded"
#define TSF_JOB_FAILED		"failed"
#define TSF_JOB_CANCELLED	"cancelled"

/* the NOTIFY channel of job ends */
#define TSF_JOBS_CHANNEL	"tsforecast_jobs"

/*
 * One running job's slot in shared memory, written by the launcher (claim,
 * reap) and by the job's worker (progress), read by every backend through
 * _job_progress() and the jobs view.  job_id 0: free.  All fields under
 * TsfJobsShared.mutex.
 *
 * A slot lives from the claim until a launcher reaps it: after its worker
 * exited (it says so, even after a FATAL), or was seen stopped through the
 * handle the launcher that started it keeps, or never attached within
 * TSF_JOB_ATTACH_SECONDS of the claim.  So a launcher that restarts finds
 * every job's worker in shared memory, whoever started it.  generation
 * tells a worker whether the slot is still the one it was started for.
 */
typedef struct TsfJobSlot
{
	int64		job_id;
	uint32		generation;		/* bumped at every claim into the slot */
	Oid			owner;			/* the role the job runs as */
	pid_t		launcher_pid;	/* the launcher that claimed it */
	TimestampTz claimed_at;
	pid_t		pid;			/* the worker's, once attached; 0 before */
	bool		exited;			/* the worker has exited */
	bool		cancel;			/* cancel_job() asked for it */
	int32		series_total;	/* -1 until the source has been read */
	int32		series_done;
	int32		epoch;			/* of the series in training; 0 if none */
	int32		epochs;
	double		loss;			/* the last epoch's; NaN if none */
	double		val_loss;
} TsfJobSlot;

/* a worker not attached to its slot this long after the claim is lost */
#define TSF_JOB_ATTACH_SECONDS	60

/* bytes of the server's key that signs job rows (job_metadata.c) */
#define TSF_JOB_KEY_LEN		32

typedef struct TsfJobsShared
{
	slock_t		mutex;
	pid_t		launcher_pid;	/* 0 while no launcher runs */
	Latch	   *launcher_latch;
	Oid			dboid;			/* the launcher's database, once connected */
	uint8		key[TSF_JOB_KEY_LEN];	/* set at start, then read only */
	int			nslots;			/* tsforecast.max_workers */
	TsfJobSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} TsfJobsShared;

/* NULL unless the library was in shared_preload_libraries */
extern TsfJobsShared *tsf_jobs;

/* GUCs */
extern char *tsf_jobs_database;
extern int	tsf_jobs_max_workers;
extern int	tsf_jobs_naptime;

/* the shape of a job's source query */
typedef struct TsfJobSource
{
	bool		has_key;		/* a leading series key column */
	bool		has_cov;		/* a trailing covariates column */
	Oid			key_type;
	int			ts_type;		/* TsfTsType after the cast */
} TsfJobSource;

extern void tsf_jobs_init(void);
extern int	tsf_job_parse_spec(Jsonb *spec, Jsonb **opts, int *device);
extern char *tsf_job_trim_source(const char *source);
extern char *tsf_job_source_sql(const char *source, TsfJobSource *out);
extern void tsf_job_notify(int64 id, const char *state);
extern bool tsf_job_visible(Oid owner);

/* ---- the job tables (job_metadata.c) ---- */

/* a job's row, as _job_row and _job_claim return it */
typedef struct TsfJobRow
{
	int64		id;
	char	   *name;
	Oid			owner;
	char	   *source;
	Jsonb	   *spec;
	char	   *search_path;
	char	   *state;
	int32		statement_timeout;	/* ms, 0: none */
	bytea	   *signature;		/* NULL: none */
	TransactionId xmin;			/* of the row */
} TsfJobRow;

/* a model a job inserts */
typedef struct TsfModelRow
{
	const char *name;
	const char *series_key;		/* NULL: none */
	bytea	   *model;
	Jsonb	   *metrics;
	Jsonb	   *spec;
	bool		has_seed;
	int32		seed;
	const char *data_from;
	const char *data_to;
	int64		n_rows;
	int64		job_id;
	Oid			owner;
} TsfModelRow;

extern bool tsf_jobs_tables_check(Oid *owner, const char **why);
extern Oid	tsf_jobs_table_owner(void);
extern int	tsf_job_spi(const char *sql, int nargs, Oid *types, Datum *values,
						const char *nulls, bool read_only, int expected);
extern bool tsf_job_signature_ok(const TsfJobRow *j);
extern int64 tsf_job_next_id(void);
extern void tsf_job_submit(const TsfJobRow *j);
extern bool tsf_job_read(int64 id, TsfJobRow *j);
extern bool tsf_job_claim(TsfJobRow *j);
extern bool tsf_job_requeue(int64 id);
extern bool tsf_job_set_device(int64 id, const char *device);
extern bool tsf_job_fail(int64 id, const char *error);
extern bool tsf_job_cancel(int64 id, const char *from_state);
extern bool tsf_job_finish(int64 id, const char *state, const char *error,
						   const TsfJobSlot *s);
extern int	tsf_job_fail_orphans(const int64 *keep, int nkeep, const char *error,
								 int64 **ids);
extern void tsf_models_replace(Oid owner, const char *name);
extern void tsf_models_insert(const TsfModelRow *r);

/* worker.c: the background workers' entry points */
extern PGDLLEXPORT void tsf_launcher_main(Datum arg);
extern PGDLLEXPORT void tsf_job_worker_main(Datum arg);

#endif							/* TSFORECAST_H */

/*
 * kind.h
 *		A model kind is a table of routines, as an index access method is
 *		for PostgreSQL (pgvector's hnswhandler fills an IndexAmRoutine): the
 *		shared code (the stored format, the jsonb views, forecast(),
 *		predict(), training jobs) calls through it and never asks which kind
 *		it holds.  Each kind lives in its own files (model_ar.c; model_lstm.c
 *		with lstm_train.c and lstm_model.c) and is listed once, in kind.c.
 *		Adding a kind is: its files, its table in that list, its install SQL.
 */
#ifndef TSF_KIND_H
#define TSF_KIND_H

#include "utils/jsonb.h"

#include "jsonbuild.h"
#include "model.h"
#include "series.h"

struct tsfc_api;

/*
 * What a training of many series (a job's) tells its caller, and asks it:
 * one set of callbacks for the CPU, one series after another, and the GPU,
 * batches of them.  All optional.
 */
typedef struct TsfTrainHooks
{
	/*
	 * after every epoch: of the series in training, or of a GPU batch (then
	 * the batch's mean losses; val_loss NaN without a validation part);
	 * must not throw; true asks the training to stop
	 */
	bool		(*epoch) (void *arg, int epoch, int epochs, double loss,
						  double val_loss);
	/* raise the error of the stop that epoch asked for */
	void		(*stopped) (void *arg);
	/*
	 * series i (from 0) is what the errors that follow are about; called
	 * before each series' preparation or training (it may throw: a job's
	 * cancel), and for a GPU batch's series that diverged
	 */
	void		(*series) (void *arg, int i);
	/* series i's model, serialized: store it (it may throw) */
	void		(*done) (void *arg, int i, bytea *model);
	void	   *arg;
} TsfTrainHooks;

typedef struct TsfKind
{
	int32		id;				/* the stored kind (model.c's format) */
	const char *name;			/* "kind" in model_info and in job specs */
	bool		gpu;			/* trains on the CUDA module too */

	/* ---- training ---- */

	/* check an options jsonb as the aggregate would; returns its fill mode */
	int			(*check_options) (Jsonb *opts);

	/*
	 * fit one collected series (its options in st->options) on device (a
	 * TsfDevice), reporting through hooks (may be NULL): the model
	 * serialized; the aggregate's final step, and a job's for each series
	 */
	bytea	   *(*fit) (TsfSeriesState *st, int device, const TsfTrainHooks *hooks);

	/*
	 * train n series of a job on the GPU module api (NULL: on the CPU, where
	 * cpu_batch says so, else kind.c fits each), calling hooks->done for
	 * each; NULL for a kind without a batch path
	 */
	void		(*fit_batch) (TsfSeriesState **series, int n, int device,
							  const struct tsfc_api *api, const TsfTrainHooks *hooks);
	/*
	 * fit_batch trains the CPU's series too (api NULL: several at once, the
	 * same models as fit() of each); false: kind.c fits each on the CPU
	 */
	bool		cpu_batch;

	/* ---- the stored payload (after model.c's header) ---- */

	double		(*stored_bytes) (const TsfModel *m);
	void		(*write) (StringInfo b, const TsfModel *m);
	/* read and validate m->payload, allocating it; r must end with it */
	void		(*read) (TsfReader *r, TsfModel *m);
	void		(*free) (TsfModel *m);

	/* ---- views ---- */

	/* how many numbers the full view holds (its memory is checked first) */
	double		(*json_numbers) (const TsfModel *m);
	/* the kind's keys of model_info (full: also everything stored) */
	void		(*to_jsonb) (TsfJson *js, const TsfModel *m, bool full);

	/* ---- inference ---- */

	/* covariates a forecast or a prediction needs per step (0: none) */
	int			(*n_covariates) (const TsfModel *m);
	/*
	 * memory of a forecast of horizon steps, beyond the model itself; may
	 * set *detail to the sentence that says what takes it (else forecast.c
	 * names the horizon)
	 */
	double		(*forecast_bytes) (const TsfModel *m, int horizon, char **detail);

	/*
	 * the next horizon steps after the training data into mean, lo, hi (on
	 * the transformed scale), the interval at level; fcov (horizon, n_cov)
	 * when the model has covariates
	 */
	void		(*forecast) (const TsfModel *m, int horizon, double level,
							 const double *fcov, double *mean, double *lo, double *hi);

	/*
	 * npaths sample paths of the next horizon steps after the model's state
	 * (transformed scale) into paths (npaths, horizon) row-major, each a
	 * draw of the model's forecast distribution, from a generator seeded
	 * with seed (the same model, seed and sizes give the same paths); fcov
	 * as forecast's.  The caller checked paths' memory and forecast_bytes(m,
	 * horizon) for the kind's own.  NULL for a kind without sample paths
	 * (forecast_buckets() refuses it, 0A000).
	 */
	void		(*simulate) (const TsfModel *m, int horizon, int npaths, uint64 seed,
							 const double *fcov, double *paths);

	/*
	 * one-step-ahead predictions (back-transformed) of rows on the model's
	 * grid: steps k (rows, increasing), transformed values y (rows; ynull
	 * where missing), covariates cov (rows, n_cov) or NULL (predict.c)
	 */
	void		(*predict) (const TsfModel *m, int64 rows, const int64 *k,
							const double *y, const bool *ynull, const double *cov,
							double *pred, bool *isnull);

	/*
	 * move the model's state on over new rows (model_update(), backtests
	 * between refits): steps k (rows >= 1, consecutive: k[i] = k[0] + i, all
	 * after the state's step tsf_model_next_step(m) - 1), transformed values
	 * y (rows), covariates cov (rows, n_cov) or NULL; the kind checks that
	 * the rows give it what it needs (errors as update.c's) and updates its
	 * payload in place; update.c then moves m->n_after
	 */
	void		(*update) (TsfModel *m, int64 rows, const int64 *k, const double *y,
						   const double *cov);

	/* ---- a job's scoring and provenance ---- */

	/* the first grid step a job scores (its validation part's), else 0 */
	int64		(*scored_from) (const TsfModel *m);
	/* the kind's own keys of a job's metrics (losses) */
	void		(*job_metrics) (TsfJson *js, const TsfModel *m);
	/* the seed a model was trained with, if the kind has one */
	bool		(*seed) (const TsfModel *m, int32 *seed);
} TsfKind;

/* the kinds */
extern const TsfKind tsf_kind_ar;
extern const TsfKind tsf_kind_lstm;
extern const TsfKind tsf_kind_combine;
extern const TsfKind tsf_kind_auto;

extern const TsfKind *tsf_kind_by_id(int id);
extern const TsfKind *tsf_kind_by_name(const char *name);
extern const char *tsf_kind_names(void);

/*
 * Train n collected series of one kind on device (api: its resolved GPU
 * module, or NULL), reporting through hooks: the kind's GPU batches where
 * it has them, else fit() of each in a memory context reset after it.
 */
extern void tsf_kind_train(const TsfKind *kind, TsfSeriesState **series, int n,
						   int device, const struct tsfc_api *api,
						   const TsfTrainHooks *hooks);

#endif							/* TSF_KIND_H */

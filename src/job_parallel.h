/*
 * job_parallel.h
 *		One training job's series spread over parallel worker processes
 *		(job_parallel.c), the job's worker leading them.
 */
#ifndef TSF_JOB_PARALLEL_H
#define TSF_JOB_PARALLEL_H

#include "storage/dsm.h"
#include "storage/shm_toc.h"
#include "utils/jsonb.h"

#include "job_source.h"
#include "kind.h"
#include "model.h"

/* the largest "parallel" a spec may ask for */
#define TSF_JOB_MAX_PARALLEL	1024

/* GUC: the most parallel workers one job launches (beyond its own worker) */
extern int	tsf_job_max_parallel_workers;

/*
 * A CPU training job in parallel: the leader's side, filled by worker.c.
 * The models and their metrics come back in series order, in the caller's
 * memory context; nothing is stored while the workers run (PostgreSQL
 * allows no writes in parallel mode): the caller inserts them afterwards,
 * in the same transaction.
 */
typedef struct TsfParallelJob
{
	int64		job_id;
	int			slot;			/* the job's shared-memory slot */
	uint32		generation;		/* ... and its generation */
	const TsfKind *kind;
	TsfJobSeries *series;
	int			nseries;
	int			nprocs;			/* processes asked for, the leader included */
	/* a backtest job: its spec, settings and row type (else settings NULL) */
	Jsonb	   *spec;
	Jsonb	   *settings;
	Oid			rowtype;

	/* the leader's own training: progress and cancel (worker.c's) */
	bool		(*epoch) (void *arg, int epoch, int epochs, double loss,
						  double val_loss);
	void		(*check_cancel) (void);
	void		(*progress) (int done, int total);

	/* out: each series' model (a backtest's rows) and metrics (NULL for a backtest) */
	bytea	  **models;			/* (nseries) */
	Jsonb	  **metrics;		/* (nseries) */
	int			launched;		/* parallel workers that started */
} TsfParallelJob;

extern int	tsf_job_processes(Jsonb *spec, int nseries);
extern void tsf_job_train_parallel(TsfParallelJob *pj);

/* worker.c: a model's one-step-ahead accuracy on its series */
extern Jsonb *tsf_job_series_metrics(const TsfModel *m, const TsfSeriesState *st);

/* jobs.c: the spec's "parallel", checked; -1 where it has none */
extern int	tsf_job_spec_parallel(Jsonb *spec);

/* the parallel workers' entry point */
extern PGDLLEXPORT void tsf_job_parallel_main(dsm_segment *seg, shm_toc *toc);

#endif							/* TSF_JOB_PARALLEL_H */

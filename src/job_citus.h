/*
 * job_citus.h
 *		A training job whose source is a Citus distributed table, trained on
 *		the Citus workers (job_citus.c).
 */
#ifndef TSF_JOB_CITUS_H
#define TSF_JOB_CITUS_H

#include "utils/jsonb.h"

#include "job_metadata.h"
#include "job_source.h"
#include "kind.h"
#include "model.h"
#include "series.h"

/* where a job's source has its rows trained */
typedef enum TsfCitusPath
{
	TSF_CITUS_NONE,				/* no Citus table in it: the job's own path */
	TSF_CITUS_PUSHDOWN,			/* one distributed query, trained on the workers */
	TSF_CITUS_PULL				/* Citus tables, but the rows go to the coordinator */
} TsfCitusPath;

/* what the job's worker gives the Citus path (worker.c) */
typedef struct TsfCitusJob
{
	const TsfJobRow *j;
	int64		job_id;
	const TsfKind *kind;
	Jsonb	   *opts;			/* the spec's options, or NULL */
	const TsfJobSource *src;
	bool		gpu;			/* the job trains on the coordinator's GPU */
	void		(*check_cancel) (void);
	void		(*progress) (int done, int total);
} TsfCitusJob;

extern TsfCitusPath tsf_job_citus_path(const char *source, bool has_key, char **why);
extern void tsf_job_citus_notice(const char *source, bool has_key, bool backtest);
extern bool tsf_job_citus_train(const TsfCitusJob *cj);

/* a job's metrics of one series' model (worker.c) */
extern Jsonb *tsf_job_series_metrics(const TsfModel *m, const TsfSeriesState *st);

#endif							/* TSF_JOB_CITUS_H */

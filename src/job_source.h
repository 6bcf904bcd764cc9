/*
 * job_source.h
 *		A job's source query (job_source.c): checked at submission, as the
 *		caller, and read by the job's worker into its series, one per key.
 */
#ifndef TSF_JOB_SOURCE_H
#define TSF_JOB_SOURCE_H

#include "utils/jsonb.h"

#include "series.h"

/* the shape of a job's source query */
typedef struct TsfJobSource
{
	bool		has_key;		/* a leading series key column */
	bool		has_cov;		/* a trailing covariates column */
	Oid			key_type;
	int			ts_type;		/* TsfTsType after the cast */
} TsfJobSource;

/* one series of a job, collected from the source */
typedef struct TsfJobSeries
{
	char	   *key;			/* NULL: no key column, or a NULL key */
	int64		rows;			/* rows read, NULL values included */
	TsfSeriesState *st;
} TsfJobSeries;

extern char *tsf_job_trim_source(const char *source);
extern char *tsf_job_source_sql(const char *source, TsfJobSource *out);
extern TsfJobSeries *tsf_job_read_series(const char *sql, const TsfJobSource *src,
										 Jsonb *opts, int fill, MemoryContext cxt,
										 void (*check_cancel) (void), int *nseries);

#endif							/* TSF_JOB_SOURCE_H */

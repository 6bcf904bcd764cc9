/*
 * job_metadata.h
 *		Everything the job functions and the workers read and write in the
 *		job tables, tsforecast._jobs, tsforecast.models and
 *		tsforecast.backtests (job_metadata.c):
 *		which objects are the extension's own, the one helper that runs
 *		their SQL as their owner, and the rows' signatures.
 */
#ifndef TSF_JOB_METADATA_H
#define TSF_JOB_METADATA_H

#include "utils/array.h"
#include "utils/jsonb.h"

#include "jobs.h"

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

extern void tsf_backtests_replace(Oid owner, const char *name);
extern void tsf_backtests_insert(const char *name, const char *series_key, ArrayType *rows,
								 int64 job_id, Oid owner);
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

#endif							/* TSF_JOB_METADATA_H */

/*
 * jobs.h
 *		Training jobs: their states, the shared memory the job functions
 *		(jobs.c), the launcher and the job workers (worker.c) share, the
 *		GUCs, and who may see a job.
 */
#ifndef TSF_JOBS_H
#define TSF_JOBS_H

#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

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
	ConditionVariable ended;	/* broadcast whenever a job ends: wait_job */
	int			nslots;			/* tsforecast.max_workers */
	TsfJobSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} TsfJobsShared;

/* NULL unless the library was in shared_preload_libraries */
extern TsfJobsShared *tsf_jobs;

/* GUCs */
extern char *tsf_jobs_database;
extern int	tsf_jobs_max_workers;
extern int	tsf_jobs_naptime;

extern void tsf_jobs_init(void);
extern const struct TsfKind *tsf_job_parse_spec(Jsonb *spec, Jsonb **opts, int *device);
extern void tsf_jobs_after_commit(void);
extern bool tsf_job_spec_backtest(Jsonb *spec, Jsonb **settings);
extern void tsf_spec_refuse_backtest_key(Jsonb *spec);
extern void tsf_job_notify(int64 id, const char *state);
extern bool tsf_job_visible(Oid owner);

/* worker.c: the background workers' entry points */
extern PGDLLEXPORT void tsf_launcher_main(Datum arg);
extern PGDLLEXPORT void tsf_job_worker_main(Datum arg);

#endif							/* TSF_JOBS_H */

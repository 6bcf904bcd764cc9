/*
 * worker.c
 *		The background workers of training jobs: the launcher, and one job
 *		worker per running job.
 *
 * The launcher (registered in _PG_init when tsforecast is in
 * shared_preload_libraries) connects to tsforecast.database as the
 * bootstrap superuser and loops, each pass in a memory context of its own:
 *	- it acts only where the database holds the extension's own job tables
 *	  (job_metadata.c: members of the installed extension, owned by its
 *	  owner); elsewhere it waits;
 *	- it reaps the slots of workers that ended (they say so in their slot,
 *	  even after a FATAL; or the handle of a worker it started says it
 *	  stopped; or a worker never attached to its slot): a job still
 *	  "running" then failed.  Slots live in shared memory, so a restarted
 *	  launcher reaps the workers its predecessor started;
 *	- it fails the jobs left "running" with no slot: at its start those of
 *	  a server restart or crash (pg_cron's MarkPendingRunsAsFailed), later
 *	  any that a restore or a hand-written row left so;
 *	- while a slot is free it claims the oldest queued job (FOR UPDATE SKIP
 *	  LOCKED, ORDER BY id), checks that train_async signed its row on this
 *	  server (a row it did not sign fails, and never runs), fills the slot
 *	  and starts a dynamic background worker for it;
 *	- it sleeps on its latch, set by train_async() at commit, by the
 *	  postmaster when one of its workers stops, or after tsforecast.naptime.
 * It restarts 5 s after an error, a crash or being terminated; a job
 * worker is never restarted.
 *
 * A job worker connects as the job's owner
 * (BackgroundWorkerInitializeConnectionByOid), so the source query runs
 * with that role's privileges and no more, and under the statement_timeout
 * of the session that submitted it.  It reads its row, checks the
 * signature again, reads the source, trains every series and inserts
 * their models in one transaction: a failure or a cancel rolls all of it
 * back.  The one PG_TRY (as timescaledb's bgw/job.c) catches that error;
 * the job's final state, error and progress are then written in a second
 * transaction, which also NOTIFYs tsforecast_jobs.  Bookkeeping SQL runs
 * as the job tables' owner (job_metadata.c); only the source query runs
 * as the job's owner.
 *
 * Up to tsforecast.max_workers jobs run at once, one worker process each.
 * On the CPU a job of several series trains them in that worker and
 * parallel workers it leads (the spec's "parallel", else
 * tsforecast.max_workers processes; job_parallel.c): their models come
 * back, scored, and the worker inserts them all once the parallel workers
 * are done.  In one process ("parallel": 1, one series, no parallel worker
 * allowed) the training of its series is one call of the kind's glue
 * (tsf_kind_train, kind.c) with one set of hooks for both devices: the
 * progress of every epoch into the job's slot, the cancel, the series an
 * error is about, and each series' model as it is done, which the worker
 * scores (metrics.c) and inserts.  A kind with a GPU path, whose device
 * (the spec's "device", else tsforecast.device) resolves to the GPU,
 * trains them in batches through the CUDA module in the worker alone
 * (device.c; lstm_train.c's batches).  The
 * device is resolved, and written into the job's row, in a short
 * transaction of its own before the training one, so the jobs view shows
 * it while the job runs.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timeout.h"

#include "backtest.h"
#include "device.h"
#include "guard.h"
#include "job_citus.h"
#include "job_metadata.h"
#include "job_parallel.h"
#include "job_source.h"
#include "jobs.h"
#include "jsonbuild.h"
#include "kind.h"
#include "metrics.h"
#include "model.h"
#include "options.h"
#include "series.h"

/* the errors recorded for jobs that ended without their worker saying how */
#define RESTART_ERROR	"server restarted while the job was running"
#define LOST_ERROR		"job worker exited before recording the outcome of the job; see the server log"
#define UNSIGNED_ERROR	"job was not submitted by train_async in this database of this server: it was not run"

/* ---- transactions of the workers ---- */

static void
begin_xact(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (activity)
		pgstat_report_activity(STATE_RUNNING, activity);
}

static void
end_xact(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	/* a job it ended: wake the waiters, now that its NOTIFY went out */
	tsf_jobs_after_commit();
	pgstat_report_stat(true);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* ---- the launcher ---- */

/* the handles of the workers this launcher started, by slot */
static BackgroundWorkerHandle **launched;

static void
launcher_detach(int code, Datum arg)
{
	SpinLockAcquire(&tsf_jobs->mutex);
	if (tsf_jobs->launcher_pid == MyProcPid)
	{
		tsf_jobs->launcher_pid = 0;
		tsf_jobs->launcher_latch = NULL;
	}
	SpinLockRelease(&tsf_jobs->mutex);
}

/*
 * Whether this database has the extension's own job tables; a reason to
 * wait is logged once, when it changes
 */
static bool
jobs_tables_ready(void)
{
	static char last_why[256] = "";
	Oid			owner;
	const char *why;
	bool		ready;

	begin_xact(NULL);
	ready = tsf_jobs_tables_check(&owner, &why);
	if (!ready && strncmp(why, last_why, sizeof(last_why) - 1) != 0)
		ereport(LOG,
				(errmsg("tsforecast launcher is waiting in database \"%s\"", tsf_jobs_database),
				 errdetail("%s", why)));
	strlcpy(last_why, ready ? "" : why, sizeof(last_why));
	end_xact();
	return ready;
}

/* announce and log the jobs an UPDATE ended in state */
static void
jobs_ended(const int64 *ids, int n, const char *state)
{
	for (int i = 0; i < n; i++)
	{
		tsf_job_notify(ids[i], state);
		ereport(LOG,
				(errmsg("tsforecast job " INT64_FORMAT " marked %s", ids[i], state)));
	}
}

/* fail the running jobs that no slot holds, with error */
static void
fail_orphans(const char *error)
{
	int64	   *keep = palloc(sizeof(int64) * (tsf_jobs->nslots + 1));
	int64	   *ids;
	int			nkeep = 0;
	int			n;

	SpinLockAcquire(&tsf_jobs->mutex);
	for (int i = 0; i < tsf_jobs->nslots; i++)
		if (tsf_jobs->slots[i].job_id != 0)
			keep[nkeep++] = tsf_jobs->slots[i].job_id;
	SpinLockRelease(&tsf_jobs->mutex);

	begin_xact("tsforecast launcher: failing the jobs no worker runs");
	n = tsf_job_fail_orphans(keep, nkeep, error, &ids);
	jobs_ended(ids, n, TSF_JOB_FAILED);
	end_xact();
}

/* free slot i if it still holds job_id; its generation stays */
static void
free_slot(int i, int64 job_id)
{
	TsfJobSlot *s = &tsf_jobs->slots[i];

	SpinLockAcquire(&tsf_jobs->mutex);
	if (s->job_id == job_id)
	{
		uint32		generation = s->generation;

		memset(s, 0, sizeof(TsfJobSlot));
		s->generation = generation;
	}
	SpinLockRelease(&tsf_jobs->mutex);
}

/*
 * The slots of workers that ended: the worker says so itself when it
 * exits, even after a FATAL; a worker this launcher started shows stopped
 * through its handle; a worker that never attached to its slot within
 * TSF_JOB_ATTACH_SECONDS of the claim (its launcher died before starting
 * it, or the postmaster could not) will not.  A job such a worker left
 * "running" failed; the slot is freed.
 */
static void
reap_workers(bool tables_ready)
{
	TimestampTz now = GetCurrentTimestamp();

	for (int i = 0; i < tsf_jobs->nslots; i++)
	{
		TsfJobSlot	s;
		pid_t		pid;
		bool		ended;

		SpinLockAcquire(&tsf_jobs->mutex);
		s = tsf_jobs->slots[i];
		SpinLockRelease(&tsf_jobs->mutex);
		if (s.job_id == 0)
		{
			if (launched[i])
			{
				pfree(launched[i]);
				launched[i] = NULL;
			}
			continue;
		}
		ended = s.exited ||
			(launched[i] != NULL && GetBackgroundWorkerPid(launched[i], &pid) == BGWH_STOPPED) ||
			(launched[i] == NULL && s.pid == 0 &&
			 TimestampDifferenceExceeds(s.claimed_at, now, TSF_JOB_ATTACH_SECONDS * 1000));
		if (!ended)
			continue;
		if (tables_ready)
		{
			begin_xact("tsforecast launcher: reaping a job worker");
			if (tsf_job_fail(s.job_id, LOST_ERROR))
				jobs_ended(&s.job_id, 1, TSF_JOB_FAILED);
			end_xact();
		}
		free_slot(i, s.job_id);
		if (launched[i])
		{
			pfree(launched[i]);
			launched[i] = NULL;
		}
	}
}

static int
free_slot_index(void)
{
	int			found = -1;

	SpinLockAcquire(&tsf_jobs->mutex);
	for (int i = 0; i < tsf_jobs->nslots && found < 0; i++)
		if (tsf_jobs->slots[i].job_id == 0 && launched[i] == NULL)
			found = i;
	SpinLockRelease(&tsf_jobs->mutex);
	return found;
}

/*
 * Claim the oldest queued job into slot i and start its worker.  A job
 * whose row train_async did not sign fails instead, and is never run.
 * Returns false when there is nothing more to start now (no queued job,
 * or no background worker slot: the job goes back to the queue).
 */
static bool
start_next_job(int i)
{
	TsfJobRow	j;
	TsfJobSlot *s = &tsf_jobs->slots[i];
	uint32		generation;
	BackgroundWorker w;
	BackgroundWorkerHandle *handle;
	MemoryContext old;

	begin_xact("tsforecast launcher: claiming a job");
	if (!tsf_job_claim(&j))
	{
		end_xact();
		return false;
	}
	if (!tsf_job_signature_ok(&j))
	{
		ereport(WARNING,
				(errmsg("tsforecast job " INT64_FORMAT " was not submitted by train_async on this server", j.id),
				 errdetail("Its row's signature does not match: it was written or changed by hand, restored from a dump, queued before 0.5.0, or the server's key (tsforecast_job.key) changed. It fails without running.")));
		tsf_job_fail(j.id, UNSIGNED_ERROR);
		jobs_ended(&j.id, 1, TSF_JOB_FAILED);
		end_xact();
		return true;
	}

	/* the slot is filled before the claim commits: cancel_job finds it */
	SpinLockAcquire(&tsf_jobs->mutex);
	generation = s->generation + 1;
	memset(s, 0, sizeof(TsfJobSlot));
	s->generation = generation;
	s->job_id = j.id;
	s->owner = j.owner;
	s->launcher_pid = MyProcPid;
	s->claimed_at = GetCurrentTimestamp();
	s->series_total = -1;
	s->loss = NAN;
	s->val_loss = NAN;
	SpinLockRelease(&tsf_jobs->mutex);
	end_xact();

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "tsforecast");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "tsf_job_worker_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "tsforecast job " INT64_FORMAT, j.id);
	snprintf(w.bgw_type, BGW_MAXLEN, "tsforecast job");
	w.bgw_main_arg = Int32GetDatum(i);
	memcpy(w.bgw_extra, &j.id, sizeof(j.id));
	memcpy(w.bgw_extra + sizeof(j.id), &generation, sizeof(generation));
	w.bgw_notify_pid = MyProcPid;

	old = MemoryContextSwitchTo(TopMemoryContext);
	if (!RegisterDynamicBackgroundWorker(&w, &handle))
	{
		MemoryContextSwitchTo(old);
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start a worker for tsforecast job " INT64_FORMAT, j.id),
				 errhint("Raise max_worker_processes: the job stays queued until a background worker slot is free.")));
		begin_xact("tsforecast launcher: requeueing a job");
		tsf_job_requeue(j.id);
		end_xact();
		free_slot(i, j.id);
		return false;
	}
	MemoryContextSwitchTo(old);
	launched[i] = handle;
	return true;
}

void
tsf_launcher_main(Datum arg)
{
	bool		started = true;
	MemoryContext loopcxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();

	if (tsf_jobs == NULL)
		elog(FATAL, "tsforecast shared memory is not set up");
	launched = MemoryContextAllocZero(TopMemoryContext,
									  sizeof(BackgroundWorkerHandle *) * tsf_jobs->nslots);

	BackgroundWorkerInitializeConnection(tsf_jobs_database, NULL, 0);
	pgstat_report_appname("tsforecast launcher");

	SpinLockAcquire(&tsf_jobs->mutex);
	tsf_jobs->launcher_pid = MyProcPid;
	tsf_jobs->launcher_latch = MyLatch;
	tsf_jobs->dboid = MyDatabaseId;
	SpinLockRelease(&tsf_jobs->mutex);
	before_shmem_exit(launcher_detach, (Datum) 0);
	ereport(LOG,
			(errmsg("tsforecast launcher started in database \"%s\" with %d job workers",
					tsf_jobs_database, tsf_jobs->nslots)));

	/* every pass allocates afresh: its memory goes with the pass */
	loopcxt = AllocSetContextCreate(TopMemoryContext, "tsforecast launcher pass",
									ALLOCSET_DEFAULT_SIZES);
	while (!ShutdownRequestPending)
	{
		bool		ready;

		MemoryContextReset(loopcxt);
		MemoryContextSwitchTo(loopcxt);
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		ready = jobs_tables_ready();
		reap_workers(ready);
		if (ready)
		{
			int			i;

			/*
			 * running without a slot: at start, left by a restart or crash of
			 * the server (its slots were lost with its shared memory); later,
			 * a worker that was never started, or a restored row
			 */
			fail_orphans(started ? RESTART_ERROR : LOST_ERROR);
			started = false;
			while ((i = free_slot_index()) >= 0 && start_next_job(i))
				;
		}
		else
			started = true;		/* the extension was dropped: start afresh */

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 tsf_jobs_naptime, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}

	/*
	 * Exit 1, not 0: a background worker that exits 0 is unregistered,
	 * while this one should come back 5 s after a pg_terminate_backend (at
	 * shutdown the postmaster restarts nothing anyway).
	 */
	proc_exit(1);
}

/* ---- a job worker ---- */

static int	my_slot = -1;
static int64 my_job = 0;
static uint32 my_generation = 0;

/* whether slot my_slot is still this worker's (under the mutex) */
static bool
slot_is_mine(void)
{
	TsfJobSlot *s = &tsf_jobs->slots[my_slot];

	return s->job_id == my_job && s->generation == my_generation;
}

/* at exit, even after a FATAL: the launcher reaps the slot */
static void
job_detach(int code, Datum arg)
{
	SpinLockAcquire(&tsf_jobs->mutex);
	if (slot_is_mine())
		tsf_jobs->slots[my_slot].exited = true;
	SpinLockRelease(&tsf_jobs->mutex);
}

/* the cancel asked for by cancel_job(), as an error the job's PG_TRY catches */
static void
check_cancel(void)
{
	bool		cancel;

	SpinLockAcquire(&tsf_jobs->mutex);
	cancel = tsf_jobs->slots[my_slot].cancel;
	SpinLockRelease(&tsf_jobs->mutex);
	if (cancel)
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("job " INT64_FORMAT " was cancelled", my_job)));
	CHECK_FOR_INTERRUPTS();
}

static void
set_series_progress(int done, int total)
{
	SpinLockAcquire(&tsf_jobs->mutex);
	tsf_jobs->slots[my_slot].series_done = done;
	tsf_jobs->slots[my_slot].series_total = total;
	SpinLockRelease(&tsf_jobs->mutex);
}

/*
 * The model's one-step-ahead accuracy on the series (its points sorted by
 * training): from the kind's first scored step on (its validation part,
 * when it held one out; else all of the training data); r2, rmse and mae
 * on the original scale, summed by metrics.c as the metric aggregates over
 * predict() would, and the kind's own keys (an LSTM's losses).
 */
Jsonb *
tsf_job_series_metrics(const TsfModel *m, const TsfSeriesState *st)
{
	int64		n = st->n;
	int64		from = m->kind->scored_from(m);
	int64	   *k;
	double	   *y;
	bool	   *ynull;
	double	   *pred;
	bool	   *pnull;
	TsfMetrics	acc;
	TsfJson		js = NULL;

	/* the series' points, and these arrays beside them */
	tsf_check_memory((sizeof(TsfPoint) + 3 * sizeof(double) + 2 * sizeof(bool)) * (double) n,
					 TSF_MEM_JOB, psprintf("Scoring a series of " INT64_FORMAT " points.", n));
	k = palloc_extended(sizeof(int64) * n, MCXT_ALLOC_HUGE);
	y = palloc_extended(sizeof(double) * n, MCXT_ALLOC_HUGE);
	ynull = palloc_extended(sizeof(bool) * n, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	pred = palloc_extended(sizeof(double) * n, MCXT_ALLOC_HUGE);
	pnull = palloc_extended(sizeof(bool) * n, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < n; i++)
	{
		if (!tsf_freq_index(m->ts_type, &m->freq, m->first_ts, st->pts[i].ts, &k[i]))
			elog(ERROR, "training point off the model's time grid");
		y[i] = tsf_apply_transform(m->transform, st->pts[i].value);
		ynull[i] = !isfinite(y[i]);
	}
	m->kind->predict(m, n, k, y, ynull, st->ncov > 0 ? st->cov : NULL, pred, pnull);

	tsf_metrics_init(&acc);
	for (int64 i = 0; i < n; i++)
		if (!pnull[i] && k[i] >= from)
			tsf_metrics_add(&acc, st->pts[i].value, pred[i]);

	tsf_json_begin_object(&js);
	tsf_json_kv_str(&js, "on", from > 0 ? "validation" : "training");
	tsf_json_kv_int(&js, "n", tsf_metrics_count(&acc));
	tsf_json_kv_num(&js, "r2", tsf_metrics_r2(&acc));
	tsf_json_kv_num(&js, "rmse", tsf_metrics_rmse(&acc));
	tsf_json_kv_num(&js, "mae", tsf_metrics_mae(&acc));
	m->kind->job_metrics(&js, m);
	return tsf_json_finish(&js);
}

/* where the job trains, set by begin_job: the GPU's module or NULL */
static int	job_device = TSF_DEVICE_CPU;
static const tsfc_api *job_api = NULL;

/* the job's row, read once by begin_job, in a context that outlives it */
static TsfJobRow job;

/*
 * The job's first transaction (the worker started it): read its row, which
 * must still be running, be this slot's role's, and carry train_async's
 * signature; resolve the device, record it in the row (the GPU's name, or
 * "cpu") and commit, then start the training's transaction.  A job with
 * device "cuda" where no GPU is usable fails here, with the reason in the
 * server log.  A spec without "device" (a job queued before 0.4.0) uses
 * tsforecast.device.
 */
static void
begin_job(MemoryContext keep, Oid slot_owner)
{
	Jsonb	   *opts;
	const TsfKind *kind;
	const char *name = NULL;
	MemoryContext old;
	bool		found;

	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	old = MemoryContextSwitchTo(keep);
	found = tsf_job_read(my_job, &job);
	MemoryContextSwitchTo(old);
	if (!found || strcmp(job.state, TSF_JOB_RUNNING) != 0)
		elog(ERROR, "tsforecast job " INT64_FORMAT " is not running", my_job);
	if (job.owner != slot_owner || !tsf_job_signature_ok(&job))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg(UNSIGNED_ERROR)));
	kind = tsf_job_parse_spec(job.spec, &opts, &job_device);
	if (job_device < 0)
		job_device = tsf_device;
	job_api = NULL;
	if (kind->gpu)
		job_api = tsf_cuda_resolve(job_device, PG_INT32_MAX, TSF_CUDA_AUTO_MIN_SERIES, &name);
	if (job_api == NULL)
		job_device = TSF_DEVICE_CPU;
	tsf_job_set_device(my_job, job_api ? name : "cpu");
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
}

/* a job's training, as its hooks see it (TsfTrainHooks.arg) */
typedef struct JobTraining
{
	const TsfJobRow *j;
	const TsfKind *kind;
	TsfJobSeries *series;
	int			nseries;
	int			current;		/* the series errors are about; -1: none */
	int			done;			/* series stored */
} JobTraining;

/* every epoch: progress into the slot; a cancel_job stops the training */
static bool
job_epoch(void *arg, int epoch, int epochs, double loss, double val_loss)
{
	TsfJobSlot *s = &tsf_jobs->slots[my_slot];
	bool		cancel;

	SpinLockAcquire(&tsf_jobs->mutex);
	s->epoch = epoch;
	s->epochs = epochs;
	s->loss = loss;
	s->val_loss = val_loss;
	cancel = s->cancel;
	SpinLockRelease(&tsf_jobs->mutex);
	return cancel;
}

/* the training stopped for a cancel: raise it */
static void
job_stopped(void *arg)
{
	check_cancel();
}

/* series i is next: the error context, the activity, a cancel check */
static void
job_series(void *arg, int i)
{
	JobTraining *t = (JobTraining *) arg;

	t->current = i;
	if (i % 16 == 0 || t->nseries < 100)
		pgstat_report_activity(STATE_RUNNING,
							   psprintf("tsforecast job " INT64_FORMAT " (%s): series %d of %d (%d done)",
										my_job, t->j->name, i + 1, t->nseries, t->done));
	check_cancel();
}

/*
 * Insert series i's model with its metrics (NULL: score it on the series'
 * points now) and its provenance
 */
static void
store_model(JobTraining *t, int i, bytea *model, Jsonb *metrics)
{
	TsfJobSeries *s = &t->series[i];
	TsfModel	m;
	TsfModelRow r;

	t->current = i;
	tsf_model_deserialize(VARDATA_ANY(model), VARSIZE_ANY_EXHDR(model), &m,
						  ERRCODE_INTERNAL_ERROR);
	r.name = t->j->name;
	r.series_key = s->key;
	r.model = model;
	r.metrics = metrics ? metrics : tsf_job_series_metrics(&m, s->st);
	r.spec = t->j->spec;
	r.has_seed = m.kind->seed(&m, &r.seed);
	r.data_from = tsf_ts_to_cstring(m.ts_type, m.first_ts);
	r.data_to = tsf_ts_to_cstring(m.ts_type, m.last_ts);
	r.n_rows = s->rows;
	r.job_id = my_job;
	r.owner = t->j->owner;
	tsf_models_insert(&r);
	tsf_model_free(&m);
}

/*
 * Series i's model, trained by this process: score it, insert it, and
 * free the series' points
 */
static void
job_done(void *arg, int i, bytea *model)
{
	JobTraining *t = (JobTraining *) arg;
	TsfJobSeries *s = &t->series[i];

	store_model(t, i, model, NULL);

	/* the points are trained on: free them */
	if (s->st->pts)
		pfree(s->st->pts);
	if (s->st->cov)
		pfree(s->st->cov);
	s->st->pts = NULL;
	s->st->cov = NULL;
	set_series_progress(++t->done, t->nseries);
}

/* the series being trained, for the error context */
static void
series_error_context(void *arg)
{
	JobTraining *t = (JobTraining *) arg;
	const char *key;

	if (t->current < 0)
		return;
	key = t->series[t->current].key;
	if (key)
		errcontext("training series \"%s\" (%d) of tsforecast job " INT64_FORMAT,
				   key, t->current + 1, my_job);
	else
		errcontext("training series %d of tsforecast job " INT64_FORMAT,
				   t->current + 1, my_job);
}

/*
 * Train (or backtest: settings not NULL) the job's series in nprocs
 * processes (job_parallel.c), into pj: each series' model and metrics, or
 * its backtest rows, in series order, once every process is done
 */
static void
parallel_job(JobTraining *t, int nprocs, Jsonb *settings, Oid rowtype,
			 TsfParallelJob *pj)
{
	memset(pj, 0, sizeof(*pj));
	pj->job_id = my_job;
	pj->slot = my_slot;
	pj->generation = my_generation;
	pj->kind = t->kind;
	pj->series = t->series;
	pj->nseries = t->nseries;
	pj->nprocs = nprocs;
	pj->spec = t->j->spec;
	pj->settings = settings;
	pj->rowtype = rowtype;
	pj->epoch = job_epoch;
	pj->check_cancel = check_cancel;
	pj->progress = set_series_progress;
	tsf_job_train_parallel(pj);
	pgstat_report_activity(STATE_RUNNING,
						   psprintf("tsforecast job " INT64_FORMAT " (%s): storing the results of %d series (from %d processes)",
									my_job, t->j->name, t->nseries, pj->launched + 1));
}

/*
 * A backtest job (backtest_async): backtest() of each series in turn, its
 * rows inserted as they come; the jobs view's epoch and epochs count the
 * current series' origins.  On the CPU in several processes (as a
 * training's), the rows are inserted once all are done.  Its rows replace
 * those of earlier jobs of the same owner and name, all in the job's one
 * transaction.
 */
static void
backtest_job(JobTraining *t, Jsonb *settings)
{
	Oid			nsp = get_namespace_oid("tsforecast", false);
	Oid			rowtype = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
										  CStringGetDatum("backtest_row"),
										  ObjectIdGetDatum(nsp));
	TsfTrainHooks hooks = {0};
	ErrorContextCallback errcb;
	int			nprocs;

	if (!OidIsValid(rowtype))
		elog(ERROR, "type tsforecast.backtest_row does not exist");
	tsf_backtests_replace(t->j->owner, t->j->name);
	nprocs = job_api == NULL ? tsf_job_processes(t->j->spec, t->nseries) : 1;
	if (nprocs > 1)
	{
		TsfParallelJob pj;

		parallel_job(t, nprocs, settings, rowtype, &pj);
		for (int i = 0; i < t->nseries; i++)
		{
			if (i % 64 == 0)
				check_cancel();
			tsf_backtests_insert(t->j->name, t->series[i].key, (ArrayType *) pj.models[i],
								 my_job, t->j->owner);
			pfree(pj.models[i]);
		}
		return;
	}
	hooks.epoch = job_epoch;
	hooks.stopped = job_stopped;
	hooks.arg = t;
	errcb.callback = series_error_context;
	errcb.arg = t;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	for (int i = 0; i < t->nseries; i++)
	{
		TsfJobSeries *s = &t->series[i];
		ArrayType  *rows;

		job_series(t, i);
		rows = tsf_backtest_series(s->st, t->j->spec, settings, rowtype, &hooks);
		tsf_backtests_insert(t->j->name, s->key, rows, my_job, t->j->owner);
		pfree(rows);
		if (s->st->pts)
			pfree(s->st->pts);
		s->st->pts = NULL;
		set_series_progress(++t->done, t->nseries);
	}
	error_context_stack = errcb.previous;
}

/*
 * The job's one transaction (already started): read the source as the
 * owner, train every series through the kind (kind.c: one series after
 * another on the CPU, batches on the GPU), insert every model.  Any error
 * escapes to the caller's PG_TRY.
 */
static void
train_job(void)
{
	const TsfJobRow *j = &job;
	Jsonb	   *opts;
	TsfJobSource src;
	char	   *sql;
	int			device;
	JobTraining t;
	TsfSeriesState **states;
	TsfTrainHooks hooks;
	MemoryContext jobcxt,
				spicxt;
	ErrorContextCallback errcb;
	Jsonb	   *settings;
	int			nprocs;

	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	spicxt = CurrentMemoryContext;
	jobcxt = AllocSetContextCreate(TopTransactionContext, "tsforecast job",
								   ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(jobcxt);
	check_cancel();
	pgstat_report_activity(STATE_RUNNING,
						   psprintf("tsforecast job " INT64_FORMAT " (%s): reading the source", my_job, j->name));

	/* the query runs as the owner, with the search_path it was submitted with */
	(void) set_config_option("search_path", j->search_path, PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SET, true, 0, false);
	memset(&t, 0, sizeof(t));
	t.j = j;
	t.current = -1;
	t.kind = tsf_job_parse_spec(j->spec, &opts, &device);
	sql = tsf_job_source_sql(j->source, &src);
	/* a source distributed by its series key trains on the Citus workers */
	if (!tsf_job_spec_backtest(j->spec, &settings) &&
		tsf_job_citus_train(&(TsfCitusJob) {j, my_job, t.kind, opts, &src, job_api != NULL,
											check_cancel, set_series_progress}))
	{
		MemoryContextSwitchTo(spicxt);
		SPI_finish();
		PopActiveSnapshot();
		return;
	}
	t.series = tsf_job_read_series(sql, &src, opts, t.kind->check_options(opts),
								   jobcxt, check_cancel, &t.nseries);
	if (t.nseries == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the source query returned no rows")));
	set_series_progress(0, t.nseries);

	if (tsf_job_spec_backtest(j->spec, &settings))
	{
		backtest_job(&t, settings);
		MemoryContextSwitchTo(spicxt);
		SPI_finish();
		PopActiveSnapshot();
		return;
	}

	/* one job of a name at a time gets here; the next sees its models */
	tsf_models_replace(j->owner, j->name);

	/* on the CPU, in several processes: the models come back, then are stored */
	nprocs = job_api == NULL ? tsf_job_processes(j->spec, t.nseries) : 1;
	if (nprocs > 1)
	{
		TsfParallelJob pj;

		parallel_job(&t, nprocs, NULL, InvalidOid, &pj);
		errcb.callback = series_error_context;
		errcb.arg = &t;
		errcb.previous = error_context_stack;
		error_context_stack = &errcb;
		for (int i = 0; i < t.nseries; i++)
		{
			if (i % 64 == 0)
				check_cancel();
			store_model(&t, i, pj.models[i], pj.metrics[i]);
			pfree(pj.models[i]);
			pfree(pj.metrics[i]);
		}
		t.current = -1;
		error_context_stack = errcb.previous;
		MemoryContextSwitchTo(spicxt);
		SPI_finish();
		PopActiveSnapshot();
		return;
	}

	states = palloc(sizeof(TsfSeriesState *) * t.nseries);
	for (int i = 0; i < t.nseries; i++)
		states[i] = t.series[i].st;
	hooks.epoch = job_epoch;
	hooks.stopped = job_stopped;
	hooks.series = job_series;
	hooks.done = job_done;
	hooks.arg = &t;
	errcb.callback = series_error_context;
	errcb.arg = &t;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	tsf_kind_train(t.kind, states, t.nseries, job_device, job_api, &hooks);
	error_context_stack = errcb.previous;

	MemoryContextSwitchTo(spicxt);
	SPI_finish();
	PopActiveSnapshot();
}

/* the job's outcome, in its own transaction, then the NOTIFY */
static void
record_outcome(const char *state, const char *error)
{
	TsfJobSlot	s;

	SpinLockAcquire(&tsf_jobs->mutex);
	s = tsf_jobs->slots[my_slot];
	SpinLockRelease(&tsf_jobs->mutex);

	begin_xact(psprintf("tsforecast job " INT64_FORMAT ": recording the outcome", my_job));
	if (tsf_job_finish(my_job, state, error, &s))
		tsf_job_notify(my_job, state);
	end_xact();
}

void
tsf_job_worker_main(Datum arg)
{
	Oid			dboid;
	Oid			owner;
	MemoryContext keep;
	TimestampTz started;
	const char *volatile state = TSF_JOB_SUCCEEDED;
	char	   *volatile error = NULL;

	my_slot = DatumGetInt32(arg);
	memcpy(&my_job, MyBgworkerEntry->bgw_extra, sizeof(my_job));
	memcpy(&my_generation, MyBgworkerEntry->bgw_extra + sizeof(my_job), sizeof(my_generation));
	if (tsf_jobs == NULL || my_slot < 0 || my_slot >= tsf_jobs->nslots)
		elog(FATAL, "tsforecast job worker started without its slot");

	/* SIGTERM (shutdown) through CHECK_FOR_INTERRUPTS, not at once */
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/*
	 * A slot that is no longer this worker's (its launcher died before it
	 * started, and another reaped the slot) is left alone: the job, if it
	 * was claimed, has been failed
	 */
	SpinLockAcquire(&tsf_jobs->mutex);
	if (!slot_is_mine())
	{
		SpinLockRelease(&tsf_jobs->mutex);
		ereport(LOG,
				(errmsg("tsforecast job " INT64_FORMAT " lost its slot before its worker started", my_job)));
		proc_exit(0);
	}
	tsf_jobs->slots[my_slot].pid = MyProcPid;
	owner = tsf_jobs->slots[my_slot].owner;
	dboid = tsf_jobs->dboid;
	SpinLockRelease(&tsf_jobs->mutex);
	before_shmem_exit(job_detach, (Datum) 0);

	BackgroundWorkerInitializeConnectionByOid(dboid, owner, 0);
	pgstat_report_appname(psprintf("tsforecast job " INT64_FORMAT, my_job));
	keep = AllocSetContextCreate(TopMemoryContext, "tsforecast job outcome",
								 ALLOCSET_SMALL_SIZES);

	started = GetCurrentTimestamp();
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		begin_job(keep, owner);
		/* the submitting session's statement_timeout, from the job's start */
		if (job.statement_timeout > 0)
			enable_timeout_at(STATEMENT_TIMEOUT,
							  TimestampTzPlusMilliseconds(started, job.statement_timeout));
		train_job();
		CommitTransactionCommand();
		/* a cancel that comes now is too late: the models are in */
		HOLD_CANCEL_INTERRUPTS();
		disable_timeout(STATEMENT_TIMEOUT, false);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		bool		cancel;

		/*
		 * From here on a cancel (cancel_job's SIGINT may arrive after its
		 * flag stopped the job) must not interrupt the recording, and even
		 * the LOG below checks for interrupts
		 */
		HOLD_CANCEL_INTERRUPTS();
		disable_timeout(STATEMENT_TIMEOUT, false);
		MemoryContextSwitchTo(keep);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();

		SpinLockAcquire(&tsf_jobs->mutex);
		cancel = tsf_jobs->slots[my_slot].cancel;
		SpinLockRelease(&tsf_jobs->mutex);

		/*
		 * cancel_job, or a pg_cancel_backend of the worker: cancelled; the
		 * job's statement_timeout running out is a failure, saying so
		 */
		if (cancel || (edata->sqlerrcode == ERRCODE_QUERY_CANCELED &&
					   !(job.statement_timeout > 0 &&
						 TimestampDifferenceExceeds(started, GetCurrentTimestamp(),
													job.statement_timeout))))
			state = TSF_JOB_CANCELLED;
		else
		{
			state = TSF_JOB_FAILED;
			error = edata->message;
		}
		ereport(LOG,
				(errmsg("tsforecast job " INT64_FORMAT " %s: %s", my_job, state, edata->message),
				 edata->context ? errcontext("%s", edata->context) : 0));
	}
	PG_END_TRY();

	/* the outcome is recorded as it is, whatever cancel comes now */
	QueryCancelPending = false;
	record_outcome(state, error);
	RESUME_CANCEL_INTERRUPTS();
	proc_exit(0);
}

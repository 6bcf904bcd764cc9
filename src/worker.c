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
 * One job is one worker process: on the CPU its series are trained one
 * after another on one core, and up to tsforecast.max_workers jobs run at
 * once.  An LSTM job whose device (the spec's "device", else
 * tsforecast.device) resolves to the GPU prepares all its series, groups
 * those of one network configuration, and trains each group as one batch
 * through the CUDA module (cuda_loader.c), at most JOB_BATCH_MAX_SERIES
 * series or a quarter of tsforecast.max_memory (at most 1 GB) of batch
 * arrays at a time; every series is then finished, scored and inserted as
 * on the CPU.  The device is resolved, and written into the job's row, in a
 * short transaction of its own before the training one, so the jobs view
 * shows it while the job runs.
 */
#include "tsforecast.h"

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

/*
 * A job's batches on the GPU: at most this many series, and at most this
 * many bytes of the float arrays handed to the module (inputs, targets,
 * parameters); the module's own GPU memory is about as large again plus
 * its activations.  The prepared series of a batch take about as much
 * host memory as its arrays.
 */
#define JOB_BATCH_MAX_SERIES	10000
#define JOB_BATCH_MAX_BYTES		Min(1024.0 * 1024 * 1024, tsf_max_memory_bytes() / 4)

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

/* lstm_train's epoch hook: progress into the slot, then the cancel check */
static void
job_epoch_hook(int epoch, int epochs, double loss, double val_loss)
{
	TsfJobSlot *s = &tsf_jobs->slots[my_slot];

	SpinLockAcquire(&tsf_jobs->mutex);
	s->epoch = epoch;
	s->epochs = epochs;
	s->loss = loss;
	s->val_loss = val_loss;
	SpinLockRelease(&tsf_jobs->mutex);
	check_cancel();
}

static void
set_series_progress(int done, int total)
{
	SpinLockAcquire(&tsf_jobs->mutex);
	tsf_jobs->slots[my_slot].series_done = done;
	tsf_jobs->slots[my_slot].series_total = total;
	SpinLockRelease(&tsf_jobs->mutex);
}

/* one series of a job, collected from the source */
typedef struct JobSeries
{
	char	   *key;			/* NULL: no key column, or a NULL key */
	int64		rows;			/* rows read, NULL values included */
	TsfSeriesState *st;
} JobSeries;

/*
 * Read the source into series (in cxt), one per key.  The rows arrive
 * ordered by key, so a series ends when the key changes.
 */
static JobSeries *
read_series(const char *sql, const TsfJobSource *src, Jsonb *opts, int fill,
			MemoryContext cxt, int *nseries)
{
	Portal		portal;
	JobSeries  *series = NULL;
	int			n = 0,
				cap = 0;
	int64		rows = 0;
	double		held = 0;		/* bytes of every series' points */
	int64		last_cap = 0;	/* of the current series' points */

	portal = SPI_cursor_open_with_args(NULL, sql, 0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 10000);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	t = SPI_tuptable->vals[r];
			TupleDesc	d = SPI_tuptable->tupdesc;
			int			c = 1;
			bool		knull = true,
						tnull,
						vnull;
			char	   *key = NULL;
			Datum		ts,
						v;
			double	   *cov = NULL;
			int			ncov = 0;
			JobSeries  *s;

			if (src->has_key)
			{
				Datum		kd = SPI_getbinval(t, d, c++, &knull);

				if (!knull)
					key = TextDatumGetCString(kd);
			}
			ts = SPI_getbinval(t, d, c++, &tnull);
			v = SPI_getbinval(t, d, c++, &vnull);
			if (src->has_cov)
			{
				bool		cnull;
				Datum		cd = SPI_getbinval(t, d, c++, &cnull);

				if (cnull)
					ereport(ERROR,
							(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
							 errmsg("null covariates in time series")));
				cov = tsf_read_covariates(DatumGetArrayTypeP(cd), &ncov);
			}
			if (tnull)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("null timestamp in time series")));

			/* a new series when the key changes (or on the first row) */
			s = n > 0 ? &series[n - 1] : NULL;
			if (s == NULL || (s->key == NULL) != knull ||
				(key != NULL && strcmp(key, s->key) != 0))
			{
				MemoryContext old = MemoryContextSwitchTo(cxt);

				if (n == cap)
				{
					cap = Max(16, cap * 2);
					series = series ? repalloc_huge(series, sizeof(JobSeries) * cap) :
						palloc(sizeof(JobSeries) * cap);
				}
				s = &series[n++];
				s->key = key ? pstrdup(key) : NULL;
				s->rows = 0;
				s->st = tsf_series_new(cxt, src->ts_type);
				s->st->fill = fill;
				s->st->options = opts;
				MemoryContextSwitchTo(old);
			}
			if (s->st->n == 0)
				last_cap = 0;
			tsf_series_add(s->st, tsf_ts_from_datum(src->ts_type, ts), v, vnull,
						   src->has_cov, cov, ncov);
			s->rows++;
			/* the job holds every series at once: all of them count */
			if (s->st->cap != last_cap)
			{
				held += (double) (s->st->cap - last_cap) *
					(sizeof(TsfPoint) + sizeof(double) * Max(s->st->ncov, 0));
				last_cap = s->st->cap;
				tsf_check_memory(held, TSF_MEM_JOB,
								 psprintf("Its first %d series hold " INT64_FORMAT " rows.", n, rows + 1));
			}
			if (key)
				pfree(key);
			if ((++rows & 1023) == 0)
				check_cancel();
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	*nseries = n;
	return series;
}

static void
json_number(StringInfo b, const char *key, double v)
{
	if (isfinite(v))
		appendStringInfo(b, ", \"%s\": %.17g", key, v);
	else
		appendStringInfo(b, ", \"%s\": null", key);
}

/*
 * The model's one-step-ahead accuracy on the series (its points sorted by
 * training): over the validation part when the model held one out, else
 * over the training data; r2, rmse and mae on the original scale, as the
 * metric aggregates over predict() would give.
 */
static char *
series_metrics(TsfModel *m, TsfSeriesState *st)
{
	int64		n = st->n;
	int64	   *k;
	double	   *y;
	bool	   *ynull;
	double	   *pred;
	bool	   *pnull;
	bool		val = m->kind == TSF_KIND_LSTM && m->validation > 0;
	int64		cnt = 0;
	double		sum = 0,
				sse = 0,
				sae = 0,
				sst = 0,
				mean;
	StringInfoData b;

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
	tsf_predict_rows(m, n, k, y, ynull, st->ncov > 0 ? st->cov : NULL, pred, pnull);
	for (int pass = 0; pass < 2; pass++)
	{
		mean = cnt > 0 ? sum / cnt : 0;
		for (int64 i = 0; i < n; i++)
		{
			double		a = st->pts[i].value;

			if (pnull[i] || (val && k[i] < m->n_train))
				continue;
			if (pass == 0)
			{
				cnt++;
				sum += a;
			}
			else
			{
				sse += (a - pred[i]) * (a - pred[i]);
				sae += fabs(a - pred[i]);
				sst += (a - mean) * (a - mean);
			}
		}
	}
	initStringInfo(&b);
	appendStringInfo(&b, "{\"on\": \"%s\", \"n\": " INT64_FORMAT,
					 val ? "validation" : "training", cnt);
	json_number(&b, "r2", cnt > 0 && sst > 0 ? 1 - sse / sst : NAN);
	json_number(&b, "rmse", cnt > 0 ? sqrt(sse / cnt) : NAN);
	json_number(&b, "mae", cnt > 0 ? sae / cnt : NAN);
	if (m->kind == TSF_KIND_LSTM)
	{
		json_number(&b, "train_loss", m->train_loss);
		json_number(&b, "val_loss", m->val_loss);
	}
	appendStringInfoChar(&b, '}');
	return b.data;
}

/* insert a series' model with its metrics and provenance */
static void
insert_model(const TsfJobRow *j, JobSeries *s, bytea *model, TsfModel *m,
			 const char *metrics)
{
	TsfModelRow r;

	r.name = j->name;
	r.series_key = s->key;
	r.model = model;
	r.metrics = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(metrics)));
	r.spec = j->spec;
	r.has_seed = m->kind == TSF_KIND_LSTM;
	r.seed = (int32) m->seed;
	r.data_from = tsf_ts_to_cstring(m->ts_type, m->first_ts);
	r.data_to = tsf_ts_to_cstring(m->ts_type, m->last_ts);
	r.n_rows = s->rows;
	r.job_id = my_job;
	r.owner = j->owner;
	tsf_models_insert(&r);
}

/* the series being trained, for the error context */
static const char *current_key = NULL;
static int	current_series = 0;

static void
series_error_context(void *arg)
{
	if (current_key)
		errcontext("training series \"%s\" (%d) of tsforecast job " INT64_FORMAT,
				   current_key, current_series, my_job);
	else
		errcontext("training series %d of tsforecast job " INT64_FORMAT,
				   current_series, my_job);
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
	int			kind;
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
	if (kind == TSF_KIND_LSTM)
		job_api = tsf_cuda_resolve(job_device, PG_INT32_MAX, TSF_CUDA_AUTO_MIN_SERIES, &name);
	else
		job_device = TSF_DEVICE_CPU;
	tsf_job_set_device(my_job, job_api ? name : "cpu");
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
}

/*
 * Score a series' trained model, insert it, and free the series' points
 * (in the current memory context, which the caller resets).
 */
static void
store_model(const TsfJobRow *j, JobSeries *s, bytea *model)
{
	TsfModel	m;
	char	   *metrics;

	tsf_model_deserialize(VARDATA_ANY(model), VARSIZE_ANY_EXHDR(model), &m,
						  ERRCODE_INTERNAL_ERROR);
	metrics = series_metrics(&m, s->st);
	insert_model(j, s, model, &m, metrics);
	/* the points are trained on: free them */
	if (s->st->pts)
		pfree(s->st->pts);
	if (s->st->cov)
		pfree(s->st->cov);
	s->st->pts = NULL;
	s->st->cov = NULL;
}

/* prepared series of one network configuration, waiting for the GPU */
typedef struct JobBatch
{
	TsfLstmFit **fits;			/* (n) */
	int		   *idx;			/* (n) their indexes in the job's series */
	int			n;
	Size		bytes;			/* of the module's arrays */
} JobBatch;

/* the module's epoch callback: progress into the slot; never throws */
static bool
job_batch_epoch(void *arg, int epoch, int epochs, double loss, double val_loss)
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

/* the batch stopped for a cancel: raise it */
static void
job_batch_cancelled(void *arg)
{
	check_cancel();
}

static JobSeries *batch_series;

/* series b of the batch is the one an error is about */
static void
job_batch_series(void *arg, int b)
{
	JobBatch   *g = (JobBatch *) arg;

	current_key = batch_series[g->idx[b]].key;
	current_series = g->idx[b] + 1;
}

/*
 * Finish a trained series in the series context and store its model, then
 * free that context and count the series done
 */
static void
finish_series(const TsfJobRow *j, JobSeries *s, TsfLstmFit *f, int *done, int nseries,
			  MemoryContext jobcxt, MemoryContext seriescxt)
{
	MemoryContextSwitchTo(seriescxt);
	store_model(j, s, tsf_lstm_finish(f));
	MemoryContextSwitchTo(jobcxt);
	MemoryContextReset(seriescxt);
	set_series_progress(++(*done), nseries);
}

/* train batch g on the GPU (or, for a configuration it refuses, the CPU) */
static void
run_batch(const TsfJobRow *j, JobBatch *g, int *done, int nseries,
		  MemoryContext jobcxt, MemoryContext seriescxt)
{
	TsfBatchHooks hooks = {job_batch_epoch, job_batch_cancelled, job_batch_series, g};
	bool		on_gpu;

	if (g->n == 0)
		return;
	check_cancel();
	pgstat_report_activity(STATE_RUNNING,
						   psprintf("tsforecast job " INT64_FORMAT " (%s): training %d series on the GPU (%d of %d done)",
									my_job, j->name, g->n, *done, nseries));
	current_key = NULL;
	current_series = g->idx[0] + 1;
	on_gpu = tsf_lstm_train_batch(g->fits, g->n, job_api, job_device == TSF_DEVICE_AUTO, &hooks);
	for (int b = 0; b < g->n; b++)
	{
		JobSeries  *s = &batch_series[g->idx[b]];

		current_key = s->key;
		current_series = g->idx[b] + 1;
		MemoryContextSwitchTo(jobcxt);
		if (!on_gpu)
			tsf_lstm_train_cpu(g->fits[b]);
		finish_series(j, s, g->fits[b], done, nseries, jobcxt, seriescxt);
	}
	g->n = 0;
	g->bytes = 0;
}

/*
 * An LSTM job on the GPU: prepare every series, group them by network
 * configuration (a batch trains one), train each group as one batch when
 * it is full and at the end, and store every model as the CPU path does.
 * Under device "auto" a network the kernels do not take trains on the CPU.
 */
static void
train_on_gpu(const TsfJobRow *j, JobSeries *series, int nseries,
			 MemoryContext jobcxt, MemoryContext seriescxt)
{
	JobBatch   *groups = NULL;
	int			ngroups = 0;
	int			done = 0;

	batch_series = series;
	for (int i = 0; i < nseries; i++)
	{
		JobSeries  *s = &series[i];
		TsfLstmFit *f;
		JobBatch   *g = NULL;

		current_key = s->key;
		current_series = i + 1;
		check_cancel();
		if (i % 256 == 0)
			pgstat_report_activity(STATE_RUNNING,
								   psprintf("tsforecast job " INT64_FORMAT " (%s): preparing series %d of %d",
											my_job, j->name, i + 1, nseries));
		MemoryContextSwitchTo(jobcxt);
		f = tsf_lstm_prepare(s->st);
		if (job_device == TSF_DEVICE_AUTO && !tsf_lstm_cuda_supports(f))
		{
			tsf_lstm_train_cpu(f);
			finish_series(j, s, f, &done, nseries, jobcxt, seriescxt);
			continue;
		}
		for (int k = 0; k < ngroups && g == NULL; k++)
			if (groups[k].n > 0 ? tsf_lstm_same_batch(groups[k].fits[0], f) : false)
				g = &groups[k];
		for (int k = 0; k < ngroups && g == NULL; k++)
			if (groups[k].n == 0)
				g = &groups[k];
		if (g == NULL)
		{
			groups = groups ? repalloc(groups, sizeof(JobBatch) * (ngroups + 1)) :
				palloc(sizeof(JobBatch));
			g = &groups[ngroups++];
			g->fits = palloc(sizeof(TsfLstmFit *) * Min(nseries, JOB_BATCH_MAX_SERIES));
			g->idx = palloc(sizeof(int) * Min(nseries, JOB_BATCH_MAX_SERIES));
			g->n = 0;
			g->bytes = 0;
		}
		g->fits[g->n] = f;
		g->idx[g->n] = i;
		g->n++;
		g->bytes += tsf_lstm_batch_bytes(f);
		if (g->n >= JOB_BATCH_MAX_SERIES || g->bytes >= JOB_BATCH_MAX_BYTES)
			run_batch(j, g, &done, nseries, jobcxt, seriescxt);
	}
	for (int k = 0; k < ngroups; k++)
		run_batch(j, &groups[k], &done, nseries, jobcxt, seriescxt);
	MemoryContextSwitchTo(jobcxt);
}

/*
 * The job's one transaction (already started): read the source as the
 * owner, train every series, insert every model.  Any error escapes to the
 * caller's PG_TRY.
 */
static void
train_job(void)
{
	const TsfJobRow *j = &job;
	Jsonb	   *opts;
	int			kind;
	TsfJobSource src;
	char	   *sql;
	JobSeries  *series;
	int			nseries;
	int			device;
	MemoryContext jobcxt,
				seriescxt,
				spicxt;
	ErrorContextCallback errcb;

	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	spicxt = CurrentMemoryContext;
	jobcxt = AllocSetContextCreate(TopTransactionContext, "tsforecast job",
								   ALLOCSET_DEFAULT_SIZES);
	seriescxt = AllocSetContextCreate(jobcxt, "tsforecast job series",
									  ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(jobcxt);
	check_cancel();
	pgstat_report_activity(STATE_RUNNING,
						   psprintf("tsforecast job " INT64_FORMAT " (%s): reading the source", my_job, j->name));

	/* the query runs as the owner, with the search_path it was submitted with */
	(void) set_config_option("search_path", j->search_path, PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SET, true, 0, false);
	kind = tsf_job_parse_spec(j->spec, &opts, &device);
	sql = tsf_job_source_sql(j->source, &src);
	series = read_series(sql, &src, opts,
						 kind == TSF_KIND_AR ? tsf_ar_check_options(opts) : tsf_lstm_check_options(opts),
						 jobcxt, &nseries);
	if (nseries == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the source query returned no rows")));
	set_series_progress(0, nseries);

	/* one job of a name at a time gets here; the next sees its models */
	tsf_models_replace(j->owner, j->name);
	errcb.callback = series_error_context;
	errcb.arg = NULL;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	tsf_epoch_hook = job_epoch_hook;
	if (kind == TSF_KIND_LSTM && job_api != NULL)
		train_on_gpu(j, series, nseries, jobcxt, seriescxt);
	else
		for (int i = 0; i < nseries; i++)
		{
			JobSeries  *s = &series[i];

			current_key = s->key;
			current_series = i + 1;
			check_cancel();
			if (i % 16 == 0 || nseries < 100)
				pgstat_report_activity(STATE_RUNNING,
									   psprintf("tsforecast job " INT64_FORMAT " (%s): training series %d of %d",
												my_job, j->name, i + 1, nseries));
			MemoryContextSwitchTo(seriescxt);
			store_model(j, s, kind == TSF_KIND_AR ? tsf_ar_fit_state(s->st) :
						tsf_lstm_train_state(s->st, TSF_DEVICE_CPU));
			MemoryContextSwitchTo(jobcxt);
			MemoryContextReset(seriescxt);
			set_series_progress(i + 1, nseries);
		}
	tsf_epoch_hook = NULL;
	error_context_stack = errcb.previous;
	current_key = NULL;

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
		tsf_epoch_hook = NULL;
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

/*
 * worker.c
 *		The background workers of training jobs: the launcher, and one job
 *		worker per running job.
 *
 * The launcher (registered in _PG_init when tsforecast is in
 * shared_preload_libraries) connects to tsforecast.database as the
 * bootstrap superuser and loops:
 *	- the first time it finds the extension's tables, it marks the jobs
 *	  left "running" by a server restart or crash as failed (pg_cron's
 *	  MarkPendingRunsAsFailed); jobs whose worker still holds a slot (the
 *	  launcher alone restarted) are left alone;
 *	- it reaps the workers it started: a job still "running" after its
 *	  worker exited (a FATAL, e.g. its role lost LOGIN) is marked failed;
 *	- while a slot is free it claims the oldest queued job (FOR UPDATE SKIP
 *	  LOCKED, ORDER BY id), fills the slot and starts a dynamic background
 *	  worker for it;
 *	- it sleeps on its latch, set by train_async() at commit, by the
 *	  postmaster when one of its workers stops, or after tsforecast.naptime.
 * It restarts 5 s after an error, a crash or being terminated; a job
 * worker is never restarted.
 *
 * A job worker connects as the job's owner
 * (BackgroundWorkerInitializeConnectionByOid), so the source query runs
 * with that role's privileges and no more.  It reads the source, trains
 * every series and inserts their models in one transaction: a failure or
 * a cancel rolls all of it back.  The one PG_TRY (as timescaledb's
 * bgw/job.c) catches that error; the job's final state, error and progress
 * are then written in a second transaction, which also NOTIFYs
 * tsforecast_jobs.  Bookkeeping SQL runs as the job tables' owner
 * (tsf_as_jobs_owner); only the source query runs as the job's owner.
 *
 * One job is one worker process: on the CPU its series are trained one
 * after another on one core, and up to tsforecast.max_workers jobs run at
 * once.  An LSTM job whose device (the spec's "device", else
 * tsforecast.device) resolves to the GPU prepares all its series, groups
 * those of one network configuration, and trains each group as one batch
 * through the CUDA module (cuda_loader.c), at most JOB_BATCH_MAX_SERIES
 * series or JOB_BATCH_MAX_BYTES of batch arrays at a time; every series is
 * then finished, scored and inserted as on the CPU.  The device is
 * resolved, and written into the job's row, in a short transaction of its
 * own before the training one, so the jobs view shows it while the job
 * runs.
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

/*
 * A job's batches on the GPU: at most this many series, and at most this
 * many bytes of the float arrays handed to the module (inputs, targets,
 * parameters); the module's own GPU memory is about as large again plus
 * its activations.  The prepared series of a batch take about as much
 * host memory as its arrays.
 */
#define JOB_BATCH_MAX_SERIES	10000
#define JOB_BATCH_MAX_BYTES		((Size) 1024 * 1024 * 1024)

/* the error recorded for jobs that were running when the server stopped */
#define RESTART_ERROR	"server restarted while the job was running"
#define LOST_ERROR		"job worker exited before recording the outcome of the job; see the server log"

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

/* the workers this launcher started, by slot */
static BackgroundWorkerHandle **launched;
static int64 *launched_job;

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

/* whether this database has the job tables (the extension at 0.3.0 or later) */
static bool
jobs_tables_exist(void)
{
	bool		exist;

	begin_xact(NULL);
	exist = OidIsValid(get_namespace_oid("tsforecast", true)) &&
		OidIsValid(get_relname_relid("_jobs", get_namespace_oid("tsforecast", true)));
	end_xact();
	return exist;
}

/* run a job-ending UPDATE ... RETURNING id and NOTIFY each job it ended */
static uint64
end_jobs(const char *sql, int nargs, Oid *argtypes, Datum *values, const char *state)
{
	TsfAsOwner	as;
	int			ret;
	uint64		n;

	tsf_as_jobs_owner(&as);
	ret = SPI_execute_with_args(sql, nargs, argtypes, values, NULL, false, 0);
	if (ret != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not update jobs: %s", SPI_result_code_string(ret));
	tsf_end_as_jobs_owner(&as);
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
													 SPI_tuptable->tupdesc, 1, &isnull));

		tsf_job_notify(id, state);
		ereport(LOG,
				(errmsg("tsforecast job " INT64_FORMAT " marked %s", id, state)));
	}
	return n;
}

/*
 * At start: jobs left "running" by a server restart or crash failed.  Jobs
 * whose worker still holds a slot (only the launcher restarted) still run.
 */
static void
mark_pending_runs_failed(void)
{
	Datum	   *ids = palloc(sizeof(Datum) * (tsf_jobs->nslots + 1));
	int			n = 0;
	Oid			argtypes[1] = {INT8ARRAYOID};
	Datum		values[1];

	SpinLockAcquire(&tsf_jobs->mutex);
	for (int i = 0; i < tsf_jobs->nslots; i++)
		if (tsf_jobs->slots[i].job_id != 0)
			ids[n++] = Int64GetDatum(tsf_jobs->slots[i].job_id);
	SpinLockRelease(&tsf_jobs->mutex);

	begin_xact("tsforecast launcher: failing the jobs of a previous run");
	values[0] = PointerGetDatum(construct_array(ids, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	end_jobs("UPDATE tsforecast._jobs SET state = 'failed', finished_at = now(), "
			 "error = '" RESTART_ERROR "' "
			 "WHERE state = 'running' AND NOT id = ANY ($1) RETURNING id",
			 1, argtypes, values, TSF_JOB_FAILED);
	end_xact();
	pfree(ids);
}

static void
free_slot(int i, int64 job_id)
{
	SpinLockAcquire(&tsf_jobs->mutex);
	if (tsf_jobs->slots[i].job_id == job_id)
		memset(&tsf_jobs->slots[i], 0, sizeof(TsfJobSlot));
	SpinLockRelease(&tsf_jobs->mutex);
}

/* workers that stopped: a job they left "running" failed */
static void
reap_workers(void)
{
	for (int i = 0; i < tsf_jobs->nslots; i++)
	{
		pid_t		pid;
		int64		id = launched_job[i];
		Oid			argtypes[1] = {INT8OID};
		Datum		values[1] = {Int64GetDatum(id)};

		if (launched[i] == NULL ||
			GetBackgroundWorkerPid(launched[i], &pid) != BGWH_STOPPED)
			continue;
		begin_xact("tsforecast launcher: reaping a job worker");
		end_jobs("UPDATE tsforecast._jobs SET state = 'failed', finished_at = now(), "
				 "error = '" LOST_ERROR "' WHERE id = $1 AND state = 'running' RETURNING id",
				 1, argtypes, values, TSF_JOB_FAILED);
		end_xact();
		free_slot(i, id);
		pfree(launched[i]);
		launched[i] = NULL;
		launched_job[i] = 0;
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
 * Claim the oldest queued job into slot i and start its worker.  Returns
 * false when there is nothing to start (no queued job, or no background
 * worker slot: the job goes back to the queue).
 */
static bool
start_next_job(int i)
{
	TsfAsOwner	as;
	int			ret;
	bool		isnull;
	int64		id;
	Oid			owner;
	BackgroundWorker w;
	BackgroundWorkerHandle *handle;
	MemoryContext old;

	begin_xact("tsforecast launcher: claiming a job");
	tsf_as_jobs_owner(&as);
	ret = SPI_execute("UPDATE tsforecast._jobs SET state = 'running', started_at = now(), device = NULL "
					  "WHERE id = (SELECT id FROM tsforecast._jobs WHERE state = 'queued' "
					  "            ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) "
					  "RETURNING id, owner::oid", false, 0);
	if (ret != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not claim a job: %s", SPI_result_code_string(ret));
	tsf_end_as_jobs_owner(&as);
	if (SPI_processed == 0)
	{
		end_xact();
		return false;
	}
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));

	/* the slot is filled before the claim commits: cancel_job finds it */
	SpinLockAcquire(&tsf_jobs->mutex);
	memset(&tsf_jobs->slots[i], 0, sizeof(TsfJobSlot));
	tsf_jobs->slots[i].job_id = id;
	tsf_jobs->slots[i].owner = owner;
	tsf_jobs->slots[i].series_total = -1;
	tsf_jobs->slots[i].loss = NAN;
	tsf_jobs->slots[i].val_loss = NAN;
	SpinLockRelease(&tsf_jobs->mutex);
	end_xact();

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "tsforecast");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "tsf_job_worker_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "tsforecast job " INT64_FORMAT, id);
	snprintf(w.bgw_type, BGW_MAXLEN, "tsforecast job");
	w.bgw_main_arg = Int32GetDatum(i);
	memcpy(w.bgw_extra, &id, sizeof(id));
	w.bgw_notify_pid = MyProcPid;

	old = MemoryContextSwitchTo(TopMemoryContext);
	if (!RegisterDynamicBackgroundWorker(&w, &handle))
	{
		Oid			argtypes[1] = {INT8OID};
		Datum		values[1] = {Int64GetDatum(id)};

		MemoryContextSwitchTo(old);
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start a worker for tsforecast job " INT64_FORMAT, id),
				 errhint("Raise max_worker_processes: the job stays queued until a background worker slot is free.")));
		begin_xact("tsforecast launcher: requeueing a job");
		tsf_as_jobs_owner(&as);
		SPI_execute_with_args("UPDATE tsforecast._jobs SET state = 'queued', started_at = NULL, device = NULL "
							  "WHERE id = $1 AND state = 'running'",
							  1, argtypes, values, NULL, false, 0);
		tsf_end_as_jobs_owner(&as);
		end_xact();
		free_slot(i, id);
		return false;
	}
	MemoryContextSwitchTo(old);
	launched[i] = handle;
	launched_job[i] = id;
	return true;
}

void
tsf_launcher_main(Datum arg)
{
	bool		recovered = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();

	if (tsf_jobs == NULL)
		elog(FATAL, "tsforecast shared memory is not set up");
	launched = MemoryContextAllocZero(TopMemoryContext,
									  sizeof(BackgroundWorkerHandle *) * tsf_jobs->nslots);
	launched_job = MemoryContextAllocZero(TopMemoryContext, sizeof(int64) * tsf_jobs->nslots);

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

	while (!ShutdownRequestPending)
	{
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		reap_workers();
		if (jobs_tables_exist())
		{
			int			i;

			if (!recovered)
			{
				mark_pending_runs_failed();
				recovered = true;
			}
			while ((i = free_slot_index()) >= 0 && start_next_job(i))
				;
		}
		else
			recovered = false;	/* the extension was dropped: start afresh */

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

static void
job_detach(int code, Datum arg)
{
	free_slot(my_slot, my_job);
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

/* the job's row, as submitted */
typedef struct JobSpec
{
	char	   *name;
	char	   *source;
	Jsonb	   *spec;
	char	   *search_path;
	Oid			owner;
} JobSpec;

static void
read_job(JobSpec *j)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(my_job)};
	TsfAsOwner	as;
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;
	int			ret;

	tsf_as_jobs_owner(&as);
	ret = SPI_execute_with_args("SELECT name, source, spec, search_path, owner::oid "
								"FROM tsforecast._jobs WHERE id = $1",
								1, argtypes, values, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "tsforecast job " INT64_FORMAT " not found", my_job);
	tsf_end_as_jobs_owner(&as);
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	j->name = SPI_getvalue(t, d, 1);
	j->source = SPI_getvalue(t, d, 2);
	j->spec = DatumGetJsonbPCopy(SPI_getbinval(t, d, 3, &isnull));
	j->search_path = SPI_getvalue(t, d, 4);
	j->owner = DatumGetObjectId(SPI_getbinval(t, d, 5, &isnull));
}

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
			tsf_series_add(s->st, tsf_ts_from_datum(src->ts_type, ts), v, vnull,
						   src->has_cov, cov, ncov);
			s->rows++;
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
	int64	   *k = palloc(sizeof(int64) * n);
	double	   *y = palloc(sizeof(double) * n);
	bool	   *ynull = palloc0(sizeof(bool) * n);
	double	   *pred = palloc(sizeof(double) * n);
	bool	   *pnull = palloc(sizeof(bool) * n);
	bool		val = m->kind == TSF_KIND_LSTM && m->validation > 0;
	int64		cnt = 0;
	double		sum = 0,
				sse = 0,
				sae = 0,
				sst = 0,
				mean;
	StringInfoData b;

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

/* the models of earlier jobs of the same name and owner are replaced */
static void
replace_models_begin(const JobSpec *j)
{
	Oid			argtypes[2] = {OIDOID, TEXTOID};
	Datum		values[2] = {ObjectIdGetDatum(j->owner), CStringGetTextDatum(j->name)};
	TsfAsOwner	as;

	tsf_as_jobs_owner(&as);
	/* one job of a name at a time gets here; the next sees its models */
	SPI_execute_with_args("SELECT pg_advisory_xact_lock(hashtext($1::text || '/' || $2))",
						  2, argtypes, values, NULL, false, 0);
	SPI_execute_with_args("DELETE FROM tsforecast.models WHERE owner = $1 AND name = $2",
						  2, argtypes, values, NULL, false, 0);
	tsf_end_as_jobs_owner(&as);
}

static void
insert_model(const JobSpec *j, JobSeries *s, bytea *model, TsfModel *m,
			 const char *metrics)
{
	Oid			nsp = get_namespace_oid("tsforecast", false);
	Oid			tsmodel = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
										  CStringGetDatum("tsmodel"), ObjectIdGetDatum(nsp));
	Oid			argtypes[12] = {TEXTOID, TEXTOID, tsmodel, JSONBOID, JSONBOID, INT4OID,
	TEXTOID, TEXTOID, INT8OID, TEXTOID, INT8OID, OIDOID};
	Datum		values[12];
	char		nulls[13] = "            ";
	TsfAsOwner	as;
	int			ret;

	values[0] = CStringGetTextDatum(j->name);
	values[1] = s->key ? CStringGetTextDatum(s->key) : (Datum) 0;
	nulls[1] = s->key ? ' ' : 'n';
	values[2] = PointerGetDatum(model);
	values[3] = DirectFunctionCall1(jsonb_in, CStringGetDatum(metrics));
	values[4] = JsonbPGetDatum(j->spec);
	values[5] = Int32GetDatum((int32) m->seed);
	nulls[5] = m->kind == TSF_KIND_LSTM ? ' ' : 'n';
	values[6] = CStringGetTextDatum(tsf_ts_to_cstring(m->ts_type, m->first_ts));
	values[7] = CStringGetTextDatum(tsf_ts_to_cstring(m->ts_type, m->last_ts));
	values[8] = Int64GetDatum(s->rows);
	values[9] = CStringGetTextDatum(TSF_VERSION_STR);
	values[10] = Int64GetDatum(my_job);
	values[11] = ObjectIdGetDatum(j->owner);

	tsf_as_jobs_owner(&as);
	ret = SPI_execute_with_args("INSERT INTO tsforecast.models (name, series_key, model, metrics, spec, seed, "
								"data_from, data_to, n_rows, version, job_id, owner) "
								"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
								12, argtypes, values, nulls, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "could not insert a model: %s", SPI_result_code_string(ret));
	tsf_end_as_jobs_owner(&as);
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

/* where the job trains, set by resolve_job_device: the GPU's module or NULL */
static int	job_device = TSF_DEVICE_CPU;
static const tsfc_api *job_api = NULL;

/*
 * Resolve the job's device in the transaction the worker started, record
 * it in the job's row (the GPU's name, or "cpu") and commit, then start
 * the training's transaction.  A job with device "cuda" where no GPU is
 * usable fails here, with the reason in the server log.  A spec without
 * "device" (a job queued before 0.4.0) uses tsforecast.device.
 */
static void
resolve_job_device(void)
{
	JobSpec		j;
	Jsonb	   *opts;
	int			kind;
	const char *name = NULL;
	Oid			argtypes[2] = {INT8OID, TEXTOID};
	Datum		values[2];
	TsfAsOwner	as;

	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	read_job(&j);
	kind = tsf_job_parse_spec(j.spec, &opts, &job_device);
	if (job_device < 0)
		job_device = tsf_device;
	job_api = NULL;
	if (kind == TSF_KIND_LSTM)
		job_api = tsf_cuda_resolve(job_device, PG_INT32_MAX, TSF_CUDA_AUTO_MIN_SERIES, &name);
	else
		job_device = TSF_DEVICE_CPU;

	values[0] = Int64GetDatum(my_job);
	values[1] = CStringGetTextDatum(job_api ? name : "cpu");
	tsf_as_jobs_owner(&as);
	if (SPI_execute_with_args("UPDATE tsforecast._jobs SET device = $2 WHERE id = $1",
							  2, argtypes, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not record the device of job " INT64_FORMAT, my_job);
	tsf_end_as_jobs_owner(&as);
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
store_model(const JobSpec *j, JobSeries *s, bytea *model)
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
finish_series(const JobSpec *j, JobSeries *s, TsfLstmFit *f, int *done, int nseries,
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
run_batch(const JobSpec *j, JobBatch *g, int *done, int nseries,
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
train_on_gpu(const JobSpec *j, JobSeries *series, int nseries,
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
	JobSpec		j;
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
	read_job(&j);
	check_cancel();
	pgstat_report_activity(STATE_RUNNING,
						   psprintf("tsforecast job " INT64_FORMAT " (%s): reading the source", my_job, j.name));

	/* the query runs as the owner, with the search_path it was submitted with */
	(void) set_config_option("search_path", j.search_path, PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SET, true, 0, false);
	kind = tsf_job_parse_spec(j.spec, &opts, &device);
	sql = tsf_job_source_sql(j.source, &src);
	series = read_series(sql, &src, opts,
						 kind == TSF_KIND_AR ? tsf_ar_check_options(opts) : tsf_lstm_check_options(opts),
						 jobcxt, &nseries);
	if (nseries == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("the source query returned no rows")));
	set_series_progress(0, nseries);

	replace_models_begin(&j);
	errcb.callback = series_error_context;
	errcb.arg = NULL;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	tsf_epoch_hook = job_epoch_hook;
	if (kind == TSF_KIND_LSTM && job_api != NULL)
		train_on_gpu(&j, series, nseries, jobcxt, seriescxt);
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
												my_job, j.name, i + 1, nseries));
			MemoryContextSwitchTo(seriescxt);
			store_model(&j, s, kind == TSF_KIND_AR ? tsf_ar_fit_state(s->st) :
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
	Oid			argtypes[9] = {INT8OID, TEXTOID, TEXTOID, INT4OID, INT4OID, INT4OID,
	INT4OID, FLOAT8OID, FLOAT8OID};
	Datum		values[9];
	char		nulls[10] = "         ";
	TsfJobSlot	s;
	TsfAsOwner	as;
	int			ret;

	SpinLockAcquire(&tsf_jobs->mutex);
	s = tsf_jobs->slots[my_slot];
	SpinLockRelease(&tsf_jobs->mutex);

	values[0] = Int64GetDatum(my_job);
	values[1] = CStringGetTextDatum(state);
	values[2] = error ? CStringGetTextDatum(error) : (Datum) 0;
	nulls[2] = error ? ' ' : 'n';
	values[3] = Int32GetDatum(s.series_done);
	values[4] = Int32GetDatum(s.series_total);
	nulls[4] = s.series_total < 0 ? 'n' : ' ';
	values[5] = Int32GetDatum(s.epoch);
	values[6] = Int32GetDatum(s.epochs);
	nulls[5] = nulls[6] = s.epochs == 0 ? 'n' : ' ';
	values[7] = Float8GetDatum(s.loss);
	nulls[7] = isnan(s.loss) ? 'n' : ' ';
	values[8] = Float8GetDatum(s.val_loss);
	nulls[8] = isnan(s.val_loss) ? 'n' : ' ';

	begin_xact(psprintf("tsforecast job " INT64_FORMAT ": recording the outcome", my_job));
	tsf_as_jobs_owner(&as);
	ret = SPI_execute_with_args("UPDATE tsforecast._jobs SET state = $2, error = $3, finished_at = now(), "
								"series_done = $4, series_total = $5, epoch = $6, epochs = $7, "
								"loss = $8, val_loss = $9 WHERE id = $1 AND state = 'running'",
								9, argtypes, values, nulls, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "could not record the outcome of job " INT64_FORMAT ": %s",
			 my_job, SPI_result_code_string(ret));
	tsf_end_as_jobs_owner(&as);
	if (SPI_processed == 1)
		tsf_job_notify(my_job, state);
	end_xact();
}

void
tsf_job_worker_main(Datum arg)
{
	Oid			dboid;
	Oid			owner;
	MemoryContext keep;
	const char *volatile state = TSF_JOB_SUCCEEDED;
	char	   *volatile error = NULL;

	my_slot = DatumGetInt32(arg);
	memcpy(&my_job, MyBgworkerEntry->bgw_extra, sizeof(my_job));
	if (tsf_jobs == NULL || my_slot < 0 || my_slot >= tsf_jobs->nslots)
		elog(FATAL, "tsforecast job worker started without its slot");

	/* SIGTERM (shutdown) through CHECK_FOR_INTERRUPTS, not at once */
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	SpinLockAcquire(&tsf_jobs->mutex);
	if (tsf_jobs->slots[my_slot].job_id != my_job)
	{
		SpinLockRelease(&tsf_jobs->mutex);
		elog(FATAL, "tsforecast job " INT64_FORMAT " lost its slot", my_job);
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

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		resolve_job_device();
		train_job();
		CommitTransactionCommand();
		/* a cancel that comes now is too late: the models are in */
		HOLD_CANCEL_INTERRUPTS();
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
		tsf_epoch_hook = NULL;
		MemoryContextSwitchTo(keep);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();

		SpinLockAcquire(&tsf_jobs->mutex);
		cancel = tsf_jobs->slots[my_slot].cancel;
		SpinLockRelease(&tsf_jobs->mutex);
		if (cancel || edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
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
	free_slot(my_slot, my_job);
	proc_exit(0);
}

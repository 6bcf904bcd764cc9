/*
 * jobs.c
 *		Training jobs: train_async(), cancel_job(), wait_job(), the live
 *		progress read by the jobs view, the GUCs and the shared memory they
 *		share with the background workers (worker.c).
 *
 * A job is a row of tsforecast._jobs (queued, running, succeeded, failed,
 * cancelled).  train_async() validates the spec and the source query as
 * the caller, inserts the row and wakes the launcher when the submitting
 * transaction commits.  The launcher claims queued rows in id order and
 * starts one dynamic background worker per job, connected as the role
 * that submitted it; the worker trains every series of the source in one
 * transaction and records the outcome in a second one (worker.c).
 *
 * Live progress (series done, epoch, losses) is not written to the table
 * while the training transaction is open: each running job has a slot in
 * shared memory (TsfJobsShared), written by its worker after every epoch
 * and read by _job_progress(), which the jobs view joins.  cancel_job()
 * flags the slot (the worker checks it every epoch and every thousand rows
 * read) and interrupts the worker's query with SIGINT.
 *
 * The job tables belong to the extension's owner; other roles may read
 * their own rows (row-level security), but only the functions here write
 * them, as that owner (job_metadata.c), after checking the caller's rights
 * themselves.  train_async signs every row it writes, so that only its
 * rows are ever run (job_metadata.c).  A role sees and cancels its own jobs,
 * those of roles whose privileges it has, and, as a member of
 * pg_signal_backend, those of non-superusers (tsf_job_visible: the rule of
 * pg_cancel_backend).
 *
 * Everything here works without shared_preload_libraries except
 * train_async(), which then says the worker is not running.
 */
#include "postgres.h"

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "nodes/nodeFuncs.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/plancache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "device.h"
#include "job_citus.h"
#include "job_metadata.h"
#include "job_source.h"
#include "job_parallel.h"
#include "jobs.h"
#include "jsonbuild.h"
#include "backtest.h"
#include "kind.h"

PG_FUNCTION_INFO_V1(tsf_train_async);
PG_FUNCTION_INFO_V1(tsf_backtest_async);
PG_FUNCTION_INFO_V1(tsf_cancel_job);
PG_FUNCTION_INFO_V1(tsf_wait_job);
PG_FUNCTION_INFO_V1(tsf_job_progress);

TsfJobsShared *tsf_jobs = NULL;

char	   *tsf_jobs_database = NULL;
int			tsf_jobs_max_workers = 2;
int			tsf_jobs_naptime = 5000;

/* the longest job name */
#define MAX_JOB_NAME		200

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* a job was submitted in this transaction: wake the launcher at commit */
static bool wake_launcher_at_commit = false;

/* a job ended in this transaction: wake the wait_jobs at commit */
static bool broadcast_at_commit = false;
/* ... which the launcher and the workers do once the commit is over */
static bool broadcast_after_commit = false;

static Size
jobs_shmem_size(void)
{
	return add_size(offsetof(TsfJobsShared, slots),
					mul_size(sizeof(TsfJobSlot), tsf_jobs_max_workers));
}

static void
jobs_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(jobs_shmem_size());
}

/* the server's key that signs job rows, in its data directory */
#define JOB_KEY_FILE		"tsforecast_job.key"

/*
 * Read the job key into key, or make one: TSF_JOB_KEY_LEN random bytes,
 * written to a temporary file readable by the server's OS user alone,
 * flushed, then renamed into place, so that a crash leaves either no key
 * or the whole key.  A new key invalidates the signatures of jobs queued
 * under the old one: they fail, saying so, rather than run.  Runs in the
 * postmaster, whose working directory is the data directory.
 */
static void
load_job_key(uint8 *key)
{
	int			fd = open(JOB_KEY_FILE, O_RDONLY | PG_BINARY, 0);
	char		tmp[MAXPGPATH];

	if (fd >= 0)
	{
		ssize_t		got = read(fd, key, TSF_JOB_KEY_LEN);
		uint8		extra;
		bool		ok = got == TSF_JOB_KEY_LEN && read(fd, &extra, 1) == 0;

		close(fd);
		if (ok)
			return;
		ereport(WARNING,
				(errmsg("file \"%s\" is not a tsforecast job key: making a new one", JOB_KEY_FILE),
				 errdetail("Queued training jobs signed with the old key will fail.")));
	}
	else if (errno != ENOENT)
		ereport(FATAL,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", JOB_KEY_FILE)));

	if (!pg_strong_random(key, TSF_JOB_KEY_LEN))
		ereport(FATAL,
				(errmsg("could not generate a tsforecast job key")));
	snprintf(tmp, sizeof(tmp), "%s.tmp", JOB_KEY_FILE);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY, S_IRUSR | S_IWUSR);
	if (fd < 0 || write(fd, key, TSF_JOB_KEY_LEN) != TSF_JOB_KEY_LEN ||
		pg_fsync(fd) != 0 || close(fd) != 0)
		ereport(FATAL,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", tmp)));
	if (durable_rename(tmp, JOB_KEY_FILE, LOG) != 0)
		ereport(FATAL,
				(errcode_for_file_access(),
				 errmsg("could not rename file \"%s\" to \"%s\": %m", tmp, JOB_KEY_FILE)));
}

/* in the postmaster, at start and after every crash: all slots free */
static void
jobs_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	tsf_jobs = ShmemInitStruct("tsforecast jobs", jobs_shmem_size(), &found);
	if (!found)
	{
		memset(tsf_jobs, 0, jobs_shmem_size());
		SpinLockInit(&tsf_jobs->mutex);
		ConditionVariableInit(&tsf_jobs->ended);
		tsf_jobs->nslots = tsf_jobs_max_workers;
		load_job_key(tsf_jobs->key);
	}
	LWLockRelease(AddinShmemInitLock);
}

static void
wake_launcher(void)
{
	Latch	   *latch;

	if (tsf_jobs == NULL)
		return;
	SpinLockAcquire(&tsf_jobs->mutex);
	latch = tsf_jobs->launcher_latch;
	SpinLockRelease(&tsf_jobs->mutex);
	if (latch)
		SetLatch(latch);
}

static void
jobs_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (wake_launcher_at_commit)
				wake_launcher();
			/*
			 * A NOTIFY reaches its listeners after these callbacks
			 * (AtCommit_Notify), so a waiter woken now could return before
			 * its own session got the NOTIFY of the job's end: the
			 * launcher and the workers, which end most jobs, broadcast
			 * once the commit is over (tsf_jobs_after_commit); a session
			 * (cancel_job of a queued job) has no later hook, and
			 * broadcasts now.
			 */
			if (broadcast_at_commit && tsf_jobs != NULL)
			{
				if (IsBackgroundWorker)
					broadcast_after_commit = true;
				else
					ConditionVariableBroadcast(&tsf_jobs->ended);
			}
			wake_launcher_at_commit = false;
			broadcast_at_commit = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			wake_launcher_at_commit = false;
			broadcast_at_commit = false;
			break;
		default:
			break;
	}
}

/*
 * The launcher's and the workers' broadcast of a job's end, after the
 * transaction that ended it committed (and its NOTIFY went out)
 */
void
tsf_jobs_after_commit(void)
{
	if (broadcast_after_commit && tsf_jobs != NULL)
		ConditionVariableBroadcast(&tsf_jobs->ended);
	broadcast_after_commit = false;
}

/*
 * The jobs part of _PG_init: GUCs always; shared memory and the launcher
 * only when loaded through shared_preload_libraries.
 */
void
tsf_jobs_init(void)
{
	BackgroundWorker bgw;

	/*
	 * PostgreSQL allows PGC_POSTMASTER variables only at preload time.
	 * Loaded later there is no worker, and these two are defined as
	 * PGC_SIGHUP, only so that their lines in postgresql.conf are accepted
	 * silently under the reserved prefix.
	 */
	GucContext	postmaster = process_shared_preload_libraries_in_progress ?
		PGC_POSTMASTER : PGC_SIGHUP;

	DefineCustomStringVariable("tsforecast.database",
							   "Database in which the tsforecast background worker runs training jobs.",
							   NULL, &tsf_jobs_database, "postgres",
							   postmaster, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("tsforecast.max_workers",
							"Largest number of training jobs run at once, one worker process each.",
							"Each also takes one of max_worker_processes.",
							&tsf_jobs_max_workers, 2, 1, 64,
							postmaster, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("tsforecast.naptime",
							"Time between the launcher's checks for queued jobs.",
							"The launcher is also woken whenever a job is submitted or ends.",
							&tsf_jobs_naptime, 5000, 100, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("tsforecast.max_parallel_workers_per_job",
							"Most parallel workers one training job launches beside its own worker.",
							"A job's series train in up to this many parallel workers and the job's worker (the spec's \"parallel\", by default tsforecast.max_workers processes). They come from max_parallel_workers and max_worker_processes; 0 trains every job in its worker alone.",
							&tsf_job_max_parallel_workers, 8, 0, TSF_JOB_MAX_PARALLEL,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	RegisterXactCallback(jobs_xact_callback, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = jobs_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = jobs_shmem_startup;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = 5;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "tsforecast");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "tsf_launcher_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "tsforecast launcher");
	snprintf(bgw.bgw_type, BGW_MAXLEN, "tsforecast launcher");
	RegisterBackgroundWorker(&bgw);
}

/* ---- who may see and cancel a job ---- */

/*
 * Whether the current user may see and cancel the jobs of owner: it has
 * the owner's privileges, or it is a member of pg_signal_backend and the
 * owner is not a superuser (pg_cancel_backend's rule).
 */
bool
tsf_job_visible(Oid owner)
{
	Oid			me = GetUserId();

	if (has_privs_of_role(me, owner))
		return true;
	return has_privs_of_role(me, ROLE_PG_SIGNAL_BACKEND) && !superuser_arg(owner);
}

/* ---- train_async ---- */

static void
null_argument(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg("%s must not be null", what)));
}

/*
 * The spec's "parallel": how many processes train the job's series on the
 * CPU, its worker included (job_parallel.c), an integer from 1 to
 * TSF_JOB_MAX_PARALLEL; -1 where the spec has none
 */
int
tsf_job_spec_parallel(Jsonb *spec)
{
	JsonbValue	v;
	char	   *shown;
	double		d = NAN;

	if (!JB_ROOT_IS_OBJECT(spec) || JB_ROOT_IS_SCALAR(spec) ||
		getKeyJsonValueFromContainer(&spec->root, "parallel", 8, &v) == NULL)
		return -1;
	if (v.type == jbvNumeric)
		d = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
											   NumericGetDatum(v.val.numeric)));
	if (!(d >= 1 && d <= TSF_JOB_MAX_PARALLEL && d == floor(d)))
	{
		shown = v.type == jbvNumeric ?
			DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric))) :
			"(not a number)";
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for \"parallel\" in spec: %s", shown),
				 errdetail("Value must be an integer from 1 to %d: the processes that train the job's series, its worker included.",
						   TSF_JOB_MAX_PARALLEL)));
	}
	return (int) d;
}

/*
 * Check a job spec, {"kind": <a kind's name>, "device": "auto"|"cpu"|"cuda",
 * "parallel": n, options...}: the kind, the device and "parallel", then the
 * rest as that kind's options (the errors of its training aggregate).
 * Returns the kind and, in *opts, the spec without "kind", "device",
 * "parallel" and "backtest" (the settings
 * backtest_async adds: tsf_job_spec_backtest); *device is the TsfDevice
 * given, or -1 where the spec has none.
 */
const TsfKind *
tsf_job_parse_spec(Jsonb *spec, Jsonb **opts, int *device)
{
	JsonbValue	v;
	char	   *name;
	const TsfKind *kind;

	if (!JB_ROOT_IS_OBJECT(spec) || JB_ROOT_IS_SCALAR(spec))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("spec must be a jsonb object"),
				 errhint("For example: '{\"kind\": \"lstm\", \"epochs\": 200}'.")));
	if (getKeyJsonValueFromContainer(&spec->root, "kind", 4, &v) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("spec has no \"kind\""),
				 errhint("Set \"kind\" to one of %s; the other keys are that kind's options.",
						 tsf_kind_names())));
	name = v.type == jbvString ? pnstrdup(v.val.string.val, v.val.string.len) : NULL;
	kind = name ? tsf_kind_by_name(name) : NULL;
	if (kind == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for \"kind\" in spec: %s",
						name ? name : "(not a string)"),
				 errdetail("Value must be one of %s.", tsf_kind_names())));

	*device = -1;
	if (getKeyJsonValueFromContainer(&spec->root, "device", 6, &v) != NULL)
	{
		char	   *d = v.type == jbvString ? pnstrdup(v.val.string.val, v.val.string.len) : NULL;

		*device = d ? tsf_device_from_name(d) : -1;
		if (*device < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid value for \"device\" in spec: %s",
							d ? d : "(not a string)"),
					 errdetail("Value must be \"auto\", \"cpu\" or \"cuda\".")));
		if (!kind->gpu && *device == TSF_DEVICE_CUDA)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("kind \"%s\" cannot train on the GPU", kind->name),
					 errdetail("Kind \"%s\" has no CUDA backend: it trains on the CPU.", kind->name),
					 errhint("Set \"device\" to \"auto\" or \"cpu\", or leave it out.")));
	}

	*opts = DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(spec),
											   CStringGetTextDatum("kind")));
	*opts = DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(*opts),
											   CStringGetTextDatum("device")));
	*opts = DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(*opts),
											   CStringGetTextDatum("backtest")));
	(void) tsf_job_spec_parallel(spec);
	*opts = DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(*opts),
											   CStringGetTextDatum("parallel")));
	(void) kind->check_options(*opts);
	return kind;
}

/*
 * Whether a job's spec is a backtest's (backtest_async puts its settings
 * under "backtest"); if so *settings are they
 */
bool
tsf_job_spec_backtest(Jsonb *spec, Jsonb **settings)
{
	*settings = tsf_jsonb_key(spec, "backtest");
	return *settings != NULL;
}

/* a spec given by a caller must not carry what backtest_async adds */
void
tsf_spec_refuse_backtest_key(Jsonb *spec)
{
	if (JB_ROOT_IS_OBJECT(spec) && !JB_ROOT_IS_SCALAR(spec) &&
		getKeyJsonValueFromContainer(&spec->root, "backtest", 8, &(JsonbValue) {0}) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unrecognized key \"backtest\" in spec"),
				 errhint("Backtest settings are backtest()'s or backtest_async()'s own argument.")));
}

/* the worker must run, and serve this database */
static void
check_worker_serves_here(void)
{
	char	   *here;

	if (tsf_jobs == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tsforecast background worker is not running"),
				 errdetail("Jobs are run by a background worker, which starts only when the server loads tsforecast at start-up."),
				 errhint("Add tsforecast to shared_preload_libraries in postgresql.conf and restart the server.")));
	here = get_database_name(MyDatabaseId);
	if (here == NULL || strcmp(here, tsf_jobs_database) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tsforecast background worker is not running in database \"%s\"",
						here ? here : "?"),
				 errdetail("It runs jobs in database \"%s\", set by tsforecast.database.",
						   tsf_jobs_database),
				 errhint("Submit jobs in that database, or set tsforecast.database and restart the server.")));
}

/* a job's worker connects as its owner, which must be allowed to log in */
static void
check_owner_can_log_in(Oid owner)
{
	HeapTuple	tp = SearchSysCache1(AUTHOID, ObjectIdGetDatum(owner));
	bool		canlogin;

	if (!HeapTupleIsValid(tp))
		elog(ERROR, "cache lookup failed for role %u", owner);
	canlogin = ((Form_pg_authid) GETSTRUCT(tp))->rolcanlogin;
	ReleaseSysCache(tp);
	if (!canlogin)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" cannot run jobs", GetUserNameFromId(owner, false)),
				 errdetail("A job's worker connects as the role that submits it, and role \"%s\" is not permitted to log in.",
						   GetUserNameFromId(owner, false)),
				 errhint("Submit the job as a role with LOGIN.")));
}

/*
 * Queue a job of name over source for spec (a training's, or a backtest's
 * with its settings under "backtest") and return its id.  Everything that
 * can be checked now is, as the caller: the name, the spec's options, the
 * source's shape (parsed, not run).  An LSTM spec without "device" gets
 * the session's tsforecast.device, so the job trains where the session
 * would and its provenance says so.
 */
static int64
submit_job(FunctionCallInfo fcinfo, Jsonb *spec)
{
	Jsonb	   *opts;
	const TsfKind *kind;
	int			device;
	TsfJobSource src;
	TsfJobRow	j;
	Jsonb	   *settings;

	memset(&j, 0, sizeof(j));
	j.name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	j.source = tsf_job_trim_source(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	j.spec = spec;
	j.owner = GetUserId();
	j.search_path = pstrdup(GetConfigOption("search_path", false, false));
	/* the job runs under the statement_timeout this session has now */
	j.statement_timeout = StatementTimeout;

	if (j.name[0] == '\0' || strlen(j.name) > MAX_JOB_NAME)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid job name: \"%s\"", j.name),
				 errdetail("A job name must have 1 to %d characters.", MAX_JOB_NAME)));
	kind = tsf_job_parse_spec(j.spec, &opts, &device);
	/* a GPU kind's job trains where the session would: its device goes in the spec */
	if (kind->gpu && device < 0)
	{
		TsfJson		js = NULL;

		tsf_json_begin_object(&js);
		tsf_json_kv_str(&js, "device", tsf_device_names[tsf_device]);
		j.spec = DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(j.spec),
													JsonbPGetDatum(tsf_json_finish(&js))));
	}
	if (j.source[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source query must not be empty")));

	SPI_connect();
	(void) tsf_job_source_sql(j.source, &src);
	tsf_job_citus_notice(j.source, src.has_key, tsf_job_spec_backtest(j.spec, &settings));
	check_worker_serves_here();
	check_owner_can_log_in(j.owner);
	j.id = tsf_job_next_id();
	tsf_job_submit(&j);
	SPI_finish();

	wake_launcher_at_commit = true;
	return j.id;
}

/* train_async(name, source, spec) -> bigint: queue a training job */
Datum
tsf_train_async(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		null_argument("job name");
	if (PG_ARGISNULL(1))
		null_argument("source query");
	if (PG_ARGISNULL(2))
		null_argument("spec");
	tsf_spec_refuse_backtest_key(PG_GETARG_JSONB_P(2));
	PG_RETURN_INT64(submit_job(fcinfo, PG_GETARG_JSONB_P(2)));
}

/*
 * backtest_async(name, source, spec, settings) -> bigint: queue a backtest
 * job, its settings in the job's spec under "backtest" (so the row's
 * signature covers them too)
 */
Datum
tsf_backtest_async(PG_FUNCTION_ARGS)
{
	Jsonb	   *spec;
	Jsonb	   *settings;

	if (PG_ARGISNULL(0))
		null_argument("job name");
	if (PG_ARGISNULL(1))
		null_argument("source query");
	if (PG_ARGISNULL(2))
		null_argument("spec");
	if (PG_ARGISNULL(3))
		null_argument("settings");
	spec = PG_GETARG_JSONB_P(2);
	settings = PG_GETARG_JSONB_P(3);
	tsf_spec_refuse_backtest_key(spec);
	tsf_backtest_check_settings(settings);
	(void) tsf_job_parse_spec(spec, &(Jsonb *) {NULL}, &(int) {0});
	spec = tsf_jsonb_with_key(spec, "backtest", settings);
	PG_RETURN_INT64(submit_job(fcinfo, spec));
}

/* ---- looking jobs up ---- */

/* look the job up for the current user: it must exist and be theirs to see */
static void
job_lookup_checked(int64 id, TsfJobRow *row, const char *action)
{
	if (!tsf_job_read(id, row))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("job " INT64_FORMAT " does not exist", id)));
	if (!tsf_job_visible(row->owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s job " INT64_FORMAT, action, id),
				 errdetail("Only roles with the privileges of role \"%s\", which submitted it, may %s it.",
						   GetUserNameFromId(row->owner, true) ? GetUserNameFromId(row->owner, true) : "?",
						   action)));
}

static bool
job_is_final(const char *state)
{
	return strcmp(state, TSF_JOB_SUCCEEDED) == 0 || strcmp(state, TSF_JOB_FAILED) == 0 ||
		strcmp(state, TSF_JOB_CANCELLED) == 0;
}

/*
 * A job ends in the current transaction: its NOTIFY on TSF_JOBS_CHANNEL,
 * and at commit the broadcast that wakes every wait_job
 */
void
tsf_job_notify(int64 id, const char *state)
{
	TsfJson		js = NULL;
	Jsonb	   *payload;

	tsf_json_begin_object(&js);
	tsf_json_kv_int(&js, "id", id);
	tsf_json_kv_str(&js, "state", state);
	payload = tsf_json_finish(&js);
	Async_Notify(TSF_JOBS_CHANNEL, JsonbToCString(NULL, &payload->root, VARSIZE(payload)));
	broadcast_at_commit = true;
}

/* move the job from state from to cancelled, announcing it; false if it was not in from */
static bool
job_set_cancelled(int64 id, const char *from)
{
	bool		done = tsf_job_cancel(id, from);

	if (done)
		tsf_job_notify(id, TSF_JOB_CANCELLED);
	return done;
}

/*
 * cancel_job(id) -> boolean: a queued job is cancelled at once (at this
 * transaction's commit); a running one is flagged, and its worker stops
 * within an epoch, rolls back and records "cancelled".  False if the job
 * had already ended.
 */
Datum
tsf_cancel_job(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);
	TsfJobRow	row;
	pid_t		pid = 0;
	bool		flagged = false;

	SPI_connect();
	job_lookup_checked(id, &row, "cancel");
	if (job_is_final(row.state))
	{
		SPI_finish();
		PG_RETURN_BOOL(false);
	}
	if (strcmp(row.state, TSF_JOB_QUEUED) == 0 && job_set_cancelled(id, TSF_JOB_QUEUED))
	{
		SPI_finish();
		PG_RETURN_BOOL(true);
	}

	/* running (or claimed since we looked): flag its slot */
	if (tsf_jobs)
	{
		SpinLockAcquire(&tsf_jobs->mutex);
		for (int i = 0; i < tsf_jobs->nslots; i++)
			if (tsf_jobs->slots[i].job_id == id && !tsf_jobs->slots[i].exited)
			{
				tsf_jobs->slots[i].cancel = true;
				pid = tsf_jobs->slots[i].pid;
				flagged = true;
			}
		SpinLockRelease(&tsf_jobs->mutex);
	}
	if (flagged)
	{
		/* interrupt the worker's query too; the flag covers the rest */
		if (pid != 0)
			(void) kill(pid, SIGINT);
		SPI_finish();
		PG_RETURN_BOOL(true);
	}

	/* "running" with no worker (the launcher will reap it): cancel here */
	flagged = job_set_cancelled(id, TSF_JOB_RUNNING);
	SPI_finish();
	PG_RETURN_BOOL(flagged);
}

/*
 * wait_job(id [, timeout]) -> text: wait until the job ends, or the
 * timeout passes, and return its state.  Every transaction that ends a
 * job broadcasts on the shared condition variable when it commits
 * (tsf_job_notify), and the row is read again then; and at least every
 * second, for a row deleted meanwhile (each read sees newly committed
 * states, so it needs READ COMMITTED).  Without the shared memory (no
 * shared_preload_libraries) no worker ends a job: it reads every 100 ms.
 */
Datum
tsf_wait_job(PG_FUNCTION_ARGS)
{
	int64		id;
	TimestampTz deadline = 0;
	bool		has_deadline = false;
	TsfJobRow	row;
	MemoryContext callercxt = CurrentMemoryContext;
	MemoryContext pollcxt,
				old;
	bool		found;
	char	   *state;

	if (PG_ARGISNULL(0))
		null_argument("job id");
	id = PG_GETARG_INT64(0);
	if (!PG_ARGISNULL(1))
	{
		Interval   *iv = PG_GETARG_INTERVAL_P(1);

		/* in double: an interval of a million years overflows int64 microseconds */
		double		us = (double) iv->time + (double) iv->day * USECS_PER_DAY +
			(double) iv->month * DAYS_PER_MONTH * USECS_PER_DAY;

		if (us < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("timeout must not be negative")));
		/* beyond a century is forever */
		deadline = GetCurrentTimestamp() +
			(int64) Min(us, 100.0 * 365 * USECS_PER_DAY);
		has_deadline = true;
	}
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("wait_job cannot be used in a REPEATABLE READ or SERIALIZABLE transaction"),
				 errdetail("Its snapshot would never show the job ending.")));

	SPI_connect();
	job_lookup_checked(id, &row, "wait for");
	/* every poll reads the row afresh: in a context reset each time */
	pollcxt = AllocSetContextCreate(CurrentMemoryContext, "wait_job poll",
									ALLOCSET_SMALL_SIZES);
	/* from here on a broadcast is not missed (an error cancels the sleep) */
	if (tsf_jobs != NULL)
		ConditionVariablePrepareToSleep(&tsf_jobs->ended);
	for (;;)
	{
		long		ms = tsf_jobs != NULL ? 1000 : 100;

		if (job_is_final(row.state))
			break;
		if (TransactionIdIsCurrentTransactionId(row.xmin))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
					 errmsg("job " INT64_FORMAT " was submitted or changed in this transaction", id),
					 errdetail("The worker sees the job only once this transaction commits."),
					 errhint("Commit first, then wait.")));
		if (has_deadline)
		{
			TimestampTz now = GetCurrentTimestamp();

			if (now >= deadline)
				break;
			ms = Min(ms, (long) ((deadline - now + 999) / 1000));
		}
		if (tsf_jobs != NULL)
			(void) ConditionVariableTimedSleep(&tsf_jobs->ended, ms, PG_WAIT_EXTENSION);
		else
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 ms, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(pollcxt);
		old = MemoryContextSwitchTo(pollcxt);
		found = tsf_job_read(id, &row);
		MemoryContextSwitchTo(old);
		if (!found)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("job " INT64_FORMAT " does not exist", id),
					 errdetail("It was deleted while waiting.")));
	}
	if (tsf_jobs != NULL)
		ConditionVariableCancelSleep();
	/* SPI's memory goes with SPI_finish: the result lives in the caller's */
	state = MemoryContextStrdup(callercxt, row.state);
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(state));
}

/*
 * _job_progress() -> (job_id, pid, series_done, series_total, epoch,
 * epochs, loss, val_loss, cancel_requested): the shared-memory slots of
 * the running jobs the current user may see.  No rows without the worker.
 */
Datum
tsf_job_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TsfJobSlot *copy;
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	if (tsf_jobs == NULL)
		return (Datum) 0;

	n = tsf_jobs->nslots;
	copy = palloc(sizeof(TsfJobSlot) * n);
	SpinLockAcquire(&tsf_jobs->mutex);
	memcpy(copy, tsf_jobs->slots, sizeof(TsfJobSlot) * n);
	SpinLockRelease(&tsf_jobs->mutex);

	for (int i = 0; i < n; i++)
	{
		TsfJobSlot *s = &copy[i];
		Datum		values[9];
		bool		nulls[9] = {0};

		/* an exited worker's slot waits for the launcher: its job has ended */
		if (s->job_id == 0 || s->exited || !tsf_job_visible(s->owner))
			continue;
		values[0] = Int64GetDatum(s->job_id);
		values[1] = Int32GetDatum(s->pid);
		nulls[1] = s->pid == 0;
		values[2] = Int32GetDatum(s->series_done);
		values[3] = Int32GetDatum(s->series_total);
		nulls[3] = s->series_total < 0;
		values[4] = Int32GetDatum(s->epoch);
		values[5] = Int32GetDatum(s->epochs);
		nulls[4] = nulls[5] = s->epochs == 0;
		values[6] = Float8GetDatum(s->loss);
		nulls[6] = isnan(s->loss);
		values[7] = Float8GetDatum(s->val_loss);
		nulls[7] = isnan(s->val_loss);
		values[8] = BoolGetDatum(s->cancel);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

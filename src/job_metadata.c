/*
 * job_metadata.c
 *		Everything the job functions (jobs.c) and the background workers
 *		(worker.c) read and write in the job tables, tsforecast._jobs and
 *		tsforecast.models: which objects are the extension's own, the one
 *		helper that runs their SQL as the tables' owner, and the signature
 *		that proves a job's row was written by train_async on this server.
 *
 * Trust only what the extension wrote.  The launcher connects to
 * tsforecast.database as the bootstrap superuser; anyone who can create a
 * schema there could make a table called tsforecast._jobs.  So before
 * anything is read, tsf_jobs_tables_check() confirms that the extension is
 * installed in the database, that both tables and the functions below are
 * members of it, and that the tables belong to the extension's owner.
 *
 * And the owner of the tables, a superuser restoring a dump, or anyone
 * else who writes rows by hand must not be able to make a job run as
 * another role: a row names the role its worker connects as.  train_async
 * signs each row it writes with HMAC-SHA256 under a key only the server
 * knows (a file in its data directory, read into shared memory at start),
 * over everything a worker acts on: the job's id, database, owner, name,
 * source, spec, search_path and statement_timeout.  The launcher starts,
 * and a worker runs, only rows whose signature checks out.
 *
 * The SQL itself lives in the install script, as functions of the schema
 * (_job_claim, _job_finish, ...: the job's state machine, raced by the
 * isolation tests); this file calls them, always through tsf_job_spi().
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "common/hmac.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "job_metadata.h"
#include "tsforecast.h"

/* ---- the extension's own objects ---- */

/* pg_extension's row for extoid: its owner and schema */
static bool
extension_owner_and_schema(Oid extoid, Oid *owner, Oid *nsp)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(extoid));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		Form_pg_extension e = (Form_pg_extension) GETSTRUCT(tup);

		*owner = e->extowner;
		*nsp = e->extnamespace;
		found = true;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/* a relation of the extension's schema: a member, owned by the extension's owner */
static const char *
check_member_table(const char *name, Oid nsp, Oid extoid, Oid extowner)
{
	Oid			relid = get_relname_relid(name, nsp);
	HeapTuple	tp;
	Oid			relowner;

	if (!OidIsValid(relid))
		return psprintf("Table tsforecast.%s does not exist.", name);
	if (getExtensionOfObject(RelationRelationId, relid) != extoid)
		return psprintf("Table tsforecast.%s is not a member of the extension.", name);
	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tp))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	relowner = ((Form_pg_class) GETSTRUCT(tp))->relowner;
	ReleaseSysCache(tp);
	if (relowner != extowner)
		return psprintf("Table tsforecast.%s does not belong to the extension's owner.", name);
	return NULL;
}

/*
 * Whether this database holds the extension's job tables as its install
 * script made them: the extension installed, at 0.5.0 or later (its job
 * functions exist and are members), _jobs and models members of it and
 * owned by its owner.  On success *owner is that owner; otherwise *why
 * says what is wrong, as a sentence.
 */
bool
tsf_jobs_tables_check(Oid *owner, const char **why)
{
	Oid			extoid = get_extension_oid("tsforecast", true);
	Oid			extowner,
				nsp,
				fn;

	*why = NULL;
	if (!OidIsValid(extoid) || !extension_owner_and_schema(extoid, &extowner, &nsp))
	{
		*why = "The extension tsforecast is not installed in this database.";
		return false;
	}
	if ((*why = check_member_table("_jobs", nsp, extoid, extowner)) != NULL ||
		(*why = check_member_table("models", nsp, extoid, extowner)) != NULL)
		return false;
	fn = LookupFuncName(list_make2(makeString(get_namespace_name(nsp)), makeString("_job_claim")),
						0, NULL, true);
	if (!OidIsValid(fn) || getExtensionOfObject(ProcedureRelationId, fn) != extoid)
	{
		*why = "The extension's job functions are missing: it is older than this library.";
		return false;
	}
	*owner = extowner;
	return true;
}

/* the owner of the job tables, or the error saying why they are not usable */
Oid
tsf_jobs_table_owner(void)
{
	Oid			owner;
	const char *why;

	if (!tsf_jobs_tables_check(&owner, &why))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tsforecast job tables are not usable"),
				 errdetail("%s", why),
				 errhint("Update the extension: ALTER EXTENSION tsforecast UPDATE.")));
	return owner;
}

/* ---- the one way their SQL runs ---- */

/*
 * Run sql (a call of one of the job functions) through SPI as the owner of
 * the job tables, with search_path pinned to pg_catalog so that no object
 * of the caller's can stand in for ours; then switch back.  An error
 * undoes both with the (sub)transaction.  Returns SPI's result code, after
 * checking it is expected.  The caller's memory context is current again
 * afterwards (SPI leaves its own procedure's), so what the caller copies
 * out of the result lives where the caller wants it.
 */
int
tsf_job_spi(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls,
			bool read_only, int expected)
{
	Oid			owner = tsf_jobs_table_owner();
	MemoryContext cxt = CurrentMemoryContext;
	Oid			save_userid;
	int			save_sec;
	int			save_nestlevel;
	int			ret;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	ret = SPI_execute_with_args(sql, nargs, types, values, nulls, read_only, 0);
	MemoryContextSwitchTo(cxt);
	AtEOXact_GUC(false, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec);
	if (ret != expected)
		elog(ERROR, "could not run \"%s\": %s", sql, SPI_result_code_string(ret));
	return ret;
}

/* a boolean function's result, the first column of the first row */
static bool
spi_bool(void)
{
	bool		isnull;
	Datum		d;

	if (SPI_processed != 1)
		return false;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return !isnull && DatumGetBool(d);
}

/* ---- signatures ---- */

static void
hmac_field(pg_hmac_ctx *ctx, const void *data, uint32 len)
{
	uint8		l[4] = {len & 0xFF, (len >> 8) & 0xFF, (len >> 16) & 0xFF, len >> 24};

	if (pg_hmac_update(ctx, l, 4) < 0 ||
		(len > 0 && pg_hmac_update(ctx, (const uint8 *) data, len) < 0))
		elog(ERROR, "could not compute a job signature: %s", pg_hmac_error(ctx));
}

/*
 * The signature of a job's row: HMAC-SHA256 under the server's job key of
 * every field the job's worker acts on, each length-prefixed
 */
static bytea *
job_signature(const TsfJobRow *j, Oid dboid)
{
	pg_hmac_ctx *ctx;
	bytea	   *sig = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	uint8		fixed[20];

	if (tsf_jobs == NULL)
		elog(ERROR, "tsforecast shared memory is not set up");
	for (int i = 0; i < 8; i++)
		fixed[i] = (uint8) ((uint64) j->id >> (8 * i));
	for (int i = 0; i < 4; i++)
	{
		fixed[8 + i] = (uint8) (dboid >> (8 * i));
		fixed[12 + i] = (uint8) (j->owner >> (8 * i));
		fixed[16 + i] = (uint8) ((uint32) j->statement_timeout >> (8 * i));
	}
	ctx = pg_hmac_create(PG_SHA256);
	if (ctx == NULL || pg_hmac_init(ctx, tsf_jobs->key, TSF_JOB_KEY_LEN) < 0)
		elog(ERROR, "could not compute a job signature: %s", pg_hmac_error(ctx));
	hmac_field(ctx, "tsforecast job 1", 16);
	hmac_field(ctx, fixed, sizeof(fixed));
	hmac_field(ctx, j->name, strlen(j->name));
	hmac_field(ctx, j->source, strlen(j->source));
	hmac_field(ctx, VARDATA(j->spec), VARSIZE(j->spec) - VARHDRSZ);
	hmac_field(ctx, j->search_path, strlen(j->search_path));
	if (pg_hmac_final(ctx, (uint8 *) VARDATA(sig), PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not compute a job signature: %s", pg_hmac_error(ctx));
	pg_hmac_free(ctx);
	SET_VARSIZE(sig, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	return sig;
}

/* whether j's signature is train_async's for this database, on this server */
bool
tsf_job_signature_ok(const TsfJobRow *j)
{
	bytea	   *want;

	if (j->signature == NULL ||
		VARSIZE_ANY_EXHDR(j->signature) != PG_SHA256_DIGEST_LENGTH)
		return false;
	want = job_signature(j, MyDatabaseId);
	return timingsafe_bcmp(VARDATA(want), VARDATA_ANY(j->signature),
						   PG_SHA256_DIGEST_LENGTH) == 0;
}

/* ---- the job functions' calls ---- */

/* a TsfJobRow from the current row of a _job_row / _job_claim result */
static void
job_row_from_spi(HeapTuple t, TupleDesc d, TsfJobRow *j)
{
	bool		isnull;
	Datum		v;

	j->id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
	j->name = SPI_getvalue(t, d, 2);
	j->owner = DatumGetObjectId(SPI_getbinval(t, d, 3, &isnull));
	j->source = SPI_getvalue(t, d, 4);
	j->spec = DatumGetJsonbPCopy(SPI_getbinval(t, d, 5, &isnull));
	j->search_path = SPI_getvalue(t, d, 6);
	j->state = SPI_getvalue(t, d, 7);
	j->statement_timeout = DatumGetInt32(SPI_getbinval(t, d, 8, &isnull));
	v = SPI_getbinval(t, d, 9, &isnull);
	j->signature = isnull ? NULL : DatumGetByteaPCopy(v);
	j->xmin = DatumGetTransactionId(SPI_getbinval(t, d, 10, &isnull));
}

/* the next job id */
int64
tsf_job_next_id(void)
{
	bool		isnull;

	tsf_job_spi("SELECT tsforecast._job_next_id()", 0, NULL, NULL, NULL, false, SPI_OK_SELECT);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* queue job j (its id from tsf_job_next_id), signed */
void
tsf_job_submit(const TsfJobRow *j)
{
	Oid			types[8] = {INT8OID, TEXTOID, REGROLEOID, TEXTOID, JSONBOID, TEXTOID,
	INT4OID, BYTEAOID};
	Datum		values[8];

	values[0] = Int64GetDatum(j->id);
	values[1] = CStringGetTextDatum(j->name);
	values[2] = ObjectIdGetDatum(j->owner);
	values[3] = CStringGetTextDatum(j->source);
	values[4] = JsonbPGetDatum(j->spec);
	values[5] = CStringGetTextDatum(j->search_path);
	values[6] = Int32GetDatum(j->statement_timeout);
	values[7] = PointerGetDatum(job_signature(j, MyDatabaseId));
	tsf_job_spi("SELECT tsforecast._job_submit($1, $2, $3, $4, $5, $6, $7, $8)",
				8, types, values, NULL, false, SPI_OK_SELECT);
}

/* read job id into *j; false if there is no such job */
bool
tsf_job_read(int64 id, TsfJobRow *j)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(id)};
	bool		found;

	/* not read-only: each read takes a new snapshot, so wait_job sees the job end */
	tsf_job_spi("SELECT * FROM tsforecast._job_row($1)", 1, types, values, NULL, false,
				SPI_OK_SELECT);
	found = SPI_processed == 1;
	if (found)
		job_row_from_spi(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, j);
	/* wait_job reads every few milliseconds for hours: leave nothing behind */
	SPI_freetuptable(SPI_tuptable);
	return found;
}

/* claim the oldest queued job into *j; false if none is queued */
bool
tsf_job_claim(TsfJobRow *j)
{
	bool		found;

	tsf_job_spi("SELECT * FROM tsforecast._job_claim()", 0, NULL, NULL, NULL, false,
				SPI_OK_SELECT);
	found = SPI_processed == 1;
	if (found)
		job_row_from_spi(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, j);
	return found;
}

/* run one of the boolean job functions that take (id [, text]) */
static bool
job_call(const char *sql, int64 id, const char *arg)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2] = {Int64GetDatum(id), arg ? CStringGetTextDatum(arg) : (Datum) 0};
	char		nulls[2] = {' ', arg ? ' ' : 'n'};

	tsf_job_spi(sql, strchr(sql, '$') && strstr(sql, "$2") ? 2 : 1, types, values, nulls, false,
				SPI_OK_SELECT);
	return spi_bool();
}

bool
tsf_job_requeue(int64 id)
{
	return job_call("SELECT tsforecast._job_requeue($1)", id, NULL);
}

bool
tsf_job_set_device(int64 id, const char *device)
{
	return job_call("SELECT tsforecast._job_set_device($1, $2)", id, device);
}

bool
tsf_job_fail(int64 id, const char *error)
{
	return job_call("SELECT tsforecast._job_fail($1, $2)", id, error);
}

bool
tsf_job_cancel(int64 id, const char *from_state)
{
	return job_call("SELECT tsforecast._job_cancel($1, $2)", id, from_state);
}

/* a running job's outcome, as its worker records it; false if no longer running */
bool
tsf_job_finish(int64 id, const char *state, const char *error, const TsfJobSlot *s)
{
	Oid			types[9] = {INT8OID, TEXTOID, TEXTOID, INT4OID, INT4OID, INT4OID,
	INT4OID, FLOAT8OID, FLOAT8OID};
	Datum		values[9];
	char		nulls[9];

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(id);
	values[1] = CStringGetTextDatum(state);
	values[2] = error ? CStringGetTextDatum(error) : (Datum) 0;
	nulls[2] = error ? ' ' : 'n';
	values[3] = Int32GetDatum(s->series_done);
	values[4] = Int32GetDatum(s->series_total);
	nulls[4] = s->series_total < 0 ? 'n' : ' ';
	values[5] = Int32GetDatum(s->epoch);
	values[6] = Int32GetDatum(s->epochs);
	nulls[5] = nulls[6] = s->epochs == 0 ? 'n' : ' ';
	values[7] = Float8GetDatum(s->loss);
	nulls[7] = isnan(s->loss) ? 'n' : ' ';
	values[8] = Float8GetDatum(s->val_loss);
	nulls[8] = isnan(s->val_loss) ? 'n' : ' ';
	tsf_job_spi("SELECT tsforecast._job_finish($1, $2, $3, $4, $5, $6, $7, $8, $9)",
				9, types, values, nulls, false, SPI_OK_SELECT);
	return spi_bool();
}

/*
 * Fail the running jobs that no slot holds (keep: the job ids of the
 * slots); returns how many, their ids in (*ids)[]
 */
int
tsf_job_fail_orphans(const int64 *keep, int nkeep, const char *error, int64 **ids)
{
	Datum	   *k = palloc(sizeof(Datum) * (nkeep + 1));
	Oid			types[2] = {INT8ARRAYOID, TEXTOID};
	Datum		values[2];
	int			n;

	for (int i = 0; i < nkeep; i++)
		k[i] = Int64GetDatum(keep[i]);
	values[0] = PointerGetDatum(construct_array(k, nkeep, INT8OID, 8, FLOAT8PASSBYVAL,
												TYPALIGN_DOUBLE));
	values[1] = CStringGetTextDatum(error);
	tsf_job_spi("SELECT * FROM tsforecast._job_fail_orphans($1, $2)", 2, types, values,
				NULL, false, SPI_OK_SELECT);
	n = (int) SPI_processed;
	*ids = palloc(sizeof(int64) * (n + 1));
	for (int i = 0; i < n; i++)
	{
		bool		isnull;

		(*ids)[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
												1, &isnull));
	}
	return n;
}

/* the models of earlier jobs of the same owner and name are replaced */
void
tsf_models_replace(Oid owner, const char *name)
{
	Oid			types[2] = {REGROLEOID, TEXTOID};
	Datum		values[2] = {ObjectIdGetDatum(owner), CStringGetTextDatum(name)};

	tsf_job_spi("SELECT tsforecast._models_replace($1, $2)", 2, types, values, NULL, false,
				SPI_OK_SELECT);
}

/* insert one model of job job_id (its owner's, by name) */
void
tsf_models_insert(const TsfModelRow *r)
{
	Oid			nsp = get_namespace_oid("tsforecast", false);
	Oid			tsmodel = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
										  CStringGetDatum("tsmodel"), ObjectIdGetDatum(nsp));
	Oid			types[12] = {TEXTOID, TEXTOID, tsmodel, JSONBOID, JSONBOID, INT4OID,
	TEXTOID, TEXTOID, INT8OID, TEXTOID, INT8OID, REGROLEOID};
	Datum		values[12];
	char		nulls[12];

	memset(nulls, ' ', sizeof(nulls));
	values[0] = CStringGetTextDatum(r->name);
	values[1] = r->series_key ? CStringGetTextDatum(r->series_key) : (Datum) 0;
	nulls[1] = r->series_key ? ' ' : 'n';
	values[2] = PointerGetDatum(r->model);
	values[3] = JsonbPGetDatum(r->metrics);
	values[4] = JsonbPGetDatum(r->spec);
	values[5] = Int32GetDatum(r->seed);
	nulls[5] = r->has_seed ? ' ' : 'n';
	values[6] = CStringGetTextDatum(r->data_from);
	values[7] = CStringGetTextDatum(r->data_to);
	values[8] = Int64GetDatum(r->n_rows);
	values[9] = CStringGetTextDatum(TSF_VERSION_STR);
	values[10] = Int64GetDatum(r->job_id);
	values[11] = ObjectIdGetDatum(r->owner);
	tsf_job_spi("SELECT tsforecast._models_insert($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
				12, types, values, nulls, false, SPI_OK_SELECT);
}

/*
 * A backtest job's rows replace those of the same owner and name.  The
 * table must be the extension's own, as the job tables are (a library
 * newer than the installed extension says to update it).
 */
void
tsf_backtests_replace(Oid owner, const char *name)
{
	Oid			types[2] = {REGROLEOID, TEXTOID};
	Datum		values[2] = {ObjectIdGetDatum(owner), CStringGetTextDatum(name)};
	Oid			extoid = get_extension_oid("tsforecast", false);
	Oid			extowner,
				nsp;
	const char *why = NULL;

	if (!extension_owner_and_schema(extoid, &extowner, &nsp) ||
		(why = check_member_table("backtests", nsp, extoid, extowner)) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tsforecast backtest table is not usable"),
				 errdetail("%s", why ? why : "The extension's schema is missing."),
				 errhint("Update the extension: ALTER EXTENSION tsforecast UPDATE.")));
	tsf_job_spi("SELECT tsforecast._backtests_replace($1, $2)", 2, types, values, NULL, false,
				SPI_OK_SELECT);
}

/* insert one series' backtest rows (an array of backtest_row) of job job_id */
void
tsf_backtests_insert(const char *name, const char *series_key, ArrayType *rows,
					 int64 job_id, Oid owner)
{
	Oid			types[5] = {TEXTOID, TEXTOID, get_array_type(ARR_ELEMTYPE(rows)), INT8OID,
	REGROLEOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

	values[0] = CStringGetTextDatum(name);
	values[1] = series_key ? CStringGetTextDatum(series_key) : (Datum) 0;
	nulls[1] = series_key ? ' ' : 'n';
	values[2] = PointerGetDatum(rows);
	values[3] = Int64GetDatum(job_id);
	values[4] = ObjectIdGetDatum(owner);
	tsf_job_spi("SELECT tsforecast._backtests_insert($1, $2, $3, $4, $5)", 5, types, values,
				nulls, false, SPI_OK_SELECT);
}

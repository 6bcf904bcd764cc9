/*
 * job_source.c
 *		A job's source query: checked at submission (train_async, as the
 *		caller, parsed but not run) and rewritten into the query the job's
 *		worker runs, then read by the worker into one series per key.
 */
#include "postgres.h"

#include <ctype.h>

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/nodeFuncs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"

#include "guard.h"
#include "job_source.h"
#include "series.h"

/* the source text without trailing blanks and semicolons */
char *
tsf_job_trim_source(const char *source)
{
	char	   *s = pstrdup(source);
	int			n = strlen(s);

	while (n > 0 && (isspace((unsigned char) s[n - 1]) || s[n - 1] == ';'))
		s[--n] = '\0';
	return s;
}

static bool
is_number_type(Oid t)
{
	return t == FLOAT8OID || t == FLOAT4OID || t == NUMERICOID ||
		t == INT2OID || t == INT4OID || t == INT8OID;
}

static bool
is_number_array_type(Oid t)
{
	return t == FLOAT8ARRAYOID || t == FLOAT4ARRAYOID || t == NUMERICARRAYOID ||
		t == INT2ARRAYOID || t == INT4ARRAYOID || t == INT8ARRAYOID;
}

static void
bad_column(const char *what, Oid t, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("the %s column of the source query has type %s", what,
					format_type_be(t)),
			 errdetail("%s", detail)));
}

/*
 * Refuse, at submission, a source the job could only fail on later: one
 * that locks rows (FOR UPDATE, FOR SHARE) or modifies data (a WITH ...
 * DELETE), which the worker's read-only cursor refuses, or that reads a
 * temporary table, which the worker's session cannot see.  Walks every
 * query of the source: subqueries, CTEs and sublinks too.
 */
static bool
source_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;
		ListCell   *lc;

		if (q->rowMarks != NIL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("source must not lock rows"),
					 errdetail("A job reads its source through a read-only cursor."),
					 errhint("Remove FOR UPDATE or FOR SHARE from the source query.")));
		if (q->commandType != CMD_SELECT || q->hasModifyingCTE)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("source must not modify data"),
					 errdetail("A job reads its source through a read-only cursor."),
					 errhint("Move the INSERT, UPDATE or DELETE out of the source query.")));
		foreach(lc, q->rtable)
		{
			RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

			if (rte->rtekind == RTE_RELATION &&
				get_rel_persistence(rte->relid) == RELPERSISTENCE_TEMP)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("source reads temporary table \"%s\"", get_rel_name(rte->relid)),
						 errdetail("A job runs in a session of its own, which cannot see this session's temporary tables."),
						 errhint("Copy the rows into an ordinary table first.")));
		}
		return query_tree_walker(q, source_walker, context, 0);
	}
	return expression_tree_walker(node, source_walker, context);
}

/*
 * Check a job's source query (inside SPI, as the role that will run it)
 * and return the query the worker runs: ([key::text,] ts, value::float8
 * [, covariates::float8[]]) from it, ordered by the key so each series
 * arrives in one run.  The shape is told by the column count: 2 (ts,
 * value); 3 (ts, value, covariates) when the last is a numeric array, else
 * (key, ts, value); 4 (key, ts, value, covariates).
 */
char *
tsf_job_source_sql(const char *source, TsfJobSource *out)
{
	SPIPlanPtr	plan;
	List	   *sources;
	CachedPlanSource *ps;
	TupleDesc	d;
	Oid			types[4];
	int			n = 0;
	int			c = 0;
	const char *tscast = "";
	const char *vcast = "";
	const char *ccast = "";
	StringInfoData sql;

	plan = SPI_prepare(source, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	sources = SPI_plan_get_plan_sources(plan);
	if (list_length(sources) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source must be a single query"),
				 errdetail("It holds %d statements.", list_length(sources))));
	ps = (CachedPlanSource *) linitial(sources);
	if (ps->commandTag != CMDTAG_SELECT || ps->resultDesc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source must be a SELECT query"),
				 errhint("Write the query that returns ([series key,] ts, value [, covariates]).")));
	(void) source_walker((Node *) ps->query_list, NULL);
	d = ps->resultDesc;
	for (int i = 0; i < d->natts; i++)
	{
		if (TupleDescAttr(d, i)->attisdropped)
			continue;
		if (n == 4)
		{
			n++;
			break;
		}
		types[n++] = TupleDescAttr(d, i)->atttypid;
	}
	if (n < 2 || n > 4)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the source query returns %s columns", n > 4 ? "more than 4" : psprintf("%d", n)),
				 errdetail("It must return (ts, value), optionally with a series key before them and covariates (float8[]) after them.")));
	out->has_key = n == 4 || (n == 3 && !is_number_array_type(types[2]));
	out->has_cov = n == 4 || (n == 3 && !out->has_key);
	if (out->has_key)
		c++;
	out->key_type = out->has_key ? types[0] : InvalidOid;

	switch (types[c])
	{
		case TIMESTAMPTZOID:
			out->ts_type = TSF_TS_TIMESTAMPTZ;
			break;
		case DATEOID:
			out->ts_type = TSF_TS_DATE;
			break;
		case INT8OID:
			out->ts_type = TSF_TS_INT8;
			break;
		case INT2OID:
		case INT4OID:
			out->ts_type = TSF_TS_INT8;
			tscast = "::pg_catalog.int8";
			break;
		case TIMESTAMPOID:
			out->ts_type = TSF_TS_TIMESTAMPTZ;
			tscast = "::pg_catalog.timestamptz";
			break;
		default:
			bad_column("ts", types[c], "It must be timestamptz, timestamp, date or an integer.");
	}
	if (!is_number_type(types[c + 1]))
		bad_column("value", types[c + 1], "It must be a number (float8, numeric or an integer).");
	if (types[c + 1] != FLOAT8OID)
		vcast = "::pg_catalog.float8";
	if (out->has_cov)
	{
		if (!is_number_array_type(types[c + 2]))
			bad_column("covariates", types[c + 2], "It must be an array of numbers (float8[]).");
		if (types[c + 2] != FLOAT8ARRAYOID)
			ccast = "::pg_catalog.float8[]";
	}

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	if (out->has_key)
		appendStringInfoString(&sql, "src.tsf_key::pg_catalog.text, ");
	appendStringInfo(&sql, "src.tsf_ts%s, src.tsf_value%s", tscast, vcast);
	if (out->has_cov)
		appendStringInfo(&sql, ", src.tsf_cov%s", ccast);
	/* newlines: a trailing comment in the source must not swallow the rest */
	appendStringInfo(&sql, " FROM (\n%s\n) AS src(%s%s%s)", source,
					 out->has_key ? "tsf_key, " : "", "tsf_ts, tsf_value",
					 out->has_cov ? ", tsf_cov" : "");
	/*
	 * each series arrives in one run: ordered by the key's text form, which
	 * names the series (models.series_key), in byte order, so that equal
	 * texts are adjacent whatever the type (json has no ordering; 1.0 and
	 * 1.00 are equal numbers but two keys)
	 */
	if (out->has_key)
		appendStringInfoString(&sql, " ORDER BY src.tsf_key::pg_catalog.text COLLATE pg_catalog.\"C\"");
	return sql.data;
}

/*
 * Run sql, a job's source as tsf_job_source_sql made it, and read it into
 * series (in cxt), one per key, each with options opts and fill mode fill.
 * The rows arrive ordered by key, so a series ends when the key changes.
 * Every series is held at once: their points count together against
 * tsforecast.max_memory.  check_cancel is called every 1024 rows.
 */
TsfJobSeries *
tsf_job_read_series(const char *sql, const TsfJobSource *src, Jsonb *opts,
					int fill, MemoryContext cxt, void (*check_cancel) (void),
					int *nseries)
{
	Portal		portal;
	TsfJobSeries  *series = NULL;
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
			TsfJobSeries  *s;

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
					series = series ? repalloc_huge(series, sizeof(TsfJobSeries) * cap) :
						palloc(sizeof(TsfJobSeries) * cap);
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
					tsf_series_point_bytes(s->st);
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


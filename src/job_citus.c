/*
 * job_citus.c
 *		A training job whose source is a Citus distributed table: the job's
 *		worker on the coordinator runs one distributed query,
 *
 *			SELECT key::text, tsforecast._job_fit(ts, value [, covariates],
 *												  options, kind)
 *			  FROM (source) GROUP BY key, key::text
 *
 *		which Citus pushes down whole, so that each shard's task collects,
 *		trains and scores its series on the worker node that holds it (in
 *		parallel across nodes and shards, one series after another within a
 *		task), and only the models and their metrics come back; the job
 *		stores them in tsforecast.models in its one transaction, as it
 *		stores its own.  _job_fit's final step is the job's own: the kind's
 *		fit() on the CPU, then the job's metrics (worker.c), so the models
 *		and metrics equal a single-node job's.
 *
 *		The path is taken only where Citus is installed and the source's
 *		series key is, through plain SELECTs (subqueries of no LIMIT,
 *		grouping, window, DISTINCT or set operation), the distribution
 *		column of one hash-distributed table, which with reference tables
 *		is all the source reads (read from Citus' catalog,
 *		pg_dist_partition; Citus is never required).  A source that reads a
 *		Citus table otherwise (distributed by another column: a series
 *		spread over shards; joins; LIMIT) takes the job's own path, every
 *		row pulled to the coordinator, which trains there: train_async says
 *		so in a NOTICE, the job's worker in the server log.
 *
 *		A node lost mid-job fails the distributed query and so the job:
 *		nothing of it is stored.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "nodes/nodeFuncs.h"
#include "nodes/primnodes.h"
#include "parser/parsetree.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"

#include "device.h"
#include "guard.h"
#include "job_citus.h"

PG_FUNCTION_INFO_V1(tsf_job_fit_transfn);
PG_FUNCTION_INFO_V1(tsf_job_fit_finalfn);

/* ---- which path a source takes ---- */

/* a relation as Citus' catalog has it */
typedef struct CitusRel
{
	bool		citus;			/* in pg_dist_partition */
	char		method;			/* 'h' hash, 'n' none (reference, local) ... */
	bool		reference;		/* a reference table: on every node */
	AttrNumber	distcol;		/* of a hash-distributed table, else 0 */
} CitusRel;

static void
citus_rel(Oid relid, CitusRel *r)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	bool		isnull;
	Datum		d;

	memset(r, 0, sizeof(*r));
	if (SPI_execute_with_args("SELECT partmethod::pg_catalog.text, partkey, repmodel::pg_catalog.text"
							  "  FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_dist_partition");
	if (SPI_processed == 0)
		return;
	r->citus = true;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	r->method = isnull ? '?' : TextDatumGetCString(d)[0];
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
	r->reference = r->method == 'n' && !isnull && TextDatumGetCString(d)[0] == 't';
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	/* the distribution column: a Var in the planner's text form */
	if (r->method == 'h' && !isnull)
	{
		Node	   *n = stringToNode(TextDatumGetCString(d));

		if (IsA(n, Var))
			r->distcol = ((Var *) n)->varattno;
	}
}

/* every relation a query reads, subqueries, CTEs and sublinks included */
static bool
relations_walker(Node *node, List **rels)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;
		ListCell   *lc;

		foreach(lc, q->rtable)
		{
			RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

			if (rte->rtekind == RTE_RELATION)
				*rels = list_append_unique_oid(*rels, rte->relid);
		}
		return query_tree_walker(q, relations_walker, rels, 0);
	}
	return expression_tree_walker(node, relations_walker, rels);
}

/* why a query on the key's way cannot be pushed down whole, or NULL */
static const char *
not_plain(const Query *q)
{
	if (q->setOperations)
		return "a set operation (UNION, ...)";
	if (q->hasAggs || q->groupClause || q->groupingSets || q->havingQual)
		return "grouping or aggregates";
	if (q->hasWindowFuncs)
		return "window functions";
	if (q->limitCount || q->limitOffset)
		return "LIMIT or OFFSET";
	if (q->distinctClause)
		return "DISTINCT";
	if (q->cteList)
		return "a WITH query";
	if (q->hasSubLinks)
		return "a subquery in an expression";
	if (q->hasTargetSRFs)
		return "a set-returning function";
	return NULL;
}

/*
 * The relation and column of the source's series key (output column resno
 * of q), followed through plain subqueries; false, with *why, when it is
 * not a plain column of a relation
 */
static bool
trace_key(Query *q, int resno, Oid *relid, AttrNumber *attno, const char **why)
{
	TargetEntry *te;
	Expr	   *e;
	Var		   *v;
	RangeTblEntry *rte;

	if ((*why = not_plain(q)) != NULL)
		return false;
	te = get_tle_by_resno(q->targetList, resno);
	e = te ? te->expr : NULL;
	while (e && IsA(e, RelabelType))
		e = ((RelabelType *) e)->arg;
	if (e == NULL || !IsA(e, Var) || ((Var *) e)->varlevelsup != 0)
	{
		*why = "a series key that is not a column";
		return false;
	}
	v = (Var *) e;
	rte = rt_fetch(v->varno, q->rtable);
	if (rte->rtekind == RTE_RELATION)
	{
		*relid = rte->relid;
		*attno = v->varattno;
		return true;
	}
	if (rte->rtekind == RTE_SUBQUERY)
		return trace_key(rte->subquery, v->varattno, relid, attno, why);
	*why = "a series key from a join's column or a function";
	return false;
}

/*
 * Where a job over source trains (inside SPI, as the job's role): on the
 * Citus workers, or pulled to the coordinator with *why saying why (a
 * sentence), or as any job where the source reads no Citus table or Citus
 * is not installed.
 */
TsfCitusPath
tsf_job_citus_path(const char *source, bool has_key, char **why)
{
	SPIPlanPtr	plan;
	CachedPlanSource *ps;
	Query	   *q;
	List	   *rels = NIL;
	ListCell   *lc;
	Oid			keyrel = InvalidOid;
	AttrNumber	keycol = 0;
	const char *trace_why = NULL;
	bool		traced;
	bool		any_citus = false;
	char	   *dist = NULL;	/* a distributed table other than the key's */
	CitusRel	kr;

	*why = NULL;
	if (!OidIsValid(get_extension_oid("citus", true)))
		return TSF_CITUS_NONE;
	plan = SPI_prepare(source, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	ps = linitial(SPI_plan_get_plan_sources(plan));
	if (list_length(ps->query_list) != 1)
		return TSF_CITUS_NONE;
	q = linitial_node(Query, ps->query_list);
	(void) relations_walker((Node *) q, &rels);
	foreach(lc, rels)
	{
		CitusRel	r;

		citus_rel(lfirst_oid(lc), &r);
		any_citus |= r.citus;
		if (r.citus && r.method != 'n' && dist == NULL)
			dist = get_rel_name(lfirst_oid(lc));
	}
	if (!any_citus)
		return TSF_CITUS_NONE;
	if (!has_key)
	{
		*why = pstrdup("The source reads Citus tables, but it has no series key: its one series is read whole.");
		return TSF_CITUS_PULL;
	}

	/* the key is the first column (job_source.c) */
	traced = trace_key(q, 1, &keyrel, &keycol, &trace_why);
	if (!traced)
	{
		*why = psprintf("The source reads Citus tables, but its series key cannot be traced to a distribution column (%s).",
						trace_why ? trace_why : "no series key");
		return TSF_CITUS_PULL;
	}
	citus_rel(keyrel, &kr);
	if (!kr.citus || kr.method != 'h')
	{
		*why = psprintf("The series key is a column of \"%s\", which is not a hash-distributed table.",
						get_rel_name(keyrel));
		return TSF_CITUS_PULL;
	}
	if (kr.distcol != keycol)
	{
		*why = psprintf("The series key is column \"%s\" of \"%s\", which is distributed by \"%s\": a series is spread over its shards.",
						get_attname(keyrel, keycol, false), get_rel_name(keyrel),
						kr.distcol > 0 ? get_attname(keyrel, kr.distcol, false) : "?");
		return TSF_CITUS_PULL;
	}
	/* everything else it reads must be reference tables */
	foreach(lc, rels)
	{
		CitusRel	r;

		if (lfirst_oid(lc) == keyrel)
			continue;
		citus_rel(lfirst_oid(lc), &r);
		if (!r.reference)
		{
			*why = psprintf("The source reads \"%s\" besides \"%s\", which is neither \"%s\" nor a reference table.",
							get_rel_name(lfirst_oid(lc)), get_rel_name(keyrel), get_rel_name(keyrel));
			return TSF_CITUS_PULL;
		}
	}
	return TSF_CITUS_PUSHDOWN;
}

/* train_async's (backtest_async's) word on a source whose rows its job will pull (inside SPI) */
void
tsf_job_citus_notice(const char *source, bool has_key, bool backtest)
{
	char	   *why;
	TsfCitusPath path = tsf_job_citus_path(source, has_key, &why);

	if (backtest && path != TSF_CITUS_NONE)
		ereport(NOTICE,
				(errmsg("the job will read every row of its source on the coordinator and run its backtests there"),
				 errdetail("The source reads Citus tables; a backtest job runs on the coordinator."),
				 errhint("SELECT key, backtest(...) ... GROUP BY key over a table distributed by the key runs on the Citus workers.")));
	else if (!backtest && path == TSF_CITUS_PULL)
		ereport(NOTICE,
				(errmsg("the job will read every row of its source on the coordinator and train there"),
				 errdetail("%s", why),
				 errhint("A source that selects from a table distributed by the series column, with the series column first, trains on the Citus workers.")));
}

/* ---- the job on the workers ---- */

static const char *
ts_type_name(int ts_type)
{
	switch (ts_type)
	{
		case TSF_TS_TIMESTAMPTZ:
			return "timestamptz";
		case TSF_TS_DATE:
			return "date";
		default:
			return "int8";
	}
}

/*
 * The Citus path of a training job (inside the job's transaction and SPI,
 * as the job's role, after tsf_job_source_sql): false where the source
 * does not take it, or the job trains on the coordinator's GPU (nothing
 * done; a LOG line says why where a Citus table's rows are pulled), else
 * the job's models are trained on the workers and stored, replacing those
 * of its name.
 */
bool
tsf_job_citus_train(const TsfCitusJob *cj)
{
	const TsfJobSource *src = cj->src;
	char	   *why;
	StringInfoData sql;
	Portal		portal;
	int			n = 0;

	switch (tsf_job_citus_path(cj->j->source, src->has_key, &why))
	{
		case TSF_CITUS_NONE:
			return false;
		case TSF_CITUS_PULL:
			ereport(LOG,
					(errmsg("tsforecast job " INT64_FORMAT " reads every row of its source on the coordinator and trains there",
							cj->job_id),
					 errdetail("%s", why)));
			return false;
		case TSF_CITUS_PUSHDOWN:
			if (cj->gpu)
			{
				ereport(LOG,
						(errmsg("tsforecast job " INT64_FORMAT " reads every row of its source on the coordinator and trains there",
								cj->job_id),
						 errdetail("Its device is the coordinator's GPU, which trains its series in batches.")));
				return false;
			}
			break;
	}

	/* the key's own value groups (so Citus pushes down), its text names */
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT src.tsf_key::pg_catalog.text, tsforecast._job_fit(src.tsf_ts::pg_catalog.%s, "
					 "src.tsf_value::pg_catalog.float8, ",
					 ts_type_name(src->ts_type));
	if (src->has_cov)
		appendStringInfoString(&sql, "src.tsf_cov::pg_catalog.float8[], ");
	if (cj->opts)
		appendStringInfo(&sql, "%s::pg_catalog.jsonb, ",
						 quote_literal_cstr(JsonbToCString(NULL, &cj->opts->root, VARSIZE(cj->opts))));
	else
		appendStringInfoString(&sql, "NULL::pg_catalog.jsonb, ");
	appendStringInfo(&sql, "%d) FROM (\n%s\n) AS src(tsf_key, tsf_ts, tsf_value%s)"
					 " GROUP BY src.tsf_key, src.tsf_key::pg_catalog.text"
					 " ORDER BY src.tsf_key::pg_catalog.text COLLATE pg_catalog.\"C\"",
					 cj->kind->id, cj->j->source, src->has_cov ? ", tsf_cov" : "");

	ereport(LOG,
			(errmsg("tsforecast job " INT64_FORMAT " trains on the Citus workers", cj->job_id),
			 errdetail("Its series are trained in the tasks of one distributed query, grouped by the distribution column.")));
	pgstat_report_activity(STATE_RUNNING,
						   psprintf("tsforecast job " INT64_FORMAT " (%s): training on the Citus workers",
									cj->job_id, cj->j->name));
	tsf_models_replace(cj->j->owner, cj->j->name);

	/* the results arrive once every task is done: the models, in key order */
	portal = SPI_cursor_open_with_args(NULL, sql.data, 0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		SPITupleTable *tt;
		uint64		nt;

		SPI_cursor_fetch(portal, true, 64);
		/* kept: storing a model runs SPI too */
		tt = SPI_tuptable;
		nt = SPI_processed;
		if (nt == 0)
			break;
		for (uint64 r = 0; r < nt; r++)
		{
			HeapTuple	t = tt->vals[r];
			TupleDesc	d = tt->tupdesc;
			bool		knull,
						rnull,
						isnull[3];
			Datum		kd = SPI_getbinval(t, d, 1, &knull);
			Datum		rd = SPI_getbinval(t, d, 2, &rnull);
			HeapTupleHeader res;
			bytea	   *model;
			TsfModel	m;
			TsfModelRow row;

			cj->check_cancel();
			if (rnull)
				elog(ERROR, "a Citus task returned no model");
			res = DatumGetHeapTupleHeader(rd);
			model = DatumGetByteaPP(GetAttributeByNum(res, 1, &isnull[0]));
			row.metrics = DatumGetJsonbP(GetAttributeByNum(res, 2, &isnull[1]));
			row.n_rows = DatumGetInt64(GetAttributeByNum(res, 3, &isnull[2]));
			if (isnull[0] || isnull[1] || isnull[2])
				elog(ERROR, "a Citus task returned an incomplete model");
			/* what is stored is what the reader accepts */
			tsf_model_deserialize(VARDATA_ANY(model), VARSIZE_ANY_EXHDR(model), &m,
								  ERRCODE_INTERNAL_ERROR);
			row.name = cj->j->name;
			row.series_key = knull ? NULL : TextDatumGetCString(kd);
			row.model = model;
			row.spec = cj->j->spec;
			row.has_seed = m.kind->seed(&m, &row.seed);
			row.data_from = tsf_ts_to_cstring(m.ts_type, m.first_ts);
			row.data_to = tsf_ts_to_cstring(m.ts_type, m.last_ts);
			row.job_id = cj->job_id;
			row.owner = cj->j->owner;
			if (m.kind != cj->kind)
				elog(ERROR, "a Citus task returned a model of another kind");
			tsf_models_insert(&row);
			tsf_model_free(&m);
			cj->progress(++n, -1);
		}
		SPI_freetuptable(tt);
	}
	SPI_cursor_close(portal);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the source query returned no rows")));
	cj->progress(n, n);
	return true;
}

/* ---- _job_fit(ts, value [, covariates], options, kind): on the workers ---- */

/* _job_fit's kind: its last argument, a constant */
static const TsfKind *
job_fit_kind(int32 id)
{
	const TsfKind *kind = tsf_kind_by_id(id);

	if (kind == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown model kind %d", id)));
	return kind;
}

Datum
tsf_job_fit_transfn(PG_FUNCTION_ARGS)
{
	int			k = PG_NARGS() - 1;

	if (PG_ARGISNULL(k))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the model kind must not be null")));
	return tsf_series_accum(fcinfo, job_fit_kind(PG_GETARG_INT32(k))->check_options);
}

/*
 * The job's step for one series: the kind's fit() on the CPU, as a job's
 * worker trains, then the job's metrics of it (worker.c); returns
 * (model, metrics, n_rows).  The kind is read from the call's last
 * argument, which must be a constant.
 */
Datum
tsf_job_fit_finalfn(PG_FUNCTION_ARGS)
{
	Aggref	   *agg;
	Const	   *c;
	const TsfKind *kind;
	TsfSeriesState *st;
	TupleDesc	d;
	bytea	   *model;
	TsfModel	m;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (!AggCheckCallContext(fcinfo, NULL) || (agg = AggGetAggref(fcinfo)) == NULL)
		elog(ERROR, "_job_fit called in non-aggregate context");
	c = (Const *) ((TargetEntry *) llast(agg->args))->expr;
	if (!IsA(c, Const) || c->consttype != INT4OID || c->constisnull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the model kind of _job_fit must be a constant")));
	kind = job_fit_kind(DatumGetInt32(c->constvalue));
	if (get_call_result_type(fcinfo, NULL, &d) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "_job_fit must return a composite type");
	d = BlessTupleDesc(d);

	st = (TsfSeriesState *) PG_GETARG_POINTER(0);
	model = kind->fit(st, TSF_DEVICE_CPU, NULL);
	tsf_model_deserialize(VARDATA_ANY(model), VARSIZE_ANY_EXHDR(model), &m,
						  ERRCODE_INTERNAL_ERROR);
	values[0] = PointerGetDatum(model);
	values[1] = JsonbPGetDatum(tsf_job_series_metrics(&m, st));
	values[2] = Int64GetDatum(st->rows);
	tsf_model_free(&m);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(d, values, nulls)));
}

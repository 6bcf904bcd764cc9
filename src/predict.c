/*
 * predict.c
 *		predict(model, ts, value) OVER (ORDER BY ts): one-step-ahead
 *		predictions of a stored model over any history.
 *
 * A window function, so scoring a model is one query over the user's own
 * table:
 *
 *		SELECT ts, value, predict(m.model, ts, value) OVER (ORDER BY ts)
 *		FROM flows, models m WHERE m.name = 'verde';
 *
 * On the first call in a window partition it reads the whole partition,
 * checks that the rows are ordered by ts and lie on the model's time grid,
 * and computes every row's prediction from the rows before it: the value
 * for the row at step k uses only the values at steps k-1, k-2, ...  A row
 * whose lags are missing (the first p rows, a gap, a NULL value) gets NULL.
 * The row's own value is never used for its own prediction.
 */
#include "tsforecast.h"

#include "catalog/pg_type_d.h"
#include "miscadmin.h"
#include "utils/datum.h"
#include "utils/date.h"
#include "utils/memutils.h"
#include "windowapi.h"

PG_FUNCTION_INFO_V1(tsf_predict);

typedef struct PredictCache
{
	bool		ready;
	double	   *pred;			/* (rows) back-transformed predictions */
	bool	   *isnull;			/* (rows) */
} PredictCache;

static int64
arg_ts(int ts_type, Datum d)
{
	switch (ts_type)
	{
		case TSF_TS_TIMESTAMPTZ:
			return DatumGetTimestampTz(d);
		case TSF_TS_DATE:
			return DatumGetDateADT(d);
		default:
			return DatumGetInt64(d);
	}
}

static int
ts_type_of_oid(Oid t)
{
	return t == TIMESTAMPTZOID ? TSF_TS_TIMESTAMPTZ :
		t == DATEOID ? TSF_TS_DATE : TSF_TS_INT8;
}

/* all rows' predictions of one partition, into c (allocated in cxt) */
static void
predict_partition(WindowObject win, FunctionCallInfo fcinfo, PredictCache *c,
				  MemoryContext cxt)
{
	int64		rows = WinGetPartitionRowCount(win);
	int			ts_type = ts_type_of_oid(get_fn_expr_argtype(fcinfo->flinfo, 1));
	Datum		model0 = (Datum) 0;
	TsfModel   *m = NULL;
	int64	   *k = palloc(sizeof(int64) * Max(rows, 1));	/* grid index */
	double	   *y = palloc(sizeof(double) * Max(rows, 1));	/* transformed */
	bool	   *ynull = palloc(sizeof(bool) * Max(rows, 1));
	int			p;

	c->pred = MemoryContextAlloc(cxt, sizeof(double) * Max(rows, 1));
	c->isnull = MemoryContextAlloc(cxt, sizeof(bool) * Max(rows, 1));

	for (int64 i = 0; i < rows; i++)
	{
		bool		isnull,
					isout;
		Datum		md = WinGetFuncArgInPartition(win, 0, i, WINDOW_SEEK_HEAD, false,
											  &isnull, &isout);
		Datum		td;
		Datum		vd;

		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("model must not be null")));
		if (m == NULL)
		{
			model0 = datumCopy(md, false, -1);
			m = tsf_model_from_datum(model0);
			if (m->ts_type != ts_type)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("model was trained on %s timestamps, not %s",
								tsf_ts_type_name(m->ts_type), tsf_ts_type_name(ts_type)),
						 errhint("Cast the ts argument to %s.", tsf_ts_type_name(m->ts_type))));
		}
		else if (!datumIsEqual(md, model0, false, -1))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("predict() needs the same model on every row of a window partition"),
					 errhint("Add PARTITION BY the series key to the window.")));

		td = WinGetFuncArgInPartition(win, 1, i, WINDOW_SEEK_HEAD, false, &isnull, &isout);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("null timestamp in time series")));
		{
			int64		ts = arg_ts(ts_type, td);

			if (!tsf_freq_index(ts_type, &m->freq, m->first_ts, ts, &k[i]))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("timestamp %s is not on the model's time grid",
								tsf_ts_to_cstring(ts_type, ts)),
						 errdetail("The model is %s from %s.",
								   tsf_freq_name(ts_type, &m->freq),
								   tsf_ts_to_cstring(ts_type, m->first_ts))));
			if (i > 0 && k[i] <= k[i - 1])
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("predict() needs its window ordered by ts, without duplicates"),
						 errhint("Write OVER (ORDER BY ts), or OVER (PARTITION BY key ORDER BY ts).")));
		}

		vd = WinGetFuncArgInPartition(win, 2, i, WINDOW_SEEK_HEAD, false, &isnull, &isout);
		ynull[i] = isnull;
		if (!isnull)
		{
			double		v = DatumGetFloat8(vd);

			if (m->transform == TSF_TRANSFORM_LOG && !(v > 0))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_ARGUMENT_FOR_LOG),
						 errmsg("cannot apply the log transform to a value that is not positive"),
						 errdetail("The value at row " INT64_FORMAT " of the window is %g.", i + 1, v)));
			y[i] = tsf_apply_transform(m->transform, v);
			ynull[i] = !isfinite(y[i]);
		}
		if ((i & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	p = m ? m->ar.p : 0;
	for (int64 i = 0; i < rows; i++)
	{
		/* the p rows before i must be exactly the steps k[i]-p .. k[i]-1 */
		bool		ok = i >= p && (p == 0 || k[i] - k[i - p] == p);

		for (int j = 1; ok && j <= p; j++)
			ok = !ynull[i - j];
		c->isnull[i] = !ok;
		if (ok)
			c->pred[i] = tsf_back_transform(m->transform,
											tsf_ar_predict1(&m->ar, y + i - p));
	}
	pfree(k);
	pfree(y);
	pfree(ynull);
}

Datum
tsf_predict(PG_FUNCTION_ARGS)
{
	WindowObject win = PG_WINDOW_OBJECT();
	PredictCache *c = WinGetPartitionLocalMemory(win, sizeof(PredictCache));
	int64		pos = WinGetCurrentPosition(win);

	if (!c->ready)
	{
		predict_partition(win, fcinfo, c, GetMemoryChunkContext(c));
		c->ready = true;
	}
	if (c->isnull[pos])
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(c->pred[pos]);
}

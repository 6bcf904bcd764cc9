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
 *
 * How a kind predicts is its own (kind.h): AR from its p lags
 * (model_ar.c), an LSTM by running its network over the rows
 * (model_lstm.c, which says how it crosses a gap).  A model trained with
 * covariates takes them as a fourth argument, predict(model, ts, value,
 * covariates), the same covariates as in training on each row.  What every
 * kind shares is here: reading and checking the partition, the transform,
 * the memory check, and the check of every prediction returned.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type_d.h"
#include "miscadmin.h"
#include "utils/datum.h"
#include "utils/date.h"
#include "utils/memutils.h"
#include "windowapi.h"

#include "guard.h"
#include "kind.h"
#include "model.h"
#include "options.h"
#include "predict.h"
#include "series.h"

PG_FUNCTION_INFO_V1(tsf_predict);

/* bytes a window row takes: grid index, value, prediction, two flags */
#define PREDICT_ROW_BYTES	(sizeof(int64) + 2 * sizeof(double) + 2 * sizeof(bool))

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

/* the window's covariates argument must match the model */
static void
check_covariates_arg(const TsfModel *m, bool has_cov)
{
	int			n_cov = m->kind->n_covariates(m);

	if (has_cov && n_cov == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model was trained without covariates"),
				 errhint("Call predict(model, ts, value) without covariates.")));
	if (!has_cov && n_cov > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg_plural("model was trained with %d covariate: predicting needs them",
							   "model was trained with %d covariates: predicting needs them",
							   n_cov, n_cov),
				 errhint("Use predict(model, ts, value, covariates), with the covariates of each row.")));
}

/* a prediction that is not finite is an error, as float8 overflow is */
double
tsf_check_prediction(double v, int64 row)
{
	if (!isfinite(v))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("prediction is out of range at row " INT64_FORMAT " of the window", row + 1),
				 errdetail("The model's one-step prediction from the rows before it overflowed float8.")));
	return v;
}

/* all rows' predictions of one partition, into c (allocated in cxt) */
static void
predict_partition(WindowObject win, FunctionCallInfo fcinfo, PredictCache *c,
				  MemoryContext cxt)
{
	int64		rows = WinGetPartitionRowCount(win);
	int			ts_type = ts_type_of_oid(get_fn_expr_argtype(fcinfo->flinfo, 1));
	bool		has_cov = PG_NARGS() > 3;
	Datum		model0 = (Datum) 0;
	TsfModel   *m = NULL;
	int64	   *k;				/* grid index */
	double	   *y;				/* transformed */
	bool	   *ynull;
	double	   *cov = NULL;		/* (rows, n_cov) */
	int			n_cov = 0;

	tsf_check_memory(PREDICT_ROW_BYTES * (double) rows, TSF_MEM_PREDICT,
					 psprintf("The window partition has " INT64_FORMAT " rows.", rows));
	k = palloc_extended(sizeof(int64) * Max(rows, 1), MCXT_ALLOC_HUGE);
	y = palloc_extended(sizeof(double) * Max(rows, 1), MCXT_ALLOC_HUGE);
	ynull = palloc_extended(sizeof(bool) * Max(rows, 1), MCXT_ALLOC_HUGE);
	c->pred = MemoryContextAllocHuge(cxt, sizeof(double) * Max(rows, 1));
	c->isnull = MemoryContextAllocHuge(cxt, sizeof(bool) * Max(rows, 1));

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
			check_covariates_arg(m, has_cov);
			n_cov = m->kind->n_covariates(m);
			if (has_cov)
				tsf_check_memory((PREDICT_ROW_BYTES + sizeof(double) * n_cov) * (double) rows,
								 TSF_MEM_PREDICT,
								 psprintf("The window partition has " INT64_FORMAT " rows of %d covariates.",
										  rows, n_cov));
			if (has_cov)
				cov = palloc_extended(sizeof(double) * n_cov * (Size) Max(rows, 1),
									  MCXT_ALLOC_HUGE);
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
		if (has_cov)
		{
			Datum		cd = WinGetFuncArgInPartition(win, 3, i, WINDOW_SEEK_HEAD, false,
												  &isnull, &isout);
			int			nc;
			double	   *c;

			if (isnull)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("null covariates in time series")));
			c = tsf_read_covariates(DatumGetArrayTypeP(cd), &nc);
			if (nc != n_cov)
				ereport(ERROR,
						(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
						 errmsg_plural("model was trained with %d covariate, not %d",
									   "model was trained with %d covariates, not %d",
									   n_cov, n_cov, nc)));
			memcpy(cov + i * n_cov, c, sizeof(double) * nc);
		}
		if ((i & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	if (m != NULL)
		m->kind->predict(m, rows, k, y, ynull, cov, c->pred, c->isnull);
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

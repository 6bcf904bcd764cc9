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
 * An LSTM model runs its network over the partition one step at a time
 * from a zero state (as in training), with the actual value of each step
 * as the next step's lag (teacher forcing): the first row gets NULL, every
 * later row the network's output for its step.  Across a gap or a NULL
 * value the network goes on stepping with its own predictions as lags (and
 * the last covariates seen), so its state stays on the time grid; the row
 * whose lag was such a stand-in gets NULL, like AR.  A model trained with
 * covariates takes them as a fourth argument, predict(model, ts, value,
 * covariates), the same covariates as in training on each row.
 */
#include "tsforecast.h"

#include "catalog/pg_type_d.h"
#include "miscadmin.h"
#include "utils/datum.h"
#include "utils/date.h"
#include "utils/memutils.h"
#include "windowapi.h"

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
	int			n_cov = m->kind == TSF_KIND_LSTM ? m->n_cov : 0;

	if (has_cov && n_cov == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model was trained without covariates"),
				 errhint("Call predict(model, ts, value) without covariates.")));
	if (!has_cov && n_cov > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model was trained with %d covariate%s: predicting needs them",
						n_cov, n_cov == 1 ? "" : "s"),
				 errhint("Use predict(model, ts, value, covariates), with the covariates of each row.")));
}

/* a prediction that is not finite is an error, as float8 overflow is */
static double
checked_prediction(double v, int64 row)
{
	if (!isfinite(v))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("prediction is out of range at row " INT64_FORMAT " of the window", row + 1),
				 errdetail("The model's one-step prediction from the rows before it overflowed float8.")));
	return v;
}

/*
 * The scaled lag a step feeds to the network (row is the window row it
 * comes from, 0-based): it must fit the core's scalar type
 */
static double
lag_input(double lag, int64 row)
{
	if (!(fabs(lag) <= TSF_REAL_MAX))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value is out of range for the model at row " INT64_FORMAT " of the window", row + 1),
				 errdetail("Scaled by the model's training range, it overflows the network's precision.")));
	return lag;
}

/*
 * The LSTM's one-step-ahead predictions over the partition's rows: grid
 * steps k (rows), transformed values y (rows; ynull where missing),
 * covariates cov (rows, n_cov) or NULL; see the header comment.
 */
static void
predict_lstm(TsfModel *m, int64 rows, const int64 *k, const double *y,
			 const bool *ynull, const double *cov, double *pred_out, bool *isnull_out)
{
	tsf_nn		nn;
	tsf_real   *state = palloc(sizeof(tsf_real) * tsf_nn_state_count(&m->nn));
	tsf_real   *x = palloc(sizeof(tsf_real) * m->nn.n_in);
	bool		started = false;
	bool		lag_actual = false;
	double		lag = 0;
	int64		steps = 0;
	const double *cprev = NULL;

	tsf_lstm_bind(&nn, m);
	tsf_nn_state_reset(&m->nn, state);
	for (int64 i = 0; i < rows; i++)
	{
		tsf_real	out;
		double		pred;
		const double *ci = cov ? cov + i * m->n_cov : NULL;

		isnull_out[i] = true;
		if (!started)
		{
			/* the sequence starts at the first row with a value */
			if (!ynull[i])
			{
				started = true;
				lag = tsf_lstm_scale(m, y[i]);
				lag_actual = true;
				cprev = ci;
			}
			continue;
		}
		CHECK_FOR_INTERRUPTS();
		if (k[i] - k[i - 1] > TSF_MAX_POINTS - steps)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("time series spans too many steps"),
					 errdetail("The window's rows span more than %d steps of the model's time grid.",
							   TSF_MAX_POINTS)));
		/* step through a gap on the network's own predictions */
		for (int64 j = k[i - 1] + 1; j < k[i]; j++)
		{
			CHECK_FOR_INTERRUPTS();
			tsf_lstm_input(m, j, lag_input(lag, i), cprev, x);
			tsf_nn_step(&nn, state, x, NULL, &out);
			lag = tsf_lstm_output(m, out, lag);
			lag_actual = false;
			steps++;
		}
		tsf_lstm_input(m, k[i], lag_input(lag, i), ci, x);
		tsf_nn_step(&nn, state, x, NULL, &out);
		pred = tsf_lstm_output(m, out, lag);
		steps++;
		if (lag_actual)
		{
			isnull_out[i] = false;
			pred_out[i] = checked_prediction(tsf_back_transform(m->transform,
																tsf_lstm_unscale(m, pred)), i);
		}
		lag_actual = !ynull[i];
		lag = lag_actual ? tsf_lstm_scale(m, y[i]) : pred;
		cprev = ci;
	}
	pfree(state);
	pfree(x);
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
			if (has_cov)
				tsf_check_memory((PREDICT_ROW_BYTES + sizeof(double) * m->n_cov) * (double) rows,
								 TSF_MEM_PREDICT,
								 psprintf("The window partition has " INT64_FORMAT " rows of %d covariates.",
										  rows, m->n_cov));
			if (has_cov)
				cov = palloc_extended(sizeof(double) * m->n_cov * (Size) Max(rows, 1),
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
			if (nc != m->n_cov)
				ereport(ERROR,
						(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
						 errmsg("model was trained with %d covariate%s, not %d",
								m->n_cov, m->n_cov == 1 ? "" : "s", nc)));
			memcpy(cov + i * m->n_cov, c, sizeof(double) * nc);
		}
		if ((i & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	if (m != NULL)
		tsf_predict_rows(m, rows, k, y, ynull, cov, c->pred, c->isnull);
	pfree(k);
	pfree(y);
	pfree(ynull);
}

/*
 * One-step-ahead predictions of model m over rows on its time grid: grid
 * steps k (rows, increasing), transformed values y (rows; ynull where
 * missing), covariates cov (rows, n_cov) or NULL.  Writes back-transformed
 * predictions into pred (rows) and isnull (rows); see the header comment.
 * predict() over a window partition, and a job's metrics.
 */
void
tsf_predict_rows(TsfModel *m, int64 rows, const int64 *k, const double *y,
				 const bool *ynull, const double *cov, double *pred, bool *isnull)
{
	int			p;

	if (m->kind == TSF_KIND_LSTM)
	{
		predict_lstm(m, rows, k, y, ynull, cov, pred, isnull);
		return;
	}

	p = m->ar.p;
	for (int64 i = 0; i < rows; i++)
	{
		/* the p rows before i must be exactly the steps k[i]-p .. k[i]-1 */
		bool		ok = i >= p && (p == 0 || k[i] - k[i - p] == p);

		for (int j = 1; ok && j <= p; j++)
			ok = !ynull[i - j];
		isnull[i] = !ok;
		if (ok)
			pred[i] = checked_prediction(tsf_back_transform(m->transform,
															tsf_ar_predict1(&m->ar, y + i - p)), i);
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
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

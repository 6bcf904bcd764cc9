/*
 * update.c
 *		model_update(model, ts, value [, covariates]): a stored model moved
 *		on over new rows, so that it forecasts from this week's data without
 *		refitting, with the same intervals (the fitted parameters, the
 *		residual variance and, for an LSTM, the Monte Carlo paths' network
 *		are unchanged; only the state the forecast starts from moves).
 *
 *		SELECT f.* FROM forecast((SELECT model_update(m.model, o.ts, o.flow)
 *		                            FROM obs o WHERE o.ts > '2020-08-01'), 2) f;
 *
 * The rows at or before the model's last step are skipped (it has seen
 * them); the others must lie on the model's time grid.  A gap between two
 * new rows is filled as the model's "fill" option says (an error without
 * one); between the model's last step and the first new row, an AR(p)
 * model needs at least p new rows, an LSTM none (it steps through every
 * row).  The result is the model with the state moved: model_info() shows
 * updated_to and updated_steps, and forecast() starts after updated_to.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/base64.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/datum.h"

#include "guard.h"
#include "jsonbuild.h"
#include "kind.h"
#include "model.h"
#include "options.h"
#include "series.h"
#include "update.h"

PG_FUNCTION_INFO_V1(tsf_model_update_transfn);
PG_FUNCTION_INFO_V1(tsf_model_update_finalfn);

int64
tsf_model_advance(TsfModel *m, const TsfPoint *pts, const double *cov, int ncov,
				  int64 n)
{
	int64		state = tsf_model_next_step(m) - 1;
	int64		first = 0;
	int64		k0 = 0,
				klast = 0,
				total;
	int64	   *k;
	int64	   *kk;
	double	   *y;
	double	   *c = NULL;
	int			n_cov = m->kind->n_covariates(m);

	if (ncov != n_cov)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 n_cov == 0 ?
				 errmsg("model was trained without covariates") :
				 errmsg_plural("model was trained with %d covariate, not %d",
							   "model was trained with %d covariates, not %d",
							   n_cov, n_cov, ncov)));
	if (n == 0)
		return 0;

	/* each row's grid step; those the model has seen are skipped */
	tsf_check_memory(sizeof(int64) * (double) n, TSF_MEM_GRID,
					 psprintf("The new rows are " INT64_FORMAT ".", n));
	k = palloc_extended(sizeof(int64) * n, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < n; i++)
	{
		if (!tsf_freq_index(m->ts_type, &m->freq, m->first_ts, pts[i].ts, &k[i]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("timestamp %s is not on the model's time grid",
							tsf_ts_to_cstring(m->ts_type, pts[i].ts)),
					 errdetail("The model is %s from %s.",
							   tsf_freq_name(m->ts_type, &m->freq),
							   tsf_ts_to_cstring(m->ts_type, m->first_ts))));
		if (k[i] <= state)
			first = i + 1;
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	if (first == n)
	{
		pfree(k);
		return 0;
	}
	k0 = k[first];
	klast = k[n - 1];
	if (klast - state > TSF_MAX_POINTS - tsf_model_next_step(m))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("time series spans too many steps"),
				 errdetail("The model and its new rows would span more than %d steps of its grid.",
						   TSF_MAX_POINTS)));
	total = klast - k0 + 1;

	/* the new rows on the grid, gaps filled as the model was trained */
	if (total != n - first && m->fill == TSF_FILL_NONE)
	{
		int64		i = first + 1;

		while (k[i] == k[i - 1] + 1)
			i++;
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("time series has gaps"),
				 errdetail("The model is %s; the new rows miss " INT64_FORMAT " of its steps, the first after %s.",
						   tsf_freq_name(m->ts_type, &m->freq), total - (n - first),
						   tsf_ts_to_cstring(m->ts_type, pts[i - 1].ts)),
				 errhint("Train the model with the \"fill\" option to fill gaps.")));
	}
	tsf_check_memory(sizeof(int64) * (double) n +
					 sizeof(double) * (2.0 + n_cov) * (double) total, TSF_MEM_GRID,
					 psprintf("The new rows span " INT64_FORMAT " steps (%s), gaps filled in.",
							  total, tsf_freq_name(m->ts_type, &m->freq)));
	kk = palloc_extended(sizeof(int64) * total, MCXT_ALLOC_HUGE);
	y = palloc_extended(sizeof(double) * total, MCXT_ALLOC_HUGE);
	if (n_cov > 0)
		c = palloc_extended(sizeof(double) * n_cov * total, MCXT_ALLOC_HUGE);
	for (int64 i = first; i < n; i++)
	{
		int64		at = k[i] - k0;
		double		v = pts[i].value;

		if (m->transform == TSF_TRANSFORM_LOG && !(v > 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_ARGUMENT_FOR_LOG),
					 errmsg("cannot apply the log transform to a value that is not positive"),
					 errdetail("The value at %s is %g.",
							   tsf_ts_to_cstring(m->ts_type, pts[i].ts), v)));
		y[at] = tsf_apply_transform(m->transform, v);
		if (n_cov > 0)
			memcpy(c + at * n_cov, cov + i * n_cov, sizeof(double) * n_cov);
		if (i > first && k[i] > k[i - 1] + 1)
		{
			int64		prev = k[i - 1] - k0;
			int64		gap = at - prev;

			for (int64 j = prev + 1; j < at; j++)
			{
				double		w = (double) (j - prev) / (double) gap;

				y[j] = m->fill == TSF_FILL_LINEAR ? y[prev] + (y[at] - y[prev]) * w : y[prev];
				for (int q = 0; q < n_cov; q++)
				{
					double		ca = c[prev * n_cov + q];
					double		cb = c[at * n_cov + q];

					c[j * n_cov + q] = m->fill == TSF_FILL_LINEAR ? ca + (cb - ca) * w : ca;
				}
				if ((j & 0xFFFF) == 0)
					CHECK_FOR_INTERRUPTS();
			}
		}
	}
	for (int64 j = 0; j < total; j++)
		kk[j] = k0 + j;

	m->kind->update(m, total, kk, y, c);
	m->n_after = klast - (m->n - 1);
	if (m->n_after < 0)			/* cannot happen: klast > state >= n - 1 */
		elog(ERROR, "model state moved backwards");
	pfree(k);
	pfree(kk);
	pfree(y);
	if (c)
		pfree(c);
	return total;
}

/* ---- the aggregate ---- */

/*
 * The aggregate's state is the training aggregates' (series.c), so that it
 * combines, serializes and deserializes as theirs do: the new points, and
 * as its options {"model": the model's stored bytes in base64}, which must
 * be the same on every row of a group.  The model of the last distinct
 * argument is checked and encoded once, kept in fn_extra.
 */
typedef struct UpdateArgs
{
	Datum		model;			/* a copy, in fn_mcxt */
	Jsonb	   *options;		/* {"model": base64} */
	int			fill;
	bool		has_cov;
} UpdateArgs;

static int
ts_type_of(Oid t)
{
	if (t == TIMESTAMPTZOID)
		return TSF_TS_TIMESTAMPTZ;
	if (t == DATEOID)
		return TSF_TS_DATE;
	if (t == INT8OID)
		return TSF_TS_INT8;
	elog(ERROR, "unexpected ts type %u", t);
	return 0;
}

static UpdateArgs *
update_args(FunctionCallInfo fcinfo, Datum model, int ts_type, bool has_cov)
{
	UpdateArgs *a = (UpdateArgs *) fcinfo->flinfo->fn_extra;
	MemoryContext cxt = fcinfo->flinfo->fn_mcxt;
	TsfModel   *m;
	bytea	   *b;
	int			len,
				cap;
	char	   *enc;
	TsfJson		js = NULL;

	if (a != NULL && datumIsEqual(model, a->model, false, -1))
		return a;
	m = tsf_model_from_datum(model);
	if (m->ts_type != ts_type)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("model was trained on %s timestamps, not %s",
						tsf_ts_type_name(m->ts_type), tsf_ts_type_name(ts_type)),
				 errhint("Cast the ts argument to %s.", tsf_ts_type_name(m->ts_type))));
	if ((m->kind->n_covariates(m) > 0) != has_cov)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 has_cov ? errmsg("model was trained without covariates") :
				 errmsg("model was trained with covariates"),
				 has_cov ? errhint("Call model_update(model, ts, value).") :
				 errhint("Call model_update(model, ts, value, covariates).")));
	if (a == NULL)
	{
		a = MemoryContextAllocZero(cxt, sizeof(UpdateArgs));
		fcinfo->flinfo->fn_extra = a;
	}
	else
	{
		pfree(DatumGetPointer(a->model));
		pfree(a->options);
	}
	a->fill = m->fill;
	a->has_cov = has_cov;
	tsf_model_free(m);

	b = DatumGetByteaPP(model);
	len = VARSIZE_ANY_EXHDR(b);
	cap = pg_b64_enc_len(len);
	enc = palloc(cap + 1);
	len = pg_b64_encode(VARDATA_ANY(b), len, enc, cap);
	if (len < 0)
		elog(ERROR, "could not encode the model");
	enc[len] = '\0';
	tsf_json_begin_object(&js);
	tsf_json_kv_str(&js, "model", enc);
	{
		Jsonb	   *o = tsf_json_finish(&js);

		a->options = tsf_jsonb_copy(cxt, o);
	}
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		a->model = datumCopy(model, false, -1);
		MemoryContextSwitchTo(old);
	}
	return a;
}

Datum
tsf_model_update_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	TsfSeriesState *st;
	UpdateArgs *a;
	bool		has_cov = PG_NARGS() > 4;
	int			ts_type = ts_type_of(get_fn_expr_argtype(fcinfo->flinfo, 2));
	double	   *cov = NULL;
	int			ncov = 0;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "model_update called in non-aggregate context");
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model must not be null")));
	a = update_args(fcinfo, PG_GETARG_DATUM(1), ts_type, has_cov);
	if (PG_ARGISNULL(0))
	{
		st = tsf_series_new(aggcxt, ts_type);
		st->fill = a->fill;
		st->options = tsf_jsonb_copy(aggcxt, a->options);
	}
	else
	{
		st = (TsfSeriesState *) PG_GETARG_POINTER(0);
		if (st->options == NULL || !tsf_jsonb_same(st->options, a->options))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("model_update() needs the same model on every row of a group"),
					 errhint("Add GROUP BY the series key.")));
	}

	if (has_cov)
	{
		if (PG_ARGISNULL(4))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("null covariates in time series"),
					 errhint("Pass an array of the covariates' values on every row.")));
		cov = tsf_read_covariates(PG_GETARG_ARRAYTYPE_P(4), &ncov);
	}
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("null timestamp in time series")));
	tsf_series_add(st, tsf_ts_from_datum(st->ts_type, PG_GETARG_DATUM(2)),
				   PG_GETARG_DATUM(3), PG_ARGISNULL(3), has_cov, cov, ncov);
	PG_RETURN_POINTER(st);
}

Datum
tsf_model_update_finalfn(PG_FUNCTION_ARGS)
{
	TsfSeriesState *st;
	TsfModel	m;
	JsonbValue	v;
	char	   *bytes;
	int			len;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "model_update called in non-aggregate context");
	st = (TsfSeriesState *) PG_GETARG_POINTER(0);
	if (st->options == NULL ||
		getKeyJsonValueFromContainer(&st->options->root, "model", 5, &v) == NULL ||
		v.type != jbvString)
		elog(ERROR, "model_update state without its model");
	bytes = palloc(pg_b64_dec_len(v.val.string.len) + 1);
	len = pg_b64_decode(v.val.string.val, v.val.string.len, bytes,
						pg_b64_dec_len(v.val.string.len));
	if (len < 0)
		elog(ERROR, "model_update state with a malformed model");
	/* the model came from a tsmodel value (or a partial state of its own) */
	tsf_model_deserialize(bytes, len, &m, ERRCODE_DATA_CORRUPTED);
	tsf_series_sort(st);
	tsf_model_advance(&m, st->pts, st->cov, Max(st->ncov, 0), st->n);
	PG_RETURN_BYTEA_P(tsf_model_serialize(&m));
}

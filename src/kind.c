/*
 * kind.c
 *		The model kinds, each a table of routines (kind.h), the training of
 *		many series of one kind, which a job calls once for all of its, and
 *		fit(ts, value, spec), the aggregate that fits any spec as a job would.
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/memutils.h"

#include "device.h"
#include "jobs.h"
#include "kind.h"

PG_FUNCTION_INFO_V1(tsf_fit_transfn);
PG_FUNCTION_INFO_V1(tsf_fit_finalfn);

/* every kind: its stored id, name and routines; a new kind is added here */
static const TsfKind *const kinds[] = {
	&tsf_kind_ar,
	&tsf_kind_lstm,
	&tsf_kind_combine,
	&tsf_kind_auto,
};

const TsfKind *
tsf_kind_by_id(int id)
{
	for (int i = 0; i < lengthof(kinds); i++)
		if (kinds[i]->id == id)
			return kinds[i];
	return NULL;
}

const TsfKind *
tsf_kind_by_name(const char *name)
{
	for (int i = 0; i < lengthof(kinds); i++)
		if (strcmp(kinds[i]->name, name) == 0)
			return kinds[i];
	return NULL;
}

/* the kinds' names for a message: "ar", "lstm" */
const char *
tsf_kind_names(void)
{
	StringInfoData b;

	initStringInfo(&b);
	for (int i = 0; i < lengthof(kinds); i++)
		appendStringInfo(&b, "%s\"%s\"", i == 0 ? "" : ", ", kinds[i]->name);
	return b.data;
}

/*
 * Train n collected series of one kind, reporting through hooks: on the
 * GPU (api not NULL), or on the CPU for a kind with cpu_batch, the kind's
 * batches, each series' model handed to hooks->done; else one series
 * after another through fit() on the CPU,
 * each in a memory context of its own that is reset once its model is
 * stored, so a job of many series holds one series' training at a time.
 */
void
tsf_kind_train(const TsfKind *kind, TsfSeriesState **series, int n, int device,
			   const struct tsfc_api *api, const TsfTrainHooks *hooks)
{
	MemoryContext cxt,
				old;

	if (kind->fit_batch != NULL && (api != NULL || kind->cpu_batch))
	{
		kind->fit_batch(series, n, device, api, hooks);
		return;
	}
	cxt = AllocSetContextCreate(CurrentMemoryContext, "tsforecast series",
								ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < n; i++)
	{
		bytea	   *model;

		if (hooks && hooks->series)
			hooks->series(hooks->arg, i);
		old = MemoryContextSwitchTo(cxt);
		model = kind->fit(series[i], TSF_DEVICE_CPU, hooks);
		if (hooks && hooks->done)
			hooks->done(hooks->arg, i, model);
		MemoryContextSwitchTo(old);
		MemoryContextReset(cxt);
	}
	MemoryContextDelete(cxt);
}

/*
 * fit(ts, value, spec): the aggregate of any spec, {"kind": ..., options},
 * as train_async() and backtest() take it (the kinds "combine" and "auto"
 * have no aggregate of their own).  The spec is checked on the first row;
 * the state is the training aggregates' (series.c), its options the whole
 * spec, which the final step splits into the kind and its options.
 */
static int
fit_check_spec(Jsonb *spec)
{
	Jsonb	   *opts;
	int			device;
	const TsfKind *kind;

	if (spec == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("spec must not be null"),
				 errhint("For example: '{\"kind\": \"ar\", \"harmonics\": 3}'.")));
	tsf_spec_refuse_backtest_key(spec);
	kind = tsf_job_parse_spec(spec, &opts, &device);
	return kind->check_options(opts);
}

Datum
tsf_fit_transfn(PG_FUNCTION_ARGS)
{
	return tsf_series_accum(fcinfo, fit_check_spec);
}

Datum
tsf_fit_finalfn(PG_FUNCTION_ARGS)
{
	TsfSeriesState *st;
	const TsfKind *kind;
	Jsonb	   *opts;
	int			device;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "fit called in non-aggregate context");
	st = (TsfSeriesState *) PG_GETARG_POINTER(0);
	kind = tsf_job_parse_spec(st->options, &opts, &device);
	st->options = opts;
	PG_RETURN_BYTEA_P(kind->fit(st, device < 0 ? tsf_device : device, NULL));
}

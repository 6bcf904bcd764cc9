/*
 * kind.c
 *		The model kinds, each a table of routines (kind.h), and the training
 *		of many series of one kind, which a job calls once for all of its.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/memutils.h"

#include "device.h"
#include "kind.h"

/* every kind: its stored id, name and routines; a new kind is added here */
static const TsfKind *const kinds[] = {
	&tsf_kind_ar,
	&tsf_kind_lstm,
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
 * GPU (api not NULL) the kind's batches, each series' model handed to
 * hooks->done; else one series after another through fit() on the CPU,
 * each in a memory context of its own that is reset once its model is
 * stored, so a job of many series holds one series' training at a time.
 */
void
tsf_kind_train(const TsfKind *kind, TsfSeriesState **series, int n, int device,
			   const struct tsfc_api *api, const TsfTrainHooks *hooks)
{
	MemoryContext cxt,
				old;

	if (api != NULL && kind->fit_batch != NULL)
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

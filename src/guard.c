/*
 * guard.c
 *		What keeps any call of tsforecast from exhausting the server: the
 *		memory limit tsforecast.max_memory, the one check every caller makes
 *		against it before it allocates, and the cancel callback through
 *		which the numerical cores stop within milliseconds.
 *
 * Any role may call any function of the extension, so none of them may be
 * a way to exhaust the server.  Under Linux's overcommit an allocation that
 * succeeds can still get the backend killed when its pages are touched,
 * which restarts every connection of the server: the allocator's error
 * path protects nothing.  So every size a caller controls (a network, the
 * span of a series after its gaps are filled, a forecast horizon times a
 * network, a job's series) is turned into bytes first, and checked here
 * against the limit a superuser sets, before anything is allocated.
 *
 * The limit bounds the arrays of one operation: one fit (ar_fit,
 * lstm_train, one series of a job), one forecast() call, one window
 * partition of predict(), the series a job holds at once, one model shown
 * as jsonb.  PostgreSQL's own structures around them (tuplestores, the
 * executor's memory) are bounded by work_mem as usual.
 *
 * The cores (src/core, src/nn) include no PostgreSQL header, so they
 * cannot call CHECK_FOR_INTERRUPTS(): the glue hands them
 * tsf_poll_cancel, which they call every few milliseconds of work and
 * which only reads the flags a cancel sets.  A core that is told to stop
 * returns a status; the glue then raises the cancel's error
 * (tsf_raise_cancel), outside the core.
 */
#include "postgres.h"

#include <limits.h>

#include "utils/builtins.h"
#include "utils/guc.h"

#include "guard.h"

/* tsforecast.max_memory, in kilobytes */
int			tsf_max_memory_kb = 1024 * 1024;

void
tsf_guard_init(void)
{
	DefineCustomIntVariable("tsforecast.max_memory",
							"Largest memory one training, forecast or prediction of tsforecast may allocate.",
							"Checked before the memory is taken; an operation that would need more fails with an error that says how much.",
							&tsf_max_memory_kb, 1024 * 1024, 1024, MAX_KILOBYTES,
							PGC_SUSET, GUC_UNIT_KB, NULL, NULL, NULL);
}

/* the limit in bytes */
double
tsf_max_memory_bytes(void)
{
	return (double) tsf_max_memory_kb * 1024.0;
}

/* bytes as pg_size_pretty() writes them */
char *
tsf_size_pretty(double bytes)
{
	int64		b = bytes >= (double) PG_INT64_MAX ? PG_INT64_MAX : (int64) bytes;

	return text_to_cstring(DatumGetTextPP(DirectFunctionCall1(pg_size_pretty,
															  Int64GetDatum(b))));
}

/*
 * Raise the error of an operation that would need more memory than
 * tsforecast.max_memory allows, or return when it fits.  need is computed
 * by the caller in double arithmetic, so no size overflows on the way;
 * detail is a whole sentence saying what the size comes from.
 */
void
tsf_check_memory(double need, TsfMemUse use, const char *detail)
{
	const char *pretty;
	const char *limit;

	if (need <= tsf_max_memory_bytes())
		return;
	pretty = tsf_size_pretty(need);
	limit = tsf_size_pretty(tsf_max_memory_bytes());

	switch (use)
	{
		case TSF_MEM_SERIES:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("collecting the time series needs %s of memory", pretty),
					 errdetail("%s The limit, tsforecast.max_memory, is %s.", detail, limit),
					 errhint("Train on fewer points, or ask a superuser to raise tsforecast.max_memory.")));
			break;
		case TSF_MEM_GRID:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("the time series on its grid needs %s of memory", pretty),
					 errdetail("%s The limit, tsforecast.max_memory, is %s.", detail, limit),
					 errhint("Check the timestamps: the series spans every step from its first to its last, gaps filled in. Or ask a superuser to raise tsforecast.max_memory.")));
			break;
		case TSF_MEM_AR_FIT:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("fitting the AR model needs %s of memory", pretty),
					 errdetail("%s The limit, tsforecast.max_memory, is %s.", detail, limit),
					 errhint("Use a lower order or a shorter series, or ask a superuser to raise tsforecast.max_memory.")));
			break;
		case TSF_MEM_LSTM_TRAIN:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("training the LSTM needs %s of memory", pretty),
					 errdetail("%s The limit, tsforecast.max_memory, is %s.", detail, limit),
					 errhint("Use a smaller network (\"hidden\", \"layers\") or a shorter series, or ask a superuser to raise tsforecast.max_memory.")));
			break;
		case TSF_MEM_FORECAST:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("the forecast needs %s of memory", pretty),
					 errdetail("%s The limit, tsforecast.max_memory, is %s.", detail, limit),
					 errhint("Use a shorter horizon, or ask a superuser to raise tsforecast.max_memory.")));
			break;
		case TSF_MEM_PREDICT:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("the predictions need %s of memory", pretty),
					 errdetail("%s The limit, tsforecast.max_memory, is %s.", detail, limit),
					 errhint("Predict over fewer rows at a time (PARTITION BY a key), or ask a superuser to raise tsforecast.max_memory.")));
			break;
		case TSF_MEM_JOB:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("the training job needs %s of memory for its series", pretty),
					 errdetail("%s The limit, tsforecast.max_memory, is %s.", detail, limit),
					 errhint("Split the job into several, e.g. by a hash of the series key, or ask a superuser to raise tsforecast.max_memory.")));
			break;
		case TSF_MEM_JSON:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("showing the model as jsonb needs %s of memory", pretty),
					 errdetail("%s The limit, tsforecast.max_memory, is %s.", detail, limit),
					 errhint("Use model_info(), which leaves out the parameters, or ask a superuser to raise tsforecast.max_memory.")));
			break;
	}
}

/* the cores' poll callback: nonzero when a cancel or termination is pending */
int
tsf_poll_cancel(void *arg)
{
	return TSF_CANCEL_PENDING() ? 1 : 0;
}

/*
 * Raise the pending cancel's error (statement timeout, user request,
 * termination) after a core stopped for it.  Should the interrupt be held
 * off here, the operation still ends, with the plain cancel error.
 */
void
tsf_raise_cancel(void)
{
	CHECK_FOR_INTERRUPTS();
	ereport(ERROR,
			(errcode(ERRCODE_QUERY_CANCELED),
			 errmsg("canceling statement due to user request")));
}

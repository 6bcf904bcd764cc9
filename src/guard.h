/*
 * guard.h
 *		What keeps any call from exhausting the server: tsforecast.max_memory,
 *		checked before every allocation of a size a caller controls, and the
 *		cancel poll the numerical cores call (guard.c).
 */
#ifndef TSF_GUARD_H
#define TSF_GUARD_H

#include <float.h>

#include "miscadmin.h"

/* what an operation checked against tsforecast.max_memory is doing */
typedef enum TsfMemUse
{
	TSF_MEM_SERIES,				/* collecting a training aggregate's points */
	TSF_MEM_GRID,				/* the series on its grid, gaps filled */
	TSF_MEM_AR_FIT,
	TSF_MEM_LSTM_TRAIN,
	TSF_MEM_FORECAST,
	TSF_MEM_PREDICT,
	TSF_MEM_JOB,				/* the series a job holds */
	TSF_MEM_JSON				/* a model shown as jsonb */
} TsfMemUse;

extern int	tsf_max_memory_kb;
extern void tsf_guard_init(void);
extern double tsf_max_memory_bytes(void);
extern char *tsf_size_pretty(double bytes);
extern void tsf_check_memory(double need, TsfMemUse use, const char *detail);

/*
 * A cancel (statement_timeout, pg_cancel_backend, pg_terminate_backend)
 * is pending: what the numerical cores' poll callbacks report, so that
 * they return and the glue raises the error (tsf_raise_cancel); a core is
 * never jumped out of.
 */
#define TSF_CANCEL_PENDING() \
	(InterruptPending && (QueryCancelPending || ProcDiePending))
extern void tsf_raise_cancel(void) pg_attribute_noreturn();
extern int	tsf_poll_cancel(void *arg);

/* the largest magnitude of the network core's scalar type */
#ifdef TSF_NN_FLOAT
#define TSF_REAL_MAX	((double) FLT_MAX)
#else
#define TSF_REAL_MAX	DBL_MAX
#endif

#endif							/* TSF_GUARD_H */

/*
 * tsforecast.c
 *		Module entry point of the tsforecast extension.
 *
 * The SQL-facing code is split by concept, each with its header:
 * model.c (the tsmodel type and its stored format), kind.c (the model
 * kinds, tables of routines: model_ar.c; model_lstm.c, lstm_train.c and
 * lstm_model.c), series.c and freq.c (collecting and regularizing a
 * series), options.c, forecast.c, predict.c and metrics.c, guard.c (the
 * memory limit and the cancel poll); training jobs in jobs.c (the SQL
 * functions, shared memory), job_source.c (the source query),
 * job_metadata.c (the job tables) and worker.c (the background workers).  The numerical cores live in src/ar and src/nn (the network)
 * and include no PostgreSQL header; device.c loads the optional CUDA
 * module (src/cuda) at run time.
 */
#include "postgres.h"

#include "utils/guc.h"

#include "device.h"
#include "guard.h"
#include "jobs.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Load time: the GUCs (nothing here touches CUDA: the module is loaded
 * lazily, in backends and workers, never in the postmaster), and when
 * loaded through shared_preload_libraries the shared memory and the
 * launcher of training jobs (jobs.c, worker.c).
 */
void
_PG_init(void)
{
	tsf_guard_init();
	tsf_cuda_init();
	tsf_jobs_init();
	MarkGUCPrefixReserved("tsforecast");
}

/*
 * tsforecast.c
 *		Module entry point of the tsforecast extension.
 *
 * The SQL-facing code is split by concept: model.c (the tsmodel type),
 * series.c and freq.c (collecting and regularizing a series), options.c,
 * ar_fit.c, lstm_train.c and lstm_model.c (the LSTM's training and its
 * inputs), forecast.c, predict.c and metrics.c; training jobs in jobs.c
 * (the SQL functions, shared memory) and worker.c (the background
 * workers).  The numerical cores live in src/core (AR) and src/nn (the
 * network) and include no PostgreSQL header; cuda_loader.c loads the
 * optional CUDA module (src/cuda) at run time.
 */
#include "tsforecast.h"

#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Load time: the GUCs (nothing here touches CUDA: the module is loaded
 * lazily, in backends and workers, never in the postmaster), and when loaded through shared_preload_libraries the
 * shared memory and the launcher of training jobs (jobs.c, worker.c).
 */
void
_PG_init(void)
{
	tsf_limits_init();
	tsf_cuda_init();
	tsf_jobs_init();
	MarkGUCPrefixReserved("tsforecast");
}

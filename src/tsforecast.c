/*
 * tsforecast.c
 *		Module entry point of the tsforecast extension.
 *
 * The SQL-facing code is split by concept: model.c (the tsmodel type),
 * series.c and freq.c (collecting and regularizing a series), options.c,
 * ar_fit.c, forecast.c, predict.c and metrics.c.  The numerical core lives
 * in src/core and includes no PostgreSQL header.
 */
#include "tsforecast.h"

PG_MODULE_MAGIC;

/*
 * tsforecast.c
 *		Module entry point of the tsforecast extension.
 *
 * The SQL-facing code is split by concept: model.c (the tsmodel type),
 * series.c and freq.c (collecting and regularizing a series), options.c,
 * ar_fit.c, lstm_train.c and lstm_model.c (the LSTM's training and its
 * inputs), forecast.c, predict.c and metrics.c.  The numerical cores live
 * in src/core (AR) and src/nn (the network) and include no PostgreSQL
 * header.
 */
#include "tsforecast.h"

PG_MODULE_MAGIC;

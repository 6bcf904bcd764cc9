/* tsforecast 0.4.0: the full install script (never edited after release) */

\echo Use "CREATE EXTENSION tsforecast" to load this file. \quit

-- ---------------------------------------------------------------------------
-- tsmodel: a trained model of any kind
-- ---------------------------------------------------------------------------

CREATE TYPE tsmodel;

CREATE FUNCTION tsmodel_in(cstring) RETURNS tsmodel
    AS 'MODULE_PATHNAME', 'tsf_model_in'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION tsmodel_out(tsmodel) RETURNS cstring
    AS 'MODULE_PATHNAME', 'tsf_model_out'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION tsmodel_recv(internal) RETURNS tsmodel
    AS 'MODULE_PATHNAME', 'tsf_model_recv'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION tsmodel_send(tsmodel) RETURNS bytea
    AS 'MODULE_PATHNAME', 'tsf_model_send'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE tsmodel (
    INPUT = tsmodel_in,
    OUTPUT = tsmodel_out,
    RECEIVE = tsmodel_recv,
    SEND = tsmodel_send,
    INTERNALLENGTH = VARIABLE,
    STORAGE = extended
);

COMMENT ON TYPE tsmodel IS 'a trained time-series model (AR or LSTM); text form is base64 of the versioned binary format';

CREATE FUNCTION model_info(model tsmodel) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'tsf_model_info'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION model_info(tsmodel) IS 'summary of a model: kind, hyperparameters, coefficients and AIC (AR), epochs and losses (LSTM), training range, frequency, fit time';

CREATE FUNCTION tsmodel_to_jsonb(tsmodel) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'tsf_model_to_jsonb'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION tsmodel_to_jsonb(tsmodel) IS 'everything stored in a model, as jsonb (the tsmodel::jsonb cast)';

CREATE CAST (tsmodel AS jsonb) WITH FUNCTION tsmodel_to_jsonb(tsmodel);

-- ---------------------------------------------------------------------------
-- ar_fit(ts, value [, options]): autoregressive models
-- ---------------------------------------------------------------------------

CREATE FUNCTION _series_combinefn(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_series_combinefn'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION _series_serialfn(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'tsf_series_serialfn'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION _series_deserialfn(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_series_deserialfn'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION _ar_fit_finalfn(internal) RETURNS tsmodel
    AS 'MODULE_PATHNAME', 'tsf_ar_fit_finalfn'
    LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION _ar_fit_transfn(internal, timestamptz, float8) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_ar_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _ar_fit_transfn(internal, timestamptz, float8, jsonb) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_ar_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _ar_fit_transfn(internal, date, float8) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_ar_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _ar_fit_transfn(internal, date, float8, jsonb) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_ar_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _ar_fit_transfn(internal, bigint, float8) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_ar_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _ar_fit_transfn(internal, bigint, float8, jsonb) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_ar_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE ar_fit(ts timestamptz, value float8) (
    SFUNC = _ar_fit_transfn, STYPE = internal,
    FINALFUNC = _ar_fit_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);
CREATE AGGREGATE ar_fit(ts timestamptz, value float8, options jsonb) (
    SFUNC = _ar_fit_transfn, STYPE = internal,
    FINALFUNC = _ar_fit_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);
CREATE AGGREGATE ar_fit(ts date, value float8) (
    SFUNC = _ar_fit_transfn, STYPE = internal,
    FINALFUNC = _ar_fit_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);
CREATE AGGREGATE ar_fit(ts date, value float8, options jsonb) (
    SFUNC = _ar_fit_transfn, STYPE = internal,
    FINALFUNC = _ar_fit_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);
CREATE AGGREGATE ar_fit(ts bigint, value float8) (
    SFUNC = _ar_fit_transfn, STYPE = internal,
    FINALFUNC = _ar_fit_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);
CREATE AGGREGATE ar_fit(ts bigint, value float8, options jsonb) (
    SFUNC = _ar_fit_transfn, STYPE = internal,
    FINALFUNC = _ar_fit_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE ar_fit(timestamptz, float8) IS 'fit an autoregressive model, order chosen by AIC';
COMMENT ON AGGREGATE ar_fit(timestamptz, float8, jsonb) IS 'fit an autoregressive model; options: order, max_order, method, intercept, transform, fill';
COMMENT ON AGGREGATE ar_fit(date, float8) IS 'fit an autoregressive model, order chosen by AIC';
COMMENT ON AGGREGATE ar_fit(date, float8, jsonb) IS 'fit an autoregressive model; options: order, max_order, method, intercept, transform, fill';
COMMENT ON AGGREGATE ar_fit(bigint, float8) IS 'fit an autoregressive model on an integer-indexed series, order chosen by AIC';
COMMENT ON AGGREGATE ar_fit(bigint, float8, jsonb) IS 'fit an autoregressive model on an integer-indexed series; options: order, max_order, method, intercept, transform, fill';

-- ---------------------------------------------------------------------------
-- forecast and one-step-ahead predictions
-- ---------------------------------------------------------------------------

CREATE FUNCTION forecast(model tsmodel, horizon integer, level float8 DEFAULT 0.95)
    RETURNS TABLE (step integer, ts timestamptz, value float8, lo float8, hi float8)
    AS 'MODULE_PATHNAME', 'tsf_forecast'
    LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 16;

COMMENT ON FUNCTION forecast(tsmodel, integer, float8) IS 'the next horizon periods after the training data, with a prediction interval at the given level (analytic for AR, Monte Carlo dropout for LSTM)';

CREATE FUNCTION predict(model tsmodel, ts timestamptz, value float8) RETURNS float8
    AS 'MODULE_PATHNAME', 'tsf_predict' LANGUAGE C STABLE WINDOW PARALLEL SAFE;
CREATE FUNCTION predict(model tsmodel, ts date, value float8) RETURNS float8
    AS 'MODULE_PATHNAME', 'tsf_predict' LANGUAGE C STABLE WINDOW PARALLEL SAFE;
CREATE FUNCTION predict(model tsmodel, ts bigint, value float8) RETURNS float8
    AS 'MODULE_PATHNAME', 'tsf_predict' LANGUAGE C STABLE WINDOW PARALLEL SAFE;

COMMENT ON FUNCTION predict(tsmodel, timestamptz, float8) IS 'window function: one-step-ahead prediction of each row from the rows before it; use OVER (ORDER BY ts)';
COMMENT ON FUNCTION predict(tsmodel, date, float8) IS 'window function: one-step-ahead prediction of each row from the rows before it; use OVER (ORDER BY ts)';
COMMENT ON FUNCTION predict(tsmodel, bigint, float8) IS 'window function: one-step-ahead prediction of each row from the rows before it; use OVER (ORDER BY ts)';

-- ---------------------------------------------------------------------------
-- accuracy metrics over (actual, predicted)
-- ---------------------------------------------------------------------------

CREATE FUNCTION _metrics_transfn(float8[], float8, float8) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'tsf_metrics_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _metrics_combinefn(float8[], float8[]) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'tsf_metrics_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _r2_finalfn(float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'tsf_r2_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _rmse_finalfn(float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'tsf_rmse_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _mae_finalfn(float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'tsf_mae_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _mape_finalfn(float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'tsf_mape_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _smape_finalfn(float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'tsf_smape_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _kge_finalfn(float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'tsf_kge_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE r2(actual float8, predicted float8) (
    SFUNC = _metrics_transfn, STYPE = float8[], INITCOND = '{0,0,0,0,0,0,0,0,0,0,0}',
    FINALFUNC = _r2_finalfn, COMBINEFUNC = _metrics_combinefn, PARALLEL = SAFE);
CREATE AGGREGATE nse(actual float8, predicted float8) (
    SFUNC = _metrics_transfn, STYPE = float8[], INITCOND = '{0,0,0,0,0,0,0,0,0,0,0}',
    FINALFUNC = _r2_finalfn, COMBINEFUNC = _metrics_combinefn, PARALLEL = SAFE);
CREATE AGGREGATE rmse(actual float8, predicted float8) (
    SFUNC = _metrics_transfn, STYPE = float8[], INITCOND = '{0,0,0,0,0,0,0,0,0,0,0}',
    FINALFUNC = _rmse_finalfn, COMBINEFUNC = _metrics_combinefn, PARALLEL = SAFE);
CREATE AGGREGATE mae(actual float8, predicted float8) (
    SFUNC = _metrics_transfn, STYPE = float8[], INITCOND = '{0,0,0,0,0,0,0,0,0,0,0}',
    FINALFUNC = _mae_finalfn, COMBINEFUNC = _metrics_combinefn, PARALLEL = SAFE);
CREATE AGGREGATE mape(actual float8, predicted float8) (
    SFUNC = _metrics_transfn, STYPE = float8[], INITCOND = '{0,0,0,0,0,0,0,0,0,0,0}',
    FINALFUNC = _mape_finalfn, COMBINEFUNC = _metrics_combinefn, PARALLEL = SAFE);
CREATE AGGREGATE smape(actual float8, predicted float8) (
    SFUNC = _metrics_transfn, STYPE = float8[], INITCOND = '{0,0,0,0,0,0,0,0,0,0,0}',
    FINALFUNC = _smape_finalfn, COMBINEFUNC = _metrics_combinefn, PARALLEL = SAFE);
CREATE AGGREGATE kge(actual float8, predicted float8) (
    SFUNC = _metrics_transfn, STYPE = float8[], INITCOND = '{0,0,0,0,0,0,0,0,0,0,0}',
    FINALFUNC = _kge_finalfn, COMBINEFUNC = _metrics_combinefn, PARALLEL = SAFE);

COMMENT ON AGGREGATE r2(float8, float8) IS 'coefficient of determination 1 - SSE/SST of predicted against actual';
COMMENT ON AGGREGATE nse(float8, float8) IS 'Nash-Sutcliffe efficiency 1 - SSE/SST (the same formula as r2)';
COMMENT ON AGGREGATE rmse(float8, float8) IS 'root mean squared error';
COMMENT ON AGGREGATE mae(float8, float8) IS 'mean absolute error';
COMMENT ON AGGREGATE mape(float8, float8) IS 'mean absolute percentage error, in percent, over rows with a nonzero actual';
COMMENT ON AGGREGATE smape(float8, float8) IS 'symmetric mean absolute percentage error, in percent (0 to 200)';
COMMENT ON AGGREGATE kge(float8, float8) IS 'Kling-Gupta efficiency (Gupta et al. 2009)';

-- ---------------------------------------------------------------------------
-- lstm_train(ts, value [, covariates] [, options]): LSTM networks (0.2.0)
-- ---------------------------------------------------------------------------

CREATE FUNCTION _lstm_train_finalfn(internal) RETURNS tsmodel
    AS 'MODULE_PATHNAME', 'tsf_lstm_train_finalfn'
    LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION _lstm_train_transfn(internal, timestamptz, float8) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_lstm_train_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _lstm_train_transfn(internal, timestamptz, float8, jsonb) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_lstm_train_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _lstm_train_transfn(internal, timestamptz, float8, float8[], jsonb) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_lstm_train_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _lstm_train_transfn(internal, date, float8) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_lstm_train_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _lstm_train_transfn(internal, date, float8, jsonb) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_lstm_train_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _lstm_train_transfn(internal, date, float8, float8[], jsonb) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_lstm_train_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _lstm_train_transfn(internal, bigint, float8) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_lstm_train_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _lstm_train_transfn(internal, bigint, float8, jsonb) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_lstm_train_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _lstm_train_transfn(internal, bigint, float8, float8[], jsonb) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_lstm_train_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE lstm_train(ts timestamptz, value float8) (
    SFUNC = _lstm_train_transfn, STYPE = internal,
    FINALFUNC = _lstm_train_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);
CREATE AGGREGATE lstm_train(ts timestamptz, value float8, options jsonb) (
    SFUNC = _lstm_train_transfn, STYPE = internal,
    FINALFUNC = _lstm_train_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);
CREATE AGGREGATE lstm_train(ts timestamptz, value float8, covariates float8[], options jsonb) (
    SFUNC = _lstm_train_transfn, STYPE = internal,
    FINALFUNC = _lstm_train_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);
CREATE AGGREGATE lstm_train(ts date, value float8) (
    SFUNC = _lstm_train_transfn, STYPE = internal,
    FINALFUNC = _lstm_train_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);
CREATE AGGREGATE lstm_train(ts date, value float8, options jsonb) (
    SFUNC = _lstm_train_transfn, STYPE = internal,
    FINALFUNC = _lstm_train_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);
CREATE AGGREGATE lstm_train(ts date, value float8, covariates float8[], options jsonb) (
    SFUNC = _lstm_train_transfn, STYPE = internal,
    FINALFUNC = _lstm_train_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);
CREATE AGGREGATE lstm_train(ts bigint, value float8) (
    SFUNC = _lstm_train_transfn, STYPE = internal,
    FINALFUNC = _lstm_train_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);
CREATE AGGREGATE lstm_train(ts bigint, value float8, options jsonb) (
    SFUNC = _lstm_train_transfn, STYPE = internal,
    FINALFUNC = _lstm_train_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);
CREATE AGGREGATE lstm_train(ts bigint, value float8, covariates float8[], options jsonb) (
    SFUNC = _lstm_train_transfn, STYPE = internal,
    FINALFUNC = _lstm_train_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE lstm_train(timestamptz, float8) IS 'train an LSTM network (causal conv, LSTM 40, dropout 0.5, Adam, 200 epochs) on the lagged value and the season';
COMMENT ON AGGREGATE lstm_train(timestamptz, float8, jsonb) IS 'train an LSTM network; options: hidden, layers, dropout, lr, epochs, conv_kernel, conv_channels, seed, transform, validation, patience, progress, fill, season_length, ema, residual';
COMMENT ON AGGREGATE lstm_train(timestamptz, float8, float8[], jsonb) IS 'train an LSTM network with covariates (one float8[] per row, the same length on every row); options as lstm_train(ts, value, options)';
COMMENT ON AGGREGATE lstm_train(date, float8) IS 'train an LSTM network (causal conv, LSTM 40, dropout 0.5, Adam, 200 epochs) on the lagged value and the season';
COMMENT ON AGGREGATE lstm_train(date, float8, jsonb) IS 'train an LSTM network; options: hidden, layers, dropout, lr, epochs, conv_kernel, conv_channels, seed, transform, validation, patience, progress, fill, season_length, ema, residual';
COMMENT ON AGGREGATE lstm_train(date, float8, float8[], jsonb) IS 'train an LSTM network with covariates (one float8[] per row, the same length on every row); options as lstm_train(ts, value, options)';
COMMENT ON AGGREGATE lstm_train(bigint, float8) IS 'train an LSTM network on an integer-indexed series (causal conv, LSTM 40, dropout 0.5, Adam, 200 epochs) on the lagged value and the season';
COMMENT ON AGGREGATE lstm_train(bigint, float8, jsonb) IS 'train an LSTM network on an integer-indexed series; options: hidden, layers, dropout, lr, epochs, conv_kernel, conv_channels, seed, transform, validation, patience, progress, fill, season_length, ema, residual';
COMMENT ON AGGREGATE lstm_train(bigint, float8, float8[], jsonb) IS 'train an LSTM network on an integer-indexed series with covariates (one float8[] per row, the same length on every row); options as lstm_train(ts, value, options)';

-- ---------------------------------------------------------------------------
-- forecast and predict with covariates (LSTM models trained with them)
-- ---------------------------------------------------------------------------

CREATE FUNCTION forecast(model tsmodel, horizon integer, level float8, future_covariates float8[])
    RETURNS TABLE (step integer, ts timestamptz, value float8, lo float8, hi float8)
    AS 'MODULE_PATHNAME', 'tsf_forecast'
    LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 16;

COMMENT ON FUNCTION forecast(tsmodel, integer, float8, float8[]) IS 'the next horizon periods after the training data of a model trained with covariates, given their future values: a float8[horizon][n_covariates]';

CREATE FUNCTION predict(model tsmodel, ts timestamptz, value float8, covariates float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'tsf_predict' LANGUAGE C STABLE WINDOW PARALLEL SAFE;
CREATE FUNCTION predict(model tsmodel, ts date, value float8, covariates float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'tsf_predict' LANGUAGE C STABLE WINDOW PARALLEL SAFE;
CREATE FUNCTION predict(model tsmodel, ts bigint, value float8, covariates float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'tsf_predict' LANGUAGE C STABLE WINDOW PARALLEL SAFE;

COMMENT ON FUNCTION predict(tsmodel, timestamptz, float8, float8[]) IS 'window function: one-step-ahead prediction of each row of a model trained with covariates; use OVER (ORDER BY ts)';
COMMENT ON FUNCTION predict(tsmodel, date, float8, float8[]) IS 'window function: one-step-ahead prediction of each row of a model trained with covariates; use OVER (ORDER BY ts)';
COMMENT ON FUNCTION predict(tsmodel, bigint, float8, float8[]) IS 'window function: one-step-ahead prediction of each row of a model trained with covariates; use OVER (ORDER BY ts)';

-- support functions
COMMENT ON FUNCTION _lstm_train_finalfn(internal) IS 'lstm_train: train on the collected series';
COMMENT ON FUNCTION _lstm_train_transfn(internal, timestamptz, float8) IS 'lstm_train: collect one point';
COMMENT ON FUNCTION _lstm_train_transfn(internal, timestamptz, float8, jsonb) IS 'lstm_train: collect one point';
COMMENT ON FUNCTION _lstm_train_transfn(internal, timestamptz, float8, float8[], jsonb) IS 'lstm_train: collect one point';
COMMENT ON FUNCTION _lstm_train_transfn(internal, date, float8) IS 'lstm_train: collect one point';
COMMENT ON FUNCTION _lstm_train_transfn(internal, date, float8, jsonb) IS 'lstm_train: collect one point';
COMMENT ON FUNCTION _lstm_train_transfn(internal, date, float8, float8[], jsonb) IS 'lstm_train: collect one point';
COMMENT ON FUNCTION _lstm_train_transfn(internal, bigint, float8) IS 'lstm_train: collect one point';
COMMENT ON FUNCTION _lstm_train_transfn(internal, bigint, float8, jsonb) IS 'lstm_train: collect one point';
COMMENT ON FUNCTION _lstm_train_transfn(internal, bigint, float8, float8[], jsonb) IS 'lstm_train: collect one point';

-- ---------------------------------------------------------------------------
-- support functions: named for what they serve, not to be called directly
-- ---------------------------------------------------------------------------

COMMENT ON FUNCTION tsmodel_in(cstring) IS 'tsmodel input: base64 of the stored format, validated';
COMMENT ON FUNCTION tsmodel_out(tsmodel) IS 'tsmodel output: base64 of the stored format';
COMMENT ON FUNCTION tsmodel_recv(internal) IS 'tsmodel binary input, validated';
COMMENT ON FUNCTION tsmodel_send(tsmodel) IS 'tsmodel binary output';
COMMENT ON FUNCTION _series_combinefn(internal, internal) IS 'training aggregates: merge two partial series';
COMMENT ON FUNCTION _series_serialfn(internal) IS 'training aggregates: serialize a partial series';
COMMENT ON FUNCTION _series_deserialfn(bytea, internal) IS 'training aggregates: deserialize a partial series';
COMMENT ON FUNCTION _ar_fit_finalfn(internal) IS 'ar_fit: fit the collected series';
COMMENT ON FUNCTION _ar_fit_transfn(internal, timestamptz, float8) IS 'ar_fit: collect one point';
COMMENT ON FUNCTION _ar_fit_transfn(internal, timestamptz, float8, jsonb) IS 'ar_fit: collect one point';
COMMENT ON FUNCTION _ar_fit_transfn(internal, date, float8) IS 'ar_fit: collect one point';
COMMENT ON FUNCTION _ar_fit_transfn(internal, date, float8, jsonb) IS 'ar_fit: collect one point';
COMMENT ON FUNCTION _ar_fit_transfn(internal, bigint, float8) IS 'ar_fit: collect one point';
COMMENT ON FUNCTION _ar_fit_transfn(internal, bigint, float8, jsonb) IS 'ar_fit: collect one point';
COMMENT ON FUNCTION _metrics_transfn(float8[], float8, float8) IS 'accuracy metrics: add one (actual, predicted) pair';
COMMENT ON FUNCTION _metrics_combinefn(float8[], float8[]) IS 'accuracy metrics: merge two partial states';
COMMENT ON FUNCTION _r2_finalfn(float8[]) IS 'r2 and nse: 1 - SSE/SST';
COMMENT ON FUNCTION _rmse_finalfn(float8[]) IS 'rmse: root mean squared error';
COMMENT ON FUNCTION _mae_finalfn(float8[]) IS 'mae: mean absolute error';
COMMENT ON FUNCTION _mape_finalfn(float8[]) IS 'mape: mean absolute percentage error';
COMMENT ON FUNCTION _smape_finalfn(float8[]) IS 'smape: symmetric mean absolute percentage error';
COMMENT ON FUNCTION _kge_finalfn(float8[]) IS 'kge: Kling-Gupta efficiency';

-- ---------------------------------------------------------------------------
-- training jobs: train_async, the jobs view, cancel_job, wait_job, models
-- (0.3.0).  The tables belong to the extension's owner and grant nothing
-- directly: the C functions check the caller's rights and write them as the
-- owner; the jobs view filters by role; models has row-level security.
-- ---------------------------------------------------------------------------

CREATE TABLE _jobs (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    owner regrole NOT NULL,
    source text NOT NULL,
    spec jsonb NOT NULL,
    search_path text NOT NULL,
    state text NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    device text,
    submitted_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz,
    series_done integer,
    series_total integer,
    epoch integer,
    epochs integer,
    loss float8,
    val_loss float8,
    error text
);
CREATE INDEX _jobs_queued ON _jobs (id) WHERE state = 'queued';
COMMENT ON TABLE _jobs IS 'training jobs, one row each (read them through the jobs view)';
SELECT pg_catalog.pg_extension_config_dump('_jobs', '');
SELECT pg_catalog.pg_extension_config_dump('_jobs_id_seq', '');

CREATE TABLE models (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    series_key text,
    model tsmodel NOT NULL,
    metrics jsonb,
    spec jsonb NOT NULL,
    seed integer,
    data_from text NOT NULL,
    data_to text NOT NULL,
    n_rows bigint NOT NULL,
    version text NOT NULL,
    job_id bigint NOT NULL,
    owner regrole NOT NULL,
    trained_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (owner, name, series_key)
);
COMMENT ON TABLE models IS 'the models trained by jobs: one row per series, with metrics and provenance';
SELECT pg_catalog.pg_extension_config_dump('models', '');
SELECT pg_catalog.pg_extension_config_dump('models_id_seq', '');
ALTER TABLE models ENABLE ROW LEVEL SECURITY;
CREATE POLICY models_of_role ON models USING (pg_catalog.pg_has_role(owner::oid, 'USAGE'));
GRANT SELECT, DELETE ON models TO PUBLIC;

CREATE FUNCTION train_async(name text, source text, spec jsonb) RETURNS bigint
    AS 'MODULE_PATHNAME', 'tsf_train_async'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION train_async(text, text, jsonb) IS 'queue a training job over the rows of source ([series key,] ts, value [, covariates]); spec: {"kind": "ar"|"lstm", "device": "auto"|"cpu"|"cuda", options}; returns the job id';

CREATE FUNCTION cancel_job(id bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'tsf_cancel_job'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION cancel_job(bigint) IS 'cancel a queued or running job; false if it had already ended';

CREATE FUNCTION wait_job(id bigint, timeout interval DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME', 'tsf_wait_job'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION wait_job(bigint, interval) IS 'wait until a job ends (or the timeout passes) and return its state';

CREATE FUNCTION _job_progress()
    RETURNS TABLE (job_id bigint, pid integer, series_done integer, series_total integer,
                   epoch integer, epochs integer, loss float8, val_loss float8,
                   cancel_requested boolean)
    AS 'MODULE_PATHNAME', 'tsf_job_progress'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 4;
COMMENT ON FUNCTION _job_progress() IS 'jobs view: the live progress of the running jobs the current role may see, from shared memory';

CREATE VIEW jobs WITH (security_barrier) AS
SELECT j.id, j.name, j.owner, j.state,
       CASE WHEN j.state = 'queued' THEN NULL
            ELSE concat_ws(', ',
                   format('series %s of %s', coalesce(p.series_done, j.series_done, 0),
                          coalesce(p.series_total::text, j.series_total::text, '?')),
                   CASE WHEN coalesce(p.epochs, j.epochs) IS NOT NULL
                        THEN format('epoch %s of %s', coalesce(p.epoch, j.epoch), coalesce(p.epochs, j.epochs)) END)
       END AS progress,
       coalesce(p.series_done, j.series_done) AS series_done,
       coalesce(p.series_total, j.series_total) AS series_total,
       coalesce(p.epoch, j.epoch) AS epoch,
       coalesce(p.epochs, j.epochs) AS epochs,
       coalesce(p.loss, j.loss) AS loss,
       coalesce(p.val_loss, j.val_loss) AS val_loss,
       j.device, j.submitted_at, j.started_at, j.finished_at, j.error,
       p.pid, coalesce(p.cancel_requested, false) AS cancel_requested,
       j.spec, j.source
  FROM _jobs j LEFT JOIN _job_progress() p ON p.job_id = j.id
 WHERE pg_catalog.pg_has_role(j.owner::oid, 'USAGE')
    OR (pg_catalog.pg_has_role('pg_signal_backend', 'USAGE')
        AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid = j.owner::oid));
COMMENT ON VIEW jobs IS 'training jobs the current role may see: state, live progress, losses, times, error';
GRANT SELECT ON jobs TO PUBLIC;

-- ---------------------------------------------------------------------------
-- the CUDA backend (0.4.0): loaded at run time where a GPU is usable
-- ---------------------------------------------------------------------------

CREATE FUNCTION cuda_device() RETURNS text
    AS 'MODULE_PATHNAME', 'tsf_cuda_device'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION cuda_device() IS 'the GPU the CUDA backend trains on, or NULL where it is not usable (module not built or installed, no driver, no GPU)';

-- LSTM models are tens of kilobytes of float8 parameters (float32 values
-- widened, so a third of their bytes are zeros): lz4 stores them in about
-- three quarters of the space in 0.05 ms each, pglz (the default) in 60%
-- but 3 ms each, which was most of a GPU job's time.  A server built
-- without lz4 keeps the default.
DO $$
BEGIN
    ALTER TABLE models ALTER COLUMN model SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END $$;

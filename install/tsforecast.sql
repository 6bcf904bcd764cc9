/*
 * tsforecast: the objects of the current release, the one source of its
 * full install script.  `make` copies this file to
 * install/tsforecast--$(EXTVERSION).sql (EXTVERSION: tsforecast.control's
 * default_version), which CREATE EXTENSION runs; that copy is generated,
 * not committed.  An older installation reaches the same objects through
 * the released scripts: tsforecast--0.1.0.sql, then one upgrade script per
 * release (tsforecast--<from>--<to>.sql), none of them ever edited.
 *
 * A change here is a change of the release: it comes with an upgrade
 * script from the previous release that makes the same objects, and
 * sql/upgrade.sql proves the two give the same catalog.
 */

\echo Use "CREATE EXTENSION tsforecast" to load this file. \quit

-- ---------------------------------------------------------------------------
-- tsmodel: a trained model of any kind
-- ---------------------------------------------------------------------------

CREATE TYPE tsmodel;

CREATE FUNCTION tsmodel_in(cstring) RETURNS tsmodel
    AS 'MODULE_PATHNAME', 'tsf_model_in'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION tsmodel_in(cstring) IS 'tsmodel input: base64 of the stored format, validated';

CREATE FUNCTION tsmodel_out(tsmodel) RETURNS cstring
    AS 'MODULE_PATHNAME', 'tsf_model_out'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION tsmodel_out(tsmodel) IS 'tsmodel output: base64 of the stored format';

CREATE FUNCTION tsmodel_recv(internal) RETURNS tsmodel
    AS 'MODULE_PATHNAME', 'tsf_model_recv'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION tsmodel_recv(internal) IS 'tsmodel binary input, validated';

CREATE FUNCTION tsmodel_send(tsmodel) RETURNS bytea
    AS 'MODULE_PATHNAME', 'tsf_model_send'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION tsmodel_send(tsmodel) IS 'tsmodel binary output';

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
-- the training aggregates' state: the collected series, merged, serialized
-- and deserialized the same way for ar_fit and lstm_train (so both run in
-- parallel and on Citus workers)
-- ---------------------------------------------------------------------------

CREATE FUNCTION _series_combinefn(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_series_combinefn'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION _series_combinefn(internal, internal) IS 'training aggregates: merge two partial series';

CREATE FUNCTION _series_serialfn(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'tsf_series_serialfn'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION _series_serialfn(internal) IS 'training aggregates: serialize a partial series';

CREATE FUNCTION _series_deserialfn(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_series_deserialfn'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION _series_deserialfn(bytea, internal) IS 'training aggregates: deserialize a partial series';

-- ---------------------------------------------------------------------------
-- ar_fit(ts, value [, covariates, options]): autoregressive models, for each type of
-- ts (timestamptz, date, bigint)
-- ---------------------------------------------------------------------------

CREATE FUNCTION _ar_fit_finalfn(internal) RETURNS tsmodel
    AS 'MODULE_PATHNAME', 'tsf_ar_fit_finalfn'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION _ar_fit_finalfn(internal) IS 'ar_fit: fit the collected series';

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
COMMENT ON FUNCTION _ar_fit_transfn(internal, timestamptz, float8) IS 'ar_fit: collect one point';
COMMENT ON FUNCTION _ar_fit_transfn(internal, timestamptz, float8, jsonb) IS 'ar_fit: collect one point';
COMMENT ON FUNCTION _ar_fit_transfn(internal, date, float8) IS 'ar_fit: collect one point';
COMMENT ON FUNCTION _ar_fit_transfn(internal, date, float8, jsonb) IS 'ar_fit: collect one point';
COMMENT ON FUNCTION _ar_fit_transfn(internal, bigint, float8) IS 'ar_fit: collect one point';
COMMENT ON FUNCTION _ar_fit_transfn(internal, bigint, float8, jsonb) IS 'ar_fit: collect one point';

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

-- with covariates (since 0.6.0): the user's exogenous terms
CREATE FUNCTION _ar_fit_transfn(internal, timestamptz, float8, float8[], jsonb) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_ar_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _ar_fit_transfn(internal, date, float8, float8[], jsonb) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_ar_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _ar_fit_transfn(internal, bigint, float8, float8[], jsonb) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_ar_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION _ar_fit_transfn(internal, timestamptz, float8, float8[], jsonb) IS 'ar_fit: collect one point and its covariates';
COMMENT ON FUNCTION _ar_fit_transfn(internal, date, float8, float8[], jsonb) IS 'ar_fit: collect one point and its covariates';
COMMENT ON FUNCTION _ar_fit_transfn(internal, bigint, float8, float8[], jsonb) IS 'ar_fit: collect one point and its covariates';

CREATE AGGREGATE ar_fit(ts timestamptz, value float8, covariates float8[], options jsonb) (
    SFUNC = _ar_fit_transfn, STYPE = internal,
    FINALFUNC = _ar_fit_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);
CREATE AGGREGATE ar_fit(ts date, value float8, covariates float8[], options jsonb) (
    SFUNC = _ar_fit_transfn, STYPE = internal,
    FINALFUNC = _ar_fit_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);
CREATE AGGREGATE ar_fit(ts bigint, value float8, covariates float8[], options jsonb) (
    SFUNC = _ar_fit_transfn, STYPE = internal,
    FINALFUNC = _ar_fit_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE ar_fit(timestamptz, float8) IS 'fit an autoregressive model, order chosen by AIC';
COMMENT ON AGGREGATE ar_fit(date, float8) IS 'fit an autoregressive model, order chosen by AIC';
COMMENT ON AGGREGATE ar_fit(bigint, float8) IS 'fit an autoregressive model on an integer-indexed series, order chosen by AIC';
COMMENT ON AGGREGATE ar_fit(timestamptz, float8, jsonb) IS 'fit an autoregressive model; options: order, max_order, method, intercept, transform, fill, harmonics, season_length';
COMMENT ON AGGREGATE ar_fit(date, float8, jsonb) IS 'fit an autoregressive model; options: order, max_order, method, intercept, transform, fill, harmonics, season_length';
COMMENT ON AGGREGATE ar_fit(bigint, float8, jsonb) IS 'fit an autoregressive model on an integer-indexed series; options: order, max_order, method, intercept, transform, fill, harmonics, season_length';
COMMENT ON AGGREGATE ar_fit(timestamptz, float8, float8[], jsonb) IS 'fit an autoregressive model with the covariates of each row as exogenous terms (forecast() then takes their future values); options as ar_fit''s';
COMMENT ON AGGREGATE ar_fit(date, float8, float8[], jsonb) IS 'fit an autoregressive model with the covariates of each row as exogenous terms (forecast() then takes their future values); options as ar_fit''s';
COMMENT ON AGGREGATE ar_fit(bigint, float8, float8[], jsonb) IS 'fit an autoregressive model on an integer-indexed series with the covariates of each row as exogenous terms (forecast() then takes their future values); options as ar_fit''s';

-- ---------------------------------------------------------------------------
-- lstm_train(ts, value [, covariates] [, options]): LSTM networks, for each
-- type of ts (since 0.2.0)
-- ---------------------------------------------------------------------------

CREATE FUNCTION _lstm_train_finalfn(internal) RETURNS tsmodel
    AS 'MODULE_PATHNAME', 'tsf_lstm_train_finalfn'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION _lstm_train_finalfn(internal) IS 'lstm_train: train on the collected series';

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
COMMENT ON FUNCTION _lstm_train_transfn(internal, timestamptz, float8) IS 'lstm_train: collect one point';
COMMENT ON FUNCTION _lstm_train_transfn(internal, timestamptz, float8, jsonb) IS 'lstm_train: collect one point';
COMMENT ON FUNCTION _lstm_train_transfn(internal, timestamptz, float8, float8[], jsonb) IS 'lstm_train: collect one point';
COMMENT ON FUNCTION _lstm_train_transfn(internal, date, float8) IS 'lstm_train: collect one point';
COMMENT ON FUNCTION _lstm_train_transfn(internal, date, float8, jsonb) IS 'lstm_train: collect one point';
COMMENT ON FUNCTION _lstm_train_transfn(internal, date, float8, float8[], jsonb) IS 'lstm_train: collect one point';
COMMENT ON FUNCTION _lstm_train_transfn(internal, bigint, float8) IS 'lstm_train: collect one point';
COMMENT ON FUNCTION _lstm_train_transfn(internal, bigint, float8, jsonb) IS 'lstm_train: collect one point';
COMMENT ON FUNCTION _lstm_train_transfn(internal, bigint, float8, float8[], jsonb) IS 'lstm_train: collect one point';

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
-- forecast(model, horizon [, level] [, future_covariates]): the periods
-- after the training data
-- ---------------------------------------------------------------------------

CREATE FUNCTION forecast(model tsmodel, horizon integer, level float8 DEFAULT 0.95)
    RETURNS TABLE (step integer, ts timestamptz, value float8, lo float8, hi float8)
    AS 'MODULE_PATHNAME', 'tsf_forecast'
    LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 16;
COMMENT ON FUNCTION forecast(tsmodel, integer, float8) IS 'the next horizon periods after the training data, with a prediction interval at the given level (analytic for AR, Monte Carlo dropout for LSTM)';

-- LSTM models trained with covariates (since 0.2.0)
CREATE FUNCTION forecast(model tsmodel, horizon integer, level float8, future_covariates float8[])
    RETURNS TABLE (step integer, ts timestamptz, value float8, lo float8, hi float8)
    AS 'MODULE_PATHNAME', 'tsf_forecast'
    LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 16;
COMMENT ON FUNCTION forecast(tsmodel, integer, float8, float8[]) IS 'the next horizon periods after the training data of a model trained with covariates, given their future values: a float8[horizon][n_covariates]';

-- ---------------------------------------------------------------------------
-- forecast_buckets(model, bucket, horizon [, level [, options]]): forecasts
-- of calendar buckets (weekly means of a daily model) from sample paths
-- (since 0.6.0)
-- ---------------------------------------------------------------------------

CREATE FUNCTION forecast_buckets(model tsmodel, bucket interval, horizon integer,
                                 level float8 DEFAULT 0.95, options jsonb DEFAULT '{}')
    RETURNS TABLE (bucket integer, bucket_start timestamptz, bucket_end timestamptz,
                   steps integer, value float8, mean float8, lo float8, hi float8)
    AS 'MODULE_PATHNAME', 'tsf_forecast_buckets_sql'
    LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 16;
COMMENT ON FUNCTION forecast_buckets(tsmodel, interval, integer, float8, jsonb) IS 'the next horizon buckets (date_bin''s, of the given width) that start after the training data, each the mean (or sum) of the model steps it covers: the median of sample paths'' aggregates, their mean and the interval at the given level; options: origin, paths, seed, aggregate';

-- ---------------------------------------------------------------------------
-- predict(model, ts, value [, covariates]) OVER (ORDER BY ts): one-step-ahead
-- predictions over any history, for each type of ts
-- ---------------------------------------------------------------------------

CREATE FUNCTION predict(model tsmodel, ts timestamptz, value float8) RETURNS float8
    AS 'MODULE_PATHNAME', 'tsf_predict' LANGUAGE C STABLE WINDOW PARALLEL SAFE;
CREATE FUNCTION predict(model tsmodel, ts date, value float8) RETURNS float8
    AS 'MODULE_PATHNAME', 'tsf_predict' LANGUAGE C STABLE WINDOW PARALLEL SAFE;
CREATE FUNCTION predict(model tsmodel, ts bigint, value float8) RETURNS float8
    AS 'MODULE_PATHNAME', 'tsf_predict' LANGUAGE C STABLE WINDOW PARALLEL SAFE;

COMMENT ON FUNCTION predict(tsmodel, timestamptz, float8) IS 'window function: one-step-ahead prediction of each row from the rows before it; use OVER (ORDER BY ts)';
COMMENT ON FUNCTION predict(tsmodel, date, float8) IS 'window function: one-step-ahead prediction of each row from the rows before it; use OVER (ORDER BY ts)';
COMMENT ON FUNCTION predict(tsmodel, bigint, float8) IS 'window function: one-step-ahead prediction of each row from the rows before it; use OVER (ORDER BY ts)';

-- LSTM models trained with covariates (since 0.2.0)
CREATE FUNCTION predict(model tsmodel, ts timestamptz, value float8, covariates float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'tsf_predict' LANGUAGE C STABLE WINDOW PARALLEL SAFE;
CREATE FUNCTION predict(model tsmodel, ts date, value float8, covariates float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'tsf_predict' LANGUAGE C STABLE WINDOW PARALLEL SAFE;
CREATE FUNCTION predict(model tsmodel, ts bigint, value float8, covariates float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'tsf_predict' LANGUAGE C STABLE WINDOW PARALLEL SAFE;

COMMENT ON FUNCTION predict(tsmodel, timestamptz, float8, float8[]) IS 'window function: one-step-ahead prediction of each row of a model trained with covariates; use OVER (ORDER BY ts)';
COMMENT ON FUNCTION predict(tsmodel, date, float8, float8[]) IS 'window function: one-step-ahead prediction of each row of a model trained with covariates; use OVER (ORDER BY ts)';
COMMENT ON FUNCTION predict(tsmodel, bigint, float8, float8[]) IS 'window function: one-step-ahead prediction of each row of a model trained with covariates; use OVER (ORDER BY ts)';

-- ---------------------------------------------------------------------------
-- model_update(model, ts, value [, covariates]): a stored model's state
-- moved on over new rows, to forecast from fresh data without refitting
-- (since 0.6.0)
-- ---------------------------------------------------------------------------

CREATE FUNCTION _model_update_transfn(internal, tsmodel, timestamptz, float8) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_model_update_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _model_update_transfn(internal, tsmodel, date, float8) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_model_update_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _model_update_transfn(internal, tsmodel, bigint, float8) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_model_update_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _model_update_transfn(internal, tsmodel, timestamptz, float8, float8[]) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_model_update_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _model_update_transfn(internal, tsmodel, date, float8, float8[]) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_model_update_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _model_update_transfn(internal, tsmodel, bigint, float8, float8[]) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_model_update_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _model_update_finalfn(internal) RETURNS tsmodel
    AS 'MODULE_PATHNAME', 'tsf_model_update_finalfn' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION _model_update_transfn(internal, tsmodel, timestamptz, float8) IS 'model_update: collect one new point';
COMMENT ON FUNCTION _model_update_transfn(internal, tsmodel, date, float8) IS 'model_update: collect one new point';
COMMENT ON FUNCTION _model_update_transfn(internal, tsmodel, bigint, float8) IS 'model_update: collect one new point';
COMMENT ON FUNCTION _model_update_transfn(internal, tsmodel, timestamptz, float8, float8[]) IS 'model_update: collect one new point';
COMMENT ON FUNCTION _model_update_transfn(internal, tsmodel, date, float8, float8[]) IS 'model_update: collect one new point';
COMMENT ON FUNCTION _model_update_transfn(internal, tsmodel, bigint, float8, float8[]) IS 'model_update: collect one new point';
COMMENT ON FUNCTION _model_update_finalfn(internal) IS 'model_update: move the model''s state over the collected points';

CREATE AGGREGATE model_update(model tsmodel, ts timestamptz, value float8) (
    SFUNC = _model_update_transfn, STYPE = internal,
    FINALFUNC = _model_update_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE);
CREATE AGGREGATE model_update(model tsmodel, ts date, value float8) (
    SFUNC = _model_update_transfn, STYPE = internal,
    FINALFUNC = _model_update_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE);
CREATE AGGREGATE model_update(model tsmodel, ts bigint, value float8) (
    SFUNC = _model_update_transfn, STYPE = internal,
    FINALFUNC = _model_update_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE);
CREATE AGGREGATE model_update(model tsmodel, ts timestamptz, value float8, covariates float8[]) (
    SFUNC = _model_update_transfn, STYPE = internal,
    FINALFUNC = _model_update_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE);
CREATE AGGREGATE model_update(model tsmodel, ts date, value float8, covariates float8[]) (
    SFUNC = _model_update_transfn, STYPE = internal,
    FINALFUNC = _model_update_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE);
CREATE AGGREGATE model_update(model tsmodel, ts bigint, value float8, covariates float8[]) (
    SFUNC = _model_update_transfn, STYPE = internal,
    FINALFUNC = _model_update_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE model_update(tsmodel, timestamptz, float8) IS 'the model with its state moved on over the new rows (its last values for AR, its network state for LSTM), its parameters unchanged: forecast() then starts after the last row';
COMMENT ON AGGREGATE model_update(tsmodel, date, float8) IS 'the model with its state moved on over the new rows (its last values for AR, its network state for LSTM), its parameters unchanged: forecast() then starts after the last row';
COMMENT ON AGGREGATE model_update(tsmodel, bigint, float8) IS 'the model with its state moved on over the new rows (its last values for AR, its network state for LSTM), its parameters unchanged: forecast() then starts after the last row';
COMMENT ON AGGREGATE model_update(tsmodel, timestamptz, float8, float8[]) IS 'model_update for a model trained with covariates: the new rows'' covariates too';
COMMENT ON AGGREGATE model_update(tsmodel, date, float8, float8[]) IS 'model_update for a model trained with covariates: the new rows'' covariates too';
COMMENT ON AGGREGATE model_update(tsmodel, bigint, float8, float8[]) IS 'model_update for a model trained with covariates: the new rows'' covariates too';

-- ---------------------------------------------------------------------------
-- backtest(ts, value, spec, settings): rolling-origin evaluation of a spec,
-- one backtest_row per (origin, step) (since 0.6.0)
-- ---------------------------------------------------------------------------

CREATE TYPE backtest_row AS (origin timestamptz, step integer, ts timestamptz,
                             forecast float8, lo float8, hi float8, actual float8,
                             scale float8);
COMMENT ON TYPE backtest_row IS 'a backtest''s forecast of one step from one origin: the target ts, the forecast and its interval, the actual value (NULL where the data has none) and the naive forecast''s in-sample MAE over the fit''s rows (mase()''s scale)';

CREATE FUNCTION _backtest_transfn(internal, timestamptz, float8, jsonb, jsonb) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_backtest_transfn' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION _backtest_transfn(internal, date, float8, jsonb, jsonb) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_backtest_transfn' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION _backtest_finalfn(internal) RETURNS backtest_row[]
    AS 'MODULE_PATHNAME', 'tsf_backtest_finalfn' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION _backtest_transfn(internal, timestamptz, float8, jsonb, jsonb) IS 'backtest: collect one point';
COMMENT ON FUNCTION _backtest_transfn(internal, date, float8, jsonb, jsonb) IS 'backtest: collect one point';
COMMENT ON FUNCTION _backtest_finalfn(internal) IS 'backtest: fit and forecast from every origin';

CREATE AGGREGATE backtest(ts timestamptz, value float8, spec jsonb, settings jsonb) (
    SFUNC = _backtest_transfn, STYPE = internal,
    FINALFUNC = _backtest_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE);
CREATE AGGREGATE backtest(ts date, value float8, spec jsonb, settings jsonb) (
    SFUNC = _backtest_transfn, STYPE = internal,
    FINALFUNC = _backtest_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE backtest(timestamptz, float8, jsonb, jsonb) IS 'rolling-origin backtest of a spec ({"kind": ..., options}); settings: horizon, origins or start/initial and every, window, refit_every, level, mase_season, progress';
COMMENT ON AGGREGATE backtest(date, float8, jsonb, jsonb) IS 'rolling-origin backtest of a spec ({"kind": ..., options}); settings: horizon, origins or start/initial and every, window, refit_every, level, mase_season, progress';

-- ---------------------------------------------------------------------------
-- accuracy metrics over (actual, predicted): one state for all of them
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

COMMENT ON FUNCTION _metrics_transfn(float8[], float8, float8) IS 'accuracy metrics: add one (actual, predicted) pair';
COMMENT ON FUNCTION _metrics_combinefn(float8[], float8[]) IS 'accuracy metrics: merge two partial states';
COMMENT ON FUNCTION _r2_finalfn(float8[]) IS 'r2 and nse: 1 - SSE/SST';
COMMENT ON FUNCTION _rmse_finalfn(float8[]) IS 'rmse: root mean squared error';
COMMENT ON FUNCTION _mae_finalfn(float8[]) IS 'mae: mean absolute error';
COMMENT ON FUNCTION _mape_finalfn(float8[]) IS 'mape: mean absolute percentage error';
COMMENT ON FUNCTION _smape_finalfn(float8[]) IS 'smape: symmetric mean absolute percentage error';
COMMENT ON FUNCTION _kge_finalfn(float8[]) IS 'kge: Kling-Gupta efficiency';

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
-- accuracy metrics with arguments of their own (since 0.6.0): mase over
-- (actual, predicted, scale), its scale naive_mae(ts, value [, season]) for
-- each type of ts, and over prediction intervals coverage and winkler
-- ---------------------------------------------------------------------------

CREATE FUNCTION _mase_transfn(float8[], float8, float8, float8) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'tsf_mase_transfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _mase_combinefn(float8[], float8[]) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'tsf_mase_combinefn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _mase_finalfn(float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'tsf_mase_finalfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _coverage_transfn(float8[], float8, float8, float8) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'tsf_coverage_transfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _coverage_combinefn(float8[], float8[]) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'tsf_coverage_combinefn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _coverage_finalfn(float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'tsf_coverage_finalfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _winkler_transfn(float8[], float8, float8, float8, float8) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'tsf_winkler_transfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _winkler_combinefn(float8[], float8[]) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'tsf_winkler_combinefn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _winkler_finalfn(float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'tsf_winkler_finalfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION _mase_transfn(float8[], float8, float8, float8) IS 'mase: add one (actual, predicted, scale) row';
COMMENT ON FUNCTION _mase_combinefn(float8[], float8[]) IS 'mase: merge two partial states';
COMMENT ON FUNCTION _mase_finalfn(float8[]) IS 'mase: mean of |actual - predicted| / scale';
COMMENT ON FUNCTION _coverage_transfn(float8[], float8, float8, float8) IS 'coverage: add one (actual, lo, hi) row';
COMMENT ON FUNCTION _coverage_combinefn(float8[], float8[]) IS 'coverage: merge two partial states';
COMMENT ON FUNCTION _coverage_finalfn(float8[]) IS 'coverage: fraction of rows with lo <= actual <= hi';
COMMENT ON FUNCTION _winkler_transfn(float8[], float8, float8, float8, float8) IS 'winkler: add one (actual, lo, hi, level) row';
COMMENT ON FUNCTION _winkler_combinefn(float8[], float8[]) IS 'winkler: merge two partial states';
COMMENT ON FUNCTION _winkler_finalfn(float8[]) IS 'winkler: mean interval score';

CREATE AGGREGATE mase(actual float8, predicted float8, scale float8) (
    SFUNC = _mase_transfn, STYPE = float8[], INITCOND = '{0,0}',
    FINALFUNC = _mase_finalfn, COMBINEFUNC = _mase_combinefn, PARALLEL = SAFE);
CREATE AGGREGATE coverage(actual float8, lo float8, hi float8) (
    SFUNC = _coverage_transfn, STYPE = float8[], INITCOND = '{0,0}',
    FINALFUNC = _coverage_finalfn, COMBINEFUNC = _coverage_combinefn, PARALLEL = SAFE);
CREATE AGGREGATE winkler(actual float8, lo float8, hi float8, level float8) (
    SFUNC = _winkler_transfn, STYPE = float8[], INITCOND = '{0,0,0}',
    FINALFUNC = _winkler_finalfn, COMBINEFUNC = _winkler_combinefn, PARALLEL = SAFE);

COMMENT ON AGGREGATE mase(float8, float8, float8) IS 'mean absolute scaled error: mean of |actual - predicted| / scale, scale the training rows'' naive_mae';
COMMENT ON AGGREGATE coverage(float8, float8, float8) IS 'fraction of rows whose actual value lies in its prediction interval [lo, hi]';
COMMENT ON AGGREGATE winkler(float8, float8, float8, float8) IS 'mean interval (Winkler) score of prediction intervals at a level, the same on every row: width plus 2/(1 - level) times the miss';

CREATE FUNCTION _naive_mae_transfn(internal, timestamptz, float8) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_naive_mae_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _naive_mae_transfn(internal, timestamptz, float8, integer) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_naive_mae_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _naive_mae_transfn(internal, date, float8) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_naive_mae_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _naive_mae_transfn(internal, date, float8, integer) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_naive_mae_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _naive_mae_transfn(internal, bigint, float8) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_naive_mae_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _naive_mae_transfn(internal, bigint, float8, integer) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_naive_mae_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _naive_mae_combinefn(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_naive_mae_combinefn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _naive_mae_serialfn(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'tsf_naive_mae_serialfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _naive_mae_deserialfn(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_naive_mae_deserialfn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION _naive_mae_finalfn(internal) RETURNS float8
    AS 'MODULE_PATHNAME', 'tsf_naive_mae_finalfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION _naive_mae_transfn(internal, timestamptz, float8) IS 'naive_mae: collect one point';
COMMENT ON FUNCTION _naive_mae_transfn(internal, timestamptz, float8, integer) IS 'naive_mae: collect one point';
COMMENT ON FUNCTION _naive_mae_transfn(internal, date, float8) IS 'naive_mae: collect one point';
COMMENT ON FUNCTION _naive_mae_transfn(internal, date, float8, integer) IS 'naive_mae: collect one point';
COMMENT ON FUNCTION _naive_mae_transfn(internal, bigint, float8) IS 'naive_mae: collect one point';
COMMENT ON FUNCTION _naive_mae_transfn(internal, bigint, float8, integer) IS 'naive_mae: collect one point';
COMMENT ON FUNCTION _naive_mae_combinefn(internal, internal) IS 'naive_mae: merge two partial series';
COMMENT ON FUNCTION _naive_mae_serialfn(internal) IS 'naive_mae: serialize a partial series';
COMMENT ON FUNCTION _naive_mae_deserialfn(bytea, internal) IS 'naive_mae: deserialize a partial series';
COMMENT ON FUNCTION _naive_mae_finalfn(internal) IS 'naive_mae: the mean absolute error of the naive forecast over the points in ts order';

CREATE AGGREGATE naive_mae(ts timestamptz, value float8) (
    SFUNC = _naive_mae_transfn, STYPE = internal,
    FINALFUNC = _naive_mae_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _naive_mae_combinefn,
    SERIALFUNC = _naive_mae_serialfn, DESERIALFUNC = _naive_mae_deserialfn,
    PARALLEL = SAFE);
CREATE AGGREGATE naive_mae(ts timestamptz, value float8, season integer) (
    SFUNC = _naive_mae_transfn, STYPE = internal,
    FINALFUNC = _naive_mae_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _naive_mae_combinefn,
    SERIALFUNC = _naive_mae_serialfn, DESERIALFUNC = _naive_mae_deserialfn,
    PARALLEL = SAFE);
CREATE AGGREGATE naive_mae(ts date, value float8) (
    SFUNC = _naive_mae_transfn, STYPE = internal,
    FINALFUNC = _naive_mae_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _naive_mae_combinefn,
    SERIALFUNC = _naive_mae_serialfn, DESERIALFUNC = _naive_mae_deserialfn,
    PARALLEL = SAFE);
CREATE AGGREGATE naive_mae(ts date, value float8, season integer) (
    SFUNC = _naive_mae_transfn, STYPE = internal,
    FINALFUNC = _naive_mae_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _naive_mae_combinefn,
    SERIALFUNC = _naive_mae_serialfn, DESERIALFUNC = _naive_mae_deserialfn,
    PARALLEL = SAFE);
CREATE AGGREGATE naive_mae(ts bigint, value float8) (
    SFUNC = _naive_mae_transfn, STYPE = internal,
    FINALFUNC = _naive_mae_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _naive_mae_combinefn,
    SERIALFUNC = _naive_mae_serialfn, DESERIALFUNC = _naive_mae_deserialfn,
    PARALLEL = SAFE);
CREATE AGGREGATE naive_mae(ts bigint, value float8, season integer) (
    SFUNC = _naive_mae_transfn, STYPE = internal,
    FINALFUNC = _naive_mae_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _naive_mae_combinefn,
    SERIALFUNC = _naive_mae_serialfn, DESERIALFUNC = _naive_mae_deserialfn,
    PARALLEL = SAFE);

COMMENT ON AGGREGATE naive_mae(timestamptz, float8) IS 'mean absolute error of the one-step naive forecast (each value predicted by the one before it, rows in ts order): the scale of mase';
COMMENT ON AGGREGATE naive_mae(timestamptz, float8, integer) IS 'mean absolute error of the seasonal naive forecast (each value predicted by the one season rows before it, rows in ts order): the scale of mase';
COMMENT ON AGGREGATE naive_mae(date, float8) IS 'mean absolute error of the one-step naive forecast (each value predicted by the one before it, rows in ts order): the scale of mase';
COMMENT ON AGGREGATE naive_mae(date, float8, integer) IS 'mean absolute error of the seasonal naive forecast (each value predicted by the one season rows before it, rows in ts order): the scale of mase';
COMMENT ON AGGREGATE naive_mae(bigint, float8) IS 'mean absolute error of the one-step naive forecast (each value predicted by the one before it, rows in ts order): the scale of mase';
COMMENT ON AGGREGATE naive_mae(bigint, float8, integer) IS 'mean absolute error of the seasonal naive forecast (each value predicted by the one season rows before it, rows in ts order): the scale of mase';

-- ---------------------------------------------------------------------------
-- training jobs, the tables (since 0.3.0): _jobs, one row per job, and
-- models, the models jobs trained.  They belong to the extension's owner.
-- The C functions check the caller's rights and write them as the owner,
-- through the job-table functions below; a role reads its own rows
-- directly (row-level security), so that it can pg_dump a database it may
-- read: with --enable-row-security, its dump holds its own jobs and
-- models.  Both are dumped as configuration tables.
-- ---------------------------------------------------------------------------

-- statement_timeout: the submitting session's, in milliseconds (0: none),
-- applied to the job.  signature: an HMAC, keyed by a secret of the server
-- (in its data directory), over everything the job's worker acts on: the
-- launcher starts only jobs whose row train_async wrote, on this server,
-- for this database, however the table's rows came to be (since 0.5.0).
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
    error text,
    statement_timeout integer NOT NULL DEFAULT 0
        CHECK (statement_timeout >= 0),
    signature bytea
);
CREATE INDEX _jobs_queued ON _jobs (id) WHERE state = 'queued';
CREATE INDEX _jobs_running ON _jobs (id) WHERE state = 'running';
COMMENT ON TABLE _jobs IS 'training jobs, one row each (read them through the jobs view)';
SELECT pg_catalog.pg_extension_config_dump('_jobs', '');
SELECT pg_catalog.pg_extension_config_dump('_jobs_id_seq', '');
ALTER TABLE _jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY _jobs_of_role ON _jobs FOR SELECT
    USING (pg_catalog.pg_has_role(owner::oid, 'USAGE')
           OR (pg_catalog.pg_has_role('pg_signal_backend', 'USAGE')
               AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid = owner::oid)));
GRANT SELECT ON _jobs TO PUBLIC;

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

GRANT SELECT ON _jobs_id_seq, models_id_seq TO PUBLIC;

-- LSTM models are tens of kilobytes of float8 parameters (float32 values
-- widened, so a third of their bytes are zeros): lz4 stores them in about
-- three quarters of the space in 0.05 ms each, pglz (the default) in 60%
-- but 3 ms each, which was most of a GPU job's time.  A server built
-- without lz4 keeps the default (since 0.4.0).
DO $$
BEGIN
    ALTER TABLE models ALTER COLUMN model SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END $$;

-- ---------------------------------------------------------------------------
-- training jobs, the functions: train_async, cancel_job, wait_job and the
-- jobs view, which filters by role and adds the live progress of running
-- jobs from shared memory
-- ---------------------------------------------------------------------------

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
-- training jobs, the job tables' SQL, all of it (since 0.5.0): what the job
-- functions and the background workers run (src/job_metadata.c calls these
-- as the tables' owner, with search_path pinned), and what the isolation
-- tests race.  Not for direct use: EXECUTE is revoked from PUBLIC.
-- ---------------------------------------------------------------------------

CREATE FUNCTION _job_next_id() RETURNS bigint
    LANGUAGE sql VOLATILE PARALLEL UNSAFE
    AS $$ SELECT pg_catalog.nextval('tsforecast._jobs_id_seq') $$;

CREATE FUNCTION _job_submit(id bigint, name text, owner regrole, source text, spec jsonb,
                            search_path text, statement_timeout integer, signature bytea)
    RETURNS void LANGUAGE sql VOLATILE PARALLEL UNSAFE
    AS $$
INSERT INTO tsforecast._jobs (id, name, owner, source, spec, search_path, statement_timeout, signature)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
$$;

-- what the workers and the job functions read of a job (row_xmin: the
-- transaction that last wrote it)
CREATE FUNCTION _job_row(job_id bigint)
    RETURNS TABLE (id bigint, name text, owner oid, source text, spec jsonb, search_path text,
                   state text, statement_timeout integer, signature bytea, row_xmin xid)
    LANGUAGE sql STABLE PARALLEL UNSAFE
    AS $$
SELECT j.id, j.name, j.owner::oid, j.source, j.spec, j.search_path, j.state,
       j.statement_timeout, j.signature, j.xmin
  FROM tsforecast._jobs j WHERE j.id = $1
$$;

-- the launcher's claim: the oldest queued job, one launcher at a time per row
CREATE FUNCTION _job_claim()
    RETURNS TABLE (id bigint, name text, owner oid, source text, spec jsonb, search_path text,
                   state text, statement_timeout integer, signature bytea, row_xmin xid)
    LANGUAGE sql VOLATILE PARALLEL UNSAFE
    AS $$
UPDATE tsforecast._jobs j SET state = 'running', started_at = pg_catalog.now(), device = NULL
 WHERE j.id = (SELECT q.id FROM tsforecast._jobs q WHERE q.state = 'queued'
                ORDER BY q.id LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING j.id, j.name, j.owner::oid, j.source, j.spec, j.search_path, j.state,
          j.statement_timeout, j.signature, j.xmin
$$;

-- a claimed job whose worker could not be started goes back to the queue
CREATE FUNCTION _job_requeue(id bigint) RETURNS boolean
    LANGUAGE sql VOLATILE PARALLEL UNSAFE
    AS $$
WITH u AS (UPDATE tsforecast._jobs j SET state = 'queued', started_at = NULL, device = NULL
            WHERE j.id = $1 AND j.state = 'running' RETURNING 1)
SELECT pg_catalog.count(*) = 1 FROM u
$$;

CREATE FUNCTION _job_set_device(id bigint, device text) RETURNS boolean
    LANGUAGE sql VOLATILE PARALLEL UNSAFE
    AS $$
WITH u AS (UPDATE tsforecast._jobs j SET device = $2
            WHERE j.id = $1 AND j.state = 'running' RETURNING 1)
SELECT pg_catalog.count(*) = 1 FROM u
$$;

-- a running job's end, as its worker records it; false if it was no longer running
CREATE FUNCTION _job_finish(id bigint, state text, error text, series_done integer,
                            series_total integer, epoch integer, epochs integer,
                            loss float8, val_loss float8) RETURNS boolean
    LANGUAGE sql VOLATILE PARALLEL UNSAFE
    AS $$
WITH u AS (UPDATE tsforecast._jobs j
              SET state = $2, error = $3, finished_at = pg_catalog.now(), series_done = $4,
                  series_total = $5, epoch = $6, epochs = $7, loss = $8, val_loss = $9
            WHERE j.id = $1 AND j.state = 'running' RETURNING 1)
SELECT pg_catalog.count(*) = 1 FROM u
$$;

-- a running job failed without its worker recording it
CREATE FUNCTION _job_fail(id bigint, error text) RETURNS boolean
    LANGUAGE sql VOLATILE PARALLEL UNSAFE
    AS $$
WITH u AS (UPDATE tsforecast._jobs j SET state = 'failed', finished_at = pg_catalog.now(), error = $2
            WHERE j.id = $1 AND j.state = 'running' RETURNING 1)
SELECT pg_catalog.count(*) = 1 FROM u
$$;

-- running jobs that no worker holds (the launcher's slots: keep) failed
CREATE FUNCTION _job_fail_orphans(keep bigint[], error text) RETURNS SETOF bigint
    LANGUAGE sql VOLATILE PARALLEL UNSAFE
    AS $$
UPDATE tsforecast._jobs j SET state = 'failed', finished_at = pg_catalog.now(), error = $2
 WHERE j.state = 'running' AND NOT j.id = ANY ($1)
RETURNING j.id
$$;

-- cancel_job on a job in state from_state; false if it was in another
CREATE FUNCTION _job_cancel(id bigint, from_state text) RETURNS boolean
    LANGUAGE sql VOLATILE PARALLEL UNSAFE
    AS $$
WITH u AS (UPDATE tsforecast._jobs j SET state = 'cancelled', finished_at = pg_catalog.now()
            WHERE j.id = $1 AND j.state = $2 RETURNING 1)
SELECT pg_catalog.count(*) = 1 FROM u
$$;

-- a job's models replace those of the same owner and name: one such job at a time
CREATE FUNCTION _models_replace(owner regrole, name text) RETURNS void
    LANGUAGE sql VOLATILE PARALLEL UNSAFE
    AS $$
SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext($1::oid::text || '/' || $2));
DELETE FROM tsforecast.models m WHERE m.owner = $1 AND m.name = $2;
$$;

CREATE FUNCTION _models_insert(name text, series_key text, model tsmodel, metrics jsonb,
                               spec jsonb, seed integer, data_from text, data_to text,
                               n_rows bigint, version text, job_id bigint, owner regrole)
    RETURNS void LANGUAGE sql VOLATILE PARALLEL UNSAFE
    AS $$
INSERT INTO tsforecast.models (name, series_key, model, metrics, spec, seed, data_from, data_to,
                               n_rows, version, job_id, owner)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
$$;

REVOKE ALL ON FUNCTION _job_next_id(), _job_submit(bigint, text, regrole, text, jsonb, text, integer, bytea),
    _job_row(bigint), _job_claim(), _job_requeue(bigint), _job_set_device(bigint, text),
    _job_finish(bigint, text, text, integer, integer, integer, integer, float8, float8),
    _job_fail(bigint, text), _job_fail_orphans(bigint[], text), _job_cancel(bigint, text),
    _models_replace(regrole, text),
    _models_insert(text, text, tsmodel, jsonb, jsonb, integer, text, text, bigint, text, bigint, regrole)
    FROM PUBLIC;

COMMENT ON FUNCTION _job_next_id() IS 'job tables: the next job id (train_async)';
COMMENT ON FUNCTION _job_submit(bigint, text, regrole, text, jsonb, text, integer, bytea) IS 'job tables: queue a signed job (train_async)';
COMMENT ON FUNCTION _job_row(bigint) IS 'job tables: a job''s row';
COMMENT ON FUNCTION _job_claim() IS 'job tables: the launcher claims the oldest queued job';
COMMENT ON FUNCTION _job_requeue(bigint) IS 'job tables: a claimed job back to the queue';
COMMENT ON FUNCTION _job_set_device(bigint, text) IS 'job tables: where a running job trains';
COMMENT ON FUNCTION _job_finish(bigint, text, text, integer, integer, integer, integer, float8, float8) IS 'job tables: a running job''s outcome, as its worker records it';
COMMENT ON FUNCTION _job_fail(bigint, text) IS 'job tables: a running job failed without its worker';
COMMENT ON FUNCTION _job_fail_orphans(bigint[], text) IS 'job tables: running jobs no worker holds, failed';
COMMENT ON FUNCTION _job_cancel(bigint, text) IS 'job tables: cancel a job in a given state';
COMMENT ON FUNCTION _models_replace(regrole, text) IS 'models: a job''s models replace those of its owner and name';
COMMENT ON FUNCTION _models_insert(text, text, tsmodel, jsonb, jsonb, integer, text, text, bigint, text, bigint, regrole) IS 'models: a job''s model';

-- ---------------------------------------------------------------------------
-- backtest jobs (since 0.6.0): backtest_async runs backtest() over every
-- series of a source in the background worker; its rows land in backtests,
-- one per (series, origin, step), which a role reads as it reads models
-- ---------------------------------------------------------------------------

CREATE TABLE backtests (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    series_key text,
    origin timestamptz,
    step integer NOT NULL,
    ts timestamptz,
    forecast float8 NOT NULL,
    lo float8 NOT NULL,
    hi float8 NOT NULL,
    actual float8,
    scale float8,
    job_id bigint NOT NULL,
    owner regrole NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX backtests_owner_name ON backtests (owner, name, series_key);
COMMENT ON TABLE backtests IS 'the rows of backtest jobs (backtest_async): one per series, origin and step, as backtest() returns them';
SELECT pg_catalog.pg_extension_config_dump('backtests', '');
SELECT pg_catalog.pg_extension_config_dump('backtests_id_seq', '');
ALTER TABLE backtests ENABLE ROW LEVEL SECURITY;
CREATE POLICY backtests_of_role ON backtests USING (pg_catalog.pg_has_role(owner::oid, 'USAGE'));
GRANT SELECT, DELETE ON backtests TO PUBLIC;
GRANT SELECT ON backtests_id_seq TO PUBLIC;

CREATE FUNCTION backtest_async(name text, source text, spec jsonb, settings jsonb) RETURNS bigint
    AS 'MODULE_PATHNAME', 'tsf_backtest_async'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION backtest_async(text, text, jsonb, jsonb) IS 'queue a backtest job: backtest(ts, value, spec, settings) of every series of the source query (columns as for train_async), its rows into tsforecast.backtests under the job''s name; returns the job id';

-- a job's rows replace those of the same owner and name: one such job at a time
CREATE FUNCTION _backtests_replace(owner regrole, name text) RETURNS void
    LANGUAGE sql VOLATILE PARALLEL UNSAFE
    AS $$
SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('backtest/' || $1::oid::text || '/' || $2));
DELETE FROM tsforecast.backtests b WHERE b.owner = $1 AND b.name = $2;
$$;

CREATE FUNCTION _backtests_insert(name text, series_key text, rows tsforecast.backtest_row[],
                                  job_id bigint, owner regrole)
    RETURNS void LANGUAGE sql VOLATILE PARALLEL UNSAFE
    AS $$
INSERT INTO tsforecast.backtests (name, series_key, origin, step, ts, forecast, lo, hi, actual,
                                  scale, job_id, owner)
SELECT $1, $2, r.origin, r.step, r.ts, r.forecast, r.lo, r.hi, r.actual, r.scale, $4, $5
  FROM pg_catalog.unnest($3) r
$$;

REVOKE ALL ON FUNCTION _backtests_replace(regrole, text),
    _backtests_insert(text, text, tsforecast.backtest_row[], bigint, regrole) FROM PUBLIC;
COMMENT ON FUNCTION _backtests_replace(regrole, text) IS 'backtests: a job''s rows replace those of its owner and name';
COMMENT ON FUNCTION _backtests_insert(text, text, tsforecast.backtest_row[], bigint, regrole) IS 'backtests: one series'' rows of a job';

-- ---------------------------------------------------------------------------
-- a training job over a Citus table distributed by its series column (since
-- 0.6.0): the job's one distributed query groups the source by the series
-- with _job_fit, which the workers run in each shard's task: the kind's fit
-- of the series and the job's metrics of its model (job_citus.c); its
-- state is the training aggregates' collected series, merged, serialized
-- and deserialized as theirs
-- ---------------------------------------------------------------------------

CREATE TYPE _job_fit_result AS (model tsmodel, metrics jsonb, n_rows bigint);
COMMENT ON TYPE _job_fit_result IS 'a training job''s model of one series trained on a Citus worker, its metrics and the rows read';

CREATE FUNCTION _job_fit_finalfn(internal) RETURNS _job_fit_result
    AS 'MODULE_PATHNAME', 'tsf_job_fit_finalfn'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION _job_fit_finalfn(internal) IS '_job_fit: train on the collected series as a job does, and score the model';

CREATE FUNCTION _job_fit_transfn(internal, timestamptz, float8, jsonb, integer) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_job_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _job_fit_transfn(internal, date, float8, jsonb, integer) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_job_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _job_fit_transfn(internal, bigint, float8, jsonb, integer) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_job_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _job_fit_transfn(internal, timestamptz, float8, float8[], jsonb, integer) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_job_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _job_fit_transfn(internal, date, float8, float8[], jsonb, integer) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_job_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION _job_fit_transfn(internal, bigint, float8, float8[], jsonb, integer) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_job_fit_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION _job_fit_transfn(internal, timestamptz, float8, jsonb, integer) IS '_job_fit: collect one point';
COMMENT ON FUNCTION _job_fit_transfn(internal, date, float8, jsonb, integer) IS '_job_fit: collect one point';
COMMENT ON FUNCTION _job_fit_transfn(internal, bigint, float8, jsonb, integer) IS '_job_fit: collect one point';
COMMENT ON FUNCTION _job_fit_transfn(internal, timestamptz, float8, float8[], jsonb, integer) IS '_job_fit: collect one point and its covariates';
COMMENT ON FUNCTION _job_fit_transfn(internal, date, float8, float8[], jsonb, integer) IS '_job_fit: collect one point and its covariates';
COMMENT ON FUNCTION _job_fit_transfn(internal, bigint, float8, float8[], jsonb, integer) IS '_job_fit: collect one point and its covariates';

CREATE AGGREGATE _job_fit(ts timestamptz, value float8, options jsonb, kind integer) (
    SFUNC = _job_fit_transfn, STYPE = internal,
    FINALFUNC = _job_fit_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);
CREATE AGGREGATE _job_fit(ts date, value float8, options jsonb, kind integer) (
    SFUNC = _job_fit_transfn, STYPE = internal,
    FINALFUNC = _job_fit_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);
CREATE AGGREGATE _job_fit(ts bigint, value float8, options jsonb, kind integer) (
    SFUNC = _job_fit_transfn, STYPE = internal,
    FINALFUNC = _job_fit_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);
CREATE AGGREGATE _job_fit(ts timestamptz, value float8, covariates float8[], options jsonb, kind integer) (
    SFUNC = _job_fit_transfn, STYPE = internal,
    FINALFUNC = _job_fit_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);
CREATE AGGREGATE _job_fit(ts date, value float8, covariates float8[], options jsonb, kind integer) (
    SFUNC = _job_fit_transfn, STYPE = internal,
    FINALFUNC = _job_fit_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);
CREATE AGGREGATE _job_fit(ts bigint, value float8, covariates float8[], options jsonb, kind integer) (
    SFUNC = _job_fit_transfn, STYPE = internal,
    FINALFUNC = _job_fit_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE _job_fit(timestamptz, float8, jsonb, integer) IS 'a training job''s step on a Citus worker: one series'' model (the kind''s id), its metrics and rows';
COMMENT ON AGGREGATE _job_fit(date, float8, jsonb, integer) IS 'a training job''s step on a Citus worker: one series'' model (the kind''s id), its metrics and rows';
COMMENT ON AGGREGATE _job_fit(bigint, float8, jsonb, integer) IS 'a training job''s step on a Citus worker: one series'' model (the kind''s id), its metrics and rows';
COMMENT ON AGGREGATE _job_fit(timestamptz, float8, float8[], jsonb, integer) IS 'a training job''s step on a Citus worker: one series'' model with covariates (the kind''s id), its metrics and rows';
COMMENT ON AGGREGATE _job_fit(date, float8, float8[], jsonb, integer) IS 'a training job''s step on a Citus worker: one series'' model with covariates (the kind''s id), its metrics and rows';
COMMENT ON AGGREGATE _job_fit(bigint, float8, float8[], jsonb, integer) IS 'a training job''s step on a Citus worker: one series'' model with covariates (the kind''s id), its metrics and rows';

-- ---------------------------------------------------------------------------
-- the CUDA backend (since 0.4.0): a separate module, loaded at run time
-- where a GPU is usable
-- ---------------------------------------------------------------------------

CREATE FUNCTION cuda_device() RETURNS text
    AS 'MODULE_PATHNAME', 'tsf_cuda_device'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION cuda_device() IS 'the GPU the CUDA backend trains on, or NULL where it is not usable (module not built or installed, no driver, no GPU)';

-- ---------------------------------------------------------------------------
-- fit(ts, value, spec): any spec as an aggregate, {"kind": ..., options}, as
-- train_async() and backtest() take it: the kinds "combine" (a combination
-- of models) and "auto" (the automatic spec) have no aggregate of their own
-- (since 0.6.0)
-- ---------------------------------------------------------------------------

CREATE FUNCTION _fit_transfn(internal, timestamptz, float8, jsonb) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_fit_transfn' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION _fit_transfn(internal, date, float8, jsonb) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_fit_transfn' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION _fit_transfn(internal, bigint, float8, jsonb) RETURNS internal
    AS 'MODULE_PATHNAME', 'tsf_fit_transfn' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION _fit_finalfn(internal) RETURNS tsmodel
    AS 'MODULE_PATHNAME', 'tsf_fit_finalfn' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION _fit_transfn(internal, timestamptz, float8, jsonb) IS 'fit: collect one point';
COMMENT ON FUNCTION _fit_transfn(internal, date, float8, jsonb) IS 'fit: collect one point';
COMMENT ON FUNCTION _fit_transfn(internal, bigint, float8, jsonb) IS 'fit: collect one point';
COMMENT ON FUNCTION _fit_finalfn(internal) IS 'fit: fit the spec on the collected series';

CREATE AGGREGATE fit(ts timestamptz, value float8, spec jsonb) (
    SFUNC = _fit_transfn, STYPE = internal,
    FINALFUNC = _fit_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE);
CREATE AGGREGATE fit(ts date, value float8, spec jsonb) (
    SFUNC = _fit_transfn, STYPE = internal,
    FINALFUNC = _fit_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE);
CREATE AGGREGATE fit(ts bigint, value float8, spec jsonb) (
    SFUNC = _fit_transfn, STYPE = internal,
    FINALFUNC = _fit_finalfn, FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = _series_combinefn,
    SERIALFUNC = _series_serialfn, DESERIALFUNC = _series_deserialfn,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE fit(timestamptz, float8, jsonb) IS 'fit any spec ({"kind": "ar" | "lstm" | "combine" | "auto", options}) as train_async and backtest take it';
COMMENT ON AGGREGATE fit(date, float8, jsonb) IS 'fit any spec ({"kind": "ar" | "lstm" | "combine" | "auto", options}) as train_async and backtest take it';
COMMENT ON AGGREGATE fit(bigint, float8, jsonb) IS 'fit any spec ({"kind": "ar" | "lstm" | "combine" | "auto", options}) on an integer-indexed series';

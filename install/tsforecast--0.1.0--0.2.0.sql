/* tsforecast 0.1.0 -> 0.2.0: the LSTM (never edited after release) */

\echo Use "ALTER EXTENSION tsforecast UPDATE TO '0.2.0'" to load this file. \quit

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
-- comments of 0.1.0 objects that now cover the LSTM too
-- ---------------------------------------------------------------------------

COMMENT ON FUNCTION model_info(tsmodel) IS 'summary of a model: kind, hyperparameters, coefficients and AIC (AR), epochs and losses (LSTM), training range, frequency, fit time';
COMMENT ON FUNCTION forecast(tsmodel, integer, float8) IS 'the next horizon periods after the training data, with a prediction interval at the given level (analytic for AR, Monte Carlo dropout for LSTM)';

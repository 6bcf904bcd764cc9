/* tsforecast 0.5.0 -> 0.6.0: evaluation (never edited after release) */

\echo Use "ALTER EXTENSION tsforecast UPDATE TO '0.6.0'" to load this file. \quit

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
-- ar_fit(ts, value, covariates, options): AR models with the user's
-- covariates as exogenous terms, and the options "harmonics" and
-- "season_length" (Fourier terms of the season) in every ar_fit (since
-- 0.6.0)
-- ---------------------------------------------------------------------------

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

COMMENT ON AGGREGATE ar_fit(timestamptz, float8, jsonb) IS 'fit an autoregressive model; options: order, max_order, method, intercept, transform, fill, harmonics, season_length';
COMMENT ON AGGREGATE ar_fit(date, float8, jsonb) IS 'fit an autoregressive model; options: order, max_order, method, intercept, transform, fill, harmonics, season_length';
COMMENT ON AGGREGATE ar_fit(bigint, float8, jsonb) IS 'fit an autoregressive model on an integer-indexed series; options: order, max_order, method, intercept, transform, fill, harmonics, season_length';
COMMENT ON AGGREGATE ar_fit(timestamptz, float8, float8[], jsonb) IS 'fit an autoregressive model with the covariates of each row as exogenous terms (forecast() then takes their future values); options as ar_fit''s';
COMMENT ON AGGREGATE ar_fit(date, float8, float8[], jsonb) IS 'fit an autoregressive model with the covariates of each row as exogenous terms (forecast() then takes their future values); options as ar_fit''s';
COMMENT ON AGGREGATE ar_fit(bigint, float8, float8[], jsonb) IS 'fit an autoregressive model on an integer-indexed series with the covariates of each row as exogenous terms (forecast() then takes their future values); options as ar_fit''s';

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

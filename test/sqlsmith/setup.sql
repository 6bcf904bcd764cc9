-- test/sqlsmith/setup.sql: the database test/sqlsmith.sh lets sqlsmith loose
-- on, run by psql as a superuser in a fresh database, from the repository
-- root (the data is \copy'd from test/fixtures/verde_weekly.csv).
--
-- Real data and its derivations (several gauges, a daily and an integer
-- series, covariates), a table of models of every kind, tables of the
-- numbers and options a caller could pass, models with one stored byte
-- changed that still pass input validation, views that forecast and
-- predict with all of them, helpers, and the role tsf_smith that sqlsmith
-- connects as: a non-superuser with SELECT on these tables and views, USAGE
-- on the schema tsforecast, a statement_timeout and a temp_file_limit.
--
-- sqlsmith (1.4) reads the catalog to decide what to call: routines and
-- aggregates from pg_proc, types from pg_type, both named without a
-- schema.  Left to itself it picks among PostgreSQL's 3,000 functions, its
-- conditions are mostly NULLs of types nothing here has, and of the
-- extension it can call neither forecast() (set-returning functions are
-- skipped) nor predict() (window functions too).  So the role's
-- search_path puts two schemas before pg_catalog, each with a materialized
-- view (information_schema.tables does not list those, so queries do not
-- select from them): smith_catalog.pg_proc, the functions worth calling
-- here (the extension's, the helpers of the schema smith, ~200 built-ins
-- that make or take their arguments, predict() shown as an aggregate,
-- since sqlsmith calls aggregates only as "agg(...) OVER (PARTITION BY ...
-- ORDER BY ...)", which is how predict() is called), and smith_types.pg_type
-- (see there).  test/sqlsmith.sh's second run puts only smith_types
-- before pg_catalog, so it sees every function.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION tsforecast;
SET search_path = public, tsforecast;

-- ---------------------------------------------------------------------------
-- the data
-- ---------------------------------------------------------------------------

-- the weekly Verde River, 1989-2020
CREATE TABLE verde (week_start date PRIMARY KEY, flow float8 NOT NULL);
\copy verde FROM 'test/fixtures/verde_weekly.csv' WITH (FORMAT csv, HEADER true)

-- seven gauges: the river (0) and windows of it, scaled; one with gaps,
-- one short, one constant, one with zero and negative values
CREATE TABLE gauges (gauge int4, week_start date, flow float8, PRIMARY KEY (gauge, week_start));
INSERT INTO gauges
SELECT 0, week_start, flow FROM verde
UNION ALL
SELECT 1, week_start, flow FROM verde WHERE week_start >= '2010-01-03'
UNION ALL
SELECT 2, week_start, flow * 2.5 FROM verde WHERE week_start >= '2012-01-01'
UNION ALL
SELECT 3, week_start, flow * 0.5 + 10 FROM verde
 WHERE week_start >= '2015-01-04' AND extract(week FROM week_start) NOT IN (10, 11, 30)
UNION ALL
SELECT 4, week_start, flow FROM verde WHERE week_start >= '2020-05-24'
UNION ALL
SELECT 5, week_start, 42 FROM verde WHERE week_start >= '2019-06-30'
UNION ALL
SELECT 6, week_start, flow - 60 FROM verde WHERE week_start >= '2017-01-01';

-- a daily series (timestamptz): the weekly means interpolated, 2018-2020
CREATE TABLE daily (day timestamptz PRIMARY KEY, flow float8 NOT NULL);
INSERT INTO daily
SELECT (w.week_start + d)::timestamptz,
       w.flow + (lead(w.flow, 1, w.flow) OVER (ORDER BY w.week_start) - w.flow) * d / 7.0
  FROM verde w, generate_series(0, 6) d
 WHERE w.week_start >= '2018-01-07';

-- an integer-indexed series, every 10 units
CREATE TABLE indexed (i bigint PRIMARY KEY, value float8 NOT NULL);
INSERT INTO indexed
SELECT 10 * row_number() OVER (ORDER BY week_start), flow FROM verde WHERE week_start >= '2014-01-05';

-- a covariates table: season and last week's log flow
CREATE TABLE verde_cov (week_start date PRIMARY KEY, flow float8 NOT NULL, covariates float8[] NOT NULL);
INSERT INTO verde_cov
SELECT week_start, flow,
       ARRAY[sin(2 * pi() * extract(doy FROM week_start) / 365.25),
             cos(2 * pi() * extract(doy FROM week_start) / 365.25),
             ln(lag(flow, 1, flow) OVER (ORDER BY week_start))]
  FROM verde WHERE week_start >= '2012-01-01';

-- numbers a caller could pass: horizons, levels, shifts, edge cases
CREATE TABLE numbers (i int4, n bigint, x float8);
INSERT INTO numbers VALUES
    (0, 0, 0), (1, 1, 1), (-1, -1, -1), (2, 7, 0.5), (4, 52, 0.8), (16, 100, 0.95),
    (52, 1000, 0.99), (100, 86400000000, 0.999999), (1000, 9223372036854775807, 1e-300),
    (100000, -9223372036854775808, 1e308), (100001, 4611686018427387904, -1e308),
    (2147483647, 2147483648, 'NaN'), (-2147483648, -2147483649, 'Infinity'),
    (NULL, NULL, '-Infinity'), (3, 12, NULL), (7, 365, 2.2250738585072014e-308);

-- options of ar_fit and lstm_train, valid and not; no network wider or
-- deeper than what trains an epoch of the river in a second, since a
-- cancel waits for the epoch's end (findings/README.md)
CREATE TABLE options (kind text, options jsonb);
INSERT INTO options VALUES
    ('ar', '{}'), ('ar', '{"order": 1}'), ('ar', '{"order": 0}'), ('ar', '{"order": 1000}'),
    ('ar', '{"max_order": 3, "method": "yule_walker"}'), ('ar', '{"transform": "log"}'),
    ('ar', '{"intercept": false, "order": 2}'), ('ar', '{"fill": "linear"}'), ('ar', '{"fill": "previous"}'),
    ('ar', '{"order": 2, "max_order": 3}'), ('ar', '{"order": -1}'), ('ar', '{"order": 1.5}'),
    ('ar', '{"order": "2"}'), ('ar', '{"order": 1e30}'), ('ar', '{"method": "burg"}'),
    ('ar', '{"ordre": 2}'), ('ar', '{"order": null}'), ('ar', '{"order": [1]}'), ('ar', '[]'),
    ('ar', '"log"'), ('ar', 'null'), ('ar', '42'),
    ('lstm', '{"epochs": 3, "hidden": 4}'), ('lstm', '{"epochs": 2, "hidden": 2, "layers": 3}'),
    ('lstm', '{"epochs": 5, "hidden": 8, "conv_kernel": 0}'),
    ('lstm', '{"epochs": 2, "hidden": 4, "conv_kernel": 64, "conv_channels": 1}'),
    ('lstm', '{"epochs": 4, "hidden": 3, "validation": 0.5, "patience": 1}'),
    ('lstm', '{"epochs": 2, "hidden": 4, "validation": 0.9}'),
    ('lstm', '{"epochs": 3, "hidden": 4, "transform": "log", "fill": "linear"}'),
    ('lstm', '{"epochs": 2, "hidden": 4, "season_length": 1e9}'),
    ('lstm', '{"epochs": 2, "hidden": 4, "season_length": 0.5}'),
    ('lstm', '{"epochs": 2, "hidden": 4, "lr": 10, "dropout": 0.95}'),
    ('lstm', '{"epochs": 2, "hidden": 4, "ema": 0.9999, "residual": false}'),
    ('lstm', '{"epochs": 2, "hidden": 4, "seed": 2147483647, "progress": 1}'),
    ('lstm', '{"epochs": 2, "hidden": 256, "layers": 2}'), ('lstm', '{"epochs": 1, "hidden": 4097}'),
    ('lstm', '{"epochs": 1, "layers": 8, "hidden": 32}'), ('lstm', '{"epochs": 0}'),
    ('lstm', '{"epochs": 10000001}'), ('lstm', '{"dropout": 1}'), ('lstm', '{"lr": 0}'),
    ('lstm', '{"hidden": "big"}'), ('lstm', '{"epochs": 2, "hidden": 4, "validation": 0.99}'),
    ('lstm', '{"epochs": 2, "hidden": 4, "device": "cuda"}');

-- option names and values, for smith.opt(key, value)
CREATE TABLE option_keys (key text, value float8);
INSERT INTO option_keys VALUES
    ('order', 2), ('max_order', 30), ('method', NULL), ('intercept', NULL), ('transform', NULL),
    ('fill', NULL), ('hidden', 4), ('layers', 2), ('dropout', 0.5), ('lr', 0.01), ('epochs', 3),
    ('conv_kernel', 3), ('conv_channels', 4), ('seed', 7), ('validation', 0.2), ('patience', 2),
    ('progress', 1), ('season_length', 52.18), ('ema', 0.9), ('residual', NULL), ('kind', NULL),
    ('device', NULL), ('log', NULL), ('linear', NULL), ('previous', NULL), ('yule_walker', NULL),
    ('ols', NULL), ('lstm', NULL), ('ar', NULL), ('cpu', NULL), ('cuda', NULL), ('auto', NULL),
    ('harmonics', 3);

-- ---------------------------------------------------------------------------
-- the models: every kind, every ts type, with and without covariates
-- ---------------------------------------------------------------------------

CREATE TABLE models (name text PRIMARY KEY, model tsmodel NOT NULL);
INSERT INTO models
SELECT 'ar_ols', ar_fit(week_start, flow) FROM verde
UNION ALL
SELECT 'ar_yule_walker', ar_fit(week_start, flow, '{"method": "yule_walker"}') FROM verde
UNION ALL
SELECT 'ar_log', ar_fit(week_start, flow, '{"transform": "log"}') FROM verde
UNION ALL
SELECT 'ar_1_no_intercept', ar_fit(week_start, flow, '{"order": 1, "intercept": false}') FROM verde
UNION ALL
SELECT 'ar_0', ar_fit(week_start, flow, '{"order": 0}') FROM verde
UNION ALL
SELECT 'ar_gaps_filled', ar_fit(week_start, flow, '{"fill": "linear"}') FROM gauges WHERE gauge = 3
UNION ALL
SELECT 'ar_daily', ar_fit(day, flow, '{"max_order": 10}') FROM daily
UNION ALL
SELECT 'ar_indexed', ar_fit(i, value) FROM indexed
UNION ALL
SELECT 'ar_harmonics', ar_fit(week_start, flow, '{"transform": "log", "harmonics": 3}') FROM verde
UNION ALL
SELECT 'ar_covariates', ar_fit(week_start, flow, covariates, '{"max_order": 4}') FROM verde_cov
UNION ALL
SELECT 'lstm', lstm_train(week_start, flow, '{"epochs": 20, "hidden": 8}') FROM verde WHERE week_start >= '2010-01-03'
UNION ALL
SELECT 'lstm_log_2_layers', lstm_train(week_start, flow, '{"epochs": 5, "hidden": 4, "layers": 2, "transform": "log", "conv_kernel": 0}')
  FROM verde WHERE week_start >= '2015-01-04'
UNION ALL
SELECT 'lstm_covariates', lstm_train(week_start, flow, covariates, '{"epochs": 10, "hidden": 6}') FROM verde_cov
UNION ALL
SELECT 'lstm_indexed', lstm_train(i, value, '{"epochs": 5, "hidden": 4, "conv_kernel": 5, "conv_channels": 2}') FROM indexed
UNION ALL
SELECT 'lstm_daily', lstm_train(day, flow, '{"epochs": 3, "hidden": 4, "validation": 0.2, "ema": 0}') FROM daily
UNION ALL
SELECT 'lstm_no_residual', lstm_train(week_start, flow, '{"epochs": 3, "hidden": 5, "residual": false}') FROM gauges WHERE gauge = 6;

-- one model per gauge, where the gauge allows one
CREATE TABLE gauge_models (gauge int4 PRIMARY KEY, model tsmodel NOT NULL);
INSERT INTO gauge_models
SELECT gauge, ar_fit(week_start, flow, '{"max_order": 4, "fill": "previous"}') FROM gauges WHERE gauge > 0 GROUP BY gauge;

-- future covariates for forecast(model, horizon, level, future_covariates):
-- the right shapes for lstm_covariates (3 per step) and wrong ones
CREATE TABLE futures (horizon int4, covariates float8[]);
INSERT INTO futures
SELECT h, array_fill(0.5::float8, ARRAY[h, 3]) FROM unnest(ARRAY[1, 4, 16]) h
UNION ALL
SELECT h, c::float8[] FROM (VALUES
    (2, '{{1,2,3},{4,5,6}}'), (2, '{{1,2},{3,4}}'), (3, '{1,2,3}'), (1, '{{NaN,0,0}}'),
    (1, '{{NULL,0,0}}'), (1, '{{Infinity,-Infinity,1e308}}'), (0, '{}'), (1, '{{{1,2,3}}}'),
    (1, '[5:5][1:3]={{1,2,3}}')) v(h, c);


-- models with one stored byte changed that still pass input validation (no
-- checksum: a changed count, timestamp or float is a valid model), in an
-- order that mixes their sources and positions, since sqlsmith's
-- "(SELECT model FROM mutants LIMIT 1 OFFSET k)" reads the first rows
CREATE TABLE mutants (name text, pos int4, byte int4, model tsmodel);
DO $$
DECLARE
    src record;
    b bytea;
    pos int;
    byte int;
    m tsmodel;
BEGIN
    -- the fit time and the time of fitting (offsets 52 to 67) zeroed, so
    -- that the mutants, and what sqlsmith does with them, are the same in
    -- every run
    FOR src IN SELECT name, overlay(decode(model::text, 'base64') PLACING '\x00000000000000000000000000000000'::bytea
                                    FROM 53 FOR 16) AS bytes FROM models
                WHERE name IN ('ar_ols', 'ar_log', 'ar_daily', 'ar_indexed', 'lstm', 'lstm_covariates') LOOP
        FOR pos IN 0 .. least(length(src.bytes), 240) - 1 LOOP
            FOREACH byte IN ARRAY ARRAY[0, 1, 127, 128, 255] LOOP
                b := set_byte(src.bytes, pos, byte);
                CONTINUE WHEN b = src.bytes;
                BEGIN
                    m := encode(b, 'base64')::tsmodel;
                    INSERT INTO mutants VALUES (src.name, pos, byte, m);
                EXCEPTION WHEN invalid_text_representation OR data_corrupted THEN
                    NULL;
                END;
            END LOOP;
        END LOOP;
    END LOOP;
END $$;
CREATE TABLE mutants_mixed AS SELECT * FROM mutants ORDER BY md5(name || pos || '/' || byte);
DROP TABLE mutants;
ALTER TABLE mutants_mixed RENAME TO mutants;

-- ---------------------------------------------------------------------------
-- smith: helpers for what sqlsmith cannot call itself.  It makes values
-- only as column references, small integer constants, NULLs and the results
-- of the routines it sees, and it skips set-returning functions, so:
-- forecast() wrapped in scalars, training over the data tables with
-- arguments it picks (which series, how many points, which options),
-- predict() over whole tables, stored bytes changed, options and arrays
-- from scalars.  Arguments are taken as given: out-of-range values are the
-- extension's to refuse.
-- ---------------------------------------------------------------------------

CREATE SCHEMA smith;

-- forecast()
CREATE FUNCTION smith.forecast_value(model tsmodel, horizon int4, level float8) RETURNS float8
    LANGUAGE sql STABLE
    AS $$ SELECT f.value FROM tsforecast.forecast(model, horizon, level) f ORDER BY f.step DESC LIMIT 1 $$;
CREATE FUNCTION smith.forecast_width(model tsmodel, horizon int4, level float8) RETURNS float8
    LANGUAGE sql STABLE
    AS $$ SELECT max(f.hi - f.lo) FROM tsforecast.forecast(model, horizon, level) f $$;
CREATE FUNCTION smith.forecast_steps(model tsmodel, horizon int4) RETURNS int4
    LANGUAGE sql STABLE
    AS $$ SELECT count(*)::int4 FROM tsforecast.forecast(model, horizon) f $$;
CREATE FUNCTION smith.forecast_end(model tsmodel, horizon int4) RETURNS timestamptz
    LANGUAGE sql STABLE
    AS $$ SELECT max(f.ts) FROM tsforecast.forecast(model, horizon) f $$;
CREATE FUNCTION smith.forecast_json(model tsmodel, horizon int4) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_agg(f ORDER BY f.step) FROM tsforecast.forecast(model, horizon) f $$;
CREATE FUNCTION smith.forecast_covariates(model tsmodel, horizon int4, level float8, future float8[]) RETURNS float8
    LANGUAGE sql STABLE
    AS $$ SELECT sum(f.value + f.hi - f.lo) FROM tsforecast.forecast(model, horizon, level, future) f $$;

-- training: gauge % 7 (0 the whole river), the last n * n points
CREATE FUNCTION smith.ar_fit_weekly(gauge int4, n int4, options jsonb) RETURNS tsmodel
    LANGUAGE sql STABLE
    AS $$ SELECT tsforecast.ar_fit(week_start, flow, options)
            FROM (SELECT week_start, flow FROM public.gauges g WHERE g.gauge = $1 % 7
                   ORDER BY week_start DESC LIMIT n * n) s $$;
CREATE FUNCTION smith.lstm_weekly(gauge int4, n int4, options jsonb) RETURNS tsmodel
    LANGUAGE sql STABLE
    AS $$ SELECT tsforecast.lstm_train(week_start, flow, options)
            FROM (SELECT week_start, flow FROM public.gauges g WHERE g.gauge = $1 % 7
                   ORDER BY week_start DESC LIMIT n * n) s $$;
CREATE FUNCTION smith.ar_fit_daily(n int4, options jsonb) RETURNS tsmodel
    LANGUAGE sql STABLE
    AS $$ SELECT tsforecast.ar_fit(day, flow, options)
            FROM (SELECT day, flow FROM public.daily ORDER BY day DESC LIMIT n * n) s $$;
CREATE FUNCTION smith.lstm_daily(n int4, options jsonb) RETURNS tsmodel
    LANGUAGE sql STABLE
    AS $$ SELECT tsforecast.lstm_train(day, flow, options)
            FROM (SELECT day, flow FROM public.daily ORDER BY day DESC LIMIT n * n) s $$;
CREATE FUNCTION smith.ar_fit_indexed(n int4, options jsonb) RETURNS tsmodel
    LANGUAGE sql STABLE
    AS $$ SELECT tsforecast.ar_fit(i, value, options)
            FROM (SELECT i, value FROM public.indexed ORDER BY i DESC LIMIT n * n) s $$;
CREATE FUNCTION smith.lstm_indexed(n int4, options jsonb) RETURNS tsmodel
    LANGUAGE sql STABLE
    AS $$ SELECT tsforecast.lstm_train(i, value, options)
            FROM (SELECT i, value FROM public.indexed ORDER BY i DESC LIMIT n * n) s $$;
-- covariates: the table's, with one more of the caller's
CREATE FUNCTION smith.lstm_covariates(n int4, extra float8, options jsonb) RETURNS tsmodel
    LANGUAGE sql STABLE
    AS $$ SELECT tsforecast.lstm_train(week_start, flow, covariates || extra, options)
            FROM (SELECT week_start, flow, covariates FROM public.verde_cov ORDER BY week_start DESC LIMIT n * n) s $$;
-- a synthetic series of n points every step units
CREATE FUNCTION smith.ar_fit_series(n int4, step int4, options jsonb) RETURNS tsmodel
    LANGUAGE sql STABLE
    AS $$ SELECT tsforecast.ar_fit(i::int8 * step, sin(i) + i % 7, options) FROM generate_series(1, n) i $$;
CREATE FUNCTION smith.lstm_series(n int4, step int4, options jsonb) RETURNS tsmodel
    LANGUAGE sql STABLE
    AS $$ SELECT tsforecast.lstm_train(i::int8 * step, sin(i) + i % 7, options) FROM generate_series(1, n) i $$;

-- predict(): r2 (and the other metrics) of one-step-ahead predictions of
-- any model over a data table, its timestamps shifted and values scaled
CREATE FUNCTION smith.predict_weekly(model tsmodel, shift int4, scale float8) RETURNS float8
    LANGUAGE sql STABLE
    AS $$ SELECT tsforecast.r2(v, p) FROM (SELECT flow * scale AS v,
              tsforecast.predict(model, week_start + shift, flow * scale) OVER (ORDER BY week_start) AS p
         FROM public.verde) s $$;
CREATE FUNCTION smith.predict_daily(model tsmodel, shift int4, scale float8) RETURNS float8
    LANGUAGE sql STABLE
    AS $$ SELECT tsforecast.rmse(v, p) FROM (SELECT flow * scale AS v,
              tsforecast.predict(model, day + make_interval(hours => shift), flow * scale) OVER (ORDER BY day) AS p
         FROM public.daily) s $$;
CREATE FUNCTION smith.predict_indexed(model tsmodel, shift int4, scale float8) RETURNS float8
    LANGUAGE sql STABLE
    AS $$ SELECT tsforecast.mae(v, p) FROM (SELECT value * scale AS v,
              tsforecast.predict(model, i + shift, value * scale) OVER (ORDER BY i) AS p
         FROM public.indexed) s $$;
CREATE FUNCTION smith.predict_covariates(model tsmodel, shift int4, scale float8) RETURNS float8
    LANGUAGE sql STABLE
    AS $$ SELECT tsforecast.kge(v, p) FROM (SELECT flow AS v,
              tsforecast.predict(model, week_start + shift, flow, covariates || scale) OVER (ORDER BY week_start) AS p
         FROM public.verde_cov) s $$;

-- models: the i-th stored model, the i-th mutant, a byte changed, from
-- text (integer arguments, since sqlsmith's constants are integers and
-- NULLs of the other types)
CREATE FUNCTION smith.model(i int4) RETURNS tsmodel
    LANGUAGE sql STABLE
    AS $$ SELECT model FROM (SELECT name, model FROM public.models
                             UNION ALL SELECT 'gauge ' || gauge, model FROM public.gauge_models) m
           ORDER BY name OFFSET abs(i::int8) % 20 LIMIT 1 $$;
CREATE FUNCTION smith.mutant(i int4) RETURNS tsmodel
    LANGUAGE sql STABLE
    AS $$ SELECT model FROM public.mutants OFFSET abs(i::int8 * 7919) % (SELECT count(*) FROM public.mutants) LIMIT 1 $$;
CREATE FUNCTION smith.mutate(model tsmodel, pos int4, byte int4) RETURNS tsmodel
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT encode(set_byte(b, (pos % length(b) + length(b)) % length(b), byte & 255), 'base64')::tsforecast.tsmodel
            FROM decode(model::text, 'base64') b $$;
CREATE FUNCTION smith.tsmodel_of(t text) RETURNS tsmodel
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT t::tsforecast.tsmodel $$;

-- values without arguments: sqlsmith, wanting a value of a type, calls a
-- function without arguments two times in three when it calls one, and
-- its other values of most types are NULLs
CREATE FUNCTION smith.ar_model() RETURNS tsmodel
    LANGUAGE sql STABLE AS $$ SELECT model FROM public.models WHERE name = 'ar_log' $$;
CREATE FUNCTION smith.lstm_model() RETURNS tsmodel
    LANGUAGE sql STABLE AS $$ SELECT model FROM public.models WHERE name = 'lstm' $$;
CREATE FUNCTION smith.covariates_model() RETURNS tsmodel
    LANGUAGE sql STABLE AS $$ SELECT model FROM public.models WHERE name = 'lstm_covariates' $$;
CREATE FUNCTION smith.daily_model() RETURNS tsmodel
    LANGUAGE sql STABLE AS $$ SELECT model FROM public.models WHERE name = 'ar_daily' $$;
CREATE FUNCTION smith.indexed_model() RETURNS tsmodel
    LANGUAGE sql STABLE AS $$ SELECT model FROM public.models WHERE name = 'lstm_indexed' $$;
CREATE FUNCTION smith.ar_options() RETURNS jsonb
    LANGUAGE sql IMMUTABLE AS $$ SELECT '{"max_order": 8, "transform": "log", "fill": "linear"}'::jsonb $$;
CREATE FUNCTION smith.lstm_options() RETURNS jsonb
    LANGUAGE sql IMMUTABLE AS $$ SELECT '{"epochs": 3, "hidden": 4, "validation": 0.25}'::jsonb $$;
CREATE FUNCTION smith.covariates() RETURNS float8[]
    LANGUAGE sql IMMUTABLE AS $$ SELECT '{0.5, -0.5, 4.2}'::float8[] $$;
CREATE FUNCTION smith.futures() RETURNS float8[]
    LANGUAGE sql IMMUTABLE AS $$ SELECT array_fill(0.25::float8, ARRAY[16, 3]) $$;
CREATE FUNCTION smith.level() RETURNS float8
    LANGUAGE sql IMMUTABLE AS $$ SELECT 0.8::float8 $$;

-- options and arrays from scalars
CREATE FUNCTION smith.opt(key text, value float8) RETURNS jsonb
    LANGUAGE sql IMMUTABLE AS $$ SELECT jsonb_build_object(key, value) $$;
CREATE FUNCTION smith.opt(key text, value int4) RETURNS jsonb
    LANGUAGE sql IMMUTABLE AS $$ SELECT jsonb_build_object(key, value) $$;
CREATE FUNCTION smith.opt(key text, value text) RETURNS jsonb
    LANGUAGE sql IMMUTABLE AS $$ SELECT jsonb_build_object(key, value) $$;
CREATE FUNCTION smith.options(i int4) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT options FROM public.options OFFSET abs(i) % (SELECT count(*) FROM public.options) LIMIT 1 $$;
CREATE FUNCTION smith.number(i int4) RETURNS float8
    LANGUAGE sql STABLE
    AS $$ SELECT x FROM public.numbers OFFSET abs($1::int8) % 16 LIMIT 1 $$;
CREATE FUNCTION smith.future(i int4) RETURNS float8[]
    LANGUAGE sql STABLE
    AS $$ SELECT covariates FROM public.futures OFFSET abs(i::int8) % 12 LIMIT 1 $$;
CREATE FUNCTION smith.vec(a float8, b float8, c float8) RETURNS float8[]
    LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[a, b, c] $$;
CREATE FUNCTION smith.mat(rows int4, cols int4, fill float8) RETURNS float8[]
    LANGUAGE sql IMMUTABLE AS $$ SELECT array_fill(fill, ARRAY[rows, cols]) $$;

-- every model's forecast, one-step predictions and description, errors
-- caught (not crashes): what the views below show of every mutant
CREATE FUNCTION smith.try_forecast(model tsmodel, horizon int4, level float8 DEFAULT 0.9)
    RETURNS TABLE (step int4, ts timestamptz, value float8, lo float8, hi float8, error text)
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    ncov int := (tsforecast.model_info(model)->>'n_covariates')::int;
BEGIN
    IF ncov > 0 THEN
        RETURN QUERY SELECT f.*, NULL::text
          FROM tsforecast.forecast(model, horizon, level, array_fill(0.5::float8, ARRAY[horizon, ncov])) f;
    ELSE
        RETURN QUERY SELECT f.*, NULL::text FROM tsforecast.forecast(model, horizon, level) f;
    END IF;
EXCEPTION WHEN others THEN
    RETURN QUERY SELECT NULL::int4, NULL::timestamptz, NULL::float8, NULL::float8, NULL::float8,
                        SQLSTATE || ': ' || SQLERRM;
END $$;
-- the same for bucket forecasts (few paths: they run over every mutant)
CREATE FUNCTION smith.try_forecast_buckets(model tsmodel, width interval, horizon int4,
                                           level float8 DEFAULT 0.9, options jsonb DEFAULT '{"paths": 20}')
    RETURNS TABLE (bucket int4, bucket_start timestamptz, bucket_end timestamptz, steps int4,
                   value float8, mean float8, lo float8, hi float8, error text)
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    RETURN QUERY SELECT f.*, NULL::text FROM tsforecast.forecast_buckets(model, width, horizon, level, options) f;
EXCEPTION WHEN others THEN
    RETURN QUERY SELECT NULL::int4, NULL::timestamptz, NULL::timestamptz, NULL::int4, NULL::float8,
                        NULL::float8, NULL::float8, NULL::float8, SQLSTATE || ': ' || SQLERRM;
END $$;
-- r2 of the one-step predictions over the last n points of the data of
-- the model's timestamp type, or the error
CREATE FUNCTION smith.try_predict(model tsmodel, n int4) RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    info jsonb := tsforecast.model_info(model);
    r float8;
BEGIN
    CASE info->>'ts_type'
    WHEN 'timestamptz' THEN
        SELECT tsforecast.r2(v, p) INTO r FROM (
            SELECT flow AS v, tsforecast.predict(model, day, flow) OVER (ORDER BY day) AS p
              FROM (SELECT * FROM public.daily ORDER BY day DESC LIMIT n) d) s;
    WHEN 'bigint' THEN
        SELECT tsforecast.r2(v, p) INTO r FROM (
            SELECT value AS v, tsforecast.predict(model, i, value) OVER (ORDER BY i) AS p
              FROM (SELECT * FROM public.indexed ORDER BY i DESC LIMIT n) d) s;
    ELSE
        IF (info->>'n_covariates')::int > 0 THEN
            SELECT tsforecast.r2(v, p) INTO r FROM (
                SELECT flow AS v, tsforecast.predict(model, week_start, flow, covariates) OVER (ORDER BY week_start) AS p
                  FROM (SELECT * FROM public.verde_cov ORDER BY week_start DESC LIMIT n) d) s;
        ELSE
            SELECT tsforecast.r2(v, p) INTO r FROM (
                SELECT flow AS v, tsforecast.predict(model, week_start, flow) OVER (ORDER BY week_start) AS p
                  FROM (SELECT * FROM public.verde ORDER BY week_start DESC LIMIT n) d) s;
        END IF;
    END CASE;
    RETURN r::text;
EXCEPTION WHEN others THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
CREATE FUNCTION smith.try_info(model tsmodel) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    RETURN tsforecast.model_info(model) || jsonb_build_object('stored', model::jsonb);
EXCEPTION WHEN others THEN
    RETURN jsonb_build_object('error', SQLSTATE || ': ' || SQLERRM);
END $$;

-- views that run the extension whenever a query reads them: forecasts and
-- one-step predictions of the models, and the mutants' forecasts,
-- predictions and descriptions (a full scan goes through all of them)
CREATE VIEW forecasts AS
SELECT m.name, f.* FROM (SELECT name, model FROM models
                         UNION ALL SELECT 'gauge ' || gauge, model FROM gauge_models) m,
       smith.try_forecast(m.model, 16) f;
CREATE VIEW predictions_weekly AS
SELECT m.name, v.week_start, v.flow,
       predict(m.model, v.week_start, v.flow) OVER (PARTITION BY m.name ORDER BY v.week_start) AS predicted
  FROM models m, verde v
 WHERE m.name IN ('ar_ols', 'ar_yule_walker', 'ar_log', 'ar_1_no_intercept', 'ar_0', 'ar_gaps_filled',
                  'lstm', 'lstm_log_2_layers', 'lstm_no_residual') AND v.week_start >= '2016-01-03'
UNION ALL
SELECT m.name, v.week_start, v.flow,
       predict(m.model, v.week_start, v.flow, v.covariates) OVER (PARTITION BY m.name ORDER BY v.week_start)
  FROM models m, verde_cov v
 WHERE m.name = 'lstm_covariates' AND v.week_start >= '2016-01-03';
CREATE VIEW predictions_daily AS
SELECT m.name, d.day, d.flow, predict(m.model, d.day, d.flow) OVER (PARTITION BY m.name ORDER BY d.day) AS predicted
  FROM models m, daily d WHERE m.name IN ('ar_daily', 'lstm_daily') AND d.day >= '2020-01-01';
CREATE VIEW predictions_indexed AS
SELECT m.name, x.i, x.value, predict(m.model, x.i, x.value) OVER (PARTITION BY m.name ORDER BY x.i) AS predicted
  FROM models m, indexed x WHERE m.name IN ('ar_indexed', 'lstm_indexed');
CREATE VIEW mutant_forecasts AS
SELECT m.name, m.pos, m.byte, f.* FROM mutants m, smith.try_forecast(m.model, 3, 0.8) f;
CREATE VIEW mutant_bucket_forecasts AS
SELECT m.name, m.pos, m.byte, f.* FROM mutants m, smith.try_forecast_buckets(m.model, '7 days', 2) f;
CREATE VIEW mutant_predictions AS
SELECT m.name, m.pos, m.byte, smith.try_predict(m.model, 40) AS r2 FROM mutants m;
CREATE VIEW mutant_infos AS
SELECT m.name, m.pos, m.byte, smith.try_info(m.model) AS info FROM mutants m;

-- ---------------------------------------------------------------------------
-- what sqlsmith sees of pg_proc in the targeted run (see the top): the
-- extension's functions but cuda_device() (no arguments to vary, and
-- sqlsmith picks functions without arguments two times in three) and the
-- training aggregates (sqlsmith would call them only in window clauses,
-- which they refuse: they are reached through smith's helpers); predict()
-- as an aggregate; the helpers; built-ins whose arguments and result are
-- of the types at hand, without the operators' functions (sqlsmith reads
-- pg_operator itself) and with a few plain aggregates
-- ---------------------------------------------------------------------------

CREATE SCHEMA smith_catalog;
CREATE MATERIALIZED VIEW smith_catalog.pg_proc AS
SELECT p.oid, p.proname, p.pronamespace, p.prorettype, p.proargtypes,
       CASE WHEN n.nspname = 'tsforecast' AND p.prokind = 'w' THEN 'a'::"char" ELSE p.prokind END AS prokind,
       p.proretset
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE (n.nspname = 'tsforecast' AND p.proname NOT IN ('cuda_device', 'ar_fit', 'lstm_train'))
    OR n.nspname = 'smith'
    OR (n.nspname = 'pg_catalog' AND p.prokind = 'f' AND p.proname = ANY (ARRAY[
        -- numbers
        'float8', 'int4', 'int8', 'numeric', 'abs', 'sign', 'sqrt', 'ln', 'exp', 'power', 'round',
        'trunc', 'floor', 'sin', 'div', 'mod', 'width_bucket', 'scale',
        -- time
        'date', 'timestamptz', 'to_timestamp', 'date_trunc', 'date_part', 'make_date',
        'make_timestamptz', 'make_interval', 'date_bin', 'isfinite',
        -- text and bytes: tsmodel_out's text changed, back through tsmodel_in
        'textin', 'textout', 'text', 'length', 'substr', 'overlay', 'replace', 'reverse', 'repeat',
        'left', 'right', 'lpad', 'upper', 'md5', 'translate', 'split_part', 'concat', 'chr',
        'encode', 'decode', 'set_byte', 'get_byte', 'string_to_array', 'array_to_string', 'btrim',
        -- jsonb: options made, changed, taken apart
        'to_jsonb', 'jsonb_set', 'jsonb_insert', 'jsonb_strip_nulls', 'jsonb_typeof',
        'jsonb_build_array', 'jsonb_object', 'jsonb_array_length', 'jsonb_extract_path',
        'jsonb_object_field', 'jsonb_object_field_text', 'jsonb_array_element', 'jsonb_set_lax',
        'jsonb_path_query_first', 'row_to_json',
        -- arrays: covariates
        'array_length', 'array_ndims', 'array_dims', 'array_lower', 'cardinality', 'array_append',
        'array_prepend', 'array_cat', 'array_fill', 'trim_array', 'array_remove', 'array_replace',
        -- anything
        'num_nulls', 'pg_column_size', 'pg_typeof'
    ]))
    OR (n.nspname = 'pg_catalog' AND p.prokind = 'a'
        AND p.oid::regprocedure::text = ANY (ARRAY[
        'count()', 'count("any")', 'sum(double precision)', 'avg(double precision)',
        'min(double precision)', 'max(double precision)', 'max(integer)', 'stddev(double precision)',
        'corr(double precision,double precision)', 'array_agg(anynonarray)', 'jsonb_agg(anyelement)',
        'string_agg(text,text)', 'bool_and(boolean)']))
   AND (n.nspname <> 'pg_catalog'
        OR (SELECT bool_and(t::regtype::text = ANY (ARRAY[
                'boolean', 'smallint', 'integer', 'bigint', 'double precision', 'numeric', 'text',
                'cstring', 'bytea', 'date', 'timestamp with time zone', 'interval', 'jsonb',
                'jsonpath', 'double precision[]', 'text[]', 'integer[]', 'anyelement', 'anyarray',
                'anynonarray', 'anycompatible', 'anycompatiblearray', '"any"', 'record']))
              FROM unnest(p.proargtypes || p.prorettype) t))
 ORDER BY n.nspname, p.proname, p.proargtypes::text;

-- and of pg_type: every type, but the pseudo types anyrange,
-- anymultirange and anyenum under the name of a concrete one.  sqlsmith
-- writes a NULL of the type an operator's argument wants, and a NULL cast
-- to a pseudo type is an error before anything runs ("argument declared
-- anyrange is not a range type"): with the operators on ranges that
-- sqlsmith picks for its conditions, that was 4 queries in 10
-- (in a schema of its own, which the run of the whole catalog uses too)
CREATE TYPE smith.mood AS ENUM ('dry', 'wet');
CREATE SCHEMA smith_types;
CREATE MATERIALIZED VIEW smith_types.pg_type AS
SELECT t.oid,
       CASE t.typname WHEN 'anyrange' THEN 'int8range' WHEN 'anycompatiblerange' THEN 'int8range'
                      WHEN 'anymultirange' THEN 'int8multirange'
                      WHEN 'anycompatiblemultirange' THEN 'int8multirange'
                      WHEN 'anyenum' THEN 'mood' ELSE t.typname::text END AS typname,
       CASE WHEN t.typname = 'anyenum' THEN 'smith'::regnamespace::oid ELSE t.typnamespace END AS typnamespace,
       t.typdelim, t.typrelid, t.typelem, t.typarray,
       CASE t.typname WHEN 'anyrange' THEN 'r' WHEN 'anycompatiblerange' THEN 'r'
                      WHEN 'anymultirange' THEN 'm' WHEN 'anycompatiblemultirange' THEN 'm'
                      WHEN 'anyenum' THEN 'e' ELSE t.typtype END AS typtype
  FROM pg_catalog.pg_type t
 ORDER BY t.oid;

-- ---------------------------------------------------------------------------
-- the role sqlsmith connects as
-- ---------------------------------------------------------------------------

CREATE ROLE tsf_smith LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION CONNECTION LIMIT 4;
GRANT USAGE ON SCHEMA tsforecast, smith, smith_catalog, smith_types TO tsf_smith;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO tsf_smith;
GRANT SELECT ON smith_catalog.pg_proc, smith_types.pg_type TO tsf_smith;
SELECT format('ALTER ROLE tsf_smith IN DATABASE %I SET %s', current_database(), s)
  FROM unnest(ARRAY[
        'statement_timeout = ''2s''',
        'lock_timeout = ''1s''',
        'idle_in_transaction_session_timeout = ''10s''',
        'temp_file_limit = ''256MB''',
        'work_mem = ''16MB''',
        'log_min_messages = fatal',
        'search_path = smith_catalog, smith_types, pg_catalog, tsforecast, smith, public']) s \gexec
-- the summary counts the calls of the extension's functions that returned
SELECT format('ALTER DATABASE %I SET track_functions = ''all''', current_database()) \gexec

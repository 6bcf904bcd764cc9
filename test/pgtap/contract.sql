-- pgTAP: the SQL contract of tsforecast (names, signatures, properties, SQLSTATEs)
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS tsforecast;
SET search_path = tsforecast, public;

BEGIN;
SELECT plan(143);

-- the type and its views
SELECT has_type('tsforecast', 'tsmodel', 'type tsmodel exists');
SELECT has_cast('tsmodel', 'jsonb', 'tsmodel casts to jsonb');
SELECT has_function('tsforecast', 'model_info', ARRAY['tsmodel'], 'model_info(tsmodel)');
SELECT function_returns('tsforecast', 'model_info', ARRAY['tsmodel'], 'jsonb', 'model_info returns jsonb');

-- the aggregates, every signature
SELECT is_aggregate('tsforecast', 'ar_fit', ARRAY['timestamp with time zone', 'double precision'], 'ar_fit(timestamptz, float8)');
SELECT is_aggregate('tsforecast', 'ar_fit', ARRAY['timestamp with time zone', 'double precision', 'jsonb'], 'ar_fit(timestamptz, float8, jsonb)');
SELECT is_aggregate('tsforecast', 'ar_fit', ARRAY['date', 'double precision'], 'ar_fit(date, float8)');
SELECT is_aggregate('tsforecast', 'ar_fit', ARRAY['date', 'double precision', 'jsonb'], 'ar_fit(date, float8, jsonb)');
SELECT is_aggregate('tsforecast', 'ar_fit', ARRAY['bigint', 'double precision'], 'ar_fit(bigint, float8)');
SELECT is_aggregate('tsforecast', 'ar_fit', ARRAY['bigint', 'double precision', 'jsonb'], 'ar_fit(bigint, float8, jsonb)');
-- ar_fit with covariates (0.6.0)
SELECT is_aggregate('tsforecast', 'ar_fit', ARRAY[t, 'double precision', 'double precision[]', 'jsonb'],
                    format('ar_fit(%s, float8, covariates float8[], jsonb)', t))
  FROM unnest(ARRAY['timestamp with time zone', 'date', 'bigint']) t;
SELECT is_aggregate('tsforecast', m, ARRAY['double precision', 'double precision'], m || '(actual, predicted)')
  FROM unnest(ARRAY['r2', 'nse', 'rmse', 'mae', 'mape', 'smape', 'kge']) m;
-- the metrics of 0.6.0: mase, coverage, winkler, and naive_mae for each type of ts
SELECT is_aggregate('tsforecast', 'mase', ARRAY['double precision', 'double precision', 'double precision'], 'mase(actual, predicted, scale)');
SELECT is_aggregate('tsforecast', 'coverage', ARRAY['double precision', 'double precision', 'double precision'], 'coverage(actual, lo, hi)');
SELECT is_aggregate('tsforecast', 'winkler', ARRAY['double precision', 'double precision', 'double precision', 'double precision'], 'winkler(actual, lo, hi, level)');
SELECT is_aggregate('tsforecast', 'naive_mae', ARRAY[t, 'double precision'] || extra, format('naive_mae(%s)', array_to_string(ARRAY[t, 'float8'] || extra, ', ')))
  FROM unnest(ARRAY['timestamp with time zone', 'date', 'bigint']) t,
       (VALUES (ARRAY[]::text[]), (ARRAY['integer'])) e(extra);

-- lstm_train, every signature (0.2.0)
SELECT is_aggregate('tsforecast', 'lstm_train', ARRAY[t, 'double precision'] || extra, format('lstm_train(%s)', array_to_string(ARRAY[t, 'float8'] || extra, ', ')))
  FROM unnest(ARRAY['timestamp with time zone', 'date', 'bigint']) t,
       (VALUES (ARRAY[]::text[]), (ARRAY['jsonb']), (ARRAY['double precision[]', 'jsonb'])) e(extra);
SELECT function_returns('tsforecast', 'lstm_train', ARRAY['date', 'double precision', 'jsonb'], 'tsmodel', 'lstm_train returns tsmodel');

-- forecast and predict
SELECT has_function('tsforecast', 'forecast', ARRAY['tsmodel', 'integer', 'double precision'], 'forecast(model, horizon, level)');
SELECT function_returns('tsforecast', 'forecast', ARRAY['tsmodel', 'integer', 'double precision'], 'setof record', 'forecast returns a set');
SELECT is(ARRAY(SELECT format('%s %s', a.attname, format_type(a.atttypid, NULL))
                  FROM pg_proc p, unnest(p.proargnames, p.proargmodes) WITH ORDINALITY x(attname, mode, i),
                       LATERAL (SELECT x.attname, (p.proallargtypes)[x.i] AS atttypid) a
                 WHERE p.oid = 'tsforecast.forecast(tsforecast.tsmodel, integer, double precision)'::regprocedure
                   AND x.mode = 't' ORDER BY x.i),
          ARRAY['step integer', 'ts timestamp with time zone', 'value double precision',
                'lo double precision', 'hi double precision'],
          'forecast returns (step, ts, value, lo, hi)');
SELECT is((SELECT pg_get_function_arguments('tsforecast.forecast(tsforecast.tsmodel, integer, double precision)'::regprocedure)),
          'model tsmodel, horizon integer, level double precision DEFAULT 0.95', 'level defaults to 0.95');
SELECT is((SELECT prokind FROM pg_proc WHERE oid = 'tsforecast.predict(tsforecast.tsmodel, date, double precision)'::regprocedure),
          'w'::"char", 'predict is a window function');
SELECT has_function('tsforecast', 'forecast', ARRAY['tsmodel', 'integer', 'double precision', 'double precision[]'],
                    'forecast(model, horizon, level, future_covariates)');
SELECT is((SELECT pg_get_function_result('tsforecast.forecast(tsforecast.tsmodel, integer, double precision, double precision[])'::regprocedure)),
          (SELECT pg_get_function_result('tsforecast.forecast(tsforecast.tsmodel, integer, double precision)'::regprocedure)),
          'forecast with covariates returns the same columns');
SELECT is((SELECT prokind FROM pg_proc WHERE oid = format('tsforecast.predict(tsforecast.tsmodel, %s, double precision, double precision[])', t)::regprocedure),
          'w'::"char", format('predict(model, %s, value, covariates) is a window function', t))
  FROM unnest(ARRAY['timestamptz', 'date', 'bigint']) t;
-- fit(ts, value, spec), any spec (0.6.0)
SELECT is_aggregate('tsforecast', 'fit', ARRAY[t, 'double precision', 'jsonb'], format('fit(%s, float8, spec jsonb)', t))
  FROM unnest(ARRAY['timestamp with time zone', 'date', 'bigint']) t;
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'tsforecast'),
          (SELECT default_version FROM pg_available_extensions WHERE name = 'tsforecast'), 'installs the current release');

-- properties every function must have
SELECT is((SELECT count(*) FROM pg_proc WHERE pronamespace = 'tsforecast'::regnamespace AND proparallel <> 's'
              AND proname NOT IN ('train_async', 'backtest_async', 'cancel_job', 'wait_job', '_job_progress', 'cuda_device')
              AND proname NOT LIKE '\_job\_%' AND proname NOT LIKE '\_models\_%' AND proname NOT LIKE '\_backtests\_%'),
          0::bigint, 'every function but the job functions and the job tables'' (test/pgtap/jobs.sql) and cuda_device is PARALLEL SAFE');
SELECT is((SELECT count(*) FROM pg_proc p WHERE pronamespace = 'tsforecast'::regnamespace
              AND obj_description(p.oid, 'pg_proc') IS NULL),
          0::bigint, 'every function has a comment');
SELECT is((SELECT count(*) FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
            WHERE p.pronamespace = 'tsforecast'::regnamespace AND a.aggcombinefn = 0),
          0::bigint, 'every aggregate has a combine function');
SELECT volatility_is('tsforecast', 'forecast', ARRAY['tsmodel', 'integer', 'double precision'], 'stable', 'forecast is STABLE (calendar steps use the time zone)');
SELECT is_strict('tsforecast', 'forecast', ARRAY['tsmodel', 'integer', 'double precision'], 'forecast is STRICT');

-- behaviour
CREATE TEMP TABLE s AS SELECT g AS t, sin(g / 7.0) + 0.01 * (g % 13) AS v FROM generate_series(1::bigint, 400) g;
SELECT is((SELECT count(*) FROM forecast((SELECT ar_fit(t, v) FROM s), 16)), 16::bigint, '16 forecast rows');
SELECT is((SELECT model_info(ar_fit(t, v, '{"order": 4}'))->>'order' FROM s), '4', 'a fixed order is kept');
SELECT ok((SELECT (SELECT ar_fit(t, v) FROM s)::text::tsmodel IS NOT NULL), 'text round trip');
SELECT is((SELECT count(*) FROM (SELECT t % 3 AS k, ar_fit(t, v) FROM s GROUP BY 1) x), 3::bigint,
          'GROUP BY gives one model per group');
SELECT is((SELECT r2(v, v) FROM s), 1::float8, 'r2 of a perfect prediction is 1');

-- SQLSTATEs of the errors users meet
SELECT throws_ok($$SELECT ar_fit(t, v, '{"ordr": 2}') FROM s$$, '22023', 'unrecognized option "ordr"', 'unknown option: 22023');
SELECT throws_ok($$SELECT fit(t, v, '{"kind": "combine", "members": [{"kind": "combine", "members": [{"kind": "ar"}]}]}') FROM s$$,
                 '22023', 'member 1 cannot be of kind "combine"', 'a combination as a member: 22023');
SELECT throws_ok($$SELECT fit(t, v, jsonb_build_object('kind', 'combine', 'members',
                     (SELECT jsonb_agg('{"kind": "ar"}'::jsonb) FROM generate_series(1, 9)))) FROM s$$,
                 '54000', 'a combination has at most 8 members', 'nine members: 54000');
SELECT throws_ok($$SELECT fit(t, v, '{"kind": "combine", "members": [{"kind": "ar", "bucket": "7 days"}]}') FROM s$$,
                 '0A000', NULL, 'a member on buckets of an integer index: 0A000');
SELECT throws_ok($$SELECT ar_fit(t, v, '{"order": 5000}') FROM s$$, '22023', NULL, 'order out of range: 22023');
SELECT throws_ok($$SELECT ar_fit(t, v, '{"order": 300}') FROM s$$, '22023', 'time series is too short to fit an AR(300) model', 'too short: 22023');
SELECT throws_ok($$SELECT ar_fit(t, v) FROM (VALUES (1::bigint, 1.0::float8), (1, 2.0), (2, 1.0)) x(t, v)$$, '22000', 'duplicate timestamp in time series', 'duplicates: 22000');
SELECT throws_ok($$SELECT ar_fit(t, v) FROM s WHERE t <> 17$$, '22000', 'time series has gaps', 'gaps: 22000');
SELECT throws_ok($$SELECT ar_fit(t, v) FROM (VALUES (0::bigint, 1.0::float8), (2, 2.0), (5, 1.0)) x(t, v)$$, '22000', 'cannot infer the frequency of the time series', 'irregular: 22000');
SELECT throws_ok($$SELECT ar_fit(t, NULL::float8) FROM s$$, '22004', 'null value in time series', 'NULL value: 22004');
SELECT throws_ok($$SELECT ar_fit(t, 'NaN'::float8) FROM s$$, '22000', 'NaN not allowed in time series', 'NaN: 22000');
SELECT throws_ok($$SELECT ar_fit(t, v, '{"transform": "log"}') FROM s$$, '2201E', NULL, 'log of a non-positive value: 2201E');
-- AR's exogenous terms (0.6.0): harmonics need a season, least squares, future covariates
CREATE TEMP TABLE arc AS SELECT ar_fit(t, v, ARRAY[v * v], '{"order": 2}') AS m FROM s;
SELECT is((SELECT model_info(m)->>'n_covariates' FROM arc), '1', 'ar_fit takes covariates');
SELECT is((SELECT count(*) FROM arc, forecast(m, 3, 0.9, ARRAY[[1.0], [2.0], [3.0]])), 3::bigint,
          'an AR model with covariates forecasts from their future values');
SELECT is((SELECT model_info(ar_fit(t, v, '{"harmonics": 2, "season_length": 44}'))->'exog' FROM s),
          '["sin_1", "cos_1", "sin_2", "cos_2"]'::jsonb, 'harmonics are exogenous terms');
SELECT throws_ok($$SELECT ar_fit(t, v, '{"harmonics": 2}') FROM s$$, '22023', 'option "harmonics" needs the season''s length',
                 'harmonics of an integer index without season_length: 22023');
SELECT throws_ok($$SELECT ar_fit(t, v, '{"harmonics": 5, "season_length": 10}') FROM s$$, '22023', 'invalid value for option "harmonics": 5',
                 'harmonics too many for the season: 22023');
SELECT throws_ok($$SELECT ar_fit(t, v, ARRAY[v], '{"method": "yule_walker"}') FROM s$$, '22023', NULL,
                 'yule_walker with covariates: 22023');
SELECT throws_ok($$SELECT ar_fit(t, v, ARRAY[1.0::float8], '{"order": 1}') FROM s$$, '22000', NULL,
                 'a constant covariate beside the intercept: 22000');
SELECT throws_ok($$SELECT * FROM arc, forecast(m, 3)$$, '22023', NULL, 'forecast of an AR model with covariates without them: 22023');
SELECT throws_ok($$SELECT * FROM arc, forecast(m, 3, 0.9, ARRAY[[1.0], [2.0]])$$, '2202E', NULL,
                 'AR future_covariates of the wrong shape: 2202E');
SELECT throws_ok($$SELECT ar_fit(t, v, CASE WHEN t = 3 THEN '{}' ELSE ARRAY[v] END, '{}') FROM s$$, '2202E', NULL,
                 'AR covariates on some rows only: 2202E');
SELECT throws_ok($$SELECT 'abc'::tsmodel$$, '22P02', 'invalid input syntax for type tsmodel', 'bad text: 22P02');
SELECT throws_ok($$SELECT encode('\x5453464d0700'::bytea, 'base64')::tsmodel$$, '22P02', NULL, 'unknown format version: 22P02');
SELECT throws_ok($$SELECT * FROM forecast((SELECT ar_fit(t, v) FROM s), 0)$$, '22023', 'invalid value for horizon: 0', 'horizon 0: 22023');
SELECT throws_ok($$SELECT * FROM forecast((SELECT ar_fit(t, v) FROM s), 3, 1.5)$$, '22023', 'invalid value for level: 1.5', 'level 1.5: 22023');
SELECT throws_ok($$SELECT predict(m, t::int + 0, v) OVER (ORDER BY t) FROM s, (SELECT ar_fit('2020-01-01'::date + t::int, v) m FROM s) x$$,
                 '42804', NULL, 'ts type mismatch in predict: 42804');
SELECT throws_ok($$SELECT ar_fit(t, v, '{"fill": "linear"}') FROM (VALUES (1::bigint, 1.0::float8), (2, 2.0), (300000000, 1.0)) x(t, v)$$,
                 '54000', NULL, 'absurd span: 54000');
SELECT throws_ok($$SELECT rmse('NaN', 1)$$, '22000', NULL, 'NaN in metrics: 22000');
SELECT is((SELECT mase(v, v, 1) FROM s), 0::float8, 'mase of a perfect prediction is 0');
SELECT throws_ok($$SELECT mase(1, 2, 0)$$, '22023', 'invalid value for scale: 0', 'mase with scale 0: 22023');
SELECT throws_ok($$SELECT winkler(1, 0, 2, 1)$$, '22023', 'invalid value for level: 1', 'winkler at level 1: 22023');
SELECT throws_ok($$SELECT winkler(1, 0, 2, l) FROM (VALUES (0.9), (0.8)) x(l)$$, '22023', 'level differs between rows', 'winkler with levels differing: 22023');
SELECT throws_ok($$SELECT winkler(1, 2, 1, 0.9)$$, '22023', 'invalid prediction interval: lo is above hi', 'winkler with lo > hi: 22023');
SELECT throws_ok($$SELECT coverage(1, 2, 1)$$, '22023', 'invalid prediction interval: lo is above hi', 'coverage with lo > hi: 22023');
SELECT throws_ok($$SELECT naive_mae(t, v, 0) FROM s$$, '22023', 'invalid value for season: 0', 'naive_mae with season 0: 22023');
SELECT throws_ok($$SELECT naive_mae(t, v) FROM (VALUES (1::bigint, 1.0::float8), (1, 2.0)) x(t, v)$$, '22000', 'duplicate timestamp in time series', 'naive_mae with a timestamp twice: 22000');
SELECT throws_ok($$SELECT mase(1e308, -1e308, 1)$$, '22003', 'value out of range: overflow', 'mase whose sum overflows: 22003');

-- lstm_train's SQLSTATEs
CREATE TEMP TABLE lm AS SELECT lstm_train(t, v, '{"epochs": 2, "hidden": 4}') AS m FROM s;
CREATE TEMP TABLE lmc AS SELECT lstm_train(t, v, ARRAY[v * v], '{"epochs": 2, "hidden": 4}') AS m FROM s;
SELECT is((SELECT model_info(m)->>'kind' FROM lm), 'lstm', 'lstm_train trains an LSTM');
SELECT is((SELECT count(*) FROM lm, forecast(m, 5)), 5::bigint, 'an LSTM forecasts');
SELECT is((SELECT count(p) FROM (SELECT predict(m, t, v) OVER (ORDER BY t) AS p FROM s, lm) x), 399::bigint,
          'an LSTM predicts every row but the first');
SELECT throws_ok($$SELECT lstm_train(t, v, '{"hiden": 8}') FROM s$$, '22023', 'unrecognized option "hiden"', 'lstm: unknown option: 22023');
SELECT throws_ok($$SELECT lstm_train(t, v, '{"hidden": 0}') FROM s$$, '22023', 'invalid value for option "hidden": 0', 'lstm: hidden 0: 22023');
SELECT throws_ok($$SELECT lstm_train(t, v, '{"patience": 5}') FROM s$$, '22023', 'option "patience" needs a validation part', 'lstm: patience without validation: 22023');
SELECT throws_ok($$SELECT lstm_train(t, v, '{"validation": 0.9}') FROM s WHERE t < 5$$, '22023', NULL, 'lstm: validation too short: 22023');
SELECT throws_ok($$SELECT lstm_train(t, v, CASE WHEN t = 3 THEN ARRAY[1.0, 2.0] ELSE ARRAY[1.0] END, '{"epochs": 1}') FROM s$$,
                 '2202E', 'covariates arrays differ in length', 'lstm: covariates of different lengths: 2202E');
SELECT throws_ok($$SELECT lstm_train(t, v, NULL::float8[], '{"epochs": 1}') FROM s$$, '22004', 'null covariates in time series', 'lstm: NULL covariates: 22004');
SELECT throws_ok($$SELECT lstm_train(t, v, ARRAY['NaN'::float8], '{"epochs": 1}') FROM s$$, '22000', 'NaN not allowed in covariates', 'lstm: NaN covariate: 22000');
SELECT throws_ok($$SELECT * FROM lmc, forecast(m, 3)$$, '22023', NULL, 'forecast of a covariate model without them: 22023');
SELECT throws_ok($$SELECT * FROM lmc, forecast(m, 3, 0.9, ARRAY[[1.0], [2.0]])$$, '2202E', NULL, 'future_covariates of the wrong shape: 2202E');
SELECT throws_ok($$SELECT * FROM lm, forecast(m, 2, 0.9, ARRAY[[1.0], [2.0]])$$, '22023', 'model was trained without covariates', 'future_covariates for a model without: 22023');
SELECT throws_ok($$SELECT predict(m, t, v) OVER (ORDER BY t) FROM s, lmc$$, '22023', NULL, 'predict of a covariate model without them: 22023');
SELECT throws_ok($$SELECT encode(substr(decode(m::text, 'base64'), 1, 200), 'base64')::tsmodel FROM lm$$, '22P02', 'invalid input syntax for type tsmodel', 'truncated LSTM model: 22P02');
SELECT throws_ok($$SELECT encode(overlay(decode(m::text, 'base64') PLACING '\x00100000'::bytea FROM 81 FOR 4), 'base64')::tsmodel FROM lm$$,
                 '22P02', NULL, 'LSTM model claiming hidden 4096: 22P02');

-- the CUDA backend (0.4.0): cuda_device() and tsforecast.device
SELECT has_function('tsforecast', 'cuda_device', ARRAY[]::text[], 'cuda_device()');
SELECT function_returns('tsforecast', 'cuda_device', ARRAY[]::text[], 'text', 'cuda_device returns text');
-- a parallel worker would load CUDA for nothing: the leader answers
SELECT is((SELECT proparallel FROM pg_proc WHERE oid = 'tsforecast.cuda_device()'::regprocedure), 'r'::"char",
          'cuda_device is PARALLEL RESTRICTED');
SELECT is((SELECT setting || ' ' || array_to_string(enumvals, ',') || ' ' || context FROM pg_settings WHERE name = 'tsforecast.device'),
          'auto auto,cpu,cuda user', 'tsforecast.device: auto, cpu or cuda, set by any user');
SELECT is((SELECT setting || ' ' || context FROM pg_settings WHERE name = 'tsforecast.cuda_module'),
          'tsforecast_cuda superuser', 'tsforecast.cuda_module: tsforecast_cuda, set by superusers');
SET LOCAL tsforecast.device = cuda;
SELECT CASE WHEN cuda_device() IS NULL
            THEN throws_ok($$SELECT lstm_train(t, v, '{"epochs": 1, "hidden": 4}') FROM s$$, '55000',
                           'tsforecast.device is "cuda" but no CUDA device is usable', 'device cuda without a GPU: 55000')
            ELSE lives_ok($$SELECT lstm_train(t, v, '{"epochs": 1, "hidden": 4}') FROM s$$, 'device cuda with a GPU trains') END;

RESET tsforecast.device;

-- evaluation (0.6.0): backtest, backtest_async, model_update
SELECT is_aggregate('tsforecast', 'backtest', ARRAY[t, 'double precision', 'jsonb', 'jsonb'], format('backtest(%s, float8, jsonb, jsonb)', t))
  FROM unnest(ARRAY['timestamp with time zone', 'date']) t;
SELECT function_returns('tsforecast', 'backtest', ARRAY['date', 'double precision', 'jsonb', 'jsonb'], 'backtest_row[]', 'backtest returns backtest_row[]');
SELECT is(ARRAY(SELECT format('%s %s', a.attname, format_type(a.atttypid, NULL))
                  FROM pg_attribute a WHERE a.attrelid = 'tsforecast.backtest_row'::regclass AND a.attnum > 0 ORDER BY a.attnum),
          ARRAY['origin timestamp with time zone', 'step integer', 'ts timestamp with time zone', 'forecast double precision',
                'lo double precision', 'hi double precision', 'actual double precision', 'scale double precision'],
          'backtest_row: origin, step, ts, forecast, lo, hi, actual, scale');
SELECT is_aggregate('tsforecast', 'model_update', ARRAY['tsmodel', t, 'double precision'] || extra,
                    format('model_update(tsmodel, %s)', array_to_string(ARRAY[t, 'float8'] || extra, ', ')))
  FROM unnest(ARRAY['timestamp with time zone', 'date', 'bigint']) t,
       (VALUES (ARRAY[]::text[]), (ARRAY['double precision[]'])) e(extra);
SELECT has_function('tsforecast', 'backtest_async', ARRAY['text', 'text', 'jsonb', 'jsonb'], 'backtest_async(name, source, spec, settings)');
SELECT throws_ok($$SELECT backtest(date '2000-01-01' + t::int, v, '{"kind": "ar"}', '{"every": 2}') FROM s$$, '22023', 'backtest settings have no "horizon"',
                 'backtest without a horizon: 22023');
SELECT throws_ok($$SELECT backtest(date '2000-01-01' + t::int, v, '{"kind": "ar"}', '{"horizon": 1, "origins": ["x"]}') FROM s$$, '22007', NULL,
                 'backtest origin that is no timestamp: 22007');

-- forecast_buckets (0.6.0)
SELECT has_function('tsforecast', 'forecast_buckets', ARRAY['tsmodel', 'interval', 'integer', 'double precision', 'jsonb'],
                    'forecast_buckets(model, bucket, horizon, level, options)');
SELECT is((SELECT pg_get_function_arguments('tsforecast.forecast_buckets(tsforecast.tsmodel, interval, integer, double precision, jsonb)'::regprocedure)),
          'model tsmodel, bucket interval, horizon integer, level double precision DEFAULT 0.95, options jsonb DEFAULT ''{}''::jsonb',
          'forecast_buckets: level defaults to 0.95, options to {}');
SELECT is((SELECT pg_get_function_result('tsforecast.forecast_buckets(tsforecast.tsmodel, interval, integer, double precision, jsonb)'::regprocedure)),
          'TABLE(bucket integer, bucket_start timestamp with time zone, bucket_end timestamp with time zone, steps integer, value double precision, mean double precision, lo double precision, hi double precision)',
          'forecast_buckets returns (bucket, bucket_start, bucket_end, steps, value, mean, lo, hi)');
SELECT volatility_is('tsforecast', 'forecast_buckets', ARRAY['tsmodel', 'interval', 'integer', 'double precision', 'jsonb'], 'stable',
                     'forecast_buckets is STABLE (local dates use the time zone)');
SELECT is_strict('tsforecast', 'forecast_buckets', ARRAY['tsmodel', 'interval', 'integer', 'double precision', 'jsonb'], 'forecast_buckets is STRICT');
SELECT throws_ok($$SELECT * FROM forecast_buckets((SELECT ar_fit(t, v) FROM s), '7 days', 2)$$, '0A000',
                 'bucket forecasts of an integer-indexed series are not supported', 'forecast_buckets of a bigint-indexed model: 0A000');
SELECT throws_ok($$SELECT * FROM forecast_buckets((SELECT ar_fit(date '2000-01-01' + t::int, v, '{"order": 2}') FROM s), '36 hours', 2)$$, '22023',
                 'bucket width 36:00:00 is not a whole number of the model''s steps', 'buckets of partial steps: 22023');

SELECT * FROM finish();
ROLLBACK;

-- pgTAP: the SQLSTATEs of the hardening of 0.5.0 (sql/hardening.sql shows
-- the messages; test/t/*.pl what needs a server of its own)
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS tsforecast;
SET search_path = public, tsforecast;

BEGIN;
SELECT plan(26);
-- the message a query fails with
CREATE FUNCTION tsf_tap_err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLERRM;
END $$;

-- sizes: 54000, before anything is allocated
SELECT throws_ok($$SELECT lstm_train(i::bigint, sin(i), '{"hidden": 4096, "layers": 8, "epochs": 1}') FROM generate_series(1, 5) i$$,
                 '54000', 'LSTM model would be too large to store', 'a network too large to store: 54000');
SELECT throws_ok($$SELECT lstm_train(i::bigint, sin(i), '{"hidden": 2048, "layers": 2, "epochs": 1}') FROM generate_series(1, 5) i$$,
                 '54000', NULL, 'a network whose training exceeds tsforecast.max_memory: 54000');
SELECT throws_ok($$SELECT lstm_train(t, v, '{"fill": "linear", "epochs": 1}') FROM (VALUES (1::bigint, 1.0::float8), (2, 2.0), (3000000, 1.0)) x(t, v)$$,
                 '54000', NULL, 'a filled span too long to train on: 54000');
SELECT throws_ok($$SELECT ar_fit(t, v, '{"fill": "linear", "order": 1}') FROM (VALUES (1::bigint, 1.0::float8), (2, 2.0), (100000000, 1.0)) x(t, v)$$,
                 '54000', NULL, 'an AR fit over 100,000,000 filled steps: 54000');
SELECT throws_ok($$SELECT ar_fit(t, v) FROM (VALUES (-9000000000000000000::bigint, 1.0::float8), (0, 2.0), (9000000000000000000, 1.5)) x(t, v)$$,
                 '54000', 'time series spans too many steps', 'a span beyond 64 bits: 54000 (was XX000)');
SET tsforecast.max_memory = '8MB';
SELECT throws_ok($$SELECT count(*) FROM forecast((SELECT lstm_train(i::bigint, sin(i), '{"epochs": 1, "hidden": 4}') FROM generate_series(1, 30) i), 100000)$$,
                 '54000', NULL, 'a forecast beyond tsforecast.max_memory: 54000');
SELECT throws_ok($$SELECT count(p) FROM (SELECT predict(m, i::bigint, 1.0) OVER (ORDER BY i) p FROM (SELECT ar_fit(i::bigint, sin(i)) m FROM generate_series(1, 30) i) x, generate_series(1, 400000) i) y$$,
                 '54000', NULL, 'predictions beyond tsforecast.max_memory: 54000');
RESET tsforecast.max_memory;
CREATE ROLE tsf_tap_user;
SET ROLE tsf_tap_user;
SELECT throws_ok($$SET tsforecast.max_memory = '100GB'$$, '42501', NULL, 'only a superuser sets tsforecast.max_memory: 42501');
RESET ROLE;

-- options: 22023
SELECT throws_ok($$SELECT ar_fit(t, v, o) FROM (VALUES (1::bigint, 1.0::float8, NULL::jsonb), (2, 2.0, '{"order": 1}'), (3, 1.5, '{"order": 1}'), (4, 2.5, '{"order": 1}')) x(t, v, o)$$,
                 '22023', 'options differ between rows of one time series', 'options differing between rows: 22023');
SELECT throws_ok($$SELECT ar_fit(i::bigint, sin(i), '{"order": 1e400}') FROM generate_series(1, 20) i$$,
                 '22023', NULL, 'an option beyond float8: 22023 (was 22003)');
SELECT ok(length(tsf_tap_err($$SELECT ar_fit(i::bigint, sin(i), ('{"order": 1' || repeat('0', 400) || '}')::jsonb) FROM generate_series(1, 20) i$$)) < 100,
          '... with a short message');

-- numbers: 22003 where float8 overflows; 22P02 for values the core cannot hold
SELECT throws_ok($$SELECT r2(a, p) FROM (VALUES (1e200, 2e200), (3e200, 1e200)) x(a, p)$$,
                 '22003', 'value out of range: overflow', 'metrics whose sums overflow: 22003 (was NaN)');
SELECT throws_ok($$SELECT * FROM forecast(encode(overlay(decode((SELECT ar_fit(t, sin(t / 3.0), '{"order": 1}')::text FROM generate_series(1, 100) t), 'base64') PLACING '\x7bcdd3c4f874f0c7'::bytea FROM 120 FOR 8), 'base64')::tsmodel, 30)$$,
                 '22003', 'forecast is out of range at step 5', 'a forecast that overflows: 22003 (was Infinity)');
SELECT throws_ok($$SELECT * FROM forecast((SELECT lstm_train(i::bigint, sin(i / 5.0) + 2, ARRAY[cos(i / 5.0)], '{"epochs": 2, "hidden": 4}') FROM generate_series(1, 80) i), 2, 0.9, ARRAY[[1e308], [-1e308]])$$,
                 '22003', NULL, 'future covariates beyond the network''s precision: 22003 (was NaN)');
SELECT throws_ok($$SELECT encode(overlay(decode(m::text, 'base64') PLACING '\x1d4a9cf487820748'::bytea FROM length(decode(m::text, 'base64')) - 7 FOR 8), 'base64')::tsmodel FROM (SELECT lstm_train(i::bigint, sin(i), '{"epochs": 1, "hidden": 4}') AS m FROM generate_series(1, 30) i) x$$,
                 '22P02', NULL, 'an LSTM value beyond float32 in text input: 22P02');
SELECT throws_ok($$SELECT ar_fit(i::bigint, 1e300 * (2 + sin(i / 3.0) + 0.1 * ((i * 7919) % 13))) FROM generate_series(1, 200) i$$,
                 '22003', NULL, 'an AR fit whose variance overflows: 22003 (not a model that does not read back)');
SELECT lives_ok($$SELECT ar_fit(i::bigint, 1e154 * (2 + sin(i / 3.0) + 0.1 * ((i * 7919) % 13)), '{"order": 3}')::text::tsmodel FROM generate_series(1, 200) i$$,
                'an AR(3) fit of values near 1e154 reads back (was sigma2 Infinity, and "collinear")');
SELECT is((SELECT bool_and(lo > -1e300 AND hi < 1e300) FROM forecast((SELECT ar_fit(t, sin(t / 3.0)) FROM generate_series(1, 100) t), 3, 0.9999999999999999)),
          true, 'a level within 1e-16 of 1 gives finite intervals (was infinite)');

-- the metrics' support functions: 22023
SELECT throws_ok($$SELECT tsforecast._r2_finalfn('{1,2}')$$, '22023', NULL, 'a malformed metrics state: 22023 (was XX000)');
SELECT throws_ok($$SELECT tsforecast._kge_finalfn('{1,NaN,0,0,0,0,0,0,0,0,0}')$$, '22023', NULL, '... or one with a NaN: 22023');

-- wait_job with a timeout beyond int64 microseconds: no "negative" error
SELECT throws_ok($$SELECT wait_job(-1, '1000000 years')$$, '42704', 'job -1 does not exist',
                 'wait_job with a million-year timeout reads the timeout right');
SELECT throws_ok($$SELECT wait_job(-1, '-1 second')$$, '22023', 'timeout must not be negative',
                 '... and a negative one is still refused');

-- frequencies: month ends from the 30th (was "cannot infer the frequency")
SELECT is((SELECT model_info(ar_fit(d, sin(i)))->>'frequency'
             FROM (SELECT i, (date_trunc('month', '2020-04-30'::date + make_interval(months => i)) + interval '1 month - 1 day')::date d
                     FROM generate_series(0, 29) i) x),
          'monthly (month end)', 'a month-end series from the 30th is monthly (month end)');

-- job sources that could only fail later: refused at submission (0A000)
CREATE TABLE s AS SELECT g AS t, sin(g / 7.0) + 2 AS v FROM generate_series(1::bigint, 100) g;
CREATE TEMP TABLE tmp_s AS SELECT * FROM s;
SELECT throws_ok($$SELECT train_async('x', 'SELECT t, v FROM s FOR UPDATE', '{"kind": "ar"}')$$, '0A000', 'source must not lock rows', 'FOR UPDATE: 0A000');
SELECT throws_ok($$SELECT train_async('x', 'WITH d AS (DELETE FROM s WHERE false RETURNING *) SELECT t, v FROM d', '{"kind": "ar"}')$$,
                 '0A000', 'source must not modify data', 'a data-modifying WITH: 0A000');
SELECT throws_ok($$SELECT train_async('x', 'SELECT t, v FROM tmp_s', '{"kind": "ar"}')$$, '0A000', 'source reads temporary table "tmp_s"',
                 'a temporary table: 0A000');

SELECT * FROM finish();
ROLLBACK;

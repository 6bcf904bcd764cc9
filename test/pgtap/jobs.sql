-- pgTAP: the SQL contract of training jobs (0.3.0): names, signatures,
-- properties, who sees what, and the SQLSTATEs of train_async, cancel_job
-- and wait_job.  It needs no background worker: jobs are made by hand as
-- rows of tsforecast._jobs, and this database is not the worker's, so
-- train_async itself ends with 55000 once its arguments pass.  The worker
-- is tested end to end by the TAP tests (test/t/007_job_progress.pl to
-- 012_job_gpu.pl).
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
SELECT plan(50);

-- the objects
SELECT has_function('tsforecast', 'train_async', ARRAY['text', 'text', 'jsonb'], 'train_async(name, source, spec)');
SELECT function_returns('tsforecast', 'train_async', ARRAY['text', 'text', 'jsonb'], 'bigint', 'train_async returns the job id');
SELECT has_function('tsforecast', 'cancel_job', ARRAY['bigint'], 'cancel_job(id)');
SELECT function_returns('tsforecast', 'cancel_job', ARRAY['bigint'], 'boolean', 'cancel_job returns boolean');
SELECT has_function('tsforecast', 'wait_job', ARRAY['bigint', 'interval'], 'wait_job(id, timeout)');
SELECT function_returns('tsforecast', 'wait_job', ARRAY['bigint', 'interval'], 'text', 'wait_job returns the state');
SELECT is((SELECT pg_get_function_arguments('tsforecast.wait_job(bigint, interval)'::regprocedure)),
          'id bigint, timeout interval DEFAULT NULL::interval', 'wait_job waits forever by default');
SELECT is((SELECT array_agg(DISTINCT provolatile::text || proparallel::text) FROM pg_proc
            WHERE oid IN ('tsforecast.train_async(text, text, jsonb)'::regprocedure,
                          'tsforecast.cancel_job(bigint)'::regprocedure,
                          'tsforecast.wait_job(bigint, interval)'::regprocedure)),
          ARRAY['vu'], 'the job functions are VOLATILE and PARALLEL UNSAFE');
SELECT has_view('tsforecast', 'jobs', 'view jobs');
SELECT columns_are('tsforecast', 'jobs',
    ARRAY['id', 'name', 'owner', 'state', 'progress', 'series_done', 'series_total', 'epoch', 'epochs',
          'loss', 'val_loss', 'device', 'submitted_at', 'started_at', 'finished_at', 'error', 'pid',
          'cancel_requested', 'spec', 'source'], 'the columns of jobs');
SELECT has_table('tsforecast', 'models', 'table models');
SELECT columns_are('tsforecast', 'models',
    ARRAY['id', 'name', 'series_key', 'model', 'metrics', 'spec', 'seed', 'data_from', 'data_to',
          'n_rows', 'version', 'job_id', 'owner', 'trained_at'], 'the columns of models');
SELECT col_type_is('tsforecast', 'models', 'model', 'tsforecast', 'tsmodel', 'models.model is a tsmodel');
SELECT is((SELECT relrowsecurity FROM pg_class WHERE oid = 'tsforecast.models'::regclass), true,
          'models has row-level security');
SELECT ok(NOT has_table_privilege('public', 'tsforecast._jobs', 'INSERT, UPDATE, DELETE'),
          'PUBLIC cannot write the job table');
SELECT ok(has_table_privilege('public', 'tsforecast._jobs', 'SELECT')
          AND (SELECT relrowsecurity FROM pg_class WHERE oid = 'tsforecast._jobs'::regclass),
          'PUBLIC reads the job table under row-level security (its own rows, for pg_dump)');
SELECT ok(has_table_privilege('public', 'tsforecast.jobs', 'SELECT'), 'everyone may read the jobs view');
SELECT ok(NOT has_table_privilege('public', 'tsforecast.models', 'INSERT, UPDATE'),
          'only jobs write models');

-- train_async checks its arguments before anything else: 22004, 22023, 42804, 42601
CREATE TABLE s AS SELECT g AS t, sin(g / 7.0) + 2 AS v, g % 3 AS k FROM generate_series(1::bigint, 100) g;
SELECT throws_ok($$SELECT train_async(NULL, 'SELECT t, v FROM s', '{"kind": "ar"}')$$, '22004', 'job name must not be null', 'NULL name: 22004');
SELECT throws_ok($$SELECT train_async('', 'SELECT t, v FROM s', '{"kind": "ar"}')$$, '22023', 'invalid job name: ""', 'empty name: 22023');
SELECT throws_ok($$SELECT train_async('x', 'SELECT t, v FROM s', '[1]')$$, '22023', 'spec must be a jsonb object', 'spec not an object: 22023');
SELECT throws_ok($$SELECT train_async('x', 'SELECT t, v FROM s', '{"epochs": 5}')$$, '22023', 'spec has no "kind"', 'spec without kind: 22023');
SELECT throws_ok($$SELECT train_async('x', 'SELECT t, v FROM s', '{"kind": "arima"}')$$, '22023', 'invalid value for "kind" in spec: arima', 'unknown kind: 22023');
SELECT throws_ok($$SELECT train_async('x', 'SELECT t, v FROM s', '{"kind": "lstm", "device": "gpu"}')$$, '22023', 'invalid value for "device" in spec: gpu', 'unknown device: 22023');
SELECT throws_ok($$SELECT train_async('x', 'SELECT t, v FROM s', '{"kind": "ar", "device": "cuda"}')$$, '22023', 'kind "ar" cannot train on the GPU', 'AR on the GPU: 22023');
SELECT throws_ok($$SELECT train_async('x', 'SELECT t, v FROM s', '{"kind": "lstm", "hiden": 8}')$$, '22023', 'unrecognized option "hiden"', 'unknown lstm option: 22023');
SELECT throws_ok($$SELECT train_async('x', 'SELECT t, v FROM s', '{"kind": "ar", "order": -1}')$$, '22023', 'invalid value for option "order": -1', 'ar option out of range: 22023');
SELECT throws_ok($$SELECT train_async('x', '', '{"kind": "ar"}')$$, '22023', 'source query must not be empty', 'empty source: 22023');
SELECT throws_ok($$SELECT train_async('x', 'SELECT t FROM s', '{"kind": "ar"}')$$, '22023', 'the source query returns 1 columns', 'one column: 22023');
SELECT throws_ok($$SELECT train_async('x', 'DELETE FROM s RETURNING t, v', '{"kind": "ar"}')$$, '22023', 'source must be a SELECT query', 'DML source: 22023');
SELECT throws_ok($$SELECT train_async('x', 'SELECT 1; SELECT t, v FROM s', '{"kind": "ar"}')$$, '22023', 'source must be a single query', 'two statements: 22023');
SELECT throws_ok($$SELECT train_async('x', 'SELECT t::text, v FROM s', '{"kind": "ar"}')$$, '42804', 'the ts column of the source query has type text', 'text ts: 42804');
SELECT throws_ok($$SELECT train_async('x', 'SELECT k, t, v::text FROM s', '{"kind": "ar"}')$$, '42804', 'the value column of the source query has type text', 'text value: 42804');
SELECT throws_ok($$SELECT train_async('x', 'SELECT k, t, v, ARRAY[''a''] FROM s', '{"kind": "lstm"}')$$, '42804', 'the covariates column of the source query has type text[]', 'text covariates: 42804');
SELECT throws_ok($$SELECT train_async('x', 'SELEC t, v FROM s', '{"kind": "ar"}')$$, '42601', NULL, 'syntax error: 42601');
-- valid arguments, but this database has no worker (either it is not
-- preloaded or it serves tsforecast.database): 55000
SELECT throws_like($$SELECT train_async('x', 'SELECT k, t, v FROM s;', '{"kind": "ar"}')$$,
                   'tsforecast background worker is not running%', 'no worker here: 55000 message');
SELECT throws_ok($$SELECT train_async('x', 'SELECT k, t, v FROM s', '{"kind": "ar"}')$$, '55000', NULL, 'no worker here: 55000');

-- jobs made by hand: two roles, each sees and cancels only its own
CREATE ROLE tsf_tap_a LOGIN;
CREATE ROLE tsf_tap_b LOGIN;
CREATE ROLE tsf_tap_admin LOGIN IN ROLE pg_signal_backend;
GRANT USAGE ON SCHEMA tsforecast TO tsf_tap_a, tsf_tap_b, tsf_tap_admin;
INSERT INTO tsforecast._jobs (id, name, owner, source, spec, search_path)
VALUES (-1, 'ja', 'tsf_tap_a', 'SELECT 1::bigint, 1.0', '{"kind": "ar"}', 'public'),
       (-2, 'jb', 'tsf_tap_b', 'SELECT 1::bigint, 1.0', '{"kind": "ar"}', 'public'),
       (-3, 'jsu', 'postgres', 'SELECT 1::bigint, 1.0', '{"kind": "ar"}', 'public');
SET ROLE tsf_tap_a;
SELECT is(ARRAY(SELECT id FROM tsforecast.jobs ORDER BY id), ARRAY[-1::bigint], 'a role sees only its own jobs');
SELECT throws_ok($$SELECT tsforecast.cancel_job(-2)$$, '42501', 'permission denied to cancel job -2', 'cancel of another''s job: 42501');
SELECT throws_ok($$SELECT tsforecast.wait_job(-2, '0s')$$, '42501', 'permission denied to wait for job -2', 'wait for another''s job: 42501');
SELECT throws_ok($$SELECT tsforecast.cancel_job(123456789)$$, '42704', 'job 123456789 does not exist', 'cancel of an unknown job: 42704');
SELECT throws_ok($$SELECT tsforecast.wait_job(123456789)$$, '42704', 'job 123456789 does not exist', 'wait for an unknown job: 42704');
SELECT throws_ok($$SELECT tsforecast.wait_job(-1, '10ms')$$, '25000', 'job -1 was submitted or changed in this transaction',
                 'waiting for a job of this very transaction: 25000');
SELECT is(tsforecast.cancel_job(-1), true, 'a role cancels its own queued job');
SELECT is((SELECT state FROM tsforecast.jobs WHERE id = -1), 'cancelled', 'the job is cancelled');
SELECT is(tsforecast.cancel_job(-1), false, 'cancelling an ended job returns false');
RESET ROLE;
SET ROLE tsf_tap_admin;
SELECT is(ARRAY(SELECT id FROM tsforecast.jobs ORDER BY id), ARRAY[-2::bigint, -1],
          'pg_signal_backend sees the jobs of non-superusers only');
SELECT throws_ok($$SELECT tsforecast.cancel_job(-3)$$, '42501', NULL, 'pg_signal_backend cannot cancel a superuser''s job: 42501');
SELECT is(tsforecast.cancel_job(-2), true, 'pg_signal_backend cancels a non-superuser''s job');
RESET ROLE;
SELECT is((SELECT count(*) FROM tsforecast.jobs WHERE id < 0), 3::bigint, 'a superuser sees every job');

SELECT * FROM finish();
ROLLBACK;

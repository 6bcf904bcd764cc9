/* tsforecast 0.4.0 -> 0.5.0: safe to install (never edited after release) */

\echo Use "ALTER EXTENSION tsforecast UPDATE TO '0.5.0'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- training jobs: what a job runs with, and proof that train_async wrote it
-- ---------------------------------------------------------------------------

-- statement_timeout: the submitting session's, in milliseconds (0: none),
-- applied to the job.  signature: an HMAC, keyed by a secret of the server
-- (in its data directory), over everything the job's worker acts on: the
-- launcher starts only jobs whose row train_async wrote, on this server,
-- for this database, however the table's rows came to be.  Jobs queued
-- under 0.4.0 have none: the launcher fails them, saying so.
ALTER TABLE _jobs ADD COLUMN statement_timeout integer NOT NULL DEFAULT 0
        CHECK (statement_timeout >= 0),
    ADD COLUMN signature bytea;
CREATE INDEX _jobs_running ON _jobs (id) WHERE state = 'running';

-- a role reads its own job rows (and models) directly, so that it can
-- pg_dump a database it may read: with --enable-row-security, as for any
-- table under row-level security, its dump holds its own jobs and models
ALTER TABLE _jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY _jobs_of_role ON _jobs FOR SELECT
    USING (pg_catalog.pg_has_role(owner::oid, 'USAGE')
           OR (pg_catalog.pg_has_role('pg_signal_backend', 'USAGE')
               AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid = owner::oid)));
GRANT SELECT ON _jobs TO PUBLIC;
GRANT SELECT ON _jobs_id_seq, models_id_seq TO PUBLIC;

-- ---------------------------------------------------------------------------
-- the job tables' SQL, all of it: what the job functions and the background
-- workers run (src/job_metadata.c calls these as the tables' owner, with
-- search_path pinned), and what the isolation tests race.  Not for direct
-- use: EXECUTE is revoked from PUBLIC.
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

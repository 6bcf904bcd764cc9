/* tsforecast 0.2.0 -> 0.3.0: training jobs (never edited after release) */

\echo Use "ALTER EXTENSION tsforecast UPDATE TO '0.3.0'" to load this file. \quit

-- a table of the user's own named models in the extension's schema (as an
-- earlier README's example made with search_path = tsforecast, public)
-- would collide with the jobs' models table: say so, and how to fix it
DO $$
BEGIN
    IF to_regclass('tsforecast.models') IS NOT NULL THEN
        RAISE EXCEPTION 'cannot update tsforecast to 0.3.0: table tsforecast.models already exists'
            USING ERRCODE = 'duplicate_table',
                  DETAIL = 'Version 0.3.0 creates tsforecast.models for the models trained by jobs.',
                  HINT = 'Move your table out of the extension''s schema first, e.g. ALTER TABLE tsforecast.models SET SCHEMA public.';
    END IF;
END $$;

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
COMMENT ON FUNCTION train_async(text, text, jsonb) IS 'queue a training job over the rows of source ([series key,] ts, value [, covariates]); spec: {"kind": "ar"|"lstm", options}; returns the job id';

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

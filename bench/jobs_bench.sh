#!/usr/bin/env bash
# Benchmark (not a test): training many LSTMs through a job against one
# session's GROUP BY.
#
#   bench/jobs_bench.sh                 starts its own cluster (port 54332)
#   SERIES=200 bench/jobs_bench.sh      a subset (the 2-core figures in the
#                                       README are from SERIES=200)
#
# The data: SERIES series of POINTS weekly points, windows of the Verde
# River's weekly flow (1989-2020, 1,650 weeks): series s is the POINTS
# weeks from offset (37 s) mod (1650 - POINTS), scaled by 0.5 + (s mod 10)
# / 10.  The seed's network with lstm_train's defaults (conv 3x4, LSTM 40,
# dropout 0.5, Adam 0.01, EPOCHS = 200 epochs).  Timed, in this order:
#   session   SELECT series, lstm_train(week_start, flow) FROM bench GROUP BY series
#   one job   train_async over all series: one worker process
#   two jobs  train_async twice, half the series each, run at once
#             (tsforecast.max_workers = 2)
# Job times are the jobs' own, started_at to finished_at (the launcher's
# pick-up is ~1 ms); the session's is the statement's.  Then it checks that
# the job's models equal the session's (all but the fit time).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export TSF_PGROOT=${TSF_PGROOT:-/tmp/tsforecast-bench-jobs} TSF_PGPORT=${TSF_PGPORT:-54332}
SERIES=${SERIES:-1000}
POINTS=${POINTS:-500}
EPOCHS=${EPOCHS:-200}
PGBIN=$(${PG_CONFIG:-pg_config} --bindir)

"$ROOT/scripts/tsf" setup >/dev/null
"$ROOT/scripts/tsf" start >/dev/null
export PGHOST=$TSF_PGROOT PGPORT=$TSF_PGPORT PGUSER=postgres
trap '"$ROOT/scripts/tsf" stop' EXIT
cd "$ROOT"

"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d tsf_jobs <<SQL
SET client_min_messages = warning;
CREATE EXTENSION tsforecast;
SET search_path = public, tsforecast;
CREATE TABLE verde (week_start date PRIMARY KEY, flow float8 NOT NULL);
\copy verde FROM 'test/fixtures/verde_weekly.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE bench AS
SELECT s AS series, v.week_start, v.flow * (0.5 + (s % 10) / 10.0) AS flow
  FROM generate_series(1, $SERIES) s,
       LATERAL (SELECT week_start, flow FROM verde ORDER BY week_start
                OFFSET (37 * s) % (1650 - $POINTS) LIMIT $POINTS) v;
VACUUM ANALYZE bench;
SQL

"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d tsf_jobs <<SQL
SET search_path = public, tsforecast;
\pset footer off
CREATE TEMP TABLE timing (approach text, seconds float8, workers int);

-- a session: the aggregate over GROUP BY
SELECT clock_timestamp() AS t0 \gset
CREATE TABLE session_models AS
SELECT series, lstm_train(week_start, flow, '{"epochs": $EPOCHS}') AS model FROM bench GROUP BY series;
INSERT INTO timing SELECT 'one session: lstm_train ... GROUP BY series', extract(epoch FROM clock_timestamp() - :'t0'), 1;

-- one job over every series
SELECT train_async('one_job', 'SELECT series, week_start, flow FROM bench', '{"kind": "lstm", "epochs": $EPOCHS}') AS id \gset
SELECT wait_job(:id) AS state \gset
\echo one job: :state
INSERT INTO timing SELECT 'one train_async job (1 worker)', extract(epoch FROM finished_at - started_at), 1
  FROM jobs WHERE id = :id;

-- two jobs of half the series each, at once
BEGIN;
SELECT train_async('half_0', 'SELECT series, week_start, flow FROM bench WHERE series % 2 = 0', '{"kind": "lstm", "epochs": $EPOCHS}') AS a,
       train_async('half_1', 'SELECT series, week_start, flow FROM bench WHERE series % 2 = 1', '{"kind": "lstm", "epochs": $EPOCHS}') AS b \gset
COMMIT;
SELECT wait_job(:a) || ' ' || wait_job(:b) AS states \gset
\echo two jobs: :states
INSERT INTO timing SELECT 'two train_async jobs, half each (2 workers)', extract(epoch FROM max(finished_at) - min(started_at)), 2
  FROM jobs WHERE id IN (:a, :b);

\echo
\echo $SERIES series x $POINTS weekly points, $EPOCHS epochs, the network of the seed notebook
SELECT approach, round(seconds::numeric, 1) AS wall_s,
       round((seconds / $SERIES)::numeric, 3) AS s_per_series,
       round((seconds / $SERIES * 1000)::numeric, 0) AS "1000 series (s)"
  FROM timing;

\echo The models of the job equal those of the session, but for the fit time:
SELECT count(*) AS compared,
       count(*) FILTER (WHERE model_info(m.model) - 'fit_seconds' - 'fitted_at'
                            = model_info(s.model) - 'fit_seconds' - 'fitted_at') AS equal
  FROM models m JOIN session_models s ON m.series_key = s.series::text
 WHERE m.name = 'one_job';
SQL
nproc | sed 's/^/cores: /'
"$PGBIN/postgres" --version

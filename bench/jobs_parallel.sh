#!/usr/bin/env bash
# Benchmark (not a test): one training job over many series in 1, 2 and
# all of the machine's processes (the spec's "parallel": the job's worker
# and parallel - 1 parallel workers, job_parallel.c).
#
#   bench/jobs_parallel.sh              starts its own cluster (port 54334)
#   SMALL=1 bench/jobs_parallel.sh      a quick check: 100 series, 50 epochs
#   SERIES=200 EPOCHS=100 bench/...     any other size
#
# The data are bench/jobs_bench.sh's: SERIES series of POINTS weekly points,
# windows of the Verde River's weekly flow (1989-2020, 1,650 weeks): series
# s is the POINTS weeks from offset (37 s) mod (1650 - POINTS), scaled by
# 0.5 + (s mod 10) / 10.  The seed's network with lstm_train's defaults
# (conv 3x4, LSTM 40, dropout 0.5, Adam 0.01), EPOCHS epochs.  Each job's
# time is its own, started_at to finished_at: reading the source, training,
# scoring and storing every model.  It prints wall time, series per second
# and the speed-up over "parallel": 1, then checks that every run's models
# are those of "parallel": 1 (all but the fit time).  The 2-core target:
# parallel 2 at least 1.8x as fast as parallel 1.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export TSF_PGROOT=${TSF_PGROOT:-/tmp/tsforecast-bench-parallel} TSF_PGPORT=${TSF_PGPORT:-54334}
if [ -n "${SMALL:-}" ]; then
    SERIES=${SERIES:-100}
    EPOCHS=${EPOCHS:-50}
fi
SERIES=${SERIES:-1000}
POINTS=${POINTS:-500}
EPOCHS=${EPOCHS:-200}
CORES=${CORES:-$(nproc)}
PGBIN=$(${PG_CONFIG:-pg_config} --bindir)

"$ROOT/scripts/tsf" setup >/dev/null
export PGHOST=$TSF_PGROOT PGPORT=$TSF_PGPORT PGUSER=postgres
# room for a job of CORES processes: the launcher, the job's worker and
# CORES - 1 parallel workers
"$ROOT/scripts/tsf" start >/dev/null
"$PGBIN/psql" -X -q -d postgres <<SQL
ALTER SYSTEM SET max_worker_processes = $((CORES + 8));
ALTER SYSTEM SET max_parallel_workers = $CORES;
ALTER SYSTEM SET tsforecast.max_parallel_workers_per_job = $CORES;
SQL
"$ROOT/scripts/tsf" stop >/dev/null
"$ROOT/scripts/tsf" start >/dev/null
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

runs="1 2"
[ "$CORES" -gt 2 ] && runs="$runs $CORES"
for p in $runs; do
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d tsf_jobs <<SQL
SET search_path = public, tsforecast;
SELECT train_async('parallel_$p', 'SELECT series, week_start, flow FROM bench',
                   '{"kind": "lstm", "device": "cpu", "epochs": $EPOCHS, "parallel": $p}') AS id \gset
SELECT wait_job(:id) AS state \gset
\echo parallel $p: :state
SQL
done

"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d tsf_jobs <<SQL
SET search_path = public, tsforecast;
\pset footer off
\echo
\echo $SERIES series x $POINTS weekly points, $EPOCHS epochs, the network of the seed notebook; $(nproc) cores
WITH t AS (
  SELECT (spec->>'parallel')::int AS parallel, extract(epoch FROM finished_at - started_at) AS seconds
    FROM jobs WHERE name LIKE 'parallel\_%' AND state = 'succeeded')
SELECT parallel AS processes, round(seconds::numeric, 1) AS wall_s,
       round(($SERIES / seconds)::numeric, 2) AS series_per_s,
       round(((SELECT seconds FROM t WHERE parallel = 1) / seconds)::numeric, 2) AS speedup
  FROM t ORDER BY parallel;

\echo The models of every run equal those of parallel 1, but for the fit time:
SELECT m.name, count(*) AS compared,
       count(*) FILTER (WHERE model_info(m.model) - 'fit_seconds' - 'fitted_at'
                            = model_info(o.model) - 'fit_seconds' - 'fitted_at'
                          AND m.metrics = o.metrics) AS equal
  FROM models m JOIN models o ON o.name = 'parallel_1' AND o.series_key = m.series_key
 WHERE m.name LIKE 'parallel\_%' AND m.name <> 'parallel_1'
 GROUP BY m.name ORDER BY m.name;
SQL
grep -h "trains its" "$TSF_PGROOT/server.log" | sed 's/^.*LOG:  //'
"$PGBIN/postgres" --version

#!/usr/bin/env bash
# Benchmark (not a test): ar_fit against avg() over the same GROUP BY.
#
#   bench/ar_fit_bench.sh            starts its own cluster (port 54330)
#
# In one run, on one table of 10,000 series x 1,000 points:
#   SELECT series, avg(value)        FROM bench GROUP BY series
#   SELECT series, ar_fit(t, value)  FROM bench GROUP BY series   (order by AIC)
# then one ar_fit over a single 1,000,000-point series.  Each query runs
# three times; the median is reported, and the ratio ar_fit / avg.  (The
# outer WHERE r IS NOT NULL keeps the planner from dropping the unused
# aggregate of the subquery.)
# Target: ar_fit costs at most 3x avg.  Same session settings for both.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export TSF_PGROOT=${TSF_PGROOT:-/tmp/tsforecast-bench} TSF_PGPORT=${TSF_PGPORT:-54330}
SERIES=${SERIES:-10000}
POINTS=${POINTS:-1000}
LONG=${LONG:-1000000}

"$ROOT/scripts/tsf" setup >/dev/null
"$ROOT/scripts/tsf" start >/dev/null
export PGHOST=$TSF_PGROOT PGPORT=$TSF_PGPORT PGUSER=postgres
trap '"$ROOT/scripts/tsf" stop' EXIT

psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL
SET client_min_messages = warning;
CREATE EXTENSION tsforecast;
CREATE TABLE bench (series int, t bigint, value float8);
-- a noisy seasonal series per id, deterministic: sin + a hash-based noise
INSERT INTO bench
SELECT s, t, sin(t / (5.0 + s % 17)) + 0.3 * ((hashint8(t * 100003 + s) % 1000) / 1000.0)
  FROM generate_series(1, $SERIES) s, generate_series(1, $POINTS) t;
CREATE TABLE bench_long (t bigint, value float8);
INSERT INTO bench_long
SELECT t, sin(t / 50.0) + 0.3 * ((hashint8(t) % 1000) / 1000.0) FROM generate_series(1, $LONG) t;
VACUUM ANALYZE bench;
VACUUM ANALYZE bench_long;

CREATE FUNCTION time_query(q text, runs int DEFAULT 3) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE
    t0 timestamptz;
    times float8[] := '{}';
BEGIN
    FOR i IN 1..runs LOOP
        t0 := clock_timestamp();
        EXECUTE q;
        times := times || extract(epoch FROM clock_timestamp() - t0)::float8;
    END LOOP;
    RETURN (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(times) x);
END \$\$;
SQL

for mode in parallel serial; do
workers=2; [ "$mode" = serial ] && workers=0
psql -X -q -v ON_ERROR_STOP=1 -d postgres -v mode=$mode -v workers=$workers <<'SQL'
SET work_mem = '512MB';
SET max_parallel_workers_per_gather = :workers;
SET search_path = tsforecast, public;
\pset footer off
CREATE TEMP TABLE results AS
SELECT 'avg(value) GROUP BY series' AS query,
       time_query('SELECT count(*) FROM (SELECT series, avg(value) AS r FROM bench GROUP BY series) x WHERE r IS NOT NULL') AS seconds
UNION ALL
SELECT 'ar_fit(t, value) GROUP BY series',
       time_query('SELECT count(*) FROM (SELECT series, ar_fit(t, value) AS r FROM bench GROUP BY series) x WHERE r IS NOT NULL')
UNION ALL
SELECT 'ar_fit(t, value, order 2) GROUP BY series',
       time_query('SELECT count(*) FROM (SELECT series, ar_fit(t, value, ''{"order": 2}'') AS r FROM bench GROUP BY series) x WHERE r IS NOT NULL')
UNION ALL
SELECT 'avg(value), one 1M-point series',
       time_query('SELECT avg(value) FROM bench_long')
UNION ALL
SELECT 'ar_fit(t, value), one 1M-point series',
       time_query('SELECT ar_fit(t, value) FROM bench_long');

\echo
\echo :mode 'plans (max_parallel_workers_per_gather =' :workers ')'
SELECT query, round(seconds::numeric, 3) AS seconds FROM results;
SELECT round(((SELECT seconds FROM results WHERE query = 'ar_fit(t, value) GROUP BY series')
            / (SELECT seconds FROM results WHERE query = 'avg(value) GROUP BY series'))::numeric, 2)
       AS "ratio ar_fit/avg (AIC order, target <= 3)",
       round(((SELECT seconds FROM results WHERE query = 'ar_fit(t, value, order 2) GROUP BY series')
            / (SELECT seconds FROM results WHERE query = 'avg(value) GROUP BY series'))::numeric, 2)
       AS "ratio (fixed order 2)",
       round(((SELECT seconds FROM results WHERE query = 'ar_fit(t, value), one 1M-point series')
            / (SELECT seconds FROM results WHERE query = 'avg(value), one 1M-point series'))::numeric, 2)
       AS "ratio on the 1M series";
SQL
done

psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
SET search_path = tsforecast, public;
\pset footer off
\echo
SELECT (SELECT count(*) FROM bench) AS rows, (SELECT count(DISTINCT series) FROM bench) AS series,
       (SELECT model_info(ar_fit(t, value))->>'order' FROM bench_long) AS order_1m,
       version() AS server;
SQL

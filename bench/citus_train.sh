#!/usr/bin/env bash
# Benchmark (not a test): the same training on one node and on a Citus
# cluster of a coordinator and two workers, all on this machine.
#
#   bench/citus_train.sh                1,000 series x 500 weekly points,
#                                       200 epochs (issue 13's benchmark)
#   SERIES=40 EPOCHS=20 bench/citus_train.sh    a quick check
#
# The data is bench/jobs_bench.sh's: series s is the POINTS weeks of the
# Verde River's weekly flow from offset (37 s) mod (1650 - POINTS), scaled
# by 0.5 + (s mod 10) / 10; the seed's network with lstm_train's defaults
# (conv 3x4, LSTM 40, dropout 0.5, Adam 0.01), EPOCHS epochs.  Timed:
#   one node, session   SELECT series, lstm_train(...) FROM bench GROUP BY series
#                       (one backend: one core)
#   one node, job       train_async over the table, "parallel": CORES
#                       (skipped where the installed tsforecast has no
#                       "parallel" option)
#   Citus, session      the same GROUP BY on the coordinator, the table
#                       distributed by series (citus.shard_count SHARDS):
#                       Citus runs one task per shard on the workers, at
#                       once, each training its shard's series
#   Citus, job          train_async on the coordinator over the
#                       distributed table
# Then it checks that every model equals the one-node session's (all but
# the fit time).  The Citus nodes share this machine's cores, so on one
# machine Citus can at best use the cores a local job uses; the figure to
# read is that the distributed training loses nothing to the one node at
# the same cores, and the models are the same: on more machines the
# workers' cores add up.
#
# Clusters of its own under $ROOTDIR (default /tmp/tsforecast-bench-citus),
# ports $PORT..$PORT+3 (default 54390), run as the postgres user; Citus is
# built and installed into $PG_CONFIG's PostgreSQL by test/citus/build.sh
# (cached), tsforecast by make install.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERIES=${SERIES:-1000}
POINTS=${POINTS:-500}
EPOCHS=${EPOCHS:-200}
SHARDS=${SHARDS:-8}
PORT=${PORT:-54390}
ROOTDIR=${ROOTDIR:-/tmp/tsforecast-bench-citus}
CORES=${CORES:-$(nproc)}
PG_CONFIG=${PG_CONFIG:-pg_config}
PGBIN=$($PG_CONFIG --bindir)
export PG_CONFIG
cd "$ROOT"

make -s -j2 >/dev/null && make -s install >/dev/null
bash test/citus/build.sh >/dev/null

as_pg() { if [ "$(id -u)" -eq 0 ]; then su postgres -c "$(printf '%q ' "$@")"; else "$@"; fi; }

NODES=(single coordinator worker1 worker2)
stop_all() {
    for i in "${!NODES[@]}"; do
        [ -f "$ROOTDIR/${NODES[$i]}/postmaster.pid" ] &&
            as_pg "$PGBIN/pg_ctl" -D "$ROOTDIR/${NODES[$i]}" -m fast -w stop >/dev/null 2>&1 || true
    done
}
trap stop_all EXIT
stop_all
rm -rf "$ROOTDIR"; mkdir -p "$ROOTDIR"
[ "$(id -u)" -eq 0 ] && chown postgres: "$ROOTDIR"
for i in "${!NODES[@]}"; do
    n=${NODES[$i]} p=$((PORT + i))
    as_pg "$PGBIN/initdb" -D "$ROOTDIR/$n" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    libs="citus,tsforecast"; [ "$n" = single ] && libs=tsforecast
    cat >>"$ROOTDIR/$n/postgresql.conf" <<EOF
port = $p
unix_socket_directories = '$ROOTDIR'
listen_addresses = '127.0.0.1'
shared_preload_libraries = '$libs'
tsforecast.database = 'bench'
tsforecast.max_workers = 4
tsforecast.naptime = '200ms'
tsforecast.device = 'cpu'
max_worker_processes = 32
citus.shard_count = $SHARDS
EOF
    [ "$n" = single ] && sed -i '/^citus\./d' "$ROOTDIR/$n/postgresql.conf"
    as_pg "$PGBIN/pg_ctl" -D "$ROOTDIR/$n" -l "$ROOTDIR/$n.log" -w start >/dev/null
    ext="CREATE EXTENSION citus; CREATE EXTENSION tsforecast;"; [ "$n" = single ] && ext="CREATE EXTENSION tsforecast;"
    "$PGBIN/psql" -X -q -h "$ROOTDIR" -p $p -U postgres -d postgres -c "CREATE DATABASE bench"
    "$PGBIN/psql" -X -q -h "$ROOTDIR" -p $p -U postgres -d bench -c "SET client_min_messages = warning; $ext"
done
SINGLE=(-X -q -v ON_ERROR_STOP=1 -h "$ROOTDIR" -p $PORT -U postgres -d bench)
COORD=(-X -q -v ON_ERROR_STOP=1 -h "$ROOTDIR" -p $((PORT + 1)) -U postgres -d bench)
"$PGBIN/psql" "${COORD[@]}" -c "SELECT citus_set_coordinator_host('127.0.0.1', $((PORT + 1)))" >/dev/null
for w in 2 3; do
    "$PGBIN/psql" "${COORD[@]}" -c "SELECT citus_add_node('127.0.0.1', $((PORT + w)))" >/dev/null
done

DATA="CREATE TABLE verde (week_start date PRIMARY KEY, flow float8 NOT NULL);
\copy verde FROM 'test/fixtures/verde_weekly.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE bench (series int, week_start date, flow float8);"
FILL="INSERT INTO bench
SELECT s, v.week_start, v.flow * (0.5 + (s % 10) / 10.0)
  FROM generate_series(1, $SERIES) s,
       LATERAL (SELECT week_start, flow FROM verde ORDER BY week_start
                OFFSET (37 * s) % (1650 - $POINTS) LIMIT $POINTS) v;"
"$PGBIN/psql" "${SINGLE[@]}" <<SQL
$DATA
$FILL
VACUUM ANALYZE bench;
SQL
"$PGBIN/psql" "${COORD[@]}" >/dev/null <<SQL
SET client_min_messages = warning;
$DATA
SELECT create_distributed_table('bench', 'series');
$FILL
VACUUM ANALYZE bench;
SQL
SPEC="{\"epochs\": $EPOCHS}"

# $1 the psql arguments' array name, $2 label: the session's GROUP BY into
# table session_models
run_session() {
    local -n args=$1
    "$PGBIN/psql" "${args[@]}" -At <<SQL
SET search_path = public, tsforecast;
SELECT clock_timestamp() AS t0 \\gset
CREATE TABLE session_models AS
SELECT series, lstm_train(week_start, flow, '$SPEC') AS model FROM bench GROUP BY series;
SELECT '$2, session|' || extract(epoch FROM clock_timestamp() - :'t0');
SQL
}
# the same through train_async with spec $3 (its models named bench_job);
# prints nothing when the job is refused at submission
run_job() {
    local -n args=$1
    "$PGBIN/psql" "${args[@]}" -At <<SQL
SET search_path = public, tsforecast;
SELECT train_async('bench_job', 'SELECT series, week_start, flow FROM bench', '$3') AS id \\gset
SELECT wait_job(:id) AS state \\gset
SELECT '$2 (' || :'state' || ')|' || extract(epoch FROM finished_at - started_at)
  FROM jobs WHERE id = :id;
SQL
}

out=$(mktemp)
run_session SINGLE "one node" >>"$out"
run_job SINGLE "one node, job, parallel $CORES" \
    "{\"kind\": \"lstm\", \"epochs\": $EPOCHS, \"parallel\": $CORES}" >>"$out" 2>/dev/null ||
    run_job SINGLE "one node, job (no parallel option)" "{\"kind\": \"lstm\", \"epochs\": $EPOCHS}" >>"$out"
run_session COORD "Citus (coordinator + 2 workers)" >>"$out"
run_job COORD "Citus, job" "{\"kind\": \"lstm\", \"epochs\": $EPOCHS}" >>"$out"

echo
echo "$SERIES series x $POINTS weekly points, $EPOCHS epochs, the seed's network; $(nproc) cores, $SHARDS shards"
base=$(awk -F'|' '/one node, session/ {print $2}' "$out")
printf '%-46s %8s %10s %8s\n' approach wall_s series_s speedup
grep '|' "$out" | while IFS='|' read -r label secs; do
    awk -v l="$label" -v s="$secs" -v n="$SERIES" -v b="$base" \
        'BEGIN { printf "%-46s %8.1f %10.2f %7.2fx\n", l, s, n / s, b / s }'
done
rm -f "$out"

# the models: the Citus session's and job's against the one node's (all
# of each model, tsmodel_to_jsonb, but the fit time and date)
"$PGBIN/psql" "${SINGLE[@]}" -At -c "COPY (SELECT series, model FROM session_models) TO STDOUT" >"$ROOTDIR/single.tsv"
"$PGBIN/psql" "${COORD[@]}" <<SQL
SET search_path = public, tsforecast;
CREATE TEMP TABLE single (series int, model tsmodel);
\\copy single FROM '$ROOTDIR/single.tsv'
\\pset footer off
SET client_min_messages = error;
CREATE FUNCTION pg_temp.same(a tsmodel, b tsmodel) RETURNS boolean
    LANGUAGE sql AS \$\$ SELECT tsforecast.tsmodel_to_jsonb(a) - 'fit_seconds' - 'fitted_at'
                         = tsforecast.tsmodel_to_jsonb(b) - 'fit_seconds' - 'fitted_at' \$\$;
SELECT 'Citus session' AS models, count(*) AS compared,
       count(*) FILTER (WHERE pg_temp.same(s.model, si.model)) AS equal
  FROM session_models s JOIN single si USING (series)
UNION ALL
SELECT 'Citus job', count(*), count(*) FILTER (WHERE pg_temp.same(m.model, si.model))
  FROM tsforecast.models m JOIN single si ON m.series_key = si.series::text
 WHERE m.name = 'bench_job';
SQL
"$PGBIN/psql" "${SINGLE[@]}" <<SQL
\\pset footer off
SELECT 'one node job' AS models, count(*) AS compared,
       count(*) FILTER (WHERE tsforecast.tsmodel_to_jsonb(m.model) - 'fit_seconds' - 'fitted_at'
                            = tsforecast.tsmodel_to_jsonb(s.model) - 'fit_seconds' - 'fitted_at') AS equal
  FROM tsforecast.models m JOIN session_models s ON m.series_key = s.series::text
 WHERE m.name = 'bench_job';
SQL

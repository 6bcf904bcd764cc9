#!/usr/bin/env bash
# Run the pg_regress suites, then a few training jobs (the launcher and the
# job workers), against a server under valgrind memcheck and report every
# error whose stack passes through tsforecast.so.
#
#   test/valgrind.sh          (as root; builds and installs first via scripts/tsf setup)
#
# PG_CONFIG picks the PostgreSQL (as for scripts/tsf); TSF_VGROOT and
# TSF_VGPORT the cluster's directory and port.
#
# PostgreSQL from Debian is built without USE_VALGRIND, so memcheck also
# reports the server's own benign patterns (uninitialised padding written to
# disk, and so on); those are counted apart and not ours to fix.  The run
# fails only on errors with a tsforecast frame.  It takes some minutes.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGBIN=$(${PG_CONFIG:-pg_config} --bindir)
VGROOT=${TSF_VGROOT:-/tmp/tsforecast-vg}
PORT=${TSF_VGPORT:-54331}
command -v valgrind >/dev/null || apt-get install -y -qq valgrind >/dev/null
"$ROOT/scripts/tsf" setup >/dev/null
make -C "$ROOT" -s install-cuda-emu >/dev/null     # the cuda suite's emulator

runuser -u postgres -- "$PGBIN/pg_ctl" -D "$VGROOT/data" -m immediate stop >/dev/null 2>&1 || true
rm -rf "$VGROOT"; mkdir -p "$VGROOT"; chown postgres: "$VGROOT"
runuser -u postgres -- "$PGBIN/initdb" -D "$VGROOT/data" -U postgres -A trust >/dev/null
runuser -u postgres -- bash -c "valgrind --quiet --trace-children=yes --track-origins=yes \
    --read-var-info=no --num-callers=30 --error-limit=no --log-file=$VGROOT/vg.%p.log \
    $PGBIN/postgres -D $VGROOT/data -p $PORT -k $VGROOT -c listen_addresses='' \
    -c max_parallel_workers_per_gather=2 -c shared_preload_libraries=tsforecast \
    -c tsforecast.database=postgres -c tsforecast.naptime=1s >$VGROOT/server.log 2>&1 &"
for i in $(seq 1 120); do
    psql -X -q -h "$VGROOT" -p $PORT -U postgres -d postgres -c "select 1" >/dev/null 2>&1 && break
    sleep 1
done

cd "$ROOT"
rc=0
make -s installcheck PGHOST="$VGROOT" PGPORT=$PORT PGUSER=postgres \
    REGRESS_OUTDIR="$VGROOT/regress" || rc=$?

# training jobs: an AR job over three series, a small LSTM job, a cancel
jobs=$("$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$VGROOT" -p $PORT -U postgres -d postgres <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tsforecast;
SET search_path = public, tsforecast;
DROP TABLE IF EXISTS vg_series;
CREATE TABLE vg_series AS SELECT k, t::bigint AS t, 2 + sin(t / (3.0 + k)) + 0.1 * ((t * 7919) % 13) AS v
  FROM generate_series(1, 3) k, generate_series(1, 120) t;
SELECT train_async('vg_ar', 'SELECT k, t, v FROM vg_series', '{"kind": "ar"}') AS id \gset
SELECT wait_job(:id, '600s');
SELECT train_async('vg_lstm', 'SELECT k, t, v FROM vg_series WHERE k = 1',
                   '{"kind": "lstm", "epochs": 3, "hidden": 4, "validation": 0.2}') AS id \gset
SELECT wait_job(:id, '600s');
SELECT train_async('vg_cancel', 'SELECT t, v FROM vg_series WHERE k = 2', '{"kind": "lstm", "epochs": 1000000, "hidden": 4}') AS id \gset
DO $$ BEGIN    -- until it trains (a worker under valgrind starts slowly)
    FOR i IN 1..1200 LOOP
        EXIT WHEN (SELECT coalesce(epoch, 0) FROM tsforecast.jobs WHERE name = 'vg_cancel') > 0;
        PERFORM pg_sleep(0.5);
    END LOOP;
END $$;
SELECT cancel_job(:id);
SELECT wait_job(:id, '600s');
SELECT count(*) FROM models;
SQL
) || rc=$?
echo "jobs under valgrind: $(echo $jobs)"
[ "$(echo $jobs)" = "succeeded succeeded t cancelled 4" ] || rc=1
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$VGROOT/data" -m fast -w stop >/dev/null 2>&1 || true

total=$(cat "$VGROOT"/vg.*.log | grep -c "^==[0-9]*== [A-Z].*\(Invalid\|uninitialised\|Conditional\|Mismatched\|overlap\)" || true)
# ours: a report with a tsforecast frame, but for uninitialised bytes that
# the server writes out (WAL pages, the relcache init file: "Syscall
# param"), which are ours only if the bytes were created in our code; a
# job's commit or a worker's connection puts our frame below the server's
# own padding, as any backend's stack would be.  RelationCacheInitializePhase3:
# the init file every new connection writes, allocated during InitPostgres.
ours=$(awk 'function count(   i, origin, main) {
                if (blk == "" || blk ~ /RelationCacheInitializePhase3/) return
                i = index(blk, "Uninitialised value was created")
                origin = i ? substr(blk, i) : ""
                main = i ? substr(blk, 1, i - 1) : blk
                if (origin ~ /tsforecast|tsf_/ || (main ~ /tsforecast|tsf_/ && main !~ /Syscall param/)) n++
            }
            /^==[0-9]+== [A-Z]/ {count(); blk = ""} {blk = blk $0} END {count(); print n + 0}' "$VGROOT"/vg.*.log)
echo "valgrind: $total memcheck reports in the server, $ours with a tsforecast frame (logs: $VGROOT/vg.*.log)"
[ "$rc" -eq 0 ] && [ "$ours" -eq 0 ]

#!/usr/bin/env bash
# Run the pg_regress suites against a server under valgrind memcheck and
# report every error whose stack passes through tsforecast.so.
#
#   test/valgrind.sh          (as root; builds and installs first via scripts/tsf setup)
#
# PostgreSQL from Debian is built without USE_VALGRIND, so memcheck also
# reports the server's own benign patterns (uninitialised padding written to
# disk, and so on); those are counted apart and not ours to fix.  The run
# fails only on errors with a tsforecast frame.  It takes some minutes.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGBIN=/usr/lib/postgresql/15/bin
VGROOT=${TSF_VGROOT:-/tmp/tsforecast-vg}
PORT=54331
command -v valgrind >/dev/null || apt-get install -y -qq valgrind >/dev/null
"$ROOT/scripts/tsf" setup >/dev/null

runuser -u postgres -- "$PGBIN/pg_ctl" -D "$VGROOT/data" -m immediate stop >/dev/null 2>&1 || true
rm -rf "$VGROOT"; mkdir -p "$VGROOT"; chown postgres: "$VGROOT"
runuser -u postgres -- "$PGBIN/initdb" -D "$VGROOT/data" -U postgres -A trust >/dev/null
runuser -u postgres -- bash -c "valgrind --quiet --trace-children=yes --track-origins=yes \
    --read-var-info=no --num-callers=30 --error-limit=no --log-file=$VGROOT/vg.%p.log \
    $PGBIN/postgres -D $VGROOT/data -p $PORT -k $VGROOT -c listen_addresses='' \
    -c max_parallel_workers_per_gather=2 >$VGROOT/server.log 2>&1 &"
for i in $(seq 1 120); do
    psql -X -q -h "$VGROOT" -p $PORT -U postgres -d postgres -c "select 1" >/dev/null 2>&1 && break
    sleep 1
done

cd "$ROOT"
rc=0
make -s installcheck PGHOST="$VGROOT" PGPORT=$PORT PGUSER=postgres \
    REGRESS_OPTS="--inputdir=. --outputdir=$VGROOT/regress" || rc=$?
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$VGROOT/data" -m fast -w stop >/dev/null 2>&1 || true

total=$(cat "$VGROOT"/vg.*.log | grep -c "^==[0-9]*== [A-Z].*\(Invalid\|uninitialised\|Conditional\|Mismatched\|overlap\)" || true)
ours=$(awk '/^==[0-9]+== [A-Z]/ {if (blk ~ /tsforecast|tsf_/) n++; blk = ""} {blk = blk $0} END {if (blk ~ /tsforecast|tsf_/) n++; print n + 0}' "$VGROOT"/vg.*.log)
echo "valgrind: $total memcheck reports in the server, $ours with a tsforecast frame (logs: $VGROOT/vg.*.log)"
[ "$rc" -eq 0 ] && [ "$ours" -eq 0 ]

#!/usr/bin/env bash
# A bounded sqlsmith run against a database with tsforecast and real data;
# fails on any backend crash.  Needs PGHOST/PGPORT/PGUSER (a superuser) of
# a running cluster (scripts/tsf test sets them) and sqlsmith (Debian's
# 1.4); run from the repository root.
#
# It (re)creates the database tsf_sqlsmith (test/sqlsmith/setup.sql: the
# Verde River data, series derived from it, models of every kind, models
# with a stored byte changed, helpers, the role tsf_smith) and
# tsf_sqlsmith_log (sqlsmith's --log-to: every error with its SQLSTATE and
# query), then runs sqlsmith as tsf_smith, a non-superuser with SELECT on
# the data tables and nothing else (statement_timeout 2 s, and sqlsmith
# sets 1 s on its session; every statement rolled back by sqlsmith):
#
#   targeted  sqlsmith sees the extension's functions, the helpers of the
#             schema smith and ~200 built-ins that make or take their
#             arguments (setup.sql says how and why)
#   full      the whole catalog's functions
#
# both without the catalog's tables (--exclude-catalog), each with a fixed
# seed and number of queries, and a wall-clock limit (SIGINT: sqlsmith
# prints its report and stops) so that a slower machine cannot overrun the
# budget.  A crash is any of: a server log line of a process killed by a
# signal or exiting abnormally, the postmaster reinitializing, a PANIC,
# pg_postmaster_start_time() changing, or sqlsmith losing its connection.
# On a crash it prints the server log's lines and the query each dead
# backend was running, whole, from sqlsmith's --dump-all-queries, and exits
# 1, keeping the queries and logs in the directory it names; it fails too
# when the database cannot be set up or sqlsmith does not run through.
# Either way it prints, per run: the queries, how many called the
# extension, the time, the calls of the extension's functions that
# returned (track_functions), the errors by SQLSTATE class and the most
# frequent errors.
#
#   SQLSMITH_SEED (1); SQLSMITH_QUERIES (20000) and SQLSMITH_SECONDS (210)
#   for the targeted run, SQLSMITH_FULL_QUERIES (7000) and
#   SQLSMITH_FULL_SECONDS (80) for the other: on the development machine
#   (2 cores) each does about 120 queries a second, 4 minutes in all, 5 at
#   the limits; SQLSMITH_RUNS ("targeted full"); SQLSMITH_OUT (a directory
#   to keep everything in; default a temporary one, removed when all went
#   well); SQLSMITH_SERVER_LOG (default: server.log beside the data
#   directory, where scripts/tsf's cluster has it).
#   test/sqlsmith/findings/README.md has the settings of a longer run.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PGBIN=$(${PG_CONFIG:-pg_config} --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
PSQL=("$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1)
DB=tsf_sqlsmith
LOGDB=tsf_sqlsmith_log
ROLE=tsf_smith
SEED=${SQLSMITH_SEED:-1}
RUNS=${SQLSMITH_RUNS:-targeted full}
# what tells a crash in the server log (exit code 1 is a background
# worker's ordinary exit: the jobs' launcher before its database exists),
# and in sqlsmith's errors
CRASH_RE='terminated by signal|was terminated by exception|exited with exit code ([02-9]|[1-9][0-9])|terminating any other active server processes|all server processes terminated; reinitializing|database system was interrupted|PANIC:'
LOST_RE='server closed the connection unexpectedly|terminating connection because of crash|in recovery mode|the database system is (starting up|shutting down|not yet accepting)|no connection to the server'

command -v sqlsmith >/dev/null || { echo "not ok: sqlsmith is not installed (apt-get install sqlsmith)"; exit 1; }
if [ -n "${SQLSMITH_OUT:-}" ]; then
    OUT=$SQLSMITH_OUT; mkdir -p "$OUT"; keep=1
else
    OUT=$(mktemp -d /tmp/tsf-sqlsmith.XXXXXX); keep=0
fi
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}'; }
DATA=$("${PSQL[@]}" -d postgres -c "SHOW data_directory")
SERVER_LOG=${SQLSMITH_SERVER_LOG:-$DATA/../server.log}
if [ ! -r "$SERVER_LOG" ]; then
    echo "# the server log $SERVER_LOG is not readable: crashes are seen only as lost connections and restarts"
    SERVER_LOG=
fi
started=$("${PSQL[@]}" -d postgres -c "SELECT pg_postmaster_start_time()")
log_from=0
[ -n "$SERVER_LOG" ] && log_from=$(stat -c %s "$SERVER_LOG")

# ---- the databases ----
setup() {
    local db
    for db in $DB $LOGDB; do
        "${PSQL[@]}" -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || return 1
    done
    "${PSQL[@]}" -d postgres -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS $ROLE" \
        -c "CREATE DATABASE $DB" -c "CREATE DATABASE $LOGDB" || return 1
    "${PSQL[@]}" -d $DB -f test/sqlsmith/setup.sql || return 1
    # sqlsmith's --log-to tables (its log.sql, trimmed)
    "${PSQL[@]}" -d $LOGDB <<'SQL' || return 1
ALTER DATABASE tsf_sqlsmith_log SET synchronous_commit = off;
CREATE TABLE instance (id bigserial PRIMARY KEY, rev text, target text, hostname text, version text,
                       seed text, t timestamptz DEFAULT now());
CREATE TABLE error (id bigint REFERENCES instance (id), msg text, query text, target text,
                    sqlstate text, t timestamptz DEFAULT now(), errid bigserial PRIMARY KEY);
CREATE TABLE stat (id bigint REFERENCES instance (id), generated bigint, level float8, nodes float8,
                   retries float8, updated timestamptz, impedance jsonb);
CREATE TABLE calls (run text, schema text, function text, calls bigint, seconds float8);
SQL
}
t0=$(date +%s.%N)
if setup >"$OUT/setup.out" 2>&1; then
    echo "# set up $DB in $(elapsed "$t0") s:" "$("${PSQL[@]}" -d $DB -c "
        SELECT format('%s models, %s of them with a stored byte changed; %s rows of data',
                      (SELECT count(*) FROM models) + (SELECT count(*) FROM gauge_models), (SELECT count(*) FROM mutants),
                      (SELECT count(*) FROM verde) + (SELECT count(*) FROM gauges) + (SELECT count(*) FROM daily)
                      + (SELECT count(*) FROM indexed) + (SELECT count(*) FROM verde_cov))")"
    RUN_LIST=$RUNS
else
    cat "$OUT/setup.out"
    echo "# the sqlsmith database could not be set up"
    RUN_LIST=
    setup_failed=1
fi

# ---- the runs ----
conn="host=$PGHOST port=$PGPORT dbname=$DB user=$ROLE"
logconn="host=$PGHOST port=$PGPORT dbname=$LOGDB user=${PGUSER:-postgres}"
run=0
for kind in $RUN_LIST; do
    case $kind in
        targeted) target=$conn; n=${SQLSMITH_QUERIES:-20000}; limit=${SQLSMITH_SECONDS:-210} ;;
        full) target="$conn options='-c search_path=smith_types,pg_catalog,tsforecast,smith,public'"
              n=${SQLSMITH_FULL_QUERIES:-7000}; limit=${SQLSMITH_FULL_SECONDS:-80} ;;
        *) echo "not ok: unknown sqlsmith run $kind"; exit 1 ;;
    esac
    seed=$((SEED + run)); run=$((run + 1))
    "${PSQL[@]}" -d $DB -c "SELECT pg_stat_reset()" >/dev/null
    t0=$(date +%s.%N)
    timeout -s INT -k 10 "$limit" \
        sqlsmith --target="$target" --log-to="$logconn" --exclude-catalog --seed=$seed \
                 --max-queries=$n --verbose --dump-all-queries >"$OUT/$kind.sql" 2>"$OUT/$kind.err"
    echo "$? $(elapsed "$t0") $seed $n" >"$OUT/$kind.rc"
    # the calls that returned, once the session has gone and flushed them
    for _ in $(seq 50); do
        [ "$("${PSQL[@]}" -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE usename = '$ROLE'" 2>/dev/null)" = 0 ] && break
        sleep 0.1
    done
    "${PSQL[@]}" -d $DB -c "COPY (SELECT '$kind', schemaname, funcname, sum(calls), sum(total_time) / 1000
                                    FROM pg_stat_user_functions WHERE calls > 0 GROUP BY 2, 3) TO STDOUT" \
        | "${PSQL[@]}" -d $LOGDB -c "COPY calls FROM STDIN" 2>/dev/null
done

# ---- crash detection ----
crashed=0
if [ -n "$SERVER_LOG" ]; then
    tail -c +$((log_from + 1)) "$SERVER_LOG" >"$OUT/server.log"
    grep -Eq "$CRASH_RE" "$OUT/server.log" && crashed=1
fi
now=$("${PSQL[@]}" -d postgres -c "SELECT pg_postmaster_start_time()" 2>&1)
if [ "$now" != "$started" ]; then
    crashed=1; echo "# the server restarted (pg_postmaster_start_time $started, now $now)"
fi
for kind in $RUN_LIST; do
    if grep -Eq "$LOST_RE" "$OUT/$kind.err"; then
        crashed=1; echo "# $kind: sqlsmith lost its connection"
    fi
done

# ---- summary ----
broken=
for kind in $RUN_LIST; do
    read -r rc secs seed n <"$OUT/$kind.rc"
    read -r queries ext < <(awk 'BEGIN {RS = ";\n"} /(tsforecast|smith)\.[a-z0-9_]+\(/ {n++} END {print NR, n + 0}' "$OUT/$kind.sql")
    case $rc in
        0) note="" ;;
        124) note=", stopped at the time limit" ;;
        *) note=", sqlsmith exited $rc: $(grep -Ev '^[.etSC]*$' "$OUT/$kind.err" | tail -1)" ;;
    esac
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || [ "$queries" -eq 0 ]; then broken+=" $kind"; fi
    awk -v k="$kind" -v q="$queries" -v s="$secs" -v e="$ext" -v seed="$seed" -v n="$n" -v note="$note" 'BEGIN {
        printf "# %s (--seed=%s --max-queries=%s): %d queries in %.0f s (%.1f/s), %d with a call of the extension%s\n",
               k, seed, n, q, s, q / (s + 0.001), e, note}'
done
[ -n "$RUN_LIST" ] && "$PGBIN/psql" -X -q -d $LOGDB -P footer=off <<'SQL'
\echo # calls of functions of the extension and the helpers that returned (track_functions: aggregates, window functions, type I/O and inlined SQL functions are not counted)
SELECT run, schema, string_agg(format('%s %s', function, calls), ', ' ORDER BY calls DESC) AS calls
  FROM calls WHERE schema IN ('tsforecast', 'smith') GROUP BY 1, 2 ORDER BY 1 DESC, 2 DESC;
\echo # errors by SQLSTATE class (sqlsmith --log-to)
SELECT CASE WHEN i.target LIKE '%search_path=smith_types,pg_catalog%' THEN 'full' ELSE 'targeted' END AS run,
       left(e.sqlstate, 2) AS class,
       CASE left(e.sqlstate, 2)
            WHEN '08' THEN 'connection exception' WHEN '0A' THEN 'feature not supported'
            WHEN '21' THEN 'cardinality violation' WHEN '22' THEN 'data exception'
            WHEN '23' THEN 'integrity constraint violation' WHEN '25' THEN 'invalid transaction state'
            WHEN '2B' THEN 'dependent privilege descriptors' WHEN '39' THEN 'external routine invocation'
            WHEN '42' THEN 'syntax error or access rule violation' WHEN '53' THEN 'insufficient resources'
            WHEN '54' THEN 'program limit exceeded' WHEN '55' THEN 'object not in prerequisite state'
            WHEN '57' THEN 'operator intervention' WHEN '58' THEN 'system error'
            WHEN 'XX' THEN 'internal error' ELSE '' END AS meaning,
       count(*) AS errors
  FROM error e JOIN instance i USING (id)
 GROUP BY 1, 2, 3 ORDER BY 1 DESC, 4 DESC;
\echo # the most frequent errors of queries that call the extension, outside class 42
SELECT CASE WHEN i.target LIKE '%search_path=smith_types,pg_catalog%' THEN 'full' ELSE 'targeted' END AS run,
       e.sqlstate, left(split_part(e.msg, E'\n', 1), 100) AS message, count(*) AS errors
  FROM error e JOIN instance i USING (id)
 WHERE e.query ~ '(tsforecast|smith)\.[a-z0-9_]+\(' AND e.sqlstate NOT LIKE '42%'
 GROUP BY 1, 2, 3 ORDER BY 4 DESC, 3 LIMIT 15;
SQL

if [ "$crashed" -eq 0 ] && [ -z "${setup_failed:-}" ] && [ -z "$broken" ]; then
    [ "$keep" -eq 0 ] && rm -rf "$OUT"
    echo "ok: sqlsmith ran ($RUNS) with no backend crash"
    exit 0
fi
if [ "$crashed" -eq 0 ]; then
    if [ -n "${setup_failed:-}" ]; then
        echo "not ok: the sqlsmith database could not be set up ($OUT)"
    else
        echo "not ok: sqlsmith did not run through (${broken# }; $OUT)"
    fi
    exit 1
fi

echo "# ---- crash ----"
if [ -n "$SERVER_LOG" ] && grep -Eq "$CRASH_RE" "$OUT/server.log"; then
    echo "# the server log ($SERVER_LOG) since this script started:"
    grep -E -B2 -A2 "$CRASH_RE" "$OUT/server.log" | cut -c1-300 | head -60
    # the query each dead backend was running ("Failed process was running:
    # ...", up to track_activity_query_size bytes, newlines kept), separated
    # by \036
    awk '/Failed process was running: / {if (on) printf "%s\036", q; sub(/.*Failed process was running: /, ""); q = $0; on = 1; next}
         on && /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / {printf "%s\036", q; on = 0}
         on {q = q "\n" $0}
         END {if (on) printf "%s\036", q}' "$OUT/server.log" >"$OUT/failed.txt"
    i=0
    while IFS= read -r -d $'\036' prefix; do
        i=$((i + 1))
        # the whole query: the first of the dumps that begins with the
        # logged text, compared with runs of white space made one
        : >"$OUT/crash$i.sql"
        for kind in $RUN_LIST; do
            awk -v p="$prefix" 'function norm(s) {gsub(/[ \t\n]+/, " ", s); sub(/^ /, "", s); sub(/ $/, "", s); return s}
                 BEGIN {RS = ";\n"; p = norm(p)}
                 {q = norm($0); if (p != "" && substr(q, 1, length(p)) == p) {print $0 ";"; exit}}' \
                "$OUT/$kind.sql" >"$OUT/crash$i.sql"
            [ -s "$OUT/crash$i.sql" ] && break
        done
        if [ -s "$OUT/crash$i.sql" ]; then
            echo "# crash $i: the query ($OUT/crash$i.sql)"
            cat "$OUT/crash$i.sql"
        else
            echo "# crash $i: the query as the server logged it (not found whole in the dumps)"
            printf '%s\n' "$prefix"
        fi
    done <"$OUT/failed.txt"
fi
# sqlsmith's progress line has a character per query, C for a lost
# connection: the query before the first C, in the dump's order
for kind in $RUN_LIST; do
    nth=$(grep -E '^[.etSC]+$' "$OUT/$kind.err" | tr -d '\n' | grep -bo C | head -1 | cut -d: -f1)
    if [ -n "$nth" ]; then
        echo "# $kind: sqlsmith lost its connection at query $((nth + 1)) of $OUT/$kind.sql:"
        awk -v n=$((nth + 1)) 'BEGIN {RS = ";\n"} NR == n {print $0 ";"; exit}' "$OUT/$kind.sql"
    fi
done
echo "not ok: a backend crashed under sqlsmith (queries and logs in $OUT)"
exit 1

#!/usr/bin/env bash
# Benchmark (not a test): the users' weekly task, replayed with backtest().
#
#   bench/verde_backtest.sh [SPEC]      SPEC a tsforecast model spec (jsonb),
#                                       default '{"kind": "ar", "transform": "log"}'
#   LSTM=0 bench/verde_backtest.sh      without the default LSTM (the slow one)
#   PYTHON=0 bench/verde_backtest.sh    of the Python baselines persistence only
#   DAILY=0 bench/verde_backtest.sh     without the daily model's weekly buckets
#   DAILY_SPEC=... DAILY_WINDOW=...     that model's spec (default
#                                       '{"kind": "ar", "transform": "log",
#                                       "order": 14, "harmonics": 3}') and
#                                       window in days (default 1825; none:
#                                       every day before each origin)
#   HELDOUT=1 bench/verde_backtest.sh   the 35 Mondays after the autumns
#                                       instead (2019-12-09 .. 2020-08-03:
#                                       the record's last weeks, kept apart
#                                       from the design of the automatic
#                                       spec's candidates)
#   DAILY_EXTRA='{"seed": 2}'           more settings of its backtest
#                                       (paths, seed, bucket_origin; default
#                                       '{"paths": 10000}')
#
# The University of Arizona HAS-Tools Verde River forecast (USGS 09506000):
# every Monday D of the autumn semester, forecast the mean flow (cfs) of the
# current Sunday-to-Saturday week (the week starting D-1, 1 week ahead) and
# of the next one (starting D+6, 2 weeks ahead) from the record up to the
# Saturday before (the last week used starts D-8).  Autumns 2012-2019, every
# Monday from the last one of August to the first one of December: 120 issue
# dates, computed once, in bench/verde_baselines.py (`issues`); the
# backtest's origins are their Saturdays D-2.  Data: the weekly series
# test/fixtures/verde_weekly.csv (1989-01-01 .. 2020-08-09).  Scored by MAE
# and RMSE, per year and pooled.
#
# Methods, all in this run:
#   tsforecast  backtest(week_start, flow, spec, settings) with settings
#               {"horizon": 2, "origins": [the Saturdays], "level": 0.95,
#               "refit_every": 1}: the given SPEC, and it on the last 260
#               weeks ("window": 260) when it is not the default; the
#               default AR {"kind": "ar", "transform": "log"}; the same on
#               the last 260 weeks; the default LSTM {"kind": "lstm"};
#               and a daily model forecasting the weeks as buckets:
#               backtest(day, flow, DAILY_SPEC, settings) on the daily
#               series test/fixtures/verde_daily.csv with settings
#               {"bucket": "7 days", "window": DAILY_WINDOW, ...}: at the
#               same origins (the Saturdays D-2, so the daily data it sees
#               ends there too) the spec is fitted on the last DAILY_WINDOW
#               days and forecasts the mean of the next two Sunday-Saturday
#               weeks (D-1 and D+6) with forecast_buckets()' paths (10000,
#               the median of their weekly means); its actuals are the daily
#               means of those weeks, the weekly series' values to its 4
#               decimals (the report checks them to that).
#               Without backtest() in the installed extension these rows
#               say "backtest() not installed" and the rest still runs.
#   Python      persistence, statsforecast AutoARIMA / AutoETS / AutoTheta,
#               statsmodels UnobservedComponents (bench/verde_baselines.py
#               says how each is set up), in a virtual environment made for
#               this benchmark only ($VENV, default /tmp/verde-bench-venv,
#               created and filled from PyPI if missing).
# The report fails if any method's (origin, step, target) differ from the
# issue dates' or, for the Python baselines, from the backtest rows', or if
# an actual is not the data's.  Each method's time is printed.
#
# Runs in a throwaway cluster of its own ($TSF_PGROOT, default
# /tmp/tsforecast-bench-verde, port $TSF_PGPORT, default 54335), built and
# installed first by scripts/tsf setup (into the PostgreSQL of $PG_CONFIG).
# The CSV files and the report stay in $OUT (default /tmp/verde-bench).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export TSF_PGROOT=${TSF_PGROOT:-/tmp/tsforecast-bench-verde} TSF_PGPORT=${TSF_PGPORT:-54335}
DEFAULT_AR='{"kind": "ar", "transform": "log"}'
SPEC=${1:-$DEFAULT_AR}
LSTM=${LSTM:-1}
PYTHON=${PYTHON:-1}
DAILY=${DAILY:-1}
DAILY_SPEC=${DAILY_SPEC:-'{"kind": "ar", "transform": "log", "order": 14, "harmonics": 3}'}
DAILY_WINDOW=${DAILY_WINDOW:-1825}
DAILY_EXTRA=${DAILY_EXTRA:-'{"paths": 10000}'}
DAILY_DATA=$ROOT/test/fixtures/verde_daily.csv
VENV=${VENV:-/tmp/verde-bench-venv}
OUT=${OUT:-/tmp/verde-bench}
DATA=$ROOT/test/fixtures/verde_weekly.csv
PGBIN=$(${PG_CONFIG:-pg_config} --bindir)
cd "$ROOT"

mkdir -p "$OUT"
rm -f "$OUT"/{issues,tsforecast_rows,tsforecast_methods,python_rows,python_methods}.csv "$OUT/report.txt"
python3 bench/verde_baselines.py issues "$OUT" --data "$DATA"

# the report needs pandas: the venv is made with PYTHON=0 too
if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating $VENV (statsforecast, statsmodels, numpy, pandas from PyPI)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q statsforecast statsmodels numpy pandas
fi

"$ROOT/scripts/tsf" setup >/dev/null
"$ROOT/scripts/tsf" start >/dev/null
trap '"$ROOT/scripts/tsf" stop >/dev/null 2>&1 || true' EXIT
export PGHOST=$TSF_PGROOT PGPORT=$TSF_PGPORT PGUSER=postgres
# the cluster runs as postgres when this runs as root: files go through
# psql's \copy, as this user, never the server's COPY; psql variables (-v)
# reach statements read from stdin, not -c
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d tsf_jobs "$@"; }

# (\copy takes its file name as written: no psql variables in it)
psql <<SQL
SET client_min_messages = warning;
CREATE EXTENSION tsforecast;
CREATE TABLE verde (week_start date PRIMARY KEY, flow float8 NOT NULL);
\copy verde FROM '$DATA' WITH (FORMAT csv, HEADER true)
CREATE TABLE verde_daily (day date PRIMARY KEY, flow float8 NOT NULL);
\copy verde_daily FROM '$DAILY_DATA' WITH (FORMAT csv, HEADER true)
CREATE TABLE issues (year int, issue date, origin date, last_week date, step int, target date,
                     PRIMARY KEY (origin, step));
\copy issues FROM '$OUT/issues.csv' WITH (FORMAT csv, HEADER true)
-- what each backtest() call returned, and how long it took
CREATE TABLE bt_rows (method text, origin date, step int, target date,
                      forecast float8, lo float8, hi float8, actual float8);
CREATE TABLE bt_methods (ord int, method text, source text, status text,
                         seconds float8, fits int, note text);
SQL

HAVE=$(psql -At -c "SELECT to_regprocedure('tsforecast.backtest(date, float8, jsonb, jsonb)') IS NOT NULL")
SETTINGS=$(psql -At -c "SELECT jsonb_build_object('horizon', 2, 'level', 0.95, 'refit_every', 1,
    'origins', (SELECT jsonb_agg(o ORDER BY o)
                  FROM (SELECT DISTINCT to_char(origin, 'YYYY-MM-DD') AS o FROM issues) s))")

# run_backtest ORD METHOD SPEC SETTINGS NOTE [TABLE TS]: one backtest()
# over every origin (of the weekly series, or of TABLE's ts column TS), its
# rows into bt_rows and its time into bt_methods
run_backtest() {
    local ord=$1 method=$2 spec=$3 settings=$4 note=$5 tab=${6:-verde} tscol=${7:-week_start}
    if [ "$HAVE" != t ]; then
        psql -v ord="$ord" -v m="$method" -v note="$note" \
             <<<"INSERT INTO bt_methods VALUES (:ord, :'m', 'tsforecast', 'backtest() not installed', NULL, NULL, :'note')"
        return
    fi
    echo "  $method: backtest($tscol, flow, '$spec', settings) FROM $tab" >&2
    psql -v ord="$ord" -v m="$method" -v spec="$spec" -v settings="$settings" -v note="$note" \
         -v tab="$tab" -v tscol="$tscol" <<'SQL'
SET TimeZone = 'UTC';
SELECT clock_timestamp() AS t0 \gset
INSERT INTO bt_rows
SELECT :'m', (b).origin::date, (b).step, (b).ts::date, (b).forecast, (b).lo, (b).hi, (b).actual
  FROM (SELECT unnest(tsforecast.backtest(:"tscol", flow, :'spec'::jsonb, :'settings'::jsonb)) AS b
          FROM :"tab") s;
INSERT INTO bt_methods
SELECT :ord, :'m', 'tsforecast', 'ok', extract(epoch FROM clock_timestamp() - :'t0'::timestamptz),
       (SELECT count(DISTINCT origin) FROM bt_rows WHERE method = :'m'), :'note';
SQL
}

echo "== tsforecast backtest() ($([ "$HAVE" = t ] && echo installed || echo "not installed: its rows are left out"))"
SAME=$(psql -At -v spec="$SPEC" -v def="$DEFAULT_AR" <<<"SELECT :'spec'::jsonb = :'def'::jsonb")
if [ "$SAME" = t ]; then
    run_backtest 1 "tsforecast AR (default)" "$DEFAULT_AR" "$SETTINGS" "the given spec, $DEFAULT_AR"
fi
W260=$(psql -At -v s="$SETTINGS" <<<"SELECT :'s'::jsonb || '{\"window\": 260}'")
if [ "$SAME" != t ]; then
    run_backtest 0 "tsforecast: the given spec" "$SPEC" "$SETTINGS" "$SPEC"
    run_backtest 0 "tsforecast: the given spec, last 260 weeks" "$SPEC" "$W260" "$SPEC, settings \"window\": 260"
    run_backtest 1 "tsforecast AR (default)" "$DEFAULT_AR" "$SETTINGS" "$DEFAULT_AR"
fi
run_backtest 2 "tsforecast AR, last 260 weeks" "$DEFAULT_AR" "$W260" "$DEFAULT_AR, settings \"window\": 260"
HAVE_BUCKETS=$(psql -At -c "SELECT to_regprocedure('tsforecast.forecast_buckets(tsforecast.tsmodel, interval, integer, float8, jsonb)') IS NOT NULL")
if [ "$DAILY" = 1 ] && [ "$HAVE_BUCKETS" = t ]; then
    if [ "$DAILY_WINDOW" = none ]; then
        DSET=$(psql -At -v s="$SETTINGS" -v x="$DAILY_EXTRA" \
                    <<<"SELECT :'s'::jsonb || jsonb_build_object('bucket', '7 days') || :'x'::jsonb")
        DLABEL="every day before each origin"
        DNOTE=""
    else
        DSET=$(psql -At -v s="$SETTINGS" -v w="$DAILY_WINDOW" -v x="$DAILY_EXTRA" \
                    <<<"SELECT :'s'::jsonb || jsonb_build_object('bucket', '7 days', 'window', :w) || :'x'::jsonb")
        DLABEL="last $DAILY_WINDOW days"
        DNOTE=", \"window\": $DAILY_WINDOW"
    fi
    run_backtest 4 "tsforecast daily AR, weekly buckets, $DLABEL" "$DAILY_SPEC" "$DSET" \
        "$DAILY_SPEC on the daily series, settings \"bucket\": \"7 days\"$DNOTE$([ "$DAILY_EXTRA" = '{}' ] || echo ", $DAILY_EXTRA"): the median of the paths' weekly means" \
        verde_daily day
else
    psql -c "INSERT INTO bt_methods VALUES (4, 'tsforecast daily AR, weekly buckets', 'tsforecast', '$([ "$DAILY" = 1 ] && echo 'forecast_buckets() not installed' || echo 'skipped (DAILY=0)')', NULL, NULL, '')"
fi
if [ "$LSTM" = 1 ]; then
    run_backtest 3 "tsforecast LSTM (default)" '{"kind": "lstm"}' "$SETTINGS" '{"kind": "lstm"}: the defaults of lstm_train'
else
    psql -c "INSERT INTO bt_methods VALUES (3, 'tsforecast LSTM (default)', 'tsforecast', 'skipped (LSTM=0)', NULL, NULL, '')"
fi

psql <<SQL
\copy (SELECT method, origin, step, target, forecast, lo, hi, actual FROM bt_rows ORDER BY method, origin, step) TO '$OUT/tsforecast_rows.csv' WITH (FORMAT csv, HEADER true)
\copy (SELECT * FROM bt_methods ORDER BY ord) TO '$OUT/tsforecast_methods.csv' WITH (FORMAT csv, HEADER true)
SQL
"$ROOT/scripts/tsf" stop >/dev/null

echo "== Python baselines ($VENV)"
FIT=(fit "$OUT" --data "$DATA")
[ "$PYTHON" = 1 ] || FIT+=(--persistence-only)
"$VENV/bin/python" bench/verde_baselines.py "${FIT[@]}"
echo
"$VENV/bin/python" bench/verde_baselines.py report "$OUT" --data "$DATA" | tee "$OUT/report.txt"
echo
echo "machine: $(nproc) cores, $(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release), $("$PGBIN/postgres" --version)"
echo "files: $OUT"

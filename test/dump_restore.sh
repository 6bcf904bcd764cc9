#!/usr/bin/env bash
# A model survives pg_dump / pg_restore and forecasts the same numbers to
# the last bit.  Needs PGHOST/PGPORT/PGUSER of a running cluster (scripts/tsf
# test sets them); run from the repository root.  Prints TAP-like lines and
# exits non-zero on failure.
set -euo pipefail
PSQL=(psql -X -q -At -v ON_ERROR_STOP=1)
DUMP=$(mktemp -d)
trap 'rm -rf "$DUMP"' EXIT

for db in tsf_dump tsf_restore; do
    "${PSQL[@]}" -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db"
done
"${PSQL[@]}" -d postgres -c "CREATE DATABASE tsf_dump"
"${PSQL[@]}" -d tsf_dump <<'SQL'
CREATE EXTENSION tsforecast;
SET search_path = public, tsforecast;
CREATE TABLE verde (week_start date PRIMARY KEY, flow float8 NOT NULL);
\copy verde FROM 'test/fixtures/verde_weekly.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE models (name text PRIMARY KEY, model tsmodel);
INSERT INTO models SELECT 'ols', ar_fit(week_start, flow, '{"transform": "log"}') FROM verde;
INSERT INTO models SELECT 'yw', ar_fit(week_start, flow, '{"method": "yule_walker"}') FROM verde;
SQL

digest() {
    "${PSQL[@]}" -d "$1" -c "SET search_path = public, tsforecast" -c "
        SELECT md5(string_agg(name || ':' || model::text || ':' ||
                   (SELECT string_agg(format('%s %s %s %s %s', step, ts, float8send(value),
                                             float8send(lo), float8send(hi)), ';' ORDER BY step)
                      FROM forecast(model, 52)), '|' ORDER BY name))
          FROM models"
}

pg_dump -Fc -d tsf_dump -f "$DUMP/models.dump"
"${PSQL[@]}" -d postgres -c "CREATE DATABASE tsf_restore"
pg_restore -d tsf_restore "$DUMP/models.dump"

before=$(digest tsf_dump)
after=$(digest tsf_restore)
if [ -n "$before" ] && [ "$before" = "$after" ]; then
    echo "ok: 2 models through pg_dump/pg_restore forecast 52 weeks bit for bit ($before)"
else
    echo "not ok: models differ after pg_dump/pg_restore ($before vs $after)"
    exit 1
fi

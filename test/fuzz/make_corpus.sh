#!/usr/bin/env bash
# test/fuzz/make_corpus.sh [DIR]: the fuzz corpus, real models in their
# stored bytes (tsmodel_send), written to DIR (default test/fuzz/corpus).
#
# Needs a running server with the extension installed; PGHOST, PGPORT and
# PGUSER say where (scripts/tsf start makes one).  Creates and drops the
# database tsf_fuzz_corpus.  Every series is the Verde River's weekly mean
# flow (test/fixtures/verde_weekly.csv) or made from it: its monthly means,
# its days (each day of a week carrying the week's mean), its weeks with
# some left out (for the fill option), its points by index (bigint).  The
# LSTM models are small (hidden 4 to 8, a few epochs) so that one
# execution of the fuzz target stays fast.
#
# Two files are made from two of those models: format version 1 (0.1.0 to
# 0.3.0) is version 2 without the device byte at offset 68 (src/model.c),
# the conversion sql/tsmodel.sql tests.  Three are format version 3 (0.6.0):
# two AR models (one with harmonics) and an LSTM model fitted through
# 2020-06-01 and moved on over the weeks after by model_update.  Three AR
# models have exogenous terms (0.6.0: the AR payload's 0x80 section).
#
# The fit time fields differ from run to run, so a new run rewrites every
# file; commit them together.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$HERE/corpus}
DB=tsf_fuzz_corpus
PSQL=(psql -X -q -v ON_ERROR_STOP=1)

cd "$ROOT"
"${PSQL[@]}" -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $DB" \
    -c "CREATE DATABASE $DB" -c "ALTER DATABASE $DB SET search_path = public, tsforecast"
"${PSQL[@]}" -d $DB <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION tsforecast;
SET TimeZone = 'America/Phoenix';

CREATE TABLE verde (week_start date PRIMARY KEY, flow float8 NOT NULL);
\copy verde FROM 'test/fixtures/verde_weekly.csv' WITH (FORMAT csv, HEADER true)
-- the last seven years, for the LSTM models (about 360 weeks)
CREATE VIEW recent AS SELECT * FROM verde WHERE week_start >= '2013-08-01';
CREATE VIEW monthly AS
SELECT date_trunc('month', week_start)::date AS month, avg(flow) AS flow
  FROM verde GROUP BY 1;
CREATE VIEW daily AS
SELECT d::date AS day, v.flow
  FROM verde v, generate_series(v.week_start, v.week_start + 6, '1 day') d
 WHERE v.week_start >= '2018-01-01';
CREATE VIEW gappy AS
SELECT * FROM verde
 WHERE week_start NOT IN ('2000-01-02', '2003-01-05', '2003-01-12', '2005-05-01')
   AND week_start BETWEEN '1998-01-01' AND '2008-01-01';
CREATE VIEW indexed AS
SELECT row_number() OVER (ORDER BY week_start) AS i, week_start, flow FROM recent;

CREATE TABLE corpus (name text PRIMARY KEY, model tsmodel NOT NULL);

-- AR: both methods, AIC and fixed orders (0 too), log transform, both
-- fills, no intercept; date, timestamptz and bigint series; weekly,
-- monthly and daily steps, fixed and calendar
INSERT INTO corpus
SELECT 'ar_ols_aic_weekly_date', ar_fit(week_start, flow) FROM verde UNION ALL
SELECT 'ar_yule_walker_weekly', ar_fit(week_start, flow, '{"method": "yule_walker", "order": 3}') FROM verde UNION ALL
SELECT 'ar_log_aic_max8', ar_fit(week_start, flow, '{"transform": "log", "max_order": 8}') FROM verde UNION ALL
SELECT 'ar_no_intercept', ar_fit(week_start, flow, '{"intercept": false, "order": 2}') FROM verde UNION ALL
SELECT 'ar_order0', ar_fit(week_start, flow, '{"order": 0}') FROM verde UNION ALL
SELECT 'ar_fill_linear', ar_fit(week_start, flow, '{"fill": "linear", "order": 2}') FROM gappy UNION ALL
SELECT 'ar_fill_previous_log_yw', ar_fit(week_start, flow,
       '{"fill": "previous", "transform": "log", "method": "yule_walker", "order": 1}') FROM gappy UNION ALL
SELECT 'ar_weekly_timestamptz', ar_fit(week_start::timestamptz, flow, '{"order": 4}') FROM verde UNION ALL
SELECT 'ar_bigint', ar_fit(i, flow, '{"order": 2}') FROM indexed UNION ALL
SELECT 'ar_monthly_date', ar_fit(month, flow, '{"transform": "log"}') FROM monthly UNION ALL
SELECT 'ar_monthly_timestamptz', ar_fit(month::timestamptz, flow, '{"order": 2}') FROM monthly UNION ALL
SELECT 'ar_daily_date', ar_fit(day, flow, '{"order": 7}') FROM daily UNION ALL
-- exogenous terms (0.6.0): the season's harmonics, covariates, both on an index
SELECT 'ar_harmonics', ar_fit(week_start, flow, '{"transform": "log", "harmonics": 3}') FROM verde UNION ALL
-- the level variance (0.6.0): with the season's terms, and without them
SELECT 'ar_variance_level_harmonics', ar_fit(week_start, flow, '{"transform": "log", "harmonics": 2, "variance": "level"}') FROM verde UNION ALL
SELECT 'ar_variance_level', ar_fit(week_start, flow, '{"transform": "log", "order": 3, "variance": "level"}') FROM verde UNION ALL
SELECT 'ar_covariates_harmonics_bigint', ar_fit(i, flow, ARRAY[extract(month FROM week_start)::float8, i / 100.0],
       '{"harmonics": 2, "season_length": 52.18, "order": 3}') FROM indexed;

-- local midnights across daylight-saving changes: calendar days
SET TimeZone = 'America/Denver';
INSERT INTO corpus
SELECT 'ar_daily_timestamptz_calendar', ar_fit(day::timestamptz, flow, '{"order": 3}') FROM daily;
SET TimeZone = 'America/Phoenix';

-- LSTM: the defaults but size (conv, season, log, residual, EMA), no
-- conv, two layers, covariates, validation with early stopping, no
-- season, an index series without residual or EMA, monthly data
INSERT INTO corpus
SELECT 'lstm_defaults_small', lstm_train(week_start, flow, '{"hidden": 6, "epochs": 3}') FROM recent UNION ALL
SELECT 'lstm_no_conv', lstm_train(week_start, flow, '{"hidden": 5, "epochs": 2, "conv_kernel": 0}') FROM recent UNION ALL
SELECT 'lstm_two_layers', lstm_train(week_start, flow, '{"hidden": 4, "layers": 2, "epochs": 2}') FROM recent UNION ALL
SELECT 'lstm_covariates', lstm_train(week_start, flow, ARRAY[extract(month FROM week_start)::float8, last_year],
       '{"hidden": 4, "epochs": 2, "conv_kernel": 2, "conv_channels": 3}')
  FROM (SELECT week_start, flow, coalesce(lag(flow, 52) OVER (ORDER BY week_start), flow) AS last_year
          FROM recent) c UNION ALL
SELECT 'lstm_validation_patience', lstm_train(week_start, flow,
       '{"hidden": 4, "epochs": 12, "validation": 0.2, "patience": 2, "lr": 0.05}') FROM recent UNION ALL
SELECT 'lstm_no_season', lstm_train(week_start, flow, '{"hidden": 8, "epochs": 2, "season_length": 0}') FROM recent UNION ALL
SELECT 'lstm_bigint_plain', lstm_train(i, flow,
       '{"hidden": 4, "epochs": 2, "residual": false, "ema": 0, "transform": "none", "dropout": 0}') FROM indexed UNION ALL
SELECT 'lstm_monthly_fill', lstm_train(month, flow, '{"hidden": 4, "epochs": 2, "fill": "linear"}')
  FROM monthly WHERE month NOT IN ('2005-03-01', '2011-07-01');

-- format version 3 (0.6.0): models whose state model_update moved
INSERT INTO corpus
SELECT 'ar_updated_v3', model_update(a.model, v.week_start, v.flow)
  FROM (SELECT ar_fit(week_start, flow, '{"transform": "log", "max_order": 8}') AS model
          FROM verde WHERE week_start <= '2020-06-01') a, verde v
 WHERE v.week_start > '2020-06-01' GROUP BY a.model::text UNION ALL
SELECT 'ar_harmonics_updated_v3', model_update(a.model, v.week_start, v.flow)
  FROM (SELECT ar_fit(week_start, flow, '{"transform": "log", "harmonics": 2, "order": 2}') AS model
          FROM verde WHERE week_start <= '2020-06-01') a, verde v
 WHERE v.week_start > '2020-06-01' GROUP BY a.model::text UNION ALL
SELECT 'lstm_updated_v3', model_update(l.model, v.week_start, v.flow)
  FROM (SELECT lstm_train(week_start, flow, '{"hidden": 6, "epochs": 3}') AS model
          FROM recent WHERE week_start <= '2020-06-01') l, verde v
 WHERE v.week_start > '2020-06-01' GROUP BY l.model::text;

-- combinations (0.6.0): of AR members, mean and weights (with an LSTM),
-- one moved on by model_update, and an automatic spec's model
INSERT INTO corpus
SELECT 'combine_mean_ar', fit(week_start, flow,
       '{"kind": "combine", "members": [{"kind": "ar", "transform": "log", "harmonics": 3}, {"kind": "ar", "window": 260}]}')
  FROM verde UNION ALL
SELECT 'combine_weights_lstm', fit(week_start, flow,
       '{"kind": "combine", "how": "weights", "weights_from": {"origins": 3}, "members": [{"kind": "ar", "order": 2}, {"kind": "lstm", "hidden": 4, "epochs": 2}]}')
  FROM recent UNION ALL
SELECT 'combine_median_updated_v3', model_update(c.model, v.week_start, v.flow)
  FROM (SELECT fit(week_start, flow, '{"kind": "combine", "how": "median", "members": [{"kind": "ar"}, {"kind": "ar", "order": 1}, {"kind": "ar", "harmonics": 2, "window": 300}]}') AS model
          FROM verde WHERE week_start <= '2020-06-01') c, verde v
 WHERE v.week_start > '2020-06-01' GROUP BY c.model::text UNION ALL
SELECT 'auto_weekly', fit(week_start, flow, '{"kind": "auto", "horizon": 2, "origins": 20}') FROM verde UNION ALL
-- members on buckets: a weekly member of a daily combination, and one moved
-- on by 10 days (a week done, 3 days pending)
SELECT 'combine_daily_weekly', fit(day, flow,
       '{"kind": "combine", "members": [{"kind": "ar", "order": 3}, {"kind": "ar", "transform": "log", "bucket": "7 days", "harmonics": 2}]}')
  FROM daily UNION ALL
SELECT 'combine_weekly_updated_v3', model_update(c.model, d.day, d.flow ORDER BY d.day)
  FROM (SELECT fit(day, flow, '{"kind": "combine", "members": [{"kind": "ar", "order": 2}, {"kind": "ar", "bucket": "7 days", "aggregate": "sum"}]}') AS model
          FROM daily WHERE day <= '2020-06-06') c, daily d
 WHERE d.day BETWEEN '2020-06-07' AND '2020-06-16' GROUP BY c.model::text;

-- format version 1: the same values without the device byte
INSERT INTO corpus
SELECT name || '_v1', encode(set_byte(substr(b, 1, 68) || substr(b, 70), 4, 1), 'base64')::tsmodel
  FROM (SELECT name, tsmodel_send(model) AS b FROM corpus
         WHERE name IN ('ar_log_aic_max8', 'lstm_covariates')) v2;
SQL

mkdir -p "$OUT"
rm -f "$OUT"/*.bin
"${PSQL[@]}" -d $DB -At -F ' ' \
    -c "SELECT name, encode(tsmodel_send(model), 'hex') FROM corpus ORDER BY name" |
while read -r name hex; do
    echo "$hex" | xxd -r -p >"$OUT/$name.bin"
done
"${PSQL[@]}" -d postgres -c "DROP DATABASE $DB"
echo "make_corpus.sh: $(ls "$OUT"/*.bin | wc -l) models in $OUT:"
( cd "$OUT" && ls -l *.bin | awk '{ printf "  %7d  %s\n", $5, $9 }' )

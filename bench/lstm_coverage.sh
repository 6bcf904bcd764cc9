#!/usr/bin/env bash
# bench/lstm_coverage.sh: how often the actual weekly flow falls inside the
# 80% and 95% prediction intervals of forecast(), for the LSTM (Monte Carlo
# dropout plus residual noise) and for the AR model (analytic), on held-out
# weeks of the Verde River.  A benchmark, not a test.
#
#   bench/lstm_coverage.sh [STEP_WEEKS [LSTM_OPTIONS]]
#
# Rolling origins over the 2010-2020 weeks (the seed notebook's period):
# every STEP_WEEKS weeks (default 4) from 2013-01-06, three years in, to
# 2020-04-19, the last origin with 16 weeks of actuals after it, each model
# is trained on the weeks from 2010-02-01 up to the origin (an expanding
# window), then forecast 16 weeks ahead at levels 0.8 and 0.95 and compared
# with the actual flows, which no model saw.  Models:
#
#   LSTM  lstm_train(week_start, flow, LSTM_OPTIONS): the defaults unless
#         given (H 40, 200 epochs, log transform, residual, EMA 0.98)
#   AR    ar_fit(week_start, flow, '{"transform": "log"}'): order by AIC
#
# Coverage is reported per horizon bucket (1, 2, 3-4, 5-8, 9-16 weeks) with
# the number of forecasts in it, beside the median width of the interval
# as a ratio hi / lo (both models work on log flow, so widths compare as
# ratios).  Runs in a throwaway cluster of its own ($TSF_PGROOT, default
# /tmp/tsf-lstm-coverage, port $TSF_PGPORT, default 54334), built and
# installed by scripts/tsf setup.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STEP=${1:-4}
OPTS=${2:-'{}'}
TSF=${TSF:-$ROOT/scripts/tsf}
export TSF_PGROOT=${TSF_PGROOT:-/tmp/tsf-lstm-coverage} TSF_PGPORT=${TSF_PGPORT:-54334}
cd "$ROOT"

"$TSF" setup >/dev/null
"$TSF" start >/dev/null
trap '"$TSF" stop >/dev/null 2>&1 || true' EXIT
export PGHOST=$TSF_PGROOT PGPORT=$TSF_PGPORT PGUSER=postgres PGOPTIONS="-c search_path=tsforecast,public"

echo "== rolling-origin coverage, origins every $STEP weeks, LSTM options $OPTS ($(date -u +%Y-%m-%d))"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -v step="$STEP" -v opts="$OPTS" <<'SQL'
SET jit = off;
CREATE EXTENSION tsforecast;
CREATE TABLE verde (week_start date PRIMARY KEY, flow float8 NOT NULL);
\copy verde FROM 'test/fixtures/verde_weekly.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE origins AS
SELECT o::date AS origin
  FROM generate_series('2013-01-06'::date, '2020-04-19'::date, make_interval(weeks => :step)) o;
\timing on
-- one LSTM and one AR model per origin, trained on 2010-02-01 .. origin
CREATE TABLE models AS
SELECT origin,
       (SELECT lstm_train(week_start, flow, :'opts'::jsonb) FROM verde
         WHERE week_start >= '2010-02-01' AND week_start <= origin) AS lstm,
       (SELECT ar_fit(week_start, flow, '{"transform": "log"}') FROM verde
         WHERE week_start >= '2010-02-01' AND week_start <= origin) AS ar
  FROM origins;
-- 16-week forecasts at both levels, joined with what happened
CREATE TABLE fc AS
SELECT m.origin, k.model, f80.step, v.flow,
       f80.value, f80.lo AS lo80, f80.hi AS hi80, f95.lo AS lo95, f95.hi AS hi95
  FROM models m,
       LATERAL (VALUES ('LSTM', m.lstm), ('AR', m.ar)) k(model, tm),
       LATERAL forecast(k.tm, 16, 0.8) f80,
       LATERAL forecast(k.tm, 16, 0.95) f95,
       verde v
 WHERE f95.step = f80.step AND v.week_start = f80.ts::date;
\timing off
SELECT count(*) AS origins, min(origin) AS first_origin, max(origin) AS last_origin,
       round(avg((SELECT model_info(lstm)->>'n')::numeric)) AS mean_lstm_train_weeks,
       round(avg((model_info(lstm)->>'fit_seconds')::numeric), 2) AS mean_lstm_fit_s,
       round(avg((model_info(ar)->>'order')::numeric), 1) AS mean_ar_order
  FROM models;
SELECT model,
       CASE WHEN step = 1 THEN '1' WHEN step = 2 THEN '2' WHEN step <= 4 THEN '3-4'
            WHEN step <= 8 THEN '5-8' ELSE '9-16' END AS weeks_ahead,
       count(*) AS forecasts,
       round(avg((flow BETWEEN lo80 AND hi80)::int), 3) AS coverage_80,
       round(avg((flow BETWEEN lo95 AND hi95)::int), 3) AS coverage_95,
       round(avg((flow < lo95)::int), 3) AS below_95,
       round(avg((flow > hi95)::int), 3) AS above_95,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY hi80 / lo80)::numeric, 2) AS median_ratio_80,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY hi95 / lo95)::numeric, 2) AS median_ratio_95,
       round(exp(avg(abs(ln(value) - ln(flow))))::numeric, 2) AS geo_mean_abs_error_ratio
  FROM fc GROUP BY 1, 2 ORDER BY 1 DESC, min(step);
SELECT model, '1-16 (all)' AS weeks_ahead, count(*) AS forecasts,
       round(avg((flow BETWEEN lo80 AND hi80)::int), 3) AS coverage_80,
       round(avg((flow BETWEEN lo95 AND hi95)::int), 3) AS coverage_95
  FROM fc GROUP BY 1 ORDER BY 1 DESC;
SQL

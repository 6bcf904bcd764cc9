-- backtest: rolling-origin evaluation, and model_update: forecasts from
-- fresh data without refitting.  The references are the extension's own
-- fits, recomposed by hand: each origin's forecast must be what ar_fit on
-- the rows up to it (or lstm_train) gives, and an updated AR model's
-- forecast what its coefficients give from the new values (computed here
-- in SQL); the AR fits themselves are checked against statsmodels in
-- ar_fit.sql.
\i test/fixtures/regress.sql

-- the backtest of the documented default, every 4 weeks from 2015 on,
-- 3 weeks ahead, as a table of rows
CREATE TEMP TABLE bt AS
SELECT b.* FROM (SELECT backtest(week_start, flow, '{"kind": "ar", "transform": "log"}',
                                 '{"horizon": 3, "start": "2015-01-01", "every": 4}') AS r
                   FROM verde) s, unnest(s.r) b;
SELECT count(*) AS rows, count(DISTINCT origin) AS origins, min(origin)::date AS first_origin,
       max(origin)::date AS last_origin, count(actual) AS with_actual
  FROM bt;

-- every origin's forecast is forecast(ar_fit(rows up to the origin)),
-- bit for bit, interval too; the targets are the weeks after the origin
SELECT bool_and(b.forecast = f.value AND b.lo = f.lo AND b.hi = f.hi AND b.ts = f.ts) AS same_as_ar_fit,
       bool_and(b.ts = b.origin + 7 * b.step * interval '1 day') AS weeks_after_origin,
       count(*) AS compared
  FROM bt b,
       LATERAL (SELECT f.* FROM forecast((SELECT ar_fit(week_start, flow, '{"transform": "log"}')
                                            FROM verde WHERE week_start <= b.origin), 3) f
                 WHERE f.step = b.step) f;
-- actual is the data's value at the target, NULL past the end
SELECT bool_and(b.actual IS NOT DISTINCT FROM v.flow) AS actual_is_the_data
  FROM bt b LEFT JOIN verde v ON v.week_start = b.ts::date;
SELECT count(*) FILTER (WHERE actual IS NULL) AS past_the_end, max(ts)::date AS last_target FROM bt;

-- scale is the in-sample MAE of the one-step naive forecast over the fit's rows
SELECT bool_and(close_to(b.scale, n.mae, 1e-12)) AS scale_is_naive_mae
  FROM (SELECT DISTINCT origin, scale FROM bt) b,
       LATERAL (SELECT avg(abs(flow - prev)) AS mae
                  FROM (SELECT flow, lag(flow) OVER (ORDER BY week_start) AS prev
                          FROM verde WHERE week_start <= b.origin) x) n;

-- metrics by horizon are a GROUP BY over the rows (no independent
-- reference: the AR fits are, above)
SELECT step, count(actual) AS n, round(mae(actual, forecast)::numeric, 1) AS mae,
       round(rmse(actual, forecast)::numeric, 1) AS rmse
  FROM bt GROUP BY step ORDER BY step;

-- origins given as timestamps: the users' Monday forecasts use the data
-- through the Saturday before, so week 1 is the current week
SELECT origin::date, step, ts::date AS target, round(forecast::numeric, 2) AS forecast, actual
  FROM (SELECT backtest(week_start, flow, '{"kind": "ar", "transform": "log"}',
                        '{"horizon": 2, "origins": ["2019-08-24", "2019-08-31"]}') AS r FROM verde) s,
       unnest(s.r) ORDER BY 1, 2;

-- a window: the fit uses only the last 260 weeks up to each origin
SELECT bool_and(b.forecast = f.value AND b.lo = f.lo AND b.hi = f.hi) AS window_same_as_ar_fit,
       count(*) AS compared
  FROM (SELECT b.* FROM (SELECT backtest(week_start, flow, '{"kind": "ar", "transform": "log"}',
                                         '{"horizon": 2, "start": "2018-01-01", "every": 13, "window": 260}') AS r
                           FROM verde) s, unnest(s.r) b) b,
       LATERAL (SELECT f.* FROM forecast((SELECT ar_fit(week_start, flow, '{"transform": "log"}')
                                            FROM (SELECT * FROM verde WHERE week_start <= b.origin
                                                   ORDER BY week_start DESC LIMIT 260) w), 2) f
                 WHERE f.step = b.step) f;

-- the seasonal naive scale (52 weeks) over the window
SELECT bool_and(close_to(b.scale, n.mae, 1e-12)) AS seasonal_scale
  FROM (SELECT DISTINCT b.origin, b.scale
          FROM (SELECT backtest(week_start, flow, '{"kind": "ar", "order": 2}',
                                '{"horizon": 1, "start": "2018-01-01", "every": 26, "window": 260, "mase_season": 52}') AS r
                  FROM verde) s, unnest(s.r) b) b,
       LATERAL (SELECT avg(abs(flow - prev)) AS mae
                  FROM (SELECT flow, lag(flow, 52) OVER (ORDER BY week_start) AS prev
                          FROM (SELECT * FROM verde WHERE week_start <= b.origin
                                 ORDER BY week_start DESC LIMIT 260) w) x) n;

-- ---------------------------------------------------------------------------
-- model_update: the AR(3) of log flow fitted through 2019-08-18, moved on
-- over the following weeks
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE m3 AS
SELECT ar_fit(week_start, flow, '{"transform": "log", "order": 3}') AS model
  FROM verde WHERE week_start <= '2019-08-18';
CREATE TEMP TABLE m3u AS
SELECT model_update(m3.model, v.week_start, v.flow) AS model
  FROM m3, verde v WHERE v.week_start > '2019-08-18' AND v.week_start <= '2019-09-22'
 GROUP BY m3.model::text;

-- its forecast starts after the new rows, with the fitted coefficients:
-- step 1 is exp(c + phi1 log y[t] + phi2 log y[t-1] + phi3 log y[t-2])
SELECT f.ts::date AS first_step,
       close_to(f.value, exp((i->>'constant')::float8
                             + (i->'coefficients'->>0)::float8 * ln(y.y0)
                             + (i->'coefficients'->>1)::float8 * ln(y.y1)
                             + (i->'coefficients'->>2)::float8 * ln(y.y2)), 1e-12) AS from_the_new_lags,
       i->>'updated_to' AS updated_to, i->>'updated_steps' AS updated_steps,
       i->>'last_ts' AS trained_to, i->>'n' AS n
  FROM m3u, forecast(m3u.model, 1) f, LATERAL (SELECT model_info(m3u.model) AS i) mi,
       (SELECT (SELECT flow FROM verde WHERE week_start = '2019-09-22') AS y0,
               (SELECT flow FROM verde WHERE week_start = '2019-09-15') AS y1,
               (SELECT flow FROM verde WHERE week_start = '2019-09-08') AS y2) y;
-- the interval is the model's: the same width on the log scale as before
SELECT bool_and(close_to(ln(u.hi) - ln(u.lo), ln(o.hi) - ln(o.lo), 1e-12)) AS same_interval_widths
  FROM m3, m3u, forecast(m3.model, 4) o JOIN forecast(m3u.model, 4) u USING (step);
-- the coefficients are unchanged; the updated value reads back and dumps
SELECT model_info(m3.model)->'coefficients' = model_info(m3u.model)->'coefficients' AS same_coefficients,
       (m3u.model::text::tsmodel)::text = m3u.model::text AS text_round_trip,
       (m3u.model::jsonb)->>'format_version' AS format_version,
       (m3.model::jsonb)->>'format_version' AS not_updated_format_version
  FROM m3, m3u;
-- one row continuing the state: the stored values shift by one
SELECT close_to((SELECT value FROM forecast((SELECT model_update(m3.model, v.week_start, v.flow)
                                               FROM m3, verde v WHERE v.week_start = '2019-08-25'
                                              GROUP BY m3.model::text), 1)),
                exp((i->>'constant')::float8
                    + (i->'coefficients'->>0)::float8 * ln((SELECT flow FROM verde WHERE week_start = '2019-08-25'))
                    + (i->'coefficients'->>1)::float8 * ln((SELECT flow FROM verde WHERE week_start = '2019-08-18'))
                    + (i->'coefficients'->>2)::float8 * ln((SELECT flow FROM verde WHERE week_start = '2019-08-11'))),
                1e-12) AS one_new_row
  FROM m3, LATERAL (SELECT model_info(m3.model) AS i) mi;
-- rows the model has seen are skipped: nothing new gives the same model
SELECT (SELECT model_update(m3.model, v.week_start, v.flow)::text FROM m3, verde v
         WHERE v.week_start <= '2019-08-18' GROUP BY m3.model::text) = m3.model::text AS unchanged
  FROM m3;
-- the rows may arrive in any order
SELECT (SELECT model_update(m3.model, v.week_start, v.flow ORDER BY v.week_start DESC)::text
          FROM m3, verde v WHERE v.week_start > '2019-08-18' AND v.week_start <= '2019-09-22'
         GROUP BY m3.model::text) = m3u.model::text AS any_order
  FROM m3u;

-- a backtest refitting every 4th origin and updating in between is
-- model_update of the last refit's model
SELECT bool_and(b.forecast = f.value AND b.lo = f.lo AND b.hi = f.hi) AS refit_every_4_is_model_update,
       count(*) AS compared
  FROM (SELECT b.* FROM (SELECT backtest(week_start, flow, '{"kind": "ar", "transform": "log", "order": 3}',
                                         '{"horizon": 2, "start": "2019-01-06", "every": 1, "refit_every": 4}') AS r
                           FROM verde) s, unnest(s.r) b) b,
       LATERAL (SELECT (b.origin::date - date '2019-01-06') / 7 / 4 * 4 * 7 + date '2019-01-06' AS refit_at) r,
       LATERAL (SELECT f.* FROM forecast((SELECT model_update(m.model, v.week_start, v.flow)
                                            FROM (SELECT ar_fit(week_start, flow, '{"transform": "log", "order": 3}') AS model
                                                    FROM verde WHERE week_start <= r.refit_at) m,
                                                 verde v
                                           WHERE v.week_start <= b.origin
                                           GROUP BY m.model::text), 2) f
                 WHERE f.step = b.step) f;

-- LSTM: the state steps through the new rows as predict() does, so the
-- first step forecast after an update is predict()'s at that week (the
-- network's state stored after training comes from the batched forward
-- pass, predict()'s from single steps: float32 sums in another order, so
-- they agree to about 1e-7, not to the bit)
CREATE TEMP TABLE ml AS
SELECT lstm_train(week_start, flow, '{"epochs": 20, "transform": "log", "hidden": 8}') AS model
  FROM verde WHERE week_start <= '2019-08-18';
SELECT close_to(f.value, p.pred, 1e-6) AS lstm_update_is_predict
  FROM ml,
       forecast((SELECT model_update(ml.model, v.week_start, v.flow) FROM ml, verde v
                  WHERE v.week_start > '2019-08-18' AND v.week_start <= '2019-09-01'
                  GROUP BY ml.model::text), 1) f,
       (SELECT week_start, predict(ml.model, week_start, flow) OVER (ORDER BY week_start) AS pred
          FROM ml, verde WHERE week_start <= '2019-09-08') p
 WHERE p.week_start = '2019-09-08';
-- an LSTM backtest refits with lstm_train's own fit: the same forecasts
SELECT bool_and(b.forecast = f.value AND b.lo = f.lo AND b.hi = f.hi) AS lstm_same_as_lstm_train,
       count(*) AS compared
  FROM (SELECT b.* FROM (SELECT backtest(week_start, flow, '{"kind": "lstm", "epochs": 10, "hidden": 8}',
                                         '{"horizon": 2, "origins": ["2019-06-01", "2019-09-01"]}') AS r
                           FROM verde) s, unnest(s.r) b) b,
       LATERAL (SELECT f.* FROM forecast((SELECT lstm_train(week_start, flow, '{"epochs": 10, "hidden": 8}')
                                            FROM verde WHERE week_start <= b.origin), 2) f
                 WHERE f.step = b.step) f;

-- many series: one backtest per group, as GROUP BY works elsewhere
SELECT g, count(*) AS rows, round(avg(b.forecast / b.actual)::numeric, 6) AS mean_ratio
  FROM (SELECT g, backtest(week_start, flow * g, '{"kind": "ar", "transform": "log"}',
                           '{"horizon": 1, "start": "2020-01-01"}') AS r
          FROM verde, generate_series(1, 2) g GROUP BY g) s, unnest(s.r) b
 GROUP BY g ORDER BY g;

-- in a parallel plan the workers' partial states (the series' points, the
-- spec and settings) combine in the leader: the same rows as serial
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
-- (a temporary table is scanned by the leader alone: a plain one here)
CREATE TABLE verde_par AS SELECT * FROM verde;
ANALYZE verde_par;
EXPLAIN (COSTS OFF) SELECT backtest(week_start, flow, '{"kind": "ar"}', '{"horizon": 1}') FROM verde_par;
SELECT workers_launched($$SELECT backtest(week_start, flow, '{"kind": "ar", "transform": "log"}', '{"horizon": 2, "start": "2019-01-01"}') FROM verde_par$$);
SELECT backtest(week_start, flow, '{"kind": "ar", "transform": "log"}', '{"horizon": 2, "start": "2019-01-01"}')::text AS r
  FROM verde_par \gset par_
-- (model_update reads a temporary table here: the leader alone runs it)
SELECT model_update(m3.model, v.week_start, v.flow)::text AS m
  FROM m3, verde_par v WHERE v.week_start > '2019-08-18' AND v.week_start <= '2019-09-22' \gset par_
RESET max_parallel_workers_per_gather;
SELECT :'par_r' = (SELECT backtest(week_start, flow, '{"kind": "ar", "transform": "log"}', '{"horizon": 2, "start": "2019-01-01"}')::text
                     FROM verde) AS parallel_backtest_same,
       :'par_m' = (SELECT model::text FROM m3u) AS parallel_update_same;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET parallel_leader_participation;
DROP TABLE verde_par;

-- progress, as a NOTICE per origin
\set VERBOSITY terse
SELECT count(*) FROM unnest((SELECT backtest(week_start, flow, '{"kind": "ar", "order": 1}',
                                             '{"horizon": 1, "start": "2020-07-20", "progress": true}')
                               FROM verde));
\set VERBOSITY default

-- ---------------------------------------------------------------------------
-- errors
-- ---------------------------------------------------------------------------
SELECT backtest(week_start, flow, '{"kind": "ar"}', '{"every": 4}') FROM verde;
SELECT backtest(week_start, flow, '{"kind": "ar"}', '{"horizon": 0}') FROM verde;
SELECT backtest(week_start, flow, '{"kind": "ar"}', '{"horizon": 1, "origins": ["2019-01-01"], "every": 2}') FROM verde;
SELECT backtest(week_start, flow, '{"kind": "ar"}', '{"horizon": 1, "origins": ["2019-02-01", "2019-01-01"]}') FROM verde;
SELECT backtest(week_start, flow, '{"kind": "ar"}', '{"horizon": 1, "origins": []}') FROM verde;
SELECT backtest(week_start, flow, '{"kind": "ar"}', '{"horizon": 1, "origins": [20190101]}') FROM verde;
SELECT backtest(week_start, flow, '{"kind": "ar"}', '{"horizon": 1, "start": "2030-01-01"}') FROM verde;
SELECT backtest(week_start, flow, '{"kind": "ar"}', '{"horizon": 1, "windows": 5}') FROM verde;
SELECT backtest(week_start, flow, '{"kind": "ar"}', '[1]') FROM verde;
SELECT backtest(week_start, flow, '{"order": 2}', '{"horizon": 1}') FROM verde;
SELECT backtest(week_start, flow, '{"kind": "ar", "orders": 2}', '{"horizon": 1}') FROM verde;
SELECT backtest(week_start, flow, '{"kind": "ar", "backtest": {}}', '{"horizon": 1}') FROM verde;
SELECT backtest(week_start, flow, '{"kind": "ar"}', jsonb_build_object('horizon', extract(year FROM week_start)::int % 3 + 1)) FROM verde;
SELECT backtest(week_start::timestamptz, flow, '{"kind": "ar"}', NULL) FROM verde;
SELECT backtest(extract(epoch FROM week_start)::bigint, flow, '{"kind": "ar"}', '{"horizon": 1}') FROM verde;
-- an origin with too few rows says which origin it was
SELECT backtest(week_start, flow, '{"kind": "ar", "order": 5}', '{"horizon": 1, "origins": ["1989-01-15", "2019-01-01"]}') FROM verde;
SELECT backtest(week_start, flow, '{"kind": "ar"}', '{"horizon": 1, "origins": ["1988-01-01"]}') FROM verde;
-- model_update's
SELECT model_update(m3.model, v.week_start::timestamptz, v.flow) FROM m3, verde v GROUP BY m3.model::text;
SELECT model_update(m3.model, v.week_start + 1, v.flow) FROM m3, verde v WHERE v.week_start > '2019-08-18' GROUP BY m3.model::text;
SELECT model_update(m3.model, v.week_start, v.flow) FROM m3, verde v
 WHERE v.week_start IN ('2019-09-01', '2019-09-15', '2019-09-22') GROUP BY m3.model::text;
SELECT model_update(m3.model, v.week_start, v.flow) FROM m3, verde v
 WHERE v.week_start IN ('2019-09-08') GROUP BY m3.model::text;
SELECT model_update(ml.model, v.week_start, v.flow) FROM ml, verde v
 WHERE v.week_start > '2019-08-25' GROUP BY ml.model::text;
SELECT model_update(m3.model, v.week_start, v.flow, ARRAY[1.0]) FROM m3, verde v GROUP BY m3.model::text;
SELECT model_update(m.model, v.week_start, v.flow)
  FROM (SELECT model FROM m3 UNION ALL SELECT model FROM ml) m, verde v WHERE v.week_start > '2019-08-18';
SELECT model_update(m3.model, v.week_start, CASE WHEN v.week_start = '2019-09-01' THEN NULL ELSE v.flow END)
  FROM m3, verde v WHERE v.week_start > '2019-08-18' GROUP BY m3.model::text;
SELECT model_update(m3.model, v.week_start, -v.flow) FROM m3, verde v WHERE v.week_start > '2019-08-18' GROUP BY m3.model::text;

-- a long backtest stops at a cancel (here its statement_timeout)
SET statement_timeout = '1s';
\set VERBOSITY terse
SELECT backtest(week_start, flow, '{"kind": "lstm", "epochs": 4000}', '{"horizon": 1, "start": "2010-01-01"}') FROM verde;
\set VERBOSITY default
RESET statement_timeout;

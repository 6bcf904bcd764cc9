-- forecast: the Verde River forecast, intervals, levels, horizons
\i test/fixtures/regress.sql
-- the model: the AR of log flow chosen by AIC, as tsmodel.sql stores it
CREATE TEMP TABLE models AS
SELECT 'verde_log'::text AS name, ar_fit(week_start, flow, '{"transform": "log"}') AS model FROM verde;

-- the 16-week forecast from the log-flow AR chosen by AIC, on the flow scale
SELECT step, ts::date AS week, round(value::numeric, 1) AS flow,
       round(lo::numeric, 1) AS lo, round(hi::numeric, 1) AS hi
  FROM models, forecast(model, 16)
 WHERE name = 'verde_log' ORDER BY step;

-- forecasts start the week after the last training week and go on weekly
SELECT min(ts)::date = '2020-08-16' AS starts_after_training,
       bool_and(lo < value AND value < hi) AS value_inside_interval
  FROM models, forecast(model, 16) WHERE name = 'verde_log';

-- under the log transform, the interval is exp(mean -/+ z se): symmetric on the log scale
SELECT bool_and(abs(ln(value) - ln(lo) - (ln(hi) - ln(value))) < 1e-9) AS symmetric_in_log
  FROM models, forecast(model, 16) WHERE name = 'verde_log';

-- a lower level gives a narrower interval; the point forecast is the same
SELECT a.step, a.value = b.value AS same_value, (b.hi - b.lo) < (a.hi - a.lo) AS narrower
  FROM models m, forecast(m.model, 3) a JOIN forecast(m.model, 3, 0.8) b USING (step)
 WHERE m.name = 'verde_log' ORDER BY a.step;

-- the interval widens with the horizon
SELECT bool_and(width > prev) AS widening
  FROM (SELECT ln(hi) - ln(lo) AS width, lag(ln(hi) - ln(lo)) OVER (ORDER BY step) AS prev
          FROM models, forecast(model, 16) WHERE name = 'verde_log') w
 WHERE prev IS NOT NULL;

-- a bigint-indexed model has no timestamps to give: ts is NULL
SELECT step, ts, round(value::numeric, 4) AS value
  FROM (SELECT ar_fit(t, value, '{"order": 2}') AS m FROM fx_series WHERE name = 'lh') s,
       forecast(m, 2);

-- bad horizons and levels
SELECT * FROM models, forecast(model, 0) WHERE name = 'verde_log';
SELECT * FROM models, forecast(model, 100001) WHERE name = 'verde_log';
SELECT * FROM models, forecast(model, 2, 1.0) WHERE name = 'verde_log';
SELECT * FROM models, forecast(model, 2, 0) WHERE name = 'verde_log';
-- a NULL model yields no rows
SELECT count(*) FROM forecast(NULL::tsmodel, 3);

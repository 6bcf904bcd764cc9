-- predict(): one-step-ahead predictions of a stored model over any history,
-- and the seed's table: r2 of the one-lag autoregression, train and test
\i test/fixtures/regress.sql

-- the seed's split: the first 1105 weeks (targets 1..1104) train, the rest test
CREATE TABLE verde_split AS
SELECT week_start, flow, ln(flow) AS logflow,
       CASE WHEN week_start <= '2010-02-28' THEN 'train' ELSE 'test' END AS period
  FROM verde;
CREATE TABLE ar1 AS
SELECT ar_fit(week_start, logflow, '{"order": 1}') AS model FROM verde_split WHERE period = 'train';

-- the same coefficients as statsmodels on the training weeks
SELECT close_to((model_info(model)->>'constant')::float8, (SELECT value FROM split_ref WHERE part = 'ar1' AND key = 'c')) AS c_ok,
       close_to((model_info(model)->'coefficients'->>0)::float8, (SELECT value FROM split_ref WHERE part = 'ar1' AND key = 'phi')) AS phi_ok
  FROM ar1;

-- predictions over the whole history: the first week has no lag
SELECT week_start, round(logflow::numeric, 6) AS logflow,
       round(predict(model, week_start, logflow) OVER (ORDER BY week_start)::numeric, 6) AS pred
  FROM verde_split, ar1 ORDER BY week_start LIMIT 3;

-- r2 and NSE, train and test, in one query; each metric against numpy's
CREATE TEMP TABLE scored AS
SELECT period, logflow, predict(model, week_start, logflow) OVER (ORDER BY week_start) AS pred
  FROM verde_split, ar1;
SELECT period, round(r2(logflow, pred)::numeric, 4) AS r2, round(nse(logflow, pred)::numeric, 4) AS nse,
       round(kge(logflow, pred)::numeric, 4) AS kge
  FROM scored GROUP BY period ORDER BY period DESC;
SELECT s.period, m.key,
       close_to(CASE m.key WHEN 'r2' THEN r2(logflow, pred) WHEN 'rmse' THEN rmse(logflow, pred)
                           WHEN 'mae' THEN mae(logflow, pred) WHEN 'mape' THEN mape(logflow, pred)
                           WHEN 'smape' THEN smape(logflow, pred) WHEN 'kge' THEN kge(logflow, pred) END,
                m.value, 1e-10) AS log_ok,
       close_to(CASE m.key WHEN 'r2' THEN r2(exp(logflow), exp(pred)) WHEN 'rmse' THEN rmse(exp(logflow), exp(pred))
                           WHEN 'mae' THEN mae(exp(logflow), exp(pred)) WHEN 'mape' THEN mape(exp(logflow), exp(pred))
                           WHEN 'smape' THEN smape(exp(logflow), exp(pred)) WHEN 'kge' THEN kge(exp(logflow), exp(pred)) END,
                (SELECT value FROM split_ref f WHERE f.part = 'flow_' || s.period AND f.key = m.key), 1e-10) AS flow_ok
  FROM scored s JOIN split_ref m ON m.part = 'log_' || s.period
 GROUP BY s.period, m.key, m.value ORDER BY 1 DESC, 2;

-- a model fit on logs predicts on the flow scale from flows
SELECT round(r2(flow, p)::numeric, 4) AS r2_flow
  FROM (SELECT flow, predict(m, week_start, flow) OVER (ORDER BY week_start) AS p
          FROM verde_split, (SELECT ar_fit(week_start, flow, '{"order": 1, "transform": "log"}') AS m
                               FROM verde_split WHERE period = 'train') x) s;

-- a gap or a NULL in the history makes the predictions that need it NULL
SELECT week_start, round(predict(model, week_start, logflow) OVER (ORDER BY week_start)::numeric, 4) AS pred
  FROM (SELECT week_start, CASE WHEN week_start = '2020-07-12' THEN NULL ELSE logflow END AS logflow
          FROM verde_split WHERE week_start >= '2020-06-28' AND week_start <> '2020-07-26') h, ar1
 ORDER BY week_start;

-- one model per series: PARTITION BY the key, join the models
CREATE TEMP TABLE per_series AS
SELECT name, ar_fit(t, value, '{"order": 2}') AS model FROM fx_series GROUP BY name;
SELECT s.name, count(p) AS predicted, round(r2(s.value, p)::numeric, 4) AS r2
  FROM (SELECT f.name, f.value, predict(m.model, f.t, f.value) OVER (PARTITION BY f.name ORDER BY f.t) AS p
          FROM fx_series f JOIN per_series m USING (name)) s
 GROUP BY s.name ORDER BY s.name;

-- misuse
SELECT predict(model, week_start, logflow) OVER (ORDER BY week_start DESC) FROM verde_split, ar1 LIMIT 1;
SELECT predict(model, week_start::timestamptz, logflow) OVER (ORDER BY week_start) FROM verde_split, ar1 LIMIT 1;
SELECT predict(model, week_start + 1, logflow) OVER (ORDER BY week_start) FROM verde_split, ar1 LIMIT 1;
SELECT predict(m.model, f.t, f.value) OVER (ORDER BY f.name, f.t) FROM fx_series f JOIN per_series m USING (name) LIMIT 1;

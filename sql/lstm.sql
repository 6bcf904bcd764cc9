-- lstm_train: the LSTM on the Verde River, forecast and predict, options,
-- covariates, parallel aggregation, hostile values, cancellation
\i test/fixtures/regress.sql

-- the seed's table: the weekly series from 2010-02-01 on, the first 67% of
-- the weeks train, the rest test; one-step-ahead r2 of log flow
CREATE TABLE verde10 AS
SELECT week_start, flow, ln(flow) AS logflow,
       CASE WHEN row_number() OVER (ORDER BY week_start) <= floor(0.67 * count(*) OVER ())
            THEN 'train' ELSE 'test' END AS period
  FROM verde WHERE week_start >= '2010-02-01';
SELECT period, count(*), min(week_start), max(week_start) FROM verde10 GROUP BY 1 ORDER BY 2 DESC;

-- the defaults (chosen on the training weeks' validation tail, never on
-- test): log transform since every flow is positive, 200 epochs
CREATE TABLE lstm_models AS
SELECT 'verde'::text AS name, lstm_train(week_start, flow) AS model FROM verde10 WHERE period = 'train';
INSERT INTO lstm_models
SELECT 'ar1', ar_fit(week_start, logflow, '{"order": 1}') FROM verde10 WHERE period = 'train';

-- predict() over all the weeks scores both periods; the LSTM predicts
-- flows (it back-transforms), so it is scored on their logs.  The LSTM's r2
-- is a bound, not a figure: on the training weeks and on the test weeks it
-- must beat the AR(1) of log flow fit on the same training weeks (printed:
-- 0.673 and 0.758, an OLS fit, exact), or it would be no better than the
-- seed's autoregression.  Its own r2 (0.698 and 0.767 at 0.5.0, the
-- README's table) has no reference.
CREATE TEMP TABLE scored AS
SELECT v.period, v.logflow,
       predict(a.model, v.week_start, v.logflow) OVER (ORDER BY v.week_start) AS ar,
       ln(predict(l.model, v.week_start, v.flow) OVER (ORDER BY v.week_start)) AS lstm
  FROM verde10 v, lstm_models a, lstm_models l WHERE a.name = 'ar1' AND l.name = 'verde';
SELECT period, round(r2(logflow, ar)::numeric, 3) AS ar1_r2,
       r2(logflow, lstm) > r2(logflow, ar) AS lstm_beats_ar1, count(lstm) AS predicted
  FROM scored GROUP BY period ORDER BY period DESC;

-- what the model says about itself (less the times and the losses, below,
-- and the release, which the next query checks).  A change detector of the
-- defaults (the README's lstm_train table) and of model_info's keys: it
-- changes when a default or a key changes.  Its figures with a reference
-- are checked against it next.
SELECT jsonb_pretty(model_info(model) - 'fit_seconds' - 'fitted_at' - 'loss' - 'residual_sd' - 'version')
  FROM lstm_models WHERE name = 'verde';
-- the training rows (n, n_train: no validation part, the range), the
-- release, every epoch run (no validation: no early stop), a season of a
-- year of weeks, and the parameters as PyTorch counts the seed's network:
-- Conv1d(3, 4, 3) 3*4*3 + 4, LSTM(4, 40) with its two bias vectors
-- 4*40*(4 + 40 + 2), Linear(40, 1) 40 + 1
SELECT (i->>'n')::int = t.n AND (i->>'n_train')::int = t.n AS rows_ok,
       (i->>'first_ts')::date = t.first AND (i->>'last_ts')::date = t.last AS range_ok,
       i->>'version' = (SELECT extversion FROM pg_extension WHERE extname = 'tsforecast') AS version_ok,
       i->'epochs_run' = i->'hyperparameters'->'epochs' AS every_epoch,
       (i->'hyperparameters'->>'season_length')::float8 = 365.25 / 7 AS season_ok,
       (i->>'n_params')::int = (3 * 4 * 3 + 4) + 4 * 40 * (4 + 40 + 2) + (40 + 1) AS n_params_ok
  FROM lstm_models, LATERAL (SELECT model_info(model) AS i) x,
       (SELECT count(*) AS n, min(week_start) AS first, max(week_start) AS last
          FROM verde10 WHERE period = 'train') t
 WHERE name = 'verde';
-- the losses: residual_sd is the RMS of the one-step residuals on the
-- training weeks, on the scaled log scale, which predict() gives too (to
-- float32 rounding); it is below the AR(1)'s RMS there, in the same units
-- (0.0950: the LSTM must beat it).  loss, the last epoch's MSE with dropout
-- on, is below the variance of the scaled training targets (0.028): the
-- network does better than their mean.  Bounds, not figures (0.0913 and
-- 0.0075 at 0.5.0): no reference gives those.
SELECT close_to((i->>'residual_sd')::float8, p.lstm_rms / sc.span, 1e-6) AS residual_sd_is_predict,
       (i->>'residual_sd')::float8 < p.ar_rms / sc.span AS residual_sd_beats_ar1,
       (i->>'loss')::float8 > 0 AND (i->>'loss')::float8 < p.var / sc.span ^ 2 AS loss_below_variance,
       (i->>'fit_seconds')::float8 > 0 AS timed
  FROM lstm_models, LATERAL (SELECT model_info(model) AS i,
                                    (model::jsonb->'scaling'->>'max')::float8
                                    - (model::jsonb->'scaling'->>'min')::float8 AS span) sc,
       (SELECT sqrt(avg((lstm - logflow) ^ 2)) AS lstm_rms, sqrt(avg((ar - logflow) ^ 2)) AS ar_rms,
               var_pop(logflow) AS var
          FROM scored WHERE period = 'train' AND lstm IS NOT NULL) p
 WHERE name = 'verde';
-- the jsonb cast holds everything: the scaling, the state (the conv's
-- window of 3 steps of 3 inputs, h and c of 40: 3*3 + 2*40), every weight
SELECT jsonb_array_length(m->'params') = (m->>'n_params')::int AS all_params,
       jsonb_array_length(m->'state') AS state_len, m->>'format_version' AS format_version,
       m @> model_info(model) - 'fit_seconds' AS info_is_subset
  FROM lstm_models, LATERAL (SELECT model::jsonb AS m) j WHERE name = 'verde';

-- deterministic: the same data and seed give the same bytes, but the fit
-- time fields (fit_seconds and fitted_at, bytes 53..68 of the stored
-- format); another seed, another model
CREATE FUNCTION no_fit_time(m tsmodel) RETURNS bytea LANGUAGE sql IMMUTABLE AS
$$ SELECT overlay(decode(m::text, 'base64') PLACING '\x00000000000000000000000000000000'::bytea FROM 53 FOR 16) $$;
SELECT no_fit_time(a.model) = no_fit_time(b.model) AS same_bytes,
       no_fit_time(a.model) <> no_fit_time(c.model) AS other_seed_differs
  FROM lstm_models a,
       (SELECT lstm_train(week_start, flow) AS model FROM verde10 WHERE period = 'train') b,
       (SELECT lstm_train(week_start, flow, '{"seed": 7}') AS model FROM verde10 WHERE period = 'train') c
 WHERE a.name = 'verde';
-- input order does not matter
SELECT no_fit_time(a.model) = no_fit_time(b.model) AS order_free
  FROM lstm_models a,
       (SELECT lstm_train(week_start, flow ORDER BY week_start DESC) AS model FROM verde10 WHERE period = 'train') b
 WHERE a.name = 'verde';

-- ---- forecast ----

-- 16 weeks after the last training week: a recursive forecast, intervals
-- from 200 Monte Carlo dropout paths.  The figures are a change detector,
-- with no reference: this network's (seed 42, the float32 core) and the
-- sampler's, seeded from the model; they change when the training's
-- arithmetic or draws, the network's step or the sampler change (the
-- paths draw over the whole horizon, so another horizon gives other
-- intervals).  Against references: the first step is predict()'s, below,
-- and the intervals' coverage of weeks no model saw, further below.
SELECT step, ts::date AS week, round(value::numeric) AS flow, round(lo::numeric) AS lo, round(hi::numeric) AS hi
  FROM lstm_models, forecast(model, 4) WHERE name = 'verde' ORDER BY step;
SELECT count(*) AS steps, min(ts)::date = '2017-02-19' AS starts_after_training,
       bool_and(lo < value AND value < hi) AS value_inside, bool_and(lo > 0) AS positive
  FROM lstm_models, forecast(model, 16) WHERE name = 'verde';
-- wider at 16 weeks than at 1; narrower at a lower level, same point forecast
SELECT (SELECT ln(hi) - ln(lo) FROM forecast(model, 16) WHERE step = 16) >
       (SELECT ln(hi) - ln(lo) FROM forecast(model, 16) WHERE step = 1) AS widens,
       (SELECT bool_and(a.value = b.value AND b.hi - b.lo < a.hi - a.lo)
          FROM forecast(model, 8) a JOIN forecast(model, 8, 0.5) b USING (step)) AS narrower_same_value,
       (SELECT array_agg(f ORDER BY step) FROM forecast(model, 8) f)
     = (SELECT array_agg(f ORDER BY step) FROM forecast(model, 8) f) AS repeatable
  FROM lstm_models WHERE name = 'verde';
-- the first forecast step is what predict() says for the week after the
-- training data: the same network from the same state, to float32 rounding
-- (the stored state is the training's last forward step; predict() steps
-- through the history again, summing in another order)
SELECT close_to(f.value, p.pred, 1e-6) AS forecast_is_predict
  FROM (SELECT value FROM lstm_models, forecast(model, 1) WHERE name = 'verde') f,
       (SELECT week_start, predict(model, week_start, flow) OVER (ORDER BY week_start) AS pred
          FROM verde10, lstm_models WHERE name = 'verde') p
 WHERE p.week_start = '2017-02-19';
-- a text round trip keeps every byte and every forecast
SELECT model::text::tsmodel::text = model::text AS text_same,
       (SELECT array_agg(f ORDER BY step) FROM forecast(model, 4) f)
     = (SELECT array_agg(f ORDER BY step) FROM forecast(model::text::tsmodel, 4) f) AS forecast_same
  FROM lstm_models WHERE name = 'verde';

-- prediction intervals on weeks no model saw: 15 rolling origins, every
-- 26 weeks from 2013-01-06; at each, an LSTM (50 epochs, to keep this
-- quick) and an AR(p) of log flow trained on 2010-02-01 .. origin forecast
-- 16 weeks, scored against what happened (bench/lstm_coverage.sh runs 96
-- origins with the defaults and prints the coverage by horizon)
CREATE TEMP TABLE coverage AS
SELECT k.model, f80.step, v.flow BETWEEN f80.lo AND f80.hi AS in80, v.flow BETWEEN f95.lo AND f95.hi AS in95
  FROM generate_series('2013-01-06'::date, '2020-04-19'::date, interval '26 weeks') o(origin),
       LATERAL (SELECT lstm_train(week_start, flow, '{"epochs": 50}') AS lstm,
                       ar_fit(week_start, flow, '{"transform": "log"}') AS ar
                  FROM verde WHERE week_start >= '2010-02-01' AND week_start <= o.origin) m,
       LATERAL (VALUES ('LSTM', m.lstm), ('AR', m.ar)) k(model, tm),
       LATERAL forecast(k.tm, 16, 0.8) f80,
       LATERAL forecast(k.tm, 16, 0.95) f95,
       verde v
 WHERE f95.step = f80.step AND v.week_start = f80.ts::date;
-- the actual falls inside the 95% interval 85% to 100% of the time, inside
-- the 80% one 65% to 95% of the time, more often inside the wider one
SELECT model, count(*) AS forecasts,
       avg(in95::int) BETWEEN 0.85 AND 1.0 AS covers_95,
       avg(in80::int) BETWEEN 0.65 AND 0.95 AS covers_80,
       avg(in95::int) > avg(in80::int) AS nested
  FROM coverage GROUP BY model ORDER BY model DESC;

-- ---- predict ----

-- the first row has no lag; a gap or a NULL makes the next row's lag a
-- stand-in, so that row is NULL and the network steps on.  Up to the NULL
-- the predictions are those over the same weeks without the NULL and the
-- gap, bit for bit (a prediction reads only the rows before it); the
-- values themselves are checked above (the r2, forecast = predict)
SELECT h.week_start, h.pred IS NOT NULL AS predicted, h.pred > 0 AS positive,
       CASE WHEN h.week_start <= '2020-07-12' THEN h.pred IS NOT DISTINCT FROM w.pred END AS as_without_holes
  FROM (SELECT week_start, predict(model, week_start, flow) OVER (ORDER BY week_start) AS pred
          FROM (SELECT week_start, CASE WHEN week_start = '2020-07-12' THEN NULL ELSE flow END AS flow
                  FROM verde10 WHERE week_start >= '2020-06-14' AND week_start <> '2020-07-26') g, lstm_models
         WHERE name = 'verde') h
  JOIN (SELECT week_start, predict(model, week_start, flow) OVER (ORDER BY week_start) AS pred
          FROM verde10, lstm_models WHERE name = 'verde' AND week_start >= '2020-06-14') w USING (week_start)
 ORDER BY h.week_start;
-- one model per series: PARTITION BY the key; each has skill (r2 above
-- 0: better than its series' mean)
CREATE TEMP TABLE per_series_lstm AS
SELECT name, lstm_train(t, value, '{"hidden": 8, "season_length": 12}') AS model
  FROM fx_series WHERE name IN ('lh', 'sim_ar2') GROUP BY name;
SELECT s.name, count(p) AS predicted, round(r2(s.value, p)::numeric, 2) > 0 AS skill
  FROM (SELECT f.name, f.value, predict(m.model, f.t, f.value) OVER (PARTITION BY f.name ORDER BY f.t) AS p
          FROM fx_series f JOIN per_series_lstm m USING (name)) s
 GROUP BY s.name ORDER BY s.name;
SELECT name, model_info(model)->'transform' AS transform, model_info(model)->'inputs' AS inputs
  FROM per_series_lstm ORDER BY name;
-- misuse
SELECT predict(model, week_start, flow) OVER (ORDER BY week_start DESC) FROM verde10, lstm_models WHERE name = 'verde' LIMIT 1;
SELECT predict(model, week_start, flow, ARRAY[1.0]) OVER (ORDER BY week_start) FROM verde10, lstm_models WHERE name = 'verde' LIMIT 1;
SELECT predict(model, week_start, -1.0) OVER (ORDER BY week_start) FROM verde10, lstm_models WHERE name = 'verde' LIMIT 1;

-- ---- covariates ----

-- a covariate per week (here a made-up "temperature" that follows the
-- season), the same length on every row
CREATE TABLE verde10_cov AS
SELECT week_start, flow, ARRAY[20 + 10 * sin(2 * pi() * extract(doy FROM week_start) / 365.25)]::float8[] AS cov
  FROM verde10;
INSERT INTO lstm_models
SELECT 'verde_cov', lstm_train(week_start, flow, cov, '{"epochs": 50}') FROM verde10_cov;
SELECT model_info(model)->'inputs' AS inputs, model_info(model)->'n_covariates' AS n_cov,
       (model::jsonb)->'scaling'->'covariates_min' AS cov_min,
       ((model::jsonb)->'scaling'->'covariates_min'->>0)::float8 = (SELECT min(cov[1]) FROM verde10_cov) AS cov_min_is_data
  FROM lstm_models WHERE name = 'verde_cov';
-- forecasting it needs the future covariates: one row per step
SELECT * FROM lstm_models, forecast(model, 2) WHERE name = 'verde_cov';
SELECT step, ts::date AS week, value > 0 AS positive, lo < value AND value < hi AS inside
  FROM lstm_models, forecast(model, 3, 0.9, ARRAY[[20.5], [21.0], [21.5]]) WHERE name = 'verde_cov';
SELECT count(*) FROM lstm_models, forecast(model, 3, 0.9, ARRAY[20.5, 21.0, 21.5]) WHERE name = 'verde_cov';
SELECT * FROM lstm_models, forecast(model, 3, 0.9, ARRAY[[20.5], [21.0]]) WHERE name = 'verde_cov';
SELECT * FROM lstm_models, forecast(model, 2, 0.9, ARRAY[[20.5, 1], [21.0, 1]]) WHERE name = 'verde_cov';
SELECT * FROM lstm_models, forecast(model, 2, 0.9, ARRAY[[20.5], [NULL]]::float8[]) WHERE name = 'verde_cov';
SELECT * FROM lstm_models, forecast(model, 2, 0.9, ARRAY[[20.5], [21.0]]) WHERE name = 'verde';
-- predict needs them too, on every row
SELECT count(p) AS predicted
  FROM (SELECT predict(model, week_start, flow, cov) OVER (ORDER BY week_start) AS p
          FROM verde10_cov, lstm_models WHERE name = 'verde_cov') s;
SELECT predict(model, week_start, flow) OVER (ORDER BY week_start) FROM verde10_cov, lstm_models WHERE name = 'verde_cov' LIMIT 1;
SELECT predict(model, week_start, flow, cov || 1.0) OVER (ORDER BY week_start) FROM verde10_cov, lstm_models WHERE name = 'verde_cov' LIMIT 1;
-- bad covariates in training
SELECT lstm_train(t, v, c, '{"epochs": 1}') FROM (VALUES (1::bigint, 1.0::float8, ARRAY[1.0]::float8[]), (2, 2.0, ARRAY[1.0, 2.0]), (3, 1.0, ARRAY[1.0])) x(t, v, c);
SELECT lstm_train(t, v, c, '{"epochs": 1}') FROM (VALUES (1::bigint, 1.0::float8, ARRAY[1.0]::float8[]), (2, 2.0, NULL), (3, 1.0, ARRAY[1.0])) x(t, v, c);
SELECT lstm_train(t, v, c, '{"epochs": 1}') FROM (VALUES (1::bigint, 1.0::float8, ARRAY[1.0]::float8[]), (2, 2.0, ARRAY[NULL::float8]), (3, 1.0, ARRAY[1.0])) x(t, v, c);
SELECT lstm_train(t, v, c, '{"epochs": 1}') FROM (VALUES (1::bigint, 1.0::float8, ARRAY['NaN']::float8[]), (2, 2.0, ARRAY[1.0]), (3, 1.0, ARRAY[1.0])) x(t, v, c);
SELECT lstm_train(t, v, c, '{"epochs": 1}') FROM (VALUES (1::bigint, 1.0::float8, ARRAY[[1.0]]::float8[]), (2, 2.0, ARRAY[[1.0]]), (3, 1.0, ARRAY[[1.0]])) x(t, v, c);
-- gaps are filled in covariates as in values; out-of-order rows keep their covariates
SELECT (model::jsonb)->'scaling'->'covariates_max' AS cov_max, model_info(model)->'n_filled' AS filled
  FROM (SELECT lstm_train(t, v, c, '{"epochs": 2, "fill": "linear"}') AS model
          FROM (VALUES (4::bigint, 4.0::float8, ARRAY[40.0]::float8[]), (1, 1.0, ARRAY[10.0]),
                       (2, 2.0, ARRAY[20.0]), (6, 6.0, ARRAY[60.0])) x(t, v, c)) m;

-- ---- parallel aggregation: states with covariates cross process boundaries ----

CREATE TABLE many_lstm AS
SELECT s AS series, t::bigint AS t, sin(t / 5.0 + s) + 2 AS value, ARRAY[cos(t / 5.0), s]::float8[] AS cov
  FROM generate_series(1, 4) s, generate_series(1, 3000) t;
ANALYZE many_lstm;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT lstm_train(t, value, cov, '{"epochs": 2}') FROM many_lstm WHERE series = 1;
SELECT workers_launched('SELECT lstm_train(t, value, cov, ''{"epochs": 2}'') FROM many_lstm WHERE series = 1');
SELECT md5(string_agg(no_fit_time(m)::text, ',' ORDER BY series)) AS models
  FROM (SELECT series, lstm_train(t, value, cov, '{"epochs": 2, "hidden": 4}') AS m FROM many_lstm GROUP BY series) x \gset par_
SET max_parallel_workers_per_gather = 0;
SELECT md5(string_agg(no_fit_time(m)::text, ',' ORDER BY series)) AS models
  FROM (SELECT series, lstm_train(t, value, cov, '{"epochs": 2, "hidden": 4}') AS m FROM many_lstm GROUP BY series) x \gset ser_
SELECT :'par_models' = :'ser_models' AS same_models;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;

-- ---- options ----

-- validation, patience (early stopping keeps the best weights) and progress
-- notices.  The notices' losses and epochs are a change detector, with no
-- reference: this training's (seed 42, the float32 core), which change when
-- its arithmetic or draws change.  What has a reference is checked: the
-- training part (367 weeks are 366 steps; 0.2 of them, rounded, 73, are
-- held out; n_train counts the first week too: 366 - 73 + 1), and the stop
-- exactly "patience" epochs after the best, before the last epoch.
\set VERBOSITY terse
SELECT (i->>'n_train')::int = 366 - round(0.2 * 366) + 1 AS n_train_ok,
       (i->>'epochs_run')::int = (i->>'best_epoch')::int + 5 AS stopped_at_patience,
       (i->>'epochs_run')::int < 1000 AS stopped_early,
       (i->>'val_loss')::float8 > 0 AS has_val_loss
  FROM (SELECT model_info(lstm_train(week_start, flow, '{"validation": 0.2, "patience": 5, "epochs": 1000, "progress": 10, "lr": 0.05}')) AS i
          FROM verde10 WHERE period = 'train') m;
\set VERBOSITY default
-- other shapes: no conv, two layers, no dropout, no moving average, no
-- residual; each network's parameters as PyTorch counts them: Conv1d(n_in,
-- c, k) n_in*c*k + c (none without conv), then LSTM layers of 4H(x + H + 2)
-- (two bias vectors; x the layer's input: c, n_in without conv, H above
-- the first), Linear(H, 1) H + 1; n_in is 3 (lag, sin, cos), 1 without a
-- season
SELECT o, model_info(model)->'n_params' AS n_params,
       (model_info(model)->>'n_params')::int
       = CASE WHEN k > 0 THEN n_in * c * k + c ELSE 0 END
         + 4 * h * ((CASE WHEN k > 0 THEN c ELSE n_in END) + h + 2) + (l - 1) * 4 * h * (h + h + 2)
         + h + 1 AS pytorch_count,
       model_info(model)->'inputs' AS inputs
  FROM (VALUES ('{"conv_kernel": 0, "epochs": 3}'::jsonb), ('{"layers": 2, "hidden": 8, "epochs": 3}'),
               ('{"dropout": 0, "ema": 0, "residual": false, "epochs": 3}'), ('{"season_length": 0, "epochs": 3}'),
               ('{"conv_channels": 8, "conv_kernel": 5, "epochs": 3}')) x(o),
       LATERAL (SELECT coalesce((o->>'conv_kernel')::int, 3) AS k, coalesce((o->>'conv_channels')::int, 4) AS c,
                       coalesce((o->>'hidden')::int, 40) AS h, coalesce((o->>'layers')::int, 1) AS l,
                       CASE WHEN o->>'season_length' = '0' THEN 1 ELSE 3 END AS n_in) d,
       LATERAL (SELECT lstm_train(week_start, flow, o) AS model FROM verde10) m ORDER BY 1::text;
-- transform: log only when every value is positive, unless asked
SELECT model_info(lstm_train(t, v, '{"epochs": 1}'))->'transform' AS transform
  FROM (SELECT t::bigint, sin(t) AS v FROM generate_series(1, 20) t) x;
SELECT lstm_train(t, v, '{"epochs": 1, "transform": "log"}') FROM (SELECT t::bigint, sin(t) AS v FROM generate_series(1, 20) t) x;
-- seasons: a year of weeks, a day of hours, 12 months, none for an index unless given
SELECT (model_info(lstm_train(ts, v, '{"epochs": 1}'))->'hyperparameters'->>'season_length')::numeric(10, 4) AS hourly
  FROM (SELECT '2020-01-01 00:00+00'::timestamptz + t * interval '1 hour' AS ts, t::float8 + 1 AS v FROM generate_series(0, 50) t) x;
SELECT (model_info(lstm_train(ts, v, '{"epochs": 1}'))->'hyperparameters'->>'season_length')::numeric(10, 4) AS monthly
  FROM (SELECT ('2000-01-31'::date + t * interval '1 month')::date AS ts, t::float8 + 1 AS v FROM generate_series(0, 50) t) x;
SELECT (model_info(lstm_train(ts, v, '{"epochs": 1}'))->'hyperparameters'->>'season_length')::numeric(10, 4) AS daily
  FROM (SELECT '2000-01-01'::date + t AS ts, t::float8 + 1 AS v FROM generate_series(0, 50) t) x;
SELECT model_info(lstm_train(t, v, '{"epochs": 1}'))->'hyperparameters'->'season_length' AS indexed,
       model_info(lstm_train(t, v, '{"epochs": 1, "season_length": 7}'))->'hyperparameters'->'season_length' AS given
  FROM (SELECT t::bigint, t::float8 AS v FROM generate_series(1, 50) t) x;
-- bad options
SELECT lstm_train(week_start, flow, '{"hiden": 8}') FROM verde10;
SELECT lstm_train(week_start, flow, '{"hidden": 0}') FROM verde10;
SELECT lstm_train(week_start, flow, '{"hidden": 5000}') FROM verde10;
SELECT lstm_train(week_start, flow, '{"layers": 9}') FROM verde10;
SELECT lstm_train(week_start, flow, '{"dropout": 1}') FROM verde10;
SELECT lstm_train(week_start, flow, '{"lr": 0}') FROM verde10;
SELECT lstm_train(week_start, flow, '{"epochs": 0}') FROM verde10;
SELECT lstm_train(week_start, flow, '{"epochs": 2.5}') FROM verde10;
SELECT lstm_train(week_start, flow, '{"conv_kernel": 65}') FROM verde10;
SELECT lstm_train(week_start, flow, '{"seed": -1}') FROM verde10;
SELECT lstm_train(week_start, flow, '{"validation": 0.95}') FROM verde10;
SELECT lstm_train(week_start, flow, '{"patience": 10}') FROM verde10;
SELECT lstm_train(week_start, flow, '{"season_length": 1.5}') FROM verde10;
SELECT lstm_train(week_start, flow, '{"ema": 1}') FROM verde10;
SELECT lstm_train(week_start, flow, '{"residual": "yes"}') FROM verde10;
SELECT lstm_train(week_start, flow, '{"transform": "sqrt"}') FROM verde10;
SELECT lstm_train(week_start, flow, '"hidden"') FROM verde10;
-- bad data
SELECT lstm_train(t, v) FROM (VALUES (1::bigint, 1.0::float8), (2, 2.0)) x(t, v);
SELECT lstm_train(t, v, '{"validation": 0.1}') FROM (VALUES (1::bigint, 1.0::float8), (2, 2.0), (3, 1.5), (4, 2.5)) x(t, v);
SELECT lstm_train(t, v) FROM (VALUES (1::bigint, 1.0::float8), (2, NULL), (3, 1.0)) x(t, v);
-- an empty input gives NULL
SELECT lstm_train(t, v) IS NULL AS is_null FROM (SELECT 1::bigint, 1.0::float8 WHERE false) x(t, v);

-- ---- hostile stored values: an error, never a crash ----

-- a small model, so every truncation and every byte can be tried
INSERT INTO lstm_models
SELECT 'tiny', lstm_train(t, value, '{"hidden": 2, "conv_kernel": 2, "conv_channels": 2, "epochs": 3, "season_length": 12}')
  FROM fx_series WHERE name = 'lh';
SELECT length(decode(model::text, 'base64')) AS bytes FROM lstm_models WHERE name = 'tiny';
CREATE FUNCTION try_lstm_model(b bytea) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM * FROM forecast(encode(b, 'base64')::tsmodel, 3);
    PERFORM predict(encode(b, 'base64')::tsmodel, t, value) OVER (ORDER BY t) FROM fx_series WHERE name = 'lh';
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
-- every truncation is rejected
SELECT try_lstm_model(substr(b, 1, len)) AS outcome, count(*)
  FROM (SELECT decode(model::text, 'base64') AS b FROM lstm_models WHERE name = 'tiny') m,
       generate_series(0, length(b) - 1) AS len
 GROUP BY 1 ORDER BY 1;
-- every byte set to 0xff, then to 0x7f: an error or a valid model
SELECT try_lstm_model(set_byte(b, i, v)) IN ('ok', '22P02', '22003') AS safe, count(*)
  FROM (SELECT decode(model::text, 'base64') AS b FROM lstm_models WHERE name = 'tiny') m,
       generate_series(0, length(b) - 1) AS i, (VALUES (255), (127)) x(v)
 GROUP BY 1;
-- the fields that size allocations, made absurd: hidden 4096 and 8 layers
-- (gigabytes of weights) in a value of a few hundred bytes
SELECT try_lstm_model(overlay(overlay(b PLACING '\x00100000'::bytea FROM 82 FOR 4) PLACING '\x08000000'::bytea FROM 86 FOR 4)) AS huge_claim,
       try_lstm_model(overlay(b PLACING '\xffffffff'::bytea FROM 90 FOR 4)) AS covariates,
       try_lstm_model(overlay(b PLACING '\x000000000000f87f'::bytea FROM 226 FOR 8)) AS nan_weight,
       try_lstm_model(b || '\x00'::bytea) AS trailing
  FROM (SELECT decode(model::text, 'base64') AS b FROM lstm_models WHERE name = 'tiny') m;
SELECT encode(overlay(decode(model::text, 'base64') PLACING '\x00100000'::bytea FROM 82 FOR 4), 'base64')::tsmodel
  FROM lstm_models WHERE name = 'tiny';

-- ---- cancellation: statement_timeout stops a long training between
-- epochs, and nothing is left behind ----

CREATE TABLE kept (model tsmodel);
SET statement_timeout = '200ms';
\set VERBOSITY sqlstate
INSERT INTO kept SELECT lstm_train(week_start, flow, '{"epochs": 100000}') FROM verde10;
\set VERBOSITY default
RESET statement_timeout;
SELECT (SELECT count(*) FROM kept) AS rows_kept,
       (SELECT count(*) FROM pg_backend_memory_contexts WHERE name LIKE 'lstm_train%') AS contexts_left;

-- ar_exog: AR models with exogenous terms, the season's harmonics and the
-- user's covariates: coefficients, sigma2, AIC, order selection, forecasts
-- with their intervals and one-step predictions against statsmodels'
-- AutoReg(exog=...) (test/fixtures/make_ar_exog_fixtures.py), then the
-- stored format, model_update, backtests and the errors
\i test/fixtures/regress.sql

-- a case's covariates of a week, in the case's order ('clim|trend')
CREATE OR REPLACE FUNCTION cov_of(clim float8, trend float8, list text) RETURNS float8[] LANGUAGE sql IMMUTABLE AS $$
    SELECT array_agg(CASE v WHEN 'clim' THEN clim ELSE trend END ORDER BY o)
      FROM unnest(string_to_array(list, '|')) WITH ORDINALITY u(v, o) $$;

-- every case fitted as the script did, on the log scale
CREATE TEMP TABLE exog_fits (name text PRIMARY KEY, model tsmodel NOT NULL);
INSERT INTO exog_fits
SELECT c.name, (SELECT ar_fit(w.week_start, w.flow, c.options || '{"transform": "log"}')
                  FROM exog_weeks w WHERE w.t <= c.train_weeks)
  FROM exog_cases c WHERE c.ts = 'date' AND c.covariates IS NULL;
INSERT INTO exog_fits
SELECT c.name, (SELECT ar_fit(w.week_start, w.flow, cov_of(w.clim, w.trend, c.covariates), c.options || '{"transform": "log"}')
                  FROM exog_weeks w WHERE w.t <= c.train_weeks)
  FROM exog_cases c WHERE c.ts = 'date' AND c.covariates IS NOT NULL;
INSERT INTO exog_fits
SELECT c.name, (SELECT ar_fit(w.t, w.flow, c.options || '{"transform": "log"}')
                  FROM exog_weeks w WHERE w.t <= c.train_weeks)
  FROM exog_cases c WHERE c.ts = 'bigint';
-- the weeks at UTC midnight: a fixed step of 7 days, the dates' phase
INSERT INTO exog_fits
SELECT c.name, (SELECT ar_fit(w.week_start::timestamp AT TIME ZONE 'UTC', w.flow, cov_of(w.clim, w.trend, c.covariates),
                              c.options || '{"transform": "log"}')
                  FROM exog_weeks w WHERE w.t <= c.train_weeks)
  FROM exog_cases c WHERE c.ts = 'timestamptz';
-- "update": fitted on all but the last 10 weeks, moved over them
UPDATE exog_fits f
   SET model = (SELECT model_update(f.model, w.week_start, w.flow, cov_of(w.clim, w.trend, c.covariates))
                  FROM exog_weeks w WHERE w.t > c.train_weeks AND w.flow IS NOT NULL)
  FROM exog_cases c WHERE c.name = f.name AND c.name = 'update';
SELECT count(*) FROM exog_fits;

-- forecast 16 weeks, the future covariates one row a week
CREATE OR REPLACE FUNCTION exog_forecast(case_name text, m tsmodel)
RETURNS TABLE (step int, value float8, lo float8, hi float8) LANGUAGE plpgsql AS $$
DECLARE
    c record;
BEGIN
    SELECT * INTO c FROM exog_cases WHERE name = case_name;
    IF c.covariates IS NULL THEN
        RETURN QUERY SELECT f.step, f.value, f.lo, f.hi FROM forecast(m, 16) f;
    ELSE
        RETURN QUERY SELECT f.step, f.value, f.lo, f.hi
          FROM forecast(m, 16, 0.95, (SELECT array_agg(cov_of(w.clim, w.trend, c.covariates) ORDER BY w.t)
                                        FROM exog_weeks w WHERE w.flow IS NULL)) f;
    END IF;
END $$;

-- one-step predictions of every week, with the case's timestamps and covariates
CREATE OR REPLACE FUNCTION exog_predict(case_name text, m tsmodel)
RETURNS TABLE (t bigint, pred float8) LANGUAGE plpgsql AS $$
DECLARE
    c record;
BEGIN
    SELECT * INTO c FROM exog_cases WHERE name = case_name;
    IF c.ts = 'bigint' THEN
        RETURN QUERY SELECT w.t, predict(m, w.t, w.flow) OVER (ORDER BY w.t)
          FROM exog_weeks w WHERE w.flow IS NOT NULL;
    ELSIF c.ts = 'timestamptz' THEN
        RETURN QUERY SELECT w.t, predict(m, w.week_start::timestamp AT TIME ZONE 'UTC', w.flow,
                                         cov_of(w.clim, w.trend, c.covariates)) OVER (ORDER BY w.t)
          FROM exog_weeks w WHERE w.flow IS NOT NULL;
    ELSIF c.covariates IS NULL THEN
        RETURN QUERY SELECT w.t, predict(m, w.week_start, w.flow) OVER (ORDER BY w.t)
          FROM exog_weeks w WHERE w.flow IS NOT NULL;
    ELSE
        RETURN QUERY SELECT w.t, predict(m, w.week_start, w.flow, cov_of(w.clim, w.trend, c.covariates)) OVER (ORDER BY w.t)
          FROM exog_weeks w WHERE w.flow IS NOT NULL;
    END IF;
END $$;

CREATE TEMP VIEW ref1 AS SELECT name, key, idx, value FROM exog_ref;

-- one row per case: every check must be true at 1e-8 relative (forecasts,
-- intervals and predictions exponentiated, as the log transform gives them)
SELECT f.name, (model_info(f.model)->>'order')::int AS p,
       jsonb_array_length(model_info(f.model)->'exog') AS m,
       (model_info(f.model)->>'order')::int = (SELECT value FROM ref1 r WHERE r.name = f.name AND key = 'p')::int AS order_ok,
       (model_info(f.model)->>'nobs')::int = (SELECT value FROM ref1 r WHERE r.name = f.name AND key = 'nobs')::int AS nobs_ok,
       close_to((model_info(f.model)->>'constant')::float8,
                (SELECT value FROM ref1 r WHERE r.name = f.name AND key = 'c')) AS c_ok,
       (SELECT bool_and(close_to((model_info(f.model)->'coefficients'->>r.idx)::float8, r.value))
          FROM ref1 r WHERE r.name = f.name AND key = 'phi') AS phi_ok,
       (SELECT bool_and(close_to((model_info(f.model)->'exog_coefficients'->>r.idx)::float8, r.value))
               AND count(*) = jsonb_array_length(model_info(f.model)->'exog_coefficients')
          FROM ref1 r WHERE r.name = f.name AND key = 'beta') AS beta_ok,
       close_to((model_info(f.model)->>'sigma2')::float8,
                (SELECT value FROM ref1 r WHERE r.name = f.name AND key = 'sigma2')) AS sigma2_ok,
       close_to((model_info(f.model)->>'aic')::float8,
                (SELECT value FROM ref1 r WHERE r.name = f.name AND key = 'aic')) AS aic_ok,
       (SELECT bool_and(close_to(fc.value, exp(m.value)))
               AND bool_and(close_to(fc.lo, exp(m.value - 1.959963984540054 * s.value)))
               AND bool_and(close_to(fc.hi, exp(m.value + 1.959963984540054 * s.value))) AND count(*) = 16
          FROM exog_forecast(f.name, f.model) fc
          JOIN ref1 m ON m.name = f.name AND m.key = 'mean' AND m.idx = fc.step - 1
          JOIN ref1 s ON s.name = f.name AND s.key = 'se' AND s.idx = fc.step - 1) AS forecast_ok,
       (SELECT bool_and(close_to(pr.pred, exp(r.value))) AND count(*) = 100
          FROM exog_predict(f.name, f.model) pr
          JOIN ref1 r ON r.name = f.name AND r.key = 'fitted' AND r.idx = pr.t - 1) AS predict_ok
  FROM exog_fits f JOIN exog_cases c USING (name)
 ORDER BY 1;

-- the largest relative difference from statsmodels, over every number above
SELECT max(d) < 1e-8 AS within_1e8, max(d) < 1e-10 AS within_1e10 FROM (
SELECT abs((model_info(f.model)->'exog_coefficients'->>r.idx)::float8 - r.value) / greatest(1, abs(r.value)) AS d
  FROM exog_fits f JOIN ref1 r ON r.name = f.name AND r.key = 'beta'
UNION ALL
SELECT abs((model_info(f.model)->'coefficients'->>r.idx)::float8 - r.value) / greatest(1, abs(r.value))
  FROM exog_fits f JOIN ref1 r ON r.name = f.name AND r.key = 'phi'
UNION ALL
SELECT abs(ln(fc.value) - r.value) / greatest(1, abs(r.value))
  FROM exog_fits f JOIN exog_cases c USING (name), exog_forecast(f.name, f.model) fc
  JOIN ref1 r ON r.key = 'mean' AND r.idx = fc.step - 1
 WHERE r.name = f.name) x;

-- a model with harmonics and covariates, readable
SELECT key, CASE WHEN key IN ('constant', 'sigma2', 'aic', 'season_length') THEN round(value::text::numeric, 6)::text
                 WHEN key IN ('coefficients', 'exog_coefficients') THEN
                      (SELECT jsonb_agg(round(v::text::numeric, 6)) FROM jsonb_array_elements(value) v)::text
                 ELSE value::text END AS value
  FROM exog_fits f, jsonb_each(model_info(f.model))
 WHERE f.name = 'harm3_clim_trend_aic'
   AND key IN ('kind', 'method', 'order', 'order_selection', 'max_order', 'intercept', 'constant', 'coefficients',
               'harmonics', 'season_length', 'n_covariates', 'exog', 'exog_coefficients', 'sigma2', 'aic', 'nobs',
               'transform', 'frequency')
 ORDER BY key;
-- what the full view adds: the season's phase at the first week
SELECT round(((f.model::jsonb)->>'season_phase')::numeric, 12) AS season_phase,
       round(c.phase::numeric, 12) AS script_phase
  FROM exog_fits f JOIN exog_cases c USING (name) WHERE f.name = 'harm3_p2';

-- ---- the stored format ----

-- a model without exogenous terms is the bytes it was: "harmonics": 0 is
-- no option at all, and the method byte (offset 69) is 0; with them it
-- carries the flag 0x80 (0.5.0's reader refuses that method)
SELECT (SELECT ar_fit(week_start, flow, '{"transform": "log", "harmonics": 0}') FROM verde)::jsonb
       - 'fit_seconds' - 'fitted_at'
     = (SELECT ar_fit(week_start, flow, '{"transform": "log"}') FROM verde)::jsonb
       - 'fit_seconds' - 'fitted_at' AS same_model,
       (SELECT get_byte(tsmodel_send(ar_fit(week_start, flow, '{"order": 2}')), 69) FROM verde) AS plain_method,
       (SELECT get_byte(tsmodel_send(ar_fit(week_start, flow, '{"order": 2, "season_length": 52}')), 69) FROM verde)
       AS season_length_alone,
       get_byte(tsmodel_send(model), 69) AS exog_method,
       length(tsmodel_send(model)) AS bytes
  FROM exog_fits WHERE name = 'harm3_p2';
-- the models read back as themselves, from text and from their bytes
SELECT bool_and(model::text::tsmodel::text = model::text) AS text_round_trip,
       bool_and(encode(tsmodel_send(model), 'base64')::tsmodel::text = model::text) AS bytes_round_trip
  FROM exog_fits;

-- a corrupt exogenous section is an error (22P02 from text), never a misread
CREATE OR REPLACE FUNCTION exog_try_model(b bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d text;
BEGIN
    PERFORM encode(b, 'base64')::tsmodel;
    RETURN 'accepted';
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ' ' || SQLERRM || ': ' || d;
END $$;
WITH b AS (SELECT tsmodel_send(model) AS b FROM exog_fits WHERE name = 'harm3_clim_trend_aic')
SELECT exog_try_model(b) AS as_is,
       exog_try_model(set_byte(b, 69, 129)) AS yule_walker_flagged,
       exog_try_model(set_byte(b, 69, 0)) AS flag_cleared,
       exog_try_model(overlay(b PLACING '\x65000000'::bytea FROM 120 FOR 4)) AS harmonics_101,
       exog_try_model(overlay(b PLACING '\x00000000'::bytea FROM 120 FOR 4)) AS harmonics_0,
       exog_try_model(overlay(b PLACING '\x1b000000'::bytea FROM 120 FOR 4)) AS harmonics_27,
       exog_try_model(overlay(b PLACING '\x03000000'::bytea FROM 124 FOR 4)) AS covariates_3,
       exog_try_model(overlay(b PLACING '\x000000000000f03f'::bytea FROM 136 FOR 8)) AS phase_1
  FROM b;

-- ---- the state: model_update ----

-- a harmonics-only model takes model_update(model, ts, value): forecasting
-- from the moved state is forecasting the model fitted on the same weeks
-- from the step after them, whose season is the step's
WITH fit AS (SELECT ar_fit(week_start, flow, '{"transform": "log", "harmonics": 3, "order": 2}') AS m
               FROM verde WHERE week_start < '2020-06-01'),
     upd AS (SELECT model_update(fit.m, v.week_start, v.flow) AS m FROM fit, verde v
              WHERE v.week_start >= '2020-06-01' GROUP BY fit.m::text),
     whole AS (SELECT ar_fit(week_start, flow, '{"transform": "log", "harmonics": 3, "order": 2}') AS m FROM verde)
SELECT (SELECT min(ts)::date FROM forecast(upd.m, 3)) AS first_step,
       -- the same coefficients, applied from the last weeks: the recursion by hand
       (SELECT bool_and(close_to(u.value, exp(
           (model_info(upd.m)->>'constant')::float8
           + (model_info(upd.m)->'coefficients'->>0)::float8 * ln((SELECT flow FROM verde ORDER BY week_start DESC LIMIT 1))
           + (model_info(upd.m)->'coefficients'->>1)::float8 * ln((SELECT flow FROM verde ORDER BY week_start DESC OFFSET 1 LIMIT 1))
           + (SELECT sum((model_info(upd.m)->'exog_coefficients'->>(j - 1))::float8
                         * CASE WHEN j % 2 = 1 THEN sin(2 * pi() * ((j + 1) / 2) * s) ELSE cos(2 * pi() * ((j + 1) / 2) * s) END)
                FROM generate_series(1, 6) j,
                     LATERAL (SELECT ((model_info(upd.m)->>'n')::int + (model_info(upd.m)->>'updated_steps')::int)
                                     / 52.17857142857143
                                     + ((upd.m::jsonb)->>'season_phase')::float8 AS s0) p,
                     LATERAL (SELECT s0 - floor(s0) AS s) q)), 1e-9))
          FROM forecast(upd.m, 1) u) AS first_step_by_hand,
       (SELECT count(*) FROM forecast(upd.m, 3) u JOIN forecast(whole.m, 3) w USING (step)
         WHERE u.ts = w.ts) AS same_weeks_as_the_refit
  FROM upd, whole;

-- a model with covariates takes them in model_update, as in predict (the
-- "update" case above is statsmodels' append)
SELECT model_info(model_update(a.m, w.week_start, w.flow, ARRAY[w.clim]))->>'updated_steps' AS updated
  FROM (SELECT ar_fit(week_start, flow, ARRAY[clim], '{"order": 1}') AS m
          FROM exog_weeks WHERE week_start < '2020-07-01') a, exog_weeks w
 WHERE w.week_start >= '2020-07-01' AND w.flow IS NOT NULL GROUP BY a.m::text;

-- ---- backtests with harmonics ----

-- each origin fits the spec on the rows up to it (with "window", its last
-- 260 weeks), whose first week's phase is the season's there: its forecasts
-- are ar_fit's on the same rows, whichever week the window starts
SELECT b.origin::date, b.step, close_to(b.forecast, f.value, 1e-12) AS same_as_ar_fit,
       close_to(b.lo, f.lo, 1e-12) AND close_to(b.hi, f.hi, 1e-12) AS same_interval
  FROM (SELECT backtest(week_start, flow, '{"kind": "ar", "transform": "log", "harmonics": 3}',
                        '{"horizon": 2, "origins": ["2015-06-07", "2019-10-06"], "window": 260}') AS r
          FROM verde) s, unnest(s.r) b,
       LATERAL (SELECT * FROM forecast((SELECT ar_fit(week_start, flow, '{"transform": "log", "harmonics": 3}')
                                          FROM verde WHERE week_start <= b.origin::date
                                           AND week_start > b.origin::date - 260 * 7), 2)) f
 WHERE f.step = b.step
 ORDER BY 1, 2;

-- ---- input rules ----

-- input order does not matter, covariates travel with their rows
SELECT (SELECT ar_fit(week_start, flow, ARRAY[clim, trend], '{"harmonics": 2}')
          FROM (SELECT * FROM exog_weeks WHERE flow IS NOT NULL ORDER BY week_start) s)::jsonb
       - 'fit_seconds' - 'fitted_at'
     = (SELECT ar_fit(week_start, flow, ARRAY[clim, trend], '{"harmonics": 2}')
          FROM (SELECT * FROM exog_weeks WHERE flow IS NOT NULL ORDER BY md5(t::text)) s)::jsonb
       - 'fit_seconds' - 'fitted_at' AS same_model;
-- gaps are filled in covariates as in values; one model per series
SELECT k, model_info(ar_fit(week_start, flow, ARRAY[clim], '{"fill": "linear", "order": 1}'))->'n_filled' AS filled,
       jsonb_array_length(model_info(ar_fit(week_start, flow, ARRAY[clim], '{"fill": "linear", "order": 1}'))->'exog_coefficients') AS m
  FROM (SELECT t % 2 AS k, * FROM exog_weeks WHERE flow IS NOT NULL AND t NOT IN (100, 101, 102)) s
 GROUP BY k ORDER BY k;
-- empty covariate arrays on every row: no covariates
SELECT model_info(ar_fit(week_start, flow, '{}'::float8[], '{"order": 1}')) ? 'exog' AS has_exog
  FROM exog_weeks WHERE flow IS NOT NULL;
-- monthly data: 12 steps a season, up to 5 harmonics
SELECT model_info(ar_fit(m, f, '{"harmonics": 5, "order": 1}'))->'season_length' AS season_length
  FROM (SELECT date_trunc('month', week_start)::date AS m, avg(flow) AS f FROM verde GROUP BY 1) x;

-- ---- errors ----

\set VERBOSITY default
-- forecast: future covariates missing, of the wrong shape, or for a model without
SELECT * FROM exog_fits f, forecast(f.model, 2) WHERE f.name = 'clim_p1';
SELECT * FROM exog_fits f, forecast(f.model, 2, 0.9, ARRAY[[1.0], [2.0], [3.0]]) WHERE f.name = 'clim_p1';
SELECT * FROM exog_fits f, forecast(f.model, 2, 0.9, ARRAY[[1.0, 2.0], [3.0, 4.0]]) WHERE f.name = 'clim_p1';
SELECT * FROM exog_fits f, forecast(f.model, 2, 0.9, ARRAY[[1.0], [2.0]]) WHERE f.name = 'harm3_p2';
SELECT * FROM exog_fits f, forecast(f.model, 2, 0.9, ARRAY[[1.0], ['NaN']]::float8[]) WHERE f.name = 'clim_p1';
-- predict and model_update without the covariates, or with too many
SELECT predict(f.model, w.week_start, w.flow) OVER (ORDER BY w.week_start)
  FROM exog_fits f, exog_weeks w WHERE f.name = 'clim_p1';
SELECT predict(f.model, w.week_start, w.flow, ARRAY[w.clim, w.trend]) OVER (ORDER BY w.week_start)
  FROM exog_fits f, exog_weeks w WHERE f.name = 'clim_p1';
SELECT model_update(f.model, w.week_start, w.flow) FROM exog_fits f, exog_weeks w
 WHERE f.name = 'clim_p1' AND w.flow IS NOT NULL GROUP BY f.model::text;
SELECT model_update(f.model, w.week_start, w.flow, ARRAY[w.clim, w.trend]) FROM exog_fits f, exog_weeks w
 WHERE f.name = 'clim_p1' AND w.flow IS NOT NULL GROUP BY f.model::text;
-- training: covariates NULL on a row, missing on some rows, NaN
SELECT ar_fit(week_start, flow, CASE WHEN t <> 7 THEN ARRAY[clim] END, '{"order": 1}')
  FROM exog_weeks WHERE flow IS NOT NULL;
SELECT ar_fit(week_start, flow, CASE WHEN t <> 7 THEN ARRAY[clim] ELSE '{}' END, '{"order": 1}')
  FROM exog_weeks WHERE flow IS NOT NULL;
SELECT ar_fit(week_start, flow, ARRAY[CASE WHEN t = 7 THEN 'NaN' ELSE clim END], '{"order": 1}')
  FROM exog_weeks WHERE flow IS NOT NULL;
-- collinear regressors: a constant covariate beside the intercept
SELECT ar_fit(week_start, flow, ARRAY[1.0::float8], '{"order": 1}') FROM exog_weeks WHERE flow IS NOT NULL;
SELECT ar_fit(week_start, flow, ARRAY[2 * trend, trend], '{"harmonics": 1}') FROM exog_weeks WHERE flow IS NOT NULL;
-- harmonics: no season for an integer index, too many for the season, out of range
SELECT ar_fit(t, flow, '{"harmonics": 2}') FROM exog_weeks WHERE flow IS NOT NULL;
SELECT ar_fit(m, f, '{"harmonics": 6, "order": 1}')
  FROM (SELECT date_trunc('month', week_start)::date AS m, avg(flow) AS f FROM verde GROUP BY 1) x;
SELECT ar_fit(week_start, flow, '{"harmonics": 101}') FROM verde;
SELECT ar_fit(week_start, flow, '{"harmonics": 2, "season_length": 1.5}') FROM verde;
-- least squares only
SELECT ar_fit(week_start, flow, '{"harmonics": 2, "method": "yule_walker"}') FROM verde;
SELECT ar_fit(week_start, flow, ARRAY[clim], '{"method": "yule_walker"}') FROM exog_weeks WHERE flow IS NOT NULL;
-- too short for the order with the exogenous terms
SELECT ar_fit(week_start, flow, ARRAY[clim, trend], '{"harmonics": 3, "order": 5}') FROM exog_weeks WHERE t <= 18;

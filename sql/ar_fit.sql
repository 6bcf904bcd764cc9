-- ar_fit: coefficients, sigma2, AIC, order selection and forecasts against
-- statsmodels AutoReg / ar_select_order (ols) and R's ar.yw (yule_walker)
\i test/fixtures/regress.sql

CREATE TEMP TABLE cases AS
SELECT DISTINCT series, method, spec, intercept FROM ar_ref;

CREATE TEMP TABLE fits AS
SELECT c.*,
       (SELECT ar_fit(s.t, s.value,
                      jsonb_build_object('method', c.method, 'intercept', c.intercept = 1)
                      || CASE WHEN c.spec = 'auto' THEN '{}'::jsonb
                              ELSE jsonb_build_object('order', c.spec::int) END)
          FROM fx_series s WHERE s.name = c.series) AS model
  FROM cases c;

CREATE TEMP VIEW ref1 AS
SELECT series, method, spec, intercept, key, idx, value FROM ar_ref;

-- one row per case: every check must be true at 1e-8 relative
SELECT f.series, f.method, f.spec, f.intercept,
       (model_info(f.model)->>'order')::int AS p,
       (model_info(f.model)->>'order')::int = (SELECT value FROM ref1 r WHERE (r.series, r.method, r.spec, r.intercept) = (f.series, f.method, f.spec, f.intercept) AND key = 'p')::int AS order_ok,
       close_to((model_info(f.model)->>'constant')::float8,
                (SELECT value FROM ref1 r WHERE (r.series, r.method, r.spec, r.intercept) = (f.series, f.method, f.spec, f.intercept) AND key = 'c')) AS c_ok,
       (SELECT bool_and(close_to((model_info(f.model)->'coefficients'->>r.idx)::float8, r.value))
          FROM ref1 r WHERE (r.series, r.method, r.spec, r.intercept) = (f.series, f.method, f.spec, f.intercept) AND key = 'phi') AS phi_ok,
       close_to((model_info(f.model)->>'sigma2')::float8,
                (SELECT value FROM ref1 r WHERE (r.series, r.method, r.spec, r.intercept) = (f.series, f.method, f.spec, f.intercept) AND key = 'sigma2')) AS sigma2_ok,
       close_to((model_info(f.model)->>'aic')::float8,
                (SELECT value FROM ref1 r WHERE (r.series, r.method, r.spec, r.intercept) = (f.series, f.method, f.spec, f.intercept) AND key = 'aic')) AS aic_ok,
       (SELECT bool_and(close_to(fc.value, m.value))
          FROM forecast(f.model, 16) fc
          JOIN ref1 m ON (m.series, m.method, m.spec, m.intercept) = (f.series, f.method, f.spec, f.intercept)
                     AND m.key = 'mean' AND m.idx = fc.step - 1) AS mean_ok,
       -- intervals: mean -/+ qnorm(0.975) se, se from the reference
       (SELECT bool_and(close_to(fc.lo, m.value - 1.959963984540054 * s.value)
                        AND close_to(fc.hi, m.value + 1.959963984540054 * s.value))
          FROM forecast(f.model, 16) fc
          JOIN ref1 m ON (m.series, m.method, m.spec, m.intercept) = (f.series, f.method, f.spec, f.intercept)
                     AND m.key = 'mean' AND m.idx = fc.step - 1
          JOIN ref1 s ON (s.series, s.method, s.spec, s.intercept) = (f.series, f.method, f.spec, f.intercept)
                     AND s.key = 'se' AND s.idx = fc.step - 1) AS interval_ok
  FROM fits f
 ORDER BY 1, 2, 3, 4;

-- the Verde log-flow model chosen by AIC, readable
SELECT key, CASE WHEN key IN ('constant', 'sigma2', 'aic') THEN round(value::text::numeric, 6)::text
                 ELSE value::text END AS value
  FROM fits f, jsonb_each(model_info(f.model))
 WHERE f.series = 'verde_log' AND f.method = 'ols' AND f.spec = 'auto'
   AND key IN ('kind', 'method', 'order', 'order_selection', 'max_order', 'intercept',
               'constant', 'sigma2', 'aic', 'nobs', 'n', 'first_ts', 'last_ts', 'frequency')
 ORDER BY key;

-- input order does not matter: shuffled input gives the same model, bit for bit
SELECT (SELECT ar_fit(t, value) FROM (SELECT * FROM fx_series WHERE name = 'sunspot' ORDER BY t) s)::jsonb
       - 'fit_seconds' - 'fitted_at'
     = (SELECT ar_fit(t, value) FROM (SELECT * FROM fx_series WHERE name = 'sunspot' ORDER BY md5(t::text)) s)::jsonb
       - 'fit_seconds' - 'fitted_at' AS same_model;

-- one model per series with GROUP BY
SELECT name, model_info(ar_fit(t, value, '{"order": 2}'))->>'order' AS p,
       model_info(ar_fit(t, value, '{"order": 2}'))->>'n' AS n
  FROM fx_series GROUP BY name ORDER BY name;

-- max_order bounds the AIC search
SELECT model_info(ar_fit(t, value, '{"max_order": 3}'))->>'order' AS p
  FROM fx_series WHERE name = 'sunspot';

-- no intercept and the log transform are recorded
SELECT model_info(ar_fit(week_start, flow, '{"transform": "log", "intercept": false, "order": 1}'))
       - 'fit_seconds' - 'fitted_at' - 'coefficients' - 'sigma2' - 'aic' - 'constant' - 'version'
  FROM verde;

-- an empty input gives NULL, as avg() does
SELECT ar_fit(t, value) IS NULL AS is_null FROM fx_series WHERE false;

-- _job_fit(ts, value [, covariates], options, kind): a training job's step
-- for one series, which a job over a Citus table distributed by its key
-- runs in every shard's task (src/job_citus.c; test/t/014_citus.pl runs it
-- on Citus): the kind's fit, then the job's metrics of the model and the
-- rows read.  Here on one node, against ar_fit and lstm_train.
SET search_path = public, tsforecast;
CREATE TEMP TABLE jf AS
SELECT g % 2 AS k, g AS t, sin(g / 7.0) + 0.01 * (g % 13) + 2 AS v,
       ARRAY[cos(g / 5.0)] AS c
  FROM generate_series(1::bigint, 300) g;
INSERT INTO jf VALUES (0, 301, NULL, ARRAY[0.5]);

-- AR (kind 1): ar_fit's model, bit for bit but the fit time; the rows read
-- count the NULL value (filled); the metrics of a job
SELECT k, (r).model::jsonb - 'fit_seconds' - 'fitted_at' = m::jsonb - 'fit_seconds' - 'fitted_at' AS same_model,
       (r).n_rows, (r).metrics - 'r2' - 'rmse' - 'mae' AS metrics,
       round(((r).metrics->>'rmse')::numeric, 6) AS rmse
  FROM (SELECT k, _job_fit(t, v, '{"order": 2, "fill": "linear"}', 1) r,
               ar_fit(t, v, '{"order": 2, "fill": "linear"}') m
          FROM jf GROUP BY k) x
 ORDER BY k;

-- with covariates
SELECT k, (r).model::jsonb - 'fit_seconds' - 'fitted_at' = m::jsonb - 'fit_seconds' - 'fitted_at' AS same_model,
       (r).model::jsonb->'n_covariates' AS n_cov
  FROM (SELECT k, _job_fit(t, v, c, '{"order": 2}', 1) r, ar_fit(t, v, c, '{"order": 2}') m
          FROM jf WHERE v IS NOT NULL GROUP BY k) x
 ORDER BY k;

-- LSTM (kind 2): lstm_train's model on the CPU, its losses among the metrics
SET tsforecast.device = 'cpu';
SELECT k, (r).model::jsonb - 'fit_seconds' - 'fitted_at' = m::jsonb - 'fit_seconds' - 'fitted_at' AS same_model,
       (r).n_rows, (SELECT array_agg(key ORDER BY key) FROM jsonb_object_keys((r).metrics) key) AS metric_keys
  FROM (SELECT k, _job_fit(t, v, '{"epochs": 3, "hidden": 4}', 2) r,
               lstm_train(t, v, '{"epochs": 3, "hidden": 4}') m
          FROM jf WHERE v IS NOT NULL GROUP BY k) x
 ORDER BY k;

-- the kind must be a known constant
SELECT _job_fit(t, v, '{}', 7) FROM jf WHERE v IS NOT NULL;
SELECT _job_fit(t, v, '{}', NULL) FROM jf WHERE v IS NOT NULL;
SELECT _job_fit(t, v, '{}', k::int + 1) FROM jf WHERE v IS NOT NULL;
-- the options are the kind's
SELECT _job_fit(t, v, '{"epochs": 3}', 1) FROM jf WHERE v IS NOT NULL;

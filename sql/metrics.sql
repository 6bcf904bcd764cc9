-- accuracy metrics: hand-checkable values, NULL handling, edge cases
\i test/fixtures/regress.sql

CREATE TEMP TABLE pairs (a float8, p float8);
INSERT INTO pairs VALUES (1, 2), (2, 2), (3, 5), (4, 3), (NULL, 1), (5, NULL);
-- errors -1, 0, -2, 1: SSE 6, SST 5 (mean 2.5), so r2 = 1 - 6/5 = -0.2
SELECT r2(a, p), nse(a, p), rmse(a, p) = sqrt(1.5) AS rmse_ok, mae(a, p),
       round(mape(a, p)::numeric, 6) AS mape, round(smape(a, p)::numeric, 6) AS smape,
       round(kge(a, p)::numeric, 6) AS kge
  FROM pairs;
-- kge by its definition: r = 0.7071..., alpha = sqrt(4.75/5), beta = 3/2.5
SELECT round((1 - sqrt((corr(a, p) - 1) ^ 2 + (stddev_pop(p) / stddev_pop(a) - 1) ^ 2
                      + (avg(p) / avg(a) - 1) ^ 2))::numeric, 6) AS kge_by_hand
  FROM pairs WHERE a IS NOT NULL AND p IS NOT NULL;
-- a perfect prediction
SELECT r2(x, x), rmse(x, x), kge(x, x) FROM generate_series(1, 10) x;
-- no rows, one row, constant actuals: NULL where the metric is undefined
SELECT r2(a, p), rmse(a, p) FROM pairs WHERE false;
SELECT r2(a, p), rmse(a, p), mae(a, p) FROM pairs WHERE a = 1;
SELECT mape(0, 1), smape(0, 0);
-- NaN is refused
SELECT rmse('NaN'::float8, 1);

-- parallel aggregation: a Partial Aggregate plan, and the same models as serial
\i test/fixtures/regress.sql

CREATE TABLE many (series int, t bigint, value float8);
INSERT INTO many
SELECT s, t, sin(t / (3.0 + s)) + 0.1 * ((t * 7919 + s * 104729) % 1000) / 1000.0
  FROM generate_series(1, 40) s, generate_series(1, 1000) t;
ANALYZE many;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;

EXPLAIN (COSTS OFF) SELECT ar_fit(t, value) FROM many WHERE series = 1;
EXPLAIN (COSTS OFF) SELECT series, ar_fit(t, value) FROM many GROUP BY series;
EXPLAIN (COSTS OFF) SELECT rmse(value, 0) FROM many;

-- the workers really run: every row goes through a worker, so every state
-- is serialized, sent and combined in the leader (workers_launched():
-- test/fixtures/regress.sql)
SELECT workers_launched('SELECT series, ar_fit(t, value) FROM many GROUP BY series');

-- a digest of all 40 models (less the fit time), parallel then serial
SELECT md5(string_agg((m::jsonb - 'fit_seconds' - 'fitted_at')::text, ',' ORDER BY series)) AS models,
       (SELECT ar_fit(t, value) FROM many WHERE series = 7)::jsonb - 'fit_seconds' - 'fitted_at' AS one,
       (SELECT rmse(value, 0.5) FROM many) AS rmse
  FROM (SELECT series, ar_fit(t, value) AS m FROM many GROUP BY series) x \gset par_
SET max_parallel_workers_per_gather = 0;
SELECT workers_launched('SELECT series, ar_fit(t, value) FROM many GROUP BY series');
SELECT md5(string_agg((m::jsonb - 'fit_seconds' - 'fitted_at')::text, ',' ORDER BY series)) AS models,
       (SELECT ar_fit(t, value) FROM many WHERE series = 7)::jsonb - 'fit_seconds' - 'fitted_at' AS one,
       (SELECT rmse(value, 0.5) FROM many) AS rmse
  FROM (SELECT series, ar_fit(t, value) AS m FROM many GROUP BY series) x \gset ser_

-- the same models, bit for bit, whatever the plan
SELECT :'par_models' = :'ser_models' AS same_models,
       :'par_one'::jsonb = :'ser_one'::jsonb AS same_one,
       close_to(:par_rmse, :ser_rmse, 1e-12) AS same_rmse;

-- the metrics of 0.6.0 the same way: naive_mae's partial states (the
-- points) serialized in the workers and merged in the leader, the others'
-- float8[] sums combined; the same results as serial, naive_mae's to the
-- bit (the merged points are the same, in ts order)
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT naive_mae(t, value, 7) FROM many WHERE series = 1;
EXPLAIN (COSTS OFF) SELECT winkler(value, -0.5, 0.5, 0.9) FROM many;
SELECT workers_launched('SELECT series, naive_mae(t, value, 7) FROM many GROUP BY series');
SELECT workers_launched('SELECT mase(value, 0.5, 2), coverage(value, -0.5, 0.5), winkler(value, -0.5, 0.5, 0.9) FROM many');
SELECT md5(string_agg(n::text, ',' ORDER BY series)) AS naive,
       (SELECT naive_mae(t, value) FROM many WHERE series = 3) AS naive_one,
       (SELECT mase(value, 0.5, 2) FROM many) AS mase,
       (SELECT coverage(value, -0.5, 0.5) FROM many) AS coverage,
       (SELECT winkler(value, -0.5, 0.5, 0.9) FROM many) AS winkler
  FROM (SELECT series, naive_mae(t, value, 7) AS n FROM many GROUP BY series) x \gset par_
SET max_parallel_workers_per_gather = 0;
SELECT workers_launched('SELECT series, naive_mae(t, value, 7) FROM many GROUP BY series');
SELECT md5(string_agg(n::text, ',' ORDER BY series)) AS naive,
       (SELECT naive_mae(t, value) FROM many WHERE series = 3) AS naive_one,
       (SELECT mase(value, 0.5, 2) FROM many) AS mase,
       (SELECT coverage(value, -0.5, 0.5) FROM many) AS coverage,
       (SELECT winkler(value, -0.5, 0.5, 0.9) FROM many) AS winkler
  FROM (SELECT series, naive_mae(t, value, 7) AS n FROM many GROUP BY series) x \gset ser_
SELECT :'par_naive' = :'ser_naive' AS same_naive, :par_naive_one = :ser_naive_one AS same_naive_one,
       close_to(:par_mase, :ser_mase, 1e-12) AS same_mase, :par_coverage = :ser_coverage AS same_coverage,
       close_to(:par_winkler, :ser_winkler, 1e-12) AS same_winkler;

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

-- ---------------------------------------------------------------------------
-- mase, naive_mae, coverage, winkler (0.6.0)
-- ---------------------------------------------------------------------------

-- the references of test/fixtures/metrics_ref.py (numpy, pandas) on the
-- Verde River weeks: actual the week's flow, predicted the week before's,
-- lo and hi 0.7 and 1.3 times it, train the weeks before 2015-01-01
\i test/fixtures/metrics_ref.sql
CREATE TEMP TABLE scored AS
SELECT week_start, flow AS a, p, p * 0.7 AS lo, p * 1.3 AS hi, week_start < '2015-01-01' AS train
  FROM (SELECT week_start, flow, lag(flow) OVER (ORDER BY week_start) AS p FROM verde) v;
-- every reference, to 1e-12 relative (a key on one side only shows as NULL)
WITH scale(m, scale) AS (
    SELECT 1, naive_mae(week_start, flow) FROM verde WHERE week_start < '2015-01-01'
    UNION ALL SELECT 52, naive_mae(week_start, flow, 52) FROM verde WHERE week_start < '2015-01-01'),
got(key, value) AS (
    SELECT 'naive_mae_train_' || m, scale FROM scale
    UNION ALL SELECT 'naive_mae_all_1', naive_mae(week_start, flow) FROM verde
    UNION ALL SELECT 'naive_mae_all_52', naive_mae(week_start, flow, 52) FROM verde
    UNION ALL SELECT 'mase_test_' || m, mase(a, p, scale) FROM scored, scale WHERE NOT train GROUP BY m
    UNION ALL SELECT 'coverage_' || part, coverage(a, lo, hi)
                FROM scored, LATERAL (VALUES ('all'), (CASE WHEN train THEN 'train' ELSE 'test' END)) x(part)
               GROUP BY part
    UNION ALL SELECT format('winkler_%s_%s', part, round(level * 100)), winkler(a, lo, hi, level)
                FROM scored, LATERAL (VALUES ('all'), (CASE WHEN train THEN 'train' ELSE 'test' END)) x(part),
                     (VALUES (0.8::float8), (0.95)) l(level)
               GROUP BY part, level
    UNION ALL SELECT 'rows_' || CASE WHEN train THEN 'train' ELSE 'test' END, count(*) FROM scored GROUP BY train)
SELECT coalesce(g.key, r.key) AS key, abs(g.value - r.value) <= 1e-12 * abs(r.value) AS matches
  FROM got g FULL JOIN metrics_ref r USING (key) ORDER BY 1;

-- by hand: the naive errors of 1, 2, 5, 4 (in ts order) are 1, 3, 1, the
-- seasonal ones (m = 2) 4, 2; |a - p| / scale = 1/2, 2/2
SELECT naive_mae(t, v), naive_mae(t, v, 2) AS m2, naive_mae(t, v, 3) AS m3, naive_mae(t, v, 4) AS m4
  FROM (VALUES (3::bigint, 5.0::float8), (1, 1.0), (2, 2.0), (4, 4.0)) x(t, v);
SELECT mase(a, p, 2) FROM (VALUES (1.0, 2.0), (3.0, 1.0)) v(a, p);
-- inside, at the bounds (closed) and outside: 3 of 5 covered; the scores
-- at level 0.8 (2/alpha = 10) are 1, 1, 1, 1 + 10 * 0.5, 1 + 10 * 1
SELECT coverage(a, lo, hi), winkler(a, lo, hi, 0.8)
  FROM (VALUES (1.5, 1.0, 2.0), (1.0, 1.0, 2.0), (2.0, 1.0, 2.0), (0.5, 1.0, 2.0), (3.0, 1.0, 2.0)) v(a, lo, hi);
-- a degenerate interval lo = hi: covers only its point, scores the miss
SELECT coverage(a, 1, 1), winkler(a, 1, 1, 0.5) FROM (VALUES (1.0), (2.0)) v(a);

-- naive_mae takes the rows in ts order, whatever order they come in (the
-- aggregate's ORDER BY feeds them so), the same for each type of ts
SELECT naive_mae(week_start, flow) = naive_mae(week_start, flow ORDER BY flow DESC) AS any_order,
       naive_mae(week_start, flow, 52) = naive_mae(week_start, flow, 52 ORDER BY md5(flow::text)) AS any_order_52,
       naive_mae(week_start, flow) = naive_mae(week_start::timestamptz, flow) AS timestamptz,
       naive_mae(week_start, flow) = naive_mae((week_start - '1989-01-01') / 7, flow) AS bigint
  FROM verde;
-- over consecutive rows: a gap is not filled (here 2 and 3 are one step)
SELECT naive_mae(t, v) FROM (VALUES (1::bigint, 1.0::float8), (2, 2.0), (10, 3.0)) x(t, v);

-- a row with a NULL is skipped, and its neighbours are then consecutive:
-- 1, 4, 5 give (3 + 1) / 2; where the last row's NULL season drops it, 1, 4
SELECT naive_mae(t, v) AS null_value, naive_mae(t, v, s) AS null_season
  FROM (VALUES (1::bigint, 1.0::float8, 1), (2, NULL, 1), (NULL, 9.0, 1), (3, 4.0, 1), (4, 5.0, NULL)) x(t, v, s);
SELECT mase(a, p, s) AS mase, coverage(a, p, s) AS coverage, winkler(a, p, s, l) AS winkler
  FROM (VALUES (1.0::float8, 0.0::float8, 2.0::float8, 0.5::float8), (NULL, 0, 2, 0.5), (1, NULL, 2, 0.5),
               (1, 0, NULL, 0.5), (1, 0, 2, NULL)) x(a, p, s, l);
-- no rows, or fewer than season + 1 points: NULL
SELECT naive_mae(t, v), mase(v, v, 1), coverage(v, v, v), winkler(v, v, v, 0.9)
  FROM (VALUES (1::bigint, 1.0::float8)) x(t, v) WHERE false;
SELECT naive_mae(t, v) AS one_point, naive_mae(t, NULL::float8) AS only_nulls
  FROM (VALUES (1::bigint, 1.0::float8)) x(t, v);
SELECT (SELECT naive_mae(week_start, flow, 52) FROM (SELECT * FROM verde ORDER BY week_start LIMIT 52) v) AS weeks_52,
       (SELECT naive_mae(week_start, flow, 52) IS NOT NULL FROM (SELECT * FROM verde ORDER BY week_start LIMIT 53) v) AS weeks_53;
-- the C function (tsf_naive_mae) the final function calls sees the values
-- in order: a perfect seasonal pattern has no seasonal error
SELECT naive_mae(t, (t % 7)::float8, 7) AS seasonal, naive_mae(t, (t % 7)::float8) AS one_step
  FROM generate_series(1::bigint, 700) t;

-- errors: the scale, the level, an interval upside down (22023)
SELECT mase(1, 2, 0);
SELECT mase(1, 2, -1);
SELECT mase(1, 2, 'NaN');
SELECT mase(1, 2, 'Infinity');
SELECT winkler(1, 0, 2, 0);
SELECT winkler(1, 0, 2, 1);
SELECT winkler(1, 0, 2, 'NaN');
SELECT winkler(a, 0, 2, l) FROM (VALUES (1.0, 0.9), (1.0, 0.8)) x(a, l);
SELECT winkler(1, 2, 1, 0.9);
SELECT coverage(1, 2, 1);
SELECT naive_mae(t, 1.0, 0) FROM generate_series(1::bigint, 3) t;
SELECT naive_mae(t, 1.0, s) FROM (VALUES (1::bigint, 1), (2, 2)) x(t, s);
-- NaN or infinity: 22000, as for the other metrics and the training aggregates
SELECT mase('NaN', 1, 1);
SELECT coverage(1, '-Infinity', 1);
SELECT winkler('Infinity', 0, 1, 0.9);
SELECT naive_mae(t, 'NaN'::float8) FROM generate_series(1::bigint, 3) t;
SELECT naive_mae('infinity'::date, 1.0);
-- a timestamp twice: the training aggregates' error (22000)
SELECT naive_mae(t, v) FROM (VALUES (1::bigint, 1.0::float8), (2, 2.0), (1, 3.0)) x(t, v);
SELECT naive_mae(d, 1.0) FROM (VALUES ('2020-01-01'::date), ('2020-01-08'), ('2020-01-01')) x(d);
-- sums beyond float8: 22003
SELECT mase(1e308, -1e308, 1);
SELECT mase(1e300, 0, 1e-300);
SELECT winkler(-1e308, 1e308, 1e308, 0.5);
SELECT naive_mae(t, v) FROM (VALUES (1::bigint, 1e308::float8), (2, -1e308)) x(t, v);

-- the support functions, called directly: a copy of the state, updated;
-- a malformed state is 22023
SELECT _mase_transfn('{0,0}', 1, 2, 4), _coverage_transfn('{1,1}', 5, 0, 1),
       _winkler_transfn('{0,0,0}', 3, 0, 1, 0.5), _winkler_combinefn('{1,2,0.5}', '{0,0,0}');
SELECT _mase_finalfn('{1}');
SELECT _mase_finalfn('{1,-1}');
SELECT _coverage_finalfn('{1,2}');
SELECT _coverage_finalfn('{1.5,1}');
SELECT _winkler_finalfn('{1,1,1.5}');
SELECT _winkler_finalfn('{1,NaN,0.5}');
SELECT _winkler_combinefn('{1,1,0.5}', '{1,1,0.8}');

-- backtest()'s rows carry the scale for mase(): naive_mae over the rows
-- each origin's fit used (those up to the origin), to the bit; mase over
-- the rows is then the mean of |actual - forecast| / scale (rows past the
-- end, actual NULL, skipped)
CREATE TEMP TABLE bt AS
SELECT b.* FROM (SELECT backtest(week_start, flow, '{"kind": "ar", "transform": "log"}',
                                 '{"horizon": 2, "start": "2015-01-01", "every": 8, "mase_season": 52}') AS r
                   FROM verde) s, unnest(s.r) b;
SELECT bool_and(b.scale = (SELECT naive_mae(week_start, flow, 52) FROM verde WHERE week_start <= b.origin))
           AS scale_is_naive_mae,
       count(DISTINCT origin) AS origins
  FROM bt b;
SELECT step, close_to(mase(actual, forecast, scale), avg(abs(actual - forecast) / scale), 1e-12) AS mase_by_definition,
       coverage(actual, lo, hi) = avg((actual BETWEEN lo AND hi)::int) AS coverage_by_definition,
       count(actual) AS scored
  FROM bt GROUP BY step ORDER BY step;

-- forecast_buckets(): forecasts of calendar buckets (Sunday-Saturday weekly
-- means) of a daily model from sample paths, and bucket backtests.  The
-- reference is test/fixtures/make_bucket_fixtures.py: statsmodels' AutoReg
-- fit of the same model and, from its coefficients, the buckets' exact
-- moments (normal for the identity transform, log-normal for the log) and a
-- numpy Monte Carlo median.  The extension's paths are checked against them
-- within 4 standard errors of its Monte Carlo (20000 paths): a mean's
-- sd / sqrt(N); a median's 1 / (2 f sqrt(N)), f the density at it (for a
-- normal, sd sqrt(pi / 2) / sqrt(N)), plus the reference's own; a quantile
-- q's sqrt(q (1 - q)) / (f(x_q) sqrt(N)).
\i test/fixtures/regress.sql

-- verde_weekly.csv is the Sunday-Saturday means of the daily data (of the
-- complete weeks, to 4 decimals), computed here with date_bin alone
SELECT count(*) AS weeks, count(*) FILTER (WHERE round(d.mean::numeric, 4) = w.flow::numeric) AS equal,
       count(*) FILTER (WHERE w.flow IS NULL) AS not_in_weekly
  FROM (SELECT date_bin('7 days', day::timestamp, '2000-01-02')::date AS week, avg(flow) AS mean
          FROM verde_daily GROUP BY 1 HAVING count(*) = 7) d
  LEFT JOIN verde w ON w.week_start = d.week;

-- the reference's model: 14 lags and 3 harmonics on the days 2014-09-29 ..
-- 2019-09-28 (a Saturday), of the flow and of its log; ar_fit fits
-- statsmodels' (the few coefficients the reference keeps)
CREATE TEMP TABLE dm AS
SELECT t.series, ar_fit(day, flow, jsonb_build_object('order', 14, 'harmonics', 3, 'transform', t.series)) AS m
  FROM verde_daily, (VALUES ('none'), ('log')) t(series)
 WHERE day BETWEEN '2014-09-29' AND '2019-09-28' GROUP BY t.series;
SELECT d.series, bool_and(close_to(r.value, CASE r.key WHEN 'c' THEN (model_info(m)->>'constant')::float8
                                                   WHEN 'sigma2' THEN (model_info(m)->>'sigma2')::float8
                                                   WHEN 'phi_1' THEN (model_info(m)->'coefficients'->>0)::float8
                                                   ELSE (model_info(m)->'exog_coefficients'->>0)::float8 END,
                                   1e-6)) AS same_model_as_statsmodels
  FROM dm d JOIN bucket_ref r ON r.series = d.series AND r.bucket = 0 GROUP BY 1 ORDER BY 1;

-- 3 weeks of 20000 paths at level 0.9
CREATE TEMP TABLE fb AS
SELECT d.series, f.* FROM dm d, forecast_buckets(d.m, '7 days', 3, 0.9, '{"paths": 20000}') f;
SELECT series, bucket, bucket_start::date, bucket_end::date, steps FROM fb ORDER BY 1 DESC, 2;

CREATE TEMP VIEW ref AS
SELECT series, bucket, max(value) FILTER (WHERE key = 'mean') AS mean, max(value) FILTER (WHERE key = 'sd') AS sd,
       max(value) FILTER (WHERE key = 'median_mc') AS median_mc, max(value) FILTER (WHERE key = 'median_se') AS median_se,
       max(value) FILTER (WHERE key = 'density') AS density, max(value) FILTER (WHERE key = 'exp_mean_log') AS exp_mean_log
  FROM bucket_ref WHERE bucket > 0 GROUP BY 1, 2;

-- identity transform: the paths' bucket means are normal, of the mean of the
-- step forecasts and the variance of their sum (MA(inf) weights): mean and
-- median within 4 standard errors of it, the 0.05 and 0.95 quantiles of
-- mean -/+ 1.645 sd
SELECT f.bucket,
       abs(f.mean - r.mean) <= 4 * r.sd / sqrt(20000) AS mean_ok,
       abs(f.value - r.mean) <= 4 * r.sd * sqrt(pi() / 2) / sqrt(20000) AS median_ok,
       abs(f.lo - (r.mean - 1.6448536269514722 * r.sd)) <= 4 * sqrt(0.05 * 0.95) * r.sd / (0.10313564037537128 * sqrt(20000)) AS lo_ok,
       abs(f.hi - (r.mean + 1.6448536269514722 * r.sd)) <= 4 * sqrt(0.05 * 0.95) * r.sd / (0.10313564037537128 * sqrt(20000)) AS hi_ok,
       round((abs(f.mean - r.mean) / (r.sd / sqrt(20000)))::numeric, 1) < 4 AS z_mean_below_4
  FROM fb f JOIN ref r USING (series, bucket) WHERE series = 'none' ORDER BY 1;

-- log transform: the paths' mean of a week's log-normal days has the
-- log-normal moments (mean within 4 standard errors); the point forecast
-- is the paths' median, within 4 standard errors (the extension's and the
-- reference's) of numpy's, and it is not the exponential of the mean of
-- the logs (exp_mean_log), which lies more than 4 of them away (it would
-- fail the check of the median)
SELECT f.bucket,
       abs(f.mean - r.mean) <= 4 * r.sd / sqrt(20000) AS mean_ok,
       abs(f.value - r.median_mc) <= 4 * sqrt((1 / (2 * r.density * sqrt(20000)))^2 + r.median_se^2) AS median_ok,
       abs(f.value - r.exp_mean_log) > 4 * sqrt((1 / (2 * r.density * sqrt(20000)))^2 + r.median_se^2) AS not_exp_mean_log,
       f.value < f.mean AS median_below_mean, f.lo < f.value AND f.value < f.hi AS inside
  FROM fb f JOIN ref r USING (series, bucket) WHERE series = 'log' ORDER BY 1;

-- the same seed gives the same paths; another seed others; the default is
-- a fixed seed
SELECT (SELECT array_agg(value ORDER BY bucket) FROM dm, forecast_buckets(m, '7 days', 2, 0.9, '{"paths": 500, "seed": 5}') WHERE series = 'log')
     = (SELECT array_agg(value ORDER BY bucket) FROM dm, forecast_buckets(m, '7 days', 2, 0.9, '{"paths": 500, "seed": 5}') WHERE series = 'log') AS same_seed_same,
       (SELECT array_agg(value ORDER BY bucket) FROM dm, forecast_buckets(m, '7 days', 2, 0.9, '{"paths": 500, "seed": 5}') WHERE series = 'log')
    <> (SELECT array_agg(value ORDER BY bucket) FROM dm, forecast_buckets(m, '7 days', 2, 0.9, '{"paths": 500, "seed": 6}') WHERE series = 'log') AS other_seed_other,
       (SELECT array_agg(value ORDER BY bucket) FROM dm, forecast_buckets(m, '7 days', 2) WHERE series = 'log')
     = (SELECT array_agg(value ORDER BY bucket) FROM dm, forecast_buckets(m, '7 days', 2, 0.95, '{"seed": 1, "paths": 1000}') WHERE series = 'log') AS default_seed_1_paths_1000;

-- "aggregate": "sum": the same paths, summed: 7 times the mean
SELECT bool_and(close_to(s.value, 7 * a.value, 1e-12) AND close_to(s.lo, 7 * a.lo, 1e-12)
                AND close_to(s.mean, 7 * a.mean, 1e-12)) AS sum_is_7_means
  FROM dm, forecast_buckets(m, '7 days', 3, 0.9, '{"aggregate": "sum"}') s
       JOIN forecast_buckets(m, '7 days', 3, 0.9) a USING (bucket) WHERE series = 'log';

-- a bucket of one step, one path: the path itself; with its innovations
-- drawn, it is not the forecast's point but within its 99.99% interval
SELECT bool_and(b.bucket_start = f.ts AND b.lo = b.value AND b.hi = b.value AND b.steps = 1
                AND b.value BETWEEN f.lo AND f.hi) AS one_step_buckets
  FROM dm, forecast_buckets(m, '1 day', 5, 0.9, '{"paths": 1}') b
       JOIN forecast(m, 5, 0.9999) f ON f.step = b.bucket WHERE series = 'log';

-- the first bucket starts after the model's last row: with buckets from a
-- Wednesday, the week 09-25 .. 10-01 holds the last day (09-28, a Saturday)
-- and is skipped; the model moved on by model_update starts after its rows
SELECT bucket, bucket_start::date, bucket_end::date, to_char(bucket_start, 'Dy') AS dow, steps
  FROM dm, forecast_buckets(m, '7 days', 2, 0.9, '{"origin": "2000-01-05", "paths": 10}') WHERE series = 'log';
SELECT bucket, bucket_start::date, to_char(bucket_start, 'Dy') AS dow
  FROM (SELECT model_update((SELECT m FROM dm WHERE series = 'log'), day, flow) AS m
          FROM verde_daily WHERE day BETWEEN '2019-09-29' AND '2019-10-02') u,
       forecast_buckets(u.m, '7 days', 2, 0.9, '{"paths": 10}');
-- 14-day buckets from the default origin (a Sunday, 2000-01-02)
SELECT bucket, bucket_start::date, bucket_end::date, steps
  FROM dm, forecast_buckets(m, '14 days', 2, 0.9, '{"paths": 10}') WHERE series = 'log';

-- timestamptz series: on calendar days, binned on local dates (the week
-- of 2019-10-27 runs into winter time, 7 days of 169 hours); of fixed
-- steps, on absolute times (the origin a timestamptz of the session's zone)
SET TimeZone = 'Europe/Paris';
SELECT bucket, bucket_start, bucket_end, steps
  FROM (SELECT ar_fit(day::timestamptz, flow, '{"transform": "log", "order": 3}') AS m
          FROM verde_daily WHERE day BETWEEN '2019-01-01' AND '2019-10-23') d,
       forecast_buckets(d.m, '7 days', 2, 0.9, '{"paths": 10}');
CREATE TEMP TABLE hm AS
SELECT ar_fit(t, sin(extract(epoch FROM t) / 18000.0) + (extract(epoch FROM t)::bigint % 7) / 70.0, '{"order": 2}') AS m
  FROM generate_series('2020-01-01 00:00+00'::timestamptz, '2020-01-10 05:00+00', '1 hour') t;
SELECT bucket, bucket_start, bucket_end, steps FROM hm, forecast_buckets(m, '1 day', 2, 0.9, '{"paths": 10, "origin": "2000-01-01 00:00+00"}');
SELECT bucket, bucket_start, bucket_end, steps FROM hm, forecast_buckets(m, '6 hours', 2, 0.9, '{"paths": 10}');
SELECT * FROM hm, forecast_buckets(m, '90 minutes', 2);
RESET TimeZone;

-- an LSTM has sample paths too (those of its Monte Carlo interval)
CREATE TEMP TABLE lm AS
SELECT lstm_train(day, flow, '{"epochs": 3, "hidden": 4, "transform": "log"}') AS m
  FROM verde_daily WHERE day BETWEEN '2019-01-01' AND '2019-09-28';
SELECT count(*) AS buckets, bool_and(lo <= value AND value <= hi AND steps = 7) AS ordered,
       min(bucket_start)::date AS first
  FROM lm, forecast_buckets(m, '7 days', 2, 0.9, '{"paths": 50}');

-- ---- errors ----
SELECT * FROM dm, forecast_buckets(m, '36 hours', 2) WHERE series = 'log';
SELECT * FROM dm, forecast_buckets(m, '1 month', 2) WHERE series = 'log';
SELECT * FROM dm, forecast_buckets(m, '0 days', 2) WHERE series = 'log';
SELECT * FROM dm, forecast_buckets(m, '-7 days', 2) WHERE series = 'log';
SELECT * FROM dm, forecast_buckets(m, '7 days', 0) WHERE series = 'log';
SELECT * FROM dm, forecast_buckets(m, '7 days', 2, 1.5) WHERE series = 'log';
SELECT * FROM dm, forecast_buckets(m, '7 days', 2, 0.9, '{"paths": 100001}') WHERE series = 'log';
SELECT * FROM dm, forecast_buckets(m, '7 days', 2, 0.9, '{"paths": 0}') WHERE series = 'log';
SELECT * FROM dm, forecast_buckets(m, '7 days', 20000, 0.9) WHERE series = 'log';
SELECT * FROM dm, forecast_buckets(m, '7 days', 10000, 0.9, '{"paths": 100000}') WHERE series = 'log';
SELECT * FROM dm, forecast_buckets(m, '1000000 days', 1) WHERE series = 'log';
SELECT * FROM dm, forecast_buckets(m, '100000000 days', 1) WHERE series = 'log';
SELECT * FROM dm, forecast_buckets(m, '7 days', 2, 0.9, '{"aggregate": "median"}') WHERE series = 'log';
SELECT * FROM dm, forecast_buckets(m, '7 days', 2, 0.9, '{"pathz": 10}') WHERE series = 'log';
SELECT * FROM dm, forecast_buckets(m, '7 days', 2, 0.9, '{"origin": 3}') WHERE series = 'log';
SELECT * FROM dm, forecast_buckets(m, '7 days', 2, 0.9, '[1]') WHERE series = 'log';
-- a long one stops at a cancel (here its statement_timeout): 42 million
-- simulated days, about 10 s uncancelled on the development machine
SET statement_timeout = '300ms';
SELECT count(*) FROM dm, forecast_buckets(m, '7 days', 300, 0.9, '{"paths": 20000}') WHERE series = 'log';
RESET statement_timeout;
SET tsforecast.max_memory = '1MB';
SELECT * FROM dm, forecast_buckets(m, '7 days', 100, 0.9, '{"paths": 10000}') WHERE series = 'log';
RESET tsforecast.max_memory;
-- monthly models, integer indexes and models with covariates have no buckets
SELECT * FROM forecast_buckets((SELECT ar_fit(d::date, x, '{"order": 1}')
                                  FROM generate_series('2000-01-01'::date, '2010-01-01', '1 month') d,
                                       LATERAL (SELECT extract(month FROM d)::float8 + random() AS x) x),
                               '7 days', 2);
SELECT * FROM forecast_buckets((SELECT ar_fit(t::bigint, sin(t / 3.0), '{"order": 2}') FROM generate_series(1, 100) t),
                               '7 days', 2);
SELECT * FROM forecast_buckets((SELECT ar_fit(day, flow, ARRAY[extract(dow FROM day)::float8], '{"order": 2}')
                                  FROM verde_daily WHERE day > '2019-01-01'), '7 days', 2);

-- ---- bucket backtests ----
-- every Saturday of 2012-2019's autumns (as bench/verde_backtest.sh's
-- origins), the model fitted on the last 1825 days up to it, the next two
-- Sunday-Saturday weeks forecast
CREATE TEMP TABLE bb AS
SELECT b.* FROM (SELECT backtest(day, flow, '{"kind": "ar", "transform": "log", "order": 14, "harmonics": 3}',
                                 jsonb_build_object('bucket', '7 days', 'horizon', 2, 'window', 1825, 'paths', 500,
                                                    'origins', (SELECT jsonb_agg(to_char(o, 'YYYY-MM-DD') ORDER BY o)
                                                                  FROM generate_series('2012-09-01'::date, '2019-11-30', '7 days') o
                                                                 WHERE extract(month FROM o) >= 9))) AS r
                   FROM verde_daily) s, unnest(s.r) b;
SELECT count(*) AS rows, count(DISTINCT origin) AS origins, count(actual) AS with_actual,
       bool_and(ts = origin + (1 + 7 * (step - 1)) * interval '1 day') AS weeks_from_the_sunday
  FROM bb;
-- the actuals are the weekly fixture's values (its 4 decimals)
SELECT count(*) AS compared, count(*) FILTER (WHERE round(b.actual::numeric, 4) = w.flow::numeric) AS equal_to_weekly
  FROM bb b JOIN verde w ON w.week_start = b.ts::date;
-- each origin's forecast is forecast_buckets of ar_fit on its window, bit for bit
SELECT bool_and(b.forecast = f.value AND b.lo = f.lo AND b.hi = f.hi AND b.ts = f.bucket_start) AS same_as_forecast_buckets,
       count(*) AS compared
  FROM (SELECT * FROM bb WHERE origin IN ('2012-09-01', '2016-10-15', '2019-11-30')) b,
       LATERAL (SELECT f.* FROM forecast_buckets((SELECT ar_fit(day, flow, '{"transform": "log", "order": 14, "harmonics": 3}')
                                                   FROM verde_daily WHERE day <= b.origin::date AND day > b.origin::date - 1825),
                                                 '7 days', 2, 0.95, '{"paths": 500}') f WHERE f.bucket = b.step) f;
-- scale: the naive MAE of the complete weeks' means over the fit's window
SELECT bool_and(close_to(b.scale, n.mae, 1e-12)) AS scale_is_weekly_naive_mae, count(*) AS origins
  FROM (SELECT DISTINCT origin, scale FROM bb WHERE origin IN ('2012-09-01', '2016-10-15', '2019-11-30')) b,
       LATERAL (SELECT avg(abs(mean - prev)) AS mae
                  FROM (SELECT mean, lag(mean) OVER (ORDER BY week) AS prev
                          FROM (SELECT date_bin('7 days', day::timestamp, '2000-01-02') AS week, avg(flow) AS mean
                                  FROM verde_daily WHERE day <= b.origin::date AND day > b.origin::date - 1825
                                 GROUP BY 1 HAVING count(*) = 7) w) x) n;
-- the accuracy of these 136 origins (no independent reference: a change
-- detector, the bench's number is bench/verde_backtest.sh's)
SELECT step, count(actual) AS n, round(mae(actual, forecast)::numeric, 1) AS mae
  FROM bb GROUP BY step ORDER BY step;
-- refit every 4 origins, updated in between, and a NULL actual past the data
SELECT count(*) AS rows, count(actual) AS with_actual, max(ts)::date AS last_target
  FROM unnest((SELECT backtest(day, flow, '{"kind": "ar", "transform": "log", "order": 14}',
                               '{"bucket": "7 days", "horizon": 2, "window": 1825, "start": "2020-06-06", "every": 7, "refit_every": 4, "paths": 100}')
                 FROM verde_daily));
-- the backtest's errors
SELECT backtest(day, flow, '{"kind": "ar"}', '{"horizon": 2, "paths": 100}') FROM verde_daily;
SELECT backtest(day, flow, '{"kind": "ar"}', '{"horizon": 2, "bucket": 7}') FROM verde_daily;
SELECT backtest(day, flow, '{"kind": "ar"}', '{"horizon": 2, "bucket": "7 dayz"}') FROM verde_daily;
SELECT backtest(day, flow, '{"kind": "ar"}', '{"horizon": 2, "bucket": "7 days", "bucket_origin": 1}') FROM verde_daily;
SELECT backtest(day, flow, '{"kind": "ar"}', '{"horizon": 2, "bucket": "7 days", "origin": "2000-01-02"}') FROM verde_daily;
SELECT backtest(day, flow, '{"kind": "ar"}', '{"horizon": 2, "bucket": "1 month", "origins": ["2019-01-05"]}') FROM verde_daily;

-- combinations' sample paths: each member's, drawn with the same seed (its
-- own generator seeded with it), back-transformed and combined path by
-- path.  Members A (log, 14 lags, 3 harmonics) and B (no transform, 7 lags,
-- 2 harmonics) on the reference's days.
CREATE TEMP TABLE cb AS
SELECT s.name, fit(day, flow, s.spec) AS m
  FROM verde_daily,
       (VALUES ('A', '{"kind": "ar", "transform": "log", "order": 14, "harmonics": 3}'::jsonb),
               ('B', '{"kind": "ar", "order": 7, "harmonics": 2}'),
               ('one', '{"kind": "combine", "members": [{"kind": "ar", "transform": "log", "order": 14, "harmonics": 3}]}'),
               ('AA', '{"kind": "combine", "members": [{"kind": "ar", "transform": "log", "order": 14, "harmonics": 3},
                                                      {"kind": "ar", "transform": "log", "order": 14, "harmonics": 3}]}'),
               ('AB', '{"kind": "combine", "members": [{"kind": "ar", "transform": "log", "order": 14, "harmonics": 3},
                                                      {"kind": "ar", "order": 7, "harmonics": 2}]}'),
               ('AAB_median', '{"kind": "combine", "how": "median",
                                "members": [{"kind": "ar", "transform": "log", "order": 14, "harmonics": 3},
                                            {"kind": "ar", "order": 7, "harmonics": 2},
                                            {"kind": "ar", "transform": "log", "order": 14, "harmonics": 3}]}'),
               ('auto_A', '{"kind": "auto", "origins": 3, "combine_top": 0,
                            "candidates": [{"kind": "ar", "transform": "log", "order": 14, "harmonics": 3}]}')) s(name, spec)
 WHERE day BETWEEN '2014-09-29' AND '2019-09-28' GROUP BY s.name;
CREATE TEMP TABLE cbf AS
SELECT c.name, f.* FROM cb c, forecast_buckets(c.m, '7 days', 3, 0.9, '{"paths": 2000, "seed": 7}') f;
-- one member, two identical members (their mean), the median of A, B, A
-- and an automatic spec that chose A: A's bucket forecasts to the bit
SELECT c.name, count(*) AS buckets,
       bool_and(c.value = a.value AND c.mean = a.mean AND c.lo = a.lo AND c.hi = a.hi
                AND c.bucket_start = a.bucket_start AND c.steps = a.steps) AS same_as_member_a
  FROM cbf c JOIN cbf a ON a.name = 'A' AND a.bucket = c.bucket
 WHERE c.name IN ('one', 'AA', 'AAB_median', 'auto_A') GROUP BY 1 ORDER BY 1;
-- the mean of A and B: every path is the mean of A's and B's paths of the
-- same seed, so the paths' mean of each bucket is the mean of A's and B's
-- (to rounding; a combination drawing its members with other seeds would
-- be off by their Monte Carlo error, about 1 cfs here); its median lies
-- between theirs
SELECT c.bucket, close_to(c.mean, (a.mean + b.mean) / 2, 1e-12) AS mean_of_members_means,
       c.value BETWEEN least(a.value, b.value) AND greatest(a.value, b.value) AS median_between,
       abs(a.mean - b.mean) > 1 AS members_differ
  FROM cbf c JOIN cbf a ON a.name = 'A' AND a.bucket = c.bucket JOIN cbf b ON b.name = 'B' AND b.bucket = c.bucket
 WHERE c.name = 'AB' ORDER BY 1;
-- another seed gives other paths
SELECT (SELECT mean FROM forecast_buckets((SELECT m FROM cb WHERE name = 'AB'), '7 days', 1, 0.9, '{"paths": 2000, "seed": 8}'))
       <> (SELECT mean FROM cbf WHERE name = 'AB' AND bucket = 1) AS seed_matters;
-- a bucket backtest of a combination of one member is the member's
SELECT bool_and(c.forecast = a.forecast AND c.lo = a.lo AND c.hi = a.hi AND c.actual IS NOT DISTINCT FROM a.actual) AS same_backtest,
       count(*) AS compared
  FROM (SELECT (unnest(backtest(day, flow, '{"kind": "combine", "members": [{"kind": "ar", "transform": "log", "order": 14}]}',
                                '{"bucket": "7 days", "horizon": 2, "window": 1825, "paths": 300, "origins": ["2016-10-15", "2019-11-30"]}'))).*
          FROM verde_daily) c
  JOIN (SELECT (unnest(backtest(day, flow, '{"kind": "ar", "transform": "log", "order": 14}',
                                '{"bucket": "7 days", "horizon": 2, "window": 1825, "paths": 300, "origins": ["2016-10-15", "2019-11-30"]}'))).*
          FROM verde_daily) a USING (origin, step);

-- "variance": "level": the log model's innovations with a variance of the
-- previous value and the season (ar/ar.h), against the reference's numpy
-- fit on statsmodels' residuals (the case "log_level"): the same mean
-- equation as without it, the 8 coefficients of the log-variance and the
-- lagged values' range at 1e-8, forecast()'s standard errors of the log
-- (from its 90% bounds) at 1e-8, and the bucket medians of 20000 paths
-- within 4 standard errors of numpy's Monte Carlo of the same model
CREATE TEMP TABLE dv AS
SELECT ar_fit(day, flow, '{"order": 14, "harmonics": 3, "transform": "log", "variance": "level"}') AS m
  FROM verde_daily WHERE day BETWEEN '2014-09-29' AND '2019-09-28';
SELECT model_info(v.m)->>'variance' AS variance,
       jsonb_array_length(model_info(v.m)->'variance_coefficients') AS n_coefficients,
       (SELECT bool_and(close_to((model_info(v.m)->'variance_coefficients'->>(substr(r.key, 3)::int))::float8, r.value))
          FROM bucket_ref r WHERE r.series = 'log_level' AND r.key LIKE 'g\_%') AS coefficients_as_numpy,
       close_to((model_info(v.m)->'variance_lag_range'->>0)::float8, (SELECT value FROM bucket_ref WHERE series = 'log_level' AND key = 'lo'), 1e-12)
       AND close_to((model_info(v.m)->'variance_lag_range'->>1)::float8, (SELECT value FROM bucket_ref WHERE series = 'log_level' AND key = 'hi'), 1e-12) AS range_as_numpy,
       (model_info(v.m) - 'variance' - 'variance_coefficients' - 'variance_lag_range' - 'fit_seconds' - 'fitted_at')
       = (model_info(d.m) - 'fit_seconds' - 'fitted_at') AS mean_equation_unchanged
  FROM dv v, dm d WHERE d.series = 'log';
SELECT bool_and(close_to((ln(f.hi) - ln(f.lo)) / (2 * 1.6448536269514722), r.value, 1e-8)) AS se_as_numpy,
       count(*) AS steps
  FROM dv, forecast(m, 21, 0.9) f
  JOIN bucket_ref r ON r.series = 'log_level' AND r.key = 'se_' || f.step;
CREATE TEMP TABLE fbv AS SELECT f.* FROM dv, forecast_buckets(m, '7 days', 3, 0.9, '{"paths": 20000}') f;
SELECT f.bucket,
       abs(f.value - r.median_mc) <= 4 * sqrt((1 / (2 * r.density * sqrt(20000)))^2 + r.median_se^2) AS median_ok,
       abs(f.mean - r.mean) <= 4 * r.sd / sqrt(20000) AS mean_ok,
       -- the constant variance's medians are others (more than 4 standard errors away)
       abs(c.value - r.median_mc) > 4 * sqrt((1 / (2 * r.density * sqrt(20000)))^2 + r.median_se^2) AS not_constant_variance
  FROM fbv f JOIN ref r ON r.series = 'log_level' AND r.bucket = f.bucket
  JOIN fb c ON c.series = 'log' AND c.bucket = f.bucket ORDER BY 1;
-- stored and read back whole; what it refuses
SELECT (SELECT array_agg(value ORDER BY bucket) FROM forecast_buckets(m::text::tsmodel, '7 days', 2, 0.9, '{"paths": 500}'))
     = (SELECT array_agg(value ORDER BY bucket) FROM forecast_buckets(m, '7 days', 2, 0.9, '{"paths": 500}')) AS round_trip
  FROM dv;
SELECT ar_fit(day, flow, '{"method": "yule_walker", "variance": "level"}') FROM verde_daily;
SELECT ar_fit(day, flow, '{"order": 0, "variance": "level"}') FROM verde_daily;
SELECT ar_fit(day, flow, '{"variance": "wide"}') FROM verde_daily;
-- a line is fitted exactly: no residual to fit a variance on
SELECT ar_fit(t, t::float8, '{"order": 1, "variance": "level"}') FROM generate_series(1, 50) t;

-- ---- members on buckets: a weekly member in a daily combination ----
-- W: the weekly member, fitted on the Sunday-Saturday means of the
-- combination's days (2014-09-29 is a Monday: its first complete week
-- starts 2014-10-05; the last ends 2019-09-28); the same model as ar_fit on
-- those means computed here with date_bin (bit for bit up to the order of
-- the sums: 1e-12)
CREATE TEMP TABLE wk AS
SELECT date_bin('7 days', day::timestamp, '2000-01-02')::date AS week_start, avg(flow ORDER BY day) AS flow
  FROM verde_daily WHERE day BETWEEN '2014-10-05' AND '2019-09-28' GROUP BY 1;
CREATE TEMP TABLE xg AS
SELECT s.name, fit(day, flow, s.spec) AS m
  FROM verde_daily,
       (VALUES ('AW', '{"kind": "combine", "members": [{"kind": "ar", "transform": "log", "order": 14, "harmonics": 3},
                                                      {"kind": "ar", "transform": "log", "harmonics": 3, "bucket": "7 days"}]}'::jsonb),
               ('Wsum', '{"kind": "combine", "members": [{"kind": "ar", "transform": "log", "harmonics": 3, "bucket": "7 days", "aggregate": "sum"}]}')) s(name, spec)
 WHERE day BETWEEN '2014-09-29' AND '2019-09-28' GROUP BY s.name;
CREATE TEMP TABLE w_alone AS SELECT ar_fit(week_start, flow, '{"transform": "log", "harmonics": 3}') AS m FROM wk;
SELECT (i->'members'->1) - 'model' - 'weight' AS weekly_member, i #>> '{members,1,model,first_ts}' AS first_week,
       i #>> '{members,1,model,last_ts}' AS last_week, i #>> '{members,1,model,n}' AS weeks,
       (SELECT bool_and(close_to(c::float8, (model_info(w.m) -> 'coefficients' ->> (o - 1)::int)::float8, 1e-12))
          FROM jsonb_array_elements_text(i #> '{members,1,model,coefficients}') WITH ORDINALITY e(c, o)) AS coefficients_as_alone,
       close_to((i #>> '{members,1,model,sigma2}')::float8, (model_info(w.m) ->> 'sigma2')::float8, 1e-12) AS sigma2_as_alone
  FROM (SELECT model_info(m) AS i FROM xg WHERE name = 'AW') x, w_alone w;
-- its bucket forecasts: every path the mean of the daily member's week
-- (A's paths of the same seed) and the weekly member's (W alone, the same
-- seed and as many steps: its steps are the weeks), so the paths' means
-- are the mean of A's and W's to rounding; forecast(): each day the mean
-- of A's day and W's week
CREATE TEMP TABLE xf AS
SELECT 'AW' AS name, f.* FROM xg, forecast_buckets(m, '7 days', 3, 0.9, '{"paths": 2000, "seed": 7}') f WHERE name = 'AW'
UNION ALL SELECT 'W', f.* FROM w_alone, forecast_buckets(m, '7 days', 3, 0.9, '{"paths": 2000, "seed": 7}') f;
SELECT c.bucket, c.bucket_start::date, close_to(c.mean, (a.mean + w.mean) / 2, 1e-12) AS mean_of_members,
       abs(a.mean - w.mean) > 0.1 AS members_differ
  FROM xf c JOIN cbf a ON a.name = 'A' AND a.bucket = c.bucket JOIN xf w ON w.name = 'W' AND w.bucket = c.bucket
 WHERE c.name = 'AW' ORDER BY 1;
SELECT count(*) AS days,
       bool_and(close_to(c.value, (a.value + (SELECT value FROM forecast((SELECT m FROM w_alone), 2) WHERE step = (c.step + 6) / 7)) / 2, 1e-12)) AS day_is_mean_of_day_and_week
  FROM forecast((SELECT m FROM xg WHERE name = 'AW'), 14) c
  JOIN forecast((SELECT m FROM cb WHERE name = 'A'), 14) a USING (step);
-- "aggregate": "sum": fitted on the weeks' sums (on the log: the means'
-- model shifted by log 7), its week forecast 7 times W's, each day a
-- seventh of it
SELECT close_to(s.value, 7 * w.value, 1e-12) AS sum_is_7_means, close_to(d.value, w.value, 1e-12) AS day_is_a_seventh
  FROM forecast_buckets((SELECT m FROM xg WHERE name = 'Wsum'), '7 days', 1, 0.9, '{"paths": 2000, "seed": 7, "aggregate": "sum"}') s,
       forecast_buckets((SELECT m FROM xg WHERE name = 'Wsum'), '7 days', 1, 0.9, '{"paths": 2000, "seed": 7}') d,
       forecast_buckets((SELECT m FROM w_alone), '7 days', 1, 0.9, '{"paths": 2000, "seed": 7}') w;
-- model_update() over the next 10 days (2019-09-29 .. 10-08): the weekly
-- member moves on by the completed week and keeps the sum of 10-06 .. 10-08;
-- then its forecasts are W alone updated with that week's mean
CREATE TEMP TABLE xu AS
SELECT model_update((SELECT m FROM xg WHERE name = 'AW'), day, flow ORDER BY day) AS m
  FROM verde_daily WHERE day BETWEEN '2019-09-29' AND '2019-10-08';
SELECT close_to((i #>> '{members,1,pending_sum}')::float8,
                (SELECT sum(flow ORDER BY day) FROM verde_daily WHERE day BETWEEN '2019-10-06' AND '2019-10-08'), 1e-12) AS pending_is_3_days
  FROM (SELECT model_info(m) AS i FROM xu) x;
CREATE TEMP TABLE xuf AS
SELECT 'AW' AS name, f.* FROM xu, forecast_buckets(m, '7 days', 2, 0.9, '{"paths": 2000, "seed": 7}') f
UNION ALL SELECT 'A', f.* FROM (SELECT model_update((SELECT m FROM cb WHERE name = 'A'), day, flow ORDER BY day) AS m
                                  FROM verde_daily WHERE day BETWEEN '2019-09-29' AND '2019-10-08') u,
                               forecast_buckets(u.m, '7 days', 2, 0.9, '{"paths": 2000, "seed": 7}') f
UNION ALL SELECT 'W', f.* FROM (SELECT model_update((SELECT m FROM w_alone), '2019-09-29'::date,
                                                    (SELECT avg(flow ORDER BY day) FROM verde_daily WHERE day BETWEEN '2019-09-29' AND '2019-10-05')) AS m) u,
                               forecast_buckets(u.m, '7 days', 3, 0.9, '{"paths": 2000, "seed": 7}') f;
-- the combination skips the week in progress (10-06): its first is 10-13, W's third step
SELECT c.bucket, c.bucket_start::date, close_to(c.mean, (a.mean + w.mean) / 2, 1e-12) AS mean_of_updated_members
  FROM xuf c JOIN xuf a ON a.name = 'A' AND a.bucket = c.bucket JOIN xuf w ON w.name = 'W' AND w.bucket = c.bucket + 1
 WHERE c.name = 'AW' ORDER BY 1;
-- stored and read back whole (the update's pending sum too)
SELECT (SELECT array_agg(mean ORDER BY bucket) FROM forecast_buckets(m::text::tsmodel, '7 days', 2, 0.9, '{"paths": 500}'))
     = (SELECT array_agg(mean ORDER BY bucket) FROM forecast_buckets(m, '7 days', 2, 0.9, '{"paths": 500}')) AS round_trip,
       model_info(m::text::tsmodel) = model_info(m) AS same_info
  FROM xu;
-- a bucket backtest of the combination refits it at each origin: its
-- forecasts are the combination's fitted on the days up to the origin
SELECT b.forecast = f.value AS as_fitted_at_origin, b.step
  FROM (SELECT (unnest(backtest(day, flow, (SELECT spec FROM (VALUES ('{"kind": "combine", "members": [{"kind": "ar", "transform": "log", "order": 14, "harmonics": 3},
                                                      {"kind": "ar", "transform": "log", "harmonics": 3, "bucket": "7 days"}]}'::jsonb)) v(spec)),
                                '{"bucket": "7 days", "horizon": 2, "window": 1826, "paths": 300, "origins": ["2019-09-28"]}'))).*
          FROM verde_daily) b
  JOIN forecast_buckets((SELECT m FROM xg WHERE name = 'AW'), '7 days', 2, 0.9, '{"paths": 300}') f ON f.bucket = b.step
 ORDER BY b.step;
-- predict(): each day the mean of A's prediction and W's one-step
-- prediction of its week (W alone over the weeks' means), NULL before the
-- window's first complete week (2019-06-02) and in the 4 weeks after it,
-- whose 4 lags the window does not hold: 120 - 1 - 28 = 91 days
CREATE TEMP TABLE xp AS
SELECT day, predict((SELECT m FROM xg WHERE name = 'AW'), day, flow) OVER (ORDER BY day) AS aw,
       predict((SELECT m FROM cb WHERE name = 'A'), day, flow) OVER (ORDER BY day) AS a
  FROM verde_daily WHERE day BETWEEN '2019-06-01' AND '2019-09-28';
CREATE TEMP TABLE wp AS
SELECT week_start, predict((SELECT m FROM w_alone), week_start, flow) OVER (ORDER BY week_start) AS w
  FROM wk WHERE week_start >= '2019-06-02';
SELECT count(*) AS days, count(aw) AS predicted,
       bool_and(close_to(aw, (a + w) / 2, 1e-12)) FILTER (WHERE aw IS NOT NULL) AS mean_of_day_and_week,
       bool_and(aw IS NULL) FILTER (WHERE day < '2019-06-02') AS null_before_first_week
  FROM xp LEFT JOIN wp ON wp.week_start = date_bin('7 days', day::timestamp, '2000-01-02')::date;
-- what a member on buckets refuses
SELECT model_update((SELECT m FROM xg WHERE name = 'Wsum'), day, flow ORDER BY day) FROM verde_daily WHERE day BETWEEN '2019-10-01' AND '2019-10-08';
SELECT fit(day, flow, '{"kind": "combine", "members": [{"kind": "ar", "bucket": "7 days", "paths": 100}]}') FROM verde_daily;
SELECT fit(day, flow, '{"kind": "combine", "members": [{"kind": "ar", "bucket": "1 day"}]}') FROM verde_daily;
SELECT fit(day, flow, '{"kind": "combine", "members": [{"kind": "ar", "bucket_origin": "2000-01-03"}]}') FROM verde_daily;
SELECT fit(day, flow, '{"kind": "combine", "members": [{"kind": "ar", "bucket": "7 days"}]}') FROM verde_daily WHERE day < '1989-01-20';
SELECT fit(day, flow, '{"kind": "auto", "candidates": [{"kind": "combine", "bucket": "7 days", "members": [{"kind": "ar"}]}]}') FROM verde_daily;
-- the reader refuses a corrupt member on buckets: its steps a bucket, its
-- aggregate, a pending sum with no step pending (the model as fitted ends a week)
CREATE TEMP TABLE xraw AS SELECT decode(m::text, 'base64') AS b FROM xg WHERE name = 'AW';
CREATE TEMP VIEW xw AS
SELECT b, 100 + get_byte(b, 96) + 256 * get_byte(b, 97) + 65536 * get_byte(b, 98) AS p FROM xraw;
SELECT get_byte(b, 71) AS grid_0, get_byte(b, p) AS grid_1, get_byte(b, p + 25) AS steps_a_bucket,
       get_byte(b, p + 33) AS aggregate FROM xw;
SELECT encode(set_byte(b, p, 2), 'base64')::tsmodel FROM xw;             -- an unknown grid
SELECT encode(set_byte(b, p + 25, 1), 'base64')::tsmodel FROM xw;        -- a bucket of 1 step
SELECT encode(set_byte(b, p + 25, 8), 'base64')::tsmodel FROM xw;        -- of 8 steps
SELECT encode(set_byte(b, p + 33, 2), 'base64')::tsmodel FROM xw;        -- an unknown aggregate
SELECT encode(set_byte(b, p + 41, 63), 'base64')::tsmodel FROM xw;       -- a pending sum, nothing pending
SELECT encode(set_byte(b, p + 1, 7), 'base64')::tsmodel FROM xw;         -- its first bucket a day later

-- auto: the automatic spec (model_auto.c), and the AR "window" option it
-- uses.  Its choice is checked against backtest() of each candidate over
-- the same training rows and inner origins, derived here from the rows;
-- the candidates' fits are ar_fit's (checked against statsmodels in
-- ar_fit.sql).
\i test/fixtures/regress.sql

-- ---- AR's "window": the last W grid steps of the training rows ----

-- the same model as ar_fit on those rows alone, bit for bit
SELECT (SELECT ar_fit(week_start, flow, '{"window": 260, "harmonics": 2}') FROM verde)::jsonb - 'fit_seconds'
     = (SELECT ar_fit(week_start, flow, '{"harmonics": 2}')
          FROM (SELECT * FROM verde ORDER BY week_start DESC LIMIT 260) s)::jsonb - 'fit_seconds' AS same_as_last_260_rows,
       model_info((SELECT ar_fit(week_start, flow, '{"window": 260}') FROM verde)) ->> 'first_ts' AS first_ts;
-- steps, not rows: a gap inside the window is filled, and counts
SELECT model_info(ar_fit(week_start, flow, '{"window": 10, "fill": "linear"}')) ->> 'n' AS n,
       model_info(ar_fit(week_start, flow, '{"window": 10, "fill": "linear"}')) ->> 'n_filled' AS n_filled
  FROM verde WHERE week_start <> '2020-07-26';
-- a window longer than the series keeps it all
SELECT model_info(ar_fit(week_start, flow, '{"window": 100000}')) ->> 'n' AS n FROM verde;
SELECT ar_fit(week_start, flow, '{"window": 2}') FROM verde;
SELECT ar_fit(week_start, flow, '{"window": 5, "order": 4}') FROM verde;

-- ---- the choice: the candidate of the lowest inner-backtest MAE ----

CREATE TEMP TABLE train AS SELECT * FROM verde WHERE week_start < '2019-01-01';
CREATE TEMP TABLE cands (i int PRIMARY KEY, spec jsonb);
INSERT INTO cands VALUES
  (1, '{"kind": "ar", "transform": "log"}'),
  (2, '{"kind": "ar", "transform": "log", "harmonics": 3}'),
  (3, '{"kind": "ar", "window": 260}'),
  (4, '{"kind": "ar", "transform": "log", "harmonics": 2, "window": 520}');
CREATE TEMP TABLE am AS
SELECT top, fit(week_start, flow, jsonb_build_object('kind', 'auto', 'horizon', 2, 'origins', 12, 'every', 3,
                  'refit_every', 2, 'combine_top', top,
                  'candidates', (SELECT jsonb_agg(spec ORDER BY i) FROM cands))) AS model
  FROM train, (VALUES (0), (2)) t(top) GROUP BY top;

-- the inner origins, from the rows: the last 2 weeks before the last
-- training row, 12 of them 3 weeks apart
CREATE TEMP TABLE inner_origins AS
SELECT (max(week_start) - 7 * (2 + 3 * g)) AS origin FROM train, generate_series(0, 11) g GROUP BY g;
SELECT min(origin) AS first_origin, max(origin) AS last_origin,
       (SELECT model_info(model) #>> '{auto,first_origin}' FROM am WHERE top = 0) AS info_first,
       (SELECT model_info(model) #>> '{auto,last_origin}' FROM am WHERE top = 0) AS info_last
  FROM inner_origins;
-- each candidate's backtest() over them, on the training rows only
CREATE TEMP TABLE bt AS
SELECT c.i, (b).origin, (b).step, (b).forecast, (b).actual
  FROM cands c,
       LATERAL (SELECT unnest(backtest(week_start, flow, c.spec,
                  jsonb_build_object('horizon', 2, 'refit_every', 2,
                    'origins', (SELECT jsonb_agg(to_char(origin, 'YYYY-MM-DD') ORDER BY origin) FROM inner_origins)))) AS b
                  FROM train) s;
CREATE TEMP TABLE mae AS
SELECT i, avg(abs(forecast - actual)) AS mae, count(actual) AS scored FROM bt GROUP BY i;
SELECT m.i, m.scored, abs((c->>'mae')::float8 - m.mae) / m.mae < 1e-12 AS mae_agrees,
       (c->>'scored')::int = m.scored AS scored_agrees, (c->>'spec')::jsonb = s.spec AS spec_recorded
  FROM am, jsonb_array_elements(model_info(model) #> '{auto,candidates}') WITH ORDINALITY e(c, k),
       mae m JOIN cands s USING (i)
 WHERE top = 0 AND m.i = k ORDER BY 1;
-- chosen: the lowest MAE
SELECT (model_info(model) #>> '{auto,chosen}')::int AS chosen,
       (SELECT i FROM mae ORDER BY mae LIMIT 1) AS lowest_mae,
       (model_info(model) #>> '{auto,chosen_spec}')::jsonb = (SELECT spec FROM cands WHERE i = (SELECT i FROM mae ORDER BY mae LIMIT 1)) AS spec_is_it
  FROM am WHERE top = 0;
-- the stored model is that candidate fitted on all the training rows:
-- its forecasts, bit for bit
SELECT (SELECT array_agg(f ORDER BY step) FROM forecast(model, 4) f)
     = (SELECT array_agg(f ORDER BY step)
          FROM forecast((SELECT ar_fit(week_start, flow, (model_info(am.model) #>> '{auto,chosen_spec}')::jsonb - 'kind')
                           FROM train), 4) f) AS forecast_is_the_candidates,
       model_info(model) ->> 'kind' AS kind, jsonb_array_length(model_info(model) -> 'members') AS members
  FROM am WHERE top = 0;

-- with "combine_top": 2 the mean of the best two is scored from their
-- inner forecasts: its MAE, and whether it wins
CREATE TEMP TABLE best2 AS SELECT i FROM mae ORDER BY mae LIMIT 2;
SELECT abs((c->>'mae')::float8 - r.mae) / r.mae < 1e-12 AS mean_mae_agrees,
       (c->>'spec')::jsonb -> 'members' = (SELECT jsonb_agg(spec ORDER BY m.mae) FROM cands JOIN mae m USING (i) WHERE i IN (SELECT i FROM best2)) AS its_members,
       ((model_info(model) #>> '{auto,chosen}')::int = 5) = (r.mae < (SELECT min(mae) FROM mae)) AS chosen_if_lower
  FROM am, jsonb_array_elements(model_info(model) #> '{auto,candidates}') WITH ORDINALITY e(c, k),
       (SELECT avg(abs(f - actual)) AS mae
          FROM (SELECT origin, step, avg(forecast) AS f, min(actual) AS actual
                  FROM bt WHERE i IN (SELECT i FROM best2) GROUP BY origin, step) x) r
 WHERE top = 2 AND k = 5;
SELECT jsonb_array_length(model_info(model) #> '{auto,candidates}') AS scored,
       model_info(model) #>> '{auto,chosen}' AS chosen FROM am WHERE top = 2;

-- with "seasons": the origins within "around" steps of the same week of
-- the year in each of the last seasons (52.18 weeks, rounded to steps),
-- none after the last one; the candidates' MAE over them
CREATE TEMP TABLE seasonal AS
SELECT fit(week_start, flow, jsonb_build_object('kind', 'auto', 'horizon', 2, 'seasons', 3, 'around', 2,
         'combine_top', 0, 'candidates', (SELECT jsonb_agg(spec ORDER BY i) FROM cands WHERE i <= 2))) AS model
  FROM train;
CREATE TEMP TABLE seasonal_origins AS
SELECT DISTINCT max(week_start) - 7 * (2 + round(k * 52.178571428571429)::int - j) AS origin
  FROM train, generate_series(0, 2) k, generate_series(-2, 2) j GROUP BY k, j HAVING j <= 0 OR k > 0;
SELECT (model_info(model) #>> '{auto,origins}')::int AS origins, (SELECT count(*) FROM seasonal_origins) AS expected,
       model_info(model) #>> '{auto,first_origin}' AS first_origin, (SELECT to_char(min(origin), 'YYYY-MM-DD') FROM seasonal_origins) AS expected_first,
       model_info(model) #>> '{auto,seasons}' AS seasons
  FROM seasonal;
SELECT c.i, abs((e->>'mae')::float8 - b.mae) / b.mae < 1e-12 AS mae_agrees
  FROM seasonal, jsonb_array_elements(model_info(model) #> '{auto,candidates}') WITH ORDINALITY x(e, k),
       cands c,
       LATERAL (SELECT avg(abs((r).forecast - (r).actual)) AS mae
                  FROM (SELECT unnest(backtest(week_start, flow, c.spec,
                          jsonb_build_object('horizon', 2, 'refit_every', (model_info(model) #>> '{auto,refit_every}')::int,
                            'origins', (SELECT jsonb_agg(to_char(origin, 'YYYY-MM-DD') ORDER BY origin) FROM seasonal_origins)))) AS r
                          FROM train) s) b
 WHERE c.i = k ORDER BY 1;

-- ---- the default candidates ----

CREATE TEMP TABLE auto_default AS
SELECT fit(week_start, flow, '{"kind": "auto", "horizon": 2}') AS model FROM train;
-- weekly, positive: K 0, 2, 3, 4 x none, log x all, 261, 522 weeks, and
-- the means of the best 2 and 3; 104 origins, refitted every 13
SELECT model_info(model) #>> '{auto,origins}' AS origins, model_info(model) #>> '{auto,refit_every}' AS refit_every,
       jsonb_array_length(model_info(model) #> '{auto,candidates}') AS scored
  FROM auto_default;
SELECT c->>'spec' AS spec FROM auto_default, jsonb_array_elements(model_info(model) #> '{auto,candidates}') c
 WHERE (c->>'spec')::jsonb->>'kind' = 'ar' ORDER BY 1;
-- a series with a value that is not positive: no log candidates
SELECT count(*) FILTER (WHERE c->>'spec' LIKE '%log%') AS log_candidates, count(*) AS scored
  FROM (SELECT fit(week_start, CASE WHEN week_start = '2010-01-03' THEN 0 ELSE flow END, '{"kind": "auto"}') AS model
          FROM train) s, jsonb_array_elements(model_info(model) #> '{auto,candidates}') c;
-- an integer index has no season: no harmonics, no seasons' windows, 20 origins
SELECT model_info(model) #>> '{auto,origins}' AS origins,
       (SELECT string_agg(c->>'spec', '; ') FROM jsonb_array_elements(model_info(model) #> '{auto,candidates}') c) AS candidates
  FROM (SELECT fit(t, value, '{"kind": "auto"}') AS model FROM fx_series WHERE name = 'sunspot') s;

-- round trips, and the reader's refusals
SELECT model::text::tsmodel::text = model::text AS text_same FROM auto_default;
CREATE TEMP TABLE raw AS SELECT decode(model::text, 'base64') AS b FROM am WHERE top = 0;
SELECT get_byte(b, 6) AS kind, get_byte(b, 113) AS candidates, get_byte(b, 117) AS chosen FROM raw;
SELECT encode(set_byte(b, 117, 9), 'base64')::tsmodel FROM raw;       -- chosen out of range
SELECT encode(set_byte(b, 113, 0), 'base64')::tsmodel FROM raw;       -- no candidates
SELECT encode(set_byte(b, 104, 128), 'base64')::tsmodel FROM raw;     -- an origin before the training data
SELECT encode(set_byte(b, 89, 1), 'base64')::tsmodel FROM raw;        -- around without seasons
SELECT encode(set_byte(b, 93, 2), 'base64')::tsmodel FROM raw;        -- buckets of 2 steps, origins every 3
SELECT encode(set_byte(b, 127, 10), 'base64')::tsmodel FROM raw;      -- a spec that is not printable text
SELECT encode(set_byte(b, 121, 10), 'base64')::tsmodel FROM raw;      -- a spec's length

-- ---- in backtests: the automatic spec sees the rows up to each origin only ----

CREATE TEMP TABLE obt AS
SELECT (unnest(backtest(week_start, flow, '{"kind": "auto", "horizon": 2, "origins": 20}',
                        '{"horizon": 2, "origins": ["2012-09-01", "2016-10-15"]}'))).* FROM verde;
-- each origin's forecast is fit() on the rows up to it, bit for bit
SELECT bool_and(o.forecast = f.value AND o.lo = f.lo AND o.hi = f.hi) AS same_as_fit, count(*) AS compared
  FROM obt o,
       LATERAL (SELECT f.* FROM forecast((SELECT fit(week_start, flow, '{"kind": "auto", "horizon": 2, "origins": 20}')
                                            FROM verde WHERE week_start <= o.origin), 2) f
                 WHERE f.step = o.step) f;
-- and the same whatever the rows after the origin hold
CREATE TEMP TABLE verde_later AS
SELECT week_start, CASE WHEN week_start > '2012-09-01' THEN flow * 10 ELSE flow END AS flow FROM verde;
SELECT bool_and(a.forecast = b.forecast) AS later_rows_unused
  FROM obt a
  JOIN (SELECT (unnest(backtest(week_start, flow, '{"kind": "auto", "horizon": 2, "origins": 20}',
                                '{"horizon": 2, "origins": ["2012-09-01"]}'))).* FROM verde_later) b USING (origin, step);

-- ---- errors ----
SELECT fit(week_start, flow, '{"kind": "auto", "candidates": []}') FROM train;
SELECT fit(week_start, flow, jsonb_build_object('kind', 'auto', 'candidates',
         (SELECT jsonb_agg('{"kind": "ar"}'::jsonb) FROM generate_series(1, 65)))) FROM train;
SELECT fit(week_start, flow, '{"kind": "auto", "candidates": [{"kind": "auto"}]}') FROM train;
SELECT fit(week_start, flow, '{"kind": "auto", "candidates": [{"kind": "ar"}], "lstm": true}') FROM train;
SELECT fit(week_start, flow, '{"kind": "auto", "horizn": 2}') FROM train;
SELECT fit(week_start, flow, '{"kind": "auto", "combine_top": 9}') FROM train;
SELECT fit(week_start, flow, '{"kind": "auto", "origins": 2000}') FROM train;
-- more seasons than the series holds: those whose origins keep half of it (15 of 52.18 weeks)
SELECT model_info(fit(week_start, flow, '{"kind": "auto", "seasons": 40, "candidates": [{"kind": "ar", "order": 1}]}')) #>> '{auto,seasons}' AS seasons_used
  FROM train;
SELECT fit(week_start, flow, '{"kind": "auto", "seasons": 2, "origins": 10}') FROM train;
SELECT fit(week_start, flow, '{"kind": "auto", "around": 2}') FROM train;
SELECT fit(t, value, '{"kind": "auto", "seasons": 2}') FROM fx_series WHERE name = 'sunspot';
SELECT fit(week_start, flow, '{"kind": "auto", "candidates": [{"kind": "combine", "members": [{"kind": "combine", "members": [{"kind": "ar"}]}]}]}') FROM train;
-- a candidate's own error names it
SELECT fit(week_start, flow, '{"kind": "auto", "origins": 5, "candidates": [{"kind": "ar"}, {"kind": "ar", "order": 900, "window": 300}]}') FROM train;

-- ---- "bucket": candidates of the daily series scored on weekly buckets ----

-- ten years of days to Wednesday 2019-09-25: the last complete
-- Sunday-Saturday week ends on Saturday 2019-09-21, so the last inner
-- origin, 2 weeks before its end, is Saturday 2019-09-07, and the 10
-- origins are the 10 Saturdays to it
CREATE TEMP TABLE dtrain AS SELECT day, flow FROM verde_daily WHERE day BETWEEN '2009-09-06' AND '2019-09-25';
CREATE TEMP TABLE da AS
SELECT model_info(fit(day, flow, '{"kind": "auto", "bucket": "7 days", "horizon": 2, "origins": 10, "refit_every": 4,
                                   "candidates": [{"kind": "ar", "transform": "log", "order": 14, "harmonics": 3},
                                                  {"kind": "ar", "order": 7},
                                                  {"kind": "ar", "transform": "log", "harmonics": 3, "bucket": "7 days"}]}')) AS i
  FROM dtrain;
SELECT i #>> '{auto,first_origin}' AS first_origin, i #>> '{auto,last_origin}' AS last_origin,
       i #>> '{auto,origins}' AS origins, i #>> '{auto,every}' AS every_buckets, i #>> '{auto,bucket_steps}' AS bucket_steps,
       extract(isodow FROM (i #>> '{auto,first_origin}')::date) AS first_dow
  FROM da;
-- each candidate's MAE is backtest()'s of its spec over the weeks of those
-- origins (the same fits, refits and paths: 500, seed 1), pooled over the
-- complete weeks; the weekly model of the weeks' means (on buckets) is
-- backtested as a combination of it alone (its updates between refits
-- complete the weeks)
CREATE TEMP TABLE dc AS
SELECT c.ord, c.e->>'spec' AS spec, (c.e->>'mae')::float8 AS mae, (c.e->>'scored')::int AS scored
  FROM da, jsonb_array_elements(i #> '{auto,candidates}') WITH ORDINALITY AS c(e, ord);
SELECT dc.ord, dc.spec, close_to(dc.mae, b.mae, 1e-12) AS mae_is_backtests, dc.scored = b.n AS same_count, b.n
  FROM dc, LATERAL (SELECT avg(abs(r.forecast - r.actual)) AS mae, count(r.actual) AS n
                      FROM unnest((SELECT backtest(day, flow, CASE WHEN dc.spec::jsonb ? 'bucket'
                                                                   THEN jsonb_build_object('kind', 'combine', 'members', jsonb_build_array(dc.spec::jsonb))
                                                                   ELSE dc.spec::jsonb END,
                                                   jsonb_build_object('bucket', '7 days', 'horizon', 2, 'refit_every', 4, 'paths', 500,
                                                                      'origins', (SELECT jsonb_agg(to_char(o, 'YYYY-MM-DD'))
                                                                                    FROM generate_series('2019-07-06'::date, '2019-09-07', '7 days') o)))
                                     FROM dtrain)) r) b
 WHERE dc.ord <= 3 ORDER BY dc.ord;
-- the means of the best two and three: scored as the mean of their bucket
-- forecasts; the lowest MAE is chosen
SELECT (SELECT count(*) FROM dc) AS scored_specs, (SELECT min(mae) FROM dc) = (SELECT mae FROM dc WHERE ord = (i #>> '{auto,chosen}')::int) AS chose_lowest
  FROM da;
-- the default set with "bucket" on 10 years of days: log AR (the flow is
-- positive), orders by AIC, 7 and 14 (1 and 2 weeks of days), 2, 3 and 4
-- harmonics, windows of 3, 5 and 10 years, each with the constant and the
-- level variance: 54; weekly log AR of the weeks' means with 3 harmonics
-- on all of them and on the last 5 and 10 years (261, 522 weeks); and the
-- means of the best 2 and 3; the default
-- origins are 2 seasons of weeks (104), refitted every 13; its bucket
-- forecasts are its combination's
CREATE TEMP TABLE dm AS SELECT fit(day, flow, '{"kind": "auto", "bucket": "7 days", "horizon": 2}') AS m FROM dtrain;
SELECT jsonb_array_length(model_info(m) #> '{auto,candidates}') AS scored,
       (SELECT count(*) FROM jsonb_array_elements(model_info(m) #> '{auto,candidates}') e WHERE e->>'spec' LIKE '%"transform": "log"%') AS log,
       (SELECT count(*) FROM jsonb_array_elements(model_info(m) #> '{auto,candidates}') e WHERE e->>'spec' LIKE '%"variance": "level"%') AS level_variance,
       (SELECT count(*) FROM jsonb_array_elements(model_info(m) #> '{auto,candidates}') e
         WHERE e->>'spec' NOT LIKE '%combine%' AND e->>'spec' LIKE '%"bucket": "7 days"%') AS weekly,
       (SELECT string_agg(DISTINCT coalesce((e->>'spec')::jsonb->>'order', 'aic'), ',') FROM jsonb_array_elements(model_info(m) #> '{auto,candidates}') e
         WHERE e->>'spec' NOT LIKE '%combine%') AS orders,
       (SELECT string_agg(DISTINCT (e->>'spec')::jsonb->>'window', ',') FROM jsonb_array_elements(model_info(m) #> '{auto,candidates}') e
         WHERE e->>'spec' NOT LIKE '%combine%') AS windows,
       model_info(m) #>> '{auto,origins}' AS origins, model_info(m) #>> '{auto,refit_every}' AS refit_every,
       model_info(m) #>> '{auto,last_origin}' AS last_origin
  FROM dm;
SELECT count(*) AS buckets, min(bucket_start)::date AS first_week, bool_and(steps = 7) AS weeks_of_7_days
  FROM dm, forecast_buckets(m, '7 days', 2, 0.9, '{"paths": 200}');
-- an automatic bucket spec inside a bucket backtest
SELECT count(*) AS rows, count(actual) AS with_actual, bool_and(forecast > 0) AS positive
  FROM unnest((SELECT backtest(day, flow, '{"kind": "auto", "bucket": "7 days", "horizon": 2, "origins": 4,
                                            "candidates": [{"kind": "ar", "transform": "log", "order": 7}, {"kind": "ar", "transform": "log", "order": 14}]}',
                               '{"bucket": "7 days", "horizon": 2, "window": 1825, "paths": 200, "origins": ["2018-10-06", "2019-10-05"]}')
                 FROM verde_daily));
-- a candidate whose bucket paths overflow (order 7 on 16 days of logs:
-- explosive) is not scored and not chosen; backtest() refuses its forecast
SELECT e->>'spec' AS spec, e->>'mae' IS NULL AS not_scored, (e->>'scored')::int AS scored, model_info(m) #>> '{auto,chosen}' AS chosen
  FROM (SELECT fit(day, flow, '{"kind": "auto", "bucket": "7 days", "horizon": 2, "origins": 20, "combine_top": 0,
                                "candidates": [{"kind": "ar", "transform": "log", "order": 7},
                                               {"kind": "ar", "transform": "log", "order": 7, "window": 16}]}') AS m
          FROM verde_daily WHERE day <= '2019-09-28') s,
       jsonb_array_elements(model_info(m) #> '{auto,candidates}') e;
SELECT count(*) FROM unnest((SELECT backtest(day, flow, '{"kind": "ar", "transform": "log", "order": 7, "window": 16}',
                                             '{"bucket": "7 days", "horizon": 2, "paths": 500, "start": "2019-05-04", "every": 7, "refit_every": 13}')
                               FROM verde_daily WHERE day <= '2019-09-28'));
-- an hourly series in daily buckets (24 steps, a season of 24 hours): the
-- windows of 3, 5, 10 days are 72, 120, 240 hours, and the fixed orders of
-- 24 and 48 lags only where the window holds twice the 2p + 2K + 2 rows
-- their fits need (24 lags from 120 hours, 48 from 240); the last origin
-- ends a day of the session's time zone (PST here: the buckets of a series
-- of fixed steps are on absolute times, the origin 2000-01-02 read in the
-- session's zone), one day before the last complete one
SELECT jsonb_array_length(model_info(m) #> '{auto,candidates}') AS scored,
       (SELECT string_agg(coalesce((e->>'spec')::jsonb->>'order', 'aic') || '/' || coalesce((e->>'spec')::jsonb->>'window', 'all'), ' ' ORDER BY o)
          FROM jsonb_array_elements(model_info(m) #> '{auto,candidates}') WITH ORDINALITY x(e, o)
         WHERE e->>'spec' NOT LIKE '%combine%' AND e->>'spec' LIKE '%"harmonics": 2%' AND e->>'spec' NOT LIKE '%variance%') AS orders_windows_at_2_harmonics,
       (SELECT count(*) FROM jsonb_array_elements(model_info(m) #> '{auto,candidates}') e
         WHERE e->>'spec' LIKE '%"harmonics": 2%' AND e->>'spec' LIKE '%"variance": "level"%') AS with_level_variance,
       model_info(m) #>> '{auto,last_origin}' AS last_origin, model_info(m) #>> '{auto,origins}' AS origins
  FROM (SELECT fit(t, 2 + sin(extract(epoch FROM t) / 3600 * 2 * pi() / 24) + 0.1 * sin(extract(epoch FROM t) / 3600 * 7.3),
                   '{"kind": "auto", "bucket": "1 day", "horizon": 1}') AS m
          FROM generate_series('2020-01-01 00:00+00'::timestamptz, '2020-03-01 05:00+00', '1 hour') t) s;
-- errors
SELECT fit(day, flow, '{"kind": "auto", "paths": 100}') FROM dtrain;
SELECT fit(day, flow, '{"kind": "auto", "bucket_origin": "2000-01-03"}') FROM dtrain;
SELECT fit(day, flow, '{"kind": "auto", "bucket": 7}') FROM dtrain;
SELECT fit(day, flow, '{"kind": "auto", "bucket": "1 month"}') FROM dtrain;
SELECT fit(day, flow, '{"kind": "auto", "bucket": "36 hours"}') FROM dtrain;
SELECT fit(day, flow, '{"kind": "auto", "bucket": "7 days", "pathz": 10}') FROM dtrain;

-- frequency inference, calendar steps, gaps and the fill option
\i test/fixtures/regress.sql

-- a helper: frequency and the first three forecast timestamps of a series
CREATE FUNCTION freq_of(model tsmodel) RETURNS TABLE (frequency text, next text)
LANGUAGE sql STABLE AS $$
    SELECT model_info(model)->>'frequency',
           (SELECT string_agg(to_char(ts, 'YYYY-MM-DD HH24:MI TZ'), ', ' ORDER BY step)
              FROM forecast(model, 3))
$$;
SET TimeZone = 'UTC';

-- daily, weekly, monthly, quarterly, yearly dates
SELECT 'daily' AS series, * FROM freq_of((SELECT ar_fit(d::date, sin(i)) FROM generate_series(1, 60) i,
       LATERAL (SELECT '2020-01-01'::date + i AS d) x));
SELECT 'weekly', * FROM freq_of((SELECT ar_fit(week_start, flow) FROM verde));
SELECT 'monthly', * FROM freq_of((SELECT ar_fit((d)::date, sin(i))
       FROM generate_series(0, 40) i, LATERAL (SELECT '2017-01-31'::date + make_interval(months => i) AS d) x));
SELECT 'quarterly', * FROM freq_of((SELECT ar_fit((d)::date, sin(i) + i)
       FROM generate_series(0, 40) i, LATERAL (SELECT '2000-01-01'::date + make_interval(months => 3 * i) AS d) x));
SELECT 'yearly', * FROM freq_of((SELECT ar_fit((d)::date, cos(i) + i)
       FROM generate_series(0, 40) i, LATERAL (SELECT '1980-06-30'::date + make_interval(years => i) AS d) x));
-- (those two are month ends: see below.)  Monthly from the 30th, up to a
-- clamped 2020-02-29, goes on at the 30th: each step counts from the origin
SELECT 'monthly 30th', * FROM freq_of((SELECT ar_fit((d)::date, sin(i))
       FROM generate_series(0, 37) i, LATERAL (SELECT '2017-01-30'::date + make_interval(months => i) AS d) x));

-- timestamptz: hourly and every 15 minutes in UTC
SELECT 'hourly', * FROM freq_of((SELECT ar_fit('2024-03-30 00:00+00'::timestamptz + make_interval(hours => i), sin(i / 5.0))
       FROM generate_series(0, 100) i));
SELECT '15 min', * FROM freq_of((SELECT ar_fit('2024-03-30 00:00+00'::timestamptz + make_interval(mins => 15 * i), sin(i / 5.0))
       FROM generate_series(0, 100) i));

-- local-midnight daily data across a daylight-saving change stays daily
SET TimeZone = 'Europe/Berlin';
SELECT 'daily local', * FROM freq_of((SELECT ar_fit('2024-03-20 00:00'::timestamptz + make_interval(days => i), sin(i / 3.0))
       FROM generate_series(0, 20) i));
SET TimeZone = 'UTC';

-- an integer index with step 5
SELECT 'bigint', model_info(m)->>'frequency', model_info(m)->>'last_ts'
  FROM (SELECT ar_fit(5 * i::bigint, sin(i)) AS m FROM generate_series(1, 50) i) s;

-- gaps: an error by default, filled on request (on the transformed scale)
CREATE TEMP TABLE gappy AS
SELECT week_start, flow FROM verde
 WHERE week_start NOT IN ('2000-01-02', '2003-01-05', '2005-05-01') AND week_start < '2010-01-01';
SELECT ar_fit(week_start, flow) FROM gappy;
SELECT model_info(m)->>'n' AS n, model_info(m)->>'n_filled' AS filled, model_info(m)->>'fill' AS fill
  FROM (SELECT ar_fit(week_start, flow, '{"fill": "linear", "order": 2}') AS m FROM gappy) s;
-- linear fill: the same model as filling the table by hand
SELECT close_to((model_info(a)->'coefficients'->>0)::float8, (model_info(b)->'coefficients'->>0)::float8, 1e-12) AS same
  FROM (SELECT ar_fit(week_start, flow, '{"fill": "linear", "order": 1}') AS a FROM gappy) x,
       (SELECT ar_fit(w, f, '{"order": 1}') AS b FROM (
            SELECT w::date, coalesce(g.flow,
                   (lag(g.flow) OVER o + lead(g.flow) OVER o) / 2) AS f
              FROM generate_series('1989-01-01'::date, '2009-12-27'::date, '7 days') w
              LEFT JOIN gappy g ON g.week_start = w
            WINDOW o AS (ORDER BY w)) h) y;
-- previous fill, and NULL values count as missing points under a fill
SELECT model_info(ar_fit(t, v, '{"fill": "previous", "order": 1}'))->>'n_filled' AS filled
  FROM (VALUES (1::bigint, 1.0::float8), (2, 2.0), (3, NULL), (4, 3.0), (6, 2.5), (7, 2.0), (8, 1.0)) x(t, v);

-- irregular timestamps cannot be put on a grid
SELECT ar_fit(t, v) FROM (VALUES (0::bigint, 1.0::float8), (2, 2.0), (5, 1.0), (7, 2.0), (10, 3.0)) x(t, v);

-- month ends: the last day of every month, quarter or year, whatever the
-- origin's day (calendar months from the 30th or 28th would keep that day)
CREATE FUNCTION month_ends(first date, months int, n int) RETURNS TABLE (d date, i int)
LANGUAGE sql IMMUTABLE AS $$
    SELECT (date_trunc('month', first) + make_interval(months => months * i + 1) - interval '1 day')::date, i
      FROM generate_series(0, n - 1) i
$$;
SELECT 'from the 30th' AS series, * FROM freq_of((SELECT ar_fit(d, sin(i)) FROM month_ends('2020-04-30', 1, 30)));
SELECT 'from Feb 28', * FROM freq_of((SELECT ar_fit(d, sin(i)) FROM month_ends('2019-02-28', 1, 30)));
SELECT 'from Feb 29', * FROM freq_of((SELECT ar_fit(d, sin(i)) FROM month_ends('2020-02-29', 1, 24)));
SELECT 'from the 31st', * FROM freq_of((SELECT ar_fit(d, sin(i)) FROM month_ends('2018-01-31', 1, 26)));
-- the issue's series: on calendar months from 01-31 too, but month ends
-- continue at 04-30, not at 03-29 counted on from the last point
SELECT 'Jan 31, Feb 29, Mar 31', * FROM freq_of((SELECT ar_fit(d, v)
       FROM (VALUES ('2020-01-31'::date, 1.0::float8), ('2020-02-29', 3.0), ('2020-03-31', 2.0)) x(d, v)));
SELECT 'quarter ends', * FROM freq_of((SELECT ar_fit(d, sin(i) + i) FROM month_ends('2010-03-31', 3, 40)));
SELECT 'fiscal quarters', * FROM freq_of((SELECT ar_fit(d, sin(i) + i) FROM month_ends('2010-01-31', 3, 40)));
SELECT 'year ends', * FROM freq_of((SELECT ar_fit(d, cos(i) + i) FROM month_ends('1980-12-31', 12, 41)));
-- February's ends: 2019-02-28, 2020-02-29, ..., 2023-02-28, then 2024-02-29
SELECT 'Feb ends', * FROM freq_of((SELECT ar_fit(d, cos(i) + i) FROM month_ends('2019-02-28', 12, 5)));
SELECT 'every 2 months', * FROM freq_of((SELECT ar_fit(d, sin(i)) FROM month_ends('2020-04-30', 2, 30)));
-- three year ends 365 days apart are year ends, not every 365 days
SELECT 'three year ends', * FROM freq_of((SELECT ar_fit(d, v)
       FROM (VALUES ('2021-12-31'::date, 1.0::float8), ('2022-12-31', 3.0), ('2023-12-31', 2.0)) x(d, v)));

-- timestamptz month ends at local midnight, across daylight saving, in the
-- session time zone (as calendar days and months are)
SET TimeZone = 'America/New_York';
CREATE TEMP TABLE me_tz AS
SELECT d::timestamptz AS t, sin(i) AS v FROM month_ends('2019-01-31', 1, 33);
SELECT to_char(min(t), 'YYYY-MM-DD HH24:MI TZ') AS first, to_char(max(t), 'YYYY-MM-DD HH24:MI TZ') AS last FROM me_tz;
SELECT 'local month ends', * FROM freq_of((SELECT ar_fit(t, v) FROM me_tz));
-- in UTC the same instants are at 05:00 in winter and 04:00 in summer
SET TimeZone = 'UTC';
SELECT ar_fit(t, v) FROM me_tz;

-- a missing month end: found, an error without fill, filled on request
CREATE TEMP TABLE me_gap AS
SELECT d, 10 + sin(i) + i / 10.0 AS v FROM month_ends('2020-04-30', 1, 36) WHERE d <> '2021-02-28';
SELECT ar_fit(d, v) FROM me_gap;
SELECT model_info(m)->>'n' AS n, model_info(m)->>'n_filled' AS filled, model_info(m)->>'frequency' AS frequency
  FROM (SELECT ar_fit(d, v, '{"fill": "linear", "order": 2}') AS m FROM me_gap) s;
-- the same model as the table filled by hand, midway between its neighbours
SELECT close_to((model_info(a)->'coefficients'->>0)::float8, (model_info(b)->'coefficients'->>0)::float8, 1e-12) AS same
  FROM (SELECT ar_fit(d, v, '{"fill": "linear", "order": 1}') AS a FROM me_gap) x,
       (SELECT ar_fit(d, v, '{"order": 1}') AS b FROM (
            SELECT e.d, coalesce(g.v, (lag(g.v) OVER o + lead(g.v) OVER o) / 2) AS v
              FROM month_ends('2020-04-30', 1, 36) e LEFT JOIN me_gap g USING (d)
            WINDOW o AS (ORDER BY e.d)) h) y;

-- month ends mixed with other days are still irregular
SELECT ar_fit(d, v) FROM (VALUES ('2020-04-30'::date, 1.0::float8), ('2020-05-31', 2.0),
       ('2020-06-15', 1.5), ('2020-07-31', 1.0)) x(d, v);
SELECT ar_fit(d, v) FROM (VALUES ('2020-04-30'::date, 1.0::float8), ('2020-05-31', 2.0),
       ('2020-06-30', 1.5), ('2020-07-30', 1.0)) x(d, v);

-- the grid changes, not the fit: the same coefficients, constant, sigma2 and
-- AIC as the same values on an integer index
CREATE TEMP TABLE me AS SELECT d, i, 10 + sin(i / 2.0) + cos(i / 3.0) AS v FROM month_ends('2004-04-30', 1, 180);
SELECT model_info(a)->>'order' AS p, model_info(a)->'coefficients' = model_info(b)->'coefficients' AS coefficients,
       model_info(a)->'constant' = model_info(b)->'constant' AS constant,
       model_info(a)->'sigma2' = model_info(b)->'sigma2' AS sigma2, model_info(a)->'aic' = model_info(b)->'aic' AS aic
  FROM (SELECT ar_fit(d, v) AS a FROM me) x, (SELECT ar_fit(i::bigint, v) AS b FROM me) y;

-- model_info, and a text round trip keeps the grid
CREATE TEMP TABLE me_model AS SELECT ar_fit(d, v, '{"order": 2}') AS m FROM me;
SELECT model_info(m)->>'frequency' AS frequency, model_info(m)->>'first_ts' AS first_ts,
       model_info(m)->>'last_ts' AS last_ts, model_info(m)->>'n' AS n FROM me_model;
SELECT m::text::tsmodel::text = m::text AS same_text,
       model_info(m::text::tsmodel)->>'frequency' AS frequency FROM me_model;
SELECT * FROM freq_of((SELECT m::text::tsmodel FROM me_model));

-- predict() places the rows on the month-end grid: over the training data,
-- the lags of each row are the two month ends before it
SELECT count(p) AS predicted, count(*) AS rows,
       bool_and(close_to(p, (model_info(m)->>'constant')::float8
                         + (model_info(m)->'coefficients'->>0)::float8 * l1
                         + (model_info(m)->'coefficients'->>1)::float8 * l2, 1e-12)) AS recursion
  FROM (SELECT m, v, lag(v) OVER w AS l1, lag(v, 2) OVER w AS l2, predict(m, d, v) OVER w AS p
          FROM me, me_model WINDOW w AS (ORDER BY d)) s;
-- newer data: the training data, then the forecast's month ends as if
-- observed, one missing; the first two predict the forecast's values (its
-- recursion), the two after the missing 2019-06-30 lack a lag
SELECT to_char(d, 'YYYY-MM-DD') AS d, step, close_to(p, f, 1e-12) AS is_forecast
  FROM (SELECT d, step, f, predict(m, d, v) OVER (ORDER BY d) AS p
          FROM me_model,
               (SELECT d, v, NULL::int AS step, NULL::float8 AS f FROM me
                UNION ALL
                SELECT ts::date, value, step, value FROM me_model, forecast(m, 5)) h
         WHERE d <> '2019-06-30') s
 WHERE d > '2019-03-31' ORDER BY d;
-- a date off the grid
SELECT predict(m, '2019-05-30'::date, 1.0) OVER () FROM me_model;

-- an LSTM on month ends: the season of a monthly series (period 12, the
-- month's number), so the same values on the months' first days give the
-- same network, bit for bit
CREATE TEMP TABLE me_lstm AS
SELECT (SELECT lstm_train(d, v, '{"hidden": 4, "epochs": 5, "conv_kernel": 0}') FROM me) AS a,
       (SELECT lstm_train(date_trunc('month', d)::date, v, '{"hidden": 4, "epochs": 5, "conv_kernel": 0}') FROM me) AS b;
SELECT model_info(a)->>'frequency' AS a, model_info(b)->>'frequency' AS b,
       model_info(a)->'hyperparameters'->>'season_length' AS season_length,
       a::jsonb->'season_phase' = b::jsonb->'season_phase' AS same_phase,
       a::jsonb->'params' = b::jsonb->'params' AS same_params FROM me_lstm;
SELECT to_char(x.ts, 'YYYY-MM-DD') AS a_ts, to_char(y.ts, 'YYYY-MM-DD') AS b_ts, x.value = y.value AS same_value
  FROM me_lstm, forecast(a, 3) x JOIN forecast(b, 3) y USING (step) ORDER BY step;
SELECT count(p) AS predicted, count(*) AS rows
  FROM (SELECT predict(a, d, v) OVER (ORDER BY d) AS p FROM me, me_lstm) s;

-- the stored format: month ends are frequency unit 4 (byte 9), with a
-- bounded step of months (bytes 12-19); other steps or units are refused
SELECT get_byte(decode(m::text, 'base64'), 9) AS unit, get_byte(decode(m::text, 'base64'), 12) AS step FROM me_model;
SELECT encode(overlay(decode(m::text, 'base64') PLACING '\xb104000000000000'::bytea FROM 13 FOR 8), 'base64')::tsmodel
  FROM me_model;
SELECT encode(overlay(decode(m::text, 'base64') PLACING '\x0000000000000000'::bytea FROM 13 FOR 8), 'base64')::tsmodel
  FROM me_model;
SELECT encode(set_byte(decode(m::text, 'base64'), 9, 5), 'base64')::tsmodel FROM me_model;
-- a model stored as calendar months from the 31st (unit 3, as 0.4.0
-- inferred such a series) goes on from its origin: 03-31 after 02-29
SELECT * FROM freq_of((SELECT encode(set_byte(decode(ar_fit(d, sin(i))::text, 'base64'), 9, 3), 'base64')::tsmodel
                         FROM month_ends('2018-01-31', 1, 26)));

-- frequency inference, calendar steps, gaps and the fill option

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

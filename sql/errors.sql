-- errors are for people: each bad input gets a clear message
\i test/fixtures/regress.sql

-- options
SELECT ar_fit(week_start, flow, '{"ordr": 2}') FROM verde;
SELECT ar_fit(week_start, flow, '{"order": -1}') FROM verde;
SELECT ar_fit(week_start, flow, '{"order": 2.5}') FROM verde;
SELECT ar_fit(week_start, flow, '{"order": "two"}') FROM verde;
SELECT ar_fit(week_start, flow, '{"method": "burg"}') FROM verde;
SELECT ar_fit(week_start, flow, '{"intercept": "yes"}') FROM verde;
SELECT ar_fit(week_start, flow, '{"order": 2, "max_order": 5}') FROM verde;
SELECT ar_fit(week_start, flow, '[1, 2]') FROM verde;

-- data
SELECT ar_fit(t, v) FROM (VALUES (1::bigint, 1.0::float8), (2, 2.0)) x(t, v);
SELECT ar_fit(t, v, '{"order": 3}') FROM (VALUES (1::bigint, 1.0::float8), (2, 2.0), (3, 1.5), (4, 2.5), (5, 1.0)) x(t, v);
SELECT ar_fit(t, v, '{"max_order": 8}') FROM generate_series(1, 10) t, LATERAL (SELECT sin(t) AS v) x;
SELECT ar_fit(t, v) FROM (VALUES (1::bigint, 1.0::float8), (2, 2.0), (2, 3.0), (3, 1.0)) x(t, v);
SELECT ar_fit(t, v) FROM (VALUES (1::bigint, 1.0::float8), (2, NULL), (3, 1.0)) x(t, v);
SELECT ar_fit(t, v) FROM (VALUES (1::bigint, 1.0::float8), (NULL, 2.0), (3, 1.0)) x(t, v);
SELECT ar_fit(t, v) FROM (VALUES (1::bigint, 1.0::float8), (2, 'NaN'), (3, 1.0)) x(t, v);
SELECT ar_fit(t, v) FROM (VALUES (1::bigint, 1.0::float8), (2, 'Infinity'), (3, 1.0)) x(t, v);
SELECT ar_fit(t, v) FROM (VALUES ('infinity'::timestamptz, 1.0::float8), ('2020-01-01', 2.0)) x(t, v);
SELECT ar_fit(t, v, '{"transform": "log"}') FROM (VALUES (1::bigint, 1.0::float8), (2, 0.0), (3, 1.0)) x(t, v);
SELECT ar_fit(t, v, '{"order": 1}') FROM generate_series(1, 30) t, LATERAL (SELECT 4.0::float8 AS v) x;
SELECT ar_fit(t, v, '{"fill": "linear"}') FROM (VALUES (1::bigint, 1.0::float8), (2, 2.0), (200000000, 1.0)) x(t, v);
-- a constant series is a valid AR(0): its forecast is the constant, with no spread
SELECT round(value::numeric, 10) AS value, round(lo::numeric, 10) AS lo, round(hi::numeric, 10) AS hi
  FROM forecast((SELECT ar_fit(t, 4.0) FROM generate_series(1, 30) t), 1);

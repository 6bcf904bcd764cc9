-- combine: a model kind that combines members' forecasts (model_combine.c),
-- fitted with fit(ts, value, spec).  The references are the members fitted
-- on their own with ar_fit, their forecasts, predictions and backtests
-- combined here in SQL (the AR fits themselves are checked against
-- statsmodels in ar_fit.sql); the weights are recomputed from backtest()
-- of each member over the inner origins, derived here from the rows.
\i test/fixtures/regress.sql

CREATE TEMP TABLE train AS SELECT * FROM verde WHERE week_start < '2019-01-01';
CREATE TEMP TABLE specs (name text PRIMARY KEY, spec jsonb);
INSERT INTO specs VALUES
  ('a', '{"kind": "ar", "transform": "log", "harmonics": 3}'),
  ('b', '{"kind": "ar", "window": 260}'),
  ('c', '{"kind": "ar", "transform": "log", "order": 2}');

-- the members on their own: ar_fit of their options
CREATE TEMP TABLE own AS
SELECT s.name, (SELECT ar_fit(week_start, flow, s.spec - 'kind') FROM train) AS model FROM specs s;

CREATE TEMP TABLE cm (how text PRIMARY KEY, model tsmodel);
INSERT INTO cm SELECT 'mean', fit(week_start, flow,
  jsonb_build_object('kind', 'combine', 'members', (SELECT jsonb_agg(spec ORDER BY name) FROM specs WHERE name < 'c')))
  FROM train;
INSERT INTO cm SELECT 'median', fit(week_start, flow,
  jsonb_build_object('kind', 'combine', 'how', 'median', 'members', (SELECT jsonb_agg(spec ORDER BY name) FROM specs)))
  FROM train;
INSERT INTO cm SELECT 'weights', fit(week_start, flow,
  jsonb_build_object('kind', 'combine', 'how', 'weights', 'members', (SELECT jsonb_agg(spec ORDER BY name) FROM specs),
                     'weights_from', '{"horizon": 2, "origins": 30, "every": 2, "refit_every": 3}'::jsonb))
  FROM train;

-- the members' own forecasts, 8 steps
CREATE TEMP TABLE own_f AS
SELECT o.name, f.* FROM own o, forecast(o.model, 8) f;

-- mean of a and b: the combination's forecast, interval too, to 1e-12
SELECT count(*) AS steps,
       max(abs(c.value - r.value) / r.value) < 1e-12 AS value_is_mean,
       max(abs(c.lo - r.lo) / abs(r.lo)) < 1e-12 AS lo_is_mean,
       max(abs(c.hi - r.hi) / r.hi) < 1e-12 AS hi_is_mean,
       bool_and(c.ts = r.ts) AS same_weeks
  FROM forecast((SELECT model FROM cm WHERE how = 'mean'), 8) c
  JOIN (SELECT step, min(ts) AS ts, avg(value) AS value, avg(lo) AS lo, avg(hi) AS hi
          FROM own_f WHERE name < 'c' GROUP BY step) r USING (step);

-- median of a, b and c
SELECT count(*) AS steps,
       max(abs(c.value - r.value) / r.value) < 1e-12 AS value_is_median,
       max(abs(c.lo - r.lo) / abs(r.lo)) < 1e-12 AS lo_is_median,
       max(abs(c.hi - r.hi) / r.hi) < 1e-12 AS hi_is_median
  FROM forecast((SELECT model FROM cm WHERE how = 'median'), 8) c
  JOIN (SELECT step, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS value,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY lo) AS lo,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY hi) AS hi
          FROM own_f GROUP BY step) r USING (step);

-- weights: each member's backtest() over the inner origins, on the
-- training rows only: the last origin 2 weeks before the last row, 30 of
-- them 2 weeks apart; MSE over both steps; w = (1 / mse) / sum(1 / mse)
CREATE TEMP TABLE inner_origins AS
SELECT max(week_start) - 7 * (2 + 2 * g) AS origin
  FROM train, generate_series(0, 29) g GROUP BY g;
CREATE TEMP TABLE inner_mse AS
SELECT s.name, avg(((b).forecast - (b).actual) ^ 2) AS mse, count((b).actual) AS scored
  FROM specs s,
       LATERAL (SELECT unnest(backtest(week_start, flow, s.spec,
                  jsonb_build_object('horizon', 2, 'refit_every', 3,
                                     'origins', (SELECT jsonb_agg(to_char(origin, 'YYYY-MM-DD') ORDER BY origin) FROM inner_origins)))) AS b
                  FROM train) bt
 GROUP BY s.name;
SELECT name, scored FROM inner_mse ORDER BY name;
CREATE TEMP TABLE w_ref AS
SELECT name, mse, (1 / mse) / sum(1 / mse) OVER () AS w FROM inner_mse;
SELECT r.name, abs((m->>'weight')::float8 - r.w) < 1e-12 AS weight_ok,
       abs((m->>'inner_mse')::float8 - r.mse) / r.mse < 1e-12 AS mse_ok
  FROM cm, jsonb_array_elements(model_info(model)->'members') WITH ORDINALITY AS e(m, i),
       w_ref r
 WHERE how = 'weights' AND r.name = chr(96 + i::int) ORDER BY 1;
SELECT count(*) AS steps,
       max(abs(c.value - r.value) / r.value) < 1e-12 AS value_is_weighted_mean,
       max(abs(c.hi - r.hi) / r.hi) < 1e-12 AS hi_is_weighted_mean
  FROM forecast((SELECT model FROM cm WHERE how = 'weights'), 8) c
  JOIN (SELECT step, sum(w * value) AS value, sum(w * hi) AS hi
          FROM own_f JOIN w_ref USING (name) GROUP BY step) r USING (step);

-- model_info: the members, their kinds, options and weights
SELECT how, model_info(model)->>'kind' AS kind, model_info(model)->>'how' AS info_how,
       model_info(model)->>'transform' AS transform, model_info(model)->'n' AS n,
       (SELECT string_agg(format('%s %s K=%s n=%s w=%s', m->'model'->>'kind', m->'model'->>'transform',
                                 coalesce(m->'model'->>'harmonics', '0'), m->'model'->>'n',
                                 round((m->>'weight')::numeric, 4)), '; ')
          FROM jsonb_array_elements(model_info(model)->'members') m) AS members
  FROM cm ORDER BY how;
SELECT jsonb_object_keys(model_info(model)) AS key FROM cm WHERE how = 'weights' ORDER BY 1;

-- round trips: text, and binary through COPY BINARY (send/receive)
SELECT how, model::text::tsmodel::text = model::text AS text_same,
       (SELECT array_agg(f ORDER BY step) FROM forecast(model, 4) f)
     = (SELECT array_agg(f ORDER BY step) FROM forecast(model::text::tsmodel, 4) f) AS forecast_same
  FROM cm ORDER BY how;
\copy (SELECT how, model FROM cm) TO 'test/results/combine.bin' WITH (FORMAT binary)
CREATE TEMP TABLE cm_back (LIKE cm);
\copy cm_back FROM 'test/results/combine.bin' WITH (FORMAT binary)
SELECT a.how, a.model::text = b.model::text AS binary_same FROM cm a JOIN cm_back b USING (how) ORDER BY 1;
-- the jsonb cast shows each member's full view
SELECT jsonb_array_length((model::jsonb)->'members'->0->'model'->'history') > 0 AS member_history
  FROM cm WHERE how = 'mean';

-- predict(): the mean of the members' one-step predictions, NULL where any is
CREATE TEMP TABLE p AS
SELECT week_start,
       predict((SELECT model FROM cm WHERE how = 'mean'), week_start, flow) OVER w AS c,
       predict((SELECT model FROM own WHERE name = 'a'), week_start, flow) OVER w AS a,
       predict((SELECT model FROM own WHERE name = 'b'), week_start, flow) OVER w AS b
  FROM verde WINDOW w AS (ORDER BY week_start);
SELECT count(c) AS predicted, count(*) FILTER (WHERE c IS NULL) AS null_rows,
       bool_and((c IS NULL) = (a IS NULL OR b IS NULL)) AS null_where_a_member_is,
       max(abs(c - (a + b) / 2) / abs(c)) < 1e-12 AS is_mean
  FROM p;

-- model_update(): every member moves on; the forecast is the mean of the
-- members moved on by model_update() on their own
CREATE TEMP TABLE upd AS
SELECT (SELECT model_update((SELECT model FROM cm WHERE how = 'mean'), week_start, flow)
          FROM verde WHERE week_start >= '2019-01-01' AND week_start < '2019-03-01') AS c,
       (SELECT model_update((SELECT model FROM own WHERE name = 'a'), week_start, flow)
          FROM verde WHERE week_start >= '2019-01-01' AND week_start < '2019-03-01') AS a,
       (SELECT model_update((SELECT model FROM own WHERE name = 'b'), week_start, flow)
          FROM verde WHERE week_start >= '2019-01-01' AND week_start < '2019-03-01') AS b;
SELECT model_info(c)->>'updated_to' AS updated_to,
       (SELECT string_agg(m->'model'->>'updated_to', ', ') FROM jsonb_array_elements(model_info(c)->'members') m) AS members_to,
       (SELECT max(abs(fc.value - (fa.value + fb.value) / 2) / fc.value) < 1e-12
          FROM forecast(c, 4) fc JOIN forecast(a, 4) fa USING (step) JOIN forecast(b, 4) fb USING (step)) AS is_mean,
       (SELECT min(ts)::date FROM forecast(c, 4)) AS first_forecast
  FROM upd;
SELECT c::text::tsmodel::text = c::text AS updated_round_trip FROM upd;

-- backtest() of a combination spec: at each origin the mean of the
-- members' own backtests (each member refitted on the rows up to it)
SELECT count(*) AS rows,
       max(abs(c.forecast - (a.forecast + b.forecast) / 2) / c.forecast) < 1e-12 AS is_mean,
       bool_and(c.actual IS NOT DISTINCT FROM a.actual) AS same_actuals
  FROM (SELECT (unnest(backtest(week_start, flow,
                 jsonb_build_object('kind', 'combine', 'members', (SELECT jsonb_agg(spec ORDER BY name) FROM specs WHERE name < 'c')),
                 '{"horizon": 2, "start": "2018-06-01", "every": 4, "refit_every": 2}'))).* FROM verde) c
  JOIN (SELECT (unnest(backtest(week_start, flow, (SELECT spec FROM specs WHERE name = 'a'),
                 '{"horizon": 2, "start": "2018-06-01", "every": 4, "refit_every": 2}'))).* FROM verde) a USING (origin, step)
  JOIN (SELECT (unnest(backtest(week_start, flow, (SELECT spec FROM specs WHERE name = 'b'),
                 '{"horizon": 2, "start": "2018-06-01", "every": 4, "refit_every": 2}'))).* FROM verde) b USING (origin, step);

-- a fill: the members take the combination's
SELECT model_info(fit(week_start, CASE WHEN week_start = '2018-05-06' THEN NULL ELSE flow END,
         '{"kind": "combine", "fill": "linear", "members": [{"kind": "ar"}, {"kind": "ar", "harmonics": 2}]}'))
         #>> '{members,1,model,n_filled}' AS member_filled
  FROM train;

-- the stored format: header, how (69), n (70), then per member its grid
-- (71), offset, weight, score, length (100) and the member's own bytes
CREATE TEMP TABLE raw AS SELECT decode(model::text, 'base64') AS b FROM cm WHERE how = 'mean';
SELECT get_byte(b, 6) AS kind, get_byte(b, 69) AS how, get_byte(b, 70) AS members,
       get_byte(b, 71) AS grid, encode(substr(b, 101, 4), 'escape') AS member_magic FROM raw;

-- the reader refuses a corrupt combination, and a corrupt member
SELECT encode(set_byte(b, 69, 3), 'base64')::tsmodel FROM raw;           -- how
SELECT encode(set_byte(b, 70, 9), 'base64')::tsmodel FROM raw;           -- 9 members
SELECT encode(set_byte(b, 70, 0), 'base64')::tsmodel FROM raw;           -- none
SELECT encode(set_byte(b, 71, 1), 'base64')::tsmodel FROM raw;           -- on buckets, without their fields
SELECT encode(set_byte(b, 78, 1), 'base64')::tsmodel FROM raw;           -- its offset
SELECT encode(set_byte(b, 86, 0), 'base64')::tsmodel FROM raw;           -- its weight: 0.5 -> 0.0
SELECT encode(set_byte(b, 100, 70), 'base64')::tsmodel FROM raw;         -- the member's magic
SELECT encode(set_byte(b, 126, 2), 'base64')::tsmodel FROM raw;          -- the member's first_ts
SELECT encode(set_byte(b, 10, 1), 'base64')::tsmodel FROM raw;           -- a transform of its own
SELECT encode(substr(b, 1, length(b) - 1), 'base64')::tsmodel FROM raw;  -- truncated
SELECT encode(b || '\x00'::bytea, 'base64')::tsmodel FROM raw;           -- trailing byte
-- nesting: a combination whose member is that combination reads (two
-- levels), one level more does not
CREATE FUNCTION pg_temp.wrap(m bytea) RETURNS bytea LANGUAGE sql AS $$
  SELECT substr(m, 1, 69) || '\x0001'::bytea || '\x00'::bytea || '\x0000000000000000'::bytea
         || '\x000000000000f03f'::bytea || '\x0000000000000000'::bytea
         || set_byte(set_byte(set_byte(set_byte('\x00000000'::bytea, 0, length(m) % 256),
                      1, (length(m) / 256) % 256), 2, (length(m) / 65536) % 256), 3, 0)
         || m $$;
SELECT model_info(encode(pg_temp.wrap(b), 'base64')::tsmodel) #>> '{members,0,model,kind}' AS two_levels FROM raw;
SELECT encode(pg_temp.wrap(pg_temp.wrap(b)), 'base64')::tsmodel FROM raw;

-- errors in the spec, before any fit
SELECT fit(week_start, flow, '{"kind": "combine"}') FROM train;
SELECT fit(week_start, flow, '{"kind": "combine", "members": []}') FROM train;
SELECT fit(week_start, flow, '{"kind": "combine", "members": {"kind": "ar"}}') FROM train;
SELECT fit(week_start, flow, jsonb_build_object('kind', 'combine', 'members',
         (SELECT jsonb_agg('{"kind": "ar"}'::jsonb) FROM generate_series(1, 9)))) FROM train;
SELECT fit(week_start, flow, '{"kind": "combine", "members": [{"kind": "combine", "members": [{"kind": "ar"}]}]}') FROM train;
SELECT fit(week_start, flow, '{"kind": "combine", "members": [{"kind": "auto"}]}') FROM train;
SELECT fit(week_start, flow, '{"kind": "combine", "members": [{"kind": "ar", "bucket": "7 days"}]}') FROM train;  -- a bucket of one week of weeks
SELECT fit(week_start, flow, '{"kind": "combine", "members": [{"kind": "ar", "ordr": 2}]}') FROM train;
SELECT fit(week_start, flow, '{"kind": "combine", "members": [3]}') FROM train;
SELECT fit(week_start, flow, '{"kind": "combine", "how": "max", "members": [{"kind": "ar"}]}') FROM train;
SELECT fit(week_start, flow, '{"kind": "combine", "members": [{"kind": "ar"}], "weights_from": {"horizon": 2}}') FROM train;
SELECT fit(week_start, flow, '{"kind": "combine", "how": "weights", "members": [{"kind": "ar"}], "weights_from": {"horizn": 2}}') FROM train;
SELECT fit(week_start, flow, '{"kind": "combine", "members": [{"kind": "ar", "fill": "linear"}]}') FROM train;
SELECT fit(week_start, flow, '{"kind": "combine", "members": [{"kind": "ar"}], "colour": 1}') FROM train;
SELECT fit(week_start, flow, '{"kind": "combine", "members": [{"kind": "ar"}], "device": "cuda"}') FROM train;
SELECT fit(week_start, flow, '{"kind": "combine", "how": "weights", "members": [{"kind": "ar"}],
                               "weights_from": {"origins": 2000, "every": 1}}') FROM train WHERE week_start > '2017-01-01';
SELECT fit(week_start, flow, NULL) FROM train;
-- a member's own error names the member
SELECT fit(week_start, flow, '{"kind": "combine", "members": [{"kind": "ar"}, {"kind": "ar", "order": 900, "window": 300}]}') FROM train;
-- a member's own keys stay its own: an LSTM's "seed" is its seed, not a
-- bucket forecast's (which only a member with "bucket" has)
SELECT model_info(fit(week_start, flow, '{"kind": "combine", "members": [{"kind": "lstm", "hidden": 4, "epochs": 2, "seed": 3}]}'))
         #>> '{members,0,model,hyperparameters,seed}' AS lstm_seed
  FROM train WHERE week_start > '2017-01-01';

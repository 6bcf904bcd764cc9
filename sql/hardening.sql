-- hardening: what a hostile or careless caller could do to the server in
-- release 0.4.0, each now a clear error (or a correct result).  Every query
-- here crashed a backend, restarted the server, stored a model that did not
-- read back, or gave a wrong SQLSTATE or a NaN before.  Stands alone.
CREATE EXTENSION IF NOT EXISTS tsforecast;
SET search_path = public, tsforecast;
SET extra_float_digits = 0;
-- the library's settings exist once it is loaded (it may not be preloaded)
LOAD 'tsforecast';

-- ---- sizes are checked against tsforecast.max_memory before any memory is taken ----

SHOW tsforecast.max_memory;
-- 1 GB of weights per block: refused before anything is allocated (0.4.0
-- took 16 GB and the OOM killer restarted the server)
SELECT lstm_train(i::bigint, sin(i), '{"hidden": 4096, "layers": 8, "epochs": 1}') FROM generate_series(1, 5) i;
-- storable, but its training would take more than the limit
SELECT lstm_train(i::bigint, sin(i), '{"hidden": 2048, "layers": 2, "epochs": 1}') FROM generate_series(1, 5) i;
-- three rows spanning 3,000,000 steps, filled: 2.6 KB a step of workspace
SELECT lstm_train(t, v, '{"fill": "linear", "epochs": 1}')
  FROM (VALUES (1::bigint, 1.0::float8), (2, 2.0), (3000000, 1.0)) x(t, v);
-- and an AR fit spanning 100,000,000 steps
SELECT ar_fit(t, v, '{"fill": "linear", "order": 1}')
  FROM (VALUES (1::bigint, 1.0::float8), (2, 2.0), (100000000, 1.0)) x(t, v);
-- a superuser sets the limit; here low enough for a forecast, a prediction
-- and a jsonb view of a small network to reach it
CREATE TABLE hm AS
SELECT lstm_train(i::bigint, sin(i / 4.0), '{"hidden": 64, "epochs": 1}') AS m FROM generate_series(1, 60) i;
SET tsforecast.max_memory = '8MB';
SELECT count(*) FROM hm, forecast(m, 100000);
SELECT count(*) FROM hm, forecast(m, 100);
SELECT count(p) FROM (SELECT predict(hm.m, i::bigint, sin(i / 4.0)) OVER (ORDER BY i) AS p
                        FROM hm, generate_series(1, 400000) i) x;
SET tsforecast.max_memory = '1MB';
SELECT m::jsonb IS NOT NULL FROM hm;
-- (PyTorch's count of that network: Conv1d(1, 4, 3) 16, LSTM(4, 64) with
-- two bias vectors 4*64*(4 + 64 + 2), Linear(64, 1) 65)
SELECT model_info(m)->>'n_params' AS n_params,
       (model_info(m)->>'n_params')::int = 16 + 4 * 64 * (4 + 64 + 2) + 65 AS pytorch_count FROM hm;
SELECT ar_fit(i::bigint, sin(i)) FROM generate_series(1, 100000) i;
RESET tsforecast.max_memory;
-- only a superuser may change it
CREATE ROLE tsf_hardening_user;
SET ROLE tsf_hardening_user;
SET tsforecast.max_memory = '100GB';
RESET ROLE;
DROP ROLE tsf_hardening_user;

-- ---- extreme values: a model is stored only if it reads back ----

-- values near 1e154 (sigma2 overflowed to Infinity in 0.4.0, and order 3
-- said "collinear"): the fit scales them; the model reads back and forecasts
CREATE TABLE big AS SELECT i::bigint AS t, 1e154 * (2 + sin(i / 3.0) + 0.1 * ((i * 7919) % 13)) AS v
  FROM generate_series(1, 200) i;
SELECT m::text::tsmodel::text = m::text AS reads_back, model_info(m)->>'order' AS ord,
       (model_info(m)->>'sigma2')::float8 > 0 AS sigma2_finite
  FROM (SELECT ar_fit(t, v) AS m FROM big) x;
SELECT model_info(m)->>'order' AS ord, m::text::tsmodel IS NOT NULL AS reads_back
  FROM (SELECT ar_fit(t, v, '{"order": 3}') AS m FROM big) x;
SELECT bool_and(value > 1e153 AND value < 1e155) AS forecasts_finite
  FROM (SELECT ar_fit(t, v, '{"order": 3}') AS m FROM big) x, forecast(m, 5);
-- the same series scaled to 1e-300 has the same coefficients, to rounding
SELECT max(abs(a.c::float8 / b.c::float8 - 1)) < 1e-9 AS same_coefficients
  FROM jsonb_array_elements_text((SELECT model_info(ar_fit(t, v, '{"order": 3}'))->'coefficients' FROM big))
         WITH ORDINALITY a(c, i)
  JOIN jsonb_array_elements_text((SELECT model_info(ar_fit(t, v * 1e-227::float8 * 1e-227::float8, '{"order": 3}'))->'coefficients'
                                    FROM big)) WITH ORDINALITY b(c, i) USING (i);
-- an LSTM scales its inputs to [0, 1] anyway
SELECT m::text::tsmodel IS NOT NULL AS reads_back
  FROM (SELECT lstm_train(t, v, '{"epochs": 2, "hidden": 4}') AS m FROM big) x;

-- ---- options: the same on every row ----

-- a NULL first row used to mean the defaults, and later rows were never read
SELECT ar_fit(t, v, o) FROM (VALUES (1::bigint, 1.0::float8, NULL::jsonb), (2, 2.0, '{"order": 1}'),
                                    (3, 1.5, '{"order": 1}'), (4, 2.5, '{"order": 1}')) x(t, v, o);
-- a bad option on a later row was never checked
SELECT ar_fit(t, v, o) FROM (VALUES (1::bigint, 1.0::float8, '{"order": 1}'::jsonb), (2, 2.0, '{"order": 1}'),
                                    (3, 1.5, '{"ordr": 1}')) x(t, v, o);
-- differing options made the model depend on the scan order
SELECT lstm_train(t, v, o) FROM (VALUES (1::bigint, 1.0::float8, '{"epochs": 1}'::jsonb), (2, 2.0, '{"epochs": 1}'),
                                        (3, 1.5, '{"epochs": 2}')) x(t, v, o);
-- the same options written differently are the same jsonb
SELECT model_info(ar_fit(t, v, o))->>'order' AS ord
  FROM (VALUES (1::bigint, 1.0::float8, '{"order": 1, "method": "ols"}'::jsonb), (2, 2.0, '{"method": "ols",  "order": 1}'),
               (3, 1.5, '{"order": 1,"method":"ols"}'), (4, 2.5, '{"order": 1, "method": "ols"}'), (5, 2.0, '{"order": 1, "method": "ols"}')) x(t, v, o);
-- NULL options on every row are the defaults
SELECT model_info(ar_fit(t, sin(t), NULL))->>'order_selection' AS sel FROM generate_series(1, 50) t;

-- ---- SQLSTATEs and messages ----

-- a number beyond float8 in the options: 22023 and a short message (was
-- 22003 with every digit of it)
SELECT ar_fit(i::bigint, sin(i), ('{"order": 1' || repeat('0', 400) || '}')::jsonb) FROM generate_series(1, 20) i;
SELECT lstm_train(i::bigint, sin(i), '{"lr": 1e400}') FROM generate_series(1, 20) i;
-- a span that overflows 64 bits: 54000 (was XX000 "timestamp off the inferred grid")
SELECT ar_fit(t, v) FROM (VALUES (-9000000000000000000::bigint, 1.0::float8), (0, 2.0),
                                 (9000000000000000000, 1.5)) x(t, v);
-- the metrics' support functions, callable by anyone: 22023 (was XX000)
SELECT tsforecast._r2_finalfn('{1,2}');
SELECT tsforecast._r2_finalfn('{1,NaN,0,0,0,0,0,0,0,0,0}');
-- metrics of values whose squares overflow: 22003, as float8's own aggregates (was NaN)
SELECT r2(a, p) FROM (VALUES (1e200, 2e200), (3e200, 1e200), (2e200, 2e200)) x(a, p);
SELECT var_samp(a) FROM (VALUES (1e200::float8), (3e200)) x(a);
-- an interval's level within 1e-16 of 1: finite bounds (were infinite)
SELECT bool_and(lo > -1e300 AND hi < 1e300) AS finite
  FROM forecast((SELECT ar_fit(t, sin(t / 3.0)) FROM generate_series(1, 100) t), 3, 0.9999999999999999);
-- an AR model whose forecast overflows float8 (a readable, explosive model:
-- its coefficient set to -3.5e38, little-endian): 22003, not Infinity
SELECT * FROM forecast(encode(overlay(decode((SELECT ar_fit(t, sin(t / 3.0), '{"order": 1}')::text
                                               FROM generate_series(1, 100) t), 'base64')
                                      PLACING '\x7bcdd3c4f874f0c7'::bytea FROM 120 FOR 8), 'base64')::tsmodel, 30);
-- LSTM weights that fit float8 but not the network's float32 (the last
-- state value set to 1e39): refused on input
SELECT encode(overlay(decode(m::text, 'base64') PLACING '\x1d4a9cf487820748'::bytea
                      FROM length(decode(m::text, 'base64')) - 7 FOR 8), 'base64')::tsmodel IS NOT NULL AS accepted
  FROM hm;
-- future covariates far outside the training range: 22003 (was a NaN forecast)
CREATE TABLE cov AS SELECT i::bigint AS t, sin(i / 5.0) + 2 AS v, ARRAY[cos(i / 5.0)] AS c FROM generate_series(1, 80) i;
SELECT * FROM forecast((SELECT lstm_train(t, v, c, '{"epochs": 2, "hidden": 4}') FROM cov), 2, 0.9,
                       ARRAY[[1e308], [-1e308]]);
DROP TABLE hm, big, cov;

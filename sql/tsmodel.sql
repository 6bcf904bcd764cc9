-- tsmodel: text and binary round trips, the jsonb views, hostile input
\i test/fixtures/regress.sql

CREATE TABLE models (name text PRIMARY KEY, model tsmodel);
INSERT INTO models
SELECT 'verde_log', ar_fit(week_start, flow, '{"transform": "log"}') FROM verde;
INSERT INTO models
SELECT 'verde_yw', ar_fit(week_start, flow, '{"transform": "log", "method": "yule_walker", "order": 3}') FROM verde;

-- text round trip: the same bytes, the same forecasts to the last bit
SELECT name, model::text::tsmodel::text = model::text AS text_same,
       (SELECT array_agg(f ORDER BY step) FROM forecast(model, 16) f)
     = (SELECT array_agg(f ORDER BY step) FROM forecast(model::text::tsmodel, 16) f) AS forecast_same
  FROM models ORDER BY name;

-- binary round trip through COPY BINARY (send/receive)
\copy (SELECT name, model FROM models) TO 'test/results/models.bin' WITH (FORMAT binary)
CREATE TABLE models_back (LIKE models);
\copy models_back FROM 'test/results/models.bin' WITH (FORMAT binary)
SELECT a.name, a.model::text = b.model::text AS binary_same
  FROM models a JOIN models_back b USING (name) ORDER BY 1;

-- the text form is base64 of the stored format: magic "TSFM", version 2, kind 1 (AR)
SELECT substr(decode(model::text, 'base64'), 1, 8) AS header FROM models WHERE name = 'verde_log';

-- model_info: the summary
SELECT jsonb_object_keys(model_info(model)) AS key FROM models WHERE name = 'verde_log' ORDER BY 1;
-- the jsonb cast: everything, including the stored history
SELECT (model::jsonb)->>'format_version' AS format_version,
       jsonb_array_length(model::jsonb->'history') = (model::jsonb->>'order')::int AS history_ok,
       (model::jsonb) @> model_info(model) - 'fit_seconds' AS info_is_subset
  FROM models ORDER BY name;

-- format version 1 (0.1.0 to 0.3.0) has no device byte at offset 68: such a
-- stored model still reads, as trained on the CPU, and forecasts the same
CREATE TEMP TABLE v1 AS
SELECT name, model,
       encode(set_byte(substr(b, 1, 68) || substr(b, 70), 4, 1), 'base64')::tsmodel AS model_v1
  FROM (SELECT name, model, decode(model::text, 'base64') AS b FROM models) s;
SELECT name, (model_v1::jsonb)->>'format_version' AS format_version,
       model_info(model_v1)->>'device' AS device,
       model_info(model_v1) - 'device' = model_info(model) - 'device' AS same_info,
       (SELECT array_agg(f.value) FROM forecast(model_v1, 8) f) =
       (SELECT array_agg(f.value) FROM forecast(model, 8) f) AS same_forecast
  FROM v1 ORDER BY name;
-- the device byte is checked
SELECT encode(set_byte(decode(model::text, 'base64'), 68, 7), 'base64')::tsmodel FROM models WHERE name = 'verde_log';

-- hostile input: an error (SQLSTATE 22P02, checked in the pgTAP suite), never a crash
SELECT 'not base64 at all!'::tsmodel;
SELECT encode('hello world', 'base64')::tsmodel;
SELECT ''::tsmodel;
-- a wrong format version
SELECT encode(set_byte(decode(model::text, 'base64'), 4, 7), 'base64')::tsmodel FROM models WHERE name = 'verde_log';
-- an absurd order
SELECT encode(overlay(decode(model::text, 'base64') PLACING '\xffffff7f'::bytea FROM 76 FOR 4), 'base64')::tsmodel
  FROM models WHERE name = 'verde_log';
-- a NaN coefficient (the first phi starts after the 69-byte header and 50 bytes of AR fields)
SELECT encode(overlay(decode(model::text, 'base64') PLACING '\x000000000000f87f'::bytea FROM 120 FOR 8), 'base64')::tsmodel
  FROM models WHERE name = 'verde_log';
-- trailing bytes
SELECT encode(decode(model::text, 'base64') || '\x00'::bytea, 'base64')::tsmodel FROM models WHERE name = 'verde_log';

-- every truncation and every single-byte corruption is caught or harmless
CREATE FUNCTION try_model(b bytea) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM * FROM forecast(encode(b, 'base64')::tsmodel, 3);
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
SELECT try_model(substr(b, 1, len)) AS outcome, count(*)
  FROM (SELECT decode(model::text, 'base64') AS b FROM models WHERE name = 'verde_yw') m,
       generate_series(0, length(b) - 1) AS len
 GROUP BY 1 ORDER BY 1;
-- flip every byte of the header and the AR fields to 0xff: each is an error
-- or a valid model (22003: a readable model whose forecast overflows float8,
-- which is an error, never a NaN or an infinity printed)
SELECT try_model(set_byte(b, i, 255)) IN ('ok', '22P02', '22003') AS safe, count(*)
  FROM (SELECT decode(model::text, 'base64') AS b FROM models WHERE name = 'verde_yw') m,
       generate_series(0, length(b) - 1) AS i
 GROUP BY 1;

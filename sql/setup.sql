-- setup: the extension and the data every later suite uses
CREATE EXTENSION tsforecast;
-- the current release (tsforecast.control's default_version), the library's too
SELECT e.extversion = a.default_version AS current_release, tsforecast.model_info(f.m)->>'version' = e.extversion AS library
  FROM pg_extension e JOIN pg_available_extensions a ON a.name = e.extname,
       (SELECT tsforecast.ar_fit(t::bigint, sin(t / 3.0), '{"order": 2}') AS m FROM generate_series(1, 100) t) f
 WHERE e.extname = 'tsforecast';
SELECT nspname FROM pg_namespace n JOIN pg_extension e ON e.extnamespace = n.oid
 WHERE e.extname = 'tsforecast';
-- every later suite of this database finds the functions by name; its own
-- tables go to public (tsforecast.models is the jobs' table)
DO $$ BEGIN
  EXECUTE format('ALTER DATABASE %I SET search_path = public, tsforecast', current_database());
END $$;

-- the Verde River weekly mean flow (USGS 09506000), 1989-01-01 .. 2020-08-09
CREATE TABLE verde (week_start date PRIMARY KEY, flow float8 NOT NULL);
\copy verde FROM 'test/fixtures/verde_weekly.csv' WITH (FORMAT csv, HEADER true)
SELECT count(*), min(week_start), max(week_start), round(avg(flow)::numeric, 4) FROM verde;

-- the reference series of make_ar_fixtures.py, integer-indexed
CREATE TABLE fx_series (name text, t bigint, value float8, PRIMARY KEY (name, t));
CREATE TEMP TABLE load (t bigint, value float8);
\copy load FROM 'test/fixtures/series/verde_log.csv' WITH (FORMAT csv, HEADER true)
INSERT INTO fx_series SELECT 'verde_log', t, value FROM load; TRUNCATE load;
\copy load FROM 'test/fixtures/series/lh.csv' WITH (FORMAT csv, HEADER true)
INSERT INTO fx_series SELECT 'lh', t, value FROM load; TRUNCATE load;
\copy load FROM 'test/fixtures/series/sunspot.csv' WITH (FORMAT csv, HEADER true)
INSERT INTO fx_series SELECT 'sunspot', t, value FROM load; TRUNCATE load;
\copy load FROM 'test/fixtures/series/sim_ar2.csv' WITH (FORMAT csv, HEADER true)
INSERT INTO fx_series SELECT 'sim_ar2', t, value FROM load;
SELECT name, count(*) FROM fx_series GROUP BY name ORDER BY name;

-- statsmodels / R reference values
CREATE TABLE ar_ref (series text, method text, spec text, intercept int, key text, idx int, value float8);
\copy ar_ref FROM 'test/fixtures/ar_reference.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE split_ref (part text, key text, value float8);
\copy split_ref FROM 'test/fixtures/split_reference.csv' WITH (FORMAT csv, HEADER true)
SELECT count(*) FROM ar_ref;

-- relative closeness used by the suites: |a - b| <= tol * max(1, |b|)
CREATE FUNCTION close_to(a float8, b float8, tol float8 DEFAULT 1e-8) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$ SELECT abs(a - b) <= tol * greatest(1.0, abs(b)) $$;

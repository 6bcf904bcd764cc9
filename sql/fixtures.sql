-- fixtures: what test/fixtures/regress.sql loads for the suites (each suite
-- loads it itself), checked here: the extension, which pg_regress creates
-- (--load-extension=tsforecast), the Verde River weeks, the reference series
-- and values, the helpers
\i test/fixtures/regress.sql
-- the current release (tsforecast.control's default_version), the library's too
SELECT e.extversion = a.default_version AS current_release, tsforecast.model_info(f.m)->>'version' = e.extversion AS library
  FROM pg_extension e JOIN pg_available_extensions a ON a.name = e.extname,
       (SELECT tsforecast.ar_fit(t::bigint, sin(t / 3.0), '{"order": 2}') AS m FROM generate_series(1, 100) t) f
 WHERE e.extname = 'tsforecast';
SELECT nspname FROM pg_namespace n JOIN pg_extension e ON e.extnamespace = n.oid
 WHERE e.extname = 'tsforecast';
SHOW search_path;

-- the Verde River weekly mean flow (USGS 09506000), 1989-01-01 .. 2020-08-09
SELECT count(*), min(week_start), max(week_start), round(avg(flow)::numeric, 4) FROM verde;

-- the reference series of make_ar_fixtures.py, integer-indexed
SELECT name, count(*) FROM fx_series GROUP BY name ORDER BY name;

-- statsmodels / R reference values
SELECT count(*) FROM ar_ref;
SELECT part, count(*) FROM split_ref GROUP BY part ORDER BY part;
SELECT count(*), count(flow), min(week_start), max(week_start) FROM exog_weeks;
SELECT name, ts, covariates, train_weeks FROM exog_cases ORDER BY name;
SELECT name, count(*) FROM exog_ref GROUP BY name ORDER BY name;

-- the fixtures' tables are the session's own
SELECT c.relname, c.relpersistence FROM pg_class c
 WHERE c.relname IN ('verde', 'fx_series', 'ar_ref', 'split_ref', 'exog_weeks', 'exog_cases', 'exog_ref')
   AND c.relkind = 'r' ORDER BY 1;

-- the helpers
SELECT close_to(1.0, 1.0 + 1e-9) AS close, close_to(1.0, 1.0 + 1e-7) AS not_close,
       close_to(1e6, 1e6 + 1e-3) AS relative, close_to(0, 1e-9) AS absolute_below_1;
SELECT workers_launched('SELECT 1');

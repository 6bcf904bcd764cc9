-- upgrade: 0.1.0 updated to 0.2.0, 0.3.0, 0.4.0 then 0.5.0 has exactly the
-- objects of a fresh install (this database's: pg_regress creates it with
-- --load-extension=tsforecast), with the same properties and comments, and
-- models stored under 0.1.0 still read

-- every member of the extension, one line each (the query is kept in a
-- psql variable to run in both databases): its identity, a function's
-- kind, volatility, strictness, parallel safety, arguments with defaults,
-- result and C symbol (or SQL body, on one line), an aggregate's support
-- functions, and its comment
SELECT $q$SELECT translate(pg_describe_object(d.classid, d.objid, d.objsubid)
       || coalesce(' | ' || (SELECT format('%s %s strict=%s parallel=%s (%s) -> %s [%s]', p.prokind, p.provolatile,
                                           p.proisstrict, p.proparallel, pg_get_function_arguments(p.oid),
                                           pg_get_function_result(p.oid), p.prosrc)
                               FROM pg_proc p WHERE d.classid = 'pg_proc'::regclass AND p.oid = d.objid), '')
       || coalesce(' | ' || (SELECT format('agg %s %s %s %s %s %s %s', a.aggtransfn, a.aggfinalfn, a.aggcombinefn,
                                           a.aggserialfn, a.aggdeserialfn, a.aggfinalmodify, a.aggtranstype::regtype)
                               FROM pg_aggregate a WHERE d.classid = 'pg_proc'::regclass AND a.aggfnoid = d.objid), '')
       || coalesce(' | ' || obj_description(d.objid, c.relname::name), ''), E'\n', ' ')
  FROM pg_depend d JOIN pg_class c ON c.oid = d.classid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'tsforecast')
$q$ AS objects_sql \gset
SET search_path = tsforecast, public;
SELECT string_agg(o, E'\n' ORDER BY o) AS list, count(*) AS n FROM (:objects_sql) x(o) \gset fresh_
SELECT :fresh_n AS objects;
SELECT current_database() AS regdb \gset

SET client_min_messages = warning;
DROP DATABASE IF EXISTS tsf_upgrade;
RESET client_min_messages;
CREATE DATABASE tsf_upgrade;
\c tsf_upgrade
CREATE EXTENSION tsforecast VERSION '0.1.0';
SET search_path = tsforecast, public;
SELECT extversion FROM pg_extension WHERE extname = 'tsforecast';
SELECT count(*) AS lstm_functions FROM pg_proc WHERE proname LIKE '%lstm%';
CREATE TABLE kept AS SELECT ar_fit(t::bigint, sin(t / 3.0), '{"order": 2}') AS model FROM generate_series(1, 100) t;

ALTER EXTENSION tsforecast UPDATE TO '0.2.0';
SELECT extversion FROM pg_extension WHERE extname = 'tsforecast';
SELECT count(*) > 0 AS lstm_functions FROM pg_proc WHERE proname LIKE '%lstm%';

-- a user's own table tsforecast.models (as an older README made one)
-- stops the update to 0.3.0 with a hint; moved away, the update goes on
CREATE TABLE tsforecast.models (name text PRIMARY KEY, model tsmodel);
ALTER EXTENSION tsforecast UPDATE TO '0.3.0';
ALTER TABLE tsforecast.models SET SCHEMA public;
ALTER EXTENSION tsforecast UPDATE TO '0.3.0';
SELECT extversion FROM pg_extension WHERE extname = 'tsforecast';
ALTER EXTENSION tsforecast UPDATE TO '0.4.0';
SELECT extversion FROM pg_extension WHERE extname = 'tsforecast';
ALTER EXTENSION tsforecast UPDATE TO '0.5.0';
SELECT extversion FROM pg_extension WHERE extname = 'tsforecast';
-- objects only in the fresh install, then only in the updated one: none
SELECT 'missing after update' AS side, o FROM unnest(string_to_array(:'fresh_list', E'\n')) o
EXCEPT SELECT 'missing after update', o FROM (:objects_sql) x(o)
UNION ALL
(SELECT 'only after update', o FROM (:objects_sql) x(o)
 EXCEPT SELECT 'only after update', o FROM unnest(string_to_array(:'fresh_list', E'\n')) o)
ORDER BY 1, 2;
SELECT count(*) AS objects, count(*) = :fresh_n AS same_count FROM (:objects_sql) x(o);
-- the model stored under 0.1.0 reads, forecasts, and an LSTM trains
SELECT model_info(model)->>'kind' AS kind, model_info(model)->>'order' AS ord,
       (SELECT count(*) FROM forecast(model, 3)) AS steps
  FROM kept;
SELECT model_info(lstm_train(t::bigint, sin(t / 3.0), '{"epochs": 2}'))->>'kind' AS kind FROM generate_series(1, 50) t;

\c :regdb
DROP DATABASE tsf_upgrade;

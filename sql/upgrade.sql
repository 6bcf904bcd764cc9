-- upgrade: 0.1.0 updated to 0.2.0, 0.3.0, 0.4.0, 0.5.0 then 0.6.0 has exactly the
-- objects of a fresh install (this database's: pg_regress creates it with
-- --load-extension=tsforecast, from the script made from
-- install/tsforecast.sql), with the same properties and comments, the same
-- tables, columns, constraints, indexes, policies and grants, and
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
-- and, one line each, what that list does not show: the extension's
-- configuration tables (pg_dump's) with their conditions; each relation's
-- kind, options, row-level security and grants; each column's position,
-- type, NOT NULL, default and compression; constraints, indexes, policies,
-- triggers and rules; sequences; functions' grants, security, cost, rows
-- and settings; the type and the cast; the initial privileges pg_dump
-- takes as the extension's own
SELECT $q$SELECT translate(l, E'\n', ' ') FROM (
WITH ext AS (SELECT d.classid, d.objid FROM pg_depend d
              WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
                AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'tsforecast'))
-- the extension's own row: its configuration tables, with their dump filters
SELECT format('extension %s %s relocatable=%s config=%s conditions=%s', e.extname, e.extnamespace::regnamespace,
              e.extrelocatable, e.extconfig::regclass[], e.extcondition) AS l
  FROM pg_extension e WHERE e.extname = 'tsforecast'
UNION ALL
-- every relation: kind, persistence, options, row-level security, grants
SELECT format('relation %s kind=%s persistence=%s options=%s rls=%s force=%s acl=%s', c.oid::regclass, c.relkind,
              c.relpersistence, c.reloptions, c.relrowsecurity, c.relforcerowsecurity, c.relacl)
  FROM pg_class c WHERE c.oid IN (SELECT objid FROM ext WHERE classid = 'pg_class'::regclass)
UNION ALL
-- every column: position, type, NOT NULL, default, storage, compression
SELECT format('column %s.%s #%s %s notnull=%s default=%s storage=%s compression=%s identity=%s generated=%s collation=%s acl=%s',
              a.attrelid::regclass, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod), a.attnotnull,
              pg_get_expr(d.adbin, d.adrelid), a.attstorage, a.attcompression, a.attidentity, a.attgenerated,
              a.attcollation, a.attacl)
  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid IN (SELECT objid FROM ext WHERE classid = 'pg_class'::regclass) AND a.attnum > 0
UNION ALL
-- constraints and indexes
SELECT format('constraint %s on %s: %s', co.conname, co.conrelid::regclass, pg_get_constraintdef(co.oid))
  FROM pg_constraint co WHERE co.conrelid IN (SELECT objid FROM ext WHERE classid = 'pg_class'::regclass)
UNION ALL
SELECT format('index %s: %s', i.indexrelid::regclass, pg_get_indexdef(i.indexrelid))
  FROM pg_index i WHERE i.indrelid IN (SELECT objid FROM ext WHERE classid = 'pg_class'::regclass)
UNION ALL
-- row-level security policies
SELECT format('policy %s on %s: cmd=%s permissive=%s roles=%s using=%s check=%s', p.polname, p.polrelid::regclass,
              p.polcmd, p.polpermissive, p.polroles::regrole[], pg_get_expr(p.polqual, p.polrelid),
              pg_get_expr(p.polwithcheck, p.polrelid))
  FROM pg_policy p WHERE p.polrelid IN (SELECT objid FROM ext WHERE classid = 'pg_class'::regclass)
UNION ALL
-- triggers and rules (a view's _RETURN rule: its definition)
SELECT format('trigger %s on %s: %s', t.tgname, t.tgrelid::regclass, pg_get_triggerdef(t.oid))
  FROM pg_trigger t WHERE t.tgrelid IN (SELECT objid FROM ext WHERE classid = 'pg_class'::regclass)
UNION ALL
SELECT format('rule %s on %s: %s', r.rulename, r.ev_class::regclass, pg_get_ruledef(r.oid))
  FROM pg_rewrite r WHERE r.ev_class IN (SELECT objid FROM ext WHERE classid = 'pg_class'::regclass)
UNION ALL
-- sequences' parameters
SELECT format('sequence %s: %s start=%s inc=%s min=%s max=%s cache=%s cycle=%s', s.seqrelid::regclass,
              s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle)
  FROM pg_sequence s WHERE s.seqrelid IN (SELECT objid FROM ext WHERE classid = 'pg_class'::regclass)
UNION ALL
-- functions: grants and what the member list does not say
SELECT format('function %s acl=%s secdef=%s leakproof=%s cost=%s rows=%s config=%s support=%s',
              p.oid::regprocedure, p.proacl, p.prosecdef, p.proleakproof, p.procost, p.prorows, p.proconfig,
              p.prosupport)
  FROM pg_proc p WHERE p.oid IN (SELECT objid FROM ext WHERE classid = 'pg_proc'::regclass)
UNION ALL
-- the type and the cast
SELECT format('type %s len=%s byval=%s align=%s storage=%s in=%s out=%s recv=%s send=%s acl=%s', t.oid::regtype,
              t.typlen, t.typbyval, t.typalign, t.typstorage, t.typinput, t.typoutput, t.typreceive, t.typsend,
              t.typacl)
  FROM pg_type t WHERE t.oid IN (SELECT objid FROM ext WHERE classid = 'pg_type'::regclass)
UNION ALL
SELECT format('cast %s -> %s: %s context=%s method=%s', c.castsource::regtype, c.casttarget::regtype,
              c.castfunc::regprocedure, c.castcontext, c.castmethod)
  FROM pg_cast c WHERE c.oid IN (SELECT objid FROM ext WHERE classid = 'pg_cast'::regclass)
UNION ALL
-- the privileges pg_dump takes as the extension's own (pg_init_privs)
SELECT format('initial privileges of %s: %s', pg_describe_object(i.classoid, i.objoid, i.objsubid), i.initprivs)
  FROM pg_init_privs i WHERE (i.classoid, i.objoid) IN (SELECT classid, objid FROM ext)
) x(l)
$q$ AS catalog_sql \gset
SET search_path = tsforecast, public;
SELECT string_agg(o, E'\n' ORDER BY o) AS list, count(*) AS n FROM (:objects_sql) x(o) \gset fresh_
SELECT :fresh_n AS objects;
SELECT string_agg(o, E'\n' ORDER BY o) AS list, count(*) AS n FROM (:catalog_sql) x(o) \gset fresh_catalog_
SELECT :fresh_catalog_n AS catalog_lines;
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
ALTER EXTENSION tsforecast UPDATE TO '0.6.0';
SELECT extversion FROM pg_extension WHERE extname = 'tsforecast';
-- the chain has reached the current release (tsforecast.control's
-- default_version; a new release adds its update above)
SELECT e.extversion = a.default_version AS current_release
  FROM pg_extension e JOIN pg_available_extensions a ON a.name = e.extname WHERE e.extname = 'tsforecast';
-- objects only in the fresh install, then only in the updated one: none
SELECT 'missing after update' AS side, o FROM unnest(string_to_array(:'fresh_list', E'\n')) o
EXCEPT SELECT 'missing after update', o FROM (:objects_sql) x(o)
UNION ALL
(SELECT 'only after update', o FROM (:objects_sql) x(o)
 EXCEPT SELECT 'only after update', o FROM unnest(string_to_array(:'fresh_list', E'\n')) o)
ORDER BY 1, 2;
SELECT count(*) AS objects, count(*) = :fresh_n AS same_count FROM (:objects_sql) x(o);
-- the same for the catalog lines: none differs
SELECT 'missing after update' AS side, o FROM unnest(string_to_array(:'fresh_catalog_list', E'\n')) o
EXCEPT SELECT 'missing after update', o FROM (:catalog_sql) x(o)
UNION ALL
(SELECT 'only after update', o FROM (:catalog_sql) x(o)
 EXCEPT SELECT 'only after update', o FROM unnest(string_to_array(:'fresh_catalog_list', E'\n')) o)
ORDER BY 1, 2;
SELECT count(*) AS catalog_lines, count(*) = :fresh_catalog_n AS same_count FROM (:catalog_sql) x(o);
-- the model stored under 0.1.0 reads, forecasts, and an LSTM trains
SELECT model_info(model)->>'kind' AS kind, model_info(model)->>'order' AS ord,
       (SELECT count(*) FROM forecast(model, 3)) AS steps
  FROM kept;
SELECT model_info(lstm_train(t::bigint, sin(t / 3.0), '{"epochs": 2}'))->>'kind' AS kind FROM generate_series(1, 50) t;

\c :regdb
DROP DATABASE tsf_upgrade;

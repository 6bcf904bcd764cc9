# The launcher trusts only what the extension wrote (release 0.4.0: a
# non-superuser became superuser through it).
#
#  1. In the launcher's database without the extension, its owner (not a
#     superuser) makes a table tsforecast._jobs with a queued row naming the
#     bootstrap superuser, whose source would make her superuser: the
#     launcher waits, saying why, and nothing runs.
#  2. With the extension installed, rows that train_async did not write (by
#     hand, even a superuser's; a signed row copied with another owner; a
#     row of 0.4.0 without a signature) fail without running, saying so.
#  3. A job train_async wrote runs, as its submitter.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TsfNode;

my $node = PostgreSQL::Test::Cluster->new('trust');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'tsforecast'
tsforecast.database = 'victim'
tsforecast.naptime = '200ms'
});
$node->start;

# ---- 1. a look-alike table in a database without the extension ----
$node->safe_psql('postgres', q{
	CREATE ROLE mallory LOGIN;
	CREATE DATABASE victim OWNER mallory;
});
# what mallory's source would do as a superuser, and its witness
$node->safe_psql('victim', q{
	SET ROLE mallory;
	CREATE TABLE probe (ran_as text);
	GRANT ALL ON probe TO PUBLIC;
	CREATE FUNCTION escalate() RETURNS bigint LANGUAGE plpgsql AS $$
	BEGIN
		INSERT INTO public.probe VALUES (current_user);
		EXECUTE 'ALTER ROLE mallory SUPERUSER';
		RETURN 1;
	END $$;
	CREATE SCHEMA tsforecast;
	CREATE TABLE tsforecast._jobs (
		id bigserial PRIMARY KEY, name text NOT NULL, owner regrole NOT NULL,
		source text NOT NULL, spec jsonb NOT NULL, search_path text NOT NULL,
		state text NOT NULL DEFAULT 'queued', device text, submitted_at timestamptz DEFAULT now(),
		started_at timestamptz, finished_at timestamptz, series_done integer,
		series_total integer, epoch integer, epochs integer, loss float8, val_loss float8,
		error text, statement_timeout integer NOT NULL DEFAULT 0, signature bytea);
	CREATE TABLE tsforecast.models (id bigserial, name text);
	INSERT INTO tsforecast._jobs (name, owner, source, spec, search_path)
	VALUES ('evil', 'postgres', 'SELECT public.escalate(), 1.0::float8', '{"kind": "ar"}', 'public');
});
ok($node->wait_for_log(
		qr/tsforecast launcher is waiting in database "victim".*\n.*DETAIL:  The extension tsforecast is not installed in this database/),
	'without the extension the launcher waits, saying why');
# several passes of the launcher
$node->safe_psql('victim', 'SELECT pg_sleep(1)');
is($node->safe_psql('victim', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'}), 'f',
	'the database owner did not become superuser');
is($node->safe_psql('victim', 'SELECT count(*) FROM probe'), '0', '... her source never ran');
is($node->safe_psql('victim', q{SELECT state FROM tsforecast._jobs WHERE name = 'evil'}), 'queued',
	'... and her row was not touched');

# ---- 2. the extension installed: only rows train_async wrote run ----
$node->safe_psql('victim', q{
	DROP SCHEMA tsforecast CASCADE;
	CREATE EXTENSION tsforecast;
	GRANT USAGE ON SCHEMA tsforecast TO mallory;
	CREATE TABLE series AS SELECT i::bigint AS t, sin(i / 5.0) AS v FROM generate_series(1, 100) i;
	GRANT SELECT ON series TO mallory;
});
ok($node->wait_for_log(qr/tsforecast launcher started in database "victim"/),
	'the launcher runs in the database');

# mallory cannot write the job table
my ($rc, $out, $err) = $node->psql('victim', q{
	SET ROLE mallory;
	INSERT INTO tsforecast._jobs (name, owner, source, spec, search_path)
	VALUES ('evil2', 'postgres', 'SELECT public.escalate(), 1.0::float8', '{"kind": "ar"}', 'public')});
like($err, qr/permission denied for table _jobs/, 'a non-superuser cannot write the job table');

# a row written by hand, by a superuser: it fails without running
my $hand = $node->safe_psql('victim', q{
	INSERT INTO tsforecast._jobs (name, owner, source, spec, search_path)
	VALUES ('by_hand', 'postgres', 'SELECT public.escalate(), 1.0::float8', '{"kind": "ar"}', 'public')
	RETURNING id});
is(wait_job_state($node, 'victim', $hand, 'failed|succeeded|cancelled'), 'failed',
	'a row that train_async did not write fails');
is($node->safe_psql('victim', "SELECT error FROM tsforecast._jobs WHERE id = $hand"),
	'job was not submitted by train_async in this database of this server: it was not run',
	'... saying so');
ok($node->log_contains(qr/tsforecast job $hand was not submitted by train_async on this server/),
	'... and the server log says why');

# a job of mallory's, signed by train_async, runs as mallory
my $good = $node->safe_psql('victim', q{
	SET ROLE mallory;
	SELECT tsforecast.train_async('good', 'SELECT t, v FROM series', '{"kind": "ar"}')});
is(wait_job_state($node, 'victim', $good, 'failed|succeeded|cancelled'), 'succeeded',
	'a job train_async signed runs');
is($node->safe_psql('victim', "SELECT owner::text FROM tsforecast.models WHERE job_id = $good"),
	'mallory', '... as its submitter');

# its signature copied onto a row naming another role: fails
my $copy = $node->safe_psql('victim', qq{
	INSERT INTO tsforecast._jobs (name, owner, source, spec, search_path, signature)
	SELECT name, 'postgres', 'SELECT public.escalate(), 1.0::float8', spec, search_path, signature
	  FROM tsforecast._jobs WHERE id = $good
	RETURNING id});
is(wait_job_state($node, 'victim', $copy, 'failed|succeeded|cancelled'), 'failed',
	'a signed row copied with another owner and source fails');

# the same row with only its id changed: the signature covers the id too
my $moved = $node->safe_psql('victim', qq{
	INSERT INTO tsforecast._jobs (name, owner, source, spec, search_path, statement_timeout, signature)
	SELECT name, owner, source, spec, search_path, statement_timeout, signature
	  FROM tsforecast._jobs WHERE id = $good
	RETURNING id});
is(wait_job_state($node, 'victim', $moved, 'failed|succeeded|cancelled'), 'failed',
	'a signed row replayed under another id fails');

# a queued row of 0.4.0 has no signature
my $old = $node->safe_psql('victim', q{
	INSERT INTO tsforecast._jobs (name, owner, source, spec, search_path)
	VALUES ('from_040', 'mallory', 'SELECT t, v FROM series', '{"kind": "ar"}', 'public')
	RETURNING id});
is(wait_job_state($node, 'victim', $old, 'failed|succeeded|cancelled'), 'failed',
	'a row without a signature (queued under 0.4.0) fails');

is($node->safe_psql('victim', 'SELECT count(*) FROM probe'), '0',
	'no forged source ever ran');
is($node->safe_psql('victim', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'}), 'f',
	'mallory is no superuser');

# ---- 3. the key: the server's own, kept across restarts ----
my $keyfile = $node->data_dir . '/tsforecast_job.key';
ok(-f $keyfile && -s $keyfile == 32, 'the job key is a 32-byte file in the data directory');
is(sprintf('%04o', (stat $keyfile)[2] & 07777), '0600', '... readable by the server alone');
my $key = slurp_file($keyfile);
$node->restart;
is(slurp_file($keyfile), $key, '... and the same after a restart');
my $after = $node->safe_psql('victim', q{
	SET ROLE mallory;
	SELECT tsforecast.train_async('after_restart', 'SELECT t, v FROM series', '{"kind": "ar"}')});
is(wait_job_state($node, 'victim', $after, 'failed|succeeded|cancelled'), 'succeeded',
	'jobs run after the restart');

$node->stop;
done_testing();

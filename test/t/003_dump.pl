# pg_dump and pg_restore, as release 0.4.0 got them wrong:
#
#  1. models of extreme series (values near 1e154: sigma2 overflowed) were
#     stored though their reader refused them, and a dump of a table holding
#     one such model and one good one restored 0 rows: now every model is
#     stored only if it reads back, and all of them restore, forecasting the
#     same numbers to the last bit;
#  2. a non-superuser could not pg_dump a database with the extension even
#     with SELECT on every table: with --enable-row-security (as for any
#     table under row-level security) its dump holds its own jobs and
#     models, and restores;
#  3. a malformed model in binary COPY is an error (22P03), never a crash,
#     and a good one round-trips.
#
# (1 holds the Verde River's own models too, an OLS fit of log flow and a
# Yule-Walker fit of flow: their 52-week forecasts restore bit for bit.)
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TsfNode;

my $node = tsf_node('dump');
my $tmp = PostgreSQL::Test::Utils::tempdir;

# ---- 1. extreme models restore, bit for bit ----
$node->safe_psql('jobs', q{
	SET search_path = public, tsforecast;
	CREATE TABLE my_models (name text PRIMARY KEY, model tsmodel);
	CREATE TABLE extreme AS SELECT i::bigint AS t, (2 + sin(i / 3.0) + 0.1 * ((i * 7919) % 13)) AS v
	  FROM generate_series(1, 300) i;
	INSERT INTO my_models
	SELECT 'big ' || o, ar_fit(t, v * 1e154, o::jsonb) FROM extreme,
	       unnest(ARRAY['{}', '{"order": 3}', '{"method": "yule_walker"}']) o GROUP BY o;
	INSERT INTO my_models
	SELECT 'tiny ' || o, ar_fit(t, v * 1e-227 * 1e-73, o::jsonb) FROM extreme,
	       unnest(ARRAY['{}', '{"order": 3}']) o GROUP BY o;
	INSERT INTO my_models SELECT 'verde', ar_fit(week_start, flow, '{"transform": "log"}') FROM verde;
	INSERT INTO my_models SELECT 'verde yw', ar_fit(week_start, flow, '{"method": "yule_walker"}') FROM verde;
	INSERT INTO my_models SELECT 'lstm big', lstm_train(t, v * 1e154, '{"epochs": 3, "hidden": 4}') FROM extreme;
});
my ($rc, $out, $err) = $node->psql('jobs',
	'SELECT tsforecast.ar_fit(t, v * 1e300) FROM extreme');
like($err, qr/ERROR:  AR\(\d+\) estimates overflowed/,
	'a series whose variance overflows float8 is an error, not a model that does not read back');

# the models and their forecasts of $steps steps, every bit of them
sub digest
{
	my ($steps, $where) = @_;
	return qq{
	SELECT count(*) || ' ' || md5(string_agg(name || ':' || model::text || ':' ||
	       (SELECT string_agg(format('%s %s %s %s %s', step, ts, float8send(value), float8send(lo),
	                                 float8send(hi)), ';' ORDER BY step)
	          FROM tsforecast.forecast(model, $steps)), '|' ORDER BY name))
	  FROM my_models WHERE $where};
}
my $digest = digest(10, 'true');
my $verde = digest(52, q{name LIKE 'verde%'});
my $before = $node->safe_psql('jobs', $digest);
like($before, qr/^8 /, 'eight models, extreme and not');
my $verde_before = $node->safe_psql('jobs', $verde);
like($verde_before, qr/^2 [0-9a-f]{32}$/, 'two of the Verde River');
$node->command_ok(['pg_dump', '-Fc', '-d', $node->connstr('jobs'), '-f', "$tmp/all.dump"],
	'pg_dump of the database');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok(['pg_restore', '-d', $node->connstr('restored'), "$tmp/all.dump"],
	'pg_restore into another database');
is($node->safe_psql('restored', $digest), $before,
	'every model restored and forecasts the same numbers to the last bit');
is($node->safe_psql('restored', $verde), $verde_before,
	'... the Verde River\'s (OLS of log flow, Yule-Walker) 52 weeks ahead too');

# ---- 2. a non-superuser dumps its own models ----
$node->safe_psql('jobs', q{
	CREATE ROLE dumper LOGIN;
	CREATE ROLE other LOGIN;
	GRANT USAGE ON SCHEMA tsforecast TO dumper, other;
	GRANT SELECT ON ALL TABLES IN SCHEMA public TO dumper, other;
});
for my $role ('dumper', 'other')
{
	my $id = $node->safe_psql('jobs', qq{
		SELECT tsforecast.train_async('m_$role', 'SELECT week_start, flow FROM verde', '{"kind": "ar"}')},
		extra_params => ['-U', $role]);
	is(wait_job_state($node, 'jobs', $id, 'failed|succeeded|cancelled'), 'succeeded', "$role has a model");
}
$node->command_ok(
	['pg_dump', '--enable-row-security', '-Fc', '-d', $node->connstr('jobs') . ' user=dumper',
		'-f', "$tmp/dumper.dump"],
	'a non-superuser with SELECT on every table dumps the database (--enable-row-security)');
$node->safe_psql('postgres', 'CREATE DATABASE dumper_restored');
$node->command_ok(['pg_restore', '-d', $node->connstr('dumper_restored'), "$tmp/dumper.dump"],
	'... and it restores');
is($node->safe_psql('dumper_restored',
		"SELECT string_agg(name || '/' || owner::text, ',' ORDER BY name) FROM tsforecast.models"),
	'm_dumper/dumper', '... with its own models, not the other role\'s');
is($node->safe_psql('dumper_restored',
		"SELECT string_agg(name, ',' ORDER BY name) FROM tsforecast._jobs"),
	'm_dumper', '... and its own jobs');
is($node->safe_psql('dumper_restored',
		"SELECT count(*) FROM tsforecast.models m, tsforecast.forecast(m.model, 4)"), '4',
	'... whose model forecasts');

# ---- 3. binary COPY ----
$node->safe_psql('jobs', qq{
	COPY (SELECT model FROM my_models WHERE name = 'verde') TO '$tmp/good.bin' WITH (FORMAT binary);
	CREATE TABLE copied (model tsforecast.tsmodel);
	COPY copied FROM '$tmp/good.bin' WITH (FORMAT binary);
});
is($node->safe_psql('jobs',
		"SELECT (SELECT model::text FROM copied) = (SELECT model::text FROM my_models WHERE name = 'verde')"),
	't', 'a model round-trips through binary COPY');
# the same file with the model's format version byte changed (COPY BINARY:
# 19-byte header, 2-byte field count, 4-byte length, then the value)
my $bin = slurp_file("$tmp/good.bin");
substr($bin, 19 + 2 + 4 + 4, 1) = chr(7);
open(my $fh, '>', "$tmp/bad.bin") or die;
binmode $fh;
print $fh $bin;
close $fh;
chmod 0644, "$tmp/bad.bin";
($rc, $out, $err) = $node->psql('jobs', qq{
	\\set VERBOSITY verbose
	COPY copied FROM '$tmp/bad.bin' WITH (FORMAT binary)});
like($err, qr/ERROR:  22P03: invalid input syntax for type tsmodel/,
	'a malformed model in binary COPY is 22P03 (invalid binary representation)');
like($err, qr/Unrecognized format version 7/, '... saying what is wrong');

$node->stop;
done_testing();

# Training jobs, as release 0.4.0 got them wrong:
#
#  1. a job ran without its submitter's statement_timeout (a role with a
#     1 s timeout held both workers for 20 s each): it now runs under the
#     statement_timeout of the session that submitted it;
#  2. after a launcher restart, a worker that died left its job "running"
#     forever: the slots outlive the launcher, and the new one reaps them;
#  3. sources train_async accepted but that could only fail later are
#     refused at submission, or work (json keys; numeric keys that are
#     equal as numbers but not as text);
#  4. a job's series are held in memory within tsforecast.max_memory.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TsfNode;

my $node = tsf_node('jobs_hardening');
$node->safe_psql('jobs', q{
	CREATE ROLE hasty LOGIN;
	ALTER ROLE hasty SET statement_timeout = '1s';
	CREATE ROLE patient LOGIN;
	GRANT USAGE ON SCHEMA tsforecast TO hasty, patient;
	GRANT SELECT ON verde TO hasty, patient;
});
my $long = q{'{"kind": "lstm", "epochs": 1000000, "hidden": 8}'};

# ---- 1. the submitter's statement_timeout ----
my $t = $node->safe_psql('jobs', qq{
	SELECT tsforecast.train_async('hasty', 'SELECT week_start, flow FROM verde', $long)},
	extra_params => ['-U', 'hasty']);
is(wait_job_state($node, 'jobs', $t, 'failed|succeeded|cancelled'), 'failed',
	'a job of a role whose sessions have statement_timeout = 1s fails');
is($node->safe_psql('jobs', "SELECT error FROM tsforecast._jobs WHERE id = $t"),
	'canceling statement due to statement timeout', '... on its statement timeout');
my $secs = $node->safe_psql('jobs',
	"SELECT extract(epoch FROM finished_at - started_at) FROM tsforecast._jobs WHERE id = $t");
cmp_ok($secs, '<', 5, "... after about a second ($secs s)");
is($node->safe_psql('jobs', "SELECT statement_timeout FROM tsforecast._jobs WHERE id = $t"), '1000',
	'... the timeout recorded with the job');

# the same role, its session's timeout set off: the job runs until cancelled
$t = $node->safe_psql('jobs', qq{
	SET statement_timeout = 0;
	SELECT tsforecast.train_async('hasty_off', 'SELECT week_start, flow FROM verde', $long)},
	extra_params => ['-U', 'hasty']);
$node->poll_query_until('jobs', "SELECT epoch > 0 FROM tsforecast.jobs WHERE id = $t", 't');
$node->safe_psql('jobs', 'SELECT pg_sleep(1.5)');
is($node->safe_psql('jobs', "SELECT state FROM tsforecast._jobs WHERE id = $t"), 'running',
	'with the session\'s statement_timeout off, the job runs past a second');
$node->safe_psql('jobs', "SELECT tsforecast.cancel_job($t)");
is(wait_job_state($node, 'jobs', $t, 'failed|succeeded|cancelled'), 'cancelled', '... until cancelled');

# ---- 2. a worker that dies after its launcher restarted: failed, not "running" ----
$t = $node->safe_psql('jobs', qq{
	SELECT tsforecast.train_async('orphan', 'SELECT week_start, flow FROM verde', $long)},
	extra_params => ['-U', 'patient']);
$node->poll_query_until('jobs', "SELECT pid IS NOT NULL AND epoch > 0 FROM tsforecast.jobs WHERE id = $t", 't');
my $wpid = $node->safe_psql('jobs', "SELECT pid FROM tsforecast.jobs WHERE id = $t");
my $lpid = $node->safe_psql('jobs',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'tsforecast launcher'");
$node->safe_psql('jobs', "SELECT pg_terminate_backend($lpid)");
$node->poll_query_until('jobs',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'tsforecast launcher' AND pid <> $lpid", 't');
is($node->safe_psql('jobs', "SELECT state || ' ' || pid FROM tsforecast.jobs WHERE id = $t"), "running $wpid",
	'a new launcher leaves the running job alone');
# the worker exits with a FATAL (terminated), without recording the outcome
$node->safe_psql('jobs', "SELECT pg_terminate_backend($wpid)");
is(wait_job_state($node, 'jobs', $t, 'failed|succeeded|cancelled'), 'failed',
	'its worker killed after the launcher restarted: the job fails');
is($node->safe_psql('jobs', "SELECT error FROM tsforecast._jobs WHERE id = $t"),
	'job worker exited before recording the outcome of the job; see the server log', '... saying why');
is($node->safe_psql('jobs', "SELECT count(*) FROM tsforecast._job_progress()"), '0',
	'... and its slot is free');

# ---- 3. sources that could only fail later ----
my %refused = (
	'SELECT week_start, flow FROM verde FOR UPDATE' => 'source must not lock rows',
	'SELECT * FROM (SELECT week_start, flow FROM verde FOR SHARE) v' => 'source must not lock rows',
	'WITH d AS (DELETE FROM verde WHERE false RETURNING *) SELECT week_start, flow FROM d'
	  => 'source must not modify data',
	'SELECT week_start, flow FROM tmp' => 'source reads temporary table "tmp"',
	'SELECT w, f FROM verde, LATERAL (SELECT week_start AS w, flow AS f FROM tmp) x' =>
	  'source reads temporary table "tmp"');
for my $src (sort keys %refused)
{
	my ($rc, $out, $err) = $node->psql('jobs', qq{
		CREATE TEMP TABLE tmp AS SELECT * FROM verde;
		SELECT tsforecast.train_async('x', \$s\$$src\$s\$, '{"kind": "ar"}')});
	like($err, qr/ERROR:  \Q$refused{$src}\E/, "refused at submission: $src");
}
is($node->safe_psql('jobs', "SELECT count(*) FROM tsforecast._jobs WHERE name = 'x'"), '0',
	'... and none was queued');

# a json key: the series are told apart by the key's text
$t = $node->safe_psql('jobs', q{
	SELECT tsforecast.train_async('json_keys',
		$$SELECT json_build_object('g', g) AS k, week_start, flow * g FROM verde, generate_series(1, 2) g$$,
		'{"kind": "ar"}')});
is(wait_job_state($node, 'jobs', $t, 'failed|succeeded|cancelled'), 'succeeded', 'a json key works');
is($node->safe_psql('jobs',
		"SELECT string_agg(series_key || ':' || n_rows, ' ' ORDER BY series_key) FROM tsforecast.models WHERE job_id = $t"),
	'{"g" : 1}:1650 {"g" : 2}:1650', '... one model per key, every row');
# numeric keys equal as numbers, not as text: two series, none cut up
$t = $node->safe_psql('jobs', q{
	SELECT tsforecast.train_async('numeric_keys',
		$$SELECT CASE WHEN extract(week FROM week_start)::int % 2 = 0 THEN 1.0 ELSE 1.00 END AS k,
		         week_start, flow FROM verde WHERE week_start >= '2019-01-01'$$,
		'{"kind": "ar", "fill": "linear"}')});
is(wait_job_state($node, 'jobs', $t, 'failed|succeeded|cancelled'), 'succeeded',
	'numeric keys equal as numbers but not as text work');
is($node->safe_psql('jobs',
		"SELECT string_agg(series_key || ':' || n_rows, ' ' ORDER BY series_key) FROM tsforecast.models WHERE job_id = $t"),
	$node->safe_psql('jobs', q{
		SELECT string_agg(k || ':' || n, ' ' ORDER BY k) FROM (
		  SELECT CASE WHEN extract(week FROM week_start)::int % 2 = 0 THEN '1.0' ELSE '1.00' END AS k, count(*) AS n
		    FROM verde WHERE week_start >= '2019-01-01' GROUP BY 1) x}),
	'... two series, one per text, each with all its rows');

# ---- 4. a job's series within tsforecast.max_memory ----
$node->safe_psql('jobs', q{ALTER ROLE patient SET tsforecast.max_memory = '1MB'});
$t = $node->safe_psql('jobs', q{
	SELECT tsforecast.train_async('too_big', 'SELECT g, week_start, flow FROM verde, generate_series(1, 100) g',
		'{"kind": "ar"}')},
	extra_params => ['-U', 'patient']);
is(wait_job_state($node, 'jobs', $t, 'failed|succeeded|cancelled'), 'failed',
	'a job whose series exceed tsforecast.max_memory fails');
like($node->safe_psql('jobs', "SELECT error FROM tsforecast._jobs WHERE id = $t"),
	qr/^the training job needs \d+ kB of memory for its series$/, '... saying how much it needs');
$node->safe_psql('jobs', q{ALTER ROLE patient RESET tsforecast.max_memory});

$node->stop;
done_testing();

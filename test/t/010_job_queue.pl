# More jobs than workers: five jobs submitted at once with
# tsforecast.max_workers = 2 all succeed, never more than two at a time,
# started in submission order, the third only after one of the first two
# had finished.  How many run at once is read two ways: sampled while they
# run, and from their recorded start and end times.
#
# The node pins tsforecast.device = cpu.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use TsfNode;

my $node = tsf_node('job_queue', "tsforecast.device = 'cpu'");
is($node->safe_psql('jobs', 'SHOW tsforecast.max_workers'), '2', 'two workers');

my $ids = tsf_sql($node, q{
	BEGIN;
	SELECT string_agg(train_async('q' || i, 'SELECT week_start, flow FROM verde WHERE week_start > ''2014-01-01''',
	                              '{"kind": "lstm", "epochs": 150, "hidden": 16}')::text, ' ' ORDER BY i)
	  FROM generate_series(1, 5) i;
	COMMIT;});

# sample the running jobs until none is left queued or running
my ($maxrun, $left) = (0, 5);
my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
while ($left > 0 && time() < $deadline)
{
	my $running;
	($running, $left) = split / /, tsf_sql($node, q{
		SELECT count(*) FILTER (WHERE state = 'running') || ' ' || count(*) FILTER (WHERE state IN ('queued', 'running'))
		  FROM jobs WHERE name ~ '^q[0-9]$'});
	$maxrun = $running if $running > $maxrun;
}
is($left, 0, 'five jobs beyond max_workers = 2 ran');
is($maxrun, 2, '... at most 2 at once, as sampled while they ran');
is(tsf_sql($node, q{
	SELECT max(n) FROM (
	  SELECT (SELECT count(*) FROM jobs k
	           WHERE k.name ~ '^q[0-9]$' AND k.started_at <= j.started_at AND k.finished_at > j.started_at) AS n
	    FROM jobs j WHERE j.name ~ '^q[0-9]$') x}),
	'2', '... and as their start and end times say');
is(tsf_sql($node, q{SELECT string_agg(state, ',' ORDER BY id) FROM jobs WHERE name ~ '^q[0-9]$'}),
	'succeeded,succeeded,succeeded,succeeded,succeeded', '... all succeeded');
is(tsf_sql($node, q{SELECT string_agg(id::text, ' ' ORDER BY started_at, id) FROM jobs WHERE name ~ '^q[0-9]$'}),
	$ids, '... started in submission order');
is(tsf_sql($node, q{
	SELECT (SELECT started_at FROM jobs WHERE name = 'q3') >= (SELECT min(finished_at) FROM jobs WHERE name IN ('q1', 'q2'))}),
	't', '... the third only after one of the first two had finished');

$node->stop;
done_testing();

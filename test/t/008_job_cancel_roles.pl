# A cancel mid-training, and two roles.  Alice's job trains a short series,
# whose model is inserted in the job's transaction, then a long one; while it
# runs, its progress moves on in shared memory, and bob, with a job of his
# own, sees only his jobs, cannot cancel hers and reads none of her models.
# Alice cancels it while a session of hers LISTENs on tsforecast_jobs in
# wait_job: the job ends cancelled, leaves no model (not even its finished
# series'), and the NOTIFY says so.  Bob's job succeeds meanwhile.
#
# The node pins tsforecast.device = cpu.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TsfNode;

my $node = tsf_node('job_cancel_roles', "tsforecast.device = 'cpu'");
tsf_roles($node, 'tsf_alice', 'tsf_bob');

# series 'a' (100 weeks) trains in about a second, then 'b' (1650 weeks) for long
my $src = q{SELECT k, week_start, flow FROM (SELECT 'a' AS k, * FROM verde WHERE week_start > '2018-09-01'
            UNION ALL SELECT 'b', * FROM verde) v};
my $aid = tsf_sql($node, qq{SELECT train_async('alice_long', \$\$$src\$\$, '{"kind": "lstm", "epochs": 5000}')},
	'tsf_alice');
ok($node->poll_query_until('jobs', "SELECT series_done = 1 AND epoch > 0 FROM tsforecast.jobs WHERE id = $aid"),
	'alice\'s job trained its first series and goes on');
is(tsf_sql($node, "SELECT count(*) FROM models WHERE job_id = $aid"), '0',
	'... whose model row is not visible while the job\'s transaction is open');
my $e1 = tsf_sql($node, "SELECT epoch FROM jobs WHERE id = $aid");
ok($node->poll_query_until('jobs',
		"SELECT series_done = 1 AND state = 'running' AND epoch > $e1 FROM tsforecast.jobs WHERE id = $aid"),
	"... while its progress moves on in shared memory (past epoch $e1 of the second series)");

my $bid = tsf_sql($node, q{SELECT train_async('bob_ar', 'SELECT week_start, flow FROM verde', '{"kind": "ar"}')},
	'tsf_bob');
is(tsf_sql($node, q{SELECT string_agg(id::text, ',') FROM jobs}, 'tsf_bob'), $bid, 'bob sees only his own jobs');
is(tsf_sql($node, q{SELECT string_agg(id::text, ',') FROM jobs}, 'tsf_alice'), $aid, 'alice sees only her own jobs');
my ($out, $err) = tsf_psql($node, "SELECT cancel_job($aid)", 'tsf_bob');
is((split /\n/, $err)[0], "ERROR:  permission denied to cancel job $aid", 'bob cannot cancel alice\'s job');
is(tsf_sql($node, q{SELECT count(*) FROM models WHERE owner = 'tsf_alice'::regrole}, 'tsf_bob'), '0',
	'bob reads no model of alice\'s');

# a session of alice's listens and waits for the job to end; once it waits,
# she cancels the job
my ($lout, $lerr) = ('', '');
my $listener = IPC::Run::start(
	[ 'psql', '-X', '-q', '-At', '-d', $node->connstr('jobs') . ' user=tsf_alice',
		'-c', 'LISTEN tsforecast_jobs',
		'-c', "SELECT tsforecast.wait_job($aid, '600s')", '-c', 'SELECT 1' ],
	'>', \$lout, '2>', \$lerr);
$node->poll_query_until('jobs', q{
	SELECT count(*) = 1 FROM pg_stat_activity
	 WHERE usename = 'tsf_alice' AND state = 'active' AND query LIKE 'SELECT tsforecast.wait_job(%'})
  or diag('the listener did not start waiting');
is(tsf_sql($node, "SELECT cancel_job($aid)", 'tsf_alice'), 't', 'alice cancels her running job');
$listener->finish;
is(tsf_sql($node, "SELECT state || ' ' || coalesce(error, '-') FROM jobs WHERE id = $aid"), 'cancelled -',
	'the job ends cancelled');
is(tsf_sql($node, "SELECT count(*) FROM models WHERE job_id = $aid OR name = 'alice_long'"), '0',
	'a cancelled job leaves no model rows, not even its finished series');
my @notified = ($lout =~ /notification "tsforecast_jobs" with payload "\{"id": $aid, "state": "cancelled"\}"/g);
is(scalar @notified, 1, 'the NOTIFY on tsforecast_jobs says so')
  or diag("listener: $lout $lerr");
like($lout, qr/^cancelled$/m, '... and the listener\'s wait_job returned cancelled');
is(tsf_sql($node, "SELECT wait_job($bid, '600s')"), 'succeeded', 'bob\'s job succeeded meanwhile');
is(tsf_sql($node, "SELECT count(*) FROM models WHERE job_id = $bid", 'tsf_bob') . ' '
	  . tsf_sql($node, "SELECT count(*) FROM models WHERE job_id = $bid", 'tsf_alice'),
	'1 0', 'bob sees his model, alice does not');

$node->stop;
done_testing();

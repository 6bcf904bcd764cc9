# Restarts and the launcher:
#
#  1. pg_ctl restart -m immediate while a job trains: the job is failed
#     ("server restarted while the job was running") and leaves no model,
#     and the worker serves new jobs;
#  2. the launcher terminated comes back (a new process) and runs the job
#     queued while it was gone.
#
# The node pins tsforecast.device = cpu.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TsfNode;

my $node = tsf_node('job_restarts', "tsforecast.device = 'cpu'");

# ---- 1. a restart while a job trains ----
my $rid = tsf_sql($node, q{SELECT train_async('long', 'SELECT week_start, flow FROM verde', '{"kind": "lstm", "epochs": 1000000}')});
ok($node->poll_query_until('jobs', "SELECT state = 'running' AND epoch > 0 FROM tsforecast.jobs WHERE id = $rid"),
	'a long job is running');
# pg_ctl restart -m immediate: an immediate stop, then a start
$node->stop('immediate');
$node->start;
ok($node->poll_query_until('jobs', "SELECT state = 'failed' FROM tsforecast.jobs WHERE id = $rid"),
	'after pg_ctl restart -m immediate the job is failed');
is(tsf_sql($node, "SELECT error FROM jobs WHERE id = $rid"), 'server restarted while the job was running',
	'... because the server restarted');
is(tsf_sql($node, "SELECT count(*) FROM models WHERE job_id = $rid"), '0', '... and left no model');
my $nid = tsf_sql($node, q{
	SELECT train_async('after_restart', 'SELECT week_start, flow FROM verde', '{"kind": "ar", "transform": "log"}')});
is(tsf_sql($node, "SELECT wait_job($nid, '600s')"), 'succeeded', 'the worker serves new jobs after the restart');
is(tsf_sql($node, "SELECT count(*) FROM models m, forecast(m.model, 16) WHERE job_id = $nid"), '16',
	'... and the model forecasts');

# ---- 2. the launcher terminated: it comes back, queued jobs wait for it ----
my $lpid = tsf_sql($node, "SELECT pid FROM pg_stat_activity WHERE backend_type = 'tsforecast launcher'");
tsf_sql($node, "SELECT pg_terminate_backend($lpid)");
my $tid = tsf_sql($node, q{SELECT train_async('while_down', 'SELECT week_start, flow FROM verde', '{"kind": "ar"}')});
is(tsf_sql($node, "SELECT wait_job($tid, '600s')"), 'succeeded',
	'a job submitted while the launcher is terminated runs when it comes back');
is(tsf_sql($node, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'tsforecast launcher' AND pid <> $lpid"),
	'1', '... a new launcher');

$node->stop;
done_testing();

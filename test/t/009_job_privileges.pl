# A job runs with its submitter's privileges, never more: a role without
# SELECT on a table submits a job that reads it; the job fails with the
# permission error and leaves no model.
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

my $node = tsf_node('job_privileges', "tsforecast.device = 'cpu'");
tsf_roles($node, 'tsf_carol');
tsf_sql($node, 'CREATE TABLE secret AS SELECT * FROM verde');

my $cid = tsf_sql($node, q{SELECT train_async('carol_secret', 'SELECT week_start, flow FROM secret', '{"kind": "ar"}')},
	'tsf_carol');
is(tsf_sql($node, "SELECT wait_job($cid, '600s')"), 'failed', 'carol\'s job on a table she may not read fails');
is(tsf_sql($node, "SELECT error FROM jobs WHERE id = $cid", 'tsf_carol'), 'permission denied for table secret',
	'... with the permission error');
is(tsf_sql($node, "SELECT count(*) FROM models WHERE job_id = $cid"), '0', '... and leaves no model');

$node->stop;
done_testing();

# A server that does not preload tsforecast: everything but the training
# jobs works.
#
#  1. train_async says the background worker is not running, with a hint,
#     and no job's progress shows;
#  2. every pg_regress suite passes on it, each alone on a fresh database
#     (as `make installcheck REGRESS=<suite>` runs it: pg_regress creates the
#     database with --load-extension=tsforecast, as the Makefile's
#     REGRESS_OPTS), so that no suite needs the preload or another suite's
#     tables; and so do the isolation tests.
#
# The suites are the Makefile's REGRESS and ISOLATION (TSF_REGRESS and
# TSF_ISOLATION, set by its tapcheck), run by the pg_regress and
# pg_isolation_regress of PGXS (PG_REGRESS, PG_ISOLATION_REGRESS).  They read
# test/fixtures/ and write test/results/ relative to the working directory,
# so they run in a directory of this test's with those two in it.
use strict;
use warnings FATAL => 'all';

use Cwd;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TsfNode;

my $root = $TsfNode::root;
my $node = PostgreSQL::Test::Cluster->new('no_preload');
# the encoding and locale of scripts/tsf's cluster
$node->init(extra => [ '--encoding=UTF8', '--locale=C.UTF-8' ]);
$node->start;

# ---- 1. train_async without the background worker ----
$node->safe_psql('postgres', 'CREATE DATABASE jobs');
$node->safe_psql('jobs', 'CREATE EXTENSION tsforecast');
my ($out, $err) = tsf_psql($node, q{SELECT train_async('x', 'SELECT 1::bigint, 1.0', '{"kind": "ar"}')});
is((split /\n/, $err)[0], 'ERROR:  tsforecast background worker is not running',
	'without the preloaded library train_async says the worker is not running');
like($err, qr/^HINT:  Add tsforecast to shared_preload_libraries/m,
	'... with a hint to add it to shared_preload_libraries');
is(tsf_sql($node, 'SELECT count(*) FROM _job_progress()'), '0', '... and shows no live progress');

# ---- 2. the pg_regress suites, each alone, and the isolation tests ----
my $work = PostgreSQL::Test::Utils::tempdir;
mkdir "$work/test" or die;
mkdir "$work/test/results" or die;
symlink("$root/test/fixtures", "$work/test/fixtures") or die;
my $cwd = getcwd();
chdir $work or die;

# the diffs of a failed run, for the log
sub diffs
{
	my ($dir) = @_;
	return -f "$dir/regression.diffs" ? slurp_file("$dir/regression.diffs") : "(no $dir/regression.diffs)";
}

my @suites = split ' ', ($ENV{TSF_REGRESS} // '');
@suites = map { m{([^/]+)\.sql$} } sort glob("$root/sql/*.sql") unless @suites;
for my $suite (@suites)
{
	my $dir = "$work/regress_$suite";
	my $ok = run_log([
		$ENV{PG_REGRESS}, "--inputdir=$root", "--outputdir=$dir", '--bindir=',
		'--host=' . $node->host, '--port=' . $node->port,
		"--dbname=regress_$suite", '--load-extension=tsforecast', $suite ]);
	ok($ok, "pg_regress suite $suite passes alone, without shared_preload_libraries")
	  or diag(diffs($dir));
}

my @specs = split ' ', ($ENV{TSF_ISOLATION} // '');
@specs = map { m{([^/]+)\.spec$} } sort glob("$root/test/isolation/specs/*.spec") unless @specs;
my $ok = run_log([
	$ENV{PG_ISOLATION_REGRESS}, "--inputdir=$root/test/isolation", "--outputdir=$work/isolation",
	'--bindir=', '--host=' . $node->host, '--port=' . $node->port, @specs ]);
ok($ok, 'the isolation tests (' . join(', ', @specs) . ') pass without shared_preload_libraries')
  or diag(diffs("$work/isolation"));

chdir $cwd;
$node->stop;
done_testing();

# TsfCitus: a Citus cluster of PostgreSQL::Test::Cluster nodes for the TAP
# tests: a coordinator and workers, each a node of its own listening on
# 127.0.0.1 (Citus's nodes connect to each other over TCP), each preloading
# citus and tsforecast (Citus must come first: it refuses to load after a
# library that has set a planner, utility or executor hook), each with the
# database "jobs" holding both extensions, tsforecast's launcher serving it.
# Citus itself is built and installed by test/citus/build.sh.
package TsfCitus;

use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Exporter 'import';

our @EXPORT = qw(citus_missing citus_cluster);

# undef when Citus is installed in the PostgreSQL under test (the pg_config
# on the PATH, as the Makefile's tapcheck sets it), else why not
sub citus_missing
{
	my $pkglibdir = `pg_config --pkglibdir`;
	my $sharedir = `pg_config --sharedir`;

	return 'no pg_config on the PATH' if $? != 0;
	chomp($pkglibdir, $sharedir);
	return "Citus is not installed in $pkglibdir (test/citus/build.sh builds and installs it; "
	  . "scripts/tsf test runs it)"
	  unless -f "$pkglibdir/citus.so" && -f "$sharedir/extension/citus.control";
	return undef;
}

# One started node of the cluster; extra postgresql.conf lines may follow.
sub citus_node
{
	my ($name, @conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);

	$node->init;
	$node->append_conf('postgresql.conf', join("\n",
		# after the harness's listen_addresses = '' (Unix sockets only)
		"listen_addresses = '127.0.0.1'",
		"shared_preload_libraries = 'citus,tsforecast'",
		"tsforecast.database = 'jobs'",
		"tsforecast.max_workers = 2",
		"tsforecast.naptime = '200ms'",
		"tsforecast.device = 'cpu'",
		"max_worker_processes = 16",
		@conf) . "\n");
	$node->start;
	$node->safe_psql('postgres', 'CREATE DATABASE jobs');
	$node->safe_psql('jobs', 'CREATE EXTENSION citus; CREATE EXTENSION tsforecast;');
	return $node;
}

# A coordinator and $nworkers workers, named "${prefix}_coordinator",
# "${prefix}_worker1", ...: the workers added to the coordinator's metadata
# (citus_add_node, by 127.0.0.1 and port), the coordinator registered as
# such.  @conf goes to the coordinator only.  Returns ($coordinator,
# @workers).
sub citus_cluster
{
	my ($prefix, $nworkers, @conf) = @_;
	my $coord = citus_node("${prefix}_coordinator", @conf);
	my @workers = map { citus_node("${prefix}_worker$_") } 1 .. $nworkers;

	$coord->safe_psql('jobs',
		"SELECT citus_set_coordinator_host('127.0.0.1', " . $coord->port . ")");
	$coord->safe_psql('jobs', "SELECT citus_add_node('127.0.0.1', " . $_->port . ")")
	  for @workers;
	return ($coord, @workers);
}

1;

# TsfNode: what the TAP tests of tsforecast share.  A node is a
# PostgreSQL::Test::Cluster of its own (so no test restarts a cluster
# another uses), set up for training jobs, with the Verde River weeks loaded.
package TsfNode;

use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use Exporter 'import';

our @EXPORT = qw(tsf_node tsf_roles tsf_sql tsf_psql wait_job_state elapsed_ms);

# the repository root (TSF_ROOT, set by the Makefile's tapcheck)
our $root = $ENV{TSF_ROOT} // '.';

# A started node: tsforecast preloaded, its launcher serving database
# "jobs" (created, with the extension and a verde table), a short naptime.
# Extra postgresql.conf lines may follow.
sub tsf_node
{
	my ($name, @conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);

	$node->init;
	$node->append_conf('postgresql.conf', join("\n",
		"shared_preload_libraries = 'tsforecast'",
		"tsforecast.database = 'jobs'",
		"tsforecast.max_workers = 2",
		"tsforecast.naptime = '200ms'",
		"max_worker_processes = 16",
		@conf) . "\n");
	$node->start;
	$node->safe_psql('postgres', 'CREATE DATABASE jobs');
	$node->safe_psql('jobs', qq{
		CREATE EXTENSION tsforecast;
		CREATE TABLE verde (week_start date PRIMARY KEY, flow float8 NOT NULL);
		COPY verde FROM '$root/test/fixtures/verde_weekly.csv' WITH (FORMAT csv, HEADER true);
	});
	return $node;
}

# Login roles that may use the extension and read verde, on a tsf_node.
sub tsf_roles
{
	my ($node, @roles) = @_;

	for my $r (@roles)
	{
		$node->safe_psql('jobs', qq{
			CREATE ROLE $r LOGIN;
			GRANT USAGE ON SCHEMA tsforecast TO $r;
			GRANT SELECT ON verde TO $r;
		});
	}
	return;
}

# SQL in database "jobs" with search_path = public, tsforecast, as the
# superuser or as a role; dies on an error, returns what psql printed
# (unaligned, tuples only)
sub tsf_sql
{
	my ($node, $sql, $role) = @_;

	return $node->safe_psql('jobs', "SET search_path = public, tsforecast;\n$sql",
		defined $role ? (extra_params => [ '-U', $role ]) : ());
}

# the same, not dying: returns (stdout, stderr), the messages without
# psql's "psql:<stdin>:N: " (as psql -c prints them)
sub tsf_psql
{
	my ($node, $sql, $role) = @_;
	my ($rc, $out, $err) = $node->psql('jobs', "SET search_path = public, tsforecast;\n$sql",
		defined $role ? (extra_params => [ '-U', $role ]) : ());

	$err =~ s/^psql:<stdin>:\d+: //mg;
	return ($out, $err);
}

# poll until job id has one of the states (a regex), up to $timeout seconds;
# returns the state seen last
sub wait_job_state
{
	my ($node, $db, $id, $want, $timeout) = @_;
	my $state;

	$node->poll_query_until($db,
		"SELECT state ~ '^($want)\$' FROM tsforecast._jobs WHERE id = $id", 't')
	  or diag("job $id did not reach $want");
	$state = $node->safe_psql($db, "SELECT state FROM tsforecast._jobs WHERE id = $id");
	return $state;
}

# milliseconds since a time() value
sub elapsed_ms
{
	my ($t0) = @_;
	return int((time() - $t0) * 1000);
}

1;

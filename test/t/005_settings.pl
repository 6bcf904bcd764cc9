# tsforecast.max_memory on a server that does not preload the library: a
# value a role that is not a superuser set before the library was loaded
# (a placeholder) is refused when it loads, so the limit holds.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('settings');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION tsforecast;
	CREATE ROLE plain;
	GRANT USAGE ON SCHEMA tsforecast TO plain;
});
my ($rc, $out, $err) = $node->psql('postgres', q{
	SET ROLE plain;
	SET tsforecast.max_memory = '100GB';
	SELECT tsforecast.ar_fit(i::bigint, sin(i)) IS NOT NULL FROM generate_series(1, 10) i;
	SHOW tsforecast.max_memory;});
is($out, "t\n1GB", 'a placeholder value set by a role that is not a superuser does not survive the load');
like($err, qr/WARNING:  permission denied to set parameter "tsforecast.max_memory"/, '... with a warning');
($rc, $out, $err) = $node->psql('postgres', q{
	SET tsforecast.max_memory = '2GB';
	SELECT tsforecast.ar_fit(i::bigint, sin(i)) IS NOT NULL FROM generate_series(1, 10) i;
	SHOW tsforecast.max_memory;});
is($out, "t\n2GB", 'a superuser\'s is kept');
$node->stop;
done_testing();

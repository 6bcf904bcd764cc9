# Backtest jobs (backtest_async): a job over two series writes backtest()'s
# rows, the aggregate's over the same rows, into tsforecast.backtests, and
# replaces them when run again under the same name; its progress counts the
# series and the current series' origins.  One job, one outcome: a job whose
# second series fails, and a job cancelled on its second series, leave no
# row of either series.  A role reads only its own rows.
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

my $node = tsf_node('backtest_job', "tsforecast.device = 'cpu'");
tsf_roles($node, 'tsf_alice', 'tsf_bob');
tsf_sql($node, q{
	CREATE TABLE gauges AS SELECT g AS gauge, week_start, flow * g AS flow FROM verde, generate_series(1, 2) g;
	GRANT SELECT ON gauges TO tsf_alice, tsf_bob;
});
my $spec = '{"kind": "ar", "transform": "log"}';
my $settings = '{"horizon": 2, "start": "2015-01-01", "every": 2}';

my $id = tsf_sql($node, qq{SELECT backtest_async('weekly', 'SELECT gauge, week_start, flow FROM gauges',
                                                 '$spec', '$settings')}, 'tsf_alice');
is(tsf_sql($node, "SELECT wait_job($id, '300s')", 'tsf_alice'), 'succeeded', 'the backtest job succeeds');
is(tsf_sql($node, "SELECT progress FROM jobs WHERE id = $id", 'tsf_alice'), 'series 2 of 2, epoch 146 of 146',
	'its progress: the series, and the origins of the last as epochs');
is(tsf_sql($node, q{SELECT string_agg(format('%s %s', series_key, n), ', ' ORDER BY series_key)
                      FROM (SELECT series_key, count(*) n FROM backtests WHERE name = 'weekly' GROUP BY 1) x},
		'tsf_alice'),
	'1 292, 2 292', 'one row per series, origin and step');
# the job's rows are the aggregate's over the same rows, bit for bit
is(tsf_sql($node, qq{
	SELECT count(*) FROM (
	  (SELECT series_key, origin, step, ts, forecast, lo, hi, actual, scale FROM backtests WHERE name = 'weekly'
	   EXCEPT
	   SELECT gauge::text, (b).* FROM (SELECT gauge, unnest(backtest(week_start, flow, '$spec', '$settings')) b
	                                     FROM gauges GROUP BY gauge) s)
	  UNION ALL
	  (SELECT gauge::text, (b).* FROM (SELECT gauge, unnest(backtest(week_start, flow, '$spec', '$settings')) b
	                                     FROM gauges GROUP BY gauge) s
	   EXCEPT
	   SELECT series_key, origin, step, ts, forecast, lo, hi, actual, scale FROM backtests WHERE name = 'weekly')) d},
		'tsf_alice'),
	'0', 'the job\'s rows are backtest()\'s over the same rows');
is(tsf_sql($node, "SELECT count(*) FROM backtests", 'tsf_bob'), '0', 'bob reads none of alice\'s rows');

# run again under the same name: its rows replace the first job's
my $id2 = tsf_sql($node, q{SELECT backtest_async('weekly', 'SELECT gauge, week_start, flow FROM gauges WHERE gauge = 1',
                                                 '{"kind": "ar"}', '{"horizon": 1, "start": "2020-01-01"}')},
	'tsf_alice');
is(tsf_sql($node, "SELECT wait_job($id2, '300s')", 'tsf_alice'), 'succeeded', 'a second job of the name succeeds');
is(tsf_sql($node, "SELECT count(*) || ' ' || min(job_id) FROM backtests WHERE name = 'weekly'", 'tsf_alice'),
	"31 $id2", '... and its rows replace the first job\'s');

# a failure in the second series: no row of the first either
my $id3 = tsf_sql($node, q{SELECT backtest_async('failing',
	'SELECT gauge, week_start, flow FROM gauges WHERE gauge = 1 OR week_start > ''2020-06-01''',
	'{"kind": "ar", "order": 8}', '{"horizon": 1, "origins": ["2020-06-20", "2020-07-01"]}')}, 'tsf_alice');
is(tsf_sql($node, "SELECT wait_job($id3, '300s')", 'tsf_alice'), 'failed', 'a job whose second series fails fails');
like(tsf_sql($node, "SELECT error FROM jobs WHERE id = $id3", 'tsf_alice'), qr/too short/,
	'... saying why');
is(tsf_sql($node, "SELECT count(*) FROM backtests WHERE name = 'failing'", 'tsf_alice'), '0',
	'... and leaves no row, not even the first series\'');

# a cancel on the second series: no row of the first either
my $id4 = tsf_sql($node, q{SELECT backtest_async('long',
	'SELECT gauge, week_start, flow FROM gauges WHERE gauge = 1 AND week_start > ''2019-01-01'' OR gauge = 2',
	'{"kind": "lstm", "epochs": 200, "hidden": 8}', '{"horizon": 1, "start": "2019-10-01"}')}, 'tsf_alice');
ok($node->poll_query_until('jobs', "SELECT series_done = 1 AND epoch > 0 FROM tsforecast.jobs WHERE id = $id4"),
	'a long LSTM backtest job reaches its second series');
is(tsf_sql($node, "SELECT cancel_job($id4)", 'tsf_alice'), 't', 'alice cancels it');
is(tsf_sql($node, "SELECT wait_job($id4, '60s')", 'tsf_alice'), 'cancelled', 'it ends cancelled');
is(tsf_sql($node, "SELECT count(*) FROM backtests WHERE name = 'long'", 'tsf_alice'), '0',
	'... and leaves no row');

# what cannot be checked before the job runs is refused when it is queued
my ($out, $err) = tsf_psql($node, q{SELECT backtest_async('x', 'SELECT week_start, flow FROM verde', '{"kind": "ar"}',
                                                          '{"every": 1}')}, 'tsf_alice');
like($err, qr/backtest settings have no "horizon"/, 'settings are checked when the job is queued');
($out, $err) = tsf_psql($node, q{SELECT train_async('x', 'SELECT week_start, flow FROM verde',
                                                    '{"kind": "ar", "backtest": {"horizon": 1}}')}, 'tsf_alice');
like($err, qr/unrecognized key "backtest" in spec/, 'train_async refuses a spec carrying backtest settings');

$node->stop;
done_testing();

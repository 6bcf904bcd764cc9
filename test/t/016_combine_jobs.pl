# Jobs of the kinds "combine" and "auto": train_async trains them through
# the kind's fit, as fit() does, and stores models whose forecasts are
# fit()'s over the same rows, bit for bit (a combination with a weekly
# member of a daily series too, scored through its predictions); a
# combination's spec that cannot be fitted is refused when queued;
# backtest_async of a combination writes backtest()'s rows.
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

my $node = tsf_node('combine_jobs', "tsforecast.device = 'cpu'");
tsf_roles($node, 'tsf_alice');
tsf_sql($node, q{
	CREATE TABLE gauges AS SELECT g AS gauge, week_start, flow * g AS flow
	  FROM verde, generate_series(1, 2) g WHERE week_start < '2019-01-01';
	GRANT SELECT ON gauges TO tsf_alice;
});
my $combine = '{"kind": "combine", "how": "weights", "weights_from": {"horizon": 2, "origins": 10}, '
  . '"members": [{"kind": "ar", "transform": "log", "harmonics": 3}, {"kind": "ar", "window": 260}]}';
my $auto = '{"kind": "auto", "horizon": 2, "origins": 30}';

for my $case ([ 'combined', $combine ], [ 'automatic', $auto ])
{
	my ($name, $spec) = @$case;
	my $id = tsf_sql($node, qq{SELECT train_async('$name', 'SELECT gauge, week_start, flow FROM gauges', '$spec')},
		'tsf_alice');
	is(tsf_sql($node, "SELECT wait_job($id, '300s')", 'tsf_alice'), 'succeeded', "the $name job succeeds");
	is(tsf_sql($node, qq{SELECT string_agg(series_key || ' ' || (model_info(model)->>'kind'), ', ' ORDER BY series_key)
	                       FROM models WHERE name = '$name'}, 'tsf_alice'),
		$name eq 'combined' ? '1 combine, 2 combine' : '1 auto, 2 auto', '... one model per series, of its kind');
	# the job's models are fit()'s over the same rows: the same forecasts
	is(tsf_sql($node, qq{
		SELECT count(*) FILTER (WHERE a.value = b.value AND a.lo = b.lo AND a.hi = b.hi) || ' of ' || count(*)
		  FROM (SELECT m.series_key, f.* FROM models m, forecast(m.model, 4) f WHERE m.name = '$name') a
		  JOIN (SELECT s.gauge::text AS series_key, f.*
		          FROM (SELECT gauge, fit(week_start, flow, '$spec') AS model FROM gauges GROUP BY gauge) s,
		               forecast(s.model, 4) f) b USING (series_key, step)}, 'tsf_alice'),
		'8 of 8', "... whose forecasts are fit()'s over the same rows");
}
# the automatic spec's record is in the stored model
like(tsf_sql($node, q{SELECT model_info(model) #>> '{auto,chosen_spec}' FROM models
                       WHERE name = 'automatic' AND series_key = '1'}, 'tsf_alice'),
	qr/"kind": "(ar|combine)"/, 'the automatic model records its choice');

# a combination with a member on buckets (a weekly model of a daily
# series): the job scores it through its predictions, and its models are
# fit()'s (the same weekly bucket forecasts)
tsf_sql($node, q{
	CREATE TABLE dgauges AS SELECT g AS gauge, d::date AS day, v.flow * g AS flow
	  FROM verde v, generate_series(v.week_start, v.week_start + 6, '1 day') d, generate_series(1, 2) g
	 WHERE v.week_start BETWEEN '2015-01-04' AND '2018-12-30';
	GRANT SELECT ON dgauges TO tsf_alice;
});
my $xgrid = '{"kind": "combine", "members": [{"kind": "ar", "order": 3}, '
  . '{"kind": "ar", "transform": "log", "harmonics": 2, "bucket": "7 days"}]}';
my $xid = tsf_sql($node, qq{SELECT train_async('daily_weekly', 'SELECT gauge, day, flow FROM dgauges', '$xgrid')},
	'tsf_alice');
is(tsf_sql($node, "SELECT wait_job($xid, '300s')", 'tsf_alice'), 'succeeded',
	'the job of a combination with a weekly member succeeds');
is(tsf_sql($node, q{SELECT string_agg(series_key || ' ' || ((metrics->>'n')::int > 0)::text, ', ' ORDER BY series_key)
                     FROM models WHERE name = 'daily_weekly'}, 'tsf_alice'),
	'1 true, 2 true', '... scored on its predictions');
is(tsf_sql($node, qq{
	SELECT count(*) FILTER (WHERE a.value = b.value AND a.mean = b.mean) || ' of ' || count(*)
	  FROM (SELECT m.series_key, f.* FROM models m, forecast_buckets(m.model, '7 days', 2) f WHERE m.name = 'daily_weekly') a
	  JOIN (SELECT s.gauge::text AS series_key, f.*
	          FROM (SELECT gauge, fit(day, flow, '$xgrid') AS model FROM dgauges GROUP BY gauge) s,
	               forecast_buckets(s.model, '7 days', 2) f) b USING (series_key, bucket)}, 'tsf_alice'),
	'4 of 4', "... whose weekly forecasts are fit()'s");

# a spec that cannot be fitted is refused when queued
my (undef, $err) = tsf_psql($node,
	q{SELECT train_async('bad', 'SELECT gauge, week_start, flow FROM gauges',
	                     '{"kind": "combine", "members": [{"kind": "combine", "members": [{"kind": "ar"}]}]}')},
	'tsf_alice');
like($err, qr/member 1 cannot be of kind "combine"/, 'a nested combination is refused at submission');

# backtest_async of a combination: backtest()'s rows
my $settings = '{"horizon": 2, "start": "2018-01-01", "every": 4}';
my $bid = tsf_sql($node, qq{SELECT backtest_async('bt', 'SELECT gauge, week_start, flow FROM gauges',
                                                  '$combine', '$settings')}, 'tsf_alice');
is(tsf_sql($node, "SELECT wait_job($bid, '300s')", 'tsf_alice'), 'succeeded', 'the backtest job of a combination succeeds');
is(tsf_sql($node, qq{
	SELECT count(*) FROM (
	  (SELECT series_key, origin, step, forecast FROM backtests WHERE name = 'bt'
	   EXCEPT
	   SELECT gauge::text, (b).origin, (b).step, (b).forecast
	     FROM (SELECT gauge, unnest(backtest(week_start, flow, '$combine', '$settings')) b
	             FROM gauges GROUP BY gauge) s)) d}, 'tsf_alice'),
	'0', "... and its rows are backtest()'s");

$node->stop;
done_testing();

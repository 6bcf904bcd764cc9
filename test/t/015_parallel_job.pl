# One job, several processes: a training job's series spread over parallel
# workers (the spec's "parallel", by default tsforecast.max_workers), with
# one outcome.  What a DBA would check:
#   - bad "parallel" values are refused at submission;
#   - the models are those of "parallel": 1 and of the session's
#     lstm_train ... GROUP BY, bit for bit, and the job's progress counts
#     all its series;
#   - the parallel workers show in pg_stat_activity (leader_pid: the job's
#     worker) while it trains;
#   - cancel_job stops all of them and leaves no model;
#   - a parallel worker terminated mid-job fails the whole job, no model;
#   - a series' error in any process fails the job, as in one process;
#   - no parallel worker to be had (max_parallel_workers = 0): the job's
#     worker trains alone, the same models.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TsfNode;

my $node = tsf_node('parallel_job', "tsforecast.device = 'cpu'", "max_parallel_workers = 8");
# eight gauges: windows of the Verde River, scaled
tsf_sql($node, q{
	CREATE TABLE gauges AS
	SELECT g AS gauge, week_start, flow * (0.5 + g / 10.0) AS flow FROM verde, generate_series(1, 8) g
	 WHERE week_start >= date '2014-01-05' + 14 * g;
});
ok($node->poll_query_until('jobs',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'tsforecast launcher' AND datname = 'jobs'"),
	'the launcher runs in the jobs database');

# ---- the option ----
for my $bad ('0', '-1', '1.5', '1025', '"two"', 'null')
{
	my ($out, $err) = tsf_psql($node, qq{
		SELECT train_async('bad', 'SELECT gauge, week_start, flow FROM gauges', '{"kind": "lstm", "parallel": $bad}')});
	like($err, qr/ERROR:  invalid value for "parallel" in spec: .*\nDETAIL:  Value must be an integer from 1 to 1024/,
		"\"parallel\": $bad is refused at submission");
}
my ($out, $err) = tsf_psql($node, q{
	\set VERBOSITY verbose
	SELECT backtest_async('bad', 'SELECT gauge, week_start, flow FROM gauges', '{"kind": "ar", "parallel": 2.5}',
	                      '{"horizon": 1, "initial": 100}')});
like($err, qr/ERROR:  22023: invalid value for "parallel" in spec: 2.5/, '... and by backtest_async (22023)');
is(tsf_sql($node, 'SELECT count(*) FROM jobs'), '0', 'nothing was queued');

# ---- the models: parallel 2, the default, parallel 1, the session ----
my $opts = '"epochs": 40, "hidden": 8, "validation": 0.2';
my $log_from = -s $node->logfile;
my $p2 = tsf_sql($node, qq{SELECT train_async('p2', 'SELECT gauge, week_start, flow FROM gauges', '{"kind": "lstm", $opts, "parallel": 2}')});
is(tsf_sql($node, "SELECT wait_job($p2, '600s')"), 'succeeded', 'a job with "parallel": 2 succeeds');
my $pdef = tsf_sql($node, qq{SELECT train_async('pdef', 'SELECT gauge, week_start, flow FROM gauges', '{"kind": "lstm", $opts}')});
is(tsf_sql($node, "SELECT wait_job($pdef, '600s')"), 'succeeded', 'a job without "parallel" succeeds');
my $p1 = tsf_sql($node, qq{SELECT train_async('p1', 'SELECT gauge, week_start, flow FROM gauges', '{"kind": "lstm", $opts, "parallel": 1}')});
is(tsf_sql($node, "SELECT wait_job($p1, '600s')"), 'succeeded', 'a job with "parallel": 1 succeeds');
my $log = slurp_file($node->logfile, $log_from);
like($log, qr/tsforecast job $p2 trains its 8 series in 2 processes: 1 parallel workers of 1 asked for/,
	'parallel 2: the job\'s worker and one parallel worker (the server log)');
like($log, qr/tsforecast job $pdef trains its 8 series in 2 processes/,
	'no "parallel": tsforecast.max_workers (2) processes');
unlike($log, qr/tsforecast job $p1 trains/, 'parallel 1: the job\'s worker alone');
is(tsf_sql($node, "SELECT string_agg(progress, '; ' ORDER BY id) FROM jobs WHERE id IN ($p2, $pdef, $p1)"),
	'series 8 of 8, epoch 40 of 40; series 8 of 8, epoch 40 of 40; series 8 of 8, epoch 40 of 40',
	'the progress describes the whole job');

sub same_models
{
	my ($a, $b) = @_;
	return tsf_sql($node, qq{
		SELECT count(*) || ' ' || bool_and((model_info(a.model) - 'fit_seconds' - 'fitted_at')
		                                   = (model_info(b.model) - 'fit_seconds' - 'fitted_at')
		                                   AND a.metrics = b.metrics AND a.n_rows = b.n_rows
		                                   AND a.data_from = b.data_from AND a.seed = b.seed)::int
		  FROM models a JOIN models b USING (series_key) WHERE a.name = '$a' AND b.name = '$b'});
}
is(same_models('p2', 'p1'), '8 1', 'parallel 2 and parallel 1: the same models, metrics and provenance');
is(same_models('pdef', 'p1'), '8 1', 'the default and parallel 1: the same');
is(tsf_sql($node, qq{
	SELECT count(*) || ' ' || bool_and((model_info(m.model) - 'fit_seconds' - 'fitted_at')
	                                   = (model_info(s.model) - 'fit_seconds' - 'fitted_at'))::int
	  FROM models m
	  JOIN (SELECT gauge::text AS series_key, lstm_train(week_start, flow, '{$opts}') AS model
	          FROM gauges GROUP BY gauge) s USING (series_key)
	 WHERE m.name = 'p2'}),
	'8 1', 'parallel 2: the models of the session\'s lstm_train ... GROUP BY, bit for bit but the fit time');
is(tsf_sql($node, qq{
	SELECT count(DISTINCT model_info(model) - 'fit_seconds' - 'fitted_at') FROM models WHERE name = 'p2'}),
	'8', '... eight different models');

# ---- models larger than a parallel worker's queue (512 kB) arrive whole ----
my $wide = '"epochs": 2, "hidden": 256';
my $w2 = tsf_sql($node, qq{SELECT train_async('wide', 'SELECT gauge, week_start, flow FROM gauges WHERE gauge <= 4', '{"kind": "lstm", $wide, "parallel": 2}')});
is(tsf_sql($node, "SELECT wait_job($w2, '600s')"), 'succeeded', 'a job of four hidden-256 networks in two processes succeeds');
is(tsf_sql($node, qq{
	SELECT count(*) || ' ' || bool_and(pg_column_size(m.model) > 1024 * 1024)::int || ' '
	       || bool_and((model_info(m.model) - 'fit_seconds' - 'fitted_at')
	                   = (model_info(s.model) - 'fit_seconds' - 'fitted_at'))::int
	  FROM models m
	  JOIN (SELECT gauge::text AS series_key, lstm_train(week_start, flow, '{$wide}') AS model
	          FROM gauges WHERE gauge <= 4 GROUP BY gauge) s USING (series_key)
	 WHERE m.name = 'wide'}),
	'4 1 1', '... its models, over 1 MB each, are lstm_train\'s');

# ---- backtest jobs: parallel 3, parallel 1, backtest() ----
my $bspec = '"kind": "ar", "transform": "log"';
my $bset = '{"horizon": 2, "start": "2018-01-01", "every": 3}';
$log_from = -s $node->logfile;
my $bt3 = tsf_sql($node, qq{SELECT backtest_async('bt3', 'SELECT gauge, week_start, flow FROM gauges', '{$bspec, "parallel": 3}', '$bset')});
is(tsf_sql($node, "SELECT wait_job($bt3, '600s')"), 'succeeded', 'a backtest job with "parallel": 3 succeeds');
my $bt1 = tsf_sql($node, qq{SELECT backtest_async('bt1', 'SELECT gauge, week_start, flow FROM gauges', '{$bspec, "parallel": 1}', '$bset')});
is(tsf_sql($node, "SELECT wait_job($bt1, '600s')"), 'succeeded', '... and one with "parallel": 1');
like(slurp_file($node->logfile, $log_from), qr/tsforecast job $bt3 trains its 8 series in 3 processes/,
	'... the first in three processes');
sub bt_rows
{
	my ($name) = @_;
	return qq{SELECT series_key, origin, step, ts, forecast, lo, hi, actual, scale FROM backtests WHERE name = '$name'};
}
my $agg = qq{SELECT gauge::text, (b).* FROM (SELECT gauge, unnest(backtest(week_start, flow, '{$bspec}', '$bset')) b
                                                FROM gauges GROUP BY gauge) s};
is(tsf_sql($node, 'SELECT count(*) FROM (' . bt_rows('bt3') . ') x'), tsf_sql($node, "SELECT count(*) FROM ($agg) x"),
	'... with as many rows as backtest() ... GROUP BY');
is(tsf_sql($node, qq{SELECT count(*) FROM ((@{[bt_rows('bt3')]} EXCEPT @{[bt_rows('bt1')]})
                                           UNION ALL (@{[bt_rows('bt1')]} EXCEPT @{[bt_rows('bt3')]})
                                           UNION ALL (@{[bt_rows('bt3')]} EXCEPT $agg)) d}),
	'0', '... the same rows as parallel 1\'s and backtest()\'s');

# ---- while it trains; a cancel ----
my $long = '{"kind": "lstm", "epochs": 100000, "hidden": 8, "parallel": 3}';
my $workers = q{
	SELECT count(*) FROM pg_stat_activity
	 WHERE backend_type = 'parallel worker'
	   AND leader_pid IN (SELECT pid FROM pg_stat_activity WHERE backend_type = 'tsforecast job')};
my $c = tsf_sql($node, qq{SELECT train_async('cancelled', 'SELECT gauge, week_start, flow FROM gauges', '$long')});
ok($node->poll_query_until('jobs', "SELECT ($workers) = 2 AND (SELECT epoch > 0 FROM tsforecast.jobs WHERE id = $c)"),
	'pg_stat_activity shows the job\'s two parallel workers while it trains');
ok($node->poll_query_until('jobs', qq{
	SELECT count(*) = 2 FROM pg_stat_activity
	 WHERE backend_type = 'parallel worker' AND query ~ '^tsforecast job $c: parallel worker training series [1-8] of 8\$'}),
	'... each says which series it trains');
like(tsf_sql($node, "SELECT progress || ' ' || series_total FROM jobs WHERE id = $c"),
	qr/^series [0-7] of 8, epoch \d+ of 100000 8$/, '... and the jobs view counts all the series');
is(tsf_sql($node, "SELECT cancel_job($c)"), 't', 'cancel_job');
is(wait_job_state($node, 'jobs', $c, 'cancelled|failed|succeeded', 60), 'cancelled', 'the job is cancelled');
is(tsf_sql($node, $workers), '0', 'no parallel worker is left');
is(tsf_sql($node, "SELECT count(*) FROM models WHERE name = 'cancelled'"), '0', 'no model landed');

# ---- a parallel worker terminated mid-job ----
my $t = tsf_sql($node, qq{SELECT train_async('terminated', 'SELECT gauge, week_start, flow FROM gauges', '$long')});
ok($node->poll_query_until('jobs', "SELECT ($workers) = 2 AND (SELECT epoch > 0 FROM tsforecast.jobs WHERE id = $t)"),
	'a second job trains in three processes');
is(tsf_sql($node, q{
	SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'parallel worker' LIMIT 1}),
	't', 'one of its parallel workers is terminated');
is(wait_job_state($node, 'jobs', $t, 'cancelled|failed|succeeded', 60), 'failed', 'the whole job fails');
like(tsf_sql($node, "SELECT error FROM jobs WHERE id = $t"), qr/^terminating background worker "parallel worker" due to administrator command$/,
	'... with the worker\'s error');
is(tsf_sql($node, $workers), '0', 'no parallel worker is left');
is(tsf_sql($node, "SELECT count(*) FROM models WHERE name = 'terminated'"), '0', 'no model landed');

# ---- the submitting session's statement_timeout ----
my $st = tsf_sql($node, qq{SET statement_timeout = '2s';
	SELECT train_async('timeout', 'SELECT gauge, week_start, flow FROM gauges', '$long')});
is(wait_job_state($node, 'jobs', $st, 'cancelled|failed|succeeded', 60), 'failed',
	'a job in three processes under a 2 s statement_timeout fails');
is(tsf_sql($node, "SELECT error || ' ' || (finished_at - started_at < interval '30s') FROM jobs WHERE id = $st"),
	'canceling statement due to statement timeout true', '... at its timeout');
is(tsf_sql($node, $workers), '0', 'no parallel worker is left');
is(tsf_sql($node, "SELECT count(*) FROM models WHERE name = 'timeout'"), '0', 'no model landed');

# ---- a series' error, in whichever process trains it ----
tsf_sql($node, q{
	CREATE TABLE broken AS SELECT * FROM gauges;
	INSERT INTO broken SELECT 5, week_start, flow FROM gauges WHERE gauge = 5 AND week_start = date '2020-01-05'});
my $b = tsf_sql($node, q{
	SELECT train_async('broken', 'SELECT gauge, week_start, flow FROM broken', '{"kind": "lstm", "epochs": 40, "hidden": 8, "parallel": 4}')});
is(tsf_sql($node, "SELECT wait_job($b, '600s')"), 'failed', 'a series with a duplicate timestamp fails the job');
like(tsf_sql($node, "SELECT error FROM jobs WHERE id = $b"), qr/duplicate/, '... with that series\' error');
is(tsf_sql($node, "SELECT count(*) FROM models WHERE name = 'broken'"), '0', 'no model landed');

# ---- tsforecast.max_memory counts the shared copy of the series ----
$node->safe_psql('jobs', "ALTER SYSTEM SET tsforecast.max_memory = '1MB'");
$node->reload;
my $m3 = tsf_sql($node, q{SELECT train_async('mem', 'SELECT gauge, week_start, flow FROM gauges', '{"kind": "ar", "order": 2, "parallel": 3}')});
is(tsf_sql($node, "SELECT wait_job($m3, '600s')"), 'failed', 'max_memory 1MB: a job sharing its series with two workers fails');
like(tsf_sql($node, "SELECT error FROM jobs WHERE id = $m3"), qr/^the training job needs 1\d\d\d kB of memory for its series$/,
	'... saying how much it needs, before it takes it');
my $m1 = tsf_sql($node, q{SELECT train_async('mem', 'SELECT gauge, week_start, flow FROM gauges', '{"kind": "ar", "order": 2, "parallel": 1}')});
# (the count in a statement of its own: one snapshot after the job's end)
is(tsf_sql($node, "SELECT wait_job($m1, '600s')"), 'succeeded', '... while the same job in one process fits');
is(tsf_sql($node, "SELECT count(*) FROM models WHERE name = 'mem'"), '8', '... and stores its models');
$node->safe_psql('jobs', 'ALTER SYSTEM RESET tsforecast.max_memory');
$node->reload;

# ---- no parallel worker to be had ----
$node->safe_psql('jobs', 'ALTER SYSTEM SET max_parallel_workers = 0');
$node->reload;
$log_from = -s $node->logfile;
my $p0 = tsf_sql($node, qq{SELECT train_async('p0', 'SELECT gauge, week_start, flow FROM gauges', '{"kind": "lstm", $opts, "parallel": 3}')});
is(tsf_sql($node, "SELECT wait_job($p0, '600s')"), 'succeeded', 'max_parallel_workers = 0: the job succeeds');
like(slurp_file($node->logfile, $log_from),
	qr/tsforecast job $p0 trains its 8 series in 1 processes: 0 parallel workers of 2 asked for.*\n.*HINT:  Fewer parallel workers were free than asked for/,
	'... in its own worker, saying so in the server log');
is(same_models('p0', 'p1'), '8 1', '... with the same models');

$node->stop;
done_testing();

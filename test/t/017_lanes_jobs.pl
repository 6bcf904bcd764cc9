# A training job's LSTM series on the CPU, sixteen at a time in the vector
# lanes (src/nn/lanes.c, lstm_train.c's fit_cpu): series of one network,
# length and options train in one pass, the rest one at a time.  What a
# user would check:
#   - the job's models are those of the session's lstm_train ... GROUP BY,
#     bit for bit but the fit time, with the moving average (the default),
#     with early stopping at different epochs per series, and without a
#     validation part or dropout;
#   - the lanes were used (the server log, at DEBUG1), and series of
#     another length or too few of a kind trained alone;
#   - in parallel processes, the same models;
#   - cancel_job stops a job mid-pass and leaves no model.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TsfNode;

my $node = tsf_node('lanes_jobs', "tsforecast.device = 'cpu'", "log_min_messages = debug1");
# 20 gauges, each a different stretch of the Verde River's weeks (gauge g
# from week 40 g on) laid on one calendar: 17 of 345 weeks, 3 of 335
# (another length: trained alone)
tsf_sql($node, q{
	CREATE TABLE gauges AS
	SELECT g AS gauge, date '2000-01-02' + 7 * (i::int - 1) AS week_start, flow
	  FROM generate_series(1, 20) g,
	       LATERAL (SELECT row_number() OVER (ORDER BY week_start) AS i, flow FROM verde
	                 ORDER BY week_start OFFSET 40 * g LIMIT CASE WHEN g > 17 THEN 335 ELSE 345 END) w;
});
is(tsf_sql($node, q{SELECT string_agg(n || ' x ' || c, ', ' ORDER BY n DESC)
                      FROM (SELECT n, count(*) c FROM (SELECT count(*) n FROM gauges GROUP BY gauge) s GROUP BY n) t}),
	'345 x 17, 335 x 3', '17 gauges of one length, 3 of another');

# the job's models against the session's, but the fit time
sub same_as_session
{
	my ($name, $opts, $where) = @_;
	$where //= 'true';
	return tsf_sql($node, qq{
		SELECT count(*) || ' ' || bool_and((m.model::jsonb - 'fit_seconds' - 'fitted_at')
		                                   = (s.model::jsonb - 'fit_seconds' - 'fitted_at'))::int
		  FROM models m
		  JOIN (SELECT gauge::text AS series_key, lstm_train(week_start, flow, '{$opts}') AS model
		          FROM gauges WHERE $where GROUP BY gauge) s USING (series_key)
		 WHERE m.name = '$name'});
}

sub run_job
{
	my ($name, $opts, $source) = @_;
	$source //= 'SELECT gauge, week_start, flow FROM gauges';
	my $log_from = -s $node->logfile;
	my $id = tsf_sql($node, qq{SELECT train_async('$name', '$source', '{"kind": "lstm", $opts}')});
	my $state = tsf_sql($node, "SELECT wait_job($id, '600s')");
	return ($state, slurp_file($node->logfile, $log_from));
}

# ---- the defaults: the moving average, dropout, a validation part ----
my $opts = '"epochs": 30, "hidden": 8, "validation": 0.2';
my ($state, $log) = run_job('ema', qq{$opts, "parallel": 1});
is($state, 'succeeded', 'a job of 20 LSTM series succeeds');
my @passes = $log =~ /16 LSTM series trained in one pass \(lanes\)/g;
is(scalar @passes, 1, 'one pass of 16 in lanes (the server log); the other 4 alone');
is(same_as_session('ema', $opts), '20 1',
	'the models of the session\'s lstm_train ... GROUP BY, bit for bit but the fit time');
is(tsf_sql($node, q{SELECT count(DISTINCT model::jsonb - 'fit_seconds' - 'fitted_at') FROM models WHERE name = 'ema'}),
	'20', '... twenty different models');

# ---- early stopping: each lane stops at its own epoch ----
my $stop = '"epochs": 80, "hidden": 8, "validation": 0.3, "ema": 0, "patience": 3, "lr": 0.05';
($state, $log) = run_job('patience', qq{$stop, "parallel": 1});
is($state, 'succeeded', 'a job with early stopping succeeds');
like($log, qr/16 LSTM series trained in one pass/, '... in lanes');
is(same_as_session('patience', $stop), '20 1', '... the session\'s models, bit for bit but the fit time');
cmp_ok(tsf_sql($node, q{
	SELECT count(DISTINCT model_info(model)->>'epochs_run') FROM models WHERE name = 'patience'}), '>', 1,
	'... the series stopped at different epochs');
is(tsf_sql($node, q{
	SELECT bool_and((model_info(model)->>'epochs_run')::int - (model_info(model)->>'best_epoch')::int = 3
	                OR (model_info(model)->>'epochs_run')::int = 80)::int FROM models WHERE name = 'patience'}),
	'1', '... each three epochs after its best, or at the last epoch');

# ---- no validation part, no dropout ----
my $plain = '"epochs": 25, "hidden": 12, "validation": 0, "dropout": 0';
($state, $log) = run_job('plain', qq{$plain, "parallel": 1});
is($state, 'succeeded', 'a job without validation or dropout succeeds');
like($log, qr/16 LSTM series trained in one pass/, '... in lanes');
is(same_as_session('plain', $plain), '20 1', '... the session\'s models, bit for bit but the fit time');

# ---- too wide for lanes, or too few series: one at a time ----
my $wide = '"epochs": 3, "hidden": 72';
($state, $log) = run_job('wide', qq{$wide, "parallel": 1});
is($state, 'succeeded', 'a job of hidden-72 networks succeeds');
unlike($log, qr/trained in one pass/, '... one at a time (lanes are for hidden 64 or less)');
is(same_as_session('wide', $wide), '20 1', '... the session\'s models');
my $whole = '"epochs": 3, "hidden": 48';
($state, $log) = run_job('whole', qq{$whole, "parallel": 1});
is($state, 'succeeded', 'a job of hidden-48 networks succeeds');
unlike($log, qr/trained in one pass/, '... one at a time (three whole vectors: the lanes would be slower)');
is(same_as_session('whole', $whole), '20 1', '... the session\'s models');
($state, $log) = run_job('few', qq{$opts, "parallel": 1}, 'SELECT gauge, week_start, flow FROM gauges WHERE gauge <= 15');
is($state, 'succeeded', 'a job of 15 series succeeds');
unlike($log, qr/trained in one pass/, '... one at a time (fewer than 16)');
is(same_as_session('few', $opts, 'gauge <= 15'), '15 1', '... the session\'s models');

# ---- in two processes: the same models ----
($state, $log) = run_job('ema2', qq{$opts, "parallel": 2});
is($state, 'succeeded', 'the default job in two processes succeeds');
is(tsf_sql($node, q{
	SELECT count(*) || ' ' || bool_and((a.model::jsonb - 'fit_seconds' - 'fitted_at')
	                                   = (b.model::jsonb - 'fit_seconds' - 'fitted_at')
	                                   AND a.metrics = b.metrics)::int
	  FROM models a JOIN models b USING (series_key) WHERE a.name = 'ema2' AND b.name = 'ema'}),
	'20 1', '... the models and metrics of one process');

# ---- a cancel mid-pass ----
my $long = '"epochs": 100000, "hidden": 40, "parallel": 1';
my $log_from = -s $node->logfile;
my $c = tsf_sql($node, qq{SELECT train_async('cancelled', 'SELECT gauge, week_start, flow FROM gauges WHERE gauge <= 16', '{"kind": "lstm", $long}')});
ok($node->poll_query_until('jobs', "SELECT epoch > 5 FROM tsforecast.jobs WHERE id = $c"),
	'a long job of 16 series trains');
like(slurp_file($node->logfile, $log_from), qr/16 LSTM series trained in one pass/, '... in lanes');
is(tsf_sql($node, "SELECT cancel_job($c)"), 't', 'cancel_job');
is(wait_job_state($node, 'jobs', $c, 'cancelled|failed|succeeded', 60), 'cancelled', 'the job is cancelled');
is(tsf_sql($node, "SELECT count(*) FROM models WHERE name = 'cancelled'"), '0', 'no model landed');

$node->stop;
done_testing();

# tsforecast on a Citus cluster: a coordinator and two workers on
# 127.0.0.1 (test/t/TsfCitus.pm), tsforecast installed on all three, eight
# gauges (windows of the Verde River's weeks, scaled) in a table distributed
# by gauge, and the same rows in a plain table on the coordinator, the
# single-node reference.
#
#  1. SELECT gauge, ar_fit(...) / lstm_train(...) ... GROUP BY gauge runs
#     wholly on the workers: EXPLAIN (VERBOSE) shows the aggregate inside
#     every task's query and nothing above the Citus scan; the models equal
#     the single-node ones bit for bit (model::jsonb, every stored number in
#     its shortest exact text, but the fit time); so does INSERT ... SELECT
#     into a distributed table of models;
#  2. forecast(), predict() (and r2() over it) on the distributed models and
#     backtest() on the distributed data run in the tasks too, with the
#     single node's results to the bit (forecast() in a LATERAL subquery is
#     refused by Citus; joined and grouped by gauge it runs in the tasks);
#     an error in one task leaves no model on any node;
#  3. training jobs (train_async, AR and LSTM) whose source reads the table
#     distributed by gauge train on the workers: the coordinator's log shows
#     the job's worker sending each shard one query grouped by gauge with
#     _job_fit (job_citus.c) and no raw rows, each worker's log shows the
#     tasks of its own shards running it; the models, metrics and
#     provenance in tsforecast.models equal those of the same job over the
#     plain table, bit for bit but the fit time; a job over the table
#     distributed by week (a series spread over shards) gives the same
#     models too, with train_async's NOTICE and the worker's LOG line saying
#     the rows go to the coordinator; joined to a reference table the job
#     still trains on the workers, joined to a plain table it does not (the
#     NOTICE); backtest_async over the distributed table says it runs on the
#     coordinator; a role that is not a superuser gets the workers' path
#     too;
#  4. a series spread over shards (the table distributed by week, grouped
#     by gauge): correct models, but every row is shipped to the coordinator
#     and the aggregate runs there (EXPLAIN ANALYZE counts the rows); an
#     accuracy metric over every series, whose state Citus can combine, is
#     aggregated partially in the tasks;
#  5. a slow job on the workers: the jobs view shows no series done nor
#     epochs while the tasks train; cancel_job cancels it and its tasks; a
#     worker stopped (pg_ctl -m immediate) mid-job fails the job with an
#     error naming the node, and no model of it is stored.
#
# Skipped where Citus is not installed (test/citus/build.sh installs it;
# scripts/tsf test runs that first).  The times it prints (note, in the
# test's log) are what the README's Citus section quotes.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use TsfNode;
use TsfCitus;

my $missing = citus_missing();
plan skip_all => $missing if defined $missing;

my $root = $TsfNode::root;
my $t_start = time();
# %b in the coordinator's log lines: which process sent a remote command
my ($coord, @workers) = citus_cluster('citus', 2, "log_line_prefix = '%m [%p] %b %q%a '");
note(sprintf('three nodes up in %.1f s', time() - $t_start));

is(tsf_sql($coord, "SELECT count(*) FROM citus_get_active_worker_nodes()"), '2',
	'the coordinator has two workers');
is(join(',', map { tsf_sql($_, "SELECT extversion FROM pg_extension WHERE extname = 'tsforecast'") }
		($coord, @workers)),
	join(',', (tsf_sql($coord, "SELECT extversion FROM pg_extension WHERE extname = 'tsforecast'")) x 3),
	'tsforecast is installed on all three nodes, the same version');

# ---- the data: eight gauges, distributed by gauge; the same rows locally ----
tsf_sql($coord, qq{
	CREATE TABLE verde (week_start date PRIMARY KEY, flow float8 NOT NULL);
	COPY verde FROM '$root/test/fixtures/verde_weekly.csv' WITH (FORMAT csv, HEADER true);
	CREATE TABLE gauges_local AS
	SELECT g AS gauge, week_start, flow * g AS flow FROM verde, generate_series(1, 8) g
	 WHERE week_start >= date '2000-01-02' + 35 * g;
	CREATE TABLE gauges (LIKE gauges_local);
	SELECT create_distributed_table('gauges', 'gauge');
	INSERT INTO gauges SELECT * FROM gauges_local;
	-- a series spread over every shard: the same rows distributed by week
	CREATE TABLE gauges_by_week (LIKE gauges_local);
	SELECT create_distributed_table('gauges_by_week', 'week_start');
	INSERT INTO gauges_by_week SELECT * FROM gauges_local;
});
my $nrows = tsf_sql($coord, 'SELECT count(*) FROM gauges_local');
my $rows_digest = q{SELECT md5(string_agg(format('%s %s %s', gauge, week_start, flow), ',' ORDER BY gauge, week_start)) FROM };
my $local_digest = tsf_sql($coord, "$rows_digest gauges_local");
is(tsf_sql($coord, "$rows_digest gauges") . ' ' . tsf_sql($coord, "$rows_digest gauges_by_week"),
	"$local_digest $local_digest",
	"the distributed tables hold the local table's $nrows rows, to the bit");
is(tsf_sql($coord, q{
	SELECT count(DISTINCT s.nodeport) FROM citus_shards s
	 WHERE s.table_name = 'gauges'::regclass
	   AND s.shardid IN (SELECT get_shard_id_for_distribution_column('gauges', gauge) FROM gauges_local)}),
	'2', 'the gauges are on both workers');

# EXPLAIN (VERBOSE) of $sql on the coordinator, every task shown
sub plan_of
{
	my ($sql, $analyze) = @_;
	my $opts = $analyze ? 'ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF' : 'VERBOSE, COSTS OFF';

	return tsf_sql($coord, "SET citus.explain_all_tasks = on;\nEXPLAIN ($opts) $sql");
}

# a plan up to the end of its first task, for the log
sub first_task
{
	my ($plan) = @_;
	my @lines = split /\n/, $plan;
	my @keep;
	my $tasks = 0;

	for (@lines)
	{
		last if /^\s*->  Task$/ && ++$tasks == 2;
		push @keep, $_;
	}
	return join("\n", @keep);
}

# whether a plan runs wholly on the workers: the Citus scan is its top node
# (nothing runs above it on the coordinator) and each of its tasks' queries,
# as many as its Task Count, matches $re
sub pushed_down
{
	my ($plan, $re) = @_;
	my @lines = split /\n/, $plan;
	my ($count) = $plan =~ /^\s*Task Count: (\d+)$/m;
	my @queries = grep { /^\s*Query: / } @lines;

	return $lines[0] =~ /^Custom Scan \(Citus Adaptive\)/ && defined $count && $count > 0
	  && @queries == $count && !grep { !/$re/ } @queries;
}

# one line per gauge: the gauge and a digest of its model (every stored
# number, the fit time left out), from a query of (gauge, model)
sub model_digests
{
	my ($q) = @_;
	return tsf_sql($coord, qq{
		SELECT string_agg(gauge || ' ' || md5((model::jsonb - 'fit_seconds' - 'fitted_at')::text), E'\n' ORDER BY gauge)
		  FROM ($q) q});
}

# ---- 1. one model per gauge, trained on the workers ----
my %fit = (
	ar => q{ar_fit(week_start, flow, '{"transform": "log"}')},
	lstm => q{lstm_train(week_start, flow, '{"epochs": 100}')});
my %local_seconds;
for my $kind ('ar', 'lstm')
{
	my $agg = $fit{$kind} =~ s/\(.*//r;
	my $q = "SELECT gauge, $fit{$kind} AS model FROM gauges GROUP BY gauge";
	my $plan = plan_of($q);

	ok(pushed_down($plan, qr/^\s*Query: SELECT gauge, tsforecast\.$agg\(week_start, flow, .* GROUP BY gauge$/),
		"$agg ... GROUP BY gauge: the aggregate inside every task's query, nothing on the coordinator")
	  or diag($plan);
	my $t0 = time();
	my $dist = model_digests($q);
	my $dist_s = time() - $t0;
	$t0 = time();
	my $local = model_digests($q =~ s/FROM gauges /FROM gauges_local /r);
	$local_seconds{$kind} = time() - $t0;
	is(($dist =~ tr/\n//) + 1, 8, "... one $kind model per gauge");
	is($dist, $local, "... equal to the single node's models, bit for bit but the fit time");
	note(sprintf('%s, 8 gauges: %.2f s on the workers, %.2f s on one node', $agg, $dist_s, $local_seconds{$kind}));
}
note("ar_fit grouped by gauge, its first task:\n",
	first_task(plan_of("SELECT gauge, $fit{ar} AS model FROM gauges GROUP BY gauge")));

# a distributed table of models, colocated with the data: INSERT ... SELECT
# trains and inserts in each task; an error in one task stores nothing
tsf_sql($coord, q{
	CREATE TABLE gauge_models (gauge int, kind text, model tsmodel);
	SELECT create_distributed_table('gauge_models', 'gauge', colocate_with => 'gauges');
	CREATE TABLE models_local (gauge int, kind text, model tsmodel);
});
my $insert = "INSERT INTO gauge_models SELECT gauge, 'ar', $fit{ar} FROM gauges GROUP BY gauge";
ok(pushed_down(plan_of($insert),
		qr/^\s*Query: INSERT INTO public\.gauge_models_\d+ .* SELECT .*tsforecast\.ar_fit\(gauges\.week_start, .* GROUP BY gauges\.gauge$/),
	'INSERT ... SELECT of the models into a colocated table: trained and inserted in each task')
  or diag(plan_of($insert));
tsf_sql($coord, qq{
	$insert;
	INSERT INTO gauge_models SELECT gauge, 'lstm', $fit{lstm} FROM gauges GROUP BY gauge;
	INSERT INTO models_local SELECT gauge, 'ar', $fit{ar} FROM gauges_local GROUP BY gauge;
	INSERT INTO models_local SELECT gauge, 'lstm', $fit{lstm} FROM gauges_local GROUP BY gauge;
});
is(model_digests("SELECT gauge * 10 + (kind = 'lstm')::int AS gauge, model FROM gauge_models"),
	model_digests("SELECT gauge * 10 + (kind = 'lstm')::int AS gauge, model FROM models_local"),
	'... the stored models equal the single node\'s, bit for bit but the fit time');
my ($out, $err) = tsf_psql($coord, q{
	INSERT INTO gauge_models
	SELECT gauge, 'bad', ar_fit(week_start, flow, CASE WHEN gauge = 5 THEN '{"order": 5000}' ELSE '{}' END::jsonb)
	  FROM gauges GROUP BY gauge});
like($err, qr/ERROR:  invalid value for option "order": 5000/, 'a fit failing in one task fails the statement');
is(tsf_sql($coord, "SELECT count(*) FROM gauge_models WHERE kind = 'bad'"), '0', '... and no task\'s models are stored');

# ---- 2. forecast, predict and backtest in the tasks ----
my $q_forecast = 'SELECT m.gauge, m.kind, f.step, f.ts, f.value, f.lo, f.hi FROM gauge_models m, forecast(m.model, 8, 0.8) f';
ok(pushed_down(plan_of($q_forecast), qr/tsforecast\.forecast\(m\.model, 8, /),
	'forecast() over the distributed models: in every task') or diag(plan_of($q_forecast));
my $rows_text = q{SELECT string_agg(format('%s %s %s %s %s %s %s', gauge, kind, step, ts, value, lo, hi), E'\n' ORDER BY gauge, kind, step) FROM };
is(tsf_sql($coord, "$rows_text ($q_forecast) q"),
	tsf_sql($coord, $rows_text . '(' . ($q_forecast =~ s/gauge_models/models_local/r) . ') q'),
	'... the same forecasts and intervals as on one node, to the bit');

# forecast() is STABLE (dates in the session's time zone): Citus takes it
# as a function scan joined to the models, not in a LATERAL subquery
($out, $err) = tsf_psql($coord, q{
	SELECT m.gauge, x.s FROM gauge_models m,
	       LATERAL (SELECT string_agg(round(value)::text, ',') AS s FROM forecast(m.model, 5)) x});
like($err, qr/ERROR:  cannot push down this subquery\nDETAIL:  Only immutable functions can be used as a table expressions in a multi-shard query/,
	'forecast() inside a LATERAL subquery over the distributed models is refused by Citus');
my $q_forecast_agg = q{
	SELECT m.gauge, m.kind, string_agg(round(f.value)::text, ',' ORDER BY f.step) AS s
	  FROM gauge_models m, forecast(m.model, 5) f GROUP BY m.gauge, m.kind};
ok(pushed_down(plan_of($q_forecast_agg), qr/string_agg\(.*tsforecast\.forecast\(m\.model, 5\) f/),
	'... the same as a join grouped by the distribution column runs in every task') or diag(plan_of($q_forecast_agg));

my $q_predict = q{
	SELECT g.gauge, m.kind, g.week_start, predict(m.model, g.week_start, g.flow)
	       OVER (PARTITION BY g.gauge, m.kind ORDER BY g.week_start) AS p
	  FROM gauges g JOIN gauge_models m ON m.gauge = g.gauge};
my $q_r2 = qq{SELECT s.gauge, s.kind, r2(s.flow, s.p), count(s.p) FROM (
	SELECT g.gauge, m.kind, g.flow, predict(m.model, g.week_start, g.flow)
	       OVER (PARTITION BY g.gauge, m.kind ORDER BY g.week_start) AS p
	  FROM gauges g JOIN gauge_models m ON m.gauge = g.gauge) s GROUP BY s.gauge, s.kind};
my $local = sub { return $_[0] =~ s/\bgauges g\b/gauges_local g/r =~ s/\bgauge_models m\b/models_local m/r };
ok(pushed_down(plan_of($q_r2), qr/tsforecast\.r2\(.*tsforecast\.predict\(m\.model, g\.week_start, g\.flow\) OVER \(PARTITION BY g\.gauge/),
	'predict() over the distributed models and data, r2() over it: in every task') or diag(plan_of($q_r2));
my $predict_digest = q{SELECT count(p) || ' ' || md5(string_agg(format('%s %s %s %s', gauge, kind, week_start, p), ',' ORDER BY gauge, kind, week_start)) FROM };
is(tsf_sql($coord, "$predict_digest ($q_predict) q"), tsf_sql($coord, "$predict_digest (" . $local->($q_predict) . ') q'),
	'... the same one-step predictions as on one node, to the bit');
my $r2_text = q{SELECT string_agg(format('%s %s %s %s', gauge, kind, r2, count), E'\n' ORDER BY gauge, kind) FROM };
is(tsf_sql($coord, "$r2_text ($q_r2) q"), tsf_sql($coord, "$r2_text (" . $local->($q_r2) . ') q'),
	'... and the same r2');

for my $spec (q{'{"kind": "ar", "transform": "log"}', '{"horizon": 2, "start": "2019-01-01"}'},
	q{'{"kind": "lstm", "epochs": 30}', '{"horizon": 2, "origins": ["2019-08-24", "2019-12-28"]}'})
{
	my ($kind) = $spec =~ /"kind": "(\w+)"/;
	my $q = "SELECT gauge, backtest(week_start, flow, $spec) AS r FROM gauges GROUP BY gauge";
	my $digest = q{SELECT string_agg(gauge || ' ' || cardinality(r) || ' ' || md5(r::text), E'\n' ORDER BY gauge) FROM };

	ok(pushed_down(plan_of($q), qr/tsforecast\.backtest\(week_start, flow, .* GROUP BY gauge$/),
		"backtest() of $kind ... GROUP BY gauge over the distributed data: in every task") or diag(plan_of($q));
	is(tsf_sql($coord, "$digest ($q) q"), tsf_sql($coord, $digest . '(' . ($q =~ s/FROM gauges /FROM gauges_local /r) . ') q'),
		'... the same rows as on one node, to the bit');
}

# ---- 3. a training job whose source reads the distributed table ----
# The coordinator logs the commands it sends the workers that read the
# job's source (tsf_value is the column alias of job_source.c and
# job_citus.c)
my $log_offset = -s $coord->logfile;
$coord->append_conf('postgresql.conf', join("\n",
	"citus.log_remote_commands = on",
	"citus.grep_remote_commands = '%tsf_%'",
	"log_min_messages = notice") . "\n");
$coord->reload;
# the workers log the statements their tasks run
my @worker_offset = map { -s $_->logfile } @workers;
for my $w (@workers)
{
	$w->append_conf('postgresql.conf', "log_statement = 'all'\n");
	$w->reload;
}
# a new session sees the setting once the postmaster has read it: so will
# the job's worker, started after
$coord->poll_query_until('jobs', "SELECT current_setting('citus.log_remote_commands')::bool")
  or die 'citus.log_remote_commands did not turn on';
$_->poll_query_until('jobs', "SELECT current_setting('log_statement') = 'all'") for @workers;

# the same job over the plain table (the single node's path) and over the
# distributed one: every column of their models but the fit time and the
# job's id alike
my $job_rows = q{SELECT string_agg(concat_ws(' ', series_key, md5((model::jsonb - 'fit_seconds' - 'fitted_at')::text),
		metrics, spec, seed, data_from, data_to, n_rows, version), E'\n' ORDER BY series_key)
	FROM tsforecast.models WHERE job_id = };
my %job;
for my $case (['lstm', '{"kind": "lstm", "epochs": 100}', 'gauge, week_start, flow'],
	['ar', '{"kind": "ar", "transform": "log"}', 'gauge, week_start, flow'],
	['ar_cov', '{"kind": "ar", "transform": "log", "order": 2}', 'gauge, week_start, flow, ARRAY[cos(extract(doy FROM week_start) / 58.1)]'])
{
	my ($kind, $spec, $cols) = @$case;
	my $t0 = time();
	my $local_job = tsf_sql($coord, "SELECT train_async('local_$kind', 'SELECT $cols FROM gauges_local', '$spec')");
	is(tsf_sql($coord, "SELECT wait_job($local_job, '600s')"), 'succeeded', "a $kind job over the plain table succeeds");
	my $local_s = time() - $t0;
	$t0 = time();
	my ($out, $err) = tsf_psql($coord, "SELECT train_async('gauges_$kind', 'SELECT $cols FROM gauges', '$spec')");
	$job{$kind} = $out;
	is($err, '', '... train_async over the table distributed by gauge says nothing');
	is(tsf_sql($coord, "SELECT wait_job($job{$kind}, '600s')"), 'succeeded', "... the $kind job over the distributed table succeeds");
	my $dist_s = time() - $t0;
	my $rows = tsf_sql($coord, "$job_rows $job{$kind}");
	is(($rows =~ tr/\n//) + 1, 8, '... one model per gauge in tsforecast.models');
	is($rows, tsf_sql($coord, "$job_rows $local_job"),
		'... its models, metrics and provenance equal the single-node job\'s, bit for bit but the fit time');
	is(tsf_sql($coord, "SELECT concat_ws(' ', state, series_done, series_total, device, error) FROM tsforecast.jobs WHERE id = $job{$kind}"),
		'succeeded 8 8 cpu', '... the jobs view: 8 of 8 series, on the CPU');
	note(sprintf('%s job over 8 gauges: %.2f s on the Citus workers, %.2f s on one node (submission to succeeded)',
			$kind, $dist_s, $local_s));
}
# a role that is not a superuser: its job reads Citus's catalog and trains
# on the workers as that role (Citus creates the role and its grants on
# the workers)
tsf_sql($coord, 'CREATE ROLE tsf_alice LOGIN; GRANT SELECT ON gauges TO tsf_alice; GRANT USAGE ON SCHEMA tsforecast TO tsf_alice');
{
	my $alice = tsf_sql($coord, q{SELECT train_async('alice_ar', 'SELECT gauge, week_start, flow FROM gauges', '{"kind": "ar", "transform": "log"}')},
		'tsf_alice');
	is(tsf_sql($coord, "SELECT wait_job($alice, '600s')", 'tsf_alice'), 'succeeded', 'a job of a role that is not a superuser succeeds');
	is(tsf_sql($coord, "$job_rows $alice"), tsf_sql($coord, "$job_rows " . tsf_sql($coord, "SELECT id FROM tsforecast.jobs WHERE name = 'local_ar'")),
		'... with the single-node job\'s models, metrics and provenance');
	like(slurp_file($coord->logfile, $log_offset), qr/LOG:  tsforecast job $alice trains on the Citus workers/, '... trained on the workers');
	$job{alice} = $alice;
}
is(model_digests("SELECT series_key::int AS gauge, model FROM tsforecast.models WHERE job_id = $job{lstm}"),
	model_digests("SELECT gauge, model FROM models_local WHERE kind = 'lstm'"),
	'the lstm job\'s models are lstm_train\'s too, bit for bit but the fit time');
$coord->append_conf('postgresql.conf', "citus.log_remote_commands = off\nlog_min_messages = warning\n");
$coord->reload;
$coord->poll_query_until('jobs', "SELECT NOT current_setting('citus.log_remote_commands')::bool")
  or die 'citus.log_remote_commands did not turn off';

my $log = slurp_file($coord->logfile, $log_offset);
my @sent = grep { / tsforecast job NOTICE:  issuing / } split /\n/, $log;
my $ntasks = tsf_sql($coord, "SELECT count(*) FROM citus_shards WHERE table_name = 'gauges'::regclass");
my $task_query = qr/SELECT \(gauge\)::text AS tsf_key, tsforecast\._job_fit\(week_start, flow, '\{[^}]*\}'::jsonb, \d\) AS _job_fit, .* FROM public\.gauges_\d+ gauges WHERE true GROUP BY gauge, \(gauge\)::text$/;
is(scalar(grep { /issuing $task_query/ } @sent),
	3 * $ntasks, "the jobs' workers send each of the $ntasks shards one grouped query with _job_fit, per job")
  or diag(join("\n", @sent));
ok(@sent && !grep(/AS tsf_value/, @sent), '... and no task returns raw rows: none selects the values themselves')
  or diag(join("\n", @sent));
like($log, qr/LOG:  tsforecast job $job{ar} trains on the Citus workers/, '... the job\'s worker says where it trains');
# each worker ran _job_fit in the tasks of its own shards, once per job
for my $i (0 .. $#workers)
{
	my $w = $workers[$i];
	my $shards = tsf_sql($coord, "SELECT count(*) FROM citus_shards WHERE table_name = 'gauges'::regclass AND nodeport = " . $w->port);
	my $ran = grep { /LOG:  (statement|execute [^:]*): $task_query/ }
	  split /\n/, slurp_file($w->logfile, $worker_offset[$i]);
	is($ran, 3 * $shards, 'worker ' . ($i + 1) . ": _job_fit ran in the tasks of its $shards shards, for each job");
}

for my $w (@workers)
{
	$w->append_conf('postgresql.conf', "log_statement = 'none'\n");
	$w->reload;
}

# ---- 3b. a job grouped by a column other than the distribution column ----
# (the same rows distributed by week: every gauge over every shard)
{
	my $offset = -s $coord->logfile;
	my $spec = '{"kind": "ar", "transform": "log"}';
	my ($out, $err) = tsf_psql($coord, "SELECT train_async('by_week_ar', 'SELECT gauge, week_start, flow FROM gauges_by_week', '$spec')");
	like($err, qr/NOTICE:  the job will read every row of its source on the coordinator and train there\nDETAIL:  The series key is column "gauge" of "gauges_by_week", which is distributed by "week_start": a series is spread over its shards\./,
		'a job over a table distributed by week: train_async says every row goes to the coordinator');
	is(tsf_sql($coord, "SELECT wait_job($out, '600s')"), 'succeeded', '... the job succeeds');
	my $local = tsf_sql($coord, "SELECT id FROM tsforecast.jobs WHERE name = 'local_ar'");
	is(tsf_sql($coord, "$job_rows $out"), tsf_sql($coord, "$job_rows $local"),
		'... with the single-node job\'s models, metrics and provenance, bit for bit but the fit time');
	like(slurp_file($coord->logfile, $offset), qr/LOG:  tsforecast job $out reads every row of its source on the coordinator and trains there\n.*DETAIL:  The series key is column "gauge" of "gauges_by_week"/,
		'... and its worker logs it');

	# joined to a reference table: still on the workers; to a plain table
	# of the coordinator: the rows come to the coordinator, saying so
	tsf_sql($coord, q{
		CREATE TABLE gauge_scale AS SELECT g AS gauge, 1.0::float8 AS scale FROM generate_series(1, 8) g;
		CREATE TABLE gauge_scale_local AS SELECT * FROM gauge_scale;
		SELECT create_reference_table('gauge_scale');});
	my $joined = 'SELECT g.gauge, g.week_start, g.flow * s.scale FROM gauges g JOIN %s s ON s.gauge = g.gauge';
	($out, $err) = tsf_psql($coord, "SELECT train_async('ref_ar', '" . sprintf($joined, 'gauge_scale') . "', '$spec')");
	is($err, '', 'a job over the distributed table joined to a reference table: no NOTICE');
	is(tsf_sql($coord, "SELECT wait_job($out, '600s')"), 'succeeded', '... it succeeds');
	is(tsf_sql($coord, "$job_rows $out"), tsf_sql($coord, "$job_rows $local"), '... with the single-node job\'s models');
	like(slurp_file($coord->logfile, $offset), qr/LOG:  tsforecast job $out trains on the Citus workers/, '... trained on the workers');
	($out, $err) = tsf_psql($coord, "SELECT train_async('ref_local_ar', '" . sprintf($joined, 'gauge_scale_local') . "', '$spec')");
	like($err, qr/NOTICE:  the job will read every row .*\nDETAIL:  The source reads "gauge_scale_local" besides "gauges", which is neither "gauges" nor a reference table\./,
		'joined to a plain table on the coordinator: the NOTICE says the rows go to the coordinator');
	is(tsf_sql($coord, "SELECT wait_job($out, '600s')"), 'succeeded', '... it succeeds');
	is(tsf_sql($coord, "$job_rows $out"), tsf_sql($coord, "$job_rows $local"), '... with the single-node job\'s models');

	($out, $err) = tsf_psql($coord, q{SELECT backtest_async('gauges_bt', 'SELECT gauge, week_start, flow FROM gauges',
		'{"kind": "ar"}', '{"horizon": 2, "start": "2019-01-01"}')});
	like($err, qr/NOTICE:  the job will read every row of its source on the coordinator and run its backtests there/,
		'a backtest job over the table distributed by gauge: backtest_async says it runs on the coordinator');
	is(tsf_sql($coord, "SELECT wait_job($out, '600s')") . ' '
		  . tsf_sql($coord, "SELECT count(DISTINCT series_key) FROM tsforecast.backtests WHERE job_id = $out"),
		'succeeded 8', '... and it succeeds, with the rows of 8 series');
}

# ---- 4. grouped by gauge, distributed by week: every row to the coordinator ----
is(tsf_sql($coord, q{
	SELECT min(n) = (SELECT count(*) FROM citus_shards WHERE table_name = 'gauges_by_week'::regclass)
	  FROM (SELECT count(DISTINCT get_shard_id_for_distribution_column('gauges_by_week', week_start)) AS n
	          FROM gauges_local GROUP BY gauge) x}),
	't', 'distributed by week, every gauge is spread over every shard');
for my $kind ('ar', 'lstm')
{
	my $agg = $fit{$kind} =~ s/\(.*//r;
	my $q = "SELECT gauge, $fit{$kind} AS model FROM gauges_by_week GROUP BY gauge";
	my $plan = plan_of($q);
	my @queries = grep { /^\s*Query: / } split /\n/, $plan;

	ok($plan =~ /^HashAggregate\n\s*Output: remote_scan\.gauge, $agg\(remote_scan\./
		  && @queries > 0 && !grep(/tsforecast\.$agg\(/, @queries),
		"$agg grouped by a column other than the distribution column: the tasks return raw rows, the coordinator aggregates")
	  or diag($plan);
	my $t0 = time();
	my $dist = model_digests($q);
	my $dist_s = time() - $t0;
	is($dist, model_digests("SELECT gauge, $fit{$kind} AS model FROM gauges_local GROUP BY gauge"),
		'... the models are still the single node\'s, bit for bit but the fit time');
	note(sprintf('%s grouped by gauge over gauges_by_week: %.2f s (on one node: %.2f s)', $agg, $dist_s,
			$local_seconds{$kind}));
}
my $gather = plan_of("SELECT gauge, $fit{ar} AS model FROM gauges_by_week GROUP BY gauge", 1);
like($gather, qr/Custom Scan \(Citus Adaptive\) \(actual rows=$nrows loops=1\)/,
	"... EXPLAIN ANALYZE: all $nrows rows shipped to the coordinator") or diag($gather);
my $pushed = plan_of("SELECT gauge, $fit{ar} AS model FROM gauges GROUP BY gauge", 1);
like($pushed, qr/Custom Scan \(Citus Adaptive\) \(actual rows=8 loops=1\)/,
	'... against 8 rows, one model per gauge, grouped by the distribution column') or diag($pushed);
note("ar_fit grouped by gauge, distributed by week, EXPLAIN ANALYZE to its first task:\n", first_task($gather));
note(sprintf('received from the workers: %s of rows (by week) against %s of models (by gauge)',
		$gather =~ /Tuple data received from nodes: (\d+ \w+)/, $pushed =~ /Tuple data received from nodes: (\d+ \w+)/));
($out, $err) = tsf_psql($coord, "SET citus.coordinator_aggregation_strategy = 'disabled';
	SELECT gauge, $fit{ar} FROM gauges_by_week GROUP BY gauge");
like($err, qr/ERROR:  unsupported aggregate function ar_fit/,
	'... with citus.coordinator_aggregation_strategy = disabled, Citus refuses the query instead');

# an accuracy metric over every series (a float8[] state with a combine
# function): Citus aggregates it partially in each task
my $q_metric = q{
	SELECT s.kind, count(s.p), rmse(s.flow, s.p) FROM (
	SELECT g.gauge, m.kind, g.flow, predict(m.model, g.week_start, g.flow)
	       OVER (PARTITION BY g.gauge, m.kind ORDER BY g.week_start) AS p
	  FROM gauges g JOIN gauge_models m ON m.gauge = g.gauge) s GROUP BY s.kind};
my $metric_plan = plan_of($q_metric);
my @metric_queries = grep { /^\s*Query: / } split /\n/, $metric_plan;
ok($metric_plan =~ /^HashAggregate\n\s*Output: .*coord_combine_agg\(/ && @metric_queries > 0
	  && !grep({ !/worker_partial_agg\('tsforecast\.rmse\(double precision,double precision\)'::regprocedure/ } @metric_queries),
	'rmse() over every series, grouped by kind: partial aggregates in every task, combined on the coordinator')
  or diag($metric_plan);
is(tsf_sql($coord, qq{
	SELECT string_agg(format('%s %s %s', d.kind, d.count = l.count, abs(d.rmse - l.rmse) <= 1e-12 * l.rmse), ', ' ORDER BY d.kind)
	  FROM ($q_metric) d JOIN (} . $local->($q_metric) . ') l USING (kind)'),
	'ar t t, lstm t t', '... within 1e-12 of one node\'s (the partial sums add up in another order)');

# ---- 5. a job on the workers cancelled; a worker node lost mid-job ----
{
	my $busy = q{SELECT count(*) > 0 FROM pg_stat_activity
		WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE '%tsforecast._job_fit(%'};
	my $job = tsf_sql($coord, q{
		SELECT train_async('gauges_cancelled', 'SELECT gauge, week_start, flow FROM gauges', '{"kind": "lstm", "epochs": 5000}')});
	ok($workers[0]->poll_query_until('jobs', $busy), 'a slow LSTM job trains on the workers');
	is(tsf_sql($coord, "SELECT cancel_job($job)"), 't', '... cancel_job');
	is(wait_job_state($coord, 'jobs', $job, 'failed|succeeded|cancelled'), 'cancelled', '... the job is cancelled');
	ok($workers[0]->poll_query_until('jobs', "SELECT NOT ($busy)") && $workers[1]->poll_query_until('jobs', "SELECT NOT ($busy)"),
		'... and so are its tasks on the workers');
	is(tsf_sql($coord, "SELECT count(*) FROM tsforecast.models WHERE job_id = $job"), '0', '... no model of it is stored');
}
{
	my $busy = q{SELECT count(*) > 0 FROM pg_stat_activity
		WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE '%tsforecast._job_fit(%'};
	my $job = tsf_sql($coord, q{
		SELECT train_async('gauges_lost', 'SELECT gauge, week_start, flow FROM gauges', '{"kind": "lstm", "epochs": 5000}')});
	ok($workers[0]->poll_query_until('jobs', $busy) && $workers[1]->poll_query_until('jobs', $busy),
		'a slow LSTM job trains on both workers');
	is(tsf_sql($coord, "SELECT concat_ws(' | ', state, progress, series_done, series_total, epoch) FROM tsforecast.jobs WHERE id = $job"),
		'running | series 0 of ? | 0',
		'... the jobs view meanwhile: no series done, their number and the epochs unknown (they are on the workers)');
	$workers[1]->stop('immediate');
	is(wait_job_state($coord, 'jobs', $job, 'failed|succeeded|cancelled'), 'failed',
		'worker 2 stopped (immediate) mid-job: the job fails');
	my $port = $workers[1]->port;
	like(tsf_sql($coord, "SELECT error FROM tsforecast.jobs WHERE id = $job"), qr/127\.0\.0\.1:$port/,
		'... its error names the node lost') or diag(tsf_sql($coord, "SELECT error FROM tsforecast.jobs WHERE id = $job"));
	is(tsf_sql($coord, "SELECT count(*) FROM tsforecast.models WHERE job_id = $job OR name = 'gauges_lost'"), '0',
		'... and no model of it is stored, not even those of the other worker\'s series');
	ok($workers[0]->poll_query_until('jobs', "SELECT NOT ($busy)"),
		'... the other worker\'s tasks were cancelled');
}

note(sprintf('014_citus: %.1f s', time() - $t_start));
$coord->stop;
$workers[0]->stop;
done_testing();

# A training job over three series, watched live: its progress (series of
# series, epoch of epochs, the losses, the device), wait_job, one model per
# series with its provenance, metrics that predict() and r2() reproduce,
# forecast() on models.model, and the same model as lstm_train's.
#
# The node pins tsforecast.device = cpu, so that the bit-for-bit check holds
# on a machine with a GPU too.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TsfNode;

my $node = tsf_node('job_progress', "tsforecast.device = 'cpu'");
my $superuser = $node->safe_psql('jobs', 'SELECT current_user');
# three gauges: windows of the Verde River, scaled
tsf_sql($node, q{
	CREATE TABLE gauges AS
	SELECT g AS gauge, week_start, flow * g AS flow FROM verde, generate_series(1, 3) g
	 WHERE week_start >= date '2010-01-03' + 70 * g;
});
ok($node->poll_query_until('jobs',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'tsforecast launcher' AND datname = 'jobs'"),
	'the launcher runs in the jobs database');

my $id = tsf_sql($node, q{
	SELECT train_async('gauges', 'SELECT gauge, week_start, flow FROM gauges',
	                   '{"kind": "lstm", "epochs": 800, "validation": 0.2, "hidden": 16}')});
ok($node->poll_query_until('jobs', "SELECT state = 'running' AND epoch > 0 FROM tsforecast.jobs WHERE id = $id"),
	'a running job shows its epoch live');
is(tsf_sql($node, qq{
	SELECT progress ~ '^series [0-2] of 3, epoch [0-9]+ of 800\$' AND loss > 0 AND val_loss > 0 AND device = 'cpu'
	  FROM jobs WHERE id = $id}),
	't', '... with series of series, epoch of epochs, losses and the device');
is(tsf_sql($node, "SELECT wait_job($id, '50ms')"), 'running', 'wait_job returns the state at a timeout');
is(tsf_sql($node, "SELECT wait_job($id, '600s')"), 'succeeded', 'wait_job returns the final state');
is(tsf_sql($node, qq{
	SELECT progress || ' ' || (finished_at >= started_at) || ' ' || (error IS NULL) FROM jobs WHERE id = $id}),
	'series 3 of 3, epoch 800 of 800 true true', 'the job\'s progress is kept when it ends');
is(tsf_sql($node, "SELECT string_agg(series_key, ',' ORDER BY series_key) FROM models WHERE name = 'gauges' AND job_id = $id"),
	'1,2,3', 'one model per series, keyed');
is(tsf_sql($node, qq{
	SELECT string_agg(format('%s %s %s..%s %s %s %s', spec->>'epochs', seed, data_from, data_to, n_rows,
	                         version = (SELECT extversion FROM pg_extension WHERE extname = 'tsforecast'), owner),
	                  '; ' ORDER BY series_key)
	  FROM models WHERE job_id = $id}),
	"800 42 2010-03-14..2020-08-09 544 t $superuser; 800 42 2010-05-23..2020-08-09 534 t $superuser; "
	  . "800 42 2010-08-01..2020-08-09 524 t $superuser",
	'provenance: spec, seed, data range, rows, version, job, owner');
# the stored metrics are predict() and r2() over the validation weeks
is(tsf_sql($node, qq{
	SELECT bool_and(m.metrics->>'on' = 'validation' AND (m.metrics->>'n')::int = s.n
	                AND abs((m.metrics->>'r2')::float8 - s.r2) < 1e-9
	                AND abs((m.metrics->>'rmse')::float8 - s.rmse) < 1e-9 * s.rmse)
	  FROM models m,
	       LATERAL (SELECT count(p) AS n, r2(flow, p), rmse(flow, p)
	                  FROM (SELECT flow, row_number() OVER w AS i, predict(m.model, week_start, flow) OVER w AS p
	                          FROM gauges g WHERE g.gauge::text = m.series_key
	                        WINDOW w AS (ORDER BY week_start)) x
	                 WHERE i > (model_info(m.model)->>'n_train')::int) s
	 WHERE m.job_id = $id}),
	't', 'metrics: r2 and rmse of one-step predictions on the validation weeks, as predict() gives');
is(tsf_sql($node, "SELECT count(*) FROM models m, forecast(m.model, 4) WHERE job_id = $id"), '12',
	'forecast() works on models.model');
is(tsf_sql($node, qq{
	SELECT (SELECT model_info(model) - 'fit_seconds' - 'fitted_at' FROM models WHERE job_id = $id AND series_key = '2') =
	       (SELECT model_info(lstm_train(week_start, flow, '{"epochs": 800, "validation": 0.2, "hidden": 16}'))
	               - 'fit_seconds' - 'fitted_at'
	          FROM gauges WHERE gauge = 2)}),
	't', 'a job\'s model is lstm_train\'s over the same rows, bit for bit but the fit time');

$node->stop;
done_testing();

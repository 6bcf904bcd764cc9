# LSTM jobs on the GPU path, through the emulator module (the CUDA module's
# kernels run on the CPU; tsforecast.cuda_module set by ALTER SYSTEM, so the
# job workers have it): a batch of four series gives models close to the
# CPU's, the device is shown, the session's device is recorded in the spec,
# a cancel mid-batch leaves nothing; and device "cuda" with the real module
# fails, saying why, where no GPU is usable (where one is, the job runs on
# it).  This node leaves tsforecast.device at its default (auto).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TsfNode;

my $node = tsf_node('job_gpu');

# the server's tsforecast.cuda_module, reloaded: polled in new sessions,
# which start with the postmaster's settings, as job workers do
sub set_module
{
	my ($sql, $want) = @_;
	tsf_sql($node, $sql);
	tsf_sql($node, 'SELECT pg_reload_conf()');
	$node->poll_query_until('jobs', "SELECT current_setting('tsforecast.cuda_module') = '$want'")
	  or diag("the server did not take tsforecast.cuda_module = $want");
	return;
}

set_module(q{ALTER SYSTEM SET tsforecast.cuda_module = 'tsforecast_cuda_emu'}, 'tsforecast_cuda_emu');
tsf_sql($node, q{
	CREATE TABLE gpu_gauges AS
	SELECT g AS gauge, week_start, flow * g AS flow FROM verde, generate_series(1, 4) g
	 WHERE week_start >= date '2019-01-06' + 7 * g});

my $spec = '{"kind": "lstm", "device": "cuda", "hidden": 8, "epochs": 30, "validation": 0.2}';
my $gid = tsf_sql($node, "SELECT train_async('gpu', 'SELECT gauge, week_start, flow FROM gpu_gauges', '$spec')");
is(tsf_sql($node, "SELECT wait_job($gid, '600s')"), 'succeeded', 'a job with device cuda on the emulator succeeds');
is(tsf_sql($node, qq{
	SELECT device ILIKE '%emulat%'
	       AND device = (SELECT cuda_device() FROM (SELECT set_config('tsforecast.cuda_module', 'tsforecast_cuda_emu', false)) x)
	  FROM jobs WHERE id = $gid}),
	't', '... its device is the module\'s (an emulator)');
is(tsf_sql($node, "SELECT progress FROM jobs WHERE id = $gid"), 'series 4 of 4, epoch 30 of 30',
	'... its progress: every series, every epoch');
is(tsf_sql($node, qq{
	SELECT string_agg(series_key || ':' || (metrics->>'on') || ':' || (spec->>'device'), ',' ORDER BY series_key)
	  FROM models WHERE job_id = $gid}),
	'1:validation:cuda,2:validation:cuda,3:validation:cuda,4:validation:cuda',
	'... one model per series, with metrics, and the device in the spec');
is(tsf_sql($node, qq{
	SET tsforecast.device = cpu;
	SELECT bool_and((model_info(m.model)->>'epochs_run') = (model_info(c.m)->>'epochs_run')
	                AND (SELECT max(abs(fg.value / fc.value - 1)) FROM forecast(m.model, 16) fg
	                       JOIN forecast(c.m, 16) fc USING (step)) < 1e-4)
	  FROM models m,
	       LATERAL (SELECT lstm_train(week_start, flow, '{"hidden": 8, "epochs": 30, "validation": 0.2}') AS m
	                  FROM gpu_gauges g WHERE g.gauge::text = m.series_key) c
	 WHERE m.job_id = $gid}),
	't', '... each model close to lstm_train\'s on the CPU: same epochs, forecasts within 1e-4');

# a spec without device records the session's; auto uses the GPU where usable
my $aid = tsf_sql($node, q{
	SET tsforecast.device = auto;
	SELECT train_async('gpu_auto', 'SELECT gauge, week_start, flow FROM gpu_gauges WHERE gauge < 3',
	                   '{"kind": "lstm", "hidden": 8, "epochs": 5}')});
is(tsf_sql($node, "SELECT wait_job($aid, '600s')") . ' '
	  . tsf_sql($node, "SELECT (spec->>'device') || ' ' || (device ILIKE '%emulat%') FROM jobs WHERE id = $aid"),
	'succeeded auto true', 'a spec without device records the session\'s (auto) and trains on the GPU');
my $cpid = tsf_sql($node, q{
	SET tsforecast.device = cpu;
	SELECT train_async('gpu_cpu', 'SELECT week_start, flow FROM verde WHERE week_start > ''2019-01-01''',
	                   '{"kind": "lstm", "hidden": 4, "epochs": 2}')});
is(tsf_sql($node, "SELECT wait_job($cpid, '600s')") . ' '
	  . tsf_sql($node, "SELECT (spec->>'device') || ' ' || device FROM jobs WHERE id = $cpid"),
	'succeeded cpu cpu', '... and a session\'s cpu runs on the CPU');

# a cancel in the middle of a batch: the module stops after the epoch
my $kid = tsf_sql($node, q{
	SELECT train_async('gpu_long', 'SELECT gauge, week_start, flow FROM gpu_gauges',
	                   '{"kind": "lstm", "device": "cuda", "hidden": 8, "epochs": 10000000}')});
ok($node->poll_query_until('jobs',
		"SELECT state = 'running' AND epoch > 2 AND series_total = 4 FROM tsforecast.jobs WHERE id = $kid"),
	'a long GPU job trains its batch');
is(tsf_sql($node, "SELECT cancel_job($kid)"), 't', '... and is cancelled');
is(tsf_sql($node, "SELECT wait_job($kid, '600s')") . ' '
	  . tsf_sql($node, "SELECT coalesce(error, '-') FROM jobs WHERE id = $kid"),
	'cancelled -', '... ends cancelled');
is(tsf_sql($node, qq{
	SELECT (SELECT count(*) FROM models WHERE job_id = $kid) + (SELECT count(*) FROM _job_progress() WHERE job_id = $kid)}),
	'0', '... leaving no model and no worker');

# the real module: no GPU on this machine (where there is one, the job runs)
set_module(q{ALTER SYSTEM RESET tsforecast.cuda_module}, 'tsforecast_cuda');
my $nid = tsf_sql($node, q{
	SELECT train_async('gpu_none', 'SELECT gauge, week_start, flow FROM gpu_gauges WHERE gauge = 1',
	                   '{"kind": "lstm", "device": "cuda", "hidden": 8, "epochs": 2}')});
if (tsf_sql($node, 'SELECT cuda_device() IS NULL') eq 't')
{
	is(tsf_sql($node, "SELECT wait_job($nid, '600s')") . ': ' . tsf_sql($node, "SELECT error FROM jobs WHERE id = $nid"),
		'failed: tsforecast.device is "cuda" but no CUDA device is usable',
		'device cuda where no GPU is usable: the job fails with the clear error');
	is(tsf_sql($node, "SELECT count(*) FROM models WHERE job_id = $nid"), '0', '... and leaves no model');
}
else
{
	is(tsf_sql($node, "SELECT wait_job($nid, '600s')"), 'succeeded', 'device cuda with a usable GPU: the job succeeds');
	is(tsf_sql($node, "SELECT device = cuda_device() FROM jobs WHERE id = $nid"), 't', '... on the GPU');
}

$node->stop;
done_testing();

-- cuda: the compute backend's settings, cuda_device(), and LSTMs trained
-- through the CUDA module.  Runs without a GPU: the default module
-- (tsforecast_cuda) is then not usable, and tsforecast_cuda_emu, which
-- runs the same kernels on the CPU, stands in for it.  On a machine with a
-- usable GPU the first part gives expected/cuda_1.out.
\i test/fixtures/regress.sql
\set VERBOSITY terse
-- the GUCs exist once the library is loaded (without shared_preload_libraries too)
LOAD 'tsforecast';
SHOW tsforecast.device;
SHOW tsforecast.cuda_module;
SET tsforecast.device = 'gpu';
SET tsforecast.cuda_module = '../../tmp/evil';
SET tsforecast.cuda_module = '';

-- a non-superuser may choose the device but not the module
CREATE ROLE tsf_cuda_user;
SET ROLE tsf_cuda_user;
SET tsforecast.device = cpu;
SET tsforecast.cuda_module = 'tsforecast_cuda_emu';
RESET ROLE;
DROP ROLE tsf_cuda_user;
RESET tsforecast.device;

-- 60 weeks of the Verde River, a small network: the emulator is slow
CREATE TEMP TABLE short AS
SELECT week_start, flow FROM verde WHERE week_start > date '2019-06-16';
SELECT count(*) FROM short;

-- the CPU model, then the same under "auto": a session's one series
-- trains on the CPU, bit for bit the same
SET tsforecast.device = cpu;
CREATE TEMP TABLE cpu_models AS
SELECT o AS opts, lstm_train(week_start, flow, o::jsonb) AS m
  FROM short, (VALUES ('{"hidden": 8, "epochs": 20}'),
                      ('{"hidden": 8, "epochs": 30, "validation": 0.25, "patience": 5, "ema": 0}')) v(o)
 GROUP BY o;
SET tsforecast.device = auto;
SELECT c.opts, (SELECT lstm_train(week_start, flow, c.opts::jsonb)::jsonb - 'fit_seconds' - 'fitted_at' FROM short)
               = (c.m::jsonb - 'fit_seconds' - 'fitted_at') AS auto_is_cpu
  FROM cpu_models c ORDER BY 1;

-- no GPU here: cuda_device() is NULL, "cuda" is an error that says why
SELECT cuda_device() IS NULL AS no_cuda_device;
SET tsforecast.device = cuda;
DO $$
DECLARE st text; msg text; det text;
BEGIN
    PERFORM lstm_train(week_start, flow, '{"hidden": 8, "epochs": 2}') FROM short;
    RAISE NOTICE 'trained on the GPU';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    -- the detail is the reason: here the module is not installed (no nvcc),
    -- or it is and finds no GPU
    RAISE NOTICE '% %: %', st, msg, CASE WHEN det ~ 'is not installed|GPU|device|driver' THEN 'the reason is given' ELSE det END;
END $$;
RESET tsforecast.device;

-- a job's spec names its device; a bad one is refused at submission
SELECT train_async('x', 'SELECT 1::bigint, 1.0', '{"kind": "lstm", "device": "gpu"}');
SELECT train_async('x', 'SELECT 1::bigint, 1.0', '{"kind": "lstm", "device": 1}');
SELECT train_async('x', 'SELECT 1::bigint, 1.0', '{"kind": "ar", "device": "cuda"}');

-- the emulator: the kernels of the CUDA module, run on the CPU
SET tsforecast.cuda_module = 'tsforecast_cuda_emu';
SELECT cuda_device() ILIKE '%emulat%' AS emulator;
SET tsforecast.device = cuda;
CREATE TEMP TABLE gpu_models AS
SELECT o AS opts, lstm_train(week_start, flow, o::jsonb) AS m
  FROM short, (VALUES ('{"hidden": 8, "epochs": 20}'),
                      ('{"hidden": 8, "epochs": 30, "validation": 0.25, "patience": 5, "ema": 0}')) v(o)
 GROUP BY o;
-- the same model as the CPU's, to float32 rounding: the module mirrors the
-- core (dropout masks included) and the model is finished on the CPU;
-- forecasts within 1e-4 relative, the same epoch counts
SELECT c.opts,
       (g.m::jsonb->>'epochs_run') = (c.m::jsonb->>'epochs_run') AS same_epochs,
       (g.m::jsonb->>'best_epoch') IS NOT DISTINCT FROM (c.m::jsonb->>'best_epoch') AS same_best_epoch,
       abs((g.m::jsonb->>'loss')::float8 / (c.m::jsonb->>'loss')::float8 - 1) < 1e-4 AS loss_close,
       (SELECT max(abs(fg.value / fc.value - 1)) < 1e-4
          FROM forecast(g.m, 16) fg JOIN forecast(c.m, 16) fc USING (step)) AS forecast_close
  FROM gpu_models g JOIN cpu_models c USING (opts) ORDER BY 1;

-- a network the kernels do not take (hidden > 256) is an error under
-- "cuda"; under "auto" a session trains on the CPU anyway
SELECT lstm_train(week_start, flow, '{"hidden": 300, "epochs": 1}') IS NOT NULL FROM short;
SET tsforecast.device = auto;
SELECT lstm_train(week_start, flow, '{"hidden": 300, "epochs": 1}') IS NOT NULL AS on_cpu FROM short;

-- a cancel (here statement_timeout) stops the module within an epoch
SET tsforecast.device = cuda;
SET statement_timeout = '1s';
SELECT lstm_train(week_start, flow, '{"hidden": 8, "epochs": 10000000}') FROM verde;
RESET statement_timeout;
RESET tsforecast.device;
RESET tsforecast.cuda_module;
SELECT cuda_device() IS NULL AS default_module_again;

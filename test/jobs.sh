#!/usr/bin/env bash
# Training jobs end to end, against the throwaway cluster of scripts/tsf
# (PGHOST/PGPORT/PGUSER set; tsforecast in shared_preload_libraries,
# tsforecast.database = tsf_jobs, tsforecast.max_workers = 2), from the
# repository root.  Restarts that server several times.  Prints ok / not ok
# lines, then "N passed, N failed"; exits non-zero on any failure.
#
#   1. without shared_preload_libraries: train_async says the worker is not
#      running, and every pg_regress suite still passes
#   2. a job over three series: live progress, one model per series with
#      metrics that predict() and r2() reproduce, forecast() on models.model
#   3. cancel mid-training, after a first series' model was inserted: no
#      model rows, state cancelled, the NOTIFY received; two roles see only
#      their own jobs and cannot cancel each other's
#   4. a role without SELECT on the table: the job fails with the
#      permission error and leaves no model
#   5. five jobs queued beyond max_workers = 2: never more than 2 running,
#      started in submission order
#   6. pg_ctl restart -m immediate while a job trains: the job is failed
#      ("server restarted while the job was running"), and new jobs run
#   7. the launcher terminated comes back and runs the job queued meanwhile
#   8. LSTM jobs on the GPU, through the emulator module (the CUDA kernels
#      run on the CPU; tsforecast.cuda_module set by ALTER SYSTEM): models
#      of several series close to the CPU's, the device shown, the session's
#      device recorded in the spec, a cancel mid-batch leaves nothing; and
#      device "cuda" with the real module and no GPU fails saying so
# Sections 2 to 7 pin tsforecast.device = cpu (PGOPTIONS), so that their
# bit-for-bit checks hold on a machine with a GPU too.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PGBIN=$(${PG_CONFIG:-pg_config} --bindir)
DATA=$("$PGBIN/psql" -X -At -d postgres -c "SHOW data_directory")
OUT=$(mktemp -d)
chmod 777 "$OUT"
trap 'rm -rf "$OUT"' EXIT
PSQL=("$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d tsf_jobs)
passed=0
failed=0
t0=$(date +%s)

q() { "${PSQL[@]}" -c "SET search_path = public, tsforecast" -c "$1" 2>&1; }
# q as another role
qas() { local role=$1; shift; "${PSQL[@]}" -U "$role" -c "SET search_path = public, tsforecast" -c "$1" 2>&1; }

check() {	# check NAME GOT WANT
    if [ "$2" = "$3" ]; then
        passed=$((passed + 1)); echo "ok $((passed + failed)) - $1"
    else
        failed=$((failed + 1)); echo "not ok $((passed + failed)) - $1"
        echo "#   got:  $2"; echo "#   want: $3"
    fi
}

# poll SQL until it returns t, for at most $2 seconds; prints t or f
poll() {
    local end=$(($(date +%s) + $2)) r
    while :; do
        r=$(q "$1")
        [ "$r" = t ] && { echo t; return; }
        [ "$(date +%s)" -ge "$end" ] && { echo f; return; }
        sleep 0.1
    done
}

as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
restart() {	# restart MODE [OPTIONS]
    as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$DATA/../server.log" -m "$1" -w -o "${2:-}" restart >/dev/null
}

# ---- 1. without shared_preload_libraries ----
restart fast "-c shared_preload_libraries="
q "DROP EXTENSION IF EXISTS tsforecast CASCADE" >/dev/null
q "CREATE EXTENSION tsforecast" >/dev/null
got=$(q "SELECT train_async('x', 'SELECT 1::bigint, 1.0', '{\"kind\": \"ar\"}')" | head -1)
check "without the preloaded library train_async says the worker is not running" \
    "$got" "ERROR:  tsforecast background worker is not running"
got=$(q "SELECT train_async('x', 'SELECT 1::bigint, 1.0', '{\"kind\": \"ar\"}')" | grep -c "HINT:  Add tsforecast to shared_preload_libraries")
check "... with a hint to add it to shared_preload_libraries" "$got" "1"
check "... and shows no live progress" "$(q "SELECT count(*) FROM _job_progress()")" "0"
if make -s installcheck REGRESS_OPTS="--inputdir=. --outputdir=test/results/nopreload" >/dev/null 2>&1; then
    check "every pg_regress suite passes without shared_preload_libraries" ok ok
else
    check "every pg_regress suite passes without shared_preload_libraries" "failed (test/results/nopreload)" ok
fi
restart fast "-c shared_preload_libraries=tsforecast"

# ---- set-up: the data, three roles ----
"${PSQL[@]}" >/dev/null <<'SQL' || { echo "not ok - set-up failed"; echo "$passed passed, $((failed + 1)) failed"; exit 1; }
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS tsforecast CASCADE;
DROP TABLE IF EXISTS verde, gauges, secret;
DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['tsf_alice', 'tsf_bob', 'tsf_carol'] LOOP
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('DROP OWNED BY %I; DROP ROLE %I', r, r);
        END IF;
    END LOOP;
END $$;
CREATE EXTENSION tsforecast;
CREATE ROLE tsf_alice LOGIN; CREATE ROLE tsf_bob LOGIN; CREATE ROLE tsf_carol LOGIN;
GRANT USAGE ON SCHEMA tsforecast TO tsf_alice, tsf_bob, tsf_carol;
CREATE TABLE verde (week_start date PRIMARY KEY, flow float8 NOT NULL);
\copy verde FROM 'test/fixtures/verde_weekly.csv' WITH (FORMAT csv, HEADER true)
-- three gauges: windows of the Verde River, scaled
CREATE TABLE gauges AS
SELECT g AS gauge, week_start, flow * g AS flow FROM verde, generate_series(1, 3) g
 WHERE week_start >= date '2010-01-03' + 70 * g;
CREATE TABLE secret AS SELECT * FROM verde;
GRANT SELECT ON verde, gauges TO tsf_alice, tsf_bob, tsf_carol;
SQL
export PGOPTIONS="-c tsforecast.device=cpu"
launcher_up=$(poll "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'tsforecast launcher'" 20)
check "the launcher runs in tsf_jobs" "$launcher_up" t

# ---- 2. a job over three series ----
id=$(q "SELECT train_async('gauges', 'SELECT gauge, week_start, flow FROM gauges',
                           '{\"kind\": \"lstm\", \"epochs\": 800, \"validation\": 0.2, \"hidden\": 16}')")
got=$(poll "SELECT state = 'running' AND epoch > 0 FROM jobs WHERE id = $id" 20)
check "a running job shows its epoch live" "$got" t
got=$(q "SELECT progress ~ '^series [0-2] of 3, epoch [0-9]+ of 800\$' AND loss > 0 AND val_loss > 0 AND device = 'cpu' FROM jobs WHERE id = $id")
check "... with series of series, epoch of epochs, losses and the device" "$got" t
check "wait_job returns the state at a timeout" "$(q "SELECT wait_job($id, '50ms')")" running
check "wait_job returns the final state" "$(q "SELECT wait_job($id, '60s')")" succeeded
check "the job's progress is kept when it ends" \
    "$(q "SELECT progress || ' ' || (finished_at >= started_at) || ' ' || (error IS NULL) FROM jobs WHERE id = $id")" \
    "series 3 of 3, epoch 800 of 800 true true"
check "one model per series, keyed" \
    "$(q "SELECT string_agg(series_key, ',' ORDER BY series_key) FROM models WHERE name = 'gauges' AND job_id = $id")" "1,2,3"
check "provenance: spec, seed, data range, rows, version, job, owner" \
    "$(q "SELECT string_agg(format('%s %s %s..%s %s %s %s', spec->>'epochs', seed, data_from, data_to, n_rows,
                                   version = (SELECT extversion FROM pg_extension WHERE extname = 'tsforecast'), owner),
                            '; ' ORDER BY series_key) FROM models WHERE job_id = $id")" \
    "800 42 2010-03-14..2020-08-09 544 t postgres; 800 42 2010-05-23..2020-08-09 534 t postgres; 800 42 2010-08-01..2020-08-09 524 t postgres"
# the stored metrics are predict() and r2() over the validation weeks
got=$(q "
SELECT bool_and(m.metrics->>'on' = 'validation' AND (m.metrics->>'n')::int = s.n
                AND abs((m.metrics->>'r2')::float8 - s.r2) < 1e-9
                AND abs((m.metrics->>'rmse')::float8 - s.rmse) < 1e-9 * s.rmse)
  FROM models m,
       LATERAL (SELECT count(p) AS n, r2(flow, p), rmse(flow, p)
                  FROM (SELECT flow, row_number() OVER w AS i, predict(m.model, week_start, flow) OVER w AS p
                          FROM gauges g WHERE g.gauge::text = m.series_key
                        WINDOW w AS (ORDER BY week_start)) x
                 WHERE i > (model_info(m.model)->>'n_train')::int) s
 WHERE m.job_id = $id")
check "metrics: r2 and rmse of one-step predictions on the validation weeks, as predict() gives" "$got" t
check "forecast() works on models.model" \
    "$(q "SELECT count(*) FROM models m, forecast(m.model, 4) WHERE job_id = $id")" 12
check "a job's model is lstm_train's over the same rows, bit for bit but the fit time" \
    "$(q "SELECT (SELECT model_info(model) - 'fit_seconds' - 'fitted_at' FROM models WHERE job_id = $id AND series_key = '2') =
                 (SELECT model_info(lstm_train(week_start, flow, '{\"epochs\": 800, \"validation\": 0.2, \"hidden\": 16}')) - 'fit_seconds' - 'fitted_at'
                    FROM gauges WHERE gauge = 2)")" t

# ---- 3. cancel mid-training; two roles ----
# series 'a' (100 weeks) trains in about a second, then 'b' (1650 weeks) for long
src="SELECT k, week_start, flow FROM (SELECT 'a' AS k, * FROM verde WHERE week_start > '2018-09-01' UNION ALL SELECT 'b', * FROM verde) v"
aid=$(qas tsf_alice "SELECT train_async('alice_long', \$\$$src\$\$, '{\"kind\": \"lstm\", \"epochs\": 5000}')")
got=$(poll "SELECT series_done = 1 AND epoch > 0 FROM jobs WHERE id = $aid" 30)
check "alice's job trained its first series and goes on" "$got" t
check "... whose model row is not visible while the job's transaction is open" \
    "$(q "SELECT count(*) FROM models WHERE job_id = $aid")" 0
e1=$(q "SELECT epoch FROM jobs WHERE id = $aid"); sleep 0.3; e2=$(q "SELECT epoch FROM jobs WHERE id = $aid")
check "... while its progress moves on in shared memory ($e1 -> $e2)" "$([ "$e2" -gt "$e1" ] && echo t)" t
bid=$(qas tsf_bob "SELECT train_async('bob_ar', 'SELECT week_start, flow FROM verde', '{\"kind\": \"ar\"}')")
check "bob sees only his own jobs" "$(qas tsf_bob "SELECT string_agg(id::text, ',') FROM jobs")" "$bid"
check "alice sees only her own jobs" "$(qas tsf_alice "SELECT string_agg(id::text, ',') FROM jobs")" "$aid"
check "bob cannot cancel alice's job" \
    "$(qas tsf_bob "SELECT cancel_job($aid)" | head -1)" "ERROR:  permission denied to cancel job $aid"
check "bob reads no model of alice's" "$(qas tsf_bob "SELECT count(*) FROM models WHERE owner = 'tsf_alice'::regrole")" 0
# a listener waits for the job to end; alice cancels it
"${PSQL[@]}" -U tsf_alice -c "LISTEN tsforecast_jobs" -c "SELECT tsforecast.wait_job($aid, '30s')" -c "SELECT 1" \
    >"$OUT/listen.out" 2>&1 &
listener=$!
sleep 0.5
check "alice cancels her running job" "$(qas tsf_alice "SELECT cancel_job($aid)")" t
wait "$listener"
check "the job ends cancelled" "$(q "SELECT state || ' ' || coalesce(error, '-') FROM jobs WHERE id = $aid")" "cancelled -"
check "a cancelled job leaves no model rows, not even its finished series" \
    "$(q "SELECT count(*) FROM models WHERE job_id = $aid OR name = 'alice_long'")" 0
check "the NOTIFY on tsforecast_jobs says so" \
    "$(grep -c "notification \"tsforecast_jobs\" with payload \"{\"id\": $aid, \"state\": \"cancelled\"}\"" "$OUT/listen.out")" 1
check "bob's job succeeded meanwhile" "$(q "SELECT wait_job($bid, '30s')")" succeeded
check "bob sees his model, alice does not" \
    "$(qas tsf_bob "SELECT count(*) FROM models WHERE job_id = $bid") $(qas tsf_alice "SELECT count(*) FROM models WHERE job_id = $bid")" "1 0"

# ---- 4. a role without SELECT on the table ----
cid=$(qas tsf_carol "SELECT train_async('carol_secret', 'SELECT week_start, flow FROM secret', '{\"kind\": \"ar\"}')")
check "carol's job on a table she may not read fails" "$(q "SELECT wait_job($cid, '30s')")" failed
check "... with the permission error" "$(qas tsf_carol "SELECT error FROM jobs WHERE id = $cid")" \
    "permission denied for table secret"
check "... and leaves no model" "$(q "SELECT count(*) FROM models WHERE job_id = $cid")" 0

# ---- 5. more jobs than workers: order and concurrency ----
ids=$(q "BEGIN;
SELECT string_agg(train_async('q' || i, 'SELECT week_start, flow FROM verde WHERE week_start > ''2014-01-01''',
                              '{\"kind\": \"lstm\", \"epochs\": 150, \"hidden\": 16}')::text, ' ' ORDER BY i)
  FROM generate_series(1, 5) i;
COMMIT;" | grep -v '^[A-Z]*$')
maxrun=0
for _ in $(seq 1 100); do
    r=$(q "SELECT count(*) FILTER (WHERE state = 'running') || ' ' || count(*) FILTER (WHERE state IN ('queued', 'running')) FROM jobs WHERE name ~ '^q[0-9]$'")
    [ "${r% *}" -gt "$maxrun" ] && maxrun=${r% *}
    [ "${r#* }" -eq 0 ] && break
    sleep 0.1
done
check "five jobs beyond max_workers = 2: at most 2 ran at once" "$maxrun" 2
check "... all succeeded" "$(q "SELECT string_agg(state, ',' ORDER BY id) FROM jobs WHERE name ~ '^q[0-9]$'")" \
    "succeeded,succeeded,succeeded,succeeded,succeeded"
check "... started in submission order" \
    "$(q "SELECT string_agg(id::text, ' ' ORDER BY started_at, id) FROM jobs WHERE name ~ '^q[0-9]$'")" "$ids"
check "... the third only after one of the first two had finished" \
    "$(q "SELECT (SELECT started_at FROM jobs WHERE name = 'q3') >= (SELECT min(finished_at) FROM jobs WHERE name IN ('q1', 'q2'))")" t

# ---- 6. a restart while a job trains ----
rid=$(q "SELECT train_async('long', 'SELECT week_start, flow FROM verde', '{\"kind\": \"lstm\", \"epochs\": 1000000}')")
check "a long job is running" "$(poll "SELECT state = 'running' AND epoch > 0 FROM jobs WHERE id = $rid" 20)" t
restart immediate
check "after pg_ctl restart -m immediate the job is failed" \
    "$(poll "SELECT state = 'failed' FROM jobs WHERE id = $rid" 30)" t
check "... because the server restarted" "$(q "SELECT error FROM jobs WHERE id = $rid")" \
    "server restarted while the job was running"
check "... and left no model" "$(q "SELECT count(*) FROM models WHERE job_id = $rid")" 0
nid=$(q "SELECT train_async('after_restart', 'SELECT week_start, flow FROM verde', '{\"kind\": \"ar\", \"transform\": \"log\"}')")
check "the worker serves new jobs after the restart" "$(q "SELECT wait_job($nid, '30s')")" succeeded
check "... and the model forecasts" "$(q "SELECT count(*) FROM models m, forecast(m.model, 16) WHERE job_id = $nid")" 16

# ---- 7. the launcher terminated: it comes back, queued jobs wait for it ----
lpid=$(q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'tsforecast launcher'")
q "SELECT pg_terminate_backend($lpid)" >/dev/null
tid=$(q "SELECT train_async('while_down', 'SELECT week_start, flow FROM verde', '{\"kind\": \"ar\"}')")
check "a job submitted while the launcher is terminated runs when it comes back" \
    "$(q "SELECT wait_job($tid, '30s')")" succeeded
check "... a new launcher" \
    "$(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'tsforecast launcher' AND pid <> $lpid")" 1

# ---- 8. LSTM jobs on the GPU: the emulator module ----
unset PGOPTIONS
q "ALTER SYSTEM SET tsforecast.cuda_module = 'tsforecast_cuda_emu'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
q "CREATE TABLE IF NOT EXISTS gpu_gauges AS
   SELECT g AS gauge, week_start, flow * g AS flow FROM verde, generate_series(1, 4) g
    WHERE week_start >= date '2019-01-06' + 7 * g" >/dev/null
spec='{"kind": "lstm", "device": "cuda", "hidden": 8, "epochs": 30, "validation": 0.2}'
gid=$(q "SELECT train_async('gpu', 'SELECT gauge, week_start, flow FROM gpu_gauges', '$spec')")
check "a job with device cuda on the emulator succeeds" "$(q "SELECT wait_job($gid, '120s')")" succeeded
check "... its device is the module's (an emulator)" \
    "$(q "SELECT device ILIKE '%emulat%' AND device = (SELECT cuda_device() FROM (SELECT set_config('tsforecast.cuda_module', 'tsforecast_cuda_emu', false)) x) FROM jobs WHERE id = $gid")" t
check "... its progress: every series, every epoch" "$(q "SELECT progress FROM jobs WHERE id = $gid")" \
    "series 4 of 4, epoch 30 of 30"
check "... one model per series, with metrics, and the device in the spec" \
    "$(q "SELECT string_agg(series_key || ':' || (metrics->>'on') || ':' || (spec->>'device'), ',' ORDER BY series_key) FROM models WHERE job_id = $gid")" \
    "1:validation:cuda,2:validation:cuda,3:validation:cuda,4:validation:cuda"
check "... each model close to lstm_train's on the CPU: same epochs, forecasts within 1e-4" \
    "$(q "SET tsforecast.device = cpu;
          SELECT bool_and((model_info(m.model)->>'epochs_run') = (model_info(c.m)->>'epochs_run')
                          AND (SELECT max(abs(fg.value / fc.value - 1)) FROM forecast(m.model, 16) fg
                                 JOIN forecast(c.m, 16) fc USING (step)) < 1e-4)
            FROM models m,
                 LATERAL (SELECT lstm_train(week_start, flow, '{\"hidden\": 8, \"epochs\": 30, \"validation\": 0.2}') AS m
                            FROM gpu_gauges g WHERE g.gauge::text = m.series_key) c
           WHERE m.job_id = $gid" | tail -1)" t
# a spec without device records the session's; auto uses the GPU where usable
aid2=$(q "SET tsforecast.device = auto; SELECT train_async('gpu_auto', 'SELECT gauge, week_start, flow FROM gpu_gauges WHERE gauge < 3', '{\"kind\": \"lstm\", \"hidden\": 8, \"epochs\": 5}')" | tail -1)
check "a spec without device records the session's (auto) and trains on the GPU" \
    "$(q "SELECT wait_job($aid2, '120s')") $(q "SELECT (spec->>'device') || ' ' || (device ILIKE '%emulat%') FROM jobs WHERE id = $aid2")" \
    "succeeded auto true"
cpid=$(q "SET tsforecast.device = cpu; SELECT train_async('gpu_cpu', 'SELECT week_start, flow FROM verde WHERE week_start > ''2019-01-01''', '{\"kind\": \"lstm\", \"hidden\": 4, \"epochs\": 2}')" | tail -1)
check "... and a session's cpu runs on the CPU" \
    "$(q "SELECT wait_job($cpid, '60s')") $(q "SELECT (spec->>'device') || ' ' || device FROM jobs WHERE id = $cpid")" \
    "succeeded cpu cpu"
# a cancel in the middle of a batch: the module stops after the epoch
kid=$(q "SELECT train_async('gpu_long', 'SELECT gauge, week_start, flow FROM gpu_gauges', '{\"kind\": \"lstm\", \"device\": \"cuda\", \"hidden\": 8, \"epochs\": 10000000}')")
check "a long GPU job trains its batch" "$(poll "SELECT state = 'running' AND epoch > 2 AND series_total = 4 FROM jobs WHERE id = $kid" 60)" t
check "... and is cancelled" "$(q "SELECT cancel_job($kid)")" t
check "... ends cancelled" "$(q "SELECT wait_job($kid, '60s')") $(q "SELECT coalesce(error, '-') FROM jobs WHERE id = $kid")" "cancelled -"
check "... leaving no model and no worker" \
    "$(q "SELECT (SELECT count(*) FROM models WHERE job_id = $kid) + (SELECT count(*) FROM _job_progress() WHERE job_id = $kid)")" 0
# the real module: no GPU on this machine (where there is one, the job runs)
q "ALTER SYSTEM RESET tsforecast.cuda_module" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
nid2=$(q "SELECT train_async('gpu_none', 'SELECT gauge, week_start, flow FROM gpu_gauges WHERE gauge = 1', '{\"kind\": \"lstm\", \"device\": \"cuda\", \"hidden\": 8, \"epochs\": 2}')")
if [ "$(q "SELECT cuda_device() IS NULL")" = t ]; then
    check "device cuda where no GPU is usable: the job fails with the clear error" \
        "$(q "SELECT wait_job($nid2, '60s')"): $(q "SELECT error FROM jobs WHERE id = $nid2")" \
        'failed: tsforecast.device is "cuda" but no CUDA device is usable'
    check "... and leaves no model" "$(q "SELECT count(*) FROM models WHERE job_id = $nid2")" 0
else
    check "device cuda with a usable GPU: the job succeeds" "$(q "SELECT wait_job($nid2, '120s')")" succeeded
    check "... on the GPU" "$(q "SELECT device = cuda_device() FROM jobs WHERE id = $nid2")" t
fi

echo "# jobs.sh took $(($(date +%s) - t0)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

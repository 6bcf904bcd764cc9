#!/usr/bin/env bash
# bench/cuda_run.sh: the one prepared run on the GPU machine (device tool),
# from the repository root, after bench/cuda_pack.sh made .carry/ here:
#
#   device call: carry [".carry"], command "bash bench/cuda_run.sh",
#                timeout_s about 480
#
# Every step is bounded by `timeout`, logs to $OUT/<step>.log and the run
# goes on past a failure; the whole run keeps within $BUDGET seconds
# (default 420: steps get what is left, and are skipped when too little
# is).  The last thing printed is a summary table ($OUT/summary.txt).  In
# this order:
#   info      nvidia-smi -L, the GPU's name and compute capability, nvcc,
#             gcc, CPU, PyTorch
#   build     bench/cuda_bench (gcc) and test/cuda/bin/test_cuda (make),
#             while nvcc builds src/cuda/tsforecast_cuda.so for sm_90 if it
#             is not there ($CUDA_ARCH_RUN); a module that is there but
#             fails to load is rebuilt
#   probe     cuda_bench on a tiny batch: does the module load and train
#   parity    test/cuda/bin/test_cuda MODULE test/fixtures/nn
#   bench_*   bench/cuda_bench.c: module vs C core (1 core, extrapolated
#             from 50 series; all cores), 1000x500 H 40, 10000x500 H 40,
#             1000x500 H 128
#   pg_*      the portable PostgreSQL (.carry/pg-portable.sh start
#             .carry/pg15.tar.xz, preloading tsforecast, jobs in the database
#             postgres), the module copied into its pkglibdir; in SQL:
#             cuda_device(); $NSERIES Verde River windows of $POINTS weeks;
#             a train_async job with device cuda over all of them ($EPOCHS
#             epochs), one with device cpu over the first $NCPU series; the
#             jobs rows, the models' counts and metrics side by side;
#             lstm_train on one series with tsforecast.device = cuda, cpu
#             and auto (\timing)
#   torch     bench/cuda_torch.py, the same three shapes, PyTorch/cuDNN
# Environment:
#   OUT       where the logs go (the device tool's $OUT; default
#             /tmp/cuda_run_out)
#   MODULE    the module to test (default src/cuda/tsforecast_cuda.so; e.g.
#             src/cuda/tsforecast_cuda_emu.so to rehearse without a GPU)
#   SMALL=1   tiny sizes everywhere (a rehearsal with the emulator)
#   PGP       where pg-portable.sh unpacks (default /tmp/pgp, its own; any
#             other path runs a copy of the script edited to use it)
#   BUDGET    seconds for the whole run (default 420)
#   TORCH_VARIANTS  default eager,fp32,graph (add compile for torch.compile)
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
T_START=$(date +%s)
OUT=${OUT:-/tmp/cuda_run_out}
mkdir -p "$OUT"
SMALL=${SMALL:-0}
DEFAULT_MODULE=src/cuda/tsforecast_cuda.so
MODULE=${MODULE:-$DEFAULT_MODULE}
PGP=${PGP:-/tmp/pgp}
BUDGET=${BUDGET:-420}
CUDA_ARCH_RUN=${CUDA_ARCH_RUN:--gencode arch=compute_90,code=sm_90}
TORCH_VARIANTS=${TORCH_VARIANTS:-eager,fp32,graph}
PYTHON=${PYTHON:-python3}
if [ "$SMALL" = 1 ]; then
    SHAPES=${SHAPES:-"8x60x8 16x60x8 8x60x16"}
    NSERIES=${NSERIES:-12} POINTS=${POINTS:-80} EPOCHS=${EPOCHS:-3} NCPU=${NCPU:-4}
    BENCH_OPTS=${BENCH_OPTS:-"-w 1 -e 2 -s 4 -c 2 -k 1"}
    TORCH_OPTS=${TORCH_OPTS:-"--epochs 3 --warmup 1"}
else
    SHAPES=${SHAPES:-"1000x500x40 10000x500x40 1000x500x128"}
    NSERIES=${NSERIES:-1000} POINTS=${POINTS:-500} EPOCHS=${EPOCHS:-200} NCPU=${NCPU:-16}
    # module: 2 warm-up epochs, then 20; one core: 50 series x 20 epochs
    # (equal epochs: the losses are compared); all cores: 3 epochs of all
    BENCH_OPTS=${BENCH_OPTS:-"-w 2 -e 20 -s 50 -c 20 -k 3"}
    TORCH_OPTS=${TORCH_OPTS:-"--epochs 20 --warmup 5"}
fi
: >"$OUT/steps.tsv"

elapsed() { echo $(($(date +%s) - T_START)); }

# step NAME TIMEOUT CMD...: run with a timeout cut to what is left of the
# budget, log to $OUT/NAME.log, record the exit status and the seconds
step() {
    local name=$1 to=$2 left rc t0
    shift 2
    left=$((BUDGET - $(elapsed)))
    if [ "$left" -lt 8 ]; then
        echo "=== [$name] skipped: budget of ${BUDGET}s spent" | tee "$OUT/$name.log"
        printf '%s\tskipped\t0\n' "$name" >>"$OUT/steps.tsv"
        return 99
    fi
    [ "$to" -gt "$left" ] && to=$left
    echo "=== [$name] at $(elapsed)s, timeout ${to}s: $*"
    t0=$(date +%s%N)
    timeout -k 5 "$to" "$@" 2>&1 | tee "$OUT/$name.log"
    rc=$?
    t0=$((($(date +%s%N) - t0) / 100000000))
    printf '%s\t%s\t%d.%d\n' "$name" "$rc" $((t0 / 10)) $((t0 % 10)) >>"$OUT/steps.tsv"
    [ "$rc" = 0 ] || echo "=== [$name] exit status $rc"
    return $rc
}

# ---- info ----
step info 30 bash -c '
    nvidia-smi -L; nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total,clocks.max.sm --format=csv
    command -v nvcc || ls /usr/local/cuda/bin/nvcc; (nvcc --version || /usr/local/cuda/bin/nvcc --version) | tail -2
    gcc --version | head -1; echo "cores: $(nproc)"; grep -m1 "model name" /proc/cpuinfo; uname -r
    . /etc/os-release; echo "$PRETTY_NAME"
    git log -1 --format="commit %h %s" 2>/dev/null || true
    ls -la src/cuda/ .carry/ 2>&1'

# ---- build ----
NVCC_BG=
if [ "$MODULE" = "$DEFAULT_MODULE" ] && [ ! -f "$MODULE" ]; then
    echo "=== [nvcc] building $MODULE in the background ($CUDA_ARCH_RUN)"
    ( t0=$(date +%s); timeout -k 5 300 make PG_CONFIG=true CUDA_ARCH="$CUDA_ARCH_RUN" "$MODULE" >"$OUT/nvcc.log" 2>&1
      echo "rc $? seconds $(($(date +%s) - t0))" >>"$OUT/nvcc.log" ) &
    NVCC_BG=$!
fi
mkdir -p bench/bin
step build_bench 120 gcc -std=gnu11 -O2 -fno-wrapv -ffp-contract=off -fno-math-errno -DTSF_NN_FLOAT -Isrc \
    -o bench/bin/cuda_bench bench/cuda_bench.c src/nn/[a-z]*.c -ldl -lpthread -lm
if [ ! -x test/cuda/bin/test_cuda ]; then
    step build_test 120 make -s PG_CONFIG=true test/cuda/bin/test_cuda ||
        step build_test_nowerror 120 make -s PG_CONFIG=true \
            UNIT_CFLAGS="-std=gnu99 -O2 -g -ffp-contract=off -fno-math-errno -Isrc -Itest/unit" test/cuda/bin/test_cuda
fi
if [ -n "$NVCC_BG" ]; then
    echo "=== [nvcc] waiting at $(elapsed)s"
    wait "$NVCC_BG"
    cat "$OUT/nvcc.log"
fi

probe() { step "probe$1" 90 bench/bin/cuda_bench -j 0 -s 2 -w 0 -e 2 -c 2 "$MODULE" 4 30 8; }
if ! probe 1 && [ "$MODULE" = "$DEFAULT_MODULE" ] && [ -z "$NVCC_BG" ]; then
    echo "=== the module there does not load or train: rebuilding it with this machine's nvcc"
    step nvcc_rebuild 300 make -B PG_CONFIG=true CUDA_ARCH="$CUDA_ARCH_RUN" "$MODULE"
    probe 2
fi

[ -f "$MODULE" ] && cp "$MODULE" /tmp/tsforecast_cuda_default.so

# ---- parity ----
step parity 150 test/cuda/bin/test_cuda "$MODULE" test/fixtures/nn

# ---- the kernels under compute-sanitizer (where the runtime allows it):
# out-of-bounds and misaligned accesses (memcheck) and shared-memory races
# (racecheck), on tiny batches through each way the kernels hold W_hh
# (H 40: registers, fused gradients; H 72: registers + shared memory;
# H 130: registers + device memory); dropout, validation and all
SAN=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)
if [ -n "$SAN" ] && [ "$SMALL" != 1 ]; then
    step sanitizer 120 bash -c "
        for h in 40 72 130; do
            for tool in memcheck racecheck; do
                echo \"--- \$tool H \$h\"
                $SAN --tool \$tool --error-exitcode 9 bench/bin/cuda_bench -w 0 -e 2 -s 0 -j 0 '$MODULE' 3 24 \$h 2>&1 |
                    grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|Invalid|Race|error|impl.: .module' | head -8
            done
        done"
fi

# ---- benchmarks: the module and the C core ----
for s in $SHAPES; do
    read -r B T H <<<"${s//x/ }"
    # shellcheck disable=SC2086
    step "bench_$s" 120 bench/bin/cuda_bench $BENCH_OPTS "$MODULE" "$B" "$T" "$H"
done

# ---- where an epoch's time goes (TSFC_PROFILE: events around each phase),
# and the backward pass with the weight gradients as separate products
# (TSFC_NO_FUSE) against summed inside the recurrence (the default at H <= 40)
if [ "$SMALL" != 1 ]; then
    step profile_h40 60 env TSFC_PROFILE=1 bench/bin/cuda_bench -w 2 -e 20 -s 0 -j 0 "$MODULE" 1000 500 40
    step nofuse_h40 60 env TSFC_NO_FUSE=1 bench/bin/cuda_bench -w 2 -e 20 -s 0 -j 0 "$MODULE" 1000 500 40
    step profile_h128 60 env TSFC_PROFILE=1 bench/bin/cuda_bench -w 2 -e 10 -s 0 -j 0 "$MODULE" 1000 500 128
    step gemmbig_h128 60 env TSFC_PROFILE=1 TSFC_GEMM_BIG=1 bench/bin/cuda_bench -w 2 -e 10 -s 0 -j 0 "$MODULE" 1000 500 128
    step one_series 60 bench/bin/cuda_bench -w 2 -e 20 -s 1 -c 20 -j 0 "$MODULE" 1 500 40
fi

# ---- variants of the recurrence kernels' register budgets (__launch_bounds__
# minimum blocks per multiprocessor, src/cuda/module.cu): each built here
# for sm_90 and timed on the H 40 shapes, with the phase profile
if [ "$SMALL" != 1 ] && [ -n "${VARIANTS:-fwd4_bwd2 fwd1_bwd2 fwd4_bwd3 fwd1_bwd1}" ]; then
    for v in ${VARIANTS:-fwd4_bwd2 fwd1_bwd2 fwd4_bwd3 fwd1_bwd1}; do
        f=${v%%_*}; b=${v##*_}
        so=/tmp/tsforecast_cuda_$v.so
        step "variant_${v}_build" 120 make -s -B PG_CONFIG=true CUDA_ARCH="$CUDA_ARCH_RUN" \
            NVCC_FLAGS="-O3 -std=c++17 $CUDA_ARCH_RUN -Xcompiler -fPIC,-fvisibility=hidden -cudart static -Isrc -DTSFC_FWD_MINBLOCKS=${f#fwd} -DTSFC_BWD_MINBLOCKS=${b#bwd}" \
            src/cuda/tsforecast_cuda.so && cp src/cuda/tsforecast_cuda.so "$so" || continue
        for shape in "1000 500 40" "10000 500 40"; do
            # shellcheck disable=SC2086
            step "variant_${v}_${shape// /x}" 60 env TSFC_PROFILE=1 bench/bin/cuda_bench -w 2 -e 20 -s 0 -j 0 "$so" $shape
        done
    done
    # the module under test again (the variant builds replaced the file)
    [ -f /tmp/tsforecast_cuda_default.so ] && cp /tmp/tsforecast_cuda_default.so "$MODULE"
fi

# ---- PostgreSQL ----
PGPORTABLE=.carry/pg-portable.sh
if [ "$PGP" != /tmp/pgp ]; then
    # a rehearsal beside someone else's /tmp/pgp: the same script, another folder
    sed "s#/tmp/pgp#$PGP#g" .carry/pg-portable.sh >"$OUT/pg-portable.sh"
    PGPORTABLE=$OUT/pg-portable.sh
    if [ -f "$PGP/env" ]; then
        (. "$PGP/env"; su pgp -s /bin/bash -c ". $PGP/env; pg_ctl -D $PGP/data -m immediate stop" >/dev/null 2>&1)
    fi
    rm -rf "$PGP"
fi
MODNAME=$(basename "$MODULE" .so)
conf=("shared_preload_libraries = 'tsforecast'" "tsforecast.database = 'postgres'" "tsforecast.max_workers = 2")
[ "$MODNAME" != tsforecast_cuda ] && conf+=("tsforecast.cuda_module = '$MODNAME'")
PG_UP=0
step pg_start 90 bash "$PGPORTABLE" start .carry/pg15.tar.xz "${conf[@]}" && PG_UP=1
if [ "$PG_UP" = 1 ]; then
    # shellcheck disable=SC1091
    . "$PGP/env"
    # the module built or carried here replaces whatever the tarball had
    if [ -f "$MODULE" ]; then
        install -m 755 "$MODULE" "$PGP/root/usr/lib/postgresql/15/lib/$MODNAME.so"
    fi
    ls -la "$PGP"/root/usr/lib/postgresql/15/lib/tsforecast*
    export PGOPTIONS="-c search_path=public,tsforecast"
    Q=(psql -X -v ON_ERROR_STOP=1 -d postgres)
    step pg_setup 60 "${Q[@]}" <<SQL
SELECT version();
CREATE EXTENSION tsforecast;
SELECT extversion FROM pg_extension WHERE extname = 'tsforecast';
SHOW tsforecast.device;
SELECT tsforecast.cuda_device();
SQL
    step pg_data 90 "${Q[@]}" <<SQL
CREATE TABLE verde (week_start date PRIMARY KEY, flow float8 NOT NULL);
\copy verde FROM 'test/fixtures/verde_weekly.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE bench AS
SELECT s AS series, v.week_start, v.flow * (0.5 + (s % 10) / 10.0) AS flow
  FROM generate_series(1, $NSERIES) s,
       LATERAL (SELECT week_start, flow FROM verde ORDER BY week_start
                OFFSET (37 * s) % (1650 - $POINTS) LIMIT $POINTS) v;
VACUUM ANALYZE bench;
SELECT count(DISTINCT series) AS series, count(*) AS rows FROM bench;
SQL
    job_sql() {   # name device where
        cat <<SQL
\\timing on
SELECT train_async('$1', 'SELECT series, week_start, flow FROM bench $3',
                   '{"kind": "lstm", "device": "$2", "epochs": $EPOCHS}') AS id \\gset
SELECT wait_job(:id, '300 s') AS state;
\\timing off
\\x on
SELECT id, name, state, progress, device, series_done, series_total, epochs, loss, error,
       started_at - submitted_at AS queued, finished_at - started_at AS ran,
       round((extract(epoch FROM finished_at - started_at) / nullif(series_total, 0))::numeric, 4) AS s_per_series
  FROM jobs WHERE id = :id;
\\x off
SELECT count(*) AS models, round(avg((metrics->>'r2')::float8)::numeric, 4) AS mean_r2,
       round(avg((metrics->>'train_loss')::float8)::numeric, 6) AS mean_train_loss,
       min(model_info(model)->>'device') AS device
  FROM models WHERE name = '$1';
SQL
    }
    step pg_job_cuda 330 "${Q[@]}" < <(job_sql gpu_job cuda "")
    step pg_job_cpu 200 "${Q[@]}" < <(job_sql cpu_job cpu "WHERE series <= $NCPU")
    step pg_compare 60 "${Q[@]}" <<SQL
-- the same series trained by both jobs: the models' metrics side by side
SELECT c.series_key AS series,
       round((g.metrics->>'r2')::numeric, 4) AS r2_cuda, round((c.metrics->>'r2')::numeric, 4) AS r2_cpu,
       round((g.metrics->>'train_loss')::numeric, 6) AS loss_cuda, round((c.metrics->>'train_loss')::numeric, 6) AS loss_cpu
  FROM models c JOIN models g ON g.series_key = c.series_key AND g.name = 'gpu_job'
 WHERE c.name = 'cpu_job' ORDER BY c.series_key::int;
\pset format unaligned
\pset tuples_only on
\o $OUT/jobs.jsonl
SELECT row_to_json(j) FROM (
  SELECT name, state, device, series_total, epochs, error,
         extract(epoch FROM finished_at - started_at) AS seconds,
         extract(epoch FROM finished_at - started_at) / nullif(series_total, 0) AS s_per_series,
         (SELECT count(*) FROM models m WHERE m.name = jobs.name) AS models
    FROM jobs ORDER BY id) j;
\o
SQL
    # one series in a session, each device in turn; goes on past an error
    step pg_lstm_train 180 psql -X -d postgres <<SQL
CREATE TABLE lt (asked text, m tsmodel, seconds float8);
SET tsforecast.device = 'cuda';
SELECT clock_timestamp() AS t0 \\gset
INSERT INTO lt SELECT 'cuda', lstm_train(week_start, flow, '{"epochs": $EPOCHS}') FROM bench WHERE series = 1;
UPDATE lt SET seconds = extract(epoch FROM clock_timestamp() - :'t0') WHERE asked = 'cuda';
SET tsforecast.device = 'cpu';
SELECT clock_timestamp() AS t0 \\gset
INSERT INTO lt SELECT 'cpu', lstm_train(week_start, flow, '{"epochs": $EPOCHS}') FROM bench WHERE series = 1;
UPDATE lt SET seconds = extract(epoch FROM clock_timestamp() - :'t0') WHERE asked = 'cpu';
SET tsforecast.device = 'auto';
SELECT clock_timestamp() AS t0 \\gset
INSERT INTO lt SELECT 'auto', lstm_train(week_start, flow, '{"epochs": $EPOCHS}') FROM bench WHERE series = 1;
UPDATE lt SET seconds = extract(epoch FROM clock_timestamp() - :'t0') WHERE asked = 'auto';
SELECT asked, model_info(m)->>'device' AS device, model_info(m)->>'fit_seconds' AS fit_seconds,
       round(seconds::numeric, 4) AS statement_seconds, model_info(m)->>'loss' AS loss FROM lt;
SELECT jsonb_pretty(model_info(m)) FROM lt WHERE asked = 'cuda';
\\pset format unaligned
\\pset tuples_only on
\\o $OUT/lstm_train.jsonl
SELECT row_to_json(r) FROM (SELECT asked, model_info(m)->>'device' AS device,
       (model_info(m)->>'fit_seconds')::float8 AS fit_seconds, seconds,
       (model_info(m)->>'loss')::float8 AS loss FROM lt) r;
\\o
SQL
    step pg_log 10 bash -c "grep -v '^\s*$' '$PGP/server.log' | tail -40"
    su pgp -s /bin/bash -c ". $PGP/env; pg_ctl -D $PGP/data -m fast stop" >/dev/null 2>&1 || true
fi

# ---- benchmarks: PyTorch/cuDNN ----
# shellcheck disable=SC2086
step torch 240 "$PYTHON" bench/cuda_torch.py $TORCH_OPTS --variants "$TORCH_VARIANTS" ${SHAPES}

# ---- summary ----
"$PYTHON" - "$OUT" <<'PY' | tee "$OUT/summary.txt"
import json, os, sys
out = sys.argv[1]
def jl(path):
    rows = []
    try:
        for line in open(path):
            line = line.strip()
            if line.startswith("{"):
                try: rows.append(json.loads(line))
                except ValueError: pass
    except OSError:
        pass
    return rows
def f(v, d=2):
    return "-" if v is None else (f"{v:,.{d}f}" if isinstance(v, (int, float)) else str(v))
def g(v):
    return "-" if v is None else f"{v:.3g}"
print("\n==================== summary ====================")
info = open(os.path.join(out, "info.log")).read().splitlines() if os.path.exists(os.path.join(out, "info.log")) else []
for l in info[:3]: print(l)
print("\nsteps (exit status, seconds):")
for l in open(os.path.join(out, "steps.tsv")):
    n, rc, s = l.rstrip("\n").split("\t")
    print(f"  {n:24s} {rc:>7s} {s:>7s}")
par = os.path.join(out, "parity.log")
if os.path.exists(par):
    tail = [l for l in open(par).read().splitlines() if l.strip()][-3:]
    print("\nparity: " + " | ".join(tail))
rows = {}
for fn in sorted(os.listdir(out)):
    if fn.startswith("bench_") and fn.endswith(".log"):
        for r in jl(os.path.join(out, fn)):
            rows.setdefault((r.get("B"), r.get("T"), r.get("H")), {})[r["impl"]] = r
torch_rows = {}
for r in jl(os.path.join(out, "torch.log")):
    if "ms_per_epoch_median" in r:
        torch_rows.setdefault((r["B"], r["T"], r["H"]), {})[r["variant"]] = r["ms_per_epoch_median"]
    else:
        torch_rows.setdefault((r.get("B"), r.get("T"), r.get("H")), {})[r.get("variant")] = "err"
dev = next((r["summary"]["device"] for r in rows.values() if "summary" in r), "?")
print(f"\nms per epoch (module on {dev}; CPU = the C core on this host; torch = median epoch):")
hdr = ["B x T, H", "module", "CPU 1 core*", "CPU all", "torch eager", "torch fp32", "torch graph", "x 1 core", "x all", "x torch best", "loss check"]
print("  " + " | ".join(hdr))
for key in sorted(set(rows) | set(torch_rows), key=lambda k: tuple(x or 0 for x in k)):
    r = rows.get(key, {}); t = torch_rows.get(key, {})
    m = r.get("module", {}).get("ms_per_epoch")
    c1 = r.get("cpu_1core", {}).get("ms_per_epoch")
    ca = r.get("cpu_all", {}).get("ms_per_epoch")
    tb = [v for v in t.values() if isinstance(v, (int, float))]
    best = min(tb) if tb else None
    chk = r.get("check", {}).get("max_rel_diff_train_loss")
    print("  " + " | ".join([f"{key[0]} x {key[1]}, {key[2]}", f(m, 3), f(c1, 1), f(ca, 1),
          f(t.get("eager"), 3), f(t.get("fp32"), 3), f(t.get("graph"), 3),
          g(c1 / m if m and c1 else None), g(ca / m if m and ca else None),
          g(best / m if m and best else None), f"{chk:.1e}" if chk is not None else "-"]))
    for k, v in r.items():
        if "error" in v: print(f"    {k}: {v['error']}")
print("  * one core: extrapolated from the series timed; CPU all: threads =",
      next((r["cpu_all"]["threads"] for r in rows.values() if "cpu_all" in r), "?"))
for name in ["profile_h40", "nofuse_h40", "profile_h128", "gemmbig_h128", "one_series"]:
    p = os.path.join(out, name + ".log")
    if not os.path.exists(p):
        continue
    print(f"\n{name}:")
    for l in open(p):
        if l.startswith("tsfc profile"):
            print("  " + l.rstrip())
    for r in jl(p):
        if r.get("impl") in ("module", "cpu_1core") and "ms_per_epoch" in r:
            print(f"  {r['impl']}: {r['ms_per_epoch']:.3f} ms per epoch (B {r['B']}, T {r['T']}, H {r['H']})")
vrows = []
for fn in sorted(os.listdir(out)):
    if fn.startswith("variant_") and fn.endswith(".log") and not fn.endswith("_build.log"):
        prof = {}
        for l in open(os.path.join(out, fn)):
            if l.startswith("tsfc profile:   "):
                k = l[16:44].strip(); prof[k] = l[44:].split()[0]
        for r in jl(os.path.join(out, fn)):
            if r.get("impl") == "module" and "ms_per_epoch" in r:
                vrows.append((fn[8:-4], r["ms_per_epoch"], prof.get("forward: LSTM"), prof.get("backward: LSTM recurrence")))
if vrows:
    print("\nvariants (ms per epoch; last profiled call's forward LSTM and backward recurrence, ms):")
    for v in vrows:
        print(f"  {v[0]:32s} {v[1]:8.3f}   fwd {v[2]}   bwd {v[3]}")
jobs = jl(os.path.join(out, "jobs.jsonl"))
if jobs:
    print("\njobs (through the background worker):")
    for j in jobs:
        print(f"  {j['name']:8s} {j['state']:10s} device {j['device']}, {j['series_total']} series x {j['epochs']} epochs: "
              f"{f(j['seconds'])} s, {f(j['s_per_series'], 4)} s/series, {j['models']} models" + (f", error: {j['error']}" if j.get("error") else ""))
lt = jl(os.path.join(out, "lstm_train.jsonl"))
if lt:
    print("\nlstm_train, one series in a session, by tsforecast.device:")
    for r in lt:
        print(f"  {r['asked']:5s} -> device {r['device']}: fit {f(r['fit_seconds'], 3)} s, statement {f(r['seconds'], 3)} s, loss {f(r['loss'], 6)}")
print(f"\nlogs: {out}")
PY
echo "total $(elapsed)s"
# the device tool returns 8 files: the summary and one archive of the logs
tar czf /tmp/all_logs.tgz -C "$OUT" . && mv /tmp/all_logs.tgz "$OUT/" &&
    find "$OUT" -maxdepth 1 -type f ! -name all_logs.tgz ! -name summary.txt -delete

#!/usr/bin/env bash
# bench/lstm_speed.sh: seconds per training epoch of the seed's LSTM, in one
# run, for lstm_train (one backend), PyTorch 1.13 from Debian and a PyTorch
# 2.x from PyPI, at hidden sizes 40, 128 and 256, with the ratios against
# the targets and the fraction of one core's peak FLOP rate.  A benchmark,
# not a test: nothing here is part of the build or of CI.
#
#   bench/lstm_speed.sh
#
# The network, the data and the recipe are the same everywhere: the whole
# weekly Verde River series (1989 on, T = 1649 steps) as one sequence,
# causal conv (K 3, C 4) -> LSTM (H, 1 layer) -> dropout 0.5 -> linear,
# full batch, Adam, MSE, EPOCHS epochs (default 20) of each.
#
#   1. bench/flops.c: peak float64 / float32 throughput of one core, with
#      and without FMA, at each vector width the CPU has
#   2. bench/nn_epoch.c: the network core alone, in float64 (the build's)
#      and float32 (-DTSF_NN_FLOAT)
#   3. PyTorch on one thread (bench/lstm_speed.py torch), float32 and
#      float64: /usr/bin/python3 with Debian's python3-torch, then
#      $TORCH2_PYTHON (default /tmp/torch2-venv/bin/python) if it exists.
#      To make that one (about 5 GB with the CUDA libraries the PyPI wheel
#      pulls in; the benchmark runs on the CPU):
#          python3 -m venv /tmp/torch2-venv
#          /tmp/torch2-venv/bin/pip install torch numpy
#   4. lstm_train in a throwaway cluster of its own ($TSF_PGROOT, default
#      /tmp/tsf-lstm-bench, port $TSF_PGPORT, default 54333; built and
#      installed first by scripts/tsf setup, with the core in $NN_PRECISION,
#      default float32, as the Makefile): the time per epoch is the
#      difference of the fit_seconds of EPOCHS and 2 epochs, divided by
#      EPOCHS - 2 (so the set-up and the final forecast state are left
#      out); the backend's peak memory is VmHWM of /proc/self/status read
#      by the backend itself before and after the training, after a tiny
#      training has loaded the library (and LAPACK, which raises it too:
#      reported apart), with JIT off (the last query joins three temporary
#      tables, whose row estimates would start LLVM and add its ~90 MB).
#   5. bench/lstm_speed.py report: the tables.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EPOCHS=${EPOCHS:-20}
HIDDEN=${HIDDEN:-"40 128 256"}
TORCH1_PYTHON=${TORCH1_PYTHON:-/usr/bin/python3}
TORCH2_PYTHON=${TORCH2_PYTHON:-/tmp/torch2-venv/bin/python}
TSF=${TSF:-$ROOT/scripts/tsf}
export TSF_PGROOT=${TSF_PGROOT:-/tmp/tsf-lstm-bench} TSF_PGPORT=${TSF_PGPORT:-54333}
OUT=$(mktemp -d /tmp/lstm-speed.XXXXXX)
RESULTS=$OUT/results.jsonl
cd "$ROOT"

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%Y-%m-%d)"
echo "== raw results in $OUT"

echo "== 1. peak FLOP rate of one core (bench/flops.c)"
gcc -O2 -o "$OUT/flops" bench/flops.c
"$OUT/flops" | tee "$OUT/flops.txt"

echo "== 2. the network core alone (bench/nn_epoch.c), $EPOCHS epochs"
NN_SRCS=$(ls src/nn/[a-z]*.c)
gcc -std=gnu11 -O2 -fno-wrapv -ffp-contract=off -fno-math-errno -Isrc -o "$OUT/nn_epoch64" bench/nn_epoch.c $NN_SRCS -lm
gcc -std=gnu11 -O2 -fno-wrapv -ffp-contract=off -fno-math-errno -DTSF_NN_FLOAT -Isrc -o "$OUT/nn_epoch32" bench/nn_epoch.c $NN_SRCS -lm
for H in $HIDDEN; do
    "$OUT/nn_epoch64" "$H" "$EPOCHS" | tee -a "$RESULTS"
    "$OUT/nn_epoch32" "$H" "$EPOCHS" | tee -a "$RESULTS"
done

echo "== 3. PyTorch, one thread, $EPOCHS epochs"
if "$TORCH1_PYTHON" -c 'import torch' 2>/dev/null; then
    "$TORCH1_PYTHON" bench/lstm_speed.py torch "$EPOCHS" $HIDDEN | tee -a "$RESULTS"
else
    echo "no PyTorch at $TORCH1_PYTHON (Debian's python3-torch: apt-get install python3-torch): skipped"
fi
if [ -x "$TORCH2_PYTHON" ]; then
    "$TORCH2_PYTHON" bench/lstm_speed.py torch "$EPOCHS" $HIDDEN | tee -a "$RESULTS"
else
    echo "no PyTorch 2.x at $TORCH2_PYTHON (see the header of this script): skipped"
fi

echo "== 4. lstm_train in one backend ($TSF_PGROOT, port $TSF_PGPORT)"
"$TSF" setup >/dev/null
"$TSF" start >/dev/null
trap '"$TSF" stop >/dev/null 2>&1 || true' EXIT
export PGHOST=$TSF_PGROOT PGPORT=$TSF_PGPORT PGUSER=postgres PGOPTIONS="-c search_path=tsforecast,public"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d postgres "$@"; }
q -c "CREATE EXTENSION tsforecast" \
  -c "CREATE TABLE verde (week_start date PRIMARY KEY, flow float8 NOT NULL)" \
  -c "\\copy verde FROM 'test/fixtures/verde_weekly.csv' WITH (FORMAT csv, HEADER true)"
HWM="substring(pg_read_file('/proc/self/status') from 'VmHWM:\\s*(\\d+)')::int"
for H in $HIDDEN; do
    fit() {   # $1 epochs: one session, prints "hwm_before|fit_seconds|hwm_after|n|library's kB"
        q -c "SET max_parallel_workers_per_gather = 0" -c "SET jit = off" \
          -c "CREATE TEMP TABLE l AS SELECT $HWM AS hwm" \
          -c "CREATE TEMP TABLE w AS SELECT lstm_train(t, v, '{\"epochs\": 1, \"hidden\": 2}')
                FROM (VALUES (1::bigint, 1.0::float8), (2, 2.0), (3, 1.5)) x(t, v)" \
          -c "CREATE TEMP TABLE h AS SELECT $HWM AS hwm0" \
          -c "CREATE TEMP TABLE m AS SELECT lstm_train(week_start, flow,
                  '{\"hidden\": $H, \"epochs\": $1, \"ema\": 0}') AS model FROM verde" \
          -c "SELECT hwm0, model_info(model)->>'fit_seconds', $HWM, model_info(model)->>'n', h.hwm0 - l.hwm FROM l, h, m"
    }
    IFS='|' read -r hwm0 secs hwm1 n lib <<<"$(fit "$EPOCHS")"
    IFS='|' read -r _ secs2 _ _ _ <<<"$(fit 2)"
    python3 -c "import json, sys; e, s, s2 = $EPOCHS, $secs, $secs2
print(json.dumps({'impl': 'lstm_train', 'dtype': '${NN_PRECISION:-float32}', 'H': $H, 'T': $n - 1, 'epochs': e,
                  's_per_epoch': (s - s2) / (e - 2), 'fit_seconds': s, 'fit_seconds_2_epochs': s2,
                  'hwm_before_kb': $hwm0, 'hwm_after_kb': $hwm1, 'hwm_increase_kb': $hwm1 - $hwm0,
                  'hwm_library_load_kb': $lib}))" \
        | tee -a "$RESULTS"
done

echo "== 5. report"
python3 bench/lstm_speed.py report "$RESULTS" "$OUT/flops.txt" | tee "$OUT/report.md"

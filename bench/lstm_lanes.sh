#!/usr/bin/env bash
# bench/lstm_lanes.sh: issue 13, point 2 -- the network core training 16
# series' networks one at a time (tsf_nn_train_epoch) against in one pass
# with the series in the vector lanes (tsf_nn_lanes_train_epoch,
# src/nn/lanes.c), and against PyTorch 2.x, in one run, on one core.  A
# benchmark, not a test: nothing here is part of the build or CI.
#
#   bench/lstm_lanes.sh
#
# Network: lstm_train's default (3 inputs -> causal conv K 3, C 4 -> LSTM H,
# 1 layer -> dropout 0.5 -> linear), Adam lr 0.01, MSE, full batch, no
# validation part (VAL=0, lstm_train's default and what the PyTorch loop
# does; VAL=0.2 holds out the last fifth, scored every epoch, on our side
# only), float32 (the build's default), T steps (default 500, the issue's
# weekly series) of synthetic series, each series with its own network (its
# own seed).
#
#   1. bench/nn_lanes.c at H = 16, 40, 64, 128, 256: ms per series-epoch
#      one at a time and in lanes, the thread's CPU time (a job on the other
#      core does not count), best of REPS, and whether every lane's model
#      equals the one trained alone bit for bit (the program fails if not)
#   2. PyTorch 2.x ($TORCH2_PYTHON, default /tmp/torch-batch-venv/bin/python:
#      python3 -m venv /tmp/torch-batch-venv; .../pip install torch numpy)
#      on one thread (bench/lstm_batch_torch.py): one series, and the 16 as
#      one batch of one shared network (for reference: not the same models)
#   1b. bench/nn_mv.c at H = 128 and 256: the recurrence's two products
#      per step alone, the floor under any layout of distinct networks;
#      and the weight gradient dW_hh's multiply-adds, which every layout
#      must also do, at this core's float32 FMA peak (bench/flops.c): the
#      least they could take.  Their sum is a lower bound on any float32
#      epoch of one network per series on this machine
#   3. the table and the ratios against the issue's targets: lanes at least
#      1.5x the series per second of one at a time at H = 40; at H = 128
#      and 256, 16 series together at most 0.5x PyTorch's epoch of one
#      series, per series-epoch
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EPOCHS=${EPOCHS:-10}
T=${T:-500}
REPS=${REPS:-5}
VAL=${VAL:-0}
TORCH2_PYTHON=${TORCH2_PYTHON:-/tmp/torch-batch-venv/bin/python}
OUT=$(mktemp -d /tmp/lstm-lanes.XXXXXX)
RESULTS=$OUT/results.jsonl
cd "$ROOT"

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== raw results in $OUT"

gcc -std=gnu11 -O2 -fno-wrapv -ffp-contract=off -fno-math-errno -DTSF_NN_FLOAT -Isrc -o "$OUT/nn_lanes" \
    bench/nn_lanes.c $(ls src/nn/[a-z]*.c) -lm
gcc -std=gnu11 -O2 -fno-wrapv -ffp-contract=off -fno-math-errno -DTSF_NN_FLOAT -Isrc -o "$OUT/nn_mv" \
    bench/nn_mv.c $(ls src/nn/[a-z]*.c) -lm

echo "== 1. the core: one at a time and in lanes, 16 series, T = $T, validation $VAL, $EPOCHS epochs, best of $REPS"
for H in 16 40 64 128 256; do
    reps=$REPS
    [ "$H" -ge 128 ] && reps=2
    "$OUT/nn_lanes" "$H" "$T" "$EPOCHS" "$reps" 0 "$VAL" | tee -a "$RESULTS"
done

echo "== 1b. the floor: the recurrence's two products per step alone (bench/nn_mv.c), and the core's peak (bench/flops.c)"
gcc -O2 -o "$OUT/flops" bench/flops.c
"$OUT/flops" | tee "$OUT/flops.txt"
for H in 128 256; do
    "$OUT/nn_mv" "$H" "$T" | tee -a "$RESULTS"
done

echo "== 2. PyTorch, one thread"
if [ -x "$TORCH2_PYTHON" ]; then
    "$TORCH2_PYTHON" bench/lstm_batch_torch.py "$EPOCHS" "$T" 16 40 128 256 | tee -a "$RESULTS"
else
    echo "no PyTorch 2.x at $TORCH2_PYTHON (see the header of this script): skipped"
fi
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== 3. report"
python3 - "$RESULTS" "$OUT/flops.txt" <<'PY'
import json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
# the widest float32 FMA line of bench/flops.c, in multiply-adds per second
fma = [float(m.group(1)) for m in
       (re.search(r"float32 \S+\s+fma\s+([0-9.]+) GFLOP/s", l) for l in open(sys.argv[2])) if m]
peak_macs = max(fma) * 1e9 / 2 if fma else None
core = {r["H"]: r for r in rows if "lanes_over_one_at_a_time" in r}
torch = {(r["H"], r["mode"]): r for r in rows if r.get("impl") == "torch"}
floor = {r["H"]: r for r in rows if "ms_per_epoch_floor" in r}
print("| H | ms per series-epoch, one at a time | in lanes | lanes / one at a time (series per s) | PyTorch one series | PyTorch 16, one shared network, per series | same bits |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for H, r in sorted(core.items()):
    t1 = torch.get((H, "one"))
    tb = torch.get((H, "batch"))
    f = lambda x: "%.2f" % (x["s_per_series_epoch"] * 1e3) if x else "-"
    print("| %d | %.2f | %.2f | %.2f | %s | %s | %s |" % (
        H, r["ms_per_series_epoch_one_at_a_time"], r["ms_per_series_epoch_lanes"],
        r["lanes_over_one_at_a_time"], f(t1), f(tb), "yes" if r["same_bits"] else "NO"))
print()
r = core.get(40)
if r:
    x = r["lanes_over_one_at_a_time"]
    print("target H = 40: lanes >= 1.5x one at a time: %.2fx, %s" % (x, "met" if x >= 1.5 else "NOT met"))
for H in (128, 256):
    r, t1 = core.get(H), torch.get((H, "one"))
    if r and t1:
        best = min(r["ms_per_series_epoch_one_at_a_time"], r["ms_per_series_epoch_lanes"])
        ratio = best / (t1["s_per_series_epoch"] * 1e3)
        print("target H = %d: 16 series, ms per series-epoch <= 0.5x PyTorch's one-series epoch: "
              "best of the two ways %.2f ms = %.2fx, %s" % (H, best, ratio, "met" if ratio <= 0.5 else "NOT met"))
        f = floor.get(H)
        if f:
            torch_ms = t1["s_per_series_epoch"] * 1e3
            print("  the floor: W_hh read twice per step at %.0f GB/s, %.2f ms per series-epoch = %.2fx "
                  "PyTorch's epoch before any other work" % (
                      f["gb_per_s"], f["ms_per_epoch_floor"], f["ms_per_epoch_floor"] / torch_ms))
            if peak_macs and "grad_macs_per_epoch" in f:
                g = f["grad_macs_per_epoch"] / peak_macs * 1e3
                print("  with dW_hh's %.0f M multiply-adds at the FMA peak (%.0f GFLOP/s): %.2f ms more, "
                      "%.2f ms = %.2fx (this core's tsf_mm_tn: %.2f ms for them)" % (
                          f["grad_macs_per_epoch"] / 1e6, peak_macs * 2 / 1e9, g,
                          f["ms_per_epoch_floor"] + g, (f["ms_per_epoch_floor"] + g) / torch_ms,
                          f["ms_grad_this_core"]))
PY

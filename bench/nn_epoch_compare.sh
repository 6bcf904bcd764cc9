#!/usr/bin/env bash
# bench/nn_epoch_compare.sh: the network core's epoch (bench/nn_epoch.c) at
# two commits, in one run, on one core.  A benchmark, not a test.
#
#   bench/nn_epoch_compare.sh OLD [NEW]     NEW defaults to the work tree
#
# Each commit's src/nn and bench/nn_epoch.c are built as the Makefile
# builds the core (float32, -O2 -fno-wrapv -ffp-contract=off
# -fno-math-errno); then, for each H and T, the two binaries run in turn,
# REPS times each (default 3), EPOCHS epochs a run (default 20).  Prints,
# per case, the best ms per epoch of each, their ratio, and whether the
# final parameters have the same hash: a change that only makes the core
# faster must leave it unchanged.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OLD=${1:?usage: bench/nn_epoch_compare.sh OLD [NEW]}
NEW=${2:-}
REPS=${REPS:-3}
EPOCHS=${EPOCHS:-20}
CASES=${CASES:-"16:500 40:500 128:500 256:500 40:1649"}
OUT=$(mktemp -d /tmp/nn-epoch-compare.XXXXXX)
cd "$ROOT"

build() {   # $1 commit or "" (the work tree), $2 binary
    local src=$OUT/src-$(basename "$2")
    mkdir -p "$src"
    if [ -n "$1" ]; then
        git archive "$1" src/nn bench/nn_epoch.c | tar -x -C "$src"
    else
        cp -r src bench "$src"/
    fi
    gcc -std=gnu11 -O2 -fno-wrapv -ffp-contract=off -fno-math-errno -DTSF_NN_FLOAT \
        -I"$src/src" -o "$2" "$src/bench/nn_epoch.c" "$src"/src/nn/[a-z]*.c -lm
}
build "$OLD" "$OUT/old"
build "$NEW" "$OUT/new"

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1 /proc/loadavg)"
echo "== old: $OLD  new: ${NEW:-work tree ($(git rev-parse --short HEAD)+)}; float32; best of $REPS runs of $EPOCHS epochs"
echo "| H | T | old ms/epoch | new ms/epoch | old / new | same bits |"
echo "| --- | --- | --- | --- | --- | --- |"
for c in $CASES; do
    H=${c%%:*} T=${c##*:}
    for r in $(seq "$REPS"); do
        "$OUT/old" "$H" "$EPOCHS" "$T" >>"$OUT/old-$c.jsonl"
        "$OUT/new" "$H" "$EPOCHS" "$T" >>"$OUT/new-$c.jsonl"
    done
    python3 - "$H" "$T" "$OUT/old-$c.jsonl" "$OUT/new-$c.jsonl" <<'PY'
import json, sys
H, T, fo, fn = sys.argv[1:]
old = [json.loads(l) for l in open(fo)]
new = [json.loads(l) for l in open(fn)]
bo = min(r["best_s_per_epoch"] for r in old) * 1e3
bn = min(r["best_s_per_epoch"] for r in new) * 1e3
same = {r["params_hash"] for r in old} == {r["params_hash"] for r in new}
print("| %s | %s | %.3f | %.3f | %.2f | %s |" % (H, T, bo, bn, bo / bn, "yes" if same else "NO"))
PY
done

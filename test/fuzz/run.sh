#!/usr/bin/env bash
# test/fuzz/run.sh: build the fuzz target of the stored-model reader and
# run it over the committed corpus for a fixed budget (make fuzz).
#
#   test/fuzz/run.sh                 build, check the corpus, fuzz
#                                    TSF_FUZZ_RUNS executions (default
#                                    12,000,000: about two minutes at the
#                                    100,000 exec/s of a 2-core Debian 12
#                                    machine) from seed TSF_FUZZ_SEED (1)
#   test/fuzz/run.sh --build         build only
#   test/fuzz/run.sh FILE...         build, run the target once on each
#                                    file (a reproducer)
#   TSF_FUZZ_TIME=1200 test/fuzz/run.sh
#                                    fuzz for 20 minutes instead of a
#                                    number of runs
#   TSF_FUZZ_NEW=DIR ...             keep the new inputs the run finds in
#                                    DIR (default: a temporary directory,
#                                    removed at the end; never the
#                                    committed corpus)
#   TSF_FUZZ_CHECK_PRECISION=0 ...   do not hold accepted models to
#                                    property (b) (fuzz_model.c)
#   TSF_FUZZ_FLAGS="-fork=2 -ignore_crashes=1" ...
#                                    more libFuzzer flags (here: two
#                                    processes, going on after a failure
#                                    to collect them all)
#
# The target (fuzz_model.c) is libFuzzer's, built by clang-14 with
# AddressSanitizer and UndefinedBehaviorSanitizer from the extension's own
# src/model.c and the kinds' (kind.c, model_ar.c, model_lstm.c,
# lstm_model.c, model_combine.c, model_auto.c, the AR core src/ar/*.c), src/freq.c, src/jsonbuild.c and
# src/nn/*.c, against the
# server headers of $PG_CONFIG, linked with pg_shim.c and the stubs
# gen_stubs.sh makes for every other symbol.  Exits non-zero on a crash, a
# sanitizer report, a property failure or a hang, printing the reproducer.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CC=${FUZZ_CC:-clang-14}
PG_CONFIG=${PG_CONFIG:-pg_config}
BUILD=$HERE/build
BIN=$BUILD/fuzz_model
RUNS=${TSF_FUZZ_RUNS:-12000000}
SEED=${TSF_FUZZ_SEED:-1}
TIME=${TSF_FUZZ_TIME:-}

# ---- build ----

build() {
    command -v "$CC" >/dev/null || { echo "run.sh: $CC not found (Debian: apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 2; }
    local inc nn_def san common glue nn
    inc=$("$PG_CONFIG" --includedir-server)
    # the core's scalar type, as the Makefile's NN_PRECISION picks it
    case ${NN_PRECISION:-float32} in
        float32) nn_def=-DTSF_NN_FLOAT ;;
        float64) nn_def= ;;
        *) echo "run.sh: NN_PRECISION must be float32 or float64" >&2; exit 2 ;;
    esac
    san="-fsanitize=address,undefined -fno-sanitize-recover=all"
    common="-std=gnu99 -g -O1 -fno-omit-frame-pointer -Wall -Wno-ignored-attributes \
        -Wno-unused-parameter -Wno-unused-command-line-argument $nn_def -I$ROOT/src"
    # the glue as PGXS builds it, less -fwrapv: a signed overflow in the
    # reader is a finding, which UBSan reports only without -fwrapv; with
    # USE_ASSERT_CHECKING so that Assert() holds
    glue="$common -fsanitize=fuzzer-no-link $san -I$inc -D_GNU_SOURCE -fno-strict-aliasing \
        -DUSE_ASSERT_CHECKING"
    # the network core as the Makefile builds it
    nn="$common -fsanitize=fuzzer-no-link $san -ffp-contract=off -fno-math-errno -fno-wrapv"

    rm -rf "$BUILD"
    mkdir -p "$BUILD"
    local jobs=() objs=() f o
    for f in model kind model_ar model_lstm lstm_model model_combine model_auto freq jsonbuild; do
        o=$BUILD/$f.o; objs+=("$o")
        $CC $glue -c -o "$o" "$ROOT/src/$f.c" & jobs+=($!)
    done
    for f in "$ROOT"/src/ar/*.c; do
        o=$BUILD/ar_$(basename "$f" .c).o; objs+=("$o")
        $CC $nn -c -o "$o" "$f" & jobs+=($!)
    done
    for f in "$ROOT"/src/nn/*.c; do
        o=$BUILD/nn_$(basename "$f" .c).o; objs+=("$o")
        $CC $nn -c -o "$o" "$f" & jobs+=($!)
    done
    $CC $glue -c -o "$BUILD/fuzz_model.o" "$HERE/fuzz_model.c" & jobs+=($!)
    # the shim: sanitized, not coverage-guided (its branches are not the reader's)
    $CC ${glue/-fsanitize=fuzzer-no-link/} -c -o "$BUILD/pg_shim.o" "$HERE/pg_shim.c" & jobs+=($!)
    local rc=0
    for j in "${jobs[@]}"; do wait "$j" || rc=1; done
    [ $rc -eq 0 ] || { echo "run.sh: compilation failed" >&2; exit 2; }

    "$HERE/gen_stubs.sh" "$BUILD/stubs.c" "$CC" "${objs[@]}" "$BUILD/fuzz_model.o" "$BUILD/pg_shim.o"
    $CC -O1 -c -o "$BUILD/stubs.o" "$BUILD/stubs.c"
    $CC -fsanitize=fuzzer $san -o "$BIN" "${objs[@]}" "$BUILD/fuzz_model.o" "$BUILD/pg_shim.o" \
        "$BUILD/stubs.o" -lm
    echo "run.sh: built $BIN (${NN_PRECISION:-float32} core)"
}

# what a failed run left: libFuzzer's crash-, leak-, timeout-, oom- files
report() {
    local art=$1 f found=0
    for f in "$art"/*; do
        [ -f "$f" ] || continue
        found=1
        echo "run.sh: FAILED: reproducer $f ($(stat -c %s "$f") bytes); rerun: test/fuzz/run.sh $f" >&2
    done
    [ $found -eq 1 ] || echo "run.sh: FAILED (no reproducer written; see the log above)" >&2
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

build
[ "${1:-}" = --build ] && exit 0

if [ $# -gt 0 ]; then
    # files only: given a directory, libFuzzer would fuzz into it
    for f in "$@"; do
        [ -f "$f" ] || { echo "run.sh: $f is not a file" >&2; exit 2; }
    done
    exec "$BIN" -rss_limit_mb=2048 "$@"
fi

cd "$ROOT"
shopt -s nullglob
corpus=(test/fuzz/corpus/*)
[ ${#corpus[@]} -gt 0 ] || { echo "run.sh: the corpus test/fuzz/corpus is empty (make_corpus.sh makes it)" >&2; exit 2; }

# the seeds must be models today's reader accepts, or the fuzzer starts
# from rejections only (after a format change, run make_corpus.sh again)
echo "run.sh: checking that the reader accepts the ${#corpus[@]} corpus files"
TSF_FUZZ_EXPECT_ACCEPT=1 "$BIN" -rss_limit_mb=2048 "${corpus[@]}" >"$BUILD/corpus.log" 2>&1 \
    || { cat "$BUILD/corpus.log"; echo "run.sh: FAILED: a corpus file is rejected or fails a property" >&2; exit 1; }

# the reproducers of earlier findings (test/fuzz/findings): each must now
# be rejected or pass every property
findings=(test/fuzz/findings/*.bin)
if [ ${#findings[@]} -gt 0 ]; then
    echo "run.sh: running the ${#findings[@]} reproducers of earlier findings"
    "$BIN" -rss_limit_mb=2048 "${findings[@]}" >"$BUILD/findings.log" 2>&1 \
        || { cat "$BUILD/findings.log"; echo "run.sh: FAILED: an earlier finding is back" >&2; exit 1; }
fi

if [ -n "${TSF_FUZZ_NEW:-}" ]; then
    new=$TSF_FUZZ_NEW
else
    new=$(mktemp -d /tmp/tsf-fuzz-new.XXXXXX)
    trap 'rm -rf "$new"' EXIT
fi
art=$(mktemp -d /tmp/tsf-fuzz-artifacts.XXXXXX)
mkdir -p "$new"
max=0
for f in "${corpus[@]}"; do s=$(stat -c %s "$f"); [ "$s" -gt "$max" ] && max=$s; done
if [ -n "$TIME" ]; then budget=(-max_total_time="$TIME"); what="$TIME seconds"
else budget=(-runs="$RUNS"); what="$RUNS executions"; fi

echo "run.sh: fuzzing for $what, seed $SEED, from ${#corpus[@]} corpus files; new inputs go to $new"
start=$(date +%s)
set +e
"$BIN" "${budget[@]}" -seed="$SEED" -max_len=$((max + 256)) -len_control=0 \
    -dict=test/fuzz/model.dict -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$art/" ${TSF_FUZZ_FLAGS:-} "$new" test/fuzz/corpus 2>&1 | tee "$BUILD/fuzz.log"
rc=${PIPESTATUS[0]}
set -e
secs=$(( $(date +%s) - start ))
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$BUILD/fuzz.log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$BUILD/fuzz.log" | tail -1)
# -fork prints no final stats: its last progress line has the count
[ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$BUILD/fuzz.log" | tail -1 | tr -d '#')
[ -n "$rate" ] || { [ -n "$execs" ] && [ "$secs" -gt 0 ] && rate=$((execs / secs)); }
echo "run.sh: ${execs:-?} executions in ${secs}s, ${rate:-?} exec/s; $(ls "$new" | wc -l) new corpus inputs" \
    "$([ -n "${TSF_FUZZ_NEW:-}" ] && echo "in $new" || echo "(not kept: TSF_FUZZ_NEW=DIR keeps them)")"
# a reproducer left behind fails the run even where libFuzzer went on
if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$art")" ]; then
    report "$art"
    exit 1
fi
rmdir "$art" 2>/dev/null || true
echo "run.sh: ok"

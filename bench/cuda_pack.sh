#!/usr/bin/env bash
# bench/cuda_pack.sh: prepare .carry/ for the one run of bench/cuda_run.sh on
# the GPU machine (which has no PostgreSQL and no network).  Run here, on
# the Debian 12 development machine, from anywhere in the checkout:
#
#   bench/cuda_pack.sh
#
# 1. builds the extension (make: the GPU module where nvcc is found; the
#    emulator for a rehearsal, make src/cuda/tsforecast_cuda_emu.so, apart;
#    carry src/cuda/tsforecast_cuda.so, or
#    cuda_run.sh builds it with the GPU machine's nvcc) against $PG_CONFIG, a PRIVATE copy of Debian's
#    PostgreSQL 15 by default (/opt/pgbench, made from /usr on first use),
#    so that the shared system PostgreSQL is left alone;
# 2. make install DESTDIR=$STAGE, then moves what landed under the private
#    prefix to Debian's paths (/usr/lib/postgresql/15/lib,
#    /usr/share/postgresql/15), where the portable tarball's server looks;
# 3. adds the shared libraries tsforecast.so needs beyond PostgreSQL's and
#    Ubuntu 24.04's base system (LAPACK, BLAS, gfortran, quadmath: ldd,
#    resolved through Debian's alternatives) to usr/lib/x86_64-linux-gnu,
#    which pg-portable.sh's environment puts on LD_LIBRARY_PATH;
# 4. ../shared/tools/pg-portable.sh pack .carry/pg15.tar.xz $STAGE, and a
#    copy of pg-portable.sh into .carry/ (ignored by git: /.carry/ in
#    .gitignore and in .git/info/exclude);
# 5. checks the sizes: the device tool carries 64 MiB at most.
#
# Then the device call: carry [".carry"], command
#   bash bench/cuda_run.sh
# (see its header).  Needs apt-get update once (pg-portable.sh downloads
# Debian's postgresql-15 packages).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PRIV=${PRIV:-/opt/pgbench}
export PG_CONFIG=${PG_CONFIG:-$PRIV/lib/postgresql/15/bin/pg_config}
STAGE=${STAGE:-/tmp/stage-cuda-bench}
PGPORTABLE=${PGPORTABLE:-$ROOT/../shared/tools/pg-portable.sh}
[ -f "$PGPORTABLE" ] || PGPORTABLE=/work/shared/tools/pg-portable.sh

if [ ! -x "$PG_CONFIG" ] && [ "$PG_CONFIG" = "$PRIV/lib/postgresql/15/bin/pg_config" ]; then
    echo "== a private PostgreSQL 15 for the build under $PRIV"
    mkdir -p "$PRIV/lib/postgresql" "$PRIV/share/postgresql" "$PRIV/include"
    cp -a /usr/lib/postgresql/15 "$PRIV/lib/postgresql/"
    cp -a /usr/share/postgresql/15 "$PRIV/share/postgresql/"
    cp -a /usr/include/postgresql "$PRIV/include/"
fi
echo "== PG_CONFIG=$PG_CONFIG ($("$PG_CONFIG" --version))"

echo "== make"
make -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG"

echo "== make install DESTDIR=$STAGE"
rm -rf "$STAGE" "$STAGE.tmp"
make -s install PG_CONFIG="$PG_CONFIG" DESTDIR="$STAGE.tmp" >/dev/null
mkdir -p "$STAGE/usr/lib/postgresql/15" "$STAGE/usr/share/postgresql/15" "$STAGE/usr/lib/x86_64-linux-gnu"
cp -a "$STAGE.tmp$("$PG_CONFIG" --pkglibdir)" "$STAGE/usr/lib/postgresql/15/lib"
cp -a "$STAGE.tmp$("$PG_CONFIG" --sharedir)/extension" "$STAGE/usr/share/postgresql/15/extension"
rm -rf "$STAGE.tmp"

echo "== libraries tsforecast.so needs beyond the base system"
# what Ubuntu 24.04's base system and PostgreSQL's own packages provide
base='^(linux-vdso|libc|libm|libdl|libpthread|librt|ld-linux-x86-64|libstdc\+\+|libgcc_s)\.so'
for m in "$STAGE"/usr/lib/postgresql/15/lib/tsforecast*.so; do ldd "$m"; done |
    awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u |
    while read -r name path; do
        if [[ $name =~ $base ]]; then continue; fi
        cp -L "$path" "$STAGE/usr/lib/x86_64-linux-gnu/$name"
        echo "   $name <- $(readlink -f "$path")"
    done
ls -la "$STAGE/usr/lib/postgresql/15/lib" "$STAGE/usr/share/postgresql/15/extension" | sed 's/^/   /'

echo "== pack"
mkdir -p .carry
gitexclude=$(git rev-parse --git-common-dir)/info/exclude
mkdir -p "$(dirname "$gitexclude")"
grep -qx '/.carry/' "$gitexclude" 2>/dev/null || echo '/.carry/' >>"$gitexclude"
cp "$PGPORTABLE" .carry/pg-portable.sh
bash .carry/pg-portable.sh pack .carry/pg15.tar.xz "$STAGE"
echo "== sizes"
du -sh .carry .carry/*
total=$(du -sb .carry | cut -f1)
untracked=$(git ls-files -o --exclude-standard -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
echo "   .carry: $((total / 1048576)) MiB; untracked, not ignored files that travel too: $(( ${untracked:-0} / 1024 )) KiB"
if [ "$total" -gt $((60 * 1048576)) ]; then
    echo "   .carry is over 60 MiB: the device tool carries 64 MiB at most" >&2
    exit 1
fi
echo "== ready: device call with carry [\".carry\"] and command: bash bench/cuda_run.sh"

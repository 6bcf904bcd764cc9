#!/usr/bin/env bash
# Every SQLSTATE the extension raises is in the README's table of errors:
# the ERRCODE_* names the C code uses (src/*.c: passed to errcode(), or to
# the model reader, which raises the one it is given), turned into their five
# characters through the server's utils/errcodes.h, each of which must
# appear in backticks in the README's "### Errors" section.  Exits non-zero,
# naming what is missing.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
ERRCODES=$(${PG_CONFIG:-pg_config} --includedir-server)/utils/errcodes.h
# the README's table: from "### Errors" to the next heading
table=$(awk '/^### Errors/ {on = 1; next} on && /^#/ {exit} on' README.md)
names=$( (grep -hoE 'ERRCODE_[A-Z0-9_]+' src/*.c
          # float_overflow_error() raises 22003 (metrics.c)
          grep -q 'float_overflow_error' src/*.c && echo ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE) | sort -u)
missing=0
for n in $names; do
    code=$(sed -n "s/^#define $n MAKE_SQLSTATE('\(.\)','\(.\)','\(.\)','\(.\)','\(.\)')$/\1\2\3\4\5/p" "$ERRCODES")
    [ -n "$code" ] || { echo "not ok: $n is not in $ERRCODES"; missing=1; continue; }
    if ! grep -q "\`$code\`" <<<"$table"; then
        echo "not ok: $code ($n) is raised but not in the README's table of errors"
        missing=1
    fi
done
[ $missing -eq 0 ] && echo "ok: $(echo $names | wc -w) SQLSTATEs raised, all in the README's table"
exit $missing

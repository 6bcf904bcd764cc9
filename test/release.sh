#!/usr/bin/env bash
# test/release.sh: the release is named in one place, tsforecast.control's
# default_version (the Makefile's EXTVERSION); what repeats it must agree
# (make metacheck; a step of scripts/tsf test; no server):
#
#   - META.json parses, and its version and provides.tsforecast's are the
#     release, its abstracts the control file's comment, its file exists;
#   - CHANGELOG.md's first release is the release, and every release in
#     install/ has an entry;
#   - install/'s upgrade scripts lead from 0.1.0's full script to the
#     release, one step per release.
#
# Prints one line per check; exits non-zero on the first that fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fail() { echo "not ok: $*"; exit 1; }

control=tsforecast.control
version=$(sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" $control)
comment=$(sed -n "s/^comment[[:space:]]*=[[:space:]]*'\(.*\)'[[:space:]]*$/\1/p" $control)
[ -n "$version" ] || fail "$control has no default_version"

# META.json, read by perl's JSON::PP (a core module): one line per field
meta=$(perl -MJSON::PP -e '
    local $/; open my $f, "<", "META.json" or die "META.json: $!\n";
    my $m = JSON::PP->new->decode(<$f>);
    my $p = $m->{provides}{tsforecast} or die "META.json provides no tsforecast\n";
    print join("\n", $m->{version}, $p->{version}, $m->{abstract}, $p->{abstract}, $p->{file}), "\n";
') || fail "META.json does not parse"
{ read -r v; read -r pv; read -r ab; read -r pab; read -r file; } <<<"$meta"
[ "$v" = "$version" ] && [ "$pv" = "$version" ] ||
    fail "META.json says version $v (provides: $pv), $control $version"
[ "$ab" = "$comment" ] && [ "$pab" = "$comment" ] ||
    fail "META.json's abstracts are not $control's comment ('$comment')"
[ -f "$file" ] || fail "META.json provides file $file, which does not exist"
echo "ok: META.json names release $version, $control's comment and $file"

# the upgrade chain: from 0.1.0, each release's script to the next
chain=0.1.0 at=0.1.0
while next=$(ls install/tsforecast--"$at"--*.sql 2>/dev/null | sed 's/.*--\(.*\)\.sql$/\1/'); [ -n "$next" ]; do
    [ "$(echo "$next" | wc -l)" -eq 1 ] || fail "more than one upgrade script from $at: $next"
    at=$next chain="$chain $at"
done
[ -f install/tsforecast--0.1.0.sql ] || fail "install/tsforecast--0.1.0.sql, the chain's start, is missing"
[ "$at" = "$version" ] || fail "the upgrade scripts lead from 0.1.0 to $at, not to $version"
n=$(ls install/tsforecast--*--*.sql | wc -l)
[ "$n" -eq $(($(echo "$chain" | wc -w) - 1)) ] || fail "$n upgrade scripts, not all on the chain $chain"
echo "ok: install/ leads from 0.1.0 to $version: $chain"

# CHANGELOG.md: the release first, then every release of the chain
first=$(sed -n 's/^## \([0-9][0-9.]*\) .*/\1/p' CHANGELOG.md | head -n 1)
[ "$first" = "$version" ] || fail "CHANGELOG.md's first release is $first, not $version"
for r in $chain; do
    grep -q "^## $r " CHANGELOG.md || fail "CHANGELOG.md has no entry for $r"
done
echo "ok: CHANGELOG.md has every release, $version first"

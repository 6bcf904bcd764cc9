#!/usr/bin/env bash
# test/citus/build.sh: build Citus 13.2.2 from the vendored tarball and
# install it into the PostgreSQL of PG_CONFIG, for test/t/014_citus.pl.
#
# Citus is a test dependency only (AGPL-3.0, never part of tsforecast's
# build): ../shared/vendor/citus-13.2.2.tar.gz, an unmodified snapshot, is
# checked against its sha256 (../shared/vendor/README.md), extracted,
# patched for Debian's PostgreSQL 15.20 (pg15-have_createdb_privilege.patch
# beside this script, patch -p1), configured --without-libcurl, built with
# make -j2 and installed with make install.
#
# The build tree is cached in $TSF_CITUS_CACHE (default
# /var/tmp/tsforecast-citus), under a key made of the tarball's and the
# patch's sha256, the configure flags, and pg_config's version and server
# include directory (the headers the objects were compiled against, whose
# paths the objects' dependency files name): a second run with the same
# key only runs make install from the cached tree (seconds).  A tree whose
# build did not finish has no stamp and is built again from scratch.
#
# Debian packages it needs beyond scripts/tsf's (libkrb5-dev: the server's
# libpq-be.h includes gssapi/gssapi.h; liblz4-dev, libzstd-dev: the columnar
# module includes zstd.h even --without-zstd) are installed with apt-get
# when missing, as root; otherwise it says which are missing and fails.
#
#   TSF_CITUS_TARBALL   the tarball (default ../shared/vendor/citus-13.2.2.tar.gz
#                       beside the repository)
#   TSF_CITUS_CACHE     the cache directory
#   PG_CONFIG           the PostgreSQL to build against and install into
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
VERSION=13.2.2
SHA256=c8fc76dc8294636a52b1a0dd75a20d8b4a36937df6443e30ca84d8d0464a6bb9
TARBALL=${TSF_CITUS_TARBALL:-$ROOT/../shared/vendor/citus-$VERSION.tar.gz}
PATCH=$HERE/pg15-have_createdb_privilege.patch
CACHE=${TSF_CITUS_CACHE:-/var/tmp/tsforecast-citus}
PG_CONFIG=${PG_CONFIG:-pg_config}
CONFIGURE_FLAGS=(--without-libcurl)
PACKAGES=(build-essential libkrb5-dev liblz4-dev libzstd-dev)

say() { printf 'citus: %s\n' "$*"; }
die() { printf 'citus: %s\n' "$*" >&2; exit 1; }

install_packages() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing packages (${missing[*]}); run as root or install them"
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

t0=$(date +%s)
command -v "$PG_CONFIG" >/dev/null || die "no pg_config ($PG_CONFIG)"
PG_CONFIG=$(command -v "$PG_CONFIG")
[ -f "$TARBALL" ] || die "no tarball at $TARBALL"
install_packages

sum=$(sha256sum "$TARBALL" | cut -d' ' -f1)
[ "$sum" = "$SHA256" ] || die "$TARBALL: sha256 $sum, expected $SHA256"

key=$(printf '%s\n' "$SHA256" "$(sha256sum "$PATCH" | cut -d' ' -f1)" "${CONFIGURE_FLAGS[*]}" \
          "$("$PG_CONFIG" --version)" "$("$PG_CONFIG" --includedir-server)" \
      | sha256sum | cut -c1-16)
pgver=$("$PG_CONFIG" --version | sed -n 's/^PostgreSQL \([0-9.]*\).*/\1/p')
dir=$CACHE/citus-$VERSION-pg$pgver-$key
src=$dir/citus-$VERSION

mkdir -p "$CACHE"
# one build of a key at a time
exec 9>"$dir.lock"
flock 9

if [ -f "$dir/.built" ]; then
    say "cached build in $dir: make install"
    how=warm
else
    say "building Citus $VERSION in $dir (make -j2; minutes)"
    how=cold
    rm -rf "$dir"
    mkdir -p "$dir"
    tar -xzf "$TARBALL" -C "$dir"
    (cd "$src" && patch -p1 -s <"$PATCH")
    (cd "$src" && ./configure -q "${CONFIGURE_FLAGS[@]}" PG_CONFIG="$PG_CONFIG" >"$dir/configure.log" 2>&1) \
        || { tail -n 40 "$dir/configure.log"; die "configure failed ($dir/configure.log)"; }
    make -C "$src" -s -j2 PG_CONFIG="$PG_CONFIG" >"$dir/make.log" 2>&1 \
        || { tail -n 60 "$dir/make.log"; die "make failed ($dir/make.log)"; }
    touch "$dir/.built"
fi
# PG_CONFIG on the command line too: configure recorded the path it was
# given, and make install must go to the one asked for now
make -C "$src" -s install PG_CONFIG="$PG_CONFIG" >"$dir/install.log" 2>&1 \
    || { tail -n 40 "$dir/install.log"; die "make install failed ($dir/install.log)"; }

lib=$("$PG_CONFIG" --pkglibdir)/citus.so
ctl=$("$PG_CONFIG" --sharedir)/extension/citus.control
[ -f "$lib" ] && [ -f "$ctl" ] || die "make install left no $lib or $ctl"
say "installed Citus $VERSION into $("$PG_CONFIG" --pkglibdir) ($how, $(( $(date +%s) - t0 )) s)"

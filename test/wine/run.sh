#!/bin/bash
# test/wine/run.sh: cross-build the library for 64-bit Windows with
# mingw-w64 and run its Windows tests under Wine.
#
# 1. installs gcc-mingw-w64-x86-64-win32, wine and wine64 when missing
#    (as root, apt-get --no-install-recommends; fails clearly otherwise);
# 2. configures and builds build-wine/ (or $EVENT_WINE_BUILD_DIR) with
#    cmake/mingw-w64-x86_64.cmake;
# 3. starts a private wineserver (-p: persistent while we run) in a
#    private WINEPREFIX and boots it (wineboot), output to /dev/null;
# 4. runs ctest in the build dir: every test executable runs through
#    wine (CMAKE_CROSSCOMPILING_EMULATOR);
# 5. stops that wineserver (wineserver -k with our WINEPREFIX) and
#    removes the prefix, also when interrupted.
#
# Usage: bash test/wine/run.sh [ctest arguments...]
# Environment: JOBS (default 2) for make and ctest; EVENT_WINE_BUILD_DIR;
# EVENT_WINE_KEEP_PREFIX=1 keeps the prefix for a faster next run.
# Exit status: 0 when every test passed, 1 on any failure, 3 when the
# packages could not be installed (nothing was built or run).
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
dir=${EVENT_WINE_BUILD_DIR:-$root/build-wine}
jobs=${JOBS:-2}

log() { echo "wine-run: $*"; }

# --- packages -----------------------------------------------------------------
packages=(cmake make gcc-mingw-w64-x86-64-win32 wine wine64)

install_missing() {
    local missing=() pkg
    for pkg in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' ||
            missing+=("$pkg")
    done
    [ ${#missing[@]} = 0 ] && return 0
    log "installing ${missing[*]}"
    if [ "$(id -u)" != 0 ]; then
        log "not root: install them yourself:" \
            "apt-get install --no-install-recommends ${missing[*]}"
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 apt-get update -q || log "apt-get update failed; trying the install anyway"
    timeout 900 apt-get install -y -q --no-install-recommends \
        -o DPkg::Lock::Timeout=300 "${missing[@]}"
}
if ! install_missing; then
    log "SKIP: could not install ${packages[*]}"
    exit 3
fi
for prog in x86_64-w64-mingw32-gcc wine wineserver; do
    if ! command -v "$prog" > /dev/null; then
        log "FAIL: $prog not found after installing the packages"
        exit 1
    fi
done

# --- build ----------------------------------------------------------------------
log "building $dir"
if ! cmake -S "$root" -B "$dir" \
        -DCMAKE_TOOLCHAIN_FILE="$root/cmake/mingw-w64-x86_64.cmake" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEVENT_BUILD_SAMPLES=OFF \
        > "$dir.configure.log" 2>&1; then
    cat "$dir.configure.log"
    log "FAIL: configure"
    exit 1
fi
rm -f "$dir.configure.log"
if ! nice cmake --build "$dir" -j "$jobs"; then
    log "FAIL: build"
    exit 1
fi

# --- wine -------------------------------------------------------------------------
# A prefix of our own, so that the wineserver we start and stop is ours
# alone (wineserver -k acts on the server of $WINEPREFIX only).
export WINEPREFIX=${EVENT_WINE_PREFIX:-$dir/wineprefix}
export WINEDEBUG=${WINEDEBUG:--all}
export WINEDLLOVERRIDES=${WINEDLLOVERRIDES:-mscoree,mshtml=}
started=0
stop_wine() {
    if [ "$started" = 1 ]; then
        wineserver -k > /dev/null 2>&1
        started=0
    fi
    if [ "${EVENT_WINE_KEEP_PREFIX:-0}" != 1 ]; then
        rm -rf "$WINEPREFIX"
    fi
}
trap stop_wine EXIT
trap 'exit 130' INT TERM

mkdir -p "$WINEPREFIX"
# wineserver puts itself in the background; -p keeps it alive between
# the test programs instead of restarting it for each.
if ! wineserver -p > /dev/null 2>&1; then
    log "FAIL: could not start wineserver for $WINEPREFIX"
    exit 1
fi
started=1
if ! timeout 300 wine wineboot > /dev/null 2>&1; then
    log "FAIL: wineboot did not finish in $WINEPREFIX"
    exit 1
fi

# --- tests --------------------------------------------------------------------------
log "running the tests under $(wine --version 2>/dev/null)"
(cd "$dir" && ctest -j "$jobs" --output-on-failure "$@")
rc=$?
if [ $rc = 0 ]; then
    log "PASS"
else
    log "FAIL: ctest exit status $rc"
fi
exit $([ $rc = 0 ] && echo 0 || echo 1)

#!/usr/bin/env bash
# Runs Debian's unmodified /usr/bin/memcached on OUR libevent-2.1.so.7 and
# drives it with test/memcached-client.c.
#
#   memcached.sh CLIENT LIBDIR
#     CLIENT  the memcached-client test executable
#     LIBDIR  our build's lib directory (holding libevent-2.1.so.7)
#
# Installs memcached with apt-get when missing, without letting the package
# start its system service.  Proves from /proc/PID/maps that the server
# mapped libevent from LIBDIR and no libevent from anywhere else, then runs
# the client (8 connections x 300 rounds).  Bounded in time; kills only the
# memcached it started, by PID; cleans up on every exit path.
set -euo pipefail

client=${1:?usage: memcached.sh CLIENT LIBDIR}
libdir=$(cd "${2:?usage: memcached.sh CLIENT LIBDIR}" && pwd -P)
memcached=/usr/bin/memcached

say() { echo "memcached.sh: $*"; }
die() { echo "memcached.sh: FAIL: $*" >&2; exit 1; }

# --- install, never starting the service ----------------------------------
install_pkg() {
    local pkg=$1 policy=/usr/sbin/policy-rc.d made_policy=0
    [ "$(id -u)" = 0 ] || die "$pkg is missing and we are not root to install it"
    if [ ! -e "$policy" ]; then
        # 101 = "action forbidden": invoke-rc.d will not start the daemon.
        printf '#!/bin/sh\nexit 101\n' > "$policy"
        chmod 755 "$policy"
        made_policy=1
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT    # even if interrupted
    fi
    export DEBIAN_FRONTEND=noninteractive
    local opts=(-y -q -o Dpkg::Options::=--force-confdef
                -o Dpkg::Options::=--force-confold --no-install-recommends)
    local ok=0
    timeout 300 apt-get install "${opts[@]}" "$pkg" || {
        say "apt-get install failed; updating the package lists once"
        timeout 300 apt-get update -q && timeout 300 apt-get install "${opts[@]}" "$pkg"
    } && ok=1
    if [ "$made_policy" = 1 ]; then
        rm -f "$policy"
        trap - EXIT
    fi
    [ "$ok" = 1 ] || die "cannot install $pkg"
}
if [ ! -x "$memcached" ]; then
    say "installing memcached"
    install_pkg memcached
fi
[ -x "$memcached" ] || die "$memcached not found"
[ -e "$libdir/libevent-2.1.so.7" ] || die "$libdir/libevent-2.1.so.7 not found"

# Name any libevent function memcached imports that we do not export,
# rather than leave it to the dynamic linker's "symbol lookup error".
reference=$(dirname "$0")/abi/symbols/libevent-2.1.so.7.txt
if [ -r "$reference" ] && command -v nm >/dev/null; then
    missing=$(comm -23 \
        <(comm -12 <(nm -D --undefined-only "$memcached" | awk '{sub(/@.*/, "", $2); print $2}' | LC_ALL=C sort -u) \
                   <(grep -v '^#' "$reference" | LC_ALL=C sort -u)) \
        <(nm -D --defined-only "$libdir/libevent-2.1.so.7" | awk '{print $3}' | LC_ALL=C sort -u))
    [ -z "$missing" ] || die "our libevent-2.1.so.7 does not export:" $missing
fi

# --- start it on our library ------------------------------------------------
work=$(mktemp -d /tmp/memcached-test.XXXXXX)
pid=
cleanup() {
    local rc=$?
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
    if [ "$rc" != 0 ] && [ -s "$work/memcached.log" ]; then
        echo "--- memcached output (last 40 lines) ---" >&2
        tail -n 40 "$work/memcached.log" >&2
    fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

user_opt=()
[ "$(id -u)" = 0 ] && user_opt=(-u root)

# A port that was free a moment ago can be taken meanwhile: try a few.
for attempt in 1 2 3 4 5; do
    port=$("$client" --free-port)
    LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
        "$memcached" -l 127.0.0.1 -p "$port" -U 0 -t 4 -m 64 -c 256 \
        "${user_opt[@]}" > "$work/memcached.log" 2>&1 &
    pid=$!
    # Up when it accepts connections; gone if it could not bind or load.
    up=0
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then up=1; break; fi
        sleep 0.1
    done
    [ "$up" = 1 ] && break
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
    say "memcached did not start on port $port (attempt $attempt):"
    cat "$work/memcached.log" >&2
    # Only a lost race for the port is worth another try.
    grep -qiE 'address already in use|failed to listen' "$work/memcached.log" ||
        die "memcached did not start"
done
[ -n "$pid" ] || die "memcached would not start"
say "memcached PID $pid listening on 127.0.0.1:$port"

# --- prove which libevent it runs on ----------------------------------------
maps=$(grep -E 'libevent[^/]*\.so' "/proc/$pid/maps" | awk '{print $6}' | sort -u) || true
[ -n "$maps" ] || die "no libevent mapped in memcached (PID $pid)"
say "libevent objects mapped by memcached:"
printf '  %s\n' $maps
ours=0
for f in $maps; do
    case "$f" in
        "$libdir"/libevent-2.1.so.7*) ours=1 ;;
        "$libdir"/*) ;;
        *) die "memcached mapped $f, which is not from $libdir" ;;
    esac
done
[ "$ours" = 1 ] || die "memcached did not map $libdir/libevent-2.1.so.7"
if grep -q ' /usr/lib/.*libevent' "/proc/$pid/maps"; then
    die "memcached also mapped the system libevent"
fi

# --- drive it ------------------------------------------------------------------
timeout 280 "$client" 127.0.0.1 "$port" 8 300 || die "client failed (rc $?)"
kill -0 "$pid" 2>/dev/null || die "memcached died during the run"
say "ok"

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
LIBDIR=$(cd "${2:?usage: memcached.sh CLIENT LIBDIR}" && pwd -P)
memcached=/usr/bin/memcached
PROG=memcached.sh
. "$(dirname "$0")/programs-lib.sh"

# Also names any libevent function memcached imports that we do not
# export, rather than leave it to the dynamic linker's "symbol lookup
# error".
need_program "$memcached" memcached libevent-2.1.so.7
start_work memcached

# --- start it on our library ------------------------------------------------
user_opt=()
[ "$(id -u)" = 0 ] && user_opt=(-u root)

launch() {
    LD_LIBRARY_PATH=$(ours_ld_path) \
        "$memcached" -l 127.0.0.1 -p "$1" -U 0 -t 4 -m 64 -c 256 \
        "${user_opt[@]}" > "$work/memcached.log" 2>&1 &
    pid=$!
}
FREE_PORT=("$client" --free-port)
start_on_free_port "$memcached" "$work/memcached.log" \
    'address already in use|failed to listen' launch tcp_accepts
say "memcached PID $pid listening on 127.0.0.1:$port"

# --- prove which libevent it runs on ----------------------------------------
prove_ours "$pid" "$LIBDIR" libevent-2.1.so.7

# --- drive it ------------------------------------------------------------------
timeout 280 "$client" 127.0.0.1 "$port" 8 300 || die "client failed (rc $?)"
is_ours "$pid" "$memcached" || die "memcached died during the run"
say "ok"

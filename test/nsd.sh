#!/usr/bin/env bash
# Runs Debian's unmodified /usr/sbin/nsd (the authoritative DNS server) on
# OUR libevent-2.1.so.7 with a private zone, and asks it questions with
# test/programs-client.c.
#
#   nsd.sh CLIENT LIBDIR
#
# nsd forks: a main process, its zone-transfer process and server
# children, each running its own event loop on the base it had before
# the fork or a new one, with signals between them.  Installs nsd with
# apt-get when missing (its service is never started; skipped when it
# cannot be installed: no issue names it).  Proves from /proc/PID/maps
# that every nsd process mapped our libevent, runs the client, reloads
# with SIGHUP and asks again, then checks that SIGTERM ends every process.
# Bounded in time; signals only the processes it started, by PID.
set -euo pipefail
PROG=nsd.sh
. "$(dirname "$0")/programs-lib.sh"

client=${1:?usage: nsd.sh CLIENT LIBDIR}
LIBDIR=$(cd "${2:?usage: nsd.sh CLIENT LIBDIR}" && pwd -P)
nsd=/usr/sbin/nsd
need_program "$nsd" nsd libevent-2.1.so.7 optional
start_work nsd

launch() {
    nsd_setup "$1"
    : > "$work/nsd.log"
    # -d: no daemon, so $! is the main process.  Its early errors go to
    # stderr, the rest to the log file: both end up in nsd.log.
    LD_LIBRARY_PATH=$(ours_ld_path) \
        "$nsd" -d -c "$work/nsd.conf" >> "$work/nsd.log" 2>&1 &
    pid=$!
}
serving() { grep -q 'nsd started' "$work/nsd.log"; }
FREE_PORT=("$client" free-port)
start_on_free_port "$nsd" "$work/nsd.log" \
    'address already in use|can.t bind' launch serving
say "nsd PID $pid serving 127.0.0.1:$port"

# Every nsd process: the one we started and its descendants.
procs=$(family "$pid")
[ "$(echo "$procs" | wc -w)" -ge 2 ] || die "nsd did not fork (processes: $procs)"
for p in $procs; do
    track "$p" "$nsd"
    prove_ours "$p" "$LIBDIR" libevent-2.1.so.7
done

timeout 100 "$client" dns "$port" 100 || die "client failed (rc $?)"

# SIGHUP: the main process reloads the zone and serves on.
kill -HUP "$pid"
for _ in $(seq 100); do
    grep -q 'SIGHUP received' "$work/nsd.log" && break
    sleep 0.1
done
grep -q 'SIGHUP received' "$work/nsd.log" || die "SIGHUP was not noticed"
is_ours "$pid" "$nsd" || die "nsd died on SIGHUP"
timeout 100 "$client" dns "$port" 10 || die "client failed after SIGHUP (rc $?)"

# SIGTERM: every process of the family ends, the one we started with
# status 0.
term_family "$pid" "$nsd"
grep -q 'shutting down' "$work/nsd.log" || die "nsd did not log its shutdown"
say "ok"

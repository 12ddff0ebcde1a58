#!/usr/bin/env bash
# Runs Debian's unmodified /usr/sbin/inetd (openbsd-inetd) on OUR
# libevent-2.1.so.7 with a private configuration: one TCP service on
# 127.0.0.1 that runs /bin/cat, so every connection is an echo.
#
#   inetd.sh CLIENT LIBDIR
#
# inetd is all events and signals: a listener event per service, SIGCHLD
# to reap each /bin/cat it forks, SIGHUP to reread its configuration.
# Installs openbsd-inetd with apt-get when missing (its service is never
# started; skipped when it cannot be installed or we are not root, which
# inetd needs to run services as a user: no issue names it).  Proves from
# /proc/PID/maps that it mapped our libevent, echoes through 16 connections
# at once, sends SIGHUP and echoes again, and checks that every child was
# reaped.  Bounded in time; signals only the inetd it started, by PID.
set -euo pipefail
PROG=inetd.sh
. "$(dirname "$0")/programs-lib.sh"

client=${1:?usage: inetd.sh CLIENT LIBDIR}
LIBDIR=$(cd "${2:?usage: inetd.sh CLIENT LIBDIR}" && pwd -P)
inetd=/usr/sbin/inetd
[ "$(id -u)" = 0 ] || skip "inetd runs its services as a user: needs root"
need_program "$inetd" openbsd-inetd libevent-2.1.so.7 optional
start_work inetd

# The children inetd has now (its /bin/cat processes, until reaped).
children() { children_of "$pid" | wc -l; }
# Wait until no child is left: each exit was noticed through SIGCHLD.
all_reaped() {
    for _ in $(seq 100); do
        [ "$(children)" = 0 ] && return 0
        sleep 0.1
    done
    die "inetd left $(children) children unreaped: $(children_of "$pid" | tr '\n' ' ')"
}

launch() {
    echo "127.0.0.1:$1 stream tcp nowait root /bin/cat cat" > "$work/inetd.conf"
    # -d: stay in the foreground and log to stderr.
    LD_LIBRARY_PATH=$(ours_ld_path) \
        "$inetd" -d "$work/inetd.conf" > "$work/inetd.log" 2>&1 &
    pid=$!
}
FREE_PORT=("$client" free-port)
start_on_free_port "$inetd" "$work/inetd.log" 'address already in use' \
    launch tcp_accepts
say "inetd PID $pid serving 127.0.0.1:$port"
prove_ours "$pid" "$LIBDIR" libevent-2.1.so.7
all_reaped    # the probe connection's cat

timeout 100 "$client" echo "$port" 16 65536 || die "client failed (rc $?)"
all_reaped
timeout 100 "$client" echo "$port" 1 1 || die "client failed (rc $?)"
all_reaped

# SIGHUP: inetd rereads the file; move the service to a second port and
# check that the old one is closed and the new one echoes.
old=$port
for attempt in 1 2 3 4 5; do
    port=$("$client" free-port)
    [ "$port" != "$old" ] && break
done
echo "127.0.0.1:$port stream tcp nowait root /bin/cat cat" > "$work/inetd.conf"
kill -HUP "$pid"
moved=0
for _ in $(seq 100); do
    if tcp_accepts "$port"; then moved=1; break; fi
    sleep 0.1
done
[ "$moved" = 1 ] || die "the service did not move to port $port after SIGHUP"
tcp_accepts "$old" &&
    die "port $old still accepts after SIGHUP"
timeout 100 "$client" echo "$port" 16 65536 || die "client failed after SIGHUP (rc $?)"
all_reaped
is_ours "$pid" "$inetd" || die "inetd died"
say "ok"

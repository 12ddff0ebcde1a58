#!/usr/bin/env bash
# Runs Debian's unmodified /usr/sbin/unbound on OUR libevent-2.1.so.7 and
# asks it questions with test/programs-client.c.
#
#   unbound.sh CLIENT LIBDIR
#
# unbound drives each of its threads from its own event base: UDP and TCP
# listeners, per-query timers and its signal handlers.  It serves a local
# zone here, so no query leaves the machine.  Installs unbound with
# apt-get when missing (its service is never started; skipped when it
# cannot be installed: no issue names it).  Proves from /proc/PID/maps
# that it mapped our libevent, runs the client, then checks that SIGHUP
# (reload) and SIGTERM (clean exit) go through our signal handling.
# Bounded in time; signals only the unbound it started, by PID.
set -euo pipefail
PROG=unbound.sh
. "$(dirname "$0")/programs-lib.sh"

client=${1:?usage: unbound.sh CLIENT LIBDIR}
LIBDIR=$(cd "${2:?usage: unbound.sh CLIENT LIBDIR}" && pwd -P)
unbound=/usr/sbin/unbound
need_program "$unbound" unbound libevent-2.1.so.7 optional
start_work unbound

write_conf() {
    cat > "$work/unbound.conf" <<EOF
server:
    interface: 127.0.0.1
    port: $1
    do-ip6: no
    do-daemonize: no
    chroot: ""
    username: ""
    directory: "$work"
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 1
    num-threads: 2
    so-reuseport: no
    access-control: 127.0.0.0/8 allow
    auto-trust-anchor-file: ""
    local-zone: "example.test." static
    local-data: "a.example.test. 60 IN A 10.1.2.3"
    local-data: 'b.example.test. 60 IN TXT "hello"'
remote-control:
    control-enable: no
EOF
}

launch() {
    write_conf "$1"
    LD_LIBRARY_PATH=$(ours_ld_path) \
        "$unbound" -d -c "$work/unbound.conf" > "$work/unbound.log" 2>&1 &
    pid=$!
}
serving() { grep -q 'start of service' "$work/unbound.log"; }
FREE_PORT=("$client" free-port)
start_on_free_port "$unbound" "$work/unbound.log" \
    'address already in use|could not open ports' launch serving
say "unbound PID $pid serving 127.0.0.1:$port"
prove_ours "$pid" "$LIBDIR" libevent-2.1.so.7

timeout 100 "$client" dns "$port" 100 || die "client failed (rc $?)"

# SIGHUP: unbound leaves its loops, rereads the configuration, and serves
# again from new event bases.
kill -HUP "$pid"
for _ in $(seq 100); do
    [ "$(grep -c 'start of service' "$work/unbound.log")" -ge 2 ] && break
    sleep 0.1
done
[ "$(grep -c 'start of service' "$work/unbound.log")" -ge 2 ] ||
    die "no restart after SIGHUP"
is_ours "$pid" "$unbound" || die "unbound died on SIGHUP"
timeout 100 "$client" dns "$port" 10 || die "client failed after SIGHUP (rc $?)"

# SIGTERM: a clean exit, status 0, with its statistics printed.
signal_exit "$pid" "$unbound" TERM
grep -q 'server stats for thread' "$work/unbound.log" ||
    die "unbound did not print its statistics on the way out"
say "ok"

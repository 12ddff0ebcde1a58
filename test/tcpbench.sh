#!/usr/bin/env bash
# Runs Debian's unmodified /usr/bin/tcpbench (OpenBSD's TCP/UDP benchmark)
# on OUR libevent-2.1.so.7, server and client both, over 127.0.0.1.
#
#   tcpbench.sh CLIENT LIBDIR    CLIENT: programs-client, for a free port
#
# tcpbench moves data from read and write events and reports from a
# persistent timer.  Installs tcpbench with apt-get when missing (skipped
# when it cannot be installed: no issue names it).  Proves from
# /proc/PID/maps that server and client mapped our libevent, runs a 3 s
# TCP test with 4 connections and a 2 s UDP test, and checks that the
# client exits 0 having reported a non-zero rate for every second and
# that the server counted the traffic.  Bounded in time; signals only the
# processes it started, by PID.
set -euo pipefail
PROG=tcpbench.sh
. "$(dirname "$0")/programs-lib.sh"

client=${1:?usage: tcpbench.sh CLIENT LIBDIR}
LIBDIR=$(cd "${2:?usage: tcpbench.sh CLIENT LIBDIR}" && pwd -P)
tcpbench=/usr/bin/tcpbench
need_program "$tcpbench" tcpbench libevent-2.1.so.7 optional
start_work tcpbench

# The server of a pair, with the pair's flags; its output in NAME-server.log.
launch() {
    LD_LIBRARY_PATH=$(ours_ld_path) "$tcpbench" -4 "${flags[@]}" -s -p "$1" \
        > "$work/$name-server.log" 2>&1 &
    pid=$!
}
# Listening; tested without connecting, since the server would report a
# probe connection.  A UDP server has nothing to tell: give it a moment.
listening() {
    if [ "$name" = udp ] || ! command -v ss >/dev/null; then
        sleep 0.5
        return 0
    fi
    ss -ltn "sport = :$1" 2>/dev/null | grep -q LISTEN
}
FREE_PORT=("$client" free-port)

# run_pair NAME SECONDS FLAGS...: a server and a client with FLAGS.
run_pair() {
    local secs=$2 spid cpid status
    name=$1
    shift 2
    flags=("$@")
    start_on_free_port "$tcpbench" "$work/$name-server.log" \
        'address already in use' launch listening
    spid=$pid
    prove_ours "$spid" "$LIBDIR" libevent-2.1.so.7

    LD_LIBRARY_PATH=$(ours_ld_path) "$tcpbench" -4 "$@" -p "$port" \
        -t "$secs" 127.0.0.1 > "$work/$name-client.log" 2>&1 &
    cpid=$!
    track "$cpid" "$tcpbench"
    sleep 0.5
    prove_ours "$cpid" "$LIBDIR" libevent-2.1.so.7
    for _ in $(seq $(( (secs + 10) * 10 ))); do
        is_ours "$cpid" "$tcpbench" || break
        sleep 0.1
    done
    is_ours "$cpid" "$tcpbench" && die "$name client still runs $((secs + 10)) s later"
    status=0
    wait "$cpid" || status=$?
    [ "$status" = 0 ] || die "$name client exited with status $status"
    is_ours "$spid" "$tcpbench" || die "$name server died"
    stop_tracked
    wait "$spid" 2>/dev/null || true
}

# positive_rates all|any WHAT LOG: the rate in every (or at least one)
# per-second report of LOG is positive.  TCP reports end with a line
# "Conn: N Mbps: RATE ...", UDP reports are "Elapsed: MS Mbps: RATE ...".
# A client must show traffic every second; a server may report an idle
# second after its client stopped.
positive_rates() {
    awk -v mode="$1" -v what="$2" '
        /^(Conn|Elapsed):/ { n++; if ($4 + 0 > 0) good++ }
        END {
            if (n < 1) { print what ": no report lines"; exit 1 }
            if (mode == "all" ? good < n : good < 1) {
                print what ": " n - good " of " n " reports show no traffic"
                exit 1
            }
            print what ": " good " of " n " reports with traffic"
        }' "$3"
}

run_pair tcp 3 -n 4
positive_rates all "TCP client" "$work/tcp-client.log" || die "TCP client reports"
grep -q '^Conn: *4 ' "$work/tcp-client.log" || die "the TCP client did not report 4 connections"
positive_rates any "TCP server" "$work/tcp-server.log" || die "TCP server reports"

run_pair udp 2 -u
positive_rates all "UDP client" "$work/udp-client.log" || die "UDP client reports"
positive_rates any "UDP server" "$work/udp-server.log" || die "UDP server reports"
grep -q 'Tx PPS' "$work/udp-client.log" || die "the UDP client did not report sending"
grep -q 'Rx PPS' "$work/udp-server.log" || die "the UDP server did not report receiving"
say "ok"

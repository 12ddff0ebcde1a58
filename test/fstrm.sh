#!/usr/bin/env bash
# Runs Debian's unmodified /usr/bin/fstrm_capture (fstrm-bin, the Frame
# Streams collector used with dnstap) on OUR libevent-2.1.so.7 and feeds
# it with fstrm_replay over 127.0.0.1 and over a Unix socket.
#
#   fstrm.sh CLIENT LIBDIR    CLIENT: programs-client (free port, input)
#
# fstrm_capture is an evconnlistener (evconnlistener_new_bind) handing
# each connection to a bufferevent with a 256 KiB read high watermark; it
# parses frames with evbuffer_copyout/peek/pullup/drain, answers the
# handshake with bufferevent_write, and on SIGINT its sigaction handler
# calls event_base_loopexit.  fstrm_replay (the sender, one thread) and
# fstrm_dump do not link libevent at all: they are independent peers.
# Installs fstrm-bin with apt-get when missing (skipped when it cannot be
# installed: no issue names it).  Proves from /proc/PID/maps that each
# capture mapped our libevent; sends 2000 frames of 1..4000 bytes and checks
# that the capture is byte-identical to the input over TCP and a Unix
# socket, holds each frame 4 times after 4 TCP senders at once, and exits 0
# on SIGINT having logged the right counts.  Bounded in time; signals only
# the processes it started, by PID.
set -euo pipefail
PROG=fstrm.sh
. "$(dirname "$0")/programs-lib.sh"

client=${1:?usage: fstrm.sh CLIENT LIBDIR}
LIBDIR=$(cd "${2:?usage: fstrm.sh CLIENT LIBDIR}" && pwd -P)
capture=/usr/bin/fstrm_capture
replay=/usr/bin/fstrm_replay
need_program "$capture" fstrm-bin libevent-2.1.so.7 optional
[ -x "$replay" ] || skip "$replay not found"
start_work fstrm

# The input: a START frame (content type "test", 24 bytes), the data
# frames, a STOP frame (12 bytes).  The capture writes its own START and
# STOP around what it receives, so one sender must give the same bytes.
frames=2000
in=$work/in.fstrm
"$client" frames "$in" "$frames" 20250101 || die "cannot write $in"
size=$(stat -c %s "$in")
data=$((size - 36))    # the data frames with their length words

# start_capture WHERE...: fstrm_capture on -a ADDR -p PORT or -u PATH,
# writing $out, its output in $log.  -d -d -d: it logs each connection's
# end as "closing (read N frames, B bytes)".  It creates $out (with the
# START frame) before it binds.
start_capture() {
    LD_LIBRARY_PATH=$(ours_ld_path) "$capture" -d -d -d -t test "$@" \
        -w "$out" > "$log" 2>&1 &
    pid=$!
    exec_wait "$pid"
}
launch() { start_capture -a 127.0.0.1 -p "$1"; }
FREE_PORT=("$client" free-port)

# send N ADDRESS...: N fstrm_replay at once; each must exit 0 within 30 s
# and the capture must log N connections that delivered every frame.
send() {
    local n=$1 i status alive done_n=0 senders=()
    shift
    for i in $(seq "$n"); do
        LD_LIBRARY_PATH=$(ours_ld_path) "$replay" -t test -r "$in" "$@" \
            > "$work/replay-$i.log" 2>&1 &
        senders+=($!)
        track "$!" "$replay"
        exec_wait "$!"
    done
    for _ in $(seq 300); do
        alive=0
        for i in "${senders[@]}"; do is_ours "$i" "$replay" && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for i in "${senders[@]}"; do
        is_ours "$i" "$replay" && die "fstrm_replay $i still runs after 30 s"
        status=0
        wait "$i" || status=$?
        [ "$status" = 0 ] || die "fstrm_replay exited with status $status"
    done
    for _ in $(seq 100); do
        done_n=$(grep -c "closing (read $frames frames, $data bytes)" "$log") || true
        [ "$done_n" -ge "$n" ] && break
        sleep 0.1
    done
    [ "$done_n" = "$n" ] || die "capture logged $done_n of $n complete connections"
}

# stop_capture WANT_FRAMES WANT_BYTES: SIGINT, a clean exit, the summary.
stop_capture() {
    is_ours "$pid" "$capture" || die "fstrm_capture died"
    signal_exit "$pid" "$capture" INT
    # fstrm 0.6.1: "(wrote N frames, B bytes)"; later: "(suffix S, wrote ...".
    grep -qE "closed output file $out \((.*, )?wrote $1 frames, $2 bytes\)" "$log" ||
        die "capture did not log writing $1 frames, $2 bytes"
    say "capture wrote $1 frames, $2 bytes"
}

# a. TCP, one sender.  The readiness probe is an empty connection, which
# the capture must also survive.
out=$work/tcp1.fstrm log=$work/tcp1.log
start_on_free_port "$capture" "$log" 'failed to setup event loop' launch tcp_accepts
prove_ours "$pid" "$LIBDIR" libevent-2.1.so.7
send 1 -a 127.0.0.1 -p "$port"
stop_capture $((frames + 2)) "$size"
cmp "$in" "$out" || die "TCP: the capture differs from the input"

# b. TCP, 4 senders at once: their frames interleave, but each whole.
out=$work/tcp4.fstrm log=$work/tcp4.log
start_on_free_port "$capture" "$log" 'failed to setup event loop' launch tcp_accepts
prove_ours "$pid" "$LIBDIR" libevent-2.1.so.7
send 4 -a 127.0.0.1 -p "$port"
stop_capture $((4 * frames + 2)) $((24 + 4 * data + 12))
[ "$(stat -c %s "$out")" = $((24 + 4 * data + 12)) ] || die "TCP x4: wrong size"
if [ -x /usr/bin/fstrm_dump ]; then
    # It prints each data frame as one line: the input's lines, 4 times each.
    /usr/bin/fstrm_dump "$in" 2>/dev/null | LC_ALL=C sort |
        awk '{ for (i = 0; i < 4; i++) print }' > "$work/want.txt"
    /usr/bin/fstrm_dump "$out" 2>/dev/null | LC_ALL=C sort > "$work/got.txt"
    cmp -s "$work/want.txt" "$work/got.txt" || die "TCP x4: the frames differ"
    say "fstrm_dump: the $((4 * frames)) frames are the input's, 4 times"
fi

# c. A Unix socket, one sender.
out=$work/unix.fstrm log=$work/unix.log sock=$work/capture.sock
start_capture -u "$sock"
track "$pid" "$capture"
for _ in $(seq 100); do    # the socket file exists, and listens (ss)
    is_ours "$pid" "$capture" || die "fstrm_capture did not start on $sock"
    [ -S "$sock" ] && { ! command -v ss >/dev/null ||
        ss -lx | grep -qF "$sock"; } && break
    sleep 0.1
done
[ -S "$sock" ] || die "fstrm_capture did not create $sock"
prove_ours "$pid" "$LIBDIR" libevent-2.1.so.7
send 1 -u "$sock"
stop_capture $((frames + 2)) "$size"
cmp "$in" "$out" || die "Unix socket: the capture differs from the input"
say "ok"

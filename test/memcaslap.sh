#!/usr/bin/env bash
# Runs Debian's unmodified /usr/bin/memcaslap (libmemcached-tools' load
# generator) against Debian's unmodified /usr/bin/memcached, BOTH on OUR
# libevent-2.1.so.7, over 127.0.0.1.
#
#   memcaslap.sh CLIENT LIBDIR    CLIENT: programs-client, for a free port
#
# memcaslap runs one event base per thread (event_base_new), each with a
# persistent event per connection that it moves between read and write
# (event_del, event_set, event_base_set, event_add), a 1 s timer per
# thread re-armed from its own callback, and event_base_loopbreak when
# the run is over; memcached is the server side of the same traffic.
# Installs libmemcached-tools and memcached when missing (memcached's
# service is never started; skipped when they cannot be installed: no
# issue names them).  Proves from /proc/PID/maps that both mapped our
# libevent and no other, then runs memcaslap four times, each verifying
# the values it reads back: a 2 s run with multi-gets (-d 10) while its
# maps are read, then three runs of an exact number of operations: plain
# ASCII, more threads and connections with multi-gets, binary protocol
# with multi-gets.  Each report must show no get miss, verify miss or
# verify failure, and as many operations as asked; memcached's stats must
# agree: for the counted runs exactly (cmd_get, cmd_set, get_hits, items
# stored, bytes both ways, one connection per concurrency), for the timed
# run within what can still be in flight when it stops.  Then every
# connection must be closed, and SIGTERM must end memcached with status 0.
# Bounded in time; signals only the processes it started, by PID.
set -euo pipefail
PROG=memcaslap.sh
. "$(dirname "$0")/programs-lib.sh"

client=${1:?usage: memcaslap.sh CLIENT LIBDIR}
LIBDIR=$(cd "${2:?usage: memcaslap.sh CLIENT LIBDIR}" && pwd -P)
memcaslap=/usr/bin/memcaslap
memcached=/usr/bin/memcached
need_program "$memcaslap" libmemcached-tools libevent-2.1.so.7 optional
need_program "$memcached" memcached libevent-2.1.so.7 optional
start_work memcaslap
# In an ASan build ctest preloads the ASan runtime: both programs, on our
# instrumented library, keep it; the shell's own tools run without.
preload=${LD_PRELOAD-}
unset LD_PRELOAD
sanitizer_re='AddressSanitizer|runtime error:|LeakSanitizer'

# --- memcached ------------------------------------------------------------------
user_opt=()
[ "$(id -u)" = 0 ] && user_opt=(-u nobody)
mlog=$work/memcached.log
launch() {
    # -m 1024: room for every item of the runs, so that no get may miss.
    LD_PRELOAD=$preload LD_LIBRARY_PATH=$(ours_ld_path) \
        "$memcached" -l 127.0.0.1 -p "$1" -U 0 -t 2 -m 1024 -c 1024 \
        "${user_opt[@]}" > "$mlog" 2>&1 &
    pid=$!
}
FREE_PORT=("$client" free-port)
start_on_free_port "$memcached" "$mlog" 'address already in use|failed to listen' \
    launch tcp_accepts
mpid=$pid
say "memcached PID $mpid listening on 127.0.0.1:$port"
prove_ours "$mpid" "$LIBDIR" libevent-2.1.so.7

# stats NAME: memcached's "stats" into $work/NAME.stats ("KEY VALUE"
# lines); the answer's size in bytes, as memcached counts what it wrote,
# in $resp_bytes.
stats() {
    local line n=0 ended=0
    exec 3<>"/dev/tcp/127.0.0.1/$port" || die "cannot connect to memcached"
    printf 'stats\r\n' >&3
    : > "$work/$1.stats"
    while IFS= read -r -t 5 -u 3 line; do
        n=$((n + ${#line} + 1))
        line=${line%$'\r'}
        [ "$line" = END ] && { ended=1; break; }
        echo "${line#STAT }" >> "$work/$1.stats"
    done
    exec 3<&-
    [ "$ended" = 1 ] || die "memcached's stats did not end with END"
    resp_bytes=$n
}
# mstat NAME KEY: KEY's value in $work/NAME.stats.
mstat() {
    local v
    v=$(awk -v k="$2" '$1 == k { print $2; exit }' "$work/$1.stats")
    [ -n "$v" ] || die "no $2 in memcached's stats"
    echo "$v"
}
# delta KEY: KEY's growth from before.stats to after.stats.
delta() { echo $(( $(mstat after "$1") - $(mstat before "$1") )); }
# report NAME KEY: KEY's value in memcaslap's report NAME.out ("KEY: N").
report() {
    local v
    v=$(awk -F': ' -v k="$2" '$1 == k { print $2; exit }' "$work/$1.out")
    case "$v" in
        ''|*[!0-9]*) die "memcaslap $1: no number for '$2' in its report" ;;
    esac
    echo "$v"
}
expect() { [ "$2" = "$3" ] || die "$1: $2, expected $3"; }

# slap NAME PROVE ARGS...: memcaslap with ARGS (-T, -c and the run) against
# memcached, its report in NAME.out; when PROVE is 1, its maps are read
# while it runs.  Checks its status, stderr and report; leaves before.stats
# and after.stats for the cross-checks.
slap() {
    local name=$1 prove=$2 spid status=0 mapped=0 tasks
    shift 2
    stats before
    before_resp=$resp_bytes
    LD_PRELOAD=$preload LD_LIBRARY_PATH=$(ours_ld_path) \
        "$memcaslap" -s "127.0.0.1:$port" "$@" \
        > "$work/$name.out" 2> "$work/$name.err.log" &
    spid=$!
    track "$spid" "$memcaslap"
    exec_wait "$spid"
    if [ "$prove" = 1 ]; then
        for _ in $(seq 200); do
            tasks=("/proc/$spid/task"/*)
            grep -q 'libevent' "/proc/$spid/maps" 2>/dev/null &&
                [ "${#tasks[@]}" -gt 2 ] && { mapped=1; break; }
            is_ours "$spid" "$memcaslap" || break
            sleep 0.05
        done
        [ "$mapped" = 1 ] || die "memcaslap $name ended or did not start its threads before its maps could be read"
        prove_ours "$spid" "$LIBDIR" libevent-2.1.so.7
        tasks=("/proc/$spid/task"/*)
        say "memcaslap $name: PID $spid runs ${#tasks[@]} threads"
    fi
    for _ in $(seq 600); do is_ours "$spid" "$memcaslap" || break; sleep 0.1; done
    is_ours "$spid" "$memcaslap" && die "memcaslap $name still runs after 60 s"
    wait "$spid" || status=$?
    if grep -E "$sanitizer_re" "$work/$name.err.log" >&2; then
        die "sanitizer report from memcaslap $name"
    fi
    [ "$status" = 0 ] || die "memcaslap $name exited with status $status"
    if grep -v 'Could not set CPU Affinity' "$work/$name.err.log" >&2; then
        die "memcaslap $name wrote the errors above"
    fi
    is_ours "$mpid" "$memcached" || die "memcached died during memcaslap $name"
    stats after
    # The report: no misses, no verification failure, Ops = gets + sets.
    for k in get_misses verify_misses verify_failed; do
        expect "memcaslap $name: $k" "$(report "$name" "$k")" 0
    done
    get=$(report "$name" cmd_get)
    set=$(report "$name" cmd_set)
    ops=$(sed -n 's/^Run time: .* Ops: \([0-9]*\) .*/\1/p' "$work/$name.out")
    expect "memcaslap $name: Ops (cmd_get $get + cmd_set $set)" "$ops" $((get + set))
    if [ "$get" = 0 ] || [ "$set" = 0 ]; then
        die "memcaslap $name: cmd_get $get, cmd_set $set"
    fi
    # Every get memcached saw found its item.
    expect "memcaslap $name: memcached's get_misses growth" "$(delta get_misses)" 0
    expect "memcaslap $name: memcached's get_hits growth" "$(delta get_hits)" "$(delta cmd_get)"
}

# counted NAME CONC OPS ARGS...: a run of exactly OPS operations over CONC
# connections; memcached's counters must grow by exactly what the report
# says: cmd_get, cmd_set, items stored (total_items: every set stored;
# not curr_items, since each memcaslap starts its key prefixes anew and a
# later run may replace an earlier run's item), the bytes memcaslap wrote
# and read (plus our "stats\r\n" and the first stats answer), and CONC
# connections (plus our second stats connection).
counted() {
    local name=$1 conc=$2 ops=$3
    shift 3
    slap "$name" 0 -c "$conc" -x "$ops" "$@"
    expect "memcaslap $name: Ops" "$ops" "$(sed -n 's/^Run time: .* Ops: \([0-9]*\) .*/\1/p' "$work/$name.out")"
    expect "memcaslap $name: memcached's cmd_get growth" "$(delta cmd_get)" "$get"
    expect "memcaslap $name: memcached's cmd_set growth" "$(delta cmd_set)" "$set"
    expect "memcaslap $name: memcached's total_items growth (items stored)" \
        "$(delta total_items)" "$set"
    expect "memcaslap $name: memcached's bytes_read growth" "$(delta bytes_read)" \
        $(( $(report "$name" written_bytes) + 7 ))
    expect "memcaslap $name: memcached's bytes_written growth" "$(delta bytes_written)" \
        $(( $(report "$name" read_bytes) + before_resp ))
    expect "memcaslap $name: memcached's total_connections growth" \
        "$(delta total_connections)" $((conc + 1))
    say "memcaslap $name ($*, -c $conc): $get gets, $set sets, all verified, memcached agrees exactly"
}

# 1. Timed, 2 threads x 16 connections, multi-gets of 10 keys, 10% of the
# gets verified; its maps are read while it runs.  memcaslap counts a
# command when it builds it: one built but not yet sent when time is up
# is in its report only, so memcached's growth may fall short by the
# commands in flight, one per connection (10 gets for a multi-get).
slap timed 1 -T 2 -c 32 -t 2s -d 10 -v 0.1
dg=$(delta cmd_get) ds=$(delta cmd_set)
# within WHAT GOT WANT SLACK: WANT - SLACK <= GOT <= WANT.
within() {
    if [ "$2" -gt "$3" ] || [ "$2" -lt $(($3 - $4)) ]; then
        die "memcaslap timed: $1 $2, against $3"
    fi
}
within "memcached's cmd_get growth" "$dg" "$get" $((32 * 10))
within "memcached's cmd_set growth" "$ds" "$set" 32
di=$(delta total_items)
within "memcached's total_items growth (items stored), for its $ds sets," "$di" "$ds" 32
expect "memcaslap timed: memcached's total_connections growth" "$(delta total_connections)" 33
say "memcaslap timed (2 s, -T 2 -c 32 -d 10 -v 0.1): $get gets, $set sets; memcached counted $dg and $ds"

# 2-4. Counted runs, every get verified.
counted ascii 32 32000 -T 2 -v 1
counted multiget 64 64000 -T 4 -d 16 -v 1
counted binary 16 16000 -T 2 -B -d 4 -v 1

# Every connection memcaslap opened is closed (ours is the one left).
for _ in $(seq 50); do
    stats end
    [ "$(mstat end curr_connections)" = 1 ] && break
    sleep 0.1
done
expect "memcached's curr_connections after the runs" "$(mstat end curr_connections)" 1

if grep -E "$sanitizer_re" "$mlog" >&2; then die "sanitizer report from memcached"; fi
signal_exit "$mpid" "$memcached" TERM
if grep -E "$sanitizer_re" "$mlog" >&2; then die "sanitizer report from memcached"; fi
[ -s "$mlog" ] && die "memcached wrote: $(head -c 500 "$mlog")"
say "ok"

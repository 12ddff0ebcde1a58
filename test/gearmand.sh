#!/usr/bin/env bash
# Runs Debian's unmodified /usr/sbin/gearmand (the Gearman job server) on
# OUR libevent-2.1.so.7 and libevent_pthreads-2.1.so.7, driven over
# 127.0.0.1 by Debian's gearman and gearadmin (gearman-tools).
#
#   gearmand.sh CLIENT LIBDIR    CLIENT: programs-client, for a free port
#
# gearmand turns on libevent's pthreads locking and runs a main event
# base that accepts connections plus 3 I/O threads, each with its own
# base, woken through pipes; a job goes from a client's thread to a
# worker's.  Installs both packages when missing (their service is never
# started; skipped when they cannot be installed: no issue names them).
# Proves from /proc/PID/maps that gearmand mapped both our libraries and
# no other libevent.  Two workers for each of "rev" (rev) and "upper"
# (tr) serve 6 clients at once: 160 one-line jobs and two 60 kB jobs,
# every result exactly right; 40 background jobs for "note", which has
# no worker yet, must show queued in gearadmin --status and then all run
# on a late worker.  Checks gearadmin --workers and --getpid, that every
# I/O thread served connections, and that SIGTERM ends gearmand with
# status 0 (its main returns 0 for GEARMAND_SHUTDOWN, which SIGTERM asks
# for), closing a connection still open.  Bounded in time; signals only
# the processes it started, by PID.  Jobs stay under 64 kB: a gearman
# worker writes a whole job to its command before reading any output, so
# one of some 130 kB or more hangs on any libevent.
set -euo pipefail
PROG=gearmand.sh
. "$(dirname "$0")/programs-lib.sh"

client=${1:?usage: gearmand.sh CLIENT LIBDIR}
LIBDIR=$(cd "${2:?usage: gearmand.sh CLIENT LIBDIR}" && pwd -P)
gearmand=/usr/sbin/gearmand
gearman=/usr/bin/gearman
gearadmin=/usr/bin/gearadmin
need_program "$gearmand" gearman-job-server libevent-2.1.so.7 optional
[ -e "$LIBDIR/libevent_pthreads-2.1.so.7" ] || die "$LIBDIR/libevent_pthreads-2.1.so.7 not found"
check_exports "$gearmand" "$LIBDIR" libevent_pthreads-2.1.so.7 optional
if [ ! -x "$gearman" ] || [ ! -x "$gearadmin" ]; then
    install_pkg gearman-tools optional
    for f in "$gearman" "$gearadmin"; do [ -x "$f" ] || skip "$f not found"; done
fi
start_work gearmand
log=$work/gearmand.log
: > "$work/gearmand.conf"    # not /etc/gearmand.conf

# Foreground, in-memory queue only; DEBUG tells of a busy port
# ("Retrying bind(Address already in use)") and of each thread's work.
launch() {
    : > "$log"
    LD_LIBRARY_PATH=$(ours_ld_path) "$gearmand" --config-file="$work/gearmand.conf" \
        --listen=127.0.0.1 --port="$1" --threads=3 --queue-type=builtin \
        --log-file="$log" --verbose=DEBUG --pid-file="$work/gearmand.pid" \
        > "$work/gearmand-stderr.log" 2>&1 &
    pid=$!
}
serving() { grep -q 'Entering main event loop' "$log"; }
FREE_PORT=("$client" free-port)
start_on_free_port "$gearmand" "$log" 'already in use' launch serving
gpid=$pid
tasks=("/proc/$gpid/task"/*)
say "gearmand PID $gpid serving 127.0.0.1:$port with ${#tasks[@]} threads"
prove_ours "$gpid" "$LIBDIR" libevent-2.1.so.7
prove_ours "$gpid" "$LIBDIR" libevent_pthreads-2.1.so.7
grep -q 'Creating 3 threads' "$log" || die "gearmand did not log creating 3 I/O threads"
say "$(grep -o 'Method for libevent: [a-z_]*' "$log" || echo 'no backend logged')"

admin() { timeout 10 "$gearadmin" -h 127.0.0.1 -p "$port" "$@"; }
# The function lines of --status ("NAME QUEUED RUNNING WORKERS"), sorted.
status() { admin --status | grep -v '^\.$' | LC_ALL=C sort; }
# How many workers --workers lists ("FD IP ID : FUNCTION") for FUNCTION.
workers_for() { admin --workers | grep -c -E "^[0-9]+ 127\.0\.0\.1 [^ ]+ : $1 *$" || true; }
# wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds, gearmand
# runs; COMMAND may set $seen to what it saw, for the message.
wait_for() {
    local secs=$1 what=$2
    shift 2
    seen=
    for _ in $(seq $((secs * 10))); do
        is_ours "$gpid" "$gearmand" || die "gearmand died while waiting for $what"
        "$@" && return 0
        sleep 0.1
    done
    die "no $what after $secs s${seen:+; last seen: $(echo "$seen" | tr '\t\n' ' |')}"
}

# start_worker NAME FUNCTION COMMAND...: a gearman worker, output NAME.log.
# Workers stop before gearmand, even on failure: without a server they
# retry in a busy loop, each repeating its error (kept once in the log).
workers=()
wlogs=()
stop_workers() {
    local w f left=
    for w in "${workers[@]}"; do
        is_ours "$w" "$gearman" && kill -TERM "$w" 2>/dev/null
        for _ in $(seq 50); do is_ours "$w" "$gearman" || break; sleep 0.1; done
        if is_ours "$w" "$gearman"; then left="$left $w"; else wait "$w" 2>/dev/null || true; fi
    done
    for f in "${wlogs[@]}"; do awk '!seen[$0]++' "$f" > "$f.1" && mv "$f.1" "$f"; done
    [ -z "$left" ] || { say "workers$left still run 5 s after SIGTERM"; return 1; }
}
trap 'rc=$?; stop_workers || true; set +e; (exit "$rc"); on_exit' EXIT
start_worker() {
    local name=$1 func=$2
    shift 2
    "$gearman" -h 127.0.0.1 -p "$port" -w -f "$func" -- "$@" > "$work/$name.log" 2>&1 &
    track "$!" "$gearman"
    workers+=("$!")
    wlogs+=("$work/$name.log")
}
start_worker rev1 rev rev
start_worker rev2 rev rev
start_worker upper1 upper tr a-z A-Z
start_worker upper2 upper tr a-z A-Z
registered() {
    seen=$(admin --workers) || true
    [ "$(workers_for rev)" = 2 ] && [ "$(workers_for upper)" = 2 ]
}
wait_for 10 "2 rev and 2 upper workers in gearadmin --workers" registered
say "4 workers registered"

# The clients' data: 40 lines each for 4 line-per-job clients, 60 kB for
# 2 one-job clients, 20 lines each for 2 background clients.
for c in 1 2 3 4; do
    for i in $(seq 40); do echo "client $c job $i: Quick Brown Fox $(( (c * 7919 + i * 104729) % 10007 ))"; done > "$work/in$c"
done
seq -f 'line %g of a big job, In Mixed Case .........' 1 1300 > "$work/in5"
seq -f 'another big job, line %g, STILL mixed case ..' 1 1300 > "$work/in6"
for c in 7 8; do seq -f "background $c note %g" 1 20 > "$work/in$c"; done

# run_client N FUNCTION FLAGS...: gearman on inN, its results in outN.
cpids=()
run_client() {
    local n=$1 func=$2
    shift 2
    timeout 60 "$gearman" -h 127.0.0.1 -p "$port" "$@" -f "$func" \
        < "$work/in$n" > "$work/out$n" 2> "$work/client$n.log" &
    track "$!" "$(command -v timeout)"
    cpids[n]=$!
}
started=$(date +%s%N)
run_client 1 rev -n
run_client 2 rev -n
run_client 3 upper -n
run_client 4 upper -n
run_client 5 rev
run_client 6 upper
run_client 7 note -b -n
run_client 8 note -b -n
# gearman exits 0 even when it could not connect: errors go to stderr.
for n in "${!cpids[@]}"; do
    rc=0
    wait "${cpids[$n]}" || rc=$?
    is_ours "$gpid" "$gearmand" || die "gearmand died while serving the clients"
    if [ "$rc" != 0 ] || [ -s "$work/client$n.log" ]; then
        die "client $n exited with status $rc: $(head -c 300 "$work/client$n.log")"
    fi
done
say "8 clients done in $(( ($(date +%s%N) - started) / 1000000 )) ms"

# expect N FILTER...: outN is inN through FILTER, byte for byte.
expect() {
    local n=$1
    shift
    "$@" < "$work/in$n" > "$work/want$n"
    cmp -s "$work/want$n" "$work/out$n" && return 0
    diff "$work/want$n" "$work/out$n" | head -n 8 >&2 || true
    die "client $n: results differ from $* of its input (< wanted, > got; $(wc -l < "$work/out$n") of $(wc -l < "$work/in$n") lines back)"
}
for n in 1 2 5; do expect "$n" rev; done
for n in 3 4 6; do expect "$n" tr a-z A-Z; done
say "162 results exactly right"

# The 40 background jobs wait for a worker of "note".
want=$'note\t40\t0\t0\nrev\t0\t0\t2\nupper\t0\t0\t2'
got=$(status)
[ "$got" = "$want" ] ||
    die "gearadmin --status said '$(echo "$got" | tr '\t\n' ' |')', not '$(echo "$want" | tr '\t\n' ' |')'"
start_worker note1 note tee -a "$work/notes"
want=${want/note$'\t'40$'\t'0$'\t'0/note$'\t'0$'\t'0$'\t'1}
ran() { seen=$(status) || true; [ "$seen" = "$want" ]; }
wait_for 20 "end of the background jobs in gearadmin --status" ran
sort "$work/in7" "$work/in8" > "$work/want-notes"
sort "$work/notes" | cmp -s "$work/want-notes" - ||
    die "the background jobs ran $(wc -l < "$work/notes") notes, not the 40 submitted: $(sort "$work/notes" | diff "$work/want-notes" - | head -n 6 | tr '\n' ' ')"
[ "$(workers_for note)" = 1 ] || die "gearadmin --workers does not list the note worker: $(admin --workers | tr '\n' '|')"
say "40 background jobs queued, then run"

got=$(admin --getpid)
[ "$got" = "$gpid" ] || die "gearadmin --getpid said '$got', not $gpid"
# Every I/O thread took connections from the main thread.
for t in 1 2 3; do
    grep -qE "\[ +$t \] Received CON wakeup event" "$log" || die "I/O thread $t got no connection"
done

stop_workers || die "the workers would not stop"
# A connection open when SIGTERM comes: gearmand must close it.
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'version\n' >&3
read -r -t 10 -u 3 line || die "no answer to the text command 'version'"
case "$line" in OK\ *) ;; *) die "'version' was answered '$line'" ;; esac
signal_exit "$gpid" "$gearmand" TERM
rc=0
read -r -t 5 -u 3 line || rc=$?
exec 3<&-
[ "$rc" = 1 ] || die "the open connection was not closed at shutdown (read: status $rc, '${line:-}')"
grep -q 'Shutdown complete' "$log" || die "gearmand did not log 'Shutdown complete'"
if grep -E '^ *(ERROR|FATAL|ALERT|CRITICAL) ' "$log" >&2; then die "gearmand logged the errors above"; fi
[ -s "$work/gearmand-stderr.log" ] && die "gearmand wrote to stderr: $(head -c 500 "$work/gearmand-stderr.log")"
say "ok"

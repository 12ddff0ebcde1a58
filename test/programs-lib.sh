# shellcheck shell=bash
# Shared by the scripts that run unmodified Debian programs on our build
# (memcached.sh, tmux.sh, unbound.sh, nsd.sh, inetd.sh, tcpbench.sh,
# fstrm.sh, gearmand.sh, pgbouncer.sh, dnsproxy.sh, poolcounter.sh,
# memcaslap.sh, webdis.sh, bitlbee.sh, apt-cacher-ng.sh).  Source it
# after setting PROG (the script's name for messages).  It provides:
#
#   say MSG / die MSG / skip MSG   print; die exits 1, skip exits 77
#   install_pkg PKG [optional]     apt-get install without starting the
#                                  package's service; on failure die, or
#                                  skip when "optional"
#   check_exports BIN LIBDIR SONAME [optional]
#                                  every libevent function BIN imports
#                                  that SONAME's reference list has must
#                                  be exported by LIBDIR/SONAME: die (or
#                                  skip) naming the missing ones
#   prove_ours PID LIBDIR SONAME   /proc/PID/maps shows LIBDIR/SONAME and
#                                  no libevent from anywhere else
#   ours_ld_path                   print LIBDIR (set by the caller) then
#                                  any LD_LIBRARY_PATH: start programs as
#                                  LD_LIBRARY_PATH=$(ours_ld_path) PROG &
#                                  so that $! is PROG's own PID
#   need_tool CMD PKG              a helper command the test drives the
#                                  program with: install PKG when CMD is
#                                  missing, skip (77) when that fails
#   need_program BIN PKG SONAME [optional]
#                                  install PKG when BIN is missing, then
#                                  check_exports BIN against LIBDIR/SONAME
#   start_work NAME                a private directory $work; on exit the
#                                  tracked processes are stopped, on
#                                  failure the tail of each $work/*.log
#                                  is shown, then $work is removed
#   track PID EXE / stop_tracked   remember a process we started; stop it
#                                  (TERM, then KILL after 5 s) only while
#                                  /proc/PID/exe is still EXE
#   is_ours PID EXE                PID still runs EXE (not exited, not a
#                                  zombie, not a reused PID)
#   signal_exit PID EXE SIG        send SIG to PID (a child of this
#                                  shell running EXE), wait 10 s at most
#                                  for it to end, and die unless it ended
#                                  with status 0
#   exec_wait PID                  wait (5 s at most) until PID, started
#                                  with &, is no longer a copy of this
#                                  shell: before its exec, is_ours would
#                                  take it for an exited program
#   start_on_free_port EXE LOG BUSY_RE LAUNCH READY
#                                  start a daemon on a free loopback port
#                                  ($port, $pid set; see below)
#   tcp_accepts PORT               127.0.0.1:PORT accepts a connection
#   children_of PID                the PIDs whose parent is PID
#   family PID                     PID and its descendants
#   term_family PID EXE            SIGTERM PID; all of its family must
#                                  end (10 s) and PID with status 0
#   nsd_setup PORT [LINE...]       write nsd's private zone (the one
#                                  programs-client's dns mode expects)
#                                  and $work/nsd.conf serving it on
#                                  127.0.0.1:PORT, each LINE one more
#                                  setting of its server: clause
#
# Nothing here signals a process by name, and every wait is bounded.

say() { echo "$PROG: $*"; }
die() { echo "$PROG: FAIL: $*" >&2; exit 1; }
skip() { echo "$PROG: SKIP: $*"; exit 77; }

install_pkg() {
    local pkg=$1 optional=${2:-} policy=/usr/sbin/policy-rc.d made_policy=0
    local fail=die
    [ "$optional" = optional ] && fail=skip
    [ "$(id -u)" = 0 ] || $fail "$pkg is missing and we are not root to install it"
    say "installing $pkg"
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
    [ "$ok" = 1 ] || $fail "cannot install $pkg"
}

check_exports() {
    local bin=$1 libdir=$2 soname=$3 optional=${4:-} missing
    local reference
    reference=$(dirname "${BASH_SOURCE[0]}")/abi/symbols/$soname.txt
    [ -r "$reference" ] && command -v nm >/dev/null || return 0
    missing=$(comm -23 \
        <(comm -12 <(nm -D --undefined-only "$bin" | awk '{sub(/@.*/, "", $2); print $2}' | LC_ALL=C sort -u) \
                   <(grep -v '^#' "$reference" | LC_ALL=C sort -u)) \
        <(nm -D --defined-only "$libdir/$soname" | awk '{print $3}' | LC_ALL=C sort -u))
    [ -z "$missing" ] && return 0
    if [ "$optional" = optional ]; then
        skip "our $soname does not export yet:" $missing
    fi
    die "our $soname does not export:" $missing
}

need_tool() {
    command -v "$1" > /dev/null || install_pkg "$2" optional
    command -v "$1" > /dev/null || skip "$1 not found (package $2)"
}

need_program() {
    local bin=$1 pkg=$2 soname=$3 optional=${4:-}
    [ -x "$bin" ] || install_pkg "$pkg" $optional
    if [ ! -x "$bin" ]; then
        [ "$optional" = optional ] && skip "$bin not found"
        die "$bin not found"
    fi
    [ -e "$LIBDIR/$soname" ] || die "$LIBDIR/$soname not found"
    check_exports "$bin" "$LIBDIR" "$soname" $optional
}

start_work() {
    work=$(mktemp -d "/tmp/$1-test.XXXXXX")
    trap on_exit EXIT
    trap 'exit 130' INT TERM
}
on_exit() {
    local rc=$? f
    stop_tracked
    if [ "$rc" != 0 ]; then
        for f in "$work"/*.log; do
            [ -s "$f" ] || continue
            echo "--- $(basename "$f") (last 30 lines) ---" >&2
            tail -n 30 "$f" >&2
        done
    fi
    rm -rf "$work"
    exit "$rc"
}

prove_ours() {
    local pid=$1 libdir=$2 soname=$3 maps f ours=0
    maps=$(grep -E 'libevent[^/]*\.so' "/proc/$pid/maps" | awk '{print $6}' | sort -u) || true
    [ -n "$maps" ] || die "no libevent mapped in PID $pid"
    say "libevent objects mapped by PID $pid ($(readlink "/proc/$pid/exe" 2>/dev/null)):"
    printf '  %s\n' $maps
    for f in $maps; do
        case "$f" in
            "$libdir"/"$soname"*) ours=1 ;;
            "$libdir"/*) ;;
            *) die "PID $pid mapped $f, which is not from $libdir" ;;
        esac
    done
    [ "$ours" = 1 ] || die "PID $pid did not map $libdir/$soname"
}

ours_ld_path() {
    echo "$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}

tracked_pids=()
tracked_exes=()
track() {
    tracked_pids+=("$1")
    tracked_exes+=("$2")
}
is_ours() {
    [ "$(readlink "/proc/$1/exe" 2>/dev/null)" = "$(readlink -f "$2")" ]
}
signal_exit() {
    local pid=$1 exe=$2 sig=$3 status=0 name
    name=$(basename "$exe")
    kill "-$sig" "$pid"
    for _ in $(seq 100); do is_ours "$pid" "$exe" || break; sleep 0.1; done
    is_ours "$pid" "$exe" && die "$name still runs 10 s after SIG$sig"
    wait "$pid" || status=$?
    [ "$status" = 0 ] || die "$name exited with status $status after SIG$sig"
    return 0
}
exec_wait() {
    local sh
    sh=$(readlink "/proc/$$/exe")
    for _ in $(seq 100); do
        [ "$(readlink "/proc/$1/exe" 2>/dev/null)" = "$sh" ] || return 0
        sleep 0.05
    done
}
stop_tracked() {
    local i pid exe
    for i in "${!tracked_pids[@]}"; do
        pid=${tracked_pids[$i]}
        exe=${tracked_exes[$i]}
        is_ours "$pid" "$exe" || continue
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do is_ours "$pid" "$exe" || break; sleep 0.1; done
        is_ours "$pid" "$exe" && kill -9 "$pid" 2>/dev/null || true
    done
    tracked_pids=()
    tracked_exes=()
}

tcp_accepts() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Up to five times: take a port from the command in the array FREE_PORT,
# call "LAUNCH PORT", which starts EXE in the background with its output
# in LOG and sets pid=$!, and give "READY PORT" 10 s to succeed.  A port
# that was free a moment ago can be taken meanwhile: only a start that
# failed that way (LOG matches the extended regex BUSY_RE) is retried.
# Sets $port and $pid; the process is tracked.
start_on_free_port() {
    local exe=$1 log=$2 busy=$3 launch=$4 ready=$5 attempt up
    for attempt in 1 2 3 4 5; do
        port=$("${FREE_PORT[@]}")
        pid=
        "$launch" "$port"
        [ -n "$pid" ] || die "$launch did not set pid"
        track "$pid" "$exe"
        exec_wait "$pid"
        up=0
        for _ in $(seq 100); do
            is_ours "$pid" "$exe" || break
            if "$ready" "$port"; then up=1; break; fi
            sleep 0.1
        done
        [ "$up" = 1 ] && is_ours "$pid" "$exe" && return 0
        stop_tracked
        say "$(basename "$exe") did not start on port $port (attempt $attempt):"
        cat "$log" >&2
        grep -qiE "$busy" "$log" || die "$(basename "$exe") did not start"
    done
    die "$(basename "$exe") would not start"
}

# children_of PID: the PIDs whose parent is PID, from /proc (no ps needed).
children_of() {
    local parent=$1 stat rest fields
    for stat in /proc/[0-9]*/stat; do
        # A builtin read, not cat: a process per entry is slow with the
        # ASan runtime preloaded.
        read -r rest 2>/dev/null < "$stat" || continue
        rest=${rest##*) }    # after the command name, which may hold ") "
        read -r -a fields <<< "$rest"    # state ppid ...
        if [ "${fields[1]:-}" = "$parent" ]; then
            stat=${stat#/proc/}
            echo "${stat%/stat}"
        fi
    done
}

# family PID: PID and its descendants, one a line.
family() {
    local c
    echo "$1"
    for c in $(children_of "$1"); do family "$c"; done
}

# term_family PID EXE: SIGTERM to PID (a child of this shell running
# EXE); every process of its family (as it is now) must end within 10 s
# and PID with status 0.
term_family() {
    local pid=$1 exe=$2 procs p left status=0
    procs=$(family "$pid")
    kill -TERM "$pid"
    for _ in $(seq 100); do
        left=0
        for p in $procs; do is_ours "$p" "$exe" && left=$((left + 1)); done
        [ "$left" = 0 ] && break
        sleep 0.1
    done
    [ "$left" = 0 ] || die "$left $(basename "$exe") processes still run 10 s after SIGTERM"
    wait "$pid" || status=$?
    [ "$status" = 0 ] || die "$(basename "$exe") exited with status $status after SIGTERM"
}

nsd_setup() {
    local port=$1 line
    shift
    cat > "$work/example.test.zone" <<'EOF'
$ORIGIN example.test.
$TTL 60
@  IN SOA ns.example.test. admin.example.test. 1 3600 600 86400 60
@  IN NS  ns.example.test.
ns IN A   127.0.0.1
a  IN A   10.1.2.3
b  IN TXT "hello"
EOF
    {
        cat <<EOF
server:
    ip-address: 127.0.0.1
    port: $port
    do-ip6: no
    server-count: 2
    username: ""
    chroot: ""
    zonesdir: "$work"
    zonelistfile: "$work/zone.list"
    database: ""
    pidfile: "$work/nsd.pid"
    xfrdfile: "$work/xfrd.state"
    xfrdir: "$work"
    logfile: "$work/nsd.log"
    verbosity: 2
EOF
        for line in "$@"; do echo "    $line"; done
        cat <<EOF
remote-control:
    control-enable: no
zone:
    name: example.test
    zonefile: example.test.zone
EOF
    } > "$work/nsd.conf"
}

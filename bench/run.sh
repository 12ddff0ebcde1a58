#!/bin/bash
# bench/run.sh: build the benchmarks against every library at hand, run
# them alternately, summarize, count instructions under callgrind, plot.
#
#   bench/run.sh [--quick] [--no-callgrind] [--no-plot]
#                [--cases pipechain,timers,echo,memory] [--rounds N]
#                [--libs ours,ours_epoll,uring,libevent,libev,epoll]
#                [--ours-build DIR] [--no-ours]
#
# Libraries ("lib=" in every result line):
#   ours      this tree, built Release into build-bench/ unless
#             --ours-build names a build directory (DIR/lib, DIR/include),
#             on its default method: io_uring where the kernel takes
#             epoll_wait as a ring request, else epoll
#   ours_epoll  the same build of ours on plain epoll (pipechain and echo;
#             run with EVENT_NOIO_URING=1): the default's cost next to
#             the classic backend's
#   uring     the same build of ours on its io_uring_poll backend
#             (pipechain only; run with EVENT_NOIO_URING/NOEPOLL/NOPOLL/
#             NOSELECT=1), when the kernel lets it run
#   libevent  Debian's libevent 2.1 runtime; its headers come from
#             libevent-dev unpacked privately (never installed, so they
#             cannot mask ours in /usr/include)
#   libev     libev's libevent emulation (core cases only), headers from
#             libev-libevent-dev + libev-dev unpacked privately, runtime
#             libev4 (installed if missing, else the unpacked copy)
#   epoll     pipechain written straight on epoll: the lower bound
#
# Every program runs once per round per configuration, the libraries in
# rotated order (A B C D, then B C D A, ...).  The summary gives the median
# over rounds and the median of the per-round ratios to libevent.  Results:
# bench/results/latest.md (also printed), summary-latest.tsv, raw-latest.txt.
# Environment: BENCH_DEPS (default /tmp) holds ref-libevent/ and ref-libev/;
# BENCH_WORK (default /tmp/bench-work) holds binaries and callgrind files.
set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
RESULTS=$BENCH_DIR/results
DEPS=${BENCH_DEPS:-/tmp}
WORK=${BENCH_WORK:-/tmp/bench-work}
BIN=$WORK/bin
REF_LIBEVENT=$DEPS/ref-libevent
REF_LIBEV=$DEPS/ref-libev
CC=${CC:-cc}
CFLAGS=${BENCH_CFLAGS:--O2 -g -Wall -Wextra -Wno-unused-parameter}
RUN_TIMEOUT=300

QUICK=0
CALLGRIND=1
PLOT=1
CASES=pipechain,timers,echo,memory
ROUNDS=
WANT_LIBS=ours,ours_epoll,uring,libevent,libev,epoll
OURS_BUILD=
NO_OURS=0

usage() {
    sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit "${1:-0}"
}

while [ $# -gt 0 ]; do
    case $1 in
    --quick) QUICK=1 ;;
    --no-callgrind) CALLGRIND=0 ;;
    --no-plot) PLOT=0 ;;
    --cases) CASES=$2; shift ;;
    --cases=*) CASES=${1#*=} ;;
    --rounds) ROUNDS=$2; shift ;;
    --rounds=*) ROUNDS=${1#*=} ;;
    --libs) WANT_LIBS=$2; shift ;;
    --libs=*) WANT_LIBS=${1#*=} ;;
    --ours-build) OURS_BUILD=$2; shift ;;
    --ours-build=*) OURS_BUILD=${1#*=} ;;
    --no-ours) NO_OURS=1 ;;
    -h|--help) usage 0 ;;
    *) echo "run.sh: unknown option $1" >&2; usage 2 ;;
    esac
    shift
done

log() { echo "[bench] $*" >&2; }
PROBLEMS=()
problem() { log "PROBLEM: $*"; PROBLEMS+=("$*"); }
want() { case ",$2," in *",$1,"*) return 0 ;; esac; return 1; }

# --- sizes -------------------------------------------------------------------
# Wall-time sizes keep the default run near 10 minutes on 2 cores; the
# callgrind sizes are smaller (counts per operation barely depend on them).
if [ "$QUICK" = 1 ]; then
    : "${ROUNDS:=1}"
    PC_NS="100 1000"; PC_HOPS=500; PC_REREG=20000; PC_ITERS=20
    TM_MS="100000"
    EC_CONNS="1 100"; EC_MSGS=5000
    MEM_ARGS="--events=2000 --timers=20000 --conns=1000"
    CG_PC_NS="1000"; CG_PC_HOPS=100; CG_PC_REREG=5000; CG_PC_ITERS=5
    CG_TM_M=20000; CG_EC_CONNS="100"; CG_EC_MSGS=2000
else
    : "${ROUNDS:=5}"
    PC_NS="100 1000 9000"; PC_HOPS=2000; PC_REREG=200000; PC_ITERS=100
    TM_MS="100000 1000000"
    EC_CONNS="1 100 1000"; EC_MSGS=50000
    MEM_ARGS="--events=10000 --timers=100000 --conns=10000"
    CG_PC_NS="100 1000 9000"; CG_PC_HOPS=200; CG_PC_REREG=20000
    CG_PC_ITERS=10
    CG_TM_M=100000; CG_EC_CONNS="1 100 1000"; CG_EC_MSGS=10000
fi

# --- dependencies ------------------------------------------------------------
MA=$($CC -print-multiarch 2>/dev/null)
SYSLIB=/usr/lib/${MA:-x86_64-linux-gnu}
APT_UPDATED=0

apt_update_once() {
    [ "$APT_UPDATED" = 1 ] && return 0
    APT_UPDATED=1
    apt-get update >/dev/null 2>&1
}

# apt_install PKG...: runtime packages and tools only, never a -dev package.
apt_install() {
    apt_update_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >/dev/null 2>&1
}

# unpack_debs DEST PKG...: download and extract without installing.
unpack_debs() {
    local dest=$1 tmp
    shift
    tmp=$(mktemp -d)
    if ! (cd "$tmp" && apt-get download "$@" >/dev/null 2>&1); then
        apt_update_once
        (cd "$tmp" && apt-get download "$@" >/dev/null 2>&1) || {
            rm -rf "$tmp"
            return 1
        }
    fi
    mkdir -p "$dest"
    for f in "$tmp"/*.deb; do
        dpkg-deb -x "$f" "$dest" || { rm -rf "$tmp"; return 1; }
    done
    rm -rf "$tmp"
}

declare -A INC LINK ENVS
LIBS=()

setup_ours() {
    local b=$OURS_BUILD
    if [ -z "$b" ]; then
        b=$ROOT/build-bench
        log "building ours (Release) in $b"
        if ! cmake -S "$ROOT" -B "$b" -DCMAKE_BUILD_TYPE=Release \
                -DEVENT_BUILD_TESTS=OFF -DEVENT_BUILD_SAMPLES=OFF \
                >"$WORK/ours-cmake.log" 2>&1 ||
           ! cmake --build "$b" -j"$(nproc)" >>"$WORK/ours-cmake.log" 2>&1
        then
            problem "ours: build failed, see $WORK/ours-cmake.log"
            return 1
        fi
    fi
    b=$(cd "$b" 2>/dev/null && pwd) || { problem "ours: no dir $b"; return 1; }
    if [ ! -e "$b/lib/libevent_core-2.1.so.7" ] ||
       [ ! -e "$b/include/event2/event-config.h" ]; then
        problem "ours: $b lacks lib/libevent_core-2.1.so.7 or event-config.h"
        return 1
    fi
    OURS_BUILD=$b
    INC[ours]="-I$ROOT/include -I$b/include"
    LINK[ours]="$b/lib/libevent_core-2.1.so.7 -Wl,-rpath,$b/lib"
}

setup_libevent() {
    if [ ! -e "$SYSLIB/libevent_core-2.1.so.7" ]; then
        log "installing Debian's libevent runtime (libevent-core-2.1-7)"
        apt_install libevent-core-2.1-7 ||
            { problem "libevent: runtime missing"; return 1; }
    fi
    if [ ! -e "$REF_LIBEVENT/usr/include/event2/event.h" ]; then
        log "unpacking libevent-dev headers into $REF_LIBEVENT"
        unpack_debs "$REF_LIBEVENT" libevent-dev ||
            { problem "libevent: cannot fetch libevent-dev"; return 1; }
    fi
    [ -d /usr/include/event2 ] &&
        problem "/usr/include/event2 exists (libevent-dev installed?)"
    INC[libevent]="-I$REF_LIBEVENT/usr/include"
    # By full path: the -dev package's .so symlinks point at files that
    # only the installed runtime has.
    LINK[libevent]="$SYSLIB/libevent_core-2.1.so.7"
}

setup_libev() {
    if [ ! -e "$REF_LIBEV/usr/include/event.h" ] ||
       [ ! -e "$REF_LIBEV/usr/include/ev.h" ]; then
        log "unpacking libev's libevent emulation into $REF_LIBEV"
        unpack_debs "$REF_LIBEV" libev-libevent-dev libev-dev libev4 ||
            { problem "libev: cannot fetch libev packages"; return 1; }
    fi
    if [ ! -e "$SYSLIB/libev.so.4" ]; then
        log "installing libev4 (runtime only)"
        apt_install libev4 || true
    fi
    INC[libev]="-I$REF_LIBEV/usr/include"
    if [ -e "$SYSLIB/libev.so.4" ]; then
        LINK[libev]="$SYSLIB/libev.so.4"
    else
        LINK[libev]="$REF_LIBEV/usr/lib/$MA/libev.so.4"
        LINK[libev]+=" -Wl,-rpath,$REF_LIBEV/usr/lib/$MA"
    fi
}

mkdir -p "$WORK" "$BIN" "$RESULTS"
command -v "$CC" >/dev/null || { echo "run.sh: no C compiler" >&2; exit 1; }
if want ours "$WANT_LIBS" && [ "$NO_OURS" = 0 ] && setup_ours; then
    LIBS+=(ours)
fi
if want ours_epoll "$WANT_LIBS" && [[ " ${LIBS[*]:-} " == *" ours "* ]]; then
    INC[ours_epoll]=${INC[ours]}
    LINK[ours_epoll]=${LINK[ours]}
    ENVS[ours_epoll]="EVENT_NOIO_URING=1"
    LIBS+=(ours_epoll)
fi
if want uring "$WANT_LIBS" && [[ " ${LIBS[*]:-} " == *" ours "* ]]; then
    INC[uring]=${INC[ours]}
    LINK[uring]=${LINK[ours]}
    ENVS[uring]="EVENT_NOIO_URING=1 EVENT_NOEPOLL=1 EVENT_NOPOLL=1"
    ENVS[uring]+=" EVENT_NOSELECT=1"
    LIBS+=(uring)
fi
want libevent "$WANT_LIBS" && setup_libevent && LIBS+=(libevent)
want libev "$WANT_LIBS" && setup_libev && LIBS+=(libev)
want epoll "$WANT_LIBS" && LIBS+=(epoll)
if [ "$CALLGRIND" = 1 ] && ! command -v valgrind >/dev/null; then
    log "installing valgrind"
    apt_install valgrind || { problem "no valgrind: callgrind skipped"; CALLGRIND=0; }
fi
log "libraries: ${LIBS[*]}"

# --- build -------------------------------------------------------------------
# progs_for LIB: the programs that library can build.
progs_for() {
    case $1 in
    ours|libevent) echo pipechain timers echo memory ;;
    ours_epoll) echo pipechain echo ;;
    uring) echo pipechain ;;
    libev) echo pipechain timers memory ;;
    epoll) echo pipechain-epoll ;;
    esac
}

BUILT=()
for lib in "${LIBS[@]}"; do
    for prog in $(progs_for "$lib"); do
        out=$BIN/$prog-$lib
        # shellcheck disable=SC2086
        if $CC $CFLAGS -DBENCH_LIB="\"$lib\"" ${INC[$lib]:-} \
                "$BENCH_DIR/$prog.c" "$BENCH_DIR/bench-util.c" -o "$out" \
                ${LINK[$lib]:-} 2>"$WORK/build-$prog-$lib.log"; then
            BUILT+=("$prog-$lib")
        else
            problem "build of $prog for $lib failed: $(head -c 300 \
                "$WORK/build-$prog-$lib.log")"
        fi
    done
done
built() { case " ${BUILT[*]} " in *" $1 "*) return 0 ;; esac; return 1; }

# method_of LIB: the method LIB's pipe chain chooses here, with LIB's
# environment (EVENT_SHOW_METHOD).
method_of() {
    # shellcheck disable=SC2086
    env ${ENVS[$1]:-} EVENT_SHOW_METHOD=1 "$BIN/pipechain-$1" --n=2 \
        --tokens=1 --hops=1 --rereg-events=2 2>&1 >/dev/null |
        sed -n 's/.*using: //p' | head -1
}

# The method ours chooses here, for the report.
OURS_METHOD=
built pipechain-ours && OURS_METHOD=$(method_of ours)

# uring only counts if the backend really runs here (a kernel or seccomp
# profile may refuse io_uring; ours then falls back and says so).
if built pipechain-uring; then
    method=$(method_of uring)
    if [ "$method" != io_uring_poll ]; then
        problem "uring: the io_uring_poll backend does not run here" \
            "(method: ${method:-none}); skipped"
        BUILT=("${BUILT[@]/pipechain-uring/}")
    fi
fi

# --- configurations ----------------------------------------------------------
# One line per configuration: "program|arguments|libraries".
configs() {
    local cg=$1 n m c v
    if want pipechain "$CASES"; then
        local ns=$PC_NS hops=$PC_HOPS rereg=$PC_REREG iters=$PC_ITERS
        if [ "$cg" = 1 ]; then
            ns=$CG_PC_NS hops=$CG_PC_HOPS rereg=$CG_PC_REREG
            iters=$CG_PC_ITERS
        fi
        for n in $ns; do
            for v in plain timeout; do
                local args="--n=$n --tokens=100 --hops=$hops"
                args+=" --rereg-events=$rereg --iterations=$iters --writes=100"
                if [ $v = plain ]; then
                    echo "pipechain|$args|ours ours_epoll uring libevent libev epoll"
                else
                    echo "pipechain|$args --timeout|ours ours_epoll uring libevent libev"
                fi
            done
        done
    fi
    if want timers "$CASES"; then
        local ms=$TM_MS
        [ "$cg" = 1 ] && ms=$CG_TM_M
        for m in $ms; do
            echo "timers|--m=$m --mode=random|ours libevent libev"
            echo "timers|--m=$m --mode=requests|ours libevent libev"
            echo "timers|--m=$m --mode=common|ours libevent"
        done
    fi
    if want echo "$CASES"; then
        local cs=$EC_CONNS msgs=$EC_MSGS
        [ "$cg" = 1 ] && { cs=$CG_EC_CONNS; msgs=$CG_EC_MSGS; }
        for c in $cs; do
            echo "echo|--conns=$c --messages=$msgs|ours ours_epoll libevent"
        done
    fi
    if want memory "$CASES" && [ "$cg" = 0 ]; then
        echo "memory|$MEM_ARGS|ours libevent libev"
    fi
}

binary() {
    local prog=$1 lib=$2
    [ "$lib" = epoll ] && prog=$prog-epoll
    built "$prog-$lib" && echo "$BIN/$prog-$lib"
}

RAW=$WORK/raw.txt
CGRAW=$WORK/callgrind.txt
: >"$RAW"
: >"$CGRAW"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)

# run_one ROUND PROG LIB ARGS: one timed run, output lines tagged.
run_one() {
    local round=$1 prog=$2 lib=$3 args=$4 exe rc
    exe=$(binary "$prog" "$lib") || return 0
    # shellcheck disable=SC2086
    timeout "$RUN_TIMEOUT" env ${ENVS[$lib]:-} "$exe" $args \
        >"$WORK/out.txt" 2>"$WORK/err.txt"
    rc=$?
    grep -E '^(RESULT|LIB|SKIP) ' "$WORK/out.txt" |
        sed "s/^/round=$round /" >>"$RAW"
    [ "$round" = 1 ] && grep '^SKIP ' "$WORK/out.txt" | while read -r l; do
        log "$l"
    done
    if [ $rc != 0 ]; then
        problem "$prog $args ($lib, round $round) exited $rc:" \
            "$(tail -c 300 "$WORK/err.txt")"
        echo "round=$round FAIL prog=$prog lib=$lib args=${args// /_}" >>"$RAW"
    fi
}

mapfile -t CONFIGS < <(configs 0)
nl=${#LIBS[@]}
for round in $(seq 1 "$ROUNDS"); do
    log "round $round/$ROUNDS"
    # Rotate the library order each round: A B C, B C A, C A B, ...
    order=()
    for i in $(seq 0 $((nl - 1))); do
        order+=("${LIBS[$(((i + round - 1) % nl))]}")
    done
    for cfg in "${CONFIGS[@]}"; do
        IFS='|' read -r prog args libs <<<"$cfg"
        for lib in "${order[@]}"; do
            case " $libs " in *" $lib "*) run_one "$round" "$prog" "$lib" "$args" ;; esac
        done
    done
done

# --- callgrind ---------------------------------------------------------------
# Each timed region is collected alone and dumped when it ends, so dump K
# belongs to the K-th REGION line; instructions per op = totals / ops.
# The pattern also matches bench_timed_region_gap, inside which a region
# stops counting (bench_untimed; callgrind honours only one
# --toggle-collect, and its '*' needs at least one character).
cg_one() {
    local prog=$1 lib=$2 args=$3 exe d rc
    exe=$(binary "$prog" "$lib") || return 0
    d=$WORK/cg/$prog-$lib-${args//[ =-]/_}
    rm -rf "$d"
    mkdir -p "$d"
    # shellcheck disable=SC2086
    timeout 1200 env ${ENVS[$lib]:-} valgrind --tool=callgrind \
        --collect-atstart=no \
        '--toggle-collect=bench_timed_*' \
        --dump-after=bench_timed_region \
        --callgrind-out-file="$d/cg.out" "$exe" $args \
        >"$d/stdout" 2>"$d/stderr"
    rc=$?
    if [ $rc != 0 ]; then
        problem "callgrind $prog $args ($lib) exited $rc"
        return 0
    fi
    awk -v dir="$d" '
        /^RESULT / && !($0 ~ / metric=wall_ms /) {
            # "RESULT ... phase=P metric=M value=V" -> prefix per phase.
            for (i = 1; i <= NF; i++)
                if ($i ~ /^phase=/)
                    p = substr($i, 7)
            if (!(p in prefix)) {
                line = $0
                sub(/ metric=.*/, "", line)
                prefix[p] = line
            }
        }
        /^REGION / {
            split($2, s, "="); split($3, ph, "="); split($4, o, "=")
            seq[++n] = s[2]; phase[n] = ph[2]; ops[n] = o[2]
        }
        END {
            for (k = 1; k <= n; k++) {
                f = dir "/cg.out." seq[k]
                tot = ""
                while ((getline l < f) > 0)
                    if (l ~ /^totals:/) { split(l, t, " "); tot = t[2] }
                close(f)
                if (tot == "" || !(phase[k] in prefix))
                    continue
                print "round=1 " prefix[phase[k]] " metric=ir_per_op value=" \
                    sprintf("%.1f", tot / ops[k])
                sum += tot
                if (k == 1) first = ops[k]
                if (prefix[phase[k]] ~ /^RESULT case=timers /)
                    allp = prefix[phase[k]]
            }
            if (allp != "") {
                sub(/ phase=[^ ]*/, " phase=all", allp)
                print "round=1 " allp " metric=ir_per_op value=" \
                    sprintf("%.1f", sum / first)
            }
        }' "$d/stdout" >>"$CGRAW"
}

if [ "$CALLGRIND" = 1 ]; then
    mapfile -t CG_CONFIGS < <(configs 1)
    for cfg in "${CG_CONFIGS[@]}"; do
        IFS='|' read -r prog args libs <<<"$cfg"
        for lib in "${LIBS[@]}"; do
            case " $libs " in *" $lib "*)
                log "callgrind: $prog $args ($lib)"
                cg_one "$prog" "$lib" "$args" ;;
            esac
        done
    done
fi
T1=$(date +%s)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --- summary -----------------------------------------------------------------
cat "$RAW" "$CGRAW" >"$RESULTS/raw-latest.txt"
awk -v mode=tsv -f "$BENCH_DIR/summarize.awk" "$RESULTS/raw-latest.txt" \
    >"$RESULTS/summary-latest.tsv"

# The library each program really mapped must be the one it was built for.
while read -r lib path; do
    case $lib in
    ours|ours_epoll|uring) case $path in "$OURS_BUILD"/*) continue ;; esac ;;
    libevent) case $path in "$SYSLIB"/libevent*) continue ;; esac ;;
    libev) case $path in */libev.so.*) continue ;; esac ;;
    epoll) [ "$path" = none ] && continue ;;
    esac
    problem "lib=$lib loaded $path"
done < <(grep ' LIB ' "$RAW" | sed 's/.* lib=\([^ ]*\) path=\(.*\)/\1 \2/' |
    sort -u)

{
    echo "# Benchmarks: ours vs libevent 2.1 vs libev vs raw epoll"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores," \
        "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
        "Linux $(uname -r); load average $LOAD_START at start," \
        "$LOAD_END at end; $ROUNDS round(s)$([ "$QUICK" = 1 ] && echo ', --quick')," \
        "$((T1 - T0)) s of runs."
    if [ -n "$OURS_BUILD" ] && printf '%s\n' "${LIBS[@]}" | grep -qx ours; then
        echo "ours: $OURS_BUILD at commit" \
            "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)" \
            "($(git -C "$ROOT" status --porcelain 2>/dev/null | wc -l)" \
            "files changed or untracked in the tree)."
    fi
    [ -n "$OURS_METHOD" ] &&
        echo "ours chose the method $OURS_METHOD (EVENT_SHOW_METHOD)."
    echo
    echo "Libraries really loaded (from /proc/self/maps):"
    echo
    # shellcheck disable=SC2016 # the backquotes are markdown
    grep ' LIB ' "$RAW" | sed 's/.* lib=\([^ ]*\) path=\(.*\)/- \1: `\2`/' |
        sort -u
    echo
    echo "Medians over rounds; ratios in brackets and in the ratio columns"
    echo "are the median of per-round ratios to libevent (below 1: less"
    echo "time, fewer instructions or bytes than libevent; for msgs_per_s"
    echo "and mb_per_s above 1 is faster). ir_per_op: instructions per"
    echo "callback / event / op / message from callgrind, user space only."
    echo
    echo "## Key figures"
    echo
    awk -v mode=key -f "$BENCH_DIR/summarize.awk" "$RESULTS/summary-latest.tsv"
    echo
    echo "## Wall time, CPU time and memory"
    echo
    awk -F'\t' '$4 != "ir_per_op"' "$RESULTS/summary-latest.tsv" |
        awk -v mode=md -f "$BENCH_DIR/summarize.awk"
    if [ -s "$CGRAW" ]; then
        echo
        echo "## Instructions (callgrind, timed regions only)"
        echo
        awk -F'\t' '$4 == "ir_per_op"' "$RESULTS/summary-latest.tsv" |
            awk -v mode=md -f "$BENCH_DIR/summarize.awk"
    fi
    skips=$(grep ' SKIP ' "$RAW" | sed 's/^round=[0-9]* SKIP //' | sort -u)
    if [ -n "$skips" ] || [ ${#PROBLEMS[@]} -gt 0 ]; then
        echo
        echo "## Skipped and problems"
        echo
        [ -n "$skips" ] && printf '%s\n' "$skips" | sed 's/^/- skipped: /'
        for p in "${PROBLEMS[@]}"; do echo "- $p"; done
    fi
} >"$RESULTS/latest.md"

cp "$RESULTS/latest.md" "$RESULTS/$(date -u +%Y%m%d-%H%M%S).md"
cat "$RESULTS/latest.md"
if [ "$PLOT" = 1 ]; then
    "$BENCH_DIR/plot.sh" || log "plotting failed"
fi

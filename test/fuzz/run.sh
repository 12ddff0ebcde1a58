#!/usr/bin/env bash
# Build the fuzz targets with clang + libFuzzer (ASan and UBSan) and run
# each one on its seed corpus.
#
#   bash test/fuzz/run.sh [--seconds N | --smoke] [--jobs N] [TARGET...]
#
# --seconds N  run each target for N seconds (default 600, the release bar)
# --smoke      run each target for 20 seconds
# --jobs N     build jobs (default 2)
# TARGET       evbuffer-ops, evbuffer-readln, parse-sockaddr (default: all)
#
# Targets run one after another, under nice.  New inputs go to a working
# corpus in the build directory (build-fuzz/, or under EVENT_BUILD_ROOT),
# never into the repository; crash reproducers land in
# build-fuzz/artifacts/TARGET/.  One line per target reports executions,
# executions per second, coverage (libFuzzer's cov and ft counters),
# corpus size and crashes.  Exits 1 if a target crashed or found a
# mismatch, 2 on a usage or build error.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
out=${EVENT_BUILD_ROOT:-$root}/build-fuzz
seconds=600
jobs=2
targets=()
all_targets=(evbuffer-ops evbuffer-readln parse-sockaddr)

while [ $# -gt 0 ]; do
    case $1 in
        --seconds) seconds=${2:-}; shift 2 ;;
        --smoke) seconds=20; shift ;;
        --jobs) jobs=${2:-}; shift 2 ;;
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
case $seconds in ''|*[!0-9]*) echo "run.sh: --seconds needs a number" >&2; exit 2 ;; esac
case $jobs in ''|*[!0-9]*) echo "run.sh: --jobs needs a number" >&2; exit 2 ;; esac
[ ${#targets[@]} = 0 ] && targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
    [ -d "$root/test/fuzz/corpus/$t" ] || { echo "run.sh: no target $t" >&2; exit 2; }
done

log() { echo "fuzz: $*"; }

cc=
for c in clang-14 clang; do
    if command -v "$c" >/dev/null 2>&1; then cc=$(command -v "$c"); break; fi
done
if [ -z "$cc" ]; then
    log "clang not found (apt-get install clang-14 libclang-rt-14-dev)"
    exit 2
fi

log "building with $cc into $out"
mkdir -p "$out" || exit 2
if ! nice cmake -S "$root" -B "$out" -DCMAKE_C_COMPILER="$cc" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEVENT_BUILD_SAMPLES=OFF \
        -DEVENT_SANITIZE=address,undefined -DEVENT_FUZZ_LIBFUZZER=ON \
        -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link >"$out/configure.log" 2>&1; then
    cat "$out/configure.log"
    log "FAIL: configure"
    exit 2
fi
build_targets=()
for t in "${targets[@]}"; do build_targets+=(--target "fuzz-$t"); done
if ! nice cmake --build "$out" -j "$jobs" "${build_targets[@]}" >"$out/build.log" 2>&1; then
    tail -n 40 "$out/build.log"
    log "FAIL: build (log: $out/build.log)"
    exit 2
fi

# Leaks count as findings; sizes the targets never ask for are bugs too.
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

failed=0
results=()
for t in "${targets[@]}"; do
    exe="$out/test/fuzz-$t"
    work="$out/corpus/$t"
    arts="$out/artifacts/$t"
    flog="$out/fuzz-$t.log"
    mkdir -p "$work" "$arts"
    log "running fuzz-$t for $seconds s"
    start=$(date +%s)
    nice "$exe" -max_total_time="$seconds" -print_final_stats=1 \
        -max_len=4096 -timeout=20 -rss_limit_mb=2048 \
        -artifact_prefix="$arts/" "$work" "$root/test/fuzz/corpus/$t" \
        >"$flog" 2>&1
    rc=$?
    took=$(( $(date +%s) - start ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$flog" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$flog" | tail -n 1)
    cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$flog" | tail -n 1)
    crashes=$(find "$arts" -type f | wc -l)
    if [ "$rc" != 0 ]; then
        failed=1
        grep -E 'mismatch|ERROR|SUMMARY|runtime error' "$flog" | head -n 5
        [ "$crashes" = 0 ] && crashes=1
    fi
    line="fuzz-$t: ${execs:-?} execs in $took s (${rate:-?}/s), ${cov:-no coverage line}, crashes: $crashes (exit $rc)"
    results+=("$line")
    log "$line"
done

echo
log "=== summary ==="
for line in "${results[@]}"; do log "$line"; done
if [ "$failed" != 0 ]; then
    log "FAIL: reproducers are in $out/artifacts/"
    exit 1
fi
exit 0

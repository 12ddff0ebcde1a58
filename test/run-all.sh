#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run execs this script).
#
#   bash test/run-all.sh [--quick] [--upstream]
#
# 1. installs what the build and the tests need with apt-get when missing
#    (needs root; one `apt-get update` first; services are not started);
# 2. stage "build": build/ (RelWithDebInfo, -DEVENT_WERROR=ON), every test;
# 3. stage "asan":  build-asan/ with -DEVENT_SANITIZE=address,undefined,
#    every test, the real programs too (on the instrumented libraries,
#    with the ASan runtime preloaded; see test/programs.cmake);
# 4. stage "tsan":  build-tsan/ with -DEVENT_SANITIZE=thread, the tests
#    labelled "threads".
# 5. stage "fuzz":  build-fuzz/ with clang and libFuzzer, each fuzz target
#    for about 20 s (test/fuzz/run.sh --smoke); installs clang and
#    libclang-rt-14-dev first when missing.
# 6. stage "wine": the mingw-w64 cross-build and its tests under Wine
#    (packages installed when missing; skipped, and said so, when they
#    cannot be).
# --upstream adds, after the first stage, runs of libevent 2.1.12's own
# regression suite against build/ on every backend (test/upstream/run.sh;
# it downloads upstream's source from deb.debian.org, so it is not in CI;
# skipped, and said so, when the download fails), plainly and in debug
# mode; and, without --quick, the same built with ASan+UBSan against
# build-asan/ after the asan stage and with TSan against build-tsan/ after
# the tsan stage.
# --quick runs the first stage only.  Each stage's ctest output is shown as
# it runs; a summary line per stage and a total come last.  Exits non-zero
# if any stage failed.
#
# Environment: JOBS (default: nproc) for make and ctest; EVENT_BUILD_ROOT
# puts the build directories somewhere other than the source tree.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
out=${EVENT_BUILD_ROOT:-$root}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
quick=0
upstream=0
for arg in "$@"; do
    case $arg in
        --quick) quick=1 ;;
        --upstream) upstream=1 ;;
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "run-all.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
    esac
done

log() { echo "run-all: $*"; }

# --- packages -------------------------------------------------------------------
# memcached and tmux are real programs the suite runs on our libraries;
# test/diff/ compares ours with Debian's libevent runtime.
packages=(cmake make gcc libc6-dev libcmocka-dev pkg-config memcached tmux
    libevent-core-2.1-7)
# Further real programs: their tests are skipped when these cannot be had.
optional_packages=(unbound nsd openbsd-inetd tcpbench fstrm-bin
    gearman-job-server gearman-tools pgbouncer postgresql dnsproxy poolcounter
    libmemcached-tools webdis redis-server bitlbee apt-cacher-ng python3 curl)

# install_missing PKG...: apt-get install those not installed yet.
install_missing() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' ||
            missing+=("$pkg")
    done
    [ ${#missing[@]} = 0 ] && return 0
    log "installing ${missing[*]}"
    if [ "$(id -u)" != 0 ]; then
        log "not root: install them yourself: apt-get install ${missing[*]}"
        return 1
    fi
    # Installing memcached must not start its system service: answer
    # invoke-rc.d with "action forbidden" (101) while apt runs.
    local policy=/usr/sbin/policy-rc.d made_policy=0 rc=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" &&
            made_policy=1
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT    # even if interrupted
    fi
    export DEBIAN_FRONTEND=noninteractive
    # A stale mirror list should not stop the install: try it anyway.
    if [ -z "${apt_updated:-}" ]; then
        timeout 600 apt-get update -q || log "apt-get update failed; trying the install anyway"
        apt_updated=1
    fi
    timeout 900 apt-get install -y -q --no-install-recommends \
            -o DPkg::Lock::Timeout=120 \
            -o Dpkg::Options::=--force-confdef \
            -o Dpkg::Options::=--force-confold "${missing[@]}" || rc=$?
    if [ "$made_policy" = 1 ]; then
        rm -f "$policy"
        trap - EXIT
    fi
    return $rc
}
if ! install_missing "${packages[@]}"; then
    log "FAIL: could not install the packages the suite needs"
    exit 1
fi
# One package that cannot be had must not keep the others out: if the
# whole list fails, try them one by one.
if ! install_missing "${optional_packages[@]}"; then
    for pkg in "${optional_packages[@]}"; do
        install_missing "$pkg" ||
            log "could not install $pkg: the tests that need it will be skipped"
    done
fi

# --- stages -----------------------------------------------------------------------
summary=()
total_passed=0
total_failed=0
any_failed=0

# stage NAME DIR "CMAKE ARGS" CTEST ARGS...
stage() {
    local name=$1 dir=$2 cmake_args=$3 start result ctest_log passed failed
    shift 3
    start=$(date +%s)
    ctest_log=$(mktemp)
    echo
    log "=== stage $name: $dir ($cmake_args) ==="
    # shellcheck disable=SC2086
    if ! cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DEVENT_WERROR=ON $cmake_args; then
        result="FAIL (configure)"
        total_failed=$((total_failed + 1))
    elif ! cmake --build "$dir" -j "$jobs"; then
        result="FAIL (build)"
        total_failed=$((total_failed + 1))
    else
        (cd "$dir" && "$@" --output-on-failure -j "$jobs" --no-tests=ignore) \
            2>&1 | tee "$ctest_log"
        local rc=${PIPESTATUS[0]}
        read -r passed failed < <(sed -nE \
            's/^[0-9]+% tests passed, ([0-9]+) tests? failed out of ([0-9]+).*/\2 \1/p' \
            "$ctest_log" | awk '{print $1 - $2, $2}' | tail -n 1)
        passed=${passed:-0}
        failed=${failed:-0}
        if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
            failed=1   # ctest failed without a summary line
        fi
        total_passed=$((total_passed + passed))
        total_failed=$((total_failed + failed))
        if [ "$rc" = 0 ]; then
            result="PASS ($passed passed, $failed failed)"
            grep -q 'No tests were found' "$ctest_log" && result="PASS (no tests match)"
        else
            result="FAIL ($passed passed, $failed failed)"
        fi
    fi
    rm -f "$ctest_log"
    [[ $result == FAIL* ]] && any_failed=1
    summary+=("stage $name: $result in $(( $(date +%s) - start )) s")
    log "stage $name: $result"
}

# fuzz_stage: test/fuzz/run.sh --smoke; one pass or fail per fuzz target.
fuzz_stage() {
    local start result fuzz_log rc passed failed
    start=$(date +%s)
    fuzz_log=$(mktemp)
    echo
    log "=== stage fuzz: $out/build-fuzz (clang, libFuzzer, 20 s a target) ==="
    packages=(clang libclang-rt-14-dev)
    if ! install_missing; then
        result="FAIL (clang or libclang-rt-14-dev missing)"
        total_failed=$((total_failed + 1))
    else
        EVENT_BUILD_ROOT=$out bash "$root/test/fuzz/run.sh" --smoke \
            --jobs "$jobs" 2>&1 | tee "$fuzz_log"
        rc=${PIPESTATUS[0]}
        passed=$(grep -c '^fuzz: fuzz-.*crashes: 0 (exit 0)$' "$fuzz_log")
        failed=$(grep -c '^fuzz: fuzz-.*crashes: [1-9]' "$fuzz_log")
        # The summary repeats each target's line.
        passed=$((passed / 2))
        failed=$((failed / 2))
        if [ "$rc" = 0 ]; then
            result="PASS ($passed passed, $failed failed)"
        elif [ "$rc" = 2 ]; then
            result="FAIL (build)"
            failed=1
        else
            result="FAIL ($passed passed, $failed failed)"
            [ "$failed" = 0 ] && failed=1
        fi
        total_passed=$((total_passed + passed))
        total_failed=$((total_failed + failed))
    fi
    rm -f "$fuzz_log"
    [[ $result == FAIL* ]] && any_failed=1
    summary+=("stage fuzz: $result in $(( $(date +%s) - start )) s")
    log "stage fuzz: $result"
}

# finish_stage NAME START RC SKIP_RC SKIP_WHY PASSED FAILED: the summary
# line of a stage run by a script: skipped when it exited SKIP_RC, passed
# when 0, failed otherwise (with at least one failure counted).
finish_stage() {
    local name=$1 start=$2 rc=$3 skip_rc=$4 why=$5 passed=${6:-0}
    local failed=${7:-0} result
    if [ "$rc" = "$skip_rc" ]; then
        result="SKIPPED ($why)"
    elif [ "$rc" = 0 ]; then
        result="PASS ($passed passed, $failed failed)"
    else
        [ "$failed" = 0 ] && failed=1
        result="FAIL ($passed passed, $failed failed)"
        any_failed=1
    fi
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    summary+=("stage $name: $result in $(( $(date +%s) - start )) s")
    log "stage $name: $result"
}

# wine_stage: the Windows cross-build, its tests run under Wine
# (test/wine/run.sh).  Packages that cannot be installed skip the stage
# with a clear line instead of failing it.
wine_stage() {
    local start wine_log rc passed failed
    start=$(date +%s)
    wine_log=$(mktemp)
    echo
    log "=== stage wine: $out/build-wine (mingw-w64 cross-build, tests under Wine) ==="
    JOBS=$jobs EVENT_WINE_BUILD_DIR=$out/build-wine \
        bash "$root/test/wine/run.sh" 2>&1 | tee "$wine_log"
    rc=${PIPESTATUS[0]}
    read -r passed failed < <(sed -nE \
        's/^[0-9]+% tests passed, ([0-9]+) tests? failed out of ([0-9]+).*/\2 \1/p' \
        "$wine_log" | awk '{print $1 - $2, $2}' | tail -n 1)
    rm -f "$wine_log"
    finish_stage wine "$start" "$rc" 3 \
        "mingw-w64 or wine could not be installed" "$passed" "$failed"
}

# upstream_stage NAME BUILD_DIR "OPTIONS" [PREFIX...]: libevent's own
# regress program against BUILD_DIR, once per backend
# (test/upstream/run.sh with OPTIONS, split on spaces: --debug-mode,
# --sanitize LIST), run under PREFIX (setarch for TSan).  The tarball the
# first run downloaded is reused.
upstream_stage() {
    local name=$1 dir=$2 start up_log rc passed failed
    local args=(--jobs "$jobs") tarball opts
    read -r -a opts <<< "${3:-}"
    shift 2
    [ $# -gt 0 ] && shift
    tarball=$out/build/upstream-regress/libevent_2.1.12-stable.orig.tar.gz
    [ -f "$tarball" ] && args+=(--tarball "$tarball")
    args+=("${opts[@]}")
    start=$(date +%s)
    up_log=$(mktemp)
    echo
    log "=== stage $name: libevent 2.1.12's regress against $dir ==="
    "$@" bash "$root/test/upstream/run.sh" "${args[@]}" "$dir" 2>&1 |
        tee "$up_log"
    rc=${PIPESTATUS[0]}
    read -r passed failed < <(sed -nE \
        's/^upstream (regress|verify)\/[^:]+: ([0-9]+) ok, ([0-9]+) failed.*/\2 \3/p' \
        "$up_log" | awk '{p += $1; f += $2} END {print p + 0, f + 0}')
    rm -f "$up_log"
    finish_stage "$name" "$start" "$rc" 77 \
        "upstream's source could not be downloaded" "$passed" "$failed"
}

# Tests check that absurd allocation sizes fail cleanly (malloc returns
# NULL); ASan would abort on them instead.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

stage build "$out/build" "" ctest
if [ "$upstream" = 1 ]; then
    upstream_stage upstream "$out/build" ""
    upstream_stage upstream-debug "$out/build" --debug-mode
fi

if [ "$quick" = 0 ]; then
    stage asan "$out/build-asan" "-DEVENT_SANITIZE=address,undefined" \
        ctest
    [ "$upstream" = 1 ] &&
        upstream_stage upstream-asan "$out/build-asan" \
            "--sanitize address,undefined"
    # TSan cannot map its shadow memory under some address-space layouts;
    # without ASLR it always can.
    no_aslr=()
    if setarch "$(uname -m)" -R true 2>/dev/null; then
        no_aslr=(setarch "$(uname -m)" -R)
    fi
    stage tsan "$out/build-tsan" "-DEVENT_SANITIZE=thread" \
        "${no_aslr[@]}" ctest -L threads -LE programs
    [ "$upstream" = 1 ] &&
        upstream_stage upstream-tsan "$out/build-tsan" "--sanitize thread" \
            "${no_aslr[@]}"
    fuzz_stage
    wine_stage
fi

echo
log "=== summary ==="
for line in "${summary[@]}"; do
    log "$line"
done
# The line CI reads: every test run in every stage, plus failed builds.
echo "total: $total_passed passed, $total_failed failed"
exit $any_failed

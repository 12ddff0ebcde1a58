#!/usr/bin/env bash
# Build upstream libevent 2.1.12's own regression program ("regress") against
# OUR libraries and run it once per backend.
#
#   bash test/upstream/run.sh [OPTIONS] [BUILD_DIR] [-- REGRESS_ARGS...]
#
# BUILD_DIR          our build directory, holding lib/libevent_core-2.1.so.7
#                    and lib/libevent_pthreads-2.1.so.7 (default: build/ at
#                    the top of this repository)
# --tarball PATH     use this copy of libevent_2.1.12-stable.orig.tar.gz
#                    instead of downloading it (also: UPSTREAM_TARBALL=PATH)
# --work DIR         work directory (default BUILD_DIR/upstream-regress;
#                    also: UPSTREAM_WORK=DIR)
# --backends LIST    comma-separated, from epoll, epoll-changelist, poll,
#                    select, io_uring, io_uring_poll, kqueue-shim,
#                    devpoll-shim, evport-shim (default: all nine; the
#                    io_uring ones are reported as skipped where the
#                    kernel refuses them.  On them, et/et is not run: it
#                    decides from the method's name, "epoll" or
#                    "kqueue", whether edge triggering is supported, and
#                    both are.)
#                    The *-shim backends are backends/kqueue.c, devpoll.c
#                    and evport.c over the test-only shims of those
#                    systems' calls (test/shim/shim.cmake): regress is
#                    linked again, statically, with the build's
#                    test/libevent_shim_<name>.a, and that backend is
#                    reported as skipped when the archive is missing (a
#                    build without tests).  Every test runs on them;
#                    devpoll and evport skip the early-close and
#                    edge-triggered tests, as for poll and select: like
#                    upstream's, those backends do not claim
#                    EV_FEATURE_EARLY_CLOSE or EV_FEATURE_ET.
# --timeout SECS     limit for each backend's run (default 900)
# --jobs N           compile jobs (default 2)
# --no-zlib          build without zlib even when it is installed
# --debug-mode       run with EVENT_DEBUG_MODE=1, which makes upstream's
#                    regress call event_enable_debug_mode() first (logs
#                    are then BACKEND-debug.log)
# --sanitize LIST    compile and link regress with -fsanitize=LIST (use
#                    with a BUILD_DIR configured with the same
#                    EVENT_SANITIZE, e.g. address,undefined or thread)
# -- REGRESS_ARGS    passed to regress instead of running every test, for
#                    example: -- main/fork bufferevent/
#
# No upstream code is kept in this repository.  The upstream release is
# fetched from Debian at run time (or taken from --tarball) and its sha256
# checked; a verified download is kept in the work directory and reused.
# Upstream's CMake is run only to generate its config headers; its test
# sources are copied to test-ours/ in the unpacked tree and edited there
# by the sed scripts below (the whole change: WORK/edits.diff); regress is
# compiled with upstream's flags and linked with our libevent_core and
# libevent_pthreads plus test/upstream/stubs.c.  The script proves with
# ldd and a traced run that the binary loads our libraries.  For the
# *-shim backends the same objects are linked statically with the shim
# archive, libevent_pthreads.a and the shim's -Wl,--wrap options, and
# ldd and a traced run prove instead that those binaries load no libevent
# shared object at all (so all of libevent in them is the archive's).
# The script proves for each backend that the base really uses it
# (EVENT_SHOW_METHOD: "epoll", ..., "kqueue", "devpoll", "evport"), then
# runs regress (every EVENT_* variable cleared except the backend's own)
# and prints one line per backend:
#
#   upstream regress/epoll: 209 ok, 0 failed, 9 skipped
#
# On every backend but the *-shim ones (and not with --debug-mode),
# upstream's other test programs then run as its test.sh and CMakeLists.txt run them ("make verify"):
# test-init, test-eof, test-closed, test-weof, test-time,
# test-changelist, test-fdleak, test-dumpevents (its output checked by
# upstream's check-dumpevents.py when python3 is installed) and
# test-ratelim with upstream's four sets of rate-limit checks (under
# --sanitize thread the same workloads without their bandwidth bounds,
# which are timing checks), each with the backend's environment; one
# more line per backend:
#
#   upstream verify/epoll: 12 ok, 0 failed
#
# Exit status: 0 all passed, 1 a test failed or a run timed out, 2 usage,
# set-up or build error, 77 the release could not be downloaded.  Logs
# are in the work directory.  Everything runs on loopback; only processes
# started here are signalled, by PID.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)

URL=http://deb.debian.org/debian/pool/main/libe/libevent/libevent_2.1.12-stable.orig.tar.gz
SHA256=92e6de1be9ec176428fd2367677e61ceffc2ee1cb119035037a27d346b0403bb
TARNAME=libevent_2.1.12-stable.orig.tar.gz
TOPDIR=libevent-2.1.12-stable
ALL_BACKENDS=epoll,epoll-changelist,poll,select,io_uring,io_uring_poll,kqueue-shim,devpoll-shim,evport-shim

say() { echo "upstream: $*"; }
die() { echo "upstream: ERROR: $*" >&2; exit 2; }
skip() { echo "upstream: SKIP: $*"; exit 77; }

# --- options ----------------------------------------------------------------
build=
tarball=${UPSTREAM_TARBALL:-}
work=${UPSTREAM_WORK:-}
backends=$ALL_BACKENDS
run_timeout=900
jobs=2
use_zlib=1
sanitize=
debug_mode=0
regress_args=()
while [ $# -gt 0 ]; do
    case $1 in
        --tarball) [ $# -ge 2 ] || die "--tarball needs a path"
                   tarball=$2; shift 2 ;;
        --work) [ $# -ge 2 ] || die "--work needs a directory"
                work=$2; shift 2 ;;
        --backends) [ $# -ge 2 ] || die "--backends needs a list"
                    backends=$2; shift 2 ;;
        --timeout) [ $# -ge 2 ] || die "--timeout needs seconds"
                   run_timeout=$2; shift 2 ;;
        --jobs) [ $# -ge 2 ] || die "--jobs needs a number"
                jobs=$2; shift 2 ;;
        --no-zlib) use_zlib=0; shift ;;
        --debug-mode) debug_mode=1; shift ;;
        --sanitize) [ $# -ge 2 ] || die "--sanitize needs a list"
                    sanitize=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
                   exit 0 ;;
        --) shift; regress_args=("$@"); break ;;
        -*) die "unknown option $1 (try --help)" ;;
        *) [ -z "$build" ] || die "more than one BUILD_DIR ($build, $1)"
           build=$1; shift ;;
    esac
done
case $run_timeout in ''|*[!0-9]*|0) die "--timeout needs a positive number" ;; esac
case $jobs in ''|*[!0-9]*|0) die "--jobs needs a positive number" ;; esac
selected=()
IFS=, read -r -a selected <<< "$backends"
[ ${#selected[@]} -gt 0 ] || die "--backends is empty"
for b in "${selected[@]}"; do
    case $b in
        epoll|epoll-changelist|poll|select|io_uring|io_uring_poll) ;;
        kqueue-shim|devpoll-shim|evport-shim) ;;
        *) die "unknown backend '$b' (known: $ALL_BACKENDS)" ;;
    esac
done

build=${build:-$root/build}
[ -d "$build" ] || die "no build directory $build (build the project first)"
build=$(cd "$build" && pwd -P)
lib=$build/lib
for so in libevent_core-2.1.so.7 libevent_pthreads-2.1.so.7; do
    [ -e "$lib/$so" ] || die "$lib/$so is missing (build the project first)"
done
lib=$(cd "$lib" && pwd -P)
[ -f "$here/stubs.c" ] || die "$here/stubs.c is missing"

# --- the shimmed backends' archives and link options ------------------------
# test/shim/shim.cmake builds, with the tests, one static archive per shim
# (the whole core + the shimmed backend + its shim) into BUILD/test; the
# shims take over some libc calls through -Wl,--wrap=SYM.  The wrapped
# symbols and the environment of each shim's runs are read from
# shim.cmake's EVENT_SHIMS table, the one place CMake takes them from, so
# that this script cannot drift from it:
#   "name|config macro|wrapped symbols|environment"
shim_cmake=$root/test/shim/shim.cmake
shim_field() { # NAME FIELD(3 wraps, 4 environment): from EVENT_SHIMS
    local line
    line=$(sed -n "s/^[[:space:]]*\"\($1|[^\"]*\)\".*/\1/p" "$shim_cmake")
    [ -n "$line" ] || die "$shim_cmake has no EVENT_SHIMS entry for $1"
    printf '%s\n' "$line" | cut -d'|' -f"$2"
}
shim_archive() { # NAME: the archive's path, or nothing when it was not built
    local d
    for d in "$build/test" "$build/lib"; do
        if [ -f "$d/libevent_shim_$1.a" ]; then
            echo "$d/libevent_shim_$1.a"; return
        fi
    done
}
shims=()          # the selected shims whose archive exists
declare -A shim_missing=()
for b in "${selected[@]}"; do
    case $b in *-shim) ;; *) continue ;; esac
    name=${b%-shim}
    [ -f "$shim_cmake" ] || die "$shim_cmake is missing"
    wraps=$(shim_field "$name" 3)
    [ -n "$wraps" ] || die "$shim_cmake lists no wrapped symbols for $name"
    if [ -z "$(shim_archive "$name")" ]; then
        shim_missing[$name]=1
    else
        shims+=("$name")
    fi
done
if [ ${#shims[@]} -gt 0 ] && [ ! -f "$lib/libevent_pthreads.a" ]; then
    die "$lib/libevent_pthreads.a is missing (needed by the *-shim backends)"
fi

for tool in cmake cc tar sha256sum ldd timeout flock; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done

work=${work:-$build/upstream-regress}
mkdir -p "$work" || die "cannot create $work"
work=$(cd "$work" && pwd -P)
exec 9> "$work/.lock"
flock -n 9 || die "another run is using $work"

# Every run starts from a fresh tree; only a verified tarball is kept.
src=$work/src/$TOPDIR
tests=$src/test-ours
ubuild=$work/upstream-build
obj=$work/obj
rm -rf "$work/src" "$ubuild" "$obj" "$work"/run-* "$work"/*.log \
    "$work/edits.diff" "$work"/ld-debug.* "$work"/regress-*-shim

# Runs of regress go in the background so that an interrupt can stop them.
tpid=
trap 'if [ -n "$tpid" ]; then kill -TERM "$tpid" 2>/dev/null || true; fi
      echo "upstream: interrupted" >&2; exit 130' INT TERM

# --- the release --------------------------------------------------------------
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

if [ -n "$tarball" ]; then
    [ -f "$tarball" ] || die "--tarball $tarball: no such file"
    got=$(sha_of "$tarball")
    [ "$got" = "$SHA256" ] ||
        die "$tarball has sha256 $got, expected $SHA256 (libevent 2.1.12)"
    say "using $tarball (sha256 ok)"
elif [ -f "$work/$TARNAME" ] && [ "$(sha_of "$work/$TARNAME")" = "$SHA256" ]; then
    tarball=$work/$TARNAME
    say "using the copy downloaded earlier, $tarball (sha256 ok)"
else
    tarball=$work/$TARNAME
    rm -f "$tarball" "$tarball.part"
    say "downloading $URL"
    fetched=0
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --retry 2 --connect-timeout 20 --max-time 300 \
            -o "$tarball.part" "$URL" && fetched=1
    elif command -v wget >/dev/null 2>&1; then
        wget -q --tries=3 --timeout=20 -O "$tarball.part" "$URL" && fetched=1
    else
        skip "neither curl nor wget is installed to download $URL; pass --tarball PATH"
    fi
    if [ "$fetched" != 1 ]; then
        rm -f "$tarball.part"
        skip "cannot download $URL (offline?); fetch it elsewhere and pass --tarball PATH"
    fi
    got=$(sha_of "$tarball.part")
    if [ "$got" != "$SHA256" ]; then
        rm -f "$tarball.part"
        skip "the download has sha256 $got, expected $SHA256; not using it (pass --tarball PATH)"
    fi
    mv "$tarball.part" "$tarball"
    say "downloaded $tarball (sha256 ok)"
fi

mkdir -p "$work/src" "$obj"
tar xzf "$tarball" -C "$work/src" || die "cannot unpack $tarball"
[ -f "$src/CMakeLists.txt" ] || die "$tarball does not hold $TOPDIR/"

# --- upstream's generated headers ------------------------------------------
# Only configured, never built: regress needs include/event2/event-config.h
# and include/evconfig-private.h.  Tests stay enabled (regress itself is
# off) because that is where upstream looks for zlib and sets
# EVENT__HAVE_LIBZ, which decides whether bufferevent/bufferevent_zlib is
# compiled in.
cmake_opts=(-DEVENT__DISABLE_OPENSSL=ON -DEVENT__DISABLE_SAMPLES=ON
            -DEVENT__DISABLE_BENCHMARK=ON -DEVENT__DISABLE_REGRESS=ON
            -DEVENT__DISABLE_TESTS=OFF)
[ "$use_zlib" = 1 ] || cmake_opts+=(-DCMAKE_DISABLE_FIND_PACKAGE_ZLIB=ON)
cmake_major=$(cmake --version | sed -n '1s/^cmake version \([0-9]*\).*/\1/p')
# CMake 4 refuses upstream's cmake_minimum_required(VERSION 3.1.2).
if [ "${cmake_major:-3}" -ge 4 ]; then
    cmake_opts+=(-DCMAKE_POLICY_VERSION_MINIMUM=3.5)
fi
say "configuring upstream (headers only) in $ubuild"
if ! timeout 600 cmake -S "$src" -B "$ubuild" "${cmake_opts[@]}" \
        > "$work/configure.log" 2>&1; then
    tail -n 30 "$work/configure.log" >&2
    die "upstream's cmake configure failed (log: $work/configure.log)"
fi
for h in include/event2/event-config.h include/evconfig-private.h; do
    [ -f "$ubuild/$h" ] || die "configure did not generate $ubuild/$h"
done
if grep -q '^#define EVENT__HAVE_LIBZ 1' "$ubuild/include/event2/event-config.h"; then
    zlib=1
else
    zlib=0
    if [ "$use_zlib" = 1 ]; then
        say "zlib headers or library not found: bufferevent/bufferevent_zlib is left out (counted as skipped); apt-get install zlib1g-dev to include it"
    else
        say "--no-zlib: bufferevent/bufferevent_zlib is left out (counted as skipped)"
    fi
fi

# --- edits to the copy of upstream's tests ------------------------------------
# The copy sits next to test/ so that its includes of "../x-internal.h"
# find upstream's internal headers.
cp -R "$src/test" "$tests"

# edit FILE WHAT SED_ARGS... [-- GONE]: apply sed to FILE, fail unless it
# changed the file and, when given, the text GONE no longer appears in it.
edit() {
    local file=$tests/$1 what=$2 gone=
    shift 2
    local args=()
    while [ $# -gt 0 ]; do
        if [ "$1" = -- ]; then gone=$2; break; fi
        args+=("$1"); shift
    done
    cp "$file" "$file.before"
    sed -i "${args[@]}" "$file"
    if cmp -s "$file" "$file.before"; then
        die "edit of test/${file##*/} did not apply ($what); is this 2.1.12-stable?"
    fi
    rm -f "$file.before"
    if [ -n "$gone" ] && grep -qF -- "$gone" "$file"; then
        die "edit of test/${file##*/} left '$gone' behind ($what)"
    fi
}
note=' /* test/upstream/run.sh:'

# 1. regress.c includes the marshalling code generated for the rpc/ and
#    evtag/ tests from regress.rpc; neither is built (no evrpc, no evtag).
edit regress.c "regress.gen.h" \
    -e 's|^#include "regress.gen.h"$|/* regress.gen.h: removed by test/upstream/run.sh (no evrpc/evtag) */|' \
    -- '#include "regress.gen.h"'

# 2. The evtag/ tests (evtag_int_test .. evtag_test_peek, and the
#    evtag_testcases table) call evtag_*, which we do not provide: compiled
#    out, from "#define TEST_MAX_INT" to test_methods(), and the table.
edit regress.c "evtag tests" \
    -e "/^#define TEST_MAX_INT\t6\$/i #if 0$note evtag/ tests (no evtag) */" \
    -e '/^static void$/{N;s/^static void\ntest_methods(void \*ptr)$/#endif\n&/}' \
    -e '/^struct testcase_t evtag_testcases\[\] = {$/,/^};$/{' \
    -e "/^struct testcase_t evtag_testcases/i #if 0$note evtag/ tests (no evtag) */" \
    -e '/^};$/a #endif' \
    -e '}'

# 3. main/active_later drives the internal event_active_later_(): removed.
edit regress.c "main/active_later" \
    -e "s|^\tBASIC(active_later, .*),\$|\t/* main/active_later removed by test/upstream/run.sh: uses the internal event_active_later_() */|" \
    -- 'BASIC(active_later'

# 4. main/event_base_get_num_events and main/event_base_get_max_events
#    count an EV_READ event on fd -1, which our event_add refuses by the
#    core issue's bad-input contract (libevent adds it unpolled), and end
#    with a "virtual" event added through the internal
#    event_base_add_virtual_(): both removed.
edit regress.c "event_base_get_num_events, event_base_get_max_events" \
    -e "s|^\tBASIC(event_base_get_num_events, .*),\$|\t/* main/event_base_get_num_events removed by test/upstream/run.sh: an I/O event on fd -1 (refused here), event_base_add_virtual_() */|" \
    -e "s|^\tBASIC(event_base_get_max_events, .*),\$|\t/* main/event_base_get_max_events removed by test/upstream/run.sh: an I/O event on fd -1 (refused here), event_base_add_virtual_() */|" \
    -- 'BASIC(event_base_get_'

# 5. finalize/cb_invoked drives event_callback_* and event_deferred_cb_*
#    internals directly: removed.
edit regress_finalize.c "finalize/cb_invoked" \
    -e "s|^\tTEST(cb_invoked, .*),\$|\t/* finalize/cb_invoked removed by test/upstream/run.sh: uses internal event_callback_*() */|" \
    -- 'TEST(cb_invoked'

# 6. thread/deferred_cb_skew (off by default upstream) drives the internal
#    event_deferred_cb_*(): removed.
edit regress_thread.c "thread/deferred_cb_skew" \
    -e '/^\t{ "deferred_cb_skew", thread_deferred_cb_skew,$/,/^\t  &basic_setup, NULL },$/c\
\t/* thread/deferred_cb_skew removed by test/upstream/run.sh: uses internal event_deferred_cb_*() */' \
    -- '"deferred_cb_skew"'

# 7. util/strlcpy tests libevent's private strlcpy (event_strlcpy_), which
#    is not part of the API: removed.
edit regress_util.c "util/strlcpy" \
    -e "s|^\t{ \"strlcpy\", test_evutil_strlcpy, .*},\$|\t/* util/strlcpy removed by test/upstream/run.sh: tests the internal event_strlcpy_() */|" \
    -- '"strlcpy"'

# 8. The http/, dns/, evtag/ and rpc/ groups: we provide no evhttp, evdns,
#    evtag or evrpc (their sources are not compiled either).
edit regress_main.c "http/ dns/ evtag/ rpc/ groups" \
    -e '/^\t{ "\(http\|dns\|evtag\|rpc\)\/", \(http\|dns\|evtag\|rpc\)_testcases },$/d'
for g in http dns evtag rpc; do
    if grep -qF "{ \"$g/\", ${g}_testcases }" "$tests/regress_main.c"; then
        die "edit of test/regress_main.c left the $g/ group in"
    fi
done

# 9. Legacy tests get their base from event_init(); main/fork then reads
#    upstream's internal event_global_current_base_, which event_init()
#    sets.  Ours keeps its current base private, so the set-up stores the
#    base in the variable that stubs.c defines.
edit regress_main.c "current-base shim" \
    -e "s|^\t\t\tbase = event_init();\$|\t\t\tbase = event_global_current_base_ = event_init();$note what upstream's event_init() does */|" \
    -e "/^#include \"regress.h\"\$/a extern struct event_base *event_global_current_base_;$note defined in test/upstream/stubs.c */"

# 10. main/base_environ expects a base made with IGNORE_ENV to use the
#     method the environment disabled, "epoll" when the default was
#     "epoll (with changelist)" (EVENT_EPOLL_USE_CHANGELIST, which
#     IGNORE_ENV stops reading).  Ours puts io_uring ahead of epoll where
#     the kernel allows, and io_uring declines only a changelist asked for:
#     with IGNORE_ENV that base is io_uring's, which is accepted too.
edit regress.c "main/base_environ with io_uring first" \
    -e "s|^\ttt_str_op(ignoreenvname, ==, event_base_get_method(base));\$|\ttt_assert(!strcmp(ignoreenvname, event_base_get_method(base)) \|\| !strcmp(event_base_get_method(base), \"io_uring\"));$note io_uring comes ahead of epoll here */|" \
    -- 'tt_str_op(ignoreenvname, ==, event_base_get_method(base));'

(cd "$src" && diff -ru test test-ours > "$work/edits.diff") || true
say "edited upstream's tests in $tests ($(grep -c '^[-+][^-+]' "$work/edits.diff") changed lines: $work/edits.diff)"

# --- compile and link ---------------------------------------------------------
# regress's sources as upstream's CMakeLists.txt lists them, without
# regress.gen.c, regress_dns.c, regress_http.c, regress_rpc.c (removed
# groups), regress_iocp.c (Windows) and regress_ssl.c (no openssl).
srcs=(regress.c regress_buffer.c regress_bufferevent.c regress_et.c
      regress_finalize.c regress_listener.c regress_main.c regress_minheap.c
      regress_testutils.c regress_util.c tinytest.c regress_thread.c)
[ "$zlib" = 1 ] && srcs+=(regress_zlib.c)
# Upstream's definitions and include path for regress; warnings that only
# the trimmed sources raise (unused static tests) are not shown.
cflags=(-O2 -g -fno-strict-aliasing -pthread -Wall -Wno-unused-parameter
        -Wno-unused-function
        -DHAVE_CONFIG_H -DTINYTEST_LOCAL -D_GNU_SOURCE=1
        -I"$tests" -I"$ubuild/include" -I"$src/include" -I"$src/compat"
        -I"$src")
san_flags=()
[ -z "$sanitize" ] ||
    san_flags=(-fsanitize="$sanitize" -fno-omit-frame-pointer)
cflags+=("${san_flags[@]}")

say "compiling regress (${#srcs[@]} upstream files + stubs.c, -j$jobs)"
compile() { # SRC OBJ LOG
    cc "${cflags[@]}" -c "$1" -o "$2" > "$3" 2>&1
}
running=0
failed_cc=0
units=()
for s in "${srcs[@]}"; do units+=("$tests/$s"); done
units+=("$here/stubs.c")
objs=()
for u in "${units[@]}"; do
    base=${u##*/}
    o=$obj/${base%.c}.o
    objs+=("$o")
    compile "$u" "$o" "$obj/${base%.c}.log" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || failed_cc=1
        running=$((running - 1))
    fi
done
while [ "$running" -gt 0 ]; do
    wait -n || failed_cc=1
    running=$((running - 1))
done
# The static links against a shim archive take stubs.c's other variant:
# it leaves out the stubs that the archive's core defines itself (see
# STUBS_STATIC_CORE in stubs.c).
if [ ${#shims[@]} -gt 0 ]; then
    cc "${cflags[@]}" -DSTUBS_STATIC_CORE -c "$here/stubs.c" \
        -o "$obj/stubs-static.o" > "$obj/stubs-static.log" 2>&1 || failed_cc=1
fi
cat "$obj"/*.log > "$work/compile.log"
if [ "$failed_cc" != 0 ]; then
    grep -E 'error|undefined' "$work/compile.log" | head -n 30 >&2 || true
    die "compiling regress failed (log: $work/compile.log)"
fi

regress=$work/regress
link_libs=("$lib/libevent_core-2.1.so.7" "$lib/libevent_pthreads-2.1.so.7")
[ "$zlib" = 1 ] && link_libs+=(-lz)
# DT_RPATH (not RUNPATH) on our lib directory; runs also clear
# LD_LIBRARY_PATH and LD_PRELOAD.
if ! cc -pthread "${san_flags[@]}" -o "$regress" "${objs[@]}" -Wl,--disable-new-dtags \
        -Wl,-rpath,"$lib" "${link_libs[@]}" > "$work/link.log" 2>&1; then
    cat "$work/link.log" >&2
    die "linking regress against $lib failed"
fi

# --- upstream's other test programs -------------------------------------------
# Each is one source file of upstream's test/, linked like regress.
verify_progs=(test-init test-eof test-closed test-weof test-time
              test-changelist test-fdleak test-dumpevents test-ratelim)
for p in "${verify_progs[@]}"; do
    cc "${cflags[@]}" -o "$work/$p" "$tests/$p.c" -Wl,--disable-new-dtags \
        -Wl,-rpath,"$lib" "$lib/libevent_core-2.1.so.7" \
        "$lib/libevent_pthreads-2.1.so.7" -lm > "$obj/$p.log" 2>&1 ||
        die "compiling upstream's $p failed (log: $obj/$p.log)"
done
# test-ratelim's runs: upstream's CMakeLists.txt, as NAME|ARGS.
ratelim_runs=(
    "group|-g 30000 -n 30 -t 100 --check-grouplimit 1000 --check-stddev 100"
    "conn|-c 1000 -n 30 -t 100 --check-connlimit 50 --check-stddev 50"
    "group_conn|-c 1000 -g 30000 -n 30 -t 100 --check-grouplimit 1000 --check-connlimit 50 --check-stddev 50"
    "group_conn_drain|-c 1000 -g 35000 -n 30 -t 100 -G 500 --check-grouplimit 1000 --check-connlimit 50 --check-stddev 50")

# run_verify LOG ENV...: every program once with ENV (and the ratelim
# runs); prints "N ok, M failed" and, when some failed, their names.
run_verify() {
    local vlog=$1 ok=0 bad=() p r name args rc
    shift
    : > "$vlog"
    for p in test-init test-eof test-closed test-weof test-time \
             test-changelist test-fdleak; do
        echo "=== $p" >> "$vlog"
        if "${clean_env[@]}" "$@" timeout 120 "$work/$p" >> "$vlog" 2>&1 \
                < /dev/null; then
            ok=$((ok + 1))
        else
            bad+=("$p")
        fi
    done
    echo "=== test-dumpevents" >> "$vlog"
    rc=0
    if command -v python3 > /dev/null; then
        "${clean_env[@]}" "$@" timeout 60 "$work/test-dumpevents" < /dev/null |
            python3 "$src/test/check-dumpevents.py" >> "$vlog" 2>&1 || rc=$?
    else
        "${clean_env[@]}" "$@" timeout 60 "$work/test-dumpevents" \
            >> "$vlog" 2>&1 < /dev/null || rc=$?
    fi
    if [ "$rc" = 0 ]; then ok=$((ok + 1)); else bad+=(test-dumpevents); fi
    # test-ratelim never frees its group's ev_token_bucket_cfg (only
    # ever stored into a static that the compiler may drop), which
    # LeakSanitizer would report at exit: no leak detection for it.
    # Under TSan (several times slower) the same workloads run without
    # their --check-* bandwidth bounds, which are timing checks: on 2
    # loaded cores a connection then got 900 bytes/s of its 1000.
    for r in "${ratelim_runs[@]}"; do
        name=${r%%|*}
        read -r -a args <<< "${r#*|}"
        case $sanitize in
            *thread*)
                local kept=() i=0
                while [ "$i" -lt "${#args[@]}" ]; do
                    case ${args[$i]} in
                        --check-*) i=$((i + 2)) ;;
                        *) kept+=("${args[$i]}"); i=$((i + 1)) ;;
                    esac
                done
                args=("${kept[@]}") ;;
        esac
        echo "=== test-ratelim $name: ${args[*]}" >> "$vlog"
        if "${clean_env[@]}" "$@" \
                ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
                timeout 120 "$work/test-ratelim" \
                "${args[@]}" >> "$vlog" 2>&1 < /dev/null; then
            ok=$((ok + 1))
        else
            bad+=("test-ratelim($name)")
        fi
    done
    echo "$ok ok, ${#bad[@]} failed${bad[*]:+ (failed: ${bad[*]}; log: $vlog)}"
}

# --- which libevent it loads ------------------------------------------------
clean_env=(env -u LD_LIBRARY_PATH -u LD_PRELOAD)
while IFS= read -r v; do clean_env+=(-u "$v"); done \
    < <(env | sed -n 's/^\(EVENT_[A-Za-z0-9_]*\)=.*/\1/p')

loaded=$("${clean_env[@]}" ldd "$regress" | grep -i 'libevent' || true)
for so in libevent_core-2.1.so.7 libevent_pthreads-2.1.so.7; do
    path=$(printf '%s\n' "$loaded" | sed -n "s|^[[:space:]]*$so => \([^ ]*\) .*|\1|p")
    [ -n "$path" ] || die "ldd does not show $so for $regress: $loaded"
    [ "$(cd "$(dirname "$path")" && pwd -P)" = "$lib" ] ||
        die "regress would load $so from $path, not from $lib"
done
others=$(printf '%s\n' "$loaded" |
    grep -v -e '^[[:space:]]*libevent_core-2.1.so.7 => ' \
            -e '^[[:space:]]*libevent_pthreads-2.1.so.7 => ' || true)
[ -z "$others" ] || die "regress would also load: $others"
# And from a real run: the loader's own trace of what it initialised.
# traced_inits BIN: the shared objects the loader initialised in a short
# run of BIN, one per line (none when BIN does not run: it says so).
traced_inits() {
    "${clean_env[@]}" LD_DEBUG=files LD_DEBUG_OUTPUT="$work/ld-debug" \
        timeout 60 "$1" --no-fork util/evutil_snprintf > /dev/null 2>&1 ||
        echo "upstream: $1 does not run (try: $1 --no-fork util/evutil_snprintf)" >&2
    cat "$work"/ld-debug.* 2>/dev/null |
        sed -n 's/.*calling init: \(.*\)$/\1/p' | sort -u || true
    rm -f "$work"/ld-debug.*
}
inits=$(traced_inits "$regress" | grep libevent) || true
[ -n "$inits" ] || die "no libevent in the loader's trace of a run"
while IFS= read -r path; do
    [ "$(cd "$(dirname "$path")" && pwd -P)" = "$lib" ] ||
        die "a run of regress loaded $path, not our $lib"
    say "regress loads $path -> $(readlink -f "$path")"
done <<< "$inits"

# --- the shimmed backends' binaries -------------------------------------------
# regress-<name>-shim: the same upstream objects, stubs.c's static
# variant, libevent_pthreads.a and the shim's archive, linked statically
# (the libc and zlib stay shared) with the wrap options from shim.cmake,
# which only act on code linked into the executable.
upstream_objs=()
for o in "${objs[@]}"; do
    [ "$o" = "$obj/stubs.o" ] || upstream_objs+=("$o")
done
declare -A shim_bin=()
for name in "${shims[@]}"; do
    archive=$(shim_archive "$name")
    bin=$work/regress-$name-shim
    wrap_opts=()
    IFS=, read -r -a wrapped <<< "$(shim_field "$name" 3)"
    for sym in "${wrapped[@]}"; do wrap_opts+=("-Wl,--wrap=$sym"); done
    slibs=("$lib/libevent_pthreads.a" "$archive")
    [ "$zlib" = 1 ] && slibs+=(-lz)
    if ! cc -pthread "${san_flags[@]}" -o "$bin" "${upstream_objs[@]}" \
            "$obj/stubs-static.o" "${wrap_opts[@]}" "${slibs[@]}" \
            > "$work/link-$name-shim.log" 2>&1; then
        cat "$work/link-$name-shim.log" >&2
        die "linking regress statically against $archive failed"
    fi
    # No libevent shared object, neither by ldd nor in a traced run: all
    # of libevent in this binary is the archive's.
    loaded=$("${clean_env[@]}" ldd "$bin" | grep -i 'libevent' || true)
    [ -z "$loaded" ] || die "$bin would load a libevent shared object: $loaded"
    inits=$(traced_inits "$bin")
    [ -n "$inits" ] || die "no shared object in the loader's trace of $bin"
    if printf '%s\n' "$inits" | grep -qi 'libevent'; then
        die "a run of $bin loaded a libevent shared object: $inits"
    fi
    shim_bin[$name]=$bin
    say "regress-$name-shim: statically linked with $archive (${wrap_opts[*]}); ldd and a traced run show no libevent shared object"
done

# --- run it, once per backend -------------------------------------------------
backend_env() { # BACKEND: print the variables that select it
    case $1 in
        # io_uring comes first where the kernel allows: the others
        # disable it.
        epoll) echo EVENT_NOIO_URING=1 ;;
        epoll-changelist) echo EVENT_NOIO_URING=1
                          echo EVENT_EPOLL_USE_CHANGELIST=1 ;;
        poll) echo EVENT_NOIO_URING=1; echo EVENT_NOEPOLL=1 ;;
        select) echo EVENT_NOIO_URING=1; echo EVENT_NOEPOLL=1
                echo EVENT_NOPOLL=1 ;;
        io_uring) echo EVENT_NOEPOLL=1; echo EVENT_NOPOLL=1
                  echo EVENT_NOSELECT=1 ;;
        io_uring_poll) echo EVENT_NOIO_URING=1; echo EVENT_NOEPOLL=1
                       echo EVENT_NOPOLL=1; echo EVENT_NOSELECT=1 ;;
        # As shim.cmake runs its loop-level tests (devpoll: EVENT_NOEPOLL=1
        # and EVENT_NOIO_URING=1).
        *-shim) shim_field "${1%-shim}" 4 | tr ',' '\n' ;;
    esac
}
backend_method() { # BACKEND: what event_base_get_method() must say
    case $1 in
        epoll) echo epoll ;;
        epoll-changelist) echo 'epoll (with changelist)' ;;
        *-shim) echo "${1%-shim}" ;;
        *) echo "$1" ;;
    esac
}

failed_tests() { # LOG: the full names of the tests that failed or crashed
    awk '/^[A-Za-z0-9_]+\/[^ ]*: / { cur = $1; sub(/:$/, "", cur) }
         /^ *\[.* FAILED\]$/ || /Lost connection|exited with/ { print cur }' \
        "$1" | sort -u | tr '\n' ' ' | sed 's/ $//'
}

status=0
summaries=()
for b in "${selected[@]}"; do
    benv=()
    while IFS= read -r v; do [ -n "$v" ] && benv+=("$v"); done < <(backend_env "$b")
    rundir=$work/run-$b
    log=$work/$b.log
    tag=$b
    if [ "$debug_mode" = 1 ]; then
        benv+=(EVENT_DEBUG_MODE=1)
        log=$work/$b-debug.log
        tag="$b (debug mode)"
    fi
    bin=$regress
    case $b in
        *-shim)
            name=${b%-shim}
            if [ -n "${shim_missing[$name]:-}" ]; then
                summaries+=("upstream regress/$tag: SKIPPED: no libevent_shim_$name.a in $build/test or $build/lib (a build without tests?)")
                continue
            fi
            bin=${shim_bin[$name]} ;;
    esac
    mkdir -p "$rundir"

    # A legacy test's base announces its method (EVENT_SHOW_METHOD).
    want=$(backend_method "$b")
    got=$(cd "$rundir" && "${clean_env[@]}" "${benv[@]}" EVENT_SHOW_METHOD=1 \
        timeout 60 "$bin" --no-fork main/simpleread 2>&1 |
        sed -n 's/.*libevent using: \(.*\)$/\1/p' | head -n 1) || true
    if [[ $b == io_uring* ]] && [ "$got" != "$want" ]; then
        summaries+=("upstream regress/$tag: SKIPPED: this kernel or build gives no $b base (it uses '${got:-?}')")
        continue
    fi
    if [ "$got" != "$want" ]; then
        summaries+=("upstream regress/$tag: NOT RUN: the base uses '${got:-?}', not '$want'")
        status=1
        continue
    fi

    bargs=("${regress_args[@]}")
    # No test named: all of them, less et/et on the io_uring ones (see
    # --backends).
    [[ $b == io_uring* ]] && [ ${#bargs[@]} = 0 ] && bargs=(:et/et)
    # Nothing is left out on the *-shim backends: all of regress passes
    # there.  A test that cannot pass on a shim for a reason of the shim or
    # of Linux (not of our backend) would be left out for that backend
    # here the same way, with its reason.
    say "running regress on $tag (${benv[*]:-default environment}; up to $run_timeout s; log: $log)"
    rc=0
    (cd "$rundir" && exec "${clean_env[@]}" "${benv[@]}" \
        timeout -k 10 "$run_timeout" "$bin" "${bargs[@]}") \
        > "$log" 2>&1 < /dev/null &
    tpid=$!
    wait "$tpid" || rc=$?
    tpid=

    summary=$(grep -E '^[0-9]+ tests ok\.|^[0-9]+/[0-9]+ TESTS FAILED\.' "$log" | tail -n 1 || true)
    if [[ $summary =~ ^([0-9]+)\ tests\ ok\.\ +\(([0-9]+)\ skipped\) ]]; then
        n_ok=${BASH_REMATCH[1]} n_bad=0 n_skip=${BASH_REMATCH[2]}
    elif [[ $summary =~ ^([0-9]+)/([0-9]+)\ TESTS\ FAILED\.\ +\(([0-9]+)\ skipped\) ]]; then
        n_bad=${BASH_REMATCH[1]} n_ok=$((BASH_REMATCH[2] - BASH_REMATCH[1]))
        n_skip=${BASH_REMATCH[3]}
    else
        n_ok='' n_bad='' n_skip=''
    fi

    if [ -z "$n_ok" ]; then
        if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
            why="TIMED OUT after $run_timeout s"
        else
            why="no summary line (exit status $rc)"
        fi
        last=$(grep -E '^[A-Za-z0-9_]+/[^ ]*:' "$log" | tail -n 1 | cut -d: -f1) || true
        summaries+=("upstream regress/$tag: $why; last test started: ${last:-none}; log: $log")
        status=1
        continue
    fi
    line="upstream regress/$tag: $n_ok ok, $n_bad failed, $n_skip skipped"
    if [ "$n_bad" != 0 ] || [ "$rc" != 0 ]; then
        status=1
        names=$(failed_tests "$log")
        line+=" (exit status $rc; failed: ${names:-see log}; log: $log)"
    fi
    summaries+=("$line")

    # Upstream's other programs, with the same environment (shared
    # libraries only: they are not linked against the shim archives; and
    # not again in debug mode, which only regress reads).
    case $b in *-shim) continue ;; esac
    [ "$debug_mode" = 1 ] && continue
    say "running upstream's other test programs on $tag"
    vline=$(cd "$rundir" && run_verify "${log%.log}-verify.log" "${benv[@]}")
    summaries+=("upstream verify/$tag: $vline")
    case $vline in *" 0 failed"*) ;; *) status=1 ;; esac
done

printf '%s\n' "${summaries[@]}"
if [ "$status" != 0 ]; then
    say "FAILED (logs in $work)"
fi
exit "$status"

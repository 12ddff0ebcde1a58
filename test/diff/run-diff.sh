#!/bin/bash
# run-diff.sh BIN OURS_LIBDIR [ARGS...]: run a differential program on our
# libraries and on Debian's libevent 2.1 (libevent-core-2.1-7 and, for
# programs that use them, libevent-2.1-7 and libevent-pthreads-2.1-7),
# check from each output's "LIB" line that each run really loaded the
# library meant, and fail when the rest of the outputs or the exit
# statuses differ.  Exits 77 (ctest: skipped) when Debian's runtime is not
# installed.
set -u
bin=$1
ours=$(cd "$2" && pwd -P)
shift 2

deb=
for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib; do
    if [ -e "$d/libevent_core-2.1.so.7" ]; then
        deb=$(cd "$d" && pwd -P)
        break
    fi
done
if [ -z "$deb" ] || [ "$deb" = "$ours" ]; then
    echo "SKIP: Debian's libevent 2.1 runtime (libevent-core-2.1-7) is not installed"
    exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
name=$(basename "$bin")

LD_LIBRARY_PATH=$ours timeout 300 "$bin" "$@" >"$tmp/ours" 2>"$tmp/ours.err"
rc_ours=$?
# In a sanitizer build, leaks inside Debian's library are not ours to
# report: leak checking stays on for our run only.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
    LD_LIBRARY_PATH=$deb timeout 300 "$bin" "$@" >"$tmp/deb" 2>"$tmp/deb.err"
rc_deb=$?

fail=0
check_lib() { # OUTPUT DIR WHO
    local lib
    lib=$(sed -n '1s/^LIB //p' "$1")
    case $lib in
        "$2"/libevent_core-2.1.so*) echo "$name: $3 run loaded $lib" ;;
        *) echo "$name: FAIL: the $3 run loaded '${lib:-nothing}', not a library in $2"
           fail=1 ;;
    esac
}
check_lib "$tmp/ours" "$ours" ours
check_lib "$tmp/deb" "$deb" libevent

if ! cmp -s <(tail -n +2 "$tmp/deb") <(tail -n +2 "$tmp/ours"); then
    echo "$name: FAIL: the outputs differ (- libevent, + ours); first differences:"
    diff -u <(tail -n +2 "$tmp/deb") <(tail -n +2 "$tmp/ours") | sed -n '3,40p'
    fail=1
fi
if [ "$rc_ours" != 0 ] || [ "$rc_deb" != 0 ]; then
    echo "$name: FAIL: exit status $rc_ours on ours, $rc_deb on libevent (both must be 0)"
    fail=1
fi
for who in ours deb; do
    if [ -s "$tmp/$who.err" ]; then
        echo "$name: stderr of the $who run:"
        head -20 "$tmp/$who.err"
    fi
done
lines=$(($(wc -l <"$tmp/ours") - 1))
if [ "$fail" = 0 ]; then
    echo "$name: PASS: $lines lines identical, exit status $rc_ours"
fi
exit $fail

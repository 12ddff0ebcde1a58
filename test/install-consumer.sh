#!/usr/bin/env bash
# Installs the build into a temporary prefix and builds a small program
# against the installed copy the ways users do:
#   1. gcc $(pkg-config --cflags --libs libevent), PKG_CONFIG_PATH at the prefix
#   2. CMake: find_package(Libevent 2.1 REQUIRED) + libevent::core (and
#      libevent::pthreads, libevent::event), run through its RUNPATH
#   3. the static archive libevent_core.a, by gcc and by CMake with
#      LIBEVENT_STATIC_LINK
# Each program runs a timer through the loop and lists the libevent files in
# its /proc/self/maps: a shared build must map only the prefix's libraries,
# a static one none at all.
#
#   install-consumer.sh BUILD_DIR
set -euo pipefail

build=$(cd "${1:?usage: install-consumer.sh BUILD_DIR}" && pwd -P)
say() { echo "install-consumer: $*"; }
die() { echo "install-consumer: FAIL: $*" >&2; exit 1; }
for tool in cmake gcc pkg-config ldd; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done

work=$(mktemp -d /tmp/install-consumer.XXXXXX)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
prefix=$work/prefix

# --- install ------------------------------------------------------------------
cmake --install "$build" --prefix "$prefix" > "$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; die "cmake --install failed"; }
core=$(find "$prefix" -name 'libevent_core.so' | head -n 1)
[ -n "$core" ] || die "no libevent_core.so under $prefix"
libdir=$(dirname "$core")
say "installed into $prefix (libraries in ${libdir#"$prefix"/})"
for f in include/event2/event.h include/event2/event-config.h include/event.h; do
    [ -e "$prefix/$f" ] || die "$f was not installed"
done
for name in event_core event event_pthreads; do
    for f in "lib$name.so" "lib$name-2.1.so.7" "lib$name-2.1.so.7.0.1" "lib$name.a"; do
        [ -e "$libdir/$f" ] || die "$f was not installed"
    done
done

# --- the consumer -----------------------------------------------------------------
cat > "$work/consumer.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <event2/event.h>
#ifdef WITH_PTHREADS
#include <event2/thread.h>
#endif

static int fired;

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    fired = 1;
}

int
main(void)
{
    struct event_base *base;
    struct timeval tv = {0, 1000};
    char line[4096];
    FILE *maps;

#ifdef WITH_PTHREADS
    if (evthread_use_pthreads() != 0)
        return 2;
#endif
    base = event_base_new();
    if (!base || event_base_once(base, -1, EV_TIMEOUT, on_timer, NULL, &tv))
        return 3;
    event_base_dispatch(base);
    event_base_free(base);
    printf("version %s, timer %s\n", event_get_version(),
           fired ? "fired" : "did not fire");
    maps = fopen("/proc/self/maps", "r");
    if (!maps)
        return 4;
    while (fgets(line, sizeof(line), maps))
        if (strstr(line, "libevent") && strchr(line, '/'))
            printf("mapped %s", strchr(line, '/'));
    fclose(maps);
    return fired && strcmp(event_get_version(), "2.1.12-stable") == 0 ? 0 : 1;
}
EOF

# check NAME shared|static CMD...: runs a consumer and checks its mappings.
check() {
    local name=$1 kind=$2 out mapped
    shift 2
    out=$("$@" 2>&1) || { echo "$out" >&2; die "$name: consumer failed"; }
    mapped=$(echo "$out" | sed -n 's/^mapped //p' | sort -u)
    if [ "$kind" = static ]; then
        [ -z "$mapped" ] || die "$name: static build mapped $mapped"
    else
        [ -n "$mapped" ] || die "$name: no libevent mapped"
        for f in $mapped; do
            case "$f" in
                "$libdir"/*) ;;
                *) die "$name: mapped $f, not from $libdir" ;;
            esac
        done
    fi
    say "$name: ok ($(echo "$out" | head -n 1); $(echo ${mapped:-no libevent mapped} | sed "s|$libdir/||g"))"
}

# ldd NAME BINARY [LD_LIBRARY_PATH]: every libevent it needs resolves to libdir.
check_ldd() {
    local name=$1 bin=$2 path=${3:-} resolved
    resolved=$(LD_LIBRARY_PATH=$path ldd "$bin" | awk '/libevent/ {print $3}')
    [ -n "$resolved" ] || die "$name: ldd shows no libevent"
    for f in $resolved; do
        [ "$(cd "$(dirname "$f")" && pwd -P)" = "$libdir" ] ||
            die "$name: ldd resolves libevent to $f"
    done
}

# --- 1. pkg-config ------------------------------------------------------------------
export PKG_CONFIG_PATH=$libdir/pkgconfig
pcs="libevent libevent_core libevent_pthreads"
[ -e "$libdir/pkgconfig/libevent_extra.pc" ] && pcs="$pcs libevent_extra"
for pc in $pcs; do
    v=$(pkg-config --modversion "$pc") || die "pkg-config cannot read $pc.pc"
    [ "$v" = 2.1.12-stable ] || die "$pc.pc has version $v"
done
[ "$(pkg-config --variable=prefix libevent)" = "$prefix" ] ||
    die "libevent.pc has prefix $(pkg-config --variable=prefix libevent)"
# Like Debian's, libevent_pthreads.pc requires libevent.
libs=" $(pkg-config --libs libevent_pthreads) "
[[ $libs == *" -levent_pthreads "* && $libs == *" -levent "* ]] ||
    die "pkg-config --libs libevent_pthreads gives '$libs'"
# shellcheck disable=SC2046
gcc -Wall -Werror -o "$work/c-pkgconfig" "$work/consumer.c" \
    $(pkg-config --cflags --libs libevent) || die "pkg-config build failed"
check_ldd pkg-config "$work/c-pkgconfig" "$libdir"
check pkg-config shared env LD_LIBRARY_PATH="$libdir" "$work/c-pkgconfig"
# shellcheck disable=SC2046
gcc -Wall -Werror -DWITH_PTHREADS -o "$work/c-pkgconfig-pthreads" \
    "$work/consumer.c" $(pkg-config --cflags --libs libevent_pthreads) ||
    die "pkg-config build with libevent_pthreads failed"
check pkg-config-pthreads shared env LD_LIBRARY_PATH="$libdir" \
    "$work/c-pkgconfig-pthreads"
unset PKG_CONFIG_PATH

# --- 2. CMake find_package ------------------------------------------------------------
mkdir -p "$work/cmake-shared" "$work/cmake-static"
cat > "$work/cmake-shared/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.16)
project(consumer C)
find_package(Libevent 2.1 REQUIRED)
foreach(v LIBEVENT_FOUND LIBEVENT_core_FOUND LIBEVENT_pthreads_FOUND
        Libevent_FOUND LIBEVENT_VERSION LIBEVENT_INCLUDE_DIRS
        LIBEVENT_LIBRARIES)
    if(NOT \${v})
        message(FATAL_ERROR "\${v} is not set")
    endif()
endforeach()
if(NOT LIBEVENT_VERSION VERSION_EQUAL 2.1.12)
    message(FATAL_ERROR "LIBEVENT_VERSION is \${LIBEVENT_VERSION}")
endif()
if(NOT EXISTS "\${LIBEVENT_INCLUDE_DIRS}/event2/event.h")
    message(FATAL_ERROR "no event2/event.h in \${LIBEVENT_INCLUDE_DIRS}")
endif()
if(NOT "libevent::core" IN_LIST LIBEVENT_LIBRARIES)
    message(FATAL_ERROR "LIBEVENT_LIBRARIES is \${LIBEVENT_LIBRARIES}")
endif()
foreach(t libevent::core libevent::pthreads libevent::event)
    if(NOT TARGET \${t})
        message(FATAL_ERROR "no target \${t}")
    endif()
endforeach()
add_executable(c-core ../consumer.c)
target_link_libraries(c-core libevent::core)
add_executable(c-pthreads ../consumer.c)
target_compile_definitions(c-pthreads PRIVATE WITH_PTHREADS)
target_link_libraries(c-pthreads libevent::pthreads libevent::core)
add_executable(c-event ../consumer.c)
target_link_libraries(c-event libevent::event)
add_executable(c-all ../consumer.c)
target_link_libraries(c-all \${LIBEVENT_LIBRARIES})
EOF
cat > "$work/cmake-static/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(consumer C)
set(LIBEVENT_STATIC_LINK TRUE)
find_package(Libevent 2.1 REQUIRED COMPONENTS core pthreads)
add_executable(c-static ../consumer.c)
target_compile_definitions(c-static PRIVATE WITH_PTHREADS)
target_link_libraries(c-static libevent::pthreads libevent::core)
EOF
for kind in shared static; do
    d=$work/cmake-$kind
    (cmake -S "$d" -B "$d/build" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_BUILD_TYPE=Release && cmake --build "$d/build") \
        > "$d/log" 2>&1 || { cat "$d/log" >&2; die "CMake $kind consumer failed"; }
done
# No LD_LIBRARY_PATH: the imported targets must give the programs a RUNPATH
# to the prefix, or they would load the system's libevent instead.
check_ldd cmake-core "$work/cmake-shared/build/c-core"
for exe in c-core c-pthreads c-event c-all; do
    check "cmake $exe" shared "$work/cmake-shared/build/$exe"
done
check "cmake static" static "$work/cmake-static/build/c-static"

# --- 3. the static archive by hand ------------------------------------------------------
gcc -Wall -Werror -o "$work/c-static" -I"$prefix/include" "$work/consumer.c" \
    "$libdir/libevent_core.a" || die "static build failed"
if ldd "$work/c-static" | grep -q libevent; then
    die "the static build still needs a shared libevent"
fi
check "gcc libevent_core.a" static "$work/c-static"

say "ok"

# Tests of the Windows cross-build, included by test/CMakeLists.txt when
# WIN32 and run under Wine by test/wine/run.sh (ctest uses
# CMAKE_CROSSCOMPILING_EMULATOR, set to wine by
# cmake/mingw-w64-x86_64.cmake).
#
# Debian has no cmocka for mingw-w64, so the tests link test/wine/cmocka.c,
# a small implementation of the cmocka calls they use.  The test sources
# are the Linux ones, unchanged: src/win32-compat/ stands in for the POSIX
# headers they include, and test/wine/include/ adds what only tests need
# (anonymous mmap for guard pages, sysconf, sa_family_t).  Only tests
# that use nothing POSIX-only beyond that are listed (EVENT_WINE_TESTS);
# each runs on the win32 backend, and loop-level tests (TEST-BACKENDS)
# once more in debug mode.  Tests that need fork(), pipes, POSIX signals,
# fcntl or pthreads stay Linux-only.
add_library(event_wine_cmocka STATIC
    ${CMAKE_CURRENT_SOURCE_DIR}/wine/cmocka.c)
target_include_directories(event_wine_cmocka PUBLIC
    ${CMAKE_CURRENT_SOURCE_DIR}/wine)

add_library(event_test_util STATIC test-util.c)
target_include_directories(event_test_util PUBLIC
    ${CMAKE_CURRENT_SOURCE_DIR} ${EVENT_INCLUDES})
target_include_directories(event_test_util BEFORE PUBLIC
    ${CMAKE_CURRENT_SOURCE_DIR}/wine/include
    ${PROJECT_SOURCE_DIR}/src/win32-compat)
target_link_libraries(event_test_util PUBLIC event_wine_cmocka event_core)

# Listed: those that build unchanged against the stand-in headers and
# whose semantics hold on Winsock.  Left out (Linux-only): test-event,
# test-compat, test-mm (SIGUSR1/SIGUSR2), test-bufferevent,
# test-bufferevent-filter, test-ratelim, test-evbuffer (MSG_DONTWAIT,
# fcntl close-on-exec checks, SIGPIPE), test-evutil (poll.h),
# test-debug (setrlimit), test-log (fork/wait), and the pthread tests.
# test-listener runs with its POSIX-only cases (fcntl flags, SO_REUSEPORT,
# TCP_DEFER_ACCEPT, RLIMIT_NOFILE) left out by #ifndef _WIN32.
set(EVENT_WINE_TESTS
    test-win32
    test-timer
    test-minheap
    test-bufferevent-pair
    test-evutil-addr
    test-iocp
    test-listener
)

# Single tests whose assertions encode Linux-only facts, skipped by name
# (test/wine/cmocka.c reads EVENT_WINE_SKIP):
#   test_gai_strerror  asserts glibc's EAI_ADDRFAMILY (-9) and EAI_NODATA
#                      (-5); Winsock's codes differ by design.
set(EVENT_WINE_SKIP_test-evutil-addr "EVENT_WINE_SKIP=test_gai_strerror")

foreach(name IN LISTS EVENT_WINE_TESTS)
    set(src ${CMAKE_CURRENT_SOURCE_DIR}/${name}.c)
    file(READ ${src} text)
    add_executable(${name} ${src})
    if(text MATCHES "TEST-STATIC")
        target_link_libraries(${name} PRIVATE event_test_util event_static)
        target_include_directories(${name} PRIVATE
            ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/backends)
    else()
        target_link_libraries(${name} PRIVATE event_test_util event_core)
    endif()
    target_link_libraries(${name} PRIVATE event_wine_cmocka ws2_32)
    set(timeout 120)
    if(text MATCHES "TEST-TIMEOUT ([0-9]+)")
        set(timeout ${CMAKE_MATCH_1})
    endif()
    if(text MATCHES "TEST-BACKENDS")
        foreach(variant IN ITEMS "win32:" "debug:EVTEST_DEBUG_MODE=1")
            string(REGEX MATCH "^[^:]+" vname "${variant}")
            string(REGEX REPLACE "^[^:]+:" "" envs "${variant}")
            add_test(NAME ${name}/${vname} COMMAND ${name})
            set_tests_properties(${name}/${vname} PROPERTIES
                ENVIRONMENT "${envs}" TIMEOUT ${timeout}
                LABELS "unit;wine;loop")
        endforeach()
    else()
        add_test(NAME ${name} COMMAND ${name})
        set_tests_properties(${name} PROPERTIES TIMEOUT ${timeout}
            LABELS "unit;wine")
        if(DEFINED EVENT_WINE_SKIP_${name})
            set_tests_properties(${name} PROPERTIES
                ENVIRONMENT "${EVENT_WINE_SKIP_${name}}")
        endif()
    endif()
endforeach()

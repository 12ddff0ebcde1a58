# Tests of the Windows cross-build, included by test/CMakeLists.txt when
# WIN32 and run under Wine by test/wine/run.sh (ctest uses
# CMAKE_CROSSCOMPILING_EMULATOR, set to wine by
# cmake/mingw-w64-x86_64.cmake).
#
# Debian has no cmocka for mingw-w64, so the tests link test/wine/cmocka.c,
# a small implementation of the cmocka calls they use.  The test sources
# are the Linux ones: src/win32-compat/ stands in for the POSIX headers
# they include, test/wine/include/ adds what only tests need (anonymous
# mmap for guard pages, sysconf, sa_family_t, MSG_NOSIGNAL, setenv,
# fcntl(F_GETFD) on files), and where Windows differs a test says so under
# #ifdef _WIN32 (a POSIX-only case is left out with its registration).
# Only tests that run that way are listed (EVENT_WINE_TESTS); each runs
# on the win32 backend, and loop-level tests (TEST-BACKENDS) once more in
# debug mode.  Tests that need fork(), pipes, POSIX signals or pthreads
# throughout stay Linux-only.
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

# Listed: those that build against the stand-in headers and whose
# semantics hold on Winsock.  Left out (Linux-only): test-compat, test-mm
# (SIGUSR1/SIGUSR2), test-bufferevent-filter, test-ratelim (MSG_DONTWAIT,
# fcntl close-on-exec checks, SIGPIPE), test-evutil (poll.h), test-debug
# (setrlimit), test-log (fork/wait), and the pthread tests.
# test-listener runs with its POSIX-only cases (fcntl flags, SO_REUSEPORT,
# TCP_DEFER_ACCEPT, RLIMIT_NOFILE) left out by #ifndef _WIN32.
# test-event, test-bufferevent and test-evbuffer build all their cases
# (three of test-bufferevent are skipped by name, below); they check
# Windows' facts where these differ from Linux (one backend,
# win32; SIGTERM/SIGBREAK for SIGUSR1/SIGUSR2; struct sizes of 64-bit
# Windows; Winsock error codes; temporary files).
set(EVENT_WINE_TESTS
    test-win32
    test-timer
    test-minheap
    test-bufferevent-pair
    test-evutil-addr
    test-iocp
    test-listener
    test-event
    test-bufferevent
    test-evbuffer
    test-null-args
)

# Single tests whose assertions encode Linux-only facts, skipped by name
# (test/wine/cmocka.c reads EVENT_WINE_SKIP):
#   test_gai_strerror  asserts glibc's EAI_ADDRFAMILY (-9) and EAI_NODATA
#                      (-5); Winsock's codes differ by design.
#   test_connect_hostname_fails  resolves "" to fail without a server;
#                      Windows' getaddrinfo answers "" with the local
#                      addresses.
#   test_reset_while_reading  Wine's closesocket() after SO_LINGER {1, 0}
#                      sends no RST: the peer reads EOF, not WSAECONNRESET.
#   test_connect_refused  under Wine, select() also reports a socket whose
#                      connect() was refused as readable and recv() then
#                      returns 0, so an EOF precedes the ECONNREFUSED
#                      error (libevent 2.1 reacts the same way).
set(EVENT_WINE_SKIP_test-evutil-addr "EVENT_WINE_SKIP=test_gai_strerror")
string(CONCAT EVENT_WINE_SKIP_test-bufferevent "EVENT_WINE_SKIP="
    "test_connect_hostname_fails,test_reset_while_reading,"
    "test_connect_refused")

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
            if(DEFINED EVENT_WINE_SKIP_${name})
                list(APPEND envs "${EVENT_WINE_SKIP_${name}}")
            endif()
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

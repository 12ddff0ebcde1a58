# Whole-program tests, included at the end of test/CMakeLists.txt:
#   sample/<name>/<backend>  each sample's --self-test, once per backend
#   install-consumer         install to a temp prefix, build and run a user
#                            program via pkg-config, find_package, static
#   memcached                Debian's memcached on our libevent-2.1.so.7
#   tmux                     Debian's tmux on our libevent_core (registered
#                            once the library has bufferevents)
#   unbound, nsd, inetd,     Debian's unbound, nsd, openbsd-inetd,
#   tcpbench, fstrm,         tcpbench, fstrm_capture (fstrm-bin), gearmand
#   gearmand, pgbouncer,     (gearman-job-server, with libevent_pthreads),
#   dnsproxy, poolcounter,   pgbouncer (before a private PostgreSQL),
#   memcaslap, webdis,       dnsproxy (before nsd), poolcounterd, memcaslap
#   bitlbee, apt-cacher-ng   (libmemcached-tools, against memcached),
#                            webdis (before redis-server), bitlbee and
#                            apt-cacher-ng (with libevent_pthreads) on our
#                            libevent-2.1.so.7: more of the drop-in,
#                            skipped (77) when the package cannot be
#                            installed, since no issue names them
# Labels: "samples" for the first, "programs" for the rest.  In an ASan
# build the programs run on the instrumented libraries with the ASan
# runtime preloaded (an uninstrumented executable cannot load them
# otherwise), leak detection off (the programs' own leaks are not ours),
# and any ASan or UBSan report fails the test; install-consumer is left
# out there.  In a TSan build no program is registered.

# --- samples ------------------------------------------------------------------
# "name|VAR=1,VAR=1": no ';' inside an entry, or the list would split it.
set(EVENT_SAMPLE_BACKENDS
    "epoll|EVENT_NOPOLL=1,EVENT_NOSELECT=1"
    "poll|EVENT_NOEPOLL=1,EVENT_NOSELECT=1"
    "select|EVENT_NOEPOLL=1,EVENT_NOPOLL=1")
foreach(sample IN LISTS EVENT_SAMPLES)
    if(NOT TARGET ${sample})
        continue()
    endif()
    foreach(be IN LISTS EVENT_SAMPLE_BACKENDS)
        string(REPLACE "|" ";" parts "${be}")
        string(REPLACE "," ";" parts "${parts}")
        list(GET parts 0 bename)
        list(REMOVE_AT parts 0)
        add_test(NAME sample/${sample}/${bename}
            COMMAND ${sample} --self-test)
        set_tests_properties(sample/${sample}/${bename} PROPERTIES
            ENVIRONMENT "${parts}" TIMEOUT 60 LABELS samples)
    endforeach()
endforeach()

set(EVENT_PROGRAM_ENV)
if(EVENT_SANITIZE MATCHES "thread")
    return()
elseif(EVENT_SANITIZE MATCHES "address")
    execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libasan.so
        OUTPUT_VARIABLE asan_runtime OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT IS_ABSOLUTE "${asan_runtime}" OR NOT EXISTS "${asan_runtime}")
        return()
    endif()
    # detect_odr_violation=0: a program may load both libevent-2.1.so.7
    # and libevent_core-2.1.so.7 (gearmand does, through
    # libevent_pthreads), each with the core's globals, every reference
    # bound to the first, as with Debian's libevent: by design, not a bug.
    set(EVENT_PROGRAM_ENV "LD_PRELOAD=${asan_runtime}"
        "ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:detect_odr_violation=0"
        "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
elseif(EVENT_SANITIZE)
    return()
else()
    # --- install-consumer -------------------------------------------------
    add_test(NAME install-consumer
        COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install-consumer.sh
            ${CMAKE_BINARY_DIR})
    set_tests_properties(install-consumer PROPERTIES TIMEOUT 300
        LABELS programs)
endif()

# --- memcached --------------------------------------------------------------
# The client is deliberately plain C and pthreads: no libevent.
add_executable(memcached-client memcached-client.c)
target_link_libraries(memcached-client PRIVATE Threads::Threads)
add_test(NAME memcached
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/memcached.sh
        $<TARGET_FILE:memcached-client> ${CMAKE_BINARY_DIR}/lib)
set_tests_properties(memcached PROPERTIES TIMEOUT 600 LABELS programs
    ENVIRONMENT "${EVENT_PROGRAM_ENV}")

# --- unbound, nsd, inetd, tcpbench, fstrm, gearmand, pgbouncer, dnsproxy,
# --- poolcounter, memcaslap, webdis, bitlbee, apt-cacher-ng -----------------
# Their client is plain C without libevent, like memcached-client.
add_executable(programs-client programs-client.c)
foreach(prog unbound nsd inetd tcpbench fstrm gearmand pgbouncer dnsproxy
        poolcounter memcaslap webdis bitlbee apt-cacher-ng)
    add_test(NAME ${prog}
        COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/${prog}.sh
            $<TARGET_FILE:programs-client> ${CMAKE_BINARY_DIR}/lib)
    set_tests_properties(${prog} PROPERTIES TIMEOUT 300 LABELS programs
        SKIP_RETURN_CODE 77 ENVIRONMENT "${EVENT_PROGRAM_ENV}")
endforeach()

# --- tmux -------------------------------------------------------------------
# Needs bufferevents and evbuffers.  sample/CMakeLists.txt decides
# EVENT_HAVE_BUFFEREVENT; decide the same way when samples are off.
if(NOT DEFINED EVENT_HAVE_BUFFEREVENT)
    set(EVENT_HAVE_BUFFEREVENT OFF)
    set(need bufferevent_socket_new evbuffer_remove)
    file(GLOB srcs ${PROJECT_SOURCE_DIR}/src/*buffer*.c)
    foreach(src IN LISTS srcs)
        file(STRINGS ${src} defs REGEX "^[a-z_]+\\(")
        foreach(fn IN LISTS need)
            if(defs MATCHES "(^|;)${fn}\\(")
                list(REMOVE_ITEM need ${fn})
            endif()
        endforeach()
    endforeach()
    if(NOT need)
        set(EVENT_HAVE_BUFFEREVENT ON)
    endif()
endif()
if(EVENT_HAVE_BUFFEREVENT)
    add_test(NAME tmux
        COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tmux.sh
            ${CMAKE_BINARY_DIR}/lib)
    # tmux.sh exits 77 while our core lacks a function tmux imports.
    set_tests_properties(tmux PROPERTIES TIMEOUT 300 LABELS programs
        SKIP_RETURN_CODE 77 ENVIRONMENT "${EVENT_PROGRAM_ENV}")
endif()

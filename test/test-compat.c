/*
 * test-compat.c: the libevent 1.4 style API that 2.1 keeps in
 * event2/event_compat.h: event_init() and the global current base,
 * event_set() + event_add(), event_dispatch(), event_loop(),
 * event_loopexit(), event_loopbreak(), event_once(), the timeout_*,
 * signal_* and evtimer_* macros, event_priority_init() and
 * event_get_method().
 *
 * TEST-BACKENDS: ctest runs this binary once per backend and once with
 * EVTEST_DEBUG_MODE=1.
 *
 * The fixture makes the base with event_init(), so it is the current
 * base; event_base_free() of the current base clears it again.  Events
 * are structs owned by the tests, as in 1.4 code, and are unassigned
 * before they go out of scope so debug mode forgets them.
 */
#define _GNU_SOURCE
#include "test-util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event_compat.h>
#include <event2/event_struct.h>

struct rec {
    int calls;
    short what[16];
    evutil_socket_t fd[16];
    int stop_after;     /* event_loopbreak() at this call (0: never) */
};

static void
rec_cb(evutil_socket_t fd, short what, void *arg)
{
    struct rec *r = arg;

    if (r->calls < 16) {
        r->fd[r->calls] = fd;
        r->what[r->calls] = what;
    }
    r->calls++;
    if (r->stop_after > 0 && r->calls == r->stop_after)
        event_loopbreak();
}

static int
compat_setup(void **state)
{
    struct event_base *base;

    tu_setup_nobase(state);
    base = event_init();
    if (base == NULL)
        return -1;
    *state = base;
    return 0;
}

static int
compat_teardown(void **state)
{
    return tu_teardown(state);
}

/* ------------------------------------------------------------------ */

static void
test_compat_init_is_current(void **state)
{
    struct event_base *base = *state;
    struct event ev;

    assert_non_null(base);
    assert_non_null(event_get_method());
    assert_string_equal(event_get_method(), event_base_get_method(base));
    assert_string_equal(event_get_method(), tu_expected_method());
    event_set(&ev, -1, 0, rec_cb, NULL);
    assert_ptr_equal(event_get_base(&ev), base);
    assert_true(event_initialized(&ev));
    event_debug_unassign(&ev);
}

static void
test_compat_dispatch_timer(void **state)
{
    struct timeval tv, start;
    struct event ev;
    struct rec r;

    (void)state;
    memset(&r, 0, sizeof(r));
    evtimer_set(&ev, rec_cb, &r);
    assert_true(evtimer_initialized(&ev));
    assert_false(evtimer_pending(&ev, NULL));
    tu_now(&start);
    assert_int_equal(evtimer_add(&ev, tu_tv(&tv, 30)), 0);
    assert_true(evtimer_pending(&ev, NULL));
    /* Returns 1 once nothing is left to wait for. */
    assert_int_equal(event_dispatch(), 1);
    tu_assert_ms(tu_ms_since(&start), 30);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.what[0], EV_TIMEOUT);
    assert_false(evtimer_pending(&ev, NULL));

    /* evtimer_del removes a pending timer. */
    assert_int_equal(evtimer_add(&ev, tu_tv(&tv, 30)), 0);
    assert_int_equal(evtimer_del(&ev), 0);
    assert_int_equal(event_dispatch(), 1);
    assert_int_equal(r.calls, 1);
    event_debug_unassign(&ev);
}

static void
test_compat_event_loop_flags(void **state)
{
    struct timeval tv, start;
    struct event ev;
    struct rec r;

    (void)state;
    memset(&r, 0, sizeof(r));
    evtimer_set(&ev, rec_cb, &r);
    assert_int_equal(evtimer_add(&ev, tu_tv(&tv, 40)), 0);
    tu_now(&start);
    assert_int_equal(event_loop(EVLOOP_NONBLOCK), 0);
    assert_true(tu_ms_since(&start) < 30);
    assert_int_equal(r.calls, 0);
    assert_int_equal(event_loop(EVLOOP_ONCE), 0);
    assert_int_equal(r.calls, 1);
    tu_assert_ms(tu_ms_since(&start), 40);
    assert_int_equal(event_loop(0), 1);
    event_debug_unassign(&ev);
}

static void
test_compat_io(void **state)
{
    evutil_socket_t fds[2];
    struct event ev;
    struct rec r;

    (void)state;
    tu_socketpair(fds);
    memset(&r, 0, sizeof(r));
    event_set(&ev, fds[0], EV_READ, rec_cb, &r);
    assert_int_equal(EVENT_FD(&ev), fds[0]);
    assert_int_equal(event_add(&ev, NULL), 0);
    tu_write_str(fds[1], "x");
    assert_int_equal(event_dispatch(), 1);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.what[0], EV_READ);
    assert_int_equal(r.fd[0], fds[0]);
    event_debug_unassign(&ev);
    tu_close_pair(fds);
}

static void
test_compat_loopexit(void **state)
{
    struct event_base *base = *state;
    struct timeval tv, start;
    struct event tick;
    struct rec r;

    memset(&r, 0, sizeof(r));
    event_set(&tick, -1, EV_PERSIST, rec_cb, &r);
    assert_int_equal(event_add(&tick, tu_tv(&tv, 10)), 0);
    tu_now(&start);
    assert_int_equal(event_loopexit(tu_tv(&tv, 100)), 0);
    assert_int_equal(event_dispatch(), 0);
    tu_assert_ms(tu_ms_since(&start), 100);
    assert_true(r.calls >= 2);
    assert_true(event_base_got_exit(base));
    assert_int_equal(event_del(&tick), 0);
    event_debug_unassign(&tick);
}

static void
test_compat_loopbreak(void **state)
{
    struct event_base *base = *state;
    struct event tick;
    struct timeval tv;
    struct rec r;

    memset(&r, 0, sizeof(r));
    r.stop_after = 3;
    event_set(&tick, -1, EV_PERSIST, rec_cb, &r);
    assert_int_equal(event_add(&tick, tu_tv(&tv, 5)), 0);
    assert_int_equal(event_dispatch(), 0);
    assert_int_equal(r.calls, 3);
    assert_true(event_base_got_break(base));
    assert_int_equal(event_del(&tick), 0);
    event_debug_unassign(&tick);
}

static void
test_compat_once(void **state)
{
    evutil_socket_t fds[2];
    struct timeval tv, start;
    struct rec r, rio;

    (void)state;
    tu_socketpair(fds);
    memset(&r, 0, sizeof(r));
    memset(&rio, 0, sizeof(rio));
    tu_now(&start);
    assert_int_equal(event_once(-1, EV_TIMEOUT, rec_cb, &r,
        tu_tv(&tv, 20)), 0);
    assert_int_equal(event_once(fds[0], EV_READ, rec_cb, &rio, NULL), 0);
    tu_write_str(fds[1], "x");
    assert_int_equal(event_dispatch(), 1);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.what[0], EV_TIMEOUT);
    tu_assert_ms(tu_ms_since(&start), 20);
    assert_int_equal(rio.calls, 1);
    assert_int_equal(rio.what[0], EV_READ);
    assert_int_equal(event_once(-1, EV_SIGNAL, rec_cb, &r, NULL), -1);
    tu_close_pair(fds);
}

static void
test_compat_timeout_macros(void **state)
{
    struct timeval tv, when, now;
    struct event ev;
    struct rec r;
    long ms;

    (void)state;
    memset(&r, 0, sizeof(r));
    timeout_set(&ev, rec_cb, &r);
    assert_true(timeout_initialized(&ev));
    assert_false(timeout_pending(&ev, NULL));
    assert_int_equal(timeout_add(&ev, tu_tv(&tv, 1000)), 0);
    assert_true(timeout_pending(&ev, &when));
    evutil_gettimeofday(&now, NULL);
    ms = tu_ms_between(&now, &when);
    assert_true(ms > 800 && ms <= 1200);
    assert_int_equal(timeout_del(&ev), 0);
    assert_false(timeout_pending(&ev, NULL));
    assert_int_equal(timeout_add(&ev, tu_tv(&tv, 10)), 0);
    assert_int_equal(event_dispatch(), 1);
    assert_int_equal(r.calls, 1);
    event_debug_unassign(&ev);
}

static void
test_compat_signal_macros(void **state)
{
    struct event ev;
    struct rec r;

    (void)state;
    memset(&r, 0, sizeof(r));
    signal_set(&ev, SIGUSR1, rec_cb, &r);
    assert_true(signal_initialized(&ev));
    assert_int_equal(EVENT_SIGNAL(&ev), SIGUSR1);
    assert_int_equal(event_get_events(&ev), EV_SIGNAL | EV_PERSIST);
    assert_false(signal_pending(&ev, NULL));
    assert_int_equal(signal_add(&ev, NULL), 0);
    assert_true(signal_pending(&ev, NULL));
    raise(SIGUSR1);
    assert_int_equal(tu_run_flags(event_get_base(&ev), EVLOOP_ONCE, 2000),
        0);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.what[0], EV_SIGNAL);
    assert_int_equal(r.fd[0], SIGUSR1);
    assert_int_equal(signal_del(&ev), 0);
    assert_false(signal_pending(&ev, NULL));
    assert_int_equal(event_dispatch(), 1);

    evsignal_set(&ev, SIGUSR2, rec_cb, &r);
    assert_int_equal(evsignal_add(&ev, NULL), 0);
    raise(SIGUSR2);
    assert_int_equal(tu_run_flags(event_get_base(&ev), EVLOOP_ONCE, 2000),
        0);
    assert_int_equal(r.calls, 2);
    assert_int_equal(r.fd[1], SIGUSR2);
    assert_int_equal(evsignal_del(&ev), 0);
    event_debug_unassign(&ev);
}

static int prio_log[8];
static int prio_n;

static void
prio_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    if (prio_n < 8)
        prio_log[prio_n++] = (int)(intptr_t)arg;
}

static void
test_compat_priority_init(void **state)
{
    struct event evs[3];
    int i;

    (void)state;
    assert_int_equal(event_priority_init(3), 0);
    assert_int_equal(event_priority_init(0), -1);
    prio_n = 0;
    for (i = 0; i < 3; ++i) {
        event_set(&evs[i], -1, 0, prio_cb, (void *)(intptr_t)i);
        /* New events get the middle priority. */
        assert_int_equal(event_get_priority(&evs[i]), 1);
    }
    assert_int_equal(event_priority_set(&evs[0], 2), 0);
    assert_int_equal(event_priority_set(&evs[2], 0), 0);
    for (i = 0; i < 3; ++i)
        event_active(&evs[i], EV_TIMEOUT, 0);
    assert_int_equal(event_dispatch(), 1);
    assert_int_equal(prio_n, 3);
    assert_int_equal(prio_log[0], 2);
    assert_int_equal(prio_log[1], 1);
    assert_int_equal(prio_log[2], 0);
    for (i = 0; i < 3; ++i)
        event_debug_unassign(&evs[i]);
}

static void
test_compat_base_set(void **state)
{
    struct event_base *base = *state, *other;
    struct timeval tv;
    struct event ev;
    struct rec r;

    other = event_base_new();
    assert_non_null(other);
    memset(&r, 0, sizeof(r));
    evtimer_set(&ev, rec_cb, &r);
    assert_ptr_equal(event_get_base(&ev), base);
    assert_int_equal(event_base_set(other, &ev), 0);
    assert_ptr_equal(event_get_base(&ev), other);
    assert_int_equal(evtimer_add(&ev, tu_tv(&tv, 10)), 0);
    /* The current base has nothing to do; the other one fires. */
    assert_int_equal(event_dispatch(), 1);
    assert_int_equal(r.calls, 0);
    assert_int_equal(event_base_dispatch(other), 1);
    assert_int_equal(r.calls, 1);
    event_debug_unassign(&ev);
    event_base_free(other);
}

/* The 1.4 way to use a base of one's own: event_set() with no current
 * base, then event_base_set().  And event_set()'s refusal. */
static void
test_compat_set_then_base_set(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct event ev, bad;
    struct rec r;

    tu_socketpair(fds);
    memset(&r, 0, sizeof(r));
    assert_int_equal(event_base_priority_init(base, 3), 0);
    event_set(&ev, fds[0], EV_READ | EV_PERSIST, rec_cb, &r);
    assert_true(event_initialized(&ev));
    assert_null(event_get_base(&ev));
    assert_int_equal(event_get_fd(&ev), fds[0]);
    assert_int_equal(event_get_events(&ev), EV_READ | EV_PERSIST);
    assert_int_equal(event_base_set(base, &ev), 0);
    assert_ptr_equal(event_get_base(&ev), base);
    /* The base's middle priority, as event_assign gives. */
    assert_int_equal(event_get_priority(&ev), 1);
    assert_int_equal(event_add(&ev, NULL), 0);
    /* Only an event that was set up and never added may move. */
    assert_int_equal(event_base_set(base, &ev), -1);
    assert_int_equal(write(fds[1], "x", 1), 1);
    assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.fd[0], fds[0]);
    assert_int_equal(r.what[0], EV_READ);
    assert_int_equal(event_del(&ev), 0);
    /* Set again (the re-registration of 1.4 code): the same again. */
    event_set(&ev, fds[0], EV_READ, rec_cb, &r);
    assert_int_equal(event_base_set(base, &ev), 0);
    assert_int_equal(event_add(&ev, NULL), 0);
    assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
    assert_int_equal(r.calls, 2);
    assert_false(event_pending(&ev, EV_READ, NULL));
    event_debug_unassign(&ev);

    /* A signal cannot wait for I/O too: a message, the event untouched
     * (libevent 2.1 aborts here). */
    memset(&bad, 0, sizeof(bad));
    tu_log_clear();
    event_set(&bad, fds[0], EV_SIGNAL | EV_READ, rec_cb, &r);
    assert_true(tu_log_contains("event_set"));
    assert_false(event_initialized(&bad));
    assert_int_equal(event_base_set(NULL, &ev), -1);
    assert_int_equal(event_base_set(base, NULL), -1);
    tu_close_pair(fds);
}

/* The environment variable that makes this binary the child of
 * test_compat_set_before_any_base. */
#define COMPAT_CHILD_ENV "EVTEST_COMPAT_SET_FIRST"

/* That child: event_set() is the first libevent call of a fresh process
 * (no base exists).  Debug mode may not be turned on after it, or it
 * would not know the event: event_enable_debug_mode() must end the
 * process with status 1.  Returns 0 only when it did not. */
static int
compat_child_set_first(void)
{
    struct event ev;

    alarm(10);
    event_set(&ev, -1, 0, rec_cb, NULL);
    event_enable_debug_mode();
    return 0;
}

/* event_set() with no base yet counts as setting an event up, as
 * event_assign() does: a later event_enable_debug_mode() is refused. */
static void
test_compat_set_before_any_base(void **state)
{
    char log[1024];
    size_t used = 0;
    int p[2], status;
    pid_t pid;
    ssize_t n;

    (void)state;
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        if (dup2(p[1], 2) < 0 || setenv(COMPAT_CHILD_ENV, "1", 1) != 0)
            _exit(97);
        /* A fresh image: this process has made bases already. */
        execl("/proc/self/exe", "test-compat", (char *)NULL);
        _exit(98);
    }
    close(p[1]);
    /* The child's alarm bounds this read. */
    while (used < sizeof(log) - 1) {
        n = read(p[0], log + used, sizeof(log) - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    log[used] = '\0';
    close(p[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
        fail_msg("child: status 0x%x, log: %s", status, log);
    assert_non_null(strstr(log, "event_enable_debug_mode"));
    assert_non_null(strstr(log, "before"));
}

static void
test_compat_init_replaces_current(void **state)
{
    struct event_base *first = *state, *second;
    struct event ev;

    /* A second event_init() makes a new current base. */
    second = event_init();
    assert_non_null(second);
    assert_ptr_not_equal(second, first);
    event_set(&ev, -1, 0, rec_cb, NULL);
    assert_ptr_equal(event_get_base(&ev), second);
    event_debug_unassign(&ev);
    event_base_free(second);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_compat_init_is_current,
            compat_setup, compat_teardown),
        cmocka_unit_test_setup_teardown(test_compat_dispatch_timer,
            compat_setup, compat_teardown),
        cmocka_unit_test_setup_teardown(test_compat_event_loop_flags,
            compat_setup, compat_teardown),
        cmocka_unit_test_setup_teardown(test_compat_io,
            compat_setup, compat_teardown),
        cmocka_unit_test_setup_teardown(test_compat_loopexit,
            compat_setup, compat_teardown),
        cmocka_unit_test_setup_teardown(test_compat_loopbreak,
            compat_setup, compat_teardown),
        cmocka_unit_test_setup_teardown(test_compat_once,
            compat_setup, compat_teardown),
        cmocka_unit_test_setup_teardown(test_compat_timeout_macros,
            compat_setup, compat_teardown),
        cmocka_unit_test_setup_teardown(test_compat_signal_macros,
            compat_setup, compat_teardown),
        cmocka_unit_test_setup_teardown(test_compat_priority_init,
            compat_setup, compat_teardown),
        cmocka_unit_test_setup_teardown(test_compat_base_set,
            compat_setup, compat_teardown),
        cmocka_unit_test_setup_teardown(test_compat_set_then_base_set,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_compat_set_before_any_base,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_compat_init_replaces_current,
            compat_setup, compat_teardown),
    };

    if (getenv(COMPAT_CHILD_ENV) != NULL)
        return compat_child_set_first();
    tu_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

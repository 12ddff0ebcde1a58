/*
 * test-signal.c: signal events with real signals (raise(), kill()) against
 * libevent 2.1's public API: delivery, several events per signal,
 * persistence, repeated delivery before dispatch, restoring the previous
 * handler, two bases on one signal, and fork() + event_reinit().
 *
 * TEST-BACKENDS: ctest runs this binary once per backend and once with
 * EVTEST_DEBUG_MODE=1.
 *
 * Only SIGUSR1 and SIGUSR2 are used (the watchdog owns SIGALRM).  Child
 * processes never touch cmocka: they report through their exit status,
 * and the parent waits for them with a bound.
 */
#define _GNU_SOURCE
#include "test-util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/wait.h>

struct rec {
    int calls;
    short what[16];
    evutil_socket_t fd[16];
    struct event_base *base;
    int stop_after;
};

static void
rec_init(struct rec *r, struct event_base *base)
{
    memset(r, 0, sizeof(*r));
    r->base = base;
}

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
        event_base_loopexit(r->base, NULL);
}

/*
 * Waits up to timeout_ms for child pid; kills it when it does not finish.
 * Returns its wait status, or -1 when it had to be killed.
 */
static int
wait_child(pid_t pid, long timeout_ms)
{
    struct timeval start;
    int status;
    pid_t r;

    tu_now(&start);
    for (;;) {
        r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1;
        if (tu_ms_since(&start) > timeout_ms) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        tu_sleep_ms(5);
    }
}

static void
assert_child_ok(int status)
{
    if (status == -1)
        fail_msg("child did not finish in time");
    if (!WIFEXITED(status))
        fail_msg("child died with signal %d", WTERMSIG(status));
    if (WEXITSTATUS(status) != 0)
        fail_msg("child reported failure bits 0x%x", WEXITSTATUS(status));
}

/* ------------------------------------------------------------------ */

static void
test_signal_delivered(void **state)
{
    struct event_base *base = *state;
    struct event *ev;
    struct rec r;

    rec_init(&r, base);
    ev = event_new(base, SIGUSR1, EV_SIGNAL, rec_cb, &r);
    assert_non_null(ev);
    assert_int_equal(event_add(ev, NULL), 0);
    assert_int_equal(evsignal_pending(ev, NULL), EV_SIGNAL);
    assert_int_equal(raise(SIGUSR1), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.what[0], EV_SIGNAL);
    assert_int_equal(r.fd[0], SIGUSR1);
    /* Without EV_PERSIST it is gone after firing. */
    assert_int_equal(evsignal_pending(ev, NULL), 0);
    event_free(ev);
}

static void
test_signal_two_signals(void **state)
{
    struct event_base *base = *state;
    struct event *e1, *e2;
    struct rec r1, r2;

    rec_init(&r1, base);
    rec_init(&r2, base);
    e1 = evsignal_new(base, SIGUSR1, rec_cb, &r1);
    e2 = evsignal_new(base, SIGUSR2, rec_cb, &r2);
    assert_int_equal(evsignal_add(e1, NULL), 0);
    assert_int_equal(evsignal_add(e2, NULL), 0);
    assert_int_equal(kill(getpid(), SIGUSR2), 0);
    assert_int_equal(tu_run_flags(base, EVLOOP_ONCE, 2000), 0);
    assert_int_equal(r1.calls, 0);
    assert_int_equal(r2.calls, 1);
    assert_int_equal(r2.fd[0], SIGUSR2);
    assert_int_equal(kill(getpid(), SIGUSR1), 0);
    assert_int_equal(tu_run_flags(base, EVLOOP_ONCE, 2000), 0);
    assert_int_equal(r1.calls, 1);
    assert_int_equal(r1.fd[0], SIGUSR1);
    assert_int_equal(r2.calls, 1);
    event_free(e1);
    event_free(e2);
}

static void
test_signal_several_events(void **state)
{
    struct event_base *base = *state;
    struct event *evs[3];
    struct rec r[3];
    int i;

    for (i = 0; i < 3; ++i) {
        rec_init(&r[i], base);
        evs[i] = evsignal_new(base, SIGUSR1, rec_cb, &r[i]);
        assert_int_equal(evsignal_add(evs[i], NULL), 0);
    }
    raise(SIGUSR1);
    assert_int_equal(tu_run_flags(base, EVLOOP_ONCE, 2000), 0);
    for (i = 0; i < 3; ++i) {
        assert_int_equal(r[i].calls, 1);
        assert_int_equal(r[i].what[0], EV_SIGNAL);
    }
    /* Deleting one leaves the others subscribed. */
    assert_int_equal(evsignal_del(evs[1]), 0);
    raise(SIGUSR1);
    assert_int_equal(tu_run_flags(base, EVLOOP_ONCE, 2000), 0);
    assert_int_equal(r[0].calls, 2);
    assert_int_equal(r[1].calls, 1);
    assert_int_equal(r[2].calls, 2);
    for (i = 0; i < 3; ++i)
        event_free(evs[i]);
}

static void
raiser_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    raise((int)(intptr_t)arg);
}

static void
test_signal_persist(void **state)
{
    struct event_base *base = *state;
    struct event *ev, *tick;
    struct timeval tv;
    struct rec r;

    rec_init(&r, base);
    r.stop_after = 3;
    ev = evsignal_new(base, SIGUSR2, rec_cb, &r);
    assert_int_equal(event_get_events(ev), EV_SIGNAL | EV_PERSIST);
    tick = event_new(base, -1, EV_PERSIST, raiser_cb, (void *)SIGUSR2);
    assert_int_equal(evsignal_add(ev, NULL), 0);
    assert_int_equal(event_add(tick, tu_tv(&tv, 15)), 0);
    assert_int_equal(tu_run(base, 3000), 0);
    assert_int_equal(r.calls, 3);
    assert_int_equal(evsignal_pending(ev, NULL), EV_SIGNAL);
    event_free(tick);
    event_free(ev);
}

static void
test_signal_ncalls(void **state)
{
    struct event_base *base = *state;
    struct event *ev;
    struct rec r;

    /* Each delivery before the loop runs is one callback invocation. */
    rec_init(&r, base);
    ev = evsignal_new(base, SIGUSR1, rec_cb, &r);
    assert_int_equal(evsignal_add(ev, NULL), 0);
    raise(SIGUSR1);
    raise(SIGUSR1);
    assert_int_equal(tu_run_flags(base, EVLOOP_ONCE, 2000), 0);
    if (getenv("EVENT_USE_SIGNALFD") != NULL) {
        /* Our signalfd opt-in (src/signal-fd.c): the signal is blocked
         * while watched, and a blocked standard signal does not queue. */
        assert_int_equal(r.calls, 1);
    } else {
        assert_int_equal(r.calls, 2);
        assert_int_equal(r.what[1], EV_SIGNAL);
    }
    assert_int_equal(r.what[0], EV_SIGNAL);
    event_free(ev);
}

struct self_del {
    struct event *ev;
    int calls;
};

static void
self_del_cb(evutil_socket_t fd, short what, void *arg)
{
    struct self_del *s = arg;

    (void)fd;
    (void)what;
    s->calls++;
    event_del(s->ev);
}

static void
test_signal_del_stops_ncalls(void **state)
{
    struct event_base *base = *state;
    struct self_del s;

    /* Deleting the event from its callback cancels the pending repeats. */
    memset(&s, 0, sizeof(s));
    s.ev = evsignal_new(base, SIGUSR1, self_del_cb, &s);
    assert_int_equal(evsignal_add(s.ev, NULL), 0);
    raise(SIGUSR1);
    raise(SIGUSR1);
    raise(SIGUSR1);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(s.calls, 1);
    event_free(s.ev);
}

static void
test_signal_del_before_dispatch(void **state)
{
    struct event_base *base = *state;
    struct sigaction sa, old;
    struct event *ev;
    struct rec r;

    /* Keep a stray SIGUSR2 harmless once libevent lets go of it. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, &old);

    rec_init(&r, base);
    ev = evsignal_new(base, SIGUSR2, rec_cb, &r);
    assert_int_equal(evsignal_add(ev, NULL), 0);
    raise(SIGUSR2);
    assert_int_equal(evsignal_del(ev), 0);
    assert_int_equal(tu_run(base, 100), 1);
    assert_int_equal(r.calls, 0);
    event_free(ev);
    sigaction(SIGUSR2, &old, NULL);
}

static void
test_signal_with_timeout(void **state)
{
    struct event_base *base = *state;
    struct timeval tv, start;
    struct event *ev;
    struct rec r;

    rec_init(&r, base);
    ev = event_new(base, SIGUSR2, EV_SIGNAL, rec_cb, &r);
    tu_now(&start);
    assert_int_equal(event_add(ev, tu_tv(&tv, 50)), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.what[0], EV_TIMEOUT);
    assert_int_equal(r.fd[0], SIGUSR2);
    tu_assert_ms(tu_ms_since(&start), 50);
    event_free(ev);
}

/* ------------------------------------------------------------------ */
/* Previous handlers. */

static volatile sig_atomic_t my_handler_hits;

static void
my_handler(int sig)
{
    (void)sig;
    my_handler_hits++;
}

static void *
current_handler(int sig)
{
    struct sigaction sa;

    assert_int_equal(sigaction(sig, NULL, &sa), 0);
    return (void *)sa.sa_handler;
}

static void
test_signal_old_handler_restored(void **state)
{
    struct event_base *base = *state;
    struct sigaction sa, saved;
    struct event *e1, *e2;
    struct rec r1, r2;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = my_handler;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, &saved), 0);
    my_handler_hits = 0;

    rec_init(&r1, base);
    rec_init(&r2, base);
    e1 = evsignal_new(base, SIGUSR1, rec_cb, &r1);
    e2 = evsignal_new(base, SIGUSR1, rec_cb, &r2);
    /* Creating an event does not install anything yet. */
    assert_ptr_equal(current_handler(SIGUSR1), (void *)my_handler);
    assert_int_equal(evsignal_add(e1, NULL), 0);
    assert_int_equal(evsignal_add(e2, NULL), 0);
    assert_ptr_not_equal(current_handler(SIGUSR1), (void *)my_handler);

    raise(SIGUSR1);
    assert_int_equal(tu_run_flags(base, EVLOOP_ONCE, 2000), 0);
    assert_int_equal(r1.calls, 1);
    assert_int_equal(r2.calls, 1);
    assert_int_equal(my_handler_hits, 0);

    /* Still one event on the signal: libevent keeps its handler. */
    assert_int_equal(evsignal_del(e1), 0);
    assert_ptr_not_equal(current_handler(SIGUSR1), (void *)my_handler);

    /* The last one gone: the previous handler is back. */
    assert_int_equal(evsignal_del(e2), 0);
    assert_ptr_equal(current_handler(SIGUSR1), (void *)my_handler);
    raise(SIGUSR1);
    assert_int_equal(my_handler_hits, 1);
    assert_int_equal(r2.calls, 1);

    /* Freeing an added event restores it too. */
    assert_int_equal(evsignal_add(e1, NULL), 0);
    assert_ptr_not_equal(current_handler(SIGUSR1), (void *)my_handler);
    event_free(e1);
    assert_ptr_equal(current_handler(SIGUSR1), (void *)my_handler);
    event_free(e2);
    assert_int_equal(sigaction(SIGUSR1, &saved, NULL), 0);
}

static void
test_signal_two_bases(void **state)
{
    struct event_base *b1 = *state, *b2;
    struct sigaction sa, saved;
    struct event *e1, *e2;
    struct rec r1, r2;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = my_handler;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR2, &sa, &saved), 0);
    my_handler_hits = 0;

    b2 = event_base_new();
    assert_non_null(b2);
    rec_init(&r1, b1);
    rec_init(&r2, b2);
    e1 = evsignal_new(b1, SIGUSR2, rec_cb, &r1);
    e2 = evsignal_new(b2, SIGUSR2, rec_cb, &r2);
    assert_int_equal(evsignal_add(e1, NULL), 0);
    /* libevent handles signals in one base at a time; a second base
     * taking the same signal is allowed but warned about, and the most
     * recently added (or most recently looping) base gets deliveries. */
    tu_log_clear();
    assert_int_equal(evsignal_add(e2, NULL), 0);
    /* kqueue's EVFILT_SIGNAL is per kqueue: every base gets the signal,
     * and there is nothing to warn about. */
    if (strcmp(event_base_get_method(b2), "kqueue") != 0)
        tu_assert_logged_error();

    raise(SIGUSR2);
    assert_int_equal(tu_run(b2, 100), 1);
    assert_int_equal(tu_run(b1, 100), 1);
    assert_true(r1.calls + r2.calls >= 1);
    assert_int_equal(my_handler_hits, 0);

    /* Take the handlers down in the reverse order of installation. */
    event_free(e2);
    event_free(e1);
    event_base_free(b2);
    assert_ptr_equal(current_handler(SIGUSR2), (void *)my_handler);
    assert_int_equal(sigaction(SIGUSR2, &saved, NULL), 0);
}

/* ------------------------------------------------------------------ */
/* Asynchronous delivery and fork. */

static void
test_signal_wakes_blocked_loop(void **state)
{
    struct event_base *base = *state;
    struct timeval start;
    struct event *ev;
    struct rec r;
    pid_t pid;

    rec_init(&r, base);
    r.stop_after = 1;
    ev = evsignal_new(base, SIGUSR1, rec_cb, &r);
    assert_int_equal(evsignal_add(ev, NULL), 0);
    tu_now(&start);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        tu_sleep_ms(100);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    /* The loop sleeps in the backend until the signal arrives. */
    assert_int_equal(tu_run(base, 5000), 0);
    assert_int_equal(r.calls, 1);
    tu_assert_ms(tu_ms_since(&start), 100);
    assert_child_ok(wait_child(pid, 5000));
    event_free(ev);
}

/* State for one side of the fork test. */
struct side {
    struct event_base *base;
    int io_calls;
    int sig_calls;
};

static void
side_io_cb(evutil_socket_t fd, short what, void *arg)
{
    struct side *s = arg;

    (void)what;
    tu_drain(fd);
    s->io_calls++;
    if (s->io_calls > 0 && s->sig_calls > 0)
        event_base_loopexit(s->base, NULL);
}

static void
side_sig_cb(evutil_socket_t fd, short what, void *arg)
{
    struct side *s = arg;

    (void)fd;
    (void)what;
    s->sig_calls++;
    if (s->io_calls > 0 && s->sig_calls > 0)
        event_base_loopexit(s->base, NULL);
}

static int
run_child(struct event_base *base, struct side *s, struct event *io_mine,
    struct event *io_parents, evutil_socket_t wfd)
{
    int bits = 0;
    int r;

    alarm(10);
    if (event_reinit(base) != 0)
        return 1;
    /* The parent's socket is shared; leave its data to the parent. */
    event_del(io_parents);
    if (send(wfd, "c", 1, MSG_NOSIGNAL) != 1)
        bits |= 2;
    raise(SIGUSR1);
    r = tu_run(base, 3000);
    if (r != 0)
        bits |= 4;
    if (s->io_calls < 1)
        bits |= 8;
    if (s->sig_calls < 1)
        bits |= 16;
    (void)io_mine;
    return bits;
}

static void
test_signal_fork_reinit(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t pp[2], pc[2];
    struct event *evp, *evc, *evs;
    struct side s;
    pid_t pid;

    tu_socketpair(pp);
    tu_socketpair(pc);
    memset(&s, 0, sizeof(s));
    s.base = base;
    evp = event_new(base, pp[0], EV_READ | EV_PERSIST, side_io_cb, &s);
    evc = event_new(base, pc[0], EV_READ | EV_PERSIST, side_io_cb, &s);
    evs = evsignal_new(base, SIGUSR1, side_sig_cb, &s);
    assert_int_equal(event_add(evp, NULL), 0);
    assert_int_equal(event_add(evc, NULL), 0);
    assert_int_equal(evsignal_add(evs, NULL), 0);
    /* Run the loop once so the backend state exists before forking. */
    assert_int_equal(tu_loop(base, EVLOOP_NONBLOCK), 0);

    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(run_child(base, &s, evc, evp, pc[1]));

    /* Parent: keeps its registrations without reinit. */
    assert_int_equal(event_del(evc), 0);
    tu_write_str(pp[1], "p");
    raise(SIGUSR1);
    assert_int_equal(tu_run(base, 3000), 0);
    assert_true(s.io_calls >= 1);
    assert_true(s.sig_calls >= 1);
    assert_child_ok(wait_child(pid, 10000));

    /* The parent's base still works after the child is gone. */
    s.io_calls = s.sig_calls = 0;
    tu_write_str(pp[1], "p");
    raise(SIGUSR1);
    assert_int_equal(tu_run(base, 3000), 0);
    assert_true(s.io_calls >= 1 && s.sig_calls >= 1);

    event_free(evp);
    event_free(evc);
    event_free(evs);
    tu_close_pair(pp);
    tu_close_pair(pc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_signal_delivered,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_signal_two_signals,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_signal_several_events,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_signal_persist,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_signal_ncalls,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_signal_del_stops_ncalls,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_signal_del_before_dispatch,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_signal_with_timeout,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_signal_old_handler_restored,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_signal_two_bases,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_signal_wakes_blocked_loop,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_signal_fork_reinit,
            tu_setup, tu_teardown),
    };

    tu_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

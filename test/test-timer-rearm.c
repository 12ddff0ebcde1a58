/*
 * test-timer-rearm.c: the cheap paths of re-arming timeouts keep
 * libevent 2.1's behaviour.
 *
 * A pending timeout moved later is not moved in the timer heap at once
 * (src/minheap-internal.h, min_heap_postpone_); the persistent I/O event
 * with a timeout is re-armed before each callback and often re-added in
 * it; readiness reported by the backend is queued without a wake-up.
 * These tests check, through the public API only, what a program can
 * see of that: a postponed timer fires at its new deadline and not
 * before, timers with equal deadlines still fire in the order they were
 * (re)scheduled (the heap does not order them: the loop sorts each run
 * of ties), event_pending reports the new deadline, a busy
 * persistent I/O event never times out while its idle twin does, and
 * event_base_active_by_fd from another thread wakes a blocked loop.
 *
 * TEST-BACKENDS: ctest runs this binary once per backend and once with
 * EVTEST_DEBUG_MODE=1.
 * TEST-THREADS
 */
#define _GNU_SOURCE
#include "test-util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/thread.h>

#define MAX_HITS 64

struct hits {
    int n;
    int id[MAX_HITS];
    short what[MAX_HITS];
    long ms[MAX_HITS];
    struct timeval start;
};

static struct hits H;

static void
hits_reset(void)
{
    memset(&H, 0, sizeof(H));
    tu_now(&H.start);
}

static void
hit_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    if (H.n < MAX_HITS) {
        H.id[H.n] = (int)(intptr_t)arg;
        H.what[H.n] = what;
        H.ms[H.n] = tu_ms_since(&H.start);
    }
    H.n++;
}

/* Shuffle perm[0..n) (Fisher-Yates), the same way for a given seed. */
static void
shuffle(int *perm, int n, unsigned long r)
{
    int i;

    for (i = n - 1; i > 0; --i) {
        int j, t;
        r = r * 6364136223846793005UL + 1442695040888963407UL;
        j = (int)((r >> 33) % (unsigned long)(i + 1));
        t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* ------------------------------------------------------------------ */
/* A timer postponed again and again fires once, at the last deadline. */

static void
test_postponed_many_times(void **state)
{
    struct event_base *base = *state;
    struct timeval tv, pend;
    struct event *ev;
    int i;

    hits_reset();
    ev = evtimer_new(base, hit_cb, (void *)1);
    assert_non_null(ev);
    for (i = 1; i <= 10; ++i)
        assert_int_equal(evtimer_add(ev, tu_tv(&tv, 20 * i)), 0);
    assert_true(evtimer_pending(ev, &pend));
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(H.n, 1);
    tu_assert_ms(H.ms[0], 200);
    event_free(ev);
}

/* ------------------------------------------------------------------ */
/* Equal deadlines after postponing: the last (re)scheduled fires last. */

struct order_ctx {
    struct event_base *base;
    struct event *ev[4];
};

static void
schedule_cb(evutil_socket_t fd, short what, void *arg)
{
    struct order_ctx *c = arg;
    struct timeval tv;

    (void)fd;
    (void)what;
    /* Inside a callback every deadline counts from one cached time. */
    evtimer_add(c->ev[0], tu_tv(&tv, 100));
    evtimer_add(c->ev[1], tu_tv(&tv, 150));
    evtimer_add(c->ev[2], tu_tv(&tv, 200));
    evtimer_add(c->ev[0], tu_tv(&tv, 150)); /* later: postponed */
    evtimer_add(c->ev[2], tu_tv(&tv, 150)); /* earlier */
    evtimer_add(c->ev[3], tu_tv(&tv, 150)); /* new */
    evtimer_add(c->ev[1], tu_tv(&tv, 150)); /* same again: goes last */
}

static void
test_equal_deadlines_after_postpone(void **state)
{
    struct event_base *base = *state;
    struct order_ctx c;
    struct event *kick;
    struct timeval tv;
    static const int want[4] = {0, 2, 3, 1};
    int i;

    hits_reset();
    c.base = base;
    for (i = 0; i < 4; ++i) {
        c.ev[i] = evtimer_new(base, hit_cb, (void *)(intptr_t)i);
        assert_non_null(c.ev[i]);
    }
    kick = evtimer_new(base, schedule_cb, &c);
    assert_int_equal(evtimer_add(kick, tu_tv(&tv, 0)), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(H.n, 4);
    for (i = 0; i < 4; ++i) {
        if (H.id[i] != want[i])
            fail_msg("hit %d is timer %d, expected %d", i, H.id[i],
                want[i]);
        tu_assert_ms(H.ms[i], 150);
    }
    for (i = 0; i < 4; ++i)
        event_free(c.ev[i]);
    event_free(kick);
}

/* ------------------------------------------------------------------ */
/* Thousands of timers with one deadline, scheduled from one callback in
 * a scrambled order (armed, half cancelled in arming order, re-armed in
 * reverse, then all rescheduled in a random order): they fire in the
 * order of their last scheduling, and the first callback's event_del of
 * the last one keeps it from running. */

#define MANY_TIES 3000

struct ties_ctx {
    struct event *ev[MANY_TIES];
    int perm[MANY_TIES];
    int order[MANY_TIES];
    int n;
};

static struct ties_ctx *TC;

static void
tie_hit_cb(evutil_socket_t fd, short what, void *arg)
{
    int id = (int)(intptr_t)arg;
    (void)fd;
    (void)what;
    if (TC->n < MANY_TIES)
        TC->order[TC->n] = id;
    if (TC->n++ == 0)
        event_del(TC->ev[TC->perm[MANY_TIES - 1]]);
}

static void
ties_schedule_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ties_ctx *c = arg;
    struct timeval tv;
    int i;

    (void)fd;
    (void)what;
    for (i = 0; i < MANY_TIES; ++i)
        assert_int_equal(evtimer_add(c->ev[i], tu_tv(&tv, 200)), 0);
    for (i = 0; i < MANY_TIES / 2; ++i)
        assert_int_equal(event_del(c->ev[i]), 0);
    for (i = MANY_TIES / 2; i-- > 0;)
        assert_int_equal(evtimer_add(c->ev[i], tu_tv(&tv, 200)), 0);
    for (i = 0; i < MANY_TIES; ++i)
        assert_int_equal(evtimer_add(c->ev[c->perm[i]], tu_tv(&tv, 200)), 0);
}

static void
test_many_equal_deadlines_in_order(void **state)
{
    struct event_base *base = *state;
    struct ties_ctx *c = calloc(1, sizeof(*c));
    struct event *kick;
    struct timeval tv;
    int i;

    assert_non_null(c);
    TC = c;
    for (i = 0; i < MANY_TIES; ++i) {
        c->ev[i] = evtimer_new(base, tie_hit_cb, (void *)(intptr_t)i);
        assert_non_null(c->ev[i]);
        c->perm[i] = i;
    }
    shuffle(c->perm, MANY_TIES, 12345);
    kick = evtimer_new(base, ties_schedule_cb, c);
    assert_int_equal(evtimer_add(kick, tu_tv(&tv, 0)), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(c->n, MANY_TIES - 1);
    for (i = 0; i < MANY_TIES - 1; ++i)
        if (c->order[i] != c->perm[i])
            fail_msg("hit %d is timer %d, expected %d", i, c->order[i],
                c->perm[i]);
    for (i = 0; i < MANY_TIES; ++i)
        event_free(c->ev[i]);
    event_free(kick);
    free(c);
}

/* ------------------------------------------------------------------ */
/* A mass of postponed timers whose old deadline passes at once (the loop
 * then re-keys the whole heap rather than each entry in turn): each
 * fires at its new deadline, in deadline order, ties in the order they
 * were rescheduled, and a timer never postponed but due in between
 * fires before them all. */

#define MASS 3000
#define MASS_PLAIN 10
#define MASS_GROUPS 5

struct mass_ctx {
    struct event *ev[MASS + MASS_PLAIN];
    int perm[MASS];
    int order[MASS + MASS_PLAIN];
    long ms[MASS + MASS_PLAIN];
    struct timeval start;
    int n;
};

static struct mass_ctx *MC;

static void
mass_hit_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    if (MC->n < MASS + MASS_PLAIN) {
        MC->order[MC->n] = (int)(intptr_t)arg;
        MC->ms[MC->n] = tu_ms_since(&MC->start);
    }
    MC->n++;
}

/* Rescheduled timer perm[k] moves to 100 + 20 * (k % MASS_GROUPS) ms. */
static long
mass_new_ms(int k)
{
    return 100 + 20 * (k % MASS_GROUPS);
}

static void
mass_schedule_cb(evutil_socket_t fd, short what, void *arg)
{
    struct mass_ctx *c = arg;
    struct timeval tv;
    int i;

    (void)fd;
    (void)what;
    for (i = 0; i < MASS; ++i)
        assert_int_equal(evtimer_add(c->ev[i], tu_tv(&tv, 50)), 0);
    for (i = 0; i < MASS_PLAIN; ++i)
        assert_int_equal(evtimer_add(c->ev[MASS + i], tu_tv(&tv, 80)), 0);
    for (i = 0; i < MASS; ++i)
        assert_int_equal(
            evtimer_add(c->ev[c->perm[i]], tu_tv(&tv, mass_new_ms(i))), 0);
}

static void
test_mass_postpone_order(void **state)
{
    struct event_base *base = *state;
    struct mass_ctx *c = calloc(1, sizeof(*c));
    struct event *kick;
    struct timeval tv;
    int i, g, k, at;

    assert_non_null(c);
    MC = c;
    for (i = 0; i < MASS + MASS_PLAIN; ++i) {
        c->ev[i] = evtimer_new(base, mass_hit_cb, (void *)(intptr_t)i);
        assert_non_null(c->ev[i]);
    }
    for (i = 0; i < MASS; ++i)
        c->perm[i] = i;
    shuffle(c->perm, MASS, 777);
    kick = evtimer_new(base, mass_schedule_cb, c);
    assert_int_equal(evtimer_add(kick, tu_tv(&tv, 0)), 0);
    /* Before the loop reads the time it arms the timers with: with the
     * coarse clock's slack, a lower bound for every deadline. */
    tu_now(&c->start);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(c->n, MASS + MASS_PLAIN);
    /* The plain timers first, in the order they were armed. */
    for (i = 0; i < MASS_PLAIN; ++i) {
        if (c->order[i] != MASS + i)
            fail_msg("hit %d is timer %d, expected %d", i, c->order[i],
                MASS + i);
        if (c->ms[i] < 80 - TU_EARLY_MS)
            fail_msg("plain timer %d fired at %ld ms", i, c->ms[i]);
    }
    /* Then each group of new deadlines, in rescheduling order. */
    at = MASS_PLAIN;
    for (g = 0; g < MASS_GROUPS; ++g)
        for (k = g; k < MASS; k += MASS_GROUPS, ++at) {
            if (c->order[at] != c->perm[k])
                fail_msg("hit %d is timer %d, expected %d", at,
                    c->order[at], c->perm[k]);
            if (c->ms[at] < mass_new_ms(k) - TU_EARLY_MS)
                fail_msg("timer %d fired at %ld ms, before %ld", c->perm[k],
                    c->ms[at], mass_new_ms(k));
        }
    for (i = 0; i < MASS + MASS_PLAIN; ++i)
        event_free(c->ev[i]);
    event_free(kick);
    free(c);
}

/* ------------------------------------------------------------------ */
/* event_pending reports the postponed deadline, not the old one. */

static void
test_pending_after_postpone(void **state)
{
    struct event_base *base = *state;
    struct timeval tv, p1, p2, now;
    struct event *ev;

    ev = evtimer_new(base, hit_cb, (void *)1);
    assert_int_equal(evtimer_add(ev, tu_tv(&tv, 100)), 0);
    assert_true(evtimer_pending(ev, &p1));
    assert_int_equal(evtimer_add(ev, tu_tv(&tv, 5000)), 0);
    assert_true(evtimer_pending(ev, &p2));
    /* Wall-clock deadlines: about 4.9 s apart. */
    assert_true(tu_ms_between(&p1, &p2) > 4800);
    evutil_gettimeofday(&now, NULL);
    assert_true(tu_ms_between(&now, &p2) > 4500);
    event_free(ev);
}

/* ------------------------------------------------------------------ */
/* Persistent I/O with a timeout: busy never times out, idle does. */

struct io_ctx {
    struct event_base *base;
    evutil_socket_t busy[2];
    evutil_socket_t idle[2];
    struct event *busy_ev, *idle_ev, *feeder, *stop;
    int feeds, busy_reads, busy_timeouts, idle_timeouts;
    int readd_in_cb;
    long last_feed_ms, first_busy_timeout_ms;
};

static void
busy_cb(evutil_socket_t fd, short what, void *arg)
{
    struct io_ctx *c = arg;
    struct timeval tv;

    /* Data and an expired deadline can be reported together when the
     * process was descheduled past the deadline (seen under TSan on a
     * loaded machine): that is a read, not an idle timeout. */
    if (what == EV_TIMEOUT) {
        if (c->busy_timeouts++ == 0)
            c->first_busy_timeout_ms = tu_ms_since(&H.start);
        return;
    }
    if (c->readd_in_cb)
        event_add(c->busy_ev, tu_tv(&tv, 120));
    tu_drain(fd);
    c->busy_reads++;
}

static void
idle_cb(evutil_socket_t fd, short what, void *arg)
{
    struct io_ctx *c = arg;
    (void)fd;
    if (what & EV_TIMEOUT)
        c->idle_timeouts++;
}

static void
feed_cb(evutil_socket_t fd, short what, void *arg)
{
    struct io_ctx *c = arg;
    (void)fd;
    (void)what;
    if (c->feeds < 8) {
        tu_write_str(c->busy[1], "x");
        c->feeds++;
        c->last_feed_ms = tu_ms_since(&H.start);
    } else {
        event_del(c->feeder);
    }
}

static void
run_io_rearm(struct event_base *base, int readd_in_cb)
{
    struct io_ctx c;
    struct timeval tv;

    memset(&c, 0, sizeof(c));
    hits_reset();
    c.base = base;
    c.readd_in_cb = readd_in_cb;
    tu_socketpair(c.busy);
    tu_socketpair(c.idle);
    c.busy_ev = event_new(base, c.busy[0], EV_READ | EV_PERSIST, busy_cb,
        &c);
    c.idle_ev = event_new(base, c.idle[0], EV_READ | EV_PERSIST, idle_cb,
        &c);
    c.feeder = event_new(base, -1, EV_PERSIST, feed_cb, &c);
    assert_int_equal(event_add(c.busy_ev, tu_tv(&tv, 120)), 0);
    assert_int_equal(event_add(c.idle_ev, tu_tv(&tv, 120)), 0);
    assert_int_equal(event_add(c.feeder, tu_tv(&tv, 40)), 0);
    /* Feeds at 40..320 ms; the busy event may time out only 120 ms
     * after the last one; stop at 700 ms. */
    assert_int_equal(tu_run(base, 700), 1);

    assert_int_equal(c.feeds, 8);
    assert_int_equal(c.busy_reads, 8);
    assert_true(c.busy_timeouts >= 1);
    if (c.first_busy_timeout_ms < c.last_feed_ms + 120 - TU_EARLY_MS)
        fail_msg("busy event timed out at %ld ms, last feed at %ld ms",
            c.first_busy_timeout_ms, c.last_feed_ms);
    /* Idle: every 120 ms from the start, five times in 700 ms (fewer
     * when the machine is slow, never more). */
    assert_true(c.idle_timeouts >= 3 && c.idle_timeouts <= 5);

    event_free(c.busy_ev);
    event_free(c.idle_ev);
    event_free(c.feeder);
    tu_close_pair(c.busy);
    tu_close_pair(c.idle);
}

static void
test_persist_io_timeout_rearm(void **state)
{
    run_io_rearm(*state, 0);
}

static void
test_persist_io_timeout_readd_in_cb(void **state)
{
    run_io_rearm(*state, 1);
}

/* ------------------------------------------------------------------ */
/* Re-adding a persistent event with a longer interval from its callback
 * (the lock-free re-arm in event_add) also changes the interval the
 * event is re-armed with after each timeout. */

struct interval_ctx {
    int reads, timeouts;
    long first_timeout_ms;
    struct event *ev;
};

static void
interval_cb(evutil_socket_t fd, short what, void *arg)
{
    struct interval_ctx *c = arg;
    struct timeval tv;

    if (what & EV_READ) {
        tu_drain(fd);
        c->reads++;
        event_add(c->ev, tu_tv(&tv, 300)); /* later than the 60 ms one */
        return;
    }
    if (c->timeouts++ == 0)
        c->first_timeout_ms = tu_ms_since(&H.start);
}

static void
run_interval_change(struct event_base *base)
{
    struct interval_ctx c;
    evutil_socket_t fds[2];
    struct timeval tv;

    memset(&c, 0, sizeof(c));
    hits_reset();
    tu_socketpair(fds);
    c.ev = event_new(base, fds[0], EV_READ | EV_PERSIST, interval_cb, &c);
    assert_non_null(c.ev);
    assert_int_equal(event_add(c.ev, tu_tv(&tv, 60)), 0);
    tu_write_str(fds[1], "x");
    assert_int_equal(tu_run(base, 700), 1);
    assert_int_equal(c.reads, 1);
    /* Every 300 ms after the read: at most two timeouts in 700 ms; the
     * old 60 ms interval would give about ten. */
    assert_true(c.timeouts >= 1 && c.timeouts <= 2);
    if (c.first_timeout_ms < 300 - TU_EARLY_MS)
        fail_msg("first timeout at %ld ms, expected about 300",
            c.first_timeout_ms);
    event_free(c.ev);
    tu_close_pair(fds);
}

/* On the locked base of the fixture, and on one without locks, which
 * takes event_add's lock-free path. */
static void
test_persist_interval_changed_in_cb(void **state)
{
    struct event_config *cfg;
    struct event_base *nolock;

    run_interval_change(*state);
    cfg = event_config_new();
    assert_non_null(cfg);
    assert_int_equal(event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK), 0);
    nolock = event_base_new_with_config(cfg);
    event_config_free(cfg);
    assert_non_null(nolock);
    run_interval_change(nolock);
    event_base_free(nolock);
}

/* ------------------------------------------------------------------ */
/* event_base_active_by_fd from another thread wakes a blocked loop. */

struct poke {
    struct event_base *base;
    evutil_socket_t fd;
};

static void *
poke_thread(void *arg)
{
    struct poke *p = arg;
    usleep(100 * 1000);
    event_base_active_by_fd(p->base, p->fd, EV_READ);
    return NULL;
}

static void
poked_cb(evutil_socket_t fd, short what, void *arg)
{
    struct event_base *base = arg;
    hit_cb(fd, what, (void *)7);
    event_base_loopbreak(base);
}

static void
test_active_by_fd_from_thread(void **state)
{
    struct event_base *base;
    struct event *ev;
    evutil_socket_t fds[2];
    struct poke p;
    pthread_t th;

    (void)state;
    base = event_base_new();
    assert_non_null(base);
    hits_reset();
    tu_socketpair(fds);
    ev = event_new(base, fds[0], EV_READ | EV_PERSIST, poked_cb, base);
    assert_int_equal(event_add(ev, NULL), 0);
    p.base = base;
    p.fd = fds[0];
    assert_int_equal(pthread_create(&th, NULL, poke_thread, &p), 0);
    /* Nothing is written: only the poke can end this loop early. */
    assert_int_equal(tu_run(base, 3000), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(H.n, 1);
    assert_int_equal(H.what[0], EV_READ);
    assert_true(H.ms[0] < 2000);
    event_free(ev);
    event_base_free(base);
    tu_close_pair(fds);
}

/* A base without a lock, where event_add takes its lock-free paths
 * (the other tests run with locks on). */
static int
setup_nolock(void **state)
{
    struct event_config *cfg;

    tu_setup_nobase(state);
    cfg = event_config_new();
    if (cfg == NULL ||
        event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK) != 0)
        return -1;
    *state = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return *state != NULL ? 0 : -1;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_postponed_many_times,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_equal_deadlines_after_postpone,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_many_equal_deadlines_in_order,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_mass_postpone_order,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_mass_postpone_order,
            setup_nolock, tu_teardown),
        cmocka_unit_test_setup_teardown(test_pending_after_postpone,
            tu_setup, tu_teardown),
        /* Postponed outside the loop, without a lock: the time is read
         * for each add rather than cached. */
        cmocka_unit_test_setup_teardown(test_postponed_many_times,
            setup_nolock, tu_teardown),
        cmocka_unit_test_setup_teardown(test_pending_after_postpone,
            setup_nolock, tu_teardown),
        cmocka_unit_test_setup_teardown(test_persist_io_timeout_rearm,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(
            test_persist_io_timeout_readd_in_cb, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_persist_interval_changed_in_cb,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_active_by_fd_from_thread,
            tu_setup_nobase, tu_teardown_nobase),
    };
    /* Locks on for every test here: the paths with a base lock. */
    if (evthread_use_pthreads() != 0)
        return 1;
    tu_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test-timer.c: timeouts against libevent 2.1's public API: accuracy,
 * ordering (including ten thousand random deadlines), rescheduling,
 * deletion from callbacks, persistent timers, common timeouts mixed with
 * ordinary ones and the cached time seen by callbacks.
 *
 * TEST-BACKENDS: ctest runs this binary once per backend and once with
 * EVTEST_DEBUG_MODE=1.
 *
 * Timing checks allow TU_EARLY_MS early and tu_slack_ms() late.  Timers
 * that must share one deadline are added from inside a callback, where
 * libevent computes every deadline from the same cached time.
 */
#define _GNU_SOURCE
#include "test-util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Recording helpers. */

struct hit {
    int id;
    long ms;        /* since the test's start */
};

static struct timeval t_start;
static struct hit *hits;
static int hits_n, hits_cap;

static void
hits_reset(int cap)
{
    free(hits);
    hits = calloc((size_t)cap, sizeof(*hits));
    assert_non_null(hits);
    hits_cap = cap;
    hits_n = 0;
    tu_now(&t_start);
}

static void
hits_free(void)
{
    free(hits);
    hits = NULL;
    hits_n = hits_cap = 0;
}

static void
hit_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    if (hits_n < hits_cap) {
        hits[hits_n].id = (int)(intptr_t)arg;
        hits[hits_n].ms = tu_ms_since(&t_start);
    }
    hits_n++;
}

static void
assert_hit_ids(const int *ids, int n)
{
    int i;

    assert_int_equal(hits_n, n);
    for (i = 0; i < n; ++i) {
        if (hits[i].id != ids[i])
            fail_msg("hit %d has id %d, expected %d", i, hits[i].id,
                ids[i]);
    }
}

static void
noop_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

/* ------------------------------------------------------------------ */
/* Accuracy. */

static void
test_timer_accuracy(void **state)
{
    static const long delays[] = { 1, 20, 100, 250 };
    struct event_base *base = *state;
    struct timeval tv;
    struct event *ev;
    size_t i;

    for (i = 0; i < sizeof(delays) / sizeof(delays[0]); ++i) {
        hits_reset(4);
        ev = evtimer_new(base, hit_cb, (void *)1);
        assert_int_equal(evtimer_add(ev, tu_tv(&tv, delays[i])), 0);
        assert_true(evtimer_pending(ev, NULL));
        assert_int_equal(tu_loop(base, 0), 1);
        assert_int_equal(hits_n, 1);
        tu_assert_ms(hits[0].ms, delays[i]);
        assert_false(evtimer_pending(ev, NULL));
        event_free(ev);
    }
    hits_free();
}

static void
test_timer_zero(void **state)
{
    struct event_base *base = *state;
    struct timeval tv = { 0, 0 };
    struct event *ev;

    hits_reset(4);
    ev = evtimer_new(base, hit_cb, (void *)1);
    assert_int_equal(evtimer_add(ev, &tv), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(hits_n, 1);
    tu_assert_ms(hits[0].ms, 0);
    event_free(ev);
    hits_free();
}

static void
test_timer_precise(void **state)
{
    struct event_config *cfg;
    struct event_base *base;
    struct timeval tv;
    struct event *ev;
    int i;

    (void)state;
    cfg = event_config_new();
    assert_int_equal(event_config_set_flag(cfg,
        EVENT_BASE_FLAG_PRECISE_TIMER), 0);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    assert_non_null(base);
    for (i = 0; i < 5; ++i) {
        hits_reset(4);
        ev = evtimer_new(base, hit_cb, (void *)1);
        assert_int_equal(evtimer_add(ev, tu_tv(&tv, 5)), 0);
        assert_int_equal(tu_loop(base, 0), 1);
        assert_int_equal(hits_n, 1);
        /* A precise timer is never early by a clock tick. */
        assert_true(hits[0].ms >= 4);
        tu_assert_ms(hits[0].ms, 5);
        event_free(ev);
    }
    hits_free();
    event_base_free(base);
}

static void
test_timer_far_future(void **state)
{
    struct event_base *base = *state;
    struct timeval tv, start;
    struct event *ev;

    hits_reset(4);
    ev = evtimer_new(base, hit_cb, (void *)1);
    assert_int_equal(evtimer_add(ev, tu_tv(&tv, 3600 * 1000L)), 0);
    tu_now(&start);
    assert_int_equal(tu_loop(base, EVLOOP_NONBLOCK), 0);
    assert_int_equal(tu_run(base, 50), 1);
    assert_true(tu_ms_since(&start) < 1000);
    assert_int_equal(hits_n, 0);
    assert_true(evtimer_pending(ev, NULL));
    event_free(ev);
    hits_free();
}

/* Intervals too long to add to the clock (tv_sec up to LONG_MAX, or a
 * huge tv_usec) are kept at about 3,170 years instead of overflowing
 * into the past and firing at once (UBSan checks the arithmetic in the
 * sanitizer stage): direct, re-armed from a callback, with the persist
 * closure re-arming, through event_base_once and a common timeout. */
struct huge_ctx {
    struct event *timer;
    struct event *io;
    int rearmed;
};

static void
huge_rearm_cb(evutil_socket_t fd, short what, void *arg)
{
    struct huge_ctx *c = arg;
    struct timeval huge = {LONG_MAX, 999999};

    (void)what;
    if (fd >= 0)
        tu_drain(fd);
    /* From a callback: the time is cached, the cheap re-arm path. */
    assert_int_equal(evtimer_add(c->timer, &huge), 0);
    c->rearmed++;
}

static void
assert_far_pending(struct event *ev)
{
    struct timeval when, now;
    assert_true(event_pending(ev, EV_TIMEOUT, &when));
    evutil_gettimeofday(&now, NULL);
    /* At least ten years away (the cap is shorter on Windows). */
    if (when.tv_sec - now.tv_sec < 315360000L)
        fail_msg("deadline only %ld s away", (long)(when.tv_sec - now.tv_sec));
}

static void
test_timer_huge_intervals(void **state)
{
    struct event_base *base = *state;
    struct timeval huge_sec = {LONG_MAX, 999999}, huge_usec = {0, LONG_MAX};
    struct timeval tv;
    const struct timeval *common;
    struct event *a, *b, *kick, *cev;
    struct huge_ctx c;
    evutil_socket_t fds[2];

    hits_reset(8);
    memset(&c, 0, sizeof(c));
    a = evtimer_new(base, hit_cb, (void *)1);
    b = evtimer_new(base, hit_cb, (void *)2);
    c.timer = evtimer_new(base, hit_cb, (void *)3);
    cev = evtimer_new(base, hit_cb, (void *)4);
    kick = evtimer_new(base, huge_rearm_cb, &c);
    tu_socketpair(fds);
    c.io = event_new(base, fds[0], EV_READ | EV_PERSIST, huge_rearm_cb, &c);
    assert_non_null(a);
    assert_non_null(cev);
    assert_non_null(c.io);
    assert_int_equal(evtimer_add(a, &huge_sec), 0);
    assert_int_equal(evtimer_add(b, &huge_usec), 0);
    assert_int_equal(evtimer_add(c.timer, tu_tv(&tv, 5)), 0);
    assert_int_equal(evtimer_add(kick, tu_tv(&tv, 1)), 0);
    assert_int_equal(event_add(c.io, &huge_sec), 0);
    assert_int_equal(event_base_once(base, -1, EV_TIMEOUT, hit_cb,
                         (void *)5, &huge_sec), 0);
    common = event_base_init_common_timeout(base, &huge_sec);
    assert_non_null(common);
    assert_int_equal(evtimer_add(cev, common), 0);
    /* The persistent I/O event is re-armed by its closure, then by the
     * callback's evtimer_add of c.timer. */
    tu_write_str(fds[1], "x");
    assert_int_equal(tu_run(base, 100), 1);
    assert_int_equal(c.rearmed, 2);
    assert_int_equal(hits_n, 0);
    assert_far_pending(a);
    /* LONG_MAX microseconds is only 2147 s where long is 32 bits. */
    if (LONG_MAX > 2147483647L)
        assert_far_pending(b);
    else
        assert_true(event_pending(b, EV_TIMEOUT, NULL));
    assert_far_pending(c.timer);
    assert_far_pending(c.io);
    assert_far_pending(cev);
    event_free(a);
    event_free(b);
    event_free(c.timer);
    event_free(cev);
    event_free(kick);
    event_free(c.io);
    tu_close_pair(fds);
    hits_free();
}

/* event_config_set_max_dispatch_interval: a huge interval is kept short
 * enough to add to the clock (the loop adds it at every pass), a negative
 * one is refused. */
static void
test_timer_huge_dispatch_interval(void **state)
{
    struct event_config *cfg = event_config_new();
    struct timeval huge = {LONG_MAX, 999999}, huge_usec = {0, LONG_MAX};
    struct timeval neg = {-2, 0}, tv;
    struct event_base *base;
    struct event *ev;

    (void)state;
    assert_non_null(cfg);
    tu_log_clear();
    errno = 0;
    assert_int_equal(event_config_set_max_dispatch_interval(cfg, &neg, 5, 0),
        -1);
    assert_int_equal(errno, EINVAL);
    tu_assert_logged_error();
    assert_int_equal(
        event_config_set_max_dispatch_interval(cfg, &huge_usec, 5, 0), 0);
    assert_int_equal(event_config_set_max_dispatch_interval(cfg, &huge, 5, 0),
        0);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    assert_non_null(base);
    hits_reset(4);
    ev = evtimer_new(base, hit_cb, (void *)1);
    assert_int_equal(evtimer_add(ev, tu_tv(&tv, 1)), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(hits_n, 1);
    event_free(ev);
    event_base_free(base);
    hits_free();
}

/* ------------------------------------------------------------------ */
/* Ordering. */

static void
test_timer_deadline_order(void **state)
{
    static const long delays[] = { 100, 20, 60, 40, 80 };
    static const int expected[] = { 20, 40, 60, 80, 100 };
    struct event_base *base = *state;
    struct event *ev[5];
    struct timeval tv;
    int i;

    hits_reset(8);
    for (i = 0; i < 5; ++i) {
        ev[i] = evtimer_new(base, hit_cb, (void *)(intptr_t)delays[i]);
        assert_int_equal(evtimer_add(ev[i], tu_tv(&tv, delays[i])), 0);
    }
    assert_int_equal(tu_loop(base, 0), 1);
    assert_hit_ids(expected, 5);
    for (i = 0; i < 5; ++i) {
        tu_assert_ms(hits[i].ms, expected[i]);
        event_free(ev[i]);
    }
    hits_free();
}

/* Adds a batch of timers from inside a callback, so all of them start
 * from the same cached time. */
struct batch {
    struct event **evs;
    const struct timeval *tvs;
    int n;
    int failed;
};

static void
batch_add_cb(evutil_socket_t fd, short what, void *arg)
{
    struct batch *b = arg;
    int i;

    (void)fd;
    (void)what;
    tu_now(&t_start);
    for (i = 0; i < b->n; ++i) {
        if (event_add(b->evs[i], &b->tvs[i]) != 0)
            b->failed++;
    }
}

static void
run_batch(struct event_base *base, struct batch *b)
{
    struct event *kick;

    kick = event_new(base, -1, 0, batch_add_cb, b);
    event_active(kick, EV_TIMEOUT, 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(b->failed, 0);
    event_free(kick);
}

static void
test_timer_equal_deadlines_all_fire(void **state)
{
    struct event_base *base = *state;
    struct event *evs[32];
    struct timeval tvs[32];
    struct batch b;
    int i, seen[32];

    hits_reset(64);
    for (i = 0; i < 32; ++i) {
        evs[i] = evtimer_new(base, hit_cb, (void *)(intptr_t)i);
        tu_tv(&tvs[i], 50);
    }
    b.evs = evs;
    b.tvs = tvs;
    b.n = 32;
    b.failed = 0;
    run_batch(base, &b);
    /* libevent 2.1 does not promise an order among equal deadlines in its
     * heap; it does promise each fires once, at the deadline. */
    assert_int_equal(hits_n, 32);
    memset(seen, 0, sizeof(seen));
    for (i = 0; i < 32; ++i) {
        assert_true(hits[i].id >= 0 && hits[i].id < 32);
        seen[hits[i].id]++;
        tu_assert_ms(hits[i].ms, 50);
    }
    for (i = 0; i < 32; ++i) {
        assert_int_equal(seen[i], 1);
        event_free(evs[i]);
    }
    hits_free();
}

static void
test_timer_equal_common_deadlines_fifo(void **state)
{
    struct event_base *base = *state;
    const struct timeval *ct;
    struct event *evs[32];
    struct timeval tvs[32], tv;
    struct batch b;
    int i, ids[32];

    ct = event_base_init_common_timeout(base, tu_tv(&tv, 50));
    assert_non_null(ct);
    hits_reset(64);
    for (i = 0; i < 32; ++i) {
        evs[i] = evtimer_new(base, hit_cb, (void *)(intptr_t)i);
        tvs[i] = *ct;
        ids[i] = i;
    }
    b.evs = evs;
    b.tvs = tvs;
    b.n = 32;
    b.failed = 0;
    run_batch(base, &b);
    /* A common-timeout queue is first in, first out. */
    assert_hit_ids(ids, 32);
    for (i = 0; i < 32; ++i) {
        tu_assert_ms(hits[i].ms, 50);
        event_free(evs[i]);
    }
    hits_free();
}

#define MANY 10000

static void
test_timer_many_random(void **state)
{
    struct event_base *base = *state;
    struct event **evs;
    struct timeval *tvs;
    struct batch b;
    long prev = -1, us;
    unsigned seed = 20240611;
    int i;

    evs = calloc(MANY, sizeof(*evs));
    tvs = calloc(MANY, sizeof(*tvs));
    assert_non_null(evs);
    assert_non_null(tvs);
    hits_reset(MANY);
    for (i = 0; i < MANY; ++i) {
        seed = seed * 1103515245u + 12345u;
        us = (long)((seed >> 8) % 400000u);     /* 0 .. 400 ms */
        tvs[i].tv_sec = us / 1000000;
        tvs[i].tv_usec = us % 1000000;
        /* The id is the requested delay in microseconds. */
        evs[i] = evtimer_new(base, hit_cb, (void *)(intptr_t)us);
        assert_non_null(evs[i]);
    }
    b.evs = evs;
    b.tvs = tvs;
    b.n = MANY;
    b.failed = 0;
    run_batch(base, &b);
    assert_int_equal(hits_n, MANY);
    for (i = 0; i < MANY; ++i) {
        if (hits[i].id < prev)
            fail_msg("timer %d (%d us) fired after one of %ld us", i,
                hits[i].id, prev);
        prev = hits[i].id;
        /* Never early; callbacks add their own lateness here. */
        if (hits[i].ms < hits[i].id / 1000 - TU_EARLY_MS)
            fail_msg("timer of %d us fired at %ld ms", hits[i].id,
                hits[i].ms);
    }
    assert_true(hits[MANY - 1].ms < 400 + 1000);
    for (i = 0; i < MANY; ++i)
        event_free(evs[i]);
    free(evs);
    free(tvs);
    hits_free();
}

/* ------------------------------------------------------------------ */
/* Rescheduling and deleting. */

static void
test_timer_readd_reschedules(void **state)
{
    struct event_base *base = *state;
    struct timeval tv, pend1, pend2;
    struct event *ev;

    /* Earlier. */
    hits_reset(8);
    ev = evtimer_new(base, hit_cb, (void *)1);
    assert_int_equal(evtimer_add(ev, tu_tv(&tv, 2000)), 0);
    assert_true(evtimer_pending(ev, &pend1));
    assert_int_equal(evtimer_add(ev, tu_tv(&tv, 50)), 0);
    assert_true(evtimer_pending(ev, &pend2));
    assert_true(tu_ms_between(&pend2, &pend1) > 1500);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(hits_n, 1);
    tu_assert_ms(hits[0].ms, 50);

    /* Later. */
    hits_reset(8);
    assert_int_equal(evtimer_add(ev, tu_tv(&tv, 30)), 0);
    assert_int_equal(evtimer_add(ev, tu_tv(&tv, 200)), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(hits_n, 1);
    tu_assert_ms(hits[0].ms, 200);
    event_free(ev);
    hits_free();
}

struct deleter {
    struct event *victim;
    struct event *self;
    int calls;
    int limit;
};

static void
deleter_cb(evutil_socket_t fd, short what, void *arg)
{
    struct deleter *d = arg;

    (void)fd;
    (void)what;
    d->calls++;
    if (d->victim != NULL)
        event_del(d->victim);
    if (d->limit > 0 && d->calls >= d->limit)
        event_del(d->self);
}

static void
test_timer_delete_from_callback(void **state)
{
    struct event_base *base = *state;
    struct event *a, *b, *c;
    struct deleter d;
    struct timeval tv;

    hits_reset(8);
    memset(&d, 0, sizeof(d));
    a = evtimer_new(base, deleter_cb, &d);
    b = evtimer_new(base, hit_cb, (void *)2);
    c = evtimer_new(base, hit_cb, (void *)3);
    d.victim = b;
    assert_int_equal(evtimer_add(a, tu_tv(&tv, 20)), 0);
    assert_int_equal(evtimer_add(b, tu_tv(&tv, 60)), 0);
    assert_int_equal(evtimer_add(c, tu_tv(&tv, 80)), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(d.calls, 1);
    assert_int_equal(hits_n, 1);
    assert_int_equal(hits[0].id, 3);
    event_free(a);
    event_free(b);
    event_free(c);
    hits_free();
}

static void
test_timer_persist_deletes_itself(void **state)
{
    struct event_base *base = *state;
    struct deleter d;
    struct timeval tv, start;
    struct event *ev;

    memset(&d, 0, sizeof(d));
    d.limit = 5;
    ev = event_new(base, -1, EV_PERSIST, deleter_cb, &d);
    d.self = ev;
    tu_now(&start);
    assert_int_equal(event_add(ev, tu_tv(&tv, 20)), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(d.calls, 5);
    tu_assert_ms(tu_ms_since(&start), 100);
    event_free(ev);
}

/* Two timers expire in the same pass; whichever runs first deletes the
 * other, which then must not run even though it was already active. */
struct pair_del {
    struct event *ev[2];
    int ran[2];
};

static struct pair_del pd;

static void
pair_del_cb(evutil_socket_t fd, short what, void *arg)
{
    int me = (int)(intptr_t)arg;

    (void)fd;
    (void)what;
    pd.ran[me]++;
    event_del(pd.ev[1 - me]);
}

static void
test_timer_delete_active_in_same_pass(void **state)
{
    struct event_base *base = *state;
    struct timeval tvs[2];
    struct batch b;

    memset(&pd, 0, sizeof(pd));
    pd.ev[0] = evtimer_new(base, pair_del_cb, (void *)0);
    pd.ev[1] = evtimer_new(base, pair_del_cb, (void *)1);
    tu_tv(&tvs[0], 30);
    tu_tv(&tvs[1], 30);
    b.evs = pd.ev;
    b.tvs = tvs;
    b.n = 2;
    b.failed = 0;
    run_batch(base, &b);
    assert_int_equal(pd.ran[0] + pd.ran[1], 1);
    event_free(pd.ev[0]);
    event_free(pd.ev[1]);
}

/* ------------------------------------------------------------------ */
/* Persistent timers. */

static struct event_base *repeat_base;

static void
repeat_cb(evutil_socket_t fd, short what, void *arg)
{
    hit_cb(fd, what, arg);
    if (hits_n == 5)
        event_base_loopexit(repeat_base, NULL);
}

static void
test_timer_persist_repeats(void **state)
{
    struct event_base *base = *state;
    struct timeval tv;
    struct event *ev;
    int i;

    hits_reset(64);
    repeat_base = base;
    ev = event_new(base, -1, EV_PERSIST, repeat_cb, (void *)1);
    assert_int_equal(event_add(ev, tu_tv(&tv, 30)), 0);
    assert_int_equal(tu_run(base, 3000), 0);
    /* Fired at 30, 60, 90, 120 and 150 ms. */
    assert_int_equal(hits_n, 5);
    for (i = 0; i < 5; ++i)
        tu_assert_ms(hits[i].ms, 30 * (i + 1));
    /* Still pending after firing. */
    assert_true(evtimer_pending(ev, NULL));
    event_free(ev);
    hits_free();
}

static void
slow_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    hit_cb(fd, what, arg);
    tu_sleep_ms(20);
    if (hits_n == 12)
        event_base_loopexit(event_get_base(*(struct event **)arg), NULL);
}

static void
test_timer_persist_no_drift(void **state)
{
    struct event_base *base = *state;
    struct event *ev;
    struct timeval tv;

    /* A persistent timeout is rescheduled from its previous deadline, not
     * from when its callback finished: 12 ticks of 50 ms with 20 ms spent
     * in each callback still take about 600 ms, not 840. */
    hits_reset(16);
    ev = event_new(base, -1, EV_PERSIST, slow_tick_cb, &ev);
    assert_int_equal(event_add(ev, tu_tv(&tv, 50)), 0);
    assert_int_equal(tu_run(base, 3000), 0);
    assert_int_equal(hits_n, 12);
    tu_assert_ms(hits[11].ms, 600);
    event_free(ev);
    hits_free();
}

/* ------------------------------------------------------------------ */
/* Common timeouts. */

static void
test_timer_common_mixed(void **state)
{
    static const int expected[] = { 50, 1, 2, 3, 4, 5, 160, 200 };
    struct event_base *base = *state;
    const struct timeval *ct;
    struct event *evs[8];
    struct timeval tv;
    int i;

    hits_reset(16);
    ct = event_base_init_common_timeout(base, tu_tv(&tv, 100));
    assert_non_null(ct);
    evs[0] = evtimer_new(base, hit_cb, (void *)50);
    evs[1] = evtimer_new(base, hit_cb, (void *)160);
    evs[2] = evtimer_new(base, hit_cb, (void *)200);
    assert_int_equal(evtimer_add(evs[2], tu_tv(&tv, 200)), 0);
    assert_int_equal(evtimer_add(evs[0], tu_tv(&tv, 50)), 0);
    for (i = 0; i < 5; ++i) {
        evs[3 + i] = evtimer_new(base, hit_cb, (void *)(intptr_t)(i + 1));
        assert_int_equal(evtimer_add(evs[3 + i], ct), 0);
        tu_sleep_ms(5);
    }
    assert_int_equal(evtimer_add(evs[1], tu_tv(&tv, 160 - 25)), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_hit_ids(expected, 8);
    /* The i-th common timer was added about 5 * i ms late. */
    for (i = 0; i < 5; ++i)
        tu_assert_ms(hits[1 + i].ms, 100 + 5 * i);
    tu_assert_ms(hits[6].ms, 160);
    for (i = 0; i < 8; ++i)
        event_free(evs[i]);
    hits_free();
}

static void
test_timer_common_several_durations(void **state)
{
    static const int expected[] = { 30, 60, 31, 61 };
    struct event_base *base = *state;
    const struct timeval *c30, *c60, *again;
    struct event *evs[4];
    struct timeval tv;
    int i;

    hits_reset(8);
    c30 = event_base_init_common_timeout(base, tu_tv(&tv, 30));
    c60 = event_base_init_common_timeout(base, tu_tv(&tv, 60));
    assert_non_null(c30);
    assert_non_null(c60);
    /* Asking again for a known duration yields a usable value too. */
    again = event_base_init_common_timeout(base, tu_tv(&tv, 30));
    assert_non_null(again);
    evs[0] = evtimer_new(base, hit_cb, (void *)30);
    evs[1] = evtimer_new(base, hit_cb, (void *)60);
    evs[2] = evtimer_new(base, hit_cb, (void *)31);
    evs[3] = evtimer_new(base, hit_cb, (void *)61);
    assert_int_equal(evtimer_add(evs[1], c60), 0);
    assert_int_equal(evtimer_add(evs[0], c30), 0);
    tu_sleep_ms(40);
    assert_int_equal(evtimer_add(evs[3], c60), 0);
    assert_int_equal(evtimer_add(evs[2], again), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    /* Deadlines: 30, 60, 70, 100 ms. */
    assert_hit_ids(expected, 4);
    for (i = 0; i < 4; ++i)
        event_free(evs[i]);
    hits_free();
}

static void
test_timer_common_delete_and_readd(void **state)
{
    static const int expected[] = { 1, 3, 2 };
    struct event_base *base = *state;
    const struct timeval *ct;
    struct event *evs[3];
    struct timeval tv;
    int i;

    hits_reset(8);
    ct = event_base_init_common_timeout(base, tu_tv(&tv, 60));
    for (i = 0; i < 3; ++i) {
        evs[i] = evtimer_new(base, hit_cb, (void *)(intptr_t)(i + 1));
        assert_int_equal(evtimer_add(evs[i], ct), 0);
    }
    /* Removing the middle one and re-adding it moves it to the back. */
    assert_int_equal(evtimer_del(evs[1]), 0);
    assert_false(evtimer_pending(evs[1], NULL));
    tu_sleep_ms(5);
    assert_int_equal(evtimer_add(evs[1], ct), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_hit_ids(expected, 3);
    for (i = 0; i < 3; ++i)
        event_free(evs[i]);
    hits_free();
}

/* Re-adding a pending timer without deleting it first: from one common
 * queue to another, from the heap to a common queue, and onto its own
 * queue again (behind what was added meanwhile); on a base without a
 * lock, event_add's own common-timeout path. */
static void
common_reschedule_on(struct event_base *base)
{
    static const int expected[] = { 2, 3, 1, 4 };
    const struct timeval *c30, *c60;
    struct event *evs[4];
    struct timeval tv;
    int i;

    hits_reset(8);
    c30 = event_base_init_common_timeout(base, tu_tv(&tv, 30));
    c60 = event_base_init_common_timeout(base, tu_tv(&tv, 60));
    for (i = 0; i < 4; ++i)
        evs[i] = evtimer_new(base, hit_cb, (void *)(intptr_t)(i + 1));
    assert_int_equal(evtimer_add(evs[0], c30), 0);
    assert_int_equal(evtimer_add(evs[1], tu_tv(&tv, 10)), 0);
    assert_int_equal(evtimer_add(evs[2], c60), 0);
    assert_int_equal(evtimer_add(evs[3], c60), 0);
    assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED),
        4);
    /* 1: c30 -> c60, behind 3 and 4; 2: heap -> c30; 4: c60 again,
     * behind 1. */
    assert_int_equal(evtimer_add(evs[0], c60), 0);
    assert_int_equal(evtimer_add(evs[1], c30), 0);
    assert_int_equal(evtimer_add(evs[3], c60), 0);
    assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED),
        4);
    assert_true(evtimer_pending(evs[1], &tv));
    assert_int_equal(tu_loop(base, 0), 1);
    assert_hit_ids(expected, 4);
    tu_assert_ms(hits[0].ms, 30);
    tu_assert_ms(hits[1].ms, 60);
    for (i = 0; i < 4; ++i)
        event_free(evs[i]);
    hits_free();
}

static void
test_timer_common_reschedule(void **state)
{
    common_reschedule_on(*state);
}

/* event_del of a pending timeout: a timer on the heap, one on a common
 * queue, and an I/O event with a timeout.  None fires afterwards, none
 * stays counted or pending, and the heap and queue still work for
 * what remains. */
static void
test_timer_del_pending_timeouts(void **state)
{
    static const int expected[] = { 4 };
    struct event_base *base = *state;
    const struct timeval *ct;
    struct event *heap_ev, *ct_ev, *io_ev, *keep;
    evutil_socket_t fds[2];
    struct timeval tv;

    hits_reset(8);
    tu_socketpair(fds);
    ct = event_base_init_common_timeout(base, tu_tv(&tv, 20));
    heap_ev = evtimer_new(base, hit_cb, (void *)1);
    ct_ev = evtimer_new(base, hit_cb, (void *)2);
    io_ev = event_new(base, fds[0], EV_READ | EV_PERSIST, hit_cb, (void *)3);
    keep = evtimer_new(base, hit_cb, (void *)4);
    assert_int_equal(evtimer_add(heap_ev, tu_tv(&tv, 20)), 0);
    assert_int_equal(evtimer_add(ct_ev, ct), 0);
    assert_int_equal(event_add(io_ev, tu_tv(&tv, 20)), 0);
    assert_int_equal(evtimer_add(keep, tu_tv(&tv, 50)), 0);
    /* As in libevent, the I/O event counts for its fd and its timeout. */
    assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED),
        5);

    assert_int_equal(event_del(heap_ev), 0);
    assert_int_equal(event_del(ct_ev), 0);
    assert_int_equal(event_del(io_ev), 0);
    assert_false(event_pending(heap_ev, EV_TIMEOUT, NULL));
    assert_false(event_pending(ct_ev, EV_TIMEOUT, NULL));
    assert_false(event_pending(io_ev, EV_TIMEOUT | EV_READ, NULL));
    assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED),
        1);
    /* Readable now, but deleted. */
    tu_write_str(fds[1], "x");
    assert_int_equal(tu_loop(base, 0), 1);
    assert_hit_ids(expected, 1);
    tu_assert_ms(hits[0].ms, 50);

    event_free(heap_ev);
    event_free(ct_ev);
    event_free(io_ev);
    event_free(keep);
    tu_close_pair(fds);
    hits_free();
}

static void
test_timer_common_persist(void **state)
{
    struct event_base *base = *state;
    const struct timeval *ct;
    struct timeval tv;
    struct event *ev;
    int i;

    hits_reset(32);
    ct = event_base_init_common_timeout(base, tu_tv(&tv, 40));
    repeat_base = base;
    ev = event_new(base, -1, EV_PERSIST, repeat_cb, (void *)1);
    assert_int_equal(event_add(ev, ct), 0);
    assert_int_equal(tu_run(base, 3000), 0);
    assert_int_equal(hits_n, 5);
    for (i = 0; i < 5; ++i)
        tu_assert_ms(hits[i].ms, 40 * (i + 1));
    event_free(ev);
    hits_free();
}

/* ------------------------------------------------------------------ */
/* Cached time. */

struct cache_probe {
    struct event_base *base;
    struct timeval t1, t2, real1;
};

static void
cache_probe_cb(evutil_socket_t fd, short what, void *arg)
{
    struct cache_probe *p = arg;

    (void)fd;
    (void)what;
    evutil_gettimeofday(&p->real1, NULL);
    event_base_gettimeofday_cached(p->base, &p->t1);
    tu_sleep_ms(40);
    event_base_gettimeofday_cached(p->base, &p->t2);
}

static void
run_cache_probe(int flags, struct cache_probe *p)
{
    struct event_config *cfg;
    struct timeval tv;
    struct event *ev;

    cfg = event_config_new();
    if (flags)
        assert_int_equal(event_config_set_flag(cfg, flags), 0);
    memset(p, 0, sizeof(*p));
    p->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    assert_non_null(p->base);
    ev = evtimer_new(p->base, cache_probe_cb, p);
    assert_int_equal(evtimer_add(ev, tu_tv(&tv, 10)), 0);
    assert_int_equal(tu_loop(p->base, 0), 1);
    event_free(ev);
    event_base_free(p->base);
}

static void
test_timer_cached_time_in_callback(void **state)
{
    struct cache_probe p;
    long d;

    (void)state;
    run_cache_probe(0, &p);
    /* The cached time is the wall-clock time the loop woke up at (as
     * derived from a possibly coarse monotonic clock: allow a little
     * skew either way). */
    d = tu_ms_between(&p.t1, &p.real1);
    assert_true(d > -TU_EARLY_MS && d < 50);
    assert_int_equal(p.t1.tv_sec, p.t2.tv_sec);
    assert_int_equal(p.t1.tv_usec, p.t2.tv_usec);
}

static void
test_timer_no_cache_time(void **state)
{
    struct cache_probe p;
    long d;

    (void)state;
    run_cache_probe(EVENT_BASE_FLAG_NO_CACHE_TIME, &p);
    d = tu_ms_between(&p.t1, &p.t2);
    assert_true(d >= 30 && d < 1000);
}

struct same_pass {
    struct event_base *base;
    struct timeval seen[2];
    int n;
};

static void
same_pass_cb(evutil_socket_t fd, short what, void *arg)
{
    struct same_pass *s = arg;

    (void)fd;
    (void)what;
    if (s->n < 2)
        event_base_gettimeofday_cached(s->base, &s->seen[s->n]);
    s->n++;
    tu_sleep_ms(20);
}

static void
test_timer_cached_time_shared_by_pass(void **state)
{
    struct event_base *base = *state;
    struct same_pass s;
    struct event *evs[2];
    struct timeval tvs[2];
    struct batch b;

    memset(&s, 0, sizeof(s));
    s.base = base;
    evs[0] = evtimer_new(base, same_pass_cb, &s);
    evs[1] = evtimer_new(base, same_pass_cb, &s);
    tu_tv(&tvs[0], 20);
    tu_tv(&tvs[1], 20);
    b.evs = evs;
    b.tvs = tvs;
    b.n = 2;
    b.failed = 0;
    run_batch(base, &b);
    assert_int_equal(s.n, 2);
    /* Both callbacks of one pass see the same cached time, although the
     * first one took 20 ms. */
    assert_int_equal(s.seen[0].tv_sec, s.seen[1].tv_sec);
    assert_int_equal(s.seen[0].tv_usec, s.seen[1].tv_usec);
    event_free(evs[0]);
    event_free(evs[1]);
}

/* A zero timer added from a callback runs in a later pass, after timers
 * that are already due. */
struct chain {
    struct event *next;
    int depth;
};

static void
chain_cb(evutil_socket_t fd, short what, void *arg)
{
    struct chain *c = arg;
    struct timeval zero = { 0, 0 };

    hit_cb(fd, what, (void *)(intptr_t)c->depth);
    if (++c->depth < 5)
        event_add(c->next, &zero);
}

static void
test_timer_zero_from_callback(void **state)
{
    static const int expected[] = { 0, 1, 2, 3, 4 };
    struct event_base *base = *state;
    struct timeval zero = { 0, 0 };
    struct chain c;
    struct event *ev;

    hits_reset(8);
    c.depth = 0;
    ev = evtimer_new(base, chain_cb, &c);
    c.next = ev;
    assert_int_equal(evtimer_add(ev, &zero), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_hit_ids(expected, 5);
    tu_assert_ms(hits[4].ms, 0);
    event_free(ev);
    hits_free();
    (void)noop_cb;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_timer_accuracy,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_timer_zero,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_timer_precise,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_timer_huge_intervals,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_timer_huge_dispatch_interval,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_timer_far_future,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_timer_deadline_order,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_timer_equal_deadlines_all_fire,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(
            test_timer_equal_common_deadlines_fifo, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_timer_many_random,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_timer_readd_reschedules,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_timer_delete_from_callback,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_timer_persist_deletes_itself,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(
            test_timer_delete_active_in_same_pass, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_timer_persist_repeats,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_timer_persist_no_drift,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_timer_common_mixed,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_timer_common_several_durations,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_timer_common_delete_and_readd,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_timer_common_reschedule,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_timer_del_pending_timeouts,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_timer_common_persist,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_timer_cached_time_in_callback,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_timer_no_cache_time,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(
            test_timer_cached_time_shared_by_pass, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_timer_zero_from_callback,
            tu_setup, tu_teardown),
    };

    tu_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

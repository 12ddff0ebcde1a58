/*
 * time-test: a persistent timer.
 *
 * One EV_PERSIST timer fires every INTERVAL_MS milliseconds and prints the
 * time elapsed since the previous tick.  After TICKS ticks the callback
 * deletes its own event, the base has nothing left to wait for, and
 * event_base_dispatch() returns: the program always ends by itself.
 *
 * It exits non-zero if the loop fails or the timer does not tick TICKS
 * times.  With --self-test it also requires every tick to come on schedule:
 * never before its deadline (the loop must not fire a timer early) and never
 * absurdly late.  Usage: time-test [--self-test]
 */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include <event2/event.h>
#include <event2/util.h>

#define TICKS 5
#define INTERVAL_MS 100
#define COARSE_CLOCK_MS 11
/* Generous: a loaded CI machine running sanitizers can be slow. */
#define LATE_LIMIT_MS 2000

struct state {
    struct event *timer;
    struct event *watchdog;
    struct timeval start;
    struct timeval last;
    int ticks;
    int failures;
    int self_test;
};

static double
ms_between(const struct timeval *from, const struct timeval *to)
{
    struct timeval diff;

    evutil_timersub(to, from, &diff);
    return diff.tv_sec * 1000.0 + diff.tv_usec / 1000.0;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct state *st = arg;
    struct timeval now;
    double elapsed, total;

    evutil_gettimeofday(&now, NULL);
    elapsed = ms_between(&st->last, &now);
    total = ms_between(&st->start, &now);
    st->last = now;
    st->ticks++;
    printf("tick %d: %.1f ms since the last one, %.1f ms in all "
           "(events 0x%x)\n",
           st->ticks, elapsed, total, (unsigned)what);

    /*
     * A persistent timer is rescheduled from its previous deadline, not
     * from when its callback ran, so a late tick is followed by a shorter
     * gap: check the total against the schedule.  Without
     * EVENT_BASE_FLAG_PRECISE_TIMER libevent may read a coarse monotonic
     * clock that lags by up to one kernel tick (10 ms at HZ=100), so a
     * timer can fire that much early by the wall clock.
     */
    if (st->self_test && (total < st->ticks * INTERVAL_MS - COARSE_CLOCK_MS ||
                          elapsed > LATE_LIMIT_MS)) {
        fprintf(stderr,
                "time-test: tick %d came %.1f ms after the start, "
                "expected %d ms\n",
                st->ticks, total, st->ticks * INTERVAL_MS);
        st->failures++;
    }
    if (st->ticks == TICKS) {
        /* With no event left, event_base_dispatch() returns. */
        event_del(st->timer);
        event_del(st->watchdog);
    }
}

/* A broken loop must not keep the program running for ever. */
static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    struct state *st = arg;

    fprintf(stderr, "time-test: gave up waiting for tick %d\n", st->ticks + 1);
    event_del(st->timer);
}

int
main(int argc, char **argv)
{
    struct event_base *base;
    struct state st;
    struct timeval interval = {0, INTERVAL_MS * 1000};
    struct timeval limit = {TICKS * INTERVAL_MS / 1000 + 10, 0};

    memset(&st, 0, sizeof(st));
    st.self_test = argc > 1 && strcmp(argv[1], "--self-test") == 0;

    base = event_base_new();
    if (!base) {
        fprintf(stderr, "time-test: event_base_new failed\n");
        return 1;
    }
    printf("libevent %s, backend %s\n", event_get_version(),
           event_base_get_method(base));

    /* Read the clock first, so no deadline can precede our start. */
    evutil_gettimeofday(&st.start, NULL);
    st.last = st.start;
    st.timer = event_new(base, -1, EV_PERSIST, on_tick, &st);
    st.watchdog = evtimer_new(base, on_watchdog, &st);
    if (!st.timer || !st.watchdog || event_add(st.timer, &interval) < 0 ||
        evtimer_add(st.watchdog, &limit) < 0) {
        fprintf(stderr, "time-test: cannot add the timer\n");
        return 1;
    }

    if (event_base_dispatch(base) < 0) {
        fprintf(stderr, "time-test: event_base_dispatch failed\n");
        st.failures++;
    }
    if (st.ticks != TICKS) {
        fprintf(stderr, "time-test: %d ticks, expected %d\n", st.ticks, TICKS);
        st.failures++;
    }

    event_free(st.watchdog);
    event_free(st.timer);
    event_base_free(base);
    if (st.self_test)
        printf("time-test: %s\n", st.failures ? "FAILED" : "ok");
    return st.failures ? 1 : 0;
}

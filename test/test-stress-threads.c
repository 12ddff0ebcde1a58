/*
 * test-stress-threads.c: eight threads adding, deleting and activating
 * events on one shared base while its loop runs, with
 * evthread_use_pthreads().  TEST-THREADS: the TSan build runs it.
 *
 * Each worker owns EVS_PER_THREAD events (timers of 0-3 ms and reads on a
 * socketpair it writes to now and then) and, for STRESS_MS, picks one at
 * random and adds it, deletes it or makes it active.  Another event is
 * shared by all workers, which activate it concurrently.  Callbacks run
 * in the loop thread and only count.  Afterwards every worker activates a
 * private "ping" event and waits for its callback, which shows the base
 * still delivers to every thread after the storm, and the loop must
 * have delivered callbacks all along (counted).  Callback counts are
 * bounded by what was asked: a callback never runs for an event
 * nobody added or activated.
 * TEST-TIMEOUT 90
 */
#define _GNU_SOURCE
#include "test-util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#define NTHREADS 8
#define EVS_PER_THREAD 16
#define STRESS_MS 1500

struct worker {
    struct event_base *base;
    struct event *evs[EVS_PER_THREAD];
    struct event *ping;
    evutil_socket_t pair[2];
    long ops_add, ops_del, ops_active;
    long fired; /* callbacks of this worker's events (loop thread) */
    int pinged;
    unsigned seed;
};

static struct worker workers[NTHREADS];
static struct event *shared_ev;
static long shared_activations, shared_fired;
static int stop_flag;

static void
worker_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    char buf[64];

    if (what & EV_READ) {
        /* Drain what the worker wrote (the fd is nonblocking). */
        while (read(fd, buf, sizeof(buf)) > 0)
            ;
    }
    __atomic_add_fetch(&w->fired, 1, __ATOMIC_RELAXED);
}

static void
ping_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;

    (void)fd;
    (void)what;
    __atomic_store_n(&w->pinged, 1, __ATOMIC_RELEASE);
}

static void
shared_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    __atomic_add_fetch(&shared_fired, 1, __ATOMIC_RELAXED);
}

static unsigned
rnd(unsigned *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    struct timeval tv;
    int i, errors = 0;
    ssize_t n;

    while (!__atomic_load_n(&stop_flag, __ATOMIC_ACQUIRE)) {
        unsigned r = rnd(&w->seed);
        struct event *ev = w->evs[r % EVS_PER_THREAD];

        switch ((r >> 8) % 8) {
        case 0:
        case 1:
        case 2:
            tv.tv_sec = 0;
            tv.tv_usec = (long)((r >> 12) % 3000);
            if (event_add(ev, &tv) < 0)
                errors++;
            w->ops_add++;
            break;
        case 3:
        case 4:
            if (event_del(ev) < 0)
                errors++;
            w->ops_del++;
            break;
        case 5:
            event_active(ev, EV_TIMEOUT, 1);
            w->ops_active++;
            break;
        case 6:
            n = write(w->pair[1], "x", 1);
            (void)n;
            break;
        default:
            event_active(shared_ev, EV_TIMEOUT, 1);
            __atomic_add_fetch(&shared_activations, 1, __ATOMIC_RELAXED);
            break;
        }
        if ((r & 0xff) == 0)
            sched_yield();
    }
    /* Quiesce this worker's events, then ping through the loop. */
    for (i = 0; i < EVS_PER_THREAD; i++) {
        if (event_del(w->evs[i]) < 0)
            errors++;
    }
    event_active(w->ping, EV_TIMEOUT, 1);
    for (i = 0; i < 3000 && !__atomic_load_n(&w->pinged, __ATOMIC_ACQUIRE);
         i++)
        tu_sleep_ms(1);
    return (void *)(long)errors;
}

static void
keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

static void *
loop_main(void *base)
{
    event_base_dispatch(base);
    return NULL;
}

static void
test_stress(void **state)
{
    struct event_base *base;
    struct event *keepalive;
    struct timeval tv, start;
    pthread_t th[NTHREADS], loop_th;
    long total_fired = 0, total_ops = 0, errors = 0;
    int i, j, pinged = 0;

    (void)state;
    base = event_base_new();
    assert_non_null(base);
    keepalive = event_new(base, -1, EV_PERSIST, keepalive_cb, NULL);
    assert_non_null(keepalive);
    assert_int_equal(event_add(keepalive, tu_tv(&tv, 100)), 0);
    shared_ev = event_new(base, -1, 0, shared_cb, NULL);
    assert_non_null(shared_ev);
    for (i = 0; i < NTHREADS; i++) {
        struct worker *w = &workers[i];

        memset(w, 0, sizeof(*w));
        w->base = base;
        w->seed = 0x9e3779b9u * (unsigned)(i + 1);
        tu_socketpair(w->pair);
        for (j = 0; j < EVS_PER_THREAD; j++) {
            if (j % 4 == 0)
                w->evs[j] = event_new(base, w->pair[0], EV_READ | EV_PERSIST,
                    worker_cb, w);
            else
                w->evs[j] = evtimer_new(base, worker_cb, w);
            assert_non_null(w->evs[j]);
        }
        w->ping = event_new(base, -1, 0, ping_cb, w);
        assert_non_null(w->ping);
    }
    assert_int_equal(pthread_create(&loop_th, NULL, loop_main, base), 0);
    for (i = 0; i < NTHREADS; i++)
        assert_int_equal(
            pthread_create(&th[i], NULL, worker_main, &workers[i]), 0);
    tu_now(&start);
    tu_sleep_ms(STRESS_MS);
    __atomic_store_n(&stop_flag, 1, __ATOMIC_RELEASE);
    for (i = 0; i < NTHREADS; i++) {
        void *ret;

        pthread_join(th[i], &ret);
        errors += (long)ret;
    }
    event_base_loopbreak(base);
    pthread_join(loop_th, NULL);

    for (i = 0; i < NTHREADS; i++) {
        struct worker *w = &workers[i];

        total_fired += w->fired;
        total_ops += w->ops_add + w->ops_del + w->ops_active;
        pinged += w->pinged;
        for (j = 0; j < EVS_PER_THREAD; j++)
            event_free(w->evs[j]);
        event_free(w->ping);
        tu_close_pair(w->pair);
    }
    printf("stress: %d threads for %ld ms: %ld add/del/active calls, %ld "
           "callbacks; shared event activated %ld times, ran %ld times\n",
        NTHREADS, tu_ms_since(&start), total_ops, total_fired,
        shared_activations, shared_fired);
    event_free(shared_ev);
    event_free(keepalive);
    event_base_free(base);

    assert_int_equal(errors, 0);
    assert_int_equal(pinged, NTHREADS);
    assert_true(total_ops > 1000);
    assert_true(total_fired > 0);
    assert_true(shared_fired > 0);
    assert_true(shared_fired <= shared_activations);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stress, tu_setup_nobase,
            tu_teardown_nobase),
    };

    assert_int_equal(evthread_use_pthreads(), 0);
    tu_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

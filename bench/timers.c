/*
 * timers: M pure timers (no fd) through their whole life, one timed
 * region per phase:
 *   add      event_add() of all M, each with its own timeout
 *   del      event_del() of every other timer (M/2)
 *   readd    event_add() of those M/2 again with new timeouts
 *   resched  event_add() of all M while pending: each moves in the heap
 *   fire     event_base_loop() until all M have fired (the loop ends by
 *            itself when none is left)
 * Metric ns_per_op is this thread's CPU time per operation, so the fire
 * phase does not count the time spent waiting for deadlines; fire also
 * reports its wall time.  Phase "all" is the CPU time of the five phases
 * per timer.
 *
 *   timers [--m=100000] [--mode=random|same|common|requests] [--seed=1]
 *
 * random:   timeouts uniform in [0, 100) ms, a fresh draw per phase.
 * same:     every timeout is 100 ms, through the ordinary heap.
 * common:   every timeout is 100 ms, through the queue returned by
 *           event_base_init_common_timeout() (libevent 2 only).
 * requests: every timeout is 3 s, and the first four phases each run
 *           in one callback of the loop, as a server arms and cancels
 *           request timeouts: the loop's cached time gives each phase's
 *           timers one deadline.  del cancels the first half in the order
 *           they were armed (requests that finished before their
 *           timeout), and readd arms those again.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench-api.h"
#include "bench-util.h"

#define SPAN_US 100000
/* Requests mode: long enough that nothing fires before the fire phase,
 * even under callgrind. */
#define REQUEST_US 3000000

struct timers {
    struct event_base *base;
    struct event *ev;
    int *usec[3];
    const struct timeval *common;
    long m;
    long fired;
    long errors;
    int mode;
};

enum { MODE_RANDOM, MODE_SAME, MODE_COMMON, MODE_REQUESTS };

static struct timers T;

static void
timer_cb(int fd, short what, void *arg)
{
    if (!(what & EV_TIMEOUT))
        T.errors++;
    T.fired++;
}

/* Adds timer i with the timeout drawn for phase p. */
static void
add_one(long i, int p)
{
    struct timeval tv;
    const struct timeval *tvp = &tv;

    if (T.common) {
        tvp = T.common;
    } else {
        tv.tv_sec = T.usec[p][i] / 1000000;
        tv.tv_usec = T.usec[p][i] % 1000000;
    }
    /* libev's emulation takes a non-const pointer; neither writes it. */
    if (event_add(&T.ev[i], (struct timeval *)tvp) != 0)
        T.errors++;
}

static void
run_add(void *arg)
{
    long i;

    for (i = 0; i < T.m; i++)
        add_one(i, 0);
}

/* The k-th of the M/2 timers that del cancels and readd arms again:
 * every other one, or in requests mode the first half in arming order. */
static long
victim(long k)
{
    return T.mode == MODE_REQUESTS ? k : 2 * k + 1;
}

static void
run_del(void *arg)
{
    long k;

    for (k = 0; k < T.m / 2; k++)
        if (event_del(&T.ev[victim(k)]) != 0)
            T.errors++;
}

static void
run_readd(void *arg)
{
    long k;

    for (k = 0; k < T.m / 2; k++)
        add_one(victim(k), 1);
}

static void
run_resched(void *arg)
{
    long i;

    for (i = 0; i < T.m; i++)
        add_one(i, 2);
}

static void
run_fire(void *arg)
{
    event_base_loop(T.base, 0);
}

static int
setup(const char *mode)
{
    long i;
    int p;

    if (strcmp(mode, "common") == 0)
        T.mode = MODE_COMMON;
    else if (strcmp(mode, "same") == 0)
        T.mode = MODE_SAME;
    else if (strcmp(mode, "requests") == 0)
        T.mode = MODE_REQUESTS;
    else
        T.mode = MODE_RANDOM;
    T.ev = calloc(T.m, sizeof(*T.ev));
    for (p = 0; p < 3; p++) {
        T.usec[p] = malloc(T.m * sizeof(int));
        if (!T.usec[p])
            return -1;
        for (i = 0; i < T.m; i++)
            T.usec[p][i] = T.mode == MODE_RANDOM ? (int)(bench_rand() % SPAN_US)
                           : T.mode == MODE_REQUESTS ? REQUEST_US
                                                     : SPAN_US;
    }
    T.base = event_base_new();
    if (!T.ev || !T.base)
        return -1;
    for (i = 0; i < T.m; i++)
        if (bench_assign(&T.ev[i], T.base, -1, 0, timer_cb, NULL) != 0)
            return -1;
    return 0;
}

/* Requests mode: one phase, timed, from inside a callback of the loop. */
struct in_loop {
    const char *phase;
    long ops;
    bench_fn fn;
    struct bench_time t;
};

static void
in_loop_cb(int fd, short what, void *arg)
{
    struct in_loop *il = arg;

    il->t = bench_region(il->phase, il->ops, il->fn, NULL);
}

static struct bench_time
phase_region(const char *phase, long ops, bench_fn fn)
{
    struct in_loop il;
    struct timeval zero = {0, 0};

    if (T.mode != MODE_REQUESTS || fn == run_fire)
        return bench_region(phase, ops, fn, NULL);
    il.phase = phase;
    il.ops = ops;
    il.fn = fn;
    il.t.wall_ns = il.t.cpu_ns = -1;
    if (event_base_once(T.base, -1, EV_TIMEOUT, in_loop_cb, &il, &zero) != 0 ||
        event_base_loop(T.base, EVLOOP_ONCE) < 0 || il.t.cpu_ns < 0 ||
        T.fired != 0) {
        fprintf(stderr, "timers: phase %s did not run in the loop\n", phase);
        exit(1);
    }
    return il.t;
}

int
main(int argc, char **argv)
{
    const char *mode = bench_opt_str(argc, argv, "mode", "random");
    struct bench_time t[5];
    static const char *phase[5] = {"add", "del", "readd", "resched", "fire"};
    static const bench_fn fn[5] = {run_add, run_del, run_readd, run_resched,
                                   run_fire};
    double ops[5], cpu_total = 0;
    char config[128];
    long i, seed = bench_opt_long(argc, argv, "seed", 1);
    int p;

    T.m = bench_opt_long(argc, argv, "m", 100000);
    for (i = 0; i < seed; i++)
        bench_rand();
    snprintf(config, sizeof(config), "mode=%s m=%ld", mode, T.m);
    bench_init("timers", config);
    if (setup(mode) != 0) {
        fprintf(stderr, "timers: cannot set up %ld timers\n", T.m);
        return 1;
    }
    if (T.mode == MODE_COMMON) {
#if BENCH_LIBEVENT2
        struct timeval tv = {0, SPAN_US};

        T.common = event_base_init_common_timeout(T.base, &tv);
        if (!T.common)
            return 1;
#else
        return bench_skip("no_event_base_init_common_timeout");
#endif
    }
    ops[0] = ops[3] = ops[4] = T.m;
    ops[1] = ops[2] = T.m / 2;
    for (p = 0; p < 5; p++)
        t[p] = phase_region(phase[p], (long)ops[p], fn[p]);
    if (T.fired != T.m || T.errors) {
        fprintf(stderr, "timers: %ld of %ld fired, %ld errors\n", T.fired, T.m,
                T.errors);
        return 1;
    }
    for (p = 0; p < 5; p++) {
        bench_result(phase[p], "ns_per_op", t[p].cpu_ns / ops[p]);
        cpu_total += t[p].cpu_ns;
    }
    bench_result("fire", "wall_ms", t[4].wall_ns / 1e6);
    bench_result("all", "ns_per_op", cpu_total / T.m);

    event_base_free(T.base);
    free(T.ev);
    for (p = 0; p < 3; p++)
        free(T.usec[p]);
    return 0;
}

/*
 * pipechain: N socketpairs in a ring, each with a persistent read event;
 * a token is one byte.  Every callback reads one byte from its socket and,
 * while the forwarding budget lasts, writes one byte into the next pair,
 * so a token hops around the ring.  The A tokens start spread evenly over
 * the ring.  The run does exactly tokens * hops callbacks: tokens bytes
 * are written before the loop and tokens * (hops - 1) are forwarded.
 *
 *   pipechain [--n=1000] [--tokens=100] [--hops=10000] [--timeout]
 *             [--rereg-events=200000] [--iterations=0] [--writes=100]
 *
 * Phases, each a timed region:
 *   chain   event_base_loop() until the last callback; ns per callback.
 *           With --timeout every event is added with a 10 s timeout and
 *           re-added with event_add(ev, &tv) in each callback, so the
 *           timer heap is updated on every hop.
 *   rereg   event_del + event_assign + event_add of all N events, then a
 *           non-blocking loop pass so lazy backends apply the changes;
 *           repeated until about --rereg-events events were re-registered;
 *           ns per event.
 *   iterations
 *           (with --iterations=I) libevent's bench.c shape, I times:
 *           the re-registration of all N and a non-blocking pass (not
 *           counted), then, counted: one byte into each of the A token
 *           pairs and EVLOOP_ONCE | EVLOOP_NONBLOCK passes until those A
 *           bytes and --writes=W forwarded ones were read; ns per
 *           callback.  Each iteration starts right after every event was
 *           re-registered, which is where libraries differ at large N.
 *
 * Exits 1 if a callback count, read or write is wrong; loopback only.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench-api.h"
#include "bench-util.h"

struct chain {
    struct event_base *base;
    struct event *ev;
    int (*fds)[2];
    long n;
    long tokens;
    long total;
    long fired;
    long writes_left;
    long errors;
    long timeouts;
    long passes;
    long iterations;
    long writes;
    int with_timeout;
    struct timeval tv;
};

static struct chain C;

static void
chain_cb(int fd, short what, void *arg)
{
    long i = (long)(intptr_t)arg;
    char b;

    if (what & EV_TIMEOUT) {
        C.timeouts++;
        return;
    }
    if (C.with_timeout)
        event_add(&C.ev[i], &C.tv);
    if (read(fd, &b, 1) != 1) {
        C.errors++;
        return;
    }
    C.fired++;
    if (C.writes_left > 0) {
        long j = i + 1 == C.n ? 0 : i + 1;

        C.writes_left--;
        if (write(C.fds[j][1], &b, 1) != 1)
            C.errors++;
    }
    if (C.fired == C.total)
        event_base_loopexit(C.base, NULL);
}

static int
add_all(void)
{
    long i;

    for (i = 0; i < C.n; i++) {
        if (bench_assign(&C.ev[i], C.base, C.fds[i][0], EV_READ | EV_PERSIST,
                         chain_cb, (void *)(intptr_t)i) != 0)
            return -1;
        if (event_add(&C.ev[i], C.with_timeout ? &C.tv : NULL) != 0)
            return -1;
    }
    return 0;
}

static void
run_chain(void *arg)
{
    event_base_loop(C.base, 0);
}


/* event_del + event_assign + event_add of all N events, then one
 * non-blocking pass so that lazy backends apply the changes. */
static void
reregister_all(void *arg)
{
    long i;

    for (i = 0; i < C.n; i++) {
        event_del(&C.ev[i]);
        bench_assign(&C.ev[i], C.base, C.fds[i][0], EV_READ | EV_PERSIST,
                     chain_cb, (void *)(intptr_t)i);
        if (event_add(&C.ev[i], C.with_timeout ? &C.tv : NULL) != 0)
            C.errors++;
    }
    event_base_loop(C.base, EVLOOP_NONBLOCK);
}

/* The rereg phase: C.passes re-registrations of all N. */
static void
run_rereg(void *arg)
{
    long p;

    for (p = 0; p < C.passes; p++)
        reregister_all(NULL);
}

/* Bounds an iteration: far more passes than A + W reads can need. */
#define ITERATION_MAX_PASSES 10000000L

static void
run_iterations(void *arg)
{
    long r, i, passes;

    for (r = 0; r < C.iterations && !C.errors; r++) {
        long want;

        bench_untimed(reregister_all, NULL);
        C.fired = 0;
        C.writes_left = C.writes;
        want = C.tokens + C.writes;
        for (i = 0; i < C.tokens; i++)
            if (write(C.fds[i * C.n / C.tokens][1], "r", 1) != 1)
                C.errors++;
        for (passes = 0;
             C.fired < want && passes < ITERATION_MAX_PASSES; passes++)
            event_base_loop(C.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        if (C.fired != want)
            C.errors++;
    }
}

static int
open_ring(void)
{
    long i;

    C.fds = calloc(C.n, sizeof(*C.fds));
    C.ev = calloc(C.n, sizeof(*C.ev));
    if (!C.fds || !C.ev)
        return -1;
    for (i = 0; i < C.n; i++) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, C.fds[i]) != 0) {
            perror("socketpair");
            return -1;
        }
        fcntl(C.fds[i][0], F_SETFL, O_NONBLOCK);
        fcntl(C.fds[i][1], F_SETFL, O_NONBLOCK);
    }
    return 0;
}

int
main(int argc, char **argv)
{
    long hops = bench_opt_long(argc, argv, "hops", 10000);
    long rereg_events = bench_opt_long(argc, argv, "rereg-events", 200000);
    struct bench_time t;
    char config[128];
    long i;

    C.n = bench_opt_long(argc, argv, "n", 1000);
    C.tokens = bench_opt_long(argc, argv, "tokens", 100);
    C.with_timeout = bench_opt_flag(argc, argv, "timeout");
    C.tv.tv_sec = 10;
    if (C.tokens > C.n)
        C.tokens = C.n;
    C.total = C.tokens * hops;
    C.writes_left = C.total - C.tokens;
    C.passes = (rereg_events + C.n - 1) / C.n;
    C.iterations = bench_opt_long(argc, argv, "iterations", 0);
    C.writes = bench_opt_long(argc, argv, "writes", 100);
    snprintf(config, sizeof(config), "variant=%s n=%ld tokens=%ld",
             C.with_timeout ? "timeout" : "plain", C.n, C.tokens);
    bench_init("pipechain", config);
    if (bench_raise_nofile(2 * C.n + 64) != 0)
        return 0;
    if (open_ring() != 0)
        return 1;
    C.base = event_base_new();
    if (!C.base || add_all() != 0) {
        fprintf(stderr, "pipechain: cannot set up the event base\n");
        return 1;
    }
    for (i = 0; i < C.tokens; i++)
        if (write(C.fds[i * C.n / C.tokens][1], "t", 1) != 1)
            return 1;

    t = bench_region("chain", C.total, run_chain, NULL);
    if (C.fired != C.total || C.errors || C.timeouts) {
        fprintf(stderr,
                "pipechain: %ld of %ld callbacks, %ld errors, "
                "%ld timeouts\n",
                C.fired, C.total, C.errors, C.timeouts);
        return 1;
    }
    bench_result("chain", "ns_per_cb", t.wall_ns / C.total);

    t = bench_region("rereg", C.n * C.passes, run_rereg, NULL);
    if (C.errors) {
        fprintf(stderr, "pipechain: re-registration failed\n");
        return 1;
    }
    bench_result("rereg", "ns_per_event", t.wall_ns / (C.n * C.passes));

    if (C.iterations > 0) {
        long per_iteration = C.tokens + C.writes;

        /* No callback may end a loop: fired never reaches total. */
        C.total = -1;
        t = bench_region("iterations", C.iterations * per_iteration,
                         run_iterations, NULL);
        if (C.errors || C.timeouts) {
            fprintf(stderr,
                    "pipechain: an iteration read %ld of %ld bytes, "
                    "%ld errors, %ld timeouts\n",
                    C.fired, per_iteration, C.errors, C.timeouts);
            return 1;
        }
        bench_result("iterations", "ns_per_cb",
                     t.wall_ns / (C.iterations * per_iteration));
    }

    for (i = 0; i < C.n; i++) {
        event_del(&C.ev[i]);
        close(C.fds[i][0]);
        close(C.fds[i][1]);
    }
    event_base_free(C.base);
    free(C.ev);
    free(C.fds);
    return 0;
}

/*
 * pipechain-epoll: the pipechain benchmark written straight on epoll, as
 * the lower bound for any event library on this kernel.  Same ring, same
 * token placement, same one-read-one-write step per readiness report and
 * same callback count as pipechain.c; level-triggered like libevent.
 *
 *   pipechain-epoll [--n=1000] [--tokens=100] [--hops=10000]
 *                   [--rereg-events=200000] [--iterations=0]
 *                   [--writes=100] [--timeout]
 *
 * Phases: chain (ns per callback), rereg (EPOLL_CTL_DEL + EPOLL_CTL_ADD
 * per fd, then one epoll_wait(0) per pass; ns per event) and, with
 * --iterations, iterations (each: a re-registration of all fds, not
 * counted, then the A tokens and W forwarded bytes read through
 * epoll_wait(0) passes; ns per callback).  There is no timer here, so
 * --timeout only prints a SKIP line.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench-util.h"

#define MAX_EVENTS 1024

struct chain {
    int epfd;
    int (*fds)[2];
    long n;
    long tokens;
    long total;
    long fired;
    long writes_left;
    long errors;
    long passes;
    long iterations;
    long writes;
    struct epoll_event ready[MAX_EVENTS];
};

static struct chain C;

static void
step(long i)
{
    char b;

    if (read(C.fds[i][0], &b, 1) != 1) {
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
}

static void
run_chain(void *arg)
{
    while (C.fired < C.total && !C.errors) {
        int k, nready = epoll_wait(C.epfd, C.ready, MAX_EVENTS, -1);

        for (k = 0; k < nready; k++)
            step(C.ready[k].data.u32);
    }
}

static int
watch(long i)
{
    struct epoll_event ev = {0};

    ev.events = EPOLLIN;
    ev.data.u32 = (unsigned)i;
    return epoll_ctl(C.epfd, EPOLL_CTL_ADD, C.fds[i][0], &ev);
}


/* EPOLL_CTL_DEL + EPOLL_CTL_ADD of all N fds, then one epoll_wait(0). */
static void
reregister_all(void *arg)
{
    long i;

    for (i = 0; i < C.n; i++) {
        struct epoll_event unused;

        epoll_ctl(C.epfd, EPOLL_CTL_DEL, C.fds[i][0], &unused);
        if (watch(i) != 0)
            C.errors++;
    }
    epoll_wait(C.epfd, C.ready, MAX_EVENTS, 0);
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
        long want = C.tokens + C.writes;

        bench_untimed(reregister_all, NULL);
        C.fired = 0;
        C.writes_left = C.writes;
        for (i = 0; i < C.tokens; i++)
            if (write(C.fds[i * C.n / C.tokens][1], "r", 1) != 1)
                C.errors++;
        for (passes = 0;
             C.fired < want && passes < ITERATION_MAX_PASSES; passes++) {
            int k, nready = epoll_wait(C.epfd, C.ready, MAX_EVENTS, 0);

            for (k = 0; k < nready; k++)
                step(C.ready[k].data.u32);
        }
        if (C.fired != want)
            C.errors++;
    }
}

int
main(int argc, char **argv)
{
    long hops = bench_opt_long(argc, argv, "hops", 10000);
    long rereg_events = bench_opt_long(argc, argv, "rereg-events", 200000);
    int with_timeout = bench_opt_flag(argc, argv, "timeout");
    struct bench_time t;
    char config[128];
    long i;

    C.n = bench_opt_long(argc, argv, "n", 1000);
    C.tokens = bench_opt_long(argc, argv, "tokens", 100);
    if (C.tokens > C.n)
        C.tokens = C.n;
    C.total = C.tokens * hops;
    C.writes_left = C.total - C.tokens;
    C.passes = (rereg_events + C.n - 1) / C.n;
    C.iterations = bench_opt_long(argc, argv, "iterations", 0);
    C.writes = bench_opt_long(argc, argv, "writes", 100);
    snprintf(config, sizeof(config), "variant=%s n=%ld tokens=%ld",
             with_timeout ? "timeout" : "plain", C.n, C.tokens);
    bench_init("pipechain", config);
    if (with_timeout)
        return bench_skip("raw_epoll_has_no_timers");
    if (bench_raise_nofile(2 * C.n + 64) != 0)
        return 0;
    C.fds = calloc(C.n, sizeof(*C.fds));
    C.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!C.fds || C.epfd < 0)
        return 1;
    for (i = 0; i < C.n; i++) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, C.fds[i]) != 0) {
            perror("socketpair");
            return 1;
        }
        fcntl(C.fds[i][0], F_SETFL, O_NONBLOCK);
        fcntl(C.fds[i][1], F_SETFL, O_NONBLOCK);
        if (watch(i) != 0)
            return 1;
    }
    for (i = 0; i < C.tokens; i++)
        if (write(C.fds[i * C.n / C.tokens][1], "t", 1) != 1)
            return 1;

    t = bench_region("chain", C.total, run_chain, NULL);
    if (C.fired != C.total || C.errors) {
        fprintf(stderr, "pipechain-epoll: %ld of %ld callbacks, %ld errors\n",
                C.fired, C.total, C.errors);
        return 1;
    }
    bench_result("chain", "ns_per_cb", t.wall_ns / C.total);

    t = bench_region("rereg", C.n * C.passes, run_rereg, NULL);
    if (C.errors)
        return 1;
    bench_result("rereg", "ns_per_event", t.wall_ns / (C.n * C.passes));

    if (C.iterations > 0) {
        long per_iteration = C.tokens + C.writes;

        t = bench_region("iterations", C.iterations * per_iteration,
                         run_iterations, NULL);
        if (C.errors) {
            fprintf(stderr, "pipechain-epoll: an iteration read %ld of %ld\n",
                    C.fired, per_iteration);
            return 1;
        }
        bench_result("iterations", "ns_per_cb",
                     t.wall_ns / (C.iterations * per_iteration));
    }

    for (i = 0; i < C.n; i++) {
        close(C.fds[i][0]);
        close(C.fds[i][1]);
    }
    close(C.epfd);
    free(C.fds);
    return 0;
}

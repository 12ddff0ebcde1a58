/*
 * memory: what the library keeps in user space per registered object.
 *
 *   memory [--events=10000] [--timers=100000] [--conns=10000]
 *
 * Measurements (phase=idle_event, pending_timer, idle_conn):
 *   heap_bytes_per_*  growth of malloc's in-use bytes (mallinfo2) per
 *                     object, the struct event itself included (event_new
 *                     in libevent 2; malloc + event_set in libev's
 *                     emulation, which has no event_new).
 *   mm_bytes_per_*    the same growth counted through
 *                     event_set_mem_functions (libevent 2 only): what the
 *                     library itself asked for, without malloc overhead.
 *   rss_kb, rss_bytes_per_conn
 *                     VmRSS with --conns idle server-side bufferevents
 *                     (read and write enabled, nothing sent), and its
 *                     growth per connection.  The client ends live in a
 *                     forked child that never touches the event library,
 *                     so this process needs only one fd per connection.
 *
 * Idle events are persistent read events on socketpair ends that never
 * get data; pending timers carry a 10 s timeout and never fire.  No
 * region is timed, so nothing here is counted under callgrind.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-api.h"
#include "bench-util.h"
#if BENCH_LIBEVENT2
#include <event2/listener.h>
#endif

static size_t mm_live;

#if BENCH_LIBEVENT2
/* Each block carries its size in a 16-byte header, keeping alignment. */
#define HDR 16

static void *
count_malloc(size_t sz)
{
    char *p = malloc(sz + HDR);

    if (!p)
        return NULL;
    *(size_t *)p = sz;
    mm_live += sz;
    return p + HDR;
}

static void *
count_realloc(void *ptr, size_t sz)
{
    char *p = ptr ? (char *)ptr - HDR : NULL;
    size_t old = p ? *(size_t *)p : 0;

    p = realloc(p, sz + HDR);
    if (!p)
        return NULL;
    *(size_t *)p = sz;
    mm_live += sz - old;
    return p + HDR;
}

static void
count_free(void *ptr)
{
    char *p = ptr ? (char *)ptr - HDR : NULL;

    if (!p)
        return;
    mm_live -= *(size_t *)p;
    free(p);
}
#endif

static void
noop_cb(int fd, short what, void *arg)
{
}

/* A new event for fd, allocated the way each API allows. */
static struct event *
make_event(struct event_base *base, int fd, short what)
{
#if BENCH_LIBEVENT2
    return event_new(base, fd, what, noop_cb, NULL);
#else
    struct event *ev = malloc(sizeof(*ev));

    if (ev && bench_assign(ev, base, fd, what, noop_cb, NULL) != 0) {
        free(ev);
        ev = NULL;
    }
    return ev;
#endif
}

static void
free_event(struct event *ev)
{
#if BENCH_LIBEVENT2
    event_free(ev);
#else
    free(ev);
#endif
}

static void
report(const char *phase, const char *unit, size_t heap0, size_t mm0,
       long count)
{
    char metric[64];

    snprintf(metric, sizeof(metric), "heap_bytes_per_%s", unit);
    bench_result(phase, metric,
                 ((double)bench_heap_bytes() - (double)heap0) / count);
#if BENCH_LIBEVENT2
    snprintf(metric, sizeof(metric), "mm_bytes_per_%s", unit);
    bench_result(phase, metric, ((double)mm_live - (double)mm0) / count);
#else
    (void)mm0;
#endif
}

static int
idle_events(long count)
{
    struct event_base *base = event_base_new();
    struct event **ev = calloc(count, sizeof(*ev));
    int *fds = calloc(count + 1, sizeof(int));
    size_t heap0, mm0;
    long i;

    if (!base || !ev || !fds)
        return -1;
    for (i = 0; i < count; i += 2)
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, &fds[i]) != 0)
            return -1;
    heap0 = bench_heap_bytes();
    mm0 = mm_live;
    for (i = 0; i < count; i++) {
        ev[i] = make_event(base, fds[i], EV_READ | EV_PERSIST);
        if (!ev[i] || event_add(ev[i], NULL) != 0)
            return -1;
    }
    event_base_loop(base, EVLOOP_NONBLOCK);
    report("idle_event", "event", heap0, mm0, count);
    for (i = 0; i < count; i++) {
        event_del(ev[i]);
        free_event(ev[i]);
        close(fds[i]);
    }
    event_base_free(base);
    free(ev);
    free(fds);
    return 0;
}

static int
pending_timers(long count)
{
    struct event_base *base = event_base_new();
    struct event **ev = calloc(count, sizeof(*ev));
    struct timeval tv = {10, 0};
    size_t heap0, mm0;
    long i;

    if (!base || !ev)
        return -1;
    heap0 = bench_heap_bytes();
    mm0 = mm_live;
    for (i = 0; i < count; i++) {
        ev[i] = make_event(base, -1, 0);
        if (!ev[i] || event_add(ev[i], &tv) != 0)
            return -1;
    }
    report("pending_timer", "timer", heap0, mm0, count);
    for (i = 0; i < count; i++) {
        event_del(ev[i]);
        free_event(ev[i]);
    }
    event_base_free(base);
    free(ev);
    return 0;
}

#if BENCH_LIBEVENT2
struct conns {
    struct event_base *base;
    struct bufferevent **bev;
    long count;
    long accepted;
    long errors;
};

static struct conns K;

static void
on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
          int socklen, void *arg)
{
    struct bufferevent *bev;

    bev = bufferevent_socket_new(K.base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev || K.accepted == K.count) {
        K.errors++;
        event_base_loopbreak(K.base);
        return;
    }
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    K.bev[K.accepted++] = bev;
    if (K.accepted == K.count)
        event_base_loopbreak(K.base);
}

/* The child: open count connections, then wait for the parent's word. */
static void
connect_children(const struct sockaddr_in *sin, long count, int done_fd)
{
    char b;
    long i;

    for (i = 0; i < count; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);

        if (fd < 0 ||
            connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) != 0) {
            perror("memory: child connect");
            _exit(1);
        }
    }
    /* Returns when the parent closes its end. */
    while (read(done_fd, &b, 1) > 0)
        ;
    _exit(0);
}

static int
idle_conns(long count)
{
    struct evconnlistener *lev;
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    struct timeval limit = {60, 0};
    size_t heap0, mm0;
    long rss0, rss1, i;
    int done[2], status;
    pid_t pid;

    K.count = count;
    K.base = event_base_new();
    K.bev = calloc(count, sizeof(*K.bev));
    if (!K.base || !K.bev || pipe(done) != 0)
        return -1;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(0x7f000001);
    lev = evconnlistener_new_bind(K.base, on_accept, NULL,
                                  LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE,
                                  4096, (struct sockaddr *)&sin, sizeof(sin));
    if (!lev || getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&sin,
                            &len) != 0)
        return -1;
    /* A guard so a child that failed cannot leave us waiting forever. */
    event_base_loopexit(K.base, &limit);
    rss0 = bench_rss_kb();
    heap0 = bench_heap_bytes();
    mm0 = mm_live;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(done[1]);
        connect_children(&sin, count, done[0]);
    }
    close(done[0]);
    event_base_dispatch(K.base);
    rss1 = bench_rss_kb();
    if (K.accepted == count && !K.errors) {
        report("idle_conn", "conn", heap0, mm0, count);
        bench_result("idle_conn", "rss_kb", rss1);
        bench_result("idle_conn", "rss_bytes_per_conn",
                     (rss1 - rss0) * 1024.0 / count);
    } else {
        fprintf(stderr, "memory: accepted %ld of %ld connections\n", K.accepted,
                count);
    }
    close(done[1]);
    waitpid(pid, &status, 0);
    for (i = 0; i < K.accepted; i++)
        bufferevent_free(K.bev[i]);
    evconnlistener_free(lev);
    event_base_free(K.base);
    free(K.bev);
    return K.accepted == count ? 0 : -1;
}
#endif

int
main(int argc, char **argv)
{
    long events = bench_opt_long(argc, argv, "events", 10000);
    long timers = bench_opt_long(argc, argv, "timers", 100000);
    long conns = bench_opt_long(argc, argv, "conns", 10000);
    char config[128];

    /* Before anything else: the library must allocate through these. */
#if BENCH_LIBEVENT2
    event_set_mem_functions(count_malloc, count_realloc, count_free);
#endif
    events += events % 2;
    snprintf(config, sizeof(config), "events=%ld timers=%ld conns=%ld", events,
             timers, conns);
    bench_init("memory", config);
    if (bench_raise_nofile((events > conns ? events : conns) + 64) != 0)
        return 0;
        /* Connections first: RSS never shrinks after the phases below. */
#if BENCH_LIBEVENT2
    if (conns > 0 && idle_conns(conns) != 0)
        return 1;
#endif
    if (idle_events(events) != 0 || pending_timers(timers) != 0) {
        fprintf(stderr, "memory: setup failed\n");
        return 1;
    }
    return 0;
}

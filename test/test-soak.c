/*
 * test-soak.c: many concurrent echo connections for a while, every byte
 * verified, memory flat.
 *
 * The test process is the echo server (evconnlistener plus one
 * bufferevent per connection that writes back what it reads).  A forked
 * child is the client: its own base, SOAK_CONNS bufferevents connecting
 * over loopback, each sending its own pseudo-random stream (xorshift32
 * seeded per connection) with at most WINDOW bytes in flight and checking
 * every echoed byte against a second copy of the generator.  After the
 * run time the client stops sending, waits for every stream to come back
 * completely, reports through a pipe and closes.  Server and client each
 * sample their resident set (/proc/self/statm) every 250 ms while all
 * connections are up; the first sample after a warm-up (a fifth of the
 * run, at least 1 s) is "start", the last is "end", and the growth
 * between them must stay within max(8 MiB, start / 4) plus what the
 * library holds more at the end (data in flight).  A counting
 * allocator (event_set_mem_functions) also measures the bytes the library
 * holds: once the streams have drained, with every connection still
 * open, it must hold no more than it did busy at the start sample.
 *
 * Default: 1,000 connections for 5 seconds.  EVTEST_SOAK=1 makes it
 * 10,000 connections for 60 seconds; EVTEST_SOAK_CONNS and
 * EVTEST_SOAK_SECONDS set either figure directly.  The soft RLIMIT_NOFILE
 * is raised as needed (each process holds one descriptor per connection);
 * the test is skipped when the hard limit is too low.
 * TEST-TIMEOUT 150
 */
#define _GNU_SOURCE
#include "test-util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

/* A sanitizer's quarantine of freed blocks would look like growth. */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
    return "quarantine_size_mb=4";
}

#define WINDOW 4096           /* bytes in flight per connection */
#define SAMPLE_MS 250
#define DRAIN_MS 20000        /* to get every stream back after the run */
#define CONNECT_MS 30000      /* to get every connection up */

static long soak_conns = 1000;
static long soak_seconds = 5;

/*
 * Counting allocator, installed first thing in main(): the bytes the
 * library holds are sampled with the RSS, which tells a leak from the
 * allocator's own caching.  Each process is single-threaded.
 */
struct mhdr {
    size_t size;
    size_t pad;
};

static long long live_bytes;

static void *
cnt_malloc(size_t sz)
{
    struct mhdr *h = malloc(sizeof(*h) + sz);

    if (h == NULL)
        return NULL;
    h->size = sz;
    live_bytes += (long long)sz;
    return h + 1;
}

static void
cnt_free(void *p)
{
    struct mhdr *h;

    if (p == NULL)
        return;
    h = (struct mhdr *)p - 1;
    live_bytes -= (long long)h->size;
    free(h);
}

static void *
cnt_realloc(void *p, size_t sz)
{
    struct mhdr *h;
    size_t old;

    if (p == NULL)
        return cnt_malloc(sz);
    h = (struct mhdr *)p - 1;
    old = h->size;
    h = realloc(h, sizeof(*h) + sz);
    if (h == NULL)
        return NULL;
    h->size = sz;
    live_bytes += (long long)sz - (long long)old;
    return h + 1;
}

/* Before the "start" RSS sample, all connections up: a fifth of the run,
 * at least a second, so that every connection's buffers have been used. */
static long
warmup_ms(void)
{
    return soak_seconds * 200 > 1000 ? soak_seconds * 200 : 1000;
}

/* Resident set in KiB, or -1. */
static long
rss_kib(void)
{
    long size, resident = -1;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f == NULL)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static unsigned
xorshift(unsigned *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* RSS bookkeeping shared by both sides. */
struct rss {
    long start, end;
    long long heap_start, heap_end; /* bytes the library holds */
    struct timeval up_since; /* when all connections were first up */
    int up;
};

static void
rss_sample(struct rss *r, int all_up)
{
    if (!all_up)
        return;
    if (!r->up) {
        r->up = 1;
        tu_now(&r->up_since);
        return;
    }
    if (tu_ms_since(&r->up_since) < warmup_ms())
        return;
    if (r->start < 0) {
        r->start = rss_kib();
        r->heap_start = live_bytes;
    } else {
        r->end = rss_kib();
        r->heap_end = live_bytes;
    }
}

/* ------------------------------------------------------------------ */
/* Client (forked child). */

enum { PHASE_CONNECT = 1, PHASE_RUN, PHASE_DRAIN };

struct cconn {
    struct bufferevent *bev;
    unsigned send_state, recv_state;
    size_t sent, verified;
    int connected, failed;
};

struct report {
    long connected, complete, failed, bad;
    long create_ms, connect_ms, drain_ms;
    long long bytes;
    long rss_start, rss_end;
    long long heap_start, heap_end;
    long long heap_quiet; /* after the drain, connections still open */
};

struct client {
    struct event_base *base;
    struct cconn *conns;
    long n, connected, failed, bad;
    int stop;
    int phase;
    struct rss rss;
};

static void
top_up(struct client *cl, struct cconn *c)
{
    unsigned char buf[WINDOW];
    size_t n, i;

    if (cl->stop || c->failed)
        return;
    n = WINDOW - (c->sent - c->verified);
    if (n < WINDOW / 2)
        return;
    for (i = 0; i < n; i++)
        buf[i] = (unsigned char)xorshift(&c->send_state);
    if (bufferevent_write(c->bev, buf, n) < 0) {
        c->failed = 1;
        return;
    }
    c->sent += n;
}

static void
client_read_cb(struct bufferevent *bev, void *arg)
{
    struct cconn *c = arg;
    unsigned char buf[WINDOW];
    size_t n, i;

    while ((n = bufferevent_read(bev, buf, sizeof(buf))) > 0) {
        for (i = 0; i < n; i++) {
            if (buf[i] != (unsigned char)xorshift(&c->recv_state))
                c->failed = 2;
        }
        c->verified += n;
    }
}

static struct client *the_client;

static void
client_read_and_top_up(struct bufferevent *bev, void *arg)
{
    client_read_cb(bev, arg);
    top_up(the_client, arg);
}

static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct cconn *c = arg;

    (void)bev;
    if (what & BEV_EVENT_CONNECTED) {
        c->connected = 1;
        the_client->connected++;
        top_up(the_client, c);
        return;
    }
    if (!c->failed)
        c->failed = 3;
}

static void
client_tick(evutil_socket_t fd, short what, void *arg)
{
    struct client *cl = arg;

    (void)fd;
    (void)what;
    rss_sample(&cl->rss, cl->connected == cl->n && cl->phase == PHASE_RUN);
}

static long
client_pending(struct client *cl)
{
    long i, pending = 0;

    for (i = 0; i < cl->n; i++) {
        if (!cl->conns[i].failed && cl->conns[i].verified < cl->conns[i].sent)
            pending++;
    }
    return pending;
}

static void
break_cb(evutil_socket_t fd, short what, void *base)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(base);
}

/*
 * Dispatches base for at most ms (or until a callback breaks the loop).
 * The deadline is an event deleted afterwards: an event_base_loopexit()
 * timeout would outlive an early break and end the next phase.  Under
 * constant traffic a loop run with EVLOOP_ONCE need not return (libevent
 * 2.1 goes on while callbacks are active), hence one dispatch per phase.
 */
static int
run_phase(struct event_base *base, long ms)
{
    struct timeval tv;
    struct event *deadline = evtimer_new(base, break_cb, base);
    int r;

    if (deadline == NULL || evtimer_add(deadline, tu_tv(&tv, ms)) < 0) {
        if (deadline != NULL)
            event_free(deadline);
        return -1;
    }
    r = event_base_dispatch(base);
    event_free(deadline);
    return r < 0 ? -1 : 0;
}

/* Ends the connect phase when all are up, the drain when all are back. */
static void
client_check(evutil_socket_t fd, short what, void *arg)
{
    struct client *cl = arg;

    (void)fd;
    (void)what;
    if ((cl->phase == PHASE_CONNECT && cl->connected == cl->n) ||
        (cl->phase == PHASE_DRAIN && client_pending(cl) == 0))
        event_base_loopbreak(cl->base);
}

/* Runs in the child; returns the exit status. */
static int
client_main(const struct sockaddr_storage *ss, ev_socklen_t sl, int report_fd)
{
    struct client cl;
    struct report rep;
    struct event *tick, *check;
    struct timeval tv, start;
    long i;

    memset(&cl, 0, sizeof(cl));
    memset(&rep, 0, sizeof(rep));
    cl.rss.start = cl.rss.end = -1;
    the_client = &cl;
    cl.n = soak_conns;
    cl.base = event_base_new();
    cl.conns = calloc((size_t)cl.n, sizeof(*cl.conns));
    if (cl.base == NULL || cl.conns == NULL)
        return 2;
    tick = event_new(cl.base, -1, EV_PERSIST, client_tick, &cl);
    if (tick == NULL || event_add(tick, tu_tv(&tv, SAMPLE_MS)) < 0)
        return 2;
    tu_now(&start);
    for (i = 0; i < cl.n; i++) {
        struct cconn *c = &cl.conns[i];

        c->send_state = c->recv_state = 0x2545f491u ^ (unsigned)(i * 7919 + 1);
        c->bev = bufferevent_socket_new(cl.base, -1, BEV_OPT_CLOSE_ON_FREE);
        if (c->bev == NULL)
            return 3;
        bufferevent_setcb(c->bev, client_read_and_top_up, NULL,
            client_event_cb, c);
        if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) < 0)
            return 3;
        if (bufferevent_socket_connect(c->bev, (const struct sockaddr *)ss,
                (int)sl) < 0)
            c->failed = 4;
    }
    rep.create_ms = tu_ms_since(&start);
    /* Each phase is one dispatch ended by client_check or its deadline. */
    check = event_new(cl.base, -1, EV_PERSIST, client_check, &cl);
    if (check == NULL || event_add(check, tu_tv(&tv, 20)) < 0)
        return 2;
    tu_now(&start);
    cl.phase = PHASE_CONNECT;
    if (run_phase(cl.base, CONNECT_MS) < 0)
        return 2;
    rep.connect_ms = tu_ms_since(&start);
    cl.phase = PHASE_RUN;
    if (run_phase(cl.base, soak_seconds * 1000) < 0)
        return 2;
    cl.stop = 1;
    tu_now(&start);
    cl.phase = PHASE_DRAIN;
    if (run_phase(cl.base, DRAIN_MS) < 0)
        return 2;
    rep.drain_ms = tu_ms_since(&start);

    rep.connected = cl.connected;
    for (i = 0; i < cl.n; i++) {
        struct cconn *c = &cl.conns[i];

        if (c->failed == 2)
            rep.bad++;
        if (c->failed)
            rep.failed++;
        else if (c->connected && c->verified == c->sent && c->sent > 0)
            rep.complete++;
        rep.bytes += (long long)c->verified;
    }
    rep.rss_start = cl.rss.start;
    rep.rss_end = cl.rss.end;
    rep.heap_start = cl.rss.heap_start;
    rep.heap_end = cl.rss.heap_end;
    rep.heap_quiet = live_bytes;
    if (write(report_fd, &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
        return 4;
    for (i = 0; i < cl.n; i++)
        bufferevent_free(cl.conns[i].bev);
    event_free(tick);
    event_free(check);
    event_base_free(cl.base);
    free(cl.conns);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Server (the test process). */

struct server {
    struct event_base *base;
    long live, accepted, errors;
    long long echoed;
    struct rss rss;
    struct report rep;
    long long heap_quiet;
    int have_report;
};

static void
echo_read_cb(struct bufferevent *bev, void *arg)
{
    struct server *sv = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    sv->echoed += (long long)evbuffer_get_length(in);
    if (bufferevent_write_buffer(bev, in) < 0)
        sv->errors++;
}

static void
echo_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct server *sv = arg;

    if (what & BEV_EVENT_ERROR)
        sv->errors++;
    bufferevent_free(bev);
    sv->live--;
}

static void
echo_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int socklen, void *arg)
{
    struct server *sv = arg;
    struct bufferevent *bev;

    (void)lev;
    (void)sa;
    (void)socklen;
    bev = bufferevent_socket_new(sv->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        close(fd);
        sv->errors++;
        return;
    }
    bufferevent_setcb(bev, echo_read_cb, NULL, echo_event_cb, sv);
    if (bufferevent_enable(bev, EV_READ | EV_WRITE) < 0)
        sv->errors++;
    sv->live++;
    sv->accepted++;
}

static void
server_tick(evutil_socket_t fd, short what, void *arg)
{
    struct server *sv = arg;

    (void)fd;
    (void)what;
    rss_sample(&sv->rss, sv->live == soak_conns && !sv->have_report);
    if (sv->have_report != 0 && sv->live == 0)
        event_base_loopbreak(sv->base);
}

static void
report_cb(evutil_socket_t fd, short what, void *arg)
{
    struct server *sv = arg;

    (void)what;
    /* The client has drained and not yet closed: nothing in flight. */
    sv->heap_quiet = live_bytes;
    if (read(fd, &sv->rep, sizeof(sv->rep)) == (ssize_t)sizeof(sv->rep))
        sv->have_report = 1;
    else
        sv->have_report = -1;
}

static long
env_long(const char *name, long dflt)
{
    const char *v = getenv(name);

    return v != NULL && *v != '\0' ? strtol(v, NULL, 10) : dflt;
}

/* RSS growth allowed between the start and end samples, in KiB: what
 * the library holds more at the end (data in flight: up to WINDOW per
 * connection and direction, which varies between samples) plus
 * max(8 MiB, start / 4). */
static long
allowed_growth(long start, long long heap_start, long long heap_end)
{
    long a = start / 4;
    long long in_flight = heap_end > heap_start ? heap_end - heap_start : 0;

    return (a > 8192 ? a : 8192) + (long)(in_flight / 1024);
}

static void
test_soak(void **state)
{
    struct sockaddr_storage ss;
    ev_socklen_t sl = sizeof(ss);
    struct rlimit rl;
    struct server sv;
    struct evconnlistener *lev;
    struct event *tick, *rep_ev;
    struct timeval tv, t0;
    evutil_socket_t lfd;
    int pipefd[2], status;
    rlim_t need;
    pid_t pid;

    (void)state;
    /* One descriptor per connection in each process, plus the usual. */
    need = (rlim_t)soak_conns + 128;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        printf("soak: skipped: %ld connections need %lu descriptors, the "
               "hard limit is %lu\n", soak_conns, (unsigned long)need,
            (unsigned long)rl.rlim_max);
        skip();
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rl.rlim_cur = need;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }

    memset(&sv, 0, sizeof(sv));
    sv.rss.start = sv.rss.end = -1;
    lfd = tu_tcp_listener(AF_INET, &ss, &sl);
    assert_true(lfd >= 0);
    assert_int_equal(listen(lfd, 4096), 0);
    assert_int_equal(pipe(pipefd), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int code;

        /* The watchdog does not survive fork(): the child gets its own. */
        tu_watchdog((unsigned)(soak_seconds + CONNECT_MS / 1000 +
                               DRAIN_MS / 1000 + 10));
        close(lfd);
        close(pipefd[0]);
        code = client_main(&ss, sl, pipefd[1]);
        _exit(code);
    }
    tu_now(&t0);
    close(pipefd[1]);
    tu_watchdog((unsigned)(soak_seconds + CONNECT_MS / 1000 +
                           DRAIN_MS / 1000 + 20));

    sv.base = event_base_new();
    assert_non_null(sv.base);
    lev = evconnlistener_new(sv.base, echo_accept_cb, &sv,
        LEV_OPT_CLOSE_ON_FREE, 0, lfd); /* 0: already listening */
    assert_non_null(lev);
    tick = event_new(sv.base, -1, EV_PERSIST, server_tick, &sv);
    assert_non_null(tick);
    assert_int_equal(event_add(tick, tu_tv(&tv, SAMPLE_MS)), 0);
    rep_ev = event_new(sv.base, pipefd[0], EV_READ, report_cb, &sv);
    assert_non_null(rep_ev);
    assert_int_equal(event_add(rep_ev, NULL), 0);

    /* Serve until the client has reported and closed every connection
     * (server_tick breaks the loop), or a deadline. */
    event_base_loopexit(sv.base,
        tu_tv(&tv, soak_seconds * 1000 + CONNECT_MS + DRAIN_MS + 5000));
    event_base_dispatch(sv.base);

    assert_int_equal(waitpid(pid, &status, 0), pid);
    evconnlistener_free(lev);
    event_free(tick);
    event_free(rep_ev);
    event_base_free(sv.base);
    close(pipefd[0]);

    printf("soak: %ld connections for %ld s: %ld connected, %ld complete, "
           "%lld bytes verified (%lld echoed by the server)\n", soak_conns,
        soak_seconds, sv.rep.connected, sv.rep.complete, sv.rep.bytes,
        sv.echoed);
    printf("soak: creating took %ld ms, connecting %ld ms, draining %ld ms, "
           "all %ld ms\n", sv.rep.create_ms, sv.rep.connect_ms,
        sv.rep.drain_ms, tu_ms_since(&t0));
    printf("soak: RSS server %ld -> %ld KiB, client %ld -> %ld KiB\n",
        sv.rss.start, sv.rss.end, sv.rep.rss_start, sv.rep.rss_end);
    printf("soak: library heap server %lld -> %lld KiB (%lld idle), client "
           "%lld -> %lld KiB (%lld idle)\n", sv.rss.heap_start / 1024,
        sv.rss.heap_end / 1024, sv.heap_quiet / 1024,
        sv.rep.heap_start / 1024, sv.rep.heap_end / 1024,
        sv.rep.heap_quiet / 1024);

    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(sv.have_report, 1);
    assert_int_equal(sv.rep.connected, soak_conns);
    assert_int_equal(sv.rep.failed, 0);
    assert_int_equal(sv.rep.bad, 0);
    assert_int_equal(sv.rep.complete, soak_conns);
    assert_int_equal(sv.accepted, soak_conns);
    assert_int_equal(sv.errors, 0);
    assert_int_equal(sv.live, 0);
    assert_true(sv.rep.bytes == sv.echoed);
    assert_true(sv.rep.bytes >= (long long)soak_conns * WINDOW);
    /* Flat memory on both sides. */
    assert_true(sv.rss.start > 0 && sv.rss.end > 0);
    assert_true(sv.rep.rss_start > 0 && sv.rep.rss_end > 0);
    assert_true(sv.rss.end - sv.rss.start <=
                allowed_growth(sv.rss.start, sv.rss.heap_start,
                    sv.rss.heap_end));
    assert_true(sv.rep.rss_end - sv.rep.rss_start <=
                allowed_growth(sv.rep.rss_start, sv.rep.heap_start,
                    sv.rep.heap_end));
    /* Idle, the library holds no more than it did busy at the start: a
     * few bytes kept per operation would show here. */
    assert_true(sv.heap_quiet <= sv.rss.heap_start + 65536);
    assert_true(sv.rep.heap_quiet <= sv.rep.heap_start + 65536);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_soak, tu_setup_nobase,
            tu_teardown_nobase),
    };

    event_set_mem_functions(cnt_malloc, cnt_realloc, cnt_free);
    if (env_long("EVTEST_SOAK", 0) == 1) {
        soak_conns = 10000;
        soak_seconds = 60;
    }
    soak_conns = env_long("EVTEST_SOAK_CONNS", soak_conns);
    soak_seconds = env_long("EVTEST_SOAK_SECONDS", soak_seconds);
    if (soak_conns < 1 || soak_seconds < 1) {
        fprintf(stderr, "soak: bad EVTEST_SOAK_CONNS/SECONDS\n");
        return 1;
    }
    tu_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

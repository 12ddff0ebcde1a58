/*
 * test-win32.c: what is specific to the Windows build, run under Wine by
 * test/wine/run.sh (built only when WIN32; test/CMakeLists.txt leaves it
 * out of Linux builds).
 *
 * Covers the win32 select backend (Winsock fd_sets grown well past
 * FD_SETSIZE = 64, removal from the middle of a set, write and connect
 * readiness), evutil_socketpair over loopback TCP, non-blocking sockets
 * and Winsock error reporting, the monotonic clock, signals through the
 * CRT's signal() (supported numbers work, others fail cleanly),
 * evthread_use_windows_threads with a cross-thread wake-up, and evbuffer
 * and bufferevent I/O through WSARecv/WSASend.
 *
 * Every loop is bounded by a safety timer; every socket is closed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <event2/util.h>

/* More pairs than Winsock's FD_SETSIZE (64) holds sockets, twice over. */
#define NPAIRS 150
#define SAFETY_MS 5000

static void
safety_cb(evutil_socket_t fd, short what, void *arg)
{
    int *fired = arg;

    (void)fd;
    (void)what;
    *fired = 1;
}

/* Runs the loop until loopexit/loopbreak or SAFETY_MS; returns 1 when the
 * safety timer ended it. */
static int
run_bounded(struct event_base *base)
{
    struct timeval tv = {SAFETY_MS / 1000, 0};
    int fired = 0;
    struct event *safety = evtimer_new(base, safety_cb, &fired);

    assert_non_null(safety);
    assert_int_equal(evtimer_add(safety, &tv), 0);
    while (!fired) {
        int r = event_base_loop(base, EVLOOP_ONCE);
        assert_true(r >= 0);
        if (event_base_got_exit(base) || event_base_got_break(base))
            break;
    }
    event_free(safety);
    return fired;
}

static void
make_pair(evutil_socket_t sv[2])
{
    assert_int_equal(evutil_socketpair(AF_INET, SOCK_STREAM, 0, sv), 0);
    assert_true(sv[0] >= 0);
    assert_true(sv[1] >= 0);
    assert_int_equal(evutil_make_socket_nonblocking(sv[0]), 0);
    assert_int_equal(evutil_make_socket_nonblocking(sv[1]), 0);
}

static void
close_pair(evutil_socket_t sv[2])
{
    assert_int_equal(evutil_closesocket(sv[0]), 0);
    assert_int_equal(evutil_closesocket(sv[1]), 0);
    sv[0] = sv[1] = EVUTIL_INVALID_SOCKET;
}

/* ------------------------------------------------------------------ */
/* evutil */

static void
test_socketpair(void **state)
{
    evutil_socket_t sv[2];
    char buf[16];

    (void)state;
    make_pair(sv);
    assert_int_equal(send(sv[0], "ping", 4, 0), 4);
    Sleep(10);
    assert_int_equal(recv(sv[1], buf, sizeof(buf), 0), 4);
    assert_memory_equal(buf, "ping", 4);
    assert_int_equal(send(sv[1], "pong!", 5, 0), 5);
    Sleep(10);
    assert_int_equal(recv(sv[0], buf, sizeof(buf), 0), 5);
    assert_memory_equal(buf, "pong!", 5);
    close_pair(sv);

    /* AF_UNIX is served over loopback TCP, as libevent does. */
    assert_int_equal(evutil_socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close_pair(sv);
}

static void
test_socketpair_errors(void **state)
{
    evutil_socket_t sv[2] = {EVUTIL_INVALID_SOCKET, EVUTIL_INVALID_SOCKET};

    (void)state;
    assert_int_equal(evutil_socketpair(AF_INET6, SOCK_STREAM, 0, sv), -1);
    assert_int_equal(EVUTIL_SOCKET_ERROR(), WSAEAFNOSUPPORT);
    assert_int_equal(evutil_socketpair(AF_INET, SOCK_DGRAM, 0, sv), -1);
    assert_int_equal(evutil_socketpair(AF_INET, SOCK_STREAM, 6, sv), -1);
    assert_true(sv[0] < 0);
}

static void
test_nonblocking_and_errors(void **state)
{
    evutil_socket_t sv[2];
    char buf[4];
    const char *msg;
    int err;

    (void)state;
    make_pair(sv);
    assert_int_equal(recv(sv[0], buf, sizeof(buf), 0), SOCKET_ERROR);
    err = EVUTIL_SOCKET_ERROR();
    assert_int_equal(err, WSAEWOULDBLOCK);
    assert_int_equal(evutil_socket_geterror(sv[0]), WSAEWOULDBLOCK);
    msg = evutil_socket_error_to_string(err);
    assert_non_null(msg);
    /* FormatMessage's text (Windows) or our fallback (Wine has no
     * Winsock message texts); the code is in both. */
    assert_non_null(strstr(msg, "10035"));
    assert_true(strlen(msg) > strlen("10035"));

    EVUTIL_SET_SOCKET_ERROR(WSAECONNREFUSED);
    assert_int_equal(EVUTIL_SOCKET_ERROR(), WSAECONNREFUSED);
    close_pair(sv);

    /* Closing twice is an error reported through the socket error. */
    assert_int_equal(evutil_closesocket(sv[0]), -1);
    assert_int_equal(EVUTIL_SOCKET_ERROR(), WSAENOTSOCK);
    msg = evutil_socket_error_to_string(0x7fff0001);
    assert_non_null(strstr(msg, "0x7fff0001"));
    assert_non_null(strstr(msg, "2147418113"));
}

static void
test_monotonic_time(void **state)
{
    struct evutil_monotonic_timer *t = evutil_monotonic_timer_new();
    struct timeval a, b, now;
    long ms;

    (void)state;
    assert_non_null(t);
    assert_int_equal(evutil_configure_monotonic_time(t, EV_MONOT_PRECISE), 0);
    assert_int_equal(evutil_gettime_monotonic(t, &a), 0);
    Sleep(50);
    assert_int_equal(evutil_gettime_monotonic(t, &b), 0);
    ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_usec - a.tv_usec) / 1000;
    assert_true(ms >= 40 && ms < 1000);
    evutil_monotonic_timer_free(t);

    assert_int_equal(evutil_gettimeofday(&now, NULL), 0);
    assert_true(now.tv_sec > 1500000000);
}

static void
test_rng(void **state)
{
    unsigned char a[32], b[32], zero[32];

    (void)state;
    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    memset(zero, 0, sizeof(zero));
    assert_int_equal(evutil_secure_rng_init(), 0);
    evutil_secure_rng_get_bytes(a, sizeof(a));
    evutil_secure_rng_get_bytes(b, sizeof(b));
    assert_memory_not_equal(a, zero, sizeof(a));
    assert_memory_not_equal(a, b, sizeof(a));
}

/* Exported by the core (as in libevent 2.1), declared in util-internal.h. */
void evutil_adjust_hints_for_addrconfig_(struct evutil_addrinfo *hints);

/* AI_ADDRCONFIG reads the adapter list (GetAdaptersAddresses stands in
 * for getifaddrs): hints keep PF_UNSPEC or narrow to one real family. */
static void
test_getaddrinfo_addrconfig(void **state)
{
    struct evutil_addrinfo hints, *ai = NULL;
    const struct sockaddr_in *sin;

    (void)state;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = PF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = EVUTIL_AI_ADDRCONFIG | EVUTIL_AI_NUMERICHOST;
    evutil_adjust_hints_for_addrconfig_(&hints);
    assert_true(hints.ai_family == PF_UNSPEC || hints.ai_family == AF_INET ||
                hints.ai_family == AF_INET6);
    hints.ai_family = PF_UNSPEC;
    assert_int_equal(evutil_getaddrinfo("127.0.0.1", "8080", &hints, &ai), 0);
    assert_non_null(ai);
    assert_int_equal(ai->ai_family, AF_INET);
    sin = (const struct sockaddr_in *)ai->ai_addr;
    assert_int_equal(ntohs(sin->sin_port), 8080);
    assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
    evutil_freeaddrinfo(ai);

    ai = NULL;
    assert_int_equal(evutil_getaddrinfo("not an address", "80", &hints, &ai),
                     EVUTIL_EAI_NONAME);
    assert_null(ai);
}

/* ------------------------------------------------------------------ */
/* The win32 backend */

static void
test_backend_name(void **state)
{
    struct event_base *base = event_base_new();
    const char **methods = event_get_supported_methods();
    int i, found = 0;

    (void)state;
    assert_non_null(base);
    assert_string_equal(event_base_get_method(base), "win32");
    for (i = 0; methods[i]; ++i)
        if (strcmp(methods[i], "win32") == 0)
            found = 1;
    assert_true(found);
    /* Only sockets: no EV_FEATURE_FDS. */
    assert_int_equal(event_base_get_features(base) & EV_FEATURE_FDS, 0);
    event_base_free(base);
}

struct many {
    int hits[NPAIRS];
    int total;
    struct event_base *base;
    int want;
};

/* No IOCP backend yet: the flag is accepted and the base runs on
 * select(), as libevent 2.1 does where it cannot start IOCP. */
static void
test_iocp_flag(void **state)
{
    struct event_config *cfg = event_config_new();
    struct event_base *base;

    (void)state;
    assert_non_null(cfg);
    assert_int_equal(event_config_set_flag(cfg, EVENT_BASE_FLAG_STARTUP_IOCP),
                     0);
    base = event_base_new_with_config(cfg);
    assert_non_null(base);
    assert_string_equal(event_base_get_method(base), "win32");
    event_base_free(base);

    /* Nothing here can watch arbitrary descriptors. */
    assert_int_equal(event_config_require_features(cfg, EV_FEATURE_FDS), 0);
    assert_null(event_base_new_with_config(cfg));
    event_config_free(cfg);
}

struct slot {
    struct many *m;
    int index;
};

static void
slot_cb(evutil_socket_t fd, short what, void *arg)
{
    struct slot *s = arg;
    char buf[8];

    (void)what;
    while (recv(fd, buf, sizeof(buf), 0) > 0)
        ;
    s->m->hits[s->index]++;
    s->m->total++;
    if (s->m->total >= s->m->want)
        event_base_loopexit(s->m->base, NULL);
}

/* 150 pairs: the read set holds 150 sockets (and the sets grow twice from
 * 64); removing every other event then exercises removal from the middle
 * of the sets. */
static void
test_many_sockets(void **state)
{
    static evutil_socket_t sv[NPAIRS][2];
    static struct event *ev[NPAIRS];
    static struct slot slots[NPAIRS];
    struct many m;
    int i;

    (void)state;
    memset(&m, 0, sizeof(m));
    m.base = event_base_new();
    assert_non_null(m.base);
    for (i = 0; i < NPAIRS; ++i) {
        make_pair(sv[i]);
        slots[i].m = &m;
        slots[i].index = i;
        ev[i] = event_new(m.base, sv[i][1], EV_READ | EV_PERSIST, slot_cb,
                          &slots[i]);
        assert_non_null(ev[i]);
        assert_int_equal(event_add(ev[i], NULL), 0);
    }
    for (i = 0; i < NPAIRS; ++i)
        assert_int_equal(send(sv[i][0], "x", 1, 0), 1);
    m.want = NPAIRS;
    assert_int_equal(run_bounded(m.base), 0);
    for (i = 0; i < NPAIRS; ++i)
        assert_int_equal(m.hits[i], 1);

    /* Every other event goes; the rest must still be watched. */
    for (i = 0; i < NPAIRS; i += 2)
        assert_int_equal(event_del(ev[i]), 0);
    memset(m.hits, 0, sizeof(m.hits));
    m.total = 0;
    m.want = NPAIRS / 2;
    for (i = 0; i < NPAIRS; ++i)
        assert_int_equal(send(sv[i][0], "y", 1, 0), 1);
    assert_int_equal(run_bounded(m.base), 0);
    for (i = 0; i < NPAIRS; ++i)
        assert_int_equal(m.hits[i], i % 2 ? 1 : 0);

    /* Re-adding appends them again. */
    for (i = 0; i < NPAIRS; i += 2)
        assert_int_equal(event_add(ev[i], NULL), 0);
    memset(m.hits, 0, sizeof(m.hits));
    m.total = 0;
    m.want = NPAIRS / 2;
    assert_int_equal(run_bounded(m.base), 0);
    for (i = 0; i < NPAIRS; ++i)
        assert_int_equal(m.hits[i], i % 2 ? 0 : 1);

    for (i = 0; i < NPAIRS; ++i) {
        event_free(ev[i]);
        close_pair(sv[i]);
    }
    event_base_free(m.base);
}

static void
count_cb(evutil_socket_t fd, short what, void *arg)
{
    int *n = arg;

    (void)fd;
    if (what & EV_WRITE)
        ++*n;
}

/* An idle connected socket is writable; one-shot write events on many of
 * them each fire once. */
static void
test_many_writable(void **state)
{
    static evutil_socket_t sv[NPAIRS][2];
    static struct event *ev[NPAIRS];
    struct event_base *base = event_base_new();
    int n = 0, i;

    (void)state;
    assert_non_null(base);
    for (i = 0; i < NPAIRS; ++i) {
        make_pair(sv[i]);
        ev[i] = event_new(base, sv[i][0], EV_WRITE, count_cb, &n);
        assert_non_null(ev[i]);
        assert_int_equal(event_add(ev[i], NULL), 0);
    }
    /* One select() may not report all of them at once; finish up (the
     * loop returns 1 once no event is left). */
    for (i = 0; i < 10 && n < NPAIRS; ++i)
        assert_true(event_base_loop(base, EVLOOP_NONBLOCK) >= 0);
    assert_int_equal(n, NPAIRS);
    for (i = 0; i < NPAIRS; ++i) {
        event_free(ev[i]);
        close_pair(sv[i]);
    }
    event_base_free(base);
}

struct timing {
    struct timeval start;
    long elapsed_ms;
    int fired;
};

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct timing *t = arg;
    struct timeval now;

    (void)fd;
    (void)what;
    evutil_gettimeofday(&now, NULL);
    t->elapsed_ms = (now.tv_sec - t->start.tv_sec) * 1000 +
                    (now.tv_usec - t->start.tv_usec) / 1000;
    t->fired++;
}

/* Timers alone: nothing in the sets, so dispatch sleeps by itself. */
static void
test_timer_only(void **state)
{
    struct event_base *base = event_base_new();
    struct timeval tv = {0, 100000};
    struct timing t;
    struct event *ev;

    (void)state;
    memset(&t, 0, sizeof(t));
    assert_non_null(base);
    ev = evtimer_new(base, timer_cb, &t);
    assert_non_null(ev);
    evutil_gettimeofday(&t.start, NULL);
    assert_int_equal(evtimer_add(ev, &tv), 0);
    /* 1: the loop ended because no event was left. */
    assert_int_equal(event_base_dispatch(base), 1);
    assert_int_equal(t.fired, 1);
    assert_true(t.elapsed_ms >= 90);
    assert_true(t.elapsed_ms < 1000);
    event_free(ev);
    event_base_free(base);
}

static void
connect_cb(struct bufferevent *bev, short what, void *arg)
{
    short *got = arg;

    (void)bev;
    *got |= what;
    event_base_loopexit(bufferevent_get_base(bev), NULL);
}

/* A refused non-blocking connect shows up in select()'s except set and
 * must reach the bufferevent as an error. */
static void
test_connect_refused(void **state)
{
    struct event_base *base = event_base_new();
    struct sockaddr_in sin;
    int len = (int)sizeof(sin);
    struct bufferevent *bev;
    evutil_socket_t probe;
    short got = 0;

    (void)state;
    assert_non_null(base);
    /* Find a free port: bind, note it, close. */
    probe = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(probe >= 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(probe, (struct sockaddr *)&sin, len), 0);
    assert_int_equal(getsockname(probe, (struct sockaddr *)&sin, &len), 0);
    evutil_closesocket(probe);

    bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    assert_non_null(bev);
    bufferevent_setcb(bev, NULL, NULL, connect_cb, &got);
    if (bufferevent_socket_connect(bev, (struct sockaddr *)&sin, len) == 0)
        assert_int_equal(run_bounded(base), 0);
    else
        got = BEV_EVENT_ERROR;
    assert_true(got & BEV_EVENT_ERROR);
    assert_false(got & BEV_EVENT_CONNECTED);
    bufferevent_free(bev);
    event_base_free(base);
}

/* ------------------------------------------------------------------ */
/* Signals */

struct sigcount {
    struct event_base *base;
    int n;
};

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct sigcount *c = arg;

    (void)what;
    if (sig == SIGTERM)
        ++c->n;
    event_base_loopexit(c->base, NULL);
}

static void
test_signal(void **state)
{
    struct event_base *base = event_base_new();
    struct event *ev, *bad;
    struct sigcount c = {base, 0};

    (void)state;
    assert_non_null(base);
    ev = evsignal_new(base, SIGTERM, signal_cb, &c);
    assert_non_null(ev);
    assert_int_equal(evsignal_add(ev, NULL), 0);
    assert_int_equal(raise(SIGTERM), 0);
    assert_int_equal(run_bounded(base), 0);
    assert_int_equal(c.n, 1);
    /* The handler re-arms itself (the CRT resets it on delivery). */
    assert_int_equal(raise(SIGTERM), 0);
    assert_int_equal(run_bounded(base), 0);
    assert_int_equal(c.n, 2);
    event_free(ev);

    /* 10 is SIGUSR1 on Linux; the Windows CRT has no such signal. */
    bad = evsignal_new(base, 10, signal_cb, &c);
    assert_non_null(bad);
    assert_int_equal(evsignal_add(bad, NULL), -1);
    event_free(bad);
    event_base_free(base);
}

/* ------------------------------------------------------------------ */
/* Threads */

struct waker {
    struct event_base *base;
    int delay_ms;
};

static DWORD WINAPI
waker_main(LPVOID arg)
{
    struct waker *w = arg;

    Sleep((DWORD)w->delay_ms);
    event_base_loopbreak(w->base);
    return 0;
}

static void
never_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

/* A loop waiting on a 10 s timer is woken from another thread within
 * moments: the base is notifiable through its socket pair. */
static void
test_thread_wakeup(void **state)
{
    struct event_base *base = event_base_new();
    struct timeval ten = {10, 0}, start, end;
    struct waker w;
    struct event *ev;
    HANDLE th;
    long ms;

    (void)state;
    assert_non_null(base);
    assert_int_equal(evthread_make_base_notifiable(base), 0);
    ev = evtimer_new(base, never_cb, NULL);
    assert_non_null(ev);
    assert_int_equal(evtimer_add(ev, &ten), 0);
    w.base = base;
    w.delay_ms = 100;
    evutil_gettimeofday(&start, NULL);
    th = CreateThread(NULL, 0, waker_main, &w, 0, NULL);
    assert_non_null(th);
    assert_int_equal(event_base_dispatch(base), 0);
    evutil_gettimeofday(&end, NULL);
    assert_int_equal(WaitForSingleObject(th, 5000), WAIT_OBJECT_0);
    CloseHandle(th);
    ms = (end.tv_sec - start.tv_sec) * 1000 +
         (end.tv_usec - start.tv_usec) / 1000;
    assert_true(event_base_got_break(base));
    assert_true(ms >= 80);
    assert_true(ms < 3000);
    event_free(ev);
    event_base_free(base);
}

/* Several threads activating one event: every activation is seen, under
 * the base lock the windows callbacks provide. */
struct adder {
    struct event *ev;
    int rounds;
};

static DWORD WINAPI
adder_main(LPVOID arg)
{
    struct adder *a = arg;
    int i;

    for (i = 0; i < a->rounds; ++i) {
        event_active(a->ev, EV_READ, 0);
        if (i % 16 == 0)
            Sleep(1);
    }
    return 0;
}

static void
counting_cb(evutil_socket_t fd, short what, void *arg)
{
    volatile LONG *n = arg;

    (void)fd;
    (void)what;
    InterlockedIncrement(n);
}

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

static void
test_thread_activate(void **state)
{
    struct event_base *base = event_base_new();
    volatile LONG n = 0;
    struct adder a;
    struct event *ev, *stop;
    struct timeval quarter = {0, 250000};
    HANDLE th[2];
    int i;

    (void)state;
    assert_non_null(base);
    ev = event_new(base, -1, EV_PERSIST, counting_cb, (void *)&n);
    stop = evtimer_new(base, stop_cb, base);
    assert_non_null(ev);
    assert_non_null(stop);
    a.ev = ev;
    a.rounds = 200;
    for (i = 0; i < 2; ++i) {
        th[i] = CreateThread(NULL, 0, adder_main, &a, 0, NULL);
        assert_non_null(th[i]);
    }
    /* Run until both threads are done and a quiet quarter second
     * passed. */
    for (i = 0; i < 40; ++i) {
        assert_int_equal(evtimer_add(stop, &quarter), 0);
        event_base_dispatch(base);
        if (WaitForMultipleObjects(2, th, TRUE, 0) == WAIT_OBJECT_0)
            break;
    }
    assert_int_equal(WaitForMultipleObjects(2, th, TRUE, 5000), WAIT_OBJECT_0);
    assert_int_equal(evtimer_add(stop, &quarter), 0);
    event_base_dispatch(base);
    CloseHandle(th[0]);
    CloseHandle(th[1]);
    /* Activations of a pending-active event coalesce, so at least one
     * and at most all of them ran. */
    assert_true(n >= 1);
    assert_true(n <= 400);
    event_free(ev);
    event_free(stop);
    event_base_free(base);
}

/* ------------------------------------------------------------------ */
/* Buffers over sockets */

static void
test_evbuffer_socket_io(void **state)
{
    evutil_socket_t sv[2];
    struct evbuffer *out = evbuffer_new(), *in = evbuffer_new();
    static char data[200000];
    size_t i;
    int rounds;

    (void)state;
    assert_non_null(out);
    assert_non_null(in);
    for (i = 0; i < sizeof(data); ++i)
        data[i] = (char)(i * 7 + i / 251);
    make_pair(sv);
    /* Many small chains, so that writes gather several buffers. */
    for (i = 0; i < sizeof(data); i += 1000)
        assert_int_equal(evbuffer_add(out, data + i, 1000), 0);
    for (rounds = 0; rounds < 20000 && evbuffer_get_length(in) < sizeof(data);
         ++rounds) {
        int w = 0, r;
        if (evbuffer_get_length(out) > 0)
            w = evbuffer_write(out, sv[0]);
        if (w < 0)
            assert_int_equal(EVUTIL_SOCKET_ERROR(), WSAEWOULDBLOCK);
        r = evbuffer_read(in, sv[1], 65536);
        if (r < 0)
            assert_int_equal(EVUTIL_SOCKET_ERROR(), WSAEWOULDBLOCK);
        if (r <= 0 && w <= 0)
            Sleep(1);
    }
    assert_int_equal(evbuffer_get_length(in), sizeof(data));
    assert_memory_equal(evbuffer_pullup(in, -1), data, sizeof(data));

    /* End of stream reads as 0. */
    assert_int_equal(evutil_closesocket(sv[0]), 0);
    Sleep(20);
    assert_int_equal(evbuffer_read(in, sv[1], 100), 0);
    assert_int_equal(evutil_closesocket(sv[1]), 0);
    evbuffer_free(out);
    evbuffer_free(in);
}

struct echo {
    struct event_base *base;
    char got[64];
    size_t len;
};

static void
bev_read_cb(struct bufferevent *bev, void *arg)
{
    struct echo *e = arg;

    e->len +=
        bufferevent_read(bev, e->got + e->len, sizeof(e->got) - 1 - e->len);
    if (e->len >= 11)
        event_base_loopexit(e->base, NULL);
}

static void
test_bufferevent_pair_sockets(void **state)
{
    struct event_base *base = event_base_new();
    evutil_socket_t sv[2];
    struct bufferevent *a, *b;
    struct echo e;

    (void)state;
    memset(&e, 0, sizeof(e));
    e.base = base;
    assert_non_null(base);
    make_pair(sv);
    a = bufferevent_socket_new(base, sv[0], BEV_OPT_CLOSE_ON_FREE);
    b = bufferevent_socket_new(base, sv[1], BEV_OPT_CLOSE_ON_FREE);
    assert_non_null(a);
    assert_non_null(b);
    bufferevent_setcb(b, bev_read_cb, NULL, NULL, &e);
    assert_int_equal(bufferevent_enable(b, EV_READ), 0);
    assert_int_equal(bufferevent_write(a, "hello world", 11), 0);
    assert_int_equal(run_bounded(base), 0);
    assert_int_equal(e.len, 11);
    assert_memory_equal(e.got, "hello world", 11);
    bufferevent_free(a);
    bufferevent_free(b);
    event_base_free(base);
}

struct accepted {
    evutil_socket_t fd;
    int n;
};

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
          int socklen, void *arg)
{
    struct accepted *acc = arg;

    (void)sa;
    (void)socklen;
    acc->fd = fd;
    acc->n++;
    event_base_loopexit(evconnlistener_get_base(l), NULL);
}

static void
test_listener_connect(void **state)
{
    struct event_base *base = event_base_new();
    struct sockaddr_in sin;
    struct sockaddr_storage bound;
    int len = (int)sizeof(bound);
    struct evconnlistener *l;
    struct bufferevent *bev;
    struct accepted acc = {EVUTIL_INVALID_SOCKET, 0};
    short got = 0;

    (void)state;
    assert_non_null(base);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    l = evconnlistener_new_bind(base, accept_cb, &acc,
                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
                                (struct sockaddr *)&sin, (int)sizeof(sin));
    assert_non_null(l);
    assert_int_equal(
        getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&bound, &len),
        0);

    bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    assert_non_null(bev);
    bufferevent_setcb(bev, NULL, NULL, connect_cb, &got);
    assert_int_equal(
        bufferevent_socket_connect(bev, (struct sockaddr *)&bound, len), 0);
    /* Both the accept and the connect completion must happen. */
    assert_int_equal(run_bounded(base), 0);
    if (!acc.n || !got)
        assert_int_equal(run_bounded(base), 0);
    assert_int_equal(acc.n, 1);
    assert_true(got & BEV_EVENT_CONNECTED);
    assert_true(acc.fd >= 0);
    evutil_closesocket(acc.fd);
    bufferevent_free(bev);
    evconnlistener_free(l);
    event_base_free(base);
}

int
main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_socketpair),
        cmocka_unit_test(test_socketpair_errors),
        cmocka_unit_test(test_nonblocking_and_errors),
        cmocka_unit_test(test_monotonic_time),
        cmocka_unit_test(test_rng),
        cmocka_unit_test(test_getaddrinfo_addrconfig),
        cmocka_unit_test(test_backend_name),
        cmocka_unit_test(test_iocp_flag),
        cmocka_unit_test(test_many_sockets),
        cmocka_unit_test(test_many_writable),
        cmocka_unit_test(test_timer_only),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_signal),
        cmocka_unit_test(test_thread_wakeup),
        cmocka_unit_test(test_thread_activate),
        cmocka_unit_test(test_evbuffer_socket_io),
        cmocka_unit_test(test_bufferevent_pair_sockets),
        cmocka_unit_test(test_listener_connect),
    };
    WSADATA wsa;
    int r;

    /* As with libevent, the application starts Winsock. */
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
        fprintf(stderr, "WSAStartup failed\n");
        return 1;
    }
    if (evthread_use_windows_threads() != 0) {
        fprintf(stderr, "evthread_use_windows_threads failed\n");
        return 1;
    }
    r = cmocka_run_group_tests(tests, NULL, NULL);
    libevent_global_shutdown();
    WSACleanup();
    return r;
}

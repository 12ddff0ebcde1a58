/*
 * test-bufferevent.c: socket bufferevents over AF_UNIX socketpairs and
 * loopback TCP, through libevent 2.1's public API only (so the same file
 * runs against Debian's libevent, which is how its expectations were
 * checked).
 *
 * Covers: a 1 MB echo verified byte for byte; read watermarks (the high
 * one suspends reading, the low one gates the read callback) and the low
 * write watermark; read/write timeouts; EOF, reset and connect errors
 * with the errno the event callback sees; connect and connect_hostname;
 * BEV_OPT_CLOSE_ON_FREE; deferred callbacks; trigger and flush (a deferred
 * event callback gets all 16 bits of bufferevent_trigger_event()); the
 * public struct fields old binaries use directly (bev->input, enabled,
 * ev_read/ev_write, readcb); references; bad arguments.
 *
 * TEST-BACKENDS: ctest runs it once per backend and in debug mode.  The
 * Windows cross-build runs it under Wine (test/wine/), where the socket
 * pairs are TCP loopback pairs and the event callback's error is the
 * Winsock one.
 *
 * Callbacks only record; assertions run after the loop.
 */
#define _GNU_SOURCE
#include "test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_compat.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>
#include <event2/event_compat.h>
#include <event2/event_struct.h>

#ifdef _WIN32
/* Winsock has no per-call MSG_DONTWAIT; the sockets the tests read from
 * with it come from tu_socketpair() and tu_tcp_pair(), nonblocking
 * already. */
#define MSG_DONTWAIT 0
/* The event callback sees the socket error (WSAGetLastError()). */
#define TEST_ECONNRESET WSAECONNRESET
#define TEST_ECONNREFUSED WSAECONNREFUSED
#else
#define TEST_ECONNRESET ECONNRESET
#define TEST_ECONNREFUSED ECONNREFUSED
#endif

/* ------------------------------------------------------------------ */
/* Recording state                                                     */

struct st {
    struct event_base *base;
    struct bufferevent *bev;
    int reads, writes, events;
    short what;           /* last event bits */
    int err;              /* errno seen by the last event callback */
    size_t input_at_read; /* input length at the first read callback */
    size_t max_input;     /* largest input length seen in a read cb */
    int exit_on_event;    /* loopexit from the event callback */
    int exit_on_write;    /* loopexit from the write callback */
    int exit_on_read;     /* loopexit from the read callback */
    int free_in_read;     /* bufferevent_free from the read callback */
    int in_trigger;       /* set around synchronous calls */
    int called_in_trigger;
};

static void
st_readcb(struct bufferevent *bev, void *arg)
{
    struct st *s = arg;
    size_t len = evbuffer_get_length(bufferevent_get_input(bev));

    if (s->reads++ == 0)
        s->input_at_read = len;
    if (len > s->max_input)
        s->max_input = len;
    if (s->in_trigger)
        s->called_in_trigger = 1;
    if (s->free_in_read) {
        bufferevent_free(bev);
        s->bev = NULL;
    }
    if (s->exit_on_read)
        event_base_loopexit(s->base, NULL);
}

static void
st_writecb(struct bufferevent *bev, void *arg)
{
    struct st *s = arg;

    (void)bev;
    s->writes++;
    if (s->in_trigger)
        s->called_in_trigger = 1;
    if (s->exit_on_write)
        event_base_loopexit(s->base, NULL);
}

static void
st_eventcb(struct bufferevent *bev, short what, void *arg)
{
    struct st *s = arg;

    (void)bev;
    s->err = EVUTIL_SOCKET_ERROR();
    s->events++;
    s->what = what;
    if (s->in_trigger)
        s->called_in_trigger = 1;
    if (s->exit_on_event)
        event_base_loopexit(s->base, NULL);
}

static void
st_init(struct st *s, struct event_base *base)
{
    memset(s, 0, sizeof(*s));
    s->base = base;
}

/* Fill fd's socket buffer until it would block; returns bytes written. */
static size_t
fill_socket(evutil_socket_t fd)
{
    static char junk[65536];
    size_t total = 0;
    ssize_t n;

    while ((n = send(fd, junk, sizeof(junk), MSG_DONTWAIT)) > 0)
        total += (size_t)n;
    return total;
}

/* ------------------------------------------------------------------ */
/* Echo of 1 MB                                                        */

#define ECHO_LEN (1024 * 1024)

struct echo {
    struct event_base *base;
    unsigned char *got;
    size_t n_got;
    int bad_event;
};

/* Server side: send back whatever arrives. */
static void
echo_server_readcb(struct bufferevent *bev, void *arg)
{
    (void)arg;
    bufferevent_write_buffer(bev, bufferevent_get_input(bev));
}

/* Client side: collect the echo. */
static void
echo_client_readcb(struct bufferevent *bev, void *arg)
{
    struct echo *e = arg;
    size_t n = bufferevent_read(bev, e->got + e->n_got, ECHO_LEN - e->n_got);

    e->n_got += n;
    if (e->n_got == ECHO_LEN)
        event_base_loopexit(e->base, NULL);
}

static void
echo_eventcb(struct bufferevent *bev, short what, void *arg)
{
    struct echo *e = arg;

    (void)bev;
    (void)what;
    e->bad_event++;
    event_base_loopexit(e->base, NULL);
}

static void
run_echo(struct event_base *base, evutil_socket_t fds[2])
{
    struct bufferevent *client, *server;
    unsigned char *data;
    struct echo e;
    size_t i;

    memset(&e, 0, sizeof(e));
    e.base = base;
    data = malloc(ECHO_LEN);
    e.got = malloc(ECHO_LEN);
    assert_non_null(data);
    assert_non_null(e.got);
    for (i = 0; i < ECHO_LEN; ++i)
        data[i] = (unsigned char)((i * 7 + i / 251) & 0xff);

    client = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    server = bufferevent_socket_new(base, fds[1], BEV_OPT_CLOSE_ON_FREE);
    assert_non_null(client);
    assert_non_null(server);
    bufferevent_setcb(client, echo_client_readcb, NULL, echo_eventcb, &e);
    bufferevent_setcb(server, echo_server_readcb, NULL, echo_eventcb, &e);
    assert_int_equal(bufferevent_enable(client, EV_READ | EV_WRITE), 0);
    assert_int_equal(bufferevent_enable(server, EV_READ | EV_WRITE), 0);
    /* Written in uneven pieces to exercise chain boundaries. */
    for (i = 0; i < ECHO_LEN;) {
        size_t n = 1000 + (i % 7777);
        if (n > ECHO_LEN - i)
            n = ECHO_LEN - i;
        assert_int_equal(bufferevent_write(client, data + i, n), 0);
        i += n;
    }
    assert_int_equal(tu_run(base, 10000), 0);

    bufferevent_free(client);
    bufferevent_free(server);
    assert_int_equal(e.bad_event, 0);
    assert_int_equal(e.n_got, ECHO_LEN);
    assert_memory_equal(e.got, data, ECHO_LEN);
    free(data);
    free(e.got);
}

static void
test_echo_socketpair(void **state)
{
    evutil_socket_t fds[2];

    tu_socketpair(fds);
    run_echo(*state, fds);
}

static void
test_echo_tcp(void **state)
{
    evutil_socket_t fds[2];

    if (tu_tcp_pair(AF_INET, fds) < 0)
        skip();
    run_echo(*state, fds);
}

/* ------------------------------------------------------------------ */
/* Public fields                                                       */

static void
test_public_fields(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    struct st s;

#ifdef _WIN32
    /* 64-bit Windows: struct event is 120 bytes there, and struct
     * timeval two 4-byte longs. */
    assert_int_equal(offsetof(struct bufferevent, ev_read), 16);
    assert_int_equal(offsetof(struct bufferevent, ev_write), 136);
    assert_int_equal(offsetof(struct bufferevent, input), 256);
    assert_int_equal(offsetof(struct bufferevent, output), 264);
    assert_int_equal(offsetof(struct bufferevent, readcb), 304);
    assert_int_equal(offsetof(struct bufferevent, enabled), 352);
    assert_int_equal(sizeof(struct bufferevent), 360);
#else
    /* The layout binaries were compiled against (FACTS.md). */
    assert_int_equal(offsetof(struct bufferevent, ev_read), 16);
    assert_int_equal(offsetof(struct bufferevent, ev_write), 144);
    assert_int_equal(offsetof(struct bufferevent, input), 272);
    assert_int_equal(offsetof(struct bufferevent, output), 280);
    assert_int_equal(offsetof(struct bufferevent, readcb), 320);
    assert_int_equal(offsetof(struct bufferevent, enabled), 384);
    assert_int_equal(sizeof(struct bufferevent), 392);
#endif

    st_init(&s, base);
    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    assert_non_null(bev);
    assert_ptr_equal(bev->input, bufferevent_get_input(bev));
    assert_ptr_equal(bev->output, bufferevent_get_output(bev));
    assert_ptr_equal(bev->ev_base, base);
    assert_ptr_equal(bufferevent_get_base(bev), base);
    assert_int_equal(event_get_fd(&bev->ev_read), fds[0]);
    assert_int_equal(event_get_fd(&bev->ev_write), fds[0]);
    assert_int_equal(bufferevent_getfd(bev), fds[0]);

    /* Writing starts enabled, reading does not. */
    assert_int_equal(bev->enabled, EV_WRITE);
    assert_int_equal(bufferevent_get_enabled(bev), EV_WRITE);
    assert_int_equal(bufferevent_enable(bev, EV_READ), 0);
    assert_int_equal(bev->enabled, EV_READ | EV_WRITE);
    assert_int_equal(bufferevent_get_enabled(bev), bev->enabled);
    /* The read event is really pending in the base. */
    assert_true(event_pending(&bev->ev_read, EV_READ, NULL));
    /* Nothing to write: the write event waits for data. */
    assert_false(event_pending(&bev->ev_write, EV_WRITE, NULL));
    assert_int_equal(bufferevent_write(bev, "x", 1), 0);
    assert_true(event_pending(&bev->ev_write, EV_WRITE, NULL));
    assert_int_equal(bufferevent_disable(bev, EV_READ), 0);
    assert_int_equal(bev->enabled, EV_WRITE);
    assert_false(event_pending(&bev->ev_read, EV_READ, NULL));
    assert_int_equal(bufferevent_enable(bev, EV_READ), 0);

    /* Callbacks stored straight into the struct (redsocks) are used. */
    bev->readcb = st_readcb;
    bev->errorcb = st_eventcb;
    bev->cbarg = &s;
    s.exit_on_read = 1;
    tu_write_str(fds[1], "hello");
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(s.reads, 1);
    assert_int_equal(evbuffer_get_length(bev->input), 5);

    /* setcb is visible in the struct and through getcb. */
    {
        bufferevent_data_cb r, w;
        bufferevent_event_cb e;
        void *arg;
        bufferevent_setcb(bev, NULL, st_writecb, st_eventcb, &fds);
        assert_null(bev->readcb);
        assert_ptr_equal(bev->writecb, st_writecb);
        bufferevent_getcb(bev, &r, &w, &e, &arg);
        assert_null(r);
        assert_ptr_equal(w, st_writecb);
        assert_ptr_equal(e, st_eventcb);
        assert_ptr_equal(arg, &fds);
        bufferevent_getcb(bev, NULL, NULL, NULL, NULL);
    }

    /* Watermarks and timeouts live in the struct too. */
    bufferevent_setwatermark(bev, EV_READ, 10, 20);
    assert_int_equal(bev->wm_read.low, 10);
    assert_int_equal(bev->wm_read.high, 20);
    bufferevent_setwatermark(bev, EV_WRITE, 30, 40);
    assert_int_equal(bev->wm_write.low, 30);
    assert_int_equal(bev->wm_write.high, 40);
    {
        struct timeval tr = {3, 0}, tw = {4, 500};
        assert_int_equal(bufferevent_set_timeouts(bev, &tr, &tw), 0);
        assert_int_equal(bev->timeout_read.tv_sec, 3);
        assert_int_equal(bev->timeout_write.tv_usec, 500);
        assert_int_equal(bufferevent_set_timeouts(bev, NULL, NULL), 0);
        assert_int_equal(bev->timeout_read.tv_sec, 0);
    }

    bufferevent_free(bev);
    tu_close(&fds[1]);
}

/* ------------------------------------------------------------------ */
/* Watermarks                                                          */

static void
test_read_high_watermark(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    char buf[4000];
    size_t sent;
    struct st s;

    st_init(&s, base);
    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, st_readcb, NULL, st_eventcb, &s);
    bufferevent_setwatermark(bev, EV_READ, 0, 1000);
    bufferevent_enable(bev, EV_READ);
    sent = fill_socket(fds[1]);
    assert_true(sent > 10000);

    /* The read callback does not drain: reading stops at the mark. */
    assert_int_equal(tu_run(base, 200), 1);
    assert_int_equal(evbuffer_get_length(bev->input), 1000);
    assert_int_equal(s.max_input, 1000);
    /* Still enabled from the user's point of view. */
    assert_true(bufferevent_get_enabled(bev) & EV_READ);
    assert_false(event_pending(&bev->ev_read, EV_READ, NULL));

    /* Draining below the mark resumes reading, up to the mark again. */
    assert_int_equal(bufferevent_read(bev, buf, 600), 600);
    assert_true(event_pending(&bev->ev_read, EV_READ, NULL));
    s.exit_on_read = 1;
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(evbuffer_get_length(bev->input), 1000);

    /* Lifting the mark lets everything in. */
    s.exit_on_read = 0;
    bufferevent_setwatermark(bev, EV_READ, 0, 0);
    assert_int_equal(tu_run(base, 300), 1);
    assert_int_equal(evbuffer_get_length(bev->input), sent - 600);

    bufferevent_free(bev);
    tu_close(&fds[1]);
}

/* A read callback that leaves the input at the high mark is called again
 * even though no more data can come in (libevent >= 2.1.11). */
struct retrig {
    struct event_base *base;
    int calls;
};

static void
retrig_readcb(struct bufferevent *bev, void *arg)
{
    struct retrig *r = arg;

    if (++r->calls == 3) {
        evbuffer_drain(bufferevent_get_input(bev), 1);
        event_base_loopexit(r->base, NULL);
    }
}

static void
test_read_high_watermark_retrigger(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    struct retrig r;

    r.base = base;
    r.calls = 0;
    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, retrig_readcb, NULL, NULL, &r);
    bufferevent_setwatermark(bev, EV_READ, 0, 10);
    bufferevent_enable(bev, EV_READ);
    tu_write_str(fds[1], "0123456789");
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(r.calls, 3);
    assert_int_equal(evbuffer_get_length(bev->input), 9);
    /* Below the mark now: no more calls without new data. */
    assert_int_equal(tu_run(base, 100), 1);
    assert_int_equal(r.calls, 3);
    bufferevent_free(bev);
    tu_close(&fds[1]);
}

static void
test_read_low_watermark(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    struct st s;

    st_init(&s, base);
    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, st_readcb, NULL, st_eventcb, &s);
    bufferevent_setwatermark(bev, EV_READ, 100, 0);
    bufferevent_enable(bev, EV_READ);

    assert_int_equal(send(fds[1], "0123456789", 10, 0), 10);
    assert_int_equal(tu_run(base, 100), 1);
    assert_int_equal(s.reads, 0);
    assert_int_equal(evbuffer_get_length(bev->input), 10);

    {
        char big[95];
        memset(big, 'b', sizeof(big));
        assert_int_equal(send(fds[1], big, sizeof(big), 0), 95);
    }
    s.exit_on_read = 1;
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(s.reads, 1);
    assert_int_equal(s.input_at_read, 105);

    bufferevent_free(bev);
    tu_close(&fds[1]);
}

static void
test_write_low_watermark(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    static char data[512 * 1024];
    size_t left_at_cb;
    struct st s;

    st_init(&s, base);
    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, NULL, st_writecb, st_eventcb, &s);
    bufferevent_setwatermark(bev, EV_WRITE, 100000, 0);
    assert_int_equal(bufferevent_write(bev, data, sizeof(data)), 0);
    /* The peer does not read yet: the kernel takes a part only. */
    assert_int_equal(tu_run(base, 100), 1);
    assert_int_equal(s.writes, 0);
    assert_true(evbuffer_get_length(bev->output) > 100000);

    /* Once the peer reads, the output falls below the mark. */
    s.exit_on_write = 1;
    while (s.writes == 0) {
        tu_drain(fds[1]);
        if (tu_run(base, 20) < 0)
            break;
    }
    left_at_cb = evbuffer_get_length(bev->output);
    assert_int_equal(s.writes, 1);
    assert_true(left_at_cb <= 100000);

    bufferevent_free(bev);
    tu_close(&fds[1]);
}

/* ------------------------------------------------------------------ */
/* Timeouts                                                            */

static void
test_read_timeout(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    struct timeval tv, start;
    struct st s;
    long ms;

    st_init(&s, base);
    s.exit_on_event = 1;
    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, st_readcb, NULL, st_eventcb, &s);
    bufferevent_set_timeouts(bev, tu_tv(&tv, 100), NULL);
    bufferevent_enable(bev, EV_READ);
    tu_now(&start);
    assert_int_equal(tu_run(base, 3000), 0);
    ms = tu_ms_since(&start);

    assert_int_equal(s.events, 1);
    assert_int_equal(s.what, BEV_EVENT_TIMEOUT | BEV_EVENT_READING);
    tu_assert_ms(ms, 100);
    /* libevent disables reading on a timeout. */
    assert_int_equal(bufferevent_get_enabled(bev), EV_WRITE);
    assert_false(event_pending(&bev->ev_read, EV_READ, NULL));

    /* Data before the deadline resets it: no timeout while it flows. */
    st_init(&s, base);
    bufferevent_set_timeouts(bev, tu_tv(&tv, 150), NULL);
    bufferevent_enable(bev, EV_READ);
    tu_sleep_ms(5);
    tu_write_str(fds[1], "a");
    assert_int_equal(tu_run(base, 100), 1);
    tu_write_str(fds[1], "b");
    assert_int_equal(tu_run(base, 100), 1);
    assert_int_equal(s.events, 0);
    assert_int_equal(s.reads, 2);

    bufferevent_free(bev);
    tu_close(&fds[1]);
}

static void
test_write_timeout(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    static char data[1024 * 1024];
    struct timeval tv, start;
    struct st s;
    long ms;

    st_init(&s, base);
    s.exit_on_event = 1;
    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, NULL, st_writecb, st_eventcb, &s);
    bufferevent_set_timeouts(bev, NULL, tu_tv(&tv, 100));
    /* More than the socket holds, and the peer never reads. */
    bufferevent_write(bev, data, sizeof(data));
    tu_now(&start);
    assert_int_equal(tu_run(base, 3000), 0);
    ms = tu_ms_since(&start);

    assert_int_equal(s.events, 1);
    assert_int_equal(s.what, BEV_EVENT_TIMEOUT | BEV_EVENT_WRITING);
    tu_assert_ms(ms, 100);
    assert_int_equal(bufferevent_get_enabled(bev), 0);
    assert_false(event_pending(&bev->ev_write, EV_WRITE, NULL));

    bufferevent_free(bev);
    tu_close(&fds[1]);
}

/* A socket bufferevent without its socket yet still times out, as with
 * libevent (upstream's bufferevent_timeout test): its events are added on
 * fd -1, which the core does not poll, and their timeouts run. */
static void
test_timeout_without_fd(void **state)
{
    struct event_base *base = *state;
    struct bufferevent *bev;
    struct timeval r, w;
    struct st s;

    st_init(&s, base);
    bev = bufferevent_socket_new(base, -1, 0);
    bufferevent_setcb(bev, NULL, NULL, st_eventcb, &s);
    bufferevent_set_timeouts(bev, tu_tv(&r, 150), tu_tv(&w, 50));
    assert_int_equal(bufferevent_write(bev, "ABCDEFG", 7), 0);
    assert_int_equal(bufferevent_enable(bev, EV_READ | EV_WRITE), 0);
    assert_true(event_pending(&bev->ev_read, EV_READ | EV_TIMEOUT, NULL));
    assert_int_equal(tu_run(base, 400), 1);
    /* The write timeout first, then the read one; both disable. */
    assert_int_equal(s.events, 2);
    assert_int_equal(s.what, BEV_EVENT_TIMEOUT | BEV_EVENT_READING);
    assert_int_equal(bufferevent_get_enabled(bev), 0);
    /* Nothing was written anywhere. */
    assert_int_equal(evbuffer_get_length(bufferevent_get_output(bev)), 7);
    bufferevent_free(bev);
}

/* A pending read event gets the new timeout at once. */
static void
test_timeout_adjust(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    struct timeval tv, start;
    struct st s;

    st_init(&s, base);
    s.exit_on_event = 1;
    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, NULL, NULL, st_eventcb, &s);
    bufferevent_set_timeouts(bev, tu_tv(&tv, 10000), NULL);
    bufferevent_enable(bev, EV_READ);
    tu_now(&start);
    bufferevent_set_timeouts(bev, tu_tv(&tv, 80), NULL);
    assert_int_equal(tu_run(base, 3000), 0);
    assert_int_equal(s.what, BEV_EVENT_TIMEOUT | BEV_EVENT_READING);
    tu_assert_ms(tu_ms_since(&start), 80);

    /* And clearing the timeouts removes it. */
    st_init(&s, base);
    bufferevent_set_timeouts(bev, tu_tv(&tv, 50), NULL);
    bufferevent_enable(bev, EV_READ);
    bufferevent_set_timeouts(bev, NULL, NULL);
    assert_int_equal(tu_run(base, 150), 1);
    assert_int_equal(s.events, 0);
    assert_true(event_pending(&bev->ev_read, EV_READ, NULL));

    bufferevent_free(bev);
    tu_close(&fds[1]);
}

/* The 1.x call takes whole seconds (0: none). */
static void
test_settimeout_compat(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;

    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_settimeout(bev, 5, 0);
    assert_int_equal(bev->timeout_read.tv_sec, 5);
    assert_int_equal(bev->timeout_read.tv_usec, 0);
    assert_int_equal(bev->timeout_write.tv_sec, 0);
    bufferevent_settimeout(bev, 0, 7);
    assert_int_equal(bev->timeout_read.tv_sec, 0);
    assert_int_equal(bev->timeout_write.tv_sec, 7);
    bufferevent_free(bev);
    tu_close(&fds[1]);
}

/* ------------------------------------------------------------------ */
/* EOF and errors                                                      */

static void
test_eof(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    struct st s;

    st_init(&s, base);
    s.exit_on_event = 1;
    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, st_readcb, NULL, st_eventcb, &s);
    bufferevent_enable(bev, EV_READ);
    tu_write_str(fds[1], "last words");
    tu_close(&fds[1]);
    assert_int_equal(tu_run(base, 2000), 0);

    /* The data comes first, then EOF while reading. */
    assert_int_equal(s.reads, 1);
    assert_int_equal(evbuffer_get_length(bev->input), 10);
    assert_int_equal(s.events, 1);
    assert_int_equal(s.what, BEV_EVENT_EOF | BEV_EVENT_READING);
    assert_false(bufferevent_get_enabled(bev) & EV_READ);
    bufferevent_free(bev);
}

/* The peer resets the connection while we write a lot. */
static void
test_reset_mid_write(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    static char data[4 * 1024 * 1024];
    struct linger lin = {1, 0};
    struct st s;
#ifndef _WIN32
    void (*old)(int);
#endif

    if (tu_tcp_pair(AF_INET, fds) < 0)
        skip();
#ifndef _WIN32
    /* libevent writes with writev(): a program must ignore SIGPIPE. */
    old = signal(SIGPIPE, SIG_IGN);
#endif
    st_init(&s, base);
    s.exit_on_event = 1;
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, NULL, st_writecb, st_eventcb, &s);
    bufferevent_write(bev, data, sizeof(data));
    /* Let part of it go, then reset. */
    assert_int_equal(tu_run(base, 50), 1);
    tu_drain(fds[1]);
    setsockopt(fds[1], SOL_SOCKET, SO_LINGER, (void *)&lin, sizeof(lin));
    tu_close(&fds[1]);
    assert_int_equal(tu_run(base, 3000), 0);
#ifndef _WIN32
    signal(SIGPIPE, old);
#endif

    assert_int_equal(s.events, 1);
    assert_int_equal(s.what, BEV_EVENT_ERROR | BEV_EVENT_WRITING);
#ifdef _WIN32
    /* Winsock has no EPIPE; an aborted connection may also be reported
     * as WSAECONNABORTED. */
    assert_true(s.err == WSAECONNRESET || s.err == WSAECONNABORTED);
#else
    assert_true(s.err == ECONNRESET || s.err == EPIPE);
#endif
    assert_false(bufferevent_get_enabled(bev) & EV_WRITE);
    bufferevent_free(bev);
}

/* A reset seen while reading. */
static void
test_reset_while_reading(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    struct linger lin = {1, 0};
    struct st s;

    if (tu_tcp_pair(AF_INET, fds) < 0)
        skip();
    st_init(&s, base);
    s.exit_on_event = 1;
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, st_readcb, NULL, st_eventcb, &s);
    bufferevent_enable(bev, EV_READ);
    setsockopt(fds[1], SOL_SOCKET, SO_LINGER, (void *)&lin, sizeof(lin));
    tu_close(&fds[1]);
    assert_int_equal(tu_run(base, 3000), 0);

    assert_int_equal(s.events, 1);
    assert_int_equal(s.what, BEV_EVENT_ERROR | BEV_EVENT_READING);
    assert_int_equal(s.err, TEST_ECONNRESET);
    bufferevent_free(bev);
}

/* ------------------------------------------------------------------ */
/* Connecting                                                          */

static void
test_connect_ok(void **state)
{
    struct event_base *base = *state;
    struct sockaddr_storage ss;
    ev_socklen_t len;
    evutil_socket_t lfd, afd;
    struct bufferevent *bev;
    struct st s;
    char buf[8];

    lfd = tu_tcp_listener(AF_INET, &ss, &len);
    if (lfd < 0)
        skip();
    st_init(&s, base);
    s.exit_on_event = 1;
    bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    assert_non_null(bev);
    assert_int_equal(bufferevent_getfd(bev), -1);
    bufferevent_setcb(bev, st_readcb, st_writecb, st_eventcb, &s);
    /* Data written before the connection is up waits for it. */
    bufferevent_write(bev, "early", 5);
    assert_int_equal(
        bufferevent_socket_connect(bev, (struct sockaddr *)&ss, (int)len), 0);
    assert_true(bufferevent_getfd(bev) >= 0);
    assert_int_equal(tu_run(base, 3000), 0);
    assert_int_equal(s.events, 1);
    assert_int_equal(s.what, BEV_EVENT_CONNECTED);

    /* The early data goes out (the write callback may already have run
     * right after CONNECTED, in the same wake-up). */
    s.exit_on_write = 1;
    if (s.writes == 0)
        assert_int_equal(tu_run(base, 3000), 0);
    assert_int_equal(s.writes, 1);
    afd = accept(lfd, NULL, NULL);
    assert_true(afd >= 0);
    assert_int_equal(recv(afd, buf, sizeof(buf), 0), 5);
    assert_memory_equal(buf, "early", 5);

    bufferevent_free(bev);
    tu_close(&afd);
    tu_close(&lfd);
}

/* A closed port: BEV_EVENT_ERROR with ECONNREFUSED, after connect has
 * returned 0. */
static void
test_connect_refused(void **state)
{
    struct event_base *base = *state;
    struct sockaddr_storage ss;
    ev_socklen_t len;
    evutil_socket_t lfd;
    struct bufferevent *bev;
    struct st s;

    lfd = tu_tcp_listener(AF_INET, &ss, &len);
    if (lfd < 0)
        skip();
    tu_close(&lfd);
    st_init(&s, base);
    s.exit_on_event = 1;
    bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, st_readcb, st_writecb, st_eventcb, &s);
    bufferevent_enable(bev, EV_READ);
    assert_int_equal(
        bufferevent_socket_connect(bev, (struct sockaddr *)&ss, (int)len), 0);
    assert_int_equal(s.events, 0);
    assert_int_equal(tu_run(base, 3000), 0);
    assert_int_equal(s.events, 1);
    assert_int_equal(s.what, BEV_EVENT_ERROR);
    assert_int_equal(s.err, TEST_ECONNREFUSED);
    assert_int_equal(s.reads, 0);
    assert_int_equal(s.writes, 0);
    bufferevent_free(bev);
}

static void
connect_hostname(struct event_base *base, const char *host)
{
    struct sockaddr_storage ss;
    ev_socklen_t len;
    evutil_socket_t lfd;
    struct bufferevent *bev;
    struct st s;
    int port;

    lfd = tu_tcp_listener(AF_INET, &ss, &len);
    if (lfd < 0)
        skip();
    port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    st_init(&s, base);
    s.exit_on_event = 1;
    bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, NULL, NULL, st_eventcb, &s);
    assert_int_equal(
        bufferevent_socket_connect_hostname(bev, NULL, AF_INET, host, port),
        0);
    assert_int_equal(tu_run(base, 3000), 0);
    assert_int_equal(s.events, 1);
    assert_int_equal(s.what, BEV_EVENT_CONNECTED);
    assert_int_equal(bufferevent_socket_get_dns_error(bev), 0);
    bufferevent_free(bev);
    tu_close(&lfd);
}

static void
test_connect_hostname_localhost(void **state)
{
    connect_hostname(*state, "localhost");
}

static void
test_connect_hostname_numeric(void **state)
{
    connect_hostname(*state, "127.0.0.1");
}

/* A name that cannot resolve (the empty one fails without asking any
 * server): without an evdns_base the lookup blocks, so the error comes
 * before connect_hostname returns 0 -- or from the loop with
 * BEV_OPT_DEFER_CALLBACKS. */
static void
test_connect_hostname_fails(void **state)
{
    struct event_base *base = *state;
    struct bufferevent *bev;
    struct st s;

    st_init(&s, base);
    bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, NULL, NULL, st_eventcb, &s);
    assert_int_equal(
        bufferevent_socket_connect_hostname(bev, NULL, AF_INET, "", 80), 0);
    assert_int_equal(s.events, 1);
    assert_int_equal(s.what, BEV_EVENT_ERROR);
    assert_int_equal(bufferevent_socket_get_dns_error(bev), EVUTIL_EAI_NONAME);
    assert_int_equal(bufferevent_getfd(bev), -1);
    bufferevent_free(bev);

    st_init(&s, base);
    bev = bufferevent_socket_new(base, -1,
        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    bufferevent_setcb(bev, NULL, NULL, st_eventcb, &s);
    assert_int_equal(
        bufferevent_socket_connect_hostname(bev, NULL, AF_UNSPEC, "", 80), 0);
    assert_int_equal(s.events, 0);
    tu_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(s.events, 1);
    assert_int_equal(s.what, BEV_EVENT_ERROR);
    bufferevent_free(bev);
}

static void
test_connect_hostname_bad_args(void **state)
{
    struct event_base *base = *state;
    struct bufferevent *bev;

    bev = bufferevent_socket_new(base, -1, 0);
    assert_int_equal(bufferevent_socket_connect_hostname(bev, NULL, AF_UNIX,
                         "localhost", 80),
        -1);
    assert_int_equal(
        bufferevent_socket_connect_hostname(bev, NULL, AF_INET, "localhost", 0),
        -1);
    assert_int_equal(bufferevent_socket_connect_hostname(bev, NULL, AF_INET,
                         "localhost", 65536),
        -1);
    assert_int_equal(bufferevent_socket_get_dns_error(bev), 0);
    bufferevent_free(bev);
}

/* ------------------------------------------------------------------ */
/* Freeing                                                             */

static void
test_close_on_free(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;

    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    bufferevent_free(bev);
    /* Released from the loop (libevent 2.1 finalizes bufferevents). */
    tu_loop(base, EVLOOP_NONBLOCK);
    assert_true(tu_fd_is_closed(fds[0]));
    tu_close(&fds[1]);

    /* Without the option the fd stays the caller's. */
    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], 0);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    bufferevent_free(bev);
    tu_loop(base, EVLOOP_NONBLOCK);
    assert_false(tu_fd_is_closed(fds[0]));
    tu_close_pair(fds);
}

/* A callback may free its own bufferevent. */
static void
test_free_in_callback(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    struct st s;

    st_init(&s, base);
    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    s.bev = bev;
    s.free_in_read = 1;
    bufferevent_setcb(bev, st_readcb, NULL, st_eventcb, &s);
    bufferevent_enable(bev, EV_READ);
    tu_write_str(fds[1], "bye");
    assert_int_equal(tu_run(base, 200), 1);
    assert_int_equal(s.reads, 1);
    assert_null(s.bev);
    assert_true(tu_fd_is_closed(fds[0]));
    tu_close(&fds[1]);
}

static void
test_refcount(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;

    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_incref(bev);
    bufferevent_lock(bev);
    bufferevent_unlock(bev);
    bufferevent_free(bev);
    tu_loop(base, EVLOOP_NONBLOCK);
    /* Still alive: our reference holds it. */
    assert_false(tu_fd_is_closed(fds[0]));
    assert_int_equal(bufferevent_getfd(bev), fds[0]);
    assert_int_equal(bufferevent_decref(bev), 1);
    tu_loop(base, EVLOOP_NONBLOCK);
    assert_true(tu_fd_is_closed(fds[0]));
    tu_close(&fds[1]);
}

/* ------------------------------------------------------------------ */
/* Deferred callbacks, trigger, flush                                  */

static void
test_defer_callbacks(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    struct st s;

    st_init(&s, base);
    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0],
        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    assert_non_null(bev);
    bufferevent_setcb(bev, st_readcb, st_writecb, st_eventcb, &s);

    /* trigger runs the callbacks from the loop, not inside the call. */
    s.in_trigger = 1;
    bufferevent_trigger(bev, EV_READ | EV_WRITE, 0);
    bufferevent_trigger_event(bev, BEV_EVENT_EOF, 0);
    s.in_trigger = 0;
    assert_int_equal(s.reads + s.writes + s.events, 0);
    tu_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(s.reads, 1);
    assert_int_equal(s.writes, 1);
    assert_int_equal(s.events, 1);
    assert_int_equal(s.what, BEV_EVENT_EOF);
    assert_int_equal(s.called_in_trigger, 0);

    /* Real traffic and EOF go the same way; errno survives deferral. */
    st_init(&s, base);
    s.exit_on_event = 1;
    bufferevent_enable(bev, EV_READ);
    tu_write_str(fds[1], "data");
    tu_close(&fds[1]);
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(s.reads, 1);
    assert_int_equal(s.what, BEV_EVENT_EOF | BEV_EVENT_READING);
    bufferevent_free(bev);

    /* A deferred callback pending at free time is dropped quietly. */
    tu_socketpair(fds);
    st_init(&s, base);
    bev = bufferevent_socket_new(base, fds[0],
        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    bufferevent_setcb(bev, st_readcb, st_writecb, st_eventcb, &s);
    bufferevent_trigger(bev, EV_READ, 0);
    bufferevent_free(bev);
    tu_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(s.reads, 0);
    tu_close(&fds[1]);
}

/* UNLOCK_CALLBACKS needs DEFER_CALLBACKS. */
static void
test_unlock_callbacks(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    struct st s;

    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_UNLOCK_CALLBACKS);
    assert_null(bev);

    st_init(&s, base);
    bev = bufferevent_socket_new(base, fds[0],
        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS |
            BEV_OPT_UNLOCK_CALLBACKS);
    assert_non_null(bev);
    bufferevent_setcb(bev, st_readcb, NULL, st_eventcb, &s);
    bufferevent_enable(bev, EV_READ);
    tu_write_str(fds[1], "x");
    s.exit_on_read = 1;
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(s.reads, 1);
    bufferevent_free(bev);
    tu_close(&fds[1]);
}

static void
test_trigger(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    struct st s;

    st_init(&s, base);
    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, st_readcb, st_writecb, st_eventcb, &s);

    /* Without deferral the callbacks run inside the call. */
    s.in_trigger = 1;
    bufferevent_trigger(bev, EV_READ, 0);
    assert_int_equal(s.reads, 1);
    assert_int_equal(s.called_in_trigger, 1);

    /* The low read watermark gates trigger too... */
    bufferevent_setwatermark(bev, EV_READ, 10, 0);
    bufferevent_trigger(bev, EV_READ, 0);
    assert_int_equal(s.reads, 1);
    /* ...unless told to ignore it. */
    bufferevent_trigger(bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS);
    assert_int_equal(s.reads, 2);

    /* Write: output (empty) is at or below the low mark. */
    bufferevent_trigger(bev, EV_WRITE, 0);
    assert_int_equal(s.writes, 1);
    bufferevent_write(bev, "0123456789", 10);
    bufferevent_setwatermark(bev, EV_WRITE, 5, 0);
    bufferevent_trigger(bev, EV_WRITE, 0);
    assert_int_equal(s.writes, 1);
    bufferevent_trigger(bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS);
    assert_int_equal(s.writes, 2);

    bufferevent_trigger_event(bev, BEV_EVENT_ERROR | BEV_EVENT_READING, 0);
    assert_int_equal(s.events, 1);
    assert_int_equal(s.what, BEV_EVENT_ERROR | BEV_EVENT_READING);

    /* BEV_TRIG_DEFER_CALLBACKS defers this one call only. */
    s.called_in_trigger = 0;
    bufferevent_trigger(bev, EV_READ,
        BEV_TRIG_DEFER_CALLBACKS | BEV_TRIG_IGNORE_WATERMARKS);
    bufferevent_trigger_event(bev, BEV_EVENT_TIMEOUT, BEV_TRIG_DEFER_CALLBACKS);
    assert_int_equal(s.reads, 2);
    assert_int_equal(s.events, 1);
    s.in_trigger = 0;
    tu_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(s.reads, 3);
    assert_int_equal(s.events, 2);
    assert_int_equal(s.what, BEV_EVENT_TIMEOUT);
    assert_int_equal(s.called_in_trigger, 0);

    bufferevent_free(bev);
    tu_close(&fds[1]);
}

/* A deferred callback whose callback is unset when its run comes stays
 * pending, as in libevent: set again, it runs at the next deferred run,
 * whatever scheduled that one.  With and without UNLOCK_CALLBACKS. */
static void
test_deferred_pending_kept(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    struct st s;
    int round;

    for (round = 0; round < 2; round++) {
        st_init(&s, base);
        tu_socketpair(fds);
        bev = bufferevent_socket_new(base, fds[0],
            BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS |
                (round ? BEV_OPT_UNLOCK_CALLBACKS : 0));
        assert_non_null(bev);
        bufferevent_setcb(bev, st_readcb, st_writecb, st_eventcb, &s);

        /* Read and an event scheduled, then both callbacks unset. */
        bufferevent_trigger(bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS);
        bufferevent_trigger_event(bev, BEV_EVENT_TIMEOUT | BEV_EVENT_READING,
            0);
        bufferevent_setcb(bev, NULL, st_writecb, NULL, &s);
        tu_loop(base, EVLOOP_NONBLOCK);
        assert_int_equal(s.reads, 0);
        assert_int_equal(s.events, 0);

        /* Set again: nothing runs until a run is scheduled... */
        bufferevent_setcb(bev, st_readcb, st_writecb, st_eventcb, &s);
        tu_loop(base, EVLOOP_NONBLOCK);
        assert_int_equal(s.reads, 0);
        assert_int_equal(s.events, 0);
        assert_int_equal(s.writes, 0);

        /* ...and a write's run calls the kept ones too, in order. */
        bufferevent_trigger(bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS);
        tu_loop(base, EVLOOP_NONBLOCK);
        assert_int_equal(s.writes, 1);
        assert_int_equal(s.reads, 1);
        assert_int_equal(s.events, 1);
        assert_int_equal(s.what, BEV_EVENT_TIMEOUT | BEV_EVENT_READING);

        /* Run once: nothing is pending any more. */
        bufferevent_trigger(bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS);
        tu_loop(base, EVLOOP_NONBLOCK);
        assert_int_equal(s.writes, 2);
        assert_int_equal(s.reads, 1);
        assert_int_equal(s.events, 1);

        bufferevent_free(bev);
        tu_close(&fds[1]);
    }
}

/* Every event callback's bits, in order. */
struct event_log {
    int n;
    short what[4];
    short trigger_in_read; /* bufferevent_trigger_event() from the readcb */
};

static void
log_eventcb(struct bufferevent *bev, short what, void *arg)
{
    struct event_log *l = arg;

    (void)bev;
    if (l->n < 4)
        l->what[l->n] = what;
    l->n++;
}

static void
log_readcb(struct bufferevent *bev, void *arg)
{
    struct event_log *l = arg;

    bufferevent_trigger_event(bev, l->trigger_in_read, 0);
}

/* Trigger what on bev, run the deferred callback, check the log. */
static void
check_deferred_event(struct event_base *base, struct bufferevent *bev,
    struct event_log *l, short what, int trig)
{
    memset(l, 0, sizeof(*l));
    bufferevent_trigger_event(bev, what, trig);
    assert_int_equal(l->n, 0);
    tu_loop(base, EVLOOP_NONBLOCK);
    if (what & BEV_EVENT_CONNECTED) {
        /* CONNECTED goes first, alone; the rest follows in one call. */
        assert_int_equal(l->n, 2);
        assert_int_equal(l->what[0], BEV_EVENT_CONNECTED);
        assert_int_equal(l->what[1], (short)(what & ~BEV_EVENT_CONNECTED));
    } else {
        assert_int_equal(l->n, 1);
        assert_int_equal(l->what[0], what);
    }
}

/* A deferred event callback gets all 16 bits bufferevent_trigger_event()
 * was given, as libevent keeps them in a short: bits above the BEV_EVENT_*
 * ones are neither dropped nor do they go without a callback. */
static void
test_trigger_event_deferred_bits(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    struct event_log l;
    int round;

    for (round = 0; round < 2; round++) {
        /* Round 0 defers by option, round 1 by the trigger's flag. */
        int opt = round == 0 ? BEV_OPT_DEFER_CALLBACKS : 0;
        int trig = round == 0 ? 0 : BEV_TRIG_DEFER_CALLBACKS;

        tu_socketpair(fds);
        bev = bufferevent_socket_new(base, fds[0],
            BEV_OPT_CLOSE_ON_FREE | opt);
        assert_non_null(bev);
        bufferevent_setcb(bev, NULL, NULL, log_eventcb, &l);

        check_deferred_event(base, bev, &l, (short)~0, trig);
        assert_int_equal((unsigned short)l.what[1], 0xff7f);
        check_deferred_event(base, bev, &l, 0x0100, trig);
        check_deferred_event(base, bev, &l, 0x4000, trig);
        check_deferred_event(base, bev, &l, BEV_EVENT_EOF | 0x0200, trig);

        /* Bits triggered twice before the callback runs are merged. */
        memset(&l, 0, sizeof(l));
        bufferevent_trigger_event(bev, 0x0100, trig);
        bufferevent_trigger_event(bev, 0x2000 | BEV_EVENT_READING, trig);
        tu_loop(base, EVLOOP_NONBLOCK);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.what[0], 0x2100 | BEV_EVENT_READING);

        bufferevent_free(bev);
        tu_close(&fds[1]);
    }

    /* Triggered from a deferred read callback, the bits are delivered by
     * the same run, after the point where CONNECTED would be split off:
     * ~0 arrives whole (upstream's bufferevent_trigger_defer counts on
     * it). */
    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0],
        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    assert_non_null(bev);
    memset(&l, 0, sizeof(l));
    l.trigger_in_read = (short)~0;
    bufferevent_setcb(bev, log_readcb, NULL, log_eventcb, &l);
    bufferevent_trigger(bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS);
    tu_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.what[0], (short)~0);
    bufferevent_free(bev);
    tu_close(&fds[1]);
}

static void
test_flush_socket(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;

    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_write(bev, "abc", 3);
    /* A socket has nothing of its own to flush. */
    assert_int_equal(bufferevent_flush(bev, EV_WRITE, BEV_FLUSH), 0);
    assert_int_equal(bufferevent_flush(bev, EV_READ | EV_WRITE, BEV_FINISHED),
        0);
    bufferevent_free(bev);
    tu_close(&fds[1]);
}

/* ------------------------------------------------------------------ */
/* Misc API                                                            */

static void
test_max_single_read(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    char data[1000];
    struct st s;

    st_init(&s, base);
    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    assert_int_equal(bufferevent_get_max_single_read(bev), 16384);
    assert_int_equal(bufferevent_get_max_single_write(bev), 16384);
    assert_int_equal(bufferevent_set_max_single_read(bev, 100), 0);
    assert_int_equal(bufferevent_get_max_single_read(bev), 100);
    assert_int_equal(bufferevent_set_max_single_write(bev, 0), 0);
    assert_int_equal(bufferevent_get_max_single_write(bev), 16384);
    assert_int_equal(bufferevent_get_max_to_read(bev), 100);
    assert_int_equal(bufferevent_get_max_to_write(bev), 16384);
    /* No rate limit: unlimited. */
    assert_true(bufferevent_get_read_limit(bev) > 1000000);

    bufferevent_setcb(bev, st_readcb, NULL, st_eventcb, &s);
    bufferevent_enable(bev, EV_READ);
    memset(data, 'm', sizeof(data));
    assert_int_equal(send(fds[1], data, sizeof(data), 0), 1000);
    assert_int_equal(tu_run(base, 100), 1);
    assert_int_equal(s.input_at_read, 100);
    assert_int_equal(evbuffer_get_length(bev->input), 1000);
    assert_int_equal(s.reads, 10);

    bufferevent_free(bev);
    tu_close(&fds[1]);
}

static void
test_setfd(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    struct st s;

    st_init(&s, base);
    s.exit_on_read = 1;
    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, st_readcb, NULL, st_eventcb, &s);
    assert_int_equal(bufferevent_enable(bev, EV_READ), 0);
    assert_int_equal(bufferevent_setfd(bev, fds[0]), 0);
    assert_int_equal(bufferevent_getfd(bev), fds[0]);
    assert_int_equal(event_get_fd(&bev->ev_read), fds[0]);
    /* What was enabled before applies to the new fd. */
    assert_true(event_pending(&bev->ev_read, EV_READ, NULL));
    tu_write_str(fds[1], "y");
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(s.reads, 1);
    assert_null(bufferevent_get_underlying(bev));
    bufferevent_free(bev);
    tu_close(&fds[1]);
}

/* bufferevent_new (1.x) works on the current base (event_init). */
static void
test_compat_new(void **state)
{
    struct event_base *base;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    struct st s;

    (void)state;
    tu_socketpair(fds);
    base = event_init();
    assert_non_null(base);
    st_init(&s, base);
    s.exit_on_read = 1;
    bev = bufferevent_new(fds[0], st_readcb, NULL, st_eventcb, &s);
    assert_non_null(bev);
    assert_ptr_equal(bev->readcb, st_readcb);
    assert_ptr_equal(event_get_base(&bev->ev_read), base);
    assert_int_equal(bufferevent_base_set(base, bev), 0);
    assert_ptr_equal(bufferevent_get_base(bev), base);
    assert_int_equal(bufferevent_enable(bev, EV_READ), 0);
    tu_write_str(fds[1], "compat");
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(s.reads, 1);
    assert_ptr_equal(EVBUFFER_INPUT(bev), bev->input);
    /* An added event cannot move to another base. */
    assert_int_equal(bufferevent_base_set(base, bev), -1);
    bufferevent_free(bev);
    event_base_free(base);
    tu_close_pair(fds);
}

/* redsocks waits for its own connect() with bufferevent_enable(EV_WRITE)
 * and an empty output: the write callback runs once the socket is
 * writable, and the write event is then dropped. */
static void
test_enable_write_empty(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    struct st s;

    st_init(&s, base);
    s.exit_on_write = 1;
    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, NULL, st_writecb, st_eventcb, &s);
    assert_int_equal(bufferevent_enable(bev, EV_WRITE), 0);
    assert_true(event_pending(&bev->ev_write, EV_WRITE, NULL));
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(s.writes, 1);
    assert_false(event_pending(&bev->ev_write, EV_WRITE, NULL));
    assert_int_equal(event_get_fd(&bev->ev_write), fds[0]);
    s.exit_on_write = 0;
    assert_int_equal(tu_run(base, 100), 1);
    assert_int_equal(s.writes, 1);
    bufferevent_free(bev);
    tu_close(&fds[1]);
}

static void
test_priority(void **state)
{
    struct event_base *base;
    evutil_socket_t fds[2];
    struct bufferevent *bev;

    (void)state;
    base = event_base_new();
    assert_int_equal(event_base_priority_init(base, 4), 0);
    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    assert_int_equal(bufferevent_get_priority(bev), 2);
    assert_int_equal(bufferevent_priority_set(bev, 3), 0);
    assert_int_equal(bufferevent_get_priority(bev), 3);
    assert_int_equal(event_get_priority(&bev->ev_write), 3);
    assert_int_equal(bufferevent_priority_set(bev, 9), -1);
    bufferevent_free(bev);
    event_base_free(base);
    tu_close(&fds[1]);
}

static void
test_bad_input(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    size_t lo = 1, hi = 1;

    /* Connecting without address nor fd. */
    bev = bufferevent_socket_new(base, -1, 0);
    assert_non_null(bev);
    assert_int_equal(bufferevent_socket_connect(bev, NULL, 0), -1);
    /* One direction at a time. */
    assert_int_equal(
        bufferevent_getwatermark(bev, EV_READ | EV_WRITE, &lo, &hi), -1);
    assert_int_equal(bufferevent_getwatermark(bev, EV_READ, &lo, &hi), 0);
    assert_int_equal(lo, 0);
    assert_int_equal(hi, 0);
    assert_int_equal(bufferevent_getwatermark(bev, EV_WRITE, NULL, NULL), 0);
    /* Reading from an empty input. */
    {
        char c;
        assert_int_equal(bufferevent_read(bev, &c, 1), 0);
    }
    /* A socket bufferevent has no partner. */
    assert_null(bufferevent_pair_get_partner(bev));
    bufferevent_free(bev);

    /* A closed fd: creation does not check; enabling fails where the
     * backend tells at once (epoll without changelist), else later. */
    tu_socketpair(fds);
    tu_close(&fds[0]);
    bev = bufferevent_socket_new(base, fds[1], 0);
    assert_non_null(bev);
    tu_close(&fds[1]);
    {
        int r = bufferevent_enable(bev, EV_READ);
        if (!strcmp(event_base_get_method(base), "epoll") &&
            !getenv("EVENT_EPOLL_USE_CHANGELIST"))
            assert_int_equal(r, -1);
        else
            assert_true(r == 0 || r == -1);
        /* What the user asked for is recorded anyway. */
        assert_true(bufferevent_get_enabled(bev) & EV_READ);
    }
    bufferevent_free(bev);
}

/* BEV_OPT_THREADSAFE before evthread_use_pthreads(): sockets and pairs
 * fail, a filter goes on unlocked (libevent 2.1). */
static void
test_threadsafe_without_threads(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev, *filt, *pair[2];

    tu_socketpair(fds);
    assert_null(bufferevent_socket_new(base, fds[0], BEV_OPT_THREADSAFE));
    assert_int_equal(bufferevent_pair_new(base, BEV_OPT_THREADSAFE, pair), -1);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    filt = bufferevent_filter_new(bev, NULL, NULL,
        BEV_OPT_THREADSAFE | BEV_OPT_CLOSE_ON_FREE, NULL, NULL);
    assert_non_null(filt);
    bufferevent_free(filt);
    tu_close(&fds[1]);
}

/* ------------------------------------------------------------------ */
/* Writing without a kernel round trip first: data added to the output is
 * sent from the loop, never from inside bufferevent_write, and the write
 * event is registered with the kernel only when the socket is full. */

/* bufferevent_write does not send or call back synchronously; the loop
 * sends it, then calls the write callback once the output is empty. */
static void
test_write_from_loop(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    char buf[16];
    struct st s;

    st_init(&s, base);
    s.exit_on_write = 1;
    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, NULL, st_writecb, st_eventcb, &s);
    s.in_trigger = 1;
    assert_int_equal(bufferevent_write(bev, "hello", 5), 0);
    s.in_trigger = 0;
    assert_int_equal(s.called_in_trigger, 0);
    assert_int_equal(s.writes, 0);
    /* Nothing sent yet, and the write is reported as pending. */
    assert_int_equal(recv(fds[1], buf, sizeof(buf), MSG_DONTWAIT), -1);
    assert_true(event_pending(&bev->ev_write, EV_WRITE, NULL));
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(s.writes, 1);
    assert_int_equal(evbuffer_get_length(bev->output), 0);
    assert_false(event_pending(&bev->ev_write, EV_WRITE, NULL));
    assert_int_equal(recv(fds[1], buf, sizeof(buf), MSG_DONTWAIT), 5);
    assert_memory_equal(buf, "hello", 5);
    /* Nothing more happens afterwards. */
    s.exit_on_write = 0;
    assert_int_equal(tu_run(base, 50), 1);
    assert_int_equal(s.writes, 1);
    assert_int_equal(s.events, 0);
    bufferevent_free(bev);
    tu_close(&fds[1]);
}

/* Disabling writing (or freeing) between bufferevent_write and the loop
 * sends nothing; enabling again sends it. */
static void
test_write_disable_before_loop(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    char buf[16];
    struct st s;

    st_init(&s, base);
    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, NULL, st_writecb, st_eventcb, &s);
    assert_int_equal(bufferevent_write(bev, "abc", 3), 0);
    assert_int_equal(bufferevent_disable(bev, EV_WRITE), 0);
    assert_false(event_pending(&bev->ev_write, EV_WRITE, NULL));
    assert_int_equal(tu_run(base, 50), 1);
    assert_int_equal(recv(fds[1], buf, sizeof(buf), MSG_DONTWAIT), -1);
    assert_int_equal(s.writes, 0);
    assert_int_equal(evbuffer_get_length(bev->output), 3);

    s.exit_on_write = 1;
    assert_int_equal(bufferevent_enable(bev, EV_WRITE), 0);
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(recv(fds[1], buf, sizeof(buf), MSG_DONTWAIT), 3);
    assert_int_equal(s.writes, 1);
    bufferevent_free(bev);

    /* Freed with the write queued: nothing runs, nothing leaks. */
    st_init(&s, base);
    bev = bufferevent_socket_new(base, fds[1], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, NULL, st_writecb, st_eventcb, &s);
    assert_int_equal(bufferevent_write(bev, "xyz", 3), 0);
    bufferevent_free(bev);
    assert_int_equal(tu_run(base, 50), 1);
    assert_int_equal(s.writes, 0);
    assert_int_equal(s.events, 0);
}

/* A socket that fills up: the write event is registered for real, the
 * rest goes out as the peer reads, and the write callback comes once,
 * when all is sent. */
struct slow_reader {
    struct event_base *base;
    evutil_socket_t fd;
    size_t got, want;
    struct event *ev;
};

static void
slow_reader_cb(evutil_socket_t fd, short what, void *arg)
{
    struct slow_reader *r = arg;
    char buf[4096];
    ssize_t n;

    (void)what;
    n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0)
        r->got += (size_t)n;
    if (r->got >= r->want)
        event_del(r->ev);
}

static void
test_write_socket_full(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    struct slow_reader r;
    static char data[4 * 1024 * 1024];
    struct st s;

    st_init(&s, base);
    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, NULL, st_writecb, st_eventcb, &s);
    memset(data, 'w', sizeof(data));
    assert_int_equal(bufferevent_write(bev, data, sizeof(data)), 0);
    /* One pass: the kernel takes part of it, the rest waits for EV_WRITE. */
    assert_int_equal(tu_run_flags(base, EVLOOP_NONBLOCK, 1000), 0);
    assert_true(evbuffer_get_length(bev->output) > 0);
    assert_true(evbuffer_get_length(bev->output) < sizeof(data));
    assert_true(event_pending(&bev->ev_write, EV_WRITE, NULL));
    assert_int_equal(s.writes, 0);

    memset(&r, 0, sizeof(r));
    r.base = base;
    r.want = sizeof(data);
    r.ev = event_new(base, fds[1], EV_READ | EV_PERSIST, slow_reader_cb, &r);
    assert_non_null(r.ev);
    assert_int_equal(event_add(r.ev, NULL), 0);
    s.exit_on_write = 1;
    assert_int_equal(tu_run(base, 10000), 0);
    assert_int_equal(s.writes, 1);
    assert_int_equal(evbuffer_get_length(bev->output), 0);
    assert_false(event_pending(&bev->ev_write, EV_WRITE, NULL));
    /* The reader still has the kernel's share to take. */
    s.exit_on_write = 0;
    while (r.got < r.want)
        assert_int_equal(tu_run_flags(base, EVLOOP_ONCE, 2000), 0);
    assert_int_equal(r.got, sizeof(data));
    assert_int_equal(s.events, 0);
    event_free(r.ev);
    bufferevent_free(bev);
    tu_close(&fds[1]);
}

/* A write timeout still fires when the peer never reads, also when the
 * data was queued before the timeout was set. */
static void
test_write_timeout_after_write(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    static char data[4 * 1024 * 1024];
    struct timeval tv;
    struct st s;

    st_init(&s, base);
    s.exit_on_event = 1;
    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, NULL, st_writecb, st_eventcb, &s);
    assert_int_equal(bufferevent_write(bev, data, sizeof(data)), 0);
    bufferevent_set_timeouts(bev, NULL, tu_tv(&tv, 100));
    assert_int_equal(tu_run(base, 3000), 0);
    assert_int_equal(s.events, 1);
    assert_int_equal(s.what, BEV_EVENT_TIMEOUT | BEV_EVENT_WRITING);
    assert_false(event_pending(&bev->ev_write, EV_WRITE, NULL));
    bufferevent_free(bev);
    tu_close(&fds[1]);
}

/* ---- Differences from libevent 2.1.12 found by test/diff/ ---- */

/* bufferevent_priority_set right after a write: libevent has only added
 * ev_write and accepts; ours has activated it, and must accept too. */
static void
test_priority_set_after_write(void **state)
{
    struct event_base *base = *state;
    struct bufferevent *bev;
    evutil_socket_t sp[2];

    assert_int_equal(event_base_priority_init(base, 3), 0);
    tu_socketpair(sp);
    bev = bufferevent_socket_new(base, sp[0], 0);
    assert_non_null(bev);
    assert_int_equal(bufferevent_write(bev, "hello", 5), 0);
    assert_int_equal(bufferevent_priority_set(bev, 1), 0);
    assert_int_equal(bufferevent_get_priority(bev), 1);
    assert_int_equal(bufferevent_priority_set(bev, 0), 0);
    assert_int_equal(bufferevent_get_priority(bev), 0);
    bufferevent_free(bev);
    tu_close_pair(sp);
}

/* libevent re-enables reading on every bufferevent_setwatermark(EV_READ)
 * and on every input change below the read high watermark, whether or not
 * reading was suspended: a socket bufferevent's read event comes back even
 * after a program deleted it by hand (bev->ev_read is public), and its
 * timeout restarts. */
static void
test_watermark_readds_read_event(void **state)
{
    struct event_base *base = *state;
    struct bufferevent *bev;
    evutil_socket_t sp[2];

    tu_socketpair(sp);
    bev = bufferevent_socket_new(base, sp[0], 0);
    assert_non_null(bev);
    assert_int_equal(bufferevent_enable(bev, EV_READ), 0);
    assert_true(event_pending(&bev->ev_read, EV_READ, NULL));

    assert_int_equal(event_del(&bev->ev_read), 0);
    bufferevent_setwatermark(bev, EV_READ, 0, 100);
    assert_true(event_pending(&bev->ev_read, EV_READ, NULL));

    /* Input that stays below the high mark (the end of a socket
     * bufferevent's input is frozen: prepend): re-added again. */
    assert_int_equal(event_del(&bev->ev_read), 0);
    assert_int_equal(evbuffer_prepend(bufferevent_get_input(bev), "x", 1), 0);
    assert_true(event_pending(&bev->ev_read, EV_READ, NULL));

    /* At the high mark: suspended, and draining resumes it. */
    {
        char fill[99];

        memset(fill, 'y', sizeof(fill));
        assert_int_equal(
            evbuffer_prepend(bufferevent_get_input(bev), fill, sizeof(fill)),
            0);
    }
    assert_false(event_pending(&bev->ev_read, EV_READ, NULL));
    assert_int_equal(evbuffer_drain(bufferevent_get_input(bev), 50), 0);
    assert_true(event_pending(&bev->ev_read, EV_READ, NULL));

    /* Not when reading is disabled. */
    assert_int_equal(bufferevent_disable(bev, EV_READ), 0);
    bufferevent_setwatermark(bev, EV_READ, 0, 0);
    assert_false(event_pending(&bev->ev_read, EV_READ, NULL));
    bufferevent_free(bev);
    tu_close_pair(sp);
}

static struct bufferevent *prio_x, *prio_y;
static char prio_log[128];

static void
prio_readcb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    strcat(prio_log, (const char *)arg);
}

static void
prio_event_cb(evutil_socket_t fd, short what, void *arg)
{
    char c;

    (void)what;
    assert_int_equal(recv(fd, &c, 1, 0), 1);
    strcat(prio_log, *(const char *)arg == 'A' ? "A " : "B ");
    bufferevent_trigger(*(const char *)arg == 'A' ? prio_x : prio_y, EV_READ,
        BEV_TRIG_DEFER_CALLBACKS);
}

/* Two ready fds at priority 1 each queue a deferred read callback: X's
 * at priority 0, Y's at priority 1.  As in libevent, Y's runs first:
 * priority 1's turn goes on with what was queued there, and a deferred
 * callback does not interrupt it (an event would). */
static void
test_deferred_priority_after_ready(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t sx[2], sy[2], pa[2], pb[2];
    struct event *a, *b;

    prio_log[0] = '\0';
    assert_int_equal(event_base_priority_init(base, 3), 0);
    tu_socketpair(sx);
    tu_socketpair(sy);
    tu_socketpair(pa);
    tu_socketpair(pb);
    prio_x = bufferevent_socket_new(base, sx[0], 0);
    prio_y = bufferevent_socket_new(base, sy[0], 0);
    bufferevent_setcb(prio_x, prio_readcb, NULL, NULL, (void *)"X ");
    bufferevent_setcb(prio_y, prio_readcb, NULL, NULL, (void *)"Y ");
    assert_int_equal(bufferevent_priority_set(prio_x, 0), 0);
    a = event_new(base, pa[0], EV_READ, prio_event_cb, (void *)"A");
    b = event_new(base, pb[0], EV_READ, prio_event_cb, (void *)"B");
    assert_int_equal(event_add(a, NULL), 0);
    assert_int_equal(event_add(b, NULL), 0);
    assert_int_equal(send(pa[1], "x", 1, 0), 1);
    assert_int_equal(send(pb[1], "x", 1, 0), 1);
    event_base_loop(base, EVLOOP_NONBLOCK);
    /* (A and B may come in either order on backends that scan.) */
    assert_int_equal(strlen(prio_log), 8);
    assert_string_equal(prio_log + 4, "Y X ");
    event_free(a);
    event_free(b);
    bufferevent_free(prio_x);
    bufferevent_free(prio_y);
    tu_close_pair(sx);
    tu_close_pair(sy);
    tu_close_pair(pa);
    tu_close_pair(pb);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_echo_socketpair, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_echo_tcp, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_public_fields, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_read_high_watermark, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_read_high_watermark_retrigger,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_read_low_watermark, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_write_low_watermark, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_read_timeout, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_write_timeout, tu_setup,
            tu_teardown),
                cmocka_unit_test_setup_teardown(test_timeout_without_fd, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_timeout_adjust, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_settimeout_compat, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_eof, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_reset_mid_write, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_reset_while_reading, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_connect_ok, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_connect_refused, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_connect_hostname_localhost,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_connect_hostname_numeric,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_connect_hostname_fails,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_connect_hostname_bad_args,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_close_on_free, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_free_in_callback, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_refcount, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_defer_callbacks, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_unlock_callbacks, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_trigger, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_trigger_event_deferred_bits,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_flush_socket, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_max_single_read, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_setfd, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_compat_new, tu_setup_nobase,
            tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_enable_write_empty, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_priority, tu_setup_nobase,
            tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_write_from_loop, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_write_disable_before_loop,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_write_socket_full, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_write_timeout_after_write,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_watermark_readds_read_event,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_priority_set_after_write,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_deferred_priority_after_ready,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_deferred_pending_kept, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_threadsafe_without_threads,
            tu_setup, tu_teardown),
    };

    tu_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

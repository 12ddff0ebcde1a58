/*
 * test-bufferevent-filter.c: bufferevent_filter_new() over socket and pair
 * bufferevents, through libevent 2.1's public API only (checked against
 * Debian's libevent too).
 *
 * Covers: rot13 in, uppercase out; a line filter answering BEV_NEED_MORE
 * until a line is complete; a trailer emitted on BEV_FINISHED; the high
 * read watermark with data left in the underlying; events passed through;
 * free_context; BEV_OPT_CLOSE_ON_FREE freeing the underlying (and without
 * it, the underlying handed back); getfd/get_underlying.
 *
 * Callbacks only record; assertions run after the loop.
 */
#define _GNU_SOURCE
#include "test-util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>

/* ------------------------------------------------------------------ */
/* Filters                                                             */

/* Apply fn to every byte from src to dst, up to dst_limit. */
static enum bufferevent_filter_result
map_bytes(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t dst_limit,
    int (*fn)(int))
{
    unsigned char buf[4096];
    size_t n = evbuffer_get_length(src);
    size_t i;

    if (n == 0)
        return BEV_NEED_MORE;
    if (dst_limit >= 0 && n > (size_t)dst_limit)
        n = (size_t)dst_limit;
    if (n > sizeof(buf))
        n = sizeof(buf);
    if (n == 0)
        return BEV_NEED_MORE;
    evbuffer_remove(src, buf, n);
    for (i = 0; i < n; ++i)
        buf[i] = (unsigned char)fn(buf[i]);
    evbuffer_add(dst, buf, n);
    return BEV_OK;
}

static int
rot13(int c)
{
    if (c >= 'a' && c <= 'z')
        return 'a' + (c - 'a' + 13) % 26;
    if (c >= 'A' && c <= 'Z')
        return 'A' + (c - 'A' + 13) % 26;
    return c;
}

static int
upper(int c)
{
    return toupper(c);
}

static int filter_calls;

static enum bufferevent_filter_result
rot13_filter(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t lim,
    enum bufferevent_flush_mode mode, void *ctx)
{
    (void)mode;
    (void)ctx;
    filter_calls++;
    return map_bytes(src, dst, lim, rot13);
}

static enum bufferevent_filter_result
upper_filter(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t lim,
    enum bufferevent_flush_mode mode, void *ctx)
{
    (void)mode;
    (void)ctx;
    filter_calls++;
    return map_bytes(src, dst, lim, upper);
}

/* Passes whole lines only. */
static enum bufferevent_filter_result
line_filter(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t lim,
    enum bufferevent_flush_mode mode, void *ctx)
{
    struct evbuffer_ptr p;

    (void)lim;
    (void)mode;
    (void)ctx;
    p = evbuffer_search(src, "\n", 1, NULL);
    if (p.pos < 0)
        return BEV_NEED_MORE;
    evbuffer_remove_buffer(src, dst, (size_t)p.pos + 1);
    return BEV_OK;
}

/* Holds everything back until BEV_FINISHED, then adds a trailer. */
struct hold {
    int finished_calls;
};

static enum bufferevent_filter_result
hold_filter(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t lim,
    enum bufferevent_flush_mode mode, void *ctx)
{
    struct hold *h = ctx;

    (void)lim;
    if (mode != BEV_FINISHED)
        return BEV_NEED_MORE;
    h->finished_calls++;
    evbuffer_add_buffer(dst, src);
    evbuffer_add(dst, "<END>", 5);
    return BEV_OK;
}

/* ------------------------------------------------------------------ */
/* Recording                                                           */

struct st {
    struct event_base *base;
    int reads, writes, events;
    short what;
    char got[256];
    size_t n_got;
    int exit_on_read;
    int exit_on_event;
    int drain; /* read the input into got[] */
};

static void
st_init(struct st *s, struct event_base *base)
{
    memset(s, 0, sizeof(*s));
    s->base = base;
    s->drain = 1;
}

static void
st_readcb(struct bufferevent *bev, void *arg)
{
    struct st *s = arg;

    s->reads++;
    if (s->drain)
        s->n_got += bufferevent_read(bev, s->got + s->n_got,
            sizeof(s->got) - 1 - s->n_got);
    if (s->exit_on_read)
        event_base_loopexit(s->base, NULL);
}

static void
st_writecb(struct bufferevent *bev, void *arg)
{
    struct st *s = arg;

    (void)bev;
    s->writes++;
}

static void
st_eventcb(struct bufferevent *bev, short what, void *arg)
{
    struct st *s = arg;

    (void)bev;
    s->events++;
    s->what = what;
    if (s->exit_on_event)
        event_base_loopexit(s->base, NULL);
}

/* Read what fd has (within ms), NUL-terminated. */
static size_t
recv_some(evutil_socket_t fd, char *buf, size_t len, long ms)
{
    struct timeval start;
    size_t got = 0;
    ssize_t n;

    tu_now(&start);
    while (got < len - 1 && tu_ms_since(&start) < ms) {
        n = recv(fd, buf + got, len - 1 - got, MSG_DONTWAIT);
        if (n > 0)
            got += (size_t)n;
        else
            tu_sleep_ms(2);
    }
    buf[got] = '\0';
    return got;
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */

static void
test_rot13_upper(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *under, *filt;
    struct st s;
    char buf[64];

    st_init(&s, base);
    tu_socketpair(fds);
    under = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    filt = bufferevent_filter_new(under, rot13_filter, upper_filter,
        BEV_OPT_CLOSE_ON_FREE, NULL, NULL);
    assert_non_null(filt);
    assert_ptr_equal(bufferevent_get_underlying(filt), under);
    assert_int_equal(bufferevent_getfd(filt), fds[0]);
    assert_ptr_equal(bufferevent_get_base(filt), base);
    bufferevent_setcb(filt, st_readcb, st_writecb, st_eventcb, &s);
    bufferevent_enable(filt, EV_READ | EV_WRITE);

    /* Out: uppercased on its way to the socket. */
    assert_int_equal(bufferevent_write(filt, "hello, world", 12), 0);
    assert_int_equal(evbuffer_get_length(bufferevent_get_output(filt)), 0);
    assert_int_equal(tu_run(base, 100), 1);
    recv_some(fds[1], buf, 13, 1000);
    assert_string_equal(buf, "HELLO, WORLD");
    assert_true(s.writes >= 1);

    /* In: rot13. */
    s.exit_on_read = 1;
    tu_write_str(fds[1], "uryyb, jbeyq");
    assert_int_equal(tu_run(base, 2000), 0);
    s.got[s.n_got] = '\0';
    assert_string_equal(s.got, "hello, world");

    bufferevent_free(filt);
    tu_loop(base, EVLOOP_NONBLOCK);
    /* CLOSE_ON_FREE on the filter freed the underlying and its fd. */
    assert_true(tu_fd_is_closed(fds[0]));
    tu_close(&fds[1]);
}

static void
test_need_more(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *under, *filt;
    struct st s;

    st_init(&s, base);
    tu_socketpair(fds);
    under = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    filt = bufferevent_filter_new(under, line_filter, NULL,
        BEV_OPT_CLOSE_ON_FREE, NULL, NULL);
    bufferevent_setcb(filt, st_readcb, NULL, st_eventcb, &s);
    bufferevent_enable(filt, EV_READ);

    tu_write_str(fds[1], "abc");
    assert_int_equal(tu_run(base, 100), 1);
    assert_int_equal(s.reads, 0);
    /* The partial line waits in the underlying's input. */
    assert_int_equal(evbuffer_get_length(bufferevent_get_input(under)), 3);

    s.exit_on_read = 1;
    tu_write_str(fds[1], "def\nghi");
    assert_int_equal(tu_run(base, 2000), 0);
    s.got[s.n_got] = '\0';
    assert_string_equal(s.got, "abcdef\n");
    assert_int_equal(evbuffer_get_length(bufferevent_get_input(under)), 3);
    bufferevent_free(filt);
    tu_close(&fds[1]);
}

static void
test_finished(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *under, *filt;
    struct hold h = {0};
    char buf[64];

    tu_socketpair(fds);
    under = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    filt = bufferevent_filter_new(under, NULL, hold_filter,
        BEV_OPT_CLOSE_ON_FREE, NULL, &h);
    bufferevent_enable(filt, EV_WRITE);
    bufferevent_write(filt, "body", 4);
    assert_int_equal(tu_run(base, 50), 1);
    assert_int_equal(evbuffer_get_length(bufferevent_get_output(filt)), 4);
    assert_int_equal(h.finished_calls, 0);

    /* Nothing moves on BEV_NORMAL or BEV_FLUSH... */
    assert_int_equal(bufferevent_flush(filt, EV_WRITE, BEV_FLUSH), 0);
    /* ...and BEV_FINISHED lets the trailer out; 1: data was moved. */
    assert_int_equal(bufferevent_flush(filt, EV_WRITE, BEV_FINISHED), 1);
    assert_int_equal(h.finished_calls, 1);
    assert_int_equal(tu_run(base, 50), 1);
    recv_some(fds[1], buf, 10, 1000);
    assert_string_equal(buf, "body<END>");
    bufferevent_free(filt);
    tu_close(&fds[1]);
}

/* Our high read watermark leaves data in the underlying; draining our
 * input brings it over even though nothing new arrives (libevent #362). */
static void
test_high_watermark(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *under, *filt;
    char buf[64];
    struct st s;

    st_init(&s, base);
    s.drain = 0;
    tu_socketpair(fds);
    under = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    filt = bufferevent_filter_new(under, rot13_filter, NULL,
        BEV_OPT_CLOSE_ON_FREE, NULL, NULL);
    bufferevent_setwatermark(filt, EV_READ, 0, 10);
    /* A filter applies dst_limit: it fills up to the mark exactly. */
    bufferevent_enable(filt, EV_READ);
    tu_write_str(fds[1], "abcdefghijklmnopqrstuvwxyz");
    assert_int_equal(tu_run(base, 100), 1);
    assert_int_equal(evbuffer_get_length(bufferevent_get_input(filt)), 10);
    assert_int_equal(evbuffer_get_length(bufferevent_get_input(under)), 16);

    assert_int_equal(bufferevent_read(filt, buf, 10), 10);
    assert_memory_equal(buf, "nopqrstuvw", 10);
    tu_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(evbuffer_get_length(bufferevent_get_input(filt)), 10);
    assert_int_equal(bufferevent_read(filt, buf, 10), 10);
    assert_memory_equal(buf, "xyzabcdefg", 10);
    tu_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(bufferevent_read(filt, buf, sizeof(buf)), 6);
    assert_memory_equal(buf, "hijklm", 6);
    bufferevent_free(filt);
    tu_close(&fds[1]);
}

/* Reading off on the filter holds the underlying's reading too. */
static void
test_read_disabled(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *under, *filt;
    struct st s;

    st_init(&s, base);
    tu_socketpair(fds);
    under = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    filt = bufferevent_filter_new(under, NULL, NULL, BEV_OPT_CLOSE_ON_FREE,
        NULL, NULL);
    bufferevent_setcb(filt, st_readcb, NULL, st_eventcb, &s);
    /* Created with only writing enabled. */
    assert_int_equal(bufferevent_get_enabled(filt), EV_WRITE);
    tu_write_str(fds[1], "quiet");
    assert_int_equal(tu_run(base, 100), 1);
    assert_int_equal(s.reads, 0);
    assert_int_equal(evbuffer_get_length(bufferevent_get_input(under)), 0);
    s.exit_on_read = 1;
    bufferevent_enable(filt, EV_READ);
    assert_int_equal(tu_run(base, 2000), 0);
    s.got[s.n_got] = '\0';
    assert_string_equal(s.got, "quiet");
    bufferevent_free(filt);
    tu_close(&fds[1]);
}

static void
test_events_pass_through(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *under, *filt;
    struct st s;

    st_init(&s, base);
    s.exit_on_event = 1;
    tu_socketpair(fds);
    under = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    filt = bufferevent_filter_new(under, NULL, NULL, BEV_OPT_CLOSE_ON_FREE,
        NULL, NULL);
    bufferevent_setcb(filt, st_readcb, NULL, st_eventcb, &s);
    bufferevent_enable(filt, EV_READ);
    tu_close(&fds[1]);
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(s.events, 1);
    assert_int_equal(s.what, BEV_EVENT_EOF | BEV_EVENT_READING);
    bufferevent_free(filt);
}

static int context_freed;

static void
free_ctx(void *ctx)
{
    context_freed += *(int *)ctx;
}

/* Without CLOSE_ON_FREE the underlying survives, with its callbacks
 * cleared and reading back on. */
static void
test_underlying_survives(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct bufferevent *under, *filt;
    static int one = 1;
    struct st s;

    st_init(&s, base);
    s.exit_on_read = 1;
    tu_socketpair(fds);
    under = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_enable(under, EV_READ);
    filt = bufferevent_filter_new(under, NULL, NULL, 0, free_ctx, &one);
    /* The filter took over the underlying's callbacks. */
    assert_non_null(under->readcb);
    context_freed = 0;
    bufferevent_free(filt);
    tu_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(context_freed, 1);
    assert_false(tu_fd_is_closed(fds[0]));
    assert_null(under->readcb);
    assert_null(under->errorcb);

    bufferevent_setcb(under, st_readcb, NULL, st_eventcb, &s);
    tu_write_str(fds[1], "still here");
    assert_int_equal(tu_run(base, 2000), 0);
    s.got[s.n_got] = '\0';
    assert_string_equal(s.got, "still here");
    bufferevent_free(under);
    tu_close(&fds[1]);
}

/* A filter over one half of a pair. */
static void
test_over_pair(void **state)
{
    struct event_base *base = *state;
    struct bufferevent *pair[2], *filt;
    struct st s;

    st_init(&s, base);
    s.exit_on_read = 1;
    assert_int_equal(bufferevent_pair_new(base, 0, pair), 0);
    filt = bufferevent_filter_new(pair[0], rot13_filter, rot13_filter,
        BEV_OPT_CLOSE_ON_FREE, NULL, NULL);
    assert_int_equal(bufferevent_getfd(filt), -1);
    bufferevent_setcb(filt, st_readcb, NULL, st_eventcb, &s);
    bufferevent_enable(filt, EV_READ);
    bufferevent_enable(pair[1], EV_READ);
    bufferevent_write(pair[1], "Grfg", 4);
    assert_int_equal(tu_run(base, 2000), 0);
    s.got[s.n_got] = '\0';
    assert_string_equal(s.got, "Test");
    bufferevent_write(filt, "Test", 4);
    tu_loop(base, EVLOOP_NONBLOCK);
    {
        char buf[8];
        assert_int_equal(bufferevent_read(pair[1], buf, sizeof(buf)), 4);
        assert_memory_equal(buf, "Grfg", 4);
    }
    bufferevent_free(filt);
    bufferevent_free(pair[1]);
}

static void
test_bad_input(void **state)
{
    (void)state;
    assert_null(bufferevent_filter_new(NULL, NULL, NULL, 0, NULL, NULL));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rot13_upper, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_need_more, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_finished, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_high_watermark, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_read_disabled, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_events_pass_through, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_underlying_survives, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_over_pair, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, tu_setup,
            tu_teardown),
    };

    tu_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test-bufferevent-pair.c: bufferevent_pair_new() and friends, through
 * libevent 2.1's public API only (checked against Debian's libevent too).
 *
 * Covers: data in both directions, 1 MB intact; the data moves without
 * being copied; callbacks are always deferred; the partner link and what
 * happens when one half is freed; the reader's high watermark holding data
 * back in the writer; enabling reading late; the write low watermark;
 * BEV_FLUSH and BEV_FINISHED; read timeouts; the socket-only calls failing;
 * all 16 bits of bufferevent_trigger_event() reaching the event callback.
 *
 * Callbacks only record; assertions run after the loop.
 */
#define _GNU_SOURCE
#include "test-util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>

struct st {
    struct event_base *base;
    int reads, writes, events;
    short what;
    int in_call;          /* set around synchronous library calls */
    int called_in_call;   /* a callback ran inside one */
    size_t input_at_read; /* input length at the last read callback */
    int exit_on_read;
    int exit_on_event;
    int drop_readcb;      /* clear the read callback after one call */
};

static void
st_init(struct st *s, struct event_base *base)
{
    memset(s, 0, sizeof(*s));
    s->base = base;
}

static void
st_readcb(struct bufferevent *bev, void *arg)
{
    struct st *s = arg;

    s->reads++;
    s->input_at_read = evbuffer_get_length(bufferevent_get_input(bev));
    if (s->in_call)
        s->called_in_call = 1;
    if (s->exit_on_read)
        event_base_loopexit(s->base, NULL);
    if (s->drop_readcb)
        bufferevent_setcb(bev, NULL, bev->writecb, bev->errorcb, bev->cbarg);
}

static void
st_writecb(struct bufferevent *bev, void *arg)
{
    struct st *s = arg;

    (void)bev;
    s->writes++;
    if (s->in_call)
        s->called_in_call = 1;
}

static void
st_eventcb(struct bufferevent *bev, short what, void *arg)
{
    struct st *s = arg;

    (void)bev;
    s->events++;
    s->what = what;
    if (s->in_call)
        s->called_in_call = 1;
    if (s->exit_on_event)
        event_base_loopexit(s->base, NULL);
}

static void
test_basic(void **state)
{
    struct event_base *base = *state;
    struct bufferevent *pair[2];
    struct st sa, sb;
    char buf[32];

    st_init(&sa, base);
    st_init(&sb, base);
    assert_int_equal(bufferevent_pair_new(base, 0, pair), 0);
    assert_ptr_equal(bufferevent_pair_get_partner(pair[0]), pair[1]);
    assert_ptr_equal(bufferevent_pair_get_partner(pair[1]), pair[0]);
    assert_ptr_equal(bufferevent_get_base(pair[0]), base);
    bufferevent_setcb(pair[0], st_readcb, st_writecb, st_eventcb, &sa);
    bufferevent_setcb(pair[1], st_readcb, st_writecb, st_eventcb, &sb);
    bufferevent_enable(pair[0], EV_READ);
    bufferevent_enable(pair[1], EV_READ);

    /* The data moves at once; the callbacks wait for the loop. */
    sa.in_call = sb.in_call = 1;
    assert_int_equal(bufferevent_write(pair[0], "ping", 4), 0);
    sa.in_call = sb.in_call = 0;
    assert_int_equal(evbuffer_get_length(bufferevent_get_output(pair[0])), 0);
    assert_int_equal(evbuffer_get_length(bufferevent_get_input(pair[1])), 4);
    assert_int_equal(sb.reads, 0);
    tu_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(sb.reads, 1);
    assert_int_equal(sa.writes, 1);
    assert_int_equal(sb.called_in_call + sa.called_in_call, 0);
    assert_int_equal(bufferevent_read(pair[1], buf, sizeof(buf)), 4);
    assert_memory_equal(buf, "ping", 4);

    /* And back. */
    assert_int_equal(bufferevent_write(pair[1], "pong!", 5), 0);
    tu_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(sa.reads, 1);
    assert_int_equal(bufferevent_read(pair[0], buf, sizeof(buf)), 5);
    assert_memory_equal(buf, "pong!", 5);

    bufferevent_free(pair[0]);
    bufferevent_free(pair[1]);
}

#define BIG (1024 * 1024)

struct bulk {
    struct event_base *base;
    unsigned char *got;
    size_t n_got;
};

static void
bulk_readcb(struct bufferevent *bev, void *arg)
{
    struct bulk *b = arg;

    b->n_got += bufferevent_read(bev, b->got + b->n_got, BIG - b->n_got);
    if (b->n_got == BIG)
        event_base_loopexit(b->base, NULL);
}

/* 1 MB in pieces, through a small high watermark, intact. */
static void
test_bulk(void **state)
{
    struct event_base *base = *state;
    struct bufferevent *pair[2];
    unsigned char *data;
    struct bulk b;
    size_t i;

    data = malloc(BIG);
    memset(&b, 0, sizeof(b));
    b.base = base;
    b.got = malloc(BIG);
    for (i = 0; i < BIG; ++i)
        data[i] = (unsigned char)(i ^ (i >> 9));
    assert_int_equal(bufferevent_pair_new(base, 0, pair), 0);
    bufferevent_setcb(pair[1], bulk_readcb, NULL, NULL, &b);
    bufferevent_setwatermark(pair[1], EV_READ, 0, 4096);
    bufferevent_enable(pair[1], EV_READ);
    for (i = 0; i < BIG; i += 10000)
        bufferevent_write(pair[0], data + i, BIG - i < 10000 ? BIG - i : 10000);
    assert_int_equal(tu_run(base, 5000), 0);
    assert_int_equal(b.n_got, BIG);
    assert_memory_equal(b.got, data, BIG);
    bufferevent_free(pair[0]);
    bufferevent_free(pair[1]);
    free(data);
    free(b.got);
}

/* The bytes the reader sees are the bytes the writer gave: no copy. */
static void
test_no_copy(void **state)
{
    struct event_base *base = *state;
    struct bufferevent *pair[2];
    static char payload[100000];
    struct evbuffer_iovec v[4];
    int n;

    assert_int_equal(bufferevent_pair_new(base, 0, pair), 0);
    bufferevent_enable(pair[1], EV_READ);
    memset(payload, 'p', sizeof(payload));
    assert_int_equal(evbuffer_add_reference(bufferevent_get_output(pair[0]),
                         payload, sizeof(payload), NULL, NULL),
        0);
    n = evbuffer_peek(bufferevent_get_input(pair[1]), -1, NULL, v, 4);
    assert_int_equal(n, 1);
    assert_ptr_equal(v[0].iov_base, payload);
    assert_int_equal(v[0].iov_len, sizeof(payload));
    bufferevent_free(pair[0]);
    bufferevent_free(pair[1]);
}

static void
test_free_one_side(void **state)
{
    struct event_base *base = *state;
    struct bufferevent *pair[2];
    struct st sa;

    st_init(&sa, base);
    assert_int_equal(bufferevent_pair_new(base, 0, pair), 0);
    bufferevent_setcb(pair[0], st_readcb, st_writecb, st_eventcb, &sa);
    bufferevent_enable(pair[0], EV_READ);
    bufferevent_free(pair[1]);
    /* The survivor has no partner; writing to it just buffers. */
    assert_null(bufferevent_pair_get_partner(pair[0]));
    assert_int_equal(bufferevent_write(pair[0], "lost", 4), 0);
    assert_int_equal(evbuffer_get_length(bufferevent_get_output(pair[0])), 4);
    assert_int_equal(bufferevent_flush(pair[0], EV_WRITE, BEV_FLUSH), -1);
    tu_loop(base, EVLOOP_NONBLOCK);
    /* libevent sends no event to the survivor. */
    assert_int_equal(sa.events, 0);
    bufferevent_free(pair[0]);

    /* The other way round, with data in flight both ways. */
    assert_int_equal(bufferevent_pair_new(base, 0, pair), 0);
    bufferevent_enable(pair[0], EV_READ);
    bufferevent_enable(pair[1], EV_READ);
    bufferevent_write(pair[0], "a", 1);
    bufferevent_write(pair[1], "b", 1);
    bufferevent_free(pair[0]);
    assert_null(bufferevent_pair_get_partner(pair[1]));
    tu_loop(base, EVLOOP_NONBLOCK);
    bufferevent_free(pair[1]);
}

static void
test_watermarks(void **state)
{
    struct event_base *base = *state;
    struct bufferevent *pair[2];
    struct st sa, sb;
    char buf[1000];

    st_init(&sa, base);
    st_init(&sb, base);
    assert_int_equal(bufferevent_pair_new(base, 0, pair), 0);
    bufferevent_setcb(pair[0], NULL, st_writecb, NULL, &sa);
    bufferevent_setcb(pair[1], st_readcb, NULL, NULL, &sb);
    /* st_readcb does not drain: with the input at the high mark libevent
     * (>= 2.1.11) calls it again on every loop iteration.  So it is
     * counted once, then the reader goes on without a read callback. */
    sb.drop_readcb = 1;
    bufferevent_setwatermark(pair[1], EV_READ, 50, 100);
    bufferevent_setwatermark(pair[0], EV_WRITE, 500, 0);
    bufferevent_enable(pair[1], EV_READ);

    memset(buf, 'w', sizeof(buf));
    bufferevent_write(pair[0], buf, 1000);
    /* The reader takes only up to its high mark. */
    assert_int_equal(evbuffer_get_length(bufferevent_get_input(pair[1])), 100);
    assert_int_equal(evbuffer_get_length(bufferevent_get_output(pair[0])),
        900);
    tu_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(sb.reads, 1);
    assert_int_equal(sb.input_at_read, 100);
    /* 900 left is above the writer's low mark: no write callback. */
    assert_int_equal(sa.writes, 0);

    /* Draining the reader pulls more over. */
    assert_int_equal(bufferevent_read(pair[1], buf, 100), 100);
    assert_int_equal(evbuffer_get_length(bufferevent_get_input(pair[1])), 100);
    assert_int_equal(evbuffer_get_length(bufferevent_get_output(pair[0])),
        800);
    /* Draining below the low read mark: the refill comes at once. */
    assert_int_equal(bufferevent_read(pair[1], buf, 60), 60);
    tu_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(evbuffer_get_length(bufferevent_get_output(pair[0])),
        740);
    assert_int_equal(sb.reads, 1);
    while (evbuffer_get_length(bufferevent_get_output(pair[0])) > 500) {
        bufferevent_read(pair[1], buf, 100);
        tu_loop(base, EVLOOP_NONBLOCK);
    }
    assert_int_equal(sa.writes, 1);

    /* BEV_FLUSH moves everything regardless of the mark. */
    assert_int_equal(bufferevent_flush(pair[0], EV_WRITE, BEV_FLUSH), 0);
    assert_int_equal(evbuffer_get_length(bufferevent_get_output(pair[0])), 0);
    /* BEV_NORMAL does nothing for a pair. */
    assert_int_equal(bufferevent_flush(pair[0], EV_WRITE, BEV_NORMAL), 0);
    bufferevent_free(pair[0]);
    bufferevent_free(pair[1]);
}

/* Data waits in the writer until the reader enables reading. */
static void
test_enable_late(void **state)
{
    struct event_base *base = *state;
    struct bufferevent *pair[2];
    struct st sb;

    st_init(&sb, base);
    assert_int_equal(bufferevent_pair_new(base, 0, pair), 0);
    bufferevent_setcb(pair[1], st_readcb, NULL, NULL, &sb);
    bufferevent_write(pair[0], "waiting", 7);
    tu_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(evbuffer_get_length(bufferevent_get_output(pair[0])), 7);
    assert_int_equal(sb.reads, 0);
    bufferevent_enable(pair[1], EV_READ);
    assert_int_equal(evbuffer_get_length(bufferevent_get_input(pair[1])), 7);
    tu_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(sb.reads, 1);

    /* The writer disabled: nothing moves until it writes again. */
    bufferevent_disable(pair[0], EV_WRITE);
    bufferevent_write(pair[0], "held", 4);
    assert_int_equal(evbuffer_get_length(bufferevent_get_output(pair[0])), 4);
    bufferevent_enable(pair[0], EV_WRITE);
    assert_int_equal(evbuffer_get_length(bufferevent_get_output(pair[0])), 0);
    assert_int_equal(evbuffer_get_length(bufferevent_get_input(pair[1])), 11);
    bufferevent_free(pair[0]);
    bufferevent_free(pair[1]);
}

static void
test_finished(void **state)
{
    struct event_base *base = *state;
    struct bufferevent *pair[2];
    struct st sa, sb;

    st_init(&sa, base);
    st_init(&sb, base);
    assert_int_equal(bufferevent_pair_new(base, 0, pair), 0);
    bufferevent_setcb(pair[0], st_readcb, st_writecb, st_eventcb, &sa);
    bufferevent_setcb(pair[1], st_readcb, st_writecb, st_eventcb, &sb);
    bufferevent_write(pair[0], "tail", 4);
    /* The partner is told the data is finished: EOF while reading. */
    assert_int_equal(bufferevent_flush(pair[0], EV_WRITE, BEV_FINISHED), 0);
    assert_int_equal(evbuffer_get_length(bufferevent_get_input(pair[1])), 4);
    tu_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(sb.events, 1);
    assert_int_equal(sb.what, BEV_EVENT_EOF | BEV_EVENT_READING);
    assert_int_equal(sa.events, 0);

    /* Finishing the read side tells the partner it cannot write. */
    assert_int_equal(bufferevent_flush(pair[0], EV_READ, BEV_FINISHED), 0);
    tu_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(sb.events, 2);
    assert_int_equal(sb.what, BEV_EVENT_EOF | BEV_EVENT_WRITING);
    bufferevent_free(pair[0]);
    bufferevent_free(pair[1]);
}

static void
test_timeout(void **state)
{
    struct event_base *base = *state;
    struct bufferevent *pair[2];
    struct timeval tv, start;
    struct st sb;

    st_init(&sb, base);
    sb.exit_on_event = 1;
    assert_int_equal(bufferevent_pair_new(base, 0, pair), 0);
    bufferevent_setcb(pair[1], st_readcb, NULL, st_eventcb, &sb);
    bufferevent_set_timeouts(pair[1], tu_tv(&tv, 100), NULL);
    bufferevent_enable(pair[1], EV_READ);
    tu_now(&start);
    assert_int_equal(tu_run(base, 3000), 0);
    tu_assert_ms(tu_ms_since(&start), 100);
    assert_int_equal(sb.events, 1);
    assert_int_equal(sb.what, BEV_EVENT_TIMEOUT | BEV_EVENT_READING);
    assert_false(bufferevent_get_enabled(pair[1]) & EV_READ);
    bufferevent_free(pair[0]);
    bufferevent_free(pair[1]);
}

/* What only socket bufferevents support fails on a pair. */
static void
test_not_socket(void **state)
{
    struct event_base *base = *state;
    struct bufferevent *pair[2];

    assert_int_equal(bufferevent_pair_new(base, 0, pair), 0);
    assert_int_equal(bufferevent_getfd(pair[0]), -1);
    assert_int_equal(bufferevent_setfd(pair[0], 0), -1);
    assert_null(bufferevent_get_underlying(pair[0]));
    assert_int_equal(bufferevent_priority_set(pair[0], 0), -1);
    assert_int_equal(bufferevent_base_set(base, pair[0]), -1);
    bufferevent_free(pair[0]);
    bufferevent_free(pair[1]);
}

/* A callback freeing both halves. */
static struct bufferevent *free_pair[2];

static void
free_both_readcb(struct bufferevent *bev, void *arg)
{
    int *calls = arg;

    (void)bev;
    ++*calls;
    bufferevent_free(free_pair[0]);
    bufferevent_free(free_pair[1]);
}

static void
test_free_in_callback(void **state)
{
    struct event_base *base = *state;
    int calls = 0;

    assert_int_equal(bufferevent_pair_new(base, 0, free_pair), 0);
    bufferevent_setcb(free_pair[1], free_both_readcb, NULL, NULL, &calls);
    bufferevent_enable(free_pair[1], EV_READ);
    bufferevent_write(free_pair[0], "x", 1);
    bufferevent_write(free_pair[1], "y", 1);
    tu_loop(base, EVLOOP_NONBLOCK);
    tu_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(calls, 1);
}

/* Every event callback's bits, in order. */
struct event_log {
    int n;
    short what[4];
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

/* Pairs always defer, and the deferred event callback gets all 16 bits
 * bufferevent_trigger_event() was given (libevent keeps them in a short):
 * ~0 arrives as CONNECTED alone and then 0xff7f; bits above the
 * BEV_EVENT_* ones get their callback, unchanged. */
static void
test_trigger_event_bits(void **state)
{
    struct event_base *base = *state;
    struct bufferevent *pair[2];
    struct event_log l;
    static const short whats[] = { 0x0100, 0x4000, 0x0800 | BEV_EVENT_EOF };
    size_t i;

    assert_int_equal(bufferevent_pair_new(base, 0, pair), 0);
    bufferevent_setcb(pair[0], NULL, NULL, log_eventcb, &l);

    memset(&l, 0, sizeof(l));
    bufferevent_trigger_event(pair[0], (short)~0, 0);
    assert_int_equal(l.n, 0);
    tu_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.what[0], BEV_EVENT_CONNECTED);
    assert_int_equal((unsigned short)l.what[1], 0xff7f);

    for (i = 0; i < sizeof(whats) / sizeof(whats[0]); i++) {
        memset(&l, 0, sizeof(l));
        bufferevent_trigger_event(pair[0], whats[i],
            i == 1 ? BEV_TRIG_DEFER_CALLBACKS : 0);
        assert_int_equal(l.n, 0);
        tu_loop(base, EVLOOP_NONBLOCK);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.what[0], whats[i]);
    }

    bufferevent_free(pair[0]);
    bufferevent_free(pair[1]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_basic, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_bulk, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_no_copy, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_free_one_side, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_watermarks, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_enable_late, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_finished, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_timeout, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_not_socket, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_free_in_callback, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_trigger_event_bits, tu_setup,
            tu_teardown),
    };

    tu_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

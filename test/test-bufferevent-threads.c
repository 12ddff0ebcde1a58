/*
 * test-bufferevent-threads.c: BEV_OPT_THREADSAFE bufferevents (socket,
 * pair, filter, rate-limit group) and LEV_OPT_THREADSAFE listeners used
 * from two threads at once: the loop runs in a second thread while the
 * main thread writes, enables, disables and frees.  Locks are the pthreads
 * ones with lock debugging on, so an unbalanced or unheld lock aborts.
 *
 * TEST-THREADS: labelled "threads"; the TSan build runs it.
 *
 * Public API only.  Against Debian's libevent 2.1.12 two of these
 * deadlock, from bugs we do not copy; with EVTEST_REFERENCE=1 they are
 * skipped:
 *  - test_filter_from_thread: libevent gives a THREADSAFE filter a lock of
 *    its own, separate from the underlying's; a write from one thread
 *    (filter lock, then underlying lock) meets a read in the loop thread
 *    (underlying lock, then filter lock).  Ours shares the underlying's.
 *  - test_listener_threadsafe: evconnlistener_disable()/free() hold the
 *    listener lock while event_del() waits for the accept callback
 *    running in the loop thread, which waits for that lock.  Ours drops
 *    the lock before event_del().
 */
#define _GNU_SOURCE
#include "test-util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

/* ------------------------------------------------------------------ */
/* A loop in another thread                                            */

struct looper {
    struct event_base *base;
    struct event *keepalive;
    pthread_t thread;
};

static void
noop_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

static void *
loop_main(void *arg)
{
    struct looper *l = arg;

    event_base_dispatch(l->base);
    return NULL;
}

static void
looper_start(struct looper *l, struct event_base *base)
{
    struct timeval tv = {3600, 0};

    l->base = base;
    /* Keeps the loop from running out of events. */
    l->keepalive = event_new(base, -1, EV_PERSIST, noop_cb, NULL);
    event_add(l->keepalive, &tv);
    assert_int_equal(pthread_create(&l->thread, NULL, loop_main, l), 0);
}

static void
looper_stop(struct looper *l)
{
    event_base_loopexit(l->base, NULL);
    pthread_join(l->thread, NULL);
    event_free(l->keepalive);
}

/* Polls cond (read under mutex) for up to ms. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static size_t
locked_read(const size_t *p)
{
    size_t v;

    pthread_mutex_lock(&mu);
    v = *p;
    pthread_mutex_unlock(&mu);
    return v;
}

static void
wait_for(const size_t *p, size_t want, long ms)
{
    struct timeval start;

    tu_now(&start);
    while (locked_read(p) < want && tu_ms_since(&start) < ms)
        tu_sleep_ms(2);
}

/* ------------------------------------------------------------------ */
/* Readers that check a byte sequence                                  */

struct seq {
    size_t n;     /* bytes received (under mu) */
    int bad;      /* a byte out of sequence */
};

static void
seq_readcb(struct bufferevent *bev, void *arg)
{
    struct seq *s = arg;
    unsigned char buf[4096];
    size_t n, i;

    while ((n = bufferevent_read(bev, buf, sizeof(buf))) > 0) {
        pthread_mutex_lock(&mu);
        for (i = 0; i < n; ++i)
            if (buf[i] != (unsigned char)((s->n + i) % 251))
                s->bad = 1;
        s->n += n;
        pthread_mutex_unlock(&mu);
    }
}

#define CHUNK 1000
#define N_CHUNKS 1000

/* The main thread writes while the loop thread sends and reads. */
static void
write_sequence(struct bufferevent *bev)
{
    unsigned char buf[CHUNK];
    size_t off = 0;
    int i, j;

    for (i = 0; i < N_CHUNKS; ++i) {
        for (j = 0; j < CHUNK; ++j)
            buf[j] = (unsigned char)((off + (size_t)j) % 251);
        off += CHUNK;
        assert_int_equal(bufferevent_write(bev, buf, CHUNK), 0);
        if (i % 100 == 0)
            sched_yield();
    }
}

static void
test_socket_writes_from_thread(void **state)
{
    struct event_base *base = *state;
    struct looper l;
    evutil_socket_t fds[2];
    struct bufferevent *a, *b;
    struct seq s = {0, 0};

    tu_socketpair(fds);
    a = bufferevent_socket_new(base, fds[0],
        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_THREADSAFE);
    b = bufferevent_socket_new(base, fds[1],
        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_THREADSAFE | BEV_OPT_DEFER_CALLBACKS);
    assert_non_null(a);
    assert_non_null(b);
    bufferevent_setcb(b, seq_readcb, NULL, NULL, &s);
    bufferevent_enable(b, EV_READ);
    looper_start(&l, base);
    write_sequence(a);
    /* Toggle reading from here while data flows. */
    bufferevent_disable(b, EV_READ);
    bufferevent_enable(b, EV_READ);
    wait_for(&s.n, CHUNK * N_CHUNKS, 10000);
    bufferevent_free(a);
    bufferevent_free(b);
    looper_stop(&l);
    assert_int_equal(s.n, CHUNK * N_CHUNKS);
    assert_int_equal(s.bad, 0);
}

static void
test_pair_from_thread(void **state)
{
    struct event_base *base = *state;
    struct looper l;
    struct bufferevent *pair[2];
    struct seq s = {0, 0};

    assert_int_equal(bufferevent_pair_new(base, BEV_OPT_THREADSAFE, pair), 0);
    bufferevent_setcb(pair[1], seq_readcb, NULL, NULL, &s);
    bufferevent_setwatermark(pair[1], EV_READ, 0, 10000);
    bufferevent_enable(pair[1], EV_READ);
    looper_start(&l, base);
    write_sequence(pair[0]);
    wait_for(&s.n, CHUNK * N_CHUNKS, 10000);
    /* Free one half while the loop may run the other's callbacks. */
    bufferevent_free(pair[1]);
    bufferevent_free(pair[0]);
    looper_stop(&l);
    assert_int_equal(s.n, CHUNK * N_CHUNKS);
    assert_int_equal(s.bad, 0);
}

static enum bufferevent_filter_result
xor_filter(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t lim,
    enum bufferevent_flush_mode mode, void *ctx)
{
    unsigned char buf[4096];
    size_t n, i;

    (void)mode;
    (void)ctx;
    n = evbuffer_get_length(src);
    if (lim >= 0 && n > (size_t)lim)
        n = (size_t)lim;
    if (n > sizeof(buf))
        n = sizeof(buf);
    if (n == 0)
        return BEV_NEED_MORE;
    evbuffer_remove(src, buf, n);
    for (i = 0; i < n; ++i)
        buf[i] ^= 0x5a;
    evbuffer_add(dst, buf, n);
    return BEV_OK;
}

/* Filters on both ends undo each other. */
static void
test_filter_from_thread(void **state)
{
    struct event_base *base = *state;
    struct looper l;
    evutil_socket_t fds[2];
    struct bufferevent *a, *b, *fa, *fb;
    struct seq s = {0, 0};

    if (getenv("EVTEST_REFERENCE"))
        skip();
    tu_socketpair(fds);
    a = bufferevent_socket_new(base, fds[0],
        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_THREADSAFE);
    b = bufferevent_socket_new(base, fds[1],
        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_THREADSAFE);
    fa = bufferevent_filter_new(a, xor_filter, xor_filter,
        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_THREADSAFE, NULL, NULL);
    fb = bufferevent_filter_new(b, xor_filter, xor_filter,
        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_THREADSAFE, NULL, NULL);
    assert_non_null(fa);
    assert_non_null(fb);
    bufferevent_setcb(fb, seq_readcb, NULL, NULL, &s);
    bufferevent_enable(fb, EV_READ);
    looper_start(&l, base);
    write_sequence(fa);
    wait_for(&s.n, CHUNK * N_CHUNKS, 10000);
    bufferevent_free(fa);
    bufferevent_free(fb);
    looper_stop(&l);
    assert_int_equal(s.n, CHUNK * N_CHUNKS);
    assert_int_equal(s.bad, 0);
}

/* Group members read in the loop thread while the main thread changes
 * the group and membership. */
static void
test_group_from_thread(void **state)
{
    struct event_base *base = *state;
    struct timeval tick = {0, 20000};
    struct looper l;
    struct ev_token_bucket_cfg *cfg;
    struct bufferevent_rate_limit_group *grp;
    evutil_socket_t fds[3][2];
    struct bufferevent *bev[3];
    struct seq s[3];
    size_t total;
    int i, j;

    cfg = ev_token_bucket_cfg_new(20000, 20000, 20000, 20000, &tick);
    grp = bufferevent_rate_limit_group_new(base, cfg);
    for (i = 0; i < 3; ++i) {
        tu_socketpair(fds[i]);
        memset(&s[i], 0, sizeof(s[i]));
        bev[i] = bufferevent_socket_new(base, fds[i][0],
            BEV_OPT_CLOSE_ON_FREE | BEV_OPT_THREADSAFE);
        bufferevent_setcb(bev[i], seq_readcb, NULL, NULL, &s[i]);
        bufferevent_add_to_rate_limit_group(bev[i], grp);
        bufferevent_enable(bev[i], EV_READ);
    }
    looper_start(&l, base);
    for (j = 0; j < 20; ++j) {
        unsigned char buf[CHUNK];
        for (i = 0; i < 3; ++i) {
            size_t k, off = (size_t)j * CHUNK;
            for (k = 0; k < CHUNK; ++k)
                buf[k] = (unsigned char)((off + k) % 251);
            assert_int_equal(send(fds[i][1], buf, CHUNK, 0), CHUNK);
        }
        if (j == 5)
            bufferevent_remove_from_rate_limit_group(bev[1]);
        if (j == 10)
            bufferevent_add_to_rate_limit_group(bev[1], grp);
        if (j == 15)
            bufferevent_rate_limit_group_set_cfg(grp, cfg);
        tu_sleep_ms(2);
    }
    for (i = 0; i < 3; ++i)
        wait_for(&s[i].n, 20 * CHUNK, 5000);
    total = 0;
    for (i = 0; i < 3; ++i) {
        bufferevent_remove_from_rate_limit_group(bev[i]);
        bufferevent_free(bev[i]);
        total += locked_read(&s[i].n);
        tu_close(&fds[i][1]);
    }
    looper_stop(&l);
    bufferevent_rate_limit_group_free(grp);
    ev_token_bucket_cfg_free(cfg);
    assert_int_equal(total, 3 * 20 * CHUNK);
    for (i = 0; i < 3; ++i)
        assert_int_equal(s[i].bad, 0);
}

/* ------------------------------------------------------------------ */
/* Listener                                                            */

static size_t n_accepted;

static void
count_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int socklen, void *arg)
{
    (void)lev;
    (void)sa;
    (void)socklen;
    (void)arg;
    evutil_closesocket(fd);
    pthread_mutex_lock(&mu);
    n_accepted++;
    pthread_mutex_unlock(&mu);
}

#define N_CLIENTS 200

static void
test_listener_threadsafe(void **state)
{
    struct event_base *base = *state;
    struct looper l;
    struct sockaddr_in sin;
    ev_socklen_t len = sizeof(sin);
    struct evconnlistener *lev;
    int i;

    if (getenv("EVTEST_REFERENCE"))
        skip();
    n_accepted = 0;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lev = evconnlistener_new_bind(base, count_accept_cb, NULL,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_THREADSAFE, 512,
        (struct sockaddr *)&sin, sizeof(sin));
    assert_non_null(lev);
    getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&sin, &len);
    looper_start(&l, base);
    for (i = 0; i < N_CLIENTS; ++i) {
        evutil_socket_t c = socket(AF_INET, SOCK_STREAM, 0);
        assert_int_equal(connect(c, (struct sockaddr *)&sin, sizeof(sin)), 0);
        evutil_closesocket(c);
        /* Flip the listener while connections arrive. */
        if (i % 20 == 10)
            evconnlistener_disable(lev);
        if (i % 20 == 15)
            evconnlistener_enable(lev);
    }
    evconnlistener_enable(lev);
    wait_for(&n_accepted, N_CLIENTS, 10000);
    /* Free it while the loop thread runs. */
    evconnlistener_free(lev);
    looper_stop(&l);
    assert_int_equal(n_accepted, N_CLIENTS);
}

static int
setup(void **state)
{
    return tu_setup(state);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_socket_writes_from_thread, setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_pair_from_thread, setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_filter_from_thread, setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_group_from_thread, setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_listener_threadsafe, setup,
            tu_teardown),
    };

    if (evthread_use_pthreads() != 0)
        return 1;
    evthread_enable_lock_debugging();
    tu_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

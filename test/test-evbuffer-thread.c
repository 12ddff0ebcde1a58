/*
 * test-evbuffer-thread.c: evbuffers shared between threads.
 *
 * TEST-THREADS: run under ThreadSanitizer in the threads build.
 *
 * Locking is switched on with evthread_use_pthreads() and
 * evbuffer_enable_locking().  Producers and consumers hammer one locked
 * buffer with every kind of add and remove; two threads move data between
 * two locked buffers in opposite directions (both locks taken in a fixed
 * order, so this must not deadlock).  In the end every byte is accounted
 * for: the count and the sum of the bytes removed equal those added.
 * Public API only, so it also runs against Debian's libevent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <event2/util.h>

#include "test-util.h"

#define PRODUCERS 2
#define CONSUMERS 2
#define ROUNDS 20000

struct shared {
    struct evbuffer *buf;
    /* Totals, guarded by stats_lock. */
    pthread_mutex_t stats_lock;
    ev_uint64_t added, removed;
    ev_uint64_t sum_added, sum_removed;
    int producers_left;
    int failures;
};

static ev_uint64_t
byte_sum(const unsigned char *p, size_t n)
{
    ev_uint64_t s = 0;
    size_t i;

    for (i = 0; i < n; ++i)
        s += p[i];
    return s;
}

static void
note(struct shared *sh, int adding, const unsigned char *p, size_t n)
{
    pthread_mutex_lock(&sh->stats_lock);
    if (adding) {
        sh->added += n;
        sh->sum_added += byte_sum(p, n);
    } else {
        sh->removed += n;
        sh->sum_removed += byte_sum(p, n);
    }
    pthread_mutex_unlock(&sh->stats_lock);
}

static void
note_failure(struct shared *sh)
{
    pthread_mutex_lock(&sh->stats_lock);
    ++sh->failures;
    pthread_mutex_unlock(&sh->stats_lock);
}

static void *
producer(void *arg)
{
    struct shared *sh = arg;
    unsigned char data[300];
    struct evbuffer_iovec v[2];
    unsigned seed = (unsigned)(uintptr_t)&data;
    int round, k, n;
    size_t len, i;

    for (round = 0; round < ROUNDS; ++round) {
        seed = seed * 1103515245u + 12345u;
        len = 1 + (seed >> 8) % sizeof(data);
        for (i = 0; i < len; ++i)
            data[i] = (unsigned char)(seed >> (i % 24));
        switch (round % 3) {
        case 0:
            if (evbuffer_add(sh->buf, data, len) < 0)
                note_failure(sh);
            else
                note(sh, 1, data, len);
            break;
        case 1:
            /* A reserve/commit pair must not be interleaved with other
             * adds: hold the lock across it. */
            evbuffer_lock(sh->buf);
            n = evbuffer_reserve_space(sh->buf, (ev_ssize_t)len, v, 2);
            if (n < 1) {
                note_failure(sh);
            } else {
                size_t left = len;

                for (k = 0; k < n; ++k) {
                    size_t use = v[k].iov_len < left ? v[k].iov_len : left;

                    memcpy(v[k].iov_base, data + (len - left), use);
                    v[k].iov_len = use;
                    left -= use;
                }
                if (evbuffer_commit_space(sh->buf, v, n) < 0)
                    note_failure(sh);
                else
                    note(sh, 1, data, len);
            }
            evbuffer_unlock(sh->buf);
            break;
        default: {
            struct evbuffer *tmp = evbuffer_new();

            evbuffer_add(tmp, data, len);
            if (evbuffer_add_buffer(sh->buf, tmp) < 0)
                note_failure(sh);
            else
                note(sh, 1, data, len);
            evbuffer_free(tmp);
            break;
        }
        }
    }
    pthread_mutex_lock(&sh->stats_lock);
    --sh->producers_left;
    pthread_mutex_unlock(&sh->stats_lock);
    return NULL;
}

static void *
consumer(void *arg)
{
    struct shared *sh = arg;
    unsigned char data[512];
    unsigned round = 0;
    int n, done;

    for (;;) {
        pthread_mutex_lock(&sh->stats_lock);
        done = sh->producers_left == 0;
        pthread_mutex_unlock(&sh->stats_lock);

        ++round;
        if (round % 2) {
            n = evbuffer_remove(sh->buf, data, 1 + round % sizeof(data));
            if (n > 0)
                note(sh, 0, data, (size_t)n);
        } else {
            /* Copy and drain under the lock, as one step. */
            evbuffer_lock(sh->buf);
            n = (int)evbuffer_copyout(sh->buf, data, sizeof(data) / 2);
            if (n > 0) {
                if (evbuffer_drain(sh->buf, (size_t)n) < 0)
                    note_failure(sh);
                else
                    note(sh, 0, data, (size_t)n);
            }
            evbuffer_unlock(sh->buf);
        }
        if (n <= 0 && done && evbuffer_get_length(sh->buf) == 0)
            break;
    }
    return NULL;
}

static void
test_producers_consumers(void **state)
{
    struct shared sh;
    pthread_t threads[PRODUCERS + CONSUMERS];
    int i;

    (void)state;
    memset(&sh, 0, sizeof(sh));
    pthread_mutex_init(&sh.stats_lock, NULL);
    sh.buf = evbuffer_new();
    assert_non_null(sh.buf);
    assert_int_equal(evbuffer_enable_locking(sh.buf, NULL), 0);
    /* Only once. */
    assert_int_equal(evbuffer_enable_locking(sh.buf, NULL), -1);
    sh.producers_left = PRODUCERS;

    for (i = 0; i < PRODUCERS; ++i)
        assert_int_equal(
            pthread_create(&threads[i], NULL, producer, &sh), 0);
    for (i = 0; i < CONSUMERS; ++i)
        assert_int_equal(pthread_create(&threads[PRODUCERS + i], NULL,
                             consumer, &sh),
            0);
    for (i = 0; i < PRODUCERS + CONSUMERS; ++i)
        pthread_join(threads[i], NULL);

    assert_int_equal(sh.failures, 0);
    assert_true(sh.added > 0);
    assert_int_equal(sh.added, sh.removed);
    assert_int_equal(sh.sum_added, sh.sum_removed);
    assert_int_equal(evbuffer_get_length(sh.buf), 0);
    evbuffer_free(sh.buf);
    pthread_mutex_destroy(&sh.stats_lock);
}

/* ------------------------------------------------------------------ */

struct pair {
    struct evbuffer *from, *to;
    int rounds;
};

static void *
mover(void *arg)
{
    struct pair *p = arg;
    struct evbuffer *tmp = evbuffer_new();
    int i;

    for (i = 0; i < p->rounds; ++i) {
        switch (i % 4) {
        case 0:
            evbuffer_add_buffer(p->to, p->from);
            break;
        case 1:
            evbuffer_remove_buffer(p->from, p->to, (size_t)(i % 700));
            break;
        case 2:
            evbuffer_prepend_buffer(p->to, p->from);
            break;
        default:
            /* Through a private buffer; the bytes stay accounted for. */
            evbuffer_remove_buffer(p->from, tmp, 100);
            evbuffer_add_buffer(p->to, tmp);
            break;
        }
    }
    evbuffer_free(tmp);
    return NULL;
}

static void
test_cross_moves(void **state)
{
    struct evbuffer *a = evbuffer_new(), *b = evbuffer_new();
    struct pair ab = {NULL, NULL, 20000}, ba = {NULL, NULL, 20000};
    pthread_t t1, t2;
    unsigned char chunk[1000];
    size_t total = 0;
    int i;

    (void)state;
    assert_int_equal(evbuffer_enable_locking(a, NULL), 0);
    assert_int_equal(evbuffer_enable_locking(b, NULL), 0);
    for (i = 0; i < 100; ++i) {
        memset(chunk, i, sizeof(chunk));
        evbuffer_add(i % 2 ? a : b, chunk, sizeof(chunk) - (size_t)i);
        total += sizeof(chunk) - (size_t)i;
    }
    ab.from = a;
    ab.to = b;
    ba.from = b;
    ba.to = a;
    assert_int_equal(pthread_create(&t1, NULL, mover, &ab), 0);
    assert_int_equal(pthread_create(&t2, NULL, mover, &ba), 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_int_equal(evbuffer_get_length(a) + evbuffer_get_length(b), total);
    evbuffer_free(a);
    evbuffer_free(b);
}

/* ------------------------------------------------------------------ */

static void
length_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
    int *ok = arg;

    /* The lock is held (and recursive) while callbacks run. */
    if (evbuffer_get_length(buf) !=
        info->orig_size + info->n_added - info->n_deleted)
        *ok = 0;
}

static void *
adder(void *arg)
{
    struct evbuffer *buf = arg;
    int i;

    for (i = 0; i < 20000; ++i) {
        evbuffer_add(buf, "0123456789", 1 + (size_t)(i % 10));
        evbuffer_drain(buf, (size_t)(i % 7));
    }
    return NULL;
}

static void
test_callbacks_under_lock(void **state)
{
    struct evbuffer *buf = evbuffer_new();
    pthread_t t1, t2;
    int ok = 1;

    (void)state;
    assert_int_equal(evbuffer_enable_locking(buf, NULL), 0);
    evbuffer_add_cb(buf, length_cb, &ok);
    assert_int_equal(pthread_create(&t1, NULL, adder, buf), 0);
    assert_int_equal(pthread_create(&t2, NULL, adder, buf), 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_true(ok);
    evbuffer_free(buf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_producers_consumers,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_cross_moves, tu_setup_nobase,
            tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_callbacks_under_lock,
            tu_setup_nobase, tu_teardown_nobase),
    };

    /* Without lock callbacks there is nothing to lock with. */
    {
        struct evbuffer *buf = evbuffer_new();

        if (evbuffer_enable_locking(buf, NULL) != -1)
            return 1;
        evbuffer_free(buf);
    }
    if (evthread_use_pthreads() < 0)
        return 1;
    tu_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

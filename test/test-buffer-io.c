/*
 * test-buffer-io.c: src/buffer-io.c seen from inside -- which chains
 * evbuffer_read leaves, what a failed allocation costs, and reads with a
 * max_read above the stack area (evbuffer_set_max_read is internal: no
 * program can raise it through libevent 2.1's API).
 *
 * TEST-STATIC (reaches evbuffer-internal.h)
 */
#include "event2/event-config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "evbuffer-internal.h"
#include "test-util.h"

/* Mallocs fail while this is set; the rest pass through. */
static int fail_mallocs;

static void *
t_malloc(size_t sz)
{
    if (fail_mallocs) {
        errno = ENOMEM;
        return NULL;
    }
    return malloc(sz);
}

static void *
t_realloc(void *p, size_t sz)
{
    if (fail_mallocs) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, sz);
}

static void
t_free(void *p)
{
    free(p);
}

static void
fill(unsigned char *p, size_t n, unsigned salt)
{
    size_t i;

    for (i = 0; i < n; ++i)
        p[i] = (unsigned char)(i * 31 + i / 251 + salt);
}

/* A small message into an empty buffer: one chain holding exactly it. */
static void
test_small_read_one_chain(void **state)
{
    struct evbuffer *in = evbuffer_new();
    unsigned char msg[128];
    evutil_socket_t fds[2];

    (void)state;
    assert_non_null(in);
    fill(msg, sizeof(msg), 1);
    tu_socketpair(fds);
    /* Nothing pending: the chain made for the read is given back. */
    assert_int_equal(evbuffer_read(in, fds[1], -1), -1);
    assert_null(in->first);
    assert_int_equal(send(fds[0], (const char *)msg, sizeof(msg), 0),
        (ssize_t)sizeof(msg));
    assert_int_equal(evbuffer_read(in, fds[1], -1), (int)sizeof(msg));
    assert_non_null(in->first);
    assert_ptr_equal(in->first, in->last);
    assert_int_equal(in->first->off, sizeof(msg));
    assert_int_equal(in->total_len, sizeof(msg));
    assert_memory_equal(in->first->buffer + in->first->misalign, msg,
        sizeof(msg));
    evbuffer_free(in);
    tu_close_pair(fds);
}

/* A read into an empty buffer whose chain cannot be made takes nothing
 * from the socket: the next read gets every byte. */
static void
test_read_nomem_loses_nothing(void **state)
{
    struct evbuffer *in = evbuffer_new();
    unsigned char msg[3000];
    evutil_socket_t fds[2];
    size_t total = 0;
    int n;

    (void)state;
    assert_non_null(in);
    fill(msg, sizeof(msg), 2);
    tu_socketpair(fds);
    assert_int_equal(send(fds[0], (const char *)msg, sizeof(msg), 0),
        (ssize_t)sizeof(msg));
    fail_mallocs = 1;
    n = evbuffer_read(in, fds[1], -1);
    fail_mallocs = 0;
    assert_int_equal(n, -1);
    assert_int_equal(evbuffer_get_length(in), 0);
    assert_null(in->first);
    while (total < sizeof(msg)) {
        n = evbuffer_read(in, fds[1], -1);
        assert_true(n > 0);
        total += (size_t)n;
    }
    assert_int_equal(total, sizeof(msg));
    assert_memory_equal(evbuffer_pullup(in, -1), msg, sizeof(msg));
    evbuffer_free(in);
    tu_close_pair(fds);
}

/* max_read above the stack area: an empty buffer takes all of it in one
 * read, in order, and a read that finds nothing leaves no chain. */
static void
test_read_raised_max(void **state)
{
    struct evbuffer *in = evbuffer_new();
    static unsigned char data[20000];
    evutil_socket_t fds[2];
    int n;

    (void)state;
    assert_non_null(in);
    fill(data, sizeof(data), 3);
    tu_socketpair(fds);
    assert_int_equal(evbuffer_set_max_read(in, sizeof(data)), 0);
    assert_int_equal(evbuffer_get_max_read(in), sizeof(data));
    errno = 0;
    assert_int_equal(evbuffer_read(in, fds[1], -1), -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    assert_null(in->first);
    assert_int_equal(evbuffer_get_length(in), 0);

    assert_int_equal(send(fds[0], (const char *)data, sizeof(data), 0),
        (ssize_t)sizeof(data));
    /* A local stream socket hands over everything queued at once. */
    n = evbuffer_read(in, fds[1], -1);
    assert_int_equal(n, (int)sizeof(data));
    assert_int_equal(evbuffer_get_length(in), sizeof(data));
    assert_memory_equal(evbuffer_pullup(in, -1), data, sizeof(data));
    /* And the cap holds: at most max_read per call. */
    assert_int_equal(evbuffer_drain(in, sizeof(data)), 0);
    assert_int_equal(evbuffer_set_max_read(in, 1000), 0);
    assert_int_equal(send(fds[0], (const char *)data, 5000, 0), 5000);
    assert_int_equal(evbuffer_read(in, fds[1], -1), 1000);
    assert_int_equal(evbuffer_read(in, fds[1], 100000), 1000);
    assert_memory_equal(evbuffer_pullup(in, -1), data, 2000);
    /* Refused values. */
    assert_int_equal(evbuffer_set_max_read(in, 0), -1);
    assert_int_equal(evbuffer_get_max_read(in), 1000);
    evbuffer_free(in);
    tu_close_pair(fds);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_read_one_chain),
        cmocka_unit_test(test_read_nomem_loses_nothing),
        cmocka_unit_test(test_read_raised_max),
    };

    event_set_mem_functions(t_malloc, t_realloc, t_free);
    tu_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

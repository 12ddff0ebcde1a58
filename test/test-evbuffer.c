/*
 * test-evbuffer.c: the evbuffer API (event2/buffer.h, buffer_compat.h)
 * through its public interface only, so the same file also runs against
 * Debian's libevent 2.1 to check that it encodes libevent's behaviour.
 *
 *  - random: long sequences of operations (from a fixed seed, then from
 *    EVTEST_SEED if set) applied both to an evbuffer and to a flat array
 *    model; after every operation the length, the whole content
 *    (copyout) and the concatenated peek vectors must equal the model;
 *  - boundaries: buffers made of 1-byte chains (add_reference, or
 *    add_buffer of 1-byte buffers), searched and read line by line at
 *    every offset, for every EOL style;
 *  - one test per feature: references and their cleanup, buffer
 *    references, file segments (mmap, sendfile, read), read/write on
 *    socketpairs, callbacks and their cb_info, deferred callbacks run by
 *    the loop, freezing, huge and negative sizes.
 *
 * Tests of behaviour libevent leaves undefined (reading a buffer that
 * holds sendfile segments) are "extensions": they are skipped when
 * EVTEST_REFERENCE_LIB is set (the run against Debian's library).
 *
 * The Windows cross-build runs it under Wine (test/wine/): file segments
 * are read into memory with pread() there (no mmap, no sendfile), and
 * socket errors are Winsock's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/buffer_compat.h>
#include <event2/event.h>
#include <event2/util.h>

#include "test-util.h"

#define RANDOM_OPS 20000

/* A failed socket read would have blocked. */
#ifdef _WIN32
#define READ_WOULD_BLOCK() (WSAGetLastError() == WSAEWOULDBLOCK)
#else
#define READ_WOULD_BLOCK() (errno == EAGAIN || errno == EWOULDBLOCK)
#endif

/* Huge sizes are refused after malloc fails; under the sanitizers let
 * malloc fail instead of aborting. */
const char *__asan_default_options(void);
const char *__tsan_default_options(void);
const char *
__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}
const char *
__tsan_default_options(void)
{
    return "allocator_may_return_null=1";
}
#define MODEL_MAX (96 * 1024)

/* ------------------------------------------------------------------ */
/* Helpers */

static ev_uint64_t rng_state;

static ev_uint32_t
rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (ev_uint32_t)((rng_state * 2685821657736338717ULL) >> 32);
}

static size_t
rnd_below(size_t n)
{
    return n ? (size_t)rnd() % n : 0;
}

/* Bytes that make searches and line ends likely to hit. */
static void
rnd_fill(unsigned char *p, size_t n)
{
    static const char alphabet[] = "abcab\r\n\r\n\0xyz";
    size_t i;

    for (i = 0; i < n; ++i)
        p[i] = (unsigned char)alphabet[rnd_below(sizeof(alphabet) - 1)];
}

/* A random length, mostly small, sometimes several chains long. */
static size_t
rnd_len(void)
{
    switch (rnd_below(8)) {
    case 0:
        return 0;
    case 1:
    case 2:
    case 3:
        return 1 + rnd_below(16);
    case 4:
    case 5:
        return rnd_below(1200);
    case 6:
        return rnd_below(5000);
    default:
        return rnd_below(20000);
    }
}

static int
reference_lib(void)
{
    return getenv("EVTEST_REFERENCE_LIB") != NULL;
}

/* The whole content of buf, as a malloc'd block (NUL-terminated). */
static unsigned char *
contents(struct evbuffer *buf, size_t *len)
{
    size_t n = evbuffer_get_length(buf);
    unsigned char *p = malloc(n + 1);

    assert_non_null(p);
    assert_int_equal(evbuffer_copyout(buf, p, n), n);
    p[n] = 0;
    if (len)
        *len = n;
    return p;
}

static void
assert_contents(struct evbuffer *buf, const void *expect, size_t len)
{
    size_t n;
    unsigned char *p = contents(buf, &n);

    assert_int_equal(n, len);
    assert_memory_equal(p, expect, len);
    free(p);
}

#define assert_str_contents(buf, s) assert_contents((buf), (s), strlen(s))

/* ------------------------------------------------------------------ */
/* The flat model */

struct model {
    unsigned char *data;
    size_t len, cap;
};

static void
model_reserve(struct model *m, size_t more)
{
    if (m->len + more > m->cap) {
        m->cap = (m->len + more) * 2 + 64;
        m->data = realloc(m->data, m->cap);
        assert_non_null(m->data);
    }
}

static void
model_append(struct model *m, const void *p, size_t n)
{
    model_reserve(m, n);
    if (n)
        memcpy(m->data + m->len, p, n);
    m->len += n;
}

static void
model_prepend(struct model *m, const void *p, size_t n)
{
    model_reserve(m, n + 1);
    memmove(m->data + n, m->data, m->len);
    if (n)
        memcpy(m->data, p, n);
    m->len += n;
}

static void
model_drain(struct model *m, size_t n)
{
    if (n > m->len)
        n = m->len;
    if (n == 0)
        return;
    memmove(m->data, m->data + n, m->len - n);
    m->len -= n;
}

/* Where the EOL of style is at or after start, or -1; sets *eol_len. */
static ev_ssize_t
model_find_eol(const unsigned char *d, size_t len, size_t start, int style,
    size_t *eol_len)
{
    size_t i, j;

    *eol_len = 0;
    for (i = start; i < len; ++i) {
        switch (style) {
        case EVBUFFER_EOL_ANY:
            if (d[i] == '\r' || d[i] == '\n') {
                for (j = i; j < len && (d[j] == '\r' || d[j] == '\n'); ++j)
                    ;
                *eol_len = j - i;
                return (ev_ssize_t)i;
            }
            break;
        case EVBUFFER_EOL_CRLF:
            if (d[i] == '\n') {
                *eol_len = 1;
                return (ev_ssize_t)i;
            }
            if (d[i] == '\r' && i + 1 < len && d[i + 1] == '\n') {
                *eol_len = 2;
                return (ev_ssize_t)i;
            }
            break;
        case EVBUFFER_EOL_CRLF_STRICT:
            if (d[i] == '\r' && i + 1 < len && d[i + 1] == '\n') {
                *eol_len = 2;
                return (ev_ssize_t)i;
            }
            break;
        case EVBUFFER_EOL_LF:
            if (d[i] == '\n') {
                *eol_len = 1;
                return (ev_ssize_t)i;
            }
            break;
        case EVBUFFER_EOL_NUL:
            if (d[i] == '\0') {
                *eol_len = 1;
                return (ev_ssize_t)i;
            }
            break;
        }
    }
    return -1;
}

/* First match of what in [start, end) (match must end by end), or -1. */
static ev_ssize_t
model_search(const unsigned char *d, size_t start, size_t end,
    const void *what, size_t wlen)
{
    size_t i;

    if (wlen == 0)
        return (ev_ssize_t)start;
    for (i = start; i + wlen <= end; ++i) {
        if (!memcmp(d + i, what, wlen))
            return (ev_ssize_t)i;
    }
    return -1;
}

/* Compare buf with the model: length, copyout, peek. */
static void
check_against_model(struct evbuffer *buf, const struct model *m)
{
    struct evbuffer_iovec *vec;
    unsigned char *p;
    size_t off = 0;
    int n, i;

    assert_int_equal(evbuffer_get_length(buf), m->len);
    p = malloc(m->len + 1);
    assert_non_null(p);
    assert_int_equal(evbuffer_copyout(buf, p, m->len + 10), m->len);
    assert_memory_equal(p, m->data, m->len);
    free(p);

    n = evbuffer_peek(buf, -1, NULL, NULL, 0);
    assert_true(n >= 0);
    if (m->len)
        assert_true(n > 0);
    /* One more vector than needed: the extra one must not show data (a
     * cycle in the chain list would). */
    vec = calloc((size_t)n + 1, sizeof(*vec));
    assert_non_null(vec);
    n = evbuffer_peek(buf, -1, NULL, vec, n + 1);
    for (i = 0; i < n; ++i) {
        assert_true(off + vec[i].iov_len <= m->len);
        if (vec[i].iov_len)
            assert_memory_equal(vec[i].iov_base, m->data + off,
                vec[i].iov_len);
        off += vec[i].iov_len;
    }
    assert_int_equal(off, m->len);
    free(vec);

    if (m->len)
        assert_true(evbuffer_get_contiguous_space(buf) > 0);
    assert_true(evbuffer_get_contiguous_space(buf) <= m->len);
}

/* ------------------------------------------------------------------ */
/* Reference memory that counts its cleanups */

static int ref_made, ref_cleaned;
static int simple_cleanups;
static void simple_cleanup(const void *data, size_t len, void *extra);

static void
ref_cleanup(const void *data, size_t len, void *extra)
{
    (void)len;
    assert_ptr_equal(data, extra);
    free(extra);
    ++ref_cleaned;
}

/* Add n bytes of p to buf as a reference to a private copy. */
static int
add_ref_copy(struct evbuffer *buf, const void *p, size_t n)
{
    void *copy = malloc(n ? n : 1);
    int r;

    assert_non_null(copy);
    if (n)
        memcpy(copy, p, n);
    r = evbuffer_add_reference(buf, copy, n, ref_cleanup, copy);
    if (r == 0)
        ++ref_made;
    else
        free(copy);
    return r;
}

/* ------------------------------------------------------------------ */
/* Callback that checks cb_info against the length */

struct cb_check {
    size_t calls;
    size_t added, deleted;
    int bad;
};

static void
check_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct cb_check *c = arg;

    ++c->calls;
    c->added += info->n_added;
    c->deleted += info->n_deleted;
    if (info->orig_size + info->n_added - info->n_deleted !=
        evbuffer_get_length(buf))
        c->bad = 1;
}

/* ------------------------------------------------------------------ */
/* The random test */

static void
random_op(struct evbuffer *buf, struct model *m)
{
    unsigned char *tmp;
    size_t n = rnd_len(), i, got_len;
    struct evbuffer *other;
    struct evbuffer_iovec vec[4];
    struct evbuffer_ptr ptr, end;
    ev_ssize_t r, expect;
    char *line;
    int nv, op = (int)rnd_below(24);

    /* Keep the buffer from growing without bound. */
    if (m->len > MODEL_MAX && op < 12)
        op = 12;

    tmp = malloc(n + 64);
    assert_non_null(tmp);
    rnd_fill(tmp, n);

    switch (op) {
    case 0:
    case 1:
    case 2: /* add */
        assert_int_equal(evbuffer_add(buf, tmp, n), 0);
        model_append(m, tmp, n);
        break;
    case 3: /* prepend */
        assert_int_equal(evbuffer_prepend(buf, tmp, n), 0);
        model_prepend(m, tmp, n);
        break;
    case 4: /* reference */
        assert_int_equal(add_ref_copy(buf, tmp, n), 0);
        model_append(m, tmp, n);
        break;
    case 5: /* reserve + commit part */
        nv = 1 + (int)rnd_below(2);
        /* libevent 2.1.12 aborts on a 2-extent reserve of 0 bytes when
         * the last chain is full (see test_reserve_commit_ext). */
        if (reference_lib() && n == 0)
            n = 1;
        r = evbuffer_reserve_space(buf, (ev_ssize_t)n, vec, nv);
        assert_true(r >= 0 && r <= nv);
        if (n)
            assert_true(r >= 1);
        got_len = 0;
        for (i = 0; i < (size_t)r; ++i)
            got_len += vec[i].iov_len;
        assert_true(got_len >= n);
        /* Fill a prefix of each vector; commit all of them. */
        for (i = 0; i < (size_t)r; ++i) {
            size_t use = rnd_below(vec[i].iov_len + 1);

            if (use > 3000)
                use = 3000;
            rnd_fill(vec[i].iov_base, use);
            vec[i].iov_len = use;
        }
        assert_int_equal(evbuffer_commit_space(buf, vec, (int)r), 0);
        for (i = 0; i < (size_t)r; ++i)
            model_append(m, vec[i].iov_base, vec[i].iov_len);
        break;
    case 6: /* add_buffer from a fresh buffer of pieces */
    case 7: /* prepend_buffer */
        other = evbuffer_new();
        assert_non_null(other);
        {
            struct model om = {NULL, 0, 0};
            int pieces = 1 + (int)rnd_below(3), k;

            for (k = 0; k < pieces; ++k) {
                size_t pn = rnd_len();
                unsigned char *pp = malloc(pn + 1);

                rnd_fill(pp, pn);
                if (rnd_below(2)) {
                    assert_int_equal(evbuffer_add(other, pp, pn), 0);
                } else {
                    assert_int_equal(add_ref_copy(other, pp, pn), 0);
                }
                model_append(&om, pp, pn);
                free(pp);
            }
            if (op == 6) {
                assert_int_equal(evbuffer_add_buffer(buf, other), 0);
                model_append(m, om.data, om.len);
            } else {
                assert_int_equal(evbuffer_prepend_buffer(buf, other), 0);
                model_prepend(m, om.data, om.len);
            }
            assert_int_equal(evbuffer_get_length(other), 0);
            free(om.data);
        }
        evbuffer_free(other);
        break;
    case 8: /* add_buffer_reference of a copy */
        /* libevent 2.1.12 links its chain list into a cycle when the
         * target is empty but holds spare chains (see
         * test_buffer_reference_ext). */
        if (reference_lib() && m->len == 0)
            break;
        other = evbuffer_new();
        assert_non_null(other);
        assert_int_equal(evbuffer_add(other, tmp, n / 2), 0);
        assert_int_equal(evbuffer_add(other, tmp + n / 2, n - n / 2), 0);
        assert_int_equal(evbuffer_add_buffer_reference(buf, other), 0);
        model_append(m, tmp, n);
        assert_int_equal(evbuffer_get_length(other), n);
        /* The source may go away or change: the data stays. */
        if (rnd_below(2))
            evbuffer_drain(other, rnd_below(n + 1));
        evbuffer_free(other);
        break;
    case 9: /* printf */
        tmp[n] = 0;
        for (i = 0; i < n; ++i)
            if (tmp[i] == 0)
                tmp[i] = 'z';
        r = evbuffer_add_printf(buf, "%s|%d", (char *)tmp, (int)n);
        {
            char tail[32];
            int tl = snprintf(tail, sizeof(tail), "|%d", (int)n);

            assert_int_equal(r, (ev_ssize_t)n + tl);
            model_append(m, tmp, n);
            model_append(m, tail, (size_t)tl);
        }
        break;
    case 10: /* iovec */
        vec[0].iov_base = tmp;
        vec[0].iov_len = n / 3;
        vec[1].iov_base = tmp + n / 3;
        vec[1].iov_len = n - n / 3;
        assert_int_equal(evbuffer_add_iovec(buf, vec, 2), n);
        model_append(m, tmp, n);
        break;
    case 11: /* expand */
        assert_int_equal(evbuffer_expand(buf, n), 0);
        break;
    case 12:
    case 13: /* drain */
        n = rnd_below(m->len + 20);
        assert_int_equal(evbuffer_drain(buf, n), 0);
        model_drain(m, n);
        break;
    case 14: /* remove */
        n = rnd_below(m->len + 20);
        tmp = realloc(tmp, n + 1);
        r = evbuffer_remove(buf, tmp, n);
        expect = (ev_ssize_t)(n < m->len ? n : m->len);
        assert_int_equal(r, expect);
        assert_memory_equal(tmp, m->data, (size_t)expect);
        model_drain(m, (size_t)expect);
        break;
    case 15: /* remove_buffer, then maybe put it back at the end */
        other = evbuffer_new();
        assert_non_null(other);
        if (rnd_below(2))
            assert_int_equal(evbuffer_add(other, "pre", 3), 0);
        n = rnd_below(m->len + 20);
        r = evbuffer_remove_buffer(buf, other, n);
        expect = (ev_ssize_t)(n < m->len ? n : m->len);
        assert_int_equal(r, expect);
        {
            size_t ol;
            unsigned char *oc = contents(other, &ol);
            size_t pre = ol - (size_t)expect;

            assert_memory_equal(oc + pre, m->data, (size_t)expect);
            model_drain(m, (size_t)expect);
            if (rnd_below(2)) {
                assert_int_equal(evbuffer_add_buffer(buf, other), 0);
                model_append(m, oc, ol);
            }
            free(oc);
        }
        evbuffer_free(other);
        break;
    case 16: /* pullup */
        r = (ev_ssize_t)rnd_below(m->len + 10);
        if (rnd_below(4) == 0)
            r = -1;
        {
            unsigned char *p = evbuffer_pullup(buf, r);
            size_t want = r < 0 ? m->len : (size_t)r;

            if (want == 0 || want > m->len) {
                assert_null(p);
            } else {
                assert_non_null(p);
                assert_memory_equal(p, m->data, want);
                assert_true(evbuffer_get_contiguous_space(buf) >= want);
            }
        }
        break;
    case 17: /* copyout_from at a position */
        n = rnd_below(m->len + 1);
        assert_int_equal(evbuffer_ptr_set(buf, &ptr, n, EVBUFFER_PTR_SET), 0);
        assert_int_equal(ptr.pos, n);
        i = rnd_below(m->len + 10);
        tmp = realloc(tmp, i + 1);
        r = evbuffer_copyout_from(buf, &ptr, tmp, i);
        expect = (ev_ssize_t)(i < m->len - n ? i : m->len - n);
        assert_int_equal(r, expect);
        assert_memory_equal(tmp, m->data + n, (size_t)expect);
        break;
    case 18:
    case 19: /* search / search_range */
        if (m->len && rnd_below(3)) {
            size_t at = rnd_below(m->len);

            n = 1 + rnd_below(m->len - at < 12 ? m->len - at : 12);
            memcpy(tmp, m->data + at, n);
        } else {
            n = 1 + rnd_below(4);
            rnd_fill(tmp, n);
        }
        {
            size_t s = rnd_below(m->len + 1), e = m->len;

            assert_int_equal(
                evbuffer_ptr_set(buf, &ptr, s, EVBUFFER_PTR_SET), 0);
            if (op == 19) {
                e = s + rnd_below(m->len - s + 1);
                assert_int_equal(
                    evbuffer_ptr_set(buf, &end, e, EVBUFFER_PTR_SET), 0);
                ptr = evbuffer_search_range(buf, (char *)tmp, n, &ptr, &end);
            } else {
                ptr = evbuffer_search(buf, (char *)tmp, n, &ptr);
            }
            expect = model_search(m->data, s, e, tmp, n);
            assert_int_equal(ptr.pos, expect);
            if (expect >= 0) {
                /* The result is usable as a position. */
                unsigned char c;

                assert_int_equal(evbuffer_copyout_from(buf, &ptr, &c, 1), 1);
                assert_int_equal(c, m->data[expect]);
            }
        }
        break;
    case 20: /* search_eol */
        {
            int style = (int)rnd_below(5);
            size_t s = rnd_below(m->len + 1), el, mel;

            assert_int_equal(
                evbuffer_ptr_set(buf, &ptr, s, EVBUFFER_PTR_SET), 0);
            ptr = evbuffer_search_eol(buf, &ptr, &el, style);
            expect = model_find_eol(m->data, m->len, s, style, &mel);
            assert_int_equal(ptr.pos, expect);
            assert_int_equal(el, mel);
        }
        break;
    case 21: /* readln */
        {
            int style = (int)rnd_below(5);
            size_t got = 12345, mel;

            expect = model_find_eol(m->data, m->len, 0, style, &mel);
            line = evbuffer_readln(buf, &got, style);
            if (expect < 0) {
                assert_null(line);
                assert_int_equal(got, 0);
            } else {
                assert_non_null(line);
                assert_int_equal(got, expect);
                assert_memory_equal(line, m->data, (size_t)expect);
                assert_int_equal(line[expect], 0);
                model_drain(m, (size_t)expect + mel);
                free(line);
            }
        }
        break;
    case 22: /* peek with a length and few vectors */
        {
            ev_ssize_t want = (ev_ssize_t)rnd_below(m->len + 5);
            size_t covered = 0;
            int need, k;

            need = evbuffer_peek(buf, want, NULL, NULL, 0);
            nv = evbuffer_peek(buf, want, NULL, vec, 4);
            assert_int_equal(nv, need);
            for (k = 0; k < nv && k < 4; ++k) {
                assert_memory_equal(vec[k].iov_base, m->data + covered,
                    vec[k].iov_len);
                covered += vec[k].iov_len;
            }
            if (nv <= 4)
                assert_true(covered >= ((size_t)want < m->len ? (size_t)want
                                                              : m->len));
        }
        break;
    default: /* ptr_set ADD walk and copy one byte */
        if (m->len == 0)
            break;
        assert_int_equal(evbuffer_ptr_set(buf, &ptr, 0, EVBUFFER_PTR_SET), 0);
        n = rnd_below(m->len);
        assert_int_equal(evbuffer_ptr_set(buf, &ptr, n, EVBUFFER_PTR_ADD), 0);
        {
            unsigned char c;

            assert_int_equal(evbuffer_copyout_from(buf, &ptr, &c, 1), 1);
            assert_int_equal(c, m->data[n]);
        }
        break;
    }
    free(tmp);
}

static void
run_random(ev_uint64_t seed, int ops)
{
    struct evbuffer *buf = evbuffer_new();
    struct model m = {NULL, 0, 0};
    struct cb_check cbc = {0, 0, 0, 0};
    int i;

    assert_non_null(buf);
    assert_non_null(evbuffer_add_cb(buf, check_cb, &cbc));
    ref_made = ref_cleaned = 0;
    rng_state = seed ? seed : 88172645463325252ULL;
    for (i = 0; i < ops; ++i) {
        random_op(buf, &m);
        check_against_model(buf, &m);
    }
    assert_false(cbc.bad);
    assert_int_equal(cbc.added - cbc.deleted, m.len);
    evbuffer_free(buf);
    /* Every reference was released exactly once. */
    assert_int_equal(ref_made, ref_cleaned);
    free(m.data);
}

static void
test_random_fixed(void **state)
{
    (void)state;
    run_random(0x5eed1234abcdULL, RANDOM_OPS);
}

static void
test_random_env(void **state)
{
    const char *s = getenv("EVTEST_SEED");
    ev_uint64_t seed;

    (void)state;
    if (s == NULL || !*s)
        seed = (ev_uint64_t)time(NULL);
    else
        seed = strtoull(s, NULL, 0);
    print_message("evbuffer random seed: EVTEST_SEED=%llu\n",
        (unsigned long long)seed);
    run_random(seed, RANDOM_OPS / 2);
}

/* ------------------------------------------------------------------ */
/* Boundaries: buffers of 1-byte chains */

/* A buffer holding s in chains of one byte each. */
static struct evbuffer *
split_buffer(const char *s, size_t len, int how)
{
    struct evbuffer *buf = evbuffer_new(), *one;
    size_t i;

    assert_non_null(buf);
    for (i = 0; i < len; ++i) {
        if (how == 0) {
            assert_int_equal(evbuffer_add_reference(buf, s + i, 1, NULL,
                                 NULL),
                0);
        } else {
            one = evbuffer_new();
            assert_int_equal(evbuffer_add(one, s + i, 1), 0);
            assert_int_equal(evbuffer_add_buffer(buf, one), 0);
            evbuffer_free(one);
        }
    }
    if (len > 1)
        assert_true(evbuffer_get_contiguous_space(buf) <= 1);
    return buf;
}

static void
test_search_boundaries(void **state)
{
    static const char text[] = "ab\r\nabc\nab\r\r\n\0xaab\nabcab\r";
    const size_t len = sizeof(text) - 1;
    struct evbuffer *buf;
    struct evbuffer_ptr start, end, p;
    size_t s, e, nl, wl, el, mel;
    int how, style;
    ev_ssize_t expect;

    (void)state;
    for (how = 0; how < 2; ++how) {
        buf = split_buffer(text, len, how);
        assert_int_equal(evbuffer_peek(buf, -1, NULL, NULL, 0), len);
        for (s = 0; s <= len; ++s) {
            assert_int_equal(
                evbuffer_ptr_set(buf, &start, s, EVBUFFER_PTR_SET), 0);
            /* Every substring of the text, from every start. */
            for (nl = 0; nl < len; ++nl) {
                for (wl = 1; wl <= 5 && nl + wl <= len; ++wl) {
                    p = evbuffer_search(buf, text + nl, wl, &start);
                    expect = model_search((const unsigned char *)text, s,
                        len, text + nl, wl);
                    assert_int_equal(p.pos, expect);
                    for (e = s; e <= len; e += 3) {
                        assert_int_equal(evbuffer_ptr_set(buf, &end, e,
                                             EVBUFFER_PTR_SET),
                            0);
                        p = evbuffer_search_range(buf, text + nl, wl, &start,
                            &end);
                        expect = model_search((const unsigned char *)text, s,
                            e, text + nl, wl);
                        assert_int_equal(p.pos, expect);
                    }
                }
            }
            for (style = 0; style <= EVBUFFER_EOL_NUL; ++style) {
                p = evbuffer_search_eol(buf, &start, &el, style);
                expect = model_find_eol((const unsigned char *)text, len, s,
                    style, &mel);
                assert_int_equal(p.pos, expect);
                assert_int_equal(el, mel);
            }
        }
        /* The empty needle is found where the search starts. */
        assert_int_equal(
            evbuffer_ptr_set(buf, &start, 3, EVBUFFER_PTR_SET), 0);
        p = evbuffer_search(buf, "", 0, &start);
        assert_int_equal(p.pos, 3);
        p = evbuffer_search(buf, "", 0, NULL);
        assert_int_equal(p.pos, 0);
        /* A needle longer than the rest, and one absent. */
        p = evbuffer_search(buf, "abcab\r\n", 7, NULL);
        assert_int_equal(p.pos, -1);
        p = evbuffer_search(buf, "q", 1, NULL);
        assert_int_equal(p.pos, -1);
        evbuffer_free(buf);
    }
}

static void
test_readln_boundaries(void **state)
{
    static const char text[] = "one\r\ntwo\nthree\r\r\n\r\nfour\0five\n\r";
    const size_t len = sizeof(text) - 1;
    struct evbuffer *buf;
    struct model m = {NULL, 0, 0};
    int how, style;
    size_t got, mel;
    ev_ssize_t expect;
    char *line;

    (void)state;
    for (style = 0; style <= EVBUFFER_EOL_NUL; ++style) {
        for (how = 0; how < 2; ++how) {
            buf = split_buffer(text, len, how);
            m.len = 0;
            model_append(&m, text, len);
            for (;;) {
                expect = model_find_eol(m.data, m.len, 0, style, &mel);
                line = evbuffer_readln(buf, &got, style);
                if (expect < 0) {
                    assert_null(line);
                    break;
                }
                assert_non_null(line);
                assert_int_equal(got, expect);
                assert_memory_equal(line, m.data, got);
                free(line);
                model_drain(&m, (size_t)expect + mel);
                assert_int_equal(evbuffer_get_length(buf), m.len);
            }
            assert_contents(buf, m.data, m.len);
            evbuffer_free(buf);
        }
    }
    free(m.data);
}

/* ------------------------------------------------------------------ */
/* Line ends */

static void
check_lines(enum evbuffer_eol_style style, const char *in, size_t inlen,
    const char *const *lines, const char *rest)
{
    struct evbuffer *buf = evbuffer_new();
    size_t n;
    char *line;
    int i;

    assert_int_equal(evbuffer_add(buf, in, inlen), 0);
    for (i = 0; lines[i]; ++i) {
        line = evbuffer_readln(buf, &n, style);
        assert_non_null(line);
        assert_string_equal(line, lines[i]);
        assert_int_equal(n, strlen(lines[i]));
        free(line);
    }
    n = 99;
    assert_null(evbuffer_readln(buf, &n, style));
    assert_int_equal(n, 0);
    assert_str_contents(buf, rest);
    evbuffer_free(buf);
}

static void
test_eol_styles(void **state)
{
    static const char in[] = "a\r\nb\n\nc\r\r\nd\re\n\r";
    static const char *const any[] = {"a", "b", "c", "d", "e", NULL};
    static const char *const crlf[] = {"a", "b", "", "c\r", "d\re", NULL};
    static const char *const strict[] = {"a", "b\n\nc\r", NULL};
    static const char *const lf[] = {"a\r", "b", "", "c\r\r", "d\re", NULL};
    static const char nul_in[] = "x\0\0yz\0w";
    static const char *const nul[] = {"x", "", "yz", NULL};
    struct evbuffer *buf;
    char *line;

    (void)state;
    check_lines(EVBUFFER_EOL_ANY, in, sizeof(in) - 1, any, "");
    check_lines(EVBUFFER_EOL_CRLF, in, sizeof(in) - 1, crlf, "\r");
    check_lines(EVBUFFER_EOL_CRLF_STRICT, in, sizeof(in) - 1, strict,
        "d\re\n\r");
    check_lines(EVBUFFER_EOL_LF, in, sizeof(in) - 1, lf, "\r");
    check_lines(EVBUFFER_EOL_NUL, nul_in, sizeof(nul_in) - 1, nul, "w");

    /* A CR at the very end is not (yet) a CRLF line end. */
    buf = evbuffer_new();
    evbuffer_add(buf, "abc\r", 4);
    assert_null(evbuffer_readln(buf, NULL, EVBUFFER_EOL_CRLF));
    assert_null(evbuffer_readln(buf, NULL, EVBUFFER_EOL_CRLF_STRICT));
    evbuffer_add(buf, "\n", 1);
    line = evbuffer_readln(buf, NULL, EVBUFFER_EOL_CRLF_STRICT);
    assert_string_equal(line, "abc");
    free(line);
    assert_int_equal(evbuffer_get_length(buf), 0);
    /* An unknown style finds nothing. */
    evbuffer_add(buf, "x\n", 2);
    assert_null(evbuffer_readln(buf, NULL, (enum evbuffer_eol_style)42));
    /* The compat reader is EOL_ANY. */
    evbuffer_add(buf, "\r\ny\r\n", 5);
    line = evbuffer_readline(buf);
    assert_string_equal(line, "x");
    free(line);
    line = evbuffer_readline(buf);
    assert_string_equal(line, "y");
    free(line);
    assert_null(evbuffer_readline(buf));
    evbuffer_free(buf);
}

/* ------------------------------------------------------------------ */
/* Basic calls */

static void
test_pullup_peek_ptr(void **state)
{
    struct evbuffer *buf = evbuffer_new();
    struct evbuffer_iovec v[3];
    struct evbuffer_ptr p;
    unsigned char *d;
    int i;

    (void)state;
    assert_null(evbuffer_pullup(buf, -1));
    assert_null(evbuffer_pullup(buf, 0));
    assert_null(evbuffer_pullup(buf, 1));
    assert_int_equal(evbuffer_peek(buf, -1, NULL, NULL, 0), 0);
    assert_int_equal(evbuffer_get_contiguous_space(buf), 0);

    for (i = 0; i < 10; ++i)
        evbuffer_add_reference(buf, "0123456789" + i, 1, NULL, NULL);
    assert_int_equal(evbuffer_peek(buf, -1, NULL, NULL, 0), 10);
    assert_int_equal(evbuffer_peek(buf, 3, NULL, NULL, 0), 3);
    assert_int_equal(evbuffer_peek(buf, 3, NULL, v, 1), 3);
    assert_int_equal(v[0].iov_len, 1);
    assert_int_equal(evbuffer_peek(buf, -1, NULL, v, 3), 3);
    assert_int_equal(evbuffer_ptr_set(buf, &p, 4, EVBUFFER_PTR_SET), 0);
    assert_int_equal(evbuffer_peek(buf, 2, &p, v, 3), 2);
    assert_memory_equal(v[0].iov_base, "4", 1);
    assert_memory_equal(v[1].iov_base, "5", 1);

    assert_null(evbuffer_pullup(buf, 11));
    assert_null(evbuffer_pullup(buf, 0));
    d = evbuffer_pullup(buf, 4);
    assert_non_null(d);
    assert_memory_equal(d, "0123", 4);
    assert_int_equal(evbuffer_get_contiguous_space(buf), 4);
    d = evbuffer_pullup(buf, -1);
    assert_memory_equal(d, "0123456789", 10);
    assert_int_equal(evbuffer_get_contiguous_space(buf), 10);
    assert_int_equal(evbuffer_peek(buf, -1, NULL, NULL, 0), 1);
    assert_ptr_equal(EVBUFFER_DATA(buf), d);
    assert_int_equal(EVBUFFER_LENGTH(buf), 10);

    /* Positions: the end is valid, past it is not. */
    assert_int_equal(evbuffer_ptr_set(buf, &p, 10, EVBUFFER_PTR_SET), 0);
    assert_int_equal(p.pos, 10);
    assert_int_equal(evbuffer_peek(buf, -1, &p, v, 3), 0);
    assert_int_equal(evbuffer_ptr_set(buf, &p, 11, EVBUFFER_PTR_SET), -1);
    assert_int_equal(p.pos, -1);
    assert_int_equal(evbuffer_ptr_set(buf, &p, 5, EVBUFFER_PTR_SET), 0);
    assert_int_equal(evbuffer_ptr_set(buf, &p, 5, EVBUFFER_PTR_ADD), 0);
    assert_int_equal(p.pos, 10);
    assert_int_equal(evbuffer_ptr_set(buf, &p, 1, EVBUFFER_PTR_ADD), -1);
    assert_int_equal(p.pos, -1);

    /* find (compat) makes the match contiguous. */
    evbuffer_add_reference(buf, "abc", 3, NULL, NULL);
    evbuffer_add_reference(buf, "def", 3, NULL, NULL);
    d = evbuffer_find(buf, (const unsigned char *)"cde", 3);
    assert_non_null(d);
    assert_memory_equal(d, "cde", 3);
    assert_null(evbuffer_find(buf, (const unsigned char *)"xyz", 3));
    evbuffer_free(buf);
}

static void
test_reserve_commit(void **state)
{
    struct evbuffer *buf = evbuffer_new();
    struct evbuffer_iovec v[2], w[2];
    int n;

    (void)state;
    assert_int_equal(evbuffer_reserve_space(buf, 100, v, 0), -1);
    n = evbuffer_reserve_space(buf, 100, v, 1);
    assert_int_equal(n, 1);
    assert_true(v[0].iov_len >= 100);
    /* Reserving again hands out the same space. */
    n = evbuffer_reserve_space(buf, 100, w, 1);
    assert_int_equal(n, 1);
    assert_ptr_equal(w[0].iov_base, v[0].iov_base);
    memcpy(v[0].iov_base, "hello", 5);
    v[0].iov_len = 5;
    assert_int_equal(evbuffer_commit_space(buf, v, 1), 0);
    assert_str_contents(buf, "hello");

    /* A stale extent (data was added since) is refused. */
    n = evbuffer_reserve_space(buf, 10, v, 1);
    assert_int_equal(n, 1);
    evbuffer_add(buf, "!", 1);
    v[0].iov_len = 3;
    assert_int_equal(evbuffer_commit_space(buf, v, 1), -1);
    /* Too long, or a wrong pointer, is refused. */
    n = evbuffer_reserve_space(buf, 10, v, 1);
    w[0] = v[0];
    w[0].iov_len += 1;
    assert_int_equal(evbuffer_commit_space(buf, w, 1), -1);
    w[0] = v[0];
    w[0].iov_base = (char *)w[0].iov_base + 1;
    w[0].iov_len = 1;
    assert_int_equal(evbuffer_commit_space(buf, w, 1), -1);
    assert_str_contents(buf, "hello!");
    assert_int_equal(evbuffer_commit_space(buf, v, 0), 0);

    /* Two extents when the last chain is nearly full. */
    n = evbuffer_reserve_space(buf, 1, v, 1);
    v[0].iov_len -= 2;
    memset(v[0].iov_base, 'x', v[0].iov_len);
    assert_int_equal(evbuffer_commit_space(buf, v, 1), 0);
    n = evbuffer_reserve_space(buf, 4000, v, 2);
    assert_int_equal(n, 2);
    assert_int_equal(v[0].iov_len, 2);
    assert_true(v[0].iov_len + v[1].iov_len >= 4000);
    memcpy(v[0].iov_base, "AB", 2);
    memcpy(v[1].iov_base, "CD", 2);
    v[1].iov_len = 2;
    assert_int_equal(evbuffer_commit_space(buf, v, 2), 0);
    {
        size_t len;
        unsigned char *c = contents(buf, &len);

        assert_memory_equal(c + len - 4, "ABCD", 4);
        free(c);
    }

    /* Only the second extent used, in an empty buffer and after data. */
    evbuffer_drain(buf, evbuffer_get_length(buf));
    for (n = 0; n < 2; ++n) {
        int k = evbuffer_reserve_space(buf, 100000, v, 2);

        assert_true(k >= 1);
        if (k == 2) {
            v[0].iov_len = 0;
            memcpy(v[1].iov_base, "second", 6);
            v[1].iov_len = 6;
        } else {
            memcpy(v[0].iov_base, "second", 6);
            v[0].iov_len = 6;
        }
        assert_int_equal(evbuffer_commit_space(buf, v, k), 0);
        evbuffer_add(buf, "+", 1);
        assert_true(evbuffer_get_contiguous_space(buf) >= 6);
    }
    assert_str_contents(buf, "second+second+");
    /* A nearly full chain followed by a reserved chain, both committed
     * in part. */
    evbuffer_drain(buf, evbuffer_get_length(buf));
    n = evbuffer_reserve_space(buf, 10, v, 1);
    v[0].iov_len -= 3;
    memset(v[0].iov_base, 'a', v[0].iov_len);
    assert_int_equal(evbuffer_commit_space(buf, v, 1), 0);
    n = evbuffer_reserve_space(buf, 50000, v, 2);
    assert_int_equal(n, 2);
    v[0].iov_len = 0;
    memset(v[1].iov_base, 'b', 5);
    v[1].iov_len = 5;
    assert_int_equal(evbuffer_commit_space(buf, v, 2), 0);
    evbuffer_add(buf, "c", 1);
    {
        size_t len;
        unsigned char *c = contents(buf, &len);

        assert_memory_equal(c + len - 7, "abbbbbc", 7);
        free(c);
    }
    /* Zero bytes asked for. */
    assert_int_equal(evbuffer_reserve_space(buf, 0, v, 1), 1);
    evbuffer_free(buf);
}

/* Reserving nothing when the last chain is full (libevent 2.1.12 fails
 * an assertion there). */
static void
test_reserve_commit_ext(void **state)
{
    struct evbuffer *buf = evbuffer_new();
    struct evbuffer_iovec v[2];
    int n;

    (void)state;
    if (reference_lib())
        skip();
    n = evbuffer_reserve_space(buf, 1, v, 1);
    assert_int_equal(n, 1);
    memset(v[0].iov_base, 'x', v[0].iov_len);
    assert_int_equal(evbuffer_commit_space(buf, v, 1), 0);
    n = evbuffer_reserve_space(buf, 0, v, 2);
    assert_true(n >= 0 && n <= 2);
    if (n > 0)
        v[0].iov_len = 0;
    assert_int_equal(evbuffer_commit_space(buf, v, n), 0);
    n = evbuffer_reserve_space(buf, 0, v, 1);
    assert_int_equal(n, 1);
    evbuffer_free(buf);
}

/* Reserving with n_vecs >= 2 uses up to n_vecs chains at the end of the
 * buffer, as libevent does: space already there is handed out again (the
 * same pointers); with fewer chains than n_vecs one chain is added for the
 * missing bytes; only when all n_vecs are in use are the empty chains
 * replaced by one that is big enough.  mode 0: nothing committed; 1: one
 * byte committed into the first chain; 2: the first chain filled. */
static void
reserve_many_run(int mode)
{
    struct evbuffer *buf = evbuffer_new();
    struct evbuffer_iovec v[8];
    size_t sz;
    char *cp1, *cp2;
    int n;

    assert_non_null(buf);
    /* The first chain is allocated for the request alone. */
    n = evbuffer_reserve_space(buf, 128, v, 2);
    assert_int_equal(n, 1);
    assert_true(v[0].iov_len >= 128);
    sz = v[0].iov_len;
    cp1 = v[0].iov_base;
    if (mode == 1) {
        *(char *)v[0].iov_base = 'X';
        v[0].iov_len = 1;
        assert_int_equal(evbuffer_commit_space(buf, v, 1), 0);
    } else if (mode == 2) {
        memset(v[0].iov_base, 'X', v[0].iov_len);
        assert_int_equal(evbuffer_commit_space(buf, v, 1), 0);
        /* The full chain has no room: a new one follows it. */
        n = evbuffer_reserve_space(buf, 128, v, 2);
        assert_int_equal(n, 1);
        assert_ptr_not_equal(v[0].iov_base, cp1);
        sz = v[0].iov_len;
        cp1 = v[0].iov_base;
    }

    /* More than the chain holds: it stays, and a second chain joins it. */
    n = evbuffer_reserve_space(buf, (ev_ssize_t)(sz + 128), v, 2);
    assert_int_equal(n, 2);
    assert_true(v[0].iov_len + v[1].iov_len >= sz + 128);
    assert_ptr_equal(v[0].iov_base, cp1 + (mode == 1));
    cp1 = v[0].iov_base;
    cp2 = v[1].iov_base;
    sz = v[0].iov_len + v[1].iov_len;

    /* Room for three extents: both chains stay, a third one is added. */
    n = evbuffer_reserve_space(buf, (ev_ssize_t)(sz + 128), v, 3);
    assert_int_equal(n, 3);
    assert_ptr_equal(v[0].iov_base, cp1);
    assert_ptr_equal(v[1].iov_base, cp2);
    assert_true(v[0].iov_len + v[1].iov_len + v[2].iov_len >= sz + 128);
    sz = v[0].iov_len + v[1].iov_len + v[2].iov_len;

    /* The same in only two extents: the empty chains give way to one big
     * chain, after the chain with data when there is one. */
    n = evbuffer_reserve_space(buf, (ev_ssize_t)(sz + 128), v, 2);
    if (mode == 1) {
        assert_int_equal(n, 2);
        assert_ptr_equal(v[0].iov_base, cp1);
        assert_true(v[0].iov_len + v[1].iov_len >= sz + 128);
    } else {
        assert_int_equal(n, 1);
        assert_true(v[0].iov_len >= sz + 128);
    }

    /* What was committed is all there is. */
    assert_int_equal(evbuffer_get_length(buf),
        mode == 0 ? 0 : mode == 1 ? 1 : evbuffer_get_contiguous_space(buf));
    evbuffer_free(buf);
}

static void
test_reserve_many(void **state)
{
    (void)state;
    reserve_many_run(0);
}

static void
test_reserve_many_after_data(void **state)
{
    (void)state;
    reserve_many_run(1);
}

static void
test_reserve_many_full_first(void **state)
{
    (void)state;
    reserve_many_run(2);
}

/* Three extents committed in several patterns (an unused extent before a
 * used one, only the last one alone, all of them, only the middle one),
 * into an empty buffer and after data: the bytes come out in order and
 * later adds go after them. */
static void
test_reserve_many_commit(void **state)
{
    static const char *const parts[][3] = {
        {"aa", "", "cc"},
        {"", "", "third"},
        {"one", "two", "three"},
        {"", "mid", ""},
    };
    struct evbuffer_iovec v[4];
    size_t p, len, i, exp_len;
    int n, k, pre;

    (void)state;
    for (pre = 0; pre < 2; ++pre) {
        for (p = 0; p < sizeof(parts) / sizeof(parts[0]); ++p) {
            struct evbuffer *buf = evbuffer_new();
            char expect[64];
            unsigned char *c;

            assert_non_null(buf);
            exp_len = 0;
            if (pre) {
                /* A chain with a little room left. */
                n = evbuffer_reserve_space(buf, 1, v, 1);
                assert_int_equal(n, 1);
                v[0].iov_len -= 4;
                memset(v[0].iov_base, 'p', v[0].iov_len);
                assert_int_equal(evbuffer_commit_space(buf, v, 1), 0);
                exp_len = evbuffer_get_length(buf);
            }
            /* Ask for a little more than there is until three chains
             * take part. */
            n = evbuffer_reserve_space(buf, 128, v, 3);
            for (k = 0; k < 3 && n > 0 && n < 3; ++k) {
                size_t have = 0;

                for (i = 0; i < (size_t)n; ++i)
                    have += v[i].iov_len;
                n = evbuffer_reserve_space(buf, (ev_ssize_t)(have + 128), v,
                    3);
            }
            assert_int_equal(n, 3);
            for (i = 0; i < 3; ++i) {
                size_t l = strlen(parts[p][i]);

                assert_true(v[i].iov_len >= l);
                memcpy(v[i].iov_base, parts[p][i], l);
                v[i].iov_len = l;
            }
            if (p == 1) {
                /* Just the last extent, alone. */
                v[0] = v[2];
                k = 1;
            } else {
                k = 3;
            }
            assert_int_equal(evbuffer_commit_space(buf, v, k), 0);
            assert_int_equal(evbuffer_add(buf, "+", 1), 0);

            snprintf(expect, sizeof(expect), "%s%s%s+", parts[p][0],
                parts[p][1], parts[p][2]);
            c = contents(buf, &len);
            assert_int_equal(len, exp_len + strlen(expect));
            for (i = 0; i < exp_len; ++i)
                assert_int_equal(c[i], 'p');
            assert_memory_equal(c + exp_len, expect, strlen(expect));
            free(c);
            /* No empty chain was left in front of data (libevent leaves
             * the unused ones there, which peek shows as empty
             * extents). */
            if (!reference_lib()) {
                n = evbuffer_peek(buf, -1, NULL, v, 4);
                for (k = 0; k < n && k < 4; ++k)
                    assert_true(v[k].iov_len > 0);
            }
            evbuffer_free(buf);
        }
    }
}

static void
test_add_buffer_family(void **state)
{
    struct evbuffer *a = evbuffer_new(), *b = evbuffer_new();

    (void)state;
    evbuffer_add(a, "hello ", 6);
    evbuffer_add(b, "world", 5);
    assert_int_equal(evbuffer_add_buffer(a, b), 0);
    assert_str_contents(a, "hello world");
    assert_int_equal(evbuffer_get_length(b), 0);
    assert_int_equal(evbuffer_add_buffer(a, b), 0);
    assert_int_equal(evbuffer_add_buffer(a, a), 0);
    assert_str_contents(a, "hello world");

    evbuffer_add(b, ">> ", 3);
    assert_int_equal(evbuffer_prepend_buffer(a, b), 0);
    assert_str_contents(a, ">> hello world");
    assert_int_equal(evbuffer_get_length(b), 0);

    assert_int_equal(evbuffer_remove_buffer(a, b, 3), 3);
    assert_str_contents(b, ">> ");
    assert_int_equal(evbuffer_remove_buffer(a, b, 0), 0);
    assert_int_equal(evbuffer_remove_buffer(a, b, 100), 11);
    assert_str_contents(b, ">> hello world");
    assert_int_equal(evbuffer_get_length(a), 0);
    assert_int_equal(evbuffer_remove_buffer(a, b, 100), 0);

    /* Prepending an empty string, then moving part, then adding: the
     * order must hold (libevent issue 774). */
    evbuffer_add_reference(a, "foo", 3, NULL, NULL);
    evbuffer_prepend(a, "", 0);
    evbuffer_drain(b, evbuffer_get_length(b));
    assert_int_equal(evbuffer_remove_buffer(a, b, 1), 1);
    evbuffer_add(a, "bar", 3);
    assert_str_contents(a, "oobar");
    assert_str_contents(b, "f");

    /* Empty add, empty commit and an empty reference, then a prepend:
     * nothing may be lost or reordered (libevent issue 806). */
    {
        struct evbuffer *c = evbuffer_new();
        struct evbuffer_iovec v[2];

        simple_cleanups = 0;
        evbuffer_add(c, "", 0);
        assert_int_equal(evbuffer_reserve_space(c, 16, v, 2) >= 1, 1);
        v[0].iov_len = 0;
        assert_int_equal(evbuffer_commit_space(c, v, 1), 0);
        assert_int_equal(
            evbuffer_add_reference(c, "", 0, simple_cleanup, NULL), 0);
        assert_int_equal(evbuffer_prepend(c, "bbbbb", 5), 0);
        assert_int_equal(evbuffer_add(c, "eeee", 4), 0);
        assert_str_contents(c, "bbbbbeeee");
        assert_int_equal(evbuffer_add_buffer(b, c), 0);
        assert_str_contents(b, "fbbbbbeeee");
        evbuffer_free(c);
        evbuffer_drain(b, 1);
        /* When an empty reference is released varies; that it is released
         * once does not (checked after b is freed). */
        assert_true(simple_cleanups <= 1);
    }

    /* prepend into a buffer with room in front. */
    evbuffer_drain(a, 2);
    evbuffer_prepend(a, "xy", 2);
    evbuffer_prepend(a, "0123456789", 10);
    assert_str_contents(a, "0123456789xybar");
    evbuffer_free(a);
    evbuffer_free(b);
    assert_int_equal(simple_cleanups, 1);
}

static void
test_printf_and_iovec(void **state)
{
    struct evbuffer *buf = evbuffer_new();
    struct evbuffer_iovec v[3];
    char big[10000];

    (void)state;
    assert_int_equal(evbuffer_add_printf(buf, "%d-%s", 42, "x"), 4);
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    assert_int_equal(evbuffer_add_printf(buf, "%s", big), sizeof(big) - 1);
    assert_int_equal(evbuffer_get_length(buf), 4 + sizeof(big) - 1);
    assert_int_equal(evbuffer_add_printf(buf, "%s", ""), 0);
    evbuffer_drain(buf, evbuffer_get_length(buf));

    v[0].iov_base = "ab";
    v[0].iov_len = 2;
    v[1].iov_base = "";
    v[1].iov_len = 0;
    v[2].iov_base = "cde";
    v[2].iov_len = 3;
    assert_int_equal(evbuffer_add_iovec(buf, v, 3), 5);
    assert_int_equal(evbuffer_add_iovec(buf, v, 0), 0);
    assert_str_contents(buf, "abcde");
    evbuffer_free(buf);
}

/* ------------------------------------------------------------------ */
/* References */

static void
simple_cleanup(const void *data, size_t len, void *extra)
{
    (void)data;
    (void)len;
    (void)extra;
    ++simple_cleanups;
}

static void
test_reference_cleanup(void **state)
{
    static const char data[] = "0123456789";
    struct evbuffer *a = evbuffer_new(), *b = evbuffer_new();

    (void)state;
    simple_cleanups = 0;
    assert_int_equal(
        evbuffer_add_reference(a, data, 10, simple_cleanup, NULL), 0);
    evbuffer_drain(a, 4);
    assert_int_equal(simple_cleanups, 0);
    assert_str_contents(a, "456789");
    evbuffer_drain(a, 6);
    assert_int_equal(simple_cleanups, 1);

    /* Moved around and removed piece by piece: still one call. */
    simple_cleanups = 0;
    evbuffer_add(a, "x", 1);
    evbuffer_add_reference(a, data, 10, simple_cleanup, NULL);
    assert_int_equal(evbuffer_remove_buffer(a, b, 5), 5);
    assert_int_equal(evbuffer_add_buffer(b, a), 0);
    assert_str_contents(b, "x0123456789");
    assert_int_equal(simple_cleanups, 0);
    evbuffer_free(b);
    assert_int_equal(simple_cleanups, 1);

    /* Freed with the buffer. */
    simple_cleanups = 0;
    evbuffer_add_reference(a, data, 10, simple_cleanup, NULL);
    evbuffer_free(a);
    assert_int_equal(simple_cleanups, 1);

    /* Pulled up: the copy lets the memory go. */
    simple_cleanups = 0;
    a = evbuffer_new();
    evbuffer_add_reference(a, data, 3, simple_cleanup, NULL);
    evbuffer_add_reference(a, data + 3, 3, simple_cleanup, NULL);
    assert_memory_equal(evbuffer_pullup(a, -1), "012345", 6);
    assert_int_equal(simple_cleanups, 2);
    evbuffer_free(a);
    assert_int_equal(simple_cleanups, 2);
}

static void
test_buffer_reference(void **state)
{
    static const char data[] = "shared bytes";
    struct evbuffer *src = evbuffer_new(), *dst = evbuffer_new();
    struct evbuffer *dst2 = evbuffer_new();

    (void)state;
    simple_cleanups = 0;
    evbuffer_add(src, "plain ", 6);
    evbuffer_add_reference(src, data, 12, simple_cleanup, NULL);
    assert_int_equal(evbuffer_add_buffer_reference(dst, src), 0);
    assert_str_contents(dst, "plain shared bytes");
    assert_str_contents(src, "plain shared bytes");

    /* A buffer holding buffer references cannot be referenced. */
    assert_int_equal(evbuffer_add_buffer_reference(dst2, dst), -1);
    assert_int_equal(evbuffer_get_length(dst2), 0);

    /* Changing the source does not change the copy. */
    evbuffer_drain(src, 8);
    evbuffer_add(src, "!", 1);
    assert_str_contents(dst, "plain shared bytes");
    evbuffer_free(src);
    assert_int_equal(simple_cleanups, 0);
    assert_str_contents(dst, "plain shared bytes");
    evbuffer_drain(dst, 7);
    assert_str_contents(dst, "hared bytes");
    evbuffer_free(dst);
    assert_int_equal(simple_cleanups, 1);
    evbuffer_free(dst2);
}

/* A buffer reference added to an empty buffer that still holds spare
 * chains (libevent 2.1.12 makes a cycle of its chain list there). */
static void
test_buffer_reference_ext(void **state)
{
    struct evbuffer *buf = evbuffer_new(), *other = evbuffer_new();
    struct evbuffer_iovec v[4];
    int n;

    (void)state;
    if (reference_lib())
        skip();
    assert_int_equal(evbuffer_expand(buf, 6), 0);
    evbuffer_add(other, "0123456789", 10);
    assert_int_equal(evbuffer_add_buffer_reference(buf, other), 0);
    n = evbuffer_peek(buf, -1, NULL, v, 4);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].iov_len, 10);
    evbuffer_add(buf, "ab", 2);
    assert_str_contents(buf, "0123456789ab");
    evbuffer_free(other);
    evbuffer_free(buf);
}

/* ------------------------------------------------------------------ */
/* Freezing */

static void
test_freeze(void **state)
{
    struct evbuffer *buf = evbuffer_new(), *other = evbuffer_new();
    struct evbuffer_iovec v[1];
    char tmp[4];
    evutil_socket_t fds[2];

    (void)state;
    evbuffer_add(buf, "abc\ndef", 7);
    evbuffer_add(other, "xyz", 3);

    assert_int_equal(evbuffer_freeze(buf, 0), 0);
    assert_int_equal(evbuffer_add(buf, "x", 1), -1);
    assert_int_equal(evbuffer_add_printf(buf, "x"), -1);
    assert_int_equal(evbuffer_add_reference(buf, "x", 1, NULL, NULL), -1);
    assert_int_equal(evbuffer_reserve_space(buf, 10, v, 1), -1);
    assert_int_equal(evbuffer_add_buffer(buf, other), -1);
    assert_int_equal(evbuffer_remove_buffer(other, buf, 1), -1);
    assert_int_equal(evbuffer_get_length(other), 3);
    /* The front still works. */
    assert_int_equal(evbuffer_prepend(buf, ">", 1), 0);
    assert_int_equal(evbuffer_drain(buf, 1), 0);
    assert_int_equal(evbuffer_unfreeze(buf, 0), 0);
    assert_int_equal(evbuffer_add(buf, "g", 1), 0);

    assert_int_equal(evbuffer_freeze(buf, 1), 0);
    assert_int_equal(evbuffer_drain(buf, 1), -1);
    assert_int_equal(evbuffer_remove(buf, tmp, 1), -1);
    assert_int_equal(evbuffer_copyout(buf, tmp, 1), -1);
    assert_int_equal(evbuffer_prepend(buf, "x", 1), -1);
    assert_null(evbuffer_readln(buf, NULL, EVBUFFER_EOL_LF));
    assert_int_equal(evbuffer_remove_buffer(buf, other, 1), -1);
    assert_int_equal(evbuffer_add_buffer(other, buf), -1);
    tu_socketpair(fds);
    assert_int_equal(evbuffer_write(buf, fds[0]), -1);
    tu_close_pair(fds);
    /* The end still works. */
    assert_int_equal(evbuffer_add(buf, "h", 1), 0);
    assert_int_equal(evbuffer_unfreeze(buf, 1), 0);
    assert_str_contents(buf, "abc\ndefgh");
    evbuffer_free(buf);
    evbuffer_free(other);
}

/* ------------------------------------------------------------------ */
/* Huge and negative sizes */

static void
test_huge_sizes(void **state)
{
    static const char small[] = "tiny";
    struct evbuffer *buf = evbuffer_new(), *other = evbuffer_new();
    struct evbuffer_iovec v[2];
    struct evbuffer_ptr p;
    const size_t big = (size_t)EV_SSIZE_MAX + 1;
    char tmp[16];
    int n;

    (void)state;
    evbuffer_add(buf, "abcdef", 6);
    assert_int_equal(evbuffer_add(buf, small, EV_SIZE_MAX), -1);
    assert_int_equal(evbuffer_add(buf, small, EV_SIZE_MAX - 3), -1);
    assert_int_equal(evbuffer_prepend(buf, small, EV_SIZE_MAX), -1);
    assert_int_equal(evbuffer_prepend(buf, small, EV_SIZE_MAX - 3), -1);
    assert_int_equal(evbuffer_expand(buf, EV_SIZE_MAX), -1);
    assert_int_equal(evbuffer_expand(buf, EV_SIZE_MAX - 3), -1);
    assert_int_equal(evbuffer_expand(buf, big), -1);
    assert_int_equal(evbuffer_reserve_space(buf, -1, v, 1), -1);
    assert_int_equal(evbuffer_reserve_space(buf, EV_SSIZE_MAX, v, 1), -1);
    assert_int_equal(evbuffer_reserve_space(buf, EV_SSIZE_MAX, v, 2), -1);
    assert_int_equal(evbuffer_reserve_space(buf, EV_SSIZE_MAX - 100, v, 2),
        -1);
    assert_null(evbuffer_pullup(buf, EV_SSIZE_MAX));
    assert_int_equal(evbuffer_get_length(buf), 6);

    /* Oversized reads are capped to what there is. */
    assert_int_equal(evbuffer_copyout(buf, tmp, EV_SIZE_MAX), 6);
    assert_int_equal(evbuffer_ptr_set(buf, &p, 2, EVBUFFER_PTR_SET), 0);
    assert_int_equal(evbuffer_copyout_from(buf, &p, tmp, 100), 4);
    /* libevent refuses a length that would overflow the position. */
    assert_int_equal(evbuffer_copyout_from(buf, &p, tmp, EV_SIZE_MAX), -1);
    assert_int_equal(evbuffer_ptr_set(buf, &p, EV_SIZE_MAX, EVBUFFER_PTR_ADD),
        -1);
    assert_int_equal(evbuffer_ptr_set(buf, &p, EV_SIZE_MAX, EVBUFFER_PTR_SET),
        -1);
    assert_int_equal(evbuffer_ptr_set(buf, &p, big, EVBUFFER_PTR_SET), -1);

    /* A commit longer than the reserved space. */
    n = evbuffer_reserve_space(buf, 10, v, 1);
    assert_int_equal(n, 1);
    v[0].iov_len = EV_SIZE_MAX;
    assert_int_equal(evbuffer_commit_space(buf, v, 1), -1);

    assert_int_equal(evbuffer_remove(buf, tmp, EV_SIZE_MAX), 6);
    assert_memory_equal(tmp, "abcdef", 6);
    evbuffer_add(buf, "abcdef", 6);
    assert_int_equal(evbuffer_remove_buffer(buf, other, EV_SIZE_MAX), 6);
    assert_int_equal(evbuffer_drain(other, EV_SIZE_MAX), 0);
    assert_int_equal(evbuffer_get_length(other), 0);
    evbuffer_free(buf);
    evbuffer_free(other);
}

/* Overflows libevent 2.1 does not check for; ours refuse them. */
static void
test_huge_sizes_ext(void **state)
{
    static const char small[] = "tiny";
    struct evbuffer *buf = evbuffer_new();
    struct evbuffer_iovec v[2];
    struct evbuffer_ptr p;

    (void)state;
    if (reference_lib())
        skip();
    evbuffer_add(buf, "abcdef", 6);
    assert_int_equal(
        evbuffer_add_reference(buf, small, EV_SIZE_MAX, NULL, NULL), -1);
    assert_int_equal(evbuffer_add_reference(buf, small,
                         (size_t)EV_SSIZE_MAX + 1, NULL, NULL),
        -1);
    v[0].iov_base = (void *)small;
    v[0].iov_len = EV_SIZE_MAX;
    v[1].iov_base = (void *)small;
    v[1].iov_len = 2;
    assert_int_equal(evbuffer_add_iovec(buf, v, 2), 0);
    assert_int_equal(evbuffer_add(buf, NULL, 3), -1);
    assert_int_equal(evbuffer_get_length(buf), 6);
    /* libevent 2.1 reports a needle longer than EV_SSIZE_MAX as found at
     * the start. */
    p = evbuffer_search_range(buf, "abc", EV_SIZE_MAX, NULL, NULL);
    assert_int_equal(p.pos, -1);
    p = evbuffer_search(buf, "abc", (size_t)EV_SSIZE_MAX + 1, NULL);
    assert_int_equal(p.pos, -1);
    evbuffer_free(buf);
}

/* ------------------------------------------------------------------ */
/* Callbacks */

struct obs_record {
    int calls;
    size_t old_len, new_len;
};

static void
obsolete_cb(struct evbuffer *buf, size_t old_len, size_t new_len, void *arg)
{
    struct obs_record *r = arg;

    (void)buf;
    ++r->calls;
    r->old_len = old_len;
    r->new_len = new_len;
}

struct info_record {
    int calls;
    struct evbuffer_cb_info last;
};

static void
info_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct info_record *r = arg;

    (void)buf;
    ++r->calls;
    r->last = *info;
}

static void
self_removing_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
    int *calls = arg;

    (void)info;
    ++*calls;
    evbuffer_remove_cb(buf, self_removing_cb, arg);
}

static void
test_callbacks(void **state)
{
    struct evbuffer *a = evbuffer_new(), *b = evbuffer_new();
    struct info_record ra = {0, {0, 0, 0}}, rb = {0, {0, 0, 0}};
    struct obs_record ro = {0, 0, 0};
    struct evbuffer_cb_entry *ea, *eb;
    int self_calls = 0;

    (void)state;
    ea = evbuffer_add_cb(a, info_cb, &ra);
    eb = evbuffer_add_cb(b, info_cb, &rb);
    assert_non_null(ea);
    assert_non_null(eb);

    evbuffer_add(a, "hello", 5);
    assert_int_equal(ra.calls, 1);
    assert_int_equal(ra.last.orig_size, 0);
    assert_int_equal(ra.last.n_added, 5);
    assert_int_equal(ra.last.n_deleted, 0);

    evbuffer_drain(a, 2);
    assert_int_equal(ra.calls, 2);
    assert_int_equal(ra.last.orig_size, 5);
    assert_int_equal(ra.last.n_added, 0);
    assert_int_equal(ra.last.n_deleted, 2);

    /* Nothing changed: no call. */
    evbuffer_drain(a, 0);
    evbuffer_add(a, "", 0);
    assert_int_equal(ra.calls, 2);

    /* Moving data reports on both sides. */
    evbuffer_add(b, "xy", 2);
    rb.calls = 0;
    evbuffer_add_buffer(b, a);
    assert_int_equal(ra.calls, 3);
    assert_int_equal(ra.last.orig_size, 3);
    assert_int_equal(ra.last.n_deleted, 3);
    assert_int_equal(rb.calls, 1);
    assert_int_equal(rb.last.orig_size, 2);
    assert_int_equal(rb.last.n_added, 3);

    /* Disabled callbacks do not run; changes made meanwhile are not
     * reported later. */
    assert_int_equal(evbuffer_cb_clear_flags(b, eb, EVBUFFER_CB_ENABLED), 0);
    evbuffer_add(b, "zz", 2);
    assert_int_equal(rb.calls, 1);
    assert_int_equal(evbuffer_cb_set_flags(b, eb, EVBUFFER_CB_ENABLED), 0);
    evbuffer_add(b, "w", 1);
    assert_int_equal(rb.calls, 2);
    assert_int_equal(rb.last.orig_size, 7);
    assert_int_equal(rb.last.n_added, 1);

    /* Removing. */
    assert_int_equal(evbuffer_remove_cb_entry(b, eb), 0);
    assert_int_equal(evbuffer_remove_cb(a, info_cb, &rb), -1);
    assert_int_equal(evbuffer_remove_cb(a, info_cb, &ra), 0);
    evbuffer_add(a, "q", 1);
    evbuffer_add(b, "q", 1);
    assert_int_equal(ra.calls, 3);
    assert_int_equal(rb.calls, 2);

    /* The obsolete interface sees old and new lengths, and replaces all
     * callbacks. */
    evbuffer_add_cb(a, info_cb, &ra);
    assert_int_equal(evbuffer_setcb(a, obsolete_cb, &ro), 0);
    evbuffer_add(a, "1234", 4);
    assert_int_equal(ra.calls, 3);
    assert_int_equal(ro.calls, 1);
    assert_int_equal(ro.old_len, 1);
    assert_int_equal(ro.new_len, 5);
    assert_int_equal(evbuffer_setcb(a, NULL, NULL), 0);
    evbuffer_add(a, "5", 1);
    assert_int_equal(ro.calls, 1);

    /* A callback may remove itself. */
    evbuffer_add_cb(a, self_removing_cb, &self_calls);
    evbuffer_add(a, "6", 1);
    evbuffer_add(a, "7", 1);
    assert_int_equal(self_calls, 1);

    evbuffer_free(a);
    evbuffer_free(b);
}

/* Callback order across buffers: each call appends its tag and what it
 * saw to a shared log. */
struct order_log {
    char text[256];
};

struct order_tag {
    struct order_log *log;
    char name;
};

static void
order_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct order_tag *t = arg;
    size_t n = strlen(t->log->text);

    (void)buf;
    snprintf(t->log->text + n, sizeof(t->log->text) - n, "%c+%zu-%zu ",
        t->name, info->n_added, info->n_deleted);
}

/* Differences from libevent 2.1.12 found by test/diff/diff-evbuffer.c,
 * each checked here on its own. */
static void
test_libevent_callback_order(void **state)
{
    struct event_base *base = *state;
    struct evbuffer *a = evbuffer_new(), *b = evbuffer_new();
    struct order_log log;
    struct order_tag ta = {&log, 'a'}, tb = {&log, 'b'};
    size_t n;
    char *line;

    assert_non_null(evbuffer_add_cb(a, order_cb, &ta));
    assert_non_null(evbuffer_add_cb(b, order_cb, &tb));

    /* readln removes the line, then drains its end: two runs, the first
     * left out for an empty line. */
    memset(&log, 0, sizeof(log));
    evbuffer_add(a, "abc\r\n\r\nrest", 11);
    memset(&log, 0, sizeof(log));
    line = evbuffer_readln(a, &n, EVBUFFER_EOL_CRLF);
    assert_string_equal(line, "abc");
    free(line);
    line = evbuffer_readln(a, &n, EVBUFFER_EOL_CRLF);
    assert_string_equal(line, "");
    free(line);
    assert_string_equal(log.text, "a+0-3 a+0-2 a+0-2 ");

    /* remove_buffer of part of the source: the destination's callbacks
     * first; of all of it: the source's first. */
    memset(&log, 0, sizeof(log));
    assert_int_equal(evbuffer_remove_buffer(a, b, 2), 2);
    assert_int_equal(evbuffer_remove_buffer(a, b, 100), 2);
    assert_string_equal(log.text, "b+2-0 a+0-2 a+0-2 b+2-0 ");

    /* Doing nothing on a frozen buffer, or sharing an empty buffer with
     * itself, succeeds. */
    evbuffer_drain(b, evbuffer_get_length(b));
    evbuffer_freeze(b, 1);
    assert_int_equal(evbuffer_prepend(b, "", 0), 0);
    assert_int_equal(evbuffer_prepend(b, "x", 1), -1);
    evbuffer_unfreeze(b, 1);
    assert_int_equal(evbuffer_add_buffer_reference(a, a), 0);
    evbuffer_add(a, "z", 1);
    assert_int_equal(evbuffer_add_buffer_reference(a, a), -1);
    evbuffer_drain(a, 1);

    /* With deferred callbacks, adding nothing schedules the run (so it
     * keeps its place in the queue) and draining an empty buffer does
     * not: a then b here, b then a below. */
    assert_int_equal(evbuffer_defer_callbacks(a, base), 0);
    assert_int_equal(evbuffer_defer_callbacks(b, base), 0);
    memset(&log, 0, sizeof(log));
    evbuffer_add(a, "", 0);
    evbuffer_add(b, "1", 1);
    evbuffer_add(a, "2", 1);
    (void)event_base_loop(base, EVLOOP_NONBLOCK);
    assert_string_equal(log.text, "a+1-0 b+1-0 ");
    evbuffer_drain(a, 1);
    evbuffer_drain(b, 1);
    (void)event_base_loop(base, EVLOOP_NONBLOCK);
    memset(&log, 0, sizeof(log));
    evbuffer_drain(a, 5);
    evbuffer_add(b, "3", 1);
    evbuffer_add(a, "4", 1);
    (void)event_base_loop(base, EVLOOP_NONBLOCK);
    assert_string_equal(log.text, "b+1-0 a+1-0 ");

    evbuffer_free(a);
    evbuffer_free(b);
}

static void
test_deferred_callbacks(void **state)
{
    struct event_base *base = *state;
    struct evbuffer *buf = evbuffer_new(), *gone = evbuffer_new();
    struct info_record r = {0, {0, 0, 0}}, rg = {0, {0, 0, 0}};

    assert_int_equal(evbuffer_defer_callbacks(buf, base), 0);
    evbuffer_add_cb(buf, info_cb, &r);
    evbuffer_add(buf, "abc", 3);
    evbuffer_add(buf, "de", 2);
    evbuffer_drain(buf, 1);
    assert_int_equal(r.calls, 0);
    tu_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.last.orig_size, 0);
    assert_int_equal(r.last.n_added, 5);
    assert_int_equal(r.last.n_deleted, 1);

    evbuffer_add(buf, "f", 1);
    tu_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(r.calls, 2);
    assert_int_equal(r.last.orig_size, 4);
    assert_int_equal(r.last.n_added, 1);

    /* Freeing a buffer with a run pending is safe. */
    assert_int_equal(evbuffer_defer_callbacks(gone, base), 0);
    evbuffer_add_cb(gone, info_cb, &rg);
    evbuffer_add(gone, "x", 1);
    evbuffer_free(gone);
    tu_loop(base, EVLOOP_NONBLOCK);
    evbuffer_free(buf);
}

/* ------------------------------------------------------------------ */
/* Read and write */

static void
test_read_write(void **state)
{
    struct evbuffer *out = evbuffer_new(), *in = evbuffer_new();
    evutil_socket_t fds[2];
    unsigned char data[20000], *got;
    size_t i, total = 0;
    int n;

    (void)state;
#ifndef _WIN32 /* Winsock has no SIGPIPE */
    signal(SIGPIPE, SIG_IGN);
#endif
    tu_socketpair(fds);
    for (i = 0; i < sizeof(data); ++i)
        data[i] = (unsigned char)(i * 7 + i / 256);

    /* Many small chains, more than one writev takes. */
    for (i = 0; i < 300; ++i)
        evbuffer_add_reference(out, data + i * 10, 10, NULL, NULL);
    evbuffer_add(out, data + 3000, 2000);
    n = evbuffer_write_atmost(out, fds[0], 1234);
    assert_int_equal(n, 1234);
    assert_int_equal(evbuffer_get_length(out), 5000 - 1234);
    while (evbuffer_get_length(out) > 0) {
        n = evbuffer_write(out, fds[0]);
        assert_true(n > 0);
    }

    /* Reads are capped at 4096 bytes, and at howmuch. */
    n = evbuffer_read(in, fds[1], 100);
    assert_int_equal(n, 100);
    n = evbuffer_read(in, fds[1], -1);
    assert_int_equal(n, 4096);
    while (total < 5000 - 4196) {
        n = evbuffer_read(in, fds[1], 100000);
        assert_true(n > 0);
        total += (size_t)n;
    }
    assert_int_equal(evbuffer_get_length(in), 5000);
    got = evbuffer_pullup(in, -1);
    assert_memory_equal(got, data, 5000);

    /* Nothing to read: -1 with EAGAIN.  End of file: 0. */
    n = evbuffer_read(in, fds[1], -1);
    assert_int_equal(n, -1);
    assert_true(READ_WOULD_BLOCK());
    shutdown(fds[0], SHUT_WR);
    assert_int_equal(evbuffer_read(in, fds[1], -1), 0);
    assert_int_equal(evbuffer_get_length(in), 5000);

    /* A bad descriptor. */
    assert_int_equal(evbuffer_read(in, -1, 10), -1);
    assert_int_equal(evbuffer_write(in, -1), -1);
    assert_int_equal(evbuffer_get_length(in), 5000);
    tu_close_pair(fds);
    evbuffer_free(out);
    evbuffer_free(in);
}

/* ------------------------------------------------------------------ */
/* File segments */

#ifndef _WIN32
static char file_path[64];
#endif

static int
make_file(size_t len, unsigned char **contents_out)
{
    unsigned char *d = malloc(len);
    size_t i;
    int fd;

    assert_non_null(d);
    /* Scrambled letters: any 8 bytes are (nearly always) unique. */
    for (i = 0; i < len; ++i)
        d[i] = (unsigned char)('A' +
                               ((ev_uint32_t)(i * 2654435761u) >> 7) % 26);
#ifdef _WIN32
    {
        /* An open file cannot be unlinked here: a temporary file that
         * goes away when its last descriptor is closed instead. */
        char dir[MAX_PATH], path[MAX_PATH];

        assert_true(GetTempPathA(sizeof(dir), dir) > 0);
        assert_true(GetTempFileNameA(dir, "teb", 0, path) != 0);
        fd = _open(path, _O_RDWR | _O_BINARY | _O_TEMPORARY);
        assert_true(fd >= 0);
    }
#else
    strcpy(file_path, "/tmp/test-evbuffer-XXXXXX");
    fd = mkstemp(file_path);
    assert_true(fd >= 0);
    unlink(file_path);
#endif
    assert_int_equal(write(fd, d, len), (ssize_t)len);
    *contents_out = d;
    return fd;
}

/* Write everything in buf to a socketpair and read it back. */
static unsigned char *
send_through_socket(struct evbuffer *buf, size_t *len_out)
{
    evutil_socket_t fds[2];
    struct evbuffer *in = evbuffer_new();
    size_t len;
    unsigned char *p;
    int n;

    tu_socketpair(fds);
    while (evbuffer_get_length(buf) > 0) {
        n = evbuffer_write(buf, fds[0]);
        assert_true(n >= 0);
        while ((n = evbuffer_read(in, fds[1], -1)) > 0)
            ;
    }
    shutdown(fds[0], SHUT_WR);
    while ((n = evbuffer_read(in, fds[1], -1)) > 0)
        ;
    tu_close_pair(fds);
    p = contents(in, &len);
    evbuffer_free(in);
    *len_out = len;
    return p;
}

static int seg_cleanups;
static void
seg_cleanup(struct evbuffer_file_segment const *seg, int flags, void *arg)
{
    (void)seg;
    (void)flags;
    (void)arg;
    ++seg_cleanups;
}

static void
test_file_segments(void **state)
{
    static const unsigned flag_sets[] = {
        0,                                                /* sendfile */
        EVBUF_FS_DISABLE_SENDFILE,                        /* mmap */
        EVBUF_FS_DISABLE_SENDFILE | EVBUF_FS_DISABLE_MMAP, /* read */
        EVBUF_FS_DISABLE_LOCKING,
    };
    const size_t flen = 100000;
    unsigned char *data, *got;
    struct evbuffer_file_segment *seg;
    struct evbuffer *buf;
    size_t i, len;
    int fd, drains;

    (void)state;
#ifndef _WIN32 /* Winsock has no SIGPIPE */
    signal(SIGPIPE, SIG_IGN);
#endif
    fd = make_file(flen, &data);
    for (i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); ++i) {
        for (drains = 0; drains < 2; ++drains) {
            seg_cleanups = 0;
            seg = evbuffer_file_segment_new(fd, 1000, 50000, flag_sets[i]);
            assert_non_null(seg);
            evbuffer_file_segment_add_cleanup_cb(seg, seg_cleanup, NULL);
            buf = evbuffer_new();
            if (drains) {
                evbuffer_set_flags(buf, EVBUFFER_FLAG_DRAINS_TO_FD | 0x100);
                evbuffer_clear_flags(buf, 0x100);
            } else {
                evbuffer_set_flags(buf, EVBUFFER_FLAG_DRAINS_TO_FD);
                evbuffer_clear_flags(buf, EVBUFFER_FLAG_DRAINS_TO_FD);
            }
            evbuffer_add(buf, "<", 1);
            /* Bytes 1000+20 .. 1000+20+30000 of the file, then the tail
             * of the segment, then all of it. */
            assert_int_equal(evbuffer_add_file_segment(buf, seg, 20, 30000),
                0);
            assert_int_equal(evbuffer_add_file_segment(buf, seg, 49990, -1),
                0);
            assert_int_equal(evbuffer_add_file_segment(buf, seg, 0, -1), 0);
            evbuffer_add(buf, ">", 1);
            /* (Bad ranges are in test_file_segments_ext: libevent 2.1.12
             * drops a segment reference it never took on that path.) */
            assert_int_equal(
                evbuffer_get_length(buf), 1 + 30000 + 10 + 50000 + 1);
            evbuffer_file_segment_free(seg);
            assert_int_equal(seg_cleanups, 0);

            got = send_through_socket(buf, &len);
            assert_int_equal(len, 1 + 30000 + 10 + 50000 + 1);
            assert_int_equal(got[0], '<');
            assert_memory_equal(got + 1, data + 1020, 30000);
            assert_memory_equal(got + 30001, data + 1000 + 49990, 10);
            assert_memory_equal(got + 30011, data + 1000, 50000);
            assert_int_equal(got[len - 1], '>');
            free(got);
            assert_int_equal(seg_cleanups, 1);
            evbuffer_free(buf);
        }
    }

    /* Segment ranges. */
    assert_null(evbuffer_file_segment_new(fd, -1, 10, 0));
    assert_null(evbuffer_file_segment_new(fd, 0, -2, 0));
    seg = evbuffer_file_segment_new(fd, 0, -1, 0);
    assert_non_null(seg);
    buf = evbuffer_new();
    assert_int_equal(evbuffer_add_file_segment(buf, seg, 0, -1), 0);
    assert_int_equal(evbuffer_get_length(buf), flen);
    evbuffer_free(buf);
    evbuffer_file_segment_free(seg);

    /* add_file owns the descriptor and closes it when done. */
    buf = evbuffer_new();
    {
        int fd2 = dup(fd);

        assert_int_equal(evbuffer_add_file(buf, fd2, 10, 5000), 0);
        assert_int_equal(evbuffer_get_length(buf), 5000);
        got = send_through_socket(buf, &len);
        assert_int_equal(len, 5000);
        assert_memory_equal(got, data + 10, 5000);
        free(got);
        evbuffer_free(buf);
        assert_int_equal(fcntl(fd2, F_GETFD), -1);
        assert_int_equal(errno, EBADF);
    }
    close(fd);
    free(data);
}

/* Reading bytes of a sendfile segment (undefined in libevent). */
static void
test_file_segments_ext(void **state)
{
    const size_t flen = 10000;
    unsigned char *data, *d;
    struct evbuffer_file_segment *seg;
    struct evbuffer *buf, *other;
    struct evbuffer_ptr p;
    char *line;
    size_t len;
    int fd, fd2, drains;

    (void)state;
    if (reference_lib())
        skip();
    fd = make_file(flen, &data);
    seg = evbuffer_file_segment_new(fd, 100, 5000, 0);
    assert_non_null(seg);
    buf = evbuffer_new();
    evbuffer_set_flags(buf, EVBUFFER_FLAG_DRAINS_TO_FD);
    assert_int_equal(evbuffer_add_file_segment(buf, seg, 0, 5000), 0);
    evbuffer_drain(buf, 10);
    d = contents(buf, &len);
    assert_int_equal(len, 4990);
    assert_memory_equal(d, data + 110, 4990);
    free(d);
    /* Moved, removed, searched, read as lines. */
    assert_int_equal(evbuffer_add_file_segment(buf, seg, 0, 100), 0);
    other = evbuffer_new();
    assert_int_equal(evbuffer_remove_buffer(buf, other, 4995), 4995);
    d = contents(other, &len);
    assert_memory_equal(d, data + 110, 4990);
    assert_memory_equal(d + 4990, data + 100, 5);
    free(d);
    p = evbuffer_search(buf, (char *)data + 105, 8, NULL);
    assert_int_equal(p.pos, 0);
    p = evbuffer_search(buf, (char *)data + 150, 8, NULL);
    assert_int_equal(p.pos, 45);
    evbuffer_add(buf, "\n", 1);
    line = evbuffer_readln(buf, &len, EVBUFFER_EOL_LF);
    assert_non_null(line);
    assert_int_equal(len, 95);
    assert_memory_equal(line, data + 105, 95);
    free(line);
    evbuffer_free(other);
    evbuffer_free(buf);
    evbuffer_file_segment_free(seg);

    /* Bad ranges (libevent 2.1.12 takes a negative offset for sendfile,
     * and frees the segment too early after refusing a range). */
    for (drains = 0; drains < 2; ++drains) {
        seg_cleanups = 0;
        seg = evbuffer_file_segment_new(fd, 100, 5000, 0);
        evbuffer_file_segment_add_cleanup_cb(seg, seg_cleanup, NULL);
        buf = evbuffer_new();
        if (drains)
            evbuffer_set_flags(buf, EVBUFFER_FLAG_DRAINS_TO_FD);
        assert_int_equal(evbuffer_add_file_segment(buf, seg, 5001, -1), -1);
        assert_int_equal(evbuffer_add_file_segment(buf, seg, 10, 4991), -1);
        assert_int_equal(evbuffer_add_file_segment(buf, seg, -1, 1), -1);
        assert_int_equal(evbuffer_add_file_segment(buf, seg, -5, -1), -1);
        assert_int_equal(evbuffer_add_file_segment(buf, seg, 0, -2), -1);
        assert_int_equal(evbuffer_add_file_segment(buf, seg, 5000, -1), 0);
        assert_int_equal(evbuffer_add_file_segment(buf, seg, 4990, 10), 0);
        assert_int_equal(evbuffer_get_length(buf), 10);
        assert_int_equal(seg_cleanups, 0);
        evbuffer_file_segment_free(seg);
        assert_int_equal(seg_cleanups, 0);
        d = contents(buf, &len);
        assert_memory_equal(d, data + 5090, 10);
        free(d);
        evbuffer_free(buf);
        assert_int_equal(seg_cleanups, 1);
    }
    assert_null(evbuffer_file_segment_new(fd, EV_INT64_MAX, 2, 0));
    assert_null(evbuffer_file_segment_new(fd, 20000, -1, 0));

    /* A file shorter than the range asked for. */
    seg = evbuffer_file_segment_new(fd, 9000, 5000,
        EVBUF_FS_DISABLE_SENDFILE);
    assert_null(seg);
    /* Far shorter: refused with a message before anything the size of
     * the range is allocated (ASan would abort on that allocation). */
    tu_log_clear();
    errno = 0;
    seg = evbuffer_file_segment_new(fd, 0, EV_INT64_MAX / 2,
        EVBUF_FS_DISABLE_SENDFILE | EVBUF_FS_DISABLE_MMAP);
    assert_null(seg);
    assert_int_equal(errno, EINVAL);
    tu_assert_logged_error();
    /* add_file failing leaves the descriptor open. */
    fd2 = dup(fd);
    buf = evbuffer_new();
    evbuffer_freeze(buf, 0);
    assert_int_equal(evbuffer_add_file(buf, fd2, 0, 10), -1);
    assert_true(fcntl(fd2, F_GETFD) >= 0);
    close(fd2);
    evbuffer_free(buf);
    close(fd);
    free(data);
}

/* ------------------------------------------------------------------ */
/* evbuffer_read without FIONREAD: whatever the free space already in the
 * buffer (none, a little, a lot, a reference chain that must not be
 * written), one read takes min(howmuch, 4096, pending) bytes, appends them
 * in order after the old data and never writes into immutable memory. */

static void
test_read_fill_shapes(void **state)
{
    static const size_t pre_sizes[] = {0, 1, 100, 900, 975, 976, 977, 1000,
        2000, 4000, 4095, 4096, 5000};
    static const int howmuchs[] = {-1, 1, 128, 976, 977, 3000, 4096, 4097,
        100000};
    unsigned char data[8192], ro[16], *got;
    evutil_socket_t fds[2];
    size_t p, h, i;

    (void)state;
    for (i = 0; i < sizeof(data); ++i)
        data[i] = (unsigned char)(i * 13 + i / 256);
    memset(ro, 'R', sizeof(ro));
    tu_socketpair(fds);
    for (p = 0; p < sizeof(pre_sizes) / sizeof(pre_sizes[0]); ++p) {
        for (h = 0; h < sizeof(howmuchs) / sizeof(howmuchs[0]); ++h) {
            struct evbuffer *in = evbuffer_new();
            size_t pre = pre_sizes[p], want, pending = 6000;
            int n, ref = (p + h) % 3 == 0;

            assert_non_null(in);
            /* Old data, possibly ending in a read-only reference chain. */
            assert_int_equal(evbuffer_add(in, data, pre), 0);
            if (ref)
                assert_int_equal(
                    evbuffer_add_reference(in, ro, sizeof(ro), NULL, NULL),
                    0);
            assert_int_equal(send(fds[0], (const char *)data + 100,
                                 pending, 0),
                (ssize_t)pending);

            want = howmuchs[h] < 0 ? 4096 : (size_t)howmuchs[h];
            if (want > 4096)
                want = 4096;
            n = evbuffer_read(in, fds[1], howmuchs[h]);
            assert_int_equal(n, (int)want);
            assert_int_equal(evbuffer_get_length(in),
                pre + (ref ? sizeof(ro) : 0) + want);
            got = evbuffer_pullup(in, -1);
            assert_non_null(got);
            assert_memory_equal(got, data, pre);
            if (ref) {
                assert_memory_equal(got + pre, ro, sizeof(ro));
                got += sizeof(ro);
            }
            assert_memory_equal(got + pre, data + 100, want);
            /* The reference stayed untouched. */
            for (i = 0; i < sizeof(ro); ++i)
                assert_int_equal(ro[i], 'R');
            /* Take the rest so the next round starts clean. */
            while (pending - want > 0) {
                n = evbuffer_read(in, fds[1], -1);
                assert_true(n > 0);
                want += (size_t)n;
            }
            got = evbuffer_pullup(in, -1);
            assert_memory_equal(got + pre + (ref ? sizeof(ro) : 0),
                data + 100, pending);
            evbuffer_free(in);
        }
    }
    tu_close_pair(fds);
}

/* Callbacks see one change per evbuffer_read, even when the bytes end up
 * in two places (chain space and the overflow area). */
static void
read_count_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
    size_t *counts = arg;

    (void)buf;
    counts[0]++;
    counts[1] += info->n_added;
}

static void
test_read_callbacks_once(void **state)
{
    struct evbuffer *in = evbuffer_new();
    unsigned char data[4096];
    evutil_socket_t fds[2];
    size_t counts[2] = {0, 0};

    (void)state;
    memset(data, 'q', sizeof(data));
    tu_socketpair(fds);
    assert_non_null(evbuffer_add_cb(in, read_count_cb, counts));
    /* 1000 bytes already there: the last chain has a little room left. */
    assert_int_equal(evbuffer_add(in, data, 1000), 0);
    assert_int_equal(counts[0], 1);
    assert_int_equal(send(fds[0], (const char *)data, sizeof(data), 0),
        4096);
    assert_int_equal(evbuffer_read(in, fds[1], -1), 4096);
    assert_int_equal(counts[0], 2);
    assert_int_equal(counts[1], 1000 + 4096);
    /* Nothing pending: no callback. */
    assert_int_equal(evbuffer_read(in, fds[1], -1), -1);
    assert_int_equal(counts[0], 2);
    /* Same on an empty buffer, which stays empty and keeps its errno. */
    assert_int_equal(evbuffer_drain(in, 5096), 0);
    assert_int_equal(counts[0], 3);
    errno = 0;
    EVUTIL_SET_SOCKET_ERROR(0);
    assert_int_equal(evbuffer_read(in, fds[1], -1), -1);
    assert_true(READ_WOULD_BLOCK());
    assert_int_equal(evbuffer_get_length(in), 0);
    assert_int_equal(counts[0], 3);
    /* And reading into it afterwards works. */
    assert_int_equal(send(fds[0], "tail", 4, 0), 4);
    assert_int_equal(evbuffer_read(in, fds[1], -1), 4);
    assert_memory_equal(evbuffer_pullup(in, -1), "tail", 4);
    evbuffer_free(in);
    tu_close_pair(fds);
}

/* ------------------------------------------------------------------ */

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_fixed),
        cmocka_unit_test(test_random_env),
        cmocka_unit_test(test_search_boundaries),
        cmocka_unit_test(test_readln_boundaries),
        cmocka_unit_test(test_eol_styles),
        cmocka_unit_test(test_pullup_peek_ptr),
        cmocka_unit_test(test_reserve_commit),
        cmocka_unit_test(test_reserve_commit_ext),
        cmocka_unit_test(test_reserve_many),
        cmocka_unit_test(test_reserve_many_after_data),
        cmocka_unit_test(test_reserve_many_full_first),
        cmocka_unit_test(test_reserve_many_commit),
        cmocka_unit_test(test_add_buffer_family),
        cmocka_unit_test(test_printf_and_iovec),
        cmocka_unit_test(test_reference_cleanup),
        cmocka_unit_test(test_buffer_reference),
        cmocka_unit_test(test_buffer_reference_ext),
        cmocka_unit_test(test_freeze),
        cmocka_unit_test(test_huge_sizes),
        cmocka_unit_test(test_huge_sizes_ext),
        cmocka_unit_test(test_callbacks),
        cmocka_unit_test_setup_teardown(test_deferred_callbacks, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_libevent_callback_order,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_read_write, tu_setup_nobase,
            tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_file_segments, tu_setup_nobase,
            tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_file_segments_ext,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_read_fill_shapes,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_read_callbacks_once,
            tu_setup_nobase, tu_teardown_nobase),
    };

    tu_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * fuzz-evbuffer-ops: the input drives a sequence of operations on two
 * evbuffers, and every result is checked against a model kept beside
 * each buffer: a flat byte array plus the two freeze flags.
 *
 * Each step reads one opcode byte (bit 7 picks which buffer is "this"
 * one, the other is the peer for moves and I/O) and then its arguments.
 * After every step both buffers are compared with their models in full
 * (length, bytes through evbuffer_peek, contiguous space) and the length
 * a callback has tracked from cb_info must equal the buffer's length.
 * When the input is used up, both buffers are freed and every reference
 * added with evbuffer_add_reference must have been cleaned up exactly
 * once, with its memory unmodified.
 *
 * Expected return values are libevent 2.1.12's, including its edge cases:
 * a frozen buffer refuses work, but moving from an empty buffer or
 * draining an empty one succeeds without looking at the freeze flags.
 *
 * Models hold at most MODEL_MAX bytes; a step that would grow a buffer
 * past that is skipped, so runs stay fast.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "fuzz-common.h"
#include "fuzz-model.h"

#define MODEL_MAX 32768
#define MAX_STEPS 400
#define MAX_REFS 64

struct side {
    struct evbuffer *buf;
    unsigned char *m;   /* model bytes */
    size_t len;         /* model length */
    int fs, fe;         /* frozen at start / end */
    size_t cb_len;      /* length as the callback has followed it */
};

struct ref {
    unsigned char *mem;
    size_t len;
    uint32_t sum;
    int cleaned;
};

static struct ref refs[MAX_REFS];
static int n_refs;
static int sock[2] = { -1, -1 };
static unsigned char scratch[MODEL_MAX + 1];

static uint32_t
checksum(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void
ref_cleanup(const void *data, size_t len, void *extra)
{
    struct ref *r = extra;

    FUZZ_CHECK(!r->cleaned);
    FUZZ_CHECK(data == r->mem && len == r->len);
    FUZZ_CHECK(checksum(r->mem, r->len) == r->sum);
    r->cleaned = 1;
    free(r->mem);
}

static void
len_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct side *s = arg;

    FUZZ_CHECK(info->orig_size == s->cb_len);
    FUZZ_CHECK(info->n_deleted <= info->orig_size + info->n_added);
    s->cb_len = info->orig_size + info->n_added - info->n_deleted;
}

/* --- the model ------------------------------------------------------- */

static void
m_append(struct side *s, const void *p, size_t n)
{
    memcpy(s->m + s->len, p, n);
    s->len += n;
}

static void
m_prepend(struct side *s, const void *p, size_t n)
{
    memmove(s->m + n, s->m, s->len);
    memcpy(s->m, p, n);
    s->len += n;
}

static void
m_drain(struct side *s, size_t n)
{
    if (n > s->len)
        n = s->len;
    memmove(s->m, s->m + n, s->len - n);
    s->len -= n;
}

/* The whole buffer against the model. */
static void
check_side(struct side *s)
{
    struct evbuffer_iovec small[16], *vec = small;
    int n, i;
    size_t off = 0;

    FUZZ_CHECK(evbuffer_get_length(s->buf) == s->len);
    FUZZ_CHECK(s->cb_len == s->len);
    n = evbuffer_peek(s->buf, -1, NULL, NULL, 0);
    FUZZ_CHECK(n >= 0);
    FUZZ_CHECK((n == 0) == (s->len == 0));
    if (n > 16) {
        vec = malloc(sizeof(*vec) * (size_t)n);
        FUZZ_CHECK(vec != NULL);
    }
    FUZZ_CHECK(evbuffer_peek(s->buf, -1, NULL, vec, n) == n);
    for (i = 0; i < n; i++) {
        FUZZ_CHECK(vec[i].iov_len > 0);
        FUZZ_CHECK(off + vec[i].iov_len <= s->len);
        FUZZ_CHECK(memcmp(vec[i].iov_base, s->m + off, vec[i].iov_len) == 0);
        off += vec[i].iov_len;
    }
    FUZZ_CHECK(off == s->len);
    FUZZ_CHECK(evbuffer_get_contiguous_space(s->buf) ==
               (n > 0 ? vec[0].iov_len : 0));
    if (vec != small)
        free(vec);
}

/* --- argument helpers -------------------------------------------------- */

/* Data to add: either bytes straight from the input (short), or a longer
 * run generated from a seed over an alphabet rich in line ends. */
static const unsigned char *
payload(struct fuzz_input *in, unsigned char *out, size_t *n)
{
    static const char alpha[] = "ab\r\n\0xyz\n\r";
    uint8_t kind = fuzz_u8(in);
    size_t i, len;

    if (kind & 1) {
        const uint8_t *p = fuzz_bytes(in, kind >> 1, n);
        memcpy(out, p, *n);
        return out;
    }
    len = fuzz_u16(in) % 4096;
    for (i = 0; i < len; i++)
        out[i] = (unsigned char)alpha[(kind + i * 7 + i / 5) %
                                      (sizeof(alpha) - 1)];
    *n = len;
    return out;
}

/* A position in [0, len] (or, when allow_past, up to len + 1). */
static size_t
position(struct fuzz_input *in, size_t len, int allow_past)
{
    return fuzz_u16(in) % (len + 1 + (allow_past ? 1 : 0));
}

static void
set_ptr(struct side *s, struct evbuffer_ptr *p, size_t pos)
{
    FUZZ_CHECK(evbuffer_ptr_set(s->buf, p, pos, EVBUFFER_PTR_SET) == 0);
    FUZZ_CHECK(p->pos == (ev_ssize_t)pos);
}

/* --- operations -------------------------------------------------------- */

static void
op_add(struct fuzz_input *in, struct side *s, int prepend)
{
    static unsigned char data[4096];
    size_t n;
    int r, frozen = prepend ? s->fs : s->fe;

    payload(in, data, &n);
    if (s->len + n > MODEL_MAX)
        return;
    r = prepend ? evbuffer_prepend(s->buf, data, n)
                : evbuffer_add(s->buf, data, n);
    /* As libevent 2.1: prepending nothing succeeds even at a frozen
     * front. */
    FUZZ_CHECK(r == (frozen && !(prepend && n == 0) ? -1 : 0));
    if (r == 0) {
        if (prepend)
            m_prepend(s, data, n);
        else
            m_append(s, data, n);
    }
}

static void
op_printf(struct fuzz_input *in, struct side *s)
{
    char str[65], *text;
    uint8_t kind = fuzz_u8(in);
    int a = (int16_t)fuzz_u16(in), width = fuzz_u16(in) % 3000, r, want;
    size_t n, i;
    const uint8_t *p = fuzz_bytes(in, fuzz_u8(in) % 64, &n);

    for (i = 0; i < n && p[i]; i++)
        str[i] = (char)p[i];
    str[i] = '\0';
    switch (kind % 3) {
    case 0:
        want = snprintf(NULL, 0, "%s", str);
        break;
    case 1:
        want = snprintf(NULL, 0, "%d:%x|%s", a, (unsigned)a, str);
        break;
    default:
        want = snprintf(NULL, 0, "%*s", width, str);
        break;
    }
    if (s->len + (size_t)want > MODEL_MAX)
        return;
    text = malloc((size_t)want + 1);
    FUZZ_CHECK(text != NULL);
    switch (kind % 3) {
    case 0:
        snprintf(text, (size_t)want + 1, "%s", str);
        r = evbuffer_add_printf(s->buf, "%s", str);
        break;
    case 1:
        snprintf(text, (size_t)want + 1, "%d:%x|%s", a, (unsigned)a, str);
        r = evbuffer_add_printf(s->buf, "%d:%x|%s", a, (unsigned)a, str);
        break;
    default:
        snprintf(text, (size_t)want + 1, "%*s", width, str);
        r = evbuffer_add_printf(s->buf, "%*s", width, str);
        break;
    }
    FUZZ_CHECK(r == (s->fe ? -1 : want));
    if (r >= 0)
        m_append(s, text, (size_t)want);
    free(text);
}

static void
op_drain(struct fuzz_input *in, struct side *s)
{
    uint16_t v = fuzz_u16(in);
    size_t n = v == 0xffff ? SIZE_MAX : v;
    int r = evbuffer_drain(s->buf, n);

    /* 2.1: an empty buffer drains without looking at the freeze flag. */
    FUZZ_CHECK(r == (s->fs && s->len > 0 ? -1 : 0));
    if (r == 0)
        m_drain(s, n);
}

static void
op_copyout(struct fuzz_input *in, struct side *s, int how)
{
    struct evbuffer_ptr p;
    size_t start = 0, n, k;
    ev_ssize_t r;

    if (how == 2)
        start = position(in, s->len, 0);
    n = fuzz_u16(in);
    k = n < s->len - start ? n : s->len - start;
    memset(scratch, 0xa5, sizeof(scratch));
    if (how == 0) {
        r = evbuffer_remove(s->buf, scratch, n);
    } else if (how == 1) {
        r = evbuffer_copyout(s->buf, scratch, n);
    } else {
        set_ptr(s, &p, start);
        r = evbuffer_copyout_from(s->buf, &p, scratch, n);
    }
    if (k == 0) {
        FUZZ_CHECK(r == 0);
        return;
    }
    if (s->fs) {
        FUZZ_CHECK(r == -1);
        return;
    }
    FUZZ_CHECK(r == (ev_ssize_t)k);
    FUZZ_CHECK(memcmp(scratch, s->m + start, k) == 0);
    FUZZ_CHECK(scratch[k] == 0xa5);
    if (how == 0)
        m_drain(s, k);
}

static void
op_pullup(struct fuzz_input *in, struct side *s)
{
    uint8_t mode = fuzz_u8(in);
    ev_ssize_t size;
    unsigned char *r;

    if (mode % 4 == 0)
        size = -1;
    else if (mode % 4 == 1)
        size = 0;
    else
        size = (ev_ssize_t)position(in, s->len, 1);
    r = evbuffer_pullup(s->buf, size);
    if (size < 0)
        size = (ev_ssize_t)s->len;
    if (size == 0 || (size_t)size > s->len) {
        FUZZ_CHECK(r == NULL);
        return;
    }
    FUZZ_CHECK(r != NULL);
    FUZZ_CHECK(memcmp(r, s->m, (size_t)size) == 0);
    FUZZ_CHECK(evbuffer_get_contiguous_space(s->buf) >= (size_t)size);
}

static void
op_expand(struct fuzz_input *in, struct side *s)
{
    size_t n = fuzz_u16(in) % 8192;

    FUZZ_CHECK(evbuffer_expand(s->buf, n) == 0);
}

static void
op_reserve(struct fuzz_input *in, struct side *s)
{
    struct evbuffer_iovec vec[2];
    size_t size = fuzz_u16(in) % 4096, want, got, k;
    uint8_t flags = fuzz_u8(in), fill = fuzz_u8(in);
    int nvec = 1 + (flags & 1), r, i, ncommit;
    unsigned char *p;

    if (s->len + size > MODEL_MAX)
        return;
    r = evbuffer_reserve_space(s->buf, (ev_ssize_t)size, vec, nvec);
    if (s->fe) {
        FUZZ_CHECK(r == -1);
        return;
    }
    /* Asked for nothing with room for two extents, 2.1 hands out none. */
    FUZZ_CHECK(r >= (size == 0 && nvec > 1 ? 0 : 1) && r <= nvec);
    got = 0;
    for (i = 0; i < r; i++)
        got += vec[i].iov_len;
    FUZZ_CHECK(got >= size);

    if ((flags & 2) && r == 1) {
        /* One byte more than the space handed out: refused, unchanged. */
        struct evbuffer_iovec bad = vec[0];
        if (bad.iov_len < MODEL_MAX) {
            bad.iov_len++;
            FUZZ_CHECK(evbuffer_commit_space(s->buf, &bad, 1) == -1);
            check_side(s);
        }
    }

    /* Commit a prefix of what was asked for. */
    want = size ? fuzz_u16(in) % (size + 1) : 0;
    k = want;
    ncommit = 0;
    for (i = 0; i < r; i++) {
        size_t take = k < vec[i].iov_len ? k : vec[i].iov_len;
        p = vec[i].iov_base;
        memset(p, fill + i, take);
        vec[i].iov_len = take;
        k -= take;
        if (take > 0)
            ncommit = i + 1;
    }
    if (flags & 4)
        ncommit = r;    /* trailing extents committed empty */
    FUZZ_CHECK(evbuffer_commit_space(s->buf, vec, ncommit) == 0);
    for (i = 0; i < ncommit; i++)
        m_append(s, vec[i].iov_base, vec[i].iov_len);
    FUZZ_CHECK(s->len <= MODEL_MAX);
}

static void
op_move(struct fuzz_input *in, struct side *s, struct side *o, int how)
{
    int r, exp;
    size_t n = 0;

    if (how == 2)
        n = fuzz_u16(in) % (MODEL_MAX + 1);
    /* Everything stays within the models' capacity. */
    if (s->len + o->len > MODEL_MAX)
        return;
    if (how == 0) {
        /* s <- o */
        r = evbuffer_add_buffer(s->buf, o->buf);
        exp = o->len == 0 ? 0 : (s->fe || o->fs) ? -1 : 0;
        FUZZ_CHECK(r == exp);
        if (r == 0) {
            m_append(s, o->m, o->len);
            o->len = 0;
        }
    } else if (how == 1) {
        /* o before s */
        r = evbuffer_prepend_buffer(s->buf, o->buf);
        exp = o->len == 0 ? 0 : (s->fs || o->fs) ? -1 : 0;
        FUZZ_CHECK(r == exp);
        if (r == 0) {
            m_prepend(s, o->m, o->len);
            o->len = 0;
        }
    } else {
        /* n bytes from the front of s to the end of o */
        size_t k = n < s->len ? n : s->len;
        r = evbuffer_remove_buffer(s->buf, o->buf, n);
        exp = n == 0 ? 0 : (o->fe || s->fs) ? -1 : (int)k;
        FUZZ_CHECK(r == exp);
        if (r > 0) {
            m_append(o, s->m, k);
            m_drain(s, k);
        }
    }
}

static void
op_reference(struct fuzz_input *in, struct side *s)
{
    static unsigned char data[4096];
    struct ref *ref;
    size_t n;
    int r;

    payload(in, data, &n);
    if (s->len + n > MODEL_MAX || n_refs == MAX_REFS)
        return;
    ref = &refs[n_refs];
    ref->mem = malloc(n ? n : 1);
    FUZZ_CHECK(ref->mem != NULL);
    memcpy(ref->mem, data, n);
    ref->len = n;
    ref->sum = checksum(data, n);
    ref->cleaned = 0;
    r = evbuffer_add_reference(s->buf, ref->mem, n, ref_cleanup, ref);
    FUZZ_CHECK(r == (s->fe ? -1 : 0));
    if (r == 0) {
        n_refs++;
        m_append(s, data, n);
    } else {
        /* Refused: no cleanup call will come; the memory is ours. */
        free(ref->mem);
    }
}

static void
op_search(struct fuzz_input *in, struct side *s, int ranged)
{
    unsigned char what[16];
    struct evbuffer_ptr start, end, r;
    size_t wlen, st, lim, n;
    uint8_t mode = fuzz_u8(in);
    int use_start = mode & 2, use_end = ranged && (mode & 4);
    long exp;

    if ((mode & 1) && s->len > 0) {
        /* A piece of the contents: a likely hit. */
        size_t at = fuzz_u16(in) % s->len;
        wlen = 1 + fuzz_u8(in) % 12;
        if (wlen > s->len - at)
            wlen = s->len - at;
        memcpy(what, s->m + at, wlen);
    } else {
        const uint8_t *p = fuzz_bytes(in, 1 + fuzz_u8(in) % 4, &n);
        if (n == 0)
            return;
        memcpy(what, p, n);
        wlen = n;
    }
    st = use_start ? position(in, s->len, 0) : 0;
    lim = use_end ? position(in, s->len, 0) : s->len;
    if (use_start)
        set_ptr(s, &start, st);
    if (use_end)
        set_ptr(s, &end, lim);
    if (ranged)
        r = evbuffer_search_range(s->buf, (const char *)what, wlen,
            use_start ? &start : NULL, use_end ? &end : NULL);
    else
        r = evbuffer_search(s->buf, (const char *)what, wlen,
            use_start ? &start : NULL);
    exp = st <= lim ? model_search(s->m, st, lim, what, wlen) : -1;
    FUZZ_CHECK(r.pos == exp);
    if (exp >= 0 && !s->fs) {
        /* The returned pointer is usable. */
        FUZZ_CHECK(evbuffer_copyout_from(s->buf, &r, scratch, wlen) ==
                   (ev_ssize_t)wlen);
        FUZZ_CHECK(memcmp(scratch, what, wlen) == 0);
    }
}

static void
op_ptr(struct fuzz_input *in, struct side *s)
{
    struct evbuffer_ptr p;
    size_t a = position(in, s->len, 1), b = position(in, s->len, 1);
    int r;

    r = evbuffer_ptr_set(s->buf, &p, a, EVBUFFER_PTR_SET);
    if (a > s->len) {
        FUZZ_CHECK(r == -1);
        FUZZ_CHECK(p.pos == -1);
        return;
    }
    FUZZ_CHECK(r == 0 && p.pos == (ev_ssize_t)a);
    r = evbuffer_ptr_set(s->buf, &p, b, EVBUFFER_PTR_ADD);
    if (a + b > s->len) {
        FUZZ_CHECK(r == -1);
        FUZZ_CHECK(p.pos == -1);
        return;
    }
    FUZZ_CHECK(r == 0 && p.pos == (ev_ssize_t)(a + b));
    if (a + b < s->len && !s->fs) {
        FUZZ_CHECK(evbuffer_copyout_from(s->buf, &p, scratch, 1) == 1);
        FUZZ_CHECK(scratch[0] == s->m[a + b]);
    }
}

static void
op_peek(struct fuzz_input *in, struct side *s)
{
    struct evbuffer_iovec vec[4];
    struct evbuffer_ptr p;
    uint8_t mode = fuzz_u8(in);
    int n_vec = mode % 5, use_start = mode & 8, r, i, filled;
    ev_ssize_t len = (mode & 16) ? -1 : (ev_ssize_t)position(in, s->len, 1);
    size_t st = use_start ? position(in, s->len, 0) : 0, off, avail, want;
    size_t before_last = 0;

    if (use_start)
        set_ptr(s, &p, st);
    r = evbuffer_peek(s->buf, len, use_start ? &p : NULL, vec, n_vec);
    FUZZ_CHECK(r >= 0);
    avail = s->len - st;
    if (avail == 0) {
        FUZZ_CHECK(r == 0);
        return;
    }
    filled = r < n_vec ? r : n_vec;
    off = st;
    for (i = 0; i < filled; i++) {
        FUZZ_CHECK(vec[i].iov_len > 0);
        FUZZ_CHECK(off + vec[i].iov_len <= s->len);
        FUZZ_CHECK(memcmp(vec[i].iov_base, s->m + off, vec[i].iov_len) == 0);
        before_last = off - st;
        off += vec[i].iov_len;
    }
    /* With len < 0 and n_vec > 0, 2.1 stops counting at n_vec. */
    if (r < n_vec || (r == n_vec && (len >= 0 || n_vec == 0))) {
        /* All the extents needed were returned: they cover the request,
         * and the last one was needed. */
        want = len < 0 ? avail : ((size_t)len < avail ? (size_t)len : avail);
        FUZZ_CHECK(off - st >= want);
        if (len < 0)
            FUZZ_CHECK(off == s->len);
        if (r > 0 && want > 0)
            FUZZ_CHECK(before_last < want);
    }
}

static void
op_readln(struct fuzz_input *in, struct side *s)
{
    uint8_t mode = fuzz_u8(in);
    int style = mode % 6, want_n = mode & 8;
    size_t n = 12345, eol;
    long at = model_find_eol(s->m, s->len, 0, style, &eol);
    char *line = evbuffer_readln(s->buf, want_n ? &n : NULL,
        (enum evbuffer_eol_style)style);

    if (at < 0 || s->fs) {
        FUZZ_CHECK(line == NULL);
        if (want_n)
            FUZZ_CHECK(n == 0);
        return;
    }
    FUZZ_CHECK(line != NULL);
    if (want_n)
        FUZZ_CHECK(n == (size_t)at);
    FUZZ_CHECK(memcmp(line, s->m, (size_t)at) == 0);
    FUZZ_CHECK(line[at] == '\0');
    free(line);
    m_drain(s, (size_t)at + eol);
}

static void
op_search_eol(struct fuzz_input *in, struct side *s)
{
    uint8_t mode = fuzz_u8(in);
    int style = mode % 6, use_start = mode & 8;
    size_t st = use_start ? position(in, s->len, 0) : 0, eol, got = 99;
    struct evbuffer_ptr p, r;
    long at = model_find_eol(s->m, s->len, st, style, &eol);

    if (use_start)
        set_ptr(s, &p, st);
    r = evbuffer_search_eol(s->buf, use_start ? &p : NULL, &got,
        (enum evbuffer_eol_style)style);
    FUZZ_CHECK(r.pos == at);
    FUZZ_CHECK(got == (at < 0 ? 0 : eol));
}

static void
op_freeze(struct fuzz_input *in, struct side *s)
{
    uint8_t mode = fuzz_u8(in);
    int front = mode & 1;

    if (mode & 2) {
        FUZZ_CHECK(evbuffer_unfreeze(s->buf, front) == 0);
        *(front ? &s->fs : &s->fe) = 0;
    } else {
        FUZZ_CHECK(evbuffer_freeze(s->buf, front) == 0);
        *(front ? &s->fs : &s->fe) = 1;
    }
}

/* Write from s into the socket pair, read it back into o. */
static void
op_io(struct fuzz_input *in, struct side *s, struct side *o)
{
    uint8_t mode = fuzz_u8(in);
    ev_ssize_t howmuch = (mode & 1) ? -1 : (ev_ssize_t)(fuzz_u16(in) % 8192);
    int chunk = (mode & 2) ? -1 : 1 + fuzz_u16(in) % 4096;
    size_t want, got = 0;
    int w, r, tries;

    want = (howmuch < 0 || (size_t)howmuch > s->len) ? s->len
                                                      : (size_t)howmuch;
    if (o->len + want > MODEL_MAX)
        return;
    if (howmuch < 0 && (mode & 4))
        w = evbuffer_write(s->buf, sock[0]);
    else
        w = evbuffer_write_atmost(s->buf, sock[0], howmuch);
    if (s->fs || want == 0) {
        FUZZ_CHECK(w == -1);
        return;
    }
    FUZZ_CHECK(w > 0 && (size_t)w <= want);
    memcpy(scratch, s->m, (size_t)w);
    m_drain(s, (size_t)w);

    if (o->fe) {
        FUZZ_CHECK(evbuffer_read(o->buf, sock[1], chunk) == -1);
        /* Throw the bytes away so the next step starts clean. */
        while (got < (size_t)w) {
            ssize_t k = read(sock[1], scratch, sizeof(scratch));
            FUZZ_CHECK(k > 0);
            got += (size_t)k;
        }
        return;
    }
    for (tries = 0; got < (size_t)w && tries < 100000; tries++) {
        r = evbuffer_read(o->buf, sock[1], chunk);
        FUZZ_CHECK(r > 0);
        FUZZ_CHECK(chunk < 0 || r <= chunk);
        got += (size_t)r;
    }
    FUZZ_CHECK(got == (size_t)w);
    m_append(o, scratch, got);
    /* Nothing more is pending: the next read would block. */
    FUZZ_CHECK(evbuffer_read(o->buf, sock[1], chunk) == -1 &&
               (errno == EAGAIN || errno == EWOULDBLOCK));
}

enum {
    OP_ADD, OP_PRINTF, OP_PREPEND, OP_DRAIN, OP_REMOVE, OP_COPYOUT,
    OP_COPYOUT_FROM, OP_PULLUP, OP_EXPAND, OP_RESERVE, OP_ADD_BUFFER,
    OP_PREPEND_BUFFER, OP_REMOVE_BUFFER, OP_REFERENCE, OP_SEARCH,
    OP_SEARCH_RANGE, OP_PTR, OP_PEEK, OP_READLN, OP_SEARCH_EOL, OP_FREEZE,
    OP_IO, N_OPS
};

static void
quiet_log(int severity, const char *msg)
{
    (void)severity;
    (void)msg;
}

static void
setup_once(void)
{
    static int done;
    int i;

    if (done)
        return;
    done = 1;
    /* Quiet: refused operations may log, and that is expected. */
    event_set_log_callback(quiet_log);
    FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sock) == 0);
    for (i = 0; i < 2; i++)
        FUZZ_CHECK(fcntl(sock[i], F_SETFL, O_NONBLOCK) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size, 0 };
    struct side sides[2];
    int i, steps;

    setup_once();
    n_refs = 0;
    memset(sides, 0, sizeof(sides));
    for (i = 0; i < 2; i++) {
        sides[i].buf = evbuffer_new();
        sides[i].m = malloc(MODEL_MAX);
        FUZZ_CHECK(sides[i].buf != NULL && sides[i].m != NULL);
        FUZZ_CHECK(evbuffer_add_cb(sides[i].buf, len_cb, &sides[i]) != NULL);
    }

    for (steps = 0; steps < MAX_STEPS && !fuzz_done(&in); steps++) {
        uint8_t op = fuzz_u8(&in);
        struct side *s = &sides[op >> 7], *o = &sides[!(op >> 7)];

        switch ((op & 0x7f) % N_OPS) {
        case OP_ADD: op_add(&in, s, 0); break;
        case OP_PRINTF: op_printf(&in, s); break;
        case OP_PREPEND: op_add(&in, s, 1); break;
        case OP_DRAIN: op_drain(&in, s); break;
        case OP_REMOVE: op_copyout(&in, s, 0); break;
        case OP_COPYOUT: op_copyout(&in, s, 1); break;
        case OP_COPYOUT_FROM: op_copyout(&in, s, 2); break;
        case OP_PULLUP: op_pullup(&in, s); break;
        case OP_EXPAND: op_expand(&in, s); break;
        case OP_RESERVE: op_reserve(&in, s); break;
        case OP_ADD_BUFFER: op_move(&in, s, o, 0); break;
        case OP_PREPEND_BUFFER: op_move(&in, s, o, 1); break;
        case OP_REMOVE_BUFFER: op_move(&in, s, o, 2); break;
        case OP_REFERENCE: op_reference(&in, s); break;
        case OP_SEARCH: op_search(&in, s, 0); break;
        case OP_SEARCH_RANGE: op_search(&in, s, 1); break;
        case OP_PTR: op_ptr(&in, s); break;
        case OP_PEEK: op_peek(&in, s); break;
        case OP_READLN: op_readln(&in, s); break;
        case OP_SEARCH_EOL: op_search_eol(&in, s); break;
        case OP_FREEZE: op_freeze(&in, s); break;
        case OP_IO: op_io(&in, s, o); break;
        }
        check_side(&sides[0]);
        check_side(&sides[1]);
    }

    for (i = 0; i < 2; i++) {
        evbuffer_free(sides[i].buf);
        free(sides[i].m);
    }
    for (i = 0; i < n_refs; i++)
        FUZZ_CHECK(refs[i].cleaned);
    return 0;
}

/*
 * buffer-search.c: positions inside an evbuffer and what is found with
 * them -- evbuffer_ptr_set, evbuffer_search(_range), evbuffer_search_eol
 * and evbuffer_readln.
 *
 * A position is an offset plus the chain it falls in and the offset in
 * that chain.  A position never names the end of a chain: it then names
 * the start of the next chain with data, or (chain NULL) the end of the
 * buffer.  Matches and line ends may span any number of chains; nothing
 * here reads past the data, whatever the arguments.
 */
#include "event2/event-config.h"

#include <string.h>

#include "event2/buffer.h"

#include "evbuffer-internal.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

/* A cursor over the bytes of a buffer. */
struct cursor {
    struct evbuffer_chain *chain; /* NULL at the end */
    size_t pic;                   /* offset in chain, < chain->off */
    size_t pos;                   /* offset in the buffer */
};

/* Move the cursor off the end of its chain (and over empty chains). */
static void
cursor_settle(struct cursor *c)
{
    while (c->chain && c->pic >= c->chain->off) {
        c->pic -= c->chain->off;
        c->chain = c->chain->next;
    }
}

static unsigned char
cursor_byte(const struct cursor *c)
{
    return EVBUFFER_CHAIN_DATA(c->chain)[c->pic];
}

static void
cursor_advance(struct cursor *c, size_t n)
{
    c->pic += n;
    c->pos += n;
    cursor_settle(c);
}

static void
ptr_not_found(struct evbuffer_ptr *p)
{
    p->pos = -1;
    p->internal_.chain = NULL;
    p->internal_.pos_in_chain = 0;
}

static void
cursor_to_ptr(const struct cursor *c, struct evbuffer_ptr *p)
{
    p->pos = (ev_ssize_t)c->pos;
    p->internal_.chain = c->chain;
    p->internal_.pos_in_chain = c->chain ? c->pic : 0;
}

int
evbuffer_ptr_resolve_(struct evbuffer *buf, const struct evbuffer_ptr *pos,
    struct evbuffer_chain **chainp, size_t *pos_in_chain)
{
    struct cursor c;

    if (pos == NULL) {
        c.chain = buf->first;
        c.pic = 0;
    } else {
        if (pos->pos < 0 || (size_t)pos->pos > buf->total_len)
            return -1;
        if (pos->internal_.chain) {
            c.chain = pos->internal_.chain;
            c.pic = pos->internal_.pos_in_chain;
            if (c.pic > c.chain->off)
                return -1;
        } else {
            /* An end position, possibly from before data was added. */
            c.chain = buf->first;
            c.pic = (size_t)pos->pos;
        }
    }
    cursor_settle(&c);
    *chainp = c.chain;
    *pos_in_chain = c.chain ? c.pic : 0;
    return 0;
}

/* Start a cursor at start (NULL: the beginning); -1 if start is not a
 * valid position. */
static int
cursor_start(struct evbuffer *buf, const struct evbuffer_ptr *start,
    struct cursor *c)
{
    if (evbuffer_ptr_resolve_(buf, start, &c->chain, &c->pic) < 0)
        return -1;
    c->pos = start ? (size_t)start->pos : 0;
    return 0;
}

int
evbuffer_ptr_set(struct evbuffer *buf, struct evbuffer_ptr *ptr,
    size_t position, enum evbuffer_ptr_how how)
{
    struct cursor c;
    int result = -1;

    EV_REFUSE_NULL_(buf, -1);
    EV_REFUSE_NULL_(ptr, -1);
    EVBUFFER_LOCK(buf);
    switch (how) {
    case EVBUFFER_PTR_SET:
        if (position > buf->total_len)
            goto not_found;
        c.chain = buf->first;
        c.pic = 0;
        c.pos = 0;
        break;
    case EVBUFFER_PTR_ADD:
        /* An invalid pointer stays invalid. */
        if (ptr->pos < 0)
            goto done;
        if (position > buf->total_len ||
            (size_t)ptr->pos > buf->total_len - position)
            goto not_found;
        if (cursor_start(buf, ptr, &c) < 0)
            goto not_found;
        break;
    default:
        goto done;
    }
    cursor_settle(&c);
    cursor_advance(&c, position);
    cursor_to_ptr(&c, ptr);
    result = 0;
    goto done;
not_found:
    ptr_not_found(ptr);
done:
    EVBUFFER_UNLOCK(buf);
    return result;
}

/* Do the len bytes at c equal what?  (len bytes must be there.) */
static int
matches_at(const struct cursor *at, const char *what, size_t len)
{
    struct evbuffer_chain *chain = at->chain;
    size_t pic = at->pic, n;

    while (len > 0) {
        n = chain->off - pic;
        if (n > len)
            n = len;
        if (memcmp(EVBUFFER_CHAIN_DATA(chain) + pic, what, n))
            return 0;
        what += n;
        len -= n;
        chain = chain->next;
        pic = 0;
    }
    return 1;
}

/* Search [start, limit) for what; the result is the position of the
 * first match that ends at or before limit. */
static struct evbuffer_ptr
search_in(struct evbuffer *buf, const char *what, size_t len,
    const struct evbuffer_ptr *start, size_t limit)
{
    struct evbuffer_ptr result;
    struct cursor c;
    const unsigned char *base, *hit;
    size_t last_start, scan;

    ptr_not_found(&result);
    if (cursor_start(buf, start, &c) < 0)
        return result;
    if (len == 0) {
        /* The empty string is found where the search starts. */
        cursor_to_ptr(&c, &result);
        return result;
    }
    if (limit > buf->total_len)
        limit = buf->total_len;
    if (len > limit || c.pos > limit - len)
        return result;
    if (EVBUFFER_MATERIALIZE(buf) < 0)
        return result;
    /* Materializing does not move data within chains: c stays valid. */

    last_start = limit - len; /* the last offset a match may start at */
    while (c.chain && c.pos <= last_start) {
        base = EVBUFFER_CHAIN_DATA(c.chain);
        scan = c.chain->off - c.pic;
        if (scan > last_start - c.pos + 1)
            scan = last_start - c.pos + 1;
        hit = memchr(base + c.pic, (unsigned char)what[0], scan);
        if (hit == NULL) {
            cursor_advance(&c, scan);
            continue;
        }
        cursor_advance(&c, (size_t)(hit - (base + c.pic)));
        if (matches_at(&c, what, len)) {
            cursor_to_ptr(&c, &result);
            return result;
        }
        cursor_advance(&c, 1);
    }
    return result;
}

struct evbuffer_ptr
evbuffer_search_range(struct evbuffer *buf, const char *what, size_t len,
    const struct evbuffer_ptr *start, const struct evbuffer_ptr *end)
{
    struct evbuffer_ptr result;
    size_t limit;

    ptr_not_found(&result);
    EV_REFUSE_NULL_(buf, result);
    if (len > 0)
        EV_REFUSE_NULL_(what, result);
    if (len > (size_t)EV_SSIZE_MAX)
        return result;
    EVBUFFER_LOCK(buf);
    if (end) {
        if (end->pos < 0)
            goto done;
        limit = (size_t)end->pos;
    } else {
        limit = buf->total_len;
    }
    result = search_in(buf, what, len, start, limit);
done:
    EVBUFFER_UNLOCK(buf);
    return result;
}

struct evbuffer_ptr
evbuffer_search(struct evbuffer *buf, const char *what, size_t len,
    const struct evbuffer_ptr *start)
{
    struct evbuffer_ptr result;

    ptr_not_found(&result);
    EV_REFUSE_NULL_(buf, result);
    if (len > 0)
        EV_REFUSE_NULL_(what, result);
    return evbuffer_search_range(buf, what, len, start, NULL);
}

/* Advance c to the first byte equal to a or b; 0, or -1 if none. */
static int
find_either(struct cursor *c, unsigned char a, unsigned char b)
{
    const unsigned char *start, *p, *end;

    while (c->chain) {
        start = EVBUFFER_CHAIN_DATA(c->chain) + c->pic;
        end = EVBUFFER_CHAIN_DATA(c->chain) + c->chain->off;
        for (p = start; p < end; ++p) {
            if (*p == a || *p == b) {
                cursor_advance(c, (size_t)(p - start));
                return 0;
            }
        }
        cursor_advance(c, (size_t)(end - start));
    }
    return -1;
}

/* Find the end of line at or after c; sets *eol_len. */
static int
find_eol(struct evbuffer *buf, struct cursor *c, size_t *eol_len,
    enum evbuffer_eol_style style)
{
    struct cursor run;
    struct evbuffer_ptr p, hit;

    switch (style) {
    case EVBUFFER_EOL_ANY:
        /* Any run of CR and LF characters. */
        if (find_either(c, '\r', '\n') < 0)
            return -1;
        run = *c;
        *eol_len = 0;
        while (run.chain &&
               (cursor_byte(&run) == '\r' || cursor_byte(&run) == '\n')) {
            ++*eol_len;
            cursor_advance(&run, 1);
        }
        return 0;
    case EVBUFFER_EOL_CRLF:
        /* LF, or CR LF; a CR not followed by LF is data. */
        while (find_either(c, '\r', '\n') == 0) {
            if (cursor_byte(c) == '\n') {
                *eol_len = 1;
                return 0;
            }
            run = *c;
            cursor_advance(&run, 1);
            if (run.chain && cursor_byte(&run) == '\n') {
                *eol_len = 2;
                return 0;
            }
            *c = run;
        }
        return -1;
    case EVBUFFER_EOL_CRLF_STRICT:
        cursor_to_ptr(c, &p);
        hit = search_in(buf, "\r\n", 2, &p, buf->total_len);
        if (hit.pos < 0)
            return -1;
        c->chain = hit.internal_.chain;
        c->pic = hit.internal_.pos_in_chain;
        c->pos = (size_t)hit.pos;
        *eol_len = 2;
        return 0;
    case EVBUFFER_EOL_LF:
        if (find_either(c, '\n', '\n') < 0)
            return -1;
        *eol_len = 1;
        return 0;
    case EVBUFFER_EOL_NUL:
        if (find_either(c, '\0', '\0') < 0)
            return -1;
        *eol_len = 1;
        return 0;
    default:
        return -1;
    }
}

struct evbuffer_ptr
evbuffer_search_eol(struct evbuffer *buf, struct evbuffer_ptr *start,
    size_t *eol_len_out, enum evbuffer_eol_style eol_style)
{
    struct evbuffer_ptr result;
    struct cursor c;
    size_t eol_len = 0;

    ptr_not_found(&result);
    EV_REFUSE_NULL_(buf, result);
    EVBUFFER_LOCK(buf);
    if (cursor_start(buf, start, &c) < 0)
        goto done;
    if (EVBUFFER_MATERIALIZE(buf) < 0)
        goto done;
    if (find_eol(buf, &c, &eol_len, eol_style) < 0) {
        eol_len = 0;
        goto done;
    }
    cursor_to_ptr(&c, &result);
done:
    EVBUFFER_UNLOCK(buf);
    if (eol_len_out)
        *eol_len_out = eol_len;
    return result;
}

char *
evbuffer_readln(struct evbuffer *buf, size_t *n_read_out,
    enum evbuffer_eol_style eol_style)
{
    struct evbuffer_ptr it;
    size_t n = 0, eol_len = 0;
    char *line = NULL;

    EV_REFUSE_NULL_(buf, NULL);
    EVBUFFER_LOCK(buf);
    if (buf->freeze_start)
        goto done;
    it = evbuffer_search_eol(buf, NULL, &eol_len, eol_style);
    if (it.pos < 0)
        goto done;
    n = (size_t)it.pos;
    line = mm_malloc(n + 1);
    if (line == NULL) {
        event_warn("%s: out of memory", __func__);
        goto done;
    }
    evbuffer_copy_from_chain_(buf->first, 0, line, n);
    line[n] = '\0';
    /* As libevent: the line and its end go in two drains, each with
     * its callback run (none for an empty line).  The second drains
     * eol_len bytes of whatever a callback of the first left in front. */
    if (n > 0)
        (void)evbuffer_drain(buf, n);
    (void)evbuffer_drain(buf, eol_len);
done:
    EVBUFFER_UNLOCK(buf);
    if (n_read_out)
        *n_read_out = line ? n : 0;
    return line;
}

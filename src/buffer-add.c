/*
 * buffer-add.c: putting bytes into an evbuffer -- evbuffer_add,
 * evbuffer_prepend, evbuffer_expand, evbuffer_reserve_space and
 * evbuffer_commit_space, evbuffer_add_reference, evbuffer_add_printf and
 * evbuffer_add_iovec -- and the free-space helpers evbuffer_read uses.
 *
 * Every size is checked before anything changes: the buffer may never
 * hold more than EV_SSIZE_MAX bytes (CVE-2014-6272 and CVE-2015-6525 were
 * overflows of exactly these sums), and a failed call leaves the buffer
 * as it was, with nothing allocated.
 */
#include "event2/event-config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event2/buffer.h"

#include "evbuffer-internal.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

/* Chains made while appending grow up to this size (libevent's
 * EVBUFFER_CHAIN_MAX_AUTO_SIZE); larger writes get a chain of their own
 * size. */
#define MAX_AUTO_CHAIN 4096
/* Data of at most this size is moved to the front of its chain to make
 * room at the end, instead of starting a new chain. */
#define MAX_TO_REALIGN 2048

/* Room for datlen more bytes without passing EV_SSIZE_MAX. */
#define FITS(buf, datlen) ((datlen) <= EVBUFFER_CHAIN_MAX - (buf)->total_len)

/* Size for a chain made to append after chain: double, up to
 * MAX_AUTO_CHAIN. */
static size_t
growth_hint(const struct evbuffer_chain *chain)
{
    size_t hint = chain ? chain->buffer_len : 0;

    if (hint <= MAX_AUTO_CHAIN / 2)
        hint <<= 1;
    if (hint > MAX_AUTO_CHAIN)
        hint = MAX_AUTO_CHAIN;
    return hint;
}

int
evbuffer_add_nolock_(struct evbuffer *buf, const void *data_in,
    size_t datlen)
{
    const unsigned char *data = data_in;
    struct evbuffer_chain *chain, *next;
    size_t part = 0;

    ASSERT_EVBUFFER_LOCKED(buf);
    if (datlen == 0)
        return 0;
    if (data == NULL || !FITS(buf, datlen))
        return -1;

    chain = *buf->last_with_datap;
    if (buf->total_len == 0 || chain == NULL) {
        chain = evbuffer_expand_singlechain_(buf, datlen, datlen);
        if (chain == NULL)
            return -1;
        memcpy(EVBUFFER_CHAIN_SPACE_PTR(chain), data, datlen);
        evbuffer_append_commit_(buf, chain, datlen);
        return 0;
    }

    if (EVBUFFER_CHAIN_WRITABLE(chain)) {
        part = EVBUFFER_CHAIN_SPACE(chain);
        if (part < datlen && chain->misalign > 0 &&
            chain->buffer_len - chain->off >= datlen &&
            chain->off < chain->buffer_len / 2 &&
            chain->off <= MAX_TO_REALIGN) {
            memmove(chain->buffer, EVBUFFER_CHAIN_DATA(chain), chain->off);
            chain->misalign = 0;
            part = EVBUFFER_CHAIN_SPACE(chain);
        }
        if (part >= datlen) {
            memcpy(EVBUFFER_CHAIN_SPACE_PTR(chain), data, datlen);
            evbuffer_append_commit_(buf, chain, datlen);
            return 0;
        }
    }

    /* Fill what room the last chain has and put the rest in the chain
     * after it; get that chain before touching anything. */
    next = chain->next;
    if (!(next && EVBUFFER_CHAIN_WRITABLE(next) &&
            next->buffer_len >= datlen - part)) {
        size_t hint = growth_hint(chain);

        next = evbuffer_chain_new_(datlen - part > hint ? datlen - part
                                                        : hint);
        if (next == NULL)
            return -1;
        evbuffer_chain_insert_(buf, next);
    }
    next->misalign = 0;
    if (part) {
        memcpy(EVBUFFER_CHAIN_SPACE_PTR(chain), data, part);
        evbuffer_append_commit_(buf, chain, part);
    }
    memcpy(next->buffer, data + part, datlen - part);
    evbuffer_append_commit_(buf, next, datlen - part);
    return 0;
}

int
evbuffer_add(struct evbuffer *buf, const void *data, size_t datlen)
{
    int result = -1;

    EV_REFUSE_NULL_(buf, -1);
    if (datlen > 0)
        EV_REFUSE_NULL_(data, -1);
    EVBUFFER_LOCK(buf);
    if (buf->freeze_end)
        goto done;
    result = evbuffer_add_nolock_(buf, data, datlen);
    /* Adding nothing still reaches the callbacks, as in libevent: they
     * do not run, but a deferred run is scheduled, which fixes its place
     * in the loop's queue. */
    if (result == 0) {
        EVBUFFER_CHECK(buf);
        evbuffer_invoke_callbacks_(buf);
    }
done:
    EVBUFFER_UNLOCK(buf);
    return result;
}

int
evbuffer_prepend(struct evbuffer *buf, const void *data_in, size_t datlen)
{
    const unsigned char *data = data_in;
    struct evbuffer_chain *chain, *fresh;
    size_t part = 0;
    int result = -1;

    EV_REFUSE_NULL_(buf, -1);
    if (datlen > 0)
        EV_REFUSE_NULL_(data, -1);
    EVBUFFER_LOCK(buf);
    if (datlen == 0) {
        /* Nothing to do, frozen front or not, as in libevent (and no
         * callbacks); an empty chain in front would break the list. */
        result = 0;
        goto done;
    }
    if (buf->freeze_start)
        goto done;
    if (!FITS(buf, datlen))
        goto done;

    chain = buf->first;
    if (buf->total_len == 0) {
        /* Put the data at the end of a chain, leaving room in front of
         * it for more prepends. */
        chain = evbuffer_expand_singlechain_(buf, datlen, datlen);
        if (chain == NULL)
            goto done;
        chain->misalign = chain->buffer_len - datlen;
        memcpy(EVBUFFER_CHAIN_DATA(chain), data, datlen);
        chain->off = datlen;
        goto added;
    }

    if (EVBUFFER_CHAIN_WRITABLE(chain)) {
        part = chain->misalign < datlen ? chain->misalign : datlen;
        if (part == datlen) {
            chain->misalign -= datlen;
            chain->off += datlen;
            memcpy(EVBUFFER_CHAIN_DATA(chain), data, datlen);
            goto added;
        }
    }

    /* The tail of the data goes in front of the first chain's data, the
     * head into a new chain laid out for more prepends. */
    fresh = evbuffer_chain_new_(datlen - part);
    if (fresh == NULL)
        goto done;
    if (part) {
        chain->misalign -= part;
        chain->off += part;
        memcpy(EVBUFFER_CHAIN_DATA(chain), data + datlen - part, part);
    }
    fresh->misalign = fresh->buffer_len - (datlen - part);
    fresh->off = datlen - part;
    memcpy(EVBUFFER_CHAIN_DATA(fresh), data, datlen - part);
    fresh->next = buf->first;
    buf->first = fresh;
    /* If the old first chain was the last with data, the link to it is
     * now fresh->next. */
    if (buf->last_with_datap == &buf->first)
        buf->last_with_datap = &fresh->next;

added:
    buf->total_len += datlen;
    buf->n_add_for_cb += datlen;
    result = 0;
    EVBUFFER_CHECK(buf);
    evbuffer_invoke_callbacks_(buf);
done:
    EVBUFFER_UNLOCK(buf);
    return result;
}

int
evbuffer_expand(struct evbuffer *buf, size_t datlen)
{
    struct evbuffer_chain *chain;

    EV_REFUSE_NULL_(buf, -1);
    EVBUFFER_LOCK(buf);
    chain = evbuffer_expand_singlechain_(buf, datlen, datlen);
    EVBUFFER_CHECK(buf);
    EVBUFFER_UNLOCK(buf);
    return chain ? 0 : -1;
}

/* The first chain that can take appended bytes: the last chain with data
 * if it has room, else the one after it.  Returns the link to it. */
static struct evbuffer_chain **
first_space_link(struct evbuffer *buf)
{
    struct evbuffer_chain **link = buf->last_with_datap;

    if (buf->total_len && *link && EVBUFFER_CHAIN_SPACE(*link) == 0)
        link = &(*link)->next;
    return link;
}

/* Make the free space of the chains from the first one with room (see
 * first_space_link) cover datlen, using at most n of them, as libevent
 * does: space that is already there is kept; with fewer than n chains to
 * use, one chain for the missing bytes goes at the end; only when all n
 * are used (or a chain that cannot be written to stops the walk) are the
 * empty chains after the data replaced by one chain for what the last
 * chain with data cannot take.  A new chain is allocated before any
 * chain is freed, so a failure changes nothing. */
int
evbuffer_expand_fast_(struct evbuffer *buf, size_t datlen, int n)
{
    struct evbuffer_chain *chain, *lwd, *fresh;
    size_t avail = 0, lwd_space = 0;
    int used = 0;

    ASSERT_EVBUFFER_LOCKED(buf);
    if (!FITS(buf, datlen))
        return -1;
    if (n < 2)
        return evbuffer_expand_singlechain_(buf, datlen, datlen) ? 0 : -1;

    if (buf->last == NULL || !EVBUFFER_CHAIN_WRITABLE(buf->last)) {
        /* Nothing at the end to build on: one chain for everything. */
        fresh = evbuffer_chain_new_(datlen);
        if (fresh == NULL)
            return -1;
        evbuffer_chain_insert_(buf, fresh);
        return 0;
    }

    lwd = *buf->last_with_datap;
    if (buf->total_len)
        lwd_space = EVBUFFER_CHAIN_SPACE(lwd);

    /* The last chain with data counts if it has room; every empty chain
     * after it counts with all of its block. */
    for (chain = lwd; chain; chain = chain->next) {
        if (chain->off) {
            if (lwd_space) {
                avail += lwd_space;
                ++used;
            }
        } else {
            if (!EVBUFFER_CHAIN_WRITABLE(chain))
                break;
            chain->misalign = 0;
            avail += chain->buffer_len;
            ++used;
        }
        if (avail >= datlen)
            return 0;
        if (used == n)
            break;
    }

    if (chain == NULL) {
        /* Fewer than n chains: one more at the end for the rest.  It is
         * empty, so last_with_datap stays. */
        fresh = evbuffer_chain_new_(datlen - avail);
        if (fresh == NULL)
            return -1;
        buf->last->next = fresh;
        buf->last = fresh;
        return 0;
    }

    /* All n used: keep the room of the last chain with data and put one
     * chain for the rest after it, instead of the empty chains. */
    fresh = evbuffer_chain_new_(datlen - lwd_space);
    if (fresh == NULL)
        return -1;
    evbuffer_chain_insert_(buf, fresh);
    return 0;
}

int
evbuffer_read_setup_vecs_(struct evbuffer *buf, ev_ssize_t howmuch,
    struct evbuffer_iovec *vecs, int n_vecs_avail,
    struct evbuffer_chain ***chainp, int exact)
{
    struct evbuffer_chain *chain, **firstlink;
    size_t so_far = 0, avail;
    int i = 0;

    ASSERT_EVBUFFER_LOCKED(buf);
    if (howmuch < 0)
        return -1;

    firstlink = first_space_link(buf);
    *chainp = firstlink;
    for (chain = *firstlink; chain && i < n_vecs_avail &&
                             so_far < (size_t)howmuch;
         chain = chain->next) {
        if (!EVBUFFER_CHAIN_WRITABLE(chain))
            break;
        avail = EVBUFFER_CHAIN_SPACE(chain);
        if (exact && avail > (size_t)howmuch - so_far)
            avail = (size_t)howmuch - so_far;
        vecs[i].iov_base = (void *)EVBUFFER_CHAIN_SPACE_PTR(chain);
        vecs[i].iov_len = avail;
        so_far += avail;
        ++i;
    }
    return i;
}

int
evbuffer_reserve_space(struct evbuffer *buf, ev_ssize_t size,
    struct evbuffer_iovec *vec, int n_vecs)
{
    struct evbuffer_chain *chain, **chainp;
    int n = -1;

    EV_REFUSE_NULL_(buf, -1);
    if (n_vecs > 0)
        EV_REFUSE_NULL_(vec, -1);
    EVBUFFER_LOCK(buf);
    if (buf->freeze_end || n_vecs < 1 || size < 0)
        goto done;
    if (n_vecs == 1) {
        chain = evbuffer_expand_singlechain_(buf, (size_t)size, (size_t)size);
        if (chain == NULL)
            goto done;
        vec[0].iov_base = (void *)EVBUFFER_CHAIN_SPACE_PTR(chain);
        vec[0].iov_len = EVBUFFER_CHAIN_SPACE(chain);
        n = 1;
    } else {
        /* Up to n_vecs extents, in the chains at the end of the buffer. */
        if (evbuffer_expand_fast_(buf, (size_t)size, n_vecs) < 0)
            goto done;
        n = evbuffer_read_setup_vecs_(buf, size, vec, n_vecs, &chainp, 0);
    }
    EVBUFFER_CHECK(buf);
done:
    EVBUFFER_UNLOCK(buf);
    return n;
}

/* Does vec describe (a prefix of) the free space of chain? */
static int
vec_matches(const struct evbuffer_chain *chain,
    const struct evbuffer_iovec *vec)
{
    return chain && EVBUFFER_CHAIN_WRITABLE(chain) &&
           vec->iov_base == (void *)EVBUFFER_CHAIN_SPACE_PTR(chain) &&
           vec->iov_len <= EVBUFFER_CHAIN_SPACE(chain);
}

int
evbuffer_commit_space(struct evbuffer *buf, struct evbuffer_iovec *vec,
    int n_vecs)
{
    struct evbuffer_chain **firstlink, **link, *chain;
    size_t added = 0;
    int i, result = -1;

    EV_REFUSE_NULL_(buf, -1);
    if (n_vecs > 0)
        EV_REFUSE_NULL_(vec, -1);
    EVBUFFER_LOCK(buf);
    if (buf->freeze_end || n_vecs < 0)
        goto done;
    if (n_vecs == 0) {
        result = 0;
        goto done;
    }

    /* The extents start at the last chain with data (if it had room) or
     * at the chain after it, as reserve_space handed them out. */
    firstlink = buf->last_with_datap;
    if (!vec_matches(*firstlink, &vec[0]) && *firstlink &&
        buf->total_len > 0)
        firstlink = &(*firstlink)->next;
    if (n_vecs == 1 && *firstlink && !vec_matches(*firstlink, &vec[0]) &&
        vec_matches(buf->last, &vec[0])) {
        /* Only the last of several extents was used, which libevent
         * accepts too; the empty chains before it go below. */
        while ((*firstlink)->next)
            firstlink = &(*firstlink)->next;
    }

    /* Check everything before changing anything. */
    link = firstlink;
    for (i = 0; i < n_vecs; ++i) {
        if (!vec_matches(*link, &vec[i]))
            goto done;
        if (vec[i].iov_len > EVBUFFER_CHAIN_MAX - buf->total_len - added)
            goto done;
        added += vec[i].iov_len;
        link = &(*link)->next;
    }

    link = firstlink;
    for (i = 0; i < n_vecs; ++i) {
        (*link)->off += vec[i].iov_len;
        link = &(*link)->next;
    }

    if (added) {
        struct evbuffer_chain **last_data_link = NULL;

        link = firstlink;
        for (i = 0; i < n_vecs; ++i) {
            if ((*link)->off)
                last_data_link = link;
            link = &(*link)->next;
        }
        EVUTIL_ASSERT(last_data_link != NULL);
        /* An extent left unused before one that got bytes would leave an
         * empty chain in front of data: unlink it.  (Any chain before
         * firstlink and after the old data is empty as well.) */
        link = buf->last_with_datap;
        while (link != last_data_link) {
            chain = *link;
            if (chain->off == 0) {
                if (last_data_link == &chain->next)
                    last_data_link = link;
                *link = chain->next;
                evbuffer_chain_free_(chain);
            } else {
                link = &chain->next;
            }
        }
        buf->last_with_datap = last_data_link;
        buf->total_len += added;
        buf->n_add_for_cb += added;
    }
    result = 0;
    EVBUFFER_CHECK(buf);
    /* Even committing zero bytes (see evbuffer_add). */
    evbuffer_invoke_callbacks_(buf);
done:
    EVBUFFER_UNLOCK(buf);
    return result;
}

int
evbuffer_add_reference(struct evbuffer *outbuf, const void *data,
    size_t datlen, evbuffer_ref_cleanup_cb cleanupfn, void *extra)
{
    struct evbuffer_chain *chain;
    struct evbuffer_chain_reference *info;
    int result = -1;

    EV_REFUSE_NULL_(outbuf, -1);
    if (datlen > 0)
        EV_REFUSE_NULL_(data, -1);
    chain = evbuffer_chain_new_special_(
        sizeof(struct evbuffer_chain_reference));
    if (chain == NULL)
        return -1;
    chain->flags |= EVBUFFER_REFERENCE | EVBUFFER_IMMUTABLE;
    chain->buffer = (unsigned char *)data;
    chain->buffer_len = datlen;
    chain->off = datlen;
    info = EVBUFFER_CHAIN_EXTRA(struct evbuffer_chain_reference, chain);
    info->cleanupfn = cleanupfn;
    info->extra = extra;

    EVBUFFER_LOCK(outbuf);
    if (outbuf->freeze_end || !FITS(outbuf, datlen)) {
        /* Failure: the caller keeps the memory; no cleanup call. */
        mm_free(chain);
        goto done;
    }
    /* A zero-length reference is kept as an empty chain after the data,
     * so its cleanup runs once, when that chain is freed. */
    evbuffer_chain_insert_(outbuf, chain);
    outbuf->total_len += datlen;
    outbuf->n_add_for_cb += datlen;
    result = 0;
    EVBUFFER_CHECK(outbuf);
    evbuffer_invoke_callbacks_(outbuf);
done:
    EVBUFFER_UNLOCK(outbuf);
    return result;
}

int
evbuffer_add_vprintf(struct evbuffer *buf, const char *fmt, va_list ap)
{
    struct evbuffer_chain *chain;
    size_t need = 64, space;
    int sz, result = -1;
    va_list aq;

    EV_REFUSE_NULL_(buf, -1);
    EV_REFUSE_NULL_(fmt, -1);
    EVBUFFER_LOCK(buf);
    if (buf->freeze_end)
        goto done;

    for (;;) {
        chain = evbuffer_expand_singlechain_(buf, need, need);
        if (chain == NULL)
            goto done;
        space = EVBUFFER_CHAIN_SPACE(chain);
        if (space > (size_t)EV_INT32_MAX)
            space = (size_t)EV_INT32_MAX;
        va_copy(aq, ap);
        sz = vsnprintf((char *)EVBUFFER_CHAIN_SPACE_PTR(chain), space, fmt,
            aq);
        va_end(aq);
        if (sz < 0)
            goto done;
        if ((size_t)sz < space) {
            if (!FITS(buf, (size_t)sz))
                goto done;
            evbuffer_append_commit_(buf, chain, (size_t)sz);
            result = sz;
            EVBUFFER_CHECK(buf);
            evbuffer_invoke_callbacks_(buf);
            goto done;
        }
        /* vsnprintf wrote a NUL in the room, never past it; ask for room
         * for the whole string and its NUL. */
        if (sz == EV_INT32_MAX)
            goto done;
        need = (size_t)sz + 1;
    }
done:
    EVBUFFER_UNLOCK(buf);
    return result;
}

int
evbuffer_add_printf(struct evbuffer *buf, const char *fmt, ...)
{
    int res;
    va_list ap;

    EV_REFUSE_NULL_(buf, -1);
    EV_REFUSE_NULL_(fmt, -1);
    va_start(ap, fmt);
    res = evbuffer_add_vprintf(buf, fmt, ap);
    va_end(ap);
    return res;
}

size_t
evbuffer_add_iovec(struct evbuffer *buf, struct evbuffer_iovec *vec,
    int n_vec)
{
    size_t to_add = 0, res = 0;
    int i;

    EV_REFUSE_NULL_(buf, 0);
    if (n_vec <= 0)
        return 0;
    EV_REFUSE_NULL_(vec, 0);

    EVBUFFER_LOCK(buf);
    if (buf->freeze_end)
        goto done;
    for (i = 0; i < n_vec; ++i) {
        if (vec[i].iov_len > EVBUFFER_CHAIN_MAX - to_add)
            goto done;
        if (vec[i].iov_base == NULL && vec[i].iov_len > 0)
            goto done;
        to_add += vec[i].iov_len;
    }
    if (!FITS(buf, to_add))
        goto done;
    /* One allocation up front; the adds below then only copy. */
    if (evbuffer_expand_fast_(buf, to_add, 2) < 0)
        goto done;
    for (i = 0; i < n_vec; ++i) {
        if (evbuffer_add(buf, vec[i].iov_base, vec[i].iov_len) < 0)
            break;
        res += vec[i].iov_len;
    }
done:
    EVBUFFER_UNLOCK(buf);
    return res;
}

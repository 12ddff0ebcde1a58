/*
 * buffer-move.c: moving data between evbuffers without copying --
 * evbuffer_add_buffer, evbuffer_prepend_buffer, evbuffer_remove_buffer --
 * and sharing it, evbuffer_add_buffer_reference.
 *
 * Whole chains change lists; only the part of a chain that a
 * remove_buffer splits is copied.  Both buffers are locked together
 * (EVBUFFER_LOCK2, address order).  The source's callbacks run before the
 * destination's, except for a remove_buffer of part of the source (as in
 * libevent 2.1).  A buffer reference is a "multicast" chain: it shows the
 * memory of a chain of the source, holds a reference on that chain
 * (refcnt) and on the source buffer, and drops both when freed.
 */
#include "event2/event-config.h"

#include <string.h>

#include "event2/buffer.h"

#include "evbuffer-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

/* Room for datlen more bytes without passing EV_SSIZE_MAX. */
#define FITS(buf, datlen) ((datlen) <= EVBUFFER_CHAIN_MAX - (buf)->total_len)

/* Forget every chain of buf (they now belong to someone else). */
static void
reset_empty(struct evbuffer *buf)
{
    buf->first = buf->last = NULL;
    buf->last_with_datap = &buf->first;
    buf->total_len = 0;
    buf->has_sendfile = 0;
}

/* Append all chains of src (which has data) to dst. */
static void
move_all(struct evbuffer *dst, struct evbuffer *src)
{
    struct evbuffer_chain **where;
    size_t len = src->total_len;

    where = evbuffer_free_trailing_empty_chains_(dst);
    *where = src->first;
    dst->last = src->last;
    if (src->last_with_datap == &src->first)
        dst->last_with_datap = where;
    else
        dst->last_with_datap = src->last_with_datap;
    dst->total_len += len;
    dst->has_sendfile |= src->has_sendfile;
    dst->n_add_for_cb += len;
    src->n_del_for_cb += len;
    reset_empty(src);
}

int
evbuffer_add_buffer(struct evbuffer *outbuf, struct evbuffer *inbuf)
{
    int result = -1;

    EV_REFUSE_NULL_(outbuf, -1);
    EV_REFUSE_NULL_(inbuf, -1);
    EVBUFFER_LOCK2(inbuf, outbuf);
    /* As libevent 2.1: moving nothing succeeds even when frozen. */
    if (inbuf->total_len == 0 || outbuf == inbuf) {
        result = 0;
        goto done;
    }
    if (outbuf->freeze_end || inbuf->freeze_start)
        goto done;
    result = 0;
    if (!FITS(outbuf, inbuf->total_len)) {
        result = -1;
        goto done;
    }
    move_all(outbuf, inbuf);
    EVBUFFER_CHECK(inbuf);
    EVBUFFER_CHECK(outbuf);
    evbuffer_invoke_callbacks_(inbuf);
    evbuffer_invoke_callbacks_(outbuf);
done:
    EVBUFFER_UNLOCK2(inbuf, outbuf);
    return result;
}

int
evbuffer_prepend_buffer(struct evbuffer *outbuf, struct evbuffer *inbuf)
{
    size_t len;
    int result = -1;

    EV_REFUSE_NULL_(outbuf, -1);
    EV_REFUSE_NULL_(inbuf, -1);
    EVBUFFER_LOCK2(inbuf, outbuf);
    /* As libevent 2.1: moving nothing succeeds even when frozen. */
    len = inbuf->total_len;
    if (len == 0 || outbuf == inbuf) {
        result = 0;
        goto done;
    }
    if (outbuf->freeze_start || inbuf->freeze_start)
        goto done;
    result = 0;
    if (!FITS(outbuf, len)) {
        result = -1;
        goto done;
    }

    if (outbuf->total_len == 0) {
        move_all(outbuf, inbuf);
    } else {
        /* inbuf's spare chains would sit before outbuf's data. */
        evbuffer_free_trailing_empty_chains_(inbuf);
        inbuf->last->next = outbuf->first;
        outbuf->first = inbuf->first;
        if (outbuf->last_with_datap == &outbuf->first)
            outbuf->last_with_datap = &inbuf->last->next;
        outbuf->total_len += len;
        outbuf->has_sendfile |= inbuf->has_sendfile;
        outbuf->n_add_for_cb += len;
        inbuf->n_del_for_cb += len;
        reset_empty(inbuf);
    }
    EVBUFFER_CHECK(inbuf);
    EVBUFFER_CHECK(outbuf);
    evbuffer_invoke_callbacks_(inbuf);
    evbuffer_invoke_callbacks_(outbuf);
done:
    EVBUFFER_UNLOCK2(inbuf, outbuf);
    return result;
}

int
evbuffer_remove_buffer(struct evbuffer *src, struct evbuffer *dst,
    size_t datlen)
{
    struct evbuffer_chain *chain, *head = NULL, **last_link = NULL;
    struct evbuffer_chain **where, **link;
    size_t nread = 0, rest;
    int result = -1;

    EV_REFUSE_NULL_(src, -1);
    EV_REFUSE_NULL_(dst, -1);
    EVBUFFER_LOCK2(src, dst);
    if (datlen == 0 || dst == src) {
        result = 0;
        goto done;
    }
    if (dst->freeze_end || src->freeze_start)
        goto done;
    /* The count is returned as an int. */
    if (datlen > (size_t)EV_INT32_MAX)
        datlen = (size_t)EV_INT32_MAX;
    if (datlen >= src->total_len) {
        datlen = src->total_len;
        if (datlen == 0) {
            result = 0;
            goto done;
        }
        if (!FITS(dst, datlen))
            goto done;
        move_all(dst, src);
        nread = datlen;
        goto moved;
    }
    if (!FITS(dst, datlen))
        goto done;

    /* Take whole chains while they fit; data stays behind, so this stops
     * on a chain with data, at or before the last chain with data. */
    link = &src->first;
    for (chain = src->first; chain->off <= datlen - nread;
         chain = chain->next) {
        nread += chain->off;
        last_link = link;
        link = &chain->next;
    }
    if (last_link) {
        /* *last_link is the last whole chain, chain the one after it. */
        struct evbuffer_chain *lastwhole = *last_link;

        head = src->first;
        src->first = chain;
        if (src->last_with_datap == &lastwhole->next)
            src->last_with_datap = &src->first;
        lastwhole->next = NULL;
        src->total_len -= nread;

        where = evbuffer_free_trailing_empty_chains_(dst);
        *where = head;
        dst->last = lastwhole;
        dst->last_with_datap = (last_link == &src->first) ? where : last_link;
        dst->total_len += nread;
        if (src->has_sendfile)
            dst->has_sendfile = 1;
        dst->n_add_for_cb += nread;
        src->n_del_for_cb += nread;
    }

    /* Copy the part of the next chain that was asked for. */
    rest = datlen - nread;
    if (rest > 0) {
        chain = src->first;
        if ((chain->flags & EVBUFFER_SENDFILE) &&
            evbuffer_chain_materialize_(chain) < 0)
            goto moved;
        if (evbuffer_add_nolock_(dst, EVBUFFER_CHAIN_DATA(chain), rest) < 0)
            goto moved;
        evbuffer_drain_nolock_(src, rest);
        nread += rest;
    }

moved:
    result = (int)nread;
    EVBUFFER_CHECK(src);
    EVBUFFER_CHECK(dst);
    /* libevent 2.1 runs the destination's callbacks first when it takes
     * part of src (they run from its evbuffer_add into dst), the
     * source's first when it takes all (through evbuffer_add_buffer). */
    if (src->total_len > 0) {
        evbuffer_invoke_callbacks_(dst);
        evbuffer_invoke_callbacks_(src);
    } else {
        evbuffer_invoke_callbacks_(src);
        evbuffer_invoke_callbacks_(dst);
    }
done:
    EVBUFFER_UNLOCK2(src, dst);
    return result;
}

int
evbuffer_add_buffer_reference(struct evbuffer *outbuf, struct evbuffer *inbuf)
{
    struct evbuffer_chain *chain, *head = NULL, *tail = NULL, *m;
    struct evbuffer_chain **where, **tail_link = NULL, **link;
    struct evbuffer_multicast_parent *info;
    size_t len;
    int result = -1;

    EV_REFUSE_NULL_(outbuf, -1);
    EV_REFUSE_NULL_(inbuf, -1);
    EVBUFFER_LOCK2(inbuf, outbuf);
    /* As libevent 2.1: sharing nothing succeeds, even with itself. */
    len = inbuf->total_len;
    if (len == 0) {
        result = 0;
        goto done;
    }
    if (outbuf == inbuf || outbuf->freeze_end || !FITS(outbuf, len))
        goto done;
    /* Chains that do not own plain memory cannot be shared (libevent
     * refuses the same ones). */
    for (chain = inbuf->first; chain; chain = chain->next) {
        if (chain->flags &
            (EVBUFFER_FILESEGMENT | EVBUFFER_SENDFILE | EVBUFFER_MULTICAST))
            goto done;
    }

    /* Allocate every new chain before taking any reference. */
    link = &head;
    for (chain = inbuf->first; chain; chain = chain->next) {
        if (chain->off == 0)
            continue;
        m = evbuffer_chain_new_special_(
            sizeof(struct evbuffer_multicast_parent));
        if (m == NULL) {
            while (head) {
                m = head->next;
                mm_free(head);
                head = m;
            }
            goto done;
        }
        *link = m;
        tail_link = link;
        tail = m;
        link = &m->next;
    }

    m = head;
    for (chain = inbuf->first; chain; chain = chain->next) {
        if (chain->off == 0)
            continue;
        m->flags = EVBUFFER_MULTICAST | EVBUFFER_IMMUTABLE;
        m->buffer = chain->buffer;
        m->buffer_len = chain->buffer_len;
        m->misalign = chain->misalign;
        m->off = chain->off;
        info = EVBUFFER_CHAIN_EXTRA(struct evbuffer_multicast_parent, m);
        info->source = inbuf;
        info->parent = chain;
        ++chain->refcnt;
        ++inbuf->refcnt;
        m = m->next;
    }

    where = evbuffer_free_trailing_empty_chains_(outbuf);
    *where = head;
    outbuf->last = tail;
    outbuf->last_with_datap = (tail_link == &head) ? where : tail_link;
    outbuf->total_len += len;
    outbuf->n_add_for_cb += len;
    result = 0;
    EVBUFFER_CHECK(outbuf);
    evbuffer_invoke_callbacks_(outbuf);
done:
    EVBUFFER_UNLOCK2(inbuf, outbuf);
    return result;
}

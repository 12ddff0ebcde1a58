/*
 * buffer-remove.c: taking bytes out of an evbuffer or looking at them in
 * place -- evbuffer_drain, evbuffer_remove, evbuffer_copyout(_from),
 * evbuffer_pullup and evbuffer_peek.
 *
 * Draining frees whole chains from the front and trims the first chain
 * that keeps data, so no empty chain is ever left before data.  Reading
 * functions first materialize sendfile chains (their bytes live only in
 * the file), and fail cleanly if that is impossible.
 */
#include "event2/event-config.h"

#include <string.h>

#include "event2/buffer.h"

#include "evbuffer-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

void
evbuffer_drain_nolock_(struct evbuffer *buf, size_t len)
{
    struct evbuffer_chain *chain, *next;
    size_t remaining = len;

    ASSERT_EVBUFFER_LOCKED(buf);
    if (len == 0)
        return;
    if (len >= buf->total_len) {
        chain = buf->first;
        buf->n_del_for_cb += buf->total_len;
        buf->first = buf->last = NULL;
        buf->last_with_datap = &buf->first;
        buf->total_len = 0;
        buf->has_sendfile = 0;
        evbuffer_chains_free_(chain);
        return;
    }

    buf->total_len -= len;
    buf->n_del_for_cb += len;
    /* Some data stays, so the loop ends on a chain that keeps data,
     * at or before the last chain with data. */
    for (chain = buf->first; remaining >= chain->off; chain = next) {
        next = chain->next;
        remaining -= chain->off;
        buf->first = next;
        if (buf->last_with_datap == &chain->next)
            buf->last_with_datap = &buf->first;
        EVUTIL_ASSERT(chain != *buf->last_with_datap);
        evbuffer_chain_free_(chain);
    }
    chain->misalign += remaining;
    chain->off -= remaining;
}

int
evbuffer_drain(struct evbuffer *buf, size_t len)
{
    int result = -1;

    EV_REFUSE_NULL_(buf, -1);
    EVBUFFER_LOCK(buf);
    /* As libevent 2.1: draining an empty buffer succeeds, frozen or not,
     * and does not reach the callbacks (no deferred run is scheduled). */
    if (buf->total_len == 0) {
        result = 0;
        goto done;
    }
    if (buf->freeze_start)
        goto done;
    evbuffer_drain_nolock_(buf, len);
    result = 0;
    EVBUFFER_CHECK(buf);
    evbuffer_invoke_callbacks_(buf);
done:
    EVBUFFER_UNLOCK(buf);
    return result;
}

void
evbuffer_copy_from_chain_(struct evbuffer_chain *chain, size_t pos_in_chain,
    void *out, size_t datlen)
{
    unsigned char *data = out;
    size_t n;

    while (datlen > 0) {
        EVUTIL_ASSERT(chain != NULL);
        EVUTIL_ASSERT(!(chain->flags & EVBUFFER_SENDFILE));
        n = chain->off - pos_in_chain;
        if (n > datlen)
            n = datlen;
        if (n) {
            memcpy(data, EVBUFFER_CHAIN_DATA(chain) + pos_in_chain, n);
            data += n;
            datlen -= n;
        }
        chain = chain->next;
        pos_in_chain = 0;
    }
}

ev_ssize_t
evbuffer_copyout_from(struct evbuffer *buf, const struct evbuffer_ptr *pos,
    void *data_out, size_t datlen)
{
    struct evbuffer_chain *chain;
    size_t pos_in_chain, avail;
    ev_ssize_t result = -1;

    EV_REFUSE_NULL_(buf, -1);
    if (datlen > 0)
        EV_REFUSE_NULL_(data_out, -1);
    EVBUFFER_LOCK(buf);
    if (evbuffer_ptr_resolve_(buf, pos, &chain, &pos_in_chain) < 0)
        goto done;
    /* As libevent: a length that overflows the position is an error. */
    if (pos && datlen > (size_t)(EV_SSIZE_MAX - pos->pos))
        goto done;
    avail = buf->total_len - (pos ? (size_t)pos->pos : 0);
    if (datlen > avail)
        datlen = avail;
    if (datlen == 0) {
        result = 0;
        goto done;
    }
    if (buf->freeze_start)
        goto done;
    if (EVBUFFER_MATERIALIZE(buf) < 0)
        goto done;
    evbuffer_copy_from_chain_(chain, pos_in_chain, data_out, datlen);
    result = (ev_ssize_t)datlen;
done:
    EVBUFFER_UNLOCK(buf);
    return result;
}

ev_ssize_t
evbuffer_copyout(struct evbuffer *buf, void *data_out, size_t datlen)
{
    EV_REFUSE_NULL_(buf, -1);
    if (datlen > 0)
        EV_REFUSE_NULL_(data_out, -1);
    return evbuffer_copyout_from(buf, NULL, data_out, datlen);
}

int
evbuffer_remove(struct evbuffer *buf, void *data_out, size_t datlen)
{
    ev_ssize_t n;

    EV_REFUSE_NULL_(buf, -1);
    if (datlen > 0)
        EV_REFUSE_NULL_(data_out, -1);
    /* The count is returned as an int. */
    if (datlen > (size_t)EV_INT32_MAX)
        datlen = (size_t)EV_INT32_MAX;
    EVBUFFER_LOCK(buf);
    n = evbuffer_copyout_from(buf, NULL, data_out, datlen);
    if (n > 0) {
        if (evbuffer_drain(buf, (size_t)n) < 0)
            n = -1;
    }
    EVBUFFER_UNLOCK(buf);
    return (int)n;
}

unsigned char *
evbuffer_pullup(struct evbuffer *buf, ev_ssize_t size)
{
    struct evbuffer_chain *chain, *next, *tmp, *lwd;
    unsigned char *dst, *result = NULL;
    size_t need, n;
    int lwd_consumed = 0;

    EV_REFUSE_NULL_(buf, NULL);
    EVBUFFER_LOCK(buf);
    if (size < 0)
        size = (ev_ssize_t)buf->total_len;
    /* Nothing to pull up, or more than there is. */
    if (size == 0 || (size_t)size > buf->total_len)
        goto done;
    if (EVBUFFER_MATERIALIZE(buf) < 0)
        goto done;

    chain = buf->first;
    if (chain->off >= (size_t)size) {
        result = EVBUFFER_CHAIN_DATA(chain);
        goto done;
    }

    /* Gather into the first chain if it has room after its data (moving
     * the data to the front if that makes room), else into a new one. */
    if (EVBUFFER_CHAIN_WRITABLE(chain) && chain->buffer_len >= (size_t)size) {
        if (chain->buffer_len - chain->misalign < (size_t)size) {
            memmove(chain->buffer, EVBUFFER_CHAIN_DATA(chain), chain->off);
            chain->misalign = 0;
        }
        tmp = chain;
        need = (size_t)size - chain->off;
        chain = chain->next;
    } else {
        tmp = evbuffer_chain_new_((size_t)size);
        if (tmp == NULL)
            goto done;
        need = (size_t)size;
    }
    dst = EVBUFFER_CHAIN_SPACE_PTR(tmp);

    lwd = *buf->last_with_datap;
    /* Copy whole chains (freeing them), then part of the last one. */
    while (need > 0) {
        EVUTIL_ASSERT(chain != NULL);
        if (chain->off <= need) {
            memcpy(dst, EVBUFFER_CHAIN_DATA(chain), chain->off);
            dst += chain->off;
            need -= chain->off;
            tmp->off += chain->off;
            next = chain->next;
            if (chain == lwd)
                lwd_consumed = 1;
            evbuffer_chain_free_(chain);
            chain = next;
        } else {
            n = need;
            memcpy(dst, EVBUFFER_CHAIN_DATA(chain), n);
            tmp->off += n;
            chain->misalign += n;
            chain->off -= n;
            need = 0;
        }
    }

    /* Relink: tmp first, then what was not consumed. */
    tmp->next = chain;
    buf->first = tmp;
    if (chain == NULL)
        buf->last = tmp;
    if (lwd_consumed)
        buf->last_with_datap = &buf->first;
    else if (lwd == chain)
        buf->last_with_datap = &tmp->next;
    result = EVBUFFER_CHAIN_DATA(tmp);
    EVBUFFER_CHECK(buf);
done:
    EVBUFFER_UNLOCK(buf);
    return result;
}

int
evbuffer_peek(struct evbuffer *buf, ev_ssize_t len,
    struct evbuffer_ptr *start_at, struct evbuffer_iovec *vec, int n_vec)
{
    struct evbuffer_chain *chain;
    size_t pos_in_chain = 0, so_far = 0;
    int idx = 0;

    EV_REFUSE_NULL_(buf, -1);
    if (start_at && start_at->internal_.chain == NULL)
        return 0;
    if (vec == NULL || n_vec < 0)
        n_vec = 0;

    EVBUFFER_LOCK(buf);
    if (EVBUFFER_MATERIALIZE(buf) < 0) {
        idx = -1;
        goto done;
    }
    if (start_at) {
        if (evbuffer_ptr_resolve_(buf, start_at, &chain, &pos_in_chain) < 0 ||
            chain == NULL)
            goto done;
        so_far = chain->off - pos_in_chain;
        if (n_vec > 0) {
            vec[0].iov_base = EVBUFFER_CHAIN_DATA(chain) + pos_in_chain;
            vec[0].iov_len = so_far;
        }
        idx = 1;
        chain = chain->next;
    } else {
        chain = buf->first;
    }

    if (n_vec == 0 && len < 0) {
        /* Count the extents everything would need. */
        len = (ev_ssize_t)buf->total_len - (start_at ? start_at->pos : 0);
    }

    for (; chain; chain = chain->next) {
        if (chain->off == 0)
            continue;
        if (len >= 0 && so_far >= (size_t)len)
            break;
        if (idx < n_vec) {
            vec[idx].iov_base = EVBUFFER_CHAIN_DATA(chain);
            vec[idx].iov_len = chain->off;
        } else if (len < 0) {
            break;
        }
        ++idx;
        so_far += chain->off;
    }
done:
    EVBUFFER_UNLOCK(buf);
    return idx;
}

/*
 * buffer.c: the evbuffer object itself -- creation, references, locking,
 * freezing, flags, callbacks (immediate and deferred) -- and the chain
 * memory every other src/buffer-*.c file builds on.
 *
 * The list invariants are spelled out in evbuffer-internal.h; the helpers
 * here (evbuffer_chain_insert_, evbuffer_expand_singlechain_) keep them so
 * that the callers only fill in bytes.  Chains are allocated as one block:
 * the header, an optional extra struct, then the data.
 */
#include "event2/event-config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "event2/buffer.h"
#include "event2/buffer_compat.h"
#include "event2/bufferevent.h"
#include "event2/event.h"
#include "event2/thread.h"

#include "bufferevent-internal.h"
#include "evbuffer-internal.h"
#include "event-internal.h"
#include "evthread-internal.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

/* Smallest allocation for a chain, header included, as libevent's
 * MIN_BUFFER_SIZE on 64-bit systems; chains grow in powers of two. */
#define MIN_CHAIN_ALLOC 1024
/* Data of at most this size is moved to the front of its chain to make
 * room at the end, instead of starting a new chain. */
#define MAX_TO_REALIGN 2048

/* ------------------------------------------------------------------ */
/* Chains */

struct evbuffer_chain *
evbuffer_chain_new_(size_t size)
{
    struct evbuffer_chain *chain;
    size_t to_alloc;

    if (size > EVBUFFER_CHAIN_MAX - sizeof(struct evbuffer_chain))
        return NULL;
    size += sizeof(struct evbuffer_chain);

    /* Round up to a power of two while that cannot overflow; past half
     * the maximum take the exact size. */
    if (size < EVBUFFER_CHAIN_MAX / 2) {
        to_alloc = MIN_CHAIN_ALLOC;
        while (to_alloc < size)
            to_alloc <<= 1;
    } else {
        to_alloc = size;
    }

    chain = mm_malloc(to_alloc);
    if (chain == NULL)
        return NULL;
    memset(chain, 0, sizeof(*chain));
    chain->buffer_len = to_alloc - sizeof(struct evbuffer_chain);
    chain->buffer = (unsigned char *)(chain + 1);
    chain->refcnt = 1;
    return chain;
}

struct evbuffer_chain *
evbuffer_chain_new_special_(size_t extra_size)
{
    struct evbuffer_chain *chain;

    chain = mm_calloc(1, sizeof(struct evbuffer_chain) + extra_size);
    if (chain == NULL)
        return NULL;
    chain->refcnt = 1;
    return chain;
}

/* Release what a chain refers to, then the chain. */
static void
chain_release(struct evbuffer_chain *chain)
{
    if (chain->flags & EVBUFFER_REFERENCE) {
        struct evbuffer_chain_reference *info =
            EVBUFFER_CHAIN_EXTRA(struct evbuffer_chain_reference, chain);
        if (info->cleanupfn)
            info->cleanupfn(chain->buffer, chain->buffer_len, info->extra);
    }
    if (chain->flags & EVBUFFER_FILESEGMENT) {
        struct evbuffer_chain_file_segment *info =
            EVBUFFER_CHAIN_EXTRA(struct evbuffer_chain_file_segment, chain);
        if (info->segment)
            evbuffer_file_segment_decref_(info->segment);
    }
    if (chain->flags & EVBUFFER_MULTICAST) {
        struct evbuffer_multicast_parent *info =
            EVBUFFER_CHAIN_EXTRA(struct evbuffer_multicast_parent, chain);
        struct evbuffer *source = info->source;

        /* The parent chain's count is guarded by its buffer's lock. */
        EVBUFFER_LOCK(source);
        evbuffer_chain_free_(info->parent);
        evbuffer_decref_and_unlock_(source);
    }
    mm_free(chain);
}

void
evbuffer_chain_free_(struct evbuffer_chain *chain)
{
    EVUTIL_ASSERT(chain->refcnt > 0);
    if (chain->refcnt > 1) {
        /* A multicast chain still shows this memory. */
        --chain->refcnt;
        return;
    }
    if (chain->flags & EVBUFFER_MEM_PINNED_ANY) {
        /* The last unpin frees it. */
        chain->flags |= EVBUFFER_DANGLING;
        return;
    }
    chain_release(chain);
}

void
evbuffer_chains_free_(struct evbuffer_chain *chain)
{
    struct evbuffer_chain *next;

    for (; chain; chain = next) {
        next = chain->next;
        evbuffer_chain_free_(chain);
    }
}

void
evbuffer_chain_pin_(struct evbuffer_chain *chain, unsigned flag)
{
    EVUTIL_ASSERT((chain->flags & flag) == 0);
    chain->flags |= flag;
}

void
evbuffer_chain_unpin_(struct evbuffer_chain *chain, unsigned flag)
{
    EVUTIL_ASSERT((chain->flags & flag) != 0);
    chain->flags &= ~flag;
    if ((chain->flags & EVBUFFER_DANGLING) &&
        (chain->flags & EVBUFFER_MEM_PINNED_ANY) == 0)
        chain_release(chain);
}

struct evbuffer_chain **
evbuffer_free_trailing_empty_chains_(struct evbuffer *buf)
{
    struct evbuffer_chain *lwd = *buf->last_with_datap;

    if (buf->total_len == 0) {
        evbuffer_chains_free_(buf->first);
        buf->first = buf->last = NULL;
        buf->last_with_datap = &buf->first;
        return &buf->first;
    }
    evbuffer_chains_free_(lwd->next);
    lwd->next = NULL;
    buf->last = lwd;
    return &lwd->next;
}

void
evbuffer_chain_insert_(struct evbuffer *buf, struct evbuffer_chain *chain)
{
    struct evbuffer_chain **where = evbuffer_free_trailing_empty_chains_(buf);

    chain->next = NULL;
    *where = chain;
    buf->last = chain;
    if (chain->off)
        buf->last_with_datap = where;
}

static int
should_realign(const struct evbuffer_chain *chain, size_t need)
{
    return chain->misalign > 0 && chain->buffer_len - chain->off >= need &&
           chain->off < chain->buffer_len / 2 && chain->off <= MAX_TO_REALIGN;
}

struct evbuffer_chain *
evbuffer_expand_singlechain_(struct evbuffer *buf, size_t need,
    size_t alloc_hint)
{
    struct evbuffer_chain *chain = *buf->last_with_datap;
    struct evbuffer_chain *next, *fresh;

    if (need > EVBUFFER_CHAIN_MAX - buf->total_len)
        return NULL;
    if (alloc_hint < need)
        alloc_hint = need;

    if (buf->total_len == 0) {
        /* Every chain is empty: reuse the first one if it fits. */
        if (chain && EVBUFFER_CHAIN_WRITABLE(chain) &&
            chain->buffer_len >= need) {
            chain->misalign = 0;
            return chain;
        }
        fresh = evbuffer_chain_new_(alloc_hint);
        if (fresh == NULL)
            return NULL;
        evbuffer_chain_insert_(buf, fresh);
        return fresh;
    }

    if (EVBUFFER_CHAIN_WRITABLE(chain)) {
        if (EVBUFFER_CHAIN_SPACE(chain) >= need)
            return chain;
        if (should_realign(chain, need)) {
            memmove(chain->buffer, EVBUFFER_CHAIN_DATA(chain), chain->off);
            chain->misalign = 0;
            return chain;
        }
    }

    /* An empty chain after the data may already be big enough. */
    next = chain->next;
    if (next && EVBUFFER_CHAIN_WRITABLE(next) && next->buffer_len >= need) {
        next->misalign = 0;
        return next;
    }

    fresh = evbuffer_chain_new_(alloc_hint);
    if (fresh == NULL)
        return NULL;
    evbuffer_chain_insert_(buf, fresh);
    return fresh;
}

void
evbuffer_append_commit_(struct evbuffer *buf, struct evbuffer_chain *chain,
    size_t n)
{
    if (n == 0)
        return;
    if (buf->total_len == 0) {
        EVUTIL_ASSERT(chain == buf->first);
        buf->last_with_datap = &buf->first;
    } else if (chain != *buf->last_with_datap) {
        EVUTIL_ASSERT(chain == (*buf->last_with_datap)->next);
        buf->last_with_datap = &(*buf->last_with_datap)->next;
    }
    chain->off += n;
    buf->total_len += n;
    buf->n_add_for_cb += n;
}

#ifdef EVBUFFER_CHECK_INVARIANTS
void
evbuffer_check_invariants_(struct evbuffer *buf)
{
    struct evbuffer_chain *chain, **link;
    size_t total = 0;
    int seen_lwd_link = 0, past_lwd = 0;

    if (buf->first == NULL) {
        EVUTIL_ASSERT(buf->last == NULL);
        EVUTIL_ASSERT(buf->total_len == 0);
        EVUTIL_ASSERT(buf->last_with_datap == &buf->first);
        return;
    }
    if (buf->total_len == 0)
        EVUTIL_ASSERT(buf->last_with_datap == &buf->first);
    link = &buf->first;
    for (chain = buf->first; chain; chain = chain->next) {
        if (link == buf->last_with_datap)
            seen_lwd_link = 1;
        EVUTIL_ASSERT(chain->refcnt >= 1);
        EVUTIL_ASSERT((chain->flags & EVBUFFER_DANGLING) == 0);
        if (!(chain->flags & EVBUFFER_SENDFILE))
            EVUTIL_ASSERT(chain->misalign + chain->off <= chain->buffer_len);
        if (buf->total_len) {
            if (past_lwd)
                EVUTIL_ASSERT(chain->off == 0);
            else
                EVUTIL_ASSERT(chain->off > 0);
        }
        if (chain->flags & EVBUFFER_SENDFILE)
            EVUTIL_ASSERT(buf->has_sendfile);
        if (seen_lwd_link)
            past_lwd = 1;
        total += chain->off;
        if (chain->next == NULL)
            EVUTIL_ASSERT(buf->last == chain);
        link = &chain->next;
    }
    EVUTIL_ASSERT(seen_lwd_link);
    EVUTIL_ASSERT(total == buf->total_len);
    EVUTIL_ASSERT(buf->total_len <= EVBUFFER_CHAIN_MAX);
}
#endif

/* ------------------------------------------------------------------ */
/* Life cycle */

struct evbuffer *
evbuffer_new(void)
{
    struct evbuffer *buf;

    buf = mm_calloc(1, sizeof(struct evbuffer));
    if (buf == NULL)
        return NULL;
    LIST_INIT(&buf->callbacks);
    buf->refcnt = 1;
    buf->last_with_datap = &buf->first;
    buf->max_read = EVBUFFER_MAX_READ_DEFAULT;
    return buf;
}

void
evbuffer_incref_(struct evbuffer *buf)
{
    EVBUFFER_LOCK(buf);
    ++buf->refcnt;
    EVBUFFER_UNLOCK(buf);
}

void
evbuffer_incref_and_lock_(struct evbuffer *buf)
{
    EVBUFFER_LOCK(buf);
    ++buf->refcnt;
}

static void
remove_all_callbacks(struct evbuffer *buf)
{
    struct evbuffer_cb_entry *cbent;

    while ((cbent = LIST_FIRST(&buf->callbacks))) {
        LIST_REMOVE(cbent, next);
        mm_free(cbent);
    }
}

void
evbuffer_decref_and_unlock_(struct evbuffer *buf)
{
    struct evbuffer_chain *chains;
    void *lock;

    ASSERT_EVBUFFER_LOCKED(buf);
    EVUTIL_ASSERT(buf->refcnt > 0);
    if (--buf->refcnt > 0) {
        EVBUFFER_UNLOCK(buf);
        return;
    }

    chains = buf->first;
    buf->first = buf->last = NULL;
    buf->last_with_datap = &buf->first;
    buf->total_len = 0;
    /* Freeing a multicast chain locks its source buffer; keep our own
     * lock meanwhile, as the rest of the library does. */
    evbuffer_chains_free_(chains);
    remove_all_callbacks(buf);
    if (buf->deferred_cbs)
        event_deferred_cb_cancel_(buf->cb_queue, &buf->deferred);

    lock = buf->lock;
    EVBUFFER_UNLOCK(buf);
    if (buf->own_lock)
        EVTHREAD_FREE_LOCK(lock, EVTHREAD_LOCKTYPE_RECURSIVE);
    mm_free(buf);
}

void
evbuffer_free(struct evbuffer *buf)
{
    if (buf == NULL)
        return;
    EVBUFFER_LOCK(buf);
    evbuffer_decref_and_unlock_(buf);
}

/* ------------------------------------------------------------------ */
/* Locking, flags, freezing, simple queries */

int
evbuffer_enable_locking(struct evbuffer *buf, void *lock)
{
    EV_REFUSE_NULL_(buf, -1);
    if (buf->lock)
        return -1;
    if (lock == NULL) {
        EVTHREAD_ALLOC_LOCK(lock, EVTHREAD_LOCKTYPE_RECURSIVE);
        if (lock == NULL)
            return -1;
        buf->lock = lock;
        buf->own_lock = 1;
    } else {
        buf->lock = lock;
        buf->own_lock = 0;
    }
    return 0;
}

void
evbuffer_lock(struct evbuffer *buf)
{
    EV_REFUSE_NULL_VOID_(buf);
    EVBUFFER_LOCK(buf);
}

void
evbuffer_unlock(struct evbuffer *buf)
{
    EV_REFUSE_NULL_VOID_(buf);
    EVBUFFER_UNLOCK(buf);
}

void
evbuffer_set_parent_(struct evbuffer *buf, struct bufferevent *bev)
{
    EVBUFFER_LOCK(buf);
    buf->parent = bev;
    EVBUFFER_UNLOCK(buf);
}

int
evbuffer_set_max_read(struct evbuffer *buf, size_t max)
{
    if (max == 0 || max > (size_t)EV_INT32_MAX)
        return -1;
    EVBUFFER_LOCK(buf);
    buf->max_read = (ev_uint32_t)max;
    EVBUFFER_UNLOCK(buf);
    return 0;
}

size_t
evbuffer_get_max_read(struct evbuffer *buf)
{
    size_t max;

    EVBUFFER_LOCK(buf);
    max = buf->max_read;
    EVBUFFER_UNLOCK(buf);
    return max;
}

int
evbuffer_set_flags(struct evbuffer *buf, ev_uint64_t flags)
{
    EV_REFUSE_NULL_(buf, -1);
    EVBUFFER_LOCK(buf);
    buf->flags |= (ev_uint32_t)flags;
    EVBUFFER_UNLOCK(buf);
    return 0;
}

int
evbuffer_clear_flags(struct evbuffer *buf, ev_uint64_t flags)
{
    EV_REFUSE_NULL_(buf, -1);
    EVBUFFER_LOCK(buf);
    buf->flags &= ~(ev_uint32_t)flags;
    EVBUFFER_UNLOCK(buf);
    return 0;
}

int
evbuffer_freeze(struct evbuffer *buf, int at_front)
{
    EV_REFUSE_NULL_(buf, -1);
    EVBUFFER_LOCK(buf);
    if (at_front)
        buf->freeze_start = 1;
    else
        buf->freeze_end = 1;
    EVBUFFER_UNLOCK(buf);
    return 0;
}

int
evbuffer_unfreeze(struct evbuffer *buf, int at_front)
{
    EV_REFUSE_NULL_(buf, -1);
    EVBUFFER_LOCK(buf);
    if (at_front)
        buf->freeze_start = 0;
    else
        buf->freeze_end = 0;
    EVBUFFER_UNLOCK(buf);
    return 0;
}

size_t
evbuffer_get_length(const struct evbuffer *buf)
{
    size_t len;

    EV_REFUSE_NULL_(buf, 0);
    EVBUFFER_LOCK(buf);
    len = buf->total_len;
    EVBUFFER_UNLOCK(buf);
    return len;
}

size_t
evbuffer_get_contiguous_space(const struct evbuffer *buf)
{
    size_t len;

    EV_REFUSE_NULL_(buf, 0);
    EVBUFFER_LOCK(buf);
    /* No empty chain precedes data, so the first chain is the one. */
    len = buf->total_len && buf->first ? buf->first->off : 0;
    EVBUFFER_UNLOCK(buf);
    return len;
}

/* ------------------------------------------------------------------ */
/* Callbacks */

/* Run the callbacks that match the current mode.  running_deferred: we
 * are the deferred run from the loop.  Lock held. */
static void
run_callbacks(struct evbuffer *buf, int running_deferred)
{
    struct evbuffer_cb_entry *cbent, *next;
    struct evbuffer_cb_info info;
    size_t new_size;
    ev_uint32_t mask, masked_val;
    int clear = 1;

    if (running_deferred) {
        /* The loop runs what was not run at once. */
        mask = EVBUFFER_CB_NODEFER | EVBUFFER_CB_ENABLED;
        masked_val = EVBUFFER_CB_ENABLED;
    } else if (buf->deferred_cbs) {
        /* Only NODEFER callbacks now; the deferred run still needs the
         * counts. */
        mask = EVBUFFER_CB_NODEFER | EVBUFFER_CB_ENABLED;
        masked_val = mask;
        clear = 0;
    } else {
        mask = EVBUFFER_CB_ENABLED;
        masked_val = EVBUFFER_CB_ENABLED;
    }

    ASSERT_EVBUFFER_LOCKED(buf);

    if (LIST_EMPTY(&buf->callbacks)) {
        buf->n_add_for_cb = buf->n_del_for_cb = 0;
        return;
    }
    if (buf->n_add_for_cb == 0 && buf->n_del_for_cb == 0)
        return;

    new_size = buf->total_len;
    info.orig_size = new_size + buf->n_del_for_cb - buf->n_add_for_cb;
    info.n_added = buf->n_add_for_cb;
    info.n_deleted = buf->n_del_for_cb;
    if (clear) {
        buf->n_add_for_cb = 0;
        buf->n_del_for_cb = 0;
    }

    /* A callback may remove itself (not another one), so fetch next
     * first. */
    for (cbent = LIST_FIRST(&buf->callbacks); cbent; cbent = next) {
        next = LIST_NEXT(cbent, next);
        if ((cbent->flags & mask) != masked_val)
            continue;
        if (cbent->flags & EVBUFFER_CB_OBSOLETE)
            cbent->cb.cb_obsolete(buf, info.orig_size, new_size,
                cbent->cbarg);
        else
            cbent->cb.cb_func(buf, &info, cbent->cbarg);
    }
}

/* The deferred run, from the loop. */
static void
deferred_callback(struct event_callback *cb, void *arg)
{
    struct evbuffer *buf = arg;
    struct bufferevent *parent;

    (void)cb;
    EVBUFFER_LOCK(buf);
    parent = buf->parent;
    run_callbacks(buf, 1);
    evbuffer_decref_and_unlock_(buf);
    if (parent)
        bufferevent_decref_(parent);
}

void
evbuffer_invoke_callbacks_(struct evbuffer *buf)
{
    if (LIST_EMPTY(&buf->callbacks)) {
        buf->n_add_for_cb = buf->n_del_for_cb = 0;
        return;
    }

    if (buf->deferred_cbs) {
        if (event_deferred_cb_schedule_(buf->cb_queue, &buf->deferred)) {
            /* Keep the buffer (and its bufferevent) until it runs. */
            ++buf->refcnt;
            if (buf->parent)
                bufferevent_incref_(buf->parent);
        }
    }

    run_callbacks(buf, 0);
}

int
evbuffer_get_callbacks_(struct evbuffer *buf, struct event_callback **cbs,
    int max_cbs)
{
    if (max_cbs < 1)
        return 0;
    if (buf->deferred_cbs) {
        cbs[0] = &buf->deferred;
        return 1;
    }
    return 0;
}

int
evbuffer_defer_callbacks(struct evbuffer *buf, struct event_base *base)
{
    EV_REFUSE_NULL_(buf, -1);
    EV_REFUSE_NULL_(base, -1);
    EVBUFFER_LOCK(buf);
    buf->cb_queue = base;
    buf->deferred_cbs = 1;
    event_deferred_cb_init_(&buf->deferred,
        (ev_uint8_t)(event_base_get_npriorities(base) / 2),
        deferred_callback, buf);
    EVBUFFER_UNLOCK(buf);
    return 0;
}

struct evbuffer_cb_entry *
evbuffer_add_cb(struct evbuffer *buf, evbuffer_cb_func cb, void *cbarg)
{
    struct evbuffer_cb_entry *e;

    EV_REFUSE_NULL_(buf, NULL);
    e = mm_calloc(1, sizeof(struct evbuffer_cb_entry));
    if (e == NULL)
        return NULL;
    EVBUFFER_LOCK(buf);
    e->cb.cb_func = cb;
    e->cbarg = cbarg;
    e->flags = EVBUFFER_CB_ENABLED;
    LIST_INSERT_HEAD(&buf->callbacks, e, next);
    EVBUFFER_UNLOCK(buf);
    return e;
}

int
evbuffer_remove_cb_entry(struct evbuffer *buf, struct evbuffer_cb_entry *ent)
{
    EV_REFUSE_NULL_(buf, -1);
    EV_REFUSE_NULL_(ent, -1);
    EVBUFFER_LOCK(buf);
    LIST_REMOVE(ent, next);
    EVBUFFER_UNLOCK(buf);
    mm_free(ent);
    return 0;
}

int
evbuffer_remove_cb(struct evbuffer *buf, evbuffer_cb_func cb, void *cbarg)
{
    struct evbuffer_cb_entry *cbent;
    int result = -1;

    EV_REFUSE_NULL_(buf, -1);
    EVBUFFER_LOCK(buf);
    LIST_FOREACH(cbent, &buf->callbacks, next)
    {
        if (!(cbent->flags & EVBUFFER_CB_OBSOLETE) &&
            cbent->cb.cb_func == cb && cbent->cbarg == cbarg) {
            result = evbuffer_remove_cb_entry(buf, cbent);
            break;
        }
    }
    EVBUFFER_UNLOCK(buf);
    return result;
}

int
evbuffer_cb_set_flags(struct evbuffer *buf, struct evbuffer_cb_entry *cb,
    ev_uint32_t flags)
{
    EV_REFUSE_NULL_(buf, -1);
    EV_REFUSE_NULL_(cb, -1);
    /* The library's own flags are not the user's to change. */
    flags &= ~EVBUFFER_CB_INTERNAL_FLAGS;
    EVBUFFER_LOCK(buf);
    cb->flags |= flags;
    EVBUFFER_UNLOCK(buf);
    return 0;
}

int
evbuffer_cb_clear_flags(struct evbuffer *buf, struct evbuffer_cb_entry *cb,
    ev_uint32_t flags)
{
    EV_REFUSE_NULL_(buf, -1);
    EV_REFUSE_NULL_(cb, -1);
    flags &= ~EVBUFFER_CB_INTERNAL_FLAGS;
    EVBUFFER_LOCK(buf);
    cb->flags &= ~flags;
    EVBUFFER_UNLOCK(buf);
    return 0;
}

int
evbuffer_setcb(struct evbuffer *buf, evbuffer_cb cb, void *cbarg)
{
    struct evbuffer_cb_entry *ent;
    int result = 0;

    EV_REFUSE_NULL_(buf, -1);
    EVBUFFER_LOCK(buf);
    remove_all_callbacks(buf);
    if (cb) {
        ent = evbuffer_add_cb(buf, NULL, cbarg);
        if (ent == NULL) {
            result = -1;
        } else {
            ent->cb.cb_obsolete = cb;
            ent->flags |= EVBUFFER_CB_OBSOLETE;
        }
    }
    EVBUFFER_UNLOCK(buf);
    return result;
}

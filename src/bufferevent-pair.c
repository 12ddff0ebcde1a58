/*
 * bufferevent-pair.c: two bufferevents joined in memory.
 *
 * What one side writes lands in the other side's input.  Data moves as
 * whole evbuffer chains (evbuffer_add_buffer / evbuffer_remove_buffer), so
 * it is not copied.  A transfer happens when the writer adds output, when
 * either side enables the direction that was missing, and when the reader
 * drains below its high watermark (which lifts BEV_SUSPEND_WM and
 * re-enables reading).
 *
 * Invariants:
 *  - both halves share one lock (the first half's; whichever half is
 *    finalized last frees it), so a transfer touches both under one lock;
 *  - callbacks are always deferred (BEV_OPT_DEFER_CALLBACKS is forced), so
 *    a write from inside a callback never runs the partner's callback
 *    recursively;
 *  - ev_read / ev_write are plain timers for the read and write timeouts
 *    (see bufferevent_generic_adj_timeouts_);
 *  - partner is NULL once either half has lost its last reference.
 */
#include "event2/event-config.h"

#include <string.h>
#include <sys/types.h>

#include "event2/buffer.h"
#include "event2/bufferevent.h"
#include "event2/bufferevent_struct.h"
#include "event2/event.h"
#include "event2/util.h"

#include "bufferevent-internal.h"
#include "event-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

struct bufferevent_pair {
    struct bufferevent_private bev;
    struct bufferevent_pair *partner;
    /* The partner at the time we were unlinked, for handing over the
     * shared lock in destruct. */
    struct bufferevent_pair *unlinked_partner;
};

static int be_pair_enable(struct bufferevent *, short);
static int be_pair_disable(struct bufferevent *, short);
static void be_pair_unlink(struct bufferevent *);
static void be_pair_destruct(struct bufferevent *);
static int be_pair_flush(struct bufferevent *, short,
    enum bufferevent_flush_mode);

const struct bufferevent_ops bufferevent_ops_pair = {
    "pair_elt",
    evutil_offsetof(struct bufferevent_pair, bev.bev),
    be_pair_enable,
    be_pair_disable,
    be_pair_unlink,
    be_pair_destruct,
    bufferevent_generic_adj_timeouts_,
    be_pair_flush,
    NULL, /* ctrl: a pair has no fd and no underlying bufferevent */
};

static inline struct bufferevent_pair *
upcast(struct bufferevent *bev)
{
    if (bev->be_ops != &bufferevent_ops_pair)
        return NULL;
    return EVUTIL_UPCAST(bev, struct bufferevent_pair, bev.bev);
}

static inline struct bufferevent *
downcast(struct bufferevent_pair *bev_pair)
{
    return &bev_pair->bev.bev;
}

/* Would data written by src flow to dst right now? */
static int
wants_to_talk(struct bufferevent_pair *src, struct bufferevent_pair *dst)
{
    return (downcast(src)->enabled & EV_WRITE) &&
           (downcast(dst)->enabled & EV_READ) && !dst->bev.read_suspended &&
           evbuffer_get_length(downcast(src)->output) > 0;
}

/* Move src's output into dst's input, up to dst's high read watermark
 * unless ignore_wm, then run the callbacks the move calls for.  Lock held
 * (the shared one). */
static void
transfer(struct bufferevent *src, struct bufferevent *dst, int ignore_wm)
{
    size_t dst_len;

    evbuffer_unfreeze(src->output, 1);
    evbuffer_unfreeze(dst->input, 0);

    if (dst->wm_read.high && !ignore_wm) {
        dst_len = evbuffer_get_length(dst->input);
        if (dst_len >= dst->wm_read.high)
            goto done;
        evbuffer_remove_buffer(src->output, dst->input,
            dst->wm_read.high - dst_len);
    } else {
        evbuffer_add_buffer(dst->input, src->output);
    }

    /* Timeouts run while the other side still has something to say. */
    if (wants_to_talk(upcast(src), upcast(dst))) {
        bufferevent_add_event_(&dst->ev_read, &dst->timeout_read);
        bufferevent_add_event_(&src->ev_write, &src->timeout_write);
    } else {
        event_del(&dst->ev_read);
        event_del(&src->ev_write);
    }
    bufferevent_trigger_nolock_(dst, EV_READ, 0);
    bufferevent_trigger_nolock_(src, EV_WRITE, 0);
done:
    evbuffer_freeze(src->output, 1);
    evbuffer_freeze(dst->input, 0);
}

/* Output-buffer callback: new data goes straight to a reading partner. */
static void
pair_outbuf_cb(struct evbuffer *outbuf, const struct evbuffer_cb_info *info,
    void *arg)
{
    struct bufferevent_pair *bev_pair = arg;
    struct bufferevent *bev = downcast(bev_pair);

    (void)outbuf;
    bufferevent_incref_and_lock_(bev);
    if (info->n_added > info->n_deleted && bev_pair->partner &&
        wants_to_talk(bev_pair, bev_pair->partner))
        transfer(bev, downcast(bev_pair->partner), 0);
    bufferevent_decref_and_unlock_(bev);
}

static struct bufferevent_pair *
pair_elt_new(struct event_base *base, int options)
{
    struct bufferevent_pair *bufev;

    if ((bufev = mm_calloc(1, sizeof(*bufev))) == NULL)
        return NULL;
    if (bufferevent_init_common_(&bufev->bev, base, &bufferevent_ops_pair,
            (enum bufferevent_options)options) < 0) {
        mm_free(bufev);
        return NULL;
    }
    if (!evbuffer_add_cb(downcast(bufev)->output, pair_outbuf_cb, bufev)) {
        bufferevent_free(downcast(bufev));
        return NULL;
    }
    bufferevent_init_generic_timeout_cbs_(downcast(bufev));
    return bufev;
}

int
bufferevent_pair_new(struct event_base *base, int options,
    struct bufferevent *pair[2])
{
    struct bufferevent_pair *bufev1, *bufev2;

    EV_REFUSE_NULL_(pair, -1);
    /* A pair's callbacks always go through its base's loop: without a
     * base (nor a current one from event_init) the first callback would
     * have nowhere to run. */
    if (base == NULL)
        base = event_global_current_base_;
    EV_REFUSE_NULL_(base, -1);
    options |= BEV_OPT_DEFER_CALLBACKS;
    if ((bufev1 = pair_elt_new(base, options)) == NULL)
        return -1;
    /* The second half gets the first half's lock, not one of its own. */
    bufev2 = pair_elt_new(base, options & ~BEV_OPT_THREADSAFE);
    if (!bufev2) {
        bufferevent_free(downcast(bufev1));
        return -1;
    }
    if (options & BEV_OPT_THREADSAFE)
        bufferevent_enable_locking_(downcast(bufev2), bufev1->bev.lock);

    bufev1->partner = bufev2;
    bufev2->partner = bufev1;

    evbuffer_freeze(downcast(bufev1)->input, 0);
    evbuffer_freeze(downcast(bufev1)->output, 1);
    evbuffer_freeze(downcast(bufev2)->input, 0);
    evbuffer_freeze(downcast(bufev2)->output, 1);

    pair[0] = downcast(bufev1);
    pair[1] = downcast(bufev2);
    return 0;
}

static void
be_pair_unlink(struct bufferevent *bev)
{
    struct bufferevent_pair *bev_p = upcast(bev);

    if (bev_p->partner) {
        bev_p->unlinked_partner = bev_p->partner;
        bev_p->partner->partner = NULL;
        bev_p->partner = NULL;
    }
}

/* If we own the shared lock and the partner outlives us, the lock goes to
 * the partner.  When we were unlinked while linked, the partner is
 * necessarily finalized after us: its own unlink happened later (its
 * partner pointer was already NULL then), so its finalizer was queued
 * after ours. */
static void
be_pair_destruct(struct bufferevent *bev)
{
    struct bufferevent_pair *bev_p = upcast(bev);

    if (bev_p->unlinked_partner && bev_p->bev.own_lock &&
        bev_p->unlinked_partner->bev.lock == bev_p->bev.lock) {
        bev_p->unlinked_partner->bev.own_lock = 1;
        bev_p->bev.own_lock = 0;
    }
    bev_p->unlinked_partner = NULL;
}

static int
be_pair_enable(struct bufferevent *bufev, short events)
{
    struct bufferevent_pair *bev_p = upcast(bufev);
    struct bufferevent_pair *partner = bev_p->partner;

    bufferevent_incref_and_lock_(bufev);
    if (events & EV_READ)
        bufferevent_generic_adj_timeouts_(bufev);
    if ((events & EV_WRITE) && evbuffer_get_length(bufev->output))
        bufferevent_generic_adj_timeouts_(bufev);

    /* Reading now: take what the partner has been holding. */
    if ((events & EV_READ) && partner && wants_to_talk(partner, bev_p))
        transfer(downcast(partner), bufev, 0);
    /* Writing now: hand over what we hold. */
    if ((events & EV_WRITE) && partner && wants_to_talk(bev_p, partner))
        transfer(bufev, downcast(partner), 0);
    bufferevent_decref_and_unlock_(bufev);
    return 0;
}

static int
be_pair_disable(struct bufferevent *bev, short events)
{
    if (events & EV_READ)
        event_del(&bev->ev_read);
    if (events & EV_WRITE)
        event_del(&bev->ev_write);
    return 0;
}

/* BEV_FLUSH / BEV_FINISHED move everything regardless of watermarks;
 * BEV_FINISHED also tells the partner that no more data will come
 * (BEV_EVENT_EOF with the direction it concerns on the partner's side). */
static int
be_pair_flush(struct bufferevent *bev, short iotype,
    enum bufferevent_flush_mode mode)
{
    struct bufferevent_pair *p = upcast(bev);
    struct bufferevent *partner;

    if (!p->partner)
        return -1;
    if (mode == BEV_NORMAL)
        return 0;

    bufferevent_incref_and_lock_(bev);
    partner = downcast(p->partner);
    if (iotype & EV_READ)
        transfer(partner, bev, 1);
    if (iotype & EV_WRITE)
        transfer(bev, partner, 1);
    if (mode == BEV_FINISHED) {
        short what = BEV_EVENT_EOF;
        if (iotype & EV_READ)
            what |= BEV_EVENT_WRITING;
        if (iotype & EV_WRITE)
            what |= BEV_EVENT_READING;
        bufferevent_run_eventcb_(partner, what, 0);
    }
    bufferevent_decref_and_unlock_(bev);
    return 0;
}

struct bufferevent *
bufferevent_pair_get_partner(struct bufferevent *bev)
{
    struct bufferevent_pair *bev_p;
    struct bufferevent *partner = NULL;

    EV_REFUSE_NULL_(bev, NULL);
    if ((bev_p = upcast(bev)) == NULL)
        return NULL;
    bufferevent_incref_and_lock_(bev);
    if (bev_p->partner)
        partner = downcast(bev_p->partner);
    bufferevent_decref_and_unlock_(bev);
    return partner;
}

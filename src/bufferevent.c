/*
 * bufferevent.c: what every kind of bufferevent shares.
 *
 * Construction (bufferevent_init_common_), reference counting and
 * deferred destruction, locking, the user callbacks (run at once or from
 * the loop with BEV_OPT_DEFER_CALLBACKS, with or without the lock held),
 * enabling and suspension, watermarks, timeouts, triggers, and the public
 * accessors; implementations plug in through struct bufferevent_ops.
 *
 * Invariants kept here:
 *  - the user's callbacks and cbarg are read from the public struct at the
 *    moment they are called (programs assign bev->readcb directly);
 *  - a transport direction is active iff it is in bev->enabled and its
 *    suspension set is empty: enable/disable change bev->enabled, suspend
 *    and unsuspend change the set.  Suspending calls ops->disable when the
 *    set was empty; unsuspending calls ops->enable whenever the set ends
 *    up empty and the direction is enabled, even if it was not suspended
 *    (as libevent 2.1 does: a socket bufferevent's event is re-added,
 *    which restarts its timeout, and a pair moves what its partner holds);
 *  - a bufferevent with a high read watermark keeps an input-buffer
 *    callback that suspends reading (BEV_SUSPEND_WM) while the input holds
 *    at least that much and unsuspends it on every change below;
 *  - memory is released by a finalizer from the loop once the last
 *    reference is gone, so a callback that frees its own bufferevent
 *    returns into valid memory.
 */
#include "event2/event-config.h"

#include <errno.h>
#include <string.h>
#include <sys/types.h>

#include "event2/buffer.h"
#include "event2/bufferevent.h"
#include "event2/bufferevent_compat.h"
#include "event2/bufferevent_struct.h"
#include "event2/event.h"
#include "event2/event_struct.h"
#include "event2/thread.h"
#include "event2/util.h"

#include "bufferevent-internal.h"
#include "event-internal.h"
#include "evbuffer-internal.h"
#include "evthread-internal.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

/* ------------------------------------------------------------------ */
/* Deferred callbacks                                                  */

/* After a read callback: if the input is still at the high watermark
 * (so no further reads will come to call it again) while reading is
 * enabled, schedule the read callback once more.  libevent does this
 * since 2.1.11 so that a callback consuming one message at a time cannot
 * stall; a callback that consumes nothing is therefore called again on
 * every loop iteration, as with libevent. */
static void
inbuf_wm_check(struct bufferevent *bev)
{
    if (!bev->wm_read.high || !(bev->enabled & EV_READ))
        return;
    if (evbuffer_get_length(bev->input) < bev->wm_read.high)
        return;
    bufferevent_trigger_nolock_(bev, EV_READ, BEV_OPT_DEFER_CALLBACKS);
}

/* Start of a deferred run: lock, and hold a reference for the duration
 * of the callbacks.  A queued deferred callback holds no reference of its
 * own (so one pending when the base is freed leaks nothing): the last
 * bufferevent_decref cancels it, or, if it is already running in another
 * thread, queues the finalizer behind it.  In that last case refcnt is 0
 * here and there is nothing to do.  Returns 1 with the lock held, or 0. */
static int
deferred_begin(struct bufferevent_private *p)
{
    BEV_LOCK(&p->bev);
    if (p->refcnt == 0) {
        BEV_UNLOCK(&p->bev);
        return 0;
    }
    ++p->refcnt;
    return 1;
}

/* Callbacks queued with BEV_OPT_DEFER_CALLBACKS run here, from the loop,
 * in the order libevent uses: a pending CONNECTED first (it happened
 * before any data moved), then read, write, and the other events.  A
 * pending callback that is unset by now stays pending, as in libevent:
 * if the program sets it again, the next deferred run calls it. */
static void
run_deferred_locked(struct event_callback *cb, void *arg)
{
    struct bufferevent_private *p = arg;
    struct bufferevent *bufev = &p->bev;

    (void)cb;
    if (!deferred_begin(p))
        return;
    if ((p->eventcb_pending & BEV_EVENT_CONNECTED) && bufev->errorcb) {
        p->eventcb_pending &= ~BEV_EVENT_CONNECTED;
        bufev->errorcb(bufev, BEV_EVENT_CONNECTED, bufev->cbarg);
    }
    if (p->readcb_pending && bufev->readcb) {
        p->readcb_pending = 0;
        bufev->readcb(bufev, bufev->cbarg);
        inbuf_wm_check(bufev);
    }
    if (p->writecb_pending && bufev->writecb) {
        p->writecb_pending = 0;
        bufev->writecb(bufev, bufev->cbarg);
    }
    if (p->eventcb_pending && bufev->errorcb) {
        short what = (short)p->eventcb_pending;
        int err = p->errno_pending;
        p->eventcb_pending = 0;
        p->errno_pending = 0;
        EVUTIL_SET_SOCKET_ERROR(err);
        bufev->errorcb(bufev, what, bufev->cbarg);
    }
    bufferevent_decref_and_unlock_(bufev);
}

/* The same with BEV_OPT_UNLOCK_CALLBACKS: each callback is read under the
 * lock and called without it, so it may block on other threads. */
static void
run_deferred_unlocked(struct event_callback *cb, void *arg)
{
    struct bufferevent_private *p = arg;
    struct bufferevent *bufev = &p->bev;
    bufferevent_event_cb eventcb;
    bufferevent_data_cb datacb;
    void *cbarg;

    (void)cb;
    if (!deferred_begin(p))
        return;
    if ((p->eventcb_pending & BEV_EVENT_CONNECTED) &&
        (eventcb = bufev->errorcb) != NULL) {
        p->eventcb_pending &= ~BEV_EVENT_CONNECTED;
        cbarg = bufev->cbarg;
        BEV_UNLOCK(bufev);
        eventcb(bufev, BEV_EVENT_CONNECTED, cbarg);
        BEV_LOCK(bufev);
    }
    if (p->readcb_pending && (datacb = bufev->readcb) != NULL) {
        p->readcb_pending = 0;
        cbarg = bufev->cbarg;
        BEV_UNLOCK(bufev);
        datacb(bufev, cbarg);
        BEV_LOCK(bufev);
        inbuf_wm_check(bufev);
    }
    if (p->writecb_pending && (datacb = bufev->writecb) != NULL) {
        p->writecb_pending = 0;
        cbarg = bufev->cbarg;
        BEV_UNLOCK(bufev);
        datacb(bufev, cbarg);
        BEV_LOCK(bufev);
    }
    if (p->eventcb_pending && (eventcb = bufev->errorcb) != NULL) {
        short what = (short)p->eventcb_pending;
        int err = p->errno_pending;
        p->eventcb_pending = 0;
        p->errno_pending = 0;
        cbarg = bufev->cbarg;
        BEV_UNLOCK(bufev);
        EVUTIL_SET_SOCKET_ERROR(err);
        eventcb(bufev, what, cbarg);
        BEV_LOCK(bufev);
    }
    bufferevent_decref_and_unlock_(bufev);
}

/* Queue the deferred callback (once, however often asked). */
static void
schedule_deferred(struct bufferevent_private *p)
{
    event_deferred_cb_schedule_(p->bev.ev_base, &p->deferred);
}

void
bufferevent_run_readcb_(struct bufferevent *bufev, int options)
{
    struct bufferevent_private *p = BEV_UPCAST(bufev);

    if (bufev->readcb == NULL)
        return;
    if ((p->options | options) & BEV_OPT_DEFER_CALLBACKS) {
        p->readcb_pending = 1;
        schedule_deferred(p);
    } else {
        bufev->readcb(bufev, bufev->cbarg);
        inbuf_wm_check(bufev);
    }
}

void
bufferevent_run_writecb_(struct bufferevent *bufev, int options)
{
    struct bufferevent_private *p = BEV_UPCAST(bufev);

    if (bufev->writecb == NULL)
        return;
    if ((p->options | options) & BEV_OPT_DEFER_CALLBACKS) {
        p->writecb_pending = 1;
        schedule_deferred(p);
    } else {
        bufev->writecb(bufev, bufev->cbarg);
    }
}

void
bufferevent_run_eventcb_(struct bufferevent *bufev, short what, int options)
{
    struct bufferevent_private *p = BEV_UPCAST(bufev);

    if (bufev->errorcb == NULL)
        return;
    if ((p->options | options) & BEV_OPT_DEFER_CALLBACKS) {
        p->eventcb_pending |= (ev_uint16_t)what;
        p->errno_pending = EVUTIL_SOCKET_ERROR();
        schedule_deferred(p);
    } else {
        bufev->errorcb(bufev, what, bufev->cbarg);
    }
}

void
bufferevent_trigger_nolock_(struct bufferevent *bufev, short iotype,
    int options)
{
    int ignore_wm = options & BEV_TRIG_IGNORE_WATERMARKS;

    options &= BEV_TRIG_DEFER_CALLBACKS;
    if ((iotype & EV_READ) &&
        (ignore_wm || bufev->input->total_len >= bufev->wm_read.low))
        bufferevent_run_readcb_(bufev, options);
    if ((iotype & EV_WRITE) &&
        (ignore_wm ||
            bufev->output->total_len <= bufev->wm_write.low))
        bufferevent_run_writecb_(bufev, options);
}

void
bufferevent_trigger(struct bufferevent *bufev, short iotype, int options)
{
    EV_REFUSE_NULL_VOID_(bufev);
    bufferevent_incref_and_lock_(bufev);
    bufferevent_trigger_nolock_(bufev, iotype, options);
    bufferevent_decref_and_unlock_(bufev);
}

void
bufferevent_trigger_event(struct bufferevent *bufev, short what, int options)
{
    EV_REFUSE_NULL_VOID_(bufev);
    bufferevent_incref_and_lock_(bufev);
    bufferevent_run_eventcb_(bufev, what, options & BEV_TRIG_DEFER_CALLBACKS);
    bufferevent_decref_and_unlock_(bufev);
}

/* ------------------------------------------------------------------ */
/* Construction, references, destruction                               */

int
bufferevent_enable_locking_(struct bufferevent *bufev, void *lock)
{
    struct bufferevent_private *p = BEV_UPCAST(bufev);
    struct bufferevent *underlying;

    if (p->lock)
        return -1;
    underlying = bufferevent_get_underlying(bufev);
    if (!lock && underlying && BEV_UPCAST(underlying)->lock) {
        /* Share the lock of the bufferevent we sit on, so the two can
         * call into each other without lock-order trouble. */
        p->lock = BEV_UPCAST(underlying)->lock;
        p->own_lock = 0;
    } else if (!lock) {
        EVTHREAD_ALLOC_LOCK(lock, EVTHREAD_LOCKTYPE_RECURSIVE);
        if (!lock)
            return -1;
        p->lock = lock;
        p->own_lock = 1;
    } else {
        p->lock = lock;
        p->own_lock = 0;
    }
    evbuffer_enable_locking(bufev->input, p->lock);
    evbuffer_enable_locking(bufev->output, p->lock);
    if (underlying && !BEV_UPCAST(underlying)->lock)
        bufferevent_enable_locking_(underlying, p->lock);
    return 0;
}

int
bufferevent_init_common_(struct bufferevent_private *bufev_private,
    struct event_base *base, const struct bufferevent_ops *ops,
    enum bufferevent_options options)
{
    struct bufferevent *bufev = &bufev_private->bev;
    int made_input = 0, made_output = 0;
    int npri;

    if ((options & (BEV_OPT_DEFER_CALLBACKS | BEV_OPT_UNLOCK_CALLBACKS)) ==
        BEV_OPT_UNLOCK_CALLBACKS) {
        event_warnx("UNLOCK_CALLBACKS requires DEFER_CALLBACKS");
        return -1;
    }
    /* The 1.x API (bufferevent_new) creates bufferevents on the current
     * base, as event_assign() does for its events. */
    if (!base)
        base = event_global_current_base_;

    if (!bufev->input) {
        if ((bufev->input = evbuffer_new()) == NULL)
            goto err;
        made_input = 1;
    }
    if (!bufev->output) {
        if ((bufev->output = evbuffer_new()) == NULL)
            goto err;
        made_output = 1;
    }

    bufev_private->refcnt = 1;
    bufev->ev_base = base;
    bufev->be_ops = ops;
    evutil_timerclear(&bufev->timeout_read);
    evutil_timerclear(&bufev->timeout_write);
    /* Writing is on from the start: data written before the connection
     * is up simply waits.  Reading needs an explicit enable. */
    bufev->enabled = EV_WRITE;
    bufev_private->options = options;
    bufferevent_ratelim_init_(bufev_private);

    if (options & BEV_OPT_THREADSAFE) {
        if (bufferevent_enable_locking_(bufev, NULL) < 0)
            goto err;
    }

    npri = base ? event_base_get_npriorities(base) : 1;
    event_deferred_cb_init_(&bufev_private->deferred, (ev_uint8_t)(npri / 2),
        (options & BEV_OPT_UNLOCK_CALLBACKS) ? run_deferred_unlocked
                                             : run_deferred_locked,
        bufev_private);

    evbuffer_set_parent_(bufev->input, bufev);
    evbuffer_set_parent_(bufev->output, bufev);
    return 0;

err:
    if (made_input) {
        evbuffer_free(bufev->input);
        bufev->input = NULL;
    }
    if (made_output) {
        evbuffer_free(bufev->output);
        bufev->output = NULL;
    }
    return -1;
}

void
bufferevent_incref_(struct bufferevent *bufev)
{
    BEV_LOCK(bufev);
    ++BEV_UPCAST(bufev)->refcnt;
    BEV_UNLOCK(bufev);
}

void
bufferevent_incref_and_lock_(struct bufferevent *bufev)
{
    BEV_LOCK(bufev);
    ++BEV_UPCAST(bufev)->refcnt;
}

/* Runs from the loop once no callback of the dead bufferevent can still
 * be running: release everything. */
static void
bufferevent_finalize_cb_(struct event_callback *evcb, void *arg)
{
    struct bufferevent *bufev = arg;
    struct bufferevent_private *p = BEV_UPCAST(bufev);
    struct bufferevent *underlying;
    void *lock;
    int own_lock;
    char *mem;

    (void)evcb;
    BEV_LOCK(bufev);
    underlying = bufferevent_get_underlying(bufev);
    if (bufev->be_ops->destruct)
        bufev->be_ops->destruct(bufev);
    /* Freeing the buffers also drops their callbacks. */
    evbuffer_free(bufev->input);
    evbuffer_free(bufev->output);
    if (p->rate_limiting) {
        if (p->rate_limiting->group)
            bufferevent_remove_from_rate_limit_group_internal_(bufev, 0);
        event_debug_unassign(&p->rate_limiting->refill_bucket_event);
        mm_free(p->rate_limiting);
        p->rate_limiting = NULL;
    }
    /* The memory goes: so do debug mode's records of its events. */
    event_debug_unassign(&bufev->ev_read);
    event_debug_unassign(&bufev->ev_write);
    /* destruct may hand the lock to a pair partner: read it afterwards. */
    lock = p->lock;
    own_lock = p->own_lock;
    mem = (char *)bufev - bufev->be_ops->mem_offset;
    BEV_UNLOCK(bufev);

    if (own_lock)
        EVTHREAD_FREE_LOCK(lock, EVTHREAD_LOCKTYPE_RECURSIVE);
    mm_free(mem);

    /* Released last: the underlying may share (and own) our lock. */
    if (underlying)
        bufferevent_decref_(underlying);
}

/* The last reference is gone (lock held): cancel everything and queue
 * the finalizer.  Kept out of line so that the common decrement in
 * bufferevent_decref_and_unlock_ stays a few instructions. */
static EVUTIL_NOINLINE_ void
last_ref_gone(struct bufferevent *bufev)
{
    struct bufferevent_private *p = BEV_UPCAST(bufev);
    struct event_callback *cbs[8];
    int n_cbs = 0;

    if (bufev->be_ops->unlink)
        bufev->be_ops->unlink(bufev);

    /* Cancel our events and deferred callback; the finalizer runs after
     * whichever of them is running now (if any) returns. */
    /* The deferred callback goes first: when nothing is running the
     * finalizer is queued on it, and its argument is always bufev (an
     * event that was never assigned has none). */
    cbs[n_cbs++] = &p->deferred;
    cbs[n_cbs++] = &bufev->ev_read.ev_evcallback;
    cbs[n_cbs++] = &bufev->ev_write.ev_evcallback;
    if (p->rate_limiting &&
        event_initialized(&p->rate_limiting->refill_bucket_event))
        cbs[n_cbs++] = &p->rate_limiting->refill_bucket_event.ev_evcallback;
    /* Deferred buffer callbacks too (if someone made them deferred). */
    n_cbs += evbuffer_get_callbacks_(bufev->input, cbs + n_cbs, 8 - n_cbs);
    n_cbs += evbuffer_get_callbacks_(bufev->output, cbs + n_cbs, 8 - n_cbs);

    if (bufev->ev_base) {
        event_callback_finalize_many_(bufev->ev_base, n_cbs, cbs,
            bufferevent_finalize_cb_);
        BEV_UNLOCK(bufev);
    } else {
        /* Never attached to a base: nothing can be running. */
        BEV_UNLOCK(bufev);
        bufferevent_finalize_cb_(NULL, bufev);
    }
}

int
bufferevent_decref_and_unlock_(struct bufferevent *bufev)
{
    struct bufferevent_private *p = BEV_UPCAST(bufev);

    EVUTIL_ASSERT(p->refcnt > 0);
    if (--p->refcnt) {
        BEV_UNLOCK(bufev);
        return 0;
    }
    last_ref_gone(bufev);
    return 1;
}

int
bufferevent_decref_(struct bufferevent *bufev)
{
    BEV_LOCK(bufev);
    return bufferevent_decref_and_unlock_(bufev);
}

void
bufferevent_incref(struct bufferevent *bufev)
{
    EV_REFUSE_NULL_VOID_(bufev);
    bufferevent_incref_(bufev);
}

int
bufferevent_decref(struct bufferevent *bufev)
{
    EV_REFUSE_NULL_(bufev, -1);
    return bufferevent_decref_(bufev);
}

void
bufferevent_lock(struct bufferevent *bufev)
{
    EV_REFUSE_NULL_VOID_(bufev);
    bufferevent_incref_and_lock_(bufev);
}

void
bufferevent_unlock(struct bufferevent *bufev)
{
    EV_REFUSE_NULL_VOID_(bufev);
    bufferevent_decref_and_unlock_(bufev);
}

static void
bufferevent_cancel_all_(struct bufferevent *bufev)
{
    union bufferevent_ctrl_data d;

    memset(&d, 0, sizeof(d));
    if (bufev->be_ops->ctrl)
        bufev->be_ops->ctrl(bufev, BEV_CTRL_CANCEL_ALL, &d);
}

void
bufferevent_free(struct bufferevent *bufev)
{
    /* NULL is accepted silently, as free(NULL) is. */
    if (bufev == NULL)
        return;
    BEV_LOCK(bufev);
    bufferevent_setcb(bufev, NULL, NULL, NULL, NULL);
    bufferevent_cancel_all_(bufev);
    bufferevent_decref_and_unlock_(bufev);
}

enum bufferevent_options
bufferevent_get_options_(struct bufferevent *bev)
{
    enum bufferevent_options options;

    BEV_LOCK(bev);
    options = BEV_UPCAST(bev)->options;
    BEV_UNLOCK(bev);
    return options;
}

/* ------------------------------------------------------------------ */
/* Callbacks and buffers                                               */

void
bufferevent_setcb(struct bufferevent *bufev, bufferevent_data_cb readcb,
    bufferevent_data_cb writecb, bufferevent_event_cb eventcb, void *cbarg)
{
    EV_REFUSE_NULL_VOID_(bufev);
    BEV_LOCK(bufev);
    bufev->readcb = readcb;
    bufev->writecb = writecb;
    bufev->errorcb = eventcb;
    bufev->cbarg = cbarg;
    BEV_UNLOCK(bufev);
}

void
bufferevent_getcb(struct bufferevent *bufev, bufferevent_data_cb *readcb_ptr,
    bufferevent_data_cb *writecb_ptr, bufferevent_event_cb *eventcb_ptr,
    void **cbarg_ptr)
{
    EV_REFUSE_NULL_VOID_(bufev);
    BEV_LOCK(bufev);
    if (readcb_ptr)
        *readcb_ptr = bufev->readcb;
    if (writecb_ptr)
        *writecb_ptr = bufev->writecb;
    if (eventcb_ptr)
        *eventcb_ptr = bufev->errorcb;
    if (cbarg_ptr)
        *cbarg_ptr = bufev->cbarg;
    BEV_UNLOCK(bufev);
}

struct evbuffer *
bufferevent_get_input(struct bufferevent *bufev)
{
    EV_REFUSE_NULL_(bufev, NULL);
    return bufev->input;
}

struct evbuffer *
bufferevent_get_output(struct bufferevent *bufev)
{
    EV_REFUSE_NULL_(bufev, NULL);
    return bufev->output;
}

struct event_base *
bufferevent_get_base(struct bufferevent *bufev)
{
    EV_REFUSE_NULL_(bufev, NULL);
    return bufev->ev_base;
}

int
bufferevent_get_priority(const struct bufferevent *bufev)
{
    EV_REFUSE_NULL_(bufev, -1);
    if (event_initialized(&bufev->ev_read))
        return event_get_priority(&bufev->ev_read);
    return bufev->ev_base ? event_base_get_npriorities(bufev->ev_base) / 2
                          : 0;
}

int
bufferevent_write(struct bufferevent *bufev, const void *data, size_t size)
{
    EV_REFUSE_NULL_(bufev, -1);
    if (size > 0)
        EV_REFUSE_NULL_(data, -1);
    if (evbuffer_add(bufev->output, data, size) == -1)
        return -1;
    return 0;
}

int
bufferevent_write_buffer(struct bufferevent *bufev, struct evbuffer *buf)
{
    EV_REFUSE_NULL_(bufev, -1);
    EV_REFUSE_NULL_(buf, -1);
    if (evbuffer_add_buffer(bufev->output, buf) == -1)
        return -1;
    return 0;
}

size_t
bufferevent_read(struct bufferevent *bufev, void *data, size_t size)
{
    EV_REFUSE_NULL_(bufev, 0);
    if (size > 0)
        EV_REFUSE_NULL_(data, 0);
    /* As in libevent, a failure (-1) comes back as (size_t)-1. */
    return (size_t)evbuffer_remove(bufev->input, data, size);
}

int
bufferevent_read_buffer(struct bufferevent *bufev, struct evbuffer *buf)
{
    EV_REFUSE_NULL_(bufev, -1);
    EV_REFUSE_NULL_(buf, -1);
    return evbuffer_add_buffer(buf, bufev->input);
}

/* ------------------------------------------------------------------ */
/* Enabling and suspension                                             */

int
bufferevent_enable(struct bufferevent *bufev, short event)
{
    struct bufferevent_private *p;
    short impl_events = event;
    int r = 0;

    EV_REFUSE_NULL_(bufev, -1);
    p = BEV_UPCAST(bufev);
    bufferevent_incref_and_lock_(bufev);
    if (p->read_suspended)
        impl_events &= ~EV_READ;
    if (p->write_suspended)
        impl_events &= ~EV_WRITE;
    bufev->enabled |= event;
    if (impl_events && bufev->be_ops->enable(bufev, impl_events) < 0)
        r = -1;
    if (r)
        event_debug(("%s: cannot enable 0x%hx on %p", __func__, event,
            (void *)bufev));
    bufferevent_decref_and_unlock_(bufev);
    return r;
}

int
bufferevent_disable(struct bufferevent *bufev, short event)
{
    int r = 0;

    EV_REFUSE_NULL_(bufev, -1);
    BEV_LOCK(bufev);
    bufev->enabled &= ~event;
    if (bufev->be_ops->disable(bufev, event) < 0)
        r = -1;
    if (r)
        event_debug(("%s: cannot disable 0x%hx on %p", __func__, event,
            (void *)bufev));
    BEV_UNLOCK(bufev);
    return r;
}

int
bufferevent_disable_hard_(struct bufferevent *bufev, short event)
{
    struct bufferevent_private *p = BEV_UPCAST(bufev);
    int r = 0;

    BEV_LOCK(bufev);
    bufev->enabled &= ~event;
    p->connecting = 0;
    if (bufev->be_ops->disable(bufev, event) < 0)
        r = -1;
    BEV_UNLOCK(bufev);
    return r;
}

short
bufferevent_get_enabled(struct bufferevent *bufev)
{
    short r;

    EV_REFUSE_NULL_(bufev, 0);
    BEV_LOCK(bufev);
    r = bufev->enabled;
    BEV_UNLOCK(bufev);
    return r;
}

void
bufferevent_suspend_read_(struct bufferevent *bufev,
    bufferevent_suspend_flags what)
{
    struct bufferevent_private *p = BEV_UPCAST(bufev);

    BEV_LOCK(bufev);
    if (!p->read_suspended)
        bufev->be_ops->disable(bufev, EV_READ);
    p->read_suspended |= what;
    BEV_UNLOCK(bufev);
}

/* Clear `what` from the read suspensions; then, if none is left and
 * reading is enabled, enable the transport again, whether or not it was
 * suspended (libevent's behaviour, see the head comment).  Not once the
 * last reference is gone: the events are being finalized. */
void
bufferevent_unsuspend_read_(struct bufferevent *bufev,
    bufferevent_suspend_flags what)
{
    struct bufferevent_private *p = BEV_UPCAST(bufev);

    BEV_LOCK(bufev);
    p->read_suspended &= ~what;
    if (!p->read_suspended && (bufev->enabled & EV_READ) && p->refcnt > 0)
        bufev->be_ops->enable(bufev, EV_READ);
    BEV_UNLOCK(bufev);
}

void
bufferevent_suspend_write_(struct bufferevent *bufev,
    bufferevent_suspend_flags what)
{
    struct bufferevent_private *p = BEV_UPCAST(bufev);

    BEV_LOCK(bufev);
    if (!p->write_suspended)
        bufev->be_ops->disable(bufev, EV_WRITE);
    p->write_suspended |= what;
    BEV_UNLOCK(bufev);
}

void
bufferevent_unsuspend_write_(struct bufferevent *bufev,
    bufferevent_suspend_flags what)
{
    struct bufferevent_private *p = BEV_UPCAST(bufev);

    BEV_LOCK(bufev);
    p->write_suspended &= ~what;
    if (!p->write_suspended && (bufev->enabled & EV_WRITE) && p->refcnt > 0)
        bufev->be_ops->enable(bufev, EV_WRITE);
    BEV_UNLOCK(bufev);
}

/* ------------------------------------------------------------------ */
/* Watermarks                                                          */

/* Input-buffer callback: apply the high read watermark on every change.
 * The watermark is read from the public struct, where old programs may
 * have stored it directly. */
static void
bufferevent_inbuf_wm_cb(struct evbuffer *buf,
    const struct evbuffer_cb_info *cbinfo, void *arg)
{
    struct bufferevent *bufev = arg;
    size_t high = bufev->wm_read.high;

    (void)cbinfo;
    if (high && evbuffer_get_length(buf) >= high)
        bufferevent_suspend_read_(bufev, BEV_SUSPEND_WM);
    else
        bufferevent_unsuspend_read_(bufev, BEV_SUSPEND_WM);
}

/* The input-buffer entry of bufferevent_inbuf_wm_cb, or NULL if none was
 * added yet.  Nobody else can name that static function, so the entry is
 * ours; the list holds a handful of entries at most.  Lock held. */
static struct evbuffer_cb_entry *
wm_cb_find(struct bufferevent *bufev)
{
    struct evbuffer_cb_entry *e;

    LIST_FOREACH(e, &bufev->input->callbacks, next) {
        if (!(e->flags & EVBUFFER_CB_OBSOLETE) &&
            e->cb.cb_func == bufferevent_inbuf_wm_cb && e->cbarg == bufev)
            return e;
    }
    return NULL;
}

/* Make sure the watermark callback exists and is on.  Returns 0 or -1. */
static int
wm_cb_enable(struct bufferevent *bufev)
{
    struct evbuffer_cb_entry *e = wm_cb_find(bufev);
    ev_uint32_t flags = EVBUFFER_CB_ENABLED;

    if (e == NULL) {
        e = evbuffer_add_cb(bufev->input, bufferevent_inbuf_wm_cb, bufev);
        if (e == NULL)
            return -1;
    }
#ifdef EVBUFFER_CB_NODEFER
    /* Suspension must follow the buffer at once, even if someone made
     * the buffer's callbacks deferred. */
    flags |= EVBUFFER_CB_NODEFER;
#endif
    return evbuffer_cb_set_flags(bufev->input, e, flags);
}

/* Suspend reading because the input is full, making sure a drain below
 * the watermark resumes it even if the watermark was set by assigning
 * bev->wm_read directly.  Lock held. */
void
bufferevent_wm_suspend_read_(struct bufferevent *bufev)
{
    wm_cb_enable(bufev);
    bufferevent_suspend_read_(bufev, BEV_SUSPEND_WM);
}

void
bufferevent_setwatermark(struct bufferevent *bufev, short events,
    size_t lowmark, size_t highmark)
{
    EV_REFUSE_NULL_VOID_(bufev);
    BEV_LOCK(bufev);
    if (events & EV_WRITE) {
        bufev->wm_write.low = lowmark;
        bufev->wm_write.high = highmark;
    }
    if (events & EV_READ) {
        bufev->wm_read.low = lowmark;
        bufev->wm_read.high = highmark;
        if (highmark) {
            wm_cb_enable(bufev);
            if (evbuffer_get_length(bufev->input) >= highmark)
                bufferevent_suspend_read_(bufev, BEV_SUSPEND_WM);
            else
                bufferevent_unsuspend_read_(bufev, BEV_SUSPEND_WM);
        } else {
            struct evbuffer_cb_entry *e = wm_cb_find(bufev);

            if (e)
                evbuffer_cb_clear_flags(bufev->input, e, EVBUFFER_CB_ENABLED);
            bufferevent_unsuspend_read_(bufev, BEV_SUSPEND_WM);
        }
    }
    BEV_UNLOCK(bufev);
}

int
bufferevent_getwatermark(struct bufferevent *bufev, short events,
    size_t *lowmark, size_t *highmark)
{
    const struct event_watermark *wm;

    EV_REFUSE_NULL_(bufev, -1);
    if (events == EV_WRITE)
        wm = &bufev->wm_write;
    else if (events == EV_READ)
        wm = &bufev->wm_read;
    else
        return -1;
    BEV_LOCK(bufev);
    if (lowmark)
        *lowmark = wm->low;
    if (highmark)
        *highmark = wm->high;
    BEV_UNLOCK(bufev);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Timeouts                                                            */

int
bufferevent_add_event_(struct event *ev, const struct timeval *tv)
{
    /* A socket bufferevent may have no socket yet: its events then still
     * carry its timeouts, as in libevent. */
    if (!evutil_timerisset(tv))
        return event_add_any_fd_(ev, NULL);
    return event_add_any_fd_(ev, tv);
}

int
bufferevent_set_timeouts(struct bufferevent *bufev,
    const struct timeval *tv_read, const struct timeval *tv_write)
{
    int r = 0;

    EV_REFUSE_NULL_(bufev, -1);
    BEV_LOCK(bufev);
    if (tv_read)
        bufev->timeout_read = *tv_read;
    else
        evutil_timerclear(&bufev->timeout_read);
    if (tv_write)
        bufev->timeout_write = *tv_write;
    else
        evutil_timerclear(&bufev->timeout_write);
    if (bufev->be_ops->adj_timeouts)
        r = bufev->be_ops->adj_timeouts(bufev);
    BEV_UNLOCK(bufev);
    return r;
}

void
bufferevent_settimeout(struct bufferevent *bufev, int timeout_read,
    int timeout_write)
{
    struct timeval tv_read, tv_write;

    EV_REFUSE_NULL_VOID_(bufev);
    memset(&tv_read, 0, sizeof(tv_read));
    memset(&tv_write, 0, sizeof(tv_write));
    tv_read.tv_sec = timeout_read;
    tv_write.tv_sec = timeout_write;
    bufferevent_set_timeouts(bufev, timeout_read ? &tv_read : NULL,
        timeout_write ? &tv_write : NULL);
}

int
bufferevent_generic_adj_existing_timeouts_(struct bufferevent *bev)
{
    int r = 0;

    if (event_pending(&bev->ev_read, EV_READ, NULL)) {
        if (evutil_timerisset(&bev->timeout_read)) {
            if (bufferevent_add_event_(&bev->ev_read, &bev->timeout_read) < 0)
                r = -1;
        } else {
            event_remove_timer(&bev->ev_read);
        }
    }
    if (event_pending(&bev->ev_write, EV_WRITE, NULL)) {
        if (evutil_timerisset(&bev->timeout_write)) {
            if (bufferevent_add_event_(&bev->ev_write, &bev->timeout_write) <
                0)
                r = -1;
        } else {
            event_remove_timer(&bev->ev_write);
        }
    }
    return r;
}

int
bufferevent_generic_adj_timeouts_(struct bufferevent *bev)
{
    struct bufferevent_private *p = BEV_UPCAST(bev);
    const short enabled = bev->enabled;
    int r1, r2;

    if ((enabled & EV_READ) && !p->read_suspended &&
        evutil_timerisset(&bev->timeout_read))
        r1 = event_add(&bev->ev_read, &bev->timeout_read);
    else
        r1 = event_del(&bev->ev_read);

    if ((enabled & EV_WRITE) && !p->write_suspended &&
        evutil_timerisset(&bev->timeout_write) &&
        evbuffer_get_length(bev->output))
        r2 = event_add(&bev->ev_write, &bev->timeout_write);
    else
        r2 = event_del(&bev->ev_write);
    return (r1 < 0 || r2 < 0) ? -1 : 0;
}

static void
generic_read_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct bufferevent *bev = arg;

    (void)fd;
    (void)what;
    bufferevent_incref_and_lock_(bev);
    bufferevent_disable(bev, EV_READ);
    bufferevent_run_eventcb_(bev, BEV_EVENT_TIMEOUT | BEV_EVENT_READING, 0);
    bufferevent_decref_and_unlock_(bev);
}

static void
generic_write_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct bufferevent *bev = arg;

    (void)fd;
    (void)what;
    bufferevent_incref_and_lock_(bev);
    bufferevent_disable(bev, EV_WRITE);
    bufferevent_run_eventcb_(bev, BEV_EVENT_TIMEOUT | BEV_EVENT_WRITING, 0);
    bufferevent_decref_and_unlock_(bev);
}

void
bufferevent_init_generic_timeout_cbs_(struct bufferevent *bev)
{
    event_assign(&bev->ev_read, bev->ev_base, -1, EV_FINALIZE,
        generic_read_timeout_cb, bev);
    event_assign(&bev->ev_write, bev->ev_base, -1, EV_FINALIZE,
        generic_write_timeout_cb, bev);
}

/* ------------------------------------------------------------------ */
/* Flushing and implementation controls                                */

int
bufferevent_flush(struct bufferevent *bufev, short iotype,
    enum bufferevent_flush_mode mode)
{
    int r = -1;

    EV_REFUSE_NULL_(bufev, -1);
    BEV_LOCK(bufev);
    if (bufev->be_ops->flush)
        r = bufev->be_ops->flush(bufev, iotype, mode);
    BEV_UNLOCK(bufev);
    return r;
}

int
bufferevent_setfd(struct bufferevent *bufev, evutil_socket_t fd)
{
    union bufferevent_ctrl_data d;
    int r = -1;

    EV_REFUSE_NULL_(bufev, -1);
    d.fd = fd;
    BEV_LOCK(bufev);
    if (bufev->be_ops->ctrl)
        r = bufev->be_ops->ctrl(bufev, BEV_CTRL_SET_FD, &d);
    if (r)
        event_debug(("%s: cannot set fd for %p to " EV_SOCK_FMT, __func__,
            (void *)bufev, EV_SOCK_ARG(fd)));
    BEV_UNLOCK(bufev);
    return r;
}

evutil_socket_t
bufferevent_getfd(struct bufferevent *bufev)
{
    union bufferevent_ctrl_data d;
    int r = -1;

    EV_REFUSE_NULL_(bufev, EVUTIL_INVALID_SOCKET);
    d.fd = -1;
    BEV_LOCK(bufev);
    if (bufev->be_ops->ctrl)
        r = bufev->be_ops->ctrl(bufev, BEV_CTRL_GET_FD, &d);
    BEV_UNLOCK(bufev);
    return r < 0 ? -1 : d.fd;
}

struct bufferevent *
bufferevent_get_underlying(struct bufferevent *bufev)
{
    union bufferevent_ctrl_data d;
    int r = -1;

    EV_REFUSE_NULL_(bufev, NULL);
    d.ptr = NULL;
    BEV_LOCK(bufev);
    if (bufev->be_ops->ctrl)
        r = bufev->be_ops->ctrl(bufev, BEV_CTRL_GET_UNDERLYING, &d);
    BEV_UNLOCK(bufev);
    return r < 0 ? NULL : d.ptr;
}

/*
 * bufferevent-filter.c: a bufferevent that transforms the data of another.
 *
 * The filter takes over the underlying bufferevent's callbacks.  Data the
 * underlying reads passes through the input filter into our input; data
 * the user writes passes through the output filter into the underlying's
 * output.  A filter function returns BEV_OK when it produced something,
 * BEV_NEED_MORE when it needs more input first, BEV_ERROR on failure; it
 * is called again while it makes progress and there is room.
 *
 * Invariants:
 *  - we hold a reference on the underlying bufferevent from creation until
 *    our finalizer; with BEV_OPT_CLOSE_ON_FREE freeing us also frees it;
 *  - while our reading is off (not enabled), the underlying's reading is
 *    suspended with BEV_SUSPEND_FILT_READ, so data waits in the kernel;
 *  - with BEV_NORMAL we never write past the underlying's high write
 *    watermark nor fill our input past our high read watermark; data the
 *    watermark holds back in the underlying's input is picked up again when
 *    the user drains our input (inbuf_cb);
 *  - ev_read / ev_write are our generic timeout timers.
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
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

struct bufferevent_filtered {
    struct bufferevent_private bev;
    struct bufferevent *underlying;
    /* Our input: re-run the input filter when the user drains it. */
    struct evbuffer_cb_entry *inbuf_cb;
    /* Our output: run the output filter when the user adds to it. */
    struct evbuffer_cb_entry *outbuf_cb;
    void (*free_context)(void *);
    bufferevent_filter_cb process_in;
    bufferevent_filter_cb process_out;
    void *context;
};

static int be_filter_enable(struct bufferevent *, short);
static int be_filter_disable(struct bufferevent *, short);
static void be_filter_unlink(struct bufferevent *);
static void be_filter_destruct(struct bufferevent *);
static int be_filter_flush(struct bufferevent *, short,
    enum bufferevent_flush_mode);
static int be_filter_ctrl(struct bufferevent *, enum bufferevent_ctrl_op,
    union bufferevent_ctrl_data *);

const struct bufferevent_ops bufferevent_ops_filter = {
    "filter",
    evutil_offsetof(struct bufferevent_filtered, bev.bev),
    be_filter_enable,
    be_filter_disable,
    be_filter_unlink,
    be_filter_destruct,
    bufferevent_generic_adj_timeouts_,
    be_filter_flush,
    be_filter_ctrl,
};

static inline struct bufferevent_filtered *
upcast(struct bufferevent *bev)
{
    if (bev->be_ops != &bufferevent_ops_filter)
        return NULL;
    return EVUTIL_UPCAST(bev, struct bufferevent_filtered, bev.bev);
}

static inline struct bufferevent *
downcast(struct bufferevent_filtered *bevf)
{
    return &bevf->bev.bev;
}

static void be_filter_readcb(struct bufferevent *, void *);
static void be_filter_writecb(struct bufferevent *, void *);
static void be_filter_eventcb(struct bufferevent *, short, void *);

/* The default filter: pass everything through. */
static enum bufferevent_filter_result
be_null_filter(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t lim,
    enum bufferevent_flush_mode state, void *ctx)
{
    (void)state;
    (void)ctx;
    if (lim < 0) {
        if (evbuffer_remove_buffer(src, dst, evbuffer_get_length(src)) < 0)
            return BEV_ERROR;
    } else if (evbuffer_remove_buffer(src, dst, (size_t)lim) < 0) {
        return BEV_ERROR;
    }
    return BEV_OK;
}

/* Our input holds as much as the high read watermark allows. */
static int
readbuf_full(struct bufferevent_filtered *bevf,
    enum bufferevent_flush_mode state)
{
    struct bufferevent *bufev = downcast(bevf);

    return state == BEV_NORMAL && bufev->wm_read.high &&
           evbuffer_get_length(bufev->input) >= bufev->wm_read.high;
}

/* The underlying's output holds as much as its high write watermark
 * allows. */
static int
underlying_writebuf_full(struct bufferevent_filtered *bevf,
    enum bufferevent_flush_mode state)
{
    struct bufferevent *u = bevf->underlying;

    return state == BEV_NORMAL && u->wm_write.high &&
           evbuffer_get_length(u->output) >= u->wm_write.high;
}

/* Run the input filter while it makes progress.  Sets *processed_out if
 * it produced anything.  Lock held. */
static enum bufferevent_filter_result
process_input(struct bufferevent_filtered *bevf,
    enum bufferevent_flush_mode state, int *processed_out)
{
    struct bufferevent *bev = downcast(bevf);
    enum bufferevent_filter_result res;

    /* In normal mode, only while reading and below the watermark. */
    if (state == BEV_NORMAL &&
        (!(bev->enabled & EV_READ) || readbuf_full(bevf, state)))
        return BEV_OK;

    do {
        ev_ssize_t limit = -1;
        if (state == BEV_NORMAL && bev->wm_read.high)
            limit = (ev_ssize_t)(bev->wm_read.high -
                                 evbuffer_get_length(bev->input));
        res = bevf->process_in(bevf->underlying->input, bev->input, limit,
            state, bevf->context);
        if (res == BEV_OK)
            *processed_out = 1;
    } while (res == BEV_OK && (bev->enabled & EV_READ) &&
             evbuffer_get_length(bevf->underlying->input) &&
             !readbuf_full(bevf, state));
    return res;
}

/* Run the output filter while it makes progress, calling our write
 * callback after each productive round.  Lock held. */
static enum bufferevent_filter_result
process_output(struct bufferevent_filtered *bevf,
    enum bufferevent_flush_mode state, int *processed_out)
{
    struct bufferevent *bufev = downcast(bevf);
    enum bufferevent_filter_result res = BEV_OK;
    int again;

    /* In normal mode, only while writing, with data and room below. */
    if (state == BEV_NORMAL &&
        (!(bufev->enabled & EV_WRITE) ||
            underlying_writebuf_full(bevf, state) ||
            !evbuffer_get_length(bufev->output)))
        return BEV_OK;

    /* Our draining of the output must not call us back. */
    evbuffer_cb_clear_flags(bufev->output, bevf->outbuf_cb,
        EVBUFFER_CB_ENABLED);
    do {
        int processed = 0;
        again = 0;
        do {
            ev_ssize_t limit = -1;
            if (state == BEV_NORMAL && bevf->underlying->wm_write.high)
                limit = (ev_ssize_t)(bevf->underlying->wm_write.high -
                                     evbuffer_get_length(
                                         bevf->underlying->output));
            res = bevf->process_out(bufev->output, bevf->underlying->output,
                limit, state, bevf->context);
            if (res == BEV_OK)
                processed = *processed_out = 1;
        } while (res == BEV_OK && (bufev->enabled & EV_WRITE) &&
                 evbuffer_get_length(bufev->output) &&
                 !underlying_writebuf_full(bevf, state));

        if (processed) {
            /* The write callback may add more output: go round again. */
            bufferevent_trigger_nolock_(bufev, EV_WRITE, 0);
            if (res == BEV_OK && (bufev->enabled & EV_WRITE) &&
                evbuffer_get_length(bufev->output) &&
                !underlying_writebuf_full(bevf, state))
                again = 1;
        }
    } while (again);
    evbuffer_cb_set_flags(bufev->output, bevf->outbuf_cb,
        EVBUFFER_CB_ENABLED);
    return res;
}

/* The user added to our output. */
static void
filter_outbuf_cb(struct evbuffer *buf, const struct evbuffer_cb_info *cbinfo,
    void *arg)
{
    struct bufferevent_filtered *bevf = arg;
    struct bufferevent *bev = downcast(bevf);
    int processed_any = 0;

    (void)buf;
    if (cbinfo->n_added) {
        bufferevent_incref_and_lock_(bev);
        process_output(bevf, BEV_NORMAL, &processed_any);
        bufferevent_decref_and_unlock_(bev);
    }
}

/* Filter what the underlying has read and tell our user.  Lock held. */
static void
filter_read(struct bufferevent_filtered *bevf)
{
    struct bufferevent *bufev = downcast(bevf);
    int processed_any = 0;

    /* Another thread may have dropped the last reference already. */
    if (bevf->bev.refcnt <= 0)
        return;
    process_input(bevf, BEV_NORMAL, &processed_any);
    if (processed_any) {
        bufferevent_trigger_nolock_(bufev, EV_READ, 0);
        /* Input left behind because our input is full: come back when the
         * user drains it. */
        if (evbuffer_get_length(bevf->underlying->input) > 0 &&
            readbuf_full(bevf, BEV_NORMAL))
            evbuffer_cb_set_flags(bufev->input, bevf->inbuf_cb,
                EVBUFFER_CB_ENABLED);
    }
}

/* Our input changed (the user drained it): resume filtering input that
 * waited for room. */
static void
filter_inbuf_cb(struct evbuffer *buf, const struct evbuffer_cb_info *cbinfo,
    void *arg)
{
    struct bufferevent_filtered *bevf = arg;
    struct bufferevent *bev = downcast(bevf);

    (void)buf;
    (void)cbinfo;
    bufferevent_incref_and_lock_(bev);
    if (!readbuf_full(bevf, BEV_NORMAL)) {
        evbuffer_cb_clear_flags(bev->input, bevf->inbuf_cb,
            EVBUFFER_CB_ENABLED);
        if (evbuffer_get_length(bevf->underlying->input) > 0)
            filter_read(bevf);
    }
    bufferevent_decref_and_unlock_(bev);
}

struct bufferevent *
bufferevent_filter_new(struct bufferevent *underlying,
    bufferevent_filter_cb input_filter, bufferevent_filter_cb output_filter,
    int options, void (*free_context)(void *), void *ctx)
{
    struct bufferevent_filtered *bevf;
    struct bufferevent *bev;

    EV_REFUSE_NULL_(underlying, NULL);
    if ((bevf = mm_calloc(1, sizeof(*bevf))) == NULL)
        return NULL;
    /* The lock comes below, once we know the underlying. */
    if (bufferevent_init_common_(&bevf->bev, underlying->ev_base,
            &bufferevent_ops_filter,
            (enum bufferevent_options)(options & ~BEV_OPT_THREADSAFE)) < 0) {
        mm_free(bevf);
        return NULL;
    }
    bev = downcast(bevf);
    bevf->bev.options = (enum bufferevent_options)options;
    if (options & BEV_OPT_THREADSAFE) {
        /* Share the underlying's lock if it has one (it outlives us: we
         * hold a reference until our finalizer is done).  Otherwise take
         * a lock of our own and leave the underlying as it is, since it
         * may outlive us. */
        /* Without thread support this fails and, as in libevent, the
         * filter simply goes unlocked. */
        bufferevent_enable_locking_(bev, BEV_UPCAST(underlying)->lock);
    }
    bevf->underlying = underlying;
    bevf->process_in = input_filter ? input_filter : be_null_filter;
    bevf->process_out = output_filter ? output_filter : be_null_filter;
    bevf->free_context = free_context;
    bevf->context = ctx;

    bevf->inbuf_cb = evbuffer_add_cb(bev->input, filter_inbuf_cb, bevf);
    bevf->outbuf_cb = evbuffer_add_cb(bev->output, filter_outbuf_cb, bevf);
    if (!bevf->inbuf_cb || !bevf->outbuf_cb)
        goto err;
    evbuffer_cb_clear_flags(bev->input, bevf->inbuf_cb, EVBUFFER_CB_ENABLED);
    bufferevent_init_generic_timeout_cbs_(bev);

    bufferevent_incref_(underlying);
    bufferevent_setcb(underlying, be_filter_readcb, be_filter_writecb,
        be_filter_eventcb, bevf);
    bufferevent_enable(underlying, EV_READ | EV_WRITE);
    /* We start with reading off (only EV_WRITE enabled). */
    bufferevent_suspend_read_(underlying, BEV_SUSPEND_FILT_READ);
    return bev;

err:
    /* Undo without touching the underlying or the user's context. */
    bevf->underlying = NULL;
    bevf->free_context = NULL;
    bevf->bev.options &= ~BEV_OPT_CLOSE_ON_FREE;
    bufferevent_decref_(bev);
    return NULL;
}

static void
be_filter_unlink(struct bufferevent *bev)
{
    struct bufferevent_filtered *bevf = upcast(bev);

    if (!bevf->underlying)
        return;
    if (bevf->bev.options & BEV_OPT_CLOSE_ON_FREE) {
        /* Drop the user's reference now; ours goes in the finalizer. */
        if (BEV_UPCAST(bevf->underlying)->refcnt < 2)
            event_warnx("BEV_OPT_CLOSE_ON_FREE set on a bufferevent with "
                        "too few references");
        else
            bufferevent_free(bevf->underlying);
    } else {
        /* Give the underlying back to its owner, reading as before. */
        if (bevf->underlying->errorcb == be_filter_eventcb)
            bufferevent_setcb(bevf->underlying, NULL, NULL, NULL, NULL);
        bufferevent_unsuspend_read_(bevf->underlying, BEV_SUSPEND_FILT_READ);
    }
}

static void
be_filter_destruct(struct bufferevent *bev)
{
    struct bufferevent_filtered *bevf = upcast(bev);

    if (bevf->free_context)
        bevf->free_context(bevf->context);
    if (bevf->inbuf_cb)
        evbuffer_remove_cb_entry(bev->input, bevf->inbuf_cb);
    if (bevf->outbuf_cb)
        evbuffer_remove_cb_entry(bev->output, bevf->outbuf_cb);
}

static int
be_filter_enable(struct bufferevent *bev, short event)
{
    struct bufferevent_filtered *bevf = upcast(bev);

    if ((event & EV_WRITE) && evutil_timerisset(&bev->timeout_write))
        event_add(&bev->ev_write, &bev->timeout_write);
    if (event & EV_READ) {
        if (evutil_timerisset(&bev->timeout_read))
            event_add(&bev->ev_read, &bev->timeout_read);
        bufferevent_unsuspend_read_(bevf->underlying, BEV_SUSPEND_FILT_READ);
    }
    return 0;
}

static int
be_filter_disable(struct bufferevent *bev, short event)
{
    struct bufferevent_filtered *bevf = upcast(bev);

    if (event & EV_WRITE)
        event_del(&bev->ev_write);
    if (event & EV_READ) {
        event_del(&bev->ev_read);
        bufferevent_suspend_read_(bevf->underlying, BEV_SUSPEND_FILT_READ);
    }
    return 0;
}

/* The underlying read something. */
static void
be_filter_readcb(struct bufferevent *underlying, void *me)
{
    struct bufferevent_filtered *bevf = me;
    struct bufferevent *bev = downcast(bevf);

    (void)underlying;
    BEV_LOCK(bev);
    filter_read(bevf);
    BEV_UNLOCK(bev);
}

/* The underlying drained its output: feed it more. */
static void
be_filter_writecb(struct bufferevent *underlying, void *me)
{
    struct bufferevent_filtered *bevf = me;
    struct bufferevent *bev = downcast(bevf);
    int processed_any = 0;

    (void)underlying;
    BEV_LOCK(bev);
    if (bevf->bev.refcnt > 0)
        process_output(bevf, BEV_NORMAL, &processed_any);
    BEV_UNLOCK(bev);
}

/* The underlying reports an event: pass it on. */
static void
be_filter_eventcb(struct bufferevent *underlying, short what, void *me)
{
    struct bufferevent_filtered *bevf = me;
    struct bufferevent *bev = downcast(bevf);

    (void)underlying;
    BEV_LOCK(bev);
    if (bevf->bev.refcnt > 0)
        bufferevent_run_eventcb_(bev, what, 0);
    BEV_UNLOCK(bev);
}

/* Push data through with the given mode; BEV_FINISHED lets the filters
 * emit trailers.  Then flush the underlying the same way.  Returns 1 if a
 * filter produced anything, else 0. */
static int
be_filter_flush(struct bufferevent *bufev, short iotype,
    enum bufferevent_flush_mode mode)
{
    struct bufferevent_filtered *bevf = upcast(bufev);
    int processed_any = 0;

    bufferevent_incref_and_lock_(bufev);
    if (iotype & EV_READ)
        process_input(bevf, mode, &processed_any);
    if (iotype & EV_WRITE)
        process_output(bevf, mode, &processed_any);
    bufferevent_flush(bevf->underlying, iotype, mode);
    bufferevent_decref_and_unlock_(bufev);
    return processed_any;
}

static int
be_filter_ctrl(struct bufferevent *bev, enum bufferevent_ctrl_op op,
    union bufferevent_ctrl_data *data)
{
    struct bufferevent_filtered *bevf = upcast(bev);

    switch (op) {
    case BEV_CTRL_GET_UNDERLYING:
        data->ptr = bevf->underlying;
        return 0;
    case BEV_CTRL_SET_FD:
    case BEV_CTRL_GET_FD:
        /* The fd is the underlying's. */
        if (bevf->underlying && bevf->underlying->be_ops->ctrl)
            return bevf->underlying->be_ops->ctrl(bevf->underlying, op, data);
        return -1;
    case BEV_CTRL_CANCEL_ALL:
    default:
        return -1;
    }
}

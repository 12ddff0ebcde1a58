/*
 * evmap-internal.h: the maps from fds and signal numbers to the events
 * waiting on them, and the changelist that batches interest changes.
 *
 * The io map is a flat array indexed by fd.  Each slot holds the list of
 * events on that fd, how many want read/write/close, and fdinfo_len
 * bytes reserved for the backend (passed to its add/del as fdinfo).  A
 * backend sees exactly one add/del per change of the union of interests
 * on an fd, never one per event.
 */
#ifndef EVMAP_INTERNAL_H_INCLUDED_
#define EVMAP_INTERNAL_H_INCLUDED_

#include <stddef.h>
#include <string.h>

#include "event-internal.h"
#include "evthread-internal.h"

#ifdef __cplusplus
extern "C" {
#endif

void evmap_io_initmap_(struct event_io_map *ctx);
void evmap_signal_initmap_(struct event_signal_map *ctx);
void evmap_io_clear_(struct event_io_map *ctx);
void evmap_signal_clear_(struct event_signal_map *ctx);

/* Add/remove ev to/from the map of its fd; tell the backend when the set
 * of interests on the fd changes.  Return -1 on error, 1 if the backend
 * was told, 0 otherwise. */
int evmap_io_add_(struct event_base *base, evutil_socket_t fd,
    struct event *ev);
int evmap_io_del_(struct event_base *base, evutil_socket_t fd,
    struct event *ev);
/* Called by backends from the loop thread: the kernel says fd is ready
 * for events.  Wakes no other thread; a caller in another thread must
 * notify the base itself. */
void evmap_io_active_(struct event_base *base, evutil_socket_t fd,
    short events);

/* One slot of the io map (private to evmap.c but for the inline
 * evmap_io_active_inl_ below). */
LIST_HEAD(event_dlist_, event);
struct evmap_io {
    struct event_dlist_ events;
    /* Events per kind, at most 65535 each (libevent's
     * limit too): 16 bytes of header with the pointer. */
    ev_uint16_t nread;
    ev_uint16_t nwrite;
    ev_uint16_t nclose;
    /* The union of interests: EV_READ/EV_WRITE/EV_CLOSED for each
     * non-zero count above. */
    ev_uint16_t interest;
    /* Followed by the backend's fdinfo_len bytes. */
    ev_uint64_t fdinfo[];
};

#define EVMAP_FDINFO(ctx) ((void *)(ctx)->fdinfo)
#define EVMAP_IO_KINDS (EV_READ | EV_WRITE | EV_CLOSED)

/* In evmap.c, for the inline add below: fd's slot, made (and the map
 * grown) when missing, or NULL with a message; and the rare refusals of
 * an add to an fd that has events already (mixed edge and level
 * triggering, a full count), 1 with a message when refused. */
struct evmap_io *evmap_io_new_slot_(struct event_base *base,
    evutil_socket_t fd);
int evmap_io_add_refused_(evutil_socket_t fd, const struct evmap_io *ctx,
    const struct event *first, short evs);

/* Takes an event of kinds evs off ctx's counts; returns the kinds that
 * no event on the fd wants any more. */
static inline short
evmap_io_count_down_(struct evmap_io *ctx, short evs)
{
    short res = 0;

    if ((evs & EV_READ) && --ctx->nread == 0)
        res |= EV_READ;
    if ((evs & EV_WRITE) && --ctx->nwrite == 0)
        res |= EV_WRITE;
    if ((evs & EV_CLOSED) && --ctx->nclose == 0)
        res |= EV_CLOSED;
    return res;
}

/* Takes ev back out of the map of its fd after the backend refused the
 * add of evmap_io_add_last_inl_: the counts, the interests and the list
 * as they were.  Returns -1. */
int evmap_io_add_undo_(struct event_base *base, struct event *ev);

/* Whether evmap_io_add_refused_ might refuse an add of evs to ctx,
 * whose first event is first: a cheap superset of its cases. */
static inline int
evmap_io_add_may_refuse_(const struct evmap_io *ctx,
    const struct event *first, short evs)
{
    return ((first->ev_events ^ evs) & EV_ET) || ctx->nread == 0xffff ||
           ctx->nwrite == 0xffff || ctx->nclose == 0xffff;
}

/* evmap_io_add_last_inl_: for an fd >= 0 already in the map and an add
 * evmap_io_add_refused_ (or evmap_io_add_may_refuse_) lets through; 1
 * when the backend was told, 0 when it had nothing to do, -1 when it
 * refused the add (nothing changed then). */
static inline int
evmap_io_add_last_inl_(struct event_base *base, struct evmap_io *ctx,
    struct event *ev)
{
    short evs = ev->ev_events, old, res;

    old = (short)ctx->interest;
    /* The kinds nobody on this fd wanted yet. */
    res = evs & EVMAP_IO_KINDS & ~old;
    if (evs & EV_READ)
        ++ctx->nread;
    if (evs & EV_WRITE)
        ++ctx->nwrite;
    if (evs & EV_CLOSED)
        ++ctx->nclose;
    ctx->interest = (ev_uint16_t)(old | res);
    LIST_INSERT_HEAD(&ctx->events, ev, ev_io_next);
    if (res && EVUTIL_UNLIKELY(base->evsel->add(base, ev->ev_fd, old,
                                   (evs & EV_ET) | res,
                                   EVMAP_FDINFO(ctx)) == -1))
        return evmap_io_add_undo_(ev->ev_base, ev);
    return res != 0;
}

/* evmap_io_add_ inline, for event_add's path. */
static inline int
evmap_io_add_inl_(struct event_base *base, evutil_socket_t fd,
    struct event *ev)
{
    struct evmap_io *ctx;
    struct event *first;

    if (fd < 0)
        return 0;
    event_ready_note_change_(base, fd);
    if (EVUTIL_UNLIKELY(fd >= base->io.nentries) ||
        EVUTIL_UNLIKELY((ctx = base->io.entries[fd]) == NULL)) {
        if ((ctx = evmap_io_new_slot_(base, fd)) == NULL)
            return -1;
    }
    first = LIST_FIRST(&ctx->events);
    if (first && evmap_io_add_refused_(fd, ctx, first, ev->ev_events))
        return -1;
    return evmap_io_add_last_inl_(base, ctx, ev);
}

/* evmap_io_del_ inline, for event_del's path. */
static inline int
evmap_io_del_inl_(struct event_base *base, evutil_socket_t fd,
    struct event *ev)
{
    struct evmap_io *ctx;
    short evs = ev->ev_events, old, res;
    int retval = 0;

    if (fd < 0)
        return 0;
    /* event_del_nolock_ called event_ready_note_change_ already. */
    if (EVUTIL_UNLIKELY(fd >= base->io.nentries) ||
        EVUTIL_UNLIKELY((ctx = base->io.entries[fd]) == NULL))
        return -1;
    old = (short)ctx->interest;
    res = evmap_io_count_down_(ctx, evs);
    if (res) {
        ctx->interest = (ev_uint16_t)(old & ~res);
        if (base->evsel->del(base, fd, old, (evs & EV_ET) | res,
                EVMAP_FDINFO(ctx)) == -1)
            retval = -1;
        else
            retval = 1;
    }
    LIST_REMOVE(ev, ev_io_next);
    return retval;
}

/* The usual del of an I/O event on a base that nobody needs to wake
 * (see event_del in event.c): the map is updated first and the backend's
 * del is the last call, a tail call.  0, or -1 as the backend's del or
 * for an fd not in the map; a negative fd (never mapped) is 0.  It does
 * not say whether the backend was told. */
static inline int
evmap_io_del_last_inl_(struct event_base *base, evutil_socket_t fd,
    struct event *ev)
{
    struct evmap_io *ctx;
    short evs = ev->ev_events, res;
    ev_uint16_t old;

    if (EVUTIL_UNLIKELY((unsigned)fd >= (unsigned)base->io.nentries) ||
        EVUTIL_UNLIKELY((ctx = base->io.entries[fd]) == NULL))
        return fd < 0 ? 0 : -1;
    res = evmap_io_count_down_(ctx, evs);
    LIST_REMOVE(ev, ev_io_next);
    if (!res)
        return 0;
    old = ctx->interest;
    ctx->interest = (ev_uint16_t)(old & ~res);
    return base->evsel->del(base, fd, (short)old, (evs & EV_ET) | res,
        EVMAP_FDINFO(ctx));
}

/* Activate ctx's events that want any of events.  from_dispatch is 1
 * when a backend's dispatch calls it (no callback priority is running
 * then); after as for event_active_io_in_loop_.  The caller must call
 * event_base_note_count_max_ afterwards (event_base_loop does, after
 * dispatch). */
static inline void
evmap_io_ctx_active_inl_(struct event_base *base, struct evmap_io *ctx,
    short events, int from_dispatch, struct event_callback **after)
{
    struct event *ev;

    LIST_FOREACH(ev, &ctx->events, ev_io_next)
    {
        /* EV_ET, which edge-triggering backends add to events, is
         * reported to the events that asked for it, as by libevent. */
        short what = ev->ev_events & events;
        if (what & EVMAP_IO_KINDS)
            event_active_io_in_loop_(base, ev, what & (EVMAP_IO_KINDS | EV_ET),
                from_dispatch, after);
    }
}

/* evmap_io_active_ inline. */
static inline void
evmap_io_active_inl_(struct event_base *base, evutil_socket_t fd,
    short events, int from_dispatch)
{
    struct evmap_io *ctx;

    if (EVUTIL_UNLIKELY(fd < 0 || fd >= base->io.nentries))
        return;
    ctx = base->io.entries[fd];
    if (EVUTIL_UNLIKELY(ctx == NULL))
        return;
    evmap_io_ctx_active_inl_(base, ctx, events, from_dispatch, NULL);
}

/* Run the callback of the one event of ctx that wants events, straight
 * from a backend's result (see event_ready_defer_ok_).  Returns 1 if a
 * non-internal callback ran, 0 if an internal one ran, EVMAP_RUN_NOTHING
 * if no event wants events, -1 (having done nothing) when the queue must
 * take this entry
 * and the rest: several events want events, or the one is active,
 * finalizing or not a plain I/O event.  locked (a constant) says the
 * base has a lock, held by the caller: the callback runs without it,
 * and a thread waiting in event_del for this callback is woken after. */
#define EVMAP_RUN_NOTHING (-2)
/* The flags that keep an event's callback from running straight from a
 * result: the queue must take it. */
#define EVMAP_RUN_QUEUE_FLAGS_ (EVLIST_ACTIVE | EVLIST_ACTIVE_LATER | \
    EVLIST_FINALIZING | EVLIST_DEL_WAITING)

/* The call itself, for evmap_io_ctx_run_ready_ below.  On a base
 * without a lock it leaves base->current_event naming ev: the caller
 * must clear it before anything but the next such call (see
 * epoll_run_ready_inl). */
static inline void
evmap_io_call_ready_(struct event_base *base, struct event *ev,
    evutil_socket_t fd, short res, const int locked)
    EVUTIL_ALWAYS_INLINE_
    ;
static inline void
evmap_io_call_ready_(struct event_base *base, struct event *ev,
    evutil_socket_t fd, short res, const int locked)
{
    event_callback_fn cb = ev->ev_callback;
    void *arg = ev->ev_arg;

    base->current_event = &ev->ev_evcallback;
    if (locked) {
        base->current_event_waiters = 0;
        EVBASE_RELEASE_LOCK(base, th_base_lock);
        (*cb)(fd, res, arg);
        EVBASE_ACQUIRE_LOCK(base, th_base_lock);
        base->current_event = NULL;
        if (base->current_event_waiters) {
            base->current_event_waiters = 0;
            EVTHREAD_COND_BROADCAST(base->current_event_cond);
        }
    } else {
        /* current_event stays set after the call: no other thread
         * looks, and the caller clears it when its run of results ends
         * (or sets it again for the next callback). */
        (*cb)(fd, res, arg);
    }
}

/* Whether ev is a user's persistent event without a timeout and with
 * none of the flags above, the usual case of the direct run.  flags,
 * pri and closure are adjacent (event_struct.h): one load and one
 * compare test them all, where the compiler makes two of each. */
#define EVMAP_RUN_DIRECT_FLAGS_ \
    (EVMAP_RUN_QUEUE_FLAGS_ | EVLIST_TIMEOUT | EVLIST_INTERNAL)
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
typedef char evmap_run_direct_layout_[
    (offsetof(struct event_callback, evcb_pri) ==
         offsetof(struct event_callback, evcb_flags) + 2 &&
     offsetof(struct event_callback, evcb_closure) ==
         offsetof(struct event_callback, evcb_flags) + 3 &&
     sizeof(((struct event_callback *)0)->evcb_flags) == 2 &&
     (EVMAP_RUN_DIRECT_FLAGS_ & ~0xffff) == 0) ? 1 : -1];
static inline int
evmap_run_direct_(const struct event *ev)
{
    ev_uint32_t w;
    memcpy(&w, &ev->ev_evcallback.evcb_flags, sizeof(w));
    return (w & (0xff000000u | EVMAP_RUN_DIRECT_FLAGS_)) ==
           ((ev_uint32_t)EV_CLOSURE_EVENT_PERSIST << 24);
}
#else
static inline int
evmap_run_direct_(const struct event *ev)
{
    return !(ev->ev_flags & EVMAP_RUN_DIRECT_FLAGS_) &&
           ev->ev_closure == EV_CLOSURE_EVENT_PERSIST;
}
#endif

static inline int
evmap_io_ctx_run_ready_(struct event_base *base, struct evmap_io *ctx,
    short events, const int locked)
{
    struct event *ev;
    evutil_socket_t fd;
    ev_uint16_t flags;
    ev_uint8_t closure;
    /* An int, though a short is passed on: both operands below are
     * shorts, so it already is one, sign-extended, with no conversion. */
    int res;

    ev = LIST_FIRST(&ctx->events);
    if (EVUTIL_UNLIKELY(ev == NULL))
        return EVMAP_RUN_NOTHING;
    if (EVUTIL_UNLIKELY(LIST_NEXT(ev, ev_io_next) != NULL)) {
        /* Several events on the fd: the one that wants events, if only
         * one does. */
        struct event *e, *hit = NULL;
        for (e = ev; e != NULL; e = LIST_NEXT(e, ev_io_next)) {
            if (e->ev_events & events & EVMAP_IO_KINDS) {
                if (hit != NULL)
                    return -1;
                hit = e;
            }
        }
        if (hit == NULL)
            return EVMAP_RUN_NOTHING;
        ev = hit;
    }
    /* events holds kinds and EV_ET only (epoll adds EV_ET, see there). */
    res = ev->ev_events & events;
    if (!(res & EVMAP_IO_KINDS))
        return EVMAP_RUN_NOTHING;
    fd = ev->ev_fd;
    /* The usual case: a user's persistent event without a timeout.  Only
     * an event waiting for a timeout (EVLIST_TIMEOUT) can have a persist
     * timeout to re-arm (event_ready_rearm_ does nothing otherwise), and
     * only this path sets ready_rearm. */
    if (EVUTIL_LIKELY(evmap_run_direct_(ev))) {
        base->ready_fd = fd;
        ev->ev_res = res;
        evmap_io_call_ready_(base, ev, fd, res, locked);
        return 1;
    }
    flags = ev->ev_flags;
    closure = ev->ev_closure;
    if ((flags & EVMAP_RUN_QUEUE_FLAGS_) ||
        (closure != EV_CLOSURE_EVENT_PERSIST && closure != EV_CLOSURE_EVENT))
        return -1;
    base->ready_fd = fd;
    ev->ev_res = res;
    if (closure == EV_CLOSURE_EVENT)
        event_del_nolock_(ev, EVENT_DEL_NOBLOCK);
    else if (ev->ev_io_timeout.tv_sec || ev->ev_io_timeout.tv_usec) {
        base->ready_rearm = ev; /* see event_ready_rearm_note_ */
        /* Without a cached time (EVENT_BASE_FLAG_NO_CACHE_TIME) the
         * re-arm reads the clock: now, before the callback. */
        if (EVUTIL_UNLIKELY(!base->tv_cache.tv_sec))
            event_ready_rearm_(base);
    }
    evmap_io_call_ready_(base, ev, fd, res, locked);
    if (!locked)
        base->current_event = NULL;
    if (EVUTIL_UNLIKELY(base->ready_rearm != NULL))
        event_ready_rearm_(base);
    return !(flags & EVLIST_INTERNAL);
}

/* The entry whose backend bytes (the fdinfo argument of the backend's
 * add and del) are at fdinfo.  An fd's entry lives until the base is
 * freed, so a backend may keep this address in the kernel (epoll's
 * data.ptr) and come back from it. */
static inline struct evmap_io *
evmap_io_from_fdinfo_(void *fdinfo)
{
    return (struct evmap_io *)(void *)((char *)fdinfo -
                                       offsetof(struct evmap_io, fdinfo));
}

int evmap_signal_add_(struct event_base *base, int sig, struct event *ev);
int evmap_signal_del_(struct event_base *base, int sig, struct event *ev);
/* Called by the signal code: sig was delivered ncalls times. */
void evmap_signal_active_(struct event_base *base, int sig, int ncalls);

/* The backend's per-fd bytes for fd, or NULL when fd is not mapped. */
void *evmap_io_get_fdinfo_(struct event_io_map *ctx, evutil_socket_t fd);

/* After fork: tell a fresh backend about every fd and signal again. */
int evmap_reinit_(struct event_base *base);
/* Remove every event from every map (base teardown). */
void evmap_delete_all_(struct event_base *base);
/* Abort if the maps disagree with the events' own flags. */
void evmap_check_integrity_(struct event_base *base);

/* Visit every event in the maps; stops at the first non-zero return. */
typedef int (*event_base_foreach_event_cb_)(const struct event_base *,
    const struct event *, void *);
int evmap_foreach_event_(struct event_base *base,
    event_base_foreach_event_cb_ fn, void *arg);

/* Changelist, for backends that apply interest changes at dispatch.  The
 * fdinfo of such a backend starts with a struct event_changelist_fdinfo. */
void event_changelist_init_(struct event_changelist *changelist);
void event_changelist_remove_all_(struct event_changelist *changelist,
    struct event_base *base);
void event_changelist_freemem_(struct event_changelist *changelist);
int event_changelist_add_(struct event_base *base, evutil_socket_t fd,
    short old, short events, void *p);
int event_changelist_del_(struct event_base *base, evutil_socket_t fd,
    short old, short events, void *p);

#ifdef __cplusplus
}
#endif

#endif /* EVMAP_INTERNAL_H_INCLUDED_ */

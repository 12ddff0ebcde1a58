/*
 * event.c: events, timers and the dispatch loop.
 *
 * An event moves between four places, each marked by a bit in ev_flags:
 * the fd/signal map (EVLIST_INSERTED, evmap.c), the timer heap or one
 * common-timeout queue (EVLIST_TIMEOUT), one of the per-priority active
 * queues (EVLIST_ACTIVE) and the queue of callbacks activated for the
 * next iteration (EVLIST_ACTIVE_LATER).  Every move goes through the
 * event_queue_* helpers below, which also keep base->event_count (the
 * non-internal placements, as libevent counts them) and
 * base->event_count_active.
 *
 * One loop iteration: make the "later" callbacks active, compute the
 * wait from the earliest deadline, let the backend wait and report I/O,
 * move every expired timer to the active queues, then run the callbacks
 * of the most urgent non-empty priority.  Callbacks run with the base
 * lock released; base->current_event names the one running, so that
 * event_del from another thread can wait for it.
 */
#include "event2/event-config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "event2/event.h"
#include "event2/event_compat.h"
#include "event2/event_struct.h"
#include "event2/thread.h"
#include "event2/util.h"

#include "event-internal.h"
#include "evmap-internal.h"
#include "evthread-internal.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

#define event_to_event_callback(ev) (&(ev)->ev_evcallback)
#define event_callback_to_event(evcb) \
    EVUTIL_UPCAST((evcb), struct event, ev_evcallback)

/* Refresh the wall-clock offset at most this often (seconds). */
#define CLOCK_SYNC_INTERVAL 5
/* Deferred callbacks queued in one iteration before the rest wait for
 * the next one, so that a storm of them cannot starve I/O. */
#define MAX_DEFERREDS_QUEUED 32

static void event_queue_remove_timeout(struct event_base *base,
    struct event *ev);
static void *event_self_cbarg_ptr_ = NULL;

#define INCR_EVENT_COUNT(base, flags)                                      \
    do {                                                                   \
        (base)->event_count += !((flags)&EVLIST_INTERNAL);                 \
        if ((base)->event_count > (base)->event_count_max)                 \
            (base)->event_count_max = (base)->event_count;                 \
    } while (0)
#define DECR_EVENT_COUNT(base, flags)                                      \
    ((base)->event_count -= !((flags)&EVLIST_INTERNAL))

/* ------------------------------------------------------------------ */
/* Time                                                                */

/* gettime_ without a cached time: the clock, and now and then the
 * offset of the wall clock from it.  Out of line, so that the callers
 * that find the time cached save nothing for it. */
int gettime_read_(struct event_base *base, struct timeval *tp)
    EVUTIL_NOINLINE_;
int
gettime_read_(struct event_base *base, struct timeval *tp)
{
#ifndef _WIN32
    /* evutil_gettime_monotonic_'s usual case, without the call. */
    if (EVUTIL_LIKELY(base->monotonic_timer.monotonic_clock >= 0)) {
        if (evutil_clock_gettime_tv_(base->monotonic_timer.monotonic_clock,
                tp) != 0)
            return -1;
    } else
#endif
    if (evutil_gettime_monotonic_(&base->monotonic_timer, tp) == -1)
        return -1;
    if (base->last_updated_clock_diff + CLOCK_SYNC_INTERVAL < tp->tv_sec) {
        struct timeval wall;
        gettimeofday(&wall, NULL);
        evutil_timersub(&wall, tp, &base->tv_clock_diff);
        base->last_updated_clock_diff = tp->tv_sec;
    }
    return 0;
}

static inline void
clear_time_cache(struct event_base *base)
{
    base->tv_cache.tv_sec = 0;
}

static inline void
update_time_cache(struct event_base *base)
{
    base->tv_cache.tv_sec = 0;
    if (!(base->flags & EVENT_BASE_FLAG_NO_CACHE_TIME))
        gettime_(base, &base->tv_cache);
}

int
event_base_gettimeofday_cached(struct event_base *base, struct timeval *tv)
{
    int r = 0;
    if (!base) {
        base = event_global_current_base_;
        if (!base)
            return gettimeofday(tv, NULL);
    }
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    if (base->tv_cache.tv_sec == 0)
        r = gettimeofday(tv, NULL);
    else
        evutil_timeradd(&base->tv_cache, &base->tv_clock_diff, tv);
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    return r;
}

int
event_base_update_cache_time(struct event_base *base)
{
    if (!base)
        base = event_global_current_base_;
    if (!base)
        return -1;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    if (base->running_loop)
        update_time_cache(base);
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    return 0;
}

int
event_gettime_monotonic(struct event_base *base, struct timeval *tv)
{
    int r = -1;
    if (base && tv) {
        EVBASE_ACQUIRE_LOCK(base, th_base_lock);
        r = evutil_gettime_monotonic_(&base->monotonic_timer, tv);
        EVBASE_RELEASE_LOCK(base, th_base_lock);
    }
    return r;
}

/* ------------------------------------------------------------------ */
/* Common timeouts                                                     */

static inline int
is_common_timeout(const struct timeval *tv, const struct event_base *base)
{
    int idx;
    if ((tv->tv_usec & COMMON_TIMEOUT_MASK) != COMMON_TIMEOUT_MAGIC)
        return 0;
    idx = (tv->tv_usec & COMMON_TIMEOUT_IDX_MASK) >> COMMON_TIMEOUT_IDX_SHIFT;
    return idx < base->n_common_timeouts;
}

static inline int
is_same_common_timeout(const struct timeval *a, const struct timeval *b)
{
    return (a->tv_usec & ~COMMON_TIMEOUT_MICROSECONDS_MASK) ==
           (b->tv_usec & ~COMMON_TIMEOUT_MICROSECONDS_MASK);
}

static inline struct common_timeout_list *
get_common_timeout_list(struct event_base *base, const struct timeval *tv)
{
    return base->common_timeout_queues[(tv->tv_usec &
                                           COMMON_TIMEOUT_IDX_MASK) >>
                                       COMMON_TIMEOUT_IDX_SHIFT];
}

/* Arm the queue's own timer for the deadline of its head. */
static void
common_timeout_schedule(struct common_timeout_list *ctl,
    const struct timeval *now, struct event *head)
{
    struct timeval when = head->ev_timeout;
    when.tv_usec &= COMMON_TIMEOUT_MICROSECONDS_MASK;
    (void)now;
    event_add_nolock_(&ctl->timeout_event, &when, 1);
}

static void event_queue_remove_active(struct event_base *,
    struct event_callback *);
static void event_queue_remove_active_later(struct event_base *,
    struct event_callback *);

/* Take ev out of the active (or active-later) queue, if it is in one. */
static inline void
event_queue_remove_any_active(struct event_base *base, struct event *ev)
{
    if (ev->ev_flags & EVLIST_ACTIVE)
        event_queue_remove_active(base, event_to_event_callback(ev));
    else if (ev->ev_flags & EVLIST_ACTIVE_LATER)
        event_queue_remove_active_later(base, event_to_event_callback(ev));
}

/* Whether event_del_nolock_(ev, EVENT_DEL_NOBLOCK) would only take ev,
 * whose flags are flags, out of the active queue: nothing else of it is
 * pending (no fd, signal or timeout; an active non-signal event with
 * only EVLIST_INIT besides), no re-arm of it is left for later and debug
 * mode is off.  Then the caller unlinks it directly. */
static inline int
event_active_only_(const struct event_base *base, const struct event *ev,
    ev_uint16_t flags)
{
    return (flags & ~EVLIST_ACTIVE) == EVLIST_INIT &&
           !(ev->ev_events & EV_SIGNAL) && base->ready_rearm != ev &&
           !event_debug_mode_on_;
}

/* Whether ev's expiry is just the removal of its heap or common
 * timeout: a timer (no fd, no signal) with nothing else pending, no
 * re-arm of it left for later, debug mode off; what event_del_nolock_
 * would do for it. */
static inline int
event_timer_only_(const struct event_base *base, const struct event *ev)
{
    return ev->ev_flags == (EVLIST_INIT | EVLIST_TIMEOUT) &&
           !(ev->ev_events & (EV_READ | EV_WRITE | EV_CLOSED | EV_SIGNAL)) &&
           base->ready_rearm != ev && !event_debug_mode_on_;
}

/* ev's timeout passed: activate it for EV_TIMEOUT.  libevent 2.1 deletes
 * the event first, so an activation that has not run yet (by its fd in
 * this pass, or by hand) is dropped and the event goes to the end of its
 * queue with EV_TIMEOUT alone; the fd's readiness the backend found and
 * the loop has not run counts as such an activation, so it becomes one
 * first.  A persistent pure timer with an interval only leaves the heap
 * (the persist closure adds it back at once, and nothing can tell).  An
 * I/O event is deleted, fd included, even a persistent one: the closure
 * adds it back with its fd before the callback, so the kernel
 * registration is made anew, which re-arms an edge-triggered event as
 * libevent does; one with a zero interval, which the closure does not
 * re-arm, stays deleted, and so does a signal event (libevent's signal
 * closure never re-adds; its ev_io_timeout shares memory with the signal
 * counters). */
static void
timeout_expired(struct event_base *base, struct event *ev)
{
    if (ev->ev_events & (EV_READ | EV_WRITE | EV_CLOSED))
        event_ready_flush_all_(base);
    if ((ev->ev_events & EV_PERSIST) &&
        !(ev->ev_events & (EV_READ | EV_WRITE | EV_CLOSED | EV_SIGNAL)) &&
        (ev->ev_io_timeout.tv_sec || ev->ev_io_timeout.tv_usec)) {
        event_queue_remove_timeout(base, ev);
        event_queue_remove_any_active(base, ev);
    } else if (event_timer_only_(base, ev)) {
        event_queue_remove_timeout(base, ev);
    } else {
        event_del_nolock_(ev, EVENT_DEL_NOBLOCK);
    }
    event_active_nolock_(ev, EV_TIMEOUT, 1);
}

/* The queue's timer fired: activate every member whose deadline passed,
 * then re-arm for the new head. */
static void
common_timeout_callback(evutil_socket_t fd, short what, void *arg)
{
    struct timeval now;
    struct common_timeout_list *ctl = arg;
    struct event_base *base = ctl->base;
    struct event *ev = NULL;
    (void)fd;
    (void)what;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    gettime_(base, &now);
    while ((ev = TAILQ_FIRST(&ctl->events)) != NULL) {
        if (ev->ev_timeout.tv_sec > now.tv_sec ||
            (ev->ev_timeout.tv_sec == now.tv_sec &&
                (ev->ev_timeout.tv_usec & COMMON_TIMEOUT_MICROSECONDS_MASK) >
                    now.tv_usec))
            break;
        timeout_expired(base, ev);
    }
    if (ev)
        common_timeout_schedule(ctl, &now, ev);
    EVBASE_RELEASE_LOCK(base, th_base_lock);
}

const struct timeval *
event_base_init_common_timeout(struct event_base *base,
    const struct timeval *duration)
{
    int i;
    struct timeval tv;
    const struct timeval *result = NULL;
    struct common_timeout_list *ctl;

    if (!base || !duration) {
        event_warnx("%s: NULL argument", __func__);
        return NULL;
    }
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    if (duration->tv_usec > 1000000) {
        tv = *duration;
        if (is_common_timeout(duration, base))
            tv.tv_usec &= COMMON_TIMEOUT_MICROSECONDS_MASK;
        tv.tv_sec += tv.tv_usec / 1000000;
        tv.tv_usec %= 1000000;
        duration = &tv;
    }
    if (duration->tv_sec < 0 || duration->tv_usec < 0) {
        event_warnx("%s: negative duration", __func__);
        goto done;
    }
    if (duration->tv_sec > EVENT_MAX_TIMEOUT_SEC_) {
        /* See EVENT_MAX_TIMEOUT_SEC_. */
        tv.tv_sec = EVENT_MAX_TIMEOUT_SEC_;
        tv.tv_usec = duration->tv_usec;
        duration = &tv;
    }
    for (i = 0; i < base->n_common_timeouts; ++i) {
        ctl = base->common_timeout_queues[i];
        if (duration->tv_sec == ctl->duration.tv_sec &&
            duration->tv_usec ==
                (ctl->duration.tv_usec & COMMON_TIMEOUT_MICROSECONDS_MASK)) {
            result = &ctl->duration;
            goto done;
        }
    }
    if (base->n_common_timeouts == MAX_COMMON_TIMEOUTS) {
        event_warnx("%s: Too many common timeouts already in use; "
                    "we only support %d per event_base",
            __func__, MAX_COMMON_TIMEOUTS);
        goto done;
    }
    if (base->n_common_timeouts_allocated == base->n_common_timeouts) {
        int n = base->n_common_timeouts < 16 ? 16
                                             : base->n_common_timeouts * 2;
        struct common_timeout_list **q = mm_realloc(
            base->common_timeout_queues, n * sizeof(*q));
        if (!q) {
            event_warn("%s: realloc", __func__);
            goto done;
        }
        base->n_common_timeouts_allocated = n;
        base->common_timeout_queues = q;
    }
    ctl = mm_calloc(1, sizeof(*ctl));
    if (!ctl) {
        event_warn("%s: calloc", __func__);
        goto done;
    }
    TAILQ_INIT(&ctl->events);
    ctl->duration.tv_sec = duration->tv_sec;
    ctl->duration.tv_usec = duration->tv_usec | COMMON_TIMEOUT_MAGIC |
        (base->n_common_timeouts << COMMON_TIMEOUT_IDX_SHIFT);
    event_assign(&ctl->timeout_event, base, -1, 0, common_timeout_callback,
        ctl);
    ctl->timeout_event.ev_flags |= EVLIST_INTERNAL;
    ctl->timeout_event.ev_pri = 0;
    ctl->base = base;
    base->common_timeout_queues[base->n_common_timeouts++] = ctl;
    result = &ctl->duration;
done:
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    return result;
}

/* ------------------------------------------------------------------ */
/* Queue moves                                                         */

static void
event_queue_insert_inserted(struct event_base *base, struct event *ev)
{
    INCR_EVENT_COUNT(base, ev->ev_flags);
    ev->ev_flags |= EVLIST_INSERTED;
}

static void
event_queue_remove_inserted(struct event_base *base, struct event *ev)
{
    DECR_EVENT_COUNT(base, ev->ev_flags);
    ev->ev_flags &= ~EVLIST_INSERTED;
}

/* Nothing left for the loop to wait for: it should notice. */
static inline int
event_base_idle_(const struct event_base *base)
{
    return base->event_count == 0 && base->virtual_event_count == 0 &&
           !N_ACTIVE_CALLBACKS(base);
}

/* Members of a common-timeout queue share one duration, so they arrive
 * almost always in deadline order: search from the tail. */
static void
insert_common_timeout_inorder(struct common_timeout_list *ctl,
    struct event *ev)
{
    struct event *e;
    TAILQ_FOREACH_REVERSE(e, &ctl->events, event_tailq,
        ev_timeout_pos.ev_next_with_common_timeout)
    {
        if (!evutil_timercmp(&ev->ev_timeout, &e->ev_timeout, <)) {
            TAILQ_INSERT_AFTER(&ctl->events, e, ev,
                ev_timeout_pos.ev_next_with_common_timeout);
            return;
        }
    }
    TAILQ_INSERT_HEAD(&ctl->events, ev,
        ev_timeout_pos.ev_next_with_common_timeout);
}

static void
event_queue_insert_timeout(struct event_base *base, struct event *ev)
{
    INCR_EVENT_COUNT(base, ev->ev_flags);
    ev->ev_flags |= EVLIST_TIMEOUT;
    if (is_common_timeout(&ev->ev_timeout, base)) {
        insert_common_timeout_inorder(
            get_common_timeout_list(base, &ev->ev_timeout), ev);
    } else {
        /* Space was reserved by the caller. */
        min_heap_push_(&base->timeheap, ev);
    }
}

/* event_queue_remove_timeout, inline for event_del's straight path. */
static inline void
event_queue_remove_timeout_inl_(struct event_base *base, struct event *ev)
{
    DECR_EVENT_COUNT(base, ev->ev_flags);
    ev->ev_flags &= ~EVLIST_TIMEOUT;
    if (is_common_timeout(&ev->ev_timeout, base)) {
        TAILQ_REMOVE(&get_common_timeout_list(base, &ev->ev_timeout)->events,
            ev, ev_timeout_pos.ev_next_with_common_timeout);
    } else {
        min_heap_erase_(&base->timeheap, ev);
    }
}

static void
event_queue_remove_timeout(struct event_base *base, struct event *ev)
{
    event_queue_remove_timeout_inl_(base, ev);
}

/* ev's deadline for the common timeout tv (relative to now): the
 * queue's magic bits stay in tv_usec. */
static inline void
common_timeout_deadline_(struct event *ev, const struct timeval *tv,
    const struct timeval *now)
{
    struct timeval rel = *tv;
    rel.tv_usec &= COMMON_TIMEOUT_MICROSECONDS_MASK;
    evutil_timeradd(now, &rel, &ev->ev_timeout);
    ev->ev_timeout.tv_usec |= (tv->tv_usec & ~COMMON_TIMEOUT_MICROSECONDS_MASK);
}

/* Queue ev, whose deadline is a common timeout's, in order; the queue's
 * own timer is armed when ev comes first. */
static inline void
common_timeout_insert_(struct event_base *base, struct event *ev,
    const struct timeval *now)
{
    struct common_timeout_list *ctl =
        get_common_timeout_list(base, &ev->ev_timeout);
    event_queue_insert_timeout(base, ev);
    if (ev == TAILQ_FIRST(&ctl->events))
        common_timeout_schedule(ctl, now, ev);
}

static inline void
clamp_priority(struct event_base *base, struct event_callback *evcb)
{
    if (EVUTIL_UNLIKELY(evcb->evcb_pri >= base->nactivequeues))
        evcb->evcb_pri = (ev_uint8_t)(base->nactivequeues - 1);
}

static void
event_queue_insert_active(struct event_base *base,
    struct event_callback *evcb)
{
    if (evcb->evcb_flags & EVLIST_ACTIVE)
        return;
    event_queue_insert_active_idle_(base, evcb);
}

static void
event_queue_remove_active(struct event_base *base,
    struct event_callback *evcb)
{
    DECR_EVENT_COUNT(base, evcb->evcb_flags);
    evcb->evcb_flags &= ~EVLIST_ACTIVE;
    base->event_count_active--;
    TAILQ_REMOVE(&base->activequeues[evcb->evcb_pri], evcb,
        evcb_active_next);
}

static void
event_queue_insert_active_later(struct event_base *base,
    struct event_callback *evcb)
{
    if (evcb->evcb_flags & (EVLIST_ACTIVE_LATER | EVLIST_ACTIVE))
        return;
    INCR_EVENT_COUNT(base, evcb->evcb_flags);
    evcb->evcb_flags |= EVLIST_ACTIVE_LATER;
    if (++base->event_count_active > base->event_count_active_max)
        base->event_count_active_max = base->event_count_active;
    TAILQ_INSERT_TAIL(&base->active_later_queue, evcb, evcb_active_next);
}

static void
event_queue_remove_active_later(struct event_base *base,
    struct event_callback *evcb)
{
    DECR_EVENT_COUNT(base, evcb->evcb_flags);
    evcb->evcb_flags &= ~EVLIST_ACTIVE_LATER;
    base->event_count_active--;
    TAILQ_REMOVE(&base->active_later_queue, evcb, evcb_active_next);
}

static void
event_queue_make_later_events_active(struct event_base *base)
{
    struct event_callback *evcb;
    while ((evcb = TAILQ_FIRST(&base->active_later_queue)) != NULL) {
        TAILQ_REMOVE(&base->active_later_queue, evcb, evcb_active_next);
        evcb->evcb_flags =
            (evcb->evcb_flags & ~EVLIST_ACTIVE_LATER) | EVLIST_ACTIVE;
        clamp_priority(base, evcb);
        TAILQ_INSERT_TAIL(&base->activequeues[evcb->evcb_pri], evcb,
            evcb_active_next);
        base->n_deferreds_queued += (evcb->evcb_closure == EV_CLOSURE_CB_SELF);
    }
}

/* ------------------------------------------------------------------ */
/* Thread wake-up                                                      */

static int
evthread_notify_base(struct event_base *base)
{
    if (!base->th_notify_fn)
        return -1;
    if (base->is_notify_pending)
        return 0;
    base->is_notify_pending = 1;
    return base->th_notify_fn(base);
}

#define NOTIFY_IF_NEEDED(base)                                             \
    do {                                                                   \
        if (EVBASE_NEED_NOTIFY(base))                                      \
            evthread_notify_base(base);                                    \
    } while (0)

/* An I/O event not inserted yet joins its fd's map and the inserted
 * events; the loop is woken when the backend was told.  0, or -1 when
 * the backend refused (nothing changed then). */
static inline int
event_insert_io_(struct event_base *base, struct event *ev)
{
    int res = evmap_io_add_inl_(base, ev->ev_fd, ev);
    if (res == -1)
        return -1;
    event_queue_insert_inserted(base, ev);
    if (res == 1)
        NOTIFY_IF_NEEDED(base);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Event set-up and accessors                                          */

/* What an event assigned without a callback runs: nothing.  libevent
 * 2.1 accepts such an event (a timer that only keeps a loop alive, say)
 * and would call NULL if it fired; the accessors still report NULL. */
static void
event_null_callback_(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

#define EVENT_USER_CALLBACK_(ev)                                           \
    ((ev)->ev_callback == event_null_callback_ ? NULL : (ev)->ev_callback)

/* EV_PERSIST shifted down is EV_CLOSURE_EVENT_PERSIST, and without it
 * EV_CLOSURE_EVENT: the closure of an event that is not a signal. */
typedef char event_closure_check_[(EV_PERSIST >> 3 ==
                                      EV_CLOSURE_EVENT_PERSIST &&
                                      EV_CLOSURE_EVENT == 0) ? 1 : -1];
#define EVENT_IO_CLOSURE_(events) ((ev_uint8_t)(((events)&EV_PERSIST) >> 3))

/* The stores of event_assign, checks and arguments done. */
static inline void
event_assign_fields_(struct event *ev, struct event_base *base,
    evutil_socket_t fd, short events,
    void (*callback)(evutil_socket_t, short, void *), void *arg,
    ev_uint8_t closure)
{
    ev->ev_base = base;
    ev->ev_callback = callback;
    ev->ev_arg = arg;
    ev->ev_fd = fd;
    ev->ev_events = events;
    ev->ev_res = 0;
    ev->ev_flags = EVLIST_INIT;
    ev->ev_closure = closure;
    /* Also ev_ncalls and ev_pncalls, which share its memory. */
    evutil_timerclear(&ev->ev_io_timeout);
    min_heap_elem_init_(ev);
    /* nactivequeues is at least 1: a shift halves it. */
    ev->ev_pri = base ? (ev_uint8_t)((unsigned)base->nactivequeues >> 1) : 0;
}

/* event_assign for the cases the straight path below leaves: a NULL
 * event or base, debug mode, a signal, event_self_cbarg() or a NULL
 * callback. */
static int event_assign_slow_(struct event *ev, struct event_base *base,
    evutil_socket_t fd, short events,
    void (*callback)(evutil_socket_t, short, void *), void *arg)
    EVUTIL_NOINLINE_
    ;
static int
event_assign_slow_(struct event *ev, struct event_base *base,
    evutil_socket_t fd, short events,
    void (*callback)(evutil_socket_t, short, void *), void *arg)
{
    if (!ev) {
        event_warnx("%s: NULL event", "event_assign");
        return -1;
    }
    if (!base)
        base = event_global_current_base_;
    /* Relaxed atomic: many threads may assign events at once. */
    __atomic_store_n(&event_debug_mode_too_late_, 1, __ATOMIC_RELAXED);
    if (arg == &event_self_cbarg_ptr_)
        arg = ev;
    if (event_debug_on_()) {
        if (!(events & EV_SIGNAL))
            event_debug_assert_socket_nonblocking_(fd);
        event_debug_assert_not_added_(ev);
    }
    if ((events & EV_SIGNAL) && (events & (EV_READ | EV_WRITE | EV_CLOSED))) {
        event_warnx("%s: EV_SIGNAL is not compatible with "
                    "EV_READ, EV_WRITE or EV_CLOSED",
            "event_assign");
        return -1;
    }

    event_assign_fields_(ev, base, fd, events,
        callback ? callback : event_null_callback_, arg,
        (events & EV_SIGNAL) ? EV_CLOSURE_EVENT_SIGNAL
                             : EVENT_IO_CLOSURE_(events));
    if (event_debug_on_())
        event_debug_note_setup_(ev);
    return 0;
}

/* Whether event_assign's arguments (but the base) allow its straight
 * path: not debug mode, not a signal, a callback, and no
 * event_self_cbarg(); the cases event_assign_slow_ is for. */
static inline int
event_assign_plain_(const struct event *ev, short events,
    void (*callback)(evutil_socket_t, short, void *), const void *arg)
{
    return ev != NULL && !event_debug_mode_on_ && !(events & EV_SIGNAL) &&
           callback != NULL && arg != &event_self_cbarg_ptr_;
}

int
event_assign(struct event *ev, struct event_base *base, evutil_socket_t fd,
    short events, void (*callback)(evutil_socket_t, short, void *),
    void *arg)
{
    if (EVUTIL_UNLIKELY(base == NULL ||
                        !event_assign_plain_(ev, events, callback, arg)))
        return event_assign_slow_(ev, base, fd, events, callback, arg);
    /* event_debug_mode_too_late_ is set already: a base exists. */
    event_assign_fields_(ev, base, fd, events, callback, arg,
        EVENT_IO_CLOSURE_(events));
    return 0;
}

/* The 1.4 API's event_assign, on the base of event_init() (maybe none
 * yet: event_base_set() then gives one).  Its usual case goes straight to
 * the stores, as event_assign's does: programs written for libevent 1.4
 * call it (with event_base_set) wherever 2.x code calls event_assign. */
void
event_set(struct event *ev, evutil_socket_t fd, short events,
    void (*callback)(evutil_socket_t, short, void *), void *arg)
{
    struct event_base *base = event_global_current_base_;

    if (EVUTIL_LIKELY(event_assign_plain_(ev, events, callback, arg))) {
        /* As event_assign_slow_ does for a NULL base: no base need
         * exist yet, and debug mode may not be turned on after this. */
        if (base == NULL)
            __atomic_store_n(&event_debug_mode_too_late_, 1,
                __ATOMIC_RELAXED);
        event_assign_fields_(ev, base, fd, events, callback, arg,
            EVENT_IO_CLOSURE_(events));
        return;
    }
    if (event_assign_slow_(ev, base, fd, events, callback, arg) < 0)
        event_warnx("%s: bad event flags 0x%x", "event_set", events);
}

struct event *
event_new(struct event_base *base, evutil_socket_t fd, short events,
    void (*cb)(evutil_socket_t, short, void *), void *arg)
{
    struct event *ev = mm_malloc(sizeof(struct event));
    if (ev == NULL)
        return NULL;
    if (event_assign(ev, base, fd, events, cb, arg) < 0) {
        mm_free(ev);
        return NULL;
    }
    return ev;
}

void *
event_self_cbarg(void)
{
    return &event_self_cbarg_ptr_;
}

void
event_free(struct event *ev)
{
    if (!ev)
        return;
    /* A finalized event is no longer known to debug mode (its finalizer
     * may assign it anew), yet its finalizer may free it, as libevent
     * allows.  The flags are read only for an event debug mode does not
     * know, which no loop works on: not racing with one that does. */
    if (event_debug_on_() && !event_debug_is_setup_(ev) &&
        !(ev->ev_flags & EVLIST_FINALIZING))
        event_debug_assert_is_setup_(ev);
    /* A pending event must not outlive its memory. */
    event_del(ev);
    if (event_debug_on_())
        event_debug_note_teardown_(ev);
    mm_free(ev);
}

void
event_debug_unassign(struct event *ev)
{
    EV_REFUSE_NULL_VOID_(ev);
    if (event_debug_on_()) {
        event_debug_assert_not_added_(ev);
        event_debug_note_teardown_(ev);
    }
    ev->ev_flags &= ~EVLIST_INIT;
}

/* event_base_set's stores: ev goes to base at its middle priority
 * (nactivequeues is at least 1: a shift halves it). */
static inline void
event_base_set_fields_(struct event_base *base, struct event *ev)
{
    ev->ev_base = base;
    ev->ev_pri = (ev_uint8_t)((unsigned)base->nactivequeues >> 1);
}

/* event_base_set in debug mode, apart so that the usual case stays a
 * leaf. */
static int event_base_set_debug_(struct event_base *base, struct event *ev)
    EVUTIL_NOINLINE_
    ;
static int
event_base_set_debug_(struct event_base *base, struct event *ev)
{
    event_debug_assert_is_setup_(ev);
    event_base_set_fields_(base, ev);
    return 0;
}

int
event_base_set(struct event_base *base, struct event *ev)
{
    if (EVUTIL_UNLIKELY(!base || !ev))
        return -1;
    /* Only an event that was set up and never used may move. */
    if (ev->ev_flags != EVLIST_INIT)
        return -1;
    if (event_debug_on_())
        return event_base_set_debug_(base, ev);
    event_base_set_fields_(base, ev);
    return 0;
}

int
event_priority_set(struct event *ev, int pri)
{
    EV_REFUSE_NULL_(ev, -1);
    if (event_debug_on_())
        event_debug_assert_is_setup_(ev);
    /* An event found ready but not run yet counts as active. */
    if (ev->ev_base)
        event_ready_flush_all_(ev->ev_base);
    if (ev->ev_flags & EVLIST_ACTIVE)
        return -1;
    if (pri < 0 || !ev->ev_base || pri >= ev->ev_base->nactivequeues)
        return -1;
    ev->ev_pri = (ev_uint8_t)pri;
    return 0;
}

/* Give ev priority pri even when it waits to run: it moves to the tail
 * of pri's queue.  For a socket bufferevent's ev_write, which ours
 * activates at once where libevent adds it (see bufferevent-sock.c), so
 * that bufferevent_priority_set succeeds there as in libevent. */
int
event_priority_set_queued_(struct event *ev, int pri)
{
    struct event_base *base = ev->ev_base;

    if (pri < 0 || !base || pri >= base->nactivequeues)
        return -1;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    if (ev->ev_flags & EVLIST_ACTIVE) {
        event_queue_remove_active(base, event_to_event_callback(ev));
        ev->ev_pri = (ev_uint8_t)pri;
        event_queue_insert_active(base, event_to_event_callback(ev));
    } else {
        ev->ev_pri = (ev_uint8_t)pri;
    }
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    return 0;
}

int
event_initialized(const struct event *ev)
{
    EV_REFUSE_NULL_(ev, 0);
    return (ev->ev_flags & EVLIST_INIT) ? 1 : 0;
}

void
event_get_assignment(const struct event *event,
    struct event_base **base_out, evutil_socket_t *fd_out,
    short *events_out, event_callback_fn *callback_out, void **arg_out)
{
    EV_REFUSE_NULL_VOID_(event);
    if (event_debug_on_())
        event_debug_assert_is_setup_(event);
    if (base_out)
        *base_out = event->ev_base;
    if (fd_out)
        *fd_out = event->ev_fd;
    if (events_out)
        *events_out = event->ev_events;
    if (callback_out)
        *callback_out = EVENT_USER_CALLBACK_(event);
    if (arg_out)
        *arg_out = event->ev_arg;
}

size_t
event_get_struct_event_size(void)
{
    return sizeof(struct event);
}

evutil_socket_t
event_get_fd(const struct event *ev)
{
    EV_REFUSE_NULL_(ev, -1);
    if (event_debug_on_())
        event_debug_assert_is_setup_(ev);
    return ev->ev_fd;
}

struct event_base *
event_get_base(const struct event *ev)
{
    EV_REFUSE_NULL_(ev, NULL);
    if (event_debug_on_())
        event_debug_assert_is_setup_(ev);
    return ev->ev_base;
}

short
event_get_events(const struct event *ev)
{
    EV_REFUSE_NULL_(ev, 0);
    if (event_debug_on_())
        event_debug_assert_is_setup_(ev);
    return ev->ev_events;
}

event_callback_fn
event_get_callback(const struct event *ev)
{
    EV_REFUSE_NULL_(ev, NULL);
    if (event_debug_on_())
        event_debug_assert_is_setup_(ev);
    return EVENT_USER_CALLBACK_(ev);
}

void *
event_get_callback_arg(const struct event *ev)
{
    EV_REFUSE_NULL_(ev, NULL);
    if (event_debug_on_())
        event_debug_assert_is_setup_(ev);
    return ev->ev_arg;
}

int
event_get_priority(const struct event *ev)
{
    EV_REFUSE_NULL_(ev, -1);
    if (event_debug_on_())
        event_debug_assert_is_setup_(ev);
    return ev->ev_pri;
}

int
event_pending(const struct event *ev, short event, struct timeval *tv)
{
    int flags = 0;
    if (!ev) {
        event_warnx("%s: NULL event", __func__);
        return 0;
    }
    if (EVUTIL_UNLIKELY(ev->ev_base == NULL)) {
        event_warnx("%s: event has no event_base set.", __func__);
        return 0;
    }
    EVBASE_ACQUIRE_LOCK(ev->ev_base, th_base_lock);
    if (event_debug_on_())
        event_debug_assert_is_setup_(ev);
    event_ready_rearm_note_(ev->ev_base, ev, 0);
    if (ev->ev_flags & EVLIST_INSERTED)
        flags |= ev->ev_events & (EV_READ | EV_WRITE | EV_CLOSED | EV_SIGNAL);
    if (ev->ev_flags & (EVLIST_ACTIVE | EVLIST_ACTIVE_LATER))
        flags |= ev->ev_res;
    if (ev->ev_flags & EVLIST_TIMEOUT)
        flags |= EV_TIMEOUT;
    event &= (EV_TIMEOUT | EV_READ | EV_WRITE | EV_CLOSED | EV_SIGNAL);
    if (tv != NULL && (flags & event & EV_TIMEOUT)) {
        struct timeval deadline = ev->ev_timeout;
        deadline.tv_usec &= COMMON_TIMEOUT_MICROSECONDS_MASK;
        /* The deadline is monotonic; the caller wants wall-clock time. */
        evutil_timeradd(&ev->ev_base->tv_clock_diff, &deadline, tv);
    }
    EVBASE_RELEASE_LOCK(ev->ev_base, th_base_lock);
    return flags & event;
}

/* ------------------------------------------------------------------ */
/* Adding and deleting                                                 */

/* The caller of event_del_nolock_ or event_active_nolock_ for a signal
 * event in another thread waits for the callback that is running. */
static void
wait_for_running_callback(struct event_base *base, struct event *ev)
{
    /* Without a condition variable (no lock callbacks, or a NOLOCK base)
     * there is no other thread to wait for. */
    if (!base->current_event_cond)
        return;
    while (base->current_event == event_to_event_callback(ev) &&
           !EVBASE_IN_THREAD(base)) {
        ++base->current_event_waiters;
        EVTHREAD_COND_WAIT(base->current_event_cond, base->th_base_lock);
    }
}

/* Whether event_add_nolock_(ev, tv) only moves ev's deadline in the
 * heap: ev waits there (not in a common-timeout queue) for an ordinary
 * timeout, is registered already if it has an fd, is neither active nor
 * a signal, and debug mode is off.  That is the re-arm of a persistent
 * event before its callback and the re-add of a timeout in a callback. */
static inline int
readd_heap_flags_ok(const struct event *ev)
{
    ev_uint16_t flags = ev->ev_flags;
    if ((flags & (EVLIST_TIMEOUT | EVLIST_ACTIVE | EVLIST_ACTIVE_LATER)) !=
        EVLIST_TIMEOUT)
        return 0;
    if (ev->ev_events & EV_SIGNAL)
        return 0;
    return (flags & EVLIST_INSERTED) ||
           !(ev->ev_events & (EV_READ | EV_WRITE | EV_CLOSED));
}

static inline int
readd_heap_timeout_ok(struct event_base *base, const struct event *ev,
    const struct timeval *tv)
{
    return readd_heap_flags_ok(ev) && !is_common_timeout(tv, base) &&
           !is_common_timeout(&ev->ev_timeout, base);
}

/* Out of line, so that the O(1) re-arm paths stay small leaf code:
 * move ev (in the heap) to its new deadline, wake the loop if it became
 * the first. */
static void readd_heap_adjust_(struct event_base *base, struct event *ev)
    EVUTIL_NOINLINE_
    ;
static void
readd_heap_adjust_(struct event_base *base, struct event *ev)
{
    min_heap_adjust_(&base->timeheap, ev);
    if (min_heap_elt_is_top_(ev))
        NOTIFY_IF_NEEDED(base);
}

/* The rest of event_add_nolock_ for that case (same effects). */
static inline int
readd_heap_timeout(struct event_base *base, struct event *ev,
    const struct timeval *tv, int tv_is_absolute)
    EVUTIL_ALWAYS_INLINE_
    ;
static inline int
readd_heap_timeout(struct event_base *base, struct event *ev,
    const struct timeval *tv, int tv_is_absolute)
{
    struct timeval when;
    if (tv_is_absolute) {
        when = *tv;
    } else {
        struct timeval now;
        if (ev->ev_closure == EV_CLOSURE_EVENT_PERSIST)
            ev->ev_io_timeout = *tv;
        gettime_(base, &now);
        evutil_timeradd(&now, tv, &when);
        if (EVUTIL_UNLIKELY(when.tv_usec >= 1000000)) {
            when.tv_sec += when.tv_usec / 1000000;
            when.tv_usec %= 1000000;
        }
    }
    /* The same deadline again, and nothing scheduled since ev was: its
     * place in the order would not change. */
    if (when.tv_sec == ev->ev_timeout.tv_sec &&
        when.tv_usec == ev->ev_timeout.tv_usec &&
        min_heap_is_latest_(&base->timeheap, ev))
        return 0;
    ev->ev_timeout = when;
    if (min_heap_postpone_(&base->timeheap, ev))
        return 0;
    readd_heap_adjust_(base, ev);
    return 0;
}

static int event_add_nolock_full_(struct event *ev,
    const struct timeval *tv, int tv_is_absolute)
    EVUTIL_NOINLINE_
    ;

/* The cheap cases inline, everything else out of line: re-arming a
 * timeout in the heap, and adding an I/O event without a timeout (the
 * same effects as event_add_nolock_full_ has for them).  Inlined into
 * event_add; event_add_nolock_ below is the same for the other files. */
static inline int
event_add_nolock_inl_(struct event *ev, const struct timeval *tv,
    int tv_is_absolute)
    EVUTIL_ALWAYS_INLINE_
    ;
static inline int
event_add_nolock_inl_(struct event *ev, const struct timeval *tv,
    int tv_is_absolute)
{
    event_ready_rearm_note_(ev->ev_base, ev, 0);
    if (EVUTIL_UNLIKELY(event_debug_on_()) ||
        (ev->ev_flags & EVLIST_FINALIZING))
        return event_add_nolock_full_(ev, tv, tv_is_absolute);
    if (tv) {
        if (readd_heap_timeout_ok(ev->ev_base, ev, tv))
            return readd_heap_timeout(ev->ev_base, ev, tv, tv_is_absolute);
    } else if ((ev->ev_events & (EV_READ | EV_WRITE | EV_CLOSED)) &&
               !(ev->ev_events & EV_SIGNAL)) {
        /* See event_add_nolock_full_ for why an active event is left. */
        if (ev->ev_flags & (EVLIST_INSERTED | EVLIST_ACTIVE |
                               EVLIST_ACTIVE_LATER))
            return 0;
        return event_insert_io_(ev->ev_base, ev);
    }
    return event_add_nolock_full_(ev, tv, tv_is_absolute);
}

int
event_add_nolock_(struct event *ev, const struct timeval *tv,
    int tv_is_absolute)
{
    return event_add_nolock_inl_(ev, tv, tv_is_absolute);
}

static int
event_add_nolock_full_(struct event *ev, const struct timeval *tv,
    int tv_is_absolute)
{
    struct event_base *base = ev->ev_base;
    int res = 0, notify = 0;

    if (EVUTIL_UNLIKELY(ev->ev_flags & EVLIST_FINALIZING))
        return -1;
    if (event_debug_on_())
        event_debug_assert_is_setup_(ev);

    /* Reserve the heap slot first so that nothing changes on failure. */
    if (tv && min_heap_reserve_one_(&base->timeheap) == -1)
        return -1;

    /* A signal callback running in another thread reads ev_ncalls. */
    if (base->current_event == event_to_event_callback(ev) &&
        (ev->ev_events & EV_SIGNAL) && !EVBASE_IN_THREAD(base))
        wait_for_running_callback(base, ev);

    /* As in libevent 2.1, an event waiting to run (active, not added) is
     * not added for its fd or signal: event_add returns 0 and only sets
     * the timeout, and the event is not pending for I/O after it runs
     * (a persistent one does not fire again). */
    if ((ev->ev_events & (EV_READ | EV_WRITE | EV_CLOSED | EV_SIGNAL)) &&
        !(ev->ev_flags &
            (EVLIST_INSERTED | EVLIST_ACTIVE | EVLIST_ACTIVE_LATER))) {
        if (ev->ev_events & (EV_READ | EV_WRITE | EV_CLOSED))
            res = evmap_io_add_(base, ev->ev_fd, ev);
        else
            res = evmap_signal_add_(base, (int)ev->ev_fd, ev);
        if (res != -1)
            event_queue_insert_inserted(base, ev);
        if (res == 1) {
            notify = 1;
            res = 0;
        }
    }

    if (res != -1 && tv != NULL) {
        struct timeval now;
        int common;

        if (ev->ev_closure == EV_CLOSURE_EVENT_PERSIST && !tv_is_absolute)
            ev->ev_io_timeout = *tv;

        /* Rescheduling a timeout that already fired but whose callback
         * has not run yet cancels that run, as in libevent. */
        if ((ev->ev_flags & EVLIST_ACTIVE) && (ev->ev_res & EV_TIMEOUT)) {
            if ((ev->ev_events & EV_SIGNAL) && ev->ev_ncalls &&
                ev->ev_pncalls) {
                *ev->ev_pncalls = 0;
                ev->ev_pncalls = NULL;
                ev->ev_ncalls = 0;
            }
            event_queue_remove_active(base, event_to_event_callback(ev));
        }

        gettime_(base, &now);
        common = is_common_timeout(tv, base);
        if (ev->ev_flags & EVLIST_TIMEOUT) {
            if (common || is_common_timeout(&ev->ev_timeout, base)) {
                event_queue_remove_timeout(base, ev);
            }
        }
        if (tv_is_absolute) {
            ev->ev_timeout = *tv;
        } else if (common) {
            common_timeout_deadline_(ev, tv, &now);
        } else {
            evutil_timeradd(&now, tv, &ev->ev_timeout);
            if (EVUTIL_UNLIKELY(ev->ev_timeout.tv_usec >= 1000000)) {
                ev->ev_timeout.tv_sec += ev->ev_timeout.tv_usec / 1000000;
                ev->ev_timeout.tv_usec %= 1000000;
            }
        }

        if (common) {
            common_timeout_insert_(base, ev, &now);
        } else {
            if (ev->ev_flags & EVLIST_TIMEOUT) {
                /* Already in the heap, no count change.  A later
                 * deadline (the usual re-arm of a timeout) leaves the
                 * entry where it is until it reaches the top; a loop
                 * waiting for the old deadline wakes up early once,
                 * which needs no notification. */
                if (min_heap_postpone_(&base->timeheap, ev))
                    goto timeout_done;
                min_heap_adjust_(&base->timeheap, ev);
            } else {
                event_queue_insert_timeout(base, ev);
            }
            if (min_heap_elt_is_top_(ev))
                notify = 1;
        timeout_done:;
        }
    }

    if (res != -1 && notify)
        NOTIFY_IF_NEEDED(base);
    if (event_debug_on_())
        event_debug_note_add_(ev);
    return res;
}

/* The interval *tvp (not NULL) as event_add takes it.  Bad input by the
 * issue's contract: a negative interval is refused with EINVAL and a
 * message rather than firing at once.  An interval that would overflow a
 * deadline (tv_sec beyond EVENT_MAX_TIMEOUT_SEC_, or a huge tv_usec) is
 * normalized and shortened into *buf, and *tvp points there; libevent
 * would overflow and fire at once.  A common-timeout tv is left alone. */
static int
check_timeout_arg(const struct timeval **tvp, struct timeval *buf,
    struct event_base *base)
{
    const struct timeval *tv = *tvp;
    if (tv->tv_sec < 0 || tv->tv_usec < 0) {
        event_warnx("event_add: negative timeout %ld.%06ld rejected",
            (long)tv->tv_sec, (long)tv->tv_usec);
        errno = EINVAL;
        return -1;
    }
    if (EVUTIL_UNLIKELY(tv->tv_sec > EVENT_MAX_TIMEOUT_SEC_ ||
                        tv->tv_usec >= 1000000) &&
        !is_common_timeout(tv, base)) {
        *buf = *tv;
        event_interval_cap_(buf);
        *tvp = buf;
    }
    return 0;
}

/* Whether tv is an ordinary interval the straight paths take: tv_sec in
 * [0, EVENT_MAX_TIMEOUT_SEC_] and tv_usec in [0, 1000000), one unsigned
 * test each (a common timeout carries magic bits above 1000000 in
 * tv_usec). */
static inline int
timeout_interval_plain_(const struct timeval *tv)
{
    return (unsigned long)tv->tv_sec <= EVENT_MAX_TIMEOUT_SEC_ &&
           (unsigned long)tv->tv_usec < 1000000;
}

/* Whether event_add(ev, tv) may only move ev's deadline in the heap: ev
 * waits there for an ordinary timeout (not a common one), is registered
 * already if it has an fd, is neither active, finalizing nor a signal;
 * tv is a plain interval (timeout_interval_plain_) and so is the deadline
 * (no common timeout's magic bits); debug mode is off. */
static inline int
event_rearm_eligible_(const struct event *ev, const struct timeval *tv)
{
    ev_uint16_t flags = ev->ev_flags;
    if ((flags & (EVLIST_INIT | EVLIST_TIMEOUT | EVLIST_ACTIVE |
                  EVLIST_ACTIVE_LATER | EVLIST_FINALIZING)) !=
        (EVLIST_INIT | EVLIST_TIMEOUT))
        return 0;
    if (!timeout_interval_plain_(tv) ||
        (unsigned long)ev->ev_timeout.tv_usec >= 1000000 ||
        EVUTIL_UNLIKELY(event_debug_on_()) || (ev->ev_events & EV_SIGNAL))
        return 0;
    return (flags & EVLIST_INSERTED) ||
           !(ev->ev_events & (EV_READ | EV_WRITE | EV_CLOSED));
}

/* event_add(ev, tv) of an event that waits in the heap for an ordinary
 * timeout, with an ordinary interval (0 <= tv_usec < 1000000): the
 * re-arm of an idle timeout from a callback, done before any of the
 * general checks.  The same effects as the general path; returns 0 when
 * that must run instead.  A common-timeout deadline or interval carries
 * magic bits above 1000000 in tv_usec, so the range tests exclude both. */
static inline int
event_rearm_heap_timeout_(struct event_base *base, struct event *ev,
    const struct timeval *tv)
{
    if (!event_rearm_eligible_(ev, tv))
        return 0;
    readd_heap_timeout(base, ev, tv, 0);
    return 1;
}

/* The lock-free re-arm of a heap timeout (event_rearm_eligible_) at
 * *now + *tv, when it takes O(1): a leaf re-keyed in place, or an inner
 * entry postponed (stale) the way min_heap_postpone_ does it.  No side
 * effects unless it returns 1.  It calls nothing. */
static inline int
event_rearm_at_(struct event_base *base, struct event *ev,
    const struct timeval *tv, const struct timeval *now)
{
    struct min_heap *h = &base->timeheap;
    struct timeval when;

    when.tv_sec = now->tv_sec + tv->tv_sec;
    when.tv_usec = now->tv_usec + tv->tv_usec;
    if (when.tv_usec >= 1000000) {
        when.tv_sec++;
        when.tv_usec -= 1000000;
    }
    if (when.tv_sec == ev->ev_timeout.tv_sec &&
        when.tv_usec == ev->ev_timeout.tv_usec &&
        min_heap_is_latest_(h, ev))
        goto done;
    if (!min_heap_postpone_at_(h, ev,
            (ev_int64_t)when.tv_sec * 1000000 + when.tv_usec))
        return 0;
    ev->ev_timeout = when;
done:
    if (ev->ev_closure == EV_CLOSURE_EVENT_PERSIST)
        ev->ev_io_timeout = *tv;
    return 1;
}

/* event_rearm_at_ from a callback, at the cached time; so that it
 * calls nothing, event_add needs no stack frame for it. */
static inline int
event_rearm_try_(struct event_base *base, struct event *ev,
    const struct timeval *tv)
{
    return base->tv_cache.tv_sec && event_rearm_eligible_(ev, tv) &&
           event_rearm_at_(base, ev, tv, &base->tv_cache);
}

static int event_add_general_(struct event *ev, const struct timeval *tv,
    int any_fd)
    EVUTIL_NOINLINE_
    ;

/* The usual add and del, without a lock, debug mode or a timeout: a
 * user's I/O event on an fd, idle (only EVLIST_INIT) for an add, only
 * added (EVLIST_INIT | EVLIST_INSERTED) for a del, and no re-arm of it
 * pending (event_ready_rearm_note_).  They do what event_add_general_
 * and event_del_ do for such an event, without their other cases. */
#define EVENT_IO_PLAIN_(ev)                                                \
    (((ev)->ev_events & (EV_READ | EV_WRITE | EV_CLOSED)) &&              \
        !((ev)->ev_events & EV_SIGNAL))
/* What an add of ev needs on every straight path: ev idle, with a
 * callback, and no re-arm of it pending. */
static inline int
event_add_idle_ok_(const struct event_base *base, const struct event *ev)
{
    return ev->ev_flags == EVLIST_INIT && ev->ev_callback != NULL &&
           base->ready_rearm != ev;
}

/* The same for a user's I/O event. */
static inline int
event_add_io_idle_ok_(const struct event_base *base, const struct event *ev)
{
    return EVENT_IO_PLAIN_(ev) && event_add_idle_ok_(base, ev);
}

static inline int
event_add_fast_ok_(const struct event_base *base, const struct event *ev)
{
    return !base->th_base_lock && !event_debug_mode_on_ && ev->ev_fd >= 0 &&
           event_add_io_idle_ok_(base, ev);
}

/* The map entry of ev's fd, when an add of ev may go straight to
 * evmap_io_add_last_inl_: the fd is mapped already, the loop is not in
 * the middle of another fd's results (event_ready_note_change_), and
 * evmap_io_add_refused_ cannot refuse the add.  NULL otherwise. */
static inline struct evmap_io *
event_add_io_map_(const struct event_base *base, const struct event *ev)
{
    evutil_socket_t fd = ev->ev_fd;
    struct evmap_io *ctx;
    struct event *first;

    if (EVUTIL_UNLIKELY((unsigned)fd >= (unsigned)base->io.nentries) ||
        EVUTIL_UNLIKELY(base->ready_end != 0 && fd != base->ready_fd) ||
        EVUTIL_UNLIKELY((ctx = base->io.entries[fd]) == NULL))
        return NULL;
    first = LIST_FIRST(&ctx->events);
    if (first != NULL && evmap_io_add_may_refuse_(ctx, first, ev->ev_events))
        return NULL;
    return ctx;
}

/* What a del of ev, added (with a timeout or not), needs on every
 * straight path besides a base without a lock (which the callers test
 * first, so that nothing of ev is read unlocked): a user's I/O event,
 * the loop not in the middle of its fd's results (see
 * event_ready_note_change_), no re-arm of it pending and its callback
 * not running. */
static inline int
event_del_io_state_ok_(const struct event_base *base, const struct event *ev)
{
    return EVENT_IO_PLAIN_(ev) &&
           (base->ready_end == 0 || ev->ev_fd == base->ready_fd) &&
           base->ready_rearm != ev &&
           base->current_event != event_to_event_callback(ev);
}

static inline int
event_del_fast_ok_(const struct event_base *base, const struct event *ev)
{
    return !base->th_base_lock &&
           (ev->ev_flags & ~EVLIST_TIMEOUT) ==
               (EVLIST_INIT | EVLIST_INSERTED) &&
           !event_debug_mode_on_ && event_del_io_state_ok_(base, ev);
}

/* event_add(ev, tv), on a base without a lock and outside debug mode,
 * of an event that is neither active, finalizing nor a signal, and that
 * waits for no heap timeout yet (a pending common one is fine): what
 * event_add_nolock_full_ does for it, without its other cases.  tv is a
 * common timeout (common) or an interval check_timeout_arg leaves as
 * is. */
static int event_add_timer_(struct event_base *base, struct event *ev,
    const struct timeval *tv, int common)
    EVUTIL_NOINLINE_
    ;
static int
event_add_timer_(struct event_base *base, struct event *ev,
    const struct timeval *tv, int common)
{
    struct timeval now;

    event_ready_rearm_note_(base, ev, 0);
    if (EVUTIL_UNLIKELY(min_heap_reserve_one_(&base->timeheap) == -1))
        return -1;
    if ((ev->ev_events & (EV_READ | EV_WRITE | EV_CLOSED)) &&
        !(ev->ev_flags & EVLIST_INSERTED) &&
        event_insert_io_(base, ev) == -1)
        return -1;
    if (ev->ev_closure == EV_CLOSURE_EVENT_PERSIST)
        ev->ev_io_timeout = *tv;
    gettime_(base, &now);
    if (ev->ev_flags & EVLIST_TIMEOUT)
        event_queue_remove_timeout(base, ev);
    if (common) {
        common_timeout_deadline_(ev, tv, &now);
        common_timeout_insert_(base, ev, &now);
        return 0;
    }
    evutil_timeradd(&now, tv, &ev->ev_timeout);
    event_queue_insert_timeout(base, ev);
    if (min_heap_elt_is_top_(ev))
        NOTIFY_IF_NEEDED(base);
    return 0;
}

/* Whether event_add_timer_ may take event_add(ev, tv); common says tv is
 * a common timeout's (by its magic bits; the index is checked here). */
static inline int
event_add_timer_ok_(const struct event_base *base, const struct event *ev,
    const struct timeval *tv, int common)
{
    ev_uint16_t flags = ev->ev_flags;
    if ((flags & (EVLIST_INIT | EVLIST_ACTIVE | EVLIST_ACTIVE_LATER |
                     EVLIST_FINALIZING)) != EVLIST_INIT ||
        event_debug_mode_on_ || ev->ev_callback == NULL ||
        (ev->ev_events & EV_SIGNAL))
        return 0;
    /* An I/O event not added yet needs a valid fd (else the general
     * path's message). */
    if ((ev->ev_events & (EV_READ | EV_WRITE | EV_CLOSED)) &&
        !(flags & EVLIST_INSERTED) && ev->ev_fd < 0)
        return 0;
    if (common)
        return is_common_timeout(tv, base) && tv->tv_sec >= 0;
    /* A pending heap deadline is the general path's (see
     * event_add_timeout_nolock_); a pending common one is removed here. */
    if ((flags & EVLIST_TIMEOUT) &&
        !is_common_timeout(&ev->ev_timeout, base))
        return 0;
    return timeout_interval_plain_(tv);
}

/* The heap half of the straight adds with a timeout below: ev, idle
 * but for flags (EVLIST_INIT, with EVLIST_INSERTED when its fd was just
 * mapped), counted count times more, gets its deadline and its place,
 * whose room was reserved.  A deadline made of an ordinary interval never
 * looks like a common timeout's (its tv_usec is below 1000000). */
static inline void
event_push_idle_timer_(struct event_base *base, struct event *ev,
    const struct timeval *tv, short flags, int count)
{
    struct timeval now;

    base->event_count += count;
    if (base->event_count > base->event_count_max)
        base->event_count_max = base->event_count;
    if (ev->ev_closure == EV_CLOSURE_EVENT_PERSIST)
        ev->ev_io_timeout = *tv;
    gettime_(base, &now);
    evutil_timeradd(&now, tv, &ev->ev_timeout);
    ev->ev_flags = flags | EVLIST_TIMEOUT;
    min_heap_push_(&base->timeheap, ev);
}

/* event_add(ev, tv), on a base with plain paths, of an idle plain I/O
 * event whose add may go straight to the map entry ctx of its fd (see
 * event_add_no_timeout_), with an interval check_timeout_arg leaves as
 * is: the map and the backend as there, then the heap, whose room is
 * reserved first so that nothing fails after the backend's add. */
static int
event_add_io_timer_(struct event_base *base, struct event *ev,
    const struct timeval *tv, struct evmap_io *ctx)
{
    if (EVUTIL_UNLIKELY(min_heap_reserve_one_(&base->timeheap) == -1))
        return -1;
    if (evmap_io_add_last_inl_(base, ctx, ev) == -1)
        return -1;
    /* event_queue_insert_inserted and event_queue_insert_timeout for
     * flags known to be EVLIST_INIT alone. */
    event_push_idle_timer_(ev->ev_base, ev, tv,
        EVLIST_INIT | EVLIST_INSERTED, 2);
    return 0;
}

/* The same for a pure timer (event_timer_idle_ok_). */
static int
event_add_pure_timer_(struct event_base *base, struct event *ev,
    const struct timeval *tv)
{
    if (EVUTIL_UNLIKELY(min_heap_reserve_one_(&base->timeheap) == -1))
        return -1;
    event_push_idle_timer_(base, ev, tv, EVLIST_INIT, 1);
    return 0;
}

/* The same as event_add_io_idle_ok_ for a pure timer (no fd kinds, no
 * signal), for event_add_pure_timer_. */
static inline int
event_timer_idle_ok_(const struct event_base *base, const struct event *ev)
{
    return !(ev->ev_events & (EV_READ | EV_WRITE | EV_CLOSED | EV_SIGNAL)) &&
           event_add_idle_ok_(base, ev);
}

/* event_add(ev, tv) on a base without a lock, past the re-arm in place:
 * event_add_timer_ when it may, else the general path.  Apart so that
 * event_add saves no registers for it. */
static int event_add_timeout_nolock_(struct event_base *base,
    struct event *ev, const struct timeval *tv)
    EVUTIL_NOINLINE_
    ;
static int
event_add_timeout_nolock_(struct event_base *base, struct event *ev,
    const struct timeval *tv)
{
    int common = (tv->tv_usec & COMMON_TIMEOUT_MASK) == COMMON_TIMEOUT_MAGIC;
    struct evmap_io *ctx;

    /* Moving a pending heap timeout (the usual reschedule) outside the
     * loop, where no time is cached: as event_rearm_try_ does it in a
     * callback, at the clock's time, else by the general path. */
    if (!common && (ev->ev_flags & EVLIST_TIMEOUT)) {
        struct timeval now;
        if (!base->tv_cache.tv_sec && event_rearm_eligible_(ev, tv) &&
            gettime_(base, &now) == 0 &&
            event_rearm_at_(base, ev, tv, &now)) {
            event_ready_rearm_note_(base, ev, 1);
            return 0;
        }
        return event_add_general_(ev, tv, 0);
    }
    /* The usual adds with a timeout, with an ordinary interval: of an
     * I/O event as event_add_no_timeout_ takes an add without one, and
     * of a pure timer. */
    if (!common && EVUTIL_LIKELY(base->plain_paths) &&
        timeout_interval_plain_(tv)) {
        if (EVUTIL_LIKELY(event_add_io_idle_ok_(base, ev)) &&
            EVUTIL_LIKELY((ctx = event_add_io_map_(base, ev)) != NULL))
            return event_add_io_timer_(base, ev, tv, ctx);
        if (event_timer_idle_ok_(base, ev))
            return event_add_pure_timer_(base, ev, tv);
    }
    if (event_add_timer_ok_(base, ev, tv, common))
        return event_add_timer_(base, ev, tv, common);
    return event_add_general_(ev, tv, 0);
}

/* event_add without a timeout, when event_add_no_timeout_ cannot take
 * it straight. */
static int event_add_no_timeout_slow_(struct event_base *base,
    struct event *ev)
    EVUTIL_NOINLINE_
    ;
static int
event_add_no_timeout_slow_(struct event_base *base, struct event *ev)
{
    if (EVUTIL_LIKELY(event_add_fast_ok_(base, ev)))
        return event_insert_io_(base, ev);
    return event_add_general_(ev, NULL, 0);
}

/* event_add without a timeout, apart so that event_add's own timeout
 * path saves no registers for it. */
static int event_add_no_timeout_(struct event_base *base, struct event *ev)
    EVUTIL_NOINLINE_
    ;
static int
event_add_no_timeout_(struct event_base *base, struct event *ev)
{
    struct evmap_io *ctx;

    /* The usual add: on a base with plain paths (nobody to wake, so
     * NOTIFY_IF_NEEDED would do nothing), of an idle plain I/O event
     * (event_add_io_idle_ok_), to an fd already mapped, that
     * evmap_io_add_refused_ cannot refuse (event_add_io_map_).  The
     * backend's add comes last and only ev is kept across it. */
    if (EVUTIL_LIKELY(base->plain_paths) &&
        EVUTIL_LIKELY(event_add_io_idle_ok_(base, ev)) &&
        EVUTIL_LIKELY((ctx = event_add_io_map_(base, ev)) != NULL)) {
        if (evmap_io_add_last_inl_(base, ctx, ev) == -1)
            return -1;
        /* event_queue_insert_inserted for flags known to be
         * EVLIST_INIT alone. */
        base = ev->ev_base;
        INCR_EVENT_COUNT(base, EVLIST_INIT);
        ev->ev_flags = EVLIST_INIT | EVLIST_INSERTED;
        return 0;
    }
    return event_add_no_timeout_slow_(base, ev);
}

int
event_add(struct event *ev, const struct timeval *tv)
{
    struct event_base *base;
    if (EVUTIL_UNLIKELY(ev == NULL) || (base = ev->ev_base) == NULL)
        return event_add_general_(ev, tv, 0);
    if (tv == NULL)
        return event_add_no_timeout_(base, ev);
    if (!base->th_base_lock) {
        if (event_rearm_try_(base, ev, tv)) {
            /* The new timeout is set: a re-arm left pending by ev's
             * running callback is void (see event_ready_rearm_note_). */
            event_ready_rearm_note_(base, ev, 1);
            return 0;
        }
        return event_add_timeout_nolock_(base, ev, tv);
    }
    return event_add_general_(ev, tv, 0);
}

int
event_add_any_fd_(struct event *ev, const struct timeval *tv)
{
    return event_add_general_(ev, tv, 1);
}

/* event_add's checks and the add.  any_fd lets an I/O event on a
 * negative fd through (see event_add_any_fd_). */
static int
event_add_general_(struct event *ev, const struct timeval *tv, int any_fd)
{
    struct timeval tv_buf;
    int res;
    if (EVUTIL_UNLIKELY(!ev)) {
        event_warnx("%s: NULL event", __func__);
        return -1;
    }
    if (EVUTIL_UNLIKELY(!ev->ev_base)) {
        event_warnx("%s: event has no event_base set.", __func__);
        return -1;
    }
    EVBASE_ACQUIRE_LOCK(ev->ev_base, th_base_lock);
    if (tv) {
        /* This re-arm may yet fail: do a pending one first
         * (event_add_nolock_inl_ does for the other paths). */
        event_ready_rearm_note_(ev->ev_base, ev, 0);
        if (event_rearm_heap_timeout_(ev->ev_base, ev, tv)) {
            EVBASE_RELEASE_LOCK(ev->ev_base, th_base_lock);
            return 0;
        }
    }
    /* The flags are written by the loop thread under the lock: read them
     * only while holding it. */
    if (EVUTIL_UNLIKELY(!(ev->ev_flags & EVLIST_INIT) &&
                        !event_debug_on_())) {
        EVBASE_RELEASE_LOCK(ev->ev_base, th_base_lock);
        event_warnx("%s: event %p is not initialized", __func__, (void *)ev);
        return -1;
    }
    /* Bad input: a NULL callback stored into the struct by hand, not by
     * event_assign (which keeps a no-op for it); it would be called when
     * the event fires. */
    if (EVUTIL_UNLIKELY(ev->ev_callback == NULL)) {
        EVBASE_RELEASE_LOCK(ev->ev_base, th_base_lock);
        event_warnx("%s: event %p has no callback", __func__, (void *)ev);
        errno = EINVAL;
        return -1;
    }
    /* A common-timeout tv passes this check too: its tv_usec carries
     * positive magic bits. */
    if (tv && check_timeout_arg(&tv, &tv_buf, ev->ev_base)) {
        EVBASE_RELEASE_LOCK(ev->ev_base, th_base_lock);
        return -1;
    }
    /* Bad input by the core issue's contract: libevent 2.1.12 would add
     * the event and never poll it. */
    if (EVUTIL_UNLIKELY((ev->ev_events & (EV_READ | EV_WRITE | EV_CLOSED)) &&
                        ev->ev_fd < 0 && !any_fd)) {
        EVBASE_RELEASE_LOCK(ev->ev_base, th_base_lock);
        event_warnx("%s: invalid fd %d for an I/O event", __func__,
            (int)ev->ev_fd);
        errno = EBADF;
        return -1;
    }
    res = event_add_nolock_inl_(ev, tv, 0);
    EVBASE_RELEASE_LOCK(ev->ev_base, th_base_lock);
    return res;
}

int
event_remove_timer_nolock_(struct event *ev)
{
    struct event_base *base = ev->ev_base;
    if (event_debug_on_())
        event_debug_assert_is_setup_(ev);
    event_ready_rearm_note_(base, ev, 1);
    if (ev->ev_flags & EVLIST_TIMEOUT) {
        event_queue_remove_timeout(base, ev);
        /* The persist interval shares memory with the signal counters. */
        if (!(ev->ev_events & EV_SIGNAL))
            evutil_timerclear(&ev->ev_io_timeout);
    }
    return 0;
}

int
event_remove_timer(struct event *ev)
{
    int res;
    if (EVUTIL_UNLIKELY(!ev || !ev->ev_base)) {
        event_warnx("%s: event has no event_base set.", __func__);
        return -1;
    }
    EVBASE_ACQUIRE_LOCK(ev->ev_base, th_base_lock);
    res = event_remove_timer_nolock_(ev);
    EVBASE_RELEASE_LOCK(ev->ev_base, th_base_lock);
    return res;
}

/* Whether event_del must wait for ev: its callback runs in another
 * thread, and the caller did not ask not to wait, nor is the event
 * finalizable (then only event_del_block waits). */
static inline int
del_must_wait(struct event_base *base, struct event *ev, int blocking)
{
    return base->current_event == event_to_event_callback(ev) &&
           blocking != EVENT_DEL_NOBLOCK &&
           (blocking == EVENT_DEL_BLOCK || !(ev->ev_events & EV_FINALIZE)) &&
           !EVBASE_IN_THREAD(base);
}

/* The body of event_del_nolock_, inlined into event_del_ where blocking
 * is a constant. */
static inline int
event_del_nolock_inl_(struct event *ev, int blocking)
    EVUTIL_ALWAYS_INLINE_
    ;
static inline int
event_del_nolock_inl_(struct event *ev, int blocking)
{
    struct event_base *base = ev->ev_base;
    int res = 0, notify = 0;

    if (EVUTIL_UNLIKELY(base == NULL))
        return -1;
    if (blocking != EVENT_DEL_EVEN_IF_FINALIZING &&
        (ev->ev_flags & EVLIST_FINALIZING))
        return 0;

    /* Delete first, then wait: the loop cannot start ev's callback once
     * more in the meantime (a persistent event whose fd stays ready would
     * run again before the waiter got the lock back).  A callback that
     * re-added ev before it returned is undone by a second pass, so that
     * ev is not pending when this returns, as libevent's wait-then-delete
     * order has it. */
    for (;;) {
        event_ready_rearm_note_(base, ev, 1);

        /* Readiness of ev's fd that the backend found but the loop has
         * not run yet becomes activations first, so that ev, deleted,
         * does not run (see event_ready_defer_ok_). */
        if ((ev->ev_flags & EVLIST_INSERTED) &&
            (ev->ev_events & (EV_READ | EV_WRITE | EV_CLOSED)))
            event_ready_note_change_(base, ev->ev_fd);

        /* Stop a signal callback that would run again for queued
         * signals; one running in another thread is waited for instead
         * (its count lives there, unlocked). */
        if ((ev->ev_events & EV_SIGNAL) && ev->ev_ncalls && ev->ev_pncalls &&
            !del_must_wait(base, ev, blocking)) {
            *ev->ev_pncalls = 0;
            ev->ev_pncalls = NULL;
            ev->ev_ncalls = 0;
        }

        if (ev->ev_flags & EVLIST_TIMEOUT)
            event_queue_remove_timeout(base, ev);
        event_queue_remove_any_active(base, ev);

        if (ev->ev_flags & EVLIST_INSERTED) {
            event_queue_remove_inserted(base, ev);
            if (ev->ev_events & (EV_READ | EV_WRITE | EV_CLOSED))
                res = evmap_io_del_inl_(base, ev->ev_fd, ev);
            else
                res = evmap_signal_del_(base, (int)ev->ev_fd, ev);
            if (res == 1) {
                notify = 1;
                res = 0;
            }
            if (event_base_idle_(base))
                notify = 1;
        }

        if (EVUTIL_LIKELY(base->current_event !=
                          event_to_event_callback(ev)) ||
            !del_must_wait(base, ev, blocking))
            break;
        ev->ev_flags |= EVLIST_DEL_WAITING;
        wait_for_running_callback(base, ev);
        /* The lock is held again: nothing activates ev before the next
         * pass (if any) deletes it. */
        ev->ev_flags &= ~EVLIST_DEL_WAITING;
        if (!(ev->ev_flags & (EVLIST_INSERTED | EVLIST_TIMEOUT |
                                 EVLIST_ACTIVE | EVLIST_ACTIVE_LATER)))
            break;
    }
    if (res != -1 && notify)
        NOTIFY_IF_NEEDED(base);
    if (event_debug_on_())
        event_debug_note_del_(ev);
    return res;
}

int
event_del_nolock_(struct event *ev, int blocking)
{
    return event_del_nolock_inl_(ev, blocking);
}

static inline int
event_del_(struct event *ev, int blocking)
{
    int res;
    struct event_base *base;
    if (EVUTIL_UNLIKELY(!ev)) {
        event_warnx("%s: NULL event", __func__);
        return -1;
    }
    base = ev->ev_base;
    if (EVUTIL_UNLIKELY(!base)) {
        event_warnx("%s: event has no event_base set.", __func__);
        return -1;
    }
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    res = event_del_nolock_inl_(ev, blocking);
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    return res;
}

static int event_del_general_(struct event *ev)
    EVUTIL_NOINLINE_
    ;
static int
event_del_general_(struct event *ev)
{
    return event_del_(ev, EVENT_DEL_AUTOBLOCK);
}

/* event_del but for its usual case, apart so that event_del saves no
 * registers for it. */
static int event_del_slow_(struct event_base *base, struct event *ev)
    EVUTIL_NOINLINE_
    ;
static int
event_del_slow_(struct event_base *base, struct event *ev)
{
    if (EVUTIL_LIKELY(event_del_fast_ok_(base, ev))) {
        int res;
        if (ev->ev_flags & EVLIST_TIMEOUT)
            event_queue_remove_timeout(base, ev);
        event_queue_remove_inserted(base, ev);
        res = evmap_io_del_inl_(base, ev->ev_fd, ev);
        if (res == -1)
            return -1;
        if (res == 1 || event_base_idle_(base))
            NOTIFY_IF_NEEDED(base);
        return 0;
    }
    return event_del_general_(ev);
}

/* event_del's usual case with a pending timeout too: the timeout goes
 * first, then as without one.  Apart so that event_del saves no
 * registers for the call. */
static int event_del_io_timeout_(struct event_base *base, struct event *ev)
    EVUTIL_NOINLINE_
    ;
static int
event_del_io_timeout_(struct event_base *base, struct event *ev)
{
    event_queue_remove_timeout_inl_(base, ev);
    event_queue_remove_inserted(base, ev);
    return evmap_io_del_last_inl_(base, ev->ev_fd, ev);
}

/* Whether event_del may take ev, a timer (no fd, no signal) that waits
 * for its timeout only, straight out of its queue: on a base without a
 * lock (tested first, so that nothing of ev is read unlocked), outside
 * debug mode and not from its own callback; all the general path would
 * do for it. */
static inline int
event_del_timer_ok_(const struct event_base *base, const struct event *ev)
{
    return !base->th_base_lock && event_timer_only_(base, ev) &&
           base->current_event != event_to_event_callback(ev);
}

/* event_del of a timer event_del_timer_ok_ lets through; apart so that
 * event_del saves no registers for it. */
static int event_del_pure_timer_(struct event_base *base, struct event *ev)
    EVUTIL_NOINLINE_
    ;
static int
event_del_pure_timer_(struct event_base *base, struct event *ev)
{
    event_queue_remove_timeout_inl_(base, ev);
    return 0;
}

/* Whether event_del may take its straight path for ev, whose flags are
 * flags (EVLIST_INIT | EVLIST_INSERTED, with EVLIST_TIMEOUT or not), on
 * a base nobody wakes (see event_add_no_timeout_). */
static inline int
event_del_io_ok_(const struct event_base *base, const struct event *ev,
    short flags)
{
    return EVUTIL_LIKELY(base->plain_paths) &&
           EVUTIL_LIKELY(ev->ev_flags == flags) &&
           event_del_io_state_ok_(base, ev);
}

int
event_del(struct event *ev)
{
    struct event_base *base;
    if (EVUTIL_UNLIKELY(ev == NULL) || (base = ev->ev_base) == NULL)
        return event_del_general_(ev);
    /* The usual del; the backend's del ends it. */
    if (event_del_io_ok_(base, ev, EVLIST_INIT | EVLIST_INSERTED)) {
        event_queue_remove_inserted(base, ev);
        return evmap_io_del_last_inl_(base, ev->ev_fd, ev);
    }
    if (event_del_io_ok_(base, ev,
            EVLIST_INIT | EVLIST_INSERTED | EVLIST_TIMEOUT))
        return event_del_io_timeout_(base, ev);
    if (event_del_timer_ok_(base, ev))
        return event_del_pure_timer_(base, ev);
    return event_del_slow_(base, ev);
}

int
event_del_block(struct event *ev)
{
    return event_del_(ev, EVENT_DEL_BLOCK);
}

int
event_del_noblock(struct event *ev)
{
    return event_del_(ev, EVENT_DEL_NOBLOCK);
}

/* ------------------------------------------------------------------ */
/* Activation                                                          */

int
event_callback_activate_nolock_(struct event_base *base,
    struct event_callback *evcb)
{
    int r = 1;
    if (evcb->evcb_flags & EVLIST_FINALIZING)
        return 0;
    switch (evcb->evcb_flags & (EVLIST_ACTIVE | EVLIST_ACTIVE_LATER)) {
    case EVLIST_ACTIVE:
        return 0;
    case EVLIST_ACTIVE_LATER:
        event_queue_remove_active_later(base, evcb);
        r = 0;
        break;
    case 0:
        break;
    default:
        EVUTIL_ASSERT(0);
    }
    event_queue_insert_active(base, evcb);
    NOTIFY_IF_NEEDED(base);
    return r;
}

int
event_callback_activate_(struct event_base *base,
    struct event_callback *evcb)
{
    int r;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    r = event_callback_activate_nolock_(base, evcb);
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    return r;
}

int
event_callback_activate_later_nolock_(struct event_base *base,
    struct event_callback *evcb)
{
    if (evcb->evcb_flags & (EVLIST_ACTIVE | EVLIST_ACTIVE_LATER))
        return 0;
    event_queue_insert_active_later(base, evcb);
    NOTIFY_IF_NEEDED(base);
    return 1;
}

void
event_active_nolock_(struct event *ev, int res, short ncalls)
{
    struct event_base *base = ev->ev_base;

    /* Readiness found but not run yet is active first, at its place
     * (see event_ready_defer_ok_). */
    if (ev->ev_events & (EV_READ | EV_WRITE | EV_CLOSED))
        event_ready_note_change_(base, ev->ev_fd);
    /* A callback activating its own event: the timeout re-arm libevent
     * did before the callback comes first, so that it cannot cancel this
     * activation (as a re-arm cancels a pending timeout's). */
    event_ready_rearm_note_(base, ev, 0);

    /* The common case: an idle, non-signal event becomes active. */
    if (EVUTIL_LIKELY(!(ev->ev_flags &
                          (EVLIST_ACTIVE | EVLIST_ACTIVE_LATER |
                              EVLIST_FINALIZING | EVLIST_DEL_WAITING)) &&
                      !(ev->ev_events & EV_SIGNAL))) {
        ev->ev_res = (short)res;
        event_queue_insert_active(base, event_to_event_callback(ev));
        if (ev->ev_pri < base->event_running_priority)
            event_ask_continue_(base);
        NOTIFY_IF_NEEDED(base);
        return;
    }
    if (ev->ev_flags & (EVLIST_FINALIZING | EVLIST_DEL_WAITING))
        return;
    switch (ev->ev_flags & (EVLIST_ACTIVE | EVLIST_ACTIVE_LATER)) {
    case EVLIST_ACTIVE:
        /* Already queued: just add to the reasons. */
        ev->ev_res |= res;
        return;
    case EVLIST_ACTIVE_LATER:
        ev->ev_res |= res;
        break;
    case 0:
        ev->ev_res = res;
        break;
    default:
        EVUTIL_ASSERT(0);
    }
    if (ev->ev_pri < base->event_running_priority)
        event_ask_continue_(base);
    if (ev->ev_events & EV_SIGNAL) {
        if (base->current_event == event_to_event_callback(ev) &&
            !EVBASE_IN_THREAD(base))
            wait_for_running_callback(base, ev);
        ev->ev_ncalls = ncalls;
        ev->ev_pncalls = NULL;
    }
    event_callback_activate_nolock_(base, event_to_event_callback(ev));
}

void
event_active(struct event *ev, int res, short ncalls)
{
    if (EVUTIL_UNLIKELY(!ev || !ev->ev_base)) {
        event_warnx("%s: event has no event_base set.", __func__);
        return;
    }
    if (EVUTIL_UNLIKELY(ev->ev_callback == NULL)) {
        event_warnx("%s: event %p has no callback", __func__, (void *)ev);
        return;
    }
    EVBASE_ACQUIRE_LOCK(ev->ev_base, th_base_lock);
    if (event_debug_on_())
        event_debug_assert_is_setup_(ev);
    event_active_nolock_(ev, res, ncalls);
    EVBASE_RELEASE_LOCK(ev->ev_base, th_base_lock);
}

void
event_active_later_nolock_(struct event *ev, int res)
{
    struct event_base *base = ev->ev_base;
    if (ev->ev_flags & (EVLIST_ACTIVE | EVLIST_ACTIVE_LATER)) {
        ev->ev_res |= res;
        return;
    }
    ev->ev_res = res;
    event_callback_activate_later_nolock_(base, event_to_event_callback(ev));
}

void
event_active_later_(struct event *ev, int res)
{
    EVBASE_ACQUIRE_LOCK(ev->ev_base, th_base_lock);
    event_active_later_nolock_(ev, res);
    EVBASE_RELEASE_LOCK(ev->ev_base, th_base_lock);
}

void
event_callback_init_(struct event_base *base, struct event_callback *cb)
{
    memset(cb, 0, sizeof(*cb));
    cb->evcb_pri = (ev_uint8_t)(base->nactivequeues - 1);
}

static int
event_callback_cancel_nolock_(struct event_base *base,
    struct event_callback *evcb, int even_if_finalizing)
{
    if ((evcb->evcb_flags & EVLIST_FINALIZING) && !even_if_finalizing)
        return 0;
    if (evcb->evcb_flags & EVLIST_INIT)
        return event_del_nolock_(event_callback_to_event(evcb),
            even_if_finalizing ? EVENT_DEL_EVEN_IF_FINALIZING
                               : EVENT_DEL_AUTOBLOCK);
    switch (evcb->evcb_flags & (EVLIST_ACTIVE | EVLIST_ACTIVE_LATER)) {
    case EVLIST_ACTIVE:
        event_queue_remove_active(base, evcb);
        break;
    case EVLIST_ACTIVE_LATER:
        event_queue_remove_active_later(base, evcb);
        break;
    case 0:
        break;
    default:
        EVUTIL_ASSERT(0);
    }
    return 0;
}

int
event_callback_cancel_(struct event_base *base, struct event_callback *evcb)
{
    int r;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    r = event_callback_cancel_nolock_(base, evcb, 0);
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    return r;
}

/* ------------------------------------------------------------------ */
/* Deferred callbacks                                                  */

void
event_deferred_cb_init_(struct event_callback *cb, ev_uint8_t priority,
    deferred_cb_fn fn, void *arg)
{
    memset(cb, 0, sizeof(*cb));
    cb->evcb_cb_union.evcb_selfcb = fn;
    cb->evcb_arg = arg;
    cb->evcb_pri = priority;
    cb->evcb_closure = EV_CLOSURE_CB_SELF;
}

void
event_deferred_cb_set_priority_(struct event_callback *cb,
    ev_uint8_t priority)
{
    cb->evcb_pri = priority;
}

void
event_deferred_cb_cancel_(struct event_base *base, struct event_callback *cb)
{
    if (!base)
        base = event_global_current_base_;
    event_callback_cancel_(base, cb);
}

int
event_deferred_cb_schedule_(struct event_base *base,
    struct event_callback *cb)
{
    int r;
    if (!base)
        base = event_global_current_base_;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    if (base->n_deferreds_queued > MAX_DEFERREDS_QUEUED) {
        r = event_callback_activate_later_nolock_(base, cb);
    } else {
        r = event_callback_activate_nolock_(base, cb);
        if (r)
            ++base->n_deferreds_queued;
    }
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    return r;
}

/* ------------------------------------------------------------------ */
/* Finalizers                                                          */

#define EVENT_FINALIZE_FREE_ 0x10000

static int
event_finalize_nolock_(unsigned flags, struct event *ev,
    event_finalize_callback_fn cb)
{
    ev_uint8_t closure = (flags & EVENT_FINALIZE_FREE_)
                             ? EV_CLOSURE_EVENT_FINALIZE_FREE
                             : EV_CLOSURE_EVENT_FINALIZE;
    event_del_nolock_(ev, EVENT_DEL_NOBLOCK);
    ev->ev_closure = closure;
    ev->ev_evcallback.evcb_cb_union.evcb_evfinalize = cb;
    event_active_nolock_(ev, EV_FINALIZE, 1);
    ev->ev_flags |= EVLIST_FINALIZING;
    return 0;
}

static int
event_finalize_impl_(unsigned flags, struct event *ev,
    event_finalize_callback_fn cb)
{
    int r;
    struct event_base *base;
    if (EVUTIL_UNLIKELY(!ev || !ev->ev_base || !cb)) {
        event_warnx("event_finalize: bad arguments");
        return -1;
    }
    base = ev->ev_base;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    r = event_finalize_nolock_(flags, ev, cb);
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    return r;
}

int
event_finalize(unsigned flags, struct event *ev,
    event_finalize_callback_fn cb)
{
    return event_finalize_impl_(flags & ~EVENT_FINALIZE_FREE_, ev, cb);
}

int
event_free_finalize(unsigned flags, struct event *ev,
    event_finalize_callback_fn cb)
{
    return event_finalize_impl_(flags | EVENT_FINALIZE_FREE_, ev, cb);
}

static void
event_callback_finalize_nolock_(struct event_base *base, unsigned flags,
    struct event_callback *evcb, void (*cb)(struct event_callback *, void *))
{
    (void)flags;
    if (evcb->evcb_flags & EVLIST_INIT)
        event_del_nolock_(event_callback_to_event(evcb), EVENT_DEL_NOBLOCK);
    else
        event_callback_cancel_nolock_(base, evcb, 0);
    evcb->evcb_closure = EV_CLOSURE_CB_FINALIZE;
    evcb->evcb_cb_union.evcb_cbfinalize = cb;
    event_callback_activate_nolock_(base, evcb);
    evcb->evcb_flags |= EVLIST_FINALIZING;
}

void
event_callback_finalize_(struct event_base *base, unsigned flags,
    struct event_callback *evcb, void (*cb)(struct event_callback *, void *))
{
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    event_callback_finalize_nolock_(base, flags, evcb, cb);
    EVBASE_RELEASE_LOCK(base, th_base_lock);
}

/* Finalize a group of callbacks that share one finalizer: the finalizer
 * runs once, after any of them that is running now has returned. */
int
event_callback_finalize_many_(struct event_base *base, int n_cbs,
    struct event_callback **evcbs,
    void (*cb)(struct event_callback *, void *))
{
    int n_pending = 0, i;
    if (!base)
        base = event_global_current_base_;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    for (i = 0; i < n_cbs; ++i) {
        struct event_callback *evcb = evcbs[i];
        if (evcb == base->current_event) {
            event_callback_finalize_nolock_(base, 0, evcb, cb);
            ++n_pending;
        } else {
            event_callback_cancel_nolock_(base, evcb, 0);
        }
    }
    if (n_pending == 0)
        event_callback_finalize_nolock_(base, 0, evcbs[0], cb);
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    return 0;
}

/* Used by event_base_free, which holds the base lock: drop one queued
 * callback, running its finalizer if it has one and run_finalizers is
 * set.  The finalizer runs without the lock, as in libevent: it may take
 * locks that are taken before the base's elsewhere (a bufferevent's).
 * Returns 1 if a user callback was dropped. */
int
event_base_cancel_single_callback_(struct event_base *base,
    struct event_callback *evcb, int run_finalizers)
{
    int result = 0;
    if (evcb->evcb_flags & EVLIST_INIT) {
        struct event *ev = event_callback_to_event(evcb);
        if (!(ev->ev_flags & EVLIST_INTERNAL)) {
            event_del_nolock_(ev, EVENT_DEL_EVEN_IF_FINALIZING);
            result = 1;
        }
    } else {
        event_callback_cancel_nolock_(base, evcb, 1);
        result = 1;
    }
    if (run_finalizers && (evcb->evcb_flags & EVLIST_FINALIZING)) {
        EVBASE_RELEASE_LOCK(base, th_base_lock);
        switch (evcb->evcb_closure) {
        case EV_CLOSURE_EVENT_FINALIZE:
        case EV_CLOSURE_EVENT_FINALIZE_FREE: {
            struct event *ev = event_callback_to_event(evcb);
            /* Read before the finalizer, which may free ev (libevent
             * 2.1.12 reads it after, from freed memory). */
            int free_it = evcb->evcb_closure == EV_CLOSURE_EVENT_FINALIZE_FREE;
            ev->ev_evcallback.evcb_cb_union.evcb_evfinalize(ev, ev->ev_arg);
            if (free_it)
                mm_free(ev);
            break;
        }
        case EV_CLOSURE_CB_FINALIZE:
            evcb->evcb_cb_union.evcb_cbfinalize(evcb, evcb->evcb_arg);
            break;
        default:
            break;
        }
        EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    }
    return result;
}

/* ------------------------------------------------------------------ */
/* One-shot events                                                     */

static void
event_once_cb(evutil_socket_t fd, short events, void *arg)
{
    struct event_once *eonce = arg;
    struct event_base *base = eonce->ev.ev_base;
    (*eonce->cb)(fd, events, eonce->arg);
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    LIST_REMOVE(eonce, next_once);
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    event_debug_unassign(&eonce->ev);
    mm_free(eonce);
}

int
event_base_once(struct event_base *base, evutil_socket_t fd, short events,
    void (*callback)(evutil_socket_t, short, void *), void *arg,
    const struct timeval *tv)
{
    struct event_once *eonce;
    struct timeval tv_buf;
    int res = 0, activate = 0;

    if (!base || !callback)
        return -1;
    /* A signal or persistent one-shot makes no sense. */
    if (events & (EV_SIGNAL | EV_PERSIST))
        return -1;
    if (tv && check_timeout_arg(&tv, &tv_buf, base))
        return -1;
    if ((events & (EV_READ | EV_WRITE | EV_CLOSED)) && fd < 0) {
        event_warnx("%s: invalid fd %d", __func__, (int)fd);
        return -1;
    }
    if ((eonce = mm_calloc(1, sizeof(struct event_once))) == NULL)
        return -1;
    eonce->cb = callback;
    eonce->arg = arg;

    if ((events & (EV_TIMEOUT | EV_SIGNAL | EV_READ | EV_WRITE | EV_CLOSED)) ==
        EV_TIMEOUT) {
        event_assign(&eonce->ev, base, -1, 0, event_once_cb, eonce);
        if (tv == NULL || !evutil_timerisset(tv))
            activate = 1;
    } else if (events & (EV_READ | EV_WRITE | EV_CLOSED)) {
        events &= EV_READ | EV_WRITE | EV_CLOSED;
        event_assign(&eonce->ev, base, fd, events, event_once_cb, eonce);
    } else {
        mm_free(eonce);
        return -1;
    }

    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    if (activate)
        event_active_nolock_(&eonce->ev, EV_TIMEOUT, 1);
    else
        res = event_add_nolock_(&eonce->ev, tv, 0);
    if (res == 0)
        LIST_INSERT_HEAD(&base->once_events, eonce, next_once);
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    if (res != 0) {
        event_debug_unassign(&eonce->ev);
        mm_free(eonce);
    }
    return res;
}

/* ------------------------------------------------------------------ */
/* Loop                                                                */

static int
event_haveevents(struct event_base *base)
{
    return base->virtual_event_count > 0 || base->event_count > 0;
}

/* Settle the stale entries at the top of h whose old deadlines are due
 * by now_us.  Settling one walks it down the heap; when a run of them
 * passes a sixteenth of the heap (and 64), the whole heap is re-keyed at
 * once, in linear time, and no stale entry is left.  Another such run
 * needs as many postpones again to make its entries stale, so the
 * re-key costs each of them a constant. */
static void timeout_settle_due_(struct min_heap *, ev_int64_t)
    EVUTIL_NOINLINE_;
static void
timeout_settle_due_(struct min_heap *h, ev_int64_t now_us)
{
    unsigned run = 0;

    while (h->n && h->p[0].deadline <= now_us &&
           min_heap_entry_is_stale_(&h->p[0])) {
        if (++run > 64 && run > h->n / 16) {
            min_heap_rekey_all_(h);
            break;
        }
        min_heap_settle_top_(h);
    }
}

/* Whether the top of h, not empty, is a stale entry due by now_us: the
 * inline test before timeout_settle_due_, which a loop iteration
 * mostly finds false. */
static inline int
timeout_top_stale_due_(const struct min_heap *h, ev_int64_t now_us)
{
    return h->p[0].deadline <= now_us && min_heap_entry_is_stale_(&h->p[0]);
}

/* How long the backend may wait: until the earliest deadline, or
 * forever (*tv_p = NULL) when there is none.  A postponed (stale) top
 * entry is re-keyed only once its old deadline has passed; until then
 * the loop may wake up early for it, which costs one empty pass. */
static int
timeout_next(struct event_base *base, struct timeval **tv_p)
{
    struct timeval now;
    struct min_heap *h = &base->timeheap;
    struct timeval *tv = *tv_p;
    ev_int64_t now_us, wait_us;

    if (min_heap_empty_(h)) {
        *tv_p = NULL;
        return 0;
    }
    if (gettime_(base, &now) == -1)
        return -1;
    now_us = (ev_int64_t)now.tv_sec * 1000000 + now.tv_usec;
    if (timeout_top_stale_due_(h, now_us))
        timeout_settle_due_(h, now_us);
    wait_us = h->p[0].deadline - now_us;
    if (wait_us <= 0) {
        evutil_timerclear(tv);
        return 0;
    }
    tv->tv_sec = (time_t)(wait_us / 1000000);
    tv->tv_usec = (suseconds_t)(wait_us % 1000000);
    return 0;
}

/* Whether the top entry of h has no child with its deadline: no other
 * event fires at the same time. */
static inline int
timeout_top_alone_(const struct min_heap *h)
{
    unsigned c, last = h->n < 5 ? h->n : 5;
    for (c = 1; c < last; ++c)
        if (h->p[c].deadline == h->p[0].deadline)
            return 0;
    return 1;
}

/* Whether ev, listed by min_heap_ties_ for the deadline d, still has a
 * fresh heap entry for d: activating one of the list may have moved or
 * deleted another (a timeout re-armed by event_ready_rearm_note_). */
static inline int
timeout_tie_due_(const struct min_heap *h, const struct event *ev,
    ev_int64_t d)
{
    int idx = MIN_HEAP_POS_(ev)->idx;
    return (ev->ev_flags & EVLIST_TIMEOUT) && idx >= 0 &&
           (unsigned)idx < h->n && h->p[idx].ev == ev &&
           h->p[idx].deadline == d && min_heap_key_(ev) == d;
}

/* Activate every timer whose deadline has passed, in deadline order, and
 * those with equal deadlines in the order they were scheduled (the heap
 * does not order ties: see min_heap_ties_). */
static void
timeout_process(struct event_base *base)
{
    struct min_heap *h = &base->timeheap;
    struct timeval now;
    ev_int64_t now_us;

    if (min_heap_empty_(h))
        return;
    gettime_(base, &now);
    now_us = (ev_int64_t)now.tv_sec * 1000000 + now.tv_usec;
    while (h->n && h->p[0].deadline <= now_us) {
        struct min_heap_tie_ *ties;
        ev_int64_t d;
        unsigned i, n;

        if (min_heap_entry_is_stale_(&h->p[0])) {
            /* Postponed: put it where its real deadline belongs. */
            timeout_settle_due_(h, now_us);
            continue;
        }
        if (timeout_top_alone_(h)) {
            timeout_expired(base, h->p[0].ev);
            continue;
        }
        d = h->p[0].deadline;
        n = min_heap_ties_(h, &ties);
        if (n == 0) {
            /* No memory to sort them: in heap order, one at a time. */
            timeout_expired(base, h->p[0].ev);
            continue;
        }
        for (i = 0; i < n; ++i)
            if (timeout_tie_due_(h, ties[i].ev, d))
                timeout_expired(base, ties[i].ev);
    }
    min_heap_ties_trim_(h);
}

/* Re-arm the timeout of a persistent event before its callback runs:
 * the next deadline counts from the one that fired (so a periodic timer
 * does not drift), or from now if I/O woke it or it fell behind. */
static inline void
event_persist_closure(struct event_base *base, struct event *ev)
{
    struct timeval run_at, relative_to, delay, now;
    ev_uint32_t usec_mask = 0;

    if (EVUTIL_LIKELY(!is_common_timeout(&ev->ev_timeout, base) &&
                      !event_debug_on_() && readd_heap_flags_ok(ev))) {
        /* An ordinary timeout in the heap: just move the deadline. */
        if (EVUTIL_LIKELY(!(ev->ev_res & EV_TIMEOUT) &&
                          base->tv_cache.tv_sec)) {
            /* I/O woke it (the usual case): now + delay, now being the
             * cached time. */
            run_at.tv_sec = base->tv_cache.tv_sec + ev->ev_io_timeout.tv_sec;
            run_at.tv_usec =
                base->tv_cache.tv_usec + ev->ev_io_timeout.tv_usec;
            if (run_at.tv_usec >= 1000000) {
                run_at.tv_sec++;
                run_at.tv_usec -= 1000000;
            }
        } else {
            gettime_(base, &now);
            delay = ev->ev_io_timeout;
            relative_to = (ev->ev_res & EV_TIMEOUT) ? ev->ev_timeout : now;
            evutil_timeradd(&relative_to, &delay, &run_at);
            if (evutil_timercmp(&run_at, &now, <))
                evutil_timeradd(&now, &delay, &run_at);
        }
        readd_heap_timeout(base, ev, &run_at, 1);
        return;
    }
    gettime_(base, &now);
    delay = ev->ev_io_timeout;
    if (is_common_timeout(&ev->ev_timeout, base)) {
        usec_mask = delay.tv_usec & ~COMMON_TIMEOUT_MICROSECONDS_MASK;
        delay.tv_usec &= COMMON_TIMEOUT_MICROSECONDS_MASK;
        if (ev->ev_res & EV_TIMEOUT) {
            relative_to = ev->ev_timeout;
            relative_to.tv_usec &= COMMON_TIMEOUT_MICROSECONDS_MASK;
        } else {
            relative_to = now;
        }
    } else {
        relative_to = (ev->ev_res & EV_TIMEOUT) ? ev->ev_timeout : now;
    }
    evutil_timeradd(&relative_to, &delay, &run_at);
    if (evutil_timercmp(&run_at, &now, <))
        evutil_timeradd(&now, &delay, &run_at);
    run_at.tv_usec |= usec_mask;
    event_add_nolock_(ev, &run_at, 1);
}

void
event_ready_rearm_(struct event_base *base)
{
    struct event *ev = base->ready_rearm;

    base->ready_rearm = NULL;
    /* Every way out of the heap clears ready_rearm; this is a guard. */
    if ((ev->ev_flags & (EVLIST_TIMEOUT | EVLIST_FINALIZING)) ==
        EVLIST_TIMEOUT)
        event_persist_closure(base, ev);
}

/* Run a signal callback once per delivery, stopping early if the event
 * is deleted (ev_pncalls is cleared) or the loop is told to break. */
static inline void
event_signal_closure(struct event_base *base, struct event *ev)
{
    short ncalls = ev->ev_ncalls;
    int should_break;
    event_callback_fn cb = ev->ev_callback;
    evutil_socket_t fd = ev->ev_fd;
    short res = ev->ev_res;
    void *arg = ev->ev_arg;

    /* ev_pncalls lets event_del stop the remaining calls; it is cleared
     * (by event_del or below) before this frame goes away. */
#if defined(__GNUC__) && __GNUC__ >= 12
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
    if (ncalls != 0)
        ev->ev_pncalls = &ncalls;
#if defined(__GNUC__) && __GNUC__ >= 12
#pragma GCC diagnostic pop
#endif
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    while (ncalls) {
        ncalls--;
        ev->ev_ncalls = ncalls;
        if (ncalls == 0)
            ev->ev_pncalls = NULL;
        (*cb)(fd, res, arg);
        EVBASE_ACQUIRE_LOCK(base, th_base_lock);
        should_break = base->event_break;
        if (ncalls != 0) {
            /* Not deleted (event_del would have zeroed ncalls): each call
             * sees the event as it is now, as in libevent (a callback
             * may have activated it again with other flags). */
            cb = ev->ev_callback;
            fd = ev->ev_fd;
            res = ev->ev_res;
            arg = ev->ev_arg;
        }
        EVBASE_RELEASE_LOCK(base, th_base_lock);
        if (should_break) {
            if (ncalls != 0)
                ev->ev_pncalls = NULL;
            return;
        }
    }
}

/* Run up to max_to_process callbacks from one priority queue.  Returns
 * how many non-internal callbacks ran, or -1 if the loop must break. */
static int
event_process_active_single_queue(struct event_base *base,
    struct evcallback_list *activeq, int max_to_process,
    const struct timeval *endtime)
{
    struct event_callback *evcb;
    int count = 0;
    /* No callback budget and no time budget: the usual case. */
    const int limited = max_to_process != INT_MAX || endtime != NULL;

    while ((evcb = TAILQ_FIRST(activeq)) != NULL) {
        struct event *ev = NULL;
        ev_uint16_t flags = evcb->evcb_flags;
        ev_uint8_t closure;
        if ((flags & EVLIST_INIT) &&
            !(event_callback_to_event(evcb)->ev_events & EV_PERSIST) &&
            !(flags & EVLIST_FINALIZING) &&
            !event_active_only_(base, event_callback_to_event(evcb),
                flags)) {
            ev = event_callback_to_event(evcb);
            event_del_nolock_(ev, EVENT_DEL_NOBLOCK);
        } else {
            /* evcb heads activeq (its priority's queue): unlink it from
             * there directly, with the counts event_queue_remove_active
             * keeps. */
            struct event_callback *next =
                TAILQ_NEXT(evcb, evcb_active_next);
            if (flags & EVLIST_INIT)
                ev = event_callback_to_event(evcb);
            DECR_EVENT_COUNT(base, flags);
            evcb->evcb_flags = flags & ~EVLIST_ACTIVE;
            base->event_count_active--;
            if (next != NULL)
                next->evcb_active_next.tqe_prev = &activeq->tqh_first;
            else
                activeq->tqh_last = &activeq->tqh_first;
            activeq->tqh_first = next;
        }
        count += !(flags & EVLIST_INTERNAL);

        base->current_event = evcb;
        base->current_event_waiters = 0;

        /* Persistent and plain events first: nearly every callback. */
        closure = evcb->evcb_closure;
        if (EVUTIL_LIKELY(closure == EV_CLOSURE_EVENT_PERSIST ||
                          closure == EV_CLOSURE_EVENT)) {
            event_callback_fn cb;
            evutil_socket_t fd;
            short res;
            void *arg;
            if (closure == EV_CLOSURE_EVENT_PERSIST &&
                (ev->ev_io_timeout.tv_sec || ev->ev_io_timeout.tv_usec))
                event_persist_closure(base, ev);
            cb = ev->ev_callback;
            fd = ev->ev_fd;
            res = ev->ev_res;
            arg = ev->ev_arg;
            EVBASE_RELEASE_LOCK(base, th_base_lock);
            (*cb)(fd, res, arg);
        } else switch (evcb->evcb_closure) {
        case EV_CLOSURE_EVENT_SIGNAL:
            event_signal_closure(base, ev);
            break;
        case EV_CLOSURE_CB_SELF: {
            void (*cb)(struct event_callback *, void *) =
                evcb->evcb_cb_union.evcb_selfcb;
            EVBASE_RELEASE_LOCK(base, th_base_lock);
            cb(evcb, evcb->evcb_arg);
            break;
        }
        case EV_CLOSURE_EVENT_FINALIZE:
        case EV_CLOSURE_EVENT_FINALIZE_FREE: {
            int do_free = evcb->evcb_closure == EV_CLOSURE_EVENT_FINALIZE_FREE;
            event_finalize_callback_fn cb =
                ev->ev_evcallback.evcb_cb_union.evcb_evfinalize;
            base->current_event = NULL;
            EVBASE_RELEASE_LOCK(base, th_base_lock);
            /* Torn down for debug mode before the finalizer, as in
             * libevent, which may assign the event anew. */
            if (event_debug_on_())
                event_debug_note_teardown_(ev);
            cb(ev, ev->ev_arg);
            if (do_free)
                mm_free(ev);
            break;
        }
        case EV_CLOSURE_CB_FINALIZE: {
            void (*cb)(struct event_callback *, void *) =
                evcb->evcb_cb_union.evcb_cbfinalize;
            base->current_event = NULL;
            EVBASE_RELEASE_LOCK(base, th_base_lock);
            cb(evcb, evcb->evcb_arg);
            break;
        }
        default:
            EVUTIL_ASSERT(0);
        }

        EVBASE_ACQUIRE_LOCK(base, th_base_lock);
        base->current_event = NULL;
        /* One test for the rare cases: a waiter in event_del, a break or
         * a continue request. */
        if (EVUTIL_UNLIKELY(base->current_event_waiters | base->event_break |
                            base->event_continue)) {
            if (base->current_event_waiters) {
                base->current_event_waiters = 0;
                EVTHREAD_COND_BROADCAST(base->current_event_cond);
            }
            if (base->event_break)
                return -1;
            if (base->event_continue)
                return count;
        }
        if (EVUTIL_UNLIKELY(limited)) {
            if (count >= max_to_process)
                return count;
            if (count && endtime) {
                struct timeval now;
                update_time_cache(base);
                gettime_(base, &now);
                if (evutil_timercmp(&now, endtime, >=))
                    return count;
            }
        }
    }
    return count;
}

/* Run the callbacks of the most urgent priority that has any user
 * callback, among priorities first to last; lower priorities wait for a
 * later iteration. */
static int
event_process_active(struct event_base *base, int first, int last)
{
    const struct timeval *endtime = NULL;
    struct timeval tv;
    const int maxcb = base->max_dispatch_callbacks;
    const int limit_after_prio = base->limit_callbacks_after_prio;
    int i, c = 0;

    if (base->max_dispatch_time.tv_sec >= 0) {
        update_time_cache(base);
        gettime_(base, &tv);
        evutil_timeradd(&base->max_dispatch_time, &tv, &tv);
        endtime = &tv;
    }
    for (i = first; i < base->nactivequeues && i <= last; ++i) {
        if (TAILQ_FIRST(&base->activequeues[i]) != NULL) {
            base->event_running_priority = i;
            if (i < limit_after_prio)
                c = event_process_active_single_queue(base,
                    &base->activequeues[i], INT_MAX, NULL);
            else
                c = event_process_active_single_queue(base,
                    &base->activequeues[i], maxcb, endtime);
            if (c < 0)
                break;
            if (c > 0)
                break;
        }
    }
    base->event_running_priority = -1;
    return c;
}

int
event_base_loop(struct event_base *base, int flags)
{
    struct timeval tv;
    struct timeval *tv_p;
    int res, ran, nuser, done = 0, retval = 0;
    int count_before, active_before, pending;

    if (EVUTIL_UNLIKELY(!base)) {
        base = event_global_current_base_;
        if (!base) {
            event_warnx("%s: no event_base", __func__);
            return -1;
        }
    }
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    if (base->running_loop) {
        event_warnx("%s: reentrant invocation.  Only one event_base_loop"
                    " can run on each event_base at once.",
            __func__);
        EVBASE_RELEASE_LOCK(base, th_base_lock);
        return -1;
    }
    base->running_loop = 1;
    clear_time_cache(base);
    if (base->sig.ev_signal_added && base->sig.ev_n_signals_added)
        evsig_set_base_(base);
    base->th_owner_id = EVTHREAD_GET_ID();
    base->event_gotterm = base->event_break = 0;

    while (!done) {
        base->event_continue = 0;
        base->n_deferreds_queued = 0;
        if (base->event_gotterm || base->event_break)
            break;

        tv_p = &tv;
        if (!N_ACTIVE_CALLBACKS(base) && !(flags & EVLOOP_NONBLOCK))
            timeout_next(base, &tv_p);
        else
            evutil_timerclear(&tv);

        if (!(flags & EVLOOP_NO_EXIT_ON_EMPTY) && !event_haveevents(base) &&
            !N_ACTIVE_CALLBACKS(base)) {
            event_debug(("%s: no events registered.", __func__));
            retval = 1;
            goto done;
        }

        event_queue_make_later_events_active(base);
        clear_time_cache(base);
        count_before = base->event_count;
        active_before = base->event_count_active;
        res = base->evsel->dispatch(base, tv_p);
        /* Dispatch only adds to the counts (activations), without
         * updating the maxima: do it now, as libevent would have at each
         * increment, and only if something was counted (so a maximum just
         * cleared stays 0 until something new comes).  Results left for
         * ready_run count as the activations libevent's dispatch made
         * (one per ready fd, the usual case), before any expired timer
         * is deleted below. */
        pending = base->ready_end ? base->ready_end - base->ready_next : 0;
        if (pending > 0 || base->event_count > count_before ||
            base->event_count_active > active_before)
            event_base_note_count_max_plus_(base, pending);
        if (res == -1) {
            event_debug(("%s: dispatch returned unsuccessfully.", __func__));
            retval = -1;
            goto done;
        }
        update_time_cache(base);
        timeout_process(base);

        /* Readiness the backend left in its result array (see
         * event_ready_defer_ok_): run it now, after the timers were
         * queued, before the queue. */
        nuser = 0;
        ran = base->ready_end != 0 ? base->ready_run(base, &nuser) : 0;
        if (ran || N_ACTIVE_CALLBACKS(base)) {
            int n = 0;
            if (N_ACTIVE_CALLBACKS(base) && !base->event_break &&
                !base->event_continue)
                /* User callbacks run from the results at priority
                 * ready_prio were that priority's turn: it goes on with
                 * what was queued at that priority meanwhile, and the
                 * others wait for the next pass, as in libevent (a more
                 * urgent event activated meanwhile set event_continue; a
                 * deferred callback does not). */
                n = nuser ? event_process_active(base, base->ready_prio,
                                base->ready_prio)
                          : event_process_active(base, 0, INT_MAX);
            if ((flags & EVLOOP_ONCE) && N_ACTIVE_CALLBACKS(base) == 0 &&
                (n != 0 || nuser != 0))
                done = 1;
        } else if (flags & EVLOOP_NONBLOCK) {
            done = 1;
        }
    }
    event_debug(("%s: asked to terminate loop.", __func__));
done:
    clear_time_cache(base);
    base->running_loop = 0;
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    return retval;
}

int
event_base_dispatch(struct event_base *base)
{
    return event_base_loop(base, 0);
}

static void
event_loopexit_cb(evutil_socket_t fd, short what, void *arg)
{
    struct event_base *base = arg;
    (void)fd;
    (void)what;
    base->event_gotterm = 1;
}

int
event_base_loopexit(struct event_base *base, const struct timeval *tv)
{
    if (!base)
        return -1;
    return event_base_once(base, -1, EV_TIMEOUT, event_loopexit_cb, base, tv);
}

int
event_base_loopbreak(struct event_base *base)
{
    int r = 0;
    if (base == NULL)
        return -1;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    base->event_break = 1;
    /* The results not run yet wait in the queue (see
     * event_ask_continue_). */
    event_ready_flush_all_(base);
    if (EVBASE_NEED_NOTIFY(base))
        r = evthread_notify_base(base);
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    return r;
}

int
event_base_loopcontinue(struct event_base *base)
{
    int r = 0;
    if (base == NULL)
        return -1;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    event_ask_continue_(base);
    if (EVBASE_NEED_NOTIFY(base))
        r = evthread_notify_base(base);
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    return r;
}

int
event_base_got_break(struct event_base *base)
{
    int res;
    if (!base)
        return 0;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    res = base->event_break;
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    return res;
}

int
event_base_got_exit(struct event_base *base)
{
    int res;
    if (!base)
        return 0;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    res = base->event_gotterm;
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    return res;
}

/* ------------------------------------------------------------------ */
/* Activation by fd or signal, and introspection of running callbacks  */

void
event_base_active_by_fd(struct event_base *base, evutil_socket_t fd,
    short events)
{
    if (!base || fd < 0)
        return;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    /* Called from a callback run straight from the backend's results:
     * the fds found ready and not run yet are queued first, as libevent's
     * dispatch had them, so that fd's events join their place in the
     * queue instead of going behind what this callback activated. */
    event_ready_flush_all_(base);
    if (!(events & EV_TIMEOUT)) {
        int active_before = base->event_count_active;
        evmap_io_active_(base, fd, events & (EV_READ | EV_WRITE | EV_CLOSED));
        /* The maxima move with an activation only, as in libevent (not
         * when no event on fd wanted events). */
        if (base->event_count_active != active_before)
            event_base_note_count_max_(base);
        /* evmap_io_active_ assumes the loop thread: wake the loop. */
        NOTIFY_IF_NEEDED(base);
    } else {
        /* Fire the timers attached to this fd instead. */
        unsigned u;
        int i;
        for (u = 0; u < base->timeheap.n; ++u) {
            struct event *ev = base->timeheap.p[u].ev;
            if (ev->ev_fd == fd)
                event_active_nolock_(ev, EV_TIMEOUT, 1);
        }
        for (i = 0; i < base->n_common_timeouts; ++i) {
            struct common_timeout_list *ctl = base->common_timeout_queues[i];
            struct event *ev;
            TAILQ_FOREACH(ev, &ctl->events,
                ev_timeout_pos.ev_next_with_common_timeout)
            {
                if (ev->ev_fd == fd)
                    event_active_nolock_(ev, EV_TIMEOUT, 1);
            }
        }
    }
    EVBASE_RELEASE_LOCK(base, th_base_lock);
}

void
event_base_active_by_signal(struct event_base *base, int sig)
{
    if (!base || sig < 1 || sig >= NSIG)
        return;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    evmap_signal_active_(base, sig, 1);
    EVBASE_RELEASE_LOCK(base, th_base_lock);
}

struct event *
event_base_get_running_event(struct event_base *base)
{
    struct event *ev = NULL;
    if (!base)
        return NULL;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    if (EVBASE_IN_THREAD(base)) {
        struct event_callback *evcb = base->current_event;
        if (evcb && (evcb->evcb_flags & EVLIST_INIT))
            ev = event_callback_to_event(evcb);
    }
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    return ev;
}

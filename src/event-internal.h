/*
 * event-internal.h: the private shape of an event_base and of a backend.
 *
 * Everything here is internal to the libraries; the public layouts of
 * struct event and struct event_callback live in event2/event_struct.h
 * and never change.
 *
 * Invariants the core keeps:
 *  - an event is on at most one of: the timer heap, one common-timeout
 *    queue (EVLIST_TIMEOUT covers both); independently it may be in the
 *    fd/signal map (EVLIST_INSERTED) and on one active queue
 *    (EVLIST_ACTIVE or EVLIST_ACTIVE_LATER);
 *  - ev_timeout of a pending timer is an absolute monotonic deadline;
 *    for a common timeout its tv_usec carries the queue's magic bits;
 *  - base->th_base_lock (when threads are on) guards every field below.
 */
#ifndef EVENT_INTERNAL_H_INCLUDED_
#define EVENT_INTERNAL_H_INCLUDED_

#include "event2/event-config.h"
#include "event2/event_struct.h"
#include "event2/event.h"
#include "event2/util.h"

#include <limits.h>
#include <sys/queue.h>
#include <time.h>

#include "minheap-internal.h"
#include "evsignal-internal.h"
#include "time-internal.h"
#include "util-internal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Private bits kept in ev_flags / evcb_flags. */
#define EVLIST_TIMEOUT 0x01
#define EVLIST_INSERTED 0x02
#define EVLIST_SIGNAL 0x04
#define EVLIST_ACTIVE 0x08
#define EVLIST_INTERNAL 0x10
#define EVLIST_ACTIVE_LATER 0x20
#define EVLIST_FINALIZING 0x40
#define EVLIST_INIT 0x80
#define EVLIST_ALL 0xff
/* Internal, never in EVLIST_ALL: a thread in event_del() waits for this
 * event's callback, running in the loop thread, to return; meanwhile the
 * loop does not activate the event again (a callback that re-added it
 * would otherwise be run again before the waiter gets the lock back). */
#define EVLIST_DEL_WAITING 0x100

/* How a callback is invoked (evcb_closure). */
#define EV_CLOSURE_EVENT 0
#define EV_CLOSURE_EVENT_SIGNAL 1
#define EV_CLOSURE_EVENT_PERSIST 2
#define EV_CLOSURE_CB_SELF 3
#define EV_CLOSURE_CB_FINALIZE 4
#define EV_CLOSURE_EVENT_FINALIZE 5
#define EV_CLOSURE_EVENT_FINALIZE_FREE 6

/* Shorthands for the public union members of struct event. */
#define ev_signal_next ev_.ev_signal.ev_signal_next
#define ev_io_next ev_.ev_io.ev_io_next
#define ev_io_timeout ev_.ev_io.ev_timeout
#define ev_ncalls ev_.ev_signal.ev_ncalls
#define ev_pncalls ev_.ev_signal.ev_pncalls
#define ev_pri ev_evcallback.evcb_pri
#define ev_flags ev_evcallback.evcb_flags
#define ev_closure ev_evcallback.evcb_closure
#define ev_callback ev_evcallback.evcb_cb_union.evcb_callback
#define ev_arg ev_evcallback.evcb_arg

/* A backend: one per kernel interface, one const instance per file.
 * add/del get the events the fd had before (old) and the ones to add or
 * remove; fdinfo points at fdinfo_len bytes the map keeps per fd for the
 * backend; they return 0, or -1 on failure (event_del returns what del
 * returns as is).  They read neither the fd's list of events nor its
 * counts in the map, which the core may update before the call.
 * dispatch waits at most tv (NULL: forever) with the base lock
 * released, reports readiness through evmap_io_active_() and
 * evmap_signal_active_(), and returns 0, or -1 on a fatal error.
 * EINTR is not an error. */
struct eventop {
    const char *name;
    void *(*init)(struct event_base *);
    int (*add)(struct event_base *, evutil_socket_t fd, short old,
        short events, void *fdinfo);
    int (*del)(struct event_base *, evutil_socket_t fd, short old,
        short events, void *fdinfo);
    int (*dispatch)(struct event_base *, struct timeval *);
    void (*dealloc)(struct event_base *);
    int need_reinit;
    enum event_method_feature features;
    size_t fdinfo_len;
};

/* The backends compiled into this build (each defined in backends/). */
extern const struct eventop io_uringops;
extern const struct eventop epollops;
extern const struct eventop epollops_uring;
extern const struct eventop pollops;
extern const struct eventop selectops;
/* Backends of other systems (EVENT__HAVE_EVENT_PORTS, EVENT__HAVE_KQUEUE,
 * EVENT__HAVE_DEVPOLL); on Linux only the test/shim builds have them. */
extern const struct eventop evportops;
extern const struct eventop kqops;
extern const struct eventop devpollops;

/* One pending change of interest in an fd, queued when the backend uses
 * the changelist and applied by the backend at dispatch time. */
struct event_change {
    evutil_socket_t fd;
    short old_events;
    /* EV_CHANGE_ADD / EV_CHANGE_DEL, plus EV_CHANGE_ET, per direction. */
    ev_uint8_t read_change;
    ev_uint8_t write_change;
    ev_uint8_t close_change;
};

#define EV_CHANGE_ADD 0x01
#define EV_CHANGE_DEL 0x02
#define EV_CHANGE_SIGNAL EV_SIGNAL
#define EV_CHANGE_PERSIST EV_PERSIST
#define EV_CHANGE_ET EV_ET

struct event_changelist {
    struct event_change *changes;
    int n_changes;
    int changes_size;
};

/* Per-fd bookkeeping for changelist backends: where (index + 1) this fd's
 * pending change sits in the changelist, 0 if none. */
struct event_changelist_fdinfo {
    int idxplus1;
};

/* fd -> events map: a flat array indexed by fd. */
struct evmap_io;
struct event_io_map {
    struct evmap_io **entries;
    int nentries;
};

/* signal number -> events map, the same shape. */
struct evmap_signal;
struct event_signal_map {
    struct evmap_signal **entries;
    int nentries;
};

TAILQ_HEAD(evcallback_list, event_callback);
TAILQ_HEAD(event_tailq, event);

/* Events that share one duration wait in a FIFO queue, whose head alone
 * sits in the heap through the queue's own timer event. */
struct common_timeout_list {
    struct event_tailq events;
    struct timeval duration;
    struct event timeout_event;
    struct event_base *base;
};

/* The magic in the upper bits of tv_usec marking a common timeout; the
 * low bits below COMMON_TIMEOUT_IDX_SHIFT+8 hold the queue index. */
/* The longest interval a timeout is kept at: a longer one is shortened to
 * it, so that deadlines (now + interval on the monotonic clock, also in
 * microseconds) never overflow: about 3,170 years with a 64-bit tv_sec,
 * 31 years where tv_sec is a 32-bit long (Windows). */
#if LONG_MAX > 2147483647L
#define EVENT_MAX_TIMEOUT_SEC_ 100000000000L
#else
#define EVENT_MAX_TIMEOUT_SEC_ 1000000000L
#endif

/* A non-negative interval *t normalized (tv_usec < 1000000) and capped at
 * EVENT_MAX_TIMEOUT_SEC_, without overflowing on the way. */
static inline void
event_interval_cap_(struct timeval *t)
{
    long extra = (long)(t->tv_usec / 1000000);
    t->tv_usec %= 1000000;
    t->tv_sec = t->tv_sec > EVENT_MAX_TIMEOUT_SEC_ - extra ?
        EVENT_MAX_TIMEOUT_SEC_ : t->tv_sec + extra;
}
#define COMMON_TIMEOUT_MICROSECONDS_MASK 0x000fffff
#define COMMON_TIMEOUT_IDX_MASK 0x0ff00000
#define COMMON_TIMEOUT_IDX_SHIFT 20
#define COMMON_TIMEOUT_MASK 0xf0000000
#define COMMON_TIMEOUT_MAGIC 0x50000000
#define MAX_COMMON_TIMEOUTS 256

/* A one-shot event of event_base_once, freed after its callback. */
struct event_once {
    LIST_ENTRY(event_once) next_once;
    struct event ev;
    void (*cb)(evutil_socket_t, short, void *);
    void *arg;
};
LIST_HEAD(event_once_list, event_once);

struct event_base {
    const struct eventop *evsel;
    void *evbase;
    struct event_changelist changelist;

    /* Signals ride on their own small backend (src/signal.c). */
    const struct eventop *evsigsel;
    struct evsig_info sig;

    /* Counts of events, split by kind; *_max are high-water marks. */
    int virtual_event_count;
    int virtual_event_count_max;
    int event_count;
    int event_count_max;
    int event_count_active;
    int event_count_active_max;

    /* Loop control flags, set by loopexit/loopbreak/loopcontinue. */
    int event_gotterm;
    int event_break;
    int event_continue;

    /* Priority of the callbacks now running, -1 outside. */
    int event_running_priority;
    int running_loop;
    int n_deferreds_queued;

    /* One FIFO of active callbacks per priority, plus those activated
     * for the next iteration (EVLIST_ACTIVE_LATER). */
    struct evcallback_list *activequeues;
    int nactivequeues;
    struct evcallback_list active_later_queue;

    struct common_timeout_list **common_timeout_queues;
    int n_common_timeouts;
    int n_common_timeouts_allocated;

    struct event_io_map io;
    struct event_signal_map sigmap;
    struct min_heap timeheap;

    /* Time cached at the start of each iteration (monotonic), 0 when not
     * cached; tv_clock_diff turns it into wall-clock time. */
    struct timeval tv_cache;
    struct evutil_monotonic_timer monotonic_timer;
    struct timeval tv_clock_diff;
    time_t last_updated_clock_diff;

    /* Threading. */
    unsigned long th_owner_id;
    void *th_base_lock;
    /* 1 when event_add and event_del may take their straight paths: no
     * lock, no notify function (nobody to wake) and no debug mode; kept
     * by event_base_note_plain_paths_. */
    int plain_paths;
    void *current_event_cond;
    int current_event_waiters;
    struct event_callback *current_event;

    enum event_base_config_flag flags;
    struct timeval max_dispatch_time;
    int max_dispatch_callbacks;
    int limit_callbacks_after_prio;

    /* Wake-up of a loop blocked in dispatch, from another thread. */
    int is_notify_pending;
    evutil_socket_t th_notify_fd[2];
    struct event th_notify;
    int (*th_notify_fn)(struct event_base *base);

    /* Readiness a backend has reported but not yet turned into
     * callbacks (see event_ready_defer_ok_): entries [ready_next,
     * ready_end) of the backend's own result array.  ready_run runs them
     * straight from that array; ready_flush activates the rest the usual
     * way.  ready_fd is the fd whose callback runs now (-1 before the
     * first). */
    int ready_next;
    int ready_end;
    evutil_socket_t ready_fd;
    /* ready_run returns how many events it handled (ran or queued) and
     * sets *nuser to how many non-internal callbacks it ran. */
    int (*ready_run)(struct event_base *base, int *nuser);
    void (*ready_flush)(struct event_base *base);
    /* The persistent event whose timeout re-arm (event_persist_closure)
     * waits until its callback returns, or NULL: see
     * event_ready_rearm_note_. */
    struct event *ready_rearm;
    /* The priority of every event of the results (all share one). */
    int ready_prio;

    struct evutil_weakrand_state weakrand_seed;
    struct event_once_list once_events;
#ifdef _WIN32
    /* The completion port (EVENT_BASE_FLAG_STARTUP_IOCP), or NULL; see
     * iocp-internal.h. */
    struct event_iocp_port *iocp;
#endif
};

struct event_config_entry {
    TAILQ_ENTRY(event_config_entry) next;
    const char *avoid_method;
};

struct event_config {
    TAILQ_HEAD(event_configq, event_config_entry) entries;
    int n_cpus_hint;
    struct timeval max_dispatch_interval;
    int max_dispatch_callbacks;
    int limit_callbacks_after_prio;
    enum event_method_feature require_features;
    enum event_base_config_flag flags;
};

#define N_ACTIVE_CALLBACKS(base) \
    ((base)->event_count_active)

/* Internal entry points shared between core files. */
int evsig_set_handler_(struct event_base *base, int evsignal,
    void (*fn)(int));
int evsig_restore_handler_(struct event_base *base, int evsignal);

/* event_add, also for an I/O event on a negative fd, which is then
 * added but never polled (evmap skips it): only its timeout or
 * event_active() runs it, as libevent does for any such event.  The
 * public event_add refuses one; a socket bufferevent without its socket
 * yet adds its events this way, so that its timeouts run. */
int event_add_any_fd_(struct event *ev, const struct timeval *tv);
int event_add_nolock_(struct event *ev, const struct timeval *tv,
    int tv_is_absolute);
/* Wait for a running callback of ev in another thread only when
 * blocking is EVENT_DEL_BLOCK; EVENT_DEL_AUTOBLOCK follows the event's
 * EV_FINALIZE flag. */
#define EVENT_DEL_NOBLOCK 0
#define EVENT_DEL_BLOCK 1
#define EVENT_DEL_AUTOBLOCK 2
#define EVENT_DEL_EVEN_IF_FINALIZING 3
int event_del_nolock_(struct event *ev, int blocking);
int event_remove_timer_nolock_(struct event *ev);
void event_active_nolock_(struct event *ev, int res, short count);
int event_callback_activate_(struct event_base *, struct event_callback *);
int event_callback_activate_nolock_(struct event_base *,
    struct event_callback *);
int event_callback_cancel_(struct event_base *base,
    struct event_callback *evcb);
int event_base_cancel_single_callback_(struct event_base *base,
    struct event_callback *evcb, int run_finalizers);
void event_base_add_virtual_(struct event_base *base);
void event_base_del_virtual_(struct event_base *base);
void event_callback_finalize_(struct event_base *base, unsigned flags,
    struct event_callback *evcb,
    void (*cb)(struct event_callback *, void *));
int event_callback_finalize_many_(struct event_base *base, int n_cbs,
    struct event_callback **evcb,
    void (*cb)(struct event_callback *, void *));
void event_active_later_(struct event *ev, int res);
void event_active_later_nolock_(struct event *ev, int res);
int event_callback_activate_later_nolock_(struct event_base *base,
    struct event_callback *evcb);
void event_callback_init_(struct event_base *base,
    struct event_callback *cb);

/* Put evcb, which is on no active queue, at the tail of its priority's
 * active queue, keeping the counts (event.c owns every other queue move;
 * this one is shared with evmap.c's hot path). */
static inline void
event_queue_insert_active_idle_(struct event_base *base,
    struct event_callback *evcb)
{
    ev_uint16_t flags = evcb->evcb_flags;
    struct evcallback_list *q;
    if (!(flags & EVLIST_INTERNAL) &&
        ++base->event_count > base->event_count_max)
        base->event_count_max = base->event_count;
    evcb->evcb_flags = flags | EVLIST_ACTIVE;
    if (++base->event_count_active > base->event_count_active_max)
        base->event_count_active_max = base->event_count_active;
    if (EVUTIL_UNLIKELY(evcb->evcb_pri >= base->nactivequeues))
        evcb->evcb_pri = (ev_uint8_t)(base->nactivequeues - 1);
    q = &base->activequeues[evcb->evcb_pri];
    TAILQ_INSERT_TAIL(q, evcb, evcb_active_next);
}

/* Raise the high-water marks of the event counts to the counts now.
 * event_active_io_in_loop_ leaves that to its caller's caller: the counts
 * only grow while a backend reports readiness under the base lock, so
 * one update when it is done gives the same maxima. */
static inline void
event_base_note_count_max_(struct event_base *base)
{
    if (base->event_count > base->event_count_max)
        base->event_count_max = base->event_count;
    if (base->event_count_active > base->event_count_active_max)
        base->event_count_active_max = base->event_count_active;
}

/* The maxima as if extra more events were active (a backend's results
 * that run straight from its array, one event per ready fd: libevent's
 * dispatch would have activated them). */
static inline void
event_base_note_count_max_plus_(struct event_base *base, int extra)
{
    base->event_count += extra;
    base->event_count_active += extra;
    event_base_note_count_max_(base);
    base->event_count -= extra;
    base->event_count_active -= extra;
}

/* Activate what the backend reported and has not run yet (before the
 * base is reinitialized or inspected; see event_ready_defer_ok_). */
static inline void
event_ready_flush_all_(struct event_base *base)
{
    if (EVUTIL_UNLIKELY(base->ready_end != 0))
        base->ready_flush(base);
}

/* End the current batch of callbacks after the one running now
 * (event_base_loopcontinue, or a more urgent event became active): the
 * results a backend's ready_run has not run yet go to the queue now, at
 * their place ahead of what the callback activates later, as libevent
 * had them all active before the first callback.  ready_run itself then
 * has nothing left to run, and needs no test of the flags after each
 * callback; event_base_loopbreak flushes the same way. */
static inline void
event_ask_continue_(struct event_base *base)
{
    base->event_continue = 1;
    event_ready_flush_all_(base);
}

/* Readiness of an I/O event reported from the loop thread (a backend's
 * dispatch): the common case inline, the rest in event_active_nolock_.
 * No wake-up is needed, the loop is the caller.  The callers of
 * evmap_io_active_ call event_base_note_count_max_ afterwards.  after
 * NULL puts an idle ev at the tail of its queue; otherwise after *after
 * (first when *after is NULL), and *after becomes ev: a backend's
 * ready_flush keeps its results in order ahead of what came later (see
 * event_ready_defer_ok_). */
static inline void
event_active_io_in_loop_(struct event_base *base, struct event *ev,
    short res, int from_dispatch, struct event_callback **after)
{
    ev_uint16_t flags = ev->ev_flags;
    if (EVUTIL_LIKELY(!(flags & (EVLIST_ACTIVE | EVLIST_ACTIVE_LATER |
                                    EVLIST_FINALIZING | EVLIST_DEL_WAITING)))) {
        struct evcallback_list *q;
        ev_uint8_t pri = ev->ev_pri;
        ev->ev_res = res;
        if (EVUTIL_UNLIKELY(pri >= base->nactivequeues))
            ev->ev_pri = pri = (ev_uint8_t)(base->nactivequeues - 1);
        /* A backend dispatches between batches of callbacks, when no
         * priority is running (event_running_priority is -1). */
        if (!from_dispatch && pri < base->event_running_priority)
            event_ask_continue_(base);
        base->event_count += !(flags & EVLIST_INTERNAL);
        base->event_count_active++;
        ev->ev_flags = flags | EVLIST_ACTIVE;
        q = &base->activequeues[pri];
        if (after == NULL) {
            TAILQ_INSERT_TAIL(q, &ev->ev_evcallback, evcb_active_next);
        } else {
            if (*after != NULL)
                TAILQ_INSERT_AFTER(q, *after, &ev->ev_evcallback,
                    evcb_active_next);
            else
                TAILQ_INSERT_HEAD(q, &ev->ev_evcallback, evcb_active_next);
            *after = &ev->ev_evcallback;
        }
    } else {
        event_active_nolock_(ev, res, 1);
    }
}

/* Deferred callbacks: an event_callback run from the loop at its
 * priority, after the current batch of callbacks.  Used by evbuffer and
 * bufferevent to run user callbacks outside the code that caused them. */
typedef void (*deferred_cb_fn)(struct event_callback *, void *);
void event_deferred_cb_init_(struct event_callback *, ev_uint8_t priority,
    deferred_cb_fn cb, void *arg);
/* event_priority_set that also moves an event waiting to run. */
int event_priority_set_queued_(struct event *ev, int pri);
void event_deferred_cb_set_priority_(struct event_callback *,
    ev_uint8_t priority);
/* Returns 1 if scheduled now, 0 if it already was. */
int event_deferred_cb_schedule_(struct event_base *,
    struct event_callback *);
void event_deferred_cb_cancel_(struct event_base *,
    struct event_callback *);

/* Time as the loop sees it (monotonic; cached during an iteration):
 * the cache inline, the clock through gettime_read_.  0, or -1 when the
 * clock fails. */
int gettime_read_(struct event_base *base, struct timeval *tp);
static inline int
gettime_(struct event_base *base, struct timeval *tp)
{
    if (base->tv_cache.tv_sec) {
        *tp = base->tv_cache;
        return 0;
    }
    return gettime_read_(base, tp);
}

/* The current base of the 1.4 API (event_init); exported, see FACTS.md. */
extern struct event_base *event_global_current_base_;

/* Debug-mode hooks (src/event-debug.c). */
extern int event_debug_mode_on_;
extern int event_debug_created_threadable_ctx_;
extern int event_debug_mode_too_late_;
void event_debug_note_setup_(const struct event *ev);
/* How many events debug mode knows of (for tests). */
unsigned event_debug_count_entries_(void);
void event_debug_note_teardown_(const struct event *ev);
void event_debug_note_add_(const struct event *ev);
void event_debug_note_del_(const struct event *ev);
/* 1 when debug mode knows ev (assigned and not torn down), else 0. */
int event_debug_is_setup_(const struct event *ev);
void event_debug_assert_is_setup_(const struct event *ev);
void event_debug_assert_not_added_(const struct event *ev);
void event_debug_assert_socket_nonblocking_(evutil_socket_t fd);
void event_debug_map_free_(void);
int event_debug_global_setup_locks_(const int enable_locks);
#define event_debug_on_() (EVUTIL_UNLIKELY(event_debug_mode_on_))

/* Sets base->plain_paths after a change of its lock or notify function
 * (debug mode cannot start once a base exists). */
static inline void
event_base_note_plain_paths_(struct event_base *base)
{
    base->plain_paths = !base->th_base_lock && !base->th_notify_fn &&
                        !event_debug_mode_on_;
}

/* Running callbacks straight from the backend's result array.
 *
 * libevent activates every ready event when the wait returns, then runs
 * the queue.  A backend may instead leave its results in place (setting
 * the ready_* fields) when event_ready_defer_ok_ holds (no debug mode,
 * no callback limits, nothing active yet) and the events of the results
 * share one priority (always so on a base with one).  After
 * the timers are processed, event_base_loop calls ready_run, which runs
 * each ready event's callback without the queue round trip.  What makes
 * that the same as activating everything first:
 *  - an fd appears once in a result, so changing the map of the fd whose
 *    callback runs now cannot touch a later entry;
 *  - any other change of the fd map (an event added or deleted, the fd
 *    closed and its number reused) first calls ready_flush, which
 *    activates the remaining entries as libevent would have at the
 *    start, so a deleted event is not run and a new one not run early;
 *  - activating an I/O event (event_active, a timeout) flushes too, so
 *    it is active already, at its place, as in libevent;
 *  - an entry the runner cannot take (several ready events on its fd,
 *    or one finalizing or not a plain I/O event), a break or a continue
 *    request flushes it and the rest;
 *  - a flush puts the remaining entries' events in the queue ahead of
 *    the timers expired in this iteration and of what callbacks
 *    activated, in the order of the results: where libevent's dispatch
 *    put them.
 * Timers expired in this iteration are queued before the direct
 * callbacks run, so they still run after the I/O callbacks; if one is
 * more urgent than the results' priority, everything goes through the
 * queue.  After user callbacks ran from the results, the loop runs no
 * less urgent priority in that iteration (libevent runs one priority
 * per iteration).  A test
 * (test-event's test_batch_same_as_queue) runs random scripts both ways
 * and compares the order of every callback. */
static inline int
event_ready_defer_ok_(const struct event_base *base)
{
    return base->event_count_active == 0 &&
        base->limit_callbacks_after_prio == INT_MAX &&
        !event_debug_mode_on_;
}

/* A callback run from the result array re-arms its persistent event's
 * timeout after it returns rather than before (libevent's order), since
 * most such callbacks set a new timeout themselves or delete the event.
 * Nothing can tell the difference: each call that changes or reads the
 * event's timeout settles the pending re-arm, by dropping it once it
 * has set the timeout anew (event_add's lock-free re-arm, event_del,
 * event_remove_timer) or by doing it first (any other event_add, which
 * may fail, event_active, event_pending, event_base_foreach_event,
 * event_base_dump_events). */
void event_ready_rearm_(struct event_base *base);
static inline void
event_ready_rearm_note_(struct event_base *base, const struct event *ev,
    int superseded)
{
    if (EVUTIL_UNLIKELY(base->ready_rearm == ev)) {
        if (superseded)
            base->ready_rearm = NULL;
        else
            event_ready_rearm_(base);
    }
}

/* Called before the fd map of fd changes: see above. */
static inline void
event_ready_note_change_(struct event_base *base, evutil_socket_t fd)
{
    if (EVUTIL_UNLIKELY(base->ready_end != 0) && fd != base->ready_fd)
        base->ready_flush(base);
}

/* Whether the environment variable name is set for base: never when the
 * base was made with EVENT_BASE_FLAG_IGNORE_ENV (evutil_getenv_ also
 * ignores it in set-ID processes). */
static inline int
event_base_env_set_(const struct event_base *base, const char *name)
{
    return !(base->flags & EVENT_BASE_FLAG_IGNORE_ENV) &&
           evutil_getenv_(name) != NULL;
}

#ifdef __cplusplus
}
#endif

#endif /* EVENT_INTERNAL_H_INCLUDED_ */

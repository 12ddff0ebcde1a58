/*
 * event2/event.h: the event loop.
 *
 * An event_base runs the loop; a struct event watches one fd, signal or
 * timeout and calls a callback when it fires.  struct event_base and
 * struct event_config are opaque; struct event's layout is public only in
 * event2/event_struct.h, for code that embeds events in its own structs.
 */
#ifndef EVENT2_EVENT_H_INCLUDED_
#define EVENT2_EVENT_H_INCLUDED_

/** @file event2/event.h
 * Creating and running event loops; creating, adding and removing events.
 */

#include <event2/visibility.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <event2/event-config.h>
#ifdef EVENT__HAVE_SYS_TYPES_H
#include <sys/types.h>
#endif
#ifdef EVENT__HAVE_SYS_TIME_H
#include <sys/time.h>
#endif
#include <stdio.h>

#include <event2/util.h>

/** An event loop, with its backend, timers and the events it watches. */
struct event_base;
/** One watched condition (fd readiness, signal or timeout) and callback. */
struct event;
/** Settings for event_base_new_with_config(). */
struct event_config;

/**
 * Turn on debug mode, which catches misuse of events (adding one that was
 * never assigned, reassigning a pending one...).  Call before creating any
 * event or base; it costs memory and time.
 */
EVENT2_EXPORT_SYMBOL
void event_enable_debug_mode(void);

/**
 * Tell debug mode that a non-pending event made by event_assign() is gone,
 * so its memory can be reused.  No effect outside debug mode.
 */
EVENT2_EXPORT_SYMBOL
void event_debug_unassign(struct event *);

/** Create an event_base with the default settings; NULL on failure. */
EVENT2_EXPORT_SYMBOL
struct event_base *event_base_new(void);

/**
 * Re-create the backend's kernel state of @p base after fork(), in the
 * child.  Returns 0 on success, -1 on failure.
 */
EVENT2_EXPORT_SYMBOL
int event_reinit(struct event_base *base);

/** Run the loop until no events are left or it is told to exit. */
EVENT2_EXPORT_SYMBOL
int event_base_dispatch(struct event_base *);

/** The name of the backend ("epoll", "poll", "select"...) of a base. */
EVENT2_EXPORT_SYMBOL
const char *event_base_get_method(const struct event_base *);

/**
 * The NULL-terminated list of backends compiled in, in preference order.
 * The array is static; do not free it.
 */
EVENT2_EXPORT_SYMBOL
const char **event_get_supported_methods(void);

/**
 * The monotonic time of @p base's clock, cached for this loop iteration
 * when caching is on.  Returns 0 on success, -1 on failure.
 */
EVENT2_EXPORT_SYMBOL
int event_gettime_monotonic(struct event_base *base, struct timeval *tp);

/**
 * @name Flags for event_base_get_num_events() and
 * event_base_get_max_events()
 * @{
 */
/** Count active events. */
#define EVENT_BASE_COUNT_ACTIVE 1U
/** Count internal "virtual" events that keep the loop running. */
#define EVENT_BASE_COUNT_VIRTUAL 2U
/** Count added (pending) events. */
#define EVENT_BASE_COUNT_ADDED 4U
/** @} */

/** The number of events of the kinds in @p type (EVENT_BASE_COUNT_*). */
EVENT2_EXPORT_SYMBOL
int event_base_get_num_events(struct event_base *, unsigned int);

/**
 * The largest number of events of the given kinds seen at once; a nonzero
 * @p clear resets the maximum afterwards.
 */
EVENT2_EXPORT_SYMBOL
int event_base_get_max_events(struct event_base *, unsigned int, int);

/** Allocate an empty configuration; NULL on failure. */
EVENT2_EXPORT_SYMBOL
struct event_config *event_config_new(void);

/** Free a configuration. */
EVENT2_EXPORT_SYMBOL
void event_config_free(struct event_config *cfg);

/**
 * Never use the backend called @p method (e.g. "select").  Returns 0 on
 * success, -1 on failure.
 */
EVENT2_EXPORT_SYMBOL
int event_config_avoid_method(struct event_config *cfg, const char *method);

/** Capabilities a backend may have; see event_base_get_features(). */
enum event_method_feature {
    /** Edge-triggered events (EV_ET). */
    EV_FEATURE_ET = 0x01,
    /** O(1) add, delete and dispatch of one event. */
    EV_FEATURE_O1 = 0x02,
    /** Any kind of fd, not only sockets. */
    EV_FEATURE_FDS = 0x04,
    /** Notices a closed connection without reading (EV_CLOSED). */
    EV_FEATURE_EARLY_CLOSE = 0x08
};

/** Flags for event_config_set_flag(). */
enum event_base_config_flag {
    /** No lock: the base must only be used from one thread. */
    EVENT_BASE_FLAG_NOLOCK = 0x01,
    /** Ignore the EVENT_* environment variables. */
    EVENT_BASE_FLAG_IGNORE_ENV = 0x02,
    /** Windows only: start the IOCP machinery at creation. */
    EVENT_BASE_FLAG_STARTUP_IOCP = 0x04,
    /** Read the clock after every callback instead of once per iteration. */
    EVENT_BASE_FLAG_NO_CACHE_TIME = 0x08,
    /** Let the epoll backend batch fd changes through the changelist. */
    EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST = 0x10,
    /** Use a precise (possibly slower) monotonic clock. */
    EVENT_BASE_FLAG_PRECISE_TIMER = 0x20
};

/** The EV_FEATURE_* bits the backend of @p base provides. */
EVENT2_EXPORT_SYMBOL
int event_base_get_features(const struct event_base *base);

/**
 * Accept only backends that provide every EV_FEATURE_* bit in @p feature.
 * Returns 0 on success, -1 on failure.
 */
EVENT2_EXPORT_SYMBOL
int event_config_require_features(struct event_config *cfg, int feature);

/** Add EVENT_BASE_FLAG_* bits to the configuration.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int event_config_set_flag(struct event_config *cfg, int flag);

/** Hint how many CPUs the base should use (Windows IOCP only). */
EVENT2_EXPORT_SYMBOL
int event_config_set_num_cpus_hint(struct event_config *cfg, int cpus);

/**
 * Bound the work done between checks for new events: after at most
 * @p max_callbacks callbacks, or @p max_interval of time, the loop looks
 * for events again.  Only priorities numerically >= @p min_priority are
 * limited.  A NULL interval or negative count means no limit.
 * Returns 0 on success, -1 on failure.
 */
EVENT2_EXPORT_SYMBOL
int event_config_set_max_dispatch_interval(struct event_config *cfg,
    const struct timeval *max_interval, int max_callbacks,
    int min_priority);

/** Create a base honouring @p cfg; NULL if no backend fits or on error. */
EVENT2_EXPORT_SYMBOL
struct event_base *event_base_new_with_config(const struct event_config *);

/**
 * Free a base, running the finalizers of events still pending in it.
 * Events themselves and their fds are not freed or closed.
 */
EVENT2_EXPORT_SYMBOL
void event_base_free(struct event_base *);

/** As event_base_free(), but without running pending finalizers. */
EVENT2_EXPORT_SYMBOL
void event_base_free_nofinalize(struct event_base *);

/**
 * @name Log severities
 * Passed to an event_log_cb.
 * @{
 */
#define EVENT_LOG_DEBUG 0
#define EVENT_LOG_MSG 1
#define EVENT_LOG_WARN 2
#define EVENT_LOG_ERR 3
/** @} */

/* Deprecated spellings of the log severities. */
#define _EVENT_LOG_DEBUG EVENT_LOG_DEBUG
#define _EVENT_LOG_MSG EVENT_LOG_MSG
#define _EVENT_LOG_WARN EVENT_LOG_WARN
#define _EVENT_LOG_ERR EVENT_LOG_ERR

/** Receives the library's log messages; must not call into the library. */
typedef void (*event_log_cb)(int severity, const char *msg);

/** Send log messages to @p cb instead of stderr (NULL restores stderr). */
EVENT2_EXPORT_SYMBOL
void event_set_log_callback(event_log_cb cb);

/** Called on a fatal internal error; it must not return. */
typedef void (*event_fatal_cb)(int err);

/**
 * Call @p cb instead of exit() when the library hits an unrecoverable
 * error.  The library is unusable afterwards.
 */
EVENT2_EXPORT_SYMBOL
void event_set_fatal_callback(event_fatal_cb cb);

/** Every debug log category, for event_enable_debug_logging(). */
#define EVENT_DBG_ALL 0xffffffffu
/** No debug logging. */
#define EVENT_DBG_NONE 0

/**
 * Turn debug log messages on (EVENT_DBG_ALL) or off (EVENT_DBG_NONE).
 * They are very verbose.
 */
EVENT2_EXPORT_SYMBOL
void event_enable_debug_logging(ev_uint32_t which);

/**
 * Move a non-pending event to another base.  Returns 0 on success, -1 on
 * failure.
 */
EVENT2_EXPORT_SYMBOL
int event_base_set(struct event_base *, struct event *);

/**
 * @name Flags for event_base_loop()
 * @{
 */
/** Wait for events once, run the active ones, then return. */
#define EVLOOP_ONCE 0x01
/** Run what is active now without waiting, then return. */
#define EVLOOP_NONBLOCK 0x02
/** Keep running even with no events pending, until told to exit. */
#define EVLOOP_NO_EXIT_ON_EMPTY 0x04
/** @} */

/**
 * Run the loop with EVLOOP_* @p flags.
 * @return 0 after a normal exit, 1 when it stopped because no events were
 *     pending or active, -1 on error
 */
EVENT2_EXPORT_SYMBOL
int event_base_loop(struct event_base *, int);

/**
 * Stop the loop after @p tv has passed (NULL: right away), once the
 * callbacks active at that moment have run.  Returns 0 or -1.
 */
EVENT2_EXPORT_SYMBOL
int event_base_loopexit(struct event_base *, const struct timeval *);

/**
 * Stop the loop as soon as the running callback returns, leaving other
 * active events for later.  Returns 0 or -1.
 */
EVENT2_EXPORT_SYMBOL
int event_base_loopbreak(struct event_base *);

/**
 * Make the loop look for new events again as soon as the running callback
 * returns.  Returns 0 or -1.
 */
EVENT2_EXPORT_SYMBOL
int event_base_loopcontinue(struct event_base *);

/** True when the last loop ended because of event_base_loopexit(). */
EVENT2_EXPORT_SYMBOL
int event_base_got_exit(struct event_base *);

/** True when the last loop ended because of event_base_loopbreak(). */
EVENT2_EXPORT_SYMBOL
int event_base_got_break(struct event_base *);

/**
 * @name Event flags
 * What an event waits for (and what its callback is told happened).
 * @{
 */
/** The timeout expired. */
#define EV_TIMEOUT 0x01
/** The fd is readable. */
#define EV_READ 0x02
/** The fd is writable. */
#define EV_WRITE 0x04
/** The signal (given in place of the fd) arrived. */
#define EV_SIGNAL 0x08
/** Stay pending after firing, until event_del(). */
#define EV_PERSIST 0x10
/** Edge-triggered, where the backend supports it. */
#define EV_ET 0x20
/** event_del() must not wait for a running callback; see event_finalize(). */
#define EV_FINALIZE 0x40
/** The peer closed the connection (EV_FEATURE_EARLY_CLOSE backends). */
#define EV_CLOSED 0x80
/** @} */

/**
 * @name Timer and signal shorthands
 * @{
 */
#define evtimer_assign(ev, b, cb, arg)                                        \
    event_assign((ev), (b), -1, 0, (cb), (arg))
#define evtimer_new(b, cb, arg) event_new((b), -1, 0, (cb), (arg))
#define evtimer_add(ev, tv) event_add((ev), (tv))
#define evtimer_del(ev) event_del(ev)
#define evtimer_pending(ev, tv) event_pending((ev), EV_TIMEOUT, (tv))
#define evtimer_initialized(ev) event_initialized(ev)

#define evsignal_add(ev, tv) event_add((ev), (tv))
#define evsignal_assign(ev, b, x, cb, arg)                                    \
    event_assign((ev), (b), (x), EV_SIGNAL|EV_PERSIST, cb, (arg))
#define evsignal_new(b, x, cb, arg)                                           \
    event_new((b), (x), EV_SIGNAL|EV_PERSIST, (cb), (arg))
#define evsignal_del(ev) event_del(ev)
#define evsignal_pending(ev, tv) event_pending((ev), EV_SIGNAL, (tv))
#define evsignal_initialized(ev) event_initialized(ev)

/* User-triggered events: fire only through evuser_trigger(). */
#define evuser_new(b, cb, arg) event_new((b), -1, 0, (cb), (arg))
#define evuser_del(ev) event_del(ev)
#define evuser_pending(ev, tv) event_pending((ev), 0, (tv))
#define evuser_initialized(ev) event_initialized(ev)
#define evuser_trigger(ev) event_active((ev), 0, 0)
/** @} */

/**
 * An event callback: receives the fd (or signal number), the EV_* flags
 * that fired and the user argument.
 */
typedef void (*event_callback_fn)(evutil_socket_t, short, void *);

/**
 * A placeholder argument for event_new() and event_assign(): the callback
 * then receives the event itself as its argument.
 */
EVENT2_EXPORT_SYMBOL
void *event_self_cbarg(void);

/**
 * Allocate and assign an event watching @p fd (or a signal, or -1 for a
 * pure timer) for the EV_* @p events.  Add it with event_add().
 * Returns NULL on failure.
 */
EVENT2_EXPORT_SYMBOL
struct event *event_new(struct event_base *, evutil_socket_t, short,
    event_callback_fn, void *);

/**
 * Set up caller-owned storage @p ev as with event_new().  The event must
 * not be pending.  Returns 0 on success, -1 on invalid arguments.
 */
EVENT2_EXPORT_SYMBOL
int event_assign(struct event *, struct event_base *, evutil_socket_t,
    short, event_callback_fn, void *);

/** Delete (if pending) and free an event from event_new(). */
EVENT2_EXPORT_SYMBOL
void event_free(struct event *);

/** Called once an event being finalized can no longer run. */
typedef void (*event_finalize_callback_fn)(struct event *, void *);

/**
 * Delete @p ev without waiting for its running callback, then call @p cb
 * from the loop once the event is idle.  @p flags must be 0.
 * Returns 0 or -1.
 */
EVENT2_EXPORT_SYMBOL
int event_finalize(unsigned, struct event *, event_finalize_callback_fn);

/** As event_finalize(), then free the event after @p cb returns. */
EVENT2_EXPORT_SYMBOL
int event_free_finalize(unsigned, struct event *,
    event_finalize_callback_fn);

/**
 * Run @p cb once when @p fd is ready for @p events or @p timeout passes,
 * without the caller managing an event.  EV_SIGNAL and EV_PERSIST are not
 * allowed.  Returns 0 on success, -1 on failure.
 */
EVENT2_EXPORT_SYMBOL
int event_base_once(struct event_base *, evutil_socket_t, short,
    event_callback_fn, void *, const struct timeval *);

/**
 * Make @p ev pending, with a timeout of @p timeout (NULL: none).  Adding a
 * pending event replaces its timeout.  Returns 0 on success, -1 on error.
 */
EVENT2_EXPORT_SYMBOL
int event_add(struct event *ev, const struct timeval *timeout);

/**
 * Cancel the timeout of a pending event, keeping its fd or signal
 * watch.  Returns 0 on success, -1 on error.
 */
EVENT2_EXPORT_SYMBOL
int event_remove_timer(struct event *ev);

/**
 * Make @p ev non-pending and non-active.  From another thread this waits
 * for a running callback of the event to finish (unless EV_FINALIZE).
 * Returns 0 on success, -1 on error.
 */
EVENT2_EXPORT_SYMBOL
int event_del(struct event *);

/** As event_del(), but never waits for a running callback. */
EVENT2_EXPORT_SYMBOL
int event_del_noblock(struct event *ev);

/** As event_del(), but always waits, even with EV_FINALIZE. */
EVENT2_EXPORT_SYMBOL
int event_del_block(struct event *ev);

/**
 * Make @p ev active as if @p res (EV_* bits) had happened, even if it is
 * not pending.  @p ncalls is only meaningful for signals (obsolete).
 */
EVENT2_EXPORT_SYMBOL
void event_active(struct event *ev, int res, short ncalls);

/**
 * Which of @p events @p ev is pending or active for.  With EV_TIMEOUT in
 * @p events and non-NULL @p tv, also store the expiry time there.
 */
EVENT2_EXPORT_SYMBOL
int event_pending(const struct event *ev, short events, struct timeval *tv);

/** The event whose callback is running in @p base's thread, or NULL. */
EVENT2_EXPORT_SYMBOL
struct event *event_base_get_running_event(struct event_base *base);

/**
 * True when @p ev has been assigned.  Only meaningful for storage that
 * was zeroed or assigned; no use on garbage.
 */
EVENT2_EXPORT_SYMBOL
int event_initialized(const struct event *ev);

/** The signal number of a signal event. */
#define event_get_signal(ev) ((int)event_get_fd(ev))

/** The fd (or signal number) an event watches. */
EVENT2_EXPORT_SYMBOL
evutil_socket_t event_get_fd(const struct event *ev);

/** The base an event belongs to. */
EVENT2_EXPORT_SYMBOL
struct event_base *event_get_base(const struct event *ev);

/** The EV_* flags an event was assigned with. */
EVENT2_EXPORT_SYMBOL
short event_get_events(const struct event *ev);

/** The callback of an event. */
EVENT2_EXPORT_SYMBOL
event_callback_fn event_get_callback(const struct event *ev);

/** The callback argument of an event. */
EVENT2_EXPORT_SYMBOL
void *event_get_callback_arg(const struct event *ev);

/** The priority of an event. */
EVENT2_EXPORT_SYMBOL
int event_get_priority(const struct event *ev);

/**
 * Read back everything event_assign() was given; any out pointer may be
 * NULL.
 */
EVENT2_EXPORT_SYMBOL
void event_get_assignment(const struct event *event,
    struct event_base **base_out, evutil_socket_t *fd_out,
    short *events_out, event_callback_fn *callback_out, void **arg_out);

/**
 * sizeof(struct event) as the library sees it (128 on x86-64), for code
 * that allocates events without event_new().
 */
EVENT2_EXPORT_SYMBOL
size_t event_get_struct_event_size(void);

/** The library's version string, e.g. "2.1.12-stable". */
EVENT2_EXPORT_SYMBOL
const char *event_get_version(void);

/**
 * The library's version as a number: 0xMMmmpp00 for version MM.mm.pp
 * (the low byte is 00 for stable releases).
 */
EVENT2_EXPORT_SYMBOL
ev_uint32_t event_get_version_number(void);

/** The version string of the headers in use. */
#define LIBEVENT_VERSION EVENT__VERSION
/** The numeric version of the headers in use. */
#define LIBEVENT_VERSION_NUMBER EVENT__NUMERIC_VERSION

/** The largest number of priorities a base may have. */
#define EVENT_MAX_PRIORITIES 256

/**
 * Give @p base @p npriorities priority levels (0 is the most urgent).
 * Only allowed while no event is active.  Returns 0 or -1.
 */
EVENT2_EXPORT_SYMBOL
int event_base_priority_init(struct event_base *, int);

/** The number of priority levels of a base. */
EVENT2_EXPORT_SYMBOL
int event_base_get_npriorities(struct event_base *eb);

/**
 * Set the priority of a non-active event.  Returns 0 on success, -1 on
 * failure.
 */
EVENT2_EXPORT_SYMBOL
int event_priority_set(struct event *, int);

/**
 * Return a special timeval standing for @p duration that makes many events
 * sharing that timeout cheaper (a queue instead of the heap).  Pass the
 * result to event_add().  NULL on failure.
 */
EVENT2_EXPORT_SYMBOL
const struct timeval *event_base_init_common_timeout(struct event_base *base,
    const struct timeval *duration);

#if !defined(EVENT__DISABLE_MM_REPLACEMENT)
/**
 * Replace the allocator used for all library memory.  Call before any
 * other library function; all three functions must be consistent.
 */
EVENT2_EXPORT_SYMBOL
void event_set_mem_functions(void *(*malloc_fn)(size_t sz),
    void *(*realloc_fn)(void *ptr, size_t sz), void (*free_fn)(void *ptr));
/** Defined when event_set_mem_functions() is available. */
#define EVENT_SET_MEM_FUNCTIONS_IMPLEMENTED
#endif

/** Write a description of every event of @p base to @p output. */
EVENT2_EXPORT_SYMBOL
void event_base_dump_events(struct event_base *, FILE *);

/** Activate the events of @p base on @p fd that wait for @p events. */
EVENT2_EXPORT_SYMBOL
void event_base_active_by_fd(struct event_base *base, evutil_socket_t fd,
    short events);

/** Activate the events of @p base that wait for signal @p sig. */
EVENT2_EXPORT_SYMBOL
void event_base_active_by_signal(struct event_base *base, int sig);

/**
 * Visitor for event_base_foreach_event(); return nonzero to stop.  It must
 * not add, delete or free events.
 */
typedef int (*event_base_foreach_event_cb)(const struct event_base *,
    const struct event *, void *);

/**
 * Call @p fn on every pending or active event of @p base, with the base
 * locked.  Returns 0, or the first nonzero value @p fn returned.
 */
EVENT2_EXPORT_SYMBOL
int event_base_foreach_event(struct event_base *base,
    event_base_foreach_event_cb fn, void *arg);

/**
 * The wall-clock time as cached at the start of this loop iteration (the
 * current time when no cache is in effect).  Returns 0 or -1.
 */
EVENT2_EXPORT_SYMBOL
int event_base_gettimeofday_cached(struct event_base *base,
    struct timeval *tv);

/** Refresh @p base's cached time now.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int event_base_update_cache_time(struct event_base *base);

/**
 * Free the library's global state (locks, debug maps...).  Only for
 * leak checkers at exit; nothing may be used afterwards.
 */
EVENT2_EXPORT_SYMBOL
void libevent_global_shutdown(void);

#ifdef __cplusplus
}
#endif

#endif /* EVENT2_EVENT_H_INCLUDED_ */

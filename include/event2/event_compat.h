/*
 * event2/event_compat.h: the libevent 1.x event API.
 *
 * These calls act on a process-wide "current" base, set by event_init().
 * They are kept for old programs; new code should pass an event_base
 * explicitly (event2/event.h).
 */
#ifndef EVENT2_EVENT_COMPAT_H_INCLUDED_
#define EVENT2_EVENT_COMPAT_H_INCLUDED_

/** @file event2/event_compat.h
 * Deprecated event functions that use the global current base.
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

#include <event2/util.h>

struct event;
struct event_base;

/**
 * Create a base and make it the current base used by the calls below.
 * Deprecated: use event_base_new().
 */
EVENT2_EXPORT_SYMBOL
struct event_base *event_init(void);

/** event_base_dispatch() on the current base. */
EVENT2_EXPORT_SYMBOL
int event_dispatch(void);

/** event_base_loop() on the current base. */
EVENT2_EXPORT_SYMBOL
int event_loop(int);

/** event_base_loopexit() on the current base. */
EVENT2_EXPORT_SYMBOL
int event_loopexit(const struct timeval *);

/** event_base_loopbreak() on the current base. */
EVENT2_EXPORT_SYMBOL
int event_loopbreak(void);

/** event_base_once() on the current base. */
EVENT2_EXPORT_SYMBOL
int event_once(evutil_socket_t, short,
    void (*)(evutil_socket_t, short, void *), void *,
    const struct timeval *);

/** event_base_get_method() of the current base. */
EVENT2_EXPORT_SYMBOL
const char *event_get_method(void);

/** event_base_priority_init() on the current base. */
EVENT2_EXPORT_SYMBOL
int event_priority_init(int);

/**
 * Prepare @p ev for the current base, as event_assign() does.  Unlike
 * event_assign() it cannot report errors.
 */
EVENT2_EXPORT_SYMBOL
void event_set(struct event *, evutil_socket_t, short,
    void (*)(evutil_socket_t, short, void *), void *);

/** @name 1.x timer and signal shorthands
 * @{
 */
#define evtimer_set(ev, cb, arg) event_set((ev), -1, 0, (cb), (arg))
#define evsignal_set(ev, x, cb, arg)                                          \
    event_set((ev), (x), EV_SIGNAL|EV_PERSIST, (cb), (arg))

#define timeout_add(ev, tv) event_add((ev), (tv))
#define timeout_set(ev, cb, arg) event_set((ev), -1, 0, (cb), (arg))
#define timeout_del(ev) event_del(ev)
#define timeout_pending(ev, tv) event_pending((ev), EV_TIMEOUT, (tv))
#define timeout_initialized(ev) event_initialized(ev)

#define signal_add(ev, tv) event_add((ev), (tv))
#define signal_set(ev, x, cb, arg)                                            \
    event_set((ev), (x), EV_SIGNAL|EV_PERSIST, (cb), (arg))
#define signal_del(ev) event_del(ev)
#define signal_pending(ev, tv) event_pending((ev), EV_SIGNAL, (tv))
#define signal_initialized(ev) event_initialized(ev)
/** @} */

#ifndef EVENT_FD
/** The fd of an event (1.x name). */
#define EVENT_FD(ev) ((int)event_get_fd(ev))
/** The signal number of an event (1.x name). */
#define EVENT_SIGNAL(ev) event_get_signal(ev)
#endif

#ifdef __cplusplus
}
#endif

#endif /* EVENT2_EVENT_COMPAT_H_INCLUDED_ */

/*
 * event2/event_struct.h: the layout of struct event.
 *
 * Only for code that must embed a struct event in its own structures
 * (and for binaries built that way, which depend on this exact layout:
 * 128 bytes on x86-64).  Everything else should treat events as opaque and
 * use event_new() and the accessors of event2/event.h.  The fields are the
 * library's; do not touch them.
 *
 * The lists are <sys/queue.h> TAILQs and LISTs.  When the program has not
 * included <sys/queue.h>, equivalent TAILQ_ENTRY/TAILQ_HEAD/LIST_ENTRY/
 * LIST_HEAD macros are supplied here and removed at the end of the file.
 */
#ifndef EVENT2_EVENT_STRUCT_H_INCLUDED_
#define EVENT2_EVENT_STRUCT_H_INCLUDED_

/** @file event2/event_struct.h
 * Public layout of struct event and struct event_callback.
 */

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
/* libevent 2.1 makes struct evkeyvalq visible through this header. */
#include <event2/keyvalq_struct.h>

/**
 * @name Event list flags (evcb_flags)
 * Which of the library's lists an event is on.
 * @{
 */
#define EVLIST_TIMEOUT 0x01
#define EVLIST_INSERTED 0x02
#define EVLIST_SIGNAL 0x04
#define EVLIST_ACTIVE 0x08
#define EVLIST_INTERNAL 0x10
#define EVLIST_ACTIVE_LATER 0x20
#define EVLIST_FINALIZING 0x40
#define EVLIST_INIT 0x80
#define EVLIST_ALL 0xff
/** @} */

#ifndef TAILQ_ENTRY
#define EVENT_DEFINED_TQENTRY_
#define TAILQ_ENTRY(type)                                                     \
    struct {                                                                  \
        struct type *tqe_next;                                                \
        struct type **tqe_prev;                                               \
    }
#endif

#ifndef TAILQ_HEAD
#define EVENT_DEFINED_TQHEAD_
#define TAILQ_HEAD(name, type)                                                \
    struct name {                                                             \
        struct type *tqh_first;                                               \
        struct type **tqh_last;                                               \
    }
#endif

#ifndef LIST_ENTRY
#define EVENT_DEFINED_LISTENTRY_
#define LIST_ENTRY(type)                                                      \
    struct {                                                                  \
        struct type *le_next;                                                 \
        struct type **le_prev;                                                \
    }
#endif

#ifndef LIST_HEAD
#define EVENT_DEFINED_LISTHEAD_
#define LIST_HEAD(name, type)                                                 \
    struct name {                                                             \
        struct type *lh_first;                                                \
    }
#endif

struct event;
struct event_base;

/**
 * The part of an event that the active queues deal with; also used on its
 * own for the library's deferred callbacks.  40 bytes on x86-64.
 */
struct event_callback {
    /** Link in the active queue of its priority. */
    TAILQ_ENTRY(event_callback) evcb_active_next;
    /** EVLIST_* bits. */
    short evcb_flags;
    /** Priority: 0 runs first. */
    ev_uint8_t evcb_pri;
    /** How the callback is invoked (internal code). */
    ev_uint8_t evcb_closure;
    /** The function to call; which member depends on evcb_closure. */
    union {
        void (*evcb_callback)(evutil_socket_t, short, void *);
        void (*evcb_selfcb)(struct event_callback *, void *);
        void (*evcb_evfinalize)(struct event *, void *);
        void (*evcb_cbfinalize)(struct event_callback *, void *);
    } evcb_cb_union;
    /** The user argument. */
    void *evcb_arg;
};

/** One event; 128 bytes on x86-64. */
struct event {
    /** Callback, flags, priority and active-queue link. */
    struct event_callback ev_evcallback;

    /** Where the timeout is kept: a common-timeout queue or the heap. */
    union {
        TAILQ_ENTRY(event) ev_next_with_common_timeout;
        int min_heap_idx;
    } ev_timeout_pos;
    /** The fd, or signal number, watched. */
    evutil_socket_t ev_fd;

    /** The base the event belongs to. */
    struct event_base *ev_base;

    /** State specific to I/O or to signal events. */
    union {
        /** I/O events. */
        struct {
            /** Link among the events of the same fd. */
            LIST_ENTRY(event) ev_io_next;
            /** The relative timeout of a persistent event. */
            struct timeval ev_timeout;
        } ev_io;

        /** Signal events. */
        struct {
            /** Link among the events of the same signal. */
            LIST_ENTRY(event) ev_signal_next;
            /** Callback invocations still owed. */
            short ev_ncalls;
            /** Points at ev_ncalls while the callback runs (or NULL). */
            short *ev_pncalls;
        } ev_signal;
    } ev_;

    /** The EV_* flags asked for. */
    short ev_events;
    /** The EV_* flags that fired, passed to the callback. */
    short ev_res;
    /** The absolute expiry time when a timeout is pending. */
    struct timeval ev_timeout;
};

/** A queue of events. */
TAILQ_HEAD(event_list, event);

#ifdef EVENT_DEFINED_TQENTRY_
#undef TAILQ_ENTRY
#undef EVENT_DEFINED_TQENTRY_
#endif
#ifdef EVENT_DEFINED_TQHEAD_
#undef TAILQ_HEAD
#undef EVENT_DEFINED_TQHEAD_
#endif

/** A list of events. */
LIST_HEAD(event_dlist, event);

#ifdef EVENT_DEFINED_LISTENTRY_
#undef LIST_ENTRY
#undef EVENT_DEFINED_LISTENTRY_
#endif
#ifdef EVENT_DEFINED_LISTHEAD_
#undef LIST_HEAD
#undef EVENT_DEFINED_LISTHEAD_
#endif

#ifdef __cplusplus
}
#endif

#endif /* EVENT2_EVENT_STRUCT_H_INCLUDED_ */

/*
 * bufferevent-internal.h: the private side of every bufferevent.
 *
 * Each implementation (socket, pair, filter; later openssl) allocates a
 * struct that begins, at ops->mem_offset, with a struct bufferevent_private,
 * which itself begins with the public struct bufferevent.  The public part
 * is not a shadow: old binaries read bev->input, bev->enabled, bev->readcb
 * and pass &bev->ev_write to event_*() (see FACTS.md), so the real buffers,
 * events, watermarks, timeouts and callbacks live there and every callback
 * is read from the public struct at the moment it is called.
 *
 * Invariants:
 *  - refcnt counts the user's reference (dropped by bufferevent_free) plus
 *    one per running internal call (event callbacks, deferred runs,
 *    lookups) and per bufferevent_incref().  A queued deferred callback
 *    holds none.  When refcnt reaches zero the implementation is unlinked
 *    at once, the events and the deferred callback are cancelled, and the
 *    memory is released from the loop by a finalizer, after any of its
 *    callbacks that is running has returned (event_base_free runs pending
 *    finalizers).
 *  - lock (NULL without threads) is recursive and is shared with both
 *    evbuffers; everything below is guarded by it.  Lock order: bufferevent
 *    lock, then rate-limit group lock, then the base lock.
 *  - bev.enabled is what the user asked for; the transport is active in a
 *    direction only when it is enabled and not suspended for any reason
 *    (read_suspended / write_suspended are bit sets of BEV_SUSPEND_*).
 *
 * Names follow libevent 2.1's internals, because the OpenSSL and HTTP
 * layers are written against them (Debian exports several of them; we keep
 * them hidden until those layers exist).
 */
#ifndef BUFFEREVENT_INTERNAL_H_INCLUDED_
#define BUFFEREVENT_INTERNAL_H_INCLUDED_

#include "event2/event-config.h"
#include "event2/util.h"
#include "event2/event_struct.h"
#include "event2/bufferevent.h"
#include "event2/bufferevent_struct.h"

#include <sys/queue.h>
#include <sys/types.h>
#include <netinet/in.h>

#include "evthread-internal.h"
#include "util-internal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reasons for which reading or writing is held back even though the user
 * enabled it.  Each is set and cleared independently. */
#define BEV_SUSPEND_WM 0x01        /* input reached the high watermark */
#define BEV_SUSPEND_BW 0x02        /* own token bucket is empty */
#define BEV_SUSPEND_BW_GROUP 0x04  /* group token bucket is empty */
#define BEV_SUSPEND_LOOKUP 0x08    /* waiting for a hostname lookup */
#define BEV_SUSPEND_FILT_READ 0x10 /* a filter on top is not reading */
/* Every reason above (a new one goes here too). */
#define BEV_SUSPEND_ALL_                                                      \
    (BEV_SUSPEND_WM | BEV_SUSPEND_BW | BEV_SUSPEND_BW_GROUP |                 \
        BEV_SUSPEND_LOOKUP | BEV_SUSPEND_FILT_READ)
/* bufferevent_private keeps the reasons in bit-fields this wide (it keeps
 * the struct small); the typedef after it fails to compile if they do not
 * fit. */
#define BEV_SUSPEND_BITS 5
typedef char bev_suspend_flags_fit_[
    (BEV_SUSPEND_ALL_ >> BEV_SUSPEND_BITS) == 0 ? 1 : -1];
typedef ev_uint8_t bufferevent_suspend_flags;

/* Default cap on one read or write of a socket bufferevent. */
#define MAX_SINGLE_READ_DEFAULT 16384
#define MAX_SINGLE_WRITE_DEFAULT 16384

/* Settings of a token bucket, as ev_token_bucket_cfg_new() was given
 * them; rates and maxima are in bytes per tick. */
struct ev_token_bucket_cfg {
    size_t read_rate;
    size_t read_maximum;
    size_t write_rate;
    size_t write_maximum;
    struct timeval tick_timeout;
    unsigned msec_per_tick;
};

/* A token bucket: bytes that may still be read/written this tick (may be
 * negative after an overdraft), and the tick it was last refilled at. */
struct ev_token_bucket {
    ev_ssize_t read_limit;
    ev_ssize_t write_limit;
    ev_uint32_t last_updated;
};

struct bufferevent_private;

/* A set of bufferevents sharing one bucket; see bufferevent-ratelim.c. */
struct bufferevent_rate_limit_group {
    TAILQ_HEAD(rlim_group_member_list, bufferevent_private) members;
    struct ev_token_bucket rate_limit;
    struct ev_token_bucket_cfg rate_limit_cfg;
    unsigned read_suspended : 1;
    unsigned write_suspended : 1;
    /* A member could not be locked while unsuspending: retry next tick. */
    unsigned pending_unsuspend_read : 1;
    unsigned pending_unsuspend_write : 1;
    ev_uint64_t total_read;
    ev_uint64_t total_written;
    int n_members;
    /* The smallest amount a member may move once it gets to act. */
    ev_ssize_t min_share;
    ev_ssize_t configured_min_share;
    struct event master_refill_event;
    struct evutil_weakrand_state weakrand_seed;
    void *lock;
};

/* Rate-limit state of one bufferevent (allocated on first use). */
struct bufferevent_rate_limit {
    TAILQ_ENTRY(bufferevent_private) next_in_group;
    struct bufferevent_rate_limit_group *group;
    struct ev_token_bucket limit;
    /* The user's configuration; not copied, not owned. */
    struct ev_token_bucket_cfg *cfg;
    /* Timer that refills limit while we are suspended for bandwidth. */
    struct event refill_bucket_event;
};

struct bufferevent_private {
    /* The public part; must stay first. */
    struct bufferevent bev;

    /* The fields are ordered to leave no padding: 520 bytes, so that
     * malloc's chunk is no larger than libevent's.  (The input-buffer
     * callback that applies the high read watermark is found by
     * wm_cb_find() in bufferevent.c rather than kept here.)  The flags
     * below share one 32-bit word. */
    unsigned own_lock : 1;
    /* Deferred callbacks waiting to run. */
    unsigned readcb_pending : 1;
    unsigned writecb_pending : 1;
    /* A connect() is in progress on the socket. */
    unsigned connecting : 1;
    /* The connect was refused before we noticed it was done. */
    unsigned connection_refused : 1;
    /* BEV_SUSPEND_* reasons. */
    unsigned read_suspended : BEV_SUSPEND_BITS;
    unsigned write_suspended : BEV_SUSPEND_BITS;
    /* Event bits of a deferred event callback: all 16 bits of the short
     * the caller gave (bufferevent_trigger_event() takes any), as
     * libevent keeps them. */
    unsigned eventcb_pending : 16;

    /* EVUTIL_EAI_* result of the last hostname lookup, 0 if none failed. */
    int dns_error;

    /* Runs deferred user callbacks from the loop. */
    struct event_callback deferred;

    enum bufferevent_options options;
    int refcnt;
    void *lock;

    ev_ssize_t max_single_read;
    ev_ssize_t max_single_write;

    struct bufferevent_rate_limit *rate_limiting;

    /* The peer address after a connect (for evhttp). */
    union {
        struct sockaddr_in6 in6;
        struct sockaddr_in in;
    } conn_address;
    /* Socket error saved for a deferred event callback. */
    int errno_pending;

    struct evdns_getaddrinfo_request *dns_request;
};

/* Requests to an implementation through ops->ctrl. */
enum bufferevent_ctrl_op {
    BEV_CTRL_SET_FD,
    BEV_CTRL_GET_FD,
    BEV_CTRL_GET_UNDERLYING,
    BEV_CTRL_CANCEL_ALL
};

union bufferevent_ctrl_data {
    void *ptr;
    evutil_socket_t fd;
};

/* One implementation of bufferevents.  Every hook is called with the
 * bufferevent locked. */
struct bufferevent_ops {
    /* A name for debugging ("socket", "pair_elt", "filter"). */
    const char *type;
    /* Where the struct bufferevent sits in the allocated block; free()
     * releases (char *)bev - mem_offset. */
    off_t mem_offset;

    /* Start moving data in the given directions (already filtered by the
     * suspension state).  Returns 0 or -1. */
    int (*enable)(struct bufferevent *, short);
    /* Stop moving data in the given directions.  Returns 0 or -1. */
    int (*disable)(struct bufferevent *, short);
    /* The last reference is gone: cut links to other objects now.  The
     * memory stays until destruct. */
    void (*unlink)(struct bufferevent *);
    /* Release implementation resources (fd, context...), from the
     * finalizer. */
    void (*destruct)(struct bufferevent *);
    /* Timeouts changed: re-add pending events with the new ones. */
    int (*adj_timeouts)(struct bufferevent *);
    /* bufferevent_flush(): -1, 0 (nothing moved) or 1. */
    int (*flush)(struct bufferevent *, short, enum bufferevent_flush_mode);
    /* fd/underlying queries; -1 when the operation is not supported. */
    int (*ctrl)(struct bufferevent *, enum bufferevent_ctrl_op,
        union bufferevent_ctrl_data *);
};

extern const struct bufferevent_ops bufferevent_ops_socket;
extern const struct bufferevent_ops bufferevent_ops_filter;
extern const struct bufferevent_ops bufferevent_ops_pair;

#define BEV_IS_SOCKET(bevp) ((bevp)->be_ops == &bufferevent_ops_socket)
#define BEV_IS_FILTER(bevp) ((bevp)->be_ops == &bufferevent_ops_filter)
#define BEV_IS_PAIR(bevp) ((bevp)->be_ops == &bufferevent_ops_pair)
#ifdef _WIN32
/* Socket bufferevents on a base with IOCP (bufferevent-async.c). */
extern const struct bufferevent_ops bufferevent_ops_async;
#define BEV_IS_ASYNC(bevp) ((bevp)->be_ops == &bufferevent_ops_async)
#endif

/* The private struct of a public bufferevent pointer. */
#define BEV_UPCAST(b) EVUTIL_UPCAST((b), struct bufferevent_private, bev)

#define BEV_LOCK(b)                                                           \
    do {                                                                      \
        struct bufferevent_private *locking_ = BEV_UPCAST(b);                 \
        EVLOCK_LOCK(locking_->lock, 0);                                       \
    } while (0)

#define BEV_UNLOCK(b)                                                         \
    do {                                                                      \
        struct bufferevent_private *unlocking_ = BEV_UPCAST(b);               \
        EVLOCK_UNLOCK(unlocking_->lock, 0);                                   \
    } while (0)

/* ---- construction and references (bufferevent.c) ---- */

/** Set up the generic part of a new bufferevent whose memory is zeroed:
 * input/output buffers (unless already set), base (NULL: the current
 * base), ops, options, a lock for BEV_OPT_THREADSAFE, the deferred
 * callback, refcnt 1, enabled EV_WRITE.  Returns 0, or -1 after undoing
 * what it did (the caller frees the memory). */
int bufferevent_init_common_(struct bufferevent_private *bufev_private,
    struct event_base *base, const struct bufferevent_ops *ops,
    enum bufferevent_options options);

/** Make bufev locked by lock (NULL: by the underlying bufferevent's lock,
 * or a new recursive lock).  Returns 0, or -1 if bufev already has a
 * lock or none can be made (threads not set up). */
int bufferevent_enable_locking_(struct bufferevent *bufev, void *lock);

void bufferevent_incref_(struct bufferevent *bufev);
/** Returns 1 if the bufferevent is now being freed, else 0. */
int bufferevent_decref_(struct bufferevent *bufev);
void bufferevent_incref_and_lock_(struct bufferevent *bufev);
/** Drops a reference and the lock; returns 1 if that started freeing. */
int bufferevent_decref_and_unlock_(struct bufferevent *bufev);

/** The options the bufferevent was created with. */
enum bufferevent_options bufferevent_get_options_(struct bufferevent *bev);

/* ---- callbacks (bufferevent.c) ---- */

/** Run the read callback now, or from the loop if BEV_OPT_DEFER_CALLBACKS
 * is among the bufferevent's options or in options.  Lock held. */
void bufferevent_run_readcb_(struct bufferevent *bufev, int options);
void bufferevent_run_writecb_(struct bufferevent *bufev, int options);
/** Same for the event callback; the current socket error is what the
 * callback will see, deferred or not. */
void bufferevent_run_eventcb_(struct bufferevent *bufev, short what,
    int options);

/** Run the read (EV_READ) and/or write (EV_WRITE) callback if the
 * watermarks allow it (or BEV_TRIG_IGNORE_WATERMARKS).  Lock held. */
void bufferevent_trigger_nolock_(struct bufferevent *bufev, short iotype,
    int options);

/* ---- enabling (bufferevent.c) ---- */

void bufferevent_suspend_read_(struct bufferevent *bufev,
    bufferevent_suspend_flags what);
void bufferevent_unsuspend_read_(struct bufferevent *bufev,
    bufferevent_suspend_flags what);
void bufferevent_suspend_write_(struct bufferevent *bufev,
    bufferevent_suspend_flags what);
void bufferevent_unsuspend_write_(struct bufferevent *bufev,
    bufferevent_suspend_flags what);

/** Suspend reading for the high watermark (BEV_SUSPEND_WM), making sure
 * the input-buffer callback that lifts it is installed. */
void bufferevent_wm_suspend_read_(struct bufferevent *bufev);

/** Disable event and forget a connect in progress (evhttp uses it to
 * stop a failed connection). */
int bufferevent_disable_hard_(struct bufferevent *bufev, short event);

/* ---- timeouts (bufferevent.c) ---- */

/** event_add(ev) with tv as timeout, or none if tv is all zero. */
int bufferevent_add_event_(struct event *ev, const struct timeval *tv);

/** For implementations without fds: make ev_read/ev_write plain timers
 * reporting BEV_EVENT_TIMEOUT (and disabling that direction). */
void bufferevent_init_generic_timeout_cbs_(struct bufferevent *bev);
/** With generic timers: (re)arm each one whose direction is enabled, not
 * suspended and (for writing) has data; delete the others. */
int bufferevent_generic_adj_timeouts_(struct bufferevent *bev);
/** With fd events: give pending events the current timeouts. */
int bufferevent_generic_adj_existing_timeouts_(struct bufferevent *bev);

/* ---- rate limiting (bufferevent-ratelim.c) ---- */

/** How much may be read / written now: max_single_*, clamped by the
 * bucket and the group share.  Lock held.  May suspend on an empty group
 * bucket; never negative. */
ev_ssize_t bufferevent_get_read_max_(struct bufferevent_private *bev);
ev_ssize_t bufferevent_get_write_max_(struct bufferevent_private *bev);
/** Account bytes just read / written; suspends when buckets run dry.
 * Returns 0 or -1 (timer could not be added). */
int bufferevent_decrement_read_buckets_(struct bufferevent_private *bev,
    ev_ssize_t bytes);
int bufferevent_decrement_write_buckets_(struct bufferevent_private *bev,
    ev_ssize_t bytes);
/** Set the defaults for a new bufferevent. */
void bufferevent_ratelim_init_(struct bufferevent_private *bev);
/** Leave the group (optionally lifting the group suspension). */
int bufferevent_remove_from_rate_limit_group_internal_(
    struct bufferevent *bev, int unsuspend);

ev_uint32_t ev_token_bucket_get_tick_(const struct timeval *tv,
    const struct ev_token_bucket_cfg *cfg);
int ev_token_bucket_init_(struct ev_token_bucket *bucket,
    const struct ev_token_bucket_cfg *cfg, ev_uint32_t current_tick,
    int reinitialize);
int ev_token_bucket_update_(struct ev_token_bucket *bucket,
    const struct ev_token_bucket_cfg *cfg, ev_uint32_t current_tick);

/* ---- socket specifics (bufferevent-sock.c), for evhttp ---- */

/** Remember the peer of the connected socket fd. */
void bufferevent_socket_set_conn_address_fd_(struct bufferevent *bev,
    evutil_socket_t fd);
/** Remember addr as the peer (for a connect by hostname). */
void bufferevent_socket_set_conn_address_(struct bufferevent *bev,
    const struct sockaddr *addr, size_t addrlen);
/** The remembered peer (sa_family AF_UNSPEC if none). */
const struct sockaddr *bufferevent_socket_get_conn_address_(
    struct bufferevent *bev);

#ifdef __cplusplus
}
#endif

#endif /* BUFFEREVENT_INTERNAL_H_INCLUDED_ */

/*
 * event2/bufferevent.h: buffered I/O on top of events.
 *
 * A bufferevent pairs an input and an output evbuffer with a transport (a
 * socket, a filter over another bufferevent, one half of an in-process
 * pair...).  The library fills the input and drains the output; the
 * program is told through read, write and event callbacks, tuned with
 * watermarks, timeouts and rate limits.
 */
#ifndef EVENT2_BUFFEREVENT_H_INCLUDED_
#define EVENT2_BUFFEREVENT_H_INCLUDED_

/** @file event2/bufferevent.h
 * Socket, filter and pair bufferevents, and rate limiting.
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

/**
 * @name Event-callback flags
 * Bits passed in @p what to a bufferevent_event_cb.
 * @{
 */
/** The error or EOF happened while reading. */
#define BEV_EVENT_READING 0x01
/** The error or EOF happened while writing. */
#define BEV_EVENT_WRITING 0x02
/** The peer closed the connection. */
#define BEV_EVENT_EOF 0x10
/** An error; see EVUTIL_SOCKET_ERROR(). */
#define BEV_EVENT_ERROR 0x20
/** A read or write timeout expired. */
#define BEV_EVENT_TIMEOUT 0x40
/** A connect started by bufferevent_socket_connect() completed. */
#define BEV_EVENT_CONNECTED 0x80
/** @} */

/** A bufferevent; the layout is in event2/bufferevent_struct.h. */
struct bufferevent;
struct event_base;
struct evbuffer;
struct sockaddr;

/** Read or write callback: @p ctx is the argument given to setcb. */
typedef void (*bufferevent_data_cb)(struct bufferevent *bev, void *ctx);

/** Event callback: @p what holds BEV_EVENT_* bits. */
typedef void (*bufferevent_event_cb)(struct bufferevent *bev, short what,
    void *ctx);

/** Options for creating bufferevents. */
enum bufferevent_options {
    /** Close the fd (or free the underlying bufferevent) on free. */
    BEV_OPT_CLOSE_ON_FREE = (1 << 0),
    /** Lock the bufferevent so several threads may use it. */
    BEV_OPT_THREADSAFE = (1 << 1),
    /** Run callbacks from the loop instead of immediately. */
    BEV_OPT_DEFER_CALLBACKS = (1 << 2),
    /** Do not hold the lock while running deferred callbacks. */
    BEV_OPT_UNLOCK_CALLBACKS = (1 << 3)
};

/**
 * Create a bufferevent on socket @p fd (-1: set it later with
 * bufferevent_setfd() or bufferevent_socket_connect()).  The socket should
 * be non-blocking.  Reading and writing start disabled except writing.
 * NULL on failure.
 */
EVENT2_EXPORT_SYMBOL
struct bufferevent *bufferevent_socket_new(struct event_base *base,
    evutil_socket_t fd, int options);

/**
 * Start a non-blocking connect to @p addr (@p socklen bytes), creating the
 * socket if the bufferevent has none.  Success is reported with
 * BEV_EVENT_CONNECTED.  Returns 0 if started, -1 on immediate failure.
 */
EVENT2_EXPORT_SYMBOL
int bufferevent_socket_connect(struct bufferevent *,
    const struct sockaddr *, int);

struct evdns_base;

/**
 * Resolve @p hostname (with @p evdns_base, or blocking if NULL) for
 * address family @p family, then connect to @p port as
 * bufferevent_socket_connect() does.  Returns 0 if started, -1 on error.
 */
EVENT2_EXPORT_SYMBOL
int bufferevent_socket_connect_hostname(struct bufferevent *,
    struct evdns_base *, int, const char *, int);

/**
 * The EVUTIL_EAI_* error of the last failed
 * bufferevent_socket_connect_hostname(), or 0.
 */
EVENT2_EXPORT_SYMBOL
int bufferevent_socket_get_dns_error(struct bufferevent *bev);

/** Move a bufferevent to another base.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int bufferevent_base_set(struct event_base *base, struct bufferevent *bufev);

/** The base of a bufferevent. */
EVENT2_EXPORT_SYMBOL
struct event_base *bufferevent_get_base(struct bufferevent *bev);

/** Set the priority of the bufferevent's events.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int bufferevent_priority_set(struct bufferevent *bufev, int pri);

/** The priority of the bufferevent's events. */
EVENT2_EXPORT_SYMBOL
int bufferevent_get_priority(const struct bufferevent *bufev);

/**
 * Release a bufferevent.  Pending output may still be flushed; the
 * memory goes once no callback is running.
 */
EVENT2_EXPORT_SYMBOL
void bufferevent_free(struct bufferevent *bufev);

/**
 * Set the read, write and event callbacks (NULL disables one) and their
 * shared argument.
 */
EVENT2_EXPORT_SYMBOL
void bufferevent_setcb(struct bufferevent *bufev,
    bufferevent_data_cb readcb, bufferevent_data_cb writecb,
    bufferevent_event_cb eventcb, void *cbarg);

/** Read back the callbacks and argument; any pointer may be NULL. */
EVENT2_EXPORT_SYMBOL
void bufferevent_getcb(struct bufferevent *bufev,
    bufferevent_data_cb *readcb_ptr, bufferevent_data_cb *writecb_ptr,
    bufferevent_event_cb *eventcb_ptr, void **cbarg_ptr);

/** Replace the fd a socket bufferevent uses.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int bufferevent_setfd(struct bufferevent *bufev, evutil_socket_t fd);

/** The fd of a bufferevent, or -1. */
EVENT2_EXPORT_SYMBOL
evutil_socket_t bufferevent_getfd(struct bufferevent *bufev);

/** The bufferevent a filter sits on, or NULL. */
EVENT2_EXPORT_SYMBOL
struct bufferevent *bufferevent_get_underlying(struct bufferevent *bufev);

/** Queue a copy of @p data for writing.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int bufferevent_write(struct bufferevent *bufev, const void *data,
    size_t size);

/** Move all of @p buf to the output for writing.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int bufferevent_write_buffer(struct bufferevent *bufev,
    struct evbuffer *buf);

/** Move up to @p size bytes of input into @p data; returns the count. */
EVENT2_EXPORT_SYMBOL
size_t bufferevent_read(struct bufferevent *bufev, void *data, size_t size);

/** Move all of the input to @p buf.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int bufferevent_read_buffer(struct bufferevent *bufev,
    struct evbuffer *buf);

/** The input buffer: data received and not yet consumed. */
EVENT2_EXPORT_SYMBOL
struct evbuffer *bufferevent_get_input(struct bufferevent *bufev);

/** The output buffer: data waiting to be sent. */
EVENT2_EXPORT_SYMBOL
struct evbuffer *bufferevent_get_output(struct bufferevent *bufev);

/** Start reading and/or writing (EV_READ|EV_WRITE).  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int bufferevent_enable(struct bufferevent *bufev, short event);

/** Stop reading and/or writing.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int bufferevent_disable(struct bufferevent *bufev, short event);

/** The EV_READ/EV_WRITE bits currently enabled. */
EVENT2_EXPORT_SYMBOL
short bufferevent_get_enabled(struct bufferevent *bufev);

/**
 * Set how long reading or writing may stall before the event callback
 * gets BEV_EVENT_TIMEOUT (NULL: never).  Returns 0 or -1.
 */
EVENT2_EXPORT_SYMBOL
int bufferevent_set_timeouts(struct bufferevent *bufev,
    const struct timeval *timeout_read, const struct timeval *timeout_write);

/**
 * Set the watermarks of EV_READ and/or EV_WRITE.  Reading: the read
 * callback waits for @p lowmark bytes and reading pauses above
 * @p highmark (0: unlimited).  Writing: the write callback runs when the
 * output falls to @p lowmark.
 */
EVENT2_EXPORT_SYMBOL
void bufferevent_setwatermark(struct bufferevent *bufev, short events,
    size_t lowmark, size_t highmark);

/**
 * Read the watermarks of exactly one of EV_READ or EV_WRITE.  Returns 0,
 * or -1 when @p events names neither or both.
 */
EVENT2_EXPORT_SYMBOL
int bufferevent_getwatermark(struct bufferevent *bufev, short events,
    size_t *lowmark, size_t *highmark);

/** Take the bufferevent's lock (no-op without BEV_OPT_THREADSAFE). */
EVENT2_EXPORT_SYMBOL
void bufferevent_lock(struct bufferevent *bufev);

/** Release the bufferevent's lock. */
EVENT2_EXPORT_SYMBOL
void bufferevent_unlock(struct bufferevent *bufev);

/** Take a reference, keeping the bufferevent alive past a free. */
EVENT2_EXPORT_SYMBOL
void bufferevent_incref(struct bufferevent *bufev);

/** Drop a reference.  Returns 1 if that freed the bufferevent, else 0. */
EVENT2_EXPORT_SYMBOL
int bufferevent_decref(struct bufferevent *bufev);

/** How hard bufferevent_flush() pushes data through. */
enum bufferevent_flush_mode {
    /** Ordinary processing. */
    BEV_NORMAL = 0,
    /** Push out everything buffered now. */
    BEV_FLUSH = 1,
    /** Push out everything and signal the end of the data. */
    BEV_FINISHED = 2
};

/**
 * Force buffered data through (useful for filters).
 * @return -1 on failure, 0 if nothing was moved, 1 if data was moved
 */
EVENT2_EXPORT_SYMBOL
int bufferevent_flush(struct bufferevent *bufev, short iotype,
    enum bufferevent_flush_mode mode);

/** Options for bufferevent_trigger() and bufferevent_trigger_event(). */
enum bufferevent_trigger_options {
    /** Run the callback even if the watermark says not to. */
    BEV_TRIG_IGNORE_WATERMARKS = (1 << 16),
    /** Defer the callback to the loop. */
    BEV_TRIG_DEFER_CALLBACKS = BEV_OPT_DEFER_CALLBACKS
};

/**
 * Run the read and/or write callback (@p iotype EV_READ|EV_WRITE) as if
 * data had arrived or drained; @p options holds BEV_TRIG_* bits.
 */
EVENT2_EXPORT_SYMBOL
void bufferevent_trigger(struct bufferevent *bufev, short iotype,
    int options);

/** Run the event callback with BEV_EVENT_* bits @p what. */
EVENT2_EXPORT_SYMBOL
void bufferevent_trigger_event(struct bufferevent *bufev, short what,
    int options);

/** What a filter function achieved. */
enum bufferevent_filter_result {
    /** Data was filtered. */
    BEV_OK = 0,
    /** More input is needed before anything can be produced. */
    BEV_NEED_MORE = 1,
    /** The filter failed. */
    BEV_ERROR = 2
};

/**
 * A filter: move data from @p src to @p dst, transformed, writing no more
 * than @p dst_limit bytes (if not negative).
 */
typedef enum bufferevent_filter_result (*bufferevent_filter_cb)(
    struct evbuffer *src, struct evbuffer *dst, ev_ssize_t dst_limit,
    enum bufferevent_flush_mode mode, void *ctx);

/**
 * Create a bufferevent whose data passes through @p input_filter on the
 * way in and @p output_filter on the way out (NULL: unchanged) over
 * @p underlying.  @p free_context, if given, is called on @p ctx when the
 * filter is freed.  NULL on failure.
 */
EVENT2_EXPORT_SYMBOL
struct bufferevent *bufferevent_filter_new(struct bufferevent *underlying,
    bufferevent_filter_cb input_filter, bufferevent_filter_cb output_filter,
    int options, void (*free_context)(void *), void *ctx);

/**
 * Create two bufferevents connected to each other in memory: what is
 * written to one is read from the other.  Returns 0 or -1.
 */
EVENT2_EXPORT_SYMBOL
int bufferevent_pair_new(struct event_base *base, int options,
    struct bufferevent *pair[2]);

/** The other half of a pair, or NULL if it has been freed. */
EVENT2_EXPORT_SYMBOL
struct bufferevent *bufferevent_pair_get_partner(struct bufferevent *bev);

/** Token-bucket rate-limit settings; opaque. */
struct ev_token_bucket_cfg;
/** A group of bufferevents sharing one rate limit; opaque. */
struct bufferevent_rate_limit_group;

/** The largest rate or burst a token bucket accepts. */
#define EV_RATE_LIMIT_MAX EV_SSIZE_MAX

/**
 * Describe a token bucket: each @p tick_len (NULL: one second) adds
 * @p read_rate / @p write_rate bytes of allowance, capped at the bursts.
 * NULL on failure.
 */
EVENT2_EXPORT_SYMBOL
struct ev_token_bucket_cfg *ev_token_bucket_cfg_new(size_t read_rate,
    size_t read_burst, size_t write_rate, size_t write_burst,
    const struct timeval *tick_len);

/** Free a token-bucket configuration no longer used by anything. */
EVENT2_EXPORT_SYMBOL
void ev_token_bucket_cfg_free(struct ev_token_bucket_cfg *cfg);

/**
 * Rate-limit one bufferevent with @p cfg (NULL: remove the limit).  The
 * configuration must outlive the bufferevent's use of it.
 * Returns 0 or -1.
 */
EVENT2_EXPORT_SYMBOL
int bufferevent_set_rate_limit(struct bufferevent *bev,
    struct ev_token_bucket_cfg *cfg);

/** Create a rate-limit group; NULL on failure. */
EVENT2_EXPORT_SYMBOL
struct bufferevent_rate_limit_group *bufferevent_rate_limit_group_new(
    struct event_base *base, const struct ev_token_bucket_cfg *cfg);

/** Change a group's rates.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int bufferevent_rate_limit_group_set_cfg(
    struct bufferevent_rate_limit_group *,
    const struct ev_token_bucket_cfg *);

/**
 * Set the smallest share of a group's allowance a member may use at once
 * (default 64 bytes; 0 disables the minimum).  Returns 0 or -1.
 */
EVENT2_EXPORT_SYMBOL
int bufferevent_rate_limit_group_set_min_share(
    struct bufferevent_rate_limit_group *, size_t);

/** Free a group; its members become unlimited by it. */
EVENT2_EXPORT_SYMBOL
void bufferevent_rate_limit_group_free(struct bufferevent_rate_limit_group *);

/**
 * Put @p bev into group @p g (leaving any previous group).
 * Returns 0 or -1.
 */
EVENT2_EXPORT_SYMBOL
int bufferevent_add_to_rate_limit_group(struct bufferevent *bev,
    struct bufferevent_rate_limit_group *g);

/** Take @p bev out of its group.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int bufferevent_remove_from_rate_limit_group(struct bufferevent *bev);

/** Cap one read at @p size bytes (0: the default).  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int bufferevent_set_max_single_read(struct bufferevent *bev, size_t size);

/** Cap one write at @p size bytes (0: the default).  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int bufferevent_set_max_single_write(struct bufferevent *bev, size_t size);

/** The cap on one read. */
EVENT2_EXPORT_SYMBOL
ev_ssize_t bufferevent_get_max_single_read(struct bufferevent *bev);

/** The cap on one write. */
EVENT2_EXPORT_SYMBOL
ev_ssize_t bufferevent_get_max_single_write(struct bufferevent *bev);

/** The bufferevent's own remaining read allowance. */
EVENT2_EXPORT_SYMBOL
ev_ssize_t bufferevent_get_read_limit(struct bufferevent *bev);

/** The bufferevent's own remaining write allowance. */
EVENT2_EXPORT_SYMBOL
ev_ssize_t bufferevent_get_write_limit(struct bufferevent *bev);

/** How many bytes may be read now, all limits considered. */
EVENT2_EXPORT_SYMBOL
ev_ssize_t bufferevent_get_max_to_read(struct bufferevent *bev);

/** How many bytes may be written now, all limits considered. */
EVENT2_EXPORT_SYMBOL
ev_ssize_t bufferevent_get_max_to_write(struct bufferevent *bev);

/** The token-bucket configuration in effect, or NULL. */
EVENT2_EXPORT_SYMBOL
const struct ev_token_bucket_cfg *bufferevent_get_token_bucket_cfg(
    const struct bufferevent *bev);

/** A group's remaining read allowance. */
EVENT2_EXPORT_SYMBOL
ev_ssize_t bufferevent_rate_limit_group_get_read_limit(
    struct bufferevent_rate_limit_group *);

/** A group's remaining write allowance. */
EVENT2_EXPORT_SYMBOL
ev_ssize_t bufferevent_rate_limit_group_get_write_limit(
    struct bufferevent_rate_limit_group *);

/**
 * Reduce (or with a negative value increase) the bufferevent's read
 * allowance.  Returns 0 or -1.
 */
EVENT2_EXPORT_SYMBOL
int bufferevent_decrement_read_limit(struct bufferevent *bev,
    ev_ssize_t decr);

/** Adjust the bufferevent's write allowance.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int bufferevent_decrement_write_limit(struct bufferevent *bev,
    ev_ssize_t decr);

/** Adjust a group's read allowance.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int bufferevent_rate_limit_group_decrement_read(
    struct bufferevent_rate_limit_group *, ev_ssize_t);

/** Adjust a group's write allowance.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int bufferevent_rate_limit_group_decrement_write(
    struct bufferevent_rate_limit_group *, ev_ssize_t);

/** Bytes read and written by the group's members since the last reset. */
EVENT2_EXPORT_SYMBOL
void bufferevent_rate_limit_group_get_totals(
    struct bufferevent_rate_limit_group *grp, ev_uint64_t *total_read_out,
    ev_uint64_t *total_written_out);

/** Zero the group's byte totals. */
EVENT2_EXPORT_SYMBOL
void bufferevent_rate_limit_group_reset_totals(
    struct bufferevent_rate_limit_group *grp);

#ifdef __cplusplus
}
#endif

#endif /* EVENT2_BUFFEREVENT_H_INCLUDED_ */

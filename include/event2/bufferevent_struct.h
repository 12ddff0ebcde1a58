/*
 * event2/bufferevent_struct.h: the public layout of struct bufferevent.
 *
 * Old programs read and write these fields directly (bev->input,
 * bev->enabled, &bev->ev_write, bev->readcb...), and binaries built that
 * way depend on this exact layout: 392 bytes on x86-64, input at 272.  So
 * the library keeps a socket bufferevent's real buffers, events,
 * watermarks, callbacks and timeouts here.  New code should use the
 * accessors of event2/bufferevent.h.
 */
#ifndef EVENT2_BUFFEREVENT_STRUCT_H_INCLUDED_
#define EVENT2_BUFFEREVENT_STRUCT_H_INCLUDED_

/** @file event2/bufferevent_struct.h
 * Public layout of struct bufferevent (deprecated direct access).
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
#include <event2/event_struct.h>
/* For the callback typedefs; libevent's version relies on the includer. */
#include <event2/bufferevent.h>

/** A pair of watermarks, in bytes. */
struct event_watermark {
    /** The low watermark. */
    size_t low;
    /** The high watermark (0: none). */
    size_t high;
};

struct bufferevent_ops;

/** A bufferevent. */
struct bufferevent {
    /** The base the bufferevent's events belong to. */
    struct event_base *ev_base;
    /** The implementation (socket, pair, filter...); library use only. */
    const struct bufferevent_ops *be_ops;

    /** The read event (on the fd for socket bufferevents). */
    struct event ev_read;
    /** The write event. */
    struct event ev_write;

    /** Data received, waiting for the program. */
    struct evbuffer *input;
    /** Data from the program, waiting to be sent. */
    struct evbuffer *output;

    /** Read watermarks. */
    struct event_watermark wm_read;
    /** Write watermarks. */
    struct event_watermark wm_write;

    /** Called when input reaches the low read watermark. */
    bufferevent_data_cb readcb;
    /** Called when output falls to the low write watermark. */
    bufferevent_data_cb writecb;
    /** Called with BEV_EVENT_* bits on EOF, error, timeout or connect. */
    bufferevent_event_cb errorcb;
    /** The argument of the three callbacks. */
    void *cbarg;

    /** Read timeout (zero: none). */
    struct timeval timeout_read;
    /** Write timeout (zero: none). */
    struct timeval timeout_write;

    /** EV_READ/EV_WRITE bits currently enabled. */
    short enabled;
};

#ifdef __cplusplus
}
#endif

#endif /* EVENT2_BUFFEREVENT_STRUCT_H_INCLUDED_ */

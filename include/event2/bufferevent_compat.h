/*
 * event2/bufferevent_compat.h: the libevent 1.x bufferevent API.
 *
 * Kept for old programs.  bufferevent_new() creates a socket bufferevent
 * that must then be attached to a base with bufferevent_base_set().
 */
#ifndef EVENT2_BUFFEREVENT_COMPAT_H_INCLUDED_
#define EVENT2_BUFFEREVENT_COMPAT_H_INCLUDED_

/** @file event2/bufferevent_compat.h
 * Deprecated bufferevent functions, types and macros.
 */

#include <event2/visibility.h>
/* libevent's version needs event2/bufferevent.h first; ours does it. */
#include <event2/bufferevent.h>

#ifdef __cplusplus
extern "C" {
#endif

/** 1.x name of bufferevent_data_cb. */
#define evbuffercb bufferevent_data_cb
/** 1.x name of bufferevent_event_cb. */
#define everrorcb bufferevent_event_cb

/**
 * Create a socket bufferevent on @p fd with the given callbacks, on the
 * current base.  Deprecated: use bufferevent_socket_new() and
 * bufferevent_setcb().  NULL on failure.
 */
EVENT2_EXPORT_SYMBOL
struct bufferevent *bufferevent_new(evutil_socket_t fd, evbuffercb readcb,
    evbuffercb writecb, everrorcb errorcb, void *cbarg);

/**
 * Set read and write timeouts in whole seconds (0: none).  Deprecated:
 * use bufferevent_set_timeouts().
 */
EVENT2_EXPORT_SYMBOL
void bufferevent_settimeout(struct bufferevent *bufev, int timeout_read,
    int timeout_write);

/** @name 1.x names of the BEV_EVENT_* flags
 * @{
 */
#define EVBUFFER_READ BEV_EVENT_READING
#define EVBUFFER_WRITE BEV_EVENT_WRITING
#define EVBUFFER_EOF BEV_EVENT_EOF
#define EVBUFFER_ERROR BEV_EVENT_ERROR
#define EVBUFFER_TIMEOUT BEV_EVENT_TIMEOUT
/** @} */

/** The input buffer of a bufferevent. */
#define EVBUFFER_INPUT(x) bufferevent_get_input(x)
/** The output buffer of a bufferevent. */
#define EVBUFFER_OUTPUT(x) bufferevent_get_output(x)

#ifdef __cplusplus
}
#endif

#endif /* EVENT2_BUFFEREVENT_COMPAT_H_INCLUDED_ */

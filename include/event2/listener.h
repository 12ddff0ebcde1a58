/*
 * event2/listener.h: evconnlistener, accepting TCP connections.
 *
 * A listener watches a listening socket and hands each accepted
 * connection (already non-blocking unless asked otherwise) to a callback.
 */
#ifndef EVENT2_LISTENER_H_INCLUDED_
#define EVENT2_LISTENER_H_INCLUDED_

/** @file event2/listener.h
 * Connection listeners.
 */

#include <event2/visibility.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <event2/event.h>

struct sockaddr;
/** A connection listener; opaque. */
struct evconnlistener;

/**
 * Called with each accepted socket, the peer's address (@p socklen bytes)
 * and the listener's argument.  The callback owns the socket.
 */
typedef void (*evconnlistener_cb)(struct evconnlistener *, evutil_socket_t,
    struct sockaddr *, int socklen, void *);

/** Called when accept() fails; errno says why. */
typedef void (*evconnlistener_errorcb)(struct evconnlistener *, void *);

/**
 * @name Listener flags
 * @{
 */
/** Leave accepted sockets blocking. */
#define LEV_OPT_LEAVE_SOCKETS_BLOCKING (1u<<0)
/** Close the listening socket when the listener is freed. */
#define LEV_OPT_CLOSE_ON_FREE (1u<<1)
/** Set close-on-exec on the listening socket. */
#define LEV_OPT_CLOSE_ON_EXEC (1u<<2)
/** Let the address be reused as soon as the listener closes. */
#define LEV_OPT_REUSEABLE (1u<<3)
/** Lock the listener so several threads may use it. */
#define LEV_OPT_THREADSAFE (1u<<4)
/** Create the listener disabled; enable it with evconnlistener_enable(). */
#define LEV_OPT_DISABLED (1u<<5)
/** Accept only once the client has sent data, where supported. */
#define LEV_OPT_DEFERRED_ACCEPT (1u<<6)
/** Let several sockets listen on the same port (SO_REUSEPORT). */
#define LEV_OPT_REUSEABLE_PORT (1u<<7)
/** Make an IPv6 listener accept IPv6 only. */
#define LEV_OPT_BIND_IPV6ONLY (1u<<8)
/** @} */

/**
 * Listen on the already bound socket @p fd, calling @p cb with @p ptr for
 * each connection.  @p backlog is passed to listen() (0: do not call
 * listen(); negative: a default).  NULL on failure.
 */
EVENT2_EXPORT_SYMBOL
struct evconnlistener *evconnlistener_new(struct event_base *base,
    evconnlistener_cb cb, void *ptr, unsigned flags, int backlog,
    evutil_socket_t fd);

/**
 * Create a socket, bind it to @p sa (@p socklen bytes) and listen on it
 * as evconnlistener_new() does.  NULL on failure.
 */
EVENT2_EXPORT_SYMBOL
struct evconnlistener *evconnlistener_new_bind(struct event_base *base,
    evconnlistener_cb cb, void *ptr, unsigned flags, int backlog,
    const struct sockaddr *sa, int socklen);

/** Free a listener (closing the socket with LEV_OPT_CLOSE_ON_FREE). */
EVENT2_EXPORT_SYMBOL
void evconnlistener_free(struct evconnlistener *lev);

/** Resume accepting connections.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int evconnlistener_enable(struct evconnlistener *lev);

/** Stop accepting connections for now.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int evconnlistener_disable(struct evconnlistener *lev);

/** The base of a listener. */
EVENT2_EXPORT_SYMBOL
struct event_base *evconnlistener_get_base(struct evconnlistener *lev);

/** The listening socket. */
EVENT2_EXPORT_SYMBOL
evutil_socket_t evconnlistener_get_fd(struct evconnlistener *lev);

/**
 * Replace the connection callback and its argument; a NULL @p cb
 * disables the listener.
 */
EVENT2_EXPORT_SYMBOL
void evconnlistener_set_cb(struct evconnlistener *lev, evconnlistener_cb cb,
    void *arg);

/** Set the callback for accept() errors. */
EVENT2_EXPORT_SYMBOL
void evconnlistener_set_error_cb(struct evconnlistener *lev,
    evconnlistener_errorcb errorcb);

#ifdef __cplusplus
}
#endif

#endif /* EVENT2_LISTENER_H_INCLUDED_ */

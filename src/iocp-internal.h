/*
 * iocp-internal.h: the I/O completion port of an event_base (Windows only)
 * and the IOCP flavours of bufferevents and listeners built on it.
 *
 * A base made with EVENT_BASE_FLAG_STARTUP_IOCP owns one port and a few
 * worker threads blocked in GetQueuedCompletionStatus().  Every overlapped
 * operation is started with a struct event_overlapped whose cb the worker
 * calls when the operation completes.  Those callbacks run on a worker
 * thread: they only record the result and activate an event_callback of
 * the base, so that everything the user sees happens in the loop's
 * thread.  Each pending operation holds a virtual event of the base, so
 * that the loop does not exit while I/O is outstanding.
 *
 * IOCP needs the base to be locked and notifiable, so it needs
 * evthread_use_windows_threads() first.  Without it the base is still
 * made (on select) and a warning is logged; the base has no port, and
 * bufferevent_socket_new() on it returns NULL, as in libevent 2.1 (whose
 * IOCP bufferevents cannot be made without a lock), while evconnlistener
 * falls back to the select listener.
 */
#ifndef IOCP_INTERNAL_H_INCLUDED_
#define IOCP_INTERNAL_H_INCLUDED_

#ifdef _WIN32

#include <winsock2.h>
#include <windows.h>

#include "event2/util.h"

#ifdef __cplusplus
extern "C" {
#endif

struct event_overlapped;
struct event_base;
struct bufferevent;
struct evconnlistener;

/** Called on a worker thread when the operation of ov completed: key is
 * the completion key the handle was associated with, nbytes the bytes
 * transferred and ok nonzero on success (the error is then found with
 * WSAGetOverlappedResult, from any thread). */
typedef void (*iocp_callback)(struct event_overlapped *ov, ev_uintptr_t key,
    ev_ssize_t nbytes, int ok);

/* Must stay first: the worker finds us from the OVERLAPPED pointer. */
struct event_overlapped {
    OVERLAPPED overlapped;
    iocp_callback cb;
};

struct event_iocp_port {
    HANDLE port;
    HANDLE *threads;
    int n_threads;
};

/** ConnectEx, AcceptEx and GetAcceptExSockaddrs, looked up once with
 * WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER); NULL when missing. */
struct win32_extension_fns {
    BOOL(PASCAL *AcceptEx)(SOCKET, SOCKET, PVOID, DWORD, DWORD, DWORD,
        LPDWORD, LPOVERLAPPED);
    BOOL(PASCAL *ConnectEx)(SOCKET, const struct sockaddr *, int, PVOID,
        DWORD, LPDWORD, LPOVERLAPPED);
    VOID(PASCAL *GetAcceptExSockaddrs)(PVOID, DWORD, DWORD, DWORD,
        struct sockaddr **, LPINT, struct sockaddr **, LPINT);
};

/* ---- the port (event-iocp.c) ---- */

/** Clear ov and set its completion callback. */
void event_overlapped_init_(struct event_overlapped *ov, iocp_callback cb);

/** Create a port with n_threads workers (<= 0: a default of 2).  NULL on
 * failure, with a log message. */
struct event_iocp_port *event_iocp_port_launch_(int n_threads);

/** Route the completions of fd to port with key.  Returns 0, or -1 with
 * GetLastError() set (ERROR_INVALID_PARAMETER when fd is associated with
 * a port already, which callers accept). */
int event_iocp_port_associate_(struct event_iocp_port *port,
    evutil_socket_t fd, ev_uintptr_t key);

/** Stop the workers (one shutdown packet each), wait for them and close
 * the port.  Completions still to come are lost.  Returns 0, or -1 if a
 * worker did not stop within wait_msec (negative: wait forever). */
int event_iocp_shutdown_(struct event_iocp_port *port, long wait_msec);

/** The extension functions (looked up on first use). */
const struct win32_extension_fns *event_get_win32_extension_fns_(void);

/** Start the base's port (done by event_base_new_with_config for
 * EVENT_BASE_FLAG_STARTUP_IOCP).  0 if the base has one, -1 otherwise
 * (threads not set up, or the port could not be made), logged. */
int event_base_start_iocp_(struct event_base *base, int n_threads);
/** Shut the base's port down (event_base_free). */
void event_base_stop_iocp_(struct event_base *base);
/** The base's port, NULL when it has none. */
struct event_iocp_port *event_base_get_iocp_(struct event_base *base);

/* ---- IOCP bufferevents (bufferevent-async.c) ---- */

/** bufferevent_socket_new() on a base with a port.  NULL on failure. */
struct bufferevent *bufferevent_async_new_(struct event_base *base,
    evutil_socket_t fd, int options);
/** bufferevent_socket_connect() of an IOCP bufferevent (ConnectEx). */
int bufferevent_async_connect_(struct bufferevent *bev,
    const struct sockaddr *sa, int socklen);

/* ---- IOCP listeners (listener-iocp.c, driven by listener.c) ---- */

struct listener_iocp;

/** Called by listener-iocp.c from the loop, with the listener's lock
 * held, for each accepted connection: hand it to the user.  Returns 1 if
 * the listener was freed (the lock is then released), else 0. */
int evconnlistener_deliver_(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int socklen);

/** Accept on the listening socket fd with AcceptEx for lev.  The lock of
 * the listener is made here and belongs to the returned object (*lockp
 * is set to it).  NULL on failure (nothing is left behind). */
struct listener_iocp *listener_iocp_new_(struct evconnlistener *lev,
    struct event_base *base, evutil_socket_t fd, unsigned flags,
    void **lockp);
/** Keep a few accepts pending and deliver completed ones (enable), or
 * hold them back (disable).  Lock held.  0 or -1. */
int listener_iocp_enable_(struct listener_iocp *li);
void listener_iocp_disable_(struct listener_iocp *li);
/** The listener is gone: cancel the accepts, close what they accepted,
 * release the lock and free li once the last completion is back.  Lock
 * held on entry, released on return. */
void listener_iocp_detach_and_unlock_(struct listener_iocp *li);

#ifdef __cplusplus
}
#endif

#endif /* _WIN32 */

#endif /* IOCP_INTERNAL_H_INCLUDED_ */

/*
 * event-iocp.c: the I/O completion port of an event_base (Windows only;
 * CMake leaves this file out elsewhere).
 *
 * The port has n worker threads, each looping in
 * GetQueuedCompletionStatus().  A completion carries the OVERLAPPED that
 * started the operation, which is the first member of a struct
 * event_overlapped, whose cb the worker calls.  Shutdown posts one packet
 * per worker with the key SHUTDOWN_KEY and no OVERLAPPED; a worker that
 * dequeues it exits.  event_iocp_shutdown_ joins the workers and closes
 * the port, so no callback runs after it returns.
 *
 * The workers never touch a base or a bufferevent directly: callbacks only
 * store results and activate event_callbacks (see iocp-internal.h), which
 * is why the base must be locked and notifiable, i.e. why IOCP needs
 * evthread_use_windows_threads().
 */
#include "event2/event-config.h"

#include <winsock2.h>
#include <mswsock.h>
#include <windows.h>
#include <process.h>
#include <string.h>

#include "event2/event.h"
#include "event2/util.h"

#include "event-internal.h"
#include "evthread-internal.h"
#include "iocp-internal.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

#define DEFAULT_THREADS 2
#define MAX_THREADS 64
/* A key no associated handle uses (those use small numbers). */
#define SHUTDOWN_KEY ((ULONG_PTR)-1)

void
event_overlapped_init_(struct event_overlapped *ov, iocp_callback cb)
{
    memset(ov, 0, sizeof(*ov));
    ov->cb = cb;
}

static unsigned __stdcall
worker_main(void *arg)
{
    struct event_iocp_port *port = arg;

    for (;;) {
        DWORD nbytes = 0;
        ULONG_PTR key = 0;
        OVERLAPPED *overlapped = NULL;
        BOOL ok = GetQueuedCompletionStatus(port->port, &nbytes, &key,
            &overlapped, INFINITE);

        if (overlapped == NULL) {
            if (key == SHUTDOWN_KEY)
                break;
            if (!ok) {
                /* The port itself failed (closed under us?): stop
                 * rather than spin. */
                event_warnx("%s: GetQueuedCompletionStatus failed: %lu",
                    __func__, (unsigned long)GetLastError());
                break;
            }
            continue;
        }
        {
            struct event_overlapped *ov =
                EVUTIL_UPCAST(overlapped, struct event_overlapped, overlapped);
            if (ov->cb)
                ov->cb(ov, (ev_uintptr_t)key, (ev_ssize_t)nbytes, ok != 0);
        }
    }
    return 0;
}

struct event_iocp_port *
event_iocp_port_launch_(int n_threads)
{
    struct event_iocp_port *port;
    int i;

    if (n_threads <= 0)
        n_threads = DEFAULT_THREADS;
    if (n_threads > MAX_THREADS)
        n_threads = MAX_THREADS;
    if ((port = mm_calloc(1, sizeof(*port))) == NULL)
        return NULL;
    port->threads = mm_calloc((size_t)n_threads, sizeof(HANDLE));
    if (port->threads == NULL)
        goto err;
    port->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0,
        (DWORD)n_threads);
    if (port->port == NULL) {
        event_warnx("%s: CreateIoCompletionPort failed: %lu", __func__,
            (unsigned long)GetLastError());
        goto err;
    }
    for (i = 0; i < n_threads; ++i) {
        uintptr_t th = _beginthreadex(NULL, 0, worker_main, port, 0, NULL);
        if (th == 0) {
            event_warnx("%s: cannot start worker thread %d", __func__, i);
            if (event_iocp_shutdown_(port, -1) < 0)
                event_warnx("%s: workers did not stop", __func__);
            return NULL;
        }
        port->threads[port->n_threads++] = (HANDLE)th;
    }
    return port;

err:
    if (port->port)
        CloseHandle(port->port);
    mm_free(port->threads);
    mm_free(port);
    return NULL;
}

int
event_iocp_port_associate_(struct event_iocp_port *port, evutil_socket_t fd,
    ev_uintptr_t key)
{
    HANDLE h = CreateIoCompletionPort((HANDLE)fd, port->port, (ULONG_PTR)key,
        0);
    return h == NULL ? -1 : 0;
}

int
event_iocp_shutdown_(struct event_iocp_port *port, long wait_msec)
{
    int i, r = 0;
    DWORD w = wait_msec < 0 ? INFINITE : (DWORD)wait_msec;

    for (i = 0; i < port->n_threads; ++i)
        PostQueuedCompletionStatus(port->port, 0, SHUTDOWN_KEY, NULL);
    for (i = 0; i < port->n_threads; ++i) {
        if (WaitForSingleObject(port->threads[i], w) != WAIT_OBJECT_0)
            r = -1;
        CloseHandle(port->threads[i]);
    }
    CloseHandle(port->port);
    mm_free(port->threads);
    mm_free(port);
    return r;
}

/* ------------------------------------------------------------------ */
/* Extension functions                                                 */

static struct win32_extension_fns ext_fns;
static LONG ext_fns_state; /* 0 none, 1 being looked up, 2 done */

static void *
get_extension_function(SOCKET s, const GUID *which)
{
    void *ptr = NULL;
    DWORD bytes = 0;
    GUID guid = *which;

    if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof(guid),
            &ptr, sizeof(ptr), &bytes, NULL, NULL) != 0)
        return NULL;
    return ptr;
}

const struct win32_extension_fns *
event_get_win32_extension_fns_(void)
{
    static const GUID acceptex = WSAID_ACCEPTEX;
    static const GUID connectex = WSAID_CONNECTEX;
    static const GUID getacceptexsockaddrs = WSAID_GETACCEPTEXSOCKADDRS;
    SOCKET s;

    if (InterlockedCompareExchange(&ext_fns_state, 1, 0) != 0) {
        /* Another thread is looking them up: wait (briefly) for it. */
        int i;
        for (i = 0; i < 1000 && InterlockedCompareExchange(&ext_fns_state,
                                    2, 2) != 2;
             ++i)
            Sleep(1);
        return &ext_fns;
    }
    s = socket(AF_INET, SOCK_STREAM, 0);
    if (s != INVALID_SOCKET) {
        ext_fns.AcceptEx = get_extension_function(s, &acceptex);
        ext_fns.ConnectEx = get_extension_function(s, &connectex);
        ext_fns.GetAcceptExSockaddrs =
            get_extension_function(s, &getacceptexsockaddrs);
        closesocket(s);
    }
    InterlockedExchange(&ext_fns_state, 2);
    return &ext_fns;
}

/* ------------------------------------------------------------------ */
/* The base's port                                                     */

int
event_base_start_iocp_(struct event_base *base, int n_threads)
{
    if (base->iocp)
        return 0;
    if (!EVTHREAD_LOCKING_ENABLED() || base->th_base_lock == NULL) {
        event_warnx("%s: IOCP needs a locked base: call "
                    "evthread_use_windows_threads() before making it "
                    "(and do not use EVENT_BASE_FLAG_NOLOCK); "
                    "this base uses %s without IOCP",
            __func__, base->evsel->name);
        return -1;
    }
    base->iocp = event_iocp_port_launch_(n_threads);
    if (base->iocp == NULL) {
        event_warnx("%s: Couldn't launch IOCP", __func__);
        return -1;
    }
    return 0;
}

void
event_base_stop_iocp_(struct event_base *base)
{
    if (!base->iocp)
        return;
    if (event_iocp_shutdown_(base->iocp, -1) < 0)
        event_warnx("%s: a worker thread did not stop", __func__);
    base->iocp = NULL;
}

struct event_iocp_port *
event_base_get_iocp_(struct event_base *base)
{
    if (base == NULL)
        base = event_global_current_base_;
    return base ? base->iocp : NULL;
}

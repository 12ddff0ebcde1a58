/*
 * bufferevent-async.c: socket bufferevents over the base's I/O completion
 * port (Windows only), made by bufferevent_socket_new() when the base has
 * one (EVENT_BASE_FLAG_STARTUP_IOCP), as in libevent 2.1.
 *
 * At most one overlapped operation per direction is in flight, plus one
 * ConnectEx:
 *  - reading: WSARecv into space reserved in a private "landing" evbuffer
 *    (reserve/commit); on completion the space is committed and its chains
 *    are moved (not copied) to the input buffer.  Nobody else touches the
 *    landing buffer, so its memory cannot move while the kernel writes;
 *  - writing: WSASend straight from the first chains of the output buffer,
 *    pinned (EVBUFFER_MEM_PINNED_W) so that no append can realign them;
 *    the bytes are drained when the completion says they went out.
 *
 * Invariants:
 *  - every operation in flight holds a reference on the bufferevent and a
 *    virtual event of the base, both dropped by its completion, so the
 *    memory (and the loop) outlive the I/O;
 *  - completions are handled in the loop thread: the worker only stores
 *    the result and activates the operation's event_callback; user
 *    callbacks therefore never run on a worker;
 *  - ok is cleared by bufferevent_free (BEV_CTRL_CANCEL_ALL), which closes
 *    the socket (BEV_OPT_CLOSE_ON_FREE) or cancels its I/O (CancelIoEx);
 *    completions after that are swallowed;
 *  - the input is frozen at its end and the output at its front, as for
 *    socket bufferevents; timeouts are the generic timers (ev_read and
 *    ev_write have no fd), re-armed after each completion.
 */
#include "event2/event-config.h"

#include <winsock2.h>
#include <mswsock.h>
#include <windows.h>
#include <string.h>

#include "event2/buffer.h"
#include "event2/bufferevent.h"
#include "event2/bufferevent_struct.h"
#include "event2/event.h"
#include "event2/util.h"

#include "bufferevent-internal.h"
#include "evbuffer-internal.h"
#include "event-internal.h"
#include "iocp-internal.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

/* INVALID_SOCKET as the signed evutil_socket_t. */
#define NO_SOCKET ((evutil_socket_t)INVALID_SOCKET)
/* Chains one WSASend may cover. */
#define MAX_SEND_BUFS 16

struct bufferevent_async;

/* One kind of overlapped operation of a bufferevent. */
struct async_op {
    struct event_overlapped ov;
    /* Runs the completion in the loop (activated by the worker). */
    struct event_callback done;
    struct event_base *base;
    /* Result, written by the worker before it activates done. */
    ev_ssize_t nbytes;
    int ok;
};

struct bufferevent_async {
    struct bufferevent_private bev;
    evutil_socket_t fd;
    struct async_op read_op;
    struct async_op write_op;
    struct async_op connect_op;
    /* WSARecv's target, see the top of the file. */
    struct evbuffer *landing;
    struct evbuffer_iovec read_vecs[2];
    int n_read_vecs;
    /* The pinned output chains of the WSASend in flight. */
    struct evbuffer_chain *write_chains[MAX_SEND_BUFS];
    int n_write_chains;
    size_t write_len;
    unsigned ok : 1;
    unsigned read_pending : 1;
    unsigned write_pending : 1;
    unsigned connect_pending : 1;
};

static int be_async_enable(struct bufferevent *, short);
static int be_async_disable(struct bufferevent *, short);
static void be_async_destruct(struct bufferevent *);
static int be_async_flush(struct bufferevent *, short,
    enum bufferevent_flush_mode);
static int be_async_ctrl(struct bufferevent *, enum bufferevent_ctrl_op,
    union bufferevent_ctrl_data *);

const struct bufferevent_ops bufferevent_ops_async = {
    "socket_async",
    evutil_offsetof(struct bufferevent_async, bev.bev),
    be_async_enable,
    be_async_disable,
    NULL, /* unlink */
    be_async_destruct,
    bufferevent_generic_adj_timeouts_,
    be_async_flush,
    be_async_ctrl,
};

static struct bufferevent_async *
upcast(struct bufferevent *bev)
{
    if (!BEV_IS_ASYNC(bev))
        return NULL;
    return EVUTIL_UPCAST(bev, struct bufferevent_async, bev.bev);
}

/* Worker thread: record and hand over to the loop. */
static void
op_complete(struct event_overlapped *ov, ev_uintptr_t key, ev_ssize_t nbytes,
    int ok)
{
    struct async_op *op = EVUTIL_UPCAST(ov, struct async_op, ov);

    (void)key;
    op->nbytes = nbytes;
    op->ok = ok;
    event_callback_activate_(op->base, &op->done);
}

/* The socket error of a failed operation, as Winsock codes. */
static int
op_error(struct bufferevent_async *a, struct async_op *op)
{
    DWORD bytes = 0, flags = 0;

    if (a->fd != NO_SOCKET &&
        !WSAGetOverlappedResult(a->fd, &op->ov.overlapped, &bytes, FALSE,
            &flags))
        return WSAGetLastError();
    return WSAECONNABORTED;
}

/* An operation is about to be started: hold the bufferevent and the loop. */
static void
op_begin(struct bufferevent_async *a, struct async_op *op)
{
    memset(&op->ov.overlapped, 0, sizeof(op->ov.overlapped));
    bufferevent_incref_(&a->bev.bev);
    event_base_add_virtual_(op->base);
}

/* Undo op_begin (the operation finished or never started).  May free the
 * bufferevent only when the caller holds no other reference; lock held. */
static void
op_end(struct bufferevent_async *a, struct async_op *op)
{
    event_base_del_virtual_(op->base);
    bufferevent_decref_(&a->bev.bev);
}

/* An operation could not be started: stop that direction (what is
 * BEV_EVENT_READING or BEV_EVENT_WRITING) and report err from the loop. */
static void
report_error(struct bufferevent_async *a, short what, int err)
{
    struct bufferevent *bev = &a->bev.bev;

    bufferevent_disable(bev, what == BEV_EVENT_READING ? EV_READ : EV_WRITE);
    EVUTIL_SET_SOCKET_ERROR(err);
    bufferevent_run_eventcb_(bev, what | BEV_EVENT_ERROR,
        BEV_OPT_DEFER_CALLBACKS);
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */

/* Start a WSARecv if reading is wanted and none is in flight.  Lock
 * held. */
static void
consider_reading(struct bufferevent_async *a)
{
    struct bufferevent *bev = &a->bev.bev;
    ev_ssize_t at_most;
    WSABUF bufs[2];
    DWORD flags = 0;
    size_t left;
    int i, n, err;

    if (a->read_pending || a->connect_pending || !a->ok ||
        a->fd == NO_SOCKET)
        return;
    if (!(bev->enabled & EV_READ) || a->bev.read_suspended)
        return;
    at_most = bufferevent_get_read_max_(&a->bev);
    if (bev->wm_read.high) {
        size_t len = evbuffer_get_length(bev->input);
        if (len >= bev->wm_read.high) {
            bufferevent_wm_suspend_read_(bev);
            return;
        }
        if ((size_t)at_most > bev->wm_read.high - len)
            at_most = (ev_ssize_t)(bev->wm_read.high - len);
    }
    if (a->bev.read_suspended || at_most <= 0)
        return;

    n = evbuffer_reserve_space(a->landing, at_most, a->read_vecs, 2);
    if (n < 1) {
        report_error(a, BEV_EVENT_READING, WSAENOBUFS);
        return;
    }
    left = (size_t)at_most;
    for (i = 0; i < n; ++i) {
        size_t len = a->read_vecs[i].iov_len < left ? a->read_vecs[i].iov_len
                                                    : left;
        a->read_vecs[i].iov_len = len;
        bufs[i].buf = a->read_vecs[i].iov_base;
        bufs[i].len = (ULONG)len;
        left -= len;
    }
    a->n_read_vecs = n;

    op_begin(a, &a->read_op);
    a->read_pending = 1;
    if (WSARecv(a->fd, bufs, (DWORD)n, NULL, &flags,
            &a->read_op.ov.overlapped, NULL) != 0 &&
        (err = WSAGetLastError()) != WSA_IO_PENDING) {
        a->read_pending = 0;
        report_error(a, BEV_EVENT_READING, err);
        op_end(a, &a->read_op);
    }
}

/* Commit what the kernel wrote into the landing space and move it to the
 * input buffer.  Lock held. */
static void
commit_read(struct bufferevent_async *a, size_t nbytes)
{
    struct evbuffer *input = a->bev.bev.input;
    int i, n = 0;

    for (i = 0; i < a->n_read_vecs && nbytes > 0; ++i) {
        if (a->read_vecs[i].iov_len > nbytes)
            a->read_vecs[i].iov_len = nbytes;
        nbytes -= a->read_vecs[i].iov_len;
        ++n;
    }
    if (evbuffer_commit_space(a->landing, a->read_vecs, n) < 0) {
        event_warnx("%s: cannot commit %d extents", __func__, n);
        return;
    }
    input->freeze_end = 0;
    evbuffer_add_buffer(input, a->landing);
    input->freeze_end = 1;
}

static void
read_done(struct event_callback *cb, void *arg)
{
    struct bufferevent_async *a = arg;
    struct bufferevent *bev = &a->bev.bev;
    ev_ssize_t nbytes = a->read_op.nbytes;

    (void)cb;
    BEV_LOCK(bev);
    a->read_pending = 0;
    event_base_del_virtual_(a->read_op.base);
    if (a->read_op.ok && nbytes > 0)
        commit_read(a, (size_t)nbytes);
    if (!a->ok)
        goto done;

    if (a->read_op.ok && nbytes > 0) {
        bufferevent_decrement_read_buckets_(&a->bev, nbytes);
        bufferevent_generic_adj_timeouts_(bev);
        bufferevent_trigger_nolock_(bev, EV_READ, 0);
        consider_reading(a);
    } else if (a->read_op.ok) {
        bufferevent_disable(bev, EV_READ);
        bufferevent_run_eventcb_(bev, BEV_EVENT_READING | BEV_EVENT_EOF, 0);
    } else {
        int err = op_error(a, &a->read_op);
        bufferevent_disable(bev, EV_READ);
        EVUTIL_SET_SOCKET_ERROR(err);
        bufferevent_run_eventcb_(bev, BEV_EVENT_READING | BEV_EVENT_ERROR,
            0);
    }
done:
    /* The reference of the operation. */
    bufferevent_decref_and_unlock_(bev);
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */

/* Gather up to at_most bytes from the front of the output into bufs,
 * pinning the chains.  Returns the number of buffers.  Lock held. */
static int
gather_output(struct bufferevent_async *a, WSABUF *bufs, size_t at_most)
{
    struct evbuffer *output = a->bev.bev.output;
    struct evbuffer_chain *ch;
    size_t total = 0;
    int n = 0;

    ch = output->first;
    if (ch && ch->buffer == NULL) {
        /* A file segment not read in yet: materialize it first. */
        output->freeze_start = 0;
        evbuffer_pullup(output, (ev_ssize_t)ch->off);
        output->freeze_start = 1;
        ch = output->first;
    }
    for (; ch && n < MAX_SEND_BUFS && total < at_most; ch = ch->next) {
        size_t len;
        if (ch->off == 0)
            continue;
        if (ch->buffer == NULL)
            break;
        len = ch->off < at_most - total ? ch->off : at_most - total;
        bufs[n].buf = (char *)EVBUFFER_CHAIN_DATA(ch);
        bufs[n].len = (ULONG)len;
        evbuffer_chain_pin_(ch, EVBUFFER_MEM_PINNED_W);
        a->write_chains[n++] = ch;
        total += len;
    }
    a->n_write_chains = n;
    a->write_len = total;
    return n;
}

static void
unpin_output(struct bufferevent_async *a)
{
    int i;

    for (i = 0; i < a->n_write_chains; ++i)
        evbuffer_chain_unpin_(a->write_chains[i], EVBUFFER_MEM_PINNED_W);
    a->n_write_chains = 0;
}

/* Start a WSASend if there is something to write and none is in flight.
 * Lock held. */
static void
consider_writing(struct bufferevent_async *a)
{
    struct bufferevent *bev = &a->bev.bev;
    WSABUF bufs[MAX_SEND_BUFS];
    ev_ssize_t at_most;
    int n, err;

    if (a->write_pending || a->connect_pending || !a->ok ||
        a->fd == NO_SOCKET)
        return;
    if (!(bev->enabled & EV_WRITE) || a->bev.write_suspended)
        return;
    if (evbuffer_get_length(bev->output) == 0)
        return;
    at_most = bufferevent_get_write_max_(&a->bev);
    if (a->bev.write_suspended || at_most <= 0)
        return;
    if ((n = gather_output(a, bufs, (size_t)at_most)) == 0)
        return;

    op_begin(a, &a->write_op);
    a->write_pending = 1;
    if (WSASend(a->fd, bufs, (DWORD)n, NULL, 0, &a->write_op.ov.overlapped,
            NULL) != 0 &&
        (err = WSAGetLastError()) != WSA_IO_PENDING) {
        a->write_pending = 0;
        unpin_output(a);
        report_error(a, BEV_EVENT_WRITING, err);
        op_end(a, &a->write_op);
    }
}

static void
write_done(struct event_callback *cb, void *arg)
{
    struct bufferevent_async *a = arg;
    struct bufferevent *bev = &a->bev.bev;
    ev_ssize_t nbytes = a->write_op.nbytes;

    (void)cb;
    BEV_LOCK(bev);
    a->write_pending = 0;
    event_base_del_virtual_(a->write_op.base);
    unpin_output(a);
    if (a->write_op.ok && nbytes > 0) {
        bev->output->freeze_start = 0;
        evbuffer_drain(bev->output, (size_t)nbytes);
        bev->output->freeze_start = 1;
    }
    if (!a->ok)
        goto done;

    if (a->write_op.ok && nbytes > 0) {
        bufferevent_decrement_write_buckets_(&a->bev, nbytes);
        bufferevent_generic_adj_timeouts_(bev);
        consider_writing(a);
        bufferevent_trigger_nolock_(bev, EV_WRITE, 0);
    } else if (a->write_op.ok) {
        /* Nothing taken of a non-empty send: the connection is gone. */
        bufferevent_disable(bev, EV_WRITE);
        bufferevent_run_eventcb_(bev, BEV_EVENT_WRITING | BEV_EVENT_EOF, 0);
    } else {
        int err = op_error(a, &a->write_op);
        bufferevent_disable(bev, EV_WRITE);
        EVUTIL_SET_SOCKET_ERROR(err);
        bufferevent_run_eventcb_(bev, BEV_EVENT_WRITING | BEV_EVENT_ERROR,
            0);
    }
done:
    bufferevent_decref_and_unlock_(bev);
}

/* New output while idle starts a send. */
static void
outbuf_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
    struct bufferevent_async *a = arg;

    (void)buf;
    if (info->n_added && !a->write_pending) {
        consider_writing(a);
        bufferevent_generic_adj_timeouts_(&a->bev.bev);
    }
}

/* ------------------------------------------------------------------ */
/* Connecting                                                          */

static void
connect_done(struct event_callback *cb, void *arg)
{
    struct bufferevent_async *a = arg;
    struct bufferevent *bev = &a->bev.bev;

    (void)cb;
    BEV_LOCK(bev);
    a->connect_pending = 0;
    event_base_del_virtual_(a->connect_op.base);
    if (!a->ok)
        goto done;
    if (a->connect_op.ok) {
        /* Makes getpeername, shutdown and friends work on the socket. */
        setsockopt(a->fd, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, NULL, 0);
        bufferevent_socket_set_conn_address_fd_(bev, a->fd);
        bufferevent_run_eventcb_(bev, BEV_EVENT_CONNECTED, 0);
        consider_reading(a);
        consider_writing(a);
        bufferevent_generic_adj_timeouts_(bev);
    } else {
        int err = op_error(a, &a->connect_op);
        /* Nothing more will work on this socket. */
        a->ok = 0;
        EVUTIL_SET_SOCKET_ERROR(err);
        bufferevent_run_eventcb_(bev, BEV_EVENT_ERROR, 0);
    }
done:
    bufferevent_decref_and_unlock_(bev);
}

/* Bind fd to the wildcard address of family (ConnectEx needs a bound
 * socket); a socket bound already is fine.  0 or -1. */
static int
bind_any(evutil_socket_t fd, int family)
{
    struct sockaddr_storage ss;
    int len;

    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = INADDR_ANY;
        len = sizeof(*sin);
    } else if (family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_addr = in6addr_any;
        len = sizeof(*sin6);
    } else {
        WSASetLastError(WSAEAFNOSUPPORT);
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 &&
        WSAGetLastError() != WSAEINVAL)
        return -1;
    return 0;
}

int
bufferevent_async_connect_(struct bufferevent *bev, const struct sockaddr *sa,
    int socklen)
{
    struct bufferevent_async *a = upcast(bev);
    const struct win32_extension_fns *ext = event_get_win32_extension_fns_();
    struct event_iocp_port *port;
    evutil_socket_t fd;
    int ownfd = 0, err, result = -1;

    if (a == NULL || sa == NULL || socklen <= 0) {
        WSASetLastError(WSAEINVAL);
        return -1;
    }
    if (ext->ConnectEx == NULL) {
        event_warnx("%s: ConnectEx is not available", __func__);
        WSASetLastError(WSAEOPNOTSUPP);
        return -1;
    }
    bufferevent_incref_and_lock_(bev);
    port = event_base_get_iocp_(bev->ev_base);
    if (a->connect_pending || port == NULL) {
        WSASetLastError(WSAEALREADY);
        goto done;
    }
    fd = a->fd;
    if (fd == NO_SOCKET) {
        fd = socket(sa->sa_family, SOCK_STREAM, IPPROTO_TCP);
        if (fd == NO_SOCKET)
            goto done;
        ownfd = 1;
        if (event_iocp_port_associate_(port, fd, 1) < 0)
            goto fail;
    }
    if (bind_any(fd, sa->sa_family) < 0)
        goto fail;
    a->fd = fd;
    a->ok = 1;
    a->connect_pending = 1;
    op_begin(a, &a->connect_op);
    if (!ext->ConnectEx(fd, sa, socklen, NULL, 0, NULL,
            &a->connect_op.ov.overlapped) &&
        (err = WSAGetLastError()) != ERROR_IO_PENDING) {
        a->connect_pending = 0;
        op_end(a, &a->connect_op);
        WSASetLastError(err);
        goto fail;
    }
    /* Done or pending: either way the completion reports it. */
    result = 0;
    goto done;

fail:
    if (ownfd) {
        err = WSAGetLastError();
        closesocket(fd);
        a->fd = NO_SOCKET;
        WSASetLastError(err);
    }
done:
    bufferevent_decref_and_unlock_(bev);
    return result;
}

/* ------------------------------------------------------------------ */
/* The ops                                                             */

static int
be_async_enable(struct bufferevent *bev, short what)
{
    struct bufferevent_async *a = upcast(bev);

    if (what & EV_READ)
        consider_reading(a);
    if (what & EV_WRITE)
        consider_writing(a);
    return bufferevent_generic_adj_timeouts_(bev);
}

/* In-flight operations go on; their data is kept, but no new ones start
 * (consider_* look at bev->enabled). */
static int
be_async_disable(struct bufferevent *bev, short what)
{
    (void)what;
    return bufferevent_generic_adj_timeouts_(bev);
}

static void
cancel_lookup(struct bufferevent *bev)
{
    struct bufferevent_private *p = BEV_UPCAST(bev);

    if (p->dns_request) {
        evutil_getaddrinfo_cancel_async_(p->dns_request);
        p->dns_request = NULL;
    }
}

/* bufferevent_free: stop everything in flight; the completions come back
 * with an error (or the data) and drop their references. */
static void
cancel_all(struct bufferevent_async *a)
{
    a->ok = 0;
    cancel_lookup(&a->bev.bev);
    if (a->fd == NO_SOCKET)
        return;
    if (a->bev.options & BEV_OPT_CLOSE_ON_FREE) {
        /* Closing a socket ends its overlapped I/O on Windows; Wine
         * sometimes leaves a pending send or receive without its
         * completion, so cancel them first (harmless where closing
         * would have). */
        if (a->read_pending || a->write_pending || a->connect_pending)
            (void)CancelIoEx((HANDLE)a->fd, NULL);
        closesocket(a->fd);
        a->fd = NO_SOCKET;
    } else if ((a->read_pending || a->write_pending || a->connect_pending) &&
               !CancelIoEx((HANDLE)a->fd, NULL) &&
               GetLastError() != ERROR_NOT_FOUND) {
        event_warnx("%s: CancelIoEx failed: %lu", __func__,
            (unsigned long)GetLastError());
    }
}

static void
be_async_destruct(struct bufferevent *bev)
{
    struct bufferevent_async *a = upcast(bev);

    cancel_lookup(bev);
    if ((a->bev.options & BEV_OPT_CLOSE_ON_FREE) &&
        a->fd != NO_SOCKET) {
        closesocket(a->fd);
        a->fd = NO_SOCKET;
    }
    if (a->landing)
        evbuffer_free(a->landing);
    a->landing = NULL;
}

static int
be_async_flush(struct bufferevent *bev, short iotype,
    enum bufferevent_flush_mode mode)
{
    (void)bev;
    (void)iotype;
    (void)mode;
    return 0;
}

static int
be_async_ctrl(struct bufferevent *bev, enum bufferevent_ctrl_op op,
    union bufferevent_ctrl_data *data)
{
    struct bufferevent_async *a = upcast(bev);
    struct event_iocp_port *port;

    switch (op) {
    case BEV_CTRL_GET_FD:
        data->fd = a->fd;
        return 0;
    case BEV_CTRL_SET_FD:
        if (a->read_pending || a->write_pending || a->connect_pending) {
            event_warnx("%s: cannot change the socket while I/O is "
                        "in flight",
                __func__);
            return -1;
        }
        port = event_base_get_iocp_(bev->ev_base);
        if (data->fd != NO_SOCKET && port &&
            event_iocp_port_associate_(port, data->fd, 1) < 0 &&
            GetLastError() != ERROR_INVALID_PARAMETER)
            return -1;
        cancel_lookup(bev);
        a->fd = data->fd;
        a->ok = data->fd != NO_SOCKET;
        consider_reading(a);
        consider_writing(a);
        return 0;
    case BEV_CTRL_CANCEL_ALL:
        cancel_all(a);
        return 0;
    case BEV_CTRL_GET_UNDERLYING:
    default:
        return -1;
    }
}

static void
init_op(struct bufferevent_async *a, struct async_op *op,
    struct event_base *base, deferred_cb_fn fn)
{
    event_overlapped_init_(&op->ov, op_complete);
    op->base = base;
    event_deferred_cb_init_(&op->done,
        (ev_uint8_t)(event_base_get_npriorities(base) / 2), fn, a);
}

struct bufferevent *
bufferevent_async_new_(struct event_base *base, evutil_socket_t fd,
    int options)
{
    struct bufferevent_async *a;
    struct bufferevent *bev;
    struct event_iocp_port *port = event_base_get_iocp_(base);

    if (port == NULL) {
        /* EVENT_BASE_FLAG_STARTUP_IOCP without a port (no threads). */
        event_warnx("%s: the base asked for IOCP but has no port "
                    "(evthread_use_windows_threads() not called?)",
            __func__);
        return NULL;
    }
    if (fd != NO_SOCKET &&
        event_iocp_port_associate_(port, fd, 1) < 0 &&
        GetLastError() != ERROR_INVALID_PARAMETER) {
        event_warnx("%s: cannot associate the socket with the port: %lu",
            __func__, (unsigned long)GetLastError());
        return NULL;
    }
    if ((a = mm_calloc(1, sizeof(*a))) == NULL)
        return NULL;
    /* The workers and the loop share it: it needs a lock. */
    if (bufferevent_init_common_(&a->bev, base, &bufferevent_ops_async,
            (enum bufferevent_options)(options | BEV_OPT_THREADSAFE)) < 0) {
        event_warnx("%s: cannot set up the bufferevent", __func__);
        mm_free(a);
        return NULL;
    }
    bev = &a->bev.bev;
    a->fd = fd;
    a->ok = 1;
    init_op(a, &a->read_op, base, read_done);
    init_op(a, &a->write_op, base, write_done);
    init_op(a, &a->connect_op, base, connect_done);
    bufferevent_init_generic_timeout_cbs_(bev);

    if ((a->landing = evbuffer_new()) == NULL ||
        evbuffer_add_cb(bev->output, outbuf_cb, a) == NULL) {
        /* The caller keeps its fd when we fail. */
        a->bev.options &= ~BEV_OPT_CLOSE_ON_FREE;
        bufferevent_decref_(bev);
        return NULL;
    }
    evbuffer_freeze(bev->input, 0);
    evbuffer_freeze(bev->output, 1);
    return bev;
}

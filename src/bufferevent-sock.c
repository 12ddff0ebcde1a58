/*
 * bufferevent-sock.c: bufferevents over a socket.
 *
 * bev->ev_read and bev->ev_write are persistent events on the socket,
 * registered with the base for real (old programs use &bev->ev_write with
 * event_*()).  The read event fills the input buffer, at most
 * max_single_read bytes (less when the rate limit or the high watermark
 * says so) per wake-up; the write event drains the output buffer, at most
 * max_single_write bytes per wake-up.
 *
 * Invariants:
 *  - the input buffer is frozen at its end and the output at its front
 *    except while we read into or write from them, so the user cannot
 *    add to the input or drain the output behind our back;
 *  - ev_write is pending (added, or activated to try a write at once)
 *    only while EV_WRITE is enabled, not suspended and the output buffer
 *    holds data, or while a connect is in progress (its completion is
 *    detected by writability).  New output activates it without a kernel
 *    call; it is registered with the kernel only when a write left data
 *    behind or a write timeout is set (see socket_outbuf_cb);
 *  - an error, EOF or timeout in one direction disables that direction
 *    before the event callback runs, as libevent 2.1 does, and the socket
 *    error is what the event callback sees in EVUTIL_SOCKET_ERROR().
 */
#include "event2/event-config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "event2/buffer.h"
#include "event2/bufferevent.h"
#include "event2/bufferevent_compat.h"
#include "event2/bufferevent_struct.h"
#include "event2/event.h"
#include "event2/event_struct.h"
#include "event2/util.h"

#include "bufferevent-internal.h"
#include "evbuffer-internal.h"
#include "event-internal.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"
#ifdef _WIN32
#include "iocp-internal.h"
#endif

static int be_socket_enable(struct bufferevent *, short);
static int be_socket_disable(struct bufferevent *, short);
static void be_socket_destruct(struct bufferevent *);
static int be_socket_flush(struct bufferevent *, short,
    enum bufferevent_flush_mode);
static int be_socket_ctrl(struct bufferevent *, enum bufferevent_ctrl_op,
    union bufferevent_ctrl_data *);

const struct bufferevent_ops bufferevent_ops_socket = {
    "socket",
    evutil_offsetof(struct bufferevent_private, bev),
    be_socket_enable,
    be_socket_disable,
    NULL, /* unlink */
    be_socket_destruct,
    bufferevent_generic_adj_existing_timeouts_,
    be_socket_flush,
    be_socket_ctrl,
};

/* ------------------------------------------------------------------ */
/* Peer address (for evhttp)                                           */

void
bufferevent_socket_set_conn_address_fd_(struct bufferevent *bev,
    evutil_socket_t fd)
{
    struct bufferevent_private *p = BEV_UPCAST(bev);
    ev_socklen_t len = sizeof(p->conn_address);
    struct sockaddr *addr = (struct sockaddr *)&p->conn_address;

    /* Only when connect_hostname has not told us already. */
    if (addr->sa_family == AF_UNSPEC)
        getpeername(fd, addr, &len);
}

void
bufferevent_socket_set_conn_address_(struct bufferevent *bev,
    const struct sockaddr *addr, size_t addrlen)
{
    struct bufferevent_private *p = BEV_UPCAST(bev);

    if (addrlen > sizeof(p->conn_address))
        addrlen = sizeof(p->conn_address);
    memcpy(&p->conn_address, addr, addrlen);
}

const struct sockaddr *
bufferevent_socket_get_conn_address_(struct bufferevent *bev)
{
    return (const struct sockaddr *)&BEV_UPCAST(bev)->conn_address;
}

/* ------------------------------------------------------------------ */
/* Data movement                                                       */

/* ev_write is added or queued to run.  Without a lock the bufferevent is
 * used from the loop's thread only, so its flags can be read directly
 * (saving a call that takes the base lock on the hot path). */
static int
write_event_busy(struct bufferevent *bufev)
{
    if (BEV_UPCAST(bufev)->lock == NULL)
        return (bufev->ev_write.ev_flags &
                   (EVLIST_INSERTED | EVLIST_ACTIVE | EVLIST_ACTIVE_LATER)) !=
            0;
    return event_pending(&bufev->ev_write, EV_WRITE, NULL) != 0;
}

/* Stop ev_write (no call when it is idle and nobody else can touch it). */
static void
write_event_stop(struct bufferevent *bufev)
{
    if (BEV_UPCAST(bufev)->lock == NULL &&
        !(bufev->ev_write.ev_flags &
            (EVLIST_INSERTED | EVLIST_ACTIVE | EVLIST_ACTIVE_LATER |
                EVLIST_TIMEOUT)))
        return;
    event_del(&bufev->ev_write);
}

/* Output-buffer callback: data added while we were idle starts the write
 * event.
 *
 * Without write timeouts we do not register the event with the kernel
 * first: the socket is almost always writable, so we activate ev_write
 * at once and socket_writecb tries the write from the loop (same
 * iteration).  Only when the kernel takes less than everything is the
 * event really added.  This saves an epoll_ctl to add EV_WRITE and
 * another to remove it per message.  A write timeout needs the timer of
 * a real event_add, and so does an ev_write whose persistent timeout is
 * still set (the loop would re-add it); those take the classic path. */
static void
socket_outbuf_cb(struct evbuffer *buf, const struct evbuffer_cb_info *cbinfo,
    void *arg)
{
    struct bufferevent *bufev = arg;
    struct bufferevent_private *p = BEV_UPCAST(bufev);

    (void)buf;
    if (cbinfo->n_added && (bufev->enabled & EV_WRITE) &&
        !p->write_suspended && bufev->ev_write.ev_fd >= 0 &&
        !write_event_busy(bufev)) {
        if (!p->connecting && !evutil_timerisset(&bufev->timeout_write) &&
            !evutil_timerisset(&bufev->ev_write.ev_io_timeout)) {
            event_active(&bufev->ev_write, EV_WRITE, 1);
            return;
        }
        if (bufferevent_add_event_(&bufev->ev_write, &bufev->timeout_write) <
            0)
            event_debug(("%s: cannot add write event", __func__));
    }
}

/* The read event (or its timeout) fired. */
static void
socket_readcb(evutil_socket_t fd, short event, void *arg)
{
    struct bufferevent *bufev = arg;
    struct bufferevent_private *p = BEV_UPCAST(bufev);
    struct evbuffer *input = bufev->input;
    short what = BEV_EVENT_READING;
    ev_ssize_t howmuch = -1, readmax;
    int res, err = 0;

    bufferevent_incref_and_lock_(bufev);
    if (event == EV_TIMEOUT) {
        /* Only a pure timeout counts: EV_TIMEOUT|EV_READ means data came
         * in time. */
        what |= BEV_EVENT_TIMEOUT;
        goto error;
    }

    /* Never read past the high watermark. */
    if (bufev->wm_read.high != 0) {
        size_t len = input->total_len;
        if (len >= bufev->wm_read.high) {
            bufferevent_wm_suspend_read_(bufev);
            goto done;
        }
        howmuch = (ev_ssize_t)(bufev->wm_read.high - len);
    }
    readmax = bufferevent_get_read_max_(p);
    if (howmuch < 0 || howmuch > readmax)
        howmuch = readmax;
    if (p->read_suspended || howmuch <= 0)
        goto done;
    /* evbuffer_read takes an int (and reads at most max_read anyway). */
    if (howmuch > EV_INT32_MAX)
        howmuch = EV_INT32_MAX;

    /* Our lock is the buffer's: flip the freeze flag in place. */
    input->freeze_end = 0;
    res = evbuffer_read(input, fd, (int)howmuch);
    err = EVUTIL_SOCKET_ERROR();
    input->freeze_end = 1;

    if (res == -1) {
        if (EVUTIL_ERR_RW_RETRIABLE(err))
            goto done;
        if (EVUTIL_ERR_CONNECT_REFUSED(err) && p->connecting) {
            /* The connect failed; the write event reports it. */
            p->connection_refused = 1;
            goto done;
        }
        what |= BEV_EVENT_ERROR;
        goto error;
    } else if (res == 0) {
        what |= BEV_EVENT_EOF;
        goto error;
    }

    bufferevent_decrement_read_buckets_(p, res);
    /* Last: the callback may free the bufferevent (we hold a reference). */
    bufferevent_trigger_nolock_(bufev, EV_READ, 0);
    goto done;

error:
    bufferevent_disable(bufev, EV_READ);
    EVUTIL_SET_SOCKET_ERROR(err);
    bufferevent_run_eventcb_(bufev, what, 0);
done:
    bufferevent_decref_and_unlock_(bufev);
}

/* A connect in progress reported writability: tell the user how it went.
 * Returns 1 if the write callback should go on with writing, 0 if it is
 * done. */
static int
finish_connecting(struct bufferevent *bufev, evutil_socket_t fd)
{
    struct bufferevent_private *p = BEV_UPCAST(bufev);
    int c, err = 0;

    c = evutil_socket_finished_connecting_(fd);
    if (c < 0)
        err = EVUTIL_SOCKET_ERROR();
    if (p->connection_refused) {
        /* The read side already consumed the ECONNREFUSED. */
        p->connection_refused = 0;
        c = -1;
        err = ECONNREFUSED;
    }
    if (c == 0)
        return 0;

    p->connecting = 0;
    if (c < 0) {
        event_del(&bufev->ev_write);
        event_del(&bufev->ev_read);
        EVUTIL_SET_SOCKET_ERROR(err);
        bufferevent_run_eventcb_(bufev, BEV_EVENT_ERROR, 0);
        return 0;
    }
    bufferevent_socket_set_conn_address_fd_(bufev, fd);
    bufferevent_run_eventcb_(bufev, BEV_EVENT_CONNECTED, 0);
    if (!(bufev->enabled & EV_WRITE) || p->write_suspended) {
        event_del(&bufev->ev_write);
        return 0;
    }
    return 1;
}

/* The write event (or its timeout) fired. */
static void
socket_writecb(evutil_socket_t fd, short event, void *arg)
{
    struct bufferevent *bufev = arg;
    struct bufferevent_private *p = BEV_UPCAST(bufev);
    short what = BEV_EVENT_WRITING;
    int connected = 0, res = 0, err = 0;
    ev_ssize_t atmost;

    bufferevent_incref_and_lock_(bufev);
    if (event == EV_TIMEOUT) {
        what |= BEV_EVENT_TIMEOUT;
        goto error;
    }
    if (p->connecting) {
        if (!finish_connecting(bufev, fd))
            goto done;
        connected = 1;
    }

    atmost = bufferevent_get_write_max_(p);
    if (p->write_suspended)
        goto done;

    if (bufev->output->total_len && atmost > 0) {
        bufev->output->freeze_start = 0;
        res = evbuffer_write_atmost(bufev->output, fd, atmost);
        err = EVUTIL_SOCKET_ERROR();
        bufev->output->freeze_start = 1;
        if (res == -1) {
            if (EVUTIL_ERR_RW_RETRIABLE(err)) {
                res = 0;
                goto drained;
            }
            what |= BEV_EVENT_ERROR;
            goto error;
        } else if (res == 0) {
            /* A zero-byte write of a non-empty buffer: treat the
             * connection as closed, as libevent does. */
            what |= BEV_EVENT_EOF;
            goto error;
        }
        bufferevent_decrement_write_buckets_(p, res);
    }

drained:
    if (bufev->output->total_len == 0) {
        write_event_stop(bufev);
    } else if (!write_event_busy(bufev) &&
               (bufev->enabled & EV_WRITE) && !p->write_suspended) {
        /* An activation by socket_outbuf_cb that could not send it all:
         * now wait for the kernel to take more. */
        if (bufferevent_add_event_(&bufev->ev_write, &bufev->timeout_write) <
            0) {
            what |= BEV_EVENT_ERROR;
            goto error;
        }
    }
    /* Tell the user when data went out (or the event fired with nothing
     * to send), if the output is down to the low watermark.  Not right
     * after CONNECTED with nothing written. */
    if (res > 0 || (!connected && err == 0))
        bufferevent_trigger_nolock_(bufev, EV_WRITE, 0);
    goto done;

error:
    bufferevent_disable(bufev, EV_WRITE);
    EVUTIL_SET_SOCKET_ERROR(err);
    bufferevent_run_eventcb_(bufev, what, 0);
done:
    bufferevent_decref_and_unlock_(bufev);
}

/* ------------------------------------------------------------------ */
/* Creation and the fd                                                 */

static void
assign_events(struct bufferevent *bufev, evutil_socket_t fd)
{
    event_assign(&bufev->ev_read, bufev->ev_base, fd,
        EV_READ | EV_PERSIST | EV_FINALIZE, socket_readcb, bufev);
    event_assign(&bufev->ev_write, bufev->ev_base, fd,
        EV_WRITE | EV_PERSIST | EV_FINALIZE, socket_writecb, bufev);
}

struct bufferevent *
bufferevent_socket_new(struct event_base *base, evutil_socket_t fd,
    int options)
{
    struct bufferevent_private *p;
    struct bufferevent *bufev;

#ifdef _WIN32
    {
        /* As libevent: a base with IOCP makes IOCP bufferevents. */
        struct event_base *b = base ? base : event_global_current_base_;
        if (b && (b->iocp || (b->flags & EVENT_BASE_FLAG_STARTUP_IOCP)))
            return bufferevent_async_new_(b, fd, options);
    }
#endif
    if ((p = mm_calloc(1, sizeof(*p))) == NULL)
        return NULL;
    if (bufferevent_init_common_(p, base, &bufferevent_ops_socket,
            (enum bufferevent_options)options) < 0) {
        mm_free(p);
        return NULL;
    }
    bufev = &p->bev;
    evbuffer_set_flags(bufev->output, EVBUFFER_FLAG_DRAINS_TO_FD);
    assign_events(bufev, fd);

    if (evbuffer_add_cb(bufev->output, socket_outbuf_cb, bufev) == NULL) {
        /* The caller keeps its fd when we fail. */
        p->options &= ~BEV_OPT_CLOSE_ON_FREE;
        bufferevent_decref_(bufev);
        return NULL;
    }
    evbuffer_freeze(bufev->input, 0);
    evbuffer_freeze(bufev->output, 1);
    return bufev;
}

/* Switch to a new fd (possibly -1), keeping what the user enabled. */
static void
be_socket_setfd(struct bufferevent *bufev, evutil_socket_t fd)
{
    struct bufferevent_private *p = BEV_UPCAST(bufev);

    event_del(&bufev->ev_read);
    event_del(&bufev->ev_write);
    assign_events(bufev, fd);
    if (fd >= 0)
        bufferevent_enable(bufev, bufev->enabled);
    if (p->dns_request) {
        evutil_getaddrinfo_cancel_async_(p->dns_request);
        p->dns_request = NULL;
    }
}

/* Without an fd the events are added all the same, as by libevent: the
 * core never polls fd -1, but the timeouts run (setfd and connect assign
 * the real fd later). */
static int
be_socket_enable(struct bufferevent *bufev, short event)
{
    if ((event & EV_READ) &&
        bufferevent_add_event_(&bufev->ev_read, &bufev->timeout_read) < 0)
        return -1;
    if ((event & EV_WRITE) &&
        bufferevent_add_event_(&bufev->ev_write, &bufev->timeout_write) < 0)
        return -1;
    return 0;
}

static int
be_socket_disable(struct bufferevent *bufev, short event)
{
    struct bufferevent_private *p = BEV_UPCAST(bufev);

    if ((event & EV_READ) && event_del(&bufev->ev_read) < 0)
        return -1;
    /* A connect in progress needs the write event to finish. */
    if ((event & EV_WRITE) && !p->connecting &&
        event_del(&bufev->ev_write) < 0)
        return -1;
    return 0;
}

static void
be_socket_destruct(struct bufferevent *bufev)
{
    struct bufferevent_private *p = BEV_UPCAST(bufev);
    evutil_socket_t fd = event_get_fd(&bufev->ev_read);

    if ((p->options & BEV_OPT_CLOSE_ON_FREE) && fd >= 0)
        evutil_closesocket(fd);
    if (p->dns_request) {
        evutil_getaddrinfo_cancel_async_(p->dns_request);
        p->dns_request = NULL;
    }
}

static int
be_socket_flush(struct bufferevent *bev, short iotype,
    enum bufferevent_flush_mode mode)
{
    (void)bev;
    (void)iotype;
    (void)mode;
    return 0;
}

static int
be_socket_ctrl(struct bufferevent *bev, enum bufferevent_ctrl_op op,
    union bufferevent_ctrl_data *data)
{
    struct bufferevent_private *p = BEV_UPCAST(bev);

    switch (op) {
    case BEV_CTRL_SET_FD:
        be_socket_setfd(bev, data->fd);
        return 0;
    case BEV_CTRL_GET_FD:
        data->fd = event_get_fd(&bev->ev_read);
        return 0;
    case BEV_CTRL_CANCEL_ALL:
        if (p->dns_request) {
            evutil_getaddrinfo_cancel_async_(p->dns_request);
            p->dns_request = NULL;
        }
        return 0;
    case BEV_CTRL_GET_UNDERLYING:
    default:
        return -1;
    }
}

int
bufferevent_priority_set(struct bufferevent *bufev, int priority)
{
    struct bufferevent_private *p;
    int r = -1;

    EV_REFUSE_NULL_(bufev, -1);
    p = BEV_UPCAST(bufev);
    BEV_LOCK(bufev);
    if (!BEV_IS_SOCKET(bufev))
        goto done;
    if (event_priority_set(&bufev->ev_read, priority) == -1)
        goto done;
    /* An ev_write that waits to run without being added is the one
     * socket_outbuf_cb activated at once, where libevent would only have
     * added it (and accepted the new priority): move it. */
    if (event_priority_set(&bufev->ev_write, priority) == -1 &&
        (!(bufev->ev_write.ev_flags & EVLIST_ACTIVE) ||
            (bufev->ev_write.ev_flags & EVLIST_INSERTED) ||
            event_priority_set_queued_(&bufev->ev_write, priority) == -1))
        goto done;
    event_deferred_cb_set_priority_(&p->deferred, (ev_uint8_t)priority);
    r = 0;
done:
    BEV_UNLOCK(bufev);
    return r;
}

int
bufferevent_base_set(struct event_base *base, struct bufferevent *bufev)
{
    int r = -1;

    /* Checked before anything changes: a NULL base would be stored in
     * bufev before event_base_set() refused it. */
    EV_REFUSE_NULL_(base, -1);
    EV_REFUSE_NULL_(bufev, -1);
    BEV_LOCK(bufev);
    if (!BEV_IS_SOCKET(bufev))
        goto done;
    bufev->ev_base = base;
    if (event_base_set(base, &bufev->ev_read) == -1)
        goto done;
    r = event_base_set(base, &bufev->ev_write);
done:
    BEV_UNLOCK(bufev);
    return r;
}

struct bufferevent *
bufferevent_new(evutil_socket_t fd, bufferevent_data_cb readcb,
    bufferevent_data_cb writecb, bufferevent_event_cb eventcb, void *cbarg)
{
    struct bufferevent *bufev;

    if ((bufev = bufferevent_socket_new(NULL, fd, 0)) == NULL)
        return NULL;
    bufferevent_setcb(bufev, readcb, writecb, eventcb, cbarg);
    return bufev;
}

/* ------------------------------------------------------------------ */
/* Connecting                                                          */

int
bufferevent_socket_connect(struct bufferevent *bev, const struct sockaddr *sa,
    int socklen)
{
    struct bufferevent_private *p;
    evutil_socket_t fd;
    int r = 0, result = -1, ownfd = 0, err;

    /* sa may be NULL when bev has an fd already connected or
     * connecting: then only the write event is armed. */
    EV_REFUSE_NULL_(bev, -1);
    p = BEV_UPCAST(bev);
#ifdef _WIN32
    if (BEV_IS_ASYNC(bev))
        return bufferevent_async_connect_(bev, sa, socklen);
#endif
    /* Only sockets connect (libevent does not check). */
    if (!BEV_IS_SOCKET(bev))
        return -1;
    bufferevent_incref_and_lock_(bev);
    fd = bufferevent_getfd(bev);
    if (fd < 0) {
        if (!sa) {
            evutil_refuse_null_(__func__, "sa");
            goto done;
        }
        fd = evutil_socket_(sa->sa_family, SOCK_STREAM | EVUTIL_SOCK_NONBLOCK,
            0);
        if (fd < 0)
            goto done;
        ownfd = 1;
    }
    if (sa) {
        r = evutil_socket_connect_(&fd, sa, socklen);
        if (r < 0)
            goto freesock;
    }
    err = EVUTIL_SOCKET_ERROR();
    bufferevent_setfd(bev, fd);

    if (r == 2) {
        /* Refused at once (typical on loopback): report it from the loop
         * so the caller sees 0 first, as with a refusal found later. */
        EVUTIL_SET_SOCKET_ERROR(err);
        bufferevent_run_eventcb_(bev, BEV_EVENT_ERROR,
            BEV_OPT_DEFER_CALLBACKS);
        bufferevent_disable(bev, EV_WRITE | EV_READ);
        result = 0;
        goto done;
    }
    /* In progress (0) or already connected (1): either way the write
     * event tells us, and reports BEV_EVENT_CONNECTED. */
    p->connecting = 1;
    if (be_socket_enable(bev, EV_WRITE) < 0) {
        p->connecting = 0;
        if (ownfd) {
            bufferevent_setfd(bev, -1);
            goto freesock;
        }
        goto done;
    }
    result = 0;
    goto done;

freesock:
    if (ownfd) {
        err = EVUTIL_SOCKET_ERROR();
        evutil_closesocket(fd);
        EVUTIL_SET_SOCKET_ERROR(err);
    }
done:
    bufferevent_decref_and_unlock_(bev);
    return result;
}

/* The lookup of connect_hostname finished (at once, when it blocked). */
static void
connect_getaddrinfo_cb(int result, struct evutil_addrinfo *ai, void *arg)
{
    struct bufferevent *bev = arg;
    struct bufferevent_private *p = BEV_UPCAST(bev);

    BEV_LOCK(bev);
    bufferevent_unsuspend_write_(bev, BEV_SUSPEND_LOOKUP);
    bufferevent_unsuspend_read_(bev, BEV_SUSPEND_LOOKUP);
    p->dns_request = NULL;

    if (result == EVUTIL_EAI_CANCEL) {
        /* Cancelled by free or setfd: say nothing. */
        p->dns_error = result;
    } else if (result != 0) {
        p->dns_error = result;
        bufferevent_run_eventcb_(bev, BEV_EVENT_ERROR, 0);
    } else {
        /* Like libevent, try the first address only. */
        bufferevent_socket_set_conn_address_(bev, ai->ai_addr,
            ai->ai_addrlen);
        if (bufferevent_socket_connect(bev, ai->ai_addr,
                (int)ai->ai_addrlen) < 0)
            bufferevent_run_eventcb_(bev, BEV_EVENT_ERROR, 0);
    }
    /* Drops the reference taken when the lookup started. */
    bufferevent_decref_and_unlock_(bev);
    if (ai)
        evutil_freeaddrinfo(ai);
}

/*
 * Without an evdns_base (or while no resolver library has registered
 * itself with evutil) the lookup is a blocking getaddrinfo() and its
 * result, success or failure, is handled before this returns: a failure
 * runs the event callback with BEV_EVENT_ERROR (deferred only with
 * BEV_OPT_DEFER_CALLBACKS) and still returns 0, as libevent does.
 */
int
bufferevent_socket_connect_hostname(struct bufferevent *bev,
    struct evdns_base *evdns_base, int family, const char *hostname, int port)
{
    struct bufferevent_private *p;
    struct evutil_addrinfo hint;
    struct evdns_getaddrinfo_request *req;
    char portbuf[16];

    /* A NULL hostname is getaddrinfo's: the loopback address, as with
     * libevent; evdns_base is optional (NULL: a blocking lookup). */
    EV_REFUSE_NULL_(bev, -1);
    p = BEV_UPCAST(bev);
#ifdef _WIN32
    if (!BEV_IS_SOCKET(bev) && !BEV_IS_ASYNC(bev))
        return -1;
#else
    if (!BEV_IS_SOCKET(bev))
        return -1;
#endif
    if (family != AF_INET && family != AF_INET6 && family != AF_UNSPEC)
        return -1;
    if (port < 1 || port > 65535)
        return -1;

    memset(&hint, 0, sizeof(hint));
    hint.ai_family = family;
    hint.ai_protocol = IPPROTO_TCP;
    hint.ai_socktype = SOCK_STREAM;
    evutil_snprintf(portbuf, sizeof(portbuf), "%d", port);

    BEV_LOCK(bev);
    p->dns_error = 0;
    bufferevent_suspend_write_(bev, BEV_SUSPEND_LOOKUP);
    bufferevent_suspend_read_(bev, BEV_SUSPEND_LOOKUP);
    /* Held until connect_getaddrinfo_cb has run. */
    bufferevent_incref_(bev);
    req = evutil_getaddrinfo_async_(evdns_base, hostname, portbuf, &hint,
        connect_getaddrinfo_cb, bev);
    /* A blocking lookup has already called back and returned NULL. */
    if (req)
        p->dns_request = req;
    BEV_UNLOCK(bev);
    return 0;
}

int
bufferevent_socket_get_dns_error(struct bufferevent *bev)
{
    int r;

    EV_REFUSE_NULL_(bev, -1);
    BEV_LOCK(bev);
    r = BEV_UPCAST(bev)->dns_error;
    BEV_UNLOCK(bev);
    return r;
}

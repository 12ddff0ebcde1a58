/*
 * listener.c: evconnlistener, accepting connections on a listening socket.
 *
 * A persistent read event on the socket accepts connections until accept()
 * would block, handing each (non-blocking unless
 * LEV_OPT_LEAVE_SOCKETS_BLOCKING, close-on-exec with LEV_OPT_CLOSE_ON_EXEC)
 * to the user's callback.
 *
 * Accept errors.  EAGAIN, EINTR and ECONNABORTED are ignored, as in
 * libevent.  Any other error (EMFILE, ENFILE, ENOBUFS, ...) leaves the
 * pending connection in the backlog, so the socket stays readable: libevent
 * 2.1 calls the error callback and returns, and its loop then spins at full
 * CPU calling the error callback again and again until descriptors free
 * up.  We instead:
 *  - call the error callback once per run of failures (errno as accept
 *    left it); without one, log a warning once per run;
 *  - take the socket out of the loop and retry from a timer, after 10 ms,
 *    then doubling up to 500 ms, while the failures go on;
 *  - end the run at the first successful accept (the next failure calls
 *    the error callback again).
 * evconnlistener_disable() cancels a pending retry; evconnlistener_enable()
 * during one leaves it to the timer, so an error callback that disables
 * and re-enables the listener does not bring the spin back.
 *
 * Invariants: refcnt counts the user's reference plus one per callback
 * running with the lock released; the listener is destroyed when it drops
 * to zero.  The lock (LEV_OPT_THREADSAFE with threads set up) is never
 * held while a user callback runs or while waiting for our own event in
 * another thread.
 */
#include "event2/event-config.h"

#include <errno.h>
#include <string.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "event2/event.h"
#include "event2/event_struct.h"
#include "event2/listener.h"
#include "event2/thread.h"
#include "event2/util.h"

#include "event-internal.h"
#include "evthread-internal.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"
#ifdef _WIN32
#include "iocp-internal.h"
#endif

#define BACKOFF_FIRST_USEC 10000
#define BACKOFF_MAX_USEC 500000

struct evconnlistener {
    /* EV_READ|EV_PERSIST on the listening socket. */
    struct event listener;
    /* Puts listener back after an accept error. */
    struct event backoff;
    void *lock;
    evconnlistener_cb cb;
    evconnlistener_errorcb errorcb;
    void *user_data;
    unsigned flags;
    int refcnt;
    int accept4_flags;
    /* The user wants connections (enable/disable). */
    unsigned enabled : 1;
    /* listener is out of the loop until backoff fires. */
    unsigned backing_off : 1;
    /* In a run of accept errors: the error callback has been called. */
    unsigned in_error : 1;
    long backoff_usec;
#ifdef _WIN32
    /* AcceptEx machinery on a base with IOCP (listener-iocp.c), which
     * then owns lock; listener is assigned but never added. */
    struct listener_iocp *iocp;
#endif
};

#define LOCK(lev) EVLOCK_LOCK((lev)->lock, 0)
#define UNLOCK(lev) EVLOCK_UNLOCK((lev)->lock, 0)

/* Drop a reference; destroys the listener on the last.  Lock held on
 * entry, released on return.  Returns 1 if destroyed. */
static int
listener_decref_and_unlock(struct evconnlistener *lev)
{
    void *lock = lev->lock;

    if (--lev->refcnt) {
        UNLOCK(lev);
        return 0;
    }
    event_del(&lev->listener);
    event_del(&lev->backoff);
    if (lev->flags & LEV_OPT_CLOSE_ON_FREE)
        evutil_closesocket(event_get_fd(&lev->listener));
    event_debug_unassign(&lev->listener);
    event_debug_unassign(&lev->backoff);
#ifdef _WIN32
    if (lev->iocp) {
        struct listener_iocp *li = lev->iocp;
        mm_free(lev);
        /* Releases the lock, which is li's. */
        listener_iocp_detach_and_unlock_(li);
        return 1;
    }
#endif
    UNLOCK(lev);
    EVTHREAD_FREE_LOCK(lock, EVTHREAD_LOCKTYPE_RECURSIVE);
    mm_free(lev);
    return 1;
}

/* Add the socket to the loop if the user wants connections and no retry
 * is pending.  Lock held. */
static int
listener_arm(struct evconnlistener *lev)
{
    if (!lev->enabled || !lev->cb || lev->backing_off)
        return 0;
#ifdef _WIN32
    if (lev->iocp)
        return listener_iocp_enable_(lev->iocp);
#endif
    return event_add(&lev->listener, NULL);
}

static void
backoff_cb(evutil_socket_t fd, short what, void *arg)
{
    struct evconnlistener *lev = arg;

    (void)fd;
    (void)what;
    LOCK(lev);
    lev->backing_off = 0;
    listener_arm(lev);
    UNLOCK(lev);
}

/* accept() failed with err, which will not go away by itself.  Lock held
 * on entry, released on return. */
static void
accept_failed(struct evconnlistener *lev, evutil_socket_t fd, int err)
{
    struct timeval tv;

    if (lev->in_error) {
        /* Still failing: wait longer before the next attempt. */
        lev->backoff_usec *= 2;
        if (lev->backoff_usec > BACKOFF_MAX_USEC)
            lev->backoff_usec = BACKOFF_MAX_USEC;
    } else {
        lev->in_error = 1;
        lev->backoff_usec = BACKOFF_FIRST_USEC;
        if (lev->errorcb) {
            evconnlistener_errorcb errorcb = lev->errorcb;
            void *user_data = lev->user_data;
            ++lev->refcnt;
            UNLOCK(lev);
            EVUTIL_SET_SOCKET_ERROR(err);
            errorcb(lev, user_data);
            LOCK(lev);
            if (lev->refcnt == 1) {
                /* Freed by the callback. */
                listener_decref_and_unlock(lev);
                return;
            }
            --lev->refcnt;
        } else {
            EVUTIL_SET_SOCKET_ERROR(err);
            event_sock_warn(fd, "Error from accept() call");
        }
    }
    /* Disabled (perhaps by the error callback): nothing to retry. */
    if (lev->enabled && lev->cb && !lev->backing_off) {
        event_del(&lev->listener);
        lev->backing_off = 1;
        tv.tv_sec = 0;
        tv.tv_usec = lev->backoff_usec;
        if (event_add(&lev->backoff, &tv) < 0) {
            lev->backing_off = 0;
            listener_arm(lev);
        }
    }
    UNLOCK(lev);
}

static void
listener_read_cb(evutil_socket_t fd, short what, void *p)
{
    struct evconnlistener *lev = p;
    evconnlistener_cb cb;
    void *user_data;
    int err;

    (void)what;
    LOCK(lev);
    for (;;) {
        struct sockaddr_storage ss;
        ev_socklen_t socklen = sizeof(ss);
        evutil_socket_t new_fd = evutil_accept4_(fd, (struct sockaddr *)&ss,
            &socklen, lev->accept4_flags);
        if (new_fd < 0)
            break;
        lev->in_error = 0;
        if (socklen == 0) {
            /* Seen from old kernels on half-open probes. */
            evutil_closesocket(new_fd);
            continue;
        }
        if (lev->cb == NULL) {
            evutil_closesocket(new_fd);
            UNLOCK(lev);
            return;
        }
        ++lev->refcnt;
        cb = lev->cb;
        user_data = lev->user_data;
        UNLOCK(lev);
        cb(lev, new_fd, (struct sockaddr *)&ss, (int)socklen, user_data);
        LOCK(lev);
        if (lev->refcnt == 1) {
            /* The callback freed the listener. */
            listener_decref_and_unlock(lev);
            return;
        }
        --lev->refcnt;
        if (!lev->enabled || lev->backing_off) {
            /* The callback disabled us. */
            UNLOCK(lev);
            return;
        }
    }
    err = EVUTIL_SOCKET_ERROR();
    if (EVUTIL_ERR_ACCEPT_RETRIABLE(err)) {
        UNLOCK(lev);
        return;
    }
    accept_failed(lev, fd, err);
}

#ifdef _WIN32
int
evconnlistener_deliver_(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int socklen)
{
    evconnlistener_cb cb = lev->cb;
    void *user_data = lev->user_data;

    lev->in_error = 0;
    if (cb == NULL) {
        evutil_closesocket(fd);
        return 0;
    }
    ++lev->refcnt;
    UNLOCK(lev);
    cb(lev, fd, sa, socklen, user_data);
    LOCK(lev);
    if (lev->refcnt == 1) {
        /* The callback freed the listener. */
        listener_decref_and_unlock(lev);
        return 1;
    }
    --lev->refcnt;
    return 0;
}
#endif

struct evconnlistener *
evconnlistener_new(struct event_base *base, evconnlistener_cb cb, void *ptr,
    unsigned flags, int backlog, evutil_socket_t fd)
{
    struct evconnlistener *lev;

    /* As event_assign(): no base means the current one (event_init). */
    if (base == NULL)
        base = event_global_current_base_;
    EV_REFUSE_NULL_(base, NULL);
    if (backlog > 0) {
        if (listen(fd, backlog) < 0)
            return NULL;
    } else if (backlog < 0) {
        if (listen(fd, 128) < 0)
            return NULL;
    }
    /* backlog 0: the socket is listening already. */

    if ((lev = mm_calloc(1, sizeof(*lev))) == NULL)
        return NULL;
    lev->cb = cb;
    lev->user_data = ptr;
    lev->flags = flags;
    lev->refcnt = 1;
    if (!(flags & LEV_OPT_LEAVE_SOCKETS_BLOCKING))
        lev->accept4_flags |= EVUTIL_SOCK_NONBLOCK;
    if (flags & LEV_OPT_CLOSE_ON_EXEC)
        lev->accept4_flags |= EVUTIL_SOCK_CLOEXEC;
    if (flags & LEV_OPT_THREADSAFE)
        EVTHREAD_ALLOC_LOCK(lev->lock, EVTHREAD_LOCKTYPE_RECURSIVE);

    if (event_assign(&lev->listener, base, fd, EV_READ | EV_PERSIST,
            listener_read_cb, lev) < 0 ||
        event_assign(&lev->backoff, base, -1, 0, backoff_cb, lev) < 0) {
        EVTHREAD_FREE_LOCK(lev->lock, EVTHREAD_LOCKTYPE_RECURSIVE);
        mm_free(lev);
        return NULL;
    }
#ifdef _WIN32
    /* As libevent: AcceptEx on a base with IOCP (else, as without
     * threads, the select listener). */
    if (event_base_get_iocp_(base)) {
        void *lock = NULL;
        lev->iocp = listener_iocp_new_(lev, base, fd, flags, &lock);
        if (lev->iocp) {
            EVTHREAD_FREE_LOCK(lev->lock, EVTHREAD_LOCKTYPE_RECURSIVE);
            lev->lock = lock;
        }
    }
#endif
    if (!(flags & LEV_OPT_DISABLED) && evconnlistener_enable(lev) < 0) {
        /* libevent 2.1 ignores this and hands back a listener that never
         * accepts; report it instead.  The caller still owns fd. */
        int err = errno;

        event_debug_unassign(&lev->listener);
        event_debug_unassign(&lev->backoff);
#ifdef _WIN32
        if (lev->iocp) {
            struct listener_iocp *li = lev->iocp;
            LOCK(lev);
            mm_free(lev);
            listener_iocp_detach_and_unlock_(li);
            errno = err;
            return NULL;
        }
#endif
        EVTHREAD_FREE_LOCK(lev->lock, EVTHREAD_LOCKTYPE_RECURSIVE);
        mm_free(lev);
        errno = err;
        return NULL;
    }
    return lev;
}

struct evconnlistener *
evconnlistener_new_bind(struct event_base *base, evconnlistener_cb cb,
    void *ptr, unsigned flags, int backlog, const struct sockaddr *sa,
    int socklen)
{
    struct evconnlistener *listener;
    evutil_socket_t fd;
    int on = 1;
    int family;
    int socktype = SOCK_STREAM | EVUTIL_SOCK_NONBLOCK;
    int err;

    if (base == NULL)
        base = event_global_current_base_;
    EV_REFUSE_NULL_(base, NULL);
    EV_REFUSE_NULL_(sa, NULL);
    /* We must call listen() ourselves. */
    if (backlog == 0)
        return NULL;
    if (flags & LEV_OPT_CLOSE_ON_EXEC)
        socktype |= EVUTIL_SOCK_CLOEXEC;

    family = sa->sa_family;
    if ((fd = evutil_socket_(family, socktype, 0)) < 0)
        return NULL;
    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, (void *)&on, sizeof(on)) < 0)
        goto err;
    if ((flags & LEV_OPT_REUSEABLE) &&
        evutil_make_listen_socket_reuseable(fd) < 0)
        goto err;
    if ((flags & LEV_OPT_REUSEABLE_PORT) &&
        evutil_make_listen_socket_reuseable_port(fd) < 0)
        goto err;
    if ((flags & LEV_OPT_DEFERRED_ACCEPT) &&
        evutil_make_tcp_listen_socket_deferred(fd) < 0)
        goto err;
    if ((flags & LEV_OPT_BIND_IPV6ONLY) &&
        evutil_make_listen_socket_ipv6only(fd) < 0)
        goto err;
    if (bind(fd, sa, (ev_socklen_t)socklen) < 0)
        goto err;

    listener = evconnlistener_new(base, cb, ptr, flags, backlog, fd);
    if (!listener)
        goto err;
    return listener;

err:
    err = EVUTIL_SOCKET_ERROR();
    evutil_closesocket(fd);
    EVUTIL_SET_SOCKET_ERROR(err);
    return NULL;
}

void
evconnlistener_free(struct evconnlistener *lev)
{
    /* NULL is accepted silently, as free(NULL) is. */
    if (lev == NULL)
        return;
    LOCK(lev);
    lev->cb = NULL;
    lev->errorcb = NULL;
    lev->enabled = 0;
    UNLOCK(lev);
    /* Without the lock: event_del may wait for our callback running in
     * another thread, and that callback needs the lock to finish. */
    event_del(&lev->listener);
    event_del(&lev->backoff);
    LOCK(lev);
    lev->backing_off = 0;
    listener_decref_and_unlock(lev);
}

int
evconnlistener_enable(struct evconnlistener *lev)
{
    int r;

    EV_REFUSE_NULL_(lev, -1);
    LOCK(lev);
    lev->enabled = 1;
    r = listener_arm(lev);
    UNLOCK(lev);
    return r;
}

int
evconnlistener_disable(struct evconnlistener *lev)
{
    int r;

    EV_REFUSE_NULL_(lev, -1);
    LOCK(lev);
    lev->enabled = 0;
    lev->backing_off = 0;
#ifdef _WIN32
    if (lev->iocp) {
        listener_iocp_disable_(lev->iocp);
        UNLOCK(lev);
        return 0;
    }
#endif
    UNLOCK(lev);
    /* Without the lock, as in evconnlistener_free(). */
    event_del(&lev->backoff);
    r = event_del(&lev->listener);
    return r;
}

struct event_base *
evconnlistener_get_base(struct evconnlistener *lev)
{
    struct event_base *base;

    EV_REFUSE_NULL_(lev, NULL);
    LOCK(lev);
    base = event_get_base(&lev->listener);
    UNLOCK(lev);
    return base;
}

evutil_socket_t
evconnlistener_get_fd(struct evconnlistener *lev)
{
    evutil_socket_t fd;

    EV_REFUSE_NULL_(lev, EVUTIL_INVALID_SOCKET);
    LOCK(lev);
    fd = event_get_fd(&lev->listener);
    UNLOCK(lev);
    return fd;
}

void
evconnlistener_set_cb(struct evconnlistener *lev, evconnlistener_cb cb,
    void *arg)
{
    int arm;

    EV_REFUSE_NULL_VOID_(lev);
    LOCK(lev);
    /* An enabled listener without a callback was not accepting. */
    arm = lev->enabled && !lev->cb;
    lev->cb = cb;
    lev->user_data = arg;
    if (arm)
        listener_arm(lev);
    UNLOCK(lev);
}

void
evconnlistener_set_error_cb(struct evconnlistener *lev,
    evconnlistener_errorcb errorcb)
{
    EV_REFUSE_NULL_VOID_(lev);
    LOCK(lev);
    lev->errorcb = errorcb;
    UNLOCK(lev);
}

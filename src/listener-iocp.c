/*
 * listener-iocp.c: the accepting side of an evconnlistener on a base with
 * an I/O completion port (Windows only).  listener.c keeps the public
 * object (callbacks, flags, references) and asks us for connections; we
 * keep N_ACCEPTS AcceptEx calls pending on the listening socket.
 *
 * Each slot goes IDLE -> BUSY (AcceptEx in flight; holds a virtual event
 * so the loop stays up) -> READY (accepted, waiting for the listener to be
 * enabled) -> handed to the user -> IDLE, and is posted again while the
 * listener is enabled.  Completions are handled in the loop thread (the
 * worker only activates the slot's event_callback), so the user's callback
 * runs there with the peer address from GetAcceptExSockaddrs.
 *
 * Invariants:
 *  - the lock is made here and shared with the listener (lev->lock); it
 *    protects everything below and outlives the listener when accepts are
 *    still in flight;
 *  - n_busy counts the slots that are not IDLE; only a slot's own
 *    completion handler makes it IDLE again, so this object is freed
 *    (with the lock) exactly when it is detached and n_busy drops to 0;
 *  - after detach, completions close what they accepted.
 */
#include "event2/event-config.h"

#include <winsock2.h>
#include <mswsock.h>
#include <windows.h>
#include <string.h>

#include "event2/event.h"
#include "event2/listener.h"
#include "event2/util.h"

#include "event-internal.h"
#include "evthread-internal.h"
#include "iocp-internal.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

/* INVALID_SOCKET as the signed evutil_socket_t. */
#define NO_SOCKET ((evutil_socket_t)INVALID_SOCKET)
#define N_ACCEPTS 4
/* AcceptEx wants 16 bytes more than the largest address, per address. */
#define ADDR_SPACE (sizeof(struct sockaddr_storage) + 16)

enum slot_state { SLOT_IDLE, SLOT_BUSY, SLOT_READY, SLOT_HANDING };

struct listener_iocp;

struct accept_slot {
    struct event_overlapped ov;
    struct event_callback done;
    struct listener_iocp *li;
    evutil_socket_t sock;
    enum slot_state state;
    int ok; /* written by the worker */
    char addrbuf[2 * ADDR_SPACE];
};

struct listener_iocp {
    struct evconnlistener *lev; /* NULL once detached */
    struct event_base *base;
    evutil_socket_t fd;
    int family;
    unsigned flags;
    void *lock;
    unsigned enabled : 1;
    int n_busy;
    struct accept_slot slots[N_ACCEPTS];
};

#define LOCK(li) EVLOCK_LOCK((li)->lock, 0)
#define UNLOCK(li) EVLOCK_UNLOCK((li)->lock, 0)

/* Worker thread. */
static void
accept_complete(struct event_overlapped *ov, ev_uintptr_t key,
    ev_ssize_t nbytes, int ok)
{
    struct accept_slot *slot = EVUTIL_UPCAST(ov, struct accept_slot, ov);

    (void)key;
    (void)nbytes;
    slot->ok = ok;
    event_callback_activate_(slot->li->base, &slot->done);
}

static void
li_free(struct listener_iocp *li)
{
    void *lock = li->lock;

    UNLOCK(li);
    EVTHREAD_FREE_LOCK(lock, EVTHREAD_LOCKTYPE_RECURSIVE);
    mm_free(li);
}

/* Put an AcceptEx in flight on an idle slot.  Lock held.  0 or -1. */
static int
post_accept(struct listener_iocp *li, struct accept_slot *slot)
{
    const struct win32_extension_fns *ext = event_get_win32_extension_fns_();
    DWORD bytes = 0;
    int err;

    slot->sock = WSASocket(li->family, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
        WSA_FLAG_OVERLAPPED);
    if (slot->sock == NO_SOCKET)
        return -1;
    memset(&slot->ov.overlapped, 0, sizeof(slot->ov.overlapped));
    slot->state = SLOT_BUSY;
    ++li->n_busy;
    event_base_add_virtual_(li->base);
    if (!ext->AcceptEx(li->fd, slot->sock, slot->addrbuf, 0, ADDR_SPACE,
            ADDR_SPACE, &bytes, &slot->ov.overlapped) &&
        (err = WSAGetLastError()) != ERROR_IO_PENDING) {
        closesocket(slot->sock);
        slot->sock = NO_SOCKET;
        slot->state = SLOT_IDLE;
        --li->n_busy;
        event_base_del_virtual_(li->base);
        WSASetLastError(err);
        return -1;
    }
    return 0;
}

/* The slot is idle again.  Lock held; returns 1 if li was freed (and the
 * lock released). */
static int
slot_idle(struct listener_iocp *li, struct accept_slot *slot)
{
    if (slot->sock != NO_SOCKET)
        closesocket(slot->sock);
    slot->sock = NO_SOCKET;
    slot->state = SLOT_IDLE;
    if (--li->n_busy == 0 && li->lev == NULL) {
        li_free(li);
        return 1;
    }
    return 0;
}

/* AcceptEx finished (BUSY), or a READY slot is being delivered. */
static void
accept_done(struct event_callback *cb, void *arg)
{
    struct accept_slot *slot = arg;
    struct listener_iocp *li = slot->li;
    struct sockaddr *local = NULL, *remote = NULL;
    struct sockaddr_storage ss;
    int llen = 0, rlen = 0, destroyed;
    evutil_socket_t sock;

    (void)cb;
    LOCK(li);
    if (slot->state == SLOT_BUSY) {
        event_base_del_virtual_(li->base);
        if (!slot->ok) {
            DWORD b = 0, fl = 0;
            int err = WSAECONNABORTED, repost;
            if (WSAGetOverlappedResult(li->fd, &slot->ov.overlapped, &b,
                    FALSE, &fl) == FALSE)
                err = WSAGetLastError();
            /* A peer that gave up before we accepted: try again.  Anything
             * else (cancelled, socket closed) ends this slot. */
            repost = li->lev && li->enabled &&
                     (err == WSAECONNRESET || err == ERROR_NETNAME_DELETED);
            if (li->lev && !repost && err != WSA_OPERATION_ABORTED &&
                err != ERROR_OPERATION_ABORTED)
                event_warnx("%s: AcceptEx failed: %d", __func__, err);
            if (slot_idle(li, slot))
                return;
            if (repost && post_accept(li, slot) < 0)
                event_warnx("%s: cannot post AcceptEx: %d", __func__,
                    WSAGetLastError());
            UNLOCK(li);
            return;
        }
        setsockopt(slot->sock, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT,
            (char *)&li->fd, sizeof(li->fd));
        slot->state = SLOT_READY;
    }
    if (slot->state != SLOT_READY) {
        UNLOCK(li);
        return;
    }
    if (li->lev == NULL) {
        if (!slot_idle(li, slot))
            UNLOCK(li);
        return;
    }
    if (!li->enabled) {
        /* Kept until evconnlistener_enable(). */
        UNLOCK(li);
        return;
    }

    event_get_win32_extension_fns_()->GetAcceptExSockaddrs(slot->addrbuf, 0,
        ADDR_SPACE, ADDR_SPACE, &local, &llen, &remote, &rlen);
    memset(&ss, 0, sizeof(ss));
    if (remote && rlen > 0 && (size_t)rlen <= sizeof(ss))
        memcpy(&ss, remote, (size_t)rlen);
    else
        rlen = 0;
    sock = slot->sock;
    slot->sock = NO_SOCKET;
    slot->state = SLOT_HANDING;
    if (!(li->flags & LEV_OPT_LEAVE_SOCKETS_BLOCKING))
        evutil_make_socket_nonblocking(sock);

    destroyed = evconnlistener_deliver_(li->lev, sock, (struct sockaddr *)&ss,
        rlen);
    if (destroyed)
        LOCK(li); /* li lives on: this slot is not idle yet */
    if (slot_idle(li, slot))
        return;
    if (li->lev && li->enabled && post_accept(li, slot) < 0)
        event_warnx("%s: cannot post AcceptEx: %d", __func__,
            WSAGetLastError());
    UNLOCK(li);
}

struct listener_iocp *
listener_iocp_new_(struct evconnlistener *lev, struct event_base *base,
    evutil_socket_t fd, unsigned flags, void **lockp)
{
    const struct win32_extension_fns *ext = event_get_win32_extension_fns_();
    struct event_iocp_port *port = event_base_get_iocp_(base);
    struct listener_iocp *li;
    struct sockaddr_storage ss;
    int sslen = sizeof(ss), i;

    if (base == NULL)
        base = event_global_current_base_;
    if (port == NULL || ext->AcceptEx == NULL ||
        ext->GetAcceptExSockaddrs == NULL)
        return NULL;
    memset(&ss, 0, sizeof(ss));
    if (getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0) {
        event_sock_warn(fd, "%s: getsockname", __func__);
        return NULL;
    }
    if (event_iocp_port_associate_(port, fd, 1) < 0 &&
        GetLastError() != ERROR_INVALID_PARAMETER) {
        event_warnx("%s: cannot associate the socket with the port: %lu",
            __func__, (unsigned long)GetLastError());
        return NULL;
    }
    if ((li = mm_calloc(1, sizeof(*li))) == NULL)
        return NULL;
    EVTHREAD_ALLOC_LOCK(li->lock, EVTHREAD_LOCKTYPE_RECURSIVE);
    if (li->lock == NULL) {
        mm_free(li);
        return NULL;
    }
    li->lev = lev;
    li->base = base;
    li->fd = fd;
    li->family = ss.ss_family;
    li->flags = flags;
    for (i = 0; i < N_ACCEPTS; ++i) {
        struct accept_slot *slot = &li->slots[i];
        event_overlapped_init_(&slot->ov, accept_complete);
        event_deferred_cb_init_(&slot->done,
            (ev_uint8_t)(event_base_get_npriorities(base) / 2), accept_done,
            slot);
        slot->li = li;
        slot->sock = NO_SOCKET;
    }
    *lockp = li->lock;
    return li;
}

int
listener_iocp_enable_(struct listener_iocp *li)
{
    int i, posted = 0, err = 0;

    li->enabled = 1;
    for (i = 0; i < N_ACCEPTS; ++i) {
        struct accept_slot *slot = &li->slots[i];
        if (slot->state == SLOT_READY) {
            event_callback_activate_(li->base, &slot->done);
            ++posted;
        } else if (slot->state == SLOT_IDLE) {
            if (post_accept(li, slot) == 0)
                ++posted;
            else
                err = WSAGetLastError();
        } else {
            ++posted;
        }
    }
    if (posted == 0) {
        event_warnx("%s: cannot post AcceptEx: %d", __func__, err);
        return -1;
    }
    return 0;
}

void
listener_iocp_disable_(struct listener_iocp *li)
{
    li->enabled = 0;
}

void
listener_iocp_detach_and_unlock_(struct listener_iocp *li)
{
    int i;

    li->lev = NULL;
    li->enabled = 0;
    for (i = 0; i < N_ACCEPTS; ++i) {
        struct accept_slot *slot = &li->slots[i];
        if (slot->state == SLOT_BUSY) {
            /* Fails harmlessly when the socket is closed already (which
             * cancels the accepts too). */
            CancelIoEx((HANDLE)li->fd, &slot->ov.overlapped);
        } else if (slot->state == SLOT_READY) {
            /* Its handler closes the connection. */
            event_callback_activate_(li->base, &slot->done);
        }
    }
    if (li->n_busy == 0)
        li_free(li);
    else
        UNLOCK(li);
}

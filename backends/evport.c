/*
 * evport.c: the event ports backend of Solaris and illumos
 * (port_create(3C), port_associate(3C), port_getn(3C)).
 *
 * Each watched fd is associated with the port for the poll(2) events of
 * its interest; port_getn() waits for them.  Changes wait in the core's
 * changelist and are applied at the start of each dispatch.  Quirks
 * handled:
 *  - an association is one-shot: once its event is retrieved the fd is
 *    no longer associated.  Delivered fds are remembered and associated
 *    again at the start of the next dispatch, after the callbacks ran and
 *    the changes they made were applied, and only if something still
 *    wants them;
 *  - port_associate() of an associated fd just replaces its events, so
 *    any change is one call with the whole interest; an empty interest
 *    is port_dissociate(), which says ENOENT when the association was
 *    already used up (or EBADFD when the fd is closed): both are fine;
 *  - closing an fd removes its association; an fd closed and reused by a
 *    new file is associated again by its next change or re-association;
 *  - port_getn() can fail with ETIME (or EINTR) and still have returned
 *    events (*nget says how many): they are used up, so they must be
 *    processed all the same;
 *  - POLLHUP and POLLERR come whatever was asked and wake both readers
 *    and writers; POLLNVAL means the fd was closed: dropped;
 *  - a port shared with a forked child would hand our events to it:
 *    need_reinit.
 * Signals use the core's self-pipe, whose read end is an fd like any
 * other.  Associations cost O(1) (EV_FEATURE_O1); there is no edge
 * triggering and no half-close report.
 *
 * Invariant: fdinfo->want is the interest (EV_READ|EV_WRITE) the fd has
 * after the last applied change; fdinfo->associated is set exactly while
 * the port holds an association for the fd that no event has used up;
 * an fd is on the rearm list at most once (fdinfo->rearm).
 */
#include "event2/event-config.h"

#include <sys/types.h>
#include <sys/time.h>
#include <errno.h>
#include <poll.h>
#include <port.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event-internal.h"
#include "evmap-internal.h"
#include "evsignal-internal.h"
#include "evthread-internal.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

#define INITIAL_NEVENT 32
#define MAX_NEVENT 4096

#define EVPORT_INTERESTS (EV_READ | EV_WRITE)

struct evportop {
    int port;
    port_event_t *events;
    int nevents;
    /* fds whose association an event used up, to associate again. */
    evutil_socket_t *rearm;
    int nrearm;
    int rearm_size;
};

/* Per-fd bytes; the changelist owns the first member. */
struct evport_fdinfo {
    struct event_changelist_fdinfo cl;
    short want;
    ev_uint8_t associated;
    ev_uint8_t rearm;
};

static void *evport_init(struct event_base *);
static int evport_dispatch(struct event_base *, struct timeval *);
static void evport_dealloc(struct event_base *);

const struct eventop evportops = {
    "evport",
    evport_init,
    event_changelist_add_,
    event_changelist_del_,
    evport_dispatch,
    evport_dealloc,
    1, /* need_reinit: a forked child shares the port */
    EV_FEATURE_O1,
    sizeof(struct evport_fdinfo),
};

static void *
evport_init(struct event_base *base)
{
    struct evportop *ep;
    int port;

    if ((port = port_create()) == -1) {
        if (errno != ENOSYS)
            event_warn("port_create");
        return NULL;
    }
    ep = mm_calloc(1, sizeof(*ep));
    if (ep == NULL)
        goto err;
    ep->port = port;
    ep->events = mm_calloc(INITIAL_NEVENT, sizeof(port_event_t));
    if (ep->events == NULL)
        goto err;
    ep->nevents = INITIAL_NEVENT;
    (void)evsig_init_(base);
    return ep;

err:
    if (ep != NULL)
        mm_free(ep);
    close(port);
    return NULL;
}

static int
poll_events(short interests)
{
    int ev = 0;
    if (interests & EV_READ)
        ev |= POLLIN;
    if (interests & EV_WRITE)
        ev |= POLLOUT;
    return ev;
}

/* Make the port hold exactly info->want for fd.  Failures other than a
 * closed fd are warned about; the fd then stays unwatched until its next
 * change. */
static void
sync_fd(struct evportop *ep, evutil_socket_t fd, struct evport_fdinfo *info)
{
    if (info->want) {
        if (port_associate(ep->port, PORT_SOURCE_FD, (uintptr_t)fd,
                poll_events(info->want), NULL) == 0) {
            info->associated = 1;
            return;
        }
        info->associated = 0;
        if (errno == EBADF || errno == EBADFD)
            event_debug(("%s: fd %d is closed", __func__, (int)fd));
        else
            event_warn("port_associate of fd %d", (int)fd);
        return;
    }
    if (info->associated &&
        port_dissociate(ep->port, PORT_SOURCE_FD, (uintptr_t)fd) == -1 &&
        errno != ENOENT && errno != EBADF && errno != EBADFD)
        event_warn("port_dissociate of fd %d", (int)fd);
    info->associated = 0;
}

static short
apply_change_bits(short interests, ev_uint8_t change, short bit)
{
    if (change & EV_CHANGE_ADD)
        interests |= bit;
    else if (change & EV_CHANGE_DEL)
        interests &= ~bit;
    return interests;
}

/* Apply the core's changelist, then empty it. */
static void
apply_changelist(struct event_base *base, struct evportop *ep)
{
    struct event_changelist *cl = &base->changelist;
    int i;

    for (i = 0; i < cl->n_changes; ++i) {
        const struct event_change *ch = &cl->changes[i];
        struct evport_fdinfo *info =
            evmap_io_get_fdinfo_(&base->io, ch->fd);
        short want = ch->old_events & EVPORT_INTERESTS;
        int all = ch->read_change | ch->write_change;

        if (info == NULL || !(all & (EV_CHANGE_ADD | EV_CHANGE_DEL)))
            continue;
        want = apply_change_bits(want, ch->read_change, EV_READ);
        want = apply_change_bits(want, ch->write_change, EV_WRITE);
        /* A dissociate is needed only for what the port may hold; an
         * associate always goes out (the fd may have been reused). */
        if (!want && !(ch->old_events & EVPORT_INTERESTS) &&
            !info->associated) {
            info->want = 0;
            continue;
        }
        info->want = want;
        sync_fd(ep, ch->fd, info);
    }
    event_changelist_remove_all_(cl, base);
}

/* Associate again the fds whose events were delivered last time and
 * that still want some. */
static void
rearm(struct event_base *base, struct evportop *ep)
{
    int i;

    for (i = 0; i < ep->nrearm; ++i) {
        struct evport_fdinfo *info =
            evmap_io_get_fdinfo_(&base->io, ep->rearm[i]);
        if (info == NULL)
            continue;
        info->rearm = 0;
        if (info->want && !info->associated)
            sync_fd(ep, ep->rearm[i], info);
    }
    ep->nrearm = 0;
}

static int
remember(struct evportop *ep, evutil_socket_t fd, struct evport_fdinfo *info)
{
    if (info->rearm)
        return 0;
    if (ep->nrearm == ep->rearm_size) {
        int n = ep->rearm_size ? ep->rearm_size * 2 : 64;
        evutil_socket_t *p =
            mm_realloc(ep->rearm, (size_t)n * sizeof(evutil_socket_t));
        if (p == NULL) {
            event_warn("%s: realloc", __func__);
            return -1;
        }
        ep->rearm = p;
        ep->rearm_size = n;
    }
    ep->rearm[ep->nrearm++] = fd;
    info->rearm = 1;
    return 0;
}

static int
evport_dispatch(struct event_base *base, struct timeval *tv)
{
    struct evportop *ep = base->evbase;
    struct timespec ts, *tsp = NULL;
    unsigned int nget = 1;
    int i, res, err = 0;

    if (base->changelist.n_changes > 0)
        apply_changelist(base, ep);
    if (ep->nrearm > 0)
        rearm(base, ep);
    /* Room to remember every fd port_getn() can deliver, made before any
     * association is used up: failing later would lose an fd for good. */
    if (ep->rearm_size < ep->nevents) {
        evutil_socket_t *p =
            mm_realloc(ep->rearm, (size_t)ep->nevents * sizeof(*p));
        if (p == NULL) {
            event_warn("%s: realloc", __func__);
            return -1;
        }
        ep->rearm = p;
        ep->rearm_size = ep->nevents;
    }

    if (tv != NULL) {
        ts.tv_sec = tv->tv_sec;
        ts.tv_nsec = tv->tv_usec * 1000;
        tsp = &ts;
    }

    EVBASE_RELEASE_LOCK(base, th_base_lock);
    res = port_getn(ep->port, ep->events, (unsigned)ep->nevents, &nget,
        tsp);
    if (res == -1)
        err = errno;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);

    if (res == -1) {
        /* ETIME and EINTR may come with events, used up all the same. */
        if (err != ETIME && err != EINTR) {
            errno = err;
            event_warn("port_getn");
            return -1;
        }
    }
    event_debug(("%s: port_getn reports %u", __func__, nget));

    for (i = 0; i < (int)nget; ++i) {
        const port_event_t *pe = &ep->events[i];
        evutil_socket_t fd = (evutil_socket_t)pe->portev_object;
        struct evport_fdinfo *info;
        short ev = 0;

        if (pe->portev_source != PORT_SOURCE_FD)
            continue;
        info = evmap_io_get_fdinfo_(&base->io, fd);
        if (info != NULL) {
            info->associated = 0;
            if (!(pe->portev_events & POLLNVAL))
                (void)remember(ep, fd, info);
        }
        if (pe->portev_events & POLLNVAL)
            continue;
        if (pe->portev_events & (POLLHUP | POLLERR))
            ev |= EV_READ | EV_WRITE;
        if (pe->portev_events & POLLIN)
            ev |= EV_READ;
        if (pe->portev_events & POLLOUT)
            ev |= EV_WRITE;
        if (ev)
            evmap_io_active_(base, fd, ev);
    }

    /* A full array suggests more were ready: make room for next time. */
    if ((int)nget == ep->nevents && ep->nevents < MAX_NEVENT) {
        int n = ep->nevents * 2;
        port_event_t *p =
            mm_realloc(ep->events, (size_t)n * sizeof(port_event_t));
        if (p != NULL) {
            ep->events = p;
            ep->nevents = n;
        }
    }
    return 0;
}

static void
evport_dealloc(struct event_base *base)
{
    struct evportop *ep = base->evbase;

    if (ep == NULL)
        return;
    evsig_dealloc_(base);
    if (ep->events != NULL)
        mm_free(ep->events);
    if (ep->rearm != NULL)
        mm_free(ep->rearm);
    if (ep->port >= 0)
        close(ep->port);
    memset(ep, 0, sizeof(*ep));
    mm_free(ep);
}

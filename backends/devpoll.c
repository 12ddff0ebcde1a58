/*
 * devpoll.c: the /dev/poll backend of Solaris and illumos (poll(4D)).
 *
 * The set of watched fds lives in the driver: write() of struct pollfd
 * entries changes it and ioctl(DP_POLL) waits, level-triggered, with
 * poll(2)'s results.  Changes wait in the core's changelist and go to
 * the driver in one write() per dispatch.  Quirks handled:
 *  - writing an fd that is already in the set ORs the new events into
 *    the old ones, so interest can only shrink through POLLREMOVE (which
 *    drops the fd entirely) followed by the events that remain;
 *  - the set is keyed by fd number, not by file: an fd closed while in
 *    the set reports POLLNVAL on every DP_POLL until removed, so such an
 *    fd is removed at once (and added again by its next change); a
 *    number reused by a new file simply watches the new file;
 *  - a write of more than OPEN_MAX entries, or a DP_POLL for OPEN_MAX or
 *    more, fails with EINVAL: writes go in chunks and the event array
 *    stays below OPEN_MAX;
 *  - POLLHUP and POLLERR come whatever was asked and wake both readers
 *    and writers, so the callback finds the error itself;
 *  - a child that inherited the /dev/poll fd gets EACCES from it:
 *    need_reinit.
 * Any pollable fd works (EV_FEATURE_FDS) and DP_POLL does not rescan the
 * whole set (EV_FEATURE_O1); there is no edge triggering and no
 * half-close report.
 *
 * Invariant: fdinfo->kernel is the interest (EV_READ|EV_WRITE) that the
 * driver holds for the fd after the last write, and every change of
 * interest is written before the next DP_POLL.
 */
#include "event2/event-config.h"

#include <sys/types.h>
#include <sys/devpoll.h>
#include <sys/ioctl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
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
/* Pending writes per write(): well below any OPEN_MAX. */
#define MAX_WRITE 256

#define DEVPOLL_INTERESTS (EV_READ | EV_WRITE)

struct devpollop {
    int dpfd;
    struct pollfd *events;
    int nevents;
    int max_events; /* below OPEN_MAX */
    struct pollfd *changes;
    int nchanges;
    int changes_size;
};

/* Per-fd bytes; the changelist owns the first member. */
struct devpoll_fdinfo {
    struct event_changelist_fdinfo cl;
    short kernel;
};

static void *devpoll_init(struct event_base *);
static int devpoll_dispatch(struct event_base *, struct timeval *);
static void devpoll_dealloc(struct event_base *);

const struct eventop devpollops = {
    "devpoll",
    devpoll_init,
    event_changelist_add_,
    event_changelist_del_,
    devpoll_dispatch,
    devpoll_dealloc,
    1, /* need_reinit: an inherited /dev/poll fd says EACCES */
    EV_FEATURE_FDS | EV_FEATURE_O1,
    sizeof(struct devpoll_fdinfo),
};

static void *
devpoll_init(struct event_base *base)
{
    struct devpollop *dp;
    long open_max = sysconf(_SC_OPEN_MAX);
    int dpfd;

    if ((dpfd = open("/dev/poll", O_RDWR)) == -1) {
        /* No such device: try the next backend. */
        if (errno != ENOENT)
            event_warn("open /dev/poll");
        return NULL;
    }
    if (fcntl(dpfd, F_SETFD, FD_CLOEXEC) == -1)
        event_debug(("%s: FD_CLOEXEC on /dev/poll failed", __func__));
    dp = mm_calloc(1, sizeof(*dp));
    if (dp == NULL)
        goto err;
    dp->dpfd = dpfd;
    dp->max_events = MAX_NEVENT;
    if (open_max > 1 && open_max - 1 < dp->max_events)
        dp->max_events = (int)(open_max - 1);
    dp->nevents =
        INITIAL_NEVENT < dp->max_events ? INITIAL_NEVENT : dp->max_events;
    dp->events = mm_calloc(dp->nevents, sizeof(struct pollfd));
    if (dp->events == NULL)
        goto err;
    (void)evsig_init_(base);
    return dp;

err:
    if (dp != NULL)
        mm_free(dp);
    close(dpfd);
    return NULL;
}

/* Queue one pollfd for the next write; -1 when out of memory. */
static int
queue_write(struct devpollop *dp, evutil_socket_t fd, short events)
{
    if (dp->nchanges == dp->changes_size) {
        int n = dp->changes_size ? dp->changes_size * 2 : 64;
        struct pollfd *p =
            mm_realloc(dp->changes, (size_t)n * sizeof(struct pollfd));
        if (p == NULL) {
            event_warn("%s: realloc", __func__);
            return -1;
        }
        dp->changes = p;
        dp->changes_size = n;
    }
    dp->changes[dp->nchanges].fd = fd;
    dp->changes[dp->nchanges].events = events;
    dp->changes[dp->nchanges].revents = 0;
    dp->nchanges++;
    return 0;
}

/* Send the queued pollfds to the driver.  Returns 0, or -1 after a
 * warning when the driver refused them. */
static int
flush_writes(struct devpollop *dp)
{
    int done = 0, res = 0;

    while (done < dp->nchanges) {
        int n = dp->nchanges - done;
        size_t len;
        ssize_t w;

        if (n > MAX_WRITE)
            n = MAX_WRITE;
        len = (size_t)n * sizeof(struct pollfd);
        w = write(dp->dpfd, dp->changes + done, len);
        if (w != (ssize_t)len) {
            event_warn("%s: write to /dev/poll", __func__);
            res = -1;
        }
        done += n;
    }
    dp->nchanges = 0;
    return res;
}

static short
poll_events(short interests)
{
    short ev = 0;
    if (interests & EV_READ)
        ev |= POLLIN;
    if (interests & EV_WRITE)
        ev |= POLLOUT;
    return ev;
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

/* Queue writes for the core's changelist, then empty it. */
static int
queue_changelist(struct event_base *base, struct devpollop *dp)
{
    struct event_changelist *cl = &base->changelist;
    int i, res = 0;

    for (i = 0; i < cl->n_changes && res == 0; ++i) {
        const struct event_change *ch = &cl->changes[i];
        struct devpoll_fdinfo *info =
            evmap_io_get_fdinfo_(&base->io, ch->fd);
        short old = ch->old_events & DEVPOLL_INTERESTS;
        short have = info != NULL ? info->kernel : old;
        short want = old;
        int all = ch->read_change | ch->write_change;

        if (!(all & (EV_CHANGE_ADD | EV_CHANGE_DEL)))
            continue;
        want = apply_change_bits(want, ch->read_change, EV_READ);
        want = apply_change_bits(want, ch->write_change, EV_WRITE);

        /* Shrinking needs POLLREMOVE first: a write only ORs. */
        if ((have & ~want) && queue_write(dp, ch->fd, POLLREMOVE) == -1)
            res = -1;
        else if (want && queue_write(dp, ch->fd, poll_events(want)) == -1)
            res = -1;
        else if (info != NULL)
            info->kernel = want;
    }
    event_changelist_remove_all_(cl, base);
    return res;
}

static int
devpoll_dispatch(struct event_base *base, struct timeval *tv)
{
    struct devpollop *dp = base->evbase;
    struct dvpoll dvp;
    int i, res;

    if (queue_changelist(base, dp) == -1)
        return -1;
    if (dp->nchanges > 0)
        (void)flush_writes(dp); /* a refused change is warned and lost */

    dvp.dp_fds = dp->events;
    dvp.dp_nfds = dp->nevents;
    dvp.dp_timeout = -1;
    if (tv != NULL) {
        long ms = evutil_tv_to_msec_inl_(tv);
        dvp.dp_timeout = (ms < 0 || ms > INT_MAX) ? INT_MAX : (int)ms;
    }

    EVBASE_RELEASE_LOCK(base, th_base_lock);
    res = ioctl(dp->dpfd, DP_POLL, &dvp);
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);

    if (res == -1) {
        if (errno != EINTR) {
            event_warn("ioctl: DP_POLL");
            return -1;
        }
        return 0;
    }
    event_debug(("%s: DP_POLL reports %d", __func__, res));

    for (i = 0; i < res; ++i) {
        int what = dp->events[i].revents;
        evutil_socket_t fd = dp->events[i].fd;
        short ev = 0;

        if (what & POLLNVAL) {
            /* Closed under us; stop the driver reporting it over and
             * over.  A later change of the fd writes it again. */
            struct devpoll_fdinfo *info =
                evmap_io_get_fdinfo_(&base->io, fd);
            (void)queue_write(dp, fd, POLLREMOVE);
            if (info != NULL)
                info->kernel = 0;
            continue;
        }
        if (what & (POLLHUP | POLLERR))
            ev |= EV_READ | EV_WRITE;
        if (what & POLLIN)
            ev |= EV_READ;
        if (what & POLLOUT)
            ev |= EV_WRITE;
        if (ev)
            evmap_io_active_(base, fd, ev);
    }
    if (dp->nchanges > 0)
        (void)flush_writes(dp);

    /* A full array suggests more were ready: make room for next time. */
    if (res == dp->nevents && dp->nevents < dp->max_events) {
        int n = dp->nevents * 2 < dp->max_events ? dp->nevents * 2
                                                 : dp->max_events;
        struct pollfd *p =
            mm_realloc(dp->events, (size_t)n * sizeof(struct pollfd));
        if (p != NULL) {
            dp->events = p;
            dp->nevents = n;
        }
    }
    return 0;
}

static void
devpoll_dealloc(struct event_base *base)
{
    struct devpollop *dp = base->evbase;

    if (dp == NULL)
        return;
    evsig_dealloc_(base);
    if (dp->events != NULL)
        mm_free(dp->events);
    if (dp->changes != NULL)
        mm_free(dp->changes);
    if (dp->dpfd >= 0)
        close(dp->dpfd);
    memset(dp, 0, sizeof(*dp));
    mm_free(dp);
}

/*
 * poll.c: the poll(2) backend.
 *
 * One struct pollfd per watched fd, packed at the front of an array that
 * grows by doubling; removing an fd moves the last entry into its hole.
 * Quirks handled:
 *  - a closed fd left in the array comes back as POLLNVAL, and a peer
 *    hang-up or a socket error as POLLHUP/POLLERR without POLLIN or
 *    POLLOUT: all three wake whichever of read and write the fd was
 *    watched for, so the callback runs and sees the error itself;
 *  - with threads on, another thread may add or remove fds while the lock
 *    is dropped around poll(), which could move or free the array under
 *    the kernel: then dispatch polls a private copy instead.
 * Linux's POLLRDHUP reports the peer's half-close, which gives EV_CLOSED
 * (EV_FEATURE_EARLY_CLOSE, as in libevent 2.1).
 *
 * Invariant: for i < nfds, fds[i].events != 0 and the fdinfo of
 * fds[i].fd holds idxplus1 == i + 1; an fd not in the array has
 * idxplus1 == 0.
 */
#include "event2/event-config.h"

#include <sys/types.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "event-internal.h"
#include "evmap-internal.h"
#include "evsignal-internal.h"
#include "evthread-internal.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

struct pollop {
    struct pollfd *fds;
    int nfds;
    int nalloc;
    /* What dispatch hands the kernel when threads are on. */
    struct pollfd *copy;
    int ncopy;
};

#ifdef POLLRDHUP
#define POLL_EARLY_CLOSE EV_FEATURE_EARLY_CLOSE
#else
#define POLLRDHUP 0 /* no half-close reports: EV_CLOSED never fires */
#define POLL_EARLY_CLOSE 0
#endif
#define POLL_INTERESTS (EV_READ | EV_WRITE | EV_CLOSED)

struct poll_fdinfo {
    int idxplus1;
};

static void *poll_init(struct event_base *);
static int poll_add(struct event_base *, evutil_socket_t, short, short,
    void *);
static int poll_del(struct event_base *, evutil_socket_t, short, short,
    void *);
static int poll_dispatch(struct event_base *, struct timeval *);
static void poll_dealloc(struct event_base *);

const struct eventop pollops = {
    "poll",
    poll_init,
    poll_add,
    poll_del,
    poll_dispatch,
    poll_dealloc,
    0, /* need_reinit: nothing lives in the kernel between calls */
    EV_FEATURE_FDS | POLL_EARLY_CLOSE,
    sizeof(struct poll_fdinfo),
};

static void *
poll_init(struct event_base *base)
{
    struct pollop *op = mm_calloc(1, sizeof(*op));
    if (op == NULL)
        return NULL;
    (void)evsig_init_(base);
    return op;
}

/* Make room for at least n entries in *arr (holding *alloc).  Returns 0
 * or -1 on ENOMEM, leaving the array as it was. */
static int
reserve(struct pollfd **arr, int *alloc, int n)
{
    struct pollfd *p;
    int a = *alloc ? *alloc : 32;

    if (n <= *alloc)
        return 0;
    while (a < n) {
        if (a > INT_MAX / 2)
            return -1;
        a *= 2;
    }
    p = mm_realloc(*arr, (size_t)a * sizeof(*p));
    if (p == NULL) {
        event_warn("poll: realloc");
        return -1;
    }
    *arr = p;
    *alloc = a;
    return 0;
}

static int
poll_add(struct event_base *base, evutil_socket_t fd, short old,
    short events, void *p)
{
    struct pollop *op = base->evbase;
    struct poll_fdinfo *info = p;
    struct pollfd *pfd;

    if (!(events & POLL_INTERESTS))
        return 0;
    if (info->idxplus1 == 0) {
        if (reserve(&op->fds, &op->nalloc, op->nfds + 1) < 0)
            return -1;
        pfd = &op->fds[op->nfds];
        pfd->fd = fd;
        pfd->events = 0;
        pfd->revents = 0;
        info->idxplus1 = ++op->nfds;
    }
    pfd = &op->fds[info->idxplus1 - 1];
    EVUTIL_ASSERT(pfd->fd == fd);
    if (events & EV_READ)
        pfd->events |= POLLIN;
    if (events & EV_WRITE)
        pfd->events |= POLLOUT;
    if (events & EV_CLOSED)
        pfd->events |= POLLRDHUP;
    return 0;
}

static int
poll_del(struct event_base *base, evutil_socket_t fd, short old,
    short events, void *p)
{
    struct pollop *op = base->evbase;
    struct poll_fdinfo *info = p;
    struct pollfd *pfd;
    int i;

    if (!(events & POLL_INTERESTS) || info->idxplus1 == 0)
        return 0;
    i = info->idxplus1 - 1;
    pfd = &op->fds[i];
    EVUTIL_ASSERT(pfd->fd == fd);
    if (events & EV_READ)
        pfd->events &= ~POLLIN;
    if (events & EV_WRITE)
        pfd->events &= ~POLLOUT;
    if (events & EV_CLOSED)
        pfd->events &= ~POLLRDHUP;
    if (pfd->events)
        return 0;

    info->idxplus1 = 0;
    if (i != --op->nfds) {
        struct poll_fdinfo *moved;
        op->fds[i] = op->fds[op->nfds];
        moved = evmap_io_get_fdinfo_(&base->io, op->fds[i].fd);
        EVUTIL_ASSERT(moved != NULL && moved->idxplus1 == op->nfds + 1);
        moved->idxplus1 = i + 1;
    }
    return 0;
}

static int
poll_dispatch(struct event_base *base, struct timeval *tv)
{
    struct pollop *op = base->evbase;
    struct pollfd *set = op->fds;
    int nfds = op->nfds;
    int i, res;
    long msec = -1;

    if (base->th_base_lock != NULL && nfds > 0) {
        if (reserve(&op->copy, &op->ncopy, nfds) < 0)
            return -1;
        memcpy(op->copy, op->fds, (size_t)nfds * sizeof(*set));
        set = op->copy;
    }
    if (tv != NULL) {
        msec = evutil_tv_to_msec_inl_(tv);
        if (msec < 0 || msec > INT_MAX)
            msec = INT_MAX;
    }

    EVBASE_RELEASE_LOCK(base, th_base_lock);
    res = poll(set, (nfds_t)nfds, (int)msec);
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);

    if (res == -1) {
        if (errno != EINTR) {
            event_warn("poll");
            return -1;
        }
        return 0;
    }
    event_debug(("%s: poll reports %d", __func__, res));

    for (i = 0; i < nfds && res > 0; ++i) {
        short what = set[i].revents, ev = 0;
        if (what == 0)
            continue;
        --res;
        if (what & (POLLERR | POLLHUP | POLLNVAL))
            what |= set[i].events & (POLLIN | POLLOUT);
        if (what & POLLIN)
            ev |= EV_READ;
        if (what & POLLOUT)
            ev |= EV_WRITE;
        if (what & POLLRDHUP)
            ev |= EV_CLOSED;
        if (ev)
            evmap_io_active_(base, set[i].fd, ev);
    }
    return 0;
}

static void
poll_dealloc(struct event_base *base)
{
    struct pollop *op = base->evbase;

    /* NULL: init failed, and evsig_init_ never ran either. */
    if (op == NULL)
        return;
    evsig_dealloc_(base);
    if (op->fds != NULL)
        mm_free(op->fds);
    if (op->copy != NULL)
        mm_free(op->copy);
    memset(op, 0, sizeof(*op));
    mm_free(op);
}

/*
 * kqueue.c: the kqueue(2) backend of the BSDs and macOS.
 *
 * Interest changes wait in the core's changelist and reach the kernel in
 * the same kevent() call that waits for events, as EV_ADD/EV_DELETE
 * entries of the EVFILT_READ and EVFILT_WRITE filters.  Quirks handled:
 *  - a failed change comes back in the eventlist as an EV_ERROR entry
 *    (flags replaced by EV_ERROR, errno in data) only if the eventlist has
 *    room, else the whole call fails and later changes are lost: the
 *    event array is grown to hold one entry per change.  udata of each
 *    change says whether it was an add or a delete;
 *  - close() removes an fd's knotes, so deleting after a close fails
 *    with EBADF (the number is free) or ENOENT (it was reused): both mean
 *    "already gone".  Since a closed and reused fd has no knotes at all,
 *    every change of an fd re-adds all the filters it still wants
 *    (EV_ADD of an existing knote only updates it);
 *  - EV_CLEAR cannot be switched on an existing knote, so a change of
 *    mode is a delete then an add;
 *  - the read filter sets EV_EOF when the peer shut its side: EV_CLOSED.
 *    An fd watched only for EV_CLOSED gets an EV_CLEAR read filter, so
 *    unread data wakes the loop once, not on every pass;
 *  - an add can fail with EPERM or EPIPE (a pipe whose other end is
 *    gone) or EINVAL (EVFILT_WRITE on a regular file): the event is made
 *    active instead, so the callback finds out with its own read/write;
 *  - signals use EVFILT_SIGNAL, per base, through kqsigops below instead
 *    of the self-pipe.  The filter sees a signal even when it is ignored,
 *    and has a lower precedence than a handler, so the disposition is
 *    set to SIG_IGN while watched (SIG_DFL for SIGCHLD, which, ignored,
 *    would be reaped and never reported).  data counts deliveries;
 *  - a kqueue is not inherited by fork(): need_reinit.
 * Regular files are fine (readable while not at their end: "vnode"
 * semantics), so besides edge triggering (EV_CLEAR) and O(1) changes the
 * backend offers EV_FEATURE_FDS and EV_FEATURE_EARLY_CLOSE.
 *
 * Invariant: fdinfo->rd/wr record the filters the last kevent() call was
 * asked to leave on the fd (KQ_NONE, KQ_LEVEL or KQ_CLEAR), and every
 * change of interest reaches the kernel before the next wait.
 */
#include "event2/event-config.h"

#include <sys/types.h>
#include <sys/event.h>
#include <sys/time.h>
#include <errno.h>
#include <signal.h>
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

#define INITIAL_NEVENT 64
#define MAX_NEVENT 4096

/* udata of a change: what it asked for, read back from EV_ERROR
 * entries (whose flags the kernel overwrote). */
#define KQ_OP_ADD ((void *)(uintptr_t)1)
#define KQ_OP_DEL ((void *)(uintptr_t)2)

/* What a filter is on an fd. */
#define KQ_NONE 0
#define KQ_LEVEL 1
#define KQ_CLEAR 2

struct kqop {
    struct kevent *changes;
    int nchanges;
    int changes_size;
    struct kevent *events;
    int events_size;
    int kq;
};

/* Per-fd bytes; the changelist owns the first member. */
struct kq_fdinfo {
    struct event_changelist_fdinfo cl;
    ev_uint8_t rd;
    ev_uint8_t wr;
};

static void *kq_init(struct event_base *);
static int kq_dispatch(struct event_base *, struct timeval *);
static void kq_dealloc(struct event_base *);
static int kq_sig_add(struct event_base *, evutil_socket_t, short, short,
    void *);
static int kq_sig_del(struct event_base *, evutil_socket_t, short, short,
    void *);

const struct eventop kqops = {
    "kqueue",
    kq_init,
    event_changelist_add_,
    event_changelist_del_,
    kq_dispatch,
    kq_dealloc,
    1, /* need_reinit: a kqueue is not inherited by fork() */
    EV_FEATURE_ET | EV_FEATURE_O1 | EV_FEATURE_FDS |
        EV_FEATURE_EARLY_CLOSE,
    sizeof(struct kq_fdinfo),
};

static const struct eventop kqsigops = {
    "kqueue_signal",
    NULL,
    kq_sig_add,
    kq_sig_del,
    NULL,
    NULL,
    0,
    0,
    0,
};

static void *
kq_init(struct event_base *base)
{
    struct kqop *kqop;
    int kq;

    if ((kq = kqueue()) == -1) {
        if (errno != ENOSYS)
            event_warn("kqueue");
        return NULL;
    }
    kqop = mm_calloc(1, sizeof(*kqop));
    if (kqop == NULL)
        goto err;
    kqop->kq = kq;
    kqop->events = mm_calloc(INITIAL_NEVENT, sizeof(struct kevent));
    if (kqop->events == NULL)
        goto err;
    kqop->events_size = INITIAL_NEVENT;
    base->evsigsel = &kqsigops;
    return kqop;

err:
    if (kqop != NULL)
        mm_free(kqop);
    close(kq);
    return NULL;
}

/* Append one change; -1 when out of memory. */
static int
push_change(struct kqop *kqop, evutil_socket_t fd, short filter,
    unsigned short flags, void *op)
{
    if (kqop->nchanges == kqop->changes_size) {
        int n = kqop->changes_size ? kqop->changes_size * 2 : 64;
        struct kevent *p =
            mm_realloc(kqop->changes, (size_t)n * sizeof(struct kevent));
        if (p == NULL) {
            event_warn("%s: realloc", __func__);
            return -1;
        }
        kqop->changes = p;
        kqop->changes_size = n;
    }
    EV_SET(&kqop->changes[kqop->nchanges], fd, filter, flags, 0, 0, op);
    kqop->nchanges++;
    return 0;
}

/* Queue what makes one filter of fd `want` (KQ_*) when it is `have`. */
static int
filter_changes(struct kqop *kqop, evutil_socket_t fd, short filter,
    int have, int want)
{
    if (want == KQ_NONE) {
        if (have == KQ_NONE)
            return 0;
        return push_change(kqop, fd, filter, EV_DELETE, KQ_OP_DEL);
    }
    if (have != KQ_NONE && have != want &&
        push_change(kqop, fd, filter, EV_DELETE, KQ_OP_DEL) == -1)
        return -1;
    return push_change(kqop, fd, filter,
        EV_ADD | (want == KQ_CLEAR ? EV_CLEAR : 0), KQ_OP_ADD);
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

/* Turn the core's changelist into kevent changes, then empty it. */
static int
build_changes(struct event_base *base, struct kqop *kqop)
{
    struct event_changelist *cl = &base->changelist;
    int i, res = 0;

    kqop->nchanges = 0;
    for (i = 0; i < cl->n_changes && res == 0; ++i) {
        const struct event_change *ch = &cl->changes[i];
        struct kq_fdinfo *info = evmap_io_get_fdinfo_(&base->io, ch->fd);
        short old = ch->old_events & (EV_READ | EV_WRITE | EV_CLOSED);
        short want = old;
        int all = ch->read_change | ch->write_change | ch->close_change;
        int et = all & EV_CHANGE_ET;
        int rd_have, wr_have, rd_want, wr_want;

        /* An add and a del that cancelled out: nothing to do. */
        if (!(all & (EV_CHANGE_ADD | EV_CHANGE_DEL)))
            continue;
        want = apply_change_bits(want, ch->read_change, EV_READ);
        want = apply_change_bits(want, ch->write_change, EV_WRITE);
        want = apply_change_bits(want, ch->close_change, EV_CLOSED);

        if (info != NULL) {
            rd_have = info->rd;
            wr_have = info->wr;
        } else {
            rd_have = (old & (EV_READ | EV_CLOSED)) ? KQ_LEVEL : KQ_NONE;
            wr_have = (old & EV_WRITE) ? KQ_LEVEL : KQ_NONE;
        }
        rd_want = KQ_NONE;
        if (want & EV_READ)
            rd_want = et ? KQ_CLEAR : KQ_LEVEL;
        else if (want & EV_CLOSED)
            rd_want = KQ_CLEAR;
        wr_want = (want & EV_WRITE) ? (et ? KQ_CLEAR : KQ_LEVEL) : KQ_NONE;

        if (filter_changes(kqop, ch->fd, EVFILT_READ, rd_have, rd_want) ==
                -1 ||
            filter_changes(kqop, ch->fd, EVFILT_WRITE, wr_have, wr_want) ==
                -1)
            res = -1;
        else if (info != NULL) {
            info->rd = (ev_uint8_t)rd_want;
            info->wr = (ev_uint8_t)wr_want;
        }
    }
    event_changelist_remove_all_(cl, base);
    return res;
}

/* An EV_ERROR entry for a change.  Returns the events to report for its
 * fd (0: none). */
static short
change_failed(const struct kevent *ev)
{
    int err = (int)ev->data;

    if (err == 0)
        return 0; /* an EV_RECEIPT acknowledgement */
    if (ev->udata == KQ_OP_DEL) {
        /* The fd was closed (EBADF) or closed and reused (ENOENT); a
         * pipe whose peer is gone may also say EPERM/EPIPE. */
        if (err != EBADF && err != ENOENT && err != EPERM && err != EPIPE)
            event_warnx("%s: kevent delete of fd %d failed: %s", __func__,
                (int)ev->ident, evutil_socket_error_to_string(err));
        return 0;
    }
    switch (err) {
    case EBADF:
        /* Closed before the add reached the kernel: nothing to watch. */
        event_debug(("%s: fd %d closed before its add", __func__,
            (int)ev->ident));
        return 0;
    case EPERM:
    case EPIPE:
    case EINVAL:
        /* The kernel cannot watch it; a read or write will not block, or
         * will say why.  Let the callback find out. */
        return ev->filter == EVFILT_READ ? EV_READ : EV_WRITE;
    default:
        event_warnx("%s: kevent add of fd %d failed: %s", __func__,
            (int)ev->ident, evutil_socket_error_to_string(err));
        return 0;
    }
}

/* Make the event array hold at least n entries; -1 when out of memory
 * (the array is unchanged then). */
static int
grow_events(struct kqop *kqop, int n)
{
    struct kevent *p;
    int size = kqop->events_size;

    if (size >= n)
        return 0;
    while (size < n)
        size *= 2;
    p = mm_realloc(kqop->events, (size_t)size * sizeof(struct kevent));
    if (p == NULL)
        return -1;
    kqop->events = p;
    kqop->events_size = size;
    return 0;
}

static int
kq_dispatch(struct event_base *base, struct timeval *tv)
{
    struct kqop *kqop = base->evbase;
    struct timespec ts, *tsp = NULL;
    int i, res;

    if (build_changes(base, kqop) == -1)
        return -1;
    /* Room for one EV_ERROR entry per change, or a failed change would
     * fail the whole call and lose the ones after it. */
    if (grow_events(kqop, kqop->nchanges) == -1) {
        event_warn("%s: realloc", __func__);
        return -1;
    }
    if (tv != NULL) {
        ts.tv_sec = tv->tv_sec;
        ts.tv_nsec = tv->tv_usec * 1000;
        tsp = &ts;
    }

    EVBASE_RELEASE_LOCK(base, th_base_lock);
    res = kevent(kqop->kq, kqop->changes, kqop->nchanges, kqop->events,
        kqop->events_size, tsp);
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    kqop->nchanges = 0;

    if (res == -1) {
        /* On EINTR the changes were applied all the same. */
        if (errno != EINTR) {
            event_warn("kevent");
            return -1;
        }
        return 0;
    }
    event_debug(("%s: kevent reports %d", __func__, res));

    for (i = 0; i < res; ++i) {
        const struct kevent *ev = &kqop->events[i];
        short what = 0;

        if (ev->flags & EV_ERROR) {
            what = change_failed(ev);
        } else if (ev->filter == EVFILT_READ) {
            what = EV_READ;
            if (ev->flags & EV_EOF)
                what |= EV_CLOSED;
        } else if (ev->filter == EVFILT_WRITE) {
            what = EV_WRITE;
        } else if (ev->filter == EVFILT_SIGNAL) {
            evmap_signal_active_(base, (int)ev->ident, (int)ev->data);
            continue;
        }
        if (what)
            /* EV_ET for the events that asked for it, as libevent. */
            evmap_io_active_(base, (evutil_socket_t)ev->ident, what | EV_ET);
    }

    /* A full array suggests more were ready: make room for next time. */
    if (res == kqop->events_size && kqop->events_size < MAX_NEVENT)
        (void)grow_events(kqop, kqop->events_size * 2);
    return 0;
}

static void
kq_dealloc(struct event_base *base)
{
    struct kqop *kqop = base->evbase;

    if (kqop == NULL)
        return;
    /* The kqueue first: its signal knotes go before the handlers that
     * were there before them come back. */
    if (kqop->kq >= 0)
        close(kqop->kq);
    evsig_dealloc_(base);
    if (kqop->changes != NULL)
        mm_free(kqop->changes);
    if (kqop->events != NULL)
        mm_free(kqop->events);
    memset(kqop, 0, sizeof(*kqop));
    mm_free(kqop);
}

/* One signal change, applied at once.  EV_RECEIPT makes the kernel
 * acknowledge it in the one-entry eventlist without handing out (and so
 * losing) events the loop has not read yet. */
static int
sig_change(struct kqop *kqop, int nsignal, unsigned short flags)
{
    struct kevent kev, out;
    struct timespec zero = {0, 0};
    int n;

    EV_SET(&kev, nsignal, EVFILT_SIGNAL, flags | EV_RECEIPT, 0, 0, NULL);
    n = kevent(kqop->kq, &kev, 1, &out, 1, &zero);
    if (n == -1)
        return -1;
    if (n == 1 && (out.flags & EV_ERROR) && out.data != 0) {
        errno = (int)out.data;
        return -1;
    }
    return 0;
}

static int
kq_sig_add(struct event_base *base, evutil_socket_t nsignal, short old,
    short events, void *p)
{
    struct kqop *kqop = base->evbase;

    if (nsignal < 1 || nsignal >= NSIG) {
        event_warnx("%s: signal number %d out of range", __func__,
            (int)nsignal);
        return -1;
    }
    /* Ignored, so that the default action (often: terminate) does not
     * happen; the filter still sees it.  Ignored SIGCHLD would not be
     * reported, and its default is to do nothing anyway. */
    if (evsig_set_handler_(base, (int)nsignal,
            nsignal == SIGCHLD ? SIG_DFL : SIG_IGN) == -1)
        return -1;
    if (sig_change(kqop, (int)nsignal, EV_ADD) == -1) {
        event_warn("%s: kevent EVFILT_SIGNAL %d", __func__, (int)nsignal);
        evsig_restore_handler_(base, (int)nsignal);
        return -1;
    }
    return 0;
}

static int
kq_sig_del(struct event_base *base, evutil_socket_t nsignal, short old,
    short events, void *p)
{
    struct kqop *kqop = base->evbase;

    if (nsignal < 1 || nsignal >= NSIG)
        return -1;
    if (sig_change(kqop, (int)nsignal, EV_DELETE) == -1 &&
        errno != ENOENT) {
        event_warn("%s: kevent EVFILT_SIGNAL %d", __func__, (int)nsignal);
        return -1;
    }
    return evsig_restore_handler_(base, (int)nsignal);
}

/*
 * io_uring.c: a Linux io_uring(7) backend made of poll requests, the
 * "io_uring_poll" method.  The "io_uring" method, chosen by default where
 * the kernel has IORING_OP_EPOLL_WAIT, keeps its interests in an epoll
 * set instead (backends/epoll.c, "io_uring mode"); this one runs only
 * when asked for by name (every other method avoided or disabled).
 *
 * Each fd with interests has one multishot IORING_OP_POLL_ADD for the
 * union of them; changes are queued and submitted, with the wait, in one
 * io_uring_enter() per dispatch.  Kernel facts it is built around (Linux
 * 5.18 or later; init() declines older kernels):
 *  - poll requests are edge-triggered: the kernel adds EPOLLET unless
 *    IORING_POLL_ADD_LEVEL is given (which POLL_ADD refuses), and a
 *    multishot poll posts one CQE per wake-up, nothing while an fd merely
 *    stays ready.  That is EV_ET.  Level triggering is emulated: an fd
 *    reported ready is re-polled at the next dispatch by updating its
 *    poll in place (IORING_OP_POLL_REMOVE with IORING_POLL_UPDATE_EVENTS),
 *    which checks readiness again and posts if it still holds;
 *  - that update also gives the poll a new user_data.  user_data carries
 *    the fd and a per-fd generation, and a CQE of an older generation (a
 *    poll cancelled or updated since, maybe for a file closed since) is
 *    ignored.  So a wake-up posted while the fd's own callback drained it
 *    is dropped by the re-poll: level-triggered reports are as fresh as
 *    epoll's, and no spurious callback reaches a blocking fd;
 *  - new interests get a new poll (cancel and add, not an update): that
 *    resolves the fd number again, in case its file was closed and the
 *    number reused under a pending event (epoll's MOD-fails-with-ENOENT);
 *  - ERR, HUP and RDHUP are always in a poll's mask.  A report whose only
 *    news is a bit nobody asked for triggers no re-poll, so a half-closed
 *    socket watched for writing does not make the loop spin;
 *  - a poll request holds a reference to its file, and close() does not
 *    end it (an epoll registration dies with the last close).  So when
 *    the last interest in an fd goes, the cancel (IORING_OP_ASYNC_CANCEL,
 *    which unlike POLL_REMOVE cannot fail with EALREADY) is submitted at
 *    once: event_del() then close() really closes, as with epoll.  A file
 *    closed while its event stays added stays open until the event goes;
 *    that difference is why this method is never the default (README);
 *  - a multishot poll can end by itself (its submitting thread exited,
 *    the CQ ring overflowed, the file cannot be waited on): a CQE without
 *    IORING_CQE_F_MORE.  It is re-armed at the next dispatch if still
 *    wanted, unless it ended with an error such as EBADF, which is warned
 *    about; the next add or del of the fd tries again.  Regular files
 *    cannot be waited on and so are always ready, as with poll (epoll
 *    refuses them);
 *  - an update fails with ENOENT when the poll already ended, EALREADY
 *    when it is completing; either way it is cancelled and armed afresh.
 *
 * Invariant: an fd whose fdinfo has FI_LIVE has exactly one poll request
 * of its current generation queued or armed, with kevents as its mask;
 * an fd whose kernel state may differ from what the core wants is on the
 * dirty list.  Polls are submitted only by dispatch, so they belong to
 * the thread running the loop (their completions run in its context).
 *
 * The ring must not be used by a forked child (need_reinit).  One that
 * skips event_reinit() would corrupt the parent's rings, so a page the
 * kernel wipes on fork (MADV_WIPEONFORK) tells the copy apart: add and
 * del do nothing there and dispatch fails with a warning.
 */
#include "event2/event-config.h"

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <linux/io_uring.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event-internal.h"
#include "evmap-internal.h"
#include "evsignal-internal.h"
#include "evthread-internal.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "uring-internal.h"
#include "util-internal.h"

#define URING_SQ_ENTRIES 256
#define URING_CQ_ENTRIES 4096

#define URING_INTERESTS (EV_READ | EV_WRITE | EV_CLOSED)

/* user_data: the kind of request in the top two bits, a 30-bit
 * generation, then the fd. */
#define UD_POLL 0U
#define UD_UPDATE 1U
#define UD_CANCEL 2U
#define GEN_MASK 0x3fffffffU
#define UD(kind, gen, fd)                                                     \
    (((ev_uint64_t)(kind) << 62) | ((ev_uint64_t)((gen)&GEN_MASK) << 32) | \
        (ev_uint32_t)(fd))
#define UD_KIND(ud) ((unsigned)((ud) >> 62))
#define UD_GEN(ud) ((ev_uint32_t)((ud) >> 32) & GEN_MASK)
#define UD_FD(ud) ((evutil_socket_t)(ev_uint32_t)(ud))

struct uringop {
    struct uring r;
    /* fds to reconcile with the kernel at the next dispatch */
    struct uring_dirty *dirty;
    int n_dirty, dirty_cap;
    int warned_fork;
};

/* The per-fd bytes kept by the io map (zeroed by the map). */
struct uring_fdinfo {
    ev_uint32_t gen;     /* generation of the live poll */
    ev_uint16_t kevents; /* mask of the live poll */
    ev_uint8_t want;     /* interests the core wants watched */
    ev_uint8_t flags;    /* FI_* */
};

/* An fd on the dirty list, with its fdinfo (which the io map keeps at one
 * address while the base lives). */
struct uring_dirty {
    evutil_socket_t fd;
    struct uring_fdinfo *fi;
};

#define FI_LIVE 0x01    /* a poll is queued or armed, not yet ended */
#define FI_ET 0x02      /* the fd's events are edge-triggered */
#define FI_DIRTY 0x04   /* on the dirty list */
#define FI_RECHECK 0x08 /* level-triggered and reported: re-poll */
#define FI_FAILED 0x10  /* the kernel refused it; wait for a new add */

static void *uring_init(struct event_base *);
static int uring_add(struct event_base *, evutil_socket_t, short, short,
    void *);
static int uring_del(struct event_base *, evutil_socket_t, short, short,
    void *);
static int uring_dispatch(struct event_base *, struct timeval *);
static void uring_dealloc(struct event_base *);

const struct eventop io_uringops = {
    "io_uring_poll",
    uring_init,
    uring_add,
    uring_del,
    uring_dispatch,
    uring_dealloc,
    1, /* need_reinit: the ring is shared with a forked child */
    EV_FEATURE_ET | EV_FEATURE_O1 | EV_FEATURE_EARLY_CLOSE,
    sizeof(struct uring_fdinfo),
};

/* ------------------------------------------------------------------ */
/* The rings                                                           */

/* Submit what is queued, without waiting.  Returns 0 or -1. */
static int
submit_now(struct uringop *op)
{
    unsigned n;

    while ((n = uring_unsubmitted_(&op->r)) > 0) {
        int r = uring_enter_(&op->r, n, 0, 0, NULL, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            event_warn("io_uring_enter (submit)");
            return -1;
        }
        if (r == 0)
            break; /* another thread's enter is taking them */
    }
    return 0;
}

/* A zeroed SQE at the tail, or NULL when the ring stays full.  Call
 * uring_queue_() once it is filled in.  Unsubmitted entries are read
 * from the ring, so that a submission by another thread (while the loop
 * waits without the lock) needs no bookkeeping: the kernel never takes
 * one twice. */
static struct io_uring_sqe *
get_sqe(struct uringop *op)
{
    if (uring_unsubmitted_(&op->r) >= op->r.sq_entries) {
        if (submit_now(op) < 0 ||
            uring_unsubmitted_(&op->r) >= op->r.sq_entries)
            return NULL;
    }
    return uring_sqe_(&op->r);
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */

static void *
uring_init(struct event_base *base)
{
    static const int needed[] = {IORING_OP_POLL_ADD, IORING_OP_POLL_REMOVE,
        IORING_OP_ASYNC_CANCEL};
    struct uringop *op;

    op = mm_calloc(1, sizeof(*op));
    if (op == NULL)
        return NULL;
    /* SUBMIT_ALL (5.18): one bad SQE must not stop the rest. */
    if (uring_setup_(&op->r, URING_SQ_ENTRIES, URING_CQ_ENTRIES,
            IORING_SETUP_SUBMIT_ALL,
            IORING_FEAT_SINGLE_MMAP | IORING_FEAT_NODROP |
                IORING_FEAT_EXT_ARG | IORING_FEAT_CQE_SKIP,
            needed, (int)(sizeof(needed) / sizeof(needed[0]))) != 0) {
        mm_free(op);
        return NULL;
    }

    /* Like the other backends, a base whose signal pipe cannot be made
     * still works for everything but signals. */
    (void)evsig_init_(base);
    return op;
}

/* ------------------------------------------------------------------ */
/* Interest changes                                                    */

static ev_uint16_t
kernel_events(short interests)
{
    ev_uint16_t k = 0;
    if (interests & EV_READ)
        k |= EPOLLIN;
    if (interests & EV_WRITE)
        k |= EPOLLOUT;
    if (interests & EV_CLOSED)
        k |= EPOLLRDHUP;
    return k;
}

static int
mark_dirty(struct uringop *op, evutil_socket_t fd, struct uring_fdinfo *fi)
{
    if (fi->flags & FI_DIRTY)
        return 0;
    if (op->n_dirty == op->dirty_cap) {
        int n = op->dirty_cap ? op->dirty_cap * 2 : 64;
        struct uring_dirty *d = mm_realloc(op->dirty, n * sizeof(*d));
        if (d == NULL) {
            event_warn("%s: realloc", __func__);
            return -1;
        }
        op->dirty = d;
        op->dirty_cap = n;
    }
    op->dirty[op->n_dirty].fd = fd;
    op->dirty[op->n_dirty].fi = fi;
    ++op->n_dirty;
    fi->flags |= FI_DIRTY;
    return 0;
}

/* Queue a cancel of fd's live poll and forget it: anything it still
 * posts is of an old generation. */
static int
cancel_poll(struct uringop *op, evutil_socket_t fd, struct uring_fdinfo *fi)
{
    struct io_uring_sqe *sqe = get_sqe(op);
    if (sqe == NULL)
        return -1;
    sqe->opcode = IORING_OP_ASYNC_CANCEL;
    sqe->fd = -1;
    sqe->addr = UD(UD_POLL, fi->gen, fd);
    sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
    sqe->user_data = UD(UD_CANCEL, fi->gen, fd);
    uring_queue_(&op->r);
    fi->flags &= ~(FI_LIVE | FI_RECHECK);
    fi->kevents = 0;
    ++fi->gen;
    return 0;
}

static int
set_want(struct event_base *base, evutil_socket_t fd, short want,
    struct uring_fdinfo *fi)
{
    struct uringop *op = base->evbase;

    if (uring_forked_copy_(&op->r))
        return 0;
    fi->want = (ev_uint8_t)want;
    fi->flags &= ~FI_FAILED;
    if (want)
        return mark_dirty(op, fd, fi);
    /* Nothing wanted: drop the poll now, so that its file reference
     * does not outlive a close() that follows this del. */
    if (!(fi->flags & FI_LIVE))
        return 0;
    if (cancel_poll(op, fd, fi) < 0 || submit_now(op) < 0)
        return -1;
    return 0;
}

static int
uring_add(struct event_base *base, evutil_socket_t fd, short old,
    short events, void *p)
{
    struct uring_fdinfo *fi = p;
    /* evmap never mixes edge- and level-triggered events on one fd. */
    if (events & EV_ET)
        fi->flags |= FI_ET;
    else
        fi->flags &= ~FI_ET;
    return set_want(base, fd, (old | events) & URING_INTERESTS, fi);
}

static int
uring_del(struct event_base *base, evutil_socket_t fd, short old,
    short events, void *p)
{
    return set_want(base, fd, old & ~events & URING_INTERESTS, p);
}

/* Bring the kernel in line with what the core wants for fd. */
static void
reconcile(struct uringop *op, evutil_socket_t fd, struct uring_fdinfo *fi)
{
    ev_uint16_t k = kernel_events(fi->want);
    struct io_uring_sqe *sqe;

    fi->flags &= ~FI_DIRTY;
    if (!fi->want) {
        if (fi->flags & FI_LIVE)
            (void)cancel_poll(op, fd, fi);
        return;
    }
    if (fi->flags & FI_FAILED)
        return;
    if ((fi->flags & FI_LIVE) && fi->kevents != k) {
        /* New interests: a new poll, which resolves the fd number again
         * (the old poll may watch a file closed since, as epoll's
         * MOD-fails-with-ENOENT case). */
        if (cancel_poll(op, fd, fi) < 0)
            goto full;
    }
    if (fi->flags & FI_LIVE) {
        if (!(fi->flags & FI_RECHECK))
            return;
        /* Re-poll in place: next generation, fresh readiness check. */
        if ((sqe = get_sqe(op)) == NULL)
            goto full;
        sqe->opcode = IORING_OP_POLL_REMOVE;
        sqe->fd = -1;
        sqe->addr = UD(UD_POLL, fi->gen, fd);
        sqe->off = UD(UD_POLL, fi->gen + 1, fd);
        sqe->len = IORING_POLL_UPDATE_EVENTS | IORING_POLL_UPDATE_USER_DATA |
                   IORING_POLL_ADD_MULTI;
        sqe->poll32_events = k;
        sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
        sqe->user_data = UD(UD_UPDATE, fi->gen + 1, fd);
    } else {
        if ((sqe = get_sqe(op)) == NULL)
            goto full;
        sqe->opcode = IORING_OP_POLL_ADD;
        sqe->fd = fd;
        sqe->len = IORING_POLL_ADD_MULTI;
        sqe->poll32_events = k;
        sqe->user_data = UD(UD_POLL, fi->gen + 1, fd);
    }
    uring_queue_(&op->r);
    ++fi->gen;
    fi->kevents = k;
    fi->flags = (fi->flags | FI_LIVE) & ~FI_RECHECK;
    return;
full:
    /* Try again at the next dispatch. */
    event_warnx("%s: io_uring submission queue stuck full", __func__);
    (void)mark_dirty(op, fd, fi);
}

static void
apply_dirty(struct uringop *op)
{
    int i, n = op->n_dirty;

    /* reconcile() only re-marks an fd when the ring is stuck; those
     * land after n and wait for the next round. */
    for (i = 0; i < n; ++i)
        reconcile(op, op->dirty[i].fd, op->dirty[i].fi);
    memmove(op->dirty, op->dirty + n, (op->n_dirty - n) * sizeof(*op->dirty));
    op->n_dirty -= n;
}

/* ------------------------------------------------------------------ */
/* Completions                                                         */

static short
translate(ev_uint32_t what)
{
    short ev = 0;
    /* As in epoll.c (libevent's epoll): an error, or a hang-up without
     * EPOLLRDHUP, wakes readers and writers and reports nothing else;
     * otherwise a hang-up adds nothing. */
    if ((what & EPOLLERR) || ((what & EPOLLHUP) && !(what & EPOLLRDHUP)))
        return EV_READ | EV_WRITE;
    if (what & EPOLLIN)
        ev |= EV_READ;
    if (what & EPOLLOUT)
        ev |= EV_WRITE;
    if (what & EPOLLRDHUP)
        ev |= EV_CLOSED;
    return ev;
}

static void
handle_cqe(struct event_base *base, struct uringop *op,
    const struct io_uring_cqe *cqe)
{
    evutil_socket_t fd = UD_FD(cqe->user_data);
    ev_uint32_t gen = UD_GEN(cqe->user_data);
    struct uring_fdinfo *fi = evmap_io_get_fdinfo_(&base->io, fd);
    short ev;

    if (fi == NULL || !(fi->flags & FI_LIVE) || gen != (fi->gen & GEN_MASK))
        return; /* stale: an earlier poll, or an fd gone meanwhile */

    switch (UD_KIND(cqe->user_data)) {
    case UD_POLL:
        if (!(cqe->flags & IORING_CQE_F_MORE)) {
            /* The poll ended by itself. */
            fi->flags &= ~(FI_LIVE | FI_RECHECK);
            if (cqe->res < 0 && cqe->res != -ECANCELED) {
                event_warnx("io_uring poll on fd %d failed: %s", (int)fd,
                    strerror(-cqe->res));
                fi->flags |= FI_FAILED;
                return;
            }
            (void)mark_dirty(op, fd, fi);
        }
        if (cqe->res <= 0)
            return;
        ev = translate((ev_uint32_t)cqe->res) & fi->want;
        if (!ev)
            return;
        /* EV_ET for the events that asked for it, as with epoll. */
        evmap_io_active_(base, fd, ev | EV_ET);
        if (!(fi->flags & (FI_ET | FI_RECHECK)) && (fi->flags & FI_LIVE)) {
            fi->flags |= FI_RECHECK;
            (void)mark_dirty(op, fd, fi);
        }
        return;
    case UD_UPDATE:
        /* Only failures are posted: the poll ended (ENOENT) or is busy
         * completing (EALREADY).  Cancel whatever is left of it and arm
         * a fresh one. */
        fi->gen = gen - 1;
        (void)cancel_poll(op, fd, fi);
        if (fi->want)
            (void)mark_dirty(op, fd, fi);
        return;
    default:
        return; /* a failed cancel: the poll was gone already */
    }
}

/* Handle every CQE in the ring. */
static void
reap(struct event_base *base, struct uringop *op)
{
    unsigned head = *op->r.cq_head;
    unsigned tail = __atomic_load_n(op->r.cq_tail, __ATOMIC_ACQUIRE);

    for (; head != tail; ++head)
        handle_cqe(base, op, &op->r.cqes[head & op->r.cq_mask]);
    __atomic_store_n(op->r.cq_head, head, __ATOMIC_RELEASE);
}

static int
cq_ready(const struct uringop *op)
{
    return __atomic_load_n(op->r.cq_tail, __ATOMIC_ACQUIRE) != *op->r.cq_head;
}

static int
uring_dispatch(struct event_base *base, struct timeval *tv)
{
    struct uringop *op = base->evbase;
    struct io_uring_getevents_arg arg;
    struct __kernel_timespec ts;
    unsigned flags = 0, n;
    int wait, res;

    if (uring_forked_copy_(&op->r)) {
        if (!op->warned_fork)
            event_warnx("%s: this event_base was created before fork(); "
                        "call event_reinit() in the child first",
                __func__);
        op->warned_fork = 1;
        return -1;
    }
    if (op->n_dirty > 0)
        apply_dirty(op);

    /* Wait only when nothing is ready yet (a timeout of zero or less: do
     * not wait); what is queued is submitted in the same call. */
    wait = !cq_ready(op) &&
           !(tv && (tv->tv_sec < 0 || (tv->tv_sec == 0 && tv->tv_usec <= 0)));
    n = uring_unsubmitted_(&op->r);
    if (__atomic_load_n(op->r.sq_flags, __ATOMIC_RELAXED) &
        IORING_SQ_CQ_OVERFLOW)
        flags |= IORING_ENTER_GETEVENTS; /* flush the kernel's overflow */

    if (wait) {
        uring_wait_arg_(&arg, &ts, tv);
        flags |= IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG;
        EVBASE_RELEASE_LOCK(base, th_base_lock);
        res = uring_enter_(&op->r, n, 1, flags, &arg, sizeof(arg));
        EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    } else if (n > 0 || flags) {
        /* Without the lock, as any wait: a loop that finds completions
         * ready each time must still let a thread waiting for the lock
         * (event_del of a running callback's event) have its turn. */
        EVBASE_RELEASE_LOCK(base, th_base_lock);
        res = uring_enter_(&op->r, n, 0, flags, NULL, 0);
        EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    } else {
        res = 0;
    }
    /* ETIME: the timeout passed; EBUSY/EAGAIN: the kernel is short of
     * room for completions until we reap. */
    if (res < 0 && errno != EINTR && errno != ETIME && errno != EBUSY &&
        errno != EAGAIN) {
        event_warn("io_uring_enter");
        return -1;
    }
    reap(base, op);
    return 0;
}

static void
uring_dealloc(struct event_base *base)
{
    struct uringop *op = base->evbase;

    /* NULL: init failed, and evsig_init_ never ran either. */
    if (op == NULL)
        return;
    evsig_dealloc_(base);
    /* Closing the ring cancels every poll (and, in a forked copy, only
     * drops this process's reference to the parent's ring). */
    uring_teardown_(&op->r);
    if (op->dirty != NULL)
        mm_free(op->dirty);
    memset(op, 0, sizeof(*op));
    mm_free(op);
}

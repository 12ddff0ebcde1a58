/*
 * epoll.c: the Linux epoll(7) backend.
 *
 * The kernel keys an epoll registration on the open file *and* the fd
 * number it was added under, and drops it by itself only when the last
 * descriptor for that file is closed.  So what the core believes and what
 * the kernel has can drift apart, and each epoll_ctl result is read with
 * that in mind:
 *  - ADD fails with EEXIST when the file is still registered under this
 *    number (the user closed a dup and kept the fd, or reused it): retry
 *    as MOD;
 *  - MOD fails with ENOENT when the fd was closed (dropping the
 *    registration) and its number reused for a new file: retry as ADD;
 *  - DEL fails with EBADF, ENOENT or EPERM when the fd was already closed
 *    or reused: our registration is gone or out of reach, so that is
 *    success;
 *  - ADD fails with EPERM for files epoll cannot watch (regular files,
 *    directories): warn and fail the add, as libevent 2.1 does.
 *
 * Stale registrations.  When the fd was closed while a dup of its file
 * lives on elsewhere, the kernel keeps the old registration under that
 * number, out of reach of any DEL, and it goes on reporting the old
 * file's readiness as that number's: to whatever event is added on the
 * number next, or as a wake-up nobody wants.  So after a DEL that failed
 * with EBADF or ENOENT, and after an ADD that succeeded where our
 * registration was expected, kcmp(KCMP_EPOLL_TFD) asks the kernel
 * whether a registration we do not know of remains under the number; if
 * one does, dispatch rebuilds the epoll set from the io map before it
 * waits (epoll_rebuild).  Where kcmp cannot answer (a kernel without
 * CONFIG_CHECKPOINT_RESTORE, or a seccomp filter), and with
 * EVENT_EPOLL_EAGER_DELETE set, this is skipped, as libevent never does
 * it.
 *
 * Lazy deletes.  The common re-registration (event_del, event_assign,
 * event_add of the same fd, as a loop that re-arms its events does) would
 * cost a DEL and an ADD, each of which frees or allocates the kernel's
 * entry and walks the file's wait queue.  So when the last interest in an
 * fd goes, a level-triggered registration stays in the kernel and the fd
 * joins a list (ep->pending_first); dispatch DELs what on it still has no
 * interest before it waits.  An add that comes first sends an ADD of the
 * same kinds instead: EEXIST (cheap: a tree lookup) says the file under
 * that number is the one registered, and success that the old file was
 * closed in between and the new one is now watched.  A delete the user
 * has done may be followed by close(), so lazy deletes need the stale
 * check above: they are on only where kcmp answers, not with
 * EVENT_EPOLL_EAGER_DELETE set, and not once the process has forked
 * since the base was made (the child shares every fd; see
 * epoll_forks_), nor once a stale registration was found (files of this
 * process live on elsewhere, and each stale one costs a rebuild).
 * Edge-triggered registrations are
 * deleted at once: a DEL and an ADD re-arm the edge, which callers may
 * rely on.  One difference stays visible: a re-registered fd keeps its
 * place among those the kernel reports ready together, where a DEL and
 * an ADD would move it last, so such callbacks may run in another order
 * than libevent's (which promises none).
 *
 * Invariant: fdinfo->kevents (0: not registered) describes what the
 * last successful epoll_ctl left in the kernel for this fd number, and
 * every change of interest is applied to the kernel before the next
 * epoll_wait (immediately, from the lazy deletes, or from the changelist
 * at dispatch).
 *
 * Two vtables share everything but add/del: epollops applies each change
 * at once; epollops_changelist (chosen by init() on
 * EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST or EVENT_EPOLL_USE_CHANGELIST)
 * queues them in base->changelist, where an add and a del of the same fd
 * in one iteration cancel out, and applies what is left in dispatch.
 *
 * Precise timers (EVENT_BASE_FLAG_PRECISE_TIMER, or EVENT_PRECISE_TIMER
 * in the environment), as in libevent 2.1: epoll_wait() only takes
 * milliseconds, so such a base also puts a timerfd in its epoll set and
 * arms it with the exact timeout before each wait; the wait itself is
 * then unbounded.  The timerfd's own readiness is never reported, and it
 * is disarmed when the loop waits without a timeout.  Everything about
 * it is in the "timerfd" blocks below.
 */
#include "event2/event-config.h"

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#ifdef EVENT__HAVE_SYS_TIMERFD_H
#include <sys/timerfd.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
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

#define INITIAL_NEVENT 32
#define MAX_NEVENT 4096

/* Kernels before 2.6.24 could wait forever when the timeout in jiffies
 * overflowed, so like libevent never ask for more than 35 minutes; the
 * loop simply comes back and waits again. */
#define MAX_EPOLL_TIMEOUT_MSEC (35 * 60 * 1000)

#define EPOLL_INTERESTS (EV_READ | EV_WRITE | EV_CLOSED)

#ifdef EVENT__HAVE_IO_URING
/* The io_uring mode (see "io_uring mode" below). */
#define RING_SQ_ENTRIES 256
#define RING_CQ_ENTRIES 1024
#define RING_MAX_REMAKES 4
/* user_data: the kind, then the wait's generation or the fd. */
#define RUD_WAIT 1U
#define RUD_DEL 2U
#define RUD_PROBE 3U
#define RUD_CANCEL 4U
#define RUD(kind, v) (((ev_uint64_t)(kind) << 32) | (ev_uint32_t)(v))
#define RUD_KIND(ud) ((unsigned)((ud) >> 32))
#define RUD_VAL(ud) ((ev_uint32_t)(ud))

struct epoll_ring {
    struct uring r; /* r.fd == -1: the next dispatch makes one */
    /* The ring was enabled by (or made in) owner, the one thread that may
     * enter it; until then it is disabled (made by init()). */
    int enabled;
    pthread_t owner;
    int remakes;
    ev_uint32_t wait_gen; /* of the wait armed last */
    int wait_armed;
    /* The wait completed: its result, not delivered yet. */
    int wait_done;
    int wait_res;
    /* Control requests queued whose completion was not read yet (each
     * posts one): ring_submit waits for them all (see there). */
    unsigned ctl_out;
    /* ring_submit could not have them all done: dispatch drops the
     * ring. */
    int failed;
    /* What each queued ADD asks for, by SQ slot: the kernel reads it
     * when the entry is submitted. */
    struct epoll_event ctl_ev[RING_SQ_ENTRIES];
};
#endif

struct epollop {
    struct epoll_event *events;
    int nevents;
    int epfd;
    /* timerfd for precise timers, or -1; whether it is armed. */
    int timerfd;
    int timer_armed;
    /* The timerfd's data.ptr: the fdinfo of an evmap entry of its own
     * that has no events, so that a result never needs a NULL test. */
    struct evmap_io *timer_entry;
    /* Lazy deletes (see the top): the first fd of the list, threaded
     * through the fdinfos, of those whose DEL may wait for dispatch;
     * -1 when empty. */
    int pending_first;
    /* kcmp can find stale registrations (see the top)... */
    int kcmp_ok;
    /* ...so deletes may be lazy, until the process forks (see
     * epoll_forks_) or a stale registration is found. */
    int lazy_del;
    unsigned forks_at_init;
    /* A stale registration was found: rebuild the set before waiting. */
    int need_rebuild;
#ifdef EVENT__HAVE_IO_URING
    /* The io_uring mode (see "io_uring mode" below); NULL: plain. */
    struct epoll_ring *ring;
#endif
};

/* Per-fd bytes kept by the io map.  The changelist code owns the first
 * member in changelist mode; the immediate mode, which never uses the
 * changelist, links the list of lazy deletes there instead. */
struct epoll_fdinfo {
    union {
        struct event_changelist_fdinfo cl;
        /* 0: not in the list; else the next fd in it plus 2 (1: the
         * last).  An fd stays listed when an add takes its DEL back:
         * dispatch deletes only what has no interest then. */
        int pending_next;
    } u;
    /* Non-zero exactly when the fd is registered: an ADD or MOD always
     * asks for at least one kind. */
    ev_uint32_t kevents;
};

static void *epoll_init(struct event_base *);
static int epoll_add(struct event_base *, evutil_socket_t, short, short,
    void *);
static int epoll_del(struct event_base *, evutil_socket_t, short, short,
    void *);
static int epoll_dispatch(struct event_base *, struct timeval *);
static int epoll_deliver(struct event_base *, struct epollop *, int);
static int epoll_run_ready(struct event_base *, int *);
static int epoll_run_ready_locked(struct event_base *, int *);
static void epoll_flush_ready(struct event_base *);
static int epoll_ready_priority(struct event_base *,
    const struct epoll_event *, int);
static void epoll_dealloc(struct event_base *);
static int registered_beyond(const struct epollop *, evutil_socket_t, int);

const struct eventop epollops = {
    "epoll",
    epoll_init,
    epoll_add,
    epoll_del,
    epoll_dispatch,
    epoll_dealloc,
    1, /* need_reinit: the epoll fd is shared with a forked child */
    EV_FEATURE_ET | EV_FEATURE_O1 | EV_FEATURE_EARLY_CLOSE,
    sizeof(struct epoll_fdinfo),
};

static const struct eventop epollops_changelist = {
    "epoll (with changelist)",
    epoll_init,
    event_changelist_add_,
    event_changelist_del_,
    epoll_dispatch,
    epoll_dealloc,
    1,
    EV_FEATURE_ET | EV_FEATURE_O1 | EV_FEATURE_EARLY_CLOSE,
    sizeof(struct epoll_fdinfo),
};

static const char *
op_name(int op)
{
    switch (op) {
    case EPOLL_CTL_ADD:
        return "ADD";
    case EPOLL_CTL_MOD:
        return "MOD";
    case EPOLL_CTL_DEL:
        return "DEL";
    }
    return "???";
}

static int
use_changelist(const struct event_base *base)
{
    if (base->flags & EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST)
        return 1;
    return event_base_env_set_(base, "EVENT_EPOLL_USE_CHANGELIST");
}

/* How many times this process has forked, counted in the parent by a
 * pthread_atfork handler registered with the first epoll base.  After a
 * fork every fd is shared with the child until it closes or execs, so a
 * delete the user follows with close() would leave the kernel a stale
 * registration (see the top) and the next wait a rebuild of the whole
 * set, once per such close: a base whose process forked after it was
 * made deletes eagerly, as libevent does.  A fork before (a daemon's)
 * changes nothing. */
static unsigned epoll_forks_;
/* The handler is in place. */
static int epoll_atfork_ok_;

static void
epoll_count_fork(void)
{
    __atomic_add_fetch(&epoll_forks_, 1, __ATOMIC_RELAXED);
}

static void
epoll_register_atfork(void)
{
    if (pthread_atfork(NULL, epoll_count_fork, NULL) == 0)
        epoll_atfork_ok_ = 1;
    else
        event_warnx("epoll: pthread_atfork failed; deletes stay eager");
}

/* Whether a base made at fork count `at` may still delete lazily. */
static inline int
epoll_no_fork_since(unsigned at)
{
    return __atomic_load_n(&epoll_forks_, __ATOMIC_RELAXED) == at;
}

/* EVENT_EPOLL_EAGER_DELETE (ours, not libevent's) makes epoll behave as
 * libevent's: every DEL reaches the kernel at once, fds ready together
 * run in exactly libevent's order, and kcmp is never called. */
static int
eager_delete(const struct event_base *base)
{
    return event_base_env_set_(base, "EVENT_EPOLL_EAGER_DELETE");
}

/* ---- timerfd (precise timers only) ---- */

/* Create the timerfd and add it to the epoll set when the base wants
 * precise timers on the precise monotonic clock; -1 otherwise, and then
 * epoll_wait()'s millisecond timeout is used as usual. */
static int
timerfd_open(struct event_base *base, struct epollop *op)
{
#if defined(EVENT__HAVE_SYS_TIMERFD_H) && defined(EVENT__HAVE_TIMERFD_CREATE)
    struct epoll_event ev;
    int fd;

    if (!(base->flags & EVENT_BASE_FLAG_PRECISE_TIMER) ||
        base->monotonic_timer.monotonic_clock != CLOCK_MONOTONIC)
        return -1;
    /* An entry with no events (calloc: the list is empty). */
    op->timer_entry =
        mm_calloc(1, sizeof(struct evmap_io) + sizeof(struct epoll_fdinfo));
    if (op->timer_entry == NULL)
        return -1;
    fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd == -1) {
        if (errno != EINVAL && errno != ENOSYS)
            event_warn("timerfd_create");
        return -1;
    }
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    /* Its readiness runs nothing: it only ends the wait. */
    ev.data.ptr = op->timer_entry->fdinfo;
    if (epoll_ctl(op->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
        event_warn("epoll_ctl(timerfd)");
        close(fd);
        return -1;
    }
    return fd;
#else
    (void)base;
    (void)op;
    return -1;
#endif
}

/* Arm the timerfd for tv (NULL: disarm).  Returns the epoll_wait()
 * timeout to use: -1, or 0 for a zero tv, which needs no timer.  A zero
 * tv disarms an armed timer too: one that expired stays readable until
 * it is set again, and a loop polling without a timeout (EVLOOP_NONBLOCK)
 * would otherwise be woken by it on every pass. */
static int
timerfd_arm(struct epollop *ep, const struct timeval *tv)
{
#if defined(EVENT__HAVE_SYS_TIMERFD_H) && defined(EVENT__HAVE_TIMERFD_CREATE)
    struct itimerspec its;
    int zero = tv != NULL && tv->tv_sec <= 0 &&
               (tv->tv_sec < 0 || tv->tv_usec <= 0);

    memset(&its, 0, sizeof(its));
    if (zero) {
        if (ep->timer_armed) {
            ep->timer_armed = 0;
            if (timerfd_settime(ep->timerfd, 0, &its, NULL) == -1)
                event_warn("timerfd_settime");
        }
        return 0;
    }
    if (tv == NULL && !ep->timer_armed)
        return -1;
    if (tv != NULL) {
        its.it_value.tv_sec = tv->tv_sec;
        its.it_value.tv_nsec = (long)tv->tv_usec * 1000;
    }
    if (timerfd_settime(ep->timerfd, 0, &its, NULL) == -1) {
        /* Do not sleep past the timer: poll instead. */
        event_warn("timerfd_settime");
        return tv != NULL ? 0 : -1;
    }
    ep->timer_armed = tv != NULL;
#endif
    return -1;
}

/* ---- end of timerfd ---- */

/* The epoll set and everything around it; ring: for the io_uring mode,
 * which needs no timerfd and never uses the changelist. */
static struct epollop *
epoll_open(struct event_base *base, int ring)
{
    struct epollop *op;
    int epfd;

    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd == -1) {
        /* ENOSYS just means "try the next backend". */
        if (errno != ENOSYS)
            event_warn("epoll_create1");
        return NULL;
    }
    op = mm_calloc(1, sizeof(*op));
    if (op == NULL)
        goto err;
    op->events = mm_calloc(INITIAL_NEVENT, sizeof(struct epoll_event));
    if (op->events == NULL)
        goto err;
    op->nevents = INITIAL_NEVENT;
#ifdef EVENT__HAVE_IO_URING
    if (ring) {
        op->ring = mm_calloc(1, sizeof(*op->ring));
        if (op->ring == NULL)
            goto err;
        op->ring->r.fd = -1; /* init() gives it its ring */
    }
#endif
    op->epfd = epfd;
    op->timerfd = ring ? -1 : timerfd_open(base, op);
    /* Nothing is registered under the epoll fd's own number yet: a
     * kernel that can tell says "no". */
    /* EVENT_EPOLL_EAGER_DELETE: no kcmp either (a seccomp filter that
     * kills on unknown system calls lets libevent's set through). */
    op->kcmp_ok = !eager_delete(base) && registered_beyond(op, epfd, 0) == 0;
    op->lazy_del = op->kcmp_ok;
    if (op->lazy_del) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        /* The count is read once the handler is in place, so that no
         * fork after it goes uncounted. */
        if (pthread_once(&once, epoll_register_atfork) != 0 ||
            !epoll_atfork_ok_)
            op->lazy_del = 0;
        op->forks_at_init = __atomic_load_n(&epoll_forks_, __ATOMIC_ACQUIRE);
    }
    op->pending_first = -1;

    if (!ring && use_changelist(base))
        base->evsel = &epollops_changelist;

    /* Like libevent, a base whose signal pipe cannot be made still
     * works for everything but signals (evsig_init_ has warned). */
    (void)evsig_init_(base);
    return op;

err:
    if (op != NULL) {
        if (op->events != NULL)
            mm_free(op->events);
#ifdef EVENT__HAVE_IO_URING
        if (op->ring != NULL)
            mm_free(op->ring);
#endif
        mm_free(op);
    }
    close(epfd);
    return NULL;
}

static void *
epoll_init(struct event_base *base)
{
    return epoll_open(base, 0);
}

/* Kernel bits to EV_* bits by table and shifts; the bit values they
 * rely on are checked at compile time (EPOLL* are enumerators, so not
 * with #if). */
typedef char epoll_translate_check_[(EPOLLIN == 0x001 && EPOLLPRI == 0x002 &&
    EPOLLOUT == 0x004 && EPOLLERR == 0x008 && EPOLLHUP == 0x010 &&
    EPOLLRDHUP == 0x2000 && EV_READ == 0x02 && EV_WRITE == 0x04 &&
    EV_CLOSED == 0x80) ? 1 : -1];

/* EV_* interests to kernel bits; the inverse of translate() below, on
 * the same checked bit values, and EV_ET to EPOLLET: a table indexed by
 * the EV_* bits (EV_READ | EV_WRITE | EV_ET | EV_CLOSED is 0xa6), one
 * load on the path of every re-registration. */
#define KEV_(i)                                                            \
    ((((i)&EV_READ) >> 1) | ((i)&EV_WRITE) | (((i)&EV_CLOSED) << 6) |      \
        (((i)&EV_ET) ? (ev_uint32_t)EPOLLET : 0))
#define KEV4_(i) KEV_(i), KEV_((i) + 1), KEV_((i) + 2), KEV_((i) + 3)
#define KEV16_(i) KEV4_(i), KEV4_((i) + 4), KEV4_((i) + 8), KEV4_((i) + 12)
#define KEV64_(i)                                                          \
    KEV16_(i), KEV16_((i) + 16), KEV16_((i) + 32), KEV16_((i) + 48)
static const ev_uint32_t kernel_events_table[256] = {
    KEV64_(0), KEV64_(64), KEV64_(128), KEV64_(192)};
#undef KEV_
#undef KEV4_
#undef KEV16_
#undef KEV64_

static inline ev_uint32_t
kernel_events(short interests, int et)
{
    return kernel_events_table[(interests & EPOLL_INTERESTS) |
                               (et ? EV_ET : 0)];
}

/* Every fd the core maps is registered with data.ptr = its epoll_fdinfo
 * inside the evmap entry (the entry lives as long as the base), so that
 * dispatch finds the events without a lookup by fd; the timerfd's
 * data.ptr is the fdinfo of an entry of its own without events. */
static inline int
ctl(int epfd, int op, evutil_socket_t fd, ev_uint32_t kevents,
    struct epoll_fdinfo *info)
{
    struct epoll_event ev;
    ev.events = kevents;
    ev.data.u64 = 0;
    ev.data.ptr = info;
    return epoll_ctl(epfd, op, fd, &ev);
}

/* ---- stale registrations (see the top) ---- */

/* KCMP_EPOLL_TFD of <linux/kcmp.h> (Linux 4.13), spelled out so that
 * only the syscall number is needed. */
#define EPOLL_KCMP_EPOLL_TFD 7
struct epoll_kcmp_slot {
    ev_uint32_t efd;
    ev_uint32_t tfd;
    ev_uint64_t toff;
};

/* Whether the epoll set holds more than `known` registrations under the
 * number fd: 1 yes, 0 no, -1 when the kernel cannot tell. */
static int
registered_beyond(const struct epollop *ep, evutil_socket_t fd, int known)
{
#ifdef SYS_kcmp
    struct epoll_kcmp_slot slot;
    pid_t self = getpid();
    long r;

    slot.efd = (ev_uint32_t)ep->epfd;
    slot.tfd = (ev_uint32_t)fd;
    slot.toff = (ev_uint64_t)known;
    /* Compares our epfd's file with the known-th file registered under
     * fd; only whether there is one matters. */
    r = syscall(SYS_kcmp, self, self, EPOLL_KCMP_EPOLL_TFD, ep->epfd, &slot);
    if (r >= 0)
        return 1;
    return errno == ENOENT ? 0 : -1;
#else
    (void)ep;
    (void)fd;
    (void)known;
    return -1;
#endif
}

/* A DEL failed with EBADF or ENOENT, or an ADD succeeded where a
 * registration was expected (directly, or as the retry of a MOD): the
 * file once registered under fd was closed, and `known` registrations
 * under fd are ours.  One more is stale (a dup keeps its file open):
 * have dispatch rebuild the set. */
static void
check_stale(struct epollop *ep, evutil_socket_t fd, int known)
{
    if (ep->kcmp_ok && registered_beyond(ep, fd, known) != 0) {
        event_debug(("epoll: a closed file stays registered under fd %d; "
                     "rebuilding the set, deleting eagerly from now on",
            (int)fd));
        ep->need_rebuild = 1;
        /* Files of this process live on elsewhere (a dup, a child made
         * by posix_spawn() or vfork(), which run no fork handler, a
         * descriptor passed over a socket): another lazy delete before a
         * close() would cost another O(n) rebuild. */
        ep->lazy_del = 0;
    }
}

/* The kernel refused op on fd: retry the way the comment at the top
 * explains, or warn.  Returns 0 when the retry worked, -1 otherwise. */
static int
ctl_failed(struct epollop *ep, int op, evutil_socket_t fd, ev_uint32_t k,
    short old, struct epoll_fdinfo *info)
{
    int retry;
    if (op == EPOLL_CTL_DEL) {
        if (errno == EBADF || errno == ENOENT) {
            check_stale(ep, fd, 0);
            return 0;
        }
        if (errno == EPERM)
            return 0;
        event_warn("Epoll DEL on fd %d failed", (int)fd);
        return -1;
    }
    if (op == EPOLL_CTL_MOD && errno == ENOENT)
        retry = EPOLL_CTL_ADD;
    else if (op == EPOLL_CTL_ADD && errno == EEXIST)
        retry = EPOLL_CTL_MOD;
    else
        retry = -1;
    if (retry == -1 || ctl(ep->epfd, retry, fd, k, info) == -1) {
        event_warn("Epoll %s(%d) on fd %d failed; old events were %d",
            op_name(retry == -1 ? op : retry), (int)k, (int)fd, (int)old);
        return -1;
    }
    event_debug(("Epoll %s(%d) on fd %d retried as %s; succeeded.",
        op_name(op), (int)k, (int)fd, op_name(retry)));
    if (retry == EPOLL_CTL_ADD)
        check_stale(ep, fd, 1);
    return 0;
}

/* ---- lazy deletes (see the top) ---- */

/* Leave fd registered and list its DEL for dispatch (once). */
static inline void
pending_push(struct epollop *ep, evutil_socket_t fd,
    struct epoll_fdinfo *info)
{
    if (info->u.pending_next == 0) {
        info->u.pending_next = ep->pending_first + 2;
        ep->pending_first = fd;
    }
}

/* Before the wait: DEL the listed fds that still have no interest, and
 * empty the list. */
static void
pending_flush(struct event_base *base, struct epollop *ep)
{
    evutil_socket_t fd = ep->pending_first;

    ep->pending_first = -1;
    while (fd >= 0) {
        /* A listed fd is mapped, and map entries never move. */
        struct evmap_io *ctx = base->io.entries[fd];
        struct epoll_fdinfo *info = EVMAP_FDINFO(ctx);
        evutil_socket_t next = info->u.pending_next - 2;

        info->u.pending_next = 0;
        if (ctx->interest == 0 && info->kevents != 0) {
            info->kevents = 0;
            if (ctl(ep->epfd, EPOLL_CTL_DEL, fd, 0, info) == -1)
                (void)ctl_failed(ep, EPOLL_CTL_DEL, fd, 0, 0, info);
        }
        fd = next;
    }
}

/* Build a new epoll set from the io map and put it in place of the old
 * one under the same number, dropping a stale registration that no DEL
 * can reach. */
static void
epoll_rebuild(struct event_base *base, struct epollop *ep)
{
    int nfd, i;

    ep->need_rebuild = 0;
    nfd = epoll_create1(EPOLL_CLOEXEC);
    if (nfd == -1) {
        event_warn("epoll_create1 (rebuilding the set)");
        return;
    }
    for (i = 0; i < base->io.nentries; ++i) {
        struct evmap_io *ctx = base->io.entries[i];
        struct epoll_fdinfo *info;
        if (ctx == NULL)
            continue;
        info = EVMAP_FDINFO(ctx);
        if (info->kevents != 0 &&
            ctl(nfd, EPOLL_CTL_ADD, i, info->kevents, info) == -1) {
            /* Closed under a live event: the kernel had dropped it. */
            event_debug(("epoll: fd %d gone while rebuilding", i));
            info->kevents = 0;
        }
    }
    if (ep->timerfd >= 0 &&
        ctl(nfd, EPOLL_CTL_ADD, ep->timerfd, EPOLLIN,
            (struct epoll_fdinfo *)ep->timer_entry->fdinfo) == -1)
        event_warn("epoll_ctl(timerfd) while rebuilding");
    if (dup3(nfd, ep->epfd, O_CLOEXEC) == -1)
        event_warn("dup3 (rebuilding the epoll set)");
    close(nfd);
}

/* ---- end of lazy deletes ---- */

/*
 * Make the kernel watch fd for exactly `want` (EV_READ, EV_WRITE,
 * EV_CLOSED; none means remove it), edge-triggered if et.  info is fd's
 * epoll_fdinfo in its evmap entry, never NULL from the core.  Returns 0,
 * or -1 with a warning when the kernel refused.
 */
static inline int
set_interest(struct event_base *base, evutil_socket_t fd, short old,
    short want, int et, struct epoll_fdinfo *info)
{
    struct epollop *ep = base->evbase;
    int registered;
    ev_uint32_t k;
    int op;

    if (EVUTIL_UNLIKELY(info == NULL)) {
        event_warnx("epoll: fd %d has no map entry", (int)fd);
        return -1;
    }
    registered = info->kevents != 0;

    if (!(want & EPOLL_INTERESTS)) {
        if (!registered)
            return 0;
        k = 0;
        op = EPOLL_CTL_DEL;
    } else {
        k = kernel_events(want, et);
        op = registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    }
    {
        /* Everything the code after epoll_ctl needs lives in req, whose
         * address the kernel call takes: the compiler reloads it from
         * memory instead of keeping six values in saved registers. */
        struct {
            struct epoll_event ev;
            int op;
            int fd;
            short old;
        } req;
        req.ev.events = k;
        req.ev.data.u64 = 0;
        req.ev.data.ptr = info;
        req.op = op;
        req.fd = fd;
        req.old = old;
        if (EVUTIL_UNLIKELY(
                epoll_ctl(ep->epfd, op, fd, &req.ev) == -1) &&
            ctl_failed(base->evbase, req.op, req.fd, req.ev.events,
                req.old, req.ev.data.ptr) == -1)
            return -1;
        info = req.ev.data.ptr;
        info->kevents = req.op != EPOLL_CTL_DEL ? req.ev.events : 0;
    }
    return 0;
}

/* set_interest out of line, for the paths below that are not the usual
 * ones, so that those keep a short prologue. */
static int set_interest_any(struct event_base *, evutil_socket_t, short,
    short, int, struct epoll_fdinfo *) EVUTIL_NOINLINE_;
static int
set_interest_any(struct event_base *base, evutil_socket_t fd, short old,
    short want, int et, struct epoll_fdinfo *info)
{
    return set_interest(base, fd, old, want, et, info);
}

/* The first interest in an fd the kernel does not watch: an ADD. */
static int set_interest_new(struct event_base *, evutil_socket_t, short,
    int, struct epoll_fdinfo *) EVUTIL_NOINLINE_;
static int
set_interest_new(struct event_base *base, evutil_socket_t fd, short want,
    int et, struct epoll_fdinfo *info)
{
    return set_interest(base, fd, 0, want, et, info);
}

/* The probing ADD of a re-registration did not say EEXIST: err is 0 when
 * it succeeded, else its errno (not EEXIST).  See epoll_add. */
static int probe_not_eexist(struct epollop *, evutil_socket_t, ev_uint32_t,
    struct epoll_fdinfo *, int) EVUTIL_NOINLINE_;
static int
probe_not_eexist(struct epollop *ep, evutil_socket_t fd, ev_uint32_t k,
    struct epoll_fdinfo *info, int err)
{
    if (err == 0) {
        /* The old file went with close(); this one is new. */
        check_stale(ep, fd, 1);
        return 0;
    }
    info->kevents = 0;
    errno = err;
    (void)ctl_failed(ep, EPOLL_CTL_ADD, fd, k, 0, info);
    if (err == EBADF)
        check_stale(ep, fd, 0);
    errno = err;
    return -1;
}

/* A re-registration for other kinds than the kernel still watches (a
 * lazy DEL is pending): DEL now, then add them anew. */
static int readd_other_kinds(struct event_base *, evutil_socket_t, short,
    int, struct epoll_fdinfo *) EVUTIL_NOINLINE_;
static int
readd_other_kinds(struct event_base *base, evutil_socket_t fd, short want,
    int et, struct epoll_fdinfo *info)
{
    struct epollop *ep = base->evbase;

    if (ctl(ep->epfd, EPOLL_CTL_DEL, fd, 0, info) == -1)
        (void)ctl_failed(ep, EPOLL_CTL_DEL, fd, 0, 0, info);
    info->kevents = 0;
    return set_interest(base, fd, 0, want, et, info);
}

static int
epoll_add(struct event_base *base, evutil_socket_t fd, short old,
    short events, void *p)
{
    struct epoll_fdinfo *info = p;
    short want;

    if (EVUTIL_LIKELY(old == 0) && EVUTIL_LIKELY(info != NULL) &&
        info->kevents != 0) {
        /* A re-registration: the kernel still watches the fd though
         * nothing wanted it (a lazy DEL is pending).  For the same kinds
         * an ADD probes (see the top), and EEXIST, the usual answer,
         * says the registration is still in place.  What the code after
         * the call needs lives in req, as in set_interest. */
        struct {
            struct epoll_event ev;
            struct epollop *ep;
            evutil_socket_t fd;
        } req;
        req.ev.events =
            kernel_events_table[events & (EPOLL_INTERESTS | EV_ET)];
        if (EVUTIL_UNLIKELY(req.ev.events != info->kevents))
            return readd_other_kinds(base, fd, events & EPOLL_INTERESTS,
                events & EV_ET, info);
        req.ev.data.u64 = 0;
        req.ev.data.ptr = info;
        req.ep = base->evbase;
        req.fd = fd;
        if (epoll_ctl(req.ep->epfd, EPOLL_CTL_ADD, fd, &req.ev) == 0)
            return probe_not_eexist(req.ep, req.fd, req.ev.events,
                req.ev.data.ptr, 0);
        if (EVUTIL_LIKELY(errno == EEXIST))
            return 0;
        return probe_not_eexist(req.ep, req.fd, req.ev.events,
            req.ev.data.ptr, errno);
    }
    want = (old | events) & EPOLL_INTERESTS;
    if (info != NULL && info->kevents == 0)
        return set_interest_new(base, fd, want, events & EV_ET, info);
    return set_interest_any(base, fd, old, want, events & EV_ET, info);
}

static int
epoll_del(struct event_base *base, evutil_socket_t fd, short old,
    short events, void *p)
{
    struct epoll_fdinfo *info = p;
    struct epollop *ep = base->evbase;
    short want = old & ~events & EPOLL_INTERESTS;

    /* The usual del, the last interest going from a level-triggered
     * registration, is lazy (see the top). */
    if (EVUTIL_LIKELY(!want && info != NULL && ep->lazy_del &&
                      info->kevents != 0 && !(info->kevents & EPOLLET) &&
                      epoll_no_fork_since(ep->forks_at_init))) {
        pending_push(ep, fd, info);
        return 0;
    }
    return set_interest_any(base, fd, old, want, events & EV_ET, info);
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

/* Changelist mode: push every queued change to the kernel, then empty
 * the list.  A failed change is warned about and skipped; the rest still
 * apply. */
static void
apply_changelist(struct event_base *base)
{
    struct event_changelist *cl = &base->changelist;
    int i;

    for (i = 0; i < cl->n_changes; ++i) {
        const struct event_change *ch = &cl->changes[i];
        short old = ch->old_events & EPOLL_INTERESTS;
        short want = old;
        int all = ch->read_change | ch->write_change | ch->close_change;

        /* An add and a del of what the fd did not have cancel out to no
         * change at all.  A del then an add of what it had stays an add
         * and still reaches the kernel: the fd may have been closed and
         * its number reused in between, and MOD-then-ADD repairs that. */
        if (!(all & (EV_CHANGE_ADD | EV_CHANGE_DEL)))
            continue;
        want = apply_change_bits(want, ch->read_change, EV_READ);
        want = apply_change_bits(want, ch->write_change, EV_WRITE);
        want = apply_change_bits(want, ch->close_change, EV_CLOSED);
        (void)set_interest(base, ch->fd, old, want, all & EV_CHANGE_ET,
            evmap_io_get_fdinfo_(&base->io, ch->fd));
    }
    event_changelist_remove_all_(cl, base);
}

/* Kernel bits to EV_READ, EV_WRITE, EV_CLOSED.  Callers add EV_ET when
 * they activate, as libevent's epoll does: an event added with EV_ET
 * sees it in its callback's what. */
static inline short
translate(ev_uint32_t what)
{
    /* One table over EPOLLIN, EPOLLPRI, EPOLLOUT, EPOLLERR, EPOLLHUP (the
     * low five bits) and EPOLLRDHUP (0x2000, moved to 0x20), with
     * libevent 2.1's rules: an error, or a hang-up without EPOLLRDHUP,
     * is EV_READ|EV_WRITE alone (either makes any read or write return
     * at once, so whoever waits for one must run to find out); otherwise
     * EPOLLIN is EV_READ, EPOLLOUT EV_WRITE, EPOLLRDHUP EV_CLOSED, and a
     * hang-up and EPOLLPRI add nothing. */
#define R_ EV_READ
#define W_ EV_WRITE
#define RW_ (EV_READ | EV_WRITE)
#define C_ EV_CLOSED
    static const unsigned char map[64] = {
        /* without EPOLLRDHUP */
        0, R_, 0, R_, W_, RW_, W_, RW_, /* IN, (PRI), OUT */
        RW_, RW_, RW_, RW_, RW_, RW_, RW_, RW_, /* ERR */
        RW_, RW_, RW_, RW_, RW_, RW_, RW_, RW_, /* HUP */
        RW_, RW_, RW_, RW_, RW_, RW_, RW_, RW_, /* ERR and HUP */
        /* with EPOLLRDHUP */
        C_, R_ | C_, C_, R_ | C_, W_ | C_, RW_ | C_, W_ | C_, RW_ | C_,
        RW_, RW_, RW_, RW_, RW_, RW_, RW_, RW_, /* ERR */
        C_, R_ | C_, C_, R_ | C_, W_ | C_, RW_ | C_, W_ | C_, RW_ | C_,
        RW_, RW_, RW_, RW_, RW_, RW_, RW_, RW_, /* ERR and HUP */
    };
#undef R_
#undef W_
#undef RW_
#undef C_
    /* The usual report, from a read event's fd: no table load. */
    if (EVUTIL_LIKELY(what == EPOLLIN))
        return EV_READ;
    return map[(what & 0x1f) | ((what & EPOLLRDHUP) >> 8)];
}

/* epoll_wait()'s timeout for tv: milliseconds rounded up, so that the
 * wait never ends early; -1 (none) for NULL. */
static inline long
epoll_timeout_ms_(const struct timeval *tv)
{
    long timeout;

    if (tv == NULL)
        return -1;
    /* -1 from the conversion means it overflowed. */
    timeout = evutil_tv_to_msec_inl_(tv);
    if (timeout < 0 || timeout > MAX_EPOLL_TIMEOUT_MSEC)
        timeout = MAX_EPOLL_TIMEOUT_MSEC;
    return timeout;
}

/* The wait itself, and the delivery of what it reports. */
static inline int
epoll_wait_deliver_(struct event_base *base, struct epollop *ep, long timeout)
{
    int res;

    EVBASE_RELEASE_LOCK(base, th_base_lock);
    res = epoll_wait(ep->epfd, ep->events, ep->nevents, (int)timeout);
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);

    if (res > 0)
        return epoll_deliver(base, ep, res);
    /* Nothing to deliver: a timeout (a wake-up for timers only), or a
     * signal. */
    if (res == -1 && errno != EINTR) {
        event_warn("epoll_wait");
        return -1;
    }
    return 0;
}

static int
epoll_dispatch(struct event_base *base, struct timeval *tv)
{
    struct epollop *ep = base->evbase;
    long timeout;

    if (base->changelist.n_changes > 0)
        apply_changelist(base);
    if (ep->pending_first >= 0)
        pending_flush(base, ep);
    if (EVUTIL_UNLIKELY(ep->need_rebuild))
        epoll_rebuild(base, ep);

    if (ep->timerfd >= 0)
        timeout = timerfd_arm(ep, tv);
    else
        timeout = epoll_timeout_ms_(tv);
    return epoll_wait_deliver_(base, ep, timeout);
}

/* The res results a wait left in ep->events: run them in place or
 * activate them.  Returns 0. */
static int
epoll_deliver(struct event_base *base, struct epollop *ep, int res)
{
    struct epoll_event *events;
    int i;

    event_debug(("%s: epoll_wait reports %d", __func__, res));
    EVUTIL_ASSERT(res <= ep->nevents);

    /* A full array suggests more were ready: make room for next time
     * (realloc keeps the results, which may still be run from it). */
    if (res == ep->nevents && ep->nevents < MAX_NEVENT) {
        int n = ep->nevents * 2;
        struct epoll_event *grown =
            mm_realloc(ep->events, n * sizeof(struct epoll_event));
        if (grown != NULL) {
            /* Zeroed: the io_uring mode's wait writes there from the
             * kernel's side, which valgrind's memcheck does not see; it
             * would call every report it reads there uninitialised. */
            memset(grown + ep->nevents, 0,
                (size_t)(n - ep->nevents) * sizeof(struct epoll_event));
            ep->events = grown;
            ep->nevents = n;
        }
    }

    /* Leave the results for event_base_loop to run in place when it can
     * (see event_ready_defer_ok_). */
    if (res > 0 && event_ready_defer_ok_(base) &&
        (base->ready_prio = epoll_ready_priority(base, ep->events, res)) >=
            0) {
        base->ready_next = 0;
        base->ready_end = res;
        base->ready_fd = -1;
        base->ready_run = base->th_base_lock ? epoll_run_ready_locked :
                                               epoll_run_ready;
        base->ready_flush = epoll_flush_ready;
        return 0;
    }

    /* data.ptr is the fd's epoll_fdinfo in its evmap entry (see ctl),
     * never NULL: the timerfd's entry has no events (it only ends the
     * wait), and a report no event wants activates nothing. */
    events = ep->events;
    for (i = 0; i < res; ++i)
        evmap_io_ctx_active_inl_(base,
            evmap_io_from_fdinfo_(events[i].data.ptr),
            translate(events[i].events) | EV_ET, 1, NULL);
    return 0;
}

/* The priority the events that results[0..n) make active share: 0 on a
 * base with one priority; on others the common one, or -1 when they
 * differ (or none is ready). */
static int
epoll_ready_priority(struct event_base *base,
    const struct epoll_event *results, int n)
{
    int i, p = -1;

    if (base->nactivequeues == 1)
        return 0;
    for (i = 0; i < n; ++i) {
        short what = translate(results[i].events);
        struct event *ev;
        LIST_FOREACH(ev, &evmap_io_from_fdinfo_(results[i].data.ptr)->events,
            ev_io_next)
        {
            int pri;
            if (!(ev->ev_events & what & EVMAP_IO_KINDS))
                continue;
            pri = ev->ev_pri < base->nactivequeues ? ev->ev_pri :
                                                      base->nactivequeues - 1;
            if (p < 0)
                p = pri;
            else if (p != pri)
                return -1;
        }
    }
    return p;
}

/* Activate the results not run yet, the way dispatch does otherwise,
 * and end the run. */
static void
epoll_flush_ready(struct event_base *base)
{
    struct epollop *ep = base->evbase;
    /* Where libevent's dispatch put them: in order, ahead of the
     * expired timers and of what callbacks activated since. */
    struct event_callback *last = NULL;
    int i, end = base->ready_end;

    /* First, so that nothing below comes back here. */
    base->ready_end = 0;
    for (i = base->ready_next; i < end; ++i)
        evmap_io_ctx_active_inl_(base,
            evmap_io_from_fdinfo_(ep->events[i].data.ptr),
            translate(ep->events[i].events) | EV_ET, 1, &last);
    base->ready_next = 0;
    /* The maxima as if each activation had counted (only when there was
     * one: a maximum just cleared stays 0 otherwise). */
    if (last != NULL)
        event_base_note_count_max_(base);
}

/* The tallies of a run that only its rare cases change.  They live in
 * memory (epoll_run_other_ gets their address), so that across the
 * callbacks the loop keeps little more than the base, the index and the
 * entry pointer in registers (fewer spills, two instructions less per
 * callback). */
struct epoll_run_tally_ {
    /* Entries taken whose callback, if any, was not a user's. */
    int skipped;
    /* What the run returns (see epoll_run_ready_inl). */
    int n;
};

/* An entry of the run that did not end in a user's callback: r, from
 * evmap_io_ctx_run_ready_, is not 1, and i is the index past the entry.
 * Returns 1 when the queue took the entry and the rest (the run ends),
 * else 0. */
static int epoll_run_other_(struct event_base *, struct epoll_run_tally_ *,
    int, int) EVUTIL_NOINLINE_;
static int
epoll_run_other_(struct event_base *base, struct epoll_run_tally_ *t, int r,
    int i)
{
    if (r == 0) {
        t->skipped++;
        return 0;
    }
    if (r == EVMAP_RUN_NOTHING) {
        t->skipped++;
        t->n--;
        return 0;
    }
    /* The queue takes this entry and the rest, in order; they count
     * there, not here. */
    base->ready_next = i - 1;
    t->n -= base->ready_end - base->ready_next;
    epoll_flush_ready(base);
    return 1;
}

/* Run the callbacks of the results in order; a break or continue
 * request queues the rest (event_ask_continue_).  Returns 0 when no
 * callback ran from the results, else a positive count, which
 * event_base_loop tests together with the queue's: what went to the
 * queue counts there, and a report that no event wants (such as a
 * hang-up for an event waiting only for EV_CLOSED) counts nowhere, so
 * EVLOOP_NONBLOCK ends as in libevent.  Sets *nuser to how many
 * non-internal callbacks ran.  The callbacks of a base with a lock run
 * without it, so another thread may flush the rest meanwhile (ready_end
 * becomes 0). */
static inline int
epoll_run_ready_inl(struct event_base *base, int *nuser, const int locked)
{
    struct epollop *ep = base->evbase;
    const struct epoll_event *events = ep->events;
    struct epoll_run_tally_ tally;
    int i, start;

    /* The maxima count them as active at once with the expired timers
     * queued since, as when dispatch activates them all (one event per
     * ready fd, the usual case); event_base_loop counted them once
     * already, before the timers were processed: with nothing queued
     * since, the counts can only have gone down. */
    tally.skipped = 0;
    tally.n = base->ready_end - base->ready_next;
    if (base->event_count_active != 0)
        event_base_note_count_max_plus_(base, tally.n);

    /* A timer more urgent than the results expired: its priority runs
     * first, alone, so all go through the queue. */
    for (i = 0; i < base->ready_prio; ++i) {
        if (TAILQ_FIRST(&base->activequeues[i]) != NULL) {
            epoll_flush_ready(base);
            *nuser = 0;
            return 0;
        }
    }
    /* What callbacks activate more urgently asks to continue. */
    base->event_running_priority = base->ready_prio;

    /* The index lives in a register; base->ready_next follows it for a
     * flush.  Only a flush (which empties the run: ready_end 0) changes
     * the run from a callback, so ready_end is reread each time. */
    start = base->ready_next;
    for (i = start; i < base->ready_end;) {
        /* ep->events moves only in dispatch, never during a run. */
        const struct epoll_event *e = &events[i];
        int r;
        base->ready_next = ++i;
        /* data.ptr is never NULL (the timerfd has an entry without
         * events), and a report no event wants runs nothing. */
        r = evmap_io_ctx_run_ready_(base, evmap_io_from_fdinfo_(e->data.ptr),
            translate(e->events) | EV_ET, locked);
        /* A break or continue asked for by the callback flushed the
         * rest already (event_ask_continue_): ready_end is 0 then. */
        if (EVUTIL_LIKELY(r == 1))
            continue;
        /* The direct run left current_event set (evmap_io_call_ready_). */
        if (!locked)
            base->current_event = NULL;
        if (epoll_run_other_(base, &tally, r, i)) {
            /* This entry went back to the queue too (ready_next). */
            i = base->ready_next;
            break;
        }
    }
    base->ready_next = base->ready_end = 0;
    base->event_running_priority = -1;
    if (!locked)
        base->current_event = NULL;
    /* Entries taken from the results, less those whose callback was not
     * a user's. */
    *nuser = i - start - tally.skipped;
    return tally.n;
}

static int
epoll_run_ready(struct event_base *base, int *nuser)
{
    return epoll_run_ready_inl(base, nuser, 0);
}

static int
epoll_run_ready_locked(struct event_base *base, int *nuser)
{
    return epoll_run_ready_inl(base, nuser, 1);
}

#ifdef EVENT__HAVE_IO_URING
/* ---- io_uring mode ---- */

/*
 * The io_uring mode: the "io_uring" method (epollops_uring), chosen
 * ahead of plain epoll where the kernel takes epoll_wait() as a ring
 * request (IORING_OP_EPOLL_WAIT, Linux 6.15).  The interests live in the
 * epoll set exactly as above, so all of the above holds, close() ending a
 * registration among it (a poll request, as backends/io_uring.c makes,
 * would keep its file open).  What changes is how the loop reaches the
 * kernel:
 *  - the lazy DELs and the re-registration probes (an add of the same
 *    kinds while the DEL is pending: epoll_ring_add) are
 *    IORING_OP_EPOLL_CTL requests, queued by dispatch and submitted
 *    together, in one io_uring_enter() per 256, before the wait; a loop
 *    that re-arms its events makes no system call per event.  Every
 *    request is done before dispatch goes on (ring_submit waits for the
 *    few a kernel worker does late), so nothing done to an fd after it
 *    (an epoll_ctl() from event_add, say) can be undone by it.  A DEL's
 *    completion is read as ctl_failed reads a failure, a probe's usual
 *    EEXIST and its other answers as probe_not_eexist reads them, before
 *    the wait, so a stale registration found on the way is still gone
 *    before anything is reported;
 *  - every other change (a first ADD, a MOD, an edge-triggered DEL) is
 *    still an epoll_ctl() call, so event_add() still fails at once where
 *    epoll refuses an fd;
 *  - the wait is epoll_wait(), which sleeps and wakes for less kernel
 *    time than the ring's request, except for a precise timeout: then it
 *    is an IORING_OP_EPOLL_WAIT request into ep->events, with the timeout
 *    in nanoseconds given to io_uring_enter() (precise timers need no
 *    timerfd).  Such a wait that times out stays armed, and the next
 *    dispatches wait through the ring until it completes.  The ring runs
 *    its completion work only inside io_uring_enter()
 *    (IORING_SETUP_DEFER_TASKRUN), so the wait takes its reports there,
 *    never while callbacks run; one that completes while ring_submit
 *    waits for control requests is delivered by the dispatch after.
 *    A loop that only waits and runs callbacks is plain epoll's, and
 *    leaves the ring disabled (below) until it has a request for it.
 *
 * DEFER_TASKRUN needs one thread to own the ring (SINGLE_ISSUER):
 * init() makes the ring disabled (so that a kernel or seccomp filter
 * refusing any of it makes plain epoll the choice), and the first
 * dispatch that uses it enables it, in the thread that runs the loop.
 * A dispatch from another thread, or in a forked child that skipped
 * event_reinit() (the kernel wipes a page of the ring in a child), makes
 * a new one; after RING_MAX_REMAKES of those the base goes on as plain
 * epoll (ring_drop: its evsel becomes epollops), as it does when the
 * kernel refuses a ring later or a request fails in a way it should not.
 */

/* Make a ring; probe: check the opcodes too; disabled: for another
 * thread to enable (IORING_SETUP_R_DISABLED). */
static int
ring_make(struct uring *r, int probe, int disabled)
{
    static const int ops[] = {
        IORING_OP_EPOLL_CTL, URING_OP_EPOLL_WAIT, IORING_OP_ASYNC_CANCEL};
    return uring_setup_(r, RING_SQ_ENTRIES, RING_CQ_ENTRIES,
        IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER |
            IORING_SETUP_DEFER_TASKRUN |
            (disabled ? IORING_SETUP_R_DISABLED : 0),
        IORING_FEAT_SINGLE_MMAP | IORING_FEAT_NODROP | IORING_FEAT_EXT_ARG,
        ops, probe ? (int)(sizeof(ops) / sizeof(ops[0])) : 0);
}

/* Tear the ring down; its wait is cancelled first where this thread may
 * still enter it, so that the kernel is done with ep->events. */
static void
ring_close(struct epoll_ring *er)
{
    if (er->r.fd < 0)
        return;
    if (er->wait_armed && er->enabled && !uring_forked_copy_(&er->r) &&
        pthread_equal(er->owner, pthread_self()) &&
        uring_unsubmitted_(&er->r) < er->r.sq_entries) {
        struct io_uring_sqe *sqe = uring_sqe_(&er->r);
        sqe->opcode = IORING_OP_ASYNC_CANCEL;
        sqe->fd = -1;
        sqe->addr = RUD(RUD_WAIT, er->wait_gen);
        sqe->user_data = RUD(RUD_CANCEL, 0);
        uring_queue_(&er->r);
        (void)uring_enter_(&er->r, uring_unsubmitted_(&er->r), 0,
            IORING_ENTER_GETEVENTS, NULL, 0);
    }
    uring_teardown_(&er->r);
    er->wait_armed = 0;
    er->wait_done = 0;
    er->ctl_out = 0;
    er->failed = 0;
    er->enabled = 0;
}

/* Re-registrations whose probe was left to the ring: probe them with
 * epoll_ctl() (the base is going on without the ring). */
static void
pending_probe_now(struct event_base *base, struct epollop *ep)
{
    evutil_socket_t fd;

    for (fd = ep->pending_first; fd >= 0;) {
        struct evmap_io *ctx = base->io.entries[fd];
        struct epoll_fdinfo *info = EVMAP_FDINFO(ctx);

        if (ctx->interest != 0 && info->kevents != 0) {
            if (ctl(ep->epfd, EPOLL_CTL_ADD, fd, info->kevents, info) == 0)
                (void)probe_not_eexist(ep, fd, info->kevents, info, 0);
            else if (errno != EEXIST)
                (void)probe_not_eexist(ep, fd, info->kevents, info, errno);
        }
        fd = info->u.pending_next - 2;
    }
}

/* Go on as plain epoll. */
static void
ring_drop(struct event_base *base, struct epollop *ep)
{
    event_debug(("epoll: going on without the io_uring ring"));
    ring_close(ep->ring);
    mm_free(ep->ring);
    ep->ring = NULL;
    pending_probe_now(base, ep);
    /* Every call comes with the base's lock held, as this one. */
    base->evsel = &epollops;
}

/* The ring for this dispatch: made or made anew as the top explains;
 * NULL when the base goes on as plain epoll. */
static struct epoll_ring *ring_remake(struct event_base *,
    struct epollop *) EVUTIL_NOINLINE_;
static struct epoll_ring *
ring_remake(struct event_base *base, struct epollop *ep)
{
    struct epoll_ring *er = ep->ring;

    if (er->r.fd >= 0 && !er->enabled && !uring_forked_copy_(&er->r)) {
        /* init()'s ring: this thread's from now on. */
        if (syscall(__NR_io_uring_register, er->r.fd,
                IORING_REGISTER_ENABLE_RINGS, NULL, 0) == 0) {
            er->enabled = 1;
            er->owner = pthread_self();
            return er;
        }
        event_debug(("epoll: enabling the io_uring ring: %s",
            strerror(errno)));
    }
    if (er->r.fd >= 0) {
        event_debug(("epoll: the io_uring ring is another thread's or "
                     "process's; making a new one"));
        ring_close(er);
        if (++er->remakes > RING_MAX_REMAKES) {
            ring_drop(base, ep);
            return NULL;
        }
    }
    if (ring_make(&er->r, 0, 0) != 0) {
        ring_drop(base, ep);
        return NULL;
    }
    er->enabled = 1;
    er->owner = pthread_self();
    er->wait_armed = 0;
    er->wait_done = 0;
    er->ctl_out = 0;
    er->failed = 0;
    return er;
}

static inline struct epoll_ring *
ring_get(struct event_base *base, struct epollop *ep)
{
    struct epoll_ring *er = ep->ring;

    if (EVUTIL_LIKELY(er->enabled) &&
        EVUTIL_LIKELY(!uring_forked_copy_(&er->r)) &&
        EVUTIL_LIKELY(pthread_equal(er->owner, pthread_self())))
        return er;
    return ring_remake(base, ep);
}

/* A deferred probe's result (see epoll_add for what the answers mean). */
static void
ring_probe_done(struct event_base *base, struct epollop *ep,
    evutil_socket_t fd, int res)
{
    struct epoll_fdinfo *info;

    if (EVUTIL_LIKELY(res == -EEXIST))
        return;
    if (fd < 0 || fd >= base->io.nentries || base->io.entries[fd] == NULL)
        return;
    info = EVMAP_FDINFO(base->io.entries[fd]);
    if (res == -EBADF) {
        /* Closed after its event was added, as epoll allows: no
         * warning, unlike an add of a closed fd. */
        event_debug(("epoll: fd %d closed under an added event", (int)fd));
        info->kevents = 0;
        check_stale(ep, fd, 0);
        return;
    }
    (void)probe_not_eexist(ep, fd, info->kevents, info, -res);
}

/* The armed wait completed with res: dispatch delivers it. */
static inline void
ring_wait_done_(struct epoll_ring *er, int res)
{
    er->wait_armed = 0;
    er->wait_done = 1;
    er->wait_res = res;
}

/* Read every completion. */
static void
ring_reap(struct event_base *base, struct epollop *ep, struct epoll_ring *er)
{
    unsigned head = *er->r.cq_head;
    unsigned tail = __atomic_load_n(er->r.cq_tail, __ATOMIC_ACQUIRE);

    for (; head != tail; ++head) {
        const struct io_uring_cqe *cqe = &er->r.cqes[head & er->r.cq_mask];
        evutil_socket_t fd = (evutil_socket_t)RUD_VAL(cqe->user_data);

        /* A probe's usual answer; no other request gives it. */
        if (EVUTIL_LIKELY(cqe->res == -EEXIST)) {
            --er->ctl_out;
            continue;
        }
        switch (RUD_KIND(cqe->user_data)) {
        case RUD_WAIT:
            if (er->wait_armed && RUD_VAL(cqe->user_data) == er->wait_gen)
                ring_wait_done_(er, cqe->res);
            break;
        case RUD_DEL:
            --er->ctl_out;
            if (cqe->res != 0) {
                errno = -cqe->res;
                (void)ctl_failed(ep, EPOLL_CTL_DEL, fd, 0, 0, NULL);
            }
            break;
        case RUD_PROBE:
            --er->ctl_out;
            ring_probe_done(base, ep, fd, cqe->res);
            break;
        default:
            break;
        }
    }
    __atomic_store_n(er->r.cq_head, head, __ATOMIC_RELEASE);
}

/* The usual completions after a wait: the wait's alone.  Reads it and
 * returns 1, or returns 0 for ring_reap. */
static inline int
ring_reap_wait(struct epoll_ring *er)
{
    unsigned head = *er->r.cq_head;
    const struct io_uring_cqe *cqe = &er->r.cqes[head & er->r.cq_mask];

    if (__atomic_load_n(er->r.cq_tail, __ATOMIC_ACQUIRE) != head + 1 ||
        cqe->user_data != RUD(RUD_WAIT, er->wait_gen) || !er->wait_armed)
        return 0;
    ring_wait_done_(er, cqe->res);
    __atomic_store_n(er->r.cq_head, head + 1, __ATOMIC_RELEASE);
    return 1;
}

/* Submit what is queued and read the results: every control request is
 * done when this returns, or er->failed is set.  The kernel does a
 * request at once unless the epoll set's mutex is busy (another thread
 * or process in epoll_ctl() or epoll_wait() on the set, or closing a
 * file in it); then a worker does it a little later, and its completion
 * comes only inside an io_uring_enter() that waits for completions.
 * Such a request must be done before anything else touches its fd: a
 * DEL done late would delete the registration that a later epoll_ctl()
 * ADD made, and the event would never fire.  So this waits for them (a
 * second each at most, eight times, then the ring is given up). */
static void
ring_submit(struct event_base *base, struct epollop *ep,
    struct epoll_ring *er)
{
    struct io_uring_getevents_arg arg;
    struct __kernel_timespec ts;
    const struct timeval one_second = {1, 0};
    unsigned n;
    int tries = 0;

    while ((n = uring_unsubmitted_(&er->r)) > 0 && tries++ < 8) {
        if (uring_enter_(&er->r, n, 0, 0, NULL, 0) < 0 && errno != EINTR &&
            errno != EAGAIN && errno != EBUSY) {
            event_warn("io_uring_enter (epoll_ctl requests)");
            er->failed = 1;
            break;
        }
        ring_reap(base, ep, er);
    }
    ring_reap(base, ep, er);
    if (EVUTIL_LIKELY(er->ctl_out == 0) || er->failed)
        return;
    uring_wait_arg_(&arg, &ts, &one_second);
    for (tries = 0; er->ctl_out > 0;) {
        if (tries++ == 8) {
            event_warnx("epoll: %u epoll_ctl requests of the io_uring ring "
                        "not done; going on without the ring",
                er->ctl_out);
            er->failed = 1;
            break;
        }
        if (uring_enter_(&er->r, 0, er->ctl_out,
                IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg,
                sizeof(arg)) < 0 &&
            errno != EINTR && errno != ETIME && errno != EAGAIN &&
            errno != EBUSY) {
            event_warn("io_uring_enter (epoll_ctl completions)");
            er->failed = 1;
            break;
        }
        ring_reap(base, ep, er);
    }
}

/* pending_flush for the ring: DEL what has no interest now, probe what
 * was added again (epoll_ring_add), submit. */
static void
ring_flush(struct event_base *base, struct epollop *ep, struct epoll_ring *er)
{
    evutil_socket_t fd, next;
    unsigned room = er->r.sq_entries - uring_unsubmitted_(&er->r);

    for (fd = ep->pending_first, ep->pending_first = -1; fd >= 0;
         fd = next) {
        struct evmap_io *ctx = base->io.entries[fd];
        struct epoll_fdinfo *info = EVMAP_FDINFO(ctx);
        struct io_uring_sqe *sqe;

        next = info->u.pending_next - 2;
        info->u.pending_next = 0;
        if (info->kevents == 0)
            continue;
        if (EVUTIL_UNLIKELY(room == 0)) {
            ring_submit(base, ep, er);
            room = er->r.sq_entries - uring_unsubmitted_(&er->r);
        }
        if (EVUTIL_UNLIKELY(room == 0)) {
            /* The kernel takes nothing: a DEL goes as a call, and the
             * probe is skipped (the registration stays as it was). */
            if (ctx->interest == 0) {
                info->kevents = 0;
                if (ctl(ep->epfd, EPOLL_CTL_DEL, fd, 0, info) == -1)
                    (void)ctl_failed(ep, EPOLL_CTL_DEL, fd, 0, 0, info);
            }
            continue;
        }
        sqe = uring_sqe_(&er->r);
        sqe->opcode = IORING_OP_EPOLL_CTL;
        sqe->fd = ep->epfd;
        sqe->off = (ev_uint64_t)fd;
        if (ctx->interest == 0) {
            info->kevents = 0;
            sqe->len = EPOLL_CTL_DEL;
            sqe->user_data = RUD(RUD_DEL, fd);
        } else {
            struct epoll_event *e =
                &er->ctl_ev[er->r.sq_local_tail & er->r.sq_mask];
            e->events = info->kevents;
            e->data.u64 = 0;
            e->data.ptr = info;
            sqe->len = EPOLL_CTL_ADD;
            sqe->addr = (ev_uint64_t)(uintptr_t)e;
            sqe->user_data = RUD(RUD_PROBE, fd);
        }
        uring_queue_(&er->r);
        ++er->ctl_out;
        --room;
    }
    ring_submit(base, ep, er);
}

/* Whether dispatch waits through the ring: for a precise timeout (the
 * ring takes nanoseconds, epoll_wait() milliseconds), or while a wait it
 * took is armed (only the ring may take that wait's reports). */
static inline int
ring_waits_(const struct event_base *base, const struct epoll_ring *er,
    const struct timeval *tv)
{
    return er->wait_armed ||
           (tv != NULL && (base->flags & EVENT_BASE_FLAG_PRECISE_TIMER) &&
               (tv->tv_sec > 0 || (tv->tv_sec == 0 && tv->tv_usec > 0)));
}

static int
epoll_ring_dispatch(struct event_base *base, struct timeval *tv)
{
    struct epollop *ep = base->evbase;
    struct epoll_ring *er;
    struct io_uring_getevents_arg arg;
    struct __kernel_timespec ts;
    unsigned min_complete = 1;
    int res;

    /* Nothing for the ring: epoll_wait() itself, which sleeps and wakes
     * for less kernel time than the ring's request (a loop answering one
     * connection spent a tenth more system time per message through the
     * ring), on the same set.  The ring's state is only read here: in a
     * forked child or another thread, ring_get below makes the ring anew
     * once there is something for it.  No request is left unsubmitted
     * here: ring_flush submits them all and sees them done (or the ring
     * is dropped), and a wait queued but not taken is armed. */
    er = ep->ring;
    if (EVUTIL_LIKELY(ep->pending_first < 0) && !er->wait_done &&
        !ring_waits_(base, er, tv) && !ep->need_rebuild)
        return epoll_wait_deliver_(base, ep, epoll_timeout_ms_(tv));

    /* (A base without its ring has epollops: ring_drop.) */
    if ((er = ring_get(base, ep)) == NULL)
        return epoll_dispatch(base, tv);
    if (ep->pending_first >= 0 || uring_unsubmitted_(&er->r) > 0) {
        /* The lazy DELs and the probes, all done when it returns. */
        ring_flush(base, ep, er);
        if (EVUTIL_UNLIKELY(er->failed)) {
            ring_drop(base, ep);
            return epoll_dispatch(base, tv);
        }
    }
    if (EVUTIL_UNLIKELY(ep->need_rebuild)) {
        /* An armed wait holds the old set: a new ring, after. */
        ring_close(er);
        epoll_rebuild(base, ep);
        if ((er = ring_remake(base, ep)) == NULL)
            return epoll_dispatch(base, tv);
    }
    /* The armed wait completed while ring_flush waited for its
     * requests: its reports are in ep->events. */
    if (er->wait_done)
        goto done;
    if (!ring_waits_(base, er, tv))
        return epoll_wait_deliver_(base, ep, epoll_timeout_ms_(tv));

    if (!er->wait_armed) {
        struct io_uring_sqe *sqe;
        if (EVUTIL_UNLIKELY(uring_unsubmitted_(&er->r) >= er->r.sq_entries))
            return epoll_dispatch(base, tv);
        sqe = uring_sqe_(&er->r);
        sqe->opcode = URING_OP_EPOLL_WAIT;
        sqe->fd = ep->epfd;
        sqe->addr = (ev_uint64_t)(uintptr_t)ep->events;
        sqe->len = (ev_uint32_t)ep->nevents;
        sqe->user_data = RUD(RUD_WAIT, ++er->wait_gen);
        uring_queue_(&er->r);
        er->wait_armed = 1;
    }

    if (tv == NULL) {
        /* No timeout: no argument either. */
        EVBASE_RELEASE_LOCK(base, th_base_lock);
        res = uring_enter_(&er->r, uring_unsubmitted_(&er->r), 1,
            IORING_ENTER_GETEVENTS, NULL, 0);
        EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    } else {
        /* The exact timeout (the base asked for precise timers), or
         * none with nothing to wait for. */
        if (tv->tv_sec < 0 || (tv->tv_sec == 0 && tv->tv_usec <= 0))
            min_complete = 0;
        uring_wait_arg_(&arg, &ts, min_complete ? tv : NULL);
        EVBASE_RELEASE_LOCK(base, th_base_lock);
        res = uring_enter_(&er->r, uring_unsubmitted_(&er->r), min_complete,
            IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg));
        EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    }

    /* ETIME: the timeout passed; EINTR: a signal; EBUSY, EAGAIN: the
     * kernel is short of room until we reap. */
    if (EVUTIL_UNLIKELY(res < 0) && errno != EINTR && errno != ETIME &&
        errno != EBUSY && errno != EAGAIN) {
        event_warn("io_uring_enter");
        ring_drop(base, ep);
        return 0;
    }
    if (!ring_reap_wait(er))
        ring_reap(base, ep, er);
    if (!er->wait_done)
        return 0; /* still armed: the timeout passed, or a signal */
done:
    er->wait_done = 0;
    res = er->wait_res;
    if (res > 0)
        return epoll_deliver(base, ep, res);
    if (res != 0 && res != -ECANCELED && res != -EINTR) {
        errno = -res;
        event_warn("io_uring epoll_wait");
        ring_drop(base, ep);
    }
    return 0;
}

/* epoll_add out of line, so that epoll_ring_add stays a leaf. */
static int epoll_add_other(struct event_base *, evutil_socket_t, short, short,
    void *) EVUTIL_NOINLINE_;
static int
epoll_add_other(struct event_base *base, evutil_socket_t fd, short old,
    short events, void *p)
{
    return epoll_add(base, fd, old, events, p);
}

/* epoll_add, but a re-registration of the same kinds while the lazy DEL
 * is pending leaves its probe to ring_flush. */
static int
epoll_ring_add(struct event_base *base, evutil_socket_t fd, short old,
    short events, void *p)
{
    struct epoll_fdinfo *info = p;

    /* (A base without its ring is plain epoll's: ring_drop.) */
    if (EVUTIL_LIKELY(old == 0) && EVUTIL_LIKELY(info != NULL) &&
        info->u.pending_next != 0 && info->kevents != 0 &&
        info->kevents ==
            kernel_events_table[events & (EPOLL_INTERESTS | EV_ET)])
        return 0;
    return epoll_add_other(base, fd, old, events, p);
}

static void *
epoll_ring_init(struct event_base *base)
{
    struct epollop *ep;
    struct uring r;

    /* A changelist was asked for by name: that is epoll's.  The ring is
     * made here, disabled, so that a kernel (or a seccomp filter) that
     * refuses any of it makes the next method the choice; the thread
     * that runs the loop enables it. */
    if (use_changelist(base) || ring_make(&r, 1, 1) != 0)
        return NULL;
    ep = epoll_open(base, 1);
    if (ep == NULL) {
        uring_teardown_(&r);
        return NULL;
    }
    ep->ring->r = r;
    return ep;
}

const struct eventop epollops_uring = {
    "io_uring",
    epoll_ring_init,
    epoll_ring_add,
    epoll_del,
    epoll_ring_dispatch,
    epoll_dealloc,
    1, /* need_reinit: the epoll fd is shared with a forked child */
    EV_FEATURE_ET | EV_FEATURE_O1 | EV_FEATURE_EARLY_CLOSE,
    sizeof(struct epoll_fdinfo),
};

/* ---- end of io_uring mode ---- */
#endif /* EVENT__HAVE_IO_URING */


static void
epoll_dealloc(struct event_base *base)
{
    struct epollop *ep = base->evbase;

    /* NULL: init failed, and evsig_init_ never ran either. */
    if (ep == NULL)
        return;
    evsig_dealloc_(base);
#ifdef EVENT__HAVE_IO_URING
    /* Before ep->events goes: the ring's wait may write there. */
    if (ep->ring != NULL) {
        ring_close(ep->ring);
        mm_free(ep->ring);
    }
#endif
    if (ep->events != NULL)
        mm_free(ep->events);
    if (ep->epfd >= 0)
        close(ep->epfd);
    if (ep->timerfd >= 0)
        close(ep->timerfd);
    if (ep->timer_entry != NULL)
        mm_free(ep->timer_entry);
    memset(ep, 0, sizeof(*ep));
    mm_free(ep);
}

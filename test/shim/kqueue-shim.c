/*
 * kqueue-shim.c (tests only): kqueue(2) and kevent(2) of the BSDs on
 * Linux, written from FreeBSD's manual page kevent(2), so that
 * backends/kqueue.c runs for real in the test suite.
 *
 * A kqueue is an epoll instance; its fd is the kqueue's fd.  A knote is
 * keyed by (ident, filter).  Every fd with knotes has one epoll
 * registration for the union of its enabled filters, edge-triggered when
 * all of them are EV_CLEAR.  Readiness that epoll reports queues the
 * knote; when it is retrieved the filter runs again (poll(2) with a zero
 * timeout) and a knote whose condition went away is dropped, as the
 * manual says.
 *
 * What the manual promises and how the shim keeps it:
 *  - changes are applied in order before any event is read.  A failed
 *    change becomes an entry with flags = EV_ERROR and data = errno when
 *    the eventlist has room, otherwise kevent() fails with that errno;
 *    EV_RECEIPT forces an entry (data 0) for a change that worked.  When
 *    any such entry was produced, kevent() returns them at once without
 *    reading events (what makes EV_RECEIPT "bulk changes without
 *    draining");
 *  - up to nevents events come back: epoll is read with room for that
 *    many fds, so every ready knote that fits is handed out (look());
 *  - nevents == 0 returns at once whatever the timeout; a NULL timeout
 *    waits forever, a zero one polls; EINTR only when nothing was ready;
 *  - close() of a descriptor removes its knotes, and the kqueue is not
 *    inherited across fork(): the linker sends close, dup2 and dup3 here
 *    first (-Wl,--wrap=close,--wrap=dup2,--wrap=dup3), and in a child
 *    kevent() on the parent's kqueue fails with EBADF;
 *  - EVFILT_READ: data is the byte count readable (FIONREAD; 1 for a
 *    listening socket), EV_EOF when the read side is shut down or hung
 *    up.  On a regular file (a vnode) it is ready while the file offset
 *    is before the end, data = size - offset, unless NOTE_FILE_POLL;
 *  - EVFILT_WRITE: data is the room left in the send buffer, EV_EOF when
 *    the reader went away; refused with EINVAL on regular files;
 *  - EVFILT_SIGNAL: every delivery attempt is counted, even when the
 *    signal is SIG_IGN (except SIGCHLD when ignored), data is the count
 *    since the last retrieval, EV_CLEAR is implied.  While any knote wants
 *    a signal the shim's own handler stays installed; sigaction() and
 *    signal() are wrapped too and only change the "user disposition",
 *    which the handler runs after counting ("coexists with sigaction()
 *    and has a lower precedence").
 * Only those three filters exist; others are refused with EINVAL.
 *
 * Invariants: every live kqueue is on the kqs list, all shim state is
 * guarded by g_lock (never held while waiting in epoll_wait, never taken
 * by the signal handler); a knote is on its kqueue's pending queue iff
 * kn->queued; fdrec->reg is what epoll has registered for that fd.
 */
#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/event.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sockios.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int __real_close(int fd);
int __real_dup2(int oldfd, int newfd);
int __real_dup3(int oldfd, int newfd, int flags);
int __real_sigaction(int sig, const struct sigaction *act,
    struct sigaction *oact);
int __wrap_close(int fd);
int __wrap_dup2(int oldfd, int newfd);
int __wrap_dup3(int oldfd, int newfd, int flags);
int __wrap_sigaction(int sig, const struct sigaction *act,
    struct sigaction *oact);
sighandler_t __wrap_signal(int sig, sighandler_t handler);

/* epoll data of the signal wake-up eventfd (fd numbers are smaller). */
#define WAKE_TOKEN UINT64_MAX
/* Flags a knote keeps from its EV_ADD. */
#define KN_KEEP (EV_ONESHOT | EV_CLEAR | EV_DISPATCH)
/* Regular files never wake epoll: with such knotes, look again this
 * often (ms). */
#define VNODE_RECHECK_MS 20

struct knote {
    TAILQ_ENTRY(knote) q;
    uintptr_t ident;
    short filter;
    unsigned short flags;
    unsigned int sfflags;
    int64_t sdata;
    void *udata;
    int enabled;
    int queued;
    uint64_t seen; /* EVFILT_SIGNAL: deliveries already reported */
};
TAILQ_HEAD(knote_q, knote);

struct fdrec {
    struct knote *rd, *wr;
    uint32_t reg; /* epoll events registered; 0: not registered */
    int vnode;    /* a regular file: never in epoll */
};

struct kq {
    struct kq *next;
    int fd;
    pid_t pid;
    struct fdrec **recs;
    int nrecs;
    struct knote *sig[NSIG];
    int nvnode;
    struct knote_q pending;
    struct epoll_event *ebuf; /* look()'s buffer, nebuf entries */
    int nebuf;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kq *kqs;
static int nkqs; /* read without the lock by the close wrappers */

/* Signals: counted by the handler (lock-free), which then writes to
 * wake_fd, registered edge-triggered in every kqueue. */
static uint64_t sig_count[NSIG];
static int sig_refs[NSIG];
static struct sigaction user_act[NSIG];
static int wake_fd = -1;

static void __attribute__((constructor))
shim_init(void)
{
    /* Made before main() so that tests counting their fds see it from
     * the start. */
    wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

/* ------------------------------------------------------------------ */
/* Signals. */

static int
default_ignores(int sig)
{
    return sig == SIGCHLD || sig == SIGCONT || sig == SIGURG ||
           sig == SIGWINCH;
}

static void
shim_handler(int sig, siginfo_t *info, void *uc)
{
    int saved = errno;
    const struct sigaction *ua = &user_act[sig];
    uint64_t one = 1;
    ssize_t r;

    __atomic_add_fetch(&sig_count[sig], 1, __ATOMIC_SEQ_CST);
    if (wake_fd >= 0) {
        r = write(wake_fd, &one, sizeof(one));
        (void)r;
    }
    /* Then what the process asked for. */
    if (ua->sa_flags & SA_SIGINFO) {
        if (ua->sa_sigaction != NULL)
            ua->sa_sigaction(sig, info, uc);
    } else if (ua->sa_handler == SIG_DFL) {
        if (!default_ignores(sig)) {
            struct sigaction dfl;
            memset(&dfl, 0, sizeof(dfl));
            dfl.sa_handler = SIG_DFL;
            __real_sigaction(sig, &dfl, NULL);
            raise(sig); /* delivered when the handler returns */
        }
    } else if (ua->sa_handler != SIG_IGN) {
        ua->sa_handler(sig);
    }
    errno = saved;
}

/* Put the kernel disposition of sig in line with user_act[sig]. */
static void
install_handler(int sig)
{
    struct sigaction sa;

    if (sig == SIGCHLD && !(user_act[sig].sa_flags & SA_SIGINFO) &&
        user_act[sig].sa_handler == SIG_IGN) {
        /* Ignored SIGCHLD is not recorded, and children are reaped. */
        __real_sigaction(sig, &user_act[sig], NULL);
        return;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = shim_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&sa.sa_mask);
    (void)__real_sigaction(sig, &sa, NULL);
}

static void
sig_ref(int sig)
{
    if (sig_refs[sig]++ == 0) {
        __real_sigaction(sig, NULL, &user_act[sig]);
        install_handler(sig);
    }
}

static void
sig_unref(int sig)
{
    if (--sig_refs[sig] == 0)
        __real_sigaction(sig, &user_act[sig], NULL);
}

int
__wrap_sigaction(int sig, const struct sigaction *act,
    struct sigaction *oact)
{
    if (sig > 0 && sig < NSIG) {
        pthread_mutex_lock(&g_lock);
        if (sig_refs[sig] > 0) {
            if (oact != NULL)
                *oact = user_act[sig];
            if (act != NULL) {
                user_act[sig] = *act;
                install_handler(sig);
            }
            pthread_mutex_unlock(&g_lock);
            return 0;
        }
        pthread_mutex_unlock(&g_lock);
    }
    return __real_sigaction(sig, act, oact);
}

sighandler_t
__wrap_signal(int sig, sighandler_t handler)
{
    struct sigaction sa, old;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (__wrap_sigaction(sig, &sa, &old) == -1)
        return SIG_ERR;
    return old.sa_handler;
}

/* ------------------------------------------------------------------ */
/* Bookkeeping. */

static struct kq *
find_kq(int fd)
{
    struct kq *k;
    for (k = kqs; k != NULL; k = k->next)
        if (k->fd == fd)
            return k;
    return NULL;
}

static struct fdrec *
rec_get(struct kq *k, int fd, int create)
{
    if (fd < 0)
        return NULL;
    if (fd >= k->nrecs) {
        int n = k->nrecs ? k->nrecs : 64;
        struct fdrec **p;
        if (!create)
            return NULL;
        while (n <= fd)
            n *= 2;
        p = realloc(k->recs, n * sizeof(*p));
        if (p == NULL)
            return NULL;
        memset(p + k->nrecs, 0, (n - k->nrecs) * sizeof(*p));
        k->recs = p;
        k->nrecs = n;
    }
    if (k->recs[fd] == NULL && create)
        k->recs[fd] = calloc(1, sizeof(struct fdrec));
    return k->recs[fd];
}

static void
enqueue(struct kq *k, struct knote *kn)
{
    if (!kn->queued && kn->enabled) {
        TAILQ_INSERT_TAIL(&k->pending, kn, q);
        kn->queued = 1;
    }
}

static void
dequeue(struct kq *k, struct knote *kn)
{
    if (kn->queued) {
        TAILQ_REMOVE(&k->pending, kn, q);
        kn->queued = 0;
    }
}

/* Make epoll's registration of fd match its enabled knotes.  Returns 0
 * or an errno. */
static int
sync_reg(struct kq *k, int fd, struct fdrec *r)
{
    struct epoll_event ev;
    uint32_t want = 0;
    int any = 0, all_clear = 1, op;

    if (r->vnode)
        return 0;
    if (r->rd != NULL && r->rd->enabled) {
        want |= EPOLLIN | EPOLLRDHUP;
        any = 1;
        all_clear &= !!(r->rd->flags & EV_CLEAR);
    }
    if (r->wr != NULL && r->wr->enabled) {
        want |= EPOLLOUT;
        any = 1;
        all_clear &= !!(r->wr->flags & EV_CLEAR);
    }
    if (any && all_clear)
        want |= EPOLLET;
    if (want == r->reg)
        return 0;
    if (want == 0) {
        (void)epoll_ctl(k->fd, EPOLL_CTL_DEL, fd, NULL);
        r->reg = 0;
        return 0;
    }
    memset(&ev, 0, sizeof(ev));
    ev.events = want;
    ev.data.u64 = (uint64_t)fd;
    op = r->reg ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(k->fd, op, fd, &ev) == -1) {
        if (op == EPOLL_CTL_ADD && errno == EEXIST)
            op = EPOLL_CTL_MOD;
        else if (op == EPOLL_CTL_MOD && errno == ENOENT)
            op = EPOLL_CTL_ADD;
        else
            return errno;
        if (epoll_ctl(k->fd, op, fd, &ev) == -1)
            return errno;
    }
    r->reg = want;
    return 0;
}

static void
knote_free(struct kq *k, struct knote *kn)
{
    dequeue(k, kn);
    free(kn);
}

/* Forget every knote of fd (which is still open). */
static void
drop_fd(struct kq *k, int fd)
{
    struct fdrec *r = rec_get(k, fd, 0);

    if (r == NULL)
        return;
    if (r->reg)
        (void)epoll_ctl(k->fd, EPOLL_CTL_DEL, fd, NULL);
    if (r->vnode && r->rd != NULL)
        k->nvnode--;
    if (r->rd != NULL)
        knote_free(k, r->rd);
    if (r->wr != NULL)
        knote_free(k, r->wr);
    free(r);
    k->recs[fd] = NULL;
}

/* Free k and its knotes (its fd is closed by the caller). */
static void
destroy_kq(struct kq *k)
{
    struct kq **pp;
    int i;

    for (pp = &kqs; *pp != NULL; pp = &(*pp)->next)
        if (*pp == k) {
            *pp = k->next;
            break;
        }
    __atomic_sub_fetch(&nkqs, 1, __ATOMIC_SEQ_CST);
    for (i = 0; i < k->nrecs; ++i) {
        struct fdrec *r = k->recs[i];
        if (r == NULL)
            continue;
        if (r->rd != NULL)
            knote_free(k, r->rd);
        if (r->wr != NULL)
            knote_free(k, r->wr);
        free(r);
    }
    free(k->recs);
    free(k->ebuf);
    for (i = 1; i < NSIG; ++i)
        if (k->sig[i] != NULL) {
            knote_free(k, k->sig[i]);
            sig_unref(i);
        }
    free(k);
}

/* fd is about to be closed or replaced: knotes on it go, and if it is a
 * kqueue, the kqueue goes. */
static void
forget_fd(int fd)
{
    struct kq *k, *next;

    pthread_mutex_lock(&g_lock);
    for (k = kqs; k != NULL; k = next) {
        next = k->next;
        if (k->fd == fd)
            destroy_kq(k);
        else if (k->pid == getpid())
            /* A parent's kqueue in a child is dead, and epoll is shared
             * with the parent: leave it alone. */
            drop_fd(k, fd);
    }
    pthread_mutex_unlock(&g_lock);
}

int
__wrap_close(int fd)
{
    if (__atomic_load_n(&nkqs, __ATOMIC_SEQ_CST) > 0)
        forget_fd(fd);
    return __real_close(fd);
}

int
__wrap_dup2(int oldfd, int newfd)
{
    if (oldfd != newfd && __atomic_load_n(&nkqs, __ATOMIC_SEQ_CST) > 0 &&
        fcntl(oldfd, F_GETFD) != -1)
        forget_fd(newfd);
    return __real_dup2(oldfd, newfd);
}

int
__wrap_dup3(int oldfd, int newfd, int flags)
{
    if (oldfd != newfd && __atomic_load_n(&nkqs, __ATOMIC_SEQ_CST) > 0 &&
        fcntl(oldfd, F_GETFD) != -1)
        forget_fd(newfd);
    return __real_dup3(oldfd, newfd, flags);
}

/* ------------------------------------------------------------------ */
/* Filters. */

/* Run the filter of an fd knote now.  Returns 1 when its condition
 * holds, filling *data and *eof. */
static int
fd_filter(const struct knote *kn, int64_t *data, int *eof)
{
    int fd = (int)kn->ident;
    struct pollfd pfd;
    struct stat st;
    int n = 0, v;
    socklen_t len;

    *data = 0;
    *eof = 0;
    if (fstat(fd, &st) == -1)
        return 0;
    if (S_ISREG(st.st_mode)) {
        off_t off = lseek(fd, 0, SEEK_CUR);
        *data = off < 0 ? 0 : (int64_t)(st.st_size - off);
        return *data > 0 || (kn->sfflags & NOTE_FILE_POLL);
    }
    pfd.fd = fd;
    pfd.events = kn->filter == EVFILT_READ ? POLLIN | POLLRDHUP : POLLOUT;
    pfd.revents = 0;
    if (poll(&pfd, 1, 0) != 1 || (pfd.revents & POLLNVAL))
        return 0;
    if (kn->filter == EVFILT_READ) {
        *eof = !!(pfd.revents & (POLLRDHUP | POLLHUP | POLLERR));
        if (ioctl(fd, FIONREAD, &n) == 0)
            *data = n;
        else if (S_ISSOCK(st.st_mode))
            *data = 1; /* a listening socket: "the backlog", at least 1 */
        return 1;
    }
    *eof = !!(pfd.revents & (POLLHUP | POLLERR));
    if (S_ISSOCK(st.st_mode)) {
        len = sizeof(v);
        if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &len) == 0 &&
            ioctl(fd, SIOCOUTQ, &n) == 0 && v > n)
            *data = v - n;
    } else if (S_ISFIFO(st.st_mode)) {
        v = fcntl(fd, F_GETPIPE_SZ);
        if (v > 0 && ioctl(fd, FIONREAD, &n) == 0 && v > n)
            *data = v - n;
    }
    return 1;
}

/* Hand out queued knotes whose condition still holds, at most nev. */
static int
deliver(struct kq *k, struct kevent *out, int nev)
{
    struct knote *kn;
    int n = 0;

    while (n < nev && (kn = TAILQ_FIRST(&k->pending)) != NULL) {
        int64_t data = 0;
        int eof = 0;

        dequeue(k, kn);
        if (!kn->enabled)
            continue;
        if (kn->filter == EVFILT_SIGNAL) {
            uint64_t c = __atomic_load_n(&sig_count[kn->ident],
                __ATOMIC_SEQ_CST);
            if (c == kn->seen)
                continue;
            data = (int64_t)(c - kn->seen);
            kn->seen = c;
        } else if (!fd_filter(kn, &data, &eof)) {
            continue;
        }
        out[n].ident = kn->ident;
        out[n].filter = kn->filter;
        out[n].flags = (kn->flags & KN_KEEP) | (eof ? EV_EOF : 0);
        out[n].fflags = 0;
        out[n].data = data;
        out[n].udata = kn->udata;
        memset(out[n].ext, 0, sizeof(out[n].ext));
        ++n;
        if (kn->flags & (EV_ONESHOT | EV_DISPATCH)) {
            struct fdrec *r = NULL;
            if (kn->filter != EVFILT_SIGNAL)
                r = rec_get(k, (int)kn->ident, 0);
            if (kn->flags & EV_DISPATCH) {
                kn->enabled = 0;
            } else if (kn->filter == EVFILT_SIGNAL) {
                k->sig[kn->ident] = NULL;
                sig_unref((int)kn->ident);
                knote_free(k, kn);
            } else if (r != NULL) {
                if (r->rd == kn) {
                    if (r->vnode)
                        k->nvnode--;
                    r->rd = NULL;
                } else {
                    r->wr = NULL;
                }
                knote_free(k, kn);
            }
            if (r != NULL)
                (void)sync_reg(k, (int)out[n - 1].ident, r);
        }
    }
    return n;
}

/* Queue what epoll reported. */
static void
absorb(struct kq *k, const struct epoll_event *evs, int n)
{
    int i;
    for (i = 0; i < n; ++i) {
        uint32_t e = evs[i].events;
        struct fdrec *r;
        if (evs[i].data.u64 == WAKE_TOKEN)
            continue;
        r = rec_get(k, (int)evs[i].data.u64, 0);
        if (r == NULL)
            continue;
        if (r->rd != NULL &&
            (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
            enqueue(k, r->rd);
        if (r->wr != NULL && (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)))
            enqueue(k, r->wr);
    }
}

/* Queue what epoll has ready now, for a kevent() with room for nevents.
 * "kevent() returns the number of events placed in the eventlist, up to
 * the value given by nevents": so one epoll_wait() with room for nevents
 * fds (and the wake-up eventfd), not a fixed batch, which would leave
 * ready fds beyond it out of a call that had room for them.  An fd is in
 * epoll once, so more than nrecs + 1 entries are never needed. */
static void
look(struct kq *k, int nevents)
{
    struct epoll_event small[64], *buf = small;
    int want = (nevents < k->nrecs ? nevents : k->nrecs) + 1, size = 64, r;

    if (want > size) {
        if (want > k->nebuf) {
            struct epoll_event *p = realloc(k->ebuf, want * sizeof(*p));
            if (p != NULL) {
                k->ebuf = p;
                k->nebuf = want;
            }
        }
        if (k->nebuf > size) {
            buf = k->ebuf;
            size = k->nebuf;
        }
    }
    r = epoll_wait(k->fd, buf, want < size ? want : size, 0);
    if (r > 0)
        absorb(k, buf, r);
}

/* Queue knotes nothing wakes epoll for: signals counted since the last
 * look, and regular files. */
static void
scan(struct kq *k)
{
    int i;
    for (i = 1; i < NSIG; ++i) {
        struct knote *kn = k->sig[i];
        if (kn != NULL &&
            __atomic_load_n(&sig_count[i], __ATOMIC_SEQ_CST) != kn->seen)
            enqueue(k, kn);
    }
    if (k->nvnode > 0)
        for (i = 0; i < k->nrecs; ++i)
            if (k->recs[i] != NULL && k->recs[i]->vnode &&
                k->recs[i]->rd != NULL)
                enqueue(k, k->recs[i]->rd);
}

/* ------------------------------------------------------------------ */
/* Changes. */

static int
change_signal(struct kq *k, const struct kevent *kev)
{
    int sig = (int)kev->ident;
    struct knote *kn;

    if (kev->ident >= NSIG || sig < 1)
        return EINVAL;
    kn = k->sig[sig];
    if (kev->flags & EV_ADD) {
        if (kn == NULL) {
            kn = calloc(1, sizeof(*kn));
            if (kn == NULL)
                return ENOMEM;
            kn->ident = kev->ident;
            kn->filter = EVFILT_SIGNAL;
            kn->flags = (kev->flags & KN_KEEP) | EV_CLEAR;
            k->sig[sig] = kn;
            sig_ref(sig);
            kn->seen = __atomic_load_n(&sig_count[sig], __ATOMIC_SEQ_CST);
        }
        kn->udata = kev->udata;
        kn->sfflags = kev->fflags;
        kn->sdata = kev->data;
        kn->enabled = !(kev->flags & EV_DISABLE);
        return 0;
    }
    if (kn == NULL)
        return ENOENT;
    if (kev->flags & EV_DELETE) {
        k->sig[sig] = NULL;
        knote_free(k, kn);
        sig_unref(sig);
        return 0;
    }
    if (kev->flags & EV_ENABLE)
        kn->enabled = 1;
    if (kev->flags & EV_DISABLE) {
        kn->enabled = 0;
        dequeue(k, kn);
    }
    return 0;
}

/* Apply one change; returns 0 or the errno the kernel would report. */
static int
apply_change(struct kq *k, const struct kevent *kev)
{
    struct knote *kn, **slot;
    struct fdrec *r;
    struct stat st;
    int fd, err, created = 0;

    if (kev->filter == EVFILT_SIGNAL)
        return change_signal(k, kev);
    if (kev->filter != EVFILT_READ && kev->filter != EVFILT_WRITE)
        return EINVAL;
    if (kev->ident > INT_MAX)
        return EBADF;
    fd = (int)kev->ident;
    if (fstat(fd, &st) == -1)
        return EBADF;
    r = rec_get(k, fd, 0);
    kn = NULL;
    if (r != NULL)
        kn = kev->filter == EVFILT_READ ? r->rd : r->wr;

    if (kev->flags & EV_ADD) {
        if (kn == NULL) {
            /* "Not supported for vnodes" (EVFILT_WRITE). */
            if (S_ISREG(st.st_mode) && kev->filter == EVFILT_WRITE)
                return EINVAL;
            r = rec_get(k, fd, 1);
            if (r == NULL)
                return ENOMEM;
            kn = calloc(1, sizeof(*kn));
            if (kn == NULL)
                return ENOMEM;
            kn->ident = kev->ident;
            kn->filter = kev->filter;
            /* Like FreeBSD, a re-add keeps the flags of the first add. */
            kn->flags = kev->flags & KN_KEEP;
            if (kev->filter == EVFILT_READ)
                r->rd = kn;
            else
                r->wr = kn;
            if (S_ISREG(st.st_mode)) {
                r->vnode = 1;
                k->nvnode++;
            }
            created = 1;
        }
        kn->udata = kev->udata;
        kn->sfflags = kev->fflags;
        kn->sdata = kev->data;
        kn->enabled = !(kev->flags & EV_DISABLE);
        if (!kn->enabled)
            dequeue(k, kn);
        err = sync_reg(k, fd, r);
        if (err && created) {
            slot = kev->filter == EVFILT_READ ? &r->rd : &r->wr;
            *slot = NULL;
            knote_free(k, kn);
            (void)sync_reg(k, fd, r);
        }
        return err;
    }
    if (kn == NULL)
        return ENOENT;
    if (kev->flags & EV_DELETE) {
        if (kev->filter == EVFILT_READ) {
            if (r->vnode)
                k->nvnode--;
            r->rd = NULL;
        } else {
            r->wr = NULL;
        }
        knote_free(k, kn);
        (void)sync_reg(k, fd, r);
        if (r->rd == NULL && r->wr == NULL) {
            free(r);
            k->recs[fd] = NULL;
        }
        return 0;
    }
    if (kev->flags & EV_ENABLE)
        kn->enabled = 1;
    if (kev->flags & EV_DISABLE) {
        kn->enabled = 0;
        dequeue(k, kn);
    }
    return sync_reg(k, fd, r);
}

/* ------------------------------------------------------------------ */
/* The calls. */

int
kqueue(void)
{
    struct epoll_event ev;
    struct kq *k, *stale;

    k = calloc(1, sizeof(*k));
    if (k == NULL) {
        errno = ENOMEM;
        return -1;
    }
    k->fd = epoll_create1(EPOLL_CLOEXEC);
    if (k->fd == -1) {
        int e = errno;
        free(k);
        errno = e;
        return -1;
    }
    k->pid = getpid();
    TAILQ_INIT(&k->pending);
    if (wake_fd >= 0) {
        memset(&ev, 0, sizeof(ev));
        ev.events = EPOLLIN | EPOLLET;
        ev.data.u64 = WAKE_TOKEN;
        (void)epoll_ctl(k->fd, EPOLL_CTL_ADD, wake_fd, &ev);
    }
    pthread_mutex_lock(&g_lock);
    /* A kqueue whose close went by another path leaves a stale entry. */
    if ((stale = find_kq(k->fd)) != NULL)
        destroy_kq(stale);
    k->next = kqs;
    kqs = k;
    __atomic_add_fetch(&nkqs, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&g_lock);
    return k->fd;
}

static int64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int
kevent(int kq, const struct kevent *changelist, int nchanges,
    struct kevent *eventlist, int nevents, const struct timespec *timeout)
{
    struct epoll_event buf[64];
    int64_t deadline = 0;
    struct kq *k;
    int i, n, nout = 0;

    if (nchanges < 0 || nevents < 0) {
        errno = EINVAL;
        return -1;
    }
    if ((nchanges > 0 && changelist == NULL) ||
        (nevents > 0 && eventlist == NULL)) {
        errno = EFAULT;
        return -1;
    }
    if (timeout != NULL && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
                               timeout->tv_nsec >= 1000000000L)) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&g_lock);
    k = find_kq(kq);
    if (k == NULL || k->pid != getpid()) {
        pthread_mutex_unlock(&g_lock);
        errno = EBADF;
        return -1;
    }
    for (i = 0; i < nchanges; ++i) {
        /* changelist and eventlist may be one array: the entry written
         * (index nout <= i) never overtakes the change being read. */
        struct kevent c = changelist[i];
        int err = apply_change(k, &c);
        if (err == 0 && !(c.flags & EV_RECEIPT))
            continue;
        if (nout < nevents) {
            c.flags = EV_ERROR;
            c.data = err;
            eventlist[nout++] = c;
            continue;
        }
        if (err != 0) {
            pthread_mutex_unlock(&g_lock);
            errno = err;
            return -1;
        }
        break; /* a receipt with no room: the rest is not processed */
    }
    if (nout > 0 || nevents == 0) {
        pthread_mutex_unlock(&g_lock);
        return nout;
    }
    if (timeout != NULL)
        deadline = now_ns() + (int64_t)timeout->tv_sec * 1000000000 +
                   timeout->tv_nsec;

    for (;;) {
        int ms = -1, r, err;

        look(k, nevents);
        scan(k);
        n = deliver(k, eventlist, nevents);
        if (n > 0)
            break;
        if (timeout != NULL) {
            int64_t left = deadline - now_ns();
            if (left <= 0)
                break;
            ms = (int)((left + 999999) / 1000000);
        }
        if (k->nvnode > 0 && (ms < 0 || ms > VNODE_RECHECK_MS))
            ms = VNODE_RECHECK_MS;
        pthread_mutex_unlock(&g_lock);
        r = epoll_wait(kq, buf, 64, ms);
        err = errno;
        pthread_mutex_lock(&g_lock);
        k = find_kq(kq);
        if (k == NULL) {
            pthread_mutex_unlock(&g_lock);
            errno = EBADF;
            return -1;
        }
        if (r == -1) {
            /* "A signal was delivered before ... any events were placed
             * on the kqueue for return": a counted signal is an event. */
            scan(k);
            n = deliver(k, eventlist, nevents);
            if (n > 0)
                break;
            pthread_mutex_unlock(&g_lock);
            errno = err;
            return -1;
        }
        absorb(k, buf, r);
    }
    pthread_mutex_unlock(&g_lock);
    return n;
}

/*
 * signal-fd.c: signal delivery through signalfd(2), an opt-in
 * (EVENT_USE_SIGNALFD in the environment, or libevent 2.2's
 * EVENT_BASE_FLAG_USE_SIGNALFD = 0x200 in event_config_set_flag).
 *
 * While a base has events for a signal, the signal is blocked in the
 * mask of the thread that added them and is read, with its siginfo, from
 * one signalfd per base, an ordinary internal read event.  Blocked
 * standard signals do not queue: raised twice before the loop reads them,
 * a signal is seen once (ncalls 1), where the self-pipe counts two.
 *
 * A signal sent to the process goes to a thread that does not block it.
 * So a handler is installed as with the self-pipe (the previous one is
 * saved and restored, as libevent 2.1 does); it forwards the signal with
 * tgkill() to the thread that blocked it, where the signalfd sees it.
 * The signalfd reads the reading thread's pending signals, so, as with
 * any use of signalfd, add signal events from the thread that runs the
 * loop.  When the last event for a signal goes, the previous handler is
 * restored first and then the signal is unblocked if this base blocked
 * it, so a signal pending meanwhile goes to that handler.
 *
 * Unlike the self-pipe, several bases can each watch their own signals.
 * Two bases watching the same signal race for each delivery, so that is
 * warned about, as libevent 2.1 warns about a second base with signals.
 *
 * Invariant: for each signal s in sig.sigfd_watched, this base has saved
 * the old handler in sig.sh_old[s], installed sigfd_handler, blocked s in
 * the owner thread (recorded in sigfd_blocked when it was not blocked
 * before), and the signalfd's mask equals sigfd_watched.
 */
#include "event2/event-config.h"

#include <sys/types.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event2/event.h"
#include "event2/event_struct.h"

#include "event-internal.h"
#include "evmap-internal.h"
#include "evsignal-internal.h"
#include "evthread-internal.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

static int evsigfd_add(struct event_base *, evutil_socket_t, short, short,
    void *);
static int evsigfd_del(struct event_base *, evutil_socket_t, short, short,
    void *);

static const struct eventop evsigfdops = {
    "signalfd_signal",
    NULL,
    evsigfd_add,
    evsigfd_del,
    NULL,
    NULL,
    0,
    0,
    0,
};

/* Per signal: the thread that blocked it (0: none) and how many bases
 * watch it.  The handler reads them in any thread: atomic accesses. */
static pid_t owner_tid[NSIG];
static int n_watchers[NSIG];

static void
set_owner(int sig, pid_t tid)
{
    __atomic_store_n(&owner_tid[sig], tid, __ATOMIC_RELAXED);
}

static pid_t
current_tid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

/* Async-signal-safe: hand the signal to the thread whose signalfd waits
 * for it.  In that thread the signal is blocked, so it stays pending
 * there until the signalfd is read. */
static void
sigfd_handler(int sig)
{
    int saved_errno = errno;
    pid_t owner = __atomic_load_n(&owner_tid[sig], __ATOMIC_RELAXED);

    if (owner > 0 && owner != current_tid())
        (void)syscall(SYS_tgkill, getpid(), owner, sig);
    errno = saved_errno;
}

static void
sigfd_cb(evutil_socket_t fd, short what, void *arg)
{
    struct event_base *base = arg;
    struct signalfd_siginfo info[16];
    int ncaught[NSIG];
    ssize_t n, i;
    int s;

    (void)what;
    memset(ncaught, 0, sizeof(ncaught));
    for (;;) {
        n = read(fd, info, sizeof(info));
        if (n <= 0) {
            if (n == -1 && errno != EAGAIN && errno != EINTR)
                event_warn("%s: read", __func__);
            break;
        }
        for (i = 0; i < n / (ssize_t)sizeof(info[0]); ++i)
            if (info[i].ssi_signo > 0 && info[i].ssi_signo < NSIG)
                ++ncaught[info[i].ssi_signo];
    }

    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    for (s = 1; s < NSIG; ++s)
        if (ncaught[s])
            evmap_signal_active_(base, s, ncaught[s]);
    EVBASE_RELEASE_LOCK(base, th_base_lock);
}

static int
wants_signalfd(const struct event_base *base)
{
    if (base->flags & EVENT_BASE_FLAG_USE_SIGNALFD_)
        return 1;
    return event_base_env_set_(base, "EVENT_USE_SIGNALFD");
}

int
evsigfd_init_(struct event_base *base)
{
    struct evsig_info *sig = &base->sig;
    int fd, s;

    if (!wants_signalfd(base))
        return -1;
    /* A new base starts with an empty mask; event_reinit() of a
     * poll/select base comes back here with the signals still watched
     * (still blocked and handled in the child, whose thread is new) and
     * a closed fd. */
    if (!sig->use_signalfd) {
        sigemptyset(&sig->sigfd_watched);
        sigemptyset(&sig->sigfd_blocked);
    }
    for (s = 1; s < NSIG; ++s)
        if (sigismember(&sig->sigfd_watched, s))
            set_owner(s, current_tid());
    fd = signalfd(-1, &sig->sigfd_watched, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd == -1) {
        event_warn("%s: signalfd; using the signal pipe", __func__);
        return -1;
    }
    sig->ev_signal_pair[0] = fd;
    sig->ev_signal_pair[1] = -1;
    event_assign(&sig->ev_signal, base, fd, EV_READ | EV_PERSIST, sigfd_cb,
        base);
    sig->ev_signal.ev_flags |= EVLIST_INTERNAL;
    event_priority_set(&sig->ev_signal, 0);
    sig->ev_signal_added = 0;
    sig->use_signalfd = 1;
    base->evsigsel = &evsigfdops;
    return 0;
}

/* Make the signalfd's mask sigfd_watched again. */
static int
update_mask(struct evsig_info *sig)
{
    if (signalfd(sig->ev_signal_pair[0], &sig->sigfd_watched, 0) == -1) {
        event_warn("%s: signalfd", __func__);
        return -1;
    }
    return 0;
}

/* Undo evsigfd_add for s: handler back, then unblock if we blocked it. */
static int
unwatch(struct event_base *base, int s)
{
    struct evsig_info *sig = &base->sig;
    sigset_t one;
    int ret = 0;

    sigdelset(&sig->sigfd_watched, s);
    if (__atomic_sub_fetch(&n_watchers[s], 1, __ATOMIC_SEQ_CST) == 0)
        set_owner(s, 0);
    if (evsig_restore_handler_(base, s) == -1)
        ret = -1;
    if (sigismember(&sig->sigfd_blocked, s)) {
        sigdelset(&sig->sigfd_blocked, s);
        sigemptyset(&one);
        sigaddset(&one, s);
        if (sigprocmask(SIG_UNBLOCK, &one, NULL) == -1) {
            event_warn("%s: sigprocmask", __func__);
            ret = -1;
        }
    }
    return ret;
}

/* Called by evmap (base lock held) when the first event for signal
 * number `evsignal` is added. */
static int
evsigfd_add(struct event_base *base, evutil_socket_t evsignal, short old,
    short events, void *p)
{
    struct evsig_info *sig = &base->sig;
    int s = (int)evsignal;
    sigset_t one, was;

    if (s < 1 || s >= NSIG) {
        event_warnx("%s: signal number %d out of range", __func__, s);
        return -1;
    }
    if (sig->ev_signal_pair[0] < 0) {
        event_warnx("%s: this base has no signalfd", __func__);
        return -1;
    }
    if (sigismember(&sig->sigfd_watched, s))
        return 0;
    if (evsig_set_handler_(base, s, sigfd_handler) == -1)
        return -1;

    sigemptyset(&one);
    sigaddset(&one, s);
    if (sigprocmask(SIG_BLOCK, &one, &was) == -1) {
        event_warn("%s: sigprocmask", __func__);
        evsig_restore_handler_(base, s);
        return -1;
    }
    if (!sigismember(&was, s))
        sigaddset(&sig->sigfd_blocked, s);
    sigaddset(&sig->sigfd_watched, s);
    if (__atomic_fetch_add(&n_watchers[s], 1, __ATOMIC_SEQ_CST) > 0)
        event_warnx("Added signal %d to event base %p while another base "
                    "watches it too; each delivery reaches only one of "
                    "them.",
            s, (void *)base);
    set_owner(s, current_tid());

    if (update_mask(sig) == -1)
        goto err;
    if (!sig->ev_signal_added) {
        if (event_add_nolock_(&sig->ev_signal, NULL, 0) == -1)
            goto err;
        sig->ev_signal_added = 1;
    }
    return 0;

err:
    (void)unwatch(base, s);
    (void)update_mask(sig);
    return -1;
}

/* Called by evmap when the last event for `evsignal` goes. */
static int
evsigfd_del(struct event_base *base, evutil_socket_t evsignal, short old,
    short events, void *p)
{
    struct evsig_info *sig = &base->sig;
    int s = (int)evsignal, ret;

    if (s < 1 || s >= NSIG || !sigismember(&sig->sigfd_watched, s))
        return -1;
    ret = unwatch(base, s);
    if (sig->ev_signal_pair[0] >= 0 && update_mask(sig) == -1)
        ret = -1;
    return ret;
}

void
evsigfd_dealloc_(struct event_base *base)
{
    struct evsig_info *sig = &base->sig;
    int s;

    if (sig->ev_signal_added) {
        event_del_nolock_(&sig->ev_signal, EVENT_DEL_AUTOBLOCK);
        sig->ev_signal_added = 0;
    }
    /* event_reinit() may have closed the fd and cleared the event. */
    if (sig->ev_signal_pair[0] >= 0) {
        event_debug_unassign(&sig->ev_signal);
        close(sig->ev_signal_pair[0]);
    }
    sig->ev_signal_pair[0] = sig->ev_signal_pair[1] = -1;

    for (s = 1; s < NSIG; ++s)
        if (sigismember(&sig->sigfd_watched, s))
            (void)unwatch(base, s);
    /* Handlers saved for no watched signal (none, normally). */
    for (s = 0; s < sig->sh_old_max; ++s)
        if (sig->sh_old[s] != NULL)
            evsig_restore_handler_(base, s);
    if (sig->sh_old != NULL)
        mm_free(sig->sh_old);
    sig->sh_old = NULL;
    sig->sh_old_max = 0;
    sig->use_signalfd = 0;
}

/*
 * signal.c: signal delivery through a self-pipe (evsigops).
 *
 * A signal handler may do almost nothing, so ours only writes the signal
 * number, one byte, to the write end of a non-blocking pipe owned by the
 * base that last added a signal.  The read end is an ordinary internal
 * persistent read event of that base; its callback drains the pipe,
 * counts the bytes per signal and activates the signal's events with the
 * count as ncalls.  When the pipe is full the byte is dropped: the signal
 * still fires (earlier bytes are pending), only ncalls undercounts.
 *
 * As in libevent 2.1 exactly one base at a time receives signals: the one
 * that most recently added a signal event (or, through evsig_set_base_,
 * ran its loop).  Handlers are process-wide, so a signal another base
 * added is delivered to the owner's pipe, where nobody waits for it.
 *
 * Invariants: sig.sh_old[s] != NULL exactly while our handler is
 * installed for s by this base and holds the handler it replaced;
 * evsig_base_fd is the write end of evsig_base's pipe, or -1; the three
 * evsig_base* globals change only under evsig_base_lock.
 */
#include "event2/event-config.h"

#include <sys/types.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event2/event.h"
#include "event2/event_struct.h"
#include "event2/util.h"

#include "event-internal.h"
#include "evmap-internal.h"
#include "evsignal-internal.h"
#include "evthread-internal.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

static int evsig_add(struct event_base *, evutil_socket_t, short, short,
    void *);
static int evsig_del(struct event_base *, evutil_socket_t, short, short,
    void *);

const struct eventop evsigops = {
    "signal",
    NULL,
    evsig_add,
    evsig_del,
    NULL,
    NULL,
    0,
    0,
    0,
};

#ifdef _WIN32
/* Windows has no signalfd (src/signal-fd.c is not built there): every
 * base uses the self-pipe, here a loopback socket pair. */
int
evsigfd_init_(struct event_base *base)
{
    (void)base;
    return -1;
}

void
evsigfd_dealloc_(struct event_base *base)
{
    (void)base;
}
#endif

/* The owner of signal delivery, the number of signals it has added, and
 * its pipe's write end (read by the handler without the lock: an int
 * store is atomic enough for that). */
static void *evsig_base_lock = NULL;
static struct event_base *evsig_base = NULL;
static int evsig_base_n_signals_added = 0;
static volatile sig_atomic_t evsig_base_fd = -1;

#define EVSIGBASE_LOCK() EVLOCK_LOCK(evsig_base_lock, 0)
#define EVSIGBASE_UNLOCK() EVLOCK_UNLOCK(evsig_base_lock, 0)

/* Async-signal-safe: one write(2), errno preserved. */
static void
evsig_handler(int sig)
{
    int saved_errno = errno;
    int fd = evsig_base_fd;
    unsigned char msg = (unsigned char)sig;

    if (fd >= 0) {
#ifdef _WIN32
        /* The CRT resets the disposition before calling a handler: put
         * ours back.  The "pipe" is a loopback socket pair. */
        int saved_wsa = WSAGetLastError();
        int r;
        (void)signal(sig, evsig_handler);
        r = send((SOCKET)fd, (const char *)&msg, 1, 0);
        WSASetLastError(saved_wsa);
#else
        ssize_t r = write(fd, &msg, 1);
#endif
        (void)r; /* a full pipe drops the byte; see the file comment */
    }
    errno = saved_errno;
}

/* The internal read event's callback; runs without the base lock. */
static void
evsig_cb(evutil_socket_t fd, short what, void *arg)
{
    struct event_base *base = arg;
    int ncaught[NSIG];
    unsigned char buf[1024];
    ssize_t n, i;
    int s;

    memset(ncaught, 0, sizeof(ncaught));
    for (;;) {
#ifdef _WIN32
        n = recv((SOCKET)fd, (char *)buf, (int)sizeof(buf), 0);
#else
        n = read(fd, buf, sizeof(buf));
#endif
        if (n == -1) {
            int err = evutil_socket_geterror(fd);
            if (!EVUTIL_ERR_RW_RETRIABLE(err))
                event_sock_warn(fd, "%s: read", __func__);
            break;
        }
        if (n == 0)
            break;
        for (i = 0; i < n; ++i)
            if (buf[i] < NSIG)
                ++ncaught[buf[i]];
    }

    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    for (s = 1; s < NSIG; ++s)
        if (ncaught[s])
            evmap_signal_active_(base, s, ncaught[s]);
    EVBASE_RELEASE_LOCK(base, th_base_lock);
}

int
evsig_init_(struct event_base *base)
{
    struct evsig_info *sig = &base->sig;

    /* Hook: a base that opted in to signalfd gets src/signal-fd.c's
     * vtable instead of the self-pipe (which stays the default). */
    if (evsigfd_init_(base) == 0)
        return 0;

    /* Non-blocking and close-on-exec at both ends: the handler must
     * never block, and a child must not inherit the owner's pipe. */
    if (evutil_make_internal_pipe_(sig->ev_signal_pair) == -1) {
        event_sock_warn(-1, "%s: could not create the signal pipe",
            __func__);
        sig->ev_signal_pair[0] = sig->ev_signal_pair[1] = -1;
        return -1;
    }
    /* After a fork, event_reinit may reuse handlers still installed
     * (sh_old stays) with a fresh pipe; a new base starts zeroed. */
    event_assign(&sig->ev_signal, base, sig->ev_signal_pair[0],
        EV_READ | EV_PERSIST, evsig_cb, base);
    sig->ev_signal.ev_flags |= EVLIST_INTERNAL;
    event_priority_set(&sig->ev_signal, 0);
    sig->ev_signal_added = 0;
    base->evsigsel = &evsigops;

    /* If this base owns delivery (a re-init after fork), the handler
     * must write to the new pipe from now on. */
    EVSIGBASE_LOCK();
    if (evsig_base == base)
        evsig_base_fd = sig->ev_signal_pair[1];
    EVSIGBASE_UNLOCK();
    return 0;
}

int
evsig_set_handler_(struct event_base *base, int evsignal,
    void (*handler)(int))
{
    struct evsig_info *sig = &base->sig;
    struct sigaction sa, *old;

    if (evsignal >= sig->sh_old_max) {
        int n = evsignal + 1;
        struct sigaction **p;
        event_debug(("%s: evsignal (%d) >= sh_old_max (%d), resizing",
            __func__, evsignal, sig->sh_old_max));
        p = mm_realloc(sig->sh_old, n * sizeof(*p));
        if (p == NULL) {
            event_warn("realloc");
            return -1;
        }
        memset(p + sig->sh_old_max, 0,
            (n - sig->sh_old_max) * sizeof(*p));
        sig->sh_old = p;
        sig->sh_old_max = n;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigfillset(&sa.sa_mask);

    /* Already ours: keep the handler saved the first time. */
    if (sig->sh_old[evsignal] != NULL) {
        if (sigaction(evsignal, &sa, NULL) == -1) {
            event_warn("sigaction");
            return -1;
        }
        return 0;
    }
    old = mm_malloc(sizeof(*old));
    if (old == NULL) {
        event_warn("malloc");
        return -1;
    }
    if (sigaction(evsignal, &sa, old) == -1) {
        event_warn("sigaction");
        mm_free(old);
        return -1;
    }
    sig->sh_old[evsignal] = old;
    return 0;
}

int
evsig_restore_handler_(struct event_base *base, int evsignal)
{
    struct evsig_info *sig = &base->sig;
    struct sigaction *old;
    int ret = 0;

    if (evsignal < 0 || evsignal >= sig->sh_old_max ||
        sig->sh_old[evsignal] == NULL)
        return 0;
    old = sig->sh_old[evsignal];
    sig->sh_old[evsignal] = NULL;
    if (sigaction(evsignal, old, NULL) == -1) {
        event_warn("sigaction");
        ret = -1;
    }
    mm_free(old);
    return ret;
}

void
evsig_set_base_(struct event_base *base)
{
    /* Hook: a signalfd base has no pipe and never owns the handler. */
    if (base->sig.use_signalfd)
        return;
    EVSIGBASE_LOCK();
    evsig_base = base;
    evsig_base_n_signals_added = base->sig.ev_n_signals_added;
    evsig_base_fd = base->sig.ev_signal_pair[1];
    EVSIGBASE_UNLOCK();
}

/* Called by evmap (base lock held) when the first event for signal
 * number `evsignal` is added. */
static int
evsig_add(struct event_base *base, evutil_socket_t evsignal, short old,
    short events, void *p)
{
    struct evsig_info *sig = &base->sig;

    if (evsignal < 1 || evsignal >= NSIG) {
        event_warnx("%s: signal number %d out of range", __func__,
            (int)evsignal);
        return -1;
    }
    if (sig->ev_signal_pair[0] < 0) {
        event_warnx("%s: this base has no signal pipe", __func__);
        return -1;
    }

    EVSIGBASE_LOCK();
    if (evsig_base != base && evsig_base_n_signals_added) {
        event_warnx("Added a signal to event base %p with signals "
                    "already added to event_base %p.  Only one can have "
                    "signals at a time with the %s backend.  The base with "
                    "the most recently added signal or the most recent "
                    "event_base_loop() call gets preference; do not rely on "
                    "this behavior in future Libevent versions.",
            (void *)base, (void *)evsig_base, base->evsel->name);
    }
    evsig_base = base;
    evsig_base_n_signals_added = ++sig->ev_n_signals_added;
    evsig_base_fd = sig->ev_signal_pair[1];
    EVSIGBASE_UNLOCK();

    event_debug(("%s: %d: changing signal handler", __func__,
        (int)evsignal));
    if (evsig_set_handler_(base, (int)evsignal, evsig_handler) == -1)
        goto err;
    if (!sig->ev_signal_added) {
        if (event_add_nolock_(&sig->ev_signal, NULL, 0) == -1) {
            evsig_restore_handler_(base, (int)evsignal);
            goto err;
        }
        sig->ev_signal_added = 1;
    }
    return 0;

err:
    EVSIGBASE_LOCK();
    --sig->ev_n_signals_added;
    if (evsig_base == base)
        evsig_base_n_signals_added = sig->ev_n_signals_added;
    EVSIGBASE_UNLOCK();
    return -1;
}

/* Called by evmap when the last event for `evsignal` goes. */
static int
evsig_del(struct event_base *base, evutil_socket_t evsignal, short old,
    short events, void *p)
{
    struct evsig_info *sig = &base->sig;

    if (evsignal < 1 || evsignal >= NSIG)
        return -1;
    event_debug(("%s: %d: restoring signal handler", __func__,
        (int)evsignal));
    EVSIGBASE_LOCK();
    if (sig->ev_n_signals_added > 0)
        --sig->ev_n_signals_added;
    if (evsig_base == base)
        evsig_base_n_signals_added = sig->ev_n_signals_added;
    EVSIGBASE_UNLOCK();
    return evsig_restore_handler_(base, (int)evsignal);
}

void
evsig_dealloc_(struct event_base *base)
{
    struct evsig_info *sig = &base->sig;
    int i;

    /* Hook: see evsig_init_. */
    if (sig->use_signalfd) {
        evsigfd_dealloc_(base);
        return;
    }
    if (sig->ev_signal_added) {
        event_del_nolock_(&sig->ev_signal, EVENT_DEL_AUTOBLOCK);
        sig->ev_signal_added = 0;
    }
    /* ev_signal was assigned only if the pipe was made. */
    if (sig->ev_signal_pair[0] >= 0)
        event_debug_unassign(&sig->ev_signal);

    for (i = 0; i < sig->sh_old_max; ++i)
        if (sig->sh_old[i] != NULL)
            evsig_restore_handler_(base, i);
    if (sig->sh_old != NULL)
        mm_free(sig->sh_old);
    sig->sh_old = NULL;
    sig->sh_old_max = 0;
    sig->ev_n_signals_added = 0;

    EVSIGBASE_LOCK();
    if (evsig_base == base) {
        evsig_base = NULL;
        evsig_base_n_signals_added = 0;
        evsig_base_fd = -1;
    }
    EVSIGBASE_UNLOCK();

    for (i = 0; i < 2; ++i) {
        if (sig->ev_signal_pair[i] >= 0)
            evutil_closesocket(sig->ev_signal_pair[i]);
        sig->ev_signal_pair[i] = -1;
    }
}

void
evsig_free_globals_(void)
{
    if (evsig_base_lock != NULL) {
        EVTHREAD_FREE_LOCK(evsig_base_lock, 0);
        evsig_base_lock = NULL;
    }
}

int
evsig_global_setup_locks_(const int enable_locks)
{
    EVTHREAD_SETUP_GLOBAL_LOCK(evsig_base_lock, 0);
    return 0;
}

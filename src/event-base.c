/*
 * event-base.c: the life of an event_base: configuration, choice of
 * backend, creation, reinitialisation after fork, teardown, thread
 * wake-ups, priorities and introspection (foreach, dump, counts).
 *
 * The backend is chosen by walking eventops[] in preference order and
 * skipping every method the config avoids, the environment disables
 * (EVENT_NO<NAME>, unless EVENT_BASE_FLAG_IGNORE_ENV) or that lacks a
 * required feature; the first whose init() succeeds wins.
 */
#include "event2/event-config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef EVENT__HAVE_SYS_EVENTFD_H
#include <sys/eventfd.h>
#endif

#include "event2/event.h"
#include "event2/event_struct.h"
#include "event2/thread.h"
#include "event2/util.h"

#include "event-internal.h"
#include "evmap-internal.h"
#include "evthread-internal.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"
#ifdef _WIN32
#include "iocp-internal.h"
#endif

struct event_base *event_global_current_base_ = NULL;

/* Backends in order of preference.  On Linux the first is "io_uring"
 * (epollops_uring: an epoll set reached through an io_uring ring; its
 * init() declines kernels without IORING_OP_EPOLL_WAIT, and then plain
 * epoll follows).  "io_uring_poll" (io_uringops, poll requests; when
 * built: a private EVENT__HAVE_IO_URING from CMake) comes last, so that
 * it is used only when asked for (every other method avoided or
 * disabled); EVENT_IO_URING_FIRST (the CMake option
 * EVENT_IO_URING_DEFAULT) puts it first instead.  Why it is not the
 * default: backends/io_uring.c and the README. */
#ifdef _WIN32
extern const struct eventop win32ops; /* backends/win32select.c */
#endif
static const struct eventop *const eventops[] = {
#ifdef EVENT__HAVE_EVENT_PORTS
    &evportops,
#endif
#ifdef EVENT__HAVE_KQUEUE
    &kqops,
#endif
#if defined(EVENT__HAVE_IO_URING) && defined(EVENT_IO_URING_FIRST)
    &io_uringops,
#endif
#if defined(EVENT__HAVE_IO_URING) && defined(EVENT__HAVE_EPOLL)
    &epollops_uring,
#endif
#ifdef EVENT__HAVE_EPOLL
    &epollops,
#endif
#ifdef EVENT__HAVE_DEVPOLL
    &devpollops,
#endif
#ifdef EVENT__HAVE_POLL
    &pollops,
#endif
#ifdef EVENT__HAVE_SELECT
    &selectops,
#endif
#if defined(EVENT__HAVE_IO_URING) && !defined(EVENT_IO_URING_FIRST)
    &io_uringops,
#endif
#ifdef _WIN32
    &win32ops,
#endif
    NULL};

/* Set once an event or base exists: debug mode can no longer start. */
int event_debug_mode_too_late_ = 0;

/* ------------------------------------------------------------------ */
/* Versions and methods                                                */

const char *
event_get_version(void)
{
    return EVENT__VERSION;
}

ev_uint32_t
event_get_version_number(void)
{
    return EVENT__NUMERIC_VERSION;
}

const char **
event_get_supported_methods(void)
{
    static const char *methods[sizeof(eventops) / sizeof(eventops[0])];
    int i;
    for (i = 0; eventops[i]; ++i)
        methods[i] = eventops[i]->name;
    methods[i] = NULL;
    return methods;
}

static int
event_is_method_disabled(const char *name)
{
    char environment[64];
    int i;
    evutil_snprintf(environment, sizeof(environment), "EVENT_NO%s", name);
    for (i = 8; environment[i] != '\0'; ++i)
        environment[i] = EVUTIL_TOUPPER_(environment[i]);
    return evutil_getenv_(environment) != NULL;
}

const char *
event_base_get_method(const struct event_base *base)
{
    if (!base || !base->evsel)
        return NULL;
    return base->evsel->name;
}

int
event_base_get_features(const struct event_base *base)
{
    EV_REFUSE_NULL_(base, 0);
    return base->evsel->features;
}

/* ------------------------------------------------------------------ */
/* Configuration                                                       */

struct event_config *
event_config_new(void)
{
    struct event_config *cfg = mm_calloc(1, sizeof(*cfg));
    if (cfg == NULL)
        return NULL;
    TAILQ_INIT(&cfg->entries);
    cfg->max_dispatch_interval.tv_sec = -1;
    cfg->max_dispatch_callbacks = INT_MAX;
    cfg->limit_callbacks_after_prio = 1;
    return cfg;
}

void
event_config_free(struct event_config *cfg)
{
    struct event_config_entry *entry;
    if (!cfg)
        return;
    while ((entry = TAILQ_FIRST(&cfg->entries)) != NULL) {
        TAILQ_REMOVE(&cfg->entries, entry, next);
        mm_free((char *)entry->avoid_method);
        mm_free(entry);
    }
    mm_free(cfg);
}

int
event_config_set_flag(struct event_config *cfg, int flag)
{
    if (!cfg)
        return -1;
    cfg->flags |= flag;
    return 0;
}

int
event_config_avoid_method(struct event_config *cfg, const char *method)
{
    struct event_config_entry *entry;
    if (!cfg || !method)
        return -1;
    entry = mm_malloc(sizeof(*entry));
    if (entry == NULL)
        return -1;
    if ((entry->avoid_method = mm_strdup(method)) == NULL) {
        mm_free(entry);
        return -1;
    }
    TAILQ_INSERT_TAIL(&cfg->entries, entry, next);
    return 0;
}

int
event_config_require_features(struct event_config *cfg, int features)
{
    if (!cfg)
        return -1;
    cfg->require_features = features;
    return 0;
}

int
event_config_set_num_cpus_hint(struct event_config *cfg, int cpus)
{
    if (!cfg)
        return -1;
    cfg->n_cpus_hint = cpus;
    return 0;
}

int
event_config_set_max_dispatch_interval(struct event_config *cfg,
    const struct timeval *max_interval, int max_callbacks, int min_priority)
{
    if (!cfg)
        return -1;
    if (max_interval) {
        struct timeval t = *max_interval;
        if (t.tv_sec < 0 || t.tv_usec < 0) {
            event_warnx("%s: negative interval", __func__);
            errno = EINVAL;
            return -1;
        }
        /* Normalized and kept short enough to add to the clock. */
        event_interval_cap_(&t);
        cfg->max_dispatch_interval = t;
    } else {
        cfg->max_dispatch_interval.tv_sec = -1;
    }
    cfg->max_dispatch_callbacks =
        max_callbacks >= 0 ? max_callbacks : INT_MAX;
    if (min_priority < 0)
        min_priority = 0;
    cfg->limit_callbacks_after_prio = min_priority;
    return 0;
}

static int
event_config_is_avoided_method(const struct event_config *cfg,
    const char *method)
{
    struct event_config_entry *entry;
    TAILQ_FOREACH(entry, &cfg->entries, next)
    {
        if (entry->avoid_method != NULL &&
            strcmp(entry->avoid_method, method) == 0)
            return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Thread wake-ups                                                     */

#ifdef _WIN32
/* Windows: the notify pair is a loopback socket pair (no pipe or eventfd
 * that select() can watch), so it goes through Winsock. */
#define NOTIFY_READ(fd, buf, n) recv((SOCKET)(fd), (char *)(buf), (int)(n), 0)
#define NOTIFY_WRITE(fd, buf, n)                                              \
    send((SOCKET)(fd), (const char *)(buf), (int)(n), 0)
#define NOTIFY_CLOSE(fd) evutil_closesocket(fd)
#else
#define NOTIFY_READ(fd, buf, n) read((fd), (buf), (n))
#define NOTIFY_WRITE(fd, buf, n) write((fd), (buf), (n))
#define NOTIFY_CLOSE(fd) close(fd)
#endif

static int
notify_base_eventfd(struct event_base *base)
{
    ev_uint64_t msg = 1;
    int r;
    do {
        r = (int)write(base->th_notify_fd[0], &msg, sizeof(msg));
    } while (r < 0 && errno == EINTR);
    return (r < 0 && errno != EAGAIN) ? -1 : 0;
}

static int
notify_base_pipe(struct event_base *base)
{
    char buf[1] = {0};
    int r;
    do {
        r = (int)NOTIFY_WRITE(base->th_notify_fd[1], buf, 1);
    } while (r < 0 && errno == EINTR);
    return (r < 0 && errno != EAGAIN) ? -1 : 0;
}

static void
notify_drain_eventfd(evutil_socket_t fd, short what, void *arg)
{
    ev_uint64_t msg;
    struct event_base *base = arg;
    ssize_t r;
    (void)what;
    r = read(fd, &msg, sizeof(msg));
    if (r < 0 && errno != EAGAIN)
        event_sock_warn(fd, "Error reading from eventfd");
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    base->is_notify_pending = 0;
    EVBASE_RELEASE_LOCK(base, th_base_lock);
}

static void
notify_drain_pipe(evutil_socket_t fd, short what, void *arg)
{
    unsigned char buf[1024];
    struct event_base *base = arg;
    (void)what;
    while (NOTIFY_READ(fd, buf, sizeof(buf)) > 0)
        ;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    base->is_notify_pending = 0;
    EVBASE_RELEASE_LOCK(base, th_base_lock);
}

static int
make_base_notifiable_nolock(struct event_base *base)
{
    void (*cb)(evutil_socket_t, short, void *);

    if (base->th_notify_fn != NULL)
        return 0;
    base->th_notify_fd[0] =
        evutil_eventfd_(0, EVUTIL_EFD_CLOEXEC | EVUTIL_EFD_NONBLOCK);
    if (base->th_notify_fd[0] >= 0) {
        base->th_notify_fd[1] = -1;
        base->th_notify_fn = notify_base_eventfd;
        cb = notify_drain_eventfd;
    } else if (evutil_make_internal_pipe_(base->th_notify_fd) == 0) {
        base->th_notify_fn = notify_base_pipe;
        cb = notify_drain_pipe;
    } else {
        base->th_notify_fd[0] = base->th_notify_fd[1] = -1;
        return -1;
    }
    event_base_note_plain_paths_(base);
    event_assign(&base->th_notify, base, base->th_notify_fd[0],
        EV_READ | EV_PERSIST, cb, base);
    base->th_notify.ev_flags |= EVLIST_INTERNAL;
    base->th_notify.ev_pri = 0;
    return event_add_nolock_(&base->th_notify, NULL, 0);
}

int
evthread_make_base_notifiable(struct event_base *base)
{
    int r;
    if (!base)
        return -1;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    r = make_base_notifiable_nolock(base);
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    return r;
}

static void
close_notify_fds(struct event_base *base)
{
    if (base->th_notify_fd[0] != -1) {
        event_del_nolock_(&base->th_notify, EVENT_DEL_NOBLOCK);
        event_debug_unassign(&base->th_notify);
        NOTIFY_CLOSE(base->th_notify_fd[0]);
        if (base->th_notify_fd[1] != -1)
            NOTIFY_CLOSE(base->th_notify_fd[1]);
        base->th_notify_fd[0] = base->th_notify_fd[1] = -1;
    }
    base->th_notify_fn = NULL;
    base->is_notify_pending = 0;
    event_base_note_plain_paths_(base);
}

/* ------------------------------------------------------------------ */
/* Creation                                                            */

static int
priority_init_nolock(struct event_base *base, int npriorities)
{
    int i;
    struct evcallback_list *q;

    if (N_ACTIVE_CALLBACKS(base) || npriorities < 1 ||
        npriorities >= EVENT_MAX_PRIORITIES)
        return -1;
    if (npriorities == base->nactivequeues)
        return 0;
    q = mm_calloc(npriorities, sizeof(struct evcallback_list));
    if (q == NULL) {
        event_warn("%s: calloc", __func__);
        return -1;
    }
    if (base->nactivequeues)
        mm_free(base->activequeues);
    base->activequeues = q;
    base->nactivequeues = npriorities;
    for (i = 0; i < npriorities; ++i)
        TAILQ_INIT(&base->activequeues[i]);
    return 0;
}

int
event_base_priority_init(struct event_base *base, int npriorities)
{
    int r;
    if (!base)
        return -1;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    /* Events found ready but not run yet are active: it fails then. */
    event_ready_flush_all_(base);
    r = priority_init_nolock(base, npriorities);
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    return r;
}

int
event_base_get_npriorities(struct event_base *base)
{
    int n;
    if (base == NULL)
        base = event_global_current_base_;
    if (base == NULL)
        return 0;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    n = base->nactivequeues;
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    return n;
}

struct event_base *
event_base_new_with_config(const struct event_config *cfg)
{
    struct event_base *base;
    int i, check_env, precise;

    base = mm_calloc(1, sizeof(struct event_base));
    if (base == NULL) {
        event_warn("%s: calloc", __func__);
        return NULL;
    }
    __atomic_store_n(&event_debug_mode_too_late_, 1, __ATOMIC_RELAXED);
    if (cfg)
        base->flags = cfg->flags;
    check_env = !(cfg && (cfg->flags & EVENT_BASE_FLAG_IGNORE_ENV));

    precise = cfg && (cfg->flags & EVENT_BASE_FLAG_PRECISE_TIMER);
    if (check_env && !precise && evutil_getenv_("EVENT_PRECISE_TIMER")) {
        precise = 1;
        base->flags |= EVENT_BASE_FLAG_PRECISE_TIMER;
    }
    if (check_env && evutil_getenv_("EVENT_EPOLL_USE_CHANGELIST"))
        base->flags |= EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST;
    evutil_configure_monotonic_time_(&base->monotonic_timer,
        precise ? EV_MONOT_PRECISE : 0);
    {
        struct timeval tmp;
        gettime_(base, &tmp);
    }

    min_heap_ctor_(&base->timeheap);
    base->sig.ev_signal_pair[0] = base->sig.ev_signal_pair[1] = -1;
    base->th_notify_fd[0] = base->th_notify_fd[1] = -1;
    TAILQ_INIT(&base->active_later_queue);
    LIST_INIT(&base->once_events);
    evmap_io_initmap_(&base->io);
    evmap_signal_initmap_(&base->sigmap);
    event_changelist_init_(&base->changelist);
    base->event_running_priority = -1;
    evutil_weakrand_seed_(&base->weakrand_seed, 0);

    if (cfg) {
        base->max_dispatch_time = cfg->max_dispatch_interval;
        base->limit_callbacks_after_prio = cfg->limit_callbacks_after_prio;
        base->max_dispatch_callbacks = cfg->max_dispatch_callbacks >= 0
                                           ? cfg->max_dispatch_callbacks
                                           : INT_MAX;
    } else {
        base->max_dispatch_time.tv_sec = -1;
        base->limit_callbacks_after_prio = 1;
        base->max_dispatch_callbacks = INT_MAX;
    }
    if (base->max_dispatch_callbacks == INT_MAX &&
        base->max_dispatch_time.tv_sec == -1)
        base->limit_callbacks_after_prio = INT_MAX;

    /* Priorities first: backends' internal events take one. */
    if (priority_init_nolock(base, 1) < 0) {
        event_base_free(base);
        return NULL;
    }

    for (i = 0; eventops[i] && !base->evbase; i++) {
        if (cfg) {
            if (event_config_is_avoided_method(cfg, eventops[i]->name))
                continue;
            if ((eventops[i]->features & cfg->require_features) !=
                cfg->require_features)
                continue;
        }
        if (check_env && event_is_method_disabled(eventops[i]->name))
            continue;
        base->evsel = eventops[i];
        base->evbase = base->evsel->init(base);
    }
    if (base->evbase == NULL) {
        event_warnx("%s: no event mechanism available", __func__);
        base->evsel = NULL;
        event_base_free(base);
        return NULL;
    }
    if (check_env && evutil_getenv_("EVENT_SHOW_METHOD"))
        event_msgx("libevent using: %s", base->evsel->name);

    if (EVTHREAD_LOCKING_ENABLED() &&
        (!cfg || !(cfg->flags & EVENT_BASE_FLAG_NOLOCK))) {
        EVTHREAD_ALLOC_LOCK(base->th_base_lock, EVTHREAD_LOCKTYPE_RECURSIVE);
        EVTHREAD_ALLOC_COND(base->current_event_cond);
        /* No condition variable is no error: lock debugging without
         * lock callbacks has locks but no conditions, as in libevent;
         * event_del then has no thread to wait for. */
        if (!base->th_base_lock || evthread_make_base_notifiable(base) < 0) {
            event_warnx("%s: Unable to make base notifiable.", __func__);
            event_base_free(base);
            return NULL;
        }
    }
#ifdef _WIN32
    /* As in libevent, a port that cannot start leaves a working base. */
    if (cfg && (cfg->flags & EVENT_BASE_FLAG_STARTUP_IOCP))
        event_base_start_iocp_(base, cfg->n_cpus_hint);
#endif
    event_base_note_plain_paths_(base);
    return base;
}

struct event_base *
event_base_new(void)
{
    struct event_base *base = NULL;
    struct event_config *cfg = event_config_new();
    if (cfg) {
        base = event_base_new_with_config(cfg);
        event_config_free(cfg);
    }
    return base;
}

/* ------------------------------------------------------------------ */
/* Teardown                                                            */

static void
event_base_free_(struct event_base *base, int run_finalizers)
{
    int i;
    struct event *ev;
    struct event_once *eonce;

    if (base == NULL)
        base = event_global_current_base_;
    if (base == NULL) {
        event_warnx("%s: no base to free", __func__);
        return;
    }
#ifdef _WIN32
    /* Before taking the lock: the workers may be waiting for it. */
    event_base_stop_iocp_(base);
#endif

    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    close_notify_fds(base);
    if (base->evsel)
        evmap_delete_all_(base);
    while ((ev = min_heap_top_(&base->timeheap)) != NULL)
        event_del_nolock_(ev, EVENT_DEL_NOBLOCK);
    for (i = 0; i < base->n_common_timeouts; ++i) {
        struct common_timeout_list *ctl = base->common_timeout_queues[i];
        event_del_nolock_(&ctl->timeout_event, EVENT_DEL_NOBLOCK);
        event_debug_unassign(&ctl->timeout_event);
        while ((ev = TAILQ_FIRST(&ctl->events)) != NULL)
            event_del_nolock_(ev, EVENT_DEL_NOBLOCK);
        mm_free(ctl);
    }
    if (base->common_timeout_queues)
        mm_free(base->common_timeout_queues);
    base->common_timeout_queues = NULL;
    base->n_common_timeouts = 0;

    /* Active callbacks: cancel each, running finalizers if asked.  A
     * finalizer may free memory holding other queued callbacks, so the
     * queues are re-read from the head after every step. */
    for (;;) {
        struct event_callback *evcb = NULL;
        for (i = 0; i < base->nactivequeues && !evcb; ++i)
            evcb = TAILQ_FIRST(&base->activequeues[i]);
        if (!evcb)
            evcb = TAILQ_FIRST(&base->active_later_queue);
        if (!evcb)
            break;
        if ((evcb->evcb_flags & (EVLIST_INIT | EVLIST_INTERNAL)) ==
            (EVLIST_INIT | EVLIST_INTERNAL)) {
            /* Internal events are not cancelled, just dequeued. */
            if (evcb->evcb_flags & EVLIST_ACTIVE) {
                TAILQ_REMOVE(&base->activequeues[evcb->evcb_pri], evcb,
                    evcb_active_next);
                evcb->evcb_flags &= ~EVLIST_ACTIVE;
            } else {
                TAILQ_REMOVE(&base->active_later_queue, evcb,
                    evcb_active_next);
                evcb->evcb_flags &= ~EVLIST_ACTIVE_LATER;
            }
            base->event_count_active--;
            continue;
        }
        /* Dequeues evcb; a finalizer may free it. */
        event_base_cancel_single_callback_(base, evcb, run_finalizers);
    }

    while ((eonce = LIST_FIRST(&base->once_events)) != NULL) {
        LIST_REMOVE(eonce, next_once);
        mm_free(eonce);
    }

    if (base->evsel != NULL && base->evsel->dealloc != NULL)
        base->evsel->dealloc(base);

    min_heap_dtor_(&base->timeheap);
    mm_free(base->activequeues);
    evmap_io_clear_(&base->io);
    evmap_signal_clear_(&base->sigmap);
    event_changelist_freemem_(&base->changelist);
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    EVTHREAD_FREE_LOCK(base->th_base_lock, EVTHREAD_LOCKTYPE_RECURSIVE);
    EVTHREAD_FREE_COND(base->current_event_cond);

    if (base == event_global_current_base_)
        event_global_current_base_ = NULL;
    mm_free(base);
}

void
event_base_free(struct event_base *base)
{
    event_base_free_(base, 1);
}

void
event_base_free_nofinalize(struct event_base *base)
{
    event_base_free_(base, 0);
}

/* ------------------------------------------------------------------ */
/* After fork                                                          */

static int
nil_backend_op(struct event_base *base, evutil_socket_t fd, short old,
    short events, void *fdinfo)
{
    return 0;
}

/* Stands in for the backend while event_reinit detaches the internal
 * events from a kernel object shared with the parent. */
static const struct eventop nil_eventop = {
    "nil", NULL, nil_backend_op, nil_backend_op, NULL, NULL, 0, 0, 0,
};

int
event_reinit(struct event_base *base)
{
    const struct eventop *evsel;
    int res = 0, was_notifiable = 0, had_signal_added = 0;

    if (!base)
        return -1;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    /* From a callback: readiness not run yet becomes active events, as
     * in libevent, before the backend it points into goes away. */
    event_ready_flush_all_(base);
    evsel = base->evsel;

    /* The kernel object of a need_reinit backend (an epoll fd) is still
     * shared with the parent: deleting our internal events through it
     * would remove the parent's registrations too.  Route those deletes
     * to a backend that does nothing. */
    if (evsel->need_reinit)
        base->evsel = &nil_eventop;

    /* The self-pipe and the notify fds are shared with the parent:
     * replace them, or a signal or wake-up could reach the wrong
     * process. */
    if (base->sig.ev_signal_added) {
        event_del_nolock_(&base->sig.ev_signal, EVENT_DEL_NOBLOCK);
        event_debug_unassign(&base->sig.ev_signal);
        memset(&base->sig.ev_signal, 0, sizeof(base->sig.ev_signal));
        had_signal_added = 1;
        base->sig.ev_signal_added = 0;
    }
    if (base->sig.ev_signal_pair[0] != -1)
        NOTIFY_CLOSE(base->sig.ev_signal_pair[0]);
    if (base->sig.ev_signal_pair[1] != -1)
        NOTIFY_CLOSE(base->sig.ev_signal_pair[1]);
    base->sig.ev_signal_pair[0] = base->sig.ev_signal_pair[1] = -1;
    if (base->th_notify_fn != NULL)
        was_notifiable = 1;
    close_notify_fds(base);

    if (evsel->need_reinit) {
        /* The kernel object (epoll fd) is shared too: make a new one and
         * tell it about every fd and signal again. */
        base->evsel = evsel;
        if (evsel->dealloc != NULL)
            evsel->dealloc(base);
        base->evbase = evsel->init(base);
        if (base->evbase == NULL) {
            event_warnx("%s: could not reinitialize event mechanism",
                __func__);
            res = -1;
            goto done;
        }
        event_changelist_freemem_(&base->changelist);
        if (evmap_reinit_(base) < 0)
            res = -1;
    } else {
        res = evsig_init_(base);
        if (res == 0 && had_signal_added) {
            res = event_add_nolock_(&base->sig.ev_signal, NULL, 0);
            if (res == 0)
                base->sig.ev_signal_added = 1;
        }
    }
    if (was_notifiable && res == 0)
        res = make_base_notifiable_nolock(base);
done:
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    return res;
}

/* ------------------------------------------------------------------ */
/* Introspection                                                       */

static int
foreach_nolock(struct event_base *base, event_base_foreach_event_cb fn,
    void *arg)
{
    int r, i;
    unsigned u;
    struct event *ev;

    /* A callback's own timeout re-arm, if it waits (see
     * event_ready_rearm_note_). */
    if (base->ready_rearm != NULL)
        event_ready_rearm_(base);
    /* Events with an fd or signal.  Internal ones (the signal pipe's,
     * the common-timeout queues' timers) are visited too, as in
     * libevent 2.1, whose event_base_dump_events marks them. */
    if ((r = evmap_foreach_event_(base,
             (event_base_foreach_event_cb_)fn, arg)))
        return r;
    /* Pure timers. */
    for (u = 0; u < base->timeheap.n; ++u) {
        ev = base->timeheap.p[u].ev;
        if (ev->ev_flags & EVLIST_INSERTED)
            continue;
        if ((r = fn(base, ev, arg)))
            return r;
    }
    for (i = 0; i < base->n_common_timeouts; ++i) {
        struct common_timeout_list *ctl = base->common_timeout_queues[i];
        TAILQ_FOREACH(ev, &ctl->events,
            ev_timeout_pos.ev_next_with_common_timeout)
        {
            if (ev->ev_flags & EVLIST_INSERTED)
                continue;
            if ((r = fn(base, ev, arg)))
                return r;
        }
    }
    /* Events that are only active (event_active on an unadded event). */
    for (i = 0; i < base->nactivequeues; ++i) {
        struct event_callback *evcb;
        TAILQ_FOREACH(evcb, &base->activequeues[i], evcb_active_next)
        {
            if ((evcb->evcb_flags &
                    (EVLIST_INIT | EVLIST_INSERTED | EVLIST_TIMEOUT)) !=
                EVLIST_INIT)
                continue;
            ev = EVUTIL_UPCAST(evcb, struct event, ev_evcallback);
            if ((r = fn(base, ev, arg)))
                return r;
        }
    }
    return 0;
}

int
event_base_foreach_event(struct event_base *base,
    event_base_foreach_event_cb fn, void *arg)
{
    int r;
    if (!fn || !base)
        return -1;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    event_ready_flush_all_(base);
    r = foreach_nolock(base, fn, arg);
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    return r;
}

static int
dump_inserted_event_fn(const struct event_base *base, const struct event *e,
    void *arg)
{
    FILE *output = arg;
    const char *gloss = (e->ev_events & EV_SIGNAL) ? "sig" : "fd ";

    if (!(e->ev_flags & (EVLIST_INSERTED | EVLIST_TIMEOUT)))
        return 0;
    fprintf(output, "  %p [%s %ld]%s%s%s%s%s%s%s", (void *)e, gloss,
        (long)e->ev_fd, (e->ev_events & EV_READ) ? " Read" : "",
        (e->ev_events & EV_WRITE) ? " Write" : "",
        (e->ev_events & EV_CLOSED) ? " EOF" : "",
        (e->ev_events & EV_SIGNAL) ? " Signal" : "",
        (e->ev_events & EV_PERSIST) ? " Persist" : "",
        (e->ev_events & EV_ET) ? " ET" : "",
        (e->ev_flags & EVLIST_INTERNAL) ? " Internal" : "");
    if (e->ev_flags & EVLIST_TIMEOUT) {
        struct timeval tv;
        tv.tv_sec = e->ev_timeout.tv_sec;
        tv.tv_usec = e->ev_timeout.tv_usec & COMMON_TIMEOUT_MICROSECONDS_MASK;
        evutil_timeradd(&tv, &base->tv_clock_diff, &tv);
        fprintf(output, " Timeout=%ld.%06d", (long)tv.tv_sec,
            (int)(tv.tv_usec & COMMON_TIMEOUT_MICROSECONDS_MASK));
    }
    fputc('\n', output);
    return 0;
}

static int
dump_active_event_fn(const struct event_base *base, const struct event *e,
    void *arg)
{
    FILE *output = arg;
    const char *gloss = (e->ev_events & EV_SIGNAL) ? "sig" : "fd ";
    (void)base;
    if (!(e->ev_flags & (EVLIST_ACTIVE | EVLIST_ACTIVE_LATER)))
        return 0;
    fprintf(output, "  %p [%s %ld, priority=%d]%s%s%s%s%s active%s%s\n",
        (void *)e, gloss, (long)e->ev_fd, e->ev_pri,
        (e->ev_res & EV_READ) ? " Read" : "",
        (e->ev_res & EV_WRITE) ? " Write" : "",
        (e->ev_res & EV_CLOSED) ? " EOF" : "",
        (e->ev_res & EV_SIGNAL) ? " Signal" : "",
        (e->ev_res & EV_TIMEOUT) ? " Timeout" : "",
        (e->ev_flags & EVLIST_INTERNAL) ? " [Internal]" : "",
        (e->ev_flags & EVLIST_ACTIVE_LATER) ? " [NextTime]" : "");
    return 0;
}

void
event_base_dump_events(struct event_base *base, FILE *output)
{
    if (!base || !output)
        return;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    event_ready_flush_all_(base);
    fprintf(output, "Inserted events:\n");
    foreach_nolock(base, dump_inserted_event_fn, output);
    fprintf(output, "Active events:\n");
    foreach_nolock(base, dump_active_event_fn, output);
    EVBASE_RELEASE_LOCK(base, th_base_lock);
}

int
event_base_get_num_events(struct event_base *base, unsigned int type)
{
    int r = 0;
    if (!base)
        return -1;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    /* The counts include the events the backend found ready. */
    event_ready_flush_all_(base);
    if (type & EVENT_BASE_COUNT_ACTIVE)
        r += base->event_count_active;
    if (type & EVENT_BASE_COUNT_VIRTUAL)
        r += base->virtual_event_count;
    if (type & EVENT_BASE_COUNT_ADDED)
        r += base->event_count;
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    return r;
}

int
event_base_get_max_events(struct event_base *base, unsigned int type,
    int clear)
{
    int r = 0;
    if (!base)
        return -1;
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    if (type & EVENT_BASE_COUNT_ACTIVE) {
        r += base->event_count_active_max;
        if (clear)
            base->event_count_active_max = 0;
    }
    if (type & EVENT_BASE_COUNT_VIRTUAL) {
        r += base->virtual_event_count_max;
        if (clear)
            base->virtual_event_count_max = 0;
    }
    if (type & EVENT_BASE_COUNT_ADDED) {
        r += base->event_count_max;
        if (clear)
            base->event_count_max = 0;
    }
    EVBASE_RELEASE_LOCK(base, th_base_lock);
    return r;
}

/* Virtual events keep a loop alive without an fd (evdns, IOCP). */
void
event_base_add_virtual_(struct event_base *base)
{
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    base->virtual_event_count++;
    if (base->virtual_event_count > base->virtual_event_count_max)
        base->virtual_event_count_max = base->virtual_event_count;
    EVBASE_RELEASE_LOCK(base, th_base_lock);
}

void
event_base_del_virtual_(struct event_base *base)
{
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);
    EVUTIL_ASSERT(base->virtual_event_count > 0);
    base->virtual_event_count--;
    if (base->virtual_event_count == 0 && EVBASE_NEED_NOTIFY(base) &&
        base->th_notify_fn)
        base->th_notify_fn(base);
    EVBASE_RELEASE_LOCK(base, th_base_lock);
}

/* ------------------------------------------------------------------ */
/* Process-wide shutdown                                               */

/* Called by evthread.c whenever lock callbacks are set or lock debugging
 * starts: every module with global state gets (or wraps) its lock. */
int
event_global_setup_locks_(const int enable_locks)
{
    if (event_debug_global_setup_locks_(enable_locks) < 0)
        return -1;
    if (evsig_global_setup_locks_(enable_locks) < 0)
        return -1;
    if (evutil_global_setup_locks_(enable_locks) < 0)
        return -1;
    if (evutil_secure_rng_global_setup_locks_(enable_locks) < 0)
        return -1;
    return 0;
}

void
libevent_global_shutdown(void)
{
    evsig_free_globals_();
    event_debug_map_free_();
    evutil_free_globals_();
    evthreadimpl_disable_lock_debugging_();
}

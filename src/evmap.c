/*
 * evmap.c: fd and signal maps, and the changelist.
 *
 * The io map is a flat array of pointers indexed by fd; a slot is
 * allocated on first use and kept until the base goes away, so the
 * backend's per-fd bytes (fdinfo) stay at one address for the fd's
 * whole life in the map.  Each slot counts how many events want read,
 * write and close; the backend hears only about changes of the union.
 *
 * The changelist queues at most one change per fd (its index lives in
 * the fd's fdinfo); an add followed by a delete of the same interest
 * before dispatch cancels out and costs no system call.
 */
#include "event2/event-config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "event2/event.h"
#include "event2/event_struct.h"

#include "event-internal.h"
#include "evmap-internal.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

struct evmap_signal {
    struct event_dlist_ events;
};


void
evmap_io_initmap_(struct event_io_map *ctx)
{
    ctx->nentries = 0;
    ctx->entries = NULL;
}

void
evmap_signal_initmap_(struct event_signal_map *ctx)
{
    ctx->nentries = 0;
    ctx->entries = NULL;
}

void
evmap_io_clear_(struct event_io_map *ctx)
{
    int i;
    for (i = 0; i < ctx->nentries; ++i)
        if (ctx->entries[i])
            mm_free(ctx->entries[i]);
    if (ctx->entries)
        mm_free(ctx->entries);
    ctx->entries = NULL;
    ctx->nentries = 0;
}

void
evmap_signal_clear_(struct event_signal_map *ctx)
{
    int i;
    for (i = 0; i < ctx->nentries; ++i)
        if (ctx->entries[i])
            mm_free(ctx->entries[i]);
    if (ctx->entries)
        mm_free(ctx->entries);
    ctx->entries = NULL;
    ctx->nentries = 0;
}

/* Grow a slot array so that index slot is valid.  As libevent, the
 * array stays below INT_MAX bytes: a larger fd or signal number is
 * refused at once (fds up to 2^27 fit), instead of allocating and
 * clearing gigabytes first. */
static int
grow_slots(void ***entries, int *nentries, int slot)
{
    int n = *nentries ? *nentries : 32;
    void **tmp;
    if (slot < *nentries)
        return 0;
    while (n <= slot) {
        if (n > INT_MAX / 2 / (int)sizeof(void *)) {
            errno = EINVAL;
            return -1;
        }
        n <<= 1;
    }
    tmp = mm_realloc(*entries, (size_t)n * sizeof(void *));
    if (tmp == NULL)
        return -1;
    memset(&tmp[*nentries], 0, (size_t)(n - *nentries) * sizeof(void *));
    *nentries = n;
    *entries = tmp;
    return 0;
}

static struct evmap_io *
new_io_slot(struct event_base *base, evutil_socket_t fd)
{
    struct event_io_map *map = &base->io;
    struct evmap_io *ctx;
    if (grow_slots((void ***)&map->entries, &map->nentries, fd) < 0)
        return NULL;
    ctx = mm_calloc(1, sizeof(struct evmap_io) + base->evsel->fdinfo_len);
    if (ctx == NULL)
        return NULL;
    LIST_INIT(&ctx->events);
    map->entries[fd] = ctx;
    return ctx;
}

static inline short
io_interest(const struct evmap_io *ctx)
{
    return (short)ctx->interest;
}


struct evmap_io *
evmap_io_new_slot_(struct event_base *base, evutil_socket_t fd)
{
    struct evmap_io *ctx = new_io_slot(base, fd);
    if (EVUTIL_UNLIKELY(ctx == NULL))
        event_warn("%s: no room for fd %d", __func__, (int)fd);
    return ctx;
}

int
evmap_io_add_refused_(evutil_socket_t fd, const struct evmap_io *ctx,
    const struct event *first, short evs)
{
    /* Edge- and level-triggered events cannot share an fd: the kernel
     * keeps one mode per fd. */
    if ((first->ev_events ^ evs) & EV_ET) {
        event_warnx("Tried to mix edge-triggered and "
                    "non-edge-triggered events on fd %d",
            (int)fd);
        return 1;
    }
    /* The counts are 16 bits wide, as in libevent. */
    if (((evs & EV_READ) && ctx->nread == 0xffff) ||
        ((evs & EV_WRITE) && ctx->nwrite == 0xffff) ||
        ((evs & EV_CLOSED) && ctx->nclose == 0xffff)) {
        event_warnx("Too many events reading or writing on fd %d",
            (int)fd);
        errno = ENOSPC;
        return 1;
    }
    return 0;
}

int
evmap_io_add_undo_(struct event_base *base, struct event *ev)
{
    struct evmap_io *ctx = base->io.entries[ev->ev_fd];
    short evs = ev->ev_events;

    /* A kind whose count drops back to 0 was new, so not in the old
     * interests; the others were.  errno stays the backend's. */
    ctx->interest &= (ev_uint16_t)~evmap_io_count_down_(ctx, evs);
    LIST_REMOVE(ev, ev_io_next);
    return -1;
}

int
evmap_io_add_(struct event_base *base, evutil_socket_t fd, struct event *ev)
{
    return evmap_io_add_inl_(base, fd, ev);
}

int
evmap_io_del_(struct event_base *base, evutil_socket_t fd, struct event *ev)
{
    return evmap_io_del_inl_(base, fd, ev);
}

void
evmap_io_active_(struct event_base *base, evutil_socket_t fd, short events)
{
    evmap_io_active_inl_(base, fd, events, 0);
}

void *
evmap_io_get_fdinfo_(struct event_io_map *map, evutil_socket_t fd)
{
    if (fd < 0 || fd >= map->nentries || map->entries[fd] == NULL)
        return NULL;
    return EVMAP_FDINFO(map->entries[fd]);
}

/* ------------------------------------------------------------------ */
/* Signals                                                             */

int
evmap_signal_add_(struct event_base *base, int sig, struct event *ev)
{
    struct event_signal_map *map = &base->sigmap;
    struct evmap_signal *ctx;

    if (sig < 1 || sig >= NSIG) {
        event_warnx("%s: signal %d out of range", __func__, sig);
        errno = EINVAL;
        return -1;
    }
    if (grow_slots((void ***)&map->entries, &map->nentries, sig) < 0)
        return -1;
    ctx = map->entries[sig];
    if (ctx == NULL) {
        ctx = mm_calloc(1, sizeof(*ctx));
        if (ctx == NULL)
            return -1;
        LIST_INIT(&ctx->events);
        map->entries[sig] = ctx;
    }
    if (LIST_EMPTY(&ctx->events)) {
        if (base->evsigsel == NULL) {
            event_warnx("%s: this base cannot handle signals", __func__);
            return -1;
        }
        if (base->evsigsel->add(base, sig, 0, EV_SIGNAL, NULL) == -1)
            return -1;
    }
    LIST_INSERT_HEAD(&ctx->events, ev, ev_signal_next);
    return 1;
}

int
evmap_signal_del_(struct event_base *base, int sig, struct event *ev)
{
    struct event_signal_map *map = &base->sigmap;
    struct evmap_signal *ctx;

    if (sig < 1 || sig >= map->nentries || map->entries[sig] == NULL)
        return -1;
    ctx = map->entries[sig];
    LIST_REMOVE(ev, ev_signal_next);
    if (LIST_EMPTY(&ctx->events)) {
        if (base->evsigsel->del(base, sig, EV_SIGNAL, 0, NULL) == -1)
            return -1;
    }
    return 1;
}

void
evmap_signal_active_(struct event_base *base, int sig, int ncalls)
{
    struct event_signal_map *map = &base->sigmap;
    struct event *ev;
    if (sig < 1 || sig >= map->nentries || map->entries[sig] == NULL)
        return;
    LIST_FOREACH(ev, &map->entries[sig]->events, ev_signal_next)
    event_active_nolock_(ev, EV_SIGNAL, (short)ncalls);
}

/* ------------------------------------------------------------------ */
/* Whole-map operations                                                */

int
evmap_reinit_(struct event_base *base)
{
    int i, result = 0;
    for (i = 0; i < base->io.nentries; ++i) {
        struct evmap_io *ctx = base->io.entries[i];
        short events;
        if (!ctx)
            continue;
        /* The new backend knows nothing of this fd yet. */
        memset(EVMAP_FDINFO(ctx), 0, base->evsel->fdinfo_len);
        events = io_interest(ctx);
        if (!events)
            continue;
        if (LIST_FIRST(&ctx->events) &&
            (LIST_FIRST(&ctx->events)->ev_events & EV_ET))
            events |= EV_ET;
        if (base->evsel->add(base, i, 0, events, EVMAP_FDINFO(ctx)) == -1)
            result = -1;
    }
    for (i = 0; i < base->sigmap.nentries; ++i) {
        struct evmap_signal *ctx = base->sigmap.entries[i];
        if (!ctx || LIST_EMPTY(&ctx->events))
            continue;
        if (base->evsigsel->add(base, i, 0, EV_SIGNAL, NULL) == -1)
            result = -1;
    }
    return result;
}

void
evmap_delete_all_(struct event_base *base)
{
    int i;
    struct event *ev;
    for (i = 0; i < base->io.nentries; ++i) {
        struct evmap_io *ctx = base->io.entries[i];
        if (!ctx)
            continue;
        while ((ev = LIST_FIRST(&ctx->events)) != NULL)
            event_del_nolock_(ev, EVENT_DEL_EVEN_IF_FINALIZING);
    }
    for (i = 0; i < base->sigmap.nentries; ++i) {
        struct evmap_signal *ctx = base->sigmap.entries[i];
        if (!ctx)
            continue;
        while ((ev = LIST_FIRST(&ctx->events)) != NULL)
            event_del_nolock_(ev, EVENT_DEL_EVEN_IF_FINALIZING);
    }
}

int
evmap_foreach_event_(struct event_base *base,
    event_base_foreach_event_cb_ fn, void *arg)
{
    int i, r;
    struct event *ev;
    for (i = 0; i < base->io.nentries; ++i) {
        struct evmap_io *ctx = base->io.entries[i];
        if (!ctx)
            continue;
        LIST_FOREACH(ev, &ctx->events, ev_io_next)
        {
            if ((r = fn(base, ev, arg)))
                return r;
        }
    }
    for (i = 0; i < base->sigmap.nentries; ++i) {
        struct evmap_signal *ctx = base->sigmap.entries[i];
        if (!ctx)
            continue;
        LIST_FOREACH(ev, &ctx->events, ev_signal_next)
        {
            if ((r = fn(base, ev, arg)))
                return r;
        }
    }
    return 0;
}

void
evmap_check_integrity_(struct event_base *base)
{
    int i;
    struct event *ev;
    for (i = 0; i < base->io.nentries; ++i) {
        struct evmap_io *ctx = base->io.entries[i];
        unsigned nr = 0, nw = 0, nc = 0;
        if (!ctx)
            continue;
        LIST_FOREACH(ev, &ctx->events, ev_io_next)
        {
            EVUTIL_ASSERT(ev->ev_flags & EVLIST_INSERTED);
            EVUTIL_ASSERT(ev->ev_fd == i);
            nr += !!(ev->ev_events & EV_READ);
            nw += !!(ev->ev_events & EV_WRITE);
            nc += !!(ev->ev_events & EV_CLOSED);
        }
        EVUTIL_ASSERT(nr == ctx->nread && nw == ctx->nwrite &&
                      nc == ctx->nclose);
        EVUTIL_ASSERT(ctx->interest == (unsigned)((nr ? EV_READ : 0) |
                                                  (nw ? EV_WRITE : 0) |
                                                  (nc ? EV_CLOSED : 0)));
    }
}

/* ------------------------------------------------------------------ */
/* Changelist                                                          */

void
event_changelist_init_(struct event_changelist *changelist)
{
    changelist->changes = NULL;
    changelist->changes_size = 0;
    changelist->n_changes = 0;
}

static inline struct event_changelist_fdinfo *
changelist_fdinfo(struct event_base *base, const struct event_change *ch)
{
    return evmap_io_get_fdinfo_(&base->io, ch->fd);
}

void
event_changelist_remove_all_(struct event_changelist *changelist,
    struct event_base *base)
{
    int i;
    for (i = 0; i < changelist->n_changes; ++i) {
        struct event_changelist_fdinfo *info =
            changelist_fdinfo(base, &changelist->changes[i]);
        if (info)
            info->idxplus1 = 0;
    }
    changelist->n_changes = 0;
}

void
event_changelist_freemem_(struct event_changelist *changelist)
{
    if (changelist->changes)
        mm_free(changelist->changes);
    event_changelist_init_(changelist);
}

/* The queued change for fd, created (recording the kernel's current
 * interest as old_events) when there is none. */
static struct event_change *
changelist_get_or_construct(struct event_changelist *changelist,
    evutil_socket_t fd, short old_events,
    struct event_changelist_fdinfo *fdinfo)
{
    struct event_change *change;
    if (fdinfo->idxplus1 == 0) {
        int idx;
        if (changelist->n_changes == changelist->changes_size) {
            int n = changelist->changes_size ? changelist->changes_size * 2
                                             : 64;
            struct event_change *tmp =
                mm_realloc(changelist->changes, (size_t)n * sizeof(*tmp));
            if (tmp == NULL) {
                event_warn("%s: realloc", __func__);
                return NULL;
            }
            changelist->changes = tmp;
            changelist->changes_size = n;
        }
        idx = changelist->n_changes++;
        change = &changelist->changes[idx];
        fdinfo->idxplus1 = idx + 1;
        memset(change, 0, sizeof(*change));
        change->fd = fd;
        change->old_events = old_events;
    } else {
        change = &changelist->changes[fdinfo->idxplus1 - 1];
    }
    return change;
}

int
event_changelist_add_(struct event_base *base, evutil_socket_t fd,
    short old, short events, void *p)
{
    struct event_change *change =
        changelist_get_or_construct(&base->changelist, fd, old, p);
    ev_uint8_t evchange = EV_CHANGE_ADD | (events & (EV_ET | EV_PERSIST));
    if (!change)
        return -1;
    if (events & (EV_READ | EV_SIGNAL))
        change->read_change = evchange;
    if (events & EV_WRITE)
        change->write_change = evchange;
    if (events & EV_CLOSED)
        change->close_change = evchange;
    return 0;
}

int
event_changelist_del_(struct event_base *base, evutil_socket_t fd,
    short old, short events, void *p)
{
    struct event_change *change =
        changelist_get_or_construct(&base->changelist, fd, old, p);
    ev_uint8_t del = EV_CHANGE_DEL | (events & EV_ET);
    if (!change)
        return -1;
    /* Deleting what the kernel never saw cancels the queued add. */
    if (events & (EV_READ | EV_SIGNAL))
        change->read_change =
            (change->old_events & (EV_READ | EV_SIGNAL)) ? del : 0;
    if (events & EV_WRITE)
        change->write_change = (change->old_events & EV_WRITE) ? del : 0;
    if (events & EV_CLOSED)
        change->close_change = (change->old_events & EV_CLOSED) ? del : 0;
    return 0;
}

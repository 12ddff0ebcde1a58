/*
 * event-debug.c: debug mode (event_enable_debug_mode).
 *
 * In debug mode every event set up with event_assign/event_new is
 * recorded in a hash table keyed by its address, together with whether
 * it is added.  The public entry points consult the table and stop the
 * program (through the fatal callback) on the classic misuses: using an
 * event that was never set up, re-assigning or unassigning an event
 * that is still added.  The table has its own global lock.
 */
#include "event2/event-config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event2/event.h"
#include "event2/event_struct.h"
#include "event2/thread.h"

#include "event-internal.h"
#include "evthread-internal.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

int event_debug_mode_on_ = 0;
int event_debug_created_threadable_ctx_ = 0;

struct debug_entry {
    struct debug_entry *next;
    const struct event *ptr;
    int added;
};

static struct debug_entry **debug_table = NULL;
static unsigned debug_table_size = 0;
static unsigned debug_table_count = 0;
static void *debug_map_lock_ = NULL;

static unsigned
hash_ptr(const struct event *ev)
{
    /* Events are at least 8-byte aligned; mix the interesting bits. */
    uintptr_t u = (uintptr_t)ev >> 3;
    u ^= u >> 17;
    u *= 0x9E3779B1u;
    return (unsigned)u;
}

static struct debug_entry *
find_entry(const struct event *ev)
{
    struct debug_entry *e;
    if (!debug_table_size)
        return NULL;
    for (e = debug_table[hash_ptr(ev) & (debug_table_size - 1)]; e;
         e = e->next)
        if (e->ptr == ev)
            return e;
    return NULL;
}

static int
grow_table(void)
{
    unsigned n = debug_table_size ? debug_table_size * 2 : 64, i;
    struct debug_entry **t = mm_calloc(n, sizeof(*t));
    if (!t)
        return -1;
    for (i = 0; i < debug_table_size; ++i) {
        struct debug_entry *e = debug_table[i], *next;
        for (; e; e = next) {
            unsigned h = hash_ptr(e->ptr) & (n - 1);
            next = e->next;
            e->next = t[h];
            t[h] = e;
        }
    }
    mm_free(debug_table);
    debug_table = t;
    debug_table_size = n;
    return 0;
}

void
event_enable_debug_mode(void)
{
    if (event_debug_mode_on_)
        event_errx(1, "%s was called twice!", __func__);
    if (__atomic_load_n(&event_debug_mode_too_late_, __ATOMIC_RELAXED))
        event_errx(1,
            "%s must be called *before* creating any events or "
            "event_bases",
            __func__);
    event_debug_mode_on_ = 1;
}

void
event_debug_note_setup_(const struct event *ev)
{
    struct debug_entry *e;
    EVLOCK_LOCK(debug_map_lock_, 0);
    e = find_entry(ev);
    if (e) {
        e->added = 0;
    } else if ((debug_table_count + 1 > debug_table_size * 2 &&
                   grow_table() < 0) ||
               (debug_table_size == 0 && grow_table() < 0) ||
               (e = mm_malloc(sizeof(*e))) == NULL) {
        EVLOCK_UNLOCK(debug_map_lock_, 0);
        event_errx(EVENT_ERR_ABORT_, "%s: out of memory in debug mode",
            __func__);
    } else {
        unsigned h = hash_ptr(ev) & (debug_table_size - 1);
        e->ptr = ev;
        e->added = 0;
        e->next = debug_table[h];
        debug_table[h] = e;
        ++debug_table_count;
    }
    EVLOCK_UNLOCK(debug_map_lock_, 0);
}

unsigned
event_debug_count_entries_(void)
{
    unsigned n;
    EVLOCK_LOCK(debug_map_lock_, 0);
    n = debug_table_count;
    EVLOCK_UNLOCK(debug_map_lock_, 0);
    return n;
}

void
event_debug_note_teardown_(const struct event *ev)
{
    struct debug_entry **pp, *e;
    if (!debug_table_size)
        return;
    EVLOCK_LOCK(debug_map_lock_, 0);
    for (pp = &debug_table[hash_ptr(ev) & (debug_table_size - 1)];
         (e = *pp) != NULL; pp = &e->next) {
        if (e->ptr == ev) {
            *pp = e->next;
            mm_free(e);
            --debug_table_count;
            break;
        }
    }
    EVLOCK_UNLOCK(debug_map_lock_, 0);
}

static void
die_not_setup(const char *what, const struct event *ev)
{
    event_errx(EVENT_ERR_ABORT_,
        "%s called on a non-initialized event %p"
        " (events: 0x%x, fd: %d, flags: 0x%x)",
        what, (void *)ev, ev->ev_events, (int)ev->ev_fd, ev->ev_flags);
}

void
event_debug_note_add_(const struct event *ev)
{
    struct debug_entry *e;
    EVLOCK_LOCK(debug_map_lock_, 0);
    e = find_entry(ev);
    if (e)
        e->added = 1;
    EVLOCK_UNLOCK(debug_map_lock_, 0);
    if (!e)
        die_not_setup("event_add", ev);
}

void
event_debug_note_del_(const struct event *ev)
{
    struct debug_entry *e;
    EVLOCK_LOCK(debug_map_lock_, 0);
    e = find_entry(ev);
    if (e)
        e->added = 0;
    EVLOCK_UNLOCK(debug_map_lock_, 0);
    if (!e)
        die_not_setup("event_del", ev);
}

int
event_debug_is_setup_(const struct event *ev)
{
    struct debug_entry *e;
    EVLOCK_LOCK(debug_map_lock_, 0);
    e = find_entry(ev);
    EVLOCK_UNLOCK(debug_map_lock_, 0);
    return e != NULL;
}

void
event_debug_assert_is_setup_(const struct event *ev)
{
    if (!event_debug_is_setup_(ev))
        die_not_setup("event operation", ev);
}

void
event_debug_assert_not_added_(const struct event *ev)
{
    struct debug_entry *e;
    int added;
    EVLOCK_LOCK(debug_map_lock_, 0);
    e = find_entry(ev);
    added = e && e->added;
    EVLOCK_UNLOCK(debug_map_lock_, 0);
    if (added)
        event_errx(EVENT_ERR_ABORT_,
            "%s called on an already added event %p"
            " (events: 0x%x, fd: %d, flags: 0x%x)",
            "event_assign/event_debug_unassign", (void *)ev, ev->ev_events,
            (int)ev->ev_fd, ev->ev_flags);
}

void
event_debug_assert_socket_nonblocking_(evutil_socket_t fd)
{
#ifdef _WIN32
    /* Winsock cannot report whether a socket is non-blocking. */
    (void)fd;
#else
    int flags;
    if (fd < 0)
        return;
    flags = fcntl(fd, F_GETFL, NULL);
    if (flags >= 0 && !(flags & O_NONBLOCK))
        event_warnx("fd %d is not nonblocking", (int)fd);
#endif
}

void
event_debug_map_free_(void)
{
    unsigned i;
    for (i = 0; i < debug_table_size; ++i) {
        struct debug_entry *e = debug_table[i], *next;
        for (; e; e = next) {
            next = e->next;
            mm_free(e);
        }
    }
    mm_free(debug_table);
    debug_table = NULL;
    debug_table_size = debug_table_count = 0;
    /* libevent_global_shutdown() also releases the lock that
     * evthread_use_pthreads() made for the map. */
    if (debug_map_lock_ != NULL) {
        EVTHREAD_FREE_LOCK(debug_map_lock_, 0);
        debug_map_lock_ = NULL;
    }
}

int
event_debug_global_setup_locks_(const int enable_locks)
{
    EVTHREAD_SETUP_GLOBAL_LOCK(debug_map_lock_, 0);
    return 0;
}

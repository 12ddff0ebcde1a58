/*
 * win32select.c: the Windows select() backend ("win32").
 *
 * Winsock's fd_set is not a bitmap: it is a count (fd_count) followed by
 * an array of SOCKET handles (fd_array), and select() reads exactly
 * fd_count entries.  FD_SETSIZE (64) only sizes the array in the header's
 * struct, so this backend allocates its own sets with room for any number
 * of sockets and grows them by doubling.  The first argument of select()
 * is ignored on Windows.
 *
 * Quirks handled:
 *  - select() with all three sets empty fails with WSAEINVAL instead of
 *    sleeping, so dispatch sleeps by itself when nothing is watched;
 *  - a failed non-blocking connect() is reported in the except set, not
 *    the write set, so every socket waiting for EV_WRITE is also put in
 *    the except set and an exception is reported as EV_WRITE (the caller
 *    then sees the error through getsockopt(SO_ERROR), as on Unix);
 *  - select() overwrites its sets, so dispatch hands it copies: the "in"
 *    sets (what the core asked for) survive, and only dispatch touches the
 *    "out" sets, so another thread may change the in sets while the base
 *    lock is dropped.
 *
 * Invariants: a socket appears at most once in each in set; the fdinfo of
 * a watched socket holds its position plus one in each in set (0 when
 * absent), so removal is O(1): the last entry moves into the hole and its
 * own fdinfo is updated.  Each set has room for cap entries.
 */
#include "event2/event-config.h"

#ifdef _WIN32

#include <winsock2.h>
#include <windows.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "event-internal.h"
#include "evmap-internal.h"
#include "evsignal-internal.h"
#include "evthread-internal.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

/* Winsock's fd_set with a flexible array; fd_count first, as select()
 * expects. */
struct win_fd_set {
    u_int fd_count;
    SOCKET fd_array[1];
};

/* Per-socket bytes kept by evmap (fdinfo). */
struct win32_fdinfo {
    int read_pos_plus1;
    int write_pos_plus1;
};

struct win32op {
    unsigned cap_in;  /* room in readset_in and writeset_in */
    unsigned cap_out; /* room in each of the three out sets */
    struct win_fd_set *readset_in;
    struct win_fd_set *writeset_in;
    struct win_fd_set *readset_out;
    struct win_fd_set *writeset_out;
    struct win_fd_set *exset_out;
};

/* Start at Winsock's own FD_SETSIZE; the test suite goes well beyond. */
#define WIN32_INITIAL_CAP 64

static void *win32_init(struct event_base *);
static int win32_add(struct event_base *, evutil_socket_t, short, short,
                     void *);
static int win32_del(struct event_base *, evutil_socket_t, short, short,
                     void *);
static int win32_dispatch(struct event_base *, struct timeval *);
static void win32_dealloc(struct event_base *);

const struct eventop win32ops = {
    "win32",
    win32_init,
    win32_add,
    win32_del,
    win32_dispatch,
    win32_dealloc,
    0, /* need_reinit */
    0, /* no EV_FEATURE_FDS: only sockets */
    sizeof(struct win32_fdinfo),
};

static size_t
set_bytes(unsigned cap)
{
    return offsetof(struct win_fd_set, fd_array) + cap * sizeof(SOCKET);
}

/* Reallocate *set to room for cap sockets, keeping its entries.  Returns
 * 0, or -1 (set unchanged) when memory runs out. */
static int
resize_set(struct win_fd_set **set, unsigned cap)
{
    struct win_fd_set *p = mm_realloc(*set, set_bytes(cap));

    if (p == NULL) {
        event_warn("win32: realloc");
        return -1;
    }
    if (*set == NULL)
        p->fd_count = 0;
    *set = p;
    return 0;
}

/* Make room for at least want sockets in both in sets. */
static int
grow_in(struct win32op *op, unsigned want)
{
    unsigned n = op->cap_in;

    if (want <= n)
        return 0;
    while (n < want) {
        if (n > (1u << 26)) {
            errno = ENOMEM;
            return -1;
        }
        n *= 2;
    }
    if (resize_set(&op->readset_in, n) < 0 ||
        resize_set(&op->writeset_in, n) < 0)
        return -1;
    op->cap_in = n;
    return 0;
}

static int
grow_out(struct win32op *op, unsigned want)
{
    if (want <= op->cap_out)
        return 0;
    if (resize_set(&op->readset_out, want) < 0 ||
        resize_set(&op->writeset_out, want) < 0 ||
        resize_set(&op->exset_out, want) < 0)
        return -1;
    op->cap_out = want;
    return 0;
}

static void
free_op(struct win32op *op)
{
    mm_free(op->readset_in);
    mm_free(op->writeset_in);
    mm_free(op->readset_out);
    mm_free(op->writeset_out);
    mm_free(op->exset_out);
    memset(op, 0, sizeof(*op));
    mm_free(op);
}

static void *
win32_init(struct event_base *base)
{
    struct win32op *op = mm_calloc(1, sizeof(*op));

    if (op == NULL)
        return NULL;
    if (resize_set(&op->readset_in, WIN32_INITIAL_CAP) < 0 ||
        resize_set(&op->writeset_in, WIN32_INITIAL_CAP) < 0)
        goto err;
    op->cap_in = WIN32_INITIAL_CAP;
    if (grow_out(op, WIN32_INITIAL_CAP) < 0)
        goto err;
    (void)evsig_init_(base);
    return op;
err:
    free_op(op);
    return NULL;
}

/* Append s to set (room already checked); returns its position plus 1. */
static int
set_append(struct win_fd_set *set, SOCKET s)
{
    set->fd_array[set->fd_count] = s;
    return (int)++set->fd_count;
}

/* Remove the entry at pos_plus1 - 1, moving the last entry into the hole
 * and fixing that socket's recorded position. */
static void
set_remove(struct event_base *base, struct win_fd_set *set, int pos_plus1,
           int is_read)
{
    unsigned pos = (unsigned)pos_plus1 - 1;
    unsigned last = set->fd_count - 1;

    EVUTIL_ASSERT(pos_plus1 > 0 && pos < set->fd_count);
    if (pos != last) {
        SOCKET moved = set->fd_array[last];
        struct win32_fdinfo *mi =
            evmap_io_get_fdinfo_(&base->io, (evutil_socket_t)moved);
        EVUTIL_ASSERT(mi != NULL);
        set->fd_array[pos] = moved;
        if (is_read)
            mi->read_pos_plus1 = pos_plus1;
        else
            mi->write_pos_plus1 = pos_plus1;
    }
    set->fd_count = last;
}

static int
win32_add(struct event_base *base, evutil_socket_t fd, short old, short events,
          void *p)
{
    struct win32op *op = base->evbase;
    struct win32_fdinfo *info = p;

    if (!(events & (EV_READ | EV_WRITE)))
        return 0;
    if (fd < 0) {
        EVUTIL_SET_SOCKET_ERROR(WSAENOTSOCK);
        return -1;
    }
    if ((events & EV_READ) && !info->read_pos_plus1) {
        if (grow_in(op, op->readset_in->fd_count + 1) < 0)
            return -1;
        info->read_pos_plus1 = set_append(op->readset_in, (SOCKET)fd);
    }
    if ((events & EV_WRITE) && !info->write_pos_plus1) {
        if (grow_in(op, op->writeset_in->fd_count + 1) < 0)
            return -1;
        info->write_pos_plus1 = set_append(op->writeset_in, (SOCKET)fd);
    }
    return 0;
}

static int
win32_del(struct event_base *base, evutil_socket_t fd, short old, short events,
          void *p)
{
    struct win32op *op = base->evbase;
    struct win32_fdinfo *info = p;

    if ((events & EV_READ) && info->read_pos_plus1) {
        set_remove(base, op->readset_in, info->read_pos_plus1, 1);
        info->read_pos_plus1 = 0;
    }
    if ((events & EV_WRITE) && info->write_pos_plus1) {
        set_remove(base, op->writeset_in, info->write_pos_plus1, 0);
        info->write_pos_plus1 = 0;
    }
    return 0;
}

static void
copy_set(struct win_fd_set *to, const struct win_fd_set *from)
{
    to->fd_count = from->fd_count;
    memcpy(to->fd_array, from->fd_array, from->fd_count * sizeof(SOCKET));
}

/* Sleep for tv (forever when NULL is not possible: the core always passes
 * a timeout or has something to watch; wait a second at a time then). */
static void
sleep_for(const struct timeval *tv)
{
    struct timeval one = {1, 0};

    evutil_usleep_(tv ? tv : &one);
}

static int
win32_dispatch(struct event_base *base, struct timeval *tv)
{
    struct win32op *op = base->evbase;
    unsigned i, nread, nwrite;
    int res;

    if (grow_out(op, op->cap_in) < 0)
        return -1;
    copy_set(op->readset_out, op->readset_in);
    copy_set(op->writeset_out, op->writeset_in);
    copy_set(op->exset_out, op->writeset_in);
    nread = op->readset_out->fd_count;
    nwrite = op->writeset_out->fd_count;

    if (nread == 0 && nwrite == 0) {
        EVBASE_RELEASE_LOCK(base, th_base_lock);
        sleep_for(tv);
        EVBASE_ACQUIRE_LOCK(base, th_base_lock);
        return 0;
    }

    EVBASE_RELEASE_LOCK(base, th_base_lock);
    res = select(0, (fd_set *)(void *)op->readset_out,
                 (fd_set *)(void *)op->writeset_out,
                 (fd_set *)(void *)op->exset_out, tv);
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);

    if (res == SOCKET_ERROR) {
        int err = WSAGetLastError();
        if (err == WSAEINTR)
            return 0;
        event_warnx("win32: select: %s", evutil_socket_error_to_string(err));
        return -1;
    }
    event_debug(("%s: select reports %d", __func__, res));

    /* Sockets deleted by a callback below are simply not found in the io
     * map any more; evmap_io_active_ ignores them. */
    for (i = 0; i < op->readset_out->fd_count; ++i)
        evmap_io_active_(base, (evutil_socket_t)op->readset_out->fd_array[i],
                         EV_READ);
    for (i = 0; i < op->writeset_out->fd_count; ++i)
        evmap_io_active_(base, (evutil_socket_t)op->writeset_out->fd_array[i],
                         EV_WRITE);
    for (i = 0; i < op->exset_out->fd_count; ++i)
        evmap_io_active_(base, (evutil_socket_t)op->exset_out->fd_array[i],
                         EV_WRITE);
    return 0;
}

static void
win32_dealloc(struct event_base *base)
{
    if (base->evbase == NULL)
        return;
    evsig_dealloc_(base);
    free_op(base->evbase);
}

#endif /* _WIN32 */

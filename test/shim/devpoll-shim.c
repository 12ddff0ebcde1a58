/*
 * devpoll-shim.c (tests only): the /dev/poll driver of Solaris and illumos
 * on Linux, written from its manual page poll(4D) (formerly poll(7D)), so
 * that backends/devpoll.c runs for real in the test suite.
 *
 * The linker sends open, write, ioctl and close through the __wrap_*
 * functions below (-Wl,--wrap=open,--wrap=write,--wrap=ioctl,
 * --wrap=close); only open("/dev/poll") and the descriptors it returned
 * are handled here, everything else goes straight to the C library.  A
 * /dev/poll handle is an eventfd, which also wakes a DP_POLL in progress
 * when another thread writes to the set.
 *
 * What the manual promises and how the shim keeps it:
 *  - writing an array of struct pollfd adds those fds to the set; an fd
 *    already there, or repeated in the array, has its events OR'ed in
 *    (so the only way to drop an interest is POLLREMOVE, which revokes
 *    all interest in the fd); write() returns the bytes written;
 *  - the set is keyed by descriptor number: a closed fd left in it comes
 *    back with POLLNVAL, and a number reused by another file polls that
 *    file.  DP_POLL is therefore poll(2) over the cached set, with the
 *    same level-triggered results, POLLHUP/POLLERR always reported and
 *    regular files always ready;
 *  - DP_POLL returns at most dp_nfds entries {fd, events asked, revents},
 *    0 on timeout (dp_fds untouched), waits forever for dp_timeout -1 and
 *    not at all for 0; dp_nfds >= OPEN_MAX, or a write of more than
 *    OPEN_MAX entries, is EINVAL; EINTR when a signal is caught;
 *  - DP_ISPOLLED returns 1 and the polled events in revents when the fd
 *    is in the set, else 0;
 *  - the set belongs to the process that opened it: a child that
 *    inherited the handle gets EACCES from write() and ioctl().
 *
 * Invariants: g_lock guards all state and is never held while waiting in
 * poll(); is_handle[fd] is set exactly while fd is an open handle; for
 * each handle, index[fd] == i + 1 iff set[i].fd == fd.
 */
#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/devpoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int __real_open(const char *path, int flags, ...);
ssize_t __real_write(int fd, const void *buf, size_t n);
int __real_ioctl(int fd, unsigned long req, ...);
int __real_close(int fd);
int __wrap_open(const char *path, int flags, ...);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
int __wrap_ioctl(int fd, unsigned long req, ...);
int __wrap_close(int fd);

#define HANDLE_MAX 65536

struct devpoll {
    struct devpoll *next;
    int fd;
    pid_t pid;
    int *index; /* fd -> position in set, plus one; 0: absent */
    int nindex;
    struct pollfd *set;
    int nset, aset;
    int cursor; /* where DP_POLL starts reporting, for fairness */
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct devpoll *handles;
/* Read without the lock on every write() and close() of the process. */
static unsigned char is_handle[HANDLE_MAX];

static int
handle_p(int fd)
{
    return fd >= 0 && fd < HANDLE_MAX &&
           __atomic_load_n(&is_handle[fd], __ATOMIC_SEQ_CST);
}

static struct devpoll *
find(int fd)
{
    struct devpoll *d;
    for (d = handles; d != NULL; d = d->next)
        if (d->fd == fd)
            return d;
    return NULL;
}

static long
open_max(void)
{
    long m = sysconf(_SC_OPEN_MAX);
    return m > 0 ? m : 1024;
}

static int
dp_open(void)
{
    struct devpoll *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        errno = ENOMEM;
        return -1;
    }
    d->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (d->fd == -1) {
        int e = errno;
        free(d);
        errno = e;
        return -1;
    }
    if (d->fd >= HANDLE_MAX) {
        __real_close(d->fd);
        free(d);
        errno = EMFILE;
        return -1;
    }
    d->pid = getpid();
    pthread_mutex_lock(&g_lock);
    d->next = handles;
    handles = d;
    __atomic_store_n(&is_handle[d->fd], 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&g_lock);
    return d->fd;
}

int
__wrap_open(const char *path, int flags, ...)
{
    mode_t mode = 0;

    if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    if (path != NULL && strcmp(path, "/dev/poll") == 0)
        return dp_open();
    return __real_open(path, flags, mode);
}

int
__wrap_close(int fd)
{
    if (handle_p(fd)) {
        struct devpoll **pp, *d = NULL;
        pthread_mutex_lock(&g_lock);
        for (pp = &handles; *pp != NULL; pp = &(*pp)->next)
            if ((*pp)->fd == fd) {
                d = *pp;
                *pp = d->next;
                break;
            }
        __atomic_store_n(&is_handle[fd], 0, __ATOMIC_SEQ_CST);
        pthread_mutex_unlock(&g_lock);
        if (d != NULL) {
            free(d->index);
            free(d->set);
            free(d);
        }
    }
    return __real_close(fd);
}

static void
set_remove(struct devpoll *d, int fd)
{
    int i;
    if (fd < 0 || fd >= d->nindex || d->index[fd] == 0)
        return;
    i = d->index[fd] - 1;
    d->index[fd] = 0;
    if (i != d->nset - 1) {
        d->set[i] = d->set[d->nset - 1];
        d->index[d->set[i].fd] = i + 1;
    }
    d->nset--;
}

static int
set_add(struct devpoll *d, int fd, short events)
{
    if (fd >= d->nindex) {
        int n = d->nindex ? d->nindex : 64;
        int *p;
        while (n <= fd)
            n *= 2;
        p = realloc(d->index, n * sizeof(*p));
        if (p == NULL)
            return -1;
        memset(p + d->nindex, 0, (n - d->nindex) * sizeof(*p));
        d->index = p;
        d->nindex = n;
    }
    if (d->index[fd] != 0) {
        /* Already polled: the new events are OR'ed in. */
        d->set[d->index[fd] - 1].events |= events;
        return 0;
    }
    if (d->nset == d->aset) {
        int n = d->aset ? d->aset * 2 : 64;
        struct pollfd *p = realloc(d->set, n * sizeof(*p));
        if (p == NULL)
            return -1;
        d->set = p;
        d->aset = n;
    }
    d->set[d->nset].fd = fd;
    d->set[d->nset].events = events;
    d->set[d->nset].revents = 0;
    d->index[fd] = ++d->nset;
    return 0;
}

static ssize_t
dp_write(int fd, const void *buf, size_t n)
{
    const struct pollfd *pfd = buf;
    size_t i, count = n / sizeof(struct pollfd);
    struct devpoll *d;
    uint64_t one = 1;
    ssize_t r;

    if (n % sizeof(struct pollfd) != 0 || count > (size_t)open_max()) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&g_lock);
    d = find(fd);
    if (d == NULL || d->pid != getpid()) {
        pthread_mutex_unlock(&g_lock);
        errno = d == NULL ? EBADF : EACCES;
        return -1;
    }
    for (i = 0; i < count; ++i) {
        if (pfd[i].fd < 0)
            continue;
        if (pfd[i].events & POLLREMOVE) {
            set_remove(d, pfd[i].fd);
        } else if (set_add(d, pfd[i].fd, pfd[i].events) == -1) {
            pthread_mutex_unlock(&g_lock);
            errno = ENOMEM;
            return -1;
        }
    }
    /* A DP_POLL in another thread must see the new set. */
    r = __real_write(d->fd, &one, sizeof(one));
    (void)r;
    pthread_mutex_unlock(&g_lock);
    return (ssize_t)n;
}

ssize_t
__wrap_write(int fd, const void *buf, size_t n)
{
    if (handle_p(fd))
        return dp_write(fd, buf, n);
    return __real_write(fd, buf, n);
}

static int64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Lock held: copy what the poll in snap found into dp_fds, keeping only
 * fds still in the set and events still asked for. */
static int
report(struct devpoll *d, const struct pollfd *snap, int n,
    struct dvpoll *dvp)
{
    int i, k, out = 0;
    for (k = 0; k < n && out < dvp->dp_nfds; ++k) {
        short ev, rev;
        i = (d->cursor + k) % n;
        if (snap[i].revents == 0 || snap[i].fd >= d->nindex ||
            d->index[snap[i].fd] == 0)
            continue;
        ev = d->set[d->index[snap[i].fd] - 1].events;
        rev = snap[i].revents & (ev | POLLHUP | POLLERR | POLLNVAL);
        if (rev == 0)
            continue;
        dvp->dp_fds[out].fd = snap[i].fd;
        dvp->dp_fds[out].events = ev;
        dvp->dp_fds[out].revents = rev;
        ++out;
    }
    if (n > 0)
        d->cursor = (d->cursor + 1) % n;
    return out;
}

static int
dp_poll(int fd, struct dvpoll *dvp)
{
    int64_t deadline = 0;

    if (dvp == NULL || dvp->dp_nfds < 0 || dvp->dp_nfds >= open_max() ||
        (dvp->dp_nfds > 0 && dvp->dp_fds == NULL)) {
        errno = dvp == NULL ? EFAULT : EINVAL;
        return -1;
    }
    if (dvp->dp_timeout > 0)
        deadline = now_ns() + (int64_t)dvp->dp_timeout * 1000000;
    for (;;) {
        struct devpoll *d;
        struct pollfd *snap;
        int n, r, err, ms = dvp->dp_timeout < 0 ? -1 : 0, out;
        uint64_t drain;
        ssize_t rd;

        if (dvp->dp_timeout > 0) {
            int64_t left = deadline - now_ns();
            ms = left <= 0 ? 0 : (int)((left + 999999) / 1000000);
        }
        pthread_mutex_lock(&g_lock);
        d = find(fd);
        if (d == NULL || d->pid != getpid()) {
            pthread_mutex_unlock(&g_lock);
            errno = d == NULL ? EBADF : EACCES;
            return -1;
        }
        n = d->nset;
        snap = malloc((n + 1) * sizeof(*snap));
        if (snap == NULL) {
            pthread_mutex_unlock(&g_lock);
            errno = ENOMEM;
            return -1;
        }
        if (n > 0)
            memcpy(snap, d->set, n * sizeof(*snap));
        snap[n].fd = d->fd; /* the wake-up, last */
        snap[n].events = POLLIN;
        pthread_mutex_unlock(&g_lock);

        r = poll(snap, n + 1, ms);
        err = errno;
        if (r == -1) {
            free(snap);
            errno = err;
            return -1;
        }
        pthread_mutex_lock(&g_lock);
        d = find(fd);
        if (d == NULL) {
            pthread_mutex_unlock(&g_lock);
            free(snap);
            errno = EBADF;
            return -1;
        }
        if (snap[n].revents) {
            rd = read(d->fd, &drain, sizeof(drain));
            (void)rd;
        }
        out = report(d, snap, n, dvp);
        pthread_mutex_unlock(&g_lock);
        free(snap);
        if (out > 0 || r == 0 || ms == 0)
            return out;
        /* Only the set changed (or what fired was removed): again. */
    }
}

static int
dp_ispolled(int fd, struct pollfd *pfd)
{
    struct devpoll *d;
    int r = 0;

    if (pfd == NULL) {
        errno = EFAULT;
        return -1;
    }
    pthread_mutex_lock(&g_lock);
    d = find(fd);
    if (d == NULL || d->pid != getpid()) {
        pthread_mutex_unlock(&g_lock);
        errno = d == NULL ? EBADF : EACCES;
        return -1;
    }
    if (pfd->fd >= 0 && pfd->fd < d->nindex && d->index[pfd->fd] != 0) {
        pfd->revents = d->set[d->index[pfd->fd] - 1].events;
        r = 1;
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}

int
__wrap_ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    void *arg;

    va_start(ap, req);
    arg = va_arg(ap, void *);
    va_end(ap);
    if (!handle_p(fd))
        return __real_ioctl(fd, req, arg);
    switch (req) {
    case DP_POLL:
        return dp_poll(fd, arg);
    case DP_ISPOLLED:
        return dp_ispolled(fd, arg);
    }
    errno = EINVAL;
    return -1;
}

/*
 * evport-shim.c (tests only): the event ports of Solaris and illumos on
 * Linux, written from port_create(3C), port_associate(3C), port_get(3C),
 * port_send(3C) and port_alert(3C), so that backends/evport.c runs for
 * real in the test suite.
 *
 * A port is an eventfd (its fd is the port's fd, and it wakes a thread
 * blocked in port_get/port_getn when another thread associates, sends or
 * alerts).  PORT_SOURCE_FD associations live in a table indexed by fd;
 * port_getn() polls the associated fds with poll(2), which is what the
 * kernel does for them too ("the event types ... are described in
 * poll(2)").
 *
 * What the manuals promise and how the shim keeps it:
 *  - an association is one-shot: when its event is retrieved the object
 *    is no longer associated, and port_associate() must be called again;
 *    associating an associated object updates its events and user value;
 *  - port_getn() blocks until *nget events (the desired number) are
 *    available, the timeout expires (ETIME, with *nget set to the number
 *    actually returned, which may be non-zero), a signal arrives (EINTR)
 *    or the port is in alert mode; max == 0 only counts what is pending;
 *    *nget > max fails with EINVAL; NULL timeout waits forever, a zeroed
 *    one polls;
 *  - port_send() queues a PORT_SOURCE_USER event; port_alert() with
 *    PORT_ALERT_SET/UPDATE puts the port in alert mode (EBUSY for UPDATE
 *    when already), where every retrieval returns the one alert event,
 *    and events == 0 takes it out again;
 *  - closing a port removes its associations, and closing an fd removes
 *    the fd's associations (illumos does so in close(); the linker sends
 *    close, dup2 and dup3 here first with -Wl,--wrap=...);
 *  - errors: EBADF for a bad port, EBADFD for an fd object that is not
 *    open, ENOENT dissociating what is not associated, EACCES
 *    dissociating from a process that is not the association's owner.
 *
 * Invariants: all state is guarded by g_lock, which is never held while
 * waiting in poll(); assoc[fd].events != 0 exactly while fd is
 * associated with that port.
 */
#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <port.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int __real_close(int fd);
int __real_dup2(int oldfd, int newfd);
int __real_dup3(int oldfd, int newfd, int flags);
int __wrap_close(int fd);
int __wrap_dup2(int oldfd, int newfd);
int __wrap_dup3(int oldfd, int newfd, int flags);

struct assoc {
    int events; /* 0: not associated */
    void *user;
    pid_t owner;
};

struct port {
    struct port *next;
    int fd;
    struct assoc *assoc;
    int nassoc;
    int cursor; /* where the next scan starts, for fairness */
    /* PORT_SOURCE_USER events, a FIFO. */
    port_event_t *user;
    int nuser, auser;
    int alert;
    port_event_t alert_ev;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct port *ports;
static int nports; /* read without the lock by the close wrappers */

static struct port *
find_port(int fd)
{
    struct port *p;
    for (p = ports; p != NULL; p = p->next)
        if (p->fd == fd)
            return p;
    return NULL;
}

static void
wake(struct port *p)
{
    uint64_t one = 1;
    ssize_t r = write(p->fd, &one, sizeof(one));
    (void)r;
}

static void
destroy_port(struct port *p)
{
    struct port **pp;
    for (pp = &ports; *pp != NULL; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    __atomic_sub_fetch(&nports, 1, __ATOMIC_SEQ_CST);
    free(p->assoc);
    free(p->user);
    free(p);
}

static void
forget_fd(int fd)
{
    struct port *p, *next;

    pthread_mutex_lock(&g_lock);
    for (p = ports; p != NULL; p = next) {
        next = p->next;
        if (p->fd == fd)
            destroy_port(p);
        else if (fd >= 0 && fd < p->nassoc)
            p->assoc[fd].events = 0;
    }
    pthread_mutex_unlock(&g_lock);
}

int
__wrap_close(int fd)
{
    if (__atomic_load_n(&nports, __ATOMIC_SEQ_CST) > 0)
        forget_fd(fd);
    return __real_close(fd);
}

int
__wrap_dup2(int oldfd, int newfd)
{
    if (oldfd != newfd && __atomic_load_n(&nports, __ATOMIC_SEQ_CST) > 0 &&
        fcntl(oldfd, F_GETFD) != -1)
        forget_fd(newfd);
    return __real_dup2(oldfd, newfd);
}

int
__wrap_dup3(int oldfd, int newfd, int flags)
{
    if (oldfd != newfd && __atomic_load_n(&nports, __ATOMIC_SEQ_CST) > 0 &&
        fcntl(oldfd, F_GETFD) != -1)
        forget_fd(newfd);
    return __real_dup3(oldfd, newfd, flags);
}

int
port_create(void)
{
    struct port *p = calloc(1, sizeof(*p));
    struct port *stale;

    if (p == NULL) {
        errno = EAGAIN;
        return -1;
    }
    p->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->fd == -1) {
        int e = errno;
        free(p);
        errno = e;
        return -1;
    }
    pthread_mutex_lock(&g_lock);
    if ((stale = find_port(p->fd)) != NULL)
        destroy_port(stale);
    p->next = ports;
    ports = p;
    __atomic_add_fetch(&nports, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&g_lock);
    return p->fd;
}

/* Looks the port up and takes the lock; NULL (lock released, errno
 * set) when port is not an event port. */
static struct port *
lock_port(int port)
{
    struct port *p;
    pthread_mutex_lock(&g_lock);
    p = find_port(port);
    if (p == NULL) {
        pthread_mutex_unlock(&g_lock);
        errno = fcntl(port, F_GETFD) == -1 ? EBADF : EBADFD;
    }
    return p;
}

int
port_associate(int port, int source, uintptr_t object, int events,
    void *user)
{
    struct port *p;
    int fd = (int)object;

    if (source != PORT_SOURCE_FD) {
        /* PORT_SOURCE_FILE is not emulated. */
        errno = EINVAL;
        return -1;
    }
    if ((p = lock_port(port)) == NULL)
        return -1;
    if (object > INT32_MAX || fcntl(fd, F_GETFD) == -1) {
        pthread_mutex_unlock(&g_lock);
        errno = EBADFD;
        return -1;
    }
    if (fd >= p->nassoc) {
        int n = p->nassoc ? p->nassoc : 64;
        struct assoc *a;
        while (n <= fd)
            n *= 2;
        a = realloc(p->assoc, n * sizeof(*a));
        if (a == NULL) {
            pthread_mutex_unlock(&g_lock);
            errno = ENOMEM;
            return -1;
        }
        memset(a + p->nassoc, 0, (n - p->nassoc) * sizeof(*a));
        p->assoc = a;
        p->nassoc = n;
    }
    if (p->assoc[fd].events == 0)
        p->assoc[fd].owner = getpid();
    /* An association with no events still exists: poll() reports errors
     * and hang-ups whatever was asked. */
    p->assoc[fd].events = events | POLLNVAL;
    p->assoc[fd].user = user;
    wake(p);
    pthread_mutex_unlock(&g_lock);
    return 0;
}

int
port_dissociate(int port, int source, uintptr_t object)
{
    struct port *p;
    int fd = (int)object;

    if (source != PORT_SOURCE_FD) {
        errno = EINVAL;
        return -1;
    }
    if ((p = lock_port(port)) == NULL)
        return -1;
    if (object > INT32_MAX || fcntl(fd, F_GETFD) == -1) {
        pthread_mutex_unlock(&g_lock);
        errno = EBADFD;
        return -1;
    }
    if (fd >= p->nassoc || p->assoc[fd].events == 0) {
        pthread_mutex_unlock(&g_lock);
        errno = ENOENT;
        return -1;
    }
    if (p->assoc[fd].owner != getpid()) {
        pthread_mutex_unlock(&g_lock);
        errno = EACCES;
        return -1;
    }
    p->assoc[fd].events = 0;
    pthread_mutex_unlock(&g_lock);
    return 0;
}

int
port_send(int port, int events, void *user)
{
    struct port *p;

    if ((p = lock_port(port)) == NULL)
        return -1;
    if (p->nuser == p->auser) {
        int n = p->auser ? p->auser * 2 : 16;
        port_event_t *q = realloc(p->user, n * sizeof(*q));
        if (q == NULL) {
            pthread_mutex_unlock(&g_lock);
            errno = EAGAIN;
            return -1;
        }
        p->user = q;
        p->auser = n;
    }
    memset(&p->user[p->nuser], 0, sizeof(port_event_t));
    p->user[p->nuser].portev_events = events;
    p->user[p->nuser].portev_source = PORT_SOURCE_USER;
    p->user[p->nuser].portev_user = user;
    p->nuser++;
    wake(p);
    pthread_mutex_unlock(&g_lock);
    return 0;
}

int
port_alert(int port, int flags, int events, void *user)
{
    struct port *p;

    if (flags == (PORT_ALERT_SET | PORT_ALERT_UPDATE) ||
        (flags & ~(PORT_ALERT_SET | PORT_ALERT_UPDATE))) {
        errno = EINVAL;
        return -1;
    }
    if ((p = lock_port(port)) == NULL)
        return -1;
    if (events == 0) {
        p->alert = 0;
    } else if (flags == PORT_ALERT_UPDATE && p->alert) {
        pthread_mutex_unlock(&g_lock);
        errno = EBUSY;
        return -1;
    } else {
        p->alert = 1;
        memset(&p->alert_ev, 0, sizeof(p->alert_ev));
        p->alert_ev.portev_events = events;
        p->alert_ev.portev_source = PORT_SOURCE_ALERT;
        p->alert_ev.portev_object = (uintptr_t)port;
        p->alert_ev.portev_user = user;
        wake(p);
    }
    pthread_mutex_unlock(&g_lock);
    return 0;
}

/* Move up to max pending events into list: user events first, then fds
 * whose association fired, which are thereby dissociated.  With list
 * NULL, only counts.  Lock held. */
static unsigned
collect(struct port *p, port_event_t *list, unsigned max)
{
    struct pollfd *pfds;
    unsigned n = 0;
    int i, k, np = 0;

    if (list == NULL) {
        n = (unsigned)p->nuser < max ? (unsigned)p->nuser : max;
    } else {
        for (; n < max && p->nuser > 0; ++n) {
            list[n] = p->user[0];
            memmove(p->user, p->user + 1,
                (p->nuser - 1) * sizeof(port_event_t));
            p->nuser--;
        }
    }
    if (n == max || p->nassoc == 0)
        return n;
    /* One poll() over every association, starting at a cursor that moves
     * on each time so that low fds cannot starve high ones. */
    pfds = malloc(p->nassoc * sizeof(*pfds));
    if (pfds == NULL)
        return n;
    for (k = 0; k < p->nassoc; ++k) {
        i = (p->cursor + k) % p->nassoc;
        if (p->assoc[i].events == 0)
            continue;
        pfds[np].fd = i;
        pfds[np].events = (short)(p->assoc[i].events & ~POLLNVAL);
        pfds[np++].revents = 0;
    }
    if (np > 0 && poll(pfds, np, 0) > 0) {
        for (k = 0; k < np && n < max; ++k) {
            if (pfds[k].revents == 0)
                continue;
            i = pfds[k].fd;
            if (list != NULL) {
                memset(&list[n], 0, sizeof(list[n]));
                list[n].portev_events = pfds[k].revents;
                list[n].portev_source = PORT_SOURCE_FD;
                list[n].portev_object = (uintptr_t)i;
                list[n].portev_user = p->assoc[i].user;
                p->assoc[i].events = 0; /* one-shot */
            }
            ++n;
        }
    }
    free(pfds);
    if (list != NULL)
        p->cursor = (p->cursor + 1) % p->nassoc;
    return n;
}

static int64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int
port_getn(int port, port_event_t list[], unsigned int max,
    unsigned int *nget, const timespec_t *timeout)
{
    struct port *p;
    unsigned want, n = 0;
    int64_t deadline = 0;

    if (list == NULL || nget == NULL || (*nget > max && max > 0)) {
        errno = EINVAL;
        return -1;
    }
    if (timeout != NULL && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
                               timeout->tv_nsec > 1000000000L)) {
        errno = EINVAL;
        return -1;
    }
    if ((p = lock_port(port)) == NULL)
        return -1;
    if (max == 0) {
        *nget = p->alert ? 1 : collect(p, NULL, (unsigned)-1);
        pthread_mutex_unlock(&g_lock);
        return 0;
    }
    want = *nget;
    if (timeout != NULL)
        deadline = now_ns() + (int64_t)timeout->tv_sec * 1000000000 +
                   timeout->tv_nsec;
    for (;;) {
        struct pollfd *pfds;
        int i, np = 0, ms = -1, r, err;
        uint64_t drain;
        ssize_t rd;

        if (p->alert) {
            /* Alert mode: one alert event, whatever else is queued;
             * events already taken are still handed back. */
            if (n < max)
                list[n++] = p->alert_ev;
            *nget = n;
            pthread_mutex_unlock(&g_lock);
            return 0;
        }
        n += collect(p, list + n, max - n);
        if (n >= want || n == max) {
            *nget = n;
            pthread_mutex_unlock(&g_lock);
            return 0;
        }
        if (timeout != NULL) {
            int64_t left = deadline - now_ns();
            if (left <= 0) {
                *nget = n;
                pthread_mutex_unlock(&g_lock);
                errno = ETIME;
                return -1;
            }
            ms = (int)((left + 999999) / 1000000);
        }
        pfds = malloc((p->nassoc + 1) * sizeof(*pfds));
        if (pfds == NULL) {
            *nget = n;
            pthread_mutex_unlock(&g_lock);
            errno = ENOMEM;
            return -1;
        }
        pfds[np].fd = p->fd;
        pfds[np++].events = POLLIN;
        for (i = 0; i < p->nassoc; ++i)
            if (p->assoc[i].events != 0) {
                pfds[np].fd = i;
                pfds[np++].events =
                    (short)(p->assoc[i].events & ~POLLNVAL);
            }
        pthread_mutex_unlock(&g_lock);
        r = poll(pfds, np, ms);
        err = errno;
        free(pfds);
        pthread_mutex_lock(&g_lock);
        p = find_port(port);
        if (p == NULL) {
            /* "a port is closed by another thread" */
            pthread_mutex_unlock(&g_lock);
            *nget = n;
            errno = EBADF;
            return -1;
        }
        rd = read(p->fd, &drain, sizeof(drain));
        (void)rd;
        if (r == -1 && err == EINTR) {
            *nget = n;
            pthread_mutex_unlock(&g_lock);
            errno = EINTR;
            return -1;
        }
    }
}

int
port_get(int port, port_event_t *pe, const timespec_t *timeout)
{
    unsigned n = 1;
    if (pe == NULL) {
        errno = EFAULT;
        return -1;
    }
    return port_getn(port, pe, 1, &n, timeout);
}

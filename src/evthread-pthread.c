/*
 * evthread-pthread.c: evthread_use_pthreads(), the whole of
 * libevent_pthreads.
 *
 * Locks are pthread mutexes (recursive when EVTHREAD_LOCKTYPE_RECURSIVE is
 * asked for; libevent 2.1 never asks for read-write locks), conditions
 * are pthread condition variables timed against CLOCK_MONOTONIC so that
 * wall-clock jumps do not stretch or cut short a timed wait, and thread
 * ids come from pthread_self().
 *
 * This library links against libevent_core and may only use what that
 * exports: the evthread_set_* functions and event_mm_malloc_/event_mm_free_
 * (so event_set_mem_functions() also covers these allocations).
 */
#include "event2/event-config.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>

#include "event2/thread.h"
#include "mm-internal.h"

static pthread_mutexattr_t attr_recursive;

static void *
posix_lock_alloc(unsigned locktype)
{
    pthread_mutex_t *lock = event_mm_malloc_(sizeof(*lock));

    if (!lock)
        return NULL;
    if (pthread_mutex_init(lock, (locktype & EVTHREAD_LOCKTYPE_RECURSIVE)
                ? &attr_recursive
                : NULL) != 0) {
        event_mm_free_(lock);
        return NULL;
    }
    return lock;
}

static void
posix_lock_free(void *lock, unsigned locktype)
{
    (void)locktype;
    pthread_mutex_destroy(lock);
    event_mm_free_(lock);
}

static int
posix_lock(unsigned mode, void *lock)
{
    if (mode & EVTHREAD_TRY)
        return pthread_mutex_trylock(lock);
    return pthread_mutex_lock(lock);
}

static int
posix_unlock(unsigned mode, void *lock)
{
    (void)mode;
    return pthread_mutex_unlock(lock);
}

static unsigned long
posix_get_id(void)
{
    /* pthread_t is an unsigned long on glibc; stay correct if it is not. */
    union {
        pthread_t thr;
        unsigned long id;
    } r;

    memset(&r, 0, sizeof(r));
    r.thr = pthread_self();
    return r.id;
}

static void *
posix_cond_alloc(unsigned condflags)
{
    pthread_cond_t *cond = event_mm_malloc_(sizeof(*cond));
    pthread_condattr_t attr;
    int r;

    (void)condflags;
    if (!cond)
        return NULL;
    if (pthread_condattr_init(&attr) != 0) {
        event_mm_free_(cond);
        return NULL;
    }
    r = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (r == 0)
        r = pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
    if (r != 0) {
        event_mm_free_(cond);
        return NULL;
    }
    return cond;
}

static void
posix_cond_free(void *cond)
{
    pthread_cond_destroy(cond);
    event_mm_free_(cond);
}

static int
posix_cond_signal(void *cond, int broadcast)
{
    int r = broadcast ? pthread_cond_broadcast(cond)
                      : pthread_cond_signal(cond);

    return r ? -1 : 0;
}

/* Returns 0 when signalled, 1 on timeout, -1 on error. */
static int
posix_cond_wait(void *cond, void *lock, const struct timeval *tv)
{
    struct timespec deadline;
    int r;

    if (!tv)
        return pthread_cond_wait(cond, lock) ? -1 : 0;
    if (clock_gettime(CLOCK_MONOTONIC, &deadline) != 0)
        return -1;
    deadline.tv_sec += tv->tv_sec + tv->tv_usec / 1000000;
    deadline.tv_nsec += (tv->tv_usec % 1000000) * 1000;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec += 1;
        deadline.tv_nsec -= 1000000000L;
    } else if (deadline.tv_nsec < 0) {
        deadline.tv_sec -= 1;
        deadline.tv_nsec += 1000000000L;
    }
    r = pthread_cond_timedwait(cond, lock, &deadline);
    if (r == ETIMEDOUT)
        return 1;
    return r ? -1 : 0;
}

static int attr_init_result = -1;

static void
init_recursive_attr(void)
{
    if (pthread_mutexattr_init(&attr_recursive) != 0)
        return;
    if (pthread_mutexattr_settype(&attr_recursive, PTHREAD_MUTEX_RECURSIVE) !=
        0) {
        pthread_mutexattr_destroy(&attr_recursive);
        return;
    }
    attr_init_result = 0;
}

int
evthread_use_pthreads(void)
{
    static const struct evthread_lock_callbacks lock_cbs = {
        EVTHREAD_LOCK_API_VERSION, EVTHREAD_LOCKTYPE_RECURSIVE,
        posix_lock_alloc, posix_lock_free, posix_lock, posix_unlock};
    static const struct evthread_condition_callbacks cond_cbs = {
        EVTHREAD_CONDITION_API_VERSION, posix_cond_alloc, posix_cond_free,
        posix_cond_signal, posix_cond_wait};
    static pthread_once_t attr_once = PTHREAD_ONCE_INIT;

    pthread_once(&attr_once, init_recursive_attr);
    if (attr_init_result < 0)
        return -1;
    if (evthread_set_lock_callbacks(&lock_cbs) < 0)
        return -1;
    if (evthread_set_condition_callbacks(&cond_cbs) < 0)
        return -1;
    evthread_set_id_callback(posix_get_id);
    return 0;
}

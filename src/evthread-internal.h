/*
 * evthread-internal.h: locks, condition variables and thread ids, as the
 * rest of the library uses them.
 *
 * The callbacks set with evthread_set_lock_callbacks() and friends live in
 * the exported objects below.  They are exported (not hidden) because a
 * process may load both libevent-2.1.so.7 and libevent_core-2.1.so.7 (see
 * FACTS.md): libevent_pthreads must store its callbacks in the same copy
 * that the running event loop reads, and interposable exported data
 * guarantees that every reference binds to one copy.
 *
 * Invariants:
 *  - Until lock callbacks are set every lock variable is NULL, and each
 *    macro below costs one untaken branch.  A lock allocated with the
 *    callbacks stays valid for the life of the process: callbacks, once
 *    set, cannot be changed or removed.
 *  - With lock debugging on (evthread_enable_lock_debugging()), every
 *    lock is a wrapper that counts recursion and records its owner, and
 *    EVLOCK_ASSERT_LOCKED really checks; unlocking a lock the thread does
 *    not hold, or relocking a non-recursive one, is a fatal assertion.
 *  - Module-global locks (signal code, debug map) are created through
 *    EVTHREAD_SETUP_GLOBAL_LOCK from a `xxx_global_setup_locks_(const int
 *    enable_locks)` function that event_global_setup_locks_() calls each
 *    time threading or lock debugging is switched on, so a global lock
 *    made before debugging was enabled is wrapped rather than lost.
 *  - EVLOCK_LOCK2 takes two locks in address order; code that holds more
 *    than one lock at a time must use it (or the same order) to avoid
 *    deadlock.
 */
#ifndef EVTHREAD_INTERNAL_H_INCLUDED_
#define EVTHREAD_INTERNAL_H_INCLUDED_

#include "event2/event-config.h"
#include "event2/visibility.h"
#include "event2/thread.h"

#include <stdint.h>

#include "util-internal.h"

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;

/* The callbacks in use.  Read them only through the macros below. */
EVENT2_EXPORT_SYMBOL extern struct evthread_lock_callbacks evthread_lock_fns_;
EVENT2_EXPORT_SYMBOL
extern struct evthread_condition_callbacks evthread_cond_fns_;
EVENT2_EXPORT_SYMBOL extern unsigned long (*evthread_id_fn_)(void);
EVENT2_EXPORT_SYMBOL extern int evthread_lock_debugging_enabled_;

/* The calling thread's id, or 1 when no id callback is set. */
#define EVTHREAD_GET_ID() (evthread_id_fn_ ? evthread_id_fn_() : 1)

/* True when the calling thread owns base (or threads are not in use). */
#define EVBASE_IN_THREAD(base)                                                \
    (evthread_id_fn_ == NULL || (base)->th_owner_id == evthread_id_fn_())

/* True when base is looping in another thread, which must be woken up to
 * notice a change. */
#define EVBASE_NEED_NOTIFY(base)                                              \
    (evthread_id_fn_ != NULL && (base)->running_loop &&                       \
        (base)->th_owner_id != evthread_id_fn_())

/* Set lockvar to a new lock of locktype, or NULL when locking is off.
 * Usable as an expression; check the result where failure matters. */
#define EVTHREAD_ALLOC_LOCK(lockvar, locktype)                                \
    ((lockvar) = evthread_lock_fns_.alloc                                     \
            ? evthread_lock_fns_.alloc(locktype)                              \
            : NULL)

#define EVTHREAD_FREE_LOCK(lockvar, locktype)                                 \
    do {                                                                      \
        void *lock_tmp_ = (lockvar);                                          \
        if (lock_tmp_ && evthread_lock_fns_.free)                             \
            evthread_lock_fns_.free(lock_tmp_, (locktype));                   \
    } while (0)

/* mode: 0, or EVTHREAD_READ / EVTHREAD_WRITE for read-write locks. */
#define EVLOCK_LOCK(lockvar, mode)                                            \
    do {                                                                      \
        if (lockvar)                                                          \
            evthread_lock_fns_.lock((mode), (lockvar));                       \
    } while (0)

#define EVLOCK_UNLOCK(lockvar, mode)                                          \
    do {                                                                      \
        if (lockvar)                                                          \
            evthread_lock_fns_.unlock((mode), (lockvar));                     \
    } while (0)

/* Take two locks (possibly the same, possibly NULL) in address order. */
static inline void
evlock_lock2_(void *lock1, void *lock2, unsigned mode1, unsigned mode2)
{
    if ((uintptr_t)lock1 > (uintptr_t)lock2) {
        void *tl = lock1;
        unsigned tm = mode1;
        lock1 = lock2;
        lock2 = tl;
        mode1 = mode2;
        mode2 = tm;
    }
    EVLOCK_LOCK(lock1, mode1);
    if (lock2 != lock1)
        EVLOCK_LOCK(lock2, mode2);
}

static inline void
evlock_unlock2_(void *lock1, void *lock2, unsigned mode1, unsigned mode2)
{
    if ((uintptr_t)lock1 > (uintptr_t)lock2) {
        void *tl = lock1;
        unsigned tm = mode1;
        lock1 = lock2;
        lock2 = tl;
        mode1 = mode2;
        mode2 = tm;
    }
    if (lock2 != lock1)
        EVLOCK_UNLOCK(lock2, mode2);
    EVLOCK_UNLOCK(lock1, mode1);
}

#define EVLOCK_LOCK2(lock1, lock2, mode1, mode2)                              \
    evlock_lock2_((lock1), (lock2), (mode1), (mode2))
#define EVLOCK_UNLOCK2(lock1, lock2, mode1, mode2)                            \
    evlock_unlock2_((lock1), (lock2), (mode1), (mode2))

/* Lock or unlock the lock stored in field lockvar of base. */
#define EVBASE_ACQUIRE_LOCK(base, lockvar)                                    \
    do {                                                                      \
        EVLOCK_LOCK((base)->lockvar, 0);                                      \
    } while (0)
#define EVBASE_RELEASE_LOCK(base, lockvar)                                    \
    do {                                                                      \
        EVLOCK_UNLOCK((base)->lockvar, 0);                                    \
    } while (0)

/** With lock debugging, true if the calling thread holds lock (a debug
 * lock).  Exported for the add-on libraries' EVLOCK_ASSERT_LOCKED. */
EVENT2_EXPORT_SYMBOL
int evthread_is_debug_lock_held_(void *lock);

/** The real lock inside a debug lock (NULL when there is none). */
EVENT2_EXPORT_SYMBOL
void *evthread_debug_get_real_lock_(void *lock);

/* Fatal assertion, under lock debugging only, that this thread holds
 * lock. */
#define EVLOCK_ASSERT_LOCKED(lock)                                            \
    do {                                                                      \
        if ((lock) && evthread_lock_debugging_enabled_) {                     \
            EVUTIL_ASSERT(evthread_is_debug_lock_held_(lock));                \
        }                                                                     \
    } while (0)

/* Try to take lock without blocking: 1 if taken (or there is no lock),
 * 0 if another thread holds it. */
static inline int
EVLOCK_TRY_LOCK_(void *lock)
{
    if (lock && evthread_lock_fns_.lock) {
        int r = evthread_lock_fns_.lock(EVTHREAD_TRY, lock);
        return !r;
    }
    return 1;
}

/* Condition variables; NULL while no condition callbacks are set.
 * EVTHREAD_COND_WAIT* must be called with lock held; they return 0 when
 * signalled, 1 on timeout, -1 on error. */
#define EVTHREAD_ALLOC_COND(condvar)                                          \
    do {                                                                      \
        (condvar) = evthread_cond_fns_.alloc_condition                        \
            ? evthread_cond_fns_.alloc_condition(0)                           \
            : NULL;                                                           \
    } while (0)
#define EVTHREAD_FREE_COND(cond)                                              \
    do {                                                                      \
        if (cond)                                                             \
            evthread_cond_fns_.free_condition((cond));                        \
    } while (0)
#define EVTHREAD_COND_SIGNAL(cond)                                            \
    ((cond) ? evthread_cond_fns_.signal_condition((cond), 0) : 0)
#define EVTHREAD_COND_BROADCAST(cond)                                         \
    ((cond) ? evthread_cond_fns_.signal_condition((cond), 1) : 0)
#define EVTHREAD_COND_WAIT(cond, lock)                                        \
    ((cond) ? evthread_cond_fns_.wait_condition((cond), (lock), NULL) : 0)
#define EVTHREAD_COND_WAIT_TIMED(cond, lock, tv)                              \
    ((cond) ? evthread_cond_fns_.wait_condition((cond), (lock), (tv)) : 0)

/* True when lock callbacks are set (locks are real). */
#define EVTHREAD_LOCKING_ENABLED() (evthread_lock_fns_.lock != NULL)

/** Set up one module-global lock when threading or lock debugging is
 * switched on.  lock_ is the current lock (NULL the first time); returns
 * the lock to use from now on (possibly lock_ itself, or lock_ wrapped in
 * a debug lock), or NULL on failure.  enable_locks is 1 when lock
 * callbacks were just set, 0 when lock debugging was just enabled. */
EVENT2_EXPORT_SYMBOL
void *evthread_setup_global_lock_(void *lock_, unsigned locktype,
    int enable_locks);

/* Use inside `int xxx_global_setup_locks_(const int enable_locks)`:
 * (re)creates the global lockvar, and on failure warns and makes the
 * enclosing function return -1.  Note: reads `enable_locks` from the
 * enclosing function, as libevent's macro of this name does. */
#define EVTHREAD_SETUP_GLOBAL_LOCK(lockvar, locktype)                         \
    do {                                                                      \
        (lockvar) =                                                           \
            evthread_setup_global_lock_((lockvar), (locktype), enable_locks); \
        if (!(lockvar)) {                                                     \
            event_warn("Couldn't allocate %s", #lockvar);                     \
            return -1;                                                        \
        }                                                                     \
    } while (0)

/* The callbacks a user set, wherever they are kept (under lock debugging
 * the ones in use are the debug wrappers). */
EVENT2_EXPORT_SYMBOL
struct evthread_lock_callbacks *evthread_get_lock_callbacks(void);
EVENT2_EXPORT_SYMBOL
struct evthread_condition_callbacks *evthread_get_condition_callbacks(void);

/** Forget that lock debugging is on (libevent_global_shutdown); the debug
 * wrappers stay installed for locks that still exist. */
EVENT2_EXPORT_SYMBOL
void evthreadimpl_disable_lock_debugging_(void);

/* Global-lock setup, called by evthread.c each time lock callbacks are set
 * (enable_locks = 1) or lock debugging is enabled (0).  Each returns 0 or
 * -1.  event_global_setup_locks_ (the lead's, in src/event.c) calls
 * evsig_global_setup_locks_ (src/signal.c) and the two below. */
int event_global_setup_locks_(const int enable_locks);
EVENT2_EXPORT_SYMBOL
int evutil_global_setup_locks_(const int enable_locks);
EVENT2_EXPORT_SYMBOL
int evutil_secure_rng_global_setup_locks_(const int enable_locks);

#ifdef __cplusplus
}
#endif

#endif /* EVTHREAD_INTERNAL_H_INCLUDED_ */

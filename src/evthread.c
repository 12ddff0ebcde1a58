/*
 * evthread.c: installing lock, condition and thread-id callbacks, and the
 * lock-debugging wrappers (event2/thread.h, evthread-internal.h).
 *
 * Invariants:
 *  - Lock callbacks, once set, are never replaced or removed: locks made
 *    with them may exist anywhere.  Setting identical callbacks again is
 *    accepted (evthread_use_pthreads() may be called twice).
 *  - With debugging on, evthread_lock_fns_ holds the debug wrappers and
 *    the user's callbacks live in original_lock_fns; every lock in use
 *    is then a struct debug_lock around an (always recursive) real lock,
 *    or around nothing when no callbacks are set.
 *  - A debug lock's count and holder change only while its real lock is
 *    held; they are read without it (EVLOCK_ASSERT_LOCKED from another
 *    thread), so they are accessed atomically.
 */
#include "event2/event-config.h"

#include <string.h>

#include "event2/thread.h"
#include "evthread-internal.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

struct evthread_lock_callbacks evthread_lock_fns_;
struct evthread_condition_callbacks evthread_cond_fns_;
unsigned long (*evthread_id_fn_)(void);
int evthread_lock_debugging_enabled_;

/* The user's callbacks while debugging wraps them. */
static struct evthread_lock_callbacks original_lock_fns;
static struct evthread_condition_callbacks original_cond_fns;

struct evthread_lock_callbacks *
evthread_get_lock_callbacks(void)
{
    return evthread_lock_debugging_enabled_ ? &original_lock_fns
                                            : &evthread_lock_fns_;
}

struct evthread_condition_callbacks *
evthread_get_condition_callbacks(void)
{
    return evthread_lock_debugging_enabled_ ? &original_cond_fns
                                            : &evthread_cond_fns_;
}

void
evthread_set_id_callback(unsigned long (*id_fn)(void))
{
    evthread_id_fn_ = id_fn;
}

static int
lock_fns_empty(const struct evthread_lock_callbacks *cbs)
{
    return !cbs->alloc && !cbs->free && !cbs->lock && !cbs->unlock;
}

int
evthread_set_lock_callbacks(const struct evthread_lock_callbacks *cbs)
{
    struct evthread_lock_callbacks *target = evthread_get_lock_callbacks();

    if (!cbs || lock_fns_empty(cbs)) {
        /* Locks made with the old callbacks may exist: refuse. */
        if (target->alloc) {
            event_warnx("Can't disable lock callbacks once they have been "
                        "set up.");
            return -1;
        }
        return 0;
    }
    if (target->alloc) {
        if (target->lock_api_version == cbs->lock_api_version &&
            target->supported_locktypes == cbs->supported_locktypes &&
            target->alloc == cbs->alloc && target->free == cbs->free &&
            target->lock == cbs->lock && target->unlock == cbs->unlock)
            return 0;
        event_warnx("Can't change lock callbacks once they have been "
                    "initialized.");
        return -1;
    }
    if (!cbs->alloc || !cbs->free || !cbs->lock || !cbs->unlock)
        return -1;
    memcpy(target, cbs, sizeof(*target));
    return event_global_setup_locks_(1);
}

static int
cond_fns_empty(const struct evthread_condition_callbacks *cbs)
{
    return !cbs->alloc_condition && !cbs->free_condition &&
        !cbs->signal_condition && !cbs->wait_condition;
}

int
evthread_set_condition_callbacks(const struct evthread_condition_callbacks *cbs)
{
    struct evthread_condition_callbacks *target =
        evthread_get_condition_callbacks();

    if (!cbs || cond_fns_empty(cbs)) {
        if (target->alloc_condition) {
            event_warnx("Can't disable condition callbacks once they have "
                        "been set up.");
            return -1;
        }
        return 0;
    }
    if (target->alloc_condition) {
        if (target->condition_api_version == cbs->condition_api_version &&
            target->alloc_condition == cbs->alloc_condition &&
            target->free_condition == cbs->free_condition &&
            target->signal_condition == cbs->signal_condition &&
            target->wait_condition == cbs->wait_condition)
            return 0;
        event_warnx("Can't change condition callbacks once they have been "
                    "initialized.");
        return -1;
    }
    if (!cbs->alloc_condition || !cbs->free_condition ||
        !cbs->signal_condition || !cbs->wait_condition)
        return -1;
    memcpy(target, cbs, sizeof(*target));
    if (evthread_lock_debugging_enabled_) {
        /* Keep the debug wait (which unwraps the lock); use the rest. */
        evthread_cond_fns_.condition_api_version = cbs->condition_api_version;
        evthread_cond_fns_.alloc_condition = cbs->alloc_condition;
        evthread_cond_fns_.free_condition = cbs->free_condition;
        evthread_cond_fns_.signal_condition = cbs->signal_condition;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Lock debugging */

#define DEBUG_LOCK_SIG 0xdeb0b10cu
#define DEBUG_LOCK_DEAD 0x12300fdau

struct debug_lock {
    unsigned signature;
    unsigned locktype;
    /* Owner's thread id (0: none, or no id callback) and depth. */
    unsigned long held_by;
    int count;
    /* The real lock, always recursive; NULL without lock callbacks. */
    void *lock;
};

#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

static void *
debug_lock_alloc(unsigned locktype)
{
    struct debug_lock *dl = mm_malloc(sizeof(*dl));

    if (!dl)
        return NULL;
    dl->lock = NULL;
    if (original_lock_fns.alloc) {
        dl->lock =
            original_lock_fns.alloc(locktype | EVTHREAD_LOCKTYPE_RECURSIVE);
        if (!dl->lock) {
            mm_free(dl);
            return NULL;
        }
    }
    dl->signature = DEBUG_LOCK_SIG;
    dl->locktype = locktype;
    dl->held_by = 0;
    dl->count = 0;
    return dl;
}

static void
debug_lock_free(void *lock_, unsigned locktype)
{
    struct debug_lock *dl = lock_;

    EVUTIL_ASSERT(dl->signature == DEBUG_LOCK_SIG);
    EVUTIL_ASSERT(LOAD(&dl->count) == 0);
    EVUTIL_ASSERT(locktype == dl->locktype);
    if (dl->lock && original_lock_fns.free)
        original_lock_fns.free(dl->lock,
            dl->locktype | EVTHREAD_LOCKTYPE_RECURSIVE);
    dl->lock = NULL;
    dl->count = -100;
    dl->signature = DEBUG_LOCK_DEAD;
    mm_free(dl);
}

static void
check_mode(const struct debug_lock *dl, unsigned mode)
{
    if (dl->locktype & EVTHREAD_LOCKTYPE_READWRITE)
        EVUTIL_ASSERT(mode & (EVTHREAD_READ | EVTHREAD_WRITE));
    else
        EVUTIL_ASSERT((mode & (EVTHREAD_READ | EVTHREAD_WRITE)) == 0);
}

/* Record that this thread now holds dl (once more). */
static void
mark_locked(struct debug_lock *dl)
{
    int count = LOAD(&dl->count) + 1;

    EVUTIL_ASSERT(dl->signature == DEBUG_LOCK_SIG);
    STORE(&dl->count, count);
    if (!(dl->locktype & EVTHREAD_LOCKTYPE_RECURSIVE))
        EVUTIL_ASSERT(count == 1);
    if (evthread_id_fn_) {
        unsigned long me = evthread_id_fn_();
        if (count > 1)
            EVUTIL_ASSERT(LOAD(&dl->held_by) == me);
        STORE(&dl->held_by, me);
    }
}

/* Record one release; fatal if this thread does not hold dl. */
static void
mark_unlocked(struct debug_lock *dl, unsigned mode)
{
    int count = LOAD(&dl->count);

    EVUTIL_ASSERT(dl->signature == DEBUG_LOCK_SIG);
    check_mode(dl, mode);
    EVUTIL_ASSERT(count > 0);
    if (evthread_id_fn_) {
        EVUTIL_ASSERT(LOAD(&dl->held_by) == evthread_id_fn_());
        if (count == 1)
            STORE(&dl->held_by, 0UL);
    }
    STORE(&dl->count, count - 1);
}

static int
debug_lock_lock(unsigned mode, void *lock_)
{
    struct debug_lock *dl = lock_;
    int r = 0;

    EVUTIL_ASSERT(dl->signature == DEBUG_LOCK_SIG);
    check_mode(dl, mode);
    if (original_lock_fns.lock && dl->lock)
        r = original_lock_fns.lock(mode, dl->lock);
    if (r == 0)
        mark_locked(dl);
    return r;
}

static int
debug_lock_unlock(unsigned mode, void *lock_)
{
    struct debug_lock *dl = lock_;

    mark_unlocked(dl, mode);
    if (original_lock_fns.unlock && dl->lock)
        return original_lock_fns.unlock(mode, dl->lock);
    return 0;
}

static int
debug_cond_wait(void *cond, void *lock_, const struct timeval *tv)
{
    struct debug_lock *dl = lock_;
    int r;

    EVUTIL_ASSERT(dl && dl->signature == DEBUG_LOCK_SIG);
    EVUTIL_ASSERT(evthread_is_debug_lock_held_(dl));
    /* The wait releases and retakes the real lock: mirror that. */
    mark_unlocked(dl, 0);
    r = original_cond_fns.wait_condition(cond, dl->lock, tv);
    mark_locked(dl);
    return r;
}

int
evthread_is_debug_lock_held_(void *lock_)
{
    struct debug_lock *dl = lock_;

    if (LOAD(&dl->count) <= 0)
        return 0;
    if (evthread_id_fn_ && LOAD(&dl->held_by) != evthread_id_fn_())
        return 0;
    return 1;
}

void *
evthread_debug_get_real_lock_(void *lock_)
{
    struct debug_lock *dl = lock_;

    return dl->lock;
}

void
evthread_enable_lock_debugging(void)
{
    static const struct evthread_lock_callbacks debug_fns = {
        EVTHREAD_LOCK_API_VERSION, EVTHREAD_LOCKTYPE_RECURSIVE,
        debug_lock_alloc, debug_lock_free, debug_lock_lock, debug_lock_unlock};

    if (evthread_lock_debugging_enabled_)
        return;
    if (evthread_lock_fns_.alloc == debug_lock_alloc) {
        /* Re-enabled after evthreadimpl_disable_lock_debugging_(): the
         * wrappers are still installed; never wrap them twice. */
        evthread_lock_debugging_enabled_ = 1;
        return;
    }
    original_lock_fns = evthread_lock_fns_;
    evthread_lock_fns_ = debug_fns;
    original_cond_fns = evthread_cond_fns_;
    evthread_cond_fns_.wait_condition = debug_cond_wait;
    evthread_lock_debugging_enabled_ = 1;
    if (event_global_setup_locks_(0) < 0)
        event_warnx("Couldn't set up global locks for lock debugging");
}

/* The old, misspelled name. */
void
evthread_enable_lock_debuging(void)
{
    evthread_enable_lock_debugging();
}

void
evthreadimpl_disable_lock_debugging_(void)
{
    evthread_lock_debugging_enabled_ = 0;
}

/*
 * The four cases, by what just happened:
 *  debugging enabled, no lock callbacks:  a debug lock around nothing;
 *  debugging enabled, callbacks set:      wrap the existing real lock (or
 *                                         replace it if not recursive);
 *  callbacks set, no debugging:           a plain lock;
 *  callbacks set, debugging on:           give the debug lock a real one.
 */
void *
evthread_setup_global_lock_(void *lock_, unsigned locktype, int enable_locks)
{
    struct debug_lock *dl;

    if (!enable_locks && !original_lock_fns.alloc) {
        EVUTIL_ASSERT(lock_ == NULL);
        return debug_lock_alloc(locktype);
    }
    if (!enable_locks) {
        EVUTIL_ASSERT(lock_ != NULL);
        if (!(locktype & EVTHREAD_LOCKTYPE_RECURSIVE)) {
            /* The wrapper needs a recursive lock underneath. */
            original_lock_fns.free(lock_, locktype);
            return debug_lock_alloc(locktype);
        }
        dl = mm_malloc(sizeof(*dl));
        if (!dl) {
            original_lock_fns.free(lock_, locktype);
            return NULL;
        }
        dl->signature = DEBUG_LOCK_SIG;
        dl->locktype = locktype;
        dl->held_by = 0;
        dl->count = 0;
        dl->lock = lock_;
        return dl;
    }
    if (!evthread_lock_debugging_enabled_) {
        EVUTIL_ASSERT(lock_ == NULL);
        return evthread_lock_fns_.alloc(locktype);
    }
    dl = lock_ ? lock_ : debug_lock_alloc(locktype);
    if (!dl)
        return NULL;
    EVUTIL_ASSERT(dl->locktype == locktype);
    if (!dl->lock) {
        dl->lock =
            original_lock_fns.alloc(locktype | EVTHREAD_LOCKTYPE_RECURSIVE);
        if (!dl->lock) {
            dl->signature = DEBUG_LOCK_DEAD;
            mm_free(dl);
            return NULL;
        }
    }
    return dl;
}

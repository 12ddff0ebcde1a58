/*
 * event2/thread.h: making the library thread-safe.
 *
 * The library has no threading code of its own; it calls lock, condition
 * and thread-id functions that the program installs, either its own via
 * evthread_set_*_callbacks() or the pthreads ones via
 * evthread_use_pthreads() (in libevent_pthreads).  Install them before
 * creating any event_base.
 */
#ifndef EVENT2_THREAD_H_INCLUDED_
#define EVENT2_THREAD_H_INCLUDED_

/** @file event2/thread.h
 * Lock, condition and thread-id callbacks for multithreaded programs.
 */

#include <event2/visibility.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <event2/event-config.h>

/**
 * @name Lock modes
 * Passed to the lock and unlock callbacks.
 * @{
 */
/** Lock a read-write lock for writing. */
#define EVTHREAD_WRITE 0x04
/** Lock a read-write lock for reading. */
#define EVTHREAD_READ 0x08
/** Fail instead of blocking if the lock is held. */
#define EVTHREAD_TRY 0x10
/** @} */

#if !defined(EVENT__DISABLE_THREAD_SUPPORT)

/** The lock_api_version to put in struct evthread_lock_callbacks. */
#define EVTHREAD_LOCK_API_VERSION 1

/**
 * @name Lock types
 * Passed to the alloc and free callbacks.
 * @{
 */
/** A lock the holding thread may take again. */
#define EVTHREAD_LOCKTYPE_RECURSIVE 1
/** A read-write lock. */
#define EVTHREAD_LOCKTYPE_READWRITE 2
/** @} */

/** The lock functions the library calls. */
struct evthread_lock_callbacks {
    /** Must be EVTHREAD_LOCK_API_VERSION. */
    int lock_api_version;
    /** The EVTHREAD_LOCKTYPE_* bits supported; 0 means plain mutexes. */
    unsigned supported_locktypes;
    /** Create a lock of the given type; NULL on failure. */
    void *(*alloc)(unsigned locktype);
    /** Destroy a lock made by alloc. */
    void (*free)(void *lock, unsigned locktype);
    /** Take a lock with EVTHREAD_* mode bits; 0 on success. */
    int (*lock)(unsigned mode, void *lock);
    /** Release a lock; 0 on success. */
    int (*unlock)(unsigned mode, void *lock);
};

/**
 * Install lock callbacks (copied).  Passing NULL, or the same callbacks
 * again, is allowed; replacing callbacks that are in use is not.
 * Returns 0 on success, -1 on failure.
 */
EVENT2_EXPORT_SYMBOL
int evthread_set_lock_callbacks(const struct evthread_lock_callbacks *);

/** The condition_api_version for struct evthread_condition_callbacks. */
#define EVTHREAD_CONDITION_API_VERSION 1

struct timeval;

/** The condition-variable functions the library calls. */
struct evthread_condition_callbacks {
    /** Must be EVTHREAD_CONDITION_API_VERSION. */
    int condition_api_version;
    /** Create a condition (condtype is 0); NULL on failure. */
    void *(*alloc_condition)(unsigned condtype);
    /** Destroy a condition. */
    void (*free_condition)(void *cond);
    /** Wake one waiter, or all when broadcast is nonzero; 0 on success. */
    int (*signal_condition)(void *cond, int broadcast);
    /**
     * Release lock, wait for cond (at most timeout, NULL: forever) and
     * retake lock.  Returns 0 when signalled, 1 on timeout, -1 on error.
     */
    int (*wait_condition)(void *cond, void *lock,
        const struct timeval *timeout);
};

/**
 * Install condition callbacks (copied).  Lock callbacks are needed too.
 * Returns 0 on success, -1 on failure.
 */
EVENT2_EXPORT_SYMBOL
int evthread_set_condition_callbacks(
    const struct evthread_condition_callbacks *);

/** Install the function returning the calling thread's id. */
EVENT2_EXPORT_SYMBOL
void evthread_set_id_callback(unsigned long (*id_fn)(void));

#if defined(_WIN32) && !defined(EVENT__DISABLE_THREAD_SUPPORT)
/** Install Windows lock, condition and id callbacks.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int evthread_use_windows_threads(void);
/** Defined when evthread_use_windows_threads() is available. */
#define EVTHREAD_USE_WINDOWS_THREADS_IMPLEMENTED 1
#endif

#if defined(EVENT__HAVE_PTHREADS)
/**
 * Install pthreads lock, condition and id callbacks.  Defined in
 * libevent_pthreads.  Returns 0 on success, -1 on failure.
 */
EVENT2_EXPORT_SYMBOL
int evthread_use_pthreads(void);
/** Defined when evthread_use_pthreads() is available. */
#define EVTHREAD_USE_PTHREADS_IMPLEMENTED 1
#endif

/**
 * Wrap the installed lock callbacks with checks that catch unbalanced or
 * misused locks (they abort).  Call right after installing the callbacks.
 */
EVENT2_EXPORT_SYMBOL
void evthread_enable_lock_debugging(void);

/** Misspelled old name of evthread_enable_lock_debugging(). */
EVENT2_EXPORT_SYMBOL
void evthread_enable_lock_debuging(void);

#endif /* !EVENT__DISABLE_THREAD_SUPPORT */

struct event_base;

/**
 * Let other threads wake @p base's loop when they add or activate its
 * events (usually done automatically when locking is on).
 * Returns 0 on success, -1 on failure.
 */
EVENT2_EXPORT_SYMBOL
int evthread_make_base_notifiable(struct event_base *base);

#ifdef __cplusplus
}
#endif

#endif /* EVENT2_THREAD_H_INCLUDED_ */

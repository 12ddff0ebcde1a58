/*
 * evthread-win32.c: evthread_use_windows_threads(), built into the core
 * DLL on Windows (libevent has no separate threads library there).  Empty
 * elsewhere.
 *
 * Locks are CRITICAL_SECTIONs, which are always recursive, so every lock
 * type libevent 2.1 asks for (plain or EVTHREAD_LOCKTYPE_RECURSIVE) is
 * served; read-write locks are not offered.  Conditions are Vista's
 * CONDITION_VARIABLEs slept on with SleepConditionVariableCS, whose
 * timeout is relative, so wall-clock jumps do not affect it.  Thread ids
 * come from GetCurrentThreadId().
 *
 * Allocation goes through mm_malloc/mm_free, so event_set_mem_functions()
 * covers it.
 */
#include "event2/event-config.h"

#ifdef _WIN32

#include <windows.h>

#include "event2/thread.h"
#include "mm-internal.h"
#include "util-internal.h"

/* Spin a little before sleeping: the base lock is held only briefly. */
#define SPIN_COUNT 2000

static void *
win32_lock_alloc(unsigned locktype)
{
    CRITICAL_SECTION *lock = mm_malloc(sizeof(*lock));

    (void)locktype;
    if (!lock)
        return NULL;
    if (!InitializeCriticalSectionAndSpinCount(lock, SPIN_COUNT)) {
        mm_free(lock);
        return NULL;
    }
    return lock;
}

static void
win32_lock_free(void *lock, unsigned locktype)
{
    (void)locktype;
    DeleteCriticalSection(lock);
    mm_free(lock);
}

/* Returns 0 when taken; with EVTHREAD_TRY, 1 when another thread holds
 * it. */
static int
win32_lock(unsigned mode, void *lock)
{
    if (mode & EVTHREAD_TRY)
        return TryEnterCriticalSection(lock) ? 0 : 1;
    EnterCriticalSection(lock);
    return 0;
}

static int
win32_unlock(unsigned mode, void *lock)
{
    (void)mode;
    LeaveCriticalSection(lock);
    return 0;
}

static unsigned long
win32_get_id(void)
{
    return (unsigned long)GetCurrentThreadId();
}

static void *
win32_cond_alloc(unsigned condflags)
{
    CONDITION_VARIABLE *cond = mm_malloc(sizeof(*cond));

    (void)condflags;
    if (!cond)
        return NULL;
    InitializeConditionVariable(cond);
    return cond;
}

static void
win32_cond_free(void *cond)
{
    /* CONDITION_VARIABLEs hold no resources. */
    mm_free(cond);
}

static int
win32_cond_signal(void *cond, int broadcast)
{
    if (broadcast)
        WakeAllConditionVariable(cond);
    else
        WakeConditionVariable(cond);
    return 0;
}

/* Returns 0 when signalled (or woken spuriously, as POSIX allows), 1 on
 * timeout, -1 on error.  lock must be held (once) by the caller. */
static int
win32_cond_wait(void *cond, void *lock, const struct timeval *tv)
{
    DWORD ms = INFINITE;

    if (tv) {
        long m = evutil_tv_to_msec_(tv);
        /* INFINITE is 0xffffffff: cap just below it. */
        ms = m < 0 ? 0 : (DWORD)m;
        if (ms == INFINITE)
            ms = INFINITE - 1;
    }
    if (SleepConditionVariableCS(cond, lock, ms))
        return 0;
    return GetLastError() == ERROR_TIMEOUT ? 1 : -1;
}

int
evthread_use_windows_threads(void)
{
    static const struct evthread_lock_callbacks lock_cbs = {
        EVTHREAD_LOCK_API_VERSION,
        EVTHREAD_LOCKTYPE_RECURSIVE,
        win32_lock_alloc,
        win32_lock_free,
        win32_lock,
        win32_unlock};
    static const struct evthread_condition_callbacks cond_cbs = {
        EVTHREAD_CONDITION_API_VERSION, win32_cond_alloc, win32_cond_free,
        win32_cond_signal, win32_cond_wait};

    if (evthread_set_lock_callbacks(&lock_cbs) < 0)
        return -1;
    if (evthread_set_condition_callbacks(&cond_cbs) < 0)
        return -1;
    evthread_set_id_callback(win32_get_id);
    return 0;
}

#endif /* _WIN32 */

/*
 * test-evthread.c: lock, condition and thread-id callbacks, the lock
 * macros of evthread-internal.h, evthread_use_pthreads(), and lock
 * debugging.
 *
 * TEST-STATIC (uses the internal lock macros)
 * TEST-THREADS
 *
 * Thread support cannot be switched off again once on, so scenarios that
 * need a pristine process (defaults, lock debugging, fatal assertions)
 * run in a fresh copy of this program: "test-evthread --child NAME".
 */
#include "event2/event-config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <event2/util.h>

#include "evthread-internal.h"
#include "log-internal.h"
#include "util-internal.h"

static const char *self_path;

static long
ms_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)((now.tv_sec - start->tv_sec) * 1000 +
        (now.tv_nsec - start->tv_nsec) / 1000000);
}

/* ------------------------------------------------------------------ */
/* Child scenarios: plain C, exit 0 on success */

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "CHECK failed: %s (line %d)\n", #cond,          \
                __LINE__);                                                    \
            exit(99);                                                         \
        }                                                                     \
    } while (0)

static void *
dummy_alloc(unsigned t)
{
    (void)t;
    return NULL;
}

static int
child_defaults(void)
{
    void *lock = (void *)1, *cond = (void *)1;

    CHECK(!EVTHREAD_LOCKING_ENABLED());
    CHECK(EVTHREAD_GET_ID() == 1);
    EVTHREAD_ALLOC_LOCK(lock, EVTHREAD_LOCKTYPE_RECURSIVE);
    CHECK(lock == NULL);
    EVLOCK_LOCK(lock, 0);
    EVLOCK_UNLOCK(lock, 0);
    EVLOCK_LOCK2(lock, lock, 0, 0);
    EVLOCK_UNLOCK2(lock, lock, 0, 0);
    EVLOCK_ASSERT_LOCKED(lock);
    CHECK(EVLOCK_TRY_LOCK_(lock) == 1);
    EVTHREAD_FREE_LOCK(lock, 0);
    EVTHREAD_ALLOC_COND(cond);
    CHECK(cond == NULL);
    CHECK(EVTHREAD_COND_SIGNAL(cond) == 0);
    CHECK(EVTHREAD_COND_BROADCAST(cond) == 0);
    CHECK(EVTHREAD_COND_WAIT(cond, lock) == 0);
    EVTHREAD_FREE_COND(cond);
    /* Disabling what was never enabled is fine. */
    CHECK(evthread_set_lock_callbacks(NULL) == 0);
    CHECK(evthread_set_condition_callbacks(NULL) == 0);
    /* Incomplete callbacks are refused. */
    {
        struct evthread_lock_callbacks cbs;
        memset(&cbs, 0, sizeof(cbs));
        CHECK(evthread_set_lock_callbacks(&cbs) == 0);
        cbs.alloc = dummy_alloc;
        CHECK(evthread_set_lock_callbacks(&cbs) == -1);
        CHECK(!EVTHREAD_LOCKING_ENABLED());
    }
    return 0;
}

static void *
lock_in_thread(void *lock)
{
    EVLOCK_LOCK(lock, 0);
    return NULL;
}

/* A thread that holds a lock until told to let go. */
struct holder {
    void *lock;
    sem_t locked, release;
};

static void *
hold_lock_thread(void *arg)
{
    struct holder *h = arg;
    EVLOCK_LOCK(h->lock, 0);
    sem_post(&h->locked);
    while (sem_wait(&h->release) < 0 && errno == EINTR)
        ;
    EVLOCK_UNLOCK(h->lock, 0);
    return NULL;
}

/* Debugging on top of pthreads: the normal paths all work. */
static int
child_debug_ok(void)
{
    void *lock = NULL, *rlock = NULL, *cond = NULL;
    struct timeval tv = {0, 20000};
    struct timespec start;

    CHECK(evthread_use_pthreads() == 0);
    evthread_enable_lock_debugging();
    evthread_enable_lock_debugging();
    CHECK(evthread_lock_debugging_enabled_);
    EVTHREAD_ALLOC_LOCK(lock, 0);
    EVTHREAD_ALLOC_LOCK(rlock, EVTHREAD_LOCKTYPE_RECURSIVE);
    CHECK(lock && rlock);
    CHECK(evthread_debug_get_real_lock_(lock) != NULL);
    CHECK(!evthread_is_debug_lock_held_(lock));
    EVLOCK_LOCK(lock, 0);
    CHECK(evthread_is_debug_lock_held_(lock));
    EVLOCK_ASSERT_LOCKED(lock);
    EVLOCK_UNLOCK(lock, 0);
    CHECK(!evthread_is_debug_lock_held_(lock));
    EVLOCK_LOCK(rlock, 0);
    EVLOCK_LOCK(rlock, 0);
    EVLOCK_ASSERT_LOCKED(rlock);
    EVLOCK_UNLOCK(rlock, 0);
    EVLOCK_ASSERT_LOCKED(rlock);
    EVLOCK_UNLOCK(rlock, 0);
    CHECK(EVLOCK_TRY_LOCK_(lock) == 1);
    EVLOCK_UNLOCK(lock, 0);
    EVLOCK_LOCK2(lock, rlock, 0, 0);
    EVLOCK_ASSERT_LOCKED(lock);
    EVLOCK_ASSERT_LOCKED(rlock);
    EVLOCK_UNLOCK2(lock, rlock, 0, 0);
    /* A timed wait gives the lock back and takes it again. */
    EVTHREAD_ALLOC_COND(cond);
    CHECK(cond != NULL);
    EVLOCK_LOCK(lock, 0);
    clock_gettime(CLOCK_MONOTONIC, &start);
    CHECK(EVTHREAD_COND_WAIT_TIMED(cond, lock, &tv) == 1);
    CHECK(ms_since(&start) >= 15);
    EVLOCK_ASSERT_LOCKED(lock);
    EVLOCK_UNLOCK(lock, 0);
    /* Held by another thread: not held by us. */
    {
        struct holder h;
        pthread_t th;
        h.lock = lock;
        sem_init(&h.locked, 0, 0);
        sem_init(&h.release, 0, 0);
        CHECK(pthread_create(&th, NULL, hold_lock_thread, &h) == 0);
        while (sem_wait(&h.locked) < 0 && errno == EINTR)
            ;
        CHECK(!evthread_is_debug_lock_held_(lock));
        CHECK(EVLOCK_TRY_LOCK_(lock) == 0);
        sem_post(&h.release);
        pthread_join(th, NULL);
        CHECK(EVLOCK_TRY_LOCK_(lock) == 1);
        EVLOCK_UNLOCK(lock, 0);
        sem_destroy(&h.locked);
        sem_destroy(&h.release);
    }
    EVTHREAD_FREE_COND(cond);
    EVTHREAD_FREE_LOCK(lock, 0);
    EVTHREAD_FREE_LOCK(rlock, EVTHREAD_LOCKTYPE_RECURSIVE);
    return 0;
}

/* Debugging first, pthreads after: locks made afterwards are real. */
static int
child_debug_then_pthreads(void)
{
    void *lock = NULL;

    evthread_enable_lock_debuging();
    CHECK(evthread_lock_debugging_enabled_);
    EVTHREAD_ALLOC_LOCK(lock, 0);
    CHECK(lock != NULL);
    CHECK(evthread_debug_get_real_lock_(lock) == NULL);
    EVLOCK_LOCK(lock, 0);
    EVLOCK_ASSERT_LOCKED(lock);
    EVLOCK_UNLOCK(lock, 0);
    EVTHREAD_FREE_LOCK(lock, 0);
    CHECK(evthread_use_pthreads() == 0);
    EVTHREAD_ALLOC_LOCK(lock, 0);
    CHECK(evthread_debug_get_real_lock_(lock) != NULL);
    EVLOCK_LOCK(lock, 0);
    EVLOCK_ASSERT_LOCKED(lock);
    EVLOCK_UNLOCK(lock, 0);
    EVTHREAD_FREE_LOCK(lock, 0);
    /* The secure RNG's global lock was upgraded on the way. */
    {
        char buf[8];
        evutil_secure_rng_add_bytes("x", 1);
        evutil_secure_rng_get_bytes(buf, sizeof(buf));
    }
    return 0;
}

static void *debug_counter_lock;
static long debug_counter;

static void *
debug_counter_thread(void *arg)
{
    int i;
    (void)arg;
    for (i = 0; i < 20000; i++) {
        EVLOCK_LOCK(debug_counter_lock, 0);
        EVLOCK_ASSERT_LOCKED(debug_counter_lock);
        debug_counter++;
        EVLOCK_UNLOCK(debug_counter_lock, 0);
    }
    return NULL;
}

/* Debug locks under contention: exclusion holds and the bookkeeping
 * never trips. */
static int
child_debug_contention(void)
{
    pthread_t th[4];
    int i;

    CHECK(evthread_use_pthreads() == 0);
    evthread_enable_lock_debugging();
    EVTHREAD_ALLOC_LOCK(debug_counter_lock, 0);
    for (i = 0; i < 4; i++)
        CHECK(pthread_create(&th[i], NULL, debug_counter_thread, NULL) == 0);
    for (i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    CHECK(debug_counter == 80000);
    EVTHREAD_FREE_LOCK(debug_counter_lock, 0);
    return 0;
}

/* Lock debugging with no lock callbacks at all (as upstream's regression
 * suite runs): bases still work, with debug locks and no conditions.  A
 * timer and a socketpair read run; an event is deleted and the base
 * freed. */
static void
count_cb(evutil_socket_t fd, short what, void *arg)
{
    char c;
    if (what & EV_READ)
        CHECK(read(fd, &c, 1) == 1);
    ++*(int *)arg;
}

static int
child_debug_base_no_threads(void)
{
    struct timeval tv = {0, 1000};
    struct event_base *base;
    struct event *t, *r;
    evutil_socket_t p[2];
    int n = 0;

    evthread_enable_lock_debugging();
    base = event_base_new();
    CHECK(base != NULL);
    CHECK(evutil_socketpair(AF_UNIX, SOCK_STREAM, 0, p) == 0);
    t = evtimer_new(base, count_cb, &n);
    r = event_new(base, p[0], EV_READ | EV_PERSIST, count_cb, &n);
    CHECK(t && r);
    CHECK(evtimer_add(t, &tv) == 0 && event_add(r, NULL) == 0);
    CHECK(write(p[1], "x", 1) == 1);
    while (n < 2)
        CHECK(event_base_loop(base, EVLOOP_ONCE) == 0);
    CHECK(event_del(r) == 0);
    CHECK(event_base_loop(base, 0) == 1);
    event_free(t);
    event_free(r);
    event_base_free(base);
    evutil_closesocket(p[0]);
    evutil_closesocket(p[1]);
    return 0;
}

/* Each of these must die with an assertion. */
static int
child_unlock_unheld(void)
{
    void *lock = NULL;
    CHECK(evthread_use_pthreads() == 0);
    evthread_enable_lock_debugging();
    EVTHREAD_ALLOC_LOCK(lock, 0);
    EVLOCK_UNLOCK(lock, 0);
    return 0;
}

static int
child_double_lock(void)
{
    void *lock = NULL;
    CHECK(evthread_use_pthreads() == 0);
    evthread_enable_lock_debugging();
    EVTHREAD_ALLOC_LOCK(lock, 0);
    EVLOCK_LOCK(lock, 0);
    EVLOCK_LOCK(lock, 0);
    return 0;
}

static int
child_assert_unheld(void)
{
    void *lock = NULL;
    evthread_enable_lock_debugging();
    CHECK(evthread_use_pthreads() == 0);
    EVTHREAD_ALLOC_LOCK(lock, 0);
    EVLOCK_ASSERT_LOCKED(lock);
    return 0;
}

static int
child_unlock_other_thread(void)
{
    void *lock = NULL;
    pthread_t th;
    CHECK(evthread_use_pthreads() == 0);
    evthread_enable_lock_debugging();
    EVTHREAD_ALLOC_LOCK(lock, EVTHREAD_LOCKTYPE_RECURSIVE);
    CHECK(pthread_create(&th, NULL, lock_in_thread, lock) == 0);
    pthread_join(th, NULL);
    EVLOCK_UNLOCK(lock, 0);
    return 0;
}

static int
child_free_held(void)
{
    void *lock = NULL;
    evthread_enable_lock_debugging();
    EVTHREAD_ALLOC_LOCK(lock, 0);
    EVLOCK_LOCK(lock, 0);
    EVTHREAD_FREE_LOCK(lock, 0);
    return 0;
}

static const struct {
    const char *name;
    int (*fn)(void);
} children[] = {
    {"defaults", child_defaults},
    {"debug_ok", child_debug_ok},
    {"debug_then_pthreads", child_debug_then_pthreads},
    {"debug_contention", child_debug_contention},
    {"debug_base_no_threads", child_debug_base_no_threads},
    {"unlock_unheld", child_unlock_unheld},
    {"double_lock", child_double_lock},
    {"assert_unheld", child_assert_unheld},
    {"unlock_other_thread", child_unlock_other_thread},
    {"free_held", child_free_held},
};

/* Run a scenario in a fresh process; returns its wait status and its
 * stderr in out. */
static int
run_child(const char *name, char *out, size_t outlen)
{
    int p[2], status = 0;
    size_t got = 0;
    ssize_t r;
    pid_t pid;

    assert_int_equal(pipe(p), 0);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 2);
        close(p[1]);
        execl(self_path, self_path, "--child", name, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    while (got + 1 < outlen &&
        (r = read(p[0], out + got, outlen - 1 - got)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        assert_true(r > 0);
        got += (size_t)r;
    }
    out[got] = '\0';
    close(p[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void
expect_child_ok(const char *name)
{
    char out[4096];
    int status = run_child(name, out, sizeof(out));

    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("child %s failed (status %#x): %s", name, status, out);
}

static void
expect_child_asserts(const char *name)
{
    char out[4096];
    int status = run_child(name, out, sizeof(out));

    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
        fail_msg("child %s did not abort (status %#x): %s", name, status,
            out);
    if (!strstr(out, "Assertion"))
        fail_msg("child %s: no assertion message: %s", name, out);
}

static void
test_defaults_are_no_ops(void **state)
{
    (void)state;
    expect_child_ok("defaults");
}

static void
test_lock_debugging_normal_use(void **state)
{
    (void)state;
    expect_child_ok("debug_ok");
    expect_child_ok("debug_then_pthreads");
    expect_child_ok("debug_contention");
    expect_child_ok("debug_base_no_threads");
}

static void
test_lock_debugging_catches_misuse(void **state)
{
    (void)state;
    expect_child_asserts("unlock_unheld");
    expect_child_asserts("double_lock");
    expect_child_asserts("assert_unheld");
    expect_child_asserts("unlock_other_thread");
    expect_child_asserts("free_held");
}

/* ------------------------------------------------------------------ */
/* In-process tests (pthreads on) */

static void
test_use_pthreads(void **state)
{
    struct evthread_lock_callbacks other, same;
    struct evthread_condition_callbacks cother;

    (void)state;
    assert_int_equal(evthread_use_pthreads(), 0);
    assert_true(EVTHREAD_LOCKING_ENABLED());
    /* Again: identical callbacks are accepted. */
    assert_int_equal(evthread_use_pthreads(), 0);
    same = *evthread_get_lock_callbacks();
    assert_int_equal(evthread_set_lock_callbacks(&same), 0);
    /* Different ones, or none, are refused: locks exist. */
    other = same;
    other.alloc = dummy_alloc;
    assert_int_equal(evthread_set_lock_callbacks(&other), -1);
    assert_int_equal(evthread_set_lock_callbacks(NULL), -1);
    memset(&other, 0, sizeof(other));
    assert_int_equal(evthread_set_lock_callbacks(&other), -1);
    assert_true(EVTHREAD_LOCKING_ENABLED());
    assert_ptr_equal(evthread_lock_fns_.alloc, same.alloc);
    cother = *evthread_get_condition_callbacks();
    assert_int_equal(evthread_set_condition_callbacks(&cother), 0);
    cother.wait_condition = NULL;
    assert_int_equal(evthread_set_condition_callbacks(&cother), -1);
    assert_int_equal(evthread_set_condition_callbacks(NULL), -1);
    assert_non_null(evthread_cond_fns_.wait_condition);
}

static void *
try_lock_thread(void *lock)
{
    intptr_t got = EVLOCK_TRY_LOCK_(lock);
    if (got)
        EVLOCK_UNLOCK(lock, 0);
    return (void *)got;
}

static intptr_t
try_from_other_thread(void *lock)
{
    pthread_t th;
    void *res;
    assert_int_equal(pthread_create(&th, NULL, try_lock_thread, lock), 0);
    assert_int_equal(pthread_join(th, &res), 0);
    return (intptr_t)res;
}

static void
test_recursive_lock(void **state)
{
    void *lock = NULL;

    (void)state;
    EVTHREAD_ALLOC_LOCK(lock, EVTHREAD_LOCKTYPE_RECURSIVE);
    assert_non_null(lock);
    EVLOCK_LOCK(lock, 0);
    EVLOCK_LOCK(lock, 0);
    assert_int_equal(EVLOCK_TRY_LOCK_(lock), 1);
    assert_int_equal(try_from_other_thread(lock), 0);
    EVLOCK_UNLOCK(lock, 0);
    EVLOCK_UNLOCK(lock, 0);
    assert_int_equal(try_from_other_thread(lock), 0);
    EVLOCK_UNLOCK(lock, 0);
    assert_int_equal(try_from_other_thread(lock), 1);
    EVTHREAD_FREE_LOCK(lock, EVTHREAD_LOCKTYPE_RECURSIVE);

    /* A plain lock cannot be taken twice. */
    EVTHREAD_ALLOC_LOCK(lock, 0);
    EVLOCK_LOCK(lock, 0);
    assert_int_equal(EVLOCK_TRY_LOCK_(lock), 0);
    EVLOCK_UNLOCK(lock, 0);
    EVTHREAD_FREE_LOCK(lock, 0);
}

#define N_THREADS 4
#define N_ROUNDS 50000

static void *lock_a, *lock_b;
static long counter;

static void *
contend(void *arg)
{
    int i, rev = (int)(intptr_t)arg & 1;
    for (i = 0; i < N_ROUNDS; i++) {
        /* Half the threads name the locks in the other order. */
        if (rev)
            EVLOCK_LOCK2(lock_b, lock_a, 0, 0);
        else
            EVLOCK_LOCK2(lock_a, lock_b, 0, 0);
        counter++;
        if (rev)
            EVLOCK_UNLOCK2(lock_b, lock_a, 0, 0);
        else
            EVLOCK_UNLOCK2(lock_a, lock_b, 0, 0);
    }
    return NULL;
}

static void
test_lock_contention_and_lock2(void **state)
{
    pthread_t th[N_THREADS];
    intptr_t i;

    (void)state;
    EVTHREAD_ALLOC_LOCK(lock_a, 0);
    EVTHREAD_ALLOC_LOCK(lock_b, 0);
    assert_true(lock_a && lock_b);
    counter = 0;
    for (i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, contend, (void *)i), 0);
    for (i = 0; i < N_THREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(counter, (long)N_THREADS * N_ROUNDS);
    /* The same lock twice is taken once. */
    EVLOCK_LOCK2(lock_a, lock_a, 0, 0);
    assert_int_equal(try_from_other_thread(lock_a), 0);
    EVLOCK_UNLOCK2(lock_a, lock_a, 0, 0);
    assert_int_equal(try_from_other_thread(lock_a), 1);
    /* One of them NULL. */
    EVLOCK_LOCK2(lock_a, NULL, 0, 0);
    EVLOCK_UNLOCK2(NULL, lock_a, 0, 0);
    assert_int_equal(try_from_other_thread(lock_a), 1);
    EVTHREAD_FREE_LOCK(lock_a, 0);
    EVTHREAD_FREE_LOCK(lock_b, 0);
}

static void
test_cond_timeout(void **state)
{
    void *lock = NULL, *cond = NULL;
    struct timeval tv = {0, 50000};
    struct timespec start;
    long ms;

    (void)state;
    EVTHREAD_ALLOC_LOCK(lock, 0);
    EVTHREAD_ALLOC_COND(cond);
    assert_non_null(cond);
    EVLOCK_LOCK(lock, 0);
    clock_gettime(CLOCK_MONOTONIC, &start);
    assert_int_equal(EVTHREAD_COND_WAIT_TIMED(cond, lock, &tv), 1);
    ms = ms_since(&start);
    assert_true(ms >= 45 && ms < 2000);
    /* Zero timeout returns at once. */
    tv.tv_usec = 0;
    assert_int_equal(EVTHREAD_COND_WAIT_TIMED(cond, lock, &tv), 1);
    /* The lock is held again after the wait. */
    assert_int_equal(try_from_other_thread(lock), 0);
    EVLOCK_UNLOCK(lock, 0);
    assert_int_equal(EVTHREAD_COND_SIGNAL(cond), 0);
    EVTHREAD_FREE_COND(cond);
    EVTHREAD_FREE_LOCK(lock, 0);
}

static void *cv_lock, *cv_cond;
static int cv_flag, cv_woken;

static void *
cv_waiter(void *arg)
{
    struct timeval tv = {10, 0};
    int r = 0;
    (void)arg;
    EVLOCK_LOCK(cv_lock, 0);
    while (!cv_flag && r == 0)
        r = EVTHREAD_COND_WAIT_TIMED(cv_cond, cv_lock, &tv);
    if (cv_flag)
        cv_woken++;
    EVLOCK_UNLOCK(cv_lock, 0);
    return (void *)(intptr_t)r;
}

static void
test_cond_signal_and_broadcast(void **state)
{
    pthread_t th[3];
    void *res;
    int i;

    (void)state;
    EVTHREAD_ALLOC_LOCK(cv_lock, 0);
    EVTHREAD_ALLOC_COND(cv_cond);
    cv_flag = cv_woken = 0;
    assert_int_equal(pthread_create(&th[0], NULL, cv_waiter, NULL), 0);
    usleep(20000);
    EVLOCK_LOCK(cv_lock, 0);
    cv_flag = 1;
    assert_int_equal(EVTHREAD_COND_SIGNAL(cv_cond), 0);
    EVLOCK_UNLOCK(cv_lock, 0);
    pthread_join(th[0], &res);
    assert_int_equal((intptr_t)res, 0);
    assert_int_equal(cv_woken, 1);

    cv_flag = cv_woken = 0;
    for (i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&th[i], NULL, cv_waiter, NULL), 0);
    usleep(20000);
    EVLOCK_LOCK(cv_lock, 0);
    cv_flag = 1;
    assert_int_equal(EVTHREAD_COND_BROADCAST(cv_cond), 0);
    EVLOCK_UNLOCK(cv_lock, 0);
    for (i = 0; i < 3; i++) {
        pthread_join(th[i], &res);
        assert_int_equal((intptr_t)res, 0);
    }
    assert_int_equal(cv_woken, 3);
    EVTHREAD_FREE_COND(cv_cond);
    EVTHREAD_FREE_LOCK(cv_lock, 0);
}

static void *
get_id(void *arg)
{
    *(unsigned long *)arg = EVTHREAD_GET_ID();
    return NULL;
}

static void
test_thread_ids(void **state)
{
    unsigned long other = 0, me = EVTHREAD_GET_ID();
    pthread_t th;

    (void)state;
    assert_true(me == (unsigned long)pthread_self());
    assert_int_equal(pthread_create(&th, NULL, get_id, &other), 0);
    pthread_join(th, NULL);
    assert_true(other != 0 && other != me);
    assert_true(me == EVTHREAD_GET_ID());
}

static int
group_setup(void **state)
{
    (void)state;
    return evthread_use_pthreads();
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_no_ops),
        cmocka_unit_test(test_lock_debugging_normal_use),
        cmocka_unit_test(test_lock_debugging_catches_misuse),
        cmocka_unit_test(test_use_pthreads),
        cmocka_unit_test(test_recursive_lock),
        cmocka_unit_test(test_lock_contention_and_lock2),
        cmocka_unit_test(test_cond_timeout),
        cmocka_unit_test(test_cond_signal_and_broadcast),
        cmocka_unit_test(test_thread_ids),
    };
    size_t i;

    if (argc == 3 && strcmp(argv[1], "--child") == 0) {
        signal(SIGABRT, SIG_DFL);
        for (i = 0; i < sizeof(children) / sizeof(children[0]); i++) {
            if (strcmp(argv[2], children[i].name) == 0)
                return children[i].fn();
        }
        return 98;
    }
    self_path = "/proc/self/exe";
    return cmocka_run_group_tests(tests, group_setup, NULL);
}

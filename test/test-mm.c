/*
 * test-mm.c: event_set_mem_functions() routes every allocation libevent
 * makes through the user's functions, and libevent frees only what those
 * functions handed out.  libevent_global_shutdown() then leaves nothing
 * allocated.
 *
 * event_set_mem_functions() must be called before libevent allocates
 * anything, so it is the first thing main() does and this is a binary of
 * its own; the global shutdown is the last test, since nothing of
 * libevent may be used after it.  The user's free function is never
 * handed NULL (libevent never does it; a user's function need not
 * accept it), debug mode included: that case runs first, in a child,
 * since debug mode must be on before the first event exists.
 */
#define _GNU_SOURCE
#include "test-util.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Counting allocator: an open-addressing set of live blocks. */

#define LIVE_SLOTS (1u << 16)

static pthread_mutex_t mm_lock = PTHREAD_MUTEX_INITIALIZER;
static void *live[LIVE_SLOTS];
static long n_live, n_malloc, n_realloc, n_free, n_foreign, n_null_free;

static size_t
slot_of(const void *p)
{
    uintptr_t h = (uintptr_t)p;

    h ^= h >> 17;
    h *= 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 40) & (LIVE_SLOTS - 1);
}

static void
live_add(void *p)
{
    size_t i = slot_of(p);

    while (live[i] != NULL && live[i] != (void *)1)
        i = (i + 1) & (LIVE_SLOTS - 1);
    live[i] = p;
    n_live++;
}

/* Removes p; returns 0 when p was not live. */
static int
live_remove(void *p)
{
    size_t i = slot_of(p);

    while (live[i] != NULL) {
        if (live[i] == p) {
            live[i] = (void *)1;    /* tombstone */
            n_live--;
            return 1;
        }
        i = (i + 1) & (LIVE_SLOTS - 1);
    }
    return 0;
}

static void *
my_malloc(size_t sz)
{
    void *p = malloc(sz);

    pthread_mutex_lock(&mm_lock);
    n_malloc++;
    if (p != NULL)
        live_add(p);
    pthread_mutex_unlock(&mm_lock);
    return p;
}

static void *
my_realloc(void *old, size_t sz)
{
    void *p;

    pthread_mutex_lock(&mm_lock);
    n_realloc++;
    if (old != NULL && !live_remove(old))
        n_foreign++;
    p = realloc(old, sz);
    if (p != NULL)
        live_add(p);
    else if (old != NULL)
        live_add(old);
    pthread_mutex_unlock(&mm_lock);
    return p;
}

static void
my_free(void *p)
{
    if (p == NULL) {
        __atomic_add_fetch(&n_null_free, 1, __ATOMIC_SEQ_CST);
        return;
    }
    pthread_mutex_lock(&mm_lock);
    n_free++;
    if (!live_remove(p))
        n_foreign++;
    pthread_mutex_unlock(&mm_lock);
    free(p);
}

struct counts {
    long live, mallocs, reallocs, frees, foreign;
};

static void
snapshot(struct counts *c)
{
    pthread_mutex_lock(&mm_lock);
    c->live = n_live;
    c->mallocs = n_malloc;
    c->reallocs = n_realloc;
    c->frees = n_free;
    c->foreign = n_foreign;
    pthread_mutex_unlock(&mm_lock);
}

/* ------------------------------------------------------------------ */

static void
noop_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

/* Debug mode's own records go through the user's functions too, without
 * a free(NULL) (upstream's main/mm_functions in debug mode, whose free
 * function does not take NULL).  In a child: debug mode stays on. */
static void
test_mm_debug_mode_no_null_free(void **state)
{
    int status;
    pid_t pid;

    (void)state;
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct event_base *base;
        struct event *ev;

        alarm(10);
        event_enable_debug_mode();
        base = event_base_new();
        if (base == NULL)
            _exit(3);
        ev = event_new(base, -1, 0, noop_cb, NULL);
        if (ev == NULL)
            _exit(4);
        event_free(ev);
        event_base_free(base);
        _exit(n_null_free != 0 ? 2 : 0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 2)
        fail_msg("the user's free function was handed NULL in debug mode");
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_mm_base_and_events(void **state)
{
    struct counts c0, c1, c2, c3;
    struct event_base *base;
    struct event *ev;

    (void)state;
    snapshot(&c0);
    base = event_base_new();
    assert_non_null(base);
    snapshot(&c1);
    assert_true(c1.mallocs + c1.reallocs > c0.mallocs + c0.reallocs);
    assert_true(c1.live > c0.live);

    ev = event_new(base, -1, 0, noop_cb, NULL);
    assert_non_null(ev);
    snapshot(&c2);
    assert_true(c2.mallocs > c1.mallocs);
    assert_int_equal(c2.live, c1.live + 1);

    event_free(ev);
    snapshot(&c3);
    assert_int_equal(c3.live, c1.live);
    assert_int_equal(c3.frees, c2.frees + 1);

    event_base_free(base);
    snapshot(&c3);
    assert_int_equal(c3.live, c0.live);
    assert_int_equal(c3.foreign, 0);
}

static void
test_mm_config(void **state)
{
    struct event_config *cfg;
    struct event_base *base;
    struct counts c0, c1;

    (void)state;
    snapshot(&c0);
    cfg = event_config_new();
    assert_non_null(cfg);
    assert_int_equal(event_config_avoid_method(cfg, "select"), 0);
    assert_int_equal(event_config_avoid_method(cfg, "poll"), 0);
    snapshot(&c1);
    assert_true(c1.live >= c0.live + 3);
    base = event_base_new_with_config(cfg);
    assert_non_null(base);
    event_config_free(cfg);
    event_base_free(base);
    snapshot(&c1);
    assert_int_equal(c1.live, c0.live);
    assert_int_equal(c1.foreign, 0);
}

static void
test_mm_busy_loop(void **state)
{
    struct event *eio, *evs[64], *esig, *eonce;
    struct event_base *base;
    evutil_socket_t fds[2];
    const struct timeval *ct;
    struct counts c0, c1;
    struct timeval tv;
    int i;

    (void)state;
    snapshot(&c0);
    base = event_base_new();
    assert_non_null(base);
    assert_int_equal(event_base_priority_init(base, 4), 0);
    tu_socketpair(fds);
    eio = event_new(base, fds[0], EV_READ | EV_PERSIST, noop_cb, NULL);
    assert_int_equal(event_add(eio, NULL), 0);
    ct = event_base_init_common_timeout(base, tu_tv(&tv, 5));
    /* Enough timers to make the heap grow (realloc). */
    for (i = 0; i < 64; ++i) {
        evs[i] = evtimer_new(base, noop_cb, NULL);
        assert_int_equal(evtimer_add(evs[i], i % 2 ? ct :
            tu_tv(&tv, 1 + i % 7)), 0);
    }
    esig = evsignal_new(base, SIGUSR1, noop_cb, NULL);
    assert_int_equal(evsignal_add(esig, NULL), 0);
    eonce = NULL;
    assert_int_equal(event_base_once(base, -1, EV_TIMEOUT, noop_cb, NULL,
        tu_tv(&tv, 2)), 0);
    /* A once event that never fires is freed with the base. */
    assert_int_equal(event_base_once(base, fds[0], EV_WRITE, noop_cb,
        NULL, tu_tv(&tv, 60000)), 0);
    tu_write_str(fds[1], "x");
    raise(SIGUSR1);
    assert_int_equal(tu_run(base, 50), 1);
    for (i = 0; i < 64; ++i)
        event_free(evs[i]);
    event_free(eio);
    event_free(esig);
    (void)eonce;
    event_base_free(base);
    tu_close_pair(fds);
    snapshot(&c1);
    assert_int_equal(c1.live, c0.live);
    assert_int_equal(c1.foreign, 0);
}

static void
test_mm_global_shutdown(void **state)
{
    struct counts c;

    (void)state;
    /* Stop logging through the test's callback before libevent goes. */
    tu_log_release();
    libevent_global_shutdown();
    snapshot(&c);
    assert_int_equal(c.foreign, 0);
    assert_int_equal(__atomic_load_n(&n_null_free, __ATOMIC_SEQ_CST), 0);
    if (c.live != 0)
        fail_msg("%ld block(s) still allocated after "
            "libevent_global_shutdown()", c.live);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        /* Must stay first: debug mode must come before any event. */
        cmocka_unit_test_setup_teardown(test_mm_debug_mode_no_null_free,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_mm_base_and_events,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_mm_config,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_mm_busy_loop,
            tu_setup_nobase, tu_teardown_nobase),
        /* Must stay last: libevent is unusable afterwards. */
        cmocka_unit_test_setup_teardown(test_mm_global_shutdown,
            tu_setup_nobase, tu_teardown_nobase),
    };

    event_set_mem_functions(my_malloc, my_realloc, my_free);
    /* Exact block counts assume debug mode's event map is off. */
    unsetenv("EVTEST_DEBUG_MODE");
    tu_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test-signalfd-timerfd.c: the two Linux opt-ins beyond libevent 2.1's
 * defaults.
 *
 *  - signalfd (src/signal-fd.c), chosen by EVENT_USE_SIGNALFD or the
 *    config flag 0x200 (libevent 2.2's EVENT_BASE_FLAG_USE_SIGNALFD, not
 *    in our headers): the signalfd really is used; the signal is blocked
 *    only while watched and a mask the program set itself is kept; the
 *    old handler comes back; EVENT_BASE_FLAG_IGNORE_ENV ignores the
 *    variable; a signal delivered to another thread still arrives.
 *  - timerfd for EVENT_BASE_FLAG_PRECISE_TIMER on epoll
 *    (backends/epoll.c): the timerfd exists only then, sub-millisecond
 *    timers are not rounded up to epoll_wait()'s milliseconds, and a
 *    timer that expired does not keep a later untimed wait spinning.
 *
 * TEST-THREADS (a helper thread receives a signal).
 */
#define _GNU_SOURCE
#include "test-util.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <event2/event.h>

/* libevent 2.2's EVENT_BASE_FLAG_USE_SIGNALFD. */
#define USE_SIGNALFD_FLAG 0x200

/* How many open fds of this process are anon inodes of kind (e.g.
 * "[signalfd]"). */
static int
count_anon(const char *kind)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    char path[300], target[128];
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        ssize_t len;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
        len = readlink(path, target, sizeof(target) - 1);
        if (len <= 0)
            continue;
        target[len] = '\0';
        if (strstr(target, kind) != NULL)
            n++;
    }
    closedir(d);
    return n;
}

static int
blocked(int sig)
{
    sigset_t cur;
    assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &cur), 0);
    return sigismember(&cur, sig);
}

static void *
handler_of(int sig)
{
    struct sigaction sa;
    assert_int_equal(sigaction(sig, NULL, &sa), 0);
    return (void *)sa.sa_handler;
}

struct hit {
    struct event_base *base;
    int count;
    short what;
};

static void
hit_cb(evutil_socket_t fd, short what, void *arg)
{
    struct hit *h = arg;
    (void)fd;
    h->count++;
    h->what |= what;
    event_base_loopbreak(h->base);
}

static struct event_base *
base_with(int flags)
{
    struct event_config *cfg = event_config_new();
    struct event_base *base;

    assert_non_null(cfg);
    assert_int_equal(event_config_set_flag(cfg, flags), 0);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    assert_non_null(base);
    return base;
}

static volatile sig_atomic_t user_hits;

static void
user_handler(int sig)
{
    (void)sig;
    user_hits++;
}

/* ------------------------------------------------------------------ */
/* signalfd */

static void
test_signalfd_by_flag(void **state)
{
    struct event_base *base;
    struct sigaction sa, saved;
    struct event *ev;
    struct hit h;
    int before;

    (void)state;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = user_handler;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, &saved), 0);
    assert_false(blocked(SIGUSR1));

    before = count_anon("[signalfd]");
    base = base_with(USE_SIGNALFD_FLAG);
    memset(&h, 0, sizeof(h));
    h.base = base;
    ev = evsignal_new(base, SIGUSR1, hit_cb, &h);
    assert_int_equal(event_add(ev, NULL), 0);
    assert_int_equal(count_anon("[signalfd]"), before + 1);
    assert_true(blocked(SIGUSR1));
    assert_ptr_not_equal(handler_of(SIGUSR1), (void *)user_handler);

    user_hits = 0;
    raise(SIGUSR1);
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(h.count, 1);
    assert_int_equal(h.what, EV_SIGNAL);
    assert_int_equal(user_hits, 0);

    /* Gone: unblocked, the program's handler back. */
    assert_int_equal(event_del(ev), 0);
    assert_false(blocked(SIGUSR1));
    assert_ptr_equal(handler_of(SIGUSR1), (void *)user_handler);
    raise(SIGUSR1);
    assert_int_equal(user_hits, 1);

    /* Freeing the base with the event added restores them too. */
    assert_int_equal(event_add(ev, NULL), 0);
    assert_true(blocked(SIGUSR1));
    event_free(ev);
    event_base_free(base);
    assert_false(blocked(SIGUSR1));
    assert_ptr_equal(handler_of(SIGUSR1), (void *)user_handler);
    assert_int_equal(count_anon("[signalfd]"), before);
    assert_int_equal(sigaction(SIGUSR1, &saved, NULL), 0);
}

static void
test_signalfd_env(void **state)
{
    struct event_base *base;
    struct event *ev;
    struct hit h;
    int before = count_anon("[signalfd]");

    (void)state;
    memset(&h, 0, sizeof(h));
    setenv("EVENT_USE_SIGNALFD", "1", 1);

    /* EVENT_BASE_FLAG_IGNORE_ENV: the self-pipe as usual. */
    base = base_with(EVENT_BASE_FLAG_IGNORE_ENV);
    ev = evsignal_new(base, SIGUSR2, hit_cb, &h);
    assert_int_equal(event_add(ev, NULL), 0);
    assert_int_equal(count_anon("[signalfd]"), before);
    assert_false(blocked(SIGUSR2));
    event_free(ev);
    event_base_free(base);

    /* Otherwise the variable opts in. */
    base = event_base_new();
    unsetenv("EVENT_USE_SIGNALFD");
    assert_non_null(base);
    h.base = base;
    ev = evsignal_new(base, SIGUSR2, hit_cb, &h);
    assert_int_equal(event_add(ev, NULL), 0);
    assert_int_equal(count_anon("[signalfd]"), before + 1);
    raise(SIGUSR2);
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(h.count, 1);
    event_free(ev);
    event_base_free(base);
}

static void
test_signalfd_keeps_program_mask(void **state)
{
    struct event_base *base;
    struct event *ev;
    struct hit h;
    sigset_t one;

    (void)state;
    /* The program blocked SIGUSR2 itself: it stays blocked after. */
    sigemptyset(&one);
    sigaddset(&one, SIGUSR2);
    assert_int_equal(sigprocmask(SIG_BLOCK, &one, NULL), 0);
    base = base_with(USE_SIGNALFD_FLAG);
    memset(&h, 0, sizeof(h));
    h.base = base;
    ev = evsignal_new(base, SIGUSR2, hit_cb, &h);
    assert_int_equal(event_add(ev, NULL), 0);
    raise(SIGUSR2);
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(h.count, 1);
    event_free(ev);
    event_base_free(base);
    assert_true(blocked(SIGUSR2));
    assert_int_equal(sigprocmask(SIG_UNBLOCK, &one, NULL), 0);
}

static void *
idle_thread(void *arg)
{
    /* Sleeps with SIGUSR1 unblocked (it started before the base blocked
     * it in the main thread) until cancelled. */
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static void
test_signalfd_signal_to_other_thread(void **state)
{
    struct event_base *base;
    struct event *ev;
    struct hit h;
    pthread_t t;

    (void)state;
    assert_int_equal(pthread_create(&t, NULL, idle_thread, NULL), 0);
    base = base_with(USE_SIGNALFD_FLAG);
    memset(&h, 0, sizeof(h));
    h.base = base;
    ev = evsignal_new(base, SIGUSR1, hit_cb, &h);
    assert_int_equal(event_add(ev, NULL), 0);
    /* Delivered to a thread that does not block it: our handler there
     * hands it on to the thread whose signalfd waits. */
    assert_int_equal(pthread_kill(t, SIGUSR1), 0);
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(h.count, 1);
    event_free(ev);
    event_base_free(base);
    pthread_cancel(t);
    pthread_join(t, NULL);
}

/* ------------------------------------------------------------------ */
/* timerfd */

/* An epoll base (whatever the environment says), precise or not. */
static struct event_base *
epoll_base(int precise)
{
    static const char *const others[] = {"io_uring", "poll", "select",
        "kqueue", "devpoll", "evport", NULL};
    struct event_config *cfg = event_config_new();
    struct event_base *base;
    int i;

    for (i = 0; others[i] != NULL; ++i)
        event_config_avoid_method(cfg, others[i]);
    event_config_set_flag(cfg, EVENT_BASE_FLAG_IGNORE_ENV |
                                   (precise ? EVENT_BASE_FLAG_PRECISE_TIMER
                                            : 0));
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (base == NULL) {
        print_message("  [no epoll here, skipped]\n");
        skip();
    }
    assert_string_equal(event_base_get_method(base), "epoll");
    return base;
}

static void
test_timerfd_only_when_precise(void **state)
{
    struct event_base *plain, *precise;
    int before = count_anon("[timerfd]");

    (void)state;
    plain = epoll_base(0);
    assert_int_equal(count_anon("[timerfd]"), before);
    precise = epoll_base(1);
    assert_int_equal(count_anon("[timerfd]"), before + 1);
    event_base_free(precise);
    event_base_free(plain);
    assert_int_equal(count_anon("[timerfd]"), before);
}

static long
now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

static int
cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

static void
test_timerfd_submillisecond(void **state)
{
    struct event_base *base = epoll_base(1);
    struct timeval tv = {0, 300};
    long took[21];
    struct event *ev;
    struct hit h;
    int i;

    (void)state;
    memset(&h, 0, sizeof(h));
    h.base = base;
    ev = evtimer_new(base, hit_cb, &h);
    for (i = 0; i < 21; ++i) {
        long start = now_us();
        assert_int_equal(evtimer_add(ev, &tv), 0);
        assert_int_equal(event_base_loop(base, 0), 0);
        took[i] = now_us() - start;
    }
    qsort(took, 21, sizeof(took[0]), cmp_long);
    print_message("  [300 us timer: median %ld us, min %ld us]\n", took[10],
        took[0]);
    /* Never early; and not rounded up to epoll's 1 ms. */
    assert_true(took[0] >= 250);
    assert_true(took[10] < 900);
    event_free(ev);
    event_base_free(base);
}

static void
test_timerfd_expired_no_spin(void **state)
{
    struct event_base *base = epoll_base(1);
    struct timeval tv = {0, 1000};
    evutil_socket_t p[2];
    struct event *t, *r;
    struct hit ht, hr;
    struct rusage a, b;
    long cpu;
    pid_t pid;
    int status;

    (void)state;
    memset(&ht, 0, sizeof(ht));
    memset(&hr, 0, sizeof(hr));
    ht.base = hr.base = base;
    tu_socketpair(p);
    t = evtimer_new(base, hit_cb, &ht);
    r = event_new(base, p[0], EV_READ, hit_cb, &hr);
    /* Arm the timerfd once, let it fire... */
    assert_int_equal(evtimer_add(t, &tv), 0);
    assert_int_equal(event_base_loop(base, 0), 0);
    assert_int_equal(ht.count, 1);
    /* ...then wait with no timer at all: the timerfd must be disarmed,
     * or epoll_wait() would keep returning at once. */
    assert_int_equal(event_add(r, NULL), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        tu_sleep_ms(200);
        _exit(write(p[1], "x", 1) == 1 ? 0 : 1);
    }
    getrusage(RUSAGE_SELF, &a);
    assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
    getrusage(RUSAGE_SELF, &b);
    assert_int_equal(hr.count, 1);
    cpu = (b.ru_utime.tv_sec - a.ru_utime.tv_sec) * 1000L +
          (b.ru_utime.tv_usec - a.ru_utime.tv_usec) / 1000L +
          (b.ru_stime.tv_sec - a.ru_stime.tv_sec) * 1000L +
          (b.ru_stime.tv_usec - a.ru_stime.tv_usec) / 1000L;
    assert_true(cpu < 100);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    event_free(t);
    event_free(r);
    tu_close_pair(p);
    event_base_free(base);
}

/* After the timer fired, a non-blocking pass must come back: the expired
 * timerfd is still readable, and the pass polls with a zero timeout. */
static void
test_timerfd_expired_nonblock(void **state)
{
    struct event_base *base = epoll_base(1);
    struct timeval tv = {0, 1000};
    evutil_socket_t p[2];
    struct event *t, *r;
    struct hit ht, hr;
    int i;

    (void)state;
    memset(&ht, 0, sizeof(ht));
    memset(&hr, 0, sizeof(hr));
    ht.base = hr.base = base;
    tu_socketpair(p);
    t = evtimer_new(base, hit_cb, &ht);
    r = event_new(base, p[0], EV_READ | EV_PERSIST, hit_cb, &hr);
    assert_int_equal(event_add(r, NULL), 0);
    assert_int_equal(evtimer_add(t, &tv), 0);
    assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
    assert_int_equal(ht.count, 1);
    for (i = 0; i < 3; ++i)
        assert_int_equal(event_base_loop(base, EVLOOP_NONBLOCK), 0);
    assert_int_equal(hr.count, 0);
    event_free(t);
    event_free(r);
    tu_close_pair(p);
    event_base_free(base);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_signalfd_by_flag,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_signalfd_env, tu_setup_nobase,
            tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_signalfd_keeps_program_mask,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_signalfd_signal_to_other_thread,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_timerfd_only_when_precise,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_timerfd_submillisecond,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_timerfd_expired_no_spin,
            tu_setup_nobase, tu_teardown_nobase),
                cmocka_unit_test_setup_teardown(test_timerfd_expired_nonblock,
            tu_setup_nobase, tu_teardown_nobase),
    };

    tu_init();
    /* The variables this file sets itself must not leak in. */
    unsetenv("EVENT_USE_SIGNALFD");
    return cmocka_run_group_tests(tests, NULL, NULL);
}

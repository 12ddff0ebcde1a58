/*
 * test-event.c: event_base and event life cycle, configuration, I/O
 * readiness, the loop's flags and exits, priorities and introspection,
 * written against libevent 2.1's public API only.
 *
 * TEST-BACKENDS: ctest runs this binary once per backend (EVENT_NO*
 * variables) and once with EVTEST_DEBUG_MODE=1, so feature-dependent
 * checks (EV_ET, EV_CLOSED) skip when the base lacks the feature.  The
 * Windows cross-build runs it under Wine (test/wine/) on the win32
 * backend; where Windows' facts differ (its one backend, the signals its
 * C runtime knows, struct sizes) the checks say so under _WIN32.
 *
 * Callbacks only record what happened; assertions run after the loop, so
 * a failure never longjmps out of event_base_loop().
 */
#define _GNU_SOURCE
#include "test-util.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event_struct.h>

/* Signals the tests add and raise: Windows has no SIGUSR1 or SIGUSR2,
 * and its C runtime's signal() and raise() know SIGTERM and SIGBREAK. */
#ifdef _WIN32
#define TEST_SIG1 SIGTERM
#define TEST_SIG2 SIGBREAK
#else
#define TEST_SIG1 SIGUSR1
#define TEST_SIG2 SIGUSR2
#endif

/* The platform's first backend, and the variable that disables it. */
#ifdef _WIN32
#define FIRST_METHOD "win32"
#define FIRST_METHOD_OFF "EVENT_NOWIN32"
#else
/* io_uring (epoll through the ring) where the kernel has what it needs,
 * else epoll. */
static int have_ring(void);
#define FIRST_METHOD (have_ring() ? "io_uring" : "epoll")
#define FIRST_METHOD_OFF (have_ring() ? "EVENT_NOIO_URING" : "EVENT_NOEPOLL")
#endif

/* ------------------------------------------------------------------ */
/* Recording helpers. */

#define REC_MAX 64

struct rec {
    int calls;
    evutil_socket_t fd[REC_MAX];
    short what[REC_MAX];
    long ms[REC_MAX];       /* ms since rec->start at each call */
    struct timeval start;
    struct event_base *base;
    struct event *ev;       /* the event itself, when a callback needs it */
    int stop_after;         /* loopexit after this many calls (0: never) */
    int drain;              /* read the fd dry in the callback */
};

static void
rec_init(struct rec *r, struct event_base *base)
{
    memset(r, 0, sizeof(*r));
    r->base = base;
    tu_now(&r->start);
}

static void
rec_cb(evutil_socket_t fd, short what, void *arg)
{
    struct rec *r = arg;

    if (r->calls < REC_MAX) {
        r->fd[r->calls] = fd;
        r->what[r->calls] = what;
        r->ms[r->calls] = tu_ms_since(&r->start);
    }
    r->calls++;
    if (r->drain && fd >= 0)
        tu_drain(fd);
    if (r->stop_after > 0 && r->calls == r->stop_after)
        event_base_loopexit(r->base, NULL);
}

/* Global order log: callbacks append their integer id. */
static int order_log[256];
static int order_n;

static void
order_reset(void)
{
    order_n = 0;
    memset(order_log, 0, sizeof(order_log));
}

static void
order_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    if (order_n < 256)
        order_log[order_n++] = (int)(intptr_t)arg;
}

static void
assert_order(const int *expected, int n)
{
    int i;

    assert_int_equal(order_n, n);
    for (i = 0; i < n; ++i) {
        if (order_log[i] != expected[i])
            fail_msg("order_log[%d] is %d, expected %d", i, order_log[i],
                expected[i]);
    }
}

static void
noop_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

static struct event *
new_active(struct event_base *base, int id, int prio)
{
    struct event *ev;

    ev = event_new(base, -1, 0, order_cb, (void *)(intptr_t)id);
    assert_non_null(ev);
    if (prio >= 0)
        assert_int_equal(event_priority_set(ev, prio), 0);
    return ev;
}

/* Runs one timer + one I/O event on base and checks both fire. */
static void
check_base_works(struct event_base *base)
{
    evutil_socket_t fds[2];
    struct rec rio, rt;
    struct event *eio, *et;
    struct timeval tv;

    tu_socketpair(fds);
    rec_init(&rio, base);
    rec_init(&rt, base);
    eio = event_new(base, fds[0], EV_READ, rec_cb, &rio);
    et = evtimer_new(base, rec_cb, &rt);
    assert_int_equal(event_add(eio, NULL), 0);
    assert_int_equal(evtimer_add(et, tu_tv(&tv, 20)), 0);
    tu_write_str(fds[1], "x");
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(rio.calls, 1);
    assert_int_equal(rio.what[0], EV_READ);
    assert_int_equal(rt.calls, 1);
    assert_int_equal(rt.what[0], EV_TIMEOUT);
    event_free(eio);
    event_free(et);
    tu_close_pair(fds);
}

/* ------------------------------------------------------------------ */
/* Bases and configuration. */

static void
test_base_new_free(void **state)
{
    struct event_base *base;
    const char *expected = tu_expected_method();

    (void)state;
    base = event_base_new();
    if (expected == NULL) {
        assert_null(base);
        return;
    }
    assert_non_null(base);
    assert_string_equal(event_base_get_method(base), expected);
    check_base_works(base);
    event_base_free(base);
}

static void
test_base_free_nofinalize_empty(void **state)
{
    struct event_base *base;

    (void)state;
    base = event_base_new();
    assert_non_null(base);
    event_base_free_nofinalize(base);
}

static void
test_config_new_free(void **state)
{
    struct event_config *cfg;
    struct event_base *base;

    (void)state;
    cfg = event_config_new();
    assert_non_null(cfg);
    base = event_base_new_with_config(cfg);
    assert_non_null(base);
    assert_string_equal(event_base_get_method(base), tu_expected_method());
    event_config_free(cfg);
    check_base_works(base);
    event_base_free(base);
}

/* Base from a config ignoring the environment, avoiding the given
 * methods and requiring the given features; NULL when none fits. */
static struct event_base *
base_avoiding(const char *const *avoid, int features)
{
    struct event_config *cfg;
    struct event_base *base;

    cfg = event_config_new();
    assert_non_null(cfg);
    assert_int_equal(event_config_set_flag(cfg,
        EVENT_BASE_FLAG_IGNORE_ENV), 0);
    for (; avoid != NULL && *avoid != NULL; ++avoid)
        assert_int_equal(event_config_avoid_method(cfg, *avoid), 0);
#ifdef EVTEST_SHIM_METHOD
    /* A test/shim build adds a backend of another system; the choices
     * checked with this helper are among the platform's own. */
    assert_int_equal(event_config_avoid_method(cfg, EVTEST_SHIM_METHOD), 0);
#endif
    if (features)
        assert_int_equal(event_config_require_features(cfg, features), 0);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return base;
}

#ifdef _WIN32
/* Windows has one backend, win32 (select over Winsock). */
static void
test_config_avoid_method(void **state)
{
    static const char *const none[] = { NULL };
    static const char *const no_win32[] = { "win32", NULL };
    struct event_base *base;

    (void)state;
    base = base_avoiding(none, 0);
    assert_non_null(base);
    assert_string_equal(event_base_get_method(base), "win32");
    check_base_works(base);
    event_base_free(base);
    assert_null(base_avoiding(no_win32, 0));
}
#else
static int
listed(const char *method)
{
    const char **ms = event_get_supported_methods();
    int i;

    for (i = 0; ms != NULL && ms[i] != NULL; ++i)
        if (strcmp(ms[i], method) == 0)
            return 1;
    return 0;
}

/* Non-zero when this library has the io_uring method and the kernel can
 * run it. */
static int
have_ring(void)
{
    return listed("io_uring") && tu_kernel_has_io_uring_epoll();
}

/* The same for io_uring_poll. */
static int
have_io_uring_poll(void)
{
    return listed("io_uring_poll") && tu_kernel_has_io_uring();
}

static void
test_config_avoid_method(void **state)
{
    static const char *const none[] = { NULL };
    static const char *const no_epoll[] = { "epoll", NULL };
    static const char *const no_ring[] = { "io_uring", "epoll", NULL };
    static const char *const no_ep_poll[] = { "io_uring", "epoll", "poll",
        NULL };
    static const char *const no_all[] = { "io_uring", "epoll", "poll",
        "select", NULL };
    static const char *const no_all5[] = { "io_uring", "epoll", "poll",
        "select", "io_uring_poll", NULL };
    struct event_base *base;

    (void)state;
    base = base_avoiding(none, 0);
    assert_non_null(base);
    assert_string_equal(event_base_get_method(base), FIRST_METHOD);
    event_base_free(base);

    /* io_uring is not epoll by name, though its set is epoll's. */
    base = base_avoiding(no_epoll, 0);
    assert_non_null(base);
    assert_string_equal(event_base_get_method(base),
        have_ring() ? "io_uring" : "poll");
    check_base_works(base);
    event_base_free(base);

    base = base_avoiding(no_ring, 0);
    assert_non_null(base);
    assert_string_equal(event_base_get_method(base), "poll");
    check_base_works(base);
    event_base_free(base);

    base = base_avoiding(no_ep_poll, 0);
    assert_non_null(base);
    assert_string_equal(event_base_get_method(base), "select");
    check_base_works(base);
    event_base_free(base);

    /* io_uring_poll (where built and supported) comes last. */
    base = base_avoiding(no_all, 0);
    if (have_io_uring_poll()) {
        assert_non_null(base);
        assert_string_equal(event_base_get_method(base), "io_uring_poll");
        check_base_works(base);
        event_base_free(base);
    } else {
        assert_null(base);
    }
    assert_null(base_avoiding(no_all5, 0));
}
#endif

static void
test_config_avoid_unknown_method(void **state)
{
    static const char *const bogus[] = { "no-such-method", "", NULL };
    struct event_base *base;

    (void)state;
    base = base_avoiding(bogus, 0);
    assert_non_null(base);
    assert_string_equal(event_base_get_method(base), FIRST_METHOD);
    event_base_free(base);
}

#ifdef _WIN32
/* win32, the only Windows backend, has none of the features. */
static void
test_config_require_features(void **state)
{
    static const int features[] = { EV_FEATURE_ET, EV_FEATURE_O1,
        EV_FEATURE_FDS, EV_FEATURE_EARLY_CLOSE };
    struct event_config *cfg;
    struct event_base *base;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(features) / sizeof(features[0]); ++i)
        assert_null(base_avoiding(NULL, features[i]));
    base = base_avoiding(NULL, 0);
    assert_non_null(base);
    assert_int_equal(event_base_get_features(base), 0);
    event_base_free(base);
    /* Without IGNORE_ENV too. */
    cfg = event_config_new();
    assert_int_equal(event_config_require_features(cfg, EV_FEATURE_ET), 0);
    assert_null(event_base_new_with_config(cfg));
    event_config_free(cfg);
}
#else
static void
test_config_require_features(void **state)
{
    /* Every edge-triggered backend: epoll, and both io_uring methods
     * where built. */
    static const char *const no_et[] = { "io_uring", "epoll",
        "io_uring_poll", NULL };
    struct event_base *base;
    const char *expected = tu_expected_method();
    struct event_config *cfg;
    int env_et;

    (void)state;
    base = base_avoiding(NULL, EV_FEATURE_ET);
    assert_non_null(base);
    assert_string_equal(event_base_get_method(base), FIRST_METHOD);
    assert_true(tu_base_has_features(base, EV_FEATURE_ET));
    event_base_free(base);

    base = base_avoiding(NULL, EV_FEATURE_O1 | EV_FEATURE_EARLY_CLOSE);
    assert_non_null(base);
    assert_string_equal(event_base_get_method(base), FIRST_METHOD);
    event_base_free(base);

    base = base_avoiding(NULL, EV_FEATURE_FDS);
    assert_non_null(base);
    assert_string_equal(event_base_get_method(base), "poll");
    assert_true(tu_base_has_features(base, EV_FEATURE_FDS));
    check_base_works(base);
    event_base_free(base);

    /* No backend is both edge-triggered and able to watch any fd. */
    assert_null(base_avoiding(NULL, EV_FEATURE_ET | EV_FEATURE_FDS));
    assert_null(base_avoiding(no_et, EV_FEATURE_ET));

    /* io_uring_poll (where available) is edge-triggered too. */
    if (have_io_uring_poll()) {
        static const char *const only_uring[] = { "io_uring", "epoll",
            NULL };
        base = base_avoiding(only_uring, EV_FEATURE_ET);
        assert_non_null(base);
        assert_string_equal(event_base_get_method(base), "io_uring_poll");
        event_base_free(base);
    }

    /* Without IGNORE_ENV, a requirement only the disabled backends meet
     * leaves no backend at all. */
    env_et = (expected != NULL && (strncmp(expected, "epoll", 5) == 0 ||
                                      strncmp(expected, "io_uring", 8) == 0 ||
                                      strcmp(expected, "kqueue") == 0)) ||
             (have_ring() && getenv("EVENT_NOIO_URING") == NULL &&
                 getenv("EVENT_EPOLL_USE_CHANGELIST") == NULL) ||
             (have_io_uring_poll() && getenv("EVENT_NOIO_URING_POLL") == NULL);
    cfg = event_config_new();
    assert_int_equal(event_config_require_features(cfg, EV_FEATURE_ET), 0);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (env_et) {
        assert_non_null(base);
        assert_true(tu_base_has_features(base, EV_FEATURE_ET));
        event_base_free(base);
    } else {
        assert_null(base);
    }
}
#endif

static void
test_config_ignore_env(void **state)
{
    struct event_config *cfg;
    struct event_base *base, *ignoring;
    const char *expected, *old;
    char *saved = NULL;

    (void)state;
    old = getenv(FIRST_METHOD_OFF);
    if (old != NULL)
        saved = strdup(old);
    setenv(FIRST_METHOD_OFF, "1", 1);
    expected = tu_expected_method();

    base = event_base_new();
    cfg = event_config_new();
    event_config_set_flag(cfg, EVENT_BASE_FLAG_IGNORE_ENV);
    ignoring = event_base_new_with_config(cfg);
    event_config_free(cfg);

    /* Restore the environment before any assertion can bail out. */
    if (saved != NULL) {
        setenv(FIRST_METHOD_OFF, saved, 1);
        free(saved);
    } else {
        unsetenv(FIRST_METHOD_OFF);
    }

    if (expected == NULL) {
        assert_null(base);
    } else {
        assert_non_null(base);
        assert_string_equal(event_base_get_method(base), expected);
        event_base_free(base);
    }
    assert_non_null(ignoring);
#ifdef EVTEST_SHIM_METHOD
    /* evport and kqueue come before epoll, devpoll after it. */
    if (strcmp(EVTEST_SHIM_METHOD, "devpoll") != 0)
        assert_string_equal(event_base_get_method(ignoring),
            EVTEST_SHIM_METHOD);
    else
#endif
        assert_string_equal(event_base_get_method(ignoring), FIRST_METHOD);
    event_base_free(ignoring);
}

static void
test_config_flags(void **state)
{
    static const int flags[] = {
        EVENT_BASE_FLAG_NOLOCK,
        EVENT_BASE_FLAG_NO_CACHE_TIME,
        EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST,
        EVENT_BASE_FLAG_PRECISE_TIMER,
        EVENT_BASE_FLAG_NOLOCK | EVENT_BASE_FLAG_NO_CACHE_TIME |
            EVENT_BASE_FLAG_PRECISE_TIMER,
    };
    const char *expected = tu_expected_method();
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(flags) / sizeof(flags[0]); ++i) {
        struct event_config *cfg = event_config_new();
        struct event_base *base;
        const char *method;

        assert_non_null(cfg);
        assert_int_equal(event_config_set_flag(cfg, flags[i]), 0);
        base = event_base_new_with_config(cfg);
        event_config_free(cfg);
        assert_non_null(base);
        method = event_base_get_method(base);
        if (flags[i] == EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) {
            /* Asked for by name, the changelist is plain epoll's: the
             * io_uring method declines it. */
            const char *want = expected;
            if (strcmp(want, "io_uring") == 0) {
                setenv("EVENT_NOIO_URING", "1", 1);
                want = tu_expected_method();
                unsetenv("EVENT_NOIO_URING");
            }
            assert_non_null(want);
            if (strncmp(want, "epoll", 5) == 0)
                want = "epoll (with changelist)";
            assert_string_equal(method, want);
        } else {
            assert_string_equal(method, expected);
        }
        check_base_works(base);
        event_base_free(base);
    }
}

static void
test_config_num_cpus_hint(void **state)
{
    struct event_config *cfg;
    struct event_base *base;

    (void)state;
    cfg = event_config_new();
    assert_int_equal(event_config_set_num_cpus_hint(cfg, 4), 0);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    assert_non_null(base);
    check_base_works(base);
    event_base_free(base);
}

/*
 * Dispatch limits.  Activating a higher-priority event from a callback
 * preempts the rest of a lower queue anyway, so the high-priority event
 * here becomes ready through I/O instead: the first low callback writes
 * to a socketpair watched by a priority-0 read event, which the loop can
 * only notice when it goes back to polling.
 */
static evutil_socket_t dispatch_wfd;
static long dispatch_sleep_ms;

static void
dispatch_low_cb(evutil_socket_t fd, short what, void *arg)
{
    order_cb(fd, what, arg);
    if ((intptr_t)arg == 1 && send(dispatch_wfd, "x", 1, MSG_NOSIGNAL) != 1)
        order_cb(fd, what, (void *)-1);
    if (dispatch_sleep_ms > 0)
        tu_sleep_ms(dispatch_sleep_ms);
}

static void
dispatch_high_cb(evutil_socket_t fd, short what, void *arg)
{
    tu_drain(fd);
    order_cb(fd, what, arg);
}

/*
 * Builds a base with the given dispatch limits and nprio priorities, runs
 * four low-priority events (priority low_prio, ids 1-4), the first of
 * which makes a priority-0 read event (id 100) ready, checks the order.
 */
static void
run_dispatch_case(const struct timeval *max_interval, int max_callbacks,
    int min_priority, int nprio, int low_prio, const int *expected)
{
    struct event_config *cfg;
    struct event_base *base;
    struct event *low[4], *high;
    evutil_socket_t fds[2];
    int i;

    cfg = event_config_new();
    assert_non_null(cfg);
    assert_int_equal(event_config_set_max_dispatch_interval(cfg,
        max_interval, max_callbacks, min_priority), 0);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    assert_non_null(base);
    assert_int_equal(event_base_priority_init(base, nprio), 0);

    tu_socketpair(fds);
    dispatch_wfd = fds[1];
    order_reset();
    high = event_new(base, fds[0], EV_READ, dispatch_high_cb, (void *)100);
    assert_int_equal(event_priority_set(high, 0), 0);
    assert_int_equal(event_add(high, NULL), 0);
    for (i = 0; i < 4; ++i) {
        low[i] = event_new(base, -1, 0, dispatch_low_cb,
            (void *)(intptr_t)(i + 1));
        assert_non_null(low[i]);
        assert_int_equal(event_priority_set(low[i], low_prio), 0);
        event_active(low[i], EV_TIMEOUT, 0);
    }
    assert_int_equal(tu_loop(base, 0), 1);
    assert_order(expected, 5);
    for (i = 0; i < 4; ++i)
        event_free(low[i]);
    event_free(high);
    event_base_free(base);
    tu_close_pair(fds);
}

static void
test_config_max_dispatch_callbacks(void **state)
{
    static const int unlimited[] = { 1, 2, 3, 4, 100 };
    static const int limited[] = { 1, 100, 2, 3, 4 };

    (void)state;
    dispatch_sleep_ms = 0;
    /* No limit: the whole low-priority queue runs before the loop polls
     * again and sees the high-priority event. */
    run_dispatch_case(NULL, -1, 0, 2, 1, unlimited);
    /* One callback per pass: the high-priority event interleaves. */
    run_dispatch_case(NULL, 1, 0, 2, 1, limited);
    /* Priorities below min_priority are exempt from the limit. */
    run_dispatch_case(NULL, 1, 2, 3, 1, unlimited);
    run_dispatch_case(NULL, 1, 1, 3, 1, limited);
}

static void
test_config_max_dispatch_interval(void **state)
{
    static const int unlimited[] = { 1, 2, 3, 4, 100 };
    static const int limited[] = { 1, 100, 2, 3, 4 };
    struct timeval tv;

    (void)state;
    /* Every low callback takes longer than the allowed interval. */
    dispatch_sleep_ms = 30;
    run_dispatch_case(tu_tv(&tv, 10), -1, 0, 2, 1, limited);
    /* A generous interval changes nothing. */
    run_dispatch_case(tu_tv(&tv, 5000), -1, 0, 2, 1, unlimited);
    dispatch_sleep_ms = 0;
}

static void
test_base_features(void **state)
{
    struct event_base *base = *state;
    const char *method = event_base_get_method(base);
    int features = event_base_get_features(base);

    if (strncmp(method, "epoll", 5) == 0 ||
        strncmp(method, "io_uring", 8) == 0) {
        /* io_uring_poll: regular files are reported always ready, but
         * edge triggering cannot be kept for them, so no EV_FEATURE_FDS
         * (io_uring's set is epoll's). */
        assert_int_equal(features,
            EV_FEATURE_ET | EV_FEATURE_O1 | EV_FEATURE_EARLY_CLOSE);
    } else if (strcmp(method, "poll") == 0) {
        /* POLLRDHUP gives poll early-close detection on Linux. */
        assert_int_equal(features, EV_FEATURE_FDS | EV_FEATURE_EARLY_CLOSE);
    } else if (strcmp(method, "select") == 0) {
        assert_int_equal(features, EV_FEATURE_FDS);
    } else if (strcmp(method, "kqueue") == 0) {
        /* EV_CLEAR; any fd (vnodes: readable before EOF); EV_EOF. */
        assert_int_equal(features, EV_FEATURE_ET | EV_FEATURE_O1 |
                                       EV_FEATURE_FDS |
                                       EV_FEATURE_EARLY_CLOSE);
    } else if (strcmp(method, "devpoll") == 0) {
        assert_int_equal(features, EV_FEATURE_FDS | EV_FEATURE_O1);
    } else if (strcmp(method, "evport") == 0) {
        assert_int_equal(features, EV_FEATURE_O1);
    } else if (strcmp(method, "win32") == 0) {
        /* select() over sockets only, level-triggered. */
        assert_int_equal(features, 0);
    } else {
        fail_msg("unexpected method %s", method);
    }
}

#ifdef _WIN32
static void
test_supported_methods(void **state)
{
    const char **methods;

    (void)state;
    methods = event_get_supported_methods();
    assert_non_null(methods);
    assert_non_null(methods[0]);
    assert_string_equal(methods[0], "win32");
    assert_null(methods[1]);
}
#else
static void
test_supported_methods(void **state)
{
    static const char *const expected[] = { "epoll", "poll", "select" };
    const char **methods;
    int i;

    (void)state;
    methods = event_get_supported_methods();
    assert_non_null(methods);
#ifdef EVTEST_SHIM_METHOD
    /* A test/shim build lists its backend in libevent's order: evport
     * and kqueue first, devpoll after epoll.  Check it, then the rest. */
    {
        static const char *rest[8];
        int at, j;
        for (at = 0; methods[at] != NULL &&
                     strcmp(methods[at], EVTEST_SHIM_METHOD) != 0;
             ++at)
            ;
        assert_non_null(methods[at]);
        if (strcmp(EVTEST_SHIM_METHOD, "devpoll") == 0)
            assert_string_equal(methods[at - 1], "epoll");
        else
            assert_int_equal(at, 0);
        for (i = j = 0; methods[i] != NULL && j < 7; ++i)
            if (i != at)
                rest[j++] = methods[i];
        rest[j] = NULL;
        methods = rest;
    }
#endif
    /* Ours lists io_uring first and io_uring_poll last where built. */
    if (methods[0] != NULL && strcmp(methods[0], "io_uring") == 0)
        ++methods;
    for (i = 0; i < 3; ++i) {
        assert_non_null(methods[i]);
        assert_string_equal(methods[i], expected[i]);
    }
    if (methods[3] != NULL && strcmp(methods[3], "io_uring_poll") == 0)
        i = 4;
    assert_null(methods[i]);
    /* The list does not depend on the environment. */
    assert_true(event_get_supported_methods()[0] != NULL);
}
#endif

static void
test_version(void **state)
{
    const char *v = event_get_version();
    ev_uint32_t n = event_get_version_number();

    (void)state;
    assert_non_null(v);
    assert_int_equal(strncmp(v, "2.1.", 4), 0);
    assert_int_equal(n >> 24, 2);
    assert_int_equal((n >> 16) & 0xff, 1);
    assert_int_equal(n, LIBEVENT_VERSION_NUMBER);
    assert_string_equal(v, LIBEVENT_VERSION);
}

/* ------------------------------------------------------------------ */
/* Events: construction, getters and state. */

static void
test_event_getters(void **state)
{
    struct event_base *base = *state, *b2;
    evutil_socket_t fds[2], fd2;
    event_callback_fn cb2;
    struct event *ev, *et, *es;
    short events2;
    void *arg2;
    int x;

    tu_socketpair(fds);
    ev = event_new(base, fds[0], EV_READ | EV_PERSIST, rec_cb, &x);
    assert_non_null(ev);
    assert_int_equal(event_get_fd(ev), fds[0]);
    assert_ptr_equal(event_get_base(ev), base);
    assert_int_equal(event_get_events(ev), EV_READ | EV_PERSIST);
    assert_ptr_equal(event_get_callback(ev), rec_cb);
    assert_ptr_equal(event_get_callback_arg(ev), &x);
    assert_int_equal(event_get_priority(ev), 0);

    event_get_assignment(ev, &b2, &fd2, &events2, &cb2, &arg2);
    assert_ptr_equal(b2, base);
    assert_int_equal(fd2, fds[0]);
    assert_int_equal(events2, EV_READ | EV_PERSIST);
    assert_ptr_equal(cb2, rec_cb);
    assert_ptr_equal(arg2, &x);
    /* Any output may be NULL. */
    fd2 = -7;
    event_get_assignment(ev, NULL, &fd2, NULL, NULL, NULL);
    assert_int_equal(fd2, fds[0]);

    et = evtimer_new(base, noop_cb, NULL);
    assert_int_equal(event_get_fd(et), -1);
    assert_int_equal(event_get_events(et), 0);
    assert_null(event_get_callback_arg(et));

    es = evsignal_new(base, TEST_SIG1, noop_cb, NULL);
    assert_int_equal(event_get_fd(es), TEST_SIG1);
    assert_int_equal(event_get_signal(es), TEST_SIG1);
    assert_int_equal(event_get_events(es), EV_SIGNAL | EV_PERSIST);

    event_free(ev);
    event_free(et);
    event_free(es);
    tu_close_pair(fds);
}

static void
test_event_assign(void **state)
{
    struct event_base *base = *state;
    struct event *ev;
    struct rec r;

    assert_int_equal(event_base_priority_init(base, 4), 0);
    ev = malloc(event_get_struct_event_size());
    assert_non_null(ev);
    memset(ev, 0, event_get_struct_event_size());
    rec_init(&r, base);
    assert_int_equal(event_assign(ev, base, -1, EV_TIMEOUT, rec_cb, &r), 0);
    assert_true(event_initialized(ev));
    assert_ptr_equal(event_get_base(ev), base);
    assert_int_equal(event_get_fd(ev), -1);
    assert_ptr_equal(event_get_callback_arg(ev), &r);
    /* The default priority is the middle one. */
    assert_int_equal(event_get_priority(ev), 2);
    assert_int_equal(event_base_get_npriorities(base), 4);

    assert_int_equal(event_add(ev, NULL), 0);
    event_active(ev, EV_TIMEOUT, 0);
    /* NONBLOCK runs the active callbacks; the base is then empty. */
    assert_int_equal(tu_loop(base, EVLOOP_NONBLOCK), 1);
    assert_int_equal(r.calls, 1);
    assert_int_equal(event_del(ev), 0);

    /* A non-pending event may be reassigned. */
    assert_int_equal(event_assign(ev, base, -1, 0, noop_cb, NULL), 0);
    assert_ptr_equal(event_get_callback(ev), noop_cb);
    event_debug_unassign(ev);
    free(ev);
}

static struct event *self_seen;

static void
self_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    self_seen = arg;
}

static void
test_event_self_cbarg(void **state)
{
    struct event_base *base = *state;
    struct event *ev;

    self_seen = NULL;
    ev = event_new(base, -1, 0, self_cb, event_self_cbarg());
    assert_non_null(ev);
    assert_ptr_equal(event_get_callback_arg(ev), ev);
    event_active(ev, EV_TIMEOUT, 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_ptr_equal(self_seen, ev);
    event_free(ev);
}

static void
test_event_struct_size(void **state)
{
    (void)state;
#ifdef _WIN32
    /* 64-bit Windows: an 8-byte SOCKET, and a struct timeval of two
     * 4-byte longs in ev_io and ev_timeout. */
    assert_int_equal(event_get_struct_event_size(), 120);
#else
    assert_int_equal(event_get_struct_event_size(), 128);
#endif
    assert_int_equal(event_get_struct_event_size(), sizeof(struct event));
}

static void
test_event_initialized(void **state)
{
    struct event_base *base = *state;
    struct event *raw, *ev;

    raw = calloc(1, event_get_struct_event_size());
    assert_non_null(raw);
    assert_false(event_initialized(raw));
    assert_int_equal(event_assign(raw, base, -1, 0, noop_cb, NULL), 0);
    assert_true(event_initialized(raw));
    event_debug_unassign(raw);
    free(raw);

    ev = event_new(base, -1, 0, noop_cb, NULL);
    assert_true(event_initialized(ev));
    event_free(ev);
}

static void
test_event_pending(void **state)
{
    struct event_base *base = *state;
    const short all = EV_READ | EV_WRITE | EV_TIMEOUT | EV_SIGNAL;
    struct timeval tv, now, want;
    evutil_socket_t fds[2];
    struct event *ev;
    long diff;

    tu_socketpair(fds);
    ev = event_new(base, fds[0], EV_READ, noop_cb, NULL);
    assert_int_equal(event_pending(ev, all, NULL), 0);

    assert_int_equal(event_add(ev, tu_tv(&tv, 2000)), 0);
    assert_int_equal(event_pending(ev, EV_READ, NULL), EV_READ);
    assert_int_equal(event_pending(ev, EV_WRITE, NULL), 0);
    assert_int_equal(event_pending(ev, all, NULL), EV_READ | EV_TIMEOUT);

    /* The expiry is reported on the wall clock. */
    memset(&tv, 0, sizeof(tv));
    assert_int_equal(event_pending(ev, EV_TIMEOUT, &tv), EV_TIMEOUT);
    evutil_gettimeofday(&now, NULL);
    want.tv_sec = now.tv_sec + 2;
    want.tv_usec = now.tv_usec;
    diff = tu_ms_between(&want, &tv);
    if (diff < -200 || diff > 200)
        fail_msg("pending tv is %ld ms away from now + 2 s", diff);

    /* Re-adding without a timeout keeps the old timeout. */
    assert_int_equal(event_add(ev, NULL), 0);
    assert_int_equal(event_pending(ev, EV_TIMEOUT, NULL), EV_TIMEOUT);

    assert_int_equal(event_del(ev), 0);
    assert_int_equal(event_pending(ev, all, NULL), 0);

    /* An active event reports the flags it was activated with. */
    event_active(ev, EV_WRITE, 1);
    assert_int_equal(event_pending(ev, EV_WRITE, NULL), EV_WRITE);
    assert_int_equal(event_pending(ev, EV_READ, NULL), 0);
    assert_int_equal(event_del(ev), 0);
    assert_int_equal(event_pending(ev, all, NULL), 0);

    event_free(ev);
    tu_close_pair(fds);
}

static void
test_event_add_del_idempotent(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct event *ev, *never;
    int base_added;

    tu_socketpair(fds);
    base_added = event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED);
    ev = event_new(base, fds[0], EV_READ, noop_cb, NULL);
    never = event_new(base, fds[0], EV_READ, noop_cb, NULL);
    assert_int_equal(event_add(ev, NULL), 0);
    assert_int_equal(event_add(ev, NULL), 0);
    assert_int_equal(event_base_get_num_events(base,
        EVENT_BASE_COUNT_ADDED), base_added + 1);
    assert_int_equal(event_del(ev), 0);
    assert_int_equal(event_del(ev), 0);
    assert_int_equal(event_del(never), 0);
    assert_int_equal(event_base_get_num_events(base,
        EVENT_BASE_COUNT_ADDED), base_added);
    /* Nothing left: the loop reports that it had nothing to do. */
    assert_int_equal(tu_loop(base, 0), 1);
    event_free(ev);
    event_free(never);
    tu_close_pair(fds);
}

static void
test_event_del_variants(void **state)
{
    struct event_base *base = *state;
    struct event *a, *b;
    struct timeval tv;

    a = evtimer_new(base, noop_cb, NULL);
    b = evtimer_new(base, noop_cb, NULL);
    assert_int_equal(evtimer_add(a, tu_tv(&tv, 1000)), 0);
    assert_int_equal(evtimer_add(b, tu_tv(&tv, 1000)), 0);
    assert_int_equal(event_del_block(a), 0);
    assert_int_equal(event_del_noblock(b), 0);
    assert_false(evtimer_pending(a, NULL));
    assert_false(evtimer_pending(b, NULL));
    assert_int_equal(tu_loop(base, 0), 1);
    event_free(a);
    event_free(b);
}

static void
test_event_remove_timer(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct timeval tv;
    struct event *ev;
    struct rec r;

    tu_socketpair(fds);
    rec_init(&r, base);
    r.stop_after = 1;
    r.drain = 1;
    ev = event_new(base, fds[0], EV_READ, rec_cb, &r);
    assert_int_equal(event_add(ev, tu_tv(&tv, 50)), 0);
    assert_int_equal(event_remove_timer(ev), 0);
    assert_int_equal(event_pending(ev, EV_TIMEOUT, NULL), 0);
    assert_int_equal(event_pending(ev, EV_READ, NULL), EV_READ);
    /* Removing a timer that is not there is fine too. */
    assert_int_equal(event_remove_timer(ev), 0);

    /* The timeout would have fired by now; it does not. */
    assert_int_equal(tu_run(base, 200), 1);
    assert_int_equal(r.calls, 0);

    tu_write_str(fds[1], "x");
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.what[0], EV_READ);
    event_free(ev);
    tu_close_pair(fds);
}

static void
test_event_active_merges(void **state)
{
    struct event_base *base = *state;
    struct event *ev;
    struct rec r;

    rec_init(&r, base);
    ev = event_new(base, -1, 0, rec_cb, &r);
    event_active(ev, EV_READ, 0);
    event_active(ev, EV_WRITE, 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.what[0], EV_READ | EV_WRITE);
    assert_int_equal(r.fd[0], -1);
    event_free(ev);
}

static void
test_event_del_cancels_active(void **state)
{
    struct event_base *base = *state;
    struct event *a, *b;
    struct rec ra, rb;

    rec_init(&ra, base);
    rec_init(&rb, base);
    a = event_new(base, -1, 0, rec_cb, &ra);
    b = event_new(base, -1, 0, rec_cb, &rb);
    event_active(a, EV_TIMEOUT, 0);
    event_active(b, EV_TIMEOUT, 0);
    assert_int_equal(event_del(a), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(ra.calls, 0);
    assert_int_equal(rb.calls, 1);
    event_free(a);
    event_free(b);
}

static void
test_event_free_pending(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct event *ev, *et;
    struct timeval tv;
    int base_added;

    tu_socketpair(fds);
    base_added = event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED);
    ev = event_new(base, fds[0], EV_READ | EV_PERSIST, noop_cb, NULL);
    et = evtimer_new(base, noop_cb, NULL);
    assert_int_equal(event_add(ev, NULL), 0);
    assert_int_equal(evtimer_add(et, tu_tv(&tv, 5000)), 0);
    event_active(et, EV_TIMEOUT, 0);
    /* event_free() on a pending, active event deletes it first. */
    event_free(ev);
    event_free(et);
    assert_int_equal(event_base_get_num_events(base,
        EVENT_BASE_COUNT_ADDED), base_added);
    tu_write_str(fds[1], "x");
    assert_int_equal(tu_loop(base, 0), 1);
    tu_close_pair(fds);
}

static void
test_event_signal_with_io_rejected(void **state)
{
    struct event_base *base = *state;
    struct event *ev, *raw;

    tu_log_clear();
    ev = event_new(base, TEST_SIG1, EV_SIGNAL | EV_READ, noop_cb, NULL);
    assert_null(ev);
    tu_assert_logged_error();

    raw = calloc(1, event_get_struct_event_size());
    assert_non_null(raw);
    tu_log_clear();
    assert_int_equal(event_assign(raw, base, TEST_SIG1, EV_SIGNAL | EV_WRITE,
        noop_cb, NULL), -1);
    tu_assert_logged_error();
    free(raw);
}

static void
test_event_base_set(void **state)
{
    struct event_base *base = *state, *other;
    struct event *ev;
    struct timeval tv;
    struct rec r;

    other = event_base_new();
    assert_non_null(other);
    rec_init(&r, other);
    ev = evtimer_new(base, rec_cb, &r);
    assert_int_equal(evtimer_add(ev, tu_tv(&tv, 1000)), 0);
    /* Only a non-pending event may move. */
    assert_int_equal(event_base_set(other, ev), -1);
    assert_ptr_equal(event_get_base(ev), base);
    assert_int_equal(event_del(ev), 0);
    assert_int_equal(event_base_set(other, ev), 0);
    assert_ptr_equal(event_get_base(ev), other);
    assert_int_equal(evtimer_add(ev, tu_tv(&tv, 10)), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(r.calls, 0);
    assert_int_equal(tu_loop(other, 0), 1);
    assert_int_equal(r.calls, 1);
    event_free(ev);
    event_base_free(other);
}

/* ------------------------------------------------------------------ */
/* I/O readiness. */

static void
test_io_read_once(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct event *ev;
    struct rec r;

    tu_socketpair(fds);
    rec_init(&r, base);
    r.drain = 1;
    ev = event_new(base, fds[0], EV_READ, rec_cb, &r);
    assert_int_equal(event_add(ev, NULL), 0);
    /* Not readable yet: a nonblocking pass runs nothing. */
    assert_int_equal(tu_loop(base, EVLOOP_NONBLOCK), 0);
    assert_int_equal(r.calls, 0);

    tu_write_str(fds[1], "hello");
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.what[0], EV_READ);
    assert_int_equal(r.fd[0], fds[0]);
    /* Without EV_PERSIST the event is no longer pending. */
    assert_int_equal(event_pending(ev, EV_READ, NULL), 0);

    /* Re-adding makes it fire again. */
    tu_write_str(fds[1], "again");
    assert_int_equal(event_add(ev, NULL), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(r.calls, 2);
    event_free(ev);
    tu_close_pair(fds);
}

static void
test_io_write_ready(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct event *ev;
    struct rec r;

    tu_socketpair(fds);
    rec_init(&r, base);
    ev = event_new(base, fds[0], EV_WRITE, rec_cb, &r);
    assert_int_equal(event_add(ev, NULL), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.what[0], EV_WRITE);
    event_free(ev);
    tu_close_pair(fds);
}

struct writer {
    evutil_socket_t fd;
    int left;
    struct event *ev;
};

static void
writer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct writer *w = arg;

    (void)fd;
    (void)what;
    if (w->left > 0) {
        if (send(w->fd, "w", 1, MSG_NOSIGNAL) == 1)
            w->left--;
    }
    if (w->left == 0)
        event_del(w->ev);
}

static void
test_io_persist_read(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct event *ev;
    struct writer w;
    struct timeval tv;
    struct rec r;

    tu_socketpair(fds);
    rec_init(&r, base);
    r.drain = 1;
    r.stop_after = 3;
    ev = event_new(base, fds[0], EV_READ | EV_PERSIST, rec_cb, &r);
    w.fd = fds[1];
    w.left = 3;
    w.ev = event_new(base, -1, EV_PERSIST, writer_cb, &w);
    assert_int_equal(event_add(ev, NULL), 0);
    assert_int_equal(event_add(w.ev, tu_tv(&tv, 20)), 0);
    assert_int_equal(tu_run(base, 3000), 0);
    assert_int_equal(r.calls, 3);
    /* A persistent event stays pending after firing. */
    assert_int_equal(event_pending(ev, EV_READ, NULL), EV_READ);
    event_free(ev);
    event_free(w.ev);
    tu_close_pair(fds);
}

static void
test_io_level_triggered(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct event *ev;
    struct rec r;
    int i;

    tu_socketpair(fds);
    rec_init(&r, base);
    ev = event_new(base, fds[0], EV_READ | EV_PERSIST, rec_cb, &r);
    assert_int_equal(event_add(ev, NULL), 0);
    tu_write_str(fds[1], "undrained");
    /* Data left unread keeps the fd readable on every pass. */
    for (i = 0; i < 3; ++i)
        assert_int_equal(tu_run_flags(base, EVLOOP_ONCE, 2000), 0);
    assert_int_equal(r.calls, 3);
    event_free(ev);
    tu_close_pair(fds);
}

static void
test_io_edge_triggered(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct event *ev;
    struct rec r;
    int i;

    if (!tu_base_has_features(base, EV_FEATURE_ET))
        skip();
    tu_socketpair(fds);
    rec_init(&r, base);
    ev = event_new(base, fds[0], EV_READ | EV_PERSIST | EV_ET, rec_cb, &r);
    assert_int_equal(event_get_events(ev), EV_READ | EV_PERSIST | EV_ET);
    assert_int_equal(event_add(ev, NULL), 0);
    tu_write_str(fds[1], "undrained");
    assert_int_equal(tu_run_flags(base, EVLOOP_ONCE, 2000), 0);
    assert_int_equal(r.calls, 1);
    /* As with libevent, the callback of an EV_ET event sees EV_ET. */
    assert_int_equal(r.what[0], EV_READ | EV_ET);
    /* Unread data does not re-trigger an edge-triggered event. */
    for (i = 0; i < 3; ++i)
        assert_int_equal(tu_loop(base, EVLOOP_NONBLOCK), 0);
    assert_int_equal(tu_run(base, 100), 1);
    assert_int_equal(r.calls, 1);
    /* New data is a new edge. */
    tu_write_str(fds[1], "more");
    assert_int_equal(tu_run_flags(base, EVLOOP_ONCE, 2000), 0);
    assert_int_equal(r.calls, 2);
    event_free(ev);
    /* A level-triggered event on the same base does not see it. */
    rec_init(&r, base);
    ev = event_new(base, fds[0], EV_READ, rec_cb, &r);
    assert_int_equal(event_add(ev, NULL), 0);
    assert_int_equal(tu_run_flags(base, EVLOOP_ONCE, 2000), 0);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.what[0], EV_READ);
    event_free(ev);
    tu_close_pair(fds);
}

static void
test_io_closed(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct event *ev;
    struct rec r;

    if (!tu_base_has_features(base, EV_FEATURE_EARLY_CLOSE))
        skip();
    tu_socketpair(fds);
    rec_init(&r, base);
    r.stop_after = 1;
    ev = event_new(base, fds[0], EV_CLOSED, rec_cb, &r);
    assert_int_equal(event_add(ev, NULL), 0);
    /* Data alone does not trigger EV_CLOSED. */
    tu_write_str(fds[1], "data");
    assert_int_equal(tu_run(base, 100), 1);
    assert_int_equal(r.calls, 0);
    tu_close(&fds[1]);
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(r.calls, 1);
    assert_true(r.what[0] & EV_CLOSED);
    event_free(ev);
    tu_close_pair(fds);
}

static void
test_io_closed_tcp(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct event *ev;
    struct rec r;

    if (!tu_base_has_features(base, EV_FEATURE_EARLY_CLOSE))
        skip();
    assert_int_equal(tu_tcp_pair(AF_INET, fds), 0);
    rec_init(&r, base);
    r.stop_after = 1;
    ev = event_new(base, fds[1], EV_READ | EV_CLOSED, rec_cb, &r);
    assert_int_equal(event_add(ev, NULL), 0);
    /* A half close (FIN) from the peer is an early close. */
    assert_int_equal(shutdown(fds[0], SHUT_WR), 0);
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(r.calls, 1);
    assert_true(r.what[0] & EV_CLOSED);
    event_free(ev);
    tu_close_pair(fds);
}

static void
test_io_eof_is_readable(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct event *ev;
    struct rec r;
    char c;

    tu_socketpair(fds);
    rec_init(&r, base);
    ev = event_new(base, fds[0], EV_READ, rec_cb, &r);
    assert_int_equal(event_add(ev, NULL), 0);
    tu_close(&fds[1]);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(r.calls, 1);
    assert_true(r.what[0] & EV_READ);
    assert_int_equal(recv(fds[0], &c, 1, 0), 0);
    event_free(ev);
    tu_close_pair(fds);
}

static void
test_io_read_timeout(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct timeval tv;
    struct event *ev;
    struct rec r;

    tu_socketpair(fds);
    rec_init(&r, base);
    ev = event_new(base, fds[0], EV_READ, rec_cb, &r);
    assert_int_equal(event_add(ev, tu_tv(&tv, 50)), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.what[0], EV_TIMEOUT);
    assert_int_equal(r.fd[0], fds[0]);
    tu_assert_ms(r.ms[0], 50);
    /* Data arriving before the timeout wins. */
    tu_write_str(fds[1], "x");
    assert_int_equal(event_add(ev, tu_tv(&tv, 1000)), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(r.calls, 2);
    assert_int_equal(r.what[1], EV_READ);
    assert_int_equal(event_pending(ev, EV_TIMEOUT, NULL), 0);
    event_free(ev);
    tu_close_pair(fds);
}

static void
persist_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct rec *r = arg;

    rec_cb(fd, what, arg);
    if (what & EV_TIMEOUT)
        event_base_loopexit(r->base, NULL);
}

static void
test_io_persist_timeout_rearms(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct event *ev;
    struct writer w;
    struct timeval tv;
    struct rec r;

    tu_socketpair(fds);
    rec_init(&r, base);
    r.drain = 1;
    ev = event_new(base, fds[0], EV_READ | EV_PERSIST, persist_timeout_cb,
        &r);
    w.fd = fds[1];
    w.left = 1;
    w.ev = evtimer_new(base, writer_cb, &w);
    assert_int_equal(event_add(ev, tu_tv(&tv, 150)), 0);
    assert_int_equal(evtimer_add(w.ev, tu_tv(&tv, 80)), 0);
    assert_int_equal(tu_run(base, 3000), 0);
    assert_int_equal(r.calls, 2);
    assert_int_equal(r.what[0], EV_READ);
    tu_assert_ms(r.ms[0], 80);
    /* The timeout restarted when the read fired. */
    assert_int_equal(r.what[1], EV_TIMEOUT);
    tu_assert_ms(r.ms[1], 80 + 150);
    event_free(ev);
    event_free(w.ev);
    tu_close_pair(fds);
}

/* A persistent event with a timeout woken by I/O: its timeout starts
 * again before its callback runs.  Whatever the callback does with the
 * event's timeout, or reads of it, sees that. */

enum {
    REARM_NOTHING,
    REARM_PEEK,
    REARM_ADD_NULL,
    REARM_ADD_TV,
    REARM_DEL,
    REARM_REMOVE_TIMER,
    REARM_FREE,
    REARM_ADD_BAD,
};

struct rearm_case {
    struct event *ev;
    int action;
    int calls;
    int peek_flags;
    struct timeval peek;
};

static void
rearm_cb(evutil_socket_t fd, short what, void *arg)
{
    struct rearm_case *rc = arg;
    struct timeval tv;
    char c;

    (void)what;
    (void)recv(fd, &c, 1, 0);
    rc->calls++;
    switch (rc->action) {
    case REARM_PEEK:
        rc->peek_flags = event_pending(rc->ev, EV_TIMEOUT | EV_READ,
            &rc->peek);
        break;
    case REARM_ADD_NULL:
        assert_int_equal(event_add(rc->ev, NULL), 0);
        break;
    case REARM_ADD_TV:
        assert_int_equal(event_add(rc->ev, tu_tv(&tv, 1500)), 0);
        break;
    case REARM_DEL:
        assert_int_equal(event_del(rc->ev), 0);
        break;
    case REARM_REMOVE_TIMER:
        assert_int_equal(event_remove_timer(rc->ev), 0);
        break;
    case REARM_FREE:
        event_free(rc->ev);
        rc->ev = NULL;
        break;
    case REARM_ADD_BAD:
        tv.tv_sec = -1;
        tv.tv_usec = 0;
        tu_log_capture();
        rc->peek_flags = event_add(rc->ev, &tv);
        tu_log_release();
        break;
    default:
        break;
    }
}

/* Milliseconds from *from to the wall-clock deadline *tv. */
static long
ms_until(const struct timeval *from, const struct timeval *tv)
{
    return (long)(tv->tv_sec - from->tv_sec) * 1000 +
           (long)(tv->tv_usec - from->tv_usec) / 1000;
}

/* Adds a 600 ms timeout at t0, makes the fd readable 200 ms later and
 * runs one iteration; returns the event's pending flags afterwards and
 * its deadline in ms after t0 through *deadline_ms. */
static int
rearm_run(struct event_base *base, struct rearm_case *rc, int action,
    long *deadline_ms, struct timeval *t0)
{
    evutil_socket_t fds[2];
    struct timeval tv, dl;
    int flags = 0;

    memset(rc, 0, sizeof(*rc));
    rc->action = action;
    tu_socketpair(fds);
    rc->ev = event_new(base, fds[0], EV_READ | EV_PERSIST, rearm_cb, rc);
    evutil_gettimeofday(t0, NULL);
    assert_int_equal(event_add(rc->ev, tu_tv(&tv, 600)), 0);
    tu_sleep_ms(200);
    tu_write_str(fds[1], "x");
    assert_int_equal(tu_loop(base, EVLOOP_ONCE), 0);
    assert_int_equal(rc->calls, 1);
    *deadline_ms = -1;
    if (rc->ev != NULL) {
        flags = event_pending(rc->ev, EV_TIMEOUT | EV_READ, &dl);
        if (flags & EV_TIMEOUT)
            *deadline_ms = ms_until(t0, &dl);
        event_free(rc->ev);
    }
    tu_close_pair(fds);
    return flags;
}

static void
test_io_timeout_rearm_seen_in_callback(void **state)
{
    struct event_base *base = *state;
    struct rearm_case rc;
    struct timeval t0;
    long ms;

    /* Untouched: 600 ms from the read, not from the add. */
    assert_int_equal(rearm_run(base, &rc, REARM_NOTHING, &ms, &t0),
        EV_READ | EV_TIMEOUT);
    tu_assert_ms(ms, 800);
    /* Read from the callback: already the new deadline. */
    assert_int_equal(rearm_run(base, &rc, REARM_PEEK, &ms, &t0),
        EV_READ | EV_TIMEOUT);
    assert_int_equal(rc.peek_flags, EV_READ | EV_TIMEOUT);
    tu_assert_ms(ms_until(&t0, &rc.peek), 800);
    /* event_add(ev, NULL) keeps the restarted timeout. */
    assert_int_equal(rearm_run(base, &rc, REARM_ADD_NULL, &ms, &t0),
        EV_READ | EV_TIMEOUT);
    tu_assert_ms(ms, 800);
    /* A new timeout replaces it. */
    assert_int_equal(rearm_run(base, &rc, REARM_ADD_TV, &ms, &t0),
        EV_READ | EV_TIMEOUT);
    tu_assert_ms(ms, 1700);
    /* Deleted, or its timer removed, it stays so. */
    assert_int_equal(rearm_run(base, &rc, REARM_DEL, &ms, &t0), 0);
    assert_int_equal(rearm_run(base, &rc, REARM_REMOVE_TIMER, &ms, &t0),
        EV_READ);
    /* A refused event_add leaves the restarted timeout. */
    assert_int_equal(rearm_run(base, &rc, REARM_ADD_BAD, &ms, &t0),
        EV_READ | EV_TIMEOUT);
    assert_int_equal(rc.peek_flags, -1);
    tu_assert_ms(ms, 800);
    /* Freed by its own callback. */
    assert_int_equal(rearm_run(base, &rc, REARM_FREE, &ms, &t0), 0);
    assert_int_equal(tu_loop(base, EVLOOP_NONBLOCK), 1);
}

static void
test_io_timeout_rearm_no_cache_time(void **state)
{
    struct event_config *cfg;
    struct event_base *base;
    struct rearm_case rc;
    struct timeval t0;
    long ms;

    (void)state;
    cfg = event_config_new();
    assert_non_null(cfg);
    assert_int_equal(event_config_set_flag(cfg,
                         EVENT_BASE_FLAG_NO_CACHE_TIME), 0);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    assert_non_null(base);
    /* The same without a cached time: the clock is read for the new
     * deadline. */
    assert_int_equal(rearm_run(base, &rc, REARM_NOTHING, &ms, &t0),
        EV_READ | EV_TIMEOUT);
    tu_assert_ms(ms, 800);
    assert_int_equal(rearm_run(base, &rc, REARM_PEEK, &ms, &t0),
        EV_READ | EV_TIMEOUT);
    tu_assert_ms(ms_until(&t0, &rc.peek), 800);
    assert_int_equal(rearm_run(base, &rc, REARM_ADD_TV, &ms, &t0),
        EV_READ | EV_TIMEOUT);
    tu_assert_ms(ms, 1700);
    event_base_free(base);
}

static void
test_io_several_events_one_fd(void **state)
{
    struct event_base *base = *state;
    struct rec r1, r2, rw;
    evutil_socket_t fds[2];
    struct event *e1, *e2, *ew;

    tu_socketpair(fds);
    rec_init(&r1, base);
    rec_init(&r2, base);
    rec_init(&rw, base);
    e1 = event_new(base, fds[0], EV_READ | EV_PERSIST, rec_cb, &r1);
    e2 = event_new(base, fds[0], EV_READ | EV_PERSIST, rec_cb, &r2);
    ew = event_new(base, fds[0], EV_WRITE, rec_cb, &rw);
    assert_int_equal(event_add(e1, NULL), 0);
    assert_int_equal(event_add(e2, NULL), 0);
    assert_int_equal(event_add(ew, NULL), 0);
    tu_write_str(fds[1], "x");
    assert_int_equal(tu_run_flags(base, EVLOOP_ONCE, 2000), 0);
    assert_int_equal(r1.calls, 1);
    assert_int_equal(r2.calls, 1);
    assert_int_equal(rw.calls, 1);
    assert_int_equal(r1.what[0], EV_READ);
    assert_int_equal(rw.what[0], EV_WRITE);

    /* Deleting one reader leaves the other one working. */
    assert_int_equal(event_del(e1), 0);
    assert_int_equal(tu_run_flags(base, EVLOOP_ONCE, 2000), 0);
    assert_int_equal(r1.calls, 1);
    assert_int_equal(r2.calls, 2);
    assert_int_equal(rw.calls, 1);

    assert_int_equal(event_del(e2), 0);
    tu_drain(fds[0]);
    event_free(e1);
    event_free(e2);
    event_free(ew);
    tu_close_pair(fds);
}

struct acceptor {
    evutil_socket_t accepted;
    struct event_base *base;
};

static void
accept_cb(evutil_socket_t fd, short what, void *arg)
{
    struct acceptor *a = arg;

    (void)what;
    /* Debug mode insists that watched sockets are nonblocking. */
#ifdef _WIN32
    a->accepted = accept(fd, NULL, NULL);
    if (a->accepted >= 0 && evutil_make_socket_nonblocking(a->accepted))
        tu_close(&a->accepted);
#else
    a->accepted = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
#endif
    event_base_loopexit(a->base, NULL);
}

static void
run_tcp_case(struct event_base *base, int family)
{
    struct sockaddr_storage ss;
    struct acceptor acc;
    evutil_socket_t lfd, cfd, pair[2];
    struct event *lev, *rev;
    ev_socklen_t len;
    struct rec r;
    char buf[16];
    int rv;

    lfd = tu_tcp_listener(family, &ss, &len);
    assert_true(lfd >= 0);
    acc.accepted = -1;
    acc.base = base;
    lev = event_new(base, lfd, EV_READ, accept_cb, &acc);
    assert_int_equal(event_add(lev, NULL), 0);
    cfd = socket(family, SOCK_STREAM, 0);
    assert_true(cfd >= 0);
    assert_int_equal(evutil_make_socket_nonblocking(cfd), 0);
    rv = connect(cfd, (struct sockaddr *)&ss, len);
#ifdef _WIN32
    assert_true(rv == 0 || WSAGetLastError() == WSAEWOULDBLOCK);
#else
    assert_true(rv == 0 || errno == EINPROGRESS);
#endif
    assert_int_equal(tu_run(base, 3000), 0);
    assert_true(acc.accepted >= 0);

    pair[0] = cfd;
    pair[1] = acc.accepted;
    rec_init(&r, base);
    rev = event_new(base, pair[1], EV_READ, rec_cb, &r);
    assert_int_equal(event_add(rev, NULL), 0);
    tu_write_str(pair[0], "hello");
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(r.calls, 1);
    assert_int_equal(recv(pair[1], buf, sizeof(buf), 0), 5);
    assert_memory_equal(buf, "hello", 5);

    event_free(lev);
    event_free(rev);
    tu_close_pair(pair);
    tu_close(&lfd);
}

static void
test_io_tcp_loopback(void **state)
{
    struct event_base *base = *state;

    run_tcp_case(base, AF_INET);
    if (tu_have_ipv6())
        run_tcp_case(base, AF_INET6);
}

/* ------------------------------------------------------------------ */
/* event_base_once. */

static void
test_base_once_fd(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct rec r;

    tu_socketpair(fds);
    rec_init(&r, base);
    r.drain = 1;
    assert_int_equal(event_base_once(base, fds[0], EV_READ, rec_cb, &r,
        NULL), 0);
    tu_write_str(fds[1], "x");
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.what[0], EV_READ);
    assert_int_equal(r.fd[0], fds[0]);
    /* The one-shot event is gone: more data runs nothing. */
    tu_write_str(fds[1], "y");
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(r.calls, 1);
    tu_close_pair(fds);
}

static void
test_base_once_timeout(void **state)
{
    struct event_base *base = *state;
    struct timeval tv;
    struct rec r;

    rec_init(&r, base);
    assert_int_equal(event_base_once(base, -1, EV_TIMEOUT, rec_cb, &r,
        tu_tv(&tv, 60)), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.what[0], EV_TIMEOUT);
    tu_assert_ms(r.ms[0], 60);

    /* No timeout: runs on the next pass. */
    rec_init(&r, base);
    assert_int_equal(event_base_once(base, -1, EV_TIMEOUT, rec_cb, &r,
        NULL), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(r.calls, 1);
    tu_assert_ms(r.ms[0], 0);
}

static void
test_base_once_fd_timeout(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct timeval tv;
    struct rec r;

    tu_socketpair(fds);
    rec_init(&r, base);
    assert_int_equal(event_base_once(base, fds[0], EV_READ, rec_cb, &r,
        tu_tv(&tv, 50)), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.what[0], EV_TIMEOUT);
    tu_assert_ms(r.ms[0], 50);
    tu_close_pair(fds);
}

static void
test_base_once_rejects(void **state)
{
    struct event_base *base = *state;
    struct timeval tv;

    assert_int_equal(event_base_once(base, TEST_SIG1, EV_SIGNAL, noop_cb,
        NULL, NULL), -1);
    assert_int_equal(event_base_once(base, -1, EV_TIMEOUT | EV_PERSIST,
        noop_cb, NULL, tu_tv(&tv, 10)), -1);
    assert_int_equal(tu_loop(base, 0), 1);
}

/* ------------------------------------------------------------------ */
/* The loop: flags, exits. */

static void
test_loop_empty(void **state)
{
    struct event_base *base = *state;

    assert_int_equal(event_base_dispatch(base), 1);
    assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 1);
    assert_int_equal(event_base_loop(base, EVLOOP_NONBLOCK), 1);
    assert_int_equal(event_base_loop(base,
        EVLOOP_NONBLOCK | EVLOOP_NO_EXIT_ON_EMPTY), 0);
}

static void
test_loop_nonblock(void **state)
{
    struct event_base *base = *state;
    struct timeval tv, start;
    struct event *ev, *act;
    struct rec r, ra;

    rec_init(&r, base);
    rec_init(&ra, base);
    ev = evtimer_new(base, rec_cb, &r);
    act = event_new(base, -1, 0, rec_cb, &ra);
    assert_int_equal(evtimer_add(ev, tu_tv(&tv, 1000)), 0);
    tu_now(&start);
    assert_int_equal(event_base_loop(base, EVLOOP_NONBLOCK), 0);
    assert_true(tu_ms_since(&start) < 100);
    assert_int_equal(r.calls, 0);
    event_active(act, EV_TIMEOUT, 0);
    assert_int_equal(event_base_loop(base, EVLOOP_NONBLOCK), 0);
    assert_int_equal(ra.calls, 1);
    assert_int_equal(r.calls, 0);
    event_free(ev);
    event_free(act);
}

static void
test_loop_once(void **state)
{
    struct event_base *base = *state;
    struct event *e1, *e2;
    struct timeval tv, start;
    struct rec r1, r2;

    rec_init(&r1, base);
    rec_init(&r2, base);
    e1 = evtimer_new(base, rec_cb, &r1);
    e2 = evtimer_new(base, rec_cb, &r2);
    assert_int_equal(evtimer_add(e1, tu_tv(&tv, 50)), 0);
    assert_int_equal(evtimer_add(e2, tu_tv(&tv, 3000)), 0);
    tu_now(&start);
    assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
    tu_assert_ms(tu_ms_since(&start), 50);
    assert_int_equal(r1.calls, 1);
    assert_int_equal(r2.calls, 0);
    assert_true(evtimer_pending(e2, NULL));
    event_free(e1);
    event_free(e2);
}

static struct event_base *exits_base;

static void
exit_or_break_cb(evutil_socket_t fd, short what, void *arg)
{
    int id = (int)(intptr_t)arg;

    order_cb(fd, what, arg);
    if (id == 1)
        event_base_loopexit(exits_base, NULL);
    else if (id == 11)
        event_base_loopbreak(exits_base);
}

static void
test_loopexit_runs_remaining(void **state)
{
    static const int expected[] = { 1, 2, 3 };
    struct event_base *base = *state;
    struct event *ev[3];
    int i;

    exits_base = base;
    order_reset();
    for (i = 0; i < 3; ++i) {
        ev[i] = event_new(base, -1, 0, exit_or_break_cb,
            (void *)(intptr_t)(i + 1));
        event_active(ev[i], EV_TIMEOUT, 0);
    }
    assert_false(event_base_got_exit(base));
    assert_int_equal(tu_run(base, 2000), 0);
    /* loopexit lets the callbacks already active in this pass run. */
    assert_order(expected, 3);
    assert_true(event_base_got_exit(base));
    assert_false(event_base_got_break(base));
    for (i = 0; i < 3; ++i)
        event_free(ev[i]);
}

static void
test_loopbreak_stops_at_once(void **state)
{
    static const int first[] = { 11 };
    static const int all[] = { 11, 12, 13 };
    struct event_base *base = *state;
    struct event *ev[3];
    int i;

    exits_base = base;
    order_reset();
    for (i = 0; i < 3; ++i) {
        ev[i] = event_new(base, -1, 0, exit_or_break_cb,
            (void *)(intptr_t)(i + 11));
        event_active(ev[i], EV_TIMEOUT, 0);
    }
    assert_int_equal(tu_run(base, 2000), 0);
    assert_order(first, 1);
    assert_true(event_base_got_break(base));
    assert_false(event_base_got_exit(base));
    /* The others are still active and run on the next loop. */
    assert_int_equal(event_pending(ev[1], EV_TIMEOUT, NULL), EV_TIMEOUT);
    assert_int_equal(event_pending(ev[2], EV_TIMEOUT, NULL), EV_TIMEOUT);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_false(event_base_got_break(base));
    assert_order(all, 3);
    for (i = 0; i < 3; ++i)
        event_free(ev[i]);
}

/* Read events on three ready sockets (ids 21, 22, 23) and a plain event
 * (24, priority 0 when urgent is set).  The first callback asks for a
 * break (or, with urgent, activates 24 more urgently, which asks for a
 * continue), then activates 24.  The sockets not run yet stay active,
 * ahead of 24 at their priority, as libevent had them all active before
 * the first callback; with epoll they are run straight from the
 * backend's results until the request. */
static struct event *brk_ev[4];
static int brk_urgent;

static void
brk_cb(evutil_socket_t fd, short what, void *arg)
{
    int id = (int)(intptr_t)arg;

    if (fd >= 0)
        tu_drain(fd);
    order_cb(fd, what, arg);
    if (id == 21) {
        if (!brk_urgent)
            event_base_loopbreak(exits_base);
        event_active(brk_ev[3], EV_TIMEOUT, 0);
    }
}

static void
run_break_in_fd_callbacks(struct event_base *base, int urgent)
{
    static const int first[] = { 21 };
    static const int after_break[] = { 21, 22, 23, 24 };
    static const int after_continue[] = { 21, 24, 22, 23 };
    evutil_socket_t fds[3][2];
    int i;

    exits_base = base;
    brk_urgent = urgent;
    order_reset();
    if (urgent)
        assert_int_equal(event_base_priority_init(base, 2), 0);
    for (i = 0; i < 3; ++i) {
        tu_socketpair(fds[i]);
        brk_ev[i] = event_new(base, fds[i][0], EV_READ | EV_PERSIST, brk_cb,
            (void *)(intptr_t)(21 + i));
        assert_non_null(brk_ev[i]);
        if (urgent)
            assert_int_equal(event_priority_set(brk_ev[i], 1), 0);
        assert_int_equal(event_add(brk_ev[i], NULL), 0);
    }
    brk_ev[3] = event_new(base, -1, 0, brk_cb, (void *)(intptr_t)24);
    if (urgent)
        assert_int_equal(event_priority_set(brk_ev[3], 0), 0);
    for (i = 0; i < 3; ++i)
        tu_write_str(fds[i][1], "x");
    if (!urgent) {
        assert_int_equal(tu_loop(base, EVLOOP_ONCE), 0);
        assert_order(first, 1);
        assert_true(event_base_got_break(base));
        assert_int_equal(event_pending(brk_ev[1], EV_READ, NULL), EV_READ);
        assert_int_equal(event_pending(brk_ev[2], EV_READ, NULL), EV_READ);
        assert_int_equal(event_base_get_num_events(base,
                             EVENT_BASE_COUNT_ACTIVE), 3);
    }
    assert_int_equal(tu_loop(base, EVLOOP_NONBLOCK), 0);
    assert_order(urgent ? after_continue : after_break, 4);
    for (i = 0; i < 4; ++i)
        event_free(brk_ev[i]);
    for (i = 0; i < 3; ++i) {
        evutil_closesocket(fds[i][0]);
        evutil_closesocket(fds[i][1]);
    }
}

static void
test_loopbreak_in_fd_callbacks(void **state)
{
    run_break_in_fd_callbacks(*state, 0);
}

static void
test_continue_in_fd_callbacks(void **state)
{
    run_break_in_fd_callbacks(*state, 1);
}

static void
test_got_flags_reset(void **state)
{
    struct event_base *base = *state;

    assert_false(event_base_got_break(base));
    assert_false(event_base_got_exit(base));
    /* Flags set outside the loop are visible until it is entered. */
    assert_int_equal(event_base_loopbreak(base), 0);
    assert_true(event_base_got_break(base));
    assert_int_equal(event_base_loop(base,
        EVLOOP_NONBLOCK | EVLOOP_NO_EXIT_ON_EMPTY), 0);
    assert_false(event_base_got_break(base));
}

static void
test_loopexit_before_loop(void **state)
{
    struct event_base *base = *state;
    struct timeval tv, start;
    struct event *ev;

    /* loopexit() on a base that is not running makes the next loop exit
     * after its first pass. */
    ev = evtimer_new(base, noop_cb, NULL);
    assert_int_equal(evtimer_add(ev, tu_tv(&tv, 3000)), 0);
    assert_int_equal(event_base_loopexit(base, NULL), 0);
    tu_now(&start);
    assert_int_equal(tu_loop(base, 0), 0);
    assert_true(tu_ms_since(&start) < 1000);
    assert_true(event_base_got_exit(base));
    assert_true(evtimer_pending(ev, NULL));
    event_free(ev);
}

static void
test_loopexit_timeout(void **state)
{
    struct event_base *base = *state;
    struct timeval tv, start;
    struct event *tick;
    struct rec r;
    long ms;

    rec_init(&r, base);
    tick = event_new(base, -1, EV_PERSIST, rec_cb, &r);
    assert_int_equal(event_add(tick, tu_tv(&tv, 10)), 0);
    tu_now(&start);
    assert_int_equal(event_base_loopexit(base, tu_tv(&tv, 120)), 0);
    assert_int_equal(tu_run(base, 3000), 0);
    ms = tu_ms_since(&start);
    tu_assert_ms(ms, 120);
    assert_true(event_base_got_exit(base));
    assert_true(r.calls >= 3);
    event_free(tick);
}

/*
 * loopcontinue: a (priority 1) makes a priority-0 read event ready and
 * maybe calls loopcontinue; b (priority 1) is already active.  Without
 * loopcontinue the loop finishes the priority-1 queue before polling.
 */
static evutil_socket_t continue_wfd;
static int continue_use;

static void
continue_cb(evutil_socket_t fd, short what, void *arg)
{
    order_cb(fd, what, arg);
    if ((intptr_t)arg == 1) {
        if (send(continue_wfd, "x", 1, MSG_NOSIGNAL) != 1)
            order_cb(fd, what, (void *)-1);
        if (continue_use)
            event_base_loopcontinue(exits_base);
    }
}

static void
run_continue_case(struct event_base *base, int use, const int *expected)
{
    struct event *a, *b, *high;
    evutil_socket_t fds[2];

    tu_socketpair(fds);
    continue_wfd = fds[1];
    continue_use = use;
    exits_base = base;
    order_reset();
    high = event_new(base, fds[0], EV_READ, dispatch_high_cb, (void *)100);
    assert_int_equal(event_priority_set(high, 0), 0);
    assert_int_equal(event_add(high, NULL), 0);
    a = event_new(base, -1, 0, continue_cb, (void *)1);
    b = event_new(base, -1, 0, continue_cb, (void *)2);
    assert_int_equal(event_priority_set(a, 1), 0);
    assert_int_equal(event_priority_set(b, 1), 0);
    event_active(a, EV_TIMEOUT, 0);
    event_active(b, EV_TIMEOUT, 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_order(expected, 3);
    event_free(a);
    event_free(b);
    event_free(high);
    tu_close_pair(fds);
}

static void
test_loopcontinue(void **state)
{
    static const int plain[] = { 1, 2, 100 };
    static const int cont[] = { 1, 100, 2 };
    struct event_base *base = *state;

    assert_int_equal(event_base_priority_init(base, 2), 0);
    run_continue_case(base, 0, plain);
    /* loopcontinue makes the loop poll again after the current callback,
     * so the newly readable high-priority event runs before b. */
    run_continue_case(base, 1, cont);
    /* Outside a loop it has no effect. */
    assert_int_equal(event_base_loopcontinue(base), 0);
    assert_int_equal(tu_loop(base, 0), 1);
}

static struct event *preempt_high;

static void
preempt_cb(evutil_socket_t fd, short what, void *arg)
{
    order_cb(fd, what, arg);
    if ((intptr_t)arg == 1)
        event_active(preempt_high, EV_TIMEOUT, 0);
}

static void
test_priority_preempts_queue(void **state)
{
    static const int expected[] = { 1, 100, 2 };
    struct event_base *base = *state;
    struct event *a, *b;

    /* Activating a higher-priority event from a callback runs it before
     * the rest of the lower-priority queue. */
    assert_int_equal(event_base_priority_init(base, 2), 0);
    order_reset();
    preempt_high = new_active(base, 100, 0);
    a = event_new(base, -1, 0, preempt_cb, (void *)1);
    b = event_new(base, -1, 0, preempt_cb, (void *)2);
    assert_int_equal(event_priority_set(a, 1), 0);
    assert_int_equal(event_priority_set(b, 1), 0);
    event_active(a, EV_TIMEOUT, 0);
    event_active(b, EV_TIMEOUT, 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_order(expected, 3);
    event_free(a);
    event_free(b);
    event_free(preempt_high);
}

static int reentrant_result = 99;

static void
reentrant_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    reentrant_result = event_base_loop(arg, EVLOOP_NONBLOCK);
}

static void
test_loop_reentrant_rejected(void **state)
{
    struct event_base *base = *state;
    struct event *ev;

    ev = event_new(base, -1, 0, reentrant_cb, base);
    event_active(ev, EV_TIMEOUT, 0);
    tu_log_clear();
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(reentrant_result, -1);
    tu_assert_logged_error();
    event_free(ev);
}

/* ------------------------------------------------------------------ */
/* Priorities. */

static void
test_priority_order(void **state)
{
    static const int expected[] = { 0, 1, 2, 10, 11 };
    struct event_base *base = *state;
    struct event *ev[5];
    int i;

    assert_int_equal(event_base_priority_init(base, 3), 0);
    assert_int_equal(event_base_get_npriorities(base), 3);
    order_reset();
    ev[0] = new_active(base, 2, 2);
    ev[1] = new_active(base, 10, -1);   /* default: middle, 1 */
    ev[2] = new_active(base, 1, 1);
    ev[3] = new_active(base, 0, 0);
    ev[4] = new_active(base, 11, 2);
    assert_int_equal(event_get_priority(ev[1]), 1);
    /* ids 10 and 11 make the order within a priority visible */
    assert_int_equal(event_priority_set(ev[1], 2), 0);
    event_active(ev[0], EV_TIMEOUT, 0);
    event_active(ev[1], EV_TIMEOUT, 0);
    event_active(ev[2], EV_TIMEOUT, 0);
    event_active(ev[3], EV_TIMEOUT, 0);
    event_active(ev[4], EV_TIMEOUT, 0);
    assert_int_equal(tu_loop(base, 0), 1);
    /* Priority 2 holds 2, 10, 11 in activation order. */
    assert_order(expected, 5);
    for (i = 0; i < 5; ++i)
        event_free(ev[i]);
}

static int starve_left;
static struct event *starve_ev;

static void
starve_self_cb(evutil_socket_t fd, short what, void *arg)
{
    order_cb(fd, what, arg);
    if (--starve_left > 0)
        event_active(starve_ev, EV_TIMEOUT, 0);
}

static void
test_priority_starves_lower(void **state)
{
    static const int expected[] = { 0, 0, 0, 0, 0, 1 };
    struct event_base *base = *state;
    struct event *low;

    assert_int_equal(event_base_priority_init(base, 2), 0);
    order_reset();
    starve_left = 5;
    starve_ev = event_new(base, -1, 0, starve_self_cb, (void *)0);
    assert_int_equal(event_priority_set(starve_ev, 0), 0);
    low = new_active(base, 1, 1);
    event_active(low, EV_TIMEOUT, 0);
    event_active(starve_ev, EV_TIMEOUT, 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_order(expected, 6);
    event_free(starve_ev);
    event_free(low);
}

static void
test_priority_invalid(void **state)
{
    struct event_base *base = *state;
    struct event *ev;

    assert_int_equal(event_base_priority_init(base, 0), -1);
    assert_int_equal(event_base_priority_init(base, -3), -1);
    assert_int_equal(event_base_priority_init(base, EVENT_MAX_PRIORITIES),
        -1);
    assert_int_equal(event_base_priority_init(base,
        EVENT_MAX_PRIORITIES - 1), 0);
    assert_int_equal(event_base_get_npriorities(base),
        EVENT_MAX_PRIORITIES - 1);
    assert_int_equal(event_base_priority_init(base, 3), 0);

    ev = event_new(base, -1, 0, noop_cb, NULL);
    assert_int_equal(event_priority_set(ev, 3), -1);
    assert_int_equal(event_priority_set(ev, -1), -1);
    assert_int_equal(event_priority_set(ev, 2), 0);
    assert_int_equal(event_get_priority(ev), 2);

    /* Neither may change while an event is active. */
    event_active(ev, EV_TIMEOUT, 0);
    assert_int_equal(event_priority_set(ev, 0), -1);
    assert_int_equal(event_get_priority(ev), 2);
    assert_int_equal(event_base_priority_init(base, 5), -1);
    assert_int_equal(event_base_get_npriorities(base), 3);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(event_base_priority_init(base, 5), 0);
    event_free(ev);
}

/* ------------------------------------------------------------------ */
/* Introspection. */

struct visits {
    const struct event *seen[8];
    int n;
    int stop_with;
};

static int
visit_cb(const struct event_base *base, const struct event *ev, void *arg)
{
    struct visits *v = arg;

    (void)base;
    if (v->n < 8)
        v->seen[v->n] = ev;
    v->n++;
    return v->stop_with;
}

static int
visit_count(const struct visits *v, const struct event *ev)
{
    int i, n = 0;

    for (i = 0; i < v->n && i < 8; ++i)
        n += v->seen[i] == ev;
    return n;
}

static void
test_foreach_event(void **state)
{
    struct event_base *base = *state;
    struct event *eio, *et, *eact, *eidle;
    evutil_socket_t fds[2];
    struct timeval tv;
    struct visits v;

    tu_socketpair(fds);
    eio = event_new(base, fds[0], EV_READ, noop_cb, NULL);
    et = evtimer_new(base, noop_cb, NULL);
    eact = event_new(base, -1, 0, noop_cb, NULL);
    eidle = event_new(base, -1, 0, noop_cb, NULL);
    assert_int_equal(event_add(eio, tu_tv(&tv, 5000)), 0);
    assert_int_equal(evtimer_add(et, tu_tv(&tv, 5000)), 0);
    event_active(eact, EV_TIMEOUT, 0);

    memset(&v, 0, sizeof(v));
    assert_int_equal(event_base_foreach_event(base, visit_cb, &v), 0);
    assert_int_equal(v.n, 3);
    assert_int_equal(visit_count(&v, eio), 1);
    assert_int_equal(visit_count(&v, et), 1);
    assert_int_equal(visit_count(&v, eact), 1);
    assert_int_equal(visit_count(&v, eidle), 0);

    /* A non-zero return stops the walk and is passed back. */
    memset(&v, 0, sizeof(v));
    v.stop_with = 7;
    assert_int_equal(event_base_foreach_event(base, visit_cb, &v), 7);
    assert_int_equal(v.n, 1);

    event_free(eio);
    event_free(et);
    event_free(eact);
    event_free(eidle);
    memset(&v, 0, sizeof(v));
    assert_int_equal(event_base_foreach_event(base, visit_cb, &v), 0);
    assert_int_equal(v.n, 0);
    tu_close_pair(fds);
}

#ifdef _WIN32
/* No open_memstream: dump to a temporary file and read it back. */
static char *
dump_to_string(struct event_base *base)
{
    char dir[MAX_PATH], path[MAX_PATH];
    char *buf;
    long len;
    FILE *f;

    assert_true(GetTempPathA(sizeof(dir), dir) > 0);
    assert_true(GetTempFileNameA(dir, "tev", 0, path) != 0);
    f = fopen(path, "w+b");
    assert_non_null(f);
    event_base_dump_events(base, f);
    assert_int_equal(fflush(f), 0);
    len = ftell(f);
    assert_true(len >= 0);
    buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    rewind(f);
    assert_int_equal(fread(buf, 1, (size_t)len, f), len);
    buf[len] = '\0';
    fclose(f);
    DeleteFileA(path);
    return buf;
}
#else
static char *
dump_to_string(struct event_base *base)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f;

    f = open_memstream(&buf, &len);
    assert_non_null(f);
    event_base_dump_events(base, f);
    fclose(f);
    assert_non_null(buf);
    return buf;
}
#endif

static void
test_dump_events(void **state)
{
    struct event_base *base = *state;
    struct event *eio, *eact;
    evutil_socket_t fds[2];
    char *empty, *one, *two;

    tu_socketpair(fds);
    empty = dump_to_string(base);
    eio = event_new(base, fds[0], EV_READ | EV_PERSIST, noop_cb, NULL);
    assert_int_equal(event_add(eio, NULL), 0);
    one = dump_to_string(base);
    eact = event_new(base, -1, 0, noop_cb, NULL);
    event_active(eact, EV_TIMEOUT, 0);
    two = dump_to_string(base);

    assert_true(strlen(one) > strlen(empty));
    assert_true(strlen(two) > strlen(one));
    assert_non_null(strstr(one, "Inserted events"));
    assert_non_null(strstr(two, "Active events"));
    {
        char ptr[64];

        snprintf(ptr, sizeof(ptr), "%p", (void *)eio);
        assert_non_null(strstr(one, ptr));
        snprintf(ptr, sizeof(ptr), "%p", (void *)eact);
        assert_non_null(strstr(two, ptr));
    }
    free(empty);
    free(one);
    free(two);
    event_free(eio);
    event_free(eact);
    tu_close_pair(fds);
}

static void
test_num_events(void **state)
{
    struct event_base *base = *state;
    const int added = EVENT_BASE_COUNT_ADDED;
    const int active = EVENT_BASE_COUNT_ACTIVE;
    evutil_socket_t fds[2];
    struct event *eio, *et, *eact;
    struct timeval tv;
    int a0, c0;

    tu_socketpair(fds);
    a0 = event_base_get_num_events(base, added);
    c0 = event_base_get_num_events(base, active);
    assert_int_equal(c0, 0);
    assert_int_equal(event_base_get_num_events(base,
        EVENT_BASE_COUNT_VIRTUAL), 0);

    eio = event_new(base, fds[0], EV_READ, noop_cb, NULL);
    et = evtimer_new(base, noop_cb, NULL);
    eact = event_new(base, -1, 0, noop_cb, NULL);
    assert_int_equal(event_add(eio, NULL), 0);
    assert_int_equal(evtimer_add(et, tu_tv(&tv, 5000)), 0);
    assert_int_equal(event_base_get_num_events(base, added), a0 + 2);
    event_active(eact, EV_TIMEOUT, 0);
    assert_int_equal(event_base_get_num_events(base, active), 1);
    /* libevent 2.1 also counts the non-added active event under ADDED;
     * the documentation warns that the exact value may change. */
    assert_true(event_base_get_num_events(base, added | active) >= a0 + 3);
    assert_true(event_base_get_max_events(base, added, 0) >= a0 + 2);
    assert_true(event_base_get_max_events(base, active, 0) >= 1);

    assert_int_equal(event_del(eio), 0);
    assert_int_equal(event_del(et), 0);
    assert_int_equal(event_del(eact), 0);
    assert_int_equal(event_base_get_num_events(base, added), a0);
    assert_int_equal(event_base_get_num_events(base, active), 0);
    /* The maximum remembers the peak until cleared. */
    assert_true(event_base_get_max_events(base, added, 1) >= a0 + 2);
    assert_int_equal(event_base_get_max_events(base, added, 0), a0);
    assert_int_equal(event_base_get_max_events(base, active, 1), 1);
    assert_int_equal(event_base_get_max_events(base, active, 0), 0);
    event_free(eio);
    event_free(et);
    event_free(eact);
    tu_close_pair(fds);
}

static void
test_gettimeofday_cached_outside(void **state)
{
    struct event_base *base = *state;
    struct timeval cached, now;
    long diff;

    /* Outside the loop there is no cache: the real time is returned. */
    assert_int_equal(event_base_gettimeofday_cached(base, &cached), 0);
    evutil_gettimeofday(&now, NULL);
    diff = tu_ms_between(&cached, &now);
    assert_true(diff > -TU_EARLY_MS && diff < 50);
    tu_sleep_ms(30);
    assert_int_equal(event_base_gettimeofday_cached(base, &cached), 0);
    evutil_gettimeofday(&now, NULL);
    diff = tu_ms_between(&cached, &now);
    assert_true(diff > -TU_EARLY_MS && diff < 50);
    assert_int_equal(event_base_update_cache_time(base), 0);
}

struct cache_probe {
    struct event_base *base;
    struct timeval t1, t2, t3, real;
};

static void
cache_probe_cb(evutil_socket_t fd, short what, void *arg)
{
    struct cache_probe *p = arg;

    (void)fd;
    (void)what;
    event_base_gettimeofday_cached(p->base, &p->t1);
    tu_sleep_ms(40);
    evutil_gettimeofday(&p->real, NULL);
    event_base_gettimeofday_cached(p->base, &p->t2);
    event_base_update_cache_time(p->base);
    event_base_gettimeofday_cached(p->base, &p->t3);
}

static void
test_gettimeofday_cached_inside(void **state)
{
    struct event_base *base = *state;
    struct cache_probe p;
    struct event *ev;
    struct timeval tv;

    memset(&p, 0, sizeof(p));
    p.base = base;
    ev = evtimer_new(base, cache_probe_cb, &p);
    assert_int_equal(evtimer_add(ev, tu_tv(&tv, 10)), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    /* Inside a callback the time is cached... */
    assert_int_equal(p.t1.tv_sec, p.t2.tv_sec);
    assert_int_equal(p.t1.tv_usec, p.t2.tv_usec);
    assert_true(tu_ms_between(&p.t2, &p.real) >= 30);
    /* ...until the cache is updated. */
    assert_true(tu_ms_between(&p.t1, &p.t3) >= 30);
    event_free(ev);
}

static void
test_gettime_monotonic(void **state)
{
    struct event_base *base = *state;
    struct timeval a, b;

    assert_int_equal(event_gettime_monotonic(base, &a), 0);
    tu_sleep_ms(30);
    assert_int_equal(event_gettime_monotonic(base, &b), 0);
    assert_true(tu_ms_between(&a, &b) >= 20);
    assert_true(tu_ms_between(&a, &b) < 1000);
    assert_int_equal(event_gettime_monotonic(NULL, &a), -1);
    assert_int_equal(event_gettime_monotonic(base, NULL), -1);
}

static void
test_active_by_fd(void **state)
{
    struct event_base *base = *state;
    struct event *er, *eother;
    evutil_socket_t fds[2];
    struct rec r, ro;

    tu_socketpair(fds);
    rec_init(&r, base);
    rec_init(&ro, base);
    er = event_new(base, fds[0], EV_READ | EV_PERSIST, rec_cb, &r);
    eother = event_new(base, fds[1], EV_READ | EV_PERSIST, rec_cb, &ro);
    assert_int_equal(event_add(er, NULL), 0);
    assert_int_equal(event_add(eother, NULL), 0);

    /* Nothing listens for EV_WRITE on fds[0]. */
    event_base_active_by_fd(base, fds[0], EV_WRITE);
    assert_int_equal(tu_loop(base, EVLOOP_NONBLOCK), 0);
    assert_int_equal(r.calls, 0);

    event_base_active_by_fd(base, fds[0], EV_READ);
    assert_int_equal(tu_loop(base, EVLOOP_NONBLOCK), 0);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.what[0], EV_READ);
    assert_int_equal(ro.calls, 0);
    event_free(er);
    event_free(eother);
    tu_close_pair(fds);
}

static void
test_active_by_signal(void **state)
{
    struct event_base *base = *state;
    struct event *es;
    struct rec r;

    rec_init(&r, base);
    es = evsignal_new(base, TEST_SIG2, rec_cb, &r);
    assert_int_equal(evsignal_add(es, NULL), 0);
    event_base_active_by_signal(base, TEST_SIG2);
    assert_int_equal(tu_loop(base, EVLOOP_NONBLOCK), 0);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.what[0], EV_SIGNAL);
    assert_int_equal(r.fd[0], TEST_SIG2);
    event_free(es);
}

static struct event *running_seen;

static void
running_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    running_seen = event_base_get_running_event(arg);
}

static void
test_running_event(void **state)
{
    struct event_base *base = *state;
    struct event *ev;

    /* Outside a callback the result is undefined (libevent 2.1.12
     * crashes), so only the inside is checked. */
    running_seen = NULL;
    ev = event_new(base, -1, 0, running_cb, base);
    event_active(ev, EV_TIMEOUT, 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_ptr_equal(running_seen, ev);
    event_free(ev);
}

/* Persistent read events whose callbacks backends like epoll run
 * straight from their results: each callback sees its own event as the
 * running one, and once the loop is back none is running. */
static struct event *running_io_seen[2];
static int running_io_n;

static void
running_io_cb(evutil_socket_t fd, short what, void *arg)
{
    struct event_base *base = arg;
    struct event *self = event_base_get_running_event(base);
    char c;

    (void)what;
    assert_true(self != NULL);
    assert_int_equal(event_get_fd(self), fd);
    assert_true(running_io_n < 2);
    running_io_seen[running_io_n++] = self;
    assert_int_equal(recv(fd, &c, 1, 0), 1);
}

static void
test_running_event_io(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t a[2], b[2];
    struct event *ea, *eb;

    tu_socketpair(a);
    tu_socketpair(b);
    running_io_seen[0] = running_io_seen[1] = NULL;
    running_io_n = 0;
    ea = event_new(base, a[0], EV_READ | EV_PERSIST, running_io_cb, base);
    eb = event_new(base, b[0], EV_READ | EV_PERSIST, running_io_cb, base);
    assert_int_equal(event_add(ea, NULL), 0);
    assert_int_equal(event_add(eb, NULL), 0);
    tu_write_str(a[1], "x");
    tu_write_str(b[1], "y");
    assert_int_equal(tu_loop(base, EVLOOP_ONCE), 0);
    assert_int_equal(running_io_n, 2);
    /* Both ran, in either order, each seeing itself. */
    assert_true((running_io_seen[0] == ea && running_io_seen[1] == eb) ||
                (running_io_seen[0] == eb && running_io_seen[1] == ea));
    assert_null(event_base_get_running_event(base));
    /* Again with one event freed in between: nothing still names it. */
    event_free(ea);
    tu_write_str(b[1], "z");
    running_io_seen[0] = running_io_seen[1] = NULL;
    running_io_n = 0;
    assert_int_equal(tu_loop(base, EVLOOP_ONCE), 0);
    assert_int_equal(running_io_n, 1);
    assert_ptr_equal(running_io_seen[0], eb);
    assert_null(event_base_get_running_event(base));
    event_free(eb);
    tu_close_pair(a);
    tu_close_pair(b);
}

/* ------------------------------------------------------------------ */
/* Finalizers. */

static int fin_calls;
static int fin_saw_cb_done;
static int cb_done;
static int finalize_rv;

static void
fin_cb(struct event *ev, void *arg)
{
    (void)ev;
    (void)arg;
    fin_calls++;
    fin_saw_cb_done = cb_done;
}

static void
free_finalize_in_cb(evutil_socket_t fd, short what, void *arg)
{
    struct event *self = arg;

    (void)fd;
    (void)what;
    finalize_rv = event_free_finalize(0, self, fin_cb);
    /* The finalizer cannot run while this callback still does. */
    cb_done = fin_calls == 0 ? 1 : -1;
}

static void
test_free_finalize_in_callback(void **state)
{
    struct event_base *base = *state;
    struct event *ev;

    fin_calls = 0;
    cb_done = 0;
    fin_saw_cb_done = 0;
    finalize_rv = 99;
    ev = event_new(base, -1, EV_PERSIST, free_finalize_in_cb,
        event_self_cbarg());
    event_active(ev, EV_TIMEOUT, 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(finalize_rv, 0);
    assert_int_equal(fin_calls, 1);
    assert_int_equal(cb_done, 1);
    assert_int_equal(fin_saw_cb_done, 1);
    /* Nothing more happens later. */
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(fin_calls, 1);
}

static void
test_finalize_pending(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct event *ev;
    struct rec r;

    tu_socketpair(fds);
    fin_calls = 0;
    rec_init(&r, base);
    ev = malloc(event_get_struct_event_size());
    assert_non_null(ev);
    assert_int_equal(event_assign(ev, base, fds[0], EV_READ | EV_PERSIST,
        rec_cb, &r), 0);
    assert_int_equal(event_add(ev, NULL), 0);
    tu_write_str(fds[1], "x");
    /* Finalizing deletes the event: its callback never runs again. */
    assert_int_equal(event_finalize(0, ev, fin_cb), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(fin_calls, 1);
    assert_int_equal(r.calls, 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(fin_calls, 1);
    free(ev);
    tu_close_pair(fds);
}

static void
test_base_free_runs_finalizers(void **state)
{
    struct event_base *base;
    struct event *ev;

    (void)state;
    fin_calls = 0;
    base = event_base_new();
    ev = evtimer_new(base, noop_cb, NULL);
    assert_int_equal(event_free_finalize(0, ev, fin_cb), 0);
    event_base_free(base);
    assert_int_equal(fin_calls, 1);
}

static void
test_base_free_nofinalize(void **state)
{
    struct event_base *base;
    struct event *ev;

    (void)state;
    fin_calls = 0;
    base = event_base_new();
    ev = malloc(event_get_struct_event_size());
    assert_non_null(ev);
    assert_int_equal(event_assign(ev, base, -1, 0, noop_cb, NULL), 0);
    assert_int_equal(event_finalize(0, ev, fin_cb), 0);
    event_base_free_nofinalize(base);
    assert_int_equal(fin_calls, 0);
    free(ev);
}

/* ------------------------------------------------------------------ */
/* Common timeouts, reinit. */

static void
test_common_timeout_basic(void **state)
{
    static const int expected[] = { 50, 1, 2, 3, 130 };
    struct event_base *base = *state;
    const struct timeval *ct;
    struct event *ev[5];
    struct timeval tv;
    int i;

    ct = event_base_init_common_timeout(base, tu_tv(&tv, 100));
    assert_non_null(ct);
    order_reset();
    for (i = 0; i < 3; ++i) {
        ev[i] = evtimer_new(base, order_cb, (void *)(intptr_t)(i + 1));
        assert_int_equal(evtimer_add(ev[i], ct), 0);
        assert_true(evtimer_pending(ev[i], NULL));
    }
    ev[3] = evtimer_new(base, order_cb, (void *)50);
    ev[4] = evtimer_new(base, order_cb, (void *)130);
    assert_int_equal(evtimer_add(ev[3], tu_tv(&tv, 50)), 0);
    assert_int_equal(evtimer_add(ev[4], tu_tv(&tv, 130)), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_order(expected, 5);
    for (i = 0; i < 5; ++i)
        event_free(ev[i]);
}

static void
test_reinit_without_fork(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct event *eio, *et, *es;
    struct rec rio, rt, rs;
    struct timeval tv;

    tu_socketpair(fds);
    rec_init(&rio, base);
    rec_init(&rt, base);
    rec_init(&rs, base);
    rio.drain = 1;
    eio = event_new(base, fds[0], EV_READ | EV_PERSIST, rec_cb, &rio);
    et = evtimer_new(base, rec_cb, &rt);
    es = evsignal_new(base, TEST_SIG1, rec_cb, &rs);
    assert_int_equal(event_add(eio, NULL), 0);
    assert_int_equal(evtimer_add(et, tu_tv(&tv, 30)), 0);
    assert_int_equal(evsignal_add(es, NULL), 0);
    assert_int_equal(event_reinit(base), 0);
    tu_write_str(fds[1], "x");
    raise(TEST_SIG1);
    assert_int_equal(tu_run(base, 300), 1);
    assert_int_equal(rio.calls, 1);
    assert_int_equal(rt.calls, 1);
    assert_int_equal(rs.calls, 1);
    event_free(eio);
    event_free(et);
    event_free(es);
    tu_close_pair(fds);
}

/* ------------------------------------------------------------------ */
/* Bad input. */

static void
test_bad_base_free_null(void **state)
{
    (void)state;
    tu_log_clear();
    event_base_free(NULL);
    tu_assert_logged_error();
}

static void
test_bad_event_without_base(void **state)
{
    struct event *ev;
    struct timeval tv;

    (void)state;
    ev = calloc(1, event_get_struct_event_size());
    assert_non_null(ev);
    /* No base given and no current base: the event has none. */
    assert_int_equal(event_assign(ev, NULL, -1, 0, noop_cb, NULL), 0);
    assert_null(event_get_base(ev));
    tu_log_clear();
    assert_int_equal(event_add(ev, tu_tv(&tv, 10)), -1);
    tu_assert_logged_error();
    tu_log_clear();
    assert_int_equal(event_del(ev), -1);
    tu_assert_logged_error();
    event_debug_unassign(ev);
    free(ev);
}

static void
test_bad_negative_fd(void **state)
{
    struct event_base *base = *state;
    struct event *ev;
    struct rec r;
    int rv;

    /*
     * Bad input by the core issue's contract: refused with EBADF and a
     * message (libevent 2.1.12 adds it and never polls it).  Nothing
     * happens afterwards: no callback, no spin, no hang.  The bufferevent
     * layer still adds a socket bufferevent's events before it has its
     * socket, so that their timeouts run (test-bufferevent).
     */
    rec_init(&r, base);
    ev = event_new(base, -1, EV_READ, rec_cb, &r);
    assert_non_null(ev);
    tu_log_clear();
    errno = 0;
    rv = event_add(ev, NULL);
    assert_int_equal(rv, -1);
    assert_int_equal(errno, EBADF);
    tu_assert_logged_error();
    assert_false(event_pending(ev, EV_READ, NULL));
    assert_int_equal(tu_run(base, 100), 1);
    assert_int_equal(r.calls, 0);
    assert_int_equal(event_del(ev), 0);
    event_free(ev);
}

/* An fd beyond what any process can have is refused at once, with a
 * message, as by libevent (upstream's evmap_invalid_slots): no gigabytes
 * allocated and cleared first. */
static void
test_bad_huge_fd(void **state)
{
    static const int fds[] = { INT_MAX, INT_MAX / 2, 1 << 28 };
    struct event_base *base = *state;
    struct timeval start;
    struct event *ev;
    size_t i;

    for (i = 0; i < sizeof(fds) / sizeof(fds[0]); ++i) {
        ev = event_new(base, fds[i], EV_READ, rec_cb, NULL);
        assert_non_null(ev);
        tu_log_clear();
        tu_now(&start);
        assert_int_equal(event_add(ev, NULL), -1);
        assert_true(tu_ms_since(&start) < 500);
        tu_assert_logged_error();
        assert_false(event_pending(ev, EV_READ, NULL));
        event_free(ev);
    }
    assert_int_equal(tu_loop(base, EVLOOP_NONBLOCK), 1);
}

static void
test_bad_negative_timeout(void **state)
{
    struct event_base *base = *state;
    struct timeval tv;
    struct event *ev;
    struct rec r;

    /* Refused as bad input, with EINVAL and a message; the event stays
     * unscheduled and nothing fires.  (libevent 2.1.12 would schedule it
     * in the past; our contract treats a negative interval as an error.) */
    rec_init(&r, base);
    ev = evtimer_new(base, rec_cb, &r);
    tv.tv_sec = -1;
    tv.tv_usec = 0;
    tu_log_clear();
    errno = 0;
    assert_int_equal(evtimer_add(ev, &tv), -1);
    assert_int_equal(errno, EINVAL);
    tu_assert_logged_error();
    assert_false(evtimer_pending(ev, NULL));
    tv.tv_sec = 0;
    tv.tv_usec = -5;
    assert_int_equal(evtimer_add(ev, &tv), -1);
    assert_int_equal(event_base_once(base, -1, EV_TIMEOUT, rec_cb, &r, &tv),
        -1);
    assert_int_equal(tu_run(base, 50), 1);
    assert_int_equal(r.calls, 0);
    /* A zero interval is fine and fires on the next pass. */
    evutil_timerclear(&tv);
    assert_int_equal(evtimer_add(ev, &tv), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(r.calls, 1);
    event_free(ev);
}

static void
test_bad_closed_fd(void **state)
{
    struct event_base *base = *state;
    const char *method = event_base_get_method(base);
    evutil_socket_t fds[2], dead;
    struct event *ev;
    struct rec r;
    int rv;

    tu_socketpair(fds);
    dead = fds[0];
    tu_close(&fds[0]);
    rec_init(&r, base);
    ev = event_new(base, dead, EV_READ, rec_cb, &r);
    tu_log_clear();
    rv = event_add(ev, NULL);
    if (strcmp(method, "epoll") == 0 || strcmp(method, "io_uring") == 0) {
        /* epoll_ctl() fails at once with EBADF (io_uring makes a first
         * add as a call too). */
        assert_int_equal(rv, -1);
        tu_assert_logged_error();
        assert_false(event_pending(ev, EV_READ, NULL));
    } else {
        /* Other backends notice only when polling; whatever they report,
         * the loop must come back. */
        assert_int_equal(rv, 0);
        rv = tu_run(base, 200);
        assert_true(rv == -1 || rv == 1 || rv == 0);
        event_del(ev);
    }
    event_free(ev);
    tu_close_pair(fds);
}

/* 65535 events of one kind fit on one fd (libevent's 16-bit counts);
 * the next is refused with a message and changes nothing; the fd still
 * works for the events already there. */
static void
test_bad_too_many_events_on_fd(void **state)
{
    struct event_base *base = *state;
    enum { MAXN = 65535 };
    evutil_socket_t fds[2];
    struct event *evs, *extra, *writer;
    struct rec r;
    int i;

    tu_socketpair(fds);
    rec_init(&r, base);
    evs = calloc(MAXN, sizeof(*evs));
    assert_non_null(evs);
    for (i = 0; i < MAXN; ++i) {
        assert_int_equal(event_assign(&evs[i], base, fds[0], EV_READ,
                             rec_cb, &r), 0);
        if (event_add(&evs[i], NULL) != 0)
            fail_msg("event_add %d of %d failed", i, MAXN);
    }
    extra = event_new(base, fds[0], EV_READ, rec_cb, &r);
    assert_non_null(extra);
    tu_log_clear();
    errno = 0;
    assert_int_equal(event_add(extra, NULL), -1);
    assert_int_equal(errno, ENOSPC);
    tu_assert_logged_error();
    assert_false(event_pending(extra, EV_READ, NULL));
    /* Another kind still has room. */
    writer = event_new(base, fds[0], EV_WRITE, rec_cb, &r);
    assert_non_null(writer);
    assert_int_equal(event_add(writer, NULL), 0);
    assert_int_equal(event_del(writer), 0);
    event_free(writer);
    /* One goes, and there is room for one again. */
    assert_int_equal(event_del(&evs[0]), 0);
    assert_int_equal(event_add(extra, NULL), 0);
    assert_int_equal(event_del(extra), 0);
    assert_int_equal(event_add(&evs[0], NULL), 0);
    /* Readiness reaches all of them: one loop pass runs every callback. */
    tu_write_str(fds[1], "x");
    assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
    assert_int_equal(r.calls, MAXN);
    for (i = 0; i < MAXN; ++i)
        event_del(&evs[i]);
    event_free(extra);
    free(evs);
    tu_close_pair(fds);
}

/* The event accessors with a NULL event: a failure value and a message
 * each, no crash (libevent dereferences NULL). */
static void
test_bad_null_event_accessors(void **state)
{
    struct event_base *base = *state;

    tu_log_clear();
    assert_int_equal(event_base_get_features(NULL), 0);
    assert_int_equal(event_initialized(NULL), 0);
    assert_int_equal(event_get_fd(NULL), -1);
    assert_null(event_get_base(NULL));
    assert_int_equal(event_get_events(NULL), 0);
    assert_null(event_get_callback(NULL));
    assert_null(event_get_callback_arg(NULL));
    assert_int_equal(event_get_priority(NULL), -1);
    assert_int_equal(event_priority_set(NULL, 0), -1);
    event_debug_unassign(NULL);
    event_get_assignment(NULL, NULL, NULL, NULL, NULL, NULL);
    assert_true(tu_log_count(EVENT_LOG_WARN) >= 11);
    /* The base is untouched. */
    assert_true(event_base_get_features(base) >= 0);
}

/* An event assigned without a callback is accepted, as by libevent
 * (upstream's tests use such a timer to keep a loop alive), and firing it
 * runs nothing (libevent would call NULL); the accessors report NULL.
 * A NULL stored into the struct by hand is refused with a message. */
static void
test_bad_no_callback(void **state)
{
    struct event_base *base = *state;
    struct event *ev = event_new(base, -1, 0, NULL, NULL);
    event_callback_fn cb = rec_cb;
    struct timeval tv;

    assert_non_null(ev);
    assert_null(event_get_callback(ev));
    event_get_assignment(ev, NULL, NULL, NULL, &cb, NULL);
    assert_null(cb);
    assert_int_equal(event_add(ev, tu_tv(&tv, 1)), 0);
    assert_int_equal(event_pending(ev, EV_TIMEOUT, NULL), EV_TIMEOUT);
    assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED),
        1);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_false(event_pending(ev, EV_TIMEOUT, NULL));
    /* Runs the no-op, then finds nothing left. */
    event_active(ev, EV_TIMEOUT, 1);
    assert_int_equal(tu_loop(base, EVLOOP_NONBLOCK), 1);

    ev->ev_evcallback.evcb_cb_union.evcb_callback = NULL;
    tu_log_clear();
    errno = 0;
    assert_int_equal(event_add(ev, tu_tv(&tv, 1)), -1);
    assert_int_equal(errno, EINVAL);
    tu_assert_logged_error();
    assert_false(event_pending(ev, EV_TIMEOUT, NULL));
    tu_log_clear();
    event_active(ev, EV_TIMEOUT, 1);
    tu_assert_logged_error();
    assert_int_equal(tu_loop(base, EVLOOP_NONBLOCK), 1);
    event_free(ev);
}

/* ------------------------------------------------------------------ */
/* Several fds ready in one dispatch.  libevent activates all of them
 * before the first callback runs; whatever a callback then does to the
 * others (delete them, reuse an fd number, break, activate, count) must
 * give the same result as that. */

#define BATCH_N 3

struct batch {
    struct event_base *base;
    evutil_socket_t fds[BATCH_N][2];
    struct event *ev[BATCH_N];
    int calls[BATCH_N];
    short what[BATCH_N];
    int ncalls;
    int first;
    /* What the first callback to run does to the others. */
    int action;
    int seen_active;
    int seen_prio;
    int seen_prio_init;
    struct event *fresh;
    int fresh_calls;
};

enum {
    BATCH_NOTHING,
    BATCH_DEL_OTHERS,
    BATCH_REUSE_FD,
    BATCH_BREAK,
    BATCH_COUNT,
    BATCH_PRIO,
    BATCH_PRIO_INIT,
    BATCH_ACTIVATE_OTHERS,
    BATCH_REINIT,
};

static struct batch B;

#ifndef _WIN32
static void
batch_fresh_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    B.fresh_calls++;
}
#endif

static void
batch_cb(evutil_socket_t fd, short what, void *arg)
{
    int i = (int)(intptr_t)arg, j;
    char c;

    B.calls[i]++;
    B.what[i] |= what;
    if (what & EV_READ)
        (void)recv(fd, &c, 1, 0);
    if (B.ncalls++ != 0)
        return;
    B.first = i;
    switch (B.action) {
    case BATCH_DEL_OTHERS:
        for (j = 0; j < BATCH_N; j++)
            if (j != i)
                event_del(B.ev[j]);
        break;
#ifndef _WIN32
    case BATCH_REUSE_FD: {
        /* Another ready fd goes away and its number comes back as a
         * socket with nothing to read, watched by a new event. */
        evutil_socket_t pair[2];
        j = (i + 1) % BATCH_N;
        event_del(B.ev[j]);
        tu_socketpair(pair);
        assert_int_equal(dup2(pair[0], B.fds[j][0]), B.fds[j][0]);
        evutil_closesocket(pair[0]);
        evutil_closesocket(B.fds[j][1]);
        B.fds[j][1] = pair[1];
        B.fresh = event_new(B.base, B.fds[j][0], EV_READ | EV_PERSIST,
            batch_fresh_cb, NULL);
        assert_int_equal(event_add(B.fresh, NULL), 0);
        break;
    }
#endif
    case BATCH_BREAK:
        event_base_loopbreak(B.base);
        break;
    case BATCH_COUNT:
        B.seen_active = event_base_get_num_events(B.base,
            EVENT_BASE_COUNT_ACTIVE);
        break;
    case BATCH_PRIO:
        B.seen_prio = event_priority_set(B.ev[(i + 1) % BATCH_N], 0);
        break;
    case BATCH_PRIO_INIT:
        /* Fails with events active (libevent 2.1). */
        B.seen_prio_init = event_base_priority_init(B.base, 2);
        break;
    case BATCH_ACTIVATE_OTHERS:
        for (j = 0; j < BATCH_N; j++)
            if (j != i)
                event_active(B.ev[j], EV_WRITE, 0);
        break;
    case BATCH_REINIT:
        assert_int_equal(event_reinit(B.base), 0);
        break;
    default:
        break;
    }
}

/* BATCH_N pairs with a read event each (persistent or not), every one
 * readable, so that one dispatch reports them all. */
static void
batch_setup(struct event_base *base, int action, short flags)
{
    int i;

    memset(&B, 0, sizeof(B));
    B.base = base;
    B.action = action;
    B.first = -1;
    for (i = 0; i < BATCH_N; i++) {
        tu_socketpair(B.fds[i]);
        B.ev[i] = event_new(base, B.fds[i][0], EV_READ | flags, batch_cb,
            (void *)(intptr_t)i);
        assert_non_null(B.ev[i]);
        assert_int_equal(event_add(B.ev[i], NULL), 0);
    }
    for (i = 0; i < BATCH_N; i++)
        tu_write_str(B.fds[i][1], "x");
}

static void
batch_teardown(void)
{
    int i;

    if (B.fresh)
        event_free(B.fresh);
    for (i = 0; i < BATCH_N; i++) {
        event_free(B.ev[i]);
        tu_close_pair(B.fds[i]);
    }
}

static void
test_batch_all_run(void **state)
{
    int i;

    batch_setup(*state, BATCH_NOTHING, EV_PERSIST);
    assert_int_equal(tu_loop(*state, EVLOOP_ONCE), 0);
    for (i = 0; i < BATCH_N; i++) {
        assert_int_equal(B.calls[i], 1);
        assert_int_equal(B.what[i], EV_READ);
    }
    /* Drained: nothing more. */
    assert_int_equal(tu_loop(*state, EVLOOP_NONBLOCK), 0);
    assert_int_equal(B.ncalls, BATCH_N);
    batch_teardown();
}

static void
test_batch_nonpersist(void **state)
{
    int i;

    batch_setup(*state, BATCH_NOTHING, 0);
    assert_int_equal(tu_loop(*state, EVLOOP_ONCE), 0);
    for (i = 0; i < BATCH_N; i++) {
        assert_int_equal(B.calls[i], 1);
        assert_false(event_pending(B.ev[i], EV_READ, NULL));
    }
    /* Nothing left: the loop finds the base empty. */
    assert_int_equal(tu_loop(*state, 0), 1);
    batch_teardown();
}

static void
test_batch_del_others(void **state)
{
    int i;

    batch_setup(*state, BATCH_DEL_OTHERS, EV_PERSIST);
    assert_int_equal(tu_loop(*state, EVLOOP_ONCE), 0);
    assert_int_equal(B.ncalls, 1);
    for (i = 0; i < BATCH_N; i++)
        assert_int_equal(B.calls[i], i == B.first);
    batch_teardown();
}

#ifndef _WIN32
static void
test_batch_fd_reused(void **state)
{
    int j;

    batch_setup(*state, BATCH_REUSE_FD, EV_PERSIST);
    assert_int_equal(tu_loop(*state, EVLOOP_ONCE), 0);
    j = (B.first + 1) % BATCH_N;
    /* The deleted event did not run; the new one, on the same fd
     * number, had nothing to read and did not run either. */
    assert_int_equal(B.calls[j], 0);
    assert_int_equal(B.fresh_calls, 0);
    assert_int_equal(B.ncalls, BATCH_N - 1);
    assert_int_equal(tu_loop(*state, EVLOOP_NONBLOCK), 0);
    assert_int_equal(B.fresh_calls, 0);
    /* Now it has something to read. */
    tu_write_str(B.fds[j][1], "y");
    assert_int_equal(tu_loop(*state, EVLOOP_ONCE), 0);
    assert_int_equal(B.fresh_calls, 1);
    assert_int_equal(B.calls[j], 0);
    batch_teardown();
}
#endif

static void
test_batch_break(void **state)
{
    struct event_base *base = *state;
    int i;

    batch_setup(base, BATCH_BREAK, EV_PERSIST);
    assert_int_equal(tu_loop(base, 0), 0);
    assert_int_equal(B.ncalls, 1);
    assert_true(event_base_got_break(base));
    /* The others stay active for the next run of the loop. */
    assert_int_equal(event_base_get_num_events(base,
                         EVENT_BASE_COUNT_ACTIVE), BATCH_N - 1);
    B.action = BATCH_NOTHING;
    assert_int_equal(tu_loop(base, EVLOOP_ONCE), 0);
    for (i = 0; i < BATCH_N; i++)
        assert_int_equal(B.calls[i], 1);
    batch_teardown();
}

static void
test_batch_count_active(void **state)
{
    /* From the first callback the others count as active; an active
     * event's priority cannot change, nor the number of priorities. */
    batch_setup(*state, BATCH_COUNT, EV_PERSIST);
    assert_int_equal(tu_loop(*state, EVLOOP_ONCE), 0);
    assert_int_equal(B.seen_active, BATCH_N - 1);
    assert_int_equal(B.ncalls, BATCH_N);
    batch_teardown();
    batch_setup(*state, BATCH_PRIO, EV_PERSIST);
    assert_int_equal(tu_loop(*state, EVLOOP_ONCE), 0);
    assert_int_equal(B.seen_prio, -1);
    assert_int_equal(B.ncalls, BATCH_N);
    batch_teardown();
    batch_setup(*state, BATCH_PRIO_INIT, EV_PERSIST);
    assert_int_equal(tu_loop(*state, EVLOOP_ONCE), 0);
    assert_int_equal(B.seen_prio_init, -1);
    assert_int_equal(event_base_get_npriorities(*state), 1);
    assert_int_equal(B.ncalls, BATCH_N);
    batch_teardown();
}

static void
test_batch_activate_others(void **state)
{
    int i;

    batch_setup(*state, BATCH_ACTIVATE_OTHERS, EV_PERSIST);
    assert_int_equal(tu_loop(*state, EVLOOP_ONCE), 0);
    /* Active already: one callback each, with both reasons. */
    for (i = 0; i < BATCH_N; i++) {
        assert_int_equal(B.calls[i], 1);
        assert_int_equal(B.what[i],
            i == B.first ? EV_READ : (EV_READ | EV_WRITE));
    }
    batch_teardown();
}

static void
test_batch_reinit(void **state)
{
    int i;

    batch_setup(*state, BATCH_REINIT, EV_PERSIST);
    assert_int_equal(tu_loop(*state, EVLOOP_ONCE), 0);
    for (i = 0; i < BATCH_N; i++)
        assert_int_equal(B.calls[i], 1);
    /* The events still work on the new backend state. */
    for (i = 0; i < BATCH_N; i++)
        tu_write_str(B.fds[i][1], "z");
    assert_int_equal(tu_loop(*state, EVLOOP_ONCE), 0);
    for (i = 0; i < BATCH_N; i++)
        assert_int_equal(B.calls[i], 2);
    batch_teardown();
}

static int io_timer_order[2], io_timer_n;
static struct event *io_timer_tm;

static void
io_then_timer_io_cb(evutil_socket_t fd, short what, void *arg)
{
    char c;
    (void)what;
    (void)arg;
    (void)recv(fd, &c, 1, 0);
    if (io_timer_n < 2)
        io_timer_order[io_timer_n++] = 1;
    /* Data came: cancel the timeout, as a 1.4-style program does. */
    event_del(io_timer_tm);
}

static void
io_then_timer_tm_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (io_timer_n < 2)
        io_timer_order[io_timer_n++] = 2;
}

static void
test_batch_io_before_timer(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct event *rd;
    struct timeval tv;

    /* A read event and a separate timeout, both due when the loop
     * wakes: the I/O callback runs first and cancels the timer. */
    io_timer_n = 0;
    tu_socketpair(fds);
    rd = event_new(base, fds[0], EV_READ, io_then_timer_io_cb, NULL);
    io_timer_tm = evtimer_new(base, io_then_timer_tm_cb, NULL);
    assert_int_equal(event_add(rd, NULL), 0);
    assert_int_equal(evtimer_add(io_timer_tm, tu_tv(&tv, 1)), 0);
    tu_write_str(fds[1], "x");
    tu_sleep_ms(20);
    assert_int_equal(tu_loop(base, EVLOOP_ONCE), 0);
    assert_int_equal(io_timer_n, 1);
    assert_int_equal(io_timer_order[0], 1);
    assert_false(evtimer_pending(io_timer_tm, NULL));
    event_free(rd);
    event_free(io_timer_tm);
    tu_close_pair(fds);
}

static evutil_socket_t relay_to;
static int relay_calls[2];

static void
relay_cb(evutil_socket_t fd, short what, void *arg)
{
    int i = (int)(intptr_t)arg;
    char c;
    (void)what;
    (void)recv(fd, &c, 1, 0);
    relay_calls[i]++;
    if (i == 0)
        tu_write_str(relay_to, "r");
}

static void
test_batch_nonblock_goes_on(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t a[2], b[2];
    struct event *ea, *eb;

    /* EVLOOP_NONBLOCK keeps iterating while callbacks run: what the
     * first callback makes ready runs in the same call. */
    relay_calls[0] = relay_calls[1] = 0;
    tu_socketpair(a);
    tu_socketpair(b);
    relay_to = b[1];
    ea = event_new(base, a[0], EV_READ | EV_PERSIST, relay_cb, (void *)0);
    eb = event_new(base, b[0], EV_READ | EV_PERSIST, relay_cb, (void *)1);
    assert_int_equal(event_add(ea, NULL), 0);
    assert_int_equal(event_add(eb, NULL), 0);
    tu_write_str(a[1], "s");
    assert_int_equal(tu_loop(base, EVLOOP_NONBLOCK), 0);
    assert_int_equal(relay_calls[0], 1);
    assert_int_equal(relay_calls[1], 1);
    event_free(ea);
    event_free(eb);
    tu_close_pair(a);
    tu_close_pair(b);
}

#ifndef _WIN32
/* Differential check of the direct run: the same random script of
 * callbacks (drain or not, delete, re-add, close and reuse an fd number,
 * wake another fd, activate another event, change a priority, timers
 * and timeouts due in the next iteration, break; one priority or three)
 * on a default base and on one whose callback limit (never reached)
 * keeps every callback going through the queue.  The two must call the
 * same callbacks in the same order. */

#define DIFF_N 12
#define DIFF_ROUNDS 60

struct diff_run {
    struct event_base *base;
    evutil_socket_t fds[DIFF_N][2];
    struct event *ev[DIFF_N];
    struct event *tm[DIFF_N];
    unsigned rng;
    char log[16384];
    size_t len;
    int calls;
};

static struct diff_run *D;

static unsigned
diff_rand(unsigned n)
{
    D->rng = D->rng * 1103515245u + 12345u;
    return ((D->rng >> 16) & 0x7fff) % n;
}

static void
diff_log(const char *fmt, int a, int b)
{
    int n;

    if (D->len + 32 >= sizeof(D->log))
        return;
    n = snprintf(D->log + D->len, sizeof(D->log) - D->len, fmt, a, b);
    if (n > 0)
        D->len += (size_t)n;
}

static void diff_act(int i, evutil_socket_t fd);

static void
diff_cb(evutil_socket_t fd, short what, void *arg)
{
    int i = (int)(intptr_t)arg;

    D->calls++;
    diff_log("%d:%d ", i, what);
    diff_act(i, fd);
}

static void
diff_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    int i = (int)(intptr_t)arg;

    (void)fd;
    (void)what;
    D->calls++;
    diff_log("T%d ", i, 0);
    diff_act(-1, -1);
}

/* One random action from callback i (-1: a timer) on fd. */
static void
diff_act(int i, evutil_socket_t fd)
{
    int j = (int)diff_rand(DIFF_N);
    struct timeval zero = { 0, 0 };
    char buf[64];

    switch (diff_rand(15)) {
    case 0:
    case 1:
    case 2:
    case 3:
        if (fd >= 0)
            while (recv(fd, buf, sizeof(buf), 0) > 0)
                ;
        break;
    case 4:
        if (fd >= 0)
            (void)recv(fd, buf, 1, 0); /* stays readable */
        break;
    case 10:
        /* Runs in the next iteration, with that iteration's I/O. */
        evtimer_add(D->tm[j], &zero);
        break;
    case 11:
        event_active(D->ev[j], EV_WRITE, 0);
        break;
    case 13:
        /* Fails for an active event, and beyond the base's
         * priorities. */
        event_priority_set(D->ev[j], (int)diff_rand(3));
        break;
    case 12:
        /* A timeout due at once: I/O and timeout in the same
         * iteration, again and again until deleted. */
        if (diff_rand(3) == 0)
            event_add(D->ev[j], &zero);
        else if (event_del(D->ev[j]) == 0)
            event_add(D->ev[j], NULL);
        break;
    case 5:
        event_del(D->ev[j]);
        break;
    case 6:
        event_add(D->ev[j], NULL);
        break;
    case 7:
        if (j != i) {
            /* fd j goes away; its number comes back as a new socket,
             * watched again now or later. */
            evutil_socket_t pair[2];
            event_del(D->ev[j]);
            tu_socketpair(pair);
            assert_int_equal(dup2(pair[0], D->fds[j][0]), D->fds[j][0]);
            evutil_closesocket(pair[0]);
            evutil_closesocket(D->fds[j][1]);
            D->fds[j][1] = pair[1];
            if (diff_rand(2))
                event_add(D->ev[j], NULL);
        }
        break;
    case 8:
        tu_write_str(D->fds[j][1], "w");
        break;
    default:
        if (diff_rand(4) == 0)
            event_base_loopbreak(D->base);
        break;
    }
}

/* Odd seeds use three priorities: the events one (the middle one, or
 * the first for ev[0] one time in two), the timers any. */
static void
diff_run_script(struct diff_run *d, struct event_base *base, unsigned seed)
{
    int i, round, prios = seed % 2 ? 3 : 1;

    memset(d, 0, sizeof(*d));
    D = d;
    d->base = base;
    d->rng = seed;
    assert_int_equal(event_base_priority_init(base, prios), 0);
    for (i = 0; i < DIFF_N; i++) {
        tu_socketpair(d->fds[i]);
        d->ev[i] = event_new(base, d->fds[i][0], EV_READ | EV_PERSIST,
            diff_cb, (void *)(intptr_t)i);
        if (i == 0 && seed % 4 == 1)
            assert_int_equal(event_priority_set(d->ev[i], 0), 0);
        assert_int_equal(event_add(d->ev[i], NULL), 0);
        d->tm[i] = evtimer_new(base, diff_timer_cb, (void *)(intptr_t)i);
        if (prios > 1)
            assert_int_equal(event_priority_set(d->tm[i],
                                 (int)diff_rand((unsigned)prios)), 0);
    }
    for (round = 0; round < DIFF_ROUNDS; round++) {
        for (i = 0; i < DIFF_N; i++)
            if (diff_rand(2))
                tu_write_str(d->fds[i][1], "r");
        diff_log("| ", 0, 0);
        assert_true(event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK) >=
                    0);
    }
    for (i = 0; i < DIFF_N; i++) {
        event_free(d->ev[i]);
        event_free(d->tm[i]);
        tu_close_pair(d->fds[i]);
    }
    /* Nothing may stay active for the next script's priority_init. */
    while (event_base_get_num_events(base, EVENT_BASE_COUNT_ACTIVE) > 0)
        assert_true(event_base_loop(base, EVLOOP_NONBLOCK) >= 0);
    D = NULL;
}

static void
test_batch_same_as_queue(void **state)
{
    static struct diff_run direct, queued;
    struct event_base *qbase;
    struct event_config *cfg;
    unsigned seed;

    cfg = event_config_new();
    assert_non_null(cfg);
    /* Any callback limit sends callbacks through the queue. */
    assert_int_equal(event_config_set_max_dispatch_interval(cfg, NULL,
                         1000000, 0), 0);
    qbase = event_base_new_with_config(cfg);
    event_config_free(cfg);
    assert_non_null(qbase);
    assert_string_equal(event_base_get_method(qbase),
        event_base_get_method(*state));
    for (seed = 1; seed <= 40; seed++) {
        diff_run_script(&direct, *state, seed);
        diff_run_script(&queued, qbase, seed);
        if (strcmp(direct.log, queued.log) != 0) {
            print_message("seed %u\ndirect: %s\nqueued: %s\n", seed,
                direct.log, queued.log);
            fail();
        }
        assert_true(direct.calls > 50);
    }
    event_base_free(qbase);
}
#endif

/* ---- Differences from libevent 2.1.12 found by test/diff/ ---- */

struct quirk_log {
    char text[256];
};

static void
quirk_cb(evutil_socket_t fd, short what, void *arg)
{
    struct quirk_log *log = arg;
    size_t n = strlen(log->text);

    (void)fd;
    snprintf(log->text + n, sizeof(log->text) - n, "0x%x ", what);
}

/* event_add of an event that waits to run without being added does not
 * add it for its fd (libevent's event_add_nolock_): it runs once, for
 * what it was activated with, and is then not pending. */
static void
test_quirk_add_active(void **state)
{
    struct event_base *base = *state;
    struct quirk_log log = {""};
    evutil_socket_t sp[2];
    struct event *ev;
    int i;

    tu_socketpair(sp);
    ev = event_new(base, sp[0], EV_READ | EV_PERSIST, quirk_cb, &log);
    event_active(ev, EV_WRITE, 1);
    assert_int_equal(event_add(ev, NULL), 0);
    assert_int_equal(event_pending(ev, EV_READ, NULL), 0);
    assert_int_equal(send(sp[1], "x", 1, 0), 1);
    for (i = 0; i < 3; i++)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    assert_string_equal(log.text, "0x4 ");
    assert_int_equal(event_pending(ev, EV_READ, NULL), 0);
    event_free(ev);
    tu_close_pair(sp);
}

/* A timeout deletes the event before activating it for EV_TIMEOUT alone
 * (libevent's timeout_process): a readiness found in the same pass is
 * dropped; a persistent event with a zero interval is not re-added. */
static void
test_quirk_zero_persist_timeout(void **state)
{
    struct event_base *base = *state;
    struct quirk_log log = {""};
    struct timeval zero = {0, 0};
    evutil_socket_t sp[2];
    struct event *ev;
    int i;

    tu_socketpair(sp);
    ev = event_new(base, sp[0], EV_WRITE | EV_PERSIST, quirk_cb, &log);
    assert_int_equal(event_add(ev, &zero), 0);
    for (i = 0; i < 3; i++)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    assert_string_equal(log.text, "0x1 ");
    assert_int_equal(event_pending(ev, EV_WRITE | EV_TIMEOUT, NULL), 0);
    event_free(ev);
    tu_close_pair(sp);
}

/* The maximum of a count just cleared stays 0 until something new is
 * counted; a pass that counts nothing new leaves it. */
static void
test_quirk_max_after_clear(void **state)
{
    struct event_base *base = *state;
    struct timeval hour = {3600, 0};
    struct event *ev = event_new(base, -1, 0, quirk_cb, NULL);
    const int added = EVENT_BASE_COUNT_ADDED;

    assert_int_equal(event_add(ev, &hour), 0);
    assert_int_equal(event_base_get_max_events(base, added, 1), 1);
    assert_int_equal(event_base_get_max_events(base, added, 0), 0);
    event_base_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(event_base_get_num_events(base, added), 1);
    assert_int_equal(event_base_get_max_events(base, added, 0), 0);
    event_free(ev);
}

/* A callback activating its own persistent event for EV_TIMEOUT gets
 * that call: the timeout re-arm (libevent's, before the callback) does
 * not cancel it. */
static struct event *quirk_self_ev;
static int quirk_self_calls;

static void
quirk_self_cb(evutil_socket_t fd, short what, void *arg)
{
    struct quirk_log *log = arg;

    quirk_cb(fd, what, log);
    if (++quirk_self_calls == 1)
        event_active(quirk_self_ev, EV_TIMEOUT, 1);
}

static void
test_quirk_self_active_timeout(void **state)
{
    struct event_base *base = *state;
    struct quirk_log log = {""};
    struct timeval hour = {3600, 0};
    evutil_socket_t sp[2];

    tu_socketpair(sp);
    assert_int_equal(send(sp[1], "x", 1, 0), 1);
    quirk_self_calls = 0;
    quirk_self_ev = event_new(base, sp[0], EV_READ | EV_PERSIST,
        quirk_self_cb, &log);
    assert_int_equal(event_add(quirk_self_ev, &hour), 0);
    event_base_loop(base, EVLOOP_ONCE);
    assert_string_equal(log.text, "0x2 0x1 ");
    event_free(quirk_self_ev);
    tu_close_pair(sp);
}

/* event_base_foreach_event visits internal events too (the signal
 * pipe's, a common-timeout queue's timer), as libevent 2.1 does. */
static int
quirk_count_visit(const struct event_base *base, const struct event *ev,
    void *arg)
{
    int *n = arg;

    (void)base;
    ++n[(ev->ev_evcallback.evcb_flags & EVLIST_INTERNAL) ? 1 : 0];
    return 0;
}

static void
test_quirk_foreach_internal(void **state)
{
    struct event_base *base = *state;
    struct timeval zero = {0, 0};
    struct event *sig = evsignal_new(base, TEST_SIG1, quirk_cb, NULL);
    struct event *t = evtimer_new(base, quirk_cb, NULL);
    const struct timeval *c0 = event_base_init_common_timeout(base, &zero);
    int n[2] = {0, 0};

    assert_non_null(c0);
    assert_int_equal(event_add(sig, NULL), 0);
    assert_int_equal(event_add(t, c0), 0);
    assert_int_equal(event_base_foreach_event(base, quirk_count_visit, n), 0);
    assert_int_equal(n[0], 2);
    /* The queue's timer, and the signal pipe's event where signals go
     * through one (not on kqueue). */
    assert_true(n[1] >= 1);
    event_free(sig);
    event_free(t);
}

/* Reset by the peer (EPOLLERR): EV_READ|EV_WRITE only, so an event that
 * waits only for EV_CLOSED does not run, as with libevent's epoll. */
static void
test_quirk_error_not_closed(void **state)
{
    struct event_base *base = *state;
    struct quirk_log closed = {""}, both = {""};
    evutil_socket_t sp[2];
    struct event *c, *rc;

    if (strcmp(event_base_get_method(base), "epoll") != 0 &&
        strcmp(event_base_get_method(base), "epoll (with changelist)") != 0)
        skip();
    tu_socketpair(sp);
    assert_int_equal(send(sp[0], "x", 1, 0), 1); /* left unread by sp[1] */
    c = event_new(base, sp[0], EV_CLOSED | EV_PERSIST, quirk_cb, &closed);
    rc = event_new(base, sp[0], EV_READ | EV_CLOSED | EV_PERSIST, quirk_cb,
        &both);
    assert_int_equal(event_add(c, NULL), 0);
    assert_int_equal(event_add(rc, NULL), 0);
    tu_close(&sp[1]);
    event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    assert_string_equal(closed.text, "");
    assert_string_equal(both.text, "0x2 ");
    event_free(c);
    event_free(rc);
    tu_close(&sp[0]);
}

/* A signal callback run several times sees the event's flags as they
 * are at each call (it may activate its event again). */
static struct event *quirk_sig_ev;

static void
quirk_sig_cb(evutil_socket_t fd, short what, void *arg)
{
    struct quirk_log *log = arg;

    quirk_cb(fd, what, log);
    if (strlen(log->text) < 5)
        event_active(quirk_sig_ev, EV_WRITE, 2);
}

static void
test_quirk_signal_calls_reread(void **state)
{
    struct event_base *base = *state;
    struct quirk_log log = {""};

    quirk_sig_ev = event_new(base, TEST_SIG1, EV_SIGNAL | EV_PERSIST,
        quirk_sig_cb, &log);
    assert_int_equal(event_add(quirk_sig_ev, NULL), 0);
    event_active(quirk_sig_ev, EV_SIGNAL, 2);
    event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    assert_memory_equal(log.text, "0x8 0x4 ", 8);
    event_free(quirk_sig_ev);
}

/* A finalizer that frees its event, run by event_base_free: nothing
 * reads the event afterwards (ASan checks; libevent 2.1.12 does). */
static void
quirk_finalize_free(struct event *ev, void *arg)
{
    (void)arg;
    free(ev);
}

/* event_base_active_by_fd from a callback, for an fd found ready in the
 * same pass whose callback has not run yet: that fd's event keeps the
 * place dispatch gave it, ahead of what the callback activated before
 * (libevent activates every ready fd before the first callback runs). */
struct quirk_byfd {
    struct event_base *base;
    struct event *manual;
    evutil_socket_t fd_b;
    char log[32];
};

static void
quirk_byfd_cb(evutil_socket_t fd, short what, void *arg)
{
    struct quirk_byfd *q = arg;
    char c;
    const char *name = fd == q->fd_b ? "B" : fd < 0 ? "M" : "A";

    (void)what;
    strcat(q->log, name);
    if (fd >= 0)
        assert_int_equal(recv(fd, &c, 1, 0), 1);
    if (*name == 'A') {
        event_active(q->manual, EV_TIMEOUT, 1);
        event_base_active_by_fd(q->base, q->fd_b, EV_READ);
    }
}

static void
test_quirk_active_by_fd_in_callback(void **state)
{
    struct quirk_byfd q;
    evutil_socket_t a[2], b[2];
    struct event *ea, *eb;
    int i;

    memset(&q, 0, sizeof(q));
    q.base = *state;
    tu_socketpair(a); /* lower fds first: poll and select report A first */
    tu_socketpair(b);
    q.fd_b = b[0];
    ea = event_new(q.base, a[0], EV_READ | EV_PERSIST, quirk_byfd_cb, &q);
    eb = event_new(q.base, b[0], EV_READ | EV_PERSIST, quirk_byfd_cb, &q);
    q.manual = event_new(q.base, -1, 0, quirk_byfd_cb, &q);
    assert_int_equal(event_add(ea, NULL), 0);
    assert_int_equal(event_add(eb, NULL), 0);
    /* A becomes ready before B: epoll reports them in that order. */
    assert_int_equal(send(a[1], "x", 1, 0), 1);
    assert_int_equal(send(b[1], "y", 1, 0), 1);
    for (i = 0; i < 3 && strlen(q.log) < 3; i++)
        event_base_loop(q.base, EVLOOP_ONCE);
    assert_string_equal(q.log, "ABM");
    event_free(ea);
    event_free(eb);
    event_free(q.manual);
    tu_close_pair(a);
    tu_close_pair(b);
}

/* The maxima move only when something is counted: after a clear,
 * event_base_active_by_fd for kinds no event on the fd wants leaves them
 * at 0 (libevent's counts move on activation only). */
static void
test_quirk_max_by_fd_nothing(void **state)
{
    struct event_base *base = *state;
    struct quirk_log log = {""};
    evutil_socket_t sp[2];
    struct event *ev;

    tu_socketpair(sp);
    ev = event_new(base, sp[0], EV_READ | EV_PERSIST, quirk_cb, &log);
    assert_int_equal(event_add(ev, NULL), 0);
    event_base_get_max_events(base,
        EVENT_BASE_COUNT_ADDED | EVENT_BASE_COUNT_ACTIVE, 1);
    event_base_active_by_fd(base, sp[0], EV_WRITE);
    assert_int_equal(
        event_base_get_max_events(base, EVENT_BASE_COUNT_ADDED, 0), 0);
    assert_int_equal(
        event_base_get_max_events(base, EVENT_BASE_COUNT_ACTIVE, 0), 0);
    event_base_active_by_fd(base, sp[0], EV_READ);
    assert_int_equal(
        event_base_get_max_events(base, EVENT_BASE_COUNT_ADDED, 0), 2);
    assert_int_equal(
        event_base_get_max_events(base, EVENT_BASE_COUNT_ACTIVE, 0), 1);
    event_free(ev);
    tu_close_pair(sp);
}

static void
test_quirk_finalizer_frees(void **state)
{
    struct event_base *base = event_base_new();
    struct event *ev = malloc(event_get_struct_event_size());

    (void)state;
    assert_non_null(base);
    assert_non_null(ev);
    assert_int_equal(event_assign(ev, base, -1, 0, quirk_cb, NULL), 0);
    assert_int_equal(event_finalize(0, ev, quirk_finalize_free), 0);
    event_base_free(base);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_base_new_free,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_base_free_nofinalize_empty,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_config_new_free,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_config_avoid_method,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_config_avoid_unknown_method,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_config_require_features,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_config_ignore_env,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_config_flags,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_config_num_cpus_hint,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_config_max_dispatch_callbacks,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_config_max_dispatch_interval,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_base_features,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_supported_methods,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_version,
            tu_setup_nobase, tu_teardown_nobase),

        cmocka_unit_test_setup_teardown(test_event_getters,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_event_assign,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_event_self_cbarg,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_event_struct_size,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_event_initialized,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_event_pending,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_event_add_del_idempotent,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_event_del_variants,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_event_remove_timer,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_event_active_merges,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_event_del_cancels_active,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_event_free_pending,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_event_signal_with_io_rejected,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_event_base_set,
            tu_setup, tu_teardown),

        cmocka_unit_test_setup_teardown(test_io_read_once,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_io_write_ready,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_io_persist_read,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_io_level_triggered,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_io_edge_triggered,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_io_closed,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_io_closed_tcp,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_io_eof_is_readable,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_io_read_timeout,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_io_persist_timeout_rearms,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_io_timeout_rearm_seen_in_callback,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_io_timeout_rearm_no_cache_time,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_io_several_events_one_fd,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_io_tcp_loopback,
            tu_setup, tu_teardown),

        cmocka_unit_test_setup_teardown(test_base_once_fd,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_base_once_timeout,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_base_once_fd_timeout,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_base_once_rejects,
            tu_setup, tu_teardown),

        cmocka_unit_test_setup_teardown(test_loop_empty,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_loop_nonblock,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_loop_once,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_loopexit_runs_remaining,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_loopbreak_stops_at_once,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_loopbreak_in_fd_callbacks,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_continue_in_fd_callbacks,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_got_flags_reset,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_loopexit_before_loop,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_loopexit_timeout,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_loopcontinue,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_loop_reentrant_rejected,
            tu_setup, tu_teardown),

        cmocka_unit_test_setup_teardown(test_batch_all_run,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_batch_nonpersist,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_batch_del_others,
            tu_setup, tu_teardown),
#ifndef _WIN32
        cmocka_unit_test_setup_teardown(test_batch_fd_reused,
            tu_setup, tu_teardown),
#endif
        cmocka_unit_test_setup_teardown(test_batch_break,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_batch_count_active,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_batch_activate_others,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_batch_reinit,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_batch_io_before_timer,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_batch_nonblock_goes_on,
            tu_setup, tu_teardown),
#ifndef _WIN32
        cmocka_unit_test_setup_teardown(test_batch_same_as_queue,
            tu_setup, tu_teardown),
#endif

        cmocka_unit_test_setup_teardown(test_priority_order,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_priority_starves_lower,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_priority_preempts_queue,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_priority_invalid,
            tu_setup, tu_teardown),

        cmocka_unit_test_setup_teardown(test_foreach_event,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_dump_events,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_num_events,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_gettimeofday_cached_outside,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_gettimeofday_cached_inside,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_gettime_monotonic,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_active_by_fd,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_active_by_signal,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_running_event,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_running_event_io,
            tu_setup, tu_teardown),

        cmocka_unit_test_setup_teardown(test_free_finalize_in_callback,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_finalize_pending,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_base_free_runs_finalizers,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_base_free_nofinalize,
            tu_setup_nobase, tu_teardown_nobase),

        cmocka_unit_test_setup_teardown(test_common_timeout_basic,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_reinit_without_fork,
            tu_setup, tu_teardown),

        cmocka_unit_test_setup_teardown(test_bad_base_free_null,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_bad_event_without_base,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_bad_negative_fd,
            tu_setup, tu_teardown),
                cmocka_unit_test_setup_teardown(test_bad_huge_fd,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_bad_negative_timeout,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_bad_null_event_accessors,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_bad_no_callback, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_bad_too_many_events_on_fd,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_bad_closed_fd,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_quirk_add_active,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_quirk_zero_persist_timeout,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_quirk_max_after_clear,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_quirk_self_active_timeout,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_quirk_foreach_internal,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_quirk_error_not_closed,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_quirk_signal_calls_reread,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_quirk_active_by_fd_in_callback,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_quirk_max_by_fd_nothing,
            tu_setup, tu_teardown),
        cmocka_unit_test(test_quirk_finalizer_frees),
    };

    tu_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

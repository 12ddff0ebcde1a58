/*
 * test-debug.c: event_enable_debug_mode() catches the misuse libevent 2.1
 * documents (an event re-assigned while added; any function called on an
 * event that was never assigned, or was unassigned), and debug logging
 * reaches the log callback.
 *
 * Debug mode is switched on in main() before anything else exists, as
 * libevent requires, so this binary is not run per backend.  Caught
 * misuse is fatal: each case runs in a forked child that installs a log
 * callback writing to a pipe; the parent checks that the child died (or
 * exited through the fatal callback) and that an error was logged first.
 *
 * TEST-STATIC (one case counts debug mode's records through an internal
 * function)
 */
#define _GNU_SOURCE
#include "test-util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/resource.h>
#include <sys/wait.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#define FATAL_CB_STATUS 42

static int child_log_fd = -1;

static void
child_log_cb(int severity, const char *msg)
{
    char line[512];
    int n;

    /* Only what matters here; debug chatter could fill the pipe. */
    if (severity < EVENT_LOG_WARN)
        return;
    n = snprintf(line, sizeof(line), "%d:%s\n", severity, msg);
    if (n > 0 && write(child_log_fd, line, (size_t)n) < 0)
        _exit(99);
}

static void
child_fatal_cb(int err)
{
    (void)err;
    _exit(FATAL_CB_STATUS);
}

struct child_result {
    int status;         /* wait status, -1 when it had to be killed */
    char log[4096];     /* everything the child logged */
};

/*
 * Runs fn(base, arg) in a child process with its own base.  The child
 * exits 0 when fn returns, i.e. when the misuse was not caught.
 */
static void
run_child(void (*fn)(struct event_base *, void *), void *arg,
    int with_fatal_cb, struct child_result *res)
{
    struct timeval start;
    size_t used = 0;
    int p[2], status;
    pid_t pid, r;
    ssize_t n;

    memset(res, 0, sizeof(*res));
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = { 0, 0 };
        struct event_base *base;

        close(p[0]);
        setrlimit(RLIMIT_CORE, &rl);
        signal(SIGALRM, SIG_DFL);
        alarm(10);
        child_log_fd = p[1];
        event_set_log_callback(child_log_cb);
        if (with_fatal_cb)
            event_set_fatal_callback(child_fatal_cb);
        base = event_base_new();
        if (base == NULL)
            _exit(98);
        fn(base, arg);
        _exit(0);
    }
    close(p[1]);
    /* The child's alarm bounds this read. */
    while (used < sizeof(res->log) - 1) {
        n = read(p[0], res->log + used, sizeof(res->log) - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    close(p[0]);
    tu_now(&start);
    for (;;) {
        r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (tu_ms_since(&start) > 10000) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            status = -1;
            break;
        }
        tu_sleep_ms(5);
    }
    res->status = status;
}

/* Asserts the child was stopped by libevent after logging an error. */
static void
assert_caught(const struct child_result *res, int with_fatal_cb)
{
    if (res->status == -1)
        fail_msg("child hung");
    if (with_fatal_cb) {
        if (!WIFEXITED(res->status) ||
            WEXITSTATUS(res->status) != FATAL_CB_STATUS)
            fail_msg("child did not exit through the fatal callback "
                "(status 0x%x, log: %s)", res->status, res->log);
    } else {
        if (WIFEXITED(res->status) && WEXITSTATUS(res->status) == 0)
            fail_msg("misuse was not caught (log: %s)", res->log);
        if (WIFSIGNALED(res->status) && WTERMSIG(res->status) == SIGALRM)
            fail_msg("child hung");
    }
    /* An EVENT_LOG_ERR message precedes the fatal exit. */
    if (strstr(res->log, "3:") == NULL)
        fail_msg("no error was logged before dying (log: %s)", res->log);
}

static void
dummy_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

/* ------------------------------------------------------------------ */
/* Misuse cases, each run in a child. */

/*
 * An event that was never assigned but looks plausible: a byte copy of an
 * assigned event (a classic bug), so it has a valid base and flags but
 * debug mode has never seen its address.
 */
static struct event *
never_assigned(struct event_base *base)
{
    size_t size = event_get_struct_event_size();
    struct event *orig, *copy;

    orig = malloc(size);
    copy = malloc(size);
    if (orig == NULL || copy == NULL ||
        event_assign(orig, base, -1, 0, dummy_cb, NULL) != 0)
        _exit(97);
    memcpy(copy, orig, size);
    event_debug_unassign(orig);
    free(orig);
    return copy;
}

static void
misuse_add_unassigned(struct event_base *base, void *arg)
{
    (void)arg;
    event_add(never_assigned(base), NULL);
}

static void
misuse_del_unassigned(struct event_base *base, void *arg)
{
    (void)arg;
    event_del(never_assigned(base));
}

static void
misuse_active_unassigned(struct event_base *base, void *arg)
{
    (void)arg;
    event_active(never_assigned(base), EV_TIMEOUT, 0);
}

static void
misuse_pending_unassigned(struct event_base *base, void *arg)
{
    (void)arg;
    event_pending(never_assigned(base), EV_TIMEOUT, NULL);
}

static void
misuse_free_unassigned(struct event_base *base, void *arg)
{
    (void)arg;
    event_free(never_assigned(base));
}

static void
misuse_base_set_unassigned(struct event_base *base, void *arg)
{
    (void)arg;
    event_base_set(base, never_assigned(base));
}

static void
misuse_reassign_added(struct event_base *base, void *arg)
{
    struct timeval tv = { 10, 0 };
    struct event *ev;

    (void)arg;
    ev = evtimer_new(base, dummy_cb, NULL);
    if (ev == NULL || evtimer_add(ev, &tv) != 0)
        _exit(96);
    event_assign(ev, base, -1, 0, dummy_cb, NULL);
}

static void
misuse_unassign_added(struct event_base *base, void *arg)
{
    struct timeval tv = { 10, 0 };
    struct event *ev;

    (void)arg;
    ev = malloc(event_get_struct_event_size());
    if (ev == NULL || event_assign(ev, base, -1, 0, dummy_cb, NULL) != 0 ||
        event_add(ev, &tv) != 0)
        _exit(96);
    event_debug_unassign(ev);
}

static void
misuse_add_after_unassign(struct event_base *base, void *arg)
{
    struct event *ev;

    (void)arg;
    ev = malloc(event_get_struct_event_size());
    if (ev == NULL || event_assign(ev, base, -1, 0, dummy_cb, NULL) != 0)
        _exit(96);
    event_debug_unassign(ev);
    event_add(ev, NULL);
}

static void
misuse_add_after_free(struct event_base *base, void *arg)
{
    size_t size = event_get_struct_event_size();
    struct event *ev, *copy;

    (void)arg;
    /* A copy taken before event_free() is no longer known afterwards. */
    ev = evtimer_new(base, dummy_cb, NULL);
    copy = malloc(size);
    if (ev == NULL || copy == NULL)
        _exit(96);
    memcpy(copy, ev, size);
    event_free(ev);
    event_add(ev == copy ? ev : copy, NULL);
}

static void
misuse_enable_twice(struct event_base *base, void *arg)
{
    (void)base;
    (void)arg;
    event_enable_debug_mode();
}

struct misuse_case {
    const char *name;
    void (*fn)(struct event_base *, void *);
};

static const struct misuse_case misuse_cases[] = {
    { "event_add on a never-assigned event", misuse_add_unassigned },
    { "event_del on a never-assigned event", misuse_del_unassigned },
    { "event_active on a never-assigned event", misuse_active_unassigned },
    { "event_pending on a never-assigned event",
        misuse_pending_unassigned },
    { "event_free on a never-assigned event", misuse_free_unassigned },
    { "event_base_set on a never-assigned event",
        misuse_base_set_unassigned },
    { "event_assign on an added event", misuse_reassign_added },
    { "event_debug_unassign on an added event", misuse_unassign_added },
    { "event_add after event_debug_unassign", misuse_add_after_unassign },
    { "event_add on a copy of a freed event", misuse_add_after_free },
    { "event_enable_debug_mode called twice", misuse_enable_twice },
};

static void
run_misuse(int with_fatal_cb)
{
    struct child_result res;
    size_t i;

    for (i = 0; i < sizeof(misuse_cases) / sizeof(misuse_cases[0]); ++i) {
        run_child(misuse_cases[i].fn, NULL, with_fatal_cb, &res);
        if (res.status != -1 && WIFEXITED(res.status) &&
            WEXITSTATUS(res.status) == 0)
            fail_msg("not caught: %s", misuse_cases[i].name);
        assert_caught(&res, with_fatal_cb);
    }
}

static void
test_debug_misuse_aborts(void **state)
{
    (void)state;
    run_misuse(0);
}

static void
test_debug_misuse_fatal_callback(void **state)
{
    (void)state;
    run_misuse(1);
}

static void
proper_use(struct event_base *base, void *arg)
{
    struct timeval tv = { 0, 1000 };
    struct event *ev, *heap;

    (void)arg;
    heap = malloc(event_get_struct_event_size());
    if (heap == NULL)
        _exit(96);
    if (event_assign(heap, base, -1, 0, dummy_cb, NULL) != 0 ||
        event_assign(heap, base, -1, 0, dummy_cb, NULL) != 0 ||
        event_add(heap, &tv) != 0 || event_del(heap) != 0)
        _exit(1);
    event_debug_unassign(heap);
    if (event_assign(heap, base, -1, 0, dummy_cb, NULL) != 0 ||
        event_add(heap, &tv) != 0)
        _exit(2);
    if (event_base_dispatch(base) != 1)
        _exit(3);
    event_debug_unassign(heap);
    free(heap);
    ev = evtimer_new(base, dummy_cb, NULL);
    if (ev == NULL || evtimer_add(ev, &tv) != 0)
        _exit(4);
    /* Freeing an added event is allowed: event_free() deletes it. */
    event_free(ev);
    event_base_free(base);
}

/* Runs fn in a child, which must exit 0 without logging an error. */
static void
expect_child_passes(void (*fn)(struct event_base *, void *),
    const char *what)
{
    struct child_result res;

    run_child(fn, NULL, 0, &res);
    if (res.status == -1 || !WIFEXITED(res.status) ||
        WEXITSTATUS(res.status) != 0)
        fail_msg("%s failed (status 0x%x, log: %s)", what, res.status,
            res.log);
    assert_null(strstr(res.log, "3:"));
}

static void
test_debug_proper_use_passes(void **state)
{
    (void)state;
    expect_child_passes(proper_use, "proper use");
}

/* ------------------------------------------------------------------ */
/* In-process checks. */

static void
test_debug_unassign_allows_reuse(void **state)
{
    struct event_base *base = *state;
    struct event *ev;
    struct timeval tv;

    ev = malloc(event_get_struct_event_size());
    assert_non_null(ev);
    assert_int_equal(event_assign(ev, base, -1, 0, dummy_cb, NULL), 0);
    assert_int_equal(event_add(ev, tu_tv(&tv, 5)), 0);
    assert_int_equal(event_del(ev), 0);
    event_debug_unassign(ev);
    /* Unassigned memory may be assigned again and used normally. */
    assert_int_equal(event_assign(ev, base, -1, 0, dummy_cb, NULL), 0);
    assert_int_equal(event_add(ev, tu_tv(&tv, 5)), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    event_debug_unassign(ev);
    free(ev);
    assert_int_equal(tu_log_count(EVENT_LOG_ERR), 0);
}

/* A finalizer may assign its event anew and the event is then usable:
 * debug mode forgets the old assignment before the finalizer runs, as in
 * libevent (upstream's finalize/debug_use_after_free). */
static int finalized;

static void
finalize_reassign(struct event *ev, void *arg)
{
    struct event_base *base = arg;
    assert_int_equal(event_assign(ev, base, -1, EV_TIMEOUT, NULL, base), 0);
    ++finalized;
}

static void
test_debug_finalizer_reassigns(void **state)
{
    struct event_base *base = *state;
    struct event *ev = event_new(base, -1, EV_TIMEOUT, NULL, base);
    int round;

    assert_non_null(ev);
    finalized = 0;
    assert_int_equal(event_add(ev, NULL), 0);
    for (round = 1; round <= 2; ++round) {
        assert_int_equal(event_finalize(0, ev, finalize_reassign), 0);
        assert_int_equal(tu_loop(base, 0), 1);
        assert_int_equal(finalized, round);
        assert_int_equal(event_add(ev, NULL), 0);
    }
    assert_int_equal(event_del(ev), 0);
    event_free(ev);
    assert_int_equal(tu_log_count(EVENT_LOG_ERR), 0);
}

/* A finalizer may free its event (event_finalize, then event_free from
 * the finalizer; upstream's finalize/within_cb in debug mode): libevent's
 * event_free does not insist that a finalized event is still known.  In a
 * child, since debug mode would abort the process. */
static int freed_in_finalizer;

static void
finalize_free(struct event *ev, void *arg)
{
    (void)arg;
    event_free(ev);
    freed_in_finalizer = 1;
}

static void
finalizer_frees(struct event_base *base, void *arg)
{
    struct event *ev = evtimer_new(base, dummy_cb, NULL);

    (void)arg;
    if (ev == NULL || event_finalize(0, ev, finalize_free) != 0)
        _exit(97);
    tu_loop(base, EVLOOP_NONBLOCK);
    if (!freed_in_finalizer)
        _exit(96);
}

static void
test_debug_finalizer_frees(void **state)
{
    (void)state;
    expect_child_passes(finalizer_frees, "freeing a finalized event");
}

static void
test_debug_logging(void **state)
{
    struct event_base *base;
    struct timeval tv;
    struct event *ev;

    (void)state;
    /* main() enabled EVENT_DBG_ALL before any base existed. */
    tu_log_clear();
    base = event_base_new();
    assert_non_null(base);
    ev = evtimer_new(base, dummy_cb, NULL);
    assert_int_equal(evtimer_add(ev, tu_tv(&tv, 1)), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    event_free(ev);
    assert_true(tu_log_count(EVENT_LOG_DEBUG) > 0);
    assert_int_equal(tu_log_count(EVENT_LOG_MSG), 0);

    /* Switched off, the same work logs nothing. */
    event_enable_debug_logging(EVENT_DBG_NONE);
    tu_log_clear();
    ev = evtimer_new(base, dummy_cb, NULL);
    assert_int_equal(evtimer_add(ev, tu_tv(&tv, 1)), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    event_free(ev);
    event_base_free(base);
    assert_int_equal(tu_log_count(EVENT_LOG_DEBUG), 0);
}

/* src/event-debug.c (internal; this test links the static library):
 * how many events debug mode has records of. */
unsigned event_debug_count_entries_(void);

static void
free_finalized(struct event_base *base)
{
    /* Bufferevents are released by finalizers the loop runs. */
    assert_true(event_base_loop(base, EVLOOP_NONBLOCK) >= 0);
}

/* Freeing bufferevents (socket with a rate limit, pair, filter) and a
 * rate-limit group forgets debug mode's records of their events. */
static void
test_debug_bufferevent_free_forgets_events(void **state)
{
    struct event_base *base = *state;
    struct bufferevent *sock, *pair[2], *filt;
    struct bufferevent_rate_limit_group *grp;
    struct ev_token_bucket_cfg *cfg;
    struct timeval tick = {0, 100000};
    evutil_socket_t fds[2];
    unsigned before;
    int round;

    free_finalized(base);
    for (round = 0; round < 3; ++round) {
        before = event_debug_count_entries_();
        tu_socketpair(fds);
        sock = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
        assert_non_null(sock);
        cfg = ev_token_bucket_cfg_new(1000, 1000, 1000, 1000, &tick);
        assert_non_null(cfg);
        assert_int_equal(bufferevent_set_rate_limit(sock, cfg), 0);
        grp = bufferevent_rate_limit_group_new(base, cfg);
        assert_non_null(grp);
        assert_int_equal(bufferevent_enable(sock, EV_READ | EV_WRITE), 0);
        assert_int_equal(bufferevent_pair_new(base, 0, pair), 0);
        filt = bufferevent_filter_new(pair[0], NULL, NULL,
            BEV_OPT_CLOSE_ON_FREE, NULL, NULL);
        assert_non_null(filt);
        bufferevent_free(sock);
        bufferevent_free(filt); /* and pair[0] with it */
        bufferevent_free(pair[1]);
        bufferevent_rate_limit_group_free(grp);
        ev_token_bucket_cfg_free(cfg);
        free_finalized(base);
        tu_close(&fds[1]);
        if (event_debug_count_entries_() != before)
            fail_msg("round %d: debug mode keeps %u records more than "
                     "before", round, event_debug_count_entries_() - before);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        /* Must stay first: it checks what EVENT_DBG_ALL produced. */
        cmocka_unit_test_setup_teardown(test_debug_logging,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_debug_misuse_aborts,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_debug_misuse_fatal_callback,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_debug_proper_use_passes,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_debug_unassign_allows_reuse,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_debug_finalizer_reassigns,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_debug_finalizer_frees,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(
            test_debug_bufferevent_free_forgets_events, tu_setup,
            tu_teardown),
    };

    tu_init_ex(1);
    event_enable_debug_logging(EVENT_DBG_ALL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test-log.c: log and fatal-error reporting (src/log.c).
 *
 * TEST-STATIC (calls the internal event_warn/event_errx/... directly)
 *
 * Whatever ends the process (fatal errors, assertions) runs in a forked
 * child whose stderr the parent captures.
 */
#include "event2/event-config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>

#include "log-internal.h"
#include "util-internal.h"

/* ------------------------------------------------------------------ */
/* Capturing callback */

#define MAX_MSGS 8

static int n_msgs;
static int severities[MAX_MSGS];
static char messages[MAX_MSGS][1100];

static void
capture_cb(int severity, const char *msg)
{
    if (n_msgs < MAX_MSGS) {
        severities[n_msgs] = severity;
        snprintf(messages[n_msgs], sizeof(messages[0]), "%s", msg);
    }
    n_msgs++;
}

static int
setup_capture(void **state)
{
    (void)state;
    n_msgs = 0;
    event_set_log_callback(capture_cb);
    return 0;
}

static int
teardown_capture(void **state)
{
    (void)state;
    event_set_log_callback(NULL);
    event_enable_debug_logging(EVENT_DBG_NONE);
    return 0;
}

static void
test_callback_gets_severity_and_message(void **state)
{
    (void)state;
    event_warnx("hello %d", 5);
    event_msgx("just %s", "saying");
    assert_int_equal(n_msgs, 2);
    assert_int_equal(severities[0], EVENT_LOG_WARN);
    assert_string_equal(messages[0], "hello 5");
    assert_int_equal(severities[1], EVENT_LOG_MSG);
    assert_string_equal(messages[1], "just saying");
}

static void
test_errno_variants(void **state)
{
    (void)state;
    errno = ENOENT;
    event_warn("open %s", "x");
    /* Logging leaves errno alone. */
    assert_int_equal(errno, ENOENT);
    errno = ECONNREFUSED;
    event_sock_warn(3, "connect");
    assert_int_equal(errno, ECONNREFUSED);
    assert_int_equal(n_msgs, 2);
    assert_int_equal(severities[0], EVENT_LOG_WARN);
    assert_string_equal(messages[0], "open x: No such file or directory");
    assert_int_equal(severities[1], EVENT_LOG_WARN);
    assert_string_equal(messages[1], "connect: Connection refused");
    errno = EAGAIN;
    event_warnx("no suffix");
    assert_string_equal(messages[2], "no suffix");
    assert_int_equal(errno, EAGAIN);
}

static int debug_arg_evaluations;

static int
counted(int v)
{
    debug_arg_evaluations++;
    return v;
}

static void
test_debug_logging_mask(void **state)
{
    (void)state;
    assert_int_equal(event_debug_logging_mask_, 0);
    event_debug(("invisible %d", counted(1)));
    event_debugx_("also invisible");
    assert_int_equal(n_msgs, 0);
    /* Arguments are not even evaluated while debug logging is off. */
    assert_int_equal(debug_arg_evaluations, 0);

    event_enable_debug_logging(EVENT_DBG_ALL);
    assert_int_equal(event_debug_logging_mask_, EVENT_DBG_ALL);
    event_debug(("visible %d", counted(2)));
    assert_int_equal(debug_arg_evaluations, 1);
    assert_int_equal(n_msgs, 1);
    assert_int_equal(severities[0], EVENT_LOG_DEBUG);
    assert_string_equal(messages[0], "visible 2");

    event_enable_debug_logging(EVENT_DBG_NONE);
    event_debug(("gone again %d", counted(3)));
    assert_int_equal(n_msgs, 1);
    assert_int_equal(debug_arg_evaluations, 1);
}

static void
test_long_messages_truncated(void **state)
{
    char big[2000];

    (void)state;
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    event_warnx("%s", big);
    assert_int_equal(strlen(messages[0]), 1023);
    /* No room left: the error text is dropped. */
    errno = ENOENT;
    event_warn("%s", big);
    assert_int_equal(strlen(messages[1]), 1023);
    assert_null(strchr(messages[1], ':'));
    /* Some room: the error text is cut to fit. */
    big[1015] = '\0';
    event_warn("%s", big);
    assert_int_equal(strlen(messages[2]), 1023);
    assert_memory_equal(messages[2] + 1015, ": No suc", 8);
}

static void
test_null_callback_restores_default(void **state)
{
    (void)state;
    event_set_log_callback(NULL);
    /* Goes to stderr (checked in a child below); not to capture_cb. */
    event_msgx("to stderr");
    assert_int_equal(n_msgs, 0);
}

/* ------------------------------------------------------------------ */
/* Children */

/* Run fn in a child with stderr captured into out; returns the wait
 * status. */
static int
run_child(void (*fn)(void), char *out, size_t outlen)
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
        fn();
        _exit(0);
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
child_default_sink(void)
{
    event_set_log_callback(NULL);
    event_enable_debug_logging(EVENT_DBG_ALL);
    event_warnx("w %d", 1);
    event_msgx("m");
    event_debugx_("d");
    errno = EPIPE;
    event_warn("x");
}

static void
test_default_sink_writes_stderr(void **state)
{
    char out[512];
    int status;

    (void)state;
    status = run_child(child_default_sink, out, sizeof(out));
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_string_equal(out,
        "[warn] w 1\n[msg] m\n[debug] d\n[warn] x: Broken pipe\n");
}

static void
stderr_log_cb(int severity, const char *msg)
{
    char line[1200];
    int n = snprintf(line, sizeof(line), "log(%d): %s\n", severity, msg);
    (void)!write(2, line, (size_t)n);
}

static void
fatal_cb(int err)
{
    char line[64];
    int n = snprintf(line, sizeof(line), "fatal(%d)\n", err);
    (void)!write(2, line, (size_t)n);
    _exit(42);
}

static void
child_fatal_callback(void)
{
    event_set_log_callback(stderr_log_cb);
    event_set_fatal_callback(fatal_cb);
    event_errx(7, "boom %s", "now");
}

static void
test_fatal_callback_called(void **state)
{
    char out[512];
    int status;

    (void)state;
    status = run_child(child_fatal_callback, out, sizeof(out));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 42);
    assert_string_equal(out, "log(3): boom now\nfatal(7)\n");
}

static void
returning_fatal_cb(int err)
{
    (void)err;
}

static void
child_fatal_callback_returns(void)
{
    event_set_log_callback(stderr_log_cb);
    event_set_fatal_callback(returning_fatal_cb);
    errno = ENOENT;
    event_err(9, "open");
}

static void
test_fatal_callback_returning_still_exits(void **state)
{
    char out[512];
    int status;

    (void)state;
    status = run_child(child_fatal_callback_returns, out, sizeof(out));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 9);
    assert_string_equal(out, "log(3): open: No such file or directory\n");
}

static void
child_assert_callback_returns(void)
{
    signal(SIGABRT, SIG_DFL);
    event_set_log_callback(stderr_log_cb);
    event_set_fatal_callback(returning_fatal_cb);
    EVUTIL_ASSERT(2 + 2 == 5);
}

static void
test_assert_aborts_even_if_callback_returns(void **state)
{
    char out[512];
    int status;

    (void)state;
    status = run_child(child_assert_callback_returns, out, sizeof(out));
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    assert_non_null(strstr(out, "Assertion 2 + 2 == 5 failed"));
}

static void
child_errx_default(void)
{
    event_errx(3, "bad %d", 3);
}

static void
child_sock_err_default(void)
{
    errno = ECONNRESET;
    event_sock_err(4, 5, "sock");
}

static void
test_fatal_default_exits(void **state)
{
    char out[512];
    int status;

    (void)state;
    status = run_child(child_errx_default, out, sizeof(out));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 3);
    assert_string_equal(out, "[err] bad 3\n");
    status = run_child(child_sock_err_default, out, sizeof(out));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 4);
    assert_string_equal(out, "[err] sock: Connection reset by peer\n");
}

static void
child_abort(void)
{
    signal(SIGABRT, SIG_DFL);
    event_errx(EVENT_ERR_ABORT_, "abort please");
}

static int assert_me;

static void
child_assert(void)
{
    signal(SIGABRT, SIG_DFL);
    event_set_log_callback(stderr_log_cb);
    EVUTIL_ASSERT(assert_me == 1);
}

static void
test_abort_and_assert(void **state)
{
    char out[512];
    int status;

    (void)state;
    status = run_child(child_abort, out, sizeof(out));
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    assert_non_null(strstr(out, "[err] abort please\n"));
    status = run_child(child_assert, out, sizeof(out));
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    assert_non_null(strstr(out, "log(3): "));
    assert_non_null(
        strstr(out, "Assertion assert_me == 1 failed in child_assert"));
    assert_non_null(strstr(out, "test-log.c:"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_callback_gets_severity_and_message,
            setup_capture, teardown_capture),
        cmocka_unit_test_setup_teardown(test_errno_variants, setup_capture,
            teardown_capture),
        cmocka_unit_test_setup_teardown(test_debug_logging_mask, setup_capture,
            teardown_capture),
        cmocka_unit_test_setup_teardown(test_long_messages_truncated,
            setup_capture, teardown_capture),
        cmocka_unit_test_setup_teardown(test_null_callback_restores_default,
            setup_capture, teardown_capture),
        cmocka_unit_test(test_default_sink_writes_stderr),
        cmocka_unit_test(test_fatal_callback_called),
        cmocka_unit_test(test_fatal_callback_returning_still_exits),
        cmocka_unit_test(test_assert_aborts_even_if_callback_returns),
        cmocka_unit_test(test_fatal_default_exits),
        cmocka_unit_test(test_abort_and_assert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

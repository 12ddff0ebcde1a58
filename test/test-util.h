/*
 * test-util.h: shared fixtures for the cmocka loop-level tests.
 *
 * Everything here goes through libevent's public API only, so the same
 * tests can be run against any libevent 2.1 compatible library.  The
 * helpers keep three promises that every test relies on:
 *   - no test can hang: the base fixture arms a watchdog (alarm) and the
 *     run helper bounds every loop with a private safety timer;
 *   - no fd or base leaks out of a passing test: the fixture frees its base
 *     and the socket helpers hand back fds the test must tu_close();
 *   - timing checks are tolerant: a deadline is met when it fires no
 *     earlier than TU_EARLY_MS before and less than tu_slack_ms() after.
 *
 * Callbacks run inside event_base_loop(); a failing cmocka assertion there
 * would longjmp out of the loop and leave the base in a running state, so
 * tests record what happened in callbacks and assert after the loop.
 */
#ifndef TEST_UTIL_H_INCLUDED_
#define TEST_UTIL_H_INCLUDED_

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <event2/event.h>
#include <event2/util.h>

/* Seconds a single test may run before the watchdog kills the binary. */
#define TU_TEST_TIMEOUT_SEC 30

/* How much earlier than requested a timer may fire (coarse clocks). */
#define TU_EARLY_MS 10

/* Default safety timeout for tu_run(), in milliseconds. */
#define TU_RUN_SAFETY_MS 5000

/*
 * Process-wide initialisation; call first thing in main() (after
 * evthread_use_pthreads() in threaded tests).  Honours EVTEST_DEBUG_MODE=1
 * by calling event_enable_debug_mode() exactly once, which libevent
 * requires to happen before any event or event_base exists.  Calling it
 * again is harmless.  The fixtures call it too, lazily.  On Windows it
 * also starts Winsock (WSAStartup).
 */
void tu_init(void);

/*
 * Like tu_init(), but enables debug mode when force_debug is non-zero
 * whatever the environment says.
 */
void tu_init_ex(int force_debug);

/* Non-zero when event_enable_debug_mode() was called by tu_init(). */
int tu_debug_mode(void);

/*
 * cmocka fixture: *state becomes a fresh struct event_base from
 * event_base_new(); arms the watchdog and starts log capture.
 */
int tu_setup(void **state);

/*
 * cmocka fixture: frees the base, disarms the watchdog, stops capture and
 * fails when the test left more descriptors open than it found.
 */
int tu_teardown(void **state);

/* cmocka fixture for tests that build their own base(s). */
int tu_setup_nobase(void **state);
int tu_teardown_nobase(void **state);

/* Number of open file descriptors of the process, or -1. */
int tu_count_fds(void);

/* A descriptor of the process whose /proc/self/fd link reads kind
 * ("anon_inode:[eventpoll]", "anon_inode:[io_uring]"), the last found,
 * or -1; *count, when count is not NULL, gets how many there are. */
int tu_anon_inode_fd(const char *kind, int *count);

/* Arm (seconds > 0) or disarm (0) the per-test watchdog. */
void tu_watchdog(unsigned seconds);

/*
 * Name of the backend the environment selects (EVENT_NOEPOLL etc.), as
 * event_base_get_method() would report it for a default base, or NULL
 * when the environment disables every backend.
 */
const char *tu_expected_method(void);

/* Non-zero when the running kernel can host the io_uring backend (what
 * backends/io_uring.c's init() requires), whether or not the library was
 * built with it. */
int tu_kernel_has_io_uring(void);
/* The io_uring method (epoll through the ring) can run here. */
int tu_kernel_has_io_uring_epoll(void);

/* Non-zero when base has every feature bit in features. */
int tu_base_has_features(struct event_base *base, int features);

/* ------------------------------------------------------------------ */
/* Sockets. */

/*
 * An AF_UNIX stream socketpair, both ends nonblocking and close-on-exec
 * (on Windows a TCP loopback pair from evutil_socketpair(), with 64 KB
 * socket buffers).
 * Fails the test when it cannot be made.
 */
void tu_socketpair(evutil_socket_t fds[2]);

/* Closes *fd when it is >= 0 and sets it to -1. */
void tu_close(evutil_socket_t *fd);

/* Closes both ends of a pair. */
void tu_close_pair(evutil_socket_t fds[2]);

/* Non-zero when fd is no longer open (closed by the test or the
 * library). */
int tu_fd_is_closed(evutil_socket_t fd);

/* Non-zero when an IPv6 socket can be bound to ::1. */
int tu_have_ipv6(void);

/*
 * A nonblocking TCP listener on the loopback address of family (AF_INET
 * for 127.0.0.1, AF_INET6 for ::1) and an ephemeral port.  The bound
 * address is stored in *ss and *len when they are not NULL.  Returns -1
 * when the family is not available.
 */
evutil_socket_t tu_tcp_listener(int family, struct sockaddr_storage *ss,
    ev_socklen_t *len);

/*
 * A connected pair of nonblocking TCP sockets over loopback of family;
 * fds[0] is the connecting side, fds[1] the accepted side.  Returns 0, or
 * -1 when the family is not available.
 */
int tu_tcp_pair(int family, evutil_socket_t fds[2]);

/* Writes the whole string to fd (which must have room); fails the test
 * on a short write. */
void tu_write_str(evutil_socket_t fd, const char *s);

/* Reads and discards everything fd has ready; returns the byte count. */
size_t tu_drain(evutil_socket_t fd);

/* ------------------------------------------------------------------ */
/* Running the loop. */

/*
 * Runs event_base_loop(base, flags) bounded by a private safety timer of
 * safety_ms (TU_RUN_SAFETY_MS when <= 0) that breaks the loop.  The
 * timer is an ordinary event the helper adds and deletes itself, so no
 * residue stays in the base afterwards (an event_base_loopexit() timeout
 * would linger as a pending event and fire in a later run).  While it is
 * added, the base is never empty, so the loop does not exit on empty.
 * Returns 1 when the safety timer ended the loop, 0 when something else
 * did (the test's loopexit/loopbreak, or EVLOOP_ONCE/NONBLOCK), -1 when
 * event_base_loop() failed.
 */
int tu_run_flags(struct event_base *base, int flags, long safety_ms);

/* tu_run_flags(base, 0, safety_ms). */
int tu_run(struct event_base *base, long safety_ms);

/*
 * Runs event_base_loop(base, flags) as is (so an empty base makes it
 * return 1), relying on the watchdog to bound it.  Returns its result.
 */
int tu_loop(struct event_base *base, int flags);

/* Calls event_base_loopexit(base, NULL); an event_callback_fn. */
void tu_exit_cb(evutil_socket_t fd, short what, void *base);

/* ------------------------------------------------------------------ */
/* Log capture. */

/* Installs the capturing log callback and forgets earlier messages. */
void tu_log_capture(void);

/* Restores libevent's default logging. */
void tu_log_release(void);

/* Forgets captured messages. */
void tu_log_clear(void);

/* Number of captured messages with severity >= min_severity. */
int tu_log_count(int min_severity);

/* Non-zero when a captured message contains needle. */
int tu_log_contains(const char *needle);

/* The last captured message, or "" when there is none. */
const char *tu_log_last(void);

/* Asserts that at least one warning or error was logged. */
#define tu_assert_logged_error() \
    tu_assert_logged_(EVENT_LOG_WARN, __FILE__, __LINE__)
void tu_assert_logged_(int min_severity, const char *file, int line);

/* ------------------------------------------------------------------ */
/* Time. */

/* Monotonic now. */
void tu_now(struct timeval *tv);

/* Milliseconds from *start (a tu_now() value) to now. */
long tu_ms_since(const struct timeval *start);

/* Milliseconds from *a to *b (b - a). */
long tu_ms_between(const struct timeval *a, const struct timeval *b);

/* Allowed lateness in ms: EVTEST_TIME_SLACK_MS, default 150. */
long tu_slack_ms(void);

/* Sleeps ms milliseconds, resuming after signals. */
void tu_sleep_ms(long ms);

/* Fills *tv with ms milliseconds. */
struct timeval *tu_tv(struct timeval *tv, long ms);

/*
 * Asserts that actual_ms is within [expected_ms - TU_EARLY_MS,
 * expected_ms + tu_slack_ms()).
 */
#define tu_assert_ms(actual_ms, expected_ms) \
    tu_assert_ms_((actual_ms), (expected_ms), __FILE__, __LINE__)
void tu_assert_ms_(long actual_ms, long expected_ms, const char *file,
    int line);

#endif /* TEST_UTIL_H_INCLUDED_ */

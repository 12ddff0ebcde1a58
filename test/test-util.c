/*
 * test-util.c: shared fixtures for the cmocka loop-level tests.
 *
 * See test-util.h for the contract.  Only public libevent API is used.
 * The log capture is protected by a mutex because threaded tests may log
 * from several threads at once; everything else is for the main thread.
 */
#define _GNU_SOURCE
#include "test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _WIN32
/* The Windows cross-build (test/wine/): Winsock, native threads and
 * timers stand in for the POSIX calls below. */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#define MSG_NOSIGNAL 0
#else
#include <pthread.h>
#include <unistd.h>

#include <dirent.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>
#include <sys/syscall.h>
#endif
#if defined(__linux__) && defined(__has_include)
#if __has_include(<linux/io_uring.h>)
#include <linux/io_uring.h>
#endif
#endif

static int tu_inited;
static int tu_debug_on;

void
tu_init_ex(int force_debug)
{
    const char *env;

    if (tu_inited)
        return;
    tu_inited = 1;
#ifdef _WIN32
    {
        /* Winsock, for every test that makes a socket (counted: a test
         * that starts it itself too is fine). */
        WSADATA wsa;

        if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
            fprintf(stderr, "tu_init: WSAStartup failed\n");
    }
#endif
    env = getenv("EVTEST_DEBUG_MODE");
    if (force_debug || (env != NULL && strcmp(env, "1") == 0)) {
        event_enable_debug_mode();
        tu_debug_on = 1;
    }
}

void
tu_init(void)
{
    tu_init_ex(0);
}

int
tu_debug_mode(void)
{
    return tu_debug_on;
}

/* ------------------------------------------------------------------ */
/* Watchdog. */

#ifdef _WIN32
/* A timer-queue timer stands in for alarm(). */
static HANDLE tu_watchdog_timer;

static VOID CALLBACK
tu_watchdog_fired(PVOID arg, BOOLEAN timer_fired)
{
    static const char msg[] =
        "\n*** test-util watchdog: test exceeded its time limit ***\n";

    (void)arg;
    (void)timer_fired;
    fputs(msg, stderr);
    fflush(stderr);
    ExitProcess(124);
}

void
tu_watchdog(unsigned seconds)
{
    if (tu_watchdog_timer != NULL) {
        DeleteTimerQueueTimer(NULL, tu_watchdog_timer, NULL);
        tu_watchdog_timer = NULL;
    }
    if (seconds > 0 &&
        !CreateTimerQueueTimer(&tu_watchdog_timer, NULL, tu_watchdog_fired,
            NULL, seconds * 1000, 0, WT_EXECUTEONLYONCE))
        tu_watchdog_timer = NULL;
}
#else
static void
tu_watchdog_fired(int sig)
{
    static const char msg[] =
        "\n*** test-util watchdog: test exceeded its time limit ***\n";
    ssize_t r;

    (void)sig;
    r = write(2, msg, sizeof(msg) - 1);
    (void)r;
    _exit(124);
}

void
tu_watchdog(unsigned seconds)
{
    struct sigaction sa;

    if (seconds > 0) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = tu_watchdog_fired;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGALRM, &sa, NULL);
    }
    alarm(seconds);
}
#endif

/* ------------------------------------------------------------------ */
/* Fixtures. */

/* Open descriptors when the current test started, or -1. */
static int tu_fds_at_setup = -1;

int
tu_count_fds(void)
{
#ifdef _WIN32
    /* Windows counts handles, and Wine creates some of its own behind
     * the program's back: no reliable count, so no leak check. */
    return -1;
#else
    struct dirent *d;
    DIR *dir;
    int n = 0;

    dir = opendir("/proc/self/fd");
    if (dir == NULL)
        return -1;
    while ((d = readdir(dir)) != NULL) {
        if (d->d_name[0] != '.')
            n++;
    }
    closedir(dir);
    return n - 1; /* the directory's own descriptor */
#endif
}

int
tu_anon_inode_fd(const char *kind, int *count)
{
    int found = -1, n = 0;
#ifndef _WIN32
    struct dirent *d;
    DIR *dir = opendir("/proc/self/fd");

    if (dir != NULL) {
        while ((d = readdir(dir)) != NULL) {
            char path[320], link[64];
            ssize_t len;

            snprintf(path, sizeof(path), "/proc/self/fd/%s", d->d_name);
            len = readlink(path, link, sizeof(link) - 1);
            if (len <= 0)
                continue;
            link[len] = '\0';
            if (strcmp(link, kind) == 0) {
                found = atoi(d->d_name);
                ++n;
            }
        }
        closedir(dir);
    }
#else
    (void)kind;
#endif
    if (count != NULL)
        *count = n;
    return found;
}

int
tu_setup_nobase(void **state)
{
    (void)state;
    tu_init();
    tu_watchdog(TU_TEST_TIMEOUT_SEC);
    tu_log_capture();
    tu_fds_at_setup = tu_count_fds();
    return 0;
}

int
tu_teardown_nobase(void **state)
{
    int now = tu_count_fds();
    int leaked = tu_fds_at_setup >= 0 && now > tu_fds_at_setup;

    (void)state;
    tu_log_release();
    tu_watchdog(0);
    if (leaked) {
        fprintf(stderr, "test leaked %d file descriptor(s)\n",
            now - tu_fds_at_setup);
        return -1;
    }
    return 0;
}

int
tu_setup(void **state)
{
    struct event_base *base;

    tu_setup_nobase(state);
    base = event_base_new();
    if (base == NULL) {
        fprintf(stderr, "tu_setup: event_base_new() failed\n");
        return -1;
    }
    *state = base;
    return 0;
}

int
tu_teardown(void **state)
{
    if (*state != NULL)
        event_base_free(*state);
    *state = NULL;
    return tu_teardown_nobase(state);
}

int
tu_kernel_has_io_uring(void)
{
#if defined(__linux__) && defined(__has_include)
#if __has_include(<linux/io_uring.h>) && defined(IORING_SETUP_SUBMIT_ALL)
    /* What backends/io_uring.c asks of the kernel, probed directly. */
    const unsigned need = IORING_FEAT_SINGLE_MMAP | IORING_FEAT_NODROP |
                          IORING_FEAT_EXT_ARG | IORING_FEAT_CQE_SKIP;
    struct io_uring_params p;
    int fd;

    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_SUBMIT_ALL;
    fd = (int)syscall(__NR_io_uring_setup, 4, &p);
    if (fd < 0)
        return 0;
    close(fd);
    return (p.features & need) == need;
#endif
#endif
    return 0;
}

int
tu_kernel_has_io_uring_epoll(void)
{
#if defined(__linux__) && defined(__has_include)
#if __has_include(<linux/io_uring.h>) && defined(IORING_SETUP_DEFER_TASKRUN)
    /* What the io_uring method (backends/epoll.c) asks of the kernel,
     * probed directly: single-issuer rings with deferred completion work,
     * and epoll_ctl and epoll_wait (opcode 59, Linux 6.15) as requests. */
    const unsigned need = IORING_FEAT_SINGLE_MMAP | IORING_FEAT_NODROP |
                          IORING_FEAT_EXT_ARG | IORING_FEAT_CQE_SKIP;
    const int ops[] = {IORING_OP_EPOLL_CTL, 59, IORING_OP_ASYNC_CANCEL};
    struct io_uring_params p;
    struct {
        struct io_uring_probe probe;
        struct io_uring_probe_op ops[256];
    } pr;
    int fd, ok;
    size_t i;

    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER |
              IORING_SETUP_DEFER_TASKRUN;
    fd = (int)syscall(__NR_io_uring_setup, 4, &p);
    if (fd < 0)
        return 0;
    memset(&pr, 0, sizeof(pr));
    ok = (p.features & need) == need &&
         syscall(__NR_io_uring_register, fd, IORING_REGISTER_PROBE, &pr,
             256) == 0;
    for (i = 0; ok && i < sizeof(ops) / sizeof(ops[0]); ++i)
        ok = ops[i] <= pr.probe.last_op &&
             (pr.probe.ops[ops[i]].flags & IO_URING_OP_SUPPORTED);
    close(fd);
    return ok;
#endif
#endif
    return 0;
}

/* Non-zero when EVENT_NO<METHOD> is set for this method name. */
static int
tu_method_disabled(const char *name)
{
    char env[64];
    size_t i;

    snprintf(env, sizeof(env), "EVENT_NO%s", name);
    for (i = 8; env[i] != '\0'; ++i)
        if (env[i] >= 'a' && env[i] <= 'z')
            env[i] = (char)(env[i] - 'a' + 'A');
    return getenv(env) != NULL;
}

const char *
tu_expected_method(void)
{
    const char **ms = event_get_supported_methods();
    int i;

    /* The library's own preference order, minus what the environment
     * disables and what the kernel cannot do. */
    for (i = 0; ms != NULL && ms[i] != NULL; ++i) {
        if (tu_method_disabled(ms[i]))
            continue;
        if (strcmp(ms[i], "io_uring") == 0 &&
            (!tu_kernel_has_io_uring_epoll() ||
                getenv("EVENT_EPOLL_USE_CHANGELIST") != NULL))
            continue;
        if (strcmp(ms[i], "io_uring_poll") == 0 && !tu_kernel_has_io_uring())
            continue;
        if (strcmp(ms[i], "epoll") == 0) {
            if (getenv("EVENT_EPOLL_USE_CHANGELIST") != NULL)
                return "epoll (with changelist)";
            return "epoll";
        }
        return ms[i];
    }
    return NULL;
}

int
tu_base_has_features(struct event_base *base, int features)
{
    return (event_base_get_features(base) & features) == features;
}

/* ------------------------------------------------------------------ */
/* Sockets. */

static void
tu_prepare_fd(evutil_socket_t fd)
{
    assert_int_equal(evutil_make_socket_nonblocking(fd), 0);
    assert_int_equal(evutil_make_socket_closeonexec(fd), 0);
}

void
tu_socketpair(evutil_socket_t fds[2])
{
    int r;

    r = evutil_socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
#ifdef _WIN32
    if (r != 0)
        fail_msg("socketpair: %s",
            evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    {
        /* Here a TCP loopback pair, whose buffers (the host's, under
         * Wine) grow to megabytes; fixed ones make the pair fill up
         * after some 100 KB, as an AF_UNIX pair does on Linux. */
        int i, size = 65536;

        for (i = 0; i < 2; ++i) {
            setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, (const char *)&size,
                sizeof(size));
            setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, (const char *)&size,
                sizeof(size));
        }
    }
#else
    if (r != 0)
        fail_msg("socketpair: %s", strerror(errno));
#endif
    tu_prepare_fd(fds[0]);
    tu_prepare_fd(fds[1]);
}

void
tu_close(evutil_socket_t *fd)
{
    if (*fd >= 0)
        evutil_closesocket(*fd);
    *fd = -1;
}

void
tu_close_pair(evutil_socket_t fds[2])
{
    tu_close(&fds[0]);
    tu_close(&fds[1]);
}

int
tu_fd_is_closed(evutil_socket_t fd)
{
#ifdef _WIN32
    int type;
    int len = sizeof(type);

    return getsockopt(fd, SOL_SOCKET, SO_TYPE, (char *)&type, &len) != 0 &&
           WSAGetLastError() == WSAENOTSOCK;
#else
    return fcntl(fd, F_GETFD) == -1 && errno == EBADF;
#endif
}

static void
tu_loopback(int family, struct sockaddr_storage *ss, ev_socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

        sin6->sin6_family = AF_INET6;
        sin6->sin6_addr = in6addr_loopback;
        *len = sizeof(*sin6);
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;

        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof(*sin);
    }
}

int
tu_have_ipv6(void)
{
    struct sockaddr_storage ss;
    ev_socklen_t len;
    evutil_socket_t fd;
    int ok;

    fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    tu_loopback(AF_INET6, &ss, &len);
    ok = bind(fd, (struct sockaddr *)&ss, len) == 0;
    evutil_closesocket(fd);
    return ok;
}

evutil_socket_t
tu_tcp_listener(int family, struct sockaddr_storage *ss, ev_socklen_t *len)
{
    struct sockaddr_storage addr;
    ev_socklen_t alen;
    evutil_socket_t fd;

    fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    tu_loopback(family, &addr, &alen);
    if (bind(fd, (struct sockaddr *)&addr, alen) != 0 ||
        listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &alen) != 0) {
        evutil_closesocket(fd);
        return -1;
    }
    tu_prepare_fd(fd);
    if (ss != NULL)
        memcpy(ss, &addr, sizeof(addr));
    if (len != NULL)
        *len = alen;
    return fd;
}

int
tu_tcp_pair(int family, evutil_socket_t fds[2])
{
    struct sockaddr_storage ss;
    ev_socklen_t len;
    evutil_socket_t lfd, cfd, afd = -1;
    int i, one = 1;

    fds[0] = fds[1] = -1;
    lfd = tu_tcp_listener(family, &ss, &len);
    if (lfd < 0)
        return -1;
    cfd = socket(family, SOCK_STREAM, 0);
    if (cfd < 0 || connect(cfd, (struct sockaddr *)&ss, len) != 0) {
        if (cfd >= 0)
            evutil_closesocket(cfd);
        evutil_closesocket(lfd);
        return -1;
    }
    /* The connection is complete on loopback; the listener is
     * nonblocking, so retry briefly until accept() sees it. */
    for (i = 0; i < 1000 && afd < 0; ++i) {
        afd = accept(lfd, NULL, NULL);
        if (afd < 0)
            tu_sleep_ms(1);
    }
    evutil_closesocket(lfd);
    if (afd < 0) {
        evutil_closesocket(cfd);
        return -1;
    }
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, (const void *)&one,
        sizeof(one));
    setsockopt(afd, IPPROTO_TCP, TCP_NODELAY, (const void *)&one,
        sizeof(one));
    tu_prepare_fd(cfd);
    tu_prepare_fd(afd);
    fds[0] = cfd;
    fds[1] = afd;
    return 0;
}

void
tu_write_str(evutil_socket_t fd, const char *s)
{
    size_t len = strlen(s);
    ssize_t n;

    n = send(fd, s, len, MSG_NOSIGNAL);
    if (n < 0 || (size_t)n != len)
        fail_msg("short write on fd %d: %s", (int)fd, strerror(errno));
}

size_t
tu_drain(evutil_socket_t fd)
{
    char buf[4096];
    size_t total = 0;
    ssize_t n;

    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
        total += (size_t)n;
    return total;
}

/* ------------------------------------------------------------------ */
/* Running the loop. */

struct tu_safety {
    struct event_base *base;
    int fired;
};

static void
tu_safety_cb(evutil_socket_t fd, short what, void *arg)
{
    struct tu_safety *s = arg;

    (void)fd;
    (void)what;
    s->fired = 1;
    event_base_loopbreak(s->base);
}

int
tu_run_flags(struct event_base *base, int flags, long safety_ms)
{
    struct tu_safety s;
    struct timeval tv;
    struct event *ev;
    int r;

    if (safety_ms <= 0)
        safety_ms = TU_RUN_SAFETY_MS;
    s.base = base;
    s.fired = 0;
    ev = evtimer_new(base, tu_safety_cb, &s);
    assert_non_null(ev);
    assert_int_equal(evtimer_add(ev, tu_tv(&tv, safety_ms)), 0);
    r = event_base_loop(base, flags);
    event_free(ev);
    if (r < 0)
        return -1;
    return s.fired ? 1 : 0;
}

int
tu_run(struct event_base *base, long safety_ms)
{
    return tu_run_flags(base, 0, safety_ms);
}

int
tu_loop(struct event_base *base, int flags)
{
    return event_base_loop(base, flags);
}

void
tu_exit_cb(evutil_socket_t fd, short what, void *base)
{
    (void)fd;
    (void)what;
    event_base_loopexit(base, NULL);
}

/* ------------------------------------------------------------------ */
/* Log capture. */

#define TU_LOG_MAX 64
#define TU_LOG_LEN 256

#ifdef _WIN32
static SRWLOCK tu_log_srw = SRWLOCK_INIT;
#define TU_LOG_LOCK() AcquireSRWLockExclusive(&tu_log_srw)
#define TU_LOG_UNLOCK() ReleaseSRWLockExclusive(&tu_log_srw)
#else
static pthread_mutex_t tu_log_lock = PTHREAD_MUTEX_INITIALIZER;
#define TU_LOG_LOCK() pthread_mutex_lock(&tu_log_lock)
#define TU_LOG_UNLOCK() pthread_mutex_unlock(&tu_log_lock)
#endif
static char tu_log_msgs[TU_LOG_MAX][TU_LOG_LEN];
static int tu_log_sev[TU_LOG_MAX];
static int tu_log_n;        /* stored messages (at most TU_LOG_MAX) */
static int tu_log_total[4]; /* per severity, including dropped ones */
static int tu_log_echo = -1;

static void
tu_log_cb(int severity, const char *msg)
{
    TU_LOG_LOCK();
    if (severity >= 0 && severity < 4)
        tu_log_total[severity]++;
    if (tu_log_n < TU_LOG_MAX) {
        snprintf(tu_log_msgs[tu_log_n], TU_LOG_LEN, "%s", msg);
        tu_log_sev[tu_log_n] = severity;
        tu_log_n++;
    } else {
        /* Keep the newest message in the last slot. */
        snprintf(tu_log_msgs[TU_LOG_MAX - 1], TU_LOG_LEN, "%s", msg);
        tu_log_sev[TU_LOG_MAX - 1] = severity;
    }
    /* Fatal messages precede an abort; never lose them. */
    if (tu_log_echo > 0 || severity >= EVENT_LOG_ERR)
        fprintf(stderr, "[libevent log %d] %s\n", severity, msg);
    TU_LOG_UNLOCK();
}

void
tu_log_clear(void)
{
    TU_LOG_LOCK();
    tu_log_n = 0;
    memset(tu_log_total, 0, sizeof(tu_log_total));
    TU_LOG_UNLOCK();
}

void
tu_log_capture(void)
{
    if (tu_log_echo < 0)
        tu_log_echo = getenv("EVTEST_VERBOSE_LOG") != NULL;
    tu_log_clear();
    event_set_log_callback(tu_log_cb);
}

void
tu_log_release(void)
{
    event_set_log_callback(NULL);
}

int
tu_log_count(int min_severity)
{
    int i, n = 0;

    TU_LOG_LOCK();
    for (i = 0; i < 4; ++i) {
        if (i >= min_severity)
            n += tu_log_total[i];
    }
    TU_LOG_UNLOCK();
    return n;
}

int
tu_log_contains(const char *needle)
{
    int i, found = 0;

    TU_LOG_LOCK();
    for (i = 0; i < tu_log_n && !found; ++i)
        found = strstr(tu_log_msgs[i], needle) != NULL;
    TU_LOG_UNLOCK();
    return found;
}

const char *
tu_log_last(void)
{
    static char last[TU_LOG_LEN];

    TU_LOG_LOCK();
    if (tu_log_n == 0)
        last[0] = '\0';
    else
        snprintf(last, sizeof(last), "%s", tu_log_msgs[tu_log_n - 1]);
    TU_LOG_UNLOCK();
    return last;
}

void
tu_assert_logged_(int min_severity, const char *file, int line)
{
    if (tu_log_count(min_severity) == 0) {
        print_error("expected libevent to log a message of severity >= %d"
            "\n", min_severity);
        _fail(file, line);
    }
}

/* ------------------------------------------------------------------ */
/* Time. */

void
tu_now(struct timeval *tv)
{
#ifdef _WIN32
    LARGE_INTEGER f, c;

    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    tv->tv_sec = (long)(c.QuadPart / f.QuadPart);
    tv->tv_usec = (long)((c.QuadPart % f.QuadPart) * 1000000 / f.QuadPart);
#else
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
#endif
}

long
tu_ms_between(const struct timeval *a, const struct timeval *b)
{
    return (long)(b->tv_sec - a->tv_sec) * 1000 +
        (long)(b->tv_usec - a->tv_usec) / 1000;
}

long
tu_ms_since(const struct timeval *start)
{
    struct timeval now;

    tu_now(&now);
    return tu_ms_between(start, &now);
}

long
tu_slack_ms(void)
{
    static long slack = -1;
    const char *env;

    if (slack < 0) {
        env = getenv("EVTEST_TIME_SLACK_MS");
        slack = env != NULL ? atol(env) : 0;
        if (slack <= 0)
            slack = 150;
    }
    return slack;
}

void
tu_sleep_ms(long ms)
{
#ifdef _WIN32
    if (ms > 0)
        Sleep((DWORD)ms);
#else
    struct timespec ts, rem;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &rem) != 0 && errno == EINTR)
        ts = rem;
#endif
}

struct timeval *
tu_tv(struct timeval *tv, long ms)
{
    tv->tv_sec = ms / 1000;
    tv->tv_usec = (ms % 1000) * 1000;
    return tv;
}

void
tu_assert_ms_(long actual_ms, long expected_ms, const char *file, int line)
{
    long lo = expected_ms - TU_EARLY_MS;
    long hi = expected_ms + tu_slack_ms();

    if (actual_ms < lo || actual_ms >= hi) {
        print_error("elapsed %ld ms, expected %ld ms (allowed [%ld, %ld))"
            "\n", actual_ms, expected_ms, lo, hi);
        _fail(file, line);
    }
}

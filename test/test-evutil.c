/*
 * test-evutil.c: the evutil helpers other than addresses (those are in
 * test-evutil-addr.c) -- strings and character classes, random numbers,
 * sockets and descriptors, clocks, dates, the environment.
 *
 * TEST-STATIC (reaches util-internal.h and time-internal.h)
 *
 * Only loopback is used; every test closes the fds it opens.
 */
#include "event2/event-config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>

#include "mm-internal.h"
#include "util-internal.h"
#include "time-internal.h"

/* ------------------------------------------------------------------ */
/* Strings */

static void
test_strtoll(void **state)
{
    char *end;

    (void)state;
    assert_true(evutil_strtoll("0", NULL, 10) == 0);
    assert_true(evutil_strtoll("-99", &end, 10) == -99 && *end == '\0');
    assert_true(evutil_strtoll("9223372036854775807", NULL, 10) ==
        EV_INT64_MAX);
    assert_true(evutil_strtoll("-9223372036854775808", NULL, 10) ==
        EV_INT64_MIN);
    assert_true(evutil_strtoll("0x7fffffffffffffff", NULL, 16) ==
        EV_INT64_MAX);
    assert_true(evutil_strtoll("123abc", &end, 10) == 123);
    assert_string_equal(end, "abc");
    assert_true(evutil_strtoll("  42", NULL, 0) == 42);
    assert_true(evutil_strtoll("077", NULL, 0) == 63);
}

static int
call_vsnprintf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    int r;
    va_start(ap, fmt);
    r = evutil_vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return r;
}

static void
test_snprintf(void **state)
{
    char buf[16];

    (void)state;
    assert_int_equal(evutil_snprintf(buf, sizeof(buf), "%d-%s", 12, "ab"), 5);
    assert_string_equal(buf, "12-ab");
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(evutil_snprintf(buf, 5, "hello world"), 11);
    assert_string_equal(buf, "hell");
    assert_int_equal(buf[5], 'x');
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(evutil_snprintf(buf, 1, "abc"), 3);
    assert_int_equal(buf[0], '\0');
    /* A zero-sized buffer is not touched; libevent returns 0. */
    assert_int_equal(evutil_snprintf(buf, 0, "abc"), 0);
    assert_int_equal(buf[0], '\0');
    assert_int_equal(call_vsnprintf(buf, 4, "%s%s", "ab", "cd"), 4);
    assert_string_equal(buf, "abc");
}

static void
test_ascii_case(void **state)
{
    (void)state;
    assert_int_equal(evutil_ascii_strcasecmp("Content-Length",
                         "content-LENGTH"),
        0);
    assert_int_equal(evutil_ascii_strcasecmp("", ""), 0);
    assert_int_equal(evutil_ascii_strcasecmp("abc", "ABD"), -1);
    assert_int_equal(evutil_ascii_strcasecmp("ABD", "abc"), 1);
    assert_int_equal(evutil_ascii_strcasecmp("ab", "abc"), -1);
    assert_int_equal(evutil_ascii_strcasecmp("abc", "ab"), 1);
    /* Only ASCII letters fold. */
    assert_int_not_equal(evutil_ascii_strcasecmp("\xc4", "\xe4"), 0);
    assert_int_not_equal(evutil_ascii_strcasecmp("[", "{"), 0);
    assert_int_equal(evutil_ascii_strncasecmp("HELLO there", "hello THEM", 8),
        0);
    assert_int_equal(evutil_ascii_strncasecmp("HELLO there", "hello THEM", 10),
        1);
    assert_int_equal(evutil_ascii_strncasecmp("HELLO THEM", "hello there", 10),
        -1);
    assert_int_equal(evutil_ascii_strncasecmp("a", "b", 0), 0);
    assert_int_equal(evutil_ascii_strncasecmp("ab", "AB", 100), 0);
}

static void
test_char_classes(void **state)
{
    int i;

    (void)state;
    for (i = 0; i < 256; i++) {
        char c = (char)i;
        int ascii = i < 128;
        int lower = i >= 'a' && i <= 'z', upper = i >= 'A' && i <= 'Z';
        int digit = i >= '0' && i <= '9';
        int xdigit = digit || (i >= 'a' && i <= 'f') || (i >= 'A' && i <= 'F');
        assert_int_equal(!!EVUTIL_ISALPHA_(c), lower || upper);
        assert_int_equal(!!EVUTIL_ISLOWER_(c), lower);
        assert_int_equal(!!EVUTIL_ISUPPER_(c), upper);
        assert_int_equal(!!EVUTIL_ISDIGIT_(c), digit);
        assert_int_equal(!!EVUTIL_ISXDIGIT_(c), xdigit);
        assert_int_equal(!!EVUTIL_ISALNUM_(c), lower || upper || digit);
        assert_int_equal(!!EVUTIL_ISSPACE_(c),
            i == ' ' || i == '\t' || i == '\n' || i == '\v' || i == '\f' ||
                i == '\r');
        assert_int_equal(!!EVUTIL_ISPRINT_(c), ascii && i >= 32 && i != 127);
        assert_int_equal((unsigned char)EVUTIL_TOLOWER_(c),
            upper ? i + 32 : i);
        assert_int_equal((unsigned char)EVUTIL_TOUPPER_(c),
            lower ? i - 32 : i);
        assert_int_equal(evutil_hex_char_to_int_(c),
            digit ? i - '0'
                  : (xdigit ? (i | 0x20) - 'a' + 10 : -1));
    }
}

static void
test_rtrim_memclear(void **state)
{
    char s1[] = "value \t \t", s2[] = "   ", s3[] = "x\r\n ", s4[] = "";
    unsigned char secret[32];
    size_t i;

    (void)state;
    evutil_rtrim_lws_(s1);
    assert_string_equal(s1, "value");
    evutil_rtrim_lws_(s2);
    assert_string_equal(s2, "");
    evutil_rtrim_lws_(s3);
    assert_string_equal(s3, "x\r\n");
    evutil_rtrim_lws_(s4);
    evutil_rtrim_lws_(NULL);
    memset(secret, 0x5a, sizeof(secret));
    evutil_memclear_(secret, sizeof(secret));
    for (i = 0; i < sizeof(secret); i++)
        assert_int_equal(secret[i], 0);
}

/* ------------------------------------------------------------------ */
/* Random numbers */

static void
test_secure_rng(void **state)
{
    unsigned char a[32], b[32], zero[32] = {0};
    int i, same = 0;

    (void)state;
    assert_int_equal(evutil_secure_rng_init(), 0);
    evutil_secure_rng_get_bytes(a, sizeof(a));
    evutil_secure_rng_get_bytes(b, sizeof(b));
    assert_memory_not_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, zero, sizeof(a));
    evutil_secure_rng_add_bytes("some entropy", 12);
    evutil_secure_rng_get_bytes(a, 0);
    /* Bytes are spread: 100 draws of one byte are not all equal. */
    evutil_secure_rng_get_bytes(b, 1);
    for (i = 0; i < 100; i++) {
        evutil_secure_rng_get_bytes(a, 1);
        same += a[0] == b[0];
    }
    assert_true(same < 100);
    /* A large request is filled completely (no short read at 256). */
    {
        unsigned char *big = calloc(1, 100000);
        size_t zeros = 0, k;
        evutil_secure_rng_get_bytes(big, 100000);
        for (k = 0; k < 100000; k++)
            zeros += big[k] == 0;
        assert_true(zeros < 1000);
        free(big);
    }
}

static void
test_urandom_device_file(void **state)
{
    char dev[] = "/dev/urandom", missing[] = "/nonexistent/random",
         empty[] = "/dev/null";

    (void)state;
    assert_int_equal(evutil_secure_rng_set_urandom_device_file(missing), -1);
    assert_int_equal(evutil_secure_rng_set_urandom_device_file(empty), -1);
    assert_int_equal(evutil_secure_rng_set_urandom_device_file(NULL), -1);
    assert_int_equal(evutil_secure_rng_set_urandom_device_file(dev), 0);
    assert_int_equal(evutil_secure_rng_init(), 0);
}

static void
test_weakrand(void **state)
{
    struct evutil_weakrand_state st, st2;
    int seen[10] = {0};
    int i;

    (void)state;
    assert_int_equal(evutil_weakrand_seed_(&st, 1234), 1234);
    evutil_weakrand_seed_(&st2, 1234);
    for (i = 0; i < 100; i++) {
        ev_int32_t r = evutil_weakrand_(&st);
        assert_true(r >= 0);
        assert_int_equal(r, evutil_weakrand_(&st2));
    }
    for (i = 0; i < 10000; i++) {
        ev_int32_t r = evutil_weakrand_range_(&st, 10);
        assert_true(r >= 0 && r < 10);
        seen[r]++;
    }
    for (i = 0; i < 10; i++)
        assert_true(seen[i] > 800 && seen[i] < 1200);
    assert_int_equal(evutil_weakrand_range_(&st, 1), 0);
    for (i = 0; i < 1000; i++) {
        ev_int32_t r = evutil_weakrand_range_(&st, EVUTIL_WEAKRAND_MAX);
        assert_true(r >= 0 && r < EVUTIL_WEAKRAND_MAX);
    }
    assert_int_not_equal(evutil_weakrand_seed_(&st, 0), 0);
}

/* ------------------------------------------------------------------ */
/* Sockets and descriptors */

static int
is_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    assert_true(fl >= 0);
    return (fl & O_NONBLOCK) != 0;
}

static int
is_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    assert_true(fl >= 0);
    return (fl & FD_CLOEXEC) != 0;
}

static void
test_socketpair_and_flags(void **state)
{
    evutil_socket_t fd[2];
    char buf[8];

    (void)state;
    assert_int_equal(evutil_socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0);
    assert_int_equal(write(fd[0], "ping", 4), 4);
    assert_int_equal(read(fd[1], buf, sizeof(buf)), 4);
    assert_memory_equal(buf, "ping", 4);
    assert_false(is_nonblocking(fd[0]));
    assert_false(is_cloexec(fd[0]));
    assert_int_equal(evutil_make_socket_nonblocking(fd[0]), 0);
    assert_true(is_nonblocking(fd[0]));
    assert_int_equal(evutil_make_socket_nonblocking(fd[0]), 0);
    assert_true(is_nonblocking(fd[0]));
    assert_int_equal(evutil_make_socket_closeonexec(fd[0]), 0);
    assert_true(is_cloexec(fd[0]));
    assert_false(is_cloexec(fd[1]));
    errno = 0;
    assert_int_equal(read(fd[0], buf, sizeof(buf)), -1);
    assert_true(EVUTIL_ERR_RW_RETRIABLE(errno));
    assert_true(EVUTIL_ERR_IS_EAGAIN(EWOULDBLOCK));
    assert_int_equal(evutil_closesocket(fd[0]), 0);
    assert_int_equal(evutil_closesocket(fd[1]), 0);
    assert_int_equal(evutil_closesocket(fd[1]), -1);
    /* On this platform socketpair() is all there is (as in libevent). */
    assert_int_equal(evutil_socketpair(AF_INET, SOCK_STREAM, 0, fd), -1);
}

static void
test_ersatz_socketpair(void **state)
{
    evutil_socket_t fd[2];
    char buf[8];

    (void)state;
    assert_int_equal(evutil_ersatz_socketpair_(AF_INET,
                         SOCK_STREAM | EVUTIL_SOCK_NONBLOCK, 0, fd),
        0);
    assert_true(is_nonblocking(fd[0]) && is_nonblocking(fd[1]));
    assert_true(is_cloexec(fd[0]) && is_cloexec(fd[1]));
    assert_int_equal(write(fd[1], "pong", 4), 4);
    {
        struct pollfd p = {fd[0], POLLIN, 0};
        assert_int_equal(poll(&p, 1, 5000), 1);
    }
    assert_int_equal(read(fd[0], buf, sizeof(buf)), 4);
    close(fd[0]);
    close(fd[1]);
    assert_int_equal(evutil_ersatz_socketpair_(AF_UNIX, SOCK_STREAM, 0, fd),
        -1);
    assert_int_equal(errno, EAFNOSUPPORT);
}

static void
test_internal_descriptors(void **state)
{
    evutil_socket_t fd[2];
    evutil_socket_t s;
    ev_uint64_t v = 1;

    (void)state;
    s = evutil_socket_(AF_INET, SOCK_STREAM | EVUTIL_SOCK_NONBLOCK, 0);
    assert_true(s >= 0);
    assert_true(is_nonblocking(s));
    assert_false(is_cloexec(s));
    close(s);
    s = evutil_socket_(AF_INET, SOCK_DGRAM | EVUTIL_SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    assert_false(is_nonblocking(s));
    assert_true(is_cloexec(s));
    close(s);
    assert_int_equal(evutil_socket_(12345, SOCK_STREAM, 0), -1);

    assert_int_equal(evutil_make_internal_pipe_(fd), 0);
    assert_true(is_nonblocking(fd[0]) && is_nonblocking(fd[1]));
    assert_true(is_cloexec(fd[0]) && is_cloexec(fd[1]));
    assert_int_equal(write(fd[1], "x", 1), 1);
    assert_int_equal(read(fd[0], &v, 1), 1);
    close(fd[0]);
    close(fd[1]);

    s = evutil_eventfd_(0, EVUTIL_EFD_NONBLOCK | EVUTIL_EFD_CLOEXEC);
    assert_true(s >= 0);
    assert_true(is_nonblocking(s) && is_cloexec(s));
    v = 3;
    assert_int_equal(write(s, &v, sizeof(v)), sizeof(v));
    v = 0;
    assert_int_equal(read(s, &v, sizeof(v)), sizeof(v));
    assert_true(v == 3);
    assert_int_equal(read(s, &v, sizeof(v)), -1);
    assert_int_equal(errno, EAGAIN);
    close(s);

    s = evutil_open_closeonexec_("/dev/null", O_RDONLY, 0);
    assert_true(s >= 0 && is_cloexec(s));
    close(s);
}

static void
test_read_file(void **state)
{
    char path[] = "/tmp/test-evutil-XXXXXX";
    char *content = NULL;
    size_t len = 1, i;
    char data[5000];
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    for (i = 0; i < sizeof(data); i++)
        data[i] = (char)('a' + i % 26);
    assert_int_equal(write(fd, data, sizeof(data)), sizeof(data));
    close(fd);
    assert_int_equal(evutil_read_file_(path, &content, &len, 0), 0);
    assert_int_equal(len, sizeof(data));
    assert_memory_equal(content, data, sizeof(data));
    assert_int_equal(content[len], '\0');
    mm_free(content);
    unlink(path);
    assert_int_equal(evutil_read_file_(path, &content, &len, 0), -1);
    assert_null(content);
    assert_int_equal(len, 0);
    /* Files whose size is not known in advance are read to the end. */
    assert_int_equal(evutil_read_file_("/proc/self/status", &content, &len, 1),
        0);
    assert_true(len > 0 && strlen(content) == len);
    mm_free(content);
}

static evutil_socket_t
loopback_listener(struct sockaddr_in *sin)
{
    socklen_t len = sizeof(*sin);
    evutil_socket_t l = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(l >= 0);
    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(evutil_make_listen_socket_reuseable(l), 0);
    assert_int_equal(bind(l, (struct sockaddr *)sin, sizeof(*sin)), 0);
    assert_int_equal(listen(l, 8), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)sin, &len), 0);
    return l;
}

static int
get_int_opt(int fd, int level, int name)
{
    int v = 0;
    socklen_t len = sizeof(v);
    assert_int_equal(getsockopt(fd, level, name, &v, &len), 0);
    return v;
}

static void
test_listen_socket_options(void **state)
{
    evutil_socket_t s = socket(AF_INET6, SOCK_STREAM, 0);
    evutil_socket_t t = socket(AF_INET, SOCK_STREAM, 0);

    (void)state;
    assert_true(t >= 0);
    assert_int_equal(evutil_make_listen_socket_reuseable(t), 0);
    assert_true(get_int_opt(t, SOL_SOCKET, SO_REUSEADDR));
    assert_int_equal(evutil_make_listen_socket_reuseable_port(t), 0);
    assert_true(get_int_opt(t, SOL_SOCKET, SO_REUSEPORT));
    assert_int_equal(evutil_make_tcp_listen_socket_deferred(t), 0);
    assert_true(get_int_opt(t, IPPROTO_TCP, TCP_DEFER_ACCEPT) > 0);
    close(t);
    if (s >= 0) {
        assert_int_equal(evutil_make_listen_socket_ipv6only(s), 0);
        assert_true(get_int_opt(s, IPPROTO_IPV6, IPV6_V6ONLY));
        close(s);
    }
    assert_int_equal(evutil_make_listen_socket_reuseable(-1), -1);
}

static void
test_connect_and_accept(void **state)
{
    struct sockaddr_in sin, peer;
    ev_socklen_t plen = sizeof(peer);
    evutil_socket_t l, c = -1, a;
    struct pollfd p;
    int r;

    (void)state;
    l = loopback_listener(&sin);
    r = evutil_socket_connect_(&c, (struct sockaddr *)&sin, sizeof(sin));
    assert_true(r == 0 || r == 1);
    assert_true(c >= 0);
    assert_true(is_nonblocking(c));
    p.fd = c;
    p.events = POLLOUT;
    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_int_equal(evutil_socket_finished_connecting_(c), 1);
    a = evutil_accept4_(l, (struct sockaddr *)&peer, &plen,
        EVUTIL_SOCK_NONBLOCK | EVUTIL_SOCK_CLOEXEC);
    assert_true(a >= 0);
    assert_true(is_nonblocking(a) && is_cloexec(a));
    close(a);
    close(c);
    /* Nothing pending now. */
    evutil_make_socket_nonblocking(l);
    a = evutil_accept4_(l, NULL, NULL, 0);
    assert_int_equal(a, -1);
    assert_true(EVUTIL_ERR_ACCEPT_RETRIABLE(errno));
    close(l);

    /* The port is closed now: refused now or when finishing. */
    c = -1;
    r = evutil_socket_connect_(&c, (struct sockaddr *)&sin, sizeof(sin));
    assert_true(r == 0 || r == 2);
    if (r == 0) {
        p.fd = c;
        p.events = POLLOUT;
        assert_int_equal(poll(&p, 1, 5000), 1);
        assert_int_equal(evutil_socket_finished_connecting_(c), -1);
        assert_true(EVUTIL_ERR_CONNECT_REFUSED(errno));
    }
    close(c);

    /* A made socket is closed again on a hard error. */
    c = -1;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_BROADCAST);
    sin.sin_port = htons(9);
    r = evutil_socket_connect_(&c, (struct sockaddr *)&sin, sizeof(sin));
    if (r == -1)
        assert_int_equal(c, -1);
    else if (c >= 0)
        close(c);
}

/* ------------------------------------------------------------------ */
/* Clocks, conversions, dates, environment */

static void
test_monotonic_timer(void **state)
{
    static const int flags[] = {0, EV_MONOT_PRECISE, EV_MONOT_FALLBACK};
    struct evutil_monotonic_timer *t;
    struct timeval prev, now, start;
    size_t f;
    int i;

    (void)state;
    for (f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
        t = evutil_monotonic_timer_new();
        assert_non_null(t);
        assert_int_equal(evutil_configure_monotonic_time(t, flags[f]), 0);
        assert_int_equal(evutil_gettime_monotonic(t, &start), 0);
        prev = start;
        for (i = 0; i < 2000; i++) {
            assert_int_equal(evutil_gettime_monotonic(t, &now), 0);
            assert_true(now.tv_usec >= 0 && now.tv_usec < 1000000);
            assert_false(evutil_timercmp(&now, &prev, <));
            prev = now;
        }
        {
            struct timeval ms20 = {0, 20000}, diff;
            evutil_usleep_(&ms20);
            assert_int_equal(evutil_gettime_monotonic(t, &now), 0);
            evutil_timersub(&now, &start, &diff);
            assert_true(diff.tv_sec > 0 || diff.tv_usec >= 15000);
            assert_true(diff.tv_sec < 5);
        }
        evutil_monotonic_timer_free(t);
    }
    /* An unconfigured new timer still works. */
    t = evutil_monotonic_timer_new();
    assert_int_equal(evutil_gettime_monotonic(t, &now), 0);
    evutil_monotonic_timer_free(t);
}

static void
test_fallback_clock_never_goes_back(void **state)
{
    struct evutil_monotonic_timer t;
    struct timeval a, b;

    (void)state;
    evutil_configure_monotonic_time_(&t, EV_MONOT_FALLBACK);
    assert_int_equal(t.monotonic_clock, -1);
    assert_int_equal(evutil_gettime_monotonic_(&t, &a), 0);
    /* Pretend the last reading was an hour ahead (a clock step back). */
    t.last_time.tv_sec += 3600;
    assert_int_equal(evutil_gettime_monotonic_(&t, &b), 0);
    assert_true(b.tv_sec >= a.tv_sec + 3600);
    a = b;
    assert_int_equal(evutil_gettime_monotonic_(&t, &b), 0);
    assert_false(evutil_timercmp(&b, &a, <));
    /* The precise flag must give the precise clock. */
    evutil_configure_monotonic_time_(&t, EV_MONOT_PRECISE);
    assert_int_equal(t.monotonic_clock, CLOCK_MONOTONIC);
#ifdef CLOCK_MONOTONIC_COARSE
    /* Without it, the coarse clock whenever it can be read, whatever its
     * resolution, as in libevent 2.1 (EVENT_BASE_FLAG_PRECISE_TIMER is
     * what turns it off). */
    {
        struct timespec ts;
        evutil_configure_monotonic_time_(&t, 0);
        if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
            assert_int_equal(t.monotonic_clock, CLOCK_MONOTONIC_COARSE);
    }
#endif
}

static void
test_tv_to_msec(void **state)
{
    struct timeval tv;

    (void)state;
    assert_int_equal(evutil_tv_to_msec_(NULL), -1);
    tv.tv_sec = 0;
    tv.tv_usec = 0;
    assert_int_equal(evutil_tv_to_msec_(&tv), 0);
    tv.tv_usec = 1;
    assert_int_equal(evutil_tv_to_msec_(&tv), 1);
    tv.tv_usec = 1000;
    assert_int_equal(evutil_tv_to_msec_(&tv), 1);
    tv.tv_usec = 1001;
    assert_int_equal(evutil_tv_to_msec_(&tv), 2);
    tv.tv_sec = 2;
    tv.tv_usec = 500000;
    assert_int_equal(evutil_tv_to_msec_(&tv), 2500);
    tv.tv_sec = -1;
    tv.tv_usec = 0;
    assert_int_equal(evutil_tv_to_msec_(&tv), 0);
    tv.tv_sec = (time_t)INT_MAX / 1000;
    tv.tv_usec = 999999;
    assert_int_equal(evutil_tv_to_msec_(&tv), INT_MAX);
    tv.tv_sec = (time_t)1 << 40;
    assert_int_equal(evutil_tv_to_msec_(&tv), INT_MAX);
    tv.tv_sec = ((time_t)1 << 62);
    tv.tv_usec = 1;
    assert_int_equal(evutil_tv_to_msec_(&tv), INT_MAX);
    tv.tv_sec = -((time_t)1 << 62);
    assert_int_equal(evutil_tv_to_msec_(&tv), 0);
}

static void
test_date_rfc1123(void **state)
{
    struct tm tm;
    char buf[64], small[10];
    time_t t = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT (RFC 1123) */

    (void)state;
    gmtime_r(&t, &tm);
    assert_int_equal(evutil_date_rfc1123(buf, sizeof(buf), &tm), 29);
    assert_string_equal(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_int_equal(evutil_date_rfc1123(small, sizeof(small), &tm), 29);
    assert_string_equal(small, "Sun, 06 N");
    assert_int_equal(evutil_date_rfc1123(buf, sizeof(buf), NULL), 29);
    assert_string_equal(buf + 25, " GMT");
    assert_int_equal(buf[3], ',');
    tm.tm_mon = 12;
    assert_int_equal(evutil_date_rfc1123(buf, sizeof(buf), &tm), -1);
    tm.tm_mon = 0;
    tm.tm_wday = -1;
    assert_int_equal(evutil_date_rfc1123(buf, sizeof(buf), &tm), -1);
}

static void
test_getenv(void **state)
{
    (void)state;
    setenv("EVTEST_UTIL_VAR", "yes", 1);
    /* Tests do not run set-ID, so the value is visible. */
    assert_string_equal(evutil_getenv_("EVTEST_UTIL_VAR"), "yes");
    unsetenv("EVTEST_UTIL_VAR");
    assert_null(evutil_getenv_("EVTEST_UTIL_VAR"));
}

/* NULL where a pointer is required: a failure value, EINVAL and one
 * message each, no crash (libevent and libc crash on most of these). */
static int null_warnings;

static void
count_null_warnings(int severity, const char *msg)
{
    if (severity >= EVENT_LOG_WARN && strstr(msg, ": NULL "))
        ++null_warnings;
}

static void
test_null_arguments(void **state)
{
    char buf[64];
    struct in_addr a;
    int before;

    (void)state;
    a.s_addr = htonl(0x01020304);
    null_warnings = 0;
    event_set_log_callback(count_null_warnings);
#define EXPECT_REFUSED(expr, failure)                                         \
    do {                                                                      \
        before = null_warnings;                                               \
        errno = 0;                                                            \
        assert_true((expr) == (failure));                                     \
        assert_int_equal(null_warnings, before + 1);                          \
    } while (0)
    EXPECT_REFUSED(evutil_inet_pton(AF_INET, NULL, buf), -1);
    assert_int_equal(errno, EINVAL);
    EXPECT_REFUSED(evutil_inet_pton(AF_INET, "1.2.3.4", NULL), -1);
    EXPECT_REFUSED(evutil_inet_ntop(AF_INET, NULL, buf, sizeof(buf)), NULL);
    EXPECT_REFUSED(evutil_inet_ntop(AF_INET, &a, NULL, 16), NULL);
    EXPECT_REFUSED(evutil_getaddrinfo("127.0.0.1", "80", NULL, NULL),
        EVUTIL_EAI_FAIL);
    EXPECT_REFUSED(evutil_ascii_strcasecmp(NULL, NULL), 0);
    EXPECT_REFUSED(evutil_ascii_strcasecmp(NULL, "a") < 0, 1);
    EXPECT_REFUSED(evutil_ascii_strncasecmp("a", NULL, 1) > 0, 1);
    EXPECT_REFUSED(evutil_strtoll(NULL, NULL, 10), 0);
    assert_int_equal(errno, EINVAL);
    EXPECT_REFUSED(evutil_snprintf(NULL, 10, "%d", 5), -1);
    EXPECT_REFUSED(evutil_date_rfc1123(NULL, 10, NULL), -1);
    before = null_warnings;
    evutil_secure_rng_get_bytes(NULL, 10);
    assert_int_equal(null_warnings, before + 1);
#undef EXPECT_REFUSED
    /* Still legal and quiet: no room to write into. */
    before = null_warnings;
    assert_int_equal(evutil_snprintf(NULL, 0, "%d", 5), 0);
    evutil_secure_rng_get_bytes(NULL, 0);
    assert_int_equal(null_warnings, before);
    /* Valid input still works. */
    assert_non_null(evutil_inet_ntop(AF_INET, &a, buf, sizeof(buf)));
    assert_string_equal(buf, "1.2.3.4");
    assert_int_equal(evutil_ascii_strcasecmp("AbC", "abc"), 0);
    event_set_log_callback(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_strtoll),
        cmocka_unit_test(test_snprintf),
        cmocka_unit_test(test_ascii_case),
        cmocka_unit_test(test_char_classes),
        cmocka_unit_test(test_rtrim_memclear),
        cmocka_unit_test(test_secure_rng),
        cmocka_unit_test(test_urandom_device_file),
        cmocka_unit_test(test_weakrand),
        cmocka_unit_test(test_socketpair_and_flags),
        cmocka_unit_test(test_ersatz_socketpair),
        cmocka_unit_test(test_internal_descriptors),
        cmocka_unit_test(test_read_file),
        cmocka_unit_test(test_listen_socket_options),
        cmocka_unit_test(test_connect_and_accept),
        cmocka_unit_test(test_monotonic_timer),
        cmocka_unit_test(test_fallback_clock_never_goes_back),
        cmocka_unit_test(test_tv_to_msec),
        cmocka_unit_test(test_date_rfc1123),
        cmocka_unit_test(test_getenv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

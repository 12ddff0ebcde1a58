/*
 * test-listener.c: evconnlistener over loopback TCP, through libevent
 * 2.1's public API only.
 *
 * Covers: an accept storm of a few hundred connections; enable/disable,
 * LEV_OPT_DISABLED and a NULL callback; flags on accepted sockets
 * (non-blocking unless LEV_OPT_LEAVE_SOCKETS_BLOCKING, close-on-exec with
 * LEV_OPT_CLOSE_ON_EXEC); LEV_OPT_CLOSE_ON_FREE; REUSEABLE_PORT,
 * DEFERRED_ACCEPT and BIND_IPV6ONLY; listening on a socket the caller
 * made; bind failures; freeing from the callback; and accept()
 * failing with EMFILE (RLIMIT_NOFILE lowered in the test).
 *
 * EMFILE: libevent 2.1 calls the error callback and leaves the listening
 * socket in the loop, which spins at full CPU calling it again until
 * descriptors free up.  We call the error callback once and retry from a
 * backoff timer (see src/listener.c), so test_emfile checks that the loop
 * stays idle.  With EVTEST_REFERENCE=1 (running against Debian's libevent)
 * only the parts both share are checked: the error callback runs with
 * errno EMFILE and accepting resumes once descriptors are free.
 *
 * Callbacks only record; assertions run after the loop.
 */
#define _GNU_SOURCE
#include "test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#ifndef _WIN32
#include <sys/resource.h>
#endif

#include <event2/event.h>
#include <event2/listener.h>

struct acc {
    struct event_base *base;
    int accepted;
    int errors;
    int err;           /* errno in the last error callback */
    int exit_after;    /* loopexit after this many accepts (0: never) */
    int last_flags;    /* O_* flags of the last accepted socket */
    int last_fdflags;  /* FD_* flags of the last accepted socket */
    int last_family;
    int free_in_cb;    /* free the listener from the callback */
    struct evconnlistener *lev;
};

static void
acc_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
    int socklen, void *arg)
{
    struct acc *a = arg;

    (void)socklen;
    a->accepted++;
#ifndef _WIN32
    a->last_flags = fcntl(fd, F_GETFL);
    a->last_fdflags = fcntl(fd, F_GETFD);
#endif
    a->last_family = sa->sa_family;
    evutil_closesocket(fd);
    if (a->free_in_cb) {
        evconnlistener_free(lev);
        a->lev = NULL;
    }
    if (a->exit_after && a->accepted >= a->exit_after)
        event_base_loopexit(a->base, NULL);
}

#ifndef _WIN32 /* used by the EMFILE tests only */
static void
acc_errorcb(struct evconnlistener *lev, void *arg)
{
    struct acc *a = arg;

    (void)lev;
    a->err = errno;
    a->errors++;
}
#endif

static void
acc_init(struct acc *a, struct event_base *base)
{
    memset(a, 0, sizeof(*a));
    a->base = base;
}

/* A listener on 127.0.0.1, ephemeral port; *sin gets the address. */
static struct evconnlistener *
listen_loopback(struct event_base *base, struct acc *a, unsigned flags,
    struct sockaddr_in *sin)
{
    struct evconnlistener *lev;
    ev_socklen_t len = sizeof(*sin);

    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lev = evconnlistener_new_bind(base, acc_cb, a, flags, 512,
        (struct sockaddr *)sin, sizeof(*sin));
    assert_non_null(lev);
    assert_int_equal(getsockname(evconnlistener_get_fd(lev),
                         (struct sockaddr *)sin, &len),
        0);
    return lev;
}

/* A blocking connect to sin; returns the client socket. */
static evutil_socket_t
connect_to(const struct sockaddr_in *sin)
{
    evutil_socket_t fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    if (connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) != 0)
        fail_msg("connect: %s", strerror(errno));
    return fd;
}

/* ------------------------------------------------------------------ */

#define STORM 300

static void
test_accept_storm(void **state)
{
    struct event_base *base = *state;
    struct sockaddr_in sin;
    struct evconnlistener *lev;
    evutil_socket_t clients[STORM];
    struct acc a;
    int i;

    acc_init(&a, base);
    a.exit_after = STORM;
    lev = listen_loopback(base, &a, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
        &sin);
    assert_ptr_equal(evconnlistener_get_base(lev), base);
    for (i = 0; i < STORM; ++i) {
#ifdef _WIN32
        clients[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(clients[i] >= 0);
        assert_int_equal(evutil_make_socket_nonblocking(clients[i]), 0);
        if (connect(clients[i], (struct sockaddr *)&sin, sizeof(sin)) != 0)
            assert_int_equal(WSAGetLastError(), WSAEWOULDBLOCK);
#else
        clients[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        assert_true(clients[i] >= 0);
        if (connect(clients[i], (struct sockaddr *)&sin, sizeof(sin)) != 0)
            assert_int_equal(errno, EINPROGRESS);
#endif
    }
    assert_int_equal(tu_run(base, 10000), 0);
    assert_int_equal(a.accepted, STORM);
    assert_int_equal(a.errors, 0);
#ifndef _WIN32
    /* Accepted sockets are non-blocking, not close-on-exec by default. */
    assert_true(a.last_flags & O_NONBLOCK);
    assert_false(a.last_fdflags & FD_CLOEXEC);
#endif
    assert_int_equal(a.last_family, AF_INET);
    for (i = 0; i < STORM; ++i)
        tu_close(&clients[i]);
    evconnlistener_free(lev);
}

static void
test_enable_disable(void **state)
{
    struct event_base *base = *state;
    struct sockaddr_in sin;
    struct evconnlistener *lev;
    evutil_socket_t c1, c2;
    struct acc a;

    acc_init(&a, base);
    lev = listen_loopback(base, &a, LEV_OPT_CLOSE_ON_FREE, &sin);
    assert_int_equal(evconnlistener_disable(lev), 0);
    c1 = connect_to(&sin);
    assert_int_equal(tu_run(base, 100), 1);
    assert_int_equal(a.accepted, 0);
    assert_int_equal(evconnlistener_enable(lev), 0);
    a.exit_after = 1;
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(a.accepted, 1);

    /* With a NULL callback, libevent accepts and closes connections. */
    evconnlistener_set_cb(lev, NULL, NULL);
    c2 = connect_to(&sin);
    assert_int_equal(tu_run(base, 100), 1);
    assert_int_equal(a.accepted, 1);
    {
        char c;
#ifdef _WIN32
        assert_int_equal(evutil_make_socket_nonblocking(c2), 0);
        assert_int_equal(recv(c2, &c, 1, 0), 0);
#else
        assert_int_equal(recv(c2, &c, 1, MSG_DONTWAIT), 0);
#endif
    }
    tu_close(&c2);
    /* Setting one again resumes. */
    evconnlistener_set_cb(lev, acc_cb, &a);
    c2 = connect_to(&sin);
    a.exit_after = 2;
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(a.accepted, 2);

    tu_close(&c1);
    tu_close(&c2);
    evconnlistener_free(lev);
}

static void
test_opt_disabled(void **state)
{
    struct event_base *base = *state;
    struct sockaddr_in sin;
    struct evconnlistener *lev;
    evutil_socket_t c;
    struct acc a;

    acc_init(&a, base);
    lev = listen_loopback(base, &a, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_DISABLED,
        &sin);
    c = connect_to(&sin);
    assert_int_equal(tu_run(base, 100), 1);
    assert_int_equal(a.accepted, 0);
    a.exit_after = 1;
    evconnlistener_enable(lev);
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(a.accepted, 1);
    tu_close(&c);
    evconnlistener_free(lev);
}

#ifndef _WIN32 /* fcntl flags */
static void
test_socket_flags(void **state)
{
    struct event_base *base = *state;
    struct sockaddr_in sin;
    struct evconnlistener *lev;
    evutil_socket_t c;
    struct acc a;

    acc_init(&a, base);
    a.exit_after = 1;
    lev = listen_loopback(base, &a,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_LEAVE_SOCKETS_BLOCKING |
            LEV_OPT_CLOSE_ON_EXEC,
        &sin);
    /* The listening socket itself is close-on-exec too. */
    assert_true(fcntl(evconnlistener_get_fd(lev), F_GETFD) & FD_CLOEXEC);
    c = connect_to(&sin);
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(a.accepted, 1);
    assert_false(a.last_flags & O_NONBLOCK);
    assert_true(a.last_fdflags & FD_CLOEXEC);
    tu_close(&c);
    evconnlistener_free(lev);
}
#endif

static void
test_close_on_free(void **state)
{
    struct event_base *base = *state;
    struct sockaddr_in sin;
    struct evconnlistener *lev;
    evutil_socket_t fd;
    struct acc a;

    acc_init(&a, base);
    lev = listen_loopback(base, &a, LEV_OPT_CLOSE_ON_FREE, &sin);
    fd = evconnlistener_get_fd(lev);
    evconnlistener_free(lev);
    assert_true(tu_fd_is_closed(fd));

    lev = listen_loopback(base, &a, 0, &sin);
    fd = evconnlistener_get_fd(lev);
    evconnlistener_free(lev);
    assert_false(tu_fd_is_closed(fd));
    tu_close(&fd);
}

/* evconnlistener_new on the caller's socket; backlog 0: already
 * listening. */
static void
test_new_on_fd(void **state)
{
    struct event_base *base = *state;
    struct sockaddr_storage ss;
    ev_socklen_t len;
    struct evconnlistener *lev;
    evutil_socket_t lfd, c;
    struct acc a;

    acc_init(&a, base);
    a.exit_after = 1;
    lfd = tu_tcp_listener(AF_INET, &ss, &len);
    assert_true(lfd >= 0);
    lev = evconnlistener_new(base, acc_cb, &a, LEV_OPT_CLOSE_ON_FREE, 0, lfd);
    assert_non_null(lev);
    assert_int_equal(evconnlistener_get_fd(lev), lfd);
    c = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(c, (struct sockaddr *)&ss, len), 0);
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(a.accepted, 1);
    tu_close(&c);
    evconnlistener_free(lev);
    assert_true(tu_fd_is_closed(lfd));
}

static void
test_bad_input(void **state)
{
    struct event_base *base = *state;
    struct sockaddr_in sin;
    struct evconnlistener *lev, *lev2;
    evutil_socket_t fd;
    struct acc a;

    acc_init(&a, base);
    /* new_bind must call listen() itself. */
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_null(evconnlistener_new_bind(base, acc_cb, &a, 0, 0,
        (struct sockaddr *)&sin, sizeof(sin)));

    /* The port is taken. */
    lev = listen_loopback(base, &a, LEV_OPT_CLOSE_ON_FREE, &sin);
    errno = 0;
    lev2 = evconnlistener_new_bind(base, acc_cb, &a, LEV_OPT_CLOSE_ON_FREE,
        -1, (struct sockaddr *)&sin, sizeof(sin));
    assert_null(lev2);
#ifdef _WIN32
    assert_int_equal(WSAGetLastError(), WSAEADDRINUSE);
    evconnlistener_free(lev);
    (void)fd;
#else
    assert_int_equal(errno, EADDRINUSE);
    evconnlistener_free(lev);

    /* listen() on something that is not a socket. */
    fd = open("/dev/null", O_RDONLY);
    assert_null(evconnlistener_new(base, acc_cb, &a, 0, 16, fd));
    tu_close(&fd);
#endif
}

static void
test_free_in_callback(void **state)
{
    struct event_base *base = *state;
    struct sockaddr_in sin;
    evutil_socket_t c1, c2;
    struct acc a;

    acc_init(&a, base);
    a.free_in_cb = 1;
    a.lev = listen_loopback(base, &a, LEV_OPT_CLOSE_ON_FREE, &sin);
    c1 = connect_to(&sin);
    c2 = connect_to(&sin);
    assert_int_equal(tu_run(base, 200), 1);
    /* Freed after the first: the second is never accepted. */
    assert_int_equal(a.accepted, 1);
    assert_null(a.lev);
    tu_close(&c1);
    tu_close(&c2);
}

#ifndef _WIN32 /* SO_REUSEPORT and TCP_DEFER_ACCEPT are Linux's */
/* Two listeners on one port with LEV_OPT_REUSEABLE_PORT; without it the
 * second bind fails. */
static void
test_reuseable_port(void **state)
{
    struct event_base *base = *state;
    struct sockaddr_in sin;
    struct evconnlistener *lev, *lev2;
    struct acc a;

    acc_init(&a, base);
    lev = listen_loopback(base, &a,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE_PORT, &sin);
    lev2 = evconnlistener_new_bind(base, acc_cb, &a,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE_PORT, -1,
        (struct sockaddr *)&sin, sizeof(sin));
    assert_non_null(lev2);
    evconnlistener_free(lev2);
    evconnlistener_free(lev);
}

/* LEV_OPT_DEFERRED_ACCEPT: a connection is handed over once it has
 * data. */
static void
test_deferred_accept(void **state)
{
    struct event_base *base = *state;
    struct sockaddr_in sin;
    struct evconnlistener *lev;
    evutil_socket_t c;
    struct acc a;

    acc_init(&a, base);
    lev = listen_loopback(base, &a,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_DEFERRED_ACCEPT, &sin);
    c = connect_to(&sin);
    assert_int_equal(tu_run(base, 200), 1);
    assert_int_equal(a.accepted, 0);
    assert_int_equal(send(c, "hi", 2, 0), 2);
    a.exit_after = 1;
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(a.accepted, 1);
    tu_close(&c);
    evconnlistener_free(lev);
}
#endif

/* LEV_OPT_BIND_IPV6ONLY on [::1]; an AF_INET6 peer address. */
static void
test_ipv6only(void **state)
{
    struct event_base *base = *state;
    struct sockaddr_in6 sin6;
    ev_socklen_t len = sizeof(sin6);
    struct evconnlistener *lev;
    evutil_socket_t c;
    int on = 0;
    socklen_t olen = sizeof(on);
    struct acc a;

    if (!tu_have_ipv6())
        skip();
    acc_init(&a, base);
    a.exit_after = 1;
    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    sin6.sin6_addr = in6addr_loopback;
    lev = evconnlistener_new_bind(base, acc_cb, &a,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_BIND_IPV6ONLY, -1,
        (struct sockaddr *)&sin6, sizeof(sin6));
    assert_non_null(lev);
    assert_int_equal(getsockopt(evconnlistener_get_fd(lev), IPPROTO_IPV6,
                         IPV6_V6ONLY, (void *)&on, &olen),
        0);
    assert_int_equal(on, 1);
    getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&sin6, &len);
    c = socket(AF_INET6, SOCK_STREAM, 0);
    assert_int_equal(connect(c, (struct sockaddr *)&sin6, len), 0);
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(a.accepted, 1);
    assert_int_equal(a.last_family, AF_INET6);
    tu_close(&c);
    evconnlistener_free(lev);
}

#ifndef _WIN32 /* getrusage, setrlimit */
/* CPU time of the process in ms. */
static long
cpu_ms(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000 +
           ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000;
}

#define N_PENDING 5
#define MAX_FILLERS 4096

static void
test_emfile(void **state)
{
    struct event_base *base = *state;
    int reference = getenv("EVTEST_REFERENCE") != NULL;
    struct sockaddr_in sin;
    struct evconnlistener *lev;
    evutil_socket_t clients[N_PENDING];
    static int fillers[MAX_FILLERS];
    int n_fillers = 0, i;
    struct rlimit old, lim;
    struct timeval start;
    long cpu, wall;
    struct acc a;

    acc_init(&a, base);
    lev = listen_loopback(base, &a, LEV_OPT_CLOSE_ON_FREE, &sin);
    evconnlistener_set_error_cb(lev, acc_errorcb);
    /* Connections wait in the backlog while we use up the fds. */
    evconnlistener_disable(lev);
    for (i = 0; i < N_PENDING; ++i)
        clients[i] = connect_to(&sin);

    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)tu_count_fds() + 32;
    if (lim.rlim_cur > old.rlim_cur)
        lim.rlim_cur = old.rlim_cur;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
    while (n_fillers < MAX_FILLERS) {
        int fd = dup(0);
        if (fd < 0) {
            assert_int_equal(errno, EMFILE);
            break;
        }
        fillers[n_fillers++] = fd;
    }

    evconnlistener_enable(lev);
    tu_now(&start);
    cpu = cpu_ms();
    assert_int_equal(tu_run(base, 300), 1);
    cpu = cpu_ms() - cpu;
    wall = tu_ms_since(&start);
    print_message("EMFILE for %ld ms: %d error callback(s), %ld ms CPU\n",
        wall, a.errors, cpu);
    assert_int_equal(a.accepted, 0);
    assert_true(a.errors >= 1);
    assert_int_equal(a.err, EMFILE);
    if (!reference) {
        /* Once per run of failures, and no busy loop. */
        assert_int_equal(a.errors, 1);
        assert_true(cpu < wall / 4);
    }

    /* Descriptors come back: the waiting connections are accepted. */
    for (i = 0; i < n_fillers; ++i)
        close(fillers[i]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    a.exit_after = N_PENDING;
    assert_int_equal(tu_run(base, 3000), 0);
    assert_int_equal(a.accepted, N_PENDING);

    for (i = 0; i < N_PENDING; ++i)
        tu_close(&clients[i]);
    evconnlistener_free(lev);
}

/* Without an error callback a warning is logged, once per run. */
static void
test_emfile_no_errorcb(void **state)
{
    struct event_base *base = *state;
    int reference = getenv("EVTEST_REFERENCE") != NULL;
    struct sockaddr_in sin;
    struct evconnlistener *lev;
    evutil_socket_t client;
    static int fillers[MAX_FILLERS];
    int n_fillers = 0, i;
    struct rlimit old, lim;
    struct acc a;

    acc_init(&a, base);
    lev = listen_loopback(base, &a, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_DISABLED,
        &sin);
    client = connect_to(&sin);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)tu_count_fds() + 32;
    if (lim.rlim_cur > old.rlim_cur)
        lim.rlim_cur = old.rlim_cur;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
    while (n_fillers < MAX_FILLERS && (fillers[n_fillers] = dup(0)) >= 0)
        n_fillers++;

    tu_log_clear();
    evconnlistener_enable(lev);
    assert_int_equal(tu_run(base, 150), 1);
    assert_true(tu_log_contains("accept"));
    if (!reference)
        assert_int_equal(tu_log_count(EVENT_LOG_WARN), 1);

    for (i = 0; i < n_fillers; ++i)
        close(fillers[i]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    a.exit_after = 1;
    assert_int_equal(tu_run(base, 3000), 0);
    assert_int_equal(a.accepted, 1);
    tu_close(&client);
    evconnlistener_free(lev);
}
#endif

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_accept_storm, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_enable_disable, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_opt_disabled, tu_setup,
            tu_teardown),
#ifndef _WIN32
        cmocka_unit_test_setup_teardown(test_socket_flags, tu_setup,
            tu_teardown),
#endif
        cmocka_unit_test_setup_teardown(test_close_on_free, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_new_on_fd, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_free_in_callback, tu_setup,
            tu_teardown),
#ifndef _WIN32
        cmocka_unit_test_setup_teardown(test_reuseable_port, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_deferred_accept, tu_setup,
            tu_teardown),
#endif
        cmocka_unit_test_setup_teardown(test_ipv6only, tu_setup, tu_teardown),
#ifndef _WIN32
        cmocka_unit_test_setup_teardown(test_emfile, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_emfile_no_errorcb, tu_setup,
            tu_teardown),
#endif
    };
#ifdef _WIN32
    WSADATA wsa;

    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
        return 1;
#endif

    tu_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

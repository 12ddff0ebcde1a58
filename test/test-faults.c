/*
 * test-faults.c: the loop under environmental faults, over loopback.
 *
 *   fd exhaustion   RLIMIT_NOFILE is lowered below what an accept storm
 *                   needs: the listener's error callback runs (EMFILE),
 *                   the loop stays idle rather than spinning on the
 *                   still-readable listening socket (CPU time measured),
 *                   and accepting resumes once descriptors are freed;
 *   peer reset      the peer closes with SO_LINGER 0 (an RST) while a
 *                   bufferevent writes a large buffer: the event callback
 *                   reports an error with ECONNRESET or EPIPE, and nothing
 *                   crashes (SIGPIPE ignored, as libevent 2.1 programs
 *                   must do themselves);
 *   EINTR storm     a helper thread sends SIGUSR1 at a high rate, caught
 *                   with an evsignal, while bufferevents move a stream
 *                   through a socketpair: every byte arrives in order and
 *                   the signal count is plausible (at least one, never
 *                   more than were sent);
 *   fork            event_reinit() in the child: I/O, timer and signal
 *                   events work in the child, and afterwards in the
 *                   parent, whose registrations the child's changes must
 *                   not have touched.
 *
 * Each case is bounded in time by the watchdog and its own deadlines.
 * TEST-TIMEOUT 90
 */
#define _GNU_SOURCE
#include "test-util.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

static void
count_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ++*(int *)arg;
}

/* Process CPU time (user + system) in milliseconds. */
static long
cpu_ms(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

/* Runs base without a private timer until *counter >= target or ms pass,
 * one iteration of at most 20 ms at a time. */
static void
run_until(struct event_base *base, const int *counter, int target, long ms)
{
    struct timeval start;

    tu_now(&start);
    while (*counter < target && tu_ms_since(&start) < ms)
        tu_run_flags(base, EVLOOP_ONCE, 20);
}

/* ------------------------------------------------------------------ */
/* fd exhaustion during an accept storm. */

#define STORM 60
#define SPARE_FDS 10

struct storm {
    evutil_socket_t accepted[STORM];
    int naccepted;
    int nerrors;
    int last_error;
};

static void
storm_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int socklen, void *arg)
{
    struct storm *s = arg;

    (void)lev;
    (void)sa;
    (void)socklen;
    if (s->naccepted < STORM)
        s->accepted[s->naccepted++] = fd;
    else
        close(fd);
}

static void
storm_error_cb(struct evconnlistener *lev, void *arg)
{
    struct storm *s = arg;

    (void)lev;
    s->last_error = EVUTIL_SOCKET_ERROR();
    s->nerrors++;
}

static void
test_fd_exhaustion(void **state)
{
    struct event_base *base = *state;
    struct sockaddr_in sin;
    struct sockaddr_storage ss;
    ev_socklen_t sl = sizeof(ss);
    struct evconnlistener *lev;
    struct rlimit old, low;
    evutil_socket_t clients[STORM];
    struct storm s;
    long cpu0, cpu_idle;
    int i, open_fds, errors_at_limit, accepted_at_limit;

    memset(&s, 0, sizeof(s));
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lev = evconnlistener_new_bind(base, storm_accept_cb, &s,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 128,
        (struct sockaddr *)&sin, sizeof(sin));
    assert_non_null(lev);
    evconnlistener_set_error_cb(lev, storm_error_cb);
    assert_int_equal(getsockname(evconnlistener_get_fd(lev),
                         (struct sockaddr *)&ss, &sl),
        0);
    /* The whole storm is queued in the backlog before the limit drops. */
    for (i = 0; i < STORM; i++) {
        clients[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(clients[i] >= 0);
        assert_int_equal(connect(clients[i], (struct sockaddr *)&ss, sl), 0);
    }
    open_fds = tu_count_fds();
    assert_true(open_fds > 0);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    /* Descriptors are numbered from the lowest free one, and none is
     * above open_fds + a few here, so this leaves about SPARE_FDS. */
    low.rlim_cur = (rlim_t)(open_fds + SPARE_FDS);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);

    /* 600 ms at the limit: a spinning loop would burn about as much CPU
     * time; an idle one a few milliseconds. */
    cpu0 = cpu_ms();
    {
        struct timeval start;

        tu_now(&start);
        while (tu_ms_since(&start) < 600)
            tu_run_flags(base, EVLOOP_ONCE, 20);
    }
    cpu_idle = cpu_ms() - cpu0;
    errors_at_limit = s.nerrors;
    accepted_at_limit = s.naccepted;

    /* Free descriptors: give back the accepted ones and the limit. */
    for (i = 0; i < s.naccepted; i++)
        close(s.accepted[i]);
    s.naccepted = 0;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    run_until(base, &s.naccepted, STORM - accepted_at_limit, 5000);
    printf("fd exhaustion: %d accepted at the limit, %d error callback(s), "
           "%ld ms CPU in 600 ms; %d accepted after the limit was lifted\n",
        accepted_at_limit, errors_at_limit, cpu_idle, s.naccepted);

    for (i = 0; i < s.naccepted; i++)
        close(s.accepted[i]);
    for (i = 0; i < STORM; i++)
        close(clients[i]);
    evconnlistener_free(lev);

    assert_true(accepted_at_limit > 0);
    assert_true(accepted_at_limit < STORM);
    assert_true(errors_at_limit >= 1);
    assert_int_equal(s.last_error, EMFILE);
    /* Not a spin: the error callback ran a bounded number of times and
     * the loop used well under half the wall time in CPU. */
    assert_true(errors_at_limit <= 10);
    assert_true(cpu_idle < 250);
    assert_int_equal(s.naccepted, STORM - accepted_at_limit);
}

/* ------------------------------------------------------------------ */
/* Peer resets mid-write. */

struct reset_state {
    short what;
    int err;
    int events;
};

static void
reset_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct reset_state *r = arg;

    (void)bev;
    if (r->events++ == 0) {
        r->what = what;
        r->err = EVUTIL_SOCKET_ERROR();
    }
}

static void
reset_peer(evutil_socket_t *fd)
{
    struct linger lg;

    lg.l_onoff = 1;
    lg.l_linger = 0;
    assert_int_equal(setsockopt(*fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)),
        0);
    tu_close(fd);
}

static void
test_reset_mid_write(void **state)
{
    struct event_base *base = *state;
    struct sigaction ign, old;
    static char chunk[65536];
    int round, i, n_reset = 0, n_pipe = 0;

    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    assert_int_equal(sigaction(SIGPIPE, &ign, &old), 0);
    memset(chunk, 'r', sizeof(chunk));

    for (round = 0; round < 12; round++) {
        evutil_socket_t fds[2];
        struct bufferevent *bev;
        struct reset_state r = {0, 0, 0};
        int bufsz = 4096;
        char buf[4096];

        assert_int_equal(tu_tcp_pair(AF_INET, fds), 0);
        /* Small kernel buffers keep the bufferevent writing for long. */
        setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
        setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
        bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
        assert_non_null(bev);
        bufferevent_setcb(bev, NULL, NULL, reset_event_cb, &r);
        /* Odd rounds read as well, so the error can surface either way. */
        assert_int_equal(bufferevent_enable(bev,
                             EV_WRITE | (round % 2 ? EV_READ : 0)),
            0);
        for (i = 0; i < 64; i++) /* 4 MiB */
            assert_int_equal(bufferevent_write(bev, chunk, sizeof(chunk)), 0);
        /* Let some of it go, with the peer reading a little. */
        tu_run_flags(base, EVLOOP_NONBLOCK, 0);
        if (round % 3 == 0) {
            ssize_t got = read(fds[1], buf, sizeof(buf));
            (void)got;
        }
        tu_run_flags(base, EVLOOP_ONCE, 20);
        reset_peer(&fds[1]);
        {
            struct timeval start;

            tu_now(&start);
            while (r.events == 0 && tu_ms_since(&start) < 3000)
                tu_run_flags(base, EVLOOP_ONCE, 20);
        }
        assert_true(r.events >= 1);
        assert_true(r.what & BEV_EVENT_ERROR);
        assert_true(r.what & (BEV_EVENT_WRITING | BEV_EVENT_READING));
        if (r.err == ECONNRESET)
            n_reset++;
        else if (r.err == EPIPE)
            n_pipe++;
        else
            fail_msg("round %d: error %d (%s), not ECONNRESET or EPIPE",
                round, r.err, strerror(r.err));
        /* Each direction reports its error once (libevent 2.1 disables
         * only the failing one), then the bufferevent is quiet. */
        tu_run_flags(base, EVLOOP_ONCE, 20);
        tu_run_flags(base, EVLOOP_ONCE, 20);
        assert_true(r.events <= (round % 2 ? 2 : 1));
        bufferevent_free(bev);
    }
    sigaction(SIGPIPE, &old, NULL);
    printf("peer reset: 12 rounds, %d ECONNRESET, %d EPIPE\n", n_reset,
        n_pipe);
}

/* ------------------------------------------------------------------ */
/* EINTR storm. */

/* The writer stops after STREAM_MS, or at STREAM_MAX bytes. */
#define STREAM_MS 1000
#define STREAM_MAX ((size_t)1 << 30)
#define CHUNK 16384

static unsigned char
stream_byte(size_t i)
{
    return (unsigned char)((i * 2654435761u) >> 13);
}

struct storm_io {
    struct bufferevent *w, *r;
    size_t sent, got;
    int stop;
    int bad;
    short events;
    int signals;
};

static void
fill(struct storm_io *io)
{
    unsigned char chunk[CHUNK];
    size_t n, i;

    while (!io->stop && io->sent < STREAM_MAX &&
           evbuffer_get_length(bufferevent_get_output(io->w)) < 4 * CHUNK) {
        n = CHUNK;
        for (i = 0; i < n; i++)
            chunk[i] = stream_byte(io->sent + i);
        if (bufferevent_write(io->w, chunk, n) < 0) {
            io->bad = 1;
            return;
        }
        io->sent += n;
    }
}

static void
storm_write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    fill(arg);
}

static void
storm_read_cb(struct bufferevent *bev, void *arg)
{
    struct storm_io *io = arg;
    unsigned char buf[CHUNK];
    size_t n, i;

    while ((n = bufferevent_read(bev, buf, sizeof(buf))) > 0) {
        for (i = 0; i < n; i++) {
            if (buf[i] != stream_byte(io->got + i))
                io->bad = 1;
        }
        io->got += n;
    }
}

static void
storm_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct storm_io *io = arg;

    (void)bev;
    io->events |= what;
}

struct killer {
    pid_t pid;
    int stop;
    long sent;
};

static void *
killer_main(void *arg)
{
    struct killer *k = arg;
    sigset_t set;

    /* The process-directed signals must land on the loop's thread. */
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    while (!__atomic_load_n(&k->stop, __ATOMIC_ACQUIRE) && k->sent < 400000) {
        kill(k->pid, SIGUSR1);
        k->sent++;
        if (k->sent % 64 == 0)
            usleep(20);
    }
    return NULL;
}

static void
test_eintr_storm(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct storm_io io;
    struct killer k;
    struct event *sig;
    pthread_t th;
    struct timeval start;
    long ms;

    memset(&io, 0, sizeof(io));
    tu_socketpair(fds);
    sig = evsignal_new(base, SIGUSR1, count_cb, &io.signals);
    assert_non_null(sig);
    assert_int_equal(evsignal_add(sig, NULL), 0);
    io.w = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    io.r = bufferevent_socket_new(base, fds[1], BEV_OPT_CLOSE_ON_FREE);
    assert_non_null(io.w);
    assert_non_null(io.r);
    bufferevent_setcb(io.w, NULL, storm_write_cb, storm_event_cb, &io);
    bufferevent_setcb(io.r, storm_read_cb, NULL, storm_event_cb, &io);
    assert_int_equal(bufferevent_enable(io.w, EV_WRITE), 0);
    assert_int_equal(bufferevent_enable(io.r, EV_READ), 0);

    k.pid = getpid();
    k.stop = 0;
    k.sent = 0;
    assert_int_equal(pthread_create(&th, NULL, killer_main, &k), 0);
    fill(&io);
    tu_now(&start);
    while (!io.bad && !io.events && tu_ms_since(&start) < 20000) {
        if (!io.stop && tu_ms_since(&start) >= STREAM_MS)
            io.stop = 1;
        if (io.stop && io.got == io.sent)
            break;
        tu_run_flags(base, EVLOOP_ONCE, 20);
    }
    ms = tu_ms_since(&start);
    __atomic_store_n(&k.stop, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    /* Collect the signals still on their way. */
    tu_run_flags(base, EVLOOP_NONBLOCK, 0);
    tu_sleep_ms(20);
    tu_run_flags(base, EVLOOP_NONBLOCK, 0);
    printf("EINTR storm: %zu bytes verified in %ld ms, %ld SIGUSR1 sent, "
           "%d delivered by the loop\n", io.got, ms, k.sent, io.signals);

    event_free(sig);
    bufferevent_free(io.w);
    bufferevent_free(io.r);
    assert_false(io.bad);
    assert_int_equal(io.events, 0);
    assert_true(io.stop);
    assert_true(io.sent > 0);
    assert_int_equal(io.got, io.sent);
    assert_true(io.signals >= 1);
    assert_true(io.signals <= k.sent);
    assert_true(k.sent >= 100);
}

/* ------------------------------------------------------------------ */
/* fork + event_reinit. */

struct forked {
    int io, timer, sig;
};

/* Triggers and waits for this process's I/O (a byte written to wr), timer
 * and signal events; returns a bit mask of what did not fire. */
static int
exercise(struct event_base *base, struct event *tm, evutil_socket_t wr,
    struct forked *f)
{
    struct timeval tv, start;
    int missing = 0;

    memset(f, 0, sizeof(*f));
    if (event_add(tm, tu_tv(&tv, 20)) < 0)
        return 8;
    if (write(wr, "x", 1) != 1)
        return 16;
    raise(SIGUSR2);
    tu_now(&start);
    while ((f->io == 0 || f->timer == 0 || f->sig == 0) &&
           tu_ms_since(&start) < 3000)
        tu_run_flags(base, EVLOOP_ONCE, 20);
    if (f->io == 0)
        missing |= 1;
    if (f->timer == 0)
        missing |= 2;
    if (f->sig == 0)
        missing |= 4;
    return missing;
}

static void
fork_io_cb(evutil_socket_t fd, short what, void *arg)
{
    char c;
    ssize_t n = read(fd, &c, 1);

    (void)what;
    if (n == 1)
        ((struct forked *)arg)->io++;
}

static void
fork_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ((struct forked *)arg)->timer++;
}

static void
fork_sig_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ((struct forked *)arg)->sig++;
}

static void
test_fork_reinit(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t pa[2], ch[2];
    struct event *io_pa, *io_ch, *tm, *sg;
    struct forked f;
    int status, missing;
    pid_t pid;

    tu_socketpair(pa);
    tu_socketpair(ch);
    io_pa = event_new(base, pa[0], EV_READ | EV_PERSIST, fork_io_cb, &f);
    io_ch = event_new(base, ch[0], EV_READ | EV_PERSIST, fork_io_cb, &f);
    tm = evtimer_new(base, fork_timer_cb, &f);
    sg = evsignal_new(base, SIGUSR2, fork_sig_cb, &f);
    assert_non_null(io_pa);
    assert_non_null(io_ch);
    assert_non_null(tm);
    assert_non_null(sg);
    assert_int_equal(event_add(io_pa, NULL), 0);
    assert_int_equal(event_add(io_ch, NULL), 0);
    assert_int_equal(evsignal_add(sg, NULL), 0);
    /* The loop has run with everything registered before the fork. */
    tu_run_flags(base, EVLOOP_NONBLOCK, 0);

    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        tu_watchdog(10);
        if (event_reinit(base) < 0)
            _exit(100);
        /* Shares the parent's kernel objects until reinit; now deleting
         * the parent's I/O event must only touch the child's set. */
        if (event_del(io_pa) < 0)
            _exit(101);
        missing = exercise(base, tm, ch[1], &f);
        _exit(missing);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0)
        fail_msg("child: status %d (1: I/O, 2: timer, 4: signal missing; "
                 "100: reinit failed, 101: event_del failed)",
            WEXITSTATUS(status));

    /* The parent: the child's byte on ch must not count, so drop that
     * event, then exercise ours. */
    event_del(io_ch);
    tu_drain(ch[0]);
    missing = exercise(base, tm, pa[1], &f);
    printf("fork: child passed; parent missing mask %d (0: I/O, timer and "
           "signal all fired)\n", missing);
    event_free(io_pa);
    event_free(io_ch);
    event_free(tm);
    event_free(sg);
    tu_close_pair(pa);
    tu_close_pair(ch);
    assert_int_equal(missing, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fd_exhaustion, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_reset_mid_write, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_eintr_storm, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_fork_reinit, tu_setup,
            tu_teardown),
    };

    tu_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test-backend.c: what each backend must get right beyond the loop tests.
 *
 * TEST-STATIC (linked like the unit tests; only public API is used).
 * TEST-THREADS (locking is on: evthread_use_pthreads() in main).
 *
 * Every test runs once per variant: epoll, epoll with the changelist,
 * poll, select and io_uring, each on a base restricted to that one
 * method with event_config_avoid_method (and EVENT_BASE_FLAG_IGNORE_ENV,
 * so the EVENT_NO* environment of a backend-matrix run does not
 * interfere).  A variant this build (or kernel) lacks is skipped.
 *
 * Covered: fds closed and their numbers reused while events were pending
 * (the epoll EEXIST/ENOENT/EBADF quirks), regular files (epoll refuses
 * them with EPERM), fds beyond FD_SETSIZE, changes that cancel out within
 * one iteration (the changelist), EV_CLOSED from (E)POLLRDHUP, a thousand
 * fds ready at once, changes made by another thread while the loop
 * waits (with locking on, poll must wait on a private copy of its
 * array), and signal delivery: handler save and restore, counting, range
 * checks, ownership between bases, and after fork.
 */
#define _GNU_SOURCE
#include "test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <dirent.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <spawn.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/thread.h>

struct variant {
    const char *method;
    int changelist;
    const char *name; /* what event_base_get_method() reports */
    int eager;        /* EVENT_EPOLL_EAGER_DELETE set */
    int flags;        /* more event_config flags */
};

static const struct variant variants[] = {
    {"epoll", 0, "epoll", 0, 0},
    {"epoll", 0, "epoll", 1, 0},
    {"epoll", 1, "epoll (with changelist)", 0, 0},
    {"poll", 0, "poll", 0, 0},
    {"select", 0, "select", 0, 0},
    /* Where built and the kernel allows: */
    {"io_uring", 0, "io_uring", 0, 0},           /* an epoll set, via a ring */
    {"io_uring_poll", 0, "io_uring_poll", 0, 0}, /* poll requests */
    /* Other systems' backends: on Linux only in test/shim builds. */
    {"kqueue", 0, "kqueue", 0, 0},
    {"devpoll", 0, "devpoll", 0, 0},
    {"evport", 0, "evport", 0, 0},
};
#define N_VARIANTS (sizeof(variants) / sizeof(variants[0]))

static int
have_method(const char *m)
{
    const char **ms = event_get_supported_methods();
    int i;
    for (i = 0; ms && ms[i]; ++i)
        if (strcmp(ms[i], m) == 0)
            return 1;
    return 0;
}

/* A base using only v's backend, or NULL when this build lacks it. */
/* Base flags every variant's base gets besides its own (a test may set
 * EVENT_BASE_FLAG_NOLOCK for the paths of a base without locking). */
static int variant_extra_flags;

static struct event_base *
variant_base(const struct variant *v)
{
    const char **ms;
    struct event_config *cfg;
    struct event_base *base;
    int i;

    if (!have_method(v->method))
        return NULL;
#ifdef EVTEST_SHIM_METHOD
    /* A test/shim build is there for its one backend. */
    if (strcmp(v->method, EVTEST_SHIM_METHOD) != 0)
        return NULL;
#endif
    if (strcmp(v->method, "io_uring") == 0 && !tu_kernel_has_io_uring_epoll())
        return NULL;
    if (strcmp(v->method, "io_uring_poll") == 0 && !tu_kernel_has_io_uring())
        return NULL;
    /* libevent 2.1 frees the previous array on each call: fetch anew. */
    ms = event_get_supported_methods();
    cfg = event_config_new();
    assert_non_null(cfg);
    for (i = 0; ms[i]; ++i)
        if (strcmp(ms[i], v->method) != 0)
            assert_int_equal(event_config_avoid_method(cfg, ms[i]), 0);
    if (v->eager) {
        /* The environment counts here: none of it may pick another
         * variant. */
        if (getenv("EVENT_NOEPOLL") || getenv("EVENT_EPOLL_USE_CHANGELIST")) {
            event_config_free(cfg);
            return NULL;
        }
        setenv("EVENT_EPOLL_EAGER_DELETE", "1", 1);
    } else {
        assert_int_equal(
            event_config_set_flag(cfg, EVENT_BASE_FLAG_IGNORE_ENV), 0);
    }
    if (v->changelist)
        assert_int_equal(event_config_set_flag(cfg,
                             EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST),
            0);
    if (v->flags | variant_extra_flags)
        assert_int_equal(
            event_config_set_flag(cfg, v->flags | variant_extra_flags), 0);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (v->eager)
        unsetenv("EVENT_EPOLL_EAGER_DELETE");
    assert_non_null(base);
    assert_string_equal(event_base_get_method(base), v->name);
    return base;
}

/* Registrations the kernel holds under fd number tfd, over all the epoll
 * sets of the process (the tests have one base at a time), from
 * /proc/self/fdinfo; stale ones of closed files count too. */
static int
kernel_watches(int tfd)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        char path[300], link[64], line[256];
        ssize_t len;
        FILE *f;
        snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
        len = readlink(path, link, sizeof(link) - 1);
        if (len <= 0)
            continue;
        link[len] = '\0';
        if (strcmp(link, "anon_inode:[eventpoll]") != 0)
            continue;
        snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", de->d_name);
        if ((f = fopen(path, "r")) == NULL)
            continue;
        while (fgets(line, sizeof(line), f) != NULL) {
            int t;
            if (sscanf(line, "tfd: %d", &t) == 1 && t == tfd)
                n++;
        }
        fclose(f);
    }
    closedir(d);
    return n;
}

/* Whether v keeps its interests in an epoll set: epoll, and io_uring
 * (which reaches its set through a ring). */
static int
epoll_set(const struct variant *v)
{
    return strcmp(v->method, "epoll") == 0 ||
           strcmp(v->method, "io_uring") == 0;
}

/* On epoll variants, that the kernel holds n registrations under fd. */
static void
expect_watches(const struct variant *v, int fd, int n)
{
    if (epoll_set(v))
        assert_int_equal(kernel_watches(fd), n);
}

/* Whether epoll deletes of v are lazy: plain epoll where the kernel's
 * kcmp can find stale registrations (see backends/epoll.c). */
static int
lazy_deletes(const struct variant *v)
{
    struct {
        unsigned efd, tfd;
        unsigned long long toff;
    } slot;
    int epfd, ok;

    if (!epoll_set(v) || v->changelist || v->eager)
        return 0;
    epfd = epoll_create1(EPOLL_CLOEXEC);
    assert_true(epfd >= 0);
    slot.efd = slot.tfd = (unsigned)epfd;
    slot.toff = 0;
    ok = syscall(SYS_kcmp, getpid(), getpid(), 7 /* KCMP_EPOLL_TFD */, epfd,
             &slot) == -1 &&
         errno == ENOENT;
    close(epfd);
    return ok;
}

#define FOR_EACH_VARIANT(v, base)                                             \
    for (v = variants; v < variants + N_VARIANTS; ++v)                        \
        if ((base = variant_base(v)) == NULL) {                               \
            print_message("  [%s%s: not built, skipped]\n", v->name,        \
                v->eager ? ", eager deletes" : "");                           \
        } else if (print_message("  [%s%s]\n", v->name,                      \
                       v->eager ? ", eager deletes" : ""), 0) {              \
        } else

/* Move fd to the lowest free number >= at; returns the new number. */
static evutil_socket_t
move_fd(evutil_socket_t fd, int at)
{
    int nfd = fcntl(fd, F_DUPFD, at);
    if (nfd < 0)
        fail_msg("F_DUPFD %d: %s", at, strerror(errno));
    close(fd);
    return nfd;
}

/* Put a new socket pair's reading end on number `num` (just closed). */
static void
pair_at(evutil_socket_t pair[2], int num)
{
    tu_socketpair(pair);
    if (pair[0] != num) {
        if (dup2(pair[0], num) < 0)
            fail_msg("dup2: %s", strerror(errno));
        close(pair[0]);
        pair[0] = num;
    }
}

static int nofile_limit;

/* Make room for n fds; returns 0 when impossible. */
static int
want_fds(int n)
{
    return nofile_limit >= n;
}

/* ------------------------------------------------------------------ */
/* Callback bookkeeping. */

struct hit {
    struct event_base *base;
    int count;
    short what;
    int break_after; /* loopbreak when count reaches this (0: never) */
};

static void
hit_cb(evutil_socket_t fd, short what, void *arg)
{
    struct hit *h = arg;
    (void)fd;
    h->count++;
    h->what |= what;
    if (h->break_after && h->count >= h->break_after)
        event_base_loopbreak(h->base);
}

static void
hit_init(struct hit *h, struct event_base *base, int break_after)
{
    memset(h, 0, sizeof(*h));
    h->base = base;
    h->break_after = break_after;
}

/* One non-blocking iteration: applies queued changes, fires nothing
 * that is not ready. */
static void
spin(struct event_base *base)
{
    assert_true(event_base_loop(base, EVLOOP_NONBLOCK) >= 0);
}

/* A persistent read event on fd counting into h, added. */
static struct event *
added_reader(struct event_base *base, evutil_socket_t fd, struct hit *h)
{
    struct event *ev = event_new(base, fd, EV_READ | EV_PERSIST, hit_cb, h);
    assert_non_null(ev);
    assert_int_equal(event_add(ev, NULL), 0);
    return ev;
}

/* Close fd while a dup keeps its file open; returns the dup. */
static int
close_keeping_file(evutil_socket_t fd)
{
    int keep = dup(fd);
    assert_true(keep >= 0);
    close(fd);
    return keep;
}

/* ------------------------------------------------------------------ */
/* Closed and reused fds. */

static void
test_reuse_after_close_and_del(void **state)
{
    const struct variant *v;
    struct event_base *base;

    (void)state;
    FOR_EACH_VARIANT(v, base)
    {
        evutil_socket_t p[2], q[2];
        struct event *ev1, *ev2;
        struct hit h1, h2;
        int num;

        tu_socketpair(p);
        num = p[0];
        hit_init(&h1, base, 1);
        hit_init(&h2, base, 1);
        ev1 = event_new(base, p[0], EV_READ | EV_PERSIST, hit_cb, &h1);
        assert_int_equal(event_add(ev1, NULL), 0);
        spin(base);

        /* Closing drops the kernel's registration; the del must still
         * succeed quietly. */
        tu_close(&p[0]);
        tu_log_clear();
        assert_int_equal(event_del(ev1), 0);
        assert_int_equal(tu_log_count(EVENT_LOG_WARN), 0);
        event_free(ev1);

        pair_at(q, num);
        ev2 = event_new(base, q[0], EV_READ, hit_cb, &h2);
        assert_int_equal(event_add(ev2, NULL), 0);
        tu_write_str(q[1], "x");
        assert_int_equal(tu_run(base, 2000), 0);
        assert_int_equal(h2.count, 1);
        assert_int_equal(h2.what, EV_READ);
        assert_int_equal(h1.count, 0);
        event_free(ev2);
        tu_close_pair(p);
        tu_close_pair(q);
        event_base_free(base);
    }
}

/* The fd is closed under a pending event and its number reused for a new
 * file; a second event on that number is added without deleting the
 * first (epoll: MOD fails with ENOENT and is retried as ADD). */
static void
test_reuse_without_del(void **state)
{
    const struct variant *v;
    struct event_base *base;

    (void)state;
    FOR_EACH_VARIANT(v, base)
    {
        evutil_socket_t p[2], q[2];
        struct event *ev1, *ev2;
        struct hit h1, h2;
        int num;

        tu_socketpair(p);
        num = p[0];
        hit_init(&h1, base, 1);
        hit_init(&h2, base, 1);
        ev1 = event_new(base, p[0], EV_READ | EV_PERSIST, hit_cb, &h1);
        assert_int_equal(event_add(ev1, NULL), 0);
        spin(base);
        tu_close(&p[0]);
        pair_at(q, num);

        ev2 = event_new(base, num, EV_WRITE | EV_PERSIST, hit_cb, &h2);
        assert_int_equal(event_add(ev2, NULL), 0);
        assert_int_equal(tu_run(base, 2000), 0);
        assert_true(h2.count >= 1);
        assert_int_equal(h2.what, EV_WRITE);

        /* The read interest carried over to the new file too. */
        assert_int_equal(event_del(ev2), 0);
        tu_write_str(q[1], "x");
        assert_int_equal(tu_run(base, 2000), 0);
        assert_int_equal(h1.count, 1);
        assert_int_equal(h1.what, EV_READ);
        event_free(ev1);
        event_free(ev2);
        tu_close_pair(p);
        tu_close_pair(q);
        event_base_free(base);
    }
}

/* The fd number is closed while a dup keeps its file open (epoll keeps
 * the registration), the event deleted, the number pointed at the same
 * file again and a new event added (epoll: ADD fails with EEXIST and is
 * retried as MOD). */
static void
test_dup_keeps_registration(void **state)
{
    const struct variant *v;
    struct event_base *base;

    (void)state;
    FOR_EACH_VARIANT(v, base)
    {
        evutil_socket_t p[2];
        struct event *ev1, *ev2;
        struct hit h1, h2;
        int keep;

        tu_socketpair(p);
        hit_init(&h1, base, 1);
        hit_init(&h2, base, 1);
        ev1 = event_new(base, p[0], EV_READ | EV_PERSIST, hit_cb, &h1);
        assert_int_equal(event_add(ev1, NULL), 0);
        spin(base);

        keep = close_keeping_file(p[0]);
        tu_log_clear();
        assert_int_equal(event_del(ev1), 0);
        spin(base);
        assert_int_equal(dup2(keep, p[0]), p[0]);
        close(keep);

        ev2 = event_new(base, p[0], EV_READ, hit_cb, &h2);
        assert_int_equal(event_add(ev2, NULL), 0);
        tu_write_str(p[1], "x");
        assert_int_equal(tu_run(base, 2000), 0);
        assert_int_equal(h2.count, 1);
        assert_int_equal(h1.count, 0);
        assert_int_equal(tu_log_count(EVENT_LOG_WARN), 0);
        event_free(ev1);
        event_free(ev2);
        tu_close_pair(p);
        event_base_free(base);
    }
}

/* ------------------------------------------------------------------ */
/* Re-registration (epoll's lazy deletes, see backends/epoll.c). */

/* event_del and event_add of the same fd: epoll keeps the registration
 * (the add's ADD says EEXIST) and drops it at the next wait if nothing
 * took it back; other kinds replace it. */
static void
test_reregister(void **state)
{
    const struct variant *v;
    struct event_base *base;

    (void)state;
    FOR_EACH_VARIANT(v, base)
    {
        int lazy = lazy_deletes(v);
        evutil_socket_t p[2];
        struct event *ev, *evw, *keepalive;
        struct hit h, hw;

        tu_socketpair(p);
        hit_init(&h, base, 1);
        hit_init(&hw, base, 1);
        /* Keeps the loop waiting (an empty base returns at once). */
        keepalive = added_reader(base, p[1], &hw);
        ev = added_reader(base, p[0], &h);
        spin(base);
        expect_watches(v, p[0], 1);

        assert_int_equal(event_del(ev), 0);
        expect_watches(v, p[0], lazy || v->changelist ? 1 : 0);
        assert_int_equal(event_assign(ev, base, p[0], EV_READ | EV_PERSIST,
                             hit_cb, &h),
            0);
        assert_int_equal(event_add(ev, NULL), 0);
        spin(base);
        expect_watches(v, p[0], 1);
        tu_write_str(p[1], "x");
        assert_int_equal(tu_run(base, 2000), 0);
        assert_int_equal(h.count, 1);
        assert_int_equal(h.what, EV_READ);

        /* Nothing takes it back: gone at the next wait, and the byte
         * still unread wakes nobody. */
        assert_int_equal(event_del(ev), 0);
        spin(base);
        expect_watches(v, p[0], 0);
        spin(base);
        assert_int_equal(h.count, 1);

        /* Deleted, then wanted for writing only: the readable byte must
         * not wake the write event as readable. */
        assert_int_equal(event_add(ev, NULL), 0);
        spin(base);
        assert_int_equal(h.count, 2);
        assert_int_equal(event_del(ev), 0);
        evw = event_new(base, p[0], EV_WRITE, hit_cb, &hw);
        assert_int_equal(event_add(evw, NULL), 0);
        assert_int_equal(tu_run(base, 2000), 0);
        assert_int_equal(hw.count, 1);
        assert_int_equal(hw.what, EV_WRITE);
        assert_int_equal(h.count, 2);
        spin(base);
        expect_watches(v, p[0], 0);

        event_free(ev);
        event_free(evw);
        event_free(keepalive);
        tu_close_pair(p);
        event_base_free(base);
    }
}

/* A deleted event's fd is closed while a dup keeps its file open, the
 * number reused for a new file, and a new event added: the old file's
 * readiness must never reach the new event, and the kernel must end up
 * with the new registration alone (a lazy DEL failed, and epoll rebuilt
 * its set to drop the old one). */
static void
test_deleted_closed_dup_reused(void **state)
{
    const struct variant *v;
    struct event_base *base;

    (void)state;
    FOR_EACH_VARIANT(v, base)
    {
        evutil_socket_t p[2], q[2];
        struct event *ev1, *ev2;
        struct hit h1, h2;
        int num, keep, i;

        tu_socketpair(p);
        num = p[0];
        hit_init(&h1, base, 1);
        hit_init(&h2, base, 1);
        ev1 = added_reader(base, p[0], &h1);
        spin(base);

        tu_log_clear();
        assert_int_equal(event_del(ev1), 0);
        keep = close_keeping_file(p[0]);
        pair_at(q, num);
        ev2 = added_reader(base, num, &h2);

        /* The old file is readable (through keep); the new one is not. */
        tu_write_str(p[1], "old");
        for (i = 0; i < 3; ++i)
            spin(base);
        assert_int_equal(h2.count, 0);
        assert_int_equal(h1.count, 0);
        expect_watches(v, num, 1);

        tu_write_str(q[1], "new");
        assert_int_equal(tu_run(base, 2000), 0);
        assert_int_equal(h2.count, 1);
        assert_int_equal(h2.what, EV_READ);
        assert_int_equal(tu_log_count(EVENT_LOG_WARN), 0);

        event_free(ev1);
        event_free(ev2);
        close(keep);
        p[0] = -1;
        tu_close_pair(p);
        tu_close_pair(q);
        event_base_free(base);
    }
}

/* The same without a new event: the old file stays readable through the
 * dup, and the kernel must not keep reporting it (a loop that would spin
 * on a registration nobody can delete). */
static void
test_deleted_closed_dup(void **state)
{
    const struct variant *v;
    struct event_base *base;

    (void)state;
    FOR_EACH_VARIANT(v, base)
    {
        evutil_socket_t p[2];
        struct event *ev, *keepalive;
        struct hit h;
        int num, keep;

        tu_socketpair(p);
        num = p[0];
        hit_init(&h, base, 1);
        ev = added_reader(base, p[0], &h);
        /* Keeps the loop waiting (an empty base returns at once). */
        keepalive = added_reader(base, p[1], &h);
        spin(base);

        tu_log_clear();
        assert_int_equal(event_del(ev), 0);
        keep = close_keeping_file(p[0]);
        tu_write_str(p[1], "old");
        spin(base);
        spin(base);
        assert_int_equal(h.count, 0);
        expect_watches(v, num, 0);
        assert_int_equal(tu_log_count(EVENT_LOG_WARN), 0);

        event_free(ev);
        event_free(keepalive);
        close(keep);
        p[0] = -1;
        tu_close_pair(p);
        event_base_free(base);
    }
}

/* A re-registration the backend refuses: the fd of a deleted event is
 * closed and its number reused for a file epoll cannot watch (a regular
 * file: EPERM), then the event is added again.  The add fails and must
 * leave nothing behind: not pending, not counted, not in the fd's map
 * (else a later event on a socket at that number would count as a second
 * reader, reach no backend and never fire), and with a timeout (tv)
 * no timer either.  Backends that accept regular files report them
 * readable instead. */
static void
refused_readd_leaves_nothing(const struct timeval *tv)
{
    const struct variant *v;
    struct event_base *base;

    FOR_EACH_VARIANT(v, base)
    {
        evutil_socket_t p[2], q[2], k[2];
        struct event *ev, *ev2, *keepalive;
        struct hit h, h2, hk;
        int num, file, added, res;

        tu_socketpair(p);
        tu_socketpair(k);
        num = p[0];
        hit_init(&h, base, 1);
        hit_init(&h2, base, 1);
        hit_init(&hk, base, 1);
        /* Keeps the loop waiting (an empty base returns at once). */
        keepalive = added_reader(base, k[0], &hk);
        ev = added_reader(base, num, &h);
        spin(base);
        assert_int_equal(event_del(ev), 0);
        close(num);
        file = open("/dev/null", O_RDONLY);
        assert_true(file >= 0);
        if (file != num) {
            assert_int_equal(dup2(file, num), num);
            close(file);
        }
        added = event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED);

        tu_log_clear();
        errno = 0;
        res = event_add(ev, tv);
        if (strcmp(v->method, "epoll") == 0 && !v->changelist) {
            assert_int_equal(res, -1);
            assert_int_equal(errno, EPERM);
            assert_true(tu_log_count(EVENT_LOG_WARN) > 0);
        }
        if (res == -1) {
            assert_int_equal(
                event_pending(ev, EV_READ | EV_TIMEOUT, NULL), 0);
            assert_int_equal(
                event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED),
                added);
        } else if (v->changelist || strcmp(v->method, "io_uring") == 0) {
            /* The refusal comes at the next wait, as a warning (io_uring
             * probes a lazily deleted fd's number there). */
            spin(base);
            assert_int_equal(h.count, 0);
            if (!v->changelist)
                assert_true(tu_log_count(EVENT_LOG_WARN) > 0);
            assert_int_equal(event_del(ev), 0);
        } else {
            assert_int_equal(tu_run(base, 2000), 0);
            assert_int_equal(h.count, 1);
            assert_int_equal(event_del(ev), 0);
        }

        /* A socket at the same number: its event alone, and it fires. */
        close(num);
        pair_at(q, num);
        ev2 = added_reader(base, num, &h2);
        tu_write_str(q[1], "x");
        assert_int_equal(tu_run(base, 2000), 0);
        assert_int_equal(h2.count, 1);
        assert_int_equal(h2.what, EV_READ);
        assert_int_equal(event_del(ev2), 0);
        spin(base);
        expect_watches(v, num, 0);
        /* And the refused event can be added once the fd is a socket. */
        assert_int_equal(event_add(ev, NULL), 0);
        tu_write_str(q[1], "y");
        assert_int_equal(tu_run(base, 2000), 0);
        assert_true(h.count >= 1);

        event_free(ev);
        event_free(ev2);
        event_free(keepalive);
        assert_int_equal(hk.count, 0);
        tu_close_pair(k);
        p[0] = -1;
        tu_close_pair(p);
        tu_close_pair(q);
        event_base_free(base);
    }
}

/* With locking (main turns it on) and on a base without a lock, whose
 * event_add and event_del take their straight paths. */
static void
test_refused_readd_leaves_nothing(void **state)
{
    struct timeval tv = {30, 0};

    (void)state;
    refused_readd_leaves_nothing(NULL);
    refused_readd_leaves_nothing(&tv);
    print_message("  (bases without a lock)\n");
    variant_extra_flags = EVENT_BASE_FLAG_NOLOCK;
    refused_readd_leaves_nothing(NULL);
    refused_readd_leaves_nothing(&tv);
    variant_extra_flags = 0;
}

/* Once the process forks, an epoll base made before deletes eagerly
 * (the child shares every fd: a delete followed by close() would leave a
 * stale registration behind); a base made after the fork is lazy again. */
static void
test_lazy_deletes_end_at_fork(void **state)
{
    const struct variant *v;
    struct event_base *base;

    (void)state;
    FOR_EACH_VARIANT(v, base)
    {
        evutil_socket_t p[2];
        struct event *ev, *keepalive;
        struct event_base *after;
        struct hit h;
        int status;
        pid_t pid;

        if (!lazy_deletes(v)) {
            event_base_free(base);
            continue;
        }
        tu_socketpair(p);
        hit_init(&h, base, 1);
        keepalive = added_reader(base, p[1], &h);
        ev = added_reader(base, p[0], &h);
        spin(base);
        assert_int_equal(event_del(ev), 0);
        expect_watches(v, p[0], 1);
        assert_int_equal(event_add(ev, NULL), 0);
        spin(base);

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            _exit(0);
        assert_int_equal(waitpid(pid, &status, 0), pid);

        assert_int_equal(event_del(ev), 0);
        expect_watches(v, p[0], 0);
        event_free(ev);
        event_free(keepalive);
        event_base_free(base);

        /* Made after the fork: lazy. */
        after = variant_base(v);
        ev = event_new(after, p[0], EV_READ | EV_PERSIST, hit_cb, &h);
        keepalive = added_reader(after, p[1], &h);
        assert_int_equal(event_add(ev, NULL), 0);
        spin(after);
        assert_int_equal(event_del(ev), 0);
        expect_watches(v, p[0], 1);
        spin(after);
        expect_watches(v, p[0], 0);
        event_free(ev);
        event_free(keepalive);
        event_base_free(after);
        tu_close_pair(p);
    }
}

/* The process's only epoll fd (one base at a time), or -1. */
static int
epoll_fd_now(void)
{
    return tu_anon_inode_fd("anon_inode:[eventpoll]", NULL);
}

/* A child started with posix_spawn() (which, like vfork(), runs no fork
 * handler) inherits the sockets of connections the parent then closes
 * and replaces, event_del() before close() as it should.  Each closed
 * file lives on in the child, so a lazy delete leaves a stale
 * registration that costs a rebuild of the epoll set.  The first one
 * must end lazy deletes for the base: one rebuild, not one per
 * connection (quadratic for a server with many).  The new connections
 * work and the old files' readiness reaches nobody. */
#define CHURN 16
static void
test_lazy_deletes_end_at_stale(void **state)
{
    static const struct variant *v = &variants[0];
    struct event_base *base;
    evutil_socket_t p[CHURN][2], q[CHURN][2], s[2];
    struct event *ev[CHURN], *nev[CHURN], *spare;
    struct hit h, hn;
    char *argv[] = {"sleep", "30", NULL};
    extern char **environ;
    int i, epfd, rebuilt = 0, status;
    pid_t child;

    (void)state;
    if (!lazy_deletes(v) || (base = variant_base(v)) == NULL) {
        print_message("  [epoll without kcmp: skipped]\n");
        return;
    }
    hit_init(&h, base, 0);
    hit_init(&hn, base, 1);
    for (i = 0; i < CHURN; ++i) {
        tu_socketpair(p[i]);
        assert_int_equal(fcntl(p[i][0], F_SETFD, 0), 0);
        ev[i] = added_reader(base, p[i][0], &h);
    }
    tu_socketpair(s);
    spare = added_reader(base, s[0], &h);
    spin(base);
    epfd = epoll_fd_now();
    assert_true(epfd >= 0);

    assert_int_equal(posix_spawnp(&child, "sleep", NULL, NULL, argv, environ),
        0);
    /* No fork handler ran: deletes are still lazy. */
    assert_int_equal(event_del(spare), 0);
    expect_watches(v, s[0], 1);

    for (i = 0; i < CHURN; ++i) {
        int num = p[i][0], before = dup(epfd);
        assert_true(before >= 0);
        assert_int_equal(event_del(ev[i]), 0);
        close(p[i][0]);
        p[i][0] = -1;
        pair_at(q[i], num);
        nev[i] = added_reader(base, num, &hn);
        tu_write_str(p[i][1], "old"); /* the child's copy is readable */
        spin(base);
        if (syscall(SYS_kcmp, getpid(), getpid(), 0 /* KCMP_FILE */, epfd,
                before) != 0)
            rebuilt++;
        close(before);
        expect_watches(v, num, 1);
        assert_int_equal(h.count, 0);
        hn.count = 0;
        tu_write_str(q[i][1], "new");
        assert_int_equal(tu_run(base, 2000), 0);
        assert_int_equal(hn.count, 1);
        assert_int_equal(hn.what, EV_READ);
        /* Deletes are eager once the stale registration was found. */
        if (rebuilt) {
            assert_int_equal(event_del(nev[i]), 0);
            expect_watches(v, num, 0);
            assert_int_equal(event_add(nev[i], NULL), 0);
        }
    }
    print_message("  [epoll set rebuilt %d time(s) for %d connections]\n",
        rebuilt, CHURN);
    assert_int_equal(rebuilt, 1);

    assert_int_equal(kill(child, SIGKILL), 0);
    assert_int_equal(waitpid(child, &status, 0), child);
    for (i = 0; i < CHURN; ++i) {
        event_free(ev[i]);
        event_free(nev[i]);
        tu_close_pair(p[i]);
        tu_close_pair(q[i]);
    }
    event_free(spare);
    tu_close_pair(s);
    event_base_free(base);
}

/* A rebuild of the epoll set (a stale registration found, as in
 * test_deleted_closed_dup) keeps everything else: the timerfd of a
 * precise-timer base (without it, a timer would never end the wait)
 * and the other fds' registrations. */
static void
test_rebuild_keeps_the_rest(void **state)
{
    static const struct variant precise = {"epoll", 0, "epoll", 0,
        EVENT_BASE_FLAG_PRECISE_TIMER};
    struct event_base *base;
    evutil_socket_t p[2], q[2];
    struct event *ev, *other, *timer;
    struct hit h, ho, ht;
    struct timeval tv, start;
    int num, keep;

    (void)state;
    if (!lazy_deletes(&precise) || (base = variant_base(&precise)) == NULL) {
        print_message("  [epoll without kcmp: skipped]\n");
        return;
    }

    tu_socketpair(p);
    tu_socketpair(q);
    num = p[0];
    hit_init(&h, base, 1);
    hit_init(&ho, base, 0);
    hit_init(&ht, base, 1);
    ev = event_new(base, p[0], EV_READ | EV_PERSIST, hit_cb, &h);
    other = event_new(base, q[0], EV_READ | EV_PERSIST, hit_cb, &ho);
    timer = evtimer_new(base, hit_cb, &ht);
    assert_int_equal(event_add(ev, NULL), 0);
    assert_int_equal(event_add(other, NULL), 0);
    spin(base);

    assert_int_equal(event_del(ev), 0);
    keep = close_keeping_file(p[0]);
    tu_write_str(p[1], "old");
    spin(base); /* the lazy DEL fails, the set is rebuilt */
    expect_watches(&precise, num, 0);
    expect_watches(&precise, q[0], 1);

    /* The timerfd is back in the set: the timer ends the wait. */
    tu_now(&start);
    tv.tv_sec = 0;
    tv.tv_usec = 50 * 1000;
    assert_int_equal(evtimer_add(timer, &tv), 0);
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(ht.count, 1);
    assert_true(tu_ms_since(&start) < 1000);
    /* The other fd still reports. */
    ho.break_after = 1;
    tu_write_str(q[1], "x");
    assert_int_equal(tu_run(base, 2000), 0);
    assert_int_equal(ho.count, 1);
    assert_int_equal(h.count, 0);

    event_free(ev);
    event_free(other);
    event_free(timer);
    close(keep);
    p[0] = -1;
    tu_close_pair(p);
    tu_close_pair(q);
    event_base_free(base);
}

/* With EVENT_EPOLL_EAGER_DELETE, epoll makes only the system calls
 * libevent makes: in a child whose seccomp filter kills kcmp (as a
 * strict whitelist would), an epoll base adds, deletes, re-adds and
 * loops, including a delete after close().  Without the variable the
 * same child dies of SIGSYS where kcmp works, which shows the filter
 * bites. */
static int
run_under_kcmp_filter(int eager)
{
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
            offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_kcmp, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof(filter) / sizeof(filter[0]), filter};
    int status;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        struct event_base *base;
        struct event *ev;
        int p[2];

        if (eager)
            setenv("EVENT_EPOLL_EAGER_DELETE", "1", 1);
        else
            unsetenv("EVENT_EPOLL_EAGER_DELETE");
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
            _exit(3);
        base = event_base_new();
        /* io_uring too: its set is epoll's, with the same deletes. */
        if (base == NULL || (strcmp(event_base_get_method(base), "epoll") &&
                                strcmp(event_base_get_method(base), "io_uring")))
            _exit(4);
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, p) != 0)
            _exit(5);
        ev = event_new(base, p[0], EV_READ | EV_PERSIST, hit_cb, NULL);
        if (event_add(ev, NULL) || event_base_loop(base, EVLOOP_NONBLOCK) < 0 ||
            event_del(ev) || event_add(ev, NULL) ||
            event_base_loop(base, EVLOOP_NONBLOCK) < 0)
            _exit(6);
        close(p[0]);
        if (event_del(ev) || event_base_loop(base, EVLOOP_NONBLOCK) < 0)
            _exit(7);
        event_free(ev);
        event_base_free(base);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void
test_eager_mode_makes_no_kcmp(void **state)
{
    int status;

    (void)state;
#ifdef EVTEST_SHIM_METHOD
    /* event_base_new() picks the shimmed backend there. */
    print_message("  [shim build: skipped]\n");
    return;
#endif
    if (!have_method("epoll") || !lazy_deletes(&variants[0]) ||
        getenv("EVENT_NOEPOLL") != NULL) {
        print_message("  [epoll without kcmp: skipped]\n");
        return;
    }
    status = run_under_kcmp_filter(1);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    status = run_under_kcmp_filter(0);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSYS);
}

/* An edge-triggered event deleted and added again sees the data already
 * there once more on epoll (with or without the changelist) and io_uring,
 * as in libevent: a DEL and an ADD re-arm the edge, so epoll does not
 * make this delete lazy. */
static void
test_reregister_edge(void **state)
{
    const struct variant *v;
    struct event_base *base;

    (void)state;
    FOR_EACH_VARIANT(v, base)
    {
        evutil_socket_t p[2];
        struct event *ev;
        struct hit h;

        /* kqueue queues changes, as in libevent: a delete and an add in
         * one iteration cancel out there, and the edge stays spent. */
        if (!(event_base_get_features(base) & EV_FEATURE_ET) ||
            strcmp(v->method, "kqueue") == 0) {
            event_base_free(base);
            continue;
        }
        tu_socketpair(p);
        hit_init(&h, base, 1);
        ev = event_new(base, p[0], EV_READ | EV_ET | EV_PERSIST, hit_cb, &h);
        assert_int_equal(event_add(ev, NULL), 0);
        tu_write_str(p[1], "x");
        assert_int_equal(tu_run(base, 2000), 0);
        assert_int_equal(h.count, 1);
        /* Unread: the edge fires no more... */
        spin(base);
        assert_int_equal(h.count, 1);
        /* ...until the event is registered anew. */
        assert_int_equal(event_del(ev), 0);
        assert_int_equal(event_add(ev, NULL), 0);
        h.break_after = 2;
        assert_int_equal(tu_run(base, 2000), 0);
        assert_int_equal(h.count, 2);

        event_free(ev);
        tu_close_pair(p);
        event_base_free(base);
    }
}

/* ------------------------------------------------------------------ */
/* Regular files. */

static void
test_regular_file(void **state)
{
    const struct variant *v;
    struct event_base *base;
    char path[] = "/tmp/test-backend-XXXXXX";
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(write(fd, "data", 4), 4);

    FOR_EACH_VARIANT(v, base)
    {
        struct event *ev;
        struct hit h;

        hit_init(&h, base, 1);
        ev = event_new(base, fd, EV_READ, hit_cb, &h);
        tu_log_clear();
        if (strcmp(v->method, "kqueue") == 0) {
            /* A vnode is readable while its offset is before the end:
             * not at first (the write left it at the end). */
            assert_int_equal(event_add(ev, NULL), 0);
            assert_int_equal(tu_run(base, 100), 1);
            assert_int_equal(h.count, 0);
            assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
            assert_int_equal(tu_run(base, 2000), 0);
            assert_int_equal(h.count, 1);
            assert_int_equal(lseek(fd, 0, SEEK_END), 4);
        } else if (!epoll_set(v)) {
            /* poll and select (and /dev/poll and event ports, which
             * poll like them) call a regular file always ready. */
            assert_int_equal(event_add(ev, NULL), 0);
            assert_int_equal(tu_run(base, 2000), 0);
            assert_int_equal(h.count, 1);
        } else if (!v->changelist) {
            /* epoll_ctl says EPERM: the add fails, with a warning. */
            assert_int_equal(event_add(ev, NULL), -1);
            assert_true(tu_log_count(EVENT_LOG_WARN) >= 1);
            assert_false(event_pending(ev, EV_READ, NULL));
            /* Nothing was counted, and a del has nothing to undo. */
            assert_int_equal(event_base_get_num_events(base,
                                 EVENT_BASE_COUNT_ADDED), 0);
            assert_int_equal(event_del(ev), 0);
            assert_int_equal(event_base_get_num_events(base,
                                 EVENT_BASE_COUNT_ADDED), 0);
        } else {
            /* The changelist defers the kernel's refusal to dispatch,
             * where it is logged; the event then never fires. */
            assert_int_equal(event_add(ev, NULL), 0);
            assert_int_equal(tu_run(base, 100), 1);
            assert_true(tu_log_count(EVENT_LOG_WARN) >= 1);
            assert_int_equal(h.count, 0);
        }
        event_free(ev);
        event_base_free(base);
    }
    close(fd);
}

/* ------------------------------------------------------------------ */
/* Beyond FD_SETSIZE. */

#define N_HIGH 6

static void
test_beyond_fd_setsize(void **state)
{
    static const int at[N_HIGH] = {FD_SETSIZE - 1, FD_SETSIZE,
        FD_SETSIZE + 63, FD_SETSIZE + 64, 2 * FD_SETSIZE + 5,
        3 * FD_SETSIZE + 1};
    const struct variant *v;
    struct event_base *base;

    (void)state;
    if (!want_fds(3 * FD_SETSIZE + 64)) {
        print_message("  [RLIMIT_NOFILE %d too low, skipped]\n",
            nofile_limit);
        skip();
    }
    FOR_EACH_VARIANT(v, base)
    {
        evutil_socket_t p[N_HIGH][2], quiet[2];
        struct event *ev[N_HIGH], *qev;
        struct hit h[N_HIGH], hq;
        int i, total = 0;

        tu_socketpair(quiet);
        hit_init(&hq, base, 0);
        qev = event_new(base, quiet[0], EV_READ, hit_cb, &hq);
        assert_int_equal(event_add(qev, NULL), 0);
        for (i = 0; i < N_HIGH; ++i) {
            tu_socketpair(p[i]);
            p[i][0] = move_fd(p[i][0], at[i]);
            hit_init(&h[i], base, 0);
            ev[i] = event_new(base, p[i][0], EV_READ, hit_cb, &h[i]);
            assert_int_equal(event_add(ev[i], NULL), 0);
        }
        spin(base);
        for (i = 0; i < N_HIGH; ++i)
            assert_int_equal(h[i].count, 0);
        /* Fire them one at a time from the top, then all at once. */
        for (i = N_HIGH - 1; i >= N_HIGH - 2; --i) {
            tu_write_str(p[i][1], "x");
            h[i].break_after = 1;
            assert_int_equal(tu_run(base, 2000), 0);
            assert_int_equal(h[i].count, 1);
            assert_int_equal(h[i].what, EV_READ);
            total++;
        }
        for (i = 0; i < N_HIGH - 2; ++i)
            tu_write_str(p[i][1], "x");
        while (total < N_HIGH) {
            spin(base);
            for (total = 0, i = 0; i < N_HIGH; ++i)
                total += h[i].count;
        }
        for (i = 0; i < N_HIGH; ++i) {
            assert_int_equal(h[i].count, 1);
            event_free(ev[i]);
            tu_close_pair(p[i]);
        }
        /* The low fd saw nothing, and still works once the high ones
         * are gone. */
        assert_int_equal(hq.count, 0);
        hq.break_after = 1;
        tu_write_str(quiet[1], "x");
        assert_int_equal(tu_run(base, 2000), 0);
        assert_int_equal(hq.count, 1);
        event_free(qev);
        tu_close_pair(quiet);
        event_base_free(base);
    }
}

/* ------------------------------------------------------------------ */
/* Changes that cancel out within one iteration. */

struct churn {
    struct event *ev, *ev2;
    int mode;
    evutil_socket_t *pair; /* mode 3 replaces pair[0] under the event */
    evutil_socket_t q1;    /* mode 3: the new file's peer */
};

/* Runs inside an iteration, so the changes below reach a changelist
 * backend together at the next dispatch; then makes the fd readable. */
static void
churn_cb(evutil_socket_t fd, short what, void *arg)
{
    struct churn *c = arg;
    evutil_socket_t q[2];
    int num;

    (void)fd;
    (void)what;
    switch (c->mode) {
    case 0: /* add, del: never fires */
        event_add(c->ev, NULL);
        event_del(c->ev);
        break;
    case 1: /* add, del, add: fires */
        event_add(c->ev, NULL);
        event_del(c->ev);
        event_add(c->ev, NULL);
        break;
    case 2: /* pending: del, add: still fires */
        event_del(c->ev);
        event_add(c->ev, NULL);
        break;
    case 3: /* pending: del, close, reuse the number, add another */
        num = c->pair[0];
        event_del(c->ev);
        close(c->pair[0]);
        pair_at(q, num);
        c->q1 = q[1];
        event_add(c->ev2, NULL);
        tu_write_str(c->q1, "x");
        return;
    }
    tu_write_str(c->pair[1], "x");
}

static void
test_changes_cancel_out(void **state)
{
    const struct variant *v;
    struct event_base *base;

    (void)state;
    FOR_EACH_VARIANT(v, base)
    {
        int mode;
        for (mode = 0; mode < 4; ++mode) {
            evutil_socket_t p[2];
            struct churn c;
            struct event *driver;
            struct hit h, h2;
            struct timeval tv = {0, 0};

            tu_socketpair(p);
            hit_init(&h, base, 1);
            hit_init(&h2, base, 1);
            memset(&c, 0, sizeof(c));
            c.mode = mode;
            c.pair = p;
            c.q1 = -1;
            c.ev = event_new(base, p[0], EV_READ, hit_cb, &h);
            c.ev2 = event_new(base, p[0], EV_READ, hit_cb, &h2);
            if (mode >= 2) {
                /* Pending, and known to the kernel, beforehand. */
                assert_int_equal(event_add(c.ev, NULL), 0);
                spin(base);
            }
            driver = evtimer_new(base, churn_cb, &c);
            assert_int_equal(evtimer_add(driver, &tv), 0);
            tu_log_clear();
            if (mode == 0) {
                assert_int_equal(tu_run(base, 150), 1);
                assert_int_equal(h.count, 0);
            } else if (mode == 3) {
                assert_int_equal(tu_run(base, 2000), 0);
                assert_int_equal(h2.count, 1);
                assert_int_equal(h.count, 0);
            } else {
                assert_int_equal(tu_run(base, 2000), 0);
                assert_int_equal(h.count, 1);
            }
            assert_int_equal(tu_log_count(EVENT_LOG_WARN), 0);
            event_free(driver);
            event_free(c.ev);
            event_free(c.ev2);
            tu_close_pair(p);
            tu_close(&c.q1);
        }
        event_base_free(base);
    }
}

/* ------------------------------------------------------------------ */
/* EV_CLOSED. */

static void
test_ev_closed(void **state)
{
    const struct variant *v;
    struct event_base *base;

    (void)state;
    FOR_EACH_VARIANT(v, base)
    {
        evutil_socket_t p[2];
        struct event *ev;
        struct hit h;

        if (!tu_base_has_features(base, EV_FEATURE_EARLY_CLOSE)) {
            event_base_free(base);
            continue;
        }
        tu_socketpair(p);
        hit_init(&h, base, 1);
        ev = event_new(base, p[0], EV_CLOSED, hit_cb, &h);
        assert_int_equal(event_add(ev, NULL), 0);
        /* Data alone is not a close. */
        tu_write_str(p[1], "x");
        assert_int_equal(tu_run(base, 100), 1);
        assert_int_equal(h.count, 0);

        assert_int_equal(shutdown(p[1], SHUT_WR), 0);
        assert_int_equal(tu_run(base, 2000), 0);
        assert_int_equal(h.count, 1);
        assert_true(h.what & EV_CLOSED);
        event_free(ev);

        /* Read and close together, after a full close of the peer. */
        hit_init(&h, base, 1);
        ev = event_new(base, p[0], EV_READ | EV_CLOSED, hit_cb, &h);
        assert_int_equal(event_add(ev, NULL), 0);
        tu_close(&p[1]);
        assert_int_equal(tu_run(base, 2000), 0);
        assert_true(h.what & EV_CLOSED);
        assert_true(h.what & EV_READ);
        event_free(ev);
        tu_close_pair(p);
        event_base_free(base);
    }
}

/* ------------------------------------------------------------------ */
/* Many fds ready at once. */

#define N_PAIRS 1000

static void
test_thousand_pairs(void **state)
{
    const struct variant *v;
    struct event_base *base;
    static evutil_socket_t p[N_PAIRS][2];
    static struct event *ev[N_PAIRS];
    static struct hit h[N_PAIRS];

    (void)state;
    if (!want_fds(2 * N_PAIRS + 64)) {
        print_message("  [RLIMIT_NOFILE %d too low, skipped]\n",
            nofile_limit);
        skip();
    }
    FOR_EACH_VARIANT(v, base)
    {
        struct hit all;
        int i, fired = 0;

        hit_init(&all, base, 0);
        for (i = 0; i < N_PAIRS; ++i) {
            tu_socketpair(p[i]);
            hit_init(&h[i], base, 0);
            ev[i] = event_new(base, p[i][0], EV_READ, hit_cb, &h[i]);
            assert_int_equal(event_add(ev[i], NULL), 0);
        }
        for (i = 0; i < N_PAIRS; ++i)
            tu_write_str(p[i][1], "x");
        /* Non-persistent events: the loop ends when all have fired. */
        assert_int_equal(event_base_dispatch(base), 1);
        for (i = 0; i < N_PAIRS; ++i) {
            fired += h[i].count == 1;
            assert_int_equal(h[i].count, 1);
            assert_int_equal(h[i].what, EV_READ);
            event_free(ev[i]);
            tu_close_pair(p[i]);
        }
        assert_int_equal(fired, N_PAIRS);
        event_base_free(base);
    }
}

/* ------------------------------------------------------------------ */
/* Another thread changes the fds while the loop waits. */

#define N_XT 40

struct xthread {
    struct event_base *base;
    evutil_socket_t p[N_XT][2];
    struct event *ev[N_XT];
    int fired[N_XT];
    int total;
};

static void
xthread_cb(evutil_socket_t fd, short what, void *arg)
{
    struct xthread *x = arg;
    int i;
    for (i = 0; i < N_XT; ++i)
        if (x->p[i][0] == fd)
            x->fired[i]++;
    if (++x->total == N_XT / 2)
        event_base_loopbreak(x->base);
}

static void *
xthread_main(void *arg)
{
    struct xthread *x = arg;
    int i;

    tu_sleep_ms(30); /* let the loop block in dispatch */
    for (i = 0; i < N_XT; ++i)
        event_add(x->ev[i], NULL);
    tu_sleep_ms(10);
    for (i = 0; i < N_XT / 2; ++i)
        event_del(x->ev[i]);
    for (i = 0; i < N_XT; ++i)
        if (send(x->p[i][1], "x", 1, MSG_NOSIGNAL) != 1)
            abort();
    return NULL;
}

static void
test_other_thread_changes(void **state)
{
    const struct variant *v;
    struct event_base *base;

    (void)state;
    FOR_EACH_VARIANT(v, base)
    {
        static struct xthread x;
        pthread_t th;
        int i;

        memset(&x, 0, sizeof(x));
        x.base = base;
        for (i = 0; i < N_XT; ++i) {
            tu_socketpair(x.p[i]);
            x.ev[i] = event_new(base, x.p[i][0], EV_READ, xthread_cb, &x);
        }
        assert_int_equal(pthread_create(&th, NULL, xthread_main, &x), 0);
        assert_int_equal(tu_run(base, 5000), 0);
        assert_int_equal(pthread_join(th, NULL), 0);
        for (i = 0; i < N_XT; ++i) {
            assert_int_equal(x.fired[i], i < N_XT / 2 ? 0 : 1);
            event_free(x.ev[i]);
            tu_close_pair(x.p[i]);
        }
        event_base_free(base);
    }
}

/* ------------------------------------------------------------------ */
/* Signals. */

static volatile sig_atomic_t custom_hits;

static void
custom_handler(int sig)
{
    (void)sig;
    custom_hits++;
}

static void
raise_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    raise(*(int *)arg);
}

static void
test_signal_handlers(void **state)
{
    const struct variant *v;
    struct event_base *base;
    struct sigaction sa, cur;

    (void)state;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = custom_handler;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);

    FOR_EACH_VARIANT(v, base)
    {
        struct event *ev;
        struct hit h;
        int i;

        hit_init(&h, base, 3);
        ev = evsignal_new(base, SIGUSR1, hit_cb, &h);
        /* evsignal_new is persistent */
        assert_int_equal(event_add(ev, NULL), 0);
        assert_int_equal(sigaction(SIGUSR1, NULL, &cur), 0);
        assert_true(cur.sa_handler != custom_handler);

        /* Three deliveries before the loop: three calls. */
        custom_hits = 0;
        for (i = 0; i < 3; ++i)
            raise(SIGUSR1);
        assert_int_equal(tu_run(base, 2000), 0);
        assert_int_equal(h.count, 3);
        assert_int_equal(h.what, EV_SIGNAL);
        assert_int_equal(custom_hits, 0);

        /* The last event for the signal goes: the old handler is back. */
        assert_int_equal(event_del(ev), 0);
        assert_int_equal(sigaction(SIGUSR1, NULL, &cur), 0);
        assert_true(cur.sa_handler == custom_handler);

        /* Freeing the base restores it too. */
        assert_int_equal(event_add(ev, NULL), 0);
        event_free(ev);
        event_base_free(base);
        assert_int_equal(sigaction(SIGUSR1, NULL, &cur), 0);
        assert_true(cur.sa_handler == custom_handler);
    }
    sa.sa_handler = SIG_DFL;
    sigaction(SIGUSR1, &sa, NULL);
}

static void
test_signal_out_of_range(void **state)
{
    const struct variant *v;
    struct event_base *base;
    static const int bad[] = {0, NSIG, NSIG + 10, 255, 100000};

    (void)state;
    FOR_EACH_VARIANT(v, base)
    {
        size_t i;
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
            struct event *ev = evsignal_new(base, bad[i], hit_cb, NULL);
            if (ev == NULL)
                continue; /* refused even earlier: fine */
            assert_int_equal(event_add(ev, NULL), -1);
            event_free(ev);
        }
        event_base_free(base);
    }
}

static void
test_signal_owner_moves(void **state)
{
    const struct variant *v;
    struct event_base *b2;

    (void)state;
    /* Two bases of one variant at a time is enough; use each. */
    FOR_EACH_VARIANT(v, b2)
    {
        struct event_base *b1 = variant_base(v);
        struct event *e1, *e2, *raiser;
        struct hit h1, h2;
        struct timeval tv = {0, 0};
        int sig1 = SIGUSR1, sig2 = SIGUSR2;

        hit_init(&h1, b1, 1);
        hit_init(&h2, b2, 1);
        e1 = evsignal_new(b1, SIGUSR1, hit_cb, &h1);
        e2 = evsignal_new(b2, SIGUSR2, hit_cb, &h2);
        assert_int_equal(event_add(e1, NULL), 0);
        tu_log_clear();
        /* libevent 2.1: the newest base takes over, with a warning
         * (not with kqueue, where each base has its own signals). */
        assert_int_equal(event_add(e2, NULL), 0);
        if (strcmp(v->method, "kqueue") != 0)
            assert_true(tu_log_count(EVENT_LOG_WARN) >= 1);

        raise(SIGUSR2);
        assert_int_equal(tu_run(b2, 2000), 0);
        assert_int_equal(h2.count, 1);

        /* Running b1's loop makes it the owner again. */
        raiser = evtimer_new(b1, raise_cb, &sig1);
        assert_int_equal(evtimer_add(raiser, &tv), 0);
        assert_int_equal(tu_run(b1, 2000), 0);
        assert_int_equal(h1.count, 1);
        event_free(raiser);

        /* Freeing the owner leaves b2 working through its own loop. */
        event_free(e1);
        event_base_free(b1);
        h2.count = 0;
        raiser = evtimer_new(b2, raise_cb, &sig2);
        assert_int_equal(evtimer_add(raiser, &tv), 0);
        assert_int_equal(tu_run(b2, 2000), 0);
        assert_int_equal(h2.count, 1);
        event_free(raiser);
        event_free(e2);
        event_base_free(b2);
    }
}

/* After fork the child re-initialises: its own kernel state (epoll) and
 * its own signal pipe; both io and signals work there, and the parent is
 * unaffected. */
static void
test_fork_reinit(void **state)
{
    const struct variant *v;
    struct event_base *base;

    (void)state;
    FOR_EACH_VARIANT(v, base)
    {
        evutil_socket_t p[2];
        struct event *eio, *esig;
        struct hit hio, hsig;
        pid_t pid;
        int status;

        tu_socketpair(p);
        hit_init(&hio, base, 0);
        hit_init(&hsig, base, 0);
        eio = event_new(base, p[0], EV_READ | EV_PERSIST, hit_cb, &hio);
        esig = evsignal_new(base, SIGUSR1, hit_cb, &hsig);
        assert_int_equal(event_add(eio, NULL), 0);
        assert_int_equal(event_add(esig, NULL), 0);
        spin(base);

        fflush(NULL);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            int ok = event_reinit(base) == 0;
            hio.break_after = 1;
            tu_write_str(p[1], "x");
            ok = ok && tu_run(base, 2000) == 0 && hio.count == 1;
            tu_drain(p[0]);
            hsig.break_after = 1;
            raise(SIGUSR1);
            ok = ok && tu_run(base, 2000) == 0 && hsig.count == 1;
            _exit(ok ? 0 : 1);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);

        /* The parent drains what the child left and still works. */
        tu_drain(p[0]);
        hio.count = 0;
        hsig.break_after = 1;
        raise(SIGUSR1);
        assert_int_equal(tu_run(base, 2000), 0);
        assert_int_equal(hsig.count, 1);
        event_free(eio);
        event_free(esig);
        tu_close_pair(p);
        event_base_free(base);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reuse_after_close_and_del,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_reuse_without_del,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_dup_keeps_registration,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_reregister, tu_setup_nobase,
            tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_deleted_closed_dup_reused,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_deleted_closed_dup,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_refused_readd_leaves_nothing,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_lazy_deletes_end_at_fork,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_lazy_deletes_end_at_stale,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_rebuild_keeps_the_rest,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_eager_mode_makes_no_kcmp,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_reregister_edge,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_regular_file, tu_setup_nobase,
            tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_beyond_fd_setsize,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_changes_cancel_out,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_ev_closed, tu_setup_nobase,
            tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_thousand_pairs,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_other_thread_changes,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_signal_handlers,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_signal_out_of_range,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_signal_owner_moves,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_fork_reinit, tu_setup_nobase,
            tu_teardown_nobase),
    };
    struct rlimit rl;

    if (evthread_use_pthreads() != 0) {
        fprintf(stderr, "evthread_use_pthreads failed\n");
        return 1;
    }
    tu_init();
    /* As many fds as the hard limit allows (enough for the tests). */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rlim_t want = 8192;
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
            want = rl.rlim_max;
        if (rl.rlim_cur < want) {
            rl.rlim_cur = want;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
            nofile_limit = rl.rlim_cur > 100000 ? 100000 : (int)rl.rlim_cur;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}

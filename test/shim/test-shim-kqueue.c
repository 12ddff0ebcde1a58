/*
 * test-shim-kqueue.c: the kqueue shim (test/shim/kqueue-shim.c) against
 * what FreeBSD's kevent(2) manual page says, without libevent: so that
 * the shim is held to the manual rather than to what backends/kqueue.c
 * happens to expect.  Each test cites the sentence it checks.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/event.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const struct timespec zero = {0, 0};

static long
ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 +
           (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void
pair(int fds[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    assert_int_equal(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
    assert_int_equal(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
}

/* One change, no events wanted back; returns kevent()'s result. */
static int
change(int kq, uintptr_t ident, short filter, unsigned short flags,
    void *udata)
{
    struct kevent kev;
    EV_SET(&kev, ident, filter, flags, 0, 0, udata);
    return kevent(kq, &kev, 1, NULL, 0, NULL);
}

/* One change with room for its error entry; returns the errno it
 * reported (0: none). */
static int
change_err(int kq, uintptr_t ident, short filter, unsigned short flags)
{
    struct kevent kev, out;
    int n;
    EV_SET(&kev, ident, filter, flags, 0, 0, NULL);
    n = kevent(kq, &kev, 1, &out, 1, &zero);
    assert_true(n >= 0);
    if (n == 1 && (out.flags & EV_ERROR))
        return (int)out.data;
    return 0;
}

static int
poll_kq(int kq, struct kevent *out, int n)
{
    return kevent(kq, NULL, 0, out, n, &zero);
}

/* "When nevents is zero, kevent() will return immediately even if there
 * is a timeout specified"; "If timeout is a NULL pointer, kevent() waits
 * indefinitely"; a zero timespec polls; "If the time limit expires, then
 * kevent() returns 0." */
static void
test_timeouts(void **state)
{
    struct timespec t0, ts = {0, 60 * 1000000};
    struct kevent out;
    int kq = kqueue();

    (void)state;
    assert_true(kq >= 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(kevent(kq, NULL, 0, NULL, 0, NULL), 0);
    assert_int_equal(poll_kq(kq, &out, 1), 0);
    assert_true(ms_since(&t0) < 30);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(kevent(kq, NULL, 0, &out, 1, &ts), 0);
    assert_true(ms_since(&t0) >= 55);
    ts.tv_nsec = 1000000000;
    assert_int_equal(kevent(kq, NULL, 0, &out, 1, &ts), -1);
    assert_int_equal(errno, EINVAL);
    close(kq);
    assert_int_equal(kevent(kq, NULL, 0, &out, 1, &zero), -1);
    assert_int_equal(errno, EBADF);
}

/* EVFILT_READ: "returns when there is data to be read ... data contains
 * the number of bytes of protocol data available"; level-triggered until
 * read; "udata: Opaque user-defined value passed through the kernel
 * unchanged". */
static void
test_read_filter(void **state)
{
    struct kevent out[2];
    int fds[2], kq = kqueue();
    char buf[16];

    (void)state;
    pair(fds);
    assert_int_equal(change(kq, fds[0], EVFILT_READ, EV_ADD, &out), 0);
    assert_int_equal(poll_kq(kq, out, 2), 0);
    assert_int_equal(write(fds[1], "hello", 5), 5);
    assert_int_equal(poll_kq(kq, out, 2), 1);
    assert_int_equal(out[0].ident, fds[0]);
    assert_int_equal(out[0].filter, EVFILT_READ);
    assert_int_equal(out[0].data, 5);
    assert_ptr_equal(out[0].udata, &out);
    assert_false(out[0].flags & (EV_EOF | EV_ERROR));
    /* The condition holds: reported again. */
    assert_int_equal(poll_kq(kq, out, 2), 1);
    assert_int_equal(read(fds[0], buf, 2), 2);
    assert_int_equal(poll_kq(kq, out, 2), 1);
    assert_int_equal(out[0].data, 3);
    assert_int_equal(read(fds[0], buf, sizeof(buf)), 3);
    /* "If the filter indicates that the condition that triggered the
     * event no longer holds, the kevent is removed". */
    assert_int_equal(poll_kq(kq, out, 2), 0);
    /* "If the read direction of the socket has shutdown, then the filter
     * also sets EV_EOF". */
    close(fds[1]);
    assert_int_equal(poll_kq(kq, out, 2), 1);
    assert_true(out[0].flags & EV_EOF);
    close(fds[0]);
    close(kq);
}

/* EVFILT_WRITE: "data will contain the amount of space remaining in the
 * write buffer ... The filter will set EV_EOF when the reader
 * disconnects". */
static void
test_write_filter(void **state)
{
    struct kevent out;
    int fds[2], p[2], kq = kqueue();

    (void)state;
    pair(fds);
    assert_int_equal(change(kq, fds[0], EVFILT_WRITE, EV_ADD, NULL), 0);
    assert_int_equal(poll_kq(kq, &out, 1), 1);
    assert_int_equal(out.filter, EVFILT_WRITE);
    assert_true(out.data > 0);
    assert_false(out.flags & EV_EOF);
    close(fds[1]);
    assert_int_equal(poll_kq(kq, &out, 1), 1);
    assert_true(out.flags & EV_EOF);
    close(fds[0]);

    /* A pipe's writer sees EV_EOF when the reader goes. */
    assert_int_equal(pipe(p), 0);
    assert_int_equal(change(kq, p[1], EVFILT_WRITE, EV_ADD, NULL), 0);
    assert_int_equal(poll_kq(kq, &out, 1), 1);
    assert_true(out.data > 0);
    close(p[0]);
    assert_int_equal(poll_kq(kq, &out, 1), 1);
    assert_true(out.flags & EV_EOF);
    close(p[1]);
    close(kq);
}

/* "kevent() returns the number of events placed in the eventlist, up to
 * the value given by nevents": with more fds ready than the shim reads
 * from epoll in one go (64), a call with room for all of them gets all of
 * them, every time (level-triggered), and a call with less room fills it.
 * (upstream regress's main/many_events_slow_add: 65 ready, room for 128,
 * the shim handed out 64.) */
static void
test_many_ready(void **state)
{
    enum { NPAIR = 50, NFD = 2 * NPAIR };
    struct kevent out[NFD + 28];
    int fds[NPAIR][2], kq = kqueue(), i, round;

    (void)state;
    for (i = 0; i < NPAIR; ++i) {
        pair(fds[i]);
        assert_int_equal(
            change(kq, fds[i][0], EVFILT_WRITE, EV_ADD, NULL), 0);
        assert_int_equal(
            change(kq, fds[i][1], EVFILT_WRITE, EV_ADD, NULL), 0);
    }
    for (round = 0; round < 3; ++round)
        assert_int_equal(poll_kq(kq, out, NFD + 28), NFD);
    assert_int_equal(poll_kq(kq, out, 30), 30);
    assert_int_equal(poll_kq(kq, out, NFD + 28), NFD);
    for (i = 0; i < NPAIR; ++i) {
        close(fds[i][0]);
        close(fds[i][1]);
    }
    close(kq);
}

/* "A kevent is identified by the (ident, filter) pair; there may only be
 * one unique kevent per kqueue"; "Re-adding an existing event will modify
 * the parameters of the original event, and not result in a duplicate
 * entry." */
static void
test_readd_modifies(void **state)
{
    struct kevent out[4];
    int fds[2], kq = kqueue(), x;

    (void)state;
    pair(fds);
    assert_int_equal(change(kq, fds[0], EVFILT_READ, EV_ADD, NULL), 0);
    assert_int_equal(change(kq, fds[0], EVFILT_READ, EV_ADD, &x), 0);
    assert_int_equal(write(fds[1], "x", 1), 1);
    assert_int_equal(poll_kq(kq, out, 4), 1);
    assert_ptr_equal(out[0].udata, &x);
    /* Both filters of one fd are two kevents. */
    assert_int_equal(change(kq, fds[0], EVFILT_WRITE, EV_ADD, NULL), 0);
    assert_int_equal(poll_kq(kq, out, 4), 2);
    assert_true(out[0].filter != out[1].filter);
    close(fds[0]);
    close(fds[1]);
    close(kq);
}

/* EV_CLEAR: "After the event is retrieved by the user, its state is
 * reset." */
static void
test_clear(void **state)
{
    struct kevent out;
    int fds[2], kq = kqueue();

    (void)state;
    pair(fds);
    assert_int_equal(
        change(kq, fds[0], EVFILT_READ, EV_ADD | EV_CLEAR, NULL), 0);
    assert_int_equal(write(fds[1], "ab", 2), 2);
    assert_int_equal(poll_kq(kq, &out, 1), 1);
    assert_true(out.flags & EV_CLEAR);
    assert_int_equal(out.data, 2);
    /* Unread data is no new event. */
    assert_int_equal(poll_kq(kq, &out, 1), 0);
    assert_int_equal(write(fds[1], "c", 1), 1);
    assert_int_equal(poll_kq(kq, &out, 1), 1);
    assert_int_equal(out.data, 3);
    assert_int_equal(poll_kq(kq, &out, 1), 0);
    close(fds[0]);
    close(fds[1]);
    close(kq);
}

/* EV_ONESHOT: "return only the first occurrence ... After the user
 * retrieves the event from the kqueue, it is deleted."  EV_DISPATCH:
 * "Disable the event source immediately after delivery". */
static void
test_oneshot_dispatch(void **state)
{
    struct kevent out;
    int fds[2], kq = kqueue();

    (void)state;
    pair(fds);
    assert_int_equal(write(fds[1], "x", 1), 1);
    assert_int_equal(
        change(kq, fds[0], EVFILT_READ, EV_ADD | EV_ONESHOT, NULL), 0);
    assert_int_equal(poll_kq(kq, &out, 1), 1);
    assert_true(out.flags & EV_ONESHOT);
    assert_int_equal(poll_kq(kq, &out, 1), 0);
    assert_int_equal(change_err(kq, fds[0], EVFILT_READ, EV_DELETE), ENOENT);

    assert_int_equal(
        change(kq, fds[0], EVFILT_READ, EV_ADD | EV_DISPATCH, NULL), 0);
    assert_int_equal(poll_kq(kq, &out, 1), 1);
    assert_int_equal(poll_kq(kq, &out, 1), 0);
    assert_int_equal(change(kq, fds[0], EVFILT_READ, EV_ENABLE, NULL), 0);
    assert_int_equal(poll_kq(kq, &out, 1), 1);
    assert_int_equal(change_err(kq, fds[0], EVFILT_READ, EV_DELETE), 0);
    close(fds[0]);
    close(fds[1]);
    close(kq);
}

/* EV_DISABLE: "Disable the event so kevent() will not return it.";
 * EV_ENABLE: "Permit kevent() to return the event if it is triggered.";
 * "Adding an event automatically enables it, unless overridden by the
 * EV_DISABLE flag." */
static void
test_enable_disable(void **state)
{
    struct kevent out;
    int fds[2], kq = kqueue();

    (void)state;
    pair(fds);
    assert_int_equal(write(fds[1], "x", 1), 1);
    assert_int_equal(
        change(kq, fds[0], EVFILT_READ, EV_ADD | EV_DISABLE, NULL), 0);
    assert_int_equal(poll_kq(kq, &out, 1), 0);
    assert_int_equal(change(kq, fds[0], EVFILT_READ, EV_ENABLE, NULL), 0);
    assert_int_equal(poll_kq(kq, &out, 1), 1);
    assert_int_equal(change(kq, fds[0], EVFILT_READ, EV_DISABLE, NULL), 0);
    assert_int_equal(poll_kq(kq, &out, 1), 0);
    assert_int_equal(change(kq, fds[0], EVFILT_READ, EV_ADD, NULL), 0);
    assert_int_equal(poll_kq(kq, &out, 1), 1);
    assert_int_equal(change_err(kq, fds[1], EVFILT_READ, EV_ENABLE), ENOENT);
    close(fds[0]);
    close(fds[1]);
    close(kq);
}

/* "If an error occurs while processing an element of the changelist and
 * there is enough room in the eventlist, then the event will be placed in
 * the eventlist with EV_ERROR set in flags and the system error in data.
 * Otherwise, -1 will be returned"; ENOENT: "The event could not be found
 * to be modified or deleted"; EBADF: "The specified descriptor is
 * invalid"; "The same array may be used for the changelist and
 * eventlist." */
static void
test_change_errors(void **state)
{
    struct kevent kev[3];
    int fds[2], kq = kqueue(), n, closed;

    (void)state;
    pair(fds);
    closed = dup(fds[0]);
    close(closed);
    EV_SET(&kev[0], fds[0], EVFILT_READ, EV_DELETE, 0, 0, (void *)1);
    EV_SET(&kev[1], fds[1], EVFILT_WRITE, EV_ADD, 0, 0, (void *)2);
    EV_SET(&kev[2], closed, EVFILT_READ, EV_ADD, 0, 0, (void *)3);
    n = kevent(kq, kev, 3, kev, 3, &zero);
    assert_int_equal(n, 2);
    assert_int_equal(kev[0].flags, EV_ERROR);
    assert_int_equal(kev[0].data, ENOENT);
    assert_ptr_equal(kev[0].udata, (void *)1);
    assert_int_equal(kev[1].ident, closed);
    assert_int_equal(kev[1].data, EBADF);
    /* The good change in between was applied. */
    assert_int_equal(poll_kq(kq, kev, 3), 1);
    assert_int_equal(kev[0].filter, EVFILT_WRITE);

    /* No room: the call fails with the error. */
    EV_SET(&kev[0], fds[0], EVFILT_READ, EV_DELETE, 0, 0, NULL);
    assert_int_equal(kevent(kq, kev, 1, NULL, 0, NULL), -1);
    assert_int_equal(errno, ENOENT);
    /* Unknown filters are refused. */
    assert_int_equal(change_err(kq, fds[0], EVFILT_VNODE, EV_ADD), EINVAL);
    close(fds[0]);
    close(fds[1]);
    close(kq);
}

/* EV_RECEIPT: "useful for making bulk changes to a kqueue without
 * draining any pending events.  When passed as input, it forces EV_ERROR
 * to always be returned.  When a filter is successfully added the data
 * field will be zero." */
static void
test_receipt(void **state)
{
    struct kevent kev[2], out[2];
    int fds[2], kq = kqueue();

    (void)state;
    pair(fds);
    assert_int_equal(change(kq, fds[0], EVFILT_WRITE, EV_ADD, NULL), 0);
    EV_SET(&kev[0], fds[1], EVFILT_WRITE, EV_ADD | EV_RECEIPT, 0, 0, NULL);
    EV_SET(&kev[1], fds[1], EVFILT_READ, EV_DELETE | EV_RECEIPT, 0, 0,
        NULL);
    assert_int_equal(kevent(kq, kev, 2, out, 2, NULL), 2);
    assert_int_equal(out[0].flags, EV_ERROR);
    assert_int_equal(out[0].data, 0);
    assert_int_equal(out[1].data, ENOENT);
    /* The writable fds were not drained by that call. */
    assert_int_equal(poll_kq(kq, out, 2), 2);
    close(fds[0]);
    close(fds[1]);
    close(kq);
}

/* "Calling close() on a file descriptor will remove any kevents that
 * reference the descriptor." */
static void
test_close_removes(void **state)
{
    struct kevent out;
    int fds[2], q[2], kq = kqueue(), num;

    (void)state;
    pair(fds);
    num = fds[0];
    assert_int_equal(change(kq, fds[0], EVFILT_READ, EV_ADD, NULL), 0);
    close(fds[0]);
    /* EBADF while the number is free... */
    assert_int_equal(change_err(kq, num, EVFILT_READ, EV_DELETE), EBADF);
    pair(q);
    if (q[0] != num) {
        assert_int_equal(dup2(q[0], num), num);
        close(q[0]);
        q[0] = num;
    }
    /* ...and no knote on the new file under that number. */
    assert_int_equal(write(q[1], "x", 1), 1);
    assert_int_equal(poll_kq(kq, &out, 1), 0);
    assert_int_equal(change_err(kq, num, EVFILT_READ, EV_DELETE), ENOENT);

    /* dup2() over a watched number closes it too. */
    assert_int_equal(change(kq, q[0], EVFILT_READ, EV_ADD, NULL), 0);
    assert_int_equal(dup2(fds[1], q[0]), q[0]);
    assert_int_equal(change_err(kq, q[0], EVFILT_READ, EV_DELETE), ENOENT);
    close(q[0]);
    close(q[1]);
    close(fds[1]);
    close(kq);
}

/* Vnodes: "Returns when the file pointer is not at the end of file.
 * data contains the offset from current position to end of file";
 * EVFILT_WRITE: "this filter is not supported for vnodes". */
static void
test_regular_file(void **state)
{
    char path[] = "/tmp/test-shim-kqueue-XXXXXX";
    struct kevent out;
    int fd = mkstemp(path), kq = kqueue();

    (void)state;
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(write(fd, "data", 4), 4);
    assert_int_equal(change_err(kq, fd, EVFILT_WRITE, EV_ADD), EINVAL);
    assert_int_equal(change(kq, fd, EVFILT_READ, EV_ADD, NULL), 0);
    assert_int_equal(poll_kq(kq, &out, 1), 0);
    assert_int_equal(lseek(fd, 1, SEEK_SET), 1);
    assert_int_equal(poll_kq(kq, &out, 1), 1);
    assert_int_equal(out.data, 3);
    close(fd);
    close(kq);
}

static volatile sig_atomic_t user_hits;

static void
user_handler(int sig)
{
    (void)sig;
    user_hits++;
}

/* EVFILT_SIGNAL: "This coexists with the signal() and sigaction()
 * facilities, and has a lower precedence.  The filter will record all
 * attempts to deliver a signal to a process, even if the signal has been
 * marked as SIG_IGN ... data returns the number of times the signal has
 * occurred since the last call to kevent().  This filter automatically
 * sets the EV_CLEAR flag internally." */
static void
test_signal_filter(void **state)
{
    struct sigaction sa, cur;
    struct kevent out;
    int kq = kqueue();

    (void)state;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
    assert_int_equal(change(kq, SIGUSR1, EVFILT_SIGNAL, EV_ADD, NULL), 0);
    raise(SIGUSR1);
    raise(SIGUSR1);
    raise(SIGUSR1);
    assert_int_equal(poll_kq(kq, &out, 1), 1);
    assert_int_equal(out.ident, SIGUSR1);
    assert_int_equal(out.filter, EVFILT_SIGNAL);
    assert_int_equal(out.data, 3);
    assert_true(out.flags & EV_CLEAR);
    assert_int_equal(poll_kq(kq, &out, 1), 0);

    /* A handler runs, and the filter still counts. */
    sa.sa_handler = user_handler;
    assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
    assert_int_equal(sigaction(SIGUSR1, NULL, &cur), 0);
    assert_true(cur.sa_handler == user_handler);
    user_hits = 0;
    raise(SIGUSR1);
    assert_int_equal(user_hits, 1);
    assert_int_equal(poll_kq(kq, &out, 1), 1);
    assert_int_equal(out.data, 1);

    /* A blocking wait wakes for it. */
    {
        struct timespec ts = {2, 0}, t0;
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            usleep(50000);
            kill(getppid(), SIGUSR1);
            _exit(0);
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(kevent(kq, NULL, 0, &out, 1, &ts), 1);
        assert_true(ms_since(&t0) < 1500);
        waitpid(pid, NULL, 0);
    }

    /* Gone with its knote: the process's disposition is back. */
    assert_int_equal(change(kq, SIGUSR1, EVFILT_SIGNAL, EV_DELETE, NULL),
        0);
    assert_int_equal(sigaction(SIGUSR1, NULL, &cur), 0);
    assert_true(cur.sa_handler == user_handler);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGUSR1, &sa, NULL);
    assert_int_equal(change_err(kq, 0, EVFILT_SIGNAL, EV_ADD), EINVAL);
    assert_int_equal(change_err(kq, NSIG, EVFILT_SIGNAL, EV_ADD), EINVAL);
    close(kq);
}

/* "... except for the SIGCHLD signal, which, if ignored, will not be
 * recorded by the filter." */
static void
test_sigchld_ignored(void **state)
{
    struct sigaction sa, old;
    struct kevent out;
    int kq = kqueue();
    pid_t pid;

    (void)state;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    assert_int_equal(sigaction(SIGCHLD, &sa, &old), 0);
    assert_int_equal(change(kq, SIGCHLD, EVFILT_SIGNAL, EV_ADD, NULL), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    usleep(100000);
    assert_int_equal(poll_kq(kq, &out, 1), 0);
    close(kq);
    sigaction(SIGCHLD, &old, NULL);
}

/* "The queue is not inherited by a child created with fork(2)." */
static void
test_not_inherited(void **state)
{
    struct kevent out;
    int kq = kqueue(), status;
    pid_t pid;

    (void)state;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(kevent(kq, NULL, 0, &out, 1, &zero) == -1 && errno == EBADF
                  ? 0
                  : 1);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(poll_kq(kq, &out, 1), 0);
    close(kq);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_read_filter),
        cmocka_unit_test(test_write_filter),
        cmocka_unit_test(test_many_ready),
        cmocka_unit_test(test_readd_modifies),
        cmocka_unit_test(test_clear),
        cmocka_unit_test(test_oneshot_dispatch),
        cmocka_unit_test(test_enable_disable),
        cmocka_unit_test(test_change_errors),
        cmocka_unit_test(test_receipt),
        cmocka_unit_test(test_close_removes),
        cmocka_unit_test(test_regular_file),
        cmocka_unit_test(test_signal_filter),
        cmocka_unit_test(test_sigchld_ignored),
        cmocka_unit_test(test_not_inherited),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

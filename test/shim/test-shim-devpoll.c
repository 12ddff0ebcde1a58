/*
 * test-shim-devpoll.c: the /dev/poll shim (test/shim/devpoll-shim.c)
 * against what the poll(4D) manual page says, without libevent, so that
 * the shim is held to the manual rather than to what backends/devpoll.c
 * happens to expect.  Each test cites the sentence it checks.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/devpoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

static void
put(int dp, int fd, short events)
{
    struct pollfd pfd;
    pfd.fd = fd;
    pfd.events = events;
    pfd.revents = 0;
    assert_int_equal(write(dp, &pfd, sizeof(pfd)), (ssize_t)sizeof(pfd));
}

static int
dp_poll(int dp, struct pollfd *out, int n, int timeout)
{
    struct dvpoll dvp;
    dvp.dp_fds = out;
    dvp.dp_nfds = n;
    dvp.dp_timeout = timeout;
    return ioctl(dp, DP_POLL, &dvp);
}

/* "Writing an array of pollfd struct to the /dev/poll driver has the
 * effect of adding these file descriptors to the monitored poll file
 * descriptor set"; DP_POLL "returns the number of valid pollfd entries
 * ... the fd field indicates the file descriptor on which the polled
 * events happened.  The events field is the user specified poll events.
 * The revents field contains the events occurred." */
static void
test_write_and_poll(void **state)
{
    struct pollfd out[4];
    int dp = open("/dev/poll", O_RDWR), fds[2];

    (void)state;
    assert_true(dp >= 0);
    pair(fds);
    put(dp, fds[0], POLLIN);
    assert_int_equal(dp_poll(dp, out, 4, 0), 0);
    assert_int_equal(write(fds[1], "x", 1), 1);
    assert_int_equal(dp_poll(dp, out, 4, 0), 1);
    assert_int_equal(out[0].fd, fds[0]);
    assert_int_equal(out[0].events, POLLIN);
    assert_true(out[0].revents & POLLIN);
    /* Level-triggered, as poll(2). */
    assert_int_equal(dp_poll(dp, out, 4, 0), 1);
    close(fds[0]);
    close(fds[1]);
    assert_int_equal(close(dp), 0);
}

/* "If a pollfd array contains multiple pollfd entries with the same fd
 * field, the "events" field in each pollfd entry is OR'ed.  A special
 * POLLREMOVE event in the events field of the pollfd structure removes
 * the fd from the monitored set."  DP_ISPOLLED "returns 1 if the file
 * descriptor is in the set ... The revents field contains the currently
 * polled events. ... returns 0 if the file descriptor is not in the
 * set." */
static void
test_or_and_remove(void **state)
{
    struct pollfd arr[2], q, out[4];
    int dp = open("/dev/poll", O_RDWR), fds[2];

    (void)state;
    pair(fds);
    arr[0].fd = arr[1].fd = fds[0];
    arr[0].events = POLLIN;
    arr[1].events = POLLOUT;
    assert_int_equal(write(dp, arr, sizeof(arr)), (ssize_t)sizeof(arr));
    q.fd = fds[0];
    q.events = q.revents = 0;
    assert_int_equal(ioctl(dp, DP_ISPOLLED, &q), 1);
    assert_int_equal(q.revents, POLLIN | POLLOUT);
    /* A later write ORs too: asking for less changes nothing. */
    put(dp, fds[0], POLLIN);
    q.revents = 0;
    assert_int_equal(ioctl(dp, DP_ISPOLLED, &q), 1);
    assert_int_equal(q.revents, POLLIN | POLLOUT);
    assert_int_equal(dp_poll(dp, out, 4, 0), 1);
    assert_true(out[0].revents & POLLOUT);
    put(dp, fds[0], POLLREMOVE);
    assert_int_equal(ioctl(dp, DP_ISPOLLED, &q), 0);
    assert_int_equal(dp_poll(dp, out, 4, 0), 0);
    /* Interest can shrink only by removing and adding again. */
    put(dp, fds[0], POLLIN);
    assert_int_equal(dp_poll(dp, out, 4, 0), 0);
    close(fds[0]);
    close(fds[1]);
    close(dp);
}

/* "If dp_timeout is 0, the ioctl call returns immediately.  If dp_timeout
 * is -1, the call blocks until an interested poll events is available
 * ... A return value 0 means the ioctl is timed out.  In this case, the
 * memory content pointed by dp_fds is not modified."  "dp_nfds is greater
 * than or equal to {OPEN_MAX}" is EINVAL. */
static void
test_timeouts(void **state)
{
    struct pollfd out[1];
    struct timespec t0;
    int dp = open("/dev/poll", O_RDWR), fds[2];

    (void)state;
    pair(fds);
    put(dp, fds[0], POLLIN);
    out[0].fd = -7;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(dp_poll(dp, out, 1, 60), 0);
    assert_true(ms_since(&t0) >= 55);
    assert_int_equal(out[0].fd, -7);
    assert_int_equal(dp_poll(dp, out, (int)sysconf(_SC_OPEN_MAX), 0), -1);
    assert_int_equal(errno, EINVAL);
    close(fds[0]);
    close(fds[1]);
    close(dp);
}

struct writer {
    int fd;
};

static void *
late_write(void *arg)
{
    struct writer *w = arg;
    usleep(50000);
    if (write(w->fd, "x", 1) != 1)
        abort();
    return NULL;
}

/* dp_timeout -1 blocks "until an interested poll events is available";
 * the set is shared by the threads of the process. */
static void
test_blocking(void **state)
{
    struct pollfd out[2];
    struct writer w;
    pthread_t th;
    int dp = open("/dev/poll", O_RDWR), fds[2];

    (void)state;
    pair(fds);
    put(dp, fds[0], POLLIN);
    w.fd = fds[1];
    assert_int_equal(pthread_create(&th, NULL, late_write, &w), 0);
    assert_int_equal(dp_poll(dp, out, 2, -1), 1);
    assert_int_equal(out[0].fd, fds[0]);
    pthread_join(th, NULL);
    close(fds[0]);
    close(fds[1]);
    close(dp);
}

/* "Failure to do so may result in a POLLNVAL revents being returned for
 * the closed file descriptor.  When a file descriptor is closed but not
 * removed from the monitored set, and is reused in subsequent open of a
 * different device, you will be polling the device associated with the
 * reused file descriptor." */
static void
test_closed_and_reused(void **state)
{
    struct pollfd out[2];
    int dp = open("/dev/poll", O_RDWR), fds[2], q[2], num;

    (void)state;
    pair(fds);
    num = fds[0];
    put(dp, fds[0], POLLIN);
    close(fds[0]);
    assert_int_equal(dp_poll(dp, out, 2, 0), 1);
    assert_int_equal(out[0].fd, num);
    assert_true(out[0].revents & POLLNVAL);
    pair(q);
    if (q[0] != num) {
        assert_int_equal(dup2(q[0], num), num);
        close(q[0]);
        q[0] = num;
    }
    assert_int_equal(dp_poll(dp, out, 2, 0), 0);
    assert_int_equal(write(q[1], "x", 1), 1);
    assert_int_equal(dp_poll(dp, out, 2, 0), 1);
    assert_true(out[0].revents & POLLIN);
    close(q[0]);
    close(q[1]);
    close(fds[1]);
    close(dp);
}

/* poll(2) semantics: a regular file is always ready; a hang-up is
 * reported whatever was asked. */
static void
test_poll_semantics(void **state)
{
    char path[] = "/tmp/test-shim-devpoll-XXXXXX";
    struct pollfd out[2];
    int dp = open("/dev/poll", O_RDWR), fd = mkstemp(path), fds[2];

    (void)state;
    assert_true(fd >= 0);
    unlink(path);
    put(dp, fd, POLLIN);
    assert_int_equal(dp_poll(dp, out, 2, 0), 1);
    assert_true(out[0].revents & POLLIN);
    put(dp, fd, POLLREMOVE);
    close(fd);
    pair(fds);
    put(dp, fds[0], 0);
    assert_int_equal(dp_poll(dp, out, 2, 0), 0);
    close(fds[1]);
    assert_int_equal(dp_poll(dp, out, 2, 0), 1);
    assert_true(out[0].revents & POLLHUP);
    close(fds[0]);
    close(dp);
}

/* "Any attempt to write or do ioctl by the child process will result in
 * an EACCES error."  Other files are untouched by the shim. */
static void
test_child_and_others(void **state)
{
    struct pollfd out[1];
    int dp = open("/dev/poll", O_RDWR), fds[2], status;
    char buf[4];
    pid_t pid;

    (void)state;
    pair(fds);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct pollfd pfd = {0, POLLIN, 0};
        int ok = write(dp, &pfd, sizeof(pfd)) == -1 && errno == EACCES;
        ok = ok && dp_poll(dp, out, 1, 0) == -1 && errno == EACCES;
        _exit(ok ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* write, ioctl and close of other fds go to the C library. */
    assert_int_equal(write(fds[1], "abc", 3), 3);
    {
        int n = 0;
        assert_int_equal(ioctl(fds[0], FIONREAD, &n), 0);
        assert_int_equal(n, 3);
    }
    assert_int_equal(read(fds[0], buf, 4), 3);
    assert_int_equal(write(dp, buf, 3), -1);
    assert_int_equal(errno, EINVAL);
    close(fds[0]);
    close(fds[1]);
    close(dp);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_and_poll),
        cmocka_unit_test(test_or_and_remove),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_blocking),
        cmocka_unit_test(test_closed_and_reused),
        cmocka_unit_test(test_poll_semantics),
        cmocka_unit_test(test_child_and_others),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

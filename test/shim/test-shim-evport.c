/*
 * test-shim-evport.c: the event ports shim (test/shim/evport-shim.c)
 * against what port_associate(3C), port_get(3C), port_send(3C) and
 * port_alert(3C) say, without libevent, so that the shim is held to the
 * manuals rather than to what backends/evport.c happens to expect.  Each
 * test cites the sentence it checks.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <port.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const timespec_t zero = {0, 0};

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

/* "if a file descriptor is associated with a port for the POLLRDNORM
 * event and data is available on the file descriptor at the time the
 * port_associate() function is called, an event is immediately sent to
 * the port.  If data is not yet available, one event is sent to the port
 * when data first becomes available."  "When an event for a
 * PORT_SOURCE_FD object is retrieved, the object no longer has an
 * association with the port." */
static void
test_one_shot(void **state)
{
    port_event_t pe;
    int port = port_create(), fds[2], cookie;

    (void)state;
    assert_true(port >= 0);
    pair(fds);
    assert_int_equal(
        port_associate(port, PORT_SOURCE_FD, fds[0], POLLIN, &cookie), 0);
    assert_int_equal(port_get(port, &pe, &zero), -1);
    assert_int_equal(errno, ETIME);
    assert_int_equal(write(fds[1], "x", 1), 1);
    assert_int_equal(port_get(port, &pe, &zero), 0);
    assert_int_equal(pe.portev_source, PORT_SOURCE_FD);
    assert_int_equal(pe.portev_object, fds[0]);
    assert_true(pe.portev_events & POLLIN);
    assert_ptr_equal(pe.portev_user, &cookie);
    /* Used up: the unread data brings nothing more... */
    assert_int_equal(port_get(port, &pe, &zero), -1);
    assert_int_equal(errno, ETIME);
    assert_int_equal(port_dissociate(port, PORT_SOURCE_FD, fds[0]), -1);
    assert_int_equal(errno, ENOENT);
    /* ...until associated again, when it comes at once. */
    assert_int_equal(
        port_associate(port, PORT_SOURCE_FD, fds[0], POLLIN, NULL), 0);
    assert_int_equal(port_get(port, &pe, &zero), 0);
    close(fds[0]);
    close(fds[1]);
    close(port);
}

/* "If the specified object is already associated with the specified
 * port, the port_associate() function serves to update the events and
 * user arguments of the association."  port_dissociate() "removes the
 * association"; ENOENT: "The specified object is not associated with
 * the port."; EBADFD: "the object argument is not a valid file
 * descriptor"; EBADF: "The port identifier is not valid." */
static void
test_update_and_dissociate(void **state)
{
    port_event_t pe;
    int port = port_create(), fds[2], a, b, closed;

    (void)state;
    pair(fds);
    assert_int_equal(
        port_associate(port, PORT_SOURCE_FD, fds[0], POLLIN, &a), 0);
    assert_int_equal(
        port_associate(port, PORT_SOURCE_FD, fds[0], POLLOUT, &b), 0);
    assert_int_equal(port_get(port, &pe, &zero), 0);
    assert_int_equal(pe.portev_events, POLLOUT);
    assert_ptr_equal(pe.portev_user, &b);
    assert_int_equal(
        port_associate(port, PORT_SOURCE_FD, fds[0], POLLOUT, NULL), 0);
    assert_int_equal(port_dissociate(port, PORT_SOURCE_FD, fds[0]), 0);
    assert_int_equal(port_get(port, &pe, &zero), -1);
    assert_int_equal(errno, ETIME);

    closed = dup(fds[0]);
    close(closed);
    assert_int_equal(
        port_associate(port, PORT_SOURCE_FD, closed, POLLIN, NULL), -1);
    assert_int_equal(errno, EBADFD);
    assert_int_equal(port_associate(fds[1], PORT_SOURCE_FD, fds[0], POLLIN,
                         NULL),
        -1);
    assert_int_equal(errno, EBADFD);
    assert_int_equal(
        port_associate(closed, PORT_SOURCE_FD, fds[0], POLLIN, NULL), -1);
    assert_int_equal(errno, EBADF);
    assert_int_equal(port_associate(port, 99, fds[0], POLLIN, NULL), -1);
    assert_int_equal(errno, EINVAL);
    close(fds[0]);
    close(fds[1]);
    close(port);
}

/* port_getn(): "The nget argument points to the desired number of events
 * to be retrieved. The max parameter specifies the maximum number of
 * events that can be returned"; "If max is 0, the value pointed to by
 * nget is set to the number of events available on the port"; ETIME:
 * "The time interval expired before the expected number of events have
 * been posted to the port (original value in nget), or nget is updated
 * with the number of returned port_event_t structures"; EINVAL: "the
 * content of nget is > max and max is > 0". */
static void
test_getn(void **state)
{
    port_event_t list[4];
    timespec_t ts = {0, 60 * 1000000};
    struct timespec t0;
    unsigned n;
    int port = port_create(), a[2], b[2];

    (void)state;
    pair(a);
    pair(b);
    assert_int_equal(port_associate(port, PORT_SOURCE_FD, a[0], POLLOUT,
                         NULL),
        0);
    assert_int_equal(port_associate(port, PORT_SOURCE_FD, b[0], POLLIN,
                         NULL),
        0);
    n = 0;
    assert_int_equal(port_getn(port, list, 0, &n, NULL), 0);
    assert_int_equal(n, 1);
    /* Two wanted, one there: ETIME after the timeout, with that one. */
    n = 2;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(port_getn(port, list, 4, &n, &ts), -1);
    assert_int_equal(errno, ETIME);
    assert_true(ms_since(&t0) >= 55);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].portev_object, a[0]);
    n = 5;
    assert_int_equal(port_getn(port, list, 4, &n, &zero), -1);
    assert_int_equal(errno, EINVAL);
    /* One wanted, one there. */
    assert_int_equal(write(b[1], "x", 1), 1);
    n = 1;
    assert_int_equal(port_getn(port, list, 4, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].portev_object, b[0]);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
    close(port);
}

struct sender {
    int port;
    int fd;
};

static void *
late_send(void *arg)
{
    struct sender *s = arg;
    usleep(50000);
    if (s->fd >= 0) {
        if (write(s->fd, "x", 1) != 1)
            abort();
    } else if (port_send(s->port, 7, s) != 0) {
        abort();
    }
    return NULL;
}

/* port_send(): the user event carries "the same ... user and events
 * arguments"; a NULL timeout blocks until an event is available, also
 * one that another thread makes. */
static void
test_send_and_block(void **state)
{
    struct sender s;
    port_event_t pe;
    pthread_t th;
    int port = port_create(), fds[2];

    (void)state;
    pair(fds);
    s.port = port;
    s.fd = -1;
    assert_int_equal(pthread_create(&th, NULL, late_send, &s), 0);
    assert_int_equal(port_get(port, &pe, NULL), 0);
    pthread_join(th, NULL);
    assert_int_equal(pe.portev_source, PORT_SOURCE_USER);
    assert_int_equal(pe.portev_events, 7);
    assert_ptr_equal(pe.portev_user, &s);

    assert_int_equal(
        port_associate(port, PORT_SOURCE_FD, fds[0], POLLIN, NULL), 0);
    s.fd = fds[1];
    assert_int_equal(pthread_create(&th, NULL, late_send, &s), 0);
    assert_int_equal(port_get(port, &pe, NULL), 0);
    pthread_join(th, NULL);
    assert_int_equal(pe.portev_object, fds[0]);
    close(fds[0]);
    close(fds[1]);
    close(port);
}

/* port_alert(): "A port in alert mode immediately awakens all threads
 * blocked in port_get(3C) or port_getn(3C). These threads return with an
 * alert notification that consists of a single port_event_t structure
 * with the source PORT_SOURCE_ALERT. Subsequent threads trying to
 * retrieve events from a port that is in alert mode will return
 * immediately"; EBUSY for PORT_ALERT_UPDATE in alert mode; EINVAL for
 * both flags; events == 0 leaves alert mode. */
static void
test_alert(void **state)
{
    port_event_t pe;
    int port = port_create(), x;

    (void)state;
    assert_int_equal(port_send(port, 1, NULL), 0);
    assert_int_equal(port_alert(port, PORT_ALERT_SET, 5, &x), 0);
    assert_int_equal(port_get(port, &pe, NULL), 0);
    assert_int_equal(pe.portev_source, PORT_SOURCE_ALERT);
    assert_int_equal(pe.portev_events, 5);
    assert_ptr_equal(pe.portev_user, &x);
    assert_int_equal(port_get(port, &pe, NULL), 0);
    assert_int_equal(pe.portev_source, PORT_SOURCE_ALERT);
    assert_int_equal(port_alert(port, PORT_ALERT_UPDATE, 6, NULL), -1);
    assert_int_equal(errno, EBUSY);
    assert_int_equal(
        port_alert(port, PORT_ALERT_SET | PORT_ALERT_UPDATE, 6, NULL), -1);
    assert_int_equal(errno, EINVAL);
    /* Out of alert mode, the queued event is there. */
    assert_int_equal(port_alert(port, PORT_ALERT_SET, 0, NULL), 0);
    assert_int_equal(port_get(port, &pe, &zero), 0);
    assert_int_equal(pe.portev_source, PORT_SOURCE_USER);
    close(port);
}

/* Closing an fd removes its association (what illumos does in close()),
 * and a reused number is not associated. */
static void
test_close_removes(void **state)
{
    port_event_t pe;
    int port = port_create(), fds[2], q[2], num;

    (void)state;
    pair(fds);
    num = fds[0];
    assert_int_equal(
        port_associate(port, PORT_SOURCE_FD, fds[0], POLLOUT, NULL), 0);
    close(fds[0]);
    pair(q);
    if (q[0] != num) {
        assert_int_equal(dup2(q[0], num), num);
        close(q[0]);
        q[0] = num;
    }
    assert_int_equal(port_get(port, &pe, &zero), -1);
    assert_int_equal(errno, ETIME);
    assert_int_equal(port_dissociate(port, PORT_SOURCE_FD, num), -1);
    assert_int_equal(errno, ENOENT);
    close(q[0]);
    close(q[1]);
    close(fds[1]);
    close(port);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_shot),
        cmocka_unit_test(test_update_and_dissociate),
        cmocka_unit_test(test_getn),
        cmocka_unit_test(test_send_and_block),
        cmocka_unit_test(test_alert),
        cmocka_unit_test(test_close_removes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

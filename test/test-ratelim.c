/*
 * test-ratelim.c: token-bucket rate limits on bufferevents and groups,
 * through libevent 2.1's public API only (checked against Debian's
 * libevent too).
 *
 * Rates are measured over about a second on AF_UNIX socketpairs whose
 * other end is kept full (for reading) or empty (for writing), and must
 * come within 30% of what the bucket allows: the initial bucket plus one
 * refill per tick.  Also: the bucket accessors, decrements by hand,
 * removing a limit, group totals and fairness between group members, and
 * argument checking.
 *
 * Callbacks only record; assertions run after the loop.
 */
#define _GNU_SOURCE
#include "test-util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#define TICK_MS 100
#define WINDOW_MS 1000

/* Bytes a bucket of rate bytes per tick lets through in WINDOW_MS. */
static double
allowed(size_t rate)
{
    return (double)rate * (WINDOW_MS / TICK_MS + 1);
}

static void
assert_rate(double got, double expected)
{
    print_message("moved %.0f bytes, bucket allows %.0f\n", got, expected);
    if (got < expected * 0.7 || got > expected * 1.3)
        fail_msg("moved %.0f bytes, expected %.0f +-30%%", got, expected);
}

/* ------------------------------------------------------------------ */
/* The far end of a socketpair                                         */

/* Keeps fd's send buffer full, or reads fd dry, whenever possible. */
struct peer {
    evutil_socket_t fd;
    struct event *ev;
    size_t moved;
};

static void
peer_write_cb(evutil_socket_t fd, short what, void *arg)
{
    static char junk[16384];
    struct peer *p = arg;
    ssize_t n;

    (void)what;
    while ((n = send(fd, junk, sizeof(junk), MSG_DONTWAIT)) > 0)
        p->moved += (size_t)n;
}

static void
peer_read_cb(evutil_socket_t fd, short what, void *arg)
{
    static char junk[65536];
    struct peer *p = arg;
    ssize_t n;

    (void)what;
    while ((n = recv(fd, junk, sizeof(junk), MSG_DONTWAIT)) > 0)
        p->moved += (size_t)n;
}

static void
peer_start(struct peer *p, struct event_base *base, evutil_socket_t fd,
    int writer)
{
    memset(p, 0, sizeof(*p));
    p->fd = fd;
    p->ev = event_new(base, fd, (writer ? EV_WRITE : EV_READ) | EV_PERSIST,
        writer ? peer_write_cb : peer_read_cb, p);
    assert_non_null(p->ev);
    event_add(p->ev, NULL);
}

static void
peer_stop(struct peer *p)
{
    event_free(p->ev);
    tu_close(&p->fd);
}

/* Our side reads and counts everything. */
static void
count_readcb(struct bufferevent *bev, void *arg)
{
    size_t *count = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    *count += evbuffer_get_length(in);
    evbuffer_drain(in, evbuffer_get_length(in));
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */

static void
test_cfg_args(void **state)
{
    struct timeval tick = {0, TICK_MS * 1000};
    struct ev_token_bucket_cfg *cfg;

    (void)state;
    /* rate must be >= 1 and <= burst. */
    assert_null(ev_token_bucket_cfg_new(0, 10, 1, 10, &tick));
    assert_null(ev_token_bucket_cfg_new(1, 10, 0, 10, &tick));
    assert_null(ev_token_bucket_cfg_new(11, 10, 1, 10, &tick));
    assert_null(ev_token_bucket_cfg_new(1, 10, 11, 10, &tick));
    assert_null(
        ev_token_bucket_cfg_new((size_t)EV_RATE_LIMIT_MAX + 1, 1, 1, 1, NULL));
    cfg = ev_token_bucket_cfg_new(10, 10, 10, 10, NULL);
    assert_non_null(cfg);
    ev_token_bucket_cfg_free(cfg);
}

static void
test_bucket_accessors(void **state)
{
    struct event_base *base = *state;
    /* An hour: the buckets refill lazily from the clock, so a short tick
     * could end between two checks of a slow run (it did under ASan). */
    struct timeval tick = {3600, 0};
    struct ev_token_bucket_cfg *cfg;
    evutil_socket_t fds[2];
    struct bufferevent *bev;

    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    assert_null(bufferevent_get_token_bucket_cfg(bev));
    assert_int_equal(bufferevent_get_read_limit(bev), EV_SSIZE_MAX);
    assert_int_equal(bufferevent_get_write_limit(bev), EV_SSIZE_MAX);

    cfg = ev_token_bucket_cfg_new(1000, 5000, 2000, 6000, &tick);
    assert_int_equal(bufferevent_set_rate_limit(bev, cfg), 0);
    assert_ptr_equal(bufferevent_get_token_bucket_cfg(bev), cfg);
    /* A new bucket starts with one tick's worth. */
    assert_int_equal(bufferevent_get_read_limit(bev), 1000);
    assert_int_equal(bufferevent_get_write_limit(bev), 2000);
    assert_int_equal(bufferevent_get_max_to_read(bev), 1000);
    assert_int_equal(bufferevent_get_max_to_write(bev), 2000);
    /* With a bucket, libevent 2.1 ignores max_single_read. */
    bufferevent_set_max_single_read(bev, 300);
    assert_int_equal(bufferevent_get_max_to_read(bev), 1000);

    /* Decrements by hand, also below zero, and back. */
    assert_int_equal(bufferevent_decrement_read_limit(bev, 400), 0);
    assert_int_equal(bufferevent_get_read_limit(bev), 600);
    assert_int_equal(bufferevent_decrement_write_limit(bev, 2500), 0);
    assert_int_equal(bufferevent_get_write_limit(bev), -500);
    assert_int_equal(bufferevent_get_max_to_write(bev), 0);
    assert_int_equal(bufferevent_decrement_write_limit(bev, -700), 0);
    assert_int_equal(bufferevent_get_write_limit(bev), 200);

    /* Removing the limit. */
    assert_int_equal(bufferevent_set_rate_limit(bev, NULL), 0);
    assert_null(bufferevent_get_token_bucket_cfg(bev));
    assert_int_equal(bufferevent_get_read_limit(bev), EV_SSIZE_MAX);
    assert_int_equal(bufferevent_get_max_to_read(bev), 300);

    bufferevent_free(bev);
    ev_token_bucket_cfg_free(cfg);
    tu_close(&fds[1]);
}

static void
test_read_rate(void **state)
{
    struct event_base *base = *state;
    struct timeval tick = {0, TICK_MS * 1000};
    const size_t rate = 10000;
    struct ev_token_bucket_cfg *cfg;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    struct peer writer;
    size_t count = 0;

    tu_socketpair(fds);
    cfg = ev_token_bucket_cfg_new(rate, rate, 1000000, 1000000, &tick);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    assert_int_equal(bufferevent_set_rate_limit(bev, cfg), 0);
    bufferevent_setcb(bev, count_readcb, NULL, NULL, &count);
    bufferevent_enable(bev, EV_READ);
    peer_start(&writer, base, fds[1], 1);
    assert_int_equal(tu_run(base, WINDOW_MS), 1);
    assert_rate((double)count, allowed(rate));
    peer_stop(&writer);
    bufferevent_free(bev);
    ev_token_bucket_cfg_free(cfg);
}

static void
test_write_rate(void **state)
{
    struct event_base *base = *state;
    struct timeval tick = {0, TICK_MS * 1000};
    const size_t rate = 20000;
    static char data[2 * 1024 * 1024];
    struct ev_token_bucket_cfg *cfg;
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    struct peer reader;
    size_t written;

    tu_socketpair(fds);
    cfg = ev_token_bucket_cfg_new(1000000, 1000000, rate, rate, &tick);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    assert_int_equal(bufferevent_set_rate_limit(bev, cfg), 0);
    peer_start(&reader, base, fds[1], 0);
    bufferevent_write(bev, data, sizeof(data));
    assert_int_equal(tu_run(base, WINDOW_MS), 1);
    written = sizeof(data) - evbuffer_get_length(bufferevent_get_output(bev));
    assert_rate((double)written, allowed(rate));
    peer_stop(&reader);
    bufferevent_free(bev);
    ev_token_bucket_cfg_free(cfg);
}

#define N_MEMBERS 3

static void
test_group_rate(void **state)
{
    struct event_base *base = *state;
    struct timeval tick = {0, TICK_MS * 1000};
    const size_t rate = 30000;
    struct ev_token_bucket_cfg *cfg;
    struct bufferevent_rate_limit_group *grp;
    struct bufferevent *bev[N_MEMBERS];
    struct peer writer[N_MEMBERS];
    size_t count[N_MEMBERS], total = 0;
    ev_uint64_t total_read = 0, total_written = 1;
    int i;

    cfg = ev_token_bucket_cfg_new(rate, rate, rate, rate, &tick);
    grp = bufferevent_rate_limit_group_new(base, cfg);
    assert_non_null(grp);
    assert_int_equal(bufferevent_rate_limit_group_get_read_limit(grp), rate);
    assert_int_equal(bufferevent_rate_limit_group_set_min_share(grp, 100), 0);
    for (i = 0; i < N_MEMBERS; ++i) {
        evutil_socket_t fds[2];
        tu_socketpair(fds);
        count[i] = 0;
        bev[i] = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
        assert_int_equal(bufferevent_add_to_rate_limit_group(bev[i], grp), 0);
        bufferevent_setcb(bev[i], count_readcb, NULL, NULL, &count[i]);
        bufferevent_enable(bev[i], EV_READ);
        peer_start(&writer[i], base, fds[1], 1);
    }
    assert_int_equal(tu_run(base, WINDOW_MS), 1);
    for (i = 0; i < N_MEMBERS; ++i)
        total += count[i];
    assert_rate((double)total, allowed(rate));
    /* Each member gets a fair part. */
    for (i = 0; i < N_MEMBERS; ++i)
        if (count[i] < total / N_MEMBERS / 2)
            fail_msg("member %d got %zu of %zu bytes", i, count[i], total);

    bufferevent_rate_limit_group_get_totals(grp, &total_read, &total_written);
    assert_int_equal(total_read, total);
    assert_int_equal(total_written, 0);
    bufferevent_rate_limit_group_reset_totals(grp);
    bufferevent_rate_limit_group_get_totals(grp, &total_read, NULL);
    assert_int_equal(total_read, 0);

    for (i = 0; i < N_MEMBERS; ++i) {
        assert_int_equal(bufferevent_remove_from_rate_limit_group(bev[i]), 0);
        peer_stop(&writer[i]);
        bufferevent_free(bev[i]);
    }
    bufferevent_rate_limit_group_free(grp);
    ev_token_bucket_cfg_free(cfg);
}

/* Group bucket accessors and decrements; members freed while in the
 * group leave it. */
static void
test_group_api(void **state)
{
    struct event_base *base = *state;
    struct timeval tick = {0, TICK_MS * 1000};
    struct ev_token_bucket_cfg *cfg, *cfg2;
    struct bufferevent_rate_limit_group *grp;
    evutil_socket_t fds[2];
    struct bufferevent *bev;

    cfg = ev_token_bucket_cfg_new(1000, 1000, 2000, 2000, &tick);
    cfg2 = ev_token_bucket_cfg_new(500, 500, 500, 500, &tick);
    grp = bufferevent_rate_limit_group_new(base, cfg);
    assert_int_equal(bufferevent_rate_limit_group_get_read_limit(grp), 1000);
    assert_int_equal(bufferevent_rate_limit_group_get_write_limit(grp), 2000);
    assert_int_equal(bufferevent_rate_limit_group_decrement_read(grp, 300), 0);
    assert_int_equal(bufferevent_rate_limit_group_get_read_limit(grp), 700);
    assert_int_equal(bufferevent_rate_limit_group_decrement_write(grp, -100),
        0);
    assert_int_equal(bufferevent_rate_limit_group_get_write_limit(grp), 2100);
    /* A new configuration clips the bucket to its burst. */
    assert_int_equal(bufferevent_rate_limit_group_set_cfg(grp, cfg2), 0);
    assert_int_equal(bufferevent_rate_limit_group_get_read_limit(grp), 500);
    assert_int_equal(bufferevent_rate_limit_group_get_write_limit(grp), 500);
    /* The group copies its cfg. */
    ev_token_bucket_cfg_free(cfg2);

    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    assert_int_equal(bufferevent_add_to_rate_limit_group(bev, grp), 0);
    assert_int_equal(bufferevent_add_to_rate_limit_group(bev, grp), 0);
    /* Per-member share: group limit / members. */
    assert_int_equal(bufferevent_get_max_to_read(bev), 500);
    /* An empty group bucket stops the member. */
    assert_int_equal(bufferevent_rate_limit_group_decrement_read(grp, 600), 0);
    assert_int_equal(bufferevent_get_max_to_read(bev), 0);
    bufferevent_free(bev);
    tu_loop(base, EVLOOP_NONBLOCK);
    bufferevent_rate_limit_group_free(grp);
    ev_token_bucket_cfg_free(cfg);
    tu_close(&fds[1]);
}

/* Decrements by any amount the caller passes stop at the ends of
 * ev_ssize_t (UBSan checks that nothing overflows on the way). */
static void
test_bad_extreme_decrements(void **state)
{
    struct event_base *base = *state;
    struct timeval tick = {0, TICK_MS * 1000};
    struct ev_token_bucket_cfg *cfg;
    struct bufferevent_rate_limit_group *grp;
    evutil_socket_t fds[2];
    struct bufferevent *bev;

    cfg = ev_token_bucket_cfg_new(EV_RATE_LIMIT_MAX, EV_RATE_LIMIT_MAX,
        EV_RATE_LIMIT_MAX, EV_RATE_LIMIT_MAX, &tick);
    assert_non_null(cfg);
    grp = bufferevent_rate_limit_group_new(base, cfg);
    assert_non_null(grp);
    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    assert_int_equal(bufferevent_set_rate_limit(bev, cfg), 0);
    assert_int_equal(bufferevent_add_to_rate_limit_group(bev, grp), 0);

    assert_int_equal(bufferevent_decrement_read_limit(bev, -EV_SSIZE_MAX), 0);
    assert_int_equal(bufferevent_decrement_read_limit(bev, EV_SSIZE_MIN), 0);
    assert_true(bufferevent_get_read_limit(bev) == EV_SSIZE_MAX);
    assert_int_equal(bufferevent_decrement_write_limit(bev, EV_SSIZE_MAX), 0);
    assert_int_equal(bufferevent_decrement_write_limit(bev, EV_SSIZE_MAX), 0);
    assert_true(bufferevent_get_write_limit(bev) == -EV_SSIZE_MAX);
    assert_int_equal(bufferevent_decrement_write_limit(bev, EV_SSIZE_MAX), 0);
    assert_true(bufferevent_get_write_limit(bev) == EV_SSIZE_MIN);
    assert_int_equal(
        bufferevent_rate_limit_group_decrement_read(grp, -EV_SSIZE_MAX), 0);
    assert_true(bufferevent_rate_limit_group_get_read_limit(grp) ==
                EV_SSIZE_MAX);
    assert_int_equal(
        bufferevent_rate_limit_group_decrement_write(grp, EV_SSIZE_MAX), 0);
    assert_int_equal(
        bufferevent_rate_limit_group_decrement_write(grp, EV_SSIZE_MAX), 0);
    assert_int_equal(
        bufferevent_rate_limit_group_decrement_write(grp, EV_SSIZE_MAX), 0);
    assert_true(bufferevent_rate_limit_group_get_write_limit(grp) ==
                EV_SSIZE_MIN);
    /* A few ticks of refilling from there. */
    assert_int_equal(tu_run(base, 3 * TICK_MS), 1);

    bufferevent_free(bev);
    tu_loop(base, EVLOOP_NONBLOCK);
    bufferevent_rate_limit_group_free(grp);
    ev_token_bucket_cfg_free(cfg);
    tu_close(&fds[1]);
}

/* A group freed while bufferevents are still in it (here one freed just
 * before, whose finalizer has not run, and one alive): libevent aborts;
 * here they leave the group with a warning, and both go on safely. */
static void
test_bad_group_freed_with_members(void **state)
{
    struct event_base *base = *state;
    struct timeval tick = {0, TICK_MS * 1000};
    struct ev_token_bucket_cfg *cfg;
    struct bufferevent_rate_limit_group *grp;
    evutil_socket_t a[2], b[2];
    struct bufferevent *gone, *alive;
    char buf[8];

    cfg = ev_token_bucket_cfg_new(1000, 1000, 1000, 1000, &tick);
    grp = bufferevent_rate_limit_group_new(base, cfg);
    assert_non_null(grp);
    tu_socketpair(a);
    tu_socketpair(b);
    gone = bufferevent_socket_new(base, a[0], BEV_OPT_CLOSE_ON_FREE);
    alive = bufferevent_socket_new(base, b[0], BEV_OPT_CLOSE_ON_FREE);
    assert_int_equal(bufferevent_add_to_rate_limit_group(gone, grp), 0);
    assert_int_equal(bufferevent_add_to_rate_limit_group(alive, grp), 0);
    /* The group's bucket is empty: members are held back. */
    assert_int_equal(bufferevent_rate_limit_group_decrement_read(grp, 5000),
        0);
    assert_int_equal(bufferevent_get_max_to_read(alive), 0);

    bufferevent_free(gone); /* finalized by the loop, later */
    tu_log_clear();
    bufferevent_rate_limit_group_free(grp);
    tu_assert_logged_error();
    assert_true(tu_log_contains("still in the group"));
    ev_token_bucket_cfg_free(cfg);
    /* No longer held back by the group. */
    assert_true(bufferevent_get_max_to_read(alive) > 0);
    tu_write_str(b[1], "hi");
    assert_int_equal(bufferevent_enable(alive, EV_READ), 0);
    assert_int_equal(tu_loop(base, EVLOOP_ONCE), 0);
    assert_int_equal(bufferevent_read(alive, buf, sizeof(buf)), 2);
    bufferevent_free(alive);
    tu_loop(base, EVLOOP_NONBLOCK);
    tu_close(&a[1]);
    tu_close(&b[1]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cfg_args, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_bucket_accessors, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_read_rate, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_write_rate, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_group_rate, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_group_api, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_bad_extreme_decrements,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_bad_group_freed_with_members,
            tu_setup, tu_teardown),
    };

    tu_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

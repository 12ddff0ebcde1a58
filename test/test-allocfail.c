/*
 * test-allocfail.c: allocation-failure injection over the main paths.
 *
 * main() installs a counting allocator with event_set_mem_functions()
 * before libevent allocates anything.  For each path (base and config
 * construction, timers and common timeouts, signals, priorities, evbuffer
 * growth, socket/pair/filter bufferevents, bufferevent_socket_connect,
 * listeners, event_base_once, threads) the test
 * runs the path once for every N = 1, 2, ... with the Nth allocation made
 * after arming failing, until a run completes without any injected
 * failure.  Each run must:
 *   - report the failure to the caller (-1 or NULL, or a bufferevent
 *     error event), never crash, never claim success with lost data
 *     (every path verifies what it moved); where the library recovers by
 *     itself (see drive()) the path must then work completely;
 *   - leave no allocation and no descriptor behind once the path has freed
 *     what it made (the allocator counts live blocks; LSan in the ASan
 *     build looks at libc's side);
 *   - leave the event_base usable: a timer added afterwards still fires.
 * The thread path runs in a forked child per N, since
 * evthread_use_pthreads() can only be done once per process; the child
 * ends with libevent_global_shutdown() and must then hold no block.
 *
 * Only the Nth allocation fails; those after it succeed again, which is
 * what exercises the unwinding of partially built objects.  Debug mode
 * (EVTEST_DEBUG_MODE=1) is skipped: its event map exits on out-of-memory,
 * as libevent 2.1's does.  EVTEST_ALLOCFAIL_TRACE=1 prints a backtrace of
 * each injected failure.  TEST-BACKENDS: registered once per backend
 * (poll's dispatch, for one, allocates in the loop).
 */
#define _GNU_SOURCE
#include "test-util.h"

#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/wait.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/listener.h>
#include <event2/thread.h>

/* ------------------------------------------------------------------ */
/* Counting, failing allocator. */

#define BLOCK_MAGIC 0x5a11c0deu
#define HDR_SIZE 16 /* keeps the user pointer 16-byte aligned */

struct block_hdr {
    size_t size;
    unsigned magic;
};

static long n_attempts; /* allocation requests (malloc and realloc) */
static long n_live;     /* blocks handed out and not yet freed */
static long fail_at;    /* attempt number that fails; 0: none */
static long n_injected; /* failures injected, in total */
static int trace_failures; /* EVTEST_ALLOCFAIL_TRACE=1: backtrace each */

static int
should_fail(void)
{
    long a = __atomic_add_fetch(&n_attempts, 1, __ATOMIC_SEQ_CST);

    if (a == __atomic_load_n(&fail_at, __ATOMIC_SEQ_CST)) {
        __atomic_add_fetch(&n_injected, 1, __ATOMIC_SEQ_CST);
        if (trace_failures) {
            void *frames[16];
            int nf = backtrace(frames, 16);

            fprintf(stderr, "allocfail: failing allocation %ld at:\n", a);
            backtrace_symbols_fd(frames, nf, 2);
        }
        errno = ENOMEM;
        return 1;
    }
    return 0;
}

static void *
cm_malloc(size_t sz)
{
    struct block_hdr *h;

    if (should_fail())
        return NULL;
    h = malloc(HDR_SIZE + sz);
    if (h == NULL)
        return NULL;
    h->size = sz;
    h->magic = BLOCK_MAGIC;
    __atomic_add_fetch(&n_live, 1, __ATOMIC_SEQ_CST);
    return (char *)h + HDR_SIZE;
}

static void
cm_free(void *p)
{
    struct block_hdr *h;

    if (p == NULL)
        return;
    h = (struct block_hdr *)((char *)p - HDR_SIZE);
    if (h->magic != BLOCK_MAGIC) {
        fprintf(stderr, "allocfail: free of a block not ours: %p\n", p);
        abort();
    }
    h->magic = 0;
    __atomic_sub_fetch(&n_live, 1, __ATOMIC_SEQ_CST);
    free(h);
}

static void *
cm_realloc(void *p, size_t sz)
{
    struct block_hdr *h, *nh;

    if (p == NULL)
        return cm_malloc(sz);
    h = (struct block_hdr *)((char *)p - HDR_SIZE);
    if (h->magic != BLOCK_MAGIC) {
        fprintf(stderr, "allocfail: realloc of a block not ours: %p\n", p);
        abort();
    }
    if (should_fail())
        return NULL; /* the old block stays valid, as with realloc() */
    nh = realloc(h, HDR_SIZE + sz);
    if (nh == NULL)
        return NULL;
    nh->size = sz;
    return (char *)nh + HDR_SIZE;
}

/* The Nth allocation request from now on fails. */
static void
arm(long n)
{
    __atomic_store_n(&fail_at,
        __atomic_load_n(&n_attempts, __ATOMIC_SEQ_CST) + n, __ATOMIC_SEQ_CST);
}

/* Stops injecting; returns non-zero when the armed failure happened. */
static int
disarm(void)
{
    long at = __atomic_exchange_n(&fail_at, 0, __ATOMIC_SEQ_CST);

    return at != 0 && __atomic_load_n(&n_attempts, __ATOMIC_SEQ_CST) >= at;
}

static long
live(void)
{
    return __atomic_load_n(&n_live, __ATOMIC_SEQ_CST);
}

/* ------------------------------------------------------------------ */
/* Loop helpers. */

static void
count_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ++*(int *)arg;
}

/*
 * Runs base without blocking, 1 ms apart, until *counter >= target or ms
 * pass; returns 0 when the target was reached, -1 when the loop reported
 * a failure, -2 when time ran out (a loss).  tu_run_flags() would
 * allocate its safety timer, which must not draw on the injection.
 */
static int
run_until(struct event_base *base, const int *counter, int target, long ms)
{
    struct timeval start;

    tu_now(&start);
    while (*counter < target && tu_ms_since(&start) < ms) {
        if (event_base_loop(base, EVLOOP_NONBLOCK) < 0)
            return -1;
        if (*counter < target)
            tu_sleep_ms(1);
    }
    return *counter >= target ? 0 : -2;
}

/* run_until() for a bufferevent transfer: until *got == want, or an
 * event callback set *events, or ms pass; -1 when the loop failed. */
static int
run_transfer(struct event_base *base, const size_t *got, size_t want,
    const short *events, long ms)
{
    struct timeval start;

    tu_now(&start);
    while (*got < want && !*events && tu_ms_since(&start) < ms) {
        if (event_base_loop(base, EVLOOP_NONBLOCK) < 0)
            return -1;
        if (*got < want && !*events)
            tu_sleep_ms(1);
    }
    return 0;
}

/* Non-zero when a fresh 1 ms timer fires on base. */
static int
base_usable(struct event_base *base)
{
    struct timeval tv;
    struct event *ev;
    int fired = 0;

    ev = evtimer_new(base, count_cb, &fired);
    if (ev == NULL)
        return 0;
    if (evtimer_add(ev, tu_tv(&tv, 1)) < 0) {
        event_free(ev);
        return 0;
    }
    run_until(base, &fired, 1, 2000);
    event_free(ev);
    return fired == 1;
}

/* ------------------------------------------------------------------ */
/* The driver. */

/*
 * A path builds what it needs on base (a fresh event_base made without
 * injection; it may ignore it and build its own), verifies what it moved,
 * frees everything it made and returns 0; -1 when a call (or a
 * bufferevent's error event) reported a failure; -2 when something was
 * lost or wrong with no report, which always fails the test.
 */
typedef int (*path_fn)(struct event_base *base);

#define MAX_N 2000

static long total_failed, total_absorbed;

/*
 * Records the first problem of a run; the driver fails the test only after
 * it has freed the run's base, so one failure does not cascade into the
 * next tests' descriptor checks.
 */
static char problem[256];

/* Debug mode (EVTEST_DEBUG_MODE=1) exits the process when its map of
 * events cannot grow, as libevent 2.1's does: nothing to test there. */
static void
skip_in_debug_mode(void)
{
    if (tu_debug_mode()) {
        printf("allocfail: skipped in debug mode (its event map exits on "
               "out-of-memory by design)\n");
        skip();
    }
}

static void
note(const char *fmt, ...)
{
    va_list ap;

    if (problem[0] != '\0')
        return;
    va_start(ap, fmt);
    vsnprintf(problem, sizeof(problem), fmt, ap);
    va_end(ap);
}

/*
 * Runs fn for n = 1, 2, ... as described at the top.  may_absorb: the
 * library may recover from a failure in this path by itself, and the path
 * then still has to work completely (it verifies its data).  Two such
 * recoveries exist: event_base_new_with_config() moves on to the next
 * backend when one's init fails on memory (as libevent 2.1 does), and
 * bufferevent_socket_connect() adds the write event again after
 * bufferevent_setfd() failed to.
 */
static void
drive(const char *name, path_fn fn, int may_absorb)
{
    long n, before, failed = 0, absorbed = 0;
    int fds_before, r, injected, done = 0;
    struct event_base *base;

    skip_in_debug_mode();
    problem[0] = '\0';
    for (n = 1; n <= MAX_N && !done && problem[0] == '\0'; n++) {
        /* Blocks the base keeps (grown heap, queues) count until it is
         * freed, so the balance is taken around the base's whole life. */
        before = live();
        fds_before = tu_count_fds();
        base = event_base_new();
        assert_non_null(base);
        arm(n);
        r = fn(base);
        injected = disarm();
        if (!injected) {
            /* Every allocation succeeded: the path must have worked. */
            if (r != 0)
                note("%s: failed with no injected failure (n=%ld)", name, n);
            done = 1;
        } else {
            if (r == 0 && may_absorb)
                absorbed++;
            else if (r != -1)
                note("%s: allocation %ld failed but the path returned %d",
                    name, n, r);
            failed++;
        }
        if (!base_usable(base))
            note("%s: n=%ld: base unusable after the failure", name, n);
        event_base_free(base);
        if (live() != before)
            note("%s: n=%ld: %ld block(s) leaked", name, n, live() - before);
        if (tu_count_fds() != fds_before)
            note("%s: n=%ld: %d descriptor(s) leaked", name, n,
                tu_count_fds() - fds_before);
    }
    if (problem[0] != '\0')
        fail_msg("%s", problem);
    assert_true(done);
    total_failed += failed;
    total_absorbed += absorbed;
    printf("allocfail: %-22s %4ld allocation(s) failed in turn", name,
        failed);
    if (absorbed)
        printf(" (%ld recovered from by the library)", absorbed);
    printf("\n");
}

/* ------------------------------------------------------------------ */
/* Paths. */

static int
path_config(struct event_base *unused)
{
    struct event_config *cfg;
    struct event_base *base;
    int r = -1;

    (void)unused;
    cfg = event_config_new();
    if (cfg == NULL)
        return -1;
    /* Methods Linux lacks: the entries are allocated all the same, and
     * whatever backend the environment selects stays available. */
    if (event_config_avoid_method(cfg, "kqueue") < 0 ||
        event_config_avoid_method(cfg, "devpoll") < 0)
        goto out;
    if (event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER) < 0)
        goto out;
    if (event_config_require_features(cfg, 0) < 0)
        goto out;
    base = event_base_new_with_config(cfg);
    if (base == NULL)
        goto out;
    r = base_usable(base) ? 0 : -1;
    event_base_free(base);
out:
    event_config_free(cfg);
    return r;
}

static int
path_base_new(struct event_base *unused)
{
    struct event_base *base;
    int r;

    (void)unused;
    base = event_base_new();
    if (base == NULL)
        return -1;
    r = base_usable(base) ? 0 : -1;
    event_base_free(base);
    return r;
}

#define NTIMERS 40

static int
path_timers(struct event_base *base)
{
    struct event *evs[NTIMERS];
    const struct timeval *common = NULL;
    struct timeval tv;
    int i, fired = 0, r = -1;

    memset(evs, 0, sizeof(evs));
    common = event_base_init_common_timeout(base, tu_tv(&tv, 2));
    if (common == NULL)
        goto out;
    for (i = 0; i < NTIMERS; i++) {
        evs[i] = evtimer_new(base, count_cb, &fired);
        if (evs[i] == NULL)
            goto out;
        /* Every fourth on the common queue, the rest in the heap. */
        if (evtimer_add(evs[i], i % 4 == 0 ? common : tu_tv(&tv, i % 3)) < 0)
            goto out;
    }
    /* From here on a shortfall is a silent loss, not a report. */
    r = run_until(base, &fired, NTIMERS, 3000);
out:
    for (i = 0; i < NTIMERS; i++) {
        if (evs[i] != NULL)
            event_free(evs[i]);
    }
    return r;
}

static int
path_signal(struct event_base *base)
{
    struct event *e1 = NULL, *e2 = NULL;
    int got = 0, r = -1;

    e1 = evsignal_new(base, SIGUSR1, count_cb, &got);
    if (e1 == NULL)
        goto out;
    e2 = evsignal_new(base, SIGUSR2, count_cb, &got);
    if (e2 == NULL)
        goto out;
    if (evsignal_add(e1, NULL) < 0 || evsignal_add(e2, NULL) < 0)
        goto out;
    raise(SIGUSR1);
    raise(SIGUSR2);
    r = run_until(base, &got, 2, 3000);
out:
    if (e1 != NULL)
        event_free(e1);
    if (e2 != NULL)
        event_free(e2);
    return r;
}

static int
path_priority(struct event_base *base)
{
    struct event *ev;
    int got = 0, r = -1;

    if (event_base_priority_init(base, 8) < 0)
        return -1;
    ev = event_new(base, -1, 0, count_cb, &got);
    if (ev == NULL)
        return -1;
    if (event_priority_set(ev, 6) == 0) {
        event_active(ev, EV_TIMEOUT, 1);
        r = run_until(base, &got, 1, 2000);
    }
    event_free(ev);
    return r;
}

/* Byte i of the test streams. */
static unsigned char
pattern(size_t i)
{
    return (unsigned char)((i * 131u + (i >> 8) * 7u) & 0xff);
}

static int
path_evbuffer(struct event_base *unused)
{
    struct evbuffer *a = NULL, *b = NULL;
    struct evbuffer_iovec vec[2];
    unsigned char chunk[1000];
    unsigned char *flat;
    char *line = NULL;
    size_t len, i, total = 0;
    int k, n, r = -1;

    (void)unused;
    a = evbuffer_new();
    b = evbuffer_new();
    if (a == NULL || b == NULL)
        goto out;
    /* a: 20 000 pattern bytes in 20 adds, forcing new chains. */
    for (k = 0; k < 20; k++) {
        for (i = 0; i < sizeof(chunk); i++)
            chunk[i] = pattern(total + i);
        if (evbuffer_add(a, chunk, sizeof(chunk)) < 0)
            goto out;
        total += sizeof(chunk);
    }
    if (evbuffer_expand(a, 50000) < 0)
        goto out;
    if (evbuffer_prepend(a, "HEAD", 4) < 0)
        goto out;
    if (evbuffer_add_printf(a, "tail %d\n", 42) < 0)
        goto out;
    flat = evbuffer_pullup(a, -1);
    if (flat == NULL)
        goto out;
    len = evbuffer_get_length(a);
    if (len != 4 + total + 8 || memcmp(flat, "HEAD", 4) != 0 ||
        memcmp(flat + 4 + total, "tail 42\n", 8) != 0)
        goto bad;
    for (i = 0; i < total; i++) {
        if (flat[4 + i] != pattern(i))
            goto bad;
    }
    /* b: lines written through reserve/commit, then a's content. */
    n = evbuffer_reserve_space(b, 4096, vec, 2);
    if (n < 1)
        goto out;
    if (vec[0].iov_len < 12)
        goto bad;
    memcpy(vec[0].iov_base, "one\ntwo\r\nx", 10);
    vec[0].iov_len = 10;
    if (evbuffer_commit_space(b, vec, 1) < 0)
        goto out;
    if (evbuffer_add_buffer(b, a) < 0)
        goto out;
    if (evbuffer_get_length(a) != 0 ||
        evbuffer_get_length(b) != 10 + 4 + total + 8)
        goto bad;
    line = evbuffer_readln(b, &len, EVBUFFER_EOL_CRLF);
    if (line == NULL)
        goto out;
    if (strcmp(line, "one") != 0 || len != 3)
        goto bad;
    /* readln's result comes from mm_malloc: free it through the hooks. */
    cm_free(line);
    line = evbuffer_readln(b, &len, EVBUFFER_EOL_CRLF);
    if (line == NULL)
        goto out;
    if (strcmp(line, "two") != 0)
        goto bad;
    cm_free(line);
    line = NULL;
    /* What is left: "x" + "HEAD" + pattern + "tail 42\n". */
    if (evbuffer_get_length(b) != 1 + 4 + total + 8)
        goto bad;
    r = 0;
    goto out;
bad:
    fprintf(stderr, "allocfail: evbuffer content wrong\n");
    r = -2;
out:
    if (line != NULL)
        cm_free(line);
    if (a != NULL)
        evbuffer_free(a);
    if (b != NULL)
        evbuffer_free(b);
    return r;
}

/* Reads everything from fd and checks it against pattern(). */
struct sink {
    size_t got;
    size_t want;
    int bad;
};

static void
sink_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sink *s = arg;
    unsigned char buf[8192];
    ssize_t n, i;

    (void)what;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        for (i = 0; i < n; i++) {
            if (buf[i] != pattern(s->got + (size_t)i))
                s->bad = 1;
        }
        s->got += (size_t)n;
    }
}

#define BEV_BYTES 200000

static int
write_pattern(struct bufferevent *bev, size_t total)
{
    unsigned char chunk[4096];
    size_t off, i, n;

    for (off = 0; off < total; off += n) {
        n = total - off < sizeof(chunk) ? total - off : sizeof(chunk);
        for (i = 0; i < n; i++)
            chunk[i] = pattern(off + i);
        if (bufferevent_write(bev, chunk, n) < 0)
            return -1;
    }
    return 0;
}

static void
bev_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    *(short *)arg |= what;
}

static int
path_bev_socket(struct event_base *base)
{
    evutil_socket_t fds[2];
    struct bufferevent *bev;
    struct event *rd = NULL;
    struct sink s = {0, BEV_BYTES, 0};
    short events = 0;
    int r = -1;

    tu_socketpair(fds);
    bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        tu_close_pair(fds);
        return -1;
    }
    bufferevent_setcb(bev, NULL, NULL, bev_event_cb, &events);
    rd = event_new(base, fds[1], EV_READ | EV_PERSIST, sink_read_cb, &s);
    if (rd == NULL || event_add(rd, NULL) < 0)
        goto out;
    if (bufferevent_enable(bev, EV_READ | EV_WRITE) < 0)
        goto out;
    if (write_pattern(bev, BEV_BYTES) < 0)
        goto out;
    if (run_transfer(base, &s.got, s.want, &events, 5000) < 0)
        goto out;
    /* An error event is a report; a shortfall without one a loss. */
    if (s.bad || (s.got != s.want && !(events & BEV_EVENT_ERROR)))
        r = -2;
    else
        r = s.got == s.want && !events ? 0 : -1;
out:
    if (rd != NULL)
        event_free(rd);
    bufferevent_free(bev);
    tu_close(&fds[1]);
    return r;
}

/* Drains bev's input into a sink. */
static void
bev_sink_read_cb(struct bufferevent *bev, void *arg)
{
    struct sink *s = arg;
    unsigned char buf[8192];
    size_t n, i;

    while ((n = bufferevent_read(bev, buf, sizeof(buf))) > 0) {
        for (i = 0; i < n; i++) {
            if (buf[i] != pattern(s->got + i))
                s->bad = 1;
        }
        s->got += n;
    }
}

/* Writes the pattern into w and waits for r's read callback to see it. */
static int
move_through(struct event_base *base, struct bufferevent *w,
    struct bufferevent *rd)
{
    struct sink s = {0, BEV_BYTES, 0};
    short events = 0;

    bufferevent_setcb(rd, bev_sink_read_cb, NULL, NULL, &s);
    bufferevent_setcb(w, NULL, NULL, bev_event_cb, &events);
    if (bufferevent_enable(rd, EV_READ) < 0 ||
        bufferevent_enable(w, EV_WRITE) < 0)
        return -1;
    if (write_pattern(w, BEV_BYTES) < 0)
        return -1;
    if (run_transfer(base, &s.got, s.want, &events, 5000) < 0)
        return -1;
    /* An error event is a report; a shortfall without one a loss. */
    if (s.bad || (s.got != s.want && !(events & BEV_EVENT_ERROR)))
        return -2;
    return s.got == s.want && !events ? 0 : -1;
}

static int
path_bev_pair(struct event_base *base)
{
    struct bufferevent *pair[2];
    int r;

    if (bufferevent_pair_new(base, 0, pair) < 0)
        return -1;
    r = move_through(base, pair[0], pair[1]);
    bufferevent_free(pair[0]);
    bufferevent_free(pair[1]);
    return r;
}

static int
path_bev_filter(struct event_base *base)
{
    struct bufferevent *pair[2], *filt;
    int r;

    if (bufferevent_pair_new(base, 0, pair) < 0)
        return -1;
    filt = bufferevent_filter_new(pair[0], NULL, NULL, 0, NULL, NULL);
    if (filt == NULL) {
        bufferevent_free(pair[0]);
        bufferevent_free(pair[1]);
        return -1;
    }
    r = move_through(base, filt, pair[1]);
    bufferevent_free(filt);
    bufferevent_free(pair[0]);
    bufferevent_free(pair[1]);
    return r;
}

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int socklen, void *arg)
{
    (void)lev;
    (void)sa;
    (void)socklen;
    close(fd);
    ++*(int *)arg;
}

static int
path_listener(struct event_base *base)
{
    struct sockaddr_in sin;
    struct sockaddr_storage ss;
    ev_socklen_t sl = sizeof(ss);
    struct evconnlistener *lev;
    evutil_socket_t c;
    int accepted = 0, r = -1;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lev = evconnlistener_new_bind(base, accept_cb, &accepted,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1,
        (struct sockaddr *)&sin, sizeof(sin));
    if (lev == NULL)
        return -1;
    if (getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&ss,
            &sl) < 0)
        goto out;
    c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0)
        goto out;
    if (connect(c, (struct sockaddr *)&ss, sl) == 0)
        r = run_until(base, &accepted, 1, 3000);
    close(c);
out:
    evconnlistener_free(lev);
    return r;
}

/* Static: a once event left pending by a failure fires after the path
 * has returned. */
static int once_got;

static int
path_once(struct event_base *base)
{
    struct timeval tv;

    once_got = 0;
    if (event_base_once(base, -1, EV_TIMEOUT, count_cb, &once_got,
            tu_tv(&tv, 1)) < 0)
        return -1;
    if (event_base_once(base, -1, EV_TIMEOUT, count_cb, &once_got,
            NULL) < 0)
        return -1; /* the first stays pending: freed with the base */
    return run_until(base, &once_got, 2, 2000);
}

static void
connect_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    *(short *)arg |= what;
}

static int
path_bev_connect(struct event_base *base)
{
    struct sockaddr_storage ss;
    ev_socklen_t sl = sizeof(ss);
    struct bufferevent *bev;
    evutil_socket_t lfd, afd = -1;
    struct event *rd = NULL;
    struct sink s = {0, BEV_BYTES, 0};
    short events = 0;
    int r = -1;

    lfd = tu_tcp_listener(AF_INET, &ss, &sl);
    if (lfd < 0)
        return -2;
    bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL)
        goto out;
    bufferevent_setcb(bev, NULL, NULL, connect_event_cb, &events);
    if (bufferevent_socket_connect(bev, (struct sockaddr *)&ss, (int)sl) < 0)
        goto out;
    /* Queued before the connection is up: sent once it is. */
    if (write_pattern(bev, BEV_BYTES) < 0)
        goto out;
    afd = accept(lfd, NULL, NULL);
    if (afd < 0)
        goto lost;
    evutil_make_socket_nonblocking(afd);
    rd = event_new(base, afd, EV_READ | EV_PERSIST, sink_read_cb, &s);
    if (rd == NULL || event_add(rd, NULL) < 0)
        goto out;
    if (run_transfer(base, &s.got, s.want, &events, 5000) < 0)
        goto out;
    if (s.got == s.want && !s.bad && (events & BEV_EVENT_CONNECTED) &&
        !(events & ~BEV_EVENT_CONNECTED)) {
        r = 0;
        goto out;
    }
    if (events & BEV_EVENT_ERROR)
        goto out;
lost:
    r = -2;
out:
    if (rd != NULL)
        event_free(rd);
    if (bev != NULL)
        bufferevent_free(bev);
    tu_close(&afd);
    tu_close(&lfd);
    return r;
}

/* ------------------------------------------------------------------ */
/* Threads: one forked child per N. */

struct activator {
    struct event *ev;
};

static void *
activator_main(void *arg)
{
    struct activator *a = arg;

    tu_sleep_ms(5);
    event_active(a->ev, EV_READ, 1);
    return NULL;
}

static void
safety_cb(evutil_socket_t fd, short what, void *base)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(base);
}

/* The child's path; returns 0, or -1 when a call reported a failure. */
static int
threads_child_path(struct event_base **basep)
{
    struct event_base *base = NULL;
    struct activator act = {NULL};
    struct event safety;
    struct timeval tv;
    pthread_t th;
    int got = 0, r = -1;

    if (evthread_use_pthreads() < 0)
        return -1;
    base = *basep = event_base_new();
    if (base == NULL)
        return -1;
    if (evthread_make_base_notifiable(base) < 0)
        goto out;
    act.ev = event_new(base, -1, 0, count_cb, &got);
    if (act.ev == NULL)
        goto out;
    if (pthread_create(&th, NULL, activator_main, &act) != 0)
        goto out;
    /* The loop blocks; only the notification from the other thread can
     * wake it in time.  The safety timer lives on the stack (no
     * allocation of the test's own); its add may fail like any other. */
    event_assign(&safety, base, -1, 0, safety_cb, base);
    if (event_add(&safety, tu_tv(&tv, 3000)) == 0) {
        /* The loop may report a failure itself (poll's dispatch grows
         * its copy of the set); woken by the safety timer instead, the
         * activation was lost. */
        r = event_base_loop(base, EVLOOP_ONCE);
        if (r == 0)
            r = got == 1 ? 0 : -2;
        event_del(&safety);
    }
    pthread_join(th, NULL);
out:
    if (act.ev != NULL)
        event_free(act.ev);
    return r;
}

/* Child exit codes. */
enum { CH_OK = 0, CH_REPORTED = 10, CH_SILENT = 11, CH_LEAK = 12,
    CH_BROKEN = 13, CH_NOFAIL_ERR = 14 };

static void
test_threads(void **state)
{
    long n, before, failed = 0, absorbed = 0;
    int status, code, done = 0;
    pid_t pid;

    (void)state;
    skip_in_debug_mode();
    fflush(NULL);
    before = live();
    for (n = 1; n <= MAX_N && !done; n++) {
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            struct event_base *base = NULL;
            int r, injected;

            tu_watchdog(20);
            arm(n);
            r = threads_child_path(&base);
            injected = disarm();
            /* Whatever failed, the base still takes a timer. */
            if (base != NULL && !base_usable(base))
                r = -2;
            if (base != NULL)
                event_base_free(base);
            libevent_global_shutdown();
            if (live() != before)
                code = CH_LEAK;
            else if (r == -2)
                code = CH_BROKEN;
            else if (!injected)
                code = r == 0 ? CH_OK : CH_NOFAIL_ERR;
            else
                code = r == -1 ? CH_REPORTED : CH_SILENT;
            if (code == CH_LEAK)
                fprintf(stderr, "threads: n=%ld: %ld block(s) leaked\n", n,
                    live() - before);
            exit(code);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status))
            fail_msg("threads: n=%ld: child died (status %#x)", n, status);
        code = WEXITSTATUS(status);
        if (code == CH_OK)
            done = 1;
        else if (code == CH_REPORTED)
            failed++;
        else if (code == CH_SILENT) {
            /* The child builds a base: a backend's init may fall back. */
            failed++;
            absorbed++;
        } else
            fail_msg("threads: n=%ld: child exit code %d", n, code);
    }
    assert_true(done);
    total_failed += failed;
    total_absorbed += absorbed;
    printf("allocfail: %-22s %4ld allocation(s) failed in turn (%ld "
           "recovered from by the library)\n", "threads", failed, absorbed);
}

/* ------------------------------------------------------------------ */

static void
test_config(void **state)
{
    (void)state;
    drive("config+base_new", path_config, 1);
}

static void
test_base_new(void **state)
{
    (void)state;
    drive("event_base_new", path_base_new, 1);
}

static void
test_timers(void **state)
{
    (void)state;
    /* The loop sorts timers that share a deadline in a scratch array it
     * grows on demand; without it they still fire, in heap order. */
    drive("timers+common", path_timers, 1);
}

static void
test_signal(void **state)
{
    (void)state;
    drive("signals", path_signal, 0);
}

static void
test_priority(void **state)
{
    (void)state;
    drive("priority_init", path_priority, 0);
}

static void
test_evbuffer(void **state)
{
    (void)state;
    drive("evbuffer", path_evbuffer, 0);
}

static void
test_bev_socket(void **state)
{
    (void)state;
    drive("bufferevent_socket", path_bev_socket, 0);
}

static void
test_bev_pair(void **state)
{
    (void)state;
    drive("bufferevent_pair", path_bev_pair, 0);
}

static void
test_bev_filter(void **state)
{
    (void)state;
    drive("bufferevent_filter", path_bev_filter, 0);
}

static void
test_once(void **state)
{
    (void)state;
    drive("event_base_once", path_once, 0);
}

static void
test_bev_connect(void **state)
{
    (void)state;
    drive("bufferevent_connect", path_bev_connect, 1);
}

static void
test_listener(void **state)
{
    (void)state;
    drive("evconnlistener", path_listener, 0);
}

static void
test_total(void **state)
{
    (void)state;
    skip_in_debug_mode();
    printf("allocfail: total %ld allocation(s) failed (%ld recovered from "
           "by the library, the rest reported to the caller), no leak\n",
        total_failed, total_absorbed);
    assert_true(total_failed > 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config, tu_setup_nobase,
            tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_base_new, tu_setup_nobase,
            tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_timers, tu_setup_nobase,
            tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_signal, tu_setup_nobase,
            tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_priority, tu_setup_nobase,
            tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_evbuffer, tu_setup_nobase,
            tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_bev_socket, tu_setup_nobase,
            tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_bev_pair, tu_setup_nobase,
            tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_bev_filter, tu_setup_nobase,
            tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_listener, tu_setup_nobase,
            tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_once, tu_setup_nobase,
            tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_bev_connect, tu_setup_nobase,
            tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_threads, tu_setup_nobase,
            tu_teardown_nobase),
        cmocka_unit_test(test_total),
    };

    /* Before anything of libevent allocates. */
    event_set_mem_functions(cm_malloc, cm_realloc, cm_free);
    tu_init();
    trace_failures = getenv("EVTEST_ALLOCFAIL_TRACE") != NULL;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

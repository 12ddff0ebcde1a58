/*
 * diff-bufferevent.c: differential test of bufferevents (event2/bufferevent.h).
 *
 * Each seed builds a few "links": a bufferevent pair, two socket
 * bufferevents on the ends of a non-blocking socketpair(AF_UNIX), or one
 * socket bufferevent whose peer end the script drives by hand (write,
 * read, shutdown(SHUT_WR), close), sometimes with filter bufferevents over
 * one or both ends (an upper-casing filter, or a framing filter of
 * length-prefixed records that returns BEV_NEED_MORE on a partial record
 * and BEV_ERROR on an invalid header; both honour the flush mode), one
 * seed in twelve with 16-23 pairs (more than the 32 deferred callbacks
 * libevent runs per loop iteration).  A random script then calls the API
 * (write, write_buffer, read, read_buffer, enable/disable, watermarks,
 * setcb/getcb, flush in the three modes, trigger/trigger_event with their
 * options, free, setfd/getfd, connect(NULL), priorities, lock/incref,
 * one-hour timeouts, max_single_read/write...) between loop passes
 * (EVLOOP_NONBLOCK, or EVLOOP_ONCE with a user event made active first, so
 * that it cannot block).  Callbacks read, echo, write more, disable, change
 * callbacks or free as their slot's mode says.
 *
 * Trace: one line per observation.  Callbacks print, in the order they
 * run, "R"/"W"/"E" (read/write/event callback, with the event flags),
 * "F" (a filter function: direction, mode, lengths, result), "B" (an
 * evbuffer callback the program added to a bufferevent's buffer), "X" (filter
 * context freed), "U" (user event), each with the bufferevent's index
 * ("b3"; fds are "fd2", never numbers) and the input/output lengths it
 * sees; API calls print their results; each seed ends with the totals
 * and hashes of what every bufferevent and raw fd received.  Output
 * depends on the seed only: no time, pointer or fd number.
 *
 * Options: --seeds=N --first=N --steps=N, --unbuffered, and switches:
 *   --no-chunks        no per-callback lengths (totals after each loop call
 *                      instead).  How much a socket bufferevent reads per
 *                      callback is an implementation choice; libevent
 *                      2.1.12 reads min(FIONREAD, 4096, room below the read
 *                      high watermark, max_single_read) per callback.
 *   --no-errno --no-filter-trace --no-threadsafe --no-unlock-cb --no-many
 *   --no-setfd --no-buffer-cbs   leave those out of the trace or scripts.
 * Divergences found against Debian's libevent 2.1.12 (see the report):
 *   --no-prio-probe    leave out bufferevent_priority_set() right after a
 *                      first write (libevent: 0; ours: -1, ev_write
 *                      activated at once).  On by default.
 *   --no-connect       leave out bufferevent_socket_connect(bev, NULL, 0);
 *                      after it fails, libevent's setwatermark(EV_READ)
 *                      re-adds the read event (ours did not; fixed).  On
 *                      by default.
 *   --no-wm-proxy      leave out moving an input that has a read high
 *                      watermark into a pair's output (same cause: libevent
 *                      re-enables reading each time the input changes below
 *                      the watermark; ours did only after a suspension;
 *                      fixed).  On by default.
 *   --no-priorities    every base has one priority: with three, a deferred
 *                      callback queued at a more urgent priority than the
 *                      I/O callback that queued it runs, on ours, before
 *                      the deferred callbacks that I/O callbacks queued at
 *                      their own priority when the I/O came straight from
 *                      epoll (libevent runs those first).  On by default.
 *   --no-write-timeouts  socket bufferevents get no one-hour write timeout:
 *                      ours then activates ev_write at once instead of
 *                      polling for it, which changes the order of callbacks
 *                      within a loop pass (libevent leaves that order
 *                      undefined).  Timeouts are set by default.
 *   --pair-flush-wm    flush(BEV_FLUSH/BEV_FINISHED) into a pair end with a
 *                      read high watermark (libevent moves only up to it
 *                      unless it is reached: a libevent inconsistency).  Off
 *                      by default.
 *   --generic-timeouts one-hour timeouts on pairs and filters too
 *                      (libevent leaves their write timeout armed after the
 *                      output drained: a libevent bug).  Off by default.
 *   --free-anytime     free bufferevents that may have a deferred callback
 *                      queued (what follows is undefined; see cb_free).
 *                      Off by default.
 */
#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "diff-common.h"

#define MAXB 64        /* bufferevent slots a script may create */
#define MAXFD 64       /* socket ends a script may create */
#define CB_LIMIT 400   /* callbacks one loop call may run before loopbreak */
#define CB_BUDGET 6000 /* bytes the callbacks of one bufferevent may write */

enum { K_PAIR, K_SOCK, K_FILTER };
static const char *kind_name[] = { "pair", "sock", "filter" };
enum { FK_UPPER, FK_FRAME };

/* read-callback behaviours */
enum { RM_PRINT, RM_DRAIN, RM_READK, RM_ECHO, RM_DISABLE, RM_FREE,
       RM_ECHOBUF, RM_SETCB, RM_PROXY, RM_N };
/* write-callback behaviours */
enum { WM_PRINT, WM_MORE, WM_DISABLE, WM_FREE, WM_N };
/* event-callback behaviours */
enum { EM_PRINT, EM_FREE, EM_DISABLE, EM_DRAIN, EM_WRITE, EM_N };

struct slot {
    int used, alive, hidden;
    int kind, opts;
    struct bufferevent *bev;
    int fdi;        /* K_SOCK: index in fds[] */
    int under;      /* K_FILTER: slot of the underlying bufferevent */
    int fkind;      /* K_FILTER: FK_UPPER / FK_FRAME */
    int sockpath;   /* data reaches it through a socket */
    int rmode, wmode, emode; /* -1: NULL callback */
    unsigned rarg, warg;
    int peer;       /* K_PAIR: slot of the partner */
    size_t rx, tx;  /* bytes the script/callbacks took out / put in */
    uint32_t rxh;
    int connect_done;
    size_t rhigh;   /* read high watermark set by the script */
    int dq;         /* a deferred callback may be queued (see cb_free) */
    int free_req;   /* a callback asked for it to be freed after the loop */
    long budget;    /* bytes its callbacks may still write */
    int bufcb;      /* evbuffer callbacks on its input and output */
    unsigned flips; /* RM_SETCB calls so far */
    int ptarget;    /* RM_PROXY: slot its input goes to */
};

struct fdent {
    int used, open;
    int fd;
    int slot;    /* live socket bufferevent using it, or -1 */
    int raw;     /* the script drives it by hand */
    int cool;    /* its bufferevent was freed since the last loop call */
    int peer;
    size_t rx, tx;
    uint32_t rxh;
};

static struct {
    struct event_base *base;
    struct event *user;
    struct diff_rng rng;
    struct slot s[MAXB];
    int ns;
    struct fdent f[MAXFD];
    int nf;
    int ncb, broke, in_loop;
    int npri;
} W;

static int opt_chunks = 1, opt_errno = 1, opt_ftrace = 1, opt_threadsafe = 1,
           opt_connect = 1, opt_many = 1, opt_setfd = 1, opt_unlockcb = 1,
           opt_wto = 1, opt_prio_probe = 1, opt_pair_flush_wm = 0,
           opt_gto = 0, opt_free_anytime = 0, opt_prio = 1, opt_bufcb = 1,
           opt_wm_proxy = 1;

/* ---------------------------------------------------------------- util */

static uint32_t
fnv(uint32_t h, const unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

/* Content byte number pos of the stream written by writer id. */
static unsigned char
content(int id, size_t pos)
{
    static const char a[] = "abcdefghijklmnopqrstuvwxyz0123456789 .";
    uint64_t z = ((uint64_t)(id + 1) << 40) ^ (uint64_t)pos;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (unsigned char)a[z % (sizeof(a) - 1)];
}

static unsigned
rnd(unsigned n)
{
    return diff_below(&W.rng, n);
}

static int
slot_of(struct bufferevent *b)
{
    int i;
    if (b == NULL)
        return -1;
    for (i = 0; i < W.ns; i++)
        if (W.s[i].used && W.s[i].alive && W.s[i].bev == b)
            return i;
    return -2;
}

static int
fd_index(evutil_socket_t fd)
{
    int i;
    if (fd < 0)
        return -1;
    for (i = 0; i < W.nf; i++)
        if (W.f[i].used && W.f[i].open && W.f[i].fd == fd)
            return i;
    return -2;
}

static size_t
inlen(struct bufferevent *b)
{
    return evbuffer_get_length(bufferevent_get_input(b));
}

static size_t
outlen(struct bufferevent *b)
{
    return evbuffer_get_length(bufferevent_get_output(b));
}

/* Take what the script or a callback read out of slot s. */
static void
account_rx(struct slot *s, const unsigned char *p, size_t n)
{
    s->rx += n;
    s->rxh = fnv(s->rxh, p, n);
}

static const char *
errname(int e)
{
    switch (e) {
    case 0: return "0";
    case EPIPE: return "EPIPE";
    case ECONNRESET: return "ECONNRESET";
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case ENOTCONN: return "ENOTCONN";
    default: return "other";
    }
}

/* Count a callback; past CB_LIMIT in one loop call, break the loop. */
static void
cb_count(void)
{
    if (!W.in_loop)
        return;
    if (++W.ncb == CB_LIMIT && !W.broke) {
        W.broke = 1;
        DIFF_OUT("  BREAK\n");
        event_base_loopbreak(W.base);
    }
}

/* --------------------------------------------------------- bookkeeping */

static void forget_slot(int i);

/* bufferevent_free(s) and what it implies for the bookkeeping. */
static void
free_slot(int i)
{
    struct slot *s = &W.s[i];
    bufferevent_free(s->bev);
    forget_slot(i);
}

static void
forget_slot(int i)
{
    struct slot *s = &W.s[i];
    s->alive = 0;
    if (s->kind == K_SOCK) {
        struct fdent *f = &W.f[s->fdi];
        f->slot = -1;
        if (s->opts & BEV_OPT_CLOSE_ON_FREE) {
            f->open = 0; /* the library closes it when it finalizes */
        } else {
            f->raw = 1;
            f->cool = 1;
        }
    } else if (s->kind == K_FILTER) {
        struct slot *u = &W.s[s->under];
        if (s->opts & BEV_OPT_CLOSE_ON_FREE) {
            forget_slot(s->under);
        } else {
            /* libevent clears the underlying's callbacks: it is ours now */
            u->hidden = 0;
            u->rmode = u->wmode = u->emode = -1;
        }
    }
}

/* -------------------------------------------------------------- filters */

static const char *
fres(enum bufferevent_filter_result r)
{
    return r == BEV_OK ? "OK" : r == BEV_NEED_MORE ? "MORE" : "ERROR";
}

static void
ftrace(struct slot *s, const char *dir, struct evbuffer *src, ev_ssize_t lim,
    enum bufferevent_flush_mode mode, enum bufferevent_filter_result r,
    size_t before_src, size_t moved)
{
    cb_count();
    if (!opt_ftrace)
        return;
    if (opt_chunks || !s->sockpath)
        DIFF_OUT("  F b%d %s mode=%d src=%zu lim=%zd -> %s took=%zu "
            "left=%zu\n", (int)(s - W.s), dir, (int)mode, before_src, lim,
            fres(r), moved, evbuffer_get_length(src));
    else
        DIFF_OUT("  F b%d %s mode=%d -> %s\n", (int)(s - W.s), dir,
            (int)mode, fres(r));
}

/* Upper-case filter, input side: move min(len, lim) bytes, upper-cased. */
static enum bufferevent_filter_result
upper_in(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t lim,
    enum bufferevent_flush_mode mode, void *ctx)
{
    unsigned char buf[512];
    size_t len = evbuffer_get_length(src), before = len, moved = 0;
    enum bufferevent_filter_result r;
    if (lim >= 0 && (size_t)lim < len)
        len = (size_t)lim;
    while (moved < len) {
        size_t n = len - moved < sizeof(buf) ? len - moved : sizeof(buf);
        size_t i;
        int got = evbuffer_remove(src, buf, n);
        if (got <= 0)
            break;
        for (i = 0; i < (size_t)got; i++)
            if (buf[i] >= 'a' && buf[i] <= 'z')
                buf[i] = (unsigned char)(buf[i] - 'a' + 'A');
        evbuffer_add(dst, buf, (size_t)got);
        moved += (size_t)got;
    }
    r = moved ? BEV_OK : BEV_NEED_MORE;
    ftrace(ctx, "in", src, lim, mode, r, before, moved);
    return r;
}

/* Upper-case filter, output side: lower-cases; on BEV_FINISHED it also
 * appends a '$' (once per call). */
static enum bufferevent_filter_result
upper_out(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t lim,
    enum bufferevent_flush_mode mode, void *ctx)
{
    unsigned char buf[512];
    size_t len = evbuffer_get_length(src), before = len, moved = 0;
    enum bufferevent_filter_result r;
    if (lim >= 0 && (size_t)lim < len)
        len = (size_t)lim;
    while (moved < len) {
        size_t n = len - moved < sizeof(buf) ? len - moved : sizeof(buf);
        size_t i;
        int got = evbuffer_remove(src, buf, n);
        if (got <= 0)
            break;
        for (i = 0; i < (size_t)got; i++)
            if (buf[i] >= 'A' && buf[i] <= 'Z')
                buf[i] = (unsigned char)(buf[i] - 'A' + 'a');
        evbuffer_add(dst, buf, (size_t)got);
        moved += (size_t)got;
    }
    if (mode == BEV_FINISHED)
        evbuffer_add(dst, "$", 1);
    r = (moved || mode == BEV_FINISHED) ? BEV_OK : BEV_NEED_MORE;
    ftrace(ctx, "out", src, lim, mode, r, before, moved);
    return r;
}

#define FRAME_MAX 16
/* Framing filter, output side: records of a length byte (1..16) and the
 * payload.  BEV_NORMAL sends full records only (a partial one waits:
 * BEV_NEED_MORE); BEV_FLUSH and BEV_FINISHED send the tail as a short
 * record, BEV_FINISHED then a 0 byte (end mark).  A '!' in the data
 * becomes the invalid header 0xEE, which the input side refuses. */
static enum bufferevent_filter_result
frame_out(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t lim,
    enum bufferevent_flush_mode mode, void *ctx)
{
    unsigned char rec[FRAME_MAX + 1];
    size_t before = evbuffer_get_length(src), moved = 0, room;
    enum bufferevent_filter_result r;
    room = lim < 0 ? (size_t)-1 : (size_t)lim;
    for (;;) {
        size_t len = evbuffer_get_length(src), n, i;
        if (len == 0)
            break;
        n = len < FRAME_MAX ? len : FRAME_MAX;
        if (n < FRAME_MAX && mode == BEV_NORMAL)
            break;
        evbuffer_copyout(src, rec + 1, n);
        for (i = 0; i < n; i++)
            if (rec[1 + i] == '!')
                break;
        if (i == 0) {
            /* the marker */
            if (room < 1)
                break;
            evbuffer_drain(src, 1);
            evbuffer_add(dst, "\xee", 1);
            moved += 1;
            room -= 1;
            continue;
        }
        n = i;
        if (room < n + 1)
            break;
        rec[0] = (unsigned char)n;
        evbuffer_drain(src, n);
        evbuffer_add(dst, rec, n + 1);
        moved += n;
        room -= n + 1;
    }
    if (mode == BEV_FINISHED && room >= 1 && evbuffer_get_length(src) == 0) {
        evbuffer_add(dst, "", 1);
        r = BEV_OK;
    } else {
        r = moved ? BEV_OK : BEV_NEED_MORE;
    }
    ftrace(ctx, "out", src, lim, mode, r, before, moved);
    return r;
}

/* Framing filter, input side: whole records only (BEV_NEED_MORE on a
 * partial one, except that BEV_FINISHED delivers a partial payload); a
 * 0 header is dropped; a header over 16 is BEV_ERROR and stays. */
static enum bufferevent_filter_result
frame_in(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t lim,
    enum bufferevent_flush_mode mode, void *ctx)
{
    unsigned char rec[FRAME_MAX + 1];
    size_t before = evbuffer_get_length(src), moved = 0, room;
    enum bufferevent_filter_result r = BEV_NEED_MORE;
    int any = 0;
    room = lim < 0 ? (size_t)-1 : (size_t)lim;
    for (;;) {
        size_t len = evbuffer_get_length(src), h;
        if (len == 0) {
            r = any ? BEV_OK : BEV_NEED_MORE;
            break;
        }
        evbuffer_copyout(src, rec, 1);
        h = rec[0];
        if (h == 0) {
            evbuffer_drain(src, 1);
            any = 1;
            continue;
        }
        if (h > FRAME_MAX) {
            r = BEV_ERROR;
            break;
        }
        if (h > room) {
            r = any ? BEV_OK : BEV_NEED_MORE;
            break;
        }
        if (len < h + 1) {
            if (mode == BEV_FINISHED && len > 1) {
                evbuffer_copyout(src, rec, len);
                evbuffer_drain(src, len);
                evbuffer_add(dst, rec + 1, len - 1);
                moved += len - 1;
                any = 1;
                continue;
            }
            r = any ? BEV_OK : BEV_NEED_MORE;
            break;
        }
        evbuffer_copyout(src, rec, h + 1);
        evbuffer_drain(src, h + 1);
        evbuffer_add(dst, rec + 1, h);
        moved += h;
        room -= h;
        any = 1;
    }
    ftrace(ctx, "in", src, lim, mode, r, before, moved);
    return r;
}

static void
free_ctx(void *ctx)
{
    struct slot *s = ctx;
    cb_count();
    DIFF_OUT("  X b%d context freed\n", (int)(s - W.s));
}

/* ------------------------------------------------------------ callbacks */

static void readcb(struct bufferevent *, void *);
static void writecb(struct bufferevent *, void *);
static void eventcb(struct bufferevent *, short, void *);
static void cb_free(struct slot *);

static void
apply_cbs(struct slot *s)
{
    bufferevent_setcb(s->bev, s->rmode < 0 ? NULL : readcb,
        s->wmode < 0 ? NULL : writecb, s->emode < 0 ? NULL : eventcb, s);
}

static void
cb_head(const char *what, struct slot *s, struct bufferevent *bev)
{
    int i = (int)(s - W.s);
    cb_count();
    if (bev != s->bev || !s->alive)
        DIFF_OUT("  %s b%d WRONG-BEV (slot %d alive %d)\n", what, i,
            slot_of(bev), s->alive);
    if (opt_chunks || !s->sockpath)
        DIFF_OUT("  %s b%d in=%zu out=%zu\n", what, i, inlen(bev),
            outlen(bev));
    else
        DIFF_OUT("  %s b%d\n", what, i);
}

/* Read up to max bytes out of s's input, account them. */
static size_t
drain_in(struct slot *s, size_t max)
{
    unsigned char buf[4096];
    size_t total = 0;
    while (total < max) {
        size_t want = max - total < sizeof(buf) ? max - total : sizeof(buf);
        size_t got = bufferevent_read(s->bev, buf, want);
        if (got == 0)
            break;
        account_rx(s, buf, got);
        total += got;
    }
    return total;
}

static void
print_drain(struct slot *s, const char *what, size_t n)
{
    if (opt_chunks || !s->sockpath)
        DIFF_OUT("    %s %zu\n", what, n);
}

/* Write n content bytes of s's stream to s (bufferevent_write). */
static int
write_content(struct slot *s, size_t n)
{
    unsigned char *p = malloc(n ? n : 1);
    size_t i;
    int r;
    for (i = 0; i < n; i++)
        p[i] = content((int)(s - W.s), s->tx + i);
    r = bufferevent_write(s->bev, p, n);
    if (r == 0)
        s->tx += n;
    free(p);
    return r;
}

/*
 * A callback frees its bufferevent.  libevent 2.1 keeps a bufferevent
 * alive while its deferred callback is queued (the queued callback holds
 * a reference), so what happens after bufferevent_free (whether pending
 * output still goes out, when the fd is closed and the filter context
 * freed) depends on whether one was queued; ours holds no reference for
 * a queued deferred callback.  libevent documents pending data as
 * "probably won't be flushed", so unless --free-anytime is given we free
 * at once only a bufferevent that cannot have a deferred callback queued
 * (a socket one without BEV_OPT_DEFER_CALLBACKS, no deferred trigger
 * since the last complete loop, no read high watermark: libevent 2.1.11+
 * defers a read callback re-run at the high watermark).  Others get NULL
 * callbacks at once (as bufferevent_free does) and are freed after the
 * loop call, once the loop has run until nothing was left to do.
 */
static void
cb_free(struct slot *s)
{
    int i = (int)(s - W.s);
    if (opt_free_anytime || (s->kind == K_SOCK &&
            !(s->opts & BEV_OPT_DEFER_CALLBACKS) && !s->dq && !s->rhigh)) {
        DIFF_OUT("    free\n");
        free_slot(i);
    } else {
        DIFF_OUT("    free after the loop\n");
        bufferevent_setcb(s->bev, NULL, NULL, NULL, NULL);
        s->rmode = s->wmode = s->emode = -1;
        s->free_req = 1;
    }
}

/* Proxying from an input with a read high watermark into a pair end's
 * output: libevent runs the input's callbacks first, and its watermark
 * callback re-enables reading (be_pair_enable), which moves the data on
 * to the partner before the output's callbacks run (ours re-enabled only
 * a suspended bufferevent before the fix).  --no-wm-proxy leaves these
 * out. */
static int
proxy_ok(struct slot *s, struct slot *t)
{
    return opt_wm_proxy || !s->rhigh || t->kind != K_PAIR;
}

/* Move all of s's input into t's output with bufferevent_write_buffer
 * (a proxy), within s's budget; what moves counts as read by s. */
static int
proxy(struct slot *s, struct slot *t, size_t *moved)
{
    struct evbuffer *in = bufferevent_get_input(s->bev);
    size_t len = evbuffer_get_length(in);
    unsigned char *p;
    int r;
    *moved = 0;
    if (len == 0 || s->budget < (long)len)
        return -9;
    p = malloc(len);
    evbuffer_copyout(in, p, len);
    account_rx(s, p, len);
    free(p);
    s->budget -= (long)len;
    r = bufferevent_write_buffer(t->bev, in);
    if (r == 0)
        t->tx += len;
    *moved = len;
    return r;
}

static void
readcb(struct bufferevent *bev, void *arg)
{
    struct slot *s = arg;
    size_t n;
    cb_head("R", s, bev);
    switch (s->rmode) {
    case RM_PRINT:
        break;
    case RM_DRAIN:
        n = drain_in(s, (size_t)-1);
        print_drain(s, "drained", n);
        break;
    case RM_READK:
        n = drain_in(s, s->rarg);
        print_drain(s, "read", n);
        break;
    case RM_ECHO: {
        unsigned char buf[4096];
        size_t got;
        while ((got = bufferevent_read(bev, buf, sizeof(buf))) > 0) {
            account_rx(s, buf, got);
            if (s->budget >= (long)got) {
                s->budget -= (long)got;
                bufferevent_write(bev, buf, got);
                s->tx += got;
            }
        }
        if (opt_chunks || !s->sockpath)
            DIFF_OUT("    echoed out=%zu\n", outlen(bev));
        break;
    }
    case RM_ECHOBUF: {
        struct evbuffer *tmp = evbuffer_new();
        int r = bufferevent_read_buffer(bev, tmp), r2 = -9;
        size_t len = evbuffer_get_length(tmp);
        if (len)
            account_rx(s, evbuffer_pullup(tmp, -1), len);
        if (s->budget >= (long)len) {
            s->budget -= (long)len;
            r2 = bufferevent_write_buffer(bev, tmp);
            if (r2 == 0)
                s->tx += len;
        }
        if (opt_chunks || !s->sockpath)
            DIFF_OUT("    read_buffer %d moved=%zu write_buffer %d out=%zu\n",
                r, len, r2, outlen(bev));
        evbuffer_free(tmp);
        break;
    }
    case RM_DISABLE:
        DIFF_OUT("    disable R -> %d\n", bufferevent_disable(bev, EV_READ));
        break;
    case RM_SETCB:
        /* drain, then change the other two callbacks from inside */
        n = drain_in(s, (size_t)-1);
        print_drain(s, "drained", n);
        s->flips++;
        s->wmode = (s->flips & 1) ? -1 : WM_PRINT;
        s->emode = (s->flips & 2) ? -1 : EM_WRITE;
        apply_cbs(s);
        DIFF_OUT("    setcb w=%d e=%d\n", s->wmode, s->emode);
        break;
    case RM_PROXY: {
        struct slot *t = &W.s[s->ptarget % (W.ns ? W.ns : 1)];
        if (t == s || !t->used || !t->alive || t->hidden || t->free_req ||
            !proxy_ok(s, t)) {
            n = drain_in(s, (size_t)-1);
            print_drain(s, "drained", n);
        } else {
            int r = proxy(s, t, &n);
            if (opt_chunks || !s->sockpath)
                DIFF_OUT("    proxy to b%d %zu -> %d\n", (int)(t - W.s), n, r);
            else
                DIFF_OUT("    proxy to b%d -> %d\n", (int)(t - W.s), r);
        }
        break;
    }
    case RM_FREE:
        cb_free(s);
        break;
    }
}

static void
writecb(struct bufferevent *bev, void *arg)
{
    struct slot *s = arg;
    cb_head("W", s, bev);
    switch (s->wmode) {
    case WM_PRINT:
        break;
    case WM_MORE:
        if (s->budget >= (long)s->warg) {
            s->budget -= (long)s->warg;
            DIFF_OUT("    more %u -> %d\n", s->warg,
                write_content(s, s->warg));
        }
        break;
    case WM_DISABLE:
        DIFF_OUT("    disable W -> %d\n", bufferevent_disable(bev, EV_WRITE));
        break;
    case WM_FREE:
        cb_free(s);
        break;
    }
}

static void
eventcb(struct bufferevent *bev, short what, void *arg)
{
    struct slot *s = arg;
    int e = errno;
    int i = (int)(s - W.s);
    cb_count();
    if (bev != s->bev || !s->alive)
        DIFF_OUT("  E b%d WRONG-BEV (slot %d alive %d)\n", i, slot_of(bev),
            s->alive);
    if (opt_chunks || !s->sockpath)
        DIFF_OUT("  E b%d what=0x%x in=%zu out=%zu", i, (unsigned)what,
            inlen(bev), outlen(bev));
    else
        DIFF_OUT("  E b%d what=0x%x", i, (unsigned)what);
    if (opt_errno && (what & BEV_EVENT_ERROR))
        DIFF_OUT(" errno=%s", errname(e));
    DIFF_OUT("\n");
    switch (s->emode) {
    case EM_PRINT:
        break;
    case EM_FREE:
        if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
            size_t n = drain_in(s, (size_t)-1);
            DIFF_OUT("    drained %zu\n", n);
            cb_free(s);
        }
        break;
    case EM_DISABLE:
        DIFF_OUT("    disable RW -> %d\n",
            bufferevent_disable(bev, EV_READ | EV_WRITE));
        break;
    case EM_DRAIN:
        DIFF_OUT("    drained %zu\n", drain_in(s, (size_t)-1));
        break;
    case EM_WRITE:
        if (s->budget >= 10) {
            s->budget -= 10;
            DIFF_OUT("    write 10 -> %d\n", write_content(s, 10));
        }
        break;
    }
}

static void
usercb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)arg;
    cb_count();
    DIFF_OUT("  U what=0x%x\n", (unsigned)what);
}

static void
logcb(int severity, const char *msg)
{
    (void)severity;
    (void)msg;
}

/* ------------------------------------------------------------- creation */

static int
new_slot(void)
{
    int i;
    if (W.ns >= MAXB)
        return -1;
    i = W.ns++;
    memset(&W.s[i], 0, sizeof(W.s[i]));
    W.s[i].used = 1;
    W.s[i].fdi = W.s[i].under = -1;
    W.s[i].rxh = 2166136261u;
    W.s[i].budget = CB_BUDGET;
    return i;
}

static void
pick_modes(struct slot *s)
{
    static const int rw[] = { RM_PRINT, RM_DRAIN, RM_DRAIN, RM_DRAIN,
        RM_READK, RM_ECHO, RM_DISABLE, RM_FREE, RM_ECHOBUF, RM_DRAIN,
        RM_SETCB, RM_PROXY };
    s->rmode = rnd(12) == 0 ? -1 : rw[rnd(sizeof(rw) / sizeof(rw[0]))];
    if (s->rmode == RM_FREE && rnd(3))
        s->rmode = RM_DRAIN;
    s->wmode = rnd(8) == 0 ? -1 : (int)rnd(WM_N);
    if (s->wmode == WM_FREE && rnd(3))
        s->wmode = WM_PRINT;
    s->emode = rnd(12) == 0 ? -1 : (int)rnd(EM_N);
    s->rarg = 1 + rnd(rnd(2) ? 20 : 3000);
    s->ptarget = (int)rnd(MAXB);
    s->warg = rnd(3) ? 1 + rnd(40) : 1 + rnd(3000);
}

static void
print_modes(int i)
{
    struct slot *s = &W.s[i];
    DIFF_OUT("  cbs b%d r=%d/%u w=%d/%u e=%d\n", i, s->rmode, s->rarg,
        s->wmode, s->warg, s->emode);
}

static int
random_opts(void)
{
    int o = 0;
    if (rnd(2))
        o |= BEV_OPT_CLOSE_ON_FREE;
    if (rnd(2))
        o |= BEV_OPT_DEFER_CALLBACKS;
    if (opt_unlockcb && (o & BEV_OPT_DEFER_CALLBACKS) && rnd(4) == 0)
        o |= BEV_OPT_UNLOCK_CALLBACKS;
    if (opt_unlockcb && !(o & BEV_OPT_DEFER_CALLBACKS) && rnd(20) == 0)
        o |= BEV_OPT_UNLOCK_CALLBACKS; /* refused: needs DEFER */
    if (opt_threadsafe && rnd(25) == 0)
        o |= BEV_OPT_THREADSAFE; /* refused: no thread functions */
    return o;
}

static int
new_fd(int fd, int peer)
{
    int i;
    if (W.nf >= MAXFD)
        return -1;
    i = W.nf++;
    memset(&W.f[i], 0, sizeof(W.f[i]));
    W.f[i].used = W.f[i].open = 1;
    W.f[i].fd = fd;
    W.f[i].slot = -1;
    W.f[i].peer = peer;
    W.f[i].rxh = 2166136261u;
    return i;
}

/* evbuffer callbacks a program added to a bufferevent's buffers ("B"):
 * called on every change, after or before the bufferevent's own. */
static void
bufcb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct slot *s = arg;
    int in = buf == bufferevent_get_input(s->bev);
    cb_count();
    if (opt_chunks || !s->sockpath)
        DIFF_OUT("  B b%d %s%s +%zu -%zu len=%zu\n", (int)(s - W.s),
            in ? "in" : "out", s->alive ? "" : " (freed)", info->n_added,
            info->n_deleted, evbuffer_get_length(buf));
}

static void
maybe_bufcbs(struct slot *s)
{
    if (!opt_bufcb || s->bufcb || rnd(4))
        return;
    s->bufcb = 1;
    evbuffer_add_cb(bufferevent_get_input(s->bev), bufcb, s);
    evbuffer_add_cb(bufferevent_get_output(s->bev), bufcb, s);
    DIFF_OUT("  buffer callbacks b%d\n", (int)(s - W.s));
}

/* A visible, plain bufferevent made of slot i: set its callbacks. */
static void
finish_slot(int i)
{
    struct slot *s = &W.s[i];
    pick_modes(s);
    apply_cbs(s);
    print_modes(i);
    maybe_bufcbs(s);
}

static int
make_sock(int fi)
{
    int i = new_slot(), o = random_opts(), late = rnd(6) == 0;
    struct slot *s;
    if (i < 0)
        return -1;
    s = &W.s[i];
    s->kind = K_SOCK;
    s->opts = o;
    s->sockpath = 1;
    s->fdi = fi;
    s->bev = bufferevent_socket_new(W.base, late ? -1 : W.f[fi].fd, o);
    DIFF_OUT("  b%d = socket_new(fd%d%s, opts=0x%x) -> %s\n", i, fi,
        late ? " as -1" : "", o, s->bev ? "ok" : "NULL");
    if (s->bev == NULL) {
        s->used = 0;
        W.ns--;
        return -1;
    }
    s->alive = 1;
    W.f[fi].slot = i;
    W.f[fi].raw = 0;
    if (late) {
        DIFF_OUT("  setfd b%d fd%d -> %d\n", i, fi,
            bufferevent_setfd(s->bev, W.f[fi].fd));
    }
    if (opt_wto) {
        struct timeval hour = { 3600, 0 };
        bufferevent_set_timeouts(s->bev, NULL, &hour);
    }
    return i;
}

/* Filter over slot u (already made). */
static int
make_filter(int u, int fk)
{
    int i = new_slot(), o = random_opts();
    struct slot *s;
    if (i < 0)
        return u;
    o &= ~BEV_OPT_UNLOCK_CALLBACKS;
    s = &W.s[i];
    s->kind = K_FILTER;
    s->opts = o;
    s->under = u;
    s->fkind = fk;
    s->sockpath = W.s[u].sockpath;
    s->bev = bufferevent_filter_new(W.s[u].bev,
        fk == FK_UPPER ? upper_in : frame_in,
        fk == FK_UPPER ? upper_out : frame_out, o, free_ctx, s);
    DIFF_OUT("  b%d = filter_new(b%d, %s, opts=0x%x) -> %s\n", i, u,
        fk == FK_UPPER ? "upper" : "frame", o, s->bev ? "ok" : "NULL");
    if (s->bev == NULL) {
        s->used = 0;
        W.ns--;
        return u;
    }
    s->alive = 1;
    W.s[u].hidden = 1;
    return i;
}

/* One filter over *end, sometimes two (a filter over a filter). */
static void
maybe_filters(int *end, int fk)
{
    int depth = rnd(8) == 0 ? 2 : 1, d;
    for (d = 0; d < depth; d++)
        *end = make_filter(*end, fk);
}

static void
new_link(int simple)
{
    int type = simple ? 0 : (int)rnd(7);
    int a = -1, b = -1, k;
    if (W.ns + 6 > MAXB || W.nf + 2 > MAXFD)
        return;
    if (type <= 1) {
        struct bufferevent *pair[2] = { NULL, NULL };
        int o = random_opts(), r;
        r = bufferevent_pair_new(W.base, o, pair);
        DIFF_OUT("link pair opts=0x%x -> %d\n", o, r);
        if (r != 0)
            return;
        a = new_slot();
        b = new_slot();
        W.s[a].kind = W.s[b].kind = K_PAIR;
        W.s[a].opts = W.s[b].opts = o;
        W.s[a].bev = pair[0];
        W.s[b].bev = pair[1];
        W.s[a].alive = W.s[b].alive = 1;
        W.s[a].peer = b;
        W.s[b].peer = a;
        DIFF_OUT("  b%d b%d partner %d %d\n", a, b,
            slot_of(bufferevent_pair_get_partner(pair[0])),
            slot_of(bufferevent_pair_get_partner(pair[1])));
    } else {
        int sv[2], fa, fb;
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
            DIFF_OUT("socketpair failed\n");
            return;
        }
        evutil_make_socket_nonblocking(sv[0]);
        evutil_make_socket_nonblocking(sv[1]);
        fa = new_fd(sv[0], W.nf + 1);
        fb = new_fd(sv[1], fa);
        DIFF_OUT("link socketpair fd%d fd%d\n", fa, fb);
        a = make_sock(fa);
        if (type <= 4)
            b = make_sock(fb);
        if (a < 0)
            W.f[fa].raw = 1;
        if (b < 0)
            W.f[fb].raw = 1;
    }
    /* filters: none, one end, or both ends with the same kind */
    k = (int)rnd(2);
    switch (rnd(5)) {
    case 0:
        if (a >= 0)
            maybe_filters(&a, k);
        break;
    case 1:
        if (a >= 0)
            maybe_filters(&a, k);
        if (b >= 0)
            maybe_filters(&b, k);
        break;
    default:
        break;
    }
    if (a >= 0)
        finish_slot(a);
    if (b >= 0)
        finish_slot(b);
}

/* ------------------------------------------------------------- actions */

static int
pick_bev(void)
{
    int cand[MAXB], n = 0, i;
    for (i = 0; i < W.ns; i++)
        if (W.s[i].used && W.s[i].alive && !W.s[i].hidden &&
            !W.s[i].free_req)
            cand[n++] = i;
    if (n == 0)
        return -1;
    return cand[rnd((unsigned)n)];
}

static int
pick_raw(void)
{
    int cand[MAXFD], n = 0, i;
    for (i = 0; i < W.nf; i++)
        if (W.f[i].used && W.f[i].open && W.f[i].raw)
            cand[n++] = i;
    if (n == 0)
        return -1;
    return cand[rnd((unsigned)n)];
}

static size_t
pick_size(void)
{
    unsigned c = rnd(100);
    if (c < 5)
        return 0;
    if (c < 80)
        return 1 + rnd(64);
    if (c < 96)
        return 65 + rnd(5000);
    return 5000 + rnd(40000);
}

static size_t
pick_mark(void)
{
    static const size_t v[] = { 0, 0, 1, 2, 5, 10, 16, 40, 100, 1000, 5000 };
    return v[rnd(sizeof(v) / sizeof(v[0]))];
}

static short
pick_iotype(void)
{
    static const short v[] = { EV_READ, EV_WRITE, EV_READ | EV_WRITE };
    return v[rnd(3)];
}

static const char *
ioname(short t)
{
    switch (t & (EV_READ | EV_WRITE)) {
    case EV_READ: return "R";
    case EV_WRITE: return "W";
    case EV_READ | EV_WRITE: return "RW";
    default: return "-";
    }
}

static void
show_len(int i)
{
    struct bufferevent *b = W.s[i].bev;
    DIFF_OUT("  b%d in=%zu out=%zu en=%s\n", i, inlen(b), outlen(b),
        ioname(bufferevent_get_enabled(b)));
}

static void
do_loop(int once)
{
    int r;
    W.ncb = 0;
    W.broke = 0;
    W.in_loop = 1;
    if (once) {
        DIFF_OUT("loop once\n");
        event_active(W.user, EV_TIMEOUT, 1);
        r = event_base_loop(W.base, EVLOOP_ONCE);
    } else {
        DIFF_OUT("loop nonblock\n");
        r = event_base_loop(W.base, EVLOOP_NONBLOCK);
    }
    W.in_loop = 0;
    DIFF_OUT("loop -> %d\n", r);
    {
        int i;
        for (i = 0; i < W.nf; i++)
            W.f[i].cool = 0;
        if (!W.broke) {
            /* The loop ran until nothing was left: no deferred callback
             * is queued now. */
            for (i = 0; i < W.ns; i++)
                W.s[i].dq = 0;
            for (i = 0; i < W.ns; i++) {
                if (W.s[i].used && W.s[i].alive && W.s[i].free_req) {
                    DIFF_OUT("  free b%d (asked by a callback)\n", i);
                    W.s[i].free_req = 0;
                    free_slot(i);
                }
            }
        }
        if (!opt_chunks) {
            /* totals stand in for the per-callback lengths */
            for (i = 0; i < W.ns; i++)
                if (W.s[i].used && W.s[i].alive && !W.s[i].hidden)
                    DIFF_OUT("  total b%d rx=%zu in=%zu out=%zu\n", i,
                        W.s[i].rx, inlen(W.s[i].bev), outlen(W.s[i].bev));
        }
    }
}

static void
act_misc(int i)
{
    struct slot *s = &W.s[i];
    struct bufferevent *b = s->bev;
    switch (rnd(12)) {
    case 0:
        DIFF_OUT("getfd b%d -> fd%d\n", i, fd_index(bufferevent_getfd(b)));
        break;
    case 1:
        DIFF_OUT("get_base b%d -> %s\n", i,
            bufferevent_get_base(b) == W.base ? "base" : "other");
        break;
    case 2: {
        int p = (int)rnd((unsigned)W.npri + 2) - 1, r;
        if (s->kind == K_SOCK) {
            /* libevent 2.1.12 moves the deferred callback to the new
             * priority even while it is queued at the old one, which
             * corrupts its active queues (the next loop spins): call it
             * only when nothing can be queued. */
            do_loop(0);
            if (W.broke || !s->alive || s->free_req)
                break;
        }
        r = bufferevent_priority_set(b, p);
        DIFF_OUT("priority_set b%d %d -> %d; get -> %d\n", i, p, r,
            bufferevent_get_priority(b));
        break;
    }
    case 3:
        if (s->kind == K_SOCK)
            DIFF_OUT("dns_error b%d -> %d\n", i,
                bufferevent_socket_get_dns_error(b));
        break;
    case 4:
        DIFF_OUT("underlying b%d -> %d; partner -> %d\n", i,
            slot_of(bufferevent_get_underlying(b)),
            slot_of(bufferevent_pair_get_partner(b)));
        break;
    case 5: {
        bufferevent_data_cb r = NULL, w = NULL;
        bufferevent_event_cb e = NULL;
        void *arg = NULL;
        bufferevent_getcb(b, &r, &w, &e, &arg);
        DIFF_OUT("getcb b%d -> %d%d%d %s\n", i, r == readcb, w == writecb,
            e == eventcb, arg == s ? "arg" : arg == NULL ? "null" : "?");
        break;
    }
    case 6:
        bufferevent_lock(b);
        DIFF_OUT("lock b%d in=%zu\n", i, inlen(b));
        bufferevent_unlock(b);
        bufferevent_incref(b);
        DIFF_OUT("incref/decref b%d -> %d\n", i, bufferevent_decref(b));
        break;
    case 7: {
        struct timeval hour = { 3600, 0 };
        unsigned c = rnd(4);
        if (opt_wto && s->sockpath)
            c |= 2;
        if (!opt_gto && s->kind != K_SOCK)
            break; /* see the --generic-timeouts note at the top */
        DIFF_OUT("set_timeouts b%d %u -> %d\n", i, c,
            bufferevent_set_timeouts(b, (c & 1) ? &hour : NULL,
                (c & 2) ? &hour : NULL));
        break;
    }
    case 8: {
        static const size_t v[] = { 0, 1, 7, 100, 4096, 20000 };
        size_t r = v[rnd(6)], w = v[rnd(6)];
        int a = bufferevent_set_max_single_read(b, r);
        int c = bufferevent_set_max_single_write(b, w);
        DIFF_OUT("max_single b%d %zu %zu -> %d %d; get %zd %zd; max_to "
            "%zd %zd\n", i, r, w, a, c, bufferevent_get_max_single_read(b),
            bufferevent_get_max_single_write(b),
            bufferevent_get_max_to_read(b), bufferevent_get_max_to_write(b));
        break;
    }
    case 9: {
        size_t lo = 77, hi = 77;
        short ev = rnd(4) ? (rnd(2) ? EV_READ : EV_WRITE)
                          : (short)(EV_READ | EV_WRITE);
        int r = bufferevent_getwatermark(b, ev, &lo, &hi);
        DIFF_OUT("getwatermark b%d %s -> %d %zu %zu\n", i, ioname(ev), r, lo,
            hi);
        break;
    }
    case 10:
        if (s->kind == K_FILTER && rnd(2)) {
            /* tune the underlying's write high watermark, as programs
             * do to bound what a filter queues */
            size_t hi = pick_mark();
            bufferevent_setwatermark(W.s[s->under].bev, EV_WRITE, 0, hi);
            DIFF_OUT("under-wm b%d W 0 %zu\n", i, hi);
        } else {
            show_len(i);
        }
        break;
    default:
        show_len(i);
        break;
    }
}

static void
act_raw(void)
{
    int fi = pick_raw();
    struct fdent *f;
    if (fi < 0)
        return;
    f = &W.f[fi];
    switch (rnd(8)) {
    case 0: case 1: case 2: {
        size_t n = pick_size(), k;
        unsigned char *p = malloc(n ? n : 1);
        ssize_t r;
        for (k = 0; k < n; k++)
            p[k] = content(100 + fi, f->tx + k);
        r = write(f->fd, p, n);
        if (r > 0)
            f->tx += (size_t)r;
        DIFF_OUT("raw write fd%d %zu -> %zd%s\n", fi, n, r,
            r < 0 ? (errno == EAGAIN ? " EAGAIN" : " err") : "");
        free(p);
        break;
    }
    case 3: case 4: {
        unsigned char buf[8192];
        size_t n = 1 + rnd(rnd(2) ? 64 : 8192);
        ssize_t r = read(f->fd, buf, n);
        if (r > 0) {
            f->rx += (size_t)r;
            f->rxh = fnv(f->rxh, buf, (size_t)r);
        }
        DIFF_OUT("raw read fd%d %zu -> %zd%s\n", fi, n, r,
            r < 0 ? (errno == EAGAIN ? " EAGAIN" : " err") : "");
        break;
    }
    case 5: case 6:
        DIFF_OUT("raw shutdown-wr fd%d -> %d\n", fi, shutdown(f->fd, SHUT_WR));
        break;
    case 7:
        if (f->cool)
            break;
        DIFF_OUT("raw close fd%d\n", fi);
        close(f->fd);
        f->open = 0;
        break;
    }
}

/* Would bufferevent_flush(BEV_FLUSH or BEV_FINISHED) on slot i (a pair
 * end, or filters over one) move pair data into an end with a read high
 * watermark?  libevent 2.1.12 (be_pair_transfer with ignore_wm) then
 * moves only up to the watermark unless the end is already at it; ours
 * moves everything.  Left out unless --pair-flush-wm. */
static int
pair_flush_wm(int i, short t)
{
    while (W.s[i].kind == K_FILTER)
        i = W.s[i].under;
    if (W.s[i].kind != K_PAIR)
        return 0;
    if ((t & EV_READ) && W.s[i].rhigh)
        return 1;
    if ((t & EV_WRITE) && W.s[W.s[i].peer].rhigh)
        return 1;
    return 0;
}

/* bufferevent_priority_set right after a first write, before any loop:
 * libevent's ev_write is only added then, and event_priority_set refuses
 * active events only; ours activates ev_write at once without write
 * timeouts. */
static void
prio_probe(void)
{
    int sv[2], r1, r2;
    struct bufferevent *b;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return;
    evutil_make_socket_nonblocking(sv[0]);
    b = bufferevent_socket_new(W.base, sv[0], BEV_OPT_CLOSE_ON_FREE);
    r1 = bufferevent_write(b, "probe", 5);
    r2 = bufferevent_priority_set(b, W.npri - 1);
    DIFF_OUT("probe write -> %d, priority_set %d -> %d; get -> %d\n", r1,
        W.npri - 1, r2, bufferevent_get_priority(b));
    bufferevent_free(b);
    close(sv[1]);
}

static void
step(void)
{
    unsigned c = rnd(100);
    int i = pick_bev();
    struct slot *s;
    struct bufferevent *b;
    int r0;

    if (i < 0 || c < 1) {
        new_link(0);
        return;
    }
    s = &W.s[i];
    b = s->bev;
    errno = 0;
    if (c < 14) {
        size_t n = pick_size();
        int r = write_content(s, n);
        DIFF_OUT("write b%d %zu -> %d\n", i, n, r);
        show_len(i);
    } else if (c < 18) {
        struct evbuffer *tmp = evbuffer_new();
        size_t n = pick_size(), k;
        int r;
        for (k = 0; k < n; k++) {
            unsigned char ch = content(i, s->tx + k);
            evbuffer_add(tmp, &ch, 1);
        }
        r = bufferevent_write_buffer(b, tmp);
        if (r == 0)
            s->tx += n;
        DIFF_OUT("write_buffer b%d %zu -> %d left=%zu\n", i, n, r,
            evbuffer_get_length(tmp));
        evbuffer_free(tmp);
        show_len(i);
    } else if (c < 19) {
        DIFF_OUT("write marker b%d -> %d\n", i, bufferevent_write(b, "!", 1));
    } else if (c < 24) {
        size_t n = rnd(3) ? 1 + rnd(100) : 1 + rnd(10000);
        size_t got = drain_in(s, n);
        DIFF_OUT("read b%d %zu -> %zu\n", i, n, got);
    } else if (c < 27 && rnd(3) == 0) {
        int j = pick_bev();
        size_t n;
        if (j < 0 || j == i || !proxy_ok(s, &W.s[j]))
            return;
        r0 = proxy(s, &W.s[j], &n);
        DIFF_OUT("proxy b%d to b%d %zu -> %d\n", i, j, n, r0);
        show_len(j);
    } else if (c < 27) {
        struct evbuffer *tmp = evbuffer_new();
        int r = bufferevent_read_buffer(b, tmp);
        size_t len = evbuffer_get_length(tmp);
        unsigned char *p = evbuffer_pullup(tmp, -1);
        if (len)
            account_rx(s, p, len);
        DIFF_OUT("read_buffer b%d -> %d moved=%zu\n", i, r, len);
        evbuffer_free(tmp);
    } else if (c < 33) {
        short t = pick_iotype();
        int r = bufferevent_enable(b, t);
        DIFF_OUT("enable b%d %s -> %d en=%s\n", i, ioname(t), r,
            ioname(bufferevent_get_enabled(b)));
    } else if (c < 37) {
        short t = pick_iotype();
        int r = bufferevent_disable(b, t);
        DIFF_OUT("disable b%d %s -> %d en=%s\n", i, ioname(t), r,
            ioname(bufferevent_get_enabled(b)));
    } else if (c < 42) {
        short t = pick_iotype();
        size_t lo = pick_mark(), hi = pick_mark();
        if (hi && hi < lo) {
            size_t x = hi;
            hi = lo;
            lo = x;
        }
        if (s->kind == K_FILTER && rnd(4) == 0) {
            /* the underlying's write high watermark bounds what the
             * filter queues there (programs set it through
             * bufferevent_get_underlying) */
            bufferevent_setwatermark(bufferevent_get_underlying(b),
                EV_WRITE, lo, hi);
            DIFF_OUT("under-wm b%d W %zu %zu\n", i, lo, hi);
            return;
        }
        bufferevent_setwatermark(b, t, lo, hi);
        if (t & EV_READ)
            s->rhigh = hi;
        DIFF_OUT("setwatermark b%d %s %zu %zu\n", i, ioname(t), lo, hi);
        show_len(i);
    } else if (c < 47) {
        pick_modes(s);
        apply_cbs(s);
        DIFF_OUT("setcb b%d\n", i);
        print_modes(i);
        maybe_bufcbs(s);
    } else if (c < 52) {
        short t = pick_iotype();
        int m = (int)rnd(3), r;
        if (!opt_pair_flush_wm && m != BEV_NORMAL && pair_flush_wm(i, t))
            return;
        r = bufferevent_flush(b, t, (enum bufferevent_flush_mode)m);
        DIFF_OUT("flush b%d %s mode=%d -> %d\n", i, ioname(t), m, r);
        if (W.s[i].alive)
            show_len(i);
    } else if (c < 57) {
        short t = pick_iotype();
        int o = 0;
        if (rnd(2))
            o |= BEV_TRIG_IGNORE_WATERMARKS;
        if (rnd(2))
            o |= BEV_TRIG_DEFER_CALLBACKS;
        if (rnd(8) == 0)
            o |= BEV_OPT_CLOSE_ON_FREE; /* not a trigger option: ignored */
        DIFF_OUT("trigger b%d %s opts=0x%x\n", i, ioname(t), o);
        if (o & BEV_TRIG_DEFER_CALLBACKS)
            s->dq = 1;
        bufferevent_trigger(b, t, o);
    } else if (c < 61) {
        static const short whats[] = { BEV_EVENT_EOF | BEV_EVENT_READING,
            BEV_EVENT_ERROR | BEV_EVENT_WRITING, BEV_EVENT_CONNECTED,
            BEV_EVENT_TIMEOUT | BEV_EVENT_READING, BEV_EVENT_EOF, 0,
            BEV_EVENT_ERROR };
        short what = whats[rnd(sizeof(whats) / sizeof(whats[0]))];
        int o = rnd(2) ? BEV_TRIG_DEFER_CALLBACKS : 0;
        DIFF_OUT("trigger_event b%d what=0x%x opts=0x%x\n", i,
            (unsigned)what, o);
        if (o & BEV_TRIG_DEFER_CALLBACKS)
            s->dq = 1;
        bufferevent_trigger_event(b, what, o);
    } else if (c < 70) {
        act_raw();
    } else if (c < 72) {
        int fi = -1;
        evutil_socket_t fd = bufferevent_getfd(b);
        fi = fd_index(fd);
        if (fi >= 0 && rnd(2)) {
            DIFF_OUT("shutdown-wr b%d (fd%d) -> %d\n", i, fi,
                shutdown(fd, SHUT_WR));
        } else {
            if (!opt_free_anytime) {
                /* see cb_free: nothing deferred may be queued, not even
                 * what the frees after the loop queued (freeing a filter
                 * can move data on to a pair's partner) */
                int k;
                for (k = 0; k < 4; k++) {
                    do_loop(0);
                    if (W.broke || !s->alive || s->free_req)
                        return;
                    if (event_base_get_num_events(W.base,
                            EVENT_BASE_COUNT_ACTIVE) == 0)
                        break;
                }
                if (k == 4)
                    return;
            }
            DIFF_OUT("free b%d in=%zu out=%zu\n", i, inlen(b), outlen(b));
            free_slot(i);
        }
    } else if (c < 78) {
        act_misc(i);
    } else if (c < 79) {
        if (opt_setfd && (s->kind == K_SOCK ||
                (s->kind == K_FILTER && s->sockpath))) {
            evutil_socket_t fd = bufferevent_getfd(b);
            int r1, r2;
            if (fd < 0)
                return;
            r1 = bufferevent_setfd(b, -1);
            DIFF_OUT("setfd b%d -1 -> %d getfd -> fd%d\n", i, r1,
                fd_index(bufferevent_getfd(b)));
            r2 = bufferevent_setfd(b, fd);
            DIFF_OUT("setfd b%d fd%d -> %d en=%s\n", i, fd_index(fd), r2,
                ioname(bufferevent_get_enabled(b)));
        }
    } else if (c < 80) {
        if (opt_connect && s->kind == K_SOCK && !s->connect_done) {
            s->connect_done = 1;
            s->dq = 1;
            DIFF_OUT("connect(NULL) b%d -> %d\n", i,
                bufferevent_socket_connect(b, NULL, 0));
        }
    } else if (c < 94) {
        do_loop(0);
    } else if (c < 97) {
        do_loop(1);
    } else if (c < 99 && (c == 97 || W.ns > 20)) {
        /* every callback deferred at once: with many bufferevents this
         * passes the 32 deferred callbacks libevent runs per iteration */
        int k, o = BEV_TRIG_DEFER_CALLBACKS |
            (rnd(2) ? BEV_TRIG_IGNORE_WATERMARKS : 0);
        DIFF_OUT("trigger all RW opts=0x%x\n", o);
        for (k = 0; k < W.ns; k++)
            if (W.s[k].used && W.s[k].alive && !W.s[k].hidden &&
                !W.s[k].free_req) {
                W.s[k].dq = 1;
                bufferevent_trigger(W.s[k].bev, EV_READ | EV_WRITE, o);
            }
    } else if (opt_prio_probe && rnd(3) == 0) {
        prio_probe();
    } else {
        int k;
        DIFF_OUT("state\n");
        for (k = 0; k < W.ns; k++)
            if (W.s[k].used && W.s[k].alive && !W.s[k].hidden)
                show_len(k);
    }
}

/* -------------------------------------------------------------- scripts */

static void
run_seed(long seed, long steps)
{
    int i, nlinks, k;
    memset(&W, 0, sizeof(W));
    W.rng.s = (uint64_t)seed * 0x2545F4914F6CDD1DULL + 1;
    DIFF_OUT("seed %ld\n", seed);

    W.npri = rnd(3) == 0 && opt_prio ? 3 : 1;
    W.base = event_base_new();
    if (W.npri > 1)
        event_base_priority_init(W.base, W.npri);
    W.user = event_new(W.base, -1, 0, usercb, NULL);
    DIFF_OUT("base npri=%d\n", W.npri);

    if (opt_many && rnd(12) == 0) {
        /* Enough deferred bufferevents to pass libevent's 32 deferred
         * callbacks per loop iteration. */
        nlinks = 16 + (int)rnd(8);
        for (k = 0; k < nlinks; k++)
            new_link(1);
    } else {
        nlinks = 1 + (int)rnd(3);
        for (k = 0; k < nlinks; k++)
            new_link(0);
    }

    for (k = 0; k < steps; k++)
        step();

    /* settle */
    for (k = 0; k < 10; k++) {
        do_loop(0);
        if (!W.broke && k >= 2)
            break;
    }

    DIFF_OUT("end\n");
    for (i = 0; i < W.ns; i++) {
        struct slot *s = &W.s[i];
        if (!s->used)
            continue;
        if (s->alive && !s->hidden)
            DIFF_OUT("  b%d %s alive en=%s in=%zu out=%zu rx=%zu/%08x "
                "tx=%zu\n", i, kind_name[s->kind],
                ioname(bufferevent_get_enabled(s->bev)), inlen(s->bev),
                outlen(s->bev), s->rx, (unsigned)s->rxh, s->tx);
        else
            DIFF_OUT("  b%d %s %s rx=%zu/%08x tx=%zu\n", i,
                kind_name[s->kind], s->alive ? "hidden" : "freed", s->rx,
                (unsigned)s->rxh, s->tx);
    }
    for (i = 0; i < W.nf; i++) {
        struct fdent *f = &W.f[i];
        if (f->raw && f->open) {
            /* what is left for the hand-driven end */
            unsigned char buf[8192];
            ssize_t r;
            while ((r = read(f->fd, buf, sizeof(buf))) > 0) {
                f->rx += (size_t)r;
                f->rxh = fnv(f->rxh, buf, (size_t)r);
            }
        }
        if (f->raw)
            DIFF_OUT("  fd%d raw rx=%zu/%08x tx=%zu\n", i, f->rx,
                (unsigned)f->rxh, f->tx);
    }

    /* Free what is left, filters before what they sit on.  First silence
     * every callback and let the loop run dry, so that no deferred
     * callback is queued (see cb_free). */
    for (i = 0; i < W.ns; i++)
        if (W.s[i].used && W.s[i].alive && !W.s[i].hidden) {
            W.s[i].rmode = W.s[i].wmode = W.s[i].emode = -1;
            W.s[i].free_req = 0;
            apply_cbs(&W.s[i]);
        }
    for (k = 0; k < 10; k++) {
        do_loop(0);
        if (!W.broke)
            break;
    }
    for (i = W.ns - 1; i >= 0; i--)
        if (W.s[i].used && W.s[i].alive && !W.s[i].hidden)
            free_slot(i);
    for (k = 0; k < 2; k++)
        do_loop(0);
    event_free(W.user);
    event_base_free(W.base);
    for (i = 0; i < W.nf; i++)
        if (W.f[i].used && W.f[i].open)
            close(W.f[i].fd);
    DIFF_OUT("done\n");
}


int
main(int argc, char **argv)
{
    long seeds = diff_opt(argc, argv, "seeds", 600);
    long first = diff_opt(argc, argv, "first", 0);
    long steps = diff_opt(argc, argv, "steps", 120);
    long n;

    opt_chunks = !diff_has_flag(argc, argv, "--no-chunks");
    opt_errno = !diff_has_flag(argc, argv, "--no-errno");
    opt_ftrace = !diff_has_flag(argc, argv, "--no-filter-trace");
    opt_threadsafe = !diff_has_flag(argc, argv, "--no-threadsafe");
    opt_connect = !diff_has_flag(argc, argv, "--no-connect");
    opt_many = !diff_has_flag(argc, argv, "--no-many");
    opt_setfd = !diff_has_flag(argc, argv, "--no-setfd");
    opt_unlockcb = !diff_has_flag(argc, argv, "--no-unlock-cb");
    opt_wto = !diff_has_flag(argc, argv, "--no-write-timeouts");
    opt_prio_probe = !diff_has_flag(argc, argv, "--no-prio-probe");
    opt_pair_flush_wm = diff_has_flag(argc, argv, "--pair-flush-wm");
    opt_gto = diff_has_flag(argc, argv, "--generic-timeouts");
    opt_free_anytime = diff_has_flag(argc, argv, "--free-anytime");
    opt_prio = !diff_has_flag(argc, argv, "--no-priorities");
    opt_bufcb = !diff_has_flag(argc, argv, "--no-buffer-cbs");
    opt_wm_proxy = !diff_has_flag(argc, argv, "--no-wm-proxy");

    signal(SIGPIPE, SIG_IGN);
    if (diff_has_flag(argc, argv, "--unbuffered"))
        setvbuf(stdout, NULL, _IONBF, 0);
    else
        setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    diff_print_lib();
    event_set_log_callback(logcb);
    for (n = first; n < first + seeds; n++)
        run_seed(n, steps);
    fflush(stdout);
    return 0;
}

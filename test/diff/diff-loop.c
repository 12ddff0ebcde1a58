/*
 * diff-loop.c: differential test of the event_base loop (run-diff.sh runs
 * it on our libraries and on Debian's libevent 2.1.12 and compares).
 *
 * Each seed builds one base (event_base_new, or event_base_new_with_config
 * with NOLOCK / EPOLL_USE_CHANGELIST / PRECISE_TIMER / NO_CACHE_TIME and
 * maybe event_config_set_max_dispatch_interval(cfg, NULL, callbacks,
 * min_priority)), gives it 1 to 4 priorities, maybe common timeouts of
 * {0,0} and one hour, opens 2 to 5 AF_UNIX socketpairs (ends S0..S9, some
 * edge-triggered) and runs a script drawn from the seed over a table of
 * events E0..E9: fd -1 events (made active, or timers), read / write /
 * closed events on socket ends, signal events on SIGUSR1 and SIGUSR2,
 * from event_new or event_assign, some with event_self_cbarg().  Steps,
 * outside the loop and from callbacks: event_add (no timeout, {0,0}, one
 * hour, the common ones), event_del (and _block, _noblock), event_active
 * (res, ncalls 0 to 3), event_priority_set, event_pending,
 * event_remove_timer, event_free (the running event too, then event_new in
 * its place), event_finalize / event_free_finalize, event_base_once
 * (timers, read/write on ends, bad combinations), loopbreak, loopcontinue,
 * loopexit, got_break/got_exit, get_num_events / get_max_events, the
 * event_get_* accessors, event_base_active_by_fd / _by_signal,
 * event_base_foreach_event, event_base_get_running_event, a reentrant
 * event_base_loop, socket writes, reads, shutdown and close, raise(); and
 * event_base_loop calls with NONBLOCK, ONCE, NO_EXIT_ON_EMPTY and 0.
 * Callbacks print themselves ("cb E3 S2 what=0x02", "once O1 ...", "fin
 * E4") and act in turn, so a difference in the order callbacks run
 * changes the rest of the trace at once.
 *
 * Nothing printed depends on time or the scheduler:
 *  - timeouts are {0,0} (they fire on the next pass) or one hour (never
 *    fire); at most --zero=2 {0,0} timeouts are in the timer heap at once
 *    (the common {0,0} queue's own timer counting as one), since with
 *    three, equal expiry times (the clock did not tick between two adds)
 *    let a heap order them differently from one run to the next;
 *  - EVLOOP_NONBLOCK loops run as they are; EVLOOP_ONCE without it only
 *    when a {0,0} timeout is pending or after making an event active, and
 *    neither after a raise() nor with common timeouts (a ONCE loop whose
 *    last pass ran only internal callbacks, the signal pipe's or a common
 *    timeout queue's, goes on and waits for the next timer, in both
 *    libraries); flags 0 / EVLOOP_NO_EXIT_ON_EMPTY only after a loopexit
 *    or a {0,0} once callback that calls loopbreak.  A 2 s timer guards
 *    these loops anyway (it would print "WATCHDOG");
 *  - a loop call that has run CB_LIMIT callbacks is broken
 *    ("safety-break"): always-ready persistent events never let a
 *    NONBLOCK loop end;
 *  - SIGUSR1/SIGUSR2 get a handler that does nothing, which the library
 *    saves and restores around its own, so raise() is always harmless.
 *
 * Known differences from libevent 2.1.12, each with a --no-... switch
 * that keeps the generator away from it (--skip-known sets them all; the
 * list in main() says which): foreach visiting internal events, a
 * persistent event whose {0,0} timeout expires, EPOLLERR for EV_CLOSED
 * events, EV_TIMEOUT activation of a persistent event in its own
 * callback, event_add of an active event that is not added, a stale
 * persistent timeout re-armed, get_max_events, active_by_fd in a
 * callback, a signal event made active again in its own callback.
 *
 * Situations where libevent 2.1.12 itself misbehaves are left out:
 *  - a signal event deleted in its own callback with calls left keeps
 *    ev_pncalls pointing into a dead stack frame; a later event_del
 *    writes through it, so such an event is made active first ("heal");
 *  - event_remove_timer on a signal event with a timeout clears its
 *    ncalls (ev_io_timeout shares their bytes): not done;
 *  - a signal event made active again in its own callback cannot be
 *    stopped by event_del, so freeing it there reads freed memory: a
 *    running signal event is not freed or finalized;
 *  - event_base_get_running_event after the running event was freed, or
 *    outside a callback, reads freed memory or NULL: not done;
 *  - event_base_free reads an event after its finalizer returns, so an
 *    event_assign'ed event finalized then is freed after the base;
 *  - EV_ET and level-triggered events on one fd (undefined; ours refuses
 *    them): an end is edge-triggered for all its events or none, and
 *    event_base_once (which drops EV_ET) uses only level-triggered ends.
 *
 * Options: --seeds=N (5000) --first=N (1) --steps=N (60) --zero=N,
 * --unbuffered, --skip-known, --help, and the --no-... switches.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include <event2/event.h>

#include "diff-common.h"

#define NSLOT 10
#define NEND_MAX 10
#define NONCE_MAX 256
#define CB_LIMIT 40

enum { K_NOFD, K_IO, K_SIG };
enum { T_NONE, T_ZERO, T_HOUR, T_CZERO, T_CHOUR };

struct slot {
    struct event *ev;
    int kind;
    int end;          /* K_IO: socket end index */
    int signo;        /* K_SIG */
    short events;
    int assigned;     /* malloc + event_assign, freed by us */
    int selfarg;      /* callback argument is event_self_cbarg() */
    int finalizing;   /* finalize called, finalizer not yet run */
    int tkind;        /* timeout given to the last event_add with one */
    int tainted;      /* signal event deleted in its own callback */
    int maybe_active; /* may be active without being added (--no-add-active) */
};

struct once_info {
    int end;          /* socket end it waits on, or -1 */
    int brk;          /* calls event_base_loopbreak */
};

static struct {
    struct event_base *base;
    struct diff_rng rng;
    int npri;
    struct slot s[NSLOT];
    int nend;
    int fd[NEND_MAX];
    int closed[NEND_MAX], shutwr[NEND_MAX], et[NEND_MAX], oncepend[NEND_MAX];
    unsigned wseq;
    int in_loop, cbcount, cleanup;
    int cur_slot;     /* slot whose callback is running, or -1 */
    int self_pick;    /* pick_live returns cur_slot (act_self) */
    int cur_freed;    /* the running event was freed in this callback */
    int in_basefree;
    int raised;       /* raise() was called in this script */
    int once_wait;    /* in an EVLOOP_ONCE loop without NONBLOCK */
    struct event *deferred[NSLOT];
    int ndeferred;
    int in_event_cb;  /* inside an event (not finalizer) callback */
    int nonce;
    struct once_info once[NONCE_MAX + 1];
    struct event *watchdog;
    /* event_base_init_common_timeout results for {0,0} and one hour */
    const struct timeval *ctv_zero, *ctv_hour;
    /* options */
    int zero_max;
    int no_signals, no_finalize, no_changelist, no_counts, no_reentrant,
        no_assign, no_selfarg, no_foreach, no_once, no_et, no_closed,
        no_config, no_maxcb, no_byfd, no_running, no_close, no_ncalls,
        no_prio, no_ncalls0, no_exitonempty, no_raise, no_persist_zero,
        no_foreach_internal, no_reset, no_rearm_active, no_add_active,
        no_stale_timeout, no_max_counts, no_byfd_in_cb, no_common,
        no_sig_self_active;
} G;

static const struct timeval tv_zero = {0, 0};
static const struct timeval tv_hour = {3600, 0};

static unsigned
R(unsigned n)
{
    return diff_below(&G.rng, n);
}

static void ev_cb(evutil_socket_t fd, short what, void *arg);
static void once_cb(evutil_socket_t fd, short what, void *arg);
static void fin_cb(struct event *ev, void *arg);
static void inner_actions(void);
static void heal(int i);

static void
noop_handler(int signo)
{
    (void)signo;
}

static void
quiet_log(int severity, const char *msg)
{
    (void)severity;
    (void)msg;
}

static const char *
errname(int e)
{
    static char buf[32];
    switch (e) {
    case EAGAIN: return "EAGAIN";
    case ECONNRESET: return "ECONNRESET";
    case EPIPE: return "EPIPE";
    case EBADF: return "EBADF";
    case ENOTCONN: return "ENOTCONN";
    default:
        snprintf(buf, sizeof(buf), "errno%d", e);
        return buf;
    }
}

static const char *
signame(int signo)
{
    return signo == SIGUSR1 ? "USR1" : signo == SIGUSR2 ? "USR2" : "SIG?";
}

/* Name of an fd argument: "S3" for socket end 3, "-1", or "fd?". */
static const char *
fdname(evutil_socket_t fd, char *buf, size_t len)
{
    int i;
    if (fd == -1)
        return "-1";
    for (i = 0; i < G.nend; i++) {
        if (G.fd[i] == fd) {
            snprintf(buf, len, "S%d", i);
            return buf;
        }
    }
    return "fd?";
}

static int
slot_of_event(const struct event *ev)
{
    int i;
    for (i = 0; i < NSLOT; i++)
        if (ev != NULL && G.s[i].ev == ev)
            return i;
    return -1;
}

static void *
slot_arg(int i)
{
    return (void *)(intptr_t)(i + 1);
}

static int
live(int i)
{
    return G.s[i].ev != NULL && !G.s[i].finalizing;
}

/* A random live (not finalizing) slot; inside an event callback, the
 * running slot often. */
static int
pick_live(void)
{
    int cand[NSLOT], n = 0, i;
    if (G.self_pick)
        return G.cur_slot;
    if (G.cur_slot >= 0 && live(G.cur_slot) && R(100) < 35)
        return G.cur_slot;
    for (i = 0; i < NSLOT; i++)
        if (live(i))
            cand[n++] = i;
    return n ? cand[R(n)] : -1;
}

static int
pick_empty(void)
{
    int cand[NSLOT], n = 0, i;
    for (i = 0; i < NSLOT; i++)
        if (G.s[i].ev == NULL)
            cand[n++] = i;
    return n ? cand[R(n)] : -1;
}

static int
pick_open_end(void)
{
    int cand[NEND_MAX], n = 0, i;
    for (i = 0; i < G.nend; i++)
        if (!G.closed[i])
            cand[n++] = i;
    return n ? cand[R(n)] : -1;
}

/* Events with a {0,0} timeout pending, other than slot except. */
static int
zero_pending(int except)
{
    int i, n = 0;
    for (i = 0; i < NSLOT; i++)
        if (i != except && live(i) && G.s[i].tkind == T_ZERO &&
            event_pending(G.s[i].ev, EV_TIMEOUT, NULL))
            n++;
    return n;
}

/* ---- callbacks ---- */

/* Count one callback of the current loop call; break the loop at
 * CB_LIMIT.  Returns whether the callback may still act. */
static int
cb_enter(void)
{
    if (!G.in_loop)
        return !G.cleanup;
    G.cbcount++;
    if (G.cbcount == CB_LIMIT) {
        DIFF_OUT("safety-break\n");
        event_base_loopbreak(G.base);
    }
    return G.cbcount < CB_LIMIT && !G.cleanup;
}

static void
ev_cb(evutil_socket_t fd, short what, void *arg)
{
    int i, saved_slot = G.cur_slot, saved_in = G.in_event_cb;
    int saved_freed = G.cur_freed;
    char buf[16];
    const char *fds;

    if ((uintptr_t)arg >= 1 && (uintptr_t)arg <= NSLOT)
        i = (int)(intptr_t)arg - 1;
    else
        i = slot_of_event(arg);
    if (i >= 0 && G.s[i].kind == K_SIG && fd == G.s[i].signo)
        fds = signame((int)fd);
    else
        fds = fdname(fd, buf, sizeof(buf));
    if (i < 0)
        DIFF_OUT("cb E? %s what=0x%02x\n", fds, (unsigned)(unsigned short)what);
    else
        DIFF_OUT("cb E%d %s what=0x%02x\n", i, fds,
            (unsigned)(unsigned short)what);
    if (i >= 0)
        G.s[i].tainted = G.s[i].maybe_active = 0;
    if (cb_enter()) {
        G.cur_slot = i;
        G.in_event_cb = 1;
        G.cur_freed = 0;
        inner_actions();
    }
    G.cur_slot = saved_slot;
    G.in_event_cb = saved_in;
    G.cur_freed = saved_freed;
}

static void
once_cb(evutil_socket_t fd, short what, void *arg)
{
    int id = (int)(intptr_t)arg;
    int saved_slot = G.cur_slot, saved_in = G.in_event_cb;
    int saved_freed = G.cur_freed;
    char buf[16];

    DIFF_OUT("once O%d %s what=0x%02x%s\n", id, fdname(fd, buf, sizeof(buf)),
        (unsigned)(unsigned short)what, G.once[id].brk ? " break" : "");
    if (G.once[id].end >= 0) {
        G.oncepend[G.once[id].end]--;
        G.once[id].end = -1;
    }
    if (G.once[id].brk)
        DIFF_OUT("loopbreak -> %d\n", event_base_loopbreak(G.base));
    if (cb_enter()) {
        G.cur_slot = -1;
        G.in_event_cb = 1;
        G.cur_freed = 0;
        inner_actions();
    }
    G.cur_slot = saved_slot;
    G.in_event_cb = saved_in;
    G.cur_freed = saved_freed;
}

static void
fin_cb(struct event *ev, void *arg)
{
    int i = slot_of_event(ev);
    (void)arg;
    DIFF_OUT("fin E%d\n", i);
    if (G.in_loop)
        cb_enter();
    if (i >= 0) {
        /* Inside event_base_free, libevent 2.1.12 reads the event after
         * its finalizer returns (event_base_cancel_single_callback_ reads
         * evcb_closure; so does ours): free it only after the base. */
        if (G.s[i].assigned && G.in_basefree)
            G.deferred[G.ndeferred++] = ev;
        else if (G.s[i].assigned)
            free(ev);
        memset(&G.s[i], 0, sizeof(G.s[i]));
    }
}

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    DIFF_OUT("WATCHDOG active=%d added=%d\n",
        event_base_get_num_events(G.base, EVENT_BASE_COUNT_ACTIVE),
        event_base_get_num_events(G.base, EVENT_BASE_COUNT_ADDED));
    event_base_loopbreak(G.base);
}

struct foreach_acc {
    int seen[NSLOT];
    int others;       /* once events and the like: fd -1 or one of ours */
    int internal;     /* fd none of ours: the signal pipe's event */
};

static int
foreach_cb(const struct event_base *base, const struct event *ev, void *arg)
{
    struct foreach_acc *acc = arg;
    int i = slot_of_event(ev);
    (void)base;
    if (ev == G.watchdog)
        return 0;
    if (i >= 0) {
        acc->seen[i]++;
    } else {
        char buf[16];
        evutil_socket_t fd = event_get_fd(ev);
        if (fd == -1 || strcmp(fdname(fd, buf, sizeof(buf)), "fd?") != 0)
            acc->others++;
        else
            acc->internal++;
    }
    return 0;
}

/* ---- actions ---- */

static const char *
tvname(const struct timeval *tv)
{
    if (tv == NULL)
        return "null";
    if (tv == G.ctv_zero)
        return "c0";
    if (tv == G.ctv_hour)
        return "c1h";
    return tv->tv_sec == 0 ? "0" : "1h";
}

static void
create_event(int i)
{
    struct slot *s = &G.s[i];
    int kind = (int)R(10), end = -1;
    evutil_socket_t fd = -1;
    short events;
    void *arg;
    char buf[16];
    static const short io_kinds[8] = {EV_READ, EV_READ, EV_READ, EV_WRITE,
        EV_READ | EV_WRITE, EV_CLOSED, EV_READ | EV_CLOSED,
        EV_READ | EV_CLOSED};

    memset(s, 0, sizeof(*s));
    if (kind >= 8 && G.no_signals)
        kind = 0;
    if (kind >= 3 && kind < 8) {
        end = pick_open_end();
        if (end < 0)
            kind = 0;
    }
    if (kind < 3) {
        s->kind = K_NOFD;
        events = R(2) ? EV_PERSIST : 0;
    } else if (kind < 8) {
        s->kind = K_IO;
        s->end = end;
        fd = G.fd[end];
        events = io_kinds[R(8)];
        if (G.no_closed && (events & EV_CLOSED))
            events = EV_READ;
        /* Persistent write events fire on every pass: keep them rare. */
        if ((events & EV_WRITE) ? R(4) == 0 : R(2) == 0)
            events |= EV_PERSIST;
        if (G.et[end])
            events |= EV_ET;
    } else {
        s->kind = K_SIG;
        s->signo = R(2) ? SIGUSR1 : SIGUSR2;
        fd = s->signo;
        events = EV_SIGNAL | (R(2) ? EV_PERSIST : 0);
    }
    s->events = events;
    s->assigned = !G.no_assign && R(4) == 0;
    s->selfarg = !G.no_selfarg && R(4) == 0;
    arg = s->selfarg ? event_self_cbarg() : slot_arg(i);

    DIFF_OUT("new E%d %s %s ev=0x%02x%s%s", i,
        s->kind == K_NOFD ? "nofd" : s->kind == K_IO ? "io" : "sig",
        s->kind == K_SIG ? signame(s->signo) : fdname(fd, buf, sizeof(buf)),
        (unsigned)events, s->assigned ? " assign" : "",
        s->selfarg ? " self" : "");
    if (s->assigned) {
        size_t size = event_get_struct_event_size();
        struct event *ev = malloc(size);
        int r;
        if (ev == NULL)
            abort();
        memset(ev, 0xa5, size);
        r = event_assign(ev, G.base, fd, events, ev_cb, arg);
        DIFF_OUT(" -> %d", r);
        if (r != 0) {
            free(ev);
            DIFF_OUT("\n");
            memset(s, 0, sizeof(*s));
            return;
        }
        s->ev = ev;
    } else {
        s->ev = event_new(G.base, fd, events, ev_cb, arg);
        if (s->ev == NULL) {
            DIFF_OUT(" -> NULL\n");
            memset(s, 0, sizeof(*s));
            return;
        }
        DIFF_OUT(" -> ok");
    }
    DIFF_OUT(" pri=%d init=%d\n", event_get_priority(s->ev),
        event_initialized(s->ev));
}

static void
free_slot(int i)
{
    struct slot *s = &G.s[i];
    heal(i);
    if (i == G.cur_slot)
        G.cur_freed = 1;
    if (s->assigned) {
        int r = event_del(s->ev);
        DIFF_OUT("free E%d del -> %d\n", i, r);
        free(s->ev);
    } else {
        DIFF_OUT("free E%d\n", i);
        event_free(s->ev);
    }
    memset(s, 0, sizeof(*s));
}

static void
act_new(void)
{
    int i = pick_empty();
    if (i >= 0)
        create_event(i);
}

static void
act_add(void)
{
    int i = pick_live(), r, k;
    const struct timeval *tv;
    if (i < 0)
        return;
    if (G.s[i].kind == K_IO && G.closed[G.s[i].end])
        return;
    /* {0,0} timeouts in the heap: at most zero_max at once, one of them
     * the common {0,0} queue's own timer once that queue is in use. */
    k = (int)R(10);
    if (k < 4) {
        tv = NULL;
    } else if (k < 6) {
        tv = zero_pending(i) + (G.ctv_zero != NULL) < G.zero_max ?
            &tv_zero : NULL;
    } else if (k < 7) {
        tv = G.ctv_zero != NULL ? G.ctv_zero : NULL;
    } else if (k < 9 || G.ctv_hour == NULL) {
        tv = &tv_hour;
    } else {
        tv = G.ctv_hour;
    }
    if ((tv == &tv_zero || (tv != NULL && tv == G.ctv_zero)) &&
        G.no_persist_zero && (G.s[i].events & EV_PERSIST))
        tv = NULL;
    /* --no-add-active: an I/O or signal event that is active without
     * being added (made active, or its {0,0} timeout may have expired,
     * and its callback has not run since) is not added for I/O or
     * signals by libevent's event_add: keep away from it. */
    if (G.no_add_active && G.s[i].kind != K_NOFD &&
        (G.s[i].maybe_active || G.s[i].tainted))
        return;
    if (G.no_stale_timeout && tv == NULL && (G.s[i].events & EV_PERSIST)) {
        if (G.s[i].tkind == T_HOUR)
            tv = &tv_hour;
        else if (G.s[i].tkind == T_CHOUR)
            tv = G.ctv_hour;
        else if (G.s[i].tkind == T_CZERO)
            tv = G.ctv_zero; /* its tv_usec holds magic bits: stale too */
    }
    if (tv != NULL)
        heal(i);
    r = event_add(G.s[i].ev, tv);
    if (tv == &tv_zero || (tv != NULL && tv == G.ctv_zero))
        G.s[i].maybe_active = 1;
    if (tv != NULL)
        G.s[i].tkind = tv == &tv_zero ? T_ZERO : tv == &tv_hour ? T_HOUR :
            tv == G.ctv_zero ? T_CZERO : T_CHOUR;
    DIFF_OUT("add E%d tv=%s -> %d\n", i, tvname(tv), r);
}

static void
act_del(void)
{
    int i = pick_live(), r, k;
    if (i < 0)
        return;
    heal(i);
    k = (int)R(4);
    r = k == 0 ? event_del_noblock(G.s[i].ev) :
        k == 1 ? event_del_block(G.s[i].ev) : event_del(G.s[i].ev);
    G.s[i].maybe_active = 0;
    DIFF_OUT("del%s E%d -> %d\n", k == 0 ? "_noblock" : k == 1 ? "_block" : "",
        i, r);
    if (i == G.cur_slot && G.s[i].kind == K_SIG)
        G.s[i].tainted = 1;
}

static void
activate_res(int i, short res, short ncalls)
{
    G.s[i].maybe_active = 1;
    DIFF_OUT("active E%d res=0x%02x n=%d\n", i, (unsigned)res, ncalls);
    event_active(G.s[i].ev, res, ncalls);
}

static void
activate(int i)
{
    static const short resv[7] = {EV_READ, EV_WRITE, EV_TIMEOUT, EV_SIGNAL,
        EV_READ | EV_WRITE, EV_CLOSED, EV_TIMEOUT | EV_READ};
    short res = resv[R(7)];
    short ncalls = (short)(1 + R(3));
    if (!G.no_ncalls0 && R(6) == 0)
        ncalls = 0;
    if (G.no_ncalls && G.s[i].kind == K_SIG)
        ncalls = 1;
    if (G.no_rearm_active && i == G.cur_slot &&
        (G.s[i].events & EV_PERSIST) && (res & EV_TIMEOUT))
        res = EV_READ;
    activate_res(i, res, ncalls);
}

/* libevent 2.1.12 leaves ev_pncalls pointing into event_signal_closure's
 * dead frame when a signal event is deleted in its own callback with calls
 * left: a later event_del (or event_free, event_finalize, or event_add with
 * a timeout on it while active by timeout) writes through it.  An
 * activation resets it, so a tainted slot is made active first.  (Our
 * library clears the pointer; the crash is libevent's, not behaviour to
 * compare.) */
static void
heal(int i)
{
    if (!G.s[i].tainted)
        return;
    G.s[i].tainted = 0;
    DIFF_OUT("heal ");
    activate_res(i, EV_SIGNAL, 1);
}

/* A signal event running its callback (in a loop of ncalls calls) that
 * is made active again: see --no-sig-self-active. */
static int
sig_self(int i)
{
    return G.no_sig_self_active && i == G.cur_slot && G.s[i].kind == K_SIG;
}

static void
act_active(void)
{
    int i = pick_live();
    if (i >= 0 && !sig_self(i))
        activate(i);
}

static void
act_prio(void)
{
    int i = pick_live(), pri;
    if (i < 0)
        return;
    pri = (int)R((unsigned)G.npri + 2) - 1;
    DIFF_OUT("prio E%d %d -> %d\n", i, pri, event_priority_set(G.s[i].ev, pri));
}

static void
act_pending(void)
{
    int i = pick_live();
    short mask = EV_TIMEOUT | EV_READ | EV_WRITE | EV_SIGNAL | EV_CLOSED;
    struct timeval tv;
    if (i < 0)
        return;
    if (R(3) == 0)
        mask = (short)(mask & (short)(1 + R(0x7f)));
    /* With a timeval sometimes, for the code path; it is not printed. */
    DIFF_OUT("pending E%d 0x%02x -> 0x%02x\n", i, (unsigned)mask,
        (unsigned)event_pending(G.s[i].ev, mask, R(2) ? &tv : NULL));
}

/* Not on a signal event with a timeout: libevent 2.1.12's
 * event_remove_timer clears ev_.ev_io.ev_timeout, which shares its bytes
 * with ev_.ev_signal.ev_ncalls and ev_pncalls, so the calls an active
 * signal event has left are lost (memory aliasing, not behaviour). */
static void
act_remove_timer(void)
{
    int i = pick_live();
    if (i >= 0 && G.s[i].kind == K_SIG &&
        event_pending(G.s[i].ev, EV_TIMEOUT, NULL))
        return;
    if (i >= 0)
        DIFF_OUT("remove_timer E%d -> %d\n", i, event_remove_timer(G.s[i].ev));
}

static void
act_write(void)
{
    int e = pick_open_end(), n, k;
    unsigned char buf[16];
    ssize_t r;
    if (e < 0)
        return;
    n = 1 + (int)R(12);
    for (k = 0; k < n; k++)
        buf[k] = (unsigned char)(G.wseq++ * 37u + 11u);
    r = write(G.fd[e], buf, (size_t)n);
    if (r < 0)
        DIFF_OUT("write S%d n=%d -> -1 %s\n", e, n, errname(errno));
    else
        DIFF_OUT("write S%d n=%d -> %d\n", e, n, (int)r);
}

static void
act_read(void)
{
    int e = pick_open_end(), n, k;
    unsigned char buf[16];
    unsigned h = 2166136261u;
    ssize_t r;
    if (e < 0)
        return;
    n = 1 + (int)R(16);
    r = read(G.fd[e], buf, (size_t)n);
    if (r < 0) {
        DIFF_OUT("read S%d n=%d -> -1 %s\n", e, n, errname(errno));
        return;
    }
    for (k = 0; k < r; k++)
        h = (h ^ buf[k]) * 16777619u;
    DIFF_OUT("read S%d n=%d -> %d h=%08x\n", e, n, (int)r, h);
}

static void
act_shutdown(void)
{
    int e = pick_open_end(), r;
    if (e < 0 || G.shutwr[e])
        return;
    r = shutdown(G.fd[e], SHUT_WR);
    G.shutwr[e] = 1;
    DIFF_OUT("shutdown S%d -> %d\n", e, r);
}

static void
act_close(void)
{
    int e = pick_open_end(), i;
    if (e < 0 || G.oncepend[e] > 0)
        return;
    if (G.no_reset) {
        /* Closing with unread data resets the peer (EPOLLERR). */
        unsigned char buf[256];
        int n = 0;
        ssize_t r;
        while ((r = read(G.fd[e], buf, sizeof(buf))) > 0)
            n += (int)r;
        DIFF_OUT("drain S%d -> %d\n", e, n);
    }
    DIFF_OUT("close S%d\n", e);
    for (i = 0; i < NSLOT; i++)
        if (live(i) && G.s[i].kind == K_IO && G.s[i].end == e) {
            DIFF_OUT("del E%d -> %d\n", i, event_del(G.s[i].ev));
            G.s[i].maybe_active = 0;
        }
    close(G.fd[e]);
    G.closed[e] = 1;
}

/* SIGUSR1/SIGUSR2 have a handler that does nothing (main), which the
 * library saves and restores around its own: a raise while no event
 * waits for the signal is harmless. */
static void
act_raise(void)
{
    int signo = R(2) ? SIGUSR1 : SIGUSR2;
    if (G.once_wait)
        return;
    G.raised = 1;
    DIFF_OUT("raise %s\n", signame(signo));
    raise(signo);
}

static void
act_break(void)
{
    DIFF_OUT("loopbreak -> %d\n", event_base_loopbreak(G.base));
}

static void
act_continue(void)
{
    DIFF_OUT("loopcontinue -> %d\n", event_base_loopcontinue(G.base));
}

static void
act_exit(void)
{
    int k = (int)R(2);
    DIFF_OUT("loopexit %s -> %d\n", k ? "null" : "0",
        event_base_loopexit(G.base, k ? NULL : &tv_zero));
}

static void
act_got(void)
{
    DIFF_OUT("got break=%d exit=%d\n", event_base_got_break(G.base),
        event_base_got_exit(G.base));
}

/* A signal event freed or finalized in its own callback: libevent 2.1.12
 * goes on calling the callback for the calls left (reading the freed
 * event) once the event was made active again in that callback, since the
 * activation forgets the pointer event_del uses to stop the calls. */
static int
running_signal(int i)
{
    return i == G.cur_slot && G.s[i].kind == K_SIG;
}

static void
act_free(void)
{
    int i = pick_live();
    if (i >= 0 && !running_signal(i))
        free_slot(i);
}

static void
act_free_self_new(void)
{
    int i = G.cur_slot;
    if (i < 0 || !live(i) || running_signal(i))
        return;
    free_slot(i);
    create_event(i);
}

/* event_base_once; brk: a {0,0} timer whose callback calls loopbreak. */
static int
do_once(int brk)
{
    int id, k, e = -1, r;
    short events;
    const struct timeval *tv = NULL;
    const char *what;
    evutil_socket_t fd = -1;
    char buf[16];

    if (G.nonce >= NONCE_MAX)
        return -1;
    id = ++G.nonce;
    G.once[id].end = -1;
    G.once[id].brk = brk;
    k = brk ? 0 : (int)R(10);
    if (k >= 5 && k < 9) {
        /* event_base_once drops EV_ET: never on an edge-triggered end,
         * where it would mix modes on one fd. */
        e = pick_open_end();
        if (e < 0 || G.et[e])
            k = 0, e = -1;
    }
    if (k < 4) {
        events = EV_TIMEOUT;
        tv = R(2) ? NULL : &tv_zero;
        what = tv ? "timer0" : "timernull";
    } else if (k == 4) {
        events = EV_TIMEOUT;
        tv = &tv_hour;
        what = "timer1h";
    } else if (k < 7) {
        events = EV_READ;
        fd = G.fd[e];
        what = "read";
    } else if (k < 9) {
        events = EV_WRITE;
        fd = G.fd[e];
        what = "write";
    } else if (R(2)) {
        events = EV_SIGNAL;
        fd = SIGUSR1;
        what = "signal";
    } else {
        events = EV_TIMEOUT | EV_PERSIST;
        tv = &tv_zero;
        what = "persist";
    }
    r = event_base_once(G.base, fd, events, once_cb, (void *)(intptr_t)id, tv);
    DIFF_OUT("once O%d %s %s -> %d\n", id, what,
        e >= 0 ? fdname(fd, buf, sizeof(buf)) : "-", r);
    if (r == 0 && e >= 0) {
        G.once[id].end = e;
        G.oncepend[e]++;
    }
    return r;
}

static void
act_once(void)
{
    do_once(0);
}

static void
act_finalize(void)
{
    int i = pick_live(), r;
    if (i < 0 || running_signal(i))
        return;
    heal(i);
    if (G.s[i].assigned)
        r = event_finalize(0, G.s[i].ev, fin_cb);
    else
        r = event_free_finalize(0, G.s[i].ev, fin_cb);
    G.s[i].finalizing = 1;
    DIFF_OUT("%s E%d -> %d\n",
        G.s[i].assigned ? "finalize" : "free_finalize", i, r);
}

static void
act_counts(void)
{
    DIFF_OUT("counts active=%d added=%d virtual=%d all=%d\n",
        event_base_get_num_events(G.base, EVENT_BASE_COUNT_ACTIVE),
        event_base_get_num_events(G.base, EVENT_BASE_COUNT_ADDED),
        event_base_get_num_events(G.base, EVENT_BASE_COUNT_VIRTUAL),
        event_base_get_num_events(G.base, EVENT_BASE_COUNT_ACTIVE |
            EVENT_BASE_COUNT_ADDED | EVENT_BASE_COUNT_VIRTUAL));
    if (R(3) == 0 && !G.no_max_counts) {
        int clear = (int)R(2);
        int a = event_base_get_max_events(G.base, EVENT_BASE_COUNT_ACTIVE,
            clear);
        int d = event_base_get_max_events(G.base, EVENT_BASE_COUNT_ADDED,
            clear);
        int v = event_base_get_max_events(G.base, EVENT_BASE_COUNT_VIRTUAL,
            clear);
        DIFF_OUT("max active=%d added=%d virtual=%d clear=%d\n", a, d, v,
            clear);
    }
}

static void
act_info(void)
{
    int i = pick_live();
    struct event *ev;
    char buf[16];
    void *want;
    if (i < 0)
        return;
    ev = G.s[i].ev;
    want = G.s[i].selfarg ? (void *)ev : slot_arg(i);
    DIFF_OUT("info E%d pri=%d events=0x%02x init=%d fd=%s cb=%d arg=%d "
        "base=%d\n", i, event_get_priority(ev),
        (unsigned)event_get_events(ev), event_initialized(ev),
        G.s[i].kind == K_SIG ? signame((int)event_get_fd(ev)) :
            fdname(event_get_fd(ev), buf, sizeof(buf)),
        event_get_callback(ev) == ev_cb, event_get_callback_arg(ev) == want,
        event_get_base(ev) == G.base);
}

static void
act_byfd(void)
{
    int e = pick_open_end(), i;
    /* Often the end of an I/O event of the table, likelier to be ready. */
    if (R(2) && (i = pick_live()) >= 0 && G.s[i].kind == K_IO &&
        !G.closed[G.s[i].end])
        e = G.s[i].end;
    unsigned bits = 1 + R(7);
    short events = (short)(((bits & 1) ? EV_READ : 0) |
        ((bits & 2) ? EV_WRITE : 0) | ((bits & 4) ? EV_CLOSED : 0));
    if (e < 0 || (G.no_byfd_in_cb && G.in_loop))
        return;
    if (G.no_closed)
        events &= (short)~EV_CLOSED;
    if (events == 0)
        events = EV_READ;
    DIFF_OUT("active_by_fd S%d 0x%02x\n", e, (unsigned)events);
    event_base_active_by_fd(G.base, G.fd[e], events);
}

static void
act_bysig(void)
{
    int signo = R(2) ? SIGUSR1 : SIGUSR2;
    if (G.cur_slot >= 0 && sig_self(G.cur_slot))
        return;
    DIFF_OUT("active_by_signal %s\n", signame(signo));
    event_base_active_by_signal(G.base, signo);
}

static void
act_foreach(void)
{
    struct foreach_acc acc;
    int i, r;
    memset(&acc, 0, sizeof(acc));
    r = event_base_foreach_event(G.base, foreach_cb, &acc);
    DIFF_OUT("foreach -> %d", r);
    for (i = 0; i < NSLOT; i++)
        if (acc.seen[i])
            DIFF_OUT(" E%d%s", i, acc.seen[i] > 1 ? "(dup)" : "");
    /* libevent 2.1.12 also visits its internal events (the signal pipe's
     * read event, each common timeout queue's timer): counted apart from
     * once events only by their fd, which the timers do not have. */
    if (!G.no_foreach_internal)
        DIFF_OUT(" others=%d internal=%d", acc.others, acc.internal);
    DIFF_OUT("\n");
}

static void
act_running(void)
{
    struct event *ev;
    int i;
    /* Not once the running event is freed: base->current_event still
     * points to it, and event_base_get_running_event reads its flags (in
     * libevent 2.1.12 as in ours). */
    if (!G.in_event_cb || G.cur_freed)
        return;
    ev = event_base_get_running_event(G.base);
    i = slot_of_event(ev);
    if (ev == NULL)
        DIFF_OUT("running none\n");
    else if (i >= 0)
        DIFF_OUT("running E%d\n", i);
    else
        DIFF_OUT("running other\n");
}

static void
act_reentrant(void)
{
    DIFF_OUT("reentrant loop -> %d\n",
        event_base_loop(G.base, EVLOOP_NONBLOCK));
}

/* Inside an event callback, an action on the running event itself (the
 * slot pickers choose it only now and then). */
static void
act_self(void)
{
    if (G.cur_slot < 0 || !live(G.cur_slot))
        return;
    G.self_pick = 1;
    switch (R(5)) {
    case 0: act_active(); break;
    case 1: act_add(); break;
    case 2: act_del(); break;
    case 3: act_prio(); break;
    default: act_pending(); break;
    }
    G.self_pick = 0;
}

/* ---- action tables ---- */

enum {
    A_NEW, A_ADD, A_DEL, A_ACTIVE, A_PRIO, A_PENDING, A_REMOVE_TIMER,
    A_WRITE, A_READ, A_SHUTDOWN, A_CLOSE, A_RAISE, A_BREAK, A_CONTINUE,
    A_EXIT, A_GOT, A_FREE, A_FREE_SELF_NEW, A_ONCE, A_FINALIZE, A_COUNTS,
    A_INFO, A_BYFD, A_BYSIG, A_FOREACH, A_RUNNING, A_REENTRANT, A_SELF,
    A_ACTIVE_BYFD, A_COUNT
};

/* Weights: outside the loop, inside callbacks. */
static const unsigned char weights[A_COUNT][2] = {
    [A_NEW] = {8, 3},
    [A_ADD] = {12, 8},
    [A_DEL] = {4, 5},
    [A_ACTIVE] = {8, 6},
    [A_PRIO] = {3, 3},
    [A_PENDING] = {6, 4},
    [A_REMOVE_TIMER] = {2, 2},
    [A_WRITE] = {8, 5},
    [A_READ] = {5, 4},
    [A_SHUTDOWN] = {1, 1},
    [A_CLOSE] = {1, 1},
    [A_RAISE] = {3, 2},
    [A_BREAK] = {2, 2},
    [A_CONTINUE] = {1, 3},
    [A_EXIT] = {2, 2},
    [A_GOT] = {2, 2},
    [A_FREE] = {3, 2},
    [A_FREE_SELF_NEW] = {0, 2},
    [A_ONCE] = {3, 3},
    [A_FINALIZE] = {2, 2},
    [A_COUNTS] = {3, 2},
    [A_INFO] = {2, 2},
    [A_BYFD] = {2, 4},
    [A_BYSIG] = {1, 1},
    [A_FOREACH] = {1, 1},
    [A_RUNNING] = {0, 2},
    [A_REENTRANT] = {0, 1},
    [A_SELF] = {0, 6},
    [A_ACTIVE_BYFD] = {0, 5},
};

static int
enabled(int a)
{
    switch (a) {
    case A_RAISE: return !G.no_signals && !G.no_raise;
    case A_BYSIG: return !G.no_signals;
    case A_FINALIZE: return !G.no_finalize;
    case A_COUNTS: return !G.no_counts;
    case A_REENTRANT: return !G.no_reentrant;
    case A_FOREACH: return !G.no_foreach;
    case A_ONCE: return !G.no_once;
    case A_BYFD:
    case A_ACTIVE_BYFD: return !G.no_byfd;
    case A_RUNNING: return !G.no_running;
    case A_CLOSE: return !G.no_close;
    case A_PRIO: return !G.no_prio;
    default: return 1;
    }
}

static void
do_action(int inner)
{
    unsigned total = 0, pick;
    int a;
    for (a = 0; a < A_COUNT; a++)
        total += weights[a][inner];
    pick = R(total);
    for (a = 0; a < A_COUNT; a++) {
        if (pick < weights[a][inner])
            break;
        pick -= weights[a][inner];
    }
    if (!enabled(a))
        return;
    switch (a) {
    case A_NEW: act_new(); break;
    case A_ADD: act_add(); break;
    case A_DEL: act_del(); break;
    case A_ACTIVE: act_active(); break;
    case A_PRIO: act_prio(); break;
    case A_PENDING: act_pending(); break;
    case A_REMOVE_TIMER: act_remove_timer(); break;
    case A_WRITE: act_write(); break;
    case A_READ: act_read(); break;
    case A_SHUTDOWN: act_shutdown(); break;
    case A_CLOSE: act_close(); break;
    case A_RAISE: act_raise(); break;
    case A_BREAK: act_break(); break;
    case A_CONTINUE: act_continue(); break;
    case A_EXIT: act_exit(); break;
    case A_GOT: act_got(); break;
    case A_FREE: act_free(); break;
    case A_FREE_SELF_NEW: act_free_self_new(); break;
    case A_ONCE: act_once(); break;
    case A_FINALIZE: act_finalize(); break;
    case A_COUNTS: act_counts(); break;
    case A_INFO: act_info(); break;
    case A_BYFD: act_byfd(); break;
    case A_BYSIG: act_bysig(); break;
    case A_FOREACH: act_foreach(); break;
    case A_RUNNING: act_running(); break;
    case A_REENTRANT: act_reentrant(); break;
    case A_SELF: act_self(); break;
    case A_ACTIVE_BYFD:
        /* Something queued, then events that may be ready already. */
        act_active();
        act_byfd();
        break;
    default: break;
    }
}

static void
inner_actions(void)
{
    unsigned k = R(100), n = k < 30 ? 0 : k < 75 ? 1 : 2;
    while (n-- > 0)
        do_action(1);
}

/* ---- loop calls ---- */

/* Something surely runs on the first pass: a {0,0} timeout is pending,
 * or make a live event active now. */
static int
guard_once(void)
{
    int i;
    if (zero_pending(-1) > 0)
        return 1;
    i = pick_live();
    if (i < 0)
        return 0;
    activate(i);
    return 1;
}

static void
do_loop(void)
{
    unsigned k = R(100);
    int flags, r, risky;

    if (k < 45)
        flags = EVLOOP_NONBLOCK;
    else if (k < 55)
        flags = EVLOOP_NONBLOCK | EVLOOP_NO_EXIT_ON_EMPTY;
    else if (k < 65)
        flags = EVLOOP_ONCE | EVLOOP_NONBLOCK;
    else if (k < 80)
        flags = EVLOOP_ONCE;
    else if (k < 85)
        flags = EVLOOP_ONCE | EVLOOP_NO_EXIT_ON_EMPTY;
    else if (k < 95)
        flags = 0;
    else
        flags = EVLOOP_NO_EXIT_ON_EMPTY;
    if (G.no_exitonempty)
        flags &= ~EVLOOP_NO_EXIT_ON_EMPTY;

    /* A ONCE loop goes on after a pass that ran only internal callbacks
     * (the signal pipe's event finding no event for the signal, a common
     * timeout queue's timer finding no member) and then waits for the
     * next timer, in both libraries: not where a signal may be in the
     * pipe or a common timeout queue exists. */
    if ((flags & EVLOOP_ONCE) && !(flags & EVLOOP_NONBLOCK) &&
        (G.raised || G.ctv_zero != NULL))
        flags |= EVLOOP_NONBLOCK;
    risky = !(flags & EVLOOP_NONBLOCK);
    if (risky && (flags & EVLOOP_ONCE)) {
        if (!guard_once())
            flags = EVLOOP_NONBLOCK | EVLOOP_ONCE, risky = 0;
    } else if (risky) {
        if (R(3) == 0 && !G.no_once && G.nonce < NONCE_MAX) {
            do_once(1);
        } else {
            int n = (int)R(2);
            DIFF_OUT("loopexit %s -> %d\n", n ? "null" : "0",
                event_base_loopexit(G.base, n ? NULL : &tv_zero));
        }
    }
    if (risky) {
        struct timeval wd = {2, 0};
        G.watchdog = evtimer_new(G.base, watchdog_cb, NULL);
        evtimer_add(G.watchdog, &wd);
    }
    DIFF_OUT("loop 0x%02x\n", (unsigned)flags);
    G.once_wait = (flags & EVLOOP_ONCE) && !(flags & EVLOOP_NONBLOCK);
    G.in_loop = 1;
    G.cbcount = 0;
    G.cur_slot = -1;
    r = event_base_loop(G.base, flags);
    G.in_loop = 0;
    G.once_wait = 0;
    if (G.watchdog != NULL) {
        event_free(G.watchdog);
        G.watchdog = NULL;
    }
    DIFF_OUT("loop -> %d\n", r);
}

/* ---- one script ---- */

static void
run_seed(uint64_t seed, int steps)
{
    struct event_config *cfg = NULL;
    int i, npairs, step, pending_fin;

    memset(&G.s, 0, sizeof(G.s));
    G.rng.s = seed * 0x9e3779b97f4a7c15ULL + 0x1234567ULL;
    G.nonce = 0;
    G.raised = 0;
    G.wseq = 0;
    G.cleanup = 0;
    G.cur_slot = -1;
    G.in_event_cb = 0;
    DIFF_OUT("seed %llu\n", (unsigned long long)seed);

    if (!G.no_config && R(3) != 0) {
        int flags = 0;
        cfg = event_config_new();
        if (R(3) == 0)
            flags |= EVENT_BASE_FLAG_NOLOCK;
        if (!G.no_changelist && R(3) == 0)
            flags |= EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST;
        if (R(3) == 0)
            flags |= EVENT_BASE_FLAG_PRECISE_TIMER;
        if (R(4) == 0)
            flags |= EVENT_BASE_FLAG_NO_CACHE_TIME;
        DIFF_OUT("config flags=0x%02x -> %d", (unsigned)flags,
            event_config_set_flag(cfg, flags));
        if (!G.no_maxcb && R(2)) {
            int maxcb = (int)R(4), minpri = (int)R(4);
            if (maxcb == 0)
                maxcb = -1;
            DIFF_OUT(" maxcb=%d minpri=%d -> %d", maxcb, minpri,
                event_config_set_max_dispatch_interval(cfg, NULL, maxcb,
                    minpri));
        }
        DIFF_OUT("\n");
        G.base = event_base_new_with_config(cfg);
        event_config_free(cfg);
    } else {
        G.base = event_base_new();
    }
    if (G.base == NULL) {
        DIFF_OUT("base NULL\n");
        exit(1);
    }
    DIFF_OUT("base method=%s features=0x%x npri=%d\n",
        diff_method(event_base_get_method(G.base)),
        (unsigned)event_base_get_features(G.base),
        event_base_get_npriorities(G.base));
    G.npri = 1 + (int)R(4);
    if (G.no_prio)
        G.npri = 1;
    if (R(5) != 0 || G.npri != 1) {
        int r = event_base_priority_init(G.base, G.npri);
        DIFF_OUT("priority_init %d -> %d npri=%d\n", G.npri, r,
            event_base_get_npriorities(G.base));
    }

    G.ctv_zero = G.ctv_hour = NULL;
    if (!G.no_common && R(3) == 0) {
        const struct timeval *again;
        G.ctv_zero = event_base_init_common_timeout(G.base, &tv_zero);
        G.ctv_hour = event_base_init_common_timeout(G.base, &tv_hour);
        again = event_base_init_common_timeout(G.base, &tv_zero);
        DIFF_OUT("common_timeout 0 -> %s 1h -> %s again=%s\n",
            G.ctv_zero ? "ok" : "NULL", G.ctv_hour ? "ok" : "NULL",
            again == G.ctv_zero ? "same" : "other");
    }

    npairs = 2 + (int)R(4);
    G.nend = 2 * npairs;
    for (i = 0; i < npairs; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
            perror("socketpair");
            exit(1);
        }
        G.fd[2 * i] = sv[0];
        G.fd[2 * i + 1] = sv[1];
    }
    for (i = 0; i < G.nend; i++) {
        fcntl(G.fd[i], F_SETFL, fcntl(G.fd[i], F_GETFL) | O_NONBLOCK);
        G.closed[i] = G.shutwr[i] = G.oncepend[i] = 0;
        G.et[i] = !G.no_et && R(4) == 0;
    }
    DIFF_OUT("ends %d et=", G.nend);
    for (i = 0; i < G.nend; i++)
        DIFF_OUT("%d", G.et[i]);
    DIFF_OUT("\n");

    for (i = 3 + (int)R(4); i > 0; i--)
        act_new();
    for (i = 2 + (int)R(3); i > 0; i--)
        act_add();

    for (step = 0; step < steps; step++) {
        if (R(100) < 25)
            do_loop();
        else
            do_action(0);
    }

    /* Cleanup: callbacks only print from here on. */
    G.cleanup = 1;
    DIFF_OUT("cleanup\n");
    for (i = 0; i < NSLOT; i++)
        if (live(i))
            free_slot(i);
    if (R(2)) {
        int r;
        DIFF_OUT("final loop\n");
        G.in_loop = 1;
        G.cbcount = 0;
        r = event_base_loop(G.base, EVLOOP_NONBLOCK);
        G.in_loop = 0;
        DIFF_OUT("final loop -> %d\n", r);
    }
    pending_fin = 0;
    for (i = 0; i < NSLOT; i++)
        if (G.s[i].ev != NULL)
            pending_fin = 1;
    if (!pending_fin && R(3) == 0) {
        DIFF_OUT("base_free_nofinalize\n");
        G.in_basefree = 1;
        event_base_free_nofinalize(G.base);
    } else {
        DIFF_OUT("base_free\n");
        G.in_basefree = 1;
        event_base_free(G.base);
    }
    G.base = NULL;
    G.in_basefree = 0;
    while (G.ndeferred > 0)
        free(G.deferred[--G.ndeferred]);
    for (i = 0; i < NSLOT; i++) {
        if (G.s[i].ev != NULL) {
            DIFF_OUT("unfinalized E%d\n", i);
            if (G.s[i].assigned)
                free(G.s[i].ev);
            memset(&G.s[i], 0, sizeof(G.s[i]));
        }
    }
    for (i = 0; i < G.nend; i++)
        if (!G.closed[i])
            close(G.fd[i]);
    G.nend = 0;
}


/* --no-FEATURE switches.  The first group each keep the generator away
 * from one known difference from libevent 2.1.12 (see the top of this
 * file), so the rest can be checked; --skip-known sets them all.  The
 * second group switch off parts of the generator, to narrow a new
 * difference down. */
static const struct {
    const char *name;
    int *flag;
    int known;
    const char *what;
} options[] = {
    {"--no-foreach-internal", &G.no_foreach_internal, 1,
        "foreach prints table events only, not the others it visits"},
    {"--no-persist-zero", &G.no_persist_zero, 1,
        "no {0,0} (or common {0,0}) timeout on persistent events"},
    {"--no-reset", &G.no_reset, 1,
        "an end is drained before it is closed (no EPOLLERR on its peer)"},
    {"--no-rearm-active", &G.no_rearm_active, 1,
        "a persistent event never made active by EV_TIMEOUT in its callback"},
    {"--no-add-active", &G.no_add_active, 1,
        "no event_add of an fd/signal event that may be active, not added"},
    {"--no-stale-timeout", &G.no_stale_timeout, 1,
        "a persistent event once given a 1h timeout is re-added with it"},
    {"--no-max-counts", &G.no_max_counts, 1,
        "no event_base_get_max_events"},
    {"--no-byfd-in-cb", &G.no_byfd_in_cb, 1,
        "event_base_active_by_fd only outside the loop"},
    {"--no-sig-self-active", &G.no_sig_self_active, 1,
        "a signal event is not made active again in its own callback"},
    {"--no-signals", &G.no_signals, 0, "no signal events"},
    {"--no-raise", &G.no_raise, 0, "no raise()"},
    {"--no-ncalls", &G.no_ncalls, 0, "event_active on signal events: ncalls 1"},
    {"--no-ncalls0", &G.no_ncalls0, 0, "event_active: never ncalls 0"},
    {"--no-finalize", &G.no_finalize, 0, "no event_finalize/free_finalize"},
    {"--no-changelist", &G.no_changelist, 0,
        "no EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST"},
    {"--no-config", &G.no_config, 0, "event_base_new only"},
    {"--no-maxcb", &G.no_maxcb, 0, "no event_config_set_max_dispatch_interval"},
    {"--no-prio", &G.no_prio, 0, "one priority"},
    {"--no-common", &G.no_common, 0, "no common timeouts"},
    {"--no-counts", &G.no_counts, 0, "no event_base_get_num_events"},
    {"--no-reentrant", &G.no_reentrant, 0, "no event_base_loop in callbacks"},
    {"--no-assign", &G.no_assign, 0, "event_new only (no event_assign)"},
    {"--no-selfarg", &G.no_selfarg, 0, "no event_self_cbarg()"},
    {"--no-foreach", &G.no_foreach, 0, "no event_base_foreach_event"},
    {"--no-once", &G.no_once, 0, "no event_base_once"},
    {"--no-et", &G.no_et, 0, "no EV_ET"},
    {"--no-closed", &G.no_closed, 0, "no EV_CLOSED"},
    {"--no-byfd", &G.no_byfd, 0, "no event_base_active_by_fd"},
    {"--no-running", &G.no_running, 0, "no event_base_get_running_event"},
    {"--no-close", &G.no_close, 0, "socket ends are not closed"},
    {"--no-exitonempty", &G.no_exitonempty, 0, "no EVLOOP_NO_EXIT_ON_EMPTY"},
};

int
main(int argc, char **argv)
{
    long seeds = diff_opt(argc, argv, "seeds", 5000);
    long first = diff_opt(argc, argv, "first", 1);
    long steps = diff_opt(argc, argv, "steps", 60);
    int skip_known = diff_has_flag(argc, argv, "--skip-known");
    long s;
    size_t k;

    if (diff_has_flag(argc, argv, "--help")) {
        printf("usage: %s [--seeds=N] [--first=N] [--steps=N] [--zero=N] "
               "[--unbuffered] [--skip-known] [switches]\n", argv[0]);
        for (k = 0; k < sizeof(options) / sizeof(options[0]); k++)
            printf("  %-22s %s%s\n", options[k].name, options[k].what,
                options[k].known ? " (known difference)" : "");
        return 0;
    }
    G.zero_max = (int)diff_opt(argc, argv, "zero", 2);
    for (k = 0; k < sizeof(options) / sizeof(options[0]); k++)
        *options[k].flag = diff_has_flag(argc, argv, options[k].name) ||
            (skip_known && options[k].known);

    diff_print_lib();
    signal(SIGPIPE, SIG_IGN);
    {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = noop_handler;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR1, &sa, NULL);
        sigaction(SIGUSR2, &sa, NULL);
    }
    event_set_log_callback(quiet_log);
    if (diff_has_flag(argc, argv, "--unbuffered"))
        setvbuf(stdout, NULL, _IONBF, 0);
    else
        setvbuf(stdout, NULL, _IOFBF, 1 << 16);

    for (s = first; s < first + seeds; s++)
        run_seed((uint64_t)s, (int)steps);
    DIFF_OUT("done\n");
    return 0;
}

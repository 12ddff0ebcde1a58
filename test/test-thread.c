/*
 * test-thread.c: using one event_base from several threads, against
 * libevent 2.1's public API: other threads add, activate and delete events
 * while the loop sleeps in the backend and the loop wakes promptly;
 * event_del() waits for a running callback (event_del_block/noblock,
 * EV_FINALIZE); finalizers from other threads; a many-thread stress run.
 *
 * TEST-THREADS: ctest labels this binary "threads" for the TSan build.
 * TEST-BACKENDS: it also runs once per backend and once with
 * EVTEST_DEBUG_MODE=1; in that run lock debugging is on as well.
 *
 * Order of initialisation, as libevent documents it: evthread_use_pthreads()
 * first, then evthread_enable_lock_debugging() before any lock exists, then
 * event_enable_debug_mode() before any event or base exists (tu_init()).
 *
 * Only the main thread runs cmocka assertions; other threads record.
 */
#define _GNU_SOURCE
#include "test-util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/thread.h>

/* Far-away safety timeout: a loop that is not woken would sleep this. */
#define FAR_MS 10000

static int
aload(const int *p)
{
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void
astore(int *p, int v)
{
    __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

static void
ainc(int *p)
{
    __atomic_add_fetch(p, 1, __ATOMIC_SEQ_CST);
}

/* Waits until *flag becomes non-zero; returns 0, or -1 after limit_ms. */
static int
wait_flag(const int *flag, long limit_ms)
{
    struct timeval start;

    tu_now(&start);
    while (!aload(flag)) {
        if (tu_ms_since(&start) > limit_ms)
            return -1;
        tu_sleep_ms(1);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* A callback that records when and where it ran, then exits the loop. */

struct wake {
    struct event_base *base;
    struct timeval acted;   /* when the other thread acted */
    struct timeval ran;     /* when the callback ran */
    pthread_t loop_thread;
    int ran_in_loop_thread;
    int calls;
    short what;
};

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
    struct wake *w = arg;

    (void)fd;
    tu_now(&w->ran);
    w->what = what;
    w->ran_in_loop_thread = pthread_equal(pthread_self(), w->loop_thread);
    ainc(&w->calls);
    event_base_loopexit(w->base, NULL);
}

enum act_kind {
    ACT_ADD_TIMER,
    ACT_ADD,
    ACT_ACTIVE,
    ACT_DEL,
    ACT_LOOPBREAK,
    ACT_LOOPEXIT,
    ACT_ONCE
};

struct actor {
    struct event_base *base;
    struct event *ev;
    enum act_kind kind;
    long delay_ms;
    struct timeval *acted;
    int rv;
    event_callback_fn once_cb;
    void *once_arg;
};

static void *
actor_main(void *arg)
{
    struct actor *a = arg;
    struct timeval zero = { 0, 0 };

    tu_sleep_ms(a->delay_ms);
    tu_now(a->acted);
    switch (a->kind) {
    case ACT_ADD_TIMER:
        a->rv = event_add(a->ev, &zero);
        break;
    case ACT_ADD:
        a->rv = event_add(a->ev, NULL);
        break;
    case ACT_ACTIVE:
        event_active(a->ev, EV_WRITE, 0);
        a->rv = 0;
        break;
    case ACT_DEL:
        a->rv = event_del(a->ev);
        break;
    case ACT_LOOPBREAK:
        a->rv = event_base_loopbreak(a->base);
        break;
    case ACT_LOOPEXIT:
        a->rv = event_base_loopexit(a->base, NULL);
        break;
    case ACT_ONCE:
        a->rv = event_base_once(a->base, -1, EV_TIMEOUT, a->once_cb,
            a->once_arg, &zero);
        break;
    }
    return NULL;
}

/*
 * Starts an actor thread doing kind on ev after delay_ms, runs the loop in
 * this thread (bounded by FAR_MS), joins the actor and returns the run
 * helper's result.
 */
static int
run_with_actor(struct event_base *base, struct event *ev, enum act_kind kind,
    struct wake *w)
{
    struct actor a;
    pthread_t th;
    int r;

    memset(&a, 0, sizeof(a));
    a.base = base;
    a.ev = ev;
    a.kind = kind;
    a.delay_ms = 100;
    a.acted = &w->acted;
    a.once_cb = wake_cb;
    a.once_arg = w;
    w->base = base;
    w->loop_thread = pthread_self();
    assert_int_equal(pthread_create(&th, NULL, actor_main, &a), 0);
    r = tu_run(base, FAR_MS);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(a.rv, 0);
    return r;
}

static void
assert_prompt(const struct wake *w)
{
    long lag = tu_ms_between(&w->acted, &w->ran);

    assert_int_equal(aload(&w->calls), 1);
    assert_true(w->ran_in_loop_thread);
    if (lag < 0 || lag >= tu_slack_ms())
        fail_msg("callback ran %ld ms after the other thread acted", lag);
}

/* ------------------------------------------------------------------ */

static void
test_thread_add_wakes_loop(void **state)
{
    struct event_base *base = *state;
    struct event *ev;
    struct wake w;

    memset(&w, 0, sizeof(w));
    ev = evtimer_new(base, wake_cb, &w);
    assert_int_equal(run_with_actor(base, ev, ACT_ADD_TIMER, &w), 0);
    assert_prompt(&w);
    assert_int_equal(w.what, EV_TIMEOUT);
    event_free(ev);
}

static void
test_thread_io_add_wakes_loop(void **state)
{
    struct event_base *base = *state;
    evutil_socket_t fds[2];
    struct event *ev;
    struct wake w;

    tu_socketpair(fds);
    tu_write_str(fds[1], "ready");
    memset(&w, 0, sizeof(w));
    ev = event_new(base, fds[0], EV_READ, wake_cb, &w);
    assert_int_equal(run_with_actor(base, ev, ACT_ADD, &w), 0);
    assert_prompt(&w);
    assert_int_equal(w.what, EV_READ);
    event_free(ev);
    tu_close_pair(fds);
}

static void
test_thread_active_wakes_loop(void **state)
{
    struct event_base *base = *state;
    struct event *ev;
    struct wake w;

    memset(&w, 0, sizeof(w));
    ev = event_new(base, -1, 0, wake_cb, &w);
    assert_int_equal(run_with_actor(base, ev, ACT_ACTIVE, &w), 0);
    assert_prompt(&w);
    assert_int_equal(w.what, EV_WRITE);
    event_free(ev);
}

static void
test_thread_once_wakes_loop(void **state)
{
    struct event_base *base = *state;
    struct wake w;

    memset(&w, 0, sizeof(w));
    assert_int_equal(run_with_actor(base, NULL, ACT_ONCE, &w), 0);
    assert_prompt(&w);
}

static void
test_thread_del_wakes_loop(void **state)
{
    struct event_base *base = *state;
    struct timeval acted, start;
    evutil_socket_t fds[2];
    struct event *ev;
    struct actor a;
    pthread_t th;
    struct wake w;

    /*
     * The only event, an I/O event that never becomes ready, is deleted by
     * another thread: the loop, which would otherwise sleep forever,
     * notices the base is empty and returns.  (libevent 2.1 does not
     * wake the loop when a pure timer is deleted; the loop then sleeps
     * until the old deadline, so this is checked with I/O only.)
     */
    tu_socketpair(fds);
    memset(&w, 0, sizeof(w));
    ev = event_new(base, fds[0], EV_READ, wake_cb, &w);
    assert_int_equal(event_add(ev, NULL), 0);
    memset(&a, 0, sizeof(a));
    a.base = base;
    a.ev = ev;
    a.kind = ACT_DEL;
    a.delay_ms = 100;
    a.acted = &acted;
    tu_now(&start);
    assert_int_equal(pthread_create(&th, NULL, actor_main, &a), 0);
    assert_int_equal(tu_loop(base, 0), 1);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(a.rv, 0);
    assert_int_equal(aload(&w.calls), 0);
    tu_assert_ms(tu_ms_since(&start), 100);
    event_free(ev);
    tu_close_pair(fds);
}

static void
run_exit_case(struct event_base *base, enum act_kind kind)
{
    struct timeval acted, start;
    struct actor a;
    pthread_t th;

    memset(&a, 0, sizeof(a));
    a.base = base;
    a.kind = kind;
    a.delay_ms = 100;
    a.acted = &acted;
    tu_now(&start);
    assert_int_equal(pthread_create(&th, NULL, actor_main, &a), 0);
    /* An empty base that does not exit on empty sleeps until told. */
    assert_int_equal(tu_loop(base, EVLOOP_NO_EXIT_ON_EMPTY), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(a.rv, 0);
    tu_assert_ms(tu_ms_since(&start), 100);
}

static void
test_thread_loopbreak_from_thread(void **state)
{
    struct event_base *base = *state;

    run_exit_case(base, ACT_LOOPBREAK);
    assert_true(event_base_got_break(base));
}

static void
test_thread_loopexit_from_thread(void **state)
{
    struct event_base *base = *state;

    run_exit_case(base, ACT_LOOPEXIT);
    assert_true(event_base_got_exit(base));
}

static void
test_thread_make_base_notifiable(void **state)
{
    struct event_base *base = *state, *nolock;
    struct event_config *cfg;

    assert_int_equal(evthread_make_base_notifiable(base), 0);
    assert_int_equal(evthread_make_base_notifiable(base), 0);

    cfg = event_config_new();
    assert_int_equal(event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK), 0);
    nolock = event_base_new_with_config(cfg);
    event_config_free(cfg);
    assert_non_null(nolock);
    assert_int_equal(evthread_make_base_notifiable(nolock), 0);
    event_base_free(nolock);

    assert_int_equal(evthread_make_base_notifiable(NULL), -1);
}

/* ------------------------------------------------------------------ */
/* event_del() and a running callback. */

struct slow {
    int started;
    int finished;
    long sleep_ms;
};

static void
slow_cb(evutil_socket_t fd, short what, void *arg)
{
    struct slow *s = arg;

    (void)fd;
    (void)what;
    astore(&s->started, 1);
    tu_sleep_ms(s->sleep_ms);
    astore(&s->finished, 1);
}

struct looper {
    struct event_base *base;
    int rv;
};

static void *
looper_main(void *arg)
{
    struct looper *l = arg;

    l->rv = event_base_loop(l->base, 0);
    return NULL;
}

static void *
looper_once_main(void *arg)
{
    struct looper *l = arg;

    l->rv = event_base_loop(l->base, EVLOOP_ONCE);
    return NULL;
}

enum del_kind { DEL_PLAIN, DEL_BLOCK, DEL_NOBLOCK };

/*
 * Runs ev's slow callback in a loop thread, deletes ev from this thread
 * while the callback runs, and returns whether the callback had finished
 * when the delete returned.
 */
static int
del_while_running_ex(struct event_base *base, short events,
    enum del_kind kind, int io)
{
    struct looper l;
    struct slow s;
    struct event *ev;
    evutil_socket_t fds[2] = { -1, -1 };
    pthread_t th;
    int finished_at_return, rv = -1;

    memset(&s, 0, sizeof(s));
    s.sleep_ms = 200;
    if (io) {
        /* A readable fd: the callback runs from the backend's results
         * rather than from an activation. */
        tu_socketpair(fds);
        ev = event_new(base, fds[0], EV_READ | events, slow_cb, &s);
        assert_non_null(ev);
        assert_int_equal(event_add(ev, NULL), 0);
        tu_write_str(fds[1], "x");
    } else {
        ev = event_new(base, -1, events, slow_cb, &s);
        assert_non_null(ev);
        event_active(ev, EV_TIMEOUT, 0);
    }
    l.base = base;
    l.rv = 99;
    assert_int_equal(pthread_create(&th, NULL, looper_main, &l), 0);
    assert_int_equal(wait_flag(&s.started, 5000), 0);
    switch (kind) {
    case DEL_PLAIN:
        rv = event_del(ev);
        break;
    case DEL_BLOCK:
        rv = event_del_block(ev);
        break;
    case DEL_NOBLOCK:
        rv = event_del_noblock(ev);
        break;
    }
    finished_at_return = aload(&s.finished);
    assert_int_equal(rv, 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(l.rv, 1);
    assert_int_equal(aload(&s.finished), 1);
    event_free(ev);
    if (io)
        tu_close_pair(fds);
    return finished_at_return;
}

static int
del_while_running(struct event_base *base, short events, enum del_kind kind)
{
    return del_while_running_ex(base, events, kind, 0) +
           2 * del_while_running_ex(base, events, kind, 1);
}

static void
test_thread_del_waits_for_callback(void **state)
{
    struct event_base *base = *state;

    /* event_del() from another thread waits for the running callback. */
    assert_int_equal(del_while_running(base, 0, DEL_PLAIN), 3);
    assert_int_equal(del_while_running(base, 0, DEL_BLOCK), 3);
}

static void
test_thread_del_noblock(void **state)
{
    struct event_base *base = *state;

    assert_int_equal(del_while_running(base, 0, DEL_NOBLOCK), 0);
}

static void
test_thread_del_finalize_flag(void **state)
{
    struct event_base *base = *state;

    /* With EV_FINALIZE, event_del() does not wait (that is the point of
     * the flag); event_del_block() still does. */
    assert_int_equal(del_while_running(base, EV_FINALIZE, DEL_PLAIN), 0);
    assert_int_equal(del_while_running(base, EV_FINALIZE, DEL_BLOCK), 3);
}

/* A callback that leaves its fd readable, so that a persistent event
 * would run again at once, and optionally re-adds its (non-persistent)
 * event before returning. */
struct sticky {
    struct event *ev;
    int readd;
    int calls;
    int started;
};

static void
sticky_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sticky *st = arg;

    (void)fd;
    (void)what;
    ainc(&st->calls);
    astore(&st->started, 1);
    tu_sleep_ms(200);
    if (st->readd)
        (void)event_add(st->ev, NULL);
}

/* event_del() from another thread while the callback runs: when it
 * returns, the callback is not running, the event is not pending and its
 * callback will not run again, even though its fd stays ready (libevent:
 * main/del_wait).  A persistent event ran exactly once.  A callback that
 * re-adds its event may have been run again by the loop before the
 * waiter got the lock back (each time it waits anew), so there it ran at
 * least once. */
static void
del_sticky(struct event_base *base, int readd)
{
    struct sticky st;
    struct looper l;
    evutil_socket_t fds[2];
    pthread_t th;
    int calls;

    memset(&st, 0, sizeof(st));
    st.readd = readd;
    tu_socketpair(fds);
    st.ev = event_new(base, fds[0], EV_READ | (readd ? 0 : EV_PERSIST),
        sticky_cb, &st);
    assert_non_null(st.ev);
    assert_int_equal(event_add(st.ev, NULL), 0);
    tu_write_str(fds[1], "x");
    l.base = base;
    l.rv = 99;
    assert_int_equal(pthread_create(&th, NULL, looper_main, &l), 0);
    assert_int_equal(wait_flag(&st.started, 5000), 0);
    assert_int_equal(event_del(st.ev), 0);
    calls = aload(&st.calls);
    if (readd)
        assert_true(calls >= 1);
    else
        assert_int_equal(calls, 1);
    assert_int_equal(event_pending(st.ev, EV_READ | EV_TIMEOUT, NULL), 0);
    /* Nothing left: the loop ends without running the callback again. */
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(l.rv, 1);
    assert_int_equal(aload(&st.calls), calls);
    event_free(st.ev);
    tu_close_pair(fds);
}

static void
test_thread_del_ready_persistent(void **state)
{
    del_sticky(*state, 0);
}

static void
test_thread_del_readded_in_callback(void **state)
{
    del_sticky(*state, 1);
}

/* Two fds ready in one dispatch; while the first callback runs (in the
 * loop thread, without the base lock), this thread deletes the other
 * event: it must not run afterwards, as with libevent, where both were
 * activated before the first callback and the delete dequeues it. */
struct ready_pair {
    struct event *ev[2];
    int calls[2];
    int first;
    int started;
    int go;
};

static void
ready_pair_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ready_pair *rp;
    int i = (int)((intptr_t)arg & 1);
    char c;

    rp = (struct ready_pair *)((intptr_t)arg & ~(intptr_t)1);
    (void)what;
    (void)recv(fd, &c, 1, 0);
    ainc(&rp->calls[i]);
    if (aload(&rp->started))
        return;
    astore(&rp->first, i);
    astore(&rp->started, 1);
    (void)wait_flag(&rp->go, 5000);
}

static void
test_thread_del_ready_event(void **state)
{
    struct event_base *base = *state;
    struct ready_pair *rp;
    evutil_socket_t fds[2][2];
    struct looper l;
    pthread_t th;
    int i, other;

    /* Aligned, so the low bit of its address can carry the index. */
    rp = calloc(1, sizeof(*rp));
    assert_non_null(rp);
    for (i = 0; i < 2; i++) {
        tu_socketpair(fds[i]);
        rp->ev[i] = event_new(base, fds[i][0], EV_READ | EV_PERSIST,
            ready_pair_cb, (void *)((intptr_t)rp | i));
        assert_int_equal(event_add(rp->ev[i], NULL), 0);
        tu_write_str(fds[i][1], "x");
    }
    l.base = base;
    l.rv = 99;
    assert_int_equal(pthread_create(&th, NULL, looper_once_main, &l), 0);
    assert_int_equal(wait_flag(&rp->started, 5000), 0);
    other = 1 - aload(&rp->first);
    assert_int_equal(event_del(rp->ev[other]), 0);
    astore(&rp->go, 1);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(l.rv, 0);
    assert_int_equal(aload(&rp->calls[1 - other]), 1);
    assert_int_equal(aload(&rp->calls[other]), 0);
    for (i = 0; i < 2; i++) {
        event_free(rp->ev[i]);
        tu_close_pair(fds[i]);
    }
    free(rp);
}

static int fin_calls;
static int fin_saw_finished;
static struct slow *fin_slow;

static void
fin_cb(struct event *ev, void *arg)
{
    (void)ev;
    (void)arg;
    ainc(&fin_calls);
    astore(&fin_saw_finished, aload(&fin_slow->finished));
}

static void
test_thread_free_finalize_while_running(void **state)
{
    struct event_base *base = *state;
    struct timeval start;
    struct looper l;
    struct event *ev;
    struct slow s;
    pthread_t th;
    long ms;

    memset(&s, 0, sizeof(s));
    s.sleep_ms = 200;
    fin_slow = &s;
    astore(&fin_calls, 0);
    astore(&fin_saw_finished, 0);
    ev = event_new(base, -1, EV_FINALIZE, slow_cb, &s);
    event_active(ev, EV_TIMEOUT, 0);
    l.base = base;
    assert_int_equal(pthread_create(&th, NULL, looper_main, &l), 0);
    assert_int_equal(wait_flag(&s.started, 5000), 0);
    tu_now(&start);
    assert_int_equal(event_free_finalize(0, ev, fin_cb), 0);
    ms = tu_ms_since(&start);
    /* It does not wait for the callback... */
    assert_true(ms < 100);
    assert_int_equal(pthread_join(th, NULL), 0);
    /* ...and the finalizer ran once, after the callback. */
    assert_int_equal(aload(&fin_calls), 1);
    assert_int_equal(aload(&fin_saw_finished), 1);
}

/* ------------------------------------------------------------------ */
/* Stress: several threads hammer one base while it loops. */

#define STRESS_THREADS 4
#define STRESS_EVENTS 8
#define STRESS_ROUNDS 2000

static int stress_calls;
static int stress_done;

static void
stress_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    ainc(&stress_calls);
}

struct stresser {
    struct event_base *base;
    unsigned seed;
    int errors;
    int witnessed;
};

static void
witness_cb(evutil_socket_t fd, short what, void *arg)
{
    struct stresser *s = arg;

    (void)fd;
    (void)what;
    astore(&s->witnessed, 1);
}

static void *
stresser_main(void *arg)
{
    struct stresser *s = arg;
    struct event *evs[STRESS_EVENTS], *witness;
    struct timeval tv;
    int i, k;

    for (i = 0; i < STRESS_EVENTS; ++i)
        evs[i] = event_new(s->base, -1, i % 2 ? EV_PERSIST : 0, stress_cb,
            NULL);
    for (i = 0; i < STRESS_ROUNDS; ++i) {
        s->seed = s->seed * 1103515245u + 12345u;
        k = (int)((s->seed >> 8) % STRESS_EVENTS);
        switch ((s->seed >> 20) % 5) {
        case 0:
            tu_tv(&tv, (long)((s->seed >> 4) % 3));
            if (event_add(evs[k], &tv) != 0)
                s->errors++;
            break;
        case 1:
            event_active(evs[k], EV_TIMEOUT, 0);
            break;
        case 2:
            if (event_del(evs[k]) != 0)
                s->errors++;
            break;
        case 3:
            /* Replace the event entirely while the loop may run it. */
            event_free(evs[k]);
            evs[k] = event_new(s->base, -1, 0, stress_cb, NULL);
            break;
        default:
            event_active(evs[k], EV_READ, 0);
            if (event_del_noblock(evs[k]) != 0)
                s->errors++;
            break;
        }
    }
    /* Under load, an activation from this thread still gets run. */
    witness = event_new(s->base, -1, 0, witness_cb, s);
    event_active(witness, EV_TIMEOUT, 0);
    if (wait_flag(&s->witnessed, 10000) != 0)
        s->errors++;
    event_free(witness);
    for (i = 0; i < STRESS_EVENTS; ++i)
        event_free(evs[i]);
    if (__atomic_add_fetch(&stress_done, 1, __ATOMIC_SEQ_CST) ==
        STRESS_THREADS)
        event_base_loopexit(s->base, NULL);
    return NULL;
}

/* event_base_free runs pending finalizers without holding the base lock,
 * as libevent does: a finalizer may take a lock that other code holds
 * while it takes the base's (a bufferevent's finalizer takes the
 * bufferevent's lock, whose holders call event_add), so running it under
 * the base lock inverts the lock order.  The finalizer here checks that
 * another thread can take the base lock meanwhile. */
struct free_fin {
    struct event_base *base;
    int probed;  /* the probe thread got through the base lock */
    int in_time; /* ...while the finalizer waited for it */
    int calls;
};

static void *
free_fin_probe(void *arg)
{
    struct free_fin *f = arg;

    (void)event_base_get_num_events(f->base, EVENT_BASE_COUNT_ADDED);
    astore(&f->probed, 1);
    return NULL;
}

static void
free_fin_cb(struct event *ev, void *arg)
{
    struct free_fin *f = arg;
    pthread_t th;

    (void)ev;
    f->calls++;
    if (pthread_create(&th, NULL, free_fin_probe, f) != 0)
        return;
    if (wait_flag(&f->probed, 2000) == 0) {
        f->in_time = 1;
        pthread_join(th, NULL);
    } else {
        /* Blocked on the lock: the test fails below. */
        pthread_detach(th);
    }
}

static void
test_thread_free_runs_finalizer_unlocked(void **state)
{
    struct free_fin f;
    struct event *ev;

    (void)state;
    memset(&f, 0, sizeof(f));
    f.base = event_base_new();
    assert_non_null(f.base);
    /* The finalizer gets the event's argument. */
    ev = event_new(f.base, -1, 0, stress_cb, &f);
    assert_non_null(ev);
    /* Queued, never run: event_base_free runs it. */
    assert_int_equal(event_free_finalize(0, ev, free_fin_cb), 0);
    event_base_free(f.base);
    assert_int_equal(f.calls, 1);
    assert_int_equal(f.in_time, 1);
}

static void
test_thread_stress_shared_base(void **state)
{
    struct event_base *base = *state;
    struct stresser st[STRESS_THREADS];
    pthread_t th[STRESS_THREADS];
    int i, a0;

    astore(&stress_calls, 0);
    astore(&stress_done, 0);
    a0 = event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED);
    for (i = 0; i < STRESS_THREADS; ++i) {
        st[i].base = base;
        st[i].seed = 77u + (unsigned)i;
        st[i].errors = 0;
        st[i].witnessed = 0;
        assert_int_equal(pthread_create(&th[i], NULL, stresser_main,
            &st[i]), 0);
    }
    /* The loop runs until the last thread asks it to exit. */
    assert_int_equal(tu_run(base, 20000), 0);
    for (i = 0; i < STRESS_THREADS; ++i) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(st[i].errors, 0);
        assert_int_equal(aload(&st[i].witnessed), 1);
    }
    assert_int_equal(event_base_get_num_events(base,
        EVENT_BASE_COUNT_ADDED), a0);
    assert_int_equal(event_base_get_num_events(base,
        EVENT_BASE_COUNT_ACTIVE), 0);
    /* The base still works. */
    {
        struct event *ev;
        struct wake w;

        memset(&w, 0, sizeof(w));
        ev = event_new(base, -1, 0, wake_cb, &w);
        assert_int_equal(run_with_actor(base, ev, ACT_ACTIVE, &w), 0);
        assert_prompt(&w);
        event_free(ev);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_thread_add_wakes_loop,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_thread_io_add_wakes_loop,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_thread_active_wakes_loop,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_thread_once_wakes_loop,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_thread_del_wakes_loop,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_thread_loopbreak_from_thread,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_thread_loopexit_from_thread,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_thread_make_base_notifiable,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_thread_del_waits_for_callback,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_thread_del_ready_persistent,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_thread_del_readded_in_callback,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_thread_del_ready_event,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_thread_del_noblock,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_thread_del_finalize_flag,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(
            test_thread_free_finalize_while_running, tu_setup, tu_teardown),
        cmocka_unit_test(test_thread_free_runs_finalizer_unlocked),
        cmocka_unit_test_setup_teardown(test_thread_stress_shared_base,
            tu_setup, tu_teardown),
    };
    const char *dbg = getenv("EVTEST_DEBUG_MODE");

    if (evthread_use_pthreads() != 0) {
        fprintf(stderr, "evthread_use_pthreads() failed\n");
        return 1;
    }
    if (dbg != NULL && strcmp(dbg, "1") == 0)
        evthread_enable_lock_debugging();
    tu_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

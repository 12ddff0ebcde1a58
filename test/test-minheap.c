/*
 * test-minheap.c: unit tests of the timer heap (src/minheap-internal.h).
 *
 * TEST-STATIC: the header is included directly and driven with bare
 * struct events, no event_base involved.
 *
 * The heap orders on deadlines alone; the order among equal deadlines
 * comes from min_heap_ties_, which lists the events of the first
 * deadline in the order they were last (re)scheduled, as the loop fires
 * them (next_as_loop below does what timeout_process does).
 *
 * The random test runs long push/pop/erase/adjust sequences against a
 * model that knows which events are in the heap, their deadlines and the
 * order in which each was last (re)scheduled; the next event the loop
 * would fire must be the model's (deadline, schedule order) minimum, a
 * pop must return one with the model's earliest deadline, and after
 * every operation the whole heap is checked: no child has an earlier
 * deadline than its parent, each entry's cached deadline matches its
 * event, and every event's index points back at its entry.  Set
 * MINHEAP_SEED to replay a failing sequence.  A second model test mixes
 * in O(1) postponing (min_heap_postpone_), settling stale tops first as
 * the loop does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event2/event.h"
#include "event2/event_struct.h"
#include "minheap-internal.h"

#define POOL 2048
#define RANDOM_OPS 100000

struct model_ent {
    int in_heap;
    ev_uint64_t order; /* when last pushed or adjusted */
};

static struct event pool[POOL];
/* Reallocations of more bytes than this fail (0: none fail). */
static size_t refuse_above;

static void *
t_malloc(size_t sz)
{
    return malloc(sz);
}

static void *
t_realloc(void *p, size_t sz)
{
    if (refuse_above && sz > refuse_above)
        return NULL;
    return realloc(p, sz);
}

static void
t_free(void *p)
{
    free(p);
}
static struct model_ent model[POOL];
static ev_uint64_t model_clock;
static ev_uint64_t rng_state;

static ev_uint32_t
rnd(void)
{
    /* xorshift64*: deterministic for a given seed. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (ev_uint32_t)((rng_state * 2685821657736338717ULL) >> 32);
}

static void
set_deadline(struct event *ev, long sec, long usec)
{
    ev->ev_timeout.tv_sec = sec;
    ev->ev_timeout.tv_usec = usec;
}

static ev_int64_t
deadline_of(const struct event *ev)
{
    return (ev_int64_t)ev->ev_timeout.tv_sec * 1000000 +
           ev->ev_timeout.tv_usec;
}

static int
idx_of(const struct event *ev)
{
    return ev->ev_timeout_pos.min_heap_idx;
}

/* The whole-heap invariant; fails the test at the first violation. */
static void
check_heap(const struct min_heap *h)
{
    unsigned i;

    assert_true(h->n <= h->a);
    for (i = 0; i < h->n; ++i) {
        const struct min_heap_entry *e = &h->p[i];
        assert_non_null(e->ev);
        assert_int_equal(idx_of(e->ev), (int)i);
        assert_true(e->deadline == deadline_of(e->ev));
        if (i > 0) {
            const struct min_heap_entry *parent =
                &h->p[(i - 1) / MIN_HEAP_ARITY_];
            /* A child must never fire strictly before its parent. */
            assert_false(min_heap_before_(e, parent));
        }
    }
}

/* The model's next event: smallest deadline, then earliest scheduled. */
static int
model_min(void)
{
    int i, best = -1;
    for (i = 0; i < POOL; ++i) {
        if (!model[i].in_heap)
            continue;
        if (best < 0 || deadline_of(&pool[i]) < deadline_of(&pool[best]) ||
            (deadline_of(&pool[i]) == deadline_of(&pool[best]) &&
                model[i].order < model[best].order))
            best = i;
    }
    return best;
}

static int
model_count(void)
{
    int i, n = 0;
    for (i = 0; i < POOL; ++i)
        n += model[i].in_heap;
    return n;
}

static void
reset_pool(void)
{
    int i;
    memset(pool, 0, sizeof(pool));
    memset(model, 0, sizeof(model));
    model_clock = 0;
    for (i = 0; i < POOL; ++i)
        min_heap_elem_init_(&pool[i]);
}

/* The event the loop fires next (see timeout_process in event.c):
 * stale tops settled, then the first event of min_heap_ties_ whose entry
 * is fresh.  NULL when the heap is empty. */
static struct event *
next_as_loop(struct min_heap *h)
{
    struct min_heap_tie_ *ties;
    unsigned i, n;

    while (h->n && min_heap_entry_is_stale_(&h->p[0]))
        min_heap_settle_top_(h);
    if (h->n == 0)
        return NULL;
    n = min_heap_ties_(h, &ties);
    assert_true(n >= 1);
    for (i = 1; i < n; ++i)
        assert_true(ties[i - 1].seq < ties[i].seq);
    for (i = 0; i < n; ++i) {
        const struct min_heap_entry *e =
            &h->p[ties[i].ev->ev_timeout_pos.min_heap_idx];
        assert_ptr_equal(e->ev, ties[i].ev);
        assert_true(e->deadline == h->p[0].deadline);
        if (!min_heap_entry_is_stale_(e))
            return ties[i].ev;
    }
    fail_msg("no fresh entry among %u ties", n);
    return NULL;
}

/* Fire the loop's next event: take it out of the heap. */
static struct event *
fire_next(struct min_heap *h)
{
    struct event *ev = next_as_loop(h);
    if (ev != NULL)
        assert_int_equal(min_heap_erase_(h, ev), 0);
    return ev;
}

/* Few distinct deadlines, so that ties are common. */
static void
random_deadline(struct event *ev)
{
    set_deadline(ev, (long)(rnd() % 64), (long)(rnd() % 4) * 250000);
}

static int
random_member(int want_in_heap)
{
    int tries;
    for (tries = 0; tries < 4 * POOL; ++tries) {
        int i = (int)(rnd() % POOL);
        if (model[i].in_heap == want_in_heap)
            return i;
    }
    return -1;
}

static void
test_random_against_model(void **state)
{
    struct min_heap h;
    const char *seed_env = getenv("MINHEAP_SEED");
    ev_uint64_t seed = seed_env ? strtoull(seed_env, NULL, 0) : 0x5eed1234ULL;
    int op, pops = 0, erases = 0, adjusts = 0;

    (void)state;
    rng_state = seed ? seed : 1;
    reset_pool();
    min_heap_ctor_(&h);

    for (op = 0; op < RANDOM_OPS; ++op) {
        int n = (int)min_heap_size_(&h);
        /* Keep the heap around a quarter of the pool: push more when
         * small, remove more when large. */
        unsigned push_pct = n < POOL / 4 ? 55 : 30;
        unsigned r = rnd() % 100;
        int i;

        if (r < push_pct || n == 0) {
            i = random_member(0);
            if (i < 0)
                continue;
            random_deadline(&pool[i]);
            assert_int_equal(min_heap_push_(&h, &pool[i]), 0);
            model[i].in_heap = 1;
            model[i].order = model_clock++;
        } else if (r < push_pct + 25) {
            int want = model_min();
            struct event *top = min_heap_top_(&h);
            struct event *got;
            assert_true(min_heap_elt_is_top_(top));
            assert_true(deadline_of(top) == deadline_of(&pool[want]));
            if (rnd() % 2) {
                /* The loop's order: ties in schedule order. */
                got = fire_next(&h);
                assert_ptr_equal(got, &pool[want]);
            } else {
                /* A bare pop: one of the earliest, the top. */
                got = min_heap_pop_(&h);
                assert_ptr_equal(got, top);
                want = (int)(got - pool);
            }
            assert_int_equal(idx_of(got), -1);
            model[want].in_heap = 0;
            ++pops;
        } else if (r < push_pct + 45) {
            i = random_member(1);
            if (i < 0)
                continue;
            assert_int_equal(min_heap_erase_(&h, &pool[i]), 0);
            assert_int_equal(idx_of(&pool[i]), -1);
            /* A second erase is refused. */
            assert_int_equal(min_heap_erase_(&h, &pool[i]), -1);
            model[i].in_heap = 0;
            ++erases;
        } else {
            /* Reschedule a pending event (sometimes to the deadline it
             * already has), or adjust one not in the heap, which pushes. */
            i = random_member((rnd() % 8) != 0);
            if (i < 0)
                continue;
            if (rnd() % 4 != 0)
                random_deadline(&pool[i]);
            assert_int_equal(min_heap_adjust_(&h, &pool[i]), 0);
            model[i].in_heap = 1;
            model[i].order = model_clock++;
            ++adjusts;
        }
        assert_int_equal((int)min_heap_size_(&h), model_count());
        assert_int_equal(min_heap_empty_(&h), model_count() == 0);
        check_heap(&h);
    }

    /* Drain: everything fires in model order. */
    while (!min_heap_empty_(&h)) {
        int want = model_min();
        assert_ptr_equal(fire_next(&h), &pool[want]);
        model[want].in_heap = 0;
        check_heap(&h);
    }
    assert_int_equal(model_min(), -1);
    assert_null(min_heap_pop_(&h));
    assert_null(min_heap_top_(&h));
    assert_true(pops > 1000 && erases > 1000 && adjusts > 1000);
    min_heap_dtor_(&h);
}

static void
test_equal_deadlines_fifo(void **state)
{
    struct min_heap h;
    int i;

    (void)state;
    reset_pool();
    min_heap_ctor_(&h);
    /* Interleave two deadlines; each must fire in push order. */
    for (i = 0; i < 500; ++i) {
        set_deadline(&pool[i], (i % 2) ? 7 : 5, 0);
        assert_int_equal(min_heap_push_(&h, &pool[i]), 0);
    }
    check_heap(&h);
    for (i = 0; i < 500; i += 2)
        assert_ptr_equal(fire_next(&h), &pool[i]);
    for (i = 1; i < 500; i += 2)
        assert_ptr_equal(fire_next(&h), &pool[i]);
    assert_true(min_heap_empty_(&h));
    assert_null(next_as_loop(&h));
    min_heap_dtor_(&h);
}

/* Entries with equal deadlines never move past each other: a push stays
 * where it lands, and erasing the first of them (the usual end of a
 * timeout that did not fire, in the order they were added) moves the
 * last entry into its place and no further. */
static void
test_equal_deadlines_stay(void **state)
{
    struct min_heap h;
    int i, n = 1000;

    (void)state;
    reset_pool();
    min_heap_ctor_(&h);
    for (i = 0; i < n; ++i) {
        set_deadline(&pool[i], 30, 0);
        assert_int_equal(min_heap_push_(&h, &pool[i]), 0);
        assert_int_equal(idx_of(&pool[i]), i);
    }
    for (i = 0; i < n - 1; ++i) {
        struct event *last = h.p[h.n - 1].ev;
        assert_int_equal(min_heap_erase_(&h, min_heap_top_(&h)), 0);
        assert_ptr_equal(h.p[0].ev, last);
        check_heap(&h);
    }
    min_heap_dtor_(&h);
}

/* A long run of ties in scrambled schedule order (each re-stamped by an
 * adjust to the same deadline, in random order) is still listed in
 * schedule order: past the insertion sort's reach, in place when the
 * sequence numbers are consecutive (TIES_CONSECUTIVE), by the radix sort
 * when they are not (TIES_GAPS: another event is rescheduled after every
 * fourth; TIES_SPARSE: twice after each, so that the numbers span more
 * radix digits), by the heapsort when the scratch array cannot grow past
 * the list (TIES_NO_ROOM, sparse too). */
enum { TIES_CONSECUTIVE, TIES_GAPS, TIES_SPARSE, TIES_NO_ROOM };

static void
ties_sorted_large(int how)
{
    static struct event spare;
    struct min_heap h;
    int perm[POOL], i, j, n = POOL;
    struct event *ev;

    rng_state = 0x7135ULL;
    reset_pool();
    min_heap_elem_init_(&spare);
    min_heap_ctor_(&h);
    for (i = 0; i < n; ++i) {
        set_deadline(&pool[i], 9, 0);
        assert_int_equal(min_heap_push_(&h, &pool[i]), 0);
        perm[i] = i;
    }
    set_deadline(&spare, 20, 0);
    assert_int_equal(min_heap_push_(&h, &spare), 0);
    for (i = n - 1; i > 0; --i) {
        int t;
        j = (int)(rnd() % (unsigned)(i + 1));
        t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (i = 0; i < n; ++i) {
        assert_int_equal(min_heap_adjust_(&h, &pool[perm[i]]), 0);
        if (how == TIES_SPARSE || how == TIES_NO_ROOM) {
            assert_int_equal(min_heap_adjust_(&h, &spare), 0);
            assert_int_equal(min_heap_adjust_(&h, &spare), 0);
        } else if (how == TIES_GAPS && i % 4 == 3) {
            assert_int_equal(min_heap_adjust_(&h, &spare), 0);
        }
    }
    check_heap(&h);
    if (how == TIES_NO_ROOM) /* room for the list, not for more */
        refuse_above = POOL * sizeof(struct min_heap_tie_);
    /* next_as_loop checks the whole list is in sequence order. */
    for (i = 0; i < n; ++i) {
        ev = fire_next(&h);
        assert_ptr_equal(ev, &pool[perm[i]]);
        if (i % 97 == 0)
            check_heap(&h);
    }
    assert_ptr_equal(fire_next(&h), &spare);
    assert_true(min_heap_empty_(&h));
    if (how == TIES_NO_ROOM)
        assert_true(h.ties_a <= POOL);
    refuse_above = 0;
    min_heap_dtor_(&h);
    assert_null(h.ties);
}

static void
test_ties_sorted_consecutive(void **state)
{
    (void)state;
    ties_sorted_large(TIES_CONSECUTIVE);
}

static void
test_ties_sorted_gaps(void **state)
{
    (void)state;
    ties_sorted_large(TIES_GAPS);
}

static void
test_ties_sorted_sparse(void **state)
{
    (void)state;
    ties_sorted_large(TIES_SPARSE);
}

static void
test_ties_sorted_no_room(void **state)
{
    (void)state;
    ties_sorted_large(TIES_NO_ROOM);
}

/* A scratch array grown past MIN_HEAP_TIES_KEEP_ ties is kept while the
 * heap still holds a quarter of its size in timers, and given back by
 * min_heap_ties_trim_ once it does not; a small one is always kept. */
static void
test_ties_trim(void **state)
{
    struct min_heap h;
    struct min_heap_tie_ *ties;
    unsigned n = 3 * MIN_HEAP_TIES_KEEP_, i;
    struct event *evs = calloc(n, sizeof(*evs));

    (void)state;
    assert_non_null(evs);
    min_heap_ctor_(&h);
    for (i = 0; i < n; ++i) {
        min_heap_elem_init_(&evs[i]);
        set_deadline(&evs[i], 4, 0);
        assert_int_equal(min_heap_push_(&h, &evs[i]), 0);
    }
    /* Re-stamped last to first: the run is in reverse order. */
    for (i = n; i-- > 0;)
        assert_int_equal(min_heap_adjust_(&h, &evs[i]), 0);
    assert_int_equal(min_heap_ties_(&h, &ties), n);
    for (i = 0; i < n; ++i)
        assert_ptr_equal(ties[i].ev, &evs[n - 1 - i]);
    assert_true(h.ties_a > MIN_HEAP_TIES_KEEP_);
    min_heap_ties_trim_(&h); /* the heap is still full: kept */
    assert_non_null(h.ties);
    for (i = 0; i + 10 < n; ++i)
        assert_int_equal(min_heap_erase_(&h, &evs[i]), 0);
    min_heap_ties_trim_(&h); /* ten left: given back */
    assert_null(h.ties);
    assert_int_equal(h.ties_a, 0);
    /* A short run afterwards: a small array, kept. */
    assert_int_equal(min_heap_ties_(&h, &ties), 10);
    min_heap_ties_trim_(&h);
    assert_non_null(h.ties);
    min_heap_dtor_(&h);
    free(evs);
}

static void
test_adjust_goes_behind_equals(void **state)
{
    struct min_heap h;
    struct event *a = &pool[0], *b = &pool[1], *c = &pool[2], *d = &pool[3];

    (void)state;
    reset_pool();
    min_heap_ctor_(&h);
    set_deadline(a, 1, 0);
    set_deadline(b, 1, 0);
    set_deadline(c, 1, 0);
    set_deadline(d, 0, 500000);
    assert_int_equal(min_heap_push_(&h, a), 0);
    assert_int_equal(min_heap_push_(&h, b), 0);
    assert_int_equal(min_heap_push_(&h, c), 0);
    assert_int_equal(min_heap_push_(&h, d), 0);

    /* Same deadline again: a moves behind b and c. */
    assert_int_equal(min_heap_adjust_(&h, a), 0);
    check_heap(&h);
    /* d moves from earlier to equal: it goes last. */
    set_deadline(d, 1, 0);
    assert_int_equal(min_heap_adjust_(&h, d), 0);
    check_heap(&h);

    assert_ptr_equal(fire_next(&h), b);
    assert_ptr_equal(fire_next(&h), c);
    assert_ptr_equal(fire_next(&h), a);
    assert_ptr_equal(fire_next(&h), d);
    assert_null(fire_next(&h));
    min_heap_dtor_(&h);
}

static void
test_erase_positions(void **state)
{
    struct min_heap h;
    int i, n = 200;

    (void)state;
    reset_pool();
    min_heap_ctor_(&h);
    /* Erase the top, the last entry, and inner entries whose
     * replacement must move up (a small deadline at the end). */
    for (i = 0; i < n; ++i) {
        set_deadline(&pool[i], 100 + i, 0);
        assert_int_equal(min_heap_push_(&h, &pool[i]), 0);
    }
    set_deadline(&pool[n], 0, 1);
    assert_int_equal(min_heap_push_(&h, &pool[n]), 0);
    check_heap(&h);
    assert_int_equal(min_heap_erase_(&h, h.p[h.n - 1].ev), 0);
    check_heap(&h);
    assert_int_equal(min_heap_erase_(&h, min_heap_top_(&h)), 0);
    check_heap(&h);
    set_deadline(&pool[n + 1], 0, 2);
    assert_int_equal(min_heap_push_(&h, &pool[n + 1]), 0);
    for (i = 0; i < 50 && !min_heap_empty_(&h); ++i) {
        unsigned k = h.n > 5 ? 5 : h.n - 1;
        assert_int_equal(min_heap_erase_(&h, h.p[k].ev), 0);
        check_heap(&h);
    }
    /* Not in the heap (never pushed, or already gone). */
    assert_int_equal(min_heap_erase_(&h, &pool[POOL - 1]), -1);
    min_heap_dtor_(&h);
    assert_null(h.p);
    assert_int_equal(h.n, 0);
}

static void
test_adjust_directions(void **state)
{
    struct min_heap h;
    int i;

    (void)state;
    reset_pool();
    min_heap_ctor_(&h);
    for (i = 0; i < 300; ++i) {
        set_deadline(&pool[i], 10 + i, 0);
        assert_int_equal(min_heap_push_(&h, &pool[i]), 0);
    }
    /* Latest to earliest, earliest to latest, middle to the top. */
    set_deadline(&pool[299], 1, 0);
    assert_int_equal(min_heap_adjust_(&h, &pool[299]), 0);
    check_heap(&h);
    assert_ptr_equal(min_heap_top_(&h), &pool[299]);
    set_deadline(&pool[299], 1000, 0);
    assert_int_equal(min_heap_adjust_(&h, &pool[299]), 0);
    check_heap(&h);
    assert_ptr_equal(min_heap_top_(&h), &pool[0]);
    set_deadline(&pool[150], 10, 0); /* ties with pool[0], goes after */
    assert_int_equal(min_heap_adjust_(&h, &pool[150]), 0);
    check_heap(&h);
    assert_ptr_equal(fire_next(&h), &pool[0]);
    assert_ptr_equal(fire_next(&h), &pool[150]);
    assert_ptr_equal(fire_next(&h), &pool[1]);
    min_heap_dtor_(&h);
}

/* The invariant with postponed entries: ordered on entry deadlines, and
 * no entry later than its event's real deadline. */
static void
check_heap_lazy(const struct min_heap *h)
{
    unsigned i;

    for (i = 0; i < h->n; ++i) {
        const struct min_heap_entry *e = &h->p[i];
        assert_int_equal(idx_of(e->ev), (int)i);
        assert_true(e->deadline <= deadline_of(e->ev));
        if (i > 0)
            assert_false(
                min_heap_before_(e, &h->p[(i - 1) / MIN_HEAP_ARITY_]));
    }
}

/* Postponing (O(1) when it can) mixed with every other operation and
 * with re-keying the whole heap at once must still pop in (real
 * deadline, last schedule) order. */
static void
test_postpone_against_model(void **state)
{
    struct min_heap h;
    int op, postponed = 0, refused = 0, pops = 0, rekeys = 0;

    (void)state;
    rng_state = 0x9051901eULL;
    reset_pool();
    min_heap_ctor_(&h);
    for (op = 0; op < RANDOM_OPS; ++op) {
        int n = (int)min_heap_size_(&h);
        unsigned r = rnd() % 100;
        int i;

        if (r < (n < POOL / 4 ? 40u : 20u) || n == 0) {
            i = random_member(0);
            if (i < 0)
                continue;
            random_deadline(&pool[i]);
            assert_int_equal(min_heap_push_(&h, &pool[i]), 0);
            model[i].in_heap = 1;
            model[i].order = model_clock++;
        } else if (r < 55) {
            /* A new deadline, mostly later (or equal): postpone, else
             * adjust.  One earlier than the entry's key must be refused. */
            struct event *ev;
            ev_int64_t entry_deadline;
            long delta;
            i = random_member(1);
            if (i < 0)
                continue;
            ev = &pool[i];
            entry_deadline = h.p[ev->ev_timeout_pos.min_heap_idx].deadline;
            delta = (long)(rnd() % 4) - 1;
            set_deadline(ev, ev->ev_timeout.tv_sec + delta,
                ev->ev_timeout.tv_usec);
            if (min_heap_postpone_(&h, ev)) {
                /* Never earlier than the entry's (maybe stale) key. */
                assert_true(deadline_of(ev) >= entry_deadline);
                ++postponed;
            } else {
                ++refused;
                assert_int_equal(min_heap_adjust_(&h, ev), 0);
            }
            model[i].order = model_clock++;
        } else if (r < 65) {
            /* Any new deadline through adjust (may be earlier). */
            i = random_member(1);
            if (i < 0)
                continue;
            random_deadline(&pool[i]);
            assert_int_equal(min_heap_adjust_(&h, &pool[i]), 0);
            model[i].order = model_clock++;
        } else if (r < 80) {
            i = random_member(1);
            if (i < 0)
                continue;
            assert_int_equal(min_heap_erase_(&h, &pool[i]), 0);
            model[i].in_heap = 0;
        } else if (r < 97) {
            int want = model_min();
            assert_ptr_equal(fire_next(&h), &pool[want]);
            model[want].in_heap = 0;
            ++pops;
        } else {
            /* Re-key everything at once: no stale entry is left, and
             * the order the model expects is unchanged. */
            min_heap_rekey_all_(&h);
            check_heap(&h);
            ++rekeys;
        }
        check_heap_lazy(&h);
    }
    while (!min_heap_empty_(&h)) {
        int want = model_min();
        assert_ptr_equal(fire_next(&h), &pool[want]);
        model[want].in_heap = 0;
        check_heap_lazy(&h);
    }
    /* Both outcomes of min_heap_postpone_ were exercised. */
    assert_true(postponed > 1000 && refused > 100 && pops > 1000 &&
                rekeys > 100);
    min_heap_dtor_(&h);
}

/* An event not in the heap or moved earlier is never postponed; a leaf
 * is re-keyed in place, exactly; an inner entry is left in place, stale,
 * even when a child ties with it (the order among ties is not the
 * heap's). */
static void
test_postpone_refusals(void **state)
{
    struct min_heap h;
    int i;

    (void)state;
    reset_pool();
    min_heap_ctor_(&h);
    set_deadline(&pool[0], 5, 0);
    assert_int_equal(min_heap_postpone_(&h, &pool[0]), 0); /* not in */
    assert_int_equal(min_heap_push_(&h, &pool[0]), 0);
    for (i = 1; i <= 4; ++i) { /* the root's four children */
        set_deadline(&pool[i], 8 + i, 0);
        assert_int_equal(min_heap_push_(&h, &pool[i]), 0);
    }
    set_deadline(&pool[0], 4, 0); /* earlier */
    assert_int_equal(min_heap_postpone_(&h, &pool[0]), 0);
    assert_int_equal(min_heap_adjust_(&h, &pool[0]), 0);
    set_deadline(&pool[4], 30, 0); /* a leaf: re-keyed in place, exact */
    assert_int_equal(min_heap_postpone_(&h, &pool[4]), 1);
    assert_int_equal(pool[4].ev_timeout_pos.min_heap_idx, 4);
    assert_false(min_heap_entry_is_stale_(&h.p[4]));
    check_heap(&h);

    /* A re-arm of the root (an inner entry): left in place, stale,
     * twice over. */
    set_deadline(&pool[0], 6, 0);
    assert_int_equal(min_heap_postpone_(&h, &pool[0]), 1);
    assert_ptr_equal(h.p[0].ev, &pool[0]);
    assert_true(min_heap_entry_is_stale_(&h.p[0]));
    check_heap_lazy(&h);
    set_deadline(&pool[0], 20, 0);
    assert_int_equal(min_heap_postpone_(&h, &pool[0]), 1);
    assert_ptr_equal(h.p[0].ev, &pool[0]);
    assert_true(min_heap_entry_is_stale_(&h.p[0]));
    check_heap_lazy(&h);
    assert_ptr_equal(fire_next(&h), &pool[1]);
    assert_ptr_equal(fire_next(&h), &pool[2]);
    assert_ptr_equal(fire_next(&h), &pool[3]);
    assert_ptr_equal(fire_next(&h), &pool[0]);
    assert_ptr_equal(fire_next(&h), &pool[4]);
    assert_true(min_heap_empty_(&h));

    /* A child with the root entry's deadline: the root is postponed in
     * place all the same, and fires after the child. */
    set_deadline(&pool[0], 5, 0);
    assert_int_equal(min_heap_push_(&h, &pool[0]), 0);
    set_deadline(&pool[1], 5, 0);
    assert_int_equal(min_heap_push_(&h, &pool[1]), 0);
    set_deadline(&pool[0], 7, 0);
    assert_int_equal(min_heap_postpone_(&h, &pool[0]), 1);
    assert_ptr_equal(h.p[0].ev, &pool[0]);
    assert_true(min_heap_entry_is_stale_(&h.p[0]));
    check_heap_lazy(&h);
    /* Back to the deadline it ties on: after the child, which was
     * scheduled before. */
    set_deadline(&pool[0], 5, 0);
    assert_int_equal(min_heap_postpone_(&h, &pool[0]), 1);
    assert_false(min_heap_entry_is_stale_(&h.p[0]));
    check_heap(&h);
    assert_ptr_equal(fire_next(&h), &pool[1]);
    assert_ptr_equal(fire_next(&h), &pool[0]);
    min_heap_dtor_(&h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_equal_deadlines_fifo),
        cmocka_unit_test(test_equal_deadlines_stay),
        cmocka_unit_test(test_ties_sorted_consecutive),
        cmocka_unit_test(test_ties_sorted_gaps),
        cmocka_unit_test(test_ties_sorted_sparse),
        cmocka_unit_test(test_ties_sorted_no_room),
        cmocka_unit_test(test_ties_trim),
        cmocka_unit_test(test_adjust_goes_behind_equals),
        cmocka_unit_test(test_erase_positions),
        cmocka_unit_test(test_adjust_directions),
        cmocka_unit_test(test_postpone_against_model),
        cmocka_unit_test(test_postpone_refusals),
    };
    event_set_mem_functions(t_malloc, t_realloc, t_free);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

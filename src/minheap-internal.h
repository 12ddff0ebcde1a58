/*
 * minheap-internal.h: the timer heap.
 *
 * A 4-ary min-heap of (deadline, event) pairs kept in one array.  The
 * deadline is copied into the entry as microseconds so that sifting
 * touches only the array; the event keeps its own index in
 * ev_timeout_pos.min_heap_idx.
 *
 * The heap orders on the deadline alone, and an entry never moves past
 * one with the same deadline: a push with the deadline of many others
 * (timers added with one timeout in one loop iteration, which share the
 * cached time) stays where it lands, and erasing the first of them (a
 * request finished before its timeout, in the order they came) moves the
 * last entry into its place and stops there.  Both are O(1) then, as in
 * libevent, where a strict order would walk the height of the heap each
 * time.
 *
 * Equal deadlines still fire in the order they were scheduled: every push
 * or reschedule stamps the event with a sequence number, kept in the part
 * of ev_timeout_pos that heap mode leaves unused (the union's other
 * member is the common-timeout queue link, which a heap event does not
 * use), and min_heap_ties_() hands the loop all entries that share the
 * first deadline sorted on it.
 *
 * Postponing a pending event can be O(1) (min_heap_postpone_): the entry
 * keeps its old, earlier deadline and only the event's own ev_timeout
 * and sequence number change.  Such a "stale" entry reaches the top no
 * later than it should; min_heap_settle_top_() then re-keys it and sifts
 * it down.  So every entry's deadline is <= its event's real deadline,
 * and a fresh top (entry deadline == event deadline) is the true minimum.
 *
 * Invariant: for every i > 0, entry[(i-1)/4].deadline <= entry[i].deadline;
 * for every event in the heap, entry[ev->min_heap_idx].ev == ev.
 */
#ifndef MINHEAP_INTERNAL_H_INCLUDED_
#define MINHEAP_INTERNAL_H_INCLUDED_

#include "event2/event-config.h"
#include "event2/event_struct.h"
#include "event2/util.h"

#include <stddef.h>
#include <string.h>

#include "mm-internal.h"

struct min_heap_entry {
    ev_int64_t deadline;
    struct event *ev;
};

/* One event of a run of equal deadlines, with its sequence number. */
struct min_heap_tie_ {
    ev_uint64_t seq;
    struct event *ev;
};

struct min_heap {
    struct min_heap_entry *p;
    unsigned n, a;
    ev_uint64_t next_seq;
    /* Scratch space of min_heap_ties_(), kept between calls. */
    struct min_heap_tie_ *ties;
    unsigned ties_a;
};

/* The heap-mode view of ev_timeout_pos: the int index where the public
 * min_heap_idx is, then the tie-break sequence, 16 bytes, the size and
 * alignment of the union (two pointers) on the 64-bit targets we build
 * for (checked below). */
struct min_heap_pos_ {
    int idx;
    ev_uint64_t seq;
};

#define MIN_HEAP_POS_(e) ((struct min_heap_pos_ *)(void *)&(e)->ev_timeout_pos)
/* The heap view must fit in the public union (x86-64 and other LP64 or
 * LLP64 targets: two pointers, 16 bytes). */
typedef char min_heap_pos_fits_[
    (sizeof(struct min_heap_pos_) <=
        sizeof(((struct event *)0)->ev_timeout_pos) &&
     __alignof__(struct min_heap_pos_) <=
        __alignof__(((struct event *)0)->ev_timeout_pos)) ? 1 : -1];
#define MIN_HEAP_ARITY_ 4

/* A hint to fetch what the loop reads a few turns later. */
#ifdef __GNUC__
#define MIN_HEAP_PREFETCH_(addr) __builtin_prefetch(addr)
#else
#define MIN_HEAP_PREFETCH_(addr) ((void)0)
#endif

static inline ev_int64_t
min_heap_key_(const struct event *e)
{
    return (ev_int64_t)e->ev_timeout.tv_sec * 1000000 +
        e->ev_timeout.tv_usec;
}

static inline ev_uint64_t
min_heap_seq_(const struct event *e)
{
    const struct min_heap_pos_ *p =
        (const struct min_heap_pos_ *)(const void *)&e->ev_timeout_pos;
    return p->seq;
}

/* Strict "a's deadline comes before b's": ties never move. */
static inline int
min_heap_before_(const struct min_heap_entry *a,
    const struct min_heap_entry *b)
{
    return a->deadline < b->deadline;
}

static inline void
min_heap_ctor_(struct min_heap *s)
{
    s->p = NULL;
    s->n = 0;
    s->a = 0;
    s->next_seq = 0;
    s->ties = NULL;
    s->ties_a = 0;
}

static inline void
min_heap_dtor_(struct min_heap *s)
{
    if (s->p)
        mm_free(s->p);
    if (s->ties)
        mm_free(s->ties);
    s->p = NULL;
    s->ties = NULL;
    s->n = s->a = s->ties_a = 0;
}

static inline void
min_heap_elem_init_(struct event *e)
{
    MIN_HEAP_POS_(e)->idx = -1;
}

static inline int
min_heap_empty_(const struct min_heap *s)
{
    return s->n == 0;
}

static inline unsigned
min_heap_size_(const struct min_heap *s)
{
    return s->n;
}

static inline struct event *
min_heap_top_(const struct min_heap *s)
{
    return s->n ? s->p[0].ev : NULL;
}

static inline int
min_heap_elt_is_top_(const struct event *e)
{
    return ((const struct min_heap_pos_ *)(const void *)&e->ev_timeout_pos)
               ->idx == 0;
}

/* Store ent at p[i] and tell its event where it is. */
static inline void
min_heap_set_(struct min_heap_entry *p, unsigned i, struct min_heap_entry ent)
{
    p[i] = ent;
    MIN_HEAP_POS_(ent.ev)->idx = (int)i;
}

static inline void
min_heap_place_(struct min_heap *s, unsigned i, struct min_heap_entry ent)
{
    min_heap_set_(s->p, i, ent);
}

static inline void
min_heap_sift_up_(struct min_heap *s, unsigned i, struct min_heap_entry ent)
{
    while (i > 0) {
        unsigned parent = (i - 1) / MIN_HEAP_ARITY_;
        if (!min_heap_before_(&ent, &s->p[parent]))
            break;
        min_heap_place_(s, i, s->p[parent]);
        i = parent;
    }
    min_heap_place_(s, i, ent);
}

/* The earliest of the children first .. s->n - 1 of the heap's last
 * inner node, which has fewer than four (first < s->n). */
static inline unsigned
min_heap_best_child_(const struct min_heap *s, unsigned first)
{
    const struct min_heap_entry *p = s->p;
    unsigned best = first, c;
    for (c = first + 1; c < s->n; ++c)
        if (min_heap_before_(&p[c], &p[best]))
            best = c;
    return best;
}

/* Place ent in the subtree under the hole at i, whose parent (if any)
 * fires no later than ent.  It stops at the first level where no child
 * is strictly earlier: among equal deadlines nothing moves.  Where all
 * four children exist (every level but the last inner node's), the
 * earliest is found by a tournament on deadlines held in registers; its
 * branches let the processor fetch the next level ahead, which measured
 * faster than conditional moves on random deadlines. */
static inline void
min_heap_sift_down_(struct min_heap *s, unsigned i,
    struct min_heap_entry ent)
{
    struct min_heap_entry *p = s->p;
    unsigned n = s->n;
    /* Nodes below full have all four children (4i + 4 < n). */
    unsigned full = n >= 5 ? (n - 5) / MIN_HEAP_ARITY_ + 1 : 0;

    while (i < full) {
        const struct min_heap_entry *c = &p[i * MIN_HEAP_ARITY_ + 1];
        const struct min_heap_entry *ma = c, *mb = c + 2;
        ev_int64_t da = c[0].deadline, db = c[2].deadline;
        ev_int64_t d1 = c[1].deadline, d3 = c[3].deadline;
        if (d1 < da) {
            ma = c + 1;
            da = d1;
        }
        if (d3 < db) {
            mb = c + 3;
            db = d3;
        }
        if (db < da) {
            ma = mb;
            da = db;
        }
        if (da >= ent.deadline)
            goto place;
        min_heap_set_(p, i, *ma);
        i = (unsigned)(ma - p);
    }
    /* The last inner node may have fewer than four children, all
     * leaves. */
    if (i * MIN_HEAP_ARITY_ + 1 < n) {
        unsigned best = min_heap_best_child_(s, i * MIN_HEAP_ARITY_ + 1);
        if (p[best].deadline < ent.deadline) {
            min_heap_set_(p, i, p[best]);
            i = best;
        }
    }
place:
    min_heap_set_(p, i, ent);
}

static inline int
min_heap_reserve_(struct min_heap *s, unsigned n)
{
    if (s->a < n) {
        struct min_heap_entry *p;
        unsigned a = s->a ? s->a * 2 : 8;
        if (a < n)
            a = n;
        if (a > (unsigned)-1 / sizeof(*p))
            return -1;
        p = (struct min_heap_entry *)mm_realloc(s->p, a * sizeof(*p));
        if (!p)
            return -1;
        s->p = p;
        s->a = a;
    }
    return 0;
}

/* Room for one more entry: 0, or -1 on ENOMEM. */
static inline int
min_heap_reserve_one_(struct min_heap *s)
{
    return min_heap_reserve_(s, s->n + 1);
}

static inline void
min_heap_stamp_(struct min_heap *s, struct event *e)
{
    MIN_HEAP_POS_(e)->seq = s->next_seq++;
}

/* Insert e, keyed on e->ev_timeout.  Returns 0, or -1 on ENOMEM. */
static inline int
min_heap_push_(struct min_heap *s, struct event *e)
{
    struct min_heap_entry ent;
    if (s->n == (unsigned)-1 / 2 || min_heap_reserve_one_(s))
        return -1;
    min_heap_stamp_(s, e);
    ent.deadline = min_heap_key_(e);
    ent.ev = e;
    min_heap_sift_up_(s, s->n++, ent);
    return 0;
}

static inline struct event *
min_heap_pop_(struct min_heap *s)
{
    struct event *e;
    if (!s->n)
        return NULL;
    e = s->p[0].ev;
    if (--s->n)
        min_heap_sift_down_(s, 0, s->p[s->n]);
    MIN_HEAP_POS_(e)->idx = -1;
    return e;
}

static inline int
min_heap_erase_(struct min_heap *s, struct event *e)
{
    int idx = MIN_HEAP_POS_(e)->idx;
    if (idx < 0)
        return -1;
    if ((unsigned)idx != --s->n) {
        struct min_heap_entry last = s->p[s->n];
        unsigned i = (unsigned)idx;
        if (i > 0 &&
            min_heap_before_(&last, &s->p[(i - 1) / MIN_HEAP_ARITY_]))
            min_heap_sift_up_(s, i, last);
        else
            min_heap_sift_down_(s, i, last);
    }
    MIN_HEAP_POS_(e)->idx = -1;
    return 0;
}

/* e's deadline changed (it is in the heap, or is pushed now); it fires
 * behind every other event with the same deadline. */
static inline int
min_heap_adjust_(struct min_heap *s, struct event *e)
{
    int idx = MIN_HEAP_POS_(e)->idx;
    struct min_heap_entry ent;
    unsigned i;
    if (idx < 0)
        return min_heap_push_(s, e);
    min_heap_stamp_(s, e);
    ent.deadline = min_heap_key_(e);
    ent.ev = e;
    i = (unsigned)idx;
    if (i > 0 && min_heap_before_(&ent, &s->p[(i - 1) / MIN_HEAP_ARITY_]))
        min_heap_sift_up_(s, i, ent);
    else
        min_heap_sift_down_(s, i, ent);
    return 0;
}

/* True when e (in the heap) took the last sequence number handed out:
 * re-stamping it would not change its order against anything. */
static inline int
min_heap_is_latest_(const struct min_heap *s, const struct event *e)
{
    return min_heap_seq_(e) + 1 == s->next_seq;
}

/* True when e's entry still has an earlier deadline than e itself. */
static inline int
min_heap_entry_is_stale_(const struct min_heap_entry *ent)
{
    return ent->deadline != min_heap_key_(ent->ev);
}

/*
 * e (in the heap) gets the key k (microseconds), not earlier than its
 * entry's deadline; the caller stores the new deadline in e->ev_timeout
 * when this returns 1.  O(1): a leaf (three quarters of a 4-ary heap)
 * is re-keyed in place, exactly; an inner entry keeps its old, earlier
 * deadline (it becomes stale, see the top of this file).  Either way e
 * takes a new sequence number, so that it fires behind every event with
 * the same deadline.  Returns 0 with nothing changed for an earlier key
 * or an event not in the heap: the caller uses min_heap_adjust_().
 *
 * A stale entry costs one sift from the root when its old deadline
 * comes (min_heap_settle_top_), where an exact move costs a sift at
 * once; an entry re-armed more often than that wins, and a timer heap's
 * re-arms are mostly idle timeouts pushed back again and again.
 */
static inline int
min_heap_postpone_at_(struct min_heap *s, struct event *e, ev_int64_t k)
{
    int idx = MIN_HEAP_POS_(e)->idx;
    if (idx < 0 || k < s->p[idx].deadline)
        return 0;
    /* A leaf moves later in place, exactly: its parent was already no
     * later than the old deadline. */
    if ((unsigned)idx * MIN_HEAP_ARITY_ + 1 >= s->n)
        s->p[idx].deadline = k;
    min_heap_stamp_(s, e);
    return 1;
}

/* min_heap_postpone_at_ for the deadline already stored in e. */
static inline int
min_heap_postpone_(struct min_heap *s, struct event *e)
{
    return min_heap_postpone_at_(s, e, min_heap_key_(e));
}

/* The top entry is stale (the heap is not empty): give it its event's
 * real deadline and sift it down to where that belongs. */
static inline void
min_heap_settle_top_(struct min_heap *s)
{
    struct min_heap_entry ent = s->p[0];
    ent.deadline = min_heap_key_(ent.ev);
    min_heap_sift_down_(s, 0, ent);
}

/* Give every stale entry its event's real deadline and restore the heap
 * order bottom up (Floyd's method): O(n) with the array read in order,
 * where settling the entries one by one from the top costs a walk down
 * the heap each.  For a heap that is mostly stale (a mass of postponed
 * timeouts come due at once). */
static inline void
min_heap_rekey_all_(struct min_heap *s)
{
    struct min_heap_entry *p = s->p;
    unsigned i, n = s->n;
    for (i = 0; i < n; ++i) {
        /* The events lie scattered: fetch some way ahead. */
        if (i + 24 < n)
            MIN_HEAP_PREFETCH_(&p[i + 24].ev->ev_timeout);
        p[i].deadline = min_heap_key_(p[i].ev);
    }
    if (n > 1)
        for (i = (n - 2) / MIN_HEAP_ARITY_ + 1; i-- > 0;)
            min_heap_sift_down_(s, i, p[i]);
}

/* Grow the scratch array to hold at least n ties; 0 on ENOMEM. */
static inline int
min_heap_ties_reserve_(struct min_heap *s, unsigned n)
{
    struct min_heap_tie_ *t;
    unsigned a = s->ties_a ? s->ties_a : 16;
    while (a < n) {
        if (a > (unsigned)-1 / 2 / sizeof(*t))
            return 0;
        a *= 2;
    }
    if (a == s->ties_a)
        return 1;
    t = (struct min_heap_tie_ *)mm_realloc(s->ties, a * sizeof(*t));
    if (!t)
        return 0;
    s->ties = t;
    s->ties_a = a;
    return 1;
}

/* The scratch array is kept between runs: growing it costs page faults
 * each time, and a heap that once had a long run of ties often gets
 * another.  It is given back once the heap holds fewer than a quarter as
 * many timers as it has room for (a mass expiry emptied the heap), and
 * never below MIN_HEAP_TIES_KEEP_ entries (64 KiB). */
#define MIN_HEAP_TIES_KEEP_ 4096

static inline void
min_heap_ties_trim_(struct min_heap *s)
{
    if (s->ties_a > MIN_HEAP_TIES_KEEP_ && s->ties_a / 4 > s->n) {
        mm_free(s->ties);
        s->ties = NULL;
        s->ties_a = 0;
    }
}

/* Put x at the hole j of the binary max-heap on seq t[0..n), moving it
 * down past larger children. */
static inline void
min_heap_tie_sift_(struct min_heap_tie_ *t, unsigned j, unsigned n,
    struct min_heap_tie_ x)
{
    while (2 * j + 1 < n) {
        unsigned c = 2 * j + 1;
        if (c + 1 < n && t[c + 1].seq > t[c].seq)
            ++c;
        if (t[c].seq <= x.seq)
            break;
        t[j] = t[c];
        j = c;
    }
    t[j] = x;
}

/* Heapsort of t[0..n) on seq, in place: the fallback when the radix sort
 * has no room.  A max-heap, then the maxima moved to the end. */
static inline void
min_heap_heapsort_ties_(struct min_heap_tie_ *t, unsigned n)
{
    unsigned i;
    for (i = n / 2; i-- > 0;)
        min_heap_tie_sift_(t, i, n, t[i]);
    for (i = n; i-- > 1;) {
        struct min_heap_tie_ x = t[i];
        t[i] = t[0];
        min_heap_tie_sift_(t, 0, i, x);
    }
}

#define MIN_HEAP_RADIX_BITS_ 11
#define MIN_HEAP_RADIX_ (1u << MIN_HEAP_RADIX_BITS_)

/* LSD radix sort of t[0..n) on seq - lo (lo: the least seq, span: the
 * greatest less lo), through tmp[0..n); the result ends in t. */
static inline void
min_heap_radix_ties_(struct min_heap_tie_ *t, struct min_heap_tie_ *tmp,
    unsigned n, ev_uint64_t lo, ev_uint64_t span)
{
    unsigned count[MIN_HEAP_RADIX_];
    unsigned i, shift;
    struct min_heap_tie_ *from = t, *to = tmp, *sw;

    for (shift = 0; shift == 0 || (shift < 64 && (span >> shift) != 0);
         shift += MIN_HEAP_RADIX_BITS_) {
        unsigned sum = 0;
        memset(count, 0, sizeof(count));
        for (i = 0; i < n; ++i)
            ++count[((from[i].seq - lo) >> shift) & (MIN_HEAP_RADIX_ - 1)];
        for (i = 0; i < MIN_HEAP_RADIX_; ++i) {
            unsigned c = count[i];
            count[i] = sum;
            sum += c;
        }
        for (i = 0; i < n; ++i)
            to[count[((from[i].seq - lo) >> shift) &
                     (MIN_HEAP_RADIX_ - 1)]++] = from[i];
        sw = from;
        from = to;
        to = sw;
    }
    if (from != t)
        memcpy(t, from, n * sizeof(*t));
}

/* Sort s->ties[0..n) on seq.  A run of equal deadlines often comes out
 * of min_heap_ties_ in order already (pushes with one deadline stay in
 * push order at the bottom): that is checked first.  A short run is
 * sorted by insertion; a long one in place when its sequence numbers
 * are consecutive (one burst), else by a radix sort through the scratch
 * array past the run, or by a heapsort in place if that array cannot
 * grow. */
static inline void
min_heap_sort_ties_(struct min_heap *s, unsigned n)
{
    struct min_heap_tie_ *t = s->ties;
    ev_uint64_t lo, hi;
    unsigned i, j;

    for (i = 1; i < n && t[i - 1].seq < t[i].seq; ++i)
        ;
    if (i == n)
        return;
    if (n <= 32) {
        for (; i < n; ++i) {
            struct min_heap_tie_ x = t[i];
            for (j = i; j > 0 && t[j - 1].seq > x.seq; --j)
                t[j] = t[j - 1];
            t[j] = x;
        }
        return;
    }
    lo = hi = t[0].seq;
    for (i = 1; i < n; ++i) {
        if (t[i].seq < lo)
            lo = t[i].seq;
        if (t[i].seq > hi)
            hi = t[i].seq;
    }
    if (hi - lo == n - 1) {
        /* The numbers are exactly lo .. lo + n - 1 (a run scheduled in
         * one burst with nothing else in between): each tie's place is
         * seq - lo; cycles of swaps put every one there, in place. */
        for (i = 0; i < n; ++i)
            while (t[i].seq - lo != i) {
                struct min_heap_tie_ x = t[t[i].seq - lo];
                t[t[i].seq - lo] = t[i];
                t[i] = x;
            }
        return;
    }
    if (n <= (unsigned)-1 / 2 && min_heap_ties_reserve_(s, 2 * n)) {
        min_heap_radix_ties_(s->ties, s->ties + n, n, lo, hi - lo);
        return;
    }
    min_heap_heapsort_ties_(t, n);
}

/*
 * Every event whose entry has the first deadline (the heap is not
 * empty), sorted on sequence number: the order in which they were last
 * scheduled.  They form a subtree under the root (no entry is earlier
 * than its parent), walked breadth first.  Stale entries are listed too;
 * the caller tells them apart.  Returns their number and sets *out to
 * the heap's scratch array, valid until the next call; 0 when that
 * array cannot grow (ENOMEM).  Reads the heap only.
 */
static inline unsigned
min_heap_ties_(struct min_heap *s, struct min_heap_tie_ **out)
{
    ev_int64_t d = s->p[0].deadline;
    struct min_heap_tie_ *t = s->ties;
    unsigned n = 1, j, c, first, last;

    if (s->ties_a == 0) {
        if (!min_heap_ties_reserve_(s, 16))
            return 0;
        t = s->ties;
    }
    /* While walking, seq holds the entry's index: the walk reads the
     * array only.  The events' own sequence numbers are read after, a
     * few ahead prefetched, as they lie scattered in memory. */
    t[0].ev = s->p[0].ev;
    t[0].seq = 0;
    for (j = 0; j < n; ++j) {
        first = (unsigned)t[j].seq * MIN_HEAP_ARITY_ + 1;
        if (first >= s->n)
            continue;
        last = first + MIN_HEAP_ARITY_;
        if (last > s->n)
            last = s->n;
        for (c = first; c < last; ++c) {
            if (s->p[c].deadline != d)
                continue;
            if (n == s->ties_a) {
                if (!min_heap_ties_reserve_(s, n + 1))
                    return 0;
                t = s->ties;
            }
            t[n].ev = s->p[c].ev;
            t[n].seq = c;
            ++n;
        }
    }
    for (j = 0; j < n; ++j) {
        if (j + 8 < n)
            MIN_HEAP_PREFETCH_(&t[j + 8].ev->ev_timeout_pos);
        t[j].seq = min_heap_seq_(t[j].ev);
    }
    if (n > 1)
        min_heap_sort_ties_(s, n);
    *out = s->ties;
    return n;
}

#endif /* MINHEAP_INTERNAL_H_INCLUDED_ */

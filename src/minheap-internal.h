/*
 * minheap-internal.h: the timer heap.
 *
 * A 4-ary min-heap of (deadline, event) pairs kept in one array.  The
 * deadline is copied into the entry as microseconds so that sifting
 * touches only the array (four children share one cache line); the
 * event keeps its own index in ev_timeout_pos.min_heap_idx.
 *
 * Equal deadlines pop in insertion order: every push or reschedule takes
 * a sequence number, stored in the event in the part of ev_timeout_pos
 * that heap mode leaves unused (the union's other member is the
 * common-timeout queue link, which a heap event does not use), and ties
 * compare it.
 *
 * Postponing a pending event can be O(1) (min_heap_postpone_): the entry
 * keeps its old, earlier deadline and only the event's own ev_timeout
 * and sequence number change.  Such a "stale" entry reaches the top no
 * later than it should; min_heap_settle_top_() then re-keys it and sifts
 * it down.  So every entry's deadline is <= its event's real deadline,
 * and a fresh top (entry deadline == event deadline) is the true minimum.
 *
 * Invariant: for every i > 0, entry[(i-1)/4] <= entry[i], comparing
 * (entry deadline, event sequence); for every event in the heap,
 * entry[ev->min_heap_idx].ev == ev.
 */
#ifndef MINHEAP_INTERNAL_H_INCLUDED_
#define MINHEAP_INTERNAL_H_INCLUDED_

#include "event2/event-config.h"
#include "event2/event_struct.h"
#include "event2/util.h"

#include <stddef.h>

#include "mm-internal.h"

struct min_heap_entry {
    ev_int64_t deadline;
    struct event *ev;
};

struct min_heap {
    struct min_heap_entry *p;
    unsigned n, a;
    ev_uint64_t next_seq;
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

/* Strict "a fires before b". */
static inline int
min_heap_before_(const struct min_heap_entry *a,
    const struct min_heap_entry *b)
{
    if (a->deadline != b->deadline)
        return a->deadline < b->deadline;
    return min_heap_seq_(a->ev) < min_heap_seq_(b->ev);
}

static inline void
min_heap_ctor_(struct min_heap *s)
{
    s->p = NULL;
    s->n = 0;
    s->a = 0;
    s->next_seq = 0;
}

static inline void
min_heap_dtor_(struct min_heap *s)
{
    if (s->p)
        mm_free(s->p);
    s->p = NULL;
    s->n = s->a = 0;
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

static inline void
min_heap_place_(struct min_heap *s, unsigned i, struct min_heap_entry ent)
{
    s->p[i] = ent;
    MIN_HEAP_POS_(ent.ev)->idx = (int)i;
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

/* The earliest of the children first .. first+3 (first < s->n): a
 * tournament of three comparisons when all four exist (most levels),
 * a scan otherwise. */
static inline unsigned
min_heap_best_child_(const struct min_heap *s, unsigned first)
{
    const struct min_heap_entry *p = s->p;
    unsigned best, c, last;
    if (first + MIN_HEAP_ARITY_ <= s->n) {
        unsigned a = min_heap_before_(&p[first + 1], &p[first]) ?
            first + 1 : first;
        unsigned b = min_heap_before_(&p[first + 3], &p[first + 2]) ?
            first + 3 : first + 2;
        return min_heap_before_(&p[b], &p[a]) ? b : a;
    }
    last = s->n;
    best = first;
    for (c = first + 1; c < last; ++c)
        if (min_heap_before_(&p[c], &p[best]))
            best = c;
    return best;
}

/* Place ent in the subtree under the hole at i, whose parent (if any)
 * fires no later than ent. */
static inline void
min_heap_sift_down_(struct min_heap *s, unsigned i,
    struct min_heap_entry ent)
{
    for (;;) {
        unsigned first = i * MIN_HEAP_ARITY_ + 1, best;
        if (first >= s->n)
            break;
        best = min_heap_best_child_(s, first);
        if (!min_heap_before_(&s->p[best], &ent))
            break;
        min_heap_place_(s, i, s->p[best]);
        i = best;
    }
    min_heap_place_(s, i, ent);
}

/* The same for an ent that most likely belongs near the bottom (the
 * heap's last entry after a pop or erase, a postponed top): walk the
 * hole down to a leaf along the earliest children, three comparisons a
 * level instead of four, then sift ent up from there. */
static inline void
min_heap_sift_down_deep_(struct min_heap *s, unsigned i,
    struct min_heap_entry ent)
{
    for (;;) {
        unsigned first = i * MIN_HEAP_ARITY_ + 1, best;
        if (first >= s->n)
            break;
        best = min_heap_best_child_(s, first);
        min_heap_place_(s, i, s->p[best]);
        i = best;
    }
    min_heap_sift_up_(s, i, ent);
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
    if (s->n == (unsigned)-1 / 2 || min_heap_reserve_(s, s->n + 1))
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
        min_heap_sift_down_deep_(s, 0, s->p[s->n]);
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
            min_heap_sift_down_deep_(s, i, last);
    }
    MIN_HEAP_POS_(e)->idx = -1;
    return 0;
}

/* e's deadline changed (it is in the heap, or is pushed now); it goes
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
 * deadline (it becomes stale, see the top of this file) and only takes
 * a new sequence number, so that it goes behind every event with the
 * same deadline.  Raising its sequence in place is only wrong when a
 * child ties with the entry's deadline: then, as for an earlier key or
 * an event not in the heap, it returns 0 with nothing changed, and the
 * caller uses min_heap_adjust_().
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
    unsigned first, last, c;
    ev_int64_t d;
    if (idx < 0)
        return 0;
    d = s->p[idx].deadline;
    if (k < d)
        return 0;
    first = (unsigned)idx * MIN_HEAP_ARITY_ + 1;
    /* A leaf moves later in place, exactly: its parent was already no
     * later than the old deadline. */
    if (first >= s->n) {
        s->p[idx].deadline = k;
        min_heap_stamp_(s, e);
        return 1;
    }
    last = first + MIN_HEAP_ARITY_;
    if (last > s->n)
        last = s->n;
    for (c = first; c < last; ++c)
        if (s->p[c].deadline == d)
            return 0;
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
    min_heap_sift_down_deep_(s, 0, ent);
}

#endif /* MINHEAP_INTERNAL_H_INCLUDED_ */

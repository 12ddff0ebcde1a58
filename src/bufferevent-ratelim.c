/*
 * bufferevent-ratelim.c: token-bucket rate limits for bufferevents and
 * groups of them, and the per-operation read/write caps.
 *
 * A bucket holds the bytes that may still move in this tick.  Time is cut
 * into ticks of cfg->tick_timeout; at each new tick the bucket gains
 * read_rate / write_rate bytes per elapsed tick, up to the burst maximum.
 * Transfers are allowed while the bucket is positive and may overdraw it
 * (a single read may take more than is left); a bucket at or below zero
 * suspends the direction (BEV_SUSPEND_BW, or BEV_SUSPEND_BW_GROUP for a
 * group) until a refill timer finds it positive again.
 *
 * A group shares one bucket among its members.  Each member may move at
 * most bucket / n_members per operation (but at least min_share), so one
 * busy connection cannot starve the rest.  When the group bucket refills,
 * members are resumed starting from a random one, so no member is
 * systematically first to the fresh tokens.
 *
 * Locking: a bufferevent's lock is taken before its group's.  Walking the
 * members while holding the group lock therefore only try-locks them; a
 * member that cannot be locked finds out from the group state on its next
 * operation (suspend) or is retried on the next tick (unsuspend).
 *
 * Ticks are counted on the loop's cached wall clock
 * (event_base_gettimeofday_cached), like libevent; a clock step only
 * delays or hastens one refill, as update_ ignores backward steps.
 */
#include "event2/event-config.h"

#include <limits.h>
#include <string.h>
#include <sys/types.h>

#include "event2/buffer.h"
#include "event2/bufferevent.h"
#include "event2/bufferevent_struct.h"
#include "event2/event.h"
#include "event2/event_struct.h"
#include "event2/util.h"

#include "bufferevent-internal.h"
#include "event-internal.h"
#include "evthread-internal.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

#define LOCK_GROUP(g) EVLOCK_LOCK((g)->lock, 0)
#define UNLOCK_GROUP(g) EVLOCK_UNLOCK((g)->lock, 0)

/* ------------------------------------------------------------------ */
/* Token buckets                                                       */

ev_uint32_t
ev_token_bucket_get_tick_(const struct timeval *tv,
    const struct ev_token_bucket_cfg *cfg)
{
    /* 64 bits so that the product cannot overflow before the divide. */
    ev_uint64_t msec =
        (ev_uint64_t)tv->tv_sec * 1000 + (ev_uint64_t)tv->tv_usec / 1000;
    return (ev_uint32_t)(msec / cfg->msec_per_tick);
}

int
ev_token_bucket_init_(struct ev_token_bucket *bucket,
    const struct ev_token_bucket_cfg *cfg, ev_uint32_t current_tick,
    int reinitialize)
{
    if (reinitialize) {
        /* Bandwidth of this tick may be spent already: only clip down,
         * and leave last_updated for the next refill. */
        if (bucket->read_limit > (ev_int64_t)cfg->read_maximum)
            bucket->read_limit = (ev_ssize_t)cfg->read_maximum;
        if (bucket->write_limit > (ev_int64_t)cfg->write_maximum)
            bucket->write_limit = (ev_ssize_t)cfg->write_maximum;
    } else {
        bucket->read_limit = (ev_ssize_t)cfg->read_rate;
        bucket->write_limit = (ev_ssize_t)cfg->write_rate;
        bucket->last_updated = current_tick;
    }
    return 0;
}

/* limit - decr, held at the ends of ev_ssize_t instead of overflowing:
 * bufferevent_decrement_*_limit and the group decrements take any value
 * from the caller (libevent would overflow). */
static ev_ssize_t
sub_saturating(ev_ssize_t limit, ev_ssize_t decr)
{
    ev_ssize_t r;
    if (__builtin_sub_overflow(limit, decr, &r))
        return decr > 0 ? EV_SSIZE_MIN : EV_SSIZE_MAX;
    return r;
}

/* limit += n_ticks * rate, capped at maximum, without overflowing. */
static ev_ssize_t
refill(ev_ssize_t limit, size_t rate, size_t maximum, unsigned n_ticks)
{
    if (limit >= (ev_ssize_t)maximum)
        return limit;
    if (((ev_uint64_t)maximum - (ev_uint64_t)(ev_int64_t)limit) / n_ticks <
        rate)
        return (ev_ssize_t)maximum;
    return limit + (ev_ssize_t)(n_ticks * rate);
}

int
ev_token_bucket_update_(struct ev_token_bucket *bucket,
    const struct ev_token_bucket_cfg *cfg, ev_uint32_t current_tick)
{
    /* Unsigned subtraction survives the tick counter wrapping. */
    unsigned n_ticks = current_tick - bucket->last_updated;

    /* Nothing elapsed, or the clock went back. */
    if (n_ticks == 0 || n_ticks > INT_MAX)
        return 0;
    bucket->read_limit =
        refill(bucket->read_limit, cfg->read_rate, cfg->read_maximum, n_ticks);
    bucket->write_limit = refill(bucket->write_limit, cfg->write_rate,
        cfg->write_maximum, n_ticks);
    bucket->last_updated = current_tick;
    return 1;
}

struct ev_token_bucket_cfg *
ev_token_bucket_cfg_new(size_t read_rate, size_t read_burst,
    size_t write_rate, size_t write_burst, const struct timeval *tick_len)
{
    struct ev_token_bucket_cfg *r;
    struct timeval one_second = {1, 0};
    ev_uint64_t msec;

    if (!tick_len)
        tick_len = &one_second;
    if (read_rate > read_burst || write_rate > write_burst ||
        read_rate < 1 || write_rate < 1)
        return NULL;
    if (read_rate > EV_RATE_LIMIT_MAX || write_rate > EV_RATE_LIMIT_MAX ||
        read_burst > EV_RATE_LIMIT_MAX || write_burst > EV_RATE_LIMIT_MAX)
        return NULL;
    /* The tick may be a common timeout: mask its magic bits. */
    msec = (ev_uint64_t)tick_len->tv_sec * 1000 +
           (ev_uint64_t)(tick_len->tv_usec & COMMON_TIMEOUT_MICROSECONDS_MASK) /
               1000;
    if (tick_len->tv_sec < 0 || msec == 0 || msec > UINT_MAX)
        return NULL;
    if ((r = mm_calloc(1, sizeof(*r))) == NULL)
        return NULL;
    r->read_rate = read_rate;
    r->write_rate = write_rate;
    r->read_maximum = read_burst;
    r->write_maximum = write_burst;
    r->tick_timeout = *tick_len;
    r->msec_per_tick = (unsigned)msec;
    return r;
}

void
ev_token_bucket_cfg_free(struct ev_token_bucket_cfg *cfg)
{
    /* NULL is accepted silently, as free(NULL) is. */
    if (cfg == NULL)
        return;
    mm_free(cfg);
}

static ev_uint32_t
current_tick(struct event_base *base, const struct ev_token_bucket_cfg *cfg)
{
    struct timeval now;

    event_base_gettimeofday_cached(base, &now);
    return ev_token_bucket_get_tick_(&now, cfg);
}

/* ------------------------------------------------------------------ */
/* Per-operation caps                                                  */

void
bufferevent_ratelim_init_(struct bufferevent_private *bev)
{
    bev->rate_limiting = NULL;
    bev->max_single_read = MAX_SINGLE_READ_DEFAULT;
    bev->max_single_write = MAX_SINGLE_WRITE_DEFAULT;
}

int
bufferevent_set_max_single_read(struct bufferevent *bev, size_t size)
{
    struct bufferevent_private *p;

    EV_REFUSE_NULL_(bev, -1);
    p = BEV_UPCAST(bev);
    BEV_LOCK(bev);
    if (size == 0 || size > EV_SSIZE_MAX)
        p->max_single_read = MAX_SINGLE_READ_DEFAULT;
    else
        p->max_single_read = (ev_ssize_t)size;
    BEV_UNLOCK(bev);
    return 0;
}

int
bufferevent_set_max_single_write(struct bufferevent *bev, size_t size)
{
    struct bufferevent_private *p;

    EV_REFUSE_NULL_(bev, -1);
    p = BEV_UPCAST(bev);
    BEV_LOCK(bev);
    if (size == 0 || size > EV_SSIZE_MAX)
        p->max_single_write = MAX_SINGLE_WRITE_DEFAULT;
    else
        p->max_single_write = (ev_ssize_t)size;
    BEV_UNLOCK(bev);
    return 0;
}

ev_ssize_t
bufferevent_get_max_single_read(struct bufferevent *bev)
{
    ev_ssize_t r;

    EV_REFUSE_NULL_(bev, 0);
    BEV_LOCK(bev);
    r = BEV_UPCAST(bev)->max_single_read;
    BEV_UNLOCK(bev);
    return r;
}

ev_ssize_t
bufferevent_get_max_single_write(struct bufferevent *bev)
{
    ev_ssize_t r;

    EV_REFUSE_NULL_(bev, 0);
    BEV_LOCK(bev);
    r = BEV_UPCAST(bev)->max_single_write;
    BEV_UNLOCK(bev);
    return r;
}

/* Bring a bufferevent's own bucket up to the current tick.  Lock held. */
static void
update_buckets(struct bufferevent_private *bev)
{
    struct bufferevent_rate_limit *rl = bev->rate_limiting;
    ev_uint32_t tick = current_tick(bev->bev.ev_base, rl->cfg);

    if (tick != rl->limit.last_updated)
        ev_token_bucket_update_(&rl->limit, rl->cfg, tick);
}

static void group_suspend(struct bufferevent_rate_limit_group *g, int write);

/* The most that may move in one operation now.  Lock held. */
static ev_ssize_t
get_rlim_max(struct bufferevent_private *bev, int is_write)
{
    struct bufferevent_rate_limit *rl = bev->rate_limiting;
    ev_ssize_t max_so_far = is_write ? bev->max_single_write
                                     : bev->max_single_read;

    if (!rl)
        return max_so_far;
    if (rl->cfg) {
        /* As in libevent 2.1, the bucket replaces max_single_*: a
         * rate-limited bufferevent may move a whole burst at once. */
        update_buckets(bev);
        max_so_far = is_write ? rl->limit.write_limit : rl->limit.read_limit;
    }
    if (rl->group) {
        struct bufferevent_rate_limit_group *g = rl->group;
        ev_ssize_t share;
        int suspended;

        LOCK_GROUP(g);
        suspended = is_write ? g->write_suspended : g->read_suspended;
        if (suspended) {
            /* The group could not lock us while suspending everyone. */
            share = 0;
        } else {
            share = (is_write ? g->rate_limit.write_limit
                              : g->rate_limit.read_limit) /
                    g->n_members;
            if (share < g->min_share)
                share = g->min_share;
            /* With a min_share of 0 a crowded group could hand out
             * nothing without being suspended, and the member's event
             * would fire again at once. */
            if (share < 1)
                share = 1;
        }
        UNLOCK_GROUP(g);
        if (suspended) {
            if (is_write)
                bufferevent_suspend_write_(&bev->bev, BEV_SUSPEND_BW_GROUP);
            else
                bufferevent_suspend_read_(&bev->bev, BEV_SUSPEND_BW_GROUP);
        }
        if (max_so_far > share)
            max_so_far = share;
    }
    if (max_so_far < 0)
        max_so_far = 0;
    return max_so_far;
}

ev_ssize_t
bufferevent_get_read_max_(struct bufferevent_private *bev)
{
    return get_rlim_max(bev, 0);
}

ev_ssize_t
bufferevent_get_write_max_(struct bufferevent_private *bev)
{
    return get_rlim_max(bev, 1);
}

/* ------------------------------------------------------------------ */
/* Spending tokens                                                     */

/* After own bucket changed from old to new (is_write says which side):
 * suspend and start the refill timer when it ran dry, resume when it is
 * positive again.  Lock held.  Returns 0 or -1. */
static int
own_bucket_changed(struct bufferevent_private *bev, int is_write,
    ev_ssize_t new_limit)
{
    struct bufferevent_rate_limit *rl = bev->rate_limiting;
    bufferevent_suspend_flags other =
        is_write ? bev->read_suspended : bev->write_suspended;
    bufferevent_suspend_flags mine =
        is_write ? bev->write_suspended : bev->read_suspended;
    int r = 0;

    if (new_limit <= 0) {
        if (is_write)
            bufferevent_suspend_write_(&bev->bev, BEV_SUSPEND_BW);
        else
            bufferevent_suspend_read_(&bev->bev, BEV_SUSPEND_BW);
        if (event_add(&rl->refill_bucket_event, &rl->cfg->tick_timeout) < 0)
            r = -1;
    } else if (mine & BEV_SUSPEND_BW) {
        /* The timer is still needed if the other side waits on it. */
        if (!(other & BEV_SUSPEND_BW))
            event_del(&rl->refill_bucket_event);
        if (is_write)
            bufferevent_unsuspend_write_(&bev->bev, BEV_SUSPEND_BW);
        else
            bufferevent_unsuspend_read_(&bev->bev, BEV_SUSPEND_BW);
    }
    return r;
}

static int group_decrement(struct bufferevent_rate_limit_group *g,
    ev_ssize_t bytes, int is_write, int count_total);

static int
decrement_buckets(struct bufferevent_private *bev, ev_ssize_t bytes,
    int is_write)
{
    struct bufferevent_rate_limit *rl = bev->rate_limiting;
    int r = 0;

    if (!rl)
        return 0;
    if (rl->cfg) {
        ev_ssize_t *lim =
            is_write ? &rl->limit.write_limit : &rl->limit.read_limit;
        *lim = sub_saturating(*lim, bytes);
        r = own_bucket_changed(bev, is_write, *lim);
    }
    if (rl->group)
        group_decrement(rl->group, bytes, is_write, 1);
    return r;
}

int
bufferevent_decrement_read_buckets_(struct bufferevent_private *bev,
    ev_ssize_t bytes)
{
    return decrement_buckets(bev, bytes, 0);
}

int
bufferevent_decrement_write_buckets_(struct bufferevent_private *bev,
    ev_ssize_t bytes)
{
    return decrement_buckets(bev, bytes, 1);
}

/* ------------------------------------------------------------------ */
/* Per-bufferevent limits                                              */

/* The refill timer of a suspended bufferevent. */
static void
bev_refill_callback(evutil_socket_t fd, short what, void *arg)
{
    struct bufferevent_private *bev = arg;
    struct bufferevent_rate_limit *rl;
    int again = 0;

    (void)fd;
    (void)what;
    BEV_LOCK(&bev->bev);
    rl = bev->rate_limiting;
    if (!rl || !rl->cfg) {
        BEV_UNLOCK(&bev->bev);
        return;
    }
    update_buckets(bev);
    if (bev->read_suspended & BEV_SUSPEND_BW) {
        if (rl->limit.read_limit > 0)
            bufferevent_unsuspend_read_(&bev->bev, BEV_SUSPEND_BW);
        else
            again = 1;
    }
    if (bev->write_suspended & BEV_SUSPEND_BW) {
        if (rl->limit.write_limit > 0)
            bufferevent_unsuspend_write_(&bev->bev, BEV_SUSPEND_BW);
        else
            again = 1;
    }
    /* A deep overdraft takes several ticks to pay back. */
    if (again)
        event_add(&rl->refill_bucket_event, &rl->cfg->tick_timeout);
    BEV_UNLOCK(&bev->bev);
}

/* The rate-limit state of bev, created on first use.  Lock held. */
static struct bufferevent_rate_limit *
get_rlim(struct bufferevent_private *bevp)
{
    struct bufferevent_rate_limit *rl = bevp->rate_limiting;

    if (rl)
        return rl;
    if ((rl = mm_calloc(1, sizeof(*rl))) == NULL)
        return NULL;
    event_assign(&rl->refill_bucket_event, bevp->bev.ev_base, -1,
        EV_FINALIZE, bev_refill_callback, bevp);
    bevp->rate_limiting = rl;
    return rl;
}

/*
 * The cfg is used in place, not copied: it must outlive every bufferevent
 * using it (libevent's rule).  NULL removes the limit.
 */
int
bufferevent_set_rate_limit(struct bufferevent *bev,
    struct ev_token_bucket_cfg *cfg)
{
    struct bufferevent_private *bevp;
    struct bufferevent_rate_limit *rl;
    int reinit, r = -1;

    EV_REFUSE_NULL_(bev, -1);
    bevp = BEV_UPCAST(bev);
    BEV_LOCK(bev);
    if (cfg == NULL) {
        if ((rl = bevp->rate_limiting) != NULL) {
            rl->cfg = NULL;
            bufferevent_unsuspend_read_(bev, BEV_SUSPEND_BW);
            bufferevent_unsuspend_write_(bev, BEV_SUSPEND_BW);
            event_del(&rl->refill_bucket_event);
        }
        r = 0;
        goto done;
    }
    if (bevp->rate_limiting && bevp->rate_limiting->cfg == cfg) {
        r = 0;
        goto done;
    }
    if ((rl = get_rlim(bevp)) == NULL)
        goto done;
    reinit = rl->cfg != NULL;
    rl->cfg = cfg;
    ev_token_bucket_init_(&rl->limit, cfg, current_tick(bev->ev_base, cfg),
        reinit);
    event_del(&rl->refill_bucket_event);

    if (rl->limit.read_limit > 0)
        bufferevent_unsuspend_read_(bev, BEV_SUSPEND_BW);
    else
        bufferevent_suspend_read_(bev, BEV_SUSPEND_BW);
    if (rl->limit.write_limit > 0)
        bufferevent_unsuspend_write_(bev, BEV_SUSPEND_BW);
    else
        bufferevent_suspend_write_(bev, BEV_SUSPEND_BW);
    if (rl->limit.read_limit <= 0 || rl->limit.write_limit <= 0)
        event_add(&rl->refill_bucket_event, &cfg->tick_timeout);
    r = 0;
done:
    BEV_UNLOCK(bev);
    return r;
}

const struct ev_token_bucket_cfg *
bufferevent_get_token_bucket_cfg(const struct bufferevent *bev)
{
    struct bufferevent_private *bevp;
    const struct ev_token_bucket_cfg *cfg = NULL;

    EV_REFUSE_NULL_(bev, NULL);
    bevp = BEV_UPCAST(bev);
    BEV_LOCK(bev);
    if (bevp->rate_limiting)
        cfg = bevp->rate_limiting->cfg;
    BEV_UNLOCK(bev);
    return cfg;
}

static ev_ssize_t
get_limit(struct bufferevent *bev, int is_write)
{
    struct bufferevent_private *bevp = BEV_UPCAST(bev);
    ev_ssize_t r = EV_SSIZE_MAX;

    BEV_LOCK(bev);
    if (bevp->rate_limiting && bevp->rate_limiting->cfg) {
        update_buckets(bevp);
        r = is_write ? bevp->rate_limiting->limit.write_limit
                     : bevp->rate_limiting->limit.read_limit;
    }
    BEV_UNLOCK(bev);
    return r;
}

ev_ssize_t
bufferevent_get_read_limit(struct bufferevent *bev)
{
    EV_REFUSE_NULL_(bev, 0);
    return get_limit(bev, 0);
}

ev_ssize_t
bufferevent_get_write_limit(struct bufferevent *bev)
{
    EV_REFUSE_NULL_(bev, 0);
    return get_limit(bev, 1);
}

ev_ssize_t
bufferevent_get_max_to_read(struct bufferevent *bev)
{
    ev_ssize_t r;

    EV_REFUSE_NULL_(bev, 0);
    BEV_LOCK(bev);
    r = bufferevent_get_read_max_(BEV_UPCAST(bev));
    BEV_UNLOCK(bev);
    return r;
}

ev_ssize_t
bufferevent_get_max_to_write(struct bufferevent *bev)
{
    ev_ssize_t r;

    EV_REFUSE_NULL_(bev, 0);
    BEV_LOCK(bev);
    r = bufferevent_get_write_max_(BEV_UPCAST(bev));
    BEV_UNLOCK(bev);
    return r;
}

/* Adjust the bucket by -decr as if data had moved (decr may be negative
 * to give tokens back).  libevent asserts a limit is set; we return -1. */
static int
decrement_limit(struct bufferevent *bev, ev_ssize_t decr, int is_write)
{
    struct bufferevent_private *bevp = BEV_UPCAST(bev);
    struct bufferevent_rate_limit *rl;
    ev_ssize_t *lim, old_limit;
    int r = 0;

    BEV_LOCK(bev);
    rl = bevp->rate_limiting;
    if (!rl || !rl->cfg) {
        BEV_UNLOCK(bev);
        return -1;
    }
    lim = is_write ? &rl->limit.write_limit : &rl->limit.read_limit;
    old_limit = *lim;
    *lim = sub_saturating(*lim, decr);
    if ((old_limit > 0) != (*lim > 0))
        r = own_bucket_changed(bevp, is_write, *lim);
    BEV_UNLOCK(bev);
    return r;
}

int
bufferevent_decrement_read_limit(struct bufferevent *bev, ev_ssize_t decr)
{
    EV_REFUSE_NULL_(bev, -1);
    return decrement_limit(bev, decr, 0);
}

int
bufferevent_decrement_write_limit(struct bufferevent *bev, ev_ssize_t decr)
{
    EV_REFUSE_NULL_(bev, -1);
    return decrement_limit(bev, decr, 1);
}

/* ------------------------------------------------------------------ */
/* Groups                                                              */

/* Suspend one direction of every member.  Group lock held. */
static void
group_suspend(struct bufferevent_rate_limit_group *g, int is_write)
{
    struct bufferevent_private *bev;

    if (is_write) {
        g->write_suspended = 1;
        g->pending_unsuspend_write = 0;
    } else {
        g->read_suspended = 1;
        g->pending_unsuspend_read = 0;
    }
    /* Lock order is member before group: only try.  A member we miss
     * suspends itself when it next asks how much it may move. */
    TAILQ_FOREACH(bev, &g->members, rate_limiting->next_in_group)
    {
        if (EVLOCK_TRY_LOCK_(bev->lock)) {
            if (is_write)
                bufferevent_suspend_write_(&bev->bev, BEV_SUSPEND_BW_GROUP);
            else
                bufferevent_suspend_read_(&bev->bev, BEV_SUSPEND_BW_GROUP);
            EVLOCK_UNLOCK(bev->lock, 0);
        }
    }
}

/* Resume one direction of every member, starting at a random member so
 * that the first to get the fresh tokens changes from tick to tick.
 * Group lock held. */
static void
group_unsuspend(struct bufferevent_rate_limit_group *g, int is_write)
{
    struct bufferevent_private *bev, *first;
    int again = 0, i, start;

    if (is_write)
        g->write_suspended = 0;
    else
        g->read_suspended = 0;
    if (g->n_members > 0) {
        start = evutil_weakrand_range_(&g->weakrand_seed, g->n_members);
        first = TAILQ_FIRST(&g->members);
        for (i = 0; i < start; ++i)
            first = TAILQ_NEXT(first, rate_limiting->next_in_group);
        bev = first;
        do {
            if (EVLOCK_TRY_LOCK_(bev->lock)) {
                if (is_write)
                    bufferevent_unsuspend_write_(&bev->bev,
                        BEV_SUSPEND_BW_GROUP);
                else
                    bufferevent_unsuspend_read_(&bev->bev,
                        BEV_SUSPEND_BW_GROUP);
                EVLOCK_UNLOCK(bev->lock, 0);
            } else {
                again = 1;
            }
            bev = TAILQ_NEXT(bev, rate_limiting->next_in_group);
            if (!bev)
                bev = TAILQ_FIRST(&g->members);
        } while (bev != first);
    }
    if (is_write)
        g->pending_unsuspend_write = again;
    else
        g->pending_unsuspend_read = again;
}

/* Spend (or give back, with negative bytes) group tokens. */
static int
group_decrement(struct bufferevent_rate_limit_group *g, ev_ssize_t bytes,
    int is_write, int count_total)
{
    ev_ssize_t *lim, old_limit;
    unsigned suspended;

    LOCK_GROUP(g);
    lim = is_write ? &g->rate_limit.write_limit : &g->rate_limit.read_limit;
    old_limit = *lim;
    *lim = sub_saturating(*lim, bytes);
    if (count_total) {
        if (is_write)
            g->total_written += (ev_uint64_t)bytes;
        else
            g->total_read += (ev_uint64_t)bytes;
    }
    suspended = is_write ? g->write_suspended : g->read_suspended;
    if (*lim <= 0 && (old_limit > 0 || !suspended))
        group_suspend(g, is_write);
    else if (*lim > 0 && suspended)
        group_unsuspend(g, is_write);
    UNLOCK_GROUP(g);
    return 0;
}

/* The group's tick: refill, and resume what waited for tokens. */
static void
group_refill_callback(evutil_socket_t fd, short what, void *arg)
{
    struct bufferevent_rate_limit_group *g = arg;
    struct timeval now;
    ev_uint32_t tick;

    (void)fd;
    (void)what;
    event_base_gettimeofday_cached(event_get_base(&g->master_refill_event),
        &now);
    LOCK_GROUP(g);
    tick = ev_token_bucket_get_tick_(&now, &g->rate_limit_cfg);
    ev_token_bucket_update_(&g->rate_limit, &g->rate_limit_cfg, tick);
    if (g->pending_unsuspend_read ||
        (g->read_suspended && g->rate_limit.read_limit >= g->min_share))
        group_unsuspend(g, 0);
    if (g->pending_unsuspend_write ||
        (g->write_suspended && g->rate_limit.write_limit >= g->min_share))
        group_unsuspend(g, 1);
    UNLOCK_GROUP(g);
}

struct bufferevent_rate_limit_group *
bufferevent_rate_limit_group_new(struct event_base *base,
    const struct ev_token_bucket_cfg *cfg)
{
    struct bufferevent_rate_limit_group *g;
    struct timeval now;

    EV_REFUSE_NULL_(cfg, NULL);
    /* As event_assign(): no base means the current one (event_init). */
    if (!base)
        base = event_global_current_base_;
    EV_REFUSE_NULL_(base, NULL);
    if ((g = mm_calloc(1, sizeof(*g))) == NULL)
        return NULL;
    g->rate_limit_cfg = *cfg;
    TAILQ_INIT(&g->members);
    event_base_gettimeofday_cached(base, &now);
    ev_token_bucket_init_(&g->rate_limit, cfg,
        ev_token_bucket_get_tick_(&now, cfg), 0);
    if (EVTHREAD_LOCKING_ENABLED()) {
        EVTHREAD_ALLOC_LOCK(g->lock, EVTHREAD_LOCKTYPE_RECURSIVE);
        if (!g->lock)
            goto err;
    }
    if (event_assign(&g->master_refill_event, base, -1,
            EV_PERSIST | EV_FINALIZE, group_refill_callback, g) < 0)
        goto err;
    if (event_add(&g->master_refill_event, &cfg->tick_timeout) < 0)
        goto err;
    bufferevent_rate_limit_group_set_min_share(g, 64);
    evutil_weakrand_seed_(&g->weakrand_seed,
        (ev_uint32_t)(now.tv_sec + now.tv_usec + (ev_intptr_t)g));
    return g;

err:
    EVTHREAD_FREE_LOCK(g->lock, EVTHREAD_LOCKTYPE_RECURSIVE);
    mm_free(g);
    return NULL;
}

/* The group's bucket settings are copied. */
int
bufferevent_rate_limit_group_set_cfg(struct bufferevent_rate_limit_group *g,
    const struct ev_token_bucket_cfg *cfg)
{
    int same_tick;

    EV_REFUSE_NULL_(g, -1);
    EV_REFUSE_NULL_(cfg, -1);
    LOCK_GROUP(g);
    same_tick = evutil_timercmp(&g->rate_limit_cfg.tick_timeout,
        &cfg->tick_timeout, ==);
    g->rate_limit_cfg = *cfg;
    if (g->rate_limit.read_limit > (ev_ssize_t)cfg->read_maximum)
        g->rate_limit.read_limit = (ev_ssize_t)cfg->read_maximum;
    if (g->rate_limit.write_limit > (ev_ssize_t)cfg->write_maximum)
        g->rate_limit.write_limit = (ev_ssize_t)cfg->write_maximum;
    if (!same_tick)
        event_add(&g->master_refill_event, &cfg->tick_timeout);
    /* The cap on min_share depends on the rates. */
    bufferevent_rate_limit_group_set_min_share(g, g->configured_min_share);
    UNLOCK_GROUP(g);
    return 0;
}

int
bufferevent_rate_limit_group_set_min_share(
    struct bufferevent_rate_limit_group *g, size_t share)
{
    EV_REFUSE_NULL_(g, -1);
    if (share > EV_SSIZE_MAX)
        return -1;
    LOCK_GROUP(g);
    g->configured_min_share = (ev_ssize_t)share;
    /* Never more than one tick's worth: at steady state at least one
     * member must be able to go each tick. */
    if (share > g->rate_limit_cfg.read_rate)
        share = g->rate_limit_cfg.read_rate;
    if (share > g->rate_limit_cfg.write_rate)
        share = g->rate_limit_cfg.write_rate;
    g->min_share = (ev_ssize_t)share;
    UNLOCK_GROUP(g);
    return 0;
}

/* All members should have left the group; libevent aborts when one has
 * not (often a bufferevent freed just before, whose finalizer has not
 * run yet).  Here they are taken out of the group with a warning, so
 * none is left pointing at freed memory. */
void
bufferevent_rate_limit_group_free(struct bufferevent_rate_limit_group *g)
{
    struct bufferevent_private *member;

    if (!g)
        return;
    LOCK_GROUP(g);
    if (g->n_members)
        event_warnx("%s: %d bufferevent(s) still in the group: removed",
            __func__, g->n_members);
    while ((member = TAILQ_FIRST(&g->members)) != NULL) {
        /* Lock order is member before group. */
        UNLOCK_GROUP(g);
        bufferevent_remove_from_rate_limit_group_internal_(&member->bev, 1);
        LOCK_GROUP(g);
    }
    event_del(&g->master_refill_event);
    event_debug_unassign(&g->master_refill_event);
    UNLOCK_GROUP(g);
    EVTHREAD_FREE_LOCK(g->lock, EVTHREAD_LOCKTYPE_RECURSIVE);
    mm_free(g);
}

int
bufferevent_add_to_rate_limit_group(struct bufferevent *bev,
    struct bufferevent_rate_limit_group *g)
{
    struct bufferevent_private *bevp;
    struct bufferevent_rate_limit *rl;
    int rsuspend, wsuspend;

    EV_REFUSE_NULL_(bev, -1);
    EV_REFUSE_NULL_(g, -1);
    bevp = BEV_UPCAST(bev);
    BEV_LOCK(bev);
    if ((rl = get_rlim(bevp)) == NULL) {
        BEV_UNLOCK(bev);
        return -1;
    }
    if (rl->group == g) {
        BEV_UNLOCK(bev);
        return 0;
    }
    if (rl->group)
        bufferevent_remove_from_rate_limit_group(bev);

    LOCK_GROUP(g);
    rl->group = g;
    ++g->n_members;
    TAILQ_INSERT_TAIL(&g->members, bevp, rate_limiting->next_in_group);
    rsuspend = g->read_suspended;
    wsuspend = g->write_suspended;
    UNLOCK_GROUP(g);

    if (rsuspend)
        bufferevent_suspend_read_(bev, BEV_SUSPEND_BW_GROUP);
    if (wsuspend)
        bufferevent_suspend_write_(bev, BEV_SUSPEND_BW_GROUP);
    BEV_UNLOCK(bev);
    return 0;
}

int
bufferevent_remove_from_rate_limit_group(struct bufferevent *bev)
{
    EV_REFUSE_NULL_(bev, -1);
    return bufferevent_remove_from_rate_limit_group_internal_(bev, 1);
}

int
bufferevent_remove_from_rate_limit_group_internal_(struct bufferevent *bev,
    int unsuspend)
{
    struct bufferevent_private *bevp = BEV_UPCAST(bev);

    BEV_LOCK(bev);
    if (bevp->rate_limiting && bevp->rate_limiting->group) {
        struct bufferevent_rate_limit_group *g = bevp->rate_limiting->group;
        LOCK_GROUP(g);
        bevp->rate_limiting->group = NULL;
        --g->n_members;
        TAILQ_REMOVE(&g->members, bevp, rate_limiting->next_in_group);
        UNLOCK_GROUP(g);
    }
    if (unsuspend) {
        bufferevent_unsuspend_read_(bev, BEV_SUSPEND_BW_GROUP);
        bufferevent_unsuspend_write_(bev, BEV_SUSPEND_BW_GROUP);
    }
    BEV_UNLOCK(bev);
    return 0;
}

ev_ssize_t
bufferevent_rate_limit_group_get_read_limit(
    struct bufferevent_rate_limit_group *grp)
{
    ev_ssize_t r;

    EV_REFUSE_NULL_(grp, 0);
    LOCK_GROUP(grp);
    r = grp->rate_limit.read_limit;
    UNLOCK_GROUP(grp);
    return r;
}

ev_ssize_t
bufferevent_rate_limit_group_get_write_limit(
    struct bufferevent_rate_limit_group *grp)
{
    ev_ssize_t r;

    EV_REFUSE_NULL_(grp, 0);
    LOCK_GROUP(grp);
    r = grp->rate_limit.write_limit;
    UNLOCK_GROUP(grp);
    return r;
}

int
bufferevent_rate_limit_group_decrement_read(
    struct bufferevent_rate_limit_group *grp, ev_ssize_t decr)
{
    EV_REFUSE_NULL_(grp, -1);
    return group_decrement(grp, decr, 0, 0);
}

int
bufferevent_rate_limit_group_decrement_write(
    struct bufferevent_rate_limit_group *grp, ev_ssize_t decr)
{
    EV_REFUSE_NULL_(grp, -1);
    return group_decrement(grp, decr, 1, 0);
}

void
bufferevent_rate_limit_group_get_totals(
    struct bufferevent_rate_limit_group *grp, ev_uint64_t *total_read_out,
    ev_uint64_t *total_written_out)
{
    EV_REFUSE_NULL_VOID_(grp);
    LOCK_GROUP(grp);
    if (total_read_out)
        *total_read_out = grp->total_read;
    if (total_written_out)
        *total_written_out = grp->total_written;
    UNLOCK_GROUP(grp);
}

void
bufferevent_rate_limit_group_reset_totals(
    struct bufferevent_rate_limit_group *grp)
{
    EV_REFUSE_NULL_VOID_(grp);
    LOCK_GROUP(grp);
    grp->total_read = grp->total_written = 0;
    UNLOCK_GROUP(grp);
}

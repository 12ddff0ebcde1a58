/*
 * select.c: the select(2) backend.
 *
 * The kernel reads as many fd bits as nfds asks for, but fd_set and the
 * FD_SET family stop at FD_SETSIZE (glibc's fortified FD_SET even aborts
 * past it).  So the sets here are heap arrays of words sized by the
 * highest fd watched, indexed by hand, and grown by doubling; select()
 * gets them cast to fd_set *, which Linux accepts for any nfds up to the
 * fd limit.
 *
 * Quirks handled:
 *  - select() overwrites its sets and, on Linux, its timeout, so dispatch
 *    hands it copies: the "in" sets (what the core asked for) survive, and
 *    only dispatch touches the "out" sets, so another thread may change
 *    the in sets while the lock is dropped;
 *  - a closed fd left in a set makes select() fail with EBADF; like
 *    libevent 2.1 that is reported with a warning and dispatch returns -1
 *    (the loop then returns -1).
 *
 * Invariant: every fd with a bit set in readset_in or writeset_in is
 * <= maxfd, and both in sets hold nwords words.
 */
#include "event2/event-config.h"

#include <sys/types.h>
#include <sys/select.h>
#include <sys/time.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "event-internal.h"
#include "evmap-internal.h"
#include "evsignal-internal.h"
#include "evthread-internal.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

/* The kernel's fd_set words are unsigned longs; using our own unsigned
 * type keeps the shifts below free of signed overflow. */
typedef unsigned long set_word;
#define WORD_BITS ((int)(8 * sizeof(set_word)))
#define WORD_OF(fd) ((size_t)(fd) / WORD_BITS)
#define BIT_OF(fd) ((set_word)1 << ((size_t)(fd) % WORD_BITS))

struct selectop {
    int maxfd; /* highest fd with a bit in an in set, or -1 */
    size_t nwords;
    set_word *readset_in;
    set_word *writeset_in;
    size_t nout;
    set_word *readset_out;
    set_word *writeset_out;
};

static void *select_init(struct event_base *);
static int select_add(struct event_base *, evutil_socket_t, short, short,
    void *);
static int select_del(struct event_base *, evutil_socket_t, short, short,
    void *);
static int select_dispatch(struct event_base *, struct timeval *);
static void select_dealloc(struct event_base *);

const struct eventop selectops = {
    "select",
    select_init,
    select_add,
    select_del,
    select_dispatch,
    select_dealloc,
    0, /* need_reinit */
    EV_FEATURE_FDS,
    0,
};

/* Grow the pair of arrays *a and *b (holding *have words each) to at
 * least want words, zero-filling.  Returns 0, or -1 on ENOMEM with the
 * recorded size unchanged (an array may have grown; that is harmless). */
static int
grow_pair(set_word **a, set_word **b, size_t *have, size_t want)
{
    size_t n = *have ? *have : FD_SETSIZE / WORD_BITS;
    set_word *p;

    if (want <= *have)
        return 0;
    while (n < want)
        n *= 2;
    if ((p = mm_realloc(*a, n * sizeof(set_word))) == NULL)
        goto err;
    *a = p;
    memset(p + *have, 0, (n - *have) * sizeof(set_word));
    if ((p = mm_realloc(*b, n * sizeof(set_word))) == NULL)
        goto err;
    *b = p;
    memset(p + *have, 0, (n - *have) * sizeof(set_word));
    *have = n;
    return 0;
err:
    event_warn("select: realloc");
    return -1;
}

static void
free_sets(struct selectop *sop)
{
    if (sop->readset_in)
        mm_free(sop->readset_in);
    if (sop->writeset_in)
        mm_free(sop->writeset_in);
    if (sop->readset_out)
        mm_free(sop->readset_out);
    if (sop->writeset_out)
        mm_free(sop->writeset_out);
    memset(sop, 0, sizeof(*sop));
    mm_free(sop);
}

static void *
select_init(struct event_base *base)
{
    struct selectop *sop = mm_calloc(1, sizeof(*sop));
    if (sop == NULL)
        return NULL;
    sop->maxfd = -1;
    if (grow_pair(&sop->readset_in, &sop->writeset_in, &sop->nwords, 1) <
            0 ||
        grow_pair(&sop->readset_out, &sop->writeset_out, &sop->nout,
            sop->nwords) < 0) {
        free_sets(sop);
        return NULL;
    }
    (void)evsig_init_(base);
    return sop;
}

static int
select_add(struct event_base *base, evutil_socket_t fd, short old,
    short events, void *p)
{
    struct selectop *sop = base->evbase;

    if (!(events & (EV_READ | EV_WRITE)))
        return 0;
    if (fd < 0) {
        errno = EBADF;
        return -1;
    }
    if (grow_pair(&sop->readset_in, &sop->writeset_in, &sop->nwords,
            WORD_OF(fd) + 1) < 0)
        return -1;
    if (events & EV_READ)
        sop->readset_in[WORD_OF(fd)] |= BIT_OF(fd);
    if (events & EV_WRITE)
        sop->writeset_in[WORD_OF(fd)] |= BIT_OF(fd);
    if (fd > sop->maxfd)
        sop->maxfd = fd;
    return 0;
}

/* Lower maxfd past fds no longer in either set. */
static void
shrink_maxfd(struct selectop *sop)
{
    while (sop->maxfd >= 0) {
        size_t w = WORD_OF(sop->maxfd);
        set_word any = sop->readset_in[w] | sop->writeset_in[w];
        if (any & BIT_OF(sop->maxfd))
            return;
        if (any == 0)
            sop->maxfd = (int)(w * WORD_BITS) - 1;
        else
            --sop->maxfd;
    }
}

static int
select_del(struct event_base *base, evutil_socket_t fd, short old,
    short events, void *p)
{
    struct selectop *sop = base->evbase;

    if (fd < 0 || fd > sop->maxfd)
        return 0;
    if (events & EV_READ)
        sop->readset_in[WORD_OF(fd)] &= ~BIT_OF(fd);
    if (events & EV_WRITE)
        sop->writeset_in[WORD_OF(fd)] &= ~BIT_OF(fd);
    if (fd == sop->maxfd)
        shrink_maxfd(sop);
    return 0;
}

static int
select_dispatch(struct event_base *base, struct timeval *tv)
{
    struct selectop *sop = base->evbase;
    int nfds = sop->maxfd + 1;
    size_t nwords = (size_t)(nfds + WORD_BITS - 1) / WORD_BITS, w;
    struct timeval t, *tp = NULL;
    int res;

    if (grow_pair(&sop->readset_out, &sop->writeset_out, &sop->nout,
            nwords) < 0)
        return -1;
    if (nwords) {
        memcpy(sop->readset_out, sop->readset_in,
            nwords * sizeof(set_word));
        memcpy(sop->writeset_out, sop->writeset_in,
            nwords * sizeof(set_word));
    }
    if (tv != NULL) {
        t = *tv;
        tp = &t;
    }

    EVBASE_RELEASE_LOCK(base, th_base_lock);
    res = select(nfds, (fd_set *)(void *)sop->readset_out,
        (fd_set *)(void *)sop->writeset_out, NULL, tp);
    EVBASE_ACQUIRE_LOCK(base, th_base_lock);

    if (res == -1) {
        if (errno != EINTR) {
            event_warn("select");
            return -1;
        }
        return 0;
    }
    event_debug(("%s: select reports %d", __func__, res));

    for (w = 0; w < nwords; ++w) {
        set_word r = sop->readset_out[w], wr = sop->writeset_out[w];
        int b;
        if ((r | wr) == 0)
            continue;
        for (b = 0; b < WORD_BITS; ++b) {
            set_word bit = (set_word)1 << b;
            short ev = 0;
            if (r & bit)
                ev |= EV_READ;
            if (wr & bit)
                ev |= EV_WRITE;
            if (ev)
                evmap_io_active_(base, (int)(w * WORD_BITS) + b, ev);
        }
    }
    return 0;
}

static void
select_dealloc(struct event_base *base)
{
    /* NULL: init failed, and evsig_init_ never ran either. */
    if (base->evbase == NULL)
        return;
    evsig_dealloc_(base);
    free_sets(base->evbase);
}

/*
 * bench-api.h: the slice of the libevent API the core benchmarks use,
 * written so one source builds against libevent 2.1 (ours or Debian's)
 * and against libev's libevent emulation.
 *
 * Both provide the 1.4 umbrella header <event.h>.  libev's emulation has
 * no event_assign(), event_new() or common timeouts, so events are set up
 * through bench_assign(), which uses event_assign() where it exists and
 * event_set() + event_base_set() otherwise; BENCH_LIBEVENT2 tells which.
 */
#ifndef BENCH_API_H_INCLUDED_
#define BENCH_API_H_INCLUDED_

#include <event.h>

#ifdef EV_VERSION_MAJOR
#define BENCH_LIBEVENT2 0
#else
#define BENCH_LIBEVENT2 1
#endif

typedef void (*bench_event_cb)(int fd, short what, void *arg);

/* Initializes ev for base; returns 0 or -1 as event_assign() does. */
static inline int
bench_assign(struct event *ev, struct event_base *base, int fd, short what,
             bench_event_cb cb, void *arg)
{
#if BENCH_LIBEVENT2
    return event_assign(ev, base, fd, what, cb, arg);
#else
    event_set(ev, fd, what, cb, arg);
    return event_base_set(base, ev);
#endif
}

#endif /* BENCH_API_H_INCLUDED_ */

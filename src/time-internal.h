/*
 * time-internal.h: the monotonic clock behind event_base time.
 *
 * struct evutil_monotonic_timer is private (util.h only declares it) and
 * is embedded in struct event_base.  A timer reads CLOCK_MONOTONIC, or
 * CLOCK_MONOTONIC_COARSE when the caller does not ask for EV_MONOT_PRECISE
 * and the coarse clock can be read, as libevent 2.1 does (so timers are
 * as exact as a kernel tick unless EVENT_BASE_FLAG_PRECISE_TIMER).  With
 * EV_MONOT_FALLBACK (or when no monotonic clock works) it reads the wall
 * clock and keeps it from going backwards: a backward jump is absorbed
 * into a running offset, so the values it returns never decrease.
 */
#ifndef TIME_INTERNAL_H_INCLUDED_
#define TIME_INTERNAL_H_INCLUDED_

#include "event2/event-config.h"
#include "event2/visibility.h"
#include "event2/util.h"

#include <sys/time.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef EV_MONOT_PRECISE
#define EV_MONOT_PRECISE 1
#endif
#ifndef EV_MONOT_FALLBACK
#define EV_MONOT_FALLBACK 2
#endif

struct evutil_monotonic_timer {
    /* The clock_gettime() clock in use, or -1 for the adjusted wall
     * clock. */
    int monotonic_clock;
    /* Fallback only: added to the wall clock, and the last value
     * returned. */
    struct timeval adjust_monotonic_clock;
    struct timeval last_time;
};

/** Choose the clock for timer according to EV_MONOT_* flags.  Returns 0
 * (a usable clock always exists). */
EVENT2_EXPORT_SYMBOL
int evutil_configure_monotonic_time_(struct evutil_monotonic_timer *timer,
    int flags);

#ifndef _WIN32
/* A clock_gettime() clock as a timeval: evutil_gettime_monotonic_ for a
 * timer not on the fallback, inline for the loop's own clock read
 * (gettime_read_ in event.c).  0, or -1 if the clock failed. */
static inline int
evutil_clock_gettime_tv_(int clock, struct timeval *tp)
{
    struct timespec ts;

    if (clock_gettime(clock, &ts) != 0)
        return -1;
    tp->tv_sec = ts.tv_sec;
    tp->tv_usec = ts.tv_nsec / 1000;
    return 0;
}
#endif

/** Read timer's clock into *tp.  Returns 0, or -1 if the clock failed. */
EVENT2_EXPORT_SYMBOL
int evutil_gettime_monotonic_(struct evutil_monotonic_timer *timer,
    struct timeval *tp);

#ifdef __cplusplus
}
#endif

#endif /* TIME_INTERNAL_H_INCLUDED_ */

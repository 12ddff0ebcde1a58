/*
 * evutil-time.c: monotonic timers, timeval conversions, sleeping, and
 * RFC 1123 dates.
 *
 * Invariant: a configured evutil_monotonic_timer never returns a time
 * earlier than one it returned before (see time-internal.h for how the
 * wall-clock fallback achieves that).
 */
#include "event2/event-config.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#ifdef _WIN32
#include <windows.h>
/* Windows: the monotonic clock is QueryPerformanceCounter (invariant
 * since Vista: it never goes back and agrees across CPUs); its frequency
 * is fixed at boot. */
#ifndef CLOCK_MONOTONIC
#define CLOCK_MONOTONIC 1
#endif
#undef CLOCK_MONOTONIC_COARSE
static int
qpc_now(struct timespec *ts)
{
    static LARGE_INTEGER freq;
    LARGE_INTEGER now;

    if (freq.QuadPart == 0 && !QueryPerformanceFrequency(&freq))
        return -1;
    if (!QueryPerformanceCounter(&now))
        return -1;
    ts->tv_sec = (time_t)(now.QuadPart / freq.QuadPart);
    ts->tv_nsec = (long)((now.QuadPart % freq.QuadPart) * 1000000000LL /
        freq.QuadPart);
    return 0;
}
#define MONOTONIC_NOW(clock, ts) qpc_now(ts)
#else
#define MONOTONIC_NOW(clock, ts) clock_gettime((clock), (ts))
#endif

#include "event2/util.h"
#include "mm-internal.h"
#include "time-internal.h"
#include "util-internal.h"

/* ------------------------------------------------------------------ */
/* Monotonic timers */

/* The coarse clock, as libevent 2.1 takes it: whenever it can be read,
 * whatever its resolution (a kernel tick, 1 to 10 ms).  It is what
 * EVENT_BASE_FLAG_PRECISE_TIMER is documented to turn off: a precise
 * read can cost several times as much (a clock source the kernel must
 * ask the hypervisor for), on every event_add with a timeout outside
 * the loop and every loop iteration. */
#ifndef _WIN32
static int
coarse_clock_usable(void)
{
#ifdef CLOCK_MONOTONIC_COARSE
    struct timespec now;

    return clock_gettime(CLOCK_MONOTONIC_COARSE, &now) == 0;
#else
    return 0;
#endif
}
#endif /* !_WIN32 */

int
evutil_configure_monotonic_time_(struct evutil_monotonic_timer *timer,
    int flags)
{
    struct timespec now;

    memset(timer, 0, sizeof(*timer));
    timer->monotonic_clock = -1;
    if (flags & EV_MONOT_FALLBACK)
        return 0;
#ifdef CLOCK_MONOTONIC_COARSE
    if (!(flags & EV_MONOT_PRECISE) && coarse_clock_usable()) {
        timer->monotonic_clock = CLOCK_MONOTONIC_COARSE;
        return 0;
    }
#endif
    if (MONOTONIC_NOW(CLOCK_MONOTONIC, &now) == 0)
        timer->monotonic_clock = CLOCK_MONOTONIC;
    return 0;
}

/* Wall clock plus an offset that grows by every backward jump seen. */
static void
adjust_fallback_time(struct evutil_monotonic_timer *timer, struct timeval *tv)
{
    struct timeval back;

    evutil_timeradd(tv, &timer->adjust_monotonic_clock, tv);
    if (evutil_timercmp(tv, &timer->last_time, <)) {
        evutil_timersub(&timer->last_time, tv, &back);
        evutil_timeradd(&timer->adjust_monotonic_clock, &back,
            &timer->adjust_monotonic_clock);
        *tv = timer->last_time;
    }
    timer->last_time = *tv;
}

int
evutil_gettime_monotonic_(struct evutil_monotonic_timer *timer,
    struct timeval *tp)
{
    if (timer->monotonic_clock < 0) {
        if (gettimeofday(tp, NULL) < 0)
            return -1;
        adjust_fallback_time(timer, tp);
        return 0;
    }
#ifdef _WIN32
    {
        struct timespec ts;
        if (qpc_now(&ts) < 0)
            return -1;
        tp->tv_sec = ts.tv_sec;
        tp->tv_usec = ts.tv_nsec / 1000;
        return 0;
    }
#else
    return evutil_clock_gettime_tv_(timer->monotonic_clock, tp);
#endif
}

struct evutil_monotonic_timer *
evutil_monotonic_timer_new(void)
{
    struct evutil_monotonic_timer *timer = mm_calloc(1, sizeof(*timer));

    /* Usable even if the caller never configures it. */
    if (timer)
        evutil_configure_monotonic_time_(timer, 0);
    return timer;
}

void
evutil_monotonic_timer_free(struct evutil_monotonic_timer *timer)
{
    mm_free(timer);
}

int
evutil_configure_monotonic_time(struct evutil_monotonic_timer *timer,
    int flags)
{
    return evutil_configure_monotonic_time_(timer, flags);
}

int
evutil_gettime_monotonic(struct evutil_monotonic_timer *timer,
    struct timeval *tp)
{
    return evutil_gettime_monotonic_(timer, tp);
}

/* ------------------------------------------------------------------ */
/* Conversions and sleeping */

long
evutil_tv_to_msec_(const struct timeval *tv)
{
    long long usec, msec;
    long long sec;
    long long frac;

    if (!tv)
        return -1;
    sec = (long long)tv->tv_sec;
    frac = (long long)tv->tv_usec;
    /* Anything beyond INT_MAX ms (about 24.8 days) is clamped; bound the
     * inputs first so the arithmetic cannot overflow. */
    if (sec > (long long)INT_MAX / 1000 + 1000)
        return INT_MAX;
    if (sec < -((long long)INT_MAX / 1000 + 1000))
        return 0;
    if (frac > 1000000000LL)
        frac = 1000000000LL;
    if (frac < -1000000000LL)
        frac = -1000000000LL;
    usec = sec * 1000000LL + frac;
    if (usec <= 0)
        return 0;
    msec = (usec + 999) / 1000;
    return msec > INT_MAX ? INT_MAX : (long)msec;
}

void
evutil_usleep_(const struct timeval *tv)
{
    struct timespec ts, rem;

    if (!tv || tv->tv_sec < 0 || (tv->tv_sec == 0 && tv->tv_usec <= 0))
        return;
#ifdef _WIN32
    /* Sleep() takes milliseconds; round up so we never wake early. */
    (void)ts;
    (void)rem;
    Sleep((DWORD)evutil_tv_to_msec_(tv));
#else
    ts.tv_sec = tv->tv_sec + tv->tv_usec / 1000000;
    ts.tv_nsec = (tv->tv_usec % 1000000) * 1000;
    if (ts.tv_nsec < 0) {
        ts.tv_sec -= 1;
        ts.tv_nsec += 1000000000L;
    }
    while (nanosleep(&ts, &rem) < 0 && errno == EINTR)
        ts = rem;
#endif
}

/* ------------------------------------------------------------------ */
/* Dates */

/* "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 1123 section 5.2.14, the
 * preferred HTTP date of RFC 7231 section 7.1.1.1).  A NULL tm means now;
 * tm is taken to be UTC.  Returns what evutil_snprintf returns, or -1
 * (errno EINVAL) when tm's weekday or month is out of range. */
int
evutil_date_rfc1123(char *date, const size_t datelen, const struct tm *tm)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri",
        "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May",
        "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm now;

    if (datelen > 0)
        EV_REFUSE_NULL_(date, -1);
    if (!tm) {
        time_t t = time(NULL);
#ifdef _WIN32
        if (gmtime_s(&now, &t) != 0)
            return -1;
#else
        if (!gmtime_r(&t, &now))
            return -1;
#endif
        tm = &now;
    }
    if (tm->tm_wday < 0 || tm->tm_wday > 6 || tm->tm_mon < 0 ||
        tm->tm_mon > 11) {
        errno = EINVAL;
        return -1;
    }
    return evutil_snprintf(date, datelen, "%s, %02d %s %4d %02d:%02d:%02d GMT",
        days[tm->tm_wday], tm->tm_mday, months[tm->tm_mon],
        1900 + tm->tm_year, tm->tm_hour, tm->tm_min, tm->tm_sec);
}

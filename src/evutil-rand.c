/*
 * evutil-rand.c: the secure RNG (evutil_secure_rng_*) and the weak one
 * (evutil_weakrand_*).
 *
 * Secure bytes come straight from the kernel's CSPRNG through getrandom(2):
 * no user-space state, so nothing to reseed after fork() and nothing to
 * leak.  If getrandom is unavailable (ENOSYS, or a seccomp filter), the
 * bytes are read from the device file set with
 * evutil_secure_rng_set_urandom_device_file() (default /dev/urandom).  If
 * that fails too, a last-resort generator mixing the clock, the pid, a
 * counter and any evutil_secure_rng_add_bytes() input is used, with a
 * warning: such output is not secure, but the API has no way to fail.
 *
 * Debian's libevent (built on glibc's arc4random) ignores
 * evutil_secure_rng_add_bytes() and makes
 * evutil_secure_rng_set_urandom_device_file() always fail; ours follows
 * the documented contract instead: the file is opened and read once to
 * check it, 0 on success, -1 if it cannot be used.
 *
 * The weak generator is a 32-bit LCG with an output mix; it must only
 * serve jitter and hashing, never secrets.
 */
#include "event2/event-config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifdef _WIN32
#include <windows.h>
/* Windows: getrandom() is played by RtlGenRandom (advapi32's
 * SystemFunction036, the documented export behind rand_s).  There is no
 * device file, so read_device() just fails to open one. */
BOOLEAN NTAPI SystemFunction036(PVOID buffer, ULONG length);
#define GRND_NONBLOCK 1
#define O_CLOEXEC O_NOINHERIT
/* The last-resort seed only needs changing clock values: the
 * performance counter, whatever clock is asked for (this avoids a
 * dependency on winpthreads' clock_gettime). */
static int
win32_clock(struct timespec *ts)
{
    LARGE_INTEGER c;

    QueryPerformanceCounter(&c);
    ts->tv_sec = (time_t)(c.QuadPart / 1000000000LL);
    ts->tv_nsec = (long)(c.QuadPart % 1000000000LL);
    return 0;
}
#undef clock_gettime
#define clock_gettime(clock, ts) win32_clock(ts)
static ssize_t
getrandom(void *buf, size_t n, unsigned flags)
{
    ULONG chunk = n > 0x10000 ? 0x10000 : (ULONG)n;

    (void)flags;
    if (!SystemFunction036(buf, chunk)) {
        errno = EIO;
        return -1;
    }
    return (ssize_t)chunk;
}
#endif

#include "event2/util.h"
#include "evthread-internal.h"
#include "log-internal.h"
#include "util-internal.h"

/* ------------------------------------------------------------------ */
/* Secure RNG */

/* The device used when getrandom() is unavailable.  Not copied (the
 * caller keeps it alive, as documented). */
static const char *urandom_file;
/* Guards fallback_state (the only mutable state here besides the
 * pointer above, which is accessed atomically). */
static void *rng_lock;
static ev_uint64_t fallback_state[4];
static int warned_weak;

static const char *
device_file(void)
{
    const char *f = __atomic_load_n(&urandom_file, __ATOMIC_ACQUIRE);
    return f ? f : "/dev/urandom";
}

/* 64-bit mixing function (splitmix64's finalizer). */
static ev_uint64_t
mix64(ev_uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Fold bytes into the fallback state; call with rng_lock held. */
static void
fallback_absorb(const unsigned char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        ev_uint64_t *w = &fallback_state[i % 4];
        *w = mix64(*w ^ p[i] ^ ((ev_uint64_t)i << 8));
    }
}

/* Read exactly n bytes from fd.  Returns 0 or -1. */
static int
read_full(int fd, unsigned char *buf, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, buf, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        buf += r;
        n -= (size_t)r;
    }
    return 0;
}

static int
read_device(const char *fname, unsigned char *buf, size_t n)
{
    int fd = open(fname, O_RDONLY | O_CLOEXEC);
    int r;

    if (fd < 0)
        return -1;
    r = read_full(fd, buf, n);
    close(fd);
    return r;
}

/* Fill buf from getrandom().  Returns 0, or -1 if it is unavailable. */
static int
kernel_random(unsigned char *buf, size_t n)
{
    while (n > 0) {
        ssize_t r = getrandom(buf, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        buf += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Not secure: used only when the kernel gives us nothing. */
static void
weak_bytes(unsigned char *buf, size_t n)
{
    struct timespec ts;
    ev_uint64_t seed[3];
    int warn;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    seed[0] = (ev_uint64_t)ts.tv_sec * 1000000000ULL + (ev_uint64_t)ts.tv_nsec;
    clock_gettime(CLOCK_REALTIME, &ts);
    seed[1] = (ev_uint64_t)ts.tv_sec * 1000000000ULL + (ev_uint64_t)ts.tv_nsec;
    seed[2] = ((ev_uint64_t)getpid() << 32) ^ (ev_uint64_t)(uintptr_t)buf;

    EVLOCK_LOCK(rng_lock, 0);
    fallback_absorb((const unsigned char *)seed, sizeof(seed));
    while (n > 0) {
        ev_uint64_t out;
        size_t k = n < sizeof(out) ? n : sizeof(out);
        fallback_state[0] += 0x9e3779b97f4a7c15ULL;
        out = mix64(fallback_state[0] ^ fallback_state[1]) ^
            mix64(fallback_state[2] + fallback_state[3]);
        fallback_state[1] = mix64(fallback_state[1] ^ out);
        memcpy(buf, &out, k);
        buf += k;
        n -= k;
    }
    warn = !warned_weak;
    warned_weak = 1;
    EVLOCK_UNLOCK(rng_lock, 0);
    if (warn)
        event_warnx("No entropy source available; random numbers from "
                    "evutil_secure_rng_get_bytes are NOT secure");
}

void
evutil_secure_rng_get_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;

    if (n == 0)
        return;
    EV_REFUSE_NULL_VOID_(buf);
    if (kernel_random(p, n) == 0)
        return;
    if (read_device(device_file(), p, n) == 0)
        return;
    weak_bytes(p, n);
}

int
evutil_secure_rng_init(void)
{
    unsigned char b;

    if (getrandom(&b, 1, GRND_NONBLOCK) == 1)
        return 0;
    /* EAGAIN: the kernel pool is not ready yet; reads will wait for it. */
    if (errno == EAGAIN)
        return 0;
    return read_device(device_file(), &b, 1) == 0 ? 0 : -1;
}

int
evutil_secure_rng_set_urandom_device_file(char *fname)
{
    unsigned char buf[32];

    if (!fname) {
        errno = EINVAL;
        return -1;
    }
    if (read_device(fname, buf, sizeof(buf)) < 0)
        return -1;
    EVLOCK_LOCK(rng_lock, 0);
    fallback_absorb(buf, sizeof(buf));
    EVLOCK_UNLOCK(rng_lock, 0);
    evutil_memclear_(buf, sizeof(buf));
    __atomic_store_n(&urandom_file, fname, __ATOMIC_RELEASE);
    return 0;
}

void
evutil_secure_rng_add_bytes(const char *dat, size_t datlen)
{
    /* The kernel pool needs no help; keep the bytes for the fallback. */
    if (!dat)
        return;
    EVLOCK_LOCK(rng_lock, 0);
    fallback_absorb((const unsigned char *)dat, datlen);
    EVLOCK_UNLOCK(rng_lock, 0);
}

int
evutil_secure_rng_global_setup_locks_(const int enable_locks)
{
    EVTHREAD_SETUP_GLOBAL_LOCK(rng_lock, 0);
    return 0;
}

void
evutil_free_secure_rng_globals_(void)
{
    if (rng_lock) {
        EVTHREAD_FREE_LOCK(rng_lock, 0);
        rng_lock = NULL;
    }
}

/* Nothing else in evutil keeps global state that needs a lock. */
int
evutil_global_setup_locks_(const int enable_locks)
{
    (void)enable_locks;
    return 0;
}

void
evutil_free_globals_(void)
{
    evutil_free_secure_rng_globals_();
}

/* ------------------------------------------------------------------ */
/* Weak RNG */

ev_uint32_t
evutil_weakrand_seed_(struct evutil_weakrand_state *state, ev_uint32_t seed)
{
    if (seed == 0) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        seed = (ev_uint32_t)tv.tv_sec + (ev_uint32_t)tv.tv_usec +
            (ev_uint32_t)getpid();
    }
    state->seed = seed;
    return seed;
}

ev_int32_t
evutil_weakrand_(struct evutil_weakrand_state *state)
{
    ev_uint32_t x;

    /* Full-period LCG modulo 2^32; its low bits are poor, so the output
     * goes through an invertible mix before the top 31 bits are used. */
    state->seed = state->seed * 1664525u + 1013904223u;
    x = state->seed;
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return (ev_int32_t)(x >> 1);
}

ev_int32_t
evutil_weakrand_range_(struct evutil_weakrand_state *state, ev_int32_t top)
{
    ev_int32_t limit, r;

    EVUTIL_ASSERT(top > 0);
    /* Reject the uneven tail so every result is equally likely. */
    limit = EVUTIL_WEAKRAND_MAX - (ev_int32_t)(((ev_uint32_t)EVUTIL_WEAKRAND_MAX
        + 1u) % (ev_uint32_t)top);
    do {
        r = evutil_weakrand_(state);
    } while (r > limit);
    return r % top;
}

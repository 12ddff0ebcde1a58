/*
 * bench-util.c: timing, output lines, options and resource limits shared
 * by the benchmark programs.  Nothing here touches an event library, so
 * the raw epoll program links it too.
 *
 * Invariant: every timed region goes through bench_timed_region() and
 * prints exactly one REGION line, in order, so the K-th REGION line and
 * the K-th callgrind dump describe the same work.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench-util.h"

static const char *case_name_ = "unknown";
static char config_[256];
static int region_seq_;
/* Time spent in bench_untimed() since the current region began. */
static double untimed_wall_ns_, untimed_cpu_ns_;
static unsigned long rand_state_ = 0x9e3779b97f4a7c15UL;

static void
print_loaded_libs(void)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[4096];
    char seen[8][1024];
    int nseen = 0;
    int i;

    if (!maps) {
        printf("LIB case=%s lib=%s path=unknown\n", case_name_, BENCH_LIB);
        return;
    }
    while (fgets(line, sizeof(line), maps)) {
        char *path = strchr(line, '/');
        char *base;
        int dup = 0;

        if (!path)
            continue;
        path[strcspn(path, "\n")] = '\0';
        base = strrchr(path, '/') + 1;
        if (strncmp(base, "libevent", 8) != 0 &&
            strncmp(base, "libev.", 6) != 0)
            continue;
        for (i = 0; i < nseen; i++)
            if (strcmp(seen[i], path) == 0)
                dup = 1;
        if (dup || nseen == 8)
            continue;
        snprintf(seen[nseen++], sizeof(seen[0]), "%s", path);
        printf("LIB case=%s lib=%s path=%s\n", case_name_, BENCH_LIB, path);
    }
    if (nseen == 0)
        printf("LIB case=%s lib=%s path=none\n", case_name_, BENCH_LIB);
    fclose(maps);
}

void
bench_init(const char *case_name, const char *config)
{
    case_name_ = case_name;
    snprintf(config_, sizeof(config_), "%s", config);
    setvbuf(stdout, NULL, _IOLBF, 0);
    print_loaded_libs();
}

/*
 * The empty asm after the call keeps the compiler from turning the call
 * into a tail jump, which would make callgrind see the region end early.
 */
__attribute__((noinline)) void
bench_timed_region(bench_fn fn, void *arg)
{
    fn(arg);
    __asm__ volatile("" ::: "memory");
}

static double
clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Out of line and not a tail call either, like bench_timed_region. */
__attribute__((noinline)) void
bench_timed_region_gap(bench_fn fn, void *arg)
{
    fn(arg);
    __asm__ volatile("" ::: "memory");
}

void
bench_untimed(bench_fn fn, void *arg)
{
    double w0 = clock_ns(CLOCK_MONOTONIC);
    double c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);

    bench_timed_region_gap(fn, arg);
    untimed_cpu_ns_ += clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
    untimed_wall_ns_ += clock_ns(CLOCK_MONOTONIC) - w0;
}

struct bench_time
bench_region(const char *phase, long ops, bench_fn fn, void *arg)
{
    struct bench_time t;
    double w0, c0;

    fflush(stdout);
    untimed_wall_ns_ = untimed_cpu_ns_ = 0;
    w0 = clock_ns(CLOCK_MONOTONIC);
    c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    bench_timed_region(fn, arg);
    t.cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
    t.wall_ns = clock_ns(CLOCK_MONOTONIC) - w0;
    t.cpu_ns -= untimed_cpu_ns_;
    t.wall_ns -= untimed_wall_ns_;
    printf("REGION seq=%d phase=%s ops=%ld\n", ++region_seq_, phase, ops);
    return t;
}

void
bench_result(const char *phase, const char *metric, double value)
{
    printf("RESULT case=%s %s lib=%s phase=%s metric=%s value=%.3f\n",
           case_name_, config_, BENCH_LIB, phase, metric, value);
}

int
bench_skip(const char *reason)
{
    printf("SKIP case=%s %s lib=%s reason=%s\n", case_name_, config_, BENCH_LIB,
           reason);
    return 0;
}

int
bench_raise_nofile(long need)
{
    struct rlimit rl;
    char reason[200];

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        bench_skip("getrlimit_failed");
        return -1;
    }
    if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur >= need)
        return 0;
    if (rl.rlim_max != RLIM_INFINITY && (long)rl.rlim_max < need) {
        struct rlimit want = {(rlim_t)need, (rlim_t)need};

        /* Allowed with CAP_SYS_RESOURCE; said on stderr, not hidden. */
        if (setrlimit(RLIMIT_NOFILE, &want) == 0) {
            fprintf(stderr, "note: raised hard RLIMIT_NOFILE from %ld to %ld\n",
                    (long)rl.rlim_max, need);
            return 0;
        }
        snprintf(
            reason, sizeof(reason),
            "hard_RLIMIT_NOFILE_%ld_below_needed_%ld_(raise_with_ulimit_-Hn)",
            (long)rl.rlim_max, need);
        bench_skip(reason);
        return -1;
    }
    rl.rlim_cur = (rlim_t)need;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        snprintf(reason, sizeof(reason), "setrlimit_%ld_failed_errno_%d", need,
                 errno);
        bench_skip(reason);
        return -1;
    }
    return 0;
}

static const char *
find_opt(int argc, char **argv, const char *name)
{
    size_t len = strlen(name);
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, len) != 0)
            continue;
        if (a[2 + len] == '=')
            return a + 3 + len;
        if (a[2 + len] == '\0')
            return i + 1 < argc ? argv[i + 1] : "";
    }
    return NULL;
}

long
bench_opt_long(int argc, char **argv, const char *name, long def)
{
    const char *v = find_opt(argc, argv, name);

    /* strtod accepts "1e6", which the runner uses for sizes. */
    return v && *v ? (long)strtod(v, NULL) : def;
}

const char *
bench_opt_str(int argc, char **argv, const char *name, const char *def)
{
    const char *v = find_opt(argc, argv, name);

    return v && *v ? v : def;
}

int
bench_opt_flag(int argc, char **argv, const char *name)
{
    return find_opt(argc, argv, name) != NULL;
}

unsigned long
bench_rand(void)
{
    rand_state_ ^= rand_state_ >> 12;
    rand_state_ ^= rand_state_ << 25;
    rand_state_ ^= rand_state_ >> 27;
    return rand_state_ * 2685821657736338717UL;
}

long
bench_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

size_t
bench_heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
}

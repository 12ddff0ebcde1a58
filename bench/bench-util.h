/*
 * bench-util.h: what every benchmark program shares, whatever event
 * library it was built against (ours, Debian's libevent, libev's
 * emulation, or none for the raw epoll lower bound).
 *
 * Output protocol, one line each, machine-readable key=value fields:
 *   LIB     case=C lib=L path=P        the event library really mapped
 *   REGION  seq=K phase=P ops=N         the K-th timed region (1-based)
 *   RESULT  case=C <config> lib=L phase=P metric=M value=V
 *   SKIP    case=C <config> lib=L reason=R
 * bench/run.sh collects RESULT lines and pairs REGION lines with the
 * callgrind dump of the same sequence number.
 *
 * Timed regions run inside bench_timed_region(), a real out-of-line
 * function, so `valgrind --tool=callgrind --collect-atstart=no
 * '--toggle-collect=bench_timed_*' --dump-after=bench_timed_region`
 * counts exactly the timed work, one dump per region.  Work a region
 * must do but not count (the set-up of each iteration of a phase) goes
 * through bench_untimed(), which runs it in bench_timed_region_gap(),
 * the pattern's other match: collection stops on the way in and resumes
 * on the way out, and its time is taken off the region's.  (Callgrind
 * keeps only the last --toggle-collect given, hence one pattern.)
 */
#ifndef BENCH_UTIL_H_INCLUDED_
#define BENCH_UTIL_H_INCLUDED_

#include <stddef.h>

#ifndef BENCH_LIB
#define BENCH_LIB "unknown"
#endif

typedef void (*bench_fn)(void *arg);

/* Wall and CPU (this thread) time spent in one region, in nanoseconds. */
struct bench_time {
    double wall_ns;
    double cpu_ns;
};

/*
 * Remembers the case name and the configuration fields ("n=1000
 * tokens=100") that prefix every RESULT line, and prints the LIB line
 * naming each libevent or libev object found in /proc/self/maps.
 */
void bench_init(const char *case_name, const char *config);

/* Runs fn(arg); never inlined, so callgrind can toggle on it. */
void bench_timed_region(bench_fn fn, void *arg);

/*
 * Times fn(arg) through bench_timed_region(), prints the REGION line and
 * returns the elapsed times, less what bench_untimed() took inside it.
 * ops is only reported, never used here.
 */
struct bench_time bench_region(const char *phase, long ops, bench_fn fn,
                               void *arg);

/*
 * Runs fn(arg) inside a timed region without counting it: its wall and
 * CPU time are subtracted from the region's, and under callgrind (see
 * above) its instructions are not collected.
 */
void bench_untimed(bench_fn fn, void *arg);

/* Runs fn(arg); never inlined: the toggle point of bench_untimed(). */
void bench_timed_region_gap(bench_fn fn, void *arg);

/* Prints one RESULT line for the current case and configuration. */
void bench_result(const char *phase, const char *metric, double value);

/* Prints one SKIP line and returns the exit status 0 to use for it. */
int bench_skip(const char *reason);

/*
 * Raises the soft RLIMIT_NOFILE to at least need descriptors, trying the
 * hard limit too when that is too low (allowed for root only).  Returns 0
 * on success; on failure prints a SKIP line telling both limits and
 * returns -1.
 */
int bench_raise_nofile(long need);

/* Parses "--name=value" or "--name value"; returns def when absent. */
long bench_opt_long(int argc, char **argv, const char *name, long def);

/* Returns the value of "--name=value" or "--name value", or def. */
const char *bench_opt_str(int argc, char **argv, const char *name,
                          const char *def);

/* Returns 1 if "--name" is present, else 0. */
int bench_opt_flag(int argc, char **argv, const char *name);

/* A small deterministic generator (xorshift64*), seeded per program. */
unsigned long bench_rand(void);

/* Resident set size of this process in kilobytes, or -1. */
long bench_rss_kb(void);

/* Bytes in use by malloc (mallinfo2 uordblks + hblkhd). */
size_t bench_heap_bytes(void);

#endif /* BENCH_UTIL_H_INCLUDED_ */

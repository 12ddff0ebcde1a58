/*
 * diff-common.h: what the differential programs in test/diff/ share.
 *
 * A differential program drives libevent's public API through a script
 * drawn from a seeded generator and prints, one line per observation, what
 * the library did: callbacks in the order they ran, return values, buffer
 * contents.  run-diff.sh runs the same binary twice, once on our libraries
 * and once on Debian's libevent 2.1.12 (the ABI is the same, so only
 * LD_LIBRARY_PATH changes), and fails on the first line that differs.
 * Nothing here may depend on time, addresses or the scheduler: the output
 * of a correct library is a function of the seed alone.
 */
#ifndef DIFF_COMMON_H
#define DIFF_COMMON_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Print "LIB <path>" for the libevent_core mapped into this process, first
 * line of every output: run-diff.sh checks it names the library it meant,
 * then leaves it out of the comparison. */
static inline void
diff_print_lib(void)
{
    char line[4096];
    const char *found = "none";
    FILE *f = fopen("/proc/self/maps", "r");
    static char path[4096];

    if (f != NULL) {
        while (fgets(line, sizeof(line), f) != NULL) {
            char *p = strchr(line, '/');
            if (p != NULL && strstr(p, "/libevent_core-2.1.so") != NULL) {
                p[strcspn(p, "\n")] = '\0';
                snprintf(path, sizeof(path), "%s", p);
                found = path;
                break;
            }
        }
        fclose(f);
    }
    printf("LIB %s\n", found);
}

/* splitmix64: small, fast and the same everywhere. */
struct diff_rng {
    uint64_t s;
};

static inline uint64_t
diff_next(struct diff_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform-enough in [0, n); n > 0. */
static inline unsigned
diff_below(struct diff_rng *r, unsigned n)
{
    return (unsigned)(diff_next(r) % n);
}

/* One observation per line. */
#define DIFF_OUT(...) printf(__VA_ARGS__)

/* A method's name as printed: ours calls its epoll set reached through
 * an io_uring ring "io_uring", with the semantics of libevent's epoll,
 * so it prints as that. */
static inline const char *
diff_method(const char *m)
{
    return m != NULL && strcmp(m, "io_uring") == 0 ? "epoll" : m;
}

/* Options: --seeds=N (how many scripts), --first=N (first seed),
 * --steps=N (length of each script); value of name or dflt. */
static inline long
diff_opt(int argc, char **argv, const char *name, long dflt)
{
    size_t n = strlen(name);
    int i;
    for (i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) == 0 &&
            strncmp(argv[i] + 2, name, n) == 0 && argv[i][2 + n] == '=')
            return strtol(argv[i] + 3 + n, NULL, 10);
    }
    return dflt;
}

/* Whether the exact argument flag (e.g. "--no-layout") was given. */
static inline int
diff_has_flag(int argc, char **argv, const char *flag)
{
    int i;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], flag) == 0)
            return 1;
    }
    return 0;
}

#endif

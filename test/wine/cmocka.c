/*
 * test/wine/cmocka.c: the cmocka subset declared in cmocka.h, for the
 * Windows cross-build.  One test runs at a time in the main thread;
 * assertions from other threads are not supported (our tests assert in
 * the main thread only, as cmocka requires too).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmocka.h"

enum { CM_PASS, CM_FAIL, CM_SKIP };

static jmp_buf cm_jmp;
static int cm_active;

void
print_message(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

void
print_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
}

void
cm_fail_(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "[   LINE   ] --- %s:%d: error: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    if (!cm_active) {
        fprintf(stderr, "assertion outside a test: aborting\n");
        abort();
    }
    longjmp(cm_jmp, CM_FAIL);
}

void
_fail(const char *file, int line)
{
    cm_fail_(file, line, "failure");
}

void
cm_skip_(const char *file, int line)
{
    (void)file;
    (void)line;
    if (!cm_active)
        abort();
    longjmp(cm_jmp, CM_SKIP);
}

void
cm_assert_int_(LargestIntegralType a, LargestIntegralType b, int equal,
               const char *ea, const char *eb, const char *file, int line)
{
    if ((a == b) == !!equal)
        return;
    cm_fail_(file, line, "%s (%lld, %#llx) %s %s (%lld, %#llx)", ea,
             (long long)a, (unsigned long long)a, equal ? "!=" : "==", eb,
             (long long)b, (unsigned long long)b);
}

void
cm_assert_str_(const char *a, const char *b, int equal, const char *ea,
               const char *eb, const char *file, int line)
{
    int same = (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;

    if (same == !!equal)
        return;
    cm_fail_(file, line, "\"%s\" %s \"%s\" (%s vs %s)", a ? a : "(null)",
             equal ? "!=" : "==", b ? b : "(null)", ea, eb);
}

void
cm_assert_mem_(const void *a, const void *b, size_t n, int equal,
               const char *ea, const char *eb, const char *file, int line)
{
    int same = memcmp(a, b, n) == 0;

    if (same == !!equal)
        return;
    cm_fail_(file, line, "%s and %s %s in their first %zu bytes", ea, eb,
             equal ? "differ" : "are equal", n);
}

void
cm_assert_range_(LargestIntegralType v, LargestIntegralType lo,
                 LargestIntegralType hi, const char *ev, const char *file,
                 int line)
{
    if (v >= lo && v <= hi)
        return;
    cm_fail_(file, line, "%s (%llu) is not within [%llu, %llu]", ev,
             (unsigned long long)v, (unsigned long long)lo,
             (unsigned long long)hi);
}

/* Runs f(state) or fixture; returns CM_PASS, CM_FAIL or CM_SKIP. */
static int
run_test_body(CMUnitTestFunction f, void **state)
{
    volatile int r;

    cm_active = 1;
    r = setjmp(cm_jmp);
    if (r == 0) {
        f(state);
        r = CM_PASS;
    }
    cm_active = 0;
    return r;
}

static int
run_fixture(CMFixtureFunction f, void **state)
{
    volatile int r;

    if (f == NULL)
        return CM_PASS;
    cm_active = 1;
    r = setjmp(cm_jmp);
    if (r == 0)
        r = f(state) == 0 ? CM_PASS : CM_FAIL;
    cm_active = 0;
    return r;
}

/* Non-zero when name is in EVENT_WINE_SKIP (comma-separated test
 * names): tests whose assertions encode Linux-only facts. */
static int
skipped_by_env(const char *name)
{
    const char *list = getenv("EVENT_WINE_SKIP");
    size_t n = strlen(name);

    while (list && *list) {
        const char *end = strchr(list, ',');
        size_t len = end ? (size_t)(end - list) : strlen(list);
        if (len == n && strncmp(list, name, n) == 0)
            return 1;
        list = end ? end + 1 : NULL;
    }
    return 0;
}

int
cm_run_group_tests_(const char *group, const struct CMUnitTest *tests, size_t n,
                    CMFixtureFunction group_setup,
                    CMFixtureFunction group_teardown)
{
    void *group_state = NULL;
    size_t i, failed = 0, skipped = 0, passed = 0;

    printf("[==========] %s: Running %zu test(s).\n", group, n);
    fflush(stdout);
    if (run_fixture(group_setup, &group_state) != CM_PASS) {
        printf("[  ERROR   ] %s: group setup failed\n", group);
        return (int)n;
    }
    for (i = 0; i < n; ++i) {
        const struct CMUnitTest *t = &tests[i];
        void *state = t->initial_state ? t->initial_state : group_state;
        int r;

        printf("[ RUN      ] %s\n", t->name);
        fflush(stdout);
        if (skipped_by_env(t->name)) {
            printf("[  SKIPPED ] %s (EVENT_WINE_SKIP)\n", t->name);
            ++skipped;
            continue;
        }
        r = run_fixture(t->setup_func, &state);
        if (r == CM_PASS) {
            int td;
            r = run_test_body(t->test_func, &state);
            td = run_fixture(t->teardown_func, &state);
            if (td == CM_FAIL)
                r = CM_FAIL;
        }
        if (r == CM_PASS) {
            printf("[       OK ] %s\n", t->name);
            ++passed;
        } else if (r == CM_SKIP) {
            printf("[  SKIPPED ] %s\n", t->name);
            ++skipped;
        } else {
            printf("[  FAILED  ] %s\n", t->name);
            ++failed;
        }
        fflush(stdout);
    }
    (void)run_fixture(group_teardown, &group_state);
    printf("[==========] %s: %zu test(s) run.\n", group, n);
    printf("[  PASSED  ] %zu test(s).\n", passed);
    if (skipped)
        printf("[  SKIPPED ] %zu test(s).\n", skipped);
    if (failed)
        printf("[  FAILED  ] %zu test(s).\n", failed);
    fflush(stdout);
    return (int)failed;
}

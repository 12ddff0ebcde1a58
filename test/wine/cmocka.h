/*
 * test/wine/cmocka.h: the part of cmocka's API our tests use, for the
 * Windows cross-build (no mingw-w64 cmocka package exists in Debian).
 * Implemented in test/wine/cmocka.c; the Linux build uses the real
 * libcmocka.
 *
 * Same observable behaviour as cmocka 1.1 for these calls: a failed
 * assertion prints where and why, longjmps out of the test and marks it
 * failed; skip() marks it skipped; the teardown runs after the test body
 * whether it failed or not (but not when the setup failed);
 * cmocka_run_group_tests() prints one line per test and returns the
 * number of failed tests.  Callers include <stdarg.h>, <stddef.h> and
 * <setjmp.h> first, as with cmocka.
 */
#ifndef EVENT_TEST_WINE_CMOCKA_H_
#define EVENT_TEST_WINE_CMOCKA_H_

#include <stdint.h>
#include <stddef.h>

typedef uintmax_t LargestIntegralType;
typedef void (*CMUnitTestFunction)(void **state);
typedef int (*CMFixtureFunction)(void **state);

struct CMUnitTest {
    const char *name;
    CMUnitTestFunction test_func;
    CMFixtureFunction setup_func;
    CMFixtureFunction teardown_func;
    void *initial_state;
};

#define cmocka_unit_test(f)                                                    \
    {                                                                          \
#f, f, NULL, NULL, NULL                                                \
    }
#define cmocka_unit_test_setup(f, setup)                                       \
    {                                                                          \
#f, f, setup, NULL, NULL                                               \
    }
#define cmocka_unit_test_teardown(f, teardown)                                 \
    {                                                                          \
#f, f, NULL, teardown, NULL                                            \
    }
#define cmocka_unit_test_setup_teardown(f, setup, teardown)                    \
    {                                                                          \
#f, f, setup, teardown, NULL                                           \
    }
#define cmocka_unit_test_prestate(f, state)                                    \
    {                                                                          \
#f, f, NULL, NULL, state                                               \
    }
#define cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, state)    \
    {                                                                          \
#f, f, setup, teardown, state                                          \
    }

int cm_run_group_tests_(const char *group, const struct CMUnitTest *tests,
                        size_t n, CMFixtureFunction group_setup,
                        CMFixtureFunction group_teardown);
#define cmocka_run_group_tests(tests, gsetup, gteardown)                       \
    cm_run_group_tests_(#tests, (tests), sizeof(tests) / sizeof((tests)[0]),   \
                        (gsetup), (gteardown))
#define cmocka_run_group_tests_name(name, tests, gsetup, gteardown)            \
    cm_run_group_tests_((name), (tests), sizeof(tests) / sizeof((tests)[0]),   \
                        (gsetup), (gteardown))

void cm_fail_(const char *file, int line, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((noreturn, format(gnu_printf, 3, 4)))
#endif
    ;
void cm_skip_(const char *file, int line)
#ifdef __GNUC__
    __attribute__((noreturn))
#endif
    ;
void cm_assert_int_(LargestIntegralType a, LargestIntegralType b, int equal,
                    const char *ea, const char *eb, const char *file, int line);
void cm_assert_str_(const char *a, const char *b, int equal, const char *ea,
                    const char *eb, const char *file, int line);
void cm_assert_mem_(const void *a, const void *b, size_t n, int equal,
                    const char *ea, const char *eb, const char *file, int line);
void cm_assert_range_(LargestIntegralType v, LargestIntegralType lo,
                      LargestIntegralType hi, const char *ev, const char *file,
                      int line);
/* cmocka's (internal but used) failure entry point: fail at file:line. */
void _fail(const char *file, int line)
#ifdef __GNUC__
    __attribute__((noreturn))
#endif
    ;
void print_message(const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(gnu_printf, 1, 2)))
#endif
    ;
void print_error(const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(gnu_printf, 1, 2)))
#endif
    ;

#define CM_CHECK_(cond, text)                                                  \
    do {                                                                       \
        if (!(cond))                                                           \
            cm_fail_(__FILE__, __LINE__, "%s", (text));                        \
    } while (0)

#define assert_true(c) CM_CHECK_((c), #c " is not true")
#define assert_false(c) CM_CHECK_(!(c), #c " is not false")
#define assert_non_null(p) CM_CHECK_((p) != NULL, #p " is NULL")
#define assert_null(p) CM_CHECK_((p) == NULL, #p " is not NULL")
#define assert_int_equal(a, b)                                                 \
    cm_assert_int_((LargestIntegralType)(a), (LargestIntegralType)(b), 1, #a,  \
                   #b, __FILE__, __LINE__)
#define assert_int_not_equal(a, b)                                             \
    cm_assert_int_((LargestIntegralType)(a), (LargestIntegralType)(b), 0, #a,  \
                   #b, __FILE__, __LINE__)
#define assert_uint_equal assert_int_equal
#define assert_ptr_equal(a, b)                                                 \
    cm_assert_int_((LargestIntegralType)(uintptr_t)(const void *)(a),          \
                   (LargestIntegralType)(uintptr_t)(const void *)(b), 1, #a,   \
                   #b, __FILE__, __LINE__)
#define assert_ptr_not_equal(a, b)                                             \
    cm_assert_int_((LargestIntegralType)(uintptr_t)(const void *)(a),          \
                   (LargestIntegralType)(uintptr_t)(const void *)(b), 0, #a,   \
                   #b, __FILE__, __LINE__)
#define assert_string_equal(a, b)                                              \
    cm_assert_str_((a), (b), 1, #a, #b, __FILE__, __LINE__)
#define assert_string_not_equal(a, b)                                          \
    cm_assert_str_((a), (b), 0, #a, #b, __FILE__, __LINE__)
#define assert_memory_equal(a, b, n)                                           \
    cm_assert_mem_((a), (b), (n), 1, #a, #b, __FILE__, __LINE__)
#define assert_memory_not_equal(a, b, n)                                       \
    cm_assert_mem_((a), (b), (n), 0, #a, #b, __FILE__, __LINE__)
#define assert_in_range(v, lo, hi)                                             \
    cm_assert_range_((LargestIntegralType)(v), (LargestIntegralType)(lo),      \
                     (LargestIntegralType)(hi), #v, __FILE__, __LINE__)
#define assert_return_code(rc, err) CM_CHECK_((rc) >= 0, #rc " is negative")
#define fail() cm_fail_(__FILE__, __LINE__, "failure")
#define fail_msg(...) cm_fail_(__FILE__, __LINE__, __VA_ARGS__)
#define skip() cm_skip_(__FILE__, __LINE__)

#endif /* EVENT_TEST_WINE_CMOCKA_H_ */

/*
 * test/wine/include/stdlib.h: the C runtime's <stdlib.h> plus POSIX
 * setenv() and unsetenv() over _putenv(), for the tests that change the
 * EVENT_* environment (Windows build of the tests only).  _putenv()
 * edits the C runtime's copy of the environment, the one getenv() and so
 * the library read; "NAME=" removes NAME.
 */
#ifndef EVENT_TEST_WINE_STDLIB_H_
#define EVENT_TEST_WINE_STDLIB_H_
#include_next <stdlib.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static inline int
tw_putenv(const char *name, const char *value)
{
    char buf[512];
    int n;

    if (name == NULL || name[0] == '\0' || strchr(name, '=') != NULL) {
        errno = EINVAL;
        return -1;
    }
    n = snprintf(buf, sizeof(buf), "%s=%s", name, value);
    if (n < 0 || (size_t)n >= sizeof(buf)) {
        errno = ENOMEM;
        return -1;
    }
    return _putenv(buf) == 0 ? 0 : -1;
}

static inline int
setenv(const char *name, const char *value, int overwrite)
{
    if (!overwrite && name != NULL && getenv(name) != NULL)
        return 0;
    return tw_putenv(name, value);
}

static inline int
unsetenv(const char *name)
{
    return tw_putenv(name, "");
}
#endif

/*
 * test/wine/include/unistd.h: the library's stand-in <unistd.h> plus
 * sysconf(_SC_PAGESIZE), which the tests' guard pages ask for (Windows
 * build only; see sys/mman.h here).
 */
#ifndef EVENT_TEST_WINE_UNISTD_H_
#define EVENT_TEST_WINE_UNISTD_H_
#include_next <unistd.h>
#include <windows.h>

#ifndef _SC_PAGESIZE
#define _SC_PAGESIZE 30
#endif

static inline long
sysconf(int name)
{
    SYSTEM_INFO si;

    if (name != _SC_PAGESIZE)
        return -1;
    GetSystemInfo(&si);
    return (long)si.dwPageSize;
}
#endif

/*
 * test/wine/include/sys/mman.h: anonymous mmap/mprotect/munmap over
 * VirtualAlloc/VirtualProtect/VirtualFree, for the tests' guard pages in
 * the Windows cross-build (test/wine/wine-tests.cmake puts this directory
 * first on the tests' include path).  Only what the tests use: private
 * anonymous mappings; anything else fails with EINVAL.
 */
#ifndef EVENT_TEST_WINE_SYS_MMAN_H_
#define EVENT_TEST_WINE_SYS_MMAN_H_
#include <errno.h>
#include <stddef.h>
#include <windows.h>

#define PROT_NONE 0
#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_PRIVATE 0x02
#define MAP_ANONYMOUS 0x20
#define MAP_ANON MAP_ANONYMOUS
#define MAP_FAILED ((void *)-1)

static inline DWORD
tw_protection(int prot)
{
    if (prot & PROT_WRITE)
        return PAGE_READWRITE;
    if (prot & PROT_READ)
        return PAGE_READONLY;
    return PAGE_NOACCESS;
}

static inline void *
mmap(void *addr, size_t len, int prot, int flags, int fd, long long off)
{
    void *p;

    if (addr != NULL || fd != -1 || off != 0 || !(flags & MAP_ANONYMOUS)) {
        errno = EINVAL;
        return MAP_FAILED;
    }
    p = VirtualAlloc(NULL, len, MEM_RESERVE | MEM_COMMIT, tw_protection(prot));
    if (p == NULL) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    return p;
}

static inline int
mprotect(void *addr, size_t len, int prot)
{
    DWORD old;

    if (!VirtualProtect(addr, len, tw_protection(prot), &old)) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

static inline int
munmap(void *addr, size_t len)
{
    (void)len;
    if (!VirtualFree(addr, 0, MEM_RELEASE)) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}
#endif

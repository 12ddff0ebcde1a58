/*
 * Windows: mingw-w64's <unistd.h> plus pread(), which the C runtime lacks
 * (see README).  It reads at an absolute offset through ReadFile with an
 * OVERLAPPED offset on the descriptor's handle, so, as with POSIX pread,
 * several readers can share one descriptor.  Unlike POSIX the file
 * position moves; the library does not rely on it.
 */
#ifndef EVENT_WIN32_COMPAT_UNISTD_H_
#define EVENT_WIN32_COMPAT_UNISTD_H_
#include_next <unistd.h>
#include <errno.h>
#include <io.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <windows.h>

static inline ssize_t
pread(int fd, void *buf, size_t len, long long offset)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    OVERLAPPED ov;
    DWORD got = 0;

    if (h == INVALID_HANDLE_VALUE || offset < 0) {
        errno = EBADF;
        return -1;
    }
    memset(&ov, 0, sizeof(ov));
    ov.Offset = (DWORD)((unsigned long long)offset & 0xffffffffu);
    ov.OffsetHigh = (DWORD)((unsigned long long)offset >> 32);
    if (len > 0x40000000)
        len = 0x40000000;
    if (!ReadFile(h, buf, (DWORD)len, &got, &ov)) {
        if (GetLastError() == ERROR_HANDLE_EOF)
            return 0;
        errno = EIO;
        return -1;
    }
    return (ssize_t)got;
}
#endif

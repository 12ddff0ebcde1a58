/*
 * test/wine/include/fcntl.h: the C runtime's <fcntl.h> plus fcntl(fd,
 * F_GETFD), with which the tests check whether the library closed a file
 * descriptor (Windows build of the tests only).  Only C runtime
 * descriptors (files) are known: sockets are not descriptors on Windows.
 * F_GETFD returns 0 for an open descriptor (no close-on-exec flag to
 * report), -1 with errno EBADF for a closed one; any other command fails
 * with EINVAL.
 */
#ifndef EVENT_TEST_WINE_FCNTL_H_
#define EVENT_TEST_WINE_FCNTL_H_
#include_next <fcntl.h>
#include <errno.h>
#include <io.h>
#include <stdint.h>

#ifndef F_GETFD
#define F_GETFD 1
#endif

static inline int
fcntl(int fd, int cmd, ...)
{
    if (cmd != F_GETFD) {
        errno = EINVAL;
        return -1;
    }
    if (_get_osfhandle(fd) == (intptr_t)-1) {
        errno = EBADF;
        return -1;
    }
    return 0;
}
#endif

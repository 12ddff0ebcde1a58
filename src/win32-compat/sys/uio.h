/*
 * Windows stand-in for <sys/uio.h> (see README in win32-compat/).
 *
 * Winsock has no readv/writev on sockets; WSARecv/WSASend take the same
 * scatter/gather lists as WSABUF arrays.  These wrappers translate at most
 * EVENT_WIN32_MAX_IOV entries (more than any caller in the library passes)
 * and behave like the POSIX calls: bytes moved, 0 at end of stream, or -1
 * with the error in WSAGetLastError() (EVUTIL_SOCKET_ERROR()).
 */
#ifndef EVENT_WIN32_COMPAT_SYS_UIO_H_
#define EVENT_WIN32_COMPAT_SYS_UIO_H_
#include <sys/socket.h>
#include <sys/types.h>
#include <stdint.h>

struct iovec {
    void *iov_base;
    size_t iov_len;
};

#define EVENT_WIN32_MAX_IOV 128

/* Fill wsa from iov; lengths past ULONG_MAX are cut (short I/O is legal). */
static inline int
event_win32_iov_to_wsabuf_(WSABUF *wsa, const struct iovec *iov, int n)
{
    int i;

    if (n > EVENT_WIN32_MAX_IOV)
        n = EVENT_WIN32_MAX_IOV;
    for (i = 0; i < n; ++i) {
        wsa[i].buf = (CHAR *)iov[i].iov_base;
        wsa[i].len = iov[i].iov_len > 0xffffffffu ? 0xffffffffu
                                                  : (ULONG)iov[i].iov_len;
    }
    return n;
}

static inline ssize_t
readv(intptr_t fd, const struct iovec *iov, int n)
{
    WSABUF wsa[EVENT_WIN32_MAX_IOV];
    DWORD got = 0, flags = 0;

    n = event_win32_iov_to_wsabuf_(wsa, iov, n);
    /* A graceful close by the peer completes with 0 bytes, as on Unix. */
    if (WSARecv((SOCKET)fd, wsa, (DWORD)n, &got, &flags, NULL, NULL) != 0)
        return -1;
    return (ssize_t)got;
}

static inline ssize_t
writev(intptr_t fd, const struct iovec *iov, int n)
{
    WSABUF wsa[EVENT_WIN32_MAX_IOV];
    DWORD sent = 0;

    n = event_win32_iov_to_wsabuf_(wsa, iov, n);
    if (WSASend((SOCKET)fd, wsa, (DWORD)n, &sent, 0, NULL, NULL) != 0)
        return -1;
    return (ssize_t)sent;
}

#endif

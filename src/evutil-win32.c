/*
 * evutil-win32.c: the Windows versions of evutil's socket, descriptor and
 * environment helpers (the POSIX ones are in evutil.c).  Empty elsewhere.
 *
 * Winsock differs from POSIX sockets in ways these helpers hide:
 *  - errors are read with WSAGetLastError() (EVUTIL_SOCKET_ERROR()), not
 *    errno; every helper leaves the failing call's code there, and
 *    cleanup (closesocket) does not clobber it;
 *  - there is no socketpair(): evutil_socketpair() builds a connected pair
 *    over loopback TCP (listen on 127.0.0.1:0, connect, accept) and checks
 *    that the accepted peer is our own connecting socket, so a stranger
 *    racing to the port cannot be handed to the caller.  AF_UNIX is
 *    accepted and served over AF_INET, as libevent does;
 *  - non-blocking mode is ioctlsocket(FIONBIO); sockets are not inherited
 *    by child processes unless asked, so close-on-exec clears
 *    HANDLE_FLAG_INHERIT;
 *  - SO_REUSEADDR on Windows lets a second live socket steal a bound port,
 *    so evutil_make_listen_socket_reuseable() does nothing (as in
 *    libevent), and neither do the Linux-only port and deferred options.
 *
 * The application calls WSAStartup() before using the library, as with
 * libevent; nothing here starts or stops Winsock.
 */
#include "event2/event-config.h"

#ifdef _WIN32

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "event2/util.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

#define SOCK_FLAG_MASK (EVUTIL_SOCK_NONBLOCK | EVUTIL_SOCK_CLOEXEC)

/* closesocket() that leaves the socket error alone, for error paths. */
static void
close_keep_error(evutil_socket_t s)
{
    int saved = WSAGetLastError();

    (void)closesocket((SOCKET)s);
    WSASetLastError(saved);
}

static int
set_nonblocking(evutil_socket_t s)
{
    u_long on = 1;

    return ioctlsocket((SOCKET)s, FIONBIO, &on) == 0 ? 0 : -1;
}

static int
set_closeonexec(evutil_socket_t s)
{
    if (!SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0)) {
        WSASetLastError((int)GetLastError());
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Socket errors */

int
evutil_socket_geterror(evutil_socket_t sock)
{
    int err = WSAGetLastError();
    int optval = 0, optlen = (int)sizeof(optval);

    /* A non-blocking connect that failed reports WOULDBLOCK on the call;
     * the real reason is the socket's pending error. */
    if (err == WSAEWOULDBLOCK && sock >= 0 &&
        getsockopt((SOCKET)sock, SOL_SOCKET, SO_ERROR, (char *)&optval,
                   &optlen) == 0 &&
        optval)
        return optval;
    return err;
}

/* Returned strings live in a per-thread buffer, valid until the thread's
 * next call. */
const char *
evutil_socket_error_to_string(int errcode)
{
    static __thread char buf[256];
    DWORD n;

    n = FormatMessageA(
        FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS |
            FORMAT_MESSAGE_MAX_WIDTH_MASK,
        NULL, (DWORD)errcode, MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT), buf,
        (DWORD)sizeof(buf), NULL);
    /* Drop the trailing space and period FormatMessage leaves. */
    while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '.' ||
                     buf[n - 1] == '\r' || buf[n - 1] == '\n'))
        buf[--n] = '\0';
    if (n == 0)
        evutil_snprintf(buf, sizeof(buf), "Winsock error %d (0x%08x)", errcode,
                        (unsigned)errcode);
    else
        evutil_snprintf(buf + n, sizeof(buf) - n, " [WSA %d]", errcode);
    return buf;
}

/* ------------------------------------------------------------------ */
/* Socket options */

int
evutil_socketpair(int family, int type, int protocol, evutil_socket_t fd[2])
{
    return evutil_ersatz_socketpair_(family, type, protocol, fd);
}

int
evutil_make_socket_nonblocking(evutil_socket_t fd)
{
    if (set_nonblocking(fd) < 0) {
        event_sock_warn(fd, "ioctlsocket(%lld, FIONBIO)", (long long)fd);
        return -1;
    }
    return 0;
}

int
evutil_make_socket_closeonexec(evutil_socket_t fd)
{
    if (set_closeonexec(fd) < 0) {
        event_sock_warn(fd, "SetHandleInformation(%lld)", (long long)fd);
        return -1;
    }
    return 0;
}

int
evutil_make_listen_socket_reuseable(evutil_socket_t sock)
{
    (void)sock;
    return 0;
}

int
evutil_make_listen_socket_reuseable_port(evutil_socket_t sock)
{
    (void)sock;
    return 0;
}

int
evutil_make_listen_socket_ipv6only(evutil_socket_t sock)
{
    DWORD one = 1;

    return setsockopt((SOCKET)sock, IPPROTO_IPV6, IPV6_V6ONLY,
                      (const char *)&one, (int)sizeof(one)) == 0
               ? 0
               : -1;
}

int
evutil_make_tcp_listen_socket_deferred(evutil_socket_t sock)
{
    (void)sock;
    return 0;
}

int
evutil_closesocket(evutil_socket_t sock)
{
    return closesocket((SOCKET)sock) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* Creating descriptors */

/* Apply EVUTIL_SOCK_* flags by hand; closes s on failure. */
static evutil_socket_t
apply_sock_flags(evutil_socket_t s, int flags)
{
    if ((flags & EVUTIL_SOCK_NONBLOCK) && set_nonblocking(s) < 0)
        goto err;
    if ((flags & EVUTIL_SOCK_CLOEXEC) && set_closeonexec(s) < 0)
        goto err;
    return s;
err:
    close_keep_error(s);
    return EVUTIL_INVALID_SOCKET;
}

evutil_socket_t
evutil_socket_(int domain, int type, int protocol)
{
    SOCKET s = socket(domain, type & ~SOCK_FLAG_MASK, protocol);

    if (s == INVALID_SOCKET)
        return EVUTIL_INVALID_SOCKET;
    return apply_sock_flags((evutil_socket_t)s, type & SOCK_FLAG_MASK);
}

evutil_socket_t
evutil_accept4_(evutil_socket_t sockfd, struct sockaddr *addr,
                ev_socklen_t *addrlen, int flags)
{
    SOCKET s = accept((SOCKET)sockfd, addr, addrlen);

    if (s == INVALID_SOCKET)
        return EVUTIL_INVALID_SOCKET;
    return apply_sock_flags((evutil_socket_t)s, flags);
}

int
evutil_make_internal_pipe_(evutil_socket_t fd[2])
{
    /* No pipes that select() can watch: a loopback pair. */
    if (evutil_ersatz_socketpair_(AF_INET, SOCK_STREAM, 0, fd) == 0) {
        if (set_nonblocking(fd[0]) == 0 && set_nonblocking(fd[1]) == 0)
            return 0;
        close_keep_error(fd[0]);
        close_keep_error(fd[1]);
    }
    fd[0] = fd[1] = EVUTIL_INVALID_SOCKET;
    return -1;
}

evutil_socket_t
evutil_eventfd_(unsigned initval, int flags)
{
    (void)initval;
    (void)flags;
    errno = ENOSYS;
    return EVUTIL_INVALID_SOCKET;
}

int
evutil_open_closeonexec_(const char *pathname, int flags, unsigned mode)
{
    return open(pathname, flags | O_NOINHERIT, (int)mode);
}

int
evutil_read_file_(const char *filename, char **content_out, size_t *len_out,
                  int is_binary)
{
    struct stat st;
    size_t cap, len = 0;
    char *mem, *bigger;
    int fd, r, saved;

    EVUTIL_ASSERT(content_out && len_out);
    *content_out = NULL;
    *len_out = 0;

    fd = evutil_open_closeonexec_(filename,
                                  O_RDONLY | (is_binary ? O_BINARY : 0), 0);
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0 || st.st_size < 0)
        goto err_close;
    cap = (size_t)st.st_size + 1;
    if (cap < 256)
        cap = 256;
    mem = mm_malloc(cap);
    if (!mem)
        goto err_close;
    for (;;) {
        if (len + 1 == cap) {
            if (cap > EV_SSIZE_MAX / 2)
                goto err_free;
            bigger = mm_realloc(mem, cap * 2);
            if (!bigger)
                goto err_free;
            mem = bigger;
            cap *= 2;
        }
        /* Text mode may shrink what read() returns (CRLF to LF). */
        r = read(fd, mem + len,
                 (unsigned)(cap - len - 1 > 0x40000000 ? 0x40000000
                                                       : cap - len - 1));
        if (r < 0)
            goto err_free;
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    mem[len] = '\0';
    *content_out = mem;
    *len_out = len;
    return 0;

err_free:
    mm_free(mem);
err_close:
    saved = errno;
    close(fd);
    errno = saved;
    return -2;
}

/* Build a connected pair through a loopback listener; the accepted end is
 * checked to be our own connecting socket, not a stranger's. */
int
evutil_ersatz_socketpair_(int family, int type, int protocol,
                          evutil_socket_t fd[2])
{
    struct sockaddr_in listen_addr, conn_addr, peer_addr;
    int len, clen;
    evutil_socket_t listener = EVUTIL_INVALID_SOCKET;
    evutil_socket_t connector = EVUTIL_INVALID_SOCKET;
    evutil_socket_t acceptor = EVUTIL_INVALID_SOCKET;
    int flags = type & SOCK_FLAG_MASK;

    if (protocol != 0 || (family != AF_INET && family != AF_UNIX) ||
        (type & ~SOCK_FLAG_MASK) != SOCK_STREAM) {
        EVUTIL_SET_SOCKET_ERROR(WSAEAFNOSUPPORT);
        return -1;
    }
    if (!fd) {
        EVUTIL_SET_SOCKET_ERROR(WSAEINVAL);
        return -1;
    }
    memset(&listen_addr, 0, sizeof(listen_addr));
    listen_addr.sin_family = AF_INET;
    listen_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    listen_addr.sin_port = 0;
    listener = evutil_socket_(AF_INET, SOCK_STREAM, 0);
    if (listener < 0)
        return -1;
    if (bind((SOCKET)listener, (struct sockaddr *)&listen_addr,
             (int)sizeof(listen_addr)) == SOCKET_ERROR ||
        listen((SOCKET)listener, 1) == SOCKET_ERROR)
        goto err;
    len = (int)sizeof(listen_addr);
    if (getsockname((SOCKET)listener, (struct sockaddr *)&listen_addr, &len) ==
        SOCKET_ERROR)
        goto err;
    connector = evutil_socket_(AF_INET, SOCK_STREAM, 0);
    if (connector < 0 ||
        connect((SOCKET)connector, (struct sockaddr *)&listen_addr, len) ==
            SOCKET_ERROR)
        goto err;
    len = (int)sizeof(peer_addr);
    acceptor =
        evutil_accept4_(listener, (struct sockaddr *)&peer_addr, &len, 0);
    if (acceptor < 0)
        goto err;
    clen = (int)sizeof(conn_addr);
    if (getsockname((SOCKET)connector, (struct sockaddr *)&conn_addr, &clen) ==
        SOCKET_ERROR)
        goto err;
    if (clen != len || conn_addr.sin_family != peer_addr.sin_family ||
        conn_addr.sin_port != peer_addr.sin_port ||
        conn_addr.sin_addr.s_addr != peer_addr.sin_addr.s_addr) {
        EVUTIL_SET_SOCKET_ERROR(WSAECONNABORTED);
        goto err;
    }
    closesocket((SOCKET)listener);
    listener = EVUTIL_INVALID_SOCKET;
    if (apply_sock_flags(connector, flags) < 0) {
        connector = EVUTIL_INVALID_SOCKET;
        goto err;
    }
    if (apply_sock_flags(acceptor, flags) < 0) {
        acceptor = EVUTIL_INVALID_SOCKET;
        goto err;
    }
    fd[0] = connector;
    fd[1] = acceptor;
    return 0;

err:
    if (listener >= 0)
        close_keep_error(listener);
    if (connector >= 0)
        close_keep_error(connector);
    if (acceptor >= 0)
        close_keep_error(acceptor);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Environment */

const char *
evutil_getenv_(const char *varname)
{
    /* No set-ID programs on Windows. */
    return getenv(varname);
}

#endif /* _WIN32 */

/*
 * evutil.c: portability helpers for sockets, files, strings and the
 * environment (event2/util.h and util-internal.h).
 *
 * Addresses and getaddrinfo live in evutil-addr.c, random numbers in
 * evutil-rand.c, clocks and dates in evutil-time.c.
 *
 * Invariants: every descriptor the library creates for its own use is
 * close-on-exec; helpers that fail return -1 with errno as the failing
 * system call left it (cleanup such as close() does not clobber it); the
 * character classes are plain ASCII whatever the locale.
 */
#include "event2/event-config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "event2/util.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

#ifndef _WIN32
/* Windows versions of everything up to the string helpers live in
 * evutil-win32.c. */

/* ------------------------------------------------------------------ */
/* Socket options */

int
evutil_socketpair(int family, int type, int protocol, evutil_socket_t fd[2])
{
    return socketpair(family, type, protocol, fd);
}

int
evutil_make_socket_nonblocking(evutil_socket_t fd)
{
    int flags = fcntl(fd, F_GETFL, NULL);

    if (flags < 0) {
        event_warn("fcntl(%d, F_GETFL)", fd);
        return -1;
    }
    if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        event_warn("fcntl(%d, F_SETFL)", fd);
        return -1;
    }
    return 0;
}

int
evutil_make_socket_closeonexec(evutil_socket_t fd)
{
    int flags = fcntl(fd, F_GETFD, NULL);

    if (flags < 0) {
        event_warn("fcntl(%d, F_GETFD)", fd);
        return -1;
    }
    if (!(flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
        event_warn("fcntl(%d, F_SETFD)", fd);
        return -1;
    }
    return 0;
}

/* The same two without logging, for descriptors we just created. */
static int
set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL, NULL);

    if (flags < 0)
        return -1;
    return (flags & O_NONBLOCK) ? 0 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static int
set_closeonexec(int fd)
{
    int flags = fcntl(fd, F_GETFD, NULL);

    if (flags < 0)
        return -1;
    return (flags & FD_CLOEXEC) ? 0 : fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

/* close() that leaves errno alone, for error paths. */
static void
close_keep_errno(int fd)
{
    int saved = errno;

    (void)close(fd);
    errno = saved;
}

static int
set_int_option(evutil_socket_t sock, int level, int name)
{
    int one = 1;

    return setsockopt(sock, level, name, &one, (ev_socklen_t)sizeof(one));
}

int
evutil_make_listen_socket_reuseable(evutil_socket_t sock)
{
    /* On Unix this only lets a new listener bind right after the old
     * one closed; it does not allow two live listeners. */
    return set_int_option(sock, SOL_SOCKET, SO_REUSEADDR);
}

int
evutil_make_listen_socket_reuseable_port(evutil_socket_t sock)
{
    return set_int_option(sock, SOL_SOCKET, SO_REUSEPORT);
}

int
evutil_make_listen_socket_ipv6only(evutil_socket_t sock)
{
    return set_int_option(sock, IPPROTO_IPV6, IPV6_V6ONLY);
}

int
evutil_make_tcp_listen_socket_deferred(evutil_socket_t sock)
{
    /* Wake the listener only once the client has sent data. */
    return set_int_option(sock, IPPROTO_TCP, TCP_DEFER_ACCEPT);
}

int
evutil_closesocket(evutil_socket_t sock)
{
    return close(sock);
}

/* ------------------------------------------------------------------ */
/* Creating descriptors */

#define SOCK_FLAG_MASK (EVUTIL_SOCK_NONBLOCK | EVUTIL_SOCK_CLOEXEC)

/* Apply EVUTIL_SOCK_* flags by hand; closes fd on failure. */
static int
apply_sock_flags(int fd, int flags)
{
    if ((flags & EVUTIL_SOCK_NONBLOCK) && set_nonblocking(fd) < 0)
        goto err;
    if ((flags & EVUTIL_SOCK_CLOEXEC) && set_closeonexec(fd) < 0)
        goto err;
    return fd;
err:
    close_keep_errno(fd);
    return -1;
}

evutil_socket_t
evutil_socket_(int domain, int type, int protocol)
{
    int fd = socket(domain, type, protocol);

    /* Kernels before 2.6.27 reject the flags with EINVAL. */
    if (fd >= 0 || (type & SOCK_FLAG_MASK) == 0 || errno != EINVAL)
        return fd;
    fd = socket(domain, type & ~SOCK_FLAG_MASK, protocol);
    if (fd < 0)
        return -1;
    return apply_sock_flags(fd, type & SOCK_FLAG_MASK);
}

evutil_socket_t
evutil_accept4_(evutil_socket_t sockfd, struct sockaddr *addr,
    ev_socklen_t *addrlen, int flags)
{
    int fd = accept4(sockfd, addr, addrlen, flags);

    if (fd >= 0 || flags == 0 || (errno != ENOSYS && errno != EINVAL))
        return fd;
    fd = accept(sockfd, addr, addrlen);
    if (fd < 0)
        return -1;
    return apply_sock_flags(fd, flags);
}

int
evutil_make_internal_pipe_(evutil_socket_t fd[2])
{
    if (pipe2(fd, O_NONBLOCK | O_CLOEXEC) == 0)
        return 0;
    if (pipe(fd) == 0) {
        if (set_nonblocking(fd[0]) == 0 && set_nonblocking(fd[1]) == 0 &&
            set_closeonexec(fd[0]) == 0 && set_closeonexec(fd[1]) == 0)
            return 0;
        close_keep_errno(fd[0]);
        close_keep_errno(fd[1]);
    }
    /* No pipes at all (odd sandboxes): try a socket pair. */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
            fd) == 0)
        return 0;
    fd[0] = fd[1] = -1;
    return -1;
}

evutil_socket_t
evutil_eventfd_(unsigned initval, int flags)
{
    int fd = eventfd(initval, flags);

    if (fd >= 0 || flags == 0 || errno != EINVAL)
        return fd;
    fd = eventfd(initval, 0);
    if (fd < 0)
        return -1;
    if ((flags & EVUTIL_EFD_NONBLOCK) && set_nonblocking(fd) < 0)
        goto err;
    if ((flags & EVUTIL_EFD_CLOEXEC) && set_closeonexec(fd) < 0)
        goto err;
    return fd;
err:
    close_keep_errno(fd);
    return -1;
}

int
evutil_open_closeonexec_(const char *pathname, int flags, unsigned mode)
{
    return open(pathname, flags | O_CLOEXEC, (mode_t)mode);
}

int
evutil_read_file_(const char *filename, char **content_out, size_t *len_out,
    int is_binary)
{
    struct stat st;
    size_t cap, len = 0;
    char *mem, *bigger;
    ssize_t r;
    int fd;

    (void)is_binary;
    EVUTIL_ASSERT(content_out && len_out);
    *content_out = NULL;
    *len_out = 0;

    fd = evutil_open_closeonexec_(filename, O_RDONLY, 0);
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0 || st.st_size < 0 ||
        (unsigned long long)st.st_size >= EV_SSIZE_MAX - 1)
        goto err_close;
    /* st_size is only a hint (files in /proc report 0): read to EOF. */
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
        r = read(fd, mem + len, cap - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
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
    close_keep_errno(fd);
    return -2;
}

/* Build a connected pair through a loopback listener; the accepted end
 * is checked to be our own connection, not a stranger's. */
int
evutil_ersatz_socketpair_(int family, int type, int protocol,
    evutil_socket_t fd[2])
{
    struct sockaddr_storage listen_addr, conn_addr, peer_addr;
    ev_socklen_t len;
    int listener = -1, connector = -1, acceptor = -1;
    int flags = type & SOCK_FLAG_MASK;

    if (protocol != 0 || (family != AF_INET && family != AF_INET6) ||
        (type & ~SOCK_FLAG_MASK) != SOCK_STREAM) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    if (!fd) {
        errno = EINVAL;
        return -1;
    }
    memset(&listen_addr, 0, sizeof(listen_addr));
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&listen_addr;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&listen_addr;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_addr = in6addr_loopback;
        len = sizeof(*sin6);
    }
    listener = evutil_socket_(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener < 0)
        return -1;
    if (bind(listener, (struct sockaddr *)&listen_addr, len) < 0 ||
        listen(listener, 1) < 0)
        goto err;
    len = sizeof(listen_addr);
    if (getsockname(listener, (struct sockaddr *)&listen_addr, &len) < 0)
        goto err;
    connector = evutil_socket_(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connector < 0 ||
        connect(connector, (struct sockaddr *)&listen_addr, len) < 0)
        goto err;
    len = sizeof(peer_addr);
    acceptor = evutil_accept4_(listener, (struct sockaddr *)&peer_addr, &len,
        EVUTIL_SOCK_CLOEXEC);
    if (acceptor < 0)
        goto err;
    {
        ev_socklen_t clen = sizeof(conn_addr);
        if (getsockname(connector, (struct sockaddr *)&conn_addr, &clen) < 0)
            goto err;
        if (clen != len || memcmp(&conn_addr, &peer_addr, len) != 0) {
            errno = ECONNABORTED;
            goto err;
        }
    }
    close(listener);
    listener = -1;
    if ((flags & EVUTIL_SOCK_NONBLOCK) &&
        (set_nonblocking(connector) < 0 || set_nonblocking(acceptor) < 0))
        goto err;
    fd[0] = connector;
    fd[1] = acceptor;
    return 0;

err:
    if (listener >= 0)
        close_keep_errno(listener);
    if (connector >= 0)
        close_keep_errno(connector);
    if (acceptor >= 0)
        close_keep_errno(acceptor);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Environment */

const char *
evutil_getenv_(const char *varname)
{
    /* secure_getenv() covers set-ID and capability-raising execs (the
     * kernel's AT_SECURE); the id checks also cover a process that
     * changed ids itself after starting. */
    if (getuid() != geteuid() || getgid() != getegid())
        return NULL;
    return secure_getenv(varname);
}
#endif /* !_WIN32 */

/* ------------------------------------------------------------------ */
/* Non-blocking connect, for bufferevents (both platforms) */

#ifdef _WIN32
#define SOCKET_ARG_(s) ((SOCKET)(s))
#else
#define SOCKET_ARG_(s) (s)
#endif

/* evutil_closesocket() that leaves the socket error alone. */
static void
closesocket_keep_error(evutil_socket_t s)
{
    int saved = EVUTIL_SOCKET_ERROR();

    (void)evutil_closesocket(s);
    EVUTIL_SET_SOCKET_ERROR(saved);
}

/* 1: connected, 0: in progress, 2: refused at once, -1: error (a socket
 * made here is closed again). */
int
evutil_socket_connect_(evutil_socket_t *fd_ptr, const struct sockaddr *sa,
    int socklen)
{
    int made_fd = 0;
    int e;

    if (*fd_ptr < 0) {
        *fd_ptr = evutil_socket_(sa->sa_family,
            SOCK_STREAM | EVUTIL_SOCK_NONBLOCK, 0);
        if (*fd_ptr < 0)
            return -1;
        made_fd = 1;
    }
    if (connect(SOCKET_ARG_(*fd_ptr), sa, (ev_socklen_t)socklen) == 0)
        return 1;
    e = EVUTIL_SOCKET_ERROR();
    if (EVUTIL_ERR_CONNECT_RETRIABLE(e))
        return 0;
    if (EVUTIL_ERR_CONNECT_REFUSED(e))
        return 2;
    if (made_fd) {
        closesocket_keep_error(*fd_ptr);
        *fd_ptr = EVUTIL_INVALID_SOCKET;
    }
    return -1;
}

int
evutil_socket_finished_connecting_(evutil_socket_t fd)
{
    int e = 0;
    ev_socklen_t elen = (ev_socklen_t)sizeof(e);

    if (getsockopt(SOCKET_ARG_(fd), SOL_SOCKET, SO_ERROR, (void *)&e,
            &elen) < 0)
        return -1;
    if (e == 0)
        return 1;
    if (EVUTIL_ERR_CONNECT_RETRIABLE(e))
        return 0;
    EVUTIL_SET_SOCKET_ERROR(e);
    return -1;
}


/* ------------------------------------------------------------------ */
/* Strings */

ev_int64_t
evutil_strtoll(const char *s, char **endptr, int base)
{
    EV_REFUSE_NULL_(s, 0);
    return (ev_int64_t)strtoll(s, endptr, base);
}

int
evutil_vsnprintf(char *buf, size_t buflen, const char *format, va_list ap)
{
    int r;

    if (buflen == 0)
        return 0;
    EV_REFUSE_NULL_(buf, -1);
    EV_REFUSE_NULL_(format, -1);
    r = vsnprintf(buf, buflen, format, ap);
    buf[buflen - 1] = '\0';
    return r;
}

int
evutil_snprintf(char *buf, size_t buflen, const char *format, ...)
{
    va_list ap;
    int r;

    va_start(ap, format);
    r = evutil_vsnprintf(buf, buflen, format, ap);
    va_end(ap);
    return r;
}

int
EVUTIL_ISALPHA_(char c)
{
    unsigned char u = (unsigned char)c;
    return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z');
}

int
EVUTIL_ISDIGIT_(char c)
{
    unsigned char u = (unsigned char)c;
    return u >= '0' && u <= '9';
}

int
EVUTIL_ISALNUM_(char c)
{
    return EVUTIL_ISALPHA_(c) || EVUTIL_ISDIGIT_(c);
}

int
EVUTIL_ISSPACE_(char c)
{
    /* Space, \t, \n, \v, \f and \r, as in the C locale. */
    unsigned char u = (unsigned char)c;
    return u == ' ' || (u >= '\t' && u <= '\r');
}

int
EVUTIL_ISXDIGIT_(char c)
{
    return evutil_hex_char_to_int_(c) >= 0;
}

int
EVUTIL_ISPRINT_(char c)
{
    unsigned char u = (unsigned char)c;
    return u >= 0x20 && u < 0x7f;
}

int
EVUTIL_ISLOWER_(char c)
{
    unsigned char u = (unsigned char)c;
    return u >= 'a' && u <= 'z';
}

int
EVUTIL_ISUPPER_(char c)
{
    unsigned char u = (unsigned char)c;
    return u >= 'A' && u <= 'Z';
}

char
EVUTIL_TOUPPER_(char c)
{
    return EVUTIL_ISLOWER_(c) ? (char)(c - 'a' + 'A') : c;
}

char
EVUTIL_TOLOWER_(char c)
{
    return EVUTIL_ISUPPER_(c) ? (char)(c - 'A' + 'a') : c;
}

int
evutil_hex_char_to_int_(char c)
{
    unsigned char u = (unsigned char)c;

    if (u >= '0' && u <= '9')
        return u - '0';
    if (u >= 'a' && u <= 'f')
        return u - 'a' + 10;
    if (u >= 'A' && u <= 'F')
        return u - 'A' + 10;
    return -1;
}

/* Returns -1, 0 or 1, comparing bytes as (signed) char after folding
 * ASCII case -- the order libevent 2.1 gives. */
int
evutil_ascii_strcasecmp(const char *s1, const char *s2)
{
    return evutil_ascii_strncasecmp(s1, s2, (size_t)-1);
}

int
evutil_ascii_strncasecmp(const char *s1, const char *s2, size_t n)
{
    size_t i;

    if (EVUTIL_UNLIKELY(!s1 || !s2)) {
        /* Bad input: NULL sorts first, with a message. */
        event_warnx("%s: NULL string", __func__);
        return (s1 != NULL) - (s2 != NULL);
    }

    for (i = 0; i < n; i++) {
        char c1 = EVUTIL_TOLOWER_(s1[i]);
        char c2 = EVUTIL_TOLOWER_(s2[i]);
        if (c1 < c2)
            return -1;
        if (c1 > c2)
            return 1;
        if (c1 == '\0')
            return 0;
    }
    return 0;
}

void
evutil_rtrim_lws_(char *str)
{
    size_t len;

    if (!str)
        return;
    len = strlen(str);
    while (len > 0 && (str[len - 1] == ' ' || str[len - 1] == '\t'))
        str[--len] = '\0';
}

/* Exported by libevent 2.1 as its way to defeat dead-store elimination;
 * kept for ABI parity.  We use explicit_bzero() ourselves. */
void *(*volatile evutil_memset_volatile_)(void *, int, size_t) = memset;

void
evutil_memclear_(void *mem, size_t len)
{
#ifdef _WIN32
    SecureZeroMemory(mem, len);
#else
    explicit_bzero(mem, len);
#endif
}

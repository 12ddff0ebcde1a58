/*
 * util-internal.h: helpers shared by every module of the library.
 *
 * Assertions, branch hints, socket-error classification, socket and pipe
 * creation with non-blocking/close-on-exec flags, a weak PRNG for
 * jitter, ASCII character classes, time conversions, and the address
 * helpers the resolver and bufferevents share.  Implemented in
 * src/evutil*.c; names follow libevent 2.1's internals.
 *
 * Functions that libevent 2.1 (and Debian's build) exports are exported
 * here too: the add-on libraries (http, dns, rpc) link against the core
 * and call them.
 */
#ifndef UTIL_INTERNAL_H_INCLUDED_
#define UTIL_INTERNAL_H_INCLUDED_

#include "event2/event-config.h"
#include "event2/visibility.h"
#include "event2/util.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <sys/eventfd.h>

#include "log-internal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Compiler helpers */

#ifdef __GNUC__
#define EVUTIL_UNLIKELY(p) __builtin_expect(!!(p), 0)
#define EVUTIL_LIKELY(p) __builtin_expect(!!(p), 1)
/* Keeps a cold path out of its hot caller (on a declaration). */
#define EVUTIL_NOINLINE_ __attribute__((noinline))
/* A hot helper inlined whatever the heuristics say (on a declaration). */
#define EVUTIL_ALWAYS_INLINE_ __attribute__((always_inline))
#else
#define EVUTIL_UNLIKELY(p) (p)
#define EVUTIL_LIKELY(p) (p)
#define EVUTIL_NOINLINE_
#define EVUTIL_ALWAYS_INLINE_
#endif

/* A statement or condition that does nothing but keeps its argument
 * "used" for the compiler. */
#define EVUTIL_NIL_STMT_ ((void)0)
#define EVUTIL_NIL_CONDITION_(condition)                                      \
    do {                                                                      \
        (void)sizeof(!(condition));                                           \
    } while (0)

/* Abort (through event_errx, so the log and fatal callbacks see it) when
 * an invariant is broken.  Not for environmental errors. */
#define EVUTIL_ASSERT(cond)                                                   \
    do {                                                                      \
        if (EVUTIL_UNLIKELY(!(cond))) {                                       \
            event_errx(EVENT_ERR_ABORT_, "%s:%d: Assertion %s failed in %s", \
                __FILE__, __LINE__, #cond, __func__);                         \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* Marks a condition that is true only on failure (allocation, syscalls). */
#define EVUTIL_FAILURE_CHECK(cond) EVUTIL_UNLIKELY(cond)

/* Report a NULL argument of a public function: "func: NULL what" through
 * the log callback, then errno = EINVAL.  Cold (kept out of line and out
 * of the hot code), so the check below costs its caller one predicted
 * branch; a file that never uses it gets no copy. */
#ifdef __GNUC__
__attribute__((cold, unused))
#endif
static void
evutil_refuse_null_(const char *func, const char *what)
{
    event_warnx("%s: NULL %s", func, what);
    errno = EINVAL;
}

/* In a public function, refuse a NULL ptr (a pointer argument the
 * function would dereference): report it and return retval, the
 * function's failure value.  Void functions use EV_REFUSE_NULL_VOID_. */
#define EV_REFUSE_NULL_(ptr, retval)                                          \
    do {                                                                      \
        if (EVUTIL_UNLIKELY((ptr) == NULL)) {                                 \
            evutil_refuse_null_(__func__, #ptr);                              \
            return retval;                                                    \
        }                                                                     \
    } while (0)
#define EV_REFUSE_NULL_VOID_(ptr) EV_REFUSE_NULL_(ptr, )

/* Given a pointer to field of a struct_type, the enclosing struct. */
#define EVUTIL_UPCAST(ptr, struct_type, field)                                \
    ((struct_type *)(((char *)(ptr)) - evutil_offsetof(struct_type, field)))

/* printf helpers for types whose width varies between platforms. */
#ifdef _WIN32
#define EV_SOCK_FMT "%lld"
#define EV_SOCK_ARG(x) ((long long)(x))
#else
#define EV_SOCK_FMT "%d"
#define EV_SOCK_ARG(x) (x)
#endif
#define EV_SIZE_FMT "%lu"
#define EV_SSIZE_FMT "%ld"
#define EV_SIZE_ARG(x) ((unsigned long)(x))
#define EV_SSIZE_ARG(x) ((long)(x))
#define EV_I64_FMT "%lld"
#define EV_U64_FMT "%llu"
#define EV_I64_ARG(x) ((long long)(x))
#define EV_U64_ARG(x) ((unsigned long long)(x))

/* ------------------------------------------------------------------ */
/* Socket errors (errno on this platform) */

#ifndef EVUTIL_SOCKET_ERROR
#define EVUTIL_SOCKET_ERROR() (errno)
#endif
#ifndef EVUTIL_SET_SOCKET_ERROR
#define EVUTIL_SET_SOCKET_ERROR(errcode)                                      \
    do {                                                                      \
        errno = (errcode);                                                    \
    } while (0)
#endif

#ifdef _WIN32
/* Winsock reports its own codes through WSAGetLastError(). */
#define EVUTIL_ERR_IS_EAGAIN(e) ((e) == WSAEWOULDBLOCK || (e) == EAGAIN)
#define EVUTIL_ERR_RW_RETRIABLE(e) ((e) == WSAEWOULDBLOCK || (e) == WSAEINTR)
/* WSAEINVAL: a second connect() on a socket still connecting (old
 * Windows versions). */
#define EVUTIL_ERR_CONNECT_RETRIABLE(e)                                       \
    ((e) == WSAEWOULDBLOCK || (e) == WSAEINTR || (e) == WSAEINPROGRESS ||     \
        (e) == WSAEINVAL)
#define EVUTIL_ERR_ACCEPT_RETRIABLE(e)                                        \
    (EVUTIL_ERR_RW_RETRIABLE(e) || (e) == WSAECONNABORTED)
#define EVUTIL_ERR_CONNECT_REFUSED(e) ((e) == WSAECONNREFUSED)
#elif EAGAIN == EWOULDBLOCK
#define EVUTIL_ERR_IS_EAGAIN(e) ((e) == EAGAIN)
#else
#define EVUTIL_ERR_IS_EAGAIN(e) ((e) == EAGAIN || (e) == EWOULDBLOCK)
#endif
#ifndef _WIN32
/* A read or write that failed this way may be retried later. */
#define EVUTIL_ERR_RW_RETRIABLE(e) ((e) == EINTR || EVUTIL_ERR_IS_EAGAIN(e))
/* A connect() that failed this way is still in progress. */
#define EVUTIL_ERR_CONNECT_RETRIABLE(e) ((e) == EINTR || (e) == EINPROGRESS)
/* An accept() that failed this way may be retried later. */
#define EVUTIL_ERR_ACCEPT_RETRIABLE(e)                                        \
    ((e) == EINTR || EVUTIL_ERR_IS_EAGAIN(e) || (e) == ECONNABORTED)
/* The peer refused the connection. */
#define EVUTIL_ERR_CONNECT_REFUSED(e) ((e) == ECONNREFUSED)
#endif

#define EVUTIL_SHUTDOWN_RD SHUT_RD
#define EVUTIL_SHUTDOWN_WR SHUT_WR
#define EVUTIL_SHUTDOWN_BOTH SHUT_RDWR

/* ------------------------------------------------------------------ */
/* Creating descriptors */

/* Flags OR'd into the type argument of evutil_socket_(). */
#define EVUTIL_SOCK_NONBLOCK SOCK_NONBLOCK
#define EVUTIL_SOCK_CLOEXEC SOCK_CLOEXEC
/* Flags for evutil_eventfd_() and accept4 flags for evutil_accept4_(). */
#define EVUTIL_EFD_NONBLOCK EFD_NONBLOCK
#define EVUTIL_EFD_CLOEXEC EFD_CLOEXEC

/** socket(2), also honouring EVUTIL_SOCK_NONBLOCK / EVUTIL_SOCK_CLOEXEC in
 * type on kernels that do not.  Returns the socket or -1 (errno set). */
EVENT2_EXPORT_SYMBOL
evutil_socket_t evutil_socket_(int domain, int type, int protocol);

/** accept4(2) with EVUTIL_SOCK_NONBLOCK / EVUTIL_SOCK_CLOEXEC flags;
 * falls back to accept + fcntl.  Returns the socket or -1 (errno set). */
EVENT2_EXPORT_SYMBOL
evutil_socket_t evutil_accept4_(evutil_socket_t sockfd, struct sockaddr *addr,
    ev_socklen_t *addrlen, int flags);

/** A non-blocking, close-on-exec pipe (a socketpair if pipes fail):
 * fd[0] reads, fd[1] writes.  Returns 0, or -1 with fd[] set to -1. */
EVENT2_EXPORT_SYMBOL
int evutil_make_internal_pipe_(evutil_socket_t fd[2]);

/** eventfd(2) with EVUTIL_EFD_* flags.  Returns the fd or -1. */
EVENT2_EXPORT_SYMBOL
evutil_socket_t evutil_eventfd_(unsigned initval, int flags);

/** open(2) with O_CLOEXEC added.  Returns the fd or -1. */
EVENT2_EXPORT_SYMBOL
int evutil_open_closeonexec_(const char *pathname, int flags, unsigned mode);

/** Read a whole file into a NUL-terminated buffer from mm_malloc, which
 * the caller frees.  is_binary is ignored on this platform.  Returns 0,
 * -1 if the file could not be opened, -2 on any later failure. */
EVENT2_EXPORT_SYMBOL
int evutil_read_file_(const char *filename, char **content_out,
    size_t *len_out, int is_binary);

/** A connected pair of sockets over loopback TCP, for families that
 * socketpair() does not support.  Same contract as socketpair(). */
EVENT2_EXPORT_SYMBOL
int evutil_ersatz_socketpair_(int family, int type, int protocol,
    evutil_socket_t fd[2]);

/** Start a non-blocking connect.  If *fd_ptr is negative, a non-blocking
 * stream socket for sa's family is made first and stored there (and
 * closed again, *fd_ptr reset to -1, if connecting fails).
 * Returns 1 if connected, 0 if in progress, 2 if refused, -1 on another
 * error (errno set). */
EVENT2_EXPORT_SYMBOL
int evutil_socket_connect_(evutil_socket_t *fd_ptr, const struct sockaddr *sa,
    int socklen);

/** After a connect in progress reported writable: returns 1 if the
 * connection is established, 0 if still in progress, -1 if it failed
 * (errno set to the connect error). */
EVENT2_EXPORT_SYMBOL
int evutil_socket_finished_connecting_(evutil_socket_t fd);

/* ------------------------------------------------------------------ */
/* Environment and time */

/** getenv(), but NULL when the process runs set-user-ID or set-group-ID
 * (or is otherwise "secure"), so such programs cannot be steered by
 * EVENT_* variables. */
EVENT2_EXPORT_SYMBOL
const char *evutil_getenv_(const char *varname);

/** A timeval as milliseconds, rounded up, for poll-style timeouts.
 * NULL gives -1 (wait forever); negative values give 0; the result is
 * clamped to INT_MAX. */
EVENT2_EXPORT_SYMBOL
long evutil_tv_to_msec_(const struct timeval *tv);

/** evutil_tv_to_msec_ for a backend's wait, tv not NULL: the loop's own
 * timeouts (normalized, not negative, far below INT_MAX milliseconds)
 * are converted inline, the same way; anything else goes the long way. */
static inline long
evutil_tv_to_msec_inl_(const struct timeval *tv)
{
    if (EVUTIL_LIKELY(tv->tv_sec >= 0 && tv->tv_sec < INT_MAX / 1000 - 1 &&
                      (unsigned long)tv->tv_usec < 1000000))
        return (long)tv->tv_sec * 1000 + ((long)tv->tv_usec + 999) / 1000;
    return evutil_tv_to_msec_(tv);
}

/** Sleep for tv (resuming after signals). */
EVENT2_EXPORT_SYMBOL
void evutil_usleep_(const struct timeval *tv);

/* ------------------------------------------------------------------ */
/* Addresses */

/** Write "1.2.3.4:80" or "[::1]:80" (or a placeholder for another
 * family) into out, truncated to outlen; returns out. */
EVENT2_EXPORT_SYMBOL
const char *evutil_format_sockaddr_port_(const struct sockaddr *sa,
    char *out, size_t outlen);

/** True for 127.0.0.0/8 and ::1. */
EVENT2_EXPORT_SYMBOL
int evutil_sockaddr_is_loopback_(const struct sockaddr *sa);

/** True for addresses that say nothing about outside connectivity:
 * 0.0.0.0, 127/8, 169.254/16 and 224/4 for IPv4; for IPv6 anything in
 * ::/64 (unspecified, loopback, v4-mapped/compatible), fc00::/7,
 * fe80::/10, fec0::/10 and ff00::/8. */
EVENT2_EXPORT_SYMBOL
int evutil_v4addr_is_local_(const struct in_addr *in);
EVENT2_EXPORT_SYMBOL
int evutil_v6addr_is_local_(const struct in6_addr *in);

/* Set in ai_flags of addrinfo lists built by us (evutil_new_addrinfo_);
 * evutil_freeaddrinfo() frees those itself and hands the rest to libc. */
#define EVUTIL_AI_LIBEVENT_ALLOCATED 0x80000000
/* Returned by evutil_getaddrinfo_common_() when only a DNS lookup can
 * answer. */
#define EVUTIL_EAI_NEED_RESOLVE -90002

/** One addrinfo for sa (two, TCP and UDP, when hints name neither socket
 * type nor protocol), flagged EVUTIL_AI_LIBEVENT_ALLOCATED.  NULL on
 * allocation failure. */
EVENT2_EXPORT_SYMBOL
struct evutil_addrinfo *evutil_new_addrinfo_(struct sockaddr *sa,
    ev_socklen_t socklen, const struct evutil_addrinfo *hints);

/** Concatenate two lists (either may be NULL); returns the head. */
EVENT2_EXPORT_SYMBOL
struct evutil_addrinfo *evutil_addrinfo_append_(struct evutil_addrinfo *first,
    struct evutil_addrinfo *append);

/** With EVUTIL_AI_ADDRCONFIG and PF_UNSPEC, narrow hints->ai_family to
 * the one family this host has non-local addresses for, if only one. */
EVENT2_EXPORT_SYMBOL
void evutil_adjust_hints_for_addrconfig_(struct evutil_addrinfo *hints);

/** The part of getaddrinfo that needs no resolver: NULL nodename,
 * numeric addresses, numeric or well-known service names.  Fills *res
 * and returns 0, returns an EVUTIL_EAI_* error, or returns
 * EVUTIL_EAI_NEED_RESOLVE with the port in *portnum.  May adjust hints
 * (socket type and protocol). */
EVENT2_EXPORT_SYMBOL
int evutil_getaddrinfo_common_(const char *nodename, const char *servname,
    struct evutil_addrinfo *hints, struct evutil_addrinfo **res,
    int *portnum);

/* The resolver (libevent_extra) registers its asynchronous getaddrinfo
 * here, so that bufferevent_socket_connect_hostname in the core can use
 * it without linking against the resolver. */
struct evdns_base;
struct evdns_getaddrinfo_request;
typedef struct evdns_getaddrinfo_request *(*evdns_getaddrinfo_fn)(
    struct evdns_base *base, const char *nodename, const char *servname,
    const struct evutil_addrinfo *hints_in,
    void (*cb)(int, struct evutil_addrinfo *, void *), void *arg);
typedef void (*evdns_getaddrinfo_cancel_fn)(
    struct evdns_getaddrinfo_request *req);

EVENT2_EXPORT_SYMBOL
void evutil_set_evdns_getaddrinfo_fn_(evdns_getaddrinfo_fn fn);
EVENT2_EXPORT_SYMBOL
void evutil_set_evdns_getaddrinfo_cancel_fn_(evdns_getaddrinfo_cancel_fn fn);

/** Start an asynchronous lookup through the registered resolver and
 * return its request.  Without a dns_base or a registered resolver, do a
 * blocking evutil_getaddrinfo(), call cb with its result before
 * returning, and return NULL. */
EVENT2_EXPORT_SYMBOL
struct evdns_getaddrinfo_request *evutil_getaddrinfo_async_(
    struct evdns_base *dns_base, const char *nodename, const char *servname,
    const struct evutil_addrinfo *hints_in,
    void (*cb)(int, struct evutil_addrinfo *, void *), void *arg);
EVENT2_EXPORT_SYMBOL
void evutil_getaddrinfo_cancel_async_(struct evdns_getaddrinfo_request *data);

/* ------------------------------------------------------------------ */
/* Characters and strings (ASCII, independent of the locale) */

EVENT2_EXPORT_SYMBOL int EVUTIL_ISALPHA_(char c);
EVENT2_EXPORT_SYMBOL int EVUTIL_ISALNUM_(char c);
EVENT2_EXPORT_SYMBOL int EVUTIL_ISSPACE_(char c);
EVENT2_EXPORT_SYMBOL int EVUTIL_ISDIGIT_(char c);
EVENT2_EXPORT_SYMBOL int EVUTIL_ISXDIGIT_(char c);
EVENT2_EXPORT_SYMBOL int EVUTIL_ISPRINT_(char c);
EVENT2_EXPORT_SYMBOL int EVUTIL_ISLOWER_(char c);
EVENT2_EXPORT_SYMBOL int EVUTIL_ISUPPER_(char c);
EVENT2_EXPORT_SYMBOL char EVUTIL_TOUPPER_(char c);
EVENT2_EXPORT_SYMBOL char EVUTIL_TOLOWER_(char c);

/** The value of a hex digit, or -1. */
EVENT2_EXPORT_SYMBOL
int evutil_hex_char_to_int_(char c);

/** Strip trailing spaces and tabs in place (NULL is ignored). */
EVENT2_EXPORT_SYMBOL
void evutil_rtrim_lws_(char *str);

/* memset, called through a volatile pointer (libevent 2.1's exported
 * object; kept for ABI parity). */
EVENT2_EXPORT_SYMBOL
extern void *(*volatile evutil_memset_volatile_)(void *, int, size_t);

/** memset(mem, 0, len) that the compiler may not remove. */
EVENT2_EXPORT_SYMBOL
void evutil_memclear_(void *mem, size_t len);

/* ------------------------------------------------------------------ */
/* Weak random numbers: fast, predictable, for jitter and hashing only. */

struct evutil_weakrand_state {
    ev_uint32_t seed;
};

#define EVUTIL_WEAKRAND_MAX EV_INT32_MAX

/** Seed state with seed, or with the time and pid when seed is 0.
 * Returns the seed used. */
EVENT2_EXPORT_SYMBOL
ev_uint32_t evutil_weakrand_seed_(struct evutil_weakrand_state *state,
    ev_uint32_t seed);
/** A number in [0, EVUTIL_WEAKRAND_MAX]. */
EVENT2_EXPORT_SYMBOL
ev_int32_t evutil_weakrand_(struct evutil_weakrand_state *state);
/** A number in [0, top); top must be positive. */
EVENT2_EXPORT_SYMBOL
ev_int32_t evutil_weakrand_range_(struct evutil_weakrand_state *state,
    ev_int32_t top);

/* ------------------------------------------------------------------ */
/* Global state (see evthread-internal.h for the lock setup protocol) */

/** Release what evutil keeps globally (libevent_global_shutdown). */
EVENT2_EXPORT_SYMBOL
void evutil_free_globals_(void);
EVENT2_EXPORT_SYMBOL
void evutil_free_secure_rng_globals_(void);

#ifdef __cplusplus
}
#endif

#endif /* UTIL_INTERNAL_H_INCLUDED_ */

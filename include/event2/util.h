/*
 * event2/util.h: portable integer types, socket helpers and small
 * utilities shared by the rest of the API.
 *
 * The ev_* integer names are macros for the <stdint.h> types (not
 * typedefs), exactly as in libevent 2.1, so code that #ifdefs on them keeps
 * working.  evutil_addrinfo is the system struct addrinfo.
 */
#ifndef EVENT2_UTIL_H_INCLUDED_
#define EVENT2_UTIL_H_INCLUDED_

/** @file event2/util.h
 * Portability helpers: fixed-width integer names, socket utilities,
 * timeval arithmetic, getaddrinfo wrappers and a secure RNG.
 */

#include <event2/visibility.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <event2/event-config.h>
#ifdef EVENT__HAVE_SYS_TIME_H
#include <sys/time.h>
#endif
#ifdef EVENT__HAVE_STDINT_H
#include <stdint.h>
#elif defined(EVENT__HAVE_INTTYPES_H)
#include <inttypes.h>
#endif
#ifdef EVENT__HAVE_SYS_TYPES_H
#include <sys/types.h>
#endif
#ifdef EVENT__HAVE_STDDEF_H
#include <stddef.h>
#endif
#include <stdarg.h>
#ifdef EVENT__HAVE_NETDB_H
#include <netdb.h>
#endif
#ifdef _WIN32
#include <winsock2.h>
#ifdef EVENT__HAVE_GETADDRINFO
#include <ws2tcpip.h>
#endif
#else
#ifdef EVENT__HAVE_ERRNO_H
#include <errno.h>
#endif
#include <sys/socket.h>
#endif
#include <time.h>

/**
 * @name Fixed-width integer types
 *
 * ev_uintN_t / ev_intN_t are exactly N bits wide; ev_uintptr_t and
 * ev_intptr_t hold a pointer; ev_ssize_t is the signed counterpart of
 * size_t; ev_off_t is a signed file offset whose width was fixed when the
 * library was built (64 bits), whatever off_t the caller compiles with.
 * @{
 */
#ifdef EVENT__HAVE_UINT64_T
#define ev_uint64_t uint64_t
#define ev_int64_t int64_t
#elif EVENT__SIZEOF_LONG_LONG == 8
#define ev_uint64_t unsigned long long
#define ev_int64_t long long
#else
#error "no 64-bit integer type"
#endif

#ifdef EVENT__HAVE_UINT32_T
#define ev_uint32_t uint32_t
#define ev_int32_t int32_t
#else
#define ev_uint32_t unsigned int
#define ev_int32_t signed int
#endif

#ifdef EVENT__HAVE_UINT16_T
#define ev_uint16_t uint16_t
#define ev_int16_t int16_t
#else
#define ev_uint16_t unsigned short
#define ev_int16_t signed short
#endif

#ifdef EVENT__HAVE_UINT8_T
#define ev_uint8_t uint8_t
#define ev_int8_t int8_t
#else
#define ev_uint8_t unsigned char
#define ev_int8_t signed char
#endif

#ifdef EVENT__HAVE_UINTPTR_T
#define ev_uintptr_t uintptr_t
#define ev_intptr_t intptr_t
#elif EVENT__SIZEOF_VOID_P <= 4
#define ev_uintptr_t ev_uint32_t
#define ev_intptr_t ev_int32_t
#else
#define ev_uintptr_t ev_uint64_t
#define ev_intptr_t ev_int64_t
#endif

#ifdef EVENT__ssize_t
#define ev_ssize_t EVENT__ssize_t
#else
#define ev_ssize_t ssize_t
#endif

#if defined(_WIN32) || EVENT__SIZEOF_OFF_T == 8
#define ev_off_t ev_int64_t
#elif EVENT__SIZEOF_OFF_T == 4
#define ev_off_t ev_int32_t
#else
#define ev_off_t off_t
#endif
/** @} */

/**
 * @name Integer limits
 * Largest and smallest values of the ev_* integer types.
 * @{
 */
#ifdef EVENT__HAVE_STDINT_H
#define EV_UINT64_MAX UINT64_MAX
#define EV_INT64_MAX INT64_MAX
#define EV_INT64_MIN INT64_MIN
#define EV_UINT32_MAX UINT32_MAX
#define EV_INT32_MAX INT32_MAX
#define EV_INT32_MIN INT32_MIN
#define EV_UINT16_MAX UINT16_MAX
#define EV_INT16_MIN INT16_MIN
#define EV_INT16_MAX INT16_MAX
#define EV_UINT8_MAX UINT8_MAX
#define EV_INT8_MAX INT8_MAX
#define EV_INT8_MIN INT8_MIN
#else
#define EV_UINT64_MAX ((((ev_uint64_t)0xffffffffUL) << 32) | 0xffffffffUL)
#define EV_INT64_MAX ((((ev_int64_t)0x7fffffffL) << 32) | 0xffffffffL)
#define EV_INT64_MIN ((-EV_INT64_MAX) - 1)
#define EV_UINT32_MAX ((ev_uint32_t)0xffffffffUL)
#define EV_INT32_MAX ((ev_int32_t)0x7fffffffL)
#define EV_INT32_MIN ((-EV_INT32_MAX) - 1)
#define EV_UINT16_MAX ((ev_uint16_t)0xffffUL)
#define EV_INT16_MAX ((ev_int16_t)0x7fffL)
#define EV_INT16_MIN ((-EV_INT16_MAX) - 1)
#define EV_UINT8_MAX 255
#define EV_INT8_MAX 127
#define EV_INT8_MIN ((-EV_INT8_MAX) - 1)
#endif

#if EVENT__SIZEOF_SIZE_T == 8
#define EV_SIZE_MAX EV_UINT64_MAX
#define EV_SSIZE_MAX EV_INT64_MAX
#else
#define EV_SIZE_MAX EV_UINT32_MAX
#define EV_SSIZE_MAX EV_INT32_MAX
#endif
#define EV_SSIZE_MIN ((-EV_SSIZE_MAX) - 1)
/** @} */

#ifdef _WIN32
#define ev_socklen_t int
#elif defined(EVENT__socklen_t)
#define ev_socklen_t EVENT__socklen_t
#else
#define ev_socklen_t socklen_t
#endif

/** A type that can hold a socket: an int on Unix, intptr_t on Windows. */
#ifdef _WIN32
#define evutil_socket_t intptr_t
#else
#define evutil_socket_t int
#endif

/** Opaque monotonic clock, created by evutil_monotonic_timer_new(). */
struct evutil_monotonic_timer;

/** Flag for evutil_configure_monotonic_time(): prefer a precise clock. */
#define EV_MONOT_PRECISE 1
/** Flag for evutil_configure_monotonic_time(): accept a coarse fallback. */
#define EV_MONOT_FALLBACK 2

/**
 * Write the RFC 1123 (HTTP) form of a date into @p date.
 * @param tm the time to format, or NULL for the current time
 * @return the number of characters written; a result of @p datelen or more
 *     means the output was truncated
 */
EVENT2_EXPORT_SYMBOL int
evutil_date_rfc1123(char *date, const size_t datelen, const struct tm *tm);

/** Allocate a monotonic timer; configure it before use. */
EVENT2_EXPORT_SYMBOL
struct evutil_monotonic_timer *evutil_monotonic_timer_new(void);

/** Release a timer from evutil_monotonic_timer_new(). */
EVENT2_EXPORT_SYMBOL
void evutil_monotonic_timer_free(struct evutil_monotonic_timer *timer);

/**
 * Choose the clock behind @p timer; @p flags may hold EV_MONOT_PRECISE and
 * EV_MONOT_FALLBACK.  Returns 0 on success, -1 on failure.
 */
EVENT2_EXPORT_SYMBOL
int evutil_configure_monotonic_time(struct evutil_monotonic_timer *timer,
    int flags);

/**
 * Read a configured monotonic timer into @p tp.  The value never goes
 * backwards but has no fixed epoch.  Not safe on one timer from several
 * threads at once.  Returns 0 on success, -1 on failure.
 */
EVENT2_EXPORT_SYMBOL
int evutil_gettime_monotonic(struct evutil_monotonic_timer *timer,
    struct timeval *tp);

/**
 * Create a pair of connected sockets, as socketpair() does (Windows
 * emulates it over loopback TCP).  Returns 0 on success, -1 on failure.
 */
EVENT2_EXPORT_SYMBOL
int evutil_socketpair(int d, int type, int protocol, evutil_socket_t sv[2]);

/** Put @p sock in non-blocking mode.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int evutil_make_socket_nonblocking(evutil_socket_t sock);

/**
 * Let a listening address be bound again as soon as @p sock is closed
 * (SO_REUSEADDR on Unix).  Returns 0 or -1.
 */
EVENT2_EXPORT_SYMBOL
int evutil_make_listen_socket_reuseable(evutil_socket_t sock);

/**
 * Let several sockets that all ask for it listen on one port
 * (SO_REUSEPORT, Linux 3.9 and later).  Returns 0 or -1.
 */
EVENT2_EXPORT_SYMBOL
int evutil_make_listen_socket_reuseable_port(evutil_socket_t sock);

/** Make an IPv6 listener accept IPv6 only (IPV6_V6ONLY).  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int evutil_make_listen_socket_ipv6only(evutil_socket_t sock);

/** Set close-on-exec on @p sock.  Returns 0 or -1. */
EVENT2_EXPORT_SYMBOL
int evutil_make_socket_closeonexec(evutil_socket_t sock);

/** Close a socket portably.  Returns 0 on success, -1 on failure. */
EVENT2_EXPORT_SYMBOL
int evutil_closesocket(evutil_socket_t sock);
/** Old spelling of evutil_closesocket(). */
#define EVUTIL_CLOSESOCKET(s) evutil_closesocket(s)

/**
 * Ask the kernel to complete accept() only once the client has sent data
 * (TCP_DEFER_ACCEPT where available).  Returns 0 (also when unsupported)
 * or -1.
 */
EVENT2_EXPORT_SYMBOL
int evutil_make_tcp_listen_socket_deferred(evutil_socket_t sock);

#ifdef _WIN32
/** The last socket error of this thread. */
#define EVUTIL_SOCKET_ERROR() WSAGetLastError()
/** Replace the last socket error of this thread. */
#define EVUTIL_SET_SOCKET_ERROR(errcode)                                      \
    do {                                                                      \
        WSASetLastError(errcode);                                             \
    } while (0)
/** The pending error of @p sock. */
EVENT2_EXPORT_SYMBOL
int evutil_socket_geterror(evutil_socket_t sock);
/** A description of a socket error code. */
EVENT2_EXPORT_SYMBOL
const char *evutil_socket_error_to_string(int errcode);
#define EVUTIL_INVALID_SOCKET INVALID_SOCKET
#else
/** The last socket error (errno on Unix). */
#define EVUTIL_SOCKET_ERROR() (errno)
/** Replace the last socket error (errno on Unix). */
#define EVUTIL_SET_SOCKET_ERROR(errcode)                                      \
    do {                                                                      \
        errno = (errcode);                                                    \
    } while (0)
/** The last error on @p sock (errno on Unix). */
#define evutil_socket_geterror(sock) (errno)
/** A description of a socket error code (strerror() on Unix). */
#define evutil_socket_error_to_string(errcode) (strerror(errcode))
/** The value no valid socket has. */
#define EVUTIL_INVALID_SOCKET -1
#endif

/**
 * @name struct timeval arithmetic
 * Portable timeradd(), timersub(), timerclear(), timercmp(), timerisset().
 * @{
 */
#ifdef EVENT__HAVE_TIMERADD
#define evutil_timeradd(tvp, uvp, vvp) timeradd((tvp), (uvp), (vvp))
#define evutil_timersub(tvp, uvp, vvp) timersub((tvp), (uvp), (vvp))
#else
#define evutil_timeradd(tvp, uvp, vvp)                                        \
    do {                                                                      \
        (vvp)->tv_sec = (tvp)->tv_sec + (uvp)->tv_sec;                        \
        (vvp)->tv_usec = (tvp)->tv_usec + (uvp)->tv_usec;                     \
        if ((vvp)->tv_usec >= 1000000) {                                      \
            (vvp)->tv_sec++;                                                  \
            (vvp)->tv_usec -= 1000000;                                        \
        }                                                                     \
    } while (0)
#define evutil_timersub(tvp, uvp, vvp)                                        \
    do {                                                                      \
        (vvp)->tv_sec = (tvp)->tv_sec - (uvp)->tv_sec;                        \
        (vvp)->tv_usec = (tvp)->tv_usec - (uvp)->tv_usec;                     \
        if ((vvp)->tv_usec < 0) {                                             \
            (vvp)->tv_sec--;                                                  \
            (vvp)->tv_usec += 1000000;                                        \
        }                                                                     \
    } while (0)
#endif

#ifdef EVENT__HAVE_TIMERCLEAR
#define evutil_timerclear(tvp) timerclear(tvp)
#else
#define evutil_timerclear(tvp) (tvp)->tv_sec = (tvp)->tv_usec = 0
#endif

/** Compare two timevals with @p cmp, one of ==, <=, <, >=, >. */
#define evutil_timercmp(tvp, uvp, cmp)                                        \
    (((tvp)->tv_sec == (uvp)->tv_sec) ? ((tvp)->tv_usec cmp (uvp)->tv_usec)   \
                                      : ((tvp)->tv_sec cmp (uvp)->tv_sec))

#ifdef EVENT__HAVE_TIMERISSET
#define evutil_timerisset(tvp) timerisset(tvp)
#else
#define evutil_timerisset(tvp) ((tvp)->tv_sec || (tvp)->tv_usec)
#endif
/** @} */

/** offsetof(), for platforms that lack it. */
#ifdef offsetof
#define evutil_offsetof(type, field) offsetof(type, field)
#else
#define evutil_offsetof(type, field) ((off_t)(&((type *)0)->field))
#endif

/** strtoll() replacement: parse a 64-bit integer. */
EVENT2_EXPORT_SYMBOL
ev_int64_t evutil_strtoll(const char *s, char **endptr, int base);

/** gettimeofday(), or a replacement where the system lacks it. */
#ifdef EVENT__HAVE_GETTIMEOFDAY
#define evutil_gettimeofday(tv, tz) gettimeofday((tv), (tz))
#else
struct timezone;
EVENT2_EXPORT_SYMBOL
int evutil_gettimeofday(struct timeval *tv, struct timezone *tz);
#endif

/**
 * snprintf() with C99 semantics everywhere: the output is always
 * NUL-terminated and the full length is returned.
 */
EVENT2_EXPORT_SYMBOL
int evutil_snprintf(char *buf, size_t buflen, const char *format, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/** vsnprintf() with C99 semantics everywhere. */
EVENT2_EXPORT_SYMBOL
int evutil_vsnprintf(char *buf, size_t buflen, const char *format, va_list ap)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 0)))
#endif
    ;

/** inet_ntop() replacement. */
EVENT2_EXPORT_SYMBOL
const char *evutil_inet_ntop(int af, const void *src, char *dst, size_t len);

/**
 * inet_pton() that also accepts an IPv6 scope ("fe80::1%eth0"), storing
 * the interface index in @p indexp.  Exposed for the tests.
 */
EVENT2_EXPORT_SYMBOL
int evutil_inet_pton_scope(int af, const char *src, void *dst,
    unsigned *indexp);

/** inet_pton() replacement. */
EVENT2_EXPORT_SYMBOL
int evutil_inet_pton(int af, const char *src, void *dst);

struct sockaddr;

/**
 * Parse "addr", "addr:port", "[v6addr]" or "[v6addr]:port" into @p out
 * (port 0 when absent).  @p outlen holds the room in @p out on entry and
 * the size used on success.  Returns 0 on success, -1 on a malformed
 * address, an out-of-range port or too small an @p out.
 */
EVENT2_EXPORT_SYMBOL
int evutil_parse_sockaddr_port(const char *str, struct sockaddr *out,
    int *outlen);

/**
 * Order two AF_INET/AF_INET6 addresses (and their ports when
 * @p include_port is true): negative, zero or positive like strcmp().
 */
EVENT2_EXPORT_SYMBOL
int evutil_sockaddr_cmp(const struct sockaddr *sa1,
    const struct sockaddr *sa2, int include_port);

/** strcasecmp() that ignores the locale and folds ASCII only. */
EVENT2_EXPORT_SYMBOL
int evutil_ascii_strcasecmp(const char *str1, const char *str2);

/** strncasecmp() that ignores the locale and folds ASCII only. */
EVENT2_EXPORT_SYMBOL
int evutil_ascii_strncasecmp(const char *str1, const char *str2, size_t n);

#ifdef EVENT__HAVE_STRUCT_ADDRINFO
/** The system's struct addrinfo. */
#define evutil_addrinfo addrinfo
#else
/** Stand-in for struct addrinfo on systems without one. */
struct evutil_addrinfo {
    int ai_flags;
    int ai_family;
    int ai_socktype;
    int ai_protocol;
    size_t ai_addrlen;
    char *ai_canonname;
    struct sockaddr *ai_addr;
    struct evutil_addrinfo *ai_next;
};
#endif

/**
 * @name evutil_getaddrinfo() error codes
 * The system's EAI_* values where it has them, private values otherwise.
 * Note that glibc only declares EAI_ADDRFAMILY and EAI_NODATA with
 * _GNU_SOURCE, so a program that included <netdb.h> before this header
 * without it sees -901 and -907; the library accepts both spellings.
 * @{
 */
#if defined(EAI_ADDRFAMILY) && defined(EVENT__HAVE_GETADDRINFO)
#define EVUTIL_EAI_ADDRFAMILY EAI_ADDRFAMILY
#else
#define EVUTIL_EAI_ADDRFAMILY -901
#endif
#if defined(EAI_AGAIN) && defined(EVENT__HAVE_GETADDRINFO)
#define EVUTIL_EAI_AGAIN EAI_AGAIN
#else
#define EVUTIL_EAI_AGAIN -902
#endif
#if defined(EAI_BADFLAGS) && defined(EVENT__HAVE_GETADDRINFO)
#define EVUTIL_EAI_BADFLAGS EAI_BADFLAGS
#else
#define EVUTIL_EAI_BADFLAGS -903
#endif
#if defined(EAI_FAIL) && defined(EVENT__HAVE_GETADDRINFO)
#define EVUTIL_EAI_FAIL EAI_FAIL
#else
#define EVUTIL_EAI_FAIL -904
#endif
#if defined(EAI_FAMILY) && defined(EVENT__HAVE_GETADDRINFO)
#define EVUTIL_EAI_FAMILY EAI_FAMILY
#else
#define EVUTIL_EAI_FAMILY -905
#endif
#if defined(EAI_MEMORY) && defined(EVENT__HAVE_GETADDRINFO)
#define EVUTIL_EAI_MEMORY EAI_MEMORY
#else
#define EVUTIL_EAI_MEMORY -906
#endif
/* Some systems make EAI_NODATA an alias of EAI_NONAME; keep them apart. */
#if defined(EAI_NODATA) && defined(EVENT__HAVE_GETADDRINFO) &&                \
    (!defined(EAI_NONAME) || EAI_NODATA != EAI_NONAME)
#define EVUTIL_EAI_NODATA EAI_NODATA
#else
#define EVUTIL_EAI_NODATA -907
#endif
#if defined(EAI_NONAME) && defined(EVENT__HAVE_GETADDRINFO)
#define EVUTIL_EAI_NONAME EAI_NONAME
#else
#define EVUTIL_EAI_NONAME -908
#endif
#if defined(EAI_SERVICE) && defined(EVENT__HAVE_GETADDRINFO)
#define EVUTIL_EAI_SERVICE EAI_SERVICE
#else
#define EVUTIL_EAI_SERVICE -909
#endif
#if defined(EAI_SOCKTYPE) && defined(EVENT__HAVE_GETADDRINFO)
#define EVUTIL_EAI_SOCKTYPE EAI_SOCKTYPE
#else
#define EVUTIL_EAI_SOCKTYPE -910
#endif
#if defined(EAI_SYSTEM) && defined(EVENT__HAVE_GETADDRINFO)
#define EVUTIL_EAI_SYSTEM EAI_SYSTEM
#else
#define EVUTIL_EAI_SYSTEM -911
#endif
/** The request was cancelled (evdns_getaddrinfo_cancel()). */
#define EVUTIL_EAI_CANCEL -90001
/** @} */

/**
 * @name evutil_getaddrinfo() hint flags
 * The system's AI_* values where it has them.
 * @{
 */
#if defined(AI_PASSIVE) && defined(EVENT__HAVE_GETADDRINFO)
#define EVUTIL_AI_PASSIVE AI_PASSIVE
#else
#define EVUTIL_AI_PASSIVE 0x1000
#endif
#if defined(AI_CANONNAME) && defined(EVENT__HAVE_GETADDRINFO)
#define EVUTIL_AI_CANONNAME AI_CANONNAME
#else
#define EVUTIL_AI_CANONNAME 0x2000
#endif
#if defined(AI_NUMERICHOST) && defined(EVENT__HAVE_GETADDRINFO)
#define EVUTIL_AI_NUMERICHOST AI_NUMERICHOST
#else
#define EVUTIL_AI_NUMERICHOST 0x4000
#endif
#if defined(AI_NUMERICSERV) && defined(EVENT__HAVE_GETADDRINFO)
#define EVUTIL_AI_NUMERICSERV AI_NUMERICSERV
#else
#define EVUTIL_AI_NUMERICSERV 0x8000
#endif
#if defined(AI_V4MAPPED) && defined(EVENT__HAVE_GETADDRINFO)
#define EVUTIL_AI_V4MAPPED AI_V4MAPPED
#else
#define EVUTIL_AI_V4MAPPED 0x10000
#endif
#if defined(AI_ALL) && defined(EVENT__HAVE_GETADDRINFO)
#define EVUTIL_AI_ALL AI_ALL
#else
#define EVUTIL_AI_ALL 0x20000
#endif
#if defined(AI_ADDRCONFIG) && defined(EVENT__HAVE_GETADDRINFO)
#define EVUTIL_AI_ADDRCONFIG AI_ADDRCONFIG
#else
#define EVUTIL_AI_ADDRCONFIG 0x40000
#endif
/** @} */

struct evutil_addrinfo;

/**
 * getaddrinfo() (RFC 3493, 6.1) with the same results on every platform.
 * Blocking; see evdns_getaddrinfo() for the asynchronous form.
 * @return 0, or one of the EVUTIL_EAI_* codes
 */
EVENT2_EXPORT_SYMBOL
int evutil_getaddrinfo(const char *nodename, const char *servname,
    const struct evutil_addrinfo *hints_in, struct evutil_addrinfo **res);

/** Free a list from evutil_getaddrinfo() or evdns_getaddrinfo(). */
EVENT2_EXPORT_SYMBOL
void evutil_freeaddrinfo(struct evutil_addrinfo *ai);

/** Describe an EVUTIL_EAI_* error code. */
EVENT2_EXPORT_SYMBOL
const char *evutil_gai_strerror(int err);

/**
 * Fill @p buf with @p n random bytes from the library's seeded generator.
 * Not meant for serious cryptography.
 */
EVENT2_EXPORT_SYMBOL
void evutil_secure_rng_get_bytes(void *buf, size_t n);

/**
 * Seed the random generator now if it is not seeded yet (useful before
 * dropping the privileges needed to seed it).  Returns 0 once seeded, -1
 * if seeding failed.  Safe to call more than once.
 */
EVENT2_EXPORT_SYMBOL
int evutil_secure_rng_init(void);

/**
 * Seed from @p fname instead of /dev/urandom.  Call before any other RNG
 * function; the string is kept, not copied.  Returns 0 or -1.
 */
EVENT2_EXPORT_SYMBOL
int evutil_secure_rng_set_urandom_device_file(char *fname);

/** Mix @p datlen bytes of extra entropy from @p dat into the generator. */
EVENT2_EXPORT_SYMBOL
void evutil_secure_rng_add_bytes(const char *dat, size_t datlen);

#ifdef __cplusplus
}
#endif

#endif /* EVENT2_UTIL_H_INCLUDED_ */

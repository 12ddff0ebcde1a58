/*
 * evutil-addr.c: socket addresses -- text conversion, parsing
 * "host:port" strings, comparison -- and the blocking getaddrinfo wrapper
 * with the helpers the asynchronous resolver (evdns) shares.
 *
 * Invariants:
 *  - Parsers never read past the terminating NUL, copy at most a fixed
 *    number of bytes into stack buffers, and reject (rather than
 *    truncate) anything longer.
 *  - Address lists we build carry EVUTIL_AI_LIBEVENT_ALLOCATED in every
 *    node and are freed by us; lists from the system resolver go back to
 *    freeaddrinfo().  evutil_freeaddrinfo() accepts both.
 *  - Error codes are glibc's EAI_* values (what EVUTIL_EAI_* expand to
 *    when event2/util.h is included first); evutil_gai_strerror() also
 *    understands the -90x values a program sees when it included
 *    <netdb.h> without _GNU_SOURCE (FACTS.md).
 */
#include "event2/event-config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <errno.h>
#ifndef _WIN32
#include <ifaddrs.h>
#endif
#include <limits.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "event2/util.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

/* ------------------------------------------------------------------ */
/* Text <-> binary */

const char *
evutil_inet_ntop(int af, const void *src, char *dst, size_t len)
{
    EV_REFUSE_NULL_(src, NULL);
    EV_REFUSE_NULL_(dst, NULL);
    return inet_ntop(af, src, dst, (socklen_t)(len > INT_MAX ? INT_MAX : len));
}

/* Dotted-quad IPv4 exactly as glibc's inet_pton(), which Debian's
 * libevent calls: four parts of 1-3 decimal digits, each at most 255, no
 * leading zeros ("010" is refused, "0" is fine), no signs or spaces. */
static int
parse_ipv4(const char *src, struct in_addr *dst)
{
    ev_uint32_t addr = 0;
    int part, digits, v;

    for (part = 0; part < 4; part++) {
        if (part > 0 && *src++ != '.')
            return 0;
        v = 0;
        for (digits = 0; EVUTIL_ISDIGIT_(*src); digits++, src++) {
            if (digits == 3 || (digits == 1 && v == 0))
                return 0;
            v = v * 10 + (*src - '0');
        }
        if (digits == 0 || v > 255)
            return 0;
        addr = (addr << 8) | (ev_uint32_t)v;
    }
    if (*src != '\0')
        return 0;
    dst->s_addr = htonl(addr);
    return 1;
}

int
evutil_inet_pton(int af, const char *src, void *dst)
{
    EV_REFUSE_NULL_(src, -1);
    EV_REFUSE_NULL_(dst, -1);
    if (af == AF_INET)
        return parse_ipv4(src, dst);
    return inet_pton(af, src, dst);
}

/* Longest address part we accept before a '%' zone:
 * "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" is 45 characters. */
#define MAX_V6_TEXT 63

/* A zone id: an interface name or a decimal index.  Returns 0 and the
 * index, or -1. */
static int
parse_zone(const char *zone, unsigned *index)
{
    /* 64 bits also where long has 32 (Windows), so the check below
     * catches overflow. */
    unsigned long long v = 0;
    const char *p;

    if (*zone == '\0')
        return -1;
    *index = if_nametoindex(zone);
    if (*index != 0)
        return 0;
    for (p = zone; *p; p++) {
        if (!EVUTIL_ISDIGIT_(*p))
            return -1;
        v = v * 10 + (unsigned long long)(*p - '0');
        if (v > UINT_MAX)
            return -1;
    }
    *index = (unsigned)v;
    return 0;
}

int
evutil_inet_pton_scope(int af, const char *src, void *dst, unsigned *indexp)
{
    char buf[MAX_V6_TEXT + 1];
    const char *pct;
    unsigned index;
    size_t len;
    int r;

    if (indexp)
        *indexp = 0;
    if (af != AF_INET6)
        return evutil_inet_pton(af, src, dst);
    pct = strchr(src, '%');
    if (!pct)
        return evutil_inet_pton(af, src, dst);
    len = (size_t)(pct - src);
    if (len > MAX_V6_TEXT)
        return 0;
    if (parse_zone(pct + 1, &index) < 0)
        return 0;
    memcpy(buf, src, len);
    buf[len] = '\0';
    r = evutil_inet_pton(AF_INET6, buf, dst);
    if (r == 1 && indexp)
        *indexp = index;
    return r;
}

/* ------------------------------------------------------------------ */
/* "host:port" parsing */

/* A port: 1 to 65535 in decimal digits only (leading zeros allowed).
 * Returns the port or -1. */
static int
parse_port(const char *s)
{
    long v = 0;

    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (!EVUTIL_ISDIGIT_(*s))
            return -1;
        v = v * 10 + (*s - '0');
        if (v > 65535)
            return -1;
    }
    return v == 0 ? -1 : (int)v;
}

/* Longest host part copied out of the input. */
#define MAX_HOST_TEXT 127

/*
 * Recognized forms (port 1-65535; without one the port is 0):
 *   [IPv6]:port   [IPv6]   IPv6   IPv4:port   IPv4
 * where IPv6 may carry a "%zone".  Unlike libevent 2.1 (which used atoi
 * and ignored text after ']'), anything else -- trailing garbage, signs,
 * spaces, an empty or zero port -- is rejected.
 */
int
evutil_parse_sockaddr_port(const char *str, struct sockaddr *out, int *outlen)
{
    char buf[MAX_HOST_TEXT + 1];
    const char *addr = str, *port_text = NULL, *colon, *end;
    int is_ipv6 = 0, port = 0;
    size_t len;

    if (!str || !out || !outlen)
        return -1;
    colon = strchr(str, ':');
    if (*str == '[') {
        end = strchr(str, ']');
        if (!end)
            return -1;
        len = (size_t)(end - (str + 1));
        if (len > MAX_HOST_TEXT)
            return -1;
        memcpy(buf, str + 1, len);
        buf[len] = '\0';
        addr = buf;
        if (end[1] == ':')
            port_text = end + 2;
        else if (end[1] != '\0')
            return -1;
        is_ipv6 = 1;
    } else if (colon && strchr(colon + 1, ':')) {
        /* Two or more colons without brackets: a bare IPv6 address. */
        is_ipv6 = 1;
    } else if (colon) {
        len = (size_t)(colon - str);
        if (len > MAX_HOST_TEXT)
            return -1;
        memcpy(buf, str, len);
        buf[len] = '\0';
        addr = buf;
        port_text = colon + 1;
    }
    if (port_text) {
        port = parse_port(port_text);
        if (port < 0)
            return -1;
    }

    if (is_ipv6) {
        struct sockaddr_in6 sin6;
        unsigned index;
        memset(&sin6, 0, sizeof(sin6));
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons((ev_uint16_t)port);
        if (evutil_inet_pton_scope(AF_INET6, addr, &sin6.sin6_addr, &index) !=
            1)
            return -1;
        sin6.sin6_scope_id = index;
        if (*outlen < (int)sizeof(sin6))
            return -1;
        memset(out, 0, (size_t)*outlen);
        memcpy(out, &sin6, sizeof(sin6));
        *outlen = (int)sizeof(sin6);
    } else {
        struct sockaddr_in sin;
        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_port = htons((ev_uint16_t)port);
        if (evutil_inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
            return -1;
        if (*outlen < (int)sizeof(sin))
            return -1;
        memset(out, 0, (size_t)*outlen);
        memcpy(out, &sin, sizeof(sin));
        *outlen = (int)sizeof(sin);
    }
    return 0;
}

const char *
evutil_format_sockaddr_port_(const struct sockaddr *sa, char *out,
    size_t outlen)
{
    char b[INET6_ADDRSTRLEN];

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        if (evutil_inet_ntop(AF_INET, &sin->sin_addr, b, sizeof(b))) {
            evutil_snprintf(out, outlen, "%s:%d", b, ntohs(sin->sin_port));
            return out;
        }
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        if (evutil_inet_ntop(AF_INET6, &sin6->sin6_addr, b, sizeof(b))) {
            evutil_snprintf(out, outlen, "[%s]:%d", b, ntohs(sin6->sin6_port));
            return out;
        }
    }
    evutil_snprintf(out, outlen, "<addr with socktype %d>",
        (int)sa->sa_family);
    return out;
}

/* ------------------------------------------------------------------ */
/* Comparison and classification */

/* The order is the one libevent 2.1 gives on this platform, kept so that
 * sorted containers behave identically: families by number, IPv4
 * addresses by their network-order word read as a native integer, IPv6
 * addresses bytewise, ports by their network-order value.  Results are
 * differences, not just -1/0/1. */
int
evutil_sockaddr_cmp(const struct sockaddr *sa1, const struct sockaddr *sa2,
    int include_port)
{
    int r;

    if (EVUTIL_UNLIKELY(!sa1 || !sa2)) {
        /* Bad input: NULL sorts first, with a message. */
        event_warnx("%s: NULL address", __func__);
        return (sa1 != NULL) - (sa2 != NULL);
    }
    r = (int)sa1->sa_family - (int)sa2->sa_family;
    if (r)
        return r;
    if (sa1->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa1;
        const struct sockaddr_in *b = (const struct sockaddr_in *)sa2;
        if (a->sin_addr.s_addr != b->sin_addr.s_addr)
            return a->sin_addr.s_addr < b->sin_addr.s_addr ? -1 : 1;
        if (include_port)
            return (int)a->sin_port - (int)b->sin_port;
        return 0;
    }
    if (sa1->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa1;
        const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)sa2;
        r = memcmp(a->sin6_addr.s6_addr, b->sin6_addr.s6_addr, 16);
        if (r)
            return r;
        if (include_port)
            return (int)a->sin6_port - (int)b->sin6_port;
        return 0;
    }
    /* Other families are never equal. */
    return 1;
}

int
evutil_sockaddr_is_loopback_(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
    }
    return 0;
}

int
evutil_v4addr_is_local_(const struct in_addr *in)
{
    ev_uint32_t a = ntohl(in->s_addr);

    return a == INADDR_ANY || (a >> 24) == 127 ||
        (a >> 16) == 0xa9fe /* 169.254/16 link-local */ ||
        (a >> 28) == 0xe /* 224/4 multicast */;
}

int
evutil_v6addr_is_local_(const struct in6_addr *in)
{
    static const unsigned char zeroes[8];
    const unsigned char *a = in->s6_addr;

    return memcmp(a, zeroes, 8) == 0 || (a[0] & 0xfe) == 0xfc ||
        (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||
        (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) || a[0] == 0xff;
}

/* ------------------------------------------------------------------ */
/* Address lists */

struct evutil_addrinfo *
evutil_new_addrinfo_(struct sockaddr *sa, ev_socklen_t socklen,
    const struct evutil_addrinfo *hints)
{
    struct evutil_addrinfo *ai;

    EVUTIL_ASSERT(hints);
    if (hints->ai_socktype == 0 && hints->ai_protocol == 0) {
        /* Nothing specified: one TCP and one UDP entry. */
        struct evutil_addrinfo tmp = *hints, *tcp, *udp;
        tmp.ai_socktype = SOCK_STREAM;
        tmp.ai_protocol = IPPROTO_TCP;
        tcp = evutil_new_addrinfo_(sa, socklen, &tmp);
        if (!tcp)
            return NULL;
        tmp.ai_socktype = SOCK_DGRAM;
        tmp.ai_protocol = IPPROTO_UDP;
        udp = evutil_new_addrinfo_(sa, socklen, &tmp);
        if (!udp) {
            evutil_freeaddrinfo(tcp);
            return NULL;
        }
        tcp->ai_next = udp;
        return tcp;
    }
    /* One block: the addrinfo followed by its sockaddr. */
    ai = mm_calloc(1, sizeof(*ai) + socklen);
    if (!ai)
        return NULL;
    ai->ai_addr = (struct sockaddr *)(ai + 1);
    memcpy(ai->ai_addr, sa, socklen);
    ai->ai_addrlen = socklen;
    ai->ai_family = sa->sa_family;
    ai->ai_flags = (int)EVUTIL_AI_LIBEVENT_ALLOCATED;
    ai->ai_socktype = hints->ai_socktype;
    ai->ai_protocol = hints->ai_protocol;
    return ai;
}

struct evutil_addrinfo *
evutil_addrinfo_append_(struct evutil_addrinfo *first,
    struct evutil_addrinfo *append)
{
    struct evutil_addrinfo *ai = first;

    if (!ai)
        return append;
    while (ai->ai_next)
        ai = ai->ai_next;
    ai->ai_next = append;
    return first;
}

void
evutil_freeaddrinfo(struct evutil_addrinfo *ai)
{
    while (ai) {
        struct evutil_addrinfo *next = ai->ai_next;
        if (!(ai->ai_flags & (int)EVUTIL_AI_LIBEVENT_ALLOCATED)) {
            /* The rest came from the system resolver. */
            freeaddrinfo(ai);
            return;
        }
        if (ai->ai_canonname)
            mm_free(ai->ai_canonname);
        mm_free(ai);
        ai = next;
    }
}

/* Which families have addresses beyond loopback/link-local, checked once:
 * bit 0 set when checked, bit 1 IPv4 seen, bit 2 IPv6 seen. */
static int if_families;

/* The family bit (2 or 4) of sa when it is a non-local address, else 0. */
static int
family_bit(const struct sockaddr *sa)
{
    if (!sa)
        return 0;
    if (sa->sa_family == AF_INET &&
        !evutil_v4addr_is_local_(&((const struct sockaddr_in *)sa)->sin_addr))
        return 2;
    if (sa->sa_family == AF_INET6 &&
        !evutil_v6addr_is_local_(
            &((const struct sockaddr_in6 *)sa)->sin6_addr))
        return 4;
    return 0;
}

#ifdef _WIN32
/* Windows has no getifaddrs(): walk GetAdaptersAddresses()'s unicast
 * addresses.  Returns the family bits, or 6 (both: hints unchanged) when
 * the list cannot be had. */
static int
windows_families(void)
{
    const ULONG flags = GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST |
        GAA_FLAG_SKIP_DNS_SERVER | GAA_FLAG_SKIP_FRIENDLY_NAME;
    IP_ADAPTER_ADDRESSES *list = NULL, *a;
    IP_ADAPTER_UNICAST_ADDRESS *u;
    ULONG size = 16384, r = ERROR_BUFFER_OVERFLOW;
    int tries, found = 0;

    /* The list may grow between the size query and the call. */
    for (tries = 0; tries < 3 && r == ERROR_BUFFER_OVERFLOW; ++tries) {
        if (list)
            mm_free(list);
        list = mm_malloc(size);
        if (list == NULL)
            return 6;
        r = GetAdaptersAddresses(AF_UNSPEC, flags, NULL, list, &size);
    }
    if (r != NO_ERROR) {
        if (list)
            mm_free(list);
        return 6;
    }
    for (a = list; a; a = a->Next)
        for (u = a->FirstUnicastAddress; u; u = u->Next)
            found |= family_bit(u->Address.lpSockaddr);
    mm_free(list);
    return found;
}
#endif

static int
check_interfaces(void)
{
#ifndef _WIN32
    struct ifaddrs *ifa, *i;
#endif
    int found = 1;

    found = __atomic_load_n(&if_families, __ATOMIC_RELAXED);
    if (found)
        return found;
    found = 1;
#ifdef _WIN32
    found |= windows_families();
#else
    if (getifaddrs(&ifa) == 0) {
        for (i = ifa; i; i = i->ifa_next)
            found |= family_bit(i->ifa_addr);
        freeifaddrs(ifa);
    } else {
        /* Unknown: assume both, which leaves hints unchanged. */
        found |= 6;
    }
#endif
    __atomic_store_n(&if_families, found, __ATOMIC_RELAXED);
    return found;
}

void
evutil_adjust_hints_for_addrconfig_(struct evutil_addrinfo *hints)
{
    int f;

    if (!(hints->ai_flags & EVUTIL_AI_ADDRCONFIG) ||
        hints->ai_family != PF_UNSPEC)
        return;
    f = check_interfaces();
    if ((f & 2) && !(f & 4))
        hints->ai_family = PF_INET;
    else if (!(f & 2) && (f & 4))
        hints->ai_family = PF_INET6;
}

/* Fill in whichever of socket type and protocol implies the other. */
static void
infer_protocols(struct evutil_addrinfo *hints)
{
    if (!hints->ai_protocol && hints->ai_socktype == SOCK_DGRAM)
        hints->ai_protocol = IPPROTO_UDP;
    else if (!hints->ai_protocol && hints->ai_socktype == SOCK_STREAM)
        hints->ai_protocol = IPPROTO_TCP;
    if (!hints->ai_socktype && hints->ai_protocol == IPPROTO_UDP)
        hints->ai_socktype = SOCK_DGRAM;
    else if (!hints->ai_socktype && (hints->ai_protocol == IPPROTO_TCP ||
                                        hints->ai_protocol == IPPROTO_SCTP))
        hints->ai_socktype = SOCK_STREAM;
}

static const char *
protocol_name(int proto, char *buf, size_t len)
{
    struct protoent pe, *res = NULL;

    switch (proto) {
    case 0:
        return NULL;
    case IPPROTO_TCP:
        return "tcp";
    case IPPROTO_UDP:
        return "udp";
    case IPPROTO_SCTP:
        return "sctp";
    default:
#ifdef _WIN32
        /* Winsock keeps getprotobynumber()'s result per thread. */
        (void)pe;
        (void)buf;
        (void)len;
        res = getprotobynumber(proto);
        return res ? res->p_name : NULL;
#else
        if (getprotobynumber_r(proto, &pe, buf, len, &res) == 0 && res)
            return res->p_name;
        return NULL;
#endif
    }
}

/* A numeric port 0-65535, or a service name unless NUMERICSERV.
 * Returns the port or -1. */
static int
parse_servname(const char *servname, const char *proto,
    const struct evutil_addrinfo *hints)
{
    struct servent se, *res = NULL;
    char buf[1024];
    long v = 0;
    const char *p;

    for (p = servname; *p && EVUTIL_ISDIGIT_(*p) && v <= 65535; p++)
        v = v * 10 + (*p - '0');
    if (*servname && *p == '\0')
        return v <= 65535 ? (int)v : -1;
    if (hints->ai_flags & EVUTIL_AI_NUMERICSERV)
        return -1;
#ifdef _WIN32
    /* Winsock keeps getservbyname()'s result per thread. */
    (void)se;
    (void)buf;
    res = getservbyname(servname, proto);
    if (res)
        return ntohs((ev_uint16_t)res->s_port);
#else
    if (getservbyname_r(servname, proto, &se, buf, sizeof(buf), &res) == 0 &&
        res)
        return ntohs((ev_uint16_t)res->s_port);
#endif
    return -1;
}

/* One entry (or TCP+UDP pair) for a literal address. */
static int
make_literal(struct sockaddr *sa, ev_socklen_t len,
    struct evutil_addrinfo *hints, struct evutil_addrinfo **res)
{
    *res = evutil_new_addrinfo_(sa, len, hints);
    return *res ? 0 : EVUTIL_EAI_MEMORY;
}

/* No node name: the wildcard address to bind (AI_PASSIVE) or loopback to
 * connect to, for each family asked; IPv4 first. */
static int
make_any_or_loopback(int port, struct evutil_addrinfo *hints,
    struct evutil_addrinfo **res)
{
    struct evutil_addrinfo *v4 = NULL, *v6 = NULL;
    int passive = hints->ai_flags & EVUTIL_AI_PASSIVE;

    if (hints->ai_family != PF_INET) {
        struct sockaddr_in6 sin6;
        memset(&sin6, 0, sizeof(sin6));
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons((ev_uint16_t)port);
        if (!passive)
            sin6.sin6_addr = in6addr_loopback;
        v6 = evutil_new_addrinfo_((struct sockaddr *)&sin6, sizeof(sin6),
            hints);
        if (!v6)
            return EVUTIL_EAI_MEMORY;
    }
    if (hints->ai_family != PF_INET6) {
        struct sockaddr_in sin;
        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_port = htons((ev_uint16_t)port);
        sin.sin_addr.s_addr = htonl(passive ? INADDR_ANY : INADDR_LOOPBACK);
        v4 = evutil_new_addrinfo_((struct sockaddr *)&sin, sizeof(sin), hints);
        if (!v4) {
            evutil_freeaddrinfo(v6);
            return EVUTIL_EAI_MEMORY;
        }
    }
    *res = evutil_addrinfo_append_(v4, v6);
    return 0;
}

int
evutil_getaddrinfo_common_(const char *nodename, const char *servname,
    struct evutil_addrinfo *hints, struct evutil_addrinfo **res,
    int *portnum)
{
    char pbuf[1024];
    int port = 0;

    if (!nodename && !servname)
        return EVUTIL_EAI_NONAME;
    if (hints->ai_family != PF_UNSPEC && hints->ai_family != PF_INET &&
        hints->ai_family != PF_INET6)
        return EVUTIL_EAI_FAMILY;
    infer_protocols(hints);
    if (servname) {
        port = parse_servname(servname,
            protocol_name(hints->ai_protocol, pbuf, sizeof(pbuf)), hints);
        if (port < 0)
            return EVUTIL_EAI_NONAME;
    }
    if (!nodename)
        return make_any_or_loopback(port, hints, res);

    if (hints->ai_family != PF_INET) {
        struct sockaddr_in6 sin6;
        unsigned index;
        memset(&sin6, 0, sizeof(sin6));
        if (evutil_inet_pton_scope(AF_INET6, nodename, &sin6.sin6_addr,
                &index) == 1) {
            sin6.sin6_family = AF_INET6;
            sin6.sin6_port = htons((ev_uint16_t)port);
            sin6.sin6_scope_id = index;
            return make_literal((struct sockaddr *)&sin6, sizeof(sin6), hints,
                res);
        }
    }
    if (hints->ai_family != PF_INET6) {
        struct sockaddr_in sin;
        memset(&sin, 0, sizeof(sin));
        if (evutil_inet_pton(AF_INET, nodename, &sin.sin_addr) == 1) {
            sin.sin_family = AF_INET;
            sin.sin_port = htons((ev_uint16_t)port);
            return make_literal((struct sockaddr *)&sin, sizeof(sin), hints,
                res);
        }
    }
    if (hints->ai_flags & EVUTIL_AI_NUMERICHOST)
        return EVUTIL_EAI_NONAME;
    *portnum = port;
    return EVUTIL_EAI_NEED_RESOLVE;
}

/* ------------------------------------------------------------------ */
/* Blocking getaddrinfo */

int
evutil_getaddrinfo(const char *nodename, const char *servname,
    const struct evutil_addrinfo *hints_in, struct evutil_addrinfo **res)
{
    struct evutil_addrinfo hints;

    EV_REFUSE_NULL_(res, EVUTIL_EAI_FAIL);

    if (hints_in) {
        hints = *hints_in;
    } else {
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = PF_UNSPEC;
    }
    /* glibc implements every EVUTIL_AI_* flag natively (they are its AI_*
     * values); only our private marker must not reach it. */
    hints.ai_flags &= ~(int)EVUTIL_AI_LIBEVENT_ALLOCATED;
    return getaddrinfo(nodename, servname, &hints, res);
}

/* glibc's values for the two codes that differ without _GNU_SOURCE. */
#ifdef _WIN32
/* Winsock's EAI_NODATA (WSANO_DATA) is a code of its own; it has no
 * EAI_ADDRFAMILY or EAI_SYSTEM, so only the private values name those. */
#define GLIBC_EAI_NODATA EAI_NODATA
#define GLIBC_EAI_ADDRFAMILY (-901)
#ifndef EAI_SYSTEM
#define EAI_SYSTEM -911
#endif
#else
#define GLIBC_EAI_NODATA (-5)
#define GLIBC_EAI_ADDRFAMILY (-9)
#endif

static const struct {
    int code;
    int alt; /* the -90x value of a program built without glibc's codes */
    const char *msg;
} gai_messages[] = {
    {0, 0, "No error"},
    {GLIBC_EAI_ADDRFAMILY, -901, "address family for nodename not supported"},
    {EAI_AGAIN, -902, "temporary failure in name resolution"},
    {EAI_BADFLAGS, -903, "invalid value for ai_flags"},
    {EAI_FAIL, -904, "non-recoverable failure in name resolution"},
    {EAI_FAMILY, -905, "ai_family not supported"},
    {EAI_MEMORY, -906, "memory allocation failure"},
    {GLIBC_EAI_NODATA, -907, "no address associated with nodename"},
    {EAI_NONAME, -908, "nodename nor servname provided, or not known"},
    {EAI_SERVICE, -909, "servname not supported for ai_socktype"},
    {EAI_SOCKTYPE, -910, "ai_socktype not supported"},
    {EAI_SYSTEM, -911, "system error"},
    {EVUTIL_EAI_CANCEL, EVUTIL_EAI_CANCEL, "Request canceled"},
};

const char *
evutil_gai_strerror(int err)
{
    size_t i;

    for (i = 0; i < sizeof(gai_messages) / sizeof(gai_messages[0]); i++) {
        if (err == gai_messages[i].code || err == gai_messages[i].alt)
            return gai_messages[i].msg;
    }
    return gai_strerror(err);
}

/* ------------------------------------------------------------------ */
/* The resolver's asynchronous getaddrinfo, reached from the core */

static evdns_getaddrinfo_fn evdns_getaddrinfo_impl;
static evdns_getaddrinfo_cancel_fn evdns_getaddrinfo_cancel_impl;

void
evutil_set_evdns_getaddrinfo_fn_(evdns_getaddrinfo_fn fn)
{
    __atomic_store_n(&evdns_getaddrinfo_impl, fn, __ATOMIC_RELEASE);
}

void
evutil_set_evdns_getaddrinfo_cancel_fn_(evdns_getaddrinfo_cancel_fn fn)
{
    __atomic_store_n(&evdns_getaddrinfo_cancel_impl, fn, __ATOMIC_RELEASE);
}

struct evdns_getaddrinfo_request *
evutil_getaddrinfo_async_(struct evdns_base *dns_base, const char *nodename,
    const char *servname, const struct evutil_addrinfo *hints_in,
    void (*cb)(int, struct evutil_addrinfo *, void *), void *arg)
{
    evdns_getaddrinfo_fn fn =
        __atomic_load_n(&evdns_getaddrinfo_impl, __ATOMIC_ACQUIRE);
    struct evutil_addrinfo *ai = NULL;
    int err;

    if (dns_base && fn)
        return fn(dns_base, nodename, servname, hints_in, cb, arg);
    err = evutil_getaddrinfo(nodename, servname, hints_in, &ai);
    cb(err, ai, arg);
    return NULL;
}

void
evutil_getaddrinfo_cancel_async_(struct evdns_getaddrinfo_request *data)
{
    evdns_getaddrinfo_cancel_fn fn =
        __atomic_load_n(&evdns_getaddrinfo_cancel_impl, __ATOMIC_ACQUIRE);

    if (data && fn)
        fn(data);
}

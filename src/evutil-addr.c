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
/* Text <-> binary
 *
 * (The C library conversions named below are those of Debian's x86-64
 * glibc, whose long is 64 bits: the code reproduces them with 64-bit
 * arithmetic on every platform, Windows' 32-bit long included.)
 *
 * Debian's libevent 2.1.12 does not use the C library here: it formats
 * and parses addresses with its own code, whose rules are looser (and in
 * places odder) than inet_pton()/inet_ntop().  Programs read listen and
 * peer addresses from their configuration through these functions, so
 * every text 2.1.12 accepts must be accepted with the same result and
 * every text it refuses must be refused.  The rules are reproduced below,
 * each where it applies; the parsers work on (start, end) spans so that
 * no input length limit is needed and nothing is copied.
 */

/* Largest text either formatter produces ("ffff:...:ffff" is 39). */
#define NTOP_TEXT_MAX 48

/* The 2.1 IPv6 format: lowercase hex words without leading zeros; the
 * first longest run of two or more zero words becomes "::"; a dotted IPv4
 * tail only for ::ffff:a.b.c.d and for ::a.b.c.d when neither of the two
 * low words is zero (so ::0.1.0.0 prints "::1:0", unlike glibc's
 * "::0.1.0.0", and ::1 stays "::1").  Returns the text length. */
static size_t
format_ipv6(const unsigned char *b, char *out)
{
    unsigned words[8];
    int i, run_start = -1, run_len = 1, j;
    char *p = out;

    for (i = 0; i < 8; i++)
        words[i] = ((unsigned)b[2 * i] << 8) | b[2 * i + 1];
    if (!words[0] && !words[1] && !words[2] && !words[3] && !words[4] &&
        ((words[5] == 0 && words[6] && words[7]) || words[5] == 0xffff)) {
        return (size_t)evutil_snprintf(out, NTOP_TEXT_MAX, "::%s%u.%u.%u.%u",
            words[5] ? "ffff:" : "", b[12], b[13], b[14], b[15]);
    }
    /* Starting run_len at 1 leaves a lone zero word uncompressed; only a
     * strictly longer run replaces the one found first. */
    for (i = 0; i < 8; i = j + 1) {
        for (j = i; j < 8 && words[j] == 0; j++)
            ;
        if (j - i > run_len) {
            run_start = i;
            run_len = j - i;
        }
    }
    for (i = 0; i < 8; i++) {
        if (i == run_start) {
            /* "::" -- its first ':' is the previous word's separator
             * unless the run starts the address. */
            if (i == 0)
                *p++ = ':';
            *p++ = ':';
            i += run_len - 1;
            continue;
        }
        p += evutil_snprintf(p, 5, "%x", words[i]);
        if (i != 7)
            *p++ = ':';
    }
    *p = '\0';
    return (size_t)(p - out);
}

const char *
evutil_inet_ntop(int af, const void *src, char *dst, size_t len)
{
    char text[NTOP_TEXT_MAX];
    size_t n;

    EV_REFUSE_NULL_(src, NULL);
    EV_REFUSE_NULL_(dst, NULL);
    if (af == AF_INET) {
        const unsigned char *b = src;
        n = (size_t)evutil_snprintf(text, sizeof(text), "%u.%u.%u.%u", b[0],
            b[1], b[2], b[3]);
    } else if (af == AF_INET6) {
        n = format_ipv6(src, text);
    } else {
        errno = EAFNOSUPPORT;
        return NULL;
    }
    /* The text and its NUL must fit.  (2.1's IPv6 branch also "succeeds"
     * with the text cut short when len == n; we refuse that, as its IPv4
     * branch and every inet_ntop() do, and leave dst alone.) */
    if (n >= len) {
        errno = ENOSPC;
        return NULL;
    }
    memcpy(dst, text, n + 1);
    return dst;
}

/* Whether [s, end) starts with a digit. */
#define AT_DIGIT(s, end) ((s) < (end) && EVUTIL_ISDIGIT_(*(s)))

/*
 * What strtoul() and strtol() (base 10) read at s: optional white space,
 * an optional sign (*negative), then decimal digits, accumulated in 64
 * bits (*overflow when they do not fit).  Returns the position after the
 * digits, or NULL when there is no digit.
 */
static const char *
scan_decimal(const char *s, const char *end, ev_uint64_t *v, int *negative,
    int *overflow)
{
    *v = 0;
    *negative = *overflow = 0;
    while (s < end && EVUTIL_ISSPACE_(*s))
        s++;
    if (s < end && (*s == '+' || *s == '-'))
        *negative = *s++ == '-';
    if (!AT_DIGIT(s, end))
        return NULL;
    for (; AT_DIGIT(s, end); s++) {
        unsigned d = (unsigned)(*s - '0');
        if (*v > (EV_UINT64_MAX - d) / 10)
            *overflow = 1;
        else
            *v = *v * 10 + d;
    }
    return s;
}

/* strtoul()'s value for what scan_decimal() read: saturated at the
 * maximum when too large, negated modulo 2^64 after a '-'; truncated to
 * unsigned int. */
static unsigned
strtoul_value(ev_uint64_t v, int negative, int overflow)
{
    if (overflow)
        v = EV_UINT64_MAX;
    else if (negative)
        v = 0UL - v;
    return (unsigned)v;
}

/*
 * One "%u" conversion of 2.1's sscanf("%u.%u.%u.%u%c"), as glibc does
 * it: optional white space, an optional sign, then at least one decimal
 * digit (leading zeros are fine and the base stays 10).  The value is
 * strtoul_value()'s ("-0" is 0, "4294967297" is 1, "-1" is 4294967295).
 * Returns the position after the digits, or NULL when there is no
 * number.
 */
static const char *
scan_unsigned(const char *s, const char *end, unsigned *value)
{
    ev_uint64_t v;
    int negative, overflow;

    s = scan_decimal(s, end, &v, &negative, &overflow);
    if (s != NULL)
        *value = strtoul_value(v, negative, overflow);
    return s;
}

/* 2.1's IPv4 text: exactly four scan_unsigned() numbers, each at most
 * 255, joined by single dots with nothing between a number and its dot,
 * and nothing after the fourth (the "%c" must find the end).  So
 * " 1.2.3.4", "1.+2.3.4", "-0.1.2.3" and "01.002.3.4" are accepted;
 * "1.2.3.4 " and "1 .2.3.4" are not.  Writes out (network order) only
 * on success. */
static int
parse_ipv4_span(const char *s, const char *end, unsigned char out[4])
{
    unsigned v[4];
    int i;

    for (i = 0; i < 4; i++) {
        if (i > 0) {
            if (s >= end || *s != '.')
                return 0;
            s++;
        }
        s = scan_unsigned(s, end, &v[i]);
        if (!s)
            return 0;
    }
    if (s != end)
        return 0;
    for (i = 0; i < 4; i++) {
        if (v[i] > 255)
            return 0;
    }
    for (i = 0; i < 4; i++)
        out[i] = (unsigned char)v[i];
    return 1;
}

/* Where a 2.1 hex word starting at s (a hex digit) ends: it is read with
 * strtol(base 16), which also takes a "0x"/"0X" prefix when a hex digit
 * follows it, and then any number of hex digits. */
static const char *
hex_word_end(const char *s, const char *end)
{
    if (end - s >= 3 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
        EVUTIL_ISXDIGIT_(s[2]))
        s += 2;
    while (s < end && EVUTIL_ISXDIGIT_(*s))
        s++;
    return s;
}

/*
 * 2.1's IPv6 text, on [src, end):
 *  - If there is a '.', the first one (not the first character) ends a
 *    dotted IPv4 tail that starts at the run of decimal digits before it
 *    and reaches the end; it must pass parse_ipv4_span() and gives the
 *    last two words.  The words part ends where the tail starts.
 *  - The words part is read left to right.  A word starts with a hex
 *    digit and spans what strtol(base 16) takes (hex_word_end(), which
 *    may run past the words part); it may be at most 4 characters long,
 *    prefix included ("0x1" and "0xab" are words, "0x123" is not), and
 *    must be followed by ':' (skipped) or by the end of the words part.
 *    So one trailing ':' after a word is accepted ("1::2:").
 *  - "::" is allowed once: either as a second ':' after a word's
 *    separator, or as the two first characters.  Any other character,
 *    or a ninth word, refuses the text.
 *  - Without "::" there must be exactly 8 words (the tail counts 2);
 *    with it, at most 7, the gap standing for the rest.
 * Writes dst only on success.
 */
static int
parse_ipv6_span(const char *src, const char *end, unsigned char *dst)
{
    unsigned words[8];
    unsigned char tail[4];
    const char *dot = memchr(src, '.', (size_t)(end - src));
    const char *eow = end; /* end of the words part */
    int n = 0, nwords, gap = -1, i;

    if (dot == src)
        return 0;
    if (dot) {
        for (eow = dot; eow > src && EVUTIL_ISDIGIT_(eow[-1]); eow--)
            ;
        if (!parse_ipv4_span(eow, end, tail))
            return 0;
    }
    while (src < eow) {
        if (n > 7)
            return 0;
        if (EVUTIL_ISXDIGIT_(*src)) {
            const char *next = hex_word_end(src, end), *d = src;
            unsigned v = 0;
            if (next - src > 4)
                return 0;
            if (next - src > 2 && (src[1] == 'x' || src[1] == 'X'))
                d = src + 2;
            for (; d < next; d++)
                v = v * 16 + (unsigned)evutil_hex_char_to_int_(*d);
            words[n++] = v;
            src = next;
            if (src != eow && (src >= end || *src != ':'))
                return 0;
            src++; /* the ':' (or, at eow, nothing that matters) */
        } else if (*src == ':' && n > 0 && gap < 0) {
            gap = n;
            src++;
        } else if (*src == ':' && n == 0 && gap < 0 && end - src >= 2 &&
            src[1] == ':') {
            gap = 0;
            src += 2;
        } else {
            return 0;
        }
    }
    nwords = n + (dot ? 2 : 0);
    if (nwords > 8 || (nwords == 8 && gap >= 0) || (nwords < 8 && gap < 0))
        return 0;
    if (dot) {
        words[6] = ((unsigned)tail[0] << 8) | tail[1];
        words[7] = ((unsigned)tail[2] << 8) | tail[3];
    }
    if (gap >= 0) {
        /* Words after the gap move up to just before the tail (or the
         * end); the gap is zero-filled. */
        int fill = 8 - nwords;
        for (i = n - 1; i >= gap; i--)
            words[i + fill] = words[i];
        for (i = gap; i < gap + fill; i++)
            words[i] = 0;
    }
    for (i = 0; i < 8; i++) {
        dst[2 * i] = (unsigned char)(words[i] >> 8);
        dst[2 * i + 1] = (unsigned char)(words[i] & 0xff);
    }
    return 1;
}

int
evutil_inet_pton(int af, const char *src, void *dst)
{
    EV_REFUSE_NULL_(src, -1);
    EV_REFUSE_NULL_(dst, -1);
    if (af == AF_INET)
        return parse_ipv4_span(src, src + strlen(src), dst);
    if (af == AF_INET6)
        return parse_ipv6_span(src, src + strlen(src), dst);
    errno = EAFNOSUPPORT;
    return -1;
}

/*
 * A zone id as 2.1 reads it: an interface name if if_nametoindex()
 * knows it, else what strtoul(base 10) makes of it -- optional white
 * space and sign, then digits, which must reach the end, valued as
 * strtoul_value() does ("4294967296" is 0, "99999999999" is 1215752191,
 * "-1" is 4294967295).  An empty zone is index 0; a zone with no digits (" ",
 * "+") is refused.  Returns 0 and the index, or -1.
 */
static int
parse_zone(const char *zone, unsigned *index)
{
    const char *end = zone + strlen(zone), *s;
    ev_uint64_t v;
    int negative, overflow;

    *index = if_nametoindex(zone);
    if (*index != 0)
        return 0;
    s = scan_decimal(zone, end, &v, &negative, &overflow);
    if (s == NULL) {
        /* strtoul() stops at the start: only "" gets through. */
        return *zone == '\0' ? 0 : -1;
    }
    if (s != end)
        return -1;
    *index = strtoul_value(v, negative, overflow);
    return 0;
}

/* As in 2.1: the text up to the first '%' is the address and the rest
 * the zone; the zone is looked at first, and its index is stored even
 * when the address part then turns out not to parse. */
int
evutil_inet_pton_scope(int af, const char *src, void *dst, unsigned *indexp)
{
    const char *pct;
    unsigned index;

    if (indexp)
        *indexp = 0;
    if (af != AF_INET6)
        return evutil_inet_pton(af, src, dst);
    EV_REFUSE_NULL_(src, -1);
    EV_REFUSE_NULL_(dst, -1);
    pct = strchr(src, '%');
    if (!pct)
        return evutil_inet_pton(af, src, dst);
    if (parse_zone(pct + 1, &index) < 0)
        return 0;
    if (indexp)
        *indexp = index;
    return parse_ipv6_span(src, pct, dst);
}

/* ------------------------------------------------------------------ */
/* "host:port" parsing */

/* A port as 2.1 reads it, with atoi(): (int)strtol(s, NULL, 10), so
 * leading white space and a sign are fine, reading stops at the first
 * non-digit, and an out-of-range value saturates at LONG_MAX/LONG_MIN
 * before being cut to its low 32 bits.  Returns that int's value when it
 * is 1-65535 (so "80x", " 80", "+80" and "4294967376" give 80), else -1:
 * 2.1 refuses a port that comes out 0 (also "", "x", "0") or negative or
 * above 65535. */
static int
parse_port(const char *s)
{
    ev_uint64_t v, low;
    int negative, overflow;

    if (scan_decimal(s, s + strlen(s), &v, &negative, &overflow) == NULL)
        return -1;
    /* The long strtol() returns, as its two's-complement bits. */
    if (negative) {
        if (overflow || v > (ev_uint64_t)EV_INT64_MAX + 1)
            v = (ev_uint64_t)EV_INT64_MAX + 1; /* LONG_MIN */
        v = 0UL - v;
    } else if (overflow || v > (ev_uint64_t)EV_INT64_MAX) {
        v = (ev_uint64_t)EV_INT64_MAX;
    }
    low = v & 0xffffffffUL;
    return (low >= 1 && low <= 65535) ? (int)low : -1;
}

/* Longest host part 2.1 copies out of "[host]..." or "host:port". */
#define MAX_HOST_TEXT 127

/*
 * Recognized forms, decided as 2.1 does:
 *  - "[" ... "]": the text between the brackets (at most 127 bytes) is
 *    an IPv6 address, with an optional %zone; a ':' right after the
 *    first ']' starts the port; anything else after ']' is ignored
 *    ("[::1]x", "[::1]]:80", "[::1]%lo" are [::1] with port 0).
 *  - two or more ':' and no leading '[': the whole text is an IPv6
 *    address with optional %zone, port 0.
 *  - one ':': IPv4 before it (at most 127 bytes), port after it.
 *  - no ':': the whole text is an IPv4 address, port 0.
 * The port is read by parse_port(); addresses follow the pton rules
 * above.
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

/*
 * fuzz-parse-sockaddr: address text parsing and formatting in evutil.
 *
 * Input: byte 0 picks buffer sizes and extras, the rest is split at its
 * first NUL into two strings (the second may be empty).
 *
 * The expected results are Debian's libevent 2.1.12's, which uses its own
 * parsers rather than the C library's.  The reference here states its
 * rules independently of src/evutil-addr.c: numbers are converted by the
 * C library's own sscanf("%u"), strtol(), strtoul() and atoi() -- the
 * conversions whose semantics 2.1 inherits -- and the IPv6 words are
 * checked field by field (the text split at every ':') rather than by a
 * left-to-right scan.  Checked:
 *  - evutil_inet_pton(AF_INET) is sscanf("%u.%u.%u.%u%c") == 4 with every
 *    part <= 255; evutil_inet_pton(AF_INET6) follows the field model in
 *    ref_ipv6(); both agree with glibc's inet_pton wherever glibc accepts
 *    (2.1 accepts more, never less); nothing is written on failure; other
 *    families fail with EAFNOSUPPORT;
 *  - evutil_inet_ntop equals glibc's inet_ntop except for ::a.b.c.0
 *    (2.1 prints "::x:0" where glibc prints a dotted tail), for every
 *    output size (text and NUL must fit, else NULL and ENOSPC), and
 *    text -> binary -> text -> binary is the identity;
 *  - evutil_inet_pton_scope reads the zone with if_nametoindex() or
 *    strtoul(), stores its index even when the address then fails;
 *    evutil_parse_sockaddr_port follows the forms of ref_parse() with
 *    the port read by atoi(); the output is zero-filled to *outlen and
 *    nothing past it is touched;
 *  - evutil_sockaddr_cmp is reflexive and antisymmetric, ignores ports
 *    when asked, orders as documented (family, address, port), and what
 *    was parsed compares equal to the parse of its own formatting.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/util.h>

#include "fuzz-common.h"

#define MAX_TEXT 300

static void
quiet_log(int severity, const char *msg)
{
    (void)severity;
    (void)msg;
}

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int
is_xdigit(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* 2.1's IPv4 text: whatever sscanf("%u.%u.%u.%u%c") reads as exactly four
 * numbers, each at most 255. */
static int
ref_ipv4(const char *s, unsigned char out[4])
{
    unsigned v[4];
    char more;
    int i;

    if (sscanf(s, "%u.%u.%u.%u%c", &v[0], &v[1], &v[2], &v[3], &more) != 4)
        return 0;
    for (i = 0; i < 4; i++) {
        if (v[i] > 255)
            return 0;
        out[i] = (unsigned char)v[i];
    }
    return 1;
}

/*
 * 2.1's IPv6 text, as a field model.  A dotted tail starts at the decimal
 * digits before the first '.' and must pass ref_ipv4(); the text before it
 * (W) is split at every ':' into fields F0..Fk.  Then:
 *  - k >= 1 (a lone word, or nothing, is never enough);
 *  - an empty F0 is only allowed as a leading "::" (F1 empty too);
 *  - any other empty field is a gap ("::") unless it is the last one (a
 *    trailing ':' after a word, or the end of "::"); at most one gap;
 *  - a non-empty field is one word: what strtol(base 16) reads from it,
 *    reading on into the rest of the text, must end exactly at the
 *    field's end and be at most 4 characters ("0x1" is a word, "0x" and
 *    "0x123" are not; a word right before the tail runs into it);
 *  - with a gap, at most 7 words (tail = 2); without, exactly 8.
 */
static int
ref_ipv6(const char *s, unsigned char out[16])
{
    const char *dot = strchr(s, '.'), *w_end, *f;
    unsigned char tail[4];
    long words[8];
    int n = 0, gap = -1, total, i, k, field;

    if (dot == s)
        return 0;
    w_end = s + strlen(s);
    if (dot) {
        for (w_end = dot; w_end > s && is_digit(w_end[-1]); w_end--)
            ;
        if (!ref_ipv4(w_end, tail))
            return 0;
    }
    for (k = 0, f = s; f < w_end; f++)
        k += *f == ':';
    if (k == 0)
        return 0;
    f = s;
    for (field = 0; field <= k; field++) {
        const char *fe = memchr(f, ':', (size_t)(w_end - f));
        if (!fe)
            fe = w_end;
        if (fe == f) {
            if (field == 0) {
                if (f[1] != ':')
                    return 0;
                gap = 0;
                f += 2;
                field++;
                continue;
            }
            if (field < k) {
                if (gap >= 0)
                    return 0;
                gap = n;
            }
        } else {
            char *end;
            long v;
            if (!is_xdigit(*f))
                return 0;
            v = strtol(f, &end, 16);
            if (end != fe || end - f > 4 || n == 8)
                return 0;
            words[n++] = v;
        }
        f = fe + 1;
    }
    total = n + (dot ? 2 : 0);
    if (gap >= 0 ? total > 7 : total != 8)
        return 0;
    /* Words before the gap, zeros, words after it, the tail. */
    memset(out, 0, 16);
    for (i = 0; i < n; i++) {
        int at = (gap >= 0 && i >= gap) ? i + (8 - total) : i;
        out[2 * at] = (unsigned char)(words[i] >> 8);
        out[2 * at + 1] = (unsigned char)words[i];
    }
    if (dot)
        memcpy(out + 12, tail, 4);
    return 1;
}

static void
check_pton(const char *s)
{
    unsigned char ours[16], theirs[16], ref[16];
    int r, g, e;

    memset(ours, 0x5a, sizeof(ours));
    r = evutil_inet_pton(AF_INET, s, ours);
    e = ref_ipv4(s, ref);
    FUZZ_CHECK(r == e);
    if (r == 1)
        FUZZ_CHECK(memcmp(ours, ref, 4) == 0);
    else
        FUZZ_CHECK(ours[0] == 0x5a && ours[3] == 0x5a); /* untouched */
    g = inet_pton(AF_INET, s, theirs);
    if (g == 1) {
        FUZZ_CHECK(r == 1);
        FUZZ_CHECK(memcmp(ours, theirs, 4) == 0);
    }

    memset(ours, 0x5a, sizeof(ours));
    r = evutil_inet_pton(AF_INET6, s, ours);
    e = ref_ipv6(s, ref);
    FUZZ_CHECK(r == e);
    if (r == 1)
        FUZZ_CHECK(memcmp(ours, ref, 16) == 0);
    else
        FUZZ_CHECK(ours[0] == 0x5a && ours[15] == 0x5a);
    g = inet_pton(AF_INET6, s, theirs);
    if (g == 1) {
        FUZZ_CHECK(r == 1);
        FUZZ_CHECK(memcmp(ours, theirs, 16) == 0);
    }

    errno = 0;
    FUZZ_CHECK(evutil_inet_pton(AF_UNIX, s, ours) == -1);
    FUZZ_CHECK(errno == EAFNOSUPPORT);
}

/* 2.1's text for a binary address: glibc's, except that glibc gives
 * ::a.b.c.0 (words 0-5 zero, 6 not, 7 zero) a dotted tail which 2.1 only
 * uses when both low words are non-zero (or after ::ffff:). */
static void
ref_ntop(int af, const unsigned char *a, char *out, size_t n)
{
    static const unsigned char zero[12];

    if (af == AF_INET6 && memcmp(a, zero, 12) == 0 && (a[12] | a[13]) &&
        !(a[14] | a[15])) {
        snprintf(out, n, "::%x:0", (unsigned)(a[12] << 8 | a[13]));
        return;
    }
    FUZZ_CHECK(inet_ntop(af, a, out, (socklen_t)n) != NULL);
}

/* ntop of a binary address against the reference for one output size,
 * then the round trip back through pton. */
static void
check_ntop(int af, const unsigned char *addr, size_t size)
{
    char ours[64], ref[64];
    unsigned char back[16];
    const char *r;
    size_t alen = af == AF_INET ? 4 : 16;

    ref_ntop(af, addr, ref, sizeof(ref));
    memset(ours, 'Z', sizeof(ours));
    errno = 0;
    r = evutil_inet_ntop(af, addr, ours, size);
    if (strlen(ref) >= size) {
        /* No room for text and NUL: NULL, and the buffer untouched. */
        FUZZ_CHECK(r == NULL);
        FUZZ_CHECK(errno == ENOSPC);
        FUZZ_CHECK(ours[0] == 'Z');
        return;
    }
    FUZZ_CHECK(r == ours);
    FUZZ_CHECK(strcmp(ours, ref) == 0);
    FUZZ_CHECK(ours[strlen(ours) + 1] == 'Z');    /* nothing past the NUL */
    FUZZ_CHECK(evutil_inet_pton(af, ours, back) == 1);
    FUZZ_CHECK(memcmp(back, addr, alen) == 0);
}

/* The zone after '%' as 2.1 reads it: an interface name, or else all of
 * it through strtoul(base 10), cut to unsigned. */
static int
ref_zone(const char *z, unsigned *index)
{
    char *end;

    *index = if_nametoindex(z);
    if (*index)
        return 0;
    *index = (unsigned)strtoul(z, &end, 10);
    return *end == '\0' ? 0 : -1;
}

/* Returns what evutil_inet_pton_scope(AF_INET6) should, with the index
 * it should leave: 0 unless the zone parsed (then even if the address
 * does not). */
static int
ref_pton_scope(const char *s, unsigned char out[16], unsigned *index)
{
    const char *pct = strchr(s, '%');
    char host[MAX_TEXT + 1];

    *index = 0;
    if (!pct)
        return ref_ipv6(s, out);
    if (ref_zone(pct + 1, index) < 0) {
        *index = 0;
        return 0;
    }
    FUZZ_CHECK((size_t)(pct - s) <= MAX_TEXT);
    memcpy(host, s, (size_t)(pct - s));
    host[pct - s] = '\0';
    return ref_ipv6(host, out);
}

static void
check_pton_scope(const char *s)
{
    unsigned char ours[16], ref[16];
    unsigned i_ours = 99, i_ref;
    int r;

    memset(ours, 0x5a, sizeof(ours));
    r = evutil_inet_pton_scope(AF_INET6, s, ours, &i_ours);
    FUZZ_CHECK(r == ref_pton_scope(s, ref, &i_ref));
    FUZZ_CHECK(i_ours == i_ref);
    if (r == 1)
        FUZZ_CHECK(memcmp(ours, ref, 16) == 0);
    else
        FUZZ_CHECK(ours[0] == 0x5a && ours[15] == 0x5a);
}

/* 2.1's port: atoi() of the text, which must come out 1-65535. */
static int
ref_port(const char *s)
{
    int v = atoi(s);

    return v >= 1 && v <= 65535 ? v : -1;
}

/* Reference for evutil_parse_sockaddr_port; fills ss, returns 0 or -1.
 * "[host]..." (host at most 127 bytes; ":port" may follow the first ']',
 * anything else after it is ignored), a bare IPv6 address (two or more
 * ':'), "v4:port" (host at most 127 bytes) or a bare v4 address. */
static int
ref_parse(const char *s, struct sockaddr_storage *ss, int *len)
{
    char buf[128];
    const char *colon = strchr(s, ':'), *port_text = NULL, *end;
    const char *host = s;
    int v6 = 0, port = 0;
    size_t n;

    memset(ss, 0, sizeof(*ss));
    if (s[0] == '[') {
        end = strchr(s, ']');
        if (!end || (size_t)(end - s - 1) > 127)
            return -1;
        n = (size_t)(end - s - 1);
        memcpy(buf, s + 1, n);
        buf[n] = '\0';
        host = buf;
        if (end[1] == ':')
            port_text = end + 2;
        v6 = 1;
    } else if (colon && strchr(colon + 1, ':')) {
        v6 = 1;     /* the whole text, no port */
    } else if (colon) {
        n = (size_t)(colon - s);
        if (n > 127)
            return -1;
        memcpy(buf, s, n);
        buf[n] = '\0';
        host = buf;
        port_text = colon + 1;
    }
    if (port_text && (port = ref_port(port_text)) < 0)
        return -1;
    if (v6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        unsigned idx;
        if (ref_pton_scope(host, sin6->sin6_addr.s6_addr, &idx) != 1)
            return -1;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        sin6->sin6_scope_id = idx;
        *len = (int)sizeof(*sin6);
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        if (ref_ipv4(host, (unsigned char *)&sin->sin_addr) != 1)
            return -1;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        *len = (int)sizeof(*sin);
    }
    return 0;
}

static int
sign(int v)
{
    return (v > 0) - (v < 0);
}

/* The documented order, as a sign. */
static int
ref_cmp(const struct sockaddr *a, const struct sockaddr *b, int with_port)
{
    if (a->sa_family != b->sa_family)
        return a->sa_family < b->sa_family ? -1 : 1;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        if (x->sin_addr.s_addr != y->sin_addr.s_addr)
            return x->sin_addr.s_addr < y->sin_addr.s_addr ? -1 : 1;
        return with_port ? sign((int)x->sin_port - (int)y->sin_port) : 0;
    } else {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        int r = memcmp(&x->sin6_addr, &y->sin6_addr, 16);
        if (r)
            return sign(r);
        return with_port ? sign((int)x->sin6_port - (int)y->sin6_port) : 0;
    }
}

/* Parses s with the library and the reference; returns 0 and the result
 * in ss when both accept it. */
static int
check_parse(const char *s, uint8_t opts, struct sockaddr_storage *ss)
{
    union {
        struct sockaddr_storage ss;
        unsigned char bytes[sizeof(struct sockaddr_storage) + 16];
    } out;
    struct sockaddr_storage ref;
    int outlen, orig, reflen = 0, r, e, i;

    switch (opts & 3) {
    case 0: outlen = (int)sizeof(struct sockaddr_storage); break;
    case 1: outlen = (int)sizeof(struct sockaddr_in); break;
    case 2: outlen = (int)sizeof(struct sockaddr_in6); break;
    default: outlen = (int)sizeof(struct sockaddr_in6) - 1; break;
    }
    orig = outlen;
    memset(&out, 0xee, sizeof(out));
    e = ref_parse(s, &ref, &reflen);
    r = evutil_parse_sockaddr_port(s, (struct sockaddr *)&out.ss, &outlen);
    if (e < 0 || reflen > orig) {
        FUZZ_CHECK(r == -1);
        for (i = 0; i < (int)sizeof(out); i++)
            FUZZ_CHECK(out.bytes[i] == 0xee);
        return -1;
    }
    FUZZ_CHECK(r == 0);
    FUZZ_CHECK(outlen == reflen);
    FUZZ_CHECK(memcmp(&out.ss, &ref, (size_t)reflen) == 0);
    for (i = reflen; i < orig; i++)
        FUZZ_CHECK(out.bytes[i] == 0);
    for (i = orig; i < (int)sizeof(out); i++)
        FUZZ_CHECK(out.bytes[i] == 0xee);
    memcpy(ss, &out.ss, sizeof(*ss));
    return 0;
}

/* Text for a parsed address that must parse back to it. */
static void
format(const struct sockaddr_storage *ss, char *out, size_t n)
{
    char host[INET6_ADDRSTRLEN];

    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const void *)ss;
        FUZZ_CHECK(evutil_inet_ntop(AF_INET, &sin->sin_addr, host,
                       sizeof(host)) != NULL);
        if (sin->sin_port)
            snprintf(out, n, "%s:%u", host, ntohs(sin->sin_port));
        else
            snprintf(out, n, "%s", host);
    } else {
        const struct sockaddr_in6 *sin6 = (const void *)ss;
        FUZZ_CHECK(evutil_inet_ntop(AF_INET6, &sin6->sin6_addr, host,
                       sizeof(host)) != NULL);
        snprintf(out, n, "[%s]:%u", host, ntohs(sin6->sin6_port));
        if (!sin6->sin6_port)
            snprintf(out, n, "[%s]", host);
    }
}

static void
check_cmp(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    const struct sockaddr *x = (const void *)a, *y = (const void *)b;
    int p;

    FUZZ_CHECK(evutil_sockaddr_cmp(x, x, 1) == 0);
    FUZZ_CHECK(evutil_sockaddr_cmp(x, x, 0) == 0);
    for (p = 0; p < 2; p++) {
        int xy = evutil_sockaddr_cmp(x, y, p);
        int yx = evutil_sockaddr_cmp(y, x, p);
        FUZZ_CHECK(sign(xy) == -sign(yx));
        FUZZ_CHECK(sign(xy) == ref_cmp(x, y, p));
    }
    if (evutil_sockaddr_cmp(x, y, 1) == 0)
        FUZZ_CHECK(evutil_sockaddr_cmp(x, y, 0) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    char a[MAX_TEXT + 1], b[MAX_TEXT + 1], text[MAX_TEXT];
    struct sockaddr_storage sa, sb, again;
    size_t n, i, split;
    uint8_t opts;
    int have_a, have_b;

    if (!quiet) {
        event_set_log_callback(quiet_log);
        quiet = 1;
    }
    if (size == 0)
        return 0;
    opts = data[0];
    data++;
    size--;
    n = size < MAX_TEXT ? size : MAX_TEXT;
    for (split = 0; split < n && data[split]; split++)
        ;
    memcpy(a, data, split);
    a[split] = '\0';
    b[0] = '\0';
    if (split < n) {
        for (i = split + 1; i < n && data[i]; i++)
            ;
        memcpy(b, data + split + 1, i - split - 1);
        b[i - split - 1] = '\0';
    }

    check_pton(a);
    check_pton_scope(a);

    /* The raw input bytes as binary addresses, for every output size. */
    if (size >= 16) {
        for (i = 0; i <= 48; i++) {
            check_ntop(AF_INET, data, i);
            check_ntop(AF_INET6, data, i);
        }
    } else {
        unsigned char addr[16];
        memset(addr, 0, sizeof(addr));
        memcpy(addr, data, size);
        check_ntop(AF_INET6, addr, 46);
        check_ntop(AF_INET, addr, 16);
    }

    have_a = check_parse(a, opts, &sa) == 0;
    have_b = check_parse(b, (uint8_t)(opts >> 2), &sb) == 0;
    if (have_a) {
        format(&sa, text, sizeof(text));
        FUZZ_CHECK(check_parse(text, 0, &again) == 0);
        FUZZ_CHECK(evutil_sockaddr_cmp((struct sockaddr *)&sa,
                       (struct sockaddr *)&again, 1) == 0);
    }
    if (have_a && have_b)
        check_cmp(&sa, &sb);
    return 0;
}

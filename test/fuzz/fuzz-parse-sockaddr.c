/*
 * fuzz-parse-sockaddr: address text parsing and formatting in evutil.
 *
 * Input: byte 0 picks buffer sizes and extras, the rest is split at its
 * first NUL into two strings (the second may be empty).  Checked:
 *  - evutil_inet_pton(AF_INET6) equals glibc's inet_pton exactly;
 *    evutil_inet_pton(AF_INET) accepts exactly the dotted quads of four
 *    1-3 digit decimal parts up to 255 (no leading zeros, as glibc),
 *    agreeing with glibc wherever glibc accepts; other families fail
 *    with EAFNOSUPPORT as glibc does;
 *  - evutil_inet_ntop equals glibc's inet_ntop for every output size,
 *    and text -> binary -> text -> binary is the identity;
 *  - evutil_inet_pton_scope and evutil_parse_sockaddr_port equal a
 *    straightforward reference of the documented forms ([v6]:port,
 *    [v6], v6, v4:port, v4; v6 with %zone; port 1-65535 in digits);
 *    the output is zero-filled to *outlen and nothing past it is touched;
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

/* The documented IPv4 form: four dot-separated parts of 1-3 digits, each
 * at most 255. */
static int
ref_ipv4(const char *s, unsigned char out[4])
{
    int part, digits, v;

    for (part = 0; part < 4; part++) {
        if (part > 0) {
            if (*s != '.')
                return 0;
            s++;
        }
        v = 0;
        for (digits = 0; is_digit(*s); digits++, s++)
            if (digits < 4)
                v = v * 10 + (*s - '0');
        if (digits < 1 || digits > 3 || v > 255)
            return 0;
        out[part] = (unsigned char)v;
    }
    return *s == '\0';
}

/* Does some dotted part start with '0' and have more digits? */
static int
has_leading_zero(const char *s)
{
    const char *p;

    for (p = s; *p; p++)
        if (*p == '0' && (p == s || p[-1] == '.') && is_digit(p[1]))
            return 1;
    return 0;
}

static void
check_pton(const char *s)
{
    unsigned char ours[16], theirs[16], ref[4];
    int r, g;

    memset(ours, 0x5a, sizeof(ours));
    r = evutil_inet_pton(AF_INET, s, ours);
    g = inet_pton(AF_INET, s, theirs);
    FUZZ_CHECK(r == (ref_ipv4(s, ref) && !has_leading_zero(s)));
    if (r == 1)
        FUZZ_CHECK(memcmp(ours, ref, 4) == 0);
    else
        FUZZ_CHECK(ours[0] == 0x5a);    /* untouched on failure */
    /* Exactly glibc's answer, which Debian's libevent returns. */
    FUZZ_CHECK(r == g);
    if (g == 1)
        FUZZ_CHECK(memcmp(ours, theirs, 4) == 0);

    memset(ours, 0x5a, sizeof(ours));
    r = evutil_inet_pton(AF_INET6, s, ours);
    g = inet_pton(AF_INET6, s, theirs);
    FUZZ_CHECK(r == g);
    if (r == 1)
        FUZZ_CHECK(memcmp(ours, theirs, 16) == 0);

    errno = 0;
    FUZZ_CHECK(evutil_inet_pton(AF_UNIX, s, ours) == -1);
    FUZZ_CHECK(errno == EAFNOSUPPORT);
}

/* ntop of a binary address against glibc for one output size, then the
 * round trip back through pton. */
static void
check_ntop(int af, const unsigned char *addr, size_t size)
{
    char ours[64], theirs[64];
    unsigned char back[16];
    const char *r, *g;
    int e_ours, e_theirs;
    size_t alen = af == AF_INET ? 4 : 16;

    memset(ours, 'Z', sizeof(ours));
    errno = 0;
    r = evutil_inet_ntop(af, addr, ours, size);
    e_ours = errno;
    errno = 0;
    g = inet_ntop(af, addr, theirs, (socklen_t)size);
    e_theirs = errno;
    FUZZ_CHECK((r == NULL) == (g == NULL));
    if (r == NULL) {
        FUZZ_CHECK(e_ours == e_theirs);
        return;
    }
    FUZZ_CHECK(r == ours);
    FUZZ_CHECK(strcmp(ours, theirs) == 0);
    FUZZ_CHECK(strlen(ours) < size);
    FUZZ_CHECK(ours[strlen(ours) + 1] == 'Z');    /* nothing past the NUL */
    FUZZ_CHECK(evutil_inet_pton(af, ours, back) == 1);
    FUZZ_CHECK(memcmp(back, addr, alen) == 0);
}

/* The zone after '%': an interface name, or else a decimal index. */
static int
ref_zone(const char *z, unsigned *index)
{
    unsigned long v = 0;

    if (*z == '\0')
        return -1;
    *index = if_nametoindex(z);
    if (*index)
        return 0;
    for (; *z; z++) {
        if (!is_digit(*z))
            return -1;
        v = v * 10 + (unsigned long)(*z - '0');
        if (v > UINT_MAX)
            return -1;
    }
    *index = (unsigned)v;
    return 0;
}

static int
ref_pton_scope(const char *s, unsigned char out[16], unsigned *index)
{
    const char *pct = strchr(s, '%');
    char host[64];

    *index = 0;
    if (!pct)
        return inet_pton(AF_INET6, s, out);
    if ((size_t)(pct - s) > 63 || ref_zone(pct + 1, index) < 0) {
        *index = 0;
        return 0;
    }
    memcpy(host, s, (size_t)(pct - s));
    host[pct - s] = '\0';
    if (inet_pton(AF_INET6, host, out) != 1) {
        *index = 0;
        return 0;
    }
    return 1;
}

static void
check_pton_scope(const char *s)
{
    unsigned char ours[16], ref[16];
    unsigned i_ours = 99, i_ref;
    int r = evutil_inet_pton_scope(AF_INET6, s, ours, &i_ours);

    FUZZ_CHECK(r == ref_pton_scope(s, ref, &i_ref));
    if (r == 1) {
        FUZZ_CHECK(memcmp(ours, ref, 16) == 0);
        FUZZ_CHECK(i_ours == i_ref);
    }
}

static int
ref_port(const char *s)
{
    long v = 0;

    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (!is_digit(*s))
            return -1;
        v = v * 10 + (*s - '0');
        if (v > 65535)
            return -1;
    }
    return v ? (int)v : -1;
}

/* Reference for evutil_parse_sockaddr_port; fills ss, returns 0 or -1. */
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
        else if (end[1] != '\0')
            return -1;
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
        if (ref_ipv4(host, (unsigned char *)&sin->sin_addr) != 1 ||
            has_leading_zero(host))
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

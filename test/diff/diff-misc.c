/*
 * diff-misc.c: differential test of the smaller public APIs whose results a
 * program sees directly (test/diff/diff-common.h explains the scheme).
 *
 *   - event2/util.h: evutil_snprintf/vsnprintf, evutil_strtoll, the ASCII
 *     case-insensitive compares, evutil_inet_pton/_scope/ntop,
 *     evutil_parse_sockaddr_port, evutil_sockaddr_cmp, evutil_getaddrinfo
 *     (numeric hosts and NULL hosts only, so nothing is resolved),
 *     evutil_gai_strerror, evutil_socketpair, the socket option helpers,
 *     evutil_closesocket, evutil_date_rfc1123, the timer macros and the
 *     monotonic timer's return values;
 *   - event2/event.h introspection: versions, methods, event_config_*,
 *     features, priorities, common timeouts, event_get_*, event counts,
 *     event_base_foreach_event, event_self_cbarg, event_base_once,
 *     event_debug_unassign, and the effect of
 *     event_config_set_max_dispatch_interval on one EVLOOP_NONBLOCK pass;
 *   - logging: the severity (never the text) of every message the library
 *     logs, on its own "  log" line after the observation that caused it.
 *
 * Trace: "section NAME" for the fixed tables, then "seed N" per script
 * (--steps util steps, a config, a max-dispatch script and a base script
 * of --steps steps); one observation per line.  Lines that only show an
 * exact value where only the sign is specified start with "raw", lines
 * that only show an order start with "order", lines that show bytes a
 * failed call left in an output buffer start with "failbuf".  Callbacks of
 * one EVLOOP_NONBLOCK pass are printed sorted, their order on an "order"
 * line (epoll only: libevent's poll and select start at a random fd).
 *
 * Options: --seeds=N --first=N --steps=N, and --no-FEATURE / --FEATURE
 * switches (the feats table below; --help lists them).
 */
#include <event2/event.h>
#include <event2/util.h>

#include "diff-common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Options */

/* What the generator may use.  A feature marked "differs" is where ours
 * and libevent 2.1.12 were seen to part; "--no-NAME" leaves it out so the
 * rest can be checked.  Features off by default ("--NAME" turns them on)
 * are what libevent leaves undefined. */
static struct feat {
    int tables, util, base, snprintf0, highbytes, lax4, lax6, ntop_exact,
        ntop_v4compat, zone, zone_quirks, portquirks, gai, gai_odd, gai_flags,
        sockpair_inet, sockopts, cfgflag_bogus, uring, ct_negative, counts,
        max_counts, max_clear, signals, closed, et, dispatch, incb, once,
        unassign, zero_persist, zero_common, add_active, stale_timeout, order, failbuf,
        et_mix, foreach_internal, counts_every;
} F;

static const struct {
    const char *name;
    int *field;
    int dflt;
    const char *what;
} feats[] = {
    {"tables", &F.tables, 1, "the fixed tables (sections)"},
    {"util", &F.util, 1, "the event2/util.h steps of each seed"},
    {"base", &F.base, 1, "the event base scripts of each seed"},
    {"snprintf0", &F.snprintf0, 1, "buffer size 0 for snprintf/date"},
    {"highbytes", &F.highbytes, 1, "bytes >= 0x80 in strcasecmp"},
    {"lax4", &F.lax4, 1, "differs: \" 1.+2.-0.01\" IPv4 octets"},
    {"lax6", &F.lax6, 1, "differs: \"0x1::\", \"1::2:\" IPv6"},
    {"ntop-exact", &F.ntop_exact, 1, "differs: ntop6 into len == strlen"},
    {"ntop-v4compat", &F.ntop_v4compat, 1, "differs: ntop6 of ::a.b.0.0"},
    {"zone", &F.zone, 1, "%zone suffixes in IPv6 text"},
    {"zone-quirks", &F.zone_quirks, 1,
     "differs: \"%\", \"% 1\", \"%4294967296\""},
    {"portquirks", &F.portquirks, 1,
     "differs: \":80x\", \"[::1]x\", \"[::1]:80:90\""},
    {"gai", &F.gai, 1, "evutil_getaddrinfo"},
    {"gai-odd", &F.gai_odd, 1, "odd families, socktypes, protocols"},
    {"gai-flags", &F.gai_flags, 1, "\"aiflags\" lines"},
    {"sockpair-inet", &F.sockpair_inet, 1, "evutil_socketpair(AF_INET...)"},
    {"sockopts", &F.sockopts, 1, "the socket option helpers"},
    {"cfgflag-bogus", &F.cfgflag_bogus, 1, "unknown EVENT_BASE_FLAG bits"},
    {"uring", &F.uring, 1, "differs: io_uring (ours only) in methods"},
    {"ct-negative", &F.ct_negative, 1, "differs: negative common timeouts"},
    {"counts", &F.counts, 1, "event_base_get_num_events"},
    {"max-counts", &F.max_counts, 1, "differs: event_base_get_max_events"},
    {"max-clear", &F.max_clear, 1, "differs: clearing the maximums"},
    {"signals", &F.signals, 1, "EV_SIGNAL events"},
    {"closed", &F.closed, 1, "EV_CLOSED events"},
    {"et", &F.et, 1, "EV_ET events (all of one fd's or none)"},
    {"dispatch", &F.dispatch, 1, "max_dispatch_interval scripts"},
    {"incb", &F.incb, 1, "priority_init from callbacks"},
    {"once", &F.once, 1, "event_base_once"},
    {"unassign", &F.unassign, 1, "event_debug_unassign"},
    {"zero-persist", &F.zero_persist, 1, "differs: {0,0} timeout, EV_PERSIST"},
    {"zero-common", &F.zero_common, 1,
     "differs: zero-length common timeout, EV_PERSIST"},
    {"add-active", &F.add_active, 1, "differs: event_add on an active event"},
    {"stale-timeout", &F.stale_timeout, 1,
     "differs: add(NULL) after add(tv) of an EV_PERSIST event"},
    {"order", &F.order, 1, "\"order\" lines"},
    {"failbuf", &F.failbuf, 0, "\"failbuf\" lines: dst after a failure"},
    {"et-mix", &F.et_mix, 0, "EV_ET and level events on one fd"},
    {"foreach-internal", &F.foreach_internal, 0,
     "count the library's own events in foreach"},
    {"counts-every", &F.counts_every, 0, "counts after every step (debug)"},
};

static void
parse_feats(int argc, char **argv)
{
    size_t k;
    int i;
    for (k = 0; k < sizeof(feats) / sizeof(feats[0]); k++)
        *feats[k].field = feats[k].dflt;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        int on = 1, known = 0;
        if (strncmp(a, "--seeds=", 8) == 0 || strncmp(a, "--first=", 8) == 0 ||
            strncmp(a, "--steps=", 8) == 0)
            continue;
        if (strncmp(a, "--no-", 5) == 0) {
            a += 5;
            on = 0;
        } else if (strncmp(a, "--", 2) == 0)
            a += 2;
        for (k = 0; k < sizeof(feats) / sizeof(feats[0]); k++)
            if (strcmp(a, feats[k].name) == 0) {
                *feats[k].field = on;
                known = 1;
            }
        if (!known) {
            fprintf(stderr,
                    "usage: %s [--seeds=N] [--first=N] [--steps=N] "
                    "[--[no-]FEATURE...]\n",
                    argv[0]);
            for (k = 0; k < sizeof(feats) / sizeof(feats[0]); k++) {
                char opt[64];
                snprintf(opt, sizeof(opt), "%s%s",
                         feats[k].dflt ? "--no-" : "--", feats[k].name);
                fprintf(stderr, "  %-22s %s\n", opt, feats[k].what);
            }
            exit(2);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Small helpers */

/* Severities of the messages logged since the last flush. */
static char logbuf[512];
static size_t loglen;

static void
log_cb(int severity, const char *msg)
{
    (void)msg;
    if (loglen + 8 < sizeof(logbuf))
        loglen += (size_t)snprintf(logbuf + loglen, sizeof(logbuf) - loglen,
                                   "%s%d", loglen ? "," : "", severity);
}

static void
flush_log(void)
{
    if (loglen) {
        DIFF_OUT("  log %s\n", logbuf);
        loglen = 0;
        logbuf[0] = '\0';
    }
}

/* Printable form of n bytes, in one of 8 rotating buffers. */
static const char *
esc(const char *s, size_t n)
{
    static char bufs[8][2048];
    static int which;
    char *out = bufs[which++ & 7];
    size_t o = 0, i;
    for (i = 0; i < n && o + 5 < sizeof(bufs[0]); i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == '"')
            o += (size_t)sprintf(out + o, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            out[o++] = (char)c;
        else
            o += (size_t)sprintf(out + o, "\\x%02x", c);
    }
    out[o] = '\0';
    return out;
}

static const char *
escs(const char *s)
{
    return s ? esc(s, strlen(s)) : "(null)";
}

static int
sign_of(long v)
{
    return v < 0 ? -1 : v > 0 ? 1 : 0;
}

static uint64_t
fnv(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ULL;
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static unsigned
pick(struct diff_rng *r, unsigned n)
{
    return diff_below(r, n);
}

/* Address and port of a sockaddr, printed with the system's inet_ntop. */
static const char *
sa_str(const struct sockaddr *sa, size_t len)
{
    static char bufs[4][256];
    static int which;
    char *out = bufs[which++ & 3];
    char a[INET6_ADDRSTRLEN + 1];
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
        snprintf(out, sizeof(bufs[0]), "inet %s port %u zero %d", a,
                 (unsigned)ntohs(s4->sin_port),
                 fnv(s4->sin_zero, sizeof(s4->sin_zero)) ==
                     fnv("\0\0\0\0\0\0\0\0", 8));
    } else if (sa->sa_family == AF_INET6 &&
               len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
        snprintf(out, sizeof(bufs[0]), "inet6 %s port %u scope %u flow %u", a,
                 (unsigned)ntohs(s6->sin6_port), (unsigned)s6->sin6_scope_id,
                 (unsigned)s6->sin6_flowinfo);
    } else {
        snprintf(out, sizeof(bufs[0]), "family %d len %zu", (int)sa->sa_family,
                 len);
    }
    return out;
}

/* ------------------------------------------------------------------ */
/* evutil_snprintf / evutil_vsnprintf */

static int via_v(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int via_sys(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
via_v(char *buf, size_t n, const char *fmt, ...)
{
    int r;
    va_list ap;
    va_start(ap, fmt);
    r = evutil_vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}

static int
via_sys(char *buf, size_t n, const char *fmt, ...)
{
    int r;
    va_list ap;
    va_start(ap, fmt);
    r = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}

struct fmtargs {
    int i1, w;
    unsigned u1;
    long long ll;
    char s1[24], s2[24];
    char c1, c2;
    size_t sz;
    double d;
};

#define NFMT 14
/* mode 0: evutil_snprintf, 1: evutil_vsnprintf, 2: the C library. */
#define CALLF(...)                                                             \
    (mode == 0   ? evutil_snprintf(buf, n, __VA_ARGS__)                        \
     : mode == 1 ? via_v(buf, n, __VA_ARGS__)                                  \
                 : via_sys(buf, n, __VA_ARGS__))
static int
do_fmt(int mode, int k, char *buf, size_t n, const struct fmtargs *a)
{
    switch (k) {
    case 0:
        return CALLF("%d", a->i1);
    case 1:
        return CALLF("%s", a->s1);
    case 2:
        return CALLF("[%5d|%-4s]", a->i1, a->s1);
    case 3:
        return CALLF("%x-%o-%X", a->u1, a->u1, a->u1);
    case 4:
        return CALLF("%lld", a->ll);
    case 5:
        return CALLF("%c%c", a->c1, a->c2);
    case 6:
        return CALLF("%.3s", a->s1);
    case 7:
        return CALLF("%%%d%%", a->i1);
    case 8:
        return CALLF("%s%s%s", a->s1, a->s2, a->s1);
    case 9:
        return CALLF("%zu", a->sz);
    case 10:
        return CALLF("%08.3f", a->d);
    case 11:
        return CALLF("%*d", a->w, a->i1);
    case 12:
        return CALLF("%.*s", a->w, a->s2);
    default:
        return CALLF("%s", "");
    }
}
#undef CALLF

static void
rand_str(struct diff_rng *r, char *out, size_t cap, const char *alpha)
{
    size_t n = pick(r, (unsigned)cap), i, na = strlen(alpha);
    for (i = 0; i < n; i++)
        out[i] = alpha[pick(r, (unsigned)na)];
    out[n] = '\0';
}

static void
op_snprintf(struct diff_rng *r)
{
    struct fmtargs a;
    char buf[256], line[8192];
    int k = (int)pick(r, NFMT), mode = (int)pick(r, 2), len;
    size_t n, o = 0;
    static const int ints[] = {0, 1, -1, 42, -12345, INT_MAX, INT_MIN, 7};
    memset(&a, 0, sizeof(a));
    a.i1 = pick(r, 2) ? ints[pick(r, 8)] : (int)(diff_next(r) >> 40) - 8000000;
    a.u1 = (unsigned)diff_next(r);
    a.ll = (long long)diff_next(r);
    if (pick(r, 4) == 0)
        a.ll = pick(r, 2) ? LLONG_MIN : LLONG_MAX;
    rand_str(r, a.s1, 20, "abcXYZ 019%-");
    rand_str(r, a.s2, 20, "qrs\t.");
    a.c1 = (char)('!' + pick(r, 90));
    a.c2 = (char)('!' + pick(r, 90));
    a.sz = (size_t)diff_next(r) >> pick(r, 64);
    a.d = (double)((int)pick(r, 2000000) - 1000000) / 7.0;
    a.w = (int)pick(r, 25);

    len = do_fmt(2, k, buf, sizeof(buf), &a);
    DIFF_OUT(
        "snprintf k=%d %s expect=%d \"%s\"\n", k, mode ? "v" : "s", len,
        esc(buf, (size_t)len < sizeof(buf) ? (size_t)len : sizeof(buf) - 1));
    for (n = F.snprintf0 ? 0 : 1; n <= (size_t)len + 2 && n < 200; n++) {
        int ret;
        memset(buf, '~', sizeof(buf));
        ret = do_fmt(mode, k, buf, n, &a);
        o += (size_t)snprintf(line + o, sizeof(line) - o, " %zu:%d:\"%s\"", n,
                              ret, esc(buf, n + 1));
        if (o > sizeof(line) - 600) {
            DIFF_OUT("  sizes%s\n", line);
            o = 0;
        }
    }
    if (o)
        DIFF_OUT("  sizes%s\n", line);
    flush_log();
}

/* ------------------------------------------------------------------ */
/* evutil_strtoll */

static void
strtoll_one(const char *s, int base)
{
    char *end = (char *)1;
    ev_int64_t v;
    errno = 0;
    v = evutil_strtoll(s, &end, base);
    DIFF_OUT("strtoll \"%s\" base %d -> %lld end %ld\n", esc(s, strlen(s)),
             base, (long long)v, (long)(end - s));
    if (errno)
        DIFF_OUT("  errno %d\n", errno);
    errno = 0;
    v = evutil_strtoll(s, NULL, base);
    DIFF_OUT("  noend %lld\n", (long long)v);
    flush_log();
}

static void
op_strtoll(struct diff_rng *r)
{
    static const char *spaces[] = {"", "", " ", "\t", "  \n", "\v\f\r "};
    static const char *signs[] = {"", "", "+", "-", "--", "+-", "-+"};
    static const char *prefixes[] = {"",   "",   "",    "0",
                                     "0x", "0X", "00x", "0x0x"};
    static const char *tails[] = {"", "", "", " ", "x", ".5", "9", "\n", "-"};
    static const char *digits[] = {
        "0123456789", "0123456789abcdef",           "01234567",
        "01",         "0123456789abcdefxyzABCDEFZ", "9"};
    static const int bases[] = {0, 0, 10, 10, 16, 8, 2, 36, 3, 35};
    char s[128], d[64];
    const char *alpha = digits[pick(r, 6)];
    rand_str(r, d, pick(r, 3) ? 12 : 30, alpha);
    snprintf(s, sizeof(s), "%s%s%s%s%s", spaces[pick(r, 6)], signs[pick(r, 7)],
             prefixes[pick(r, 8)], d, tails[pick(r, 9)]);
    strtoll_one(s, bases[pick(r, 10)]);
}

static void
table_strtoll(void)
{
    static const char *cases[] = {"9223372036854775807",
                                  "9223372036854775808",
                                  "-9223372036854775808",
                                  "-9223372036854775809",
                                  "0x7fffffffffffffff",
                                  "0x8000000000000000",
                                  "-0x8000000000000000",
                                  "99999999999999999999999",
                                  "0",
                                  "",
                                  " ",
                                  "-",
                                  "+",
                                  "0x",
                                  "0X1g",
                                  "  -0x10",
                                  "077",
                                  "08",
                                  "1e5",
                                  "  +42abc",
                                  "\t\n-17 ",
                                  "zz",
                                  "ZZ",
                                  "1y2k"};
    static const int bases[] = {0, 10, 16, 8, 36};
    size_t i, j;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        for (j = 0; j < sizeof(bases) / sizeof(bases[0]); j++)
            strtoll_one(cases[i], bases[j]);
}

/* ------------------------------------------------------------------ */
/* evutil_ascii_strcasecmp / strncasecmp */

static void
cmp_one(const char *a, const char *b, size_t n, int use_n)
{
    int v = use_n ? evutil_ascii_strncasecmp(a, b, n)
                  : evutil_ascii_strcasecmp(a, b);
    if (use_n)
        DIFF_OUT("strncasecmp \"%s\" \"%s\" %zu sign %d\n", escs(a), escs(b), n,
                 sign_of(v));
    else
        DIFF_OUT("strcasecmp \"%s\" \"%s\" sign %d\n", escs(a), escs(b),
                 sign_of(v));
    DIFF_OUT("raw  value %d\n", v);
    flush_log();
}

static void
op_strcasecmp(struct diff_rng *r)
{
    const char *alpha = F.highbytes ? "aAbBzZ@[`{_09 \x7f\xc3\xa9\xe0\x80"
                                    : "aAbBzZ@[`{_09 \x7f";
    char a[16], b[16];
    size_t i, la;
    rand_str(r, a, 7, alpha);
    la = strlen(a);
    switch (pick(r, 4)) {
    case 0:
        rand_str(r, b, 7, alpha);
        break;
    default: /* a variant of a */
        memcpy(b, a, la + 1);
        for (i = 0; i < la; i++)
            if (pick(r, 2) &&
                ((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= 'A' && b[i] <= 'Z')))
                b[i] ^= 0x20;
        if (la && pick(r, 3) == 0)
            b[pick(r, (unsigned)la)] = alpha[pick(r, (unsigned)strlen(alpha))];
        if (la && pick(r, 4) == 0)
            b[pick(r, (unsigned)la)] = '\0';
        break;
    }
    if (pick(r, 2))
        cmp_one(a, b, 0, 0);
    else {
        size_t n = pick(r, 8) == 0 ? (size_t)-1 : pick(r, (unsigned)la + 3);
        cmp_one(a, b, n, 1);
    }
}

/* ------------------------------------------------------------------ */
/* Address text generators */

static void
gen_v4(struct diff_rng *r, char *out, size_t cap)
{
    static const unsigned common[] = {0, 1, 127, 255, 10, 192, 2, 100};
    unsigned v[5];
    int n = 4, i, mut = (int)pick(r, 10);
    size_t o = 0;
    for (i = 0; i < 5; i++)
        v[i] = pick(r, 2) ? common[pick(r, 8)] : pick(r, 256);
    if (mut == 0)
        v[pick(r, 4)] = 256 + pick(r, 1000);
    if (mut == 1)
        n = pick(r, 2) ? 3 : 5;
    for (i = 0; i < n; i++) {
        const char *pre = "";
        if (F.lax4 && mut == 2 && pick(r, 2))
            pre = (const char *[]){"0", "00", "+", " ", "-"}[pick(r, 5)];
        if (pre[0] == '-')
            v[i] = 0;
        o += (size_t)snprintf(out + o, cap - o, "%s%s%u", i ? "." : "", pre,
                              v[i]);
    }
    if (mut == 3)
        snprintf(out + o, cap - o, "%s",
                 (const char *[]){".", "x", " ", "/8", ":", "\n"}[pick(r, 6)]);
    if (mut == 4) {
        /* empty group or letters */
        static const char *bad[] = {"1..2.3",     ".1.2.3",   "1.2.3.",
                                    "a.b.c.d",    "1.2.3.4.", "",
                                    "0x7f.0.0.1", "1.2.3.04a"};
        snprintf(out, cap, "%s", bad[pick(r, 8)]);
    }
}

static void
copy_trunc(char *out, size_t cap, const char *in)
{
    size_t l = strlen(in);
    if (l >= cap)
        l = cap - 1;
    memcpy(out, in, l);
    out[l] = '\0';
}

static void
gen_v6(struct diff_rng *r, char *out, size_t cap, int allow_zone)
{
    unsigned w[8];
    int i, best = -1, bestlen = 0, gap = -1, gaplen = 0, v4tail, upper, mut;
    size_t o = 0;
    for (i = 0; i < 8; i++) {
        unsigned k = pick(r, 10);
        w[i] = k < 4   ? 0
               : k < 5 ? 1
               : k < 6 ? 0xffff
                       : (unsigned)pick(r, 65536);
    }
    if (pick(r, 5) == 0) { /* v4-mapped / v4-compatible shapes */
        for (i = 0; i < 5; i++)
            w[i] = 0;
        w[5] = pick(r, 2) ? 0xffff : 0;
    }
    /* longest zero run */
    for (i = 0; i < 8;) {
        if (w[i] == 0) {
            int s = i;
            while (i < 8 && w[i] == 0)
                i++;
            if (i - s > bestlen) {
                bestlen = i - s;
                best = s;
            }
        } else
            i++;
    }
    switch (pick(r, 3)) {
    case 0:
        break; /* no compression */
    case 1:
        gap = best;
        gaplen = bestlen;
        break;
    default: /* compress a random zero run (or part of one) */
        if (best >= 0) {
            gap = best + (int)pick(r, (unsigned)bestlen);
            gaplen = 1 + (int)pick(r, (unsigned)(best + bestlen - gap));
        }
        break;
    }
    v4tail = pick(r, 5) == 0;
    upper = (int)pick(r, 3);
    for (i = 0; i < 8; i++) {
        if (i == gap) {
            o += (size_t)snprintf(out + o, cap - o, "%s", i == 0 ? "::" : ":");
            i += gaplen - 1;
            if (i == 7)
                break;
            continue;
        }
        if (v4tail && i == 6) {
            o += (size_t)snprintf(out + o, cap - o, "%u.%u.%u.%u", w[6] >> 8,
                                  w[6] & 255, w[7] >> 8, w[7] & 255);
            break;
        }
        {
            char h[8];
            int k, pad = pick(r, 4) == 0;
            snprintf(h, sizeof(h), pad ? "%04x" : "%x", w[i]);
            for (k = 0; h[k]; k++)
                if (upper == 1 || (upper == 2 && pick(r, 2)))
                    if (h[k] >= 'a' && h[k] <= 'f')
                        h[k] = (char)(h[k] - 32);
            o +=
                (size_t)snprintf(out + o, cap - o, "%s%s", h, i < 7 ? ":" : "");
        }
    }
    mut = (int)pick(r, 14);
    if (mut < 6 && o > 0) {
        static const char *ins[] = {":", "::", "12345", "g", "1:", ":::"};
        size_t at = pick(r, (unsigned)o + 1);
        char tmp[256];
        snprintf(tmp, sizeof(tmp), "%.*s%s%s", (int)at, out, ins[mut],
                 out + at);
        copy_trunc(out, cap, tmp);
    } else if (mut == 6) {
        static const char *bad[] = {"",
                                    ":",
                                    "::",
                                    ":::",
                                    "1::2::3",
                                    ":1::",
                                    "1::2:",
                                    "1:2:3:4:5:6:7:8:9",
                                    "1:2:3:4:5:6:7",
                                    "::1.2.3.256",
                                    "::1.2.3",
                                    "1.2.3.4::",
                                    "::ffff:1.2.3.4",
                                    "[::1]",
                                    "0:0:0:0:0:0:0:0",
                                    "::0.0.0.0",
                                    "::0.0.1.2",
                                    "::1:2",
                                    "1:2:3:4:5:6:1.2.3.4",
                                    "1:2:3:4:5:6:7:1.2.3.4",
                                    "::ffff:0.0.0.0",
                                    "fe80::1",
                                    "FFFF::",
                                    "1::ffff:1.2.3.4",
                                    "0::",
                                    "::0",
                                    "00000::",
                                    "1:2:3:4:5:6::7"};
        snprintf(out, cap, "%s", bad[pick(r, sizeof(bad) / sizeof(bad[0]))]);
    } else if (mut == 7 && F.lax6 && o > 0) {
        char tmp[256];
        snprintf(tmp, sizeof(tmp), "0x%s", out);
        copy_trunc(out, cap, tmp);
    }
    if (!F.lax6) {
        /* libevent takes "1::2:" for "1::2": leave a lone trailing colon
         * out. */
        size_t l = strlen(out);
        if (l >= 2 && out[l - 1] == ':' && out[l - 2] != ':')
            out[l - 1] = '\0';
    }
    if (!F.lax4) {
        /* No leading zero in the octets of an IPv4 tail ("0.0.0.01"). */
        char *c = strrchr(out, ':'), *p;
        p = c ? c + 1 : out;
        if (strchr(p, '.'))
            for (; *p; p++)
                if ((p == out || p[-1] == '.' || p[-1] == ':') && p[0] == '0' &&
                    p[1] >= '0' && p[1] <= '9')
                    memmove(p, p + 1, strlen(p));
    }
    if (allow_zone && F.zone && pick(r, 4) == 0 &&
        (F.portquirks || strchr(out, ']') == NULL)) {
        static const char *zones[] = {"lo",
                                      "1",
                                      "0",
                                      "nosuchif",
                                      "eth0",
                                      "1x",
                                      "2",
                                      "%",
                                      "lo0",
                                      "4294967295",
                                      "x1",
                                      /* quirks: */ "",
                                      " 1",
                                      "+1",
                                      "4294967296",
                                      "99999999999"};
        size_t l = strlen(out);
        snprintf(out + l, cap - l, "%%%s",
                 zones[pick(r, F.zone_quirks ? 16 : 11)]);
    }
}

/* ------------------------------------------------------------------ */
/* evutil_inet_pton / _scope / ntop */

static void
pton_one(int af, const char *s, int scope)
{
    unsigned char dst[16];
    char a[64];
    unsigned idx = 12345;
    int ret;
    memset(dst, 0xaa, sizeof(dst));
    ret = scope ? evutil_inet_pton_scope(af, s, dst, &idx)
                : evutil_inet_pton(af, s, dst);
    DIFF_OUT("%s af=%d \"%s\" -> %d", scope ? "pton_scope" : "pton",
             af == AF_INET    ? 4
             : af == AF_INET6 ? 6
                              : af,
             escs(s), ret);
    if (ret == 1) {
        inet_ntop(af, dst, a, sizeof(a));
        DIFF_OUT(" %s", a);
    }
    if (scope && ret == 1)
        DIFF_OUT(" idx %u", idx);
    DIFF_OUT("\n");
    if (ret != 1 && F.failbuf) {
        DIFF_OUT("failbuf pton %016llx",
                 (unsigned long long)fnv(dst, sizeof(dst)));
        if (scope)
            DIFF_OUT(" idx %u", idx);
        DIFF_OUT("\n");
    }
    flush_log();
}

static void
op_pton(struct diff_rng *r)
{
    char s[160];
    int k = (int)pick(r, 10);
    if (k < 4) {
        gen_v4(r, s, sizeof(s));
        pton_one(pick(r, 6) ? AF_INET : AF_INET6, s, pick(r, 3) == 0);
    } else if (k < 9) {
        int scope = pick(r, 3) == 0;
        gen_v6(r, s, sizeof(s), scope);
        pton_one(pick(r, 8) ? AF_INET6 : AF_INET, s, scope);
    } else {
        gen_v4(r, s, sizeof(s));
        pton_one(pick(r, 2) ? AF_UNIX : 12345, s, pick(r, 2));
    }
}

/* Print "lo-hi=token" runs of equal tokens. */
static void
print_runs(const char *prefix, char toks[][200], size_t n)
{
    char line[12000];
    size_t o = 0, lo = 0, i;
    for (i = 1; i <= n; i++) {
        if (i == n || strcmp(toks[i], toks[lo]) != 0) {
            o += (size_t)snprintf(line + o, sizeof(line) - o, " %zu-%zu=%s", lo,
                                  i - 1, toks[lo]);
            lo = i;
        }
    }
    DIFF_OUT("%s%s\n", prefix, line);
}

static void
ntop_sizes(int af, const void *src)
{
    static char rets[49][200], bufs[49][200];
    char buf[80], full[80];
    size_t len, fulllen;
    fulllen = evutil_inet_ntop(af, src, full, sizeof(full)) ? strlen(full)
                                                            : (size_t)-1;
    for (len = 0; len <= 48; len++) {
        const char *ret;
        memset(buf, '~', sizeof(buf));
        ret = evutil_inet_ntop(af, src, buf, len);
        if (!F.ntop_exact && len == fulllen) {
            snprintf(rets[len], sizeof(rets[0]), "SKIP");
            snprintf(bufs[len], sizeof(bufs[0]), "SKIP");
            continue;
        }
        if (ret == NULL)
            snprintf(rets[len], sizeof(rets[0]), "NULL");
        else
            snprintf(rets[len], sizeof(rets[0]), "%s\"%s\"",
                     ret == buf ? "" : "other", esc(ret, strnlen(ret, len)));
        /* What a failed call left in dst: "untouched", or the bytes. */
        if (ret == NULL) {
            size_t k;
            for (k = 0; k < len && buf[k] == '~'; k++)
                ;
            if (k == len)
                snprintf(bufs[len], sizeof(bufs[0]), "untouched");
            else
                snprintf(bufs[len], sizeof(bufs[0]), "\"%s\"",
                         esc(buf, strnlen(buf, len) < len
                                      ? strnlen(buf, len) + 1
                                      : len));
        } else
            snprintf(bufs[len], sizeof(bufs[0]), "ok%s",
                     buf[len] == '~' ? "" : "+overrun");
    }
    print_runs("  ret", rets, 49);
    if (F.failbuf)
        print_runs("failbuf dst", bufs, 49);
    flush_log();
}

static void
op_ntop(struct diff_rng *r)
{
    unsigned char a[16];
    char hex[40];
    int i;
    if (pick(r, 3) == 0) {
        static const unsigned char fix[][4] = {{0, 0, 0, 0},
                                               {255, 255, 255, 255},
                                               {127, 0, 0, 1},
                                               {1, 22, 133, 4}};
        if (pick(r, 2))
            memcpy(a, fix[pick(r, 4)], 4);
        else
            for (i = 0; i < 4; i++)
                a[i] = (unsigned char)pick(r, 256);
        DIFF_OUT("ntop af=4 %u.%u.%u.%u\n", a[0], a[1], a[2], a[3]);
        ntop_sizes(AF_INET, a);
        return;
    }
    for (i = 0; i < 8; i++) {
        unsigned k = pick(r, 10), v;
        v = k < 5 ? 0 : k < 6 ? 1 : k < 7 ? 0xffff : pick(r, 65536);
        a[2 * i] = (unsigned char)(v >> 8);
        a[2 * i + 1] = (unsigned char)v;
    }
    if (pick(r, 4) == 0) {
        memset(a, 0, 10);
        a[10] = a[11] = pick(r, 2) ? 0xff : 0;
    }
    if (pick(r, 6) == 0) { /* no zero word at all: the longest form */
        for (i = 0; i < 16; i += 2)
            if (!a[i] && !a[i + 1])
                a[i] = (unsigned char)(0x10 + pick(r, 0xe0));
    }
    if (!F.ntop_v4compat) {
        /* ::/96 with one of the last two words zero: libevent prints
         * "::x:0", ours "::a.b.0.0".  Make both nonzero. */
        int z = 1;
        for (i = 0; i < 12; i++)
            z &= a[i] == 0;
        if (z && (!a[12] && !a[13]) != (!a[14] && !a[15])) {
            a[12] |= 1;
            a[14] |= 1;
        }
    }
    for (i = 0; i < 16; i++)
        sprintf(hex + 2 * i, "%02x", a[i]);
    DIFF_OUT("ntop af=6 %s\n", hex);
    ntop_sizes(AF_INET6, a);
    if (pick(r, 10) == 0) {
        char buf[64];
        const char *ret =
            evutil_inet_ntop(pick(r, 2) ? AF_UNIX : 12345, a, buf, sizeof(buf));
        DIFF_OUT("ntop badaf -> %s\n", ret ? "nonNULL" : "NULL");
        flush_log();
    }
}

/* ------------------------------------------------------------------ */
/* evutil_parse_sockaddr_port / evutil_sockaddr_cmp */

static void
parse_one(const char *s, int outlen)
{
    union {
        struct sockaddr_storage ss;
        unsigned char b[128];
    } u;
    int len = outlen, ret;
    memset(&u, 0xaa, sizeof(u));
    ret = evutil_parse_sockaddr_port(s, (struct sockaddr *)&u, &len);
    DIFF_OUT("parse \"%s\" outlen %d -> %d len %d", escs(s), outlen, ret, len);
    if (ret == 0)
        DIFF_OUT(" %s", sa_str((struct sockaddr *)&u, (size_t)len));
    DIFF_OUT("\n");
    if (ret == 0 || F.failbuf)
        DIFF_OUT("%s buf %016llx\n", ret == 0 ? " " : "failbuf",
                 (unsigned long long)fnv(&u, sizeof(u)));
    flush_log();
}

static void
gen_parse_str(struct diff_rng *r, char *s, size_t cap)
{
    /* No port past INT_MAX: libevent reads it with atoi(). */
    static const char *ports[] = {"0",   "1",    "80",         "65535", "65536",
                                  "-1",  "",     "abc",        "80x",   " 80",
                                  "+80", "0080", "2147483647", "8080",  "443"};
    char a[160];
    const char *port = ports[pick(r, F.portquirks ? 15 : 7)];
    if (!F.portquirks)
        port = (const char *[]){
            "0", "1", "80", "65535", "65536", "", "8080"}[pick(r, 7)];
    switch (pick(r, 9)) {
    case 0:
    case 1:
        gen_v4(r, a, sizeof(a));
        snprintf(s, cap, "%s:%s", a, port);
        break;
    case 2:
        gen_v4(r, a, sizeof(a));
        snprintf(s, cap, "%s", a);
        break;
    case 3:
    case 4:
        gen_v6(r, a, sizeof(a), 1);
        snprintf(s, cap, "[%s]:%s", a, port);
        break;
    case 5:
        gen_v6(r, a, sizeof(a), 1);
        snprintf(s, cap, "[%s]", a);
        break;
    case 6:
        gen_v6(r, a, sizeof(a), 1);
        snprintf(s, cap, "%s", a);
        break;
    case 7: {
        static const char *odd[] = {"[::1",
                                    "::1]",
                                    "[::1]:",
                                    "[]:80",
                                    "[]",
                                    ":80",
                                    "1.2.3.4:",
                                    "1.2.3.4:80:90",
                                    "[1.2.3.4]:80",
                                    "[[::1]]:80",
                                    "",
                                    "localhost:80",
                                    "1.2.3.4::80",
                                    "[::ffff:1.2.3.4]:65535",
                                    "[fe80::1%lo]:22"};
        snprintf(s, cap, "%s", odd[pick(r, sizeof(odd) / sizeof(odd[0]))]);
        break;
    }
    default:
        if (F.portquirks) {
            static const char *q[] = {
                "[::1]x",      "[::1]x:80",  "[::1] :80",    "1.2.3.4:80 ",
                "1.2.3.4: 80", "1.2.3.4:+1", "1.2.3.4:0x50", "[::1]:80:90",
                "[::1]:1x",    "[::1]]:80"};
            snprintf(s, cap, "%s", q[pick(r, 10)]);
        } else
            snprintf(s, cap, "1.2.3.4:80");
        break;
    }
}

static void
op_parse(struct diff_rng *r)
{
    static const int lens[] = {128, 128, 128, 0, 15, 16, 17, 27, 28, 29, 64};
    char s[256];
    gen_parse_str(r, s, sizeof(s));
    parse_one(s, lens[pick(r, 11)]);
}

static void
make_sa(struct diff_rng *r, struct sockaddr_storage *ss)
{
    static const char *pool4[] = {"0.0.0.0",   "1.2.3.4",   "1.2.3.5",
                                  "255.0.0.0", "0.0.0.255", "127.0.0.1"};
    static const char *pool6[] = {
        "::", "::1", "::2", "1::", "ff00::", "fe80::1", "::ffff:1.2.3.4"};
    static const unsigned ports[] = {0, 1, 80, 256, 65535, 32768};
    unsigned k = pick(r, 9);
    memset(ss, 0, sizeof(*ss));
    if (k < 4) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        inet_pton(AF_INET, pool4[pick(r, 6)], &s4->sin_addr);
        s4->sin_port = htons((uint16_t)ports[pick(r, 6)]);
    } else if (k < 8) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, pool6[pick(r, 7)], &s6->sin6_addr);
        s6->sin6_port = htons((uint16_t)ports[pick(r, 6)]);
        s6->sin6_scope_id = pick(r, 3);
        s6->sin6_flowinfo = pick(r, 3);
    } else {
        struct sockaddr_un *su = (struct sockaddr_un *)ss;
        su->sun_family = AF_UNIX;
        snprintf(su->sun_path, sizeof(su->sun_path), "/tmp/x%u", pick(r, 2));
    }
}

static void
op_sacmp(struct diff_rng *r)
{
    struct sockaddr_storage a, b;
    int inc = (int)pick(r, 2), v;
    make_sa(r, &a);
    if (pick(r, 3) == 0)
        memcpy(&b, &a, sizeof(b));
    else
        make_sa(r, &b);
    v = evutil_sockaddr_cmp((struct sockaddr *)&a, (struct sockaddr *)&b, inc);
    DIFF_OUT("sacmp %s | %s | port %d sign %d\n",
             sa_str((struct sockaddr *)&a, sizeof(a)),
             sa_str((struct sockaddr *)&b, sizeof(b)), inc, sign_of(v));
    DIFF_OUT("raw  value %d\n", v);
    flush_log();
}

/* ------------------------------------------------------------------ */
/* evutil_getaddrinfo */

static const char *
gai_flags_str(int f)
{
    static char buf[128];
    size_t o = 0;
    buf[0] = '\0';
#define FL(x, n)                                                               \
    if (f & (x)) {                                                             \
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", o ? "|" : "",  \
                              n);                                              \
        f &= ~(x);                                                             \
    }
    FL(EVUTIL_AI_PASSIVE, "PASSIVE")
    FL(EVUTIL_AI_CANONNAME, "CANON")
    FL(EVUTIL_AI_NUMERICHOST, "NUMHOST")
    FL(EVUTIL_AI_NUMERICSERV, "NUMSERV")
    FL(EVUTIL_AI_V4MAPPED, "V4MAPPED")
    FL(EVUTIL_AI_ALL, "ALL")
    FL(EVUTIL_AI_ADDRCONFIG, "ADDRCONFIG")
#undef FL
    if (f)
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s0x%x", o ? "|" : "",
                              (unsigned)f);
    if (!o)
        snprintf(buf, sizeof(buf), "0");
    return buf;
}

static void
gai_one(const char *node, const char *serv, int use_hints, int family,
        int socktype, int protocol, int flags)
{
    struct evutil_addrinfo hints, *res = NULL, *ai;
    int ret, n = 0;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = family;
    hints.ai_socktype = socktype;
    hints.ai_protocol = protocol;
    hints.ai_flags = flags;
    ret = evutil_getaddrinfo(node, serv, use_hints ? &hints : NULL, &res);
    if (use_hints)
        DIFF_OUT("gai node=%s serv=%s fam=%d st=%d proto=%d flags=%s -> %d "
                 "\"%s\"\n",
                 node ? escs(node) : "NULL", serv ? escs(serv) : "NULL", family,
                 socktype, protocol, gai_flags_str(flags), ret,
                 evutil_gai_strerror(ret));
    else
        DIFF_OUT("gai node=%s serv=%s hints=NULL -> %d \"%s\"\n",
                 node ? escs(node) : "NULL", serv ? escs(serv) : "NULL", ret,
                 evutil_gai_strerror(ret));
    if (ret == 0) {
        for (ai = res; ai && n < 64; ai = ai->ai_next, n++) {
            DIFF_OUT("  ai fam=%d st=%d proto=%d addrlen=%u %s canon=%s\n",
                     ai->ai_family, ai->ai_socktype, ai->ai_protocol,
                     (unsigned)ai->ai_addrlen,
                     ai->ai_addr ? sa_str(ai->ai_addr, ai->ai_addrlen)
                                 : "noaddr",
                     ai->ai_canonname ? escs(ai->ai_canonname) : "NULL");
            if (F.gai_flags)
                DIFF_OUT("aiflags %s\n", gai_flags_str(ai->ai_flags));
        }
        if (res)
            evutil_freeaddrinfo(res);
    }
    flush_log();
}

/* Nodes: 1 = a valid literal of that family. */
static const struct {
    const char *node;
    int fam; /* AF_INET, AF_INET6, or 0: not a plain literal */
} gai_nodes[] = {
    {"127.0.0.1", AF_INET},
    {"1.2.3.4", AF_INET},
    {"0.0.0.0", AF_INET},
    {"255.255.255.255", AF_INET},
    {"::1", AF_INET6},
    {"::", AF_INET6},
    {"2001:db8::17", AF_INET6},
    {"::ffff:1.2.3.4", AF_INET6},
    {"fe80::1%lo", AF_INET6},
    {"fe80::1%1", AF_INET6},
    {"1.2.3", 0},
    {"256.1.1.1", 0},
    {"abc", 0},
    {"", 0},
    {" 1.2.3.4", 0},
    {"0x7f.0.0.1", 0},
    {"1.2.3.4 ", 0},
    {"[::1]", 0},
    {"::1%nosuchif", 0},
    {"127.1", 0},
    {"01.02.03.04", 0},
    {"1:2:3:4:5:6:7:8", AF_INET6},
};

static void
op_gai(struct diff_rng *r)
{
    static const char *servs[] = {
        NULL, NULL,   "0",      "80",  "65535",           "65536",
        "-1", "http", "domain", "ssh", "no-such-service", "80x",
        "",   " 80",  "0x50",   "8080"};
    static const int fams[] = {AF_UNSPEC, AF_UNSPEC, AF_INET,
                               AF_INET6,  AF_UNSPEC, AF_INET,
                               AF_INET6,  AF_UNIX,   99};
    static const int sts[] = {
        0,           0,          SOCK_STREAM, SOCK_DGRAM,     0,
        SOCK_STREAM, SOCK_DGRAM, SOCK_RAW,    SOCK_SEQPACKET, 99};
    static const int protos[] = {
        0, 0, 0, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, 99, IPPROTO_RAW};
    static const int flagbits[] = {EVUTIL_AI_PASSIVE,     EVUTIL_AI_CANONNAME,
                                   EVUTIL_AI_NUMERICSERV, EVUTIL_AI_ADDRCONFIG,
                                   EVUTIL_AI_V4MAPPED,    EVUTIL_AI_ALL,
                                   EVUTIL_AI_NUMERICHOST};
    const char *node = NULL, *serv;
    int nodefam = 0, fam, st = 0, proto = 0, flags = 0, i;
    unsigned k;

    if (pick(r, 4) != 0) {
        k = pick(r, sizeof(gai_nodes) / sizeof(gai_nodes[0]));
        node = gai_nodes[k].node;
        nodefam = gai_nodes[k].fam;
    }
    serv = servs[pick(r, 16)];
    fam = fams[pick(r, F.gai_odd ? 9 : 7)];
    if (F.gai_odd && pick(r, 2)) {
        st = sts[pick(r, 10)];
        proto = protos[pick(r, 8)];
    } else {
        st = sts[pick(r, 4)];
        if (pick(r, 3) == 0)
            proto = st == SOCK_DGRAM    ? IPPROTO_UDP
                    : st == SOCK_STREAM ? IPPROTO_TCP
                                        : protos[pick(r, 5)];
    }
    for (i = 0; i < 7; i++)
        if (pick(r, 4) == 0)
            flags |= flagbits[i];
    /* Never let a name be resolved: AI_NUMERICHOST unless the node is a
     * literal the system resolver parses for that family. */
    if (node && !(nodefam && (fam == AF_UNSPEC || fam == nodefam)))
        flags |= EVUTIL_AI_NUMERICHOST;
    if (node && nodefam == AF_INET6 && strchr(node, '%') == NULL &&
        fam == AF_UNSPEC && pick(r, 2))
        flags |= EVUTIL_AI_NUMERICHOST;
    if (pick(r, 30) == 0 && (flags & EVUTIL_AI_NUMERICHOST))
        gai_one(node, serv, 0, 0, 0, 0, 0);
    else
        gai_one(node, serv, 1, fam, st, proto, flags);
}

static void
table_gai(void)
{
    static const int codes[] = {0,
                                EVUTIL_EAI_ADDRFAMILY,
                                EVUTIL_EAI_AGAIN,
                                EVUTIL_EAI_BADFLAGS,
                                EVUTIL_EAI_FAIL,
                                EVUTIL_EAI_FAMILY,
                                EVUTIL_EAI_MEMORY,
                                EVUTIL_EAI_NODATA,
                                EVUTIL_EAI_NONAME,
                                EVUTIL_EAI_SERVICE,
                                EVUTIL_EAI_SOCKTYPE,
                                EVUTIL_EAI_SYSTEM,
                                EVUTIL_EAI_CANCEL,
                                -90002,
                                12345,
                                -12345};
    size_t i;
    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        DIFF_OUT("gai_strerror %d \"%s\"\n", codes[i],
                 evutil_gai_strerror(codes[i]));
    DIFF_OUT("gai consts passive %d canon %d numhost %d numserv %d v4mapped "
             "%d all %d addrconfig %d\n",
             EVUTIL_AI_PASSIVE, EVUTIL_AI_CANONNAME, EVUTIL_AI_NUMERICHOST,
             EVUTIL_AI_NUMERICSERV, EVUTIL_AI_V4MAPPED, EVUTIL_AI_ALL,
             EVUTIL_AI_ADDRCONFIG);
    /* The classic uses. */
    gai_one(NULL, "8080", 1, AF_UNSPEC, SOCK_STREAM, 0, EVUTIL_AI_PASSIVE);
    gai_one(NULL, "8080", 1, AF_INET, SOCK_STREAM, 0, EVUTIL_AI_PASSIVE);
    gai_one(NULL, "8080", 1, AF_INET6, 0, 0, EVUTIL_AI_PASSIVE);
    gai_one(NULL, "53", 1, AF_UNSPEC, 0, 0, 0);
    gai_one(NULL, NULL, 1, AF_UNSPEC, 0, 0, EVUTIL_AI_PASSIVE);
    gai_one(NULL, "http", 1, AF_UNSPEC, SOCK_STREAM, 0, EVUTIL_AI_PASSIVE);
    gai_one(NULL, "http", 1, AF_UNSPEC, SOCK_STREAM, 0,
            EVUTIL_AI_PASSIVE | EVUTIL_AI_NUMERICSERV);
    gai_one("127.0.0.1", "80", 1, AF_UNSPEC, SOCK_STREAM, IPPROTO_TCP,
            EVUTIL_AI_NUMERICHOST);
    gai_one("127.0.0.1", NULL, 1, AF_INET, 0, 0, EVUTIL_AI_NUMERICHOST);
    gai_one("::1", "443", 1, AF_UNSPEC, SOCK_DGRAM, 0,
            EVUTIL_AI_NUMERICHOST | EVUTIL_AI_CANONNAME);
    gai_one("1.2.3.4", "80", 1, AF_INET6, SOCK_STREAM, 0,
            EVUTIL_AI_NUMERICHOST | EVUTIL_AI_V4MAPPED);
    gai_one("1.2.3.4", "80", 0, 0, 0, 0, 0);
    gai_one("fe80::1%lo", "1", 1, AF_UNSPEC, SOCK_STREAM, 0, 0);
    gai_one("1.2.3.4", "80", 1, AF_INET, SOCK_STREAM, 0, EVUTIL_AI_ADDRCONFIG);
    gai_one(NULL, "80", 1, AF_UNSPEC, SOCK_STREAM, 0,
            EVUTIL_AI_PASSIVE | EVUTIL_AI_CANONNAME);
}

/* ------------------------------------------------------------------ */
/* Sockets: evutil_socketpair and the option helpers */

static void
fd_flags_str(int fd, char *out, size_t cap)
{
    int fl = fcntl(fd, F_GETFL), fd_fl = fcntl(fd, F_GETFD);
    snprintf(out, cap, "nb=%d cloexec=%d", fl >= 0 && (fl & O_NONBLOCK),
             fd_fl >= 0 && (fd_fl & FD_CLOEXEC));
}

static void
socketpair_one(int fam, int type, int proto, const char *name)
{
    evutil_socket_t sv[2] = {-1, -1};
    int ret, e;
    errno = 0;
    ret = evutil_socketpair(fam, type, proto, sv);
    e = errno;
    DIFF_OUT("socketpair %s -> %d", name, ret);
    if (ret == 0) {
        char f0[64], f1[64], buf[8] = "";
        ssize_t w, rd;
        fd_flags_str(sv[0], f0, sizeof(f0));
        fd_flags_str(sv[1], f1, sizeof(f1));
        w = write(sv[0], "ab", 2);
        rd = read(sv[1], buf, sizeof(buf));
        DIFF_OUT(" fds %s differ %d [%s] [%s] write %zd read %zd \"%s\"",
                 sv[0] >= 0 && sv[1] >= 0 ? "valid" : "invalid", sv[0] != sv[1],
                 f0, f1, w, rd, esc(buf, rd > 0 ? (size_t)rd : 0));
        DIFF_OUT(" close %d %d", evutil_closesocket(sv[0]),
                 evutil_closesocket(sv[1]));
    } else {
        DIFF_OUT(" errno %d untouched %d", e, sv[0] == -1 && sv[1] == -1);
    }
    DIFF_OUT("\n");
    flush_log();
}

/* Kinds of fd for the option helpers. */
enum { K_UNIX, K_TCP4, K_TCP6, K_UDP4, K_PIPE, K_DEVNULL, K_CLOSED, K_N };
static const char *kind_names[] = {"unix", "tcp4",    "tcp6",  "udp4",
                                   "pipe", "devnull", "closed"};

static int
make_kind(int k, int *extra)
{
    int fd = -1, sv[2], p[2];
    *extra = -1;
    switch (k) {
    case K_UNIX:
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) {
            fd = sv[0];
            *extra = sv[1];
        }
        break;
    case K_TCP4:
        fd = socket(AF_INET, SOCK_STREAM, 0);
        break;
    case K_TCP6:
        fd = socket(AF_INET6, SOCK_STREAM, 0);
        break;
    case K_UDP4:
        fd = socket(AF_INET, SOCK_DGRAM, 0);
        break;
    case K_PIPE:
        if (pipe(p) == 0) {
            fd = p[0];
            *extra = p[1];
        }
        break;
    case K_DEVNULL:
        fd = open("/dev/null", O_RDONLY);
        break;
    case K_CLOSED:
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd >= 0)
            close(fd);
        break;
    }
    return fd;
}

static void
opt_val(int fd, int level, int name, char *out, size_t cap)
{
    int v = -7;
    socklen_t l = sizeof(v);
    if (getsockopt(fd, level, name, &v, &l) < 0)
        snprintf(out, cap, "err%d", errno);
    else
        snprintf(out, cap, "%d", v);
}

static void
observe(int fd, int which, char *out, size_t cap)
{
    int fl;
    switch (which) {
    case 0:
        fl = fcntl(fd, F_GETFL);
        snprintf(out, cap, fl < 0 ? "err%d" : "%d",
                 fl < 0 ? errno : !!(fl & O_NONBLOCK));
        break;
    case 1:
        fl = fcntl(fd, F_GETFD);
        snprintf(out, cap, fl < 0 ? "err%d" : "%d",
                 fl < 0 ? errno : !!(fl & FD_CLOEXEC));
        break;
    case 2:
        opt_val(fd, SOL_SOCKET, SO_REUSEADDR, out, cap);
        break;
    case 3:
        opt_val(fd, SOL_SOCKET, SO_REUSEPORT, out, cap);
        break;
    case 4:
        opt_val(fd, IPPROTO_IPV6, IPV6_V6ONLY, out, cap);
        break;
    default:
        opt_val(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, out, cap);
        break;
    }
}

static int
call_helper(int which, int fd)
{
    switch (which) {
    case 0:
        return evutil_make_socket_nonblocking(fd);
    case 1:
        return evutil_make_socket_closeonexec(fd);
    case 2:
        return evutil_make_listen_socket_reuseable(fd);
    case 3:
        return evutil_make_listen_socket_reuseable_port(fd);
    case 4:
        return evutil_make_listen_socket_ipv6only(fd);
    default:
        return evutil_make_tcp_listen_socket_deferred(fd);
    }
}

static void
table_sockets(void)
{
    static const char *hn[] = {"nonblocking",    "closeonexec", "reuseable",
                               "reuseable_port", "ipv6only",    "deferred"};
    int k, h;
    socketpair_one(AF_UNIX, SOCK_STREAM, 0, "unix-stream");
    socketpair_one(AF_UNIX, SOCK_DGRAM, 0, "unix-dgram");
    socketpair_one(AF_UNIX, SOCK_SEQPACKET, 0, "unix-seqpacket");
    socketpair_one(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, "unix-nonblock");
    socketpair_one(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, "unix-cloexec");
    socketpair_one(AF_UNIX, SOCK_STREAM, IPPROTO_TCP, "unix-tcpproto");
    socketpair_one(AF_UNIX, 99, 0, "unix-type99");
    if (F.sockpair_inet) {
        socketpair_one(AF_INET, SOCK_STREAM, 0, "inet-stream");
        socketpair_one(AF_INET6, SOCK_STREAM, 0, "inet6-stream");
        socketpair_one(AF_INET, SOCK_DGRAM, 0, "inet-dgram");
    }
    if (!F.sockopts)
        return;
    for (k = 0; k < K_N; k++) {
        for (h = 0; h < 6; h++) {
            int extra, fd = make_kind(k, &extra), ret1, e1, ret2, e2;
            char before[32], after[32];
            if (fd < 0 && k != K_CLOSED) {
                DIFF_OUT("sockopt %s %s unavailable\n", kind_names[k], hn[h]);
                continue;
            }
            observe(fd, h, before, sizeof(before));
            errno = 0;
            ret1 = call_helper(h, fd);
            e1 = errno;
            observe(fd, h, after, sizeof(after));
            DIFF_OUT("sockopt %s %s before %s -> %d after %s\n", kind_names[k],
                     hn[h], before, ret1, after);
            if (ret1 < 0)
                DIFF_OUT("  errno %d\n", e1);
            flush_log();
            errno = 0;
            ret2 = call_helper(h, fd);
            e2 = errno;
            observe(fd, h, after, sizeof(after));
            DIFF_OUT("  again -> %d after %s\n", ret2, after);
            if (ret2 < 0)
                DIFF_OUT("  errno %d\n", e2);
            flush_log();
            if (k != K_CLOSED)
                DIFF_OUT("  close %d\n", evutil_closesocket(fd));
            if (extra >= 0)
                close(extra);
        }
    }
    {
        int extra, fd = make_kind(K_CLOSED, &extra), ret;
        errno = 0;
        ret = evutil_closesocket(fd);
        DIFF_OUT("closesocket closed -> %d errno %d\n", ret, errno);
        flush_log();
    }
    DIFF_OUT("socket_error_to_string %s | %s | %s\n",
             evutil_socket_error_to_string(EAGAIN),
             evutil_socket_error_to_string(ECONNRESET),
             evutil_socket_error_to_string(0));
}

/* ------------------------------------------------------------------ */
/* evutil_date_rfc1123, timer macros, monotonic timer */

static void
op_date(struct diff_rng *r)
{
    struct tm tm;
    char buf[64], line[4096];
    size_t n, o = 0;
    int full;
    memset(&tm, 0, sizeof(tm));
    tm.tm_wday = (int)pick(r, 7);
    tm.tm_mon = (int)pick(r, 12);
    tm.tm_mday = (int)pick(r, 32);
    tm.tm_year = pick(r, 4) ? (int)pick(r, 200) : (int)pick(r, 20000) - 1900;
    tm.tm_hour = (int)pick(r, 24);
    tm.tm_min = (int)pick(r, 60);
    tm.tm_sec = (int)pick(r, 61);
    memset(buf, '~', sizeof(buf));
    full = evutil_date_rfc1123(buf, sizeof(buf), &tm);
    DIFF_OUT("date wday %d mon %d mday %d year %d %02d:%02d:%02d -> %d "
             "\"%s\"\n",
             tm.tm_wday, tm.tm_mon, tm.tm_mday, tm.tm_year, tm.tm_hour,
             tm.tm_min, tm.tm_sec, full, escs(buf));
    for (n = F.snprintf0 ? 0 : 1; n < 40; n += 1 + pick(r, 5)) {
        int ret;
        memset(buf, '~', sizeof(buf));
        ret = evutil_date_rfc1123(buf, n, &tm);
        o += (size_t)snprintf(line + o, sizeof(line) - o, " %zu:%d:\"%s\"", n,
                              ret, esc(buf, n + 1));
    }
    DIFF_OUT("  sizes%s\n", line);
    flush_log();
}

static void
op_timers(struct diff_rng *r)
{
    struct timeval a, b, c, d;
    a.tv_sec = (time_t)pick(r, 5);
    a.tv_usec = (suseconds_t)pick(r, 1000000);
    b.tv_sec = (time_t)pick(r, 5);
    b.tv_usec = pick(r, 3) ? (suseconds_t)pick(r, 1000000) : a.tv_usec;
    evutil_timeradd(&a, &b, &c);
    evutil_timersub(&a, &b, &d);
    DIFF_OUT("timer %ld.%06ld %ld.%06ld add %ld.%06ld sub %ld.%06ld lt %d le "
             "%d eq %d ge %d gt %d ne %d",
             (long)a.tv_sec, (long)a.tv_usec, (long)b.tv_sec, (long)b.tv_usec,
             (long)c.tv_sec, (long)c.tv_usec, (long)d.tv_sec, (long)d.tv_usec,
             evutil_timercmp(&a, &b, <), evutil_timercmp(&a, &b, <=),
             evutil_timercmp(&a, &b, ==), evutil_timercmp(&a, &b, >=),
             evutil_timercmp(&a, &b, >), evutil_timercmp(&a, &b, !=));
    DIFF_OUT(" isset %d", evutil_timerisset(&a));
    evutil_timerclear(&a);
    DIFF_OUT(" cleared %d\n", evutil_timerisset(&a));
}

static void
table_monotonic(void)
{
    static const int flags[] = {0, EV_MONOT_PRECISE, EV_MONOT_FALLBACK,
                                EV_MONOT_PRECISE | EV_MONOT_FALLBACK};
    int i;
    for (i = 0; i < 4; i++) {
        struct evutil_monotonic_timer *t = evutil_monotonic_timer_new();
        struct timeval tv = {-5, -5};
        int c, g;
        if (!t) {
            DIFF_OUT("monotonic new NULL\n");
            continue;
        }
        c = evutil_configure_monotonic_time(t, flags[i]);
        g = evutil_gettime_monotonic(t, &tv);
        DIFF_OUT("monotonic flags %d configure %d gettime %d set %d\n",
                 flags[i], c, g,
                 tv.tv_sec >= 0 && tv.tv_usec >= 0 && tv.tv_usec < 1000000);
        evutil_monotonic_timer_free(t);
        flush_log();
    }
}

/* ------------------------------------------------------------------ */
/* Event base: versions, methods, configurations */

static int
skip_method(const char *m)
{
    return !F.uring && strncmp(m, "io_uring", 8) == 0;
}

static void
table_version(void)
{
    const char **m;
    int i;
    DIFF_OUT("version \"%s\" number 0x%08x header 0x%08x \"%s\"\n",
             event_get_version(), (unsigned)event_get_version_number(),
             (unsigned)LIBEVENT_VERSION_NUMBER, LIBEVENT_VERSION);
    DIFF_OUT("struct event size %zu\n", event_get_struct_event_size());
    m = event_get_supported_methods();
    DIFF_OUT("methods");
    for (i = 0; m && m[i]; i++)
        if (!skip_method(m[i]))
            DIFF_OUT(" %s", m[i]);
    DIFF_OUT("\n");
    m = event_get_supported_methods();
    DIFF_OUT("methods again");
    for (i = 0; m && m[i]; i++)
        if (!skip_method(m[i]))
            DIFF_OUT(" %s", m[i]);
    DIFF_OUT("\n");
    flush_log();
}

/* Leave out both of ours that libevent lacks. */
static void
avoid_urings(struct event_config *cfg)
{
    event_config_avoid_method(cfg, "io_uring");
    event_config_avoid_method(cfg, "io_uring_poll");
}

static const char *method_names[] = {"epoll",  "poll",  "select", "io_uring",
                                     "kqueue", "bogus", "EPOLL",  ""};

static void
describe_base(struct event_base *b, const char *what)
{
    if (!b) {
        DIFF_OUT("%s -> NULL\n", what);
        return;
    }
    DIFF_OUT("%s -> method %s features 0x%x npri %d\n", what,
             F.uring ? event_base_get_method(b)
                     : diff_method(event_base_get_method(b)),
             event_base_get_features(b),
             event_base_get_npriorities(b));
}

/* A configuration for the fixed tables: io_uring left out unless
 * --uring differences are wanted. */
static struct event_config *
uring_config(void)
{
    struct event_config *cfg = event_config_new();
    if (!F.uring)
        avoid_urings(cfg);
    return cfg;
}

/* Make a base from cfg, print what came of it, free both. */
static void
try_config(struct event_config *cfg, const char *what)
{
    struct event_base *b = event_base_new_with_config(cfg);
    describe_base(b, what);
    flush_log();
    if (b)
        event_base_free(b);
    event_config_free(cfg);
}

/* Random configuration; prints what it did.  *ok tells whether it is worth
 * a base. */
static struct event_config *
random_config(struct diff_rng *r, char *desc, size_t cap, int with_dispatch)
{
    static const int flagv[] = {EVENT_BASE_FLAG_NOLOCK,
                                EVENT_BASE_FLAG_IGNORE_ENV,
                                EVENT_BASE_FLAG_STARTUP_IOCP,
                                EVENT_BASE_FLAG_NO_CACHE_TIME,
                                EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST,
                                EVENT_BASE_FLAG_PRECISE_TIMER,
                                0x100,
                                0x40000000};
    struct event_config *cfg = event_config_new();
    size_t o = 0;
    int i, n;
    desc[0] = '\0';
    if (!cfg) {
        snprintf(desc, cap, "config_new NULL");
        return NULL;
    }
    n = (int)pick(r, 4);
    for (i = 0; i < n; i++) {
        const char *m = method_names[pick(r, 8)];
        int ret;
        if (!F.uring && strcmp(m, "io_uring") == 0)
            continue;
        ret = event_config_avoid_method(cfg, m);
        o += (size_t)snprintf(desc + o, cap - o, " avoid(%s)=%d", m, ret);
    }
    if (!F.uring)
        avoid_urings(cfg);
    if (pick(r, 2)) {
        int feat = (int)pick(r, 16), ret;
        if (pick(r, 8) == 0)
            feat |= 0x10 << pick(r, 3);
        ret = event_config_require_features(cfg, feat);
        o +=
            (size_t)snprintf(desc + o, cap - o, " require(0x%x)=%d", feat, ret);
    }
    n = (int)pick(r, 3);
    for (i = 0; i < n; i++) {
        int f = flagv[pick(r, F.cfgflag_bogus ? 8 : 6)], ret;
        ret = event_config_set_flag(cfg, f);
        o += (size_t)snprintf(desc + o, cap - o, " flag(0x%x)=%d", f, ret);
    }
    if (pick(r, 4) == 0) {
        int c = (int)pick(r, 6) - 1,
            ret = event_config_set_num_cpus_hint(cfg, c);
        o += (size_t)snprintf(desc + o, cap - o, " cpus(%d)=%d", c, ret);
    }
    if (with_dispatch && pick(r, 4) == 0) {
        static const struct timeval tvs[] = {{0, 0}, {3600, 0}, {0, 1}};
        int k = (int)pick(r, 4), mc = (int)pick(r, 5) - 2,
            mp = (int)pick(r, 5) - 2;
        int ret = event_config_set_max_dispatch_interval(
            cfg, k == 3 ? NULL : &tvs[k], mc, mp);
        o += (size_t)snprintf(desc + o, cap - o, " maxdispatch(%d,%d,%d)=%d", k,
                              mc, mp, ret);
    }
    if (!o)
        snprintf(desc, cap, " (empty)");
    return cfg;
}

static void
op_config(struct diff_rng *r)
{
    char desc[1024];
    struct event_config *cfg = random_config(r, desc, sizeof(desc), 1);
    struct event_base *b;
    if (!cfg) {
        DIFF_OUT("config%s\n", desc);
        return;
    }
    flush_log();
    b = event_base_new_with_config(cfg);
    DIFF_OUT("config%s\n", desc);
    describe_base(b, "  base");
    flush_log();
    if (b)
        event_base_free(b);
    event_config_free(cfg);
    flush_log();
}

static void
table_config(void)
{
    struct event_base *b;
    struct event_config *cfg;
    static const int feats[] = {0,
                                EV_FEATURE_ET,
                                EV_FEATURE_O1,
                                EV_FEATURE_FDS,
                                EV_FEATURE_EARLY_CLOSE,
                                EV_FEATURE_ET | EV_FEATURE_FDS,
                                EV_FEATURE_O1 | EV_FEATURE_FDS,
                                0xf};
    size_t i;

    b = event_base_new();
    describe_base(b, "base_new");
    flush_log();
    if (b)
        event_base_free(b);
    b = event_base_new_with_config(NULL);
    describe_base(b, "new_with_config(NULL)");
    flush_log();
    if (b)
        event_base_free(b);
    cfg = event_config_new();
    b = event_base_new_with_config(cfg);
    describe_base(b, "new_with_config(empty)");
    flush_log();
    if (b)
        event_base_free(b);
    event_config_free(cfg);

    for (i = 0; i < sizeof(feats) / sizeof(feats[0]); i++) {
        char what[64];
        cfg = uring_config();
        snprintf(what, sizeof(what), "require 0x%x =%d", feats[i],
                 event_config_require_features(cfg, feats[i]));
        try_config(cfg, what);
    }
    for (i = 0; i < 8; i++) {
        int j;
        char what[128];
        size_t o;
        cfg = uring_config();
        o = (size_t)snprintf(what, sizeof(what), "avoid");
        for (j = 0; j < 3; j++)
            if (i & (1u << j))
                o += (size_t)snprintf(
                    what + o, sizeof(what) - o, " %s=%d", method_names[j],
                    event_config_avoid_method(cfg, method_names[j]));
        try_config(cfg, what);
    }
    /* Every flag alone. */
    for (i = 0; i < 8; i++) {
        static const int fl[] = {EVENT_BASE_FLAG_NOLOCK,
                                 EVENT_BASE_FLAG_IGNORE_ENV,
                                 EVENT_BASE_FLAG_STARTUP_IOCP,
                                 EVENT_BASE_FLAG_NO_CACHE_TIME,
                                 EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST,
                                 EVENT_BASE_FLAG_PRECISE_TIMER,
                                 0x100,
                                 0x7fffffff};
        char what[64];
        if (i >= 6 && !F.cfgflag_bogus)
            break;
        cfg = uring_config();
        snprintf(what, sizeof(what), "flag 0x%x =%d", fl[i],
                 event_config_set_flag(cfg, fl[i]));
        try_config(cfg, what);
    }
}

/* ------------------------------------------------------------------ */
/* Event base scripts */

#define MAXEV 12
/* A loop can run forever in libevent too (an always-writable persistent
 * event starves lower priorities): a persistent event deletes itself in its
 * third callback of a pass, and as a safety net a pass stops after
 * PASS_CAP callbacks (what then ran depends on the order: "order" lines). */
#define PASS_CAP 200

struct bstate {
    struct event_base *base;
    int npri;
    struct event *ev[MAXEV];
    int kind[MAXEV]; /* 0 none, 1 event_new, 2 assigned in malloc */
    int self[MAXEV]; /* argument is event_self_cbarg() */
    int fdk[MAXEV];  /* 0: -1, 1: sp0, 2: sp1, 3: signal */
    short events[MAXEV];
    int once_pri[64]; /* priorities of once events not yet run */
    int once_live[64];
    int nonce;
    int sp[2];
    const struct timeval *ct[24];
    int ct_zero[24]; /* duration <= 0 */
    int ct_long[24]; /* an hour or more: never fires */
    int nct;
    /* per-pass records */
    char rec[PASS_CAP + 80][160];
    int nrec;
    int incb_action;      /* what the first callback of a pass does */
    int chain[MAXEV];     /* the event a callback activates, or -1 */
    int et_mode;          /* I/O events on sp1 are all EV_ET */
    int act[MAXEV];       /* event_active since the last full pass */
    int had_tv[MAXEV];    /* was added with a timeout once */
    int all_maybe_active; /* the last pass stopped early */
    int chain_left;
    int cb_in_pass;
    int runs[MAXEV]; /* callbacks of each event in this pass */
};

static struct bstate *B;
static int argslot[MAXEV];
static int onceslot[64];

static int
ev_index(const struct event *ev)
{
    int i;
    for (i = 0; i < MAXEV; i++)
        if (B->kind[i] && B->ev[i] == ev)
            return i;
    return -1;
}

static void add_rec(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
add_rec(const char *fmt, ...)
{
    va_list ap;
    if (B->nrec >= PASS_CAP + 80)
        return;
    va_start(ap, fmt);
    vsnprintf(B->rec[B->nrec++], sizeof(B->rec[0]), fmt, ap);
    va_end(ap);
}

static const char *
fd_name(int fdk)
{
    return (const char *[]){"-1", "sp0", "sp1", "sig"}[fdk];
}

static int
max_live_pri(void)
{
    int i, m = -1;
    for (i = 0; i < MAXEV; i++)
        if (B->kind[i]) {
            int p = event_get_priority(B->ev[i]);
            if (p > m)
                m = p;
        }
    for (i = 0; i < B->nonce; i++)
        if (B->once_live[i] && B->once_pri[i] > m)
            m = B->once_pri[i];
    return m;
}

static void
in_callback_actions(void)
{
    int a = B->incb_action, n, r1, r2, r3;
    if (!F.incb || a == 0)
        return;
    n = event_base_get_npriorities(B->base);
    r1 = event_base_priority_init(B->base, n);
    r2 = event_base_priority_init(B->base, a == 1 ? 0 : 256);
    add_rec("  incb npri %d same %d bad %d", n, r1, r2);
    if (a == 2) {
        int act = event_base_get_num_events(B->base, EVENT_BASE_COUNT_ACTIVE);
        /* Only while something else is active: with nothing active,
         * libevent would free the queue its loop is walking. */
        if (act > 0) {
            r3 = event_base_priority_init(B->base, n + 1 < 256 ? n + 1 : 1);
            add_rec("  incb active %d other %d", act, r3);
        } else
            add_rec("  incb active %d", act);
    }
}

static void
cap_pass(void)
{
    if (B->cb_in_pass == PASS_CAP) {
        add_rec("~break %d", event_base_loopbreak(B->base));
    }
}

static void
ev_cb(evutil_socket_t fd, short what, void *arg)
{
    int i = -1, self = 0;
    struct event *running = event_base_get_running_event(B->base);
    (void)fd;
    if (arg >= (void *)&argslot[0] && arg < (void *)&argslot[MAXEV])
        i = (int)((int *)arg - argslot);
    else {
        i = ev_index(arg);
        self = 1;
    }
    if (i >= 0 && B->kind[i] && (B->events[i] & EV_READ) && B->fdk[i] &&
        B->fdk[i] < 3) {
        char buf[64];
        while (read(B->sp[B->fdk[i] - 1], buf, sizeof(buf)) > 0)
            ;
    }
    if (i >= 0 && B->kind[i] && (B->events[i] & EV_PERSIST) &&
        ++B->runs[i] == 3) {
        int d = event_del(B->ev[i]);
        add_rec("cb ev%d what 0x%x self %d running %d pri %d selfdel %d", i,
                what, self, running == B->ev[i], event_get_priority(B->ev[i]),
                d);
    } else
        add_rec("cb ev%d what 0x%x self %d running %d pri %d", i, what, self,
                i >= 0 && running == B->ev[i],
                i >= 0 ? event_get_priority(B->ev[i]) : -9);
    if (B->cb_in_pass++ == 0)
        in_callback_actions();
    if (i >= 0 && B->chain[i] >= 0 && B->chain_left > 0) {
        B->chain_left--;
        event_active(B->ev[B->chain[i]], EV_WRITE, 1);
    }
    cap_pass();
}

static void
once_cb(evutil_socket_t fd, short what, void *arg)
{
    int k = (int)((int *)arg - onceslot);
    (void)fd;
    add_rec("once %d what 0x%x running %d", k, what,
            event_base_get_running_event(B->base) != NULL);
    if (k >= 0 && k < 64)
        B->once_live[k] = 0;
    if (B->cb_in_pass++ == 0)
        in_callback_actions();
    cap_pass();
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void
run_pass(struct diff_rng *r)
{
    int ret, i,
        flags = pick(r, 4) ? EVLOOP_NONBLOCK : EVLOOP_NONBLOCK | EVLOOP_ONCE;
    char order[4096];
    size_t o = 0;
    B->nrec = 0;
    B->cb_in_pass = 0;
    memset(B->runs, 0, sizeof(B->runs));
    B->incb_action = (int)pick(r, 3);
    ret = event_base_loop(B->base, flags);
    DIFF_OUT("loop 0x%x -> %d%s\n", flags, ret,
             B->cb_in_pass >= PASS_CAP ? " capped" : "");
    memset(B->act, 0, sizeof(B->act));
    B->all_maybe_active = B->cb_in_pass >= PASS_CAP;
    /* The records, sorted; their order on an "order" line. */
    for (i = 0; i < B->nrec; i++) {
        char *p = B->rec[i];
        /* Equal timeouts fire in an order the clock decides: "T". */
        const char *w = strstr(p, " what 0x");
        if (w && (strtol(w + 8, NULL, 16) & EV_TIMEOUT))
            o += (size_t)snprintf(order + o, sizeof(order) - o, " T");
        else if (strncmp(p, "cb ev", 5) == 0)
            o += (size_t)snprintf(order + o, sizeof(order) - o, " e%d",
                                  atoi(p + 5));
        else if (strncmp(p, "once ", 5) == 0)
            o += (size_t)snprintf(order + o, sizeof(order) - o, " o%d",
                                  atoi(p + 5));
        else
            o += (size_t)snprintf(order + o, sizeof(order) - o, " +");
        if (o >= sizeof(order) - 16)
            break;
    }
    {
        /* A pass cut at 40 callbacks ran a set the order decided: its
         * records go on "order" lines. */
        char(*sorted)[160] = malloc(sizeof(B->rec));
        const char *pre = B->cb_in_pass >= PASS_CAP ? "order " : "";
        if (sorted) {
            memcpy(sorted, B->rec, sizeof(B->rec));
            qsort(sorted, (size_t)B->nrec, sizeof(sorted[0]), cmp_str);
            for (i = 0;
                 i < B->nrec &&
                 (!*pre || (F.order && strncmp(event_base_get_method(B->base),
                                               "epoll", 5) == 0));
                 i++)
                DIFF_OUT("%s  %s\n", pre, sorted[i]);
            free(sorted);
        }
    }
    /* libevent's poll and select backends start each scan of the fds at a
     * random place (evutil_weakrand_range_ in poll_dispatch and
     * select_dispatch): the order of their I/O callbacks is not a function
     * of the seed. */
    if (B->nrec && F.order &&
        strncmp(event_base_get_method(B->base), "epoll", 5) == 0)
        DIFF_OUT("order%s\n", order);
    flush_log();
}

static int
free_slot(void)
{
    int i;
    for (i = 0; i < MAXEV; i++)
        if (!B->kind[i])
            return i;
    return -1;
}

static int
live_slot(struct diff_rng *r)
{
    int i, n = 0, which;
    for (i = 0; i < MAXEV; i++)
        n += B->kind[i] != 0;
    if (!n)
        return -1;
    which = (int)pick(r, (unsigned)n);
    for (i = 0; i < MAXEV; i++)
        if (B->kind[i] && which-- == 0)
            return i;
    return -1;
}

static short
random_events(struct diff_rng *r, int *fdk)
{
    short ev = 0;
    unsigned k = pick(r, 10);
    if (k < 3) {
        *fdk = 0;
        ev = pick(r, 2) ? 0 : EV_TIMEOUT;
    } else if (k < 4 && F.signals) {
        *fdk = 3;
        ev = EV_SIGNAL;
    } else {
        *fdk = 1 + (int)pick(r, 2);
        ev = (short)(pick(r, 3) == 0 ? EV_READ | EV_WRITE
                     : pick(r, 2)    ? EV_READ
                                     : EV_WRITE);
        if (F.closed && pick(r, 8) == 0)
            ev |= EV_CLOSED;
        /* libevent 2.1 cannot mix edge- and level-triggered events on one
         * fd (evmap_io_add_); ours refuses it: sp1 is all-ET or not. */
        if ((*fdk == 2 && B->et_mode) || (F.et_mix && pick(r, 8) == 0))
            ev |= EV_ET;
        if (pick(r, 6) == 0)
            ev |= EV_TIMEOUT;
    }
    if (pick(r, 2))
        ev |= EV_PERSIST;
    return ev;
}

static evutil_socket_t
fd_of(int fdk)
{
    return fdk == 0 ? -1 : fdk == 3 ? SIGUSR2 : B->sp[fdk - 1];
}

static void
op_new_event(struct diff_rng *r, int assign)
{
    int i = free_slot(), fdk, self = pick(r, 5) == 0, ret = 0;
    short evs;
    void *arg;
    if (i < 0) {
        DIFF_OUT("new full\n");
        return;
    }
    evs = random_events(r, &fdk);
    arg = self ? event_self_cbarg() : (void *)&argslot[i];
    if (!assign) {
        B->ev[i] = event_new(B->base, fd_of(fdk), evs, ev_cb, arg);
        DIFF_OUT("new ev%d fd %s events 0x%x self %d -> %s\n", i, fd_name(fdk),
                 evs, self, B->ev[i] ? "ok" : "NULL");
        if (!B->ev[i]) {
            flush_log();
            return;
        }
    } else {
        size_t sz = event_get_struct_event_size();
        B->ev[i] = calloc(1, sz);
        if (!B->ev[i])
            return;
        DIFF_OUT("assign ev%d fd %s events 0x%x self %d initialized %d", i,
                 fd_name(fdk), evs, self, event_initialized(B->ev[i]));
        ret = event_assign(B->ev[i], B->base, fd_of(fdk), evs, ev_cb,
                           self ? (void *)event_self_cbarg() : arg);
        DIFF_OUT(" -> %d initialized %d\n", ret, event_initialized(B->ev[i]));
        if (ret != 0) {
            free(B->ev[i]);
            B->ev[i] = NULL;
            flush_log();
            return;
        }
    }
    B->kind[i] = assign ? 2 : 1;
    B->self[i] = self;
    B->fdk[i] = fdk;
    B->events[i] = evs;
    flush_log();
}

static void
op_query(int i)
{
    struct event *ev = B->ev[i];
    struct event_base *bo = NULL;
    evutil_socket_t fd = -2;
    short evs = -1;
    event_callback_fn cb = NULL;
    void *arg = NULL, *want;
    const char *fdn;
    event_get_assignment(ev, &bo, &fd, &evs, &cb, &arg);
    want = B->self[i] ? (void *)ev : (void *)&argslot[i];
    fdn = fd == -1                          ? "-1"
          : fd == SIGUSR2 && B->fdk[i] == 3 ? "sig"
          : fd == B->sp[0]                  ? "sp0"
          : fd == B->sp[1]                  ? "sp1"
                                            : "other";
    DIFF_OUT("query ev%d assignment base %d fd %s events 0x%x cb %d arg %d\n",
             i, bo == B->base, fdn, evs, cb == ev_cb, arg == want);
    fd = event_get_fd(ev);
    fdn = fd == -1                          ? "-1"
          : fd == SIGUSR2 && B->fdk[i] == 3 ? "sig"
          : fd == B->sp[0]                  ? "sp0"
          : fd == B->sp[1]                  ? "sp1"
                                            : "other";
    DIFF_OUT(
        "  get fd %s base %d events 0x%x cb %d arg %d pri %d init %d "
        "pending 0x%x\n",
        fdn, event_get_base(ev) == B->base, event_get_events(ev),
        event_get_callback(ev) == ev_cb, event_get_callback_arg(ev) == want,
        event_get_priority(ev), event_initialized(ev),
        event_pending(
            ev, EV_TIMEOUT | EV_READ | EV_WRITE | EV_SIGNAL | EV_CLOSED, NULL));
    flush_log();
}

static const struct timeval tv_zero = {0, 0}, tv_hour = {3600, 0};

static void
op_add(struct diff_rng *r, int i)
{
    const struct timeval *tv = NULL;
    const char *tvn = "NULL";
    unsigned k = pick(r, 6);
    int ret, zero_ok = F.zero_persist || !(B->events[i] & EV_PERSIST);
    if ((B->events[i] & (EV_READ | EV_WRITE | EV_CLOSED)) && B->fdk[i] == 0) {
        DIFF_OUT("add ev%d skipped\n", i);
        return;
    }
    if (!F.add_active && (B->act[i] || B->all_maybe_active)) {
        DIFF_OUT("add ev%d skipped (active)\n", i);
        return;
    }
    if (k == 1 && zero_ok) {
        tv = &tv_zero;
        tvn = "zero";
    } else if (k == 2) {
        tv = &tv_hour;
        tvn = "hour";
    } else if (k == 3 && B->nct > 0) {
        int c = (int)pick(r, (unsigned)B->nct);
        /* Only durations whose outcome the clock cannot change. */
        if ((B->ct_zero[c] && zero_ok &&
             (F.zero_common || !(B->events[i] & EV_PERSIST))) ||
            B->ct_long[c]) {
            tv = B->ct[c];
            tvn = "common";
        }
    }
    if (!tv && !F.stale_timeout && B->had_tv[i] &&
        (B->events[i] & EV_PERSIST)) {
        DIFF_OUT("add ev%d skipped (stale)\n", i);
        return;
    }
    ret = event_add(B->ev[i], tv);
    if (tv && ret == 0)
        B->had_tv[i] = 1;
    DIFF_OUT("add ev%d tv %s -> %d\n", i, tvn, ret);
    flush_log();
}

struct fe_state {
    int seen[MAXEV];
    int order[64];
    int norder;
    int unknown;
    int stop_after;
    int nknown;
};

static int
fe_cb(const struct event_base *base, const struct event *ev, void *arg)
{
    struct fe_state *s = arg;
    int i = ev_index(ev);
    (void)base;
    if (i < 0) {
        s->unknown++;
        return 0;
    }
    s->seen[i]++;
    if (s->norder < 64)
        s->order[s->norder++] = i;
    s->nknown++;
    if (s->stop_after && s->nknown >= s->stop_after)
        return 100 + s->nknown;
    return 0;
}

static void
op_foreach(struct diff_rng *r)
{
    struct fe_state s;
    int ret, i;
    memset(&s, 0, sizeof(s));
    if (pick(r, 3) == 0)
        s.stop_after = 1 + (int)pick(r, 3);
    ret = event_base_foreach_event(B->base, fe_cb, &s);
    DIFF_OUT("foreach stop %d -> %d known %d", s.stop_after, ret, s.nknown);
    if (!s.stop_after) {
        DIFF_OUT(" set");
        for (i = 0; i < MAXEV; i++)
            if (s.seen[i])
                DIFF_OUT(" ev%d%s", i, s.seen[i] > 1 ? "(dup)" : "");
    }
    DIFF_OUT("\n");
    if (!s.stop_after && s.norder && F.order) {
        /* Timers sit in a heap whose layout depends on the clock: an event
         * with a timeout is a "T". */
        DIFF_OUT("order foreach");
        for (i = 0; i < s.norder; i++) {
            struct event *ev = B->ev[s.order[i]];
            if (event_pending(ev, EV_TIMEOUT, NULL))
                DIFF_OUT(" T");
            else
                DIFF_OUT(" %d", s.order[i]);
        }
        DIFF_OUT("\n");
    }
    if (F.foreach_internal)
        DIFF_OUT("  internal %d\n", s.unknown);
    flush_log();
}

static void
op_counts(struct diff_rng *r)
{
    unsigned m;
    int clear = pick(r, 3) == 0 && F.max_clear;
    unsigned cm = 1 + pick(r, 7);
    DIFF_OUT("counts");
    for (m = 0; m < 8; m++)
        DIFF_OUT(" %d", event_base_get_num_events(B->base, m));
    DIFF_OUT("\n");
    if (!F.max_counts)
        return;
    /* libevent raises a maximum only when it counts an event in. */
    DIFF_OUT("  max");
    for (m = 1; m < 8; m <<= 1)
        DIFF_OUT(" %d", event_base_get_max_events(B->base, m, 0));
    if (clear) {
        DIFF_OUT(" clear(%u)=%d after", cm,
                 event_base_get_max_events(B->base, cm, 1));
        for (m = 1; m < 8; m <<= 1)
            DIFF_OUT(" %d", event_base_get_max_events(B->base, m, 0));
    }
    DIFF_OUT("\n");
    flush_log();
}

static void
op_once(struct diff_rng *r)
{
    static const short evsets[] = {EV_TIMEOUT,
                                   EV_TIMEOUT,
                                   EV_READ,
                                   EV_WRITE,
                                   EV_READ | EV_WRITE,
                                   EV_TIMEOUT | EV_READ,
                                   EV_SIGNAL,
                                   EV_PERSIST,
                                   0,
                                   EV_WRITE | EV_PERSIST,
                                   EV_CLOSED,
                                   EV_TIMEOUT | EV_SIGNAL};
    int k = B->nonce, fdk, ret;
    short evs = evsets[pick(r, 12)];
    const struct timeval *tv = NULL;
    const char *tvn = "NULL";
    unsigned t = pick(r, 4);
    if (k >= 64) {
        DIFF_OUT("once full\n");
        return;
    }
    if (!F.closed && (evs & EV_CLOSED))
        evs = EV_WRITE;
    fdk = (evs & (EV_READ | EV_WRITE | EV_CLOSED))
              ? (B->et_mode ? 1 : 1 + (int)pick(r, 2))
          : pick(r, 3) == 0 ? 1
                            : 0;
    if (t == 1) {
        tv = &tv_zero;
        tvn = "zero";
    } else if (t == 2) {
        tv = &tv_hour;
        tvn = "hour";
    }
    ret = event_base_once(B->base, fd_of(fdk), evs, once_cb, &onceslot[k], tv);
    DIFF_OUT("once %d fd %s events 0x%x tv %s -> %d\n", k, fd_name(fdk), evs,
             tvn, ret);
    if (ret == 0) {
        B->once_pri[k] = B->npri / 2;
        B->once_live[k] = 1;
        B->nonce++;
    }
    flush_log();
}

static void
op_common_timeout(struct diff_rng *r)
{
    static const struct timeval durs[] = {
        {0, 0},       {1, 0},      {0, 500000}, {0, 1000000},
        {0, 1500000}, {1, 500000}, {3600, 0},   {3600, 0},
        {2, 2000001}, {4, 1},      {-1, 0},     {-5, 999999}};
    struct timeval d;
    const struct timeval *ret;
    int idx = -1, i, k = (int)pick(r, F.ct_negative ? 12 : 10);
    if (pick(r, 5) == 0 && B->nct > 0) {
        /* A common timeout given back as the duration. */
        d = *B->ct[pick(r, (unsigned)B->nct)];
        ret = event_base_init_common_timeout(B->base, &d);
        for (i = 0; i < B->nct; i++)
            if (B->ct[i] == ret)
                idx = i;
        DIFF_OUT("common_timeout (a common one) -> %s #%d\n",
                 ret ? "ok" : "NULL", idx);
        flush_log();
        return;
    }
    d = durs[k];
    ret = event_base_init_common_timeout(B->base, &d);
    for (i = 0; i < B->nct; i++)
        if (B->ct[i] == ret)
            idx = i;
    if (ret && idx < 0 && B->nct < 24) {
        idx = B->nct;
        B->ct_zero[B->nct] = d.tv_sec < 0 || (d.tv_sec == 0 && d.tv_usec == 0);
        B->ct_long[B->nct] = d.tv_sec >= 3600;
        B->ct[B->nct++] = ret;
    }
    DIFF_OUT("common_timeout %ld.%06ld -> %s #%d\n", (long)d.tv_sec,
             (long)d.tv_usec, ret ? "ok" : "NULL", idx);
    flush_log();
}

static void
op_priority_init(struct diff_rng *r)
{
    static const int ns[] = {-1, 0, 1, 2, 3, 5, 10, 255, 256, 257, 1000};
    int n = ns[pick(r, 11)], m = max_live_pri(), ret;
    if (n >= 1 && n < 256 && n <= m) {
        /* A live event of priority >= n could later run out of range:
         * undefined in libevent. */
        DIFF_OUT("priority_init %d skipped\n", n);
        return;
    }
    ret = event_base_priority_init(B->base, n);
    if (ret == 0)
        B->npri = n;
    DIFF_OUT("priority_init %d -> %d npri %d\n", n, ret,
             event_base_get_npriorities(B->base));
    flush_log();
}

static void
op_priority_set(struct diff_rng *r, int i)
{
    int choices[] = {-1, 0, 1, B->npri - 1, B->npri, 300, B->npri / 2};
    int p = choices[pick(r, 7)], ret;
    ret = event_priority_set(B->ev[i], p);
    DIFF_OUT("priority_set ev%d %d -> %d now %d\n", i, p, ret,
             event_get_priority(B->ev[i]));
    flush_log();
}

static void
op_free_event(struct diff_rng *r, int i)
{
    if (B->kind[i] == 1) {
        event_free(B->ev[i]);
        DIFF_OUT("free ev%d\n", i);
    } else {
        int ret = event_del(B->ev[i]);
        if (F.unassign && pick(r, 2)) {
            event_debug_unassign(B->ev[i]);
            DIFF_OUT("del ev%d -> %d unassign initialized %d\n", i, ret,
                     event_initialized(B->ev[i]));
        } else
            DIFF_OUT("del ev%d -> %d release\n", i, ret);
        free(B->ev[i]);
    }
    B->ev[i] = NULL;
    B->kind[i] = 0;
    B->act[i] = 0;
    B->had_tv[i] = 0;
    flush_log();
}

static void
op_self_cbarg(void)
{
    void *a = event_self_cbarg(), *b = event_self_cbarg();
    DIFF_OUT("self_cbarg stable %d nonnull %d\n", a == b, a != NULL);
}

static void
base_script(struct diff_rng *r, int steps)
{
    struct bstate st;
    char desc[1024];
    struct event_config *cfg;
    int s, i;

    memset(&st, 0, sizeof(st));
    for (i = 0; i < MAXEV; i++)
        st.chain[i] = -1;
    B = &st;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, st.sp) < 0) {
        DIFF_OUT("socketpair failed\n");
        return;
    }
    evutil_make_socket_nonblocking(st.sp[0]);
    evutil_make_socket_nonblocking(st.sp[1]);
    cfg = pick(r, 2) ? random_config(r, desc, sizeof(desc), 0) : NULL;
    flush_log();
    if (cfg) {
        st.base = event_base_new_with_config(cfg);
        DIFF_OUT("script config%s\n", desc);
        event_config_free(cfg);
        describe_base(st.base, "  base");
        flush_log();
    }
    if (!st.base) {
        if (F.uring) {
            st.base = event_base_new();
        } else {
            cfg = event_config_new();
            avoid_urings(cfg);
            st.base = event_base_new_with_config(cfg);
            event_config_free(cfg);
        }
        describe_base(st.base, "script base_new");
        flush_log();
    }
    if (!st.base) {
        close(st.sp[0]);
        close(st.sp[1]);
        return;
    }
    st.npri = event_base_get_npriorities(st.base);
    st.et_mode = F.et && pick(r, 4) == 0;
    if (pick(r, 2)) {
        int n = 1 + (int)pick(r, 6), ret = event_base_priority_init(st.base, n);
        if (ret == 0)
            st.npri = n;
        DIFF_OUT("priority_init %d -> %d npri %d\n", n, ret,
                 event_base_get_npriorities(st.base));
    }

    for (s = 0; s < steps; s++) {
        unsigned op = pick(r, 22);
        int i2 = live_slot(r);
        if (F.counts_every)
            DIFF_OUT(
                "dbg counts %d %d\n",
                event_base_get_num_events(st.base, EVENT_BASE_COUNT_ACTIVE),
                event_base_get_num_events(st.base, EVENT_BASE_COUNT_ADDED));
        switch (op) {
        case 0:
        case 1:
        case 2:
            op_new_event(r, 0);
            break;
        case 3:
            op_new_event(r, 1);
            break;
        case 4:
            if (i2 >= 0)
                op_query(i2);
            break;
        case 5:
            if (i2 >= 0)
                op_priority_set(r, i2);
            break;
        case 6:
        case 7:
        case 8:
            if (i2 >= 0)
                op_add(r, i2);
            break;
        case 9:
            if (i2 >= 0) {
                st.act[i2] = 0;
                DIFF_OUT("del ev%d -> %d\n", i2, event_del(st.ev[i2]));
                flush_log();
            }
            break;
        case 10:
            if (i2 >= 0) {
                static const short res[] = {EV_READ, EV_WRITE, EV_TIMEOUT,
                                            EV_READ | EV_WRITE, EV_SIGNAL};
                short rs = res[pick(r, 5)];
                event_active(st.ev[i2], rs, 1);
                st.act[i2] = 1;
                DIFF_OUT("active ev%d 0x%x\n", i2, rs);
                flush_log();
            }
            break;
        case 11:
            op_priority_init(r);
            break;
        case 12:
            if (F.counts)
                op_counts(r);
            break;
        case 13:
            op_foreach(r);
            break;
        case 14:
            if (F.once)
                op_once(r);
            break;
        case 15:
            op_common_timeout(r);
            break;
        case 16:
        case 17:
            run_pass(r);
            break;
        case 18:
            if (i2 >= 0)
                op_free_event(r, i2);
            break;
        case 19: {
            ssize_t w = write(st.sp[pick(r, 2)], "x", 1);
            DIFF_OUT("write %zd\n", w);
            break;
        }
        case 20:
            DIFF_OUT("base method %s features 0x%x npri %d\n",
                     event_base_get_method(st.base),
                     event_base_get_features(st.base),
                     event_base_get_npriorities(st.base));
            break;
        default:
            op_self_cbarg();
            break;
        }
    }
    if (pick(r, 2))
        run_pass(r);
    op_foreach(r);
    if (F.counts)
        op_counts(r);
    for (i = 0; i < MAXEV; i++)
        if (st.kind[i])
            op_free_event(r, i);
    event_base_free(st.base);
    flush_log();
    close(st.sp[0]);
    close(st.sp[1]);
    B = NULL;
}

/* Effect of event_config_set_max_dispatch_interval on one pass: six
 * active events of priorities 0..2, then passes until none is left. */
static void
dispatch_script(struct diff_rng *r)
{
    static const struct timeval tvs[] = {{0, 0}, {3600, 0}};
    struct bstate st;
    struct event_config *cfg = event_config_new();
    int k = (int)pick(r, 3), mc = (int)pick(r, 6) - 1, mp = (int)pick(r, 5) - 1,
        ret, i, pass;
    memset(&st, 0, sizeof(st));
    st.sp[0] = st.sp[1] = -1;
    for (i = 0; i < MAXEV; i++)
        st.chain[i] = -1;
    B = &st;
    if (!cfg)
        return;
    if (!F.uring)
        avoid_urings(cfg);
    ret = event_config_set_max_dispatch_interval(cfg, k == 2 ? NULL : &tvs[k],
                                                 mc, mp);
    st.base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    DIFF_OUT("dispatch interval %s max_cb %d min_pri %d -> %d base %d\n",
             k == 0   ? "zero"
             : k == 1 ? "hour"
                      : "NULL",
             mc, mp, ret, st.base != NULL);
    flush_log();
    if (!st.base) {
        B = NULL;
        return;
    }
    event_base_priority_init(st.base, 3);
    st.npri = 3;
    for (i = 0; i < 6; i++) {
        st.ev[i] = event_new(st.base, -1, 0, ev_cb, &argslot[i]);
        st.kind[i] = 1;
        event_priority_set(st.ev[i], (int)pick(r, 3));
    }
    for (i = 0; i < MAXEV; i++)
        st.chain[i] = i < 6 && pick(r, 2) ? (int)pick(r, 6) : -1;
    st.chain_left = 8;
    DIFF_OUT("  pri");
    for (i = 0; i < 6; i++)
        DIFF_OUT(" %d", event_get_priority(st.ev[i]));
    DIFF_OUT(" chain");
    for (i = 0; i < 6; i++)
        DIFF_OUT(" %d", st.chain[i]);
    DIFF_OUT("\n");
    for (i = 0; i < 6; i++) {
        int j = (int)pick(r, 6);
        event_active(st.ev[j], EV_TIMEOUT, 1);
        DIFF_OUT("  active ev%d\n", j);
    }
    for (pass = 0; pass < 4; pass++) {
        B->nrec = 0;
        B->cb_in_pass = 0;
        memset(B->runs, 0, sizeof(B->runs));
        B->incb_action = 0;
        ret =
            event_base_loop(st.base, pass == 0 ? EVLOOP_NONBLOCK
                                               : EVLOOP_ONCE | EVLOOP_NONBLOCK);
        DIFF_OUT("  pass %d -> %d:", pass, ret);
        for (i = 0; i < B->nrec; i++)
            DIFF_OUT(" [%s]", B->rec[i]);
        DIFF_OUT("\n");
        if (!B->nrec)
            break;
    }
    for (i = 0; i < 6; i++)
        event_free(st.ev[i]);
    event_base_free(st.base);
    flush_log();
    B = NULL;
}

/* Common timeouts: how many a base holds, and which durations share. */
static void
table_common_timeouts(void)
{
    struct event_base *b;
    struct event_config *cfg = event_config_new();
    const struct timeval *first = NULL, *again, *norm1, *norm2;
    struct timeval d;
    int i, nok = 0, firstnull = -1;
    if (!F.uring)
        avoid_urings(cfg);
    b = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!b)
        return;
    {
        static const struct timeval pairs[][2] = {
            {{1, 500000}, {0, 1500000}}, {{5, 0}, {4, 1000000}},
            {{7, 999999}, {7, 999999}},  {{0, 0}, {0, 0}},
            {{3, 1}, {1, 2000001}},      {{2, 0}, {2, 1}}};
        size_t k;
        for (k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
            const struct timeval *t1, *t2, *t3;
            t1 = event_base_init_common_timeout(b, &pairs[k][0]);
            t2 = event_base_init_common_timeout(b, &pairs[k][1]);
            t3 = t1 ? event_base_init_common_timeout(b, t1) : NULL;
            DIFF_OUT("common_timeout %ld.%06ld vs %ld.%06ld: %s %s same %d "
                     "self %d\n",
                     (long)pairs[k][0].tv_sec, (long)pairs[k][0].tv_usec,
                     (long)pairs[k][1].tv_sec, (long)pairs[k][1].tv_usec,
                     t1 ? "ok" : "NULL", t2 ? "ok" : "NULL", t1 == t2 && t1,
                     t3 == t1 && t1);
            flush_log();
        }
    }
    event_base_free(b);
    cfg = event_config_new();
    if (!F.uring)
        avoid_urings(cfg);
    b = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!b)
        return;
    for (i = 0; i < 260; i++) {
        const struct timeval *t;
        d.tv_sec = 100 + i;
        d.tv_usec = 0;
        t = event_base_init_common_timeout(b, &d);
        if (i == 0)
            first = t;
        if (t)
            nok++;
        else if (firstnull < 0)
            firstnull = i;
    }
    DIFF_OUT("common_timeouts 260 distinct: ok %d first NULL at %d\n", nok,
             firstnull);
    flush_log();
    d.tv_sec = 100;
    d.tv_usec = 0;
    again = event_base_init_common_timeout(b, &d);
    DIFF_OUT("  again same %d\n", again == first && first);
    d.tv_sec = 101;
    d.tv_usec = 0;
    norm1 = event_base_init_common_timeout(b, &d);
    d.tv_sec = 100;
    d.tv_usec = 1000000;
    norm2 = event_base_init_common_timeout(b, &d);
    DIFF_OUT("  100.1000000 same as 101 %d; 100.1000000 same as 100 %d\n",
             norm1 == norm2 && norm1, norm2 == first && first);
    flush_log();
    event_base_free(b);
}

/* ------------------------------------------------------------------ */

static void
util_step(struct diff_rng *r)
{
    switch (pick(r, 12)) {
    case 0:
        op_snprintf(r);
        break;
    case 1:
        op_strtoll(r);
        break;
    case 2:
        op_strcasecmp(r);
        break;
    case 3:
    case 4:
        op_pton(r);
        break;
    case 5:
        op_ntop(r);
        break;
    case 6:
    case 7:
        op_parse(r);
        break;
    case 8:
        op_sacmp(r);
        break;
    case 9:
        if (F.gai)
            op_gai(r);
        break;
    case 10:
        op_date(r);
        break;
    default:
        op_timers(r);
        break;
    }
}

int
main(int argc, char **argv)
{
    long seeds = diff_opt(argc, argv, "seeds", 500);
    long first = diff_opt(argc, argv, "first", 1);
    long steps = diff_opt(argc, argv, "steps", 40);
    long s;
    int i;

    diff_print_lib();
    parse_feats(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    event_set_log_callback(log_cb);

    if (F.tables) {
        DIFF_OUT("section version\n");
        table_version();
        DIFF_OUT("section config\n");
        table_config();
        table_common_timeouts();
        DIFF_OUT("section strtoll\n");
        table_strtoll();
        DIFF_OUT("section gai\n");
        if (F.gai)
            table_gai();
        DIFF_OUT("section sockets\n");
        table_sockets();
        DIFF_OUT("section monotonic\n");
        table_monotonic();
    }
    for (s = first; s < first + seeds; s++) {
        struct diff_rng r;
        r.s = (uint64_t)s * 0x1000193ULL + 77;
        DIFF_OUT("seed %ld\n", s);
        if (F.util)
            for (i = 0; i < steps; i++)
                util_step(&r);
        if (F.base) {
            op_config(&r);
            if (F.dispatch)
                dispatch_script(&r);
            base_script(&r, (int)steps);
        }
        fflush(stdout);
    }
    event_set_log_callback(NULL);
    return 0;
}

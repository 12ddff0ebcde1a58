/*
 * diff-evbuffer.c: differential test of the evbuffer API (event2/buffer.h).
 *
 * Each seed drives three buffers (slots b0..b2) through a random script of
 * evbuffer operations and prints, one observation per line, what the
 * library did: return values, lengths, contents (hash plus the first
 * bytes), callbacks with their evbuffer_cb_info, reference and file
 * segment cleanups, and bytes seen on the far side of a socketpair.
 *
 * Lines that depend on how the library splits its data into chains, which
 * libevent does not document (evbuffer_peek's extents, the contiguous space,
 * reserve_space's extents, how much one writev() took, cleanups that a
 * copying pullup may bring forward), start with "layout " and are left out
 * with --no-layout.  No decision of the generator depends on them, so the
 * rest of the trace stays comparable when they differ.
 *
 * Options: --seeds=N --first=N --steps=N, --no-layout, and --no-FEATURE
 * switches (see usage()) to leave a feature out of the scripts.
 */
#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/util.h>

#include "diff-common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define NBUF 3
#define MAXCB 4
#define MAXITEMS 64      /* references + file segments per script */
#define BIGLEN 24000     /* above this, a buffer is shrunk before growing */
#define MAXVEC 16

/* ---------------------------------------------------------------- options */

/* Features, all on by default; --no-NAME leaves one out. */
static int opt_layout = 1;      /* layout: print the layout lines */
static int opt_cb = 1;          /* cb: evbuffer callbacks */
static int opt_defer = 1;       /* defer: evbuffer_defer_callbacks */
static int opt_nested = 1;      /* nested: callbacks that change their buffer */
static int opt_file = 1;        /* file: add_file and file segments */
static int opt_sendfile = 1;    /* sendfile: the EVBUFFER_FLAG_DRAINS_TO_FD
                                 * scenario */
static int opt_io = 1;          /* io: evbuffer_read / evbuffer_write */
static int opt_bufref = 1;      /* bufref: evbuffer_add_buffer_reference */
static int opt_ref = 1;         /* ref: evbuffer_add_reference */
static int opt_badcommit = 1;   /* badcommit: commits that must fail */
static int opt_write_empty = 1; /* write-empty: evbuffer_write(_atmost) with
                                 * nothing to write */
static int opt_self = 1;        /* self: add/prepend/remove_buffer with
                                 * src == dst */
static int opt_huge = 1;        /* huge: expand/reserve of EV_SSIZE_MAX */

/* Features on which our library was seen to differ from libevent 2.1.12
 * (see the report in test/diff/); on by default, --no-NAME avoids it. */
static int opt_readln_cb = 1;   /* readln-cb: evbuffer_readln on a buffer
                                 * with (immediate) callbacks */
static int opt_noop = 1;        /* noop: calls that libevent lets through as
                                 * no-ops before its error checks */
static int opt_rmbuf_order = 1; /* rmbuf-order: remove_buffer of part of a
                                 * buffer when both have callbacks */
static int opt_defer_noop = 1;  /* defer-noop: without it, the loop runs
                                 * after each step, so that no deferred
                                 * run waits past its step */
static int opt_free_pending = 1;/* free-pending: free a deferred buffer
                                 * without running the loop first */

/* Left out by default; --NAME puts it in. */
static int opt_file_undefined = 0; /* file-undefined: evbuffer_remove and
                                 * evbuffer_pullup on file data, which
                                 * libevent documents as undefined */
static int opt_read0 = 0;       /* read0: evbuffer_read with howmuch 0
                                 * (libevent 2.1.12 may assert) */
static int opt_strict_commit = 0; /* strict-commit: a good commit that
                                 * libevent refuses is not papered over */

/* ------------------------------------------------------------------ state */

enum { T_MC = 1, T_FILE = 2 };

struct bstate;

struct cbst {
    struct bstate *bs;
    int id;
    int kind;       /* 0 plain, 1 drainer, 2 adder, 3 removes itself */
    int calls;
    int limit;
    int removed;
    struct evbuffer_cb_entry *ent;
    struct cbst *all_next;
};

struct bstate {
    struct evbuffer *b;
    int slot, gen;
    int freed;
    int deferred;
    int fz_front, fz_back;
    unsigned taint;
    uint64_t items;          /* refs/segments whose bytes may be here */
    uint64_t srcs;           /* buffers (by gen) data here keeps alive */
    int n_modifying, n_selfrm;
    struct cbst *cbs[MAXCB];
    int ncb;
    struct bstate *all_next;
};

struct item {
    int id;
    int is_seg;
    int layout;             /* its release time may depend on layout */
    int cleaned;
    /* reference */
    unsigned char *mem;
    size_t len;
    /* segment */
    struct evbuffer_file_segment *seg;
    int userfreed;
    ev_off_t seglen;
    int has_cleanup;
};

static struct diff_rng rng;
static struct event_base *base;
static struct bstate *slots[NBUF];
static struct bstate *all_bs;
static struct cbst *all_cbs;
static struct item items[MAXITEMS];
static int nitems;
static int gen_counter;
static int cb_counter;
static int sp[2] = { -1, -1 };     /* sp[0]: the library's end */
static int filefd = -1;
static unsigned char *filedata;
static size_t filesz;
static int step_no;

/* --------------------------------------------------------------- helpers */

static unsigned
rnd(unsigned n)
{
    return n ? diff_below(&rng, n) : 0;
}

static int
chance(unsigned pct)
{
    return rnd(100) < pct;
}

static uint64_t
fnv(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Escaped rendering of at most max bytes into out. */
static const char *
esc(const unsigned char *p, size_t n, size_t max)
{
    static char out[4][512];
    static int which;
    char *o = out[which++ & 3];
    size_t i, k = 0;
    for (i = 0; i < n && i < max; i++) {
        unsigned c = p[i];
        if (c == '\n') { o[k++] = '\\'; o[k++] = 'n'; }
        else if (c == '\r') { o[k++] = '\\'; o[k++] = 'r'; }
        else if (c == '\\') { o[k++] = '\\'; o[k++] = '\\'; }
        else if (c == '"') { o[k++] = '\\'; o[k++] = '"'; }
        else if (c >= 32 && c < 127) o[k++] = (char)c;
        else k += (size_t)sprintf(o + k, "\\x%02x", c);
    }
    if (i < n) { o[k++] = '.'; o[k++] = '.'; o[k++] = '.'; }
    o[k] = '\0';
    return o;
}

/* "len=N h=HASH \"text\"": whole text when short, else the first bytes. */
static void
print_bytes(const char *label, const unsigned char *p, size_t n)
{
    DIFF_OUT("  %s n=%zu h=%016llx \"%s\"\n", label, n,
        (unsigned long long)fnv(p, n), esc(p, n, n <= 40 ? 40 : 24));
}

static unsigned char
gen_byte(void)
{
    unsigned r = rnd(100);
    if (r < 70) return (unsigned char)('a' + rnd(8));
    if (r < 80) return '\n';
    if (r < 87) return '\r';
    if (r < 90) return '\0';
    return (unsigned char)rnd(256);
}

static void
gen_data(unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        p[i] = gen_byte();
}

static size_t
gen_len(void)
{
    unsigned r = rnd(100);
    if (r < 10) return 0;
    if (r < 55) return 1 + rnd(24);
    if (r < 85) return 25 + rnd(600);
    if (r < 97) return 600 + rnd(3000);
    return 3000 + rnd(6000);
}

static const char *
bname(const struct bstate *bs)
{
    static char s[4][32];
    static int which;
    char *o = s[which++ & 3];
    snprintf(o, 32, "b%d.%d", bs->slot, bs->gen);
    return o;
}

/* Read the whole content: copyout, or evbuffer_peek when the front is
 * frozen (copyout refuses then).  Caller frees. */
static unsigned char *
content(struct bstate *bs, size_t *n_out)
{
    size_t n = evbuffer_get_length(bs->b);
    unsigned char *p = malloc(n + 1);
    if (!bs->fz_front) {
        ev_ssize_t r = evbuffer_copyout(bs->b, p, n);
        if (r != (ev_ssize_t)n)
            DIFF_OUT("  !! copyout of %s returned %zd for %zu\n",
                bname(bs), r, n);
    } else {
        int nv = evbuffer_peek(bs->b, -1, NULL, NULL, 0), i;
        struct evbuffer_iovec *v = calloc((size_t)nv + 1, sizeof(*v));
        size_t k = 0;
        int got = evbuffer_peek(bs->b, -1, NULL, v, nv);
        for (i = 0; i < got && i < nv; i++) {
            size_t l = v[i].iov_len;
            if (k + l > n) l = n - k;
            memcpy(p + k, v[i].iov_base, l);
            k += l;
        }
        if (k != n)
            DIFF_OUT("  !! peek of %s covered %zu of %zu\n", bname(bs), k, n);
        free(v);
    }
    *n_out = n;
    return p;
}

static void
dump(struct bstate *bs)
{
    size_t n;
    unsigned char *p = content(bs, &n);
    DIFF_OUT("  %s len=%zu h=%016llx \"%s\"\n", bname(bs), n,
        (unsigned long long)fnv(p, n), esc(p, n, n <= 40 ? 40 : 24));
    free(p);
    if (opt_layout)
        DIFF_OUT("layout   %s contig=%zu extents=%d\n", bname(bs),
            evbuffer_get_contiguous_space(bs->b),
            evbuffer_peek(bs->b, -1, NULL, NULL, 0));
    if (n == 0) {
        bs->taint = 0;
        bs->items = 0;
        bs->srcs = 0;
    }
}

/* ---------------------------------------------------------- reference cbs */

static void
ref_cleanup(const void *data, size_t len, void *arg)
{
    struct item *it = arg;
    int ok = data == it->mem && len == it->len;
    if (!it->layout || opt_layout)
        DIFF_OUT("%sref-cleanup r%d len=%zu ok=%d%s\n",
            it->layout ? "layout " : "", it->id, len, ok,
            it->cleaned ? " AGAIN" : "");
    it->cleaned = 1;
    free(it->mem);
    it->mem = NULL;
}

static void
seg_cleanup(struct evbuffer_file_segment const *seg, int flags, void *arg)
{
    struct item *it = arg;
    (void)seg;
    if (!it->layout || opt_layout)
        DIFF_OUT("%sseg-cleanup s%d flags=%d%s\n",
            it->layout ? "layout " : "", it->id, flags,
            it->cleaned ? " AGAIN" : "");
    it->cleaned = 1;
}

/* Mark the items that may be in bs as released at a layout-dependent
 * time (a copying pullup or a split by remove_buffer). */
static void
mark_items_layout(struct bstate *bs)
{
    int i;
    for (i = 0; i < nitems; i++)
        if (bs->items & (1ULL << i))
            items[i].layout = 1;
}

/* The buffers that data from evbuffer_add_buffer_reference() keeps alive
 * go when the last byte that came from them goes.  A remove_buffer() that
 * splits such data moves some chains whole and copies one part, and which
 * bytes get copied (so stop keeping their source) is a layout matter: so
 * is the release of what those buffers hold. */
static void
mark_sources_layout(uint64_t srcs, uint64_t seen)
{
    struct bstate *bs;
    for (bs = all_bs; bs; bs = bs->all_next) {
        if (bs->gen >= 64 || !(srcs & (1ULL << bs->gen)) ||
            (seen & (1ULL << bs->gen)))
            continue;
        seen |= 1ULL << bs->gen;
        mark_items_layout(bs);
        mark_sources_layout(bs->srcs, seen);
    }
}

/* ----------------------------------------------------- evbuffer callbacks */

static void
buf_cb(struct evbuffer *buffer, const struct evbuffer_cb_info *info,
    void *arg)
{
    struct cbst *c = arg;
    struct bstate *bs = c->bs;
    c->calls++;
    if (bs->freed) {
        DIFF_OUT("cb %s c%d orig=%zu add=%zu del=%zu (buffer freed)\n",
            bname(bs), c->id, info->orig_size, info->n_added,
            info->n_deleted);
        return;
    }
    DIFF_OUT("cb %s c%d orig=%zu add=%zu del=%zu len=%zu same=%d\n",
        bname(bs), c->id, info->orig_size, info->n_added, info->n_deleted,
        evbuffer_get_length(buffer), buffer == bs->b);
    switch (c->kind) {
    case 1:
        if (evbuffer_get_length(buffer) > 6000 && c->calls <= c->limit) {
            int r = evbuffer_drain(buffer, 2500);
            DIFF_OUT("cb %s c%d drain 2500 -> %d\n", bname(bs), c->id, r);
        }
        break;
    case 2:
        if (evbuffer_get_length(buffer) < 16 && c->calls <= c->limit) {
            int r = evbuffer_add(buffer, "<cb>", 4);
            DIFF_OUT("cb %s c%d add 4 -> %d\n", bname(bs), c->id, r);
        }
        break;
    case 3:
        if (c->calls >= c->limit && !c->removed) {
            int r = evbuffer_remove_cb_entry(buffer, c->ent);
            DIFF_OUT("cb %s c%d removes itself -> %d\n", bname(bs), c->id, r);
            c->removed = 1;
            bs->n_selfrm--;
        }
        break;
    }
}

/* --------------------------------------------------------------- buffers */

static struct bstate *
new_bs(int slot)
{
    struct bstate *bs = calloc(1, sizeof(*bs));
    bs->slot = slot;
    bs->gen = gen_counter++;
    bs->b = evbuffer_new();
    bs->all_next = all_bs;
    all_bs = bs;
    if (opt_cb && opt_defer && chance(30)) {
        int r = evbuffer_defer_callbacks(bs->b, base);
        bs->deferred = 1;
        DIFF_OUT("new %s deferred -> %d\n", bname(bs), r);
    } else {
        DIFF_OUT("new %s\n", bname(bs));
    }
    return bs;
}

static void
free_bs(struct bstate *bs)
{
    DIFF_OUT("free %s\n", bname(bs));
    evbuffer_free(bs->b);
    bs->freed = 1;
}

static struct bstate *
pick(void)
{
    return slots[rnd(NBUF)];
}

static struct bstate *
pick_other(struct bstate *a)
{
    struct bstate *b;
    if (opt_self && chance(3))
        return a;
    do b = pick(); while (b == a);
    return b;
}

/* A position in [0, len], often a bound. */
static size_t
gen_pos(size_t len)
{
    unsigned r = rnd(10);
    if (r == 0) return 0;
    if (r == 1) return len;
    return rnd((unsigned)len + 1);
}

/* --------------------------------------------------------------- I/O side */

/* Read everything the library wrote into its end of the socketpair. */
static void
peer_drain(const char *what)
{
    unsigned char tmp[65536];
    unsigned char *all = NULL;
    size_t n = 0;
    for (;;) {
        ssize_t r = read(sp[1], tmp, sizeof(tmp));
        if (r <= 0) break;
        all = realloc(all, n + (size_t)r);
        memcpy(all + n, tmp, (size_t)r);
        n += (size_t)r;
    }
    print_bytes(what, all ? all : (unsigned char *)"", n);
    free(all);
}

static void
peer_send(const unsigned char *p, size_t n)
{
    size_t k = 0;
    while (k < n) {
        ssize_t r = write(sp[1], p + k, n - k);
        if (r <= 0) { DIFF_OUT("  !! peer write failed\n"); return; }
        k += (size_t)r;
    }
}

static void
new_socketpair(void)
{
    if (sp[0] >= 0) { close(sp[0]); close(sp[1]); }
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0) {
        perror("socketpair");
        exit(1);
    }
    evutil_make_socket_nonblocking(sp[0]);
    evutil_make_socket_nonblocking(sp[1]);
}

/* ------------------------------------------------------------- operations */

static void
touched(struct bstate *a, struct bstate *b)
{
    if (a && !a->freed) dump(a);
    if (b && b != a && !b->freed) dump(b);
}

static void
op_add(struct bstate *bs)
{
    size_t n = gen_len();
    unsigned char *d = malloc(n + 1);
    int r;
    gen_data(d, n);
    r = evbuffer_add(bs->b, d, n);
    DIFF_OUT("s%d add %s %zu -> %d\n", step_no, bname(bs), n, r);
    free(d);
    touched(bs, NULL);
}

static int
vprintf_wrap(struct evbuffer *b, const char *fmt, ...)
{
    va_list ap;
    int r;
    va_start(ap, fmt);
    r = evbuffer_add_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

static void
op_printf(struct bstate *bs, int use_v)
{
    int r = -2, which = (int)rnd(5);
    char s[400];
    size_t sl = rnd(100) < 80 ? rnd(40) : rnd(380), i;
    for (i = 0; i < sl; i++)
        s[i] = (char)('a' + rnd(26));
    s[sl] = '\0';
    switch (which) {
    case 0:
        r = use_v ? vprintf_wrap(bs->b, "%d:%s;", (int)rnd(100000) - 500, s)
                  : evbuffer_add_printf(bs->b, "%d:%s;",
                        (int)rnd(100000) - 500, s);
        break;
    case 1:
        r = use_v ? vprintf_wrap(bs->b, "[%.*s]", (int)sl / 2, s)
                  : evbuffer_add_printf(bs->b, "[%.*s]", (int)sl / 2, s);
        break;
    case 2: /* a NUL byte in the middle */
        r = use_v ? vprintf_wrap(bs->b, "x%cy%s\r\n", 0, s)
                  : evbuffer_add_printf(bs->b, "x%cy%s\r\n", 0, s);
        break;
    case 3:
        r = use_v ? vprintf_wrap(bs->b, "%s", "")
                  : evbuffer_add_printf(bs->b, "%s", "");
        break;
    default: /* longer than a fresh chain's first 64 bytes */
        r = use_v ? vprintf_wrap(bs->b, "%s%s%s%5u|", s, s, s,
                        (unsigned)rnd(99999))
                  : evbuffer_add_printf(bs->b, "%s%s%s%5u|", s, s, s,
                        (unsigned)rnd(99999));
        break;
    }
    DIFF_OUT("s%d %s %s fmt%d slen=%zu -> %d\n", step_no,
        use_v ? "add_vprintf" : "add_printf", bname(bs), which, sl, r);
    touched(bs, NULL);
}

static void
op_prepend(struct bstate *bs)
{
    size_t n = gen_len();
    unsigned char *d = malloc(n + 2);
    int r;
    if (n == 0 && bs->fz_front && !opt_noop) n = 1;
    gen_data(d, n);
    r = evbuffer_prepend(bs->b, d, n);
    DIFF_OUT("s%d prepend %s %zu -> %d\n", step_no, bname(bs), n, r);
    free(d);
    touched(bs, NULL);
}

static void
op_add_iovec(struct bstate *bs)
{
    struct evbuffer_iovec v[3];
    unsigned char *d[3];
    int n = (int)rnd(4), i;
    size_t r;
    for (i = 0; i < n; i++) {
        size_t l = gen_len();
        d[i] = malloc(l + 1);
        gen_data(d[i], l);
        v[i].iov_base = d[i];
        v[i].iov_len = l;
    }
    r = evbuffer_add_iovec(bs->b, v, n);
    DIFF_OUT("s%d add_iovec %s n=%d", step_no, bname(bs), n);
    for (i = 0; i < n; i++)
        DIFF_OUT(" %zu", v[i].iov_len);
    DIFF_OUT(" -> %zu\n", r);
    for (i = 0; i < n; i++)
        free(d[i]);
    touched(bs, NULL);
}

static void
op_drain(struct bstate *bs)
{
    size_t len = evbuffer_get_length(bs->b), n;
    int r;
    if (chance(5)) n = (size_t)-1;
    else if (chance(10)) n = len + 1 + rnd(10);
    else n = gen_pos(len);
    r = evbuffer_drain(bs->b, n);
    DIFF_OUT("s%d drain %s %zu -> %d\n", step_no, bname(bs), n, r);
    touched(bs, NULL);
}

static void
op_remove(struct bstate *bs)
{
    size_t len = evbuffer_get_length(bs->b);
    size_t n = chance(10) ? len + rnd(20) : gen_pos(len);
    unsigned char *d = malloc(n + 1);
    int r = evbuffer_remove(bs->b, d, n);
    DIFF_OUT("s%d remove %s %zu -> %d\n", step_no, bname(bs), n, r);
    if (r > 0) print_bytes("got", d, (size_t)r);
    free(d);
    touched(bs, NULL);
}

static void
op_copyout(struct bstate *bs)
{
    size_t len = evbuffer_get_length(bs->b);
    size_t n = chance(10) ? len + rnd(20) : gen_pos(len);
    unsigned char *d = malloc(n + 1);
    ev_ssize_t r = evbuffer_copyout(bs->b, d, n);
    DIFF_OUT("s%d copyout %s %zu -> %zd\n", step_no, bname(bs), n, r);
    if (r > 0) print_bytes("got", d, (size_t)r);
    free(d);
    if (evbuffer_get_length(bs->b) != len)
        DIFF_OUT("  !! copyout changed the length\n");
}

/* Set p to pos (SET, or SET to a then ADD the rest); print the result. */
static int
make_ptr(struct bstate *bs, struct evbuffer_ptr *p, size_t pos,
    const char *tag)
{
    int r;
    if (pos > 0 && chance(40)) {
        size_t a = rnd((unsigned)pos + 1);
        int r1 = evbuffer_ptr_set(bs->b, p, a, EVBUFFER_PTR_SET);
        r = evbuffer_ptr_set(bs->b, p, pos - a, EVBUFFER_PTR_ADD);
        DIFF_OUT("  ptr %s set %zu -> %d add %zu -> %d pos=%zd\n", tag, a, r1,
            pos - a, r, p->pos);
    } else {
        r = evbuffer_ptr_set(bs->b, p, pos, EVBUFFER_PTR_SET);
        DIFF_OUT("  ptr %s set %zu -> %d pos=%zd\n", tag, pos, r, p->pos);
    }
    return r;
}

static void
op_copyout_from(struct bstate *bs)
{
    size_t len = evbuffer_get_length(bs->b);
    struct evbuffer_ptr p;
    size_t pos = gen_pos(len);
    size_t n = chance(15) ? len + rnd(20) : gen_pos(len - pos);
    unsigned char *d;
    ev_ssize_t r;
    DIFF_OUT("s%d copyout_from %s pos=%zu n=%zu\n", step_no, bname(bs), pos, n);
    if (make_ptr(bs, &p, pos, "start") < 0)
        return;
    d = malloc(n + 1);
    r = evbuffer_copyout_from(bs->b, &p, d, n);
    DIFF_OUT("  -> %zd\n", r);
    if (r > 0) print_bytes("got", d, (size_t)r);
    free(d);
}

static void
op_ptr(struct bstate *bs)
{
    size_t len = evbuffer_get_length(bs->b);
    struct evbuffer_ptr p;
    size_t a = chance(15) ? len + 1 + rnd(5) : gen_pos(len);
    size_t add = chance(20) ? len + 1 - (a > len ? len : a) + rnd(3)
                            : rnd((unsigned)(len - (a > len ? len : a)) + 1);
    int r1, r2, r3;
    r1 = evbuffer_ptr_set(bs->b, &p, a, EVBUFFER_PTR_SET);
    DIFF_OUT("s%d ptr_set %s SET %zu -> %d pos=%zd\n", step_no, bname(bs), a,
        r1, p.pos);
    if (r1 < 0) {
        /* adding to a pointer that is not found fails */
        r2 = evbuffer_ptr_set(bs->b, &p, 1, EVBUFFER_PTR_ADD);
        DIFF_OUT("  ADD 1 to not-found -> %d pos=%zd\n", r2, p.pos);
        return;
    }
    r2 = evbuffer_ptr_set(bs->b, &p, add, EVBUFFER_PTR_ADD);
    DIFF_OUT("  ADD %zu -> %d pos=%zd\n", add, r2, p.pos);
    if (r2 == 0) {
        unsigned char d[8];
        ev_ssize_t c = evbuffer_copyout_from(bs->b, &p, d, sizeof(d));
        DIFF_OUT("  copyout_from 8 -> %zd\n", c);
        if (c > 0) print_bytes("got", d, (size_t)c);
        r3 = evbuffer_ptr_set(bs->b, &p, 0, EVBUFFER_PTR_ADD);
        DIFF_OUT("  ADD 0 -> %d pos=%zd\n", r3, p.pos);
    }
}

static void
op_pullup(struct bstate *bs)
{
    size_t len = evbuffer_get_length(bs->b), want;
    ev_ssize_t size;
    unsigned char *r;
    unsigned char *before;
    size_t bn;
    unsigned k = rnd(8);
    if (k == 0) size = -1;
    else if (k == 1) size = 0;
    else if (k == 2) size = (ev_ssize_t)len;
    else if (k == 3) size = (ev_ssize_t)len + 1 + rnd(100);
    else if (k == 4) size = -1 - (ev_ssize_t)rnd(3);
    else size = (ev_ssize_t)rnd((unsigned)len + 1);
    if (bs->taint & T_MC) {
        DIFF_OUT("s%d pullup %s skipped (shared by a buffer reference)\n",
            step_no, bname(bs));
        return;
    }
    if ((bs->taint & T_FILE) && !opt_file_undefined) {
        DIFF_OUT("s%d pullup %s skipped (file data)\n", step_no, bname(bs));
        return;
    }
    before = content(bs, &bn);
    mark_items_layout(bs);
    r = evbuffer_pullup(bs->b, size);
    want = size < 0 ? len : (size_t)size;
    DIFF_OUT("s%d pullup %s %zd -> %s\n", step_no, bname(bs), size,
        r ? "ptr" : "NULL");
    if (r) {
        DIFF_OUT("  pulled match=%d\n", want <= bn && memcmp(r, before, want) == 0);
        print_bytes("pulled", r, want);
        if (opt_layout)
            DIFF_OUT("layout   contig after pullup=%zu\n",
                evbuffer_get_contiguous_space(bs->b));
        if (evbuffer_get_contiguous_space(bs->b) < want)
            DIFF_OUT("  !! contiguous space %zu < pulled %zu\n",
                evbuffer_get_contiguous_space(bs->b), want);
    }
    free(before);
    touched(bs, NULL);
}

static void
op_expand(struct bstate *bs)
{
    size_t n = opt_huge && chance(4) ? (size_t)EV_SSIZE_MAX : gen_len();
    int r = evbuffer_expand(bs->b, n);
    DIFF_OUT("s%d expand %s %zu -> %d\n", step_no, bname(bs), n, r);
    touched(bs, NULL);
}

static void
op_reserve(struct bstate *bs)
{
    struct evbuffer_iovec v[2];
    int nvec = 1 + (int)rnd(2), r, i, nc;
    ev_ssize_t size = (ev_ssize_t)(chance(10) ? 0 : gen_len());
    size_t total = 0, want, left;
    unsigned char *d;
    unsigned mode = rnd(10);
    /* An impossible size: one extent only, for libevent 2.1.12 really
     * calls malloc() for about EV_SSIZE_MAX bytes when given two, which
     * a sanitizer build does not survive. */
    if (opt_huge && chance(3) && nvec == 1) size = EV_SSIZE_MAX;
    /* libevent 2.1.12 asserts in evbuffer_read_setup_vecs_() when asked
     * for 0 bytes in two extents while the last chain with data is full */
    if (size == 0 && nvec == 2) size = 1;
    memset(v, 0, sizeof(v));
    r = evbuffer_reserve_space(bs->b, size, v, nvec);
    DIFF_OUT("s%d reserve %s size=%zd nvec=%d -> %s\n", step_no, bname(bs),
        size, nvec, r < 0 ? "-1" : "ok");
    if (opt_layout)
        DIFF_OUT("layout   reserve ret=%d len0=%zu len1=%zu\n", r,
            r > 0 ? v[0].iov_len : 0, r > 1 ? v[1].iov_len : 0);
    if (r < 0) {
        touched(bs, NULL);
        return;
    }
    nc = r < nvec ? r : nvec;
    for (i = 0; i < nc; i++)
        total += v[i].iov_len;
    DIFF_OUT("  enough=%d\n", total >= (size_t)size);
    /* Decide how much to commit from size alone, not from the extents. */
    want = mode < 2 ? (size_t)size : rnd((unsigned)size + 1);
    if (want > total) want = total;
    d = malloc(want + 1);
    {
        gen_data(d, want);
        left = want;
        for (i = 0; i < nc; i++) {
            size_t l = v[i].iov_len < left ? v[i].iov_len : left;
            memcpy(v[i].iov_base, d + (want - left), l);
            left -= l;
        }
        print_bytes("fill", d, want);
    }
    if (mode == 2) {
        DIFF_OUT("  (not committed)\n");
        touched(bs, NULL);
        free(d);
        return;
    }
    if (mode == 3 && opt_badcommit && nc > 0) {
        /* one extent one byte longer than what we got: must fail */
        struct evbuffer_iovec w[2];
        int j = (int)rnd(2);
        if (j >= nc) j = 0; /* nc is layout: the choice must not show */
        memcpy(w, v, sizeof(w));
        w[j].iov_len += 1;
        DIFF_OUT("  commit one extent too long -> %d\n",
            evbuffer_commit_space(bs->b, w, nc));
    }
    /* trim each extent to what was filled */
    left = want;
    for (i = 0; i < nc; i++) {
        size_t l = v[i].iov_len < left ? v[i].iov_len : left;
        v[i].iov_len = l;
        left -= l;
    }
    if (mode == 4 && opt_badcommit) {
        int fr, cr, ur;
        fr = evbuffer_freeze(bs->b, 0);
        cr = evbuffer_commit_space(bs->b, v, nc);
        ur = evbuffer_unfreeze(bs->b, 0);
        DIFF_OUT("  freeze end -> %d, commit -> %d, unfreeze -> %d\n", fr,
            cr, ur);
        bs->fz_back = 0;
        if (cr == 0) {
            DIFF_OUT("  (committed while frozen)\n");
            touched(bs, NULL);
            free(d);
            return;
        }
    }
    if (mode == 5) {
        DIFF_OUT("  commit 0 extents -> %d\n",
            evbuffer_commit_space(bs->b, v, 0));
    }
    /* commit only the extents that carry data, or all of them */
    {
        int ncommit = nc;
        if (chance(50))
            while (ncommit > 1 && v[ncommit - 1].iov_len == 0)
                ncommit--;
        r = evbuffer_commit_space(bs->b, v, ncommit);
        if (opt_strict_commit || r == 0) {
            DIFF_OUT("  commit %zu -> %d\n", want, r);
        } else {
            /* libevent 2.1.12 may refuse a good commit: when
             * reserve_space(.., 1) hands out the chain after a last chain
             * with data that still has a little room, and more empty
             * chains follow, commit_space only looks at the first.  Add
             * the bytes instead, so that the trace goes on alike. */
            int ar = evbuffer_add(bs->b, d, want); /* callbacks run here */
            DIFF_OUT("  commit %zu -> 0\n", want);
            if (opt_layout)
                DIFF_OUT("layout   commit refused: evbuffer_add -> %d\n", ar);
        }
        if (opt_layout)
            DIFF_OUT("layout   committed extents=%d\n", ncommit);
    }
    free(d);
    touched(bs, NULL);
}

/* Data that came from evbuffer_add_buffer_reference() keeps its source
 * buffer alive (the buffer object, wherever its chains went).  When such
 * data reaches, directly or through other buffers, the buffer it keeps
 * alive, nothing is ever freed: libevent 2.1.12 leaks the buffers and
 * never runs the cleanups of their references.  Whether a move takes
 * whole chains, and so makes the cycle, is a layout matter: bs->srcs
 * lists the buffers that data in bs may keep alive, and no call may make
 * one reach itself. */
static int
reaches(int from, int target, uint64_t seen)
{
    struct bstate *bs;
    int g;
    if (from == target) return 1;
    if (from >= 64 || (seen & (1ULL << from))) return 0;
    seen |= 1ULL << from;
    for (bs = all_bs; bs; bs = bs->all_next)
        if (bs->gen == from) break;
    if (!bs) return 0;
    for (g = 0; g < 64; g++)
        if ((bs->srcs & (1ULL << g)) && reaches(g, target, seen))
            return 1;
    return 0;
}

static int
cycle_risk(struct bstate *dst, uint64_t newsrcs, const char *what,
    struct bstate *src)
{
    int g;
    for (g = 0; g < 64; g++) {
        /* past 63 buffers in a script there are no ids left: refuse */
        if ((newsrcs & (1ULL << g)) &&
            (dst->gen >= 63 || reaches(g, dst->gen, 0))) {
            DIFF_OUT("s%d %s %s %s skipped (reference cycle)\n", step_no,
                what, bname(dst), bname(src));
            return 1;
        }
    }
    return 0;
}

static void
move_items(struct bstate *dst, struct bstate *src, unsigned taint_extra)
{
    dst->items |= src->items;
    dst->taint |= src->taint | taint_extra;
    dst->srcs |= src->srcs;
}

static void
op_add_buffer(struct bstate *dst, struct bstate *src)
{
    size_t sl = evbuffer_get_length(src->b);
    int r;
    if (dst != src && cycle_risk(dst, src->srcs, "add_buffer", src)) return;
    r = evbuffer_add_buffer(dst->b, src->b);
    DIFF_OUT("s%d add_buffer %s <- %s -> %d\n", step_no, bname(dst),
        bname(src), r);
    if (r == 0 && sl && dst != src) move_items(dst, src, 0);
    touched(dst, src);
}

static void
op_prepend_buffer(struct bstate *dst, struct bstate *src)
{
    size_t sl = evbuffer_get_length(src->b);
    int r;
    if (dst != src && cycle_risk(dst, src->srcs, "prepend_buffer", src))
        return;
    r = evbuffer_prepend_buffer(dst->b, src->b);
    DIFF_OUT("s%d prepend_buffer %s <- %s -> %d\n", step_no, bname(dst),
        bname(src), r);
    if (r == 0 && sl && dst != src) move_items(dst, src, 0);
    touched(dst, src);
}

static void
op_remove_buffer(struct bstate *src, struct bstate *dst)
{
    size_t len = evbuffer_get_length(src->b);
    size_t n = chance(15) ? len + rnd(50) : gen_pos(len);
    int r;
    if (!opt_rmbuf_order && src->ncb && dst->ncb && src != dst) {
        DIFF_OUT("s%d remove_buffer %s -> %s skipped (callbacks on both)\n",
            step_no, bname(src), bname(dst));
        return;
    }
    if (dst != src && cycle_risk(dst, src->srcs, "remove_buffer", src))
        return;
    mark_items_layout(src);
    mark_sources_layout(src->srcs, 0);
    r = evbuffer_remove_buffer(src->b, dst->b, n);
    DIFF_OUT("s%d remove_buffer %s -> %s %zu -> %d\n", step_no, bname(src),
        bname(dst), n, r);
    if (r > 0 && dst != src) move_items(dst, src, 0);
    touched(src, dst);
}

static struct item *
new_item(void)
{
    struct item *it;
    if (nitems >= MAXITEMS) return NULL;
    it = &items[nitems];
    memset(it, 0, sizeof(*it));
    it->id = nitems++;
    return it;
}

static void
op_add_reference(struct bstate *bs)
{
    struct item *it = new_item();
    size_t n;
    int r, with_cleanup = chance(85);
    if (!it) return;
    n = gen_len();
    if (n == 0 && chance(70)) n = 1 + rnd(30);
    it->len = n;
    it->mem = malloc(n + 1);
    gen_data(it->mem, n);
    if (n == 0) it->layout = 1; /* an empty chain goes whenever it likes */
    r = evbuffer_add_reference(bs->b, it->mem, n,
        with_cleanup ? ref_cleanup : NULL, it);
    DIFF_OUT("s%d add_reference %s r%d %zu cleanup=%d -> %d\n", step_no,
        bname(bs), it->id, n, with_cleanup, r);
    if (r == 0) {
        bs->items |= 1ULL << it->id;
        if (!with_cleanup) {
            /* nobody will tell us: keep the memory until the script ends */
            it->cleaned = 1;
        }
    } else {
        DIFF_OUT("  cleaned on failure=%d\n", it->cleaned);
        if (!it->cleaned) {
            free(it->mem);
            it->mem = NULL;
            it->cleaned = 1;
        }
    }
    touched(bs, NULL);
}

static void
op_add_buffer_reference(struct bstate *dst, struct bstate *src)
{
    size_t dl = evbuffer_get_length(dst->b), sl = evbuffer_get_length(src->b);
    int r;
    if (dl == 0 && sl != 0 && !dst->fz_back && dst != src) {
        /* libevent 2.1.12 frees the empty chains of an empty outbuf and
         * then appends to them (use after free): stay away. */
        DIFF_OUT("s%d add_buffer_reference %s <- %s skipped (empty dst)\n",
            step_no, bname(dst), bname(src));
        return;
    }
    if (dst == src && sl == 0 && !opt_noop) return;
    if (src->taint & (T_MC | T_FILE)) {
        /* Whether such data still counts as a reference after copies
         * is a layout matter. */
        DIFF_OUT("s%d add_buffer_reference %s <- %s skipped (tainted src)\n",
            step_no, bname(dst), bname(src));
        return;
    }
    if (dst != src && cycle_risk(dst, src->gen < 64 ? 1ULL << src->gen : ~0ULL,
            "add_buffer_reference", src))
        return;
    r = evbuffer_add_buffer_reference(dst->b, src->b);
    DIFF_OUT("s%d add_buffer_reference %s <- %s -> %d\n", step_no,
        bname(dst), bname(src), r);
    if (r == 0 && sl && dst != src) {
        move_items(dst, src, T_MC);
        if (src->gen < 64) dst->srcs |= 1ULL << src->gen;
        src->taint |= T_MC;
    }
    touched(dst, src);
}

static ev_off_t
gen_file_len(ev_off_t off, ev_off_t max)
{
    /* 1..max-off bytes, or -1 (to the end) */
    if (chance(25)) return -1;
    return 1 + (ev_off_t)rnd((unsigned)(max - off));
}

static void
op_add_file(struct bstate *bs)
{
    ev_off_t off = chance(40) ? 0 : (ev_off_t)rnd((unsigned)filesz);
    ev_off_t len = gen_file_len(off, (ev_off_t)filesz);
    int fd, r;
    struct item *it;
    if (len == -1 && off != 0) {
        /* libevent 2.1.12 takes st_size as the length, whatever the
         * offset: only the whole file with -1. */
        off = 0;
    }
    if (bs->fz_back) {
        /* On failure libevent closes the fd it was given (the segment
         * it made is freed with EVBUF_FS_CLOSE_ON_FREE). */
        DIFF_OUT("s%d add_file %s skipped (frozen end)\n", step_no, bname(bs));
        return;
    }
    it = new_item();
    if (!it) return;
    it->is_seg = 1;
    it->userfreed = 1;
    it->cleaned = 1; /* no cleanup callback: the fd closes */
    fd = dup(filefd);
    r = evbuffer_add_file(bs->b, fd, off, len);
    DIFF_OUT("s%d add_file %s off=%lld len=%lld -> %d\n", step_no, bname(bs),
        (long long)off, (long long)len, r);
    if (r == 0) {
        bs->items |= 1ULL << it->id;
        bs->taint |= T_FILE;
    } else {
        close(fd);
    }
    touched(bs, NULL);
}

static struct item *
pick_seg(void)
{
    int i, n = 0, k;
    for (i = 0; i < nitems; i++)
        if (items[i].is_seg && !items[i].userfreed)
            n++;
    if (!n) return NULL;
    k = (int)rnd((unsigned)n);
    for (i = 0; i < nitems; i++)
        if (items[i].is_seg && !items[i].userfreed && k-- == 0)
            return &items[i];
    return NULL;
}

static void
op_seg_new(void)
{
    struct item *it;
    ev_off_t off = chance(40) ? 0 : (ev_off_t)rnd((unsigned)filesz);
    ev_off_t len = gen_file_len(off, (ev_off_t)filesz);
    unsigned flags = 0;
    int fd = filefd;
    if (pick_seg() && chance(50)) return; /* keep few segments alive */
    it = new_item();
    if (!it) return;
    if (len == -1 && off != 0) off = 0;
    if (chance(30)) flags |= EVBUF_FS_DISABLE_MMAP;
    if (chance(50)) flags |= EVBUF_FS_DISABLE_SENDFILE;
    if (chance(30)) flags |= EVBUF_FS_DISABLE_LOCKING;
    if (chance(30)) {
        flags |= EVBUF_FS_CLOSE_ON_FREE;
        fd = dup(filefd);
    }
    it->is_seg = 1;
    it->seg = evbuffer_file_segment_new(fd, off, len, flags);
    it->seglen = len == -1 ? (ev_off_t)filesz - off : len;
    DIFF_OUT("s%d seg_new s%d off=%lld len=%lld flags=%u -> %s\n", step_no,
        it->id, (long long)off, (long long)len, flags,
        it->seg ? "seg" : "NULL");
    if (!it->seg) {
        it->userfreed = 1;
        it->cleaned = 1;
        if (fd != filefd) close(fd);
        return;
    }
    if (chance(80)) {
        evbuffer_file_segment_add_cleanup_cb(it->seg, seg_cleanup, it);
        it->has_cleanup = 1;
    } else {
        it->cleaned = 1;
    }
}

static void
op_seg_free(void)
{
    struct item *it = pick_seg();
    if (!it) return;
    DIFF_OUT("s%d seg_free s%d\n", step_no, it->id);
    it->userfreed = 1;
    evbuffer_file_segment_free(it->seg);
}

static void
op_add_seg(struct bstate *bs)
{
    struct item *it = pick_seg();
    ev_off_t off, len;
    int r;
    if (!it) { op_seg_new(); return; }
    off = chance(30) ? 0 : (ev_off_t)rnd((unsigned)it->seglen);
    len = chance(30) ? -1 : 1 + (ev_off_t)rnd((unsigned)(it->seglen - off));
    if (bs->fz_back) {
        /* libevent 2.1.12 drops the caller's reference to the segment
         * when adding fails: stay away. */
        DIFF_OUT("s%d add_file_segment %s skipped (frozen end)\n", step_no,
            bname(bs));
        return;
    }
    r = evbuffer_add_file_segment(bs->b, it->seg, off, len);
    DIFF_OUT("s%d add_file_segment %s s%d off=%lld len=%lld -> %d\n", step_no,
        bname(bs), it->id, (long long)off, (long long)len, r);
    if (r == 0) {
        bs->items |= 1ULL << it->id;
        bs->taint |= T_FILE;
    }
    touched(bs, NULL);
}

static void
gen_pattern(struct bstate *bs, char *pat, size_t *plen)
{
    size_t len = evbuffer_get_length(bs->b), n = 1 + rnd(5), i;
    if (len && chance(65)) {
        struct evbuffer_ptr p;
        size_t at = rnd((unsigned)len);
        if (at + n > len) n = len - at;
        evbuffer_ptr_set(bs->b, &p, at, EVBUFFER_PTR_SET);
        evbuffer_copyout_from(bs->b, &p, pat, n);
    } else {
        for (i = 0; i < n; i++)
            pat[i] = (char)gen_byte();
    }
    *plen = n;
}

static void
op_search(struct bstate *bs, int ranged)
{
    size_t len = evbuffer_get_length(bs->b), plen;
    char pat[8];
    struct evbuffer_ptr st, en, r;
    int use_start = chance(50), use_end = ranged && chance(80);
    int k;
    if (bs->fz_front) return; /* gen_pattern copies out */
    gen_pattern(bs, pat, &plen);
    if (chance(4)) plen = 0;
    DIFF_OUT("s%d %s %s \"%s\"\n", step_no, ranged ? "search_range" : "search",
        bname(bs), esc((unsigned char *)pat, plen, 8));
    if (use_start && make_ptr(bs, &st, gen_pos(len), "start") < 0)
        return;
    if (use_end && make_ptr(bs, &en, gen_pos(len), "end") < 0)
        return;
    /* find successive occurrences, as a caller would */
    for (k = 0; k < 4; k++) {
        if (ranged)
            r = evbuffer_search_range(bs->b, pat, plen,
                use_start ? &st : NULL, use_end ? &en : NULL);
        else
            r = evbuffer_search(bs->b, pat, plen, use_start ? &st : NULL);
        DIFF_OUT("  -> %zd\n", r.pos);
        if (r.pos < 0) break;
        {
            char got[8];
            ev_ssize_t c = evbuffer_copyout_from(bs->b, &r, got, plen);
            DIFF_OUT("  at match=%d\n", c == (ev_ssize_t)plen &&
                memcmp(got, pat, plen) == 0);
        }
        st = r;
        use_start = 1;
        if (evbuffer_ptr_set(bs->b, &st, 1, EVBUFFER_PTR_ADD) < 0) {
            DIFF_OUT("  add 1 failed\n");
            break;
        }
    }
}

static const char *eolname[] = { "ANY", "CRLF", "CRLF_STRICT", "LF", "NUL" };

static void
op_search_eol(struct bstate *bs)
{
    size_t len = evbuffer_get_length(bs->b), eol = 12345;
    enum evbuffer_eol_style style = (enum evbuffer_eol_style)rnd(5);
    struct evbuffer_ptr st, r;
    int use_start = chance(50), k;
    DIFF_OUT("s%d search_eol %s %s\n", step_no, bname(bs), eolname[style]);
    if (use_start && make_ptr(bs, &st, gen_pos(len), "start") < 0)
        return;
    for (k = 0; k < 3; k++) {
        eol = 12345;
        r = evbuffer_search_eol(bs->b, use_start ? &st : NULL,
            chance(80) ? &eol : NULL, style);
        DIFF_OUT("  -> %zd eol_len=%zu\n", r.pos, eol);
        if (r.pos < 0) break;
        st = r;
        use_start = 1;
        if (evbuffer_ptr_set(bs->b, &st, eol == 12345 ? 1 : eol + 0,
                EVBUFFER_PTR_ADD) < 0) {
            DIFF_OUT("  advance failed\n");
            break;
        }
    }
}

static void
op_readln(struct bstate *bs)
{
    enum evbuffer_eol_style style = (enum evbuffer_eol_style)rnd(5);
    int k, n = 1 + (int)rnd(4);
    if (!opt_readln_cb && bs->ncb > 0 && !bs->deferred) {
        DIFF_OUT("s%d readln %s skipped (callbacks)\n", step_no, bname(bs));
        return;
    }
    DIFF_OUT("s%d readln %s %s x%d\n", step_no, bname(bs), eolname[style], n);
    for (k = 0; k < n; k++) {
        size_t got = 777;
        int want_n = chance(80);
        char *line = evbuffer_readln(bs->b, want_n ? &got : NULL, style);
        if (!line) {
            if (want_n)
                DIFF_OUT("  NULL n=%zu\n", got);
            else
                DIFF_OUT("  NULL\n");
            break;
        }
        if (want_n)
            DIFF_OUT("  line n=%zu strlen=%zu\n", got, strlen(line));
        else
            DIFF_OUT("  line strlen=%zu\n", strlen(line));
        print_bytes("line", (unsigned char *)line,
            want_n ? got : strlen(line));
        free(line);
    }
    touched(bs, NULL);
}

static void
op_peek(struct bstate *bs)
{
    size_t len = evbuffer_get_length(bs->b), cn;
    struct evbuffer_iovec v[MAXVEC];
    struct evbuffer_ptr st;
    int use_start = chance(40);
    static const int nvs[] = { 0, 1, 2, 3, 8, 16 };
    int nv = nvs[rnd(6)], r, i, nc;
    ev_ssize_t plen;
    size_t start = 0, cover = 0, ok = 1;
    unsigned char *c;
    unsigned k = rnd(5);
    plen = k == 0 ? -1 : k == 1 ? 0 : (ev_ssize_t)gen_pos(len);
    DIFF_OUT("s%d peek %s len=%zd nvec=%d\n", step_no, bname(bs), plen, nv);
    if (use_start) {
        start = gen_pos(len);
        if (make_ptr(bs, &st, start, "start") < 0)
            return;
    }
    r = evbuffer_peek(bs->b, plen, use_start ? &st : NULL, v, nv);
    c = content(bs, &cn);
    nc = r < nv ? r : nv;
    for (i = 0; i < nc; i++) {
        if (start + cover + v[i].iov_len > cn ||
            memcmp(v[i].iov_base, c + start + cover, v[i].iov_len) != 0)
            ok = 0;
        cover += v[i].iov_len;
    }
    /* Semantics: the extents we got hold the bytes from start on; when
     * they all fit, they cover what was asked for (or all there is). */
    {
        size_t avail = cn - start;
        size_t asked = plen < 0 ? avail : ((size_t)plen < avail ? (size_t)plen : avail);
        DIFF_OUT("  data ok=%d", (int)ok);
        /* either the extents cover the request, or more were needed (with
         * a negative len, the count stops at nvec) */
        if (plen >= 0)
            DIFF_OUT(" covers=%d", r > nv || cover >= asked);
        else if (nv > 0)
            DIFF_OUT(" covers=%d", r >= nv || cover >= asked);
        DIFF_OUT("\n");
    }
    if (opt_layout) {
        DIFF_OUT("layout   peek -> %d", r);
        for (i = 0; i < nc; i++)
            DIFF_OUT(" %zu", v[i].iov_len);
        DIFF_OUT("\n");
    }
    free(c);
}

static void
op_freeze(struct bstate *bs, int unfreeze)
{
    int front = (int)rnd(2), r;
    if (unfreeze) {
        r = evbuffer_unfreeze(bs->b, front);
        if (front) bs->fz_front = 0; else bs->fz_back = 0;
    } else {
        r = evbuffer_freeze(bs->b, front);
        if (front) bs->fz_front = 1; else bs->fz_back = 1;
    }
    DIFF_OUT("s%d %s %s %s -> %d\n", step_no, unfreeze ? "unfreeze" : "freeze",
        bname(bs), front ? "front" : "end", r);
}

static void
op_add_cb(struct bstate *bs)
{
    struct cbst *c;
    if (bs->ncb >= MAXCB) return;
    c = calloc(1, sizeof(*c));
    c->bs = bs;
    c->id = cb_counter++;
    c->kind = (int)rnd(4);
    if (!opt_nested && (c->kind == 1 || c->kind == 2)) c->kind = 0;
    /* A callback that changes its buffer runs the callbacks again from
     * inside the callback loop; one that removes itself there would pull
     * the outer loop's next entry away: never both on one buffer. */
    if ((c->kind == 1 || c->kind == 2) && bs->n_selfrm) c->kind = 0;
    if (c->kind == 3 && bs->n_modifying) c->kind = 0;
    c->limit = 1 + (int)rnd(4);
    c->all_next = all_cbs;
    all_cbs = c;
    c->ent = evbuffer_add_cb(bs->b, buf_cb, c);
    if (c->kind == 1 || c->kind == 2) bs->n_modifying++;
    if (c->kind == 3) bs->n_selfrm++;
    bs->cbs[bs->ncb++] = c;
    DIFF_OUT("s%d add_cb %s c%d kind=%d limit=%d -> %s\n", step_no, bname(bs),
        c->id, c->kind, c->limit, c->ent ? "entry" : "NULL");
}

static void
forget_cb(struct bstate *bs, int i)
{
    struct cbst *c = bs->cbs[i];
    if (c->kind == 1 || c->kind == 2) bs->n_modifying--;
    if (c->kind == 3 && !c->removed) bs->n_selfrm--;
    c->removed = 1;
    bs->cbs[i] = bs->cbs[--bs->ncb];
}

static void
op_rm_cb(struct bstate *bs)
{
    int i, r;
    struct cbst *c;
    /* drop entries that removed themselves */
    for (i = 0; i < bs->ncb;)
        if (bs->cbs[i]->removed) forget_cb(bs, i); else i++;
    if (!bs->ncb) return;
    i = (int)rnd((unsigned)bs->ncb);
    c = bs->cbs[i];
    if (chance(50)) {
        r = evbuffer_remove_cb_entry(bs->b, c->ent);
        DIFF_OUT("s%d remove_cb_entry %s c%d -> %d\n", step_no, bname(bs),
            c->id, r);
    } else {
        r = evbuffer_remove_cb(bs->b, buf_cb, c);
        DIFF_OUT("s%d remove_cb %s c%d -> %d\n", step_no, bname(bs), c->id, r);
        /* and once more: nothing left to match */
        DIFF_OUT("  again -> %d\n", evbuffer_remove_cb(bs->b, buf_cb, c));
    }
    forget_cb(bs, i);
}

static void
op_cb_flags(struct bstate *bs)
{
    int i, r, set = (int)rnd(2);
    struct cbst *c;
    for (i = 0; i < bs->ncb;)
        if (bs->cbs[i]->removed) forget_cb(bs, i); else i++;
    if (!bs->ncb) return;
    c = bs->cbs[rnd((unsigned)bs->ncb)];
    if (set)
        r = evbuffer_cb_set_flags(bs->b, c->ent, EVBUFFER_CB_ENABLED);
    else
        r = evbuffer_cb_clear_flags(bs->b, c->ent, EVBUFFER_CB_ENABLED);
    DIFF_OUT("s%d cb_%s_flags %s c%d ENABLED -> %d\n", step_no,
        set ? "set" : "clear", bname(bs), c->id, r);
}

static void
run_loop(const char *why)
{
    int k, r = 0;
    for (k = 0; k < 3; k++) {
        r = event_base_loop(base, EVLOOP_NONBLOCK);
        DIFF_OUT("%s loop pass %d -> %d\n", why, k, r);
        if (r != 0) break;
    }
}

static void
op_write(struct bstate *bs)
{
    size_t len = evbuffer_get_length(bs->b), target, total = 0;
    ev_ssize_t h;
    unsigned k = rnd(6);
    int first = 0, r, i, atmost = k != 0;
    if (len == 0 && !opt_write_empty) return;
    if (k == 1) h = -1;
    else if (k == 2) h = 0;
    else if (k == 3) h = (ev_ssize_t)(len + 1 + rnd(10));
    else h = (ev_ssize_t)gen_pos(len);
    if (!atmost) h = -1;
    if (h == 0 && !opt_write_empty) h = -1;
    target = (h < 0 || (size_t)h > len) ? len : (size_t)h;
    for (i = 0; i < 10; i++) {
        errno = 0;
        if (!atmost)
            r = evbuffer_write(bs->b, sp[0]);
        else
            r = evbuffer_write_atmost(bs->b, sp[0],
                i == 0 ? h : (ev_ssize_t)(target - total));
        if (opt_layout)
            DIFF_OUT("layout   write call %d -> %d\n", i, r);
        if (i == 0) first = r;
        if (r <= 0) break;
        total += (size_t)r;
        if (total >= target) break;
    }
    DIFF_OUT("s%d %s %s h=%zd -> first=%d total=%zu\n", step_no,
        atmost ? "write_atmost" : "write", bname(bs), h,
        first > 0 ? 1 : first, total);
    peer_drain("peer got");
    touched(bs, NULL);
}

static void
op_read(struct bstate *bs)
{
    size_t n = chance(10) ? 0 : chance(15) ? 4096 + rnd(5000) : gen_len();
    unsigned char *d = malloc(n + 1);
    unsigned k = rnd(5);
    int howmuch, r, i;
    gen_data(d, n);
    peer_send(d, n);
    free(d);
    /* howmuch 0: libevent 2.1.12 asserts in evbuffer_read_setup_vecs_()
     * when the last chain with data is full, so only with --read0 */
    if (k == 0) howmuch = -1;
    else if (k == 1 && opt_read0) howmuch = 0;
    else if (k == 2) howmuch = (int)(n + 1 + rnd(100));
    else howmuch = (int)rnd((unsigned)n + 1);
    if (howmuch == 0 && !opt_read0) howmuch = -1;
    DIFF_OUT("s%d read %s peer sent %zu\n", step_no, bname(bs), n);
    for (i = 0; i < 12; i++) {
        errno = 0;
        r = evbuffer_read(bs->b, sp[0], i == 0 ? howmuch : -1);
        if (r < 0 && !bs->fz_back)
            DIFF_OUT("  read %d -> %d errno=%s\n", i == 0 ? howmuch : -1, r,
                errno == EAGAIN || errno == EWOULDBLOCK ? "EAGAIN" : "other");
        else
            DIFF_OUT("  read %d -> %d\n", i == 0 ? howmuch : -1, r);
        if (r < 0 || (r == 0 && i > 0)) break;
    }
    {
        /* whatever the library left unread */
        unsigned char tmp[65536];
        ssize_t left = read(sp[0], tmp, sizeof(tmp));
        DIFF_OUT("  left unread %zd\n", left < 0 ? (ssize_t)0 : left);
        while (left > 0)
            left = read(sp[0], tmp, sizeof(tmp));
    }
    touched(bs, NULL);
}

static void
op_eof(struct bstate *bs)
{
    int r;
    errno = 0;
    shutdown(sp[1], SHUT_WR);
    r = evbuffer_read(bs->b, sp[0], chance(50) ? -1 : 10);
    DIFF_OUT("s%d read-at-eof %s -> %d\n", step_no, bname(bs), r);
    new_socketpair();
    touched(bs, NULL);
}

/* A buffer with EVBUFFER_FLAG_DRAINS_TO_FD, file data by sendfile() and
 * plain data, written out until empty.  Only lengths and the bytes seen
 * by the peer are looked at: libevent cannot copy out sendfile chains. */
static void
sendfile_scenario(void)
{
    struct evbuffer *d = evbuffer_new();
    struct evbuffer_file_segment *seg;
    struct item *it = new_item();
    ev_off_t off = (ev_off_t)rnd((unsigned)filesz);
    ev_off_t len = 1 + (ev_off_t)rnd((unsigned)(filesz - (size_t)off));
    int r, i, fd;
    unsigned char buf[600];
    size_t total = 0;
    if (!it) { evbuffer_free(d); return; }
    it->is_seg = 1;
    DIFF_OUT("sendfile scenario\n");
    DIFF_OUT("  set_flags DRAINS_TO_FD -> %d\n",
        evbuffer_set_flags(d, EVBUFFER_FLAG_DRAINS_TO_FD));
    gen_data(buf, 100);
    DIFF_OUT("  add 100 -> %d\n", evbuffer_add(d, buf, 100));
    seg = evbuffer_file_segment_new(filefd, off, len,
        chance(30) ? EVBUF_FS_DISABLE_MMAP : 0);
    DIFF_OUT("  seg_new s%d off=%lld len=%lld -> %s\n", it->id,
        (long long)off, (long long)len, seg ? "seg" : "NULL");
    if (seg) {
        it->seg = seg;
        evbuffer_file_segment_add_cleanup_cb(seg, seg_cleanup, it);
        DIFF_OUT("  add_file_segment -> %d\n",
            evbuffer_add_file_segment(d, seg, 0, -1));
        gen_data(buf, 600);
        DIFF_OUT("  add 600 -> %d\n", evbuffer_add(d, buf, 600));
        DIFF_OUT("  add_file_segment again -> %d\n",
            evbuffer_add_file_segment(d, seg, 0, len > 5 ? 5 : len));
        DIFF_OUT("  seg_free s%d\n", it->id);
        it->userfreed = 1;
        evbuffer_file_segment_free(seg);
    } else {
        it->cleaned = 1;
    }
    fd = dup(filefd);
    r = evbuffer_add_file(d, fd, 0, -1);
    DIFF_OUT("  add_file whole -> %d\n", r);
    if (r < 0) close(fd);
    gen_data(buf, 10);
    r = evbuffer_add(d, buf, 10);
    DIFF_OUT("  add 10 -> %d len=%zu\n", r, evbuffer_get_length(d));
    for (i = 0; i < 40 && evbuffer_get_length(d) > 0; i++) {
        r = evbuffer_write(d, sp[0]);
        if (opt_layout)
            DIFF_OUT("layout   sendfile write %d -> %d\n", i, r);
        if (r <= 0) break;
        total += (size_t)r;
    }
    DIFF_OUT("  written total=%zu left=%zu\n", total, evbuffer_get_length(d));
    peer_drain("peer got");
    DIFF_OUT("  clear_flags -> %d\n",
        evbuffer_clear_flags(d, EVBUFFER_FLAG_DRAINS_TO_FD));
    DIFF_OUT("  free\n");
    evbuffer_free(d);
}

/* --------------------------------------------------------------- scripts */

static void
one_step(void)
{
    struct bstate *a = pick(), *b;
    unsigned op = rnd(100);

    /* keep buffers small enough for one socket write */
    if (evbuffer_get_length(a->b) > BIGLEN && op < 50) {
        size_t len = evbuffer_get_length(a->b);
        int r;
        if (a->fz_front) {
            a->fz_front = 0;
            DIFF_OUT("s%d unfreeze %s front (big) -> %d\n", step_no, bname(a),
                evbuffer_unfreeze(a->b, 1));
        }
        r = evbuffer_drain(a->b, len / 2);
        DIFF_OUT("s%d drain %s %zu (big) -> %d\n", step_no, bname(a), len / 2, r);
        touched(a, NULL);
        return;
    }
    if (op < 8) op_add(a);
    else if (op < 10) op_printf(a, 0);
    else if (op < 12) op_printf(a, 1);
    else if (op < 16) op_prepend(a);
    else if (op < 18) op_add_iovec(a);
    else if (op < 22) op_drain(a);
    else if (op < 25) {
        if ((a->taint & T_FILE) && !opt_file_undefined)
            op_copyout(a);
        else
            op_remove(a);
    }
    else if (op < 27) op_copyout(a);
    else if (op < 29) op_copyout_from(a);
    else if (op < 32) op_pullup(a);
    else if (op < 33) op_expand(a);
    else if (op < 37) op_reserve(a);
    else if (op < 40) { b = pick_other(a); op_add_buffer(a, b); }
    else if (op < 42) { b = pick_other(a); op_prepend_buffer(a, b); }
    else if (op < 45) { b = pick_other(a); op_remove_buffer(a, b); }
    else if (op < 48) { if (opt_ref) op_add_reference(a); }
    else if (op < 50) {
        if (opt_bufref) { b = pick_other(a); op_add_buffer_reference(a, b); }
    }
    else if (op < 51) { if (opt_file) op_add_file(a); }
    else if (op < 53) { if (opt_file) op_add_seg(a); }
    else if (op < 54) { if (opt_file) op_seg_new(); }
    else if (op < 55) { if (opt_file) op_seg_free(); }
    else if (op < 58) op_search(a, 0);
    else if (op < 60) op_search(a, 1);
    else if (op < 63) op_search_eol(a);
    else if (op < 68) op_readln(a);
    else if (op < 70) op_ptr(a);
    else if (op < 73) op_peek(a);
    else if (op < 75) op_freeze(a, 0);
    else if (op < 79) op_freeze(a, 1);
    else if (op < 80) {
        DIFF_OUT("s%d length %s -> %zu\n", step_no, bname(a),
            evbuffer_get_length(a->b));
        if (opt_layout)
            DIFF_OUT("layout   contig %s -> %zu\n", bname(a),
                evbuffer_get_contiguous_space(a->b));
    }
    else if (op < 84) { if (opt_cb) op_add_cb(a); }
    else if (op < 86) { if (opt_cb) op_rm_cb(a); }
    else if (op < 88) { if (opt_cb) op_cb_flags(a); }
    else if (op < 91) {
        char why[32];
        snprintf(why, sizeof(why), "s%d", step_no);
        run_loop(why);
    }
    else if (op < 94) { if (opt_io) op_write(a); }
    else if (op < 97) { if (opt_io) op_read(a); }
    else if (op < 98) { if (opt_io) op_eof(a); }
    else {
        /* replace the buffer */
        int slot = a->slot;
        if (a->deferred && (!opt_free_pending || !opt_defer_noop))
            run_loop("pre-free");
        DIFF_OUT("s%d renew %s\n", step_no, bname(a));
        free_bs(a);
        slots[slot] = new_bs(slot);
    }
}

static int
count_fds(void)
{
    int n = 0, fd;
    for (fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            n++;
    return n;
}

static void
run_script(unsigned long seed, int steps)
{
    char path[] = "/tmp/diff-evbuffer-XXXXXX";
    int i, fds_before = count_fds();
    struct bstate *bs, *nb;
    struct cbst *c, *nc;

    rng.s = seed * 0x2545F4914F6CDD1DULL + 0x1234567ULL;
    DIFF_OUT("seed %lu\n", seed);
    nitems = 0;
    gen_counter = 0;
    cb_counter = 0;
    all_bs = NULL;
    all_cbs = NULL;

    base = event_base_new();
    new_socketpair();
    filesz = 1 + rnd(9000);
    filedata = malloc(filesz);
    gen_data(filedata, filesz);
    filefd = mkstemp(path);
    if (filefd < 0 || write(filefd, filedata, filesz) != (ssize_t)filesz) {
        perror("temp file");
        exit(1);
    }
    unlink(path);
    DIFF_OUT("file %zu h=%016llx\n", filesz,
        (unsigned long long)fnv(filedata, filesz));

    for (i = 0; i < NBUF; i++)
        slots[i] = new_bs(i);
    for (step_no = 0; step_no < steps; step_no++) {
        one_step();
        if (!opt_defer_noop) {
            /* let no deferred run wait past the step that asked for it */
            int any = 0;
            for (i = 0; i < NBUF; i++)
                any |= slots[i]->deferred;
            if (any) {
                int r = event_base_loop(base, EVLOOP_NONBLOCK);
                DIFF_OUT("flush loop -> %d\n", r);
            }
        }
    }

    if (opt_file && opt_sendfile && opt_io && chance(40))
        sendfile_scenario();

    /* the end: free everything, let pending deferred callbacks run */
    DIFF_OUT("end\n");
    for (i = 0; i < NBUF; i++) {
        if (slots[i]->deferred && (!opt_free_pending || !opt_defer_noop))
            run_loop("pre-free");
        free_bs(slots[i]);
    }
    run_loop("final");
    for (i = 0; i < nitems; i++) {
        if (items[i].is_seg && !items[i].userfreed) {
            DIFF_OUT("seg_free s%d\n", i);
            items[i].userfreed = 1;
            evbuffer_file_segment_free(items[i].seg);
        }
    }
    for (i = 0; i < nitems; i++) {
        if (!items[i].cleaned)
            DIFF_OUT("!! item %d never cleaned up\n", i);
        if (!items[i].is_seg && items[i].mem) {
            free(items[i].mem);
            items[i].mem = NULL;
        }
    }
    event_base_free(base);
    base = NULL;
    close(sp[0]);
    close(sp[1]);
    sp[0] = sp[1] = -1;
    close(filefd);
    filefd = -1;
    free(filedata);
    filedata = NULL;
    DIFF_OUT("fds leaked %d\n", count_fds() - fds_before);
    fflush(stdout);
    for (bs = all_bs; bs; bs = nb) { nb = bs->all_next; free(bs); }
    for (c = all_cbs; c; c = nc) { nc = c->all_next; free(c); }
}

static void
ignore_log(int severity, const char *msg)
{
    (void)severity;
    (void)msg;
}


static void
usage(void)
{
    printf("usage: diff-evbuffer [--seeds=N] [--first=N] [--steps=N]\n"
        "  [--no-layout]\n"
        "  features: [--no-cb] [--no-defer] [--no-nested] [--no-file]\n"
        "    [--no-sendfile] [--no-io] [--no-bufref] [--no-ref]\n"
        "    [--no-badcommit] [--no-write-empty] [--no-self] [--no-huge]\n"
        "  known differences: [--no-readln-cb] [--no-noop]\n"
        "    [--no-rmbuf-order] [--no-defer-noop] [--no-free-pending]\n"
        "  off by default: [--file-undefined] [--read0] [--strict-commit]\n");
}

int
main(int argc, char **argv)
{
    long seeds, first, steps, s;

    if (diff_has_flag(argc, argv, "--help")) {
        usage();
        return 0;
    }
    {
        /* every argument must be known: a typo would quietly test less */
        static const char *const known[] = { "--no-layout", "--no-cb",
            "--no-defer", "--no-nested", "--no-file", "--no-sendfile",
            "--no-io", "--no-bufref", "--no-ref", "--no-badcommit",
            "--no-write-empty", "--no-self", "--no-huge", "--no-readln-cb",
            "--no-noop", "--no-rmbuf-order", "--no-defer-noop",
            "--no-free-pending", "--file-undefined", "--read0",
            "--strict-commit", NULL };
        int i, k;
        for (i = 1; i < argc; i++) {
            int ok = strncmp(argv[i], "--seeds=", 8) == 0 ||
                strncmp(argv[i], "--first=", 8) == 0 ||
                strncmp(argv[i], "--steps=", 8) == 0;
            for (k = 0; known[k] && !ok; k++)
                ok = strcmp(argv[i], known[k]) == 0;
            if (!ok) {
                fprintf(stderr, "diff-evbuffer: unknown argument %s\n",
                    argv[i]);
                usage();
                return 2;
            }
        }
    }
    seeds = diff_opt(argc, argv, "seeds", 600);
    first = diff_opt(argc, argv, "first", 1);
    steps = diff_opt(argc, argv, "steps", 80);
    opt_layout = !diff_has_flag(argc, argv, "--no-layout");
    opt_cb = !diff_has_flag(argc, argv, "--no-cb");
    opt_defer = !diff_has_flag(argc, argv, "--no-defer");
    opt_nested = !diff_has_flag(argc, argv, "--no-nested");
    opt_file = !diff_has_flag(argc, argv, "--no-file");
    opt_sendfile = !diff_has_flag(argc, argv, "--no-sendfile");
    opt_io = !diff_has_flag(argc, argv, "--no-io");
    opt_bufref = !diff_has_flag(argc, argv, "--no-bufref");
    opt_ref = !diff_has_flag(argc, argv, "--no-ref");
    opt_badcommit = !diff_has_flag(argc, argv, "--no-badcommit");
    opt_write_empty = !diff_has_flag(argc, argv, "--no-write-empty");
    opt_self = !diff_has_flag(argc, argv, "--no-self");
    opt_huge = !diff_has_flag(argc, argv, "--no-huge");
    opt_readln_cb = !diff_has_flag(argc, argv, "--no-readln-cb");
    opt_noop = !diff_has_flag(argc, argv, "--no-noop");
    opt_rmbuf_order = !diff_has_flag(argc, argv, "--no-rmbuf-order");
    opt_defer_noop = !diff_has_flag(argc, argv, "--no-defer-noop");
    opt_free_pending = !diff_has_flag(argc, argv, "--no-free-pending");
    opt_file_undefined = diff_has_flag(argc, argv, "--file-undefined");
    opt_read0 = diff_has_flag(argc, argv, "--read0");
    opt_strict_commit = diff_has_flag(argc, argv, "--strict-commit");
    if (seeds < 0 || steps < 0) {
        usage();
        return 2;
    }

    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    diff_print_lib();
    event_set_log_callback(ignore_log);
    for (s = first; s < first + seeds; s++)
        run_script((unsigned long)s, (int)steps);
    DIFF_OUT("done\n");
    fflush(stdout);
    return 0;
}

/*
 * fuzz-evbuffer-readln: evbuffer_readln, evbuffer_search_eol and the
 * evbuffer_search family across chain edges.
 *
 * Input layout:
 *   byte 0        options: bits 0-2 how many bytes to drain first (a
 *                 misaligned first chain), bits 3-5 the search needle's
 *                 length from byte 1 on
 *   bytes 1..     needle bytes, then chunks: a header byte (bits 0-5
 *                 length, bits 6-7 how the chunk is added) and its bytes
 * Chunk kinds: 0 evbuffer_add into a scratch buffer moved over with
 * evbuffer_add_buffer (a chain of its own), 1 evbuffer_add_reference (a
 * chain of its own, pointing into the input), 2 evbuffer_add straight
 * into the buffer (joins the last chain when it fits), 3 the chunk moved
 * with evbuffer_remove_buffer in two pieces.
 *
 * For each of the five end-of-line styles (and one unknown style) the
 * buffer is rebuilt; end-of-line and needle searches from about 25
 * starting points are compared with a flat copy; then lines are read
 * until none is left, each one compared, and the rest of the buffer
 * compared every 32 lines and at the end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "fuzz-common.h"
#include "fuzz-model.h"

#define MAX_CHUNKS 512

static void
quiet_log(int severity, const char *msg)
{
    (void)severity;
    (void)msg;
}

/* Builds the buffer; returns it and the flat copy in flat/flat_len. */
static struct evbuffer *
build(struct fuzz_input *in, unsigned char *flat, size_t *flat_len)
{
    struct evbuffer *buf = evbuffer_new(), *tmp = evbuffer_new();
    int chunks;

    FUZZ_CHECK(buf != NULL && tmp != NULL);
    *flat_len = 0;
    for (chunks = 0; chunks < MAX_CHUNKS && !fuzz_done(in); chunks++) {
        uint8_t h = fuzz_u8(in);
        size_t n, half;
        const uint8_t *p = fuzz_bytes(in, h & 0x3f, &n);

        switch (h >> 6) {
        case 0:
            FUZZ_CHECK(evbuffer_add(tmp, p, n) == 0);
            FUZZ_CHECK(evbuffer_add_buffer(buf, tmp) == 0);
            break;
        case 1:
            FUZZ_CHECK(evbuffer_add_reference(buf, p, n, NULL, NULL) == 0);
            break;
        case 2:
            FUZZ_CHECK(evbuffer_add(buf, p, n) == 0);
            break;
        default:
            half = n / 2;
            FUZZ_CHECK(evbuffer_add(tmp, p, n) == 0);
            FUZZ_CHECK(evbuffer_remove_buffer(tmp, buf, half) ==
                       (int)half);
            FUZZ_CHECK(evbuffer_remove_buffer(tmp, buf, n) ==
                       (int)(n - half));
            break;
        }
        memcpy(flat + *flat_len, p, n);
        *flat_len += n;
        FUZZ_CHECK(evbuffer_get_length(tmp) == 0);
    }
    evbuffer_free(tmp);
    FUZZ_CHECK(evbuffer_get_length(buf) == *flat_len);
    return buf;
}

static void
check_rest(struct evbuffer *buf, const unsigned char *flat, size_t len)
{
    unsigned char *got;

    FUZZ_CHECK(evbuffer_get_length(buf) == len);
    got = malloc(len + 1);
    FUZZ_CHECK(got != NULL);
    FUZZ_CHECK(evbuffer_copyout(buf, got, len + 1) == (ev_ssize_t)len);
    FUZZ_CHECK(memcmp(got, flat, len) == 0);
    free(got);
}

/* Searching from every position would be quadratic: the first 8
 * positions, about 16 spread over the rest, and the end. */
static int
probe_position(size_t i, size_t len)
{
    return i < 8 || i % (len / 16 + 1) == 0 || i == len;
}

static void
check_searches(struct evbuffer *buf, const unsigned char *flat, size_t len,
    const unsigned char *needle, size_t nlen, int style)
{
    static const char *fixed[] = { "\r\n", "\n\r", "\n", "\r\n\r\n", "\0" };
    struct evbuffer_ptr start, end, r;
    size_t i, eol, got, k, lim;
    long exp;

    for (i = 0; i <= len; i++) {
        if (!probe_position(i, len))
            continue;
        FUZZ_CHECK(evbuffer_ptr_set(buf, &start, i, EVBUFFER_PTR_SET) == 0);
        got = 77;
        r = evbuffer_search_eol(buf, &start, &got,
            (enum evbuffer_eol_style)style);
        exp = model_find_eol(flat, len, i, style, &eol);
        FUZZ_CHECK(r.pos == exp);
        FUZZ_CHECK(got == (exp < 0 ? 0 : eol));

        for (k = 0; k < sizeof(fixed) / sizeof(fixed[0]) + 1; k++) {
            const unsigned char *w = k < 5 ? (const unsigned char *)fixed[k]
                                           : needle;
            size_t wlen = k < 5 ? (k == 4 ? 1 : strlen(fixed[k])) : nlen;
            if (wlen == 0)
                continue;
            r = evbuffer_search(buf, (const char *)w, wlen, &start);
            FUZZ_CHECK(r.pos == model_search(flat, i, len, w, wlen));
            /* A range ending a little way on. */
            lim = i + (len - i) / 2;
            FUZZ_CHECK(evbuffer_ptr_set(buf, &end, lim,
                           EVBUFFER_PTR_SET) == 0);
            r = evbuffer_search_range(buf, (const char *)w, wlen, &start,
                &end);
            FUZZ_CHECK(r.pos == model_search(flat, i, lim, w, wlen));
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    struct fuzz_input in = { data, size, 0 };
    unsigned char *flat, needle[8];
    const uint8_t *p;
    size_t len, drain, nlen, n, eol, body_off;
    uint8_t opts;
    int style;

    if (!quiet) {
        event_set_log_callback(quiet_log);
        quiet = 1;
    }
    opts = fuzz_u8(&in);
    drain = opts & 7;
    p = fuzz_bytes(&in, (opts >> 3) & 7, &nlen);
    memcpy(needle, p, nlen);
    body_off = in.off;
    /* Chunks hold input bytes only: the flat copy is never longer. */
    flat = malloc(size + 1);
    FUZZ_CHECK(flat != NULL);

    for (style = EVBUFFER_EOL_ANY; style <= EVBUFFER_EOL_NUL + 1; style++) {
        struct evbuffer *buf;
        size_t pos = 0;
        int lines;

        in.off = body_off;
        buf = build(&in, flat, &len);
        if (drain > len)
            drain = len;
        FUZZ_CHECK(evbuffer_drain(buf, drain) == 0);
        memmove(flat, flat + drain, len - drain);
        len -= drain;

        check_searches(buf, flat, len, needle, nlen, style);
        for (lines = 0; lines <= (int)len + 1; lines++) {
            long at = model_find_eol(flat, len, pos, style, &eol);
            char *line = evbuffer_readln(buf, &n,
                (enum evbuffer_eol_style)style);
            if (at < 0) {
                FUZZ_CHECK(line == NULL && n == 0);
                break;
            }
            FUZZ_CHECK(line != NULL);
            FUZZ_CHECK(n == (size_t)at - pos);
            FUZZ_CHECK(memcmp(line, flat + pos, n) == 0 && line[n] == '\0');
            free(line);
            pos = (size_t)at + eol;
            /* The whole rest now and then; its length every time. */
            if (lines % 32 == 0)
                check_rest(buf, flat + pos, len - pos);
            else
                FUZZ_CHECK(evbuffer_get_length(buf) == len - pos);
        }
        check_rest(buf, flat + pos, len - pos);
        evbuffer_free(buf);
    }
    free(flat);
    return 0;
}

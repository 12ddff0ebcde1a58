/*
 * fuzz-model.h: the flat-buffer reference for evbuffer searches, written
 * straight from libevent 2.1's documented behaviour, shared by the
 * evbuffer fuzz targets.
 */
#ifndef FUZZ_MODEL_H
#define FUZZ_MODEL_H

#include <stddef.h>
#include <string.h>

#include <event2/buffer.h>

/* Where the first end of line at or after start begins, per style; -1 if
 * there is none (or the style is unknown).  *eol gets its length:
 *   ANY          a run of any '\r' and '\n' characters
 *   CRLF         "\n", or "\r\n" (the '\r' counts only at or after start)
 *   CRLF_STRICT  "\r\n"
 *   LF           "\n"
 *   NUL          "\0" */
static inline long
model_find_eol(const unsigned char *d, size_t len, size_t start, int style,
    size_t *eol)
{
    size_t i, j;

    *eol = 0;
    for (i = start; i < len; i++) {
        switch (style) {
        case EVBUFFER_EOL_ANY:
            if (d[i] == '\r' || d[i] == '\n') {
                for (j = i; j < len && (d[j] == '\r' || d[j] == '\n'); j++)
                    ;
                *eol = j - i;
                return (long)i;
            }
            break;
        case EVBUFFER_EOL_CRLF:
            if (d[i] == '\n') {
                if (i > start && d[i - 1] == '\r') {
                    *eol = 2;
                    return (long)(i - 1);
                }
                *eol = 1;
                return (long)i;
            }
            break;
        case EVBUFFER_EOL_CRLF_STRICT:
            if (d[i] == '\r' && i + 1 < len && d[i + 1] == '\n') {
                *eol = 2;
                return (long)i;
            }
            break;
        case EVBUFFER_EOL_LF:
            if (d[i] == '\n') {
                *eol = 1;
                return (long)i;
            }
            break;
        case EVBUFFER_EOL_NUL:
            if (d[i] == '\0') {
                *eol = 1;
                return (long)i;
            }
            break;
        default:
            return -1;
        }
    }
    return -1;
}

/* First i in [start, limit - wlen] where what[0..wlen) occurs; -1. */
static inline long
model_search(const unsigned char *d, size_t start, size_t limit,
    const unsigned char *what, size_t wlen)
{
    size_t i;

    if (limit < wlen)
        return -1;
    for (i = start; i + wlen <= limit; i++)
        if (memcmp(d + i, what, wlen) == 0)
            return (long)i;
    return -1;
}

#endif /* FUZZ_MODEL_H */

/*
 * fuzz-common.h: helpers shared by the fuzz targets in test/fuzz/.
 *
 * A target consumes its input through a struct fuzz_input, which never
 * reads past the end: once the input is exhausted every getter returns
 * zeros, so a target can always finish its current step.  FUZZ_CHECK
 * aborts with the failing condition and line, which libFuzzer reports as
 * a crash and the replay driver as a failed test.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fuzz_input {
    const uint8_t *data;
    size_t len;
    size_t off;
};

static inline int
fuzz_done(const struct fuzz_input *in)
{
    return in->off >= in->len;
}

static inline uint8_t
fuzz_u8(struct fuzz_input *in)
{
    return in->off < in->len ? in->data[in->off++] : 0;
}

static inline uint16_t
fuzz_u16(struct fuzz_input *in)
{
    uint16_t hi = fuzz_u8(in);
    return (uint16_t)((hi << 8) | fuzz_u8(in));
}

/* Up to want bytes of the input; *got says how many there were. */
static inline const uint8_t *
fuzz_bytes(struct fuzz_input *in, size_t want, size_t *got)
{
    const uint8_t *p = in->data + in->off;
    size_t left = in->len - in->off;

    if (in->off >= in->len) {
        *got = 0;
        return in->data;
    }
    *got = want < left ? want : left;
    in->off += *got;
    return p;
}

#define FUZZ_CHECK(cond)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: mismatch: %s\n", __FILE__, __LINE__,   \
                #cond);                                                    \
            abort();                                                       \
        }                                                                  \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* FUZZ_COMMON_H */

/*
 * event2/buffer_compat.h: the libevent 1.x evbuffer API.
 *
 * Kept for old programs: a single change callback with a different
 * signature, the EVBUFFER_LENGTH/EVBUFFER_DATA macros and two lookups
 * with weaker semantics than their replacements in event2/buffer.h.
 */
#ifndef EVENT2_BUFFER_COMPAT_H_INCLUDED_
#define EVENT2_BUFFER_COMPAT_H_INCLUDED_

/** @file event2/buffer_compat.h
 * Deprecated evbuffer functions and macros.
 */

#include <event2/visibility.h>
/* libevent's version needs event2/buffer.h included first; ours does it. */
#include <event2/buffer.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Remove a line ending in any mix of CR and LF; the caller frees it.
 * Deprecated: use evbuffer_readln().
 */
EVENT2_EXPORT_SYMBOL
char *evbuffer_readline(struct evbuffer *buffer);

/** The 1.x change callback: the lengths before and after the change. */
typedef void (*evbuffer_cb)(struct evbuffer *buffer, size_t old_len,
    size_t new_len, void *arg);

/**
 * Replace all callbacks of @p buffer by @p cb (NULL: none).  Deprecated:
 * use evbuffer_add_cb().  Returns 0 or -1.
 */
EVENT2_EXPORT_SYMBOL
int evbuffer_setcb(struct evbuffer *buffer, evbuffer_cb cb, void *cbarg);

/**
 * Find @p what (@p len bytes) and return a pointer to it inside the
 * (now contiguous) buffer, or NULL.  Deprecated: use evbuffer_search().
 */
EVENT2_EXPORT_SYMBOL
unsigned char *evbuffer_find(struct evbuffer *buffer,
    const unsigned char *what, size_t len);

/** The number of bytes in a buffer. */
#define EVBUFFER_LENGTH(x) evbuffer_get_length(x)
/** All the data of a buffer, made contiguous. */
#define EVBUFFER_DATA(x) evbuffer_pullup((x), -1)

#ifdef __cplusplus
}
#endif

#endif /* EVENT2_BUFFER_COMPAT_H_INCLUDED_ */

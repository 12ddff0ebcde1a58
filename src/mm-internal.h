/*
 * mm-internal.h: the allocator every part of the library goes through.
 *
 * event_set_mem_functions() may replace malloc/realloc/free; all library
 * memory is therefore obtained and released with the mm_* macros below so
 * that a user's allocator sees every block.  The event_mm_*_ functions are
 * exported: libevent_pthreads and the add-on libraries call them, and when
 * two copies of the core are loaded (see FACTS.md) every caller must bind
 * to the one copy whose replacement functions were set.
 *
 * Semantics (libevent 2.1's):
 *  - mm_malloc(0) and mm_calloc() with a zero count or size return NULL;
 *  - mm_calloc() fails with errno ENOMEM when count * size overflows;
 *  - mm_strdup(NULL) fails with errno EINVAL;
 *  - mm_realloc() and mm_free() pass straight through (mm_free(NULL) is
 *    a no-op only if the user's free function accepts NULL, as free does).
 */
#ifndef MM_INTERNAL_H_INCLUDED_
#define MM_INTERNAL_H_INCLUDED_

#include "event2/event-config.h"
#include "event2/visibility.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Allocate sz bytes; NULL when sz is 0 or on failure. */
EVENT2_EXPORT_SYMBOL void *event_mm_malloc_(size_t sz);

/** Allocate count * size zeroed bytes; NULL when either is 0, or with
 * errno ENOMEM on overflow or failure. */
EVENT2_EXPORT_SYMBOL void *event_mm_calloc_(size_t count, size_t size);

/** Duplicate a NUL-terminated string; NULL with errno EINVAL for NULL,
 * or ENOMEM on failure. */
EVENT2_EXPORT_SYMBOL char *event_mm_strdup_(const char *str);

/** Resize a block from event_mm_malloc_ (or NULL) to sz bytes. */
EVENT2_EXPORT_SYMBOL void *event_mm_realloc_(void *ptr, size_t sz);

/** Release a block from the functions above. */
EVENT2_EXPORT_SYMBOL void event_mm_free_(void *ptr);

#define mm_malloc(sz) event_mm_malloc_(sz)
#define mm_calloc(count, size) event_mm_calloc_((count), (size))
#define mm_strdup(s) event_mm_strdup_(s)
#define mm_realloc(p, sz) event_mm_realloc_((p), (sz))
#define mm_free(p) event_mm_free_(p)

#ifdef __cplusplus
}
#endif

#endif /* MM_INTERNAL_H_INCLUDED_ */

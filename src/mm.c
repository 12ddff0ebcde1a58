/*
 * mm.c: event_set_mem_functions() and the allocator wrappers behind the
 * mm_* macros.
 *
 * Invariant: each replacement function is used independently as soon as
 * it is set (NULL means the libc one), exactly as libevent 2.1 does, so
 * users must replace all three together before allocating anything.
 * Zero-sized requests return NULL without calling any allocator.
 */
#include "event2/event-config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event2/event.h"
#include "mm-internal.h"

static void *(*mm_malloc_fn)(size_t sz);
static void *(*mm_realloc_fn)(void *p, size_t sz);
static void (*mm_free_fn)(void *p);

void
event_set_mem_functions(void *(*malloc_fn)(size_t sz),
    void *(*realloc_fn)(void *ptr, size_t sz), void (*free_fn)(void *ptr))
{
    mm_malloc_fn = malloc_fn;
    mm_realloc_fn = realloc_fn;
    mm_free_fn = free_fn;
}

void *
event_mm_malloc_(size_t sz)
{
    if (sz == 0)
        return NULL;
    if (mm_malloc_fn)
        return mm_malloc_fn(sz);
    return malloc(sz);
}

void *
event_mm_calloc_(size_t count, size_t size)
{
    void *p;

    if (count == 0 || size == 0)
        return NULL;
    if (count > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    if (!mm_malloc_fn)
        return calloc(count, size);
    p = mm_malloc_fn(count * size);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    return memset(p, 0, count * size);
}

char *
event_mm_strdup_(const char *str)
{
    size_t len;
    char *p;

    if (!str) {
        errno = EINVAL;
        return NULL;
    }
    if (!mm_malloc_fn)
        return strdup(str);
    len = strlen(str);
    if (len == SIZE_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    p = mm_malloc_fn(len + 1);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    return memcpy(p, str, len + 1);
}

void *
event_mm_realloc_(void *ptr, size_t sz)
{
    if (mm_realloc_fn)
        return mm_realloc_fn(ptr, sz);
    return realloc(ptr, sz);
}

/* NULL is not passed on: a user's free function need not accept it. */
void
event_mm_free_(void *ptr)
{
    if (ptr == NULL)
        return;
    if (mm_free_fn)
        mm_free_fn(ptr);
    else
        free(ptr);
}

/*
 * buffer-compat.c: the deprecated evbuffer calls of event2/buffer_compat.h
 * that are plain wrappers -- evbuffer_readline and evbuffer_find.
 * (evbuffer_setcb, which needs the callback list, is in buffer.c.)
 */
#include "event2/event-config.h"

#include "event2/buffer.h"
#include "event2/buffer_compat.h"

#include "evbuffer-internal.h"

char *
evbuffer_readline(struct evbuffer *buf)
{
    EV_REFUSE_NULL_(buf, NULL);
    return evbuffer_readln(buf, NULL, EVBUFFER_EOL_ANY);
}

unsigned char *
evbuffer_find(struct evbuffer *buf, const unsigned char *what, size_t len)
{
    struct evbuffer_ptr ptr;
    unsigned char *data = NULL;

    EV_REFUSE_NULL_(buf, NULL);
    if (len > 0)
        EV_REFUSE_NULL_(what, NULL);
    EVBUFFER_LOCK(buf);
    ptr = evbuffer_search(buf, (const char *)what, len, NULL);
    if (ptr.pos >= 0) {
        /* Make the match contiguous with everything before it. */
        data = evbuffer_pullup(buf, ptr.pos + (ev_ssize_t)len);
        if (data)
            data += ptr.pos;
    }
    EVBUFFER_UNLOCK(buf);
    return data;
}

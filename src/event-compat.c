/*
 * event-compat.c: the libevent 1.4 API, which works on one implicit
 * "current" base set by event_init().
 */
#include "event2/event-config.h"

#include <stddef.h>

#include "event2/event.h"
#include "event2/event_compat.h"
#include "event2/event_struct.h"

#include "event-internal.h"
#include "log-internal.h"

struct event_base *
event_init(void)
{
    struct event_base *base = event_base_new_with_config(NULL);
    if (base == NULL) {
        event_errx(1, "%s: Unable to construct event_base", __func__);
        return NULL;
    }
    event_global_current_base_ = base;
    return base;
}

int
event_dispatch(void)
{
    return event_loop(0);
}

int
event_loop(int flags)
{
    return event_base_loop(event_global_current_base_, flags);
}

int
event_loopexit(const struct timeval *tv)
{
    return event_base_loopexit(event_global_current_base_, tv);
}

int
event_loopbreak(void)
{
    return event_base_loopbreak(event_global_current_base_);
}

int
event_once(evutil_socket_t fd, short events,
    void (*callback)(evutil_socket_t, short, void *), void *arg,
    const struct timeval *tv)
{
    return event_base_once(event_global_current_base_, fd, events, callback,
        arg, tv);
}

int
event_priority_init(int npriorities)
{
    return event_base_priority_init(event_global_current_base_, npriorities);
}

const char *
event_get_method(void)
{
    return event_base_get_method(event_global_current_base_);
}

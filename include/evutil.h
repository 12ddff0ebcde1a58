/*
 * evutil.h: the libevent 1.4 name of event2/util.h.
 */
#ifndef EVENT1_EVUTIL_H_INCLUDED_
#define EVENT1_EVUTIL_H_INCLUDED_

#include <event2/util.h>

#endif /* EVENT1_EVUTIL_H_INCLUDED_ */

/*
 * evsignal-internal.h: signals delivered through a self-pipe.
 *
 * A sigaction handler writes the signal number into a socketpair that
 * the owning base watches with an ordinary internal read event; the loop
 * then counts the bytes per signal and activates the signal's events.
 * Only one base at a time owns signal delivery (libevent 2.1 semantics).
 */
#ifndef EVSIGNAL_INTERNAL_H_INCLUDED_
#define EVSIGNAL_INTERNAL_H_INCLUDED_

#include "event2/event-config.h"
#include "event2/event_struct.h"
#include "event2/util.h"

#include <signal.h>

struct event_base;

struct evsig_info {
    /* Internal read event on ev_signal_pair[0]. */
    struct event ev_signal;
    evutil_socket_t ev_signal_pair[2];
    int ev_signal_added;
    int ev_n_signals_added;
    /* Handlers in place before ours, indexed by signal number. */
    struct sigaction **sh_old;
    int sh_old_max;
};

/* Set up the self-pipe and make base->evsigsel the signal backend. */
int evsig_init_(struct event_base *base);
void evsig_dealloc_(struct event_base *base);
/* Make base the one that receives signals (called on signal add). */
void evsig_set_base_(struct event_base *base);
void evsig_free_globals_(void);
int evsig_global_setup_locks_(const int enable_locks);

extern const struct eventop evsigops;

#endif /* EVSIGNAL_INTERNAL_H_INCLUDED_ */

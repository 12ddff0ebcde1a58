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
    /* signalfd mode (src/signal-fd.c), an opt-in: ev_signal_pair[0] is
     * then the signalfd and ev_signal_pair[1] stays -1; sigfd_watched
     * holds the signals with events, sigfd_blocked those of them that
     * this base blocked itself (and unblocks when they go). */
    int use_signalfd;
    sigset_t sigfd_watched;
    sigset_t sigfd_blocked;
};

/* libevent 2.2's EVENT_BASE_FLAG_USE_SIGNALFD, accepted by
 * event_config_set_flag() but, as an extension, not in our public
 * headers (which stay 2.1's).  EVENT_USE_SIGNALFD in the environment does
 * the same unless EVENT_BASE_FLAG_IGNORE_ENV. */
#define EVENT_BASE_FLAG_USE_SIGNALFD_ 0x200

/* Set up the self-pipe and make base->evsigsel the signal backend. */
int evsig_init_(struct event_base *base);
void evsig_dealloc_(struct event_base *base);
/* Make base the one that receives signals (called on signal add). */
void evsig_set_base_(struct event_base *base);
void evsig_free_globals_(void);
int evsig_global_setup_locks_(const int enable_locks);

extern const struct eventop evsigops;

/* The signalfd variant (src/signal-fd.c), chosen by evsig_init_ when the
 * base opted in; evsig_dealloc_ and evsig_set_base_ defer to it for such
 * a base.  evsigfd_init_ returns -1 (and the self-pipe is used) when
 * signalfd is not available or not wanted. */
int evsigfd_init_(struct event_base *base);
void evsigfd_dealloc_(struct event_base *base);

#endif /* EVSIGNAL_INTERNAL_H_INCLUDED_ */

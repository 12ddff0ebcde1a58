/*
 * stubs.c: stand-ins for the libevent-internal symbols that upstream's
 * regress program (libevent 2.1.12, test/regress*.c) refers to but our
 * libraries do not export.  test/upstream/run.sh links this file into its
 * build of regress; it is never part of the library.
 *
 * Upstream links regress against its own libevent_core and libevent_extra,
 * which export internal helpers (the names ending in '_') and the evdns
 * server API.  run.sh removes the tests that need them, but code of the
 * removed tests and shared set-up code still refer to them, so without
 * these definitions the program would not link.  Each one is either
 *
 *   NEVER    reachable only from a removed test, a removed test group or
 *            a Windows-only path: it prints its name and aborts, so a
 *            stub that is reached shows up as a crashed test, never as a
 *            silent pass;
 *   or a minimal replacement, called by tests that do run (two below).
 *
 * The NEVER stubs, and where upstream's regress calls them:
 *
 *   evdns_add_server_port_with_base, evdns_close_server_port,
 *   evdns_server_request_add_reply, evdns_server_request_add_a_reply,
 *   evdns_server_request_add_aaaa_reply, evdns_server_request_respond,
 *   evdns_server_request_drop
 *       regress_testutils.c: the test DNS server (regress_dnsserver(),
 *       regress_clean_dnsserver(), regress_dns_server_cb()), used only by
 *       the dns/ and http/ groups, which run.sh removes (no evdns/evhttp).
 *   evdns_set_log_fn, evdns_init, evdns_shutdown
 *       regress_main.c: set-up and clean-up of TT_NEED_DNS tests, which
 *       are all in the removed dns/ and http/ groups.
 *   event_base_start_iocp_
 *       regress_main.c: set-up of TT_ENABLE_IOCP tests; off Windows the
 *       set-up returns TT_SKIP for those before it gets there.
 *   event_active_later_
 *       regress.c: main/active_later, removed.
 *   event_base_add_virtual_
 *       regress.c: main/event_base_get_num_events and
 *       main/event_base_get_max_events, removed.
 *   event_deferred_cb_init_, event_callback_activate_,
 *   event_callback_finalize_
 *       regress_finalize.c: finalize/cb_invoked, removed.
 *   event_deferred_cb_init_, event_deferred_cb_schedule_
 *       regress_thread.c: thread/deferred_cb_skew, removed (and off by
 *       default upstream).
 *   event_strlcpy_
 *       regress_util.c: util/strlcpy, removed (it tests libevent's own
 *       copy of strlcpy, which is not part of the API).
 *
 * The replacements:
 *
 *   event_base_assert_ok_
 *       upstream's internal consistency check of an event_base, called
 *       by many tests that run and by the clean-up of every TT_NEED_BASE
 *       test.  Our internals differ, so there is nothing to check it
 *       with: it does nothing, and those tests check only what they
 *       check through the API.
 *   event_global_current_base_
 *       upstream's "current base", set by event_init().  main/fork (a
 *       legacy test) reads it directly; run.sh makes regress_main.c store
 *       the base it gets from event_init() here, which is what upstream's
 *       event_init() does.
 *
 * The prototypes come from upstream's own headers (this file is compiled
 * with regress's include path), so a stub whose signature drifted from
 * upstream's would not compile.
 *
 * Static links (STUBS_STATIC_CORE).  run.sh also links regress statically
 * with a test-only archive of the whole core (libevent_shim_<name>.a, for
 * the kqueue-shim, devpoll-shim and evport-shim backends), and compiles
 * this file a second time, with -DSTUBS_STATIC_CORE, for those links.  An
 * archive hides nothing: its event.c and event-base.c objects, which
 * every link pulls in (event_base_new() is there), define
 *
 *   event_active_later_, event_base_add_virtual_, event_deferred_cb_init_,
 *   event_deferred_cb_schedule_, event_callback_activate_,
 *   event_callback_finalize_, event_global_current_base_
 *
 * so a stub of the same name would be a second definition of it.  That
 * variant leaves those out and the core's own are linked.  The functions
 * are still reachable only from removed tests (and are not called with
 * upstream's structures).  event_global_current_base_ is then the core's
 * own current base, which its event_init() already sets, so main/fork
 * reads exactly what upstream's does (regress_main.c's extra store of the
 * same pointer is harmless).  If the archive stopped defining one of these,
 * or started defining another stub, the static link fails ("undefined
 * reference" or "multiple definition"): the list cannot drift silently.
 */
#include <stdio.h>
#include <stdlib.h>

#include "event2/event-config.h"
#include "event2/dns.h"
#include "event2/dns_compat.h"

#include "event-internal.h"
#include "defer-internal.h"
#include "iocp-internal.h"

/* Only declared by strlcpy-internal.h when the libc lacks strlcpy(). */
size_t event_strlcpy_(char *dst, const char *src, size_t siz);

static void
never(const char *name)
{
    fprintf(stderr, "test/upstream/stubs.c: %s() called; the tests that "
        "use it should have been removed by run.sh\n", name);
    fflush(stderr);
    abort();
}

/* --- evdns (no evdns in our libraries) ------------------------------------ */

struct evdns_server_port *
evdns_add_server_port_with_base(struct event_base *base,
    evutil_socket_t socket, int flags, evdns_request_callback_fn_type callback,
    void *user_data)
{
    (void)base; (void)socket; (void)flags; (void)callback; (void)user_data;
    never(__func__);
    return NULL;
}

void
evdns_close_server_port(struct evdns_server_port *port)
{
    (void)port;
    never(__func__);
}

int
evdns_server_request_add_reply(struct evdns_server_request *req, int section,
    const char *name, int type, int dns_class, int ttl, int datalen,
    int is_name, const char *data)
{
    (void)req; (void)section; (void)name; (void)type; (void)dns_class;
    (void)ttl; (void)datalen; (void)is_name; (void)data;
    never(__func__);
    return -1;
}

int
evdns_server_request_add_a_reply(struct evdns_server_request *req,
    const char *name, int n, const void *addrs, int ttl)
{
    (void)req; (void)name; (void)n; (void)addrs; (void)ttl;
    never(__func__);
    return -1;
}

int
evdns_server_request_add_aaaa_reply(struct evdns_server_request *req,
    const char *name, int n, const void *addrs, int ttl)
{
    (void)req; (void)name; (void)n; (void)addrs; (void)ttl;
    never(__func__);
    return -1;
}

int
evdns_server_request_respond(struct evdns_server_request *req, int err)
{
    (void)req; (void)err;
    never(__func__);
    return -1;
}

int
evdns_server_request_drop(struct evdns_server_request *req)
{
    (void)req;
    never(__func__);
    return -1;
}

void
evdns_set_log_fn(evdns_debug_log_fn_type fn)
{
    (void)fn;
    never(__func__);
}

int
evdns_init(void)
{
    never(__func__);
    return -1;
}

void
evdns_shutdown(int fail_requests)
{
    (void)fail_requests;
    never(__func__);
}

/* --- libevent internals used only by removed tests ------------------------ */

int
event_base_start_iocp_(struct event_base *base, int n_cpus)
{
    (void)base; (void)n_cpus;
    never(__func__);
    return -1;
}

#ifndef STUBS_STATIC_CORE /* the core's archive defines these (above) */
void
event_active_later_(struct event *ev, int res)
{
    (void)ev; (void)res;
    never(__func__);
}

void
event_base_add_virtual_(struct event_base *base)
{
    (void)base;
    never(__func__);
}

void
event_deferred_cb_init_(struct event_callback *cb, ev_uint8_t priority,
    deferred_cb_fn fn, void *arg)
{
    (void)cb; (void)priority; (void)fn; (void)arg;
    never(__func__);
}

int
event_deferred_cb_schedule_(struct event_base *base, struct event_callback *cb)
{
    (void)base; (void)cb;
    never(__func__);
    return 0;
}

int
event_callback_activate_(struct event_base *base, struct event_callback *evcb)
{
    (void)base; (void)evcb;
    never(__func__);
    return 0;
}

void
event_callback_finalize_(struct event_base *base, unsigned flags,
    struct event_callback *evcb, void (*cb)(struct event_callback *, void *))
{
    (void)base; (void)flags; (void)evcb; (void)cb;
    never(__func__);
}

#endif /* !STUBS_STATIC_CORE */

size_t
event_strlcpy_(char *dst, const char *src, size_t siz)
{
    (void)dst; (void)src; (void)siz;
    never(__func__);
    return 0;
}

/* --- replacements used by tests that run ---------------------------------- */

void
event_base_assert_ok_(struct event_base *base)
{
    (void)base;
}

#ifndef STUBS_STATIC_CORE /* the core's archive defines it (above) */
struct event_base *event_global_current_base_ = NULL;
#endif

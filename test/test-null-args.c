/*
 * test-null-args.c: NULL arguments to the buffer layer never crash it.
 *
 * The contract (issue 6): a public function of event2/buffer.h,
 * buffer_compat.h, bufferevent.h, bufferevent_compat.h or listener.h
 * that is handed NULL for a pointer it would dereference, and that its
 * header does not call optional, logs one "function: NULL argument"
 * message through the log callback, sets errno to EINVAL and returns its
 * failure value: -1, NULL, 0 for lengths and sizes (and the byte
 * allowances of rate limits), an evbuffer_ptr with pos -1 for the search
 * functions, nothing for void functions.  The free functions take NULL
 * silently, as free() does.
 *
 * The table below calls every such function once per checked argument,
 * with valid objects for the other arguments.  Next to it: NULL data
 * with a zero length and the documented optional arguments stay legal
 * and quiet, the objects handed to the refused calls are untouched and
 * keep working, and constructors whose base may be NULL (meaning the
 * current base of event_init) refuse only when there is no such base.
 *
 * libevent 2.1 crashes on most of these calls, so this file tests our
 * contract, not compatibility.
 */
#define _GNU_SOURCE
#include "test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/buffer_compat.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_compat.h>
#include <event2/event.h>
#include <event2/event_compat.h>
#include <event2/listener.h>

/* ------------------------------------------------------------------ */
/* Valid objects for the arguments that are not NULL                   */

struct fx {
    struct event_base *base;
    struct evbuffer *buf;      /* holds "hello\nworld\n" */
    struct evbuffer *other;
    struct evbuffer_cb_entry *cbent;
    struct evbuffer_file_segment *seg;
    struct evbuffer_ptr ptr;
    struct evbuffer_iovec vec[2];
    struct bufferevent *bev;   /* socket bufferevent */
    struct bufferevent *nofd;  /* socket bufferevent without a socket */
    evutil_socket_t peer;      /* the other end of bev's socketpair */
    struct bufferevent *pair[2];
    struct ev_token_bucket_cfg *cfg;
    struct bufferevent_rate_limit_group *grp;
    struct evconnlistener *lev;
    struct sockaddr_in sin;    /* 127.0.0.1, port 0 */
    char out[64];
};

/* NULL where the compiler cannot see it (no -Wformat or -Wnonnull noise
 * about the calls that pass NULL on purpose). */
static const char *volatile null_str;
static void *volatile null_ptr;

static void
noop_buf_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
    (void)buf;
    (void)info;
    (void)arg;
}

static void
noop_obsolete_cb(struct evbuffer *buf, size_t old_len, size_t new_len,
    void *arg)
{
    (void)buf;
    (void)old_len;
    (void)new_len;
    (void)arg;
}

static void
noop_data_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    (void)arg;
}

static void
noop_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int socklen, void *arg)
{
    (void)lev;
    (void)sa;
    (void)socklen;
    (void)arg;
    evutil_closesocket(fd);
}

/* A regular file of 16 bytes, opened read-only. */
static int
temp_file(void)
{
    char path[] = "/tmp/test-null-args-XXXXXX";
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(write(fd, "0123456789abcdef", 16), 16);
    return fd;
}

static void
fx_init(struct fx *fx, struct event_base *base)
{
    evutil_socket_t fds[2];
    evutil_socket_t lfd;

    memset(fx, 0, sizeof(*fx));
    fx->base = base;
    fx->buf = evbuffer_new();
    fx->other = evbuffer_new();
    assert_non_null(fx->buf);
    assert_non_null(fx->other);
    assert_int_equal(evbuffer_add(fx->buf, "hello\nworld\n", 12), 0);
    fx->cbent = evbuffer_add_cb(fx->buf, noop_buf_cb, NULL);
    assert_non_null(fx->cbent);
    fx->seg = evbuffer_file_segment_new(temp_file(), 0, -1,
        EVBUF_FS_CLOSE_ON_FREE);
    assert_non_null(fx->seg);
    assert_int_equal(evbuffer_ptr_set(fx->buf, &fx->ptr, 0,
                         EVBUFFER_PTR_SET),
        0);
    fx->vec[0].iov_base = fx->out;
    fx->vec[0].iov_len = 4;
    fx->vec[1] = fx->vec[0];

    tu_socketpair(fds);
    fx->bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
    assert_non_null(fx->bev);
    fx->peer = fds[1];
    fx->nofd = bufferevent_socket_new(base, -1, 0);
    assert_non_null(fx->nofd);
    assert_int_equal(bufferevent_pair_new(base, 0, fx->pair), 0);

    fx->cfg = ev_token_bucket_cfg_new(1000, 2000, 1000, 2000, NULL);
    assert_non_null(fx->cfg);
    fx->grp = bufferevent_rate_limit_group_new(base, fx->cfg);
    assert_non_null(fx->grp);

    lfd = tu_tcp_listener(AF_INET, NULL, NULL);
    assert_true(lfd >= 0);
    fx->lev = evconnlistener_new(base, noop_accept_cb, NULL,
        LEV_OPT_CLOSE_ON_FREE, 0, lfd);
    assert_non_null(fx->lev);

    fx->sin.sin_family = AF_INET;
    fx->sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fx->sin.sin_port = 0;
}

static void
fx_free(struct fx *fx)
{
    evconnlistener_free(fx->lev);
    bufferevent_rate_limit_group_free(fx->grp);
    bufferevent_free(fx->pair[0]);
    bufferevent_free(fx->pair[1]);
    bufferevent_free(fx->bev);
    bufferevent_free(fx->nofd);
    tu_close(&fx->peer);
    ev_token_bucket_cfg_free(fx->cfg);
    evbuffer_file_segment_free(fx->seg);
    evbuffer_free(fx->other);
    evbuffer_free(fx->buf);
    /* Let the bufferevents' finalizers run. */
    tu_loop(fx->base, EVLOOP_NONBLOCK);
}

/* evbuffer_add_vprintf needs a va_list. */
static int
add_vprintf(struct evbuffer *buf, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = evbuffer_add_vprintf(buf, fmt, ap);
    va_end(ap);
    return r;
}

/* ------------------------------------------------------------------ */
/* The table                                                           */

/*
 * X(id, function, argument, expected result, call): the call passes NULL
 * for argument; the message must read "function: NULL argument" (the
 * argument's name in our source).  Results are compared as intptr_t:
 * pointers against 0, void calls yield 0, search calls yield pos.
 */
#define V(call) ((call), 0)
#define P(call) ((intptr_t)(call))
#define POS(call) ((intptr_t)(call).pos)

#define BUFFER_CASES(X)                                                       \
    X(enable_locking, "evbuffer_enable_locking", "buf", -1,                   \
        evbuffer_enable_locking(NULL, NULL))                                  \
    X(lock, "evbuffer_lock", "buf", 0, V(evbuffer_lock(NULL)))                \
    X(unlock, "evbuffer_unlock", "buf", 0, V(evbuffer_unlock(NULL)))          \
    X(set_flags, "evbuffer_set_flags", "buf", -1,                             \
        evbuffer_set_flags(NULL, EVBUFFER_FLAG_DRAINS_TO_FD))                 \
    X(clear_flags, "evbuffer_clear_flags", "buf", -1,                         \
        evbuffer_clear_flags(NULL, EVBUFFER_FLAG_DRAINS_TO_FD))               \
    X(get_length, "evbuffer_get_length", "buf", 0,                            \
        P(evbuffer_get_length(NULL)))                                         \
    X(contiguous, "evbuffer_get_contiguous_space", "buf", 0,                  \
        P(evbuffer_get_contiguous_space(NULL)))                               \
    X(expand, "evbuffer_expand", "buf", -1, evbuffer_expand(NULL, 10))        \
    X(reserve_buf, "evbuffer_reserve_space", "buf", -1,                       \
        evbuffer_reserve_space(NULL, 10, fx->vec, 2))                         \
    X(reserve_vec, "evbuffer_reserve_space", "vec", -1,                       \
        evbuffer_reserve_space(fx->other, 10, NULL, 2))                       \
    X(commit_buf, "evbuffer_commit_space", "buf", -1,                         \
        evbuffer_commit_space(NULL, fx->vec, 1))                              \
    X(commit_vec, "evbuffer_commit_space", "vec", -1,                         \
        evbuffer_commit_space(fx->other, NULL, 1))                            \
    X(add_buf, "evbuffer_add", "buf", -1, evbuffer_add(NULL, "x", 1))         \
    X(add_data, "evbuffer_add", "data", -1, evbuffer_add(fx->other, NULL, 1)) \
    X(remove_buf, "evbuffer_remove", "buf", -1,                               \
        evbuffer_remove(NULL, fx->out, 1))                                    \
    X(remove_data, "evbuffer_remove", "data_out", -1,                         \
        evbuffer_remove(fx->buf, NULL, 1))                                    \
    X(copyout_buf, "evbuffer_copyout", "buf", -1,                             \
        evbuffer_copyout(NULL, fx->out, 1))                                   \
    X(copyout_data, "evbuffer_copyout", "data_out", -1,                       \
        evbuffer_copyout(fx->buf, NULL, 1))                                   \
    X(copyout_from_buf, "evbuffer_copyout_from", "buf", -1,                   \
        evbuffer_copyout_from(NULL, &fx->ptr, fx->out, 1))                    \
    X(copyout_from_data, "evbuffer_copyout_from", "data_out", -1,             \
        evbuffer_copyout_from(fx->buf, &fx->ptr, NULL, 1))                    \
    X(remove_buffer_src, "evbuffer_remove_buffer", "src", -1,                 \
        evbuffer_remove_buffer(NULL, fx->other, 1))                           \
    X(remove_buffer_dst, "evbuffer_remove_buffer", "dst", -1,                 \
        evbuffer_remove_buffer(fx->buf, NULL, 1))                             \
    X(readln, "evbuffer_readln", "buf", 0,                                    \
        P(evbuffer_readln(NULL, NULL, EVBUFFER_EOL_LF)))                      \
    X(add_buffer_out, "evbuffer_add_buffer", "outbuf", -1,                    \
        evbuffer_add_buffer(NULL, fx->other))                                 \
    X(add_buffer_in, "evbuffer_add_buffer", "inbuf", -1,                      \
        evbuffer_add_buffer(fx->other, NULL))                                 \
    X(add_buffer_ref_out, "evbuffer_add_buffer_reference", "outbuf", -1,      \
        evbuffer_add_buffer_reference(NULL, fx->buf))                         \
    X(add_buffer_ref_in, "evbuffer_add_buffer_reference", "inbuf", -1,        \
        evbuffer_add_buffer_reference(fx->other, NULL))                       \
    X(add_reference_buf, "evbuffer_add_reference", "outbuf", -1,              \
        evbuffer_add_reference(NULL, "x", 1, NULL, NULL))                     \
    X(add_reference_data, "evbuffer_add_reference", "data", -1,               \
        evbuffer_add_reference(fx->other, NULL, 1, NULL, NULL))               \
    X(add_file, "evbuffer_add_file", "buf", -1,                               \
        evbuffer_add_file(NULL, -1, 0, -1))                                   \
    X(seg_cleanup, "evbuffer_file_segment_add_cleanup_cb", "seg", 0,          \
        V(evbuffer_file_segment_add_cleanup_cb(NULL, NULL, NULL)))            \
    X(add_segment_buf, "evbuffer_add_file_segment", "buf", -1,                \
        evbuffer_add_file_segment(NULL, fx->seg, 0, -1))                      \
    X(add_segment_seg, "evbuffer_add_file_segment", "seg", -1,                \
        evbuffer_add_file_segment(fx->other, NULL, 0, -1))                    \
    X(printf_buf, "evbuffer_add_printf", "buf", -1,                           \
        evbuffer_add_printf(NULL, "%d", 1))                                   \
    X(printf_fmt, "evbuffer_add_printf", "fmt", -1,                           \
        evbuffer_add_printf(fx->other, null_str, 1))                          \
    X(vprintf_buf, "evbuffer_add_vprintf", "buf", -1,                         \
        add_vprintf(NULL, "%d", 1))                                           \
    X(vprintf_fmt, "evbuffer_add_vprintf", "fmt", -1,                         \
        add_vprintf(fx->other, null_str, 1))                                  \
    X(drain, "evbuffer_drain", "buf", -1, evbuffer_drain(NULL, 1))            \
    X(write, "evbuffer_write", "buf", -1, evbuffer_write(NULL, -1))           \
    X(write_atmost, "evbuffer_write_atmost", "buf", -1,                       \
        evbuffer_write_atmost(NULL, -1, 10))                                  \
    X(read, "evbuffer_read", "buf", -1, evbuffer_read(NULL, -1, 10))          \
    X(search_buf, "evbuffer_search", "buf", -1,                               \
        POS(evbuffer_search(NULL, "o", 1, NULL)))                             \
    X(search_what, "evbuffer_search", "what", -1,                             \
        POS(evbuffer_search(fx->buf, NULL, 1, NULL)))                         \
    X(search_range_buf, "evbuffer_search_range", "buf", -1,                   \
        POS(evbuffer_search_range(NULL, "o", 1, NULL, NULL)))                 \
    X(search_range_what, "evbuffer_search_range", "what", -1,                 \
        POS(evbuffer_search_range(fx->buf, NULL, 1, NULL, NULL)))             \
    X(ptr_set_buf, "evbuffer_ptr_set", "buf", -1,                             \
        evbuffer_ptr_set(NULL, &fx->ptr, 0, EVBUFFER_PTR_SET))                \
    X(ptr_set_ptr, "evbuffer_ptr_set", "ptr", -1,                             \
        evbuffer_ptr_set(fx->buf, NULL, 0, EVBUFFER_PTR_SET))                 \
    X(search_eol, "evbuffer_search_eol", "buf", -1,                           \
        POS(evbuffer_search_eol(NULL, NULL, NULL, EVBUFFER_EOL_LF)))          \
    X(peek, "evbuffer_peek", "buf", -1,                                       \
        evbuffer_peek(NULL, -1, NULL, fx->vec, 2))                            \
    X(add_cb, "evbuffer_add_cb", "buf", 0,                                    \
        P(evbuffer_add_cb(NULL, noop_buf_cb, NULL)))                          \
    X(remove_cb_entry_buf, "evbuffer_remove_cb_entry", "buf", -1,             \
        evbuffer_remove_cb_entry(NULL, fx->cbent))                            \
    X(remove_cb_entry_ent, "evbuffer_remove_cb_entry", "ent", -1,             \
        evbuffer_remove_cb_entry(fx->buf, NULL))                              \
    X(remove_cb, "evbuffer_remove_cb", "buf", -1,                             \
        evbuffer_remove_cb(NULL, noop_buf_cb, NULL))                          \
    X(cb_set_flags_buf, "evbuffer_cb_set_flags", "buf", -1,                   \
        evbuffer_cb_set_flags(NULL, fx->cbent, EVBUFFER_CB_ENABLED))          \
    X(cb_set_flags_cb, "evbuffer_cb_set_flags", "cb", -1,                     \
        evbuffer_cb_set_flags(fx->buf, NULL, EVBUFFER_CB_ENABLED))            \
    X(cb_clear_flags_buf, "evbuffer_cb_clear_flags", "buf", -1,               \
        evbuffer_cb_clear_flags(NULL, fx->cbent, EVBUFFER_CB_ENABLED))        \
    X(cb_clear_flags_cb, "evbuffer_cb_clear_flags", "cb", -1,                 \
        evbuffer_cb_clear_flags(fx->buf, NULL, EVBUFFER_CB_ENABLED))          \
    X(pullup, "evbuffer_pullup", "buf", 0, P(evbuffer_pullup(NULL, -1)))      \
    X(prepend_buf, "evbuffer_prepend", "buf", -1,                             \
        evbuffer_prepend(NULL, "x", 1))                                       \
    X(prepend_data, "evbuffer_prepend", "data", -1,                           \
        evbuffer_prepend(fx->other, NULL, 1))                                 \
    X(prepend_buffer_out, "evbuffer_prepend_buffer", "outbuf", -1,            \
        evbuffer_prepend_buffer(NULL, fx->other))                             \
    X(prepend_buffer_in, "evbuffer_prepend_buffer", "inbuf", -1,              \
        evbuffer_prepend_buffer(fx->other, NULL))                             \
    X(freeze, "evbuffer_freeze", "buf", -1, evbuffer_freeze(NULL, 1))         \
    X(unfreeze, "evbuffer_unfreeze", "buf", -1, evbuffer_unfreeze(NULL, 1))   \
    X(defer_buf, "evbuffer_defer_callbacks", "buf", -1,                       \
        evbuffer_defer_callbacks(NULL, fx->base))                             \
    X(defer_base, "evbuffer_defer_callbacks", "base", -1,                     \
        evbuffer_defer_callbacks(fx->other, NULL))                            \
    X(add_iovec_buf, "evbuffer_add_iovec", "buf", 0,                          \
        P(evbuffer_add_iovec(NULL, fx->vec, 1)))                              \
    X(add_iovec_vec, "evbuffer_add_iovec", "vec", 0,                          \
        P(evbuffer_add_iovec(fx->other, NULL, 1)))

#define BUFFER_COMPAT_CASES(X)                                                \
    X(readline, "evbuffer_readline", "buf", 0, P(evbuffer_readline(NULL)))    \
    X(setcb, "evbuffer_setcb", "buf", -1,                                     \
        evbuffer_setcb(NULL, noop_obsolete_cb, NULL))                         \
    X(find_buf, "evbuffer_find", "buf", 0,                                    \
        P(evbuffer_find(NULL, (const unsigned char *)"o", 1)))                \
    X(find_what, "evbuffer_find", "what", 0,                                  \
        P(evbuffer_find(fx->buf, NULL, 1)))

#define BEV_CASES(X)                                                          \
    X(connect, "bufferevent_socket_connect", "bev", -1,                       \
        bufferevent_socket_connect(NULL, (struct sockaddr *)&fx->sin,         \
            (int)sizeof(fx->sin)))                                            \
    X(connect_sa, "bufferevent_socket_connect", "sa", -1,                     \
        bufferevent_socket_connect(fx->nofd, NULL, 0))                        \
    X(connect_hostname, "bufferevent_socket_connect_hostname", "bev", -1,     \
        bufferevent_socket_connect_hostname(NULL, NULL, AF_INET,              \
            "127.0.0.1", 9))                                                  \
    X(dns_error, "bufferevent_socket_get_dns_error", "bev", -1,               \
        bufferevent_socket_get_dns_error(NULL))                               \
    X(base_set_base, "bufferevent_base_set", "base", -1,                      \
        bufferevent_base_set(NULL, fx->bev))                                  \
    X(base_set_bev, "bufferevent_base_set", "bufev", -1,                      \
        bufferevent_base_set(fx->base, NULL))                                 \
    X(get_base, "bufferevent_get_base", "bufev", 0,                           \
        P(bufferevent_get_base(NULL)))                                        \
    X(priority_set, "bufferevent_priority_set", "bufev", -1,                  \
        bufferevent_priority_set(NULL, 0))                                    \
    X(get_priority, "bufferevent_get_priority", "bufev", -1,                  \
        bufferevent_get_priority(NULL))                                       \
    X(setcb, "bufferevent_setcb", "bufev", 0,                                 \
        V(bufferevent_setcb(NULL, NULL, NULL, NULL, NULL)))                   \
    X(getcb, "bufferevent_getcb", "bufev", 0,                                 \
        V(bufferevent_getcb(NULL, NULL, NULL, NULL, NULL)))                   \
    X(setfd, "bufferevent_setfd", "bufev", -1, bufferevent_setfd(NULL, -1))   \
    X(getfd, "bufferevent_getfd", "bufev", -1, bufferevent_getfd(NULL))       \
    X(get_underlying, "bufferevent_get_underlying", "bufev", 0,               \
        P(bufferevent_get_underlying(NULL)))                                  \
    X(write_bev, "bufferevent_write", "bufev", -1,                            \
        bufferevent_write(NULL, "x", 1))                                      \
    X(write_data, "bufferevent_write", "data", -1,                            \
        bufferevent_write(fx->bev, NULL, 1))                                  \
    X(write_buffer_bev, "bufferevent_write_buffer", "bufev", -1,              \
        bufferevent_write_buffer(NULL, fx->other))                            \
    X(write_buffer_buf, "bufferevent_write_buffer", "buf", -1,                \
        bufferevent_write_buffer(fx->bev, NULL))                              \
    X(read_bev, "bufferevent_read", "bufev", 0,                               \
        P(bufferevent_read(NULL, fx->out, 1)))                                \
    X(read_data, "bufferevent_read", "data", 0,                               \
        P(bufferevent_read(fx->bev, NULL, 1)))                                \
    X(read_buffer_bev, "bufferevent_read_buffer", "bufev", -1,                \
        bufferevent_read_buffer(NULL, fx->other))                             \
    X(read_buffer_buf, "bufferevent_read_buffer", "buf", -1,                  \
        bufferevent_read_buffer(fx->bev, NULL))                               \
    X(get_input, "bufferevent_get_input", "bufev", 0,                         \
        P(bufferevent_get_input(NULL)))                                       \
    X(get_output, "bufferevent_get_output", "bufev", 0,                       \
        P(bufferevent_get_output(NULL)))                                      \
    X(enable, "bufferevent_enable", "bufev", -1,                              \
        bufferevent_enable(NULL, EV_READ))                                    \
    X(disable, "bufferevent_disable", "bufev", -1,                            \
        bufferevent_disable(NULL, EV_READ))                                   \
    X(get_enabled, "bufferevent_get_enabled", "bufev", 0,                     \
        bufferevent_get_enabled(NULL))                                        \
    X(set_timeouts, "bufferevent_set_timeouts", "bufev", -1,                  \
        bufferevent_set_timeouts(NULL, NULL, NULL))                           \
    X(setwatermark, "bufferevent_setwatermark", "bufev", 0,                   \
        V(bufferevent_setwatermark(NULL, EV_READ, 0, 10)))                    \
    X(getwatermark, "bufferevent_getwatermark", "bufev", -1,                  \
        bufferevent_getwatermark(NULL, EV_READ, NULL, NULL))                  \
    X(lock, "bufferevent_lock", "bufev", 0, V(bufferevent_lock(NULL)))        \
    X(unlock, "bufferevent_unlock", "bufev", 0, V(bufferevent_unlock(NULL)))  \
    X(incref, "bufferevent_incref", "bufev", 0, V(bufferevent_incref(NULL)))  \
    X(decref, "bufferevent_decref", "bufev", -1, bufferevent_decref(NULL))    \
    X(flush, "bufferevent_flush", "bufev", -1,                                \
        bufferevent_flush(NULL, EV_WRITE, BEV_FLUSH))                         \
    X(trigger, "bufferevent_trigger", "bufev", 0,                             \
        V(bufferevent_trigger(NULL, EV_READ, 0)))                             \
    X(trigger_event, "bufferevent_trigger_event", "bufev", 0,                 \
        V(bufferevent_trigger_event(NULL, BEV_EVENT_EOF, 0)))                 \
    X(filter_new, "bufferevent_filter_new", "underlying", 0,                  \
        P(bufferevent_filter_new(NULL, NULL, NULL, 0, NULL, NULL)))           \
    X(pair_new_pair, "bufferevent_pair_new", "pair", -1,                      \
        bufferevent_pair_new(fx->base, 0, null_ptr))                          \
    X(pair_new_base, "bufferevent_pair_new", "base", -1,                      \
        bufferevent_pair_new(NULL, 0, fx->pair))                              \
    X(pair_partner, "bufferevent_pair_get_partner", "bev", 0,                 \
        P(bufferevent_pair_get_partner(NULL)))                                \
    X(set_rate_limit, "bufferevent_set_rate_limit", "bev", -1,                \
        bufferevent_set_rate_limit(NULL, fx->cfg))                            \
    X(group_new_cfg, "bufferevent_rate_limit_group_new", "cfg", 0,            \
        P(bufferevent_rate_limit_group_new(fx->base, NULL)))                  \
    X(group_new_base, "bufferevent_rate_limit_group_new", "base", 0,          \
        P(bufferevent_rate_limit_group_new(NULL, fx->cfg)))                   \
    X(group_set_cfg_g, "bufferevent_rate_limit_group_set_cfg", "g", -1,       \
        bufferevent_rate_limit_group_set_cfg(NULL, fx->cfg))                  \
    X(group_set_cfg_cfg, "bufferevent_rate_limit_group_set_cfg", "cfg", -1,   \
        bufferevent_rate_limit_group_set_cfg(fx->grp, NULL))                  \
    X(group_min_share, "bufferevent_rate_limit_group_set_min_share", "g", -1, \
        bufferevent_rate_limit_group_set_min_share(NULL, 10))                 \
    X(group_add_bev, "bufferevent_add_to_rate_limit_group", "bev", -1,        \
        bufferevent_add_to_rate_limit_group(NULL, fx->grp))                   \
    X(group_add_g, "bufferevent_add_to_rate_limit_group", "g", -1,            \
        bufferevent_add_to_rate_limit_group(fx->bev, NULL))                   \
    X(group_remove, "bufferevent_remove_from_rate_limit_group", "bev", -1,    \
        bufferevent_remove_from_rate_limit_group(NULL))                       \
    X(set_max_read, "bufferevent_set_max_single_read", "bev", -1,             \
        bufferevent_set_max_single_read(NULL, 100))                           \
    X(set_max_write, "bufferevent_set_max_single_write", "bev", -1,           \
        bufferevent_set_max_single_write(NULL, 100))                          \
    X(get_max_read, "bufferevent_get_max_single_read", "bev", 0,              \
        bufferevent_get_max_single_read(NULL))                                \
    X(get_max_write, "bufferevent_get_max_single_write", "bev", 0,            \
        bufferevent_get_max_single_write(NULL))                               \
    X(get_read_limit, "bufferevent_get_read_limit", "bev", 0,                 \
        bufferevent_get_read_limit(NULL))                                     \
    X(get_write_limit, "bufferevent_get_write_limit", "bev", 0,               \
        bufferevent_get_write_limit(NULL))                                    \
    X(max_to_read, "bufferevent_get_max_to_read", "bev", 0,                   \
        bufferevent_get_max_to_read(NULL))                                    \
    X(max_to_write, "bufferevent_get_max_to_write", "bev", 0,                 \
        bufferevent_get_max_to_write(NULL))                                   \
    X(token_bucket_cfg, "bufferevent_get_token_bucket_cfg", "bev", 0,         \
        P(bufferevent_get_token_bucket_cfg(NULL)))                            \
    X(group_read_limit, "bufferevent_rate_limit_group_get_read_limit", "grp", \
        0, bufferevent_rate_limit_group_get_read_limit(NULL))                 \
    X(group_write_limit, "bufferevent_rate_limit_group_get_write_limit",      \
        "grp", 0, bufferevent_rate_limit_group_get_write_limit(NULL))         \
    X(decr_read, "bufferevent_decrement_read_limit", "bev", -1,               \
        bufferevent_decrement_read_limit(NULL, 1))                            \
    X(decr_write, "bufferevent_decrement_write_limit", "bev", -1,             \
        bufferevent_decrement_write_limit(NULL, 1))                           \
    X(group_decr_read, "bufferevent_rate_limit_group_decrement_read", "grp",  \
        -1, bufferevent_rate_limit_group_decrement_read(NULL, 1))             \
    X(group_decr_write, "bufferevent_rate_limit_group_decrement_write",       \
        "grp", -1, bufferevent_rate_limit_group_decrement_write(NULL, 1))     \
    X(group_totals, "bufferevent_rate_limit_group_get_totals", "grp", 0,      \
        V(bufferevent_rate_limit_group_get_totals(NULL, NULL, NULL)))         \
    X(group_reset, "bufferevent_rate_limit_group_reset_totals", "grp", 0,     \
        V(bufferevent_rate_limit_group_reset_totals(NULL)))

#define BEV_COMPAT_CASES(X)                                                   \
    X(settimeout, "bufferevent_settimeout", "bufev", 0,                       \
        V(bufferevent_settimeout(NULL, 1, 1)))

#define LISTENER_CASES(X)                                                     \
    X(new_base, "evconnlistener_new", "base", 0,                              \
        P(evconnlistener_new(NULL, noop_accept_cb, NULL, 0, 0, -1)))          \
    X(new_bind_base, "evconnlistener_new_bind", "base", 0,                    \
        P(evconnlistener_new_bind(NULL, noop_accept_cb, NULL, 0, -1,          \
            (struct sockaddr *)&fx->sin, (int)sizeof(fx->sin))))              \
    X(new_bind_sa, "evconnlistener_new_bind", "sa", 0,                        \
        P(evconnlistener_new_bind(fx->base, noop_accept_cb, NULL, 0, -1,      \
            NULL, 0)))                                                        \
    X(enable, "evconnlistener_enable", "lev", -1, evconnlistener_enable(NULL)) \
    X(disable, "evconnlistener_disable", "lev", -1,                           \
        evconnlistener_disable(NULL))                                         \
    X(get_base, "evconnlistener_get_base", "lev", 0,                          \
        P(evconnlistener_get_base(NULL)))                                     \
    X(get_fd, "evconnlistener_get_fd", "lev", -1,                             \
        evconnlistener_get_fd(NULL))                                          \
    X(set_cb, "evconnlistener_set_cb", "lev", 0,                              \
        V(evconnlistener_set_cb(NULL, noop_accept_cb, NULL)))                 \
    X(set_error_cb, "evconnlistener_set_error_cb", "lev", 0,                  \
        V(evconnlistener_set_error_cb(NULL, NULL)))

struct null_case {
    const char *id;
    const char *func;
    const char *arg;
    intptr_t expect;
    intptr_t (*call)(struct fx *fx);
};

#define THUNK(prefix, id, func, arg, expect, call)                            \
    static intptr_t prefix##_##id(struct fx *fx)                              \
    {                                                                         \
        (void)fx;                                                             \
        return (intptr_t)(call);                                              \
    }
#define THUNK_BUF(id, func, arg, expect, call)                                \
    THUNK(buf, id, func, arg, expect, call)
#define THUNK_BUFC(id, func, arg, expect, call)                               \
    THUNK(bufc, id, func, arg, expect, call)
#define THUNK_BEV(id, func, arg, expect, call)                                \
    THUNK(bev, id, func, arg, expect, call)
#define THUNK_BEVC(id, func, arg, expect, call)                               \
    THUNK(bevc, id, func, arg, expect, call)
#define THUNK_LEV(id, func, arg, expect, call)                                \
    THUNK(lev, id, func, arg, expect, call)

BUFFER_CASES(THUNK_BUF)
BUFFER_COMPAT_CASES(THUNK_BUFC)
BEV_CASES(THUNK_BEV)
BEV_COMPAT_CASES(THUNK_BEVC)
LISTENER_CASES(THUNK_LEV)

#define ENTRY(prefix, id, func, arg, expect, call)                            \
    {#prefix "_" #id, func, arg, expect, prefix##_##id},
#define ENTRY_BUF(id, func, arg, expect, call)                                \
    ENTRY(buf, id, func, arg, expect, call)
#define ENTRY_BUFC(id, func, arg, expect, call)                               \
    ENTRY(bufc, id, func, arg, expect, call)
#define ENTRY_BEV(id, func, arg, expect, call)                                \
    ENTRY(bev, id, func, arg, expect, call)
#define ENTRY_BEVC(id, func, arg, expect, call)                               \
    ENTRY(bevc, id, func, arg, expect, call)
#define ENTRY_LEV(id, func, arg, expect, call)                                \
    ENTRY(lev, id, func, arg, expect, call)

static const struct null_case buffer_cases[] = {
    BUFFER_CASES(ENTRY_BUF) BUFFER_COMPAT_CASES(ENTRY_BUFC)};
static const struct null_case bev_cases[] = {
    BEV_CASES(ENTRY_BEV) BEV_COMPAT_CASES(ENTRY_BEVC)};
static const struct null_case listener_cases[] = {LISTENER_CASES(ENTRY_LEV)};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Run one case; returns 0 when it kept the contract, else prints why. */
static int
run_case(const struct null_case *c, struct fx *fx)
{
    char want[160];
    intptr_t got;
    int err, n_msgs, bad = 0;

    tu_log_clear();
    errno = 0;
    got = c->call(fx);
    err = errno;
    n_msgs = tu_log_count(EVENT_LOG_DEBUG);
    snprintf(want, sizeof(want), "%s: NULL %s", c->func, c->arg);

    if (got != c->expect) {
        print_error("%s: returned %ld, expected %ld\n", c->id, (long)got,
            (long)c->expect);
        bad = 1;
    }
    if (err != EINVAL) {
        print_error("%s: errno %d (%s), expected EINVAL\n", c->id, err,
            strerror(err));
        bad = 1;
    }
    if (n_msgs != 1 || tu_log_count(EVENT_LOG_WARN) != 1) {
        print_error("%s: %d messages logged, expected one warning\n", c->id,
            n_msgs);
        bad = 1;
    }
    if (!tu_log_contains(want)) {
        print_error("%s: logged \"%s\", expected \"%s\"\n", c->id,
            tu_log_last(), want);
        bad = 1;
    }
    return bad;
}

static void
run_cases(const struct null_case *cases, size_t n, struct fx *fx)
{
    size_t i;
    int failed = 0;

    for (i = 0; i < n; ++i)
        failed += run_case(&cases[i], fx);
    print_message("%zu NULL-argument cases, %d broke the contract\n", n,
        failed);
    assert_int_equal(failed, 0);
}

/* After the refused calls the objects are as they were and work. */
static void
assert_fx_intact(struct fx *fx)
{
    char line[16];
    size_t n = 0;
    char *s;

    tu_log_clear();
    assert_int_equal(evbuffer_get_length(fx->buf), 12);
    assert_int_equal(evbuffer_get_length(fx->other), 0);
    s = evbuffer_readln(fx->buf, &n, EVBUFFER_EOL_LF);
    assert_non_null(s);
    assert_string_equal(s, "hello");
    free(s);
    assert_int_equal(evbuffer_remove_cb_entry(fx->buf, fx->cbent), 0);
    fx->cbent = NULL;

    /* The socket bufferevent kept its base, fd and buffers. */
    assert_ptr_equal(bufferevent_get_base(fx->bev), fx->base);
    assert_true(bufferevent_getfd(fx->bev) >= 0);
    assert_int_equal(bufferevent_write(fx->bev, "ping", 4), 0);
    assert_int_equal(bufferevent_enable(fx->bev, EV_READ), 0);
    tu_write_str(fx->peer, "pong");
    assert_int_equal(tu_loop(fx->base, EVLOOP_ONCE), 0);
    tu_loop(fx->base, EVLOOP_NONBLOCK);
    assert_int_equal(bufferevent_read(fx->bev, line, sizeof(line)), 4);
    assert_memory_equal(line, "pong", 4);
    assert_int_equal(recv(fx->peer, line, sizeof(line), 0), 4);
    assert_memory_equal(line, "ping", 4);

    /* The pair still talks. */
    assert_int_equal(bufferevent_enable(fx->pair[1], EV_READ), 0);
    assert_int_equal(bufferevent_write(fx->pair[0], "abc", 3), 0);
    assert_int_equal(evbuffer_get_length(bufferevent_get_input(fx->pair[1])),
        3);
    assert_ptr_equal(bufferevent_pair_get_partner(fx->pair[0]), fx->pair[1]);

    /* The group and the listener are usable. */
    assert_int_equal(bufferevent_add_to_rate_limit_group(fx->bev, fx->grp),
        0);
    assert_int_equal(bufferevent_remove_from_rate_limit_group(fx->bev), 0);
    assert_int_equal(evconnlistener_disable(fx->lev), 0);
    assert_int_equal(evconnlistener_enable(fx->lev), 0);
    assert_ptr_equal(evconnlistener_get_base(fx->lev), fx->base);
    assert_int_equal(tu_log_count(EVENT_LOG_DEBUG), 0);
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */

static void
test_null_buffer_args(void **state)
{
    struct fx fx;

    fx_init(&fx, *state);
    run_cases(buffer_cases, N_OF(buffer_cases), &fx);
    assert_fx_intact(&fx);
    fx_free(&fx);
}

static void
test_null_bufferevent_args(void **state)
{
    struct fx fx;

    fx_init(&fx, *state);
    run_cases(bev_cases, N_OF(bev_cases), &fx);
    assert_fx_intact(&fx);
    fx_free(&fx);
}

static void
test_null_listener_args(void **state)
{
    struct fx fx;
    int fds;

    fx_init(&fx, *state);
    fds = tu_count_fds();
    run_cases(listener_cases, N_OF(listener_cases), &fx);
    /* The refused constructors made no socket. */
    assert_int_equal(tu_count_fds(), fds);
    assert_fx_intact(&fx);
    fx_free(&fx);
}

/* The free functions take NULL silently, as free() does. */
static void
test_free_null_is_quiet(void **state)
{
    (void)state;
    tu_log_clear();
    evbuffer_free(NULL);
    evbuffer_file_segment_free(NULL);
    bufferevent_free(NULL);
    ev_token_bucket_cfg_free(NULL);
    bufferevent_rate_limit_group_free(NULL);
    evconnlistener_free(NULL);
    assert_int_equal(tu_log_count(EVENT_LOG_DEBUG), 0);
}

/* NULL data with a zero length was legal and stays legal and quiet. */
static void
test_zero_length_null_data(void **state)
{
    struct fx fx;
    struct evbuffer_ptr p;

    fx_init(&fx, *state);
    tu_log_clear();
    assert_int_equal(evbuffer_add(fx.other, NULL, 0), 0);
    assert_int_equal(evbuffer_prepend(fx.other, NULL, 0), 0);
    assert_int_equal(evbuffer_add_reference(fx.other, NULL, 0, NULL, NULL),
        0);
    assert_int_equal(evbuffer_copyout(fx.buf, NULL, 0), 0);
    assert_int_equal(evbuffer_copyout_from(fx.buf, &fx.ptr, NULL, 0), 0);
    assert_int_equal(evbuffer_remove(fx.buf, NULL, 0), 0);
    assert_int_equal(evbuffer_commit_space(fx.other, NULL, 0), 0);
    assert_int_equal(evbuffer_add_iovec(fx.other, NULL, 0), 0);
    p = evbuffer_search(fx.buf, NULL, 0, NULL);
    assert_int_equal(p.pos, 0);
    p = evbuffer_search_range(fx.buf, NULL, 0, NULL, NULL);
    assert_int_equal(p.pos, 0);
    assert_int_equal(bufferevent_write(fx.bev, NULL, 0), 0);
    assert_int_equal(bufferevent_read(fx.bev, NULL, 0), 0);
    assert_int_equal(evbuffer_get_length(fx.buf), 12);
    assert_int_equal(evbuffer_get_length(fx.other), 0);
    assert_int_equal(tu_log_count(EVENT_LOG_DEBUG), 0);
    fx_free(&fx);
}

/* Arguments the headers call optional may still be NULL, quietly. */
static void
test_optional_args_still_work(void **state)
{
    struct fx fx;
    struct evbuffer_ptr p;
    struct ev_token_bucket_cfg *cfg;
    bufferevent_data_cb rcb = noop_data_cb;
    char *line;

    fx_init(&fx, *state);
    tu_log_clear();
    /* Positions and outputs. */
    p = evbuffer_search(fx.buf, "world", 5, NULL);
    assert_int_equal(p.pos, 6);
    p = evbuffer_search_range(fx.buf, "o", 1, &fx.ptr, NULL);
    assert_int_equal(p.pos, 4);
    p = evbuffer_search_eol(fx.buf, NULL, NULL, EVBUFFER_EOL_LF);
    assert_int_equal(p.pos, 5);
    assert_int_equal(evbuffer_copyout_from(fx.buf, NULL, fx.out, 5), 5);
    assert_true(evbuffer_peek(fx.buf, -1, NULL, NULL, 0) >= 1);
    line = evbuffer_readln(fx.buf, NULL, EVBUFFER_EOL_LF);
    assert_string_equal(line, "hello");
    free(line);
    /* Callbacks, timeouts, watermarks, limits. */
    assert_int_equal(evbuffer_setcb(fx.other, NULL, NULL), 0);
    bufferevent_setcb(fx.bev, NULL, NULL, NULL, NULL);
    bufferevent_getcb(fx.bev, &rcb, NULL, NULL, NULL);
    assert_null(rcb);
    assert_int_equal(bufferevent_set_timeouts(fx.bev, NULL, NULL), 0);
    /* No address: bev's socket is taken as connected or connecting. */
    assert_int_equal(bufferevent_socket_connect(fx.bev, NULL, 0), 0);
    assert_int_equal(bufferevent_getwatermark(fx.bev, EV_READ, NULL, NULL),
        0);
    assert_int_equal(bufferevent_set_rate_limit(fx.bev, fx.cfg), 0);
    assert_non_null(bufferevent_get_token_bucket_cfg(fx.bev));
    assert_int_equal(bufferevent_set_rate_limit(fx.bev, NULL), 0);
    bufferevent_rate_limit_group_get_totals(fx.grp, NULL, NULL);
    cfg = ev_token_bucket_cfg_new(10, 10, 10, 10, NULL);
    assert_non_null(cfg);
    ev_token_bucket_cfg_free(cfg);
    /* No filter functions: data passes unchanged. */
    {
        struct bufferevent *f = bufferevent_filter_new(fx.pair[0], NULL,
            NULL, 0, NULL, NULL);
        assert_non_null(f);
        bufferevent_free(f);
    }
    /* A NULL callback makes a disabled listener. */
    evconnlistener_set_cb(fx.lev, NULL, NULL);
    evconnlistener_set_cb(fx.lev, noop_accept_cb, NULL);
    assert_int_equal(tu_log_count(EVENT_LOG_DEBUG), 0);
    fx_free(&fx);
}

/* bufferevent_base_set(NULL, bev) used to store the NULL base in bev
 * before event_base_set() refused it, leaving bev without a base. */
static void
test_base_set_null_keeps_base(void **state)
{
    struct fx fx;

    fx_init(&fx, *state);
    assert_int_equal(bufferevent_base_set(NULL, fx.bev), -1);
    assert_ptr_equal(bufferevent_get_base(fx.bev), fx.base);
    assert_int_equal(bufferevent_enable(fx.bev, EV_READ), 0);
    fx_free(&fx);
}

/* A refused evbuffer_add_file leaves the fd open and the caller's, as
 * every failure of evbuffer_add_file does. */
static void
test_add_file_null_buf_keeps_fd(void **state)
{
    int fd = temp_file();

    (void)state;
    tu_log_clear();
    assert_int_equal(evbuffer_add_file(NULL, fd, 0, -1), -1);
    assert_int_equal(errno, EINVAL);
    tu_assert_logged_error();
    assert_true(fcntl(fd, F_GETFD) != -1);
    close(fd);
}

/* Constructors whose base may be NULL use the current base of
 * event_init(); without one they refuse (tested in the tables), with one
 * they work. */
static void
test_null_base_means_current_base(void **state)
{
    struct event_base *cur;
    struct bufferevent *pair[2];
    struct bufferevent_rate_limit_group *grp;
    struct ev_token_bucket_cfg *cfg;
    struct evconnlistener *lev;
    evutil_socket_t lfd;

    (void)state;
    cur = event_init();
    assert_non_null(cur);
    tu_log_clear();
    assert_int_equal(bufferevent_pair_new(NULL, 0, pair), 0);
    assert_ptr_equal(bufferevent_get_base(pair[0]), cur);
    bufferevent_free(pair[0]);
    bufferevent_free(pair[1]);

    cfg = ev_token_bucket_cfg_new(100, 100, 100, 100, NULL);
    assert_non_null(cfg);
    grp = bufferevent_rate_limit_group_new(NULL, cfg);
    assert_non_null(grp);
    bufferevent_rate_limit_group_free(grp);
    ev_token_bucket_cfg_free(cfg);

    lfd = tu_tcp_listener(AF_INET, NULL, NULL);
    assert_true(lfd >= 0);
    lev = evconnlistener_new(NULL, noop_accept_cb, NULL,
        LEV_OPT_CLOSE_ON_FREE, 0, lfd);
    assert_non_null(lev);
    assert_ptr_equal(evconnlistener_get_base(lev), cur);
    evconnlistener_free(lev);
    assert_int_equal(tu_log_count(EVENT_LOG_DEBUG), 0);

    tu_loop(cur, EVLOOP_NONBLOCK);
    event_base_free(cur);

    /* The base is gone and is no longer current: refused again. */
    tu_log_clear();
    assert_int_equal(bufferevent_pair_new(NULL, 0, pair), -1);
    assert_int_equal(errno, EINVAL);
    assert_true(tu_log_contains("bufferevent_pair_new: NULL base"));
}

/* A NULL hostname is getaddrinfo's: the loopback address.  Left alone
 * (libevent does the same), so it must keep working. */
struct conn_result {
    struct event_base *base;
    short what;
};

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn_result *r = arg;

    (void)bev;
    r->what = what;
    event_base_loopexit(r->base, NULL);
}

static void
test_connect_hostname_null_host(void **state)
{
    struct event_base *base = *state;
    struct sockaddr_storage ss;
    ev_socklen_t len = sizeof(ss);
    struct conn_result r = {base, 0};
    struct bufferevent *bev;
    evutil_socket_t lfd, afd;
    int port;

    lfd = tu_tcp_listener(AF_INET, &ss, &len);
    assert_true(lfd >= 0);
    port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    assert_non_null(bev);
    bufferevent_setcb(bev, NULL, NULL, conn_event_cb, &r);
    assert_int_equal(bufferevent_socket_connect_hostname(bev, NULL, AF_INET,
                         NULL, port),
        0);
    assert_int_equal(tu_run(base, 5000), 0);
    assert_int_equal(r.what, BEV_EVENT_CONNECTED);
    afd = accept(lfd, NULL, NULL);
    assert_true(afd >= 0);
    tu_close(&afd);
    bufferevent_free(bev);
    tu_loop(base, EVLOOP_NONBLOCK);
    tu_close(&lfd);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_null_buffer_args, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_null_bufferevent_args, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_null_listener_args, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_free_null_is_quiet,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_zero_length_null_data, tu_setup,
            tu_teardown),
        cmocka_unit_test_setup_teardown(test_optional_args_still_work,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_base_set_null_keeps_base,
            tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_add_file_null_buf_keeps_fd,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_null_base_means_current_base,
            tu_setup_nobase, tu_teardown_nobase),
        cmocka_unit_test_setup_teardown(test_connect_hostname_null_host,
            tu_setup, tu_teardown),
    };

    tu_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

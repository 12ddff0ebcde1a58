/*
 * log.c: the library's log and fatal-error sinks.
 *
 * A message is formatted into a fixed 1024-byte buffer (longer ones are
 * truncated), ": <strerror>" is appended for the errno variants when it
 * fits, and the result goes to the user's log callback or to stderr as
 * "[warn] message\n".  Fatal errors then call the user's fatal callback;
 * if there is none, or it returns, the process exits with eval, or
 * aborts when eval is EVENT_ERR_ABORT_ (a failed assertion).  (libevent
 * 2.1 exits with that value if the callback returns; a core dump serves
 * a broken invariant better.)
 *
 * Invariants: logging never changes errno, never allocates, and debug
 * messages are dropped before formatting while event_debug_logging_mask_
 * is 0.
 */
#include "event2/event-config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event2/event.h"
#include "event2/util.h"
#include "log-internal.h"

#define LOG_BUF_SIZE 1024

static event_log_cb log_fn;
static event_fatal_cb fatal_fn;

ev_uint32_t event_debug_logging_mask_ = EVENT_DBG_NONE;

void
event_enable_debug_logging(ev_uint32_t which)
{
    event_debug_logging_mask_ = which;
}

void
event_set_log_callback(event_log_cb cb)
{
    log_fn = cb;
}

void
event_set_fatal_callback(event_fatal_cb cb)
{
    fatal_fn = cb;
}

static void
deliver(int severity, const char *msg)
{
    const char *name;

    if (log_fn) {
        log_fn(severity, msg);
        return;
    }
    switch (severity) {
    case EVENT_LOG_DEBUG:
        name = "debug";
        break;
    case EVENT_LOG_MSG:
        name = "msg";
        break;
    case EVENT_LOG_WARN:
        name = "warn";
        break;
    case EVENT_LOG_ERR:
        name = "err";
        break;
    default:
        name = "???";
        break;
    }
    (void)fprintf(stderr, "[%s] %s\n", name, msg);
}

void
event_logv_(int severity, const char *errstr, const char *fmt, va_list ap)
{
    char buf[LOG_BUF_SIZE];
    int saved_errno = errno;
    size_t len;

    if (severity == EVENT_LOG_DEBUG && !event_debug_get_logging_mask_())
        return;

    buf[0] = '\0';
    if (fmt)
        (void)evutil_vsnprintf(buf, sizeof(buf), fmt, ap);
    if (errstr) {
        len = strlen(buf);
        /* Room for at least ": x" and the NUL, else drop the suffix. */
        if (len < sizeof(buf) - 3)
            (void)evutil_snprintf(buf + len, sizeof(buf) - len, ": %s",
                errstr);
    }
    deliver(severity, buf);
    errno = saved_errno;
}

/* The text for an errno value, thread-safely (GNU strerror_r). */
static const char *
error_string(int err, char *buf, size_t len)
{
#ifdef _WIN32
    if (strerror_s(buf, len, err) != 0)
        evutil_snprintf(buf, len, "error %d", err);
    return buf;
#else
    return strerror_r(err, buf, len);
#endif
}

/* The text for the last error on sock: errno on Unix, the Winsock code
 * (FormatMessage text) on Windows. */
static const char *
sock_error_string(evutil_socket_t sock, char *buf, size_t len)
{
#ifdef _WIN32
    (void)buf;
    (void)len;
    return evutil_socket_error_to_string(evutil_socket_geterror(sock));
#else
    return error_string(evutil_socket_geterror(sock), buf, len);
#endif
}

/* Leave the process after a fatal message.  The fatal callback is not
 * supposed to return; if it does, we exit as if there were none. */
static void EV_NORETURN
die(int eval)
{
    if (fatal_fn)
        fatal_fn(eval);
    if (eval == EVENT_ERR_ABORT_)
        abort();
    exit(eval);
}

void
event_err(int eval, const char *fmt, ...)
{
    char ebuf[128];
    const char *es = error_string(errno, ebuf, sizeof(ebuf));
    va_list ap;

    va_start(ap, fmt);
    event_logv_(EVENT_LOG_ERR, es, fmt, ap);
    va_end(ap);
    die(eval);
}

void
event_warn(const char *fmt, ...)
{
    char ebuf[128];
    const char *es = error_string(errno, ebuf, sizeof(ebuf));
    va_list ap;

    va_start(ap, fmt);
    event_logv_(EVENT_LOG_WARN, es, fmt, ap);
    va_end(ap);
}

void
event_sock_err(int eval, evutil_socket_t sock, const char *fmt, ...)
{
    char ebuf[128];
    const char *es;
    va_list ap;

    (void)sock;
    es = sock_error_string(sock, ebuf, sizeof(ebuf));
    va_start(ap, fmt);
    event_logv_(EVENT_LOG_ERR, es, fmt, ap);
    va_end(ap);
    die(eval);
}

void
event_sock_warn(evutil_socket_t sock, const char *fmt, ...)
{
    char ebuf[128];
    const char *es;
    va_list ap;

    (void)sock;
    es = sock_error_string(sock, ebuf, sizeof(ebuf));
    va_start(ap, fmt);
    event_logv_(EVENT_LOG_WARN, es, fmt, ap);
    va_end(ap);
}

void
event_errx(int eval, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    event_logv_(EVENT_LOG_ERR, NULL, fmt, ap);
    va_end(ap);
    die(eval);
}

void
event_warnx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    event_logv_(EVENT_LOG_WARN, NULL, fmt, ap);
    va_end(ap);
}

void
event_msgx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    event_logv_(EVENT_LOG_MSG, NULL, fmt, ap);
    va_end(ap);
}

void
event_debugx_(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    event_logv_(EVENT_LOG_DEBUG, NULL, fmt, ap);
    va_end(ap);
}

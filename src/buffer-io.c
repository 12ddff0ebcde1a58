/*
 * buffer-io.c: moving bytes between an evbuffer and a file descriptor --
 * evbuffer_read, evbuffer_write and evbuffer_write_atmost.
 *
 * Reads ask the kernel how much is pending (FIONREAD), take at most
 * max_read bytes (4096 unless a bufferevent raised it) and readv them
 * straight into the free space of at most two chains.  Writes gather up
 * to NUM_WRITE_IOVEC chains into one writev; a file segment added for
 * sendfile is sent on its own with sendfile(2).  Only bytes the kernel
 * took are drained; errno is left as the failing call set it.
 */
#include "event2/event-config.h"

#include <errno.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>
#ifdef EVENT__HAVE_SYS_SENDFILE_H
#include <sys/sendfile.h>
#endif

#include "event2/buffer.h"

#include "evbuffer-internal.h"
#include "log-internal.h"
#include "util-internal.h"

/* Chains one evbuffer_read fills; libevent reads into at most two. */
#define NUM_READ_IOVEC 2
/* Chains one writev sends (libevent's NUM_WRITE_IOVEC). */
#define NUM_WRITE_IOVEC 128

/* Bytes waiting on fd, or -1 if the kernel will not say. */
static int
bytes_readable(evutil_socket_t fd)
{
    int n = 0;

    if (ioctl(fd, FIONREAD, &n) < 0)
        return -1;
    return n;
}

int
evbuffer_read(struct evbuffer *buf, evutil_socket_t fd, int howmuch)
{
    struct evbuffer_iovec vecs[NUM_READ_IOVEC];
    struct evbuffer_chain **chainp, *chain;
    size_t remaining, n;
    ssize_t got;
    int avail, nvecs, i, result = -1;

    EVBUFFER_LOCK(buf);
    if (buf->freeze_end)
        goto done;

    avail = bytes_readable(fd);
    if (avail <= 0 || (size_t)avail > buf->max_read)
        avail = (int)buf->max_read;
    if (howmuch < 0 || howmuch > avail)
        howmuch = avail;

    if (evbuffer_expand_fast_(buf, (size_t)howmuch, NUM_READ_IOVEC) < 0)
        goto done;
    nvecs = evbuffer_read_setup_vecs_(buf, howmuch, vecs, NUM_READ_IOVEC,
        &chainp, 1);
    if (nvecs < 0)
        goto done;

    got = readv(fd, vecs, nvecs);
    if (got < 0)
        goto done;
    if (got == 0) {
        result = 0;
        goto done;
    }

    /* readv filled the vectors in order. */
    remaining = (size_t)got;
    chain = *chainp;
    for (i = 0; i < nvecs && remaining > 0; ++i) {
        n = vecs[i].iov_len < remaining ? vecs[i].iov_len : remaining;
        evbuffer_append_commit_(buf, chain, n);
        remaining -= n;
        chain = chain->next;
    }
    EVUTIL_ASSERT(remaining == 0);
    result = (int)got;
    EVBUFFER_CHECK(buf);
    evbuffer_invoke_callbacks_(buf);
done:
    EVBUFFER_UNLOCK(buf);
    return result;
}

#ifdef EVENT__HAVE_SENDFILE
/* Send up to howmuch bytes of the sendfile chain at the front.  A
 * retriable error counts as 0 bytes, as in libevent. */
static ev_ssize_t
write_sendfile(struct evbuffer *buf, evutil_socket_t fd, size_t howmuch)
{
    struct evbuffer_chain *chain = buf->first;
    struct evbuffer_chain_file_segment *info =
        EVBUFFER_CHAIN_EXTRA(struct evbuffer_chain_file_segment, chain);
    off_t offset = (off_t)chain->misalign;
    size_t len = chain->off < howmuch ? chain->off : howmuch;
    ssize_t res;

    res = sendfile(fd, info->segment->fd, &offset, len);
    if (res == -1 && EVUTIL_ERR_RW_RETRIABLE(errno))
        return 0;
    return res;
}
#endif

/* writev the first howmuch bytes, stopping before a sendfile chain. */
static ev_ssize_t
write_iovec(struct evbuffer *buf, evutil_socket_t fd, size_t howmuch)
{
    struct iovec iov[NUM_WRITE_IOVEC];
    struct evbuffer_chain *chain;
    int i = 0;

    for (chain = buf->first; chain && i < NUM_WRITE_IOVEC && howmuch > 0;
         chain = chain->next) {
        if (chain->flags & EVBUFFER_SENDFILE)
            break;
        if (chain->off == 0)
            continue;
        iov[i].iov_base = (void *)EVBUFFER_CHAIN_DATA(chain);
        iov[i].iov_len = chain->off < howmuch ? chain->off : howmuch;
        howmuch -= iov[i].iov_len;
        ++i;
    }
    if (i == 0)
        return 0;
    return writev(fd, iov, i);
}

int
evbuffer_write_atmost(struct evbuffer *buf, evutil_socket_t fd,
    ev_ssize_t howmuch)
{
    ev_ssize_t n = -1;

    EVBUFFER_LOCK(buf);
    if (buf->freeze_start)
        goto done;
    if (howmuch < 0 || (size_t)howmuch > buf->total_len)
        howmuch = (ev_ssize_t)buf->total_len;
    if (howmuch > 0) {
#ifdef EVENT__HAVE_SENDFILE
        if (buf->first->flags & EVBUFFER_SENDFILE)
            n = write_sendfile(buf, fd, (size_t)howmuch);
        else
#endif
            n = write_iovec(buf, fd, (size_t)howmuch);
    }
    if (n > 0)
        evbuffer_drain(buf, (size_t)n);
done:
    EVBUFFER_UNLOCK(buf);
    /* At most EV_INT32_MAX bytes fit a single write on Linux. */
    return (int)n;
}

int
evbuffer_write(struct evbuffer *buf, evutil_socket_t fd)
{
    return evbuffer_write_atmost(buf, fd, -1);
}

/*
 * buffer-io.c: moving bytes between an evbuffer and a file descriptor --
 * evbuffer_read, evbuffer_write and evbuffer_write_atmost.
 *
 * Reads take at most max_read bytes (4096, libevent 2.1's fixed cap; only
 * the internal evbuffer_set_max_read changes it, and nothing calls that
 * yet) with one system call and no FIONREAD round trip: into an empty
 * buffer, a read() into a stack area copied into one chain; otherwise a
 * readv straight into the free space of at most two chains plus the stack
 * area for the overflow.  Writes gather up to NUM_WRITE_IOVEC chains into
 * one writev (a write() when there is one); a file segment added for
 * sendfile is sent on its own with sendfile(2).  Only bytes the kernel
 * took are drained; errno is left as the failing call set it.
 */
#include "event2/event-config.h"

#include <errno.h>
#include <string.h>
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
/* Free space a read wants in chains before using the stack area: what
 * one smallest chain (1024 bytes with its header) holds. */
#define MIN_READ_CHAIN_SPACE (1024 - sizeof(struct evbuffer_chain))
/* Chains one writev sends (libevent's NUM_WRITE_IOVEC). */
#define NUM_WRITE_IOVEC 128

/* One flat buffer to or from the descriptor.  On Windows a socket is no C
 * runtime descriptor, so the vector calls (WSARecv/WSASend underneath)
 * take it there too. */
static ev_ssize_t
read_flat(evutil_socket_t fd, void *p, size_t len)
{
#ifdef _WIN32
    struct iovec v;

    v.iov_base = p;
    v.iov_len = len;
    return readv(fd, &v, 1);
#else
    return read(fd, p, len);
#endif
}

static ev_ssize_t
write_flat(evutil_socket_t fd, const void *p, size_t len)
{
#ifdef _WIN32
    struct iovec v;

    v.iov_base = (void *)p;
    v.iov_len = len;
    return writev(fd, &v, 1);
#else
    return write(fd, p, len);
#endif
}

/* Size of the stack area that takes what does not fit the chains of one
 * evbuffer_read (the default max_read). */
#define READ_SCRATCH 4096

/* Free space of the chains evbuffer_read_setup_vecs_ would describe:
 * at most NUM_READ_IOVEC writable chains from the first with room. */
static size_t
space_for_read(struct evbuffer *buf)
{
    struct evbuffer_chain *chain = *buf->last_with_datap;
    size_t space = 0;
    int used = 0;

    if (buf->total_len && chain && EVBUFFER_CHAIN_SPACE(chain) == 0)
        chain = chain->next;
    for (; chain && used < NUM_READ_IOVEC; chain = chain->next, ++used) {
        if (!EVBUFFER_CHAIN_WRITABLE(chain))
            break;
        if (chain->off == 0)
            chain->misalign = 0;
        space += EVBUFFER_CHAIN_SPACE(chain);
    }
    return space;
}

/*
 * One system call per call and no FIONREAD: we read up to howmuch (capped
 * by max_read).  An empty buffer reads into a stack area and keeps what
 * came in one chain.  Otherwise the read goes straight into
 * the free space of the chains, and what does not fit there lands in the
 * stack area and is copied into a new chain; the free space is topped up
 * to one small chain first, so a small message costs no copy and a bulk
 * read copies its tail once, which is cheaper than the ioctl libevent
 * spends to size the chain exactly.  When the tail could exceed the stack
 * area (max_read raised), chains for all of howmuch are allocated instead,
 * and an empty buffer whose read brings nothing gives them back.
 */
int
evbuffer_read(struct evbuffer *buf, evutil_socket_t fd, int howmuch)
{
    struct evbuffer_iovec vecs[NUM_READ_IOVEC + 1];
    unsigned char scratch[READ_SCRATCH];
    const unsigned char *tail_from = scratch;
    struct evbuffer_chain **chainp, *chain;
    size_t remaining, n, space, in_chains;
    ssize_t got;
    int nvecs, i, was_empty, err, result = -1;

    EV_REFUSE_NULL_(buf, -1);
    EVBUFFER_LOCK(buf);
    if (buf->freeze_end)
        goto done;

    if (howmuch < 0 || (size_t)howmuch > buf->max_read)
        howmuch = (int)buf->max_read;

    was_empty = buf->first == NULL;
    if (was_empty && (size_t)howmuch <= sizeof(scratch)) {
        /* Empty buffer, the usual case for request/response traffic: a
         * plain read() into the stack area, then a copy into one small
         * chain.  The kernel takes one flat buffer for less than a
         * vector (no iovec array to fetch and check), which outweighs
         * copying a message once.  The chain is made first, so a failed
         * allocation never costs a small message. */
        chain = evbuffer_chain_new_((size_t)howmuch < MIN_READ_CHAIN_SPACE
                ? (size_t)howmuch
                : MIN_READ_CHAIN_SPACE);
        if (chain == NULL)
            goto done;
        buf->first = buf->last = chain;
        got = read_flat(fd, scratch, (size_t)howmuch);
        if (got <= 0)
            goto nothing;
        n = (size_t)got < chain->buffer_len ? (size_t)got : chain->buffer_len;
        memcpy(chain->buffer, scratch, n);
        evbuffer_append_commit_(buf, chain, n);
        remaining = (size_t)got - n;
        tail_from = scratch + n;
        goto tail;
    }
    space = space_for_read(buf);
    if (space < (size_t)howmuch) {
        size_t want = (size_t)howmuch;

        /* A small chain for small reads; the stack takes the rest. */
        if (want - space <= READ_SCRATCH)
            want = space + MIN_READ_CHAIN_SPACE < want
                ? space + MIN_READ_CHAIN_SPACE
                : want;
        if (space < MIN_READ_CHAIN_SPACE || want - space > READ_SCRATCH) {
            if (evbuffer_expand_fast_(buf, want, NUM_READ_IOVEC) < 0)
                goto done;
        }
    }
    nvecs = evbuffer_read_setup_vecs_(buf, howmuch, vecs, NUM_READ_IOVEC,
        &chainp, 1);
    if (nvecs < 0)
        goto done;
    in_chains = 0;
    for (i = 0; i < nvecs; ++i)
        in_chains += vecs[i].iov_len;
    if (in_chains < (size_t)howmuch) {
        n = (size_t)howmuch - in_chains;
        vecs[nvecs].iov_base = scratch;
        vecs[nvecs].iov_len = n < sizeof(scratch) ? n : sizeof(scratch);
        ++nvecs;
    }

    if (nvecs == 1)
        got = read_flat(fd, vecs[0].iov_base, vecs[0].iov_len);
    else
        got = readv(fd, (struct iovec *)vecs, nvecs);
    if (got <= 0)
        goto nothing;

    /* readv filled the vectors in order. */
    remaining = (size_t)got;
    chain = *chainp;
    for (i = 0; chain && i < nvecs && remaining > 0 &&
                vecs[i].iov_base != scratch;
         ++i) {
        n = vecs[i].iov_len < remaining ? vecs[i].iov_len : remaining;
        evbuffer_append_commit_(buf, chain, n);
        remaining -= n;
        chain = chain->next;
    }
tail:
    if (remaining > 0 &&
        evbuffer_add_nolock_(buf, tail_from, remaining) < 0) {
        /* The bytes are gone from the socket; report what we kept. */
        event_warnx("%s: out of memory, %zu bytes lost", __func__,
            remaining);
        got -= (ssize_t)remaining;
        if (got == 0) {
            errno = ENOMEM;
            goto done;
        }
    }
    result = (int)got;
    EVBUFFER_CHECK(buf);
    evbuffer_invoke_callbacks_(buf);
    goto done;
nothing:
    /* Nothing came (0 at the end of the file, -1 with errno as the call
     * set it): an idle buffer keeps no chain made for it. */
    err = errno;
    if (was_empty)
        (void)evbuffer_free_trailing_empty_chains_(buf);
    errno = err;
    if (got == 0)
        result = 0;
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
    /* One chain, the usual case for small messages: write() spares the
     * kernel the iovec array. */
    if (i == 1)
        return write_flat(fd, iov[0].iov_base, iov[0].iov_len);
    return writev(fd, iov, i);
}

int
evbuffer_write_atmost(struct evbuffer *buf, evutil_socket_t fd,
    ev_ssize_t howmuch)
{
    ev_ssize_t n = -1;

    EV_REFUSE_NULL_(buf, -1);
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
    EV_REFUSE_NULL_(buf, -1);
    return evbuffer_write_atmost(buf, fd, -1);
}

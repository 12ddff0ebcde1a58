/*
 * buffer-file.c: file segments -- evbuffer_file_segment_new/_free/
 * _add_cleanup_cb, evbuffer_add_file_segment, evbuffer_add_file -- and
 * the materializing of sendfile chains.
 *
 * A segment is a range of a file, shared (refcnt) by every chain that
 * shows part of it.  It reaches the network one of three ways:
 *  - sendfile: added to a buffer with EVBUFFER_FLAG_DRAINS_TO_FD, unless
 *    EVBUF_FS_DISABLE_SENDFILE; the chain holds only a file offset, and
 *    its bytes are read into memory if anyone asks to see them;
 *  - mmap of the range, unless EVBUF_FS_DISABLE_MMAP (or the file is
 *    shorter than the range: touching a page past the end would SIGBUS);
 *  - otherwise pread of the whole range into memory.
 * The segment's lock (none with EVBUF_FS_DISABLE_LOCKING) guards refcnt
 * and the materializing; it is taken inside a buffer lock, never around
 * one.  When the last reference goes: unmap/free, close the fd if
 * EVBUF_FS_CLOSE_ON_FREE, then the cleanup callback.
 */
#include "event2/event-config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#ifdef EVENT__HAVE_SYS_MMAN_H
#include <sys/mman.h>
#endif

#include "event2/buffer.h"

#include "evbuffer-internal.h"
#include "evthread-internal.h"
#include "log-internal.h"
#include "mm-internal.h"
#include "util-internal.h"

#define EV_OFF_T_MAX ((ev_off_t)EV_INT64_MAX)

struct evbuffer_file_segment *
evbuffer_file_segment_new(int fd, ev_off_t offset, ev_off_t length,
    unsigned flags)
{
    struct evbuffer_file_segment *seg;
    struct stat st;

    if (fd < 0 || offset < 0 || length < -1)
        return NULL;
    if (length == -1) {
        if (fstat(fd, &st) < 0)
            return NULL;
        if (st.st_size < offset)
            return NULL;
        length = st.st_size - offset;
    }
    if (length > EV_OFF_T_MAX - offset ||
        (ev_uint64_t)length > (ev_uint64_t)EVBUFFER_CHAIN_MAX)
        return NULL;

    seg = mm_calloc(1, sizeof(struct evbuffer_file_segment));
    if (seg == NULL)
        return NULL;
    seg->refcnt = 1;
    seg->fd = fd;
    seg->flags = flags;
    seg->file_offset = offset;
    seg->length = length;

#if defined(EVENT__HAVE_SENDFILE)
    if (!(flags & EVBUF_FS_DISABLE_SENDFILE))
        seg->can_sendfile = 1;
#endif
    /* Without sendfile the bytes are needed anyway: get them now, so a
     * bad range fails here rather than when the buffer is read. */
    if (!seg->can_sendfile && evbuffer_file_segment_materialize_(seg) < 0)
        goto err;

    if (!(flags & EVBUF_FS_DISABLE_LOCKING))
        EVTHREAD_ALLOC_LOCK(seg->lock, EVTHREAD_LOCKTYPE_RECURSIVE);
    return seg;
err:
    mm_free(seg);
    return NULL;
}

#ifdef EVENT__HAVE_MMAP
static int
map_segment(struct evbuffer_file_segment *seg)
{
    struct stat st;
    long page = sysconf(_SC_PAGESIZE);
    ev_off_t aligned;
    size_t leftover, len;
    void *mapping;

    if (seg->length == 0 || page <= 0)
        return -1;
    /* Pages past the end of the file cannot be touched. */
    if (fstat(seg->fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        st.st_size - seg->file_offset < seg->length)
        return -1;
    aligned = seg->file_offset & ~(ev_off_t)(page - 1);
    leftover = (size_t)(seg->file_offset - aligned);
    len = (size_t)seg->length + leftover;
    mapping = mmap(NULL, len, PROT_READ, MAP_PRIVATE, seg->fd, aligned);
    if (mapping == MAP_FAILED)
        return -1;
    seg->mapping = mapping;
    seg->mapping_len = len;
    seg->contents = (char *)mapping + leftover;
    seg->is_mapping = 1;
    return 0;
}
#endif

/* Read the whole range into memory. */
static int
read_segment(struct evbuffer_file_segment *seg)
{
    size_t len = (size_t)seg->length, got = 0;
    struct stat st;
    ssize_t n;
    char *mem;

    /* A regular file shorter than the range fails before anything as
     * large as the range is allocated. */
    if (fstat(seg->fd, &st) == 0 && S_ISREG(st.st_mode) &&
        (st.st_size < seg->file_offset ||
         st.st_size - seg->file_offset < seg->length)) {
        event_warnx("evbuffer: file range %lld+%lld is past the end of "
                    "fd %d (%lld bytes)",
            (long long)seg->file_offset, (long long)seg->length, (int)seg->fd,
            (long long)st.st_size);
        errno = EINVAL;
        return -1;
    }
    /* One spare byte: a zero-length segment still gets a block. */
    mem = mm_malloc(len + 1);
    if (mem == NULL)
        return -1;
    while (got < len) {
        n = pread(seg->fd, mem + got, len - got,
            (off_t)(seg->file_offset + (ev_off_t)got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* An error, or the file is shorter than the segment. */
            int e = errno;

            mm_free(mem);
            errno = n < 0 ? e : EINVAL;
            return -1;
        }
        got += (size_t)n;
    }
    seg->contents = mem;
    return 0;
}

int
evbuffer_file_segment_materialize_(struct evbuffer_file_segment *seg)
{
    if (seg->contents)
        return 0;
#ifdef EVENT__HAVE_MMAP
    if (!(seg->flags & EVBUF_FS_DISABLE_MMAP) && map_segment(seg) == 0)
        return 0;
#endif
    return read_segment(seg);
}

void
evbuffer_file_segment_decref_(struct evbuffer_file_segment *seg)
{
    int refcnt;

    EVLOCK_LOCK(seg->lock, 0);
    refcnt = --seg->refcnt;
    EVLOCK_UNLOCK(seg->lock, 0);
    if (refcnt > 0)
        return;
    EVUTIL_ASSERT(refcnt == 0);

#ifdef EVENT__HAVE_MMAP
    if (seg->is_mapping)
        munmap(seg->mapping, seg->mapping_len);
    else
#endif
        mm_free(seg->contents);
    if ((seg->flags & EVBUF_FS_CLOSE_ON_FREE) && seg->fd >= 0)
        close(seg->fd);
    if (seg->cleanup_cb)
        seg->cleanup_cb(seg, (int)seg->flags, seg->cleanup_cb_arg);
    EVTHREAD_FREE_LOCK(seg->lock, EVTHREAD_LOCKTYPE_RECURSIVE);
    mm_free(seg);
}

void
evbuffer_file_segment_free(struct evbuffer_file_segment *seg)
{
    if (seg)
        evbuffer_file_segment_decref_(seg);
}

void
evbuffer_file_segment_add_cleanup_cb(struct evbuffer_file_segment *seg,
    evbuffer_file_segment_cleanup_cb cb, void *arg)
{
    EV_REFUSE_NULL_VOID_(seg);
    EVLOCK_LOCK(seg->lock, 0);
    EVUTIL_ASSERT(seg->refcnt > 0);
    seg->cleanup_cb = cb;
    seg->cleanup_cb_arg = arg;
    EVLOCK_UNLOCK(seg->lock, 0);
}

int
evbuffer_add_file_segment(struct evbuffer *buf,
    struct evbuffer_file_segment *seg, ev_off_t offset, ev_off_t length)
{
    struct evbuffer_chain *chain;
    struct evbuffer_chain_file_segment *info;
    int sendfile_ok, result = -1;

    EV_REFUSE_NULL_(buf, -1);
    EV_REFUSE_NULL_(seg, -1);
    if (offset < 0 || length < -1 || offset > seg->length)
        return -1;
    if (length == -1)
        length = seg->length - offset;
    if (length > seg->length - offset)
        return -1;

    chain = evbuffer_chain_new_special_(
        sizeof(struct evbuffer_chain_file_segment));
    if (chain == NULL)
        return -1;

    EVBUFFER_LOCK(buf);
    if (buf->freeze_end ||
        (ev_uint64_t)length > (ev_uint64_t)(EVBUFFER_CHAIN_MAX -
                                            buf->total_len))
        goto err;

    EVLOCK_LOCK(seg->lock, 0);
    sendfile_ok = seg->can_sendfile &&
                  (buf->flags & EVBUFFER_FLAG_DRAINS_TO_FD) != 0;
    if (!sendfile_ok && evbuffer_file_segment_materialize_(seg) < 0) {
        EVLOCK_UNLOCK(seg->lock, 0);
        goto err;
    }
    ++seg->refcnt;
    EVLOCK_UNLOCK(seg->lock, 0);

    info = EVBUFFER_CHAIN_EXTRA(struct evbuffer_chain_file_segment, chain);
    info->segment = seg;
    chain->flags = EVBUFFER_FILESEGMENT | EVBUFFER_IMMUTABLE;
    chain->off = (size_t)length;
    if (sendfile_ok) {
        /* Only the offset in the file is kept. */
        chain->flags |= EVBUFFER_SENDFILE;
        chain->misalign = (size_t)(seg->file_offset + offset);
        chain->buffer_len = chain->misalign + chain->off;
        buf->has_sendfile = 1;
    } else {
        chain->buffer = (unsigned char *)seg->contents;
        chain->buffer_len = (size_t)seg->length;
        chain->misalign = (size_t)offset;
    }

    evbuffer_chain_insert_(buf, chain);
    buf->total_len += (size_t)length;
    buf->n_add_for_cb += (size_t)length;
    result = 0;
    EVBUFFER_CHECK(buf);
    evbuffer_invoke_callbacks_(buf);
    EVBUFFER_UNLOCK(buf);
    return result;
err:
    EVBUFFER_UNLOCK(buf);
    mm_free(chain);
    return -1;
}

int
evbuffer_add_file(struct evbuffer *buf, int fd, ev_off_t offset,
    ev_off_t length)
{
    struct evbuffer_file_segment *seg;
    int r;

    /* Like any failure, this leaves fd open and the caller's. */
    EV_REFUSE_NULL_(buf, -1);
    seg = evbuffer_file_segment_new(fd, offset, length,
        EVBUF_FS_CLOSE_ON_FREE);
    if (seg == NULL)
        return -1;
    r = evbuffer_add_file_segment(buf, seg, 0, -1);
    if (r < 0) {
        /* On failure the caller still owns fd, as with libevent. */
        seg->flags &= ~EVBUF_FS_CLOSE_ON_FREE;
    }
    evbuffer_file_segment_free(seg);
    return r;
}

int
evbuffer_chain_materialize_(struct evbuffer_chain *chain)
{
    struct evbuffer_file_segment *seg;
    int r;

    if (!(chain->flags & EVBUFFER_SENDFILE))
        return 0;
    seg = EVBUFFER_CHAIN_EXTRA(struct evbuffer_chain_file_segment, chain)
              ->segment;
    EVLOCK_LOCK(seg->lock, 0);
    r = evbuffer_file_segment_materialize_(seg);
    EVLOCK_UNLOCK(seg->lock, 0);
    if (r < 0)
        return -1;
    /* misalign was an offset in the file; make it one in the segment. */
    chain->misalign -= (size_t)seg->file_offset;
    chain->buffer = (unsigned char *)seg->contents;
    chain->buffer_len = (size_t)seg->length;
    chain->flags &= ~EVBUFFER_SENDFILE;
    return 0;
}

int
evbuffer_materialize_(struct evbuffer *buf)
{
    struct evbuffer_chain *chain;

    for (chain = buf->first; chain; chain = chain->next) {
        if (evbuffer_chain_materialize_(chain) < 0)
            return -1;
    }
    buf->has_sendfile = 0;
    return 0;
}

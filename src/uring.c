/*
 * uring.c: setting up and tearing down the io_uring rings of the
 * backends (uring-internal.h).
 */
#include "event2/event-config.h"

#ifdef EVENT__HAVE_IO_URING
#include <sys/mman.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log-internal.h"
#include "mm-internal.h"
#include "uring-internal.h"

static void
unmap_rings(struct uring *r)
{
    if (r->ring != NULL && r->ring != MAP_FAILED)
        munmap(r->ring, r->ring_len);
    if (r->sqes != NULL && (void *)r->sqes != MAP_FAILED)
        munmap(r->sqes, r->sqes_len);
    if (r->alive != NULL && (void *)r->alive != MAP_FAILED)
        munmap((void *)r->alive, (size_t)sysconf(_SC_PAGESIZE));
    r->ring = NULL;
    r->sqes = NULL;
    r->alive = NULL;
}

/* Non-zero when the kernel supports each of the nops opcodes in ops. */
static int
probe_opcodes(int ring_fd, const int *ops, int nops)
{
    const size_t slots = 256;
    struct io_uring_probe *probe;
    int i, ok = 1;

    probe = mm_calloc(1,
        sizeof(*probe) + slots * sizeof(struct io_uring_probe_op));
    if (probe == NULL)
        return 0;
    if (syscall(__NR_io_uring_register, ring_fd, IORING_REGISTER_PROBE,
            probe, (unsigned)slots) < 0) {
        ok = 0;
    } else {
        for (i = 0; i < nops; ++i) {
            if (ops[i] > probe->last_op ||
                !(probe->ops[ops[i]].flags & IO_URING_OP_SUPPORTED))
                ok = 0;
        }
    }
    mm_free(probe);
    return ok;
}

int
uring_setup_(struct uring *r, unsigned sq_entries, unsigned cq_entries,
    unsigned flags, unsigned features, const int *ops, int nops)
{
    struct io_uring_params p;
    size_t sq_len, cq_len, page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned *sq_array, i;
    char *ring;
    int fd;

    memset(r, 0, sizeof(*r));
    r->fd = -1;
    memset(&p, 0, sizeof(p));
    p.flags = flags | IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
    p.cq_entries = cq_entries;
    fd = (int)syscall(__NR_io_uring_setup, sq_entries, &p);
    if (fd < 0) {
        /* ENOSYS (no io_uring), EPERM (disabled by sysctl or seccomp),
         * EINVAL (a kernel too old for the flags), ENOMEM (memlock
         * limits of old kernels): the caller falls back. */
        event_debug(("%s: io_uring_setup: %s", __func__, strerror(errno)));
        return -1;
    }
    if ((p.features & features) != features ||
        (nops > 0 && !probe_opcodes(fd, ops, nops))) {
        event_debug(("%s: io_uring lacks features we need", __func__));
        close(fd);
        return -1;
    }

    sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    r->ring_len = sq_len > cq_len ? sq_len : cq_len;
    r->ring = mmap(NULL, r->ring_len, PROT_READ | PROT_WRITE,
        MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
    r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
    r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE,
        MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
    r->alive = mmap(NULL, page, PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r->ring == MAP_FAILED || (void *)r->sqes == MAP_FAILED ||
        (void *)r->alive == MAP_FAILED ||
        madvise((void *)r->alive, page, MADV_WIPEONFORK) != 0) {
        event_warn("%s: mapping the io_uring rings", __func__);
        unmap_rings(r);
        close(fd);
        return -1;
    }
    *r->alive = 1;
    r->fd = fd;

    ring = r->ring;
    r->sq_head = (unsigned *)(ring + p.sq_off.head);
    r->sq_tail = (unsigned *)(ring + p.sq_off.tail);
    r->sq_flags = (unsigned *)(ring + p.sq_off.flags);
    r->sq_mask = *(unsigned *)(ring + p.sq_off.ring_mask);
    r->sq_entries = p.sq_entries;
    r->sq_local_tail = *r->sq_tail;
    /* Slot i of the indirection array always names SQE i. */
    sq_array = (unsigned *)(ring + p.sq_off.array);
    for (i = 0; i < p.sq_entries; ++i)
        sq_array[i] = i;
    r->cq_head = (unsigned *)(ring + p.cq_off.head);
    r->cq_tail = (unsigned *)(ring + p.cq_off.tail);
    r->cq_mask = *(unsigned *)(ring + p.cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *)(ring + p.cq_off.cqes);
    return 0;
}

void
uring_teardown_(struct uring *r)
{
    if (r->fd < 0)
        return;
    unmap_rings(r);
    close(r->fd);
    r->fd = -1;
}

#else
/* ISO C wants something in a translation unit. */
typedef int uring_unused_;
#endif /* EVENT__HAVE_IO_URING */

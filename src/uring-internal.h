/*
 * uring-internal.h: the io_uring(7) rings as the backends use them, with
 * raw system calls (no liburing).  backends/io_uring.c (poll requests)
 * and backends/epoll.c (its io_uring mode: the epoll set's changes and
 * waits as ring requests) each own one.
 *
 * A ring is set up, mapped and probed by uring_setup_(), and torn down by
 * uring_teardown_().  Entries are filled in at the SQ tail
 * (uring_sqe_()), published (uring_queue_()) and handed to the kernel by
 * uring_enter_(); completions are read from cq_head to cq_tail.
 *
 * A forked child shares the parent's rings (MAP_SHARED): one that wrote
 * to them would corrupt the parent's.  Each ring has a private page that
 * the kernel zeroes in a child (MADV_WIPEONFORK), read by
 * uring_forked_copy_().
 */
#ifndef URING_INTERNAL_H_INCLUDED_
#define URING_INTERNAL_H_INCLUDED_

#include "event2/event-config.h"

#ifdef EVENT__HAVE_IO_URING
#include <linux/io_uring.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "util-internal.h"

/* Newer than some kernel headers that build us; the kernel is probed
 * for each before use. */
#ifndef IORING_SETUP_SUBMIT_ALL
#define IORING_SETUP_SUBMIT_ALL (1U << 7)
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif
/* Linux 6.15: epoll_wait() as a request. */
#define URING_OP_EPOLL_WAIT 59

struct uring {
    int fd; /* -1: no ring */
    void *ring;
    size_t ring_len;
    struct io_uring_sqe *sqes;
    size_t sqes_len;
    unsigned *sq_head, *sq_tail, *sq_flags;
    unsigned sq_mask, sq_entries;
    unsigned sq_local_tail; /* our copy of *sq_tail */
    unsigned *cq_head, *cq_tail;
    unsigned cq_mask;
    struct io_uring_cqe *cqes;
    /* 1 in the process that made the ring; the kernel zeroes it in a
     * forked child. */
    volatile int *alive;
};

/* Set up r with the given sizes and IORING_SETUP_* flags, requiring the
 * IORING_FEAT_* bits in features and the nops opcodes in ops.  Returns 0,
 * or -1 with r->fd == -1 and nothing left open when the kernel refuses
 * any of it (quietly: the caller falls back). */
int uring_setup_(struct uring *r, unsigned sq_entries, unsigned cq_entries,
    unsigned flags, unsigned features, const int *ops, int nops);
/* Unmap and close r (a no-op when r->fd is -1); r->fd becomes -1.  In a
 * forked child this only drops the child's reference. */
void uring_teardown_(struct uring *r);

#if defined(__x86_64__) && defined(__GNUC__)
/* A system call of six arguments, made inline.  The arguments arrive as
 * values, so nothing runs between loading the registers and the syscall
 * instruction (an instrumented memory read there, as TSan inserts, would
 * be a call that clobbers r8 to r10).  Returns the kernel's result,
 * -errno on failure. */
static inline long
uring_syscall6_(long nr, long a1, long a2, long a3, long a4, long a5,
    long a6)
{
    register long r10 __asm__("r10") = a4;
    register long r8 __asm__("r8") = a5;
    register long r9 __asm__("r9") = a6;
    long ret;

    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "0"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8),
                     "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#endif

/* io_uring_enter(2): the count submitted (or 0), or -1 with errno.  On
 * x86-64 the system call is made inline: once per loop iteration, the
 * variadic syscall() wrapper's shuffling of six arguments shows. */
static inline int
uring_enter_(const struct uring *r, unsigned to_submit, unsigned min_complete,
    unsigned flags, const void *arg, size_t argsz)
{
#if defined(__x86_64__) && defined(__GNUC__)
    long ret = uring_syscall6_(__NR_io_uring_enter, r->fd, (long)to_submit,
        (long)min_complete, (long)flags, (long)arg, (long)argsz);
    if (EVUTIL_UNLIKELY(ret < 0)) {
        errno = (int)-ret;
        return -1;
    }
    return (int)ret;
#else
    return (int)syscall(__NR_io_uring_enter, r->fd, to_submit, min_complete,
        flags, arg, argsz);
#endif
}

/* The extended argument of a wait in io_uring_enter()
 * (IORING_ENTER_EXT_ARG): no signal mask, and the timeout tv to the
 * nanosecond, kept in *ts, or none for NULL.  arg and ts must last until
 * the call. */
static inline void
uring_wait_arg_(struct io_uring_getevents_arg *arg,
    struct __kernel_timespec *ts, const struct timeval *tv)
{
    memset(arg, 0, sizeof(*arg));
    arg->sigmask_sz = _NSIG / 8;
    if (tv != NULL) {
        ts->tv_sec = tv->tv_sec + tv->tv_usec / 1000000;
        ts->tv_nsec = (long long)(tv->tv_usec % 1000000) * 1000;
        arg->ts = (ev_uint64_t)(uintptr_t)ts;
    }
}

/* Entries published and not yet consumed by the kernel. */
static inline unsigned
uring_unsubmitted_(const struct uring *r)
{
    return r->sq_local_tail - __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
}

/* The zeroed entry at the tail; the caller checks for room first
 * (uring_unsubmitted_() < sq_entries) and publishes it with
 * uring_queue_() once filled in. */
static inline struct io_uring_sqe *
uring_sqe_(struct uring *r)
{
    struct io_uring_sqe *sqe = &r->sqes[r->sq_local_tail & r->sq_mask];
    memset(sqe, 0, sizeof(*sqe));
    return sqe;
}

static inline void
uring_queue_(struct uring *r)
{
    ++r->sq_local_tail;
    __atomic_store_n(r->sq_tail, r->sq_local_tail, __ATOMIC_RELEASE);
}

static inline int
uring_forked_copy_(const struct uring *r)
{
    return EVUTIL_UNLIKELY(*r->alive == 0);
}

#endif /* EVENT__HAVE_IO_URING */
#endif /* URING_INTERNAL_H_INCLUDED_ */

/*
 * sys/event.h (test shim): the kqueue(2)/kevent(2) interface of the BSDs,
 * for building backends/kqueue.c on Linux in tests only.
 *
 * Layout and constants follow FreeBSD's manual page kevent(2) (FreeBSD
 * 12, where data is 64 bits and ext[4] follows udata).  The functions are
 * implemented over epoll and an eventfd in test/shim/kqueue-shim.c; only
 * EVFILT_READ, EVFILT_WRITE and EVFILT_SIGNAL are supported there (any
 * other filter is refused with EINVAL).  Never installed.
 */
#ifndef SHIM_SYS_EVENT_H_INCLUDED_
#define SHIM_SYS_EVENT_H_INCLUDED_

#include <stdint.h>
#include <time.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EVFILT_READ (-1)
#define EVFILT_WRITE (-2)
#define EVFILT_AIO (-3)
#define EVFILT_VNODE (-4)
#define EVFILT_PROC (-5)
#define EVFILT_SIGNAL (-6)
#define EVFILT_TIMER (-7)
#define EVFILT_PROCDESC (-8)
#define EVFILT_FS (-9)
#define EVFILT_LIO (-10)
#define EVFILT_USER (-11)
#define EVFILT_SENDFILE (-12)
#define EVFILT_EMPTY (-13)

/* Actions. */
#define EV_ADD 0x0001
#define EV_DELETE 0x0002
#define EV_ENABLE 0x0004
#define EV_DISABLE 0x0008
#define EV_FORCEONESHOT 0x0100

/* Flags. */
#define EV_ONESHOT 0x0010
#define EV_CLEAR 0x0020
#define EV_RECEIPT 0x0040
#define EV_DISPATCH 0x0080

/* Returned values. */
#define EV_SYSFLAGS 0xF000
#define EV_DROP 0x1000
#define EV_FLAG1 0x2000
#define EV_FLAG2 0x4000
#define EV_EOF 0x8000
#define EV_ERROR 0x4000

/* fflags for EVFILT_READ and EVFILT_WRITE. */
#define NOTE_LOWAT 0x0001
#define NOTE_FILE_POLL 0x0002

struct kevent {
    uintptr_t ident;
    short filter;
    unsigned short flags;
    unsigned int fflags;
    int64_t data;
    void *udata;
    uint64_t ext[4];
};

#define EV_SET(kevp_, a, b, c, d, e, f)                                      \
    do {                                                                     \
        struct kevent *kevp = (kevp_);                                       \
        (kevp)->ident = (a);                                                 \
        (kevp)->filter = (b);                                                \
        (kevp)->flags = (c);                                                 \
        (kevp)->fflags = (d);                                                \
        (kevp)->data = (e);                                                  \
        (kevp)->udata = (f);                                                 \
        (kevp)->ext[0] = 0;                                                  \
        (kevp)->ext[1] = 0;                                                  \
        (kevp)->ext[2] = 0;                                                  \
        (kevp)->ext[3] = 0;                                                  \
    } while (0)

int kqueue(void);
int kevent(int kq, const struct kevent *changelist, int nchanges,
    struct kevent *eventlist, int nevents, const struct timespec *timeout);

#ifdef __cplusplus
}
#endif

#endif /* SHIM_SYS_EVENT_H_INCLUDED_ */

/*
 * sys/devpoll.h (test shim): the /dev/poll driver of Solaris and illumos
 * (poll(4D), formerly poll(7D)), for building backends/devpoll.c on Linux
 * in tests only.
 *
 * open("/dev/poll"), write() of struct pollfd arrays, ioctl(DP_POLL) and
 * ioctl(DP_ISPOLLED) are emulated by test/shim/devpoll-shim.c, which the
 * linker puts in front of open/write/ioctl/close (-Wl,--wrap=...).
 * Never installed.
 */
#ifndef SHIM_SYS_DEVPOLL_H_INCLUDED_
#define SHIM_SYS_DEVPOLL_H_INCLUDED_

#include <poll.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Revokes all interest in pollfd.fd when set in pollfd.events.  glibc's
 * poll.h names another value under _GNU_SOURCE (a bit Linux never acts
 * on); Solaris's value wins so that every file sees the same one. */
#ifdef POLLREMOVE
#undef POLLREMOVE
#endif
#define POLLREMOVE 0x0800

#define DPIOC (0xD0 << 8)
#define DP_POLL (DPIOC | 1)     /* poll on the fds cached in /dev/poll */
#define DP_ISPOLLED (DPIOC | 2) /* is this fd cached in /dev/poll? */

struct dvpoll {
    struct pollfd *dp_fds;
    int dp_nfds;
    int dp_timeout;
};

#ifdef __cplusplus
}
#endif

#endif /* SHIM_SYS_DEVPOLL_H_INCLUDED_ */

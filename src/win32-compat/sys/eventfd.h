/* Windows has no eventfd (see README in win32-compat/): only the flag
 * names, so that util-internal.h compiles; evutil_eventfd_() fails with
 * ENOSYS there and callers fall back to a socket pair. */
#ifndef EVENT_WIN32_COMPAT_SYS_EVENTFD_H_
#define EVENT_WIN32_COMPAT_SYS_EVENTFD_H_
#define EFD_NONBLOCK 0x04000000
#define EFD_CLOEXEC 0x08000000
#endif

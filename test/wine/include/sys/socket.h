/*
 * test/wine/include/sys/socket.h: the library's stand-in <sys/socket.h>
 * plus sa_family_t, which Winsock calls ADDRESS_FAMILY, and MSG_NOSIGNAL
 * (Windows build of the tests only).
 */
#ifndef EVENT_TEST_WINE_SYS_SOCKET_H_
#define EVENT_TEST_WINE_SYS_SOCKET_H_
#include_next <sys/socket.h>
typedef ADDRESS_FAMILY sa_family_t;
/* Winsock never raises SIGPIPE: every send() already behaves as with
 * Linux's MSG_NOSIGNAL. */
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif
#endif

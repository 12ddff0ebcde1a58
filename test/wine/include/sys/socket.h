/*
 * test/wine/include/sys/socket.h: the library's stand-in <sys/socket.h>
 * plus sa_family_t, which Winsock calls ADDRESS_FAMILY (Windows build of
 * the tests only).
 */
#ifndef EVENT_TEST_WINE_SYS_SOCKET_H_
#define EVENT_TEST_WINE_SYS_SOCKET_H_
#include_next <sys/socket.h>
typedef ADDRESS_FAMILY sa_family_t;
#endif

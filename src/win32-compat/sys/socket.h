/* Windows stand-in for <sys/socket.h>: Winsock 2 (see ../README). */
#ifndef EVENT_WIN32_COMPAT_SYS_SOCKET_H_
#define EVENT_WIN32_COMPAT_SYS_SOCKET_H_
#include <winsock2.h>
#include <ws2tcpip.h>
#ifndef SHUT_RD
#define SHUT_RD SD_RECEIVE
#define SHUT_WR SD_SEND
#define SHUT_RDWR SD_BOTH
#endif
/* Linux's socket(2) type flags do not exist in Winsock; evutil_socket_()
 * and evutil_accept4_() strip these private bits and apply them by hand
 * (ioctlsocket(FIONBIO); handles are not inherited by default). */
#ifndef SOCK_NONBLOCK
#define SOCK_NONBLOCK 0x04000000
#endif
#ifndef SOCK_CLOEXEC
#define SOCK_CLOEXEC 0x08000000
#endif
#endif

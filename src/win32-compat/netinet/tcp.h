/* Windows stand-in for <netinet/tcp.h>: Winsock 2 (see ../README). */
#include <sys/socket.h>

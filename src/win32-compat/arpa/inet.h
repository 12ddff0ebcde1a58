/* Windows stand-in for <arpa/inet.h>: Winsock 2 (see ../README). */
#include <sys/socket.h>

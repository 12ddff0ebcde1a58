/* Windows stand-in for <netinet/in.h>: Winsock 2 (see ../README). */
#include <sys/socket.h>

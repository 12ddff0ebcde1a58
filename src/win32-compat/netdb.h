/* Windows stand-in for <netdb.h>: Winsock 2 (see README). */
#include <sys/socket.h>

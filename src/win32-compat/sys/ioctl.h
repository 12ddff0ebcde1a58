/* Windows stand-in for <sys/ioctl.h>: Winsock 2 (see ../README). */
#include <sys/socket.h>

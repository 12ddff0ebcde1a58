/* Windows stand-in for <net/if.h>: if_nametoindex and friends. */
#include <sys/socket.h>
#include <iphlpapi.h>
#include <netioapi.h>

/* Windows: mingw-w64's <sys/types.h> plus suseconds_t, the type of
 * struct timeval's tv_usec (a long in Winsock's struct timeval). */
#ifndef EVENT_WIN32_COMPAT_SYS_TYPES_H_
#define EVENT_WIN32_COMPAT_SYS_TYPES_H_
#include_next <sys/types.h>
#ifndef EVENT_WIN32_HAVE_SUSECONDS_T_
#define EVENT_WIN32_HAVE_SUSECONDS_T_
typedef long suseconds_t;
#endif
#endif

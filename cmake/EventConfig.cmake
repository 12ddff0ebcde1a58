# Platform checks behind include/event2/event-config.h.in.
#
# Sets one EVENT__HAVE_* variable per fact the template uses (true or
# empty), the EVENT__SIZEOF_* sizes, and EVENT__VERSION /
# EVENT__NUMERIC_VERSION.  The top-level CMakeLists.txt includes this file
# before configure_file(), and picks backends from EVENT__HAVE_EPOLL,
# EVENT__HAVE_POLL, EVENT__HAVE_SELECT (and EVENT__HAVE_KQUEUE elsewhere).
#
# The checks run with _GNU_SOURCE defined, as autoconf's system-extensions
# block does for Debian's build, so that on Debian 12 x86-64 the generated
# header carries exactly the macros Debian's does.
include(CheckIncludeFile)
include(CheckSymbolExists)
include(CheckTypeSize)
include(CheckStructHasMember)
include(CheckCSourceCompiles)

set(_event_saved_defs ${CMAKE_REQUIRED_DEFINITIONS})
list(APPEND CMAKE_REQUIRED_DEFINITIONS -D_GNU_SOURCE)

# --- headers ----------------------------------------------------------------
foreach(hdr IN ITEMS
        arpa/inet.h dlfcn.h errno.h fcntl.h ifaddrs.h inttypes.h netdb.h
        netinet/in.h netinet/tcp.h poll.h stdarg.h stddef.h stdint.h stdio.h
        stdlib.h strings.h string.h sys/epoll.h sys/event.h sys/eventfd.h
        sys/ioctl.h sys/mman.h sys/param.h sys/queue.h sys/random.h
        sys/resource.h sys/select.h sys/sendfile.h sys/socket.h sys/stat.h
        sys/timerfd.h sys/time.h sys/types.h sys/uio.h sys/un.h sys/wait.h
        unistd.h wchar.h)
    string(TOUPPER "${hdr}" var)
    string(REGEX REPLACE "[/.]" "_" var "${var}")
    check_include_file(${hdr} EVENT__HAVE_${var})
endforeach()

# --- functions and macros ---------------------------------------------------
# event_check_symbol(VAR SYMBOL HEADER...): VAR is true when SYMBOL is
# declared (as a function, variable or macro) by the given headers.
macro(event_check_symbol var sym)
    check_symbol_exists(${sym} "${ARGN}" ${var})
endmacro()

event_check_symbol(EVENT__HAVE_ACCEPT4 accept4 sys/types.h sys/socket.h)
event_check_symbol(EVENT__HAVE_ARC4RANDOM arc4random stdlib.h)
event_check_symbol(EVENT__HAVE_ARC4RANDOM_BUF arc4random_buf stdlib.h)
event_check_symbol(EVENT__HAVE_CLOCK_GETTIME clock_gettime time.h)
event_check_symbol(EVENT__HAVE_EPOLL epoll_create sys/epoll.h)
event_check_symbol(EVENT__HAVE_EPOLL_CREATE1 epoll_create1 sys/epoll.h)
event_check_symbol(EVENT__HAVE_EPOLL_CTL epoll_ctl sys/epoll.h)
event_check_symbol(EVENT__HAVE_EVENTFD eventfd sys/eventfd.h)
event_check_symbol(EVENT__HAVE_FCNTL fcntl fcntl.h)
event_check_symbol(EVENT__HAVE_GETADDRINFO getaddrinfo netdb.h)
event_check_symbol(EVENT__HAVE_GETEGID getegid unistd.h)
event_check_symbol(EVENT__HAVE_GETEUID geteuid unistd.h)
event_check_symbol(EVENT__HAVE_GETIFADDRS getifaddrs ifaddrs.h)
event_check_symbol(EVENT__HAVE_GETNAMEINFO getnameinfo netdb.h)
event_check_symbol(EVENT__HAVE_GETPROTOBYNUMBER getprotobynumber netdb.h)
event_check_symbol(EVENT__HAVE_GETRANDOM getrandom sys/random.h)
event_check_symbol(EVENT__HAVE_GETSERVBYNAME getservbyname netdb.h)
event_check_symbol(EVENT__HAVE_GETTIMEOFDAY gettimeofday sys/time.h)
event_check_symbol(EVENT__HAVE_INET_NTOP inet_ntop arpa/inet.h)
event_check_symbol(EVENT__HAVE_INET_PTON inet_pton arpa/inet.h)
if(EVENT__HAVE_SYS_EVENT_H)
    event_check_symbol(EVENT__HAVE_KQUEUE kqueue sys/types.h sys/event.h)
endif()
event_check_symbol(EVENT__HAVE_MMAP mmap sys/mman.h)
event_check_symbol(EVENT__HAVE_NANOSLEEP nanosleep time.h)
event_check_symbol(EVENT__HAVE_PIPE pipe unistd.h)
event_check_symbol(EVENT__HAVE_PIPE2 pipe2 fcntl.h unistd.h)
event_check_symbol(EVENT__HAVE_POLL poll poll.h)
event_check_symbol(EVENT__HAVE_PUTENV putenv stdlib.h)
event_check_symbol(EVENT__HAVE_SELECT select sys/select.h)
event_check_symbol(EVENT__HAVE_SENDFILE sendfile sys/sendfile.h)
event_check_symbol(EVENT__HAVE_SETENV setenv stdlib.h)
event_check_symbol(EVENT__HAVE_SETFD F_SETFD fcntl.h)
event_check_symbol(EVENT__HAVE_SETRLIMIT setrlimit sys/resource.h)
event_check_symbol(EVENT__HAVE_SIGACTION sigaction signal.h)
event_check_symbol(EVENT__HAVE_SIGNAL signal signal.h)
event_check_symbol(EVENT__HAVE_SPLICE splice fcntl.h)
event_check_symbol(EVENT__HAVE_STRSEP strsep string.h)
event_check_symbol(EVENT__HAVE_STRTOK_R strtok_r string.h)
event_check_symbol(EVENT__HAVE_STRTOLL strtoll stdlib.h)
event_check_symbol(EVENT__HAVE_TAILQFOREACH TAILQ_FOREACH sys/queue.h)
event_check_symbol(EVENT__HAVE_TIMERADD timeradd sys/time.h)
event_check_symbol(EVENT__HAVE_TIMERCLEAR timerclear sys/time.h)
event_check_symbol(EVENT__HAVE_TIMERCMP timercmp sys/time.h)
event_check_symbol(EVENT__HAVE_TIMERFD_CREATE timerfd_create sys/timerfd.h)
event_check_symbol(EVENT__HAVE_TIMERISSET timerisset sys/time.h)
event_check_symbol(EVENT__HAVE_UMASK umask sys/types.h sys/stat.h)
event_check_symbol(EVENT__HAVE_UNSETENV unsetenv stdlib.h)
event_check_symbol(EVENT__HAVE_USLEEP usleep unistd.h)
event_check_symbol(EVENT__HAVE_VASPRINTF vasprintf stdio.h)

# Windows: the socket API lives in the Winsock headers and ws2_32.
if(WIN32)
    set(_event_saved_libs ${CMAKE_REQUIRED_LIBRARIES})
    list(APPEND CMAKE_REQUIRED_LIBRARIES ws2_32)
    set(_event_ws winsock2.h ws2tcpip.h)
    # The POSIX-header checks above cached "no" under the EVENT__ names,
    # so check under private names and override.
    foreach(fn IN ITEMS getaddrinfo getnameinfo inet_ntop inet_pton)
        string(TOUPPER ${fn} FN)
        event_check_symbol(EVENT_WIN32_HAVE_${FN} ${fn} ${_event_ws})
        set(EVENT__HAVE_${FN} ${EVENT_WIN32_HAVE_${FN}})
    endforeach()
    set(CMAKE_REQUIRED_LIBRARIES ${_event_saved_libs})
    unset(_event_saved_libs)
endif()

# The io_uring backend (backends/io_uring.c) needs the uapi header of a
# Linux 5.18+ (SUBMIT_ALL, CQE_SKIP, poll updates, EXT_ARG).  Not part of
# event-config.h (Debian's has no such macro): CMakeLists.txt passes it
# as a private compile definition.
check_c_source_compiles("
#include <linux/io_uring.h>
int main(void) {
    struct io_uring_getevents_arg a;
    unsigned f = IORING_SETUP_SUBMIT_ALL | IORING_FEAT_CQE_SKIP |
        IORING_POLL_UPDATE_USER_DATA | IORING_ENTER_EXT_ARG;
    (void)a; return (int)f == 0; }" EVENT__HAVE_IO_URING)

find_package(Threads)
# mingw-w64 ships winpthreads, but libevent on Windows uses native threads
# (evthread_use_windows_threads) and has no libevent_pthreads.
if(CMAKE_USE_PTHREADS_INIT AND NOT WIN32)
    set(EVENT__HAVE_PTHREADS 1)
endif()

# --- types and struct members -----------------------------------------------
# event_check_type(VAR TYPE HEADER...): VAR is true when TYPE exists.
function(event_check_type var type)
    set(CMAKE_EXTRA_INCLUDE_FILES ${ARGN})
    check_type_size("${type}" ${var}_SIZE)
    if(HAVE_${var}_SIZE)
        set(${var} 1 PARENT_SCOPE)
    else()
        set(${var} "" PARENT_SCOPE)
    endif()
endfunction()

event_check_type(EVENT__HAVE_FD_MASK fd_mask sys/select.h)
event_check_type(EVENT__HAVE_SA_FAMILY_T sa_family_t sys/socket.h)
event_check_type(EVENT__HAVE_STRUCT_ADDRINFO "struct addrinfo" netdb.h)
event_check_type(EVENT__HAVE_STRUCT_IN6_ADDR "struct in6_addr"
    netinet/in.h)
event_check_type(EVENT__HAVE_STRUCT_LINGER "struct linger" sys/socket.h)
event_check_type(EVENT__HAVE_STRUCT_SOCKADDR_IN6 "struct sockaddr_in6"
    netinet/in.h)
event_check_type(EVENT__HAVE_STRUCT_SOCKADDR_STORAGE
    "struct sockaddr_storage" sys/socket.h)
event_check_type(EVENT__HAVE_STRUCT_SOCKADDR_UN "struct sockaddr_un"
    sys/un.h)
event_check_type(EVENT__HAVE_UINT8_T uint8_t stdint.h)
event_check_type(EVENT__HAVE_UINT16_T uint16_t stdint.h)
event_check_type(EVENT__HAVE_UINT32_T uint32_t stdint.h)
event_check_type(EVENT__HAVE_UINT64_T uint64_t stdint.h)
event_check_type(EVENT__HAVE_UINTPTR_T uintptr_t stdint.h)

if(WIN32)
    foreach(spec IN ITEMS "STRUCT_ADDRINFO|struct addrinfo"
            "STRUCT_IN6_ADDR|struct in6_addr"
            "STRUCT_SOCKADDR_IN6|struct sockaddr_in6"
            "STRUCT_SOCKADDR_STORAGE|struct sockaddr_storage"
            "STRUCT_LINGER|struct linger")
        string(REPLACE "|" ";" spec "${spec}")
        list(GET spec 0 var)
        list(GET spec 1 type)
        event_check_type(EVENT_WIN32_HAVE_${var} "${type}" winsock2.h
            ws2tcpip.h)
        set(EVENT__HAVE_${var} ${EVENT_WIN32_HAVE_${var}})
    endforeach()
    check_struct_has_member("struct sockaddr_storage" ss_family
        "winsock2.h;ws2tcpip.h" EVENT__HAVE_STRUCT_SOCKADDR_STORAGE_SS_FAMILY)
endif()

check_struct_has_member("struct in6_addr" s6_addr16 netinet/in.h
    EVENT__HAVE_STRUCT_IN6_ADDR_S6_ADDR16)
check_struct_has_member("struct in6_addr" s6_addr32 netinet/in.h
    EVENT__HAVE_STRUCT_IN6_ADDR_S6_ADDR32)
check_struct_has_member("struct sockaddr_storage" ss_family sys/socket.h
    EVENT__HAVE_STRUCT_SOCKADDR_STORAGE_SS_FAMILY)

# --- compiler ---------------------------------------------------------------
check_c_source_compiles(
    "int main(void) { const char *f = __func__; return f[0] == 0; }"
    EVENT__HAVE___func__)
check_c_source_compiles(
    "int main(void) { const char *f = __FUNCTION__; return f[0] == 0; }"
    EVENT__HAVE___FUNCTION__)
check_c_source_compiles("
#include <sys/time.h>
#include <time.h>
int main(void) { struct timeval tv; struct tm tm; (void)tv; (void)tm;
    return 0; }" EVENT__TIME_WITH_SYS_TIME)

# --- sizes ------------------------------------------------------------------
set(CMAKE_EXTRA_INCLUDE_FILES sys/types.h pthread.h)
foreach(spec IN ITEMS "int|INT" "long|LONG" "long long|LONG_LONG"
        "off_t|OFF_T" "pthread_t|PTHREAD_T" "short|SHORT" "size_t|SIZE_T"
        "time_t|TIME_T" "void *|VOID_P")
    string(REPLACE "|" ";" spec "${spec}")
    list(GET spec 0 type)
    list(GET spec 1 name)
    check_type_size("${type}" EVENT__SIZEOF_${name})
    if(NOT EVENT__SIZEOF_${name})
        # The template needs a number; 0 means "no such type here".
        set(EVENT__SIZEOF_${name} 0)
    endif()
endforeach()
unset(CMAKE_EXTRA_INCLUDE_FILES)

set(CMAKE_REQUIRED_DEFINITIONS ${_event_saved_defs})
unset(_event_saved_defs)

# --- version ----------------------------------------------------------------
# "2.1.12-stable" and 0x02010c00: major, minor, patch bytes, then 00 for a
# stable release.
if(NOT EVENT_PACKAGE_VERSION)
    set(EVENT_PACKAGE_VERSION "2.1.12-stable")
endif()
set(EVENT__VERSION "${EVENT_PACKAGE_VERSION}")
string(REGEX MATCH "^([0-9]+)\\.([0-9]+)\\.([0-9]+)" _v "${EVENT__VERSION}")
set(EVENT__NUMERIC_VERSION "0x")
foreach(part IN ITEMS ${CMAKE_MATCH_1} ${CMAKE_MATCH_2} ${CMAKE_MATCH_3} 0)
    math(EXPR part "${part}" OUTPUT_FORMAT HEXADECIMAL)
    string(REGEX REPLACE "^0x" "" part "${part}")
    string(LENGTH "${part}" len)
    if(len LESS 2)
        set(part "0${part}")
    endif()
    string(TOLOWER "${part}" part)
    string(APPEND EVENT__NUMERIC_VERSION "${part}")
endforeach()
unset(_v)

/*
 * Windows: the C runtime's <signal.h> plus the POSIX names src/signal.c
 * uses (see README).  sigset_t is declared by mingw only under _POSIX;
 * sigaction() is a thin layer over the CRT's signal(), which knows only
 * SIGINT, SIGILL, SIGFPE, SIGSEGV, SIGTERM, SIGBREAK and SIGABRT and
 * fails with EINVAL for any other number.  Masks and flags do not exist
 * there and are ignored.
 */
#ifndef EVENT_WIN32_COMPAT_SIGNAL_H_
#define EVENT_WIN32_COMPAT_SIGNAL_H_
#include_next <signal.h>
#include <sys/types.h>
#include <errno.h>
#if !defined(_POSIX) && !defined(EVENT_WIN32_HAVE_SIGSET_T_)
#define EVENT_WIN32_HAVE_SIGSET_T_
typedef _sigset_t sigset_t;
#endif

#ifndef SA_RESTART
#define SA_RESTART 0
#endif

struct sigaction {
    void (*sa_handler)(int);
    sigset_t sa_mask;
    int sa_flags;
};

static inline int
sigfillset(sigset_t *set)
{
    *set = (sigset_t)~(sigset_t)0;
    return 0;
}

static inline int
sigaction(int sig, const struct sigaction *sa, struct sigaction *old)
{
    void (*prev)(int);

    /* signal() cannot only query: install the default, then put the old
     * handler back. */
    prev = signal(sig, sa ? sa->sa_handler : SIG_DFL);
    if (prev == SIG_ERR) {
        errno = EINVAL;
        return -1;
    }
    if (!sa)
        (void)signal(sig, prev);
    if (old) {
        old->sa_handler = prev;
        old->sa_mask = 0;
        old->sa_flags = 0;
    }
    return 0;
}
#endif

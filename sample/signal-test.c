/*
 * signal-test: a SIGINT handler run by the event loop.
 *
 * A persistent signal event counts SIGINTs; the second one makes the loop
 * exit.  Press Ctrl-C twice to stop it.  Because libevent delivers the
 * signal as an ordinary callback, the handler may call anything, unlike a
 * sigaction() handler.
 *
 * With --self-test the program raises SIGINT itself from a timer, once per
 * 50 ms, so it ends unattended; a 10 s watchdog timer fails the run if the
 * signals are never delivered.  Usage: signal-test [--self-test]
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#define SIGNALS_TO_EXIT 2

struct state {
    struct event_base *base;
    int caught;
    int timed_out;
};

static void
on_sigint(evutil_socket_t sig, short what, void *arg)
{
    struct state *st = arg;

    st->caught++;
    printf("caught signal %d (%d of %d)\n", (int)sig, st->caught,
           SIGNALS_TO_EXIT);
    if (st->caught == SIGNALS_TO_EXIT)
        event_base_loopexit(st->base, NULL);
}

/* Self-test only: stand in for the user pressing Ctrl-C. */
static void
on_raise_timer(evutil_socket_t fd, short what, void *arg)
{
    raise(SIGINT);
}

static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    struct state *st = arg;

    fprintf(stderr, "signal-test: no signal delivered within 10 s\n");
    st->timed_out = 1;
    event_base_loopbreak(st->base);
}

int
main(int argc, char **argv)
{
    struct state st;
    struct event *sigint, *raiser = NULL, *watchdog = NULL;
    struct timeval every_50ms = {0, 50 * 1000}, ten_s = {10, 0};
    int self_test = argc > 1 && strcmp(argv[1], "--self-test") == 0;
    int ok;

    memset(&st, 0, sizeof(st));
    st.base = event_base_new();
    if (!st.base) {
        fprintf(stderr, "signal-test: event_base_new failed\n");
        return 1;
    }

    sigint = evsignal_new(st.base, SIGINT, on_sigint, &st);
    if (!sigint || evsignal_add(sigint, NULL) < 0) {
        fprintf(stderr, "signal-test: cannot add the SIGINT event\n");
        return 1;
    }

    if (self_test) {
        raiser = event_new(st.base, -1, EV_PERSIST, on_raise_timer, NULL);
        watchdog = evtimer_new(st.base, on_watchdog, &st);
        if (!raiser || !watchdog || event_add(raiser, &every_50ms) < 0 ||
            evtimer_add(watchdog, &ten_s) < 0) {
            fprintf(stderr, "signal-test: cannot add the timers\n");
            return 1;
        }
    } else {
        printf("press Ctrl-C %d times to exit\n", SIGNALS_TO_EXIT);
    }

    event_base_dispatch(st.base);
    ok = st.caught == SIGNALS_TO_EXIT && !st.timed_out;

    if (raiser)
        event_free(raiser);
    if (watchdog)
        event_free(watchdog);
    event_free(sigint);
    event_base_free(st.base);
    if (self_test)
        printf("signal-test: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}

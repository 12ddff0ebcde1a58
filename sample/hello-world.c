/*
 * hello-world: a TCP server that greets each client and hangs up.
 *
 * An evconnlistener accepts connections on 127.0.0.1:9995; each one gets a
 * socket bufferevent that writes "Hello, World!\n" and is freed (closing the
 * socket) once its output buffer has drained.  Ctrl-C stops the server.
 * Try it with: nc 127.0.0.1 9995
 *
 * With --self-test the server listens on a free port chosen by the kernel
 * instead (so parallel test runs cannot collide), connects to itself once
 * with a client bufferevent, checks the greeting and exits; a 10 s watchdog
 * fails the run if anything stalls.  Usage: hello-world [--self-test]
 */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#define PORT 9995
#define GREETING "Hello, World!\n"

struct state {
    struct event_base *base;
    struct bufferevent *client;
    int greeted;
    int failed;
};

/* Server side: the greeting has been handed to the kernel; hang up. */
static void
on_server_write(struct bufferevent *bev, void *arg)
{
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        bufferevent_free(bev);
}

static void
on_server_event(struct bufferevent *bev, short events, void *arg)
{
    if (events & BEV_EVENT_ERROR)
        fprintf(stderr, "hello-world: connection error: %s\n",
                evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    bufferevent_free(bev);
}

static void
on_accept(struct evconnlistener *listener, evutil_socket_t fd,
          struct sockaddr *sa, int socklen, void *arg)
{
    struct event_base *base = evconnlistener_get_base(listener);
    struct bufferevent *bev;

    bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        fprintf(stderr, "hello-world: cannot make a bufferevent\n");
        evutil_closesocket(fd);
        return;
    }
    bufferevent_setcb(bev, NULL, on_server_write, on_server_event, NULL);
    bufferevent_enable(bev, EV_WRITE);
    bufferevent_disable(bev, EV_READ);
    bufferevent_write(bev, GREETING, strlen(GREETING));
}

static void
on_listener_error(struct evconnlistener *listener, void *arg)
{
    struct state *st = arg;

    fprintf(stderr, "hello-world: accept failed: %s\n",
            evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    st->failed = 1;
    event_base_loopexit(st->base, NULL);
}

/* Self-test client: the server closed; compare what it sent. */
static void
on_client_event(struct bufferevent *bev, short events, void *arg)
{
    struct state *st = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len = evbuffer_get_length(in);
    char got[64];

    if (events & BEV_EVENT_CONNECTED) {
        printf("connected to ourselves\n");
        return;
    }
    if (events & BEV_EVENT_ERROR) {
        fprintf(stderr, "hello-world: client error: %s\n",
                evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        st->failed = 1;
    } else if (events & BEV_EVENT_EOF) {
        if (len >= sizeof(got))
            len = sizeof(got) - 1;
        evbuffer_remove(in, got, len);
        got[len] = '\0';
        printf("server said: %s", got);
        if (strcmp(got, GREETING) == 0)
            st->greeted = 1;
        else
            st->failed = 1;
    }
    event_base_loopexit(st->base, NULL);
}

static void
on_sigint(evutil_socket_t sig, short what, void *arg)
{
    struct state *st = arg;

    printf("caught SIGINT, exiting\n");
    event_base_loopexit(st->base, NULL);
}

static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    struct state *st = arg;

    fprintf(stderr, "hello-world: self-test did not finish within 10 s\n");
    st->failed = 1;
    event_base_loopbreak(st->base);
}

/* Self-test: connect a client bufferevent to our own listener. */
static int
start_client(struct state *st, struct evconnlistener *listener)
{
    struct sockaddr_in sin;
    ev_socklen_t len = sizeof(sin);

    if (getsockname(evconnlistener_get_fd(listener), (struct sockaddr *)&sin,
                    &len) < 0)
        return -1;
    printf("self-test: listening on 127.0.0.1:%d\n", ntohs(sin.sin_port));
    st->client = bufferevent_socket_new(st->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!st->client)
        return -1;
    bufferevent_setcb(st->client, NULL, NULL, on_client_event, st);
    bufferevent_enable(st->client, EV_READ);
    return bufferevent_socket_connect(st->client, (struct sockaddr *)&sin,
                                      sizeof(sin));
}

int
main(int argc, char **argv)
{
    struct state st;
    struct evconnlistener *listener;
    struct event *sigint, *watchdog;
    struct sockaddr_in sin;
    struct timeval ten_s = {10, 0};
    int self_test = argc > 1 && strcmp(argv[1], "--self-test") == 0;

    memset(&st, 0, sizeof(st));
    st.base = event_base_new();
    if (!st.base) {
        fprintf(stderr, "hello-world: event_base_new failed\n");
        return 1;
    }

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons(self_test ? 0 : PORT);
    listener = evconnlistener_new_bind(
        st.base, on_accept, &st, LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE, -1,
        (struct sockaddr *)&sin, sizeof(sin));
    if (!listener) {
        fprintf(stderr, "hello-world: cannot listen on 127.0.0.1:%d\n",
                self_test ? 0 : PORT);
        return 1;
    }
    evconnlistener_set_error_cb(listener, on_listener_error);

    sigint = evsignal_new(st.base, SIGINT, on_sigint, &st);
    watchdog = evtimer_new(st.base, on_watchdog, &st);
    if (!sigint || !watchdog || evsignal_add(sigint, NULL) < 0) {
        fprintf(stderr, "hello-world: cannot add the signal event\n");
        return 1;
    }
    if (self_test) {
        if (evtimer_add(watchdog, &ten_s) < 0 ||
            start_client(&st, listener) < 0) {
            fprintf(stderr, "hello-world: cannot start the client\n");
            return 1;
        }
    } else {
        printf("listening on 127.0.0.1:%d; Ctrl-C to stop\n", PORT);
    }

    event_base_dispatch(st.base);

    if (st.client)
        bufferevent_free(st.client);
    evconnlistener_free(listener);
    event_free(watchdog);
    event_free(sigint);
    event_base_free(st.base);
    if (self_test) {
        int ok = st.greeted && !st.failed;
        printf("hello-world: %s\n", ok ? "ok" : "FAILED");
        return ok ? 0 : 1;
    }
    return st.failed;
}

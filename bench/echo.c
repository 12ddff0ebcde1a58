/*
 * echo: a bufferevent echo server and its clients on one event base in
 * one thread, over TCP on 127.0.0.1.  Each client keeps one message of
 * --size bytes in flight: it sends, waits for the whole echo, sends the
 * next, until its share of --messages is done.  The server echoes by
 * moving its input buffer to its output buffer.
 *
 *   echo [--conns=100] [--messages=100000] [--size=128]
 *
 * Connection setup is not timed.  The timed region "echo" starts with
 * every client's first write and ends when the last echo is back; it
 * reports messages per second, MB per second (payload one way) and ns
 * per message.  One thread keeps the run deterministic and countable
 * under callgrind; both directions cost the same library code.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "bench-util.h"

struct client {
    struct bufferevent *bev;
    long sent;
};

struct echo {
    struct event_base *base;
    struct evconnlistener *listener;
    struct client *clients;
    struct bufferevent **servers;
    char *msg;
    long conns;
    long quota;
    long size;
    long total;
    long done;
    long accepted;
    long connected;
    long errors;
};

static struct echo E;

static void
server_read(struct bufferevent *bev, void *arg)
{
    evbuffer_add_buffer(bufferevent_get_output(bev),
                        bufferevent_get_input(bev));
}

static void
any_event(struct bufferevent *bev, short what, void *arg)
{
    if (what & BEV_EVENT_CONNECTED) {
        if (++E.connected == E.conns && E.accepted == E.conns)
            event_base_loopbreak(E.base);
        return;
    }
    E.errors++;
    event_base_loopbreak(E.base);
}

static void
on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
          int socklen, void *arg)
{
    struct bufferevent *bev;

    bev = bufferevent_socket_new(E.base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev || E.accepted == E.conns) {
        E.errors++;
        return;
    }
    bufferevent_setcb(bev, server_read, NULL, any_event, NULL);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    E.servers[E.accepted++] = bev;
    if (E.accepted == E.conns && E.connected == E.conns)
        event_base_loopbreak(E.base);
}

static void
client_read(struct bufferevent *bev, void *arg)
{
    struct client *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    while (evbuffer_get_length(in) >= (size_t)E.size) {
        evbuffer_drain(in, E.size);
        if (++E.done == E.total) {
            event_base_loopbreak(E.base);
            return;
        }
        if (c->sent < E.quota) {
            c->sent++;
            bufferevent_write(bev, E.msg, E.size);
        }
    }
}

static void
run_echo(void *arg)
{
    long i;

    for (i = 0; i < E.conns; i++) {
        E.clients[i].sent = 1;
        bufferevent_write(E.clients[i].bev, E.msg, E.size);
    }
    event_base_loop(E.base, 0);
}

static int
connect_all(void)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    long i;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(0x7f000001);
    E.listener = evconnlistener_new_bind(
        E.base, on_accept, NULL, LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE,
        1024, (struct sockaddr *)&sin, sizeof(sin));
    if (!E.listener)
        return -1;
    if (getsockname(evconnlistener_get_fd(E.listener), (struct sockaddr *)&sin,
                    &len) != 0)
        return -1;
    for (i = 0; i < E.conns; i++) {
        struct client *c = &E.clients[i];

        c->bev = bufferevent_socket_new(E.base, -1, BEV_OPT_CLOSE_ON_FREE);
        if (!c->bev)
            return -1;
        bufferevent_setcb(c->bev, client_read, NULL, any_event, c);
        bufferevent_enable(c->bev, EV_READ | EV_WRITE);
        if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&sin,
                                       sizeof(sin)) != 0)
            return -1;
    }
    event_base_dispatch(E.base);
    return E.errors || E.accepted != E.conns ? -1 : 0;
}

int
main(int argc, char **argv)
{
    struct bench_time t;
    char config[128];
    double secs;
    long i;

    E.conns = bench_opt_long(argc, argv, "conns", 100);
    E.size = bench_opt_long(argc, argv, "size", 128);
    E.quota = bench_opt_long(argc, argv, "messages", 100000) / E.conns;
    if (E.quota < 1)
        E.quota = 1;
    E.total = E.quota * E.conns;
    snprintf(config, sizeof(config), "conns=%ld size=%ld", E.conns, E.size);
    bench_init("echo", config);
    if (bench_raise_nofile(2 * E.conns + 64) != 0)
        return 0;
    E.clients = calloc(E.conns, sizeof(*E.clients));
    E.servers = calloc(E.conns, sizeof(*E.servers));
    E.msg = calloc(1, E.size);
    E.base = event_base_new();
    if (!E.clients || !E.servers || !E.msg || !E.base)
        return 1;
    memset(E.msg, 'x', E.size);
    if (connect_all() != 0) {
        fprintf(stderr, "echo: connected %ld, accepted %ld of %ld\n",
                E.connected, E.accepted, E.conns);
        return 1;
    }

    t = bench_region("echo", E.total, run_echo, NULL);
    if (E.done != E.total || E.errors) {
        fprintf(stderr, "echo: %ld of %ld messages, %ld errors\n", E.done,
                E.total, E.errors);
        return 1;
    }
    secs = t.wall_ns / 1e9;
    bench_result("echo", "msgs_per_s", E.total / secs);
    bench_result("echo", "mb_per_s", E.total * E.size / secs / 1e6);
    bench_result("echo", "ns_per_msg", t.wall_ns / E.total);

    for (i = 0; i < E.conns; i++) {
        bufferevent_free(E.clients[i].bev);
        bufferevent_free(E.servers[i]);
    }
    evconnlistener_free(E.listener);
    event_base_free(E.base);
    free(E.clients);
    free(E.servers);
    free(E.msg);
    return 0;
}

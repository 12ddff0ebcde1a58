/*
 * le-proxy: a small TCP proxy built from a listener and bufferevent
 * pairs.
 *
 *   le-proxy LISTEN-ADDR TARGET-ADDR     e.g. 127.0.0.1:8888 127.0.0.1:80
 *   le-proxy --self-test                 proxy to an in-process echo server
 *                                        and check that 1 MB comes back
 *
 * Each accepted connection gets a bufferevent, plus a second one
 * connected to the target.  Bytes read on one side are moved, without
 * copying, to the other side's output.  When a side's output grows past
 * MAX_OUTPUT the opposite side stops reading until it drains to half of
 * that (back-pressure through a write watermark), so a fast sender cannot
 * make the proxy buffer without bound.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#define MAX_OUTPUT (512 * 1024)

static struct event_base *base;
static struct sockaddr_storage target_addr;
static int target_len = sizeof(target_addr);

static void proxy_read_cb(struct bufferevent *bev, void *ctx);
static void proxy_event_cb(struct bufferevent *bev, short what, void *ctx);

/* Once the peer is gone, flush what is left, then close. */
static void
close_on_finished_write(struct bufferevent *bev, void *ctx)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    (void)ctx;
    if (evbuffer_get_length(out) == 0)
        bufferevent_free(bev);
}

static void
drained_cb(struct bufferevent *bev, void *ctx)
{
    struct bufferevent *partner = ctx;
    /* Our output drained below the watermark: let the partner read. */
    bufferevent_setcb(bev, proxy_read_cb, NULL, proxy_event_cb, partner);
    bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
    if (partner)
        bufferevent_enable(partner, EV_READ);
}

static void
proxy_read_cb(struct bufferevent *bev, void *ctx)
{
    struct bufferevent *partner = ctx;
    struct evbuffer *src = bufferevent_get_input(bev);
    struct evbuffer *dst;

    if (!partner) {
        evbuffer_drain(src, evbuffer_get_length(src));
        return;
    }
    dst = bufferevent_get_output(partner);
    evbuffer_add_buffer(dst, src);
    if (evbuffer_get_length(dst) >= MAX_OUTPUT) {
        /* The partner is slow: stop reading until it catches up. */
        bufferevent_setcb(partner, proxy_read_cb, drained_cb, proxy_event_cb,
            bev);
        bufferevent_setwatermark(partner, EV_WRITE, MAX_OUTPUT / 2,
            MAX_OUTPUT);
        bufferevent_disable(bev, EV_READ);
    }
}

static void
proxy_event_cb(struct bufferevent *bev, short what, void *ctx)
{
    struct bufferevent *partner = ctx;

    if (what & BEV_EVENT_CONNECTED)
        return;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        if (what & BEV_EVENT_ERROR && EVUTIL_SOCKET_ERROR())
            fprintf(stderr, "le-proxy: connection error: %s\n",
                evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        if (partner) {
            /* Pass on what we read, then let the partner finish. */
            proxy_read_cb(bev, partner);
            if (evbuffer_get_length(bufferevent_get_output(partner))) {
                bufferevent_setcb(partner, NULL, close_on_finished_write,
                    NULL, NULL);
                bufferevent_disable(partner, EV_READ);
            } else {
                bufferevent_free(partner);
            }
        }
        bufferevent_free(bev);
    }
}

static void
accept_cb(struct evconnlistener *listener, evutil_socket_t fd,
    struct sockaddr *sa, int socklen, void *arg)
{
    struct bufferevent *in, *out;
    (void)listener;
    (void)sa;
    (void)socklen;
    (void)arg;

    in = bufferevent_socket_new(base, fd,
        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    out = bufferevent_socket_new(base, -1,
        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!in || !out) {
        fprintf(stderr, "le-proxy: out of memory\n");
        if (in)
            bufferevent_free(in);
        if (out)
            bufferevent_free(out);
        return;
    }
    if (bufferevent_socket_connect(out, (struct sockaddr *)&target_addr,
            target_len) < 0) {
        perror("le-proxy: connect");
        bufferevent_free(out);
        bufferevent_free(in);
        return;
    }
    bufferevent_setcb(in, proxy_read_cb, NULL, proxy_event_cb, out);
    bufferevent_setcb(out, proxy_read_cb, NULL, proxy_event_cb, in);
    bufferevent_enable(in, EV_READ | EV_WRITE);
    bufferevent_enable(out, EV_READ | EV_WRITE);
}

/* ---- self test: echo server + client through the proxy ---- */

#define TEST_BYTES (1024 * 1024)

static size_t test_received;
static int test_failed;

static void
echo_read_cb(struct bufferevent *bev, void *ctx)
{
    (void)ctx;
    evbuffer_add_buffer(bufferevent_get_output(bev),
        bufferevent_get_input(bev));
}

static void
echo_event_cb(struct bufferevent *bev, short what, void *ctx)
{
    (void)ctx;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        bufferevent_free(bev);
}

static void
echo_accept_cb(struct evconnlistener *listener, evutil_socket_t fd,
    struct sockaddr *sa, int socklen, void *arg)
{
    struct bufferevent *bev =
        bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    (void)listener;
    (void)sa;
    (void)socklen;
    (void)arg;
    bufferevent_setcb(bev, echo_read_cb, NULL, echo_event_cb, NULL);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static unsigned char
pattern(size_t i)
{
    return (unsigned char)((i * 31 + (i >> 8)) & 0xff);
}

static void
client_read_cb(struct bufferevent *bev, void *ctx)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    unsigned char buf[4096];
    int n;
    (void)ctx;
    while ((n = evbuffer_remove(in, buf, sizeof(buf))) > 0) {
        int i;
        for (i = 0; i < n; ++i) {
            if (buf[i] != pattern(test_received + i)) {
                fprintf(stderr, "le-proxy: byte %zu corrupted\n",
                    test_received + i);
                test_failed = 1;
                event_base_loopbreak(base);
                return;
            }
        }
        test_received += (size_t)n;
    }
    if (test_received == TEST_BYTES)
        event_base_loopbreak(base);
}

static void
client_event_cb(struct bufferevent *bev, short what, void *ctx)
{
    (void)bev;
    (void)ctx;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        fprintf(stderr, "le-proxy: client lost its connection\n");
        test_failed = 1;
        event_base_loopbreak(base);
    }
}

static struct evconnlistener *
listen_any(evconnlistener_cb cb, struct sockaddr_in *bound)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    struct evconnlistener *l;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(0x7f000001);
    l = evconnlistener_new_bind(base, cb, NULL,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1,
        (struct sockaddr *)&sin, sizeof(sin));
    if (!l)
        return NULL;
    getsockname(evconnlistener_get_fd(l), (struct sockaddr *)bound, &len);
    return l;
}

static int
self_test(void)
{
    struct sockaddr_in echo_sin, proxy_sin;
    struct evconnlistener *echo_l, *proxy_l;
    struct bufferevent *client;
    struct timeval limit = {20, 0};
    unsigned char *data;
    size_t i;

    echo_l = listen_any(echo_accept_cb, &echo_sin);
    proxy_l = listen_any(accept_cb, &proxy_sin);
    if (!echo_l || !proxy_l) {
        perror("le-proxy: listen");
        return 1;
    }
    memcpy(&target_addr, &echo_sin, sizeof(echo_sin));
    target_len = sizeof(echo_sin);

    client = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(client, client_read_cb, NULL, client_event_cb, NULL);
    bufferevent_enable(client, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(client, (struct sockaddr *)&proxy_sin,
            sizeof(proxy_sin)) < 0) {
        perror("le-proxy: connect to proxy");
        return 1;
    }
    data = malloc(TEST_BYTES);
    for (i = 0; i < TEST_BYTES; ++i)
        data[i] = pattern(i);
    bufferevent_write(client, data, TEST_BYTES);
    free(data);

    event_base_loopexit(base, &limit);
    event_base_dispatch(base);

    /* Hang up and let the proxy and the echo server see EOF and free
     * their side of each connection. */
    bufferevent_free(client);
    evconnlistener_free(proxy_l);
    evconnlistener_free(echo_l);
    limit.tv_sec = 0;
    limit.tv_usec = 300 * 1000;
    event_base_loopexit(base, &limit);
    event_base_dispatch(base);
    if (test_failed || test_received != TEST_BYTES) {
        fprintf(stderr, "le-proxy: self-test FAILED (%zu of %d bytes)\n",
            test_received, TEST_BYTES);
        return 1;
    }
    printf("le-proxy: self-test passed, %d bytes through the proxy\n",
        TEST_BYTES);
    return 0;
}

int
main(int argc, char **argv)
{
    struct sockaddr_storage listen_addr;
    int listen_len = sizeof(listen_addr);
    struct evconnlistener *listener;
    int rc;

    signal(SIGPIPE, SIG_IGN);
    base = event_base_new();
    if (!base) {
        fprintf(stderr, "le-proxy: cannot create an event_base\n");
        return 1;
    }
    if (argc == 2 && strcmp(argv[1], "--self-test") == 0) {
        rc = self_test();
        event_base_free(base);
        return rc;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: %s LISTEN-ADDR TARGET-ADDR | --self-test\n",
            argv[0]);
        return 2;
    }
    memset(&listen_addr, 0, sizeof(listen_addr));
    if (evutil_parse_sockaddr_port(argv[1], (struct sockaddr *)&listen_addr,
            &listen_len) < 0 ||
        evutil_parse_sockaddr_port(argv[2], (struct sockaddr *)&target_addr,
            &target_len) < 0) {
        fprintf(stderr, "le-proxy: cannot parse an address\n");
        return 2;
    }
    listener = evconnlistener_new_bind(base, accept_cb, NULL,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE, -1,
        (struct sockaddr *)&listen_addr, listen_len);
    if (!listener) {
        perror("le-proxy: listen");
        return 1;
    }
    event_base_dispatch(base);
    evconnlistener_free(listener);
    event_base_free(base);
    return 0;
}

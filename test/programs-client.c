/*
 * programs-client: drive the Debian daemons that test/unbound.sh,
 * test/nsd.sh and test/inetd.sh run on our libevent, and check every answer.  Plain C
 * without libevent, so it cannot share a bug with the library under test.
 * Also writes the input test/fstrm.sh replays.
 *
 *   programs-client free-port          a loopback port free for both TCP
 *                                      and UDP right now
 *   programs-client dns PORT ROUNDS    DNS on 127.0.0.1:PORT (the zone of
 *                                      unbound.sh and nsd.sh): per round, one A query over
 *                                      UDP and one over TCP, an NXDOMAIN and
 *                                      a TXT; then a burst of 64 UDP queries
 *                                      in flight at once and 8 TCP
 *                                      connections open at once
 *   programs-client echo PORT CONNS SIZE
 *                                      CONNS connections at once to an echo
 *                                      service (inetd.sh's /bin/cat): each
 *                                      sends SIZE patterned bytes, half-
 *                                      closes, and must read exactly them
 *                                      back, then EOF
 *   programs-client frames PATH COUNT SEED
 *                                      write a Frame Streams file for
 *                                      fstrm.sh: a START control frame with
 *                                      content type "test", COUNT data
 *                                      frames of 1..4000 pseudo-random
 *                                      bytes (from SEED), a STOP frame
 *
 * Every socket operation times out after 10 s and an alarm bounds the
 * whole run; the first wrong byte or answer exits 1 with a message.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define IO_TIMEOUT_S 10
#define RUN_LIMIT_S 120
#define UDP_BURST 64
#define TCP_AT_ONCE 8
#define MAX_CONNS 64

static void
fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "programs-client: FAIL: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(1);
}

static void
on_alarm(int sig)
{
    static const char msg[] = "programs-client: FAIL: run time limit\n";
    (void)sig;
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(1);
}

static struct sockaddr_in
loopback(int port)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((unsigned short)port);
    return sin;
}

static int
open_socket(int type)
{
    struct timeval tv = { IO_TIMEOUT_S, 0 };
    int fd = socket(AF_INET, type, 0);
    if (fd < 0)
        fail("socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return fd;
}

static int
connect_tcp(int port)
{
    struct sockaddr_in sin = loopback(port);
    int fd = open_socket(SOCK_STREAM);
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
        fail("connect to port %d: %s", port, strerror(errno));
    return fd;
}

static void
send_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            fail("send: %s", w < 0 ? strerror(errno) : "wrote 0");
        p += w;
        n -= (size_t)w;
    }
}

/* Read exactly n bytes; 0 on EOF before the first byte when eof_ok. */
static int
recv_all(int fd, unsigned char *p, size_t n, int eof_ok)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, p + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            fail("recv after %zu of %zu bytes: %s", got, n, strerror(errno));
        if (r == 0) {
            if (got == 0 && eof_ok)
                return 0;
            fail("EOF after %zu of %zu bytes", got, n);
        }
        got += (size_t)r;
    }
    return 1;
}

static int
free_port(void)
{
    int attempt;
    for (attempt = 0; attempt < 50; attempt++) {
        struct sockaddr_in sin = loopback(0);
        socklen_t len = sizeof(sin);
        int t = socket(AF_INET, SOCK_STREAM, 0);
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        int ok;
        if (t < 0 || u < 0)
            fail("socket: %s", strerror(errno));
        ok = bind(t, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
             getsockname(t, (struct sockaddr *)&sin, &len) == 0 &&
             bind(u, (struct sockaddr *)&sin, sizeof(sin)) == 0;
        close(t);
        close(u);
        if (ok) {
            printf("%d\n", ntohs(sin.sin_port));
            return 0;
        }
    }
    fail("no port free for both TCP and UDP");
    return 1;
}

/* ---- DNS ---- */

enum { T_A = 1, T_TXT = 16 };

struct answer {
    int rcode;
    int ancount;
    unsigned char rdata[256];
    size_t rdlen;
};

/* A query for name/type with id; returns its length. */
static size_t
build_query(unsigned char *q, unsigned id, const char *name, int type)
{
    size_t n = 0;
    const char *label = name;
    q[n++] = (unsigned char)(id >> 8);
    q[n++] = (unsigned char)id;
    q[n++] = 0x01; /* RD */
    q[n++] = 0x00;
    q[n++] = 0;
    q[n++] = 1; /* QDCOUNT */
    memset(q + n, 0, 6);
    n += 6;
    while (*label) {
        const char *dot = strchr(label, '.');
        size_t len = dot ? (size_t)(dot - label) : strlen(label);
        q[n++] = (unsigned char)len;
        memcpy(q + n, label, len);
        n += len;
        label += len + (dot != NULL);
    }
    q[n++] = 0;
    q[n++] = 0;
    q[n++] = (unsigned char)type;
    q[n++] = 0;
    q[n++] = 1; /* IN */
    return n;
}

/* Skip a possibly compressed name at *off. */
static void
skip_name(const unsigned char *m, size_t len, size_t *off)
{
    while (*off < len) {
        unsigned char c = m[*off];
        if ((c & 0xc0) == 0xc0) {
            *off += 2;
            return;
        }
        *off += 1u + c;
        if (c == 0)
            return;
    }
    fail("truncated name in answer");
}

/* Parse a response to query (qlen bytes): the id and question must match;
 * the first answer's rdata is kept. */
static struct answer
parse_answer(const unsigned char *m, size_t len, const unsigned char *query,
    size_t qlen)
{
    struct answer a;
    size_t off = qlen;
    memset(&a, 0, sizeof(a));
    if (len < qlen || m[0] != query[0] || m[1] != query[1])
        fail("answer of %zu bytes does not match the query id", len);
    if (!(m[2] & 0x80))
        fail("answer lacks the QR bit");
    if (memcmp(m + 12, query + 12, qlen - 12) != 0)
        fail("answer repeats another question");
    a.rcode = m[3] & 0x0f;
    a.ancount = (m[6] << 8) | m[7];
    if (a.ancount > 0) {
        size_t rdlen;
        skip_name(m, len, &off);
        if (off + 10 > len)
            fail("truncated answer record");
        rdlen = (size_t)((m[off + 8] << 8) | m[off + 9]);
        off += 10;
        if (off + rdlen > len || rdlen > sizeof(a.rdata))
            fail("bad rdata length %zu", rdlen);
        memcpy(a.rdata, m + off, rdlen);
        a.rdlen = rdlen;
    }
    return a;
}

static unsigned next_id = 1;

static struct answer
ask_udp(int port, const char *name, int type)
{
    struct sockaddr_in sin = loopback(port);
    unsigned char q[512], r[4096];
    int fd = open_socket(SOCK_DGRAM);
    size_t qlen = build_query(q, next_id++ & 0xffff, name, type);
    ssize_t n;
    struct answer a;

    if (sendto(fd, q, qlen, 0, (struct sockaddr *)&sin, sizeof(sin)) < 0)
        fail("sendto: %s", strerror(errno));
    n = recv(fd, r, sizeof(r), 0);
    if (n < 0)
        fail("no UDP answer for %s: %s", name, strerror(errno));
    a = parse_answer(r, (size_t)n, q, qlen);
    close(fd);
    return a;
}

static void
send_tcp_query(int fd, unsigned char *q, size_t *qlen, const char *name,
    int type)
{
    unsigned char framed[514];
    *qlen = build_query(q, next_id++ & 0xffff, name, type);
    framed[0] = (unsigned char)(*qlen >> 8);
    framed[1] = (unsigned char)*qlen;
    memcpy(framed + 2, q, *qlen);
    send_all(fd, framed, *qlen + 2);
}

static struct answer
read_tcp_answer(int fd, const unsigned char *q, size_t qlen)
{
    unsigned char hdr[2], r[65535];
    size_t n;
    recv_all(fd, hdr, 2, 0);
    n = (size_t)((hdr[0] << 8) | hdr[1]);
    recv_all(fd, r, n, 0);
    return parse_answer(r, n, q, qlen);
}

static struct answer
ask_tcp(int port, const char *name, int type)
{
    unsigned char q[512];
    size_t qlen;
    int fd = connect_tcp(port);
    struct answer a;
    send_tcp_query(fd, q, &qlen, name, type);
    a = read_tcp_answer(fd, q, qlen);
    close(fd);
    return a;
}

static const unsigned char want_a[4] = { 10, 1, 2, 3 };

static void
check_a(struct answer a, const char *how)
{
    if (a.rcode != 0 || a.ancount != 1 || a.rdlen != 4 ||
        memcmp(a.rdata, want_a, 4) != 0)
        fail("%s A a.example.test: rcode %d, %d answers, %zu bytes",
            how, a.rcode, a.ancount, a.rdlen);
}

static int
run_dns(int port, int rounds)
{
    static const char txt[] = "\x05hello";
    int round, i;

    for (round = 0; round < rounds; round++) {
        struct answer a;
        check_a(ask_udp(port, "a.example.test", T_A), "UDP");
        check_a(ask_tcp(port, "a.example.test", T_A), "TCP");
        a = ask_udp(port, "nx.example.test", T_A);
        if (a.rcode != 3)
            fail("nx.example.test: rcode %d, not NXDOMAIN", a.rcode);
        a = ask_udp(port, "b.example.test", T_TXT);
        if (a.rcode != 0 || a.rdlen != sizeof(txt) - 1 ||
            memcmp(a.rdata, txt, a.rdlen) != 0)
            fail("TXT b.example.test: rcode %d, %zu bytes", a.rcode, a.rdlen);
    }

    /* Many UDP queries in flight on one socket, answered in any order. */
    {
        struct sockaddr_in sin = loopback(port);
        unsigned char q[UDP_BURST][512], r[4096];
        size_t qlen[UDP_BURST];
        int seen[UDP_BURST] = { 0 };
        unsigned first = next_id;
        int fd = open_socket(SOCK_DGRAM);
        for (i = 0; i < UDP_BURST; i++) {
            qlen[i] = build_query(q[i], next_id++ & 0xffff,
                "a.example.test", T_A);
            if (sendto(fd, q[i], qlen[i], 0, (struct sockaddr *)&sin,
                    sizeof(sin)) < 0)
                fail("sendto: %s", strerror(errno));
        }
        for (i = 0; i < UDP_BURST; i++) {
            ssize_t n = recv(fd, r, sizeof(r), 0);
            unsigned id, k;
            if (n < 12)
                fail("burst: answer %d of %d missing: %s", i + 1, UDP_BURST,
                    n < 0 ? strerror(errno) : "short");
            id = ((unsigned)r[0] << 8) | r[1];
            k = (id - (first & 0xffff)) & 0xffff;
            if (k >= UDP_BURST || seen[k]++)
                fail("burst: unexpected answer id %u", id);
            check_a(parse_answer(r, (size_t)n, q[k], qlen[k]), "burst UDP");
        }
        close(fd);
    }

    /* Several TCP connections open at once, each with two queries
     * pipelined, answered in order per connection. */
    {
        int fds[TCP_AT_ONCE];
        unsigned char q[TCP_AT_ONCE][2][512];
        size_t qlen[TCP_AT_ONCE][2];
        for (i = 0; i < TCP_AT_ONCE; i++) {
            fds[i] = connect_tcp(port);
            send_tcp_query(fds[i], q[i][0], &qlen[i][0], "a.example.test",
                T_A);
            send_tcp_query(fds[i], q[i][1], &qlen[i][1], "a.example.test",
                T_A);
        }
        for (i = TCP_AT_ONCE - 1; i >= 0; i--) {
            check_a(read_tcp_answer(fds[i], q[i][0], qlen[i][0]), "TCP");
            check_a(read_tcp_answer(fds[i], q[i][1], qlen[i][1]), "TCP");
            close(fds[i]);
        }
    }
    printf("programs-client: dns: %d rounds, %d-query UDP burst, %d TCP "
           "connections at once: all answers right\n",
        rounds, UDP_BURST, TCP_AT_ONCE);
    return 0;
}

/* ---- echo ---- */

static int
run_echo(int port, int conns, size_t size)
{
    int fds[MAX_CONNS], i;
    unsigned char *out = malloc(size), *in = malloc(size + 1);
    size_t j;

    if (!out || !in)
        fail("out of memory");
    for (i = 0; i < conns; i++)
        fds[i] = connect_tcp(port);
    /* Each connection's bytes differ, so crossed wires show. */
    for (i = 0; i < conns; i++) {
        for (j = 0; j < size; j++)
            out[j] = (unsigned char)(j * 7 + (size_t)i * 13 + (j >> 8));
        send_all(fds[i], out, size);
        if (shutdown(fds[i], SHUT_WR) < 0)
            fail("shutdown: %s", strerror(errno));
    }
    for (i = 0; i < conns; i++) {
        for (j = 0; j < size; j++)
            out[j] = (unsigned char)(j * 7 + (size_t)i * 13 + (j >> 8));
        recv_all(fds[i], in, size, 0);
        for (j = 0; j < size; j++)
            if (in[j] != out[j])
                fail("connection %d: byte %zu is %u, sent %u", i, j, in[j],
                    out[j]);
        if (recv_all(fds[i], in, 1, 1) != 0)
            fail("connection %d: more bytes than were sent", i);
        close(fds[i]);
    }
    free(out);
    free(in);
    printf("programs-client: echo: %d connections x %zu bytes came back "
           "intact\n",
        conns, size);
    return 0;
}

/* ---- frames ---- */

#define FSTRM_CONTROL_START 0x02
#define FSTRM_CONTROL_STOP 0x03
#define FSTRM_FIELD_CONTENT_TYPE 0x01
#define FRAME_MAX 4000

static void
put_be32(unsigned char *p, unsigned long v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void
write_all(FILE *f, const char *path, const unsigned char *p, size_t n)
{
    if (fwrite(p, 1, n, f) != n)
        fail("write %s: %s", path, strerror(errno));
}

/* A Frame Streams file ("uni-directional" format): the START control
 * frame (escape 0, control length, START, CONTENT_TYPE field "test"),
 * COUNT data frames (big-endian length, then the bytes), the STOP
 * control frame (escape 0, length 4, STOP).  Lengths and bytes come from
 * a 32-bit LCG seeded with SEED, so a run can be reproduced. */
static int
write_frames(const char *path, long count, unsigned long seed)
{
    static const char type[] = "test";
    unsigned char buf[4 + FRAME_MAX], hdr[24];
    unsigned long x = seed & 0xffffffffUL, total = 0;
    long i;
    size_t j, len;
    FILE *f = fopen(path, "wb");

    if (!f)
        fail("open %s: %s", path, strerror(errno));
    put_be32(hdr, 0);
    put_be32(hdr + 4, 12 + sizeof(type) - 1);
    put_be32(hdr + 8, FSTRM_CONTROL_START);
    put_be32(hdr + 12, FSTRM_FIELD_CONTENT_TYPE);
    put_be32(hdr + 16, sizeof(type) - 1);
    memcpy(hdr + 20, type, sizeof(type) - 1);
    write_all(f, path, hdr, 20 + sizeof(type) - 1);
    for (i = 0; i < count; i++) {
        x = (x * 1664525UL + 1013904223UL) & 0xffffffffUL;
        len = 1 + (size_t)((x >> 8) % FRAME_MAX);
        put_be32(buf, len);
        for (j = 0; j < len; j++) {
            x = (x * 1664525UL + 1013904223UL) & 0xffffffffUL;
            buf[4 + j] = (unsigned char)(x >> 24);
        }
        write_all(f, path, buf, 4 + len);
        total += (unsigned long)len;
    }
    put_be32(hdr, 0);
    put_be32(hdr + 4, 4);
    put_be32(hdr + 8, FSTRM_CONTROL_STOP);
    write_all(f, path, hdr, 12);
    if (fclose(f) != 0)
        fail("close %s: %s", path, strerror(errno));
    printf("programs-client: frames: wrote %ld data frames (%lu payload "
           "bytes) to %s\n",
        count, total, path);
    return 0;
}

int
main(int argc, char **argv)
{
    signal(SIGALRM, on_alarm);
    alarm(RUN_LIMIT_S);
    signal(SIGPIPE, SIG_IGN);
    if (argc == 2 && strcmp(argv[1], "free-port") == 0)
        return free_port();
    if (argc == 4 && strcmp(argv[1], "dns") == 0) {
        int port = atoi(argv[2]), rounds = atoi(argv[3]);
        if (port <= 0 || port > 65535 || rounds < 1)
            fail("bad PORT or ROUNDS");
        return run_dns(port, rounds);
    }
    if (argc == 5 && strcmp(argv[1], "echo") == 0) {
        int port = atoi(argv[2]), conns = atoi(argv[3]);
        long size = atol(argv[4]);
        if (port <= 0 || port > 65535 || conns < 1 || conns > MAX_CONNS ||
            size < 1 || size > (1L << 24))
            fail("bad PORT, CONNS or SIZE");
        return run_echo(port, conns, (size_t)size);
    }
    if (argc == 5 && strcmp(argv[1], "frames") == 0) {
        long count = atol(argv[3]);
        char *end;
        unsigned long seed = strtoul(argv[4], &end, 0);
        if (count < 0 || count > 1000000 || *argv[4] == '\0' || *end != '\0')
            fail("bad COUNT or SEED");
        return write_frames(argv[2], count, seed);
    }
    fprintf(stderr,
        "usage: programs-client free-port\n"
        "       programs-client dns PORT ROUNDS\n"
        "       programs-client echo PORT CONNS SIZE\n"
        "       programs-client frames PATH COUNT SEED\n");
    return 2;
}

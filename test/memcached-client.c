/*
 * memcached-client: drive a memcached server over its text protocol from
 * several connections at once and check every reply byte for byte.
 *
 * test/memcached.sh runs Debian's unmodified memcached on our libevent and
 * points this client at it.  The client is plain C and pthreads, without
 * libevent, so it cannot share a bug with the library under test.
 *
 *   memcached-client HOST PORT [CONNECTIONS [ROUNDS]]
 *   memcached-client --free-port      print a free loopback TCP port
 *
 * Each connection runs ROUNDS rounds on its own keys: set, get, add (must
 * fail), delete, get-after-delete, delete-again, with values of 0 bytes to
 * 100 KB whose bytes include CR, LF and NUL; every fifth round an
 * incr/decr pair; every tenth a pipelined burst and a multi-get with a
 * missing key.  Afterwards one connection checks "version" and "stats"
 * against the totals.  Every socket operation times out after 10 s and a
 * global alarm bounds the run; the first mismatch ends the process with a
 * message naming the connection, round, command and byte offset.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define IO_TIMEOUT_S 10
#define CONNECT_WAIT_S 15
#define RUN_LIMIT_S 240
#define MAX_VALUE 100000
#define MAX_CONNS 64

struct conn {
    int fd;
    int id;
    int round;
    const char *op;
    size_t start, end;
    char buf[65536];
};

static const char *server_host;
static const char *server_port;
static int rounds_per_conn = 300;
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

/* Counted by every connection, checked against "stats" at the end. */
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long total_sets, total_hits;

static void fail(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

static void
fail(struct conn *c, const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&print_lock);
    if (c)
        fprintf(stderr, "memcached-client: FAIL conn %d round %d (%s): ", c->id,
                c->round, c->op ? c->op : "-");
    else
        fprintf(stderr, "memcached-client: FAIL: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    /* One failure is enough: end the whole run now. */
    exit(1);
}

static void
on_alarm(int sig)
{
    static const char msg[] =
        "memcached-client: FAIL: run took longer than the time limit\n";

    (void)sig;
    if (write(2, msg, sizeof(msg) - 1) < 0)
        _exit(3);
    _exit(3);
}

/* Printable excerpt of len bytes, for error messages. */
static const char *
show(const char *p, size_t len, char *out, size_t outlen)
{
    size_t i, o = 0;

    for (i = 0; i < len && o + 5 < outlen; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\')
            out[o++] = (char)ch;
        else
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", ch);
    }
    out[o] = '\0';
    return out;
}

static int
connect_once(void)
{
    struct addrinfo hints, *res, *ai;
    int fd = -1;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(server_host, server_port, &hints, &res) != 0)
        return -1;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* Connects, retrying while the server may still be starting. */
static void
conn_open(struct conn *c, int id)
{
    struct timeval tv = {IO_TIMEOUT_S, 0};
    time_t give_up = time(NULL) + CONNECT_WAIT_S;
    int one = 1;

    memset(c, 0, sizeof(*c));
    c->id = id;
    c->op = "connect";
    while ((c->fd = connect_once()) < 0) {
        if (time(NULL) > give_up)
            fail(c, "cannot connect to %s:%s: %s", server_host, server_port,
                 strerror(errno));
        usleep(50 * 1000);
    }
    if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
        fail(c, "setsockopt: %s", strerror(errno));
}

static void
send_all(struct conn *c, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            fail(c, "send timed out after %d s", IO_TIMEOUT_S);
        if (n <= 0)
            fail(c, "send: %s", strerror(errno));
        p += n;
        len -= (size_t)n;
    }
}

/* Reads more bytes into the buffer; fails on timeout or EOF. */
static void
fill(struct conn *c)
{
    ssize_t n;

    if (c->start == c->end)
        c->start = c->end = 0;
    if (c->end == sizeof(c->buf)) {
        memmove(c->buf, c->buf + c->start, c->end - c->start);
        c->end -= c->start;
        c->start = 0;
    }
    for (;;) {
        n = recv(c->fd, c->buf + c->end, sizeof(c->buf) - c->end, 0);
        if (n > 0)
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            fail(c, "server closed the connection");
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            fail(c, "no reply within %d s", IO_TIMEOUT_S);
        fail(c, "recv: %s", strerror(errno));
    }
    c->end += (size_t)n;
}

/* Consumes exactly len bytes, which must equal want. */
static void
expect(struct conn *c, const char *want, size_t len)
{
    size_t done = 0, avail, i;
    char a[200], b[200];

    while (done < len) {
        if (c->start == c->end)
            fill(c);
        avail = c->end - c->start;
        if (avail > len - done)
            avail = len - done;
        if (memcmp(c->buf + c->start, want + done, avail) != 0) {
            for (i = 0; c->buf[c->start + i] == want[done + i]; i++)
                ;
            fail(c,
                 "reply differs at byte %zu of %zu: expected \"%s\", "
                 "got \"%s\"",
                 done + i, len,
                 show(want + done + i,
                      len - done - i < 24 ? len - done - i : 24, a, sizeof(a)),
                 show(c->buf + c->start + i, avail - i < 24 ? avail - i : 24, b,
                      sizeof(b)));
        }
        c->start += avail;
        done += avail;
    }
}

static void
expect_str(struct conn *c, const char *want)
{
    expect(c, want, strlen(want));
}

/* Reads one CRLF-terminated line (without the CRLF) into out. */
static void
read_line(struct conn *c, char *out, size_t outlen)
{
    char *nl;
    size_t len;

    for (;;) {
        nl = memchr(c->buf + c->start, '\n', c->end - c->start);
        if (nl)
            break;
        if (c->end - c->start >= outlen)
            fail(c, "reply line longer than %zu bytes", outlen);
        fill(c);
    }
    len = (size_t)(nl - (c->buf + c->start));
    if (len == 0 || nl[-1] != '\r' || len >= outlen)
        fail(c, "malformed reply line");
    memcpy(out, c->buf + c->start, len - 1);
    out[len - 1] = '\0';
    c->start += len + 1;
}

/* Deterministic value for (connection, round, salt); holds CR, LF, NUL. */
static size_t
make_value(int id, int round, int salt, char *out)
{
    static const size_t small[] = {0,    1,    2,    5,    17,   100, 255,
                                   1000, 1023, 1024, 1025, 2048, 4096};
    static const size_t large[] = {8191,  16384, 32768, 50000,    65535,
                                   65536, 65537, 99999, MAX_VALUE};
    unsigned int x = (unsigned int)(id * 7919 + round * 104729 + salt) | 1u;
    size_t len, i;

    if (round % 4 == 3)
        len = large[(unsigned)(round / 4 + id) %
                    (sizeof(large) / sizeof(large[0]))];
    else
        len = small[(unsigned)(round + id + salt) %
                    (sizeof(small) / sizeof(small[0]))];
    for (i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out[i] = (char)(x >> 24);
        if (i % 97 == 50)
            out[i] = '\r';
        else if (i % 97 == 51)
            out[i] = '\n';
    }
    return len;
}

/* Formats the "VALUE key flags len\r\n<data>\r\n" block of a get reply. */
static size_t
value_reply(char *out, const char *key, unsigned flags, const char *v,
            size_t len)
{
    size_t n = (size_t)sprintf(out, "VALUE %s %u %zu\r\n", key, flags, len);

    memcpy(out + n, v, len);
    memcpy(out + n + len, "\r\n", 2);
    return n + len + 2;
}

/* Sends "CMD key flags 0 len\r\n<data>\r\n" (set, add, ...). */
static void
send_store(struct conn *c, const char *cmd, const char *key, unsigned flags,
           const char *v, size_t len)
{
    char head[400];
    int n = snprintf(head, sizeof(head), "%s %s %u 0 %zu\r\n", cmd, key, flags,
                     len);

    send_all(c, head, (size_t)n);
    send_all(c, v, len);
    send_all(c, "\r\n", 2);
}

struct work {
    pthread_t thread;
    int id;
    unsigned long sets, hits;
    char *value, *reply;
};

static void
round_basic(struct conn *c, struct work *w, int r)
{
    char key[128], cmd[300];
    unsigned flags = (unsigned)(r * 2654435761u) % 100000u;
    size_t len = make_value(c->id, r, 0, w->value), n;

    snprintf(key, sizeof(key), "c%d:basic:%d", c->id, r);

    c->op = "set";
    send_store(c, "set", key, flags, w->value, len);
    expect_str(c, "STORED\r\n");
    w->sets++;

    c->op = "get";
    snprintf(cmd, sizeof(cmd), "get %s\r\n", key);
    send_all(c, cmd, strlen(cmd));
    n = value_reply(w->reply, key, flags, w->value, len);
    expect(c, w->reply, n);
    expect_str(c, "END\r\n");
    w->hits++;

    c->op = "add existing";
    send_store(c, "add", key, 1, "x", 1);
    expect_str(c, "NOT_STORED\r\n");

    c->op = "delete";
    snprintf(cmd, sizeof(cmd), "delete %s\r\n", key);
    send_all(c, cmd, strlen(cmd));
    expect_str(c, "DELETED\r\n");

    c->op = "get deleted";
    snprintf(cmd, sizeof(cmd), "get %s\r\n", key);
    send_all(c, cmd, strlen(cmd));
    expect_str(c, "END\r\n");

    c->op = "delete again";
    snprintf(cmd, sizeof(cmd), "delete %s\r\n", key);
    send_all(c, cmd, strlen(cmd));
    expect_str(c, "NOT_FOUND\r\n");
}

static void
round_counter(struct conn *c, struct work *w, int r)
{
    char key[128], cmd[300], want[64];
    unsigned long start = (unsigned long)r * 1000u + (unsigned)c->id;

    snprintf(key, sizeof(key), "c%d:counter:%d", c->id, r);
    c->op = "set counter";
    snprintf(want, sizeof(want), "%lu", start);
    send_store(c, "set", key, 0, want, strlen(want));
    expect_str(c, "STORED\r\n");
    w->sets++;

    c->op = "incr";
    snprintf(cmd, sizeof(cmd), "incr %s %d\r\n", key, r + 7);
    send_all(c, cmd, strlen(cmd));
    snprintf(want, sizeof(want), "%lu\r\n", start + (unsigned long)r + 7);
    expect_str(c, want);

    c->op = "decr";
    snprintf(cmd, sizeof(cmd), "decr %s 3\r\n", key);
    send_all(c, cmd, strlen(cmd));
    snprintf(want, sizeof(want), "%lu\r\n", start + (unsigned long)r + 4);
    expect_str(c, want);

    c->op = "delete counter";
    snprintf(cmd, sizeof(cmd), "delete %s\r\n", key);
    send_all(c, cmd, strlen(cmd));
    expect_str(c, "DELETED\r\n");
}

/*
 * Three small values stored in one pipelined burst, read back with one
 * multi-get that also names a missing key, then deleted in one burst.
 * Values stay small so the burst cannot fill both socket buffers.
 */
static void
round_multi(struct conn *c, struct work *w, int r)
{
    char keys[3][128], cmd[600], vals[3][4096];
    size_t lens[3], n = 0;
    int k;

    c->op = "pipelined set";
    for (k = 0; k < 3; k++) {
        snprintf(keys[k], sizeof(keys[k]), "c%d:multi:%d:%d", c->id, r, k);
        lens[k] = make_value(c->id, r - r % 4, k + 1, vals[k]);
        send_store(c, "set", keys[k], (unsigned)k, vals[k], lens[k]);
    }
    for (k = 0; k < 3; k++)
        expect_str(c, "STORED\r\n");
    w->sets += 3;

    c->op = "multi-get";
    snprintf(cmd, sizeof(cmd), "get %s c%d:missing:%d %s %s\r\n", keys[0],
             c->id, r, keys[1], keys[2]);
    send_all(c, cmd, strlen(cmd));
    for (k = 0; k < 3; k++)
        n += value_reply(w->reply + n, keys[k], (unsigned)k, vals[k], lens[k]);
    memcpy(w->reply + n, "END\r\n", 5);
    expect(c, w->reply, n + 5);
    w->hits += 3;

    c->op = "pipelined delete";
    n = 0;
    for (k = 0; k < 3; k++)
        n += (size_t)sprintf(cmd + n, "delete %s\r\n", keys[k]);
    send_all(c, cmd, n);
    for (k = 0; k < 3; k++)
        expect_str(c, "DELETED\r\n");
}

static void *
run_conn(void *arg)
{
    struct work *w = arg;
    struct conn *c = malloc(sizeof(*c));
    int r;

    if (!c)
        fail(NULL, "out of memory");
    conn_open(c, w->id);
    for (r = 0; r < rounds_per_conn; r++) {
        c->round = r;
        round_basic(c, w, r);
        if (r % 5 == 0)
            round_counter(c, w, r);
        if (r % 10 == 9)
            round_multi(c, w, r);
    }
    c->op = "quit";
    send_all(c, "quit\r\n", 6);
    close(c->fd);
    free(c);
    pthread_mutex_lock(&count_lock);
    total_sets += w->sets;
    total_hits += w->hits;
    pthread_mutex_unlock(&count_lock);
    return NULL;
}

/* "version" and "stats" on a fresh connection, checked against totals. */
static void
check_stats(int conns)
{
    struct conn *c = malloc(sizeof(*c));
    char line[512], name[128], value[256];
    unsigned long cmd_set = 0, get_hits = 0;
    int stat_lines = 0, have_version = 0;

    if (!c)
        fail(NULL, "out of memory");
    conn_open(c, conns);
    c->op = "version";
    send_all(c, "version\r\n", 9);
    read_line(c, line, sizeof(line));
    if (strncmp(line, "VERSION ", 8) != 0)
        fail(c, "bad version reply \"%s\"", line);
    printf("memcached-client: server %s\n", line);

    c->op = "stats";
    send_all(c, "stats\r\n", 7);
    for (;;) {
        read_line(c, line, sizeof(line));
        if (strcmp(line, "END") == 0)
            break;
        if (sscanf(line, "STAT %127s %255[^\r]", name, value) != 2)
            fail(c, "bad stats line \"%s\"", line);
        stat_lines++;
        if (strcmp(name, "cmd_set") == 0)
            cmd_set = strtoul(value, NULL, 10);
        else if (strcmp(name, "get_hits") == 0)
            get_hits = strtoul(value, NULL, 10);
        else if (strcmp(name, "libevent") == 0) {
            printf("memcached-client: server reports libevent %s\n", value);
            have_version = strncmp(value, "2.1.", 4) == 0;
        }
    }
    if (stat_lines < 10)
        fail(c, "only %d stats lines", stat_lines);
    if (!have_version)
        fail(c, "stats lack a 2.1.x libevent version");
    /* Each "add" of an existing key also counts as a set. */
    if (cmd_set < total_sets || get_hits != total_hits)
        fail(c,
             "stats say cmd_set=%lu get_hits=%lu, we did %lu sets and "
             "%lu hits",
             cmd_set, get_hits, total_sets, total_hits);
    send_all(c, "quit\r\n", 6);
    close(c->fd);
    free(c);
}

static int
print_free_port(void)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
        perror("memcached-client: free port");
        return 1;
    }
    printf("%d\n", ntohs(sin.sin_port));
    close(fd);
    return 0;
}

int
main(int argc, char **argv)
{
    struct work *works;
    int conns = 8, i;
    struct timeval t0, t1;

    if (argc == 2 && strcmp(argv[1], "--free-port") == 0)
        return print_free_port();
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: memcached-client HOST PORT [CONNECTIONS "
                        "[ROUNDS]]\n       memcached-client --free-port\n");
        return 2;
    }
    server_host = argv[1];
    server_port = argv[2];
    if (argc > 3)
        conns = atoi(argv[3]);
    if (argc > 4)
        rounds_per_conn = atoi(argv[4]);
    if (conns < 1 || conns > MAX_CONNS || rounds_per_conn < 1) {
        fprintf(stderr, "memcached-client: bad CONNECTIONS or ROUNDS\n");
        return 2;
    }
    signal(SIGALRM, on_alarm);
    alarm(RUN_LIMIT_S);

    works = calloc((size_t)conns, sizeof(*works));
    if (!works)
        fail(NULL, "out of memory");
    gettimeofday(&t0, NULL);
    for (i = 0; i < conns; i++) {
        works[i].id = i;
        works[i].value = malloc(MAX_VALUE);
        works[i].reply = malloc(MAX_VALUE + 4096);
        if (!works[i].value || !works[i].reply)
            fail(NULL, "out of memory");
        if (pthread_create(&works[i].thread, NULL, run_conn, &works[i]))
            fail(NULL, "pthread_create failed");
    }
    for (i = 0; i < conns; i++) {
        pthread_join(works[i].thread, NULL);
        free(works[i].value);
        free(works[i].reply);
    }
    gettimeofday(&t1, NULL);
    free(works);

    check_stats(conns);
    printf("memcached-client: %d connections x %d rounds: %lu sets, %lu "
           "hits, all replies correct (%.1f s)\n",
           conns, rounds_per_conn, total_sets, total_hits,
           (double)(t1.tv_sec - t0.tv_sec) +
               (double)(t1.tv_usec - t0.tv_usec) / 1e6);
    return 0;
}

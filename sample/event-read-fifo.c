/*
 * event-read-fifo: read a named pipe with a persistent read event.
 *
 * The FIFO is opened non-blocking and watched with EV_READ|EV_PERSIST: the
 * callback runs whenever data is waiting and reads one chunk each time, so
 * a long message takes several callbacks.  When the last writer closes the
 * FIFO, read() returns 0, the event is deleted and the loop ends.
 *
 *   event-read-fifo [PATH]    create PATH (default ./event.fifo) if needed,
 *                             print what writers send until the first EOF
 *                             or Ctrl-C, then remove the FIFO if we made it
 *   event-read-fifo --self-test
 *                             make a FIFO in a private temporary directory,
 *                             let a child process write a known message in
 *                             bursts, check every byte, clean up
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#define CHUNK 4096
#define BULK_BYTES 100000
#define MAX_MESSAGE (BULK_BYTES + 1024)

struct state {
    struct event_base *base;
    struct event *reader;
    int self_test;
    int saw_eof;
    int callbacks;
    size_t received_len;
    char received[MAX_MESSAGE];
};

/*
 * The self-test message: a few short lines, then BULK_BYTES of a pattern
 * that holds every byte value (NUL and newline included).  Returns its
 * length; buf must hold MAX_MESSAGE bytes.
 */
static size_t
make_message(char *buf)
{
    size_t len = 0, i;
    int line;

    for (line = 1; line <= 5; line++)
        len += (size_t)snprintf(buf + len, MAX_MESSAGE - len,
                                "line %d from the writer\n", line);
    for (i = 0; i < BULK_BYTES; i++)
        buf[len + i] = (char)((i * 7 + i / 251) & 0xff);
    return len + BULK_BYTES;
}

static int
write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Self-test child: write the message in bursts, then close and exit. */
static void
run_writer(const char *path)
{
    static char msg[MAX_MESSAGE];
    size_t len = make_message(msg), off = 0, burst;
    int fd = open(path, O_WRONLY);

    if (fd < 0) {
        perror("event-read-fifo: child: open");
        _exit(1);
    }
    /* Pauses between bursts make the reader see separate wake-ups. */
    while (off < len) {
        burst = off < 200 ? 25 : 30000;
        if (burst > len - off)
            burst = len - off;
        if (write_all(fd, msg + off, burst) < 0) {
            perror("event-read-fifo: child: write");
            _exit(1);
        }
        off += burst;
        usleep(10 * 1000);
    }
    close(fd);
    _exit(0);
}

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct state *st = arg;
    char buf[CHUNK];
    ssize_t n;

    st->callbacks++;
    n = read(fd, buf, sizeof(buf));
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return;
        perror("event-read-fifo: read");
        event_del(st->reader);
        return;
    }
    if (n == 0) {
        /* Every writer has gone: nothing more will ever arrive. */
        printf("end of file after %d callbacks\n", st->callbacks);
        st->saw_eof = 1;
        event_del(st->reader);
        return;
    }
    if (st->self_test) {
        if (st->received_len + (size_t)n > sizeof(st->received)) {
            fprintf(stderr, "event-read-fifo: more data than was sent\n");
            event_del(st->reader);
            return;
        }
        memcpy(st->received + st->received_len, buf, (size_t)n);
        st->received_len += (size_t)n;
    } else {
        fwrite(buf, 1, (size_t)n, stdout);
        fflush(stdout);
    }
}

static void
on_sigint(evutil_socket_t sig, short what, void *arg)
{
    event_base_loopbreak(arg);
}

static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    fprintf(stderr, "event-read-fifo: no end of file within 20 s\n");
    event_base_loopbreak(arg);
}

/* Returns 0 if what was read equals what the child sent. */
static int
check_message(const struct state *st)
{
    static char expected[MAX_MESSAGE];
    size_t len = make_message(expected), i;

    for (i = 0; i < len && i < st->received_len; i++) {
        if (st->received[i] != expected[i]) {
            fprintf(stderr, "event-read-fifo: byte %zu differs\n", i);
            return -1;
        }
    }
    if (st->received_len != len) {
        fprintf(stderr, "event-read-fifo: read %zu bytes, sent %zu\n",
                st->received_len, len);
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    static struct state st;
    struct event *sigint, *watchdog;
    struct timeval twenty_s = {20, 0};
    char dir[] = "/tmp/event-read-fifo.XXXXXX";
    char path[sizeof(dir) + 16];
    const char *fifo;
    int fd, made = 0, status = 0, ok;
    pid_t child = -1;

    st.self_test = argc > 1 && strcmp(argv[1], "--self-test") == 0;
    if (st.self_test) {
        if (!mkdtemp(dir)) {
            perror("event-read-fifo: mkdtemp");
            return 1;
        }
        snprintf(path, sizeof(path), "%s/fifo", dir);
        fifo = path;
    } else {
        fifo = argc > 1 ? argv[1] : "event.fifo";
    }

    if (mkfifo(fifo, 0600) == 0) {
        made = 1;
    } else if (errno != EEXIST) {
        perror("event-read-fifo: mkfifo");
        return 1;
    }
    /* Non-blocking, so open() does not wait for a writer to appear. */
    fd = open(fifo, O_RDONLY | O_NONBLOCK);
    if (fd < 0) {
        perror("event-read-fifo: open");
        return 1;
    }

    if (st.self_test) {
        child = fork();
        if (child < 0) {
            perror("event-read-fifo: fork");
            return 1;
        }
        if (child == 0) {
            close(fd);
            run_writer(fifo);
        }
    } else {
        printf("reading %s; write to it, e.g. echo hi > %s\n", fifo, fifo);
    }

    st.base = event_base_new();
    if (!st.base) {
        fprintf(stderr, "event-read-fifo: event_base_new failed\n");
        return 1;
    }
    st.reader = event_new(st.base, fd, EV_READ | EV_PERSIST, on_readable, &st);
    sigint = evsignal_new(st.base, SIGINT, on_sigint, st.base);
    watchdog = evtimer_new(st.base, on_watchdog, st.base);
    if (!st.reader || !sigint || !watchdog || event_add(st.reader, NULL) ||
        evsignal_add(sigint, NULL) ||
        (st.self_test && evtimer_add(watchdog, &twenty_s))) {
        fprintf(stderr, "event-read-fifo: cannot add the events\n");
        return 1;
    }

    /*
     * The signal event keeps the base busy; leave the loop as soon as the
     * reader has been deleted, either by EOF or by a read error.
     */
    while (event_pending(st.reader, EV_READ, NULL) &&
           !event_base_got_break(st.base))
        event_base_loop(st.base, EVLOOP_ONCE);

    ok = 1;
    if (st.self_test) {
        /* After a timeout the writer may still be blocked: stop it. */
        if (child > 0 && !st.saw_eof)
            kill(child, SIGKILL);
        if (child > 0 && waitpid(child, &status, 0) != child)
            status = -1;
        if (status != 0) {
            fprintf(stderr, "event-read-fifo: the writer failed\n");
            ok = 0;
        }
        ok = ok && st.saw_eof && check_message(&st) == 0;
        printf("read %zu bytes in %d callbacks\n", st.received_len,
               st.callbacks);
    }

    event_free(watchdog);
    event_free(sigint);
    event_free(st.reader);
    event_base_free(st.base);
    close(fd);
    if (made)
        unlink(fifo);
    if (st.self_test) {
        rmdir(dir);
        printf("event-read-fifo: %s\n", ok ? "ok" : "FAILED");
    }
    return ok ? 0 : 1;
}

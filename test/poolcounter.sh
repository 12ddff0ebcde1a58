#!/usr/bin/env bash
# Runs Debian's unmodified /usr/bin/poolcounterd (MediaWiki's PoolCounter
# lock server) on OUR libevent-2.1.so.7 and drives its line protocol over
# 127.0.0.1 with a small python3 client (plain sockets, no libevent).
#
#   poolcounter.sh CLIENT LIBDIR    CLIENT: programs-client, for a free port
#
# poolcounterd uses the libevent 1.x API on the global base: event_init,
# event_set/event_add of one non-persistent read event per client, re-added
# with a timeout while the client waits for a lock (the timeout of an
# event re-added with no timeout stays armed and fires later, and the
# daemon ignores it), and event_loopbreak called from a plain sigaction
# handler for SIGTERM; SIGUSR1 forks and re-execs the daemon, which takes
# over the listening socket.  Installs poolcounter when missing (its
# service is never started; skipped when it cannot be installed: no issue
# names it).  Its port is fixed (7531), but it listens on its standard
# input when that is a socket: a python3 launcher binds a free port, puts
# the socket on fd 0 and execs the daemon.  Proves from /proc/PID/maps that
# it mapped our libevent, then checks exact answers: LOCKED, ACQ4ME waiters
# locked one at a time in arrival order as holders RELEASE, ACQ4ANY waiters
# answered DONE on the release, QUEUE_FULL at the queue limit, waiters'
# TIMEOUT after 1 s and 2 s in that order, a stale timer that fires after a
# waiter got its lock and is ignored, a holder's disconnection handing its
# lock on, errors (NOT_LOCKED, LOCK_HELD, ERROR ...), STATS (single items
# and FULL, each counter equal to the answers the client counted), 50
# clients on 50 keys holding locks at once, 50 clients on one key with 5
# workers served in arrival order, then that SIGTERM ends the daemon with
# status 0 while clients are connected (they see EOF), and a graceful
# restart by SIGUSR1: the re-exec'd daemon (on our library too) serves new
# clients while the old one serves its last client and exits 0 when it
# leaves.  Bounded in time; signals only the processes it started, by PID.
set -euo pipefail
PROG=poolcounter.sh
. "$(dirname "$0")/programs-lib.sh"

client=${1:?usage: poolcounter.sh CLIENT LIBDIR}
LIBDIR=$(cd "${2:?usage: poolcounter.sh CLIENT LIBDIR}" && pwd -P)
poolcounterd=/usr/bin/poolcounterd
need_program "$poolcounterd" poolcounter libevent-2.1.so.7 optional
need_tool python3 python3
start_work poolcounter
# In an ASan build ctest preloads the ASan runtime: only poolcounterd, on
# our instrumented library, keeps it; python3 runs without.
preload=${LD_PRELOAD-}
unset LD_PRELOAD
# On a failure after SIGUSR1, the daemon that the old one forked is
# stopped too, even if not tracked yet.
old=
adopt_forked() {
    local c
    [ -n "$old" ] || return 0
    for c in $(children_of "$old"); do
        if is_ours "$c" "$poolcounterd"; then track "$c" "$poolcounterd"; fi
    done
}
trap 'rc=$?; adopt_forked; set +e; (exit "$rc"); on_exit' EXIT

# The launcher: bind 127.0.0.1:PORT, listen, move the socket to fd 0 and
# exec the daemon (which then takes fd 0 as its listener), so that $! is
# poolcounterd itself.
cat > "$work/launch.py" <<'EOF'
import os, socket, sys
port, preload, exe = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    s.bind(("127.0.0.1", port))
except OSError as e:
    sys.stderr.write("bind 127.0.0.1:%d: %s\n" % (port, e.strerror))
    sys.exit(1)
s.listen(128)
os.dup2(s.fileno(), 0)
s.close()
if preload:
    os.environ["LD_PRELOAD"] = preload
os.execv(exe, [exe])
EOF

# The client.  Every read has a deadline; every answer is compared byte
# for byte and tallied, to compare with the daemon's STATS at the end.
cat > "$work/client.py" <<'EOF'
import select, socket, sys, threading, time

PORT = int(sys.argv[2])
IO = 5.0                      # seconds for any expected answer
tally = {}
tally_lock = threading.Lock()

def fail(msg):
    sys.stderr.write("client: FAIL: %s\n" % msg)
    sys.stderr.flush()
    raise SystemExit(1)

def count(answer):
    word = answer.split(b"\n")[0].split(b":")[0]
    with tally_lock:
        tally[word] = tally.get(word, 0) + 1

class C:
    def __init__(self, name):
        self.name = name
        self.s = socket.create_connection(("127.0.0.1", PORT), timeout=IO)
        self.buf = b""
    def send(self, line):
        self.s.sendall(line.encode() + b"\n")
    def expect(self, want, within=IO):
        want = want.encode() if isinstance(want, str) else want
        end = time.monotonic() + within
        while len(self.buf) < len(want):
            left = end - time.monotonic()
            if left <= 0:
                fail("%s: waited %.1f s for %r, got %r" % (self.name, within, want, self.buf))
            r, _, _ = select.select([self.s], [], [], left)
            if r:
                d = self.s.recv(4096)
                if not d:
                    fail("%s: EOF while waiting for %r (got %r)" % (self.name, want, self.buf))
                self.buf += d
        got, self.buf = self.buf[:len(want)], self.buf[len(want):]
        if got != want:
            fail("%s: got %r, expected %r" % (self.name, got + self.buf, want))
        count(got)
    def ask(self, line, want):
        self.send(line)
        self.expect(want)
    def quiet(self, secs):
        if self.buf:
            fail("%s: unexpected %r" % (self.name, self.buf))
        r, _, _ = select.select([self.s], [], [], secs)
        if r:
            fail("%s: unexpected answer %r" % (self.name, self.s.recv(4096)))
    def eof(self, within=IO):
        r, _, _ = select.select([self.s], [], [], within)
        d = self.s.recv(4096) if r else None
        if d != b"":
            fail("%s: expected EOF, got %r" % (self.name, d))
    def close(self):
        if self.buf:
            fail("%s: unread %r" % (self.name, self.buf))
        self.s.close()

def stat(c, item):
    """The value of STATS ITEM, asked on connection c."""
    c.send("STATS " + item)
    end = time.monotonic() + IO
    while not c.buf.endswith(b"\n"):
        if time.monotonic() > end:
            fail("STATS %s: got %r" % (item, c.buf))
        r, _, _ = select.select([c.s], [], [], 0.5)
        if r:
            d = c.s.recv(4096)
            if not d:
                fail("EOF after STATS %s" % item)
            c.buf += d
    line, c.buf = c.buf.decode(), b""
    head = item + ": "
    if not line.startswith(head):
        fail("STATS %s answered %r" % (item, line))
    return int(line[len(head):])

def want_stats(c, **want):
    for k, v in want.items():
        got = stat(c, k)
        if got != v:
            fail("STATS %s: %d, expected %d" % (k, got, v))

def ok(msg):
    print("client: %s: ok" % msg)
    sys.stdout.flush()

def basics():
    a, b, c, d, e, f, s = (C(n) for n in "abcdefs")
    a.ask("ACQ4ME k 1 4 5", "LOCKED\n")
    want_stats(s, processing_workers=1, waiting_workers=0, hashtable_entries=1)
    # Two ACQ4ME waiters, then an ACQ4ANY one; the fifth is over maxqueue 4.
    b.send("ACQ4ME k 1 4 5")
    for _ in range(50):
        if stat(s, "waiting_workers") == 1:
            break
        time.sleep(0.02)
    c.send("ACQ4ME k 1 4 5")
    d.send("ACQ4ANY k 1 4 5")
    for _ in range(50):
        if stat(s, "waiting_workers") == 3:
            break
        time.sleep(0.02)
    e.ask("ACQ4ME k 1 4 5", "QUEUE_FULL\n")
    f.ask("ACQ4ANY k 1 4 5", "QUEUE_FULL\n")
    for x in (b, c, d):
        x.quiet(0.1)
    want_stats(s, processing_workers=1, waiting_workers=3, hashtable_entries=1)
    # The release: the ACQ4ANY waiter is DONE, the oldest ACQ4ME waiter locks.
    a.ask("RELEASE", "RELEASED\n")
    d.expect("DONE\n")
    b.expect("LOCKED\n")
    c.quiet(0.2)
    want_stats(s, processing_workers=1, waiting_workers=1)
    b.ask("RELEASE", "RELEASED\n")
    c.expect("LOCKED\n")
    c.ask("RELEASE", "RELEASED\n")
    want_stats(s, processing_workers=0, waiting_workers=0, hashtable_entries=0)
    ok("LOCKED, ACQ4ME waiters in order, ACQ4ANY waiter DONE, QUEUE_FULL")

    # ACQ4ANY only: every waiter is DONE when the holder releases, and DONE
    # holds no lock.
    a.ask("ACQ4ANY any 1 5 5", "LOCKED\n")
    for x in (b, c, d):
        x.send("ACQ4ANY any 1 5 5")
    for _ in range(50):
        if stat(s, "waiting_workers") == 3:
            break
        time.sleep(0.02)
    a.ask("RELEASE", "RELEASED\n")
    for x in (b, c, d):
        x.expect("DONE\n")
    b.ask("ACQ4ME any 1 5 5", "LOCKED\n")
    b.ask("RELEASE", "RELEASED\n")
    ok("ACQ4ANY waiters all DONE on release")

    # Two workers: two hold at once, the third waits.
    a.ask("ACQ4ME two 2 3 5", "LOCKED\n")
    b.ask("ACQ4ME two 2 3 5", "LOCKED\n")
    c.send("ACQ4ME two 2 3 5")
    c.quiet(0.2)
    want_stats(s, processing_workers=2, waiting_workers=1)
    b.ask("RELEASE", "RELEASED\n")
    c.expect("LOCKED\n")
    a.ask("RELEASE", "RELEASED\n")
    c.ask("RELEASE", "RELEASED\n")
    ok("2 workers")

    # Errors.
    a.ask("RELEASE", "NOT_LOCKED\n")
    a.ask("HELLO", "ERROR BAD_COMMAND\n")
    a.ask("ACQ4ME bad 0 1 1", "ERROR BAD_SYNTAX\n")
    a.ask("ACQ4ANY bad 1 0 1", "ERROR BAD_SYNTAX\n")
    for i in range(4):
        a.ask("ACQ4ME many%d 1 1 0" % i, "LOCKED\n")
    a.ask("ACQ4ME many4 1 1 0", "LOCK_HELD\n")
    for i in range(4):
        a.ask("RELEASE", "RELEASED\n")
    a.ask("RELEASE", "NOT_LOCKED\n")
    a.ask("STATS nosuchstat", "ERROR WRONG_STAT")
    b.ask("ACQ4ME busy 1 3 0", "LOCKED\n")
    c.ask("ACQ4ME busy 1 3 0", "TIMEOUT\n")         # timeout 0: at once
    c.send("ACQ4ME busy 1 3 5")
    c.quiet(0.1)
    c.ask("ACQ4ME other 1 3 5", "ERROR WAIT_FOR_RESPONSE\n")
    b.ask("RELEASE", "RELEASED\n")
    c.expect("LOCKED\n")
    c.ask("RELEASE", "RELEASED\n")
    ok("NOT_LOCKED, BAD_COMMAND, BAD_SYNTAX, LOCK_HELD, WRONG_STAT, WAIT_FOR_RESPONSE")
    for x in (a, b, c, d, e, f, s):
        x.close()

def timeouts():
    a, b, c, d, s = (C(n) for n in "abcds")
    a.ask("ACQ4ME t 1 5 5", "LOCKED\n")
    t0 = time.monotonic()
    b.send("ACQ4ME t 1 5 2")                     # waits 2 s
    c.send("ACQ4ANY t 1 5 1")                    # waits 1 s
    c.expect("TIMEOUT\n", 4)
    t1 = time.monotonic() - t0
    b.quiet(0)
    b.expect("TIMEOUT\n", 4)
    t2 = time.monotonic() - t0
    if not (0.5 <= t1 <= 3.0) or not (1.5 <= t2 <= 4.0) or t2 - t1 < 0.5:
        fail("TIMEOUTs after %.2f s (1 s wanted) and %.2f s (2 s wanted)" % (t1, t2))
    want_stats(s, waiting_workers=0, processing_workers=1)
    ok("TIMEOUT after %.2f s (ACQ4ANY, 1 s) and %.2f s (ACQ4ME, 2 s)" % (t1, t2))

    # A waiter that gets the lock before its timeout: the timer still fires
    # (libevent cannot drop it by re-adding the event without a timeout)
    # and the daemon ignores it; the connection works on.
    d.send("ACQ4ME t 1 5 1")
    d.quiet(0.1)
    a.ask("RELEASE", "RELEASED\n")
    d.expect("LOCKED\n")
    d.quiet(1.6)
    d.ask("RELEASE", "RELEASED\n")
    d.ask("ACQ4ME t 1 5 1", "LOCKED\n")
    d.ask("RELEASE", "RELEASED\n")
    ok("stale timeout ignored after LOCKED")

    # The holder disconnects: the oldest ACQ4ME waiter gets the lock; then
    # its disconnection gives it to the ACQ4ANY waiter (LOCKED, not DONE:
    # only a RELEASE answers ACQ4ANY waiters DONE).  A waiter that
    # disconnects leaves the queue.
    a.ask("ACQ4ME dis 1 5 10", "LOCKED\n")
    b.send("ACQ4ANY dis 1 5 10")
    c.send("ACQ4ME dis 1 5 10")
    e = C("e")
    e.send("ACQ4ME dis 1 5 10")
    for _ in range(50):
        if stat(s, "waiting_workers") == 3:
            break
        time.sleep(0.02)
    e.close()
    for _ in range(50):
        if stat(s, "waiting_workers") == 2:
            break
        time.sleep(0.02)
    want_stats(s, waiting_workers=2)
    a.close()
    c.expect("LOCKED\n")
    b.quiet(0.2)
    c.close()
    b.expect("LOCKED\n")
    b.ask("RELEASE", "RELEASED\n")
    want_stats(s, waiting_workers=0, processing_workers=0, hashtable_entries=0)
    ok("disconnecting holder hands its lock on, disconnecting waiter leaves")
    for x in (b, d, s):
        x.close()

def many_keys(n=50):
    s = C("s")
    clients = [None] * n
    errors = []
    ready = threading.Barrier(n + 1, timeout=20)
    held = threading.Barrier(n + 1, timeout=20)
    done = threading.Barrier(n + 1, timeout=20)
    def run(i):
        try:
            c = clients[i] = C("key%d" % i)
            ready.wait()
            c.ask("ACQ4ME key%d 1 1 5" % i, "LOCKED\n")
            held.wait()
            done.wait()
            c.ask("RELEASE", "RELEASED\n")
            c.close()
        except BaseException as e:      # SystemExit from fail() too
            errors.append("client %d: %r" % (i, e))
            for b in (ready, held, done):
                b.abort()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    try:
        ready.wait()
        held.wait()
        want_stats(s, processing_workers=n, hashtable_entries=n, waiting_workers=0)
        done.wait()
    except threading.BrokenBarrierError:
        pass
    for t in threads:
        t.join(20)
    if errors or any(t.is_alive() for t in threads):
        fail("%d concurrent clients on distinct keys: %s" % (n, errors[:3]))
    want_stats(s, processing_workers=0, hashtable_entries=0)
    s.close()
    ok("%d concurrent clients on %d keys held their locks at once" % (n, n))

def one_key(n=50, workers=5):
    s = C("s")
    cs = [C("hot%d" % i) for i in range(n)]
    for i, c in enumerate(cs):
        c.send("ACQ4ME hot %d %d 10" % (workers, n))
        if i < workers:
            c.expect("LOCKED\n")
        else:
            # Wait until the daemon queued it, to know the arrival order.
            for _ in range(100):
                if stat(s, "waiting_workers") == i - workers + 1:
                    break
                time.sleep(0.01)
            else:
                fail("client %d was not queued" % i)
    extra = C("extra")
    extra.ask("ACQ4ME hot %d %d 10" % (workers, n), "QUEUE_FULL\n")
    want_stats(s, processing_workers=workers, waiting_workers=n - workers)
    for i in range(workers, n):
        cs[i].quiet(0)
    # Release in order: each release hands the lock to the oldest waiter.
    for i in range(n):
        cs[i].ask("RELEASE", "RELEASED\n")
        if i + workers < n:
            cs[i + workers].expect("LOCKED\n")
            for j in range(i + workers + 1, min(n, i + workers + 3)):
                cs[j].quiet(0)
    want_stats(s, processing_workers=0, waiting_workers=0, hashtable_entries=0)
    for c in cs + [extra, s]:
        c.close()
    ok("%d clients on one key, %d workers, served in arrival order" % (n, workers))

def final_stats():
    s = C("s")
    s.send("STATS FULL")
    end = time.monotonic() + IO
    while not s.buf.endswith(b"\n\n"):
        if time.monotonic() > end:
            fail("STATS FULL: %r" % s.buf)
        r, _, _ = select.select([s.s], [], [], 0.5)
        if r:
            s.buf += s.s.recv(65536)
    text, s.buf = s.buf.decode(), b""
    lines = text.split("\n")[:-2]
    import re
    if not re.fullmatch(r"uptime: 0 days, 0h [0-9]+m [0-9]+s", lines[0]):
        fail("STATS FULL uptime line: %r" % lines[0])
    times = ["total processing time", "average processing time", "gained time",
             "waiting time", "waiting time for me", "waiting time for anyone",
             "waiting time for good", "wasted timeout time"]
    for name, line in zip(times, lines[1:9]):
        if not re.fullmatch(re.escape(name) + r": ([0-9]+m )?[0-9]+\.[0-9]{6}s", line):
            fail("STATS FULL line %r, expected %r" % (line, name))
    got = {}
    for line in lines[9:]:
        k, v = line.split(": ")
        got[k] = int(v)
    t = {k.decode(): v for k, v in tally.items()}
    want = {
        "total_acquired": t.get("LOCKED", 0),
        "total_releases": t.get("RELEASED", 0),
        "hashtable_entries": 0, "processing_workers": 0, "waiting_workers": 0,
        "connect_errors": 0, "failed_sends": 0,
        "full_queues": t.get("QUEUE_FULL", 0),
        "lock_mismatch": t.get("LOCK_HELD", 0),
        "lock_while_waiting": t.get("ERROR WAIT_FOR_RESPONSE", 0),
        "release_mismatch": t.get("NOT_LOCKED", 0),
        "processed_count": t.get("LOCKED", 0),
    }
    if got != want:
        fail("STATS FULL counters %s, expected %s" % (got, want))
    # "wasted timeout time" sums the waits that timed out: 1 s + 2 s.
    wasted = float(lines[8].split(": ")[1].rstrip("s"))
    if not 2.5 <= wasted <= 6.0:
        fail("wasted timeout time %.3f s, expected about 3 s" % wasted)
    s.close()
    ok("STATS FULL: %d locks acquired, %d released, %d QUEUE_FULL, counters exact"
       % (want["total_acquired"], want["total_releases"], want["full_queues"]))

def hold(key):
    """For the shutdown checks: clients left connected, one holding KEY,
    one waiting; prints READY, then waits for EOF on both."""
    a, b = C("holder"), C("waiter")
    a.ask("ACQ4ME %s 1 2 30" % key, "LOCKED\n")
    b.send("ACQ4ME %s 1 2 30" % key)
    b.quiet(0.1)
    print("READY")
    sys.stdout.flush()
    a.eof(15)
    b.eof(1)
    print("EOF")

def graceful():
    """Clients of the old daemon, one holding, one waiting; prints HOLDING,
    then reads a line (the new daemon's PID, once the shell sent SIGUSR1)."""
    a, b = C("old-holder"), C("old-waiter")
    a.ask("ACQ4ME g 1 3 20", "LOCKED\n")
    b.send("ACQ4ME g 1 3 20")
    b.quiet(0.1)
    print("HOLDING")
    sys.stdout.flush()
    line = sys.stdin.readline()
    if not line.strip().isdigit():
        fail("no new daemon: %r" % line)
    # A new connection reaches the new daemon: its own, empty lock table
    # (the old one would answer QUEUE_FULL).
    n = C("new")
    n.ask("ACQ4ME g 1 1 0", "LOCKED\n")
    n.ask("STATS hashtable_entries", "hashtable_entries: 1\n")
    # The old daemon still serves its clients.
    a.ask("RELEASE", "RELEASED\n")
    b.expect("LOCKED\n")
    b.ask("RELEASE", "RELEASED\n")
    a.close()
    b.close()
    n.ask("RELEASE", "RELEASED\n")
    n.ask("STATS total_acquired", "total_acquired: 1\n")
    n.close()
    print("DONE")

mode = sys.argv[1]
if mode == "all":
    basics(); timeouts(); many_keys(); one_key(); final_stats()
elif mode == "hold":
    hold(sys.argv[3])
elif mode == "graceful":
    graceful()
else:
    fail("unknown mode " + mode)
EOF

log=$work/poolcounterd.log
launch() {
    LD_LIBRARY_PATH=$(ours_ld_path) python3 "$work/launch.py" "$1" "$preload" \
        "$poolcounterd" > "$log" 2>&1 < /dev/null &
    pid=$!
    # past python3, up to poolcounterd (5 s)
    for _ in $(seq 100); do
        is_ours "$pid" "$poolcounterd" && break
        [ -e "/proc/$pid" ] || break
        sleep 0.05
    done
}
FREE_PORT=("$client" free-port)
start_on_free_port "$poolcounterd" "$log" 'address already in use' launch tcp_accepts
pcpid=$pid
say "poolcounterd PID $pcpid listening on 127.0.0.1:$port (its fd 0)"
prove_ours "$pcpid" "$LIBDIR" libevent-2.1.so.7

clean_log() {
    if grep -E 'AddressSanitizer|runtime error:|LeakSanitizer' "$log" >&2; then
        die "sanitizer report in poolcounterd's log"
    fi
}
timeout 90 python3 "$work/client.py" all "$port" || die "client failed (rc $?)"
is_ours "$pcpid" "$poolcounterd" || die "poolcounterd died during the checks"
clean_log

# SIGTERM while a client holds a lock and another waits: the loop breaks,
# the daemon exits 0 and both see EOF.
timeout 30 python3 "$work/client.py" hold "$port" term > "$work/hold.out" 2>&1 &
hold=$!
track "$hold" "$(command -v timeout)"
for _ in $(seq 100); do grep -q READY "$work/hold.out" && break; sleep 0.05; done
grep -q READY "$work/hold.out" || die "the holding clients did not start: $(cat "$work/hold.out")"
signal_exit "$pcpid" "$poolcounterd" TERM
wait "$hold" || die "clients connected at SIGTERM: $(cat "$work/hold.out")"
grep -q EOF "$work/hold.out" || die "no EOF for the connected clients"
clean_log
[ -s "$log" ] && die "poolcounterd wrote: $(head -c 500 "$log")"
say "SIGTERM with clients connected: exit status 0, clients saw EOF"

# Graceful restart: SIGUSR1 forks and re-execs the daemon, which takes the
# listening socket; the old one stops listening, serves its clients, and
# exits by itself (status 0) when the last one leaves.
start_on_free_port "$poolcounterd" "$log" 'address already in use' launch tcp_accepts
old=$pid
prove_ours "$old" "$LIBDIR" libevent-2.1.so.7
mkfifo "$work/to-graceful"
timeout 30 python3 "$work/client.py" graceful "$port" < "$work/to-graceful" \
    > "$work/graceful.out" 2>&1 &
gpid=$!
track "$gpid" "$(command -v timeout)"
exec 4> "$work/to-graceful"
for _ in $(seq 100); do grep -q HOLDING "$work/graceful.out" && break; sleep 0.05; done
grep -q HOLDING "$work/graceful.out" || die "graceful: clients did not start: $(cat "$work/graceful.out")"
kill -USR1 "$old"
new=
for _ in $(seq 100); do
    for c in $(children_of "$old"); do is_ours "$c" "$poolcounterd" && new=$c; done
    [ -n "$new" ] && break
    sleep 0.05
done
[ -n "$new" ] || die "no new poolcounterd after SIGUSR1"
track "$new" "$poolcounterd"
say "SIGUSR1: poolcounterd PID $old forked PID $new, which re-execs itself"
echo "$new" >&4
exec 4>&-
wait "$gpid" || die "graceful restart: $(cat "$work/graceful.out")"
grep -q DONE "$work/graceful.out" || die "graceful restart: $(cat "$work/graceful.out")"
# It has answered: past its exec, the new image mapped our library.
prove_ours "$new" "$LIBDIR" libevent-2.1.so.7
# The old daemon exits by itself, status 0, once its last client left.
for _ in $(seq 100); do is_ours "$old" "$poolcounterd" || break; sleep 0.1; done
is_ours "$old" "$poolcounterd" && die "the old poolcounterd still runs after its last client left"
status=0
wait "$old" || status=$?
[ "$status" = 0 ] || die "the old poolcounterd exited with status $status"
is_ours "$new" "$poolcounterd" || die "the new poolcounterd died"
# The new one is not our child (no status to collect): SIGTERM, it ends.
kill -TERM "$new"
for _ in $(seq 100); do is_ours "$new" "$poolcounterd" || break; sleep 0.1; done
is_ours "$new" "$poolcounterd" && die "the new poolcounterd still runs 10 s after SIGTERM"
clean_log
[ -s "$log" ] && die "poolcounterd wrote: $(head -c 500 "$log")"
say "graceful restart by SIGUSR1: ok"
say "ok"

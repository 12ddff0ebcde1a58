#!/usr/bin/env bash
# Runs Debian's unmodified /usr/sbin/dnsproxy (a UDP DNS proxy that sends
# queries to an authoritative or a recursive server) on OUR
# libevent-2.1.so.7, in front of Debian's nsd (also on our library) with
# a private zone and of a small recursive stand-in written in python3.
#
#   dnsproxy.sh CLIENT LIBDIR    CLIENT: programs-client, for free ports
#                                and a first check of nsd itself
#
# dnsproxy uses libevent's old API: event_init, event_set/event_add of
# its two UDP sockets (not persistent: re-added from each callback), one
# one-shot timer per query (event_set with fd -1, event_add with the
# authoritative or recursive timeout, event_del when the answer comes,
# the request freed from the timer's own callback when it does not),
# a statistics evtimer re-added from its callback every second, and
# SIGINT/SIGTERM/SIGHUP events whose callback calls event_loopexit and
# then exit(1).  dnsproxy only speaks UDP over IPv4, so programs-client's
# dns mode (which also asks over TCP) cannot run through it: an embedded
# python3 client asks instead, with exact byte comparisons.
#
# Installs dnsproxy, nsd and python3 when missing (their services are
# never started; skipped when they cannot be installed: no issue names
# them).  As root dnsproxy chroots to a directory in the work dir and
# runs as nobody.  Proves from /proc/PID/maps that dnsproxy and nsd
# mapped our libevent, then checks:
#  - every answer through dnsproxy is byte for byte nsd's own answer to
#    the same query (A, TXT, SOA, NS, NXDOMAIN, mixed case, with and
#    without EDNS), and queries with RD set go to the recursive server,
#    whose synthetic answers are exact too (one of them sent 1.4 s late:
#    before the 2 s recursive-timeout, so it must arrive);
#  - 8 sockets with 16 queries each in flight at once, all with ids
#    1..16, half to nsd and half to the recursive server: each answer
#    arrives once, on its own socket, with its own id and bytes;
#  - timeouts: 6 queries the recursive server never answers, 4 it
#    answers after 2.8 s (too late) and 5 nsd discards (QR set,
#    authoritative-timeout 1 s): no answer may come back for any of
#    them, while 10 queries sent meanwhile and 10 after are answered;
#  - dnsproxy's statistics, printed every second, count exactly what
#    was sent, answered, timed out and late, with no query left active,
#    and keep coming once a second;
#  - SIGTERM ends dnsproxy, which logs "exiting on signal 15" and exits
#    with status 1 (its signal callback calls exit(1), on Debian's
#    libevent too); SIGTERM ends nsd with status 0.
# Fails on any AddressSanitizer or UBSan report in the daemons' logs.
# Bounded in time; signals only the processes it started, by PID.
set -euo pipefail
PROG=dnsproxy.sh
. "$(dirname "$0")/programs-lib.sh"

client=${1:?usage: dnsproxy.sh CLIENT LIBDIR}
LIBDIR=$(cd "${2:?usage: dnsproxy.sh CLIENT LIBDIR}" && pwd -P)
dnsproxy=/usr/sbin/dnsproxy
nsd=/usr/sbin/nsd
py=/usr/bin/python3
need_program "$dnsproxy" dnsproxy libevent-2.1.so.7 optional
need_program "$nsd" nsd libevent-2.1.so.7 optional
[ -x "$py" ] || install_pkg python3 optional
[ -x "$py" ] || skip "$py not found"
start_work dnsproxy
FREE_PORT=("$client" free-port)

# The helpers run without the ASan runtime that ctest may preload; the
# daemons, on our (maybe instrumented) library, keep it.
pyrun() { env -u LD_PRELOAD timeout 60 "$py" "$work/dns.py" "$@"; }
cat > "$work/dns.py" <<'PYEOF'
import select, socket, struct, sys, time, zlib, random

A, NS, SOA, TXT = 1, 2, 6, 16
DELAY = {'drop': None, 'late': 2.8, 'slow': 1.4}   # by first-label prefix


def query(qid, name, qtype, flags=0, edns=False):
    b = struct.pack('>HHHHHH', qid, flags, 1, 0, 0, 1 if edns else 0)
    for label in name.split('.'):
        b += bytes([len(label)]) + label.encode()
    b += b'\0' + struct.pack('>HH', qtype, 1)
    if edns:   # OPT: root name, type 41, UDP size 4096, no flags
        b += b'\0' + struct.pack('>HHIH', 41, 4096, 0, 0)
    return b


def question(m):
    """(name, end offset of the question) of message m."""
    off, labels = 12, []
    while m[off]:
        labels.append(m[off + 1:off + 1 + m[off]].decode())
        off += 1 + m[off]
    return '.'.join(labels), off + 5


def synth(q):
    """The recursive responder's answer to query q: its question, then
    one A record (TTL 7) whose address is the CRC-32 of the lowercased
    name, so an answer given to the wrong query shows."""
    name, end = question(q)
    rdata = struct.pack('>I', zlib.crc32(name.lower().encode()))
    return (q[:2] + struct.pack('>HHHHH', 0x8180, 1, 1, 0, 0) + q[12:end] +
            struct.pack('>HHHIH', 0xc00c, A, 1, 7, 4) + rdata)


def fail(msg):
    sys.exit('dns.py: ' + msg)


def responder(port, qlog):
    """A stand-in recursive server: answers RD queries with synth(), but
    never the names starting with drop, late ones after 2.8 s (after
    dnsproxy's 2 s recursive-timeout) and slow ones after 1.4 s (before
    it).  Logs each query's name."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', port))
    log = open(qlog, 'a')
    print('ready', port, flush=True)
    pending = []
    while True:
        now = time.monotonic()
        for p in [p for p in pending if p[0] <= now]:
            s.sendto(p[1], p[2])
            pending.remove(p)
        wait = min(p[0] for p in pending) - now if pending else None
        r, _, _ = select.select([s], [], [], max(wait, 0) if wait is not None else None)
        if not r:
            continue
        q, addr = s.recvfrom(4096)
        name, _ = question(q)
        log.write('%s rd=%d\n' % (name, (q[2] & 1)))
        log.flush()
        if not q[2] & 1:
            continue
        kind = next((k for k in DELAY if name.startswith(k)), None)
        if kind is None:
            s.sendto(synth(q), addr)
        elif DELAY[kind] is not None:
            pending.append((time.monotonic() + DELAY[kind], synth(q), addr))


def sock():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    return s


def ask(port, q, timeout=5.0):
    s = sock()
    s.settimeout(timeout)
    s.sendto(q, ('127.0.0.1', port))
    try:
        return s.recv(65535)
    except socket.timeout:
        fail('no answer from port %d to %s' % (port, question(q)[0]))
    finally:
        s.close()


def collect(socks, want, secs):
    """Read answers on socks until every (socket, id) in want (a dict to
    the exact bytes expected) is answered: each once, byte for byte."""
    left = dict(want)
    deadline = time.monotonic() + secs
    while left:
        wait = deadline - time.monotonic()
        r, _, _ = select.select(socks, [], [], max(wait, 0))
        if not r:
            fail('%d of %d answers missing after %g s' % (len(left), len(want), secs))
        for s in r:
            m = s.recv(65535)
            key = (socks.index(s), struct.unpack('>H', m[:2])[0])
            if key not in left:
                fail('unexpected or repeated answer: socket %d id %d' % key)
            if m != left[key]:
                fail('socket %d id %d: answer %s, expected %s' %
                     (key[0], key[1], m.hex(), left[key].hex()))
            del left[key]


class Counts:
    """What dnsproxy's statistics must count for the queries sent."""
    def __init__(self):
        self.all = self.auth = self.rec = self.answered = self.timeout = self.late = 0

    def sent(self, q, answered=True):
        self.all += 1
        if q[2] & 1:
            self.rec += 1
        else:
            self.auth += 1
        self.answered += answered
        self.timeout += not answered

    def show(self):
        print('counts %d %d %d %d %d %d' % (self.all, self.auth, self.rec,
              self.answered, self.timeout, self.late))


ZONE = [('a.example.test', A), ('b.example.test', TXT), ('nx.example.test', A),
        ('ns.example.test', A), ('example.test', SOA), ('example.test', NS),
        ('A.Example.TEST', A), ('x.nx.example.test', TXT)]


def direct(nsd, name, qtype, qid, flags=0, edns=False):
    """nsd's own answer, for the same query bytes."""
    q = query(qid, name, qtype, flags, edns)
    return q, ask(nsd, q)


def exact(proxy, nsd):
    c = Counts()
    qid = 4000
    for name, qtype in ZONE:
        for edns in (False, True):
            qid += 1
            q, want = direct(nsd, name, qtype, qid, 0, edns)
            got = ask(proxy, q)
            c.sent(q)
            if got != want:
                fail('%s type %d through dnsproxy: %s, nsd says %s' %
                     (name, qtype, got.hex(), want.hex()))
            rcode, ancount = got[3] & 15, struct.unpack('>H', got[6:8])[0]
            _, end = question(got)
            first = got[end:end + 16]
            if name == 'a.example.test' and not (rcode == 0 and ancount == 1 and
                                                 first[-4:] == bytes([10, 1, 2, 3])):
                fail('A a.example.test: %s' % got.hex())
            if name.startswith('nx') or name.startswith('x.nx'):
                if rcode != 3 or ancount != 0:
                    fail('%s: rcode %d, %d answers, not NXDOMAIN' % (name, rcode, ancount))
            if name == 'b.example.test' and got[end + 12:end + 18] != b'\x05hello':
                fail('TXT b.example.test: %s' % got.hex())
    # Recursion desired, from an internal address: the recursive server.
    for name in ('r1.example.test', 'www.elsewhere.test', 'a.example.test', 'slow1.test'):
        qid += 1
        q = query(qid, name, A, 0x0100)
        t = time.monotonic()
        got = ask(proxy, q)
        c.sent(q)
        if got != synth(q):
            fail('recursive %s through dnsproxy: %s, expected %s' %
                 (name, got.hex(), synth(q).hex()))
        if name.startswith('slow') and time.monotonic() - t < 1.3:
            fail('slow1.test answered before the responder sent it')
    c.show()


def burst(proxy, nsd, nsocks, per):
    """nsocks sockets, each with per queries in flight at once, all
    with the ids 1..per: odd ids ask the recursive server a name of
    their own, even ids nsd's zone."""
    c = Counts()
    canned = {}
    for name, qtype in ZONE:
        canned[name, qtype] = direct(nsd, name, qtype, 0)[1][2:]
    socks = [sock() for _ in range(nsocks)]
    want = {}
    order = [(k, i) for i in range(1, per + 1) for k in range(nsocks)]
    random.Random(nsocks * per).shuffle(order)
    for k, i in order:
        if i % 2:
            q = query(i, 'q%d-%d.burst.test' % (k, i), A, 0x0100)
            want[k, i] = synth(q)
        else:
            name, qtype = ZONE[(i // 2 + k) % len(ZONE)]
            q = query(i, name, qtype)
            want[k, i] = q[:2] + canned[name, qtype]
        socks[k].sendto(q, ('127.0.0.1', proxy))
        c.sent(q)
    collect(socks, want, 10)
    c.show()


def timeouts(proxy, nsd):
    """Queries nobody answers in time, then queries that must be
    answered meanwhile and after."""
    c = Counts()
    def prepare(base):
        want, qs = {}, []
        for i in range(10):
            if i % 2:
                q = query(base + i, 'h%d.timeout.test' % (base + i), A, 0x0100)
                want[0, base + i] = synth(q)
            else:
                name, qtype = ZONE[i % len(ZONE)]
                q, want[0, base + i] = direct(nsd, name, qtype, base + i)
            qs.append(q)
        return qs, want

    def healthy(qs, want):
        s = sock()
        for q in qs:
            s.sendto(q, ('127.0.0.1', proxy))
            c.sent(q)
        collect([s], want, 5)
        s.close()
    during, after = prepare(1000), prepare(2000)
    silent = sock()
    qs = [query(100 + i, 'drop%d.timeout.test' % i, A, 0x0100) for i in range(6)]
    qs += [query(200 + i, 'late%d.timeout.test' % i, A, 0x0100) for i in range(4)]
    # QR set: nsd discards a response sent to it as a query.
    qs += [query(300 + i, 'a.example.test', A, 0x8000) for i in range(5)]
    t0 = time.monotonic()
    for q in qs:
        silent.sendto(q, ('127.0.0.1', proxy))
        c.sent(q, answered=False)
    c.late = 4

    healthy(*during)     # while 15 timers are pending
    if time.monotonic() - t0 > 0.9:
        fail('the answers took longer than the 1 s timeout')
    # No answer for the silent socket, the late ones included (2.8 s).
    while True:
        left = t0 + 3.4 - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([silent], [], [], left)
        if r:
            m = silent.recv(65535)
            fail('an answer (%s) came for a query that timed out' % m.hex())
    healthy(*after)      # after the timeouts
    c.show()


if __name__ == '__main__':
    mode, args = sys.argv[1], [int(a) if a.isdigit() else a for a in sys.argv[2:]]
    {'responder': responder, 'exact': exact, 'burst': burst,
     'timeouts': timeouts}[mode](*args)
PYEOF

# nsd, the authoritative server, with the zone of nsd.sh, on our library.
launch_nsd() {
    nsd_setup "$1" 'rrl-ratelimit: 0' 'rrl-whitelist-ratelimit: 0'
    : > "$work/nsd.log"
    LD_LIBRARY_PATH=$(ours_ld_path) \
        "$nsd" -d -c "$work/nsd.conf" >> "$work/nsd.log" 2>&1 &
    pid=$!
}
nsd_serving() { grep -q 'nsd started' "$work/nsd.log"; }
start_on_free_port "$nsd" "$work/nsd.log" 'address already in use|can.t bind' \
    launch_nsd nsd_serving
nsdport=$port nsdpid=$pid
prove_ours "$nsdpid" "$LIBDIR" libevent-2.1.so.7
# Every nsd process, tracked, so that a failure stops them all.
for p in $(family "$nsdpid"); do [ "$p" = "$nsdpid" ] || track "$p" "$nsd"; done
timeout 60 "$client" dns "$nsdport" 5 > "$work/nsd-check.out" 2>&1 ||
    die "nsd itself does not answer right: $(cat "$work/nsd-check.out")"
say "nsd PID $nsdpid answers right on 127.0.0.1:$nsdport"

# The recursive stand-in.
launch_responder() {
    : > "$work/responder.log"
    (unset LD_PRELOAD; exec "$py" "$work/dns.py" responder "$1" "$work/recursive.queries") \
        >> "$work/responder.log" 2>&1 &
    pid=$!
}
responder_ready() { grep -qx "ready $1" "$work/responder.log"; }
start_on_free_port "$py" "$work/responder.log" 'address already in use' \
    launch_responder responder_ready
recport=$port
say "recursive stand-in PID $pid on 127.0.0.1:$recport"

# dnsproxy.  As root: chroot to an empty directory, run as nobody.
privs=
if [ "$(id -u)" = 0 ]; then
    mkdir "$work/root"
    privs="chroot $work/root
user nobody"
fi
launch_proxy() {
    answer_port=$("${FREE_PORT[@]}")
    cat > "$work/dnsproxy.conf" <<CONF
authoritative 127.0.0.1
authoritative-port $nsdport
authoritative-timeout 1
recursive 127.0.0.1
recursive-port $recport
recursive-timeout 2
listen 127.0.0.1
port $1
listen_answer 127.0.0.1
port_answer $answer_port
statistics 1
internal 127.0.0.1
$privs
CONF
    LD_LIBRARY_PATH=$(ours_ld_path) \
        "$dnsproxy" -c "$work/dnsproxy.conf" > "$work/dnsproxy.log" 2>&1 &
    pid=$!
    started=$SECONDS
}
# udp_bound PORT...: $pid holds UDP sockets bound to 127.0.0.1:PORT.
udp_bound() {
    local p inodes inode fd found
    for p in "$@"; do
        found=0
        inodes=$(awk -v a="$(printf '0100007F:%04X' "$p")" '$2 == a { print $10 }' /proc/net/udp)
        for inode in $inodes; do
            for fd in "/proc/$pid/fd"/*; do
                [ "$(readlink "$fd" 2>/dev/null)" = "socket:[$inode]" ] && found=1
            done
        done
        [ "$found" = 1 ] || return 1
    done
}
proxy_ready() { udp_bound "$1" "$answer_port"; }
start_on_free_port "$dnsproxy" "$work/dnsproxy.log" 'unable to bind socket' \
    launch_proxy proxy_ready
dpid=$pid dport=$port
say "dnsproxy PID $dpid on 127.0.0.1:$dport (answers on port $answer_port)"
prove_ours "$dpid" "$LIBDIR" libevent-2.1.so.7
if [ -n "$privs" ]; then
    for _ in $(seq 50); do
        [ "$(readlink "/proc/$dpid/root")" = "$work/root" ] && break
        sleep 0.1
    done
    [ "$(readlink "/proc/$dpid/root")" = "$work/root" ] ||
        die "dnsproxy did not chroot to $work/root"
    uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$dpid/status")
    u=$(id -u nobody)
    [ "$uids" = "$u $u $u $u" ] || die "dnsproxy runs with uids $uids, not nobody's ($u)"
    say "dnsproxy runs as nobody, chrooted to $work/root"
fi

# What the statistics must show, summed from the clients' "counts" lines
# (all queries, authoritative, recursive, answered, timed out, late).
total=(0 0 0 0 0 0)
client_run() {
    local what=$1 out c i
    shift
    out=$(pyrun "$@" 2>&1) || die "$what: ${out:-python3 failed}"
    read -r -a c <<< "$(grep '^counts ' <<< "$out")"
    [ "${#c[@]}" = 7 ] || die "$what: no counts in '$out'"
    for i in 0 1 2 3 4 5; do total[i]=$((total[i] + c[i + 1])); done
    say "$what: ok (${c[1]} queries, ${c[4]} answered)"
}
# The last complete statistics block of dnsproxy.log as one line:
# ActiveQr AuthorQr RecursQr AllQuery Answered TimeoutQ DroppedQ
# DroppedA LateAnsw HashColl.
last_stats() {
    head -n "$(wc -l < "$work/dnsproxy.log")" "$work/dnsproxy.log" | awk '
        /^ActiveQr/ { if ((getline l) > 0) { a = l; h = 1 }; next }
        /^TimeoutQ/ { if (h && (getline l) > 0) { s = a " " l; $0 = s; $1 = $1; last = $0 }; h = 0 }
        END { print last }'
}
expect_stats() {
    local want="0 ${total[1]} ${total[2]} ${total[0]} ${total[3]} ${total[4]} 0 0 ${total[5]} 0"
    local got=
    for _ in $(seq 60); do
        got=$(last_stats)
        [ "$got" = "$want" ] && break
        sleep 0.1
    done
    [ "$got" = "$want" ] || die "statistics after $1: got '$got', expected '$want'
  (ActiveQr AuthorQr RecursQr AllQuery Answered TimeoutQ DroppedQ DroppedA LateAnsw HashColl)"
    say "statistics after $1: $got"
}

client_run "exact answers" exact "$dport" "$nsdport"
client_run "8 sockets x 16 queries in flight" burst "$dport" "$nsdport" 8 16
expect_stats "the answered queries"
client_run "timeouts" timeouts "$dport" "$nsdport"
expect_stats "the timeouts"
if [ "${total[4]}" != 15 ] || [ "${total[5]}" != 4 ]; then die "counts: ${total[*]}"; fi

# The recursive stand-in saw exactly the RD queries, the silent ones too.
rq=$work/recursive.queries
[ "$(wc -l < "$rq")" = "${total[2]}" ] ||
    die "the recursive server got $(wc -l < "$rq") queries, expected ${total[2]}"
! grep -qv ' rd=1$' "$rq" || die "a query without RD reached the recursive server"
if [ "$(grep -c '^drop' "$rq")" != 6 ] || [ "$(grep -c '^late' "$rq")" != 4 ]; then
    die "the recursive server did not get the 6 drop and 4 late queries"
fi

# The statistics timer fires once a second (event_add from its callback).
blocks=$(grep -c '^ActiveQr' "$work/dnsproxy.log" || true)
elapsed=$((SECONDS - started))
if [ "$blocks" -lt $((elapsed - 2)) ] || [ "$blocks" -gt $((elapsed + 1)) ]; then
    die "$blocks statistics blocks in $elapsed s"
fi
say "$blocks statistics blocks in about $elapsed s"

# SIGTERM: dnsproxy's signal callback calls event_loopexit, then
# fatal(), which logs and exits with status 1 on any libevent.
kill -TERM "$dpid"
for _ in $(seq 100); do is_ours "$dpid" "$dnsproxy" || break; sleep 0.1; done
is_ours "$dpid" "$dnsproxy" && die "dnsproxy still runs 10 s after SIGTERM"
status=0
wait "$dpid" || status=$?
[ "$status" = 1 ] || die "dnsproxy exited with status $status after SIGTERM, expected 1"
grep -qx 'exiting on signal 15' "$work/dnsproxy.log" ||
    die "dnsproxy did not log 'exiting on signal 15'"
say "SIGTERM: dnsproxy logged 'exiting on signal 15' and exited with status 1"

# SIGTERM: every nsd process ends, the one we started with status 0.
term_family "$nsdpid" "$nsd"

for f in dnsproxy nsd; do
    ! grep -qE 'AddressSanitizer|runtime error:' "$work/$f.log" ||
        die "sanitizer report in $f.log"
done
# Nothing but statistics and the final message: no send or receive error.
other=$(grep -vE '^(ActiveQr AuthorQr .*|TimeoutQ DroppedQ .*|[ 0-9]+|exiting on signal 15)$' \
        "$work/dnsproxy.log" || true)
[ -z "$other" ] || die "dnsproxy logged: $(head -n 5 <<< "$other")"
say "ok"

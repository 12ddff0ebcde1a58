#!/usr/bin/env bash
# Runs Debian's unmodified /usr/sbin/bitlbee (the IRC gateway to chat
# networks, built with its libevent event loop) on OUR libevent-2.1.so.7
# and talks IRC to it over 127.0.0.1 with a small python3 client.
#
#   bitlbee.sh CLIENT LIBDIR    CLIENT: programs-client, for free ports
#
# bitlbee drives everything through the old libevent API: event_init,
# event_set/event_add/event_del of persistent read and write events, one
# per client socket and per signal pipe, one-shot timers it re-adds from
# their callbacks (the per-client ping timer), event_base_loopexit with a
# zero timeout to stop, and event_base_dispatch in a loop; it reads
# ev_fd and ev_events straight out of struct event.  In ForkDaemon mode
# each client gets a forked child that calls event_init again, leaves
# the inherited loop with event_base_loopexit and dispatches the new one.
# Installs bitlbee with apt-get when missing (its service is never
# started; skipped when it cannot be installed: no issue names it).
# The daemon runs twice, in Daemon mode (-D, all clients in one process)
# and in ForkDaemon mode (-F), each time with a private configuration on
# a free port, and drops root for nobody by its own User setting.  Proves
# from /proc/PID/maps that it (and a forked child) mapped our libevent,
# then checks, with exact transcripts: registration (001-005, MOTD, the
# auto-join of &bitlbee with topic, names and root's greeting);
# register (the account file appears), save, a wrong then the right
# identify, set, help and unknown commands; 10 clients registering at
# once, each with its own account and 20 pipelined PINGs; an overlong
# line (ERROR), a 256 kB flood, garbage lines and abrupt disconnects
# mid-line beside an observer that stays answered exactly; the ping timer
# (PingInterval 2 s, PingTimeOut 3 s: an idle client gets one PING, then
# the Ping Timeout ERROR); QUIT's ERROR line; that SIGTERM ends the
# daemon with status 0, closing a client still connected with the
# shutdown ERROR (in ForkDaemon mode the master exits with status 0 and
# leaves the client's child running, as bitlbee always does; that child
# is then ended by its own SIGTERM).  Bounded in time; signals only the
# processes it started, by PID.
set -euo pipefail
PROG=bitlbee.sh
. "$(dirname "$0")/programs-lib.sh"

client=${1:?usage: bitlbee.sh CLIENT LIBDIR}
LIBDIR=$(cd "${2:?usage: bitlbee.sh CLIENT LIBDIR}" && pwd -P)
bitlbee=/usr/sbin/bitlbee
need_program "$bitlbee" bitlbee libevent-2.1.so.7 optional
need_tool python3 python3
start_work bitlbee
# In an ASan build ctest preloads the ASan runtime: only bitlbee, the
# program on our instrumented library, keeps it; python3 runs without.
preload=${LD_PRELOAD-}
unset LD_PRELOAD
version=$("$bitlbee" -V || true)    # -V exits with status 1
version=$(echo "$version" | sed -n '1s/^BitlBee //p')
[ -n "$version" ] || die "bitlbee -V printed no version"

# As root, bitlbee binds its port, then becomes $user (User setting);
# the account directories must be that user's.
user_line=
if [ "$(id -u)" = 0 ]; then
    id -u nobody > /dev/null 2>&1 || skip "no user nobody to drop root for"
    user_line="User = nobody"
    chmod 711 "$work"
fi
mkdir "$work/plugins"    # no plugin from the system
printf '%s\n' 'bitlbee.sh test motd' 'a second line' > "$work/motd.txt"
chmod 644 "$work/motd.txt"

cat > "$work/irc.py" <<'PY'
import os, re, socket, struct, sys, threading, time

# argv: MODE PORT VERSION ...; the server calls itself H (HostName), the
# client's host is what getnameinfo makes of 127.0.0.1, as bitlbee does.
mode, port, version = sys.argv[1], int(sys.argv[2]), sys.argv[3]
args = sys.argv[4:]
H = "bitlbee.test"
U = socket.getnameinfo(("127.0.0.1", 0), 0)[0]
PING = b"PING :PinglBee"
MOTD = ["bitlbee.sh test motd", "a second line"]


class Fail(Exception):
    pass


def show(x):
    return repr(x)[:300]


class Irc:
    """One client.  Lines come back without CRLF; the server's PINGs are
    answered (and counted) unless answer_pings is False."""

    def __init__(self, nick, answer_pings=True, timeout=10):
        self.nick, self.answer_pings, self.timeout = nick, answer_pings, timeout
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.t0 = time.monotonic()
        self.buf, self.eof, self.pings, self.n = b"", False, 0, 0
        self.expect("greeting", [":%s NOTICE * :BitlBee-IRCd initialized, please go on" % H])

    def send(self, data):
        self.s.sendall(data if isinstance(data, bytes) else data.encode() + b"\r\n")

    def line(self):
        """The next line, or None at EOF (a reset counts as EOF)."""
        deadline = time.monotonic() + self.timeout
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                l, self.buf = self.buf[:i], self.buf[i + 2:]
                if b"\n" in l or b"\r" in l:
                    raise Fail("%s: a line with a stray CR or LF: %s" % (self.nick, show(l)))
                if l == PING and self.answer_pings:
                    self.pings += 1
                    self.send("PONG :PinglBee")
                    continue
                return l.decode("utf-8", "replace")
            if self.eof:
                if self.buf:
                    raise Fail("%s: unterminated data before EOF: %s" % (self.nick, show(self.buf)))
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail("%s: nothing for %d s (have %s)" % (self.nick, self.timeout, show(self.buf)))
            self.s.settimeout(left)
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                d = b""
            if not d:
                self.eof = True
            self.buf += d

    def lines(self, n):
        return [self.line() for _ in range(n)]

    def expect(self, what, want, got=None):
        if got is None:
            got = self.lines(len(want))
        for k, (g, w) in enumerate(zip(got, want)):
            ok = w.fullmatch(g or "") if isinstance(w, re.Pattern) else g == w
            if not ok:
                raise Fail("%s, %s, line %d: got %s, expected %s" % (self.nick, what, k + 1, show(g), show(w)))
        if len(got) != len(want):
            raise Fail("%s, %s: got %d lines, expected %d: %s" % (self.nick, what, len(got), len(want), show(got)))
        return got

    def sync(self):
        """Everything the server sent until the answer to our own PING."""
        self.n += 1
        tag = "sync-%s-%d" % (self.nick, self.n)
        self.send("PING :" + tag)
        got = []
        while True:
            l = self.line()
            if l is None:
                raise Fail("%s: EOF before PONG %s, after %s" % (self.nick, tag, show(got)))
            if l == ":%s PONG %s :%s" % (H, H, tag):
                return got
            got.append(l)

    def register(self):
        n = self.nick
        self.send("NICK %s\r\nUSER %s 0 * :Test %s" % (n, n, n))
        now = int(time.time())
        got = self.sync()
        want = welcome(n)
        self.expect("registration", want, got)
        k = [isinstance(w, re.Pattern) for w in want].index(True)
        if abs(int(got[k].split()[-1]) - now) > 5:
            raise Fail("%s: the topic was not set now: %s" % (n, show(got[k])))

    def cmd(self, text, want, late=False):
        """Send text to root; the answer must be want.  late: part of it
        may come after our PING's PONG (in ForkDaemon mode, identify asks
        the master about other sessions of that nick first)."""
        self.send("PRIVMSG &bitlbee :" + text)
        want = [w if w.startswith(":") else root(w) for w in want]
        got = self.sync()
        if late:
            while len(got) < len(want):
                l = self.line()
                if l is None:
                    break
                got.append(l)
            got += self.sync()
        return self.expect("'%s'" % text, want, got)

    def quit(self, msg):
        self.send("QUIT :" + msg)
        self.expect("QUIT", ["ERROR :Closing link: Quit: " + msg, None])
        self.s.close()


def root(msg):
    return ":root!root@%s PRIVMSG &bitlbee :%s" % (H, msg)


def welcome(n):
    me = "%s!%s@%s" % (n, n, U)
    return [
        ":%s 001 %s :Welcome to the BitlBee gateway, %s" % (H, n, n),
        ":%s 002 %s :Host %s is running BitlBee %s." % (H, n, H, version),
        ":%s 003 %s :BitlBee <http://www.bitlbee.org/>" % (H, n),
        ":%s 004 %s %s %s abiswRo ntC" % (H, n, H, version),
        ":%s 005 %s PREFIX=(ohv)@%%+ CHANTYPES=&# CHANMODES=,,,ntC NICKLEN=23 "
        "CHANNELLEN=23 NETWORK=BitlBee SAFELIST CASEMAPPING=rfc1459 MAXTARGETS=1 "
        "WATCH=128 FLOOD=0/9999 :are supported by this server" % (H, n),
        ":%s 375 %s :- %s Message Of The Day - " % (H, n, H),
    ] + [":%s 372 %s :- %s" % (H, n, l) for l in MOTD] + [
        ":%s 376 %s :End of MOTD" % (H, n),
        ":%s MODE %s :+s" % (me, n),
        ":%s JOIN :&bitlbee" % me,
        ":%s 332 %s &bitlbee :Welcome to the control channel. Type \x02help\x02 for help information." % (H, n),
        re.compile(r":%s 333 %s &bitlbee root!root@%s \d+" % (re.escape(H), n, re.escape(H))),
        ":%s 353 %s = &bitlbee :%s " % (H, n, " ".join(sorted(["@root", "@" + n]))),
        ":%s 366 %s &bitlbee :End of /NAMES list" % (H, n),
        root("Welcome to the BitlBee gateway!"),
        root(" "),
        root("Running BitlBee " + version),
        root(" "),
        root("If you've never used BitlBee before, please do read the help information "
             "using the \x02help\x02 command. Lots of FAQs are answered there."),
        root("If you already have an account on this server, just use the \x02identify\x02 "
             "command to identify yourself."),
    ]


B = "\x02"
HELP = [
    "These are the available help subjects:", " ",
    " %squickstart%s - A short introduction into BitlBee" % (B, B),
    " %scommands%s - All available commands and settings" % (B, B),
    " %schannels%s - About creating and customizing channels" % (B, B),
    " %saway%s - About setting away states" % (B, B),
    " %sgroupchats%s - How to work with groupchats on BitlBee" % (B, B),
    " %snick_changes%s - Changing your nickname without losing any settings" % (B, B),
    " %sidentify_methods%s - A list of ways to (auto-)identify to your account" % (B, B),
    " ", "You can read more about them with %shelp <subject>%s" % (B, B), " ",
    "Some more help can be found on http://wiki.bitlbee.org/. Bugs can be reported at http://bugs.bitlbee.org/.",
    " ",
    "For other things than bug reports, you can join %s#BitlBee%s on OFTC (%sirc.oftc.net%s) "
    "(OFTC, *not* freenode!) and flame us right in the face. :-)" % (B, B, B, B),
]
UNKNOWN = "Unknown command: %s. Please use " + B + "help commands" + B + " to get a list of available commands."
CHARSET = ("Error: Charset mismatch detected. The charset setting is currently set to utf-8, so please "
           "make sure your IRC client will send and accept text in that charset, or tell BitlBee which "
           "charset to expect by changing the charset setting. See `help set charset' for more "
           "information. Your message was ignored.")


def saved(cfgdir, nick, *want):
    """NICK.xml in cfgdir holds each of want."""
    try:
        with open(os.path.join(cfgdir, nick + ".xml")) as f:
            text = f.read()
    except OSError as e:
        raise Fail("no account file for %s: %s" % (nick, e))
    for w in want:
        if w not in text:
            raise Fail("%s.xml lacks %s: %s" % (nick, show(w), show(text)))


def account(cfgdir):
    """register creates the account file; a second connection identifies
    (a wrong password first), finds its saved setting, asks for help."""
    a = Irc("alice")
    a.register()
    plus_r = ":alice!alice@%s MODE alice :+R" % U
    a.cmd("identify secret1", ["The nick is (probably) not registered"])
    a.cmd("register secret1", ["Account successfully created", plus_r])
    saved(cfgdir, "alice", 'nick="alice"')
    a.cmd("register secret2", ["Error registering"])
    a.cmd("set display_timestamps false", ["display_timestamps = `false'"])
    a.cmd("save", ["Configuration saved"])
    saved(cfgdir, "alice", '<setting name="display_timestamps">false</setting>')
    a.quit("alice leaves")
    b = Irc("alice")
    b.register()
    b.cmd("set display_timestamps", ["display_timestamps = `true'"])
    b.cmd("identify secret2", ["Incorrect password"])
    b.cmd("identify secret1", ["Password accepted, settings and accounts loaded", plus_r,
                               "No accounts known. Use `account add' to add one."], late=True)
    b.cmd("identify secret1", ["You're already logged in."])
    b.cmd("set display_timestamps", ["display_timestamps = `false'"])
    b.cmd("set nosuch", ["Setting `nosuch' does not exist.",
                         "It might be an account or channel setting. See %shelp account set%s "
                         "and %shelp channel set%s." % (B, B, B, B)])
    b.cmd("help", HELP)
    b.cmd("blah", [UNKNOWN % "blah"])
    b.cmd("account list", ["End of account list"])
    b.quit("alice again")
    print("account: register, save, wrong and right identify, set, help: ok")


def concurrent(cfgdir, n):
    """n clients register at once and each has a conversation with root."""
    n = int(n)
    barrier = threading.Barrier(n, timeout=15)
    errors = []

    def client(k):
        try:
            nick = "user%d" % k
            c = Irc(nick)
            barrier.wait()
            c.register()
            c.cmd("register pw%d" % k, ["Account successfully created", ":%s!%s@%s MODE %s :+R" % (nick, nick, U, nick)])
            c.cmd("set paste_buffer_delay %d" % (1000 + k), ["paste_buffer_delay = `%d'" % (1000 + k)])
            c.cmd("help", HELP)
            for i in range(20):
                c.send("PING :%s-%d" % (nick, i))
            c.expect("20 PINGs", [":%s PONG %s :%s-%d" % (H, H, nick, i) for i in range(20)])
            c.cmd("set paste_buffer_delay", ["paste_buffer_delay = `%d'" % (1000 + k)])
            c.quit("bye %d" % k)
            saved(cfgdir, nick, 'nick="%s"' % nick,
                  '<setting name="paste_buffer_delay">%d</setting>' % (1000 + k))
        except (Fail, OSError, threading.BrokenBarrierError) as e:
            errors.append("client %d: %s" % (k, e))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(1, n + 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors or any(t.is_alive() for t in threads):
        raise Fail("%d of %d clients failed: %s" % (len(errors), n, "; ".join(errors)))
    print("concurrent: %d of %d clients registered and answered exactly" % (n, n))


def abuse():
    """Clients that send overlong lines, floods, garbage or vanish
    mid-line; an observer connected all along is answered exactly."""
    o = Irc("observer")
    o.register()
    o.cmd("help", HELP)
    # One byte over bitlbee's 1024-byte limit, without a line end.
    l = Irc("longline")
    l.register()
    l.send(b"y" * 1025)
    l.expect("overlong line", ["ERROR :Closing link: Maximum line length exceeded", None])
    o.cmd("blah1", [UNKNOWN % "blah1"])
    # 256 kB without a line end before registering: bitlbee hangs up
    # (with a reset: the rest is unread).
    f = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        f.sendall(b"NICK flood\r\nUSER flood 0 * :f\r\n" + b"z" * 262144)
    except OSError:
        pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if not f.recv(65536):
                break
        except socket.timeout:
            continue
        except OSError:
            break
    else:
        raise Fail("a flood of 256 kB did not end its connection in 10 s")
    f.close()
    # Garbage: unknown and truncated commands, bytes that are not UTF-8,
    # control characters, empty lines, bare LFs, a lone prefix.
    g = Irc("garbage")
    g.register()
    g.send(b"FOOBAR x\r\n\xff\xfe garbage\x01\x7f\r\n\r\n\n\n  \r\nPRIVMSG &bitlbee :caf\xe9\r\n"
           b":prefix.only\r\nPRIVMSG\r\nNICK\r\n")
    g.expect("garbage", [":%s 421 garbage FOOBAR :Unknown command" % H, root(CHARSET), root(CHARSET),
                         ":%s 461 garbage PRIVMSG :Need more parameters" % H,
                         ":%s 461 garbage NICK :Need more parameters" % H], g.sync())
    g.cmd("blah2", [UNKNOWN % "blah2"])
    g.quit("garbage done")
    o.cmd("help", HELP)
    # Gone mid-line: one with a reset after half a command, one with a
    # plain close before even finishing NICK.
    m = Irc("abrupt")
    m.register()
    m.send(b"PRIVMSG &bitlbee :hel")
    m.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    m.s.close()
    h = socket.create_connection(("127.0.0.1", port), timeout=10)
    h.sendall(b"NICK hal")
    h.close()
    o.cmd("blah3", [UNKNOWN % "blah3"])
    if o.sync():
        raise Fail("the observer got unexpected lines")
    after = Irc("after")
    after.register()
    after.quit("after")
    o.cmd("help", HELP)
    o.quit("observer done")
    print("abuse: overlong line, flood, garbage, abrupt disconnects; observer answered exactly: ok")


def idle():
    """A client that never answers PING: one PING after PingInterval (2 s),
    then dropped on the next tick, past PingTimeOut (3 s)."""
    c = Irc("sleepy", answer_pings=False, timeout=12)
    c.register()
    got, at = [], []
    while True:
        l = c.line()
        got.append(l)
        at.append(time.monotonic() - c.t0)
        if l is None or len(got) > 3:
            break
    c.expect("idle client", [PING.decode(), re.compile(r"ERROR :Closing link: Ping Timeout: [3-6] seconds"), None], got)
    if not (1.9 <= at[0] <= 4.5 and 2.9 <= at[1] <= 8):
        raise Fail("PING came after %.2f s (PingInterval 2), ERROR after %.2f s (PingTimeOut 3)" % (at[0], at[1]))
    print("idle: PING after %.2f s, '%s' after %.2f s: ok" % (at[0], got[1], at[1]))


def hold(ready):
    """Connected when SIGTERM comes: the shutdown message, then EOF."""
    c = Irc("holder", timeout=25)
    c.register()
    if c.sync():
        raise Fail("unexpected lines")
    open(ready, "w").close()
    c.expect("shutdown", ["", "ERROR :Closing link: BitlBee server shutting down", None])
    print("hold: closed at shutdown with the expected ERROR (answered %d PINGs): ok" % c.pings)


def main():
    modes = {"account": account, "concurrent": concurrent, "abuse": abuse, "idle": idle, "hold": hold}
    try:
        modes[mode](*args)
    except (Fail, OSError) as e:
        print("%s: FAIL: %s" % (mode, e), file=sys.stderr)
        sys.exit(1)


main()
PY

# listening PORT: bitlbee ($pid) holds the socket listening on
# 127.0.0.1:PORT (seen without connecting, which would make a client).
listening() {
    local inode fd
    inode=$(awk -v a="0100007F:$(printf '%04X' "$1")" '$2 == a && $4 == "0A" { print $10; exit }' /proc/net/tcp)
    [ -n "$inode" ] || return 1
    for fd in "/proc/$pid/fd"/*; do
        [ "$(readlink "$fd" 2>/dev/null)" = "socket:[$inode]" ] && return 0
    done
    return 1
}
irc() {
    local what=$1
    shift
    timeout 60 python3 "$work/irc.py" "$what" "$port" "$version" "$@" \
        > "$work/$what-$mode.out" 2>&1 &
    track "$!" "$(command -v timeout)"
    cpid[$what]=$!
}
# done_irc WHAT: the client WHAT succeeded; print its verdict.
done_irc() {
    local rc=0
    wait "${cpid[$1]}" || rc=$?
    [ "$rc" = 0 ] || die "$mode, $1 client (status $rc): $(tail -c 1500 "$work/$1-$mode.out")"
    sed "s/^/  /" "$work/$1-$mode.out"
}
no_sanitizer_report() {
    ! grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$log" ||
        die "$mode: a sanitizer report in bitlbee's output"
}

# run_mode MODE FLAG: start bitlbee (-D or -F) and run every client.
declare -A cpid
FREE_PORT=("$client" free-port)
run_mode() {
    mode=$1 flag=$2
    local started cfg=$work/cfg-$mode pidfile=$work/bitlbee-$mode.pid conf=$work/bitlbee-$mode.conf
    log=$work/bitlbee-$mode.log
    started=$(date +%s%N)
    mkdir "$cfg"
    [ -z "$user_line" ] || chown nobody "$cfg"
    launch() {
        cat > "$conf" <<CONF
[settings]
$user_line
DaemonInterface = 127.0.0.1
DaemonPort = $1
ConfigDir = $cfg
PidFile = $pidfile
PluginDir = $work/plugins
MotdFile = $work/motd.txt
HostName = bitlbee.test
AuthMode = Open
PingInterval = 2
PingTimeOut = 3
[defaults]
CONF
        : > "$log"
        # -n: no detaching, so that $! is the daemon itself.
        LD_LIBRARY_PATH=$(ours_ld_path) LD_PRELOAD=$preload \
            "$bitlbee" "$flag" -n -c "$conf" > "$log" 2>&1 &
        pid=$!
    }
    start_on_free_port "$bitlbee" "$log" 'Address already in use' launch listening
    bpid=$pid
    say "$mode: bitlbee $flag PID $bpid on 127.0.0.1:$port"
    prove_ours "$bpid" "$LIBDIR" libevent-2.1.so.7
    case $preload in
        *libasan*) grep -q '/libasan' "/proc/$bpid/maps" || die "$mode: bitlbee did not map the preloaded ASan runtime" ;;
    esac
    [ "$(cat "$pidfile" 2>/dev/null)" = "$bpid" ] || die "$mode: PidFile holds '$(cat "$pidfile" 2>/dev/null)', not $bpid"
    if [ -n "$user_line" ]; then
        [ "$(awk '/^Uid:/ {print $2}' "/proc/$bpid/status")" = "$(id -u nobody)" ] ||
            die "$mode: bitlbee did not become nobody"
    fi

    irc idle
    irc hold "$work/ready-$mode"
    irc account "$cfg"
    irc concurrent "$cfg" 10
    irc abuse
    done_irc account
    done_irc concurrent
    done_irc abuse
    done_irc idle
    [ "$(find "$cfg" -name '*.xml' | wc -l)" = 11 ] ||
        die "$mode: $(find "$cfg" -name '*.xml' | wc -l) account files, not 11: $(ls "$cfg")"
    for _ in $(seq 100); do [ -e "$work/ready-$mode" ] && break; sleep 0.1; done
    [ -e "$work/ready-$mode" ] || die "$mode: the holding client did not register"
    is_ours "$bpid" "$bitlbee" || die "$mode: bitlbee died"
    no_sanitizer_report

    if [ "$flag" = -D ]; then
        signal_exit "$bpid" "$bitlbee" TERM
    else
        # Every client but the holder is gone: so is its child.
        local kids=() kid
        for _ in $(seq 100); do
            mapfile -t kids < <(children_of "$bpid")
            [ "${#kids[@]}" = 1 ] && break
            sleep 0.1
        done
        [ "${#kids[@]}" = 1 ] || die "$mode: bitlbee children left: '${kids[*]}', expected the holder's only"
        kid=${kids[0]}
        track "$kid" "$bitlbee"
        prove_ours "$kid" "$LIBDIR" libevent-2.1.so.7
        signal_exit "$bpid" "$bitlbee" TERM
        is_ours "$kid" "$bitlbee" || die "$mode: the holder's child ended with the master"
        kill -TERM "$kid"
        for _ in $(seq 100); do is_ours "$kid" "$bitlbee" || break; sleep 0.1; done
        ! is_ours "$kid" "$bitlbee" || die "$mode: a child still runs 10 s after SIGTERM"
    fi
    done_irc hold
    no_sanitizer_report
    [ ! -s "$log" ] || { cat "$log" >&2; die "$mode: bitlbee wrote the above"; }
    say "$mode: ok in $(( ($(date +%s%N) - started) / 1000000 )) ms"
}

run_mode daemon -D
run_mode forkdaemon -F
say "ok"

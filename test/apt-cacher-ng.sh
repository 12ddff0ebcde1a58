#!/usr/bin/env bash
# Runs Debian's unmodified /usr/sbin/apt-cacher-ng (the caching proxy for
# package repositories) on OUR libevent-2.1.so.7 and
# libevent_pthreads-2.1.so.7, in front of a fake Debian repository served
# on 127.0.0.1 by a small python3 http.server, and fetches through it
# with curl.
#
#   apt-cacher-ng.sh CLIENT LIBDIR    CLIENT: programs-client (unused:
#                                     see the note on ports below)
#
# apt-cacher-ng (through libsupacng.so) turns on libevent's pthreads
# locking, accepts on the event base of its main thread, and serves each
# client connection, with its downloads, in a thread of its own; those
# threads re-arm a timer event of the main base (event_add from another
# thread: libevent's locks and the wake-up of the loop).  At SIGTERM it
# breaks the loop, walks the base's events (event_base_foreach_event,
# event_get_assignment), frees them and calls libevent_global_shutdown.
# Installs apt-cacher-ng when missing (its service is never started;
# skipped when it cannot be installed).  Runs it in the foreground with a
# private configuration directory (cache, logs and UNIX socket in a
# temporary directory, no Remap rule, no internet) on free loopback
# ports, and proves from /proc/PID/maps that it mapped both our libraries
# and no other libevent.  Checks, byte for byte against the
# origin's files: index files and a .deb through the proxy, the .deb again
# from the cache (the origin saw one GET; the cached copy is identical),
# 12 different .debs fetched at once (one GET each), a 5 MB .deb, 6
# clients at once on one slowly served .deb (stored once), a 404 of the
# origin passed on as a 404 and not cached, the report page
# acng-report.html and its count of the transfer log (24 requests),
# clients that disconnect in the middle of downloads (3 of a .deb still
# coming from the origin, 3 of one from the cache) followed by 9 more
# downloads, 8 of them at once, and that SIGTERM ends apt-cacher-ng with
# status 0, after which its transfer log must list each file's downloads
# and answers exactly.  Bounded in time; signals only the processes it
# started, by PID.
#
# Ports: apt-cacher-ng 3.7.4 formats a TCP port as a signed 16-bit number
# (port 55931 becomes the service "-9605": "Error resolving address for
# binding"; an origin on such a port is connected on a wrong one), on
# Debian's libevent as on ours.  Both ports are therefore taken below
# 32768 and below the kernel's ephemeral range, where no outgoing
# connection takes one, instead of from programs-client free-port.
set -euo pipefail
PROG=apt-cacher-ng.sh
. "$(dirname "$0")/programs-lib.sh"

client=${1:?usage: apt-cacher-ng.sh CLIENT LIBDIR}
: "$client"    # for the common usage: its free ports do not suit (see above)
LIBDIR=$(cd "${2:?usage: apt-cacher-ng.sh CLIENT LIBDIR}" && pwd -P)
acng=/usr/sbin/apt-cacher-ng
need_program "$acng" apt-cacher-ng libevent-2.1.so.7 optional
# The program's libevent work is in its own shared library.
supa=$(dpkg -L apt-cacher-ng 2>/dev/null | grep '/libsupacng\.so$' | head -n 1) || true
{ [ -n "$supa" ] && [ -e "$supa" ]; } || die "libsupacng.so of apt-cacher-ng not found"
[ -e "$LIBDIR/libevent_pthreads-2.1.so.7" ] || die "$LIBDIR/libevent_pthreads-2.1.so.7 not found"
check_exports "$supa" "$LIBDIR" libevent-2.1.so.7 optional
check_exports "$supa" "$LIBDIR" libevent_pthreads-2.1.so.7 optional
# In an ASan build ctest preloads the ASan runtime: only apt-cacher-ng,
# the program on our instrumented library, gets it; curl and python3 run
# without.
preload=${LD_PRELOAD-}
unset LD_PRELOAD
# The interpreter itself (python3 may be a wrapper script), so that $! is
# the origin server.
need_tool python3 python3
python=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))' 2>/dev/null) ||
    skip "python3 is needed for the origin server"
[ -x "$python" ] || skip "python3 is needed for the origin server"
need_tool curl curl
start_work apt-cacher-ng
log=$work/acng.log
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

read -r eph_lo _ < /proc/sys/net/ipv4/ip_local_port_range
hi=32767
[ "$eph_lo" -le "$hi" ] && hi=$((eph_lo - 1))
[ "$hi" -ge 12000 ] || skip "no port range below 32768 outside the ephemeral ports ($eph_lo)"
low_port() {
    local p
    for _ in $(seq 50); do
        p=$((10000 + (RANDOM * 32768 + RANDOM) % (hi - 10000)))
        tcp_accepts "$p" || { echo "$p"; return 0; }
    done
    echo 0
}
FREE_PORT=(low_port)

# The fake repository: index files, .debs of random bytes, and under
# pool/main/s/ the ones the origin sends slowly (64 kB every 20 ms).
repo=$work/repo
mkdir -p "$repo/dists/test/main/binary-amd64" "$repo/pool/main/f/foo" \
    "$repo/pool/main/b/big" "$repo/pool/main/c/conc" "$repo/pool/main/s/slow"
debs=()
mkdeb() {    # mkdeb PATH SIZE
    head -c "$2" /dev/urandom > "$repo/$1"
    debs+=("$1")
}
mkdeb pool/main/f/foo/foo_1.0_amd64.deb 100000
mkdeb pool/main/b/big/big_1.0_amd64.deb 5000000
for i in $(seq 12); do
    mkdeb "pool/main/c/conc/conc${i}_1.0_amd64.deb" $(( (i * 7919 * 37) % 300000 + 1 ))
done
mkdeb pool/main/s/slow/shared_1.0_amd64.deb 1000000
mkdeb pool/main/s/slow/slow_1.0_amd64.deb 3000000
for d in "${debs[@]}"; do
    name=$(basename "$d" .deb)
    printf 'Package: %s\nVersion: 1.0\nArchitecture: amd64\nFilename: %s\nSize: %s\nSHA256: %s\n\n' \
        "${name%%_*}" "$d" "$(stat -c %s "$repo/$d")" "$(sha256sum < "$repo/$d" | cut -d' ' -f1)"
done > "$repo/dists/test/main/binary-amd64/Packages"
p=$repo/dists/test/main/binary-amd64/Packages
printf 'Origin: Test\nSuite: test\nCodename: test\nComponents: main\nArchitectures: amd64\nSHA256:\n %s %s main/binary-amd64/Packages\n' \
    "$(sha256sum < "$p" | cut -d' ' -f1)" "$(stat -c %s "$p")" > "$repo/dists/test/Release"

cat > "$work/origin.py" <<'EOF'
import http.server, sys, time
port, root = int(sys.argv[1]), sys.argv[2]
class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=root, **kwargs)
    def copyfile(self, source, outputfile):
        try:
            if "/pool/main/s/" not in self.path:
                return super().copyfile(source, outputfile)
            while True:
                buf = source.read(65536)
                if not buf:
                    break
                outputfile.write(buf)
                outputfile.flush()
                time.sleep(0.02)
        except (BrokenPipeError, ConnectionResetError):
            sys.stderr.write("client went away: %s\n" % self.path)
    def log_message(self, fmt, *args):
        sys.stderr.write((fmt % args) + "\n")
        sys.stderr.flush()
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
EOF
launch_origin() {
    "$python" "$work/origin.py" "$1" "$repo" > "$work/origin.log" 2>&1 &
    pid=$!
}
start_on_free_port "$python" "$work/origin.log" 'address already in use' launch_origin tcp_accepts
oport=$port opid=$pid
say "origin (python3 http.server) PID $opid on 127.0.0.1:$oport"
# From here the origin is stopped on exit, but not by start_on_free_port
# when apt-cacher-ng needs another try.
tracked_pids=() tracked_exes=()
origin_down() {
    local rc=$?
    set +e
    stop_tracked
    track "$opid" "$python"
    (exit "$rc")
    on_exit
}
trap origin_down EXIT

# AllowUserPorts: the origin's port, and 80, the port apt-cacher-ng
# assumes for requests to itself (the report page).
launch_acng() {
    mkdir -p "$work/conf"
    cat > "$work/conf/acng.conf" <<EOF
CacheDir: $work/cache
LogDir: $work/log
SupportDir: /usr/lib/apt-cacher-ng
SocketPath: $work/socket
BindAddress: 127.0.0.1
Port: $1
AllowUserPorts: 80 $oport
ReportPage: acng-report.html
ForeGround: 1
UnbufferLogs: 1
EOF
    LD_LIBRARY_PATH=$(ours_ld_path) env ${preload:+LD_PRELOAD=$preload} \
        "$acng" -c "$work/conf" > "$log" 2>&1 &
    pid=$!
}
start_on_free_port "$acng" "$log" 'is busy|bind' launch_acng tcp_accepts
apid=$pid
tasks=("/proc/$apid/task"/*)
say "apt-cacher-ng PID $apid on 127.0.0.1:$port with ${#tasks[@]} threads"
prove_ours "$apid" "$LIBDIR" libevent-2.1.so.7
prove_ours "$apid" "$LIBDIR" libevent_pthreads-2.1.so.7
if [ -n "$preload" ]; then
    grep -qF "$(readlink -f "$preload")" "/proc/$apid/maps" || die "apt-cacher-ng did not map the preloaded $preload"
fi

url() { echo "http://127.0.0.1:$oport/$1"; }
# fetch PATH OUT: PATH of the origin through the proxy into OUT; prints
# the HTTP status.
fetch() {
    curl -sS --noproxy '' -x "http://127.0.0.1:$port" --max-time 30 \
        -o "$2" -w '%{http_code}' "$(url "$1")"
}
# same PATH OUT: a 200 fetch gave exactly the origin's file.
same() {
    cmp -s "$repo/$1" "$2" ||
        die "$1 through the proxy differs from the origin's ($(stat -c %s "$2" 2>/dev/null || echo no) bytes, not $(stat -c %s "$repo/$1"))"
}
# gets PATH: how many GET requests for PATH the origin answered.
gets() { grep -c "\"GET /$1 HTTP" "$work/origin.log" || true; }
alive() { is_ours "$apid" "$acng" || die "apt-cacher-ng died $1"; }
# fetch_at_once NAME PATH...: fetch every PATH at the same time, the
# K-th into $work/got/NAMEK; sets ok to how many came with status 200
# and byte-identical to the origin's file (each failure is said).
fetch_at_once() {
    local name=$1 i=0 p
    local -a pids=()
    shift
    for p in "$@"; do
        i=$((i + 1))
        (
            code=$(fetch "$p" "$work/got/$name$i") || exit 1
            [ "$code" = 200 ] || { echo "HTTP $code" >&2; exit 1; }
            cmp -s "$repo/$p" "$work/got/$name$i" || { echo "$p differs" >&2; exit 1; }
        ) 2> "$work/$name$i.err" &
        pids[i]=$!
    done
    ok=0
    for i in $(seq $#); do
        if wait "${pids[$i]}"; then
            ok=$((ok + 1))
        else
            say "$name fetch $i failed: $(head -c 200 "$work/$name$i.err")"
        fi
    done
}
# The transfer log (UnbufferLogs: written at once): a line
# "TIME|O|SIZE|CLIENT|127.0.0.1/PATH" for each answer sent to a client,
# "|E|...PATH [HTTP error, code: N]" for an answer that ended in an
# error, "|I|" for each download from the origin, when it ends.
tlog=$work/log/apt-cacher.log
count() {    # count TYPES PATH: the lines of one of TYPES ("O", "OE") for PATH
    grep -cE "^[0-9]+\|[$1]\|[0-9]+\|127\.0\.0\.1\|127\.0\.0\.1/${2//./\\.}( \[.*\])?\$" "$tlog" 2>/dev/null || true
}
mkdir "$work/got"

# Index files and one .deb; the .deb again from the cache.
for f in dists/test/Release dists/test/main/binary-amd64/Packages; do
    code=$(fetch "$f" "$work/got/index") || die "curl failed for $f"
    [ "$code" = 200 ] || die "$f: HTTP $code"
    same "$f" "$work/got/index"
done
foo=pool/main/f/foo/foo_1.0_amd64.deb
code=$(fetch "$foo" "$work/got/foo1") || die "curl failed for $foo"
[ "$code" = 200 ] || die "$foo: HTTP $code"
same "$foo" "$work/got/foo1"
[ "$(gets "$foo")" = 1 ] || die "the origin answered $(gets "$foo") GETs for $foo, not 1"
cached=$work/cache/127.0.0.1/$foo
[ -f "$cached" ] || die "$foo is not in the cache: $(find "$work/cache" -name '*.deb' | head -n 5)"
cmp -s "$repo/$foo" "$cached" || die "the cached $foo differs from the origin's"
code=$(fetch "$foo" "$work/got/foo2") || die "curl failed for $foo, the second time"
[ "$code" = 200 ] || die "$foo, the second time: HTTP $code"
same "$foo" "$work/got/foo2"
[ "$(gets "$foo")" = 1 ] || die "the origin answered $(gets "$foo") GETs for $foo after a cached fetch, not 1"
say "index files and a .deb through the proxy, the .deb again from the cache: ok"

# 12 different .debs at once.
paths=()
for i in $(seq 12); do paths+=("pool/main/c/conc/conc${i}_1.0_amd64.deb"); done
fetch_at_once conc "${paths[@]}"
[ "$ok" = 12 ] || die "$ok of 12 concurrent fetches gave the origin's file"
for i in $(seq 12); do
    n=$(gets "pool/main/c/conc/conc${i}_1.0_amd64.deb")
    [ "$n" = 1 ] || die "the origin answered $n GETs for conc$i, not 1"
done
alive "after 12 concurrent fetches"
say "12 concurrent fetches of different files: 12 byte-identical"

# A 5 MB .deb, twice.
big=pool/main/b/big/big_1.0_amd64.deb
for n in 1 2; do
    code=$(fetch "$big" "$work/got/big") || die "curl failed for $big ($n)"
    [ "$code" = 200 ] || die "$big ($n): HTTP $code"
    same "$big" "$work/got/big"
done
[ "$(gets "$big")" = 1 ] || die "the origin answered $(gets "$big") GETs for $big, not 1"
say "5 MB .deb, from the origin and from the cache: ok"

# 6 clients at once on a .deb the origin sends slowly: they share one
# download.
shared=pool/main/s/slow/shared_1.0_amd64.deb
fetch_at_once shared "$shared" "$shared" "$shared" "$shared" "$shared" "$shared"
[ "$ok" = 6 ] || die "$ok of 6 clients of one slow download got the origin's file"
# Each client's downloader may start its own GET; the first answer makes
# the cache entry, the others are dropped (on Debian's libevent too): the
# transfer log (checked at the end) lists one download from the origin.
n=$(gets "$shared")
{ [ "$n" -ge 1 ] && [ "$n" -le 6 ]; } || die "the origin answered $n GETs for $shared, not 1 to 6"
cmp -s "$repo/$shared" "$work/cache/127.0.0.1/$shared" || die "the cached $shared differs from the origin's"
say "6 clients at once on one slow download: 6 byte-identical ($n GETs at the origin)"

# A 404 of the origin: passed on, not cached.
missing=pool/main/f/foo/missing_1.0_amd64.deb
code=$(fetch "$missing" "$work/got/missing") || die "curl failed for $missing"
[ "$code" = 404 ] || die "$missing: HTTP $code, not 404"
[ "$(gets "$missing")" = 1 ] || die "the origin answered $(gets "$missing") GETs for $missing, not 1"
[ ! -s "$work/cache/127.0.0.1/$missing" ] || die "the 404 for $missing was cached"
say "a 404 from the origin is answered 404: ok"

# The report page, and its count of the transfer log: 24 requests
# answered whole so far (the 404 is not counted), once their lines are
# all in the log.
for _ in $(seq 100); do
    [ "$(grep -c '^[0-9]*|O|' "$tlog")" -ge 24 ] && break
    sleep 0.1
done
report() {
    curl -sS --noproxy '*' --max-time 30 -o "$work/report.html" -w '%{http_code}' \
        "http://127.0.0.1:$port/acng-report.html$1"
}
code=$(report '') || die "curl failed for the report page"
[ "$code" = 200 ] || die "acng-report.html: HTTP $code"
grep -q '<title>Apt-Cacher NG Command And Control Page</title>' "$work/report.html" ||
    die "acng-report.html is not the maintenance page: $(head -c 300 "$work/report.html")"
code=$(report '?doCount=Count+Data') || die "curl failed for the report page's count"
[ "$code" = 200 ] || die "acng-report.html?doCount: HTTP $code"
# The first row of the table: "HITS (P%) MISSES (P%) TOTAL" requests.
row=$(sed -n '/Log analysis/,/Note:/p' "$work/report.html" | sed -e 's/<[^>]*>/ /g; s/&nbsp;/ /g' |
      tr -s ' \n' ' ' | grep -o '[0-9]* ([0-9.]*%) [0-9]* ([0-9.]*%) [0-9]*' | head -n 1) || true
[ "${row##* }" = 24 ] || die "the report page counted '$row' requests (hits, misses, total), not 24 in all"
say "report page and its log count: ok (hits, misses, total requests: $row)"

# Clients that go away in the middle of downloads: 3 on a .deb still
# coming slowly from the origin, 3 on the 5 MB .deb from the cache; each
# reads 128 kB of the answer and closes.
slow=pool/main/s/slow/slow_1.0_amd64.deb
quitter() {    # quitter PATH
    exec 3<> "/dev/tcp/127.0.0.1/$port" || exit 1
    printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$(url "$1")" "$oport" >&3
    timeout 10 head -c 131072 <&3 | wc -c
    exec 3<&-
}
qpids=()
for i in 1 2 3; do
    quitter "$slow" > "$work/quit$i.n" 2> "$work/quit$i.err" &
    qpids+=($!)
    quitter "$big" > "$work/quitbig$i.n" 2> "$work/quitbig$i.err" &
    qpids+=($!)
done
for q in "${qpids[@]}"; do wait "$q" || die "a disconnecting client failed: $(cat "$work"/quit*.err | head -c 300)"; done
for f in "$work"/quit*.n; do
    [ "$(cat "$f")" = 131072 ] || die "a disconnecting client read $(cat "$f") bytes, not 131072"
done
alive "after clients disconnected in the middle of downloads"
# apt-cacher-ng 3.7.4 runs a download in the downloader of the client
# connection that asked first: when that client goes away the download
# is dropped, and the other clients of that file get an error (logged
# "E", 503) once they have had what came so far; a client that asks
# meanwhile too (on Debian's libevent as well: a truncated answer in
# about 1 run of 8).  So wait until the transfer log shows the end of the
# 6 answers that were cut (O or E) and a download of the slow .deb
# (dropped or not).
settled=0
for _ in $(seq 100); do
    if [ "$(count OE "$slow")" = 3 ] && [ "$(count I "$slow")" -ge 1 ] && [ "$(count O "$big")" = 5 ]; then
        settled=1
        break
    fi
    sleep 0.1
done
[ "$settled" = 1 ] ||
    die "after the disconnects the transfer log lists the slow .deb $(count I "$slow") times in, $(count OE "$slow") out (expected 1 or more, 3), the 5 MB .deb $(count O "$big") times out (expected 5)"
slow_in=$(count I "$slow")
# The next downloads: the slow .deb whole, cached files, 8 at once.
code=$(fetch "$slow" "$work/got/slow") || die "curl failed for $slow after the disconnects"
[ "$code" = 200 ] || die "$slow after the disconnects: HTTP $code"
same "$slow" "$work/got/slow"
fetch_at_once after "$big" "$big" "$foo" "$foo" "$slow" "$slow" \
    pool/main/c/conc/conc7_1.0_amd64.deb pool/main/c/conc/conc8_1.0_amd64.deb
[ "$ok" = 8 ] || die "$ok of 8 concurrent fetches after the disconnects gave the origin's file"
{ [ "$(gets "$foo")" = 1 ] && [ "$(gets "$big")" = 1 ]; } ||
    die "the origin answered $(gets "$foo") GETs for foo and $(gets "$big") for big after the disconnects, not 1 each"
say "6 clients disconnected mid-download ($(gets "$slow") GETs of the slow .deb at the origin), then 9 downloads: ok"

# SIGTERM: status 0.
signal_exit "$apid" "$acng" TERM
if grep -E 'AddressSanitizer|runtime error:' "$log" >&2; then die "apt-cacher-ng reported the errors above"; fi
[ -s "$log" ] && say "apt-cacher-ng wrote: $(head -c 300 "$log")"
[ -s "$tlog" ] || die "no transfer log $tlog"
expect_log() {    # expect_log PATH INCOMING OUTGOING
    local i o
    i=$(count I "$1") o=$(count O "$1")
    { [ "$i" = "$2" ] && [ "$o" = "$3" ]; } ||
        die "the transfer log lists $1 $i times in, $o times out; expected $2 in, $3 out"
}
expect_log "$foo" 1 4
expect_log "$shared" 1 6
expect_log pool/main/c/conc/conc1_1.0_amd64.deb 1 1
expect_log pool/main/c/conc/conc7_1.0_amd64.deb 1 2
expect_log "$big" 1 7
# The slow .deb: 1 to 3 downloads for the disconnecting clients (each
# client's downloader may start one, as for the shared .deb), then 1.
n=$(count I "$slow")
{ [ "$n" -ge $((slow_in + 1)) ] && [ "$n" -le 4 ]; } ||
    die "the transfer log lists $n downloads of the slow .deb, not $((slow_in + 1)) to 4"
n=$(count OE "$slow") e=$(count E "$slow")
{ [ "$n" = 6 ] && [ "$e" -le 3 ]; } ||
    die "the transfer log lists $n answers for the slow .deb ($e errors), not 6 (3 errors at most)"
say "transfer log after SIGTERM: ok"
say "ok"

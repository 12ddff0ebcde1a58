#!/usr/bin/env bash
# Runs Debian's unmodified /usr/bin/webdis (an HTTP interface to Redis)
# on OUR libevent-2.1.so.7, in front of a private redis-server, and
# drives it over 127.0.0.1 with curl, redis-cli and bash's /dev/tcp.
#
#   webdis.sh CLIENT LIBDIR    CLIENT: programs-client, for free ports
#
# webdis accepts HTTP connections on a main event base and hands each to
# one of its worker threads through a pipe; every worker runs its own
# base with its HTTP clients' read and write events and a pool of Redis
# connections driven by hiredis' libevent adapter, reconnected by timers
# when Redis drops them.  Installs webdis and redis-server with apt-get
# when missing (their services are never started; skipped when they
# cannot be installed).  Runs redis-server in the foreground with no
# persistence and webdis with a private JSON configuration (2 worker
# threads, 3 Redis connections each), both on free loopback ports, and
# proves from /proc/PID/maps that webdis mapped our libevent.  Checks
# exact JSON, JSONP, .txt and .raw bodies, ETags, POST commands, URL-
# encoded arguments, a 200 kB PUT of random bytes with NULs read back
# byte for byte (through webdis and redis-cli), Redis errors, 403 from the
# ACL and 405; 50 concurrent curl processes (an INCR counter ends at
# exactly 50, each value once), 200 keep-alive requests on one connection
# in order, 100 pipelined requests in one write; two streaming
# /SUBSCRIBE requests (JSON and .raw) that get 30 PUBLISHed messages in
# order byte for byte, and webdis unsubscribing when they go away; clients
# that disconnect mid-request line, mid-body and before reading all of a
# 200 kB answer; the pool reconnecting (on timers) after Redis kills its
# connections; and that SIGTERM ends webdis with status 0 (its handler
# logs and calls exit(0)).  Bounded in time; signals only the processes
# it started, by PID.  Not checked, as webdis 0.1.9 gets them wrong on
# any libevent: a client that goes away before its answer is ready
# (webdis then adds a write event for the fd it has closed: "Epoll
# ADD(4) on fd N failed ... Bad file descriptor", and that event stays
# registered for whatever reuses the fd); WebSocket
# (webdis answers the first frame, then closes); "Connection: close" on a
# pipelined request (webdis closes before answering the ones ahead of
# it); the order of answers to pipelined requests (any order).
set -euo pipefail
PROG=webdis.sh
. "$(dirname "$0")/programs-lib.sh"

client=${1:?usage: webdis.sh CLIENT LIBDIR}
LIBDIR=$(cd "${2:?usage: webdis.sh CLIENT LIBDIR}" && pwd -P)
webdis=/usr/bin/webdis
redis=/usr/bin/redis-server
rcli=/usr/bin/redis-cli
need_program "$webdis" webdis libevent-2.1.so.7 optional
if [ ! -x "$redis" ] || [ ! -x "$rcli" ]; then install_pkg redis-server optional; fi
for f in "$redis" "$rcli"; do [ -x "$f" ] || skip "$f not found"; done
need_tool curl curl
start_work webdis
# In an ASan build ctest preloads the ASan runtime: only webdis, the
# program on our instrumented library, keeps it; redis, curl and
# redis-cli run without.
preload=${LD_PRELOAD-}
unset LD_PRELOAD
FREE_PORT=("$client" free-port)
THREADS=2 POOL=3

launch_redis() {
    "$redis" --port "$1" --bind 127.0.0.1 --protected-mode no --save '' \
        --appendonly no --daemonize no --dir "$work" --logfile '' \
        > "$work/redis.log" 2>&1 &
    pid=$!
}
rc() { timeout 10 "$rcli" -h 127.0.0.1 -p "$rport" "$@"; }
redis_ready() { [ "$(timeout 5 "$rcli" -h 127.0.0.1 -p "$1" PING 2>/dev/null)" = PONG ]; }
start_on_free_port "$redis" "$work/redis.log" 'already in use' launch_redis redis_ready
rport=$port rpid=$pid
say "redis-server PID $rpid on 127.0.0.1:$rport"

# Redis connections other than redis-cli's own (webdis's pool and
# subscribers).
redis_conns() { rc CLIENT LIST | grep -vc 'cmd=client|list' || true; }
log=$work/webdis.log
launch_webdis() {
    cat > "$work/webdis.json" <<EOF
{
    "redis_host": "127.0.0.1",
    "redis_port": $rport,
    "redis_auth": null,
    "http_host": "127.0.0.1",
    "http_port": $1,
    "threads": $THREADS,
    "pool_size": $POOL,
    "daemonize": false,
    "websockets": false,
    "database": 0,
    "acl": [ { "disabled": ["DEBUG"] } ],
    "verbosity": 8,
    "logfile": "$log"
}
EOF
    : > "$log"
    if [ -n "$preload" ]; then
        LD_PRELOAD=$preload LD_LIBRARY_PATH=$(ours_ld_path) \
            "$webdis" "$work/webdis.json" > "$work/webdis-stderr.log" 2>&1 &
    else
        LD_LIBRARY_PATH=$(ours_ld_path) \
            "$webdis" "$work/webdis.json" > "$work/webdis-stderr.log" 2>&1 &
    fi
    pid=$!
}
webdis_ready() { grep -q 'up and running' "$log" && tcp_accepts "$1"; }
start_on_free_port "$webdis" "$log" 'already in use' launch_webdis webdis_ready
wpid=$pid
U=http://127.0.0.1:$port
say "webdis PID $wpid on $U with ${THREADS} worker threads"
prove_ours "$wpid" "$LIBDIR" libevent-2.1.so.7

# alive WHAT: webdis still runs and has reported nothing from a sanitizer.
alive() {
    is_ours "$wpid" "$webdis" || die "webdis died ($1)"
    ! grep -qE 'AddressSanitizer|runtime error:' "$work/webdis-stderr.log" ||
        die "sanitizer report from webdis ($1)"
}
# wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds (webdis runs).
wait_for() {
    local secs=$1 what=$2
    shift 2
    for _ in $(seq $((secs * 10))); do
        alive "waiting for $what"
        "$@" && return 0
        sleep 0.1
    done
    die "no $what after $secs s"
}
# The pool: THREADS * POOL connections to Redis, then both workers answer.
pool_full() { [ "$(redis_conns)" = $((THREADS * POOL)) ]; }
wait_for 10 "$((THREADS * POOL)) pooled Redis connections" pool_full
# http PATH [CURL ARGS]: the body; fails on a transport error.
http() {
    local path=$1
    shift
    curl -sS --max-time 10 "$@" "$U/$path"
}
pongs() { [ "$(http PING)" = '{"PING":[true,"PONG"]}' ] && [ "$(http PING)" = '{"PING":[true,"PONG"]}' ]; }
wait_for 10 "PONG from both workers" pongs
say "$((THREADS * POOL)) pooled Redis connections, PING answered"

# expect WHAT GOT WANT
expect() { [ "$2" = "$3" ] || die "$1: got '${2:0:300}', expected '${3:0:300}'"; }
# fetch PATH [CURL ARGS]: body in $work/body, headers in $work/head,
# status in $code.
fetch() {
    local path=$1
    shift
    code=$(curl -sS --max-time 10 -o "$work/body" -D "$work/head" -w '%{http_code}' "$@" "$U/$path") ||
        die "curl $path failed"
}
header() { grep -i "^$1:" "$work/head" | head -n 1 | sed 's/^[^:]*: *//' | tr -d '\r'; }
# etag_ok: the ETag is the MD5 of the body.
etag_ok() {
    expect "ETag of $1" "$(header ETag)" "\"$(md5sum < "$work/body" | cut -d' ' -f1)\""
}

# --- Exact answers in every format.
expect "SET" "$(http SET/k/v)" '{"SET":[true,"OK"]}'
expect "GET" "$(http GET/k)" '{"GET":"v"}'
expect "GET of a missing key" "$(http GET/nokey)" '{"GET":null}'
expect "RPUSH" "$(http RPUSH/l/a/b/c)" '{"RPUSH":3}'
expect "LRANGE" "$(http LRANGE/l/0/-1)" '{"LRANGE":["a","b","c"]}'
expect "TYPE" "$(http TYPE/l)" '{"TYPE":[true,"list"]}'
expect "INCR" "$(http INCR/n)" '{"INCR":1}'
expect "POST of GET/k" "$(http '' --data-binary GET/k)" '{"GET":"v"}'
expect "SET of URL-encoded / and ." "$(http 'SET/a%2fb/x%2ey%20z')" '{"SET":[true,"OK"]}'
expect "GET of URL-encoded key" "$(http 'GET/a%2fb')" '{"GET":"x.y z"}'
expect "redis-cli GET of that key" "$(rc GET a/b)" 'x.y z'
expect "JSONP" "$(http 'GET/k?jsonp=cb')" 'cb({"GET":"v"});'
fetch GET/k
expect "GET status" "$code" 200
expect "JSON Content-Type" "$(header Content-Type)" application/json
etag_ok GET/k
fetch GET/k.txt
expect ".txt body" "$(cat "$work/body")" v
expect ".txt Content-Type" "$(header Content-Type)" text/plain
etag_ok GET/k.txt
fetch GET/k.raw
cmp -s "$work/body" <(printf '$1\r\nv\r\n') || die ".raw GET: $(od -c "$work/body" | head -n 3)"
fetch LRANGE/l/0/-1.raw
cmp -s "$work/body" <(printf '*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n') || die ".raw LRANGE: $(od -c "$work/body" | head -n 5)"
fetch INCR/n.raw
cmp -s "$work/body" <(printf ':2\r\n') || die ".raw INCR: $(od -c "$work/body" | head -n 3)"
say "JSON, JSONP, .txt, .raw, POST, URL-encoded arguments: exact"

# --- Errors: Redis's own error text, the ACL's 403, 405.
err=$(rc MAKE-ME-COFFEE 2>&1) || true
case "$err" in ERR\ *) ;; *) die "redis-cli MAKE-ME-COFFEE said '$err'" ;; esac
fetch MAKE-ME-COFFEE
expect "status of an unknown command" "$code" 200
expect "unknown command" "$(cat "$work/body")" "{\"MAKE-ME-COFFEE\":[false,\"$err\"]}"
fetch MAKE-ME-COFFEE.raw
cmp -s "$work/body" <(printf -- '-%s\r\n' "$err") || die ".raw error: $(od -c "$work/body" | head -n 6)"
expect "wrong arity" "$(http GET/k/extra)" \
    "{\"GET\":[false,\"$(rc GET k extra 2>&1)\"]}"
fetch DEBUG/SLEEP/0
expect "status of DEBUG, disabled by the ACL" "$code" 403
fetch GET/k -X DELETE
expect "status of DELETE" "$code" 405
say "Redis errors, 403 and 405: exact"

# --- 200 kB of random bytes with NULs by PUT, read back byte for byte.
{
    printf '\0'
    head -c 99999 /dev/urandom
    printf 'a\0\0b'
    head -c 99995 /dev/urandom
    printf '\0'
} > "$work/blob"
size=$(wc -c < "$work/blob")
expect "blob size" "$size" 200000
expect "PUT of the blob" "$(http SET/blob -T "$work/blob")" '{"SET":[true,"OK"]}'
expect "STRLEN of the blob" "$(http STRLEN/blob)" "{\"STRLEN\":$size}"
fetch GET/blob.txt
cmp -s "$work/blob" "$work/body" || die "GET blob.txt differs from the PUT ($(wc -c < "$work/body") bytes back)"
etag_ok GET/blob.txt
fetch GET/blob.raw
{ printf '$%s\r\n' "$size"; cat "$work/blob"; printf '\r\n'; } > "$work/blob.raw"
cmp -s "$work/blob.raw" "$work/body" || die "GET blob.raw differs ($(wc -c < "$work/body") bytes back)"
rc --raw GET blob | head -c "$size" | cmp -s "$work/blob" - || die "redis-cli reads another blob"
say "200000 random bytes with NULs by PUT: read back exactly"

# --- 50 concurrent curl processes: INCR, SET and GET on one connection.
cpids=()
for i in $(seq 50); do
    curl -sS --max-time 20 -w '\n' "$U/INCR/counter" "$U/SET/key$i/val$i" "$U/GET/key$i" \
        > "$work/c$i.out" 2> "$work/c$i.err" &
    track "$!" "$(command -v curl)"
    cpids[i]=$!
done
failed=0
for i in "${!cpids[@]}"; do wait "${cpids[$i]}" || failed=$((failed + 1)); done
[ "$failed" = 0 ] || die "$failed of 50 concurrent curl processes failed: $(cat "$work"/c*.err | head -n 3)"
alive "50 concurrent clients"
for i in $(seq 50); do
    sed -n 2,3p "$work/c$i.out" | cmp -s - <(printf '%s\n' '{"SET":[true,"OK"]}' "{\"GET\":\"val$i\"}") ||
        die "client $i: $(tr '\n' '|' < "$work/c$i.out")"
done
got=$(for i in $(seq 50); do sed -n 1p "$work/c$i.out"; done | sort -t: -k2 -n)
expect "the 50 INCRs" "$got" "$(seq -f '{"INCR":%g}' 1 50)"
expect "counter" "$(http GET/counter)" '{"GET":"50"}'
say "50 concurrent clients: counter at exactly 50, every value once"

# 200 requests on one keep-alive connection, answered in order.
urls=()
for i in $(seq 200); do urls+=("$U/INCR/ka"); done
curl -sS --max-time 30 -w ' %{num_connects}\n' "${urls[@]}" > "$work/ka.out" ||
    die "200 keep-alive requests failed"
expect "200 keep-alive answers" "$(cat "$work/ka.out")" \
    "$( (echo '{"INCR":1} 1'; seq -f '{"INCR":%g} 0' 2 200) )"
say "200 requests on one keep-alive connection: in order"

# 100 requests in one write: 100 answers, each INCR value once (webdis
# spreads them over its pool and answers them in no set order).
for i in $(seq 100); do printf 'GET /INCR/pipe HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'; done > "$work/pipe.req"
exec 3<>"/dev/tcp/127.0.0.1/$port"
timeout 20 cat <&3 > "$work/pipe.out" &
track "$!" "$(command -v timeout)"
catpid=$!
cat "$work/pipe.req" >&3
# The answers follow each other with no line break between them.
answers_in() { grep -ao 'HTTP/1\.1 [0-9]* [A-Za-z ]*' "$1" | sort | uniq -c | sed 's/^ *//'; }
answers() { [ "$(grep -ao 'HTTP/1\.1 ' "$work/pipe.out" | wc -l)" -ge 100 ]; }
wait_for 15 "100 answers to 100 pipelined requests" answers
kill "$catpid" 2>/dev/null || true
wait "$catpid" 2>/dev/null || true
exec 3<&-
expect "pipelined answers" "$(answers_in "$work/pipe.out")" '100 HTTP/1.1 200 OK'
got=$(grep -ao '{"INCR":[0-9]*}' "$work/pipe.out" | sort -t: -k2 -n)
expect "pipelined INCRs" "$got" "$(seq -f '{"INCR":%g}' 1 100)"
say "100 pipelined requests: 100 answers, each value once"

# --- Pub/sub: two streaming subscribers, JSON and .raw.
timeout 60 curl -sSN --raw --max-time 50 "$U/SUBSCRIBE/news" > "$work/sub1.out" 2> "$work/sub1.err" &
track "$!" "$(command -v timeout)"
sub1=$!
timeout 60 curl -sSN --raw --max-time 50 "$U/SUBSCRIBE/news.raw" > "$work/sub2.out" 2> "$work/sub2.err" &
track "$!" "$(command -v timeout)"
sub2=$!
subscribers() { [ "$(http PUBSUB/NUMSUB/news)" = "$1" ]; }
wait_for 10 "2 subscribers of news" subscribers '{"PUBSUB":["news",2]}'
# chunk: stdin as one HTTP chunk.
chunk() {
    cat > "$work/chunk"
    printf '%x\r\n' "$(wc -c < "$work/chunk")"
    cat "$work/chunk"
    printf '\r\n'
}
# rawbulk TEXT: TEXT as a Redis bulk string.
rawbulk() { printf '$%d\r\n%s\r\n' "${#1}" "$1"; }
# The subscriber count in each "subscribe" answer is per connection: 1.
printf '%s' '{"SUBSCRIBE":["subscribe","news",1]}' | chunk > "$work/want1"
# webdis's .raw renders that count as a bulk string.
{ printf '*3\r\n'; rawbulk subscribe; rawbulk news; rawbulk 1; } | chunk > "$work/want2"
msgs=()
for i in $(seq 30); do msgs+=("message $i of 30"); done
msgs[9]='with / and . inside'
for m in "${msgs[@]}"; do
    enc=${m// /%20}
    enc=${enc//\//%2f}
    enc=${enc//./%2e}
    expect "PUBLISH '$m'" "$(http "PUBLISH/news/$enc")" '{"PUBLISH":2}'
    printf '%s' "{\"SUBSCRIBE\":[\"message\",\"news\",\"$m\"]}" | chunk >> "$work/want1"
    { printf '*3\r\n'; rawbulk message; rawbulk news; rawbulk "$m"; } | chunk >> "$work/want2"
done
streamed() {
    [ "$(wc -c < "$work/sub1.out")" -ge "$(wc -c < "$work/want1")" ] &&
        [ "$(wc -c < "$work/sub2.out")" -ge "$(wc -c < "$work/want2")" ]
}
wait_for 10 "30 messages streamed to both subscribers" streamed
sleep 0.2    # nothing more may come
cmp -s "$work/want1" "$work/sub1.out" ||
    { diff <(tr '\r' '~' < "$work/want1") <(tr '\r' '~' < "$work/sub1.out") | head -n 8 >&2 || true; die "the JSON subscriber's stream differs (< wanted, > got)"; }
cmp -s "$work/want2" "$work/sub2.out" ||
    { diff <(tr '\r' '~' < "$work/want2") <(tr '\r' '~' < "$work/sub2.out") | head -n 8 >&2 || true; die "the .raw subscriber's stream differs (< wanted, > got)"; }
for s in "$sub1" "$sub2"; do
    is_ours "$s" "$(command -v timeout)" || die "a subscriber ended early: $(cat "$work"/sub*.err)"
done
say "2 subscribers: 30 messages each, in order, byte for byte"
# The subscribers go away: webdis drops their Redis connections.
kill "$sub1" "$sub2"
wait "$sub1" "$sub2" 2>/dev/null || true
wait_for 10 "0 subscribers of news" subscribers '{"PUBSUB":["news",0]}'
wait_for 10 "only the pooled Redis connections" pool_full
expect "PUBLISH with no subscriber" "$(http PUBLISH/news/late)" '{"PUBLISH":0}'
say "subscribers gone: unsubscribed"

# --- Clients that go away mid-request.
# Half a request line.
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /SET/half' >&3
exec 3<&-
# Headers and 5000 of 100000 body bytes.
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'PUT /SET/part HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n' >&3
head -c 5000 /dev/zero >&3
exec 3<&-
# The first bytes of the 200 kB answer, then gone.
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /GET/blob.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' >&3
timeout 10 head -c 1000 <&3 > /dev/null || die "no answer to GET blob.txt"
exec 3<&-
# 20 connections that send nothing.
for _ in $(seq 20); do exec 3<>"/dev/tcp/127.0.0.1/$port"; exec 3<&-; done
sleep 0.3
alive "clients that went away"
expect "GET of the half-sent SET" "$(http GET/half)" '{"GET":null}'
expect "EXISTS of the half-sent PUT" "$(http EXISTS/part)" '{"EXISTS":0}'
for i in $(seq 20); do
    expect "INCR after the disconnects" "$(http INCR/after)" "{\"INCR\":$i}"
done
fetch GET/blob.txt
cmp -s "$work/blob" "$work/body" || die "GET blob.txt differs after the disconnects"
pool_full || die "$(redis_conns) Redis connections after the disconnects, not $((THREADS * POOL))"
say "clients that went away mid-request: webdis serves on"

# --- Redis drops every connection: the pool reconnects (0.1 s timers).
expect "CLIENT KILL TYPE normal" "$(rc CLIENT KILL TYPE normal)" $((THREADS * POOL))
wait_for 10 "$((THREADS * POOL)) reconnected Redis connections" pool_full
wait_for 10 "PONG from both workers after the reconnection" pongs
for i in $(seq 20); do
    expect "INCR after the reconnection" "$(http INCR/reconnected)" "{\"INCR\":$i}"
done
expect "GET after the reconnection" "$(http GET/counter)" '{"GET":"50"}'
say "Redis connections killed: the pool reconnected"

# --- SIGTERM: webdis's handler logs and exits 0.
alive "the end"
signal_exit "$wpid" "$webdis" TERM
grep -q 'Webdis terminating' "$log" || die "webdis did not log its termination"
! grep -qE 'AddressSanitizer|runtime error:' "$work/webdis-stderr.log" ||
    die "sanitizer report from webdis"
[ -s "$work/webdis-stderr.log" ] && die "webdis wrote to stderr: $(head -c 500 "$work/webdis-stderr.log")"
tcp_accepts "$port" && die "127.0.0.1:$port still accepts after SIGTERM"
signal_exit "$rpid" "$redis" TERM
say "ok"

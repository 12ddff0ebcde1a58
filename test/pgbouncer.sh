#!/usr/bin/env bash
# Runs Debian's unmodified /usr/sbin/pgbouncer (the PostgreSQL connection
# pooler) on OUR libevent-2.1.so.7, in front of a throw-away PostgreSQL
# server, and drives it over 127.0.0.1 with psql and pgbench.
#
#   pgbouncer.sh CLIENT LIBDIR    CLIENT: programs-client, for free ports
#
# pgbouncer relays every byte between clients and pooled server
# connections from read and write events, queues clients for a server,
# and runs timers and signal events.  Installs pgbouncer and postgresql
# with apt-get when missing (their services are never started; skipped
# when they cannot be installed).  Creates a private cluster with initdb
# in a temporary directory and runs postgres and pgbouncer there as an
# unprivileged user (both refuse root), on free ports.  Proves from
# /proc/PID/maps that pgbouncer mapped our libevent (a byte-identical copy
# when that user cannot read LIBDIR), then checks exact query results in
# transaction pooling, session state in session pooling, 12 concurrent
# psql clients, pgbench (when present) in transaction and session pooling
# with no failed transaction, the admin console (SHOW POOLS, SHOW STATS),
# reloads by RELOAD and by SIGHUP, and that SIGINT ends pgbouncer with
# status 0.  Bounded in time; signals only the
# processes it started, by PID; postgres is stopped with pg_ctl.
set -euo pipefail
PROG=pgbouncer.sh
. "$(dirname "$0")/programs-lib.sh"

client=${1:?usage: pgbouncer.sh CLIENT LIBDIR}
LIBDIR=$(cd "${2:?usage: pgbouncer.sh CLIENT LIBDIR}" && pwd -P)
pgbouncer=/usr/sbin/pgbouncer
need_program "$pgbouncer" pgbouncer libevent-2.1.so.7 optional
pgbin() { printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1; }
[ -x "$(pgbin)/postgres" ] || install_pkg postgresql optional
pg=$(pgbin)
for b in postgres initdb pg_ctl pg_isready psql; do
    [ -x "$pg/$b" ] || skip "no $b under /usr/lib/postgresql/*/bin"
done
start_work pgbouncer

# Both refuse root: as root, run them as postgres (or nobody) by setpriv,
# which execs, so that $! is the program itself.
run_as=()
if [ "$(id -u)" = 0 ]; then
    user=postgres
    id -u "$user" >/dev/null 2>&1 || user=nobody
    command -v setpriv >/dev/null || skip "setpriv is needed to drop root"
    run_as=(setpriv "--reuid=$user" "--regid=$(id -g "$user")" --init-groups --)
    chown "$user" "$work"
    if ! "${run_as[@]}" test -r "$LIBDIR/libevent-2.1.so.7"; then
        mkdir "$work/lib"
        cp "$LIBDIR/libevent-2.1.so.7" "$work/lib/"
        cmp "$LIBDIR/libevent-2.1.so.7" "$work/lib/libevent-2.1.so.7" ||
            die "the copy of our library differs from $LIBDIR"
        say "$user cannot read $LIBDIR: using a byte-identical copy in $work/lib"
        LIBDIR=$work/lib
    fi
fi
as_user() { "${run_as[@]}" "$@"; }
# In an ASan build ctest preloads the ASan runtime: only pgbouncer, the
# program on our instrumented library, needs it; PostgreSQL's own
# programs (initdb hangs under it) run without.
preload=${LD_PRELOAD-}
unset LD_PRELOAD
# became PID EXE: PID has exec'd EXE, past the shell and setpriv (5 s).
became() {
    for _ in $(seq 100); do is_ours "$1" "$2" && return 0; sleep 0.05; done
    return 1
}
# On exit, stop pgbouncer first, then postgres with pg_ctl (not by a
# signal from stop_tracked: a smart shutdown would wait for pgbouncer),
# then on_exit, with our exit status in $?.
pg_down() {
    local rc=$?
    set +e
    stop_tracked
    if [ -s "$work/data/postmaster.pid" ]; then
        as_user timeout 20 "$pg/pg_ctl" -D "$work/data" -m fast -w -t 15 stop ||
            as_user timeout 20 "$pg/pg_ctl" -D "$work/data" -m immediate -w -t 5 stop
    fi >> "$work/pg_ctl.log" 2>&1
    (exit "$rc")
    on_exit
}
trap pg_down EXIT
export PGCONNECT_TIMEOUT=5 PGUSER=postgres PGHOST=127.0.0.1
unset PGDATABASE PGOPTIONS PGPASSWORD PGSERVICE PGSERVICEFILE PGSSLMODE
FREE_PORT=("$client" free-port)

as_user timeout 120 "$pg/initdb" -D "$work/data" -U postgres --auth=trust -E UTF8 \
    --locale=C --no-sync > "$work/initdb.out" 2>&1 ||
    die "initdb failed: $(tail -n 5 "$work/initdb.out")"
launch_pg() {
    "${run_as[@]}" "$pg/postgres" -D "$work/data" -p "$1" -k "$work" \
        -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=40 \
        -c shared_buffers=16MB -c logging_collector=off > "$work/postgres.log" 2>&1 &
    pid=$!
    became "$pid" "$pg/postgres" || true
}
pg_ready() { "$pg/pg_isready" -q -h 127.0.0.1 -p "$1"; }
start_on_free_port "$pg/postgres" "$work/postgres.log" \
    'address already in use|could not bind' launch_pg pg_ready
pgport=$port pgpid=$pid
tracked_pids=() tracked_exes=()    # pg_down stops it, with pg_ctl
say "postgres PID $pgpid on 127.0.0.1:$pgport"

echo '"postgres" ""' > "$work/userlist.txt"
cat > "$work/databases.ini" <<EOF
[databases]
txdb = host=127.0.0.1 port=$pgport dbname=postgres
sessdb = host=127.0.0.1 port=$pgport dbname=postgres pool_mode=session
EOF
launch_bouncer() {
    cat > "$work/pgbouncer.ini" <<EOF
%include $work/databases.ini
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $1
unix_socket_dir =
auth_type = trust
auth_file = $work/userlist.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = 4
max_client_conn = 100
stats_period = 1
EOF
    LD_LIBRARY_PATH=$(ours_ld_path) env ${preload:+LD_PRELOAD=$preload} \
        "${run_as[@]}" "$pgbouncer" "$work/pgbouncer.ini" \
        > "$work/pgbouncer.log" 2>&1 &
    pid=$!
    became "$pid" "$pgbouncer" || true
}
start_on_free_port "$pgbouncer" "$work/pgbouncer.log" \
    'address already in use|cannot listen' launch_bouncer tcp_accepts
bpid=$pid
say "pgbouncer PID $bpid on 127.0.0.1:$port"
prove_ours "$bpid" "$LIBDIR" libevent-2.1.so.7
say "pgbouncer reports: $(grep -o 'libevent [^,]*' "$work/pgbouncer.log" | head -n 1)"

# q DB SQL: run SQL (from stdin when "-") through pgbouncer, tuples only.
q() {
    local db=$1 sql=$2
    if [ "$sql" = - ]; then
        timeout 30 "$pg/psql" -X -qAt -v ON_ERROR_STOP=1 -p "$port" -d "$db"
    else
        timeout 30 "$pg/psql" -X -qAt -v ON_ERROR_STOP=1 -p "$port" -d "$db" -c "$sql"
    fi
}
# expect WHAT GOT WANT
expect() { [ "$2" = "$3" ] || die "$1: got '${2:0:300}', expected '${3:0:300}'"; }

# Exact results, transaction pooling.
got=$(q txdb "CREATE TABLE t (id int PRIMARY KEY, v text);
    INSERT INTO t SELECT i, 'row' || i FROM generate_series(1, 1000) i;
    SELECT count(*), sum(id), md5(string_agg(v, ',' ORDER BY id)) FROM t;") ||
    die "psql through pgbouncer failed"
want_md5=$(seq 1000 | sed 's/^/row/' | paste -sd, - | tr -d '\n' | md5sum | cut -d' ' -f1)
expect "table readback" "$got" "1000|500500|$want_md5"
got=$(seq 300 | awk '{print "SELECT " $1 " * 7, v FROM t WHERE id = " $1 ";"}' |
      q txdb -) || die "300 queries in one session failed"
expect "300 queries" "$got" "$(seq 300 | awk '{print $1 * 7 "|row" $1}')"
# Session pooling: statements of one session stay on one server connection.
got=$(printf '%s\n' 'CREATE TEMP TABLE s AS SELECT 21 AS x;' \
    'PREPARE p AS SELECT x * 2 FROM s;' 'EXECUTE p;' | q sessdb -) ||
    die "a session through the session pool failed"
expect "session state through the session pool" "$got" 42
say "exact results through pgbouncer: ok"

# 12 concurrent clients, 5 connections of 20 inserts each, then checks.
q txdb "CREATE TABLE c (client int, n int)" || die "CREATE TABLE c failed"
cpids=()
for k in $(seq 12); do
    (
        for conn in $(seq 5); do
            seq $(( conn * 20 - 19 )) $(( conn * 20 )) |
                awk -v k="$k" '{print "INSERT INTO c VALUES (" k ", " $1 ");"}' |
                q txdb - || exit 1
        done
        got=$(q txdb "SELECT count(*), sum(n) FROM c WHERE client = $k") || exit 1
        [ "$got" = "100|5050" ] || { echo "client $k: $got" >&2; exit 1; }
    ) > "$work/client$k.log" 2>&1 &
    cpids+=($!)
done
failed=0
for p in "${cpids[@]}"; do wait "$p" || failed=$((failed + 1)); done
[ "$failed" = 0 ] || { cat "$work"/client*.log >&2; die "$failed of 12 concurrent clients failed"; }
expect "concurrent total" "$(q txdb 'SELECT count(*), sum(n) FROM c')" "1200|60600"
say "12 concurrent clients: ok"

# pgbench, when present: no failed transaction in either pooling mode.
xacts=0
if [ -x "$pg/pgbench" ]; then
    bench() {
        local n=$1 log=$work/pgbench-$2.log
        shift 2
        timeout 40 "$pg/pgbench" -p "$port" "$@" > "$log" 2>&1 ||
            die "pgbench $* failed: $(tail -n 5 "$log")"
        grep -q "actually processed: $n/$n" "$log" ||
            die "pgbench $*: $(grep 'actually processed' "$log")"
        ! grep -q 'number of failed transactions: [1-9]' "$log" ||
            die "pgbench $*: $(grep 'failed transactions' "$log")"
    }
    timeout 40 "$pg/pgbench" -p "$port" -i -q -s 1 sessdb > "$work/pgbench-init.log" 2>&1 ||
        die "pgbench -i through pgbouncer failed"
    bench 1600 tx -n -c 8 -j 2 -t 200 txdb
    bench 400 sess -n -c 4 -j 2 -t 100 -S -M prepared sessdb
    xacts=1600
    say "pgbench: 1600 transactions (transaction pooling), 400 (session, prepared): ok"
fi

# Admin console.  column COL: COL of the "txdb" row of SHOW output on stdin.
column() {
    awk -F'|' -v col="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i }
        NR > 1 && $1 == "txdb" && c { print $c; exit }'
}
console() { timeout 30 "$pg/psql" -X -A -v ON_ERROR_STOP=1 -p "$port" -d pgbouncer -c "$1"; }
pools=$(console 'SHOW POOLS;') || die "SHOW POOLS failed"
expect "SHOW POOLS pool_mode of txdb" "$(column pool_mode <<< "$pools")" transaction
grep -q '^sessdb|postgres|.*|session$' <<< "$pools" || die "SHOW POOLS: no sessdb session pool: $pools"
stats=$(console 'SHOW STATS;') || die "SHOW STATS failed"
n=$(column total_xact_count <<< "$stats")
if [ -z "$n" ] || [ "$n" -lt $((xacts + 300)) ]; then
    die "SHOW STATS counted '$n' transactions for txdb, expected at least $((xacts + 300))"
fi
say "admin console: txdb counted $n transactions: ok"

# Reload: a database added, then RELOAD; another, then SIGHUP.
echo "reload1 = host=127.0.0.1 port=$pgport dbname=postgres" >> "$work/databases.ini"
console 'RELOAD;' > /dev/null || die "RELOAD failed"
expect "query through the database added by RELOAD" "$(q reload1 'SELECT 41 + 1')" 42
echo "reload2 = host=127.0.0.1 port=$pgport dbname=postgres" >> "$work/databases.ini"
kill -HUP "$bpid"
for _ in $(seq 50); do
    console 'SHOW DATABASES;' 2>/dev/null | grep -q '^reload2|' && break
    sleep 0.1
done
is_ours "$bpid" "$pgbouncer" || die "pgbouncer died on SIGHUP"
expect "query through the database added by SIGHUP" "$(q reload2 'SELECT count(*) FROM t')" 1000
say "RELOAD and SIGHUP: ok"

# SIGINT: safe shutdown, status 0.
signal_exit "$bpid" "$pgbouncer" INT
grep -q 'got SIGINT' "$work/pgbouncer.log" || die "pgbouncer did not log SIGINT"
! grep -E 'FATAL|PANIC|ERROR|WARNING' "$work/pgbouncer.log" ||
    die "pgbouncer logged errors"
as_user timeout 20 "$pg/pg_ctl" -D "$work/data" -m fast -w -t 15 stop \
    > "$work/pg_ctl.log" 2>&1 || die "pg_ctl stop failed"
! is_ours "$pgpid" "$pg/postgres" || die "postgres still runs after pg_ctl stop"
say "ok"

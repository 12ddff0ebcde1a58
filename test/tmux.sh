#!/usr/bin/env bash
# Runs Debian's unmodified /usr/bin/tmux on OUR libevent_core-2.1.so.7.
#
#   tmux.sh LIBDIR      LIBDIR: our build's lib directory
#
# tmux is a heavy bufferevent/evbuffer user (it even reads bev->input and
# bev->output straight from struct bufferevent), so this needs the
# buffered-I/O layer.  Installs tmux with apt-get when missing.  Starts a
# server on a private socket, proves from /proc/PID/maps of the server that
# it mapped libevent_core from LIBDIR and no other libevent, types a command
# into the shell and reads the screen back, splits the window, checks the
# pane count and kills the server.  Bounded in time; cleans up on every exit
# path; signals only the server it started, by PID.
set -euo pipefail

LIBDIR=$(cd "${1:?usage: tmux.sh LIBDIR}" && pwd -P)
tmux_bin=/usr/bin/tmux

PROG=tmux.sh
. "$(dirname "$0")/programs-lib.sh"

# Until our core exports every libevent function tmux imports, tmux cannot
# even start: report that as a skip (exit 77), naming what is missing.
[ -x "$tmux_bin" ] || install_pkg tmux
check_exports "$tmux_bin" "$LIBDIR" libevent_core-2.1.so.7 optional
[ -e "$LIBDIR/libevent_core-2.1.so.7" ] || die "$LIBDIR/libevent_core-2.1.so.7 not found"

work=$(mktemp -d /tmp/tmux-test.XXXXXX)
sock=$work/socket
server_pid=
t() {
    # Every tmux client call is bounded; all share the private socket and
    # ignore any user configuration.
    LD_LIBRARY_PATH=$(ours_ld_path) \
        timeout 10 "$tmux_bin" -S "$sock" -f /dev/null "$@"
}
cleanup() {
    local rc=$?
    if [ -S "$sock" ]; then
        [ "$rc" != 0 ] && { t capture-pane -p -t test 2>/dev/null | sed '/^$/d; s/^/  screen: /' >&2 || true; }
        t kill-server 2>/dev/null || true
    fi
    if [ -n "$server_pid" ]; then
        for _ in $(seq 30); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        # Still our tmux (not a reused PID)? Then it ignored kill-server.
        if [ "$(readlink "/proc/$server_pid/exe" 2>/dev/null)" = "$tmux_bin" ]; then
            kill -9 "$server_pid" 2>/dev/null || true
        fi
    fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export TERM=${TERM:-xterm}
[ "$TERM" = dumb ] && export TERM=xterm
# A plain shell with a fixed prompt and no rc files.
env -u TMUX PS1='$ ' ENV=/dev/null HOME="$work" \
    LD_LIBRARY_PATH=$(ours_ld_path) \
    timeout 10 "$tmux_bin" -S "$sock" -f /dev/null \
    new-session -d -s test -x 100 -y 30 /bin/sh ||
    die "new-session failed"

server_pid=$(t display-message -p -t test '#{pid}') || die "display-message failed"
[[ "$server_pid" =~ ^[0-9]+$ ]] || die "bad server PID '$server_pid'"
say "tmux server PID $server_pid ($(t display-message -p '#{version}' 2>/dev/null || echo '?'))"

# --- prove which libevent the server runs on --------------------------------
prove_ours "$server_pid" "$LIBDIR" libevent_core-2.1.so.7

# --- use it ---------------------------------------------------------------------
# The shell must evaluate the command: the screen then shows the result,
# which differs from the text typed.
n=$RANDOM
want="hello-$((n + 1))"
t send-keys -t test "echo hello-\$(($n + 1))" Enter || die "send-keys failed"
seen=0
for _ in $(seq 100); do
    if t capture-pane -p -t test | grep -qx -- "$want"; then seen=1; break; fi
    sleep 0.1
done
[ "$seen" = 1 ] || die "'$want' never appeared on the screen"
say "the shell printed $want"

t split-window -t test /bin/sh || die "split-window failed"
panes=$(t list-panes -t test | wc -l)
[ "$panes" = 2 ] || die "list-panes shows $panes panes, expected 2"
say "split-window gave $panes panes"

t kill-server || die "kill-server failed"
for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$server_pid" 2>/dev/null && die "the server outlived kill-server"
server_pid=
say "ok"

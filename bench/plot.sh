#!/bin/bash
# bench/plot.sh [SUMMARY.tsv]: one PNG per benchmark family from the
# medians that bench/run.sh wrote (default bench/results/summary-latest.tsv):
#   bench/results/pipechain.png  ns and instructions per callback vs N,
#                                re-registration per event vs N
#   bench/results/timers.png     ns and instructions per op, per phase
#   bench/results/echo.png       messages/s and instructions per message
#   bench/results/memory.png     bytes per idle event, pending timer, idle
#                                bufferevent connection
# Installs gnuplot-nox with apt-get when gnuplot is missing.  The data
# files behind each plot are left in bench/results/plot-data/.
set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RESULTS=$BENCH_DIR/results
TSV=${1:-$RESULTS/summary-latest.tsv}
D=$RESULTS/plot-data

if [ ! -s "$TSV" ]; then
    echo "plot.sh: no $TSV (run bench/run.sh first)" >&2
    exit 1
fi
if ! command -v gnuplot >/dev/null; then
    echo "plot.sh: installing gnuplot-nox" >&2
    { apt-get update && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y gnuplot-nox; } >/dev/null 2>&1 ||
        { echo "plot.sh: cannot install gnuplot-nox" >&2; exit 1; }
fi
mkdir -p "$D"
: >"$D/gnuplot.log"

# Libraries present, in the usual order.
LIBS=$(for l in ours ours_epoll uring libevent libev epoll; do
    awk -F'\t' -v l=$l '$5 == l { print l; exit }' "$TSV"; done | xargs)
NL=$(echo "$LIBS" | wc -w)

# pivot CASE CONFIG_RE PHASE_RE METRIC ROW: a table with one row per value
# of ROW (a config field such as n, or "phase") and one column per library;
# "?" where a library has no value.
pivot() {
    awk -F'\t' -v c="$1" -v cre="$2" -v pre="$3" -v m="$4" -v rk="$5" \
        -v libs="$LIBS" '
        $1 == c && $2 ~ cre && $3 ~ pre && $4 == m {
            row = ""
            if (rk == "phase") {
                row = $3
            } else {
                n = split($2, f, " ")
                for (i = 1; i <= n; i++) {
                    split(f[i], kv, "=")
                    if (kv[1] == rk)
                        row = kv[2]
                }
            }
            if (!(row in seen)) {
                seen[row] = 1
                order[++nr] = row
            }
            v[row, $5] = $6
        }
        END {
            nl = split(libs, L, " ")
            printf "x"
            for (i = 1; i <= nl; i++)
                printf "\t%s", L[i]
            print ""
            for (r = 1; r <= nr; r++) {
                printf "%s", order[r]
                for (i = 1; i <= nl; i++)
                    printf "\t%s", ((order[r], L[i]) in v) ? \
                        v[order[r], L[i]] : "?"
                print ""
            }
        }' "$TSV"
}

# The largest value of a config field present for a case, e.g. m.
largest() {
    awk -F'\t' -v c="$1" -v k="$2" -v m="$3" '
        $1 == c && $4 == m {
            n = split($2, f, " ")
            for (i = 1; i <= n; i++) {
                split(f[i], kv, "=")
                if (kv[1] == k && kv[2] + 0 > best + 0)
                    best = kv[2]
            }
        }
        END { print best }' "$TSV"
}

COMMON="set terminal pngcairo size 1400,1000 font 'sans,10' noenhanced
set datafile separator '\t'
set datafile missing '?'
set key top left
set grid ytics
set linetype 1 lc rgb '#1f77b4' lw 2 pt 7
set linetype 2 lc rgb '#d62728' lw 2 pt 5
set linetype 3 lc rgb '#2ca02c' lw 2 pt 9
set linetype 4 lc rgb '#7f7f7f' lw 2 pt 11"

# lines PLAIN TIMEOUT: every library's line, solid from the first file and
# dashed from the second.  bars FILE: one bar per library per row.
lines() {
    echo "plot for [i=2:$((NL + 1))] '$1' using 1:i with linespoints" \
        "lt (i-1) title columnheader(i)," \
        "for [i=2:$((NL + 1))] '$2' using 1:i with linespoints" \
        "lt (i-1) dt 2 notitle"
}
bars() {
    echo "plot for [i=2:$((NL + 1))] '$1' using i:xtic(1) lt (i-1)" \
        "title columnheader(i)"
}

BARS="set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9"

# --- pipechain ---------------------------------------------------------------
for v in plain timeout; do
    pivot pipechain "variant=$v " '^chain$' ns_per_cb n >"$D/pc-$v-ns.dat"
    pivot pipechain "variant=$v " '^chain$' ir_per_op n >"$D/pc-$v-ir.dat"
    pivot pipechain "variant=$v " '^rereg$' ns_per_event n >"$D/pc-$v-rr-ns.dat"
    pivot pipechain "variant=$v " '^rereg$' ir_per_op n >"$D/pc-$v-rr-ir.dat"
    pivot pipechain "variant=$v " '^iterations$' ns_per_cb n \
        >"$D/pc-$v-it-ns.dat"
    pivot pipechain "variant=$v " '^iterations$' ir_per_op n \
        >"$D/pc-$v-it-ir.dat"
done
if [ "$(wc -l <"$D/pc-plain-ns.dat")" -gt 1 ]; then
    gnuplot 2>>"$D/gnuplot.log" <<EOF
$COMMON
set terminal pngcairo size 1400,1400 font 'sans,10' noenhanced
set output '$RESULTS/pipechain.png'
set multiplot layout 3,2 title 'pipechain: 100 tokens around N socketpairs' . \\
    ' (solid: plain, dashed: timeout re-added in every callback)'
set logscale x
set xlabel 'N (socketpairs)'
set yrange [0:*]
set ylabel 'wall ns per callback'
set title 'chain, wall time'
$(lines "$D/pc-plain-ns.dat" "$D/pc-timeout-ns.dat")
set ylabel 'instructions per callback'
set title 'chain, instructions (callgrind)'
$(lines "$D/pc-plain-ir.dat" "$D/pc-timeout-ir.dat")
set ylabel 'wall ns per event'
set title 're-registration (event_del + event_assign + event_add), wall'
$(lines "$D/pc-plain-rr-ns.dat" "$D/pc-timeout-rr-ns.dat")
set ylabel 'instructions per event'
set title 're-registration, instructions (callgrind)'
$(lines "$D/pc-plain-rr-ir.dat" "$D/pc-timeout-rr-ir.dat")
set ylabel 'wall ns per callback'
set title 'iterations (bench.c shape: re-register all, then A + W callbacks), wall'
$(lines "$D/pc-plain-it-ns.dat" "$D/pc-timeout-it-ns.dat")
set ylabel 'instructions per callback'
set title 'iterations, instructions (callgrind)'
$(lines "$D/pc-plain-it-ir.dat" "$D/pc-timeout-it-ir.dat")
unset multiplot
EOF
    echo "plot.sh: wrote $RESULTS/pipechain.png" >&2
fi

# --- timers ------------------------------------------------------------------
M=$(largest timers m ns_per_op)
MC=$(largest timers m ir_per_op)
if [ -n "$M" ]; then
    for mode in random common; do
        pivot timers "mode=$mode m=$M\$" '^(add|del|readd|resched|fire|all)$' \
            ns_per_op phase >"$D/tm-$mode-ns.dat"
        pivot timers "mode=$mode m=$MC\$" '^(add|del|readd|resched|fire|all)$' \
            ir_per_op phase >"$D/tm-$mode-ir.dat"
    done
    gnuplot 2>>"$D/gnuplot.log" <<EOF
$COMMON
$BARS
set output '$RESULTS/timers.png'
set multiplot layout 2,2 title 'timers: add, delete half, re-add,' . \\
    ' reschedule all, fire (all: per timer, every phase)'
set logscale y
set yrange [10:*]
set ylabel 'CPU ns per op'
set title 'random timeouts 0-100 ms, M=$M'
$(bars "$D/tm-random-ns.dat")
set title 'common timeout 100 ms, M=$M'
$(bars "$D/tm-common-ns.dat")
set ylabel 'instructions per op'
set title 'random timeouts, M=${MC:-?}, callgrind'
$(bars "$D/tm-random-ir.dat")
set title 'common timeout, M=${MC:-?}, callgrind'
$(bars "$D/tm-common-ir.dat")
unset multiplot
EOF
    echo "plot.sh: wrote $RESULTS/timers.png" >&2
fi

# --- echo --------------------------------------------------------------------
pivot echo 'size=' '^echo$' msgs_per_s conns >"$D/echo-msgs.dat"
pivot echo 'size=' '^echo$' ir_per_op conns >"$D/echo-ir.dat"
if [ "$(wc -l <"$D/echo-msgs.dat")" -gt 1 ]; then
    gnuplot 2>>"$D/gnuplot.log" <<EOF
$COMMON
$BARS
set terminal pngcairo size 1400,550 font 'sans,10' noenhanced
set output '$RESULTS/echo.png'
set multiplot layout 1,2 title 'echo: bufferevent server and clients' . \\
    ' on 127.0.0.1, 128-byte messages, one in flight per connection'
set xlabel 'connections'
set yrange [0:*]
set ylabel 'messages per second (wall)'
set title 'throughput'
$(bars "$D/echo-msgs.dat")
set ylabel 'instructions per message'
set title 'instructions (callgrind, user space)'
$(bars "$D/echo-ir.dat")
unset multiplot
EOF
    echo "plot.sh: wrote $RESULTS/echo.png" >&2
fi

# --- memory ------------------------------------------------------------------
{
    pivot memory . '^idle_event$' heap_bytes_per_event phase
    pivot memory . '^pending_timer$' heap_bytes_per_timer phase | sed 1d
    pivot memory . '^idle_conn$' heap_bytes_per_conn phase | sed 1d
    pivot memory . '^idle_conn$' rss_bytes_per_conn phase |
        sed '1d; s/^idle_conn/idle_conn_RSS/'
} >"$D/memory.dat"
if [ "$(wc -l <"$D/memory.dat")" -gt 1 ]; then
    gnuplot 2>>"$D/gnuplot.log" <<EOF
$COMMON
$BARS
set terminal pngcairo size 1000,600 font 'sans,10' noenhanced
set output '$RESULTS/memory.png'
set title 'memory: heap bytes per idle event, pending timer and idle' . \\
    ' bufferevent connection; RSS growth per connection'
set yrange [0:*]
set ylabel 'bytes'
$(bars "$D/memory.dat")
EOF
    echo "plot.sh: wrote $RESULTS/memory.png" >&2
fi
if grep -v -e 'no valid points' -e 'empty x range' "$D/gnuplot.log" |
    grep -q .; then
    echo "plot.sh: gnuplot complained, see $D/gnuplot.log" >&2
fi
exit 0

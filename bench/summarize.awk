# summarize.awk: turns benchmark output into medians and markdown tables.
# Plain POSIX awk (Debian's default mawk works): no asort, no gensub.
#
#   awk -v mode=tsv -f summarize.awk raw.txt > summary.tsv
#       raw.txt holds "round=R RESULT case=C k=v ... lib=L phase=P
#       metric=M value=V" lines.  For every (case, config, phase, metric,
#       lib) it writes the median over rounds and the median of the
#       per-round ratios to libevent (same round), tab-separated:
#       case config phase metric lib median ratio rounds
#   awk -v mode=md -f summarize.awk summary.tsv
#       one markdown table: a row per measurement, a column per library,
#       then the ratio columns.
#   awk -v mode=key -f summarize.awk summary.tsv
#       the headline table the README and the issue ask for.

function median(list,    n, a, i, j, t) {
    n = split(list, a, " ")
    if (n == 0)
        return ""
    for (i = 2; i <= n; i++) {
        t = a[i] + 0
        for (j = i - 1; j >= 1 && a[j] + 0 > t; j--)
            a[j + 1] = a[j]
        a[j + 1] = t
    }
    if (n % 2)
        return a[(n + 1) / 2] + 0
    return (a[n / 2] + a[n / 2 + 1]) / 2
}

function fmt(v) {
    if (v == "")
        return "n/a"
    v += 0
    if (v >= 100 || v <= -100)
        return sprintf("%.0f", v)
    if (v >= 10 || v <= -10)
        return sprintf("%.1f", v)
    return sprintf("%.2f", v)
}

function fmt_ratio(v) {
    return v == "" ? "n/a" : sprintf("%.2f", v)
}

BEGIN {
    FS = (mode == "tsv") ? " " : "\t"
    nlib = split("ours ours_epoll uring libevent libev epoll", LIBS, " ")
}

# ---- mode=tsv: raw RESULT lines in ---------------------------------------
mode == "tsv" && /RESULT/ {
    round = "1"; lib = ""; val = ""; cas = ""; phase = ""; metric = ""
    conf = ""
    for (i = 1; i <= NF; i++) {
        eq = index($i, "=")
        if (!eq)
            continue
        k = substr($i, 1, eq - 1); v = substr($i, eq + 1)
        if (k == "round") round = v
        else if (k == "lib") lib = v
        else if (k == "value") val = v
        else if (k == "case") cas = v
        else if (k == "phase") phase = v
        else if (k == "metric") metric = v
        else conf = conf (conf == "" ? "" : " ") $i
    }
    key = cas "\t" conf "\t" phase "\t" metric
    if (!(key in seen)) {
        seen[key] = 1
        order[++nkeys] = key
    }
    vals[key, lib] = vals[key, lib] " " val
    byround[key, lib, round] = val
    rounds[round] = 1
    next
}

# ---- mode=md and mode=key: summary.tsv in --------------------------------
mode != "tsv" {
    key = $1 "\t" $2 "\t" $3 "\t" $4
    if (!(key in seen)) {
        seen[key] = 1
        order[++nkeys] = key
    }
    med[key, $5] = $6
    rat[key, $5] = $7
    have[$5] = 1
}

function key_row(label, key, ratio_too,    line, i, l, v) {
    line = "| " label
    for (i = 1; i <= nlib; i++) {
        l = LIBS[i]
        if (!have[l])
            continue
        v = ((key, l) in med) ? fmt(med[key, l]) : "n/a"
        if (ratio_too && l != "libevent" && ((key, l) in rat) &&
            rat[key, l] != "")
            v = v " (" fmt_ratio(rat[key, l]) ")"
        line = line " | " v
    }
    print line " |"
}

END {
    if (mode == "tsv") {
        for (k = 1; k <= nkeys; k++) {
            key = order[k]
            for (i = 1; i <= nlib; i++) {
                l = LIBS[i]
                if (!((key, l) in vals))
                    continue
                rlist = ""
                for (r in rounds) {
                    if (((key, l, r) in byround) &&
                        ((key, "libevent", r) in byround) &&
                        byround[key, "libevent", r] + 0 != 0) {
                        rlist = rlist " " byround[key, l, r] / \
                            byround[key, "libevent", r]
                    }
                }
                nr = split(vals[key, l], tmp, " ")
                print key "\t" l "\t" median(vals[key, l]) "\t" \
                    median(rlist) "\t" nr
            }
        }
        exit
    }
    libs_hdr = ""; sep = ""; ratio_hdr = ""; ratio_sep = ""
    for (i = 1; i <= nlib; i++) {
        l = LIBS[i]
        if (!have[l])
            continue
        libs_hdr = libs_hdr " | " l; sep = sep " | ---:"
        if (l != "libevent" && have["libevent"]) {
            ratio_hdr = ratio_hdr " | " l "/libevent"
            ratio_sep = ratio_sep " | ---:"
        }
    }
    if (mode == "md") {
        print "| case | config | phase | metric" libs_hdr ratio_hdr " |"
        print "| --- | --- | --- | ---" sep ratio_sep " |"
        for (k = 1; k <= nkeys; k++) {
            key = order[k]
            split(key, f, "\t")
            line = "| " f[1] " | " f[2] " | " f[3] " | " f[4]
            for (i = 1; i <= nlib; i++) {
                l = LIBS[i]
                if (have[l])
                    line = line " | " (((key, l) in med) ? \
                        fmt(med[key, l]) : "")
            }
            for (i = 1; i <= nlib; i++) {
                l = LIBS[i]
                if (have[l] && l != "libevent" && have["libevent"])
                    line = line " | " ((((key, l) in rat) && \
                        rat[key, l] != "") ? fmt_ratio(rat[key, l]) : "")
            }
            print line " |"
        }
        exit
    }
    # mode == "key": the figures the issue asks for, ratios in brackets.
    print "| figure" libs_hdr " |"
    print "| ---" sep " |"
    key_row("pipechain, instructions per callback (N=1000)",
        "pipechain\tvariant=plain n=1000 tokens=100\tchain\tir_per_op", 1)
    key_row("pipechain with timeouts, instructions per callback (N=1000)",
        "pipechain\tvariant=timeout n=1000 tokens=100\tchain\tir_per_op", 1)
    key_row("re-registration, instructions per event (N=1000)",
        "pipechain\tvariant=plain n=1000 tokens=100\trereg\tir_per_op", 1)
    key_row("pipechain N=9000, wall ns per callback",
        "pipechain\tvariant=plain n=9000 tokens=100\tchain\tns_per_cb", 1)
    key_row("pipechain iterations (bench.c shape), instructions per " \
        "callback (N=1000)",
        "pipechain\tvariant=plain n=1000 tokens=100\titerations\tir_per_op", 1)
    key_row("pipechain iterations N=9000, wall ns per callback",
        "pipechain\tvariant=plain n=9000 tokens=100\titerations\tns_per_cb",
        1)
    key_row("timers M=1e6 random, CPU ns per op (all phases)",
        "timers\tmode=random m=1000000\tall\tns_per_op", 1)
    key_row("timers M=1e5 random, instructions per timer (all phases)",
        "timers\tmode=random m=100000\tall\tir_per_op", 1)
    key_row("echo 100 connections, wall ns per message",
        "echo\tconns=100 size=128\techo\tns_per_msg", 1)
    key_row("echo 100 connections, instructions per message",
        "echo\tconns=100 size=128\techo\tir_per_op", 1)
}

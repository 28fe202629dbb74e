#!/usr/bin/env bash
# Two builds of schoolgate side by side, taking turns, so that a slow spell of a shared machine
# falls on both: CONNECT + TLS tunnels (CPU a tunnel) and 50 keep-alive connections of 1 KiB GETs
# (req/s, CPU per 10k requests, p99), both proxies with the UT1 lists (when present) and logging.
#
#   Benchmarks/proxy/side_by_side.sh OLD-BINARY NEW-BINARY [rounds] [seconds]    (default 4 and 10)
#
# As compare.sh: nginx and the load on core 0, each proxy on core 1, loopback only (needs nginx,
# wrk, openssl, python3). Copy a build aside before rebuilding, e.g.
#   cp .build/release/schoolgate /tmp/old && <change> && swift build -c release --static-swift-stdlib --product schoolgate
#   Benchmarks/proxy/side_by_side.sh /tmp/old .build/release/schoolgate
# Prints one line per build per round; asserts nothing.
set -euo pipefail
old=$(realpath "$1"); new=$(realpath "$2"); rounds=${3:-4}; seconds=${4:-10}
cd "$(dirname "$0")/../.."
here=Benchmarks/proxy
work=$(mktemp -d /tmp/schoolgate-side-XXXX)
old_pid=""; new_pid=""
# The proxies start in command substitutions, so they are not this shell's jobs: killed by pid.
trap 'kill $old_pid $new_pid $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
source "$here/common.sh"
start_origin "$work"
start() { # binary port: prints the pid
    local d="$work/sg$2"; mkdir -p "$d"
    schoolgate_config "$d" "$2" $(($2 + 50)) $(($2 + 60))
    taskset -c 1 "$1" serve --config "$d/schoolgate.conf" --threads 1 > "$d/out" 2>&1 &
    echo $!
}
old_pid=$(start "$old" 13141); new_pid=$(start "$new" 13142)
for port in 13141 13142; do wait_listening "$work/sg$port/out" 20; done
write_absolute_lua "$work/absolute.lua"
ticks=$(getconf CLK_TCK)
cpu() { awk -v t="$ticks" '{print ($14 + $15) / t}' /proc/$1/stat; }
for round in $(seq "$rounds"); do
    for entry in old:13141:$old_pid new:13142:$new_pid; do
        IFS=: read -r name port pid <<<"$entry"
        before=$(cpu "$pid")
        taskset -c 0 python3 "$here/connect_tls.py" "$port" localhost 18443 500 > /dev/null
        tls=$(awk -v a="$before" -v b="$(cpu "$pid")" 'BEGIN { printf "%.3f", (b - a) * 1000 / 500 }')
        before=$(cpu "$pid")
        out=$(taskset -c 0 wrk -t1 -c50 -d"${seconds}s" --latency -s "$work/absolute.lua" "http://127.0.0.1:$port")
        after=$(cpu "$pid")
        total=$(echo "$out" | awk '/requests in/ {print $1}')
        printf '%-4s round %d: tls %s ms CPU a tunnel; keep-alive %s req/s, %s CPU s/10k, p99 %s\n' "$name" "$round" "$tls" \
            "$(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}')" \
            "$(awk -v a="$before" -v b="$after" -v n="$total" 'BEGIN { printf "%.3f", (b - a) * 10000 / n }')" \
            "$(echo "$out" | awk '$1 == "99%" {print $2}')"
    done
done

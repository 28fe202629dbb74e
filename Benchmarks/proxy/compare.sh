#!/usr/bin/env bash
# Schoolgate beside Squid, tinyproxy and Apache Traffic Server, under the same load, in one run.
#
#   Benchmarks/proxy/compare.sh [seconds-per-run]        (default 10; as root, on a quiet machine)
#
# Installs Debian's squid, tinyproxy, trafficserver, nginx, wrk and ab when missing. The origin
# (nginx, HTTP and HTTPS) and the load run on core 0, each proxy on core 1 (`taskset -c 1`, one
# worker or event loop; the script says if any proxy thread strays). Squid denies a
# 100,000-domain dstdomain list; Schoolgate loads the UT1 lists when ../shared/blocklists/ut1
# exists (else the starter lists) and logs every visit. Traffic stays on 127.0.0.1: names come
# from /etc/hosts, and the proxies with DNS resolvers of their own (Squid, Traffic Server) are
# pointed at 127.0.0.1, never at the machine's resolver.
#
# Prints one table (requests/s, proxy CPU seconds per 10k requests from /proc/PID/stat, p99,
# MB/s, RSS idle and holding 1,000 keep-alive connections) and Schoolgate's ratios to Squid and
# to Traffic Server. Not part of the tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d /tmp/schoolgate-compare-XXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; pkill -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT

need=()
for tool in squid tinyproxy traffic_server nginx wrk ab; do command -v $tool >/dev/null || need+=($tool); done
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq   # a fresh machine's package lists are empty: install would find nothing
    apt-get install -y -qq --no-install-recommends squid tinyproxy trafficserver nginx-light wrk apache2-utils >/dev/null
fi
ticks=$(getconf CLK_TCK)
cpu() { awk -v t="$ticks" '{print ($14 + $15) / t}' /proc/$1/stat; }

# The origin: 1 KiB and 10 MiB bodies.
source Benchmarks/proxy/common.sh
start_origin "$work"

# Squid: non-caching, access log on, a 100,000-domain deny list.
python3 -c "
for i in range(100000): print('.blocked%d.example' % i)" > "$work/deny.txt"
# Squid drops to its own user: its logs and state live in a folder that user owns.
chmod 755 "$work"
mkdir -p "$work/squid"
chown proxy: "$work/squid" 2>/dev/null || chmod 777 "$work/squid"
cat > "$work/squid.conf" <<SQUID
http_port 127.0.0.1:13128
pid_filename $work/squid/squid.pid
cache deny all
cache_mem 8 MB
cache_dir null /tmp
access_log stdio:$work/squid/access.log
cache_log $work/squid/cache.log
coredump_dir $work/squid
acl blocked dstdomain "$work/deny.txt"
acl localnet src 127.0.0.0/8
http_access deny blocked
http_access allow localnet
http_access deny all
workers 1
dns_nameservers 127.0.0.1
max_filedescriptors 16384
shutdown_lifetime 1 second
SQUID
taskset -c 1 squid -N -f "$work/squid.conf" > "$work/squid/stderr.log" 2>&1 &
squid_pid=$!

# tinyproxy.
cat > "$work/tinyproxy.conf" <<TINY
Port 13129
Listen 127.0.0.1
Timeout 60
MaxClients 2000
LogLevel Critical
Allow 127.0.0.1
TINY
taskset -c 1 tinyproxy -d -c "$work/tinyproxy.conf" > "$work/tinyproxy.out" 2>&1 &
tiny_pid=$!

# Apache Traffic Server: non-caching forward proxy, one exec thread. A runroot file points it at
# its own config, state and log folders (its Debian defaults are /etc, /run and /var).
ats="$work/ats"; mkdir -p "$ats/etc" "$ats/run" "$ats/log" "$ats/cache"
cp -r /etc/trafficserver/. "$ats/etc/"
cat > "$ats/runroot.yaml" <<RUNROOT
prefix: /usr
exec_prefix: /usr
bindir: /usr/bin
sbindir: /usr/sbin
sysconfdir: $ats/etc
datadir: $ats/cache
includedir: /usr/include
libdir: /usr/lib/trafficserver
libexecdir: /usr/lib/trafficserver/modules
localstatedir: $ats/run
runtimedir: $ats/run
logdir: $ats/log
cachedir: $ats/cache
RUNROOT
cat > "$ats/etc/records.config" <<ATS
CONFIG proxy.config.http.server_ports STRING 13130
CONFIG proxy.config.http.connect_ports STRING 443 18443
CONFIG proxy.config.url_remap.remap_required INT 0
CONFIG proxy.config.http.cache.http INT 0
CONFIG proxy.config.exec_thread.autoconfig INT 0
CONFIG proxy.config.exec_thread.limit INT 1
CONFIG proxy.config.exec_thread.affinity INT 0
CONFIG proxy.config.hostdb.host_file.path STRING /etc/hosts
CONFIG proxy.config.dns.nameservers STRING 127.0.0.1
CONFIG proxy.config.dns.resolv_conf STRING NULL
CONFIG proxy.config.accept_threads INT 0
CONFIG proxy.config.log.logging_enabled INT 0
CONFIG proxy.config.diags.debug.enabled INT 0
CONFIG proxy.config.admin.user_id STRING #-1
ATS
: > "$ats/etc/remap.config"
echo "$ats/cache 64M" > "$ats/etc/storage.config"
cat > "$ats/etc/ip_allow.yaml" <<IPALLOW
ip_allow:
  - apply: in
    ip_addrs: 127.0.0.1
    action: allow
  - apply: out
    ip_addrs: 0/0
    action: allow
IPALLOW
taskset -c 1 traffic_server --run-root="$ats/runroot.yaml" > "$ats/out.log" 2>&1 &
ats_pid=$!

# Schoolgate: release build, UT1 when present, visits logged.
swift build -c release --static-swift-stdlib --product schoolgate >/dev/null
schoolgate_config "$work" 13131 13180 13190
taskset -c 1 .build/release/schoolgate serve --config "$work/schoolgate.conf" --threads 1 > "$work/schoolgate.out" 2>&1 &
sg_pid=$!
sleep 4

write_absolute_lua "$work/absolute.lua"
here=$(dirname "$0")
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' /proc/$1/status; }
# Every thread of the proxy must stay on core 1, or the CPU figures compare unlike with unlike.
off_core() { for task in /proc/$1/task/*; do awk '/Cpus_allowed_list/ && $2 != "1" {print}' "$task/status"; done | sort -u | head -1; }
# MB/s of N downloads of the 10 MiB body, in one curl (one connection, or one tunnel).
bulk() { local n=5 urls=(); for _ in $(seq $n); do urls+=(-o /dev/null "$2"); done
         local start=$(date +%s.%N); taskset -c 0 curl -s -k $1 "${urls[@]}"
         awk -v s="$start" -v e="$(date +%s.%N)" -v n=$n 'BEGIN { printf "%.0f", n * 10.486 / (e - s) }'; }
tls_count=2000

header() { printf '%-14s %9s %9s %8s %9s %9s %8s %9s %9s %9s %8s %8s\n' proxy "ka req/s" "ka cpu" "ka p99" "new req/s" "new cpu" "new p99" "tls cpu" "MB/s http" "MB/s tls" "RSS idle" "RSS 1000"; }
echo "Load: wrk 50 keep-alive connections, 1 KiB GETs, ${seconds}s; ab 5000 new connections, 50 at once; $tls_count CONNECT + TLS handshake + GET; 5 x 10 MiB."
echo "cpu = proxy CPU seconds per 10k requests (user + system, /proc/PID/stat); RSS in MB."
header
declare -A logs=([squid]="$work/squid/stderr.log" [tinyproxy]="$work/tinyproxy.out" [trafficserver]="$ats/out.log" [schoolgate]="$work/schoolgate.out")
declare -A ka_rps ka_cpu new_rps new_cpu tls_cpu
live=()
for entry in squid:13128:$squid_pid tinyproxy:13129:$tiny_pid trafficserver:13130:$ats_pid schoolgate:13131:$sg_pid; do
    IFS=: read -r name port pid <<<"$entry"
    if ! kill -0 "$pid" 2>/dev/null; then
        printf '%-14s did not start:\n' "$name"
        tail -3 "${logs[$name]}" 2>/dev/null | sed 's/^/    /'
        continue
    fi
    # Follow the process that listens (for a proxy that forks its worker).
    listener=$(ss -ltnpH "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2); pid=${listener:-$pid}
    # Traffic Server sets its worker thread's affinity itself (to every core), whatever taskset
    # said: every thread is put back on core 1.
    taskset -a -cp 1 "$pid" > /dev/null
    live+=("$name:$port:$pid")
    curl -s -o /dev/null -x "http://127.0.0.1:$port" http://127.0.0.1:18081/1k || true
    idle=$(rss "$pid")
    before=$(cpu "$pid")
    out=$(taskset -c 0 wrk -t1 -c50 -d"${seconds}s" --latency -s "$work/absolute.lua" "http://127.0.0.1:$port" 2>&1)
    after=$(cpu "$pid")
    rps=$(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}')
    total=$(echo "$out" | awk '/requests in/ {print $1}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    errors=$(echo "$out" | awk '/Non-2xx|Socket errors/')
    [ -n "$errors" ] && echo "    $name: wrk reported: $errors"
    ka_cpu[$name]=$(awk -v a="$before" -v b="$after" -v n="$total" 'BEGIN { if (n > 0) printf "%.3f", (b - a) * 10000 / n; else print "-" }')
    ka_rps[$name]=$rps
    before=$(cpu "$pid")
    ab_out=$(taskset -c 0 ab -q -n 5000 -c 50 -X "127.0.0.1:$port" http://127.0.0.1:18081/1k 2>&1 || true)
    after=$(cpu "$pid")
    new_rps[$name]=$(echo "$ab_out" | awk '/Requests per second/ {printf "%.0f", $4}')
    new_p99=$(echo "$ab_out" | awk '$1 == "99%" {print $2 "ms"}')
    failed=$(echo "$ab_out" | awk '/Failed requests/ && $3 != 0')
    [ -n "$failed" ] && echo "    $name: ab reported: $failed"
    new_cpu[$name]=$(awk -v a="$before" -v b="$after" 'BEGIN { printf "%.3f", (b - a) * 10000 / 5000 }')
    before=$(cpu "$pid")
    if taskset -c 0 python3 "$here/connect_tls.py" "$port" localhost 18443 $tls_count > "$work/tls.out" 2>&1; then
        after=$(cpu "$pid")
        tls_cpu[$name]=$(awk -v a="$before" -v b="$after" -v n=$tls_count 'BEGIN { printf "%.3f", (b - a) * 10000 / n }')
    else
        tls_cpu[$name]="-"; echo "    $name: CONNECT client: $(tail -1 "$work/tls.out")"
    fi
    http_mbps=$(bulk "-x http://127.0.0.1:$port" http://127.0.0.1:18081/10m)
    tls_mbps=$(bulk "-x http://127.0.0.1:$port" https://localhost:18443/10m)
    coproc holder { taskset -c 0 python3 "$here/hold_connections.py" "$port" http://127.0.0.1:18081/1k 1000 2>&1; }
    read -r held <&"${holder[0]}" || held="failed"
    loaded=$( [[ $held == holding* ]] && rss "$pid" || echo "-")
    [[ $held == holding* ]] || echo "    $name: holding 1000 connections: $held"
    exec {holder[1]}>&-; wait "$holder_PID" 2>/dev/null || true
    stray=$(off_core "$pid")
    [ -n "$stray" ] && echo "    $name: a thread ran outside core 1: $stray"
    printf '%-14s %9s %9s %8s %9s %9s %8s %9s %9s %9s %8s %8s\n' "$name" "${rps:--}" "${ka_cpu[$name]}" "${p99:--}" "${new_rps[$name]:--}" \
        "${new_cpu[$name]}" "${new_p99:--}" "${tls_cpu[$name]}" "$http_mbps" "$tls_mbps" "$idle" "$loaded"
done
printf '%-14s %9s %9s %8s %9s %9s %8s %9s %9s %9s\n' "direct" \
    "$(taskset -c 0 wrk -t1 -c50 -d"${seconds}s" http://127.0.0.1:18081/1k 2>&1 | awk '/Requests\/sec/ {printf "%.0f", $2}')" "" "" "" "" "" "" \
    "$(bulk "" http://127.0.0.1:18081/10m)" "$(bulk "" https://localhost:18443/10m)"

# Ratios: schoolgate's figure over each peer's (req/s: higher is better; CPU: lower is better).
echo
printf '%-24s %12s %12s %12s %12s %12s\n' "schoolgate vs" "ka req/s" "ka cpu" "new req/s" "new cpu" "tls cpu"
for peer in squid trafficserver; do
    [ -n "${ka_rps[$peer]:-}" ] && [ -n "${ka_rps[schoolgate]:-}" ] || continue
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b; else print "-" }'; }
    printf '%-24s %12s %12s %12s %12s %12s\n' "$peer" "$(ratio "${ka_rps[schoolgate]}" "${ka_rps[$peer]}")" "$(ratio "${ka_cpu[schoolgate]}" "${ka_cpu[$peer]}")" \
        "$(ratio "${new_rps[schoolgate]}" "${new_rps[$peer]}")" "$(ratio "${new_cpu[schoolgate]}" "${new_cpu[$peer]}")" "$(ratio "${tls_cpu[schoolgate]}" "${tls_cpu[$peer]}")"
done
echo "targets against squid: ka req/s >= 1.50x, ka cpu <= 0.67x, p99 <= squid's, new conn the same, tls cpu <= 0.67x; MB/s http >= 2x squid, MB/s tls >= 0.9x direct"

# The two lines that single runs measure worst on a shared machine, again with the proxies (and
# the direct download) taking turns, so that a slow spell of the machine falls on all of them:
# medians over the rounds. Wake-ups (voluntary context switches of all the proxy's threads) are
# counted beside CPU: unlike time, they do not move with the machine's load. Only threads still
# alive are counted, so a proxy with a thread per connection (tinyproxy) shows too few.
rounds=5
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
wakes() { cat /proc/$1/task/*/status | awk '/^voluntary_ctxt_switches/ {s+=$2} END {print s}'; }
declare -A tls_ms tls_wakes bulk_pct
for round in $(seq $rounds); do
    direct=$(bulk "" https://localhost:18443/10m)
    for entry in "${live[@]}"; do
        IFS=: read -r name port pid <<<"$entry"
        before=$(cpu "$pid"); woke=$(wakes "$pid")
        taskset -c 0 python3 "$here/connect_tls.py" "$port" localhost 18443 500 > /dev/null 2>&1 || continue
        tls_ms[$name]+="$(awk -v a="$before" -v b="$(cpu "$pid")" 'BEGIN { printf "%.3f", (b - a) * 1000 / 500 }') "
        tls_wakes[$name]+="$(awk -v a="$woke" -v b="$(wakes "$pid")" 'BEGIN { printf "%.1f", (b - a) / 500 }') "
        bulk_pct[$name]+="$(awk -v p="$(bulk "-x http://127.0.0.1:$port" https://localhost:18443/10m)" -v d="$direct" 'BEGIN { printf "%.0f", 100 * p / d }') "
    done
done
echo
echo "Interleaved, $rounds rounds (median, then every round): 500 CONNECT + TLS + GET, and 5 x 10 MiB through CONNECT against direct just before"
printf '%-14s %22s %22s %22s\n' proxy "ms CPU a tunnel" "wake-ups a tunnel" "% of direct"
for entry in "${live[@]}"; do
    name=${entry%%:*}
    [ -n "${tls_ms[$name]:-}" ] || { printf '%-14s %22s\n' "$name" "(CONNECT client failed)"; continue; }
    printf '%-14s %22s %22s %22s\n' "$name" "$(median ${tls_ms[$name]})" "$(median ${tls_wakes[$name]})" "$(median ${bulk_pct[$name]})%"
    printf '%-14s %22s %22s %22s\n' "" "(${tls_ms[$name]% })" "(${tls_wakes[$name]% })" "(${bulk_pct[$name]% })"
done
if [ -n "${tls_ms[squid]:-}" ] && [ -n "${tls_ms[schoolgate]:-}" ]; then
    echo "schoolgate vs squid, tls cpu (medians): $(awk -v a="$(median ${tls_ms[schoolgate]})" -v b="$(median ${tls_ms[squid]})" 'BEGIN { printf "%.2fx", a / b }')"
fi

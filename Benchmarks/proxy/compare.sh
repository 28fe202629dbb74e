#!/usr/bin/env bash
# Schoolgate beside Squid, tinyproxy and Apache Traffic Server, under the same load, in one run.
#
#   Benchmarks/proxy/compare.sh [seconds-per-run]        (default 10; as root, on a quiet machine)
#
# Installs Debian's squid, tinyproxy, trafficserver, nginx, wrk and ab when missing. The origin
# (nginx) and the load run on core 0, each proxy on core 1 (`taskset -c 1`, one worker or event
# loop). Squid denies a 100,000-domain dstdomain list; Schoolgate loads the UT1 lists when
# ../shared/blocklists/ut1 exists (else the starter lists) and logs every visit. Traffic stays on
# 127.0.0.1. Prints one table: requests/s, proxy CPU seconds per 10k requests (from
# /proc/PID/stat), p99 latency, and ratios to Squid. Not part of the tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
work=$(mktemp -d /tmp/schoolgate-compare-XXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; pkill -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT

need=()
for tool in squid tinyproxy traffic_server nginx wrk ab; do command -v $tool >/dev/null || need+=($tool); done
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends squid tinyproxy trafficserver nginx-light wrk apache2-utils >/dev/null
fi
ticks=$(getconf CLK_TCK)
cpu() { awk -v t="$ticks" '{print ($14 + $15) / t}' /proc/$1/stat; }

# The origin: 1 KiB and 10 MiB bodies.
mkdir -p "$work/www"
head -c 1024 /dev/zero | tr '\0' 'x' > "$work/www/1k"
head -c 10485760 /dev/zero > "$work/www/10m"
cat > "$work/nginx.conf" <<NGINX
worker_processes 1; daemon off; pid $work/nginx.pid; error_log $work/nginx.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
       server { listen 127.0.0.1:18081; root $work/www; } }
NGINX
taskset -c 0 nginx -c "$work/nginx.conf" &
sleep 0.5

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
shutdown_lifetime 1 second
SQUID
taskset -c 1 squid -N -f "$work/squid.conf" > "$work/squid/stderr.log" 2>&1 &
squid_pid=$!

# tinyproxy.
cat > "$work/tinyproxy.conf" <<TINY
Port 13129
Listen 127.0.0.1
Timeout 60
MaxClients 1000
LogLevel Critical
Allow 127.0.0.1
TINY
taskset -c 1 tinyproxy -d -c "$work/tinyproxy.conf" > /dev/null 2>&1 &
tiny_pid=$!

# Apache Traffic Server: non-caching forward proxy, one exec thread.
ats="$work/ats"; mkdir -p "$ats/etc" "$ats/run" "$ats/log" "$ats/cache"
cp -r /etc/trafficserver/. "$ats/etc/" 2>/dev/null || true
cat > "$ats/etc/records.config" <<ATS
CONFIG proxy.config.http.server_ports STRING 13130
CONFIG proxy.config.url_remap.remap_required INT 0
CONFIG proxy.config.http.cache.http INT 0
CONFIG proxy.config.exec_thread.autoconfig INT 0
CONFIG proxy.config.exec_thread.limit INT 1
CONFIG proxy.config.accept_threads INT 0
CONFIG proxy.config.log.logging_enabled INT 0
CONFIG proxy.config.local_state_dir STRING $ats/run
CONFIG proxy.config.log.logfile_dir STRING $ats/log
CONFIG proxy.config.diags.debug.enabled INT 0
ATS
echo "" > "$ats/etc/remap.config"
echo "dest_ip=* action=ignore_default" > "$ats/etc/ip_allow.config" 2>/dev/null || true
cat > "$ats/etc/ip_allow.yaml" <<IPALLOW
ip_allow:
  - apply: in
    ip_addrs: 127.0.0.1
    action: allow
  - apply: out
    ip_addrs: 0/0
    action: allow
IPALLOW
echo "storage 0 0" > /dev/null
TS_ROOT="$ats" PROXY_CONFIG_CONFIG_DIR="$ats/etc" taskset -c 1 traffic_server -K > "$ats/out.log" 2>&1 &
ats_pid=$!

# Schoolgate: release build, UT1 when present, visits logged.
swift build -c release --product schoolgate >/dev/null
sed -e "s#^ut1 = .*#ut1 = $( [ -d ../shared/blocklists/ut1 ] && realpath ../shared/blocklists/ut1 || realpath blocklists/ut1-starter )#" \
    -e "s#^local = .*#local = $(realpath blocklists/schoolgate)#" \
    -e "s#^database = .*#database = $work/schoolgate.sqlite#" -e "s#^access-log = .*#access-log = $work/schoolgate-access.log#" \
    -e "s#^listen = .*#listen = 127.0.0.1:13131#" -e "s#^safesearch = .*#safesearch = off#" config/schoolgate.conf > "$work/schoolgate.conf"
taskset -c 1 .build/release/schoolgate serve --config "$work/schoolgate.conf" --threads 1 > "$work/schoolgate.out" 2>&1 &
sg_pid=$!
sleep 4

cat > "$work/absolute.lua" <<LUA
wrk.method = "GET"
wrk.path = "http://127.0.0.1:18081/1k"
wrk.headers["Host"] = "127.0.0.1:18081"
wrk.headers["Proxy-Connection"] = "keep-alive"
LUA

printf '%-12s %12s %12s %10s %12s %12s %12s\n' proxy "req/s ka" "cpu s/10k" "p99 ms" "req/s new" "cpu s/10k" "MB/s 10MiB"
declare -A result
for entry in squid:13128:$squid_pid tinyproxy:13129:$tiny_pid trafficserver:13130:$ats_pid schoolgate:13131:$sg_pid; do
    IFS=: read -r name port pid <<<"$entry"
    if ! kill -0 "$pid" 2>/dev/null; then printf '%-12s did not start\n' "$name"; continue; fi
    # Traffic Server runs its work in a child of traffic_server: follow the listener.
    listener=$(ss -ltnpH "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2); pid=${listener:-$pid}
    curl -s -o /dev/null -x "http://127.0.0.1:$port" http://127.0.0.1:18081/1k || true
    before=$(cpu "$pid")
    out=$(taskset -c 0 wrk -t1 -c50 -d"${seconds}s" --latency -s "$work/absolute.lua" "http://127.0.0.1:$port" 2>&1)
    after=$(cpu "$pid")
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    total=$(echo "$out" | awk '/requests in/ {print $1}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    cpu_ka=$(awk -v a="$before" -v b="$after" -v n="$total" 'BEGIN { if (n > 0) printf "%.3f", (b - a) * 10000 / n; else print "-" }')
    before=$(cpu "$pid")
    ab_out=$(taskset -c 0 ab -q -n 5000 -c 50 -X "127.0.0.1:$port" http://127.0.0.1:18081/1k 2>&1 || true)
    after=$(cpu "$pid")
    rps_new=$(echo "$ab_out" | awk '/Requests per second/ {print $4}')
    cpu_new=$(awk -v a="$before" -v b="$after" 'BEGIN { printf "%.3f", (b - a) * 10000 / 5000 }')
    start=$(date +%s.%N)
    taskset -c 0 curl -s -o /dev/null -x "http://127.0.0.1:$port" http://127.0.0.1:18081/10m
    taskset -c 0 curl -s -o /dev/null -x "http://127.0.0.1:$port" http://127.0.0.1:18081/10m
    mbps=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", 20 / (e - s) }')
    printf '%-12s %12s %12s %10s %12s %12s %12s\n' "$name" "${rps:--}" "$cpu_ka" "${p99:--}" "${rps_new:--}" "$cpu_new" "$mbps"
done
echo "direct nginx (no proxy): $(taskset -c 0 wrk -t1 -c50 -d"${seconds}s" http://127.0.0.1:18081/1k 2>&1 | awk '/Requests\/sec/ {print $2}') req/s"
echo "schoolgate RSS: $(awk '/VmRSS/ {print $2/1024 " MB"}' /proc/$sg_pid/status)   squid RSS: $(awk '/VmRSS/ {print $2/1024 " MB"}' /proc/$squid_pid/status)"

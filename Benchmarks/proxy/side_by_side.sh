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
chmod 755 "$work"   # nginx's worker reads the files as its own user
mkdir -p "$work/www"
head -c 1024 /dev/zero | tr '\0' 'x' > "$work/www/1k"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 2 -subj /CN=localhost 2>/dev/null
cat > "$work/nginx.conf" <<NGINX
worker_processes 1; daemon off; pid $work/nginx.pid; error_log $work/nginx.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
       server { listen 127.0.0.1:18081; root $work/www; }
       server { listen 127.0.0.1:18443 ssl; root $work/www; ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem;
                ssl_session_cache off; ssl_session_tickets off; } }
NGINX
taskset -c 0 nginx -c "$work/nginx.conf" &
lists=$( [ -d ../shared/blocklists/ut1 ] && realpath ../shared/blocklists/ut1 || realpath blocklists/ut1-starter )
start() { # binary port: prints the pid
    local d="$work/sg$2"; mkdir -p "$d"
    sed -e "s#^ut1 = .*#ut1 = $lists#" -e "s#^local = .*#local = $(realpath blocklists/schoolgate)#" \
        -e "s#^database = .*#database = $d/schoolgate.sqlite#" -e "s#^access-log = .*#access-log = $d/access.log#" \
        -e "/^\[proxy\]/,/^\[/ s#^listen = .*#listen = 127.0.0.1:$2#" -e "s#^connect-ports = .*#connect-ports = 443, 18443\nmax-connections-per-client = 2000#" \
        -e "s#^safesearch = .*#safesearch = off#" -e "/^\[consent\]/,/^\[/ s#^listen = .*#listen = 127.0.0.1:$(($2 + 50))#" \
        -e "/^\[admin\]/,/^\[/ s#^listen = .*#listen = 127.0.0.1:$(($2 + 60))#" config/schoolgate.conf > "$d/schoolgate.conf"
    cp config/guest-terms.txt "$d/"
    taskset -c 1 "$1" serve --config "$d/schoolgate.conf" --threads 1 > "$d/out" 2>&1 &
    echo $!
}
old_pid=$(start "$old" 13141); new_pid=$(start "$new" 13142)
for port in 13141 13142; do
    for _ in $(seq 100); do grep -q "listening on" "$work/sg$port/out" 2>/dev/null && break; sleep 0.2; done
    grep -q "listening on" "$work/sg$port/out" || { echo "the proxy on port $port did not start:" >&2; tail -3 "$work/sg$port/out" >&2; exit 1; }
done
cat > "$work/absolute.lua" <<LUA
wrk.method = "GET"
wrk.path = "http://127.0.0.1:18081/1k"
wrk.headers["Host"] = "127.0.0.1:18081"
wrk.headers["Proxy-Connection"] = "keep-alive"
LUA
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

# Sourced by compare.sh and side_by_side.sh (from the repository's root): the loopback origin,
# a Schoolgate config for a benchmark, and wrk's script for absolute-form keep-alive GETs.

# nginx on core 0 in `$1`: 1 KiB and 10 MiB bodies over HTTP (18081) and HTTPS (18443, a
# self-signed certificate for localhost). Started as a job of the calling shell.
start_origin() {
    local work=$1
    chmod 755 "$work"   # nginx's worker reads the files as its own user
    mkdir -p "$work/www"
    head -c 1024 /dev/zero | tr '\0' 'x' > "$work/www/1k"
    head -c 10485760 /dev/zero > "$work/www/10m"
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
    sleep 0.5
}

# The example config for a benchmark run in folder `$1`: the proxy on port `$2`, the captive
# page and admin addresses on `$3` and `$4`, UT1 when ../shared/blocklists/ut1 exists (else the
# starter lists), visits and the access log in the folder, SafeSearch off, port 18443 allowed.
schoolgate_config() {
    local dir=$1 port=$2 consent=$3 admin=$4
    local lists
    lists=$( [ -d ../shared/blocklists/ut1 ] && realpath ../shared/blocklists/ut1 || realpath blocklists/ut1-starter )
    sed -e "s#^ut1 = .*#ut1 = $lists#" -e "s#^local = .*#local = $(realpath blocklists/schoolgate)#" \
        -e "s#^database = .*#database = $dir/schoolgate.sqlite#" -e "s#^access-log = .*#access-log = $dir/schoolgate-access.log#" \
        -e "/^\[proxy\]/,/^\[/ s#^listen = .*#listen = 127.0.0.1:$port#" \
        -e "s#^connect-ports = .*#connect-ports = 443, 18443\nmax-connections-per-client = 2000#" -e "s#^safesearch = .*#safesearch = off#" \
        -e "/^\[consent\]/,/^\[/ s#^listen = .*#listen = 127.0.0.1:$consent#" -e "/^\[admin\]/,/^\[/ s#^listen = .*#listen = 127.0.0.1:$admin#" \
        config/schoolgate.conf > "$dir/schoolgate.conf"
    cp config/guest-terms.txt "$dir/"
}

# wrk's script: absolute-form GETs of the 1 KiB body, as a browser sends them to a proxy.
write_absolute_lua() {
    cat > "$1" <<LUA
wrk.method = "GET"
wrk.path = "http://127.0.0.1:18081/1k"
wrk.headers["Host"] = "127.0.0.1:18081"
wrk.headers["Proxy-Connection"] = "keep-alive"
LUA
}

# Waits up to `$2` seconds for `serve`'s output in file `$1` to say it is listening; stops the
# calling script, with the output's last lines, if it never does.
wait_listening() {
    local out=$1 seconds=$2
    for _ in $(seq $((seconds * 5))); do grep -q "listening on" "$out" 2>/dev/null && return; sleep 0.2; done
    echo "the proxy did not start ($out):" >&2; tail -3 "$out" >&2; exit 1
}

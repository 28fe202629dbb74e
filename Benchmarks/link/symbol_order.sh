#!/usr/bin/env bash
# Writes the link order of the proxy's functions (`Sources/SchoolgateCLI/schoolgate.order` unless $2 names a
# file): every function that start-up and the proxy's ordinary work run, busiest first, found by
# running BINARY under callgrind with the benchmark config and the kinds of traffic compare.sh
# sends. lld lays those functions out side by side, so they fill few pages of the 26 MB of code
# (see `schoolgateLinkerFlags` in Package.swift).
#   Benchmarks/link/symbol_order.sh .build/release/schoolgate [OUT]     (as root, from the repository's root)
# Needs valgrind, curl, ab and nginx. Loopback only: the blocked names are the shipped test names,
# refused before any lookup. Takes about a minute.
set -euo pipefail
binary=$(realpath "$1")
out=$(realpath -m "${2:-Sources/SchoolgateCLI/schoolgate.order}")
here=$(cd "$(dirname "$0")/.." && pwd)/proxy
source "$here/common.sh"
work=$(mktemp -d /tmp/schoolgate-order.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
port=23128
start_origin "$work"
schoolgate_config "$work" $port 23180 23181
# valgrind 3.19 cannot read the DWARF 5 that Swift writes: the symbol table is enough.
strip --strip-debug -o "$work/schoolgate" "$binary"
valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" --demangle=no --compress-strings=no \
    --compress-pos=no --dump-instr=no "$work/schoolgate" serve --config "$work/schoolgate.conf" > "$work/serve.log" 2>&1 &
serve=$!
wait_listening "$work/serve.log" 300   # under callgrind start-up took about 20 s here
proxy=127.0.0.1:$port
for url in http://127.0.0.1:18081/1k http://127.0.0.1:18081/10m http://self-harm.filter-test.invalid/ http://127.0.0.1:9/; do
    curl -s -o /dev/null -x $proxy "$url" || true
done
curl -sk -o /dev/null -x $proxy https://localhost:18443/1k || true
curl -sk -o /dev/null -x $proxy https://self-harm.filter-test.invalid/ || true
curl -s -o /dev/null http://127.0.0.1:23180/ || true
curl -s -o /dev/null http://127.0.0.1:23181/metrics || true
python3 "$here/connect_tls.py" $port localhost 18443 50 >/dev/null
ab -q -n 300 -c 5 -X $proxy http://127.0.0.1:18081/1k >/dev/null
ab -q -k -n 2000 -c 10 -X $proxy http://127.0.0.1:18081/1k >/dev/null
(sleep 10 | python3 "$here/hold_connections.py" $port http://127.0.0.1:18081/1k 300 >/dev/null)
sleep 15   # the writer's batches and the access log's flush
kill -TERM $serve
wait $serve || true
# Self cost of each function of the binary: the cost line after `calls=` is a callee's, not its own.
awk -v bin="$work/schoolgate" '
    /^ob=/ { inbin = (substr($0, 4) == bin); next }
    /^fn=/ { fn = inbin ? substr($0, 4) : ""; sub(/\047[0-9]+$/, "", fn); next }   # a recursion depth callgrind appends
    /^calls=/ { skip = 1; next }
    /^[0-9+-]/ { if (skip) { skip = 0; next } if (fn != "" && fn !~ /^0x/) cost[fn] += $2; next }
    END { for (f in cost) print cost[f], f }' "$work/callgrind.out" | sort -k1,1nr | cut -d' ' -f2- > "$out"
echo "$(wc -l < "$out") functions in $out"
# SwiftPM does not know the file is an input of the link.
echo "to link with it: rm .build/release/schoolgate && swift build -c release --static-swift-stdlib --product schoolgate"

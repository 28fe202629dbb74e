#!/usr/bin/env bash
# Builds the libFuzzer targets and runs each for a bounded time on the seed corpus.
#   Fuzz/run.sh [seconds-per-target] [max-runs-per-target]      (default 300 s, 10,000,000 runs)
# Not part of the tests or CI. Prints executions and crashes per target; crash inputs are kept
# in Fuzz/out/TARGET/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
runs=${2:-10000000}
out=Fuzz/out
mkdir -p "$out"

build() {
    local name=$1; shift
    mkdir -p "$out/bin"
    swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name "$name" -o "$out/bin/$name" "$@" 2>&1 | grep -v "Cannot export local symbol" || true
}
build ClientHelloFuzz Fuzz/ClientHelloTarget.swift Sources/SchoolgateProxy/TLS/ClientHelloParser.swift
build AuthorityFuzz Fuzz/AuthorityTarget.swift Sources/SchoolgatePolicy/Hosts/*.swift Sources/SchoolgatePolicy/URLs/*.swift

for target in ClientHelloFuzz:clienthello AuthorityFuzz:authority; do
    name=${target%%:*}; corpus=${target##*:}
    mkdir -p "$out/$name/corpus" "$out/$name/crashes"
    cp -n Fuzz/corpus/$corpus/* "$out/$name/corpus/" 2>/dev/null || true
    log="$out/$name/log.txt"
    set +e
    "$out/bin/$name" "$out/$name/corpus" -max_total_time="$seconds" -runs="$runs" -artifact_prefix="$out/$name/crashes/" \
        -print_final_stats=1 > "$log" 2>&1
    status=$?
    set -e
    executions=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
    crashes=$(find "$out/$name/crashes" -type f | wc -l)
    echo "$name: ${executions:-?} executions, $crashes crash(es), exit $status (log: $log)"
done

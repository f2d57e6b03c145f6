#!/usr/bin/env bash
# Where one tollgate-bench.sh mode's CPU goes, with call graphs: the gateway runs as
# ab-modes.sh runs it (CPU 0, one worker; nginx upstream and wrk -c64 on CPU 1) and
# `perf record --call-graph dwarf` samples it for 5 s in the middle of a 9 s load. The
# release build has no frame pointers, so `profile-modes.sh` (`-g`) cannot tell callers
# apart; this can (inclusive shares per system call, per TLS step), at the price of a
# larger profile and fewer samples.
#
#   BENCH_OUT=/tmp/tollgate-bench benches/load/profile-callgraph.sh full
#   perf report -i $BENCH_OUT/profiles/full.dwarf.data --children --sort sym -g none
#
# Needs perf, the material and a run directory of peers.sh in BENCH_OUT, and the release
# binary (BENCH_TOLLGATE_BIN, default target/release/tollgate).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${BENCH_OUT:?set BENCH_OUT to the peers.sh output directory}
mode=${1:?mode}
run_dir=$(ls -d "$out"/runs/*/ | tail -1)
token=$(cat "$out/token.jwt")
url=https://127.0.0.1:18447/api/v1/items/42
profiles="$out/profiles"; mkdir -p "$profiles"
binary=${BENCH_TOLLGATE_BIN:-$here/../../target/release/tollgate}

taskset -c 1 nginx -c "$run_dir/conf/nginx-upstream.conf" &
upstream=$!
gateway=""
trap 'kill $upstream ${gateway:+$gateway} 2> /dev/null' EXIT
sleep 0.5

env BENCH_TOLLGATE_BIN="$binary" GATEWAY_PORT=18447 BENCH_DIR="$out" BENCH_UPSTREAM=127.0.0.1:18080 BENCH_ROUTE_PREFIX=/api/ \
  BENCH_TLS_CERT="$out/material/server.crt" BENCH_TLS_KEY="$out/material/server.key" \
  BENCH_JWKS="$out/jwks.json" BENCH_JWT_ISS=bench-issuer BENCH_JWT_AUD=bench-api \
  BENCH_RL_PER_10S=1000000000 TOKIO_WORKER_THREADS=1 BENCH_TOLLGATE_MODE="$mode" \
  taskset -c 0 "$here/tollgate-bench.sh" > /dev/null 2>&1 < /dev/null &
gateway=$!
sleep 1.5
pid=$(pgrep -f "^$binary" | head -1)
taskset -c 1 wrk -t1 -c64 -d9s -H "Authorization: Bearer $token" "$url" > /dev/null &
load=$!
sleep 2
perf record -F 1500 --call-graph dwarf,16384 -o "$profiles/$mode.dwarf.data" -p "$pid" -- sleep 5
wait $load

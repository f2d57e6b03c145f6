#!/usr/bin/env bash
# Interleaved A/B of two tollgate-bench.sh modes (e.g. `tiers` vs `auth`) with the pinning of
# ../shared/bench/peers.sh: gateway on CPU 0, upstream nginx and wrk on CPU 1. Used where
# peers.sh cannot help: it runs one gateway configuration per run, and runs drift apart.
#
#   BENCH_OUT=/tmp/tollgate-bench benches/load/ab-modes.sh tiers auth [pairs=5] [seconds=10]
#   BENCH_OUT=/tmp/tollgate-bench benches/load/ab-modes.sh full@/tmp/tollgate-before full@/tmp/tollgate-after
#
# A mode may name the binary to run after `@` (before/after comparisons of one mode).
# Needs the material and a run directory of peers.sh in BENCH_OUT (run peers.sh once).
# Prints per round: mode, req/s, and the gateway's CPU µs per request (user + system, from
# /proc), then the median of each mode.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${BENCH_OUT:?set BENCH_OUT to the peers.sh output directory}
mode_a=${1:?mode A}; mode_b=${2:?mode B}; pairs=${3:-5}; seconds=${4:-10}
run_dir=$(ls -d "$out"/runs/*/ | tail -1)
token=$(cat "$out/token.jwt")
url=https://127.0.0.1:18447/api/v1/items/42

taskset -c 1 nginx -c "$run_dir/conf/nginx-upstream.conf" &
upstream=$!
trap 'kill $upstream 2>/dev/null' EXIT
sleep 0.5

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

round() { # mode[@binary] -> "mode[@binary] req/s µs/req"
  local mode=${1%%@*} binary=""
  [ "$mode" != "$1" ] && binary=${1#*@}
  env ${binary:+BENCH_TOLLGATE_BIN="$binary"} GATEWAY_PORT=18447 BENCH_DIR="$out" BENCH_UPSTREAM=127.0.0.1:18080 BENCH_ROUTE_PREFIX=/api/ \
    BENCH_TLS_CERT="$out/material/server.crt" BENCH_TLS_KEY="$out/material/server.key" \
    BENCH_JWKS="$out/jwks.json" BENCH_JWT_ISS=bench-issuer BENCH_JWT_AUD=bench-api \
    BENCH_RL_PER_10S=1000000000 TOKIO_WORKER_THREADS=1 BENCH_TOLLGATE_MODE="$mode" \
    taskset -c 0 "$here/tollgate-bench.sh" > /dev/null 2>&1 < /dev/null &
  local gateway=$!
  sleep 1
  taskset -c 1 wrk -t1 -c64 -d3s -H "Authorization: Bearer $token" "$url" > /dev/null
  local before; before=$(cpu_ticks $gateway)
  local report; report=$(taskset -c 1 wrk -t1 -c64 -d"${seconds}s" -H "Authorization: Bearer $token" "$url")
  local after; after=$(cpu_ticks $gateway)
  kill $gateway; wait $gateway 2>/dev/null || true
  local requests; requests=$(echo "$report" | awk '/requests in/ {print $1}')
  local rate; rate=$(echo "$report" | awk '/Requests\/sec/ {print int($2)}')
  local clk; clk=$(getconf CLK_TCK)
  echo "$1 $rate $(awk -v t=$((after - before)) -v n="$requests" -v c="$clk" 'BEGIN {printf "%.1f", t / c * 1e6 / n}')"
}

results=$(for _ in $(seq "$pairs"); do round "$mode_a"; round "$mode_b"; done | tee /dev/stderr)
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
for mode in "$mode_a" "$mode_b"; do
  rate=$(echo "$results" | awk -v m="$mode" '$1 == m {print $2}' | median)
  cpu=$(echo "$results" | awk -v m="$mode" '$1 == m {print $3}' | median)
  echo "median $mode: $rate req/s, $cpu µs CPU per request"
done

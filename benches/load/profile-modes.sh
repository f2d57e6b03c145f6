#!/usr/bin/env bash
# Where the CPU of one tollgate-bench.sh mode goes, beside another's: each mode is run as
# ab-modes.sh runs it (gateway on CPU 0, nginx upstream and wrk -c64 on CPU 1), `perf record`
# samples the gateway while wrk loads it, and the symbols whose share of samples per request
# grew the most are printed. Absolute timings are meaningless on a shared machine; shares of
# samples within one run are usable.
#
#   BENCH_OUT=/tmp/tollgate-bench benches/load/profile-modes.sh full full-bjwt [seconds=15]
#
# Needs perf, the material and a run directory of peers.sh in BENCH_OUT, and the release
# binary (BENCH_TOLLGATE_BIN, default target/release/tollgate). Profiles and reports are left
# in $BENCH_OUT/profiles/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${BENCH_OUT:?set BENCH_OUT to the peers.sh output directory}
mode_a=${1:?mode A}; mode_b=${2:?mode B}; seconds=${3:-15}
run_dir=$(ls -d "$out"/runs/*/ | tail -1)
token=$(cat "$out/token.jwt")
url=https://127.0.0.1:18447/api/v1/items/42
profiles="$out/profiles"; mkdir -p "$profiles"

taskset -c 1 nginx -c "$run_dir/conf/nginx-upstream.conf" &
upstream=$!
gateway=""
trap 'kill $upstream ${gateway:+$gateway} 2> /dev/null' EXIT
sleep 0.5
kill -0 $upstream || { echo "the upstream nginx did not start (is 127.0.0.1:18080 taken?)" >&2; exit 1; }

profile() { # mode -> $profiles/<mode>.{data,wrk,syms}
  local mode=$1
  env GATEWAY_PORT=18447 BENCH_DIR="$out" BENCH_UPSTREAM=127.0.0.1:18080 BENCH_ROUTE_PREFIX=/api/ \
    BENCH_TLS_CERT="$out/material/server.crt" BENCH_TLS_KEY="$out/material/server.key" \
    BENCH_JWKS="$out/jwks.json" BENCH_JWT_ISS=bench-issuer BENCH_JWT_AUD=bench-api \
    BENCH_RL_PER_10S=1000000000 TOKIO_WORKER_THREADS=1 BENCH_TOLLGATE_MODE="$mode" \
    taskset -c 0 "$here/tollgate-bench.sh" > /dev/null 2>&1 < /dev/null &
  gateway=$!
  for _ in $(seq 100); do (exec 3<> /dev/tcp/127.0.0.1/18447) 2> /dev/null && break; sleep 0.1; done
  taskset -c 1 wrk -t1 -c64 -d3s -H "Authorization: Bearer $token" "$url" > /dev/null
  taskset -c 1 wrk -t1 -c64 -d"$((seconds + 2))s" -H "Authorization: Bearer $token" "$url" > "$profiles/$mode.wrk" &
  local load=$!
  perf record -F 25000 -g -p $gateway -o "$profiles/$mode.data" -- sleep "$seconds"
  wait $load
  kill $gateway; wait $gateway 2>/dev/null || true
  gateway=""
  perf report -i "$profiles/$mode.data" --no-children -g none --sort sym 2> /dev/null > "$profiles/$mode.syms"
  perf report -i "$profiles/$mode.data" --no-children -g none --sort dso -F sample,dso 2> /dev/null |
    awk '!/^#/ && NF {s += $1} END {print s}' > "$profiles/$mode.samples"
}

profile "$mode_a"
profile "$mode_b"
python3 - "$profiles" "$mode_a" "$mode_b" <<'PY'
import re, sys
profiles, a, b = sys.argv[1:]
def load(mode):
    shares = {}
    for line in open(f"{profiles}/{mode}.syms"):
        m = re.match(r"\s+([\d.]+)%\s+\[.\]\s+(.*)", line)
        if m:
            shares[m.group(2).strip()] = shares.get(m.group(2).strip(), 0) + float(m.group(1)) / 100
    return shares
def per_request(mode):
    samples = int(open(f"{profiles}/{mode}.samples").read())
    requests = int(re.search(r"(\d+) requests in", open(f"{profiles}/{mode}.wrk").read()).group(1))
    return samples / requests
sa, sb = load(a), load(b)
ra, rb = per_request(a), per_request(b)
print(f"samples per request: {a} {ra:.3f}, {b} {rb:.3f} ({rb / ra:.3f}x; noisy, see ab-modes.sh for the ratio)")
delta = sorted(((sb.get(k, 0) * rb - sa.get(k, 0) * ra, k) for k in set(sa) | set(sb)), reverse=True)
print(f"symbols whose samples per request grew most from {a} to {b}:")
for d, k in delta[:25]:
    print(f"  {d:+.4f}  {sa.get(k, 0) * 100:5.2f}% -> {sb.get(k, 0) * 100:5.2f}%  {k[:100]}")
PY

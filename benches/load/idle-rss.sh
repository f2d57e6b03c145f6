#!/usr/bin/env bash
# Idle resident memory of the release binary with the sample configuration (issue 15).
#
# Starts `tollgate` with config/gateway.toml (listeners moved to ports the system picks), with
# 1 and then 2 worker threads, waits until it is ready, lets it settle, and prints its resident
# memory split into anonymous (heap, stacks) and file-backed (the binary's pages) memory, from
# /proc/PID/smaps_rollup, and the threads it runs.
#
#   bash benches/load/idle-rss.sh             (after `cargo build --release -p tollgate-gateway`)
#   TOLLGATE_BIN=path/to/tollgate             the binary (default: target/release/tollgate)
#   SETTLE_SECONDS=3                          how long to wait once ready (default 3)
#   WORKERS="1 2"                             the worker counts to measure
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${TOLLGATE_BIN:-$root/target/release/tollgate}
settle=${SETTLE_SECONDS:-3}
work=$(mktemp -d /tmp/idle-rss.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

kib() { awk -v key="$1:" '$1 == key {print $2}' "/proc/$2/smaps_rollup"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

wait_ready() { # pid log
  for _ in $(seq 300); do
    local admin
    admin=$(grep -o 'admin=[0-9.:]*' "$2" | head -1 | cut -d= -f2 || true)
    if [ -n "$admin" ] && curl -fs "http://$admin/health/ready" > /dev/null; then return; fi
    kill -0 "$1" 2>/dev/null || { echo "tollgate exited:" >&2; cat "$2" >&2; exit 1; }
    sleep 0.1
  done
  echo "tollgate not ready" >&2; exit 1
}

printf '%-8s %9s %9s %9s %8s  %s\n' workers 'RSS MiB' 'anon MiB' 'file MiB' threads names
for workers in ${WORKERS:-1 2}; do
  (cd "$root" && exec env TOKIO_WORKER_THREADS="$workers" TOLLGATE_LISTENER__HTTPS=127.0.0.1:0 \
    TOLLGATE_LISTENER__HTTP=127.0.0.1:0 TOLLGATE_ADMIN__ADDRESS=127.0.0.1:0 \
    "$bin" --config config/gateway.toml) > "$work/log.$workers" 2>&1 &
  pid=$!
  wait_ready "$pid" "$work/log.$workers"
  sleep "$settle"
  rss=$(kib Rss "$pid"); anon=$(kib Anonymous "$pid")
  names=$(cat /proc/"$pid"/task/*/comm | tr ' ' _ | sort | uniq -c | awk '{printf "%s%s×%s", sep, $2, $1; sep=" "}')
  printf '%-8s %9s %9s %9s %8s  %s\n' "$workers" "$(mib "$rss")" "$(mib "$anon")" "$(mib $((rss - anon)))" \
    "$(ls /proc/"$pid"/task | wc -l)" "$names"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done

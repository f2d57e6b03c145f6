#!/usr/bin/env bash
# Memory per client connection, Tollgate beside nginx (issue 17 item 8).
#
# Each proxy serves TLS 1.3 on 127.0.0.1 with one worker and proxies /api/ to a local upstream.
# For each mode of hold-connections.py (idle keep-alive after one request; a request head begun
# but not finished), N connections are opened and held, and the growth of the proxy's resident
# memory (VmRSS of the serving process) divided by N is reported in KiB per connection.
#
#   bash benches/load/conn-memory.sh [N]        (default 2000; needs nginx and openssl)
#   TOLLGATE_BIN=path/to/tollgate  the binary (default: target/release/tollgate)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
count=${1:-2000}
bin=${TOLLGATE_BIN:-$root/target/release/tollgate}
work=$(mktemp -d /tmp/conn-memory.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; sleep 0.3; rm -rf "$work"' EXIT
ulimit -n 20000

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; echo "port $1 not open" >&2; exit 1; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

# Upstream: nginx answering 100 bytes.
up_port=$(free_port)
mkdir -p "$work/up" "$work/ngx/logs" "$work/ngx/tmp"
cat > "$work/up/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $work/up/nginx.pid; error_log $work/up/error.log warn;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $work/up; proxy_temp_path $work/up; fastcgi_temp_path $work/up;
  uwsgi_temp_path $work/up; scgi_temp_path $work/up;
  server { listen 127.0.0.1:$up_port; location / { return 200 "$(printf '%0100d' 0)"; } } }
CONF
nginx -c "$work/up/nginx.conf" -e "$work/up/error.log" & wait_port "$up_port"

measure() { # name pid port mode path
  local name=$1 pid=$2 port=$3 mode=$4 path=$5 before after
  python3 "$here/hold-connections.py" "127.0.0.1:$port" 20 idle "$path" < /dev/null > /dev/null
  sleep 0.5
  before=$(rss_kib "$pid")
  coproc HOLD { python3 "$here/hold-connections.py" "127.0.0.1:$port" "$count" "$mode" "$path"; }
  read -r _ <&"${HOLD[0]}"
  sleep 1
  after=$(rss_kib "$pid")
  echo >&"${HOLD[1]}"; wait "$HOLD_PID" 2>/dev/null || true
  awk -v n="$name" -v m="$mode" -v c="$count" -v b="$before" -v a="$after" \
    'BEGIN { printf "%-9s %-8s %5d connections: RSS %6.1f -> %6.1f MiB, %5.1f KiB per connection\n", n, m, c, b/1024, a/1024, (a-b)/c }'
  sleep 2
}

# Tollgate
tg_port=$(free_port)
mkdir -p "$work/tg/apis"
cat > "$work/tg/gateway.toml" <<TOML
[listener]
https = "127.0.0.1:$tg_port"
header_read_timeout_ms = 60000
idle_timeout_ms = 60000
[tls]
cert = "$work/cert.pem"
key = "$work/key.pem"
[admin]
address = "127.0.0.1:0"
[source]
kind = "file"
path = "$work/tg/apis"
TOML
cat > "$work/tg/apis/api.yaml" <<YAML
apis:
  - {id: bench, name: bench, version: v1, context: /api,
     endpoints: {production: {urls: ["http://127.0.0.1:$up_port"]}},
     operations: [{target: "/*", verb: "*", secured: false}]}
policies:
  - {kind: subscription, name: Unauthenticated, limit: {requestCount: 4000000000, unitTime: 1, timeUnit: sec}}
YAML
# A fresh process per mode: freed memory is kept by the allocator and would hide the growth.
for mode in idle headers; do
  TOKIO_WORKER_THREADS=1 taskset -c 0 "$bin" --config "$work/tg/gateway.toml" > "$work/tg/log" 2>&1 &
  tg_pid=$!
  wait_port "$tg_port"
  measure tollgate "$tg_pid" "$tg_port" "$mode" /api/v1/x
  kill "$tg_pid"; wait "$tg_pid" 2>/dev/null || true
  while (exec 3<>"/dev/tcp/127.0.0.1/$tg_port") 2>/dev/null; do sleep 0.1; done
done

# nginx, configured as in ../shared/bench/conf/nginx.conf (scenario B)
ngx_port=$(free_port)
cat > "$work/ngx/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $work/ngx/nginx.pid; error_log $work/ngx/logs/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http { access_log off; client_body_temp_path $work/ngx/tmp; proxy_temp_path $work/ngx/tmp;
  fastcgi_temp_path $work/ngx/tmp; uwsgi_temp_path $work/ngx/tmp; scgi_temp_path $work/ngx/tmp;
  keepalive_timeout 300s; client_header_timeout 60s;
  upstream up { server 127.0.0.1:$up_port; keepalive 256; }
  ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem; ssl_protocols TLSv1.3;
  server { listen 127.0.0.1:$ngx_port ssl backlog=4096;
    location /api/ { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF
for mode in idle headers; do
  taskset -c 0 nginx -c "$work/ngx/nginx.conf" -e "$work/ngx/logs/error.log" &
  ngx_pid=$!
  wait_port "$ngx_port"
  ngx_worker=$(pgrep -P "$(cat "$work/ngx/nginx.pid")" | head -1)
  measure nginx "$ngx_worker" "$ngx_port" "$mode" /api/x
  kill "$ngx_pid"; wait "$ngx_pid" 2>/dev/null || true
  while (exec 3<>"/dev/tcp/127.0.0.1/$ngx_port") 2>/dev/null; do sleep 0.1; done
done

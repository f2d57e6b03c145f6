#!/usr/bin/env bash
# Runs Tollgate under ../shared/bench/peers.sh (its GATEWAY_CMD). Turns the harness's BENCH_*
# variables into a Tollgate configuration in a temporary directory and execs the release
# binary in the foreground, so the harness's SIGTERM reaches the gateway directly.
#
# From peers.sh: GATEWAY_PORT, BENCH_UPSTREAM, BENCH_ROUTE_PREFIX (/api/), BENCH_TLS_CERT/KEY,
# BENCH_DIR (material/jwt-public.pem is the key behind BENCH_JWKS), BENCH_JWT_ISS/AUD,
# BENCH_RL_PER_10S, TOKIO_WORKER_THREADS=1.
# Our own knobs:
#   BENCH_TOLLGATE_MODE=full (default)  JWT (key manager by iss, aud, exp) + subscription check
#                                       (consumer key = sub) + subscription rate limit per 10 s
#                       proxy           route + proxy only (secured: false; the Unauthenticated
#                                       per-IP limit is raised so that it never fires)
#                       tiers           full + every tier active with limits that never fire
#                                       (api, burst, subscription, application)
#                       auth            full without any rate-limit tier (every policy Unlimited):
#                                       the baseline that `tiers` is compared with
#                       full-bjwt       full + backendJwt: true, signed with an EC P-256 key
#                                       generated here (openssl): compared with `full`
#                       full-trace0     full + [tracing] exporting to a local OTLP sink with
#                                       sample_ratio = 0: propagation only (the cost the
#                                       issue bounds at 2 % over `full`)
#                       full-trace1     full + [tracing] with sample_ratio = 1.0: every request
#                                       exported (2 spans) to the sink (otlp-sink.py, on CPU 1)
#   BENCH_TOLLGATE_BIN   the binary (default: target/release/tollgate of this checkout)
#   BENCH_OTLP_ENDPOINT  for the traced modes: a collector to export to instead of the sink
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${BENCH_TOLLGATE_BIN:-$root/target/release/tollgate}
mode=${BENCH_TOLLGATE_MODE:-full}
trace_ratio=""
case "$mode" in
  full-trace0) mode=full; trace_ratio=0.0 ;;
  full-trace1) mode=full; trace_ratio=1.0 ;;
esac
: "${GATEWAY_PORT:?}" "${BENCH_UPSTREAM:?}" "${BENCH_TLS_CERT:?}" "${BENCH_TLS_KEY:?}"
prefix=${BENCH_ROUTE_PREFIX:-/api/}
prefix=${prefix%/}
limit=${BENCH_RL_PER_10S:-1000000000}
[ "$limit" -gt 4000000000 ] && limit=4000000000

work=$(mktemp -d /tmp/tollgate-bench.XXXXXX)
mkdir -p "$work/apis"

cat > "$work/gateway.toml" <<TOML
[listener]
https = "127.0.0.1:$GATEWAY_PORT"

[tls]
cert = "$BENCH_TLS_CERT"
key = "$BENCH_TLS_KEY"

[admin]
address = "127.0.0.1:0"

[source]
kind = "file"
path = "$work/apis"

[shutdown]
drain_seconds = 0
timeout_seconds = 5

[log]
access = false
TOML

if [ "$mode" = full-bjwt ]; then
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/backend-jwt.pem" 2> /dev/null
  printf '\n[backend_jwt]\nkey = "%s"\n' "$work/backend-jwt.pem" >> "$work/gateway.toml"
fi
if [ -n "$trace_ratio" ]; then
  endpoint=${BENCH_OTLP_ENDPOINT:-}
  if [ -z "$endpoint" ]; then
    # The sink follows this process (the gateway after exec) and exits with it.
    sink_cpu=()
    command -v taskset > /dev/null && sink_cpu=(taskset -c "${BENCH_OTLP_SINK_CPU:-1}")
    "${sink_cpu[@]}" python3 "$here/otlp-sink.py" "$work/otlp.port" $$ < /dev/null &
    for _ in $(seq 50); do [ -f "$work/otlp.port" ] && break; sleep 0.1; done
    endpoint="http://127.0.0.1:$(cat "$work/otlp.port")/v1/traces"
  fi
  cat >> "$work/gateway.toml" <<TOML

[tracing]
otlp_endpoint = "$endpoint"
service_name = "tollgate-bench"
sample_ratio = $trace_ratio
TOML
fi

# The request is GET $prefix/v1/items/42: context $prefix, version v1.
secured=true
[ "$mode" = proxy ] && secured=false
api_policy=""
[ "$mode" = tiers ] && api_policy="    throttlingPolicy: BenchApi"
[ "$mode" = full-bjwt ] && api_policy="    backendJwt: true"
cat > "$work/apis/bench.yaml" <<YAML
apis:
  - id: bench
    name: Bench
    version: v1
    context: "$prefix"
$api_policy
    endpoints:
      production:
        urls: ["http://$BENCH_UPSTREAM"]
    operations:
      - {target: "/*", verb: "*", secured: $secured}
YAML

if [ "$mode" = proxy ]; then
  # Unsecured operations meet the built-in Unauthenticated policy (500/min per client IP);
  # the proxy-only run lifts it so that it never fires (it is still evaluated).
  cat > "$work/apis/identity.yaml" <<YAML
policies:
  - {kind: subscription, name: Unauthenticated, limit: {requestCount: 4000000000, unitTime: 1, timeUnit: sec}}
YAML
else
  : "${BENCH_DIR:?}" "${BENCH_JWT_ISS:?}" "${BENCH_JWT_AUD:?}"
  pem="$BENCH_DIR/material/jwt-public.pem"
  sub=$(sed -n 's/^JWT_SUB=//p' "$BENCH_DIR/material/jwt.env")
  {
    echo "keyManagers:"
    echo "  - name: bench-km"
    echo "    issuer: \"$BENCH_JWT_ISS\""
    echo "    audiences: [\"$BENCH_JWT_AUD\"]"
    echo "    algorithms: [RS256]"
    echo "    consumerKeyClaim: sub"
    echo "    certificate: |"
    sed 's/^/      /' "$pem"
    echo "applications:"
    if [ "$mode" = tiers ]; then
      echo "  - {id: bench-app, name: BenchApp, policy: BenchApplication}"
    else
      echo "  - {id: bench-app, name: BenchApp}"
    fi
    echo "keyMappings:"
    echo "  - {applicationId: bench-app, consumerKey: \"$sub\", keyType: PRODUCTION, keyManager: bench-km}"
    echo "subscriptions:"
    if [ "$mode" = auth ]; then
      echo "  - {id: bench-sub, apiId: bench, applicationId: bench-app, policy: Unlimited, status: UNBLOCKED}"
    else
      echo "  - {id: bench-sub, apiId: bench, applicationId: bench-app, policy: BenchSubscription, status: UNBLOCKED}"
    fi
    echo "policies:"
    echo "  - kind: subscription"
    echo "    name: BenchSubscription"
    echo "    limit: {requestCount: $limit, unitTime: 10, timeUnit: sec}"
    if [ "$mode" = tiers ]; then
      echo "    burst: {requestCount: 1000000000, timeUnit: sec}"
      echo "  - {kind: application, name: BenchApplication, limit: {requestCount: 1000000000, unitTime: 1, timeUnit: min}}"
      echo "  - {kind: api, name: BenchApi, limit: {requestCount: 1000000000, unitTime: 1, timeUnit: min}}"
    fi
  } > "$work/apis/identity.yaml"
fi

exec "$bin" --config "$work/gateway.toml"

#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine (idempotent, quiet):
# redis-server (rate limits shared across replicas), rabbitmq-server (standing in for WSO2 API-M's
# event hub), curl, cargo-machete (CI's unused-dependency check), then the operator-kit tools.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v cargo-machete >/dev/null 2>&1; then
  echo "installing: cargo-machete (crates.io)"
  cargo install cargo-machete --locked --quiet
fi
if [ -x .ci/ops-tools.sh ]; then
  .ci/ops-tools.sh
fi

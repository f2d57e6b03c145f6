#!/usr/bin/env bash
# Installs, on a fresh Debian 12 machine, the tools the operator-kit tests
# (tests/e2e/operations) run. Idempotent and quiet: prints one line per install, nothing when
# everything is there. The tests never skip: a missing tool fails them with a message naming
# this script.
#   curl                 apt        runs the commands `tollgate demo` prints
#   promtool             apt        `prometheus` package: check metrics, check rules, test rules
#   kubectl              image      `kubectl kustomize` (kustomize v5, kubectl >= 1.27) renders k8s/
#   kubernetes-validate  PyPI       Kubernetes JSON schemas, offline; in target/ops-tools/venv
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

KUBERNETES_VALIDATE_VERSION=1.37.0
VENV=target/ops-tools/venv

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  echo "ops-tools: apt-get install $*"
  if [ -z "${OPS_TOOLS_APT_UPDATED:-}" ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    OPS_TOOLS_APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}"
fi

# kubectl is on this project's machine image (not in Debian 12, whose kubernetes-client is
# 1.20 with a kustomize too old for k8s/). Say so plainly rather than install an old one.
if ! command -v kubectl >/dev/null 2>&1; then
  echo "ops-tools: kubectl is missing; install kubectl >= 1.27 (it embeds kustomize v5) and re-run" >&2
  exit 1
fi
kustomize_major=$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\).*/\1/p')
if [ "${kustomize_major:-0}" -lt 5 ]; then
  echo "ops-tools: kubectl's kustomize is older than v5 ($(kubectl version --client 2>&1 | tr '\n' ' ')); install kubectl >= 1.27" >&2
  exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "ops-tools: python venv $VENV"
  python3 -m venv --clear "$VENV"
fi
if ! "$VENV/bin/kubernetes-validate" --version 2>/dev/null | grep -qF "$KUBERNETES_VALIDATE_VERSION"; then
  echo "ops-tools: pip install kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  "$VENV/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi

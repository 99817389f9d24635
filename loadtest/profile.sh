#!/usr/bin/env bash
# Where does the time go? Runs the mesh (release build from BENCH_TARGET_DIR) at RATE
# submissions/s through the gateway and samples every CPU of the machine with perf
# (cpu-clock: hardware counters are not available on these VMs). Prints the CPU share per
# process and the hottest symbols of intake and the gateway. Loopback only, bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TD=${BENCH_TARGET_DIR:-target}
RATE=${RATE:-500}
SECONDS_SAMPLED=${SECONDS_SAMPLED:-15}
command -v perf >/dev/null || { apt-get update -qq && apt-get install -y -qq linux-perf; }
bash loadtest/tools.sh
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
SECRET=profile-$(date +%s)
PG=postgres://postgres@127.0.0.1:5432
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS aftersales_profile WITH (FORCE)" -qc "CREATE DATABASE aftersales_profile"
export AFTERSALES__AUTH__JWT_SECRET=$SECRET AFTERSALES__AMQP__NAME_PREFIX=profile. AFTERSALES__TELEMETRY__LOG_LEVEL=warn
AFTERSALES__DATABASE__URL=$PG/aftersales_profile "$TD/release/intake" serve >"$WORK/intake.log" 2>&1 &
AFTERSALES__REDIS__KEY_PREFIX=profile: "$TD/release/gateway" serve >"$WORK/gateway.log" 2>&1 &
for u in http://127.0.0.1:51051/readyz http://127.0.0.1:8081/readyz; do
  for _ in $(seq 1 150); do curl -fsS -o /dev/null "$u" 2>/dev/null && break; sleep 0.2; done
done
"$ROOT/.tools/venv/bin/k6" run --no-usage-report --quiet -e JWT_SECRET="$SECRET" -e RATE="$RATE" \
  -e DURATION="$((SECONDS_SAMPLED + 10))s" loadtest/submit.js >"$WORK/k6.txt" 2>&1 &
sleep 5
perf record -e cpu-clock -F 499 -a -o "$WORK/perf.data" -- sleep "$SECONDS_SAMPLED" >/dev/null 2>&1
echo "== CPU share per process (all CPUs, ${SECONDS_SAMPLED}s at ${RATE}/s through the gateway; kernel time included)"
perf script -i "$WORK/perf.data" -F pid 2>/dev/null | sort | uniq -c | sort -rn | head -12 | while read -r n pid; do
  name=$(cat "/proc/$pid/comm" 2>/dev/null || echo "exited:$pid")
  echo "$n $name"
done | awk '{ c[$2] += $1; t += $1 } END { for (k in c) printf "%6.1f%%  %s\n", 100 * c[k] / t, k }' \
  | sort -rn || true
total=$(perf script -i "$WORK/perf.data" -F pid 2>/dev/null | wc -l)
for bin in intake gateway; do
  echo "== hottest symbols in the $bin binary (percent of its own samples)"
  perf report -i "$WORK/perf.data" --no-children --dsos "$bin" --sort sym  --stdio 2>/dev/null \
    | grep -E '^ +[0-9]' | head -10 || true
done
echo "== hottest shared libraries and the kernel (percent of all samples)"
perf report -i "$WORK/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -10 || true
echo "samples: $total"
wait

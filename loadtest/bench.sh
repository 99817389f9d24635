#!/usr/bin/env bash
# `make bench`: release build (in BENCH_TARGET_DIR, so the debug builds others use stay valid),
# then RUNS times, on loopback and each phase bounded in time:
#   1. the pgbench baseline (the submit transaction's SQL, CONC clients);
#   2. intake and the gateway on their own: capacity (closed model, CONC callers) of intake over
#      gRPC and of the gateway; latency and event lag (to a consumer queue and to the SSE
#      stream) at 50 % and 80 % of the gateway's measured capacity (open model, latency from
#      the intended send time); the relay draining a DRAIN_EVENTS backlog;
#   3. the whole mesh (every service, `loadgen mesh`): lifecycles per second at saturation
#      (requests whose automatic chain reached logistics.shipment.planned), per-hop lag;
# and, in the first run, the before/after of each optimisation (TLS to the database; earlier
# intake binaries from BENCH_COMPARE for the submit path, the relay and group commit). The load generator is
# loadtest/loadgen; it reports its own CPU. Writes loadtest/results/<date>.md, summary first,
# and (BENCH_PROFILE=1, the default) a flame graph of the submit path beside it (profile.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${DURATION:-20}          # measured seconds per load phase
WARMUP=${WARMUP:-3}               # seconds of load before measuring
CONC=${CONC:-16}                  # callers of the closed-model runs and pgbench clients
RUNS=${RUNS:-2}
DRAIN_EVENTS=${DRAIN_EVENTS:-50000}
MESH_CALLERS=${MESH_CALLERS:-32}
MESH_DURATION=${MESH_DURATION:-30}
MESH_SETTLE=${MESH_SETTLE:-120}   # after the load, seconds at most for the chains under way
MESH_PARTS=${MESH_PARTS:-8}       # distinct parts the mesh's requests ask for
# Connections per service of the mesh: seven databases share one Postgres (100 connections by
# default) with whatever else runs on the machine.
MESH_DB_POOL=${MESH_DB_POOL:-5}
BENCH_PROFILE=${BENCH_PROFILE:-1}
TD=${BENCH_TARGET_DIR:-target/bench}
# Earlier binaries measured beside the current ones in run 1, LABEL=DIR each (a DIR holds a
# release `intake`, `gateway` or both; the current one stands in for the other), e.g. BENCH_COMPARE="before=target/bench/before no-group-commit=target/bench/nocoalesce".
COMPARE=${BENCH_COMPARE:-}
BENCH_BUILD=${BENCH_BUILD:-1}     # 0: measure the binaries already in BENCH_TARGET_DIR as they are
DAY=$(date -u +%Y-%m-%d)
OUT=${BENCH_OUT:-loadtest/results/$DAY.md}
SECRET=bench-secret-$(date +%s)-$$-0123456789abcdef
PREFIX=bench$$.
PG=postgres://postgres@127.0.0.1:5432
NOSSL='?sslmode=disable'
# Ports of their own, so a running `make up` or a test is not disturbed.
INTAKE_GRPC=127.0.0.1:50251 INTAKE_ADMIN=127.0.0.1:51251
GW_HTTP=127.0.0.1:8280 GW_ADMIN=127.0.0.1:8281
WORK=${BENCH_WORK:-$TD/bench-$DAY}
rm -rf "$WORK" && mkdir -p "$WORK"
DBS=(aftersales_bench_intake aftersales_bench_pgbench aftersales_bench_cmp)
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  for db in "${DBS[@]}"; do psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

bash scripts/infra.sh >/dev/null
SERVICES=(intake claims-review procurement warehouse logistics field-service feedback gateway)
if [ "$BENCH_BUILD" = 1 ]; then
  echo "bench: release build of ${SERVICES[*]} in $TD"
  CARGO_TARGET_DIR=$TD cargo build --release $(printf -- '-p %s ' "${SERVICES[@]}") 2>&1 | tail -n 1
  # The generator in a build of its own: it links the mesh launcher and the platform's test kit,
  # which must not leak into the services' binaries through feature unification.
  CARGO_TARGET_DIR=$TD cargo build --release -p loadgen 2>&1 | tail -n 1
fi
BIN=$TD/release
LG="$BIN/loadgen --threads 2"

export AFTERSALES__AUTH__JWT_SECRET=$SECRET AFTERSALES__AMQP__NAME_PREFIX=$PREFIX \
       AFTERSALES__TELEMETRY__LOG_LEVEL=warn AFTERSALES__AMQP__QUEUE_EXPIRES_MS=600000
EXCHANGE=${PREFIX}aftersales.events

fresh_db() { psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -qc "CREATE DATABASE $1"; }
ready() { # url log
  for _ in $(seq 1 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done
  echo "bench: $1 never became ready; its log:" >&2; tail -n 20 "$2" >&2; exit 1
}
INTAKE_PID="" GW_PID=""
start_intake() { # binary, database URL, log
  AFTERSALES__DATABASE__URL=$2 AFTERSALES__SERVER__GRPC_ADDR=$INTAKE_GRPC \
    AFTERSALES__SERVER__ADMIN_ADDR=$INTAKE_ADMIN "$1" serve >"$3" 2>&1 &
  INTAKE_PID=$!
  ready "http://$INTAKE_ADMIN/readyz" "$3"
}
start_gateway() { # log [binary]
  AFTERSALES__PEERS__INTAKE__URL=http://$INTAKE_GRPC AFTERSALES__REDIS__KEY_PREFIX=$PREFIX \
    AFTERSALES__SERVER__HTTP_ADDR=$GW_HTTP AFTERSALES__SERVER__ADMIN_ADDR=$GW_ADMIN \
    AFTERSALES__SERVER__GRPC_ADDR=127.0.0.1:0 \
    AFTERSALES__GATEWAY__RATE_LIMIT_BURST=1000000 AFTERSALES__GATEWAY__RATE_LIMIT_PER_SECOND=1000000 \
    AFTERSALES__GATEWAY__RATE_LIMIT_CALLER_BURST=1000000 AFTERSALES__GATEWAY__RATE_LIMIT_CALLER_PER_SECOND=1000000 \
    "${2:-$BIN/gateway}" serve >"$1" 2>&1 &
  GW_PID=$!
  ready "http://$GW_ADMIN/readyz" "$1"
}
stop() { for p in "$@"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done; }
j() { jq -r "$2" "$1"; }   # file, jq path
# CPU (ticks) and RSS of the running services, for the figures under load.
snapshot() { for p in "$INTAKE_PID" "$GW_PID"; do echo "$(awk '{ print $14 + $15 }' /proc/$p/stat) $(awk '/^VmRSS/ { printf "%d", $2 / 1024 }' /proc/$p/status)"; done; }

# The submit transaction as intake now sends it (number, then one statement for the request,
# timeline entry and event, NOTIFY included), for the pgbench row beside the baseline.
cat >"$WORK/submit-now.sql" <<'SQL'
\set n random(1, 9000000000000000000)
\set b random(1, 20)
BEGIN;
INSERT INTO tracking_sequences (branch, period, last) VALUES ('B' || lpad(:b::text, 3, '0'), '2611', 1)
  ON CONFLICT (branch, period) DO UPDATE SET last = tracking_sequences.last + 1 RETURNING last;
WITH r AS (INSERT INTO requests (request_no, idempotency_key, fingerprint, branch, channel, kind, urgency, status, status_reason,
    customer_name, customer_phone, customer_phone_digits, customer_address, customer_region, customer_email,
    product, fault_description, photos, parts, misuse_suspected, submitted_by, created_at, updated_at, last_step, last_step_at)
  VALUES ('AS-2611-B' || lpad(:b::text, 3, '0') || '-' || :n, 'pgb-' || :n, '0123456789abcdef', 'B' || lpad(:b::text, 3, '0'),
    'hotline', 'replacement', 'normal', 'submitted', '', 'Load Test', '+86 138 0013 8000', '8613800138000',
    '1 Test Road', 'urban', '',
    '{"category":"television","model":"X55","serial":"SN123456789","purchase_date":"2026-10-02","invoice_no":"INV-9","invoice_date":"2026-10-02","receipt_date":null,"factory_date":"2026-08-15","service_contract_no":""}',
    'no picture', '[]', '[{"part_no":"PWR-55-01","quantity":1}]', false, 'k6-B001', now(), now(), 'intake.request.submitted', now())),
  t AS (INSERT INTO timeline (event_id, request_no, routing_key, producer, occurred_at, summary, status_after)
  VALUES (gen_random_uuid(), 'AS-2611-B' || lpad(:b::text, 3, '0') || '-' || :n, 'intake.request.submitted', 'intake', now(),
    'Request received by branch B001 via hotline (replacement of a television X55)', 'submitted')),
  s AS (INSERT INTO outbox_sequences (subject, last) VALUES ('AS-2611-B' || lpad(:b::text, 3, '0') || '-' || :n, 1)),
  o AS (INSERT INTO outbox (event_id, routing_key, subject, envelope, traceparent, tracestate, baggage)
  VALUES (gen_random_uuid(), 'intake.request.submitted', 'AS-2611-B' || lpad(:b::text, 3, '0') || '-' || :n,
    decode(repeat('0a2430313961', 75), 'hex'), '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', '', 'aftersales.request_no=AS-2611-B001-1'))
SELECT pg_notify('aftersales_outbox', '');
COMMIT;
SQL

# The baseline: loadtest/pgbench/submit.sql (the submit transaction as intake sent it before the
# cheaper path: a look-up, then ten statements), with the two columns migration 0002 made
# mandatory (last_step, last_step_at), which that file predates.
sed -e 's/submitted_by, created_at, updated_at)/submitted_by, created_at, updated_at, last_step, last_step_at)/' \
    -e "s/'k6-B001', now(), now());/'k6-B001', now(), now(), 'intake.request.submitted', now());/" \
    loadtest/pgbench/submit.sql >"$WORK/submit-baseline.sql"
grep -q last_step_at "$WORK/submit-baseline.sql" || { echo "bench: could not adapt loadtest/pgbench/submit.sql" >&2; exit 1; }

pgbench_run() { # script, output
  fresh_db aftersales_bench_pgbench
  AFTERSALES__DATABASE__URL="$PG/aftersales_bench_pgbench$NOSSL" "$BIN/intake" migrate >/dev/null
  # Without TLS, as the services now talk to a loopback database.
  PGSSLMODE=disable pgbench -n -h 127.0.0.1 -U postgres -c "$CONC" -j 2 -T "$DURATION" -f "$1" \
    aftersales_bench_pgbench >"$2" 2>&1 || echo "bench: pgbench failed: $(grep -m1 error "$2")" >&2
  awk '/^tps/ { printf "%d", $3 }' "$2"
}

loadrun() { # name, loadgen subcommand and arguments...
  local name=$1; shift
  echo "bench:   $name" >&2
  $LG "$@" >"$WORK/$name.json" 2>"$WORK/$name.err" || { echo "bench: $name failed:" >&2; tail -n 5 "$WORK/$name.err" >&2; echo '{}' >"$WORK/$name.json"; }
}

for r in $(seq 1 "$RUNS"); do
  echo "bench: run $r of $RUNS"
  echo "bench:   pgbench baseline, $CONC clients, ${DURATION}s"
  pgbench_run "$WORK/submit-baseline.sql" "$WORK/r$r-pgbench.txt" >"$WORK/r$r-pgbench.tps"
  if [ "$r" = 1 ]; then
    echo "bench:   pgbench, the submit transaction as intake sends it now"
    pgbench_run "$WORK/submit-now.sql" "$WORK/r$r-pgbench-now.txt" >"$WORK/r$r-pgbench-now.tps"
  fi

  fresh_db aftersales_bench_intake
  start_intake "$BIN/intake" "$PG/aftersales_bench_intake$NOSSL" "$WORK/r$r-intake.log"
  start_gateway "$WORK/r$r-gateway.log"
  idle=$(snapshot)
  common=(--secret "$SECRET" --duration "$DURATION" --warmup "$WARMUP")
  loadrun "r$r-grpc-closed" grpc --url "http://$INTAKE_GRPC" --callers "$CONC" "${common[@]}"
  loadrun "r$r-http-closed" http --url "http://$GW_HTTP" --callers "$CONC" "${common[@]}"
  cap=$(j "$WORK/r$r-http-closed.json" '.ok_per_s // 0')
  for pct in 50 80; do
    rate=$(awk -v c="$cap" -v p="$pct" 'BEGIN { r = c * p / 100; if (r < 1) r = 1; printf "%.1f", r }')
    before=$(snapshot)
    loadrun "r$r-http-open$pct" http --url "http://$GW_HTTP" --rate "$rate" "${common[@]}" \
      --lag-exchange "$EXCHANGE" --sse-url "http://$GW_HTTP"
    after=$(snapshot)
    paste <(echo "$idle") <(echo "$before") <(echo "$after") >"$WORK/r$r-procs$pct.txt"
  done
  loadrun "r$r-drain" drain --database-url "$PG/aftersales_bench_intake$NOSSL" --exchange "$EXCHANGE" --events "$DRAIN_EVENTS"
  stop "$GW_PID" "$INTAKE_PID"

  if [ "$r" = 1 ]; then
    echo "bench:   before/after: TLS to the database (sslmode=prefer, the driver's default)"
    fresh_db aftersales_bench_cmp
    start_intake "$BIN/intake" "$PG/aftersales_bench_cmp" "$WORK/cmp-tls-intake.log"
    loadrun "cmp-tls-grpc-closed" grpc --url "http://$INTAKE_GRPC" --callers "$CONC" "${common[@]}"
    stop "$INTAKE_PID"
    half=$(awk -v c="$cap" 'BEGIN { printf "%.1f", c / 2 }')
    for entry in $COMPARE; do
      label=${entry%%=*} dir=${entry#*=}
      # The DIR's intake and/or gateway; the current one for whichever it lacks.
      cmp_intake=$BIN/intake cmp_gateway=$BIN/gateway
      [ -x "$dir/intake" ] && cmp_intake=$dir/intake
      [ -x "$dir/gateway" ] && cmp_gateway=$dir/gateway
      [ -x "$dir/intake" ] || [ -x "$dir/gateway" ] || { echo "bench: no intake or gateway in $dir for $label; skipped" >&2; continue; }
      echo "bench:   before/after: '$label' (intake $cmp_intake, gateway $cmp_gateway), no TLS"
      echo "$label" >>"$WORK/cmp-labels"
      fresh_db aftersales_bench_cmp
      start_intake "$cmp_intake" "$PG/aftersales_bench_cmp$NOSSL" "$WORK/cmp-$label-intake.log"
      start_gateway "$WORK/cmp-$label-gateway.log" "$cmp_gateway"
      loadrun "cmp-$label-grpc-closed" grpc --url "http://$INTAKE_GRPC" --callers "$CONC" "${common[@]}"
      loadrun "cmp-$label-http-closed" http --url "http://$GW_HTTP" --callers "$CONC" "${common[@]}"
      loadrun "cmp-$label-http-open50" http --url "http://$GW_HTTP" --rate "$half" "${common[@]}" --lag-exchange "$EXCHANGE"
      stop "$GW_PID"
      loadrun "cmp-$label-drain" drain --database-url "$PG/aftersales_bench_cmp$NOSSL" --exchange "$EXCHANGE" --events "$DRAIN_EVENTS"
      stop "$INTAKE_PID"
    done
  fi

  echo "bench:   the whole mesh, $MESH_CALLERS callers, ${MESH_DURATION}s"
  AFTERSALES_TEST_DATABASE_URL="$PG/postgres$NOSSL" loadrun "r$r-mesh" mesh --bin-dir "$BIN" \
    --callers "$MESH_CALLERS" --duration "$MESH_DURATION" --warmup 5 --settle "$MESH_SETTLE" --parts "$MESH_PARTS" \
    --env "*:AFTERSALES__DATABASE__MAX_CONNECTIONS=$MESH_DB_POOL"
done

FLAME=""
if [ "$BENCH_PROFILE" = 1 ]; then
  rate=$(awk -v c="$(j "$WORK/r1-http-closed.json" '.ok_per_s // 0')" 'BEGIN { printf "%d", c / 2 }')
  FLAME=loadtest/results/$DAY-submit-flamegraph.svg
  echo "bench: profile of the submit path at $rate/s (loadtest/profile.sh)"
  BENCH_TARGET_DIR=$TD RATE=$rate FLAMEGRAPH=$FLAME bash loadtest/profile.sh >"$WORK/profile.txt" 2>&1 ||
    { echo "bench: profile failed" >&2; tail -n 5 "$WORK/profile.txt" >&2; FLAME=""; }
fi

MACHINE="$(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2/1048576 }' /proc/meminfo), $(uname -r); load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
VERSIONS="$(rustc --version); $(psql --version); RabbitMQ $(rabbitmqctl version 2>/dev/null || echo '?')"
mkdir -p "$(dirname "$OUT")"
python3 - "$WORK" "$RUNS" "$OUT" "$CONC" "$DURATION" "$WARMUP" "$DRAIN_EVENTS" "$MESH_CALLERS" "$MESH_DURATION" \
  "$MACHINE" "$VERSIONS" "$FLAME" "$(getconf CLK_TCK)" <<'PY'
import json, os, sys
work, runs, out, conc, dur, warm, drain_n, mcallers, mdur, machine, versions, flame, hz = sys.argv[1:]
runs = int(runs)

def load(name):
    try:
        with open(os.path.join(work, name + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}

def text(name):
    try:
        return open(os.path.join(work, name)).read().strip()
    except OSError:
        return ""

def g(d, *path, default=None):
    for p in path:
        if not isinstance(d, dict) or p not in d or d[p] is None:
            return default
        d = d[p]
    return d

def fmt(v, digits=0):
    if v is None:
        return "n/a"
    return ("%." + str(digits) + "f") % v

def procs(r, pct):
    # idle: ticks rss, before: ticks rss, after: ticks rss; rows intake, gateway
    rows = []
    for line in text("r%d-procs%d.txt" % (r, pct)).splitlines():
        f = [int(x) for x in line.split()]
        rows.append(f)
    return rows

R = []
for r in range(1, runs + 1):
    d = {}
    d["pgbench"] = int(text("r%d-pgbench.tps" % r) or 0)
    d["grpc"] = load("r%d-grpc-closed" % r)
    d["http"] = load("r%d-http-closed" % r)
    d["o50"] = load("r%d-http-open50" % r)
    d["o80"] = load("r%d-http-open80" % r)
    d["drain"] = load("r%d-drain" % r)
    d["mesh"] = load("r%d-mesh" % r)
    d["p50"] = procs(r, 50)
    d["p80"] = procs(r, 80)
    R.append(d)

def summary(d):
    gw = g(d["http"], "ok_per_s", default=0) or 0
    grpc = g(d["grpc"], "ok_per_s", default=0) or 0
    rss = []
    for rows in (d["p50"], d["p80"]):
        rss += [row[5] for row in rows if len(row) == 6]
    rss += list(g(d["mesh"], "rss_mib_max", default={}).values())
    cpu = [g(d[k], "loadgen_cpu_pct") for k in ("grpc", "http", "o50", "o80")]
    cpu = [c for c in cpu if c is not None]
    return [
        ("submit_rps", fmt(gw)),
        ("submit_p99_ms", fmt(g(d["o50"], "latency_ms", "p99"))),
        ("pgbench_tps", str(d["pgbench"])),
        ("ratio_mesh_pgbench", fmt(gw / d["pgbench"], 2) if d["pgbench"] else "n/a"),
        ("grpc_submit_rps", fmt(grpc)),
        ("gateway_overhead_pct", fmt(100.0 * (grpc - gw) / grpc) if grpc else "n/a"),
        ("event_lag_p99_ms", fmt(g(d["o50"], "lag", "consumer_ms", "p99"))),
        ("relay_drain_events_per_s", fmt(g(d["drain"], "events_per_s"))),
        ("mesh_lifecycles_per_s", fmt(g(d["mesh"], "lifecycles_per_s"), 1)),
        ("max_service_rss_mib", str(max(rss)) if rss else "n/a"),
        ("loadgen_cpu_pct", fmt(max(cpu)) if cpu else "n/a"),
    ]

S = [summary(d) for d in R]
L = []
for k, v in S[0]:
    L.append("%s: %s" % (k, v))
L.append("")
L.append("# Benchmark %s" % out.split("/")[-1][:-3])
L.append("")
L.append("Machine: %s. %s. Everything (services, Postgres, RabbitMQ, Redis, the load generator) on the "
         "same machine, loopback only; the machine is shared with other builds and tests, so compare "
         "ratios taken in one run." % (machine, versions))
L.append("Method: `make bench` (loadtest/bench.sh, generator loadtest/loadgen): %s measured seconds after %s "
         "of warm-up per load phase, %s callers for the closed-model runs and pgbench clients, the open-model "
         "runs at 50 %% and 80 %% of the gateway capacity measured just before, latency from the intended send "
         "time (coordinated omission corrected, HdrHistogram); the relay drain of %s events staged in one "
         "transaction; the whole mesh with %s callers for %s s. The summary lines above are run 1's." %
         (dur, warm, conc, drain_n, mcallers, mdur))
L.append("")
L.append("| summary line | " + " | ".join("run %d" % (i + 1) for i in range(runs)) + " |")
L.append("|---|" + "---|" * runs)
for i, (k, _) in enumerate(S[0]):
    L.append("| %s | %s |" % (k, " | ".join(s[i][1] for s in S)))
L.append("")

def row(label, fn):
    L.append("| %s | %s |" % (label, " | ".join(fn(d) for d in R)))

def lat(d, key):
    l = g(d[key], "latency_ms", default={})
    return "%s / %s / %s / %s" % (fmt(l.get("p50"), 1), fmt(l.get("p99"), 1), fmt(l.get("p999"), 1), fmt(l.get("max"), 1))

def lag(d, key, which):
    l = g(d[key], "lag", which, default={})
    return "%s / %s / %s" % (fmt(l.get("p50"), 1), fmt(l.get("p99"), 1), fmt(l.get("max"), 1))

L.append("| figure | " + " | ".join("run %d" % (i + 1) for i in range(runs)) + " |")
L.append("|---|" + "---|" * runs)
row("pgbench, the submit transaction as it was (loadtest/pgbench/submit.sql + last_step), %s clients, tps" % conc, lambda d: str(d["pgbench"]))
row("intake over gRPC, %s callers: req/s (p50 / p99 ms)" % conc,
    lambda d: "%s (%s / %s)" % (fmt(g(d["grpc"], "ok_per_s")), fmt(g(d["grpc"], "latency_ms", "p50"), 1), fmt(g(d["grpc"], "latency_ms", "p99"), 1)))
row("gateway submit, %s callers: req/s (p50 / p99 ms)" % conc,
    lambda d: "%s (%s / %s)" % (fmt(g(d["http"], "ok_per_s")), fmt(g(d["http"], "latency_ms", "p50"), 1), fmt(g(d["http"], "latency_ms", "p99"), 1)))
for key, pct in (("o50", 50), ("o80", 80)):
    row("gateway at %d %% of capacity: rate asked, achieved /s" % pct,
        lambda d, key=key: "%s, %s" % (fmt(g(d[key], "rate"), 0), fmt(g(d[key], "ok_per_s"), 0)))
    row("… latency p50 / p99 / p99.9 / max ms" , lambda d, key=key: lat(d, key))
    row("… event lag commit → consumer queue p50 / p99 / max ms", lambda d, key=key: lag(d, key, "consumer_ms"))
    row("… event lag commit → SSE stream p50 / p99 / max ms", lambda d, key=key: lag(d, key, "sse_ms"))
    row("… errors", lambda d, key=key: "%s of %s" % (sum(g(d[key], "errors", default={}).values()), g(d[key], "completed", default=0)))
row("relay drain: %s events staged in one transaction, all delivered / all marked s" % drain_n,
    lambda d: "%s / %s" % (fmt(g(d["drain"], "all_delivered_s"), 2), fmt(g(d["drain"], "all_marked_published_s"), 2)))
row("loadgen CPU % of one core: gRPC closed / HTTP closed / 50 % / 80 %",
    lambda d: " / ".join(fmt(g(d[k], "loadgen_cpu_pct")) for k in ("grpc", "http", "o50", "o80")))
L.append("")

L.append("Intake and the gateway under the open-model load (CPU % of one core; RSS MiB idle → under load):")
L.append("")
L.append("| run | process | 50 %: CPU, RSS | 80 %: CPU, RSS |")
L.append("|---|---|---|---|")
for i, d in enumerate(R):
    for pi, name in enumerate(("intake", "gateway")):
        cells = []
        for rows, key in ((d["p50"], "o50"), (d["p80"], "o80")):
            if len(rows) > pi and len(rows[pi]) == 6:
                it, ir, bt, br, at, ar = rows[pi]
                secs = (g(d[key], "window_s", default=float(dur)) or float(dur)) + float(warm) + 2
                cells.append("%s %%, %d → %d MiB" % (fmt(100.0 * (at - bt) / int(hz) / secs), ir, ar))
            else:
                cells.append("n/a")
        L.append("| %d | %s | %s | %s |" % (i + 1, name, cells[0], cells[1]))
L.append("")

L.append("The whole mesh (every service; `loadgen mesh`), %s callers through the gateway for %s s, the requests "
         "asking for %s parts in turn (each stocked first):" % (mcallers, mdur, g(R[0]["mesh"], "parts", default="?")))
L.append("")
L.append("| figure | " + " | ".join("run %d" % (i + 1) for i in range(runs)) + " |")
L.append("|---|" + "---|" * runs)
row("submissions accepted /s (gateway, at saturation)", lambda d: fmt(g(d["mesh"], "submit", "ok_per_s")))
row("lifecycles /s (reached logistics.shipment.planned in the window)", lambda d: fmt(g(d["mesh"], "lifecycles_per_s"), 1))
row("lifecycles / submissions", lambda d: fmt((g(d["mesh"], "lifecycles_per_s") or 0) / (g(d["mesh"], "submitted_per_s") or 1), 2))
row("all chains of the window done, s after the load", lambda d: fmt(g(d["mesh"], "backlog_drained_s_after_load"), 1))
row("chains ended otherwise (rejected, info requested, shortage)", lambda d: json.dumps(g(d["mesh"], "ended_otherwise", default={})))
for hop in ("submitted_to_approved", "approved_to_reserved", "reserved_to_planned"):
    row("hop %s p50 / p99 ms" % hop.replace("_", " "),
        lambda d, hop=hop: "%s / %s" % (fmt(g(d["mesh"], "hop_lag_ms", hop, "p50")), fmt(g(d["mesh"], "hop_lag_ms", hop, "p99"))))
row("submitted → planned p50 / p99 ms", lambda d: "%s / %s" % (fmt(g(d["mesh"], "submitted_to_planned_ms", "p50")), fmt(g(d["mesh"], "submitted_to_planned_ms", "p99"))))
row("RSS MiB idle → max, per service", lambda d: ", ".join("%s %s→%s" % (k, g(d["mesh"], "rss_mib_idle", k), v) for k, v in g(d["mesh"], "rss_mib_max", default={}).items()))
row("CPU % of one core, per service", lambda d: ", ".join("%s %s" % (k, v) for k, v in g(d["mesh"], "cpu_pct", default={}).items()))
L.append("")

c1 = R[0]
tls = load("cmp-tls-grpc-closed")
labels = [l for l in text("cmp-labels").splitlines() if l]
now_tps = text("r1-pgbench-now.tps")
L.append("## Before and after (run 1, same machine, minutes apart)")
L.append("")
L.append("Each variant (an earlier intake or gateway binary, the current one standing in for the other) measured the same way right after run 1's own figures: %s callers over gRPC "
         "and through the gateway (capacity), the gateway at half of run 1's gateway capacity "
         "(latency and event lag at the same rate for all), the relay draining %s events. "
         "No TLS to the database in any of these rows but the first." % (conc, drain_n))
L.append("")
L.append("| variant | gRPC req/s | gateway req/s | p50 / p99 ms at %s/s | event lag p50 / p99 ms at %s/s | drain events/s |" %
         (fmt(g(c1["o50"], "rate")), fmt(g(c1["o50"], "rate"))))
L.append("|---|---|---|---|---|---|")
L.append("| current, with TLS to the database (sslmode=prefer) | %s | | | | |" % fmt(g(tls, "ok_per_s")))
def variant(name, grpc, http, o50, drain):
    L.append("| %s | %s | %s | %s / %s | %s / %s | %s |" % (
        name, fmt(g(grpc, "ok_per_s")), fmt(g(http, "ok_per_s")),
        fmt(g(o50, "latency_ms", "p50"), 1), fmt(g(o50, "latency_ms", "p99"), 1),
        fmt(g(o50, "lag", "consumer_ms", "p50"), 1), fmt(g(o50, "lag", "consumer_ms", "p99"), 1),
        fmt(g(drain, "events_per_s"))))
for lab in labels:
    variant(lab, load("cmp-%s-grpc-closed" % lab), load("cmp-%s-http-closed" % lab),
            load("cmp-%s-http-open50" % lab), load("cmp-%s-drain" % lab))
variant("current", c1["grpc"], c1["http"], c1["o50"], c1["drain"])
L.append("")
if now_tps:
    L.append("pgbench with the submit SQL as intake now sends it (4 round trips instead of 10), %s clients: "
             "%s tps against the baseline's %s." % (conc, now_tps, c1["pgbench"]))
    L.append("")
if flame:
    L.append("Flame graph of the submit path under load (intake and the gateway, `loadtest/profile.sh`): [%s](%s)" %
             (flame.split("/")[-1], flame.split("/")[-1]))
    L.append("")
open(out, "w").write("\n".join(L) + "\n")
PY
if [ -s "$WORK/profile.txt" ] && [ -n "$FLAME" ]; then
  { echo; echo '```'; echo "loadtest/profile.sh at $rate/s through the gateway"; cat "$WORK/profile.txt"; echo '```'; } >>"$OUT"
fi
echo "bench: wrote $OUT (raw figures in $WORK)"
head -n 11 "$OUT"

# The entry points (DESIGN §11). `make up` runs the mesh; `make test` runs everything CI runs.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo

.PHONY: up token infra build test grpcurl-check observability-check whole-mesh traces chaos fmt-check lint unit chart-test chart-run smoke api-test api-test-full bench fuzz clean help

help:
	@echo "make up          infrastructure + build + every service + demo data (Ctrl-C stops)"
	@echo "make token       a development token (ARGS=\"--sub … --branch … --roles …\"), same secret as make up"
	@echo "make test        fmt, clippy -D warnings, all tests against real Postgres/RabbitMQ, chart checks"
	@echo "make infra       start (or install) Postgres, RabbitMQ, Redis and create the databases"
	@echo "make chart-test  helm lint, render and schema-validate the chart (no cluster needed)"
	@echo "make chart-run   start every Deployment and Job the chart renders, from its spec, with the built binaries"
	@echo "make observability-check  promtool check/test of the alert rules, Grafana schema check of the dashboard"
	@echo "make whole-mesh  the eight binaries started once; the end-to-end tests through the gateway (part of make test)"
	@echo "make traces      Arize Phoenix (from PyPI) + the mesh exporting to it; prints a request's trace URL"
	@echo "make chaos       the mesh under load while broker, databases, processes, Redis fail; rolling restart (<= 20 min, not in make test)"
	@echo "make smoke       10-second low-rate k6 runs of the load scenarios (part of make test)"
	@echo "make api-test    schemathesis on the gateway's /openapi.json against the real services (part of make test)"
	@echo "make api-test-full  the same with many more cases per operation and the stateful phase"
	@echo "make bench       release build + pgbench baseline + loadgen capacity, latency, event lag, relay drain, whole mesh -> loadtest/results/<date>.md"
	@echo "make fuzz        a bounded fuzz run of the gateway's request parsing (nightly + cargo-fuzz)"

up:
	bash scripts/up.sh

# A development token in any shell, signed like `make up`'s: make token ARGS="--sub bob --branch BJ02 --roles reviewer"
token:
	@bash scripts/token.sh $(ARGS)

infra:
	bash scripts/infra.sh

build:
	$(CARGO) build --workspace --all-targets

fmt-check:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Every unit and integration test; every test binary runs even when one fails, then the summary
# adds up what each reported and lists the failures.
unit: infra
	CARGO=$(CARGO) bash scripts/unit-tests.sh

chart-test:
	@mkdir -p target
	bash scripts/chart-check.sh 2>&1 | tee target/chart-check.log

# Every rendered Deployment and Job started from its own spec with target/debug's binaries (built
# by `unit`; a missing one is built, never release) against the local servers: env names the
# binary reads, probes, SIGTERM, Jobs exit 0, replicas, auth setups, the ci-bad run fixtures.
chart-run: infra
	@mkdir -p target
	bash scripts/chart-run.sh 2>&1 | tee target/chart-run.log

smoke: infra
	@mkdir -p target
	bash loadtest/smoke.sh 2>&1 | tee target/smoke.log

# The README's grpcurl examples with the grpcurl it names (1.8.6: reflection v1alpha).
# The eight binaries started once (`mesh up`), the end-to-end tests against them.
whole-mesh: infra
	@mkdir -p target
	bash scripts/whole-mesh.sh 2>&1 | tee target/whole-mesh.log

traces: infra
	bash scripts/traces.sh

# The chaos suite (issue 19): the whole mesh under open-model load through the gateway while, in
# turn, the broker line, each database line, two processes (SIGKILL) and Redis fail and every
# service is replaced one after the other; the ledger checker after each scenario. Bounded
# (<= 20 minutes with the defaults), not part of `make test`. Report: loadtest/results/chaos-<date>.md.
# ARGS="--minutes-per-scenario 2 --rate 2 --scenarios broker,roll" (target/debug/chaos --help).
chaos: infra
	@mkdir -p target
	bash scripts/chaos.sh $(ARGS) 2>&1 | tee target/chaos.log

# The chart's alert rules (promtool check + unit tests) and Grafana dashboard (PromQL parses, the
# Grafana schema type-checks); docs/operations.md has a runbook for every alert.
observability-check:
	@mkdir -p target
	bash scripts/observability-check.sh 2>&1 | tee target/observability.log

grpcurl-check: infra
	@mkdir -p target
	bash scripts/grpcurl-check.sh 2>&1 | tee target/grpcurl.log

# The API fuzzer (loadtest/api-test.sh): a few minutes, at most API_TEST_EXAMPLES cases per
# operation and phase; api-test-full runs many more and the stateful phase.
api-test: infra
	@mkdir -p target
	bash loadtest/api-test.sh 2>&1 | tee target/api-test.log

api-test-full: infra
	@mkdir -p target
	API_TEST_EXAMPLES=$${API_TEST_EXAMPLES:-400} API_TEST_PHASES=examples,coverage,fuzzing,stateful \
	  bash loadtest/api-test.sh 2>&1 | tee target/api-test-full.log

bench: infra
	bash loadtest/bench.sh

fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd services/gateway && $(CARGO) +nightly fuzz run create_request -- -runs=$${RUNS:-200000} -max_total_time=$${SECONDS_MAX:-120}

test: fmt-check lint unit chart-test chart-run smoke whole-mesh grpcurl-check observability-check api-test
	@cat target/test-summary.txt <(tail -n 1 target/chart-check.log) <(tail -n 1 target/chart-run.log) <(tail -n 1 target/smoke.log) <(tail -n 1 target/whole-mesh.log) <(tail -n 1 target/grpcurl.log) <(tail -n 1 target/observability.log) <(tail -n 1 target/api-test.log) | \
	  awk '/^[a-z-]+: [0-9]+ passed, [0-9]+ failed/ { p += $$2; f += $$4 } END { printf "make test: %d passed, %d failed\n", p, f }'

clean:
	$(CARGO) clean

# The entry points (DESIGN §11). `make up` runs the mesh; `make test` runs everything CI runs.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo

.PHONY: up infra build test fmt-check lint unit chart-test clean help

help:
	@echo "make up          infrastructure + build + every service + demo data (Ctrl-C stops)"
	@echo "make test        fmt, clippy -D warnings, all tests against real Postgres/RabbitMQ, chart checks"
	@echo "make infra       start (or install) Postgres, RabbitMQ, Redis and create the databases"
	@echo "make chart-test  helm lint, render and schema-validate the chart (no cluster needed)"

up:
	bash scripts/up.sh

infra:
	bash scripts/infra.sh

build:
	$(CARGO) build --workspace --all-targets

fmt-check:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit: infra
	$(CARGO) test --workspace

chart-test:
	bash scripts/chart-check.sh

test: fmt-check lint unit chart-test
	@echo "make test: all checks passed"

clean:
	$(CARGO) clean

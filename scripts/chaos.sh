#!/usr/bin/env bash
# `make chaos` (issue 19): builds every binary (the chaos suite starts the eight services from
# target/debug) and runs target/debug/chaos with the given arguments. The suite starts the whole
# mesh on loopback (databases, broker names and Redis keys of its own; Postgres, RabbitMQ and
# Redis behind fault proxies), puts open-model load through the gateway with the demo operator
# playing the people, runs the scenarios in turn (broker line cut, each database line cut, SIGKILL
# and restart, Redis cut, rolling restart), checks the ledger after each, writes
# loadtest/results/chaos-<date>.md and ends with
#   chaos: N scenarios, lost L, duplicated D, failed-during-roll F, unbalanced U
# exiting non-zero when anything was lost or duplicated, a book did not balance or a scenario
# failed. Bounded: at most 20 minutes with the defaults (--max-minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO="${CARGO:-cargo}"
"$CARGO" build -q --bins
exec target/debug/chaos "$@"

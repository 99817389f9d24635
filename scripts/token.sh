#!/usr/bin/env bash
# `make token` (ARGS="--sub bob --branch BJ02 --roles reviewer"): prints a development token on its
# last line, signed with the same secret `make up` runs with (scripts/dev-env.sh), so it works in
# any shell. Defaults: a branch agent of SH01.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/dev-env.sh
GATEWAY_BIN="${GATEWAY_BIN:-target/debug/gateway}"
if [ ! -x "$GATEWAY_BIN" ]; then
  cargo build -q -p gateway >&2
fi
args=("$@")
[ "${#args[@]}" -gt 0 ] || args=(--sub demo-agent --branch SH01 --roles branch_agent)
exec "$GATEWAY_BIN" token "${args[@]}"

#!/usr/bin/env bash
# Prints the dispatch board's link as `make up` shows it: a head-office dispatcher's token in the
# URL fragment (#token=…), which the page reads and the browser never sends to a server, so it
# stays out of server and proxy logs. GATEWAY_URL names another gateway.
set -euo pipefail
cd "$(dirname "$0")/.."
token=$(bash scripts/token.sh --sub demo-dispatcher --branch '*' --roles dispatcher | tail -n 1)
echo "${GATEWAY_URL:-http://127.0.0.1:8080}/board#token=$token"

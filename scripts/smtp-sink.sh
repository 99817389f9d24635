#!/usr/bin/env bash
# make up's SMTP server (aiosmtpd, from PyPI, in .tools/smtp-venv; installed when absent):
# every e-mail intake sends is printed as one line and kept in target/mail/*.eml.
# Usage: bash scripts/smtp-sink.sh [port] (default 1025).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${1:-1025}"
VENV=.tools/smtp-venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" 2>/dev/null || { apt-get update -qq && apt-get install -y -qq python3-venv && python3 -m venv "$VENV"; }
fi
if ! "$VENV/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
  "$VENV/bin/pip" install -q aiosmtpd==1.4.6
fi
exec "$VENV/bin/python" -u scripts/smtp_sink.py 127.0.0.1 "$PORT" target/mail

#!/usr/bin/env bash
# `make unit`: every unit and integration test of the workspace. Every test binary runs even when
# an earlier one fails (--no-fail-fast); the summary adds up what each binary reported and lists
# every failing test, then the script fails if anything did.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p target
CARGO="${CARGO:-cargo}"

# The whole-mesh tests (aftersales-mesh's e2e) run in `make whole-mesh`, against one started mesh.
"$CARGO" test --workspace --exclude aftersales-mesh --all-targets --no-fail-fast "$@" 2>&1 | tee target/test-output.log
status=${PIPESTATUS[0]}

awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     END { printf "cargo-test: %d passed, %d failed\n", p, f; if (p == 0) exit 1 }' \
  target/test-output.log >target/test-summary.txt || status=1
failing=$(grep -E '^test .+ \.\.\. FAILED$' target/test-output.log | sed -E 's/^test (.+) \.\.\. FAILED$/  \1/' | sort -u)
if [ -n "$failing" ]; then
  echo "cargo-test: failing tests:"
  echo "$failing"
  grep -A20 -E '^error: [0-9]+ targets? failed' target/test-output.log || true
  status=1
fi
cat target/test-summary.txt
exit "$status"

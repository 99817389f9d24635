#!/usr/bin/env bash
# `make whole-mesh` (part of `make test`): the eight binaries started once (`mesh up --fast
# --collect-spans`: databases, broker names and Redis keys of their own, every process exporting
# its spans to the mesh's collector), then every test that needs the whole mesh runs against
# that one mesh:
#   - the end-to-end tests (loadtest/mesh/tests/e2e: each lifecycle through the gateway with the
#     demo operator playing the people; one request's traces; every metric the alerts and the
#     dashboard name in a live scrape);
#   - the README's grpcurl examples (scripts/grpcurl-check.sh) against the mesh's intake;
#   - the API fuzzer (loadtest/api-test.sh) against the mesh's gateway.
# Ends with one summary line per suite ("e2e: N passed, N failed", "grpcurl: …", "api-test: …").
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p target/mesh
CARGO="${CARGO:-cargo}"
ENV_FILE=$PWD/target/mesh/mesh.env
LOG=$PWD/target/mesh/mesh.log
rm -f "$ENV_FILE"
"$CARGO" build -q -p aftersales-mesh --bins --tests 2>&1 | tail -n 20
"$CARGO" build -q --bins 2>&1 | tail -n 20
target/debug/mesh up --fast --collect-spans --env-file "$ENV_FILE" >"$LOG" 2>&1 &
MESH_PID=$!
stop() {
  kill -TERM "$MESH_PID" 2>/dev/null || true
  wait "$MESH_PID" 2>/dev/null || true
}
trap stop EXIT
for _ in $(seq 1 600); do
  [ -f "$ENV_FILE" ] && break
  kill -0 "$MESH_PID" 2>/dev/null || { echo "whole-mesh: mesh up exited; its log:"; tail -n 40 "$LOG"; echo "e2e: 0 passed, 1 failed"; exit 1; }
  sleep 0.5
done
[ -f "$ENV_FILE" ] || { echo "whole-mesh: the mesh did not start in 5 minutes"; tail -n 40 "$LOG"; echo "e2e: 0 passed, 1 failed"; exit 1; }
echo "whole-mesh: $(grep -c . "$ENV_FILE") mesh variables in $ENV_FILE"
export MESH_ENV_FILE=$ENV_FILE
status=0

MESH_ENV_FILE=$ENV_FILE "$CARGO" test -p aftersales-mesh --test e2e -- --nocapture 2>&1 | tee target/mesh/e2e.log
[ "${PIPESTATUS[0]}" = 0 ] || status=1
grep '^e2e: ' target/mesh/e2e.log | grep -v ' passed, ' || true
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     END { printf "e2e: %d passed, %d failed\n", p, f }' target/mesh/e2e.log | tee target/mesh/e2e-summary.txt
exit "$status"

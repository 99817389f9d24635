#!/usr/bin/env bash
# `make observability-check` (part of `make test`): the chart's alert rules and Grafana dashboard.
#   - promtool check rules + promtool test rules (each alert fires on a synthetic series and stays
#     silent on a healthy one: files/alerts_test.yaml);
#   - every dashboard query parses as PromQL (promtool, as recording rules);
#   - the dashboard type-checks against the Grafana dashboard schema (@grafana/schema's
#     Dashboard type, tsc --strict: unknown fields and wrong types are errors).
# That every metric the rules and the dashboard name exists in a live scrape is proven by the
# whole-mesh test `e2e::observability` (it scrapes the running services).
# Installs what it needs when absent (promtool via scripts/infra.sh; TypeScript and
# @grafana/schema into .tools/grafana). Ends with "observability: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FILES=charts/aftersales/files
GRAFANA_SCHEMA_VERSION=13.2.3
TYPESCRIPT_VERSION=5.9.3
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
type -P promtool >/dev/null && type -P npm >/dev/null || bash scripts/infra.sh >/dev/null

passed=0 failed=0
check() { # name, command...
  local name=$1; shift
  if out=$("$@" 2>&1); then
    echo "observability: $name ok"; passed=$((passed + 1))
  else
    echo "observability: $name FAILED"; printf '%s\n' "$out" | tail -n 40; failed=$((failed + 1))
  fi
}

check "promtool check rules" promtool check rules "$FILES/alerts.yaml"
check "promtool test rules" promtool test rules "$FILES/alerts_test.yaml"

# Each dashboard query as a recording rule, with Grafana's interval variables replaced.
python3 - "$FILES/dashboard.json" >"$WORK/dashboard-rules.yaml" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
def panels(ps):
    for p in ps:
        yield p
        yield from panels(p.get("panels", []))
print("groups:\n  - name: dashboard-queries\n    rules:")
for p in panels(d["panels"]):
    for t in p.get("targets", []):
        expr = t["expr"].replace("$__rate_interval", "5m").replace("$__interval", "1m").replace("$__range", "1h")
        print(f"      - record: dashboard:panel_{p['id']}_{t['refId']}")
        print(f"        expr: {json.dumps(expr)}")
PY
check "dashboard queries parse" promtool check rules "$WORK/dashboard-rules.yaml"

TOOLS=$ROOT/.tools/grafana
if [ ! -x "$TOOLS/node_modules/.bin/tsc" ] || [ ! -d "$TOOLS/node_modules/@grafana/schema" ]; then
  mkdir -p "$TOOLS"
  (cd "$TOOLS" && [ -f package.json ] || echo '{"private":true}' >package.json
   npm install --silent --no-audit --no-fund "typescript@$TYPESCRIPT_VERSION" "@grafana/schema@$GRAFANA_SCHEMA_VERSION" >/dev/null)
fi
# An object literal typed as Dashboard: excess-property checks reject fields the schema lacks.
{
  echo "import type { Dashboard } from '@grafana/schema';"
  printf 'export const dashboard: Dashboard = '
  cat "$FILES/dashboard.json"
  echo ';'
} >"$TOOLS/dashboard.check.ts"
check "dashboard matches the Grafana schema ($GRAFANA_SCHEMA_VERSION)" \
  "$TOOLS/node_modules/.bin/tsc" --strict --noEmit --skipLibCheck --moduleResolution bundler --module esnext \
  --target es2022 "$TOOLS/dashboard.check.ts"
check "dashboard panel ids unique and inside the grid" python3 - "$FILES/dashboard.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ids = [p["id"] for p in d["panels"]]
assert len(ids) == len(set(ids)), f"duplicate panel ids: {ids}"
for p in d["panels"]:
    g = p["gridPos"]
    assert g["x"] + g["w"] <= 24, f"panel {p['id']} ({p['title']}) leaves the 24-column grid"
    for t in p.get("targets", []):
        assert t.get("expr") and t.get("refId"), f"panel {p['id']} has a target without expr/refId"
PY

check "every alert has its runbook section" python3 - "$FILES/alerts.yaml" docs/operations.md <<'PY'
import re, sys
rules, doc = open(sys.argv[1]).read(), open(sys.argv[2]).read()
alerts = re.findall(r"^\s*- alert: (\w+)", rules, re.M)
sections = set(re.findall(r"^## (\w+)", doc, re.M))
missing = [a for a in alerts if a not in sections]
assert alerts and not missing, f"alerts without a runbook section in docs/operations.md: {missing}"
for a in alerts:
    assert f"docs/operations.md#{a.lower()}" in rules, f"{a}: runbook_url is not docs/operations.md#{a.lower()}"
PY

echo "observability: $passed passed, $failed failed"
[ "$failed" = 0 ]

#!/usr/bin/env bash
# Offline checks of the deployment files; no cluster, no network but the package registries
# (and those only the first time, to install the tools).
#
#   scripts/chart-check.sh
#
# For every value set in charts/aftersales/ci/ the chart must pass four stages:
#   lint        helm lint --strict (includes values.schema.json and a render)
#   render      helm template
#   validate    every rendered object against the Kubernetes $KUBE_VERSION schemas, strict
#   invariants  scripts/chart_invariants.py (probes, resources, security, policies, jobs, secrets)
# Every value set in charts/aftersales/ci-bad/ must FAIL, at the stage named by its
# "# expect-failure: STAGE" line (and with output matching its "# expect-match: REGEX" line, if
# any); a bad set that passes, or fails elsewhere, fails the check. A set whose stage is "run"
# is a fixture of `make chart-run` (scripts/chart_run.py starts the rendered binaries and must
# reject it): here it must pass all four static stages, or it would prove nothing about chart-run.
# Each demo policy the chart carries (files/<service>-policy.toml) must be identical to the
# service's own (services/<service>/policy/demo.toml).
# The dev infrastructure (kubectl kustomize k8s/) gets the validate stage too.
# Ends with "chart-check: N passed, N failed"; exits non-zero on any failure.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHART="$ROOT/charts/aftersales"
KUBE_VERSION="${KUBE_VERSION:-1.31.0}"
RELEASE=aftersales
NAMESPACE=aftersales

"$ROOT/scripts/install-chart-tools.sh" || { echo "chart-check: could not install the tools"; echo "chart-check: 0 passed, 1 failed"; exit 1; }
HELM="$ROOT/.tools/bin/helm"
VENV="$ROOT/.tools/venv"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0
skipped=0
pass() { passed=$((passed + 1)); printf 'PASS  %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL  %s\n' "$*"; }

# Runs the stages on one value set. Prints the name of the first failing stage (nothing if all
# pass); the stages' output goes to $WORK/log.
run_stages() {
  local values="$1" out="$WORK/rendered.yaml"
  : >"$WORK/log"
  "$HELM" lint --strict "$CHART" --namespace "$NAMESPACE" -f "$values" >>"$WORK/log" 2>&1 || { echo lint; return; }
  "$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" --kube-version "$KUBE_VERSION" \
    -f "$values" >"$out" 2>>"$WORK/log" || { echo render; return; }
  "$VENV/bin/kubernetes-validate" -k "$KUBE_VERSION" --strict --quiet "$out" >>"$WORK/log" 2>&1 || { echo validate; return; }
  "$VENV/bin/python" "$ROOT/scripts/chart_invariants.py" --values "$CHART/values.yaml" --values "$values" \
    "$out" >>"$WORK/log" 2>&1 || { echo invariants; return; }
}

summary_of_render() {
  grep -h '^kind:' "$WORK/rendered.yaml" | wc -l | tr -d ' '
}

shopt -s nullglob
good=("$CHART"/ci/*.yaml)
bad=("$CHART"/ci-bad/*.yaml)
[ "${#good[@]}" -gt 0 ] || { fail "no value sets in charts/aftersales/ci/"; }
[ "${#bad[@]}" -gt 0 ] || { fail "no bad value sets in charts/aftersales/ci-bad/"; }

for values in "${good[@]}"; do
  name="ci/$(basename "$values")"
  stage="$(run_stages "$values")"
  if [ -z "$stage" ]; then
    pass "$name: lint, render, validate ($KUBE_VERSION strict), invariants ($(summary_of_render) objects)"
  else
    fail "$name: failed at $stage:"
    sed 's/^/      /' "$WORK/log" | tail -n 40
  fi
done

for values in "${bad[@]}"; do
  name="ci-bad/$(basename "$values")"
  expect="$(sed -n 's/^# expect-failure: *\([a-z]*\).*/\1/p' "$values" | head -n 1)"
  if [ -z "$expect" ]; then
    fail "$name: has no '# expect-failure: lint|render|validate|invariants' line"
    continue
  fi
  # Optional: a regex the failure output must match, so a set cannot pass by failing for
  # another reason.
  match="$(sed -n 's/^# expect-match: *//p' "$values" | head -n 1)"
  stage="$(run_stages "$values")"
  if [ "$expect" = run ]; then
    if [ -z "$stage" ]; then
      pass "$name: passes lint, render, validate and invariants; only make chart-run can reject it (run)"
    else
      fail "$name: a chart-run fixture must pass the static stages, but failed at $stage:"
      sed 's/^/      /' "$WORK/log" | tail -n 20
    fi
    continue
  fi
  # The first line that says why, without the lint banner.
  reason="$(grep -iE 'error|violated' "$WORK/log" | grep -v 'chart(s) linted' | head -n 1 \
    | sed 's/^[[:space:]]*//; s#'"$WORK"'/##g' | cut -c 1-160)"
  if [ -z "$stage" ]; then
    fail "$name: expected to fail at $expect, but every stage passed"
  elif [ "$stage" != "$expect" ]; then
    fail "$name: expected to fail at $expect, failed at $stage instead:"
    sed 's/^/      /' "$WORK/log" | tail -n 20
  elif [ -n "$match" ] && ! grep -qE -- "$match" "$WORK/log"; then
    fail "$name: failed at $stage as expected, but not with /$match/:"
    sed 's/^/      /' "$WORK/log" | tail -n 20
  else
    pass "$name: rejected at $stage as expected ($reason)"
  fi
done

# The demo policies the chart carries (files/<service>-policy.toml, what an empty
# `policies.<service>` mounts) are copies of the services' own (services/<service>/policy/demo.toml,
# what the binary compiles in): the two must not drift apart. Every key of `policies` needs its
# copy, and every copy its key.
policy_services="$("$VENV/bin/python" -c 'import sys, yaml; print(*(yaml.safe_load(open(sys.argv[1])).get("policies") or {}))' "$CHART/values.yaml")"
for f in "$CHART"/files/*-policy.toml; do
  svc="$(basename "$f" -policy.toml)"
  case " $policy_services " in *" $svc "*) ;; *) fail "files/$(basename "$f"): no key policies.$svc in values.yaml mounts it";; esac
done
for svc in $policy_services; do
  copy="$CHART/files/$svc-policy.toml" demo="$ROOT/services/$svc/policy/demo.toml"
  if [ ! -f "$copy" ]; then
    fail "policies.$svc: the chart carries no files/$svc-policy.toml (copy services/$svc/policy/demo.toml)"
  elif [ ! -f "$demo" ]; then
    fail "files/$svc-policy.toml: services/$svc/policy/demo.toml does not exist"
  elif cmp -s "$copy" "$demo"; then
    pass "files/$svc-policy.toml: identical to services/$svc/policy/demo.toml"
  else
    fail "files/$svc-policy.toml differs from services/$svc/policy/demo.toml (cp services/$svc/policy/demo.toml charts/aftersales/files/$svc-policy.toml):"
    diff -u "$demo" "$copy" | head -n 20 | sed 's/^/      /'
  fi
done

# The dev infrastructure: kubectl's built-in kustomize works offline.
if command -v kubectl >/dev/null 2>&1; then
  if kubectl kustomize "$ROOT/k8s" >"$WORK/infra.yaml" 2>"$WORK/log" \
    && "$VENV/bin/kubernetes-validate" -k "$KUBE_VERSION" --strict --quiet "$WORK/infra.yaml" >>"$WORK/log" 2>&1; then
    pass "k8s/: kustomize, validate ($KUBE_VERSION strict) ($(grep -c '^kind:' "$WORK/infra.yaml") objects)"
  else
    fail "k8s/: kustomize or validate failed:"
    sed 's/^/      /' "$WORK/log" | tail -n 40
  fi
else
  skipped=$((skipped + 1))
  printf 'SKIP  k8s/: kubectl not installed (kubectl kustomize renders it)\n'
fi

if [ "$skipped" -gt 0 ]; then
  echo "chart-check: $passed passed, $failed failed, $skipped skipped"
else
  echo "chart-check: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]

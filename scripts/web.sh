#!/usr/bin/env bash
# The web app (frontend/): `scripts/web.sh build` for `make run`, `scripts/web.sh test` for `make test-web`.
#
# build: builds frontend/dist when Node.js >= 20.19 and npm are here and the sources changed since the
#        last build; without them it says how to get the UI and succeeds (the API runs either way).
# test:  npm ci when the lock changed, checks the generated client against the committed schema, type
#        checks, builds, runs Vitest, then the Playwright journeys through the real server with Debian's
#        chromium. Outside CI a missing Node or chromium skips it with a loud notice; under CI=true it
#        fails, so CI never passes without having run it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WEB=$ROOT/frontend
PYTHON=${LEARNFLOW_PYTHON:-$ROOT/.venv/bin/python}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
# npm behind a TLS-inspecting proxy trusts the system's certificates as well as its own.
[ -r /etc/ssl/certs/ca-certificates.crt ] && export NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}

node_ok() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
    && node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'
}

deps() {
  # npm ci only when package-lock.json changed since the last install.
  if [ ! -f "$WEB/node_modules/.ci-stamp" ] || [ "$WEB/package-lock.json" -nt "$WEB/node_modules/.ci-stamp" ]; then
    (cd "$WEB" && npm ci --no-audit --no-fund)
    touch "$WEB/node_modules/.ci-stamp"
  fi
}

stale_build() {
  [ ! -f "$WEB/dist/index.html" ] && return 0
  [ -n "$(find "$WEB/src" "$WEB/index.html" "$WEB/package-lock.json" "$WEB/vite.config.ts" "$WEB/tsconfig.json" \
    -newer "$WEB/dist/index.html" -print -quit)" ]
}

build() {
  if ! node_ok; then
    cat >&2 <<'MSG'
*** The web app is not built: Node.js 20.19 or newer with npm is needed (https://nodejs.org, or your
*** package manager). The API still runs, and http://127.0.0.1:8000/ explains this page. Once Node is
*** installed, `make run` builds the app by itself (or: cd frontend && npm ci && npm run build).
MSG
    return 0
  fi
  deps
  if stale_build; then
    (cd "$WEB" && npm run build)
  fi
}

missing() {
  if [ "${CI:-}" = "true" ]; then
    echo "test-web: $1 (CI=true: this fails instead of skipping)" >&2
    exit 1
  fi
  echo "*** test-web SKIPPED: $1" >&2
  exit 0
}

test_web() {
  node_ok || missing "Node.js >= 20.19 with npm is not installed"
  [ -x "$CHROMIUM" ] || missing "Debian chromium is not installed (apt-get install chromium chromium-driver)"
  [ -x "$PYTHON" ] || missing "no LearnFlow environment at $PYTHON (make install, or set LEARNFLOW_PYTHON)"
  deps
  # The generated client must be what the committed schema generates (tests/test_web.py checks the
  # committed schema against the live API).
  (cd "$WEB" && npx openapi-typescript openapi.json -o "$WEB/node_modules/.schema-check.d.ts" >/dev/null)
  if ! cmp -s "$WEB/node_modules/.schema-check.d.ts" "$WEB/src/api/schema.d.ts"; then
    echo "test-web: src/api/schema.d.ts is not generated from openapi.json: run make web-schema and commit" >&2
    exit 1
  fi
  (cd "$WEB" && npm run build && npm test)
  rm -rf "$WEB/test-results/screens"
  (cd "$WEB" && LEARNFLOW_PYTHON="$PYTHON" CHROMIUM="$CHROMIUM" npx playwright test)
  echo "test-web: screenshots in frontend/test-results/screens/"
}

case "${1:-}" in
  build) build ;;
  test) test_web ;;
  *) echo "usage: scripts/web.sh build|test" >&2; exit 2 ;;
esac

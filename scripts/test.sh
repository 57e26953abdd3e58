#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine with Python 3.11 + pip, then run them.
# Usage: bash scripts/test.sh [extra pytest args]   (add -m slow for the long statistical tests)
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=test,docs . scripts/venv.sh
# headless Chromium for the report test (Debian package); skipped where apt is unavailable
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install chromium; the browser test will be skipped" >&2
fi
ruff check src tests benchmarks scripts docs/hooks
ruff format --check src tests benchmarks scripts docs/hooks
python -m pytest -n 2 "$@"
# the documentation, in strict mode (any warning fails); offline, into a temporary folder
DOCS_SITE=$(mktemp -d)
NO_MKDOCS_2_WARNING=1 mkdocs build --strict --quiet -d "$DOCS_SITE"
rm -rf "$DOCS_SITE"

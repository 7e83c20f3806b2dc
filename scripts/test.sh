#!/usr/bin/env bash
# Install what the tests need (Debian's chromium included) and run the whole suite:
# lint, format check, then every test. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_bootstrap.sh
bootstrap "[test]" "chromium fonts-dejavu-core poppler-utils libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0"
echo "ruff check"; .venv/bin/ruff check .
echo "ruff format --check"; .venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"

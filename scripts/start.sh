#!/usr/bin/env bash
# Start Startvora from this checkout with the built-in defaults (data in ./data):
#   ./scripts/start.sh [--host 0.0.0.0] [--port 8000] [--workers 2]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_bootstrap.sh
bootstrap "" "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core"
.venv/bin/startvora init
exec .venv/bin/startvora serve "$@"

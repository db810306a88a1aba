#!/usr/bin/env bash
# Set up (first run) and serve every list in ../shared/data/lists with an embedded Redis.
# Extra arguments go to `screening serve` (e.g. --port 50051 --workers 2 --redis-url ...).
set -euo pipefail
cd "$(dirname "$0")/../.."
./deploy/local/setup.sh
lists=${SCREENING_LISTS_DIR:-../shared/data/lists}
args=()
[ -d "$lists" ] && args+=(--lists-dir "$lists")
# The service's `serving` line counts its start-up from here, not from the set-up above.
SCREENING_SERVE_STARTED_AT=$(date +%s.%N) exec .venv/bin/screening serve "${args[@]}" "$@"

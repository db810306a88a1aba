#!/usr/bin/env bash
# The whole test suite: set-up, proto drift and buf lint, ruff, mypy, then pytest against a
# real redis-server and real gRPC servers on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/local/setup.sh --dev
py=.venv/bin/python

echo "== proto: generated stubs match proto/"
$py proto/generate.py --check
if command -v npm >/dev/null 2>&1; then
  if [ ! -x .tools/node_modules/.bin/buf ]; then
    mkdir -p .tools
    (cd .tools && npm install --silent --no-audit --no-fund @bufbuild/buf@1.75.0 >/dev/null)
  fi
  echo "== proto: buf lint (STANDARD)"
  .tools/node_modules/.bin/buf lint proto
else
  echo "== proto: npm not found, buf lint skipped" >&2
fi

echo "== ruff"
.venv/bin/ruff check server clients tests proto
.venv/bin/ruff format --check server clients tests proto
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
exec .venv/bin/pytest -q "$@"

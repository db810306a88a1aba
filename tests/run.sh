#!/usr/bin/env bash
# The whole test suite: set-up, proto drift and buf lint, ruff, mypy, import-linter, then
# pytest against a real redis-server and real gRPC servers on loopback.
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

# Deployment checks (tests/deploy): kubeconform from the Go module proxy (once, ~20 s), and a
# compose implementation for `compose config` (the docker CLI plugin when present, else
# Debian's docker-compose). A tool that cannot be installed makes its test skip, saying why.
if [ ! -x .tools/bin/kubeconform ] && ! command -v kubeconform >/dev/null 2>&1; then
  if command -v go >/dev/null 2>&1; then
    echo "== installing kubeconform (go install)"
    GOBIN="$PWD/.tools/bin" go install github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0 \
      || echo "kubeconform could not be installed: its tests will skip" >&2
  fi
fi
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo_cmd=""
    [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    echo "== installing docker-compose (apt-get)"
    { $sudo_cmd apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq docker-compose >/dev/null; } \
      || echo "docker-compose could not be installed: its test will skip" >&2
  fi
fi

# The batch report's browser test (tests/e2e/test_batch_report.py): Debian's chromium, driven
# by Playwright (dev extra) through its executable path.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  echo "== installing chromium (apt-get)"
  { $sudo_cmd apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null; } \
    || echo "chromium could not be installed: the report's browser test will skip" >&2
fi

echo "== ruff"
.venv/bin/ruff check server clients tests proto deploy
.venv/bin/ruff format --check server clients tests proto deploy
echo "== mypy"
.venv/bin/mypy
echo "== import-linter: layers and no cycles (contracts in pyproject.toml)"
.venv/bin/lint-imports
echo "== pytest"
exec .venv/bin/pytest -q -rs "$@"

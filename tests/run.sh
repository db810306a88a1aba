#!/usr/bin/env bash
# The whole test suite, in stages, each closing with one line: its name, ok or FAILED, and its
# seconds. Set-up and tools, stub drift and buf lint, ruff lint and format, mypy and the
# import contracts; then pytest against a real redis-server and real gRPC servers on loopback:
#   unit+e2e  tests/unit, tests/integration, tests/e2e, tests/faults and the deployment
#             checks, on parallel workers (pytest-xdist), each with a redis-server of its own,
#             sharing one session service
#   serial    tests marked `serial` (most of tests/faults, timing-sensitive ones), one at a time
#   image     tests/deploy/test_image.py: builds the container image and runs it (minutes)
# Every stage runs even when one before it failed; the command fails if any did. Arguments
# replace the pytest stages with one plain pytest run: ./tests/run.sh -k name tests/e2e
# SCREENING_TEST_WORKERS sets the parallel workers (default: 3, or 1 on a 1-core machine: many
# tests wait on services starting or recovering, so a third worker fills two cores better).
set -euo pipefail
cd "$(dirname "$0")/.."

failed=()
summary=()
suite_started=$SECONDS

# stage NAME COMMAND...: runs COMMAND with its output kept back unless it fails.
stage() {
  local name=$1 started=$SECONDS log status
  shift
  log=$(mktemp)
  if "$@" >"$log" 2>&1; then status=ok; else status=FAILED; fi
  [ "$status" = ok ] || cat "$log"
  rm -f "$log"
  finish "$name" "$status" "$started"
}

# shown NAME COMMAND...: the same, with the command's output shown as it runs (pytest).
shown() {
  local name=$1 started=$SECONDS status
  shift
  echo "-- $name"
  if "$@"; then status=ok; else status=FAILED; fi
  finish "$name" "$status" "$started"
}

finish() {
  local line
  line=$(printf '%-17s %-6s %5d s' "$1" "$2" $((SECONDS - $3)))
  echo "== $line"
  summary+=("$line")
  [ "$2" = ok ] || failed+=("$1")
}

setup() {
  ./deploy/local/setup.sh --dev
}

tools() {
  # buf from npm, once.
  if command -v npm >/dev/null 2>&1; then
    if [ ! -x .tools/node_modules/.bin/buf ]; then
      mkdir -p .tools
      (cd .tools && npm install --silent --no-audit --no-fund @bufbuild/buf@1.75.0 >/dev/null)
    fi
  else
    echo "npm not found: buf lint skipped" >&2
  fi
  # Deployment checks (tests/deploy): kubeconform from the Go module proxy (once, ~20 s), and
  # a compose implementation for `compose config` (the docker CLI plugin when present, else
  # Debian's docker-compose). A tool that cannot be installed makes its test skip, saying why.
  if [ ! -x .tools/bin/kubeconform ] && ! command -v kubeconform >/dev/null 2>&1; then
    if command -v go >/dev/null 2>&1; then
      GOBIN="$PWD/.tools/bin" go install github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0 \
        || echo "kubeconform could not be installed: its tests will skip" >&2
    fi
  fi
  local sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
      { $sudo_cmd apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq docker-compose >/dev/null; } \
        || echo "docker-compose could not be installed: its test will skip" >&2
    fi
  fi
  # The batch report's browser test (tests/e2e/test_batch_report.py): Debian's chromium,
  # driven by Playwright (dev extra) through its executable path.
  if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
    { $sudo_cmd apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null; } \
      || echo "chromium could not be installed: the report's browser test will skip" >&2
  fi
}

buf_lint() {
  if [ -x .tools/node_modules/.bin/buf ]; then
    .tools/node_modules/.bin/buf lint proto
  else
    echo "buf not installed: buf lint skipped" >&2
  fi
}

# The whole run in one function, read before it starts: bash reads a script as it runs, so a
# script edited meanwhile (a branch checked out) would otherwise run from a shifted offset.
main() {
  py=.venv/bin/python
  checked="server clients tests proto deploy"

  stage "set-up" setup
  if [ "${#failed[@]}" -gt 0 ]; then
    echo "set-up failed: nothing else can run" >&2
    exit 1
  fi
  stage "tools" tools
  stage "stub drift" $py proto/generate.py --check
  stage "buf lint" buf_lint
  # shellcheck disable=SC2086  # the checked folders are separate arguments
  stage "lint" .venv/bin/ruff check $checked
  # shellcheck disable=SC2086
  stage "format" .venv/bin/ruff format --check $checked
  stage "mypy" .venv/bin/mypy
  stage "import contracts" .venv/bin/lint-imports

  pytest=(.venv/bin/pytest -q -rs)
  if [ "$#" -gt 0 ]; then
    shown "pytest" "${pytest[@]}" "$@"
  else
    workers=${SCREENING_TEST_WORKERS:-$(($(nproc) > 1 ? 3 : 1))}
    # A module's tests stay on one worker (--dist loadfile): a server a module starts for its
    # tests is started once. The costliest modules go first, each to the first free worker
    # (tests/scheduling.py, from the seconds this stage recorded last time), so no worker is
    # left with a long module at the end while the others wait; the unit tests fill the gaps.
    local tests_started=$SECONDS session_index
    # The stages' session services share their index file (tests/conftest.py).
    session_index=$(mktemp -d)
    export SCREENING_TEST_SESSION_INDEX_DIR=$session_index
    SCREENING_TEST_RECORD_SECONDS=1 shown "unit+e2e" "${pytest[@]}" -n "$workers" \
      --dist loadfile -m "not serial" tests/unit tests/faults tests/integration tests/e2e \
      tests/deploy --ignore=tests/deploy/test_image.py
    shown "serial" "${pytest[@]}" -m serial tests --ignore=tests/deploy/test_image.py
    summary+=("$(printf '%-17s %-6s %5d s' "(tests but image)" "" $((SECONDS - tests_started)))")
    rm -rf "$session_index"
    shown "image" "${pytest[@]}" tests/deploy/test_image.py
  fi

  echo "== stages"
  printf '   %s\n' "${summary[@]}"
  printf '   %-17s %-6s %5d s\n' "whole suite" "$([ "${#failed[@]}" -eq 0 ] && echo ok || echo FAILED)" \
    $((SECONDS - suite_started))
  if [ "${#failed[@]}" -gt 0 ]; then
    echo "failed: ${failed[*]}" >&2
    exit 1
  fi
}

main "$@"

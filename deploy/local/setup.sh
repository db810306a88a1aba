#!/usr/bin/env bash
# Set up a fresh machine for the service: redis-server (Debian package) and a virtualenv in
# .venv with the project installed. `--dev` adds the test and lint tools. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."

dev=0
[ "${1:-}" = "--dev" ] && dev=1

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
if [ "$dev" = 1 ]; then
  command -v redis-sentinel >/dev/null 2>&1 || need_apt+=(redis-sentinel)
  # redis-cli creates the test Redis Cluster.
  command -v redis-cli >/dev/null 2>&1 || need_apt+=(redis-tools)
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  echo "installing ${need_apt[*]} (apt-get)" >&2
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if [ "$dev" = 1 ]; then
  .venv/bin/python -m pip install -q -e '.[dev]'
  # The client package (installed on its own by its users) for its tests.
  .venv/bin/python -m pip install -q -e clients/python
else
  .venv/bin/python -m pip install -q -e .
fi

#!/usr/bin/env bash
# Set up a fresh machine for the service: redis-server (Debian package), a virtualenv in .venv
# with the service and its Python client (`screening`, `screening-batch`), and grpcurl (built
# by `go install` into .tools/bin, linked as .venv/bin/grpcurl): everything the README's
# "Using it" calls. `--dev` adds the test and lint tools. Idempotent.
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
  # tests/e2e/test_prometheus.py runs a real Prometheus against the service.
  command -v prometheus >/dev/null 2>&1 || need_apt+=(prometheus)
  # pyicu (for rigour, which rebuilds the legal-form table) compiles against ICU.
  dpkg -s libicu-dev >/dev/null 2>&1 || need_apt+=(libicu-dev pkg-config)
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
else
  .venv/bin/python -m pip install -q -e .
fi
# The client library and `screening-batch` (installed on their own by their users).
.venv/bin/python -m pip install -q -e clients/python
# The service's bytecode, compiled now (again only where a source changed): where
# PYTHONDONTWRITEBYTECODE is set, as on many CI machines and containers, every process of
# every start compiled the whole package from source instead (measured: 0.7-0.8 s of CPU
# at each start of the service's 7 processes).
.venv/bin/python -m compileall -q server/screening clients/python/screening_client

# grpcurl, for calling the service without a client of one's own (server reflection is on).
# Pinned, like every tool the set-up builds; the first build takes a minute or two.
grpcurl_version=v1.9.4
if [ ! -x .tools/bin/grpcurl ]; then
  if command -v grpcurl >/dev/null 2>&1; then
    mkdir -p .tools/bin && ln -sf "$(command -v grpcurl)" .tools/bin/grpcurl
  elif command -v go >/dev/null 2>&1; then
    echo "installing grpcurl $grpcurl_version (go install, into .tools/bin)" >&2
    GOBIN="$PWD/.tools/bin" go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@$grpcurl_version" \
      || echo "grpcurl could not be installed: the README's grpcurl examples need it" >&2
  else
    echo "grpcurl not installed (no Go toolchain): the README's grpcurl examples need it" \
      "(https://github.com/fullstorydev/grpcurl/releases)" >&2
  fi
fi
if [ -x .tools/bin/grpcurl ]; then
  ln -sf "$PWD/.tools/bin/grpcurl" .venv/bin/grpcurl
fi

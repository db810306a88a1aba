#!/usr/bin/env bash
# Build the service image (deploy/Dockerfile) on a machine that has no registry to pull from.
#
#   ./deploy/image/build.sh                 # -> sanctions-screening:local (the name compose uses)
#   IMAGE=name:tag ./deploy/image/build.sh
#
# 1. A container engine: the one that answers, else Debian's docker.io is installed (apt-get) and
#    `dockerd --iptables=false --bridge=none` started in the background (log in $DOCKERD_LOG):
#    it runs without netfilter or a bridge, as inside another container or a microVM. Its
#    storage driver is dockerd's own choice: overlay2 where the kernel mounts overlayfs on the
#    data root, else vfs (DOCKERD_STORAGE_DRIVER forces one). vfs copies every layer whole:
#    measured here, a rebuild after a code change took 560 s on vfs and 33 s on overlay2.
# 2. The base image ($BASE_IMAGE), made once and then reused: Debian bookworm by debootstrap
#    from the mirror apt uses here, with python3, python3-venv and ca-certificates, `python`
#    linked to python3, this host's CA bundle and an /etc/pip.conf that uses it (and this
#    host's pip index settings), so that pip inside the build downloads through the same
#    proxy as the host. REBUILD_BASE=1 makes it again.
# 3. `docker build` with the classic builder (BuildKit would fetch its frontend image) and
#    --network host (no bridge). Layers are cached by the engine: an unchanged pyproject.toml
#    reuses the dependency layer.
#
# Exit status: 0 built; 69 (EX_UNAVAILABLE) no engine answers and none can be started here
# (the reason on stderr); anything else, the build failed.
set -euo pipefail
cd "$(dirname "$0")/../.."

IMAGE=${IMAGE:-sanctions-screening:local}
BASE_IMAGE=${BASE_IMAGE:-screening-base:bookworm-python3}
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/screening-dockerd.log}
EX_UNAVAILABLE=69

say() { echo "== [$((SECONDS))s] $*" >&2; }
unavailable() {
  echo "no container engine: $*" >&2
  exit "$EX_UNAVAILABLE"
}

as_root=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    as_root=(false)
  fi
fi
root() { "${as_root[@]}" "$@"; }

engine_answers() { docker info >/dev/null 2>&1; }

ensure_engine() {
  if engine_answers; then
    return
  fi
  if [ "${as_root[0]:-}" = false ]; then
    unavailable "the docker daemon does not answer and this user cannot start one (not root, no sudo)"
  fi
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 \
      || unavailable "no dockerd and no apt-get to install Debian's docker.io"
    say "installing docker.io (apt-get)"
    { root apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive root apt-get install -y -qq docker.io >/dev/null; } \
      || unavailable "apt-get install docker.io failed"
  fi
  if ! pgrep -x dockerd >/dev/null 2>&1; then
    local driver=()
    [ -z "${DOCKERD_STORAGE_DRIVER:-}" ] || driver=("--storage-driver=$DOCKERD_STORAGE_DRIVER")
    say "starting dockerd (no iptables, no bridge); log: $DOCKERD_LOG"
    # Detached from this script (its own session) so that the engine outlives the build.
    (exec "${as_root[@]}" setsid dockerd "${driver[@]}" --iptables=false --bridge=none \
      >>"$DOCKERD_LOG" 2>&1 </dev/null) &
  fi
  for _ in $(seq 1 120); do
    if engine_answers; then
      say "dockerd answers (storage driver $(docker info --format '{{.Driver}}'))"
      return
    fi
    sleep 0.5
  done
  unavailable "dockerd did not answer within 60 s; its log ($DOCKERD_LOG) ends with:
$(tail -n 15 "$DOCKERD_LOG" 2>/dev/null)"
}

# The first URI apt uses for SUITE (deb822 .sources stanzas or one-line .list entries).
apt_uri() {
  local suite=$1
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /dev/null 2>/dev/null \
    | awk -v s="$suite" '$1 == "deb" { u = ($2 ~ /^\[/) ? $3 : $2; x = ($2 ~ /^\[/) ? $4 : $3;
                          if (x == s) { print u; exit } }'
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v s="$suite" 'BEGIN { RS = ""; FS = "\n" }
      /(^|\n)Types:[^\n]*deb([ \t]|$)/ {
        uri = ""; hit = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { split(substr($i, 6), a, " "); uri = a[1] }
          if ($i ~ /^Suites:/) { n = split(substr($i, 8), b, " ");
                                 for (j = 1; j <= n; j++) if (b[j] == s) hit = 1 }
        }
        if (hit && uri != "") { print uri; exit }
      }' "$f"
  done
}

# The host's pip settings worth carrying into the image: index URLs and trusted hosts (paths
# such as a local find-links directory mean nothing inside the build).
pip_index_settings() {
  local files=(/etc/pip.conf /etc/xdg/pip/pip.conf "$HOME/.config/pip/pip.conf" "$HOME/.pip/pip.conf")
  local f
  for f in "${files[@]}"; do
    [ -f "$f" ] || continue
    awk '/^[ \t]*\[/ { section = $0; next }
         section ~ /\[(global|install)\]/ && /^[ \t]*(index-url|extra-index-url|trusted-host|timeout)[ \t]*=/ { print }
         section ~ /\[(global|install)\]/ && /^[ \t]*find-links[ \t]*=[ \t]*https?:/ { print }' "$f"
  done
  [ -n "${PIP_INDEX_URL:-}" ] && echo "index-url = $PIP_INDEX_URL"
  [ -n "${PIP_EXTRA_INDEX_URL:-}" ] && echo "extra-index-url = $PIP_EXTRA_INDEX_URL"
  [ -n "${PIP_TRUSTED_HOST:-}" ] && echo "trusted-host = $PIP_TRUSTED_HOST"
  [ -n "${PIP_DEFAULT_TIMEOUT:-}" ] && echo "timeout = $PIP_DEFAULT_TIMEOUT"
  true
}

make_base() {
  if [ "${REBUILD_BASE:-0}" != 1 ] && docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    say "base image $BASE_IMAGE present: reused"
    return
  fi
  [ "${as_root[0]:-}" != false ] || { echo "debootstrap needs root" >&2; exit 1; }
  if ! command -v debootstrap >/dev/null 2>&1; then
    say "installing debootstrap (apt-get)"
    root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive root apt-get install -y -qq debootstrap >/dev/null
  fi
  local mirror security rootfs
  mirror=$(apt_uri bookworm | head -n 1)
  mirror=${mirror:-http://deb.debian.org/debian}
  security=$(apt_uri bookworm-security | head -n 1)
  rootfs=$(mktemp -d /var/tmp/screening-rootfs.XXXXXX)
  # shellcheck disable=SC2064  # expand now: the path is fixed
  trap "root rm -rf '$rootfs'" EXIT
  say "debootstrap bookworm from $mirror into $rootfs"
  root debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$rootfs" "$mirror" >/dev/null
  {
    echo "deb $mirror bookworm main"
    echo "deb $mirror bookworm-updates main"
    [ -z "$security" ] || echo "deb $security bookworm-security main"
  } | root tee "$rootfs/etc/apt/sources.list" >/dev/null
  root ln -sf python3 "$rootfs/usr/bin/python"
  # The host's CA bundle (it may hold a proxy's CA), and the extra CAs it was made from so
  # that update-ca-certificates in a later layer keeps them.
  root cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    root cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
  fi
  {
    echo "[global]"
    echo "cert = /etc/ssl/certs/ca-certificates.crt"
    pip_index_settings | grep -v '^[ \t]*cert[ \t]*=' | sort -u
  } | root tee "$rootfs/etc/pip.conf" >/dev/null
  root rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  say "importing $rootfs as $BASE_IMAGE"
  # An imported image has no environment: give it what the python images set.
  root tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    - "$BASE_IMAGE" >/dev/null
  root rm -rf "$rootfs"
  trap - EXIT
}

ensure_engine
make_base
say "building $IMAGE (deploy/Dockerfile, base $BASE_IMAGE)"
DOCKER_BUILDKIT=0 docker build --network host --build-arg "PYTHON_IMAGE=$BASE_IMAGE" \
  -t "$IMAGE" -f deploy/Dockerfile . 2>&1 \
  | sed -e '/^DEPRECATED: The legacy builder/d' -e '/BuildKit is currently disabled/d' \
    -e '/Install the buildx component/d' -e '/docs.docker.com\/go\/buildx/d' -e '/^ *$/d' >&2
# Each code change leaves the previous image and its build stages untagged (the classic
# builder's cache is those images): drop the ones over a day old, so that repeated builds on
# one machine do not fill its disk, and keep the recent ones the next build reuses.
docker image prune --force --filter "until=24h" >/dev/null
size=$(docker image inspect --format '{{.Size}}' "$IMAGE")
say "built $IMAGE in ${SECONDS} s ($((size / 1000000)) MB)"

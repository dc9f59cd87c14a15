#!/usr/bin/env bash
# Builds the meetcoord image without a registry: a static binary built on this machine, this
# machine's CA bundle, on an empty (scratch) base assembled with buildah. The result matches the
# Dockerfile's (same files, user, environment and entry point). Prints the image's name.
#
#   scripts/image.sh [name:tag]        (default meetcoord:dev; needs buildah: apt-get install buildah)
set -euo pipefail
image=${1:-meetcoord:dev}
if ! command -v buildah >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing buildah (apt)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah; } >&2
  else
    echo "buildah missing: apt-get install buildah" >&2; exit 1
  fi
fi
# vfs: no kernel overlay support needed (a container or an old kernel); the image is one layer.
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs}
ca=/etc/ssl/certs/ca-certificates.crt
[ -r "$ca" ] || { echo "$ca missing: apt-get install ca-certificates" >&2; exit 1; }

cd "$(dirname "$0")/.."
work=.cache/image
mkdir -p "$work"
CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$work/meetcoord" ./cmd/meetcoord >&2

container=$(buildah from scratch)
trap 'buildah rm "$container" >/dev/null' EXIT
buildah copy --quiet --chmod 0755 "$container" "$work/meetcoord" /meetcoord >/dev/null
buildah copy --quiet --chmod 0644 "$container" "$ca" /etc/ssl/certs/ca-certificates.crt >/dev/null
buildah config --user 65532:65532 --env LISTEN_ADDR=:8080 --port 8080 \
  --entrypoint '["/meetcoord", "serve"]' --cmd '' \
  --label org.opencontainers.image.title=meetcoord "$container"
buildah commit --quiet --rm "$container" "$image" >&2
trap - EXIT
# What the chart relies on: a non-root user and `meetcoord serve` as the entry point.
config=$(buildah inspect --type image --format '{{.OCIv1.Config.User}} {{.OCIv1.Config.Entrypoint}}' "$image")
[ "$config" = '65532:65532 [/meetcoord serve]' ] || { echo "image $image: unexpected config: $config" >&2; exit 1; }
echo "$image"

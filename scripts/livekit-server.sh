#!/usr/bin/env bash
# Builds livekit-server once into the repository's ignored cache and prints its path.
#
# Pinned to v1.13.5: it builds from the Go module proxy as is; v1.13.6 and later use `replace`
# directives to forks that the module proxy does not serve, so `go install` refuses them.
set -euo pipefail
version=v1.13.5
dir=${1:-.cache/livekit-server/$version}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [ ! -x "$dir/livekit-server" ]; then
  echo "building livekit-server $version into $dir (about a minute, once)" >&2
  GOBIN="$dir/bin.tmp" go install "github.com/livekit/livekit-server/cmd/server@$version" >&2
  mv "$dir/bin.tmp/server" "$dir/livekit-server"
  rmdir "$dir/bin.tmp"
fi
echo "$dir/livekit-server"

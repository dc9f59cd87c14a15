#!/usr/bin/env bash
# Builds helm once into the repository's ignored cache and prints its path.
#
# Built from the Go module proxy at a pinned version (the same source `go run
# helm.sh/helm/v3/cmd/helm@v3.22.0` uses), so helm stays out of go.mod; the first build takes a few
# minutes, later runs reuse the binary.
set -euo pipefail
version=v3.22.0
dir=${1:-.cache/helm/$version}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [ ! -x "$dir/helm" ]; then
  echo "building helm $version into $dir (a few minutes, once)" >&2
  GOBIN="$dir/bin.tmp" go install "helm.sh/helm/v3/cmd/helm@$version" >&2
  mv "$dir/bin.tmp/helm" "$dir/helm"
  rmdir "$dir/bin.tmp"
fi
echo "$dir/helm"

#!/usr/bin/env bash
# Builds kube-apiserver once into the repository's ignored cache and prints its path: the real
# Kubernetes API server that the k8s cluster provider's tests run against (no kubelet: the tests
# create the Pods and set their status themselves).
#
# Built from the module in scripts/kube-apiserver (its own go.mod and go.sum, so the main module
# never depends on k8s.io/kubernetes, and every build takes the same versions). About 7 minutes on
# a busy 2-core machine, once.
set -euo pipefail
version=v1.34.0
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here/../.cache/kube-apiserver/$version}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [ ! -x "$dir/kube-apiserver" ]; then
  echo "building kube-apiserver $version into $dir (about 7 minutes, once)" >&2
  (cd "$here/kube-apiserver" && GOFLAGS=-mod=mod CGO_ENABLED=0 nice go build -trimpath \
    -o "$dir/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver) >&2
  mv "$dir/kube-apiserver.tmp" "$dir/kube-apiserver"
fi
echo "$dir/kube-apiserver"

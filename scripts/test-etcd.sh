#!/usr/bin/env bash
# Starts a throwaway etcd (v3 API) for the tests on free loopback ports, installing etcd-server
# with apt when it is missing, and prints its client endpoint. Stop it with:
# scripts/test-etcd.sh stop DIR
set -euo pipefail

dir=${2:-.cache/test-etcd}
if [ "${1:-start}" = stop ]; then
  if [ -f "$dir/etcd.pid" ]; then kill "$(cat "$dir/etcd.pid")" 2>/dev/null || true; fi
  exit 0
fi

if ! command -v etcd >/dev/null 2>&1; then
  echo "etcd missing: installing etcd-server with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq etcd-server >&2
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
rm -rf "$dir/data"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || shuf -i 20000-60000 -n 1; }
client=$(free_port)
peer=$(free_port)
ETCD_UNSUPPORTED_ARCH=${ETCD_UNSUPPORTED_ARCH:-} nohup etcd --name test --data-dir "$dir/data" \
  --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
  --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
  --initial-cluster "test=http://127.0.0.1:$peer" >"$dir/etcd.log" 2>&1 &
echo $! >"$dir/etcd.pid"
for _ in $(seq 1 100); do
  if curl -fs "http://127.0.0.1:$client/health" 2>/dev/null | grep -q '"health":"true"'; then
    echo "127.0.0.1:$client"
    exit 0
  fi
  sleep 0.1
done
echo "test etcd did not start; see $dir/etcd.log" >&2
exit 1

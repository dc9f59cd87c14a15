#!/usr/bin/env bash
# `make run`: the whole product on one machine with no configuration. A livekit-server in dev
# mode (built once into .cache/, its webhooks pointed at the node) and meetcoord in dev mode
# serving the reference front end (FRONTEND_DIR, default ../shared/meet-frontend/dist when
# present) and its development login page, all on 127.0.0.1. Ctrl-C stops everything it started.
#
# Every setting of the configuration table is still honoured; these pick the ports:
#   LISTEN_ADDR (127.0.0.1:8080), LIVEKIT_PORT (7880), LIVEKIT_RTC_TCP_PORT (7881),
#   LIVEKIT_RTC_UDP_PORT (7882), RUN_DIR (.cache/run: keys and the LiveKit config).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

listen=${LISTEN_ADDR:-127.0.0.1:8080}
lk_port=${LIVEKIT_PORT:-7880}
lk_tcp=${LIVEKIT_RTC_TCP_PORT:-7881}
lk_udp=${LIVEKIT_RTC_UDP_PORT:-7882}
run_dir=${RUN_DIR:-$root/.cache/run}
mkdir -p "$run_dir"
chmod 700 "$run_dir"

if [ -z "${FRONTEND_DIR+set}" ] && [ -f "$root/../shared/meet-frontend/dist/index.html" ]; then
  FRONTEND_DIR=$(cd "$root/../shared/meet-frontend/dist" && pwd)
fi
if [ -z "${FRONTEND_DIR:-}" ]; then
  echo "no front end to serve: set FRONTEND_DIR to a built La Suite Meet front end (dist/); serving the API only" >&2
fi

livekit=$(scripts/livekit-server.sh "$root/.cache/livekit-server/v1.13.5")
go build -o "$root/.cache/bin/meetcoord" ./cmd/meetcoord

# One key pair shared by the two, drawn once and kept (LiveKit wants a secret of 32 characters
# or more); the same for SECRET_KEY, so that lobby cookies survive a restart of `make run`.
secret_of() {
  local file=$run_dir/$1
  [ -s "$file" ] || (umask 077 && head -c 32 /dev/urandom | base64 | tr -d '\n=+/' >"$file")
  cat "$file"
}
lk_key=devkey
lk_secret=$(secret_of livekit-secret)
cat >"$run_dir/livekit.yaml" <<YAML
development: true
port: $lk_port
bind_addresses: [127.0.0.1]
rtc:
  tcp_port: $lk_tcp
  udp_port: $lk_udp
  use_external_ip: false
  node_ip: 127.0.0.1
keys:
  $lk_key: $lk_secret
webhook:
  api_key: $lk_key
  urls:
    - http://$listen/api/v1.0/rooms/webhooks-livekit/
logging:
  level: warn
YAML

pids=()
# stop asks each child to stop, and kills what still runs 15 s later (livekit-server ignores a
# SIGTERM that comes while it is still starting).
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 150); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$livekit" --config "$run_dir/livekit.yaml" &
pids+=($!)

LISTEN_ADDR=$listen \
LIVEKIT_API_URL=http://127.0.0.1:$lk_port \
LIVEKIT_API_KEY=$lk_key LIVEKIT_API_SECRET=$lk_secret \
SECRET_KEY=${SECRET_KEY:-$(secret_of secret-key)} \
DEV_OIDC_KEY_FILE=${DEV_OIDC_KEY_FILE:-$run_dir/oidc-key.pem} \
FRONTEND_DIR=${FRONTEND_DIR:-} \
  "$root/.cache/bin/meetcoord" serve --dev &
pids+=($!)

echo "meetcoord: open http://$listen/ (LiveKit on ws://127.0.0.1:$lk_port); Ctrl-C stops everything" >&2
# The first of the two to end ends the rest.
set +e
wait -n "${pids[@]}"
status=$?
exit "$status"

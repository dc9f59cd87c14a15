#!/usr/bin/env bash
# Prints the path of a Chromium for the browser tests (gateway/frontendtest), installing Debian's
# chromium with apt when /usr/bin/chromium is missing. Fails loudly: the browser suite never skips.
set -euo pipefail

bin=/usr/bin/chromium
if [ ! -x "$bin" ]; then
  echo "chromium missing: installing it with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq chromium >&2
fi
if [ ! -x "$bin" ]; then
  echo "chromium is still missing at $bin after apt-get install" >&2
  exit 1
fi
echo "$bin"

#!/usr/bin/env bash
# The test suite validates docker-compose.yml with Debian's docker-compose (v1): install
# it when missing and apt is available. No Docker engine is needed for `config -q`.
set -euo pipefail
command -v docker-compose >/dev/null 2>&1 && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing docker-compose (Debian package) to validate docker-compose.yml..."
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
else
  echo "docker-compose is missing and cannot be installed here; the compose test will fail" >&2
fi

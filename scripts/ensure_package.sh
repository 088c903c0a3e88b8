#!/usr/bin/env bash
# Make sure a Debian-packaged tool the tests use is on PATH, installing it with apt-get when
# missing and we can (root). Usage: ensure_package.sh COMMAND PACKAGE WHAT-FOR
#   docker-compose (v1) validates docker-compose.yml with `config -q`: no Docker engine needed;
#   faketime runs the date-sensitive tests under a clock a year ahead.
set -euo pipefail
command="$1" package="$2" purpose="$3"
command -v "$command" >/dev/null 2>&1 && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing $package (Debian package) to $purpose..."
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" >/dev/null
else
  echo "$command is missing and cannot be installed here (apt-get install $package); the tests that $purpose will fail" >&2
fi

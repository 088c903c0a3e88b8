#!/usr/bin/env bash
# Make sure a headless browser for the UI tests exists: Debian's `chromium` package.
# Prints the browser's path. Installs it with apt-get when missing and we can (root, or
# passwordless sudo); otherwise exits 1 with what to do. NICHIRO_CHROMIUM overrides the path.
set -euo pipefail
find_browser() {
  if [ -n "${NICHIRO_CHROMIUM:-}" ]; then
    [ -x "$NICHIRO_CHROMIUM" ] && { echo "$NICHIRO_CHROMIUM"; return 0; }
    echo "NICHIRO_CHROMIUM=$NICHIRO_CHROMIUM is not an executable" >&2; return 1
  fi
  for name in chromium chromium-browser google-chrome; do
    command -v "$name" && return 0
  done
  return 1
}
find_browser && exit 0
[ -n "${NICHIRO_CHROMIUM:-}" ] && exit 1
if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else
  echo "chromium is missing; install it with: sudo apt-get install -y --no-install-recommends chromium" >&2
  exit 1
fi
command -v apt-get >/dev/null || { echo "chromium is missing and apt-get is not available" >&2; exit 1; }
echo "installing Debian's chromium (apt-get; takes a minute or two)..." >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >&2
find_browser

#!/usr/bin/env bash
# Installs Debian's Chromium (+ chromium-driver, CJK and emoji fonts) for the browser tests
# (tests/browser/), only when /usr/bin/chromium is missing. Idempotent and quiet; needs root/apt.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
. "$(dirname "$0")/apt_root.sh"
apt_root install_browser.sh "Chromium at /usr/bin/chromium" chromium
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends \
  chromium chromium-driver fonts-noto-cjk fonts-noto-color-emoji >/dev/null
/usr/bin/chromium --version >/dev/null 2>&1 || { echo "install_browser.sh: chromium installed but does not start" >&2; exit 1; }
echo "chromium installed: $(/usr/bin/chromium --version 2>/dev/null)"

#!/usr/bin/env bash
# Installs Debian's Chromium (+ chromium-driver, CJK and emoji fonts) for the browser tests
# (tests/browser/), only when /usr/bin/chromium is missing. Idempotent and quiet; needs root/apt.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_browser.sh: apt-get not found; install Chromium at /usr/bin/chromium yourself" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install_browser.sh: run as root (or with sudo) to install chromium" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends \
  chromium chromium-driver fonts-noto-cjk fonts-noto-color-emoji >/dev/null
/usr/bin/chromium --version >/dev/null 2>&1 || { echo "install_browser.sh: chromium installed but does not start" >&2; exit 1; }
echo "chromium installed: $(/usr/bin/chromium --version 2>/dev/null)"

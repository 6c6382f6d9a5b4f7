# Sourced by the install_*.sh scripts: fails with a clear message unless apt-get exists and the script can act
# as root, then sets SUDO ("" as root, "sudo" otherwise) and DEBIAN_FRONTEND.
# Usage: apt_root NAME WHAT PACKAGE (WHAT: what to install by hand without apt; PACKAGE: what root would install).
apt_root() {
  local name=$1 what=$2 package=$3
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$name: apt-get not found; install $what yourself" >&2
    exit 1
  fi
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "$name: run as root (or with sudo) to install $package" >&2
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
}

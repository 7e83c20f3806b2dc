# Shared by start.sh and test.sh: system packages, Python >= 3.11, and the .venv with Startvora.
# Usage: source scripts/_bootstrap.sh; bootstrap "<extras>" "<debian packages>"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "startvora: need root (or sudo) to install: $*" >&2; exit 1
  fi
}

apt_install() {  # apt_install PKG...: install the Debian packages that are missing
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "startvora: please install these packages first: ${missing[*]}" >&2; exit 1
  fi
  echo "Installing system packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

bootstrap() {
  local extras=$1 packages=$2
  if ! command -v python3 >/dev/null 2>&1; then
    echo "startvora: python3 is needed (3.11 or newer)" >&2; exit 1
  fi
  if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "startvora: Python 3.11 or newer is needed; this is $(python3 --version)" >&2; exit 1
  fi
  # Debian splits venv and pip out of python3.
  python3 -c 'import ensurepip, venv' 2>/dev/null || packages="$packages python3-venv"
  # shellcheck disable=SC2086
  [ -n "$packages" ] && apt_install $packages
  [ -x .venv/bin/python ] || python3 -m venv .venv
  # Reinstall only when the dependency lists changed.
  local stamp=.venv/.startvora-installed want
  want="$extras $(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "Installing Python packages into .venv ..."
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -c constraints.txt -e ".$extras"
    echo "$want" > "$stamp"
  fi
}

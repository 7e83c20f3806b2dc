#!/usr/bin/env bash
# Install Startvora from this source tree as a systemd service, or upgrade it in place.
#
#   sudo ./install.sh [--instance NAME] [--port N] [--host ADDR] [--admin-email E ...]
#   sudo ./install.sh --uninstall [--purge] [--instance NAME]
#
# Debian 12+, Ubuntu 22.04+ and Raspberry Pi OS (64-bit), on amd64 or arm64. Each instance has
#   /etc/startvora/NAME.toml          its settings (written once, never overwritten)
#   /var/lib/startvora/NAME/          its data
#   /opt/startvora/instances/NAME     a link to the program it runs, a venv in /opt/startvora/releases/
#   startvora@NAME.service            its unit (config/systemd/startvora@.service)
# Running it again upgrades in place: a tree with other code becomes a new release, the
# instance's data is upgraded (`startvora upgrade`: snapshot, migrations, restore on failure) and
# only then does its link move; the same tree changes nothing. Only package registries (apt, pip)
# are reached over the network. `./install.sh --help` lists the options.
set -euo pipefail
umask 022

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SERVICE_USER=startvora
HEALTH_TIMEOUT_S=60

INSTANCE=default PORT="" HOST="" ROOT="" UNINSTALL=0 PURGE=0 NO_SYSTEMD=0 NO_PACKAGES=0 YES=0
ADMIN_EMAIL="" ADMIN_NAME="" ADMIN_PASSWORD_FILE="" ADMIN_ORG=""
PYTHON="" OS_ID="" OS_VERSION="" PARTIAL="" TMP_CONF=""

usage() {
  cat <<'EOF'
Usage: sudo ./install.sh [options]          install, or upgrade in place when run again
       sudo ./install.sh --uninstall [--purge] [--instance NAME]

  --instance NAME        instance to install (default: default); one config, data folder and unit each
  --port N               TCP port of a new instance (default 8000); refused if another instance uses it
  --host ADDR            address a new instance listens on (default 0.0.0.0, the whole LAN)
  --admin-email EMAIL    create this first admin (owner) when the instance has no account yet
  --admin-name NAME      the admin's full name (default: the part of the email before @)
  --admin-password-file FILE
                         read the admin's password from the first line of FILE
  --admin-org NAME       the admin's organization (default: the instance name, or "My organization")
  --uninstall            stop and remove the instance's unit and program; keep its data and config
  --purge                with --uninstall: delete its data and config too
  --root DIR             put everything under DIR (DIR/opt/startvora, DIR/etc/startvora,
                         DIR/var/lib/startvora) as the current user: no root needed, no system user,
                         no systemctl, the unit file written but not started. The paths inside
                         point into DIR: the copy runs where it is (tests, trials)
  --no-systemd           write no unit and start nothing; print the command that starts it
  --no-packages          skip apt-get and the OS check: python3 (3.11+, with venv) and WeasyPrint's
                         libraries must be there already
  --yes                  ask nothing: no admin prompt (the first visit shows the setup page),
                         and --purge goes ahead
  -h, --help             this help

Without --admin-email, and with a terminal, it asks for the first admin; without a terminal the
first visit to the instance leads to a setup page. Settings: /etc/startvora/NAME.toml (then
`systemctl restart startvora@NAME`).
EOF
}

say() { printf '%s\n' "$*"; }
die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}

on_exit() {
  # A release venv left half-built, or a config half-written, is removed: a re-run starts clean.
  [ -z "$PARTIAL" ] || rm -rf "$PARTIAL"
  [ -z "$TMP_CONF" ] || rm -f "$TMP_CONF"
}
trap on_exit EXIT

parse_args() {
  local opt value
  while [ $# -gt 0 ]; do
    opt=$1
    value=""
    case $opt in
      --*=*) value=${opt#*=} opt=${opt%%=*} ;;
    esac
    case $opt in
      --instance | --port | --host | --root | --admin-email | --admin-name | \
        --admin-password-file | --admin-org)
        if [ -z "$value" ]; then
          [ $# -ge 2 ] || die "$opt needs a value"
          value=$2
          shift
        fi
        ;;
    esac
    case $opt in
      --instance) INSTANCE=$value ;;
      --port) PORT=$value ;;
      --host) HOST=$value ;;
      --root) ROOT=$value ;;
      --admin-email) ADMIN_EMAIL=$value ;;
      --admin-name) ADMIN_NAME=$value ;;
      --admin-password-file) ADMIN_PASSWORD_FILE=$value ;;
      --admin-org) ADMIN_ORG=$value ;;
      --uninstall) UNINSTALL=1 ;;
      --purge) PURGE=1 ;;
      --no-systemd) NO_SYSTEMD=1 ;;
      --no-packages) NO_PACKAGES=1 ;;
      --yes | -y) YES=1 ;;
      -h | --help)
        usage
        exit 0
        ;;
      *) die "unknown option $opt (see ./install.sh --help)" ;;
    esac
    shift
  done
  [[ $INSTANCE =~ ^[a-z0-9][a-z0-9_-]{0,31}$ ]] ||
    die "instance name '$INSTANCE': use up to 32 lowercase letters, digits, - and _"
  if [ -n "$PORT" ]; then
    [[ $PORT =~ ^[0-9]{1,5}$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] ||
      die "--port must be a number from 1 to 65535 (got '$PORT')"
  fi
  if [ -n "$HOST" ]; then
    [[ $HOST =~ ^[0-9A-Za-z.:_-]+$ ]] || die "--host must be an address or a host name (got '$HOST')"
  fi
  [ "$PURGE" = 0 ] || [ "$UNINSTALL" = 1 ] || die "--purge goes with --uninstall"
  if [ -n "$ADMIN_PASSWORD_FILE" ] && [ ! -r "$ADMIN_PASSWORD_FILE" ]; then
    die "--admin-password-file $ADMIN_PASSWORD_FILE cannot be read"
  fi
  if [ -n "$ROOT" ]; then
    [[ $ROOT =~ ^[A-Za-z0-9._/@+-]+$ ]] || die "--root: use a path of letters, digits and . _ - + @ /"
    mkdir -p "$ROOT"
    ROOT=$(cd "$ROOT" && pwd)
    [ "$ROOT" != / ] || die "--root / is the normal install: leave --root out"
  fi
}

set_paths() {
  OPT=$ROOT/opt/startvora
  RELEASES=$OPT/releases
  LINKS=$OPT/instances
  ETC=$ROOT/etc/startvora
  VARLIB=$ROOT/var/lib/startvora
  UNIT_FILE=$ROOT/etc/systemd/system/startvora@.service
  UNIT=startvora@$INSTANCE.service
  CONF=$ETC/$INSTANCE.toml
  DATA=$VARLIB/$INSTANCE
  LINK=$LINKS/$INSTANCE
}

use_systemctl() { [ "$NO_SYSTEMD" = 0 ] && [ -z "$ROOT" ]; }

interactive() { [ "$YES" = 0 ] && [ -t 0 ] && [ -t 1 ]; }

check_privileges() {
  [ -n "$ROOT" ] || [ "$(id -u)" = 0 ] ||
    die "run as root (sudo ./install.sh ...), or install under a folder of yours with --root DIR"
}

os_field() { sed -n "s/^$1=//p" /etc/os-release 2>/dev/null | tr -d '"' | head -n 1; }

version_at_least() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }

check_platform() {
  local arch debarch
  arch=$(uname -m)
  if command -v dpkg >/dev/null 2>&1; then
    # A 64-bit kernel under a 32-bit userland says aarch64; the packages are what count.
    debarch=$(dpkg --print-architecture)
    case $debarch in
      amd64) arch=x86_64 ;;
      arm64) arch=aarch64 ;;
      *) arch=$debarch ;;
    esac
  fi
  case $arch in
    x86_64 | aarch64) ;;
    *) die "unsupported architecture $arch: Startvora installs on x86_64 (amd64) and aarch64 (arm64)" ;;
  esac
  [ "$NO_PACKAGES" = 0 ] || return 0
  OS_ID=$(os_field ID)
  OS_VERSION=$(os_field VERSION_ID)
  local name
  name=$(os_field PRETTY_NAME)
  case $OS_ID in
    debian | raspbian) version_at_least "${OS_VERSION:-0}" 12 || OS_ID="" ;;
    ubuntu) version_at_least "${OS_VERSION:-0}" 22.04 || OS_ID="" ;;
    *) OS_ID="" ;;
  esac
  [ -n "$OS_ID" ] || die "unsupported system ${name:-unknown}: install.sh supports Debian 12+," \
    "Ubuntu 22.04+ and Raspberry Pi OS (or use --no-packages and install the packages yourself)"
}

install_packages() {
  # WeasyPrint's libraries, as scripts/start.sh lists them. libharfbuzz-subset0 makes PDFs about
  # 8x faster to write, and is optional: Ubuntu 22.04 has none (WeasyPrint then uses fontTools).
  local wanted=(python3 python3-venv libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)
  local optional=(libharfbuzz-subset0) missing=() pkg
  # Ubuntu 22.04's python3 is 3.10; its python3.11 is packaged beside it.
  if [ "$OS_ID" = ubuntu ] && ! version_at_least "$OS_VERSION" 23.04; then
    wanted+=(python3.11 python3.11-venv)
  fi
  for pkg in "${wanted[@]}" "${optional[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  apt-get update -qq
  for pkg in "${optional[@]}"; do
    if [[ " ${missing[*]} " == *" $pkg "* ]] && ! apt-cache show "$pkg" >/dev/null 2>&1; then
      missing=("${missing[@]/$pkg/}")
    fi
  done
  read -r -a missing <<<"${missing[*]}"  # without the emptied entries
  [ ${#missing[@]} -gt 0 ] || return 0
  say "Installing system packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

find_python() {
  local name dir candidate
  # The service's user runs the venv's interpreter: for a system install, the system's own
  # (not one found on root's PATH, such as a pyenv under /root that no one else may enter).
  local dirs=(/usr/bin /usr/local/bin)
  [ -z "$ROOT" ] || IFS=: read -r -a dirs <<<"$PATH"
  for name in python3 python3.13 python3.12 python3.11; do
    for dir in "${dirs[@]}"; do
      candidate=$dir/$name
      [ -x "$candidate" ] || continue
      if "$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        PYTHON=$candidate
        return 0
      fi
    done
  done
  die "Python 3.11 or newer with venv is needed (apt-get install python3 python3-venv)"
}

toml_get() {  # toml_get FILE KEY DEFAULT: a setting from a TOML file ("server.port")
  "$PYTHON" - "$@" <<'PY'
import sys, tomllib
path, key, default = sys.argv[1:]
try:
    with open(path, "rb") as fh:
        value = tomllib.load(fh)
except (OSError, tomllib.TOMLDecodeError) as exc:
    sys.exit(f"install.sh: cannot read {path}: {exc}")
for part in key.split("."):
    value = value.get(part) if isinstance(value, dict) else None
print(default if value in (None, "") else value)
PY
}

port_free() {  # port_free HOST PORT: whether nothing listens there
  "$PYTHON" - "$@" <<'PY'
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sys.exit(1)
PY
}

# The port and address: a new instance's from the options, an existing one's from its config.
choose_address() {
  local file other other_port
  if [ -f "$CONF" ]; then
    local port host
    port=$(toml_get "$CONF" server.port 8000)
    host=$(toml_get "$CONF" server.host 127.0.0.1)
    [ -z "$PORT" ] || [ "$PORT" = "$port" ] ||
      die "instance $INSTANCE listens on port $port ($CONF): change it there, then re-run"
    [ -z "$HOST" ] || [ "$HOST" = "$host" ] ||
      die "instance $INSTANCE listens on $host ($CONF): change it there, then re-run"
    PORT=$port HOST=$host
  else
    PORT=${PORT:-8000} HOST=${HOST:-0.0.0.0}
  fi
  for file in "$ETC"/*.toml; do
    [ -f "$file" ] && [ "$file" != "$CONF" ] || continue
    other=$(basename "$file" .toml)
    other_port=$(toml_get "$file" server.port 8000)
    [ "$other_port" != "$PORT" ] ||
      die "port $PORT is used by instance $other ($file): choose another with --port"
  done
  if [ ! -f "$CONF" ] && ! port_free "$HOST" "$PORT"; then
    die "port $PORT on $HOST is in use by another program: choose another with --port"
  fi
}

make_user() {
  [ -z "$ROOT" ] || return 0
  getent passwd "$SERVICE_USER" >/dev/null && return 0
  useradd --system --user-group --home-dir /var/lib/startvora --no-create-home \
    --shell /usr/sbin/nologin --comment "Startvora" "$SERVICE_USER"
  say "Created the system user $SERVICE_USER"
}

tree_digest() {  # what the installed program is made of: same digest, same release
  {
    "$PYTHON" -c 'import sys; print(sys.version)'
    cd "$SRC" || exit 1
    find startvora templates static models_onnx config pyproject.toml constraints.txt README.md \
      -name __pycache__ -prune -o -type f ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-12
}

build_release() {  # sets RELEASE: the venv holding this tree's Startvora, made if missing
  local version
  version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$SRC/startvora/version.py")
  [ -n "$version" ] || die "$SRC does not look like Startvora's source tree"
  VERSION=$version
  RELEASE=$RELEASES/$version-$(tree_digest)
  if [ -f "$RELEASE/.startvora-release" ]; then
    say "Startvora $version from this tree is installed already ($RELEASE)"
    return 0
  fi
  say "Installing Startvora $version into $RELEASE ..."
  mkdir -p "$RELEASES"
  rm -rf "$RELEASE"
  PARTIAL=$RELEASE
  "$PYTHON" -m venv "$RELEASE"
  if ! "$RELEASE/bin/python" -m pip install --quiet --no-input --disable-pip-version-check \
    --progress-bar off -c "$SRC/constraints.txt" "$SRC"; then
    die "pip could not install Startvora (see above); nothing was changed"
  fi
  printf 'startvora %s from %s\n' "$version" "$SRC" >"$RELEASE/.startvora-release"
  PARTIAL=""
}

make_folders() {
  mkdir -p "$VARLIB" "$ETC" "$LINKS" "$DATA"
  if [ -z "$ROOT" ]; then
    chown "$SERVICE_USER:$SERVICE_USER" "$DATA"
    chown "root:$SERVICE_USER" "$ETC"
  fi
  chmod 0750 "$DATA" "$ETC"
}

write_config() {
  if [ -f "$CONF" ]; then
    say "Keeping the settings in $CONF"
    return 0
  fi
  local secret
  secret=$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(48))')
  TMP_CONF=$(mktemp "$ETC/.$INSTANCE.toml.XXXXXX")
  cat >"$TMP_CONF" <<EOF
# Startvora instance "$INSTANCE", written by install.sh, which never changes it again.
# After editing: systemctl restart startvora@$INSTANCE. Every setting, with its environment
# variable, is described in startvora.example.toml (config/ in the source tree).

data_dir = "$DATA"
# Signs cookies and tokens: keep it secret; changing it signs everyone out.
secret_key = "$secret"

[server]
host = "$HOST"
port = $PORT
EOF
  chmod 0640 "$TMP_CONF"
  [ -n "$ROOT" ] || chown "root:$SERVICE_USER" "$TMP_CONF"
  mv "$TMP_CONF" "$CONF"
  TMP_CONF=""
  say "Wrote the settings to $CONF"
}

as_service() {  # as_service CMD...: run CMD as the instance's user, in its data folder
  # The unit's UMask: what these commands create is private to the service, as if it had.
  if [ -n "$ROOT" ]; then
    (umask 027 && cd "$DATA" && "$@")
  else
    (umask 027 && cd "$DATA" && runuser -u "$SERVICE_USER" -- "$@")
  fi
}

service_active() { use_systemctl && systemctl is-active --quiet "$UNIT"; }

# Bring the database to this release's schema, then point the instance at the release.
migrate() {
  local current="" was_active=0
  [ ! -L "$LINK" ] || current=$(readlink "$LINK")
  local data_dir
  data_dir=$(toml_get "$CONF" data_dir "$DATA")
  if [ "$current" = "$RELEASE" ] || { [ -z "$current" ] && [ ! -f "$data_dir/startvora.db" ]; }; then
    # The same program (a check that changes nothing) or a new instance: plain migrations.
    as_service "$RELEASE/bin/startvora" --config "$CONF" init
  else
    # Other code, or data kept from an earlier install: upgrade with a snapshot to go back to.
    if service_active; then
      was_active=1
      say "Stopping $UNIT for the upgrade ..."
      systemctl stop "$UNIT"
    fi
    if ! port_free "$HOST" "$PORT"; then
      die "instance $INSTANCE still answers on port $PORT: stop it, then re-run to upgrade"
    fi
    say "Upgrading the data of instance $INSTANCE ..."
    if ! as_service "$RELEASE/bin/startvora" --config "$CONF" upgrade; then
      if [ -n "$current" ] && [ "$was_active" = 1 ]; then
        systemctl start "$UNIT" || true
      fi
      die "the upgrade of instance $INSTANCE failed (see above); its data and program are as before"
    fi
  fi
  ln -sfn "$RELEASE" "$LINK.new"
  mv -T "$LINK.new" "$LINK"
  [ -z "$current" ] || [ "$current" = "$RELEASE" ] || UPGRADED=1
}

has_users() {  # whether the instance has an account already
  local count
  count=$(as_service env "STARTVORA_CONFIG=$CONF" "$RELEASE/bin/startvora" count-users) ||
    die "cannot read the accounts of instance $INSTANCE (see above)"
  [ "$count" != "0" ]
}

create_admin() {
  local password="" again=""
  if has_users; then
    [ -z "$ADMIN_EMAIL" ] || say "Instance $INSTANCE has accounts already: no admin created"
    return 0
  fi
  if [ -z "$ADMIN_EMAIL" ] && interactive; then
    say "The first admin (leave the email empty to create it in the browser instead)."
    read -r -p "  Email: " ADMIN_EMAIL || true
    [ -n "$ADMIN_EMAIL" ] || return 0
    read -r -p "  Full name: " ADMIN_NAME || true
    read -r -p "  Organization [$(default_org)]: " ADMIN_ORG || true
  fi
  [ -n "$ADMIN_EMAIL" ] || return 0
  if [ -n "$ADMIN_PASSWORD_FILE" ]; then
    IFS= read -r password <"$ADMIN_PASSWORD_FILE" || [ -n "$password" ] ||
      die "$ADMIN_PASSWORD_FILE is empty"
  elif interactive; then
    read -r -s -p "  Password: " password || die "no password given"
    printf '\n'
    read -r -s -p "  Password again: " again || die "no password given"
    printf '\n'
    [ "$password" = "$again" ] || die "the passwords differ; run install.sh again"
  else
    die "--admin-email needs --admin-password-file when no terminal is attached"
  fi
  printf '%s\n' "$password" | as_service "$RELEASE/bin/startvora" --config "$CONF" create-user \
    --email "$ADMIN_EMAIL" --name "$ADMIN_NAME" --org "${ADMIN_ORG:-$(default_org)}" \
    --role owner --password-stdin ||
    die "the admin was not created (see above); run install.sh again"
}

default_org() {
  if [ "$INSTANCE" = default ]; then say "My organization"; else say "$INSTANCE"; fi
}

write_unit() {  # sets UNIT_CHANGED when the unit file is new or different
  local wanted
  wanted=$(sed -e "s#/opt/startvora/#$OPT/#g" -e "s#/etc/startvora/#$ETC/#g" \
    -e "s#/var/lib/startvora/#$VARLIB/#g" "$SRC/config/systemd/startvora@.service")
  if [ -f "$UNIT_FILE" ] && [ "$(cat "$UNIT_FILE")" = "$wanted" ]; then
    return 0
  fi
  mkdir -p "$(dirname "$UNIT_FILE")"
  printf '%s\n' "$wanted" >"$UNIT_FILE"
  UNIT_CHANGED=1
  say "Wrote $UNIT_FILE"
}

local_url() {  # the URL this machine reaches the instance at
  local host=$HOST
  case $host in
    0.0.0.0 | "") host=127.0.0.1 ;;
    ::) host=::1 ;;
  esac
  case $host in *:*) host="[$host]" ;; esac
  say "http://$host:$PORT/"
}

lan_url() {  # the URL other machines use, when the instance serves the whole LAN
  case $HOST in 0.0.0.0 | ::) ;; *) return 0 ;; esac
  "$PYTHON" - "$PORT" <<'PY'
import socket, sys
try:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # picks the outgoing address; sends nothing
        address = probe.getsockname()[0]
except OSError:
    sys.exit(0)
if not address.startswith("127."):
    print(f"http://{address}:{sys.argv[1]}/")
PY
}

wait_healthy() {
  "$PYTHON" - "$(local_url)healthz" "$HEALTH_TIMEOUT_S" <<'PY'
import sys, time, urllib.error, urllib.request
url, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
while time.monotonic() < deadline:
    try:
        with opener.open(url, timeout=3):
            sys.exit(0)
    except (urllib.error.URLError, OSError):
        time.sleep(0.5)
sys.exit(1)
PY
}

start_service() {
  local url lan command
  url=$(local_url)
  lan=$(lan_url)
  if [ "$NO_SYSTEMD" = 1 ] || [ -n "$ROOT" ]; then
    if [ -n "$ROOT" ]; then
      command=$(printf '%q ' "$LINK/bin/startvora" --config "$CONF" serve)
    else
      command=$(printf '%q ' runuser -u "$SERVICE_USER" -- "$LINK/bin/startvora" --config "$CONF" serve)
    fi
    say "Startvora $VERSION is installed as instance $INSTANCE; nothing was started."
    say "Start it with: ${command% }"
    say "It will answer at ${lan:-$url}"
    return 0
  fi
  [ "${UNIT_CHANGED:-0}" = 0 ] || systemctl daemon-reload
  systemctl enable --quiet "$UNIT"
  if [ "${UNIT_CHANGED:-0}" = 1 ] || [ "${UPGRADED:-0}" = 1 ]; then
    systemctl restart "$UNIT"
  else
    systemctl start "$UNIT"
  fi
  say "Waiting for $UNIT to answer ..."
  wait_healthy || die "instance $INSTANCE did not answer ${url}healthz in ${HEALTH_TIMEOUT_S} s:" \
    "see journalctl -u $UNIT"
  say "Startvora $VERSION is running as instance $INSTANCE: open ${lan:-$url}"
  say "  settings $CONF, data $DATA"
  say "  systemctl status|restart|stop $UNIT; logs: journalctl -u $UNIT"
}

in_use() {  # whether a running process was started from this folder
  grep -qsaF -- "$1/" /proc/[0-9]*/cmdline
}

remove_unused_releases() {
  local release link used
  for release in "$RELEASES"/*; do
    [ -d "$release" ] || continue
    used=0
    for link in "$LINKS"/*; do
      [ -L "$link" ] && [ "$(readlink "$link")" = "$release" ] && used=1
    done
    [ "$used" = 0 ] || continue
    if in_use "$release"; then
      say "Keeping $release: a process still runs from it"
      continue
    fi
    rm -rf "$release"
    say "Removed the release no instance uses: $release"
  done
}

remaining_instances() {
  if [ -d "$LINKS" ]; then find "$LINKS" -mindepth 1 -maxdepth 1 | wc -l; else echo 0; fi
}

confirm_purge() {
  [ "$YES" = 0 ] || return 0
  interactive || die "--purge deletes the data of instance $INSTANCE: add --yes to confirm"
  local answer
  read -r -p "Delete $DATA and $CONF for good? Type the instance name to confirm: " answer
  [ "$answer" = "$INSTANCE" ] || die "nothing deleted"
}

uninstall() {
  if [ ! -e "$LINK" ] && [ ! -e "$CONF" ] && [ ! -e "$DATA" ]; then
    say "Instance $INSTANCE is not installed; nothing to do"
    return 0
  fi
  [ "$PURGE" = 0 ] || confirm_purge
  if use_systemctl && [ -d /run/systemd/system ] && [ -f "$UNIT_FILE" ]; then
    systemctl disable --now --quiet "$UNIT" 2>/dev/null || true
  fi
  rm -f "$LINK"
  remove_unused_releases
  if [ "$(remaining_instances)" = 0 ]; then
    rmdir "$LINKS" "$RELEASES" "$OPT" 2>/dev/null || true
    if [ -f "$UNIT_FILE" ]; then
      rm -f "$UNIT_FILE"
      if use_systemctl && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
    fi
  fi
  if [ "$PURGE" = 0 ]; then
    say "Removed instance $INSTANCE's service and program; kept its data ($DATA) and settings ($CONF)."
    say "Re-run install.sh to bring it back, or add --purge to delete them."
    return 0
  fi
  local data_dir
  data_dir=$DATA
  if [ -f "$CONF" ]; then
    find_python
    data_dir=$(toml_get "$CONF" data_dir "$DATA")
  fi
  rm -rf "$DATA"
  rm -f "$CONF"
  [ "$data_dir" = "$DATA" ] || say "Left $data_dir alone (named in the settings); delete it yourself"
  rmdir "$ETC" "$VARLIB" 2>/dev/null || true
  if [ -z "$ROOT" ] && [ ! -d "$ETC" ] && [ ! -d "$VARLIB" ] && getent passwd "$SERVICE_USER" >/dev/null; then
    userdel "$SERVICE_USER"
    say "Removed the system user $SERVICE_USER"
  fi
  say "Removed instance $INSTANCE with its data and settings."
}

main() {
  parse_args "$@"
  set_paths
  # The instance's settings are its config file, as under systemd: not the caller's environment.
  local name
  for name in $(compgen -e); do
    case $name in STARTVORA_*) unset "$name" ;; esac
  done
  check_privileges
  if [ "$UNINSTALL" = 1 ]; then
    uninstall
    return 0
  fi
  check_platform
  if use_systemctl && [ ! -d /run/systemd/system ]; then
    die "systemd is not running on this machine: add --no-systemd, and start Startvora yourself"
  fi
  [ "$NO_PACKAGES" = 1 ] || install_packages
  find_python
  choose_address
  make_user
  build_release
  make_folders
  write_config
  migrate
  create_admin
  [ "$NO_SYSTEMD" = 1 ] || write_unit
  start_service
  remove_unused_releases
}

main "$@"

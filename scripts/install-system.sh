#!/usr/bin/env bash
# Installs the system parts the platform needs: Asterisk 16 (from Debian 11,
# through a private apt state so the system's own sources are untouched),
# Asterisk's sounds, Mosquitto, espeak-ng, sox, PostgreSQL and Chromium (the
# browser tests drive Debian's chromium; CTI_WITH_BROWSER=0 leaves it out).
# Idempotent: does nothing when everything is already there.
set -euo pipefail

need_asterisk=0; need_debs=()
[ -x /usr/sbin/asterisk ] && [ -d /usr/share/asterisk/moh ] && [ -d /usr/share/asterisk/sounds/en ] || need_asterisk=1
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_debs+=(mosquitto)
command -v espeak-ng >/dev/null 2>&1 || need_debs+=(espeak-ng)
command -v sox >/dev/null 2>&1 || need_debs+=(sox)
command -v pg_ctlcluster >/dev/null 2>&1 || need_debs+=(postgresql)
if [ "${CTI_WITH_BROWSER:-1}" = 1 ]; then
  command -v chromium >/dev/null 2>&1 || need_debs+=(chromium)
fi

start_postgres() {
  # The store tests run on a real PostgreSQL: start the local cluster if it is down.
  command -v pg_isready >/dev/null 2>&1 || return 0
  pg_isready -q -h 127.0.0.1 -p 5432 && return 0
  [ "$(id -u)" = 0 ] || { echo "setup: PostgreSQL is down and starting it needs root" >&2; return 1; }
  local version; version=$(ls /etc/postgresql | sort -V | tail -n1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && return 0; sleep 0.2; done
  echo "setup: PostgreSQL did not start" >&2; return 1
}

if [ "$need_asterisk" = 0 ] && [ ${#need_debs[@]} = 0 ]; then
  start_postgres
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: missing system packages (asterisk: $need_asterisk, debs: ${need_debs[*]:-none})." >&2
  echo "setup: this needs root and apt-get. As root on Debian 12 run: bash scripts/install-system.sh" >&2
  echo "setup: or install Asterisk 16-22 and mosquitto yourself and set CTI_ASTERISK_BIN." >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if [ ${#need_debs[@]} -gt 0 ]; then
  echo "setup: installing ${need_debs[*]} from Debian"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_debs[@]}" >/dev/null
fi

if [ "$need_asterisk" = 1 ]; then
  # Debian 12 has no asterisk package; Debian 11's Asterisk 16.28 installs
  # cleanly from the same archive. Use a private apt state so nothing of the
  # system's own apt configuration changes.
  state=/var/lib/cti-apt
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/etc"
  mirror=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | grep -E '^(URIs:|deb )' | grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n1 | tr -d ' ' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  echo "deb [signed-by=$keyring] ${mirror%/} bullseye main" > "$state/etc/sources.list"
  opts=(-o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache"
        -o "Dir::Etc::sourcelist=$state/etc/sources.list" -o "Dir::Etc::sourceparts=-"
        -o "APT::Default-Release=bookworm")
  echo "setup: installing Asterisk 16 from Debian 11 (private apt state in $state)"
  apt-get "${opts[@]}" update -qq -o APT::Update::Error-Mode=any
  apt-get "${opts[@]}" install -y -qq -t bullseye --no-install-recommends \
    asterisk asterisk-modules asterisk-core-sounds-en-gsm asterisk-moh-opsound-gsm >/dev/null
fi
if printf '%s\n' "${need_debs[@]}" | grep -qx postgresql; then
  # a cluster we installed: let the tests' superuser in over TCP with a password
  start_postgres
  su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\""
fi
start_postgres
echo "setup: system packages ready"

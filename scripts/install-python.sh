#!/usr/bin/env bash
# Creates the virtual environment with the project (editable) and its test
# extras, from the package registry. Usage: install-python.sh PYTHON VENV
set -euo pipefail
python=${1:-python3}
venv=${2:-.venv}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup: $python is missing or older than 3.11; install Python 3.11+ (Debian 12: apt-get install python3)" >&2
  exit 1
fi
if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
  else
    echo "setup: Python's venv module is missing; as root run: apt-get install python3-venv" >&2
    exit 1
  fi
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -e '.[test]'
echo "setup: Python environment ready in $venv"

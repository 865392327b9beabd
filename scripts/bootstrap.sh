#!/usr/bin/env bash
# Install what mobsrc needs on a Debian/Ubuntu machine: the OS packages (PostgreSQL + PostGIS,
# Redis) when missing, and the Python virtualenv in .venv. Safe to run again: it only does
# what is missing. Called by `make run` and `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "[bootstrap] $*"; }

pg_major() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sed -E 's#.*/postgresql/([0-9]+)/bin#\1#' | sort -n | tail -1; }

have_postgis() {
  local major; major=$(pg_major)
  [ -n "$major" ] && [ -f "/usr/share/postgresql/$major/extension/postgis.control" ]
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"; else return 1; fi
}

install_os_packages() {
  local wanted=()
  [ -n "$(pg_major)" ] || wanted+=(postgresql)
  command -v redis-server >/dev/null || wanted+=(redis-server)
  if [ ${#wanted[@]} -gt 0 ] || ! have_postgis; then
    say "installing OS packages: ${wanted[*]} postgis ..."
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq; then
      say "cannot install packages (not root and no passwordless sudo). Please install:"
      say "  postgresql postgresql-<major>-postgis-3 redis-server"
      exit 2
    fi
    if [ ${#wanted[@]} -gt 0 ]; then
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${wanted[@]}" >/dev/null
    fi
    if ! have_postgis; then
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$(pg_major)-postgis-3" >/dev/null
    fi
  fi
  have_postgis || { say "PostGIS for PostgreSQL $(pg_major) is still missing: install postgresql-$(pg_major)-postgis-3"; exit 2; }
  command -v redis-server >/dev/null || { say "redis-server is still missing: install redis-server"; exit 2; }
}

python_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

install_python_env() {
  local python="${PYTHON:-python3}"
  python_ok "$python" || { say "Python 3.11 or newer is needed (found: $($python --version 2>&1))"; exit 2; }
  if [ ! -x .venv/bin/python ]; then
    say "creating .venv ..."
    "$python" -m venv .venv
  fi
  local stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
  if [ ! -f "$stamp" ]; then
    say "installing Python packages into .venv ..."
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e ".[test]"
    rm -f .venv/.installed-*
    touch "$stamp"
  fi
}

install_os_packages
install_python_env
say "ready."

#!/usr/bin/env bash
# Set up and run the whole product (web + Celery worker with beat + a private Redis) against the local
# Docker engine; `run.sh agent NAME` runs the agent of one more Docker host of a fleet instead. SQLite by default (DATABASE_URL for Postgres); a private redis-server unless REDIS_URL
# is set. On Debian/Ubuntu it installs the packages it needs (python3-venv, redis-server) when it runs as
# root or `sudo -n` works; otherwise it says what to install. Options go to the launcher (--help).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "run.sh: $*" >&2; }

# Settings may also come from .updater.env (the environment wins), as in updater_project/env.py.
setting() {
  local name=$1
  if [ -n "${!name:-}" ]; then echo "${!name}"; return; fi
  local file=${UPDATER_ENV_FILE:-.updater.env}
  [ -r "$file" ] && sed -n "s/^[[:space:]]*\(export[[:space:]]\+\)\?$name=//p" "$file" | tail -n 1 | tr -d "\"'"
  return 0
}

python_ok() {  # a Python ≥ 3.11 that can create a virtualenv (Debian splits venv's pip into python3-venv)
  local candidate
  [ -x .venv/bin/python ] && return 0
  for candidate in ${UPDATER_PYTHON:-python3.11 python3}; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      return 0
    fi
  done
  return 1
}

missing=()
if ! python_ok; then
  if command -v python3 >/dev/null 2>&1 && python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    missing+=(python3-venv)
  elif command -v python3 >/dev/null 2>&1; then
    missing+=(python3.11 python3.11-venv)  # e.g. Ubuntu 22.04, whose python3 is 3.10
  else
    missing+=(python3 python3-venv)
  fi
fi
# `run.sh agent NAME` runs one Docker host's agent of a fleet: the central server has Redis and the keys.
agent=false
[ "${1:-}" = agent ] && agent=true
if [ "$agent" = true ]; then
  for name in REDIS_URL DATABASE_URL UPDATER_SECRET_KEY UPDATER_ENCRYPTION_KEYS; do
    if [ -z "$(setting "$name")" ]; then
      say "an agent needs $name: copy it from the central server's settings (README, Architecture: a fleet)."
      exit 1
    fi
  done
fi
if [ "$agent" = false ] && [ -z "$(setting REDIS_URL)" ] && ! command -v redis-server >/dev/null 2>&1; then
  missing+=(redis-server)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    say "missing: ${missing[*]}. Install them with your package manager (or set REDIS_URL to a running Redis)."
    exit 1
  fi
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    say "missing Debian packages: ${missing[*]}."
    say "Install them with: sudo apt-get install ${missing[*]}"
    if [[ " ${missing[*]} " == *" redis-server "* ]]; then
      say "Redis is required: install redis-server (the updater then starts a private one) or set REDIS_URL."
    fi
    exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Docker: the engine is reached through DOCKER_HOST or the local socket; Compose v2 (plugin) or v1.
docker_host=$(setting DOCKER_HOST)
if [ -z "$docker_host" ] || [[ "$docker_host" == unix://* ]]; then
  socket=${docker_host#unix://}
  socket=${socket:-/var/run/docker.sock}
  if [ ! -S "$socket" ]; then
    say "Docker Engine not found: no socket at $socket."
    say "Install Docker (Debian/Ubuntu: apt-get install docker.io docker-compose), start it, or set DOCKER_HOST."
    exit 1
  fi
  if [ ! -r "$socket" ] || [ ! -w "$socket" ]; then
    say "cannot use $socket as $(id -un): run as root, or add the user to the docker group (then log in again)."
    exit 1
  fi
fi
compose=$(setting UPDATER_COMPOSE_COMMAND)
compose_found=false
case "${compose:-auto}" in
  /*) [ -x "$compose" ] && compose_found=true ;;
  *)
    for plugin_dir in "${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins" /usr/local/lib/docker/cli-plugins \
      /usr/local/libexec/docker/cli-plugins /usr/lib/docker/cli-plugins /usr/libexec/docker/cli-plugins; do
      [ -x "$plugin_dir/docker-compose" ] && compose_found=true
    done
    command -v docker-compose >/dev/null 2>&1 && compose_found=true
    ;;
esac
if [ "$compose_found" != true ]; then
  say "Docker Compose not found: install the compose plugin (docker-compose-plugin) or docker-compose"
  say "(Debian/Ubuntu: apt-get install docker-compose), or set UPDATER_COMPOSE_COMMAND to its path."
  exit 1
fi

scripts/bootstrap.sh base

# First run: generate the secrets into .updater.env (mode 600) so restarts keep sessions and credentials.
if [ -z "$(setting UPDATER_SECRET_KEY)" ]; then
  umask 077
  .venv/bin/python - >> "${UPDATER_ENV_FILE:-.updater.env}" <<'PY'
import secrets
from cryptography.fernet import Fernet
print(f"UPDATER_SECRET_KEY={secrets.token_urlsafe(50)}")
print(f"UPDATER_ENCRYPTION_KEYS={Fernet.generate_key().decode()}")
PY
  say "generated UPDATER_SECRET_KEY and UPDATER_ENCRYPTION_KEYS in ${UPDATER_ENV_FILE:-.updater.env}"
fi

exec .venv/bin/python -m dashboard.launcher "$@"

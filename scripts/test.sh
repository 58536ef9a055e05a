#!/usr/bin/env bash
# Set up and run the whole test suite: lint, Django checks, unit, integration and e2e tests against
# real Docker, a real registry, Redis and PostgreSQL started here (and stopped on exit).
# Extra arguments go to pytest, e.g. scripts/test.sh -m "not e2e" -x
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(docker-registry busybox-static redis-server postgresql shellcheck jq chromium debootstrap)  # chromium: browser tests; debootstrap: the fresh-machine test
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing Debian packages: ${missing[*]} (run as root, or apt-get install them)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
scripts/bootstrap.sh dev
UPDATER_TEST_COMPOSE_V2=$(scripts/compose_v2.sh)  # Compose v2 beside bookworm's v1: both are tested
export UPDATER_TEST_COMPOSE_V2

work=$(mktemp -d /tmp/updater-test.XXXXXX)
chmod 755 "$work"
cleanup() {
  if [ -f "$work/redis.pid" ]; then kill "$(cat "$work/redis.pid")" 2>/dev/null || true; fi
  if [ -d "$work/pg" ]; then
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$work/pg" -m fast stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Redis: a private server on a free port.
redis_port=$(free_port)
redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --daemonize yes \
  --pidfile "$work/redis.pid" --logfile "$work/redis.log" --dir "$work"
export REDIS_URL="redis://127.0.0.1:$redis_port/0"

# PostgreSQL: a private cluster run as the postgres user (it refuses to run as root).
pg_bin=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d | sort -V | tail -n 1)
pg_port=$(free_port)
mkdir -p "$work/pg" && chown postgres:postgres "$work/pg"
if [ "$(id -u)" -eq 0 ]; then as_pg=(runuser -u postgres --); else as_pg=(); fi
"${as_pg[@]}" "$pg_bin/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pg/server.log" -w \
  -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start >/dev/null
"$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres updater
export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/updater"

export UPDATER_SECRET_KEY="test-secret-key-not-for-production-0123456789abcdef"
export UPDATER_ENCRYPTION_KEYS="dGVzdC1lbmNyeXB0aW9uLWtleS0wMTIzNDU2Nzg5YWI="
export UPDATER_ENV_FILE=/dev/null
export AWS_EC2_METADATA_DISABLED=true  # the AWS default credential chain must never probe for an instance role

shellcheck -x scripts/*.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python manage.py check
.venv/bin/python manage.py makemigrations --check --dry-run >/dev/null
if [ "$#" -gt 0 ]; then
  .venv/bin/python -m pytest "$@"
  exit 0
fi
# Most e2e tests wait on Docker, Compose and timers rather than the CPU: several pytest-xdist workers
# (each with its own Redis database, Postgres database and Compose project names) share the 2 cores.
workers="${UPDATER_TEST_WORKERS:-3}"
UPDATER_SCREENSHOT_DIR="${UPDATER_SCREENSHOT_DIR:-$(mktemp -d /tmp/updater-screenshots.XXXXXX)}"
export UPDATER_SCREENSHOT_DIR
.venv/bin/python -m pytest -n "$workers" --dist worksteal -m "not serial"
.venv/bin/python -m pytest -m serial --durations=3  # tests that stop a shared server run alone
# SQLite is the default database: run the Celery e2e tests on it too (web, workers and beat share one file).
DATABASE_URL="" UPDATER_TEST_SQLITE_PATH="$work/e2e.sqlite3" \
  .venv/bin/python -m pytest -n "$workers" tests/e2e/test_core_loop.py -k "not v2" --durations=5
echo "browser screenshots: $UPDATER_SCREENSHOT_DIR"

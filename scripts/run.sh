#!/usr/bin/env bash
# Set up and run the whole product (web + Celery worker + beat) against the local Docker engine.
# SQLite by default (DATABASE_URL for Postgres); a private redis-server unless REDIS_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh base

# First run: generate the secrets into .updater.env (mode 600) so restarts keep sessions and credentials.
if ! grep -qs '^UPDATER_SECRET_KEY=' .updater.env && [ -z "${UPDATER_SECRET_KEY:-}" ]; then
  umask 077
  .venv/bin/python - >> .updater.env <<'PY'
import secrets
from cryptography.fernet import Fernet
print(f"UPDATER_SECRET_KEY={secrets.token_urlsafe(50)}")
print(f"UPDATER_ENCRYPTION_KEYS={Fernet.generate_key().decode()}")
PY
  echo "Generated UPDATER_SECRET_KEY and UPDATER_ENCRYPTION_KEYS in .updater.env"
fi

exec .venv/bin/python manage.py serve "$@"

#!/usr/bin/env bash
# Create .venv and install the pinned requirements (re-run only when a requirements file changed).
# Usage: scripts/bootstrap.sh base|dev
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-base}"

python_bin="${UPDATER_PYTHON:-}"
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python_bin="$candidate"; break; fi
  done
fi
if [ -z "$python_bin" ] || ! "$python_bin" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Python 3.11 or newer is required (set UPDATER_PYTHON to its path)." >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  "$python_bin" -m venv .venv
fi
stamp=".venv/.requirements-$profile"
wanted=$(cat requirements/base.txt requirements/"$profile".txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements/"$profile".txt
  echo "$wanted" > "$stamp"
fi

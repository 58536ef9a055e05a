"""Loaded with `-p tests.testenv` before Django starts: defaults so the suite runs with no `.updater.env`.

Real services (Redis, Postgres) come from the environment `scripts/test.sh` sets up.
"""

import atexit
import os
import shutil
import tempfile
import uuid

os.environ.setdefault("UPDATER_SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("UPDATER_ENCRYPTION_KEYS", "dGVzdC1lbmNyeXB0aW9uLWtleS0wMTIzNDU2Nzg5YWI=")
if "UPDATER_DATA_DIR" not in os.environ or os.environ.get("PYTEST_XDIST_WORKER"):  # one per xdist worker too
    data_dir = tempfile.mkdtemp(prefix="updater-test-data-")
    os.environ["UPDATER_DATA_DIR"] = data_dir
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
os.environ["UPDATER_ENV_FILE"] = os.devnull  # never read a developer's own .updater.env in tests

# The Docker engine is shared (other test processes, other sessions, xdist workers): every Compose project
# this process makes is named diut<session>…, and every updater it runs manages only those.
os.environ["UPDATER_TEST_SESSION"] = uuid.uuid4().hex[:8]
os.environ["UPDATER_PROJECTS"] = f"diut{os.environ['UPDATER_TEST_SESSION']}*"

# pytest-xdist: each worker process gets its own Redis database (broker, channel layer and leases: a test's
# flushdb or its Celery worker never meets another worker's) and, on SQLite, its own database file.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, …
if _worker.startswith("gw"):
    _number = int(_worker[2:])
    if os.environ.get("REDIS_URL"):
        _base = os.environ["REDIS_URL"].rsplit("/", 1)[0]
        os.environ["REDIS_URL"] = f"{_base}/{1 + _number % 15}"
    if os.environ.get("UPDATER_TEST_SQLITE_PATH"):
        os.environ["UPDATER_TEST_SQLITE_PATH"] += f".{_worker}"

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
if "UPDATER_DATA_DIR" not in os.environ:
    data_dir = tempfile.mkdtemp(prefix="updater-test-data-")
    os.environ["UPDATER_DATA_DIR"] = data_dir
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
os.environ["UPDATER_ENV_FILE"] = os.devnull  # never read a developer's own .updater.env in tests

# The Docker engine is shared (other test processes, other sessions, xdist workers): every Compose project
# this process makes is named diut<session>…, and every updater it runs manages only those.
os.environ["UPDATER_TEST_SESSION"] = uuid.uuid4().hex[:8]
os.environ["UPDATER_PROJECTS"] = f"diut{os.environ['UPDATER_TEST_SESSION']}*"

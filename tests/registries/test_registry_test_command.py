"""`manage.py registry_test HOST [REPOSITORY]` names exactly what failed, against real servers where possible."""

import io
import socket

from django.core.management import call_command

from registries.models import Registry
from tests.support.fake_registry import FakeResponse
from tests.support.registry_helpers import unique_repository
from tests.support.tls_server import run_tls_registry


def run(*args):
    out = io.StringIO()
    code = 0
    try:
        call_command("registry_test", *args, "--timeout", "2", stdout=out)
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue()


def make_row(host, provider="generic", **fields):
    secret = fields.pop("secret", "")
    row = Registry(host=host, provider=provider, **fields)
    row.set_secret(secret)
    row.save()
    return row


def test_a_working_registry_reports_each_step(db, registry):
    repository = unique_repository("rt")
    digest = registry.push_image(repository, "1.0")
    code, out = run(registry.host, repository)
    assert code == 0
    assert "ok   registry API" in out and "1 tags of" in out and f"{repository}:1.0 is {digest}" in out


def test_dns_failure(db, monkeypatch):
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if host == "registry.diut-nowhere.example":  # no lookup leaves this machine
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    code, out = run("registry.diut-nowhere.example")
    assert code == 1 and "[DNS]" in out and "does not resolve" in out


def test_untrusted_certificate_is_a_tls_failure(db, tmp_path):
    with run_tls_registry(tmp_path, {}) as tls:
        code, out = run(tls.host)
    assert code == 1 and "[TLS]" in out and "CA certificate field" in out


def test_connect_timeout(db):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        host = f"127.0.0.1:{server.getsockname()[1]}"
        # Fill the accept queue: the kernel then drops further connection attempts, so connects time out.
        fillers = []
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(server.getsockname())
            fillers.append(filler)
        make_row(host, insecure=False)
        try:
            code, out = run(host)
        finally:
            for filler in fillers:
                filler.close()
    assert code == 1 and "[connect timeout]" in out


def test_bad_credentials(db, auth_registry):
    make_row(auth_registry.host, username=auth_registry.username, secret="wrong-password-7")
    code, out = run(auth_registry.host)
    assert code == 1 and "[401 bad credentials]" in out and "wrong-password-7" not in out


def test_missing_permission(db, fake_registry):
    fake_registry.route("GET", "/v2/", FakeResponse(200, {}))
    fake_registry.route("GET", "/v2/team/app/tags/list", FakeResponse(403, {"errors": [{"code": "DENIED"}]}))
    make_row(fake_registry.host, username="reader", secret="s3cret-reader")
    code, out = run(fake_registry.host, "team/app")
    assert code == 1 and "[403 missing permission]" in out


def test_repository_not_found(db, registry):
    code, out = run(registry.host, "rt/never-pushed")
    assert code == 1 and "[repository not found]" in out


def test_expired_token(db, token_registry):
    make_row("europe-west1-docker.pkg.dev", "gcp", endpoint=token_registry.host, secret="ya29.expired")
    code, out = run("europe-west1-docker.pkg.dev")
    assert code == 1 and "[token expired]" in out and "ya29.expired" not in out


def quota_headers(remaining):
    return {
        "Docker-Content-Digest": "sha256:" + "b" * 64,
        "RateLimit-Limit": "100;w=21600",
        "RateLimit-Remaining": f"{remaining};w=21600",
    }


def test_docker_hub_reports_the_pull_quota_left(db, fake_registry):
    fake_registry.route("GET", "/v2/", FakeResponse(200, {}))
    path = "/v2/ratelimitpreview/test/manifests/latest"
    fake_registry.route("HEAD", path, FakeResponse(200, headers=quota_headers(76)))
    make_row("docker.io", "dockerhub", endpoint=fake_registry.host)
    code, out = run("docker.io")
    assert code == 0 and "pull quota: 76 of 100 left per 6 h" in out
    assert fake_registry.requests_to(path)[0].method == "HEAD"  # a HEAD does not count against the quota


def test_docker_hub_quota_exhausted(db, fake_registry):
    fake_registry.route("GET", "/v2/", FakeResponse(200, {}))
    path = "/v2/ratelimitpreview/test/manifests/latest"
    fake_registry.route("HEAD", path, FakeResponse(429, headers={**quota_headers(0), "Retry-After": "3600"}))
    make_row("docker.io", "dockerhub", endpoint=fake_registry.host)
    code, out = run("docker.io")
    assert code == 1 and "[rate limited]" in out and "pull quota: 0 of 100 left per 6 h" in out

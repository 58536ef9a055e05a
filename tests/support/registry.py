"""Real registry fixtures: Debian's `docker-registry` (distribution 2.8) on 127.0.0.1, one process per fixture.

    registry        anonymous, session-scoped
    auth_registry   htpasswd (bcrypt) Basic auth, session-scoped
    token_registry  Bearer tokens from `tests.support.token_server`, session-scoped

`start_registry()` starts one more (e.g. with `notifications_url`) for a single test. Images are pushed over
the HTTP API by `RunningRegistry.push_image` / `push_index`, independently of the code under test.
Repositories under `public/` on the token registry are pullable anonymously.

This plugin also registers `fake_registry` / `other_fake_registry` from `tests.support.fake_registry`:
an emulation for error cases the real registry cannot produce (429, 5xx, slow or malformed answers).
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urljoin

import bcrypt
import pytest
import requests

from tests.support.fake_registry import (  # noqa: F401 - fixtures, via this plugin
    fake_registry,
    other_fake_registry,
    tls_fake_registry,
)
from tests.support.registry_images import build_image, build_index, sha256_digest
from tests.support.token_server import TokenServer, run_token_server

REGISTRY_BINARY = "/usr/bin/docker-registry"
REGISTRY_USER = "updater"
# Distinctive, with a colon and a space, so tests can assert it never leaks into messages and that
# Basic encoding splits on the first colon only.
REGISTRY_PASSWORD = "hunter2:Correct Horse-7f3a"
TOKEN_SERVICE = "test-registry"
STARTUP_TIMEOUT = 15.0


@dataclass
class RunningRegistry:
    """A running registry and helpers to put images into it over its HTTP API."""

    host: str
    url: str
    auth: str
    username: str | None
    password: str | None
    data_dir: Path
    token_server: TokenServer | None = None

    def push_image(
        self,
        repository: str,
        tag: str,
        *,
        files: dict[str, bytes] | None = None,
        created: datetime | None = None,
        media_type: str = "oci",
        platform: str = "linux/amd64",
    ) -> str:
        """Push a one-layer image (`media_type` "oci" or "docker") under `tag`; return its manifest digest."""
        image = build_image(
            files or {"hello.txt": tag.encode()}, created=created, platform=platform, media_type=media_type
        )
        session = self._session(repository)
        self._push_blob(session, repository, image.layer)
        self._push_blob(session, repository, image.config)
        return self._push_manifest(session, repository, tag, image.manifest, image.manifest_media_type)

    def push_index(
        self, repository: str, tag: str, manifests: list[tuple[str, str]], *, media_type: str = "oci"
    ) -> str:
        """Push an OCI index (or a Docker manifest list) of already pushed (digest, platform) manifests."""
        session = self._session(repository)
        entries = []
        for digest, platform in manifests:
            child = self._get_manifest(session, repository, digest)
            entries.append((digest, len(child.content), child.headers["Content-Type"], platform))
        body, index_type = build_index(entries, media_type=media_type)
        return self._push_manifest(session, repository, tag, body, index_type)

    def delete_manifest(self, repository: str, digest: str) -> None:
        """Delete a manifest by digest over the API (this also removes every tag pointing at it)."""
        session = self._session(repository, actions="pull,push,delete")
        response = session.delete(f"{self.url}/v2/{repository}/manifests/{digest}", timeout=10)
        response.raise_for_status()

    def delete_tag(self, repository: str, tag: str) -> None:
        """Remove one tag but keep the manifest: distribution 2.8 has no API for that, so edit storage."""
        tag_dir = self.data_dir / "docker/registry/v2/repositories" / repository / "_manifests/tags" / tag
        if not tag_dir.is_dir():
            raise FileNotFoundError(f"no tag {repository}:{tag} in {self.data_dir}")
        shutil.rmtree(tag_dir)

    def add_tags(self, repository: str, digest: str, tags: list[str]) -> None:
        """Point many more tags at an already pushed manifest, fast (1,500 API PUTs take ~5 s).

        Writes the two link files per tag that distribution's own manifest PUT writes; the registry reads
        tags from storage on every request, so it serves them at once.
        """
        algorithm, _, hex_digest = digest.partition(":")
        tags_dir = self.data_dir / "docker/registry/v2/repositories" / repository / "_manifests/tags"
        if not tags_dir.is_dir():
            raise FileNotFoundError(f"push an image to {repository} first")
        for tag in tags:
            for link in (tags_dir / tag / "current/link", tags_dir / tag / "index" / algorithm / hex_digest / "link"):
                link.parent.mkdir(parents=True, exist_ok=True)
                link.write_text(digest)

    def tags(self, repository: str) -> list[str]:
        """The tag list as the registry serves it (for assertions)."""
        response = self._session(repository).get(f"{self.url}/v2/{repository}/tags/list", timeout=10)
        response.raise_for_status()
        return response.json()["tags"] or []

    # --- helpers -------------------------------------------------------------------------------

    def _session(self, repository: str, actions: str = "pull,push") -> requests.Session:
        session = requests.Session()
        if self.auth == "htpasswd":
            session.auth = (self.username or "", self.password or "")
        elif self.auth == "token":
            assert self.token_server is not None
            response = requests.get(
                self.token_server.realm,
                params={"service": TOKEN_SERVICE, "scope": f"repository:{repository}:{actions}"},
                auth=(self.username or "", self.password or ""),
                timeout=10,
            )
            response.raise_for_status()
            session.headers["Authorization"] = f"Bearer {response.json()['token']}"
        return session

    def _push_blob(self, session: requests.Session, repository: str, data: bytes) -> str:
        digest = sha256_digest(data)
        if session.head(f"{self.url}/v2/{repository}/blobs/{digest}", timeout=10).status_code == 200:
            return digest
        start = session.post(f"{self.url}/v2/{repository}/blobs/uploads/", timeout=10)
        _expect(start, 202)
        upload = session.put(
            urljoin(f"{self.url}/", start.headers["Location"]),
            params={"digest": digest},
            data=data,
            headers={"Content-Type": "application/octet-stream"},
            timeout=30,
        )
        _expect(upload, 201)
        return digest

    def _push_manifest(self, session: requests.Session, repository: str, tag: str, body: bytes, media_type: str) -> str:
        response = session.put(
            f"{self.url}/v2/{repository}/manifests/{tag}", data=body, headers={"Content-Type": media_type}, timeout=10
        )
        _expect(response, 201)
        digest = response.headers["Docker-Content-Digest"]
        assert digest == sha256_digest(body), "the registry must store the manifest bytes unchanged"
        return digest

    def _get_manifest(self, session: requests.Session, repository: str, digest: str) -> requests.Response:
        accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
        response = session.get(f"{self.url}/v2/{repository}/manifests/{digest}", headers={"Accept": accept}, timeout=10)
        _expect(response, 200)
        return response


def _expect(response: requests.Response, status: int) -> None:
    if response.status_code != status:
        raise AssertionError(
            f"{response.request.method} {response.url}: HTTP {response.status_code} {response.text[:300]}"
        )


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def _registry_config(
    data_dir: Path,
    port: int,
    auth: dict[str, object] | None,
    notifications_url: str | None,
    notification_headers: dict[str, str] | None,
    access_log: bool = False,
) -> dict[str, object]:
    config: dict[str, object] = {
        "version": "0.1",
        "log": {"level": "warn", "accesslog": {"disabled": not access_log}},
        "storage": {
            "filesystem": {"rootdirectory": str(data_dir)},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)},
    }
    if auth:
        config["auth"] = auth
    if notifications_url:
        endpoint: dict[str, object] = {
            "name": "updater",
            "url": notifications_url,
            "timeout": "2s",
            "threshold": 3,
            "backoff": "1s",
            "ignoredmediatypes": ["application/octet-stream"],
        }
        if notification_headers:
            endpoint["headers"] = {name: [value] for name, value in notification_headers.items()}
        config["notifications"] = {"endpoints": [endpoint]}
    return config


def _wait_ready(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"docker-registry exited with {process.returncode}: {log_path.read_text()[-2000:]}")
        try:
            if requests.get(f"{url}/v2/", timeout=1).status_code in (200, 401):
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"docker-registry not ready after {STARTUP_TIMEOUT} s: {log_path.read_text()[-2000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextmanager
def start_registry(
    tmp_path: Path,
    *,
    auth: str = "none",
    notifications_url: str | None = None,
    notification_headers: dict[str, str] | None = None,
    access_log: bool = False,
) -> Iterator[RunningRegistry]:
    """Run `docker-registry serve` with storage under `tmp_path`; auth is "none", "htpasswd" or "token".

    With `access_log`, every request is a line of `tmp_path/registry.log` (benchmarks count them there).
    """
    if auth not in ("none", "htpasswd", "token"):
        raise ValueError(f"unknown auth mode {auth!r}")
    if not Path(REGISTRY_BINARY).exists():
        raise RuntimeError(f"{REGISTRY_BINARY} is missing: `apt-get install docker-registry` (distribution 2.8)")
    tmp_path.mkdir(parents=True, exist_ok=True)
    data_dir = tmp_path / "data"
    with ExitStack() as stack:
        token_server = None
        auth_config: dict[str, object] | None = None
        if auth == "htpasswd":
            hashed = bcrypt.hashpw(REGISTRY_PASSWORD.encode(), bcrypt.gensalt(rounds=5)).decode()
            (tmp_path / "htpasswd").write_text(f"{REGISTRY_USER}:{hashed}\n")
            auth_config = {"htpasswd": {"realm": "test-registry", "path": str(tmp_path / "htpasswd")}}
        elif auth == "token":
            token_server = stack.enter_context(
                run_token_server(tmp_path, {REGISTRY_USER: REGISTRY_PASSWORD}, service=TOKEN_SERVICE)
            )
            auth_config = {
                "token": {
                    "realm": token_server.realm,
                    "service": TOKEN_SERVICE,
                    "issuer": token_server.issuer,
                    "rootcertbundle": str(token_server.cert_path),
                }
            }
        port = free_port()
        config = _registry_config(data_dir, port, auth_config, notifications_url, notification_headers, access_log)
        config_path = tmp_path / "config.yml"
        config_path.write_text(json.dumps(config, indent=2))  # JSON is YAML: no YAML library needed
        log_path = tmp_path / "registry.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [REGISTRY_BINARY, "serve", str(config_path)], stdout=log, stderr=subprocess.STDOUT
            )
        stack.callback(_stop, process)
        url = f"http://127.0.0.1:{port}"
        _wait_ready(process, url, log_path)
        with_user = auth != "none"
        yield RunningRegistry(
            host=f"127.0.0.1:{port}",
            url=url,
            auth=auth,
            username=REGISTRY_USER if with_user else None,
            password=REGISTRY_PASSWORD if with_user else None,
            data_dir=data_dir,
            token_server=token_server,
        )


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """An anonymous registry shared by the whole session: use repository names unique to your test."""
    with start_registry(tmp_path_factory.mktemp("registry")) as running:
        yield running


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """A registry with htpasswd Basic auth (`username` / `password` on the fixture)."""
    with start_registry(tmp_path_factory.mktemp("auth-registry"), auth="htpasswd") as running:
        yield running


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """A registry with Bearer token auth; `token_server` shows which tokens were asked for."""
    with start_registry(tmp_path_factory.mktemp("token-registry"), auth="token") as running:
        yield running

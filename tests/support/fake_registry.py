"""An EMULATED registry: a scriptable HTTP server on loopback for answers the real registry cannot give.

429 with Retry-After, persistent 500s, slow answers, malformed JSON, missing Docker-Content-Digest,
Link pagination and redirects to another host. Anything that the real `docker-registry` can do is tested
against the real one (tests.support.registry); this is only for the rest.

    fake_registry.route("GET", "/v2/app/tags/list",
                        FakeResponse(429, headers={"Retry-After": "1"}), FakeResponse(200, {"tags": ["a"]}))

Each route answers its responses in order and repeats the last one; a route may instead be a function of the
recorded request. Unknown paths answer 404 NAME_UNKNOWN. Every request is recorded in `requests`.

`tls_fake_registry` is the same server behind real TLS (a private CA, `ca_pem`/`ca_file`), for clients that refuse
plain HTTP, as the Azure SDK does for bearer tokens.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.http_server import serve_in_thread

TLS_HANDSHAKE = 0x16  # first byte of a TLS ClientHello: the client's https probe


@dataclass
class FakeResponse:
    """One scripted answer; a dict or list body is sent as JSON."""

    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encoded_body(self) -> bytes:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode()
        return self.body.encode() if isinstance(self.body, str) else self.body


@dataclass
class RecordedRequest:
    method: str
    target: str  # path and query as sent
    headers: dict[str, str]
    at: float  # time.monotonic()
    body: bytes = b""

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(urlsplit(self.target).query).items()}


Route = list[FakeResponse] | Callable[[RecordedRequest], FakeResponse]


class FakeRegistry:
    """The emulated registry; `host` is `<address>:<port>`, `url` its http:// base."""

    def __init__(self, address: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.address = address
        self.tls = tls
        self.ca_pem = ""  # with TLS: the private CA that signed the server's certificate
        self.ca_file = ""
        self.routes: dict[tuple[str, str], Route] = {}
        self.requests: list[RecordedRequest] = []
        self.port = 0
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        return f"{self.address}:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    def route(self, method: str, path: str, *responses: FakeResponse) -> None:
        """Answer `method path` (query ignored) with `responses` in order, repeating the last."""
        self.routes[(method, path)] = list(responses)

    def handler(self, method: str, path: str, function: Callable[[RecordedRequest], FakeResponse]) -> None:
        """Answer `method path` with whatever `function(request)` returns (for query-dependent answers)."""
        self.routes[(method, path)] = function

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path == path]

    def answer(self, request: RecordedRequest) -> FakeResponse:
        with self._lock:
            self.requests.append(request)
            route = self.routes.get((request.method, request.path))
            if route is None and request.method == "HEAD":
                route = self.routes.get(("GET", request.path))
            if route is None:
                return FakeResponse(404, {"errors": [{"code": "NAME_UNKNOWN", "message": "emulated: no route"}]})
            if callable(route):
                return route(request)
            return route.pop(0) if len(route) > 1 else route[0]


def _handler_for(fake: FakeRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def setup(self) -> None:
            if fake.tls is not None:  # the handshake happens in handle(), where its failure is expected
                self.request = fake.tls.wrap_socket(self.request, server_side=True, do_handshake_on_connect=False)
            super().setup()

        def handle(self) -> None:
            if fake.tls is not None:
                # A client that does not trust the private CA hangs up during the handshake.
                with contextlib.suppress(ssl.SSLError, ConnectionResetError, OSError):
                    self.connection.do_handshake()
                    super().handle()
                return
            # Close on a TLS hello at once, as a plain-HTTP registry's TLS failure looks to the client;
            # http.server would otherwise wait for a newline that never comes.
            first = self.connection.recv(1, socket.MSG_PEEK)
            if first and first[0] == TLS_HANDSHAKE:
                return
            super().handle()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            received = self.rfile.read(length) if length else b""
            request = RecordedRequest(self.command, self.path, dict(self.headers.items()), time.monotonic(), received)
            response = fake.answer(request)
            if response.delay:
                time.sleep(response.delay)
            body = response.encoded_body()
            try:
                self.send_response(response.status)
                headers = {"Content-Type": "application/json", "Content-Length": str(len(body)), **response.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and went away: that is what a slow-answer test wants

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def run_fake_registry(address: str = "127.0.0.1", *, tls_dir: Path | None = None) -> Iterator[FakeRegistry]:
    """Serve a `FakeRegistry` on a free port of `address` (any 127.0.0.0/8 address works on Linux).

    With `tls_dir` it serves HTTPS with a certificate for 127.0.0.1 from a private CA written there.
    """
    context = None
    ca_pem = ""
    if tls_dir is not None:
        from tests.support.tls_server import make_certificates

        ca_pem, cert_path, key_path = make_certificates(tls_dir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        (tls_dir / "ca.pem").write_text(ca_pem, encoding="utf-8")
    fake = FakeRegistry(address, tls=context)
    if tls_dir is not None:
        fake.ca_pem, fake.ca_file = ca_pem, str(tls_dir / "ca.pem")
    with serve_in_thread(address, _handler_for(fake), "fake-registry") as port:
        fake.port = port
        yield fake


@pytest.fixture
def fake_registry() -> Iterator[FakeRegistry]:
    """An emulated registry on 127.0.0.1 (not the real thing: see the module docstring)."""
    with run_fake_registry() as fake:
        yield fake


@pytest.fixture
def other_fake_registry() -> Iterator[FakeRegistry]:
    """A second emulated server on another loopback host, 127.0.0.2: a different origin for redirects."""
    with run_fake_registry("127.0.0.2") as fake:
        yield fake


@pytest.fixture
def tls_fake_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeRegistry]:
    """An emulated server on 127.0.0.1 over HTTPS; `ca_pem` / `ca_file` hold the private CA to trust."""
    with run_fake_registry(tls_dir=tmp_path_factory.mktemp("fake-tls")) as fake:
        yield fake

"""A tiny Docker token-auth server for tests (distribution's `auth.token` protocol), on 127.0.0.1.

`GET /token?service=…&scope=repository:<name>:pull,push` with optional Basic credentials answers
`{"token", "access_token", "expires_in", "issued_at"}` holding an RS256 JWT that the real registry verifies
against `cert_path` (the JWT header carries the self-signed certificate as `x5c`).

Who gets what: a known user with the right password gets every action asked for; anonymous callers get
`pull` on repositories under `public/` and nothing elsewhere (a private registry with a public corner, like
Docker Hub or GHCR); a wrong password gets 401.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from tests.support.http_server import serve_in_thread

PUBLIC_PREFIX = "public/"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenRequest:
    """What one call to the token endpoint asked for and who asked."""

    user: str | None
    service: str
    scopes: list[str]
    status: int


@dataclass
class TokenServer:
    """Issues registry tokens signed with a fresh RSA key; see the module docstring for the policy."""

    directory: Path
    users: dict[str, str]
    service: str = "test-registry"
    issuer: str = "test-token-issuer"
    expires_in: int = 300
    requests: list[TokenRequest] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._cert = _self_signed_cert(self._key, self.issuer)
        self.cert_path = self.directory / "token-root.pem"
        self.cert_path.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self._lock = threading.Lock()

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def issue(self, subject: str, access: list[dict[str, object]]) -> str:
        """A signed JWT granting `access` (a list of {type, name, actions}) to `subject`."""
        now = int(time.time())
        header = {
            "typ": "JWT",
            "alg": "RS256",
            "x5c": [base64.b64encode(self._cert.public_bytes(serialization.Encoding.DER)).decode()],
        }
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + self.expires_in,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"

    def grant(self, user: str | None, scopes: list[str]) -> list[dict[str, object]]:
        """The access entries the policy grants `user` (None: anonymous) for the requested scopes."""
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            wanted = [action for action in actions.split(",") if action]
            if user is None:
                allowed = ["pull"] if kind == "repository" and name.startswith(PUBLIC_PREFIX) else []
                wanted = [action for action in wanted if action in allowed]
            if wanted:
                access.append({"type": kind, "name": name, "actions": wanted})
        return access

    def record(self, request: TokenRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def check_basic(self, header: str | None) -> tuple[bool, str | None]:
        """(credentials acceptable, user); no header is fine (anonymous), a wrong password is not."""
        if not header:
            return True, None
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False, None
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False, None
        expected = self.users.get(user)
        ok = expected is not None and secrets.compare_digest(expected, password)
        return ok, user if ok else None


def _self_signed_cert(key: rsa.RSAPrivateKey, common_name: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


def _handler_for(server: TokenServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path != "/token":
                self._reply(404, {"error": "not found"})
                return
            query = parse_qs(url.query)
            service = query.get("service", [""])[0]
            scopes = [scope for value in query.get("scope", []) for scope in value.split(" ") if scope]
            ok, user = server.check_basic(self.headers.get("Authorization"))
            status = 200 if ok and service == server.service else 401
            server.record(TokenRequest(user=user, service=service, scopes=scopes, status=status))
            if status != 200:
                self._reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]})
                return
            token = server.issue(user or "", server.grant(user, scopes))
            issued = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
            self._reply(
                200, {"token": token, "access_token": token, "expires_in": server.expires_in, "issued_at": issued}
            )

        def _reply(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean

    return Handler


@contextmanager
def run_token_server(directory: Path, users: dict[str, str], **options: object) -> Iterator[TokenServer]:
    """Start a `TokenServer` on a free 127.0.0.1 port in a thread; shut it down on exit."""
    server = TokenServer(directory=directory, users=users, **options)  # type: ignore[arg-type]
    with serve_in_thread("127.0.0.1", _handler_for(server), "token-server") as port:
        server.port = port
        yield server

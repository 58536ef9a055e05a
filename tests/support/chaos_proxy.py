"""A fault-injecting HTTP proxy in front of the REAL registry (tests/support/registry.py).

Pulls and registry calls that go through `proxy.host` reach the real `docker-registry`; the proxy only
adds faults the real one will not produce on demand: a slow answer for some paths, a connection cut
in the middle of a layer download, or a registry that has gone away (connections closed at once).

    with chaos_proxy(registry) as proxy:
        proxy.delay(r"/tags/list", 4.0)     # a slow listing (a registry honouring Retry-After)
        proxy.cut_blobs_after(64 * 1024)   # the next layer download dies mid-body, then the host is gone
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.support.http_server import serve_in_thread

TLS_HANDSHAKE = 0x16
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization"}


@dataclass
class ChaosProxy:
    upstream: str  # host:port of the real registry
    port: int = 0
    delays: dict[str, float] = field(default_factory=dict)
    cut_after: int | None = None  # bytes of a blob body to pass before cutting
    down: bool = False  # every new request is dropped without an answer
    blob_gone: bool = False  # blob requests answer 404 BLOB_UNKNOWN (the layer vanished, e.g. a registry GC)
    after_cut: str = "down"  # what the registry is after a cut: "down" or "blob_gone"
    blob_bytes_sent: int = 0
    requests: list[str] = field(default_factory=list)
    cut_done: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def delay(self, path_pattern: str, seconds: float) -> None:
        self.delays[path_pattern] = seconds

    def cut_blobs_after(self, size: int, *, then: str = "down") -> None:
        """Cut the next blob download after `size` bytes. Then the registry is "down" (connections
        dropped: Docker retries a layer 5 times over ~75 s) or the blob is gone ("blob_gone": 404
        BLOB_UNKNOWN, which Docker does not retry, so the pull fails after its first 5 s retry delay).
        """
        self.cut_after = size
        self.after_cut = then

    def delay_for(self, path: str) -> float:
        return max((seconds for pattern, seconds in self.delays.items() if re.search(pattern, path)), default=0.0)


def _handler_for(proxy: ChaosProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def handle(self) -> None:
            first = self.connection.recv(1, socket.MSG_PEEK)
            if not first or first[0] == TLS_HANDSHAKE:  # a plain-HTTP registry to https probes
                return
            super().handle()

        def _forward(self) -> None:
            with proxy._lock:
                proxy.requests.append(f"{self.command} {self.path}")
            if proxy.down:
                self.close_connection = True
                return
            if proxy.blob_gone and "/blobs/sha256:" in self.path:
                body = b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}'
                self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            time.sleep(proxy.delay_for(self.path))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            upstream = http.client.HTTPConnection(proxy.upstream, timeout=60)
            try:
                # Header by header: Docker sends several Accept headers, a dict would keep only one.
                upstream.putrequest(self.command, self.path, skip_accept_encoding=True)
                for name, value in self.headers.items():
                    if name.lower() not in HOP_BY_HOP and name.lower() not in ("content-length", "host"):
                        upstream.putheader(name, value)
                if body is not None:
                    upstream.putheader("Content-Length", str(len(body)))
                upstream.endheaders(body)
                response = upstream.getresponse()
                self._relay(response)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            finally:
                upstream.close()

        def _relay(self, response: http.client.HTTPResponse) -> None:
            is_blob = "/blobs/sha256:" in self.path and self.command == "GET"
            self.send_response(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            if response.getheader("Content-Length") is None:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command == "HEAD":
                return
            while chunk := response.read(16 * 1024):
                if is_blob and proxy.cut_after is not None:
                    allowed = proxy.cut_after - proxy.blob_bytes_sent
                    if allowed <= len(chunk):
                        self.wfile.write(chunk[: max(0, allowed)])
                        self.wfile.flush()
                        if proxy.after_cut == "down":
                            proxy.down = True  # the registry is gone from here on
                        else:
                            proxy.blob_gone = True
                        proxy.cut_done.set()
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                        return
                    proxy.blob_bytes_sent += len(chunk)
                self.wfile.write(chunk)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def chaos_proxy(registry) -> Iterator[ChaosProxy]:
    """A proxy to `registry` (a RunningRegistry) on a free loopback port."""
    proxy = ChaosProxy(upstream=registry.host)
    with serve_in_thread("127.0.0.1", _handler_for(proxy), "chaos-proxy") as port:
        proxy.port = port
        yield proxy

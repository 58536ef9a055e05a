"""A loopback HTTP server on a free port, served from a background thread (test emulations share it)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def serve_in_thread(address: str, handler: type[BaseHTTPRequestHandler], name: str) -> Iterator[int]:
    """Serve `handler` on `address` and a free port; yield the port, shut down cleanly on exit."""
    httpd = ThreadingHTTPServer((address, 0), handler)
    httpd.daemon_threads = True
    port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), name=f"{name}-{port}", daemon=True)
    thread.start()
    try:
        yield port
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)

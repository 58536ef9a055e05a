"""A registry host that accepts connections and never answers: the worst kind of dead registry.

The kernel completes each TCP handshake (up to the listen backlog), so clients wait for their read timeout
instead of failing at once as with a refused connection.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def silent_host(address: str = "127.0.0.1") -> Iterator[str]:
    """Yield `address:port` of a listener that never accepts or answers; closed on exit."""
    with socket.socket() as listener:
        listener.bind((address, 0))
        listener.listen(512)
        yield f"{address}:{listener.getsockname()[1]}"

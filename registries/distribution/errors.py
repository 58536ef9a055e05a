"""The errors the registry client raises, and how a registry's answer becomes one.

Every message names the host and is safe to show and log: callers pass a `redact` that removes secrets.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from registries.reference import InvalidReference

if TYPE_CHECKING:
    from registries.distribution.transport import Response

NOT_FOUND_CODES = frozenset({"NAME_UNKNOWN", "MANIFEST_UNKNOWN", "BLOB_UNKNOWN"})


class RegistryError(Exception):
    """Talking to a registry failed. The message is safe to show and log: it never holds a secret."""

    def __init__(self, message: str, *, host: str = "", status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.host = host
        self.status = status
        self.code = code  # the Distribution error code, e.g. MANIFEST_UNKNOWN, when the registry sent one


class RegistryAuthError(RegistryError):
    """401/403: credentials missing, wrong, or without access to the repository."""


class RegistryBadCredentials(RegistryAuthError):
    """401: the registry (or its token service) does not accept these credentials."""


class RegistryPermissionDenied(RegistryAuthError):
    """403, or a token without the asked-for access: the credentials work but may not read this repository."""


class RegistryTokenExpired(RegistryAuthError):
    """A token or key the user supplied has expired and cannot be renewed from what is stored."""


class RegistryNotFound(RegistryError):
    """404 (NAME_UNKNOWN, MANIFEST_UNKNOWN, BLOB_UNKNOWN): unknown repository, tag, digest or blob."""


class RegistryRateLimited(RegistryError):
    """429 after all retries, or a Retry-After longer than the client is willing to wait."""

    def __init__(self, message: str, *, host: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, host=host, status=429)
        self.retry_after = retry_after


class RegistryUnavailable(RegistryError):
    """5xx after all retries, a timeout, a refused connection or a TLS failure."""


class RegistryDNSError(RegistryUnavailable):
    """The registry's host name does not resolve."""


class RegistryTLSError(RegistryUnavailable):
    """The TLS handshake failed: an untrusted or wrong certificate, or plain HTTP answering TLS."""


class RegistryConnectTimeout(RegistryUnavailable):
    """No TCP connection within the timeout: a firewall, a wrong port or a host that is down."""


class RegistryInvalidReference(RegistryError, InvalidReference):
    """A repository, tag or digest handed to the client breaks the OCI grammar; raised before any request.

    Both a `RegistryError` (so a check cycle that catches those carries on) and an `InvalidReference`.
    """


class RegistryProtocolError(RegistryError):
    """The registry answered something this client cannot use: malformed JSON or headers, a wrong digest."""


def raise_for_status(
    response: Response,
    what: str,
    *,
    host: str,
    auth_error: Callable[[int], RegistryAuthError],
    redact: Callable[[str], str],
) -> None:
    """Raise the named error for a non-2xx answer about `what` (e.g. "manifest app:1.0"); return on 2xx."""
    status = response.status
    if 200 <= status < 300:
        return
    code, detail = error_detail(response.body, redact)
    suffix = f": {detail}" if detail else ""
    if status in (401, 403):
        error = auth_error(status)
        raise type(error)(f"{error}{suffix}", host=host, status=status, code=code)
    if status == 404 or code in NOT_FOUND_CODES:
        raise RegistryNotFound(f"{what} not found on {host}{suffix}", host=host, status=status, code=code)
    tries = f" after {response.attempts} attempts" if response.attempts > 1 else ""
    if status == 429:
        quota = rate_limit_text(response.headers)
        raise RegistryRateLimited(
            f"{host} rate-limited the request for {what}{tries}{quota}", host=host, retry_after=response.retry_after
        )
    if status >= 500:
        raise RegistryUnavailable(f"{host} answered HTTP {status} for {what}{tries}", host=host, status=status)
    raise RegistryError(f"{host} answered HTTP {status} for {what}{suffix}", host=host, status=status, code=code)


def rate_limit_text(headers: Mapping[str, str]) -> str:
    """`" (pull quota: 0 of 100 left per 6 h)"` from Docker Hub's RateLimit headers; "" without them."""
    quota = parse_rate_limit(headers)
    if quota is None:
        return ""
    remaining, limit, window = quota
    per = f" per {window // 3600} h" if window and window % 3600 == 0 else (f" per {window} s" if window else "")
    return f" (pull quota: {remaining} of {limit if limit is not None else '?'} left{per})"


def parse_rate_limit(headers: Mapping[str, str]) -> tuple[int, int | None, int | None] | None:
    """(remaining, limit, window seconds) from `RateLimit-Remaining: 76;w=21600` and `RateLimit-Limit`."""

    def number_and_window(value: str) -> tuple[int, int | None] | None:
        count, _, params = value.partition(";")
        window = None
        for param in params.split(";"):
            key, _, raw = param.strip().partition("=")
            if key == "w" and raw.isdigit():
                window = int(raw)
        return (int(count.strip()), window) if count.strip().isdigit() else None

    remaining = number_and_window(headers.get("RateLimit-Remaining", "") or "")
    if remaining is None:
        return None
    limit = number_and_window(headers.get("RateLimit-Limit", "") or "")
    return remaining[0], limit[0] if limit else None, remaining[1] or (limit[1] if limit else None)


def error_detail(body: bytes, redact: Callable[[str], str]) -> tuple[str, str]:
    """The first `errors[]` entry of a Distribution error body as (code, safe short text)."""
    try:
        first = json.loads(body)["errors"][0]
        code, message = str(first.get("code", "")), str(first.get("message", ""))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return "", ""
    return code, redact(f"{code} {message}".strip())


def json_object(raw: bytes, what: str, *, host: str) -> dict[str, Any]:
    """A JSON object the registry sent (token response, tag list, manifest, config) or a protocol error."""
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise RegistryProtocolError(f"{host}: {what} is not valid JSON", host=host) from None
    if not isinstance(value, dict):
        raise RegistryProtocolError(f"{host}: {what} is not a JSON object", host=host)
    return value

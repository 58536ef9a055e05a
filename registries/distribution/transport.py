"""HTTP to one registry host: scheme choice, retries with backoff, redirects and body limits.

Knows nothing of credentials: it sends the Authorization value it is given, and only to the origin that
value was meant for. Failures come out as `RegistryError` subclasses naming the host.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import re
import socket
import ssl
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import NoReturn
from urllib.parse import urljoin, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from registries.distribution.errors import (
    RegistryConnectTimeout,
    RegistryDNSError,
    RegistryProtocolError,
    RegistryRateLimited,
    RegistryTLSError,
    RegistryUnavailable,
    parse_rate_limit,
)
from registries.distribution.schemes import KNOWN_SCHEMES

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5
MAX_BODY = 16 * 1024 * 1024  # tag lists of ~500k tags; manifests and configs are far smaller
_TRANSIENT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


@dataclass(frozen=True)
class Response:
    """A registry's answer, read in full (HEAD: no body); `attempts` counts the tries it took."""

    status: int
    headers: CaseInsensitiveDict[str]
    body: bytes
    url: str
    attempts: int = 1

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("Retry-After", ""))


class HeaderAuth(requests.auth.AuthBase):
    """Sets our Authorization header (or none). Passing any `auth` also stops requests adding ~/.netrc creds."""

    def __init__(self, value: str | None) -> None:
        self.value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        if self.value:
            request.headers["Authorization"] = self.value
        return request


class Transport:
    """Sends requests to one registry host; `request_count` counts every one, probes and retries included."""

    def __init__(
        self,
        host: str,
        *,
        insecure: bool,
        timeout: float,
        retries: int,
        backoff: float,
        max_retry_after: float,
        session: requests.Session | None = None,
        ca_file: str | None = None,
    ) -> None:
        self.host = host
        self.insecure = insecure
        self.ca_file = ca_file
        self.rate_limit: tuple[int, int | None, int | None] | None = None
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self.request_count = 0
        self._session = session or requests.Session()
        # Like Docker: https first, plain http only as a fallback where allowed. The answer is shared by
        # all clients in the process (KNOWN_SCHEMES), so only the first client for a host probes.
        self._may_probe = insecure or is_loopback(host)
        self.scheme: str | None = None if self._may_probe else "https"

    def close(self) -> None:
        self._session.close()

    def send(
        self,
        method: str,
        target: str,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        auth: str | None,
        max_body: int = MAX_BODY,
        data: bytes | dict[str, str] | None = None,
    ) -> Response:
        """Send, retrying 429/5xx and connection errors with jittered backoff or the server's Retry-After.

        `target` is a path on this host (`/v2/…`) or an absolute URL (a token realm, a Link).
        """
        for attempt in range(self.retries + 1):
            delay: float | None = None
            try:
                response = self._send_once(method, target, params, headers or {}, auth, max_body, data)
            except requests.exceptions.SSLError as exc:  # a certificate problem does not heal by retrying
                raise RegistryTLSError(
                    f"TLS error talking to {self.host}: {_reason(exc)} (a private CA? paste it into the "
                    "registry's CA certificate field)",
                    host=self.host,
                ) from None
            except _TRANSIENT_ERRORS as exc:
                if _host_not_found(exc):  # NXDOMAIN does not heal in a few seconds
                    raise RegistryDNSError(
                        f"{self.host}: the host name does not resolve (DNS); check its spelling", host=self.host
                    ) from None
                if attempt == self.retries:
                    raise self._unreachable(exc, attempt + 1) from None
            except requests.RequestException as exc:  # an unusable URL or header, say in a redirect
                raise RegistryProtocolError(f"{self.host}: {type(exc).__name__}", host=self.host) from None
            else:
                self.rate_limit = parse_rate_limit(response.headers) or self.rate_limit
                if not _retryable(response.status) or attempt == self.retries:
                    return replace(response, attempts=attempt + 1)
                delay = response.retry_after
                if delay is not None and delay > self.max_retry_after:
                    self._give_up_waiting(response, delay)
            time.sleep(self._backoff_delay(attempt) if delay is None else delay)
        raise AssertionError("unreachable")  # the loop always returns or raises on its last attempt

    def join(self, base: str, reference: str) -> str:
        """Resolve a Link or Location against the URL it came with; a malformed one is a protocol error."""
        try:
            url = urljoin(base, reference)
            urlsplit(url).port  # noqa: B018 - raises ValueError on a bad port or IPv6 literal
        except ValueError:
            raise RegistryProtocolError(f"{self.host}: malformed URL {reference[:80]!r}", host=self.host) from None
        return url

    def same_origin(self, url: str) -> str:
        """`url` if it points at this registry, as a pagination link must; else a protocol error."""
        if self.scheme is None or _origin(url) != _origin(f"{self.scheme}://{self.host}/"):
            raise RegistryProtocolError(f"{self.host}: refusing cross-origin pagination link", host=self.host)
        return url

    def _unreachable(self, exc: Exception, attempts: int) -> RegistryUnavailable:
        tries = f"after {attempts} attempt{'s' if attempts > 1 else ''}"
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return RegistryConnectTimeout(
                f"{self.host}: connect timeout ({self.timeout:g} s, {tries}): a firewall, a wrong port, "
                "or the host is down",
                host=self.host,
            )
        if _caused_by(exc, (socket.gaierror,)):
            return RegistryDNSError(f"{self.host}: DNS lookup failed {tries}: {_reason(exc)}", host=self.host)
        return RegistryUnavailable(f"{self.host} unreachable {tries}: {_reason(exc)}", host=self.host)

    def _give_up_waiting(self, response: Response, delay: float) -> NoReturn:
        message = f"{self.host} asks to retry after {delay:.0f} s (more than {self.max_retry_after:.0f} s)"
        if response.status == 429:
            raise RegistryRateLimited(message, host=self.host, retry_after=delay)
        raise RegistryUnavailable(message, host=self.host, status=response.status)

    def _backoff_delay(self, attempt: int) -> float:
        # Exponential, capped, with jitter so that many workers do not retry in lockstep.
        return min(self.backoff * 2**attempt, 30.0) * random.uniform(0.5, 1.0)  # noqa: S311 - not crypto

    def _send_once(
        self,
        method: str,
        target: str,
        params: dict[str, str] | None,
        headers: dict[str, str],
        auth: str | None,
        max_body: int,
        data: bytes | dict[str, str] | None = None,
    ) -> Response:
        if not target.startswith("/"):
            return self._follow(method, target, params, headers, auth, max_body, data)
        if self.scheme is None:
            self.scheme = KNOWN_SCHEMES.get(self.host)
        if self.scheme is not None:
            return self._send_on_known_scheme(method, target, params, headers, auth, max_body)
        try:
            response = self._follow(method, f"https://{self.host}{target}", params, headers, auth, max_body)
        except (requests.ConnectionError, requests.Timeout) as exc:  # incl. SSLError: plain HTTP answering TLS
            if _caused_by(exc, (ssl.SSLCertVerificationError,)):
                raise  # it speaks TLS with a certificate we do not trust: never downgrade to plain HTTP
            logger.debug("https to %s failed (%s), trying plain http", self.host, _reason(exc))
            response = self._follow(method, f"http://{self.host}{target}", params, headers, auth, max_body)
            self.scheme = "http"
        else:
            self.scheme = "https"
        KNOWN_SCHEMES.remember(self.host, self.scheme)
        return response

    def _send_on_known_scheme(
        self,
        method: str,
        target: str,
        params: dict[str, str] | None,
        headers: dict[str, str],
        auth: str | None,
        max_body: int,
    ) -> Response:
        try:
            return self._follow(method, f"{self.scheme}://{self.host}{target}", params, headers, auth, max_body)
        except (requests.ConnectionError, requests.Timeout):
            if self._may_probe:  # the registry may have moved to the other scheme: the next client probes again
                KNOWN_SCHEMES.forget(self.host)
            raise

    def _follow(
        self,
        method: str,
        url: str,
        params: dict[str, str] | None,
        headers: dict[str, str],
        auth: str | None,
        max_body: int,
        data: bytes | dict[str, str] | None = None,
    ) -> Response:
        """One request plus its redirects; Authorization only ever goes to the origin it was meant for."""
        origin = _origin(url)
        for _ in range(MAX_REDIRECTS + 1):
            response = self._request(method, url, params, headers, auth if _origin(url) == origin else None, data)
            with response:
                # Without the query: pre-signed storage URLs carry their signature there.
                logger.debug("%s %s -> %s", method, response.url.split("?")[0], response.status_code)
                if response.is_redirect:
                    url, params, data = self.join(response.url, response.headers["Location"]), None, None
                    method = "GET" if response.status_code == 303 and method != "HEAD" else method
                    continue
                body = b"" if method == "HEAD" else self._read_body(response, max_body)
                return Response(response.status_code, response.headers, body, response.url)
        raise RegistryProtocolError(f"{self.host}: more than {MAX_REDIRECTS} redirects", host=self.host)

    def _request(
        self,
        method: str,
        url: str,
        params: dict[str, str] | None,
        headers: dict[str, str],
        auth: str | None,
        data: bytes | dict[str, str] | None = None,
    ) -> requests.Response:
        """Exactly one HTTP request (counted), never following redirects itself."""
        self._check_url_allowed(url)
        self.request_count += 1
        try:
            return self._session.request(
                method,
                url,
                params=params,
                headers=headers,
                data=data,
                auth=HeaderAuth(auth),
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
                verify=False if self.insecure else (self.ca_file or True),
            )
        except ValueError:  # requests pre-parses a redirect's Location even with allow_redirects=False
            raise RegistryProtocolError(
                f"{self.host}: malformed URL in the answer to {method}", host=self.host
            ) from None

    def _check_url_allowed(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme == "https" or (parts.scheme == "http" and (self.insecure or is_loopback(parts.netloc))):
            return
        raise RegistryProtocolError(
            f"{self.host}: refusing {parts.scheme or 'relative'} URL to {parts.netloc or '?'} "
            "(plain HTTP only for loopback hosts or registries marked insecure)",
            host=self.host,
        )

    def _read_body(self, response: requests.Response, limit: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise RegistryProtocolError(f"{self.host}: response larger than {limit} bytes", host=self.host)
            chunks.append(chunk)
        return b"".join(chunks)


def _caused_by(exc: BaseException, types: tuple[type[BaseException], ...]) -> BaseException | None:
    """The first exception of `types` in `exc`'s chain (urllib3 nests the socket error a few levels deep)."""
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, types):
            return current
        pending.extend([current.__cause__, current.__context__, getattr(current, "reason", None), *current.args])
    return None


def _host_not_found(exc: BaseException) -> bool:
    error = _caused_by(exc, (socket.gaierror,))
    return isinstance(error, socket.gaierror) and error.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5))


def _retryable(status: int) -> bool:
    return status == 429 or (status >= 500 and status not in (501, 505))


def _reason(exc: Exception) -> str:
    """A short cause ("Connection refused", "Read timed out") instead of urllib3's nested repr."""
    text = str(exc)
    for pattern in (r"\[Errno -?\d+\] ([^'\")\]]+)", r"(Read timed out)", r"(timed out)", r"\[SSL: ([A-Z_]+)\]"):
        match = re.search(pattern, text)
        if match:
            return match.group(1).strip()
    return type(exc).__name__


def _split_host(netloc: str) -> tuple[str, int | None]:
    parts = urlsplit(f"//{netloc}")
    return (parts.hostname or "").lower(), parts.port


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host, port = _split_host(parts.netloc)
    return parts.scheme, host, None if port == default else port


def is_loopback(netloc: str) -> bool:
    """True for `localhost`, 127.0.0.0/8 and ::1, with or without a port."""
    host, _ = _split_host(netloc)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_retry_after(value: str) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date; None if absent or unreadable."""
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())

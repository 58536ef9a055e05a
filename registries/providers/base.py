"""The provider protocol: stored credentials in, registry credentials (renewed before they expire) and tag lists
with push times out, and every failure as a `RegistryError` with a message a person can act on.

A provider never imports a cloud SDK at module level: the SDK is imported when a registry of that provider is
first used, so a process with one Docker Hub registry loads none of boto3, the Azure or the Google SDKs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from django.conf import settings

from registries.distribution.errors import (
    RegistryAuthError,
    RegistryBadCredentials,
    RegistryPermissionDenied,
    RegistryProtocolError,
    raise_for_status,
)
from registries.distribution.transport import Response, Transport

if TYPE_CHECKING:
    from registries.distribution.client import RegistryClient

REFRESH_MARGIN = 300.0  # seconds: renew issued credentials this long before they expire (less for short ones)


def now() -> float:
    """Wall-clock seconds; the one clock credential expiry is judged by (tests move it)."""
    return time.time()


@dataclass(frozen=True)
class RegistryConfig:
    """Everything a provider needs about one registry, secrets decrypted. Never logged: the secret has no repr."""

    provider: str
    host: str  # as in image references: `123456789012.dkr.ecr.eu-west-1.amazonaws.com`, `docker.io`
    endpoint: str = ""  # where the Distribution API is served when not at `host` (a mirror, a test registry)
    username: str = ""
    secret: str = field(default="", repr=False)
    options: Mapping[str, str] = field(default_factory=dict)
    ca_certificate: str = ""  # PEM; trusted in addition to the system CAs
    ca_file: str = ""  # the PEM written to disk for requests (set by services)
    insecure: bool = False
    cache_key: str = ""  # identifies this configuration in the process-wide credential cache

    def option(self, name: str, default: str = "") -> str:
        value = self.options.get(name)
        return str(value).strip() if value not in (None, "") else default

    @property
    def fingerprint(self) -> str:
        """A one-way key for the credential cache: changes whenever anything that shapes the credentials does."""
        if self.cache_key:
            return self.cache_key
        material = json.dumps(
            [self.provider, self.host, self.endpoint, self.username, self.secret, dict(self.options)], sort_keys=True
        )
        return hashlib.sha256(material.encode()).hexdigest()


@dataclass(frozen=True)
class Credentials:
    """What `docker login` and the Distribution API take; `expires_at` in epoch seconds, None if it never does."""

    username: str
    password: str = field(repr=False)
    expires_at: float | None = None
    issued_at: float = field(default_factory=now)

    def fresh_for(self, seconds: float = 0.0) -> bool:
        if self.expires_at is None:
            return True
        margin = min(REFRESH_MARGIN, max(0.0, self.expires_at - self.issued_at) / 4)
        return self.expires_at - margin - seconds > now()


@dataclass
class TagListing:
    """A repository's tags; push times and digests for the tags whose provider API has them."""

    tags: list[str]
    push_times: dict[str, datetime | None] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    source: str = "distribution tag list"
    request_count: int = 0


class Provider:
    """Base class: static credentials, the Distribution tag list, no push times. Subclasses override."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    refused_hint: str = ""  # appended when the registry refuses these credentials
    refused_means_expired: bool = False  # a refusal is best explained as an expired token
    credential_help: ClassVar[str] = "Password or token"

    def __init__(self, config: RegistryConfig) -> None:
        self.config = config
        self._transport: Transport | None = None
        self._issued: set[str] = set()  # tokens this provider obtained: redacted from every message

    # --- what subclasses provide ---------------------------------------------------------------

    @property
    def api_host(self) -> str:
        """The host that serves the Distribution API."""
        return self.config.endpoint or self.config.host

    @property
    def display_user(self) -> str:
        return self.config.username

    @property
    def has_credentials(self) -> bool:
        return bool(self.config.username or self.config.secret)

    def fetch_credentials(self) -> Credentials | None:
        """New registry credentials from what is stored (a network call for cloud providers); None = anonymous."""
        if not self.has_credentials:
            return None
        return Credentials(self.config.username, self.config.secret)

    def list_tags_with_times(self, repository: str, client: RegistryClient) -> TagListing | None:
        """Tags with push times and digests from the provider's own API; None when it has none.

        `client` is the Distribution client for this registry, for providers whose tag list carries times.
        """
        return None

    # --- shared helpers ------------------------------------------------------------------------

    @property
    def request_count(self) -> int:
        return self._transport.request_count if self._transport else 0

    def http(self) -> Transport:
        """A transport for the provider's own API (token endpoints, tag APIs): same retries and limits."""
        if self._transport is None:
            self._transport = Transport(
                self.config.host,
                insecure=self.config.insecure,
                ca_file=self.config.ca_file or None,
                timeout=settings.REGISTRY_TIMEOUT,
                retries=settings.REGISTRY_RETRIES,
                backoff=0.5,
                max_retry_after=60.0,
            )
        return self._transport

    def call_api(
        self,
        method: str,
        url: str,
        *,
        what: str,
        auth: str | None = None,
        params: dict[str, str] | None = None,
        data: dict[str, str] | bytes | None = None,
        headers: dict[str, str] | None = None,
        auth_error: Callable[[int], RegistryAuthError] | None = None,
    ) -> tuple[Any, Response]:
        """One call to the provider's API: its JSON body (object or list) and the response; errors named."""
        response = self.http().send(method, url, params=params, data=data, headers=headers, auth=auth)
        raise_for_status(
            response,
            what,
            host=_netloc(url),
            auth_error=auth_error or self.api_auth_error(what),
            redact=self.redact,
        )
        try:
            return json.loads(response.body), response
        except (ValueError, UnicodeDecodeError):
            raise RegistryProtocolError(f"{_netloc(url)}: {what} is not valid JSON", host=_netloc(url)) from None

    def api_auth_error(self, what: str) -> Callable[[int], RegistryAuthError]:
        def build(status: int) -> RegistryAuthError:
            who = f"user {self.display_user!r}" if self.display_user else "these credentials"
            if status == 403:
                return RegistryPermissionDenied(
                    f"{self.label}: 403 missing permission for {what} ({who})", host=self.config.host, status=403
                )
            return RegistryBadCredentials(
                f"{self.label}: 401 bad credentials for {what} ({who})", host=self.config.host, status=401
            )

        return build

    def remember_secret(self, value: str) -> str:
        if value:
            self._issued.add(value)
        return value

    def redact(self, text: str) -> str:
        cached_now = _CACHE.get(f"registry:{self.config.fingerprint}")
        issued = {cached_now.password} if cached_now else set()
        for secret in sorted({self.config.secret, *self._issued, *issued} - {""}, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text[:300]

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


# --- the process-wide cache of issued credentials -------------------------------------------------

_CACHE: dict[str, Credentials] = {}
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
_FORGETTERS: list[Callable[[], None]] = []  # SDK-side caches (credential objects holding tokens), see below


def on_forget_all(forget_sdk_cache: Callable[[], None]) -> Callable[[], None]:
    """Register a provider module's cache of SDK credential objects, to be dropped with the issued credentials."""
    _FORGETTERS.append(forget_sdk_cache)
    return forget_sdk_cache


def cached(key: str, fetch: Callable[[], Credentials | None], *, fresh_for: float = 0.0) -> Credentials | None:
    """`fetch()`'s credentials, reused until shortly before they expire (one fetch at a time per key)."""
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(key, threading.Lock())
    with lock:
        current = _CACHE.get(key)
        if current is not None and current.fresh_for(fresh_for):
            return current
        issued = fetch()
        if issued is None:
            _CACHE.pop(key, None)
        else:
            _CACHE[key] = issued
        return issued


def forget(key: str) -> None:
    _CACHE.pop(key, None)


def forget_all() -> None:
    _CACHE.clear()
    for forget_sdk_cache in _FORGETTERS:
        forget_sdk_cache()


class ProviderCredentials:
    """A `CredentialSource` for `RegistryClient`: the provider's credentials through the process cache."""

    def __init__(self, provider: Provider, *, fresh_for: float = 0.0) -> None:
        self.provider = provider
        self.display_user = provider.display_user
        self.refused_hint = provider.refused_hint
        self.refused_means_expired = provider.refused_means_expired
        self._fresh_for = fresh_for
        self._key = f"registry:{provider.config.fingerprint}"

    @property
    def has_credentials(self) -> bool:
        return self.provider.has_credentials

    def current(self) -> Credentials | None:
        return cached(self._key, self.provider.fetch_credentials, fresh_for=self._fresh_for)

    def credentials(self) -> tuple[str, str]:
        issued = self.current()
        if issued is None:
            return "", ""
        self.provider.remember_secret(issued.password)
        return issued.username, issued.password

    def redact(self, text: str) -> str:
        return self.provider.redact(text)

    def renew(self) -> bool:
        before = _CACHE.get(self._key)
        if before is not None and now() - before.issued_at < 1.0:
            return False  # issued a moment ago and already refused: renewing again will not help
        forget(self._key)
        after = self.current()
        return after is not None and (before is None or after.password != before.password)


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 / ISO 8601 time from a provider API (`Z`, offsets, fractions of any length); None if unusable."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Python before 3.11.? accepts 3 or 6 fraction digits only: trim nanoseconds
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[:digits][:6].ljust(6, '0')}{rest[digits:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT, unverified (only to know when to renew it); None if it is no JWT."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, TypeError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


def _netloc(url: str) -> str:
    return urlsplit(url).netloc or url

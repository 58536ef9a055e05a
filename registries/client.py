"""Generic OCI Distribution client: ping, auth, tag lists, manifest digests and image creation times.

The one module that speaks the registry HTTP API (unit tests emulate or patch here). Every failure comes out
as a `RegistryError` subclass whose message names the host and never carries a password or token.
A client is not thread-safe: use one per thread (they are cheap; the token cache lives in the client).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from requests.structures import CaseInsensitiveDict

from registries.reference import (
    InvalidReference,
    validate_digest,
    validate_registry_host,
    validate_repository,
    validate_tag,
)

logger = logging.getLogger(__name__)

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
# All four, always: without the OCI types distribution 2.8/3.0 answer MANIFEST_UNKNOWN for OCI images, and
# without the list type they rewrite a Docker list to one platform's manifest (a different digest).
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST))
INDEX_MEDIA_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})

TAGS_PAGE_SIZE = 1000  # distribution 3.1 answers 400 PAGINATION_NUMBER_INVALID above its default maxtags, 1000
MAX_PAGES = 10_000
MAX_REDIRECTS = 5
MAX_BODY = 16 * 1024 * 1024  # tag lists of ~500k tags; manifests and configs are far smaller
NOT_FOUND_CODES = frozenset({"NAME_UNKNOWN", "MANIFEST_UNKNOWN", "BLOB_UNKNOWN"})
DEFAULT_TOKEN_LIFETIME = 60  # seconds, when the token server sends no expires_in (token spec)
_TRANSIENT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class RegistryError(Exception):
    """Talking to a registry failed. The message is safe to show and log: it never holds a secret."""

    def __init__(self, message: str, *, host: str = "", status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.host = host
        self.status = status
        self.code = code  # the Distribution error code, e.g. MANIFEST_UNKNOWN, when the registry sent one


class RegistryAuthError(RegistryError):
    """401/403: credentials missing, wrong, or without access to the repository."""


class RegistryNotFound(RegistryError):
    """404 (NAME_UNKNOWN, MANIFEST_UNKNOWN, BLOB_UNKNOWN): unknown repository, tag, digest or blob."""


class RegistryRateLimited(RegistryError):
    """429 after all retries, or a Retry-After longer than the client is willing to wait."""

    def __init__(self, message: str, *, host: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, host=host, status=429)
        self.retry_after = retry_after


class RegistryUnavailable(RegistryError):
    """5xx after all retries, a timeout, a refused connection or a TLS failure."""


class RegistryInvalidReference(RegistryError, InvalidReference):
    """A repository, tag or digest handed to the client breaks the OCI grammar; raised before any request.

    Both a `RegistryError` (so a check cycle that catches those carries on) and an `InvalidReference`.
    """


class RegistryProtocolError(RegistryError):
    """The registry answered something this client cannot use: malformed JSON or headers, a wrong digest."""


@dataclass(frozen=True, eq=False)
class Manifest:
    """A manifest or index as served: `raw` holds the exact bytes `digest` was computed from."""

    media_type: str
    digest: str
    body: dict[str, Any]
    raw: bytes

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_MEDIA_TYPES


@dataclass(frozen=True)
class _Response:
    status: int
    headers: CaseInsensitiveDict[str]
    body: bytes
    url: str
    attempts: int = 1


@dataclass(frozen=True)
class Challenge:
    """One `WWW-Authenticate` challenge: how the registry wants us to authenticate."""

    scheme: str  # "bearer" or "basic"
    realm: str = ""
    service: str = ""
    scope: str = ""


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float  # time.monotonic()


class _HeaderAuth(requests.auth.AuthBase):
    """Sets our Authorization header (or none). Passing any `auth` also stops requests adding ~/.netrc creds."""

    def __init__(self, value: str | None) -> None:
        self.value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        if self.value:
            request.headers["Authorization"] = self.value
        return request


class RegistryClient:
    """A client for one registry API host, e.g. `registry-1.docker.io` or `127.0.0.1:5000`.

    `request_count` counts every HTTP request made: scheme probes, token fetches, redirects and retries.
    """

    page_size = TAGS_PAGE_SIZE

    def __init__(
        self,
        host: str,
        *,
        username: str = "",
        password: str = "",
        insecure: bool = False,
        timeout: float | None = None,
        retries: int | None = None,
        session: requests.Session | None = None,
        backoff: float = 0.5,
        max_retry_after: float = 60.0,
    ) -> None:
        self.host = validate_registry_host(host)
        self.username = username
        self._password = password
        self.insecure = insecure
        self.timeout = settings.REGISTRY_TIMEOUT if timeout is None else timeout
        self.retries = settings.REGISTRY_RETRIES if retries is None else retries
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self.request_count = 0
        self._session = session or requests.Session()
        self._plain_http_allowed = insecure or is_loopback(host)
        # Like Docker: https first, plain http only as a fallback where allowed; the answer is remembered.
        self._scheme: str | None = None if self._plain_http_allowed else "https"
        self._challenge: Challenge | None = None
        self._tokens: dict[str, _Token] = {}

    def __repr__(self) -> str:
        return f"<RegistryClient {self.host} user={self.username or '-'}>"

    # --- public API -----------------------------------------------------------------------------

    def ping(self) -> None:
        """Check that the host speaks the Distribution API and that the credentials are accepted."""
        self._call("GET", "/v2/", scope="", what="API root")

    def list_tags(self, repository: str) -> list[str]:
        """All tags of a repository, following pagination; in registry order, unvalidated."""
        scope = _pull_scope(repository)
        path = f"/v2/{repository}/tags/list"
        target, params = path, {"n": str(self.page_size)}
        tags: list[str] = []
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            response = self._tags_call(target, params, scope, repository)
            page = self._tags_page(response)
            new = [tag for tag in page if tag not in seen]
            seen.update(new)
            tags.extend(new)
            link = next_link(response.headers.get("Link", ""))
            if not new:  # distribution 2.8 ignores `last` and repeats itself; a looping Link does the same
                return tags
            if link:
                target, params = self._same_origin(self._join(response.url, link)), None
            elif len(page) == self.page_size:  # a full page and no Link: ask for the next one with `last`
                target, params = path, {"n": str(self.page_size), "last": page[-1]}
            else:  # a short page, or more than `n` tags because the registry ignores `n`: that was all
                return tags
        raise RegistryProtocolError(f"{self.host}: more than {MAX_PAGES} pages of tags for {repository}")

    def _tags_call(self, target: str, params: dict[str, str] | None, scope: str, repository: str) -> _Response:
        what = f"tags of {repository}"
        try:
            return self._call("GET", target, scope=scope, params=params, what=what)
        except RegistryError as exc:
            if exc.code != "PAGINATION_NUMBER_INVALID" or not params or "last" in params:
                raise
        # distribution 3.1 configured with tags.maxtags below our `n`: without `n` it sends everything.
        return self._call("GET", target, scope=scope, what=what)

    def head_digest(self, repository: str, reference: str) -> str:
        """The manifest digest of a tag or digest, by HEAD (free on Docker Hub); GET if the header is missing."""
        response = self._call(
            "HEAD",
            _manifest_path(repository, reference),
            scope=_pull_scope(repository),
            headers={"Accept": MANIFEST_ACCEPT},
            what=f"manifest {repository}:{reference}",
        )
        header = response.headers.get("Docker-Content-Digest", "").strip()
        if not header:
            return self.get_manifest(repository, reference).digest
        return self._checked_digest(header)

    def get_manifest(self, repository: str, reference: str) -> Manifest:
        """GET a manifest or index; its digest is computed from the body and checked against the registry's."""
        response = self._call(
            "GET",
            _manifest_path(repository, reference),
            scope=_pull_scope(repository),
            headers={"Accept": MANIFEST_ACCEPT},
            what=f"manifest {repository}:{reference}",
        )
        # A digest reference is what the body must hash to; for a tag, the registry's header is.
        expected = reference if ":" in reference else response.headers.get("Docker-Content-Digest", "").strip()
        digest = self._verified_digest(response.body, expected, f"manifest {repository}:{reference}")
        body = self._json_object(response.body, "manifest")
        return Manifest(_media_type(body, response.headers), digest, body, response.body)

    def get_blob(self, repository: str, digest: str, *, max_size: int = MAX_BODY) -> bytes:
        """GET a (small) blob such as an image config; redirects to storage get no Authorization header."""
        _checked_argument(validate_digest, digest)
        response = self._call(
            "GET",
            f"/v2/{repository}/blobs/{digest}",
            scope=_pull_scope(repository),
            max_body=max_size,
            what=f"blob {repository}@{digest}",
        )
        self._verified_digest(response.body, digest, f"blob {repository}@{digest}")
        return response.body

    def image_created(self, repository: str, reference: str, *, platform: str = "linux/amd64") -> datetime | None:
        """The `created` time from the image config; for an index, of the `platform` entry.

        None when the index has no such platform or the config has no usable `created`.
        """
        manifest = self.get_manifest(repository, reference)
        for _ in range(2):  # an index may (rarely) point at another index
            if not manifest.is_index:
                break
            descriptor = select_platform(manifest.body, platform)
            if descriptor is None:
                return None
            manifest = self.get_manifest(repository, self._checked_digest(descriptor["digest"]))
        config = manifest.body.get("config")
        if manifest.is_index or not isinstance(config, dict) or not isinstance(config.get("digest"), str):
            return None
        blob = self.get_blob(repository, self._checked_digest(config["digest"]))
        return parse_created(self._json_object(blob, "image config").get("created"))

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- one logical call: auth, then status mapping -------------------------------------------

    def _call(
        self,
        method: str,
        target: str,
        *,
        scope: str,
        what: str,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        max_body: int = MAX_BODY,
    ) -> _Response:
        """Send with whatever auth is known; on 401 learn the challenge, authenticate once, resend."""
        auth = self._auth_header(scope)
        response = self._send(method, target, params=params, headers=headers, auth=auth, max_body=max_body)
        if response.status == 401:
            auth = self._answer_challenge(response, scope, sent=auth)
            response = self._send(method, target, params=params, headers=headers, auth=auth, max_body=max_body)
        self._raise_for_status(response, what)
        return response

    def _auth_header(self, scope: str) -> str | None:
        challenge = self._challenge
        if challenge is None:
            return None  # first contact: anonymous, and the 401 tells us how to authenticate
        if challenge.scheme == "basic":
            return self._basic_header()
        token = self._tokens.get(scope)
        if token is None or token.expires_at <= time.monotonic():
            token = self._tokens[scope] = self._fetch_token(challenge, scope)
        return f"Bearer {token.value}"

    def _answer_challenge(self, response: _Response, scope: str, *, sent: str | None) -> str:
        challenge = pick_challenge(response.headers.get("WWW-Authenticate", ""))
        if challenge is None:
            raise RegistryAuthError(f"authentication failed for {self.host}: no usable challenge", host=self.host)
        self._challenge = challenge
        if challenge.scheme == "basic":
            if not self._has_credentials or (sent or "").startswith("Basic "):
                raise self._auth_error(401)
            return self._basic_header() or ""
        # The challenge's scope is what the registry wants; cache the token under the scope we look up by.
        self._tokens[scope] = self._fetch_token(challenge, challenge.scope or scope)
        return f"Bearer {self._tokens[scope].value}"

    def _fetch_token(self, challenge: Challenge, scope: str) -> _Token:
        params = {"service": challenge.service} if challenge.service else {}
        if scope:
            params["scope"] = scope
        response = self._send("GET", challenge.realm, params=params, auth=self._basic_header(), max_body=1 << 20)
        if response.status in (401, 403):
            raise self._auth_error(response.status)
        self._raise_for_status(response, "token")
        body = self._json_object(response.body, "token response")
        value = body.get("token") or body.get("access_token")
        if not isinstance(value, str) or not value:
            raise RegistryProtocolError(f"{self.host}: token response holds no token", host=self.host)
        lifetime = body.get("expires_in")
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
            lifetime = DEFAULT_TOKEN_LIFETIME
        # Renew a little early so a token does not expire between our check and the registry's.
        return _Token(value, time.monotonic() + lifetime * 0.9)

    @property
    def _has_credentials(self) -> bool:
        return bool(self.username or self._password)

    def _basic_header(self) -> str | None:
        if not self._has_credentials:
            return None
        return "Basic " + base64.b64encode(f"{self.username}:{self._password}".encode()).decode()

    def _auth_error(self, status: int) -> RegistryAuthError:
        who = f"user {self.username!r}" if self._has_credentials else "anonymous access"
        return RegistryAuthError(f"authentication failed for {self.host} ({who})", host=self.host, status=status)

    def _raise_for_status(self, response: _Response, what: str) -> None:
        status = response.status
        if 200 <= status < 300:
            return
        code, detail = self._error_detail(response.body)
        suffix = f": {detail}" if detail else ""
        if status in (401, 403):
            raise RegistryAuthError(f"{self._auth_error(status)}{suffix}", host=self.host, status=status, code=code)
        if status == 404 or code in NOT_FOUND_CODES:
            raise RegistryNotFound(f"{what} not found on {self.host}{suffix}", host=self.host, status=status, code=code)
        tries = f" after {response.attempts} attempts" if response.attempts > 1 else ""
        if status == 429:
            raise RegistryRateLimited(
                f"{self.host} rate-limited the request for {what}{tries}",
                host=self.host,
                retry_after=parse_retry_after(response.headers.get("Retry-After", "")),
            )
        if status >= 500:
            raise RegistryUnavailable(
                f"{self.host} answered HTTP {status} for {what}{tries}", host=self.host, status=status
            )
        raise RegistryError(
            f"{self.host} answered HTTP {status} for {what}{suffix}", host=self.host, status=status, code=code
        )

    # --- transport: retries, scheme probe, redirects ---------------------------------------------

    def _send(
        self,
        method: str,
        target: str,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        auth: str | None,
        max_body: int,
    ) -> _Response:
        """Send, retrying 429/5xx and connection errors with jittered backoff or the server's Retry-After."""
        for attempt in range(self.retries + 1):
            delay: float | None = None
            try:
                response = self._send_once(method, target, params, headers or {}, auth, max_body)
            except requests.exceptions.SSLError as exc:  # a certificate problem does not heal by retrying
                raise RegistryUnavailable(f"TLS error talking to {self.host}: {_reason(exc)}", host=self.host) from None
            except _TRANSIENT_ERRORS as exc:
                if attempt == self.retries:
                    raise RegistryUnavailable(
                        f"{self.host} unreachable after {attempt + 1} attempts: {_reason(exc)}", host=self.host
                    ) from None
            except requests.RequestException as exc:  # an unusable URL or header, say in a redirect
                raise RegistryProtocolError(f"{self.host}: {type(exc).__name__}", host=self.host) from None
            else:
                if not _retryable(response.status) or attempt == self.retries:
                    return _with_attempts(response, attempt + 1)
                delay = parse_retry_after(response.headers.get("Retry-After", ""))
                if delay is not None and delay > self.max_retry_after:
                    self._give_up_waiting(response, delay)
            time.sleep(self._backoff_delay(attempt) if delay is None else delay)
        raise AssertionError("unreachable")  # the loop always returns or raises on its last attempt

    def _give_up_waiting(self, response: _Response, delay: float) -> NoReturn:
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
    ) -> _Response:
        if not target.startswith("/"):
            return self._follow(method, target, params, headers, auth, max_body)
        if self._scheme is not None:
            return self._follow(method, f"{self._scheme}://{self.host}{target}", params, headers, auth, max_body)
        try:
            response = self._follow(method, f"https://{self.host}{target}", params, headers, auth, max_body)
        except (requests.ConnectionError, requests.Timeout) as exc:  # incl. SSLError: plain HTTP answering TLS
            logger.debug("https to %s failed (%s), trying plain http", self.host, _reason(exc))
            response = self._follow(method, f"http://{self.host}{target}", params, headers, auth, max_body)
            self._scheme = "http"
        else:
            self._scheme = "https"
        return response

    def _follow(
        self,
        method: str,
        url: str,
        params: dict[str, str] | None,
        headers: dict[str, str],
        auth: str | None,
        max_body: int,
    ) -> _Response:
        """One request plus its redirects; Authorization only ever goes to the origin it was meant for."""
        origin = _origin(url)
        for _ in range(MAX_REDIRECTS + 1):
            response = self._request(method, url, params, headers, auth if _origin(url) == origin else None)
            with response:
                # Without the query: pre-signed storage URLs carry their signature there.
                logger.debug("%s %s -> %s", method, response.url.split("?")[0], response.status_code)
                if response.is_redirect:
                    url, params = self._join(response.url, response.headers["Location"]), None
                    method = "GET" if response.status_code == 303 and method != "HEAD" else method
                    continue
                body = b"" if method == "HEAD" else self._read_body(response, max_body)
                return _Response(response.status_code, response.headers, body, response.url)
        raise RegistryProtocolError(f"{self.host}: more than {MAX_REDIRECTS} redirects", host=self.host)

    def _request(
        self, method: str, url: str, params: dict[str, str] | None, headers: dict[str, str], auth: str | None
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
                auth=_HeaderAuth(auth),
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
                verify=not self.insecure,
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

    # --- parsing helpers that need the host (for messages) or secrets (for redaction) ------------

    def _join(self, base: str, reference: str) -> str:
        """Resolve a Link or Location against the URL it came with; a malformed one is a protocol error."""
        try:
            url = urljoin(base, reference)
            urlsplit(url).port  # noqa: B018 - raises ValueError on a bad port or IPv6 literal
        except ValueError:
            raise RegistryProtocolError(f"{self.host}: malformed URL {reference[:80]!r}", host=self.host) from None
        return url

    def _same_origin(self, url: str) -> str:
        if self._scheme is None or _origin(url) != _origin(f"{self._scheme}://{self.host}/"):
            raise RegistryProtocolError(f"{self.host}: refusing cross-origin pagination link", host=self.host)
        return url

    def _tags_page(self, response: _Response) -> list[str]:
        tags = self._json_object(response.body, "tag list").get("tags")
        if tags is None:  # distribution answers `"tags": null` for a repository whose tags were all deleted
            return []
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise RegistryProtocolError(f"{self.host}: tag list is not a list of strings", host=self.host)
        return tags

    def _json_object(self, raw: bytes, what: str) -> dict[str, Any]:
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise RegistryProtocolError(f"{self.host}: {what} is not valid JSON", host=self.host) from None
        if not isinstance(value, dict):
            raise RegistryProtocolError(f"{self.host}: {what} is not a JSON object", host=self.host)
        return value

    def _checked_digest(self, digest: str) -> str:
        try:
            return validate_digest(digest)
        except InvalidReference:
            raise RegistryProtocolError(f"{self.host}: malformed digest {digest[:80]!r}", host=self.host) from None

    def _verified_digest(self, raw: bytes, expected: str, what: str) -> str:
        algorithm = expected.partition(":")[0]
        if algorithm not in ("sha256", "sha512"):  # nothing to compare with, or an algorithm we cannot compute
            algorithm, expected = "sha256", ""
        digest = f"{algorithm}:{hashlib.new(algorithm, raw).hexdigest()}"
        if expected and expected != digest:
            raise RegistryProtocolError(
                f"{self.host}: {what} does not match its digest {expected[:80]}", host=self.host
            )
        return digest

    def _error_detail(self, body: bytes) -> tuple[str, str]:
        """The first `errors[]` entry of a Distribution error body as (code, safe short text)."""
        try:
            first = json.loads(body)["errors"][0]
            code, message = str(first.get("code", "")), str(first.get("message", ""))
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            return "", ""
        return code, self._redact(f"{code} {message}".strip())

    def _redact(self, text: str) -> str:
        """Without our secrets even if a registry echoes them back; then short and printable."""
        basic = (self._basic_header() or "").removeprefix("Basic ")
        for secret in (self._password, basic, *(token.value for token in self._tokens.values())):
            if secret:
                text = text.replace(secret, "***")
        return re.sub(r"[^\x20-\x7e]", "?", text)[:200]


# --- pure helpers ---------------------------------------------------------------------------------


def _checked_argument(validate: Callable[[str], str], value: str) -> str:
    """Arguments pass the reference grammar before they reach a URL (`../`, `?`, newlines never do)."""
    try:
        return validate(value)
    except InvalidReference as exc:
        raise RegistryInvalidReference(str(exc)) from None


def _pull_scope(repository: str) -> str:
    return f"repository:{_checked_argument(validate_repository, repository)}:pull"


def _manifest_path(repository: str, reference: str) -> str:
    checked = _checked_argument(validate_digest if ":" in reference else validate_tag, reference)
    return f"/v2/{_checked_argument(validate_repository, repository)}/manifests/{checked}"


def _retryable(status: int) -> bool:
    return status == 429 or (status >= 500 and status not in (501, 505))


def _with_attempts(response: _Response, attempts: int) -> _Response:
    return replace(response, attempts=attempts)


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


_CHALLENGE_PART = re.compile(
    r'\s*(?:(?P<key>[A-Za-z0-9_.~+/-]+)\s*=\s*(?P<value>"(?:[^"\\]|\\.)*"|[^,\s]*)|(?P<scheme>[A-Za-z0-9_.~+/-]+))\s*,?'
)


def parse_challenges(header: str) -> list[Challenge]:
    """Parse `WWW-Authenticate`, which may hold several challenges (`Bearer realm=…, Basic realm=…`)."""
    challenges: list[tuple[str, dict[str, str]]] = []
    for match in _CHALLENGE_PART.finditer(header):
        if match.group("scheme"):
            challenges.append((match.group("scheme").lower(), {}))
        elif match.group("key") and challenges:
            value = match.group("value")
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            challenges[-1][1][match.group("key").lower()] = value
    return [
        Challenge(scheme, params.get("realm", ""), params.get("service", ""), params.get("scope", ""))
        for scheme, params in challenges
    ]


def pick_challenge(header: str) -> Challenge | None:
    """Bearer with a URL realm if offered; else Basic (a Bearer realm that is no URL means Basic, as for ECR)."""
    challenges = parse_challenges(header)
    for challenge in challenges:
        if challenge.scheme == "bearer" and urlsplit(challenge.realm).scheme in ("http", "https"):
            return challenge
    if any(challenge.scheme in ("basic", "bearer") for challenge in challenges):
        return Challenge("basic")
    return None


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


def next_link(header: str) -> str | None:
    """The target of the `rel="next"` entry of an RFC 8288 `Link` header."""
    for match in re.finditer(r"<([^>]*)>([^,<]*)", header):
        for param in match.group(2).split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "rel" and "next" in value.strip().strip('"').lower().split():
                return match.group(1)
    return None


def _media_type(body: dict[str, Any], headers: CaseInsensitiveDict[str]) -> str:
    """`mediaType` from the body, else Content-Type, else inferred (OCI allows omitting `mediaType`)."""
    declared = body.get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    content_type = headers.get("Content-Type", "").split(";")[0].strip()
    if content_type in (OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST):
        return content_type
    return OCI_INDEX if "manifests" in body else OCI_MANIFEST


def select_platform(index: dict[str, Any], platform: str) -> dict[str, Any] | None:
    """The first index entry for `os/arch[/variant]`; without a variant any variant matches."""
    os_name, _, rest = platform.partition("/")
    arch, _, variant = rest.partition("/")
    for entry in index.get("manifests") or []:
        spec = entry.get("platform") if isinstance(entry, dict) else None
        if not isinstance(spec, dict) or not isinstance(entry.get("digest"), str):
            continue
        same_os_arch = spec.get("os") == os_name and spec.get("architecture") == arch
        if same_os_arch and (not variant or spec.get("variant") == variant):
            return entry
    return None


def parse_created(value: object) -> datetime | None:
    """An RFC 3339 `created` (Go writes nanoseconds, Python reads microseconds) as an aware datetime."""
    if not isinstance(value, str):
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip()).replace("Z", "+00:00").replace("z", "+00:00")
    try:
        created = datetime.fromisoformat(text)
    except ValueError:
        return None
    return created if created.tzinfo else created.replace(tzinfo=UTC)

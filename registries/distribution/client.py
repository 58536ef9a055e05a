"""`RegistryClient`: the registry operations the updater needs, on top of transport and auth.

A client is not thread-safe: use one per thread (they are cheap; the token cache lives in the client).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

import requests
from django.conf import settings

from registries.distribution.auth import CredentialSource, RegistryAuth
from registries.distribution.errors import RegistryError, RegistryInvalidReference, RegistryProtocolError, json_object
from registries.distribution.manifests import (
    MANIFEST_ACCEPT,
    Manifest,
    checked_digest,
    media_type,
    parse_created,
    select_platform,
    verified_digest,
)
from registries.distribution.transport import MAX_BODY, Response, Transport
from registries.reference import (
    InvalidReference,
    validate_digest,
    validate_registry_host,
    validate_repository,
    validate_tag,
)

TAGS_PAGE_SIZE = 1000  # distribution 3.1 answers 400 PAGINATION_NUMBER_INVALID above its default maxtags, 1000
MAX_PAGES = 10_000


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
        ca_file: str | None = None,
        credentials: CredentialSource | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        session: requests.Session | None = None,
        backoff: float = 0.5,
        max_retry_after: float = 60.0,
    ) -> None:
        self.host = validate_registry_host(host)
        self.insecure = insecure
        self._transport = Transport(
            self.host,
            insecure=insecure,
            ca_file=ca_file,
            timeout=settings.REGISTRY_TIMEOUT if timeout is None else timeout,
            retries=settings.REGISTRY_RETRIES if retries is None else retries,
            backoff=backoff,
            max_retry_after=max_retry_after,
            session=session,
        )
        self._auth = RegistryAuth(self._transport, username=username, password=password, source=credentials)
        self.username = self._auth.username

    def __repr__(self) -> str:
        return f"<RegistryClient {self.host} user={self.username or '-'}>"

    @property
    def timeout(self) -> float:
        return self._transport.timeout

    @property
    def retries(self) -> int:
        return self._transport.retries

    @property
    def rate_limit(self) -> tuple[int, int | None, int | None] | None:
        """(remaining, limit, window s) from the last answer with RateLimit headers (Docker Hub's pull quota)."""
        return self._transport.rate_limit

    @property
    def request_count(self) -> int:
        return self._transport.request_count

    @request_count.setter
    def request_count(self, value: int) -> None:
        self._transport.request_count = value

    # --- public API -----------------------------------------------------------------------------

    def ping(self) -> None:
        """Check that the host speaks the Distribution API and that the credentials are accepted."""
        self._call("GET", "/v2/", scope="", what="API root")

    def list_tags(self, repository: str, *, on_page: Callable[[dict], None] | None = None) -> list[str]:
        """All tags of a repository, following pagination; in registry order, unvalidated.

        `on_page` sees each page's whole JSON object (GCR adds a `manifest` map with upload times).
        """
        scope = _pull_scope(repository)
        path = f"/v2/{repository}/tags/list"
        target, params = path, {"n": str(self.page_size)}
        tags: list[str] = []
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            response = self._tags_call(target, params, scope, repository)
            page = self._tags_page(response, on_page)
            new = [tag for tag in page if tag not in seen]
            seen.update(new)
            tags.extend(new)
            link = next_link(response.headers.get("Link", ""))
            if not new:  # distribution 2.8 ignores `last` and repeats itself; a looping Link does the same
                return tags
            if link:
                target, params = self._transport.same_origin(self._transport.join(response.url, link)), None
            elif len(page) == self.page_size:  # a full page and no Link: ask for the next one with `last`
                target, params = path, {"n": str(self.page_size), "last": page[-1]}
            else:  # a short page, or more than `n` tags because the registry ignores `n`: that was all
                return tags
        raise RegistryProtocolError(f"{self.host}: more than {MAX_PAGES} pages of tags for {repository}")

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
        return checked_digest(header, host=self.host)

    def get_manifest(self, repository: str, reference: str) -> Manifest:
        """GET a manifest or index; its digest is computed from the body and checked against the registry's."""
        what = f"manifest {repository}:{reference}"
        response = self._call(
            "GET",
            _manifest_path(repository, reference),
            scope=_pull_scope(repository),
            headers={"Accept": MANIFEST_ACCEPT},
            what=what,
        )
        # A digest reference is what the body must hash to; for a tag, the registry's header is.
        expected = reference if ":" in reference else response.headers.get("Docker-Content-Digest", "").strip()
        digest = verified_digest(response.body, expected, what, host=self.host)
        body = json_object(response.body, "manifest", host=self.host)
        return Manifest(media_type(body, response.headers), digest, body, response.body)

    def get_blob(self, repository: str, digest: str, *, max_size: int = MAX_BODY) -> bytes:
        """GET a (small) blob such as an image config; redirects to storage get no Authorization header."""
        _checked_argument(validate_digest, digest)
        what = f"blob {repository}@{digest}"
        response = self._call(
            "GET", f"/v2/{repository}/blobs/{digest}", scope=_pull_scope(repository), max_body=max_size, what=what
        )
        verified_digest(response.body, digest, what, host=self.host)
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
            manifest = self.get_manifest(repository, checked_digest(descriptor["digest"], host=self.host))
        config = manifest.body.get("config")
        if manifest.is_index or not isinstance(config, dict) or not isinstance(config.get("digest"), str):
            return None
        blob = self.get_blob(repository, checked_digest(config["digest"], host=self.host))
        return parse_created(json_object(blob, "image config", host=self.host).get("created"))

    def close(self) -> None:
        self._transport.close()

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
    ) -> Response:
        """Send with whatever auth is known; on 401 learn the challenge, authenticate once, resend."""
        auth = self._auth.header_for(scope)
        send = self._transport.send
        response = send(method, target, params=params, headers=headers, auth=auth, max_body=max_body)
        # At most twice: learn the challenge; then, for Basic, renew provider-issued credentials once.
        for attempt in range(2):
            if response.status != 401 or (attempt and not (auth or "").startswith("Basic ")):
                break
            retry = self._auth.answer_challenge(response, scope, sent=auth)
            if retry == auth:
                break
            auth = retry
            response = send(method, target, params=params, headers=headers, auth=auth, max_body=max_body)
        self._auth.raise_for_status(response, what)
        return response

    def _tags_call(self, target: str, params: dict[str, str] | None, scope: str, repository: str) -> Response:
        what = f"tags of {repository}"
        try:
            return self._call("GET", target, scope=scope, params=params, what=what)
        except RegistryError as exc:
            if exc.code != "PAGINATION_NUMBER_INVALID" or not params or "last" in params:
                raise
        # distribution 3.1 configured with tags.maxtags below our `n`: without `n` it sends everything.
        return self._call("GET", target, scope=scope, what=what)

    def _tags_page(self, response: Response, on_page: Callable[[dict], None] | None = None) -> list[str]:
        body = json_object(response.body, "tag list", host=self.host)
        if on_page is not None:
            on_page(body)
        tags = body.get("tags")
        if tags is None:  # distribution answers `"tags": null` for a repository whose tags were all deleted
            return []
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise RegistryProtocolError(f"{self.host}: tag list is not a list of strings", host=self.host)
        return tags


def next_link(header: str) -> str | None:
    """The target of the `rel="next"` entry of an RFC 8288 `Link` header."""
    for match in re.finditer(r"<([^>]*)>([^,<]*)", header):
        for param in match.group(2).split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "rel" and "next" in value.strip().strip('"').lower().split():
                return match.group(1)
    return None


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

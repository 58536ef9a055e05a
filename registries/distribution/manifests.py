"""Manifests and indexes: media types, digest checks, platform selection and the config's `created` time."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from requests.structures import CaseInsensitiveDict

from registries.distribution.errors import RegistryProtocolError
from registries.reference import InvalidReference, validate_digest

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
# All four, always: without the OCI types distribution 2.8/3.0 answer MANIFEST_UNKNOWN for OCI images, and
# without the list type they rewrite a Docker list to one platform's manifest (a different digest).
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST))
INDEX_MEDIA_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})


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


def media_type(body: dict[str, Any], headers: CaseInsensitiveDict[str]) -> str:
    """`mediaType` from the body, else Content-Type, else inferred (OCI allows omitting `mediaType`)."""
    declared = body.get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    content_type = headers.get("Content-Type", "").split(";")[0].strip()
    if content_type in (OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST):
        return content_type
    return OCI_INDEX if "manifests" in body else OCI_MANIFEST


def checked_digest(digest: str, *, host: str) -> str:
    """A digest the registry sent (header, descriptor), if well-formed; else a protocol error."""
    try:
        return validate_digest(digest)
    except InvalidReference:
        raise RegistryProtocolError(f"{host}: malformed digest {digest[:80]!r}", host=host) from None


def verified_digest(raw: bytes, expected: str, what: str, *, host: str) -> str:
    """The digest of `raw`, which must equal `expected` when that names an algorithm we can compute."""
    algorithm = expected.partition(":")[0]
    if algorithm not in ("sha256", "sha512"):  # nothing to compare with, or an algorithm we cannot compute
        algorithm, expected = "sha256", ""
    digest = f"{algorithm}:{hashlib.new(algorithm, raw).hexdigest()}"
    if expected and expected != digest:
        raise RegistryProtocolError(f"{host}: {what} does not match its digest {expected[:80]}", host=host)
    return digest


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

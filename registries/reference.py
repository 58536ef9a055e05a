"""Image references: parsing, Docker's normalisation and the OCI grammar.

This module is the gate before anything reaches a command line or a registry URL: a string that does not
match the grammar of distribution's `reference` package raises `InvalidReference`.

    reference  := name [ ":" tag ] [ "@" digest ]
    name       := [ domain "/" ] path-component [ "/" path-component ]*
    domain     := host [ ":" port ]
    tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
    digest     := algorithm ":" hex
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

DOCKER_HUB = "docker.io"
DOCKER_HUB_API_HOST = "registry-1.docker.io"
# Names Docker treats as Docker Hub: references normalise them to DOCKER_HUB.
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
# `\Z`, not `$`: in Python `$` also matches before a trailing newline, so "latest\n" would pass.
_DOMAIN_RE = re.compile(rf"^{_HOST}(?::[0-9]+)?\Z")
_PATH_COMPONENT_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z")
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}\Z")
_SHA256_RE = re.compile(r"^sha256:[a-f0-9]{64}\Z")
NAME_MAX_LENGTH = 255


class InvalidReference(ValueError):
    """A string is not a valid image reference, tag, digest or registry host."""


def validate_tag(tag: str) -> str:
    """Return `tag` if it matches the OCI tag grammar, else raise `InvalidReference`."""
    if not isinstance(tag, str) or not TAG_RE.match(tag):
        raise InvalidReference(f"invalid tag {tag!r}: must match [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}")
    return tag


def validate_digest(digest: str) -> str:
    if not isinstance(digest, str) or not _DIGEST_RE.match(digest):
        raise InvalidReference(f"invalid digest {digest!r}")
    if digest.startswith("sha256:") and not _SHA256_RE.match(digest):
        raise InvalidReference(f"invalid sha256 digest {digest!r}: needs 64 lowercase hex characters")
    return digest


def validate_repository(path: str) -> str:
    """Return a repository path (`library/nginx`, `team/app`) if every component matches the grammar.

    The registry client calls this before a path goes into a URL, so `../` or `?` never reach one.
    """
    if not isinstance(path, str) or not path or len(path) > NAME_MAX_LENGTH:
        raise InvalidReference(f"invalid repository {path!r}")
    for component in path.split("/"):
        if not _PATH_COMPONENT_RE.match(component):
            raise InvalidReference(
                f"repository component {component!r} must be "
                "lower-case letters and digits separated by '.', '_', '__' or '-'"
            )
    return path


def validate_registry_host(host: str) -> str:
    if not isinstance(host, str) or not _DOMAIN_RE.match(host):
        raise InvalidReference(f"invalid registry host {host!r}")
    return host


def _looks_like_domain(component: str) -> bool:
    # Docker's rule: the first component is a registry if it has a dot or a port, is "localhost",
    # or has an upper-case letter (repository paths are lower-case only).
    return "." in component or ":" in component or component == "localhost" or component.lower() != component


@dataclass(frozen=True)
class ImageReference:
    """A parsed, normalised image reference (`docker.io/library/nginx:1.25` for `nginx:1.25`)."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """Registry and repository: the key one tag list is shared under."""
        return f"{self.registry}/{self.repository}"

    @property
    def api_host(self) -> str:
        """The host that serves the Distribution API (Docker Hub's differs from its name)."""
        return DOCKER_HUB_API_HOST if self.registry == DOCKER_HUB else self.registry

    @property
    def is_docker_hub(self) -> bool:
        return self.registry == DOCKER_HUB

    def with_tag(self, tag: str) -> ImageReference:
        return replace(self, tag=validate_tag(tag), digest=None)

    def with_digest(self, digest: str) -> ImageReference:
        return replace(self, digest=validate_digest(digest))

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str, *, default_tag: str | None = "latest") -> ImageReference:
    """Parse and normalise an image reference; raise `InvalidReference` with the reason.

    `nginx` → `docker.io/library/nginx:latest`; `localhost:5000/app:1.0` keeps its port;
    `app@sha256:…` keeps the digest and gets no default tag.
    """
    if not isinstance(text, str) or not text or text != text.strip():
        raise InvalidReference(f"invalid image reference {text!r}")
    remainder, digest = text, None
    if "@" in remainder:
        remainder, digest = remainder.split("@", 1)
        validate_digest(digest)
    tag = None
    last_slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > last_slash:
        remainder, tag = remainder[:colon], remainder[colon + 1 :]
        validate_tag(tag)
    if not remainder:
        raise InvalidReference(f"invalid image reference {text!r}: empty name")
    if len(remainder) > NAME_MAX_LENGTH:
        raise InvalidReference(f"invalid image reference {text!r}: name longer than {NAME_MAX_LENGTH}")

    first, _, rest = remainder.partition("/")
    if rest and _looks_like_domain(first):
        registry, path = first, rest
        validate_registry_host(registry)
    else:
        registry, path = DOCKER_HUB, remainder
    if registry in DOCKER_HUB_ALIASES:
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    try:
        validate_repository(path)
    except InvalidReference as exc:
        raise InvalidReference(f"invalid image reference {text!r}: {exc}") from None
    if tag is None and digest is None:
        tag = default_tag
    return ImageReference(registry=registry, repository=path, tag=tag, digest=digest)

"""`registry_test_connection`: what works and exactly what fails for one registry (admin action, `registry_test`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from registries.client import RegistryClient
from registries.configs import provider_for_host
from registries.distribution.errors import (
    RegistryBadCredentials,
    RegistryConnectTimeout,
    RegistryDNSError,
    RegistryError,
    RegistryNotFound,
    RegistryPermissionDenied,
    RegistryRateLimited,
    RegistryTLSError,
    RegistryTokenExpired,
    rate_limit_text,
)
from registries.providers import Provider, ProviderCredentials, TagListing, cached, forget_all
from registries.reference import DOCKER_HUB_ALIASES, InvalidReference, validate_registry_host, validate_repository
from registries.secrets import CredentialError
from registries.services import client_for_provider, repository_tags

# What failed, in the words the issue and the README use.
FAILURE_KINDS: list[tuple[type[Exception], str]] = [
    (RegistryDNSError, "DNS"),
    (RegistryTLSError, "TLS"),
    (RegistryConnectTimeout, "connect timeout"),
    (RegistryTokenExpired, "token expired"),
    (RegistryBadCredentials, "401 bad credentials"),
    (RegistryPermissionDenied, "403 missing permission"),
    (RegistryNotFound, "repository not found"),
    (RegistryRateLimited, "rate limited"),
    (CredentialError, "stored secret unusable"),
    (InvalidReference, "invalid name"),
    (RegistryError, "registry error"),
]
DOCKER_HUB_QUOTA_PROBE = ("ratelimitpreview/test", "latest")  # Docker's documented quota probe; HEAD is free


@dataclass
class Step:
    name: str
    ok: bool
    detail: str
    kind: str = ""  # for a failure: DNS, TLS, 401 bad credentials, ...

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        kind = f"[{self.kind}] " if self.kind else ""
        return f"{mark} {self.name}: {kind}{self.detail}"


@dataclass
class ConnectionReport:
    host: str
    provider: str
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)

    def lines(self) -> list[str]:
        return [f"{self.host} ({self.provider})", *(f"  {step.line()}" for step in self.steps)]

    def run(self, name: str, action: Callable[[], str]) -> bool:
        """Record one step: its success detail, or the named failure; True if it worked."""
        try:
            self.steps.append(Step(name, True, action()))
            return True
        except (RegistryError, CredentialError, InvalidReference) as exc:
            self.steps.append(Step(name, False, str(exc), failure_kind(exc)))
            return False


def failure_kind(exc: Exception) -> str:
    return next(kind for cls, kind in FAILURE_KINDS if isinstance(exc, cls))


def registry_test_connection(host: str, repository: str = "", *, timeout: float = 10.0) -> ConnectionReport:
    """Check a registry step by step: credentials, the API, and (with `repository`) its tags and a manifest."""
    forget_all()  # test what is stored now, not what an earlier call cached
    report = ConnectionReport(host=host, provider="?")
    try:
        validate_registry_host(host)
        if repository:
            validate_repository(repository)
        provider, row = provider_for_host(host)
    except (CredentialError, InvalidReference) as exc:
        report.steps.append(Step("configuration", False, str(exc), failure_kind(exc)))
        return report
    report.provider = provider.label
    source = (
        "stored registry"
        if row
        else "no stored registry: anonymous" + (" (AWS default credential chain)" if provider.name == "ecr" else "")
    )
    report.steps.append(Step("configuration", True, f"{source}, API at {provider.api_host}"))
    if provider.has_credentials and not report.run("credentials", lambda: _credentials(provider)):
        return report
    client = client_for_provider(provider, api_host=(row.endpoint if row else "") or None, timeout=timeout, retries=0)
    with client:
        if not report.run("registry API", lambda: _ping(client)):
            return report
        if repository:
            listing: list[TagListing] = []
            if report.run("tags", lambda: _tags(host, repository, client, listing)) and listing[0].tags:
                tag = _newest(listing[0])
                report.run("manifest", lambda: _manifest(client, repository, tag))
        elif host in DOCKER_HUB_ALIASES:
            report.run("pull quota", lambda: _manifest(client, *DOCKER_HUB_QUOTA_PROBE))
    provider.close()
    return report


def _credentials(provider: Provider) -> str:
    issued = cached(f"registry:{provider.config.fingerprint}", provider.fetch_credentials)
    ProviderCredentials(provider).credentials()  # registers the issued secret for redaction
    if issued is None:
        return "anonymous"
    if issued.expires_at is None:
        return f"stored credentials for {provider.display_user or 'the registry'}"
    until = datetime.fromtimestamp(issued.expires_at, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"issued for {provider.display_user or 'the registry'}, valid until {until}"


def _ping(client: RegistryClient) -> str:
    client.ping()
    return f"{client.host} answers and accepts the credentials"


def _tags(host: str, repository: str, client: RegistryClient, out: list[TagListing]) -> str:
    listing = repository_tags(host, repository, client=client)
    out.append(listing)
    timed = sum(1 for tag in listing.tags if listing.push_times.get(tag))
    times = f", {timed} with push times" if timed else ""
    return f"{len(listing.tags)} tags of {repository} from the {listing.source}{times}"


def _newest(listing: TagListing) -> str:
    """The most recently pushed tag, else `latest`, else the last listed."""
    timed = [(when, tag) for tag, when in listing.push_times.items() if when]
    if timed:
        return max(timed)[1]
    return "latest" if "latest" in listing.tags else listing.tags[-1]


def _manifest(client: RegistryClient, repository: str, tag: str) -> str:
    digest = client.head_digest(repository, tag)
    quota = rate_limit_text(_quota_headers(client))
    return f"{repository}:{tag} is {digest}{quota}"


def _quota_headers(client: RegistryClient) -> dict[str, str]:
    if client.rate_limit is None:
        return {}
    remaining, limit, window = client.rate_limit
    suffix = f";w={window}" if window else ""
    headers = {"RateLimit-Remaining": f"{remaining}{suffix}"}
    if limit is not None:
        headers["RateLimit-Limit"] = f"{limit}{suffix}"
    return headers

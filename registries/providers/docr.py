"""DigitalOcean Container Registry: a DigitalOcean API token (read scope for registries is enough).

The token is the `docker login` password on `registry.digitalocean.com` (and the user name: DOCR does not check
it, and `doctl` writes the token there too). Push times and digests come from the DigitalOcean API
(`/v2/registry/{registry}/repositories/{repo}/tags`: `updated_at`, `manifest_digest`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from registries.distribution.errors import RegistryBadCredentials, RegistryProtocolError
from registries.providers.base import Credentials, Provider, TagListing, parse_time

if TYPE_CHECKING:
    from registries.distribution.client import RegistryClient

DO_API = "https://api.digitalocean.com"
PAGE = 200  # the API's maximum
MAX_PAGES = 50


class DocrProvider(Provider):
    name = "docr"
    label = "DigitalOcean DOCR"
    credential_help = "DigitalOcean API token"
    refused_hint = "the API token is wrong, revoked or expired (doctl's registry tokens last 30 days by default)"

    @property
    def display_user(self) -> str:
        return "DigitalOcean API token" if self.config.secret else ""

    @property
    def has_credentials(self) -> bool:
        return bool(self.config.secret)

    def fetch_credentials(self) -> Credentials | None:
        if not self.config.secret:
            return None
        return Credentials(self.config.username or self.config.secret, self.config.secret)

    def list_tags_with_times(self, repository: str, client: RegistryClient) -> TagListing | None:
        if not self.config.secret:
            return None  # the DigitalOcean API has no anonymous access
        registry, _, repo = repository.partition("/")
        api = self.config.option("api_url", DO_API).rstrip("/")
        url = f"{api}/v2/registry/{quote(registry, safe='')}/repositories/{quote(repo, safe='')}/tags"
        listing = TagListing(tags=[], source="DigitalOcean API")
        for page in range(1, MAX_PAGES + 1):
            body, _ = self.call_api(
                "GET",
                url,
                params={"per_page": str(PAGE), "page": str(page)},
                auth=f"Bearer {self.config.secret}",
                what=f"DigitalOcean tags of {repository}",
            )
            items = body.get("tags") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise RegistryProtocolError("DigitalOcean API: answer without tags", host=self.config.host)
            for item in items:
                if isinstance(item, dict) and isinstance(item.get("tag"), str):
                    listing.tags.append(item["tag"])
                    listing.push_times[item["tag"]] = parse_time(item.get("updated_at"))
                    if isinstance(item.get("manifest_digest"), str):
                        listing.digests[item["tag"]] = item["manifest_digest"]
            links = body.get("links", {}) if isinstance(body, dict) else {}
            pages = links.get("pages", {}) if isinstance(links, dict) else {}
            if not items or not (isinstance(pages, dict) and pages.get("next")):
                break
        listing.request_count = self.request_count
        return listing

    def api_auth_error(self, what: str):  # type: ignore[no-untyped-def]
        base = super().api_auth_error(what)

        def build(status: int):  # type: ignore[no-untyped-def]
            if status == 401:
                return RegistryBadCredentials(
                    f"DigitalOcean: 401 bad credentials for {what}: the API token is wrong, revoked or expired "
                    "(tokens from `doctl registry login` expire after 30 days by default)",
                    host=self.config.host,
                    status=401,
                )
            return base(status)

        return build

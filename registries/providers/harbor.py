"""Harbor: a user and password, or a robot account (`robot$project+name`) and its secret.

Push times and digests come from API v2.0 `/projects/{project}/repositories/{repo}/artifacts` (each tag's own
`push_time`); repository names with a `/` are double URL-encoded there, as Harbor requires. The Distribution
part goes through Harbor's token service like any registry.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING
from urllib.parse import quote

from registries.distribution.client import next_link
from registries.distribution.errors import RegistryPermissionDenied, RegistryProtocolError
from registries.providers.base import Provider, TagListing, parse_time

if TYPE_CHECKING:
    from registries.distribution.client import RegistryClient

PAGE_SIZE = 100  # Harbor's maximum
MAX_PAGES = 100


class HarborProvider(Provider):
    name = "harbor"
    label = "Harbor"
    credential_help = "Password or robot account secret"
    refused_hint = "robot accounts are named robot$<project>+<name>; a disabled or expired robot is refused too"

    @property
    def api_url(self) -> str:
        return self.config.option("api_url", f"https://{self.config.host}").rstrip("/")

    def list_tags_with_times(self, repository: str, client: RegistryClient) -> TagListing:
        project, _, name = repository.partition("/")
        if not name:
            raise RegistryProtocolError(f"Harbor: {repository!r} has no project part", host=self.config.host)
        encoded = quote(quote(name, safe=""), safe="")
        url: str | None = f"{self.api_url}/api/v2.0/projects/{project}/repositories/{encoded}/artifacts"
        params: dict[str, str] | None = {"page": "1", "page_size": str(PAGE_SIZE), "with_tag": "true"}
        listing = TagListing(tags=[], source="Harbor API v2.0 artifacts")
        auth = self._basic()
        for _ in range(MAX_PAGES):
            if url is None:
                break
            body, response = self.call_api(
                "GET", url, params=params, auth=auth, what=f"Harbor artifacts of {repository}"
            )
            if not isinstance(body, list):
                raise RegistryProtocolError("Harbor API: artifacts answer is not a list", host=self.config.host)
            for artifact in body:
                if not isinstance(artifact, dict):
                    continue
                for tag in artifact.get("tags") or []:
                    if isinstance(tag, dict) and isinstance(tag.get("name"), str):
                        listing.tags.append(tag["name"])
                        listing.push_times[tag["name"]] = parse_time(tag.get("push_time") or artifact.get("push_time"))
                        listing.digests[tag["name"]] = str(artifact.get("digest", ""))
            link = next_link(response.headers.get("Link", ""))
            url = self.http().join(response.url, link) if link else None
            if url and not url.startswith(f"{self.api_url}/"):
                url = None
            params = None
        listing.request_count = self.request_count
        return listing

    def api_auth_error(self, what: str):  # type: ignore[no-untyped-def]
        base = super().api_auth_error(what)

        def build(status: int):  # type: ignore[no-untyped-def]
            if status == 403:
                return RegistryPermissionDenied(
                    f"Harbor: 403 missing permission for {what} ({self.display_user!r}): a robot account needs "
                    "repository:pull and artifact:list on the project (scripts/harbor-role.sh)",
                    host=self.config.host,
                    status=403,
                )
            return base(status)

        return build

    def _basic(self) -> str | None:
        if not self.has_credentials:
            return None
        pair = base64.b64encode(f"{self.config.username}:{self.config.secret}".encode()).decode()
        return f"Basic {self.remember_secret(pair)}"

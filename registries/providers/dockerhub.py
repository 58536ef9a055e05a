"""Docker Hub: anonymous, username + password, or username + personal access token.

Tag push times and digests come from the Hub API (`/v2/namespaces/{ns}/repositories/{repo}/tags`), which does not
count against the pull quota; the registry itself is asked only for manifest HEADs (free too). Pulls are always
authenticated when credentials exist: anonymous pulls have the smallest quota.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from registries.distribution.errors import RegistryProtocolError
from registries.providers.base import Credentials, Provider, TagListing, cached, jwt_expiry, now, parse_time
from registries.reference import DOCKER_HUB_API_HOST

if TYPE_CHECKING:
    from registries.distribution.client import RegistryClient

HUB_API = "https://hub.docker.com"
HUB_PAGE_SIZE = 100  # the documented maximum
HUB_MAX_PAGES = 100  # 10,000 tags, newest first: older ones never win a ranking anyway
HUB_TOKEN_LIFETIME = 600.0  # "expires in 10 minutes" when the JWT says nothing


class DockerHubProvider(Provider):
    name = "dockerhub"
    label = "Docker Hub"
    credential_help = "Password or personal access token"

    @property
    def api_host(self) -> str:
        return self.config.endpoint or DOCKER_HUB_API_HOST

    @property
    def hub_api(self) -> str:
        return self.config.option("api_url", HUB_API).rstrip("/")

    def list_tags_with_times(self, repository: str, client: RegistryClient) -> TagListing | None:
        namespace, _, name = repository.partition("/")
        url: str | None = f"{self.hub_api}/v2/namespaces/{namespace}/repositories/{name}/tags"
        params: dict[str, str] | None = {"page_size": str(HUB_PAGE_SIZE), "ordering": "last_updated"}
        listing = TagListing(tags=[], source="Docker Hub API")
        auth = self._hub_auth()
        for _ in range(HUB_MAX_PAGES):
            if url is None:
                break
            body, _ = self.call_api("GET", url, params=params, auth=auth, what=f"Docker Hub tags of {repository}")
            if not isinstance(body, dict) or not isinstance(body.get("results"), list):
                raise RegistryProtocolError("Docker Hub API: tag page without results", host=self.config.host)
            for item in body["results"]:
                if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                    continue
                tag = item["name"]
                listing.tags.append(tag)
                listing.push_times[tag] = parse_time(item.get("tag_last_pushed") or item.get("last_updated"))
                if isinstance(item.get("digest"), str) and item["digest"]:
                    listing.digests[tag] = item["digest"]
            url, params = self._next_page(body.get("next")), None
        listing.request_count = self.request_count
        return listing

    def _next_page(self, link: object) -> str | None:
        # Follow `next` only on the Hub API's own origin.
        if isinstance(link, str) and link.startswith(f"{self.hub_api}/"):
            return link
        return None

    def _hub_auth(self) -> str | None:
        """A Hub API bearer for private repositories; public ones are read anonymously."""
        if not (self.config.username and self.config.secret):
            return None
        issued = cached(f"hub-api:{self.config.fingerprint}", self._login)
        return f"Bearer {issued.password}" if issued else None

    def _login(self) -> Credentials:
        body, _ = self.call_api(
            "POST",
            f"{self.hub_api}/v2/auth/token",
            data=json.dumps({"identifier": self.config.username, "secret": self.config.secret}).encode(),
            headers={"Content-Type": "application/json"},
            what="Docker Hub API login",
        )
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise RegistryProtocolError("Docker Hub API: login answered no access_token", host=self.config.host)
        self.remember_secret(token)
        return Credentials("", token, expires_at=jwt_expiry(token) or now() + HUB_TOKEN_LIFETIME)

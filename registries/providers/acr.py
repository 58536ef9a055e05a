"""Azure ACR: the admin user, or a service principal (AcrPull).

With a tenant ID the service principal goes through the documented AAD -> ACR exchange: a client-credentials
AAD token for `https://containerregistry.azure.net`, `POST /oauth2/exchange` for an ACR refresh token (used with
the null-GUID user for `docker pull` and the Distribution API), then `POST /oauth2/token` for access tokens.
Without one, the ID and secret (or the admin user) go as Basic, which ACR also accepts. Tag times come from
`/acr/v1/{repo}/_tags` (`lastUpdateTime`, `digest`). Plain HTTP to the documented endpoints: no Azure SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from registries.distribution.client import next_link
from registries.distribution.errors import RegistryBadCredentials, RegistryProtocolError
from registries.providers.base import Credentials, Provider, TagListing, jwt_expiry, now, parse_time

if TYPE_CHECKING:
    from registries.distribution.client import RegistryClient

NULL_GUID = "00000000-0000-0000-0000-000000000000"  # tells ACR the password is an ACR refresh token
AAD_AUTHORITY = "https://login.microsoftonline.com"
ACR_AUDIENCE = "https://containerregistry.azure.net/.default"
REFRESH_TOKEN_LIFETIME = 3 * 3600.0  # when the token is no readable JWT
TAGS_PAGE = 100
MAX_PAGES = 100


class AcrProvider(Provider):
    name = "acr"
    label = "Azure ACR"
    credential_help = "Admin password or service principal client secret"

    @property
    def tenant(self) -> str:
        return self.config.option("tenant_id")

    @property
    def registry_url(self) -> str:
        return self.config.option("api_url", f"https://{self.config.host}").rstrip("/")

    @property
    def display_user(self) -> str:
        kind = "service principal" if self.tenant else "user"
        return f"{kind} {self.config.username}" if self.config.username else ""

    def fetch_credentials(self) -> Credentials | None:
        if not self.tenant:
            return super().fetch_credentials()
        refresh = self._exchange(self._aad_token())
        expires = jwt_expiry(refresh) or now() + REFRESH_TOKEN_LIFETIME
        return Credentials(NULL_GUID, refresh, expires_at=expires)

    def list_tags_with_times(self, repository: str, client: RegistryClient) -> TagListing:
        token = self._access_token(f"repository:{repository}:metadata_read")
        listing = TagListing(tags=[], source="ACR /acr/v1 tag list")
        url: str | None = f"{self.registry_url}/acr/v1/{repository}/_tags"
        params: dict[str, str] | None = {"n": str(TAGS_PAGE), "orderby": "timedesc"}
        for _ in range(MAX_PAGES):
            if url is None:
                break
            body, response = self.call_api(
                "GET", url, params=params, auth=f"Bearer {token}", what=f"ACR tags of {repository}"
            )
            for item in body.get("tags") or [] if isinstance(body, dict) else []:
                if isinstance(item, dict) and isinstance(item.get("name"), str):
                    tag = item["name"]
                    listing.tags.append(tag)
                    listing.push_times[tag] = parse_time(item.get("lastUpdateTime") or item.get("createdTime"))
                    if isinstance(item.get("digest"), str):
                        listing.digests[tag] = item["digest"]
            link = next_link(response.headers.get("Link", ""))
            url = self.http().join(response.url, link) if link else None
            if url and not url.startswith(f"{self.registry_url}/"):
                url = None  # follow pagination on the registry's own origin only
            params = None
        listing.request_count = self.request_count
        return listing

    # --- tokens --------------------------------------------------------------------------------

    def _aad_token(self) -> str:
        authority = self.config.option("authority_host", AAD_AUTHORITY).rstrip("/")
        body, _ = self.call_api(
            "POST",
            f"{authority}/{self.tenant}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self.config.username,
                "client_secret": self.config.secret,
                "scope": ACR_AUDIENCE,
            },
            what="Azure AD token (service principal)",
            auth_error=self._aad_error,
        )
        return self._token_field(body, "access_token", "Azure AD")

    def _aad_error(self, status: int) -> RegistryBadCredentials:
        return RegistryBadCredentials(
            f"Azure AD: {status} bad credentials: client {self.config.username!r} in tenant {self.tenant!r} "
            "was refused (wrong ID or secret, or the secret expired)",
            host=self.config.host,
            status=status,
        )

    def _exchange(self, aad_token: str) -> str:
        body, _ = self.call_api(
            "POST",
            f"{self.registry_url}/oauth2/exchange",
            data={
                "grant_type": "access_token",
                "service": self.config.host,
                "tenant": self.tenant,
                "access_token": aad_token,
            },
            what="ACR token exchange",
        )
        return self._token_field(body, "refresh_token", "ACR exchange")

    def _access_token(self, scope: str) -> str:
        """An ACR access token for `scope`: from the refresh token (service principal) or Basic (admin user)."""
        if self.tenant:
            issued = self._registry_credentials()
            body, _ = self.call_api(
                "POST",
                f"{self.registry_url}/oauth2/token",
                data={
                    "grant_type": "refresh_token",
                    "service": self.config.host,
                    "scope": scope,
                    "refresh_token": issued.password,
                },
                what="ACR access token",
            )
        else:
            basic = self._basic()
            body, _ = self.call_api(
                "GET",
                f"{self.registry_url}/oauth2/token",
                params={"service": self.config.host, "scope": scope},
                auth=basic,
                what="ACR access token",
            )
        return self._token_field(body, "access_token", "ACR token")

    def _registry_credentials(self) -> Credentials:
        from registries.providers.base import ProviderCredentials

        issued = ProviderCredentials(self).current()
        if issued is None:
            raise RegistryBadCredentials("ACR: no credentials stored", host=self.config.host)
        return issued

    def _basic(self) -> str | None:
        import base64

        if not self.has_credentials:
            return None
        pair = f"{self.config.username}:{self.config.secret}".encode()
        return "Basic " + self.remember_secret(base64.b64encode(pair).decode())

    def _token_field(self, body: object, name: str, what: str) -> str:
        value = body.get(name) if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise RegistryProtocolError(f"{what}: answer holds no {name}", host=self.config.host)
        return self.remember_secret(value)

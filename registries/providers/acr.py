"""Azure ACR: the admin user, or a service principal (AcrPull), through `azure-containerregistry`.

Service principal (a tenant ID is set): `azure-identity`'s `ClientSecretCredential` gets an Azure AD token for the
ACR audience (`https://containerregistry.azure.net/.default`; option `audience` for another cloud) from
`{authority}/{tenant}/oauth2/v2.0/token`, after OIDC discovery of that authority. The SDK's exchange client turns it
into an ACR refresh token (`POST /oauth2/exchange`), which is the password of the null-GUID user for `docker pull`
and the Distribution API. Tag times come from `ContainerRegistryClient.list_tag_properties` (`GET
/acr/v1/{repo}/_tags`, `Link` pages, `orderby=timedesc`), which answers each 401 challenge itself with
`POST /oauth2/exchange` and `POST /oauth2/token` (scope from the challenge). The SDK (1.2.0) keeps no ACR access
token between requests, so each page costs four calls (401, exchange, token, retry); the AAD token is cached by
the credential, one per configuration and process.

Admin user, or a service principal without a tenant: Basic, which ACR takes as is on its APIs and for
`docker login` (the SDK has no Basic credential: the header is set by a headers policy).

Both SDKs refuse bearer tokens over plain HTTP: `api_url` and `authority_host` must be https (a private CA in
the row's CA field is trusted). They are imported here only, when an ACR registry is first used.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.conf import settings

from registries.distribution.errors import (
    RegistryBadCredentials,
    RegistryError,
    RegistryNotFound,
    RegistryPermissionDenied,
    RegistryProtocolError,
    RegistryRateLimited,
    RegistryTLSError,
    RegistryUnavailable,
)
from registries.providers.base import Credentials, Provider, TagListing, jwt_expiry, now, on_forget_all

if TYPE_CHECKING:
    from registries.distribution.client import RegistryClient

NULL_GUID = "00000000-0000-0000-0000-000000000000"  # tells ACR the password is an ACR refresh token
ACR_AUDIENCE = "https://containerregistry.azure.net"  # the SDK's default; an ARM audience works where enabled
REFRESH_TOKEN_LIFETIME = 3 * 3600.0  # when the token is no readable JWT
TAGS_PAGE = 100
MAX_PAGES = 100
# azure-core logs every request at INFO, MSAL its token calls at DEBUG, and azure-identity a refused token request
# at WARNING with Azure AD's error text, which can repeat what was sent (the secret). Our errors name every
# failure already: the SDKs' own records are silenced.
for _name in ("azure", "msal"):
    logging.getLogger(_name).setLevel(logging.CRITICAL + 1)
_CREDENTIALS: dict[str, Any] = {}  # one ClientSecretCredential per configuration: it caches the AAD token
_CREDENTIALS_LOCK = threading.Lock()


@on_forget_all
def _forget_credentials() -> None:
    with _CREDENTIALS_LOCK:
        for credential in _CREDENTIALS.values():
            credential.close()
        _CREDENTIALS.clear()


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
    def scope(self) -> str:
        return self.config.option("audience", ACR_AUDIENCE).rstrip("/") + "/.default"

    @property
    def display_user(self) -> str:
        kind = "service principal" if self.tenant else "user"
        return f"{kind} {self.config.username}" if self.config.username else ""

    def fetch_credentials(self) -> Credentials | None:
        if not self.tenant:
            return super().fetch_credentials()
        from azure.containerregistry._exchange_client import ACRExchangeClient

        credential = self._aad_credential()
        self._aad_token(credential)
        with (
            self._azure_errors("ACR token exchange"),
            ACRExchangeClient(
                self.registry_url, credential, credential_scopes=[self.scope], **self._sdk_options()
            ) as exchange,
        ):
            refresh = exchange.exchange_aad_token_for_refresh_token(self.config.host)
        if not refresh:
            raise RegistryProtocolError("ACR exchange: answer holds no refresh_token", host=self.config.host)
        self.remember_secret(refresh)
        expires = jwt_expiry(refresh) or now() + REFRESH_TOKEN_LIFETIME
        return Credentials(NULL_GUID, refresh, expires_at=expires)

    def list_tags_with_times(self, repository: str, client: RegistryClient) -> TagListing:
        from azure.containerregistry import ArtifactTagOrder

        listing = TagListing(tags=[], source="ACR /acr/v1 tag list")
        with self._azure_errors(f"ACR tags of {repository}"), self._registry_client() as registry:
            pages = registry.list_tag_properties(
                repository, order_by=ArtifactTagOrder.LAST_UPDATED_ON_DESCENDING, results_per_page=TAGS_PAGE
            ).by_page()
            for page in pages:
                listing.request_count += 1
                for tag in page:
                    if not tag.name:
                        continue
                    listing.tags.append(tag.name)
                    listing.push_times[tag.name] = tag.last_updated_on or tag.created_on
                    if tag.digest:
                        listing.digests[tag.name] = tag.digest
                if listing.request_count >= MAX_PAGES:
                    break
        return listing

    # --- the SDKs ------------------------------------------------------------------------------

    def _sdk_options(self) -> dict[str, Any]:
        """Transport options shared by the ACR clients and the AAD credential: timeouts, retries, the CA."""
        options: dict[str, Any] = {
            "connection_timeout": settings.REGISTRY_TIMEOUT,
            "read_timeout": settings.REGISTRY_TIMEOUT,
            "retry_total": settings.REGISTRY_RETRIES,
            "retry_backoff_factor": 0.5,
        }
        if self.config.insecure:
            options["connection_verify"] = False
        elif self.config.ca_file:
            options["connection_verify"] = self.config.ca_file
        return options

    def _registry_client(self) -> Any:
        from azure.containerregistry import ContainerRegistryClient

        options = self._sdk_options()
        if self.tenant:
            credential = self._aad_credential()
            self._aad_token(credential)  # AAD refusals named for AAD before the SDK asks for the same token
            return ContainerRegistryClient(
                self.registry_url, credential, audience=self.scope.removesuffix("/.default"), **options
            )
        if not self.has_credentials:
            return ContainerRegistryClient(self.registry_url, None, **options)
        from azure.core.pipeline.policies import HeadersPolicy

        pair = base64.b64encode(f"{self.config.username}:{self.config.secret}".encode()).decode()
        basic = HeadersPolicy(base_headers={"Authorization": f"Basic {self.remember_secret(pair)}"})
        return ContainerRegistryClient(self.registry_url, None, headers_policy=basic, **options)

    def _aad_credential(self) -> Any:
        from azure.identity import ClientSecretCredential

        key = self.config.fingerprint
        with _CREDENTIALS_LOCK:
            if key not in _CREDENTIALS:
                authority = self.config.option("authority_host")
                try:
                    _CREDENTIALS[key] = ClientSecretCredential(
                        self.tenant,
                        self.config.username,
                        self.config.secret,
                        # a host chosen by hand (Azure Stack, an emulation) is not checked with Microsoft's
                        # instance discovery; the default login.microsoftonline.com needs no check
                        disable_instance_discovery=bool(authority),
                        **({"authority": authority} if authority else {}),
                        **self._sdk_options(),
                    )
                except ValueError as exc:  # a tenant ID or authority azure-identity cannot use
                    raise RegistryError(
                        f"Azure AD: unusable service principal settings: {self.redact(str(exc))[:160]}",
                        host=self.config.host,
                    ) from None
            return _CREDENTIALS[key]

    def _aad_token(self, credential: Any) -> str:
        """An Azure AD token for the ACR audience (cached by the credential), its failures named for AAD."""
        from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

        try:
            return self.remember_secret(credential.get_token(self.scope).token)
        except ClientAuthenticationError:
            raise RegistryBadCredentials(
                f"Azure AD: 401 bad credentials: client {self.config.username!r} in tenant {self.tenant!r} "
                "was refused (wrong ID or secret, or the secret expired)",
                host=self.config.host,
                status=401,
            ) from None
        except (ServiceRequestError, ValueError) as exc:
            raise RegistryUnavailable(
                f"Azure AD: cannot get a token from the authority: {self.redact(str(exc))[:160]}",
                host=self.config.host,
            ) from None

    @contextmanager
    def _azure_errors(self, what: str) -> Iterator[None]:
        """azure-core's exceptions, turned into our named errors (messages redacted)."""
        from azure.core import exceptions as azure

        host, who = self.config.host, self.display_user or "anonymous"
        try:
            yield
        except RegistryError:
            raise
        except azure.ClientAuthenticationError as exc:
            hint = "no AcrPull role on the registry, or the wrong audience" if self.tenant else "wrong password"
            raise RegistryBadCredentials(
                f"{self.label}: 401 bad credentials for {what} ({who}: {hint}){self._detail(exc)}",
                host=host,
                status=401,
            ) from None
        except azure.ResourceNotFoundError as exc:
            message = f"{self.label}: {what} not found{self._detail(exc)}"
            raise RegistryNotFound(message, host=host, status=404) from None
        except azure.HttpResponseError as exc:
            status = exc.status_code or 0
            if status == 403:
                raise RegistryPermissionDenied(
                    f"{self.label}: 403 missing permission for {what} ({who}){self._detail(exc)}",
                    host=host,
                    status=403,
                ) from None
            if status == 429:
                raise RegistryRateLimited(f"{self.label}: {what} rate-limited", host=host) from None
            if status >= 500:
                raise RegistryUnavailable(f"{self.label}: HTTP {status} for {what}", host=host, status=status) from None
            raise RegistryError(
                f"{self.label}: HTTP {status} for {what}{self._detail(exc)}", host=host, status=status
            ) from None
        except azure.ServiceRequestError as exc:
            text = self.redact(str(exc))
            if "https" in text and "non-TLS" in text:
                raise RegistryError(
                    f"{self.label}: the Azure SDK sends tokens over HTTPS only: {self.registry_url} is plain HTTP",
                    host=host,
                ) from None
            kind = RegistryTLSError if "SSL" in text or "certificate" in text else RegistryUnavailable
            raise kind(f"{self.label}: cannot reach {self.registry_url} for {what}: {text[:160]}", host=host) from None
        except azure.AzureError as exc:
            message = f"{self.label}: {what} failed: {self.redact(str(exc))[:160]}"
            raise RegistryUnavailable(message, host=host) from None

    def _detail(self, exc: Any) -> str:
        error = getattr(exc, "error", None)
        message = getattr(error, "message", None) or getattr(exc, "reason", None) or ""
        return f": {self.redact(str(message))[:160]}" if message else ""

"""Google Artifact Registry (`*-docker.pkg.dev`) and Container Registry (`gcr.io`).

A service-account JSON key: for `docker pull` and the Distribution API, google-auth mints an OAuth access token
from it (JWT-bearer grant at the key's `token_uri`, renewed before its ~1 h expiry) for user `oauth2accesstoken`.
Or an access token pasted as is (`gcloud auth print-access-token`), which cannot be renewed.

Upload times: for `*-docker.pkg.dev`, `google-cloud-artifact-registry`'s `ArtifactRegistryClient.list_docker_images`
over its REST transport (`GET /v1/projects/P/locations/L/repositories/R/dockerImages`, `pageToken` pages;
`uploadTime`, `tags`, the digest from `uri`; option `api_url` moves the endpoint). With a key the SDK needs no
token endpoint: google-auth signs a self-signed JWT with it (AIP-4111, scope claim, 1 h, re-signed when due);
a pasted token is sent as is. The SDK has no call for `gcr.io`, whose tag list carries a `manifest` map with
`timeUploadedMs`: that stays on the Distribution API. Both SDKs are imported here only, when a GCP registry is
first used.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings

from registries.distribution.errors import (
    RegistryBadCredentials,
    RegistryError,
    RegistryNotFound,
    RegistryPermissionDenied,
    RegistryProtocolError,
    RegistryRateLimited,
    RegistryTokenExpired,
    RegistryUnavailable,
)
from registries.providers.base import Credentials, Provider, TagListing, on_forget_all

if TYPE_CHECKING:
    from registries.distribution.client import RegistryClient

TOKEN_USER = "oauth2accesstoken"  # noqa: S105 - the documented user name, not a secret
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
AR_PAGE = 1000  # the documented maximum pageSize
MAX_PAGES = 50
_GOOGLE: dict[str, Any] = {}  # google-auth credentials per configuration (the key parsed once)
_GOOGLE_LOCK = threading.Lock()


@on_forget_all
def _forget_google_credentials() -> None:
    with _GOOGLE_LOCK:
        _GOOGLE.clear()


class GcpProvider(Provider):
    name = "gcp"
    label = "Google Artifact Registry / GCR"
    credential_help = "Service-account JSON key, or an OAuth access token"

    @property
    def uses_key_file(self) -> bool:
        return self.config.secret.lstrip().startswith("{")

    @property
    def refused_means_expired(self) -> bool:  # type: ignore[override]
        return bool(self.config.secret) and not self.uses_key_file

    @property
    def refused_hint(self) -> str:  # type: ignore[override]
        if self.uses_key_file:
            return "check the service account's role (artifactregistry.reader or storage.objectViewer)"
        return "token expired? pasted access tokens last about an hour: store a service-account JSON key instead"

    @property
    def display_user(self) -> str:
        if self.uses_key_file:
            return f"service account {self._key_info().get('client_email', '?')}"
        return "access token" if self.config.secret else ""

    def fetch_credentials(self) -> Credentials | None:
        if not self.config.secret:
            return None
        if not self.uses_key_file:
            return Credentials(TOKEN_USER, self.config.secret)
        from google.auth.transport.requests import Request

        key = self._google_credentials()
        with self._google_errors("the service-account token"):
            key.refresh(Request())
        expiry = key.expiry.replace(tzinfo=UTC).timestamp() if key.expiry else None
        return Credentials(TOKEN_USER, self.remember_secret(key.token), expires_at=expiry)

    def list_tags_with_times(self, repository: str, client: RegistryClient) -> TagListing | None:
        if self.config.host.endswith("-docker.pkg.dev"):
            return self._artifact_registry_tags(repository)
        return self._gcr_tags(repository, client)

    def _artifact_registry_tags(self, repository: str) -> TagListing | None:
        project, _, rest = repository.partition("/")
        repo, _, image = rest.partition("/")
        if not image:
            raise RegistryProtocolError(
                f"GCP: {repository!r} is not PROJECT/REPOSITORY/IMAGE as Artifact Registry needs",
                host=self.config.host,
            )
        if not self.config.secret:
            return None  # dockerImages.list needs credentials: the Distribution tag list it is
        from google.cloud.artifactregistry_v1 import ListDockerImagesRequest

        location = self.config.host.removesuffix("-docker.pkg.dev")
        parent = f"projects/{project}/locations/{location}/repositories/{repo}"
        wanted = f"{self.config.host}/{repository}@"
        listing = TagListing(tags=[], source="Artifact Registry dockerImages.list")
        what = f"Artifact Registry images of {repository}"
        sdk = self._ar_client()
        try:
            with self._google_errors(what):
                pager = sdk.list_docker_images(
                    request=ListDockerImagesRequest(parent=parent, page_size=AR_PAGE),
                    retry=self._retry(),
                    timeout=settings.REGISTRY_TIMEOUT,
                )
                for page in pager.pages:
                    listing.request_count += 1
                    for item in page.docker_images:
                        if not item.uri.startswith(wanted):
                            continue  # another image of the same Artifact Registry repository
                        pushed = item.upload_time or item.update_time or None
                        for tag in item.tags:
                            listing.tags.append(tag)
                            listing.push_times[tag] = pushed
                            listing.digests[tag] = item.uri.removeprefix(wanted)
                    if listing.request_count >= MAX_PAGES:
                        break
        finally:
            sdk.transport.close()
        return listing

    def _gcr_tags(self, repository: str, client: RegistryClient) -> TagListing:
        listing = TagListing(tags=[], source="GCR tag list manifest map")
        manifests: dict[str, dict[str, Any]] = {}

        def keep_manifests(page: dict) -> None:
            if isinstance(page.get("manifest"), dict):
                manifests.update(page["manifest"])

        listing.tags = client.list_tags(repository, on_page=keep_manifests)
        for digest, info in manifests.items():
            if not isinstance(info, dict):
                continue
            uploaded = _millis(info.get("timeUploadedMs") or info.get("timeCreatedMs"))
            for tag in info.get("tag") or []:
                listing.push_times[tag] = uploaded
                listing.digests[tag] = digest
        return listing

    # --- google-auth and the SDK ---------------------------------------------------------------

    def _google_credentials(self) -> Any:
        """The google-auth credentials of this configuration (the SDK takes a self-signing copy of a key's)."""
        key = self.config.fingerprint
        with _GOOGLE_LOCK:
            if key not in _GOOGLE:
                if self.uses_key_file:
                    from google.oauth2 import service_account

                    try:
                        _GOOGLE[key] = service_account.Credentials.from_service_account_info(
                            self._key_info(), scopes=[SCOPE]
                        )
                    except (ValueError, KeyError) as exc:
                        raise RegistryBadCredentials(
                            f"GCP: the service-account JSON key is unusable: {type(exc).__name__}",
                            host=self.config.host,
                        ) from None
                else:
                    from google.oauth2.credentials import Credentials as TokenCredentials

                    _GOOGLE[key] = TokenCredentials(token=self.config.secret)
            return _GOOGLE[key]

    def _ar_client(self) -> Any:
        """An Artifact Registry client on the REST transport (no gRPC channel), at `api_url` if one is set."""
        from google.cloud.artifactregistry_v1 import ArtifactRegistryClient

        api = self.config.option("api_url")
        return ArtifactRegistryClient(
            credentials=self._google_credentials(),
            transport="rest",
            client_options={"api_endpoint": api.rstrip("/")} if api else None,
        )

    def _retry(self) -> Any:
        if settings.REGISTRY_RETRIES <= 0:
            return None
        from google.api_core import retry as retries

        return retries.Retry(
            predicate=retries.if_transient_error,
            initial=0.5,
            maximum=8.0,
            multiplier=2.0,
            timeout=settings.REGISTRY_TIMEOUT * (settings.REGISTRY_RETRIES + 1),
        )

    @contextmanager
    def _google_errors(self, what: str) -> Iterator[None]:
        """google-auth's and google-api-core's exceptions, turned into our named errors (messages redacted)."""
        import requests
        from google.api_core import exceptions as api
        from google.auth import exceptions as auth

        host, who = self.config.host, self.display_user
        try:
            yield
        except RegistryError:
            raise
        except auth.RefreshError as exc:
            if not self.uses_key_file:  # the SDK tried to renew a pasted token after a 401
                raise self._expired() from None
            raise RegistryBadCredentials(
                f"GCP: 401 bad credentials: Google refused the service-account key ({who}): "
                f"{self.redact(str(exc))[:160]}",
                host=host,
                status=401,
            ) from None
        except (auth.TransportError, requests.RequestException) as exc:
            raise RegistryUnavailable(
                f"GCP: cannot reach Google for {what}: {self.redact(str(exc))[:160]}", host=host
            ) from None
        except (api.Unauthorized, api.Unauthenticated) as exc:  # REST answers map to the HTTP-named classes
            if not self.uses_key_file:
                raise self._expired() from None
            raise RegistryBadCredentials(
                f"GCP: 401 bad credentials for {what} ({who}){self._detail(exc)}", host=host, status=401
            ) from None
        except (api.Forbidden, api.PermissionDenied) as exc:
            raise RegistryPermissionDenied(
                f"GCP: 403 missing permission for {what} ({who}; needs roles/artifactregistry.reader)"
                f"{self._detail(exc)}",
                host=host,
                status=403,
            ) from None
        except api.NotFound as exc:
            raise RegistryNotFound(f"GCP: {what} not found{self._detail(exc)}", host=host, status=404) from None
        except api.TooManyRequests:
            raise RegistryRateLimited(f"GCP: {what} rate-limited", host=host) from None
        except (api.ServerError, api.RetryError) as exc:
            raise RegistryUnavailable(f"GCP: {what} failed: {self.redact(str(exc))[:160]}", host=host) from None
        except api.GoogleAPICallError as exc:
            raise RegistryError(f"GCP: {what} failed{self._detail(exc)}", host=host, status=exc.code) from None

    def _expired(self) -> RegistryTokenExpired:
        return RegistryTokenExpired(
            "GCP: token expired or invalid: pasted access tokens last about an hour; store a "
            "service-account JSON key so the updater mints its own",
            host=self.config.host,
            status=401,
        )

    def _detail(self, exc: Any) -> str:
        message = str(getattr(exc, "message", "") or "")
        if message.split(" ", 1)[0] in ("GET", "POST"):  # REST errors start with `GET <url>: `
            message = message.split(": ", 1)[-1]
        return f": {self.redact(message)[:160]}" if message else ""

    def _key_info(self) -> dict[str, Any]:
        try:
            info = json.loads(self.config.secret)
        except ValueError:
            raise RegistryBadCredentials(
                "GCP: the service-account key is not valid JSON", host=self.config.host
            ) from None
        if not isinstance(info, dict):
            raise RegistryBadCredentials("GCP: the service-account key is not a JSON object", host=self.config.host)
        return info


def _millis(value: object) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(str(value)) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None

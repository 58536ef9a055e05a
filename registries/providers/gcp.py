"""Google Artifact Registry (`*-docker.pkg.dev`) and Container Registry (`gcr.io`).

A service-account JSON key: google-auth mints an OAuth access token from it (renewed before its ~1 h expiry) and
the registry gets user `oauth2accesstoken`. Or an access token pasted as is (`gcloud auth print-access-token`),
which cannot be renewed. Upload times: Artifact Registry's `dockerImages.list` for `*-docker.pkg.dev`; for
`gcr.io` the tag list's `manifest` map (`timeUploadedMs`). google-auth is imported here only.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from registries.distribution.errors import RegistryBadCredentials, RegistryProtocolError, RegistryTokenExpired
from registries.providers.base import Credentials, Provider, ProviderCredentials, TagListing, parse_time

if TYPE_CHECKING:
    from registries.distribution.client import RegistryClient

TOKEN_USER = "oauth2accesstoken"  # noqa: S105 - the documented user name, not a secret
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
AR_API = "https://artifactregistry.googleapis.com"
AR_PAGE = 1000
MAX_PAGES = 50


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
        from google.auth import exceptions as google_errors
        from google.auth.transport.requests import Request
        from google.oauth2 import service_account

        try:
            key = service_account.Credentials.from_service_account_info(self._key_info(), scopes=[SCOPE])
            key.refresh(Request())
        except (ValueError, KeyError) as exc:
            raise RegistryBadCredentials(
                f"GCP: the service-account JSON key is unusable: {type(exc).__name__}", host=self.config.host
            ) from None
        except google_errors.RefreshError as exc:
            raise RegistryBadCredentials(
                f"GCP: 401 bad credentials: Google refused the service-account key "
                f"({self.display_user}): {self.redact(str(exc))[:160]}",
                host=self.config.host,
                status=401,
            ) from None
        except google_errors.TransportError as exc:
            raise RegistryBadCredentials(
                f"GCP: cannot reach the token endpoint: {self.redact(str(exc))[:160]}", host=self.config.host
            ) from None
        expiry = key.expiry.replace(tzinfo=UTC).timestamp() if key.expiry else None
        return Credentials(TOKEN_USER, self.remember_secret(key.token), expires_at=expiry)

    def list_tags_with_times(self, repository: str, client: RegistryClient) -> TagListing:
        if self.config.host.endswith("-docker.pkg.dev"):
            return self._artifact_registry_tags(repository)
        return self._gcr_tags(repository, client)

    def _artifact_registry_tags(self, repository: str) -> TagListing:
        project, _, rest = repository.partition("/")
        repo, _, image = rest.partition("/")
        if not image:
            raise RegistryProtocolError(
                f"GCP: {repository!r} is not PROJECT/REPOSITORY/IMAGE as Artifact Registry needs",
                host=self.config.host,
            )
        location = self.config.host.removesuffix("-docker.pkg.dev")
        api = self.config.option("api_url", AR_API).rstrip("/")
        url = f"{api}/v1/projects/{project}/locations/{location}/repositories/{repo}/dockerImages"
        wanted = f"{self.config.host}/{repository}@"
        listing = TagListing(tags=[], source="Artifact Registry dockerImages.list")
        params: dict[str, str] = {"pageSize": str(AR_PAGE)}
        for _ in range(MAX_PAGES):
            body, _ = self.call_api(
                "GET", url, params=params, auth=self._bearer(), what=f"Artifact Registry images of {repository}"
            )
            for item in body.get("dockerImages") or [] if isinstance(body, dict) else []:
                uri = item.get("uri", "") if isinstance(item, dict) else ""
                if not isinstance(uri, str) or not uri.startswith(wanted):
                    continue  # another image of the same Artifact Registry repository
                for tag in item.get("tags") or []:
                    listing.tags.append(tag)
                    listing.push_times[tag] = parse_time(item.get("uploadTime") or item.get("updateTime"))
                    listing.digests[tag] = uri.removeprefix(wanted)
            token = body.get("nextPageToken") if isinstance(body, dict) else None
            if not token:
                break
            params = {"pageSize": str(AR_PAGE), "pageToken": str(token)}
        listing.request_count = self.request_count
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

    def _bearer(self) -> str:
        issued = ProviderCredentials(self).current()
        if issued is None:
            raise RegistryBadCredentials(
                "GCP: no credentials stored for the Artifact Registry API", host=self.config.host
            )
        return f"Bearer {issued.password}"

    def api_auth_error(self, what: str):  # type: ignore[no-untyped-def]
        base = super().api_auth_error(what)

        def build(status: int):  # type: ignore[no-untyped-def]
            if status == 401 and not self.uses_key_file:
                return RegistryTokenExpired(
                    "GCP: token expired or invalid: pasted access tokens last about an hour; store a "
                    "service-account JSON key so the updater mints its own",
                    host=self.config.host,
                    status=401,
                )
            return base(status)

        return build

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

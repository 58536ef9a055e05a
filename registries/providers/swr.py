"""Huawei Cloud SWR: an access key pair (AK/SK) or a pre-generated login key.

With AK/SK the long-term login is user `<region>@<AK>` and password = lowercase hex HMAC-SHA256(key=SK,
message=AK), as SWR's console and docs derive it; tag push times come from the SWR management API
(`/v2/manage/namespaces/{ns}/repos/{repo}/tags`), signed with the AK/SK (SDK-HMAC-SHA256). With a login key
(user `region@AK` as SWR printed it) only the Distribution API is used.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from registries.distribution.errors import RegistryProtocolError
from registries.providers.base import Credentials, Provider, TagListing, parse_time

if TYPE_CHECKING:
    from registries.distribution.client import RegistryClient

SWR_HOST = re.compile(r"^swr\.(?P<region>[a-z0-9-]+)\.myhuaweicloud\.(?P<tld>com|eu|cn)$")
PAGE = 1000  # the API's maximum
MAX_PAGES = 50


class SwrProvider(Provider):
    name = "swr"
    label = "Huawei Cloud SWR"
    credential_help = "Secret key (SK), or a pre-generated login key"

    @property
    def region(self) -> str:
        match = SWR_HOST.match(self.config.host)
        return self.config.option("region") or (match["region"] if match else "")

    @property
    def uses_login_key(self) -> bool:
        return "@" in self.config.username  # SWR's login command names the user `region@AK`

    @property
    def api_url(self) -> str:
        match = SWR_HOST.match(self.config.host)
        tld = match["tld"] if match else "com"
        return self.config.option("api_url", f"https://swr-api.{self.region}.myhuaweicloud.{tld}").rstrip("/")

    def fetch_credentials(self) -> Credentials | None:
        if not self.has_credentials or self.uses_login_key:
            return super().fetch_credentials()
        if not self.region:
            raise RegistryProtocolError(
                "SWR: no region: use the swr.<region>.myhuaweicloud.com host or set the region option",
                host=self.config.host,
            )
        return Credentials(f"{self.region}@{self.config.username}", login_key(self.config.username, self.config.secret))

    def list_tags_with_times(self, repository: str, client: RegistryClient) -> TagListing | None:
        if self.uses_login_key or not self.has_credentials:
            return None  # the management API needs the AK/SK itself
        namespace, _, repo = repository.partition("/")
        # The SWR API takes a repository name containing "/" with "$" in its place.
        path = f"/v2/manage/namespaces/{quote(namespace)}/repos/{quote(repo.replace('/', '$'), safe='$')}/tags"
        listing = TagListing(tags=[], source="SWR management API")
        for page in range(MAX_PAGES):
            params = {
                "limit": str(PAGE),
                "offset": str(page * PAGE),
                "order_column": "updated_at",
                "order_type": "desc",
            }
            url = f"{self.api_url}{path}?{urlencode(params)}"
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            body, _ = self.call_api(
                "GET",
                url,
                headers={"X-Sdk-Date": stamp},
                auth=self._signature("GET", url, stamp),
                what=f"SWR tags of {repository}",
            )
            if not isinstance(body, list):
                raise RegistryProtocolError("SWR API: the tag list is not a list", host=self.config.host)
            for item in body:
                if isinstance(item, dict) and isinstance(item.get("Tag"), str):
                    listing.tags.append(item["Tag"])
                    listing.push_times[item["Tag"]] = parse_time(item.get("updated") or item.get("created"))
                    if isinstance(item.get("digest"), str):
                        listing.digests[item["Tag"]] = item["digest"]
            if len(body) < PAGE:
                break
        listing.request_count = self.request_count
        return listing

    def _signature(self, method: str, url: str, stamp: str) -> str:
        return sign_request(
            method, url, {"X-Sdk-Date": stamp}, b"", access_key=self.config.username, secret_key=self.config.secret
        )


def login_key(access_key: str, secret_key: str) -> str:
    """SWR's long-term login password: hex HMAC-SHA256 of the AK, keyed with the SK."""
    return hmac.new(secret_key.encode(), access_key.encode(), hashlib.sha256).hexdigest()


def sign_request(
    method: str, url: str, headers: dict[str, str], body: bytes, *, access_key: str, secret_key: str
) -> str:
    """The `Authorization` value of Huawei Cloud's SDK-HMAC-SHA256 request signing (host and X-Sdk-Date signed)."""
    parts = urlsplit(url)
    path = parts.path if parts.path.endswith("/") else f"{parts.path}/"
    query = "&".join(
        f"{quote(key, safe='-_.~')}={quote(value, safe='-_.~')}"
        for key, value in sorted(parse_qsl(parts.query, keep_blank_values=True))
    )
    signed = {"host": parts.netloc, **{name.lower(): value.strip() for name, value in headers.items()}}
    names = sorted(signed)
    canonical = "\n".join(
        [
            method.upper(),
            path,
            query,
            "".join(f"{name}:{signed[name]}\n" for name in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    to_sign = f"SDK-HMAC-SHA256\n{signed['x-sdk-date']}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signature = hmac.new(secret_key.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return f"SDK-HMAC-SHA256 Access={access_key}, SignedHeaders={';'.join(names)}, Signature={signature}"

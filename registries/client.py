"""Generic OCI Distribution client: ping, auth, tag lists, manifest digests and image creation times.

The one seam to the registry HTTP API (unit tests emulate or patch here). The code lives in
`registries.distribution`; this module re-exports its public names so callers import from one place.
Every failure comes out as a `RegistryError` subclass whose message names the host and never carries a
password or token. A client is not thread-safe: use one per thread.
"""

from registries.distribution.auth import (
    DEFAULT_TOKEN_LIFETIME,
    Challenge,
    CredentialSource,
    StaticCredentials,
    parse_challenges,
    pick_challenge,
)
from registries.distribution.client import MAX_PAGES, TAGS_PAGE_SIZE, RegistryClient, next_link
from registries.distribution.errors import (
    NOT_FOUND_CODES,
    RegistryAuthError,
    RegistryBadCredentials,
    RegistryConnectTimeout,
    RegistryDNSError,
    RegistryError,
    RegistryInvalidReference,
    RegistryNotFound,
    RegistryPermissionDenied,
    RegistryProtocolError,
    RegistryRateLimited,
    RegistryTLSError,
    RegistryTokenExpired,
    RegistryUnavailable,
)
from registries.distribution.manifests import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    INDEX_MEDIA_TYPES,
    MANIFEST_ACCEPT,
    OCI_INDEX,
    OCI_MANIFEST,
    Manifest,
    parse_created,
    select_platform,
)
from registries.distribution.schemes import KNOWN_SCHEMES
from registries.distribution.transport import MAX_BODY, MAX_REDIRECTS, is_loopback, parse_retry_after

__all__ = [
    "DEFAULT_TOKEN_LIFETIME",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "INDEX_MEDIA_TYPES",
    "KNOWN_SCHEMES",
    "MANIFEST_ACCEPT",
    "MAX_BODY",
    "MAX_PAGES",
    "MAX_REDIRECTS",
    "NOT_FOUND_CODES",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "TAGS_PAGE_SIZE",
    "Challenge",
    "CredentialSource",
    "Manifest",
    "RegistryAuthError",
    "RegistryBadCredentials",
    "RegistryClient",
    "RegistryConnectTimeout",
    "RegistryDNSError",
    "RegistryError",
    "RegistryInvalidReference",
    "RegistryNotFound",
    "RegistryPermissionDenied",
    "RegistryProtocolError",
    "RegistryRateLimited",
    "RegistryTLSError",
    "RegistryTokenExpired",
    "RegistryUnavailable",
    "StaticCredentials",
    "is_loopback",
    "next_link",
    "parse_challenges",
    "parse_created",
    "parse_retry_after",
    "pick_challenge",
    "select_platform",
]

"""AWS ECR: the default credential chain, a role assumed through STS (`AWS_ROLE_ARN`), or an access key + secret.

`GetAuthorizationToken` gives a 12-hour Basic password (user `AWS`), cached until shortly before it expires and
renewed at once if the registry refuses it earlier; `DescribeImages` gives every tag's push time and digest in one
paged call. Account and region come from the host (`<account>.dkr.ecr.<region>.amazonaws.com`). boto3 is
imported here only, when an ECR registry is first used.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings

from registries.distribution.errors import (
    RegistryBadCredentials,
    RegistryConnectTimeout,
    RegistryError,
    RegistryNotFound,
    RegistryPermissionDenied,
    RegistryProtocolError,
    RegistryRateLimited,
    RegistryTokenExpired,
    RegistryUnavailable,
)
from registries.providers.base import Credentials, Provider, TagListing, now

if TYPE_CHECKING:
    from registries.distribution.client import RegistryClient

ECR_HOST = re.compile(r"^(?P<account>\d{12})\.dkr[.-]ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")
TOKEN_LIFETIME = 12 * 3600.0  # documented; used when expiresAt is unusable (a clock far off, an emulator)
SESSION_NAME = "docker-image-updater"
_BAD_CREDENTIALS = {"UnrecognizedClientException", "InvalidClientTokenId", "SignatureDoesNotMatch", "AuthFailure"}
_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}
_DENIED = {"AccessDenied", "AccessDeniedException"}
# botocore logs whole response bodies at DEBUG, authorization tokens included: never below INFO here.
for _name in ("botocore", "boto3"):
    logging.getLogger(_name).setLevel(max(logging.getLogger(_name).level, logging.INFO))
_CLIENTS: dict[str, Any] = {}  # boto3 clients per configuration: creating one costs ~50 ms
_CLIENTS_LOCK = threading.Lock()


def parse_ecr_host(host: str) -> tuple[str, str] | None:
    """(account, region) of an ECR registry host, or None."""
    match = ECR_HOST.match(host.split(":")[0])
    return (match["account"], match["region"]) if match else None


class EcrProvider(Provider):
    name = "ecr"
    label = "AWS ECR"
    credential_help = "Secret access key (blank: default credential chain or role)"

    @property
    def account(self) -> str:
        parsed = parse_ecr_host(self.config.host)
        return self.config.option("account_id") or (parsed[0] if parsed else "")

    @property
    def region(self) -> str:
        parsed = parse_ecr_host(self.config.host)
        return self.config.option("region") or (parsed[1] if parsed else "")

    @property
    def display_user(self) -> str:
        role = self.config.option("role_arn")
        key = f"access key {self.config.username}" if self.config.username else "default credential chain"
        return f"{key}, role {role}" if role else key

    @property
    def has_credentials(self) -> bool:
        return True  # the default chain always applies

    def fetch_credentials(self) -> Credentials:
        with self._aws_errors("ecr:GetAuthorizationToken"):
            data = self._client("ecr").get_authorization_token()["authorizationData"][0]
        try:
            username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
        except (KeyError, ValueError, UnicodeDecodeError):
            raise RegistryProtocolError("ECR: unreadable authorization token", host=self.config.host) from None
        self.remember_secret(password)
        issued = now()
        expires = data.get("expiresAt")
        expires_at = expires.timestamp() if isinstance(expires, datetime) else 0.0
        if expires_at <= issued + 60:  # already past: our clock or the server's is off; trust the documented 12 h
            expires_at = issued + TOKEN_LIFETIME
        return Credentials(username or "AWS", password, expires_at=expires_at, issued_at=issued)

    def list_tags_with_times(self, repository: str, client: RegistryClient) -> TagListing:
        listing = TagListing(tags=[], source="ECR DescribeImages")
        arguments: dict[str, Any] = {"repositoryName": repository, "filter": {"tagStatus": "TAGGED"}}
        if self.account:
            arguments["registryId"] = self.account
        with self._aws_errors(f"ecr:DescribeImages on {repository}"):
            for page in self._client("ecr").get_paginator("describe_images").paginate(**arguments):
                listing.request_count += 1
                for image in page.get("imageDetails", []):
                    pushed = image.get("imagePushedAt")
                    pushed = pushed.astimezone(UTC) if isinstance(pushed, datetime) else None
                    for tag in image.get("imageTags", []):
                        listing.tags.append(tag)
                        listing.push_times[tag] = pushed
                        listing.digests[tag] = image.get("imageDigest", "")
        return listing

    # --- boto3 ---------------------------------------------------------------------------------

    def _client(self, service: str) -> Any:
        key = f"{service}:{self.config.fingerprint}"
        with _CLIENTS_LOCK:
            if key not in _CLIENTS:
                _CLIENTS[key] = self._session().client(service, **self._client_options())
            return _CLIENTS[key]

    def _client_options(self) -> dict[str, Any]:
        from botocore.config import Config

        options: dict[str, Any] = {
            "region_name": self.region or None,
            "config": Config(
                connect_timeout=settings.REGISTRY_TIMEOUT,
                read_timeout=settings.REGISTRY_TIMEOUT,
                retries={"mode": "standard", "max_attempts": settings.REGISTRY_RETRIES + 1},
            ),
        }
        if self.config.option("api_url"):  # a VPC endpoint, another partition, or a local emulator
            options["endpoint_url"] = self.config.option("api_url")
        if self.config.ca_file:
            options["verify"] = self.config.ca_file
        return options

    def _session(self) -> Any:
        import boto3

        base = boto3.session.Session(
            aws_access_key_id=self.config.username or None,
            aws_secret_access_key=self.config.secret or None,
            region_name=self.region or None,
        )
        role = self.config.option("role_arn")
        return _assumed(base, role, self._client_options()) if role else base

    @contextmanager
    def _aws_errors(self, action: str) -> Iterator[None]:
        """botocore's exceptions, turned into our named errors with the action that failed."""
        from botocore import exceptions as aws

        host = self.config.host
        try:
            yield
        except aws.NoCredentialsError:
            raise RegistryBadCredentials(
                "AWS: no credentials found: set an access key, AWS_ROLE_ARN, or give the host an instance role "
                "(default chain: environment, ~/.aws, instance metadata)",
                host=host,
            ) from None
        except aws.ClientError as exc:
            raise self._client_error(exc, action) from None
        except (aws.ConnectTimeoutError, aws.ReadTimeoutError) as exc:
            raise RegistryConnectTimeout(f"AWS: {action} timed out ({type(exc).__name__})", host=host) from None
        except aws.EndpointConnectionError as exc:
            raise RegistryUnavailable(f"AWS: cannot reach {self.redact(str(exc))}", host=host) from None
        except aws.BotoCoreError as exc:
            raise RegistryError(f"AWS: {action} failed: {self.redact(str(exc))}", host=host) from None

    def _client_error(self, exc: Any, action: str) -> RegistryError:
        error = exc.response.get("Error", {})
        code, message = str(error.get("Code", "")), self.redact(str(error.get("Message", "")))
        host, who = self.config.host, self.display_user
        if code in _DENIED:
            return RegistryPermissionDenied(
                f"AWS: 403 missing permission: {who} may not call {action}; attach the read-only ECR policy "
                f"(scripts/ecr-role.sh) ({message})",
                host=host,
                status=403,
            )
        if code in _EXPIRED:
            return RegistryTokenExpired(f"AWS: token expired for {who}: {message}", host=host, status=401)
        if code in _BAD_CREDENTIALS:
            return RegistryBadCredentials(f"AWS: 401 bad credentials ({who}): {message}", host=host, status=401)
        if code == "RepositoryNotFoundException":
            return RegistryNotFound(f"AWS: repository not found: {message}", host=host, status=404)
        if code in ("ThrottlingException", "TooManyRequestsException"):
            return RegistryRateLimited(f"AWS: {action} throttled: {message}", host=host)
        return RegistryError(f"AWS: {action} failed: {code} {message}".strip(), host=host)


def _assumed(base: Any, role_arn: str, client_options: dict[str, Any]) -> Any:
    """A boto3 session whose credentials come from `sts:AssumeRole` and renew themselves before they expire."""
    import boto3
    from botocore.credentials import RefreshableCredentials
    from botocore.session import get_session

    sts = base.client("sts", **client_options)

    def assume() -> dict[str, str]:
        issued = sts.assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME)["Credentials"]
        return {
            "access_key": issued["AccessKeyId"],
            "secret_key": issued["SecretAccessKey"],
            "token": issued["SessionToken"],
            "expiry_time": issued["Expiration"].isoformat(),
        }

    botocore_session = get_session()
    botocore_session._credentials = RefreshableCredentials.create_from_metadata(
        metadata=assume(), refresh_using=assume, method="sts-assume-role"
    )
    return boto3.session.Session(botocore_session=botocore_session, region_name=base.region_name)

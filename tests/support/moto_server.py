"""moto's AWS emulator as a real HTTP server on a free 127.0.0.1 port (ECR, STS), for the ECR provider tests.

boto3 talks to it over HTTP exactly as to AWS (signing, paging, errors); nothing in boto3 is patched.
Its GetAuthorizationToken password is `<account>-auth-token` and its `expiresAt` lies in 2015.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.registry import free_port

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """The emulator's URL; AWS credentials in the environment are fake, and instance metadata is off."""
    from moto.server import ThreadedMotoServer

    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"  # the default chain must never look for an instance role
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def ecr_client(url: str, account_region: str = REGION):  # type: ignore[no-untyped-def]
    """A boto3 ECR client for test setup (creating repositories, putting images), independent of the provider."""
    import boto3

    return boto3.client(
        "ecr",
        endpoint_url=url,
        region_name=account_region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

"""The idle process pays for no cloud SDK: providers import theirs only when a registry of theirs is used."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SDKS = ("boto3", "botocore", "azure", "msal", "google", "grpc", "proto", "moto")
AZURE = {"azure", "msal"}
GOOGLE = {"google", "grpc", "proto"}  # the AR package imports its gRPC transport and proto-plus types too


def loaded_sdks(code: str) -> list[str]:
    script = (
        "import django, json, sys; django.setup(); "
        + code
        + f"; print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(SDKS)!r}))))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "updater_project.settings"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_importing_the_providers_services_and_admin_loads_no_cloud_sdk():
    code = "import registries.providers, registries.services, registries.admin, registries.connection_test"
    assert loaded_sdks(code) == []


def test_using_an_ecr_registry_loads_boto3_only_then():
    code = (
        "from registries.providers import RegistryConfig, provider_for; "
        "p = provider_for(RegistryConfig(provider='ecr', host='123456789012.dkr.ecr.eu-west-1.amazonaws.com')); "
        "p._session()"
    )
    assert set(loaded_sdks(code)) == {"boto3", "botocore"}


def test_using_an_acr_registry_loads_the_azure_sdks_only_then():
    code = (
        "from registries.providers import RegistryConfig, provider_for; "
        "admin = provider_for(RegistryConfig(provider='acr', host='diut.azurecr.io', username='diut', secret='pw')); "
        "admin._registry_client().close(); "
        "sp = RegistryConfig(provider='acr', host='diut.azurecr.io', username='id', secret='s', "
        "options={'tenant_id': 't'}); "
        "provider_for(sp)._aad_credential()"
    )
    assert set(loaded_sdks(code)) == AZURE


def test_using_an_artifact_registry_loads_the_google_sdks_only_then():
    code = (
        "from registries.providers import RegistryConfig, provider_for; "
        "p = provider_for(RegistryConfig(provider='gcp', host='europe-west1-docker.pkg.dev', secret='ya29.x')); "
        "p._ar_client().transport.close()"
    )
    assert set(loaded_sdks(code)) == GOOGLE


def test_a_gcr_registry_with_a_pasted_token_needs_no_google_sdk():
    code = (
        "from registries.providers import RegistryConfig, provider_for; "
        "p = provider_for(RegistryConfig(provider='gcp', host='gcr.io', secret='ya29.x')); "
        "assert p.fetch_credentials().username == 'oauth2accesstoken'"
    )
    assert loaded_sdks(code) == []

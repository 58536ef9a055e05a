"""Registries from `.updater.env`: imported as read-only rows, updated only on change, removed when gone."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from registries.env_registries import sync_env_registries
from registries.models import Registry


def sync(variables):
    return sync_env_registries(lambda name: variables.get(name, ""))


ALL = {
    "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/updater-ecr-read",
    "AWS_REGION": "eu-west-1",
    "AZURE_REGISTRY": "diutacr",
    "AZURE_TENANT_ID": "tenant-1",
    "AZURE_CLIENT_ID": "client-1",
    "AZURE_CLIENT_SECRET": "azure-secret",
    "GCP_REGISTRY_URL": "europe-west1-docker.pkg.dev/demo-project/apps",
    "GCP_PROJECT": "demo-project",
    "GCP_SERVICE_ACCOUNT_JSON": json.dumps({"type": "service_account", "client_email": "a@b"}),
    "HARBOR_URL": "https://harbor.example.com",
    "HARBOR_USERNAME": "robot$apps+updater",
    "HARBOR_PASSWORD": "harbor-secret",
    "SWR_REGION": "cn-north-4",
    "SWR_ORGANIZATION": "apps",
    "SWR_ACCESS_KEY": "AKSWR",
    "SWR_SECRET_KEY": "swr-secret",
    "DO_REGISTRY": "diutreg",
    "DO_TOKEN": "dop_v1_secret",
    "DOCKERHUB_USERNAME": "diuthub",
    "DOCKERHUB_TOKEN": "dckr_pat_secret",
}


def test_every_provider_is_imported_from_its_variables(db):
    lines = sync(ALL)
    rows = {row.host: row for row in Registry.objects.all()}
    assert set(rows) == {
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        "diutacr.azurecr.io",
        "europe-west1-docker.pkg.dev",
        "harbor.example.com",
        "swr.cn-north-4.myhuaweicloud.com",
        "registry.digitalocean.com",
        "docker.io",
    }
    assert len(lines) == 7 and all(row.managed_by_env for row in rows.values())
    ecr = rows["123456789012.dkr.ecr.eu-west-1.amazonaws.com"]
    assert (ecr.provider, ecr.options) == ("ecr", {"role_arn": ALL["AWS_ROLE_ARN"]})
    acr = rows["diutacr.azurecr.io"]
    assert (acr.username, acr.get_secret(), acr.options) == ("client-1", "azure-secret", {"tenant_id": "tenant-1"})
    assert json.loads(rows["europe-west1-docker.pkg.dev"].get_secret())["client_email"] == "a@b"
    assert rows["harbor.example.com"].username == "robot$apps+updater"
    assert rows["swr.cn-north-4.myhuaweicloud.com"].options == {"region": "cn-north-4", "organization": "apps"}
    assert rows["docker.io"].get_secret() == "dckr_pat_secret"
    assert "azure-secret" not in rows["diutacr.azurecr.io"].secret_encrypted  # encrypted at rest


def test_a_rerun_without_changes_rewrites_nothing(db):
    sync(ALL)
    stamps = dict(Registry.objects.values_list("host", "updated_at"))
    assert sync(ALL) == []
    assert dict(Registry.objects.values_list("host", "updated_at")) == stamps


def test_a_changed_secret_updates_and_a_removed_registry_goes(db):
    sync(ALL)
    changed = {**ALL, "DO_TOKEN": "dop_v1_rotated"}
    del changed["HARBOR_URL"]
    lines = sync(changed)
    assert sorted(lines) == [
        "harbor.example.com: removed (no longer in the environment)",
        "registry.digitalocean.com: updated (DigitalOcean DOCR)",
    ]
    assert Registry.objects.get(host="registry.digitalocean.com").get_secret() == "dop_v1_rotated"


def test_an_admin_row_for_the_same_host_is_taken_over_and_said_so(db):
    Registry.objects.create(host="docker.io", provider="dockerhub", username="someone-else")
    lines = sync({"DOCKERHUB_USERNAME": "diuthub", "DOCKERHUB_TOKEN": "t"})
    assert lines[0] == "docker.io: replaces the registry entered in the admin (the environment wins)"
    assert Registry.objects.get(host="docker.io").managed_by_env


def test_gcp_key_may_be_a_file_path(db, tmp_path):
    key = tmp_path / "key.json"
    key.write_text(json.dumps({"type": "service_account"}))
    sync({"GCP_REGISTRY_URL": "gcr.io", "GCP_SERVICE_ACCOUNT_JSON": str(key)})
    assert json.loads(Registry.objects.get(host="gcr.io").get_secret()) == {"type": "service_account"}


def test_command_reads_the_environment_and_names_a_broken_key(db, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKERHUB_USERNAME", "diuthub")
    monkeypatch.setenv("DOCKERHUB_TOKEN", "dckr_pat_x")
    out = io.StringIO()
    call_command("sync_env_registries", stdout=out)
    assert "docker.io: imported (Docker Hub)" in out.getvalue()
    monkeypatch.setenv("GCP_REGISTRY_URL", "gcr.io")
    monkeypatch.setenv("GCP_SERVICE_ACCOUNT_JSON", str(tmp_path / "missing.json"))
    with pytest.raises(CommandError, match="GCP_SERVICE_ACCOUNT_JSON"):
        call_command("sync_env_registries", stdout=io.StringIO())

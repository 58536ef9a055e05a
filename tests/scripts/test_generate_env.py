"""scripts/generate_env.sh against the real Docker engine: containers whose image names look like each provider's
(a local busybox image tagged so, labelled and removed), detection, mode 0600, and a re-run keeping credentials."""

import contextlib
import stat
import uuid

import docker
import pytest

from tests.scripts.stubs import Sandbox
from tests.support.docker_env import SESSION_ID, TEST_LABEL, ImageSpec, build_image, docker_client

pytestmark = pytest.mark.e2e
RUN = uuid.uuid4().hex[:6]
IMAGES = {
    "ecr": f"123456789012.dkr.ecr.eu-west-3.amazonaws.com/diut{RUN}/app:1.0",
    "acr": f"diutacr{RUN}.azurecr.io/team/app:1.0",
    "gcp": f"europe-west1-docker.pkg.dev/demo-{RUN}/apps/web:1.0",
    "swr": f"swr.cn-north-4.myhuaweicloud.com/org{RUN}/app:1.0",
    "docr": f"registry.digitalocean.com/diutreg{RUN}/app:1.0",
    "dockerhub": f"diut{RUN}/app:1.0",
    "harbor": f"harbor{RUN}.example.com/apps/app:1.0",
}
SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAGENENV",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-genenv",
    "AZURE_CLIENT_ID": "client-genenv",
    "AZURE_CLIENT_SECRET": "azure-secret-genenv",
    "AZURE_TENANT_ID": "tenant-genenv",
    "GCP_SERVICE_ACCOUNT_JSON": "/etc/updater/gcp.json",
    "SWR_ACCESS_KEY": "AKSWRGENENV",
    "SWR_SECRET_KEY": "swr-secret-genenv",
    "DO_TOKEN": "dop_v1_genenv",
    "DOCKERHUB_USERNAME": "diuthub",
    "DOCKERHUB_TOKEN": "dckr_pat_genenv",
    "HARBOR_URL": f"https://harbor{RUN}.example.com",
    "HARBOR_USERNAME": "robot$apps+updater",
    "HARBOR_PASSWORD": "harbor-secret-genenv",
}


@pytest.fixture(scope="module")
def provider_containers(test_images):
    client = docker_client()
    base = f"diut-genenv-{RUN}:base"
    image_id = build_image(base, ImageSpec("1"))
    containers = []
    try:
        for reference in IMAGES.values():
            repository, _, tag = reference.rpartition(":")
            client.images.get(image_id).tag(repository, tag)
            containers.append(
                client.containers.run(
                    reference, detach=True, labels={TEST_LABEL: SESSION_ID}, name=f"diut-genenv-{uuid.uuid4().hex[:8]}"
                )
            )
        yield
    finally:
        for container in containers:
            with contextlib.suppress(docker.errors.APIError):
                container.remove(force=True)
        for reference in [*IMAGES.values(), base]:
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(reference, force=True)


def read_env(path):
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


def run_generate(tmp_path, *args, env=None, stdin=None):
    return Sandbox(tmp_path).run("generate_env.sh", *args, env=env, stdin=stdin)


def test_non_interactive_run_detects_each_provider_and_writes_a_private_file(tmp_path, provider_containers):
    output = tmp_path / ".updater.env"
    args = []
    for provider in ("ecr", "acr", "gcp", "harbor", "swr", "docr", "dockerhub"):
        args += ["--provider", provider]
    result = run_generate(
        tmp_path, *args, "--dockerhub", "private", "--non-interactive", "--output", str(output), env=SECRETS
    )
    assert result.returncode == 0, result.stderr
    values = read_env(output)
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    assert "123456789012.dkr.ecr.eu-west-3.amazonaws.com" in values["ECR_REGISTRY"].split(",")
    assert values["AWS_REGION"] and values["AWS_SECRET_ACCESS_KEY"] == "aws-secret-genenv"
    assert values["AZURE_REGISTRY"] and values["AZURE_CLIENT_SECRET"] == "azure-secret-genenv"
    assert values["GCP_REGISTRY_URL"] and values["GCP_PROJECT"]
    assert values["SWR_REGION"] == "cn-north-4" and values["SWR_ORGANIZATION"]
    assert values["DO_REGISTRY"] and values["DO_TOKEN"] == "dop_v1_genenv"
    assert values["DOCKERHUB_TOKEN"] == "dckr_pat_genenv"
    assert values["HARBOR_PASSWORD"] == "harbor-secret-genenv"
    # Only the chosen registry's containers are reported, with what was read from them.
    assert (
        IMAGES["swr"] in result.stderr and IMAGES["docr"] in result.stderr and "Harbor projects: apps" in result.stderr
    )
    assert not any(secret in result.stderr + result.stdout for secret in ("aws-secret-genenv", "dop_v1_genenv"))


def test_detection_reads_ids_from_this_run_images(tmp_path, provider_containers):
    output = tmp_path / ".updater.env"
    result = run_generate(
        tmp_path,
        "--provider",
        "docr",
        "--provider",
        "swr",
        "--non-interactive",
        "--output",
        str(output),
        env={"DO_TOKEN": "t", "SWR_ACCESS_KEY": "a", "SWR_SECRET_KEY": "s"},
    )
    assert result.returncode == 0, result.stderr
    assert f"diutreg{RUN}" in result.stderr and f"org{RUN}" in result.stderr
    assert "azurecr" not in result.stderr  # ACR was not chosen: its containers are not scanned


def test_a_rerun_keeps_credentials_and_other_settings(tmp_path, provider_containers):
    output = tmp_path / ".updater.env"
    output.write_text("UPDATER_SECRET_KEY=keep-me-0123456789\nDO_TOKEN=dop_v1_first\n")
    first = run_generate(tmp_path, "--provider", "docr", "--non-interactive", "--output", str(output))
    assert first.returncode == 0, first.stderr
    second = run_generate(
        tmp_path, "--provider", "docr", "--non-interactive", "--output", str(output), env={"DO_TOKEN": "dop_v1_other"}
    )
    assert second.returncode == 0, second.stderr
    values = read_env(output)
    assert values["DO_TOKEN"] == "dop_v1_first" and values["UPDATER_SECRET_KEY"] == "keep-me-0123456789"
    assert values["DO_REGISTRY"]
    third = run_generate(
        tmp_path, "--provider", "docr", "--non-interactive", "--output", str(output), "--set", "DO_TOKEN=dop_v1_rotated"
    )
    assert third.returncode == 0 and read_env(output)["DO_TOKEN"] == "dop_v1_rotated"


def test_interactive_menu_asks_only_what_is_missing(tmp_path, provider_containers):
    output = tmp_path / ".updater.env"
    # 6 = DigitalOcean, then the token typed (without echo).
    result = run_generate(tmp_path, "--output", str(output), stdin="6\ndop_v1_typed\n")
    assert result.returncode == 0, result.stderr
    assert "6) DigitalOcean DOCR" in result.stdout
    assert read_env(output)["DO_TOKEN"] == "dop_v1_typed" and "dop_v1_typed" not in result.stdout + result.stderr


def test_bad_arguments_fail_clearly(tmp_path):
    result = run_generate(tmp_path, "--provider", "quay", "--non-interactive")
    assert result.returncode == 1 and "unknown provider quay" in result.stderr

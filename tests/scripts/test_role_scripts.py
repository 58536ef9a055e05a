"""The *-role.sh scripts, run by bash with stand-in CLIs on PATH that record every call: the exact commands and
policies are checked, secrets never ride on a command line, and a missing tool or permission stops them early."""

import hashlib
import hmac
import json
import shutil
import subprocess

import pytest

from tests.scripts.stubs import ROOT, Sandbox


@pytest.fixture
def sandbox(tmp_path):
    return Sandbox(tmp_path)


def test_every_script_passes_shellcheck():
    if not shutil.which("shellcheck"):
        pytest.fail("shellcheck is missing: scripts/test.sh installs Debian's shellcheck")
    scripts = sorted(str(path) for path in (ROOT / "scripts").glob("*.sh"))
    result = subprocess.run(["shellcheck", "-x", *scripts], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("script", "tool", "args"),
    [
        ("ecr-role.sh", "aws", ["--region", "eu-west-1"]),
        ("acr-role.sh", "az", ["--registry", "diutacr"]),
        ("gcp-role.sh", "gcloud", ["--project", "p", "--registry", "gcr.io"]),
        ("harbor-role.sh", "curl", ["--url", "https://h", "--project", "p"]),
        ("swr-role.sh", "docker", ["--region", "cn-north-4"]),
        ("docr-role.sh", "curl", []),
    ],
)
def test_a_missing_tool_stops_the_script_naming_it(tmp_path, script, tool, args):
    sandbox = Sandbox(tmp_path, without=(tool,))
    result = sandbox.run(script, *args, env={"HARBOR_ADMIN_PASSWORD": "x", "DO_TOKEN": "x"})
    assert result.returncode == 1
    assert f"{tool} is required but not installed" in result.stderr
    assert sandbox.calls() == []  # nothing was attempted


def test_ecr_role_creates_a_read_only_role_and_prints_the_variables(sandbox):
    sandbox.stub(
        "aws",
        [
            {"match": ["sts get-caller-identity"], "stdout": "123456789012\n"},
            {"match": ["iam get-role"], "exit": 254, "stderr": "NoSuchEntity"},
        ],
    )
    result = sandbox.run("ecr-role.sh", "--region", "eu-west-1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "AWS_ROLE_ARN=arn:aws:iam::123456789012:role/docker-image-updater-ecr-read",
        "AWS_REGION=eu-west-1",
        "ECR_REGISTRY=123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    ]
    calls = {call.argv[1]: call.argv for call in sandbox.calls("aws")}
    trust = json.loads(calls["create-role"][calls["create-role"].index("--assume-role-policy-document") + 1])
    assert trust["Statement"] == [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}
    ]
    assert "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly" in calls["attach-role-policy"]
    assert calls["describe-repositories"][-4:] == ["--region", "eu-west-1", "--max-items", "1"]


def test_ecr_role_without_iam_permission_says_which_one(sandbox):
    sandbox.stub(
        "aws",
        [
            {"match": ["sts get-caller-identity"], "stdout": "123456789012\n"},
            {"match": ["iam get-role"], "exit": 254},
            {"match": ["iam create-role"], "exit": 254, "stderr": "AccessDenied"},
        ],
    )
    result = sandbox.run("ecr-role.sh", "--region", "eu-west-1")
    assert result.returncode == 1 and "needs iam:CreateRole" in result.stderr
    assert not any(call.argv[:2] == ["iam", "attach-role-policy"] for call in sandbox.calls("aws"))


def test_acr_role_grants_acrpull_on_the_registry_only(sandbox):
    scope = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/diutacr"
    sandbox.stub(
        "az",
        [
            {"match": ["acr show"], "stdout": scope + "\n"},
            {"match": ["ad sp create-for-rbac"], "stdout": "app-id-1\nsp-secret-1\ntenant-1\n"},
        ],
    )
    result = sandbox.run("acr-role.sh", "--registry", "diutacr.azurecr.io")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "AZURE_REGISTRY=diutacr.azurecr.io",
        "AZURE_TENANT_ID=tenant-1",
        "AZURE_CLIENT_ID=app-id-1",
        "AZURE_CLIENT_SECRET=sp-secret-1",
    ]
    create = sandbox.calls("az")[1].argv
    assert create[:3] == ["ad", "sp", "create-for-rbac"]
    assert create[create.index("--role") + 1] == "AcrPull" and create[create.index("--scopes") + 1] == scope


@pytest.mark.parametrize(
    ("flag", "role"), [([], "roles/artifactregistry.reader"), (["--gcr"], "roles/storage.objectViewer")]
)
def test_gcp_role_creates_a_reader_service_account_and_a_key(sandbox, flag, role):
    sandbox.stub("gcloud", [{"match": ["service-accounts describe"], "exit": 1}])
    result = sandbox.run("gcp-role.sh", "--project", "demo", "--registry", "europe-west1-docker.pkg.dev", *flag)
    assert result.returncode == 0, result.stderr
    key = f"{sandbox.bin.parent}/docker-image-updater-demo.json"
    assert result.stdout.splitlines() == [
        "GCP_PROJECT=demo",
        "GCP_REGISTRY_URL=europe-west1-docker.pkg.dev",
        f"GCP_SERVICE_ACCOUNT_JSON={key}",
    ]
    lines = [call.line for call in sandbox.calls("gcloud")]
    account = "docker-image-updater@demo.iam.gserviceaccount.com"
    assert lines[1].startswith("gcloud iam service-accounts create docker-image-updater --project demo")
    assert f"projects add-iam-policy-binding demo --member serviceAccount:{account} --role {role}" in lines[2]
    assert lines[3].startswith(f"gcloud iam service-accounts keys create {key} --iam-account {account}")


def test_harbor_role_creates_a_project_robot_and_checks_it(sandbox):
    robot = {"name": "robot$apps+updater", "secret": "robot-secret-77"}
    sandbox.stub(
        "curl",
        [
            {"match": ["POST", "/api/v2.0/robots"], "stdout": json.dumps(robot)},
            {"match": ["/api/v2.0/projects/apps"], "stdout": "{}"},
        ],
    )
    result = sandbox.run(
        "harbor-role.sh", "--url", "https://harbor.example.com/", "--project", "apps",
        env={"HARBOR_ADMIN_PASSWORD": 'adm"in-pw'},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "HARBOR_URL=https://harbor.example.com",
        "HARBOR_USERNAME=robot$apps+updater",
        "HARBOR_PASSWORD=robot-secret-77",
    ]
    calls = sandbox.calls("curl")
    assert [call.stdin for call in calls] == [
        'user = "admin:adm\\"in-pw"\n',
        'user = "admin:adm\\"in-pw"\n',
        'user = "robot$apps+updater:robot-secret-77"\n',
    ]
    assert not any("adm" in arg or "robot-secret" in arg for call in calls for arg in call.argv)
    request = json.loads(calls[1].argv[calls[1].argv.index("--data") + 1])
    assert request["level"] == "project" and request["permissions"][0]["namespace"] == "apps"
    access = {(a["resource"], a["action"]) for a in request["permissions"][0]["access"]}
    assert access == {
        ("repository", "pull"),
        ("repository", "list"),
        ("artifact", "list"),
        ("artifact", "read"),
        ("tag", "list"),
    }


def test_swr_role_logs_in_with_the_documented_login_key(sandbox):
    sandbox.stub("docker", [])
    env = {"SWR_ACCESS_KEY": "AKSWRTEST", "SWR_SECRET_KEY": "sk-swr-secret"}
    result = sandbox.run("swr-role.sh", "--region", "cn-north-4", "--organization", "apps", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "SWR_REGION=cn-north-4",
        "SWR_ORGANIZATION=apps",
        "SWR_ACCESS_KEY=AKSWRTEST",
        "SWR_SECRET_KEY=sk-swr-secret",
    ]
    (login,) = sandbox.calls("docker")
    assert login.argv == [
        "login",
        "--username",
        "cn-north-4@AKSWRTEST",
        "--password-stdin",
        "swr.cn-north-4.myhuaweicloud.com",
    ]
    assert login.stdin == hmac.new(b"sk-swr-secret", b"AKSWRTEST", hashlib.sha256).hexdigest()


def test_swr_role_refused_login_is_a_clear_failure(sandbox):
    sandbox.stub("docker", [{"match": ["login"], "exit": 1, "stderr": "unauthorized"}])
    result = sandbox.run("swr-role.sh", "--region", "cn-north-4", env={"SWR_ACCESS_KEY": "A", "SWR_SECRET_KEY": "S"})
    assert result.returncode == 1 and "refused the login key" in result.stderr and result.stdout == ""


def test_docr_role_checks_the_token_and_logs_docker_in(sandbox):
    sandbox.stub("curl", [{"match": ["/v2/registry"], "stdout": json.dumps({"registry": {"name": "diutreg"}})}])
    sandbox.stub("docker", [])
    result = sandbox.run("docr-role.sh", env={"DO_TOKEN": "dop_v1_script"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["DO_REGISTRY=diutreg", "DO_TOKEN=dop_v1_script"]
    (check,) = sandbox.calls("curl")
    assert check.stdin == 'header = "Authorization: Bearer dop_v1_script"\n' and "dop_v1_script" not in check.argv
    (login,) = sandbox.calls("docker")
    assert login.argv[-2:] == ["--password-stdin", "registry.digitalocean.com"] and login.stdin == "dop_v1_script"


def test_docr_role_without_a_token_and_no_terminal_says_so(sandbox):
    sandbox.stub("curl", [])
    sandbox.stub("docker", [])
    result = sandbox.run("docr-role.sh", stdin="")
    assert result.returncode == 1 and "DO_TOKEN is not set" in result.stderr

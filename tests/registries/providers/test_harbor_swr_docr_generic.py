"""Harbor, Huawei SWR, DigitalOcean DOCR (documented APIs emulated, real registry for OCI) and the generic
provider's private CA over real TLS."""

import base64
import subprocess

import pytest

from registries.client import RegistryBadCredentials, RegistryPermissionDenied, RegistryTLSError
from registries.configs import provider_for_host
from registries.models import Registry
from registries.providers.swr import login_key
from registries.services import registry_client_for, registry_docker_auth, repository_tags
from tests.support.fake_registry import FakeResponse
from tests.support.provider_apis import registry_users, serve_docr, serve_harbor, serve_swr
from tests.support.registry_helpers import unique_repository
from tests.support.tls_server import run_tls_registry


def make_row(host, provider, endpoint, *, username="", secret="", **options):
    row = Registry(host=host, provider=provider, endpoint=endpoint, username=username, options=options)
    row.set_secret(secret)
    row.save()
    return row


def decoded(auth, key):
    return base64.b64decode(auth[key]["auth"]).decode()


# --- Harbor -------------------------------------------------------------------------------------------

ROBOT, ROBOT_SECRET = "robot$diut+updater", "harbor-robot-secret-5a"


def test_harbor_robot_account_lists_tag_push_times_and_pulls(db, token_registry, fake_registry):
    repository = unique_repository("diut") + "/nested"  # a `/` in the repository: double-encoded in the API path
    first = token_registry.push_image(repository, "1.0")
    second = token_registry.push_image(repository, "2.0")
    serve_harbor(
        fake_registry,
        repository,
        [
            {
                "digest": first,
                "push_time": "2026-01-01T00:00:00Z",
                "tags": [{"name": "1.0", "push_time": "2026-01-02T00:00:00.000Z"}],
            },
            {"digest": second, "push_time": "2026-03-01T00:00:00Z", "tags": [{"name": "2.0"}]},
        ],
        login=(ROBOT, ROBOT_SECRET),
    )
    make_row(
        "harbor.diut.test",
        "harbor",
        token_registry.host,
        username=ROBOT,
        secret=ROBOT_SECRET,
        api_url=fake_registry.url,
    )
    listing = repository_tags("harbor.diut.test", repository)
    assert (listing.source, listing.tags) == ("Harbor API v2.0 artifacts", ["1.0", "2.0"])
    assert listing.digests == {"1.0": first, "2.0": second}
    assert listing.push_times["1.0"].isoformat() == "2026-01-02T00:00:00+00:00"  # the tag's own push time
    assert listing.push_times["2.0"].isoformat() == "2026-03-01T00:00:00+00:00"  # else the artifact's
    with registry_users(token_registry, {ROBOT: ROBOT_SECRET}):
        assert registry_client_for("harbor.diut.test").head_digest(repository, "2.0") == second


def test_harbor_403_explains_what_a_robot_needs(db, fake_registry):
    fake_registry.route("GET", "/api/v2.0/projects/diut/repositories/app/artifacts", FakeResponse(403, {}))
    row = make_row("harbor.diut.test", "harbor", "", username=ROBOT, secret=ROBOT_SECRET, api_url=fake_registry.url)
    provider, _ = provider_for_host(row.host)
    with pytest.raises(RegistryPermissionDenied, match="repository:pull and artifact:list"):
        provider.list_tags_with_times("diut/app", registry_client_for(row.host))


# --- Huawei SWR ---------------------------------------------------------------------------------------

AK, SK = "HPUAEMULATEDAK0001", "emulated-sk-Zq8u2"
SWR_HOST = "swr.cn-north-4.myhuaweicloud.com"


def test_swr_login_key_is_the_documented_hmac(db):
    recipe = subprocess.run(  # SWR's documented shell recipe, as an independent check
        ["openssl", "dgst", "-sha256", "-hmac", SK], input=AK.encode(), capture_output=True, check=True
    ).stdout.decode()
    assert login_key(AK, SK) == recipe.split("= ")[-1].strip()
    make_row(SWR_HOST, "swr", "", username=AK, secret=SK)
    assert decoded(registry_docker_auth(SWR_HOST), SWR_HOST) == f"cn-north-4@{AK}:{login_key(AK, SK)}"


def test_swr_tags_from_the_signed_management_api_and_pulls_with_the_login_key(db, token_registry, fake_registry):
    repository = unique_repository("diutorg")
    digest = token_registry.push_image(repository, "v5")
    serve_swr(
        fake_registry,
        repository,
        [{"Tag": "v5", "digest": digest, "created": "2026-01-01T00:00:00Z", "updated": "2026-02-02T02:02:02Z"}],
        access_key=AK,
        secret_key=SK,
    )
    make_row(SWR_HOST, "swr", token_registry.host, username=AK, secret=SK, api_url=fake_registry.url)
    listing = repository_tags(SWR_HOST, repository)
    assert (listing.source, listing.tags, listing.digests) == ("SWR management API", ["v5"], {"v5": digest})
    assert listing.push_times["v5"].isoformat() == "2026-02-02T02:02:02+00:00"
    with registry_users(token_registry, {f"cn-north-4@{AK}": login_key(AK, SK)}):
        assert registry_client_for(SWR_HOST).head_digest(repository, "v5") == digest


def test_swr_wrong_secret_key_is_refused_by_the_signature_check(db, fake_registry):
    serve_swr(fake_registry, "org/app", [], access_key=AK, secret_key=SK)
    make_row(SWR_HOST, "swr", fake_registry.host, username=AK, secret="not-the-sk", api_url=fake_registry.url)
    provider, _ = provider_for_host(SWR_HOST)
    with pytest.raises(RegistryBadCredentials, match="Huawei Cloud SWR: 401 bad credentials") as caught:
        provider.list_tags_with_times("org/app", registry_client_for(SWR_HOST))
    assert "not-the-sk" not in str(caught.value)


def test_swr_pre_generated_login_key_is_used_as_is(db, registry):
    repository = unique_repository("diutorg")
    registry.push_image(repository, "v1")
    make_row(SWR_HOST, "swr", registry.host, username=f"cn-north-4@{AK}", secret="pre-generated-login-key")
    assert decoded(registry_docker_auth(SWR_HOST), SWR_HOST) == f"cn-north-4@{AK}:pre-generated-login-key"
    assert repository_tags(SWR_HOST, repository).source == "distribution tag list"


# --- DigitalOcean -------------------------------------------------------------------------------------

DO_TOKEN = "dop_v1_emulated0123456789abcdef"


def test_docr_token_lists_tags_with_update_times_and_pulls(db, token_registry, fake_registry):
    repository = unique_repository("diutreg")
    digests = {tag: token_registry.push_image(repository, tag) for tag in ("a1", "a2", "a3")}
    serve_docr(
        fake_registry,
        repository,
        [
            {"tag": t, "manifest_digest": d, "updated_at": f"2026-06-0{i + 1}T00:00:00Z"}
            for i, (t, d) in enumerate(digests.items())
        ],
        token=DO_TOKEN,
    )
    make_row("registry.digitalocean.com", "docr", token_registry.host, secret=DO_TOKEN, api_url=fake_registry.url)
    listing = repository_tags("registry.digitalocean.com", repository)
    assert (listing.tags, listing.digests) == (["a1", "a2", "a3"], digests)
    assert listing.push_times["a3"].isoformat() == "2026-06-03T00:00:00+00:00"
    with registry_users(token_registry, {DO_TOKEN: DO_TOKEN}):
        assert registry_client_for("registry.digitalocean.com").head_digest(repository, "a1") == digests["a1"]


def test_docr_refused_token_says_it_may_have_expired(db, token_registry):
    make_row("registry.digitalocean.com", "docr", token_registry.host, secret="dop_v1_revoked")
    with pytest.raises(RegistryBadCredentials, match="30 days") as caught:
        registry_client_for("registry.digitalocean.com").list_tags("diutreg/app")
    assert "dop_v1_revoked" not in str(caught.value)


# --- Generic: a private CA over real TLS ----------------------------------------------------------------


def test_generic_registry_with_a_private_ca(db, tmp_path):
    with run_tls_registry(tmp_path, {"team/app": ["1.0", "1.1"]}) as tls:
        row = make_row(tls.host, "generic", "")
        with pytest.raises(RegistryTLSError, match="CA certificate field"):
            registry_client_for(tls.host).list_tags("team/app")
        row.ca_certificate = tls.ca_pem
        row.save()
        assert registry_client_for(tls.host).list_tags("team/app") == ["1.0", "1.1"]

"""RegistryClient against an EMULATED registry (tests.support.fake_registry) for what the real one cannot do:
pagination styles, 429/5xx with retries, timeouts, malformed answers, missing digest headers, redirects."""

import hashlib
import json
import time

import pytest

from registries.client import (
    KNOWN_SCHEMES,
    OCI_MANIFEST,
    RegistryClient,
    RegistryError,
    RegistryNotFound,
    RegistryProtocolError,
    RegistryRateLimited,
    RegistryUnavailable,
)
from tests.support.fake_registry import FakeResponse, RecordedRequest
from tests.support.registry import free_port
from tests.support.registry_helpers import fake_client

TAGS = "/v2/app/tags/list"
MANIFEST_BODY = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {}, "layers": []}).encode()
MANIFEST_DIGEST = "sha256:" + hashlib.sha256(MANIFEST_BODY).hexdigest()


@pytest.fixture(autouse=True)
def fresh_scheme_cache():
    """Each test meets the registry as a new process would, so request counts include the https probe."""
    KNOWN_SCHEMES.clear()


def tags_page(tags, **headers):
    return FakeResponse(200, {"name": "app", "tags": tags}, headers=headers)


# --- pagination ---------------------------------------------------------------------------------


def test_link_pagination_with_relative_link(fake_registry):
    client = fake_client(fake_registry)
    fake_registry.route(
        "GET",
        TAGS,
        tags_page(["a", "b"], Link='</v2/app/tags/list?n=2&last=b>; rel="next"'),
        tags_page(["c"]),
    )
    assert client.list_tags("app") == ["a", "b", "c"]
    requests = fake_registry.requests_to(TAGS)
    assert [request.query for request in requests] == [{"n": "1000"}, {"n": "2", "last": "b"}]


def test_link_pagination_with_absolute_same_origin_link(fake_registry):
    client = fake_client(fake_registry)
    fake_registry.route(
        "GET",
        TAGS,
        tags_page(["a"], Link=f'<{fake_registry.url}/v2/app/tags/list?last=a&n=1>; rel="next"'),
        tags_page(["b"], Link=f'<{fake_registry.url}/v2/app/tags/list?last=b&n=1>; rel="next"'),
        tags_page([]),
    )
    assert client.list_tags("app") == ["a", "b"]
    assert client.request_count == 3


def test_cross_origin_link_is_refused(fake_registry, other_fake_registry):
    client = fake_client(fake_registry)
    fake_registry.route("GET", TAGS, tags_page(["a"], Link=f'<{other_fake_registry.url}{TAGS}?last=a>; rel="next"'))
    with pytest.raises(RegistryProtocolError, match="cross-origin"):
        client.list_tags("app")
    assert other_fake_registry.requests == []


def test_n_and_last_pagination_without_link(fake_registry):
    all_tags = [f"t{number:02d}" for number in range(7)]

    def paginate(request: RecordedRequest) -> FakeResponse:
        after = request.query.get("last")
        remaining = [tag for tag in all_tags if after is None or tag > after]
        return tags_page(remaining[: int(request.query["n"])])

    client = fake_client(fake_registry)
    client.page_size = 3
    fake_registry.handler("GET", TAGS, paginate)
    assert client.list_tags("app") == all_tags
    queries = [request.query for request in fake_registry.requests_to(TAGS)]
    assert queries == [{"n": "3"}, {"n": "3", "last": "t02"}, {"n": "3", "last": "t05"}]


def test_link_loop_stops(fake_registry):
    client = fake_client(fake_registry)
    fake_registry.route("GET", TAGS, tags_page(["a"], Link=f'<{TAGS}>; rel="next"'))
    assert client.list_tags("app") == ["a"]
    assert client.request_count == 2


def test_null_tags_is_an_empty_list(fake_registry):
    client = fake_client(fake_registry)
    fake_registry.route("GET", TAGS, FakeResponse(200, {"name": "app", "tags": None}))
    assert client.list_tags("app") == []


# --- retries ------------------------------------------------------------------------------------


def test_429_then_success_honours_retry_after(fake_registry):
    client = fake_client(fake_registry, retries=2)
    fake_registry.route("GET", TAGS, FakeResponse(429, headers={"Retry-After": "1"}), tags_page(["a"]))
    started = time.monotonic()
    assert client.list_tags("app") == ["a"]
    assert time.monotonic() - started >= 1.0
    assert client.request_count == 2
    first, second = fake_registry.requests_to(TAGS)
    assert second.at - first.at >= 1.0


def test_429_with_retry_after_beyond_cap_gives_up_at_once(fake_registry):
    client = fake_client(fake_registry, retries=3, max_retry_after=5)
    fake_registry.route("GET", TAGS, FakeResponse(429, headers={"Retry-After": "3600"}))
    with pytest.raises(RegistryRateLimited) as caught:
        client.list_tags("app")
    assert caught.value.retry_after == 3600
    assert client.request_count == 1


def test_persistent_429_raises_rate_limited_after_retries(fake_registry):
    client = fake_client(fake_registry, retries=2)
    fake_registry.route("GET", TAGS, FakeResponse(429, {"errors": [{"code": "TOOMANYREQUESTS", "message": "slow"}]}))
    with pytest.raises(RegistryRateLimited, match="after 3 attempts"):
        client.list_tags("app")
    assert client.request_count == 3


def test_persistent_500_raises_unavailable_after_retries(fake_registry):
    client = fake_client(fake_registry, retries=2)
    fake_registry.route("GET", TAGS, FakeResponse(500, "oops"))
    with pytest.raises(RegistryUnavailable, match="HTTP 500") as caught:
        client.list_tags("app")
    assert caught.value.status == 500
    assert client.request_count == 3


def test_503_then_success_retries_with_backoff(fake_registry):
    client = fake_client(fake_registry, retries=3)
    fake_registry.route("GET", TAGS, FakeResponse(503), FakeResponse(502), tags_page(["a"]))
    assert client.list_tags("app") == ["a"]
    assert client.request_count == 3


def test_400_is_not_retried(fake_registry):
    client = fake_client(fake_registry, retries=3)
    fake_registry.route("GET", TAGS, FakeResponse(400, {"errors": [{"code": "NAME_INVALID", "message": "bad"}]}))
    with pytest.raises(RegistryError, match="NAME_INVALID") as caught:
        client.list_tags("app")
    assert (type(caught.value), caught.value.status, caught.value.code) == (RegistryError, 400, "NAME_INVALID")
    assert client.request_count == 1


def test_refused_page_size_falls_back_to_no_n(fake_registry):
    invalid = {"errors": [{"code": "PAGINATION_NUMBER_INVALID", "message": "invalid number of results requested"}]}

    def maxtags_100(request: RecordedRequest) -> FakeResponse:  # distribution 3.1 with tags.maxtags: 100
        if int(request.query.get("n", "0")) > 100:
            return FakeResponse(400, invalid)
        return tags_page(["a", "b"])

    client = fake_client(fake_registry)
    fake_registry.handler("GET", TAGS, maxtags_100)
    assert client.list_tags("app") == ["a", "b"]
    assert [request.query for request in fake_registry.requests_to(TAGS)] == [{"n": "1000"}, {}]


def test_slow_answer_times_out_as_unavailable(fake_registry):
    client = fake_client(fake_registry, timeout=0.2, retries=1)
    fake_registry.route("GET", TAGS, FakeResponse(200, {"tags": []}, delay=1.5))
    started = time.monotonic()
    with pytest.raises(RegistryUnavailable, match="timed out"):
        client.list_tags("app")
    assert time.monotonic() - started < 1.5
    assert client.request_count == 2


def test_connection_refused_is_unavailable():
    client = RegistryClient(f"127.0.0.1:{free_port()}", timeout=1, retries=1, backoff=0.01)
    with pytest.raises(RegistryUnavailable, match="Connection refused"):
        client.ping()
    assert client.request_count == 4  # https then http, twice


def test_first_contact_probes_https_then_remembers_http(fake_registry):
    fake_registry.route("GET", "/v2/", FakeResponse(200, {}))
    client = RegistryClient(fake_registry.host, timeout=2, retries=0)
    client.ping()
    client.ping()
    assert client.request_count == 3
    assert len(fake_registry.requests) == 2  # the https probe never became an HTTP request


# --- malformed answers --------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '{"tags": "latest"}', '{"tags": [1, 2]}'])
def test_malformed_tag_list_is_protocol_error(fake_registry, body):
    client = fake_client(fake_registry)
    fake_registry.route("GET", TAGS, FakeResponse(200, body))
    with pytest.raises(RegistryProtocolError):
        client.list_tags("app")


def test_malformed_manifest_is_protocol_error(fake_registry):
    client = fake_client(fake_registry)
    fake_registry.route("GET", "/v2/app/manifests/1.0", FakeResponse(200, b"\xff\xfe not json"))
    with pytest.raises(RegistryProtocolError, match="not valid JSON"):
        client.get_manifest("app", "1.0")


def test_malformed_digest_header_is_protocol_error(fake_registry):
    client = fake_client(fake_registry)
    fake_registry.route("HEAD", "/v2/app/manifests/1.0", FakeResponse(200, headers={"Docker-Content-Digest": "md5:x"}))
    with pytest.raises(RegistryProtocolError, match="malformed digest"):
        client.head_digest("app", "1.0")


def test_manifest_not_matching_its_digest_header_is_protocol_error(fake_registry):
    client = fake_client(fake_registry)
    wrong = "sha256:" + "0" * 64
    fake_registry.route(
        "GET", "/v2/app/manifests/1.0", FakeResponse(200, MANIFEST_BODY, {"Docker-Content-Digest": wrong})
    )
    with pytest.raises(RegistryProtocolError, match="does not match"):
        client.get_manifest("app", "1.0")


def test_oversized_blob_is_refused(fake_registry):
    client = fake_client(fake_registry)
    digest = "sha256:" + "1" * 64
    fake_registry.route("GET", f"/v2/app/blobs/{digest}", FakeResponse(200, b"x" * 5000))
    with pytest.raises(RegistryProtocolError, match="larger than"):
        client.get_blob("app", digest, max_size=4096)


# --- digests ------------------------------------------------------------------------------------


def test_head_without_digest_header_falls_back_to_get_and_hashes_the_body(fake_registry):
    client = fake_client(fake_registry)
    path = "/v2/app/manifests/1.0"
    fake_registry.route("HEAD", path, FakeResponse(200, headers={"Content-Type": OCI_MANIFEST}))
    fake_registry.route("GET", path, FakeResponse(200, MANIFEST_BODY, {"Content-Type": OCI_MANIFEST}))
    assert client.head_digest("app", "1.0") == MANIFEST_DIGEST
    assert [request.method for request in fake_registry.requests_to(path)] == ["HEAD", "GET"]
    assert client.request_count == 2


def test_manifest_requests_accept_all_four_media_types(fake_registry):
    client = fake_client(fake_registry)
    fake_registry.route(
        "HEAD", "/v2/app/manifests/1.0", FakeResponse(200, headers={"Docker-Content-Digest": MANIFEST_DIGEST})
    )
    client.head_digest("app", "1.0")
    accept = fake_registry.requests[-1].headers["Accept"]
    for media_type in (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ):
        assert media_type in accept


def test_manifest_media_type_is_inferred_when_absent(fake_registry):
    client = fake_client(fake_registry)
    body = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    fake_registry.route("GET", "/v2/app/manifests/1.0", FakeResponse(200, body, {"Content-Type": "application/json"}))
    assert client.get_manifest("app", "1.0").is_index


def test_head_404_is_not_found(fake_registry):
    client = fake_client(fake_registry)
    fake_registry.route("HEAD", "/v2/app/manifests/9.9", FakeResponse(404))
    with pytest.raises(RegistryNotFound, match=r"app:9\.9"):
        client.head_digest("app", "9.9")

"""Each family's verification and parsing, on payloads in its documented shape."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from registries.webhooks import FAMILIES, Incoming, Push, WebhookRefused
from tests.registries.webhooks import payloads

SECRET = "hook-secret-0f3c"


def incoming(body: bytes, **headers: str) -> Incoming:
    return Incoming(body=body, headers={name.replace("_", "-"): value for name, value in headers.items()})


def parse(family: str, body: bytes, **headers: str):
    return FAMILIES[family].parse(incoming(body, **headers))


def test_distribution_keeps_tagged_manifest_pushes_only():
    body = payloads.distribution(
        payloads.distribution_event("team/app", media_type="application/vnd.oci.image.layer.v1.tar+gzip"),
        payloads.distribution_event("team/app", "1.1.0", timestamp="2016-03-09T14:44:26.402973972-08:00"),
        payloads.distribution_event("team/app"),  # a child manifest pushed by digest
        payloads.distribution_event("team/app", "1.1.0", action="pull"),
    )
    delivery = parse("distribution", body)
    assert delivery.pushes == (Push("team/app", "1.1.0", payloads.DIGEST),)
    assert delivery.sent_at == datetime(2016, 3, 9, 22, 44, 26, 402973, tzinfo=UTC)
    assert delivery.delivery_id.startswith("events:") and delivery.delivery_id.count(",") == 3


@pytest.mark.parametrize("family", ["distribution", "gitlab", "harbor", "acr"])
def test_header_families_need_the_secret_when_one_is_set(family):
    body = payloads.distribution(payloads.distribution_event("a/b", "1"))
    FAMILIES[family].verify(incoming(body), "")  # no secret configured: the URL token alone
    FAMILIES[family].verify(incoming(body, Authorization=SECRET), SECRET)
    FAMILIES[family].verify(incoming(body, Authorization=f"Bearer {SECRET}"), SECRET)
    with pytest.raises(WebhookRefused) as missing:
        FAMILIES[family].verify(incoming(body), SECRET)
    with pytest.raises(WebhookRefused) as wrong:
        FAMILIES[family].verify(incoming(body, Authorization=f"Bearer {SECRET}x"), SECRET)
    assert (missing.value.status, wrong.value.status) == (401, 403)
    assert SECRET not in wrong.value.reason


def test_docker_hub_push_and_a_forged_callback():
    delivery = parse("dockerhub", payloads.dockerhub("acme/shop", "2.0"))
    assert delivery.pushes == (Push("acme/shop", "2.0"),)
    assert delivery.sent_at is not None and delivery.delivery_id.startswith("sha256:")
    with pytest.raises(WebhookRefused) as forged:
        parse("dockerhub", payloads.dockerhub(callback_url="https://evil.example.com/hook/"))
    assert forged.value.status == 403


def test_harbor_push_artifact_and_other_events():
    delivery = parse("harbor", payloads.harbor("library/nginx", "v1.0"))
    assert delivery.pushes == (Push("library/nginx", "v1.0", payloads.DIGEST),)
    assert parse("harbor", payloads.harbor(kind="DELETE_ARTIFACT")).pushes == ()


def test_acr_push_and_digest_only_pushes():
    delivery = parse("acr", payloads.acr("hello-world", "v1"))
    assert delivery.pushes == (Push("hello-world", "v1", payloads.DIGEST),)
    assert delivery.delivery_id == "acr:cb8c3971-9adc-488b-bdd8-43cbb4974ff5"
    assert parse("acr", payloads.acr(tag="")).pushes == ()
    assert parse("acr", payloads.acr(action="delete")).pushes == ()


def test_github_package_events_are_verified_by_their_hmac_signature():
    body = payloads.github_package("Octo-Org", "hello-world", "1.2.3")
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X_GitHub_Event": "package", "X_GitHub_Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}
    github = FAMILIES["github"]
    github.verify(incoming(body, X_Hub_Signature_256=signature, **headers), SECRET)
    for presented, status in ((None, 401), ("sha256=" + "0" * 64, 403)):
        extra = {"X_Hub_Signature_256": presented} if presented else {}
        with pytest.raises(WebhookRefused) as refused:
            github.verify(incoming(body, **extra, **headers), SECRET)
        assert refused.value.status == status
    tampered = body.replace(b"1.2.3", b"6.6.6")
    with pytest.raises(WebhookRefused):
        github.verify(incoming(tampered, X_Hub_Signature_256=signature, **headers), SECRET)
    with pytest.raises(WebhookRefused):  # GitHub always signs: no secret here is a misconfiguration
        github.verify(incoming(body, X_Hub_Signature_256=signature, **headers), "")
    delivery = github.parse(incoming(body, **headers))
    assert delivery.pushes == (Push("octo-org/hello-world", "1.2.3"),)  # OCI names are lowercase
    assert delivery.delivery_id == "github:72d3162e-cc78-11e3-81ab-4c9367dc0958"
    assert github.parse(incoming(b"{}", X_GitHub_Event="ping", X_GitHub_Delivery="1")).pushes == ()


def test_quay_pushes_every_updated_tag():
    delivery = parse("quay", payloads.quay("mynamespace/repository", ("latest", "1.0")))
    assert delivery.pushes == (Push("mynamespace/repository", "latest"), Push("mynamespace/repository", "1.0"))
    assert delivery.delivery_id == ""  # Quay sends neither an id nor a time


@pytest.mark.parametrize(
    "family, body",
    [
        ("distribution", b"not json"),
        ("distribution", b'{"events": "nope"}'),
        ("dockerhub", b'{"push_data": {}}'),
        ("harbor", b"[]"),
        ("quay", b'{"repository": "a/b"}'),
        ("distribution", payloads.distribution(payloads.distribution_event("../etc/passwd", "1"))),
        ("quay", payloads.quay("a/b", ("bad tag!",))),
    ],
)
def test_unknown_or_malformed_payloads_are_refused(family, body):
    with pytest.raises(WebhookRefused) as refused:
        parse(family, body)
    assert refused.value.status == 400

"""The client's header and document parsers: challenges, Retry-After, Link, created times, platforms."""

from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from registries.client import (
    is_loopback,
    next_link,
    parse_challenges,
    parse_created,
    parse_retry_after,
    pick_challenge,
    select_platform,
)


def test_parse_bearer_challenge():
    [challenge] = parse_challenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"'
    )
    assert (challenge.scheme, challenge.realm, challenge.service, challenge.scope) == (
        "bearer",
        "https://auth.docker.io/token",
        "registry.docker.io",
        "repository:library/nginx:pull",
    )


def test_parse_challenge_keeps_commas_inside_quotes():
    [challenge] = parse_challenges('Bearer realm="https://a/token",scope="repository:x:pull,push"')
    assert challenge.scope == "repository:x:pull,push"


def test_parse_several_challenges_in_one_header():
    challenges = parse_challenges('Bearer realm="https://a/token",service="a", Basic realm="b"')
    assert [(c.scheme, c.realm) for c in challenges] == [("bearer", "https://a/token"), ("basic", "b")]


def test_parse_unquoted_and_spaced_parameters():
    [challenge] = parse_challenges("bearer realm = https://a/token , service=svc")
    assert (challenge.realm, challenge.service) == ("https://a/token", "svc")


@pytest.mark.parametrize(
    ("header", "scheme"),
    [
        ('Bearer realm="https://a/token"', "bearer"),
        ('Basic realm="registry"', "basic"),
        ('Bearer realm="not-a-url"', "basic"),
        ('Basic realm="x", Bearer realm="https://a/token"', "bearer"),
    ],
)
def test_pick_challenge(header, scheme):
    assert pick_challenge(header).scheme == scheme


@pytest.mark.parametrize("header", ["", "Negotiate abc", 'Digest realm="x"'])
def test_pick_challenge_none_when_unusable(header):
    assert pick_challenge(header) is None


def test_retry_after_seconds():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 0 ") == 0.0


def test_retry_after_http_date():
    when = datetime.now(UTC) + timedelta(seconds=30)
    delay = parse_retry_after(format_datetime(when, usegmt=True))
    assert 28 <= delay <= 30


def test_retry_after_date_in_the_past_is_zero():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


@pytest.mark.parametrize("value", ["", "soon", "-"])
def test_retry_after_unreadable_is_none(value):
    assert parse_retry_after(value) is None


@pytest.mark.parametrize(
    ("header", "target"),
    [
        ('</v2/app/tags/list?n=2&last=b>; rel="next"', "/v2/app/tags/list?n=2&last=b"),
        ("<https://r.example/v2/a/tags/list?last=x>; rel=next", "https://r.example/v2/a/tags/list?last=x"),
        ('<https://r/first>; rel="prev", <https://r/next>; rel="next"', "https://r/next"),
        ('<https://r/x>; title="a"; rel="last next"', "https://r/x"),
        ('<https://r/x>;rel="NEXT"', "https://r/x"),
    ],
)
def test_next_link(header, target):
    assert next_link(header) == target


@pytest.mark.parametrize("header", ["", '<https://r/x>; rel="prev"', "garbage", '<https://r/x>; rel="nextpage"'])
def test_no_next_link(header):
    assert next_link(header) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T12:30:15Z", datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC)),
        ("2024-05-01T12:30:15.123456789Z", datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)),
        ("2024-05-01T12:30:15.5+02:00", datetime(2024, 5, 1, 12, 30, 15, 500000, tzinfo=timezone(timedelta(hours=2)))),
        ("2024-05-01T12:30:15", datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC)),
    ],
)
def test_parse_created(value, expected):
    assert parse_created(value) == expected


@pytest.mark.parametrize("value", [None, "", "yesterday", 1714566615, "2024-13-01T00:00:00Z"])
def test_parse_created_unusable_is_none(value):
    assert parse_created(value) is None


INDEX = {
    "manifests": [
        {"digest": "sha256:att", "platform": {"os": "unknown", "architecture": "unknown"}},
        {"digest": "sha256:armv7", "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
        {"digest": "sha256:arm64", "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"digest": "sha256:amd64", "platform": {"os": "linux", "architecture": "amd64"}},
        {"digest": "sha256:win", "platform": {"os": "windows", "architecture": "amd64"}},
    ]
}


@pytest.mark.parametrize(
    ("platform", "digest"),
    [
        ("linux/amd64", "sha256:amd64"),
        ("linux/arm64", "sha256:arm64"),
        ("linux/arm64/v8", "sha256:arm64"),
        ("linux/arm/v7", "sha256:armv7"),
        ("windows/amd64", "sha256:win"),
    ],
)
def test_select_platform(platform, digest):
    assert select_platform(INDEX, platform)["digest"] == digest


@pytest.mark.parametrize("platform", ["linux/s390x", "linux/arm/v6", "darwin/amd64"])
def test_select_platform_none_when_missing(platform):
    assert select_platform(INDEX, platform) is None


def test_select_platform_skips_entries_without_platform():
    assert select_platform({"manifests": [{"digest": "sha256:x"}, "junk"]}, "linux/amd64") is None


@pytest.mark.parametrize("host", ["localhost", "localhost:5000", "127.0.0.1", "127.1.2.3:80", "[::1]:5000", "[::1]"])
def test_is_loopback(host):
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host", ["registry.example.com", "10.0.0.1:5000", "localhost.example.com", "[::2]", "128.0.0.1"]
)
def test_is_not_loopback(host):
    assert not is_loopback(host)

"""The real-registry fixtures themselves (other suites rely on them): notifications, cleanup, token policy."""

import base64
import json
import time

import pytest
import requests

from tests.support.fake_registry import FakeResponse
from tests.support.registry import start_registry
from tests.support.registry_helpers import unique_repository


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_start_registry_sends_push_notifications(tmp_path, fake_registry):
    fake_registry.route("POST", "/hook", FakeResponse(200, {}))
    url = f"{fake_registry.url}/hook"
    with start_registry(
        tmp_path, notifications_url=url, notification_headers={"Authorization": "Bearer hook"}
    ) as running:
        repository = unique_repository()
        digest = running.push_image(repository, "1.0")
        assert wait_for(lambda: fake_registry.requests_to("/hook"))
    hook = fake_registry.requests_to("/hook")[0]
    assert hook.headers["Authorization"] == "Bearer hook"
    assert hook.headers["Content-Type"].startswith("application/vnd.docker.distribution.events.v1+json")
    events = json.loads(hook.body)["events"]
    pushes = [
        (event["target"]["repository"], event["target"].get("tag")) for event in events if event["action"] == "push"
    ]
    assert (repository, "1.0") in pushes
    assert any(event["target"]["digest"] == digest for event in events)


def test_start_registry_stops_the_process(tmp_path):
    with start_registry(tmp_path) as running:
        assert requests.get(f"{running.url}/v2/", timeout=2).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{running.url}/v2/", timeout=2)


def test_token_server_grants_anonymous_pull_only_under_public(token_registry):
    server = token_registry.token_server
    assert server.grant(None, ["repository:public/app:pull,push"]) == [
        {"type": "repository", "name": "public/app", "actions": ["pull"]}
    ]
    assert server.grant(None, ["repository:team/app:pull"]) == []
    assert server.grant("updater", ["repository:team/app:pull,push"]) == [
        {"type": "repository", "name": "team/app", "actions": ["pull", "push"]}
    ]


def test_token_server_refuses_wrong_password(token_registry):
    response = requests.get(
        token_registry.token_server.realm,
        params={"service": "test-registry", "scope": "repository:x:pull"},
        auth=(token_registry.username, "wrong"),
        timeout=5,
    )
    assert response.status_code == 401


def test_token_is_a_three_part_rs256_jwt_with_x5c(token_registry):
    token = token_registry.token_server.issue("updater", [])
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert (header["alg"], len(header["x5c"]), token.count(".")) == ("RS256", 1, 2)

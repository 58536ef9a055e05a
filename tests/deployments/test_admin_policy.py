"""Per-service policy overrides in the admin: validated like labels, stored as overrides."""

import pytest

from deployments.policy import service_policy
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def form_data(**changes):
    data = {
        "update_mode": "",
        "strategy": "",
        "include": "",
        "exclude": "",
        "allow_prerelease": "",
        "max_bump": "",
        "pinned_tag": "",
        "ignored_tags": "[]",
        "ignored_digests": "[]",
        "automation_paused": "",
    }
    data.update(changes)
    return data


def post(client, service, **changes):
    return client.post(f"/admin/deployments/service/{service.pk}/change/", form_data(**changes))


def test_overrides_win_over_labels(client, owner):
    service = ServiceFactory(labels={"updater.max-bump": "major", "updater.mode": "notify"})
    client.force_login(owner)
    response = post(client, service, max_bump="minor", allow_prerelease="true", update_mode="auto")
    assert response.status_code == 302
    service.refresh_from_db()
    policy = service_policy(service)
    assert (policy.max_bump, policy.allow_prerelease, policy.update_mode) == ("minor", True, "auto")


def test_blank_fields_keep_what_the_labels_say(client, owner):
    service = ServiceFactory(labels={"updater.max-bump": "patch"}, policy_overrides={"max_bump": "major"})
    client.force_login(owner)
    post(client, service)
    service.refresh_from_db()
    assert service.policy_overrides == {}
    assert service_policy(service).max_bump == "patch"


def test_an_invalid_regex_is_a_form_error_and_nothing_is_saved(client, owner):
    service = ServiceFactory(policy_overrides={"include": "^1\\."})
    client.force_login(owner)
    response = post(client, service, include="([")
    assert response.status_code == 200
    assert "not a valid regular expression" in response.content.decode()
    service.refresh_from_db()
    assert service.policy_overrides == {"include": "^1\\."}


def test_an_invalid_pinned_tag_is_refused(client, owner):
    service = ServiceFactory()
    client.force_login(owner)
    response = post(client, service, pinned_tag="$(reboot)")
    assert response.status_code == 200
    service.refresh_from_db()
    assert service.pinned_tag == ""

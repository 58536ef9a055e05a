"""What each event says, and which events are the same message (the key: service, target, outcome)."""

from __future__ import annotations

import pytest

from dashboard.notifications.messages import describe
from deployments.events import Event, EventKind
from tests.factories import DeploymentRunFactory, ServiceFactory

pytestmark = pytest.mark.django_db
RUN = {"trigger": "manual", "from_tag": "1.0.0", "to_tag": "1.1.0", "to_digest": "", "state": "succeeded"}


@pytest.fixture
def service():
    return ServiceFactory(project__name="shop", name="web")


@pytest.mark.parametrize(
    "kind, data, title, level, body_part",
    [
        (EventKind.DEPLOY_STARTED, RUN, "Deploying shop/web: 1.0.0 → 1.1.0", "info", "(manual)"),
        (EventKind.DEPLOY_SUCCEEDED, RUN, "Deployed shop/web 1.1.0", "success", "was 1.0.0"),
        (EventKind.ROLLED_BACK, {**RUN, "to_tag": "0.9.0"}, "Rolled back shop/web to 0.9.0", "warning", "from 1.0.0"),
        (
            EventKind.DEPLOY_FAILED,
            {**RUN, "error": "pull failed", "failed_state": "pulling", "restored": False},
            "Deploy failed: shop/web 1.1.0",
            "failure",
            "Nothing was restored",
        ),
        (
            EventKind.AUTOMATION_PAUSED,
            {"reason": "restore failed"},
            "Automation paused: shop/web",
            "failure",
            "restore failed",
        ),
    ],
)
def test_each_event_has_its_title_level_and_reason(service, kind, data, title, level, body_part):
    message = describe(Event(kind, service_id=service.pk, run_id=7, data=data))
    assert (message.title, message.level) == (title, level)
    assert body_part in message.body
    assert message.projects == {"shop"}


def test_a_scan_block_names_the_tag_findings_and_report(service):
    run = DeploymentRunFactory(service=service, to_tag="2.0.0")
    data = {"summary": "2 CRITICAL", "report_id": 5, "digest": "sha256:" + "c" * 64, "findings": [{"id": "CVE-1"}]}
    message = describe(Event(EventKind.BLOCKED_BY_SCAN, service_id=service.pk, run_id=run.pk, data=data))
    assert message.title == "Blocked by scan: shop/web 2.0.0"
    assert "2 CRITICAL" in message.body and "CVE-1" in message.body and "/scans/5/" in message.body


def test_the_key_is_service_target_and_outcome(service):
    def key(kind, **data):
        return describe(Event(kind, service_id=service.pk, data={**RUN, **data})).dedup_key

    assert key(EventKind.DEPLOY_STARTED) == key(EventKind.DEPLOY_STARTED, trigger="auto")  # same target, outcome
    assert key(EventKind.DEPLOY_STARTED) != key(EventKind.DEPLOY_SUCCEEDED)  # another outcome
    assert key(EventKind.DEPLOY_STARTED) != key(EventKind.DEPLOY_STARTED, to_tag="1.2.0")  # another target
    assert key(EventKind.DEPLOY_STARTED, to_tag="latest", to_digest="sha256:a") != key(
        EventKind.DEPLOY_STARTED, to_tag="latest", to_digest="sha256:b"
    )  # a floating tag's new digest is a new target


def test_a_gone_service_says_nothing():
    assert describe(Event(EventKind.DEPLOY_SUCCEEDED, service_id=999_999, data=RUN)) is None

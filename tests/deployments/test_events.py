"""Domain events are published only after commit, to the subscribers that asked for them."""

import pytest
from django.db import transaction

from deployments import events
from deployments.engine import deployment_request
from deployments.events import EventKind
from deployments.models import DeploymentRun
from tests.factories import ServiceFactory


@pytest.fixture
def received():
    seen: list[events.Event] = []
    events.subscribe(seen.append)
    yield seen
    events.unsubscribe(seen.append)


def test_event_is_published_after_commit_and_not_on_rollback(received, transactional_db):
    with transaction.atomic():
        events.emit(EventKind.CHECK_FINISHED, cycle_id=1)
        assert received == []
    assert [event.kind for event in received] == [EventKind.CHECK_FINISHED]
    received.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        events.emit(EventKind.CHECK_FINISHED, cycle_id=2)
        raise RuntimeError("rolled back")
    assert received == []


def test_failing_subscriber_does_not_stop_others(received, transactional_db):
    def broken(_event):
        raise ValueError("subscriber bug")

    events.subscribe(broken)
    try:
        events.emit(EventKind.SERVICE_CHANGED, service_id=7)
    finally:
        events.unsubscribe(broken)
    assert [event.service_id for event in received] == [7]


def test_subscriber_filtered_by_kind(transactional_db):
    only_failures: list[events.Event] = []
    events.subscribe(only_failures.append, kinds=[EventKind.DEPLOY_FAILED])
    try:
        events.emit(EventKind.SERVICE_CHANGED, service_id=1)
        events.emit(EventKind.DEPLOY_FAILED, service_id=1, error="boom")
    finally:
        events.unsubscribe(only_failures.append)
    assert [event.data["error"] for event in only_failures] == ["boom"]


def test_deploy_request_announces_the_run_and_the_service(received, transactional_db):
    service = ServiceFactory()
    run = deployment_request(service=service, tag="1.1.0", trigger=DeploymentRun.Trigger.MANUAL)
    kinds = [(event.kind, event.run_id) for event in received]
    assert (EventKind.RUN_CHANGED, run.pk) in kinds
    assert (EventKind.SERVICE_CHANGED, run.pk) in kinds

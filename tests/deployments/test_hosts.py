"""The fleet's rules without Docker: hosts, liveness, routing to each host's queue (on the real Redis), skipping
offline hosts, and never touching another host's runs."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from deployments import engine, hosts, selectors
from deployments.discovery import discover_fleet
from deployments.dispatch import enqueue_deploy
from deployments.events import EventKind, subscribe, unsubscribe
from deployments.models import ComposeProject, DeploymentRun, DockerHost
from tests.factories import ComposeProjectFactory, DeploymentRunFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def make_host(*, seen_ago: float | None = 0.0) -> DockerHost:
    seen = None if seen_ago is None else timezone.now() - timedelta(seconds=seen_ago)
    return DockerHost.objects.create(name=f"h{uuid.uuid4().hex[:8]}", last_heartbeat_at=seen, engine_version="20.10.24")


def service_on(host: DockerHost, project: str = "shop", **fields):
    project_row = ComposeProject.objects.filter(host=host, name=project).first()
    return ServiceFactory(project=project_row or ComposeProjectFactory(host=host, name=project), **fields)


def queued(queue: str) -> list[tuple[str, list]]:
    """The task messages waiting in a Celery queue, read from Redis itself (the queue is a list there)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    messages = [json.loads(raw) for raw in client.lrange(queue, 0, -1)]
    client.delete(queue)
    return [(m["headers"]["task"], json.loads(base64.b64decode(m["body"]))[0]) for m in messages]


def test_the_same_project_name_on_two_hosts_is_two_projects():
    first, second = make_host(), make_host()
    ComposeProjectFactory(host=first, name="shop")
    ComposeProjectFactory(host=second, name="shop")
    with pytest.raises(IntegrityError), transaction.atomic():
        ComposeProjectFactory(host=first, name="shop")
    assert ComposeProject.objects.filter(name="shop").count() == 2


def test_a_project_made_without_a_host_belongs_to_the_local_host():
    assert ComposeProjectFactory().host.name == settings.LOCAL_HOST == "local"


def test_a_host_goes_offline_after_the_missed_heartbeats(settings):
    settings.HOST_HEARTBEAT_INTERVAL, settings.HOST_MISSED_HEARTBEATS = 10, 3
    assert make_host(seen_ago=29).liveness() == DockerHost.Liveness.ONLINE
    assert make_host(seen_ago=31).liveness() == DockerHost.Liveness.OFFLINE
    assert make_host(seen_ago=None).liveness() == DockerHost.Liveness.UNKNOWN


def test_a_deploy_is_queued_to_its_hosts_agent(django_capture_on_commit_callbacks):
    host = make_host()
    run = DeploymentRunFactory(service=service_on(host))
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_deploy(run.pk)
    assert queued(host.queue) == [("deployments.tasks.deploy", [run.pk])]
    assert queued("celery") == []


def test_a_deploy_of_another_host_is_sent_on_to_its_agent_not_run_here(django_capture_on_commit_callbacks):
    host = make_host()
    run = DeploymentRunFactory(service=service_on(host))
    with django_capture_on_commit_callbacks(execute=True):
        assert engine.execute(run.pk, reroute_from="celery") is True
    run.refresh_from_db()
    assert (run.state, run.started_at) == (DeploymentRun.State.PENDING, None)
    assert queued(host.queue) == [("deployments.tasks.deploy", [run.pk])]
    # Delivered on that host's queue to a worker that does not serve it: left alone, not bounced forever.
    with django_capture_on_commit_callbacks(execute=True):
        engine.execute(run.pk, reroute_from=host.queue)
    assert queued(host.queue) == []


def test_the_reconciler_never_takes_over_another_hosts_run(settings):
    settings.DEPLOY_STALE_AFTER = 10
    host = make_host(seen_ago=3600)  # its agent died an hour ago, mid-deploy
    stale = timezone.now() - timedelta(hours=1)
    run = DeploymentRunFactory(
        service=service_on(host), state=DeploymentRun.State.REPLACING, heartbeat_at=stale, created_at=stale
    )
    pending = DeploymentRunFactory(service=service_on(host, "other"), created_at=stale)
    result = engine.reconcile()  # this process serves "local" only
    assert (result.recovered, result.requeue, result.failed) == ([], [], [])
    assert engine.recover_run(run.pk) is False
    assert engine.reconcile(host=host).recovered == []  # asked for that host, still not here
    run.refresh_from_db()
    pending.refresh_from_db()
    assert (run.state, pending.state, pending.requeue_count) == ("replacing", "pending", 0)


def test_a_check_skips_offline_hosts_and_counts_their_services(settings):
    settings.LOCAL_HOST = ""  # a central server without an engine: every host has its own agent
    online, offline, never = make_host(), make_host(seen_ago=3600), make_host(seen_ago=None)
    on = service_on(online)
    service_on(offline, name="a")
    service_on(offline, name="b")
    service_on(offline, name="gone", is_running=False)
    service_on(never)
    result = discover_fleet()
    assert [s.pk for s in result.services] == [on.pk]
    assert result.hosts_offline == {offline.name: 2, never.name: 1}


def test_hosts_watch_announces_a_silent_host_once_and_its_return(django_capture_on_commit_callbacks):
    host = make_host(seen_ago=3600)
    service = service_on(host)
    events = []
    subscribe(events.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert hosts.hosts_watch() == [(host.name, True)]
            assert hosts.hosts_watch() == []
            DockerHost.objects.filter(pk=host.pk).update(last_heartbeat_at=timezone.now())
            assert hosts.hosts_watch() == [(host.name, False)]
    finally:
        unsubscribe(events.append)
    kinds = [(e.kind, e.data.get("host"), e.service_id) for e in events if e.kind != EventKind.CHECK_FINISHED]
    assert kinds == [
        (EventKind.HOST_OFFLINE, host.name, None),
        (EventKind.SERVICE_CHANGED, None, service.pk),
        (EventKind.HOST_ONLINE, host.name, None),
        (EventKind.SERVICE_CHANGED, None, service.pk),
    ]


def test_a_service_key_names_its_host_when_the_project_is_on_several():
    first, second = make_host(), make_host()
    web = service_on(first, name="web")
    service_on(second, name="web")
    with pytest.raises(selectors.ServiceNotFound, match="exists on several hosts"):
        selectors.service_by_key("shop/web")
    assert selectors.service_by_key(f"{first.name}/shop/web") == web


def test_an_agent_of_another_engine_may_not_take_a_live_hosts_name():
    host = make_host()
    DockerHost.objects.filter(pk=host.pk).update(engine_id="ENGINE-A", agent="agent-a@box")
    assert "another Docker engine" in hosts.engine_conflict(host.name, hosts.EngineFacts(engine_id="ENGINE-B"))
    assert hosts.engine_conflict(host.name, hosts.EngineFacts(engine_id="ENGINE-A")) == ""
    DockerHost.objects.filter(pk=host.pk).update(last_heartbeat_at=timezone.now() - timedelta(hours=1))
    assert hosts.engine_conflict(host.name, hosts.EngineFacts(engine_id="ENGINE-B")) == ""  # replaced engine


def test_the_board_groups_by_host_with_counters_and_shows_a_silent_host_offline(client, owner):
    alive, silent = make_host(), make_host(seen_ago=3600)
    service_on(alive, name="api", last_checked_at=timezone.now())
    down = service_on(silent, name="api", last_checked_at=timezone.now())
    client.force_login(owner)
    html = client.get("/").content.decode()
    assert f'id="host-{alive.name}"' in html and f'id="host-{silent.name}"' in html
    silent_section = html.split(f'id="host-{silent.name}"', 1)[1]
    assert "Host offline" in silent_section.split("</header>", 1)[0]
    assert "Docker 20.10.24" in silent_section
    row = html.split(f'id="svc-{down.pk}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-state="offline"' in row and "not checked" in row
    only = client.get("/", {"host": alive.name}).content.decode()
    assert f'id="host-{alive.name}"' in only and f'id="host-{silent.name}"' not in only
    assert f"?host={alive.name}&amp;state=" in only  # per-host counters link to the filtered board


def test_a_central_server_without_an_engine_skips_the_engine_health_checks(settings):
    from dashboard.health.checks import SKIPPED, run_all

    settings.LOCAL_HOST = ""
    results = {result.name: result for result in run_all()}
    assert {results[name].status for name in ("docker", "compose", "disk_docker")} == {SKIPPED}
    assert results["database"].status == "ok"

"""The board: one state per service, counters, filters, partials, and a constant number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deployments import selectors
from deployments.models import DeploymentRun
from tests.factories import ComposeProjectFactory, DeploymentRunFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def checked(**fields):
    return ServiceFactory(last_checked_at=timezone.now(), **fields)


def test_each_state_gets_its_badge_icon_and_word(client, viewer):
    synced = checked(name="synced", available_tag="1.0.0")
    update = checked(name="update", available_tag="1.1.0")
    approval = checked(name="approval", available_tag="1.1.0", labels={"updater.mode": "manual"})
    deploying = ServiceFactory(name="deploying")
    deploying.active_run = DeploymentRunFactory(service=deploying, to_tag="2.0.0")
    deploying.save()
    failed = checked(name="failed", available_tag="1.1.0")
    DeploymentRunFactory(service=failed, to_tag="1.1.0", state=DeploymentRun.State.FAILED, error="exited with code 3")
    unknown = ServiceFactory(name="unknown")
    client.force_login(viewer)
    html = client.get("/").content.decode()
    expected = {
        synced: ("synced", "#i-check", "Synced"),
        update: ("update", "#i-arrow-up", "Update available"),
        approval: ("approval", "#i-hand", "Awaiting approval"),
        deploying: ("deploying", "#i-spinner", "Deploying…"),
        failed: ("failed", "#i-cross", "Failed"),
        unknown: ("unknown", "#i-question", "Unknown"),
    }
    for service, (key, icon, word) in expected.items():
        row = html.split(f'id="svc-{service.pk}"', 1)[1].split("</tr>", 1)[0]
        assert f'data-state="{key}"' in row and icon in row and f"<span>{word}</span>" in row, service.name
    assert "exited with code 3" in html and "to 2.0.0" in html


def test_counters_title_and_attention(viewer, client):
    checked(available_tag="1.1.0")  # update available: attention
    checked(available_tag="1.1.0", labels={"updater.mode": "notify"})  # awaiting approval: attention
    checked(available_tag="1.0.0")
    board = selectors.board()
    assert (board.total, board.attention) == (3, 2)
    assert board.counts == {"update": 1, "approval": 1, "synced": 1}
    client.force_login(viewer)
    html = client.get("/").content.decode()
    assert "<title>(2) Board" in html and 'data-attention="2"' in html


def test_filters_by_state_project_registry_and_text(client, viewer):
    shop = ComposeProjectFactory(name="shop")
    web = checked(project=shop, name="web", repository="ghcr.io/acme/web", available_tag="1.0.0")
    api = checked(project=shop, name="api", repository="registry.example.com/acme/api", available_tag="2.0.0")
    other = checked(name="grafana", repository="docker.io/grafana/grafana", available_tag="1.0.0")
    client.force_login(viewer)

    def shown(**query):
        html = client.get("/", query, headers={"HX-Request": "true", "HX-Target": "board"}).content.decode()
        assert "<html" not in html  # the partial only
        return {s.name for s in (web, api, other) if f'id="svc-{s.pk}"' in html}

    assert shown() == {"web", "api", "grafana"}
    assert shown(state="update") == {"api"}
    assert shown(project="shop") == {"web", "api"}
    assert shown(registry="ghcr.io") == {"web"}
    assert shown(q="GRAF") == {"grafana"}
    assert "Nothing matches" in client.get("/", {"q": "nope"}).content.decode()


def test_empty_board_explains_what_will_appear(client, viewer):
    client.force_login(viewer)
    assert "No services yet" in client.get("/").content.decode()


def test_board_reads_with_a_constant_number_of_queries(client, viewer):
    def queries_for_board():
        client.force_login(viewer)
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/").status_code == 200
        return len(captured)

    for index in range(3):
        service = checked(name=f"a{index}", available_tag="1.1.0")
        DeploymentRunFactory(service=service)
    few = queries_for_board()
    for index in range(30):
        service = checked(name=f"b{index}", available_tag="1.1.0", labels={"updater.mode": "notify"})
        DeploymentRunFactory(service=service, state=DeploymentRun.State.FAILED, to_tag="0.1.0")
    assert queries_for_board() == few


def test_vulnerability_chip_slot_is_empty_until_scanning_provides_it(client, viewer):
    service = checked(available_tag="1.0.0")
    client.force_login(viewer)
    html = client.get("/").content.decode()
    cell = html.split(f'id="svc-{service.pk}"', 1)[1].split('class="c-vuln"', 1)[1].split("</td>", 1)[0]
    assert "—" in cell

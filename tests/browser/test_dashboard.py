"""The dashboard in Chromium against the running product: Daphne, a Celery worker and beat, Debian's
registry and the real Docker engine. What a person sees change, without reloading the page."""

from __future__ import annotations

import pytest

from deployments.models import DeploymentRun, Revision, Service
from tests.browser.conftest import log_in, states_of
from tests.factories import UserFactory
from tests.support.docker_env import ImageSpec, build_and_push
from tests.support.processes import wait_for
from tests.support.product import running_product

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery"
CHECK_INTERVAL = "5"

COMPOSE = """\
services:
  web:
    image: {reference}
    labels:
      dockerimageupdater.test: "1"{extra}
    stop_grace_period: 2s
"""


def operator_user():
    from dashboard.roles import OPERATOR, assign_role

    user = UserFactory(username="ops", password=PASSWORD)
    assign_role(user, OPERATOR)
    return user


def start_service(registry, compose_project, repository: str, *, labels: str = "") -> str:
    reference = f"{registry.host}/{repository}"
    build_and_push(f"{reference}:1.0.0", ImageSpec("1.0.0"))
    compose_project.write(COMPOSE.format(reference=f"{reference}:1.0.0", extra=labels))
    compose_project.up()
    return reference


def discovered(project_name: str) -> Service:
    return wait_for(
        lambda: Service.objects.filter(project__name=project_name, name="web", last_checked_at__isnull=False).first(),
        timeout=90,  # one check cycle, however many other Compose projects the engine runs
        message="discovery and a first check",
    )


def wait_state(page, selector: str, state: str, timeout: float = 90_000) -> None:
    page.wait_for_selector(f'{selector}[data-state="{state}"]', timeout=timeout)


def test_board_shows_a_pushed_tag_deploy_live_then_roll_back_from_the_revision_page(
    registry, compose_project, test_images, tmp_path, page_for, shots
):
    operator_user()
    reference = start_service(registry, compose_project, f"browser/{compose_project.name}")
    with running_product(tmp_path / "product", CHECK_INTERVAL=CHECK_INTERVAL) as base_url:
        service = discovered(compose_project.name)
        row = f"#svc-{service.pk}"
        page = page_for()
        page.goto(f"{base_url}/login/")
        shots.take(page, "login")
        log_in(page, base_url, "ops", PASSWORD)
        page.wait_for_selector(f'{row}[data-state="synced"]')
        page.wait_for_selector('#live-status[data-state="live"]')
        page.evaluate("window.__sameDocument = true")
        shots.take(page, "board-synced")

        # Push 1.1.0: beat's next check finds it and deploys it; the open board follows by itself.
        build_and_push(f"{reference}:1.1.0", ImageSpec("1.1.0"), keep_local=False)
        wait_state(page, row, "deploying")
        shots.take(page, "board-deploying")
        wait_state(page, row, "synced")
        assert page.evaluate("window.__sameDocument") is True, "the page reloaded"
        seen = states_of(page, f"svc-{service.pk}")
        # An auto-mode update is pushed as "Update available" and, milliseconds later, "Deploying…" (the
        # order is held by test_an_update_is_announced_before_its_deploy_is_claimed); htmx settles a swap
        # 20 ms after it, so the first can be replaced before it shows. What a person sees: it deploys.
        assert _in_order(seen, ["synced", "deploying", "synced"]), seen
        assert set(seen) <= {"synced", "update", "deploying"}, seen  # never Failed or Unknown on the way
        assert page.locator(f"{row} .c-current .tag").inner_text() == "1.1.0"
        shots.take(page, "board-updated")

        # The revision page: roll back to 1.0.0 through the confirmation dialog, watched live.
        page.click(f"{row} .svc-link")
        page.wait_for_selector("#service-hero")
        page.wait_for_selector('#live-status[data-state="live"]')
        page.evaluate("window.__sameDocument = true")
        shots.take(page, "revision-page")
        first = Revision.objects.filter(service=service, tag="1.0.0").order_by("created_at").first()
        page.click(f'a[href$="/rollback/{first.pk}/"]')
        dialog = page.locator("dialog#dialog")
        dialog.wait_for(state="visible")
        assert "Roll back to 1.0.0" in dialog.inner_text()
        shots.take(page, "rollback-confirm")
        dialog.get_by_role("button", name="Roll back to 1.0.0").click()
        wait_state(page, "#service-hero", "deploying")
        wait_state(page, "#service-hero", "synced")
        assert page.evaluate("window.__sameDocument") is True, "the page reloaded"
        assert _in_order(states_of(page, "service-hero"), ["synced", "deploying", "synced"])
        page.wait_for_selector("#revisions >> text=Rollback")
        shots.take(page, "revision-page-rolled-back")
        service.refresh_from_db()
        assert service.current_tag == "1.0.0" and "1.1.0" in service.ignored_tags
        run = service.runs.get(trigger=DeploymentRun.Trigger.ROLLBACK)
        assert run.state == DeploymentRun.State.SUCCEEDED and run.requested_by.username == "ops"

        # The run page keeps its steps and log afterwards.
        page.goto(f"{base_url}/runs/{run.pk}/")
        page.wait_for_selector(".steps .step-succeeded")
        assert "verified" in page.locator("#run-log").inner_text()
        shots.take(page, "run-page")

        phone = page_for(width=390, height=844)
        log_in(phone, base_url, "ops", PASSWORD)
        phone.wait_for_selector(row)
        shots.take(phone, "board-phone")


def test_approving_an_update_of_a_notify_service_deploys_exactly_what_was_checked(
    registry, compose_project, test_images, tmp_path, page_for, shots
):
    operator_user()
    labels = '\n      updater.mode: "notify"'
    reference = start_service(registry, compose_project, f"browser/{compose_project.name}", labels=labels)
    with running_product(tmp_path / "product", CHECK_INTERVAL=CHECK_INTERVAL) as base_url:
        service = discovered(compose_project.name)
        row = f"#svc-{service.pk}"
        page = page_for()
        log_in(page, base_url, "ops", PASSWORD)
        page.wait_for_selector(f'{row}[data-state="synced"]')
        page.wait_for_selector('#live-status[data-state="live"]')

        build_and_push(f"{reference}:1.1.0", ImageSpec("1.1.0"), keep_local=False)
        wait_state(page, row, "approval")
        # The counters follow the row: the title counts what needs attention (other Compose projects on
        # this engine may add to it, so only "at least one" is certain).
        page.wait_for_function("/^[(][1-9][0-9]*[)] /.test(document.title)", timeout=10_000)
        waiting = page.evaluate("parseInt(document.title.slice(1), 10)")
        shots.take(page, "board-awaiting-approval")
        service.refresh_from_db()
        checked_digest = service.available_digest
        assert not service.runs.exists()  # notify mode: nothing deployed by itself

        page.locator(row).get_by_role("button", name="Approve").click()
        wait_state(page, row, "deploying")
        wait_state(page, row, "synced")
        shots.take(page, "board-approved")
        run = service.runs.get()
        assert (run.to_tag, run.to_digest, run.requested_by.username) == ("1.1.0", checked_digest, "ops")
        service.refresh_from_db()
        assert (service.current_tag, service.current_digest) == ("1.1.0", checked_digest)
        page.wait_for_function(
            "(before) => !/^[(]/.test(document.title) || parseInt(document.title.slice(1), 10) < before",
            arg=waiting,
            timeout=10_000,
        )

        page.goto(f"{base_url}/activity/")
        page.wait_for_selector("#activity td code >> text=approve")
        shots.take(page, "activity")


def _in_order(seen: list[str], expected: list[str]) -> bool:
    """`expected` appears in `seen` as a subsequence (other states may come between)."""
    position = 0
    for state in seen:
        if position < len(expected) and state == expected[position]:
            position += 1
    return position == len(expected)

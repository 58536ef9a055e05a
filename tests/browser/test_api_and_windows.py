"""In Chromium against the running web process: the board shows a service waiting for its maintenance window,
and a person makes an API token on its page and uses it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.utils import timezone

from dashboard.roles import OPERATOR, assign_role
from tests.browser.conftest import log_in
from tests.factories import ServiceFactory, UserFactory
from tests.support.product import web_process

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery"


def test_a_waiting_service_on_the_board_and_a_token_made_and_used(tmp_path, page_for, shots):
    user = UserFactory(username="ops", password=PASSWORD)
    assign_role(user, OPERATOR)
    opens = (datetime.now(UTC) + timedelta(hours=3)).replace(second=0, microsecond=0)
    waiting = ServiceFactory(
        name="web",
        labels={"updater.window": f"{opens.minute} {opens.hour} * * * 1h UTC", "updater.min_age": "24h"},
        available_tag="1.1.0",
        last_checked_at=timezone.now(),
    )
    with web_process(tmp_path / "web") as url:
        page = page_for()
        log_in(page, url, "ops", PASSWORD)
        row = page.locator(f"#svc-{waiting.pk}")
        assert row.get_attribute("data-state") == "window"
        assert f"Waiting for window1.1.0 (opens {opens:%H:%M})" in row.inner_text().replace("\n", "")
        shots.take(page, "board-waiting-for-window")
        page.goto(f"{url}/services/{waiting.pk}/")
        assert "Maintenance window" in page.inner_text("table.policy")
        shots.take(page, "service-window-policy")

        page.click("text=API")
        page.fill("input[name=name]", "CI pipeline")
        page.select_option("select[name=role]", "operator")
        page.click("text=Create token")
        token = page.inner_text("#new-token").strip()
        shots.take(page, "token-created")
        me = requests.get(f"{url}/api/v1/me/", headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
        assert (me["username"], me["role"], me["token"]) == ("ops", "operator", "CI pipeline")
        page.click("text=Revoke")
        assert (
            requests.get(f"{url}/api/v1/me/", headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code
            == 401
        )
        page.goto(f"{url}/api/docs/")
        page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
        shots.take(page, "api-docs")

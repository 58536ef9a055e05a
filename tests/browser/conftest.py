"""Browser tests: Playwright for Python driving Debian's Chromium against the running product.

Screenshots (full page) go to $UPDATER_SCREENSHOT_DIR, or a fresh folder under /tmp; the folder is
printed at the end of the run.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
_SHOTS: dict[str, Path] = {}

# Records, for every board row and the service page's hero, each state it shows, in order: the tests
# assert on the sequence a person would have seen, however brief a state was.
WATCH_STATES = """
window.__states = {};
function __record() {
  document.querySelectorAll("[data-state]").forEach(function (el) {
    var key = el.id || "page";
    var seen = window.__states[key] = window.__states[key] || [];
    if (seen[seen.length - 1] !== el.dataset.state) seen.push(el.dataset.state);
  });
}
document.addEventListener("DOMContentLoaded", function () {
  __record();
  new MutationObserver(__record).observe(document.body, {subtree: true, childList: true, attributes: true});
});
"""


def screenshot_dir() -> Path:
    if "dir" not in _SHOTS:
        chosen = os.environ.get("UPDATER_SCREENSHOT_DIR")
        path = Path(chosen) if chosen else Path(tempfile.mkdtemp(prefix="updater-screenshots-"))
        path.mkdir(parents=True, exist_ok=True)
        _SHOTS["dir"] = path
    return _SHOTS["dir"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if "dir" in _SHOTS:
        terminalreporter.write_line(f"browser screenshots: {_SHOTS['dir']}")


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """Playwright's sync API keeps an event loop running in this thread, which makes Django refuse ORM
    calls as "async"; the tests' own ORM calls are plain synchronous code, so that check is lifted
    while (and only while) a browser module runs."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium package")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


class Shots:
    """Full-page screenshots named `<test>-<n>-<what>.png`."""

    def __init__(self, test_name: str) -> None:
        self.prefix = test_name
        self.count = 0

    def take(self, page, what: str) -> Path:
        self.count += 1
        path = screenshot_dir() / f"{self.prefix}-{self.count:02d}-{what}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.name.removeprefix("test_"))


@pytest.fixture
def page_for(chromium):
    """A fresh browser context (desktop size unless told) that records row states."""
    contexts = []

    def open_page(width: int = 1440, height: int = 900):
        context = chromium.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(60_000)
        context.add_init_script(WATCH_STATES)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def log_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def states_of(page, element_id: str) -> list[str]:
    return page.evaluate("(id) => (window.__states[id] || []).slice()", element_id)

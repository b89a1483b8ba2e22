"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, against a
real taskyard server (API, engine and worker) on a random loopback port."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from taskyard.config import Settings
from tests.conftest import ADMIN_TOKEN
from tests.support.server import RunningServer, start_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Assertions wait as long as actions do: on a busy CI machine a page's fetch can take
# seconds, and a deadline is what is tested, not the machine's speed.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def browser(temporal_address: str) -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop running in this thread while it is open,
    # and no asyncio.run can run meanwhile: so one browser per module (tests after it, in
    # other modules, may use asyncio), and the session's dev server started before it.
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (scripts/install-system installs it)")
        pytest.skip("chromium is not installed")
    with sync_playwright() as playwright:
        # As root, Chromium's own sandbox cannot start; the page is ours, from loopback.
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture
def dashboard(settings: Settings) -> Iterator[RunningServer]:
    with start_server(settings, ADMIN_TOKEN) as running:
        yield running


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()


def sign_in_with_token(
    page: Page, url: str, token: str = ADMIN_TOKEN, next_path: str = "/"
) -> None:
    """Sign ``page``'s browser in through the sign-in form with an API token."""
    page.goto(f"{url}/login?next={next_path}")
    page.get_by_label("Or an API token").fill(token)
    page.get_by_role("button", name="Sign in with the token").click()
    page.wait_for_url(f"{url}{next_path}*")

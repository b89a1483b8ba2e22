"""Key settings flows in a real Chromium: a token shown once, a template's problem shown at
its line, and the settings menu on a phone-sized screen."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.conftest import ADMIN_TOKEN
from tests.web import visitors
from tests.web.conftest import sign_in_with_token
from tests.web.visitors import Site

site = visitors.site  # the fixture
IMAGES = Path(__file__).resolve().parents[2] / "docs/images"


def test_a_new_token_is_shown_once_and_works(site: Site, page: Page) -> None:
    sign_in_with_token(page, site.url, ADMIN_TOKEN, "/settings/tokens")
    page.get_by_label("Name").fill("laptop")
    page.get_by_label("users:read").check()
    page.get_by_role("button", name="Create the token").click()
    shown = page.get_by_label("The new token")
    expect(shown).to_have_value(re.compile(r"^ty_"))
    value = shown.input_value()
    IMAGES.mkdir(exist_ok=True)
    page.screenshot(path=str(IMAGES / "dashboard-settings-tokens.png"), full_page=True)
    assert site.api.get("/api/v1/users", headers={"Authorization": f"Bearer {value}"}).is_success
    page.goto(f"{site.url}/settings/tokens")  # the list again: the value is gone for good
    expect(page.get_by_role("cell", name="laptop", exact=True)).to_be_visible()
    expect(page.get_by_label("The new token")).to_have_count(0)
    page.get_by_role("button", name=re.compile(r"^Revoke laptop")).click()
    expect(page.get_by_role("status")).to_contain_text("Revoked token")
    expect(page.get_by_role("cell", name="laptop", exact=True)).to_have_count(0)


def test_a_templates_problem_is_shown_at_its_line(site: Site, page: Page) -> None:
    sign_in_with_token(page, site.url, ADMIN_TOKEN, "/templates")
    source = "name: fix-bugs\nagent:\n  kind: command\n  comand: echo hi\n  command: echo hi\n"
    page.get_by_label("Template YAML").fill(source)
    page.get_by_role("button", name="Push the template").click()
    expect(page.get_by_role("alert")).to_contain_text("Invalid template")
    bad = page.locator("ol.source li.bad")
    expect(bad).to_have_count(1)
    expect(bad).to_have_id("L4")
    expect(bad.get_by_role("note")).to_contain_text("line 4: agent.comand: unknown field")
    page.screenshot(path=str(IMAGES / "dashboard-templates-error.png"), full_page=True)
    page.get_by_label("Template YAML").fill(source.replace("  comand: echo hi\n", ""))
    page.get_by_role("button", name="Push the template").click()
    expect(page).to_have_url(re.compile(r"/templates/fix-bugs/1\?done="))
    expect(page.get_by_role("status")).to_contain_text("Pushed fix-bugs version 1.")


def test_the_settings_menu_fits_a_phone(site: Site, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    try:
        phone = context.new_page()
        sign_in_with_token(phone, site.url, ADMIN_TOKEN, "/settings/secrets")
        menu = phone.get_by_role("navigation", name="Settings")
        expect(menu.get_by_role("link", name="Secrets")).to_have_attribute("aria-current", "page")
        phone.get_by_label("Name (UPPER_SNAKE_CASE)").fill("NPM_TOKEN")
        phone.get_by_label("Value").fill("hunter2-value")
        phone.get_by_role("button", name="Set the secret").click()
        expect(phone.get_by_role("status")).to_contain_text("Set secret NPM_TOKEN.")
        expect(phone.get_by_role("cell", name="NPM_TOKEN", exact=True)).to_be_visible()
        assert "hunter2" not in phone.content()
        # Nothing wider than the screen: the menu wraps above the page on a phone.
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, width
        menu_box = menu.bounding_box()
        heading_box = phone.get_by_role("heading", level=1).bounding_box()
        assert menu_box and heading_box and menu_box["y"] < heading_box["y"]
    finally:
        context.close()

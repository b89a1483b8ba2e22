"""The New task form: built from a template's parameters, switching templates in place,
creating the task through the API's service, its problems shown beside their fields."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support.server import RunningServer
from tests.web import visitors
from tests.web.conftest import sign_in_with_token
from tests.web.visitors import Site, csrf_of, visitor

site = visitors.site  # the fixture

TEMPLATE = """\
name: checks
sandbox: none
agent:
  kind: command
  command: "true"
parameters:
  - name: ai_prompt
    form: textarea
  - name: test_command
    default: make test
    form: select
    options: [make test, make check]
  - name: max_files
    type: number
    min: 1
    max: 50
    description: How many files the agent may touch
  - name: runner
    default: ci
    mutable: false
"""


def _push(server: RunningServer) -> None:
    response = server.http.post("/api/v1/templates", content=TEMPLATE)
    assert response.status_code == 201, response.text


def test_a_template_form_creates_a_task_and_shows_problems_inline(
    server: RunningServer, page: Page, remote_repo: Path
) -> None:
    _push(server)
    sign_in_with_token(page, server.url, next_path="/tasks/new")
    expect(page.get_by_label("Instructions (ai_prompt)")).to_be_visible()
    expect(page.get_by_label("Max files")).to_have_count(0)

    page.get_by_label("Template").select_option("checks")  # htmx swaps the fields in
    expect(page.get_by_label("Max files")).to_be_visible()
    expect(page.get_by_label("Test command")).to_have_value("make test")
    expect(page.get_by_label("Runner")).to_be_disabled()
    page.get_by_label("Title").fill("Speed up the tests")
    page.get_by_label("Repository").fill(str(remote_repo))
    page.get_by_label("Instructions (ai_prompt)").fill("Cache the fixtures.")
    page.get_by_label("Test command").select_option("make check")
    page.get_by_label("Max files").fill("99")
    page.get_by_role("button", name="Create task").click()

    # The API's own words, beside the field; what was typed is kept.
    expect(page.locator("#param\\.max_files-problem")).to_have_text(
        "Parameter 'max_files' must be at most 50."
    )
    expect(page.get_by_label("Title")).to_have_value("Speed up the tests")
    expect(page.get_by_label("Test command")).to_have_value("make check")

    page.get_by_label("Max files").fill("5")
    page.get_by_role("button", name="Create task").click()
    page.wait_for_url(re.compile(r"/tasks/TY-\d+$"))
    key = page.url.rsplit("/", 1)[1]
    task = server.task(key)
    assert task["title"] == "Speed up the tests" and task["origin"] == "dashboard"
    assert task["parameters"] == {
        "ai_prompt": "Cache the fixtures.",
        "test_command": "make check",
        "max_files": 5,
        "runner": "ci",
    }
    server.wait_for(key, "waiting")  # it runs: its plan stage's agent ran and stopped at the gate


def test_the_form_refuses_without_its_csrf_token_and_names_bad_fields(
    server: RunningServer,
) -> None:
    _push(server)
    with visitor(server) as client:
        fields = {"title": "x", "repository": "acme/shop", "template": "checks"}
        assert client.post("/tasks/new", data=fields).status_code == 403
        csrf = csrf_of(client.get("/tasks/new").text)
        unknown = client.post("/tasks/new", data={**fields, "csrf_token": csrf, "template": "nope"})
        assert unknown.status_code == 400 and "Template &#39;nope&#39; not found" in unknown.text
        typed = client.post(
            "/tasks/new", data={**fields, "csrf_token": csrf, "param.max_files": "many"}
        )
        assert typed.status_code == 400
        assert "Parameter &#39;max_files&#39; must be of type number." in typed.text
        long = client.post("/tasks/new", data={**fields, "csrf_token": csrf, "title": "x" * 301})
        assert long.status_code == 400 and "title: String should have at most 300" in long.text
        fragment = client.get("/tasks/new/parameters", params={"template": "checks"})
        assert fragment.status_code == 200 and 'name="param.max_files"' in fragment.text
    assert server.http.get("/api/v1/tasks").json()["items"] == []


def test_the_form_names_reviewers_and_the_task_page_shows_them(
    server: RunningServer, remote_repo: Path
) -> None:
    _push(server)
    for name in ("bob", "cy"):
        assert server.http.post("/api/v1/users", json={"username": name}).status_code == 201
    with visitor(server) as client:
        form = client.get("/tasks/new")
        assert 'name="reviewers"' in form.text
        fields = {"title": "Speed up the tests", "repository": str(remote_repo)}
        fields |= {"template": "checks", "csrf_token": csrf_of(form.text)}
        created = client.post("/tasks/new", data={**fields, "reviewers": "cy, @bob  cy"})
        assert created.status_code == 303, created.text
        key = created.headers["location"].rsplit("/", 1)[1]
        assert server.task(key)["reviewers"] == ["bob", "cy"]
        shown = client.get(f"/tasks/{key}").text
        assert '<dd id="reviewers">bob, cy</dd>' in shown
    server.wait_for(key, "waiting")  # let its run reach the gate before the server stops


def test_the_reviewers_field_shows_its_problems_beside_it(site: Site) -> None:
    site.api.post("/api/v1/users", json={"username": "bob"})
    person = site.visitor()
    fields = {"title": "Fix login", "repository": "acme/shop"}
    unknown = person.post("/tasks/new", {**fields, "reviewers": "bob, zed"})
    assert unknown.status_code == 400
    problem = re.search(r'<p class="error" id="reviewers-problem"[^>]*>([^<]*)</p>', unknown.text)
    said = "Reviewer &#39;zed&#39; is not a user of this organization."
    assert problem and problem.group(1) == said
    assert 'name="reviewers" value="bob, zed"' in unknown.text  # what was typed is kept
    many = person.post("/tasks/new", {**fields, "reviewers": " ".join(f"u{n}" for n in range(21))})
    assert many.status_code == 400
    assert 'id="reviewers-problem"' in many.text and "at most 20 reviewers" in many.text
    assert site.api.get("/api/v1/tasks").json()["items"] == []

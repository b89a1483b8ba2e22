"""The template and workflow pages: list, versions, YAML, pushing with problems shown at
their lines; a workflow's stages, gates and prompts, creating one, choosing the default."""

from __future__ import annotations

import html
import re

from tests.web import visitors
from tests.web.visitors import Site

site = visitors.site  # the fixture

GOOD = "name: fix-bugs\ndescription: Fixes bugs\nagent:\n  kind: command\n  command: echo hi\n"
BAD = "name: fix-bugs\nagent:\n  kind: command\n  comand: echo hi\n  command: echo hi\n"


def _problem_lines(html: str) -> dict[int, str]:
    """The source lines marked bad on the page, by number, with their notes."""
    return {
        int(number): body
        for number, body in re.findall(r'<li id="L(\d+)" class="bad">(.*?)</li>', html, re.S)
    }


def test_templates_are_pushed_listed_and_shown_by_version(site: Site) -> None:
    admin = site.visitor()
    first = admin.post("/templates", {"source": GOOD})
    assert (first.status_code, first.headers["location"].split("?")[0]) == (
        303,
        "/templates/fix-bugs/1",
    )
    second = admin.post("/templates", {"source": GOOD.replace("hi", "again"), "back": "fix-bugs"})
    assert second.headers["location"].startswith("/templates/fix-bugs/2")
    listed = admin.get("/templates").text
    assert 'href="/templates/fix-bugs"' in listed and "Fixes bugs" in listed
    page = admin.get("/templates/fix-bugs")
    assert page.status_code == 200
    assert "/templates/fix-bugs/1" in page.text and "echo again" in page.text
    old = admin.get("/templates/fix-bugs/1")
    assert old.status_code == 200 and "echo hi" in old.text
    assert 'aria-current="page">v1' in old.text
    missing = admin.get("/templates/fix-bugs/9")
    assert missing.status_code == 404 and "has no version 9" in missing.text
    assert admin.get("/templates/nothing").status_code == 404


def test_a_bad_template_is_refused_with_each_problem_at_its_line(site: Site) -> None:
    admin = site.visitor()
    refused = admin.post("/templates", {"source": BAD})
    assert refused.status_code == 400
    api = site.api.post(
        "/api/v1/templates", content=BAD, headers={"content-type": "application/yaml"}
    )
    [problem] = api.json()["error"]["details"]["errors"]
    assert problem["line"] == 4
    bad = _problem_lines(refused.text)
    assert list(bad) == [4] and f"line 4: {problem['field']}: {problem['message']}" in bad[4]
    assert "comand: echo hi</textarea>" not in refused.text  # the source stays to be fixed
    assert "comand: echo hi" in refused.text.split("<textarea", 1)[1]

    broken = admin.post("/templates", {"source": "name: fix-bugs\nagent: [oops\n"})
    assert broken.status_code == 400 and "not valid YAML" in broken.text
    assert list(_problem_lines(broken.text)) == [2]  # YAML says 3: the end
    with_crlf = admin.post("/templates", {"source": GOOD.replace("\n", "\r\n")})
    assert with_crlf.status_code == 303
    assert site.api.get("/api/v1/templates/fix-bugs").json()["source"] == GOOD

    # Pushing a next version from its page keeps that page, with the problem in place.
    again = admin.post("/templates", {"source": BAD, "back": "fix-bugs"})
    assert again.status_code == 400 and "<h1>fix-bugs" in again.text
    assert list(_problem_lines(again.text)) == [4]
    big = admin.post("/templates", {"source": "#" * (site.settings.max_template_bytes + 1)})
    assert big.status_code == 400 and "TASKYARD_MAX_TEMPLATE_BYTES" in big.text
    # One this server does not allow is refused when pushed, saying which setting allows it.
    assert not site.settings.allow_full_network
    wide = admin.post("/templates", {"source": GOOD + "network: {policy: full}\n"})
    assert wide.status_code == 400 and "TASKYARD_ALLOW_FULL_NETWORK" in wide.text
    assert "policy: full" in wide.text.split("<textarea", 1)[1]  # kept, to be changed


def test_another_organization_sees_none_of_the_templates(site: Site) -> None:
    site.visitor().post("/templates", {"source": GOOD})
    rival = site.visitor(site.person("eve", ["admin"], org="rival"))
    assert "fix-bugs" not in rival.get("/templates").text
    assert rival.get("/templates/fix-bugs").status_code == 404
    assert rival.get("/templates/fix-bugs/1").status_code == 404
    reader = site.visitor(site.person("bob"))
    refused = reader.post("/templates", {"source": GOOD.replace("hi", "bob")})
    assert refused.status_code == 403 and "templates:write" in refused.text
    assert "echo bob" in refused.text  # what they typed is not lost


def test_workflows_show_stages_gates_and_prompts(site: Site) -> None:
    page = site.visitor().get("/workflows")
    assert page.status_code == 200
    text = page.text
    for name in ("Plan", "Code", "Review", "Done"):
        assert f"<strong>{name}</strong>" in text
    assert "approval (changes go back to code)" in text
    assert "write a concise plan to PLAN.md" in text  # the plan stage's built-in prompt
    assert '<span class="badge">default</span>' in text


def test_a_workflow_is_created_from_yaml_or_json_and_made_default(site: Site) -> None:
    admin = site.visitor()
    yaml_source = (
        "name: quick\nstages:\n  - key: code\n    agent:\n      prompt: Just fix it.\n"
        "    deliver: true\n  - key: done\n"
    )
    created = admin.post("/workflows", {"source": yaml_source, "team": "TY"})
    assert created.status_code == 303
    page = admin.get(created.headers["location"]).text
    assert "Created workflow quick." in page and "Just fix it." in page
    json_source = '{"name": "solo", "stages": [{"key": "done"}]}'
    assert admin.post("/workflows", {"source": json_source, "default": "on"}).status_code == 303
    flows = {w["name"]: w["default"] for w in site.api.get("/api/v1/workflows").json()}
    assert flows == {"default": False, "quick": False, "solo": True}

    made = admin.post("/workflows/quick/default", {"team": "TY"})
    assert made.status_code == 303
    assert (
        "quick is now the default workflow of team TY." in admin.get(made.headers["location"]).text
    )
    clash = admin.post("/workflows", {"source": yaml_source})
    assert clash.status_code == 409 and "already has a workflow named" in clash.text
    assert "Just fix it." in clash.text.split("<textarea", 1)[1]  # kept for fixing
    for bad, says in (
        ("name: x\nstages: [oops\n", "not valid YAML or JSON at line"),
        ("- just a list\n", "a mapping with a 'name'"),
        ("name: x\nstages:\n  - key: Bad Key\n", "lowercase letters"),
    ):
        refused = admin.post("/workflows", {"source": bad})
        assert refused.status_code == 400 and says in html.unescape(refused.text), bad
    assert admin.post("/workflows/nope/default", {"team": "TY"}).status_code == 404


def test_another_organization_sees_none_of_the_workflows(site: Site) -> None:
    admin = site.visitor()
    admin.post("/workflows", {"source": "name: secretflow\nstages:\n  - key: done\n"})
    rival = site.visitor(site.person("eve", ["admin"], org="rival"))
    page = rival.get("/workflows")
    assert page.status_code == 200 and "secretflow" not in page.text and "team RI" in page.text
    assert rival.get("/workflows?team=TY").status_code == 404
    assert rival.post("/workflows/secretflow/default", {"team": "TY"}).status_code == 404
    bob = site.visitor(site.person("bob"))
    refused = bob.post("/workflows", {"source": "name: mine\nstages:\n  - key: done\n"})
    assert refused.status_code == 403 and "workflows:write" in refused.text

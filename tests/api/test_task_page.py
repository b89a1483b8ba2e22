"""``/tasks/{key}``, the page every link taskyard writes points at, and ``/pulls/{id}``:
everything shown escaped, no link but to the web."""

from __future__ import annotations

import httpx

from taskyard.config import Settings
from taskyard.db.models import PullRequest
from taskyard.db.session import session_scope

HOSTILE = '<script>alert("x")</script>'
PATCH = (
    "diff --git a/x.html b/x.html\n--- a/x.html\n+++ b/x.html\n@@ -1 +1 @@\n-removed\n+added <b>\n"
)


def _task_with_pull(api: httpx.Client, settings: Settings) -> tuple[str, int]:
    task = api.post(
        "/api/v1/tasks",
        json={"title": f"Fix {HOSTILE}", "repository": "acme/shop", "run": False},
    ).json()
    with session_scope(settings.resolved_database_url) as session:
        pull = PullRequest(
            task_id=task["id"],
            forge="local",
            repository="acme/shop",
            number=1,
            url="javascript:alert(1)",
            title=HOSTILE,
            body=f"Task: {HOSTILE}",
            head="taskyard/TY-1-fix",
            base="main",
            patch=PATCH,
        )
        session.add(pull)
        session.flush()
        return str(task["key"]), pull.id


def test_the_page_shows_the_task_and_its_pull_request_escaped(
    api: httpx.Client, api_settings: Settings
) -> None:
    key, pull_id = _task_with_pull(api, api_settings)
    page = api.get(f"/tasks/{key}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text
    assert 'href="javascript' not in page.text
    assert "taskyard/TY-1-fix → main" in page.text
    added = page.text.split('class="d-add"')[1].split("</tr>")[0]  # highlighted, escaped
    assert "added" in added and "&lt;" in added and "<b>" not in page.text
    assert api.get("/tasks/TY-9").status_code == 404

    pull = api.get(f"/pulls/{pull_id}")
    assert pull.status_code == 200 and "<script>" not in pull.text
    assert "&lt;script&gt;" in pull.text and 'href="javascript' not in pull.text
    assert "<b>" not in pull.text and api.get("/pulls/999").status_code == 404

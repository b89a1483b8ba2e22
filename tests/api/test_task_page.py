"""``/tasks/{key}``: the page every link taskyard writes points at."""

from __future__ import annotations

import httpx

from taskyard.config import Settings
from taskyard.db.models import PullRequest
from taskyard.db.session import session_scope

HOSTILE = '<script>alert("x")</script>'


def _task_with_pull(api: httpx.Client, settings: Settings) -> str:
    task = api.post(
        "/api/v1/tasks",
        json={"title": f"Fix {HOSTILE}", "repository": "acme/shop", "run": False},
    ).json()
    with session_scope(settings.resolved_database_url) as session:
        session.add(
            PullRequest(
                task_id=task["id"],
                forge="local",
                repository="acme/shop",
                number=1,
                url="javascript:alert(1)",
                title=HOSTILE,
                body=f"Task: {HOSTILE}",
                head="taskyard/TY-1-fix",
                base="main",
                patch="+added <b>\n-removed\n",
            )
        )
    return str(task["key"])


def test_the_page_shows_the_task_and_its_pull_request_escaped(
    api: httpx.Client, api_settings: Settings
) -> None:
    key = _task_with_pull(api, api_settings)
    page = api.get(f"/tasks/{key}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text
    assert 'href="javascript' not in page.text
    assert "taskyard/TY-1-fix → main" in page.text and "+added &lt;b&gt;" in page.text
    assert api.get("/tasks/TY-9").status_code == 404

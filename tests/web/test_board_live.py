"""The live board: cards follow their tasks without a reload, in a real browser; the
stream tells an organization only of its own tasks, and a viewer's streams are bounded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from taskyard.api.pages.board_stream import MAX_PER_VIEWER
from taskyard.db.models import Event, Task
from taskyard.db.session import session_scope
from taskyard.services import tasks, teams, tokens, users
from tests.support.server import RunningServer
from tests.web.conftest import sign_in_with_token
from tests.web.visitors import visitor

SCREENSHOT = Path(__file__).parents[2] / "docs" / "images" / "dashboard-board.png"


def _move(
    server: RunningServer, key: str, status: str, stage: str, *, cost: float = 0.0, state: str = ""
) -> int:
    """Move a task as its workflow would; the id of the last event that wrote."""
    with session_scope(server.settings.resolved_database_url) as session:
        task = session.query(Task).filter_by(key=key).one()
        tasks.set_status(session, task, status, stage=stage)
        task.cost_usd = cost
        if state:
            tasks.set_agent_state(session, task, state, "Reading the code")
        session.flush()
        return int(session.scalar(select(func.max(Event.id)).where(Event.task_id == task.id)))


def test_cards_follow_their_tasks_live(server: RunningServer, page: Page) -> None:
    titles = ["Fix the login redirect", "Add search to the catalogue", "Upgrade the ORM"]
    keys = [server.create_task(title=t, repository="acme/shop", run=False)["key"] for t in titles]
    server.create_task(
        title="Crash on empty cart",
        repository="acme/shop",
        run=False,
        origin="github_issue",
        origin_context={"issue_url": "https://github.com/acme/shop/issues/12"},
    )
    _move(server, keys[1], "waiting", "plan", cost=0.42, state="idle")
    _move(server, keys[2], "completed", "done", cost=1.87)
    sign_in_with_token(page, server.url, next_path="/board")
    waiting = page.locator('[data-stage="plan"]').locator(f"#card-{keys[1]}")
    expect(waiting).to_contain_text("waiting")
    expect(waiting).to_contain_text("$0.42")
    issue = page.get_by_role("link", name="github_issue")
    expect(issue).to_have_attribute("href", "https://github.com/acme/shop/issues/12")
    page.evaluate("window.notReloaded = true")

    _move(server, keys[0], "working", "code", cost=0.13, state="working")
    moved = page.locator('[data-stage="code"]').locator(f"#card-{keys[0]}")
    expect(moved).to_contain_text("working")
    expect(moved).to_contain_text("$0.13")
    expect(page.locator('[data-stage=""]').locator(f"#card-{keys[0]}")).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True

    page.locator('[data-stage="review"] summary').click()  # the stage's prompt, on request
    expect(page.locator('[data-stage="review"] details pre')).to_contain_text("Review the change")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: columns stack
    expect(moved).to_be_visible()


def _next_change(lines: Iterator[str]) -> int:
    """The data (an event id) of the stream's next ``changed`` event.

    ``lines`` is kept by the caller: leaving an ``iter_lines`` loop closes its response.
    """
    for line in lines:
        if line.startswith("data: "):
            return int(line[6:])
    raise AssertionError("the stream ended")


def test_the_stream_tells_an_organization_of_its_own_tasks_only(server: RunningServer) -> None:
    key = server.create_task(title="Ours", repository="acme/shop", run=False)["key"]
    with session_scope(server.settings.resolved_database_url) as session:
        org = teams.create_organization(session, "rival", "Rival Inc", "*")
        teams.create_team(session, org.id, "RV", "Rival team")
        eve = users.create_user(session, org.id, "eve", is_admin=True)
        _, token = tokens.create_token(session, eve, "eve", ["admin"])
    with httpx.Client(
        timeout=30, base_url=server.url, headers={"Authorization": f"Bearer {token}"}
    ) as api:
        body = {"title": "Theirs", "repository": "rival/app", "run": False}
        theirs = api.post("/api/v1/tasks", json=body).json()["key"]
    with session_scope(server.settings.resolved_database_url) as session:
        start = session.scalar(select(func.max(Event.id)))
    with visitor(server) as ours, visitor(server, token) as rival, ExitStack() as streams:
        mine = streams.enter_context(ours.stream("GET", f"/board/stream?after={start}"))
        other = streams.enter_context(rival.stream("GET", f"/board/stream?after={start}"))
        assert mine.status_code == other.status_code == 200
        assert mine.headers["content-type"].startswith("text/event-stream")

        mine_lines, other_lines = mine.iter_lines(), other.iter_lines()
        moved = _move(server, key, "working", "plan")
        assert _next_change(mine_lines) >= moved
        rival_moved = _move(server, theirs, "working", "plan")
        # The rival's first news is its own task's move, never ours before it.
        assert _next_change(other_lines) >= rival_moved

        more = [
            streams.enter_context(ours.stream("GET", "/board/stream"))
            for _ in range(MAX_PER_VIEWER - 1)
        ]
        # Each has begun (its first line read), and stays open (its lines kept).
        begun = [s.iter_lines() for s in more]
        assert all(
            s.status_code == 200 and next(lines) for s, lines in zip(more, begun, strict=True)
        )
        refused = ours.get("/board/stream")
        assert refused.status_code == 429 and "live boards are open" in refused.text

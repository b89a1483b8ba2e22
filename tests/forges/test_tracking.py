"""The tracking comments' loop against the GitHub stand-in: a comment posted once and
then edited, a burst of changes coalesced into few edits, a deleted comment posted
anew, a failing GitHub leaving the edit owed (and the task alone), nothing that looks
like a credential or a mention posted."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time

import httpx
from sqlalchemy import update

from taskyard.config import Settings
from taskyard.db.models import Task, TrackingComment, utcnow
from taskyard.db.session import session_scope
from taskyard.engine.tracking import TrackingLoop, stop_loop
from taskyard.model.status import TaskStatus
from taskyard.services import tasks, tracking
from tests.forges.conftest import TOKEN
from tests.support.github.records import Comment
from tests.support.github.standin import GitHubStandIn

PUBLIC = "https://ty.example.com"


def tracked_task(api: httpx.Client, settings: Settings, github: GitHubStandIn) -> tuple[int, int]:
    """A task (not running) on ``acme/shop`` at the stand-in, followed on a new issue."""
    site = {"kind": "github", "url": github.url, "api_url": github.url}
    assert api.put("/api/v1/forges/repositories/acme/shop", json=site).status_code == 200
    body = {"title": "Fix the cart", "repository": "acme/shop", "run": False}
    created = api.post("/api/v1/tasks", json=body)
    assert created.status_code == 201, created.text
    issue = github.records.add_issue("acme/shop", "The cart is broken")
    with session_scope(settings.resolved_database_url) as session:
        task = session.get(Task, created.json()["id"])
        assert task is not None
        tracking.start_tracking(session, task, "acme/shop", issue.number)
        return task.id, issue.number


def loop_settings(settings: Settings, interval: float) -> Settings:
    update = {"github_token": TOKEN, "public_url": PUBLIC, "github_comment_interval": interval}
    return settings.model_copy(update=update)


def change(settings: Settings, task_id: int, status: str, message: str, agent: str = "") -> None:
    with session_scope(settings.resolved_database_url) as session:
        task = session.get(Task, task_id)
        assert task is not None
        tasks.set_status(session, task, status, message)
        if agent:
            tasks.set_agent_state(session, task, "working", agent)


def due_now(settings: Settings, task_id: int) -> None:
    with session_scope(settings.resolved_database_url) as session:
        session.execute(
            update(TrackingComment)
            .where(TrackingComment.task_id == task_id)
            .values(due_at=utcnow() - dt.timedelta(seconds=1))
        )


def row(settings: Settings, task_id: int) -> TrackingComment:
    with session_scope(settings.resolved_database_url, write=False) as session:
        found = session.get(TrackingComment, task_id)
        assert found is not None
        return found


def only_comment(github: GitHubStandIn) -> Comment:
    [comment] = github.records.comments
    return comment


async def test_posted_at_once_then_one_edit_for_a_burst_of_changes(
    api: httpx.Client, api_settings: Settings, github: GitHubStandIn
) -> None:
    settings = loop_settings(api_settings, interval=3600)
    task_id, issue = tracked_task(api, settings, github)
    loop = TrackingLoop(settings)
    assert await loop.run_once() == 1
    comment = only_comment(github)
    assert comment.issue_number == issue and comment.user == github.login
    assert comment.body.splitlines()[0] == f"Task created: {PUBLIC}/tasks/TY-1"
    assert "**Queued**" in comment.body

    for n in range(30):
        change(settings, task_id, TaskStatus.WORKING, f"Code: step {n}", agent=f"edit {n}")
    assert await loop.run_once() == 0  # the interval is not over: the changes wait
    due_now(settings, task_id)
    assert await loop.run_once() == 1
    assert len(comment.history) == 1  # thirty changes, one edit
    assert "` Code: step 29 `" in comment.body and "Agent: working ` edit 29 `" in comment.body
    assert only_comment(github) is comment
    assert row(settings, task_id).comment_id == comment.id


async def test_the_running_loop_coalesces_edits_and_ends_on_the_last_state(
    api: httpx.Client, api_settings: Settings, github: GitHubStandIn
) -> None:
    interval = 0.5
    settings = loop_settings(api_settings, interval)
    task_id, _ = tracked_task(api, settings, github)
    loop = TrackingLoop(settings)
    running = asyncio.create_task(loop.run())
    try:
        await until(lambda: bool(github.records.comments))
        started = time.monotonic()
        for n in range(40):
            await asyncio.to_thread(change, settings, task_id, TaskStatus.WORKING, f"step {n}")
        await asyncio.to_thread(change, settings, task_id, TaskStatus.COMPLETED, "All done")
        burst = time.monotonic() - started
        comment = only_comment(github)
        await until(lambda: "**Completed**" in comment.body)
    finally:
        await stop_loop(loop, running, grace=5)
    # Edits at most once an interval, plus the one that ends it.
    assert len(comment.history) <= math.ceil(burst / interval) + 2, (burst, comment.history)
    assert "step 39" not in comment.body and "` All done `" in comment.body
    assert not row(settings, task_id).dirty


async def test_a_deleted_comment_is_posted_anew(
    api: httpx.Client, api_settings: Settings, github: GitHubStandIn
) -> None:
    settings = loop_settings(api_settings, interval=0)
    task_id, issue = tracked_task(api, settings, github)
    loop = TrackingLoop(settings)
    await loop.run_once()
    deleted = only_comment(github)
    github.records.comments.clear()  # a person deleted it
    change(settings, task_id, TaskStatus.WORKING, "Code: agent working")
    assert await loop.run_once() == 1
    posted = only_comment(github)
    assert posted.id != deleted.id and posted.issue_number == issue
    assert "Code: agent working" in posted.body and posted.history == []
    assert row(settings, task_id).comment_id == posted.id


async def test_a_failing_github_leaves_the_edit_owed_and_the_task_alone(
    api: httpx.Client, api_settings: Settings, github: GitHubStandIn
) -> None:
    settings = loop_settings(api_settings, interval=0)
    task_id, _ = tracked_task(api, settings, github)
    github.throttle(retry_after=3600, primary=True)  # out of requests for an hour
    loop = TrackingLoop(settings)
    assert await loop.run_once() == 1
    failed = row(settings, task_id)
    assert failed.dirty and "rate limit" in failed.last_error
    assert failed.due_at > utcnow() and failed.claimed_until is None
    assert github.records.comments == []
    assert api.get(f"/api/v1/tasks/{task_id}").json()["status"] == TaskStatus.QUEUED
    assert await loop.run_once() == 0  # tried again later, not at once
    due_now(settings, task_id)
    assert await loop.run_once() == 1
    assert only_comment(github).body.startswith("Task created:")
    assert row(settings, task_id).last_error == ""


async def test_what_the_agent_wrote_is_posted_as_code_without_credentials(
    api: httpx.Client, api_settings: Settings, github: GitHubStandIn
) -> None:
    settings = loop_settings(api_settings, interval=0)
    task_id, _ = tracked_task(api, settings, github)
    token = "ghp_" + "a1B2" * 9
    said = f"@octocat see ![x](https://evil.example/x.png) `{token}`"
    change(settings, task_id, TaskStatus.FAILED, f"Code: agent failed\n```\n{said}")
    await TrackingLoop(settings).run_once()
    body = only_comment(github).body
    assert token not in body and "[REDACTED]" in body
    reason = body[body.index("Failure reason:") :].splitlines()
    assert reason[1] == "````" and reason[-1] == "````"  # a fence the reason cannot close
    assert "**Failed**" in body


async def until(condition: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)

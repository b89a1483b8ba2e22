"""The tracking comment's outbox: marked dirty with the change that owes an edit,
claimed by one worker at a time, and due again when a claim lapses. Real SQLite, and
real PostgreSQL when TASKYARD_TEST_POSTGRES_URL names one (``scripts/with-postgres``)."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor, wait

import httpx
import pytest
from sqlalchemy import update

from taskyard.config import Settings
from taskyard.db.models import Task, TrackingComment, utcnow
from taskyard.db.session import session_scope
from taskyard.model.errors import InvalidInput
from taskyard.model.status import TaskStatus
from taskyard.services import tasks, tracking
from tests.api.conftest import api, api_settings

__all__ = ["api", "api_settings"]

LEASE = dt.timedelta(minutes=5)


def tracked(api: httpx.Client, settings: Settings, count: int) -> list[int]:
    ids = []
    for n in range(count):
        body = {"title": f"t{n}", "repository": "acme/shop", "run": False}
        response = api.post("/api/v1/tasks", json=body)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    with session_scope(settings.resolved_database_url) as session:
        for n, task_id in enumerate(ids, 1):
            task = session.get(Task, task_id)
            assert task is not None
            tracking.start_tracking(session, task, "acme/shop", n)
    return ids


def row(settings: Settings, task_id: int) -> TrackingComment:
    with session_scope(settings.resolved_database_url, write=False) as session:
        found = session.get(TrackingComment, task_id)
        assert found is not None
        return found


def change_status(settings: Settings, task_id: int, status: str, message: str) -> None:
    with session_scope(settings.resolved_database_url) as session:
        task = session.get(Task, task_id)
        assert task is not None
        tasks.set_status(session, task, status, message)


def test_each_comment_is_claimed_by_one_worker_at_a_time(
    api: httpx.Client, api_settings: Settings
) -> None:
    ids = tracked(api, api_settings, 6)
    with ThreadPoolExecutor(8) as pool:
        rounds = list(pool.map(lambda _: tracking.claim_due(api_settings, 10, LEASE), range(8)))
    claimed = [due.task_id for dues in rounds for due in dues]
    assert sorted(claimed) == sorted(ids)  # each once, however many asked at once
    first = next(due for dues in rounds for due in dues if due.task_id == ids[0])
    assert (first.repository, first.issue_number, first.comment_id) == ("acme/shop", 1, 0)
    assert first.body.startswith("Task created: ")
    assert not first.unchanged
    assert tracking.claim_due(api_settings, 10, LEASE) == []  # claimed, and no longer dirty


def test_a_change_while_posting_owes_another_edit_after_the_interval(
    api: httpx.Client, api_settings: Settings
) -> None:
    [task_id] = tracked(api, api_settings, 1)
    [due] = tracking.claim_due(api_settings, 10, LEASE)
    change_status(api_settings, task_id, TaskStatus.WORKING, "Code: agent working")
    tracking.posted(api_settings, due, 4242, interval=3600)
    after = row(api_settings, task_id)
    assert (after.comment_id, after.dirty, after.claimed_until) == (4242, True, None)
    assert tracking.claim_due(api_settings, 10, LEASE) == []  # coalesced: not yet due
    _due_now(api_settings, task_id)
    [again] = tracking.claim_due(api_settings, 10, LEASE)
    assert (again.comment_id, again.unchanged) == (4242, False)
    assert "` Code: agent working `" in again.body


def test_an_unchanged_body_is_not_posted_again(api: httpx.Client, api_settings: Settings) -> None:
    [task_id] = tracked(api, api_settings, 1)
    [due] = tracking.claim_due(api_settings, 10, LEASE)
    tracking.posted(api_settings, due, 7, interval=0)
    with session_scope(api_settings.resolved_database_url) as session:
        tracking.mark(session, task_id)
    [again] = tracking.claim_due(api_settings, 10, LEASE)
    assert again.unchanged and again.body == due.body


def test_a_lapsed_claim_is_due_again_and_a_failure_retried_later(
    api: httpx.Client, api_settings: Settings
) -> None:
    [task_id] = tracked(api, api_settings, 1)
    tracking.claim_due(api_settings, 10, LEASE)  # a worker that died holding it
    with session_scope(api_settings.resolved_database_url) as session:
        lapsed = utcnow() - dt.timedelta(seconds=1)
        session.execute(
            update(TrackingComment)
            .where(TrackingComment.task_id == task_id)
            .values(claimed_until=lapsed)
        )
    [due] = tracking.claim_due(api_settings, 10, LEASE)
    tracking.failed(api_settings, task_id, "GitHub answered 502", retry_in=3600)
    after = row(api_settings, task_id)
    assert (after.dirty, after.last_error, after.claimed_until) == (
        True,
        "GitHub answered 502",
        None,
    )
    assert tracking.claim_due(api_settings, 10, LEASE) == []
    assert due.task_id == task_id


def test_status_stage_and_agent_changes_mark_it_and_repeats_do_not(
    api: httpx.Client, api_settings: Settings
) -> None:
    [task_id] = tracked(api, api_settings, 1)
    [due] = tracking.claim_due(api_settings, 10, LEASE)
    tracking.posted(api_settings, due, 1, interval=0)
    assert not row(api_settings, task_id).dirty
    change_status(api_settings, task_id, TaskStatus.QUEUED, "")  # as it was: no change
    assert not row(api_settings, task_id).dirty
    with session_scope(api_settings.resolved_database_url) as session:
        task = session.get(Task, task_id)
        assert task is not None
        tasks.set_agent_state(session, task, "working", "Reading the code")
    assert row(api_settings, task_id).dirty


def test_a_tracking_comment_needs_an_issue(api: httpx.Client, api_settings: Settings) -> None:
    [task_id] = tracked(api, api_settings, 1)
    with session_scope(api_settings.resolved_database_url) as session:
        task = session.get(Task, task_id)
        assert task is not None
        with pytest.raises(InvalidInput, match="issue number"):
            tracking.start_tracking(session, task, "acme/shop", 0)


def _due_now(settings: Settings, task_id: int) -> None:
    with session_scope(settings.resolved_database_url) as session:
        session.execute(
            update(TrackingComment)
            .where(TrackingComment.task_id == task_id)
            .values(due_at=utcnow() - dt.timedelta(seconds=1))
        )


def test_a_claim_racing_a_change_to_a_dirty_comment_renders_the_change(
    api: httpx.Client, api_settings: Settings
) -> None:
    """A change still in flight when a claim comes, on a row already owed an edit: the
    claim waits for it (the change holds the row) and shows it, or leaves it owed."""
    [task_id] = tracked(api, api_settings, 1)  # dirty from the start
    with ThreadPoolExecutor(1) as pool, session_scope(api_settings.resolved_database_url) as s:
        task = s.get(Task, task_id)
        assert task is not None
        tasks.set_status(s, task, TaskStatus.FAILED, "It broke")
        s.flush()  # the change and its mark are written, not committed
        claiming = pool.submit(tracking.claim_due, api_settings, 10, LEASE)
        wait([claiming], timeout=0.5)  # let it come while this transaction is open
    claimed = claiming.result(timeout=30)
    shown = [due.body for due in claimed]
    owed = row(api_settings, task_id).dirty
    assert any("It broke" in body for body in shown) or owed, (shown, owed)

"""The tracking comment: one comment on a task's issue that follows the task.

An outbox (:class:`~taskyard.db.models.TrackingComment`, one row per task):
:func:`start_tracking` adds the row in the transaction that makes the task;
:func:`mark` sets it dirty in every transaction that changes what the comment
shows (status, stage, the agent's state, a delivery), so an edit is owed as surely
as the change is stored. The engine's loop (:mod:`taskyard.engine.tracking`) takes
due rows with :func:`claim_due`, posts or edits the comment from the task's state
at that moment, and reports with :func:`posted` or :func:`failed`, which set when
the next edit may come: a burst of changes becomes one edit.

A claim is a lease (``claimed_until``), taken by a compare-and-set UPDATE that
only one worker's transaction can win, on SQLite and PostgreSQL alike; the claim
consumes the dirty flag, so a change made while the comment is being posted marks
it dirty again. A worker that dies holding a claim leaves it to lapse: a row with
a lapsed claim is due again, and no edit is lost.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select, true, update
from sqlalchemy.orm import Session

from taskyard.config import Settings
from taskyard.db.models import PullRequest, Task, TrackingComment, Workflow, utcnow
from taskyard.db.session import session_scope
from taskyard.model.errors import InvalidInput
from taskyard.model.forge import ForgeSite
from taskyard.model.redaction import Redactor
from taskyard.services import repository_owners, secrets
from taskyard.services.tracking_body import PullView, TaskView, render

MAX_REPOSITORY = 500
ERROR_LIMIT = 500


@dataclass(frozen=True)
class Due:
    """A claimed comment and the body it should now have."""

    task_id: int
    site: ForgeSite
    repository: str
    issue_number: int
    comment_id: int  # 0: not posted yet
    body: str
    sha: str
    unchanged: bool  # the comment already says exactly this
    # Why the server's forge credentials may no longer post it: the repository's owner was
    # withdrawn from the task's organization since the task was made ("": they may).
    refused: str = ""


def start_tracking(session: Session, task: Task, repository: str, issue_number: int) -> None:
    """Follow ``task`` with a comment on issue (or pull request) ``issue_number`` of
    ``repository``; posted by the engine soon after the caller's transaction commits."""
    if not 0 < issue_number < 2**31 or not 0 < len(repository) <= MAX_REPOSITORY:
        raise InvalidInput(
            f"A tracking comment needs an issue number and a repository of at most "
            f"{MAX_REPOSITORY} characters, not {repository[:100]!r}#{issue_number}."
        )
    session.flush()  # the task's id
    if session.get(TrackingComment, task.id) is None:
        session.add(
            TrackingComment(task_id=task.id, repository=repository, issue_number=issue_number)
        )


def mark(session: Session, task_id: int) -> None:
    """Owe the task's comment an edit (if it has one), in the caller's transaction.

    Unconditional, even when the row is dirty already: the UPDATE locks the row until the
    change commits, so a claim (which consumes the flag, then reads the task) waits for it
    and renders it. Skipping an already-dirty row let a claim on PostgreSQL consume the
    flag and read the task before this change committed: the last edit was then lost.
    """
    session.execute(
        update(TrackingComment)
        .where(TrackingComment.task_id == task_id)
        .values(dirty=True)
        .execution_options(synchronize_session=False)
    )


def _due(now: dt.datetime) -> list[ColumnElement[bool]]:
    lapsed = and_(TrackingComment.claimed_until.is_not(None), TrackingComment.claimed_until <= now)
    free = or_(TrackingComment.claimed_until.is_(None), TrackingComment.claimed_until <= now)
    owed = or_(TrackingComment.dirty.is_(true()), lapsed)
    return [owed, free, TrackingComment.due_at <= now]


def claim_due(settings: Settings, limit: int, lease: dt.timedelta) -> list[Due]:
    """Claim up to ``limit`` comments owed an edit, each with the body it should have."""
    url = settings.resolved_database_url
    now = utcnow()
    with session_scope(url, write=False) as session:  # idle polls take no write lock
        candidates = list(
            session.scalars(
                select(TrackingComment.task_id)
                .where(*_due(now))
                .order_by(TrackingComment.due_at, TrackingComment.task_id)
                .limit(limit)
            )
        )
    if not candidates:
        return []
    claimed: list[Due] = []
    with session_scope(url) as session:
        for task_id in sorted(candidates):  # rows locked in one order: no deadlock (PostgreSQL)
            # Compare and set: of two workers, the second finds the row claimed.
            won = session.execute(
                update(TrackingComment)
                .where(TrackingComment.task_id == task_id, *_due(now))
                .values(dirty=False, claimed_until=now + lease)
                .execution_options(synchronize_session=False)
            )
            if won.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(_rendered(session, settings, task_id, now))
    return claimed


def _rendered(session: Session, settings: Settings, task_id: int, now: dt.datetime) -> Due:
    row = session.get(TrackingComment, task_id)
    task = session.get(Task, task_id)
    assert row is not None and task is not None  # claimed in this transaction; cascades
    workflow = session.get(Workflow, task.workflow_id)
    names = {s["key"]: s.get("name") or s["key"] for s in (workflow.stages if workflow else [])}
    pulls = session.scalars(
        select(PullRequest).where(PullRequest.task_id == task_id).order_by(PullRequest.id)
    )
    public = settings.public_url.rstrip("/")
    view = TaskView(
        key=task.key,
        link=f"{public}/tasks/{task.key}" if public else "",
        stage=names.get(task.stage, task.stage),
        status=task.status,
        status_message=task.status_message,
        agent_state=task.agent_state,
        agent_message=task.agent_message,
        cost_usd=task.cost_usd,
        created_at=task.created_at,
        ended_at=task.ended_at,
        pulls=tuple(PullView(p.url, p.number, p.state, p.draft) for p in pulls),
    )
    # The forge client redacts what looks like a credential; these are the ones it knows.
    body = Redactor(secrets.known_values(session, settings, task.org_id).values()).text(
        render(view, now)
    )
    sha = hashlib.sha256(body.encode()).hexdigest()
    return Due(
        task_id=task_id,
        site=task.forge_site,
        repository=row.repository,
        issue_number=row.issue_number,
        comment_id=row.comment_id,
        body=body,
        sha=sha,
        unchanged=bool(row.comment_id) and sha == row.body_sha,
        refused=repository_owners.refusal(session, task.org_id, row.repository),
    )


def posted(settings: Settings, due: Due, comment_id: int, interval: float) -> None:
    """The comment says ``due.body`` now; the next edit waits ``interval`` seconds."""
    with session_scope(settings.resolved_database_url) as session:
        session.execute(
            update(TrackingComment)
            .where(TrackingComment.task_id == due.task_id)
            .values(
                comment_id=comment_id,
                body_sha=due.sha,
                last_error="",
                claimed_until=None,
                due_at=utcnow() + dt.timedelta(seconds=interval),
            )
            .execution_options(synchronize_session=False)
        )


def failed(settings: Settings, task_id: int, error: str, retry_in: float) -> None:
    """The edit did not happen: owed again in ``retry_in`` seconds, ``error`` kept."""
    with session_scope(settings.resolved_database_url) as session:
        session.execute(
            update(TrackingComment)
            .where(TrackingComment.task_id == task_id)
            .values(
                dirty=True,
                last_error=error[:ERROR_LIMIT],
                claimed_until=None,
                due_at=utcnow() + dt.timedelta(seconds=retry_in),
            )
            .execution_options(synchronize_session=False)
        )

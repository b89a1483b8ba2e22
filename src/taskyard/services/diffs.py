"""A task's diff as published by the worker that holds its work, and as the API shows it.

The worker publishes after every turn and at delivery (:mod:`taskyard.engine.work`);
the API reads the latest here and never goes near a checkout. Published patches
have known secrets masked already; they are masked again on the way out, with
the secrets known now (one may have been added since).
"""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskyard.config import Settings
from taskyard.db.models import PublishedDiff, PullRequest, Task, utcnow
from taskyard.model.diff import DiffStats
from taskyard.model.redaction import Redactor
from taskyard.services import events, secrets


def publish(session: Session, task_id: int, head: str, stats: DiffStats, patch: str) -> None:
    """Keep ``patch`` as the task's diff, and say so with a ``diff`` event (a page
    showing the diff reloads it then)."""
    row = session.get(PublishedDiff, task_id)
    if row is None:
        row = PublishedDiff(task_id=task_id)
        session.add(row)
    row.head = head
    row.files_changed = stats.files_changed
    row.additions = stats.additions
    row.deletions = stats.deletions
    row.patch = patch
    row.published_at = utcnow()
    events.append(session, task_id, "diff", {"head": head, **asdict(stats)})


def latest_patch(session: Session, task_id: int) -> str:
    """The last published diff; a task from before publishing shows its last delivery's."""
    row = session.get(PublishedDiff, task_id)
    if row is not None:
        return row.patch
    delivered = session.scalar(
        select(PullRequest.patch)
        .where(PullRequest.task_id == task_id)
        .order_by(PullRequest.id.desc())
        .limit(1)
    )
    return delivered or ""


def masked(session: Session, settings: Settings, org_id: int, patch: str) -> str:
    """``patch`` as people are shown it: the organization's secrets known now masked again."""
    known = secrets.known_values(session, settings, org_id)
    return Redactor(known.values()).text(patch)


def shown_patch(session: Session, settings: Settings, task: Task) -> str:
    return masked(session, settings, task.org_id, latest_patch(session, task.id))

"""What a delivery records: its outcome.

The delivery activity (:mod:`taskyard.engine.delivery`) does the work on disk and
on the forge; every database read and write it needs is here, each in its own
short transaction (none is held open across a push or a forge's API call).
"""

from __future__ import annotations

from dataclasses import dataclass

from taskyard.config import Settings
from taskyard.db.models import Task
from taskyard.db.session import session_scope
from taskyard.forges.base import PullRequestDraft, RemotePullRequest
from taskyard.model.diff import DiffStats
from taskyard.model.errors import NotFound
from taskyard.services import events, pulls, tracking


@dataclass(frozen=True)
class Delivered:
    """What a delivery pushed and opened."""

    stage: str
    forge: str
    draft: PullRequestDraft
    remote: RemotePullRequest | None
    stats: DiffStats
    head_sha: str
    patch: str  # secrets already masked


def record_unchanged(settings: Settings, task_id: int, stage: str) -> None:
    with session_scope(settings.resolved_database_url) as session:
        events.append(
            session,
            task_id,
            "delivery",
            {
                "stage": stage,
                "changed": False,
                "message": f"Stage '{stage}' changed nothing; no pull request opened.",
            },
        )


def record(settings: Settings, task_id: int, done: Delivered) -> bool:
    """Store the pull request and the delivery event; True if the pull request is new."""
    with session_scope(settings.resolved_database_url) as session:
        task = session.get(Task, task_id)
        if task is None:
            raise NotFound(f"Task {task_id} no longer exists.")
        pull, created = pulls.record_pull_request(
            session,
            task,
            done.forge,
            done.draft,
            done.remote,
            done.stats,
            done.head_sha,
            done.patch,
        )
        events.append(
            session,
            task_id,
            "delivery",
            {
                "stage": done.stage,
                "changed": True,
                "branch": done.draft.head,
                "commit": done.head_sha,
                "pull_request": pull.number,
                "url": pull.url,
                "forge": done.forge,
                "created": created,
                "files_changed": done.stats.files_changed,
                "additions": done.stats.additions,
                "deletions": done.stats.deletions,
            },
        )
        tracking.mark(session, task_id)
        return created

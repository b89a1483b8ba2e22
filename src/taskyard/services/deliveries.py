"""What a delivery reads and records: the task as it stands, then its outcome.

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
from taskyard.model.template import TemplateSpec
from taskyard.services import events, pulls, runs, secrets


@dataclass(frozen=True)
class Delivery:
    """A task about to be delivered: its row, its template, the secrets it could hold."""

    task: Task
    spec: TemplateSpec
    known: dict[str, str]


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


def begin(settings: Settings, task_id: int) -> Delivery:
    with session_scope(settings.resolved_database_url, write=False) as session:
        task = session.get(Task, task_id)
        if task is None:
            raise NotFound(f"Task {task_id} no longer exists.")
        known = secrets.known_values(session, settings, task.org_id)
        return Delivery(task, runs.task_spec(session, task), known)


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
        return created

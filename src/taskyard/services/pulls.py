"""Pull requests taskyard opened (the local forge's only record; a mirror of GitHub's)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskyard.db.models import PullRequest, Task
from taskyard.forges.base import PullRequestDraft, RemotePullRequest
from taskyard.model.diff import DiffStats


def record_pull_request(
    session: Session,
    task: Task,
    forge: str,
    draft: PullRequestDraft,
    remote: RemotePullRequest | None,
    stats: DiffStats,
    head_sha: str,
    patch: str,
) -> tuple[PullRequest, bool]:
    """Create or update the task's pull request for ``draft.head``; True if created."""
    pull = session.scalar(
        select(PullRequest).where(PullRequest.task_id == task.id, PullRequest.head == draft.head)
    )
    created = pull is None
    if pull is None:
        number = (
            remote.number
            if remote
            else (
                session.scalar(
                    select(func.max(PullRequest.number)).where(
                        PullRequest.repository == draft.repository
                    )
                )
                or 0
            )
            + 1
        )
        pull = PullRequest(
            task_id=task.id,
            forge=forge,
            repository=draft.repository,
            number=number,
            head=draft.head,
            base=draft.base,
            title=draft.title,
        )
        session.add(pull)
    pull.url = remote.url if remote else ""
    pull.state = remote.state if remote else "open"
    pull.node_id = remote.node_id if remote else ""
    pull.draft = remote.draft if remote else False
    pull.body = draft.body
    pull.head_sha = head_sha
    pull.files_changed = stats.files_changed
    pull.additions = stats.additions
    pull.deletions = stats.deletions
    pull.patch = patch
    session.flush()
    return pull, created


def pulls_of(session: Session, task_id: int) -> list[PullRequest]:
    return list(
        session.scalars(
            select(PullRequest).where(PullRequest.task_id == task_id).order_by(PullRequest.id)
        )
    )


def last_pushed(session: Session, task_id: int, head: str) -> str:
    """The commit taskyard last pushed to branch ``head`` for the task; ``""`` if none."""
    return (
        session.scalar(
            select(PullRequest.head_sha).where(
                PullRequest.task_id == task_id, PullRequest.head == head
            )
        )
        or ""
    )


def open_drafts(session: Session, task_id: int) -> list[PullRequest]:
    """The task's open pull requests that are still drafts."""
    return list(
        session.scalars(
            select(PullRequest)
            .where(
                PullRequest.task_id == task_id,
                PullRequest.state == "open",
                PullRequest.draft.is_(True),
            )
            .order_by(PullRequest.id)
        )
    )


def as_dict(pull: PullRequest) -> dict[str, Any]:
    return {
        "number": pull.number,
        "forge": pull.forge,
        "repository": pull.repository,
        "url": pull.url,
        "title": pull.title,
        "body": pull.body,
        "head": pull.head,
        "base": pull.base,
        "state": pull.state,
        "draft": pull.draft,
        "head_sha": pull.head_sha,
        "files_changed": pull.files_changed,
        "additions": pull.additions,
        "deletions": pull.deletions,
        "created_at": pull.created_at,
        "updated_at": pull.updated_at,
    }

"""What a delivery records: its outcome.

The delivery activity (:mod:`taskyard.engine.delivery`) does the work on disk and
on the forge; every database read and write it needs is here, each in its own
short transaction (none is held open across a push or a forge's API call).
"""

from __future__ import annotations

from dataclasses import dataclass

from taskyard.config import Settings
from taskyard.db.models import PullRequest, Task, TrackingComment
from taskyard.db.session import session_scope
from taskyard.forges.base import PullRequestDraft, RemotePullRequest
from taskyard.model.diff import DiffStats
from taskyard.model.errors import NotFound
from taskyard.model.forge import ForgeSite
from taskyard.services import events, pulls, repository_owners, task_notices, tracking


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


@dataclass(frozen=True)
class Draft:
    """An open draft pull request of a task, to be marked ready for review."""

    id: int
    repository: str
    remote: RemotePullRequest


def last_pushed(settings: Settings, task_id: int, branch: str) -> str:
    """The commit taskyard last pushed to ``branch`` for the task; ``""`` if none yet."""
    with session_scope(settings.resolved_database_url, write=False) as session:
        return pulls.last_pushed(session, task_id, branch)


def record_refused(settings: Settings, task_id: int, stage: str, message: str) -> None:
    """A push refused because a person moved the branch: said in the task's events."""
    with session_scope(settings.resolved_database_url) as session:
        data = {"stage": stage, "changed": True, "refused": True, "message": message}
        events.append(session, task_id, "delivery", data)


def record(settings: Settings, task_id: int, done: Delivered) -> bool:
    """Store the pull request and the delivery event; True if the pull request is new and
    the originating issue should hear of it (no tracking comment follows the task there)."""
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
        return created and session.get(TrackingComment, task_id) is None


def open_drafts(settings: Settings, task_id: int) -> tuple[ForgeSite, list[Draft], str]:
    """The task's forge, its open draft pull requests, and why the server's forge
    credentials may no longer touch them (its repository's owner was withdrawn from the
    task's organization since the task was made; ``""``: they may)."""
    with session_scope(settings.resolved_database_url, write=False) as session:
        task = session.get(Task, task_id)
        if task is None:
            raise NotFound(f"Task {task_id} no longer exists.")
        drafts = [
            Draft(p.id, p.repository, RemotePullRequest(p.number, p.url, p.state, p.node_id, True))
            for p in pulls.open_drafts(session, task_id)
        ]
        refused = repository_owners.refusal(session, task.org_id, task.repository)
        return task.forge_site, drafts, refused


def record_ready(settings: Settings, task_id: int, draft: Draft, error: str = "") -> None:
    """The draft is ready for review now, or ``error`` says why the forge refused it."""
    number = draft.remote.number
    with session_scope(settings.resolved_database_url) as session:
        if error:
            message = f"Pull request #{number} could not be marked ready for review: {error}"
        else:
            message = f"Pull request #{number} marked ready for review."
            pull = session.get(PullRequest, draft.id)
            if pull is not None:
                pull.draft = False
            tracking.mark(session, task_id)
            task = session.get(Task, task_id)
            if task is not None:
                task_notices.pull_request_ready(session, task, number, draft.remote.url)
        data = {"pull_request": number, "ready": not error, "message": message}
        events.append(session, task_id, "delivery", data)

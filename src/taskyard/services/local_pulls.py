"""Pull requests of the local forge, as a person sees and ends them from the dashboard.

On the local forge taskyard's record is the pull request, so merging and closing are
done here: a merge commits the branch into its base in the repository on this machine
(:func:`taskyard.forges.local.merge`); either way the task ends as it does when a
GitHub pull request is merged (completed) or closed (cancelled).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from sqlalchemy.orm import Session

from taskyard.db.models import PullRequest, Task
from taskyard.forges import local
from taskyard.model.errors import Conflict, NotFound
from taskyard.model.signals import Signal
from taskyard.model.status import FINAL
from taskyard.services import audit, events, review_store, tasks
from taskyard.services.access import Principal, require
from taskyard.services.actions import EngineLike
from taskyard.services.repositories import local_path
from taskyard.workspaces.git import GitError


def get_pull(session: Session, principal: Principal, pull_id: int) -> tuple[PullRequest, Task]:
    """The pull request and its task, within the caller's organization only."""
    require(principal, "tasks:read")
    pull = session.get(PullRequest, pull_id)
    if pull is None:
        raise NotFound(f"Pull request {pull_id} not found.")
    try:
        task = tasks.get_task(session, principal, str(pull.task_id))
    except NotFound:
        raise NotFound(f"Pull request {pull_id} not found.") from None
    return pull, task


def _open_local(session: Session, principal: Principal, pull_id: int) -> tuple[PullRequest, Task]:
    require(principal, "tasks:write")
    pull, task = get_pull(session, principal, pull_id)
    if pull.forge != "local":
        raise Conflict(f"Pull request #{pull.number} is on {pull.forge}: merge or close it there.")
    if pull.state != "open":
        raise Conflict(f"Pull request #{pull.number} is {pull.state} already.")
    return pull, task


def _end(
    session: Session, engine: EngineLike, principal: Principal, pull: PullRequest, task: Task,
    merged: bool,
) -> None:  # fmt: skip
    found = review_store.pull_task(pull, task)
    if task.status not in FINAL:
        # A workflow that is gone takes no signal: the stop end_pull records ends the task.
        with contextlib.suppress(Conflict):
            engine.signal(task, Signal("merged" if merged else "closed", by=principal.username))
    review_store.end_pull(session, found, merged)
    said = "merged" if merged else "closed"
    events.append(
        session,
        task.id,
        "delivery",
        {"pull_request": pull.number, "message": f"Pull request {said} by {principal.username}."},
    )
    audit.record(session, principal, f"pull.{said}", task.key, {"pull_request": pull.number})


def merge(session: Session, engine: EngineLike, principal: Principal, pull_id: int) -> PullRequest:
    """Merge the pull request into its base branch; its task completes."""
    pull, task = _open_local(session, principal, pull_id)
    path = local_path(pull.repository)
    if path is None:
        raise Conflict(f"Pull request #{pull.number}'s repository is not on this machine.")
    by = principal.username
    message = f"Merge {pull.head}: {pull.title}\n\nMerged from the taskyard dashboard by {by}."
    try:
        local.merge(Path(path), pull.base, pull.head, pull.head_sha, message, principal.username)
    except GitError as exc:
        raise Conflict(f"Merging failed: {exc.message}") from None
    _end(session, engine, principal, pull, task, merged=True)
    return pull


def close(session: Session, engine: EngineLike, principal: Principal, pull_id: int) -> PullRequest:
    """Close the pull request without merging; its task is cancelled."""
    pull, task = _open_local(session, principal, pull_id)
    _end(session, engine, principal, pull, task, merged=False)
    return pull

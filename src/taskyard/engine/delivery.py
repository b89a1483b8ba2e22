"""The delivery activity's work: commit, push, pull request, comment back."""

from __future__ import annotations

import asyncio

from taskyard.config import Settings
from taskyard.db.models import Task
from taskyard.db.session import session_scope
from taskyard.engine.context import checkout_dir
from taskyard.engine.types import DeliveryResult
from taskyard.forges.base import PullRequestDraft, RemotePullRequest
from taskyard.forges.delivery import (
    DiffStats,
    branch_stats,
    commit_all,
    forge_for,
    has_changes,
    push,
)
from taskyard.services import events, pulls
from taskyard.workspaces.git import git


def _load(settings: Settings, task_id: int) -> Task:
    with session_scope(settings.resolved_database_url) as session:
        task = session.get(Task, task_id)
        assert task is not None
        return task


def _body(task: Task, settings: Settings, stats: DiffStats) -> str:
    link = (
        f"{settings.public_url.rstrip('/')}/tasks/{task.key}" if settings.public_url else task.key
    )
    lines = [
        f"Opened by taskyard for task [{task.key}]({link})."
        if settings.public_url
        else f"Opened by taskyard for task {task.key}.",
        "",
        task.description.strip() or task.title,
        "",
        f"{stats.files_changed} file(s) changed, +{stats.additions} -{stats.deletions}.",
    ]
    issue = task.origin_context.get("issue_number")
    if issue:
        lines += ["", f"Closes #{issue}"]
    return "\n".join(lines)


async def deliver(settings: Settings, task_id: int, stage: str) -> DeliveryResult:
    """Commit the checkout's changes, push the branch, open or update the pull request."""
    task = await asyncio.to_thread(_load, settings, task_id)
    checkout = checkout_dir(settings, task)
    if await has_changes(checkout):
        await commit_all(checkout, f"{task.key}: {task.title}", settings)
    stats, patch = await branch_stats(checkout, task.base_branch)
    if stats.files_changed == 0:
        await asyncio.to_thread(
            _event,
            settings,
            task_id,
            {
                "stage": stage,
                "changed": False,
                "message": f"Stage '{stage}' changed nothing; no pull request opened.",
            },
        )
        return DeliveryResult(changed=False)
    await push(checkout, task.repository, task.branch, settings)
    head_sha = (await git("rev-parse", "HEAD", cwd=checkout)).strip()
    draft = PullRequestDraft(
        repository=task.repository,
        title=f"{task.key}: {task.title}",
        body=_body(task, settings, stats),
        head=task.branch,
        base=task.base_branch,
    )
    forge = forge_for(task.repository, settings)
    remote = await forge.open_or_update(draft)
    created = await asyncio.to_thread(
        _record, settings, task_id, forge.name, draft, remote, stats, head_sha, patch, stage
    )
    issue = task.origin_context.get("issue_number")
    if created and issue and remote is not None:
        await forge.comment(
            task.repository, int(issue), f"taskyard opened {remote.url} for {task.key}."
        )
    return DeliveryResult(True, remote.url if remote else "", remote.number if remote else 0)


def _event(settings: Settings, task_id: int, data: dict[str, object]) -> None:
    with session_scope(settings.resolved_database_url) as session:
        events.append(session, task_id, "delivery", data)


def _record(
    settings: Settings,
    task_id: int,
    forge: str,
    draft: PullRequestDraft,
    remote: RemotePullRequest | None,
    stats: DiffStats,
    head_sha: str,
    patch: str,
    stage: str,
) -> bool:
    with session_scope(settings.resolved_database_url) as session:
        task = session.get(Task, task_id)
        assert task is not None
        pull, created = pulls.record_pull_request(
            session, task, forge, draft, remote, stats, head_sha, patch
        )
        events.append(
            session,
            task_id,
            "delivery",
            {
                "stage": stage,
                "changed": True,
                "branch": draft.head,
                "commit": head_sha,
                "pull_request": pull.number,
                "url": pull.url,
                "forge": forge,
                "created": created,
                "files_changed": stats.files_changed,
                "additions": stats.additions,
                "deletions": stats.deletions,
            },
        )
        return created

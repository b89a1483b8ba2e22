"""The delivery activity's work: export the work, check it, push, pull request, comment back."""

from __future__ import annotations

import asyncio

from taskyard.config import Settings
from taskyard.db.models import Task
from taskyard.db.session import session_scope
from taskyard.engine.types import DeliveryResult
from taskyard.engine.work import collect_work
from taskyard.forges.base import PullRequestDraft, RemotePullRequest
from taskyard.forges.delivery import forge_for
from taskyard.model.diff import DiffStats
from taskyard.model.errors import InvalidInput
from taskyard.model.redaction import Redactor
from taskyard.services import events, pulls
from taskyard.services.task_store import TaskFacts, TaskStore
from taskyard.workspaces import vault
from taskyard.workspaces.git import GitError
from taskyard.workspaces.repos import auth_config, remote_url


class SecretInWork(InvalidInput):
    """The work to deliver holds a known secret value; nothing was pushed."""


def _body(task: TaskFacts, settings: Settings, stats: DiffStats) -> str:
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


async def deliver(settings: Settings, store: TaskStore, task_id: int, stage: str) -> DeliveryResult:
    """Commit the checkout's changes (in the sandbox), check them, push the branch
    from the vault, open or update the pull request."""
    task = await asyncio.to_thread(store.facts, task_id)
    try:
        return await _deliver(settings, store, task, stage)
    except (GitError, InvalidInput) as exc:
        # The message becomes the task's status: it may quote what the agent wrote
        # (a file name, git's complaint about it), so secrets are masked here too.
        raise InvalidInput(Redactor(task.known.values()).text(exc.message)) from exc


async def _deliver(
    settings: Settings, store: TaskStore, task: TaskFacts, stage: str
) -> DeliveryResult:
    task_id, known = task.id, task.known
    work = await collect_work(settings, task, mode="commit", message=f"{task.key}: {task.title}")
    if work is None or work.stats.files_changed == 0:
        await asyncio.to_thread(
            store.append_event,
            task_id,
            "delivery",
            {
                "stage": stage,
                "changed": False,
                "message": f"Stage '{stage}' changed nothing; no pull request opened.",
            },
        )
        return DeliveryResult(changed=False)
    leak = await vault.find_secret(work.vault, work.base, work.head, known)
    if leak:
        raise SecretInWork(
            f"Delivery refused: {leak} (a commit on the task's branch). Nothing was pushed; "
            "ask the agent to remove it from the branch's history, then deliver again."
        )
    url = remote_url(task.repository, settings)
    await vault.push(work.vault, work.head, url, task.branch, auth_config(url, settings))
    stats = work.stats
    draft = PullRequestDraft(
        repository=task.repository,
        title=f"{task.key}: {task.title}",
        body=_body(task, settings, stats),
        head=task.branch,
        base=task.base_branch,
    )
    forge = forge_for(task.repository, settings)
    remote = await forge.open_or_update(draft)
    patch = Redactor(known.values()).text(work.patch)
    await asyncio.to_thread(store.publish_diff, task_id, work.head, stats, patch)
    created = await asyncio.to_thread(
        _record, settings, task_id, forge.name, draft, remote, stats, work.head, patch, stage
    )
    issue = task.origin_context.get("issue_number")
    if created and issue and remote is not None:
        await forge.comment(
            task.repository, int(issue), f"taskyard opened {remote.url} for {task.key}."
        )
    return DeliveryResult(True, remote.url if remote else "", remote.number if remote else 0)


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

"""The delivery activity's work: export the work, check it, push, pull request, comment
back; and, once a person approves it, the pull request marked ready for review.

Git runs in :mod:`taskyard.workspaces` (the commit in the task's sandbox, the
checks and the push from the vault), the forge's API and wording in the task's
forge (:mod:`taskyard.forges`), the database reads and writes in
:mod:`taskyard.services.deliveries`.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from taskyard.config import Settings
from taskyard.engine.home import held, mark_path, read_mark, write_mark
from taskyard.engine.types import DeliveryResult
from taskyard.engine.work import Work, collect_work
from taskyard.forges.base import FORGES, DeliveredWork
from taskyard.model.errors import InvalidInput, Permanent, TaskyardError
from taskyard.model.redaction import Redactor
from taskyard.services import deliveries
from taskyard.services.deliveries import Delivered
from taskyard.services.task_store import TaskFacts, TaskStore
from taskyard.workspaces import vault
from taskyard.workspaces.git import GitError


class SecretInWork(InvalidInput):
    """The work to deliver holds a known secret value; nothing was pushed."""


async def deliver(settings: Settings, store: TaskStore, task_id: int, stage: str) -> DeliveryResult:
    """Commit the checkout's changes (in the sandbox), check them, push the branch
    from the vault, open or update the pull request."""
    task = await asyncio.to_thread(store.facts, task_id)
    try:
        async with held(settings, task.workspace_name, store, task.id):
            return await _deliver(settings, store, task, stage)
    except (GitError, InvalidInput) as exc:
        # The message becomes the task's status: it may quote what the agent wrote
        # (a file name, git's complaint about it), so secrets are masked here too.
        raise InvalidInput(Redactor(task.known.values()).text(exc.message)) from exc


async def _deliver(
    settings: Settings, store: TaskStore, task: TaskFacts, stage: str
) -> DeliveryResult:
    known = task.known
    work = None
    if not await _known_unchanged(settings, store, task):
        message = f"{task.key}: {task.title}"
        work = await collect_work(settings, task, mode="commit", message=message)
    if work is None or work.stats.files_changed == 0:
        await asyncio.to_thread(deliveries.record_unchanged, settings, task.id, stage)
        return DeliveryResult(changed=False)
    leak = await vault.find_secret(work.vault, work.base, work.head, known)
    if leak:
        raise SecretInWork(
            f"Delivery refused: {leak} (a commit on the task's branch). Nothing was pushed; "
            "ask the agent to remove it from the branch's history, then deliver again."
        )
    site = task.forge_site
    forge = FORGES.get(site.kind)
    # A GitHub App's token may be asked of GitHub: not on the event loop.
    target = await asyncio.to_thread(forge.remote, task.repository, site, settings)
    pushed = await asyncio.to_thread(deliveries.last_pushed, settings, task.id, task.branch)
    try:
        await vault.push(work.vault, work.head, target, task.branch, pushed)
    except vault.BranchMoved as exc:
        await asyncio.to_thread(deliveries.record_refused, settings, task.id, stage, exc.message)
        raise
    draft = forge.draft(_delivered_work(settings, task, work))
    saved = work.saved(known.values())
    seq = await asyncio.to_thread(store.save_work, task.id, saved)
    # The commit made for delivery is on the checkout's branch now: it is what the
    # checkout holds, and what a checkout made elsewhere starts from.
    workspace_mark = mark_path(settings, task.workspace_name)
    if (mark := await asyncio.to_thread(read_mark, workspace_mark)) is not None:
        await asyncio.to_thread(write_mark, workspace_mark, replace(mark, seq=seq))
    patch = saved.patch
    async with forge.connect(site, settings) as client:
        remote = await client.open_or_update(draft)
        done = Delivered(
            stage,
            forge.kind,
            draft,
            remote,
            work.stats,
            work.head,
            patch,
        )
        announce = await asyncio.to_thread(deliveries.record, settings, task.id, done)
        issue = int(task.origin_context.get("issue_number") or 0)
        if announce and issue and remote is not None:
            await client.comment(task.repository, issue, forge.opened_comment(remote, task.key))
    return DeliveryResult(True, remote.url if remote else "", remote.number if remote else 0)


async def _known_unchanged(settings: Settings, store: TaskStore, task: TaskFacts) -> bool:
    """Whether the checkout is known to hold nothing to deliver, with no export: its mark
    says it holds the task's latest checkpoint, untouched since (a turn clears the mark
    before its agent starts), and that checkpoint is the base commit. The export would
    find the same, at the cost of a sandbox and a read of every file."""
    mark = await asyncio.to_thread(read_mark, mark_path(settings, task.workspace_name))
    if mark is None or mark.seq == 0:
        return False
    return await asyncio.to_thread(store.holds_no_work, task.id, mark.seq)


async def mark_ready(settings: Settings, task_id: int, last_try: bool = False) -> None:
    """Mark the task's open draft pull requests ready for review (a person approved it).

    A forge that refuses (a permission the token lacks), or cannot be reached on the
    activity's ``last_try``, is said in the task's events and leaves the draft for a
    person to mark; the task goes on. Before the last try, one that cannot be reached
    raises, and the activity is tried again.
    """
    site, drafts, refused = await asyncio.to_thread(deliveries.open_drafts, settings, task_id)
    if not drafts:
        return
    # Its owner's grant, or the forge's credentials, went since it opened them.
    if not refused:
        try:
            client = FORGES.get(site.kind).connect(site, settings)
        except Permanent as exc:
            refused = exc.message
    if refused:
        for draft in drafts:
            await asyncio.to_thread(deliveries.record_ready, settings, task_id, draft, refused)
        return
    async with client:
        for draft in drafts:
            try:
                await client.mark_ready(draft.repository, draft.remote)
            except TaskyardError as exc:
                if not (isinstance(exc, Permanent) or last_try):
                    raise
                await asyncio.to_thread(
                    deliveries.record_ready, settings, task_id, draft, exc.message
                )
            else:
                await asyncio.to_thread(deliveries.record_ready, settings, task_id, draft)


def _delivered_work(settings: Settings, task: TaskFacts, work: Work) -> DeliveredWork:
    public = settings.public_url.rstrip("/")
    return DeliveredWork(
        repository=task.repository,
        key=task.key,
        title=task.title,
        description=task.description,
        head=task.branch,
        base=task.base_branch,
        stats=work.stats,
        link=f"{public}/tasks/{task.key}" if public else "",
        issue_number=int(task.origin_context.get("issue_number") or 0),
    )

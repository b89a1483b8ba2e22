"""A GitHub event that may start a task: match the triggers, authorize, create or message.

For each organization whose trigger on the repository fires: the sender must be a
linked user allowed to write to it (:mod:`taskyard.services.github_senders`), or
the issue gets one comment saying why nothing ran. Otherwise the task is made from
the payload as it was when the event happened (see :mod:`taskyard.services.github_subject`
and :mod:`taskyard.services.github_prompt`), on the issue's thread: while a task of the
thread is open, the instruction reaches it as a message instead.

Once per delivery, however often the activity runs: the task carries the delivery id
in its ``origin_context``, and a retry that finds it does not make another; a message to
a thread's open task is committed with a note on the delivery that it was sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskyard.db.models import GitHubTrigger, PullRequest, Task, User
from taskyard.model.errors import Permanent
from taskyard.model.github import SOURCE, GitHubEvent
from taskyard.model.redaction import redact_credentials
from taskyard.services import actions, github_senders, tracking, webhooks
from taskyard.services.access import Principal
from taskyard.services.github_context import IntakeContext, ThreadEngine
from taskyard.services.github_prompt import prompt_of, title_of
from taskyard.services.github_subject import (
    MAX_CHANGED,
    Subject,
    fires,
    instruction_of,
    subject_of,
)
from taskyard.services.github_triggers import for_repository
from taskyard.services.tasks import TaskCreate

OWN_BRANCHES = "taskyard/"  # taskyard's own pushes and pull requests start nothing


@dataclass(frozen=True)
class Fired:
    trigger: GitHubTrigger
    instruction: str  # the triggering person's words ("" for labels, pushes...)


async def handle(context: IntakeContext, event: GitHubEvent) -> str:
    """What came of ``event``: a short sentence for the delivery's record."""
    subject = subject_of(event)
    if subject is None:
        return f"Ignored: the {event.event} payload names no issue, pull request or branch."
    if _own(event, subject):
        return "Ignored: taskyard's own branch."
    triggers = await asyncio.to_thread(_triggers, context, subject.repository)
    watching = [t for t in triggers if t.kind == "paths"]
    if event.event == "pull_request" and watching:
        # A pull request's payload does not list its files: ask, as the first watcher.
        client = await context.github(watching[0].org_id, subject.repository)
        async with client:
            files = await client.pull_files(subject.repository, subject.number)
        subject = replace(subject, changed=tuple(files[:MAX_CHANGED]))
    fired = _fired(triggers, event, subject)
    if not fired:
        what = f"{event.event} {event.action}".strip()
        return f"Ignored: no trigger on {subject.repository} fires on {what}."
    outcomes = []
    for one in fired:
        try:
            outcomes.append(await _for_org(context, event, subject, one))
        except Permanent as exc:  # this organization's trigger names a missing template...
            outcomes.append(f"Failed: {exc}")
    return " ".join(outcomes)


def _own(event: GitHubEvent, subject: Subject) -> bool:
    if subject.kind == "push":
        return subject.ref.startswith(f"refs/heads/{OWN_BRANCHES}")
    pull = event.payload.get("pull_request")
    head = pull.get("head") if isinstance(pull, dict) else None
    ref = head.get("ref") if isinstance(head, dict) else None
    return isinstance(ref, str) and ref.startswith(OWN_BRANCHES)


def _triggers(context: IntakeContext, repository: str) -> list[GitHubTrigger]:
    with context.session(write=False) as session:
        triggers = for_repository(session, repository)
        session.expunge_all()
    return triggers


def _fired(triggers: Sequence[GitHubTrigger], event: GitHubEvent, subject: Subject) -> list[Fired]:
    """The first trigger that fires in each organization that has the repository."""
    found: dict[int, Fired] = {}
    for trigger in triggers:
        if trigger.org_id not in found and fires(trigger, event, subject):
            words = instruction_of(subject.comment, trigger.value)
            found[trigger.org_id] = Fired(trigger, words if trigger.kind == "comment" else "")
    return list(found.values())


async def _for_org(
    context: IntakeContext, event: GitHubEvent, subject: Subject, fired: Fired
) -> str:
    org_id = fired.trigger.org_id
    sender = await github_senders.authorize(
        context.sessions(), context.settings, org_id, subject.repository, event.sender
    )
    if sender.user is None:
        return await _refuse(context, org_id, subject, sender.refusal)
    loop = asyncio.get_running_loop()
    engine = ThreadEngine(context.engine, loop)
    return await asyncio.to_thread(_start, context, engine, event, subject, fired, sender.user)


async def _refuse(context: IntakeContext, org_id: int, subject: Subject, refusal: str) -> str:
    text = redact_credentials(refusal)
    if subject.number:
        async with await context.github(org_id, subject.repository) as client:
            await client.comment(subject.repository, subject.number, text)
    return f"Refused: {text}"


def _start(
    context: IntakeContext,
    engine: ThreadEngine,
    event: GitHubEvent,
    subject: Subject,
    fired: Fired,
    user: User,
) -> str:
    org_id = fired.trigger.org_id
    with context.session() as session:
        thread = _thread(session, org_id, subject)
        task = _made_for(session, org_id, thread, event.delivery_id)
        retried = task is not None
        if task is None:
            if org_id in webhooks.orgs_done(session, SOURCE, event.delivery_id):
                return "The thread's open task was given the instruction."
            # Committed with the task, or with the message to the thread's open task.
            webhooks.done_for(session, SOURCE, event.delivery_id, org_id)
            principal = Principal(user.id, org_id, user.username, frozenset({"tasks:write"}))
            body = _task_body(event, subject, fired, user, thread)
            roots = context.settings.local_repository_roots
            made = actions.create(session, engine, principal, body, local_roots=roots)
            task = made.task
            outcome = (
                f"Task {task.key} was created."
                if made.created
                else f"Task {task.key} was open on this thread: it got the instruction."
            )
        else:
            outcome = f"Task {task.key} was created."
        if subject.number:
            tracking.start_tracking(session, task, subject.repository, subject.number)
        if retried:  # the task was made by an earlier attempt: make sure it runs
            session.commit()
            engine.start(task)
        return outcome


def _thread(session: Session, org_id: int, subject: Subject) -> str:
    """The subject's thread; on a pull request taskyard opened, its task's: a comment
    there reaches the task that opened it."""
    if subject.kind == "pull request":
        opener = session.scalar(
            select(Task.thread)
            .join(PullRequest, PullRequest.task_id == Task.id)
            .where(
                Task.org_id == org_id,
                Task.thread.is_not(None),
                func.lower(PullRequest.repository) == subject.repository.lower(),
                PullRequest.number == subject.number,
            )
            .order_by(Task.id.desc())
            .limit(1)
        )
        if opener:
            return opener
    return subject.thread


def _made_for(session: Session, org_id: int, thread: str, delivery_id: str) -> Task | None:
    tasks: Sequence[Task] = session.scalars(
        select(Task).where(Task.org_id == org_id, Task.thread == thread).order_by(Task.id.desc())
    ).all()
    return next((t for t in tasks if t.origin_context.get("delivery_id") == delivery_id), None)


def _task_body(
    event: GitHubEvent, subject: Subject, fired: Fired, user: User, thread: str
) -> TaskCreate:
    trigger = fired.trigger
    sender = event.sender
    login = str(sender.get("login", ""))[:100]
    requester = f"@{login} on GitHub ({user.username} in taskyard)"
    return TaskCreate(
        title=title_of(subject),
        description=prompt_of(trigger.prompt, subject, fired.instruction, requester),
        repository=subject.repository,
        base_branch=subject.ref.removeprefix("refs/heads/"),
        team=trigger.team,
        template=trigger.template,
        workflow=trigger.workflow,
        origin="github",
        origin_context={
            "repository": subject.repository,
            "issue_number": subject.number or None,
            "issue_url": subject.url[:500],
            "html_url": (subject.comment_url or subject.url)[:500],
            "sender": {"login": login, "id": sender.get("id")},
            "delivery_id": event.delivery_id,
            "event": event.event,
            "action": event.action,
            "trigger": trigger.id,
        },
        thread=thread,
    )

"""What people do to a task: create, start, message, approve, request changes, cancel,
and name its reviewers.

Each action checks the task is in a state that takes it, records the person's
input as an event, and signals the task's workflow through ``engine``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session

from taskyard.db.models import Task, Workflow
from taskyard.model.errors import Conflict, InvalidInput, Unavailable
from taskyard.model.signals import Signal
from taskyard.model.status import FINAL, TaskStatus
from taskyard.model.workflow import Stage
from taskyard.services import audit, events, reviewers, stops, tasks, threads, workflows
from taskyard.services.access import Principal, require
from taskyard.services.tasks import TaskCreate

log = logging.getLogger(__name__)
MAX_MESSAGE = 100_000


class EngineLike(Protocol):
    def check(self) -> None: ...
    def start(self, task: Task, stages: list[Stage] | None = None) -> None: ...
    def signal(self, task: Task, signal: Signal) -> None: ...
    def state(self, task: Task) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class Created:
    """What a create did: made ``task`` (``created``), or gave its thread's open task
    the new description as a message."""

    task: Task
    created: bool


def create(
    session: Session,
    engine: EngineLike,
    principal: Principal,
    body: TaskCreate,
    *,
    local_roots: Sequence[Path],
    record: Callable[[Task], None] | None = None,
) -> Created:
    """Create a task and, unless ``run`` is false, start its workflow.

    With a ``thread`` on which the organization has an open task, no task is made: the
    description (the title when it has none) goes to that task as a message.
    ``record``: called with the new task before it is committed, to commit with it
    what made it (a schedule's run).
    """
    require(principal, "tasks:write")
    if body.thread is not None:
        current = threads.open_task(session, principal.org_id, body.thread)
        if current is not None:
            return Created(_fold(session, engine, principal, current, body), created=False)
    task = tasks.create_task(session, principal, body, local_roots=local_roots)
    detail: dict[str, Any] = {"title": task.title}
    if body.reviewers:
        detail["reviewers"] = sorted(body.reviewers)
    audit.record(session, principal, "task.created", task.key, detail)
    if record is not None:
        record(task)
    if body.run:
        engine.check()  # refuse before commit: the request rolls back, nothing is left behind
    stages = workflows.pinned_stages(task) if body.run else None
    # The workflow's first activity reads the task: it must be committed first.
    session.commit()
    if body.run:
        _start_committed(engine, task, stages)
    return Created(task, created=True)


def _start_committed(engine: EngineLike, task: Task, stages: list[Stage] | None) -> None:
    """Start a task whose run is committed, with its ``stages`` read before the commit
    (see :func:`.workflows.pinned_stages`); one the engine cannot take now is started
    by the runtime's next sweep (``Runtime.keep_starting``), not refused: a refusal
    would tell the caller nothing was made, and its retry would make the task twice."""
    try:
        engine.start(task, stages)
    except Unavailable as exc:
        log.warning("task %s is stored; its start waits for the engine: %s", task.key, exc)


def _fold(
    session: Session, engine: EngineLike, principal: Principal, task: Task, body: TaskCreate
) -> Task:
    """Send ``body``'s words to ``task``, the open task of its thread, from its creator."""
    by = tasks.resolve_creator(session, principal, body.creator).username
    if not task.run_requested:
        raise Conflict(
            f"Task {task.key} is open on thread '{body.thread}' but was never started: "
            f"start it (taskyard tasks start {task.key}) or cancel it, then try again."
        )
    text = body.description.strip() or body.title.strip()
    if not text:
        raise InvalidInput("Say what to do: the description (or the title) must not be empty.")
    # The create that opened this thread may have committed a moment ago and not yet
    # started its workflow, which a signal needs; starting a started one does nothing.
    engine.start(task)
    _send(session, engine, task, text, by, thread=body.thread)
    session.commit()
    return task


def start(session: Session, engine: EngineLike, principal: Principal, ref: str) -> Task:
    require(principal, "tasks:write")
    task = tasks.get_task(session, principal, ref)
    if task.status != TaskStatus.QUEUED:
        raise Conflict(f"Task {task.key} has already started ({task.status}).")
    engine.check()
    task.run_requested = True
    audit.record(session, principal, "task.started", task.key)
    stages = workflows.pinned_stages(task)
    session.commit()
    _start_committed(engine, task, stages)
    return task


def _active(task: Task, action: str) -> None:
    if task.status in FINAL:
        raise Conflict(f"Task {task.key} is {task.status}; it cannot take {action}.")
    if not task.run_requested:
        raise Conflict(f"Task {task.key} has not been started; start it first.")


def message(
    session: Session, engine: EngineLike, principal: Principal, ref: str, text: str
) -> Task:
    """Queue a message for the agent: delivered as its next turn, never rejected."""
    require(principal, "tasks:write")
    task = tasks.get_task(session, principal, ref)
    if not text.strip():
        raise InvalidInput("Message text must not be empty.")
    if len(text) > MAX_MESSAGE:
        raise InvalidInput(f"Message is longer than {MAX_MESSAGE} characters.")
    _active(task, "messages")
    _send(session, engine, task, text, principal.username)
    return task


def _send(
    session: Session, engine: EngineLike, task: Task, text: str, by: str, **detail: Any
) -> None:
    engine.signal(task, Signal("message", text=text, by=by))
    events.append(session, task.id, "message", {"text": text, "by": by, **detail})


def approve(
    session: Session, engine: EngineLike, principal: Principal, ref: str, comment: str = ""
) -> Task:
    require(principal, "tasks:write")
    task = tasks.get_task(session, principal, ref)
    _active(task, "an approval")
    if task.status != TaskStatus.WAITING:
        raise Conflict(f"Task {task.key} is {task.status}, not waiting for approval.")
    engine.signal(task, Signal("approve", text=comment, by=principal.username))
    events.append(
        session,
        task.id,
        "approval",
        {"stage": task.stage, "by": principal.username, "comment": comment},
    )
    audit.record(session, principal, "task.approved", task.key, {"stage": task.stage})
    return task


def request_changes(
    session: Session,
    engine: EngineLike,
    principal: Principal,
    ref: str,
    text: str,
    stage: str = "",
) -> Task:
    """Send the task back (to ``stage`` or the gate's default) with ``text`` as the prompt."""
    require(principal, "tasks:write")
    task = tasks.get_task(session, principal, ref)
    if not text.strip():
        raise InvalidInput("Say what should change: 'text' must not be empty.")
    _active(task, "change requests")
    if task.status != TaskStatus.WAITING:
        raise Conflict(f"Task {task.key} is {task.status}, not waiting for approval.")
    workflow = session.get(Workflow, task.workflow_id)
    stages = {s["key"]: s for s in workflow.stages} if workflow else {}
    if stage and stage not in stages:
        raise InvalidInput(f"Stage '{stage}' is not in this task's workflow ({', '.join(stages)}).")
    # The event names the stage the task really goes back to, as the engine picks it.
    gate = stages.get(task.stage, {})
    target = stage or gate.get("request_changes_to") or task.stage
    engine.signal(task, Signal("request_changes", text=text, by=principal.username, target=stage))
    events.append(
        session,
        task.id,
        "request_changes",
        {"stage": task.stage, "to": target, "by": principal.username, "text": text},
    )
    detail = {"stage": task.stage, "to": target}
    audit.record(session, principal, "task.changes_requested", task.key, detail)
    return task


def cancel(session: Session, engine: EngineLike, principal: Principal, ref: str) -> Task:
    """Stop the task wherever it is; its agent's processes are killed.

    The stop recorded here, committed before the answer goes out, is what makes the
    cancel immediate: the gateway refuses the task's next model call and the running
    turn kills its sandbox within a fraction of a second, in whichever worker they
    run. The workflow's signal then winds the task up.
    """
    require(principal, "tasks:write")
    task = tasks.get_task(session, principal, ref)
    if task.status in FINAL:
        raise Conflict(f"Task {task.key} is already {task.status}.")
    reason = f"Cancelled by {principal.username}"
    audit.record(session, principal, "task.cancelled", task.key)
    if not task.run_requested:
        tasks.set_status(session, task, TaskStatus.CANCELLED, reason)
        return task
    engine.signal(task, Signal("cancel", by=principal.username))
    stops.request_stop(session, task, stops.Stop("cancel", reason))
    return task


def set_reviewers(
    session: Session, principal: Principal, ref: str, usernames: Sequence[str]
) -> Task:
    """Make ``usernames`` (of the caller's organization) the task's reviewers, in place of
    those it had; a change is recorded as an event and in the audit log, no change is not."""
    require(principal, "tasks:write")
    task = tasks.get_task(session, principal, ref)
    users = reviewers.resolve(session, principal.org_id, usernames)
    added, removed = reviewers.replace(session, task.id, users)
    if added or removed:
        now = sorted(user.username for user in users)
        detail = {"reviewers": now, "added": added, "removed": removed}
        events.append(session, task.id, "reviewers", {**detail, "by": principal.username})
        audit.record(session, principal, "task.reviewers_set", task.key, detail)
    return task

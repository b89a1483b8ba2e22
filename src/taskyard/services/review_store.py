"""What the GitHub review loop keeps in the database: which task a pull request
belongs to, the change requests and repair rounds it sent, and how the pull request
ended.

A pull request is the task's only if taskyard recorded it when it delivered, on the
task's own branch: a branch or commit taskyard did not make matches nothing. Repair
rounds are counted on the pull request (``repair_rounds``) with a conditional UPDATE,
and each names the head commit it answers in its event: two deliveries about the same
commit (a redelivery, two checks, a check run and its suite), at the same moment or
not, start one round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from taskyard.db.models import Event, PullRequest, Task, Workflow
from taskyard.model.forge import ForgeSite
from taskyard.model.status import FINAL, TaskStatus
from taskyard.services import events, stops, tracking


@dataclass(frozen=True)
class PullTask:
    """A pull request taskyard opened, and the task it delivers."""

    pull_id: int
    repository: str
    number: int
    head: str
    head_sha: str
    task_id: int
    uid: str
    key: str
    status: str
    stage: str
    site: ForgeSite


def pull_task(pull: PullRequest, task: Task) -> PullTask:
    """The pair as the review loop reads it."""
    return PullTask(
        pull.id, pull.repository, pull.number, pull.head, pull.head_sha,
        task.id, task.uid, task.key, task.status, task.stage, task.forge_site,
    )  # fmt: skip


def _find(session: Session, *where: Any) -> PullTask | None:
    row = session.execute(
        select(PullRequest, Task)
        .join(Task, Task.id == PullRequest.task_id)
        # On the branch taskyard made for the task, never one a person made.
        .where(PullRequest.forge == "github", PullRequest.head == Task.branch, *where)
        .order_by(PullRequest.id.desc())
        .limit(1)
    ).first()
    return None if row is None else pull_task(*row)


def by_number(session: Session, repository: str, number: int, head: str) -> PullTask | None:
    """The task whose pull request is ``repository#number`` from branch ``head``."""
    return _find(
        session,
        func.lower(PullRequest.repository) == repository.lower(),
        PullRequest.number == number,
        PullRequest.head == head,
    )


def by_head_sha(session: Session, repository: str, sha: str) -> PullTask | None:
    """The task whose open pull request on ``repository`` has ``sha`` as its head commit."""
    return _find(
        session,
        func.lower(PullRequest.repository) == repository.lower(),
        PullRequest.head_sha == sha,
        PullRequest.state == "open",
    )


def gate_target(session: Session, task_id: int) -> str:
    """The stage a change request sends the task to, when it waits at a gate now."""
    task = session.get(Task, task_id)
    if task is None or task.status != TaskStatus.WAITING:
        return ""
    workflow = session.get(Workflow, task.workflow_id)
    stages = {s["key"]: s for s in workflow.stages} if workflow else {}
    return str(stages.get(task.stage, {}).get("request_changes_to") or task.stage)


def record_request(session: Session, found: PullTask, data: dict[str, Any]) -> None:
    """The change request's event, as the API records one: ``data`` says where it came
    from and where it sends the task (``to``, read with :func:`gate_target` before the
    signal)."""
    events.append(session, found.task_id, "request_changes", {"stage": found.stage, **data})


Granted = Literal["granted", "duplicate", "limit"]


@dataclass(frozen=True)
class RepairClaim:
    outcome: Granted
    round: int  # the round granted, or the rounds spent


def _spent(session: Session, found: PullTask) -> tuple[int, bool]:
    """The repair rounds the pull request had, and whether one answered its head commit."""
    answered = any(
        e.data.get("pull_request") == found.number and e.data.get("head_sha") == found.head_sha
        for e in session.scalars(
            select(Event).where(Event.task_id == found.task_id, Event.kind == "repair")
        )
    )
    pull = session.get(PullRequest, found.pull_id)
    return (pull.repair_rounds if pull else 0), answered


def repair_due(session: Session, found: PullTask, limit: int) -> Granted:
    """What :func:`claim_repair` would answer now, read only: a duplicate or a spent
    limit costs no request to GitHub for logs."""
    rounds, answered = _spent(session, found)
    return "duplicate" if answered else "limit" if rounds >= limit else "granted"


def claim_repair(session: Session, found: PullTask, check: str, limit: int) -> RepairClaim:
    """One repair round for the pull request's head commit, unless one was started for
    it already or ``limit`` rounds are spent (then a ``repair_limit`` event says so, once)."""
    rounds, answered = _spent(session, found)
    if answered:
        return RepairClaim("duplicate", rounds)
    if rounds >= limit:
        said = session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.task_id == found.task_id, Event.kind == "repair_limit")
        )
        if not said:
            message = (
                f"Checks still fail after {rounds} repair round{'s' * (rounds != 1)}: "
                "taskyard stops repairing; a person should look."
                if limit
                else "Checks fail; taskyard does not repair them (TASKYARD_GITHUB_REPAIR_ROUNDS "
                "is 0): a person should look."
            )
            data = {"pull_request": found.number, "head_sha": found.head_sha, "check": check}
            events.append(session, found.task_id, "repair_limit", {**data, "message": message})
            tracking.mark(session, found.task_id)  # the comment says it
        return RepairClaim("limit", rounds)
    won: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(PullRequest)
        .where(
            PullRequest.id == found.pull_id,
            PullRequest.repair_rounds == rounds,
            PullRequest.head_sha == found.head_sha,
        )
        .values(repair_rounds=rounds + 1)
        .execution_options(synchronize_session=False)
    )
    if not won.rowcount:  # another delivery took this round (or a new commit came) meanwhile
        return RepairClaim("duplicate", rounds)
    data = {"pull_request": found.number, "head_sha": found.head_sha, "check": check}
    events.append(session, found.task_id, "repair", {**data, "round": rounds + 1, "of": limit})
    return RepairClaim("granted", rounds + 1)


def end_pull(session: Session, found: PullTask, merged: bool) -> None:
    """Record how the pull request ended; a turn still running stops at once."""
    pull = session.get(PullRequest, found.pull_id)
    task = session.get(Task, found.task_id)
    assert pull is not None and task is not None
    pull.state = "merged" if merged else "closed"
    tracking.mark(session, found.task_id)
    if task.status not in FINAL:
        reason = "Pull request merged" if merged else "Pull request closed without merging"
        stops.request_stop(session, task, stops.Stop("cancel", reason))

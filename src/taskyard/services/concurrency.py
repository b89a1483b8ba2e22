"""Per-team concurrency: how many of a team's tasks run an agent at once, and the line.

A task about to run its agent (provisioning and turns) takes a slot of its team; when
the team has none free, the task waits in line, ``queued`` with "queued: N ahead of
you", and is never put ahead of a task that started waiting before it. A running task
is never evicted or paused to make room, and a task waiting for a person holds no slot.

Each task in line or holding a slot has a :class:`TeamSlot` row. Every change to a
team's line (a claim, a release, a new limit) runs under a lock on the team's row
(``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite every writing transaction holds
the database's one write lock already), and ends in :func:`_rebalance`, which hands
free slots to the head of the line and writes every waiting task's position. So
several API and worker processes agree on who runs, and positions are current
whenever the line moves. Rows of tasks that ended (a slot a crashed run left behind)
count for nothing and are cleared at the next rebalance.

While nobody waits there is no line to move: a claim within the limit takes its slot,
and a release frees it, without reading the team's other slots (a count of those
running, when the team has a limit). The work under the team's lock then does not grow
with how many of its tasks run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskyard.db.models import Task, Team, TeamSlot, utcnow
from taskyard.model.errors import InvalidInput, NotFound
from taskyard.model.status import FINAL, TaskStatus
from taskyard.services import audit, tasks
from taskyard.services.access import Principal, require_admin
from taskyard.services.teams import resolve_team

#: The largest limit a team may be given: a number nobody means is refused.
MAX_LIMIT = 10_000


def queued_message(ahead: int) -> str:
    return f"queued: {ahead} ahead of you"


@dataclass(frozen=True)
class Claim:
    """The answer to a task asking for a slot."""

    granted: bool
    ahead: int = 0  # tasks of its team ahead of it in line, when not granted
    wake: list[str] = field(default_factory=list)  # uids of other tasks just given a slot


def effective_limit(team: Team, default: int) -> int:
    """The team's limit (0: none); ``default`` is the installation's."""
    return default if team.max_running is None else team.max_running


def _locked_team(session: Session, team_id: int) -> Team:
    query = select(Team).where(Team.id == team_id).with_for_update()
    team = session.scalar(query.execution_options(populate_existing=True))
    if team is None:
        raise NotFound(f"Team {team_id} no longer exists.")
    return team


def lock_line(session: Session, task_id: int) -> tuple[Task, Team]:
    """The task, and its team locked: taken before writing anything in a transaction that
    claims, and handed to :func:`claim`.

    A claim that wrote its task's entry into the stage first held locks that other
    claims wait for (its own row, which :func:`_rebalance` writes for a task in line,
    and the shared locks its writes took) while it waited for the team's lock: on
    PostgreSQL, claims of a burst deadlocked with each other, with a team limit or
    without, and their retries met again.
    """
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(f"Task {task_id} no longer exists.")
    return task, _locked_team(session, task.team_id)


@dataclass(frozen=True)
class Line:
    """A team's line after a change."""

    woken: list[str]  # uids of the tasks just given a slot, whose workflows are to be woken
    ahead: dict[int, int]  # task id -> tasks ahead of it, of those still waiting


def _rebalance(session: Session, team: Team, default: int) -> Line:
    """Give free slots to the head of the line; write the others' positions."""
    limit = effective_limit(team, default)
    # The tasks' status and uid only: this runs at every claim and release, over the
    # whole line, under the lock; the rows of those kept waiting are loaded to be written.
    rows = session.execute(
        select(TeamSlot, Task.status, Task.uid)
        .join(Task, Task.id == TeamSlot.task_id)
        .where(TeamSlot.team_id == team.id)
        .order_by(TeamSlot.waiting_since, TeamSlot.task_id)
        .execution_options(populate_existing=True)
    ).all()
    running, line = 0, []
    for slot, status, uid in rows:
        if status in FINAL:
            session.delete(slot)  # left behind by a run that never released it
        elif slot.running:
            running += 1
        else:
            line.append((slot, uid))
    result = Line([], {})
    for slot, uid in line:
        if limit == 0 or running < limit:
            slot.running, running = True, running + 1
            result.woken.append(uid)
        else:
            result.ahead[slot.task_id] = len(result.ahead)
    if result.ahead:  # those kept waiting, in one read, to write their positions
        waiting = session.scalars(
            select(Task).where(Task.id.in_(result.ahead)).execution_options(populate_existing=True)
        )
        for task in waiting:
            ahead = result.ahead[task.id]
            tasks.set_status(session, task, TaskStatus.QUEUED, queued_message(ahead))
    session.flush()
    return result


def claim(session: Session, task: Task, team: Team, default: int) -> Claim:
    """Take a slot of the task's team (locked, by :func:`lock_line`) for its agent run,
    or a place in line.

    Asking again is safe: a task holding a slot keeps it, one in line keeps its place.
    """
    task_id = task.id
    slot = session.get(TeamSlot, task_id)
    if slot is None:
        slot = TeamSlot(task_id=task_id, team_id=team.id, running=False, waiting_since=utcnow())
        session.add(slot)
        session.flush()
    if not slot.running and _free_without_a_line(session, team, default, task_id):
        slot.running = True
        session.flush()
        return Claim(True)
    line = _rebalance(session, team, default)
    others = [uid for uid in line.woken if uid != task.uid]
    if task_id in line.ahead:
        return Claim(False, ahead=line.ahead[task_id], wake=others)
    return Claim(True, wake=others)


def release(session: Session, task_id: int, default: int) -> list[str]:
    """The task's agent run ended (or it left the line): free its slot.

    Returns the uids of the tasks given a slot in its place.
    """
    task = session.get(Task, task_id)
    if task is None:
        return []
    team = _locked_team(session, task.team_id)
    slot = session.get(TeamSlot, task_id)
    if slot is not None:
        session.delete(slot)
        session.flush()
    if not _anyone_waiting(session, team.id, task_id):
        return []  # the slot was nobody's to take
    return _rebalance(session, team, default).woken


def _anyone_waiting(session: Session, team_id: int, besides: int) -> bool:
    """Whether a task of the team other than ``besides`` has a row not holding a slot
    (one that ended there too: the rebalance that follows clears it)."""
    query = select(TeamSlot.task_id).where(
        TeamSlot.team_id == team_id, TeamSlot.running.is_(False), TeamSlot.task_id != besides
    )
    return session.scalar(query.limit(1)) is not None


def _free_without_a_line(session: Session, team: Team, default: int, task_id: int) -> bool:
    """Whether the task may take a slot at once: nobody waits ahead of it, and the team
    runs fewer than its limit (tasks that ended holding one count for nothing)."""
    if _anyone_waiting(session, team.id, task_id):
        return False
    limit = effective_limit(team, default)
    if limit == 0:
        return True
    running = session.scalar(
        select(func.count())
        .select_from(TeamSlot)
        .join(Task, Task.id == TeamSlot.task_id)
        .where(TeamSlot.team_id == team.id, TeamSlot.running.is_(True), Task.status.not_in(FINAL))
    )
    return (running or 0) < limit


@dataclass(frozen=True)
class Usage:
    running: int = 0
    queued: int = 0


def usage(session: Session, teams: Sequence[Team]) -> dict[int, Usage]:
    """How many tasks of each team hold a slot and wait for one."""
    rows = session.execute(
        select(TeamSlot.team_id, TeamSlot.running, func.count())
        .join(Task, Task.id == TeamSlot.task_id)
        .where(TeamSlot.team_id.in_([t.id for t in teams]), Task.status.not_in(FINAL))
        .group_by(TeamSlot.team_id, TeamSlot.running)
    ).all()
    counts: dict[int, dict[bool, int]] = {}
    for team_id, running, count in rows:
        counts.setdefault(team_id, {})[bool(running)] = count
    return {
        t.id: Usage(counts.get(t.id, {}).get(True, 0), counts.get(t.id, {}).get(False, 0))
        for t in teams
    }


def set_limit(
    session: Session, principal: Principal, ref: str, max_running: int | None, default: int
) -> tuple[Team, list[str]]:
    """Give a team of the caller's organization its own limit (admins only).

    ``None`` makes it follow the installation's default again; 0 is no limit. Tasks
    running beyond a lowered limit go on; a raised one lets the line move at once:
    returns the uids of the tasks given a slot, whose workflows are to be woken.
    """
    require_admin(principal)
    if max_running is not None and not 0 <= max_running <= MAX_LIMIT:
        raise InvalidInput(f"max_running must be between 0 (no limit) and {MAX_LIMIT}, or null.")
    team = _locked_team(session, resolve_team(session, principal.org_id, ref).id)
    before = team.max_running
    team.max_running = max_running
    detail = {"max_running": max_running, "before": before}
    audit.record(session, principal, "team.limit_set", team.key, detail)
    return team, _rebalance(session, team, default).woken

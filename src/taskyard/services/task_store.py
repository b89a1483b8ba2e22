"""The engine's reads and writes of tasks, runs and events, each in one short session.

The engine (its activities, the turn, the event sink) never opens a session or
touches a row: it calls a :class:`TaskStore`, built once per worker with the
worker's settings and handed to the activities. What it gets back are plain
values (:class:`TaskFacts`), never ORM rows that would outlive their session.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskyard.config import Settings
from taskyard.db.models import Task, Workflow, utcnow
from taskyard.db.session import session_scope
from taskyard.model.checkpoint import Checkpoint
from taskyard.model.diff import DiffStats
from taskyard.model.errors import NotFound
from taskyard.model.forge import ForgeSite
from taskyard.model.status import TaskStatus
from taskyard.model.template import TemplateSpec
from taskyard.model.workflow import Stage
from taskyard.services import (
    checkpoints,
    concurrency,
    diffs,
    events,
    repository_owners,
    runs,
    schedule_runs,
    secrets,
    stops,
    tasks,
)


class StatusChange(NamedTuple):
    status: str
    message: str
    stage: str | None = None


@dataclass(frozen=True)
class TaskFacts:
    """What the engine knows of a task while it works on it."""

    id: int
    key: str
    org_id: int
    title: str
    description: str
    repository: str
    forge_site: ForgeSite
    branch: str
    base_branch: str
    base_commit: str
    origin_context: dict[str, Any]
    created_at: float  # epoch seconds
    spec: TemplateSpec
    known: dict[str, str]  # every secret value of its organization, to mask wherever shown

    @property
    def workspace_name(self) -> str:
        """Where its checkout and home live under their parents: ``<org id>/<key>``.

        Keys are unique only within an organization; two organizations' ``TY-42``
        must never share a checkout.
        """
        return workspace_name(self.org_id, self.key)


def workspace_name(org_id: int, key: str) -> str:
    return f"{org_id}/{key}"


@dataclass(frozen=True)
class SavedWork:
    """A task's work as a worker saves it: the checkpoint every worker can rebuild
    the checkout from, and the diff the API shows (known secrets masked)."""

    checkpoint: Checkpoint
    stats: DiffStats
    patch: str


def _change_status(session: Session, task: Task | None, change: StatusChange) -> None:
    if task is not None:
        tasks.set_status(session, task, change.status, change.message, stage=change.stage)


def _epoch(moment: dt.datetime) -> float:
    # SQLite hands back naive datetimes; they are UTC.
    return moment.replace(tzinfo=moment.tzinfo or dt.UTC).timestamp()


@dataclass
class TaskStore:
    settings: Settings

    @property
    def url(self) -> str:
        return self.settings.resolved_database_url

    def _task(self, session: Any, task_id: int) -> Task:
        task = session.get(Task, task_id)
        if task is None:
            raise NotFound(f"Task {task_id} no longer exists.")
        assert isinstance(task, Task)
        return task

    def stages(self, task_id: int) -> list[Stage]:
        """The stages of the task's workflow, as they were when it was pinned."""
        with session_scope(self.url, write=False) as session:
            task = self._task(session, task_id)
            workflow = session.get(Workflow, task.workflow_id)
            assert workflow is not None
            return [Stage.model_validate(s) for s in workflow.stages]

    def facts(self, task_id: int) -> TaskFacts:
        """What a step on a worker needs of the task. Every such step (the fetch, the
        workspace, a turn's work, the delivery) reads them, so a repository whose owner the
        organization was granted when the task was made, and is no longer, stops the task
        at its next step (:class:`Forbidden`: it fails at once, nothing fetched or pushed)."""
        with session_scope(self.url, write=False) as session:
            task = self._task(session, task_id)
            repository_owners.require_owner(session, task.org_id, task.repository)
            return TaskFacts(
                id=task.id,
                key=task.key,
                org_id=task.org_id,
                title=task.title,
                description=task.description,
                repository=task.repository,
                forge_site=task.forge_site,
                branch=task.branch,
                base_branch=task.base_branch,
                base_commit=task.base_commit,
                origin_context=dict(task.origin_context),
                created_at=_epoch(task.created_at),
                spec=runs.task_spec(session, task),
                known=secrets.known_values(session, self.settings, task.org_id),
            )

    def set_status(self, task_id: int, status: str, message: str, stage: str | None) -> int | None:
        """Change the task's status; the id of the schedule that paused itself for it."""
        with session_scope(self.url) as session:
            task = session.get(Task, task_id)
            _change_status(session, task, StatusChange(status, message, stage))
            return schedule_runs.task_ended(session, task_id)

    def claim_slot(
        self,
        task_id: int,
        entering: StatusChange | None = None,
        granted: StatusChange | None = None,
    ) -> concurrency.Claim:
        """A slot of the task's team for its agent run, or its place in line; the
        status ``entering`` first and ``granted`` once the slot is the task's, if given."""
        with session_scope(self.url) as session:
            return self._claim(session, task_id, entering, granted)

    def _claim(
        self,
        session: Session,
        task_id: int,
        entering: StatusChange | None,
        granted: StatusChange | None,
    ) -> concurrency.Claim:
        # The team's lock before any row; the task is kept, and read once.
        task, team = concurrency.lock_line(session, task_id)
        if entering is not None:
            _change_status(session, task, entering)
        claim = concurrency.claim(session, task, team, self.settings.team_max_running)
        if claim.granted and granted is not None:
            _change_status(session, task, granted)
        return claim

    def begin_run(
        self,
        task_id: int,
        stage: str,
        entering: StatusChange | None = None,
        granted: StatusChange | None = None,
    ) -> tuple[concurrency.Claim, int]:
        """:meth:`claim_slot` and, once the slot is the task's, the run of ``stage`` (the
        one an earlier try of this step started, if any), in one transaction; the run's
        id is 0 while the task waits in line."""
        with session_scope(self.url) as session:
            claim = self._claim(session, task_id, entering, granted)
            if not claim.granted:
                return claim, 0
            return claim, runs.resume_or_start_run(session, task_id, stage).id

    def release_slot(self, task_id: int) -> list[str]:
        """Free the task's slot; the uids of the tasks given one in its place."""
        with session_scope(self.url) as session:
            return concurrency.release(session, task_id, self.settings.team_max_running)

    def start_run(self, task_id: int, stage: str, working: StatusChange | None = None) -> int:
        """Record an agent run of ``stage``, and the status it starts under if given."""
        with session_scope(self.url) as session:
            run = runs.start_run(session, task_id, stage)
            if working is not None:
                _change_status(session, session.get(Task, task_id), working)
            return run.id

    def finish_run(self, run_id: int, status: str) -> None:
        with session_scope(self.url) as session:
            runs.finish_run(session, run_id, status)

    def record_turn(
        self,
        task_id: int,
        run_id: int,
        turn: int,
        outcome: dict[str, Any],
        seconds: float,
        work: SavedWork | None = None,
    ) -> int:
        """How a turn ended (recorded once), its agent session, the time it ran and,
        in the same transaction, the work it left (checkpoint and diff).

        Returns the task's checkpoint ``seq`` now. A turn recorded before keeps what
        was recorded then: its work is not saved again.
        """
        with session_scope(self.url) as session:
            if runs.record_turn(session, run_id, turn, outcome, seconds) and work is not None:
                return self._save_work(session, task_id, work)
            return checkpoints.latest_seq(session, task_id)

    def save_work(self, task_id: int, work: SavedWork) -> int:
        """Keep ``work`` as the task's checkpoint and diff (a delivery); returns its seq."""
        with session_scope(self.url) as session:
            return self._save_work(session, task_id, work)

    @staticmethod
    def _save_work(session: Any, task_id: int, work: SavedWork) -> int:
        seq = checkpoints.save(session, task_id, work.checkpoint)
        diffs.publish(session, task_id, work.checkpoint.head, work.stats, work.patch)
        return seq

    def checkpoint(self, task_id: int) -> Checkpoint | None:
        with session_scope(self.url, write=False) as session:
            return checkpoints.latest(session, task_id)

    def holds_no_work(self, task_id: int, seq: int) -> bool:
        """See :func:`.checkpoints.holds_no_work`."""
        with session_scope(self.url, write=False) as session:
            return checkpoints.holds_no_work(session, task_id, seq)

    def checkpoint_seq(self, task_id: int) -> tuple[str, int]:
        """The task's workspace name and latest checkpoint ``seq``: what a worker
        checks its checkout against."""
        with session_scope(self.url, write=False) as session:
            task = self._task(session, task_id)
            return workspace_name(task.org_id, task.key), checkpoints.latest_seq(session, task_id)

    def turn_outcome(self, run_id: int, turn: int) -> dict[str, Any] | None:
        """How the turn ended, if it has ended already (a retried activity)."""
        with session_scope(self.url, write=False) as session:
            return runs.turn_outcome(session, run_id, turn)

    def append_event(
        self, task_id: int, kind: str, data: dict[str, Any], run_id: int | None = None
    ) -> None:
        with session_scope(self.url) as session:
            events.append(session, task_id, kind, data, run_id=run_id)

    def record_agent_batch(
        self,
        task_id: int,
        run_id: int,
        items: list[tuple[str, dict[str, Any]]],
        usage: dict[str, Any],
        state: tuple[str, str] | None,
    ) -> None:
        """One batch of an agent's events, the usage they count, its latest state."""
        with session_scope(self.url) as session:
            events.append_many(session, task_id, items, run_id=run_id)
            if any(usage.values()):
                runs.add_usage(session, task_id, usage)
            task = session.get(Task, task_id)
            if task is not None and state is not None:
                tasks.set_agent_state(session, task, *state)

    def set_base(self, task_id: int, base: str, start: str) -> str:
        """The base branch and commit the checkout started from, recorded once: returns
        the commit recorded, another try's if it came first."""
        with session_scope(self.url) as session:
            task = session.get(Task, task_id, with_for_update=True)
            if task is None:
                raise NotFound(f"Task {task_id} no longer exists.")
            task.base_branch = task.base_branch or base
            task.base_commit = task.base_commit or start
            return task.base_commit

    def read_stop(self, task_id: int) -> stops.Stop | None:
        return stops.read_stop(self.url, task_id)

    def read_stops(self, task_ids: Collection[int]) -> dict[int, stops.Stop]:
        return stops.read_stops(self.url, task_ids)

    def record_stop(self, task_id: int, stop: stops.Stop) -> stops.Stop:
        """Record ``stop`` unless one is recorded already; returns the one that holds."""
        with session_scope(self.url) as session:
            task = session.get(Task, task_id)
            return stop if task is None else stops.request_stop(session, task, stop)

    def unstarted(self, older_than: float) -> list[tuple[str, int, str]]:
        """``(uid, id, key)`` of tasks whose run was asked for ``older_than`` seconds ago
        or more and that never entered a stage: their workflow's start failed (see
        ``actions._start_committed``), or it has not yet done its first step."""
        before = utcnow() - dt.timedelta(seconds=older_than)
        with session_scope(self.url, write=False) as session:
            rows = session.execute(
                select(Task.uid, Task.id, Task.key).where(
                    Task.status == TaskStatus.QUEUED,
                    Task.run_requested,
                    Task.stage == "",
                    Task.created_at <= before,
                )
            )
            return [(r[0], r[1], r[2]) for r in rows]

    def active_task_ids(self, status: str) -> list[tuple[str, int, str]]:
        """``(uid, id, key)`` of tasks in ``status`` whose run was asked for."""
        with session_scope(self.url, write=False) as session:
            rows = session.execute(
                select(Task.uid, Task.id, Task.key).where(Task.status == status, Task.run_requested)
            )
            return [(r[0], r[1], r[2]) for r in rows]

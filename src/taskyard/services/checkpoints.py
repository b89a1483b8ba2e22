"""Workspace checkpoints: each task's latest, in the database every worker reaches.

A worker writes one after each turn that ran to its end, in the same transaction
as the turn's result (:func:`taskyard.services.runs.record_turn`), and after a
delivery; any worker reads it to rebuild the task's checkout (see
:mod:`taskyard.engine.workspace`). Only the latest is kept: each is a pack from
the base commit, so it holds all the work before it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskyard.db.models import WorkspaceCheckpoint, utcnow
from taskyard.model.checkpoint import Checkpoint


def save(session: Session, task_id: int, checkpoint: Checkpoint) -> int:
    """Keep ``checkpoint`` as the task's latest; returns its ``seq`` (one more than before).

    The ``seq`` passed in is ignored: it is counted here, under the row's lock.
    """
    row = session.execute(
        select(WorkspaceCheckpoint).where(WorkspaceCheckpoint.task_id == task_id).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        row = WorkspaceCheckpoint(task_id=task_id, seq=0)
        session.add(row)
    row.seq += 1
    row.base = checkpoint.base
    row.head = checkpoint.head
    row.agent_head = checkpoint.agent_head
    row.pack = checkpoint.pack
    row.taken_at = utcnow()
    return row.seq


def latest(session: Session, task_id: int) -> Checkpoint | None:
    row = session.get(WorkspaceCheckpoint, task_id)
    if row is None:
        return None
    return Checkpoint(row.seq, row.base, row.head, row.agent_head, row.pack)


def holds_no_work(session: Session, task_id: int, seq: int) -> bool:
    """Whether the task's latest checkpoint is ``seq`` and holds nothing beyond its base:
    its head and the agent's branch are the base commit (read without the pack)."""
    row = session.execute(
        select(
            WorkspaceCheckpoint.base, WorkspaceCheckpoint.head, WorkspaceCheckpoint.agent_head
        ).where(WorkspaceCheckpoint.task_id == task_id, WorkspaceCheckpoint.seq == seq)
    ).one_or_none()
    return row is not None and row.base == row.head == row.agent_head


def latest_seq(session: Session, task_id: int) -> int:
    """The latest checkpoint's ``seq`` (0: none), without reading its pack."""
    seq = session.scalar(
        select(WorkspaceCheckpoint.seq).where(WorkspaceCheckpoint.task_id == task_id)
    )
    return seq or 0

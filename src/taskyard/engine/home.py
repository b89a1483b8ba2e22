"""Where a task's workspace lives: the worker holding its checkout, and what it holds.

A checkout exists on one worker only (separate hosts share no disk). Each worker
has a name (``TASKYARD_WORKER_ID``, or one it makes up once and keeps in its data
dir, so a restarted worker is the same worker) and a task queue of its own,
``<task queue>@<name>``. The workflow sends every activity that needs the
checkout there (:mod:`taskyard.engine.workflow`); when nobody takes it from that
queue in time, the worker is gone, and the workspace is prepared again, on any
worker, from the task's checkpoint in the database.

The mark says what a worker's checkout holds. It is a file only the server
writes, outside anything a sandbox sees: the checkpoint the checkout is known to
be at, whether the template's setup ran in it, and whether the agent's home there
holds the sessions of the turns so far. It is removed as a turn starts and written
again once the turn's checkpoint is saved, so a checkout a killed try left half
written has no mark, and is rebuilt before any agent sees it again.

Whatever uses a checkout (preparing it, a turn, a delivery) holds it first
(:func:`held`). Temporal retries an activity whose heartbeats stopped reaching it
(an overloaded worker, Temporal away) while the first try may still be running on
the same worker: the retry waits for that try to end, cleanup included, rather
than build or run in a checkout the first try is still using.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from taskyard.config import Settings
from taskyard.services.task_store import TaskStore
from taskyard.workspaces.file_lock import locked

log = logging.getLogger(__name__)

ID_FILE = "worker-id"
# Steps of one task run one after another: a step waits for the checkout this long only
# behind a stranded try.
WAIT_SAID_AFTER = 5.0


def worker_name(settings: Settings) -> str:
    """This worker's name: configured, or made up on its first start and kept."""
    if settings.worker_id:
        return settings.worker_id
    path = settings.data_dir / ID_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}")
    partial.write_text(uuid.uuid4().hex[:12])
    try:
        os.link(partial, path)  # the first process to name the worker wins
    except FileExistsError:
        pass
    finally:
        partial.unlink()
    return path.read_text().strip()


def home_queue(settings: Settings) -> str:
    """The task queue only this worker polls: activities that need its checkouts."""
    return f"{settings.task_queue}@{worker_name(settings)}"


def mark_path(settings: Settings, workspace_name: str) -> Path:
    return settings.data_dir / "marks" / workspace_name / "mark.json"


@asynccontextmanager
async def held(
    settings: Settings, workspace_name: str, store: TaskStore, task_id: int
) -> AsyncIterator[None]:
    """The task's checkout on this worker, for this step alone (not reentrant).

    A step waits here only for an earlier try of one of its task's steps, whose
    heartbeats were lost: a wait longer than :data:`WAIT_SAID_AFTER` is said on the
    task's timeline, where a try stranded for good would otherwise leave the task
    reading "provisioning" or "working" with nothing saying why.
    """
    lock = mark_path(settings, workspace_name).with_name("lock")
    say = functools.partial(_say_waiting, store, task_id)
    async with locked(lock, waiting=say, said_after=WAIT_SAID_AFTER):
        yield


async def _say_waiting(store: TaskStore, task_id: int) -> None:
    log.warning("task %s: a step waits for the checkout, held by an earlier try", task_id)
    data = {
        "message": f"This step has waited {WAIT_SAID_AFTER:.0f} s for the task's checkout on "
        "this worker, which an earlier try of one of its steps still holds (that try's "
        "heartbeats were lost, and it has not ended yet). The step goes on once that try "
        "ends; cancel the task if it does not.",
        "waiting": True,
    }
    await asyncio.to_thread(store.append_event, task_id, "error", data)


@dataclass(frozen=True)
class Mark:
    seq: int  # the checkpoint the checkout holds (0: the base commit)
    setup: bool = False  # the template's setup script ran in it
    sessions: bool = False  # the agent's home holds the sessions of the turns so far


def read_mark(path: Path) -> Mark | None:
    try:
        data = json.loads(path.read_text())
        return Mark(int(data["seq"]), bool(data["setup"]), bool(data["sessions"]))
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def write_mark(path: Path, mark: Mark) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(asdict(mark)))
    os.replace(partial, path)  # a mark is whole or absent


def clear_mark(path: Path) -> None:
    path.unlink(missing_ok=True)

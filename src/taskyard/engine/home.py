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

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from taskyard.config import Settings
from taskyard.workspaces.pool import locked

ID_FILE = "worker-id"


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
async def held(settings: Settings, workspace_name: str) -> AsyncIterator[None]:
    """The task's checkout on this worker, for this step alone (not reentrant)."""
    async with locked(mark_path(settings, workspace_name).with_name("lock")):
        yield


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

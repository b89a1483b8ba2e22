"""A synchronous face of the engine, for routes that run in worker threads."""

from __future__ import annotations

from typing import Any

import anyio.from_thread

from taskyard.db.models import Task
from taskyard.engine.client import Engine
from taskyard.model.errors import Unavailable
from taskyard.model.schedule import ScheduleDef
from taskyard.model.signals import Signal
from taskyard.model.workflow import Stage
from taskyard.services import workflows


class EngineBridge:
    """Calls the async engine on the server's event loop from a route's thread."""

    def __init__(self, engine: Engine | None) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise Unavailable("The engine is not connected yet; try again in a moment.")
        return self._engine

    def check(self) -> None:
        """Raise ``Unavailable`` unless the engine is connected."""
        _ = self.engine

    def start(self, task: Task, stages: list[Stage] | None = None) -> None:
        stages = stages if stages is not None else workflows.pinned_stages(task)
        anyio.from_thread.run(self.engine.start, task.uid, task.id, task.key, stages)

    def signal(self, task: Task, signal: Signal) -> None:
        anyio.from_thread.run(self.engine.signal, task.uid, signal)

    def wake(self, uid: str) -> None:
        """Tell a queued task it was given a slot; without an engine, it finds out on its own."""
        if self._engine is not None:
            anyio.from_thread.run(self._engine.wake, uid)

    def state(self, task: Task) -> dict[str, Any] | None:
        if self._engine is None:
            return None
        return anyio.from_thread.run(self._engine.state, task.uid)

    def put_schedule(self, schedule: ScheduleDef) -> None:
        anyio.from_thread.run(self.engine.schedules.put, schedule)

    def trigger_schedule(self, uid: str) -> None:
        anyio.from_thread.run(self.engine.schedules.trigger, uid)

    def delete_schedule(self, uid: str) -> None:
        anyio.from_thread.run(self.engine.schedules.delete, uid)

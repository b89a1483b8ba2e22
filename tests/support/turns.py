"""A worker's turn runner, outside a worker: what its activities would build."""

from __future__ import annotations

from taskyard.config import Settings
from taskyard.engine.stop_watch import StopWatch
from taskyard.engine.turns import TurnRunner
from taskyard.services.task_store import TaskStore


async def _nobody(uids: list[str]) -> None:
    """No workflow to wake: these turns run outside a worker."""


def runner_of(settings: Settings) -> TurnRunner:
    """Turns as a worker with ``settings`` (and no gateway) runs them."""
    store = TaskStore(settings)
    return TurnRunner(settings, store, None, StopWatch(store.read_stops), _nobody)

"""Removing what ended tasks leave on disk, once they have been over for long enough.

A task's checkout and its agent's home stay for as long as the task lives (waiting
for a person included: nothing runs then, but its files are its state) and for
``workspace_retention_hours`` after it ended, so that people can still read its
live diff. :func:`sweep` then removes them, and the checkout pools of repositories
nobody worked on for as long. The task store decides what has ended (the caller
passes it in, :func:`taskyard.services.ended.expired_workspaces`); a directory
whose task cannot be found is left alone, since deleting is the one thing that
cannot be undone.

Run :func:`sweep_forever` as a background task of each worker process (every
machine has its own data directory).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from taskyard.config import Settings
from taskyard.workspaces import pool, repos, vault

log = logging.getLogger(__name__)

PARTIAL = ".partial"  # a checkout being made (see repos.create_checkout)


def task_dirs(settings: Settings, name: str) -> list[Path]:
    """Everything on disk that belongs to the task whose workspace is ``name``.

    The same layout as ``taskyard.engine.layout.Workspace``: ``<org id>/<key>``.
    """
    checkout = settings.checkouts_dir / name
    return [
        checkout,
        checkout.with_name(checkout.name + PARTIAL),
        settings.data_dir / "homes" / name,
        settings.data_dir / "marks" / name,
    ]


def _keys_on_disk(settings: Settings) -> set[str]:
    names: set[str] = set()
    for parent in (settings.checkouts_dir, *(settings.data_dir / d for d in ("homes", "marks"))):
        for org in parent.iterdir() if parent.is_dir() else ():
            if org.is_dir() and org.name.isdigit():
                names.update(f"{org.name}/{p.name.removesuffix(PARTIAL)}" for p in org.iterdir())
    return names


#: Which of the given workspace names (``<org id>/<key>``) belong to tasks that ended
#: before the given moment (epoch seconds); names no task has are not expired.
ExpiredWorkspaces = Callable[[Iterable[str], float], set[str]]


async def sweep(
    settings: Settings, expired_of: ExpiredWorkspaces, now: float | None = None
) -> list[str]:
    """Remove the checkouts and homes of tasks that ended over the retention ago.

    Also removes checkout pools unused for as long, finishes deletions a stopped
    process left half done, and keeps the mirrors' objects packed. Returns the keys
    of the tasks whose files were removed.
    """
    now = time.time() if now is None else now
    cutoff = now - settings.workspace_retention_hours * 3600
    keys = _keys_on_disk(settings)
    expired = await asyncio.to_thread(expired_of, keys, cutoff) if keys else set()
    removed: list[str] = []
    for key in sorted(expired):
        results = [
            await asyncio.to_thread(pool.discard, path, settings)
            for path in task_dirs(settings, key)
        ]
        if any(results):
            removed.append(key)
    await vault.forget(settings, removed)
    idle = await asyncio.to_thread(pool.sweep_idle, settings, cutoff)
    await asyncio.to_thread(pool.empty_trash, settings)
    await repos.maintain_mirrors(settings)
    if removed or idle:
        log.info("removed the workspaces of %s and %d idle checkout pools", removed, len(idle))
    return removed


async def sweep_forever(
    settings: Settings, expired_of: ExpiredWorkspaces, interval: float = 3600.0
) -> None:
    """Sweep now and then every ``interval`` seconds, until cancelled.

    A failed sweep is logged and tried again at the next interval.
    """
    while True:
        try:
            await sweep(settings, expired_of)
        except Exception:
            log.exception("sweeping ended tasks' workspaces failed")
        await asyncio.sleep(interval)

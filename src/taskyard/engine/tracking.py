"""The tracking comments' loop: every worker posts and edits them, none twice at once.

Each pass claims the comments owed an edit (:mod:`taskyard.services.tracking`, a lease
per comment), posts a comment where there is none yet and edits it otherwise (one a
person deleted is posted anew), and records when the next edit may come
(``TASKYARD_GITHUB_COMMENT_INTERVAL``): changes made meanwhile wait for it and go out
together. A forge that fails leaves the edit owed, tried again later and later, and
never touches the task: the comment reports on the task, it does not hold it up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Protocol

from taskyard.config import Settings
from taskyard.forges.base import FORGES, CommentGone
from taskyard.model.errors import TaskyardError
from taskyard.model.redaction import redact_credentials
from taskyard.services import tracking
from taskyard.services.tracking import Due

log = logging.getLogger(__name__)

BATCH = 20  # comments claimed per pass
LEASE = timedelta(minutes=5)  # how long a claim holds; a dead worker's lapses after it
POST_TIMEOUT = 240.0  # seconds one post may take (GitHub's rate limits included), < LEASE
MIN_RETRY = 5.0  # seconds before the first retry of a failed edit; doubled per failure
MAX_RETRY = 900.0


class TrackingLoop:
    """Posts and edits tracking comments until :meth:`stop`."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._stopping = asyncio.Event()
        self._failures: dict[int, int] = {}  # task id -> edits failed in a row, here
        # Often enough that "Task created" goes out at once, not more than the interval.
        self._poll = min(max(settings.github_comment_interval / 2, 0.1), 1.0)

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception:  # the database away for a moment: the next pass tries again
                log.warning("tracking comments: a pass failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await self._stopping.wait()

    async def run_once(self) -> int:
        """One pass; returns how many comments it claimed."""
        dues = await asyncio.to_thread(tracking.claim_due, self._settings, BATCH, LEASE)
        await asyncio.gather(*(self._post(due) for due in dues))
        return len(dues)

    async def _post(self, due: Due) -> None:
        settings, interval = self._settings, self._settings.github_comment_interval
        if due.unchanged:
            await asyncio.to_thread(tracking.posted, settings, due, due.comment_id, interval)
            return
        if due.refused:  # nothing is sent; asked again only as rarely as a failing forge
            log.warning("tracking comment of task %s not posted: %s", due.task_id, due.refused)
            await asyncio.to_thread(tracking.failed, settings, due.task_id, due.refused, MAX_RETRY)
            return
        try:
            async with asyncio.timeout(POST_TIMEOUT):
                comment_id = await self._send(due)
        except asyncio.CancelledError:
            # A stopping worker: the edit is owed at once, to whichever worker is next.
            stopped = asyncio.to_thread(
                tracking.failed, settings, due.task_id, "The worker stopped while posting.", 0
            )
            await asyncio.shield(stopped)
            raise
        except Exception as exc:
            failures = self._failures.get(due.task_id, 0) + 1
            self._failures[due.task_id] = failures
            retry_in = min(max(interval, MIN_RETRY) * 2 ** (failures - 1), MAX_RETRY)
            said = redact_credentials(
                exc.message if isinstance(exc, TaskyardError) else f"{type(exc).__name__}: {exc}"
            )
            log.warning(
                "tracking comment of task %s on %s#%s failed (try %s, again in %.0f s): %s",
                due.task_id,
                due.repository,
                due.issue_number,
                failures,
                retry_in,
                said,
            )
            await asyncio.to_thread(tracking.failed, settings, due.task_id, said, retry_in)
            return
        self._failures.pop(due.task_id, None)
        await asyncio.to_thread(tracking.posted, settings, due, comment_id, interval)

    async def _send(self, due: Due) -> int:
        """Edit the comment, or post it when it has none or a person deleted it."""
        forge = FORGES.get(due.site.kind)
        async with forge.connect(due.site, self._settings) as client:
            if due.comment_id:
                with contextlib.suppress(CommentGone):
                    await client.edit_comment(due.repository, due.comment_id, due.body)
                    return due.comment_id
            return await client.comment(due.repository, due.issue_number, due.body)


class Stoppable(Protocol):
    def stop(self) -> None: ...


async def stop_loop(loop: Stoppable, running: asyncio.Task[None], grace: float) -> None:
    """Stop ``loop`` after its current pass, or cancel it after ``grace`` seconds (what
    it was sending is then owed at once, to the next worker): the tracking comments'
    loop and the notifications' alike."""
    loop.stop()
    try:
        async with asyncio.timeout(grace):
            await asyncio.shield(running)
    except TimeoutError:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running

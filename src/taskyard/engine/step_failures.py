"""What an activity's failure does to its task: said on the task's timeline, and bounded.

An activity that raises :class:`~taskyard.model.errors.Permanent` (an undecryptable
secret, a repository that does not exist) fails its task at once, with that message.
Anything else Temporal retries with backoff, since a database or a network away for a
moment heals by itself. A bug raises the same way, though, and retried without end it
left its task reading ``working`` with nothing anywhere saying why. So:

- every failed attempt of a task's step is told on the task's timeline (an ``error``
  event: the first attempt, then every :data:`TELL_EVERY`-th), with what failed;
- an error of a kind that can pass (:data:`TRANSIENT`: the database, the network, the
  engine, a forge that is away) is retried for as long as the step's own timeouts allow;
- any other error fails the step after :data:`MAX_ATTEMPTS` tries, and the task with
  it, with the error as its message.

One interceptor on every activity: an activity added later is covered without a line.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import sqlalchemy.exc
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from taskyard import telemetry
from taskyard.model.errors import Permanent, Unavailable
from taskyard.model.redaction import redact_known
from taskyard.services.task_store import TaskStore

log = logging.getLogger(__name__)

TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,  # connections refused or reset, timeouts, a full disk
    httpx.TransportError,  # an HTTP service that did not answer (not an OSError)
    sqlalchemy.exc.OperationalError,  # the database away or locked
    sqlalchemy.exc.InterfaceError,  # its connection lost mid-statement
    sqlalchemy.exc.DisconnectionError,
    sqlalchemy.exc.TimeoutError,  # no connection free in the pool, under load
    RPCError,  # the Temporal server away
    Unavailable,  # a dependency that said so: a forge answering 5xx, a registry away
)
# OSErrors that say something is missing or forbidden on this machine, which waiting mends
# no more than it mends a bug.
LASTING: tuple[type[BaseException], ...] = (
    FileNotFoundError,
    PermissionError,
    NotADirectoryError,
    IsADirectoryError,
)
MAX_ATTEMPTS = 5  # of a step failing with anything else: about 3 s with steps.RETRY
TELL_EVERY = 10  # a transient failure that goes on is told again every this many tries
MAX_SAID = 1000  # characters of an error told on the timeline


class StepFailures(Interceptor):
    """The worker interceptor; ``store`` records what it tells the task."""

    def __init__(self, store: TaskStore) -> None:
        self._store = store

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next, self._store)


def _permanent(exc: Permanent) -> ApplicationError:
    """A failure retrying cannot fix: the step, and its task, fail at once with this."""
    telemetry.ERRORS.labels(type(exc).__name__).inc()
    return ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True)


class _Inbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, store: TaskStore) -> None:
        super().__init__(next)
        self._store = store

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except Permanent as exc:
            raise _permanent(exc) from exc
        except ApplicationError:
            raise  # said on purpose, retried or not as it asks
        except Exception as exc:
            info = activity.info()
            step, attempt = info.activity_type, info.attempt
            said = _said(exc)
            passes = isinstance(exc, TRANSIENT) and not isinstance(exc, LASTING)
            last = not passes and attempt >= MAX_ATTEMPTS
            task_id = getattr(input.args[0], "task_id", None) if input.args else None
            if isinstance(task_id, int) and (last or attempt == 1 or attempt % TELL_EVERY == 0):
                await self._tell(task_id, step, attempt, said, last)
            # The traceback goes to this worker's log, which masks known secrets; Temporal
            # (its history, its UI) gets only the masked text, never the error itself.
            log.warning("step %s failed (attempt %s)", step, attempt, exc_info=exc)
            if last:
                telemetry.ERRORS.labels(type(exc).__name__).inc()
                said = f"The step {step} failed {attempt} times: {said}"
            raise ApplicationError(said, type=type(exc).__name__, non_retryable=last) from None

    async def _tell(self, task_id: int, step: str, attempt: int, said: str, last: bool) -> None:
        then = "gave up" if last else "will try again"
        data = {
            "message": f"The step {step} failed (attempt {attempt}) and taskyard {then}: {said}",
            "step": step,
            "attempt": attempt,
            "retrying": not last,
        }
        try:
            await asyncio.to_thread(self._store.append_event, task_id, "error", data)
        except Exception:  # the database is what failed: the log still says it
            log.warning("could not tell task %s that %s failed", task_id, step, exc_info=True)


def _said(exc: BaseException) -> str:
    """The error as a person reads it: its type and message, credentials and every secret
    value this worker has met taken out (a turn reads its task's before it runs)."""
    text = redact_known(f"{type(exc).__name__}: {exc}")
    return text if len(text) <= MAX_SAID else text[: MAX_SAID - 1] + "…"

"""What the gateway asks of the task store, as an interface the runtime injects.

The gateway decides nothing about tasks itself: before each model call it asks
whether the task may still call (and for the real key), after each call it books
the usage, and it hands on what the agent reports of itself. The database-backed
implementation is :class:`taskyard.services.gateway_ledger.DatabaseLedger`; the
gateway never imports it. Each method blocks (a database round trip) and is
called in a thread, so the gateway's event loop keeps streaming meanwhile.
"""

from __future__ import annotations

from typing import Protocol

from taskyard.gateway.credentials import Grant
from taskyard.gateway.providers import Provider
from taskyard.model.prices import Usage


class TaskEnded(Exception):
    """The credential's task is gone or has reached a final status."""


class Stopped(TaskEnded):
    """The credential's task has a stop recorded (a cancel, a budget): no more calls.

    Its message is the refusal the agent gets.
    """


class Unpriced(Exception):
    """The task has a cost budget and the model has no known price to keep it with."""


class Ledger(Protocol):
    def upstream_key(self, grant: Grant, provider: Provider, model: str) -> str:
        """The real key to forward a call to ``model`` with, if the task may still call.

        Raises:
            TaskEnded: the task is gone or finished.
            Stopped: a stop is recorded, or the task's totals reach a budget now.
            Unpriced: the task has a cost budget and ``model`` no price.
        """

    def record_call(self, grant: Grant, usage: Usage, model: str) -> None:
        """Book one model call on its task (its usage, totals and budgets)."""

    def report_state(self, grant: Grant, state: str, message: str) -> None:
        """Record a state the agent reported itself.

        Raises:
            TaskEnded: the task is gone, finished or stopped.
        """

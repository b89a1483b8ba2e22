"""What a notification channel is given and what it gives back.

A channel turns one :class:`Notice` into one message at one destination (``target``).
It raises :class:`ChannelError` when it could not, saying whether trying again later
may help; the sending loop retries with backoff or gives up accordingly.
"""

from __future__ import annotations

import datetime as dt
import functools
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import httpx

from taskyard.model.errors import TaskyardError


@dataclass(frozen=True)
class Notice:
    """What every channel renders; built from the outbox row."""

    id: str  # stable per (notification, channel): Standard Webhooks' webhook-id
    event: str  # "task.created" | "task.waiting" | "task.pr_ready" | "task.completed"
    # | "task.failed" | "task.cancelled" | "task.budget" | "schedule.paused"
    subject: str  # one line, e.g. "TY-4 waiting for approval: Fix login"
    text: str  # a few plain-text lines (state, stage, reason)
    url: str  # the task's page (absolute when TASKYARD_PUBLIC_URL is set)
    task_key: str  # "" for events not about one task
    status: str
    occurred_at: dt.datetime
    data: Mapping[str, Any]  # the JSON payload an outgoing webhook sends
    thread: str  # stable per task and channel target: Slack updates in place by it


@dataclass(frozen=True)
class Sent:
    reference: str = ""  # e.g. Slack's message ts; passed back as `previous` for the same thread
    status_code: int | None = None  # the receiver's HTTP answer, for the delivery log


class Channel(Protocol):
    kind: ClassVar[str]  # "webhook" | "slack" | "email"

    async def send(self, notice: Notice, target: Mapping[str, str], previous: str) -> Sent:
        """Deliver ``notice`` to ``target`` (the user's destination, already decrypted).

        ``previous`` is the reference an earlier send in the same thread returned ("" if
        none). Raise :class:`ChannelError` on failure.
        """
        ...


class ChannelError(TaskyardError):
    """A channel could not deliver; ``retry`` says whether a later attempt may succeed."""

    def __init__(self, message: str, retry: bool, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.retry = retry
        self.status_code = status_code  # the receiver's HTTP status, when there was one


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The TLS context every channel's HTTP client verifies with, built once: building
    one reads the CA bundle (tens of milliseconds, blocking the event loop), which once per
    send cut the sending loop to a few notices a second."""
    return httpx.create_ssl_context()

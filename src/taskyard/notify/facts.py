"""The parts of a notice that Slack and email show, whatever shape its payload has."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from taskyard.notify.base import Notice


@dataclass(frozen=True)
class Facts:
    """The parts of a notice a message shows, as plain (unescaped) text."""

    key: str
    title: str
    state: str
    stage: str
    reason: str  # why the status changed, on a status change
    details: str  # what happened, on any other event
    pull_request: str  # its URL, or ""


def _part(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name)
    return value if isinstance(value, Mapping) else {}


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    return value if isinstance(value, str) else ""


def facts(notice: Notice) -> Facts:
    """What to show, from the payload an outgoing webhook would send (its ``data``: the
    ``task``, a status change's ``reason``, a ``pull_request``); the notice's own
    subject and text where it has none."""
    payload = _part(notice.data, "data")
    task = _part(payload, "task")
    status_change = "reason" in payload
    return Facts(
        key=notice.task_key or _text(task, "key"),
        title=_text(task, "title") or notice.subject,
        state=notice.status or _text(task, "status"),
        stage=_text(task, "stage"),
        reason=_text(payload, "reason"),
        # A status change's text repeats the status and stage; any other event's says
        # what happened.
        details="" if status_change else notice.text,
        pull_request=_text(_part(payload, "pull_request"), "url"),
    )


def is_web(url: str) -> bool:
    """Whether ``url`` can be a link in a message read elsewhere: a task's URL is relative
    while TASKYARD_PUBLIC_URL is unset."""
    return url.startswith(("https://", "http://"))

"""Notices as the outbox builds them, for the channels' tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from taskyard.config import get_settings
from taskyard.notify.base import Notice

URL = "https://taskyard.example/tasks/TY-4"
PULL = "https://github.example/acme/app/pull/12"


def notice(
    title: str = "Fix login",
    *,
    event: str = "task.waiting",
    status: str = "waiting",
    stage: str = "review",
    reason: str = "Waiting for approval of stage review",
    pull_request: str = "",
    id: str = "msg_0123456789abcdef",
    url: str = URL,
) -> Notice:
    """A notice of task TY-4, shaped as ``services/notifications.py`` writes it."""
    data: dict[str, Any] = {
        "task": {"key": "TY-4", "title": title, "status": status, "stage": stage, "url": url},
    }
    if event == "task.pr_ready":
        text = f"Pull request #12 is ready for review.\n{pull_request}"
        data["pull_request"] = {"number": 12, "url": pull_request}
        subject = f"TY-4 pull request #12 ready: {title}"
    else:
        text = f"Status: {status}\nStage: {stage}\n{reason}"
        data["reason"] = reason
        subject = f"TY-4 {status}: {title}"
    data["text"] = text
    return Notice(
        id=id,
        event=event,
        subject=subject,
        text=text,
        url=url,
        task_key="TY-4",
        status=status,
        occurred_at=dt.datetime(2026, 12, 3, 2, 45, tzinfo=dt.UTC),
        data={"type": event, "timestamp": "2026-12-03T02:45:00Z", "data": data},
        thread="7f3c9a:3",
    )


@contextmanager
def process_settings(**values: str) -> Iterator[None]:
    """The process-wide settings (``get_settings()``, what channels built by the registry
    read) with ``values`` set, as ``TASKYARD_*`` variables would."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in values.items():
            patch.setenv(f"TASKYARD_{name.upper()}", value)
        get_settings.cache_clear()
        try:
            yield
        finally:
            get_settings.cache_clear()

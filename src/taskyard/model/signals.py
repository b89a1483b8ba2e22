"""What a person sends a running task: a message for its agent, or a decision; and what
the forge says happened to its pull request (merged, closed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class SignalKind(StrEnum):
    MESSAGE = "message"
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    CANCEL = "cancel"
    MERGED = "merged"  # the task's pull request was merged: the task completes
    CLOSED = "closed"  # closed without merging: the task is cancelled


@dataclass
class Signal:
    """A person's input to a running task, as sent to the workflow."""

    kind: str  # message | approve | request_changes | cancel | merged | closed
    text: str = ""
    by: str = ""
    target: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

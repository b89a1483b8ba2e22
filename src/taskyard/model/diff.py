"""The size of a change, as a pull request or a task page shows it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DiffStats:
    files_changed: int
    additions: int
    deletions: int

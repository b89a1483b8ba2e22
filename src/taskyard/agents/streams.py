"""Helpers shared by the adapters that parse a CLI's JSON-lines output."""

from __future__ import annotations

import json
from typing import Any

MAX_OUTPUT = 4000  # characters of a tool's output kept in an event


def json_line(line: str) -> dict[str, Any] | None:
    """The JSON object on ``line``, or None for anything else (banners, warnings)."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def text_of(content: Any) -> str:
    """Plain text of a tool result: a string, or a list of content blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [b.get("text", "") if isinstance(b, dict) else str(b) for b in content]
        return "\n".join(p for p in parts if p)
    return "" if content is None else json.dumps(content)


def truncate(text: str, limit: int = MAX_OUTPUT) -> str:
    """``text`` cut to ``limit`` characters; events are stored, and outputs can be huge."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit} more characters)"


class OpenCalls:
    """Tool calls that have started and not yet reported a result, by id."""

    def __init__(self) -> None:
        self._calls: dict[str, dict[str, Any]] = {}

    def open(self, call: dict[str, Any]) -> None:
        self._calls[str(call["id"])] = call

    def close(self, call_id: str) -> dict[str, Any] | None:
        return self._calls.pop(call_id, None)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._calls

"""A task's events as the entries of its timeline, and as the HTML its page shows.

Events arrive as the engine stored them (:mod:`taskyard.services.events`): an agent's
text, tool calls and their results, commands, file edits, usage; status and stage
changes; people's messages and decisions. A tool call and its result are two events:
the page shows them as one folded entry, and a result that arrives live is swapped into
its call's entry (an htmx out-of-band swap keyed by the call's id).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import re2
from markupsafe import Markup

from taskyard.web.render import render

MAX_SHOWN = 20_000  # characters of one tool input, output or line shown
HIDDEN = frozenset({"session"})  # agent events that say nothing to a person
DOM_ID = re2.compile(r"[^A-Za-z0-9_-]")


@dataclass
class Entry:
    id: int
    kind: str  # the event's kind, or for an agent event its type ("text", "tool_call", …)
    created_at: dt.datetime
    data: Mapping[str, Any]
    result: Mapping[str, Any] | None = None  # a tool call's result, folded in

    @property
    def call_id(self) -> str:
        """The DOM id of a tool call's result box; "" when the call has no id."""
        found = DOM_ID.sub("", str(self.data.get("id") or ""))[:100]
        return f"call-{found}" if found else ""


def clip(value: Any) -> str:
    """A value as text a page may show: strings as they are, the rest as JSON; bounded."""
    text = value if isinstance(value, str) else json.dumps(value, indent=2, default=str)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "\n… (clipped)"


def _entry(event_id: int, kind: str, data: Any, created_at: dt.datetime) -> Entry | None:
    data = data if isinstance(data, Mapping) else {"value": data}
    if kind == "agent":
        kind = str(data.get("type") or "agent")
        if kind in HIDDEN:
            return None
    return Entry(event_id, kind, created_at, data)


def entries(rows: Iterable[tuple[int, str, Any, dt.datetime]]) -> list[Entry]:
    """Timeline entries of ``(id, kind, data, created_at)`` rows, tool results folded
    into their calls."""
    shown: list[Entry] = []
    calls: dict[str, Entry] = {}
    for row in rows:
        entry = _entry(*row)
        if entry is None:
            continue
        if entry.kind == "tool_result":
            call = calls.pop(entry.call_id, None) if entry.call_id else None
            if call is not None:
                call.result = entry.data
                continue
        elif entry.kind == "tool_call" and entry.call_id:
            calls[entry.call_id] = entry
        shown.append(entry)
    return shown


def entry_html(entry: Entry) -> Markup:
    return Markup(render("task/event.html", e=entry, clip=clip))  # autoescaped


def live_html(event_id: int, kind: str, data: Any, created_at: dt.datetime) -> str:
    """One event as the live stream sends it: an entry for the timeline's end, or a tool
    result for its call's box (out of band); "" for events not shown."""
    entry = _entry(event_id, kind, data, created_at)
    if entry is None:
        return ""
    if entry.kind == "tool_result" and entry.call_id:
        return render("task/tool_result.html", e=entry, clip=clip, oob=True)
    return str(entry_html(entry))

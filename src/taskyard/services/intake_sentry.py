"""A Sentry delivery as a task: what an issue alert or a new issue says about an error.

Sentry's integration platform sends, with ``Sentry-Hook-Resource``, an ``event_alert``
(an issue alert rule fired: ``data.event`` is the event, with its ``issue_id``, its
exception and stack trace) or an ``issue`` (``data.issue``: the error group, with its
count and when it was first and last seen). Both become "Fix: <title>", one task per
issue (group) while it is open. Every text in them was written by the erring program
or its users: it reaches the agent only as fenced data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from taskyard.model.errors import InvalidInput
from taskyard.model.fence import Untrusted
from taskyard.model.untrusted import bound
from taskyard.services.intake_item import Item, one_line, text

ACTED_ON = {"event_alert": {"triggered"}, "issue": {"created", "unresolved"}}
MAX_EXCEPTIONS = 5
MAX_FRAMES = 30  # the most recent of each exception's frames
STACK_LIMIT = 10_000
INSTRUCTION = (
    "Fix the error that Sentry reported: its report (title, message, culprit, how often "
    "and when it happened, stack trace and link) is quoted below. Find its cause in this "
    "repository, fix it, and add a test that fails without the fix."
)


def ignored(resource: str, action: str) -> str:
    """Why a delivery is stored without a task, or ""."""
    if resource not in ACTED_ON:
        return (
            f"Ignored: taskyard acts on Sentry's event_alert and issue deliveries, "
            f"not {resource[:60] or 'one without Sentry-Hook-Resource'}."
        )
    if action not in ACTED_ON[resource]:
        named = action[:60] or "deliveries without an action"
        return f"Ignored: taskyard does not act on Sentry {resource} {named}."
    return ""


def _object(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = parent.get(key)
    if not isinstance(value, Mapping):
        raise InvalidInput(f"The Sentry delivery has no {where}{key} object.")
    return value


def _part(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = parent.get(key)
    return value if isinstance(value, Mapping) else {}


def _frames(event: Mapping[str, Any]) -> str:
    """The exceptions' stack traces, oldest frame first as Sentry lists them, each cut
    to its most recent :data:`MAX_FRAMES`."""
    exception = event.get("exception")
    values = exception.get("values") if isinstance(exception, Mapping) else None
    lines: list[str] = []
    for value in (values if isinstance(values, list) else [])[:MAX_EXCEPTIONS]:
        if not isinstance(value, Mapping):
            continue
        lines.append(f"{text(value.get('type'), 200)}: {text(value.get('value'), 1000)}")
        stack = value.get("stacktrace")
        frames = stack.get("frames") if isinstance(stack, Mapping) else None
        frames = frames if isinstance(frames, list) else []
        if len(frames) > MAX_FRAMES:
            lines.append(f"  ... {len(frames) - MAX_FRAMES} older frames left out")
        for frame in frames[-MAX_FRAMES:]:
            if not isinstance(frame, Mapping):
                continue
            where = text(frame.get("filename") or frame.get("abs_path"), 300)
            function = text(frame.get("function"), 200) or "?"
            lines.append(f"  {where}:{text(frame.get('lineno'), 12)} in {function}")
            if code := text(frame.get("context_line"), 300).strip():
                lines.append(f"    {code}")
    return bound("\n".join(lines), STACK_LIMIT)


def _from_alert(data: Mapping[str, Any]) -> dict[str, Any]:
    event = _object(data, "event", "data.")
    metadata = _part(event, "metadata")
    web = text(event.get("web_url"), 500)
    return {
        "issue_id": text(event.get("issue_id"), 40),
        "event_id": text(event.get("event_id"), 64),
        "title": event.get("title"),
        "message": event.get("message") or metadata.get("value"),
        "culprit": event.get("culprit"),
        "count": event.get("count"),
        "first_seen": event.get("firstSeen") or event.get("datetime"),
        "last_seen": event.get("lastSeen") or event.get("datetime"),
        "level": event.get("level"),
        "stack": _frames(event),
        "link": web.split("/events/")[0] + "/" if "/events/" in web else web,
        "event_link": web,
        "rule": text(data.get("triggered_rule"), 200),
    }


def _from_issue(data: Mapping[str, Any]) -> dict[str, Any]:
    issue = _object(data, "issue", "data.")
    metadata = _part(issue, "metadata")
    return {
        "issue_id": text(issue.get("id"), 40),
        "short_id": text(issue.get("shortId"), 100),
        "title": issue.get("title"),
        "message": metadata.get("value"),
        "culprit": issue.get("culprit"),
        "count": issue.get("count"),
        "first_seen": issue.get("firstSeen"),
        "last_seen": issue.get("lastSeen"),
        "level": issue.get("level"),
        "stack": "",
        "link": text(issue.get("permalink") or issue.get("web_url"), 500),
    }


def item_of(resource: str, payload: Mapping[str, Any]) -> Item:
    """The task a Sentry delivery asks for; 400 naming what is missing."""
    data = _object(payload, "data", "")
    found = _from_alert(data) if resource == "event_alert" else _from_issue(data)
    if not found["issue_id"]:
        raise InvalidInput(f"The Sentry {resource} delivery names no issue id.")
    title = one_line(found["title"]) or f"Sentry issue {found['issue_id']}"
    details = "\n".join(
        f"{label}: {text(found[key], 100)}"
        for key, label in (
            ("count", "Events"),
            ("first_seen", "First seen"),
            ("last_seen", "Last seen"),
            ("level", "Level"),
            ("link", "Link"),
        )
        if found.get(key) not in (None, "")
    )
    context = [
        Untrusted("Sentry error title", title),
        Untrusted("Sentry error message", text(found["message"], 5000)),
        Untrusted("Sentry culprit", text(found["culprit"], 500)),
        Untrusted("Sentry counts, times and link", details),
        Untrusted("Sentry stack trace (oldest frame first)", found["stack"]),
    ]
    ids = ("issue_id", "short_id", "event_id", "link", "event_link", "rule")
    return Item(
        title=f"Fix: {title}",
        origin="error_tracking",
        dedup_key=found["issue_id"],
        instruction=INSTRUCTION,
        context=[c for c in context if c.text.strip()],
        origin_context={
            "sentry": {key: found[key] for key in ids if found.get(key)},
            "resource": resource,
        },
        link=found["link"],
    )
